package registry

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/principal"
	"github.com/wharfhq/wharf/internal/store/sqlite"
	"github.com/wharfhq/wharf/internal/tenancy"
)

func TestParsePath(t *testing.T) {
	cases := []struct {
		path string
		want route
		ok   bool
	}{
		{"/v2/", route{kind: "base"}, true},
		{"/v2", route{kind: "base"}, true},
		{"/v2/a/b/c/manifests/latest", route{kind: "manifest", name: "a/b/c", ref: "latest"}, true},
		{"/v2/app/blobs/sha256:abc", route{kind: "blob", name: "app", ref: "sha256:abc"}, true},
		{"/v2/app/blobs/uploads/", route{kind: "upload", name: "app", ref: ""}, true},
		{"/v2/app/blobs/uploads", route{kind: "upload", name: "app"}, true},
		{"/v2/app/blobs/uploads/0123", route{kind: "upload", name: "app", ref: "0123"}, true},
		{"/v2/a/tags/list", route{kind: "tags", name: "a"}, true},
		{"/v2/a/referrers/sha256:x", route{kind: "referrers", name: "a", ref: "sha256:x"}, true},
		// Path components that look like keywords inside names.
		{"/v2/blobs/manifests/x", route{kind: "manifest", name: "blobs", ref: "x"}, true},
		{"/v2/x/manifests/manifests/y", route{kind: "manifest", name: "x/manifests", ref: "y"}, true},
		{"/v2/app", route{}, false},
		{"/v2/app/unknown/x", route{}, false},
	}
	for _, c := range cases {
		got, ok := parsePath(c.path)
		if ok != c.ok || ok && got != c.want {
			t.Errorf("parsePath(%q) = %+v, %v; want %+v, %v", c.path, got, ok, c.want, c.ok)
		}
	}
}

func TestNames(t *testing.T) {
	for _, n := range []string{"ab", "a/b", "team/app-1", "a__b", "a.b/c_d", "x--y"} {
		if !ValidName(n) {
			t.Errorf("ValidName(%q) = false", n)
		}
	}
	for _, n := range []string{"a", "A/b", "a//b", "/a", "a/", "a@b", "-a", "a..b", strings.Repeat("a", 257)} {
		if ValidName(n) {
			t.Errorf("ValidName(%q) = true", n)
		}
	}
	for _, tg := range []string{"latest", "v1.2.3", "_x", strings.Repeat("a", 128)} {
		if !ValidTag(tg) {
			t.Errorf("ValidTag(%q) = false", tg)
		}
	}
	for _, tg := range []string{"", "-x", ".x", "a@b", "a:b", strings.Repeat("a", 129)} {
		if ValidTag(tg) {
			t.Errorf("ValidTag(%q) = true", tg)
		}
	}
}

func TestParseContentRange(t *testing.T) {
	for _, c := range []struct {
		in         string
		start, end int64
		ok, bad    bool
	}{
		{"", 0, 0, false, false},
		{"0-99", 0, 99, true, false},
		{"bytes=5-9", 5, 9, true, false},
		{"bytes 5-9/*", 5, 9, true, false},
		{"9-5", 0, 0, false, true},
		{"x-5", 0, 0, false, true},
		{"-5", 0, 0, false, true},
		{"5", 0, 0, false, true},
	} {
		s, e, ok, err := parseContentRange(c.in)
		if (err != nil) != c.bad || ok != c.ok || s != c.start || e != c.end {
			t.Errorf("parseContentRange(%q) = %d, %d, %v, %v", c.in, s, e, ok, err)
		}
		if err != nil && !errors.Is(err, ErrRangeInvalid) {
			t.Errorf("parseContentRange(%q) error %v is not ErrRangeInvalid", c.in, err)
		}
	}
}

func TestParseManifest(t *testing.T) {
	cfg := `{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2}`
	layer := `{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2}`
	foreign := `{"mediaType":"application/vnd.oci.image.layer.nondistributable.v1.tar","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8b","size":2,"urls":["https://x"]}`
	img := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":` + cfg + `,"layers":[` + layer + `,` + foreign + `]}`
	p, err := parseManifest("application/vnd.oci.image.manifest.v1+json", []byte(img))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.blobs) != 2 || len(p.foreign) != 1 || p.artifactType != "application/vnd.oci.image.config.v1+json" {
		t.Fatalf("parsed %+v", p)
	}
	bad := map[string][2]string{
		"mismatched media type": {MediaTypeOCIIndex, img},
		"not json":              {"", "{"},
		"schema 1":              {"", `{"schemaVersion":1}`},
		"no config":             {MediaTypeOCIManifest, `{"schemaVersion":2,"layers":[]}`},
		"bad digest":            {MediaTypeOCIManifest, `{"schemaVersion":2,"config":{"digest":"sha256:x","size":1}}`},
		"index with layers":     {MediaTypeOCIIndex, `{"schemaVersion":2,"manifests":[],"layers":[]}`},
		"unknown type":          {"text/plain", `{"schemaVersion":2}`},
	}
	for name, c := range bad {
		if _, err := parseManifest(c[0], []byte(c[1])); !errors.Is(err, ErrManifestInvalid) {
			t.Errorf("%s: %v, want ErrManifestInvalid", name, err)
		}
	}
}

func FuzzParseManifest(f *testing.F) {
	f.Add("", `{"schemaVersion":2,"manifests":[{"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":1}]}`)
	f.Add(MediaTypeDockerManifest, `{"schemaVersion":2,"config":{"digest":"sha512:00","size":1},"layers":null}`)
	f.Fuzz(func(t *testing.T, ct, body string) {
		p, err := parseManifest(ct, []byte(body))
		if err != nil {
			if !errors.Is(err, ErrManifestInvalid) {
				t.Fatalf("error %v is not ErrManifestInvalid", err)
			}
			return
		}
		for _, d := range append(append(p.blobs, p.children...), p.foreign...) {
			if _, err := parseDigest(d.Digest); err != nil {
				t.Fatalf("accepted descriptor with digest %q", d.Digest)
			}
		}
	})
}

func FuzzParsePath(f *testing.F) {
	f.Add("/v2/a/b/manifests/latest")
	f.Add("/v2/a/blobs/uploads/x")
	f.Fuzz(func(t *testing.T, p string) {
		r, ok := parsePath(p)
		if ok && r.kind != "base" && !strings.HasPrefix(p, "/v2/"+r.name+"/") {
			t.Fatalf("parsePath(%q) = %+v: name is not a prefix", p, r)
		}
	})
}

func newTokens(t testing.TB, now func() time.Time) *Tokens {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return NewTokens(st, now)
}

func TestTokens(t *testing.T) {
	base := time.Unix(1_800_000_000, 0)
	var skew atomic.Int64
	tk := newTokens(t, func() time.Time { return base.Add(time.Duration(skew.Load())) })
	ctx := tenancy.With(context.Background(), "123456789012", "eu-west-1")
	p := &principal.Principal{Kind: principal.Root, Account: "123456789012", AccessKeyID: "AKIAEXAMPLE"}
	pass, exp, err := tk.Issue(ctx, p, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if !exp.Equal(base.Add(TokenTTL)) {
		t.Fatalf("expires %v", exp)
	}
	c, err := tk.Verify(ctx, pass)
	if err != nil || c.Account != "123456789012" || c.Region != "eu-west-1" || c.AccessKeyID != "AKIAEXAMPLE" {
		t.Fatalf("Verify = %+v, %v", c, err)
	}
	// Temporary credentials bound the token.
	_, exp2, _ := tk.Issue(ctx, p, base.Add(time.Hour))
	if !exp2.Equal(base.Add(time.Hour)) {
		t.Fatalf("bounded expiry %v", exp2)
	}
	// Tampering.
	body, sig, _ := strings.Cut(pass[len(tokenPrefix):], ".")
	// Change the signature's first character (six significant bits; the
	// last one carries padding bits and the key is random, so replacing it
	// could leave the signature as it was).
	other := "A"
	if sig[0] == 'A' {
		other = "B"
	}
	for _, bad := range []string{"", "wharf1.", pass + "x", tokenPrefix + body + "." + other + sig[1:],
		tokenPrefix + "eyJhIjoiMTExMTExMTExMTExIiwiciI6ImV1LXdlc3QtMSIsImsiOiJBS0lBRVhBTVBMRSIsImUiOjk5OTk5OTk5OTl9." + sig} {
		if _, err := tk.Verify(ctx, bad); !errors.Is(err, ErrTokenInvalid) {
			t.Errorf("Verify(%q) = %v, want ErrTokenInvalid", bad, err)
		}
	}
	// A second issuer over the same store shares the key.
	skew.Store(int64(TokenTTL))
	if _, err := tk.Verify(ctx, pass); !errors.Is(err, ErrTokenInvalid) {
		t.Fatalf("expired token: %v", err)
	}
}

func FuzzVerifyToken(f *testing.F) {
	tk := newTokens(f, nil)
	ctx := tenancy.With(context.Background(), "123456789012", "us-east-1")
	pass, _, err := tk.Issue(ctx, &principal.Principal{AccessKeyID: "AKIA1"}, time.Time{})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(pass)
	f.Add("wharf1.e30.AAAA")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := tk.Verify(ctx, s)
		if err == nil && s != pass {
			t.Fatalf("forged token %q accepted as %+v", s, c)
		}
	})
}
