package docker

// These tests run against the real Docker Engine (DOCKER_HOST or the
// default socket) and are skipped, saying so, when none answers. Every
// object they create is named "wharf-test-…" and removed in t.Cleanup.
// The test image is made by importing a root filesystem holding Debian's
// static busybox, so nothing is pulled from the internet.

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/runtime"
)

var (
	testClient *Client
	testImage  string
	testRun    = fmt.Sprintf("%d-%d", os.Getpid(), time.Now().UnixNano()%1e6)
	skipReason string
)

const runLabel = "com.wharf.test-run"

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := Dial(ctx, Options{})
	if err != nil {
		skipReason = fmt.Sprintf("no Docker Engine: %v", err)
		return m.Run()
	}
	testClient = c
	rootfs, err := busyboxRootfs("imported " + testRun)
	if err != nil {
		skipReason = fmt.Sprintf("cannot make the test image: %v", err)
		return m.Run()
	}
	testImage = "wharf-test-busybox:" + testRun
	if err := c.ImportImage(ctx, testImage, bytes.NewReader(rootfs)); err != nil {
		fmt.Fprintln(os.Stderr, "import test image:", err)
		return 1
	}
	code := m.Run()
	rctx, rcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer rcancel()
	if err := c.RemoveImage(rctx, testImage, true); err != nil {
		fmt.Fprintln(os.Stderr, "remove test image:", err)
	}
	return code
}

// busyboxRootfs is a tar of a root filesystem: /bin/busybox with a link
// per applet, /etc/passwd, /tmp, and /etc/wharf-test holding mark (which
// makes the layer unique).
func busyboxRootfs(mark string) ([]byte, error) {
	bb, err := exec.LookPath("busybox")
	if err != nil {
		return nil, err
	}
	bin, err := os.ReadFile(bb)
	if err != nil {
		return nil, err
	}
	list, err := exec.Command(bb, "--list").Output()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dir := func(name string, mode int64) {
		_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: mode})
	}
	file := func(name string, mode int64, data []byte) {
		_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data))})
		_, _ = tw.Write(data)
	}
	dir("bin/", 0o755)
	dir("etc/", 0o755)
	dir("tmp/", 0o1777)
	file("bin/busybox", 0o755, bin)
	file("etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n"))
	file("etc/wharf-test", 0o644, []byte(mark+"\n"))
	file("etc/group", 0o644, []byte("root:x:0:\nnogroup:x:65534:\n"))
	for _, applet := range strings.Fields(string(list)) {
		if applet == "busybox" || strings.Contains(applet, "/") {
			continue
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/" + applet, Linkname: "busybox", Mode: 0o777}); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// engine returns the client, or skips the test without an engine.
func engine(t *testing.T) *Client {
	t.Helper()
	if testClient == nil {
		t.Skip(skipReason)
	}
	return testClient
}

func testCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

// testName is a unique, recognisable name for an object of this test.
func testName(t *testing.T, suffix string) string {
	n := strings.NewReplacer("/", "-", "_", "-").Replace(strings.ToLower(t.Name()))
	return fmt.Sprintf("wharf-test-%s-%s-%s", n, suffix, testRun)
}

// create creates a container from spec (image, name and the run label
// filled in) and removes it when the test ends.
func create(t *testing.T, spec runtime.ContainerSpec, suffix string) string {
	t.Helper()
	c := engine(t)
	if spec.Image == "" {
		spec.Image = testImage
	}
	if spec.Name == "" {
		spec.Name = testName(t, suffix)
	}
	if spec.Labels == nil {
		spec.Labels = map[string]string{}
	}
	spec.Labels[runLabel] = testRun
	id, err := c.CreateContainer(testCtx(t, 20*time.Second), spec)
	if err != nil {
		t.Fatalf("CreateContainer: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := c.RemoveContainer(ctx, id); err != nil && !errors.Is(err, runtime.ErrNotFound) {
			t.Errorf("cleanup: %v", err)
		}
	})
	return id
}

func start(t *testing.T, id string) {
	t.Helper()
	if err := engine(t).StartContainer(testCtx(t, 20*time.Second), id); err != nil {
		t.Fatalf("StartContainer: %v", err)
	}
}

// logs reads a container's whole output so far.
func logs(t *testing.T, id string) []runtime.LogEntry {
	t.Helper()
	s, err := engine(t).ContainerLogs(testCtx(t, 20*time.Second), id, runtime.LogOptions{})
	if err != nil {
		t.Fatalf("ContainerLogs: %v", err)
	}
	defer s.Close()
	var out []runtime.LogEntry
	for {
		e, err := s.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("logs: %v", err)
		}
		out = append(out, e)
	}
}

func lines(es []runtime.LogEntry, src runtime.LogSource) []string {
	var out []string
	for _, e := range es {
		if e.Source == src {
			out = append(out, e.Line)
		}
	}
	return out
}

// waitForLog follows a container's output until a line equals want.
func waitForLog(t *testing.T, id, want string) {
	t.Helper()
	s, err := engine(t).ContainerLogs(testCtx(t, 20*time.Second), id, runtime.LogOptions{Follow: true})
	if err != nil {
		t.Fatalf("ContainerLogs: %v", err)
	}
	defer s.Close()
	for {
		e, err := s.Next()
		if err != nil {
			t.Fatalf("waiting for log line %q: %v", want, err)
		}
		if e.Line == want {
			return
		}
	}
}

func TestPingInfo(t *testing.T) {
	t.Parallel()
	c := engine(t)
	ctx := testCtx(t, 10*time.Second)
	if err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.CPUs < 1 || info.MemoryBytes < 1<<20 || info.OSType != "linux" || info.Architecture == "" || info.ServerVersion == "" {
		t.Errorf("Info = %+v", info)
	}
	if info.APIVersion != c.APIVersion() || versionLess(info.APIVersion, MinAPIVersion) || versionLess(MaxAPIVersion, info.APIVersion) {
		t.Errorf("negotiated API %q outside [%s, %s]", info.APIVersion, MinAPIVersion, MaxAPIVersion)
	}
	t.Logf("engine %s, API %s, %d CPUs, %d MiB, %s/%s", info.ServerVersion, info.APIVersion, info.CPUs, info.MemoryBytes>>20, info.OSType, info.Architecture)
}

func TestDialUnavailable(t *testing.T) {
	t.Parallel()
	_, err := Dial(testCtx(t, 5*time.Second), Options{Host: "unix://" + filepath.Join(t.TempDir(), "none.sock")})
	if !errors.Is(err, runtime.ErrUnavailable) {
		t.Fatalf("Dial(missing socket) = %v, want ErrUnavailable", err)
	}
}

func TestRunAppliesSpecAndReportsExit(t *testing.T) {
	t.Parallel()
	c := engine(t)
	ctx := testCtx(t, 30*time.Second)
	id := create(t, runtime.ContainerSpec{
		Command:              []string{"sh", "-c", `echo "$FOO $BAR"; pwd; id -u; id -g; echo oops >&2; exit 3`},
		Environment:          map[string]string{"FOO": "foo value", "BAR": "bar"},
		WorkingDir:           "/work/dir",
		User:                 "1234:2345",
		CPUShares:            256,
		MemoryMiB:            64,
		MemoryReservationMiB: 32,
	}, "exit3")
	before, err := c.InspectContainer(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if before.State != runtime.StateCreated || !before.StartedAt.IsZero() {
		t.Errorf("before start: state %s, started %v", before.State, before.StartedAt)
	}
	start(t, id)
	code, err := c.WaitContainer(ctx, id)
	if err != nil || code != 3 {
		t.Fatalf("WaitContainer = %d, %v; want 3", code, err)
	}
	st, err := c.InspectContainer(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	// The engine stamps StartedAt after the process began, so a process that
	// exits at once may "finish" a few ms before it "started".
	if st.State != runtime.StateStopped || st.ExitCode != 3 || st.StartedAt.IsZero() || st.FinishedAt.Before(st.StartedAt.Add(-time.Second)) {
		t.Errorf("after exit: %+v", st)
	}
	if st.MemoryBytes != 64<<20 || st.CPUShares != 256 {
		t.Errorf("limits in inspect: memory %d, cpu shares %d", st.MemoryBytes, st.CPUShares)
	}
	if st.Labels[runLabel] != testRun || st.Name != testName(t, "exit3") || st.Image != testImage {
		t.Errorf("identity: name %q image %q labels %v", st.Name, st.Image, st.Labels)
	}
	out := logs(t, id)
	if got, want := lines(out, runtime.Stdout), []string{"foo value bar", "/work/dir", "1234", "2345"}; !slices.Equal(got, want) {
		t.Errorf("stdout = %q, want %q", got, want)
	}
	if got := lines(out, runtime.Stderr); !slices.Equal(got, []string{"oops"}) {
		t.Errorf("stderr = %q", got)
	}
	for _, e := range out {
		if e.Time.Before(st.StartedAt.Add(-time.Second)) || e.Time.After(st.FinishedAt.Add(time.Second)) {
			t.Errorf("log time %v outside the run [%v, %v]", e.Time, st.StartedAt, st.FinishedAt)
		}
	}

	// entryPoint + command, as ECS combines them.
	// (in network mode none)
	id2 := create(t, runtime.ContainerSpec{EntryPoint: []string{"echo", "entry"}, Command: []string{"cmd"}, NetworkMode: runtime.NetworkNone}, "entry")
	start(t, id2)
	if code, err := c.WaitContainer(ctx, id2); err != nil || code != 0 {
		t.Fatalf("WaitContainer = %d, %v", code, err)
	}
	if got := lines(logs(t, id2), runtime.Stdout); !slices.Equal(got, []string{"entry cmd"}) {
		t.Errorf("entryPoint+command output = %q", got)
	}
	if st, err := c.InspectContainer(ctx, id2); err != nil || len(st.Networks) != 1 || st.Networks[0].Network != "none" || st.Networks[0].IPAddress != "" {
		t.Errorf("network none: %+v, %v", st.Networks, err)
	}
	hostNet := create(t, runtime.ContainerSpec{Command: []string{"true"}, NetworkMode: runtime.NetworkHost}, "hostnet")
	if st, err := c.InspectContainer(ctx, hostNet); err != nil || len(st.Networks) != 1 || st.Networks[0].Network != "host" {
		t.Errorf("network host: %+v, %v", st.Networks, err)
	}
}

func TestStopTermThenKill(t *testing.T) {
	t.Parallel()
	c := engine(t)
	ctx := testCtx(t, 40*time.Second)
	// sh as PID 1: a TERM it traps ends it; with TERM ignored only KILL does.
	traps := create(t, runtime.ContainerSpec{Command: []string{"sh", "-c",
		`trap 'echo got TERM; exit 0' TERM; echo ready; while true; do sleep 0.1; done`}}, "traps")
	ignores := create(t, runtime.ContainerSpec{Command: []string{"sh", "-c",
		`trap '' TERM; echo ready; while true; do sleep 0.1; done`}}, "ignores")
	start(t, traps)
	start(t, ignores)
	waitForLog(t, traps, "ready")
	waitForLog(t, ignores, "ready")

	const grace = 2 * time.Second
	type result struct {
		took time.Duration
		err  error
	}
	done := make(chan result, 1)
	go func() {
		t0 := time.Now()
		err := c.StopContainer(ctx, ignores, grace)
		done <- result{time.Since(t0), err}
	}()
	t0 := time.Now()
	if err := c.StopContainer(ctx, traps, grace); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(t0); took >= grace {
		t.Errorf("stopping a container that handles TERM took %v, want < %v", took, grace)
	}
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.took < grace-100*time.Millisecond {
		t.Errorf("a container ignoring TERM stopped after %v, before the %v grace", r.took, grace)
	}
	st, _ := c.InspectContainer(ctx, traps)
	if st.State != runtime.StateStopped || st.ExitCode != 0 || !slices.Contains(lines(logs(t, traps), runtime.Stdout), "got TERM") {
		t.Errorf("TERM-handling container: state %s exit %d", st.State, st.ExitCode)
	}
	st, _ = c.InspectContainer(ctx, ignores)
	if st.State != runtime.StateStopped || st.ExitCode != 137 {
		t.Errorf("TERM-ignoring container: state %s exit %d, want STOPPED 137", st.State, st.ExitCode)
	}
	// Stopping a stopped container is not an error.
	if err := c.StopContainer(ctx, traps, grace); err != nil {
		t.Errorf("second stop: %v", err)
	}
}

func TestDynamicHostPort(t *testing.T) {
	t.Parallel()
	c := engine(t)
	ctx := testCtx(t, 30*time.Second)
	id := create(t, runtime.ContainerSpec{
		Command:      []string{"sh", "-c", `mkdir -p /tmp/www && echo hello from wharf > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www`},
		PortMappings: []runtime.PortMapping{{ContainerPort: 8080}},
	}, "httpd")
	start(t, id)
	st, err := c.InspectContainer(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var hostPort uint16
	for _, b := range st.PortBindings {
		if b.ContainerPort == 8080 && b.Protocol == "tcp" && b.HostPort != 0 {
			hostPort = b.HostPort
		}
	}
	if hostPort == 0 {
		t.Fatalf("no dynamic host port bound: %+v", st.PortBindings)
	}
	if len(st.Networks) != 1 || st.Networks[0].Network != "bridge" || st.Networks[0].IPAddress == "" {
		t.Errorf("networks = %+v", st.Networks)
	}
	url := fmt.Sprintf("http://127.0.0.1:%d/index.html", hostPort)
	var lastErr error
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); {
		body, err := get(ctx, url)
		if err == nil {
			if strings.TrimSpace(body) != "hello from wharf" {
				t.Fatalf("GET %s = %q", url, body)
			}
			return
		}
		lastErr = err
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond): // poll interval, not a wait for state
		}
	}
	t.Fatalf("GET %s never answered: %v", url, lastErr)
}

func get(ctx context.Context, url string) (string, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("status %s", resp.Status)
	}
	return string(b), err
}

func TestHealthCheckAndEvents(t *testing.T) {
	t.Parallel()
	c := engine(t)
	ctx := testCtx(t, 40*time.Second)
	group := testName(t, "group")
	labels := map[string]string{"com.wharf.task-arn": group}
	events, err := c.Events(ctx, runtime.EventFilter{Actions: []string{"die", "health_status"}, Labels: labels})
	if err != nil {
		t.Fatal(err)
	}
	defer events.Close()

	check := func(cmd string) *runtime.HealthCheck {
		return &runtime.HealthCheck{Command: []string{"CMD-SHELL", cmd}, Interval: 200 * time.Millisecond, Timeout: 2 * time.Second, Retries: 1}
	}
	healthy := create(t, runtime.ContainerSpec{Labels: map[string]string{"com.wharf.task-arn": group},
		Command: []string{"sh", "-c", "touch /tmp/ready; exec sleep 60"}, HealthCheck: check("test -f /tmp/ready")}, "healthy")
	unhealthy := create(t, runtime.ContainerSpec{Labels: map[string]string{"com.wharf.task-arn": group},
		Command: []string{"sleep", "60"}, HealthCheck: check("exit 1")}, "unhealthy")
	exits := create(t, runtime.ContainerSpec{Labels: map[string]string{"com.wharf.task-arn": group},
		Command: []string{"sh", "-c", "exit 7"}}, "exit7")
	started := time.Now()
	for _, id := range []string{healthy, unhealthy, exits} {
		start(t, id)
	}

	want := map[string]string{healthy: "health_status HEALTHY", unhealthy: "health_status UNHEALTHY", exits: "die 7"}
	for len(want) > 0 {
		e, err := events.Next()
		if err != nil {
			t.Fatalf("events (still waiting for %v): %v", want, err)
		}
		if e.Labels["com.wharf.task-arn"] != group {
			t.Errorf("event %+v lacks the container's labels", e)
		}
		got := e.Action + " " + string(e.Health)
		if e.Action == "die" {
			got = fmt.Sprintf("die %d", e.ExitCode)
		}
		if want[e.ContainerID] == got {
			delete(want, e.ContainerID)
		}
	}
	// A subscriber that comes later (an agent after a restart) replays
	// what it missed with Since.
	replay, err := c.Events(ctx, runtime.EventFilter{Actions: []string{"die"}, ContainerID: exits, Since: started.Add(-time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	defer replay.Close()
	if e, err := replay.Next(); err != nil || e.ContainerID != exits || e.ExitCode != 7 {
		t.Errorf("replayed event = %+v, %v; want die 7 of %s", e, err, exits)
	}

	for id, h := range map[string]runtime.Health{healthy: runtime.HealthHealthy, unhealthy: runtime.HealthUnhealthy, exits: runtime.HealthUnknown} {
		st, err := c.InspectContainer(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if st.Health != h {
			t.Errorf("%s: health %s, want %s", st.Name, st.Health, h)
		}
	}
}

func TestListByLabel(t *testing.T) {
	t.Parallel()
	c := engine(t)
	ctx := testCtx(t, 20*time.Second)
	arn := testName(t, "task")
	a := create(t, runtime.ContainerSpec{Command: []string{"true"}, Labels: map[string]string{"com.wharf.task-arn": arn}}, "a")
	b := create(t, runtime.ContainerSpec{Command: []string{"true"}, Labels: map[string]string{"com.wharf.task-arn": arn}}, "b")
	create(t, runtime.ContainerSpec{Command: []string{"true"}, Labels: map[string]string{"com.wharf.task-arn": arn + "-other"}}, "c")
	start(t, a)
	got, err := c.ListContainers(ctx, map[string]string{"com.wharf.task-arn": arn})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range got {
		ids = append(ids, s.ID)
		if s.Labels["com.wharf.task-arn"] != arn || !strings.HasPrefix(s.Name, "wharf-test-") || s.Image != testImage {
			t.Errorf("summary %+v", s)
		}
	}
	slices.Sort(ids)
	want := []string{a, b}
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Errorf("ListContainers = %v, want %v", ids, want)
	}
	all, err := c.ListContainers(ctx, map[string]string{runLabel: ""})
	if err != nil || len(all) < 3 {
		t.Errorf("list by label key: %d containers, %v", len(all), err)
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	c := engine(t)
	ctx := testCtx(t, 30*time.Second)

	// A registry that is not there: the pull fails fast, with its reason.
	t0 := time.Now()
	ref := "127.0.0.1:1/wharf-test/missing:1"
	err := c.PullImage(ctx, ref, &runtime.Auth{Username: "AWS", Password: "token"}, nil)
	var pe *runtime.PullError
	if !errors.Is(err, runtime.ErrImagePull) || !errors.As(err, &pe) || pe.Message == "" || pe.Ref != ref {
		t.Fatalf("PullImage(unreachable registry) = %v", err)
	}
	if !strings.HasPrefix(pe.StoppedReason(), "CannotPullContainerError: ") || !strings.Contains(pe.Message, "127.0.0.1:1") {
		t.Errorf("stopped reason %q", pe.StoppedReason())
	}
	if took := time.Since(t0); took > 10*time.Second {
		t.Errorf("failed pull took %v", took)
	}
	t.Logf("%s (%v)", pe.StoppedReason(), time.Since(t0).Round(time.Millisecond))

	if ok, err := c.ImageExists(ctx, testImage); !ok || err != nil {
		t.Errorf("ImageExists(test image) = %v, %v", ok, err)
	}
	if ok, err := c.ImageExists(ctx, "wharf-test-none:"+testRun); ok || err != nil {
		t.Errorf("ImageExists(missing) = %v, %v", ok, err)
	}
	if _, err := c.InspectContainer(ctx, "wharf-test-none-"+testRun); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("InspectContainer(missing) = %v, want ErrNotFound", err)
	}
	if err := c.StartContainer(ctx, "wharf-test-none-"+testRun); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("StartContainer(missing) = %v, want ErrNotFound", err)
	}
	_, err = c.CreateContainer(ctx, runtime.ContainerSpec{Name: testName(t, "x"), Image: "wharf-test-none:" + testRun})
	if !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("CreateContainer(missing image) = %v, want ErrNotFound", err)
	}
	create(t, runtime.ContainerSpec{Command: []string{"true"}}, "dup")
	if _, err := c.CreateContainer(ctx, runtime.ContainerSpec{Name: testName(t, "dup"), Image: testImage, Command: []string{"true"}}); !errors.Is(err, runtime.ErrConflict) {
		t.Errorf("CreateContainer(name taken) = %v, want ErrConflict", err)
	}
}

func TestMountsAndSecurity(t *testing.T) {
	t.Parallel()
	c := engine(t)
	ctx := testCtx(t, 30*time.Second)
	host := t.TempDir()
	if err := os.WriteFile(filepath.Join(host, "in.txt"), []byte("from host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	volume := testName(t, "vol")
	if err := c.CreateVolume(ctx, runtime.VolumeSpec{Name: volume, Labels: map[string]string{runLabel: testRun}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // runs after the container's removal
		rctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.RemoveVolume(rctx, volume); err != nil && !errors.Is(err, runtime.ErrNotFound) {
			t.Errorf("cleanup: %v", err)
		}
	})
	id := create(t, runtime.ContainerSpec{
		Command: []string{"sh", "-c", `
			cat /host/in.txt
			touch /rootfs-file 2>/dev/null && echo rootfs writable || echo rootfs readonly
			touch /scratch/f && echo tmpfs writable
			touch /vol/f && echo volume writable
			touch /host/f 2>/dev/null && echo bind writable || echo bind readonly
			ulimit -n
			grep CapEff /proc/self/status
			cat /proc/1/comm
			grep -c wharf-peer /etc/hosts
			df -k /dev/shm | awk 'NR==2 {print $2}'
			grep -c 10.9.9.9 /etc/resolv.conf`},
		Mounts: []runtime.Mount{
			{Type: runtime.MountBind, Source: host, Target: "/host", ReadOnly: true},
			{Type: runtime.MountTmpfs, Target: "/scratch", TmpfsSize: 1 << 20},
			{Type: runtime.MountVolume, Source: volume, Target: "/vol"},
		},
		ReadonlyRootfs: true,
		Init:           true,
		CapDrop:        []string{"ALL"},
		Ulimits:        []runtime.Ulimit{{Name: "nofile", Soft: 1000, Hard: 2000}},
		NetworkMode:    runtime.NetworkBridge,
		ExtraHosts:     []string{"wharf-peer:10.1.2.3"},
		DNSServers:     []string{"10.9.9.9"},
		ShmSizeMiB:     8,
		StopTimeout:    time.Second,
	}, "mounts")
	start(t, id)
	if code, err := c.WaitContainer(ctx, id); err != nil || code != 0 {
		t.Fatalf("WaitContainer = %d, %v; logs %q", code, err, lines(logs(t, id), runtime.Stderr))
	}
	got := lines(logs(t, id), runtime.Stdout)
	want := []string{"from host", "rootfs readonly", "tmpfs writable", "volume writable", "bind readonly", "1000", "CapEff:\t0000000000000000", "docker-init", "1", "8192", "1"}
	if !slices.Equal(got, want) {
		t.Errorf("output = %q\nwant %q", got, want)
	}
	if err := c.RemoveVolume(ctx, volume); !errors.Is(err, runtime.ErrConflict) {
		t.Errorf("RemoveVolume(in use) = %v, want ErrConflict", err)
	}
}

func TestNetworkAndStats(t *testing.T) {
	t.Parallel()
	c := engine(t)
	ctx := testCtx(t, 30*time.Second)
	name := testName(t, "net")
	n, err := c.CreateNetwork(ctx, runtime.NetworkSpec{Name: name, Labels: map[string]string{runLabel: testRun}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		rctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.RemoveNetwork(rctx, n.ID); err != nil && !errors.Is(err, runtime.ErrNotFound) {
			t.Errorf("cleanup: %v", err)
		}
	})
	if n.ID == "" || n.Name != name || n.Subnet == "" {
		t.Errorf("CreateNetwork = %+v", n)
	}
	if _, err := c.CreateNetwork(ctx, runtime.NetworkSpec{Name: name}); !errors.Is(err, runtime.ErrConflict) {
		t.Errorf("CreateNetwork(duplicate) = %v, want ErrConflict", err)
	}

	// A "pause" container on the network, and one joining its namespace.
	pause := create(t, runtime.ContainerSpec{Command: []string{"sleep", "60"}, NetworkMode: name, MemoryMiB: 32}, "pause")
	start(t, pause)
	member := create(t, runtime.ContainerSpec{Command: []string{"sh", "-c", "ip -o -4 addr show eth0"},
		NetworkMode: runtime.NetworkContainer(pause)}, "member")
	start(t, member)
	st, err := c.InspectContainer(ctx, pause)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Networks) != 1 || st.Networks[0].Network != name || st.Networks[0].NetworkID != n.ID || st.Networks[0].IPAddress == "" || st.Networks[0].MACAddress == "" {
		t.Fatalf("pause networks = %+v", st.Networks)
	}
	if _, err := c.WaitContainer(ctx, member); err != nil {
		t.Fatal(err)
	}
	if out := strings.Join(lines(logs(t, member), runtime.Stdout), "\n"); !strings.Contains(out, " "+st.Networks[0].IPAddress+"/") {
		t.Errorf("member sees %q, want the pause container's address %s", out, st.Networks[0].IPAddress)
	}

	nets, err := c.ListNetworks(ctx, map[string]string{runLabel: testRun})
	if err != nil || !slices.ContainsFunc(nets, func(x runtime.Network) bool { return x.ID == n.ID && x.Labels[runLabel] == testRun }) {
		t.Errorf("ListNetworks(label) = %+v, %v; want %s among them", nets, err, n.ID)
	}
	if err := c.RemoveNetwork(ctx, n.ID); !errors.Is(err, runtime.ErrConflict) {
		t.Errorf("RemoveNetwork(in use) = %v, want ErrConflict", err)
	}

	stats, err := c.ContainerStats(ctx, pause)
	if err != nil {
		t.Fatal(err)
	}
	if stats.MemoryLimitBytes != 32<<20 || stats.MemoryUsageBytes == 0 || stats.OnlineCPUs < 1 || stats.Time.IsZero() {
		t.Errorf("stats = %+v", stats)
	}

	if err := c.RemoveContainer(ctx, member); err != nil {
		t.Fatal(err)
	}
	if err := c.RemoveContainer(ctx, pause); err != nil {
		t.Fatal(err)
	}
	if err := c.RemoveNetwork(ctx, n.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.RemoveNetwork(ctx, n.ID); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("RemoveNetwork(removed) = %v, want ErrNotFound", err)
	}
}
