package agent

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/wharfhq/wharf/internal/agent/awslogs"
	"github.com/wharfhq/wharf/internal/agent/endpoint"
	"github.com/wharfhq/wharf/internal/agent/task"
	"github.com/wharfhq/wharf/internal/agentproto"
	"github.com/wharfhq/wharf/internal/ptr"
	wrt "github.com/wharfhq/wharf/internal/runtime"
)

// EngineConfig is what the task engine needs beyond the agent's Config.
type EngineConfig struct {
	Runtime wrt.Runtime
	// Endpoint is the task metadata and credentials server (nil: tasks get
	// neither).
	Endpoint *endpoint.Server
	// PauseImage is the awsvpc pause image (task.EnsurePauseImage).
	PauseImage string
	// Env is added to every container (e.g. AWS_ENDPOINT_URL).
	Env map[string]string
	// Secret derives the stable, unguessable endpoint IDs of a task's
	// containers, so they survive an agent restart (the containers keep
	// the URIs they were created with).
	Secret []byte
	// AWS is the agent's own AWS configuration: the awslogs driver ships
	// with its credentials for tasks without an execution role.
	AWS aws.Config
	// S3Missing is the stopped reason's explanation when a task has
	// environment files and Config.S3Endpoint is empty (default: set
	// `wharf agent --s3-endpoint`).
	S3Missing string
}

// engine joins the task manager, the metadata endpoint and the reporter:
// it is the agent's Engine.
type engine struct {
	cfg        Config
	ec         EngineConfig
	instanceID string
	mgr        *task.Manager
	reports    Reports

	mu      sync.Mutex
	tasks   map[string]*agentproto.Task // latest assignment per task
	reaping map[string]bool             // unassigned tasks being stopped
	last    map[string]task.Change      // the last state reported per task
	swept   bool                        // orphans looked for (first Sync)

	pruneStop context.CancelFunc
	pruneDone chan struct{}
	health    map[string]map[string]wrt.Health
	logs      *awslogs.Shipper
	stats     *sampler // nil when the control plane takes no samples
}

// TaskEngine returns the NewEngineFunc of the real engine.
func TaskEngine(cfg Config, ec EngineConfig) NewEngineFunc {
	return func(ctx context.Context, d EngineDeps) (Engine, error) {
		cfg = cfg.withDefaults()
		instanceID := d.InstanceID
		e := &engine{cfg: cfg, ec: ec, instanceID: instanceID, reports: d.Reports, tasks: map[string]*agentproto.Task{}, reaping: map[string]bool{}, last: map[string]task.Change{},
			health: map[string]map[string]wrt.Health{}}
		host := task.HostConfig{InstanceID: instanceID, Region: cfg.Region, PauseImage: ec.PauseImage, Env: ec.Env}
		if ec.Endpoint != nil {
			host.Metadata = func(taskARN, container string) (string, string) {
				v4 := ec.Endpoint.MetadataEnv(e.id(taskARN, container))[endpoint.EnvMetadataURIV4]
				return v4, v4
			}
			host.Credentials = func(taskARN string) map[string]string {
				id := e.id(taskARN, "~credentials")
				ec.Endpoint.SetCredentialsToken(id, e.id(taskARN, "~token"))
				return ec.Endpoint.CredentialsEnv(id)
			}
		}
		auth := func(ctx context.Context, taskARN, image string) (*wrt.Auth, error) {
			e.mu.Lock()
			t := e.tasks[taskARN]
			e.mu.Unlock()
			if t == nil || d.Auth == nil {
				return nil, nil
			}
			return d.Auth(ctx, t, image)
		}
		logs, err := awslogs.New(awslogs.Config{Logs: ec.Runtime, AWS: ec.AWS, Endpoint: cfg.Endpoint, Region: cfg.Region,
			StateDir: cfg.DataDir, Logger: cfg.Logger})
		if err != nil {
			return nil, err
		}
		e.logs = logs
		tc := task.Config{Runtime: cfg.Metrics.instrument(ec.Runtime), Host: host, Auth: auth, PullBehavior: cfg.PullBehavior,
			CleanupWait: cfg.TaskCleanupWait, Report: e.report, Logger: cfg.Logger}
		e.envFiles(&tc)
		e.mgr = task.NewManager(tc)
		if err := e.mgr.Start(ctx); err != nil {
			logs.Stop()
			return nil, err
		}
		if d.Stats != nil {
			e.stats = newSampler(ec.Runtime, d.Stats, e.runningContainers, cfg.Logger)
			e.stats.Start(context.WithoutCancel(ctx))
		}
		if cfg.ImageCleanupInterval > 0 {
			e.pruneDone = make(chan struct{})
			pctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
			e.pruneStop = cancel
			go e.pruneLoop(pctx, cfg.ImageCleanupInterval)
		}
		return e, nil
	}
}

// id is the endpoint ID of one of a task's containers (or of its
// credentials): an HMAC of the task and the name, so it is the same after
// a restart and cannot be guessed by another task.
func (e *engine) id(taskARN, name string) string {
	m := hmac.New(sha256.New, e.ec.Secret)
	m.Write([]byte(taskARN + "\x00" + name))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// Sync hands the desired state to the manager; tasks the manager runs
// that are no longer assigned are stopped.
func (e *engine) Sync(ctx context.Context, desired []agentproto.Task) {
	want := map[string]bool{}
	for i := range desired {
		t := desired[i]
		want[t.TaskARN] = true
		e.mu.Lock()
		_, known := e.tasks[t.TaskARN]
		e.tasks[t.TaskARN] = &t
		e.mu.Unlock()
		if e.ec.Endpoint != nil {
			if !known {
				_ = e.ec.Endpoint.Register(e.metadata(&t, nil))
			}
			if t.TaskRole != nil {
				e.ec.Endpoint.SetCredentials(e.id(t.TaskARN, "~credentials"), *t.TaskRole)
			}
		}
		e.mgr.Apply(&t)
	}
	for _, arn := range e.mgr.Running() {
		if want[arn] {
			continue
		}
		e.mu.Lock()
		t := e.tasks[arn]
		e.mu.Unlock()
		if t == nil {
			continue
		}
		stop := *t
		if stop.DesiredStatus != "STOPPED" {
			stop.DesiredStatus = "STOPPED"
			stop.StoppedReason = "Task stopped because the control plane no longer assigns it to this container instance."
		}
		e.mgr.Apply(&stop)
	}
	// Containers the manager does not know of can only be left from before
	// this agent process started: look for them once, not on every poll.
	if !e.swept {
		e.swept = true
		e.stopOrphans(ctx, want)
	}
}

// stopOrphans stops and removes the containers of tasks this agent left
// running that the control plane no longer assigns to it (it stopped them
// while the agent was away, e.g. when it judged the instance lost) and the
// manager does not run: they must not run twice.
func (e *engine) stopOrphans(ctx context.Context, want map[string]bool) {
	ctrs, err := e.ec.Runtime.ListContainers(ctx, map[string]string{task.LabelInstance: e.instanceID})
	if err != nil {
		e.cfg.Logger.Warn("cannot list this agent's containers", "err", err)
		return
	}
	running := map[string]bool{}
	for _, arn := range e.mgr.Running() {
		running[arn] = true
	}
	orphans := map[string][]string{}
	for _, c := range ctrs {
		arn := c.Labels[task.LabelTaskARN]
		if arn == "" || want[arn] || running[arn] {
			continue
		}
		orphans[arn] = append(orphans[arn], c.ID)
	}
	for arn, ids := range orphans {
		e.mu.Lock()
		busy := e.reaping[arn]
		e.reaping[arn] = true
		e.mu.Unlock()
		if busy {
			continue
		}
		e.cfg.Logger.Info("stopping the containers of a task no longer assigned here", "task", arn, "containers", len(ids))
		// In the background: stop timeouts must not hold up the polls that
		// are the agent's heartbeat.
		go func() {
			ctx := context.WithoutCancel(ctx)
			for _, id := range ids {
				_ = e.ec.Runtime.StopContainer(ctx, id, task.DefaultStopTimeout)
			}
			if err := task.Cleanup(ctx, e.ec.Runtime, e.instanceID, arn); err != nil {
				e.cfg.Logger.Warn("cleanup of an unassigned task failed", "task", arn, "err", err)
			}
			e.mu.Lock()
			delete(e.reaping, arn)
			e.mu.Unlock()
		}()
	}
}

// Close stops watching; containers keep running.
func (e *engine) Close() {
	if e.pruneStop != nil {
		e.pruneStop()
		<-e.pruneDone
	}
	if e.stats != nil {
		e.stats.Stop()
	}
	e.mgr.Stop()
	e.logs.Stop()
}

// pruneLoop removes, every interval, the images this agent's tasks used
// that no container uses and no task used for an hour
// (ECS_IMAGE_CLEANUP_INTERVAL, ECS_IMAGE_MINIMUM_CLEANUP_AGE).
func (e *engine) pruneLoop(ctx context.Context, every time.Duration) {
	defer close(e.pruneDone)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rm, ok := e.ec.Runtime.(interface {
			RemoveImage(ctx context.Context, ref string, force bool) error
			ListContainers(ctx context.Context, labels map[string]string) ([]wrt.ContainerSummary, error)
		})
		if !ok {
			return
		}
		now := time.Now()
		keep := []string{e.ec.PauseImage}
		removed, err := task.PruneImages(ctx, rm, e.mgr.ImagesUsed(now), keep, now, task.DefaultImageMinimumAge)
		if err != nil {
			e.cfg.Logger.Warn("image cleanup", "err", err)
		}
		if len(removed) > 0 {
			e.cfg.Logger.Info("removed unused images", "images", removed)
		}
	}
}

// report turns a task's Change into a report, a health report when the
// health moved, and a metadata update.
func (e *engine) report(c task.Change) {
	e.mu.Lock()
	t := e.tasks[c.TaskARN]
	prev := e.health[c.TaskARN]
	// Every assignment wakes every task's runner, which reports its state
	// again: only a state that moved is worth a call to the control plane
	// (otherwise each new task would cost one call per running task).
	last, known := e.last[c.TaskARN]
	if known && reflect.DeepEqual(last, c) {
		e.mu.Unlock()
		return
	}
	e.last[c.TaskARN] = c
	now := c.Status
	if c.Status == task.StatusStopped && cleanedUp(c) {
		delete(e.last, c.TaskARN)
		now = ""
	}
	if known {
		e.cfg.Metrics.taskMoved(last.Status, now)
		e.cfg.Metrics.containersMoved(&last, &c)
	} else {
		e.cfg.Metrics.taskMoved("", now)
	}
	e.mu.Unlock()
	cluster := clusterOf(c.TaskARN)
	rep := TaskReport{Cluster: cluster, TaskARN: c.TaskARN, Status: c.Status, Reason: c.StoppedReason,
		PullStartedAt: timePtr(c.PullStartedAt), PullStoppedAt: timePtr(c.PullStoppedAt), ExecutionStoppedAt: timePtr(c.ExecutionStoppedAt)}
	health := map[string]wrt.Health{}
	for _, cc := range c.Containers {
		cr := ContainerReport{Name: cc.Name, Status: cc.Status, ExitCode: cc.ExitCode, Reason: cc.Reason,
			RuntimeID: cc.RuntimeID, ImageDigest: cc.ImageDigest}
		for _, b := range cc.NetworkBindings {
			cr.Bindings = append(cr.Bindings, Binding{BindIP: b.BindIP, ContainerPort: int(b.ContainerPort), HostPort: int(b.HostPort), Protocol: b.Protocol})
		}
		rep.Containers = append(rep.Containers, cr)
		if cc.Health != "" {
			health[cc.Name] = cc.Health
		}
	}
	e.reports.Task(rep)
	e.shipLogs(t, c)
	if len(health) > 0 && !sameHealth(health, prev) {
		e.mu.Lock()
		e.health[c.TaskARN] = health
		e.mu.Unlock()
		e.reports.Health(cluster, c.TaskARN, health)
	}
	if e.ec.Endpoint != nil && t != nil {
		if c.Status == task.StatusStopped && cleanedUp(c) {
			_ = e.ec.Endpoint.Unregister(c.TaskARN)
			e.ec.Endpoint.RemoveCredentials(e.id(c.TaskARN, "~credentials"))
			return
		}
		_ = e.ec.Endpoint.Update(e.metadata(t, &c))
	}
}

// cleanedUp reports whether a stopped task's containers are gone (the
// manager reports a last change after cleanup with no runtime IDs).
func cleanedUp(c task.Change) bool {
	for _, cc := range c.Containers {
		if cc.RuntimeID != "" {
			return false
		}
	}
	return true
}

// metadata builds the v4 metadata of a task from its assignment and its
// latest change (nil before the first).
func (e *engine) metadata(t *agentproto.Task, c *task.Change) endpoint.Task {
	d := &t.Definition
	out := endpoint.Task{Cluster: t.ClusterARN, TaskARN: t.TaskARN, Family: ptr.Value(d.Family),
		Revision: strconv.Itoa(int(ptr.Value(d.Revision))), DesiredStatus: t.DesiredStatus, KnownStatus: "PENDING",
		AvailabilityZone: t.AvailabilityZone, LaunchType: t.LaunchType}
	if strings.HasPrefix(t.Group, "service:") {
		out.ServiceName = strings.TrimPrefix(t.Group, "service:")
	}
	if n, err := strconv.Atoi(t.CPU); err == nil && n > 0 {
		out.CPU = float64(n) / 1024
	}
	if n, err := strconv.Atoi(t.Memory); err == nil && n > 0 {
		out.MemoryMiB = int64(n)
	}
	changes := map[string]task.ContainerChange{}
	if c != nil {
		out.KnownStatus = c.Status
		out.PullStartedAt, out.PullStoppedAt, out.ExecutionStoppedAt = c.PullStartedAt, c.PullStoppedAt, c.ExecutionStoppedAt
		for _, cc := range c.Containers {
			changes[cc.Name] = cc
		}
	}
	for _, cd := range d.ContainerDefinitions {
		name := ptr.Value(cd.Name)
		ec := endpoint.Container{EndpointID: e.id(t.TaskARN, name), Name: name, Image: ptr.Value(cd.Image),
			DesiredStatus: t.DesiredStatus, KnownStatus: "PENDING", CPU: int64(ptr.Value(cd.Cpu)), Labels: cd.DockerLabels}
		if cd.Memory != nil {
			ec.MemoryMiB = int64(*cd.Memory)
		} else if cd.MemoryReservation != nil {
			ec.MemoryMiB = int64(*cd.MemoryReservation)
		}
		for _, ac := range t.Containers {
			if ac.Name == name {
				ec.ContainerARN = ac.ContainerARN
			}
		}
		if lc := cd.LogConfiguration; lc != nil {
			ec.LogDriver, ec.LogOptions = ptr.Value(lc.LogDriver), lc.Options
		}
		if cc, ok := changes[name]; ok {
			ec.DockerID, ec.KnownStatus, ec.ExitCode = cc.RuntimeID, cc.Status, cc.ExitCode
			ec.ImageID = cc.ImageDigest
			for _, b := range cc.NetworkBindings {
				ec.Ports = append(ec.Ports, endpoint.Port{ContainerPort: uint16(b.ContainerPort), HostPort: uint16(b.HostPort), Protocol: b.Protocol, HostIP: b.BindIP})
			}
			if cd.HealthCheck != nil {
				ec.Health = &endpoint.Health{Status: string(cc.Health)}
			}
		}
		mode := ptr.Value(d.NetworkMode)
		if mode == "" {
			mode = "bridge"
		}
		if eni := t.ENI; eni != nil {
			idx := 0
			ec.Networks = []endpoint.Network{{NetworkMode: "awsvpc", IPv4Addresses: []string{eni.PrivateIPv4}, AttachmentIndex: &idx,
				MACAddress: eni.MACAddress, IPv4SubnetCIDRBlock: eni.SubnetCIDR, PrivateDNSName: eni.PrivateDNSName,
				SubnetGatewayIPv4Address: gatewayCIDR(eni.Gateway, eni.SubnetCIDR)}}
		} else {
			ec.Networks = []endpoint.Network{{NetworkMode: mode}}
		}
		out.Containers = append(out.Containers, ec)
	}
	return out
}

// gatewayCIDR writes the gateway as ECS does: "10.0.2.1/24".
func gatewayCIDR(gw, subnet string) string {
	if _, bits, ok := strings.Cut(subnet, "/"); ok && gw != "" {
		return gw + "/" + bits
	}
	return gw
}

// clusterOf is the cluster name in a task ARN
// (arn:aws:ecs:REGION:ACCOUNT:task/CLUSTER/ID).
func clusterOf(taskARN string) string {
	_, res, _ := strings.Cut(taskARN, ":task/")
	cluster, _, _ := strings.Cut(res, "/")
	return cluster
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
