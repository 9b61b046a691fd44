// Package testimg makes container images for tests without pulling
// anything: Busybox from Debian's busybox-static, Demo from the demo web
// server in test/demoapp compiled statically. LoadDocker puts an image
// into the local Docker Engine, Push into a registry.
package testimg

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/wharfhq/wharf/internal/runtime"
	"github.com/wharfhq/wharf/internal/runtime/docker"
)

// BusyboxPath is where Debian's busybox-static installs the binary.
const BusyboxPath = "/bin/busybox"

var (
	busyboxOnce sync.Once
	busyboxImg  v1.Image
	busyboxErr  error
	busyboxSkip string
)

// Busybox is an image holding Debian's static busybox as /bin/busybox,
// a symlink in /bin for every applet (sh, sleep, wget, nc, httpd, cat,
// echo, …), /etc/passwd and /etc/group, /tmp, PATH=/bin and CMD ["sh"].
// The test is skipped when busybox-static is not installed.
func Busybox(t testing.TB) v1.Image {
	t.Helper()
	busyboxOnce.Do(func() { busyboxImg, busyboxSkip, busyboxErr = busybox() })
	if busyboxSkip != "" {
		t.Skip(busyboxSkip)
	}
	if busyboxErr != nil {
		t.Fatalf("testimg: busybox image: %v", busyboxErr)
	}
	return busyboxImg
}

func busybox() (v1.Image, string, error) {
	if _, err := os.Stat(BusyboxPath); err != nil {
		return nil, "no " + BusyboxPath + " (apt-get install busybox-static; scripts/test installs it)", nil
	}
	if f, err := elf.Open(BusyboxPath); err == nil {
		dynamic := false
		for _, p := range f.Progs {
			dynamic = dynamic || p.Type == elf.PT_INTERP
		}
		f.Close()
		if dynamic {
			return nil, BusyboxPath + " is dynamically linked: install busybox-static", nil
		}
	}
	bin, err := os.ReadFile(BusyboxPath)
	if err != nil {
		return nil, "", err
	}
	list, err := exec.Command(BusyboxPath, "--list").Output()
	if err != nil {
		return nil, "", err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	write := func(h *tar.Header, data []byte) {
		if err == nil {
			h.Size = int64(len(data))
			if err = tw.WriteHeader(h); err == nil {
				_, err = tw.Write(data)
			}
		}
	}
	for _, d := range []string{"bin/", "etc/", "root/", "var/", "var/www/"} {
		write(&tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: 0o755}, nil)
	}
	write(&tar.Header{Typeflag: tar.TypeDir, Name: "tmp/", Mode: 0o1777}, nil)
	write(&tar.Header{Typeflag: tar.TypeReg, Name: "bin/busybox", Mode: 0o755}, bin)
	write(&tar.Header{Typeflag: tar.TypeReg, Name: "etc/passwd", Mode: 0o644}, []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n"))
	write(&tar.Header{Typeflag: tar.TypeReg, Name: "etc/group", Mode: 0o644}, []byte("root:x:0:\nnogroup:x:65534:\n"))
	for _, applet := range strings.Fields(string(list)) {
		if applet == "busybox" || strings.Contains(applet, "/") {
			continue
		}
		write(&tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/" + applet, Linkname: "busybox", Mode: 0o777}, nil)
	}
	if err != nil {
		return nil, "", err
	}
	if err := tw.Close(); err != nil {
		return nil, "", err
	}
	img, err := imageOf(buf.Bytes(), v1.Config{Env: []string{"PATH=/bin"}, Cmd: []string{"sh"}})
	return img, "", err
}

// imageOf is a one-layer image of rootfs (an uncompressed tar) with cfg.
func imageOf(rootfs []byte, cfg v1.Config) (v1.Image, error) {
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(rootfs)), nil
	})
	if err != nil {
		return nil, err
	}
	img, err := mutate.Append(empty.Image, mutate.Addendum{Layer: layer})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS, cf.Config = goruntime.GOARCH, "linux", cfg
	cf.Created = v1.Time{Time: time.Unix(0, 0).UTC()}
	return mutate.ConfigFile(img, cf)
}

var (
	demoOnce sync.Once
	demoImg  v1.Image
	demoErr  error
	demoSkip string
)

// Demo is an image holding the demo web server of test/demoapp, compiled
// with CGO_ENABLED=0, as /demo with ENTRYPOINT ["/demo"]. The test is
// skipped when test/demoapp does not exist yet.
func Demo(t testing.TB) v1.Image {
	t.Helper()
	demoOnce.Do(func() { demoImg, demoSkip, demoErr = demo() })
	if demoSkip != "" {
		t.Skip(demoSkip)
	}
	if demoErr != nil {
		t.Fatalf("testimg: demo image: %v", demoErr)
	}
	return demoImg
}

func demo() (v1.Image, string, error) {
	_, self, _, _ := goruntime.Caller(0)
	root := filepath.Join(filepath.Dir(self), "..", "..")
	src := filepath.Join(root, "test", "demoapp")
	if _, err := os.Stat(src); err != nil {
		return nil, "test/demoapp does not exist yet: the Demo image cannot be built", nil
	}
	dir, err := os.MkdirTemp("", "wharf-demoapp-")
	if err != nil {
		return nil, "", err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "demo")
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, "./test/demoapp")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, "", errors.New("go build ./test/demoapp: " + err.Error() + ": " + string(msg))
	}
	bin, err := os.ReadFile(out)
	if err != nil {
		return nil, "", err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "tmp/", Mode: 0o1777}); err != nil {
		return nil, "", err
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "demo", Mode: 0o755, Size: int64(len(bin))}); err != nil {
		return nil, "", err
	}
	if _, err := tw.Write(bin); err != nil {
		return nil, "", err
	}
	if err := tw.Close(); err != nil {
		return nil, "", err
	}
	img, err := imageOf(buf.Bytes(), v1.Config{Entrypoint: []string{"/demo"}})
	return img, "", err
}

// Engine dials the local Docker Engine, skipping the test when none
// answers.
func Engine(t testing.TB) *docker.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := docker.Dial(ctx, docker.Options{})
	if err != nil {
		t.Skipf("no Docker Engine: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// LoadDocker loads img into the local Docker Engine as ref (name:tag) and
// removes it when the test ends. The test is skipped without an engine.
func LoadDocker(t testing.TB, img v1.Image, ref string) {
	t.Helper()
	c := Engine(t)
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatalf("testimg: %v", err)
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(tarball.Write(tag, img, pw)) }()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := c.LoadImage(ctx, pr); err != nil {
		_ = pr.CloseWithError(err)
		t.Fatalf("testimg: load %s: %v", ref, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := c.RemoveImage(ctx, ref, true); err != nil && !errors.Is(err, runtime.ErrNotFound) && !errors.Is(err, runtime.ErrConflict) {
			t.Errorf("testimg: remove %s: %v", ref, err)
		}
	})
}

// Push pushes img to a registry as ref (host/name:tag), with basic
// credentials when username is not empty; plain HTTP is used for
// localhost and 127.0.0.1 registries.
func Push(t testing.TB, img v1.Image, ref, username, password string) {
	t.Helper()
	tag, err := name.NewTag(ref, name.Insecure)
	if err != nil {
		t.Fatalf("testimg: %v", err)
	}
	opts := []remote.Option{remote.WithContext(t.Context())}
	if username != "" {
		opts = append(opts, remote.WithAuth(&authn.Basic{Username: username, Password: password}))
	}
	if err := remote.Write(tag, img, opts...); err != nil {
		t.Fatalf("testimg: push %s: %v", ref, err)
	}
}
