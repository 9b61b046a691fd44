package task_test

// These tests run tasks as real containers on the local Docker Engine and
// skip, saying so, when none answers. Every container, volume and network
// they make carries a per-test agent instance label and is removed when
// the test ends. Images are built from Debian's busybox-static
// (internal/testimg); the awsvpc pause image is this test binary itself,
// which answers "pause" in TestMain.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api/ecsapi"
	"github.com/wharfhq/wharf/internal/agent/task"
	"github.com/wharfhq/wharf/internal/agentproto"
	"github.com/wharfhq/wharf/internal/ptr"
	"github.com/wharfhq/wharf/internal/runtime"
	"github.com/wharfhq/wharf/internal/runtime/docker"
	"github.com/wharfhq/wharf/internal/testimg"
)

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == task.PauseArg {
		os.Exit(task.Pause())
	}
	code := m.Run()
	if pauseRef != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if c, err := docker.Dial(ctx, docker.Options{}); err == nil {
			if err := c.RemoveImage(ctx, pauseRef, true); err != nil {
				fmt.Fprintln(os.Stderr, "remove pause image:", err)
			}
		}
	}
	os.Exit(code)
}

// The pause image of this test binary, loaded once and shared by the
// tests that need it; TestMain removes it at the end.
var (
	pauseOnce sync.Once
	pauseRef  string
	pauseErr  error
)

func pauseImage(t *testing.T, rt *docker.Client) string {
	t.Helper()
	pauseOnce.Do(func() { pauseRef, pauseErr = task.EnsurePauseImage(context.Background(), rt, "") })
	if pauseErr != nil {
		t.Fatal(pauseErr)
	}
	return pauseRef
}

var testRun = fmt.Sprintf("%d-%d", os.Getpid(), time.Now().UnixNano()%1e6)

// recorder keeps every Change a Manager reports.
type recorder struct {
	mu      sync.Mutex
	changes []task.Change
	wake    chan struct{}
}

func (r *recorder) report(c task.Change) {
	r.mu.Lock()
	r.changes = append(r.changes, c)
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// harness is a Manager on the real engine with a test's own instance ID.
type harness struct {
	t        *testing.T
	rt       *docker.Client
	instance string
	image    string // busybox, loaded for this test
	rec      *recorder
	m        *task.Manager
	cfg      task.Config
}

func newHarness(t *testing.T, mod func(*task.Config)) *harness {
	t.Helper()
	rt := testimg.Engine(t)
	img := testimg.Busybox(t)
	tn := strings.NewReplacer("/", "-", "_", "-").Replace(strings.ToLower(t.Name()))
	h := &harness{t: t, rt: rt, instance: "wharf-test-" + tn + "-" + testRun,
		image: "wharf-test-task-busybox:" + testRun + "-" + tn, rec: &recorder{wake: make(chan struct{}, 1)}}
	testimg.LoadDocker(t, img, h.image)
	h.cfg = task.Config{
		Runtime: rt, PullBehavior: task.PullPreferCached, CleanupWait: time.Hour, Report: h.rec.report,
		Host: task.HostConfig{InstanceID: h.instance, Region: "us-east-1"},
	}
	if mod != nil {
		mod(&h.cfg)
	}
	t.Cleanup(h.removeAll)
	h.start()
	return h
}

func (h *harness) start() {
	h.t.Helper()
	h.m = task.NewManager(h.cfg)
	if err := h.m.Start(h.t.Context()); err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(h.m.Stop)
}

// removeAll removes whatever this test's agent left.
func (h *harness) removeAll() {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	h.m.Stop()
	cs, _ := h.rt.ListContainers(ctx, map[string]string{task.LabelInstance: h.instance})
	for _, c := range cs {
		if c.Labels[task.LabelRole] != "pause" {
			_ = h.rt.RemoveContainer(ctx, c.ID)
		}
	}
	for _, c := range cs {
		if c.Labels[task.LabelRole] == "pause" {
			_ = h.rt.RemoveContainer(ctx, c.ID)
		}
	}
	vols, _ := h.rt.ListVolumes(ctx, map[string]string{task.LabelInstance: h.instance})
	for _, v := range vols {
		if err := h.rt.RemoveVolume(ctx, v); err != nil {
			h.t.Errorf("cleanup: %v", err)
		}
	}
}

// newTask is a task of this test with the given network mode and containers.
func (h *harness) newTask(mode string, defs ...ecsapi.ContainerDefinition) *agentproto.Task {
	family := strings.NewReplacer("/", "-", "_", "-").Replace(strings.ToLower(h.t.Name()))
	t := &agentproto.Task{
		TaskARN:       "arn:aws:ecs:us-east-1:000000000000:task/test/" + family + "-" + testRun,
		ClusterARN:    "arn:aws:ecs:us-east-1:000000000000:cluster/test",
		DesiredStatus: "RUNNING", LaunchType: "EC2",
		Definition: ecsapi.TaskDefinition{Family: ptr.To(family), Revision: ptr.To[int32](1), NetworkMode: ptr.To(mode)},
	}
	for i := range defs {
		if defs[i].Image == nil {
			defs[i].Image = ptr.To(h.image)
		}
		t.Definition.ContainerDefinitions = append(t.Definition.ContainerDefinitions, defs[i])
		t.Containers = append(t.Containers, agentproto.Container{Name: *defs[i].Name, ContainerARN: t.TaskARN + "/" + *defs[i].Name})
	}
	return t
}

// waitFor waits until a reported Change satisfies ok, failing after d.
func (h *harness) waitFor(what string, d time.Duration, ok func(task.Change) bool) task.Change {
	h.t.Helper()
	deadline := time.After(d)
	seen := 0
	for {
		h.rec.mu.Lock()
		cs := h.rec.changes[seen:]
		seen = len(h.rec.changes)
		h.rec.mu.Unlock()
		for _, c := range cs {
			if ok(c) {
				return c
			}
		}
		select {
		case <-h.rec.wake:
		case <-deadline:
			h.rec.mu.Lock()
			defer h.rec.mu.Unlock()
			var last task.Change
			if n := len(h.rec.changes); n > 0 {
				last = h.rec.changes[n-1]
			}
			h.t.Fatalf("timed out waiting for %s; last change: %s", what, describe(last))
		}
	}
}

func stopped(c task.Change) bool { return c.Status == task.StatusStopped }
func running(c task.Change) bool { return c.Status == task.StatusRunning }

func describe(c task.Change) string {
	var b strings.Builder
	fmt.Fprintf(&b, "task %s %s %q", c.Status, c.StopCode, c.StoppedReason)
	for _, x := range c.Containers {
		code := "-"
		if x.ExitCode != nil {
			code = fmt.Sprint(*x.ExitCode)
		}
		fmt.Fprintf(&b, "; %s %s exit=%s health=%s reason=%q ports=%v", x.Name, x.Status, code, x.Health, x.Reason, x.NetworkBindings)
	}
	return b.String()
}

func container(c task.Change, name string) task.ContainerChange {
	for _, x := range c.Containers {
		if x.Name == name {
			return x
		}
	}
	return task.ContainerChange{}
}

func sh(script string) []string { return []string{"sh", "-c", script} }

func (h *harness) inspect(id string) runtime.ContainerStatus {
	h.t.Helper()
	st, err := h.rt.InspectContainer(h.t.Context(), id)
	if err != nil {
		h.t.Fatal(err)
	}
	return st
}

func (h *harness) stop(t *agentproto.Task, reason string) {
	cp := *t
	cp.DesiredStatus, cp.StopCode, cp.StoppedReason = "STOPPED", "UserInitiated", reason
	h.m.Apply(&cp)
}

func TestAwsvpcContainersShareLocalhost(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.cfg.Host.PauseImage = pauseImage(t, h.rt)
	h.m.Stop()
	h.start()

	octet := os.Getpid()%200 + 20
	netName := "wharf-test-awsvpc-" + testRun
	t.Cleanup(func() { _ = h.rt.RemoveNetwork(context.Background(), netName) }) // after removeAll (LIFO)
	tk := h.newTask("awsvpc",
		ecsapi.ContainerDefinition{Name: ptr.To("web"), Command: sh("echo hello-from-web > /tmp/index.html; exec httpd -f -p 8080 -h /tmp"), StopTimeout: ptr.To[int32](1)},
		ecsapi.ContainerDefinition{Name: ptr.To("client"), Essential: ptr.To(false),
			Command:   sh("for i in $(seq 100); do wget -q -O - http://127.0.0.1:8080/index.html && exit 0; sleep 0.1; done; exit 1"),
			DependsOn: []ecsapi.ContainerDependency{{ContainerName: ptr.To("web"), Condition: ptr.To("START")}}},
	)
	tk.ENI = &agentproto.ENI{
		Network: netName, SubnetCIDR: fmt.Sprintf("10.252.%d.0/24", octet), Gateway: fmt.Sprintf("10.252.%d.1", octet),
		PrivateIPv4: fmt.Sprintf("10.252.%d.10", octet), MACAddress: "02:42:0a:fc:00:0a",
	}
	h.m.Apply(tk)
	c := h.waitFor("client to finish", 60*time.Second, func(c task.Change) bool {
		return container(c, "client").Status == task.StatusStopped || stopped(c)
	})
	if cl := container(c, "client"); cl.ExitCode == nil || *cl.ExitCode != 0 || c.Status != task.StatusRunning {
		t.Fatalf("client over localhost: %s", describe(c))
	}
	// The pause container holds exactly the ENI's address.
	cs, err := h.rt.ListContainers(t.Context(), map[string]string{task.LabelInstance: h.instance, task.LabelRole: "pause"})
	if err != nil || len(cs) != 1 {
		t.Fatalf("pause containers: %v, %v", cs, err)
	}
	st := h.inspect(cs[0].ID)
	if len(st.Networks) != 1 || st.Networks[0].IPAddress != tk.ENI.PrivateIPv4 || st.Networks[0].MACAddress != tk.ENI.MACAddress || st.Networks[0].Network != netName {
		t.Errorf("pause networks = %+v, want %s %s on %s", st.Networks, tk.ENI.PrivateIPv4, tk.ENI.MACAddress, netName)
	}
	nets, _ := h.rt.ListNetworks(t.Context(), map[string]string{task.LabelManaged: "true"})
	found := false
	for _, n := range nets {
		found = found || n.Name == netName
	}
	if !found {
		t.Errorf("network %s was not created with the %s label", netName, task.LabelManaged)
	}

	h.stop(tk, "Task stopped by test")
	c = h.waitFor("task STOPPED", 30*time.Second, stopped)
	if c.StopCode != "UserInitiated" || c.StoppedReason != "Task stopped by test" || container(c, "web").Status != task.StatusStopped || c.ExecutionStoppedAt.IsZero() {
		t.Errorf("stopped: %s", describe(c))
	}
	if st := h.inspect(cs[0].ID); st.State != runtime.StateStopped {
		t.Errorf("pause container still %s", st.State)
	}
}

func TestBridgeDynamicHostPort(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	tk := h.newTask("bridge", ecsapi.ContainerDefinition{
		Name: ptr.To("web"), Command: sh("echo hello-bridge > /tmp/index.html; exec httpd -f -p 8080 -h /tmp"), StopTimeout: ptr.To[int32](1),
		PortMappings: []ecsapi.PortMapping{{ContainerPort: ptr.To[int32](8080)}},
	})
	h.m.Apply(tk)
	c := h.waitFor("RUNNING", 30*time.Second, func(c task.Change) bool { return running(c) || stopped(c) })
	web := container(c, "web")
	if c.Status != task.StatusRunning || len(web.NetworkBindings) == 0 {
		t.Fatalf("task: %s", describe(c))
	}
	b := web.NetworkBindings[0]
	if b.ContainerPort != 8080 || b.HostPort == 0 || b.Protocol != "tcp" || b.BindIP == "" {
		t.Fatalf("binding %+v", b)
	}
	if web.RuntimeID == "" || !strings.HasPrefix(web.ImageDigest, "sha256:") || web.ContainerARN != tk.TaskARN+"/web" {
		t.Errorf("container: %+v", web)
	}
	var body string
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/index.html", b.HostPort))
		if err == nil {
			data, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(data)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if strings.TrimSpace(body) != "hello-bridge" {
		t.Errorf("GET 127.0.0.1:%d = %q", b.HostPort, body)
	}
	st := h.inspect(web.RuntimeID)
	if !strings.HasPrefix(st.Name, "ecs-"+*tk.Definition.Family+"-1-web-") || st.Labels[task.LabelTaskARN] != tk.TaskARN || st.CPUShares != 2 {
		t.Errorf("runtime container %s labels %v shares %d", st.Name, st.Labels, st.CPUShares)
	}
}

func TestEssentialContainerExit(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	tk := h.newTask("bridge",
		ecsapi.ContainerDefinition{Name: ptr.To("main"), Command: sh("sleep 1; exit 3")},
		ecsapi.ContainerDefinition{Name: ptr.To("side"), Essential: ptr.To(false), Command: []string{"sleep", "600"}, StopTimeout: ptr.To[int32](1)},
	)
	h.m.Apply(tk)
	c := h.waitFor("STOPPED", 30*time.Second, stopped)
	m, s := container(c, "main"), container(c, "side")
	if c.StopCode != task.StopEssentialExited || c.StoppedReason != task.ReasonEssentialExit || m.ExitCode == nil || *m.ExitCode != 3 ||
		s.Status != task.StatusStopped || s.ExitCode == nil || *s.ExitCode != 137 {
		t.Errorf("stopped task: %s", describe(c))
	}
	if c.PullStartedAt.IsZero() != c.PullStoppedAt.IsZero() || c.ExecutionStoppedAt.IsZero() {
		t.Errorf("times: pull %v–%v stopped %v", c.PullStartedAt, c.PullStoppedAt, c.ExecutionStoppedAt)
	}
	// executionStoppedAt is when the last container (side, stopped after
	// main exited) finished, by the engine's clock.
	if fin := h.inspect(s.RuntimeID).FinishedAt; !c.ExecutionStoppedAt.Equal(fin) {
		t.Errorf("executionStoppedAt %v, want side's FinishedAt %v", c.ExecutionStoppedAt, fin)
	}
}

func TestDependsOnOrdering(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	tk := h.newTask("bridge",
		ecsapi.ContainerDefinition{Name: ptr.To("app"), Command: []string{"sleep", "600"}, StopTimeout: ptr.To[int32](1),
			DependsOn: []ecsapi.ContainerDependency{
				{ContainerName: ptr.To("init"), Condition: ptr.To("SUCCESS")},
				{ContainerName: ptr.To("db"), Condition: ptr.To("HEALTHY")},
				{ContainerName: ptr.To("side"), Condition: ptr.To("START")},
			}},
		ecsapi.ContainerDefinition{Name: ptr.To("init"), Essential: ptr.To(false), Command: sh("sleep 1; exit 0")},
		ecsapi.ContainerDefinition{Name: ptr.To("db"), Command: sh("sleep 2; touch /tmp/ok; exec sleep 600"), StopTimeout: ptr.To[int32](1),
			HealthCheck: &ecsapi.HealthCheck{Command: []string{"CMD-SHELL", "test -f /tmp/ok"}, Interval: ptr.To[int32](1), Retries: ptr.To[int32](3), Timeout: ptr.To[int32](1)}},
		ecsapi.ContainerDefinition{Name: ptr.To("side"), Essential: ptr.To(false), Command: []string{"sleep", "600"}, StopTimeout: ptr.To[int32](1),
			DependsOn: []ecsapi.ContainerDependency{{ContainerName: ptr.To("db"), Condition: ptr.To("START")}}},
	)
	h.m.Apply(tk)
	c := h.waitFor("RUNNING", 60*time.Second, func(c task.Change) bool { return running(c) || stopped(c) })
	if c.Status != task.StatusRunning || container(c, "db").Health != runtime.HealthHealthy {
		t.Fatalf("task: %s", describe(c))
	}
	st := map[string]runtime.ContainerStatus{}
	for _, x := range c.Containers {
		st[x.Name] = h.inspect(x.RuntimeID)
	}
	if !st["app"].StartedAt.After(st["init"].FinishedAt) {
		t.Errorf("app started %v, before init (SUCCESS) finished %v", st["app"].StartedAt, st["init"].FinishedAt)
	}
	if st["app"].StartedAt.Sub(st["db"].StartedAt) < 2*time.Second {
		t.Errorf("app started %v, less than 2 s after db %v (HEALTHY needs /tmp/ok, made after 2 s)", st["app"].StartedAt, st["db"].StartedAt)
	}
	if st["side"].StartedAt.Before(st["db"].StartedAt) {
		t.Errorf("side started %v before db (START) %v", st["side"].StartedAt, st["db"].StartedAt)
	}
	if init := container(c, "init"); init.ExitCode == nil || *init.ExitCode != 0 || init.Status != task.StatusStopped {
		t.Errorf("init: %+v", init)
	}
	h.stop(tk, "done")
	h.waitFor("STOPPED", 30*time.Second, stopped)
}

func TestDependsOnNeverSatisfied(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	tk := h.newTask("bridge",
		ecsapi.ContainerDefinition{Name: ptr.To("init"), Essential: ptr.To(false), Command: sh("exit 1")},
		ecsapi.ContainerDefinition{Name: ptr.To("app"), Command: []string{"sleep", "600"},
			DependsOn: []ecsapi.ContainerDependency{{ContainerName: ptr.To("init"), Condition: ptr.To("SUCCESS")}}},
	)
	h.m.Apply(tk)
	c := h.waitFor("STOPPED", 30*time.Second, stopped)
	app := container(c, "app")
	if c.StopCode != task.StopFailedToStart || !strings.Contains(c.StoppedReason, "init") || app.ExitCode != nil || app.Status != task.StatusStopped {
		t.Errorf("task: %s", describe(c))
	}
	if st := h.inspect(app.RuntimeID); !st.StartedAt.IsZero() {
		t.Errorf("app was started at %v", st.StartedAt)
	}
}

func TestHealthCheckUnhealthy(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	tk := h.newTask("bridge", ecsapi.ContainerDefinition{Name: ptr.To("sick"), Command: []string{"sleep", "600"}, StopTimeout: ptr.To[int32](1),
		HealthCheck: &ecsapi.HealthCheck{Command: []string{"CMD-SHELL", "exit 1"}, Interval: ptr.To[int32](1), Retries: ptr.To[int32](1), Timeout: ptr.To[int32](1)}})
	h.m.Apply(tk)
	c := h.waitFor("UNHEALTHY", 30*time.Second, func(c task.Change) bool { return container(c, "sick").Health == runtime.HealthUnhealthy || stopped(c) })
	if c.Status != task.StatusRunning {
		t.Errorf("task: %s", describe(c))
	}
	h.stop(tk, "done")
	h.waitFor("STOPPED", 30*time.Second, stopped)
}

func TestStopTimeoutHonoured(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	// sleep as PID 1 has no SIGTERM handler, so the kernel drops SIGTERM:
	// only SIGKILL after stopTimeout ends it.
	tk := h.newTask("bridge", ecsapi.ContainerDefinition{Name: ptr.To("stubborn"), Command: []string{"sleep", "600"}, StopTimeout: ptr.To[int32](3)})
	h.m.Apply(tk)
	h.waitFor("RUNNING", 30*time.Second, running)
	start := time.Now()
	h.stop(tk, "stop it")
	c := h.waitFor("STOPPED", 30*time.Second, stopped)
	took := time.Since(start)
	s := container(c, "stubborn")
	if took < 3*time.Second || took > 15*time.Second || s.ExitCode == nil || *s.ExitCode != 137 {
		t.Errorf("stop took %v (want ≥ 3 s, the stopTimeout), container %+v", took, s)
	}
}

func TestMissingImage(t *testing.T) {
	t.Parallel()
	var authAsked []string
	var mu sync.Mutex
	h := newHarness(t, func(c *task.Config) {
		c.PullBehavior = task.PullAlways
		c.Auth = func(_ context.Context, _, image string) (*runtime.Auth, error) {
			mu.Lock()
			defer mu.Unlock()
			authAsked = append(authAsked, image)
			return &runtime.Auth{Username: "AWS", Password: "x"}, nil
		}
	})
	img := "127.0.0.1:1/wharf-test/missing:1"
	tk := h.newTask("bridge", ecsapi.ContainerDefinition{Name: ptr.To("app"), Image: ptr.To(img)})
	h.m.Apply(tk)
	c := h.waitFor("STOPPED", 60*time.Second, stopped)
	if c.StopCode != task.StopFailedToStart || !strings.HasPrefix(c.StoppedReason, "CannotPullContainerError: ") ||
		!strings.HasPrefix(container(c, "app").Reason, "CannotPullContainerError: ") || c.PullStartedAt.IsZero() || c.PullStoppedAt.IsZero() {
		t.Errorf("task: %s", describe(c))
	}
	if cs, _ := h.rt.ListContainers(t.Context(), map[string]string{task.LabelInstance: h.instance}); len(cs) != 0 {
		t.Errorf("%d containers were created", len(cs))
	}
	mu.Lock()
	defer mu.Unlock()
	if len(authAsked) != 1 || authAsked[0] != img {
		t.Errorf("Auth asked for %v", authAsked)
	}
}

func TestAdoptAfterAgentRestart(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	tk := h.newTask("bridge",
		ecsapi.ContainerDefinition{Name: ptr.To("main"), Command: []string{"sleep", "600"}, StopTimeout: ptr.To[int32](1)},
		ecsapi.ContainerDefinition{Name: ptr.To("worker"), Essential: ptr.To(false), Command: sh("sleep 2; exit 4")},
	)
	h.m.Apply(tk)
	c := h.waitFor("RUNNING", 30*time.Second, running)
	mainID, workerID := container(c, "main").RuntimeID, container(c, "worker").RuntimeID
	startedAt := h.inspect(mainID).StartedAt

	h.m.Stop() // the agent goes away; its containers keep running
	deadline := time.Now().Add(20 * time.Second)
	for h.inspect(workerID).State != runtime.StateStopped {
		if time.Now().After(deadline) {
			t.Fatal("worker did not exit")
		}
		time.Sleep(100 * time.Millisecond)
	}
	h.rec.mu.Lock()
	h.rec.changes = nil
	h.rec.mu.Unlock()

	h.start() // a new agent process
	h.m.Apply(tk)
	c = h.waitFor("adopted state", 30*time.Second, func(c task.Change) bool { return container(c, "worker").Status == task.StatusStopped })
	m, w := container(c, "main"), container(c, "worker")
	if c.Status != task.StatusRunning || m.RuntimeID != mainID || m.Status != task.StatusRunning || w.ExitCode == nil || *w.ExitCode != 4 {
		t.Fatalf("adopted: %s", describe(c))
	}
	if st := h.inspect(mainID); !st.StartedAt.Equal(startedAt) || st.State != runtime.StateRunning {
		t.Errorf("main restarted: started %v, was %v", st.StartedAt, startedAt)
	}
	cs, _ := h.rt.ListContainers(t.Context(), map[string]string{task.LabelInstance: h.instance})
	if len(cs) != 2 {
		t.Errorf("%d containers after adoption, want 2", len(cs))
	}
	// The adopted task is watched: stopping it works through events.
	h.stop(tk, "bye")
	c = h.waitFor("STOPPED", 30*time.Second, stopped)
	if c.StopCode != "UserInitiated" || container(c, "main").ExitCode == nil {
		t.Errorf("stopped: %s", describe(c))
	}
}

func TestCleanupRemovesContainersAndTaskVolumes(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *task.Config) { c.CleanupWait = time.Second })
	tk := h.newTask("bridge",
		ecsapi.ContainerDefinition{Name: ptr.To("writer"), Essential: ptr.To(false), Command: sh("echo shared > /scratch/f"),
			MountPoints: []ecsapi.MountPoint{{SourceVolume: ptr.To("scratch"), ContainerPath: ptr.To("/scratch")}}},
		ecsapi.ContainerDefinition{Name: ptr.To("reader"), Command: sh("test \"$(cat /scratch/f)\" = shared"),
			MountPoints: []ecsapi.MountPoint{{SourceVolume: ptr.To("scratch"), ContainerPath: ptr.To("/scratch")}},
			DependsOn:   []ecsapi.ContainerDependency{{ContainerName: ptr.To("writer"), Condition: ptr.To("SUCCESS")}}},
	)
	tk.Definition.Volumes = []ecsapi.Volume{{Name: ptr.To("scratch"), Host: &ecsapi.HostVolumeProperties{}}}
	h.m.Apply(tk)
	c := h.waitFor("STOPPED", 30*time.Second, stopped)
	if r := container(c, "reader"); r.ExitCode == nil || *r.ExitCode != 0 {
		t.Fatalf("reader did not see the writer's file in the task's scratch volume: %s", describe(c))
	}
	c = h.waitFor("the report after cleanup", 30*time.Second, func(c task.Change) bool {
		return stopped(c) && container(c, "reader").RuntimeID == "" && container(c, "writer").RuntimeID == ""
	})
	if r := container(c, "reader"); r.ExitCode == nil || *r.ExitCode != 0 {
		t.Errorf("the last report lost the exit code: %s", describe(c))
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		cs, err := h.rt.ListContainers(t.Context(), map[string]string{task.LabelInstance: h.instance})
		vs, verr := h.rt.ListVolumes(t.Context(), map[string]string{task.LabelInstance: h.instance})
		if err == nil && verr == nil && len(cs) == 0 && len(vs) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after cleanup: containers %v volumes %v (%v %v)", cs, vs, err, verr)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// A cleaned-up task is never started again by a repeated assignment.
	h.m.Apply(tk)
	time.Sleep(500 * time.Millisecond)
	if cs, _ := h.rt.ListContainers(t.Context(), map[string]string{task.LabelInstance: h.instance}); len(cs) != 0 {
		t.Errorf("a finished task was started again: %v", cs)
	}
}

func TestPruneImages(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	img := testimg.Busybox(t)
	unused, used, pinned := h.image+"-unused", h.image+"-used", h.image+"-pinned"
	for _, ref := range []string{unused, used, pinned} {
		testimg.LoadDocker(t, img, ref)
	}
	tk := h.newTask("bridge", ecsapi.ContainerDefinition{Name: ptr.To("c"), Image: ptr.To(used), Command: sh("exit 0")})
	h.m.Apply(tk)
	h.waitFor("STOPPED", 30*time.Second, stopped) // its container stays until cleanup

	now := time.Now()
	used1 := h.m.ImagesUsed(now)
	if at, ok := used1[used]; !ok || now.Sub(at) > time.Minute {
		t.Errorf("ImagesUsed = %v; want %s used just now", used1, used)
	}
	last := map[string]time.Time{unused: now.Add(-2 * time.Hour), used: now.Add(-2 * time.Hour), pinned: now.Add(-2 * time.Hour), h.image: now}
	removed, err := task.PruneImages(t.Context(), h.rt, last, []string{pinned}, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 1 || removed[0] != unused {
		t.Errorf("removed %v, want only %s (the others are used by a container, pinned, or recent)", removed, unused)
	}
	for ref, want := range map[string]bool{unused: false, used: true, pinned: true, h.image: true} {
		if ok, err := h.rt.ImageExists(t.Context(), ref); err != nil || ok != want {
			t.Errorf("%s exists = %v, %v; want %v", ref, ok, err, want)
		}
	}
}

func TestUnplannableTaskStopsWithReason(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	tk := h.newTask("bridge", ecsapi.ContainerDefinition{Name: ptr.To("app"),
		EnvironmentFiles: []ecsapi.EnvironmentFile{{Type: ptr.To("s3"), Value: ptr.To("s3://bucket/app.env")}}})
	h.m.Apply(tk)
	c := h.waitFor("STOPPED", 10*time.Second, stopped)
	if c.StopCode != task.StopFailedToStart || !strings.Contains(c.StoppedReason, "want the ARN of an S3 object") ||
		len(c.Containers) != 1 || c.Containers[0].Status != task.StatusStopped || c.Containers[0].ContainerARN != tk.TaskARN+"/app" {
		t.Errorf("task: %s", describe(c))
	}
}

func TestPauseImageStopsOnSIGTERM(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	ref := pauseImage(t, h.rt)
	if !strings.HasPrefix(ref, task.PauseRepository+":") || len(ref) != len(task.PauseRepository)+13 {
		t.Errorf("pause image ref %q", ref)
	}
	again, err := task.EnsurePauseImage(t.Context(), h.rt, "")
	if err != nil || again != ref {
		t.Errorf("second EnsurePauseImage = %q, %v; want %q", again, err, ref)
	}
	id, err := h.rt.CreateContainer(t.Context(), runtime.ContainerSpec{Image: ref, Labels: map[string]string{task.LabelInstance: h.instance}, NetworkMode: "none"})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.rt.StartContainer(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	logs, err := h.rt.ContainerLogs(t.Context(), id, runtime.LogOptions{Follow: true})
	if err != nil {
		t.Fatal(err)
	}
	for { // wait until the process handles SIGTERM
		e, err := logs.Next()
		if err != nil {
			t.Fatalf("pause output ended before %q: %v", task.PauseReady, err)
		}
		if e.Line == task.PauseReady {
			break
		}
	}
	logs.Close()
	if st := h.inspect(id); st.State != runtime.StateRunning {
		t.Fatalf("pause container %s (exit %d): it should block", st.State, st.ExitCode)
	}
	start := time.Now()
	if err := h.rt.StopContainer(t.Context(), id, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	if st := h.inspect(id); time.Since(start) > 10*time.Second || st.ExitCode != 0 {
		t.Errorf("stop took %v, exit %d; want a prompt exit 0 on SIGTERM", time.Since(start), st.ExitCode)
		if s, err := h.rt.ContainerLogs(context.Background(), id, runtime.LogOptions{}); err == nil {
			for e, err := s.Next(); err == nil; e, err = s.Next() {
				t.Logf("pause: %s", e.Line)
			}
			s.Close()
		}
	}
}

func TestAgentStopsWhileTaskStops(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	tk := h.newTask("bridge", ecsapi.ContainerDefinition{Name: ptr.To("stubborn"), Command: []string{"sleep", "600"}, StopTimeout: ptr.To[int32](4)})
	h.m.Apply(tk)
	c := h.waitFor("RUNNING", 30*time.Second, running)
	id := container(c, "stubborn").RuntimeID
	h.stop(tk, "stop during shutdown")
	time.Sleep(500 * time.Millisecond) // the runner is now waiting out the stopTimeout
	begin := time.Now()
	h.m.Stop()
	if took := time.Since(begin); took > 3*time.Second {
		t.Errorf("Manager.Stop took %v: it should not wait out a task's stopTimeout", took)
	}
	h.rec.mu.Lock()
	for _, c := range h.rec.changes {
		if stopped(c) {
			t.Errorf("a STOPPED change was reported while the agent shut down: %s", describe(c))
		}
	}
	h.rec.changes = nil
	h.rec.mu.Unlock()

	// The next agent process sees the stop through.
	h.start()
	stop := *tk
	stop.DesiredStatus, stop.StopCode, stop.StoppedReason = "STOPPED", "UserInitiated", "stop during shutdown"
	h.m.Apply(&stop)
	c = h.waitFor("STOPPED", 30*time.Second, stopped)
	if c.StopCode != "UserInitiated" || c.StoppedReason != "stop during shutdown" || container(c, "stubborn").RuntimeID != id {
		t.Errorf("after restart: %s", describe(c))
	}
	if st := h.inspect(id); st.State != runtime.StateStopped {
		t.Errorf("container %s", st.State)
	}
}

// TestPullBehaviors runs an image cached locally under the name of a
// registry that refuses connections, with each pull behaviour.
func TestPullBehaviors(t *testing.T) {
	t.Parallel()
	cached := "127.0.0.1:1/wharf-test/cached:" + testRun
	for _, tc := range []struct {
		behavior string
		pulls    bool // pullStartedAt set
		runs     bool
	}{
		{task.PullDefault, true, true},       // the pull fails; the cached image is used
		{task.PullAlways, true, false},       // the pull fails; so does the task
		{task.PullPreferCached, false, true}, // cached: no pull
		{task.PullOnce, false, true},
	} {
		t.Run(tc.behavior, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, func(c *task.Config) { c.PullBehavior = tc.behavior })
			ref := cached + "-" + tc.behavior
			testimg.LoadDocker(t, testimg.Busybox(t), ref)
			tk := h.newTask("bridge", ecsapi.ContainerDefinition{Name: ptr.To("app"), Image: ptr.To(ref), Command: sh("exit 0")})
			h.m.Apply(tk)
			c := h.waitFor("STOPPED", 60*time.Second, stopped)
			app := container(c, "app")
			ran := app.ExitCode != nil && *app.ExitCode == 0 && c.StopCode == task.StopEssentialExited
			if ran != tc.runs || c.PullStartedAt.IsZero() == tc.pulls {
				t.Errorf("%s: ran %v (want %v), pullStartedAt %v (want set: %v): %s", tc.behavior, ran, tc.runs, c.PullStartedAt, tc.pulls, describe(c))
			}
			if !tc.runs && !strings.HasPrefix(c.StoppedReason, "CannotPullContainerError") {
				t.Errorf("reason %q", c.StoppedReason)
			}
		})
	}
}
