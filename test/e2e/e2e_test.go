// Package e2e runs the built wharf binary and drives it with the clients
// users have: Debian's aws CLI v2 (/usr/bin/aws) and python3-boto3.
// scripts/test installs both.
package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	awsCLI  = "/usr/bin/aws"
	python3 = "/usr/bin/python3"
)

// wharf is a running `wharf up` process.
type wharf struct {
	t       testing.TB
	dataDir string
	addr    string
	cmd     *exec.Cmd
	out     *bytes.Buffer
}

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "wharf-e2e-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "wharf")
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	build := exec.Command("go", "build", "-o", binary, "./cmd/wharf")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build wharf: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func freeAddr(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func startWharf(t testing.TB, env ...string) *wharf {
	t.Helper()
	return startWharfArgs(t, nil, env...)
}

// startWharfArgs is startWharf with more `wharf up` flags.
func startWharfArgs(t testing.TB, args []string, env ...string) *wharf {
	t.Helper()
	w := &wharf{t: t, dataDir: t.TempDir(), addr: freeAddr(t), out: &bytes.Buffer{}}
	w.cmd = exec.Command(binary, append([]string{"up", "--data-dir", w.dataDir, "--listen", w.addr}, args...)...)
	w.cmd.Env = append(os.Environ(), env...)
	w.cmd.Stdout, w.cmd.Stderr = w.out, w.out
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = w.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- w.cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("wharf exited with %v after SIGTERM\n%s", err, w.out)
			}
		case <-time.After(15 * time.Second):
			_ = w.cmd.Process.Kill()
			t.Errorf("wharf did not stop within 15s of SIGTERM")
		}
	})
	w.waitHealthy()
	return w
}

// env is the environment for a client using the data dir's shared files.
func (w *wharf) env(extra ...string) []string {
	base := []string{
		"PATH=/usr/bin:/bin",
		"HOME=" + w.dataDir,
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(w.dataDir, "credentials"),
		"AWS_CONFIG_FILE=" + filepath.Join(w.dataDir, "config"),
		"AWS_ENDPOINT_URL=http://" + w.addr,
		"AWS_PAGER=",
	}
	return append(base, extra...)
}

type result struct {
	stdout, stderr string
	code           int
}

// aws runs the Debian CLI v2 against this wharf.
func (w *wharf) aws(env []string, args ...string) result {
	w.t.Helper()
	if _, err := os.Stat(awsCLI); err != nil {
		w.t.Fatalf("%s is missing: run scripts/test, which installs Debian's awscli", awsCLI)
	}
	cmd := exec.Command(awsCLI, append([]string{"--endpoint-url", "http://" + w.addr, "--output", "json"}, args...)...)
	cmd.Env = env
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	r := result{stdout: so.String(), stderr: se.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		w.t.Fatal(err)
	}
	return r
}

func (w *wharf) mustAWS(env []string, out any, args ...string) {
	w.t.Helper()
	r := w.aws(env, args...)
	if r.code != 0 {
		w.t.Fatalf("aws %s: exit %d\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	if out != nil {
		if err := json.Unmarshal([]byte(r.stdout), out); err != nil {
			w.t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, r.stdout)
		}
	}
}

func (w *wharf) awsFails(env []string, wantCode string, args ...string) {
	w.t.Helper()
	r := w.aws(env, args...)
	if r.code == 0 {
		w.t.Fatalf("aws %s succeeded, want %s", strings.Join(args, " "), wantCode)
	}
	if !strings.Contains(r.stderr, "("+wantCode+")") {
		w.t.Fatalf("aws %s: want error (%s), got:\n%s", strings.Join(args, " "), wantCode, r.stderr)
	}
}

func TestAWSCLIFoundation(t *testing.T) {
	w := startWharf(t)
	env := w.env()

	var id struct{ Account, Arn, UserId string }
	w.mustAWS(env, &id, "sts", "get-caller-identity")
	if len(id.Account) != 12 || id.Arn != "arn:aws:iam::"+id.Account+":root" {
		t.Fatalf("get-caller-identity: %+v", id)
	}

	w.mustAWS(env, nil, "iam", "create-user", "--user-name", "ci-bot")
	var key struct {
		AccessKey struct{ AccessKeyId, SecretAccessKey string }
	}
	w.mustAWS(env, &key, "iam", "create-access-key", "--user-name", "ci-bot")
	bot := []string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir(), "AWS_ACCESS_KEY_ID=" + key.AccessKey.AccessKeyId,
		"AWS_SECRET_ACCESS_KEY=" + key.AccessKey.SecretAccessKey, "AWS_DEFAULT_REGION=us-east-1", "AWS_PAGER="}

	w.awsFails(bot, "AccessDenied", "iam", "create-user", "--user-name", "other")
	w.mustAWS(env, nil, "iam", "put-user-policy", "--user-name", "ci-bot", "--policy-name", "make-users",
		"--policy-document", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:CreateUser","Resource":"*"}]}`)
	w.mustAWS(bot, nil, "iam", "create-user", "--user-name", "other")

	var pol struct{ PolicyDocument map[string]any }
	w.mustAWS(env, &pol, "iam", "get-user-policy", "--user-name", "ci-bot", "--policy-name", "make-users")
	if pol.PolicyDocument["Version"] != "2012-10-17" {
		t.Fatalf("get-user-policy document: %+v", pol)
	}

	wrong := []string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir(), "AWS_ACCESS_KEY_ID=" + key.AccessKey.AccessKeyId,
		"AWS_SECRET_ACCESS_KEY=not-the-secret", "AWS_DEFAULT_REGION=us-east-1"}
	w.awsFails(wrong, "SignatureDoesNotMatch", "sts", "get-caller-identity")
	unknown := []string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir(), "AWS_ACCESS_KEY_ID=AKIAIDONOTEXIST00000",
		"AWS_SECRET_ACCESS_KEY=whatever", "AWS_DEFAULT_REGION=us-east-1"}
	w.awsFails(unknown, "InvalidClientTokenId", "sts", "get-caller-identity")
	w.awsFails(unknown, "UnrecognizedClientException", "cloudtrail", "lookup-events")
	unsigned := []string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir(), "AWS_DEFAULT_REGION=us-east-1"}
	w.awsFails(unsigned, "MissingAuthenticationToken", "sts", "get-caller-identity", "--no-sign-request")

	// The model's validation: a user name the pattern refuses.
	w.awsFails(env, "ValidationError", "iam", "create-user", "--user-name", "bad name!")

	// The audit trail saw it all.
	// The audit log is written in batches (every 100 ms): poll briefly.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var ev struct {
			Events []struct{ EventName, Username string }
		}
		w.mustAWS(env, &ev, "cloudtrail", "lookup-events", "--lookup-attributes", "AttributeKey=EventName,AttributeValue=CreateUser")
		if len(ev.Events) >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("lookup-events CreateUser: %+v", ev)
		}
	}
}

func TestBoto3Foundation(t *testing.T) {
	if _, err := os.Stat(python3); err != nil {
		t.Fatalf("%s is missing: run scripts/test", python3)
	}
	w := startWharf(t)
	cmd := exec.Command(python3, "testdata/boto3_foundation.py", "http://"+w.addr)
	cmd.Env = w.env()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("boto3_foundation.py: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "boto3 foundation: ok") {
		t.Fatalf("unexpected output:\n%s", out)
	}
}

func TestExplicitRootKeyAndRestart(t *testing.T) {
	keyEnv := []string{"WHARF_ROOT_ACCESS_KEY_ID=AKIAWHARFTESTROOT001", "WHARF_ROOT_SECRET_ACCESS_KEY=s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3"}
	w := startWharf(t, keyEnv...)
	creds, err := os.ReadFile(filepath.Join(w.dataDir, "credentials"))
	if err != nil || !strings.Contains(string(creds), "aws_access_key_id = AKIAWHARFTESTROOT001") {
		t.Fatalf("credentials file: %v\n%s", err, creds)
	}
	var id struct{ Account string }
	w.mustAWS(w.env(), &id, "sts", "get-caller-identity")
	w.mustAWS(w.env(), nil, "iam", "create-user", "--user-name", "survivor")

	// Restart on the same data dir: same account, same users.
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	if err := w.cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, w.out)
	}
	w2 := &wharf{t: t, dataDir: w.dataDir, addr: w.addr, out: &bytes.Buffer{}}
	w2.cmd = exec.Command(binary, "up", "--data-dir", w.dataDir, "--listen", w.addr)
	w2.cmd.Env = append(os.Environ(), keyEnv...)
	w2.cmd.Stdout, w2.cmd.Stderr = w2.out, w2.out
	if err := w2.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.cmd = w2.cmd // cleanup stops the new process
	w.out = w2.out
	w.waitHealthy()
	var id2 struct{ Account string }
	w.mustAWS(w.env(), &id2, "sts", "get-caller-identity")
	if id2.Account != id.Account {
		t.Fatalf("account changed across restart: %s → %s", id.Account, id2.Account)
	}
	w.mustAWS(w.env(), nil, "iam", "get-user", "--user-name", "survivor")
}
