package ecs

import (
	"context"
	crand "crypto/rand"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"sync"
	"time"

	"github.com/wharfhq/wharf/internal/store"
)

// DefaultInstanceLostTimeout is how long, by default, an agent may stay
// silent before its instance shows disconnected and its tasks are stopped
// (Options.AgentTimeout, Options.InstanceLostTimeout).
const DefaultInstanceLostTimeout = 15 * time.Second

// Options configure a Service.
type Options struct {
	// Now is the clock (default time.Now). Every time the service records
	// comes from it.
	Now func() time.Time
	// Logger receives structured logs (default: discard).
	Logger *slog.Logger
	// Endpoint is the URL agents are told to poll (DiscoverPollEndpoint);
	// default "http://127.0.0.1:4566".
	Endpoint string
	// StoppedTaskRetention is how long stopped tasks stay describable
	// (default one hour, as ECS).
	StoppedTaskRetention time.Duration
	// AgentTimeout is how long an instance's agent may go without polling
	// before the instance shows agentConnected=false (default 15 s).
	AgentTimeout time.Duration
	// InstanceLostTimeout is how long an agent may go without polling
	// before its instance is lost and its tasks are stopped (default 15 s:
	// silence is counted from the end of the agent's last poll, which for
	// a host lost mid-poll is up to the agent's poll wait, 10 s by default,
	// after the loss; 15 s keeps replacements within 30 s of a host's loss).
	InstanceLostTimeout time.Duration
	// TaskSubnet is the subnet awsvpc tasks get their addresses from
	// (default DefaultTaskSubnet, 10.213.0.0/16; gateway .1).
	TaskSubnet netip.Prefix
	// RoleCredentials mints task and execution role credentials for
	// assignments; nil hands out none.
	RoleCredentials RoleCredentialsFunc
	// ManagedCapacity says whether FARGATE tasks can run on this server;
	// nil means they can.
	ManagedCapacity ManagedCapacityFunc
}

// Service implements the ECS API of the tenant (account, region) found in
// the context.
type Service struct {
	st        store.Store
	now       func() time.Time
	log       *slog.Logger
	endpoint  string
	retention time.Duration

	instances instanceCache

	// The agent channel (queue.go, assign.go, agentconn.go).
	agentTimeout, lostTimeout time.Duration
	pool                      subnetPool
	roleCreds                 RoleCredentialsFunc
	managedCap                ManagedCapacityFunc
	notify                    *notifier
	agents                    agentBook
	monitor                   agentMonitor
	defs                      defCache
	stats                     StatsSink // SubmitTaskStats hands samples here (stats.go)

	// rand seeds each placement's random strategy.
	randMu sync.Mutex
	rand   *rand.Rand
}

// New returns a Service on st.
func New(st store.Store, opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Endpoint == "" {
		opts.Endpoint = "http://127.0.0.1:4566"
	}
	if opts.StoppedTaskRetention <= 0 {
		opts.StoppedTaskRetention = time.Hour
	}
	if opts.AgentTimeout <= 0 {
		opts.AgentTimeout = DefaultInstanceLostTimeout
	}
	if opts.InstanceLostTimeout <= 0 {
		opts.InstanceLostTimeout = DefaultInstanceLostTimeout
	}
	pool, err := newSubnetPool(opts.TaskSubnet)
	if err != nil {
		if opts.TaskSubnet.IsValid() {
			opts.Logger.Warn("ecs: using the default task subnet", "err", err)
		}
		pool, _ = newSubnetPool(DefaultTaskSubnet)
	}
	var seed [32]byte
	_, _ = crand.Read(seed[:])
	s := &Service{st: st, now: opts.Now, log: opts.Logger, endpoint: opts.Endpoint, retention: opts.StoppedTaskRetention,
		rand: rand.New(rand.NewChaCha8(seed)), agentTimeout: opts.AgentTimeout, lostTimeout: opts.InstanceLostTimeout,
		pool: pool, roleCreds: opts.RoleCredentials, managedCap: opts.ManagedCapacity, notify: newNotifier(),
		agents: agentBook{started: opts.Now(), m: map[string]*agentState{}}}
	s.notify.onWake = s.agents.woken
	return s
}

func (s *Service) view(ctx context.Context, fn func(tx store.Tx) error) error {
	return s.st.View(ctx, fn)
}

func (s *Service) update(ctx context.Context, fn func(tx store.Tx) error) error {
	return s.st.Update(ctx, fn)
}

// stamp returns the current time at the millisecond, as ECS reports times.
func (s *Service) stamp() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// newID returns a 32-hex-digit identifier, the shape of ECS task and
// container instance IDs.
func newID() string {
	var b [16]byte
	_, _ = crand.Read(b[:])
	return fmt.Sprintf("%x", b[:])
}
