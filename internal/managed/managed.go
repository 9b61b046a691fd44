// Package managed is Wharf's own capacity for FARGATE tasks: the agent
// core (internal/agent) running inside `wharf up`, on the local Docker
// Engine, with a control plane that is the ECS service itself, called in
// process. It serves the managed queue (ecs.Service.PollManaged) of every
// tenant; no container instance is registered, so users never see one.
package managed

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/wharfhq/wharf/api/ecsapi"
	"github.com/wharfhq/wharf/api/wharfagentapi"
	"github.com/wharfhq/wharf/internal/agent"
	"github.com/wharfhq/wharf/internal/agentproto"
	"github.com/wharfhq/wharf/internal/arn"
	"github.com/wharfhq/wharf/internal/ecs"
	"github.com/wharfhq/wharf/internal/errs"
	"github.com/wharfhq/wharf/internal/principal"
	"github.com/wharfhq/wharf/internal/ptr"
	wrt "github.com/wharfhq/wharf/internal/runtime"
)

// TokenIssuer issues registry passwords (registry.Tokens).
type TokenIssuer interface {
	Issue(ctx context.Context, p *principal.Principal, notAfter time.Time) (string, time.Time, error)
}

// ControlPlane is agent.ControlPlane over the in-process ECS service.
type ControlPlane struct {
	ECS *ecs.Service
	// Tokens issue the registry passwords pulls from Wharf's own
	// registry use, on behalf of the task's execution role.
	Tokens TokenIssuer
	// RegistryHosts are the host[:port] names of Wharf's registry.
	RegistryHosts []string
}

var _ agent.ControlPlane = (*ControlPlane)(nil)

// Register is never called for managed capacity.
func (c *ControlPlane) Register(context.Context, agent.Registration) (string, error) {
	return "", errors.New("managed: managed capacity does not register instances")
}

// Poll waits for the managed queue.
func (c *ControlPlane) Poll(ctx context.Context, acked int64, wait time.Duration) (agent.Assignments, error) {
	seq, tasks, err := c.ECS.PollManaged(ctx, acked, wait)
	if err != nil {
		return agent.Assignments{}, err
	}
	out := agent.Assignments{Sequence: seq, Changed: seq != acked}
	for _, t := range tasks {
		out.Tasks = append(out.Tasks, t.Task)
	}
	if !out.Changed {
		out.Tasks = nil
	}
	return out, nil
}

// tenant is the context of the tenant that owns a task ARN.
func tenant(ctx context.Context, taskARN string) (context.Context, error) {
	a, err := arn.Parse(taskARN)
	if err != nil {
		return nil, err
	}
	return ecs.TenantContext(ctx, a.Account, a.Region), nil
}

// SubmitTask reports a task's state to the ECS service.
func (c *ControlPlane) SubmitTask(ctx context.Context, r agent.TaskReport) error {
	tctx, err := tenant(ctx, r.TaskARN)
	if err != nil {
		return permanentError{err}
	}
	in := &ecsapi.SubmitTaskStateChangeRequest{Cluster: ptr.To(r.Cluster), Task: ptr.To(r.TaskARN), Status: optString(r.Status),
		Reason: optString(r.Reason), PullStartedAt: r.PullStartedAt, PullStoppedAt: r.PullStoppedAt, ExecutionStoppedAt: r.ExecutionStoppedAt}
	for _, cr := range r.Containers {
		cs := ecsapi.ContainerStateChange{ContainerName: ptr.To(cr.Name), Status: optString(cr.Status), Reason: optString(cr.Reason),
			RuntimeId: optString(cr.RuntimeID), ImageDigest: optString(cr.ImageDigest)}
		if cr.ExitCode != nil {
			cs.ExitCode = ptr.To(int32(*cr.ExitCode))
		}
		for _, b := range cr.Bindings {
			cs.NetworkBindings = append(cs.NetworkBindings, ecsapi.NetworkBinding{BindIP: ptr.To(b.BindIP),
				ContainerPort: ptr.To(int32(b.ContainerPort)), HostPort: ptr.To(int32(b.HostPort)), Protocol: ptr.To(b.Protocol)})
		}
		in.Containers = append(in.Containers, cs)
	}
	_, err = c.ECS.SubmitTaskStateChange(tctx, in)
	return classify(err)
}

// SubmitHealth reports container health to the ECS service.
func (c *ControlPlane) SubmitHealth(ctx context.Context, cluster, taskARN string, health map[string]wrt.Health) error {
	tctx, err := tenant(ctx, taskARN)
	if err != nil {
		return permanentError{err}
	}
	in := &wharfagentapi.SubmitTaskHealthRequest{Cluster: ptr.To(cluster), Task: ptr.To(taskARN)}
	for name, h := range health {
		in.Containers = append(in.Containers, wharfagentapi.ContainerHealth{ContainerName: ptr.To(name), HealthStatus: ptr.To(string(h))})
	}
	_, err = c.ECS.SubmitTaskHealth(tctx, in)
	return classify(err)
}

// RegistryAuth returns a registry password for images in Wharf's registry,
// issued to the task's execution role (FARGATE pulls with it, as on AWS).
func (c *ControlPlane) RegistryAuth(ctx context.Context, t *agentproto.Task, image string) (*wrt.Auth, error) {
	host, _, ok := strings.Cut(image, "/")
	if !ok || !c.ours(host) {
		return nil, nil
	}
	if t.ExecutionRole == nil {
		return nil, permanentError{fmt.Errorf("the task definition has no executionRoleArn: FARGATE tasks pull images from the registry with the task execution role; add one that allows ecr:BatchGetImage and ecr:GetDownloadUrlForLayer")}
	}
	tctx, err := tenant(ctx, t.TaskARN)
	if err != nil {
		return nil, err
	}
	p := &principal.Principal{Kind: principal.AssumedRole, AccessKeyID: t.ExecutionRole.AccessKeyID, RoleARN: t.ExecutionRole.RoleARN, Temporary: true}
	pass, _, err := c.Tokens.Issue(tctx, p, t.ExecutionRole.Expiration)
	if err != nil {
		return nil, err
	}
	return &wrt.Auth{Username: "AWS", Password: pass}, nil
}

func (c *ControlPlane) ours(host string) bool {
	for _, h := range c.RegistryHosts {
		if h == host {
			return true
		}
	}
	return strings.Contains(host, ".dkr.ecr.")
}

// permanentError marks a refusal retrying cannot fix.
type permanentError struct{ error }

func (e permanentError) Permanent() bool { return true }
func (e permanentError) Unwrap() error   { return e.error }

// classify marks the ECS service's client errors (a task that no longer
// exists…) as permanent so the reporter drops them.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var e *errs.Error
	if errors.As(err, &e) {
		return permanentError{err}
	}
	return err
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
