package docker

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/runtime"
)

// Unit tests of the translations between runtime's terms and the engine's;
// they need no engine.

func TestSplitRef(t *testing.T) {
	for ref, want := range map[string][2]string{
		"busybox":                            {"busybox", "latest"},
		"busybox:1.36":                       {"busybox", "1.36"},
		"127.0.0.1:4566/team/app":            {"127.0.0.1:4566/team/app", "latest"},
		"127.0.0.1:4566/team/app:v2":         {"127.0.0.1:4566/team/app", "v2"},
		"host:5000/app@sha256:" + hex64('a'): {"host:5000/app", "sha256:" + hex64('a')},
	} {
		name, tag := splitRef(ref)
		if name != want[0] || tag != want[1] {
			t.Errorf("splitRef(%q) = %q, %q; want %q", ref, name, tag, want)
		}
	}
	for name, want := range map[string]string{
		"busybox": "docker.io", "library/busybox": "docker.io", "localhost/app": "localhost",
		"127.0.0.1:4566/app": "127.0.0.1:4566", "123.dkr.ecr.us-east-1.amazonaws.com/app": "123.dkr.ecr.us-east-1.amazonaws.com",
	} {
		if got := registryHost(name); got != want {
			t.Errorf("registryHost(%q) = %q, want %q", name, got, want)
		}
	}
}

func hex64(c byte) string { return strings.Repeat(string(c), 64) }

func TestVersionLess(t *testing.T) {
	for _, c := range []struct {
		a, b string
		less bool
	}{{"1.41", "1.47", true}, {"1.47", "1.41", false}, {"1.9", "1.41", true}, {"1.41", "1.41", false}, {"2.0", "1.99", false}} {
		if got := versionLess(c.a, c.b); got != c.less {
			t.Errorf("versionLess(%s, %s) = %v", c.a, c.b, got)
		}
	}
}

func TestCreateRequest(t *testing.T) {
	spec := runtime.ContainerSpec{
		Image: "app", Environment: map[string]string{"B": "2", "A": "1"},
		PortMappings: []runtime.PortMapping{{ContainerPort: 80}, {ContainerPort: 53, HostPort: 5353, Protocol: "udp"}},
		MemoryMiB:    128, MemoryReservationMiB: 64, CPUShares: 512,
		Mounts:      []runtime.Mount{{Type: runtime.MountTmpfs, Source: "ignored", Target: "/t", TmpfsSize: 4096}},
		HealthCheck: &runtime.HealthCheck{Command: []string{"CMD-SHELL", "true"}, Interval: 5 * time.Second, Retries: 3},
		StopTimeout: 1500 * time.Millisecond, Init: true,
		ExtraHosts: []string{"a:1.2.3.4"}, DNSServers: []string{"10.0.0.2"}, Sysctls: map[string]string{"net.core.somaxconn": "1024"},
		VolumesFrom: []string{"other:ro"}, ShmSizeMiB: 2, Privileged: true,
	}
	b := createRequest(spec)
	got, _ := json.Marshal(b)
	for _, want := range []string{
		`"Env":["A=1","B=2"]`,
		`"ExposedPorts":{"53/udp":{},"80/tcp":{}}`,
		`"PortBindings":{"53/udp":[{"HostIp":"","HostPort":"5353"}],"80/tcp":[{"HostIp":"","HostPort":""}]}`,
		`"Memory":134217728`, `"MemoryReservation":67108864`, `"CpuShares":512`,
		`"Mounts":[{"Type":"tmpfs","Target":"/t","TmpfsOptions":{"SizeBytes":4096}}]`,
		`"Healthcheck":{"Test":["CMD-SHELL","true"],"Interval":5000000000,"Retries":3}`,
		`"StopTimeout":2`, `"Init":true`, `"NetworkMode":"bridge"`,
		`"ExtraHosts":["a:1.2.3.4"]`, `"Dns":["10.0.0.2"]`, `"Sysctls":{"net.core.somaxconn":"1024"}`,
		`"VolumesFrom":["other:ro"]`, `"ShmSize":2097152`, `"Privileged":true`,
	} {
		if !strings.Contains(string(got), want) {
			t.Errorf("create body lacks %s:\n%s", want, got)
		}
	}
}

func TestToEvent(t *testing.T) {
	e := toEvent("health_status: unhealthy", "abc", map[string]string{"name": "x", "image": "i", "com.wharf.task-arn": "arn"}, 1e9)
	if e.Action != "health_status" || e.Health != runtime.HealthUnhealthy || e.ContainerID != "abc" ||
		len(e.Labels) != 1 || e.Labels["com.wharf.task-arn"] != "arn" || !e.Time.Equal(time.Unix(1, 0)) {
		t.Errorf("toEvent(health) = %+v", e)
	}
	e = toEvent("die", "abc", map[string]string{"exitCode": "137", "name": "x"}, 0)
	if e.Action != "die" || e.ExitCode != 137 || len(e.Labels) != 0 {
		t.Errorf("toEvent(die) = %+v", e)
	}
}

// frame is one multiplexed log frame.
func frame(stream byte, payload string) []byte {
	h := make([]byte, 8, 8+len(payload))
	h[0] = stream
	binary.BigEndian.PutUint32(h[4:], uint32(len(payload)))
	return append(h, payload...)
}

func TestLogDemux(t *testing.T) {
	var in bytes.Buffer
	in.Write(frame(1, "2026-11-26T02:00:00.123456789Z hello\n"))
	in.Write(frame(2, "2026-11-26T02:00:01Z oops\n"))
	in.Write(frame(1, "2026-11-26T02:00:02Z\n"))                             // an empty line
	in.Write(frame(1, "2026-11-26T02:00:03Z a b\n2026-11-26T02:00:04Z c\n")) // two lines, one frame
	in.Write([]byte{1, 0, 0})                                                // a truncated header ends the stream
	s := &logStream{body: io.NopCloser(&in), r: bufio.NewReader(&in)}
	var got []string
	for {
		e, err := s.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(e.Source)+"|"+e.Time.Format(time.RFC3339Nano)+"|"+e.Line)
	}
	want := []string{
		"stdout|2026-11-26T02:00:00.123456789Z|hello",
		"stderr|2026-11-26T02:00:01Z|oops",
		"stdout|2026-11-26T02:00:02Z|",
		"stdout|2026-11-26T02:00:03Z|a b",
		"stdout|2026-11-26T02:00:04Z|c",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("demux:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// FuzzLogDemux: any byte stream ends in lines, io.EOF or an error, never
// a panic or a hang.
func FuzzLogDemux(f *testing.F) {
	f.Add(frame(1, "2026-11-26T02:00:00Z hello\n"))
	f.Add(append(frame(2, "x"), 9, 0, 0, 0, 0, 0, 0, 1))
	f.Add([]byte{1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		s := &logStream{body: io.NopCloser(bytes.NewReader(data)), r: bufio.NewReader(bytes.NewReader(data))}
		for i := 0; i <= len(data); i++ {
			if _, err := s.Next(); err != nil {
				return
			}
		}
		t.Fatal("more lines than bytes")
	})
}

func TestCreateRequestDeviceRequests(t *testing.T) {
	spec := runtime.ContainerSpec{Image: "cuda", DeviceRequests: []runtime.DeviceRequest{{
		Driver: "nvidia", DeviceIDs: []string{"GPU-aaaa", "GPU-bbbb"}, Capabilities: [][]string{{"gpu"}},
	}}}
	got, _ := json.Marshal(createRequest(spec))
	want := `"DeviceRequests":[{"Driver":"nvidia","DeviceIDs":["GPU-aaaa","GPU-bbbb"],"Capabilities":[["gpu"]]}]`
	if !strings.Contains(string(got), want) {
		t.Errorf("create body lacks %s:\n%s", want, got)
	}
	// Docker refuses Count together with DeviceIDs: a zero Count is not sent.
	if strings.Contains(string(got), `"Count"`) {
		t.Errorf("create body sends Count with DeviceIDs:\n%s", got)
	}
	got, _ = json.Marshal(createRequest(runtime.ContainerSpec{Image: "plain"}))
	if strings.Contains(string(got), "DeviceRequests") {
		t.Errorf("a spec without devices sends DeviceRequests:\n%s", got)
	}
}
