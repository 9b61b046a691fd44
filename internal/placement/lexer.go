package placement

import (
	"strings"
	"unicode/utf8"
)

// tokenKind is the kind of a cluster query language token.
type tokenKind uint8

const (
	tokEOF    tokenKind = iota
	tokWord             // bare word: subject, keyword or literal
	tokString           // quoted literal, quotes removed
	tokLParen           // (
	tokRParen           // )
	tokLBrack           // [
	tokRBrack           // ]
	tokComma            // ,
	tokSym              // operator symbol: == != > >= < <= =~ !~ ! && ||
)

type token struct {
	kind tokenKind
	text string // word, unquoted string or symbol
	pos  int    // byte offset of the token in the source
}

// isSpecial reports whether r cannot appear in a bare word.
func isSpecial(r rune) bool {
	switch r {
	case '(', ')', '[', ']', ',', '\'', '"', '=', '!', '<', '>', '&', '|', '~':
		return true
	}
	return isSpace(r)
}

func isSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' || r == '\v'
}

// lex splits src into tokens. It never panics; malformed input is a
// *SyntaxError.
func lex(src string) ([]token, error) {
	toks := make([]token, 0, 8)
	i := 0
	for i < len(src) {
		r, size := utf8.DecodeRuneInString(src[i:])
		if r == utf8.RuneError && size == 1 {
			return nil, &SyntaxError{Expr: src, Offset: i, Msg: "invalid UTF-8"}
		}
		if isSpace(r) {
			i += size
			continue
		}
		start := i
		switch r {
		case '(':
			toks = append(toks, token{tokLParen, "(", start})
			i++
		case ')':
			toks = append(toks, token{tokRParen, ")", start})
			i++
		case '[':
			toks = append(toks, token{tokLBrack, "[", start})
			i++
		case ']':
			toks = append(toks, token{tokRBrack, "]", start})
			i++
		case ',':
			toks = append(toks, token{tokComma, ",", start})
			i++
		case '\'', '"':
			s, n, ok := unquote(src[i:])
			if !ok {
				return nil, &SyntaxError{Expr: src, Offset: start, Msg: "unterminated quoted string"}
			}
			toks = append(toks, token{tokString, s, start})
			i += n
		case '=', '!', '<', '>', '&', '|', '~':
			sym := symbolAt(src[i:])
			if sym == "" {
				return nil, &SyntaxError{Expr: src, Offset: start, Msg: "unexpected " + quoteRune(r)}
			}
			toks = append(toks, token{tokSym, sym, start})
			i += len(sym)
		default:
			j := i
			for j < len(src) {
				r, size := utf8.DecodeRuneInString(src[j:])
				// A lone '|' inside a word is regex alternation (t2.*|m4.*);
				// only "||" is the or operator.
				if r == '|' && j > i && !strings.HasPrefix(src[j:], "||") {
					j++
					continue
				}
				if isSpecial(r) || (r == utf8.RuneError && size == 1) {
					break
				}
				j += size
			}
			toks = append(toks, token{tokWord, src[i:j], start})
			i = j
		}
	}
	toks = append(toks, token{tokEOF, "", len(src)})
	return toks, nil
}

// symbolAt returns the operator symbol at the start of s, or "".
func symbolAt(s string) string {
	if len(s) >= 2 {
		switch s[:2] {
		case "==", "!=", ">=", "<=", "=~", "!~", "&&", "||":
			return s[:2]
		}
	}
	switch s[0] {
	case '>', '<', '!':
		return s[:1]
	}
	return ""
}

// unquote reads a quoted string at the start of s. Inside quotes a backslash
// escapes the quote character and itself; any other backslash is literal, so
// regular expressions such as 't2\.micro' keep their escapes.
func unquote(s string) (val string, n int, ok bool) {
	q := s[0]
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && (s[i+1] == q || s[i+1] == '\\'):
			b.WriteByte(s[i+1])
			i++
		case c == q:
			return b.String(), i + 1, true
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, false
}

func quoteRune(r rune) string { return "'" + string(r) + "'" }

// formatValue renders a literal so that lex reads it back unchanged: bare
// when it is a plain word, single-quoted otherwise.
func formatValue(v string) string {
	if v != "" && utf8.ValidString(v) {
		bare := true
		for _, r := range v {
			if isSpecial(r) {
				bare = false
				break
			}
		}
		if bare {
			return v
		}
	}
	var b strings.Builder
	b.WriteByte('\'')
	for i := 0; i < len(v); i++ {
		c := v[i]
		// A backslash needs escaping only where unquote would read it as
		// an escape: before a quote, a backslash or the closing quote.
		if c == '\'' || (c == '\\' && (i+1 == len(v) || v[i+1] == '\'' || v[i+1] == '\\')) {
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	b.WriteByte('\'')
	return b.String()
}
