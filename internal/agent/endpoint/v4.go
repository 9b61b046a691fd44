package endpoint

import "time"

// The JSON documents of the task metadata endpoint version 4, with the
// field names ECS documents (see "Amazon ECS task metadata v4 JSON
// response"). Absent values are omitted, as the ECS agent omits them.

// ContainerResponse is ${ECS_CONTAINER_METADATA_URI_V4} and one element of
// TaskResponse.Containers.
type ContainerResponse struct {
	DockerID      string            `json:"DockerId"`
	Name          string            `json:"Name"`
	DockerName    string            `json:"DockerName"`
	Image         string            `json:"Image"`
	ImageID       string            `json:"ImageID"`
	Ports         []PortResponse    `json:"Ports,omitempty"`
	Labels        map[string]string `json:"Labels,omitempty"`
	DesiredStatus string            `json:"DesiredStatus"`
	KnownStatus   string            `json:"KnownStatus"`
	ExitCode      *int              `json:"ExitCode,omitempty"`
	Limits        LimitsResponse    `json:"Limits"`
	CreatedAt     *time.Time        `json:"CreatedAt,omitempty"`
	StartedAt     *time.Time        `json:"StartedAt,omitempty"`
	FinishedAt    *time.Time        `json:"FinishedAt,omitempty"`
	Type          string            `json:"Type"`
	LogDriver     string            `json:"LogDriver,omitempty"`
	LogOptions    map[string]string `json:"LogOptions,omitempty"`
	ContainerARN  string            `json:"ContainerARN,omitempty"`
	Health        *HealthResponse   `json:"Health,omitempty"`
	Networks      []NetworkResponse `json:"Networks,omitempty"`
}

// LimitsResponse is a container's (cpu units, MiB) or a task's (vCPUs,
// MiB) limits.
type LimitsResponse struct {
	CPU    *float64 `json:"CPU,omitempty"`
	Memory *int64   `json:"Memory,omitempty"`
}

// PortResponse is one bound port.
type PortResponse struct {
	ContainerPort uint16 `json:"ContainerPort,omitempty"`
	Protocol      string `json:"Protocol,omitempty"`
	HostPort      uint16 `json:"HostPort,omitempty"`
	HostIP        string `json:"HostIp,omitempty"`
}

// HealthResponse is a container's health; ECS writes these keys in lower
// camel case.
type HealthResponse struct {
	Status   string     `json:"status,omitempty"`
	Since    *time.Time `json:"statusSince,omitempty"`
	ExitCode int        `json:"exitCode,omitempty"`
	Output   string     `json:"output,omitempty"`
}

// NetworkResponse is one network attachment.
type NetworkResponse struct {
	NetworkMode              string   `json:"NetworkMode"`
	IPv4Addresses            []string `json:"IPv4Addresses,omitempty"`
	AttachmentIndex          *int     `json:"AttachmentIndex,omitempty"`
	MACAddress               string   `json:"MACAddress,omitempty"`
	IPv4SubnetCIDRBlock      string   `json:"IPv4SubnetCIDRBlock,omitempty"`
	PrivateDNSName           string   `json:"PrivateDNSName,omitempty"`
	SubnetGatewayIPv4Address string   `json:"SubnetGatewayIpv4Address,omitempty"`
}

// TaskResponse is ${ECS_CONTAINER_METADATA_URI_V4}/task.
type TaskResponse struct {
	Cluster            string              `json:"Cluster"`
	TaskARN            string              `json:"TaskARN"`
	Family             string              `json:"Family"`
	Revision           string              `json:"Revision"`
	ServiceName        string              `json:"ServiceName,omitempty"`
	DesiredStatus      string              `json:"DesiredStatus"`
	KnownStatus        string              `json:"KnownStatus"`
	Limits             *LimitsResponse     `json:"Limits,omitempty"`
	PullStartedAt      *time.Time          `json:"PullStartedAt,omitempty"`
	PullStoppedAt      *time.Time          `json:"PullStoppedAt,omitempty"`
	ExecutionStoppedAt *time.Time          `json:"ExecutionStoppedAt,omitempty"`
	AvailabilityZone   string              `json:"AvailabilityZone,omitempty"`
	LaunchType         string              `json:"LaunchType,omitempty"`
	VPCID              string              `json:"VPCID,omitempty"`
	Containers         []ContainerResponse `json:"Containers"`
	ClockDrift         *ClockDriftResponse `json:"ClockDrift,omitempty"`
}

// ClockDriftResponse is the host clock's state: ClockErrorBound in
// milliseconds, and whether the clock is synchronized.
type ClockDriftResponse struct {
	ClockErrorBound            float64   `json:"ClockErrorBound"`
	ReferenceTimestamp         time.Time `json:"ReferenceTimestamp"`
	ClockSynchronizationStatus string    `json:"ClockSynchronizationStatus"`
}

// Clock synchronization statuses.
const (
	ClockSynchronized    = "SYNCHRONIZED"
	ClockNotSynchronized = "NOT_SYNCHRONIZED"
)

// timePtr is nil for the zero time, so absent times are omitted.
func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// containerResponse builds the v4 document of one container.
func containerResponse(c *Container) ContainerResponse {
	r := ContainerResponse{
		DockerID: c.DockerID, Name: c.Name, DockerName: c.DockerName,
		Image: c.Image, ImageID: c.ImageID, Labels: c.Labels,
		DesiredStatus: c.DesiredStatus, KnownStatus: c.KnownStatus, ExitCode: c.ExitCode,
		CreatedAt: timePtr(c.CreatedAt), StartedAt: timePtr(c.StartedAt), FinishedAt: timePtr(c.FinishedAt),
		Type: c.Type, ContainerARN: c.ContainerARN, LogDriver: c.LogDriver, LogOptions: c.LogOptions,
	}
	if r.Type == "" {
		r.Type = "NORMAL"
	}
	if c.CPU > 0 {
		v := float64(c.CPU)
		r.Limits.CPU = &v
	}
	if c.MemoryMiB > 0 {
		v := c.MemoryMiB
		r.Limits.Memory = &v
	}
	for _, p := range c.Ports {
		r.Ports = append(r.Ports, PortResponse(p))
	}
	for _, n := range c.Networks {
		r.Networks = append(r.Networks, NetworkResponse(n))
	}
	if h := c.Health; h != nil {
		r.Health = &HealthResponse{Status: h.Status, Since: timePtr(h.Since), ExitCode: h.ExitCode, Output: h.Output}
	}
	return r
}

// taskResponse builds the v4 task document; drift may be nil.
func taskResponse(t *Task, drift *ClockDriftResponse) TaskResponse {
	r := TaskResponse{
		Cluster: t.Cluster, TaskARN: t.TaskARN, Family: t.Family, Revision: t.Revision,
		ServiceName: t.ServiceName, DesiredStatus: t.DesiredStatus, KnownStatus: t.KnownStatus,
		PullStartedAt: timePtr(t.PullStartedAt), PullStoppedAt: timePtr(t.PullStoppedAt),
		ExecutionStoppedAt: timePtr(t.ExecutionStoppedAt),
		AvailabilityZone:   t.AvailabilityZone, LaunchType: t.LaunchType, VPCID: t.VPCID,
		Containers: make([]ContainerResponse, 0, len(t.Containers)),
		ClockDrift: drift,
	}
	if t.CPU > 0 || t.MemoryMiB > 0 {
		r.Limits = &LimitsResponse{}
		if t.CPU > 0 {
			v := t.CPU
			r.Limits.CPU = &v
		}
		if t.MemoryMiB > 0 {
			v := t.MemoryMiB
			r.Limits.Memory = &v
		}
	}
	for i := range t.Containers {
		r.Containers = append(r.Containers, containerResponse(&t.Containers[i]))
	}
	return r
}

// clockDrift turns the kernel's clock state (adjtimex: whether the clock
// is unsynchronized, and its maximum error in microseconds) into ECS's
// ClockDrift at now.
func clockDrift(unsynchronized bool, maxErrorMicros int64, now time.Time) *ClockDriftResponse {
	d := &ClockDriftResponse{
		ClockErrorBound:            float64(maxErrorMicros) / 1000,
		ReferenceTimestamp:         now.UTC().Truncate(time.Second),
		ClockSynchronizationStatus: ClockSynchronized,
	}
	if unsynchronized {
		d.ClockSynchronizationStatus = ClockNotSynchronized
	}
	return d
}
