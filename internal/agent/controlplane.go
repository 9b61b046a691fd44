package agent

import (
	"context"
	"time"

	"github.com/wharfhq/wharf/internal/agentproto"
	"github.com/wharfhq/wharf/internal/runtime"
)

// ControlPlane is the agent's view of Wharf: register, poll for
// assignments, report. Remote (the ECS API over HTTP, for `wharf agent`)
// and the server's in-process managed capacity implement it.
type ControlPlane interface {
	// Register registers (or re-registers, when r.InstanceARN is set) this
	// host as a container instance and returns its ARN.
	Register(ctx context.Context, r Registration) (string, error)
	// Poll waits up to wait for assignments after acked (see agentproto).
	Poll(ctx context.Context, acked int64, wait time.Duration) (Assignments, error)
	// SubmitTask reports a task's state and its containers'.
	SubmitTask(ctx context.Context, r TaskReport) error
	// SubmitHealth reports the health of a task's containers.
	SubmitHealth(ctx context.Context, cluster, taskARN string, health map[string]runtime.Health) error
	// RegistryAuth returns credentials to pull image for a task (nil for
	// anonymous pulls, e.g. images not in Wharf's registry).
	RegistryAuth(ctx context.Context, t *agentproto.Task, image string) (*runtime.Auth, error)
}

// Registration is what RegisterContainerInstance carries.
type Registration struct {
	Cluster     string
	InstanceARN string // set to re-register
	InstanceID  string // our "EC2 instance ID", kept in the state file
	CPU         int    // units (cores × 1024)
	MemoryMiB   int
	Ports       []int
	PortsUDP    []int
	GPUs        []string
	Attributes  map[string]string
	AZ          string
	Type        string
	Arch        string
	AgentVersion,
	DockerVersion string
}

// Assignments is one poll answer.
type Assignments struct {
	Sequence int64
	// Changed says Tasks is the whole desired state at Sequence; false
	// means nothing changed since acked.
	Changed bool
	Tasks   []agentproto.Task
}

// TaskReport is a task's state as the agent reports it.
type TaskReport struct {
	Cluster            string
	TaskARN            string
	Status             string // PENDING, RUNNING, STOPPED
	Reason             string
	PullStartedAt      *time.Time
	PullStoppedAt      *time.Time
	ExecutionStoppedAt *time.Time
	Containers         []ContainerReport
}

// ContainerReport is one container's state.
type ContainerReport struct {
	Name        string
	Status      string // PENDING, RUNNING, STOPPED
	ExitCode    *int
	Reason      string
	RuntimeID   string
	ImageDigest string
	Bindings    []Binding
}

// Binding is a host port actually bound to a container port.
type Binding struct {
	BindIP        string
	ContainerPort int
	HostPort      int
	Protocol      string
}
