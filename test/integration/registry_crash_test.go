package integration

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsecr "github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/wharfhq/wharf/internal/blobstore/fs"
	"github.com/wharfhq/wharf/internal/registry"
	"github.com/wharfhq/wharf/internal/store/sqlite"
	"github.com/wharfhq/wharf/internal/tenancy"
	"github.com/wharfhq/wharf/internal/wharftest"
)

const (
	crashKeyID  = "AKIACRASHTEST0000001"
	crashSecret = "crash-test-secret-key-0123456789abcdefgh"
)

// wharfProc is the wharf binary running in a child process.
type wharfProc struct {
	cmd  *exec.Cmd
	addr string
}

func startWharfProc(t *testing.T, bin, dir, addr string) *wharfProc {
	t.Helper()
	cmd := exec.Command(bin, "up", "--data-dir", dir, "--listen", addr)
	cmd.Env = append(os.Environ(), "WHARF_ROOT_ACCESS_KEY_ID="+crashKeyID, "WHARF_ROOT_SECRET_ACCESS_KEY="+crashSecret)
	log, _ := os.OpenFile(filepath.Join(dir, "..", "wharf.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &wharfProc{cmd: cmd, addr: addr}
	t.Cleanup(func() { p.cmd.Process.Kill(); p.cmd.Wait() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("wharf did not become healthy: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// kill -9 the server in the middle of concurrent pushes, restart it, and
// show: every manifest's blobs are stored and hash correctly, every pushed
// image that was acknowledged pulls and validates, and an acknowledged
// upload session resumes.
func TestRegistryCrashDuringPushes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the wharf binary")
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "wharf")
	build := exec.Command("go", "build", "-o", bin, "github.com/wharfhq/wharf/cmd/wharf")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build wharf: %v\n%s", err, out)
	}
	dir := filepath.Join(tmp, "data")
	addr := freeAddr(t)
	p := startWharfProc(t, bin, dir, addr)

	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(crashKeyID, crashSecret, ""),
		BaseEndpoint: aws.String("http://" + addr), RetryMaxAttempts: 1}
	ecrc := awsecr.NewFromConfig(cfg)
	e := &regEnv{Env: &wharftest.Env{URL: "http://" + addr}, host: addr, ecr: ecrc}
	e.password = ecrPassword(t, ecrc)
	e.auth = &authn.Basic{Username: "AWS", Password: e.password}
	for i := 0; i < 4; i++ {
		if _, err := ecrc.CreateRepository(context.Background(), &awsecr.CreateRepositoryInput{RepositoryName: aws.String(fmt.Sprintf("crash/r%d", i))}); err != nil {
			t.Fatal(err)
		}
	}
	// An upload session with an acknowledged chunk.
	data := randBytes(t, 100_000)
	loc := e.startUpload(t, "crash/r0")
	wantStatus(t, e.do(t, "PATCH", loc, data[:60_000], "Content-Range", "0-59999"), 202)

	// Concurrent pushes; kill -9 once some have finished.
	var acked sync.Map // tag ref → digest
	var done atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				img, _ := random.Image(32<<10, 3)
				ref := fmt.Sprintf("crash/r%d:w%d-%d", w%4, w, i)
				if err := remote.Write(e.ref(t, ref), img, remote.WithAuth(e.auth), remote.WithContext(ctx)); err != nil {
					return // the server died
				}
				d, _ := img.Digest()
				acked.Store(ref, d.String())
				done.Add(1)
			}
		}()
	}
	deadline := time.Now().Add(2 * time.Minute)
	for done.Load() < 24 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d pushes finished", done.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.cmd.Wait()
	cancel()
	wg.Wait()

	p = startWharfProc(t, bin, dir, addr)
	// The acknowledged chunk is there; the upload resumes.
	resp := e.do(t, "GET", loc, nil)
	wantStatus(t, resp, 204)
	if resp.Header.Get("Range") != "0-59999" {
		t.Fatalf("Range after kill -9: %q", resp.Header.Get("Range"))
	}
	wantStatus(t, e.do(t, "PATCH", loc, data[60_000:], "Content-Range", "60000-99999"), 202)
	wantStatus(t, e.do(t, "PUT", withQuery(loc, "digest="+sha256Digest(data)), nil), 201)

	// Every acknowledged push pulls and validates.
	n := 0
	acked.Range(func(k, v any) bool {
		img, err := remote.Image(e.ref(t, k.(string)), remote.WithAuth(e.auth))
		if err != nil {
			t.Errorf("pull %s: %v", k, err)
			return true
		}
		if d, _ := img.Digest(); d.String() != v.(string) {
			t.Errorf("%s is %s, pushed %s", k, d, v)
		}
		if err := validate.Image(img); err != nil {
			t.Errorf("%s: %v", k, err)
		}
		n++
		return true
	})
	t.Logf("%d acknowledged pushes before kill -9, all pull and validate", n)

	dr, err := ecrc.DescribeRegistry(context.Background(), &awsecr.DescribeRegistryInput{})
	if err != nil {
		t.Fatal(err)
	}
	// fsck over the store the server left, after a graceful stop.
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.cmd.Wait()
	st, err := sqlite.Open(filepath.Join(dir, "wharf.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	blobs, err := fs.Open(filepath.Join(dir, "blobs"), fs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	reg := registry.New(registry.Options{Store: st, Blobs: blobs})
	rep, err := reg.Fsck(tenancy.With(context.Background(), aws.ToString(dr.RegistryId), "us-east-1"), true)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Problems) > 0 || rep.Manifests < n {
		t.Fatalf("fsck: %d manifests, %d links, problems:\n%v", rep.Manifests, rep.Links, rep.Problems)
	}
	t.Logf("fsck: %d repositories, %d manifests, %d blob links, no problems", rep.Repositories, rep.Manifests, rep.Links)
}
