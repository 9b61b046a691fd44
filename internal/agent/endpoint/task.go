package endpoint

import (
	"maps"
	"slices"
	"time"
)

// Task is what the agent tells the server about one task: everything the
// v4 task metadata JSON carries. The server keeps its own copy; the agent
// calls Update with a fresh value whenever something changes (a container
// started, stopped, turned healthy).
type Task struct {
	Cluster       string // cluster ARN or short name, as ECS reports it
	TaskARN       string
	Family        string
	Revision      string // task definition revision, as a string ("24")
	ServiceName   string // empty for a task no service started
	DesiredStatus string // RUNNING, STOPPED
	KnownStatus   string // PENDING, RUNNING, STOPPED, …

	// CPU (in vCPUs, e.g. 0.25) and MemoryMiB are the task-level size;
	// zero omits them, as ECS does for a task without task-level limits.
	CPU       float64
	MemoryMiB int64

	PullStartedAt      time.Time // zero = not reported
	PullStoppedAt      time.Time
	ExecutionStoppedAt time.Time

	AvailabilityZone string
	LaunchType       string // EC2 or FARGATE
	VPCID            string

	Containers []Container
}

// Container is one container of a Task.
type Container struct {
	// EndpointID is the unguessable id in this container's metadata URI
	// (ECS_CONTAINER_METADATA_URI_V4 = <base>/v4/<EndpointID>); make it
	// with NewID before the container is created, so it can go in the
	// container's environment.
	EndpointID string

	DockerID   string // empty until the container is created
	Name       string // the name in the task definition
	DockerName string // the name the runtime knows it by
	Image      string
	ImageID    string // "sha256:…"
	Labels     map[string]string

	DesiredStatus string
	KnownStatus   string
	ExitCode      *int // nil until the container has stopped

	// CPU is the container's cpu units and MemoryMiB its hard limit (or
	// its reservation when no hard limit is set); zero omits them.
	CPU       int64
	MemoryMiB int64

	CreatedAt  time.Time // zero = not yet
	StartedAt  time.Time
	FinishedAt time.Time

	Type         string // NORMAL (the default when empty)
	ContainerARN string
	LogDriver    string
	LogOptions   map[string]string

	Networks []Network
	Ports    []Port
	Health   *Health // nil = the container has no health check
}

// Network is one of a container's network attachments.
type Network struct {
	NetworkMode   string // bridge, host, awsvpc, …
	IPv4Addresses []string
	// The remaining fields describe an awsvpc ENI and are omitted for the
	// other modes.
	AttachmentIndex          *int
	MACAddress               string
	IPv4SubnetCIDRBlock      string
	PrivateDNSName           string
	SubnetGatewayIPv4Address string // "10.0.2.1/24", as ECS writes it
}

// Port is a port mapping as bound.
type Port struct {
	ContainerPort uint16
	Protocol      string // tcp, udp
	HostPort      uint16
	HostIP        string
}

// Health is a container's health as ECS reports it.
type Health struct {
	Status   string // HEALTHY, UNHEALTHY, UNKNOWN
	Since    time.Time
	ExitCode int
	Output   string
}

// clone returns a copy of t that shares nothing mutable with t.
func (t Task) clone() Task {
	t.Containers = slices.Clone(t.Containers)
	for i := range t.Containers {
		c := &t.Containers[i]
		c.Labels = maps.Clone(c.Labels)
		c.LogOptions = maps.Clone(c.LogOptions)
		c.Ports = slices.Clone(c.Ports)
		c.Networks = slices.Clone(c.Networks)
		for j := range c.Networks {
			c.Networks[j].IPv4Addresses = slices.Clone(c.Networks[j].IPv4Addresses)
			if c.Networks[j].AttachmentIndex != nil {
				v := *c.Networks[j].AttachmentIndex
				c.Networks[j].AttachmentIndex = &v
			}
		}
		if c.ExitCode != nil {
			v := *c.ExitCode
			c.ExitCode = &v
		}
		if c.Health != nil {
			h := *c.Health
			c.Health = &h
		}
	}
	return t
}
