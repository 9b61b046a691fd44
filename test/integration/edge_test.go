package integration

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/wharfhq/wharf/internal/wharftest"
)

// signedDo sends body to the edge signed with the root key for service.
func signedDo(t *testing.T, env *wharftest.Env, service string, hdr map[string]string, body []byte) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, env.URL+"/", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	sum := sha256.Sum256(body)
	creds, _ := env.Root().Credentials.Retrieve(context.Background())
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), service, "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func jsonHeaders(target string) map[string]string {
	return map[string]string{"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target}
}

func TestEdgeErrors(t *testing.T) {
	env := wharftest.Start(t)
	cases := []struct {
		name     string
		service  string
		hdr      map[string]string
		body     string
		status   int
		contains string
	}{
		{"unknown JSON operation", "cloudtrail", jsonHeaders("CloudTrail_20131101.NoSuchThing"), `{}`, 400, `"__type":"UnknownOperationException"`},
		{"unknown JSON service", "cloudtrail", jsonHeaders("Nope_20200101.LookupEvents"), `{}`, 400, `UnknownOperationException`},
		{"malformed JSON", "cloudtrail", jsonHeaders("CloudTrail_20131101.LookupEvents"), `{"MaxResults": "ten"`, 400, `SerializationException`},
		{"wrong JSON type", "cloudtrail", jsonHeaders("CloudTrail_20131101.LookupEvents"), `{"MaxResults": "ten"}`, 400, `SerializationException`},
		{"model range over JSON", "cloudtrail", jsonHeaders("CloudTrail_20131101.LookupEvents"), `{"MaxResults": 500}`, 400, `Member must have value less than or equal to 50`},
		{"not implemented", "cloudtrail", jsonHeaders("CloudTrail_20131101.CreateTrail"), `{"Name":"t","S3BucketName":"b"}`, 501, `NotImplementedException`},
		{"unknown query action", "iam", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, "Action=Explode&Version=2010-05-08", 400, "<Code>InvalidAction</Code>"},
		{"query service mismatch", "sts", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, "Action=ListUsers&Version=2010-05-08", 403, "<Code>SignatureDoesNotMatch</Code>"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, _, body := signedDo(t, env, c.service, c.hdr, []byte(c.body))
			if status != c.status || !strings.Contains(body, c.contains) {
				t.Fatalf("got %d %s, want %d containing %q", status, body, c.status, c.contains)
			}
		})
	}
}

func TestEdgeGzipBody(t *testing.T) {
	env := wharftest.Start(t)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	io.WriteString(zw, "Action=ListUsers&Version=2010-05-08")
	zw.Close()
	hdr := map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Content-Encoding": "gzip"}
	status, _, body := signedDo(t, env, "iam", hdr, buf.Bytes())
	if status != 200 || !strings.Contains(body, "<ListUsersResponse") {
		t.Fatalf("gzip: %d %s", status, body)
	}
	status, _, body = signedDo(t, env, "iam", hdr, []byte("not gzip"))
	if status != 400 || !strings.Contains(body, "<Code>MalformedQueryString</Code>") {
		t.Fatalf("bad gzip: %d %s", status, body)
	}
}

func TestHealthAndMetrics(t *testing.T) {
	env := wharftest.Start(t)
	resp, err := http.Get(env.URL + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", err, resp)
	}
	resp.Body.Close()
	signedDo(t, env, "iam", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, []byte("Action=ListUsers&Version=2010-05-08"))
	resp, err = http.Get(env.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `wharf_api_requests_total{code="",operation="ListUsers",service="iam",status="200"} 1`) {
		t.Fatalf("metrics lack the ListUsers call:\n%s", b)
	}
	if !strings.Contains(string(b), "wharf_api_request_duration_seconds_bucket") {
		t.Fatal("metrics lack the latency histogram")
	}
}
