package filter

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// jsonMatcher is the `{ … }` form.
type jsonMatcher struct {
	expr node
}

func parseJSON(s string) (matcher, error) {
	if !strings.HasSuffix(s, "}") {
		return nil, invalid("a JSON pattern must end with }")
	}
	toks, err := lex(s[1 : len(s)-1])
	if err != nil {
		return nil, err
	}
	p := &exprParser{toks: toks, lhs: func(w string) error {
		_, err := parseSelector(w)
		return err
	}}
	n, err := p.parseOr(0)
	if err != nil {
		return nil, err
	}
	if p.pos != len(toks) {
		return nil, invalid("unexpected %q", toks[p.pos].text)
	}
	return &jsonMatcher{expr: n}, nil
}

func (m *jsonMatcher) match(msg string) bool {
	t := strings.TrimSpace(msg)
	if len(t) == 0 || (t[0] != '{' && t[0] != '[') {
		return false
	}
	d := json.NewDecoder(strings.NewReader(t))
	d.UseNumber()
	var doc any
	if err := d.Decode(&doc); err != nil {
		return false
	}
	return m.expr.eval(jsonDoc{doc})
}

type jsonDoc struct{ root any }

// step is one selector step: a key, an index, or every element (*).
type step struct {
	key   string
	index int // >= 0 for [n]
	all   bool
}

func parseSelector(s string) ([]step, error) {
	if !strings.HasPrefix(s, "$") {
		return nil, invalid("a JSON selector must start with $: %q", s)
	}
	var steps []step
	rest := s[1:]
	for rest != "" {
		switch rest[0] {
		case '.':
			rest = rest[1:]
			j := 0
			for j < len(rest) && rest[j] != '.' && rest[j] != '[' {
				j++
			}
			if j == 0 {
				return nil, invalid("empty key in selector %q", s)
			}
			k := rest[:j]
			if k == "*" {
				steps = append(steps, step{all: true, index: -1})
			} else {
				steps = append(steps, step{key: k, index: -1})
			}
			rest = rest[j:]
		case '[':
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return nil, invalid("missing ] in selector %q", s)
			}
			in := rest[1:end]
			if in == "*" {
				steps = append(steps, step{all: true, index: -1})
			} else {
				n, err := strconv.Atoi(in)
				if err != nil || n < 0 {
					return nil, invalid("bad index in selector %q", s)
				}
				steps = append(steps, step{index: n})
			}
			rest = rest[end+1:]
		default:
			return nil, invalid("bad selector %q", s)
		}
	}
	return steps, nil
}

func (d jsonDoc) resolve(lhs string) []value {
	steps, err := parseSelector(lhs)
	if err != nil {
		return nil
	}
	cur := []any{d.root}
	for _, st := range steps {
		var next []any
		for _, c := range cur {
			switch x := c.(type) {
			case map[string]any:
				if st.all {
					for _, v := range x {
						next = append(next, v)
					}
				} else if v, ok := x[st.key]; ok && st.index < 0 {
					next = append(next, v)
				}
			case []any:
				if st.all {
					next = append(next, x...)
				} else if st.index >= 0 && st.index < len(x) {
					next = append(next, x[st.index])
				}
			}
		}
		cur = next
	}
	out := make([]value, 0, len(cur))
	for _, c := range cur {
		out = append(out, jsonValue(c))
	}
	return out
}

func jsonValue(c any) value {
	switch x := c.(type) {
	case nil:
		return value{isNull: true}
	case string:
		return value{str: x, isStr: true}
	case json.Number:
		f, err := x.Float64()
		return value{str: x.String(), num: f, isNum: err == nil}
	case bool:
		return value{isBool: true, b: x}
	default:
		// Objects and arrays compare as their JSON text.
		var b bytes.Buffer
		_ = json.NewEncoder(&b).Encode(x)
		return value{str: strings.TrimSpace(b.String()), isStr: false}
	}
}
