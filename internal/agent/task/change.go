package task

import (
	"time"

	"github.com/wharfhq/wharf/internal/runtime"
)

// Task and container statuses, as ECS reports them (lastStatus).
const (
	StatusPending = "PENDING"
	StatusRunning = "RUNNING"
	StatusStopped = "STOPPED"
)

// Stop codes the engine sets (ECS's names).
const (
	StopEssentialExited  = "EssentialContainerExited"
	StopFailedToStart    = "TaskFailedToStart"
	StopUserInitiated    = "UserInitiated"
	ReasonEssentialExit  = "Essential container in task exited"
	reasonPauseExited    = "Task network (internal pause container) exited"
	reasonOutOfMemory    = "OutOfMemoryError: Container killed due to memory usage"
	reasonNeverStarted   = "Task stopped before the container started"
	defaultStoppedReason = "Task stopped by the agent"
)

// Change is a task's whole state after something happened: the agent
// turns it into SubmitTaskStateChange / SubmitContainerStateChange calls.
// It is a snapshot, not a delta, so a lost report is repaired by the next.
type Change struct {
	TaskARN string
	// Status is PENDING, RUNNING or STOPPED.
	Status        string
	StopCode      string
	StoppedReason string
	// Zero times are not known (yet).
	PullStartedAt      time.Time
	PullStoppedAt      time.Time
	ExecutionStoppedAt time.Time
	Containers         []ContainerChange
}

// ContainerChange is one container's state.
type ContainerChange struct {
	Name         string
	ContainerARN string
	RuntimeID    string
	Image        string
	ImageDigest  string
	// Status is PENDING (not started), RUNNING or STOPPED.
	Status   string
	ExitCode *int
	Reason   string
	// NetworkBindings are the host ports bound (bridge and host modes).
	NetworkBindings []NetworkBinding
	Health          runtime.Health
}

// NetworkBinding is ECS's networkBinding.
type NetworkBinding struct {
	BindIP        string
	ContainerPort int32
	HostPort      int32
	Protocol      string
}
