// Package filter parses and matches CloudWatch Logs filter patterns, the
// language of FilterLogEvents (and, later, metric and subscription
// filters). It is pure code: a pattern is parsed once and matched against
// messages.
//
// Three forms, chosen by the pattern's first character:
//
//   - Unstructured (anything else): space-separated terms that must all
//     occur in the message (case-sensitive substrings); "quoted phrases";
//     -term / -"phrase" exclusions; ?term alternatives, of which at least
//     one must occur; %regular expression%.
//   - JSON, `{ … }`: comparisons on selectors of a JSON message:
//     `$.a.b = "x*"`, `$.n >= 5`, `$.arr[0] != 3`, `$.x IS NULL`,
//     `$.x NOT EXISTS`, `$.ok IS TRUE`, combined with && and || and
//     parentheses.
//   - Space-delimited, `[ … ]`: named fields of a message split on spaces
//     (text in "quotes" or [brackets] is one field), `...` for any number
//     of fields, and conditions on a field: `[ip, user, ..., status = 4*]`,
//     `[..., bytes > 1000 && bytes < 5000]`.
//
// String values may hold `*` wildcards. An empty pattern matches every
// message.
package filter

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalid is the kind of every parse error.
var ErrInvalid = errors.New("invalid filter pattern")

// MaxLength is the longest pattern accepted (the API's limit).
const MaxLength = 1024

// Pattern is a parsed filter pattern.
type Pattern struct {
	src string
	m   matcher
}

type matcher interface {
	match(msg string) bool
}

type matchAll struct{}

func (matchAll) match(string) bool { return true }

// Parse parses a filter pattern.
func Parse(src string) (*Pattern, error) {
	if len(src) > MaxLength {
		return nil, invalid("longer than %d characters", MaxLength)
	}
	s := strings.TrimSpace(src)
	var (
		m   matcher
		err error
	)
	switch {
	case s == "":
		m = matchAll{}
	case s[0] == '{':
		m, err = parseJSON(s)
	case s[0] == '[':
		m, err = parseDelimited(s)
	default:
		m, err = parseTerms(s)
	}
	if err != nil {
		return nil, err
	}
	return &Pattern{src: src, m: m}, nil
}

// MustParse is Parse for patterns known to be valid; it panics otherwise.
func MustParse(src string) *Pattern {
	p, err := Parse(src)
	if err != nil {
		panic(err)
	}
	return p
}

// Match reports whether msg matches the pattern.
func (p *Pattern) Match(msg string) bool { return p.m.match(msg) }

// String returns the pattern as written.
func (p *Pattern) String() string { return p.src }

// parseError is a parse error: ErrInvalid with the reason.
type parseError struct{ reason string }

func (e *parseError) Error() string { return "Invalid filter pattern: " + e.reason }
func (e *parseError) Unwrap() error { return ErrInvalid }

func invalid(format string, args ...any) error {
	return &parseError{reason: fmt.Sprintf(format, args...)}
}
