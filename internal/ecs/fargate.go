package ecs

import (
	"context"
	"strings"
	"time"

	"github.com/wharfhq/wharf/internal/agentproto"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/tenancy"
)

// This file is the FARGATE side of the agent channel: one managed queue per
// server, for every tenant, served to the in-process managed-capacity
// runner through PollManaged (a Go API, not on the edge). The runner reports
// with SubmitTaskStateChange, SubmitContainerStateChange and
// SubmitTaskHealth called in-process with TenantContext.

// ManagedTask is a FARGATE task assigned to the managed-capacity runner.
type ManagedTask struct {
	Account, Region string
	Task            agentproto.Task
}

// ManagedCapacityFunc reports whether the server can run FARGATE tasks. Its
// error is shown to the caller of RunTask after "FARGATE capacity is
// unavailable: ", so it should say why and what to do (e.g. "this Wharf
// server cannot reach a Docker Engine (…); start Docker …, or use the EC2
// launch type with `wharf agent`").
type ManagedCapacityFunc func(ctx context.Context) error

// TenantContext returns ctx carrying the tenant of a managed task, for the
// runner's in-process reports (SubmitTaskStateChange…).
func TenantContext(ctx context.Context, account, region string) context.Context {
	return tenancy.With(ctx, account, region)
}

var fargateQueue = queueID{fargate: true}

// checkManagedCapacity refuses FARGATE tasks when the server has no
// capacity to run them.
func (s *Service) checkManagedCapacity(ctx context.Context) error {
	if s.managedCap == nil {
		return nil
	}
	if err := s.managedCap(ctx); err != nil {
		return clientErr("FARGATE capacity is unavailable: %s.", strings.TrimSuffix(err.Error(), "."))
	}
	return nil
}

// readFargateQueue reads the managed queue's sequence and the tasks of
// every tenant on it.
func (s *Service) readFargateQueue(ctx context.Context) (int64, []queuedTask, error) {
	var seq int64
	type entry struct{ acct, region, cluster, id string }
	var entries []entry
	err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		if seq, err = queueSeq(tx, fargateQueue); err != nil {
			return err
		}
		items, err := tx.Scan(tblQueues, fargateQueue.taskPrefix(), "", 0)
		for _, it := range items {
			if a, r, c, id, ok := parseFargateEntry(it.Key); ok {
				entries = append(entries, entry{a, r, c, id})
			}
		}
		return err
	})
	if err != nil {
		return 0, nil, err
	}
	var out []queuedTask
	for i := 0; i < len(entries); {
		j := i
		for j < len(entries) && entries[j].acct == entries[i].acct && entries[j].region == entries[i].region {
			j++
		}
		tctx := tenancy.With(ctx, entries[i].acct, entries[i].region)
		err := s.view(tctx, func(tx store.Tx) error {
			for _, e := range entries[i:j] {
				qt, ok, err := s.loadQueued(tctx, tx, e.cluster, e.id)
				if err != nil {
					return err
				}
				if ok {
					out = append(out, qt)
				}
			}
			return nil
		})
		if err != nil {
			return 0, nil, err
		}
		i = j
	}
	return seq, out, nil
}

// PollManaged is PollAssignments for the managed (FARGATE) queue: it
// returns at once with the sequence and every FARGATE task not yet STOPPED
// of every tenant when the sequence differs from acked, else waits up to
// wait for a change (returning acked and no tasks when none came).
func (s *Service) PollManaged(ctx context.Context, acked int64, wait time.Duration) (int64, []ManagedTask, error) {
	wait = min(max(wait, 0), maxPollWait)
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		woken := s.notify.watch(fargateQueue.key())
		seq, tasks, err := s.readFargateQueue(ctx)
		if err != nil {
			return 0, nil, err
		}
		// Every pass: a task placed while this poll waited needs its role
		// credentials before it is handed out.
		changed, err := s.refreshCredentials(ctx, tasks)
		if err != nil {
			return 0, nil, err
		}
		if changed {
			continue
		}
		if seq != acked {
			out := make([]ManagedTask, 0, len(tasks))
			for i := range tasks {
				acct, _ := tenancy.Account(tasks[i].ctx)
				region, _ := tenancy.Region(tasks[i].ctx)
				out = append(out, ManagedTask{Account: acct, Region: region, Task: s.agentTask(&tasks[i])})
			}
			return seq, out, nil
		}
		if wait == 0 {
			return seq, nil, nil
		}
		select {
		case <-woken:
		case <-timer.C:
			wait = 0
		case <-s.notify.closed:
			wait = 0
		case <-ctx.Done():
			return 0, nil, ctx.Err()
		}
	}
}
