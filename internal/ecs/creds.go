package ecs

import (
	"context"
	"time"

	"github.com/wharfhq/wharf/internal/agentproto"
	"github.com/wharfhq/wharf/internal/ptr"
	"github.com/wharfhq/wharf/internal/store"
)

// This file hands task roles' credentials to agents. They are minted the
// first time a poll answer carries the task (Options.RoleCredentials, which
// the server implements with STS on behalf of ecs-tasks.amazonaws.com),
// kept in the task's credentials record, and renewed by a later poll — with
// a sequence bump, so the agent gets the fresh ones — once less than
// credsRenewBefore of their life is left.
//
// Key in table "ecs": taskcreds/<cluster>/<taskID> → credsRec, deleted when
// the task stops.

// credsRenewBefore is how long before their expiration credentials are
// replaced.
const credsRenewBefore = 20 * time.Minute

// RoleCredentialsFunc mints temporary credentials of roleARN (a role of the
// tenant of ctx) for a session called sessionName, as the ECS tasks service
// principal. Its error, when the role cannot be assumed, stops the task.
type RoleCredentialsFunc func(ctx context.Context, roleARN, sessionName string) (*agentproto.Credentials, error)

type credsRec struct {
	TaskRole      *agentproto.Credentials `json:"taskRole,omitempty"`
	ExecutionRole *agentproto.Credentials `json:"executionRole,omitempty"`
}

func credsKey(cluster, id string) string { return "taskcreds/" + cluster + "/" + id }

func dropCredentials(tx store.Tx, t *taskRec) error {
	if err := tx.Delete(tblECS, credsKey(t.Cluster, t.ID)); err != nil && !isNotFound(err) {
		return err
	}
	return nil
}

// taskRoles returns the task's role and execution role ARNs, overrides
// first.
func taskRoles(q *queuedTask) (task, exec string) {
	task, exec = ptr.Value(q.def.TaskRoleArn), ptr.Value(q.def.ExecutionRoleArn)
	if ov := q.rec.Overrides; ov != nil {
		task = ptr.Or(ov.TaskRoleArn, task)
		exec = ptr.Or(ov.ExecutionRoleArn, exec)
	}
	return task, exec
}

// credsDue reports whether a role's credentials must be minted at now:
// there are none, they are of another role, or they expire within
// credsRenewBefore.
func credsDue(c *agentproto.Credentials, roleARN string, now time.Time) bool {
	if roleARN == "" {
		return false
	}
	return c == nil || c.RoleARN != roleARN || c.Expiration.Sub(now) < credsRenewBefore
}

// refreshCredentials mints the due credentials of the queue's running
// tasks and stores them with a bump of the task's queue. A task whose role
// cannot be assumed is stopped, as ECS does (TaskFailedToStart). It
// reports whether anything changed.
func (s *Service) refreshCredentials(ctx context.Context, tasks []queuedTask) (bool, error) {
	if s.roleCreds == nil {
		return false, nil
	}
	now := s.now()
	changed := false
	for i := range tasks {
		q := &tasks[i]
		if q.rec.DesiredStatus == taskStopped {
			continue
		}
		taskRole, execRole := taskRoles(q)
		next := q.creds
		var failed string
		mint := func(role string, cur **agentproto.Credentials) {
			if failed != "" || !credsDue(*cur, role, now) {
				return
			}
			c, err := s.roleCreds(q.ctx, role, q.rec.ID)
			if err != nil {
				s.log.Warn("task role credentials", "task", q.rec.ID, "role", role, "err", err)
				failed = role
				return
			}
			*cur = c
		}
		mint(taskRole, &next.TaskRole)
		mint(execRole, &next.ExecutionRole)
		if failed == "" && next == q.creds {
			continue
		}
		changed = true
		err := s.commit(q.ctx, func(tx store.Tx, w *wakes) error {
			var t taskRec
			rev, err := getJSON(tx, taskKey(q.rec.Cluster, q.rec.ID), &t)
			if isNotFound(err) {
				return nil
			}
			if err != nil || t.LastStatus == taskStopped {
				return err
			}
			if failed != "" {
				return s.stopInTx(q.ctx, tx, w, &t, rev, "TaskFailedToStart",
					"ECS was unable to assume the role '"+failed+"' that was provided for this task. Please verify that the role being passed has the proper trust relationship and IAM permissions.")
			}
			if err := putJSON(tx, credsKey(t.Cluster, t.ID), &next); err != nil {
				return err
			}
			qid, ok := taskQueue(q.ctx, &t)
			if !ok {
				return nil
			}
			return bumpQueue(tx, w, qid)
		})
		if err != nil {
			return changed, err
		}
	}
	return changed, nil
}
