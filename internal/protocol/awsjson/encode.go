package awsjson

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/wharfhq/wharf/internal/awsmodel"
	"github.com/wharfhq/wharf/internal/protocol"
)

// The encoder writes a value tree as JSON guided by the shape. Values whose
// Go type does not fit their shape (a bug in the service code, never client
// input) are left out rather than written wrong.

func appendStruct(b []byte, s *awsmodel.Shape, m map[string]any) []byte {
	b = append(b, '{')
	first := true
	for _, name := range memberOrder(s, m) {
		v, ok := m[name]
		if !ok || v == nil {
			continue
		}
		ref := s.Members[name]
		mark := len(b)
		if !first {
			b = append(b, ',')
		}
		b = appendString(b, name)
		b = append(b, ':')
		if b, ok = appendValue(b, ref, v); !ok {
			b = b[:mark]
			continue
		}
		first = false
	}
	return append(b, '}')
}

// memberOrder lists the members to write in a stable (sorted) order: the
// model's sorted member names, or the tree's own keys sorted when the tree
// has far fewer members than the shape.
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

func appendValue(b []byte, ref *awsmodel.Ref, v any) ([]byte, bool) {
	s := ref.Shape
	switch s.Type {
	case awsmodel.Structure:
		if s.Document {
			return appendAny(b, v), true
		}
		m, ok := v.(map[string]any)
		if !ok {
			return b, false
		}
		return appendStruct(b, s, m), true
	case awsmodel.List:
		l, ok := v.([]any)
		if !ok {
			return b, false
		}
		b = append(b, '[')
		n := 0
		for _, e := range l {
			if e == nil {
				continue
			}
			mark := len(b)
			if n > 0 {
				b = append(b, ',')
			}
			if b, ok = appendValue(b, s.Member, e); !ok {
				b = b[:mark]
				continue
			}
			n++
		}
		return append(b, ']'), true
	case awsmodel.Map:
		m, ok := v.(map[string]any)
		if !ok {
			return b, false
		}
		b = append(b, '{')
		n := 0
		for _, k := range sortedKeys(m) {
			e := m[k]
			if e == nil {
				continue
			}
			mark := len(b)
			if n > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			if b, ok = appendValue(b, s.Value, e); !ok {
				b = b[:mark]
				continue
			}
			n++
		}
		return append(b, '}'), true
	case awsmodel.String:
		str, ok := v.(string)
		if !ok {
			return b, false
		}
		return appendString(b, str), true
	case awsmodel.Boolean:
		x, ok := v.(bool)
		if !ok {
			return b, false
		}
		return strconv.AppendBool(b, x), true
	case awsmodel.Integer, awsmodel.Long:
		switch x := v.(type) {
		case int64:
			return strconv.AppendInt(b, x, 10), true
		case int:
			return strconv.AppendInt(b, int64(x), 10), true
		case int32:
			return strconv.AppendInt(b, int64(x), 10), true
		}
		return b, false
	case awsmodel.Float, awsmodel.Double:
		switch x := v.(type) {
		case float64:
			return appendFloat(b, x), true
		case float32:
			return appendFloat(b, float64(x)), true
		case int64:
			return strconv.AppendInt(b, x, 10), true
		case int:
			return strconv.AppendInt(b, int64(x), 10), true
		}
		return b, false
	case awsmodel.Timestamp:
		t, ok := v.(time.Time)
		if !ok {
			return b, false
		}
		format := protocol.TimestampFormat(ref, protocol.FormatEpoch)
		if format == protocol.FormatEpoch {
			return protocol.AppendEpochSeconds(b, t), true
		}
		b = append(b, '"')
		b = protocol.AppendTimestamp(b, t, format)
		return append(b, '"'), true
	case awsmodel.Blob:
		x, ok := v.([]byte)
		if !ok {
			return b, false
		}
		return appendBase64(b, x), true
	}
	return b, false
}

// appendAny writes a value without a shape: documents, and the fields of
// errors whose shape is unknown.
func appendAny(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case string:
		return appendString(b, x)
	case bool:
		return strconv.AppendBool(b, x)
	case float64:
		return appendFloat(b, x)
	case float32:
		return appendFloat(b, float64(x))
	case int64:
		return strconv.AppendInt(b, x, 10)
	case int:
		return strconv.AppendInt(b, int64(x), 10)
	case int32:
		return strconv.AppendInt(b, int64(x), 10)
	case json.Number:
		if json.Valid([]byte(x)) {
			return append(b, x...)
		}
		return appendString(b, string(x))
	case time.Time:
		return protocol.AppendEpochSeconds(b, x)
	case []byte:
		return appendBase64(b, x)
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendAny(b, e)
		}
		return append(b, ']')
	case map[string]any:
		b = append(b, '{')
		for i, k := range sortedKeys(x) {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = appendAny(b, x[k])
		}
		return append(b, '}')
	}
	return append(b, "null"...)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// appendFloat writes a float the way encoding/json does; NaN and the
// infinities, which JSON cannot spell, are written as the strings AWS SDKs
// read back ("NaN", "Infinity", "-Infinity").
func appendFloat(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(b, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(b, `"-Infinity"`...)
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	return strconv.AppendFloat(b, f, format, -1, 64)
}

func appendBase64(b []byte, x []byte) []byte {
	b = append(b, '"')
	b = base64.StdEncoding.AppendEncode(b, x)
	return append(b, '"')
}

const hex = "0123456789abcdef"

// appendString writes s as a JSON string. Invalid UTF-8 becomes U+FFFD;
// U+2028 and U+2029 are escaped so the output is also valid JavaScript.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
