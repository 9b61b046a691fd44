package rpcv2cbor

import (
	"math"
	"math/big"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fxamacker/cbor/v2"

	"github.com/wharfhq/wharf/internal/awsmodel"
	"github.com/wharfhq/wharf/internal/protocol"
)

// Decoding is two passes over the bytes, neither of which builds
// intermediate values: fxamacker/cbor checks the body is well-formed CBOR
// (heads, lengths, UTF-8, nesting no deeper than 32, no trailing bytes),
// then a reader guided by the input shape builds the value tree, reading
// definite and indefinite lengths, every integer width, half, single and
// double floats, tag 1 and tag 0 timestamps and tags 2/3 bignums. The
// fuzz test checks it against decoding with the library into generic
// values.

var wellformed = func() cbor.DecMode {
	dm, err := cbor.DecOptions{
		DupMapKey:   cbor.DupMapKeyQuiet,
		IndefLength: cbor.IndefLengthAllowed,
		UTF8:        cbor.UTF8RejectInvalid,
	}.DecMode()
	if err != nil {
		panic(err)
	}
	return dm
}()

const (
	majorUint = iota
	majorNeg
	majorBytes
	majorText
	majorArray
	majorMap
	majorTag
	majorSimple

	aiIndefinite = 31

	tagDateTime     = 0
	tagEpoch        = 1
	tagPosBignum    = 2
	tagNegBignum    = 3
	tagSelfDescribe = 55799

	simpleFalse     = 20
	simpleTrue      = 21
	simpleNull      = 22
	simpleUndefined = 23
)

type reader struct {
	data []byte
	pos  int
}

// item is a CBOR head: major type, additional information and argument
// (the value of integers and simple values, the length of strings, arrays
// and maps, the number of a tag, the bits of a float).
type item struct {
	major byte
	ai    byte
	arg   uint64
}

// truncated is a new error each time: callers add path segments to it.
func truncated() *protocol.DecodeError {
	return protocol.NewDecodeError("malformed CBOR: unexpected end of data")
}

func (r *reader) head() (item, *protocol.DecodeError) {
	if r.pos >= len(r.data) {
		return item{}, truncated()
	}
	b := r.data[r.pos]
	r.pos++
	it := item{major: b >> 5, ai: b & 0x1f}
	n := 0
	switch {
	case it.ai < 24:
		it.arg = uint64(it.ai)
	case it.ai == 24:
		n = 1
	case it.ai == 25:
		n = 2
	case it.ai == 26:
		n = 4
	case it.ai == 27:
		n = 8
	case it.ai == aiIndefinite:
	default:
		return item{}, protocol.NewDecodeError("malformed CBOR: reserved additional information %d", it.ai)
	}
	if len(r.data)-r.pos < n {
		return item{}, truncated()
	}
	for _, c := range r.data[r.pos : r.pos+n] {
		it.arg = it.arg<<8 | uint64(c)
	}
	r.pos += n
	return it, nil
}

// next reads the head of the next value, past any self-describe tags.
func (r *reader) next() (item, *protocol.DecodeError) {
	for {
		it, err := r.head()
		if err != nil || it.major != majorTag || it.arg != tagSelfDescribe {
			return it, err
		}
	}
}

func (it item) isNull() bool {
	return it.major == majorSimple && (it.ai == simpleNull || it.ai == simpleUndefined)
}

func (it item) isFloat() bool {
	return it.major == majorSimple && it.ai >= 25 && it.ai <= 27
}

func (it item) float() float64 {
	switch it.ai {
	case 25:
		return halfFloat(uint16(it.arg))
	case 26:
		return float64(math.Float32frombits(uint32(it.arg)))
	}
	return math.Float64frombits(it.arg)
}

func halfFloat(h uint16) float64 {
	exp, mant := int(h>>10&0x1f), float64(h&0x3ff)
	var f float64
	switch exp {
	case 0:
		f = math.Ldexp(mant, -24)
	case 0x1f:
		f = math.Inf(1)
		if mant != 0 {
			f = math.NaN()
		}
	default:
		f = math.Ldexp(mant+1024, exp-25)
	}
	if h&0x8000 != 0 {
		f = -f
	}
	return f
}

// str reads the rest of a text or byte string whose head is it; for
// indefinite strings the chunks are joined.
func (r *reader) str(it item) ([]byte, *protocol.DecodeError) {
	if it.ai != aiIndefinite {
		if it.arg > uint64(len(r.data)-r.pos) {
			return nil, truncated()
		}
		b := r.data[r.pos : r.pos+int(it.arg)]
		r.pos += int(it.arg)
		return b, nil
	}
	var out []byte
	for {
		c, err := r.head()
		if err != nil {
			return nil, err
		}
		if c.major == majorSimple && c.ai == aiIndefinite {
			return out, nil
		}
		if c.major != it.major || c.ai == aiIndefinite {
			return nil, protocol.NewDecodeError("malformed CBOR: bad chunk in an indefinite-length string")
		}
		b, err := r.str(c)
		if err != nil {
			return nil, err
		}
		out = append(out, b...)
	}
}

func (r *reader) text(it item) (string, *protocol.DecodeError) {
	b, err := r.str(it)
	if err == nil && !utf8.Valid(b) {
		err = protocol.NewDecodeError("malformed CBOR: invalid UTF-8 in a text string")
	}
	return string(b), err
}

// more reports whether the array or map whose head is it has an i-th
// element (for maps, pair), consuming the break of an indefinite one.
func (r *reader) more(it item, i int) (bool, *protocol.DecodeError) {
	if it.ai != aiIndefinite {
		return uint64(i) < it.arg, nil
	}
	if r.pos >= len(r.data) {
		return false, truncated()
	}
	if r.data[r.pos] == 0xff {
		r.pos++
		return false, nil
	}
	return true, nil
}

// capacity is a safe initial capacity for the container whose head is it.
func (r *reader) capacity(it item) int {
	if it.ai == aiIndefinite {
		return 0
	}
	return int(min(it.arg, uint64(len(r.data)-r.pos), 1024))
}

// key reads a map key, which must be a text string. The bytes alias the
// body unless the key is an indefinite-length string.
func (r *reader) key() ([]byte, *protocol.DecodeError) {
	it, err := r.next()
	if err != nil {
		return nil, err
	}
	if it.major != majorText {
		return nil, protocol.NewDecodeError("map keys must be text strings, found %s", it.kind())
	}
	b, err := r.str(it)
	if err == nil && !utf8.Valid(b) {
		err = protocol.NewDecodeError("malformed CBOR: invalid UTF-8 in a text string")
	}
	return b, err
}

func (it item) kind() string {
	switch it.major {
	case majorUint, majorNeg:
		return "an integer"
	case majorBytes:
		return "a byte string"
	case majorText:
		return "a text string"
	case majorArray:
		return "an array"
	case majorMap:
		return "a map"
	case majorTag:
		switch it.arg {
		case tagEpoch, tagDateTime:
			return "a timestamp"
		case tagPosBignum, tagNegBignum:
			return "an integer"
		}
		return "a tagged value"
	}
	switch {
	case it.isFloat():
		return "a float"
	case it.ai == simpleFalse || it.ai == simpleTrue:
		return "a boolean"
	case it.isNull():
		return "null"
	}
	return "a simple value"
}

func decodeBody(s *awsmodel.Shape, body []byte) (map[string]any, error) {
	if len(body) == 0 {
		return map[string]any{}, nil
	}
	if err := wellformed.Wellformed(body); err != nil {
		return nil, protocol.NewDecodeError("malformed CBOR: %s", strings.TrimPrefix(err.Error(), "cbor: "))
	}
	r := &reader{data: body}
	it, err := r.next()
	if err != nil {
		return nil, err
	}
	if it.major != majorMap {
		if err := r.skipRest(it); err != nil {
			return nil, err
		}
		return nil, protocol.NewDecodeError("the request body must be a CBOR map, found %s", it.kind())
	}
	m, err := r.structure(s, it)
	if err != nil {
		return nil, err
	}
	return m, nil
}

func (r *reader) structure(s *awsmodel.Shape, it item) (map[string]any, *protocol.DecodeError) {
	m := make(map[string]any, r.capacity(it))
	var seen members
	for n := 0; ; n++ {
		if more, err := r.more(it, n); !more || err != nil {
			return m, err
		}
		key, err := r.key()
		if err != nil {
			return nil, err
		}
		i, name, ref := member(s, key)
		if !seen.add(i, key, len(s.MemberNames)) {
			return nil, duplicate(key)
		}
		v, err := r.next()
		if err != nil {
			return nil, err
		}
		switch {
		case ref == nil:
			if err := r.skipRest(v); err != nil {
				return nil, err
			}
		case v.isNull(): // null is absent
		default:
			val, err := r.value(ref.Shape, v)
			if err != nil {
				return nil, err.AtMember(name)
			}
			m[name] = val
		}
	}
}

// members remembers which keys of a structure were seen: a CBOR map with a
// key twice is not valid (RFC 8949 §5.6), and is refused. Members are
// tracked by index, without allocating for up to 64 of them; unknown keys,
// rare, in a set.
type members struct {
	small   uint64
	large   []bool
	unknown map[string]struct{}
}

func (ms *members) add(i int, key []byte, n int) bool {
	switch {
	case i < 0:
		if _, dup := ms.unknown[string(key)]; dup {
			return false
		}
		if ms.unknown == nil {
			ms.unknown = map[string]struct{}{}
		}
		ms.unknown[string(key)] = struct{}{}
	case n <= 64:
		if ms.small&(1<<i) != 0 {
			return false
		}
		ms.small |= 1 << i
	default:
		if ms.large == nil {
			ms.large = make([]bool, n)
		}
		if ms.large[i] {
			return false
		}
		ms.large[i] = true
	}
	return true
}

func duplicate(key []byte) *protocol.DecodeError {
	return protocol.NewDecodeError("malformed CBOR: duplicate map key %q", key)
}

// keySet is a set of map keys, allocated on first use.
type keySet map[string]struct{}

func (ks keySet) absent(key []byte) bool {
	_, ok := ks[string(key)]
	return !ok
}

func (ks *keySet) add(key []byte) {
	if *ks == nil {
		*ks = keySet{}
	}
	(*ks)[string(key)] = struct{}{}
}

// member finds the member named key, returning the model's copy of the
// name so the tree does not keep a copy of the body's.
func member(s *awsmodel.Shape, key []byte) (int, string, *awsmodel.Ref) {
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
		return lo, names[lo], s.Members[names[lo]]
	}
	return -1, "", nil
}

// mismatch skips the value whose head is it (so malformed content is
// reported as such) and reports it is not what the shape wants.
func (r *reader) mismatch(want string, it item) *protocol.DecodeError {
	if err := r.skipRest(it); err != nil {
		return err
	}
	return protocol.NewDecodeError("expected %s, found %s", want, it.kind())
}

// value reads a value of shape s whose head it has been read; it is not
// null.
func (r *reader) value(s *awsmodel.Shape, it item) (any, *protocol.DecodeError) {
	switch s.Type {
	case awsmodel.Structure:
		if s.Document {
			return r.document(it)
		}
		if it.major != majorMap {
			return nil, r.mismatch("a structure", it)
		}
		return r.structure(s, it)
	case awsmodel.List:
		if it.major != majorArray {
			return nil, r.mismatch("a list", it)
		}
		l := make([]any, 0, r.capacity(it))
		for i := 0; ; i++ {
			if more, err := r.more(it, i); !more || err != nil {
				return l, err
			}
			e, err := r.next()
			if err != nil {
				return nil, err
			}
			if e.isNull() {
				continue // null items are dropped
			}
			v, err := r.value(s.Member.Shape, e)
			if err != nil {
				return nil, err.AtIndex(i)
			}
			l = append(l, v)
		}
	case awsmodel.Map:
		if it.major != majorMap {
			return nil, r.mismatch("a map", it)
		}
		m := make(map[string]any, r.capacity(it))
		var nulls keySet // keys seen with null values, for the duplicate check
		for i := 0; ; i++ {
			if more, err := r.more(it, i); !more || err != nil {
				return m, err
			}
			kb, err := r.key()
			if err != nil {
				return nil, err
			}
			if _, dup := m[string(kb)]; dup || !nulls.absent(kb) {
				return nil, duplicate(kb)
			}
			e, err := r.next()
			if err != nil {
				return nil, err
			}
			if e.isNull() {
				nulls.add(kb)
				continue
			}
			k := string(kb)
			v, err := r.value(s.Value.Shape, e)
			if err != nil {
				return nil, err.AtMember(k)
			}
			m[k] = v
		}
	case awsmodel.String:
		if it.major != majorText {
			return nil, r.mismatch("a text string", it)
		}
		return r.text(it)
	case awsmodel.Boolean:
		if it.major == majorSimple && (it.ai == simpleTrue || it.ai == simpleFalse) {
			return it.ai == simpleTrue, nil
		}
		return nil, r.mismatch("a boolean", it)
	case awsmodel.Integer, awsmodel.Long:
		return r.integer(s.Type, it)
	case awsmodel.Float, awsmodel.Double:
		var f float64
		switch {
		case it.major == majorUint:
			f = float64(it.arg)
		case it.major == majorNeg:
			f = -1 - float64(it.arg)
		case it.isFloat():
			f = it.float()
		default:
			return nil, r.mismatch("a number", it)
		}
		if s.Type == awsmodel.Float && !math.IsInf(f, 0) && math.Abs(f) > math.MaxFloat32 {
			return nil, protocol.NewDecodeError("%v is out of range for a float", f)
		}
		return f, nil
	case awsmodel.Timestamp:
		return r.timestamp(it)
	case awsmodel.Blob:
		if it.major != majorBytes {
			return nil, r.mismatch("a byte string", it)
		}
		b, err := r.str(it)
		if err != nil {
			return nil, err
		}
		return append([]byte{}, b...), nil
	}
	return nil, protocol.NewDecodeError("unsupported shape type %q", s.Type)
}

func (r *reader) integer(typ string, it item) (any, *protocol.DecodeError) {
	var n int64
	switch {
	case it.major == majorUint:
		if it.arg > math.MaxInt64 {
			return nil, protocol.NewDecodeError("%d is out of range", it.arg)
		}
		n = int64(it.arg)
	case it.major == majorNeg:
		if it.arg > math.MaxInt64 {
			return nil, protocol.NewDecodeError("integer is out of range")
		}
		n = -1 - int64(it.arg)
	case it.isFloat():
		f := it.float()
		if f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 {
			return nil, protocol.NewDecodeError("expected an integer, found %v", f)
		}
		n = int64(f)
	case it.major == majorTag && (it.arg == tagPosBignum || it.arg == tagNegBignum):
		if _, err := r.bignum(it); err != nil {
			return nil, err
		}
		return nil, protocol.NewDecodeError("integer is out of range")
	default:
		return nil, r.mismatch("an integer", it)
	}
	if typ == awsmodel.Integer && (n < math.MinInt32 || n > math.MaxInt32) {
		return nil, protocol.NewDecodeError("%d is out of range for an integer", n)
	}
	return n, nil
}

// timestamp reads tag 1 (epoch seconds, integer or float), tag 0
// (RFC 3339 text) or an untagged number of epoch seconds.
func (r *reader) timestamp(it item) (any, *protocol.DecodeError) {
	if it.major == majorTag && (it.arg == tagEpoch || it.arg == tagDateTime) {
		t, err := r.timeTag(it)
		if err != nil {
			return nil, err
		}
		if t.IsZero() {
			return nil, protocol.NewDecodeError("invalid timestamp")
		}
		return roundTime(t)
	}
	var f float64
	switch {
	case it.major == majorUint:
		if it.arg > math.MaxInt64 {
			return nil, protocol.NewDecodeError("timestamp is out of range")
		}
		f = float64(it.arg)
	case it.major == majorNeg:
		f = -1 - float64(it.arg)
	case it.isFloat():
		f = it.float()
	default:
		return nil, r.mismatch("a timestamp", it)
	}
	t, ok := protocol.EpochFloat(f)
	if !ok {
		return nil, protocol.NewDecodeError("timestamp is out of range")
	}
	return t, nil
}

// timeTag reads the content of tag 0 or 1, checking what the generic
// decoder checks anywhere in a body. A NaN or infinite epoch gives the zero
// time, which is refused where a timestamp is wanted.
func (r *reader) timeTag(it item) (time.Time, *protocol.DecodeError) {
	c, err := r.head()
	if err != nil {
		return time.Time{}, err
	}
	if it.arg == tagDateTime {
		if c.major != majorText {
			return time.Time{}, badTag(it)
		}
		s, err := r.text(c)
		if err != nil {
			return time.Time{}, err
		}
		t, perr := time.Parse(time.RFC3339, s)
		if perr != nil {
			return time.Time{}, protocol.NewDecodeError("malformed CBOR: tag 0 timestamp %q: %v", s, perr)
		}
		return t, nil
	}
	switch {
	case c.major == majorUint:
		if c.arg > math.MaxInt64 {
			return time.Time{}, protocol.NewDecodeError("timestamp is out of range")
		}
		return time.Unix(int64(c.arg), 0), nil
	case c.major == majorNeg:
		if c.arg > math.MaxInt64 {
			return time.Time{}, protocol.NewDecodeError("timestamp is out of range")
		}
		return time.Unix(-1-int64(c.arg), 0), nil
	case c.isFloat():
		f := c.float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return time.Time{}, nil
		}
		if f >= math.MaxInt64 || f < math.MinInt64 {
			return time.Time{}, protocol.NewDecodeError("timestamp is out of range")
		}
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9)), nil
	}
	return time.Time{}, badTag(it)
}

func badTag(it item) *protocol.DecodeError {
	return protocol.NewDecodeError("malformed CBOR: invalid content for tag %d", it.arg)
}

// roundTime keeps microseconds (float seconds carry float noise below
// that: .122999906 for .123) and years 1 to 9999.
func roundTime(t time.Time) (any, *protocol.DecodeError) {
	t = t.Round(time.Microsecond).UTC()
	if y := t.Year(); y < 1 || y > 9999 {
		return nil, protocol.NewDecodeError("timestamp is out of range")
	}
	return t, nil
}

// bignum reads the content of tag 2 or 3.
func (r *reader) bignum(it item) (*big.Int, *protocol.DecodeError) {
	c, err := r.head()
	if err != nil {
		return nil, err
	}
	if c.major != majorBytes {
		return nil, badTag(it)
	}
	b, err := r.str(c)
	if err != nil {
		return nil, err
	}
	n := new(big.Int).SetBytes(b)
	if it.arg == tagNegBignum {
		n.Neg(n).Sub(n, big.NewInt(1))
	}
	return n, nil
}

// document reads any value as a document tree (JSON-like: numbers as
// float64). Byte strings, timestamps and other tags have no document form
// and become null.
func (r *reader) document(it item) (any, *protocol.DecodeError) {
	switch it.major {
	case majorUint:
		return float64(it.arg), nil
	case majorNeg:
		return -1 - float64(it.arg), nil
	case majorText:
		return r.text(it)
	case majorArray:
		l := make([]any, 0, r.capacity(it))
		for i := 0; ; i++ {
			if more, err := r.more(it, i); !more || err != nil {
				return l, err
			}
			e, err := r.next()
			if err != nil {
				return nil, err
			}
			v, err := r.document(e)
			if err != nil {
				return nil, err
			}
			l = append(l, v)
		}
	case majorMap:
		m := make(map[string]any, r.capacity(it))
		for i := 0; ; i++ {
			if more, err := r.more(it, i); !more || err != nil {
				return m, err
			}
			kb, err := r.key()
			if err != nil {
				return nil, err
			}
			if _, dup := m[string(kb)]; dup {
				return nil, duplicate(kb)
			}
			e, err := r.next()
			if err != nil {
				return nil, err
			}
			v, err := r.document(e)
			if err != nil {
				return nil, err
			}
			m[string(kb)] = v
		}
	case majorTag:
		if it.arg == tagPosBignum || it.arg == tagNegBignum {
			n, err := r.bignum(it)
			if err != nil {
				return nil, err
			}
			f, _ := new(big.Float).SetInt(n).Float64()
			return f, nil
		}
		return nil, r.skipRest(it)
	case majorSimple:
		switch {
		case it.isFloat():
			return it.float(), nil
		case it.ai == simpleTrue || it.ai == simpleFalse:
			return it.ai == simpleTrue, nil
		}
		return nil, nil
	}
	return nil, r.skipRest(it) // byte strings
}

// skipRest skips the value whose head is it, checking what the generic
// decoder would check: map keys are text, time and bignum tags hold valid
// content.
func (r *reader) skipRest(it item) *protocol.DecodeError {
	switch it.major {
	case majorBytes:
		_, err := r.str(it)
		return err
	case majorText:
		_, err := r.text(it)
		return err
	case majorArray:
		for i := 0; ; i++ {
			if more, err := r.more(it, i); !more || err != nil {
				return err
			}
			e, err := r.next()
			if err != nil {
				return err
			}
			if err := r.skipRest(e); err != nil {
				return err
			}
		}
	case majorMap:
		var seen keySet
		for i := 0; ; i++ {
			if more, err := r.more(it, i); !more || err != nil {
				return err
			}
			key, err := r.key()
			if err != nil {
				return err
			}
			if !seen.absent(key) {
				return duplicate(key)
			}
			seen.add(key)
			e, err := r.next()
			if err != nil {
				return err
			}
			if err := r.skipRest(e); err != nil {
				return err
			}
		}
	case majorTag:
		switch it.arg {
		case tagEpoch, tagDateTime:
			_, err := r.timeTag(it)
			return err
		case tagPosBignum, tagNegBignum:
			_, err := r.bignum(it)
			return err
		}
		e, err := r.next()
		if err != nil {
			return err
		}
		return r.skipRest(e)
	}
	return nil // integers and simple values are all head
}
