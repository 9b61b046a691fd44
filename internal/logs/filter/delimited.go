package filter

import (
	"regexp"
	"strings"
)

// delimMatcher is the `[ … ]` form: a list of fields, each a name (or
// "..." for any number of fields) with an optional condition on it.
type delimMatcher struct {
	fields []field
}

type field struct {
	name     string
	ellipsis bool
	cond     node // nil: any value
}

var fieldName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

func parseDelimited(s string) (matcher, error) {
	if !strings.HasSuffix(s, "]") {
		return nil, invalid("a space-delimited pattern must end with ]")
	}
	toks, err := lex(s[1 : len(s)-1])
	if err != nil {
		return nil, err
	}
	m := &delimMatcher{}
	seen := map[string]bool{}
	// Split on top-level commas.
	start := 0
	for i := 0; i <= len(toks); i++ {
		if i < len(toks) && toks[i].kind != tComma {
			continue
		}
		part := toks[start:i]
		start = i + 1
		if len(part) == 0 {
			if len(toks) == 0 {
				break
			}
			return nil, invalid("empty field")
		}
		if part[0].kind != tWord {
			return nil, invalid("expected a field name, found %q", part[0].text)
		}
		name := part[0].text
		if name == "..." {
			if len(part) != 1 {
				return nil, invalid("... takes no condition")
			}
			m.fields = append(m.fields, field{ellipsis: true})
			continue
		}
		if !fieldName.MatchString(name) {
			return nil, invalid("bad field name %q", name)
		}
		if seen[name] {
			return nil, invalid("field %q named twice", name)
		}
		seen[name] = true
		f := field{name: name}
		if len(part) > 1 {
			p := &exprParser{toks: part, lhs: func(w string) error {
				if w != name {
					return invalid("a condition in field %q may only name %q", name, name)
				}
				return nil
			}}
			f.cond, err = p.parseOr(0)
			if err != nil {
				return nil, err
			}
			if p.pos != len(part) {
				return nil, invalid("unexpected %q", part[p.pos].text)
			}
		}
		m.fields = append(m.fields, f)
	}
	return m, nil
}

// fieldValue resolves the one field a condition names.
type fieldValue string

func (f fieldValue) resolve(string) []value { return []value{numberValue(string(f))} }

func (m *delimMatcher) match(msg string) bool {
	words := splitFields(msg)
	// failed[i][j]: fields[i:] cannot match words[j:]; memoised so several
	// ellipses stay polynomial.
	failed := map[[2]int]bool{}
	var try func(i, j int) bool
	try = func(i, j int) bool {
		if i == len(m.fields) {
			return j == len(words)
		}
		k := [2]int{i, j}
		if failed[k] {
			return false
		}
		f := m.fields[i]
		ok := false
		if f.ellipsis {
			for n := j; n <= len(words) && !ok; n++ {
				ok = try(i+1, n)
			}
		} else if j < len(words) && (f.cond == nil || f.cond.eval(fieldValue(words[j]))) {
			ok = try(i+1, j+1)
		}
		if !ok {
			failed[k] = true
		}
		return ok
	}
	return try(0, 0)
}

// splitFields splits a message on spaces; text in double quotes or square
// brackets is one field, without its quotes or brackets.
func splitFields(msg string) []string {
	var out []string
	for i := 0; i < len(msg); {
		switch c := msg[i]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '"' || c == '[':
			closer := byte('"')
			if c == '[' {
				closer = ']'
			}
			end := strings.IndexByte(msg[i+1:], closer)
			if end < 0 {
				out = append(out, msg[i+1:])
				return out
			}
			out = append(out, msg[i+1:i+1+end])
			i += end + 2
		default:
			j := i
			for j < len(msg) && msg[j] != ' ' && msg[j] != '\t' && msg[j] != '\n' && msg[j] != '\r' {
				j++
			}
			out = append(out, msg[i:j])
			i = j
		}
	}
	return out
}
