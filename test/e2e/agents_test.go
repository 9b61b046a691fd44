package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/wharfhq/wharf/internal/testimg"
)

// host is a network namespace made by the test: a machine of its own,
// joined to the test's host by a veth pair.
type host struct {
	name   string
	hostIP string // the test host's side
	nsIP   string // the namespace's side
}

// newHost makes namespace n (1..) with 10.99.n.2 inside and 10.99.n.1 on
// the test host's side, and removes it when the test ends.
func newHost(t testing.TB, n int) *host {
	t.Helper()
	h := &host{name: fmt.Sprintf("wharf-h%d-%d", n, os.Getpid()%10000), hostIP: fmt.Sprintf("10.99.%d.1", n), nsIP: fmt.Sprintf("10.99.%d.2", n)}
	veth := fmt.Sprintf("wh%dv%d", n, os.Getpid()%10000)
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("netns", "add", h.name)
	t.Cleanup(func() {
		_ = exec.Command("ip", "link", "del", veth+"a").Run()
		_ = exec.Command("ip", "netns", "del", h.name).Run()
	})
	run("link", "add", veth+"a", "type", "veth", "peer", "name", veth+"b")
	run("link", "set", veth+"b", "netns", h.name)
	run("addr", "add", h.hostIP+"/24", "dev", veth+"a")
	run("link", "set", veth+"a", "up")
	run("netns", "exec", h.name, "ip", "addr", "add", h.nsIP+"/24", "dev", veth+"b")
	run("netns", "exec", h.name, "ip", "link", "set", veth+"b", "up")
	run("netns", "exec", h.name, "ip", "link", "set", "lo", "up")
	return h
}

// agentProc is a `wharf agent` running in a host's namespace.
type agentProc struct {
	t       testing.TB
	h       *host
	dataDir string
	args    []string
	env     []string
	cmd     *exec.Cmd
	out     *bytes.Buffer
}

// startAgent runs `wharf agent` in h, against the wharf at port, joining
// cluster, with its state in dataDir, polling every 2 s.
func startAgent(t testing.TB, w *wharf, h *host, cluster, az, dataDir string) *agentProc {
	t.Helper()
	return startAgentArgs(t, w, h, cluster, az, dataDir, "--poll-wait", "2s")
}

// startAgentArgs is startAgent with the agent's own defaults and extra
// arguments.
func startAgentArgs(t testing.TB, w *wharf, h *host, cluster, az, dataDir string, extra ...string) *agentProc {
	t.Helper()
	_, port, _ := strings.Cut(w.addr, ":")
	a := &agentProc{t: t, h: h, dataDir: dataDir,
		args: append([]string{"netns", "exec", h.name, binary, "agent", "--endpoint", "http://" + h.hostIP + ":" + port, "--cluster", cluster,
			"--data-dir", dataDir, "--availability-zone", az, "--log-level", "debug"}, extra...),
		env: []string{"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(w.dataDir, "credentials"),
			"AWS_CONFIG_FILE=" + filepath.Join(w.dataDir, "config"), "HOME=" + dataDir, "PATH=/usr/sbin:/usr/bin:/sbin:/bin"}}
	a.start()
	t.Cleanup(func() { a.stop(syscall.SIGTERM) })
	return a
}

func (a *agentProc) start() {
	a.t.Helper()
	a.out = &bytes.Buffer{}
	a.cmd = exec.Command("ip", a.args...)
	a.cmd.Env = a.env
	a.cmd.Stdout, a.cmd.Stderr = a.out, a.out
	if err := a.cmd.Start(); err != nil {
		a.t.Fatal(err)
	}
}

func (a *agentProc) stop(sig syscall.Signal) {
	if a.cmd == nil || a.cmd.Process == nil {
		return
	}
	_ = a.cmd.Process.Signal(sig)
	done := make(chan struct{})
	go func() { _ = a.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = a.cmd.Process.Kill()
		<-done
	}
	a.cmd = nil
}

// restartWharf stops w (SIGTERM) and starts it again on the same data dir
// and address with the same arguments.
func (w *wharf) restart(args ...string) {
	w.t.Helper()
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	if err := w.cmd.Wait(); err != nil {
		w.t.Fatalf("exit after SIGTERM: %v\n%s", err, w.out)
	}
	w.out = &bytes.Buffer{}
	w.cmd = exec.Command(binary, append([]string{"up", "--data-dir", w.dataDir, "--listen", w.addr}, args...)...)
	w.cmd.Stdout, w.cmd.Stderr = w.out, w.out
	if err := w.cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	w.waitHealthy()
}

func (w *wharf) waitHealthy() {
	w.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if resp, err := http.Get("http://" + w.addr + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("wharf never became healthy:\n%s", w.out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startWharfListening is startWharf on 0.0.0.0 (so namespaces reach it)
// with extra flags.
func startWharfListening(t testing.TB, args ...string) *wharf {
	t.Helper()
	_, port, _ := strings.Cut(freeAddr(t), ":")
	w := &wharf{t: t, dataDir: t.TempDir(), addr: "127.0.0.1:" + port, out: &bytes.Buffer{}}
	args = append([]string{"up", "--data-dir", w.dataDir, "--listen", "0.0.0.0:" + port, "--public-host", w.addr}, args...)
	w.cmd = exec.Command(binary, args...)
	w.cmd.Stdout, w.cmd.Stderr = w.out, w.out
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if w.cmd.ProcessState == nil {
			_ = w.cmd.Process.Signal(syscall.SIGTERM)
			_ = w.cmd.Wait()
		}
	})
	w.waitHealthy()
	return w
}

// agentCluster starts a wharf that agent hosts can reach (no FARGATE
// capacity; extra flags appended), pushes the test images, and creates
// cluster; it returns the wharf, its SDK config, an ECS client and the
// busybox image's reference.
func agentCluster(t testing.TB, cluster string, flags ...string) (*wharf, aws.Config, *ecs.Client, string) {
	t.Helper()
	w := startWharfListening(t, append([]string{"--fargate", "off"}, flags...)...)
	cfg := w.sdk()
	removeTaskContainers(t, w, cluster)
	_, busybox := w.pushImages(cfg)
	client := ecs.NewFromConfig(cfg)
	if _, err := client.CreateCluster(context.Background(), &ecs.CreateClusterInput{ClusterName: aws.String(cluster)}); err != nil {
		t.Fatal(err)
	}
	return w, cfg, client, busybox
}

// instances lists the cluster's container instances.
func instances(t testing.TB, client *ecs.Client, cluster string) []types.ContainerInstance {
	t.Helper()
	ctx := context.Background()
	list, err := client.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{Cluster: aws.String(cluster)})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.ContainerInstanceArns) == 0 {
		return nil
	}
	out, err := client.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{Cluster: aws.String(cluster),
		ContainerInstances: list.ContainerInstanceArns})
	if err != nil {
		t.Fatal(err)
	}
	return out.ContainerInstances
}

// taskContainers returns the IDs of the running containers of a task.
func taskContainers(t testing.TB, taskARN string) []string {
	t.Helper()
	c := testimg.Engine(t)
	ctrs, err := c.ListContainers(context.Background(), map[string]string{"com.amazonaws.ecs.task-arn": taskARN})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, ctr := range ctrs {
		if ctr.State == "RUNNING" {
			ids = append(ids, ctr.ID)
		}
	}
	return ids
}

// TestAgentsOnTwoHosts: two `wharf agent`s, each in a network namespace of
// its own, join one cluster. Spread placement puts a bridge-mode task on
// each, reachable on a dynamic host port; restarting an agent and
// restarting the control plane stop and duplicate nothing; losing a host
// is noticed and its task reported stopped.
func TestAgentsOnTwoHosts(t *testing.T) {
	needDocker(t)
	w, _, client, busybox := agentCluster(t, "fleet", "--instance-lost-timeout", "8s")
	ctx := context.Background()
	h1, h2 := newHost(t, 1), newHost(t, 2)
	a1 := startAgent(t, w, h1, "fleet", "us-east-1a", t.TempDir())
	a2 := startAgent(t, w, h2, "fleet", "us-east-1b", t.TempDir())
	deadline := time.Now().Add(30 * time.Second)
	for len(instances(t, client, "fleet")) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("agents never registered:\n--- agent 1\n%s\n--- agent 2\n%s", a1.out, a2.out)
		}
		time.Sleep(200 * time.Millisecond)
	}

	td, err := client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("httpd"),
		NetworkMode: types.NetworkModeBridge, ContainerDefinitions: []types.ContainerDefinition{{
			Name: aws.String("web"), Image: aws.String(busybox), Memory: aws.Int32(64), Essential: aws.Bool(true),
			Command:      []string{"sh", "-c", "echo hello from $(hostname) > /tmp/index.html; exec httpd -f -p 8080 -h /tmp"},
			PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(8080), HostPort: aws.Int32(0)}}}}})
	if err != nil {
		t.Fatal(err)
	}
	run, err := client.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("fleet"), TaskDefinition: td.TaskDefinition.TaskDefinitionArn,
		Count: aws.Int32(2), PlacementStrategy: []types.PlacementStrategy{{Type: types.PlacementStrategyTypeSpread, Field: aws.String("instanceId")}}})
	if err != nil || len(run.Tasks) != 2 {
		t.Fatalf("RunTask: %v %+v", err, run)
	}
	byInstance := map[string]string{}
	ctrs := map[string][]string{}
	for _, tk := range run.Tasks {
		arn := aws.ToString(tk.TaskArn)
		got := waitTask(t, client, "fleet", arn, 90*time.Second, "RUNNING", running)
		byInstance[aws.ToString(got.ContainerInstanceArn)] = arn
		b := got.Containers[0].NetworkBindings
		// Docker binds IPv4 and IPv6 (0.0.0.0 and ::), and ECS reports both.
		if len(b) == 0 || aws.ToInt32(b[0].HostPort) == 0 || aws.ToInt32(b[0].HostPort) == 8080 {
			t.Fatalf("network bindings: %+v", b)
		}
		if body := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/index.html", aws.ToInt32(b[0].HostPort)), 20*time.Second); !strings.HasPrefix(body, "hello from") {
			t.Fatalf("bridge task on its host port: %q", body)
		}
		ctrs[arn] = taskContainers(t, arn)
		if len(ctrs[arn]) != 1 {
			t.Fatalf("task %s runs %d containers, want 1", arn, len(ctrs[arn]))
		}
	}
	if len(byInstance) != 2 {
		t.Fatalf("spread put both tasks on one instance: %v", byInstance)
	}
	same := func(when string) {
		t.Helper()
		for arn, want := range ctrs {
			tk := waitTask(t, client, "fleet", arn, 30*time.Second, "RUNNING", running)
			if got := taskContainers(t, arn); len(got) != 1 || got[0] != want[0] {
				t.Fatalf("%s: task %s containers %v, want the same %v", when, arn, got, want)
			}
			if aws.ToString(tk.LastStatus) != "RUNNING" {
				t.Fatalf("%s: task %s is %s", when, arn, aws.ToString(tk.LastStatus))
			}
		}
	}

	// Agent restart: nothing stopped, nothing started twice.
	a1.stop(syscall.SIGTERM)
	a1.start()
	time.Sleep(4 * time.Second)
	same("after an agent restart")

	// Control-plane restart: the agents reconnect; still the same tasks.
	w.restart("--instance-lost-timeout", "8s", "--fargate", "off")
	time.Sleep(5 * time.Second)
	same("after a control-plane restart")
	for _, ci := range instances(t, client, "fleet") {
		if !ci.AgentConnected {
			t.Fatalf("instance %s not connected after the restart", aws.ToString(ci.ContainerInstanceArn))
		}
	}

	// Host loss: agent 2's host goes away; its task is reported stopped.
	var lostTask string
	for _, arn := range byInstance {
		lostTask = arn
	}
	lost := instanceOf(t, client, lostTask)
	victim := a2
	if zoneOf(t, client, lost) == "us-east-1a" {
		victim = a1
	}
	victim.stop(syscall.SIGKILL)
	_ = exec.Command("ip", "netns", "del", victim.h.name).Run()
	tk := waitTask(t, client, "fleet", lostTask, 60*time.Second, "STOPPED", stopped)
	if r := aws.ToString(tk.StoppedReason); r == "" {
		t.Fatalf("lost task stopped without a reason: %+v", tk)
	}
}

// instanceOf is the container instance a task runs on.
func instanceOf(t testing.TB, client *ecs.Client, taskARN string) string {
	t.Helper()
	tk := waitTask(t, client, "fleet", taskARN, time.Second, "described", func(types.Task) bool { return true })
	return aws.ToString(tk.ContainerInstanceArn)
}

// zoneOf is an instance's ecs.availability-zone attribute in "fleet".
func zoneOf(t testing.TB, client *ecs.Client, inst string) string {
	t.Helper()
	return zoneOfIn(t, client, "fleet", inst)
}

// zoneOfIn is an instance's ecs.availability-zone attribute in cluster.
func zoneOfIn(t testing.TB, client *ecs.Client, cluster, inst string) string {
	t.Helper()
	for _, ci := range instances(t, client, cluster) {
		if aws.ToString(ci.ContainerInstanceArn) != inst {
			continue
		}
		for _, a := range ci.Attributes {
			if aws.ToString(a.Name) == "ecs.availability-zone" {
				return aws.ToString(a.Value)
			}
		}
	}
	return ""
}

// serviceTasks returns the RUNNING tasks of a service, keyed by task ARN,
// with the container instance each runs on.
func serviceTasks(t testing.TB, client *ecs.Client, cluster, service string) map[string]string {
	t.Helper()
	ctx := context.Background()
	list, err := client.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(cluster), ServiceName: aws.String(service)})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	if len(list.TaskArns) == 0 {
		return out
	}
	d, err := client.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: list.TaskArns})
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range d.Tasks {
		if aws.ToString(tk.LastStatus) == "RUNNING" && aws.ToString(tk.DesiredStatus) == "RUNNING" {
			out[aws.ToString(tk.TaskArn)] = aws.ToString(tk.ContainerInstanceArn)
		}
	}
	return out
}

// waitServiceTasks waits until cond holds for a service's RUNNING tasks.
func waitServiceTasks(t testing.TB, client *ecs.Client, cluster, service, what string, cond func(map[string]string) bool) map[string]string {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		got := serviceTasks(t, client, cluster, service)
		if cond(got) {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("service %s never had %s; running: %v", service, what, got)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// TestServicesOnAgents: a DAEMON service on two `wharf agent` hosts runs
// one task on each and follows a third host joining; draining an instance
// moves a REPLICA service's task off it.
func TestServicesOnAgents(t *testing.T) {
	needDocker(t)
	w, _, client, busybox := agentCluster(t, "fleet")
	ctx := context.Background()
	startAgent(t, w, newHost(t, 4), "fleet", "us-east-1a", t.TempDir())
	startAgent(t, w, newHost(t, 5), "fleet", "us-east-1b", t.TempDir())
	deadline := time.Now().Add(30 * time.Second)
	for len(instances(t, client, "fleet")) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("agents never registered")
		}
		time.Sleep(200 * time.Millisecond)
	}
	td, err := client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("sleeper"),
		NetworkMode: types.NetworkModeBridge, ContainerDefinitions: []types.ContainerDefinition{{
			Name: aws.String("main"), Image: aws.String(busybox), Memory: aws.Int32(32), Essential: aws.Bool(true),
			Command: []string{"sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"}}}})
	if err != nil {
		t.Fatal(err)
	}
	tdARN := td.TaskDefinition.TaskDefinitionArn
	if _, err := client.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("fleet"), ServiceName: aws.String("daemon"),
		TaskDefinition: tdARN, SchedulingStrategy: types.SchedulingStrategyDaemon}); err != nil {
		t.Fatal(err)
	}
	onePerInstance := func(n int) func(map[string]string) bool {
		return func(m map[string]string) bool {
			seen := map[string]bool{}
			for _, inst := range m {
				seen[inst] = true
			}
			return len(m) == n && len(seen) == n
		}
	}
	waitServiceTasks(t, client, "fleet", "daemon", "one task on each of 2 instances", onePerInstance(2))

	// A third host joins: the daemon follows it.
	startAgent(t, w, newHost(t, 6), "fleet", "us-east-1c", t.TempDir())
	waitServiceTasks(t, client, "fleet", "daemon", "one task on each of 3 instances", onePerInstance(3))

	// Draining: a replica service's task leaves the draining instance.
	if _, err := client.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("fleet"), ServiceName: aws.String("web"),
		TaskDefinition: tdARN, DesiredCount: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	web := waitServiceTasks(t, client, "fleet", "web", "2 tasks", func(m map[string]string) bool { return len(m) == 2 })
	var drained string
	for _, inst := range web {
		drained = inst
	}
	if _, err := client.UpdateContainerInstancesState(ctx, &ecs.UpdateContainerInstancesStateInput{Cluster: aws.String("fleet"),
		ContainerInstances: []string{drained}, Status: types.ContainerInstanceStatusDraining}); err != nil {
		t.Fatal(err)
	}
	waitServiceTasks(t, client, "fleet", "web", "2 tasks, none on the draining instance", func(m map[string]string) bool {
		if len(m) != 2 {
			return false
		}
		for _, inst := range m {
			if inst == drained {
				return false
			}
		}
		return true
	})
}
