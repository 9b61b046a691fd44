package filter

import (
	"strconv"
	"strings"
)

// The JSON and space-delimited forms share one expression language:
// comparisons joined by && and || with parentheses. A comparison's left
// side is a selector ($.a.b) in JSON patterns and a field name in
// space-delimited ones; the caller resolves it.

type tokKind int

const (
	tWord tokKind = iota // bare word: selector, name, number, keyword, wildcard value
	tString
	tOp // = != < <= > >=
	tAnd
	tOr
	tLParen
	tRParen
	tComma
)

type token struct {
	kind tokKind
	text string
}

func lex(s string) ([]token, error) {
	var out []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '"':
			v, n, err := quoted(s[i:])
			if err != nil {
				return nil, err
			}
			out = append(out, token{tString, v})
			i += n
		case c == '(':
			out = append(out, token{tLParen, "("})
			i++
		case c == ')':
			out = append(out, token{tRParen, ")"})
			i++
		case c == ',':
			out = append(out, token{tComma, ","})
			i++
		case strings.HasPrefix(s[i:], "&&"):
			out = append(out, token{tAnd, "&&"})
			i += 2
		case strings.HasPrefix(s[i:], "||"):
			out = append(out, token{tOr, "||"})
			i += 2
		case strings.HasPrefix(s[i:], "!=") || strings.HasPrefix(s[i:], "<=") || strings.HasPrefix(s[i:], ">="):
			out = append(out, token{tOp, s[i : i+2]})
			i += 2
		case c == '=' || c == '<' || c == '>':
			out = append(out, token{tOp, s[i : i+1]})
			i++
		case c == '&' || c == '|' || c == '!':
			return nil, invalid("unexpected %q", string(c))
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\r\n\"(),=!<>&|", rune(s[j])) {
				j++
			}
			out = append(out, token{tWord, s[i:j]})
			i = j
		}
	}
	return out, nil
}

// node is an expression over a resolver of left-hand sides.
type node interface {
	eval(r resolver) bool
}

// resolver returns the values a left-hand side names (none if absent).
type resolver interface {
	resolve(lhs string) []value
}

// value is one resolved operand: a JSON value or a delimited field.
type value struct {
	str    string
	isStr  bool
	num    float64
	isNum  bool
	isBool bool
	b      bool
	isNull bool
}

type andNode struct{ l, r node }
type orNode struct{ l, r node }

func (n andNode) eval(r resolver) bool { return n.l.eval(r) && n.r.eval(r) }
func (n orNode) eval(r resolver) bool  { return n.l.eval(r) || n.r.eval(r) }

type cmpNode struct {
	lhs   string
	op    string // = != < <= > >= null notexists true false
	lit   string
	isNum bool
	num   float64
}

func (n cmpNode) eval(r resolver) bool {
	vals := r.resolve(n.lhs)
	if n.op == "notexists" {
		return len(vals) == 0
	}
	for _, v := range vals {
		if n.one(v) {
			return true
		}
	}
	return false
}

func (n cmpNode) one(v value) bool {
	switch n.op {
	case "null":
		return v.isNull
	case "true":
		return v.isBool && v.b
	case "false":
		return v.isBool && !v.b
	case "=":
		return n.equal(v)
	case "!=":
		return !v.isNull && !n.equal(v)
	}
	if !n.isNum || !v.isNum {
		return false
	}
	switch n.op {
	case "<":
		return v.num < n.num
	case "<=":
		return v.num <= n.num
	case ">":
		return v.num > n.num
	case ">=":
		return v.num >= n.num
	}
	return false
}

func (n cmpNode) equal(v value) bool {
	switch {
	case n.isNum && v.isNum:
		return v.num == n.num
	case v.isStr:
		return glob(n.lit, v.str)
	case v.isBool:
		return n.lit == strconv.FormatBool(v.b)
	}
	return false
}

// exprParser is a recursive-descent parser over tokens.
type exprParser struct {
	toks []token
	pos  int
	// lhs validates a left-hand side word.
	lhs func(string) error
}

func (p *exprParser) peek() (token, bool) {
	if p.pos < len(p.toks) {
		return p.toks[p.pos], true
	}
	return token{}, false
}

func (p *exprParser) next() (token, bool) {
	t, ok := p.peek()
	if ok {
		p.pos++
	}
	return t, ok
}

// parseOr: or := and ('||' and)*
func (p *exprParser) parseOr(depth int) (node, error) {
	if depth > 50 {
		return nil, invalid("too deeply nested")
	}
	l, err := p.parseAnd(depth)
	if err != nil {
		return nil, err
	}
	for {
		t, ok := p.peek()
		if !ok || t.kind != tOr {
			return l, nil
		}
		p.pos++
		r, err := p.parseAnd(depth)
		if err != nil {
			return nil, err
		}
		l = orNode{l, r}
	}
}

// parseAnd: and := unary ('&&' unary)*
func (p *exprParser) parseAnd(depth int) (node, error) {
	l, err := p.parseUnary(depth)
	if err != nil {
		return nil, err
	}
	for {
		t, ok := p.peek()
		if !ok || t.kind != tAnd {
			return l, nil
		}
		p.pos++
		r, err := p.parseUnary(depth)
		if err != nil {
			return nil, err
		}
		l = andNode{l, r}
	}
}

func (p *exprParser) parseUnary(depth int) (node, error) {
	t, ok := p.next()
	if !ok {
		return nil, invalid("expression ends early")
	}
	if t.kind == tLParen {
		n, err := p.parseOr(depth + 1)
		if err != nil {
			return nil, err
		}
		if c, ok := p.next(); !ok || c.kind != tRParen {
			return nil, invalid("missing )")
		}
		return n, nil
	}
	if t.kind != tWord {
		return nil, invalid("expected a selector or field, found %q", t.text)
	}
	if err := p.lhs(t.text); err != nil {
		return nil, err
	}
	return p.parseCmp(t.text)
}

func (p *exprParser) parseCmp(lhs string) (node, error) {
	t, ok := p.next()
	if !ok {
		return nil, invalid("%s needs a comparison", lhs)
	}
	if t.kind == tWord {
		kw := strings.ToUpper(t.text)
		w, ok := p.next()
		if !ok || w.kind != tWord {
			return nil, invalid("unexpected %q after %s", t.text, lhs)
		}
		switch kw + " " + strings.ToUpper(w.text) {
		case "IS NULL":
			return cmpNode{lhs: lhs, op: "null"}, nil
		case "IS TRUE":
			return cmpNode{lhs: lhs, op: "true"}, nil
		case "IS FALSE":
			return cmpNode{lhs: lhs, op: "false"}, nil
		case "NOT EXISTS":
			return cmpNode{lhs: lhs, op: "notexists"}, nil
		}
		return nil, invalid("unexpected %q after %s", t.text+" "+w.text, lhs)
	}
	if t.kind != tOp {
		return nil, invalid("expected an operator after %s", lhs)
	}
	v, ok := p.next()
	if !ok || (v.kind != tWord && v.kind != tString) {
		return nil, invalid("%s %s needs a value", lhs, t.text)
	}
	n := cmpNode{lhs: lhs, op: t.text, lit: v.text}
	if v.kind == tWord {
		if f, err := strconv.ParseFloat(v.text, 64); err == nil {
			n.isNum, n.num = true, f
		}
	}
	if !n.isNum && t.text != "=" && t.text != "!=" {
		return nil, invalid("%s %s needs a number", lhs, t.text)
	}
	return n, nil
}

func numberValue(s string) value {
	v := value{str: s, isStr: true}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		v.num, v.isNum = f, true
	}
	return v
}
