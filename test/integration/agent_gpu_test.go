package integration

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/wharfhq/wharf/internal/agent"
	"github.com/wharfhq/wharf/internal/agentclient"
	"github.com/wharfhq/wharf/internal/agentproto"
	"github.com/wharfhq/wharf/internal/testimg"
	"github.com/wharfhq/wharf/internal/wharftest"
)

// idleEngine runs no task: the test is about registration.
type idleEngine struct{}

func (idleEngine) Sync(context.Context, []agentproto.Task) {}
func (idleEngine) Close()                                  {}

// TestAgentRegistersGPUs runs the real agent (registration through the ECS
// API, signed with SigV4) on a host whose /dev and /proc are a fake tree
// with two NVIDIA GPUs: the instance shows them as its GPU resource, and
// the driver version attributes.
func TestAgentRegistersGPUs(t *testing.T) {
	rt := testimg.Engine(t) // the agent asks the engine for CPUs and memory
	env := wharftest.Start(t)
	root := t.TempDir()
	write := func(p, s string) {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dev, proc := filepath.Join(root, "dev"), filepath.Join(root, "proc")
	for _, d := range []string{"nvidia0", "nvidia1", "nvidiactl", "nvidia-uvm", "null"} {
		write(filepath.Join(dev, d), "")
	}
	write(filepath.Join(proc, "driver/nvidia/gpus/0000:00:1e.0/information"), "Model: \t\t Tesla T4\nGPU UUID: \t GPU-1e000000-aaaa\nDevice Minor: \t 0\n")
	write(filepath.Join(proc, "driver/nvidia/gpus/0000:00:1f.0/information"), "Model: \t\t Tesla T4\nGPU UUID: \t GPU-1f000000-bbbb\nDevice Minor: \t 1\n")
	write(filepath.Join(proc, "driver/nvidia/version"), "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.104.05  Sat Aug 19 01:15:15 UTC 2023\n")

	cfg := env.Root()
	cl := ecs.NewFromConfig(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := cl.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("gpuhost")}); err != nil {
		t.Fatal(err)
	}
	poller := agent.ChannelPoller{Client: agentclient.New(env.URL, "us-east-1", cfg.Credentials, &http.Client{})}
	remote, err := agent.NewRemote(cfg, env.URL, poller)
	if err != nil {
		t.Fatal(err)
	}
	a, err := agent.New(agent.Config{Endpoint: env.URL, Cluster: "gpuhost", DataDir: t.TempDir(), GPUDevDir: dev, GPUProcDir: proc,
		PollWait: time.Second}, rt, remote)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		done <- a.Run(ctx, func(context.Context, agent.EngineDeps) (agent.Engine, error) { return idleEngine{}, nil })
	}()
	deadline := time.Now().Add(30 * time.Second)
	for a.InstanceARN() == "" {
		if time.Now().After(deadline) {
			t.Fatal("the agent did not register within 30s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	out, err := cl.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{Cluster: aws.String("gpuhost"), ContainerInstances: []string{a.InstanceARN()}})
	if err != nil || len(out.ContainerInstances) != 1 {
		t.Fatalf("describe: %v", err)
	}
	ci := out.ContainerInstances[0]
	var gpus []string
	for _, r := range ci.RegisteredResources {
		if aws.ToString(r.Name) == "GPU" {
			gpus = r.StringSetValue
		}
	}
	if len(gpus) != 2 || gpus[0] != "GPU-1e000000-aaaa" || gpus[1] != "GPU-1f000000-bbbb" {
		t.Errorf("registered GPUs = %v", gpus)
	}
	attrs := map[string]string{}
	for _, at := range ci.Attributes {
		attrs[aws.ToString(at.Name)] = aws.ToString(at.Value)
	}
	if v, ok := attrs["ecs.capability.nvidia-driver-version.535.104.05"]; !ok || v != "" || attrs["ecs.capability.gpu-driver-version"] != "535.104.05" {
		t.Errorf("driver attributes missing: %v", attrs)
	}
	if _, ok := attrs["ecs.capability.env-files.s3"]; ok {
		t.Errorf("an agent without --s3-endpoint claims ecs.capability.env-files.s3")
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("agent: %v", err)
	}
}
