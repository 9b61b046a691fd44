package sigv4_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/wharfhq/wharf/internal/sigv4"
)

type sdkCase struct {
	name    string
	service string
	creds   aws.Credentials
	build   func(t *testing.T, base string) (*http.Request, []byte)
}

func sdkCases() []sdkCase {
	return []sdkCase{
		{"awsJson POST", "ecs", staticCreds, func(t *testing.T, base string) (*http.Request, []byte) {
			body := []byte(`{"maxResults":10}`)
			req := newRequest(t, http.MethodPost, base+"/", body)
			req.Header.Set("Content-Type", "application/x-amz-json-1.1")
			req.Header.Set("X-Amz-Target", "AmazonEC2ContainerServiceV20141113.ListClusters")
			return req, body
		}},
		{"awsQuery form POST", "sts", staticCreds, func(t *testing.T, base string) (*http.Request, []byte) {
			body := []byte("Action=GetCallerIdentity&Version=2011-06-15")
			req := newRequest(t, http.MethodPost, base+"/", body)
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
			return req, body
		}},
		{"GET with query needing encoding", "iam", staticCreds, func(t *testing.T, base string) (*http.Request, []byte) {
			q := url.Values{
				"Action":     {"ListUsers"},
				"Version":    {"2010-05-08"},
				"PathPrefix": {"/division abc/sub~team/"},
				"Marker":     {"x y+z&=?#"},
				"Name":       {"€üñ 日本"},
				"Tag":        {"b", "a", "a"},
				"Sort":       {"a/b", "a-b"}, // order differs before and after encoding
				"Empty":      {""},
				"tilde~key":  {"v"},
			}
			req := newRequest(t, http.MethodGet, base+"/?"+q.Encode(), nil)
			return req, nil
		}},
		{"rpcv2Cbor POST", "monitoring", staticCreds, func(t *testing.T, base string) (*http.Request, []byte) {
			body := []byte{0xbf, 0x69, 'N', 'a', 'm', 'e', 's', 'p', 'a', 'c', 'e', 0x63, 'a', '/', 'b', 0xff, 0x00, 0x80}
			req := newRequest(t, http.MethodPost, base+"/service/GraniteServiceVersion20100801/operation/PutMetricData", body)
			req.Header.Set("Smithy-Protocol", "rpc-v2-cbor")
			req.Header.Set("Content-Type", "application/cbor")
			req.Header.Set("Accept", "application/cbor")
			return req, body
		}},
		{"gzip rpcv2Cbor POST", "monitoring", staticCreds, func(t *testing.T, base string) (*http.Request, []byte) {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			zw.Write(bytes.Repeat([]byte("metric data "), 2000))
			zw.Close()
			body := buf.Bytes()
			req := newRequest(t, http.MethodPost, base+"/service/GraniteServiceVersion20100801/operation/PutMetricData", body)
			req.Header.Set("Smithy-Protocol", "rpc-v2-cbor")
			req.Header.Set("Content-Type", "application/cbor")
			req.Header.Set("Content-Encoding", "gzip")
			return req, body
		}},
		{"path needing encoding", "execute-api", staticCreds, func(t *testing.T, base string) (*http.Request, []byte) {
			return newRequest(t, http.MethodGet, base+"/a%20b/c%2Fd/%E2%82%AC/~x/", nil), nil
		}},
		{"messy header values", "ecs", staticCreds, func(t *testing.T, base string) (*http.Request, []byte) {
			body := []byte(`{}`)
			req := newRequest(t, http.MethodPost, base+"/", body)
			req.Header.Set("X-Amz-Target", "AmazonEC2ContainerServiceV20141113.ListClusters")
			req.Header.Set("X-Amz-Meta-Note", "  spaced   out\tvalue  ")
			req.Header.Add("X-Multi", "one")
			req.Header.Add("X-Multi", " two  too ")
			return req, body
		}},
		{"temporary credentials", "logs", tempCreds, func(t *testing.T, base string) (*http.Request, []byte) {
			body := []byte(`{"logGroupNamePrefix":"/ecs/"}`)
			req := newRequest(t, http.MethodPost, base+"/", body)
			req.Header.Set("Content-Type", "application/x-amz-json-1.1")
			req.Header.Set("X-Amz-Target", "Logs_20140328.DescribeLogGroups")
			return req, body
		}},
		{"GET without body or query", "sts", staticCreds, func(t *testing.T, base string) (*http.Request, []byte) {
			return newRequest(t, http.MethodGet, base, nil), nil
		}},
	}
}

func TestVerifySDKSignedRequests(t *testing.T) {
	srv := newCapture(t)
	for _, tc := range sdkCases() {
		t.Run(tc.name, func(t *testing.T) {
			req, body := tc.build(t, srv.URL)
			signHeader(t, req, body, tc.creds, tc.service, "eu-west-3", signTime)
			sr, sbody := srv.send(t, req)

			res, err := verifierAt(signTime.Add(2*time.Minute)).Verify(context.Background(), sr, sbody)
			if err != nil {
				var se *sigv4.Error
				if errors.As(err, &se) {
					t.Logf("detail:\n%s", se.Detail)
				}
				t.Fatalf("Verify: %v", err)
			}
			if res.Service != tc.service || res.Region != "eu-west-3" || res.Presigned || !res.SigningTime.Equal(signTime) {
				t.Errorf("result = %+v", res)
			}
			if res.Credential.AccessKeyID != tc.creds.AccessKeyID {
				t.Errorf("credential = %q, want %q", res.Credential.AccessKeyID, tc.creds.AccessKeyID)
			}
			if err := res.CheckService(tc.service); err != nil {
				t.Errorf("CheckService: %v", err)
			}
			wantKind(t, res.CheckService("other"), sigv4.InvalidSignature)
		})
	}
}

// TestVerifyOverWire runs the same requests through http.ReadRequest (the
// server's parser) instead of a socket.
func TestVerifyOverWire(t *testing.T) {
	for _, tc := range sdkCases() {
		t.Run(tc.name, func(t *testing.T) {
			req, body := tc.build(t, "http://wharf.internal:4566")
			signHeader(t, req, body, tc.creds, tc.service, "us-east-1", signTime)
			sr, sbody := overWire(t, req)
			if _, err := verifierAt(signTime).Verify(context.Background(), sr, sbody); err != nil {
				t.Fatalf("Verify: %v", err)
			}
		})
	}
}

func TestVerifyResultSubject(t *testing.T) {
	req, body := sdkCases()[0].build(t, "http://localhost:4566")
	signHeader(t, req, body, staticCreds, "ecs", "us-east-1", signTime)
	sr, sbody := overWire(t, req)
	res, err := verifierAt(signTime).Verify(context.Background(), sr, sbody)
	if err != nil {
		t.Fatal(err)
	}
	if res.Credential.Subject != alice {
		t.Errorf("Subject = %v, want alice", res.Credential.Subject)
	}
}

// signedJSON returns a server-side view of a signed awsJson request, after
// tamper has modified the client request following signing.
func signedJSON(t *testing.T, creds aws.Credentials, at time.Time, tamper func(*http.Request, []byte) []byte) (*http.Request, []byte) {
	t.Helper()
	body := []byte(`{"cluster":"default","services":["web"]}`)
	req := newRequest(t, http.MethodPost, "http://127.0.0.1:4566/", body)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "AmazonEC2ContainerServiceV20141113.DescribeServices")
	signHeader(t, req, body, creds, "ecs", "us-east-1", at)
	if tamper != nil {
		if nb := tamper(req, body); nb != nil {
			req.Body, req.ContentLength = ioNopCloser(nb), int64(len(nb))
		}
	}
	return overWire(t, req)
}

func TestVerifyTampered(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name   string
		creds  aws.Credentials
		tamper func(*http.Request, []byte) []byte
		v      *sigv4.Verifier
		want   sigv4.Kind
		msg    string
	}{
		{name: "body byte", tamper: func(_ *http.Request, b []byte) []byte {
			nb := bytes.Clone(b)
			nb[3] ^= 0x20
			return nb
		}, want: sigv4.InvalidSignature, msg: "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."},
		{name: "signed header value", tamper: func(r *http.Request, _ []byte) []byte {
			r.Header.Set("X-Amz-Target", "AmazonEC2ContainerServiceV20141113.DeleteService")
			return nil
		}, want: sigv4.InvalidSignature},
		{name: "host", tamper: func(r *http.Request, _ []byte) []byte {
			r.Host = "127.0.0.1:4567"
			return nil
		}, want: sigv4.InvalidSignature},
		{name: "method", tamper: func(r *http.Request, _ []byte) []byte {
			r.Method = http.MethodPut
			return nil
		}, want: sigv4.InvalidSignature},
		{name: "query added", tamper: func(r *http.Request, _ []byte) []byte {
			r.URL.RawQuery = "x=1"
			return nil
		}, want: sigv4.InvalidSignature},
		{name: "signature digit", tamper: func(r *http.Request, _ []byte) []byte {
			a := r.Header.Get("Authorization")
			last := a[len(a)-1]
			last = map[bool]byte{true: '1', false: '0'}[last == '0']
			r.Header.Set("Authorization", a[:len(a)-1]+string(last))
			return nil
		}, want: sigv4.InvalidSignature},
		{name: "signature not hex", tamper: func(r *http.Request, _ []byte) []byte {
			a := r.Header.Get("Authorization")
			r.Header.Set("Authorization", a[:len(a)-1]+"g")
			return nil
		}, want: sigv4.InvalidSignature},
		{name: "x-amz-date one second later", tamper: func(r *http.Request, _ []byte) []byte {
			r.Header.Set("X-Amz-Date", "20260101T001001Z")
			return nil
		}, want: sigv4.InvalidSignature},
		{name: "x-amz-date on another day", tamper: func(r *http.Request, _ []byte) []byte {
			r.Header.Set("X-Amz-Date", "20251231T235959Z")
			return nil
		}, want: sigv4.InvalidSignature, msg: "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20260101' != '20251231', from '20251231T235959Z'."},
		{name: "wrong secret", creds: aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: "not-the-secret"},
			want: sigv4.InvalidSignature},
		{name: "unknown access key", creds: aws.Credentials{AccessKeyID: "AKIANOBODY", SecretAccessKey: testSecret},
			want: sigv4.UnknownClientToken, msg: "The security token included in the request is invalid."},
		{name: "six minutes late", v: verifierAt(signTime.Add(6 * time.Minute)),
			want: sigv4.RequestExpired, msg: "Signature expired: 20260101T001000Z is now earlier than 20260101T001100Z (20260101T001600Z - 5 min.)"},
		{name: "six minutes early", v: verifierAt(signTime.Add(-6 * time.Minute)),
			want: sigv4.RequestExpired, msg: "Signature not yet current: 20260101T001000Z is still later than 20260101T000900Z (20260101T000400Z + 5 min.)"},
		{name: "custom skew", v: &sigv4.Verifier{Source: testSource(), MaxSkew: 15 * time.Minute, Now: func() time.Time { return signTime.Add(16 * time.Minute) }},
			want: sigv4.RequestExpired, msg: "Signature expired: 20260101T001000Z is now earlier than 20260101T001100Z (20260101T002600Z - 15 min.)"},
		{name: "session token missing", creds: aws.Credentials{AccessKeyID: tempAKID, SecretAccessKey: tempSecret},
			want: sigv4.UnknownClientToken, msg: "The security token included in the request is invalid."},
		{name: "session token stripped", creds: tempCreds, tamper: func(r *http.Request, _ []byte) []byte {
			r.Header.Del("X-Amz-Security-Token")
			return nil
		}, want: sigv4.UnknownClientToken},
		{name: "session token mismatched", creds: aws.Credentials{AccessKeyID: tempAKID, SecretAccessKey: tempSecret, SessionToken: tempToken + "x"},
			want: sigv4.UnknownClientToken},
		{name: "session token on long-term key", creds: aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret, SessionToken: "tok"},
			want: sigv4.UnknownClientToken},
		{name: "hour-old request with expired credentials reports the skew", creds: tempCreds, v: verifierAt(signTime.Add(time.Hour)),
			want: sigv4.RequestExpired},
		{name: "content sha256 mismatch", tamper: func(r *http.Request, _ []byte) []byte {
			r.Header.Set("X-Amz-Content-Sha256", hexSHA256([]byte("other")))
			return nil
		}, want: sigv4.InvalidSignature, msg: "The provided 'x-amz-content-sha256' header does not match what was computed."},
		{name: "host not signed", tamper: func(r *http.Request, _ []byte) []byte {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "host;", "", 1))
			return nil
		}, want: sigv4.IncompleteSignature, msg: "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."},
		{name: "presign parameters as well", tamper: func(r *http.Request, _ []byte) []byte {
			r.URL.RawQuery = "X-Amz-Algorithm=AWS4-HMAC-SHA256"
			return nil
		}, want: sigv4.IncompleteSignature},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			creds := tc.creds
			if creds.AccessKeyID == "" {
				creds = staticCreds
			}
			v := tc.v
			if v == nil {
				v = verifierAt(signTime)
			}
			sr, body := signedJSON(t, creds, signTime, tc.tamper)
			_, err := v.Verify(ctx, sr, body)
			se := wantKind(t, err, tc.want)
			if tc.msg != "" && se.Message != tc.msg {
				t.Errorf("message = %q\nwant      %q", se.Message, tc.msg)
			}
			if tc.want == sigv4.UnknownClientToken && tc.name == "unknown access key" && !errors.Is(err, sigv4.ErrUnknownAccessKey) {
				t.Errorf("errors.Is(err, ErrUnknownAccessKey) = false")
			}
		})
	}
}

func TestVerifyExpiredToken(t *testing.T) {
	src := testSource()
	c := src[tempAKID]
	c.Expiration = signTime.Add(-time.Second)
	src[tempAKID] = c
	v := &sigv4.Verifier{Source: src, Now: func() time.Time { return signTime }}
	sr, body := signedJSON(t, tempCreds, signTime, nil)
	_, err := v.Verify(context.Background(), sr, body)
	se := wantKind(t, err, sigv4.ExpiredToken)
	if se.Message != "The security token included in the request is expired" {
		t.Errorf("message = %q", se.Message)
	}

	// Still valid one second before expiry.
	c.Expiration = signTime.Add(time.Second)
	src[tempAKID] = c
	if _, err := v.Verify(context.Background(), sr, body); err != nil {
		t.Errorf("Verify before expiry: %v", err)
	}
}

func TestVerifyWithinSkew(t *testing.T) {
	sr, body := signedJSON(t, staticCreds, signTime, nil)
	for _, d := range []time.Duration{-5 * time.Minute, -time.Second, 0, 4*time.Minute + 59*time.Second, 5 * time.Minute} {
		if _, err := verifierAt(signTime.Add(d)).Verify(context.Background(), sr, body); err != nil {
			t.Errorf("now = sign time %+v: %v", d, err)
		}
	}
}

func TestVerifyDeclaredContentSHA256(t *testing.T) {
	body := []byte(`{"a":1}`)
	// A declared digest that matches the body is what the client signed,
	// as written.
	for _, declared := range []string{hexSHA256(body), strings.ToUpper(hexSHA256(body))} {
		req := newRequest(t, http.MethodPost, "http://localhost/", body)
		req.Header.Set("X-Amz-Content-Sha256", declared)
		if err := v4Signer().SignHTTP(context.Background(), staticCreds, req, declared, "ssm", "us-east-1", signTime); err != nil {
			t.Fatal(err)
		}
		sr, sbody := overWire(t, req)
		if _, err := verifierAt(signTime).Verify(context.Background(), sr, sbody); err != nil {
			t.Errorf("declared %s: %v", declared, err)
		}
	}

	// Header auth may not skip the body: UNSIGNED-PAYLOAD is refused.
	req := newRequest(t, http.MethodPost, "http://localhost/", body)
	req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	if err := v4Signer().SignHTTP(context.Background(), staticCreds, req, "UNSIGNED-PAYLOAD", "ssm", "us-east-1", signTime); err != nil {
		t.Fatal(err)
	}
	sr, sbody := overWire(t, req)
	_, err := verifierAt(signTime).Verify(context.Background(), sr, sbody)
	wantKind(t, err, sigv4.InvalidSignature)
}

func TestVerifySourceFailure(t *testing.T) {
	boom := errors.New("database is on fire")
	v := &sigv4.Verifier{
		Source: sourceFunc(func(context.Context, string) (sigv4.Credential, error) { return sigv4.Credential{}, boom }),
		Now:    func() time.Time { return signTime },
	}
	sr, body := signedJSON(t, staticCreds, signTime, nil)
	_, err := v.Verify(context.Background(), sr, body)
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want %v", err, boom)
	}
	if _, ok := sigv4.KindOf(err); ok {
		t.Errorf("a source failure must not be a *sigv4.Error")
	}

	// Wrapped ErrUnknownAccessKey is recognised.
	v.Source = sourceFunc(func(_ context.Context, id string) (sigv4.Credential, error) {
		return sigv4.Credential{}, errors.Join(errors.New("no key "+id), sigv4.ErrUnknownAccessKey)
	})
	_, err = v.Verify(context.Background(), sr, body)
	wantKind(t, err, sigv4.UnknownClientToken)

	if _, err := (&sigv4.Verifier{}).Verify(context.Background(), sr, body); err == nil {
		t.Errorf("Verify without Source succeeded")
	}
}

func TestVerifyMalformedHeaderAuth(t *testing.T) {
	const cred = "Credential=" + testAKID + "/20260101/us-east-1/iam/aws4_request"
	const sig = "Signature=" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	cases := []struct {
		name    string
		authz   *string
		amzDate string
		want    sigv4.Kind
		msg     string
	}{
		{name: "no auth at all", want: sigv4.MissingAuth, msg: "Request is missing Authentication Token"},
		{name: "bearer token", authz: ptr("Bearer token"), amzDate: "20260101T001000Z", want: sigv4.IncompleteSignature,
			msg: "'token' not a valid key=value pair (missing equal-sign) in Authorization header: 'Bearer token'."},
		{name: "basic auth", authz: ptr("Basic Zm9vOmJhcg=="), want: sigv4.IncompleteSignature,
			msg: "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=Basic Zm9vOmJhcg=="},
		{name: "empty header", authz: ptr(""), amzDate: "20260101T001000Z", want: sigv4.IncompleteSignature,
			msg: "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization="},
		{name: "credential only, no date", authz: ptr("AWS4-HMAC-SHA256 " + cred), want: sigv4.IncompleteSignature,
			msg: "Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=AWS4-HMAC-SHA256 " + cred},
		{name: "no signature", authz: ptr("AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host;x-amz-date"), amzDate: "20260101T001000Z", want: sigv4.IncompleteSignature,
			msg: "Authorization header requires 'Signature' parameter. Authorization=AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host;x-amz-date"},
		{name: "other algorithm", authz: ptr("AWS4-HMAC-SHA512 " + cred + ", SignedHeaders=host, " + sig), amzDate: "20260101T001000Z",
			want: sigv4.IncompleteSignature, msg: "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512'"},
		{name: "four-part credential", authz: ptr("AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/iam, SignedHeaders=host, " + sig), amzDate: "20260101T001000Z",
			want: sigv4.IncompleteSignature, msg: "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got 'AKID/20260101/us-east-1/iam'"},
		{name: "six-part credential", authz: ptr("AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/iam/aws4_request/x, SignedHeaders=host, " + sig), amzDate: "20260101T001000Z",
			want: sigv4.IncompleteSignature},
		{name: "bad terminator", authz: ptr("AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/iam/aws5_request, SignedHeaders=host, " + sig), amzDate: "20260101T001000Z",
			want: sigv4.IncompleteSignature, msg: "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'."},
		{name: "bad date", authz: ptr("AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host, " + sig), amzDate: "2026-01-01T00:10:00Z",
			want: sigv4.IncompleteSignature, msg: "Date must be in ISO-8601 'basic format'. Got '2026-01-01T00:10:00Z'. See http://en.wikipedia.org/wiki/ISO_8601"},
		{name: "impossible date", authz: ptr("AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host, " + sig), amzDate: "20260231T001000Z",
			want: sigv4.IncompleteSignature},
		{name: "well formed but wrong", authz: ptr("AWS4-HMAC-SHA256 " + cred + ",SignedHeaders=host;x-amz-date," + sig), amzDate: "20260101T001000Z",
			want: sigv4.InvalidSignature},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := newRequest(t, http.MethodPost, "http://localhost/", nil)
			if tc.authz != nil {
				req.Header.Set("Authorization", *tc.authz)
			}
			if tc.amzDate != "" {
				req.Header.Set("X-Amz-Date", tc.amzDate)
			}
			sr, body := overWire(t, req)
			_, err := verifierAt(signTime).Verify(context.Background(), sr, body)
			se := wantKind(t, err, tc.want)
			if tc.msg != "" && se.Message != tc.msg {
				t.Errorf("message = %q\nwant      %q", se.Message, tc.msg)
			}
		})
	}
}

func TestVerifyConcurrent(t *testing.T) {
	type job struct {
		req  *http.Request
		body []byte
	}
	var jobs []job
	for i, creds := range []aws.Credentials{staticCreds, tempCreds} {
		for _, region := range []string{"us-east-1", "eu-central-1", "ap-south-2"} {
			req, body := sdkCases()[i].build(t, "http://localhost:4566")
			signHeader(t, req, body, creds, "ecs", region, signTime)
			sr, sbody := overWire(t, req)
			jobs = append(jobs, job{sr, sbody})
		}
	}
	v := verifierAt(signTime)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Go(func() {
			for i := 0; i < 200; i++ {
				j := jobs[(g+i)%len(jobs)]
				if _, err := v.Verify(context.Background(), j.req, j.body); err != nil {
					t.Errorf("Verify: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func ptr[T any](v T) *T { return &v }

type sourceFunc func(context.Context, string) (sigv4.Credential, error)

func (f sourceFunc) LookupAccessKey(ctx context.Context, id string) (sigv4.Credential, error) {
	return f(ctx, id)
}
