package policy

import (
	"bytes"
	"encoding/base64"
	"math/big"
	"net/netip"
	"strings"
	"time"
)

type family uint8

const (
	familyString family = iota + 1
	familyNumeric
	familyDate
	familyBool
	familyBinary
	familyIP
	familyARN
	familyNull
)

type comparison uint8

const (
	cmpEqual comparison = iota
	cmpEqualFold
	cmpLike
	cmpLess
	cmpLessEqual
	cmpGreater
	cmpGreaterEqual
)

// baseOperator is a condition operator without qualifier or suffix. A
// negated operator is stored as its positive twin with negated set.
type baseOperator struct {
	family  family
	cmp     comparison
	negated bool
}

var baseOperators = map[string]baseOperator{
	"StringEquals":              {familyString, cmpEqual, false},
	"StringNotEquals":           {familyString, cmpEqual, true},
	"StringEqualsIgnoreCase":    {familyString, cmpEqualFold, false},
	"StringNotEqualsIgnoreCase": {familyString, cmpEqualFold, true},
	"StringLike":                {familyString, cmpLike, false},
	"StringNotLike":             {familyString, cmpLike, true},

	"NumericEquals":            {familyNumeric, cmpEqual, false},
	"NumericNotEquals":         {familyNumeric, cmpEqual, true},
	"NumericLessThan":          {familyNumeric, cmpLess, false},
	"NumericLessThanEquals":    {familyNumeric, cmpLessEqual, false},
	"NumericGreaterThan":       {familyNumeric, cmpGreater, false},
	"NumericGreaterThanEquals": {familyNumeric, cmpGreaterEqual, false},

	"DateEquals":            {familyDate, cmpEqual, false},
	"DateNotEquals":         {familyDate, cmpEqual, true},
	"DateLessThan":          {familyDate, cmpLess, false},
	"DateLessThanEquals":    {familyDate, cmpLessEqual, false},
	"DateGreaterThan":       {familyDate, cmpGreater, false},
	"DateGreaterThanEquals": {familyDate, cmpGreaterEqual, false},

	"Bool":         {familyBool, cmpEqual, false},
	"BinaryEquals": {familyBinary, cmpEqual, false},

	"IpAddress":    {familyIP, cmpEqual, false},
	"NotIpAddress": {familyIP, cmpEqual, true},

	// IAM documents ArnEquals and ArnLike as the same wildcard match.
	"ArnEquals":    {familyARN, cmpLike, false},
	"ArnLike":      {familyARN, cmpLike, false},
	"ArnNotEquals": {familyARN, cmpLike, true},
	"ArnNotLike":   {familyARN, cmpLike, true},

	"Null": {familyNull, cmpEqual, false},
}

type qualifier uint8

const (
	qualNone qualifier = iota
	qualAnyValue
	qualAllValues
)

type operator struct {
	baseOperator
	ifExists bool
	qual     qualifier
}

// parseOperator reads "[ForAnyValue:|ForAllValues:]Base[IfExists]".
// Operator names are case-sensitive, as in IAM.
func parseOperator(name string) (operator, bool) {
	var op operator
	rest := name
	if r, ok := strings.CutPrefix(rest, "ForAnyValue:"); ok {
		op.qual, rest = qualAnyValue, r
	} else if r, ok := strings.CutPrefix(rest, "ForAllValues:"); ok {
		op.qual, rest = qualAllValues, r
	}
	if r, ok := strings.CutSuffix(rest, "IfExists"); ok {
		op.ifExists, rest = true, r
	}
	base, ok := baseOperators[rest]
	if !ok {
		return operator{}, false
	}
	op.baseOperator = base
	return op, true
}

// holds evaluates one operator/key pair against the request context.
func (c *Condition) holds(ec *evalContext, vars bool) bool {
	op, ok := parseOperator(c.Operator)
	if !ok {
		return false
	}
	ctxVals := ec.values(c.Key)
	present := len(ctxVals) > 0

	if op.family == familyNull {
		// Null: "true" means the key must be absent, "false" present.
		// Qualifiers and IfExists have nothing to add.
		for _, v := range c.Values {
			if strings.EqualFold(v, "true") != present {
				return true
			}
		}
		return false
	}

	if !present {
		switch op.qual {
		case qualAllValues:
			return true // vacuously: every one of no values matches
		case qualAnyValue:
			return op.ifExists
		default:
			return op.ifExists || op.negated
		}
	}

	// matches reports whether one context value matches any policy value
	// under the positive form of the operator.
	matches := func(cv string) bool {
		for _, pv := range c.Values {
			if op.matchValue(pv, cv, ec, vars) {
				return true
			}
		}
		return false
	}
	switch op.qual {
	case qualAllValues:
		for _, cv := range ctxVals {
			if matches(cv) == op.negated {
				return false
			}
		}
		return true
	case qualAnyValue:
		for _, cv := range ctxVals {
			if matches(cv) != op.negated {
				return true
			}
		}
		return false
	default:
		found := false
		for _, cv := range ctxVals {
			if matches(cv) {
				found = true
				break
			}
		}
		return found != op.negated
	}
}

// matchValue compares one policy value with one context value under the
// positive form of the operator. A value either side cannot read does not
// match.
func (op baseOperator) matchValue(pv, cv string, ec *evalContext, vars bool) bool {
	switch op.family {
	case familyString:
		if op.cmp == cmpLike {
			p, ok := compilePattern(pv, vars, ec, true)
			return ok && globMatch(p, []rune(cv))
		}
		want, ok := literalText(pv, vars, ec)
		if !ok {
			return false
		}
		if op.cmp == cmpEqualFold {
			return strings.EqualFold(want, cv)
		}
		return want == cv
	case familyARN:
		p, ok := compilePattern(pv, vars, ec, true)
		return ok && matchARN(p, cv)
	case familyNumeric:
		want, ok1 := parseNumber(pv)
		got, ok2 := parseNumber(cv)
		return ok1 && ok2 && op.cmp.holds(got.Cmp(want))
	case familyDate:
		want, ok1 := parseDate(pv)
		got, ok2 := parseDate(cv)
		return ok1 && ok2 && op.cmp.holds(got.Compare(want))
	case familyBool:
		return strings.EqualFold(pv, cv)
	case familyBinary:
		want, ok1 := decodeBinary(pv)
		got, ok2 := decodeBinary(cv)
		return ok1 && ok2 && bytes.Equal(got, want)
	case familyIP:
		prefix, ok := parseIPPrefix(pv)
		if !ok {
			return false
		}
		addr, err := netip.ParseAddr(cv)
		return err == nil && prefix.Contains(addr.Unmap().WithZone(""))
	}
	return false
}

// holds reads a three-way comparison (context value against policy value)
// under c.
func (c comparison) holds(cmp int) bool {
	switch c {
	case cmpLess:
		return cmp < 0
	case cmpLessEqual:
		return cmp <= 0
	case cmpGreater:
		return cmp > 0
	case cmpGreaterEqual:
		return cmp >= 0
	default:
		return cmp == 0
	}
}

// parseNumber reads an optionally signed decimal: digits with an optional
// fraction. Exponents are refused, which keeps the cost of a hostile
// value bounded by its length.
func parseNumber(s string) (*big.Rat, bool) {
	t := s
	if t != "" && (t[0] == '-' || t[0] == '+') {
		t = t[1:]
	}
	intPart, frac, _ := strings.Cut(t, ".")
	if intPart == "" && frac == "" || !allDigits(intPart) || !allDigits(frac) {
		return nil, false
	}
	r, ok := new(big.Rat).SetString(strings.TrimPrefix(s, "+"))
	return r, ok
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func decodeBinary(s string) ([]byte, bool) {
	b, err := base64.StdEncoding.DecodeString(s)
	return b, err == nil
}

// parseDate reads a condition date: epoch seconds (digits only) or ISO
// 8601 in extended format, YYYY[-MM[-DD]][Thh[:mm[:ss[.fff]]]][Z|±hh[:mm]],
// with T and Z in either case. A date without a zone is UTC.
func parseDate(s string) (time.Time, bool) {
	if s != "" && len(s) <= 18 && allDigits(s) {
		var n int64
		for i := 0; i < len(s); i++ {
			n = n*10 + int64(s[i]-'0')
		}
		return time.Unix(n, 0).UTC(), true
	}
	p := dateParser{s: s}
	year, ok := p.digits(4)
	if !ok {
		return time.Time{}, false
	}
	month, day := 1, 1
	if p.take('-') {
		if month, ok = p.digits(2); !ok || month < 1 || month > 12 {
			return time.Time{}, false
		}
		if p.take('-') {
			if day, ok = p.digits(2); !ok || day < 1 || day > daysIn(year, month) {
				return time.Time{}, false
			}
		}
	}
	hour, minute, sec, nsec := 0, 0, 0, 0
	loc := time.UTC
	if p.take('T') || p.take('t') {
		if hour, ok = p.digits(2); !ok || hour > 23 {
			return time.Time{}, false
		}
		if p.take(':') {
			if minute, ok = p.digits(2); !ok || minute > 59 {
				return time.Time{}, false
			}
			if p.take(':') {
				if sec, ok = p.digits(2); !ok || sec > 59 {
					return time.Time{}, false
				}
				if p.take('.') {
					start := p.i
					for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
						p.i++
					}
					frac := p.s[start:p.i]
					if frac == "" || len(frac) > 9 {
						return time.Time{}, false
					}
					for _, c := range frac + strings.Repeat("0", 9-len(frac)) {
						nsec = nsec*10 + int(c-'0')
					}
				}
			}
		}
		switch {
		case p.take('Z') || p.take('z'):
		case p.i < len(p.s) && (p.s[p.i] == '+' || p.s[p.i] == '-'):
			sign := 1
			if p.s[p.i] == '-' {
				sign = -1
			}
			p.i++
			oh, ok := p.digits(2)
			if !ok || oh > 23 {
				return time.Time{}, false
			}
			om := 0
			p.take(':')
			if p.i < len(p.s) {
				if om, ok = p.digits(2); !ok || om > 59 {
					return time.Time{}, false
				}
			}
			loc = time.FixedZone("", sign*(oh*3600+om*60))
		}
	}
	if p.i != len(p.s) {
		return time.Time{}, false
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, loc).UTC(), true
}

type dateParser struct {
	s string
	i int
}

func (p *dateParser) take(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *dateParser) digits(n int) (int, bool) {
	if p.i+n > len(p.s) {
		return 0, false
	}
	v := 0
	for _, c := range []byte(p.s[p.i : p.i+n]) {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	p.i += n
	return v, true
}

func daysIn(year, month int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
