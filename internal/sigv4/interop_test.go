package sigv4_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/sigv4"
)

// TestBotocoreSignedRequests verifies requests signed by botocore, the
// signer of boto3 and the AWS CLI, sent to a real server. It is skipped
// where python3 with botocore is not installed.
func TestBotocoreSignedRequests(t *testing.T) {
	if out, err := exec.Command("python3", "-c", "import botocore.auth").CombinedOutput(); err != nil {
		t.Skipf("python3 with botocore not available: %v %s", err, out)
	}
	srv := newCapture(t)
	out, err := exec.Command("python3", "testdata/botocore_sign.py", srv.URL).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("botocore_sign.py: %v\n%s", err, ee.Stderr)
		}
		t.Fatal(err)
	}
	var cases []struct {
		Name, Service, Method, URL, Body string
		Headers                          map[string]string
	}
	if err := json.Unmarshal(out, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatal("no cases")
	}
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			body, err := base64.StdEncoding.DecodeString(tc.Body)
			if err != nil {
				t.Fatal(err)
			}
			var rb *bytes.Reader
			if len(body) > 0 {
				rb = bytes.NewReader(body)
			}
			req, err := http.NewRequest(tc.Method, tc.URL, readerOrNil(rb))
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.Headers {
				req.Header.Set(k, v)
			}
			sr, sbody := srv.send(t, req)
			res, err := verifierAt(signTime).Verify(context.Background(), sr, sbody)
			if err != nil {
				var se *sigv4.Error
				if errors.As(err, &se) {
					t.Logf("detail:\n%s", se.Detail)
				}
				t.Fatalf("Verify: %v", err)
			}
			if res.Service != tc.Service || res.Region != "us-east-1" {
				t.Errorf("result = %+v", res)
			}
			if len(body) > 0 {
				// The body is covered.
				sbody[len(sbody)-1] ^= 1
				_, err = verifierAt(signTime).Verify(context.Background(), sr, sbody)
				wantKind(t, err, sigv4.InvalidSignature)
			}
		})
	}
}

// TestAWSCLISignedRequests runs the AWS CLI against a real server and
// verifies what it sent. It is skipped where the CLI is not installed. The
// CLI signs with the wall clock, so the Verifier uses it too.
func TestAWSCLISignedRequests(t *testing.T) {
	cli := "/usr/bin/aws" // Debian's AWS CLI v2; the one on PATH may be v1
	if _, err := os.Stat(cli); err != nil {
		if cli, err = exec.LookPath("aws"); err != nil {
			t.Skip("no AWS CLI installed")
		}
	}
	if testing.Short() {
		t.Skip("starts the AWS CLI")
	}
	srv := newCapture(t)
	home := t.TempDir()
	for _, args := range [][]string{
		{"sts", "get-caller-identity"},
		{"ecs", "list-clusters"},
		{"cloudwatch", "list-metrics", "--namespace", "AWS/ECS"},
	} {
		t.Run(strings.Join(args[:2], " "), func(t *testing.T) {
			cmd := exec.Command(cli, append(args, "--endpoint-url", srv.URL, "--region", "eu-west-1", "--no-cli-pager")...)
			cmd.Env = []string{
				"HOME=" + home, "PATH=" + os.Getenv("PATH"),
				"AWS_ACCESS_KEY_ID=" + tempAKID, "AWS_SECRET_ACCESS_KEY=" + tempSecret, "AWS_SESSION_TOKEN=" + tempToken,
				"AWS_CONFIG_FILE=" + home + "/none", "AWS_SHARED_CREDENTIALS_FILE=" + home + "/none",
				"AWS_MAX_ATTEMPTS=1", "AWS_EC2_METADATA_DISABLED=true",
			}
			out, _ := cmd.CombinedOutput() // the capture server's empty answer makes the CLI fail
			var got captured
			select {
			case got = <-srv.got:
			case <-time.After(30 * time.Second):
				t.Fatalf("the CLI sent nothing; it said:\n%s", out)
			}
			src := testSource()
			c := src[tempAKID]
			c.Expiration = time.Time{}
			src[tempAKID] = c
			v := &sigv4.Verifier{Source: src}
			res, err := v.Verify(context.Background(), got.req, got.body)
			if err != nil {
				var se *sigv4.Error
				if errors.As(err, &se) {
					t.Logf("detail:\n%s", se.Detail)
				}
				t.Fatalf("Verify: %v", err)
			}
			if res.Region != "eu-west-1" || res.Credential.Subject != bob {
				t.Errorf("result = %+v", res)
			}
			for len(srv.got) > 0 { // drop retries, if any
				<-srv.got
			}
		})
	}
}
