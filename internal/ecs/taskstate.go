package ecs

import (
	"context"
	"time"

	"github.com/wharfhq/wharf/api/ecsapi"
	"github.com/wharfhq/wharf/internal/ptr"
	"github.com/wharfhq/wharf/internal/store"
)

// advance moves a task forward to status (never backwards) and stamps the
// lifecycle times. It returns whether the task counted as running on its
// instance before, and whether the move changed the instance's counts
// (the task started running or stopped).
func advance(t *taskRec, status string, now time.Time) (wasRunning, moved bool) {
	from, to := statusRank(t.LastStatus), statusRank(status)
	wasRunning = from >= statusRank(taskRunning)
	if to < 0 || to <= from {
		return wasRunning, false
	}
	t.LastStatus = status
	t.Version++
	if to >= statusRank(taskRunning) && t.Started == nil && status != taskStopped {
		t.Started, t.Connected = ptr.To(now), ptr.To(now)
	}
	if to >= statusRank("DEACTIVATING") && t.Stopping == nil {
		t.Stopping = ptr.To(now)
	}
	if status == taskStopped {
		t.DesiredStatus = taskStopped
		t.Stopped = ptr.To(now)
		if t.ExecStopped == nil {
			t.ExecStopped = ptr.To(now)
		}
		for i := range t.Containers {
			if t.Containers[i].LastStatus != taskStopped {
				t.Containers[i].LastStatus = taskStopped
			}
		}
		return wasRunning, true
	}
	return wasRunning, !wasRunning && to >= statusRank(taskRunning)
}

// settle applies a task's move to its instance's counts and resources.
func settle(in *instanceRec, t *taskRec, wasRunning bool) {
	if t.LastStatus == taskStopped {
		release(in, t, wasRunning)
		return
	}
	in.Pending = max(0, in.Pending-1)
	in.Running++
	in.Version++
}

// changeTask runs fn on a task and writes it back, with its instance when
// fn reports a move that changes the instance.
func (s *Service) changeTask(ctx context.Context, cluster, ident string, fn func(t *taskRec) (wasRunning, moved bool, err error)) (*taskRec, error) {
	var out taskRec
	err := s.commit(ctx, func(tx store.Tx, w *wakes) error {
		c, _, err := loadCluster(ctx, tx, cluster)
		if err != nil {
			return err
		}
		id, ok := taskID(ctx, c.Name, ident)
		var t taskRec
		var rev int64
		if ok {
			rev, err = getJSON(tx, taskKey(c.Name, id), &t)
		}
		if !ok || isNotFound(err) || err == nil && !s.visible(&t) {
			return invalidParam("The referenced task was not found.")
		}
		if err != nil {
			return err
		}
		desiredBefore, lastBefore := t.DesiredStatus, t.LastStatus
		wasRunning, moved, err := fn(&t)
		if err != nil {
			return err
		}
		if moved && t.Instance != "" {
			var in instanceRec
			irev, err := getJSON(tx, instanceKey(c.Name, t.Instance), &in)
			if err == nil {
				settle(&in, &t, wasRunning)
				err = putJSONIf(tx, instanceKey(c.Name, t.Instance), &in, irev)
			}
			if err != nil && !isNotFound(err) {
				return err
			}
		}
		if moved && t.LastStatus == taskStopped {
			// Tasks created before the tenant index existed get in it here.
			if err := indexTenant(ctx, tx); err != nil {
				return err
			}
		}
		if err := s.taskChanged(ctx, tx, w, desiredBefore, lastBefore, &t); err != nil {
			return err
		}
		out = t
		return putJSONIf(tx, taskKey(c.Name, t.ID), &t, rev)
	})
	if err != nil {
		return nil, err
	}
	s.serviceTaskChanged(&out)
	return &out, nil
}

// StopTask asks a task to stop (stop code UserInitiated): its desired
// status becomes STOPPED and its agent, told by the next poll answer, stops
// it. A task no agent has started yet (nothing pulled, never RUNNING) stops
// at once; should its agent have picked it up meanwhile, the agent drops
// it, since poll answers no longer list it.
func (s *Service) StopTask(ctx context.Context, in *ecsapi.StopTaskRequest) (*ecsapi.StopTaskResponse, error) {
	reason := ptr.Or(in.Reason, "Task stopped by user")
	if len(reason) > 1024 {
		return nil, invalidParam("reason must be at most 1024 characters.")
	}
	t, err := s.stopTask(ctx, ptr.Value(in.Cluster), ptr.Value(in.Task), "UserInitiated", reason)
	if err != nil {
		return nil, err
	}
	out := s.apiTask(ctx, t, false)
	return &ecsapi.StopTaskResponse{Task: &out}, nil
}

// stopTask sets a task's desired status STOPPED with a stop code and
// reason: StopTask (UserInitiated) and the service scheduler
// (ServiceSchedulerInitiated) stop tasks through it.
func (s *Service) stopTask(ctx context.Context, cluster, ident, code, reason string) (*taskRec, error) {
	return s.changeTask(ctx, cluster, ident, func(t *taskRec) (bool, bool, error) {
		if t.DesiredStatus == taskStopped {
			return false, false, nil
		}
		now := s.stamp()
		t.DesiredStatus, t.StopCode, t.StoppedReason = taskStopped, code, reason
		t.Stopping = ptr.To(now)
		t.Version++
		if statusRank(t.LastStatus) < statusRank(taskRunning) && t.Started == nil && t.PullStarted == nil {
			wasRunning, moved := advance(t, taskStopped, now)
			return wasRunning, moved, nil
		}
		return false, false, nil
	})
}

// SubmitTaskStateChange is an agent's report of a task's state. A report
// for a task already STOPPED is acknowledged and ignored: a stopped task is
// never resurrected.
func (s *Service) SubmitTaskStateChange(ctx context.Context, in *ecsapi.SubmitTaskStateChangeRequest) (*ecsapi.SubmitTaskStateChangeResponse, error) {
	_, err := s.changeTask(ctx, ptr.Value(in.Cluster), ptr.Value(in.Task), func(t *taskRec) (bool, bool, error) {
		if t.LastStatus == taskStopped {
			return false, false, nil
		}
		if in.PullStartedAt != nil && t.PullStarted == nil {
			t.PullStarted = in.PullStartedAt
		}
		if in.PullStoppedAt != nil && t.PullStopped == nil {
			t.PullStopped = in.PullStoppedAt
		}
		if in.ExecutionStoppedAt != nil {
			t.ExecStopped = in.ExecutionStoppedAt
		}
		for _, cs := range in.Containers {
			applyContainerChange(t, cs)
		}
		if ptr.Value(in.Status) == taskStopped && t.StopCode == "" {
			t.StopCode, t.StoppedReason = agentStopCode(ptr.Value(in.Reason)), ptr.Or(in.Reason, "Essential container in task exited")
		}
		wasRunning, moved := advance(t, ptr.Value(in.Status), s.stamp())
		return wasRunning, moved, nil
	})
	if err != nil {
		return nil, err
	}
	return &ecsapi.SubmitTaskStateChangeResponse{Acknowledgment: ptr.To("ACK")}, nil
}

func applyContainerChange(t *taskRec, cs ecsapi.ContainerStateChange) {
	for i := range t.Containers {
		c := &t.Containers[i]
		if c.Name != ptr.Value(cs.ContainerName) {
			continue
		}
		if st := ptr.Value(cs.Status); st != "" && statusRank(st) > statusRank(c.LastStatus) {
			c.LastStatus = st
		}
		if cs.ExitCode != nil {
			c.ExitCode = cs.ExitCode
		}
		if r := ptr.Value(cs.Reason); r != "" {
			c.Reason = r
		}
		if r := ptr.Value(cs.RuntimeId); r != "" {
			c.RuntimeID = r
		}
		if d := ptr.Value(cs.ImageDigest); d != "" {
			c.ImageDigest = d
		}
		if len(cs.NetworkBindings) > 0 {
			c.NetworkBindings = cs.NetworkBindings
		}
		t.Version++
	}
}

// SubmitContainerStateChange is an agent's report of one container's state.
func (s *Service) SubmitContainerStateChange(ctx context.Context, in *ecsapi.SubmitContainerStateChangeRequest) (*ecsapi.SubmitContainerStateChangeResponse, error) {
	_, err := s.changeTask(ctx, ptr.Value(in.Cluster), ptr.Value(in.Task), func(t *taskRec) (bool, bool, error) {
		if t.LastStatus == taskStopped {
			return false, false, nil
		}
		applyContainerChange(t, ecsapi.ContainerStateChange{ContainerName: in.ContainerName, Status: in.Status, ExitCode: in.ExitCode,
			Reason: in.Reason, RuntimeId: in.RuntimeId, NetworkBindings: in.NetworkBindings})
		return false, false, nil
	})
	if err != nil {
		return nil, err
	}
	return &ecsapi.SubmitContainerStateChangeResponse{Acknowledgment: ptr.To("ACK")}, nil
}

// SubmitAttachmentStateChanges acknowledges an agent's report of its
// tasks' network attachments; Wharf's attachments need no state from it.
func (s *Service) SubmitAttachmentStateChanges(ctx context.Context, in *ecsapi.SubmitAttachmentStateChangesRequest) (*ecsapi.SubmitAttachmentStateChangesResponse, error) {
	err := s.view(ctx, func(tx store.Tx) error {
		_, _, err := loadCluster(ctx, tx, ptr.Value(in.Cluster))
		return err
	})
	if err != nil {
		return nil, err
	}
	return &ecsapi.SubmitAttachmentStateChangesResponse{Acknowledgment: ptr.To("ACK")}, nil
}
