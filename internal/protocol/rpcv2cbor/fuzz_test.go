package rpcv2cbor_test

import (
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"

	"github.com/wharfhq/wharf/api/models"
	"github.com/wharfhq/wharf/internal/awsmodel"
	"github.com/wharfhq/wharf/internal/protocol"
	"github.com/wharfhq/wharf/internal/protocol/protocoltest"
)

// putMetricData is a PutMetricData body shaped like the Go SDK's.
func putMetricData(tb testing.TB) []byte {
	tb.Helper()
	b, err := cbor.Marshal(map[string]any{
		"Namespace": "App",
		"MetricData": []any{
			map[string]any{
				"MetricName": "Latency", "Timestamp": cbor.Tag{Number: 1, Content: 1767323045.123}, "Value": 1.25,
				"Unit": "Milliseconds", "StorageResolution": 1,
				"Dimensions": []any{map[string]any{"Name": "Host", "Value": "a"}, map[string]any{"Name": "Zone", "Value": "z"}},
			},
			map[string]any{
				"MetricName": "Requests", "Values": []any{1.0, 2.5, -3.0}, "Counts": []any{10.0, 20.0, 30.0},
				"StatisticValues": map[string]any{"Maximum": 9.0, "Minimum": 0.0, "SampleCount": 4.0, "Sum": 12.0},
			},
		},
		"EntityMetricData": []any{map[string]any{
			"Entity":     map[string]any{"KeyAttributes": map[string]any{"Type": "Service"}, "Attributes": map[string]any{"P": "G"}},
			"MetricData": []any{map[string]any{"MetricName": "x", "Value": 0.0}},
		}},
		"StrictEntityValidation": false,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// FuzzDecode feeds arbitrary bodies to the decoder with CloudWatch's
// PutMetricData input. Decoding must never panic, failures must wrap
// ErrSerialization, and a decoded tree must survive encode → decode.
func FuzzDecode(f *testing.F) {
	m := models.MustLoad("cloudwatch")
	op := m.Operations["PutMetricData"]
	echo := &awsmodel.Operation{Name: "Echo", Output: op.Input}
	f.Add(putMetricData(f))
	for _, h := range []string{"", "a0", "bf ff", "80", "a1 61 53 f6", "c1 00", "a1 6a 4d 65 74 72 69 63 44 61 74 61 9f a0 ff"} {
		b, _ := hex.DecodeString(strings.ReplaceAll(h, " ", ""))
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		tree, err := codec.DecodeInput(m, op, nil, body)
		if err != nil {
			if !errors.Is(err, protocol.ErrSerialization) {
				t.Fatalf("error %v does not wrap ErrSerialization", err)
			}
			return
		}
		w := httptest.NewRecorder()
		codec.EncodeOutput(w, m, echo, tree, "rid")
		again, err := codec.DecodeInput(m, op, nil, w.Body.Bytes())
		if err != nil {
			t.Fatalf("re-decoding %x: %v", w.Body.Bytes(), err)
		}
		if !protocoltest.Equal(tree, again) {
			t.Fatalf("round trip differs: %s", protocoltest.Diff(tree, again))
		}
	})
}

func BenchmarkDecodeEncode(b *testing.B) {
	m := models.MustLoad("cloudwatch")
	in := m.Operations["PutMetricData"]
	echo := &awsmodel.Operation{Name: "Echo", Output: in.Input}
	body := putMetricData(b)
	b.SetBytes(int64(len(body)))
	w := discard{http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		tree, err := codec.DecodeInput(m, in, nil, body)
		if err != nil {
			b.Fatal(err)
		}
		codec.EncodeOutput(w, m, echo, tree, "rid")
	}
}

type discard struct{ h http.Header }

func (d discard) Header() http.Header       { return d.h }
func (discard) Write(b []byte) (int, error) { return len(b), nil }
func (discard) WriteHeader(int)             {}
