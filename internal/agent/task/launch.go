package task

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/wharfhq/wharf/internal/runtime"
)

// imageInspector gives an image's digest (internal/runtime/docker.Client
// has it); without it, containers report no imageDigest.
type imageInspector interface {
	ImageDigest(ctx context.Context, ref string) (string, error)
}

// adopt finds the task's containers left by a previous agent process and
// takes their state without restarting them; containers of the plan that
// were never created are created now. It reports whether any existed.
func (r *runner) adopt(ctx context.Context) (bool, error) {
	rt := r.m.cfg.Runtime
	found, err := rt.ListContainers(ctx, map[string]string{LabelTaskARN: r.task.TaskARN, LabelInstance: r.m.cfg.Host.InstanceID})
	if err != nil || len(found) == 0 {
		return false, err
	}
	if r.task.DesiredStatus == StatusStopped {
		// The stop was asked for: its reason wins over what the
		// containers' exits (from that stop) would say.
		r.beginStop(orStr(r.task.StopCode, StopUserInitiated), orStr(r.task.StoppedReason, defaultStoppedReason))
	}
	for _, s := range found {
		name := s.Labels[LabelContainerName]
		if name == PauseContainerName {
			r.pauseID = s.ID
			continue
		}
		c := r.ctrs[name]
		if c == nil {
			continue
		}
		st, err := rt.InspectContainer(ctx, s.ID)
		if err != nil {
			continue
		}
		c.id = s.ID
		r.byID[s.ID] = c
		c.digest = r.digest(ctx, c.plan.Spec.Image)
		r.observe(c, st)
	}
	if r.status == StatusPending && !r.stopping {
		// Containers the previous process had not created yet.
		var missing []*ctr
		for _, p := range r.plan.Containers {
			if c := r.ctrs[p.Name]; c.id == "" {
				missing = append(missing, c)
			}
		}
		if len(missing) > 0 && r.task.DesiredStatus != StatusStopped {
			r.prepare(ctx, missing)
		}
	}
	return true, nil
}

// launch pulls the images, makes the network, volumes and containers;
// step then starts them in dependsOn order. A failure begins the stop.
func (r *runner) launch(ctx context.Context) {
	all := make([]*ctr, 0, len(r.plan.Containers))
	for _, p := range r.plan.Containers {
		all = append(all, r.ctrs[p.Name])
	}
	r.prepare(ctx, all)
}

// prepare pulls the images of cs, then creates the task's network, pause
// container and volumes (when missing) and cs.
func (r *runner) prepare(ctx context.Context, cs []*ctr) {
	rt := r.m.cfg.Runtime
	// The task network and the pause container need nothing pulled: make
	// them while the images are pulled, which is most of a start. The
	// task's containers join the pause container's namespace, so they can
	// be created once it exists, while it starts.
	type pauseResult struct {
		id     string
		reason string
	}
	var pauseCreated, pauseDone chan pauseResult
	p := r.plan.Pause
	if p != nil && r.pauseID == "" || p == nil && r.plan.Network != nil {
		pauseCreated, pauseDone = make(chan pauseResult, 1), make(chan pauseResult, 1)
		go func() {
			if err := r.ensureNetwork(ctx); err != nil {
				res := pauseResult{reason: "CannotCreateContainerError: task network: " + err.Error()}
				pauseCreated <- res
				pauseDone <- res
				return
			}
			if p == nil { // a one-container awsvpc task: no pause container
				pauseCreated <- pauseResult{}
				pauseDone <- pauseResult{}
				return
			}
			id, err := rt.CreateContainer(ctx, *p)
			if err != nil {
				res := pauseResult{reason: "CannotStartContainerError: pause container: " + engineMessage(err)}
				pauseCreated <- res
				pauseDone <- res
				return
			}
			pauseCreated <- pauseResult{id: id}
			if err := rt.StartContainer(ctx, id); err != nil {
				pauseDone <- pauseResult{id: id, reason: "CannotStartContainerError: pause container: " + engineMessage(err)}
				return
			}
			pauseDone <- pauseResult{id: id}
		}()
	}
	// pauseWait waits for the pause container to be created (or, with
	// started, running); it returns why it failed ("" when it is fine or
	// there is none).
	pauseWait := func(started bool) string {
		if pauseCreated != nil {
			res := <-pauseCreated
			pauseCreated = nil
			if res.id != "" {
				r.pauseID = res.id
			}
			if res.reason != "" {
				<-pauseDone
				pauseDone = nil
				return res.reason
			}
		}
		if started && pauseDone != nil {
			res := <-pauseDone
			pauseDone = nil
			return res.reason
		}
		return ""
	}
	pauseReady := func() string { return pauseWait(true) }
	env, err := r.envFiles(ctx, cs)
	if err != nil {
		reason := "ResourceInitializationError: failed to download env files: " + err.Error()
		pauseReady()
		r.beginStop(StopFailedToStart, reason)
		return
	}
	images := map[string]bool{}
	for _, c := range cs {
		img := c.plan.Spec.Image
		if images[img] {
			continue
		}
		images[img] = true
		if err := r.pull(ctx, img); err != nil {
			var pe *runtime.PullError
			reason := "CannotPullContainerError: " + err.Error()
			if errors.As(err, &pe) {
				reason = pe.StoppedReason()
			}
			for _, c2 := range cs {
				if c2.plan.Spec.Image == img {
					c2.reason = reason
				}
			}
			r.pullStopped = r.now()
			pauseReady()
			r.beginStop(StopFailedToStart, reason)
			return
		}
	}
	if !r.pullStarted.IsZero() {
		r.pullStopped = r.now()
	}
	for _, c := range cs {
		c.digest = r.digest(ctx, c.plan.Spec.Image)
	}
	if reason := pauseWait(false); reason != "" {
		r.beginStop(StopFailedToStart, reason)
		return
	}
	for _, v := range r.plan.Volumes {
		if err := rt.CreateVolume(ctx, v.Spec); err != nil {
			pauseReady()
			r.beginStop(StopFailedToStart, fmt.Sprintf("CannotCreateContainerError: volume %s: %v", v.Spec.Name, err))
			return
		}
	}
	for _, c := range cs {
		spec := c.plan.Spec
		if files := env[c.plan.Name]; len(files) > 0 {
			spec.Environment = MergeEnvFiles(spec.Environment, files)
		}
		id, err := rt.CreateContainer(ctx, spec)
		if err != nil {
			pauseReady()
			c.phase, c.reason = PhaseStopped, "CannotCreateContainerError: "+engineMessage(err)
			r.beginStop(StopFailedToStart, c.reason)
			return
		}
		c.id, c.phase = id, PhaseWaiting
		r.byID[id] = c
	}
	// The task's containers start (in step) only once the namespace they
	// join is running.
	if reason := pauseReady(); reason != "" {
		r.beginStop(StopFailedToStart, reason)
	}
}

// envFiles downloads and parses the environment files of cs, by
// container name, each container's in the definition's order. A file two
// containers list is downloaded once.
func (r *runner) envFiles(ctx context.Context, cs []*ctr) (map[string][]map[string]string, error) {
	out := map[string][]map[string]string{}
	got := map[string]map[string]string{}
	for _, c := range cs {
		for _, ref := range c.plan.EnvFiles {
			vars, ok := got[ref.ARN]
			if !ok {
				if r.m.cfg.EnvFiles == nil {
					return nil, errors.New(orStr(r.m.cfg.EnvFilesMissing, "this agent has no S3 endpoint to download them from"))
				}
				data, err := r.m.cfg.EnvFiles(ctx, r.plan.TaskARN, ref)
				if err != nil {
					return nil, err
				}
				if vars, err = ParseEnvFile(data); err != nil {
					return nil, fmt.Errorf("env file with key '%s' from bucket '%s': %w", ref.Key, ref.Bucket, err)
				}
				got[ref.ARN] = vars
			}
			out[c.plan.Name] = append(out[c.plan.Name], vars)
		}
	}
	return out, nil
}

// pull gets an image as the pull behaviour says.
func (r *runner) pull(ctx context.Context, img string) error {
	rt := r.m.cfg.Runtime
	behavior := r.m.cfg.PullBehavior
	if behavior == PullOnce || behavior == PullPreferCached {
		if ok, err := rt.ImageExists(ctx, img); err == nil && ok {
			return nil
		}
	}
	var auth *runtime.Auth
	if r.m.cfg.Auth != nil {
		a, err := r.m.cfg.Auth(ctx, r.plan.TaskARN, img)
		if err != nil {
			return &runtime.PullError{Ref: img, Message: "registry credentials: " + err.Error()}
		}
		auth = a
	}
	if r.pullStarted.IsZero() {
		r.pullStarted = r.now()
	}
	err := rt.PullImage(ctx, img, auth, nil)
	if err != nil && behavior == PullDefault {
		if ok, xerr := rt.ImageExists(ctx, img); xerr == nil && ok {
			r.m.log.Warn("pull failed; using the cached image", "image", img, "err", err)
			return nil
		}
	}
	return err
}

func (r *runner) digest(ctx context.Context, img string) string {
	ii, ok := r.m.cfg.Runtime.(imageInspector)
	if !ok {
		return ""
	}
	d, err := ii.ImageDigest(ctx, img)
	if err != nil {
		return ""
	}
	return d
}

// ensureNetwork creates the awsvpc network if it is missing.
func (r *runner) ensureNetwork(ctx context.Context) error {
	rt := r.m.cfg.Runtime
	spec := *r.plan.Network
	has := func() (bool, error) {
		nets, err := rt.ListNetworks(ctx, nil)
		if err != nil {
			return false, err
		}
		for _, n := range nets {
			if n.Name == spec.Name {
				return true, nil
			}
		}
		return false, nil
	}
	if ok, err := has(); err != nil || ok {
		return err
	}
	if _, err := rt.CreateNetwork(ctx, spec); err != nil {
		if ok, _ := has(); ok { // another task made it meanwhile
			return nil
		}
		return err
	}
	return nil
}

// cleanupAfterWait waits CleanupWait, then removes the task's containers
// and task-scoped volumes, reports the task once more with no runtime IDs
// (so the agent can drop what it keeps for it), and forgets the task. An agent stopping first
// leaves them to the next agent process, which adopts the stopped task.
func (r *runner) cleanupAfterWait(ctx context.Context) {
	t := time.NewTimer(r.m.cfg.CleanupWait)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
			r.take() // the task is stopped: nothing to do
			continue
		case <-t.C:
		}
		break
	}
	if err := Cleanup(ctx, r.m.cfg.Runtime, r.m.cfg.Host.InstanceID, r.task.TaskARN); err != nil {
		r.m.log.Warn("task cleanup", "task", r.task.TaskARN, "err", err)
	} else {
		// A last report: the containers are gone (no runtime IDs).
		for _, c := range r.ctrs {
			c.id = ""
		}
		r.report()
	}
	r.m.forget(r.task.TaskARN)
}

// Cleanup removes a stopped task's containers (the pause container too)
// and its task-scoped volumes, found by their labels.
func Cleanup(ctx context.Context, rt runtime.Runtime, instanceID, taskARN string) error {
	labels := map[string]string{LabelTaskARN: taskARN, LabelInstance: instanceID}
	cs, err := rt.ListContainers(ctx, labels)
	if err != nil {
		return err
	}
	var errs []string
	// Task containers before the pause container whose namespace they use.
	for _, pass := range []bool{false, true} {
		for _, c := range cs {
			if (c.Labels[LabelRole] == "pause") != pass {
				continue
			}
			if err := rt.RemoveContainer(ctx, c.ID); err != nil && !errors.Is(err, runtime.ErrNotFound) {
				errs = append(errs, err.Error())
			}
		}
	}
	vols, err := listVolumes(ctx, rt, labels)
	if err != nil {
		errs = append(errs, err.Error())
	}
	for _, v := range vols {
		if err := rt.RemoveVolume(ctx, v); err != nil && !errors.Is(err, runtime.ErrNotFound) {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

// volumeLister lists volumes by label (internal/runtime/docker.Client has
// it).
type volumeLister interface {
	ListVolumes(ctx context.Context, labels map[string]string) ([]string, error)
}

func listVolumes(ctx context.Context, rt runtime.Runtime, labels map[string]string) ([]string, error) {
	vl, ok := rt.(volumeLister)
	if !ok {
		return nil, nil
	}
	return vl.ListVolumes(ctx, labels)
}
