package docker

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/wharfhq/wharf/internal/runtime"
)

// Engine API shapes for container creation (only the fields we set).
type (
	createBody struct {
		Hostname     string              `json:",omitempty"`
		User         string              `json:",omitempty"`
		Env          []string            `json:",omitempty"`
		Cmd          []string            `json:",omitempty"`
		Entrypoint   []string            `json:",omitempty"`
		Image        string              `json:"Image"`
		WorkingDir   string              `json:",omitempty"`
		Labels       map[string]string   `json:",omitempty"`
		ExposedPorts map[string]struct{} `json:",omitempty"`
		Healthcheck  *healthConfig       `json:",omitempty"`
		StopTimeout  *int                `json:",omitempty"`
		MacAddress   string              `json:",omitempty"` // API < 1.44; later versions take it per endpoint
		HostConfig   hostConfig          `json:"HostConfig"`
		// NetworkingConfig fixes the address on a user-defined network.
		NetworkingConfig *networkingConfig `json:",omitempty"`
	}
	networkingConfig struct {
		EndpointsConfig map[string]endpointConfig
	}
	endpointConfig struct {
		IPAMConfig *struct {
			IPv4Address string `json:",omitempty"`
		} `json:",omitempty"`
		MacAddress string `json:",omitempty"`
	}
	healthConfig struct {
		Test        []string
		Interval    int64 `json:",omitempty"`
		Timeout     int64 `json:",omitempty"`
		Retries     int   `json:",omitempty"`
		StartPeriod int64 `json:",omitempty"`
	}
	hostConfig struct {
		NetworkMode       string                   `json:",omitempty"`
		PortBindings      map[string][]portBinding `json:",omitempty"`
		Mounts            []mountSpec              `json:",omitempty"`
		ReadonlyRootfs    bool                     `json:",omitempty"`
		Privileged        bool                     `json:",omitempty"`
		ExtraHosts        []string                 `json:",omitempty"`
		DNS               []string                 `json:"Dns,omitempty"`
		DNSSearch         []string                 `json:"DnsSearch,omitempty"`
		VolumesFrom       []string                 `json:",omitempty"`
		Sysctls           map[string]string        `json:",omitempty"`
		ShmSize           int64                    `json:",omitempty"`
		Init              *bool                    `json:",omitempty"`
		CapAdd            []string                 `json:",omitempty"`
		CapDrop           []string                 `json:",omitempty"`
		CPUShares         int64                    `json:"CpuShares,omitempty"`
		NanoCPUs          int64                    `json:"NanoCpus,omitempty"`
		Memory            int64                    `json:",omitempty"`
		MemoryReservation int64                    `json:",omitempty"`
		Ulimits           []ulimit                 `json:",omitempty"`
		DeviceRequests    []deviceRequest          `json:",omitempty"`
	}
	deviceRequest struct {
		Driver       string     `json:",omitempty"`
		Count        int        `json:",omitempty"`
		DeviceIDs    []string   `json:",omitempty"`
		Capabilities [][]string `json:",omitempty"`
	}
	portBinding struct {
		HostIP   string `json:"HostIp"`
		HostPort string `json:"HostPort"`
	}
	mountSpec struct {
		Type         string
		Source       string `json:",omitempty"`
		Target       string
		ReadOnly     bool `json:",omitempty"`
		TmpfsOptions *struct {
			SizeBytes int64 `json:",omitempty"`
		} `json:",omitempty"`
	}
	ulimit struct {
		Name string
		Soft int64
		Hard int64
	}
)

const mib = 1 << 20

func portKey(port uint16, proto string) string {
	if proto == "" {
		proto = "tcp"
	}
	return strconv.Itoa(int(port)) + "/" + strings.ToLower(proto)
}

// createRequest translates a spec into the engine's create body.
func createRequest(spec runtime.ContainerSpec) createBody {
	b := createBody{
		Hostname: spec.Hostname, User: spec.User, Cmd: spec.Command, Entrypoint: spec.EntryPoint,
		Image: spec.Image, WorkingDir: spec.WorkingDir, Labels: spec.Labels,
	}
	keys := make([]string, 0, len(spec.Environment))
	for k := range spec.Environment {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.Env = append(b.Env, k+"="+spec.Environment[k])
	}
	if hc := spec.HealthCheck; hc != nil {
		b.Healthcheck = &healthConfig{
			Test: hc.Command, Interval: int64(hc.Interval), Timeout: int64(hc.Timeout),
			Retries: hc.Retries, StartPeriod: int64(hc.StartPeriod),
		}
	}
	if spec.StopTimeout > 0 {
		s := int(math.Ceil(spec.StopTimeout.Seconds()))
		b.StopTimeout = &s
	}
	h := &b.HostConfig
	h.NetworkMode = spec.NetworkMode
	if h.NetworkMode == "" {
		h.NetworkMode = runtime.NetworkBridge
	}
	for _, p := range spec.PortMappings {
		k := portKey(p.ContainerPort, p.Protocol)
		if b.ExposedPorts == nil {
			b.ExposedPorts = map[string]struct{}{}
			h.PortBindings = map[string][]portBinding{}
		}
		b.ExposedPorts[k] = struct{}{}
		hp := ""
		if p.HostPort != 0 {
			hp = strconv.Itoa(int(p.HostPort))
		}
		h.PortBindings[k] = append(h.PortBindings[k], portBinding{HostIP: p.HostIP, HostPort: hp})
	}
	for _, m := range spec.Mounts {
		ms := mountSpec{Type: string(m.Type), Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly}
		if m.Type == runtime.MountTmpfs {
			ms.Source = ""
			if m.TmpfsSize > 0 {
				ms.TmpfsOptions = &struct {
					SizeBytes int64 `json:",omitempty"`
				}{m.TmpfsSize}
			}
		}
		h.Mounts = append(h.Mounts, ms)
	}
	h.ReadonlyRootfs = spec.ReadonlyRootfs
	h.Privileged = spec.Privileged
	h.ExtraHosts, h.DNS, h.DNSSearch = spec.ExtraHosts, spec.DNSServers, spec.DNSSearch
	h.VolumesFrom = spec.VolumesFrom
	h.Sysctls = spec.Sysctls
	h.ShmSize = spec.ShmSizeMiB * mib
	if spec.Init {
		t := true
		h.Init = &t
	}
	h.CapAdd, h.CapDrop = spec.CapAdd, spec.CapDrop
	h.CPUShares = spec.CPUShares
	h.NanoCPUs = spec.NanoCPUs
	h.Memory = spec.MemoryMiB * mib
	h.MemoryReservation = spec.MemoryReservationMiB * mib
	for _, u := range spec.Ulimits {
		h.Ulimits = append(h.Ulimits, ulimit(u))
	}
	for _, d := range spec.DeviceRequests {
		h.DeviceRequests = append(h.DeviceRequests, deviceRequest{Driver: d.Driver, Count: d.Count, DeviceIDs: d.DeviceIDs, Capabilities: d.Capabilities})
	}
	if spec.IPv4Address != "" || spec.MACAddress != "" {
		ep := endpointConfig{MacAddress: spec.MACAddress}
		if spec.IPv4Address != "" {
			ep.IPAMConfig = &struct {
				IPv4Address string `json:",omitempty"`
			}{spec.IPv4Address}
		}
		b.NetworkingConfig = &networkingConfig{EndpointsConfig: map[string]endpointConfig{h.NetworkMode: ep}}
	}
	return b
}

// macPerEndpoint is the first API version that takes the MAC address per
// network endpoint; older engines ignore it there and want it in the
// container's configuration.
const macPerEndpoint = "1.44"

// CreateContainer creates a container from spec and returns its ID.
func (c *Client) CreateContainer(ctx context.Context, spec runtime.ContainerSpec) (string, error) {
	q := url.Values{}
	if spec.Name != "" {
		q.Set("name", spec.Name)
	}
	var out struct {
		ID string `json:"Id"`
	}
	body := createRequest(spec)
	if spec.MACAddress != "" && versionLess(c.version, macPerEndpoint) {
		body.MacAddress = spec.MACAddress
	}
	if err := c.call(ctx, http.MethodPost, "/containers/create", q, body, &out); err != nil {
		return "", fmt.Errorf("create container %s: %w", spec.Name, err)
	}
	return out.ID, nil
}

// StartContainer starts a created (or stopped) container.
func (c *Client) StartContainer(ctx context.Context, id string) error {
	if err := c.call(ctx, http.MethodPost, "/containers/"+id+"/start", nil, nil, nil); err != nil {
		return fmt.Errorf("start container %s: %w", id, err)
	}
	return nil
}

// StopContainer sends SIGTERM (or the image's stop signal), then SIGKILL
// after timeout. The call returns once the container has stopped.
func (c *Client) StopContainer(ctx context.Context, id string, timeout time.Duration) error {
	q := url.Values{"t": {strconv.Itoa(int(math.Ceil(timeout.Seconds())))}}
	if err := c.call(ctx, http.MethodPost, "/containers/"+id+"/stop", q, nil, nil); err != nil {
		return fmt.Errorf("stop container %s: %w", id, err)
	}
	return nil
}

// RemoveContainer force-removes a container and its anonymous volumes.
func (c *Client) RemoveContainer(ctx context.Context, id string) error {
	q := url.Values{"force": {"1"}, "v": {"1"}}
	if err := c.call(ctx, http.MethodDelete, "/containers/"+id, q, nil, nil); err != nil {
		return fmt.Errorf("remove container %s: %w", id, err)
	}
	return nil
}

// WaitContainer blocks until the container is not running; it returns the
// exit code.
func (c *Client) WaitContainer(ctx context.Context, id string) (int, error) {
	var out struct {
		StatusCode int
		Error      *struct{ Message string }
	}
	q := url.Values{"condition": {"not-running"}}
	if err := c.call(ctx, http.MethodPost, "/containers/"+id+"/wait", q, nil, &out); err != nil {
		return 0, fmt.Errorf("wait container %s: %w", id, err)
	}
	if out.Error != nil && out.Error.Message != "" {
		return out.StatusCode, fmt.Errorf("wait container %s: %s", id, out.Error.Message)
	}
	return out.StatusCode, nil
}

// inspectBody is the part of GET /containers/{id}/json we read.
type inspectBody struct {
	ID     string `json:"Id"`
	Name   string
	Config struct {
		Image  string
		Labels map[string]string
	}
	State struct {
		Status     string
		ExitCode   int
		OOMKilled  bool
		Error      string
		StartedAt  string
		FinishedAt string
		Health     *struct {
			Status string
			Log    []struct{ Output string }
		}
	}
	HostConfig struct {
		CPUShares int64 `json:"CpuShares"`
		Memory    int64
	}
	NetworkSettings struct {
		Ports    map[string][]portBinding
		Networks map[string]struct {
			NetworkID   string
			IPAddress   string
			IPPrefixLen int
			Gateway     string
			MacAddress  string
		}
	}
}

func state(s string) runtime.State {
	switch s {
	case "created":
		return runtime.StateCreated
	case "running", "paused", "restarting":
		return runtime.StateRunning
	}
	return runtime.StateStopped // exited, dead, removing
}

func health(s string) runtime.Health {
	switch s {
	case "starting":
		return runtime.HealthStarting
	case "healthy":
		return runtime.HealthHealthy
	case "unhealthy":
		return runtime.HealthUnhealthy
	}
	return runtime.HealthUnknown
}

// engineTime parses the engine's timestamps; its zero ("0001-01-01T…")
// becomes time.Time{}.
func engineTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() <= 1 {
		return time.Time{}
	}
	return t
}

// InspectContainer reports a container's state, health, ports and addresses.
func (c *Client) InspectContainer(ctx context.Context, id string) (runtime.ContainerStatus, error) {
	var v inspectBody
	if err := c.call(ctx, http.MethodGet, "/containers/"+id+"/json", nil, nil, &v); err != nil {
		return runtime.ContainerStatus{}, fmt.Errorf("inspect container %s: %w", id, err)
	}
	st := runtime.ContainerStatus{
		ID: v.ID, Name: strings.TrimPrefix(v.Name, "/"), Image: v.Config.Image, Labels: v.Config.Labels,
		State: state(v.State.Status), ExitCode: v.State.ExitCode, OOMKilled: v.State.OOMKilled,
		Error: v.State.Error, StartedAt: engineTime(v.State.StartedAt), FinishedAt: engineTime(v.State.FinishedAt),
		Health: runtime.HealthUnknown, CPUShares: v.HostConfig.CPUShares, MemoryBytes: v.HostConfig.Memory,
	}
	if h := v.State.Health; h != nil {
		st.Health = health(h.Status)
		if n := len(h.Log); n > 0 {
			st.HealthOutput = h.Log[n-1].Output
		}
	}
	for key, bs := range v.NetworkSettings.Ports {
		port, proto, _ := strings.Cut(key, "/")
		cp, err := strconv.ParseUint(port, 10, 16)
		if err != nil {
			continue
		}
		for _, b := range bs {
			hp, err := strconv.ParseUint(b.HostPort, 10, 16)
			if err != nil {
				continue
			}
			st.PortBindings = append(st.PortBindings, runtime.PortMapping{
				ContainerPort: uint16(cp), HostPort: uint16(hp), Protocol: proto, HostIP: b.HostIP,
			})
		}
	}
	sort.Slice(st.PortBindings, func(i, j int) bool {
		a, b := st.PortBindings[i], st.PortBindings[j]
		if a.ContainerPort != b.ContainerPort {
			return a.ContainerPort < b.ContainerPort
		}
		if a.Protocol != b.Protocol {
			return a.Protocol < b.Protocol
		}
		return a.HostIP < b.HostIP
	})
	for name, n := range v.NetworkSettings.Networks {
		st.Networks = append(st.Networks, runtime.NetworkAttachment{
			Network: name, NetworkID: n.NetworkID, IPAddress: n.IPAddress, PrefixLen: n.IPPrefixLen,
			Gateway: n.Gateway, MACAddress: n.MacAddress,
		})
	}
	sort.Slice(st.Networks, func(i, j int) bool { return st.Networks[i].Network < st.Networks[j].Network })
	return st, nil
}

// ListContainers lists all containers (running or not) carrying labels.
func (c *Client) ListContainers(ctx context.Context, labels map[string]string) ([]runtime.ContainerSummary, error) {
	q := url.Values{"all": {"1"}}
	if len(labels) > 0 {
		q.Set("filters", filters(map[string][]string{"label": labelFilters(labels)}))
	}
	var rows []struct {
		ID     string `json:"Id"`
		Names  []string
		Image  string
		Labels map[string]string
		State  string
	}
	if err := c.call(ctx, http.MethodGet, "/containers/json", q, nil, &rows); err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	out := make([]runtime.ContainerSummary, 0, len(rows))
	for _, r := range rows {
		s := runtime.ContainerSummary{ID: r.ID, Image: r.Image, Labels: r.Labels, State: state(r.State)}
		if len(r.Names) > 0 {
			s.Name = strings.TrimPrefix(r.Names[0], "/")
		}
		out = append(out, s)
	}
	return out, nil
}

// ContainerStats takes one sample of a running container's usage.
func (c *Client) ContainerStats(ctx context.Context, id string) (runtime.Stats, error) {
	var v struct {
		Read     string
		CPUStats cpuStats `json:"cpu_stats"`
		PreCPU   cpuStats `json:"precpu_stats"`
		Memory   struct {
			Usage uint64
			Limit uint64
			Stats map[string]uint64
		} `json:"memory_stats"`
	}
	q := url.Values{"stream": {"0"}}
	if err := c.call(ctx, http.MethodGet, "/containers/"+id+"/stats", q, nil, &v); err != nil {
		return runtime.Stats{}, fmt.Errorf("stats %s: %w", id, err)
	}
	if v.Read == "" || engineTime(v.Read).IsZero() {
		return runtime.Stats{}, fmt.Errorf("stats %s: %w: not running", id, runtime.ErrConflict)
	}
	s := runtime.Stats{
		Time: engineTime(v.Read), CPUTotalNanos: v.CPUStats.Usage.Total, OnlineCPUs: v.CPUStats.Online,
		MemoryLimitBytes: v.Memory.Limit,
	}
	if s.OnlineCPUs == 0 {
		s.OnlineCPUs = 1
	}
	// As the docker CLI computes it: usage minus inactive file cache
	// (cgroup v2) or total cache (v1).
	cache := v.Memory.Stats["inactive_file"]
	if cache == 0 {
		cache = v.Memory.Stats["total_inactive_file"]
	}
	s.MemoryUsageBytes = v.Memory.Usage
	if cache < s.MemoryUsageBytes {
		s.MemoryUsageBytes -= cache
	}
	cpuDelta := float64(v.CPUStats.Usage.Total) - float64(v.PreCPU.Usage.Total)
	sysDelta := float64(v.CPUStats.System) - float64(v.PreCPU.System)
	if v.PreCPU.System > 0 && sysDelta > 0 && cpuDelta > 0 {
		s.CPUPercent = cpuDelta / sysDelta * float64(s.OnlineCPUs) * 100
	}
	return s, nil
}

type cpuStats struct {
	Usage struct {
		Total uint64 `json:"total_usage"`
	} `json:"cpu_usage"`
	System uint64 `json:"system_cpu_usage"`
	Online int    `json:"online_cpus"`
}
