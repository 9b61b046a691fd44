package integration

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsecr "github.com/aws/aws-sdk-go-v2/service/ecr"

	"github.com/wharfhq/wharf/internal/wharftest"
)

// A blob pull is served zero-copy: the built binary, traced with strace
// while a client GETs a 24 MiB blob, sends the blob's bytes with
// sendfile(2) — which net/http does only when nothing between the
// listener and the registry handler hides the connection's io.ReaderFrom.
func TestRegistryPullUsesSendfile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the wharf binary")
	}
	if runtime.GOOS != "linux" {
		t.Skip("sendfile is checked on Linux")
	}
	straceBin, err := exec.LookPath("strace")
	if err != nil {
		t.Skip("strace is not installed")
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "wharf")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/wharfhq/wharf/cmd/wharf").CombinedOutput(); err != nil {
		t.Fatalf("build wharf: %v\n%s", err, out)
	}
	addr := freeAddr(t)
	p := startWharfProc(t, bin, filepath.Join(tmp, "data"), addr)
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(crashKeyID, crashSecret, ""),
		BaseEndpoint: aws.String("http://" + addr), RetryMaxAttempts: 1}
	ecrc := awsecr.NewFromConfig(cfg)
	e := &regEnv{Env: &wharftest.Env{URL: "http://" + addr}, host: addr, ecr: ecrc}
	e.password = ecrPassword(t, ecrc)
	if _, err := ecrc.CreateRepository(context.Background(), &awsecr.CreateRepositoryInput{RepositoryName: aws.String("zerocopy")}); err != nil {
		t.Fatal(err)
	}
	blob := randBytes(t, 24<<20)
	d := pushBlob(t, e, "zerocopy", blob)

	trace := filepath.Join(tmp, "trace")
	var stderr lockedBuffer // strace writes it while the test reads it
	st := exec.Command(straceBin, "-f", "-e", "trace=sendfile", "-o", trace, "-p", strconv.Itoa(p.cmd.Process.Pid))
	st.Stderr = &stderr
	if err := st.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			st.Process.Signal(syscall.SIGINT) // detaches from the server
			st.Wait()
		}
	}
	t.Cleanup(stop)
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(stderr.String(), "attached") {
		if time.Now().After(deadline) {
			t.Fatalf("strace did not attach: %s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}

	resp := e.do(t, "GET", "/v2/zerocopy/blobs/"+d, nil)
	got, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 || !bytes.Equal(got, blob) {
		t.Fatalf("GET: status %d, %d bytes, err %v", resp.StatusCode, len(got), err)
	}
	stop()

	out, err := os.ReadFile(trace)
	if err != nil {
		t.Fatal(err)
	}
	var sent int64
	calls := 0
	for _, m := range regexp.MustCompile(`sendfile\(.*\)\s+=\s+(\d+)`).FindAllStringSubmatch(string(out), -1) {
		n, _ := strconv.ParseInt(m[1], 10, 64)
		sent += n
		calls++
	}
	// net/http writes the first 512 bytes itself (it sniffs them before
	// the headers go out), then hands the file to sendfile.
	if sent < int64(len(blob))-512 || sent > int64(len(blob)) {
		t.Fatalf("sendfile sent %d bytes in %d calls, want all but at most 512 of the blob's %d; trace:\n%s", sent, calls, len(blob), lastBytes(out, 2000))
	}
	t.Logf("sendfile: %d calls, %d bytes for a %d-byte blob", calls, sent, len(blob))
}

// lockedBuffer is a bytes.Buffer one goroutine may write while another
// reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// lastBytes is the end of b, at most n bytes.
func lastBytes(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return "…" + string(b[len(b)-n:])
}
