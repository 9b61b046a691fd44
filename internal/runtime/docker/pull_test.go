package docker

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/wharfhq/wharf/internal/runtime"
)

// TestPullWithAuth pulls from a registry on 127.0.0.1 (which the engine
// treats as insecure, so plain HTTP) that demands Basic credentials, as
// Wharf's registry does with ECR tokens.
func TestPullWithAuth(t *testing.T) {
	t.Parallel()
	c := engine(t)
	ctx := testCtx(t, 40*time.Second)
	const user, pass = "AWS", "wharf-test-token"
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != user || p != pass {
			w.Header().Set("WWW-Authenticate", `Basic realm="wharf-test"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)

	rootfs, err := busyboxRootfs("pulled " + testRun)
	if err != nil {
		t.Fatal(err)
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(rootfs)), nil })
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	ref := strings.TrimPrefix(srv.URL, "http://") + "/wharf-test/pulled:" + testRun
	tag, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img, remote.WithAuth(&authn.Basic{Username: user, Password: pass}), remote.WithContext(ctx)); err != nil {
		t.Fatal(err)
	}

	err = c.PullImage(ctx, ref, &runtime.Auth{Username: user, Password: "wrong"}, nil)
	if !errors.Is(err, runtime.ErrImagePull) {
		t.Fatalf("pull with a wrong password = %v, want ErrImagePull", err)
	}
	t.Log(err)

	var mu sync.Mutex
	var statuses []string
	t.Cleanup(func() {
		rctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.RemoveImage(rctx, ref, true); err != nil && !errors.Is(err, runtime.ErrNotFound) {
			t.Errorf("cleanup: %v", err)
		}
	})
	err = c.PullImage(ctx, ref, &runtime.Auth{Username: user, Password: pass}, func(p runtime.PullProgress) {
		mu.Lock()
		statuses = append(statuses, p.Status)
		mu.Unlock()
	})
	if err != nil {
		t.Fatalf("PullImage: %v", err)
	}
	if !slices.Contains(statuses, "Pull complete") {
		t.Errorf("progress reported %q, no \"Pull complete\"", statuses)
	}
	if ok, err := c.ImageExists(ctx, ref); !ok || err != nil {
		t.Fatalf("ImageExists(pulled) = %v, %v", ok, err)
	}
	id := create(t, runtime.ContainerSpec{Image: ref, Command: []string{"cat", "/etc/wharf-test"}}, "pulled")
	start(t, id)
	if code, err := c.WaitContainer(ctx, id); err != nil || code != 0 {
		t.Fatalf("WaitContainer = %d, %v", code, err)
	}
	if got := lines(logs(t, id), runtime.Stdout); !slices.Equal(got, []string{"pulled " + testRun}) {
		t.Errorf("output = %q", got)
	}
}
