package awsjson_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/wharfhq/wharf/api/models"
	"github.com/wharfhq/wharf/internal/awsmodel"
	"github.com/wharfhq/wharf/internal/protocol"
	"github.com/wharfhq/wharf/internal/protocol/protocoltest"
)

const taskDefBody = `{"containerDefinitions":[{"command":["sh","-c","echo hi"],"cpu":256,"dockerLabels":{"a":"b"},` +
	`"environment":[{"name":"A","value":"1"}],"essential":true,"healthCheck":{"command":["CMD","true"],"interval":30},` +
	`"image":"nginx:1","memory":512,"name":"app","portMappings":[{"containerPort":80,"hostPort":8080,"protocol":"tcp"}],` +
	`"ulimits":[{"name":"nofile","softLimit":1024,"hardLimit":4096}],"stopTimeout":30}],"cpu":"256","family":"web",` +
	`"requiresCompatibilities":["FARGATE"],"tags":[{"key":"team","value":"core"}],"volumes":[{"name":"v","host":{"sourcePath":"/x"}}]}`

// FuzzDecode feeds arbitrary bodies to the decoder with ECS's richest input
// shape. Decoding must never panic, every failure must wrap
// ErrSerialization, and a decoded tree must survive encode → decode.
func FuzzDecode(f *testing.F) {
	m := models.MustLoad("ecs")
	op := m.Operations["RegisterTaskDefinition"]
	echo := &awsmodel.Operation{Name: "Echo", Output: op.Input}
	for _, s := range []string{taskDefBody, `{}`, ``, `[]`, `{"family":1}`, `{"containerDefinitions":[null,{"cpu":1e3}]}`,
		`{"containerDefinitions":[{"dockerLabels":{"a":null}}]}`, `{"family":"\ud800"}`} {
		f.Add([]byte(s))
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
			t.Fatalf("re-decoding %s: %v", w.Body.Bytes(), err)
		}
		if !protocoltest.Equal(tree, again) {
			t.Fatalf("round trip differs: %s", protocoltest.Diff(tree, again))
		}
	})
}

func BenchmarkDecodeEncode(b *testing.B) {
	m := models.MustLoad("ecs")
	op := m.Operations["RegisterTaskDefinition"]
	echo := &awsmodel.Operation{Name: "Echo", Output: op.Input}
	body := []byte(taskDefBody)
	b.SetBytes(int64(len(body)))
	w := discard{http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		tree, err := codec.DecodeInput(m, op, nil, body)
		if err != nil {
			b.Fatal(err)
		}
		codec.EncodeOutput(w, m, echo, tree, "rid")
	}
}

// discard is a ResponseWriter that keeps nothing, so the benchmark measures
// the codec.
type discard struct{ h http.Header }

func (d discard) Header() http.Header       { return d.h }
func (discard) Write(b []byte) (int, error) { return len(b), nil }
func (discard) WriteHeader(int)             {}
