package endpoint

// These tests use the real link-local path: they put 169.254.170.2 on the
// loopback interface (root), serve on it, and fetch metadata, stats and
// credentials with busybox wget from containers on the Docker Engine, on
// the default bridge and on a user-defined network. They skip, saying
// why, without root or without an engine. The address is left in place
// (the agent leaves it too; other tests may be using it).

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/runtime"
	"github.com/wharfhq/wharf/internal/runtime/docker"
)

func TestEnsureAddressRejectsBadInput(t *testing.T) {
	for _, a := range []string{"", "nonsense", "fd00::2"} {
		if err := EnsureAddress(context.Background(), a); err == nil {
			t.Errorf("EnsureAddress(%q) = nil, want an error", a)
		}
	}
	// An address the host already has needs nothing, root or not.
	if err := EnsureAddress(context.Background(), "127.0.0.1"); err != nil {
		t.Errorf("EnsureAddress(127.0.0.1) = %v", err)
	}
}

func TestEnsureAddressNotRoot(t *testing.T) {
	geteuid = func() int { return 1000 }
	defer func() { geteuid = os.Geteuid }()
	// An address no host has: adding it would need root.
	if err := EnsureAddress(context.Background(), "169.254.170.254"); !errors.Is(err, ErrNotRoot) {
		t.Errorf("EnsureAddress as non-root = %v, want ErrNotRoot", err)
	}
}

// linkLocal prepares the address and an engine, or skips.
func linkLocal(t *testing.T) (*docker.Client, string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("not root: cannot add 169.254.170.2 to the loopback interface")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := docker.Dial(ctx, docker.Options{})
	if err != nil {
		t.Skipf("no Docker Engine: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	if err := EnsureAddress(ctx, LinkLocalAddress); err != nil {
		t.Fatal(err)
	}
	if err := EnsureAddress(ctx, LinkLocalAddress); err != nil { // idempotent
		t.Fatalf("second EnsureAddress: %v", err)
	}
	if has, err := hasAddress(net.ParseIP(LinkLocalAddress)); err != nil || !has {
		t.Fatalf("after EnsureAddress the loopback interface has %s: %v, %v", LinkLocalAddress, has, err)
	}
	return c, busyboxImage(t, c)
}

// busyboxImage imports a one-layer image holding Debian's static busybox.
func busyboxImage(t *testing.T, c *docker.Client) string {
	t.Helper()
	bb, err := exec.LookPath("busybox")
	if err != nil {
		t.Skip("no busybox (apt-get install busybox-static)")
	}
	bin, err := os.ReadFile(bb)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(h *tar.Header, data []byte) {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	add(&tar.Header{Typeflag: tar.TypeDir, Name: "tmp/", Mode: 0o1777}, nil)
	add(&tar.Header{Typeflag: tar.TypeReg, Name: "bin/busybox", Mode: 0o755, Size: int64(len(bin))}, bin)
	for _, a := range []string{"sh", "wget", "sleep", "echo"} {
		add(&tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/" + a, Linkname: "busybox", Mode: 0o777}, nil)
	}
	mark := []byte(fmt.Sprintf("%d %d\n", os.Getpid(), time.Now().UnixNano()))
	add(&tar.Header{Typeflag: tar.TypeReg, Name: "etc/wharf-test", Mode: 0o644, Size: int64(len(mark))}, mark)
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	ref := fmt.Sprintf("wharf-test-endpoint:%d-%d", os.Getpid(), time.Now().UnixNano()%1e6)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.ImportImage(ctx, ref, &buf); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := c.RemoveImage(ctx, ref, true); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return ref
}

// fetchScript prints the container's metadata, stats, task metadata and
// credentials, each on its own line, fetched from the environment's URIs.
const fetchScript = `
wget -q -O - "$ECS_CONTAINER_METADATA_URI_V4"; echo
wget -q -O - "$ECS_CONTAINER_METADATA_URI_V4/stats"; echo
wget -q -O - "$ECS_CONTAINER_METADATA_URI_V4/task"; echo
if [ -n "$AWS_CONTAINER_CREDENTIALS_FULL_URI" ]; then
  wget -q -O - --header "Authorization: $AWS_CONTAINER_AUTHORIZATION_TOKEN" "$AWS_CONTAINER_CREDENTIALS_FULL_URI"
else
  wget -q -O - "http://169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"
fi
echo`

// runInContainer registers a one-container task, runs fetchScript in it
// on network and returns its stdout lines.
func runInContainer(t *testing.T, c *docker.Client, image string, s *Server, network string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	endpointID, credID := NewID(), NewID()
	taskARN := "arn:aws:ecs:us-east-1:000000000000:task/default/" + endpointID
	env := s.MetadataEnv(endpointID)
	s.SetCredentialsToken(credID, "token-"+credID) // as the agent's engine does
	for k, v := range s.CredentialsEnv(credID) {
		env[k] = v
	}
	s.SetCredentials(credID, sampleCreds)
	t.Cleanup(func() { s.RemoveCredentials(credID) })
	name := "wharf-test-endpoint-" + endpointID[:12]
	id, err := c.CreateContainer(ctx, runtime.ContainerSpec{
		Name: name, Image: image, Command: []string{"sh", "-c", fetchScript},
		Environment: env, NetworkMode: network,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := c.RemoveContainer(ctx, id); err != nil && !errors.Is(err, runtime.ErrNotFound) {
			t.Errorf("cleanup: %v", err)
		}
	})
	task := Task{
		Cluster: "default", TaskARN: taskARN, Family: "probe", Revision: "1", DesiredStatus: "RUNNING", KnownStatus: "RUNNING",
		LaunchType: "EC2",
		Containers: []Container{{
			EndpointID: endpointID, DockerID: id, Name: "probe", DockerName: name, Image: image,
			DesiredStatus: "RUNNING", KnownStatus: "RUNNING", Networks: []Network{{NetworkMode: network}},
		}},
	}
	if err := s.Register(task); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Unregister(taskARN) })
	if err := c.StartContainer(ctx, id); err != nil {
		t.Fatal(err)
	}
	code, err := c.WaitContainer(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	ls, err := c.ContainerLogs(ctx, id, runtime.LogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer ls.Close()
	var out, errs []string
	for {
		e, err := ls.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if e.Source == runtime.Stdout {
			out = append(out, e.Line)
		} else {
			errs = append(errs, e.Line)
		}
	}
	if code != 0 || len(out) != 4 {
		t.Fatalf("container on %s exited %d; stdout %q; stderr %q", network, code, out, errs)
	}
	return out
}

// checkFetched asserts what runInContainer printed.
func checkFetched(t *testing.T, network string, out []string) {
	t.Helper()
	want := []string{`"Name":"probe"`, `"cpu_stats"`, `"Family":"probe"`, `"AccessKeyId":"ASIAEXAMPLE0000001"`}
	for i, w := range want {
		if !strings.Contains(out[i], w) {
			t.Errorf("on %s, line %d = %q; want it to contain %s", network, i+1, out[i], w)
		}
	}
	if !strings.Contains(out[0], `"NetworkMode":"`+network+`"`) {
		t.Errorf("on %s, container metadata = %s", network, out[0])
	}
}

// TestLinkLocalFromContainers serves on 169.254.170.2 (a free port, so it
// does not contend for port 80) and reads it from a container on the
// default bridge and from one on a user-defined network.
func TestLinkLocalFromContainers(t *testing.T) {
	c, image := linkLocal(t)
	s := start(t, Config{Addr: LinkLocalAddress + ":0", Stats: c.RawStats})
	if !strings.HasPrefix(s.MetadataEnv("x")[EnvMetadataURIV4], "http://169.254.170.2:") {
		t.Fatalf("URL = %v", s.MetadataEnv("x"))
	}

	checkFetched(t, runtime.NetworkBridge, runInContainer(t, c, image, s, runtime.NetworkBridge))

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	netName := fmt.Sprintf("wharf-test-endpoint-%d", time.Now().UnixNano()%1e9)
	n, err := c.CreateNetwork(ctx, runtime.NetworkSpec{Name: netName})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := c.RemoveNetwork(ctx, n.ID); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	checkFetched(t, netName, runInContainer(t, c, image, s, netName))
}

// TestLinkLocalPort80RelativeURI is the ECS arrangement exactly: the
// server on 169.254.170.2:80 and the container given only
// AWS_CONTAINER_CREDENTIALS_RELATIVE_URI. It skips when port 80 on that
// address is taken (an agent running on this host).
func TestLinkLocalPort80RelativeURI(t *testing.T) {
	c, image := linkLocal(t)
	s := New(Config{Stats: c.RawStats})
	if err := s.Start(context.Background()); err != nil {
		t.Skipf("cannot serve on %s: %v", DefaultAddr, err)
	}
	t.Cleanup(func() { _ = s.Stop(context.Background()) })
	s.SetCredentialsToken("abc", "a-token-the-container-is-never-given")
	env := s.CredentialsEnv("abc")
	if len(env) != 1 || env[EnvCredentialsRelativeURI] != "/v2/credentials/abc" {
		t.Fatalf("CredentialsEnv at the link-local address = %v", env)
	}
	if got := s.MetadataEnv("abc")[EnvMetadataURIV4]; got != "http://169.254.170.2/v4/abc" {
		t.Fatalf("MetadataEnv = %q", got)
	}
	checkFetched(t, runtime.NetworkBridge, runInContainer(t, c, image, s, runtime.NetworkBridge))
}
