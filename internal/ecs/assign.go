package ecs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/wharfhq/wharf/api/ecsapi"
	"github.com/wharfhq/wharf/api/wharfagentapi"
	"github.com/wharfhq/wharf/internal/agentproto"
	"github.com/wharfhq/wharf/internal/ptr"
	"github.com/wharfhq/wharf/internal/store"
)

// This file serves the agent channel (api/models/wharfagent): the
// PollAssignments long poll of an EC2 container instance, and
// SubmitTaskHealth. See package agentproto for the protocol.

const (
	defaultPollWait = 20 * time.Second
	maxPollWait     = 60 * time.Second
)

// queuedTask is a task of a queue with what its assignment needs.
type queuedTask struct {
	ctx   context.Context // the task's tenant
	rec   taskRec
	def   ecsapi.TaskDefinition
	creds credsRec
}

// defCache keeps task definitions by ARN: a revision never changes what it
// runs, so assignments need not decode it on every poll.
type defCache struct {
	mu sync.Mutex
	m  map[string]ecsapi.TaskDefinition
}

func (c *defCache) load(ctx context.Context, tx store.Tx, arn string) (ecsapi.TaskDefinition, error) {
	c.mu.Lock()
	d, ok := c.m[arn]
	c.mu.Unlock()
	if ok {
		return d, nil
	}
	td, _, err := loadTaskDef(ctx, tx, arn)
	if err != nil {
		return d, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) > 10000 {
		c.m = map[string]ecsapi.TaskDefinition{}
	}
	c.m[arn] = td.Def
	c.mu.Unlock()
	return td.Def, nil
}

// loadQueued reads a queued task in tx; ok is false for a task gone or
// STOPPED (a stale queue entry).
func (s *Service) loadQueued(ctx context.Context, tx store.Tx, cluster, id string) (queuedTask, bool, error) {
	q := queuedTask{ctx: ctx}
	_, err := getJSON(tx, taskKey(cluster, id), &q.rec)
	if isNotFound(err) {
		return q, false, nil
	}
	if err != nil || q.rec.LastStatus == taskStopped {
		return q, false, err
	}
	if q.def, err = s.defs.load(ctx, tx, q.rec.TaskDefARN); errors.Is(err, ErrClient) {
		// The revision is gone (it never should be while a task uses it):
		// leave the task out rather than fail every poll of its queue.
		s.log.Warn("ecs: queued task without its definition", "task", id, "taskDefinition", q.rec.TaskDefARN)
		return q, false, nil
	} else if err != nil {
		return q, false, fmt.Errorf("ecs: task %s: definition %s: %w", id, q.rec.TaskDefARN, err)
	}
	if _, err := getJSON(tx, credsKey(cluster, id), &q.creds); err != nil && !isNotFound(err) {
		return q, false, err
	}
	return q, true, nil
}

// readEC2Queue reads an instance queue's sequence and tasks in one
// transaction.
func (s *Service) readEC2Queue(ctx context.Context, q queueID) (int64, []queuedTask, error) {
	var seq int64
	var out []queuedTask
	err := s.view(ctx, func(tx store.Tx) error {
		var err error
		if seq, err = queueSeq(tx, q); err != nil {
			return err
		}
		items, err := tx.Scan(tblQueues, q.taskPrefix(), "", 0)
		if err != nil {
			return err
		}
		out = out[:0]
		for _, it := range items {
			qt, ok, err := s.loadQueued(ctx, tx, q.cluster, strings.TrimPrefix(it.Key, q.taskPrefix()))
			if err != nil {
				return err
			}
			if ok {
				out = append(out, qt)
			}
		}
		return nil
	})
	return seq, out, err
}

// agentTask is the assignment document of a queued task.
func (s *Service) agentTask(q *queuedTask) agentproto.Task {
	ctx, t := q.ctx, &q.rec
	out := agentproto.Task{TaskARN: taskARN(ctx, t.Cluster, t.ID), ClusterARN: clusterARN(ctx, t.Cluster),
		DesiredStatus: t.DesiredStatus, LaunchType: t.LaunchType, AvailabilityZone: t.AZ, Definition: q.def,
		Overrides: t.Overrides, CPU: t.CPU, Memory: t.Memory, ENI: s.agentENI(t, nil),
		TaskRole: q.creds.TaskRole, ExecutionRole: q.creds.ExecutionRole, Version: t.Version, CreatedAt: t.Created,
		Group: t.Group, StartedBy: t.StartedBy, Containers: []agentproto.Container{}}
	if t.DesiredStatus == taskStopped {
		out.StopCode, out.StoppedReason = t.StopCode, t.StoppedReason
	}
	for _, c := range t.Containers {
		ac := agentproto.Container{Name: c.Name, ContainerARN: containerARN(ctx, t, &c), GPUIDs: c.GPUIDs}
		for _, b := range c.NetworkBindings {
			ac.PortBindings = append(ac.PortBindings, agentproto.PortBinding{ContainerPort: ptr.Value(b.ContainerPort),
				HostPort: ptr.Value(b.HostPort), Protocol: ptr.Or(b.Protocol, "tcp")})
		}
		out.Containers = append(out.Containers, ac)
	}
	return out
}

func containerARN(ctx context.Context, t *taskRec, c *containerRec) string {
	return strings.Replace(taskARN(ctx, t.Cluster, t.ID), ":task/", ":container/", 1) + "/" + c.ID
}

// assignments encodes the queue's tasks for a poll answer.
func (s *Service) assignments(tasks []queuedTask) ([]wharfagentapi.Assignment, error) {
	out := []wharfagentapi.Assignment{}
	for i := range tasks {
		doc := s.agentTask(&tasks[i])
		b, err := agentproto.Encode(&doc)
		if err != nil {
			return nil, err
		}
		out = append(out, wharfagentapi.Assignment{TaskArn: ptr.To(doc.TaskARN), DesiredStatus: ptr.To(doc.DesiredStatus), Document: ptr.To(b)})
	}
	return out, nil
}

func pollWait(p *int32) time.Duration {
	if p == nil {
		return defaultPollWait
	}
	return min(max(time.Duration(*p)*time.Second, 0), maxPollWait)
}

// PollAssignments is an agent's long poll (and heartbeat): it answers at
// once with the instance's whole desired state when the instance's
// assignment sequence differs from ackedSequence, else waits up to
// waitSeconds (default 20, at most 60) for a change and answers with the
// unchanged sequence and no assignments.
func (s *Service) PollAssignments(ctx context.Context, in *wharfagentapi.PollAssignmentsRequest) (*wharfagentapi.PollAssignmentsResponse, error) {
	wait := pollWait(in.WaitSeconds)
	acked := ptr.Value(in.AckedSequence)
	var inst instanceRec
	err := s.view(ctx, func(tx store.Tx) error {
		c, _, err := loadCluster(ctx, tx, ptr.Value(in.Cluster))
		if err != nil {
			return err
		}
		inst, _, err = loadInstance(ctx, tx, c.Name, ptr.Value(in.ContainerInstance), true)
		return err
	})
	if err != nil {
		return nil, err
	}
	if inst.Status == statusInactive {
		return nil, clientErr("Container instance %s is INACTIVE: it was deregistered from cluster %s. Register the host again to run tasks on it.",
			ptr.Value(in.ContainerInstance), inst.Cluster)
	}
	q := ec2Queue(ctx, inst.Cluster, inst.ID)
	defer s.pollBegin(ctx, q, inst.Connected)()
	status := ptr.To(inst.Status)
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		woken := s.notify.watch(q.key())
		seq, tasks, err := s.readEC2Queue(ctx, q)
		if err != nil {
			return nil, err
		}
		// Every pass: a task placed while this poll waited needs its role
		// credentials before it is handed out.
		changed, err := s.refreshCredentials(ctx, tasks)
		if err != nil {
			return nil, err
		}
		if changed {
			continue
		}
		if seq != acked {
			as, err := s.assignments(tasks)
			if err != nil {
				return nil, err
			}
			return &wharfagentapi.PollAssignmentsResponse{Sequence: ptr.To(seq), Assignments: as, Status: status}, nil
		}
		if wait == 0 {
			return &wharfagentapi.PollAssignmentsResponse{Sequence: ptr.To(seq), Assignments: []wharfagentapi.Assignment{}, Status: status}, nil
		}
		select {
		case <-woken:
		case <-timer.C:
			wait = 0
		case <-s.notify.closed:
			wait = 0
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// SubmitTaskHealth is an agent's report of its containers' health checks.
// A report for a STOPPED task is acknowledged and ignored.
func (s *Service) SubmitTaskHealth(ctx context.Context, in *wharfagentapi.SubmitTaskHealthRequest) (*wharfagentapi.SubmitTaskHealthResponse, error) {
	_, err := s.changeTask(ctx, ptr.Value(in.Cluster), ptr.Value(in.Task), func(t *taskRec) (bool, bool, error) {
		if t.LastStatus == taskStopped {
			return false, false, nil
		}
		for _, h := range in.Containers {
			for i := range t.Containers {
				if t.Containers[i].Name == ptr.Value(h.ContainerName) {
					t.Containers[i].HealthStatus = ptr.Value(h.HealthStatus)
				}
			}
		}
		return false, false, nil
	})
	if err != nil {
		return nil, err
	}
	return &wharfagentapi.SubmitTaskHealthResponse{Acknowledgment: ptr.To("ACK")}, nil
}
