package sigv4

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

var fuzzNow = time.Date(2026, 1, 1, 0, 10, 0, 0, time.UTC)

func fuzzVerifier() *Verifier {
	return &Verifier{
		Source: StaticSource{
			"AKID":    {AccessKeyID: "AKID", SecretAccessKey: "secret"},
			"ASIATMP": {AccessKeyID: "ASIATMP", SecretAccessKey: "secret", SessionToken: "tok", Expiration: fuzzNow},
		},
		Now: func() time.Time { return fuzzNow },
	}
}

// FuzzParseAuthorization feeds arbitrary Authorization headers (and dates)
// through parsing and the whole verification. It must never panic, and what
// it accepts must be well formed.
func FuzzParseAuthorization(f *testing.F) {
	for _, s := range []string{
		"AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/iam/aws4_request, SignedHeaders=host;x-amz-date, Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/iam/aws4_request,SignedHeaders=host,Signature=00",
		"AWS4-HMAC-SHA256 Credential=ASIATMP/20260101/us-east-1/iam/aws4_request, SignedHeaders=host;;HOST;content-length;transfer-encoding, Signature=zz",
		"AWS4-HMAC-SHA256 Credential=/20260101//iam/aws4_request, SignedHeaders=, Signature=",
		"Bearer token",
		"Basic Zm9vOmJhcg==",
		"AWS4-HMAC-SHA256",
		"AWS4-HMAC-SHA256 ,,,,=,==,",
		"AWS AKID:c2lnbmF0dXJl",
		"",
	} {
		f.Add(s, "20260101T001000Z")
		f.Add(s, "Thu, 01 Jan 2026 00:10:00 GMT")
	}
	f.Fuzz(func(t *testing.T, authz, date string) {
		scheme, cred, signedHeaders, sig, perr := parseAuthorization(authz)
		if perr == nil {
			if strings.Contains(scheme, " ") {
				t.Errorf("scheme %q contains a space", scheme)
			}
			_ = cred + signedHeaders + sig
		} else if perr.Kind != IncompleteSignature || perr.Message == "" {
			t.Errorf("parse error %+v", perr)
		}

		r := &http.Request{
			Method: http.MethodPost,
			URL:    &url.URL{Path: "/"},
			Host:   "localhost",
			Header: http.Header{"Authorization": {authz}, "X-Amz-Date": {date}, "Content-Length": {"2"}},
		}
		in, herr := headerAuth(r, authz)
		if herr == nil {
			if in.accessKeyID+"/"+in.scope != in.credential || len(in.amzDate) != len(isoBasicLayout) || in.time.Format(isoBasicLayout) != in.amzDate {
				t.Errorf("accepted malformed input: %+v", in)
			}
		}
		_, err := fuzzVerifier().Verify(context.Background(), r, []byte("{}"))
		if err == nil {
			t.Fatalf("forged header verified: %q", authz)
		}
		if _, ok := KindOf(err); !ok {
			t.Errorf("error is not an *Error: %v", err)
		}
	})
}

// FuzzParsePresignedQuery feeds arbitrary query strings through presigned
// query parsing, canonicalisation and verification. It must never panic.
func FuzzParsePresignedQuery(f *testing.F) {
	for _, s := range []string{
		"Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20260101%2Fus-east-1%2Fsts%2Faws4_request&X-Amz-Date=20260101T001000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ASIATMP/20260101/us-east-1/s3/aws4_request&X-Amz-Date=20260101T001000Z&X-Amz-SignedHeaders=host;x-a&X-Amz-Signature=00&X-Amz-Security-Token=tok&X-Amz-Content-Sha256=UNSIGNED-PAYLOAD",
		"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=99999999999999999999999",
		"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=-1&X-Amz-Expires=5",
		"X-Amz-Algorithm=x&&&==&%zz=%&+=+",
		"a=%E2%82%AC&a=%E2&b=;&c",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		s := getScratch()
		s.pairs = parseQuery(s.pairs[:0], raw)
		canon := string(s.appendCanonicalQuery(nil, s.pairs, true))
		for i := 0; i < len(canon); i++ {
			if c := canon[i]; !unreserved[c] && c != '%' && c != '=' && c != '&' {
				t.Errorf("canonical query %q has unencoded byte %q", canon, c)
			}
		}
		if in, err := presignAuth(s.pairs); err == nil {
			if !in.presigned || in.expires < 0 || in.expires > maxExpires || in.accessKeyID+"/"+in.scope != in.credential {
				t.Errorf("accepted malformed input: %+v", in)
			}
		}
		putScratch(s)

		r := &http.Request{
			Method: http.MethodGet,
			URL:    &url.URL{Path: "/", RawQuery: raw},
			Host:   "localhost",
			Header: http.Header{},
		}
		_, err := fuzzVerifier().Verify(context.Background(), r, nil)
		if err == nil {
			t.Fatalf("forged query verified: %q", raw)
		}
		if _, ok := KindOf(err); !ok {
			t.Errorf("error is not an *Error: %v", err)
		}
	})
}
