package e2e

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	dto "github.com/prometheus/client_model/go"

	"github.com/wharfhq/wharf/internal/wharftest"
)

// promCheck is one expectation of a scrape: name{labels} satisfies ok.
type promCheck struct {
	name   string
	labels map[string]string
	ok     func(float64) bool
	want   string
}

func atLeast(n float64) func(float64) bool { return func(v float64) bool { return v >= n } }
func equal(n float64) func(float64) bool   { return func(v float64) bool { return v == n } }

// promWait scrapes url until every check holds, or fails after limit.
func promWait(t testing.TB, url string, limit time.Duration, checks ...promCheck) map[string]*dto.MetricFamily {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		mfs := wharftest.Scrape(t, url)
		var bad []string
		if mfs == nil {
			bad = append(bad, "no answer")
		} else {
			for _, c := range checks {
				if v, ok := wharftest.MetricValue(mfs, c.name, c.labels); !ok || !c.ok(v) {
					bad = append(bad, fmt.Sprintf("%s%v = %v (present %v), want %s", c.name, c.labels, v, ok, c.want))
				}
			}
		}
		if len(bad) == 0 {
			return mfs
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", url, bad)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// TestAgentMetricsEndpoint: `wharf agent` with ECS_ENABLE_PROMETHEUS_METRICS
// (the ECS agent's switch) serves /metrics on :51680 of its host, keeps
// that port from tasks, and counts what running a task did.
func TestAgentMetricsEndpoint(t *testing.T) {
	needDocker(t)
	w, _, client, busybox := agentCluster(t, "prom")
	ctx := context.Background()
	h := newHost(t, 8)
	_, port, _ := bytes.Cut([]byte(w.addr), []byte(":"))
	dataDir := t.TempDir()
	a := &agentProc{t: t, h: h, dataDir: dataDir,
		args: []string{"netns", "exec", h.name, binary, "agent", "--endpoint", "http://" + h.hostIP + ":" + string(port), "--cluster", "prom",
			"--data-dir", dataDir, "--poll-wait", "2s"},
		env: []string{"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(w.dataDir, "credentials"), "ECS_ENABLE_PROMETHEUS_METRICS=true",
			"AWS_CONFIG_FILE=" + filepath.Join(w.dataDir, "config"), "HOME=" + dataDir, "PATH=/usr/sbin:/usr/bin:/sbin:/bin"}}
	a.start()
	t.Cleanup(func() { a.stop(syscall.SIGTERM) })
	metrics := "http://" + h.nsIP + ":51680/metrics"

	// Before any task: the control plane answers its polls.
	promWait(t, metrics, 30*time.Second,
		promCheck{"wharf_agent_control_plane_reachable", nil, equal(1), "1"},
		promCheck{"wharf_agent_assignment_polls_total", map[string]string{"result": "changed"}, atLeast(1), ">= 1"},
		promCheck{"wharf_agent_tasks", map[string]string{"state": "RUNNING"}, equal(0), "0"},
		promCheck{"go_goroutines", nil, atLeast(1), ">= 1"},
		promCheck{"process_resident_memory_bytes", nil, atLeast(1), "> 0"},
	)
	insts := instances(t, client, "prom")
	if len(insts) != 1 {
		t.Fatalf("%d instances, want 1:\n%s", len(insts), a.out)
	}
	reserved := false
	for _, r := range insts[0].RegisteredResources {
		if aws.ToString(r.Name) == "PORTS" {
			for _, p := range r.StringSetValue {
				reserved = reserved || p == "51680"
			}
		}
	}
	if !reserved {
		t.Errorf("the metrics port 51680 is not among the instance's reserved ports: %+v", insts[0].RegisteredResources)
	}

	// A task that runs a few seconds and exits.
	td, err := client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("brief"),
		NetworkMode: types.NetworkModeBridge, ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("b"),
			Image: aws.String(busybox), Memory: aws.Int32(32), Essential: aws.Bool(true), Command: []string{"sleep", "3"}}}})
	if err != nil {
		t.Fatal(err)
	}
	run, err := client.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("prom"), TaskDefinition: td.TaskDefinition.TaskDefinitionArn})
	if err != nil || len(run.Tasks) != 1 {
		t.Fatalf("RunTask: %v %+v", err, run)
	}
	arn := aws.ToString(run.Tasks[0].TaskArn)
	waitTask(t, client, "prom", arn, 90*time.Second, "RUNNING", running)
	promWait(t, metrics, 10*time.Second, promCheck{"wharf_agent_tasks", map[string]string{"state": "RUNNING"}, equal(1), "1"})
	waitTask(t, client, "prom", arn, 60*time.Second, "STOPPED", stopped)
	mfs := promWait(t, metrics, 10*time.Second,
		promCheck{"wharf_agent_tasks", map[string]string{"state": "RUNNING"}, equal(0), "0"},
		promCheck{"wharf_agent_tasks", map[string]string{"state": "STOPPED"}, equal(1), "1 (kept until cleanup)"},
		promCheck{"wharf_agent_image_pulls_total", map[string]string{"result": "success"}, atLeast(1), ">= 1"},
		promCheck{"wharf_agent_image_pull_duration_seconds", nil, atLeast(1), ">= 1 observation"},
		promCheck{"wharf_agent_containers_started_total", nil, equal(1), "1"},
		promCheck{"wharf_agent_containers_stopped_total", nil, equal(1), "1"},
		promCheck{"wharf_agent_reports_total", map[string]string{"kind": "task", "result": "sent"}, atLeast(2), ">= 2 (RUNNING, STOPPED)"},
	)
	if v, _ := wharftest.MetricValue(mfs, "wharf_agent_image_pulls_total", map[string]string{"result": "failure"}); v != 0 {
		t.Errorf("failed pulls = %v", v)
	}
	last, _ := wharftest.MetricValue(mfs, "wharf_agent_last_poll_timestamp_seconds", nil)
	if age := time.Since(time.Unix(int64(last), 0)); age < 0 || age > 30*time.Second {
		t.Errorf("last poll %s ago (%s)", age, strconv.FormatFloat(last, 'f', 3, 64))
	}

	// The server's view of the same host.
	server := "http://" + w.addr + "/metrics"
	cl := map[string]string{"cluster": "prom"}
	promWait(t, server, 10*time.Second,
		promCheck{"wharf_ecs_cluster_container_instances", map[string]string{"cluster": "prom", "status": "ACTIVE"}, equal(1), "1"},
		promCheck{"wharf_ecs_cluster_connected_container_instances", cl, equal(1), "1"},
		promCheck{"wharf_ecs_cluster_tasks", map[string]string{"cluster": "prom", "launch_type": "EC2", "status": "RUNNING"}, equal(0), "0"},
	)

	// The control plane goes away: the agent says so.
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	_ = w.cmd.Wait()
	promWait(t, metrics, 30*time.Second,
		promCheck{"wharf_agent_control_plane_reachable", nil, equal(0), "0"},
		promCheck{"wharf_agent_assignment_polls_total", map[string]string{"result": "error"}, atLeast(1), ">= 1"},
	)
}

// TestManagedCapacityMetrics: the FARGATE capacity inside `wharf up`
// counts on the server's own /metrics, labelled capacity="fargate".
func TestManagedCapacityMetrics(t *testing.T) {
	needDocker(t)
	w := startWharf(t)
	cfg := w.sdk()
	removeTaskContainers(t, w, "promfg")
	ctx := context.Background()
	_, busybox := w.pushImages(cfg)
	execRole, _ := w.taskRoles(cfg)
	client := ecs.NewFromConfig(cfg)
	if _, err := client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("promfg")}); err != nil {
		t.Fatal(err)
	}
	td, err := client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("fg"),
		NetworkMode: types.NetworkModeAwsvpc, RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
		Cpu: aws.String("256"), Memory: aws.String("512"), ExecutionRoleArn: aws.String(execRole),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("s"), Image: aws.String(busybox), Essential: aws.Bool(true),
			Command: []string{"sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"}}}})
	if err != nil {
		t.Fatal(err)
	}
	run, err := client.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("promfg"), TaskDefinition: td.TaskDefinition.TaskDefinitionArn,
		LaunchType: types.LaunchTypeFargate, NetworkConfiguration: awsvpc})
	if err != nil || len(run.Tasks) != 1 {
		t.Fatalf("RunTask: %v %+v", err, run)
	}
	arn := aws.ToString(run.Tasks[0].TaskArn)
	waitTask(t, client, "promfg", arn, 90*time.Second, "RUNNING", running)
	metrics := "http://" + w.addr + "/metrics"
	fg := func(kv ...string) map[string]string {
		m := map[string]string{"capacity": "fargate"}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	promWait(t, metrics, 10*time.Second,
		promCheck{"wharf_agent_tasks", fg("state", "RUNNING"), equal(1), "1"},
		promCheck{"wharf_agent_containers_started_total", fg(), atLeast(1), ">= 1"},
		promCheck{"wharf_agent_image_pulls_total", fg("result", "success"), atLeast(1), ">= 1"},
		promCheck{"wharf_ecs_cluster_tasks", map[string]string{"cluster": "promfg", "launch_type": "FARGATE", "status": "RUNNING"}, equal(1), "1"},
	)
	if _, err := client.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String("promfg"), Task: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	waitTask(t, client, "promfg", arn, 60*time.Second, "STOPPED", stopped)
	promWait(t, metrics, 10*time.Second,
		promCheck{"wharf_agent_tasks", fg("state", "RUNNING"), equal(0), "0"},
		promCheck{"wharf_agent_containers_stopped_total", fg(), atLeast(1), ">= 1"},
		promCheck{"wharf_ecs_cluster_tasks", map[string]string{"cluster": "promfg", "launch_type": "FARGATE", "status": "RUNNING"}, equal(0), "0"},
	)
}
