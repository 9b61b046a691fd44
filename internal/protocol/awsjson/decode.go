package awsjson

import (
	"encoding/base64"
	"math"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/wharfhq/wharf/internal/awsmodel"
	"github.com/wharfhq/wharf/internal/protocol"
)

// The decoder reads the body once, guided by the input shape, and builds
// the value tree as it goes: no generic intermediate values, member names
// shared with the model instead of copied from the body, unknown members
// checked for syntax and skipped. It accepts exactly the JSON encoding/json
// accepts (the fuzz test checks this against it) and, like encoding/json,
// turns invalid UTF-8 and lone surrogates in strings into U+FFFD.

// maxDepth bounds nesting, as encoding/json does.
const maxDepth = 10000

type parser struct {
	data    []byte
	pos     int
	depth   int
	scratch []byte // unescaped strings
}

func decodeBody(s *awsmodel.Shape, body []byte) (map[string]any, error) {
	p := &parser{data: body}
	p.ws()
	if p.pos == len(p.data) {
		return map[string]any{}, nil
	}
	if c := p.data[p.pos]; c != '{' {
		if err := p.skip(); err != nil {
			return nil, err
		}
		return nil, protocol.NewDecodeError("the request body must be a JSON object, found %s", kindOf(c))
	}
	m, err := p.structure(s)
	if err != nil {
		return nil, err
	}
	p.ws()
	if p.pos != len(p.data) {
		return nil, protocol.NewDecodeError("malformed JSON: unexpected data after the top-level object at offset %d", p.pos)
	}
	return m, nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (p *parser) ws() {
	for p.pos < len(p.data) && isSpace(p.data[p.pos]) {
		p.pos++
	}
}

func (p *parser) syntax() *protocol.DecodeError {
	if p.pos >= len(p.data) {
		return protocol.NewDecodeError("malformed JSON: unexpected end of input")
	}
	return protocol.NewDecodeError("malformed JSON: invalid character %q at offset %d", p.data[p.pos], p.pos)
}

// expect consumes c after optional whitespace.
func (p *parser) expect(c byte) *protocol.DecodeError {
	p.ws()
	if p.pos < len(p.data) && p.data[p.pos] == c {
		p.pos++
		return nil
	}
	return p.syntax()
}

func (p *parser) enter() *protocol.DecodeError {
	if p.depth++; p.depth > maxDepth {
		return protocol.NewDecodeError("malformed JSON: nested too deeply")
	}
	return nil
}

// next reports whether another member or element follows (after a ','),
// consuming the ',' or the closing byte.
func (p *parser) next(closing byte) (bool, *protocol.DecodeError) {
	p.ws()
	if p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ',':
			p.pos++
			return true, nil
		case closing:
			p.pos++
			p.depth--
			return false, nil
		}
	}
	return false, p.syntax()
}

// open consumes '{' or '[' and reports whether the container is empty
// (consuming the closing byte too).
func (p *parser) open(closing byte) (bool, *protocol.DecodeError) {
	p.pos++
	if err := p.enter(); err != nil {
		return false, err
	}
	p.ws()
	if p.pos < len(p.data) && p.data[p.pos] == closing {
		p.pos++
		p.depth--
		return true, nil
	}
	return false, nil
}

// null consumes a null literal if one is next.
func (p *parser) null() (bool, *protocol.DecodeError) {
	if p.pos < len(p.data) && p.data[p.pos] == 'n' {
		return true, p.literal("null")
	}
	return false, nil
}

func (p *parser) literal(lit string) *protocol.DecodeError {
	if len(p.data)-p.pos >= len(lit) && string(p.data[p.pos:p.pos+len(lit)]) == lit {
		p.pos += len(lit)
		return nil
	}
	for i := 0; i < len(lit) && p.pos < len(p.data) && p.data[p.pos] == lit[i]; i++ {
		p.pos++ // point the error at the first wrong byte
	}
	return p.syntax()
}

func (p *parser) structure(s *awsmodel.Shape) (map[string]any, *protocol.DecodeError) {
	m := make(map[string]any)
	empty, err := p.open('}')
	if err != nil || empty {
		return m, err
	}
	for {
		key, err := p.key()
		if err != nil {
			return nil, err
		}
		if err := p.expect(':'); err != nil {
			return nil, err
		}
		p.ws()
		name, ref := member(s, key)
		switch isNull, err := p.null(); {
		case err != nil:
			return nil, err
		case ref == nil:
			if !isNull {
				if err := p.skip(); err != nil {
					return nil, err
				}
			}
		case isNull:
			delete(m, name) // null is absent
		default:
			v, err := p.value(ref.Shape)
			if err != nil {
				return nil, err.AtMember(name)
			}
			m[name] = v
		}
		more, err := p.next('}')
		if err != nil {
			return nil, err
		}
		if !more {
			return m, nil
		}
	}
}

// member finds the member named key, returning the model's copy of the
// name so the tree does not keep a copy of the body's.
func member(s *awsmodel.Shape, key []byte) (string, *awsmodel.Ref) {
	names := s.MemberNames // sorted
	lo, hi := 0, len(names)
	for lo < hi {
		// string(key) in a comparison does not allocate.
		if mid := int(uint(lo+hi) >> 1); names[mid] < string(key) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo < len(names) && names[lo] == string(key) {
		return names[lo], s.Members[names[lo]]
	}
	return "", nil
}

// key reads an object key. The bytes are valid until the next string is
// read.
func (p *parser) key() ([]byte, *protocol.DecodeError) {
	p.ws()
	if p.pos >= len(p.data) || p.data[p.pos] != '"' {
		return nil, p.syntax()
	}
	return p.stringBytes()
}

// stringBytes reads a string literal, the opening quote next. The result
// aliases the body when the string has no escapes, else p.scratch.
func (p *parser) stringBytes() ([]byte, *protocol.DecodeError) {
	p.pos++
	start := p.pos
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		switch {
		case c == '"':
			p.pos++
			return p.data[start : p.pos-1], nil
		case c == '\\':
			return p.slowString(start)
		case c < 0x20:
			return nil, p.syntax()
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(p.data[p.pos:])
			if r == utf8.RuneError && size == 1 {
				return p.slowString(start)
			}
			p.pos += size
		default:
			p.pos++
		}
	}
	return nil, p.syntax()
}

func (p *parser) slowString(start int) ([]byte, *protocol.DecodeError) {
	b := append(p.scratch[:0], p.data[start:p.pos]...)
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		switch {
		case c == '"':
			p.pos++
			p.scratch = b
			return b, nil
		case c < 0x20:
			return nil, p.syntax()
		case c == '\\':
			p.pos++
			if p.pos >= len(p.data) {
				return nil, p.syntax()
			}
			switch e := p.data[p.pos]; e {
			case '"', '\\', '/':
				b = append(b, e)
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r, ok := p.hex4(p.pos + 1)
				if !ok {
					return nil, p.syntax()
				}
				p.pos += 4
				if utf16.IsSurrogate(r) {
					r2, ok := rune(-1), false
					if p.pos+2 < len(p.data) && p.data[p.pos+1] == '\\' && p.data[p.pos+2] == 'u' {
						r2, ok = p.hex4(p.pos + 3)
					}
					if dec := utf16.DecodeRune(r, r2); ok && dec != utf8.RuneError {
						r = dec
						p.pos += 6
					} else {
						r = utf8.RuneError
					}
				}
				b = utf8.AppendRune(b, r)
			default:
				return nil, p.syntax()
			}
			p.pos++
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(p.data[p.pos:])
			if r == utf8.RuneError && size == 1 {
				b = utf8.AppendRune(b, utf8.RuneError)
			} else {
				b = append(b, p.data[p.pos:p.pos+size]...)
			}
			p.pos += size
		default:
			b = append(b, c)
			p.pos++
		}
	}
	p.scratch = b
	return nil, p.syntax()
}

func (p *parser) hex4(at int) (rune, bool) {
	if at+4 > len(p.data) {
		return 0, false
	}
	var r rune
	for _, c := range p.data[at : at+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

func (p *parser) str() (string, *protocol.DecodeError) {
	b, err := p.stringBytes()
	return string(b), err
}

// number reads a number literal by JSON's grammar.
func (p *parser) number() ([]byte, *protocol.DecodeError) {
	start := p.pos
	d := p.data
	i := p.pos
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && d[i] >= '1' && d[i] <= '9':
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	default:
		p.pos = i
		return nil, p.syntax()
	}
	if i < len(d) && d[i] == '.' {
		i++
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			p.pos = i
			return nil, p.syntax()
		}
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			p.pos = i
			return nil, p.syntax()
		}
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	}
	p.pos = i
	return d[start:i], nil
}

// skip reads and discards any value, checking its syntax.
func (p *parser) skip() *protocol.DecodeError {
	p.ws()
	if p.pos >= len(p.data) {
		return p.syntax()
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		empty, err := p.open('}')
		if err != nil || empty {
			return err
		}
		for {
			if _, err := p.key(); err != nil {
				return err
			}
			if err := p.expect(':'); err != nil {
				return err
			}
			if err := p.skip(); err != nil {
				return err
			}
			more, err := p.next('}')
			if err != nil || !more {
				return err
			}
		}
	case c == '[':
		empty, err := p.open(']')
		if err != nil || empty {
			return err
		}
		for {
			if err := p.skip(); err != nil {
				return err
			}
			more, err := p.next(']')
			if err != nil || !more {
				return err
			}
		}
	case c == '"':
		_, err := p.stringBytes()
		return err
	case c == 't':
		return p.literal("true")
	case c == 'f':
		return p.literal("false")
	case c == 'n':
		return p.literal("null")
	}
	_, err := p.number()
	return err
}

// kindOf names the JSON value starting with c.
func kindOf(c byte) string {
	switch {
	case c == '{':
		return "an object"
	case c == '[':
		return "an array"
	case c == '"':
		return "a string"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == 'n':
		return "null"
	}
	return "a number"
}

// mismatch is the error for a value of the wrong kind. The value is
// skipped first so that a syntax error in it is reported as such.
func (p *parser) mismatch(want string) *protocol.DecodeError {
	found := kindOf(p.data[p.pos])
	if err := p.skip(); err != nil {
		return err
	}
	return protocol.NewDecodeError("expected %s, found %s", want, found)
}

// value reads a value of shape s; the next byte is not whitespace and not
// the start of null.
func (p *parser) value(s *awsmodel.Shape) (any, *protocol.DecodeError) {
	if p.pos >= len(p.data) {
		return nil, p.syntax()
	}
	c := p.data[p.pos]
	switch s.Type {
	case awsmodel.Structure:
		if s.Document {
			return p.document()
		}
		if c != '{' {
			return nil, p.mismatch("a structure")
		}
		return p.structure(s)
	case awsmodel.List:
		if c != '[' {
			return nil, p.mismatch("a list")
		}
		return p.list(s)
	case awsmodel.Map:
		if c != '{' {
			return nil, p.mismatch("a map")
		}
		return p.mapValue(s)
	case awsmodel.String:
		if c != '"' {
			return nil, p.mismatch("a string")
		}
		return p.str()
	case awsmodel.Boolean:
		switch c {
		case 't':
			return true, p.literal("true")
		case 'f':
			return false, p.literal("false")
		}
		return nil, p.mismatch("a boolean")
	case awsmodel.Integer, awsmodel.Long:
		if c != '-' && (c < '0' || c > '9') {
			return nil, p.mismatch("an integer")
		}
		n, err := p.number()
		if err != nil {
			return nil, err
		}
		return parseInt(s.Type, n)
	case awsmodel.Float, awsmodel.Double:
		return p.float(s.Type, c)
	case awsmodel.Timestamp:
		switch {
		case c == '"':
			str, err := p.str()
			if err != nil {
				return nil, err
			}
			if t, ok := protocol.ParseTimestamp(str); ok {
				return t, nil
			}
			return nil, protocol.NewDecodeError("cannot parse timestamp %q", str)
		case c == '-' || c >= '0' && c <= '9':
			n, err := p.number()
			if err != nil {
				return nil, err
			}
			if t, ok := protocol.ParseEpochSeconds(string(n)); ok {
				return t, nil
			}
			return nil, protocol.NewDecodeError("timestamp %s is out of range", n)
		}
		return nil, p.mismatch("a timestamp")
	case awsmodel.Blob:
		if c != '"' {
			return nil, p.mismatch("a base64 string")
		}
		b, err := p.stringBytes()
		if err != nil {
			return nil, err
		}
		return decodeBase64(b)
	}
	return nil, protocol.NewDecodeError("unsupported shape type %q", s.Type)
}

func (p *parser) list(s *awsmodel.Shape) (any, *protocol.DecodeError) {
	l := []any{}
	empty, err := p.open(']')
	if err != nil || empty {
		return l, err
	}
	for i := 0; ; i++ {
		p.ws()
		isNull, err := p.null()
		if err != nil {
			return nil, err
		}
		if !isNull { // null items are dropped
			v, err := p.value(s.Member.Shape)
			if err != nil {
				return nil, err.AtIndex(i)
			}
			l = append(l, v)
		}
		more, err := p.next(']')
		if err != nil {
			return nil, err
		}
		if !more {
			return l, nil
		}
	}
}

func (p *parser) mapValue(s *awsmodel.Shape) (any, *protocol.DecodeError) {
	m := map[string]any{}
	empty, err := p.open('}')
	if err != nil || empty {
		return m, err
	}
	for {
		kb, err := p.key()
		if err != nil {
			return nil, err
		}
		k := string(kb)
		if err := p.expect(':'); err != nil {
			return nil, err
		}
		p.ws()
		isNull, err := p.null()
		if err != nil {
			return nil, err
		}
		if isNull {
			delete(m, k)
		} else {
			v, err := p.value(s.Value.Shape)
			if err != nil {
				return nil, err.AtMember(k)
			}
			m[k] = v
		}
		more, err := p.next('}')
		if err != nil {
			return nil, err
		}
		if !more {
			return m, nil
		}
	}
}

func (p *parser) float(typ string, c byte) (any, *protocol.DecodeError) {
	if c == '"' {
		str, err := p.str()
		if err != nil {
			return nil, err
		}
		switch str {
		case "NaN":
			return math.NaN(), nil
		case "Infinity":
			return math.Inf(1), nil
		case "-Infinity":
			return math.Inf(-1), nil
		}
		return nil, protocol.NewDecodeError("expected a number, found the string %q", str)
	}
	if c != '-' && (c < '0' || c > '9') {
		return nil, p.mismatch("a number")
	}
	n, err := p.number()
	if err != nil {
		return nil, err
	}
	f, perr := strconv.ParseFloat(string(n), 64)
	if perr != nil {
		return nil, protocol.NewDecodeError("%s is out of range", n)
	}
	if typ == awsmodel.Float && math.Abs(f) > math.MaxFloat32 {
		return nil, protocol.NewDecodeError("%s is out of range for a float", n)
	}
	return f, nil
}

// parseInt converts an integer literal. 5.0 and 5e3 are integers too; 5.5
// is not.
func parseInt(typ string, lit []byte) (any, *protocol.DecodeError) {
	n, ok := fastInt(lit)
	switch {
	case ok:
	case !strings.ContainsAny(string(lit), ".eE"):
		var err error
		if n, err = strconv.ParseInt(string(lit), 10, 64); err != nil {
			return nil, protocol.NewDecodeError("%s is out of range", lit)
		}
	default:
		f, err := strconv.ParseFloat(string(lit), 64)
		switch {
		case err == nil && f == math.Trunc(f) && f >= math.MinInt64 && f < math.MaxInt64:
			n = int64(f)
		case err == nil && f != math.Trunc(f):
			return nil, protocol.NewDecodeError("expected an integer, found %s", lit)
		default:
			return nil, protocol.NewDecodeError("%s is out of range", lit)
		}
	}
	if typ == awsmodel.Integer && (n < math.MinInt32 || n > math.MaxInt32) {
		return nil, protocol.NewDecodeError("%s is out of range for an integer", lit)
	}
	return n, nil
}

// fastInt parses a plain integer literal of up to 18 digits.
func fastInt(lit []byte) (int64, bool) {
	neg := len(lit) > 0 && lit[0] == '-'
	digits := lit
	if neg {
		digits = lit[1:]
	}
	if len(digits) == 0 || len(digits) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

func decodeBase64(b []byte) ([]byte, *protocol.DecodeError) {
	out := make([]byte, base64.RawStdEncoding.DecodedLen(len(b))) // ≥ the padded length
	n, err := base64.StdEncoding.Decode(out, b)
	if err != nil {
		trimmed := b
		for len(trimmed) > 0 && trimmed[len(trimmed)-1] == '=' {
			trimmed = trimmed[:len(trimmed)-1]
		}
		if n, err = base64.RawStdEncoding.Decode(out, trimmed); err != nil {
			return nil, protocol.NewDecodeError("invalid base64 data")
		}
	}
	return out[:n], nil
}

// document reads any JSON value as a document tree (numbers as float64).
func (p *parser) document() (any, *protocol.DecodeError) {
	p.ws()
	if p.pos >= len(p.data) {
		return nil, p.syntax()
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		m := map[string]any{}
		empty, err := p.open('}')
		if err != nil || empty {
			return m, err
		}
		for {
			kb, err := p.key()
			if err != nil {
				return nil, err
			}
			k := string(kb)
			if err := p.expect(':'); err != nil {
				return nil, err
			}
			v, err := p.document()
			if err != nil {
				return nil, err
			}
			m[k] = v
			more, err := p.next('}')
			if err != nil {
				return nil, err
			}
			if !more {
				return m, nil
			}
		}
	case c == '[':
		l := []any{}
		empty, err := p.open(']')
		if err != nil || empty {
			return l, err
		}
		for {
			v, err := p.document()
			if err != nil {
				return nil, err
			}
			l = append(l, v)
			more, err := p.next(']')
			if err != nil {
				return nil, err
			}
			if !more {
				return l, nil
			}
		}
	case c == '"':
		return p.str()
	case c == 't':
		return true, p.literal("true")
	case c == 'f':
		return false, p.literal("false")
	case c == 'n':
		return nil, p.literal("null")
	}
	n, err := p.number()
	if err != nil {
		return nil, err
	}
	f, _ := strconv.ParseFloat(string(n), 64) // ±Inf past float64's range
	return f, nil
}
