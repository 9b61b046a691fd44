package awsquery_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api/models"
	"github.com/wharfhq/wharf/internal/protocol"
	"github.com/wharfhq/wharf/internal/protocol/protocoltest"
)

const createUserBody = "Action=CreateUser&Path=%2Feng%2F&Tags.member.1.Key=team&Tags.member.1.Value=a%26b&" +
	"Tags.member.2.Key=cost&Tags.member.2.Value=42&UserName=alice&Version=2010-05-08"

// FuzzDecode feeds arbitrary bodies to the decoder, for IAM CreateUser and
// for a model with every query rule. Decoding must never panic, failures
// must wrap ErrSerialization, and a decoded tree written back as query
// parameters must decode to the same tree.
func FuzzDecode(f *testing.F) {
	iamModel := models.MustLoad("iam")
	createUser := iamModel.Operations["CreateUser"]
	m := mustParse(f, testModel)
	op := m.Operations["Op"]
	for _, s := range []string{createUserBody, "", "Tags=", "Tags.member.1=x", "Tags.member.0.Key=a&Tags.member.99999999999999999999.Key=b",
		"Map.entry.1.key=a&Map.entry.1.value=1&FlatMap.1.Name=x&FlatMap.1.Val.Key=k", "Nested.Nested.Nested.Structs.member.1.Key=x",
		"Flat.1=a&Flat.3=b&Named.item.1=c&T=2026-01-02T03:04:05Z&D=NaN&Blob=aGk=", "%", "a=b;c", "I=1&I=2&L=-9223372036854775808"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, _ := http.NewRequest(http.MethodPost, "/", nil)
		if _, err := codec.DecodeInput(iamModel, createUser, r, body); err != nil && !errors.Is(err, protocol.ErrSerialization) {
			t.Fatalf("error %v does not wrap ErrSerialization", err)
		}
		tree, err := codec.DecodeInput(m, op, r, body)
		if err != nil {
			if !errors.Is(err, protocol.ErrSerialization) {
				t.Fatalf("error %v does not wrap ErrSerialization", err)
			}
			return
		}
		r2, params := protocoltest.QueryRequest(m, op, tree)
		again, err := codec.DecodeInput(m, op, r2, params)
		if err != nil {
			t.Fatalf("re-decoding %s: %v", params, err)
		}
		if !protocoltest.Equal(tree, again) {
			t.Fatalf("round trip differs: %s\nparams %s", protocoltest.Diff(tree, again), params)
		}
	})
}

func BenchmarkDecodeEncode(b *testing.B) {
	m := models.MustLoad("iam")
	in := m.Operations["CreateUser"]
	r, _ := http.NewRequest(http.MethodPost, "/", nil)
	body := []byte(createUserBody)
	out := map[string]any{"User": map[string]any{
		"UserName": "alice", "UserId": "AIDAEXAMPLE", "Path": "/eng/", "Arn": "arn:aws:iam::000000000000:user/eng/alice",
		"CreateDate": time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		"Tags":       []any{map[string]any{"Key": "team", "Value": "a&b"}, map[string]any{"Key": "cost", "Value": "42"}},
	}}
	b.SetBytes(int64(len(body)))
	w := discard{http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := codec.DecodeInput(m, in, r, body); err != nil {
			b.Fatal(err)
		}
		codec.EncodeOutput(w, m, in, out, "rid")
	}
}

type discard struct{ h http.Header }

func (d discard) Header() http.Header       { return d.h }
func (discard) Write(b []byte) (int, error) { return len(b), nil }
func (discard) WriteHeader(int)             {}
