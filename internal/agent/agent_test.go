package agent

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/agentproto"
	wrt "github.com/wharfhq/wharf/internal/runtime"
)

func TestConfigFromEnv(t *testing.T) {
	env := map[string]string{
		"ECS_CLUSTER":                           "prod",
		"ECS_RESERVED_MEMORY":                   "256",
		"ECS_RESERVED_PORTS":                    "[22, 8080]",
		"ECS_RESERVED_PORTS_UDP":                "53,161",
		"ECS_INSTANCE_ATTRIBUTES":               `{"stack":"blue"}`,
		"ECS_IMAGE_PULL_BEHAVIOR":               "once",
		"ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION": "10m",
		"AWS_REGION":                            "eu-west-1",
		"AWS_ENDPOINT_URL_S3":                   "http://s3.local:9000",
		"ECS_ENABLE_GPU_SUPPORT":                "false",
	}
	var c Config
	if err := c.FromEnv(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	c = c.withDefaults()
	want := Config{Cluster: "prod", Region: "eu-west-1", ReservedMemoryMiB: 256, ReservedPorts: []int{22, 8080},
		ReservedPortsUDP: []int{53, 161}, Attributes: map[string]string{"stack": "blue"}, PullBehavior: "once",
		TaskCleanupWait: 10 * time.Minute, ImageCleanupInterval: 30 * time.Minute, AvailabilityZone: "eu-west-1a", InstanceType: "wharf.host",
		PollWait: 10 * time.Second, MetadataAddress: "169.254.170.2:80", DataDir: "/var/lib/wharf-agent",
		S3Endpoint: "http://s3.local:9000", NoGPU: true, GPUDevDir: "/dev", GPUProcDir: "/proc"}
	c.Logger = nil
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("config:\n got %+v\nwant %+v", c, want)
	}
	// Flags win over the environment.
	c2 := Config{Cluster: "flag"}
	if err := c2.FromEnv(func(k string) string { return env[k] }); err != nil || c2.Cluster != "flag" {
		t.Fatalf("flag overridden: %v %q", err, c2.Cluster)
	}
}

func TestConfigErrorsSayWhatToDo(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"ECS_RESERVED_PORTS": "[22, 99999]"}, "ECS_RESERVED_PORTS: port 99999 is out of range 1-65535"},
		{map[string]string{"ECS_RESERVED_MEMORY": "lots"}, `ECS_RESERVED_MEMORY="lots": want a number of MiB`},
		{map[string]string{"ECS_INSTANCE_ATTRIBUTES": "stack=blue"}, `ECS_INSTANCE_ATTRIBUTES: want a JSON object like {"stack":"prod"}: invalid character 's' looking for beginning of value`},
	} {
		var c Config
		err := c.FromEnv(func(k string) string { return tc.env[k] })
		if err == nil || err.Error() != tc.want {
			t.Errorf("%v: got %v, want %s", tc.env, err, tc.want)
		}
	}
	if err := (Config{PullBehavior: "sometimes"}).Validate(); err == nil || err.Error() != `--pull-behavior "sometimes": want default, always, once or prefer-cached` {
		t.Errorf("pull behaviour: %v", err)
	}
}

func TestStateFileRoundTripAndDamage(t *testing.T) {
	dir := t.TempDir()
	s, err := loadState(dir)
	if err != nil || s != (state{}) {
		t.Fatalf("empty dir: %+v %v", s, err)
	}
	want := state{Cluster: "c", InstanceARN: "arn:aws:ecs:us-east-1:1:container-instance/c/x", InstanceID: "i-1", Acked: 42}
	if err := saveState(dir, want); err != nil {
		t.Fatal(err)
	}
	if got, err := loadState(dir); err != nil || got != want {
		t.Fatalf("got %+v %v", got, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "agent.json"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadState(dir); err == nil {
		t.Fatal("a damaged state file was accepted")
	}
}

// flakyCP is a control plane whose SubmitTask fails while down is set and
// records what it accepted.
type flakyCP struct {
	mu       sync.Mutex
	down     bool
	accepted []TaskReport
	health   []map[string]wrt.Health
}

func (f *flakyCP) Register(context.Context, Registration) (string, error) { return "arn", nil }
func (f *flakyCP) Poll(context.Context, int64, time.Duration) (Assignments, error) {
	return Assignments{}, nil
}
func (f *flakyCP) RegistryAuth(context.Context, *agentproto.Task, string) (*wrt.Auth, error) {
	return nil, nil
}
func (f *flakyCP) SubmitTask(_ context.Context, r TaskReport) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return errors.New("connection refused")
	}
	f.accepted = append(f.accepted, r)
	return nil
}
func (f *flakyCP) SubmitHealth(_ context.Context, _, _ string, h map[string]wrt.Health) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return errors.New("connection refused")
	}
	f.health = append(f.health, h)
	return nil
}

// TestReporterKeepsReportsWhileControlPlaneIsDown: reports made while the
// control plane cannot be reached are merged and delivered once it
// answers; the last state wins and nothing observed is dropped.
func TestReporterKeepsReportsWhileControlPlaneIsDown(t *testing.T) {
	cp := &flakyCP{down: true}
	r := newReporter(cp, slog.New(slog.DiscardHandler))
	r.start(context.Background())
	defer r.close()
	code := 3
	r.Task(TaskReport{TaskARN: "t1", Status: "RUNNING", Containers: []ContainerReport{{Name: "web", Status: "RUNNING", RuntimeID: "abc",
		Bindings: []Binding{{BindIP: "0.0.0.0", ContainerPort: 80, HostPort: 32768, Protocol: "tcp"}}}}})
	r.Task(TaskReport{TaskARN: "t1", Status: "STOPPED", Reason: "Essential container in task exited",
		Containers: []ContainerReport{{Name: "web", Status: "STOPPED", ExitCode: &code}}})
	r.Health("c", "t1", map[string]wrt.Health{"web": wrt.HealthUnhealthy})
	time.Sleep(300 * time.Millisecond)
	cp.mu.Lock()
	if len(cp.accepted) != 0 {
		t.Fatalf("accepted while down: %+v", cp.accepted)
	}
	cp.down = false
	cp.mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for {
		cp.mu.Lock()
		n, h := len(cp.accepted), len(cp.health)
		cp.mu.Unlock()
		if n == 1 && h == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not delivered: %d reports, %d health", n, h)
		}
		time.Sleep(20 * time.Millisecond)
	}
	got := cp.accepted[0]
	c := got.Containers[0]
	if got.Status != "STOPPED" || got.Reason != "Essential container in task exited" || c.Status != "STOPPED" ||
		c.ExitCode == nil || *c.ExitCode != 3 || c.RuntimeID != "abc" || len(c.Bindings) != 1 || c.Bindings[0].HostPort != 32768 {
		t.Fatalf("merged report: %+v", got)
	}
}
