package rpcv2cbor

import (
	"encoding/hex"
	"errors"
	"math"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/wharfhq/wharf/api/models"
	"github.com/wharfhq/wharf/internal/awsmodel"
	"github.com/wharfhq/wharf/internal/protocol"
	"github.com/wharfhq/wharf/internal/protocol/protocoltest"
)

// oracleDecode is a second, simpler decoder: the library decodes the body
// into generic values and the tree is made from them in place.
// FuzzAgainstGenericDecoding checks that the shape-guided reader accepts
// and produces exactly what it does.
//
// decMode decodes a body into generic values: maps as map[any]any,
// duplicate keys refused, positive integers as uint64 and negative as int64 (bigger
// ones as *big.Int), tags 0 and 1 as time.Time, byte strings as []byte.
// Definite and indefinite lengths are both accepted; nesting, array and map
// sizes are bounded by the library's defaults.
var decMode = func() cbor.DecMode {
	dm, err := cbor.DecOptions{
		IntDec:       cbor.IntDecConvertNone,
		DupMapKey:    cbor.DupMapKeyEnforcedAPF,
		IndefLength:  cbor.IndefLengthAllowed,
		TimeTagToAny: cbor.TimeTagToTime,
	}.DecMode()
	if err != nil {
		panic(err)
	}
	return dm
}()

func oracleDecode(s *awsmodel.Shape, body []byte) (map[string]any, error) {
	if len(body) == 0 {
		return map[string]any{}, nil
	}
	var v any
	if err := decMode.Unmarshal(body, &v); err != nil {
		return nil, protocol.NewDecodeError("malformed CBOR: %v", err)
	}
	m, ok := v.(map[any]any)
	if !ok {
		return nil, protocol.NewDecodeError("the request body must be a CBOR map, found %s", kind(v))
	}
	tree, err := decodeStruct(s, m)
	if err != nil {
		return nil, err
	}
	return tree, nil
}

// decodeStruct makes the tree of a structure from the decoded map: members
// are checked against the shape, unknown members and nulls dropped. Every
// key must be a text string, in unknown members too.
func decodeStruct(s *awsmodel.Shape, m map[any]any) (map[string]any, *protocol.DecodeError) {
	out := make(map[string]any, len(m))
	for k, v := range m {
		name, ok := k.(string)
		if !ok {
			return nil, protocol.NewDecodeError("map keys must be text strings, found %s", kind(k))
		}
		ref, ok := s.Members[name]
		if !ok {
			if err := checkKeys(v); err != nil {
				return nil, err
			}
			continue
		}
		if v == nil {
			continue
		}
		nv, err := decodeValue(ref.Shape, v)
		if err != nil {
			return nil, err.AtMember(name)
		}
		out[name] = nv
	}
	return out, nil
}

func checkKeys(v any) *protocol.DecodeError {
	switch x := v.(type) {
	case map[any]any:
		for k, e := range x {
			if _, ok := k.(string); !ok {
				return protocol.NewDecodeError("map keys must be text strings, found %s", kind(k))
			}
			if err := checkKeys(e); err != nil {
				return err
			}
		}
	case []any:
		for _, e := range x {
			if err := checkKeys(e); err != nil {
				return err
			}
		}
	case cbor.Tag:
		return checkKeys(x.Content)
	}
	return nil
}

func decodeValue(s *awsmodel.Shape, v any) (any, *protocol.DecodeError) {
	switch s.Type {
	case awsmodel.Structure:
		if s.Document {
			if err := checkKeys(v); err != nil {
				return nil, err
			}
			return document(v), nil
		}
		m, ok := v.(map[any]any)
		if !ok {
			return nil, mismatch("a structure", v)
		}
		return decodeStruct(s, m)
	case awsmodel.List:
		l, ok := v.([]any)
		if !ok {
			return nil, mismatch("a list", v)
		}
		n := 0
		for i, e := range l {
			if e == nil {
				continue
			}
			ne, err := decodeValue(s.Member.Shape, e)
			if err != nil {
				return nil, err.AtIndex(i)
			}
			l[n] = ne
			n++
		}
		clear(l[n:])
		return l[:n], nil
	case awsmodel.Map:
		m, ok := v.(map[any]any)
		if !ok {
			return nil, mismatch("a map", v)
		}
		out := make(map[string]any, len(m))
		for k, e := range m {
			key, ok := k.(string)
			if !ok {
				return nil, protocol.NewDecodeError("map keys must be text strings, found %s", kind(k))
			}
			if e == nil {
				continue
			}
			ne, err := decodeValue(s.Value.Shape, e)
			if err != nil {
				return nil, err.AtMember(key)
			}
			out[key] = ne
		}
		return out, nil
	case awsmodel.String:
		if str, ok := v.(string); ok {
			return str, nil
		}
		return nil, mismatch("a text string", v)
	case awsmodel.Boolean:
		if b, ok := v.(bool); ok {
			return b, nil
		}
		return nil, mismatch("a boolean", v)
	case awsmodel.Integer, awsmodel.Long:
		return decodeInt(s.Type, v)
	case awsmodel.Float, awsmodel.Double:
		var f float64
		switch x := v.(type) {
		case float64:
			f = x
		case float32:
			f = float64(x)
		case uint64:
			f = float64(x)
		case int64:
			f = float64(x)
		default:
			return nil, mismatch("a number", v)
		}
		if s.Type == awsmodel.Float && !math.IsInf(f, 0) && math.Abs(f) > math.MaxFloat32 {
			return nil, protocol.NewDecodeError("%v is out of range for a float", f)
		}
		return f, nil
	case awsmodel.Timestamp:
		return decodeTime(v)
	case awsmodel.Blob:
		if b, ok := v.([]byte); ok {
			return b, nil
		}
		return nil, mismatch("a byte string", v)
	}
	return nil, protocol.NewDecodeError("unsupported shape type %q", s.Type)
}

func decodeInt(typ string, v any) (any, *protocol.DecodeError) {
	var n int64
	switch x := v.(type) {
	case uint64:
		if x > math.MaxInt64 {
			return nil, protocol.NewDecodeError("%d is out of range", x)
		}
		n = int64(x)
	case int64:
		n = x
	case *big.Int, big.Int:
		return nil, protocol.NewDecodeError("integer is out of range")
	case float64, float32:
		f, _ := x.(float64)
		if f32, ok := x.(float32); ok {
			f = float64(f32)
		}
		if f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 {
			return nil, protocol.NewDecodeError("expected an integer, found %v", f)
		}
		n = int64(f)
	default:
		return nil, mismatch("an integer", v)
	}
	if typ == awsmodel.Integer && (n < math.MinInt32 || n > math.MaxInt32) {
		return nil, protocol.NewDecodeError("%d is out of range for an integer", n)
	}
	return n, nil
}

// decodeTime reads a timestamp: tag 1 (epoch seconds, integer or float) or
// tag 0 (RFC 3339), which the decoder has already made a time.Time, or an
// untagged number of epoch seconds.
func decodeTime(v any) (any, *protocol.DecodeError) {
	var f float64
	switch x := v.(type) {
	case time.Time:
		if x.IsZero() {
			return nil, protocol.NewDecodeError("invalid timestamp")
		}
		// Float seconds come back with float noise in the nanoseconds
		// (.122999906 for .123); a float64 carries microseconds at best.
		t := x.Round(time.Microsecond).UTC()
		if y := t.Year(); y < 1 || y > 9999 {
			return nil, protocol.NewDecodeError("timestamp is out of range")
		}
		return t, nil
	case uint64:
		if x > math.MaxInt64 {
			return nil, protocol.NewDecodeError("timestamp is out of range")
		}
		f = float64(x)
	case int64:
		f = float64(x)
	case float64:
		f = x
	case float32:
		f = float64(x)
	default:
		return nil, mismatch("a timestamp", v)
	}
	t, ok := protocol.EpochFloat(f)
	if !ok {
		return nil, protocol.NewDecodeError("timestamp is out of range")
	}
	return t, nil
}

// document turns a decoded value into a document tree (JSON-like: numbers
// as float64).
func document(v any) any {
	switch x := v.(type) {
	case uint64:
		return float64(x)
	case int64:
		return float64(x)
	case float32:
		return float64(x)
	case *big.Int:
		f, _ := new(big.Float).SetInt(x).Float64()
		return f
	case big.Int:
		f, _ := new(big.Float).SetInt(&x).Float64()
		return f
	case []any:
		for i, e := range x {
			x[i] = document(e)
		}
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k.(string)] = document(e) // checkKeys ran first
		}
		return out
	case nil, bool, float64, string:
	default:
		return nil // byte strings, tags, simple values have no document form
	}
	return v
}

func mismatch(want string, got any) *protocol.DecodeError {
	return protocol.NewDecodeError("expected %s, found %s", want, kind(got))
}

func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[any]any:
		return "a map"
	case []any:
		return "an array"
	case string:
		return "a text string"
	case []byte:
		return "a byte string"
	case uint64, int64, *big.Int, big.Int:
		return "an integer"
	case float64, float32:
		return "a float"
	case bool:
		return "a boolean"
	case time.Time:
		return "a timestamp"
	case cbor.Tag, cbor.RawTag:
		return "a tagged value"
	}
	return "an unexpected value"
}

// FuzzAgainstGenericDecoding checks the reader against oracleDecode: both
// accept the same bodies and make the same trees.
func FuzzAgainstGenericDecoding(f *testing.F) {
	m := models.MustLoad("cloudwatch")
	input := m.Operations["PutMetricData"].Input.Shape
	doc := &awsmodel.Shape{Type: awsmodel.Structure, Document: true}
	docShape := &awsmodel.Shape{Type: awsmodel.Structure, Members: map[string]*awsmodel.Ref{"d": {Shape: doc}}, MemberNames: []string{"d"}}
	seed, _ := cbor.Marshal(map[string]any{
		"Namespace": "App", "StrictEntityValidation": true, "x": map[string]any{"y": cbor.Tag{Number: 1, Content: 1.5}},
		"MetricData": []any{map[string]any{
			"MetricName": "Latency", "Timestamp": cbor.Tag{Number: 1, Content: 1767323045.123}, "Value": 1.25,
			"StorageResolution": 1, "Values": []any{1, -2, 2.5}, "Dimensions": []any{map[string]any{"Name": "a", "Value": "b"}},
		}},
		"EntityMetricData": []any{map[string]any{"Entity": map[string]any{"KeyAttributes": map[string]any{"k": "v", "n": nil}}}},
	})
	f.Add(seed)
	docSeed, _ := cbor.Marshal(map[string]any{"d": map[string]any{"a": []any{1, -1, 1.5, "s", nil, true, []byte("b"),
		cbor.Tag{Number: 2, Content: []byte{1, 0}}, cbor.Tag{Number: 0, Content: "2026-01-02T03:04:05Z"}, cbor.Tag{Number: 99, Content: 1}}}})
	f.Add(docSeed)
	for _, h := range []string{"", "a0", "bf ff", "80", "d9 d9 f7 a0", "a1 61 53 f6", "a1 61 54 c1 f9 7e 00", "a1 69 4e 61 6d 65 73 70 61 63 65 7f 61 41 ff",
		"a1 01 02", "a1 61 78 c0 61 78", "a1 61 78 c2 01", "a1 61 78 a1 01 02"} {
		b, _ := hex.DecodeString(strings.ReplaceAll(h, " ", ""))
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, s := range []*awsmodel.Shape{input, docShape} {
			got, err1 := decodeBody(s, body)
			want, err2 := oracleDecode(s, body)
			if (err1 == nil) != (err2 == nil) {
				t.Fatalf("reader error %v, generic decoding error %v", err1, err2)
			}
			if err1 != nil && !errors.Is(err1, protocol.ErrSerialization) {
				t.Fatalf("error %v does not wrap ErrSerialization", err1)
			}
			if err1 == nil && !protocoltest.Equal(want, got) {
				t.Fatalf("trees differ: %s", protocoltest.Diff(want, got))
			}
		}
	})
}

// BenchmarkDecode compares the reader with generic decoding on the same
// body.
func BenchmarkDecode(b *testing.B) {
	m := models.MustLoad("cloudwatch")
	s := m.Operations["PutMetricData"].Input.Shape
	var data []any
	for i := range 20 {
		data = append(data, map[string]any{
			"MetricName": "Latency", "Timestamp": cbor.Tag{Number: 1, Content: 1767323045.123 + float64(i)}, "Value": 1.25,
			"Unit": "Milliseconds", "Dimensions": []any{map[string]any{"Name": "Host", "Value": "a"}, map[string]any{"Name": "Zone", "Value": "z"}},
		})
	}
	body, _ := cbor.Marshal(map[string]any{"Namespace": "App", "MetricData": data})
	for _, bc := range []struct {
		name   string
		decode func(*awsmodel.Shape, []byte) (map[string]any, error)
	}{{"reader", decodeBody}, {"generic", oracleDecode}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bc.decode(s, body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
