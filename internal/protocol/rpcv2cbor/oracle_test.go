package rpcv2cbor

import (
	"math"
	"math/big"
	"reflect"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/wharfhq/wharf/internal/awsmodel"
	"github.com/wharfhq/wharf/internal/protocol"
)

// decMode decodes a body into generic values: maps with text keys as
// map[string]any, positive integers as uint64 and negative as int64 (bigger
// ones as *big.Int), tags 0 and 1 as time.Time, byte strings as []byte.
// Definite and indefinite lengths are both accepted; nesting, array and map
// sizes are bounded by the library's defaults.
var decMode = func() cbor.DecMode {
	dm, err := cbor.DecOptions{
		DefaultMapType: reflect.TypeOf(map[string]any(nil)),
		IntDec:         cbor.IntDecConvertNone,
		DupMapKey:      cbor.DupMapKeyQuiet,
		IndefLength:    cbor.IndefLengthAllowed,
		TimeTagToAny:   cbor.TimeTagToTime,
	}.DecMode()
	if err != nil {
		panic(err)
	}
	return dm
}()

func decodeBody(s *awsmodel.Shape, body []byte) (map[string]any, error) {
	if len(body) == 0 {
		return map[string]any{}, nil
	}
	var v any
	if err := decMode.Unmarshal(body, &v); err != nil {
		return nil, protocol.NewDecodeError("malformed CBOR: %v", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, protocol.NewDecodeError("the request body must be a CBOR map, found %s", kind(v))
	}
	if err := decodeStruct(s, m); err != nil {
		return nil, err
	}
	return m, nil
}

// decodeStruct turns the decoded map into a tree in place: members are
// checked against the shape, unknown members and nulls dropped.
func decodeStruct(s *awsmodel.Shape, m map[string]any) *protocol.DecodeError {
	for k, v := range m {
		ref, ok := s.Members[k]
		if !ok || v == nil {
			delete(m, k)
			continue
		}
		nv, err := decodeValue(ref.Shape, v)
		if err != nil {
			return err.AtMember(k)
		}
		m[k] = nv
	}
	return nil
}

func decodeValue(s *awsmodel.Shape, v any) (any, *protocol.DecodeError) {
	switch s.Type {
	case awsmodel.Structure:
		if s.Document {
			return document(v), nil
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, mismatch("a structure", v)
		}
		if err := decodeStruct(s, m); err != nil {
			return nil, err
		}
		return m, nil
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
		m, ok := v.(map[string]any)
		if !ok {
			return nil, mismatch("a map", v)
		}
		for k, e := range m {
			if e == nil {
				delete(m, k)
				continue
			}
			ne, err := decodeValue(s.Value.Shape, e)
			if err != nil {
				return nil, err.AtMember(k)
			}
			m[k] = ne
		}
		return m, nil
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
	case map[string]any:
		for k, e := range x {
			x[k] = document(e)
		}
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
	case map[string]any:
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
