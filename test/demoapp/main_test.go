package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/wharfhq/wharf/internal/agent/endpoint"
	"github.com/wharfhq/wharf/internal/agentproto"
	"github.com/wharfhq/wharf/internal/wharftest"
)

func TestParse(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want options
	}{
		{nil, nil, options{port: "8080"}},
		{nil, map[string]string{"PORT": "9000", "EXIT_CODE": "3", "EXIT_AFTER": "1.5", "IGNORE_SIGTERM": "1"},
			options{port: "9000", exitCode: 3, exitAfter: 1500 * time.Millisecond, ignoreSigterm: true}},
		{[]string{"-port", "7000", "-exit-code", "4", "-exit-after", "2s"}, map[string]string{"PORT": "9000", "EXIT_CODE": "3", "EXIT_AFTER": "9"},
			options{port: "7000", exitCode: 4, exitAfter: 2 * time.Second}},
		{nil, map[string]string{"EXIT_CODE": "5"}, options{port: "8080", exitCode: 5, exitAfter: time.Nanosecond}},
		{nil, map[string]string{"EXIT_AFTER": "10s"}, options{port: "8080", exitAfter: 10 * time.Second}},
	} {
		got, err := parse(tc.args, env(tc.env))
		if err != nil || got != tc.want {
			t.Errorf("parse(%v, %v) = %+v, %v; want %+v", tc.args, tc.env, got, err, tc.want)
		}
	}
	for _, env := range []map[string]string{{"EXIT_CODE": "x"}, {"EXIT_AFTER": "soon"}, {"EXIT_AFTER": "-1s"}} {
		if _, err := parse(nil, func(k string) string { return env[k] }); err == nil {
			t.Errorf("parse(%v) = nil error", env)
		}
	}
}

// fetch GETs url and returns status and body.
func fetch(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestHandlers(t *testing.T) {
	unhealthyFile = filepath.Join(t.TempDir(), "unhealthy")
	exitNow := make(chan int, 1)
	srv := httptest.NewServer(newHandler(exitNow))
	defer srv.Close()

	host, _ := os.Hostname()
	if code, body := fetch(t, srv.URL+"/"); code != 200 || body != "hello from wharf demo "+host+"\n" {
		t.Errorf("/ = %d %q", code, body)
	}
	if code, _ := fetch(t, srv.URL+"/nothing"); code != 404 {
		t.Errorf("/nothing = %d, want 404", code)
	}
	if code, _ := fetch(t, srv.URL+"/healthz"); code != 200 {
		t.Errorf("/healthz = %d, want 200", code)
	}
	if err := os.WriteFile(unhealthyFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _ := fetch(t, srv.URL+"/healthz"); code != 500 {
		t.Errorf("/healthz with %s = %d, want 500", unhealthyFile, code)
	}
	os.Remove(unhealthyFile)
	t.Setenv("UNHEALTHY", "1")
	if code, _ := fetch(t, srv.URL+"/healthz"); code != 500 {
		t.Errorf("/healthz with UNHEALTHY=1 = %d, want 500", code)
	}

	peer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
		fmt.Fprint(w, "peer says "+r.URL.Path)
	}))
	defer peer.Close()
	if code, body := fetch(t, srv.URL+"/get?url="+peer.URL+"/x"); code != 418 || body != "peer says /x" {
		t.Errorf("/get = %d %q, want the peer's 418", code, body)
	}
	for _, bad := range []string{"", "ftp://x/", "/relative"} {
		if code, _ := fetch(t, srv.URL+"/get?url="+bad); code != 400 {
			t.Errorf("/get?url=%s = %d, want 400", bad, code)
		}
	}
	dead, _ := net.Listen("tcp", "127.0.0.1:0")
	deadURL := "http://" + dead.Addr().String() + "/"
	dead.Close()
	if code, _ := fetch(t, srv.URL+"/get?url="+deadURL); code != 502 {
		t.Errorf("/get of a closed port = %d, want 502", code)
	}

	if code, _ := fetch(t, srv.URL+"/exit?code=x"); code != 400 {
		t.Errorf("/exit?code=x = %d, want 400", code)
	}
	if code, _ := fetch(t, srv.URL+"/exit?code=7"); code != 200 || <-exitNow != 7 {
		t.Errorf("/exit?code=7 = %d", code)
	}
}

// TestMetadataAndWhoami runs the demo's /metadata and /whoami against the
// real task metadata endpoint and a real Wharf: the credentials come from
// an assumed role, served by the credentials endpoint, found by the SDK's
// default chain through AWS_CONTAINER_CREDENTIALS_FULL_URI.
func TestMetadataAndWhoami(t *testing.T) {
	wharf := wharftest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	root := iam.NewFromConfig(wharf.Root())
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + wharf.Info.Account + `:root"},"Action":"sts:AssumeRole"}]}`
	role, err := root.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("demo-task"), AssumeRolePolicyDocument: aws.String(trust)})
	if err != nil {
		t.Fatal(err)
	}
	assumed, err := sts.NewFromConfig(wharf.Root()).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: role.Role.Arn, RoleSessionName: aws.String("task-1")})
	if err != nil {
		t.Fatal(err)
	}

	ep := endpoint.New(endpoint.Config{Addr: "127.0.0.1:0"})
	if err := ep.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer ep.Stop(context.Background())
	containerID, credID := endpoint.NewID(), endpoint.NewID()
	if err := ep.Register(endpoint.Task{
		Cluster: "default", TaskARN: "arn:aws:ecs:us-east-1:" + wharf.Info.Account + ":task/default/t1", Family: "demo", Revision: "3",
		DesiredStatus: "RUNNING", KnownStatus: "RUNNING",
		Containers: []endpoint.Container{{EndpointID: containerID, Name: "web", DockerID: "abc", KnownStatus: "RUNNING", DesiredStatus: "RUNNING"}},
	}); err != nil {
		t.Fatal(err)
	}
	c := assumed.Credentials
	ep.SetCredentials(credID, agentproto.Credentials{
		RoleARN: aws.ToString(role.Role.Arn), AccessKeyID: aws.ToString(c.AccessKeyId), SecretAccessKey: aws.ToString(c.SecretAccessKey),
		SessionToken: aws.ToString(c.SessionToken), Expiration: aws.ToTime(c.Expiration),
	})

	dir := t.TempDir()
	env := map[string]string{
		"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "",
		"AWS_CONFIG_FILE": filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": wharf.URL, endpoint.EnvCredentialsRelativeURI: "",
	}
	for _, m := range []map[string]string{ep.MetadataEnv(containerID), ep.CredentialsEnv(credID)} {
		for k, v := range m {
			env[k] = v
		}
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	srv := httptest.NewServer(newHandler(make(chan int, 1)))
	defer srv.Close()

	code, body := fetch(t, srv.URL+"/metadata")
	var task struct {
		TaskARN, Family, Revision string
		Containers                []struct{ Name, DockerId string }
	}
	if err := json.Unmarshal([]byte(body), &task); code != 200 || err != nil || task.Family != "demo" || task.Revision != "3" ||
		len(task.Containers) != 1 || task.Containers[0].DockerId != "abc" {
		t.Errorf("/metadata = %d %s", code, body)
	}

	code, body = fetch(t, srv.URL+"/whoami")
	var who struct{ Arn, Account string }
	want := "arn:aws:sts::" + wharf.Info.Account + ":assumed-role/demo-task/task-1"
	if err := json.Unmarshal([]byte(body), &who); code != 200 || err != nil || who.Arn != want || who.Account != wharf.Info.Account {
		t.Errorf("/whoami = %d %s; want Arn %s", code, body, want)
	}

	// Without credentials the demo says why, as JSON, with a 502.
	ep.RemoveCredentials(credID)
	code, body = fetch(t, srv.URL+"/whoami")
	if code != 502 || !strings.Contains(body, `"error"`) {
		t.Errorf("/whoami without credentials = %d %s", code, body)
	}
	t.Setenv("ECS_CONTAINER_METADATA_URI_V4", "")
	if code, _ := fetch(t, srv.URL+"/metadata"); code != 404 {
		t.Errorf("/metadata without the variable = %d, want 404", code)
	}
}

// demoBinary builds the demo as internal/testimg does: static, no cgo.
func demoBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "demoapp")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startDemo runs the binary and waits for its first line ("listening" or
// "ignoring SIGTERM" when asked for).
func startDemo(t *testing.T, bin string, wait string, env ...string) (*exec.Cmd, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), append(env, "PORT="+port)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	lines := bufio.NewScanner(out)
	for lines.Scan() {
		if strings.Contains(lines.Text(), wait) {
			go func() { _, _ = io.Copy(io.Discard, out) }()
			return cmd, "http://127.0.0.1:" + port
		}
	}
	t.Fatalf("demoapp never printed %q", wait)
	return nil, ""
}

// exitStatus waits for cmd, at most 10 s, and returns its exit status.
func exitStatus(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(10 * time.Second):
		t.Fatal("demoapp did not exit")
		return -1
	}
}

func TestBinaryLifecycle(t *testing.T) {
	bin := demoBinary(t)

	cmd, _ := startDemo(t, bin, "listening", "EXIT_CODE=3", "EXIT_AFTER=0.2")
	if code := exitStatus(t, cmd); code != 3 {
		t.Errorf("EXIT_CODE=3: exit status %d", code)
	}

	cmd, url := startDemo(t, bin, "listening")
	if code, _ := fetch(t, url+"/healthz"); code != 200 {
		t.Errorf("/healthz = %d", code)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := exitStatus(t, cmd); code != 0 {
		t.Errorf("after SIGTERM: exit status %d, want 0", code)
	}

	// Told to ignore SIGTERM, it survives one (the kernel discards an
	// ignored signal when it is sent) and still answers; SIGINT ends it.
	cmd, url = startDemo(t, bin, "ignoring SIGTERM", "IGNORE_SIGTERM=1")
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code, _ := fetch(t, url+"/"); code != 200 {
		t.Errorf("after an ignored SIGTERM / = %d", code)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := exitStatus(t, cmd); code != 0 {
		t.Errorf("after SIGINT: exit status %d, want 0", code)
	}
}
