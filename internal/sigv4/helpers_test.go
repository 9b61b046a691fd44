package sigv4_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/wharfhq/wharf/internal/sigv4"
)

const (
	testAKID   = "AKIAWHARFEXAMPLE0001"
	testSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	tempAKID   = "ASIAWHARFEXAMPLE0002"
	tempSecret = "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY"
	tempToken  = "IQoJb3JpZ2luX2VjEXAMPLE//+token/with=odd+chars=="
)

// signTime is when the test requests are signed.
var signTime = time.Date(2026, 1, 1, 0, 10, 0, 0, time.UTC)

type subject struct{ name string }

var (
	staticCreds = aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret}
	tempCreds   = aws.Credentials{AccessKeyID: tempAKID, SecretAccessKey: tempSecret, SessionToken: tempToken}
	alice       = &subject{"alice"}
	bob         = &subject{"bob"}
)

func testSource() sigv4.StaticSource {
	return sigv4.StaticSource{
		testAKID: {AccessKeyID: testAKID, SecretAccessKey: testSecret, Subject: alice},
		tempAKID: {AccessKeyID: tempAKID, SecretAccessKey: tempSecret, SessionToken: tempToken,
			Expiration: signTime.Add(time.Hour), Subject: bob},
	}
}

func verifierAt(now time.Time) *sigv4.Verifier {
	return &sigv4.Verifier{Source: testSource(), Now: func() time.Time { return now }}
}

func hexSHA256(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// signHeader signs req in place the way aws-sdk-go-v2 service clients do:
// header auth over the SHA-256 of the body.
func signHeader(t testing.TB, req *http.Request, body []byte, creds aws.Credentials, service, region string, at time.Time) {
	t.Helper()
	err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hexSHA256(body), service, region, at)
	if err != nil {
		t.Fatalf("SignHTTP: %v", err)
	}
}

// presign returns a copy of req signed in its query string.
func presign(t testing.TB, req *http.Request, payloadHash string, creds aws.Credentials, service, region string, at time.Time) *http.Request {
	t.Helper()
	uri, hdr, err := v4.NewSigner().PresignHTTP(context.Background(), creds, req, payloadHash, service, region, at)
	if err != nil {
		t.Fatalf("PresignHTTP: %v", err)
	}
	out := req.Clone(context.Background())
	if out.URL, err = out.URL.Parse(uri); err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		if k != "Host" {
			out.Header[k] = v
		}
	}
	if req.GetBody != nil {
		out.Body, _ = req.GetBody()
	}
	return out
}

// capture is a real HTTP server on the loopback interface that hands each
// request it receives, as net/http parsed it, back to the test.
type capture struct {
	*httptest.Server
	got chan captured
}

type captured struct {
	req  *http.Request
	body []byte
}

func newCapture(t testing.TB) *capture {
	c := &capture{got: make(chan captured, 8)}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		select {
		case c.got <- captured{r.Clone(context.Background()), body}:
		default: // nobody is listening for more
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(c.Close)
	return c
}

// send sends req to the capture server and returns what the server saw.
func (c *capture) send(t testing.TB, req *http.Request) (*http.Request, []byte) {
	t.Helper()
	resp, err := c.Client().Do(req)
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("send: status %d", resp.StatusCode)
	}
	got := <-c.got
	return got.req, got.body
}

// overWire serializes req as a client would and parses it back with the
// parser net/http's server uses, without a network.
func overWire(t testing.TB, req *http.Request) (*http.Request, []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := req.Write(&buf); err != nil {
		t.Fatal(err)
	}
	sr, err := http.ReadRequest(bufio.NewReader(&buf))
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(sr.Body)
	if err != nil {
		t.Fatal(err)
	}
	return sr, body
}

func wantKind(t testing.TB, err error, want sigv4.Kind) *sigv4.Error {
	t.Helper()
	var se *sigv4.Error
	if !errors.As(err, &se) {
		t.Fatalf("err = %v, want *sigv4.Error of kind %v", err, want)
	}
	if se.Kind != want {
		t.Fatalf("kind = %v (%q), want %v", se.Kind, se.Message, want)
	}
	return se
}

func newRequest(t testing.TB, method, url string, body []byte) *http.Request {
	t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func ioNopCloser(b []byte) io.ReadCloser { return io.NopCloser(bytes.NewReader(b)) }

func v4Signer() *v4.Signer { return v4.NewSigner() }

// readerOrNil keeps a nil *bytes.Reader from becoming a non-nil io.Reader.
func readerOrNil(r *bytes.Reader) io.Reader {
	if r == nil {
		return nil
	}
	return r
}
