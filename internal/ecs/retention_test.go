package ecs

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api/ecsapi"
	"github.com/wharfhq/wharf/internal/ptr"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/sqlite"
	"github.com/wharfhq/wharf/internal/tenancy"
)

func TestRetentionDueTasks(t *testing.T) {
	stopped := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	const retention = time.Hour
	cases := []struct {
		name string
		task taskRec
		now  time.Time
		due  bool
	}{
		{"running", taskRec{LastStatus: taskRunning}, stopped.Add(10 * retention), false},
		{"stopping, not yet stopped", taskRec{LastStatus: "DEACTIVATING", DesiredStatus: taskStopped, Stopping: &stopped}, stopped.Add(10 * retention), false},
		{"stopped just now", taskRec{LastStatus: taskStopped, Stopped: &stopped}, stopped, false},
		{"a nanosecond before the retention ends", taskRec{LastStatus: taskStopped, Stopped: &stopped}, stopped.Add(retention - 1), false},
		{"exactly at the retention", taskRec{LastStatus: taskStopped, Stopped: &stopped}, stopped.Add(retention), true},
		{"long after", taskRec{LastStatus: taskStopped, Stopped: &stopped}, stopped.Add(48 * time.Hour), true},
		{"clock behind the stop", taskRec{LastStatus: taskStopped, Stopped: &stopped}, stopped.Add(-time.Hour), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := dueTasks([]taskRec{c.task}, c.now, retention)
			if (len(got) == 1) != c.due {
				t.Errorf("due = %v, want %v", len(got) == 1, c.due)
			}
			// The sweep deletes exactly what the API stops serving.
			s := &Service{now: func() time.Time { return c.now }, retention: retention}
			if c.task.Stopped != nil && s.visible(&c.task) == c.due {
				t.Errorf("visible = %v while due = %v", s.visible(&c.task), c.due)
			}
		})
	}
}

// clock is a fake clock tests move by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type retentionHarness struct {
	t     *testing.T
	st    store.Store
	s     *Service
	clock *clock
}

func newRetentionHarness(t *testing.T, retention time.Duration) *retentionHarness {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "wharf.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c := &clock{now: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	return &retentionHarness{t: t, st: st, clock: c, s: New(st, Options{Now: c.Now, StoppedTaskRetention: retention})}
}

// tenant creates a cluster "c" with one instance and a task definition in
// the tenant (account, region) and returns its context.
func (h *retentionHarness) tenant(account, region string) context.Context {
	h.t.Helper()
	ctx := tenancy.With(context.Background(), account, region)
	if _, err := h.s.CreateCluster(ctx, &ecsapi.CreateClusterRequest{ClusterName: ptr.To("c")}); err != nil {
		h.t.Fatal(err)
	}
	_, err := h.s.RegisterContainerInstance(ctx, &ecsapi.RegisterContainerInstanceRequest{Cluster: ptr.To("c"),
		InstanceIdentityDocument: ptr.To(`{"instanceId":"i-00000000000000001","availabilityZone":"` + region + `a"}`),
		TotalResources: []ecsapi.Resource{
			{Name: ptr.To("CPU"), Type: ptr.To("INTEGER"), IntegerValue: ptr.To(int32(4096))},
			{Name: ptr.To("MEMORY"), Type: ptr.To("INTEGER"), IntegerValue: ptr.To(int32(8192))}}})
	if err != nil {
		h.t.Fatal(err)
	}
	_, err = h.s.RegisterTaskDefinition(ctx, &ecsapi.RegisterTaskDefinitionRequest{Family: ptr.To("f"),
		ContainerDefinitions: []ecsapi.ContainerDefinition{{Name: ptr.To("a"), Image: ptr.To("i"), Cpu: ptr.To(int32(128)), Memory: ptr.To(int32(128))}}})
	if err != nil {
		h.t.Fatal(err)
	}
	return ctx
}

func (h *retentionHarness) run(ctx context.Context, token string) string {
	h.t.Helper()
	in := &ecsapi.RunTaskRequest{Cluster: ptr.To("c"), TaskDefinition: ptr.To("f")}
	if token != "" {
		in.ClientToken = ptr.To(token)
	}
	out, err := h.s.RunTask(ctx, in)
	if err != nil {
		h.t.Fatal(err)
	}
	if len(out.Tasks) != 1 {
		h.t.Fatalf("RunTask = %d tasks, failures %+v", len(out.Tasks), out.Failures)
	}
	return ptr.Value(out.Tasks[0].TaskArn)
}

func (h *retentionHarness) stop(ctx context.Context, arn string) {
	h.t.Helper()
	out, err := h.s.StopTask(ctx, &ecsapi.StopTaskRequest{Cluster: ptr.To("c"), Task: ptr.To(arn)})
	if err != nil {
		h.t.Fatal(err)
	}
	if ptr.Value(out.Task.LastStatus) != taskStopped {
		h.t.Fatalf("StopTask left the task %s", ptr.Value(out.Task.LastStatus))
	}
}

func (h *retentionHarness) sweep(want int) {
	h.t.Helper()
	n, err := h.s.SweepStoppedTasks(context.Background(), h.clock.Now())
	if err != nil {
		h.t.Fatal(err)
	}
	if n != want {
		h.t.Errorf("swept %d tasks, want %d", n, want)
	}
}

// stored reports whether the task record of arn is in the store.
func (h *retentionHarness) stored(ctx context.Context, arn string) bool {
	h.t.Helper()
	id := arn[len(arn)-32:]
	var found bool
	err := h.st.View(ctx, func(tx store.Tx) error {
		_, err := tx.Get(tblECS, taskKey("c", id))
		found = err == nil
		if isNotFound(err) {
			return nil
		}
		return err
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return found
}

func (h *retentionHarness) tenants() []string {
	h.t.Helper()
	var keys []string
	err := h.st.View(context.Background(), func(tx store.Tx) error {
		items, err := tx.Scan(tblTenants, "", "", 0)
		for _, it := range items {
			keys = append(keys, it.Key)
		}
		return err
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return keys
}

func TestRetentionSweepAtTheBoundary(t *testing.T) {
	h := newRetentionHarness(t, 30*time.Minute)
	ctx := h.tenant("123456789012", "us-east-1")
	old, recent, running := h.run(ctx, ""), h.run(ctx, ""), h.run(ctx, "")
	h.stop(ctx, old)
	h.clock.Add(10 * time.Minute)
	h.stop(ctx, recent)

	h.clock.Add(20*time.Minute - time.Millisecond) // old: 1ms short of the retention
	h.sweep(0)
	h.clock.Add(time.Millisecond) // old: exactly at it
	h.sweep(1)
	if h.stored(ctx, old) || !h.stored(ctx, recent) || !h.stored(ctx, running) {
		t.Errorf("stored old/recent/running = %v/%v/%v, want false/true/true", h.stored(ctx, old), h.stored(ctx, recent), h.stored(ctx, running))
	}
	h.clock.Add(10 * time.Minute)
	h.sweep(1)
	h.sweep(0)
	d, err := h.s.DescribeTasks(ctx, &ecsapi.DescribeTasksRequest{Cluster: ptr.To("c"), Tasks: []string{old, recent, running}})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Tasks) != 1 || ptr.Value(d.Tasks[0].TaskArn) != running || len(d.Failures) != 2 ||
		ptr.Value(d.Failures[0].Reason) != "MISSING" || ptr.Value(d.Failures[1].Reason) != "MISSING" {
		t.Errorf("DescribeTasks = %d tasks, failures %+v", len(d.Tasks), d.Failures)
	}
	l, err := h.s.ListTasks(ctx, &ecsapi.ListTasksRequest{Cluster: ptr.To("c"), DesiredStatus: ptr.To(taskStopped)})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.TaskArns) != 0 {
		t.Errorf("ListTasks STOPPED = %v, want none", l.TaskArns)
	}
	if got := h.tenants(); len(got) != 1 {
		t.Errorf("tenant index = %v, want the one tenant (it still has a task)", got)
	}
}

func TestRetentionSweepTenantsIsolated(t *testing.T) {
	h := newRetentionHarness(t, time.Hour)
	a := h.tenant("111111111111", "us-east-1")
	b := h.tenant("222222222222", "us-east-1")
	a2 := h.tenant("111111111111", "eu-west-1")
	ta, tb, ta2 := h.run(a, ""), h.run(b, ""), h.run(a2, "")
	h.stop(a, ta)
	h.stop(a2, ta2)
	h.clock.Add(30 * time.Minute)
	h.stop(b, tb)
	h.clock.Add(30 * time.Minute)

	h.sweep(2) // a's and a2's tasks; b's has 30 minutes to go
	if h.stored(a, ta) || h.stored(a2, ta2) || !h.stored(b, tb) {
		t.Errorf("stored a/a2/b = %v/%v/%v, want false/false/true", h.stored(a, ta), h.stored(a2, ta2), h.stored(b, tb))
	}
	if got := h.tenants(); len(got) != 1 || got[0] != "222222222222/us-east-1" {
		t.Errorf("tenant index = %v, want only b: the others have no task left", got)
	}
	// A tenant dropped from the index is back with its next task.
	h.stop(a, h.run(a, ""))
	if got := h.tenants(); len(got) != 2 {
		t.Errorf("tenant index = %v, want a and b", got)
	}
	h.clock.Add(time.Hour)
	h.sweep(2)
	if got := h.tenants(); len(got) != 0 {
		t.Errorf("tenant index = %v, want empty", got)
	}
}

func TestRetentionSweepClientToken(t *testing.T) {
	h := newRetentionHarness(t, time.Hour)
	ctx := h.tenant("123456789012", "us-east-1")
	first := h.run(ctx, "tok")
	if again := h.run(ctx, "tok"); again != first {
		t.Fatalf("RunTask with the same token = %s, want %s", again, first)
	}
	other := h.run(ctx, "other")
	h.stop(ctx, first)
	h.clock.Add(time.Hour)
	h.sweep(1)

	// The token went with its task: the same token starts a new task, and
	// the other token's task is untouched.
	second := h.run(ctx, "tok")
	if second == first {
		t.Fatalf("RunTask with the swept token answered the deleted task")
	}
	if again := h.run(ctx, "other"); again != other {
		t.Errorf("RunTask with the other token = %s, want %s", again, other)
	}
	d, err := h.s.DescribeTasks(ctx, &ecsapi.DescribeTasksRequest{Cluster: ptr.To("c"), Tasks: []string{second, other}})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Tasks) != 2 || len(d.Failures) != 0 {
		t.Errorf("DescribeTasks = %d tasks, failures %+v", len(d.Tasks), d.Failures)
	}
}

func TestRetentionSweepManyBatches(t *testing.T) {
	h := newRetentionHarness(t, time.Hour)
	ctx := h.tenant("123456789012", "us-east-1")
	// Write the records directly: sweepBatch+ tasks through RunTask would
	// need an instance that large.
	stopped := h.clock.Now()
	const n = 2*sweepBatch + 3
	err := h.st.Update(ctx, func(tx store.Tx) error {
		for i := range n {
			tk := taskRec{Layout: layoutVersion, ID: newID(), Cluster: "c", LastStatus: taskStopped, DesiredStatus: taskStopped, Stopped: &stopped}
			if i%2 == 0 {
				tk.LastStatus, tk.DesiredStatus, tk.Stopped = taskRunning, taskRunning, nil
			}
			if err := putJSON(tx, taskKey("c", tk.ID), &tk); err != nil {
				return err
			}
		}
		return indexTenant(ctx, tx)
	})
	if err != nil {
		t.Fatal(err)
	}
	h.clock.Add(time.Hour)
	h.sweep(n / 2)
	err = h.st.View(ctx, func(tx store.Tx) error {
		left, err := tx.Count(tblECS, "task/")
		if left != n-n/2 {
			t.Errorf("%d tasks left, want %d", left, n-n/2)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
