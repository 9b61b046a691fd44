package e2e

import (
	"context"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// BenchmarkHostLossReplacement measures, with the defaults of `wharf up`
// and `wharf agent` (no shortened timeouts), the time from a host's loss
// to its service task replaced and RUNNING on another host: two agents,
// each in a network namespace of its own, run a 2-task REPLICA service;
// one agent is killed (SIGKILL) and its namespace deleted — the host and
// its network gone mid-poll — and the clock stops when the service has 2
// RUNNING tasks again, none on the lost instance. It reports the time to
// the lost task's STOPPED and to the replacement's RUNNING. One iteration
// per host: run with -benchtime 1x.
//
//	go test -run '^$' -bench HostLossReplacement -benchtime 1x ./test/e2e/
func BenchmarkHostLossReplacement(b *testing.B) {
	needDocker(b)
	w, _, client, busybox := agentCluster(b, "loss")
	ctx := context.Background()
	td, err := client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("sleeper"),
		NetworkMode: types.NetworkModeBridge, ContainerDefinitions: []types.ContainerDefinition{{
			Name: aws.String("main"), Image: aws.String(busybox), Memory: aws.Int32(32), Essential: aws.Bool(true),
			Command: []string{"sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"}}}})
	if err != nil {
		b.Fatal(err)
	}
	var toStopped, toReplaced time.Duration
	for i := range b.N {
		b.StopTimer()
		// Agents with their default poll wait (startAgent shortens it).
		var agents []*agentProc
		for j := range 2 {
			agents = append(agents, startAgentArgs(b, w, newHost(b, 20+2*i+j), "loss", []string{"us-east-1a", "us-east-1b"}[j], b.TempDir()))
		}
		deadline := time.Now().Add(60 * time.Second)
		for connected(b, client, "loss") < 2 {
			if time.Now().After(deadline) {
				b.Fatal("agents never registered")
			}
			time.Sleep(200 * time.Millisecond)
		}
		svc := "web" + string(rune('a'+i))
		if _, err := client.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("loss"), ServiceName: aws.String(svc),
			TaskDefinition: td.TaskDefinition.TaskDefinitionArn, DesiredCount: aws.Int32(2),
			PlacementStrategy: []types.PlacementStrategy{{Type: types.PlacementStrategyTypeSpread, Field: aws.String("instanceId")}}}); err != nil {
			b.Fatal(err)
		}
		placed := waitServiceTasks(b, client, "loss", svc, "one task on each host", func(m map[string]string) bool {
			seen := map[string]bool{}
			for _, inst := range m {
				seen[inst] = true
			}
			return len(m) == 2 && len(seen) == 2
		})
		var lostTask, lostInst string
		for task, inst := range placed {
			lostTask, lostInst = task, inst
		}
		victim := agents[0]
		if zoneOfIn(b, client, "loss", lostInst) == "us-east-1b" {
			victim = agents[1]
		}
		// Let the victim be deep in a long poll, as a host usually is.
		time.Sleep(3 * time.Second)
		b.StartTimer()
		start := time.Now()
		victim.stop(syscall.SIGKILL)
		_ = exec.Command("ip", "netns", "del", victim.h.name).Run()
		var stoppedAt time.Duration
		for {
			out, err := client.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("loss"), Tasks: []string{lostTask}})
			if err != nil {
				b.Fatal(err)
			}
			if stoppedAt == 0 && len(out.Tasks) == 1 && aws.ToString(out.Tasks[0].LastStatus) == "STOPPED" {
				stoppedAt = time.Since(start)
			}
			if stoppedAt != 0 {
				m := serviceTasks(b, client, "loss", svc)
				ok := len(m) == 2
				for _, inst := range m {
					ok = ok && inst != lostInst
				}
				if ok {
					break
				}
			}
			if time.Since(start) > 3*time.Minute {
				b.Fatalf("not replaced within 3 minutes (lost task stopped after %v)", stoppedAt)
			}
			time.Sleep(100 * time.Millisecond)
		}
		b.StopTimer()
		toStopped += stoppedAt
		toReplaced += time.Since(start)
		for _, a := range agents {
			a.stop(syscall.SIGTERM)
		}
		if _, err := client.DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: aws.String("loss"), Service: aws.String(svc), Force: aws.Bool(true)}); err != nil {
			b.Fatal(err)
		}
		for _, ci := range instances(b, client, "loss") {
			_, _ = client.DeregisterContainerInstance(ctx, &ecs.DeregisterContainerInstanceInput{Cluster: aws.String("loss"),
				ContainerInstance: ci.ContainerInstanceArn, Force: aws.Bool(true)})
		}
	}
	b.ReportMetric(toStopped.Seconds()/float64(b.N), "s-to-lost-task-stopped")
	b.ReportMetric(toReplaced.Seconds()/float64(b.N), "s-to-replacement-running")
}

// connected counts the cluster's ACTIVE instances whose agent is connected.
func connected(t testing.TB, client *ecs.Client, cluster string) int {
	n := 0
	for _, ci := range instances(t, client, cluster) {
		if ci.AgentConnected && aws.ToString(ci.Status) == "ACTIVE" {
			n++
		}
	}
	return n
}
