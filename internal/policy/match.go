package policy

import (
	"strings"
	"unicode/utf8"
)

// A compiled pattern is a list of pchars: literal runes and the two
// wildcards. Compiling after variable expansion keeps the text a variable
// expands to literal, and lets ${*} and ${?} stand for literal * and ?.

type pkind uint8

const (
	pLiteral pkind = iota
	pStar          // *: any run of characters, possibly empty
	pAny           // ?: exactly one character
)

type pchar struct {
	r    rune
	kind pkind
}

// MatchesAction reports whether an IAM action pattern such as
// "ecs:Describe*" or "*" matches an action such as "ecs:DescribeClusters".
// Matching is case-insensitive; * matches any run of characters and ?
// exactly one.
func MatchesAction(pattern, action string) bool {
	if isASCII(pattern) && isASCII(action) {
		return globMatchASCIIFold(pattern, action)
	}
	p, _ := compilePattern(strings.ToLower(pattern), false, nil, true)
	return globMatch(p, []rune(strings.ToLower(action)))
}

// globMatchASCIIFold is globMatch for ASCII text with ASCII case folding,
// without allocating: the common case for actions.
func globMatchASCIIFold(p, s string) bool {
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		if pi < len(p) {
			switch c := p[pi]; {
			case c == '?' || c != '*' && lowerASCII(c) == lowerASCII(s[si]):
				pi++
				si++
				continue
			case c == '*':
				star, mark = pi, si
				pi++
				continue
			}
		}
		if star < 0 {
			return false
		}
		pi = star + 1
		mark++
		si = mark
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// MatchesResource reports whether a Resource pattern matches a resource
// ARN, case-sensitively and segment by segment as described in the package
// documentation. Policy variables are not expanded: ${...} is literal text.
func MatchesResource(pattern, resource string) bool {
	p, _ := compilePattern(pattern, false, nil, true)
	return matchARN(p, resource)
}

// compilePattern turns policy text into a pattern. With vars, ${...} is
// expanded from ec; an unresolvable variable makes ok false. With wild, *
// and ? in the text are wildcards; otherwise every character is literal.
func compilePattern(text string, vars bool, ec *evalContext, wild bool) (p []pchar, ok bool) {
	p = make([]pchar, 0, len(text))
	for i := 0; i < len(text); {
		if vars && strings.HasPrefix(text[i:], "${") {
			if end := strings.IndexByte(text[i+2:], '}'); end >= 0 {
				val, ok := resolveVariable(text[i+2:i+2+end], ec)
				if !ok {
					return nil, false
				}
				for _, r := range val {
					p = append(p, pchar{r: r})
				}
				i += 2 + end + 1
				continue
			}
			// An unterminated "${" is literal text.
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		switch {
		case wild && r == '*':
			p = append(p, pchar{kind: pStar})
		case wild && r == '?':
			p = append(p, pchar{kind: pAny})
		default:
			p = append(p, pchar{r: r})
		}
		i += size
	}
	return p, true
}

// literalText expands variables in text and returns it as a plain string,
// for the operators that compare without wildcards.
func literalText(text string, vars bool, ec *evalContext) (string, bool) {
	if !vars || !strings.Contains(text, "${") {
		return text, true
	}
	p, ok := compilePattern(text, vars, ec, false)
	if !ok {
		return "", false
	}
	var b strings.Builder
	for _, c := range p {
		b.WriteRune(c.r)
	}
	return b.String(), true
}

// resolveVariable expands the inside of ${...}: the escapes *, ? and $, or
// a context key with an optional 'default'. Only a single-valued key
// resolves.
func resolveVariable(inner string, ec *evalContext) (string, bool) {
	switch inner {
	case "*", "?", "$":
		return inner, true
	}
	key, def, hasDefault := inner, "", false
	if k, d, found := strings.Cut(inner, ","); found {
		d = strings.TrimSpace(d)
		if len(d) < 2 || d[0] != '\'' || d[len(d)-1] != '\'' {
			return "", false
		}
		key, def, hasDefault = k, d[1:len(d)-1], true
	}
	key = strings.TrimSpace(key)
	if key == "" {
		return "", false
	}
	if ec != nil {
		if vals := ec.values(key); len(vals) == 1 {
			return vals[0], true
		}
	}
	return def, hasDefault
}

// globMatch matches s against p: the classic two-pointer wildcard match
// that backtracks to the most recent *, O(len(p)·len(s)) at worst.
func globMatch(p []pchar, s []rune) bool {
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		if pi < len(p) {
			switch c := p[pi]; {
			case c.kind == pAny || c.kind == pLiteral && c.r == s[si]:
				pi++
				si++
				continue
			case c.kind == pStar:
				star, mark = pi, si
				pi++
				continue
			}
		}
		if star < 0 {
			return false
		}
		pi = star + 1
		mark++
		si = mark
	}
	for pi < len(p) && p[pi].kind == pStar {
		pi++
	}
	return pi == len(p)
}

// matchARN matches a resource against a pattern. When both are ARNs the
// five leading fields are matched one by one and the resource field as a
// whole; a segment of the pattern ending in * may also swallow the
// following segments of the resource, as IAM documents. Anything else is
// one glob match over the whole string.
func matchARN(p []pchar, s string) bool {
	if !pcharHasPrefix(p, "arn:") || !strings.HasPrefix(s, "arn:") {
		return globMatch(p, []rune(s))
	}
	psegs := splitPattern(p, 6)
	ssegs := strings.SplitN(s, ":", 6)
	var rec func(i, j int) bool
	rec = func(i, j int) bool {
		if i == len(psegs) {
			return j == len(ssegs)
		}
		if j == len(ssegs) {
			return false
		}
		seg := psegs[i]
		if globMatch(seg, []rune(ssegs[j])) && rec(i+1, j+1) {
			return true
		}
		if len(seg) > 0 && seg[len(seg)-1].kind == pStar {
			for k := j + 1; k < len(ssegs); k++ {
				if globMatch(seg, []rune(strings.Join(ssegs[j:k+1], ":"))) && rec(i+1, k+1) {
					return true
				}
			}
		}
		return false
	}
	return rec(0, 0)
}

func pcharHasPrefix(p []pchar, prefix string) bool {
	i := 0
	for _, r := range prefix {
		if i >= len(p) || p[i].kind != pLiteral || p[i].r != r {
			return false
		}
		i++
	}
	return true
}

// splitPattern splits p at literal colons into at most n segments, the
// last one keeping any further colons.
func splitPattern(p []pchar, n int) [][]pchar {
	var out [][]pchar
	start := 0
	for i, c := range p {
		if len(out) == n-1 {
			break
		}
		if c.kind == pLiteral && c.r == ':' {
			out = append(out, p[start:i])
			start = i + 1
		}
	}
	return append(out, p[start:])
}
