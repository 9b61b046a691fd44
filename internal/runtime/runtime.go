// Package runtime is the container runtime as the agent sees it: images,
// containers, their logs, events and stats, and task networks, described in
// ECS's terms rather than Docker's. The agent depends on these interfaces
// only; internal/runtime/docker implements them on the Docker Engine API.
//
// The interfaces are small and composed: a consumer that only starts and
// inspects containers asks for Containers, a metrics collector for
// StatsReader, and the agent as a whole for Runtime.
package runtime

import (
	"context"
	"errors"
	"time"
)

// Errors every implementation returns, wrapped with context; test them with
// errors.Is.
var (
	// ErrNotFound: the container, image or network does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the name is taken, or the object is in a state that
	// refuses the operation (e.g. removing a running container).
	ErrConflict = errors.New("conflict")
	// ErrImagePull: an image could not be pulled; the error is a *PullError.
	ErrImagePull = errors.New("image pull failed")
	// ErrUnavailable: the runtime (the Docker Engine) cannot be reached.
	ErrUnavailable = errors.New("runtime unavailable")
	// ErrInvalid: the request was refused as malformed (a bad spec).
	ErrInvalid = errors.New("invalid request")
)

// PullError is why an image pull failed, with the registry's (or the
// engine's) message. errors.Is(err, ErrImagePull) holds for it.
type PullError struct {
	Ref     string
	Message string
}

func (e *PullError) Error() string { return "pull " + e.Ref + ": " + e.Message }

// Is makes errors.Is(err, ErrImagePull) true.
func (e *PullError) Is(target error) bool { return target == ErrImagePull }

// StoppedReason is the text ECS reports as a task's stoppedReason when the
// pull fails: "CannotPullContainerError: Error response from daemon: …".
func (e *PullError) StoppedReason() string {
	return "CannotPullContainerError: Error response from daemon: " + e.Message
}

// Runtime is everything the agent needs from a container runtime.
type Runtime interface {
	Host
	Images
	Containers
	LogReader
	EventSource
	StatsReader
	Networks
	Volumes
}

// Host describes the machine the runtime runs on.
type Host interface {
	// Ping reports whether the runtime answers.
	Ping(ctx context.Context) error
	// Info describes the host's resources, for RegisterContainerInstance.
	Info(ctx context.Context) (Info, error)
}

// Info is the host as the runtime sees it.
type Info struct {
	Name          string // host name
	CPUs          int    // logical cores; ECS CPU = CPUs × 1024
	MemoryBytes   int64  // total memory
	OSType        string // "linux"
	Architecture  string // "x86_64", "aarch64" (as the engine reports it)
	OS            string // e.g. "Debian GNU/Linux 12 (bookworm)"
	KernelVersion string
	ServerVersion string // the engine's version, e.g. "20.10.24"
	APIVersion    string // the API version negotiated with the engine
}

// Auth is registry credentials for a pull (for ECR: "AWS" and a token).
type Auth struct {
	Username string
	Password string
}

// PullProgress is one progress report of a pull, per layer.
type PullProgress struct {
	Layer   string // layer ID, empty for image-level messages
	Status  string // e.g. "Downloading", "Pull complete"
	Current int64  // bytes done, when known
	Total   int64  // bytes in all, when known
}

// Images pulls and looks up images.
type Images interface {
	// PullImage pulls ref (name[:tag] or name@digest; tag defaults to
	// "latest"). auth may be nil for anonymous pulls; progress may be nil.
	// A failure is a *PullError (errors.Is ErrImagePull).
	PullImage(ctx context.Context, ref string, auth *Auth, progress func(PullProgress)) error
	// ImageExists reports whether ref is present locally.
	ImageExists(ctx context.Context, ref string) (bool, error)
}

// Containers manages the lifecycle of containers.
type Containers interface {
	// CreateContainer creates (does not start) a container and returns its ID.
	CreateContainer(ctx context.Context, spec ContainerSpec) (string, error)
	StartContainer(ctx context.Context, id string) error
	// StopContainer sends the stop signal (SIGTERM) and, after timeout,
	// SIGKILL. Stopping a stopped container is not an error.
	StopContainer(ctx context.Context, id string, timeout time.Duration) error
	// RemoveContainer removes the container (force kills it if running)
	// and its anonymous volumes.
	RemoveContainer(ctx context.Context, id string) error
	InspectContainer(ctx context.Context, id string) (ContainerStatus, error)
	// WaitContainer blocks until the container is not running and returns
	// its exit code. Call it after StartContainer.
	WaitContainer(ctx context.Context, id string) (int, error)
	// ListContainers lists containers, running or not, carrying every
	// label in labels (an empty value matches any value of that key).
	ListContainers(ctx context.Context, labels map[string]string) ([]ContainerSummary, error)
}

// LogReader reads a container's output.
type LogReader interface {
	// ContainerLogs opens the container's stdout and stderr, demultiplexed
	// and timestamped. Close the stream when done.
	ContainerLogs(ctx context.Context, id string, opts LogOptions) (LogStream, error)
}

// EventSource streams container events so the agent reacts without polling.
type EventSource interface {
	// Events subscribes to container events matching filter. When it
	// returns, the subscription is in place: no later event is missed.
	Events(ctx context.Context, filter EventFilter) (EventStream, error)
}

// StatsReader samples resource usage.
type StatsReader interface {
	// ContainerStats takes one sample of a running container's usage.
	ContainerStats(ctx context.Context, id string) (Stats, error)
}

// Networks manages user-defined networks (a task's awsvpc network).
type Networks interface {
	CreateNetwork(ctx context.Context, spec NetworkSpec) (Network, error)
	// RemoveNetwork removes a network by ID or name; one with containers
	// attached gives ErrConflict.
	RemoveNetwork(ctx context.Context, id string) error
	// ListNetworks lists networks carrying every label in labels (an empty
	// value matches any value), so the agent finds its own after a restart.
	ListNetworks(ctx context.Context, labels map[string]string) ([]Network, error)
}

// Volumes manages named volumes (ECS dockerVolumeConfiguration, and
// task-scoped scratch the agent provisions).
type Volumes interface {
	CreateVolume(ctx context.Context, spec VolumeSpec) error
	// RemoveVolume removes a volume; one in use gives ErrConflict.
	RemoveVolume(ctx context.Context, name string) error
}

// VolumeSpec is a named volume to create (ECS dockerVolumeConfiguration).
type VolumeSpec struct {
	Name       string
	Driver     string // empty = "local"
	DriverOpts map[string]string
	Labels     map[string]string
}

// Network modes, as ECS names them; "container:<id>" joins another
// container's network namespace (awsvpc's pause container), and any other
// value names a user-defined network.
const (
	NetworkBridge = "bridge"
	NetworkHost   = "host"
	NetworkNone   = "none"
)

// NetworkContainer is the network mode that joins container id's namespace.
func NetworkContainer(id string) string { return "container:" + id }

// ContainerSpec is a container to create, in the terms of an ECS container
// definition.
type ContainerSpec struct {
	Name        string            // container name; empty lets the runtime pick
	Image       string            // image reference
	Command     []string          // replaces the image's CMD when non-nil
	EntryPoint  []string          // replaces the image's ENTRYPOINT when non-nil
	Environment map[string]string // added to the image's environment
	WorkingDir  string
	User        string // "user", "uid", "uid:gid", "user:group"
	Labels      map[string]string

	CPUShares            int64 // ECS cpu units; 0 = the runtime's default
	NanoCPUs             int64 // hard CPU quota in 1e-9 cores (Fargate's task cpu); 0 = none
	MemoryMiB            int64 // hard limit; 0 = none
	MemoryReservationMiB int64 // soft limit; 0 = none
	Ulimits              []Ulimit

	NetworkMode string // NetworkBridge (default), NetworkHost, NetworkNone, NetworkContainer(id) or a network name
	// IPv4Address and MACAddress fix the container's address on the
	// user-defined network NetworkMode names (awsvpc's ENI); empty lets the
	// runtime choose.
	IPv4Address  string
	MACAddress   string
	PortMappings []PortMapping // bridge mode only
	Hostname     string
	ExtraHosts   []string // "name:ip" lines added to /etc/hosts ("host-gateway" as ip = the host)
	DNSServers   []string
	DNSSearch    []string

	Mounts         []Mount
	VolumesFrom    []string // "container[:ro]": mount another container's volumes
	ReadonlyRootfs bool
	Init           bool // run an init process as PID 1 (initProcessEnabled)
	Privileged     bool
	CapAdd         []string
	CapDrop        []string
	Sysctls        map[string]string // ECS systemControls
	ShmSizeMiB     int64             // /dev/shm size (sharedMemorySize); 0 = default
	// DeviceRequests ask the runtime's device drivers for devices, such as
	// the NVIDIA GPUs an ECS task was assigned.
	DeviceRequests []DeviceRequest

	HealthCheck *HealthCheck
	StopTimeout time.Duration // grace between SIGTERM and SIGKILL; 0 = the runtime's default
}

// DeviceRequest asks a device driver for devices (Docker's
// HostConfig.DeviceRequests, `docker run --gpus`).
type DeviceRequest struct {
	Driver       string     // "nvidia"
	DeviceIDs    []string   // the devices, e.g. GPU UUIDs; empty with Count
	Count        int        // how many, when DeviceIDs is empty (-1 = all)
	Capabilities [][]string // e.g. [["gpu"]]: any one inner list must all be supported
}

// Ulimit is one resource limit (name as in ECS: "nofile", "nproc", …).
type Ulimit struct {
	Name string
	Soft int64
	Hard int64
}

// PortMapping binds a container port to a host port. HostPort 0 asks for a
// dynamic port; InspectContainer reports the one bound.
type PortMapping struct {
	ContainerPort uint16
	HostPort      uint16
	Protocol      string // "tcp" (default) or "udp"
	HostIP        string // empty = all interfaces
}

// MountType is the kind of a mount.
type MountType string

// Mount types.
const (
	MountBind   MountType = "bind"   // a host path (ECS host volume)
	MountVolume MountType = "volume" // a named runtime volume (ECS dockerVolumeConfiguration)
	MountTmpfs  MountType = "tmpfs"  // memory-backed scratch
)

// Mount is one mount point.
type Mount struct {
	Type      MountType
	Source    string // host path or volume name; unused for tmpfs
	Target    string // path in the container
	ReadOnly  bool
	TmpfsSize int64 // bytes, tmpfs only; 0 = default
}

// HealthCheck is ECS's healthCheck: Command is ["CMD", args…] or
// ["CMD-SHELL", "command"].
type HealthCheck struct {
	Command     []string
	Interval    time.Duration
	Timeout     time.Duration
	Retries     int
	StartPeriod time.Duration
}

// State is a container's lifecycle state.
type State string

// Container states.
const (
	StateCreated State = "CREATED" // created, never started
	StateRunning State = "RUNNING" // running (or paused, or restarting)
	StateStopped State = "STOPPED" // exited, or dead
)

// Health is a container's health status, as ECS reports it.
type Health string

// Health statuses. HealthUnknown also covers "no health check".
const (
	HealthUnknown   Health = "UNKNOWN"
	HealthStarting  Health = "STARTING"
	HealthHealthy   Health = "HEALTHY"
	HealthUnhealthy Health = "UNHEALTHY"
)

// ContainerStatus is what InspectContainer reports.
type ContainerStatus struct {
	ID     string
	Name   string
	Image  string // the reference the container was created from
	Labels map[string]string

	State      State
	ExitCode   int // meaningful when State is StateStopped
	OOMKilled  bool
	Error      string // the runtime's error, e.g. a start failure
	StartedAt  time.Time
	FinishedAt time.Time

	Health       Health
	HealthOutput string // output of the last health check

	CPUShares   int64
	MemoryBytes int64 // hard limit applied; 0 = none

	// PortBindings are the host ports actually bound (dynamic ones resolved).
	PortBindings []PortMapping
	// Networks are the container's addresses, one per network attached.
	Networks []NetworkAttachment
}

// NetworkAttachment is a container's address on one network.
type NetworkAttachment struct {
	Network    string // network name
	NetworkID  string
	IPAddress  string
	PrefixLen  int
	Gateway    string
	MACAddress string
}

// ContainerSummary is one row of ListContainers.
type ContainerSummary struct {
	ID     string
	Name   string
	Image  string
	Labels map[string]string
	State  State
}

// LogOptions selects which output ContainerLogs returns.
type LogOptions struct {
	Follow bool      // keep the stream open for new output
	Since  time.Time // zero = from the beginning
	Tail   int       // last N lines only; 0 = all
}

// LogSource says which stream a line came from.
type LogSource string

// Log sources.
const (
	Stdout LogSource = "stdout"
	Stderr LogSource = "stderr"
)

// LogEntry is one line of output.
type LogEntry struct {
	Source LogSource
	Time   time.Time
	Line   string // without the trailing newline
}

// LogStream yields log lines. Next returns io.EOF at the end of output (or
// when a followed container stops); Close ends the stream early.
type LogStream interface {
	Next() (LogEntry, error)
	Close() error
}

// EventFilter narrows Events. Empty fields match everything.
type EventFilter struct {
	Actions     []string          // e.g. "start", "die", "oom", "health_status"
	Labels      map[string]string // container labels; empty value = any value
	ContainerID string
	// Since replays events from this time on, so a restarted agent misses
	// nothing; zero means from the moment Events is called.
	Since time.Time
}

// Event is a container event.
type Event struct {
	Action      string // "die", "health_status", "start", …
	ContainerID string
	Time        time.Time
	Labels      map[string]string // the container's labels
	ExitCode    int               // "die" events
	Health      Health            // "health_status" events
}

// EventStream yields events; Next blocks for the next one. Close ends it.
type EventStream interface {
	Next() (Event, error)
	Close() error
}

// Stats is one sample of a container's resource usage.
type Stats struct {
	Time             time.Time
	CPUPercent       float64 // of one core × OnlineCPUs (100 = one core busy)
	CPUTotalNanos    uint64  // cumulative CPU time used
	OnlineCPUs       int
	MemoryUsageBytes uint64 // usage minus page cache
	MemoryLimitBytes uint64
}

// NetworkSpec is a user-defined bridge network to create.
type NetworkSpec struct {
	Name     string
	Labels   map[string]string
	Subnet   string // CIDR; empty lets the runtime choose
	Gateway  string // empty lets the runtime choose
	Internal bool   // no route outside
}

// Network is a created network.
type Network struct {
	ID      string
	Name    string
	Labels  map[string]string
	Subnet  string
	Gateway string
}
