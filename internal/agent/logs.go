package agent

import (
	"github.com/wharfhq/wharf/internal/agent/awslogs"
	"github.com/wharfhq/wharf/internal/agent/task"
	"github.com/wharfhq/wharf/internal/agentproto"
	"github.com/wharfhq/wharf/internal/ptr"
)

// shipLogs starts the awslogs driver for the containers of a task that
// have started (or already stopped) and ask for it, and forgets the task
// once it is cleaned up. Ship is idempotent, so every change may call it;
// after an agent restart the adopted containers resume from the state file.
func (e *engine) shipLogs(t *agentproto.Task, c task.Change) {
	if c.Status == task.StatusStopped && cleanedUp(c) {
		e.logs.Forget(c.TaskARN)
		return
	}
	if t == nil {
		return
	}
	arn := c.TaskARN
	creds := func() *agentproto.Credentials {
		e.mu.Lock()
		defer e.mu.Unlock()
		if cur := e.tasks[arn]; cur != nil {
			return cur.ExecutionRole
		}
		return nil
	}
	for _, cc := range c.Containers {
		if cc.RuntimeID == "" || cc.Status == task.StatusPending {
			continue
		}
		for _, cd := range t.Definition.ContainerDefinitions {
			lc := cd.LogConfiguration
			if ptr.Value(cd.Name) != cc.Name || lc == nil || string(ptr.Value(lc.LogDriver)) != awslogs.Driver {
				continue
			}
			err := e.logs.Ship(awslogs.Container{TaskARN: arn, Name: cc.Name, RuntimeID: cc.RuntimeID, Options: lc.Options, Credentials: creds})
			if err != nil {
				e.cfg.Logger.Warn("awslogs: not shipping", "task", arn, "container", cc.Name, "err", err)
			}
		}
	}
}
