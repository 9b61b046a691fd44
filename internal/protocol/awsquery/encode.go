package awsquery

import (
	"encoding/base64"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/wharfhq/wharf/internal/awsmodel"
	"github.com/wharfhq/wharf/internal/protocol"
)

// The encoder writes a value tree as awsQuery XML guided by the shape.
// Values whose Go type does not fit their shape (a bug in the service code,
// never client input) are left out rather than written wrong.

func elemName(name string, ref *awsmodel.Ref) string {
	if ref.LocationName != "" {
		return ref.LocationName
	}
	return name
}

// appendMembers writes the members of structure s present in m, in the
// model's (sorted) member order.
func appendMembers(b []byte, s *awsmodel.Shape, m map[string]any) []byte {
	for _, name := range s.MemberNames {
		v, ok := m[name]
		if !ok || v == nil {
			continue
		}
		ref := s.Members[name]
		b = appendElem(b, ref, elemName(name, ref), v)
	}
	return b
}

// appendElem writes v as element(s) named name. Flattened lists and maps
// repeat the element instead of wrapping their items.
func appendElem(b []byte, ref *awsmodel.Ref, name string, v any) []byte {
	s := ref.Shape
	mark := len(b)
	switch s.Type {
	case awsmodel.Structure:
		m, ok := v.(map[string]any)
		if !ok || s.Document {
			return b
		}
		b = openTag(b, name)
		b = appendMembers(b, s, m)
		return closeTag(b, name)
	case awsmodel.List:
		l, ok := v.([]any)
		if !ok {
			return b
		}
		if ref.Flattened || s.Flattened {
			for _, e := range l {
				if e != nil {
					b = appendElem(b, s.Member, name, e)
				}
			}
			return b
		}
		item := "member"
		if s.Member.LocationName != "" {
			item = s.Member.LocationName
		}
		b = openTag(b, name)
		for _, e := range l {
			if e != nil {
				b = appendElem(b, s.Member, item, e)
			}
		}
		return closeTag(b, name)
	case awsmodel.Map:
		m, ok := v.(map[string]any)
		if !ok {
			return b
		}
		keyName, valName := "key", "value"
		if s.Key.LocationName != "" {
			keyName = s.Key.LocationName
		}
		if s.Value.LocationName != "" {
			valName = s.Value.LocationName
		}
		flat := ref.Flattened || s.Flattened
		if !flat {
			b = openTag(b, name)
		}
		for _, k := range sortedKeys(m) {
			e := m[k]
			if e == nil {
				continue
			}
			entry := "entry"
			if flat {
				entry = name
			}
			b = openTag(b, entry)
			b = openTag(b, keyName)
			b = appendText(b, k)
			b = closeTag(b, keyName)
			b = appendElem(b, s.Value, valName, e)
			b = closeTag(b, entry)
		}
		if !flat {
			b = closeTag(b, name)
		}
		return b
	}
	b = openTag(b, name)
	var ok bool
	if b, ok = appendScalar(b, ref, v); !ok {
		return b[:mark]
	}
	return closeTag(b, name)
}

func appendScalar(b []byte, ref *awsmodel.Ref, v any) ([]byte, bool) {
	switch ref.Shape.Type {
	case awsmodel.String:
		if x, ok := v.(string); ok {
			return appendText(b, x), true
		}
	case awsmodel.Boolean:
		if x, ok := v.(bool); ok {
			return strconv.AppendBool(b, x), true
		}
	case awsmodel.Integer, awsmodel.Long:
		switch x := v.(type) {
		case int64:
			return strconv.AppendInt(b, x, 10), true
		case int:
			return strconv.AppendInt(b, int64(x), 10), true
		case int32:
			return strconv.AppendInt(b, int64(x), 10), true
		}
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
	case awsmodel.Timestamp:
		if t, ok := v.(time.Time); ok {
			return protocol.AppendTimestamp(b, t, protocol.TimestampFormat(ref, protocol.FormatISO8601)), true
		}
	case awsmodel.Blob:
		if x, ok := v.([]byte); ok {
			return base64.StdEncoding.AppendEncode(b, x), true
		}
	}
	return b, false
}

// appendAny writes a value without a shape (fields of errors whose shape is
// unknown): scalars as text, lists as <member> items, maps as entries.
func appendAny(b []byte, name string, v any) []byte {
	b = openTag(b, name)
	switch x := v.(type) {
	case string:
		b = appendText(b, x)
	case bool:
		b = strconv.AppendBool(b, x)
	case int64:
		b = strconv.AppendInt(b, x, 10)
	case int:
		b = strconv.AppendInt(b, int64(x), 10)
	case float64:
		b = appendFloat(b, x)
	case time.Time:
		b = protocol.AppendISO8601(b, x)
	case []byte:
		b = base64.StdEncoding.AppendEncode(b, x)
	case []any:
		for _, e := range x {
			b = appendAny(b, "member", e)
		}
	case map[string]any:
		for _, k := range sortedKeys(x) {
			b = appendAny(b, k, x[k])
		}
	}
	return closeTag(b, name)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func appendFloat(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, "NaN"...)
	case math.IsInf(f, 1):
		return append(b, "Infinity"...)
	case math.IsInf(f, -1):
		return append(b, "-Infinity"...)
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	return strconv.AppendFloat(b, f, format, -1, 64)
}

func openTag(b []byte, name string) []byte {
	b = append(b, '<')
	b = append(b, name...)
	return append(b, '>')
}

func closeTag(b []byte, name string) []byte {
	b = append(b, '<', '/')
	b = append(b, name...)
	return append(b, '>')
}

// appendText writes s as XML character data. Characters XML cannot carry
// (most control characters, invalid UTF-8) become U+FFFD; \r is escaped so
// parsers do not fold it into \n.
func appendText(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			var esc string
			switch {
			case c == '<':
				esc = "&lt;"
			case c == '>':
				esc = "&gt;"
			case c == '&':
				esc = "&amp;"
			case c == '"':
				esc = "&quot;"
			case c == '\'':
				esc = "&apos;"
			case c == '\r':
				esc = "&#xD;"
			case c < 0x20 && c != '\n' && c != '\t':
				esc = "\uFFFD"
			default:
				i++
				continue
			}
			b = append(b, s[start:i]...)
			b = append(b, esc...)
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r == 0xFFFE || r == 0xFFFF {
			b = append(b, s[start:i]...)
			b = append(b, "\uFFFD"...)
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(b, s[start:]...)
}
