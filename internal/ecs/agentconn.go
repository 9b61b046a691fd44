package ecs

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/tenancy"
)

// This file watches the agents: each poll is a heartbeat; an owned loop
// (StartAgentMonitor/StopAgentMonitor) marks an instance disconnected after
// Options.AgentTimeout without a poll and, after
// Options.InstanceLostTimeout, stops its tasks and releases what they held.
// The decisions (judgeAgents) are pure; the loop applies them.
//
// Last polls are kept in memory only: after a control-plane restart every
// instance known to the store gets a grace (restartGrace, or the lost
// timeout if longer), measured from the server's start, before it is
// judged.

// restartGrace is the least time a restarted control plane gives the
// agents it knew to poll again before judging them: an agent that could
// not reach it retries with a backoff of up to 10 s plus jitter, so it may
// take that long to notice the control plane is back.
const restartGrace = 30 * time.Second

// Stop codes and reasons of tasks whose host is lost.
const (
	lostReasonFormat = "Task stopped because its container instance (%s) lost contact with the control plane."
	stopCodeFailed   = "TaskFailedToStart"
)

// agentState is what the book knows of one instance's agent.
type agentState struct {
	q        queueID
	lastPoll time.Time
	inflight int  // polls in progress (a waiting poll is a live agent)
	conn     bool // agentConnected as last written (or assumed after a restart)
	lost     bool // its tasks were stopped for the current silence
}

// agentBook is the in-memory record of the agents' polls.
type agentBook struct {
	mu      sync.Mutex
	started time.Time
	loaded  bool
	m       map[string]*agentState
}

func (b *agentBook) get(q queueID, now time.Time) *agentState {
	st, ok := b.m[q.key()]
	if !ok {
		st = &agentState{q: q, lastPoll: now, conn: true}
		b.m[q.key()] = st
	}
	return st
}

// woken forgets that a queue's instance was judged lost when the queue
// changes (a task placed on it must be judged too).
func (b *agentBook) woken(key string) {
	b.mu.Lock()
	if st, ok := b.m[key]; ok {
		st.lost = false
	}
	b.mu.Unlock()
}

// pollBegin records the start of a poll of q and returns the function
// that records its end. stored is the instance's agentConnected in the
// store: the poll writes true only when it is not.
func (s *Service) pollBegin(ctx context.Context, q queueID, stored bool) func() {
	now := s.now()
	s.agents.mu.Lock()
	st := s.agents.get(q, now)
	st.lastPoll, st.lost = now, false
	st.inflight++
	st.conn = true
	s.agents.mu.Unlock()
	if !stored {
		if err := s.setConnected(ctx, q, true); err != nil {
			s.log.Warn("agent connected", "instance", q.instance, "err", err)
		}
	}
	return func() {
		s.agents.mu.Lock()
		st.inflight--
		st.lastPoll = s.now()
		s.agents.mu.Unlock()
	}
}

// agentRegistered starts the clock of a newly registered instance.
func (s *Service) agentRegistered(q queueID) {
	now := s.now()
	s.agents.mu.Lock()
	st := s.agents.get(q, now)
	st.lastPoll, st.conn, st.lost = now, true, false
	s.agents.mu.Unlock()
}

// agentGone forgets a deregistered instance.
func (s *Service) agentGone(q queueID) {
	s.agents.mu.Lock()
	delete(s.agents.m, q.key())
	s.agents.mu.Unlock()
}

// agentView is an agent as judgeAgents sees it.
type agentView struct {
	key       string
	lastSeen  time.Time
	connected bool
	lost      bool
}

// agentVerdict is what to do about one agent.
type agentVerdict struct {
	key        string
	disconnect bool // write agentConnected=false
	lose       bool // stop the instance's tasks
}

// judgeAgents decides, at now, which agents are disconnected (silent for
// agentTimeout) and whose instances are lost (silent for lostTimeout).
func judgeAgents(views []agentView, now time.Time, agentTimeout, lostTimeout time.Duration) []agentVerdict {
	var out []agentVerdict
	for _, v := range views {
		silent := now.Sub(v.lastSeen)
		vd := agentVerdict{key: v.key, disconnect: v.connected && silent >= agentTimeout, lose: !v.lost && silent >= lostTimeout}
		if vd.disconnect || vd.lose {
			out = append(out, vd)
		}
	}
	return out
}

// CheckAgents judges every known agent at now and applies the verdicts.
// The agent monitor calls it; tests may too.
func (s *Service) CheckAgents(ctx context.Context, now time.Time) error {
	if err := s.loadAgents(ctx); err != nil {
		return err
	}
	s.agents.mu.Lock()
	views := make([]agentView, 0, len(s.agents.m))
	seenAt := make(map[string]time.Time, len(s.agents.m))
	for k, st := range s.agents.m {
		seen := st.lastPoll
		if st.inflight > 0 {
			seen = now
		}
		views = append(views, agentView{key: k, lastSeen: seen, connected: st.conn, lost: st.lost})
		seenAt[k] = seen
	}
	s.agents.mu.Unlock()
	var firstErr error
	for _, vd := range judgeAgents(views, now, s.agentTimeout, s.lostTimeout) {
		q, ok := parseQueueKey(vd.key)
		if !ok {
			continue
		}
		tctx := tenancy.With(ctx, q.account, q.region)
		if vd.disconnect {
			if err := s.setConnected(tctx, q, false); err != nil && firstErr == nil {
				firstErr = err
			}
		}
		if vd.lose {
			if err := s.loseInstance(tctx, q); err != nil && firstErr == nil {
				firstErr = err
			}
		}
		// Record the verdict unless the agent polled meanwhile.
		s.agents.mu.Lock()
		if st, ok := s.agents.m[vd.key]; ok && st.inflight == 0 && !st.lastPoll.After(seenAt[vd.key]) {
			if vd.disconnect {
				st.conn = false
			}
			if vd.lose {
				st.lost = true
			}
		}
		s.agents.mu.Unlock()
	}
	return firstErr
}

// loadAgents, once per server, puts every instance the store has a queue
// for in the book, last seen at the server's start (the grace period).
func (s *Service) loadAgents(ctx context.Context) error {
	s.agents.mu.Lock()
	loaded := s.agents.loaded
	s.agents.mu.Unlock()
	if loaded {
		return nil
	}
	var keys []string
	err := s.st.View(ctx, func(tx store.Tx) error {
		items, err := tx.Scan(tblQueues, "seq/ec2/", "", 0)
		for _, it := range items {
			keys = append(keys, strings.TrimPrefix(it.Key, "seq/"))
		}
		return err
	})
	if err != nil {
		return err
	}
	// Seen at start + (grace − lost timeout): judged lost no sooner than
	// restartGrace after the start, whatever the timeout.
	seen := s.agents.started.Add(max(0, restartGrace-s.lostTimeout))
	s.agents.mu.Lock()
	defer s.agents.mu.Unlock()
	for _, k := range keys {
		if q, ok := parseQueueKey(k); ok {
			s.agents.get(q, seen)
		}
	}
	s.agents.loaded = true
	return nil
}

// setConnected writes an instance's agentConnected when it differs.
func (s *Service) setConnected(ctx context.Context, q queueID, v bool) error {
	return s.update(ctx, func(tx store.Tx) error {
		var in instanceRec
		rev, err := getJSON(tx, instanceKey(q.cluster, q.instance), &in)
		if isNotFound(err) {
			return nil
		}
		if err != nil || in.Connected == v || v && in.Status == statusInactive {
			return err
		}
		in.Connected = v
		in.Version++
		return putJSONIf(tx, instanceKey(q.cluster, q.instance), &in, rev)
	})
}

// loseInstance stops every task of a silent instance: STOPPED with the
// reason of a host that lost contact (stop code TaskFailedToStart for a
// task that never started), resources released, queue bumped.
func (s *Service) loseInstance(ctx context.Context, q queueID) error {
	n := 0
	err := s.commit(ctx, func(tx store.Tx, w *wakes) error {
		n = 0
		var in instanceRec
		if _, err := getJSON(tx, instanceKey(q.cluster, q.instance), &in); err != nil && !isNotFound(err) {
			return err
		}
		host := in.EC2InstanceID
		if host == "" {
			host = q.instance
		}
		items, err := tx.Scan(tblQueues, q.taskPrefix(), "", 0)
		if err != nil {
			return err
		}
		for _, it := range items {
			var t taskRec
			rev, err := getJSON(tx, taskKey(q.cluster, strings.TrimPrefix(it.Key, q.taskPrefix())), &t)
			if isNotFound(err) || err == nil && t.LastStatus == taskStopped {
				if err := tx.Delete(tblQueues, it.Key); err != nil {
					return err
				}
				continue
			}
			if err != nil {
				return err
			}
			code := ""
			if t.Started == nil {
				code = stopCodeFailed
			}
			if err := s.stopInTx(ctx, tx, w, &t, rev, code, strings.Replace(lostReasonFormat, "%s", host, 1)); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err == nil && n > 0 {
		s.log.Info("instance lost: tasks stopped", "instance", q.instance, "cluster", q.cluster, "tasks", n)
	}
	return err
}

// monitorInterval is how often the agent monitor judges the agents.
func (s *Service) monitorInterval() time.Duration {
	return min(max(min(s.agentTimeout, s.lostTimeout)/4, 50*time.Millisecond), 5*time.Second)
}

// agentMonitor is the owned loop that runs CheckAgents.
type agentMonitor struct {
	mu     sync.Mutex
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// StartAgentMonitor starts the loop that judges silent agents; the server
// starts it and stops it with StopAgentMonitor.
func (s *Service) StartAgentMonitor(ctx context.Context) {
	s.monitor.mu.Lock()
	defer s.monitor.mu.Unlock()
	if s.monitor.cancel != nil {
		return
	}
	ctx, s.monitor.cancel = context.WithCancel(ctx)
	s.monitor.wg.Add(1)
	go func() {
		defer s.monitor.wg.Done()
		t := time.NewTicker(s.monitorInterval())
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := s.CheckAgents(ctx, s.now()); err != nil && ctx.Err() == nil {
					s.log.Warn("agent monitor", "err", err)
				}
			}
		}
	}()
}

// StopAgentMonitor stops the loop and ends every waiting poll (they answer
// at once): call it before shutting the listener down.
func (s *Service) StopAgentMonitor() {
	s.notify.close()
	s.monitor.mu.Lock()
	cancel := s.monitor.cancel
	s.monitor.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	s.monitor.wg.Wait()
}
