package testimg

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/wharfhq/wharf/internal/runtime"
)

var run = fmt.Sprintf("%d-%d", os.Getpid(), time.Now().UnixNano()%1e6)

// runOnce creates and starts a container of ref and returns its output.
func runOnce(t *testing.T, ref string, spec runtime.ContainerSpec) (int, string) {
	t.Helper()
	c := Engine(t)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	spec.Image, spec.Labels = ref, map[string]string{"com.wharf.test-run": run}
	id, err := c.CreateContainer(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.RemoveContainer(context.Background(), id) })
	if err := c.StartContainer(ctx, id); err != nil {
		t.Fatal(err)
	}
	code, err := c.WaitContainer(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.ContainerLogs(ctx, id, runtime.LogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var out []string
	for {
		e, err := s.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e.Line)
	}
	return code, strings.Join(out, "\n")
}

func TestBusyboxRunsApplets(t *testing.T) {
	img := Busybox(t)
	ref := "wharf-test-testimg-busybox:" + run
	LoadDocker(t, img, ref)
	code, out := runOnce(t, ref, runtime.ContainerSpec{Command: []string{"sh", "-c", "for a in sleep wget nc httpd cat echo; do echo $a:$(readlink /bin/$a); done; echo $PATH; id -u"}})
	want := "sleep:busybox\nwget:busybox\nnc:busybox\nhttpd:busybox\ncat:busybox\necho:busybox\n/bin\n0"
	if code != 0 || out != want {
		t.Errorf("exit %d, output %q; want %q", code, out, want)
	}
}

func TestDemoImage(t *testing.T) {
	img := Demo(t)
	ref := "wharf-test-testimg-demo:" + run
	LoadDocker(t, img, ref)
	code, _ := runOnce(t, ref, runtime.ContainerSpec{Environment: map[string]string{"EXIT_CODE": "7", "EXIT_AFTER": "0"}})
	if code != 7 {
		t.Errorf("demo exit code %d, want 7 (EXIT_CODE)", code)
	}
}

func TestPushToRegistry(t *testing.T) {
	img := Busybox(t)
	var sawAuth atomic.Bool
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); ok && u == "AWS" && p == "secret" {
			sawAuth.Store(true)
		}
		reg.ServeHTTP(w, r)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	ref := host + "/team/busybox:1"
	Push(t, img, ref, "AWS", "secret")
	if !sawAuth.Load() {
		t.Error("the registry never saw the credentials")
	}
	parsed, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	got, err := remote.Image(parsed)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := img.Digest()
	if d, _ := got.Digest(); d != want {
		t.Errorf("pulled %s, pushed %s", d, want)
	}
}
