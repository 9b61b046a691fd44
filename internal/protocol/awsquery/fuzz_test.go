package awsquery_test

import (
	"encoding/base64"
	"errors"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api/models"
	"github.com/wharfhq/wharf/internal/awsmodel"
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
		vals := url.Values{}
		encodeStruct(vals, "", op.Input.Shape, tree)
		again, err := codec.DecodeInput(m, op, r, []byte(vals.Encode()))
		if err != nil {
			t.Fatalf("re-decoding %s: %v", vals.Encode(), err)
		}
		if !protocoltest.Equal(tree, again) {
			t.Fatalf("round trip differs: %s\nparams %s", protocoltest.Diff(tree, again), vals.Encode())
		}
	})
}

// encodeStruct writes a tree as query parameters the way clients do; the
// fuzz test checks the decoder against it.
func encodeStruct(vals url.Values, prefix string, s *awsmodel.Shape, m map[string]any) {
	if len(m) == 0 && prefix != "" {
		vals.Set(prefix[:len(prefix)-1], "")
	}
	for name, v := range m {
		ref := s.Members[name]
		key := name
		switch {
		case ref.QueryName != "":
			key = ref.QueryName
		case ref.LocationName != "":
			key = ref.LocationName
		}
		encodeValue(vals, prefix+key, ref, v)
	}
}

func encodeValue(vals url.Values, key string, ref *awsmodel.Ref, v any) {
	s := ref.Shape
	switch x := v.(type) {
	case map[string]any:
		if s.Type == awsmodel.Structure {
			encodeStruct(vals, key+".", s, x)
			return
		}
		if len(x) == 0 {
			vals.Set(key, "")
			return
		}
		entries := key + ".entry."
		if s.Flattened {
			entries = key + "."
		}
		keyName, valName := "key", "value"
		if s.Key.LocationName != "" {
			keyName = s.Key.LocationName
		}
		if s.Value.LocationName != "" {
			valName = s.Value.LocationName
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for i, k := range keys {
			p := entries + strconv.Itoa(i+1) + "."
			vals.Set(p+keyName, k)
			encodeValue(vals, p+valName, s.Value, x[k])
		}
	case []any:
		if len(x) == 0 {
			vals.Set(key, "")
			return
		}
		items := key + ".member."
		if s.Member.LocationName != "" {
			items = key + "." + s.Member.LocationName + "."
		}
		if s.Flattened {
			items = key + "."
		}
		for i, e := range x {
			encodeValue(vals, items+strconv.Itoa(i+1), s.Member, e)
		}
	case string:
		vals.Set(key, x)
	case bool:
		vals.Set(key, strconv.FormatBool(x))
	case int64:
		vals.Set(key, strconv.FormatInt(x, 10))
	case float64:
		switch {
		case math.IsNaN(x):
			vals.Set(key, "NaN")
		case math.IsInf(x, 1):
			vals.Set(key, "Infinity")
		case math.IsInf(x, -1):
			vals.Set(key, "-Infinity")
		default:
			vals.Set(key, strconv.FormatFloat(x, 'g', -1, 64))
		}
	case time.Time:
		vals.Set(key, x.UTC().Format("2006-01-02T15:04:05.000Z"))
	case []byte:
		vals.Set(key, base64.StdEncoding.EncodeToString(x))
	}
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
	b.ReportAllocs()
	for b.Loop() {
		if _, err := codec.DecodeInput(m, in, r, body); err != nil {
			b.Fatal(err)
		}
		codec.EncodeOutput(discard{}, m, in, out, "rid")
	}
}

type discard struct{}

func (discard) Header() http.Header         { return http.Header{} }
func (discard) Write(b []byte) (int, error) { return len(b), nil }
func (discard) WriteHeader(int)             {}
