package awslogs

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/wharfhq/wharf/internal/agentproto"
	wrt "github.com/wharfhq/wharf/internal/runtime"
)

// DefaultFlushInterval is how often queued events are shipped (the ECS and
// Docker default, 5 s).
const DefaultFlushInterval = 5 * time.Second

// LogReader reads a container's output (the runtime).
type LogReader interface {
	ContainerLogs(ctx context.Context, id string, opts wrt.LogOptions) (wrt.LogStream, error)
}

// Config configures a Shipper.
type Config struct {
	// Logs reads container output.
	Logs LogReader
	// AWS is the agent's own configuration: its credentials are used
	// for tasks without an execution role.
	AWS aws.Config
	// Endpoint is the CloudWatch Logs endpoint (the agent's control plane).
	Endpoint string
	// Region is the default region (the agent's).
	Region string
	// StateDir keeps awslogs.json ("" = nothing survives a restart).
	StateDir string
	// FlushInterval defaults to DefaultFlushInterval.
	FlushInterval time.Duration
	Logger        *slog.Logger
}

// Container is one container whose output is shipped.
type Container struct {
	TaskARN   string
	Name      string
	RuntimeID string
	// Options are the logConfiguration options.
	Options map[string]string
	// Credentials returns the task's execution role credentials (nil, or
	// returning nil: the agent's own).
	Credentials func() *agentproto.Credentials
}

// Shipper ships the output of containers to CloudWatch Logs: one owned
// goroutine per container, until its output ends or Stop.
type Shipper struct {
	cfg   Config
	state *State

	ctx    context.Context
	cancel context.CancelFunc
	mu     sync.Mutex
	fols   map[string]*follower // by runtime ID
	bad    map[string]bool      // containers whose options were refused
	wg     sync.WaitGroup
}

// New returns a Shipper; it loads the state file.
func New(cfg Config) (*Shipper, error) {
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = DefaultFlushInterval
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	st, err := LoadState(cfg.StateDir)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Shipper{cfg: cfg, state: st, ctx: ctx, cancel: cancel, fols: map[string]*follower{}, bad: map[string]bool{}}, nil
}

// Ship starts following a container (again after a restart: it resumes
// after the last acknowledged line). A container already followed, or
// fully shipped, is left alone. Invalid options are an error the first
// time a container is seen.
func (s *Shipper) Ship(c Container) error {
	opts, err := ParseOptions(c.Options)
	if err != nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.bad[c.RuntimeID] {
			return nil
		}
		s.bad[c.RuntimeID] = true
		return err
	}
	if m, ok := s.state.Get(c.RuntimeID); ok && m.Done {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx.Err() != nil {
		return nil
	}
	if _, ok := s.fols[c.RuntimeID]; ok {
		return nil
	}
	f := newFollower(s, c, opts)
	s.fols[c.RuntimeID] = f
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f.run()
	}()
	return nil
}

// Forget stops following a task's containers and drops their marks (the
// task is cleaned up: its containers are gone).
func (s *Shipper) Forget(taskARN string) {
	s.mu.Lock()
	var fs []*follower
	for id, f := range s.fols {
		if f.c.TaskARN == taskARN {
			fs = append(fs, f)
			delete(s.fols, id)
		}
	}
	clear(s.bad)
	s.mu.Unlock()
	for _, f := range fs {
		f.stop()
	}
	if err := s.state.ForgetTask(taskARN); err != nil {
		s.cfg.Logger.Warn("awslogs: cannot save state", "err", err)
	}
}

// Dropped returns how many events non-blocking mode dropped for a
// container being followed.
func (s *Shipper) Dropped(runtimeID string) int64 {
	s.mu.Lock()
	f := s.fols[runtimeID]
	s.mu.Unlock()
	if f == nil {
		return 0
	}
	return f.dropped.Load()
}

// Stop ends all following; lines not yet acknowledged are shipped by the
// next Shipper on the same state dir.
func (s *Shipper) Stop() {
	s.mu.Lock()
	s.cancel()
	s.mu.Unlock()
	s.wg.Wait()
}

// finished removes a follower whose container's output is all shipped.
func (s *Shipper) finished(f *follower) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fols[f.c.RuntimeID] == f {
		delete(s.fols, f.c.RuntimeID)
	}
}
