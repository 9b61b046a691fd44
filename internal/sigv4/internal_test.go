package sigv4

import (
	"context"
	"encoding/hex"
	"net/http"
	"net/textproto"
	"strings"
	"testing"
	"time"
)

func TestDeriveSigningKeyAWSExample(t *testing.T) {
	// The worked example of the AWS General Reference ("Examples of how to
	// derive a signing key for Signature Version 4").
	got := deriveSigningKey("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1", "iam")
	const want = "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
	if hex.EncodeToString(got[:]) != want {
		t.Errorf("signing key = %x, want %s", got, want)
	}
}

func TestKeyCacheBoundedAndCorrect(t *testing.T) {
	var c keyCache
	for i := 0; i < 3*keyCacheGeneration+7; i++ {
		secret := "secret-" + strings.Repeat("x", i%5) + string(rune('a'+i%26)) + time.Duration(i).String()
		got := c.signingKey(secret, "20260101", "us-east-1", "ecs")
		if got != deriveSigningKey(secret, "20260101", "us-east-1", "ecs") {
			t.Fatalf("cached key %d differs from derived key", i)
		}
		if n := c.len(); n > 2*keyCacheGeneration {
			t.Fatalf("cache holds %d keys, bound is %d", n, 2*keyCacheGeneration)
		}
	}
	// A hit in the old generation survives the next rotation.
	var d keyCache
	d.signingKey("keep", "20260101", "r", "s")
	for i := 0; i < keyCacheGeneration; i++ {
		d.signingKey("fill"+time.Duration(i).String(), "20260101", "r", "s")
	}
	d.signingKey("keep", "20260101", "r", "s") // promoted from old
	for i := 0; i < keyCacheGeneration-2; i++ {
		d.signingKey("more"+time.Duration(i).String(), "20260101", "r", "s")
	}
	d.mu.Lock()
	_, inCur := d.cur[keyCacheKey{"keep", "20260101", "r", "s"}]
	_, inOld := d.old[keyCacheKey{"keep", "20260101", "r", "s"}]
	d.mu.Unlock()
	if !inCur && !inOld {
		t.Errorf("recently used key was evicted")
	}
}

// TestAWSTestSuiteVectors checks requests from the AWS SigV4 test suite,
// including the older suite's Date-header form.
func TestAWSTestSuiteVectors(t *testing.T) {
	const secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	src := StaticSource{"AKIDEXAMPLE": {AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: secret}}
	cases := []struct {
		name   string
		now    time.Time
		target string
		host   string
		header map[string]string
	}{
		{
			name: "get-vanilla", now: time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC), target: "/", host: "example.amazonaws.com",
			header: map[string]string{
				"X-Amz-Date":    "20150830T123600Z",
				"Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
			},
		},
		{
			name: "get-vanilla-query-order-key-case", now: time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC), target: "/?Param2=value2&Param1=value1", host: "example.amazonaws.com",
			header: map[string]string{
				"X-Amz-Date":    "20150830T123600Z",
				"Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
			},
		},
		{
			name: "2011 get-vanilla with Date header", now: time.Date(2011, 9, 9, 23, 36, 0, 0, time.UTC), target: "/", host: "host.foo.com",
			header: map[string]string{
				"Date":          "Mon, 09 Sep 2011 23:36:00 GMT",
				"Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20110909/us-east-1/host/aws4_request, SignedHeaders=date;host, Signature=b27ccfbfa7df52a200ff74193ca6e32d4b48b8856fab7ebf1c595d0670a7e470",
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := http.NewRequest(http.MethodGet, "http://"+tc.host+tc.target, nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.header {
				r.Header.Set(k, v)
			}
			v := &Verifier{Source: src, Now: func() time.Time { return tc.now }}
			res, err := v.Verify(context.Background(), r, nil)
			if err != nil {
				if e, ok := err.(*Error); ok {
					t.Logf("%s", e.Detail)
				}
				t.Fatal(err)
			}
			if !res.SigningTime.Equal(tc.now) {
				t.Errorf("SigningTime = %v, want %v", res.SigningTime, tc.now)
			}
		})
	}
}

func TestParseISOBasic(t *testing.T) {
	good := map[string]time.Time{
		"20260101T000000Z": time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		"20240229T235959Z": time.Date(2024, 2, 29, 23, 59, 59, 0, time.UTC),
	}
	for s, want := range good {
		got, ok := parseISOBasic(s)
		if !ok || !got.Equal(want) {
			t.Errorf("parseISOBasic(%q) = %v, %v", s, got, ok)
		}
	}
	for _, s := range []string{"", "20260101T000000", "20260101T000000z", "2026010lT000000Z", "20261301T000000Z",
		"20250229T000000Z", "20260100T000000Z", "20260101T240000Z", "20260101T006000Z", "20260101T000060Z",
		"+2026101T000000Z", "20260101 000000Z"} {
		if _, ok := parseISOBasic(s); ok {
			t.Errorf("parseISOBasic(%q) accepted", s)
		}
	}
}

func TestAppendCanonicalHeaderKeyMatchesTextproto(t *testing.T) {
	for _, name := range []string{"host", "x-amz-date", "content-type", "x-amz-meta-ÄÖ", "x_under", "a--b", "-x",
		"X-AMZ-TARGET", "smithy-protocol", "with space", "x-amz-content-sha256", "", "1-2-3", "x.y", "x~y"} {
		got := string(appendCanonicalHeaderKey(nil, name))
		if want := textproto.CanonicalMIMEHeaderKey(name); got != want {
			t.Errorf("appendCanonicalHeaderKey(%q) = %q, textproto says %q", name, got, want)
		}
	}
}

func TestAppendTrimmedValue(t *testing.T) {
	for in, want := range map[string]string{
		"":                 "",
		"plain":            "plain",
		"  a  ":            "a",
		"a   b    c":       "a b c",
		"\t a \t":          "a",
		"a\t\tb":           "a\t\tb",
		" a  \t  b ":       "a \t b",
		"  lots   of   x ": "lots of x",
	} {
		if got := string(appendTrimmedValue(nil, in)); got != want {
			t.Errorf("appendTrimmedValue(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCanonicalQuery(t *testing.T) {
	s := getScratch()
	defer putScratch(s)
	for raw, want := range map[string]string{
		"":                                 "",
		"b=2&a=1":                          "a=1&b=2",
		"a=b&a=a&a=":                       "a=&a=a&a=b",
		"Sort=a%2Fb&Sort=a-b":              "Sort=a%2Fb&Sort=a-b", // sorted after encoding: '%' < '-'
		"k=a+b&k2=a%20b":                   "k=a%20b&k2=a%20b",
		"x=%E2%82%AC&y=~&z=%7E":            "x=%E2%82%AC&y=~&z=~",
		"flag&&=v":                         "=v&flag=",
		"bad=%zz":                          "bad=%25zz",
		"X-Amz-Signature=abc&X-Amz-Date=1": "X-Amz-Date=1",
		"a-b=1&a=2&a.b=3":                  "a=2&a-b=1&a.b=3",
		"uni%C3%A9=%C3%A9&semi=a;b":        "semi=a%3Bb&uni%C3%A9=%C3%A9",
	} {
		s.pairs = parseQuery(s.pairs[:0], raw)
		if got := string(s.appendCanonicalQuery(nil, s.pairs, true)); got != want {
			t.Errorf("canonical query of %q = %q, want %q", raw, got, want)
		}
	}
}

func TestParseCredential(t *testing.T) {
	var in authInput
	if err := in.setCredential("AKID/20260101/us-east-1/iam/aws4_request"); err != nil {
		t.Fatal(err)
	}
	if in.accessKeyID != "AKID" || in.scope != "20260101/us-east-1/iam/aws4_request" || in.scopeDate != "20260101" ||
		in.region != "us-east-1" || in.service != "iam" {
		t.Errorf("parsed %+v", in)
	}
	for _, bad := range []string{"", "AKID", "AKID/20260101/us-east-1/iam", "AKID/20260101/us-east-1/iam/aws4_request/",
		"AKID/20260101//iam/aws4_request", "AKID/20260101/us-east-1//aws4_request", "a/b/c/d/e/f"} {
		var in authInput
		if err := in.setCredential(bad); err == nil || err.Kind != IncompleteSignature {
			t.Errorf("setCredential(%q) = %v", bad, err)
		}
	}
}

func TestKindString(t *testing.T) {
	if MissingAuth.String() != "MissingAuth" || RequestExpired.String() != "RequestExpired" || Kind(0).String() != "Kind(0)" || Kind(99).String() != "Kind(99)" {
		t.Errorf("Kind.String is wrong")
	}
}
