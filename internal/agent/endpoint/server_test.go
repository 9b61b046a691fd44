package endpoint

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// start runs a server on a free loopback port for the test.
func start(t *testing.T, cfg Config) *Server {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	s := New(cfg)
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return s
}

// get fetches url and decodes a JSON answer into a generic value.
func get(t *testing.T, url string, header map[string]string) (int, any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("GET %s: Content-Type %q, want application/json", url, ct)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("GET %s: %d, not JSON: %q", url, resp.StatusCode, b)
	}
	return resp.StatusCode, v
}

func keys(v any) []string {
	m, _ := v.(map[string]any)
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sorted(s ...string) []string {
	sort.Strings(s)
	return s
}

var (
	created = time.Date(2026, 11, 26, 1, 2, 3, 456789000, time.UTC)
	started = created.Add(time.Second)
	stopped = created.Add(time.Minute)
)

// sampleTask is an awsvpc task with an essential web container (running,
// healthy) and a sidecar that has exited.
func sampleTask() Task {
	zero, code := 0, 3
	return Task{
		Cluster: "arn:aws:ecs:us-east-1:000000000000:cluster/default", TaskARN: "arn:aws:ecs:us-east-1:000000000000:task/default/abc",
		Family: "web", Revision: "7", ServiceName: "websvc", DesiredStatus: "RUNNING", KnownStatus: "RUNNING",
		CPU: 0.25, MemoryMiB: 512, PullStartedAt: created.Add(-2 * time.Second), PullStoppedAt: created.Add(-time.Second),
		AvailabilityZone: "us-east-1a", LaunchType: "FARGATE",
		Containers: []Container{{
			EndpointID: "web-id", DockerID: "d0c1", Name: "web", DockerName: "ecs-web-7-web-1", Image: "demo:latest",
			ImageID: "sha256:abc", Labels: map[string]string{"com.amazonaws.ecs.container-name": "web"},
			DesiredStatus: "RUNNING", KnownStatus: "RUNNING", CPU: 128, MemoryMiB: 256,
			CreatedAt: created, StartedAt: started, ContainerARN: "arn:aws:ecs:us-east-1:000000000000:container/default/abc/1",
			LogDriver: "awslogs", LogOptions: map[string]string{"awslogs-group": "/ecs/web"},
			Networks: []Network{{
				NetworkMode: "awsvpc", IPv4Addresses: []string{"10.213.0.5"}, AttachmentIndex: &zero,
				MACAddress: "02:42:0a:d5:00:05", IPv4SubnetCIDRBlock: "10.213.0.0/16",
				PrivateDNSName: "ip-10-213-0-5.ec2.internal", SubnetGatewayIPv4Address: "10.213.0.1/16",
			}},
			Ports:  []Port{{ContainerPort: 8080, Protocol: "tcp", HostPort: 8080, HostIP: "10.213.0.5"}},
			Health: &Health{Status: "HEALTHY", Since: started.Add(5 * time.Second)},
		}, {
			EndpointID: "side-id", DockerID: "d0c2", Name: "side", DockerName: "ecs-web-7-side-2", Image: "demo:latest",
			DesiredStatus: "STOPPED", KnownStatus: "STOPPED", ExitCode: &code,
			CreatedAt: created, StartedAt: started, FinishedAt: stopped,
			Networks: []Network{{NetworkMode: "awsvpc", IPv4Addresses: []string{"10.213.0.5"}}},
		}},
	}
}

func TestContainerMetadataShape(t *testing.T) {
	s := start(t, Config{})
	if err := s.Register(sampleTask()); err != nil {
		t.Fatal(err)
	}
	uri := s.MetadataEnv("web-id")[EnvMetadataURIV4]
	if !strings.HasPrefix(uri, "http://127.0.0.1:") || !strings.HasSuffix(uri, "/v4/web-id") {
		t.Fatalf("metadata URI = %q", uri)
	}
	code, v := get(t, uri, nil)
	if code != 200 {
		t.Fatalf("GET container metadata: %d %v", code, v)
	}
	want := sorted("DockerId", "Name", "DockerName", "Image", "ImageID", "Ports", "Labels", "DesiredStatus", "KnownStatus",
		"Limits", "CreatedAt", "StartedAt", "Type", "LogDriver", "LogOptions", "ContainerARN", "Health", "Networks")
	if got := keys(v); !slices.Equal(got, want) {
		t.Errorf("container keys = %v\nwant %v", got, want)
	}
	m := v.(map[string]any)
	check := map[string]any{
		"DockerId": "d0c1", "Name": "web", "DockerName": "ecs-web-7-web-1", "Type": "NORMAL",
		"CreatedAt": "2026-11-26T01:02:03.456789Z", "StartedAt": "2026-11-26T01:02:04.456789Z",
	}
	for k, want := range check {
		if m[k] != want {
			t.Errorf("%s = %v, want %v", k, m[k], want)
		}
	}
	if lim := m["Limits"].(map[string]any); lim["CPU"] != 128.0 || lim["Memory"] != 256.0 {
		t.Errorf("Limits = %v", lim)
	}
	net := m["Networks"].([]any)[0]
	wantNet := sorted("NetworkMode", "IPv4Addresses", "AttachmentIndex", "MACAddress", "IPv4SubnetCIDRBlock", "PrivateDNSName", "SubnetGatewayIpv4Address")
	if got := keys(net); !slices.Equal(got, wantNet) {
		t.Errorf("network keys = %v\nwant %v", got, wantNet)
	}
	if n := net.(map[string]any); n["AttachmentIndex"] != 0.0 || n["SubnetGatewayIpv4Address"] != "10.213.0.1/16" {
		t.Errorf("network = %v", n)
	}
	if got := keys(m["Ports"].([]any)[0]); !slices.Equal(got, sorted("ContainerPort", "Protocol", "HostPort", "HostIp")) {
		t.Errorf("port keys = %v", got)
	}
	if got := keys(m["Health"]); !slices.Equal(got, sorted("status", "statusSince")) {
		t.Errorf("health keys = %v", got)
	}

	// The stopped sidecar reports its exit code and finish time.
	_, v = get(t, s.MetadataEnv("side-id")[EnvMetadataURIV4], nil)
	m = v.(map[string]any)
	if m["ExitCode"] != 3.0 || m["FinishedAt"] != "2026-11-26T01:03:03.456789Z" || m["KnownStatus"] != "STOPPED" {
		t.Errorf("stopped container = %v", m)
	}
	if _, ok := m["Health"]; ok {
		t.Errorf("a container without health check has Health: %v", m["Health"])
	}
}

func TestTaskMetadataShape(t *testing.T) {
	s := start(t, Config{})
	if err := s.Register(sampleTask()); err != nil {
		t.Fatal(err)
	}
	code, v := get(t, s.MetadataEnv("side-id")[EnvMetadataURIV4]+"/task", nil)
	if code != 200 {
		t.Fatalf("GET task metadata: %d %v", code, v)
	}
	want := sorted("Cluster", "TaskARN", "Family", "Revision", "ServiceName", "DesiredStatus", "KnownStatus", "Limits",
		"PullStartedAt", "PullStoppedAt", "AvailabilityZone", "LaunchType", "Containers", "ClockDrift")
	if got := keys(v); !slices.Equal(got, want) {
		t.Errorf("task keys = %v\nwant %v", got, want)
	}
	m := v.(map[string]any)
	if m["Family"] != "web" || m["Revision"] != "7" || m["LaunchType"] != "FARGATE" {
		t.Errorf("task = %v", m)
	}
	if lim := m["Limits"].(map[string]any); lim["CPU"] != 0.25 || lim["Memory"] != 512.0 {
		t.Errorf("task Limits = %v", lim)
	}
	cs := m["Containers"].([]any)
	if len(cs) != 2 || cs[0].(map[string]any)["Name"] != "web" || cs[1].(map[string]any)["Name"] != "side" {
		t.Errorf("Containers = %v", cs)
	}
	if got := keys(m["ClockDrift"]); !slices.Equal(got, sorted("ClockErrorBound", "ReferenceTimestamp", "ClockSynchronizationStatus")) {
		t.Errorf("ClockDrift keys = %v", got)
	}
}

func TestClockDrift(t *testing.T) {
	now := time.Date(2026, 11, 26, 3, 4, 5, 600, time.UTC)
	d := clockDrift(false, 1500, now)
	if d.ClockErrorBound != 1.5 || d.ClockSynchronizationStatus != ClockSynchronized || !d.ReferenceTimestamp.Equal(now.Truncate(time.Second)) {
		t.Errorf("clockDrift = %+v", d)
	}
	if d := clockDrift(true, 16000000, now); d.ClockSynchronizationStatus != ClockNotSynchronized || d.ClockErrorBound != 16000 {
		t.Errorf("clockDrift(unsynchronized) = %+v", d)
	}
}

func TestRegistryLifecycle(t *testing.T) {
	s := start(t, Config{})
	task := sampleTask()
	if err := s.Update(task); !errors.Is(err, ErrNotRegistered) {
		t.Errorf("Update before Register = %v, want ErrNotRegistered", err)
	}
	if err := s.Register(task); err != nil {
		t.Fatal(err)
	}
	if err := s.Register(task); !errors.Is(err, ErrAlreadyRegistered) {
		t.Errorf("Register twice = %v, want ErrAlreadyRegistered", err)
	}
	// The server keeps its own copy: changing the caller's value changes nothing.
	task.Containers[0].Labels["x"] = "y"
	task.Containers[0].KnownStatus = "MUTATED"
	uri := s.MetadataEnv("web-id")[EnvMetadataURIV4]
	if _, v := get(t, uri, nil); v.(map[string]any)["KnownStatus"] != "RUNNING" || len(v.(map[string]any)["Labels"].(map[string]any)) != 1 {
		t.Errorf("registry shares memory with the caller: %v", v)
	}
	task = sampleTask()
	task.Containers[0].KnownStatus = "STOPPED"
	task.Containers = task.Containers[:1] // the sidecar's id is released
	if err := s.Update(task); err != nil {
		t.Fatal(err)
	}
	if _, v := get(t, uri, nil); v.(map[string]any)["KnownStatus"] != "STOPPED" {
		t.Errorf("after Update: %v", v)
	}
	if code, _ := get(t, s.MetadataEnv("side-id")[EnvMetadataURIV4], nil); code != 404 {
		t.Errorf("released id answers %d, want 404", code)
	}
	other := Task{TaskARN: "arn:other", Containers: []Container{{EndpointID: "web-id", Name: "x"}}}
	if err := s.Register(other); !errors.Is(err, ErrBadID) {
		t.Errorf("Register with another task's id = %v, want ErrBadID", err)
	}
	for _, bad := range []string{"", "a/b", "a b", strings.Repeat("x", 129)} {
		other.Containers[0].EndpointID = bad
		if err := s.Register(other); !errors.Is(err, ErrBadID) {
			t.Errorf("Register with id %q = %v, want ErrBadID", bad, err)
		}
	}
	if err := s.Unregister(task.TaskARN); err != nil {
		t.Fatal(err)
	}
	if err := s.Unregister(task.TaskARN); !errors.Is(err, ErrNotRegistered) {
		t.Errorf("Unregister twice = %v, want ErrNotRegistered", err)
	}
	for _, p := range []string{"", "/task", "/stats", "/task/stats"} {
		code, v := get(t, uri+p, nil)
		if _, isString := v.(string); code != 404 || !isString {
			t.Errorf("unregistered %s: %d %v, want 404 and a JSON string", p, code, v)
		}
	}
	if a, b := NewID(), NewID(); len(a) != 32 || a == b || !validID(a) {
		t.Errorf("NewID = %q, %q", a, b)
	}
}

func TestStats(t *testing.T) {
	calls := make(chan string, 4)
	s := start(t, Config{Stats: func(_ context.Context, id string) ([]byte, error) {
		calls <- id
		if id == "d0c2" {
			return nil, errors.New("container is not running")
		}
		return []byte(`{"id":"` + id + `","cpu_stats":{}}`), nil
	}})
	task := sampleTask()
	task.Containers = append(task.Containers, Container{EndpointID: "not-created", Name: "late"}) // no DockerID yet
	if err := s.Register(task); err != nil {
		t.Fatal(err)
	}
	uri := s.MetadataEnv("web-id")[EnvMetadataURIV4]
	code, v := get(t, uri+"/stats", nil)
	if code != 200 || v.(map[string]any)["id"] != "d0c1" {
		t.Errorf("container stats: %d %v", code, v)
	}
	code, v = get(t, uri+"/task/stats", nil)
	m, _ := v.(map[string]any)
	if code != 200 || !slices.Equal(keys(m), []string{"d0c1", "d0c2"}) || m["d0c2"] != nil || m["d0c1"].(map[string]any)["id"] != "d0c1" {
		t.Errorf("task stats: %d %v", code, v)
	}
	code, v = get(t, s.MetadataEnv("side-id")[EnvMetadataURIV4]+"/stats", nil)
	if _, isString := v.(string); code != 500 || !isString {
		t.Errorf("stats of a stopped container: %d %v, want 500 and a message", code, v)
	}
}
