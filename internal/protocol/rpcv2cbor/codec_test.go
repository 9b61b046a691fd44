package rpcv2cbor_test

import (
	"encoding/hex"
	"errors"
	"math"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/wharfhq/wharf/api/models"
	"github.com/wharfhq/wharf/internal/awsmodel"
	"github.com/wharfhq/wharf/internal/protocol"
	"github.com/wharfhq/wharf/internal/protocol/protocoltest"
)

const testModel = `{
 "metadata": {"protocol": "smithy-rpc-v2-cbor", "targetPrefix": "Svc", "awsQueryCompatible": {}},
 "operations": {
  "Op": {"name": "Op", "input": {"shape": "In"}, "output": {"shape": "In"}},
  "NoOut": {"name": "NoOut", "input": {"shape": "In"}}
 },
 "shapes": {
  "In": {"type": "structure", "members": {
   "S": {"shape": "Str"}, "I": {"shape": "Int"}, "L": {"shape": "Long"}, "F": {"shape": "Float"},
   "D": {"shape": "Double"}, "B": {"shape": "Bool"}, "T": {"shape": "Time"}, "Blob": {"shape": "Blob"},
   "Doc": {"shape": "Doc"}, "List": {"shape": "List"}, "Map": {"shape": "Map"}, "Nested": {"shape": "In"}
  }},
  "Err": {"type": "structure", "exception": true, "error": {"code": "Conflict", "httpStatusCode": 409, "senderFault": true},
   "members": {"Message": {"shape": "Str"}, "Reason": {"shape": "Str"}}},
  "Str": {"type": "string"}, "Int": {"type": "integer"}, "Long": {"type": "long"}, "Float": {"type": "float"},
  "Double": {"type": "double"}, "Bool": {"type": "boolean"}, "Time": {"type": "timestamp"}, "Blob": {"type": "blob"},
  "Doc": {"type": "structure", "document": true, "members": {}},
  "List": {"type": "list", "member": {"shape": "Long"}},
  "Map": {"type": "map", "key": {"shape": "Str"}, "value": {"shape": "In"}}
 }
}`

func mustParse(t testing.TB) *awsmodel.Model {
	t.Helper()
	m, err := awsmodel.Parse([]byte(testModel))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func decodeHex(t *testing.T, m *awsmodel.Model, h string) (map[string]any, error) {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(h, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return codec.DecodeInput(m, m.Operations["Op"], nil, b)
}

func TestDecodeWireForms(t *testing.T) {
	m := mustParse(t)
	for _, tc := range []struct {
		name, hex string
		want      map[string]any
	}{
		{"empty body", "", map[string]any{}},
		{"empty map", "a0", map[string]any{}},
		{"indefinite map", "bf 61 53 61 78 ff", map[string]any{"S": "x"}},
		{"indefinite text", "a1 61 53 7f 62 61 62 61 63 ff", map[string]any{"S": "abc"}},
		{"int widths", "a2 61 49 19 01 00 61 4c 1b 00 00 00 01 00 00 00 00", map[string]any{"I": int64(256), "L": int64(1 << 32)}},
		{"negative", "a2 61 49 3a 7f ff ff ff 61 4c 3b 7f ff ff ff ff ff ff ff", map[string]any{"I": int64(math.MinInt32), "L": int64(math.MinInt64)}},
		{"half float", "a1 61 44 f9 3e 00", map[string]any{"D": 1.5}},
		{"single float", "a1 61 46 fa 3f c0 00 00", map[string]any{"F": 1.5}},
		{"int as double", "a1 61 44 18 2a", map[string]any{"D": 42.0}},
		{"NaN", "a1 61 44 f9 7e 00", map[string]any{"D": math.NaN()}},
		{"fraction for int", "a1 61 49 f9 3e 00", nil}, // 1.5 for an integer: an error
		{"tag 1 int", "a1 61 54 c1 1a 65 53 f1 00", map[string]any{"T": time.Unix(1700000000, 0)}},
		{"tag 1 float", "a1 61 54 c1 fb 41 d9 54 fc 40 07 df 3b", map[string]any{"T": time.Unix(1700000000, 123e6)}},
		{"untagged epoch", "a1 61 54 1a 65 53 f1 00", map[string]any{"T": time.Unix(1700000000, 0)}},
		{"tag 0", "a1 61 54 c0 74 32 30 32 36 2d 30 31 2d 30 32 54 30 33 3a 30 34 3a 30 35 5a", map[string]any{"T": time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}},
		{"blob", "a1 64 42 6c 6f 62 42 68 69", map[string]any{"Blob": []byte("hi")}},
		{"indefinite blob", "a1 64 42 6c 6f 62 5f 41 68 41 69 ff", map[string]any{"Blob": []byte("hi")}},
		{"indefinite list, nulls dropped", "a1 64 4c 69 73 74 9f 01 f6 02 f7 ff", map[string]any{"List": []any{int64(1), int64(2)}}},
		{"null member", "a2 61 53 f6 61 42 f5", map[string]any{"B": true}},
		{"unknown member", "a2 61 5a 82 01 02 61 42 f4", map[string]any{"B": false}},
		{"map of structs", "a1 63 4d 61 70 a2 61 61 a1 61 53 61 78 61 62 f6", map[string]any{"Map": map[string]any{"a": map[string]any{"S": "x"}}}},
		{"document", "a1 63 44 6f 63 a2 61 61 82 01 f5 61 62 a1 61 63 f6", map[string]any{"Doc": map[string]any{"a": []any{1.0, true}, "b": map[string]any{"c": nil}}}},
	} {
		tree, err := decodeHex(t, m, tc.hex)
		if tc.want == nil {
			if !errors.Is(err, protocol.ErrSerialization) {
				t.Errorf("%s: err %v, want ErrSerialization", tc.name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !protocoltest.Equal(tc.want, tree) {
			t.Errorf("%s: %s", tc.name, protocoltest.Diff(tc.want, tree))
		}
	}
}

// TestDecodeErrors runs its table twice: decode errors carry paths added as
// they travel up, so they must never be shared between calls.
func TestDecodeErrors(t *testing.T) {
	for range 2 {
		decodeErrors(t)
	}
}

func decodeErrors(t *testing.T) {
	m := mustParse(t)
	for _, tc := range []struct{ name, hex, path, detail string }{
		{"not a map", "80", "", "must be a CBOR map"},
		{"truncated", "a1 61 53", "", "malformed CBOR"},
		{"trailing bytes", "a0 00", "", "malformed CBOR"},
		{"integer keys", "a1 01 02", "", "map keys must be text strings, found an integer"},
		{"invalid utf-8", "a1 61 53 61 ff", "S", "invalid UTF-8"},
		{"huge declared length", "a1 61 53 7b 00 00 00 00 ff ff ff ff", "", "malformed CBOR"},
		{"string for int", "a1 61 49 61 31", "I", "expected an integer, found a text string"},
		{"int32 overflow", "a1 61 49 1a 80 00 00 00", "I", "out of range"},
		{"uint64 overflow", "a1 61 4c 1b ff ff ff ff ff ff ff ff", "L", "out of range"},
		{"bignum", "a1 61 4c c2 49 01 00 00 00 00 00 00 00 00", "L", "out of range"},
		{"float for float overflow", "a1 61 46 fb 7f ef ff ff ff ff ff ff", "F", "out of range"},
		{"text for blob", "a1 64 42 6c 6f 62 62 61 47", "Blob", "expected a byte string"},
		{"bytes for string", "a1 61 53 41 78", "S", "expected a text string, found a byte string"},
		{"tagged string", "a1 61 53 d8 20 61 78", "S", "found a tagged value"},
		{"NaN timestamp", "a1 61 54 c1 f9 7e 00", "T", "invalid timestamp"},
		{"huge timestamp", "a1 61 54 c1 fb 7f ef ff ff ff ff ff ff", "T", "out of range"},
		{"string timestamp", "a1 61 54 61 78", "T", "expected a timestamp"},
		{"deep path", "a1 66 4e 65 73 74 65 64 a1 64 4c 69 73 74 82 01 61 78", "Nested.List[1]", "expected an integer"},
		{"list for struct", "a1 66 4e 65 73 74 65 64 80", "Nested", "expected a structure"},
	} {
		_, err := decodeHex(t, m, tc.hex)
		var de *protocol.DecodeError
		if !errors.Is(err, protocol.ErrSerialization) || !errors.As(err, &de) {
			t.Errorf("%s: err %v", tc.name, err)
			continue
		}
		if de.Path() != tc.path || !strings.Contains(de.Detail(), tc.detail) {
			t.Errorf("%s: path %q detail %q; want %q, %q", tc.name, de.Path(), de.Detail(), tc.path, tc.detail)
		}
	}
}

func TestEncodeOutput(t *testing.T) {
	m := mustParse(t)
	w := httptest.NewRecorder()
	codec.EncodeOutput(w, m, m.Operations["Op"], map[string]any{
		"S": "x\xff", "I": int64(-1), "L": int64(1 << 40), "D": int64(2), "B": true,
		"T":    time.Date(2026, 1, 2, 3, 4, 5, 678e6, time.UTC),
		"Blob": []byte{1, 2}, "Doc": map[string]any{"a": []any{1.5, nil}},
		"List":    []any{int64(1), "bad", int64(3)},
		"Map":     map[string]any{"k": map[string]any{"S": "v"}, "bad": 1},
		"Unknown": "dropped", "F": "mistyped: dropped",
	}, "rid")
	h := w.Header()
	if w.Code != 200 || h.Get("Content-Type") != "application/cbor" || h.Get("Smithy-Protocol") != "rpc-v2-cbor" || h.Get("X-Amzn-RequestId") != "rid" {
		t.Fatalf("status %d headers %v", w.Code, h)
	}
	// A tag-aware decode to check what went on the wire.
	var got map[any]any
	dm, _ := cbor.DecOptions{TimeTagToAny: cbor.TimeTagToTime}.DecMode()
	if err := dm.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatalf("output is not CBOR: %v", err)
	}
	want := map[any]any{
		"S": "x\uFFFD", "I": int64(-1), "L": uint64(1 << 40), "D": 2.0, "B": true,
		"Blob": []byte{1, 2}, "Doc": map[any]any{"a": []any{1.5, nil}},
		"List": []any{uint64(1), uint64(3)}, "Map": map[any]any{"k": map[any]any{"S": "v"}},
	}
	gotT, _ := got["T"].(time.Time)
	delete(got, "T")
	if !protocoltest.Equal(stringKeys(want), stringKeys(got)) {
		t.Errorf("output differs: %s", protocoltest.Diff(stringKeys(want), stringKeys(got)))
	}
	if !gotT.Round(time.Millisecond).Equal(time.Date(2026, 1, 2, 3, 4, 5, 678e6, time.UTC)) {
		t.Errorf("T = %v", gotT)
	}
	// Timestamps are tag 1 + float64.
	if !strings.Contains(hex.EncodeToString(w.Body.Bytes()), "6154c1fb") {
		t.Errorf("timestamp is not tag 1 float64: %x", w.Body.Bytes())
	}

	w = httptest.NewRecorder()
	codec.EncodeOutput(w, m, m.Operations["NoOut"], nil, "rid")
	if w.Code != 200 || w.Body.Len() != 0 || w.Header().Get("Smithy-Protocol") != "rpc-v2-cbor" {
		t.Errorf("no output: %d %x %v", w.Code, w.Body.Bytes(), w.Header())
	}
	w = httptest.NewRecorder()
	codec.EncodeOutput(w, m, m.Operations["Op"], nil, "rid")
	if hex.EncodeToString(w.Body.Bytes()) != "a0" {
		t.Errorf("nil output: %x", w.Body.Bytes())
	}
}

func TestEncodeError(t *testing.T) {
	m := mustParse(t)
	w := httptest.NewRecorder()
	codec.EncodeError(w, m, &protocol.APIError{
		Code: "Err", Message: "it broke", Shape: m.Shapes["Err"], Sender: true,
		Fields: map[string]any{"Reason": "r", "Message": "dup", "Bogus": 1.5},
	}, "rid")
	if w.Code != 409 || w.Header().Get("X-Amzn-Query-Error") != "Conflict;Sender" || w.Header().Get("Content-Type") != "application/cbor" {
		t.Errorf("status %d headers %v", w.Code, w.Header())
	}
	var got map[string]any
	if err := cbor.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"__type": "Err", "Message": "it broke", "Reason": "r", "Bogus": 1.5}
	if !protocoltest.Equal(want, got) {
		t.Errorf("body %s", protocoltest.Diff(want, got))
	}

	w = httptest.NewRecorder()
	codec.EncodeError(w, nil, &protocol.APIError{Code: "InternalFailure", Message: "x"}, "rid")
	got = nil
	if err := cbor.Unmarshal(w.Body.Bytes(), &got); err != nil || w.Code != 500 || got["__type"] != "InternalFailure" || got["message"] != "x" {
		t.Errorf("status %d body %v err %v", w.Code, got, err)
	}
}

func stringKeys(v any) any {
	switch x := v.(type) {
	case map[any]any:
		out := map[string]any{}
		for k, e := range x {
			out[k.(string)] = stringKeys(e)
		}
		return out
	case []any:
		for i, e := range x {
			x[i] = stringKeys(e)
		}
	}
	return v
}

// TestRoundTripAllModels sends random inputs of every CloudWatch operation
// through encode → DecodeInput.
func TestRoundTripAllModels(t *testing.T) {
	m := models.MustLoad("cloudwatch")
	protocoltest.RoundTrip(t, codec, m, protocoltest.EchoRequest(codec), 8, protocoltest.TreeOptions{})
	protocoltest.RoundTrip(t, codec, mustParse(t), protocoltest.EchoRequest(codec), 200, protocoltest.TreeOptions{})
}
