package e2e

import (
	"context"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// BenchmarkRunTaskToRunning measures, on the real Docker Engine, the time
// from RunTask (FARGATE, awsvpc, an image already pulled) to the task
// reported RUNNING by DescribeTasks, against `docker run -d` of the same
// image in the same run, and reports both and their ratio:
//
//	go test -run '^$' -bench RunTaskToRunning -benchtime 20x ./test/e2e/
func BenchmarkRunTaskToRunning(b *testing.B) {
	needDocker(b)
	w := startWharf(b)
	removeTaskContainers(b, w, "default")
	client, td, image := sleeperSetup(b, w)
	// Warm up: the first task pulls the image (so both sides then start
	// from a cached image) and makes the task network.
	runToRunning(b, client, td.TaskDefinition.TaskDefinitionArn)
	var wharf, docker, dockerNet []time.Duration
	dockerRun := func(args ...string) time.Duration {
		start := time.Now()
		out, err := exec.Command("docker", append([]string{"run", "-d", "--label", "wharf.bench=1"}, append(args, image, "sleep", "3600")...)...).CombinedOutput()
		if err != nil {
			b.Fatalf("docker run: %v\n%s", err, out)
		}
		took := time.Since(start)
		id := strings.TrimSpace(string(out))
		b.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", id).Run() })
		return took
	}
	b.ResetTimer()
	for range b.N {
		wharf = append(wharf, runToRunning(b, client, td.TaskDefinition.TaskDefinitionArn))
		docker = append(docker, dockerRun())
		// The same work Docker does for an awsvpc task's network: a
		// container on the task network (a user-defined bridge), whose
		// cost grows with the containers attached to it.
		dockerNet = append(dockerNet, dockerRun("--network", "wharf-awsvpc"))
	}
	b.StopTimer()
	med := func(d []time.Duration) time.Duration {
		s := append([]time.Duration(nil), d...)
		sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
		return s[len(s)/2]
	}
	mw, md, mn := med(wharf), med(docker), med(dockerNet)
	b.ReportMetric(float64(mw.Milliseconds()), "ms-runtask-median")
	b.ReportMetric(float64(md.Milliseconds()), "ms-docker-run-median")
	b.ReportMetric(float64(mn.Milliseconds()), "ms-docker-run-network-median")
	b.ReportMetric(float64(mw)/float64(md), "ratio")
	b.ReportMetric(float64(mw)/float64(mn), "ratio-same-network")
	b.Logf("RunTask→RUNNING median %v; docker run -d median %v (ratio %.2f); docker run -d --network wharf-awsvpc median %v (ratio %.2f); n=%d",
		mw, md, float64(mw)/float64(md), mn, float64(mw)/float64(mn), len(wharf))
}

// runToRunning runs one task and returns how long it took to be RUNNING;
// the task is stopped when the benchmark ends.
func runToRunning(b *testing.B, client *ecs.Client, td *string) time.Duration {
	ctx := context.Background()
	start := time.Now()
	out, err := client.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: td, LaunchType: types.LaunchTypeFargate, NetworkConfiguration: awsvpc})
	if err != nil || len(out.Tasks) != 1 {
		b.Fatalf("RunTask: %v %+v", err, out)
	}
	arn := out.Tasks[0].TaskArn
	for {
		d, err := client.DescribeTasks(ctx, &ecs.DescribeTasksInput{Tasks: []string{*arn}})
		if err != nil {
			b.Fatal(err)
		}
		st := aws.ToString(d.Tasks[0].LastStatus)
		if st == "RUNNING" {
			break
		}
		if st == "STOPPED" {
			b.Fatalf("task stopped: %s", aws.ToString(d.Tasks[0].StoppedReason))
		}
		if time.Since(start) > time.Minute {
			b.Fatal("task not RUNNING within a minute")
		}
		time.Sleep(5 * time.Millisecond)
	}
	took := time.Since(start)
	// Stopped when the benchmark ends, as the docker side's containers
	// are: stops in the background would slow the next starts.
	b.Cleanup(func() { _, _ = client.StopTask(context.Background(), &ecs.StopTaskInput{Task: arn}) })
	return took
}

// TestRunTaskTimeline prints where the time of one FARGATE start goes
// (created → pull started → pull stopped → started), from DescribeTasks'
// timestamps. Run it by name; it asserts only that the task runs.
func TestRunTaskTimeline(t *testing.T) {
	if os.Getenv("WHARF_TIMELINE") == "" {
		t.Skip("set WHARF_TIMELINE=1 to print a start's timeline")
	}
	needDocker(t)
	w := startWharf(t)
	removeTaskContainers(t, w, "default")
	client, td, _ := sleeperSetup(t, w)
	ctx := context.Background()
	for i := range 4 {
		out, err := client.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: td.TaskDefinition.TaskDefinitionArn, LaunchType: types.LaunchTypeFargate, NetworkConfiguration: awsvpc})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		tk := waitTask(t, client, "default", aws.ToString(out.Tasks[0].TaskArn), time.Minute, "RUNNING", running)
		seen := time.Since(start)
		c := aws.ToTime(tk.CreatedAt)
		t.Logf("run %d: pull started +%v, pull stopped +%v, started +%v, seen RUNNING after %v", i,
			aws.ToTime(tk.PullStartedAt).Sub(c), aws.ToTime(tk.PullStoppedAt).Sub(c), aws.ToTime(tk.StartedAt).Sub(c), seen)
		_, _ = client.StopTask(ctx, &ecs.StopTaskInput{Task: out.Tasks[0].TaskArn})
	}
}

// sleeperSetup pushes busybox to w, makes an execution role and registers
// a one-container FARGATE task definition that sleeps; it returns the
// image too.
func sleeperSetup(t testing.TB, w *wharf) (*ecs.Client, *ecs.RegisterTaskDefinitionOutput, string) {
	t.Helper()
	cfg := w.sdk()
	_, busybox := w.pushImages(cfg)
	execRole, _ := w.taskRoles(cfg)
	client := ecs.NewFromConfig(cfg)
	td, err := client.RegisterTaskDefinition(context.Background(), &ecs.RegisterTaskDefinitionInput{Family: aws.String("sleeper"),
		NetworkMode: types.NetworkModeAwsvpc, RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
		Cpu: aws.String("256"), Memory: aws.String("512"), ExecutionRoleArn: aws.String(execRole),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("main"), Image: aws.String(busybox),
			Essential: aws.Bool(true), Command: []string{"sleep", "3600"}}}})
	if err != nil {
		t.Fatal(err)
	}
	return client, td, busybox
}
