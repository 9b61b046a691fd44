package sigv4_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/wharfhq/wharf/internal/sigv4"
)

const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// presignedGetCallerIdentity is the presigned STS URL that EKS-style
// authenticators pass around.
func presignedGetCallerIdentity(t *testing.T, base string, creds aws.Credentials, expires string, payloadHash string) *http.Request {
	t.Helper()
	q := url.Values{"Action": {"GetCallerIdentity"}, "Version": {"2011-06-15"}}
	if expires != "" {
		q.Set("X-Amz-Expires", expires)
	}
	req := newRequest(t, http.MethodGet, base+"/?"+q.Encode(), nil)
	req.Header.Set("X-K8s-Aws-Id", "my-cluster")
	return presign(t, req, payloadHash, creds, "sts", "us-east-1", signTime)
}

func TestVerifyPresigned(t *testing.T) {
	srv := newCapture(t)
	cases := []struct {
		name    string
		creds   aws.Credentials
		expires string
		payload string
		now     time.Time
	}{
		{"empty body hash", staticCreds, "900", emptySHA256, signTime.Add(14 * time.Minute)},
		{"session token", tempCreds, "60", emptySHA256, signTime.Add(time.Minute)},
		{"undeclared UNSIGNED-PAYLOAD", staticCreds, "3600", "UNSIGNED-PAYLOAD", signTime.Add(59 * time.Minute)},
		{"no X-Amz-Expires, within skew", staticCreds, "", emptySHA256, signTime.Add(4 * time.Minute)},
		{"a week", staticCreds, "604800", emptySHA256, signTime.Add(7 * 24 * time.Hour)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := presignedGetCallerIdentity(t, srv.URL, tc.creds, tc.expires, tc.payload)
			sr, body := srv.send(t, req)
			res, err := verifierAt(tc.now).Verify(context.Background(), sr, body)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !res.Presigned || res.Service != "sts" || res.Region != "us-east-1" || !res.SigningTime.Equal(signTime) {
				t.Errorf("result = %+v", res)
			}
		})
	}
}

func TestVerifyPresignedDeclaredUnsignedPayload(t *testing.T) {
	req := newRequest(t, http.MethodGet, "http://localhost:4566/bucket/key?X-Amz-Expires=300&X-Amz-Content-Sha256=UNSIGNED-PAYLOAD", nil)
	req = presign(t, req, "UNSIGNED-PAYLOAD", staticCreds, "s3", "us-east-1", signTime)
	sr, body := overWire(t, req)
	if _, err := verifierAt(signTime).Verify(context.Background(), sr, body); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyPresignedPOST(t *testing.T) {
	body := []byte("Action=GetCallerIdentity&Version=2011-06-15")
	req := newRequest(t, http.MethodPost, "http://localhost:4566/?X-Amz-Expires=300", body)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req = presign(t, req, hexSHA256(body), staticCreds, "sts", "us-east-1", signTime)
	sr, sbody := overWire(t, req)
	if _, err := verifierAt(signTime).Verify(context.Background(), sr, sbody); err != nil {
		t.Fatal(err)
	}
	// Change the body: the signature covered it.
	sr, _ = overWire(t, presign(t, newRequest(t, http.MethodPost, "http://localhost:4566/?X-Amz-Expires=300", body), hexSHA256(body), staticCreds, "sts", "us-east-1", signTime))
	_, err := verifierAt(signTime).Verify(context.Background(), sr, []byte("Action=DeleteUser"))
	wantKind(t, err, sigv4.InvalidSignature)
}

func TestVerifyPresignedFailures(t *testing.T) {
	edit := func(key, value string) func(url.Values) {
		return func(q url.Values) {
			if value == "" {
				q.Del(key)
			} else {
				q.Set(key, value)
			}
		}
	}
	cases := []struct {
		name    string
		expires string
		creds   aws.Credentials
		edit    func(url.Values)
		rawEdit func(string) string
		now     time.Time
		want    sigv4.Kind
		msg     string
	}{
		{name: "expired", expires: "900", now: signTime.Add(15*time.Minute + time.Second),
			want: sigv4.RequestExpired, msg: "Request has expired"},
		{name: "not yet valid", expires: "900", now: signTime.Add(-6 * time.Minute),
			want: sigv4.RequestExpired, msg: "Signature not yet current: 20260101T001000Z is still later than 20260101T000900Z (20260101T000400Z + 5 min.)"},
		{name: "no X-Amz-Expires, past skew", now: signTime.Add(6 * time.Minute),
			want: sigv4.RequestExpired, msg: "Signature expired: 20260101T001000Z is now earlier than 20260101T001100Z (20260101T001600Z - 5 min.)"},
		{name: "expires raised after signing", expires: "60", edit: edit("X-Amz-Expires", "3600"),
			want: sigv4.InvalidSignature},
		{name: "parameter changed", expires: "60", edit: edit("Action", "GetSessionToken"),
			want: sigv4.InvalidSignature},
		{name: "parameter added", expires: "60", edit: edit("Extra", "1"),
			want: sigv4.InvalidSignature},
		{name: "expires too long", expires: "60", edit: edit("X-Amz-Expires", "604801"),
			want: sigv4.IncompleteSignature, msg: "X-Amz-Expires must be less than a week (in seconds) that is 604800"},
		{name: "expires zero", expires: "60", edit: edit("X-Amz-Expires", "0"), want: sigv4.IncompleteSignature},
		{name: "expires negative", expires: "60", edit: edit("X-Amz-Expires", "-1"),
			want: sigv4.IncompleteSignature, msg: "X-Amz-Expires must be non-negative"},
		{name: "expires not a number", expires: "60", edit: edit("X-Amz-Expires", "soon"),
			want: sigv4.IncompleteSignature, msg: "X-Amz-Expires should be a number"},
		{name: "other algorithm", expires: "60", edit: edit("X-Amz-Algorithm", "AWS4-ECDSA-P256-SHA256"),
			want: sigv4.IncompleteSignature, msg: `X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"`},
		{name: "no credential", expires: "60", edit: edit("X-Amz-Credential", ""),
			want: sigv4.IncompleteSignature, msg: "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters."},
		{name: "no signature", expires: "60", edit: edit("X-Amz-Signature", ""), want: sigv4.IncompleteSignature},
		{name: "no date", expires: "60", edit: edit("X-Amz-Date", ""), want: sigv4.IncompleteSignature},
		{name: "host not signed", expires: "60", edit: edit("X-Amz-SignedHeaders", "x-k8s-aws-id"),
			want: sigv4.IncompleteSignature},
		{name: "session token stripped", expires: "60", creds: tempCreds, edit: edit("X-Amz-Security-Token", ""),
			want: sigv4.UnknownClientToken},
		{name: "session token changed", expires: "60", creds: tempCreds, edit: edit("X-Amz-Security-Token", "forged"),
			want: sigv4.UnknownClientToken},
		{name: "unknown key", expires: "60", creds: aws.Credentials{AccessKeyID: "AKIAUNKNOWN", SecretAccessKey: "x"},
			want: sigv4.UnknownClientToken},
		{name: "signed header value changed", expires: "60", rawEdit: func(s string) string { return s },
			want: sigv4.InvalidSignature},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			creds := tc.creds
			if creds.AccessKeyID == "" {
				creds = staticCreds
			}
			now := tc.now
			if now.IsZero() {
				now = signTime
			}
			req := presignedGetCallerIdentity(t, "http://localhost:4566", creds, tc.expires, emptySHA256)
			if tc.edit != nil {
				q := req.URL.Query()
				tc.edit(q)
				req.URL.RawQuery = q.Encode()
			}
			if tc.rawEdit != nil {
				req.Header.Set("X-K8s-Aws-Id", "another-cluster")
			}
			sr, body := overWire(t, req)
			_, err := verifierAt(now).Verify(context.Background(), sr, body)
			se := wantKind(t, err, tc.want)
			if tc.msg != "" && se.Message != tc.msg {
				t.Errorf("message = %q\nwant      %q", se.Message, tc.msg)
			}
			if se.Kind == sigv4.InvalidSignature && creds.SessionToken != "" && strings.Contains(se.Detail, creds.SessionToken) {
				t.Errorf("Detail leaks the session token")
			}
		})
	}
}

func TestMismatchDetailRedactsToken(t *testing.T) {
	req := presignedGetCallerIdentity(t, "http://localhost:4566", tempCreds, "60", emptySHA256)
	req.Header.Set("X-K8s-Aws-Id", "another-cluster")
	sr, body := overWire(t, req)
	_, err := verifierAt(signTime).Verify(context.Background(), sr, body)
	se := wantKind(t, err, sigv4.InvalidSignature)
	if !strings.Contains(se.Detail, "x-k8s-aws-id:another-cluster") || !strings.Contains(se.Detail, "AWS4-HMAC-SHA256\n20260101T001000Z\n") {
		t.Errorf("Detail lacks the canonical request:\n%s", se.Detail)
	}
	if strings.Contains(se.Detail, tempToken) || strings.Contains(se.Detail, url.QueryEscape(tempToken)) ||
		strings.Contains(se.Detail, strings.ReplaceAll(url.QueryEscape(tempToken), "+", "%20")) {
		t.Errorf("Detail leaks the session token:\n%s", se.Detail)
	}
}
