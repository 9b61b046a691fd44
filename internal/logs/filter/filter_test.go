package filter

import (
	"errors"
	"fmt"
	"testing"
)

func TestMatch(t *testing.T) {
	const access = `127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534`
	cases := []struct {
		pattern string
		msg     string
		want    bool
	}{
		{"", "anything", true},
		{"  ", "anything", true},
		{"ERROR", "[ERROR] disk full", true},
		{"ERROR", "[error] disk full", false}, // case-sensitive
		{"ERROR disk", "[ERROR] disk full", true},
		{"ERROR memory", "[ERROR] disk full", false},
		{`"disk full"`, "[ERROR] disk full", true},
		{`"full disk"`, "[ERROR] disk full", false},
		{`ERROR -disk`, "[ERROR] disk full", false},
		{`ERROR -memory`, "[ERROR] disk full", true},
		{`ERROR -"disk full"`, "[ERROR] disk full now", false},
		{`?ERROR ?WARN`, "WARN low", true},
		{`?ERROR ?WARN`, "INFO ok", false},
		{`?ERROR ?WARN disk`, "WARN disk", true},
		{`?ERROR ?WARN disk`, "WARN memory", false},
		{`%ERR(OR)?\s+\d+%`, "ERR 42", true},
		{`%ERR(OR)?\s+\d+%`, "ERR x", false},
		{`"a \"quoted\" word"`, `say a "quoted" word`, true},

		{`{ $.level = "error" }`, `{"level":"error","n":3}`, true},
		{`{ $.level = "error" }`, `{"level":"info"}`, false},
		{`{ $.level = error }`, `{"level":"error"}`, true},
		{`{ $.level = "err*" }`, `{"level":"error"}`, true},
		{`{ $.level = "*or" }`, `{"level":"error"}`, true},
		{`{ $.level != "error" }`, `{"level":"info"}`, true},
		{`{ $.level != "error" }`, `{"other":1}`, false},
		{`{ $.level = "error" }`, `not json at all`, false},
		{`{ $.n > 5 }`, `{"n": 6}`, true},
		{`{ $.n > 5 }`, `{"n": 5}`, false},
		{`{ $.n >= 5 }`, `{"n": 5}`, true},
		{`{ $.n < 5.5 }`, `{"n": 5}`, true},
		{`{ $.n <= -1 }`, `{"n": -1}`, true},
		{`{ $.n = 5 }`, `{"n": 5.0}`, true},
		{`{ $.n > 5 }`, `{"n": "6"}`, false},
		{`{ $.a.b.c = "x" }`, `{"a":{"b":{"c":"x"}}}`, true},
		{`{ $.a[1] = 2 }`, `{"a":[1,2,3]}`, true},
		{`{ $.a[5] = 2 }`, `{"a":[1,2,3]}`, false},
		{`{ $.a[*].id = "q" }`, `{"a":[{"id":"p"},{"id":"q"}]}`, true},
		{`{ $.x IS NULL }`, `{"x":null}`, true},
		{`{ $.x IS NULL }`, `{"x":1}`, false},
		{`{ $.x NOT EXISTS }`, `{"y":1}`, true},
		{`{ $.x NOT EXISTS }`, `{"x":null}`, false},
		{`{ $.ok IS TRUE }`, `{"ok":true}`, true},
		{`{ $.ok IS FALSE }`, `{"ok":true}`, false},
		{`{ $.ok = true }`, `{"ok":true}`, true},
		{`{ $.a = 1 && $.b = 2 }`, `{"a":1,"b":2}`, true},
		{`{ $.a = 1 && $.b = 2 }`, `{"a":1,"b":3}`, false},
		{`{ $.a = 1 || $.b = 2 }`, `{"a":0,"b":2}`, true},
		{`{ ($.a = 1 || $.a = 2) && $.b = "x" }`, `{"a":2,"b":"x"}`, true},
		{`{ ($.a = 1 || $.a = 2) && $.b = "x" }`, `{"a":3,"b":"x"}`, false},
		{`{ $.a = 1 || $.a = 2 && $.b = "x" }`, `{"a":1,"b":"y"}`, true}, // && binds tighter
		{`{$.level="error"}`, `{"level":"error"}`, true},

		{`[ip, user, username, timestamp, request = *html*, status_code = 4*, bytes]`, access, true},
		{`[ip, user, username, timestamp, request = *html*, status_code = 5*, bytes]`, access, false},
		{`[ip, user, username, timestamp, request, status_code = 404, bytes > 1000]`, access, true},
		{`[ip, user, username, timestamp, request, status_code, bytes < 1000]`, access, false},
		{`[..., status_code = 404, bytes]`, access, true},
		{`[ip = 127.*, ...]`, access, true},
		{`[ip = 10.*, ...]`, access, false},
		{`[..., status_code = 4* || status_code = 5*, ...]`, access, true},
		{`[..., bytes > 1000 && bytes < 2000]`, access, true},
		{`[..., bytes != 1534]`, access, false},
		{`[a, b]`, "one two", true},
		{`[a, b]`, "one two three", false}, // without ... the count must match
		{`[a, ..., c = three]`, "one two x three", true},
		{`[..., user = frank, ..., status = 404, ...]`, access, true},
		{`[]`, "", true},
	}
	for _, c := range cases {
		p, err := Parse(c.pattern)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.pattern, err)
			continue
		}
		if got := p.Match(c.msg); got != c.want {
			t.Errorf("Parse(%q).Match(%q) = %v, want %v", c.pattern, c.msg, got, c.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, s := range []string{
		`"unterminated`,
		`ERROR -`,
		`?`,
		`%unterminated`,
		`%(%`,
		`{ $.a = 1`,
		`{ a = 1 }`,
		`{ $.a }`,
		`{ $.a = }`,
		`{ $.a > "x" }`,
		`{ $.a = 1 && }`,
		`{ ($.a = 1 }`,
		`{ $.a IS MAYBE }`,
		`{ $.a[x] = 1 }`,
		`{ $.a & $.b }`,
		`[a, b`,
		`[a, , b]`,
		`[a, a]`,
		`[a = 1 || b = 2]`,
		`[..., x > y]`,
		`[1a]`,
		string(make([]byte, MaxLength+1)),
	} {
		if _, err := Parse(s); !errors.Is(err, ErrInvalid) {
			t.Errorf("Parse(%q) = %v, want ErrInvalid", s, err)
		}
	}
}

func TestGlob(t *testing.T) {
	for _, c := range []struct {
		p, s string
		want bool
	}{
		{"", "", true}, {"*", "", true}, {"*", "abc", true}, {"a*c", "abbbc", true},
		{"a*c", "abcd", false}, {"*b*", "abc", true}, {"a**", "a", true}, {"abc", "abd", false},
		{"4*", "404", true}, {"4*", "504", false}, {"*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
	} {
		if got := glob(c.p, c.s); got != c.want {
			t.Errorf("glob(%q, %q) = %v", c.p, c.s, got)
		}
	}
}

func FuzzParseMatch(f *testing.F) {
	for _, s := range []string{"ERROR", `?a -b "c d"`, `{ $.a = 1 && ($.b != "x*" || $.c NOT EXISTS) }`,
		`[ip, ..., status = 4* || status = 5*, bytes > 10]`, `%a+%`, `{ $.a[*].b IS NULL }`} {
		f.Add(s, `{"a":1,"b":"xy"} 127.0.0.1 [x y] "q" 404 12`)
	}
	f.Fuzz(func(t *testing.T, pattern, msg string) {
		p, err := Parse(pattern)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse(%q): error %v is not ErrInvalid", pattern, err)
			}
			return
		}
		p.Match(msg) // must not panic
	})
}

func ExampleParse() {
	p, _ := Parse(`{ $.level = "error" && $.latency > 250 }`)
	fmt.Println(p.Match(`{"level":"error","latency":300}`))
	fmt.Println(p.Match(`{"level":"error","latency":100}`))
	// Output:
	// true
	// false
}
