// Package agent turns a host with a Docker Engine into ECS capacity: it
// registers the host as a container instance, polls the control plane for
// the tasks assigned to it (internal/agentproto), runs them through the
// task engine (internal/agent/task) on the runtime (internal/runtime), and
// reports their states back. `wharf agent` runs one per host; `wharf up`
// runs one in-process for FARGATE tasks (managed capacity, no instance).
//
// The agent owns three loops: polling (which is also its heartbeat), the
// engine's watch of container events, and the reporter that delivers
// state changes with retries. Its state file (DATA-DIR/agent.json) and the
// labels on its containers are all it needs to pick up where it left off
// after a restart: it re-registers as the same instance, adopts the
// containers it finds, and reconciles them with the control plane's
// desired state — nothing is started twice, nothing running is stopped.
package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"sync"
	"time"

	"github.com/aws/smithy-go"

	"github.com/wharfhq/wharf/internal/agentproto"
	wrt "github.com/wharfhq/wharf/internal/runtime"
)

// Engine runs tasks on the runtime. Sync makes the tasks it runs match
// desired: it starts the ones it does not run yet (or adopts their
// existing containers), stops those desired STOPPED, refreshes role
// credentials, and stops every task it runs that desired does not list.
// It is called with the whole desired state after each changed poll.
type Engine interface {
	Sync(ctx context.Context, desired []agentproto.Task)
	// Close stops watching (containers keep running).
	Close()
}

// Reports is where the engine sends what it observes.
type Reports interface {
	Task(TaskReport)
	Health(cluster, taskARN string, h map[string]wrt.Health)
}

// Agent is one running agent.
type Agent struct {
	cfg     Config
	rt      wrt.Runtime
	cp      ControlPlane
	managed bool // FARGATE capacity: no registration
	log     *slog.Logger

	reports *reporter
	engine  Engine

	mu    sync.Mutex
	state state
	info  wrt.Info
}

// NewEngineFunc builds and starts the agent's task engine once the agent
// knows its instance ID (engines label containers with it).
type NewEngineFunc func(ctx context.Context, d EngineDeps) (Engine, error)

// EngineDeps is what the agent gives its engine.
type EngineDeps struct {
	InstanceID string
	Reports    Reports
	// Auth returns registry credentials to pull image for task t.
	Auth func(ctx context.Context, t *agentproto.Task, image string) (*wrt.Auth, error)
	// Stats takes the running tasks' usage samples (nil: none are taken).
	Stats StatsReporter
}

// New returns an agent for cfg on rt, talking to cp.
func New(cfg Config, rt wrt.Runtime, cp ControlPlane) (*Agent, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	return &Agent{cfg: cfg, rt: rt, cp: cp, log: cfg.Logger}, nil
}

// NewManaged returns the agent of the server's own managed (FARGATE)
// capacity: it does not register an instance; cp serves the managed queue.
func NewManaged(cfg Config, rt wrt.Runtime, cp ControlPlane) (*Agent, error) {
	a, err := New(cfg, rt, cp)
	if a != nil {
		a.managed = true
	}
	return a, err
}

// InstanceARN is the container instance the agent registered as ("" for
// managed capacity or before registration).
func (a *Agent) InstanceARN() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.state.InstanceARN
}

// Run registers, then polls and runs tasks until ctx ends. It returns an
// error only when it cannot start (no runtime, refused registration).
func (a *Agent) Run(ctx context.Context, newEngine NewEngineFunc) error {
	st, err := loadState(a.cfg.DataDir)
	if err != nil {
		return err
	}
	a.mu.Lock()
	a.state = st
	a.mu.Unlock()
	if err := a.waitRuntime(ctx); err != nil {
		return err
	}
	if !a.managed {
		if err := a.register(ctx); err != nil {
			return err
		}
	}
	if a.managed && a.state.InstanceID == "" {
		// Containers are labelled with it: unique per server, so two
		// servers sharing an engine never touch each other's tasks.
		a.state.InstanceID = "fargate-" + newInstanceID()[2:]
		if err := saveState(a.cfg.DataDir, a.state); err != nil {
			return err
		}
	}
	a.reports = newReporter(a.cp, a.log)
	a.reports.metrics = a.cfg.Metrics
	a.reports.start(context.WithoutCancel(ctx))
	defer a.reports.close()
	eng, err := newEngine(ctx, EngineDeps{InstanceID: a.state.InstanceID, Reports: a.reports, Auth: a.cp.RegistryAuth,
		Stats: statsReporter(a.cp)})
	if err != nil {
		return err
	}
	a.engine = eng
	defer eng.Close()
	a.log.Info("agent running", "cluster", a.state.Cluster, "containerInstance", a.state.InstanceARN, "endpoint", a.cfg.Endpoint)
	a.pollLoop(ctx)
	return nil
}

// waitRuntime waits for the runtime to answer, logging why not.
func (a *Agent) waitRuntime(ctx context.Context) error {
	delay := time.Second
	for {
		err := a.rt.Ping(ctx)
		if err == nil {
			info, err := a.rt.Info(ctx)
			if err == nil {
				a.info = info
				return nil
			}
		}
		a.log.Warn("the Docker Engine does not answer; retrying", "err", err, "in", delay)
		select {
		case <-ctx.Done():
			return fmt.Errorf("agent: the Docker Engine never answered: %w", err)
		case <-time.After(delay):
		}
		delay = min(delay*2, 30*time.Second)
	}
}

// register registers the host (again, as the same instance, after a
// restart) and saves who it is.
func (a *Agent) register(ctx context.Context) error {
	if a.state.Cluster != "" && a.state.Cluster != a.cfg.Cluster {
		return fmt.Errorf("agent: the state in %s belongs to cluster %q, not %q; use another --data-dir or remove that file to join %q",
			statePath(a.cfg.DataDir), a.state.Cluster, a.cfg.Cluster, a.cfg.Cluster)
	}
	if a.state.InstanceID == "" {
		a.state.InstanceID = newInstanceID()
	}
	mem := int(a.info.MemoryBytes>>20) - a.cfg.ReservedMemoryMiB
	if mem <= 0 {
		return fmt.Errorf("agent: --reserved-memory %d MiB leaves no memory of the host's %d MiB for tasks", a.cfg.ReservedMemoryMiB, a.info.MemoryBytes>>20)
	}
	attrs := map[string]string{}
	for k, v := range a.cfg.Attributes {
		attrs[k] = v
	}
	for _, c := range capabilities {
		attrs[c] = ""
	}
	if a.cfg.S3Endpoint != "" {
		attrs[capEnvFilesS3] = ""
	}
	var gpus GPUs
	if !a.cfg.NoGPU {
		var err error
		if gpus, err = DetectGPUs(a.cfg.GPUDevDir, a.cfg.GPUProcDir); err != nil {
			a.log.Warn("GPU detection failed; registering without GPUs", "err", err)
		}
		if len(gpus.IDs) > 0 {
			a.log.Info("GPUs found", "gpus", gpus.IDs, "driver", gpus.DriverVersion)
		}
		for k, v := range gpuAttributes(gpus) {
			attrs[k] = v
		}
	}
	reg := Registration{Cluster: a.cfg.Cluster, InstanceARN: a.state.InstanceARN, InstanceID: a.state.InstanceID, GPUs: gpus.IDs,
		CPU: a.info.CPUs * 1024, MemoryMiB: mem, Ports: a.cfg.ReservedPorts, PortsUDP: a.cfg.ReservedPortsUDP,
		Attributes: attrs, AZ: a.cfg.AvailabilityZone, Type: a.cfg.InstanceType, Arch: arch(a.info.Architecture),
		AgentVersion: Version, DockerVersion: a.info.ServerVersion}
	delay := time.Second
	for {
		arn, err := a.cp.Register(ctx, reg)
		if err == nil {
			a.mu.Lock()
			a.state.InstanceARN, a.state.Cluster = arn, a.cfg.Cluster
			st := a.state
			a.mu.Unlock()
			a.log.Info("registered", "containerInstance", arn, "cpu", reg.CPU, "memoryMiB", reg.MemoryMiB)
			return saveState(a.cfg.DataDir, st)
		}
		if reg.InstanceARN != "" && permanent(err) {
			// The control plane no longer knows this instance (it was
			// deregistered): register as a new one, as the ECS agent does
			// on a fresh start.
			a.log.Warn("the control plane refused re-registration; registering as a new container instance", "old", reg.InstanceARN, "err", err)
			reg.InstanceARN = ""
			a.state.Acked = 0
			continue
		}
		if permanent(err) {
			return fmt.Errorf("agent: registration refused: %w", err)
		}
		a.log.Warn("cannot reach the control plane to register; retrying", "endpoint", a.cfg.Endpoint, "err", err, "in", delay)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay = min(delay*2, 15*time.Second)
	}
}

// pollLoop polls for assignments and hands each changed desired state to
// the engine, until ctx ends. The sequence is saved only after the engine
// has taken the state in, so a crash in between re-applies it (Sync is
// idempotent) rather than missing it.
func (a *Agent) pollLoop(ctx context.Context) {
	delay := 500 * time.Millisecond
	first := true
	for ctx.Err() == nil {
		acked := a.state.Acked
		if first {
			// After a start the engine knows nothing yet: ask for the whole
			// state even if the sequence did not move.
			acked = 0
		}
		res, err := a.cp.Poll(ctx, acked, a.cfg.PollWait)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			a.cfg.Metrics.polled(false, err, time.Now())
			if permanent(err) && !a.managed {
				a.log.Error("the control plane refused the poll; re-registering", "err", err)
				if rerr := a.register(ctx); rerr != nil {
					a.log.Error("re-registration failed", "err", rerr)
				}
			} else {
				a.log.Warn("poll failed; retrying", "err", err, "in", delay)
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(delay + rand.N(delay/2)):
			}
			delay = min(delay*2, 10*time.Second)
			continue
		}
		delay = 500 * time.Millisecond
		a.cfg.Metrics.polled(res.Changed || first, nil, time.Now())
		if !res.Changed && !first {
			continue
		}
		first = false
		a.engine.Sync(ctx, res.Tasks)
		a.mu.Lock()
		a.state.Acked = res.Sequence
		st := a.state
		a.mu.Unlock()
		if err := saveState(a.cfg.DataDir, st); err != nil {
			a.log.Error("cannot save the agent state", "err", err)
		}
	}
}

// Version is the agent version reported at registration.
var Version = "wharf-agent/1.0.0"

// capEnvFilesS3 is registered when the agent can download environment
// files (it has an S3 endpoint).
const capEnvFilesS3 = "ecs.capability.env-files.s3"

// capabilities are the ECS capability attributes this agent supports.
var capabilities = []string{
	"com.amazonaws.ecs.capability.docker-remote-api.1.17",
	"com.amazonaws.ecs.capability.docker-remote-api.1.18",
	"com.amazonaws.ecs.capability.docker-remote-api.1.19",
	"com.amazonaws.ecs.capability.docker-remote-api.1.20",
	"com.amazonaws.ecs.capability.docker-remote-api.1.21",
	"com.amazonaws.ecs.capability.docker-remote-api.1.22",
	"com.amazonaws.ecs.capability.docker-remote-api.1.23",
	"com.amazonaws.ecs.capability.docker-remote-api.1.24",
	"com.amazonaws.ecs.capability.docker-remote-api.1.25",
	"com.amazonaws.ecs.capability.docker-remote-api.1.29",
	"com.amazonaws.ecs.capability.docker-remote-api.1.30",
	"com.amazonaws.ecs.capability.docker-remote-api.1.31",
	"com.amazonaws.ecs.capability.docker-remote-api.1.32",
	"com.amazonaws.ecs.capability.docker-remote-api.1.38",
	"com.amazonaws.ecs.capability.docker-remote-api.1.39",
	"com.amazonaws.ecs.capability.docker-remote-api.1.40",
	"com.amazonaws.ecs.capability.docker-remote-api.1.41",
	"com.amazonaws.ecs.capability.ecr-auth",
	"com.amazonaws.ecs.capability.task-iam-role",
	"com.amazonaws.ecs.capability.task-iam-role-network-host",
	"com.amazonaws.ecs.capability.container-health-check",
	"com.amazonaws.ecs.capability.logging-driver.awslogs",
	"com.amazonaws.ecs.capability.logging-driver.json-file",
	"com.amazonaws.ecs.capability.logging-driver.none",
	"ecs.capability.task-eni",
	"ecs.capability.container-ordering",
	"ecs.capability.container-health-check",
	"ecs.capability.execution-role-ecr-pull",
	"ecs.capability.execution-role-awslogs",
	"ecs.capability.task-cpu-mem-limit",
	"ecs.capability.docker-plugin.local",
	"ecs.capability.private-registry-authentication.secretsmanager",
}

// arch maps the engine's architecture to ECS's ecs.cpu-architecture.
func arch(engine string) string {
	switch engine {
	case "aarch64", "arm64":
		return "arm64"
	case "":
		if runtime.GOARCH == "arm64" {
			return "arm64"
		}
	}
	return "x86_64"
}

// newInstanceID returns an ID shaped like an EC2 instance ID.
func newInstanceID() string {
	const hex = "0123456789abcdef"
	b := make([]byte, 17)
	for i := range b {
		b[i] = hex[rand.N(16)]
	}
	return "i-" + string(b)
}

// permanent reports whether the control plane refused a call (a client
// error other than throttling): retrying the same call will not help.
func permanent(err error) bool {
	var p interface{ Permanent() bool }
	if errors.As(err, &p) {
		return p.Permanent()
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "ThrottlingException", "AccessDeniedException", "UnrecognizedClientException", "ExpiredTokenException":
			return false
		}
		return ae.ErrorFault() == smithy.FaultClient
	}
	return false
}
