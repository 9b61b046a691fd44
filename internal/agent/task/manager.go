package task

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/wharfhq/wharf/internal/agentproto"
	"github.com/wharfhq/wharf/internal/runtime"
)

// Image pull behaviours (ECS_IMAGE_PULL_BEHAVIOR).
const (
	// PullDefault pulls every time, falling back to a cached image when
	// the pull fails.
	PullDefault = "default"
	// PullAlways pulls every time; a failed pull fails the task.
	PullAlways = "always"
	// PullOnce pulls only an image not present locally.
	PullOnce = "once"
	// PullPreferCached uses a local image when present, else pulls.
	PullPreferCached = "prefer-cached"
)

// DefaultCleanupWait is how long a stopped task's containers stay before
// they are removed (ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION's default).
const DefaultCleanupWait = 3 * time.Hour

// Config configures a Manager.
type Config struct {
	Runtime runtime.Runtime
	Host    HostConfig
	// Auth gives registry credentials to pull an image for a task (nil:
	// anonymous); the task matters, as its execution role pulls.
	Auth func(ctx context.Context, taskARN, image string) (*runtime.Auth, error)
	// EnvFiles downloads a container's environmentFiles (nil: a task with
	// environment files stops with ResourceInitializationError, and
	// EnvFilesMissing says what the operator should configure).
	EnvFiles        FetchEnvFile
	EnvFilesMissing string
	// PullBehavior is one of the Pull* constants; empty = PullDefault.
	PullBehavior string
	// CleanupWait is how long stopped tasks' containers and task-scoped
	// volumes are kept; 0 = DefaultCleanupWait.
	CleanupWait time.Duration
	// Report receives every task's state after each change, from the
	// task's own goroutine: it should not block for long.
	Report func(Change)
	Logger *slog.Logger
}

// Manager runs tasks on a runtime: one goroutine per task, fed by one
// subscription to the runtime's events for this agent's containers.
// Start it, hand it assignments with Apply, Stop it; stopping the Manager
// leaves containers running, so a new Manager (after an agent restart)
// adopts them.
type Manager struct {
	cfg Config
	log *slog.Logger

	mu       sync.Mutex
	tasks    map[string]*runner
	finished map[string]time.Time // ARNs cleaned up (when): never started again
	images   map[string]time.Time // image → last used by a finished task
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	started  bool
}

// NewManager returns a Manager; call Start before Apply.
func NewManager(cfg Config) *Manager {
	if cfg.PullBehavior == "" {
		cfg.PullBehavior = PullDefault
	}
	if cfg.CleanupWait == 0 {
		cfg.CleanupWait = DefaultCleanupWait
	}
	if cfg.Report == nil {
		cfg.Report = func(Change) {}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Manager{cfg: cfg, log: log, tasks: map[string]*runner{}, finished: map[string]time.Time{}, images: map[string]time.Time{}}
}

// Start subscribes to the runtime's events for this agent's containers
// and starts the loop that hands them to tasks.
func (m *Manager) Start(ctx context.Context) error {
	if m.cfg.Runtime == nil {
		return errors.New("task manager: no runtime")
	}
	if m.cfg.Host.InstanceID == "" {
		return errors.New("task manager: HostConfig.InstanceID is required (it scopes containers to this agent)")
	}
	stream, err := m.subscribe(ctx, time.Time{})
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ctx, m.cancel = context.WithCancel(context.WithoutCancel(ctx))
	m.started = true
	m.wg.Add(1)
	go m.eventLoop(stream)
	return nil
}

// Stop ends the event loop and every task's goroutine and waits for them.
// Containers are left as they are.
func (m *Manager) Stop() {
	m.mu.Lock()
	if !m.started {
		m.mu.Unlock()
		return
	}
	m.cancel()
	m.mu.Unlock()
	m.wg.Wait()
}

// Apply hands the Manager a task's assignment. A task it does not know is
// started — or adopted, when containers labelled with its ARN already
// exist (after an agent restart); a known task gets the new assignment
// (desired status, credentials). Apply does not block.
func (m *Manager) Apply(t *agentproto.Task) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, done := m.finished[t.TaskARN]; !m.started || m.ctx.Err() != nil || done {
		return
	}
	if r, ok := m.tasks[t.TaskARN]; ok {
		r.post(msgAssign{t})
		return
	}
	r := newRunner(m, t)
	m.tasks[t.TaskARN] = r
	m.wg.Add(1)
	go r.run(m.ctx)
}

// Running lists the ARNs of the tasks the Manager is handling (including
// stopped ones not yet cleaned up).
func (m *Manager) Running() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, 0, len(m.tasks))
	for arn := range m.tasks {
		out = append(out, arn)
	}
	return out
}

// forget drops a cleaned-up task; its ARN is never started again.
func (m *Manager) forget(arn string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.tasks, arn)
	now := time.Now()
	m.finished[arn] = now
	for a, at := range m.finished { // the control plane forgot them long ago
		if now.Sub(at) > finishedMemory {
			delete(m.finished, a)
		}
	}
}

// finishedMemory is how long a cleaned-up task's ARN is remembered, so a
// late assignment cannot start it again: far beyond the cleanup wait, by
// which time the control plane has long seen the task STOPPED.
const finishedMemory = 24 * time.Hour

func (m *Manager) subscribe(ctx context.Context, since time.Time) (runtime.EventStream, error) {
	s, err := m.cfg.Runtime.Events(ctx, runtime.EventFilter{
		Actions: []string{"die", "health_status"},
		Labels:  map[string]string{LabelInstance: m.cfg.Host.InstanceID},
		Since:   since,
	})
	if err != nil {
		return nil, fmt.Errorf("task manager: events: %w", err)
	}
	return s, nil
}

// eventLoop reads the event stream and posts each event to its task. A
// broken stream (the engine restarted) is resubscribed from the last
// event's time, so nothing is missed.
func (m *Manager) eventLoop(stream runtime.EventStream) {
	defer m.wg.Done()
	ctx := m.ctx
	stop := context.AfterFunc(ctx, func() { _ = stream.Close() })
	var last time.Time
	for {
		e, err := stream.Next()
		if err != nil {
			stop()
			_ = stream.Close()
			if ctx.Err() != nil {
				return
			}
			m.log.Warn("container events interrupted; resubscribing", "err", err)
			for {
				select {
				case <-ctx.Done():
					return
				case <-time.After(time.Second):
				}
				since := last
				if since.IsZero() {
					since = time.Now().Add(-time.Minute)
				}
				if stream, err = m.subscribe(ctx, since); err == nil {
					break
				}
			}
			stop = context.AfterFunc(ctx, func() { _ = stream.Close() })
			continue
		}
		last = e.Time
		m.mu.Lock()
		r := m.tasks[e.Labels[LabelTaskARN]]
		m.mu.Unlock()
		if r != nil {
			r.post(msgEvent{e})
		}
	}
}
