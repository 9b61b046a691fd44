package task

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/wharfhq/wharf/internal/agentproto"
	"github.com/wharfhq/wharf/internal/runtime"
)

// Messages a runner's mailbox carries.
type (
	msgAssign struct{ t *agentproto.Task }
	msgEvent  struct{ e runtime.Event }
)

// ctr is the runner's view of one task container.
type ctr struct {
	plan     *ContainerPlan
	id       string
	phase    Phase
	started  bool
	exitCode *int
	health   runtime.Health
	reason   string
	digest   string
	bindings []NetworkBinding
	finished time.Time // when it exited, as the runtime says
}

// runner owns one task: its goroutine is the only one touching its state.
type runner struct {
	m *Manager

	mu    sync.Mutex
	inbox []any
	wake  chan struct{}

	task    *agentproto.Task
	plan    *TaskPlan // made by newRunner, then read-only
	planErr error
	ctrs    map[string]*ctr // by ECS container name
	byID    map[string]*ctr
	pauseID string

	status                              string
	stopping                            bool
	stopCode, stoppedReason             string
	pullStarted, pullStopped, execStopd time.Time
	last                                *Change
}

func newRunner(m *Manager, t *agentproto.Task) *runner {
	r := &runner{m: m, task: t, wake: make(chan struct{}, 1), ctrs: map[string]*ctr{}, byID: map[string]*ctr{}, status: StatusPending}
	r.plan, r.planErr = Plan(t, m.cfg.Host)
	return r
}

// post queues a message without blocking.
func (r *runner) post(msg any) {
	r.mu.Lock()
	r.inbox = append(r.inbox, msg)
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *runner) take() []any {
	r.mu.Lock()
	defer r.mu.Unlock()
	msgs := r.inbox
	r.inbox = nil
	return msgs
}

func (r *runner) now() time.Time { return time.Now() }

// run is the task's loop: launch (or adopt), then react to events and
// assignments until the task is stopped, then clean up after the wait.
func (r *runner) run(ctx context.Context) {
	defer r.m.wg.Done()
	log := r.m.log.With("task", r.task.TaskARN)
	if r.planErr != nil {
		log.Warn("task cannot run", "err", r.planErr)
		r.stopCode, r.stoppedReason = StopFailedToStart, r.planErr.Error()
		r.finish()
		r.report()
		r.cleanupAfterWait(ctx)
		return
	}
	for i := range r.plan.Containers {
		c := &r.plan.Containers[i]
		r.ctrs[c.Name] = &ctr{plan: c, health: runtime.HealthUnknown}
	}
	// Find containers a previous agent process left; until the runtime
	// answers, nothing is created (the names are deterministic, so a
	// blind create would collide with what exists).
	var adopted bool
	for {
		var err error
		if adopted, err = r.adopt(ctx); err == nil {
			break
		}
		if ctx.Err() != nil {
			return
		}
		log.Warn("finding the task's containers failed; retrying", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(2 * time.Second):
		}
	}
	switch {
	case adopted:
		log.Info("adopted the task's existing containers")
	case r.task.DesiredStatus == StatusStopped:
		r.stopCode, r.stoppedReason = orStr(r.task.StopCode, StopUserInitiated), orStr(r.task.StoppedReason, defaultStoppedReason)
		r.finish()
	default:
		r.report()
		r.launch(ctx)
	}
	for r.status != StatusStopped {
		r.step(ctx)
		if ctx.Err() != nil {
			// The Manager is stopping (agent shutdown): what failed
			// because of it is not the task's fate; the next agent
			// process adopts the task and sees.
			return
		}
		r.report()
		if r.status == StatusStopped {
			break
		}
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
		}
		for _, msg := range r.take() {
			r.handle(ctx, msg)
		}
	}
	r.report()
	r.m.usedImages(r.imageRefs(), r.now())
	r.cleanupAfterWait(ctx)
}

// imageRefs are the images of the task's containers. The plan is set
// before the runner is shared, and never changes.
func (r *runner) imageRefs() []string {
	if r.plan == nil {
		return nil
	}
	var out []string
	for _, c := range r.plan.Containers {
		out = appendNew(out, c.Spec.Image)
	}
	return out
}

// handle applies one mailbox message.
func (r *runner) handle(ctx context.Context, msg any) {
	switch m := msg.(type) {
	case msgAssign:
		r.task = m.t
	case msgEvent:
		e := m.e
		if e.ContainerID == r.pauseID && r.pauseID != "" {
			if e.Action == "die" && !r.stopping {
				r.beginStop(StopEssentialExited, reasonPauseExited)
			}
			return
		}
		c := r.byID[e.ContainerID]
		if c == nil {
			return
		}
		switch e.Action {
		case "die":
			if c.phase != PhaseStopped {
				r.observeExit(ctx, c, e.ExitCode)
			}
		case "health_status":
			if c.phase == PhaseRunning {
				c.health = e.Health
			}
		}
	}
}

// observeExit records a container's exit, with the runtime's details.
func (r *runner) observeExit(ctx context.Context, c *ctr, code int) {
	c.phase, c.started = PhaseStopped, true
	if st, err := r.m.cfg.Runtime.InspectContainer(ctx, c.id); err == nil && st.State == runtime.StateStopped {
		code, c.finished = st.ExitCode, st.FinishedAt
		if st.OOMKilled {
			c.reason = reasonOutOfMemory
		}
	}
	c.exitCode = &code
	if c.plan.Essential && !r.stopping {
		r.beginStop(StopEssentialExited, ReasonEssentialExit)
	}
}

// beginStop marks the task as stopping; step performs it.
func (r *runner) beginStop(code, reason string) {
	if r.stopping {
		return
	}
	r.stopping, r.stopCode, r.stoppedReason = true, code, reason
}

// step moves the task forward: stop it if it must stop, else start what
// dependsOn allows and fail what it never will.
func (r *runner) step(ctx context.Context) {
	if !r.stopping && r.task.DesiredStatus == StatusStopped {
		r.beginStop(orStr(r.task.StopCode, StopUserInitiated), orStr(r.task.StoppedReason, defaultStoppedReason))
	}
	for !r.stopping {
		d := Decide(r.plan.Containers, r.states())
		if len(d.Never) > 0 {
			for _, c := range r.plan.Containers {
				if reason, ok := d.Never[c.Name]; ok {
					r.ctrs[c.Name].reason = reason
					r.beginStop(StopFailedToStart, reason)
					break
				}
			}
			break
		}
		if len(d.Start) == 0 {
			if len(d.Waiting) == 0 && r.status == StatusPending {
				r.status = StatusRunning
			}
			break
		}
		for _, name := range d.Start {
			if !r.startContainer(ctx, r.ctrs[name]) {
				break
			}
		}
	}
	if r.stopping {
		r.stopAll(ctx)
		r.finish()
	}
}

func (r *runner) states() map[string]ContainerState {
	out := make(map[string]ContainerState, len(r.ctrs))
	for name, c := range r.ctrs {
		st := ContainerState{Phase: c.phase, Started: c.started, Health: c.health}
		if c.exitCode != nil {
			st.ExitCode = *c.exitCode
		}
		out[name] = st
	}
	return out
}

// startContainer starts a created container and records its ports; a
// failure begins the task's stop.
func (r *runner) startContainer(ctx context.Context, c *ctr) bool {
	rt := r.m.cfg.Runtime
	if err := rt.StartContainer(ctx, c.id); err != nil {
		c.phase, c.reason = PhaseStopped, "CannotStartContainerError: "+engineMessage(err)
		r.beginStop(StopFailedToStart, c.reason)
		return false
	}
	c.phase, c.started = PhaseRunning, true
	if c.plan.Spec.HealthCheck != nil {
		c.health = runtime.HealthStarting
	}
	st, err := rt.InspectContainer(ctx, c.id)
	if err != nil {
		return true
	}
	r.observe(c, st)
	return true
}

// observe takes a container's inspected state: ports, health, and an exit
// that happened already.
func (r *runner) observe(c *ctr, st runtime.ContainerStatus) {
	c.bindings = bindingsOf(r.plan.NetworkMode, c.plan.Spec, st)
	switch st.State {
	case runtime.StateRunning:
		c.phase, c.started = PhaseRunning, true
		if st.Health != runtime.HealthUnknown || c.plan.Spec.HealthCheck == nil {
			c.health = st.Health
		}
	case runtime.StateStopped:
		c.started = c.started || !st.StartedAt.IsZero()
		c.phase = PhaseStopped
		if c.started {
			code := st.ExitCode
			c.exitCode, c.finished = &code, st.FinishedAt
			if st.OOMKilled {
				c.reason = reasonOutOfMemory
			}
			if c.plan.Essential {
				r.beginStop(StopEssentialExited, ReasonEssentialExit)
			}
		}
	case runtime.StateCreated:
		c.phase = PhaseWaiting
	}
}

// stopAll stops every running container (SIGTERM, SIGKILL after its
// stopTimeout), in parallel, then the pause container; containers that
// never started are marked stopped.
func (r *runner) stopAll(ctx context.Context) {
	rt := r.m.cfg.Runtime
	var wg sync.WaitGroup
	for _, c := range r.ctrs {
		if c.phase != PhaseRunning {
			continue
		}
		wg.Add(1)
		go func(c *ctr) {
			defer wg.Done()
			if err := rt.StopContainer(ctx, c.id, c.plan.Spec.StopTimeout); err != nil && !errors.Is(err, runtime.ErrNotFound) {
				r.m.log.Warn("stop container", "task", r.task.TaskARN, "container", c.plan.Name, "err", err)
			}
		}(c)
	}
	wg.Wait()
	for _, c := range r.ctrs {
		switch c.phase {
		case PhaseRunning:
			c.phase = PhaseStopped
			if st, err := rt.InspectContainer(ctx, c.id); err == nil {
				code := st.ExitCode
				c.exitCode, c.finished = &code, st.FinishedAt
				if st.OOMKilled {
					c.reason = reasonOutOfMemory
				}
			}
		case PhaseWaiting:
			c.phase = PhaseStopped
			if c.reason == "" {
				c.reason = reasonNeverStarted
			}
		}
	}
	if r.pauseID != "" {
		_ = rt.StopContainer(ctx, r.pauseID, time.Second)
	}
}

// finish marks the task STOPPED. executionStoppedAt is when its last
// container exited (the runtime's time; for an adopted task, possibly
// while the agent was away), else now.
func (r *runner) finish() {
	r.status = StatusStopped
	if r.execStopd.IsZero() {
		for _, c := range r.ctrs {
			if c.finished.After(r.execStopd) {
				r.execStopd = c.finished
			}
		}
		if r.execStopd.IsZero() {
			r.execStopd = r.now()
		}
	}
	for _, c := range r.ctrs {
		if c.phase != PhaseStopped {
			c.phase = PhaseStopped
			if c.reason == "" && !c.started {
				c.reason = reasonNeverStarted
			}
		}
	}
}

// report sends the task's state if it changed since the last report.
func (r *runner) report() {
	ch := Change{
		TaskARN: r.task.TaskARN, Status: r.status, PullStartedAt: r.pullStarted, PullStoppedAt: r.pullStopped,
	}
	if r.status == StatusStopped {
		ch.StopCode, ch.StoppedReason, ch.ExecutionStoppedAt = r.stopCode, r.stoppedReason, r.execStopd
	}
	order := []*ContainerPlan{}
	if r.plan != nil {
		for i := range r.plan.Containers {
			order = append(order, &r.plan.Containers[i])
		}
	}
	for _, p := range order {
		c := r.ctrs[p.Name]
		cc := ContainerChange{
			Name: p.Name, ContainerARN: p.ContainerARN, RuntimeID: c.id, Image: p.Spec.Image, ImageDigest: c.digest,
			ExitCode: c.exitCode, Reason: c.reason, NetworkBindings: c.bindings, Health: c.health,
		}
		switch c.phase {
		case PhaseWaiting:
			cc.Status = StatusPending
		case PhaseRunning:
			cc.Status = StatusRunning
		default:
			cc.Status = StatusStopped
		}
		ch.Containers = append(ch.Containers, cc)
	}
	if r.plan == nil { // the task could not be planned: its containers never ran
		for _, ac := range r.task.Containers {
			ch.Containers = append(ch.Containers, ContainerChange{
				Name: ac.Name, ContainerARN: ac.ContainerARN, Status: StatusStopped, Reason: r.stoppedReason, Health: runtime.HealthUnknown,
			})
		}
	}
	if r.last != nil && reflect.DeepEqual(*r.last, ch) {
		return
	}
	r.last = &ch
	r.m.cfg.Report(ch)
}

// bindingsOf is ECS's networkBindings of a container: the host ports
// actually bound in bridge mode, the container ports in host mode.
func bindingsOf(mode string, spec runtime.ContainerSpec, st runtime.ContainerStatus) []NetworkBinding {
	var out []NetworkBinding
	switch mode {
	case runtime.NetworkBridge:
		for _, b := range st.PortBindings {
			ip := b.HostIP
			if ip == "" {
				ip = "0.0.0.0"
			}
			out = append(out, NetworkBinding{BindIP: ip, ContainerPort: int32(b.ContainerPort), HostPort: int32(b.HostPort), Protocol: orStr(b.Protocol, "tcp")})
		}
	case runtime.NetworkHost:
		for _, p := range spec.PortMappings {
			out = append(out, NetworkBinding{BindIP: "0.0.0.0", ContainerPort: int32(p.ContainerPort), HostPort: int32(p.ContainerPort), Protocol: orStr(p.Protocol, "tcp")})
		}
	}
	return out
}

// engineMessage is an error's message without our own wrapping ("create
// container x: …"), as ECS shows the daemon's words.
func engineMessage(err error) string {
	msg := err.Error()
	for _, ours := range []string{"create container ", "start container "} {
		if strings.HasPrefix(msg, ours) {
			if _, rest, ok := strings.Cut(msg, ": "); ok {
				msg = rest
			}
		}
	}
	return "Error response from daemon: " + msg
}
