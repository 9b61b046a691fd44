package ecs

import (
	"strings"

	"context"

	"github.com/wharfhq/wharf/internal/ptr"
	"github.com/wharfhq/wharf/internal/store"
)

// This file ties the task lifecycle to the agent channel. Every path that
// writes a task calls these in its transaction: taskCreated for a new task,
// taskChanged for an existing one (with its status before the change).

// taskCreated puts a new task on its queue, allocates its awsvpc address
// and bumps the queue so the agent picks it up.
func (s *Service) taskCreated(ctx context.Context, tx store.Tx, w *wakes, t *taskRec) error {
	if err := s.assignENI(ctx, tx, t); err != nil {
		return err
	}
	q, ok := taskQueue(ctx, t)
	if !ok {
		return nil
	}
	if err := enqueue(tx, q, t); err != nil {
		return err
	}
	return bumpQueue(tx, w, q)
}

// taskChanged keeps the queue, the address and the attachment in step with
// a task's move: its attachment is ATTACHED once it runs; once STOPPED it
// leaves its queue and frees its address; a change of desired status bumps
// the queue.
func (s *Service) taskChanged(ctx context.Context, tx store.Tx, w *wakes, desiredBefore, lastBefore string, t *taskRec) error {
	if a := eniAttachment(t); a != nil && ptr.Value(a.Status) == "PRECREATED" &&
		statusRank(t.LastStatus) >= statusRank(taskRunning) && t.LastStatus != taskStopped {
		a.Status = ptr.To("ATTACHED")
	}
	q, onQueue := taskQueue(ctx, t)
	if t.LastStatus == taskStopped && lastBefore != taskStopped {
		if err := releaseENI(ctx, tx, t); err != nil {
			return err
		}
		if err := dropCredentials(tx, t); err != nil {
			return err
		}
		if onQueue {
			if err := dequeue(tx, q, t); err != nil {
				return err
			}
		}
	}
	if onQueue && t.DesiredStatus != desiredBefore {
		return bumpQueue(tx, w, q)
	}
	return nil
}

// stopInTx stops a task at once in tx (a lost host, a role that cannot be
// assumed): STOPPED with code and reason unless it already has some (a
// StopTask's UserInitiated stays), its resources released on its instance,
// off its queue.
func (s *Service) stopInTx(ctx context.Context, tx store.Tx, w *wakes, t *taskRec, rev int64, code, reason string) error {
	if t.LastStatus == taskStopped {
		return nil
	}
	wasRunning := statusRank(t.LastStatus) >= statusRank(taskRunning)
	if err := s.stopTaskRec(ctx, tx, w, t, rev, code, reason); err != nil {
		return err
	}
	if t.Instance == "" {
		return nil
	}
	var in instanceRec
	irev, err := getJSON(tx, instanceKey(t.Cluster, t.Instance), &in)
	if err == nil {
		settle(&in, t, wasRunning)
		err = putJSONIf(tx, instanceKey(t.Cluster, t.Instance), &in, irev)
	}
	if err != nil && !isNotFound(err) {
		return err
	}
	return nil
}

// stopTaskRec is stopInTx without the instance's accounting (for callers
// that reset the instance themselves).
func (s *Service) stopTaskRec(ctx context.Context, tx store.Tx, w *wakes, t *taskRec, rev int64, code, reason string) error {
	desired, last := t.DesiredStatus, t.LastStatus
	if t.StopCode == "" {
		t.StopCode = code
	}
	if t.StoppedReason == "" {
		t.StoppedReason = reason
	}
	advance(t, taskStopped, s.stamp())
	if err := indexTenant(ctx, tx); err != nil {
		return err
	}
	if err := s.taskChanged(ctx, tx, w, desired, last, t); err != nil {
		return err
	}
	return putJSONIf(tx, taskKey(t.Cluster, t.ID), t, rev)
}

// startFailures are the stopped-reason prefixes of tasks that failed to
// start, as ECS words them.
var startFailures = []string{"CannotPullContainerError", "CannotStartContainerError", "CannotCreateContainerError",
	"CannotInspectContainerError", "CannotCreateVolumeError", "ResourceInitializationError", "ResourceNotFoundException",
	"ContainerRuntimeError", "ContainerRuntimeTimeoutError", "TaskFailedToStart"}

// agentStopCode is the stop code of a task its agent reports STOPPED with
// reason: TaskFailedToStart for a start failure, else
// EssentialContainerExited.
func agentStopCode(reason string) string {
	for _, p := range startFailures {
		if strings.HasPrefix(reason, p) {
			return stopCodeFailed
		}
	}
	return "EssentialContainerExited"
}
