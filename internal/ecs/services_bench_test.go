package ecs

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api/ecsapi"
	"github.com/wharfhq/wharf/internal/ptr"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/sqlite"
	"github.com/wharfhq/wharf/internal/tenancy"
)

// runAllTasks plays every agent at once: each task desired RUNNING and not
// yet running is marked RUNNING (its instance's counts too), each task
// desired STOPPED is marked STOPPED. It writes the store directly, as
// SubmitTaskStateChange would, one transaction per cluster.
func runAllTasks(b testing.TB, s *Service, ctx context.Context, cluster string) {
	b.Helper()
	now := s.stamp()
	err := s.update(ctx, func(tx store.Tx) error {
		items, err := tx.Scan(tblECS, taskPrefix(cluster), "", 0)
		if err != nil {
			return err
		}
		insts := map[string]*instanceRec{}
		for _, it := range items {
			t, err := decode[taskRec](it)
			if err != nil {
				return err
			}
			to := taskRunning
			if t.DesiredStatus == taskStopped {
				to = taskStopped
			}
			wasRunning, moved := advance(&t, to, now)
			if !moved && t.LastStatus == to {
				continue
			}
			if moved && t.Instance != "" {
				in := insts[t.Instance]
				if in == nil {
					in = &instanceRec{}
					if _, err := getJSON(tx, instanceKey(cluster, t.Instance), in); err != nil {
						return err
					}
					insts[t.Instance] = in
				}
				settle(in, &t, wasRunning)
			}
			if err := putJSON(tx, it.Key, &t); err != nil {
				return err
			}
		}
		for id, in := range insts {
			if err := putJSON(tx, instanceKey(cluster, id), in); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkReconcileServices measures one scheduler pass over 1,000
// services of 10 tasks each (10,000 tasks on 100 simulated instances),
// once every task runs: the steady state the loop spends its life in. It
// also reports how long the first pass took (10,000 placements and task
// creations) and how many passes reaching the steady state took.
func BenchmarkReconcileServices(b *testing.B) {
	const services, perService, instances = 1000, 10, 100
	st, err := sqlite.Open(filepath.Join(b.TempDir(), "wharf.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	s := New(st, Options{})
	ctx := tenancy.With(context.Background(), "123456789012", "us-east-1")
	if _, err := s.CreateCluster(ctx, &ecsapi.CreateClusterRequest{ClusterName: ptr.To("bench")}); err != nil {
		b.Fatal(err)
	}
	for i := range instances {
		_, err := s.RegisterContainerInstance(ctx, &ecsapi.RegisterContainerInstanceRequest{Cluster: ptr.To("bench"),
			InstanceIdentityDocument: ptr.To(fmt.Sprintf(`{"instanceId":"i-%017d","availabilityZone":"us-east-1%c"}`, i, 'a'+rune(i%3))),
			TotalResources: []ecsapi.Resource{
				{Name: ptr.To("CPU"), Type: ptr.To("INTEGER"), IntegerValue: ptr.To(int32(1 << 24))},
				{Name: ptr.To("MEMORY"), Type: ptr.To("INTEGER"), IntegerValue: ptr.To(int32(1 << 30))}}})
		if err != nil {
			b.Fatal(err)
		}
	}
	if _, err := s.RegisterTaskDefinition(ctx, &ecsapi.RegisterTaskDefinitionRequest{Family: ptr.To("w"),
		ContainerDefinitions: []ecsapi.ContainerDefinition{{Name: ptr.To("w"), Image: ptr.To("busybox"), Cpu: ptr.To(int32(1)), Memory: ptr.To(int32(8))}}}); err != nil {
		b.Fatal(err)
	}
	for i := range services {
		if _, err := s.CreateService(ctx, &ecsapi.CreateServiceRequest{Cluster: ptr.To("bench"), ServiceName: ptr.To(fmt.Sprintf("svc-%04d", i)),
			TaskDefinition: ptr.To("w"), DesiredCount: ptr.To(int32(perService))}); err != nil {
			b.Fatal(err)
		}
	}
	l := s.NewServiceScheduler(time.Second) // not started: the benchmark drives its passes
	t0 := time.Now()
	stats, err := l.ReconcileServices(ctx, time.Now())
	first := time.Since(t0)
	if err != nil || stats.Started != services*perService {
		b.Fatalf("first pass: %+v %v", stats, err)
	}
	runAllTasks(b, s, ctx, "bench")
	passes := 1
	for passes < 10 {
		passes++
		stats, err = l.ReconcileServices(ctx, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		if stats.Started+stats.Stopped == 0 {
			break
		}
	}
	steady := 0
	err = s.view(ctx, func(tx store.Tx) error {
		recs, err := scanAll[serviceRec](tx, servicePrefix("bench"))
		for _, r := range recs {
			if r.Steady {
				steady++
			}
		}
		return err
	})
	if err != nil || steady != services {
		b.Fatalf("%d of %d services steady: %v", steady, services, err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := l.ReconcileServices(ctx, time.Now()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/pass")
	b.ReportMetric(float64(first.Milliseconds()), "first-pass-ms")
	b.ReportMetric(float64(passes), "passes-to-steady")
}

// BenchmarkRollingUpdate10 measures a rolling update (100/200) of a
// 10-task service from UpdateService to the deployment's COMPLETED, with
// agents that report every change at once between two passes: it reports
// the scheduler passes it took (with the 1 s loop, the seconds it takes
// beyond the agents' own start time) and the control plane's time.
func BenchmarkRollingUpdate10(b *testing.B) {
	st, err := sqlite.Open(filepath.Join(b.TempDir(), "wharf.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	s := New(st, Options{})
	ctx := tenancy.With(context.Background(), "123456789012", "us-east-1")
	s.CreateCluster(ctx, &ecsapi.CreateClusterRequest{ClusterName: ptr.To("roll")})
	for i := range 3 {
		if _, err := s.RegisterContainerInstance(ctx, &ecsapi.RegisterContainerInstanceRequest{Cluster: ptr.To("roll"),
			InstanceIdentityDocument: ptr.To(fmt.Sprintf(`{"instanceId":"i-%017d","availabilityZone":"us-east-1%c"}`, i, 'a'+rune(i))),
			TotalResources: []ecsapi.Resource{
				{Name: ptr.To("CPU"), Type: ptr.To("INTEGER"), IntegerValue: ptr.To(int32(1 << 20))},
				{Name: ptr.To("MEMORY"), Type: ptr.To("INTEGER"), IntegerValue: ptr.To(int32(1 << 20))}}}); err != nil {
			b.Fatal(err)
		}
	}
	s.RegisterTaskDefinition(ctx, &ecsapi.RegisterTaskDefinitionRequest{Family: ptr.To("w"),
		ContainerDefinitions: []ecsapi.ContainerDefinition{{Name: ptr.To("w"), Image: ptr.To("busybox"), Cpu: ptr.To(int32(1)), Memory: ptr.To(int32(8))}}})
	if _, err := s.CreateService(ctx, &ecsapi.CreateServiceRequest{Cluster: ptr.To("roll"), ServiceName: ptr.To("web"),
		TaskDefinition: ptr.To("w"), DesiredCount: ptr.To(int32(10))}); err != nil {
		b.Fatal(err)
	}
	l := s.NewServiceScheduler(time.Second)
	// untilCompleted runs passes, the agents acting after each, until the
	// primary deployment is COMPLETED; it returns the passes taken.
	untilCompleted := func() int {
		for n := 1; n <= 100; n++ {
			if _, err := l.ReconcileServices(ctx, time.Now()); err != nil {
				b.Fatal(err)
			}
			var r serviceRec
			if err := s.view(ctx, func(tx store.Tx) error { _, err := getJSON(tx, serviceKey("roll", "web"), &r); return err }); err != nil {
				b.Fatal(err)
			}
			if r.Deployments[0].RolloutState == "COMPLETED" {
				return n
			}
			runAllTasks(b, s, ctx, "roll")
		}
		b.Fatal("no COMPLETED in 100 passes")
		return 0
	}
	untilCompleted()
	passes := 0
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.UpdateService(ctx, &ecsapi.UpdateServiceRequest{Cluster: ptr.To("roll"), Service: ptr.To("web"),
			ForceNewDeployment: ptr.To(true)}); err != nil {
			b.Fatal(err)
		}
		passes += untilCompleted()
	}
	b.ReportMetric(float64(passes)/float64(b.N), "passes")
}
