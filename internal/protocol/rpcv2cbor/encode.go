package rpcv2cbor

import (
	"encoding/binary"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wharfhq/wharf/internal/awsmodel"
)

// The encoder writes a value tree as CBOR guided by the shape, with
// definite lengths and preferred (shortest) integer heads. Floats are
// always float64, timestamps tag 1 with float64 seconds (millisecond
// precision), as the Smithy RPC v2 CBOR protocol has them. Values whose Go
// type does not fit their shape (a bug in the service code, never client
// input) are left out, and counted out of the container's length first.

const (
	majUint   = 0 << 5
	majNeg    = 1 << 5
	majBytes  = 2 << 5
	majText   = 3 << 5
	majArray  = 4 << 5
	majMap    = 5 << 5
	majTag    = 6 << 5
	majSimple = 7 << 5

	cborFalse   = majSimple | 20
	cborTrue    = majSimple | 21
	cborNull    = majSimple | 22
	cborFloat64 = majSimple | 27
)

func appendHead(b []byte, major byte, n uint64) []byte {
	switch {
	case n < 24:
		return append(b, major|byte(n))
	case n <= math.MaxUint8:
		return append(b, major|24, byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, major|25), uint16(n))
	case n <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(b, major|26), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(b, major|27), n)
}

func appendInt(b []byte, n int64) []byte {
	if n >= 0 {
		return appendHead(b, majUint, uint64(n))
	}
	return appendHead(b, majNeg, uint64(-(n + 1)))
}

func appendFloat(b []byte, f float64) []byte {
	return binary.BigEndian.AppendUint64(append(b, cborFloat64), math.Float64bits(f))
}

func appendText(b []byte, s string) []byte {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	b = appendHead(b, majText, uint64(len(s)))
	return append(b, s...)
}

func appendTime(b []byte, t time.Time) []byte {
	b = append(b, majTag|1)
	return appendFloat(b, float64(t.UnixMilli())/1e3)
}

// fits reports whether v has the Go type the tree conventions give shape
// s; only the top level is checked, containers drop their own misfits.
func fits(s *awsmodel.Shape, v any) bool {
	switch s.Type {
	case awsmodel.Structure:
		if s.Document {
			return true
		}
		_, ok := v.(map[string]any)
		return ok
	case awsmodel.Map:
		_, ok := v.(map[string]any)
		return ok
	case awsmodel.List:
		_, ok := v.([]any)
		return ok
	case awsmodel.String:
		_, ok := v.(string)
		return ok
	case awsmodel.Boolean:
		_, ok := v.(bool)
		return ok
	case awsmodel.Integer, awsmodel.Long:
		switch v.(type) {
		case int64, int, int32:
			return true
		}
	case awsmodel.Float, awsmodel.Double:
		switch v.(type) {
		case float64, float32, int64, int:
			return true
		}
	case awsmodel.Timestamp:
		_, ok := v.(time.Time)
		return ok
	case awsmodel.Blob:
		_, ok := v.([]byte)
		return ok
	}
	return false
}

func appendStruct(b []byte, s *awsmodel.Shape, m map[string]any) []byte {
	names := memberOrder(s, m)
	n := 0
	for _, name := range names {
		if v, ok := m[name]; ok && v != nil && fits(s.Members[name].Shape, v) {
			n++
		}
	}
	b = appendHead(b, majMap, uint64(n))
	for _, name := range names {
		v, ok := m[name]
		ref := s.Members[name]
		if !ok || v == nil || !fits(ref.Shape, v) {
			continue
		}
		b = appendText(b, name)
		b = appendValue(b, ref.Shape, v)
	}
	return b
}

func memberOrder(s *awsmodel.Shape, m map[string]any) []string {
	if len(m)*4 >= len(s.MemberNames) {
		return s.MemberNames
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		if _, ok := s.Members[k]; ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// appendValue writes v, which fits(s, v).
func appendValue(b []byte, s *awsmodel.Shape, v any) []byte {
	switch s.Type {
	case awsmodel.Structure:
		if s.Document {
			return appendAny(b, v)
		}
		return appendStruct(b, s, v.(map[string]any))
	case awsmodel.List:
		l := v.([]any)
		n := 0
		for _, e := range l {
			if e != nil && fits(s.Member.Shape, e) {
				n++
			}
		}
		b = appendHead(b, majArray, uint64(n))
		for _, e := range l {
			if e != nil && fits(s.Member.Shape, e) {
				b = appendValue(b, s.Member.Shape, e)
			}
		}
		return b
	case awsmodel.Map:
		m := v.(map[string]any)
		keys := sortedKeys(m)
		n := 0
		for _, k := range keys {
			if e := m[k]; e != nil && fits(s.Value.Shape, e) {
				n++
			}
		}
		b = appendHead(b, majMap, uint64(n))
		for _, k := range keys {
			if e := m[k]; e != nil && fits(s.Value.Shape, e) {
				b = appendText(b, k)
				b = appendValue(b, s.Value.Shape, e)
			}
		}
		return b
	case awsmodel.String:
		return appendText(b, v.(string))
	case awsmodel.Boolean:
		if v.(bool) {
			return append(b, cborTrue)
		}
		return append(b, cborFalse)
	case awsmodel.Integer, awsmodel.Long:
		return appendInt(b, toInt(v))
	case awsmodel.Float, awsmodel.Double:
		return appendFloat(b, toFloat(v))
	case awsmodel.Timestamp:
		return appendTime(b, v.(time.Time))
	case awsmodel.Blob:
		x := v.([]byte)
		return append(appendHead(b, majBytes, uint64(len(x))), x...)
	}
	return append(b, cborNull)
}

func toInt(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case int:
		return int64(x)
	case int32:
		return int64(x)
	}
	return 0
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case float32:
		return float64(x)
	case int64:
		return float64(x)
	case int:
		return float64(x)
	}
	return 0
}

// appendAny writes a value without a shape: documents, and the fields of
// errors whose shape is unknown.
func appendAny(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, cborNull)
	case string:
		return appendText(b, x)
	case bool:
		if x {
			return append(b, cborTrue)
		}
		return append(b, cborFalse)
	case int64, int, int32:
		return appendInt(b, toInt(x))
	case float64, float32:
		return appendFloat(b, toFloat(x))
	case time.Time:
		return appendTime(b, x)
	case []byte:
		return append(appendHead(b, majBytes, uint64(len(x))), x...)
	case []any:
		b = appendHead(b, majArray, uint64(len(x)))
		for _, e := range x {
			b = appendAny(b, e)
		}
		return b
	case map[string]any:
		b = appendHead(b, majMap, uint64(len(x)))
		for _, k := range sortedKeys(x) {
			b = appendText(b, k)
			b = appendAny(b, x[k])
		}
		return b
	}
	return append(b, cborNull)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
