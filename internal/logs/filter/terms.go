package filter

import (
	"regexp"
	"strings"
)

// termsMatcher is the unstructured form: required terms, exclusions and
// alternatives.
type termsMatcher struct {
	all     []string // every one must occur
	none    []string // none may occur
	any     []string // at least one must occur, if any are given
	regexes []*regexp.Regexp
}

func (t *termsMatcher) match(msg string) bool {
	for _, s := range t.all {
		if !strings.Contains(msg, s) {
			return false
		}
	}
	for _, s := range t.none {
		if strings.Contains(msg, s) {
			return false
		}
	}
	for _, re := range t.regexes {
		if !re.MatchString(msg) {
			return false
		}
	}
	if len(t.any) == 0 {
		return true
	}
	for _, s := range t.any {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

func parseTerms(s string) (matcher, error) {
	t := &termsMatcher{}
	i := 0
	for i < len(s) {
		if s[i] == ' ' || s[i] == '\t' {
			i++
			continue
		}
		kind := byte(0)
		if s[i] == '-' || s[i] == '?' {
			kind = s[i]
			i++
			if i == len(s) || s[i] == ' ' {
				return nil, invalid("%q must be followed by a term", string(kind))
			}
		}
		var term string
		switch s[i] {
		case '"':
			q, n, err := quoted(s[i:])
			if err != nil {
				return nil, err
			}
			term, i = q, i+n
		case '%':
			end := strings.IndexByte(s[i+1:], '%')
			if end < 0 {
				return nil, invalid("unterminated regular expression")
			}
			if kind != 0 {
				return nil, invalid("a regular expression cannot be negated or optional")
			}
			re, err := regexp.Compile(s[i+1 : i+1+end])
			if err != nil {
				return nil, invalid("bad regular expression: %v", err)
			}
			t.regexes = append(t.regexes, re)
			i += end + 2
			continue
		default:
			j := i
			for j < len(s) && s[j] != ' ' && s[j] != '\t' && s[j] != '"' {
				j++
			}
			term, i = s[i:j], j
		}
		switch kind {
		case '-':
			t.none = append(t.none, term)
		case '?':
			t.any = append(t.any, term)
		default:
			t.all = append(t.all, term)
		}
	}
	return t, nil
}

// quoted reads a double-quoted string at the start of s (backslash escapes
// the next character) and returns its value and the bytes consumed.
func quoted(s string) (string, int, error) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			}
		case '"':
			return b.String(), i + 1, nil
		default:
			b.WriteByte(s[i])
		}
	}
	return "", 0, invalid("unterminated quoted string")
}

// glob reports whether s matches pattern p, where '*' matches any run of
// characters (linear time, no backtracking blow-up).
func glob(p, s string) bool {
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case pi < len(p) && p[pi] == s[si]:
			pi++
			si++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
