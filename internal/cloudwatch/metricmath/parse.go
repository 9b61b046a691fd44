// Package metricmath parses and evaluates CloudWatch metric math
// expressions for GetMetricData and alarms: + - * / between scalars, time
// series and arrays of series; SUM, AVG, MIN, MAX, ABS, FILL, RATE, DIFF
// and METRICS(); [a, b] arrays. It is pure code: the caller supplies the
// series the expression's identifiers name.
package metricmath

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// Node is a parsed expression.
type Node interface{ node() }

// Num is a number literal.
type Num struct{ V float64 }

// Ref names another query by Id.
type Ref struct{ ID string }

// Str is a string literal (METRICS("filter")).
type Str struct{ S string }

// Keyword is a bare upper-case word used as an argument (REPEAT, LINEAR).
type Keyword struct{ W string }

// Unary is -x.
type Unary struct{ X Node }

// Binary is x op y.
type Binary struct {
	Op   byte
	X, Y Node
}

// Call is F(args…).
type Call struct {
	F    string
	Args []Node
}

// Array is [a, b, …].
type Array struct{ Items []Node }

func (Num) node()     {}
func (Ref) node()     {}
func (Str) node()     {}
func (Keyword) node() {}
func (Unary) node()   {}
func (Binary) node()  {}
func (Call) node()    {}
func (Array) node()   {}

// Error is a syntax or evaluation error, with CloudWatch's wording.
type Error struct{ Msg string }

func (e *Error) Error() string { return e.Msg }

func errorf(format string, args ...any) error { return &Error{Msg: fmt.Sprintf(format, args...)} }

// Functions are the functions Wharf evaluates, with their argument counts.
var Functions = map[string][2]int{
	"SUM": {1, 1}, "AVG": {1, 1}, "MIN": {1, 1}, "MAX": {1, 1}, "ABS": {1, 1},
	"FILL": {2, 2}, "RATE": {1, 1}, "DIFF": {1, 1}, "METRICS": {0, 1},
}

type parser struct {
	s   string
	pos int
}

// Parse parses an expression.
func Parse(expr string) (Node, error) {
	p := &parser{s: expr}
	n, err := p.expr()
	if err != nil {
		return nil, err
	}
	p.space()
	if p.pos < len(p.s) {
		return nil, errorf("Syntax error in expression at position %d: unexpected %q.", p.pos+1, p.s[p.pos:])
	}
	return n, nil
}

func (p *parser) space() {
	for p.pos < len(p.s) && unicode.IsSpace(rune(p.s[p.pos])) {
		p.pos++
	}
}

func (p *parser) peek() byte {
	p.space()
	if p.pos < len(p.s) {
		return p.s[p.pos]
	}
	return 0
}

func (p *parser) expr() (Node, error) {
	x, err := p.term()
	if err != nil {
		return nil, err
	}
	for {
		c := p.peek()
		if c != '+' && c != '-' {
			return x, nil
		}
		p.pos++
		y, err := p.term()
		if err != nil {
			return nil, err
		}
		x = Binary{Op: c, X: x, Y: y}
	}
}

func (p *parser) term() (Node, error) {
	x, err := p.unary()
	if err != nil {
		return nil, err
	}
	for {
		c := p.peek()
		if c != '*' && c != '/' {
			return x, nil
		}
		p.pos++
		y, err := p.unary()
		if err != nil {
			return nil, err
		}
		x = Binary{Op: c, X: x, Y: y}
	}
}

func (p *parser) unary() (Node, error) {
	if p.peek() == '-' {
		p.pos++
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return Unary{X: x}, nil
	}
	return p.primary()
}

func (p *parser) primary() (Node, error) {
	c := p.peek()
	switch {
	case c == 0:
		return nil, errorf("Syntax error in expression: unexpected end of expression.")
	case c == '(':
		p.pos++
		x, err := p.expr()
		if err != nil {
			return nil, err
		}
		if p.peek() != ')' {
			return nil, errorf("Syntax error in expression at position %d: expected ')'.", p.pos+1)
		}
		p.pos++
		return x, nil
	case c == '[':
		p.pos++
		items, err := p.list(']')
		if err != nil {
			return nil, err
		}
		return Array{Items: items}, nil
	case c == '"':
		end := strings.IndexByte(p.s[p.pos+1:], '"')
		if end < 0 {
			return nil, errorf("Syntax error in expression at position %d: unterminated string.", p.pos+1)
		}
		s := p.s[p.pos+1 : p.pos+1+end]
		p.pos += end + 2
		return Str{S: s}, nil
	case c == '.' || (c >= '0' && c <= '9'):
		start := p.pos
		for p.pos < len(p.s) && (strings.IndexByte("0123456789.eE", p.s[p.pos]) >= 0 ||
			((p.s[p.pos] == '+' || p.s[p.pos] == '-') && (p.s[p.pos-1] == 'e' || p.s[p.pos-1] == 'E'))) {
			p.pos++
		}
		v, err := strconv.ParseFloat(p.s[start:p.pos], 64)
		if err != nil {
			return nil, errorf("Syntax error in expression at position %d: bad number %q.", start+1, p.s[start:p.pos])
		}
		return Num{V: v}, nil
	case c == '_' || unicode.IsLetter(rune(c)):
		start := p.pos
		for p.pos < len(p.s) && (p.s[p.pos] == '_' || unicode.IsLetter(rune(p.s[p.pos])) || unicode.IsDigit(rune(p.s[p.pos]))) {
			p.pos++
		}
		word := p.s[start:p.pos]
		if p.peek() == '(' {
			arity, ok := Functions[word]
			if !ok {
				return nil, errorf("Unsupported function %s in expression (Wharf evaluates %s).", word, strings.Join(functionNames(), ", "))
			}
			p.pos++
			args, err := p.list(')')
			if err != nil {
				return nil, err
			}
			if len(args) < arity[0] || len(args) > arity[1] {
				return nil, errorf("Function %s takes %s.", word, argCount(arity))
			}
			return Call{F: word, Args: args}, nil
		}
		if word == strings.ToUpper(word) && (word == "REPEAT" || word == "LINEAR") {
			return Keyword{W: word}, nil
		}
		return Ref{ID: word}, nil
	}
	return nil, errorf("Syntax error in expression at position %d: unexpected %q.", p.pos+1, string(c))
}

func (p *parser) list(closer byte) ([]Node, error) {
	var items []Node
	if p.peek() == closer {
		p.pos++
		return items, nil
	}
	for {
		x, err := p.expr()
		if err != nil {
			return nil, err
		}
		items = append(items, x)
		switch p.peek() {
		case ',':
			p.pos++
		case closer:
			p.pos++
			return items, nil
		default:
			return nil, errorf("Syntax error in expression at position %d: expected ',' or '%c'.", p.pos+1, closer)
		}
	}
}

func functionNames() []string {
	return []string{"ABS", "AVG", "DIFF", "FILL", "MAX", "METRICS", "MIN", "RATE", "SUM"}
}

func argCount(a [2]int) string {
	if a[0] == a[1] {
		if a[0] == 1 {
			return "1 argument"
		}
		return fmt.Sprintf("%d arguments", a[0])
	}
	return fmt.Sprintf("%d to %d arguments", a[0], a[1])
}

// Refs returns the Ids an expression names, and whether it calls METRICS().
func Refs(n Node) (ids []string, metrics bool) {
	var walk func(Node)
	walk = func(n Node) {
		switch x := n.(type) {
		case Ref:
			ids = append(ids, x.ID)
		case Unary:
			walk(x.X)
		case Binary:
			walk(x.X)
			walk(x.Y)
		case Call:
			if x.F == "METRICS" {
				metrics = true
			}
			for _, a := range x.Args {
				walk(a)
			}
		case Array:
			for _, a := range x.Items {
				walk(a)
			}
		}
	}
	walk(n)
	return ids, metrics
}
