package ecs

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/wharfhq/wharf/api/ecsapi"
	"github.com/wharfhq/wharf/internal/ptr"
)

// promValue is the value of the series name{labels} gathered from reg; it
// fails the test when there is no such series.
func promValue(t testing.TB, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			for k, v := range labels {
				if have[k] != v {
					continue next
				}
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no series %s%v", name, labels)
	return 0
}

func TestCollectorFollowsState(t *testing.T) {
	s, _, ctx := agentTestService(t, Options{})
	if _, err := s.CreateCluster(ctx, &ecsapi.CreateClusterRequest{ClusterName: ptr.To("web")}); err != nil {
		t.Fatal(err)
	}
	var instances []string
	for i := range 2 {
		out, err := s.RegisterContainerInstance(ctx, &ecsapi.RegisterContainerInstanceRequest{Cluster: ptr.To("web"),
			InstanceIdentityDocument: ptr.To(fmt.Sprintf(`{"instanceId":"i-%017d"}`, i)),
			TotalResources: []ecsapi.Resource{{Name: ptr.To("CPU"), Type: ptr.To("INTEGER"), IntegerValue: ptr.To(int32(2048))},
				{Name: ptr.To("MEMORY"), Type: ptr.To("INTEGER"), IntegerValue: ptr.To(int32(4096))}}})
		if err != nil {
			t.Fatal(err)
		}
		instances = append(instances, ptr.Value(out.ContainerInstance.ContainerInstanceArn))
	}
	if _, err := s.RegisterTaskDefinition(ctx, &ecsapi.RegisterTaskDefinitionRequest{Family: ptr.To("w"),
		ContainerDefinitions: []ecsapi.ContainerDefinition{{Name: ptr.To("a"), Image: ptr.To("busybox"), Cpu: ptr.To(int32(256)),
			Memory: ptr.To(int32(512)), Essential: ptr.To(true)}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateService(ctx, &ecsapi.CreateServiceRequest{Cluster: ptr.To("web"), ServiceName: ptr.To("api"),
		TaskDefinition: ptr.To("w"), DesiredCount: ptr.To(int32(3))}); err != nil {
		t.Fatal(err)
	}
	l := s.NewServiceScheduler(time.Second) // not started: the test drives its passes
	c := NewCollector(s, l)
	c.age = 0 // every gather reads the state again
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	// A pass publishes the counts it read before acting: the second of
	// two passes publishes what the first did.
	pass := func() {
		t.Helper()
		for range 2 {
			if _, err := l.ReconcileServices(ctx, s.now()); err != nil {
				t.Fatal(err)
			}
		}
	}
	svc := map[string]string{"account": "123456789012", "region": "us-east-1", "cluster": "web", "service": "api"}
	cl := map[string]string{"account": "123456789012", "region": "us-east-1", "cluster": "web"}
	with := func(m map[string]string, kv ...string) map[string]string {
		out := map[string]string{}
		for k, v := range m {
			out[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	expect := func(name string, labels map[string]string, want float64) {
		t.Helper()
		if got := promValue(t, reg, name, labels); got != want {
			t.Errorf("%s%v = %v, want %v", name, labels, got, want)
		}
	}

	// The first pass starts 3 tasks: pending.
	pass()
	expect("wharf_ecs_service_desired_tasks", svc, 3)
	expect("wharf_ecs_service_pending_tasks", svc, 3)
	expect("wharf_ecs_service_running_tasks", svc, 0)
	expect("wharf_ecs_service_deployments", svc, 1)
	expect("wharf_ecs_service_steady_state", svc, 0)
	expect("wharf_ecs_cluster_active_services", cl, 1)
	expect("wharf_ecs_cluster_container_instances", with(cl, "status", "ACTIVE"), 2)
	expect("wharf_ecs_cluster_connected_container_instances", cl, 2)
	expect("wharf_ecs_cluster_tasks", with(cl, "launch_type", "EC2", "status", "PENDING"), 3)
	expect("wharf_ecs_cluster_tasks", with(cl, "launch_type", "EC2", "status", "RUNNING"), 0)
	expect("wharf_ecs_cluster_cpu_units", with(cl, "kind", "registered"), 4096)
	expect("wharf_ecs_cluster_cpu_units", with(cl, "kind", "remaining"), 4096-3*256)
	expect("wharf_ecs_cluster_memory_bytes", with(cl, "kind", "registered"), 8192<<20)
	expect("wharf_ecs_cluster_memory_bytes", with(cl, "kind", "remaining"), (8192-3*512)<<20)

	// The agents run them.
	runAllTasks(t, s, ctx, "web")
	pass()
	expect("wharf_ecs_service_running_tasks", svc, 3)
	expect("wharf_ecs_service_pending_tasks", svc, 0)
	expect("wharf_ecs_service_steady_state", svc, 1)
	expect("wharf_ecs_cluster_tasks", with(cl, "launch_type", "EC2", "status", "RUNNING"), 3)
	expect("wharf_ecs_cluster_tasks", with(cl, "launch_type", "EC2", "status", "PENDING"), 0)

	// Scale in to 1; the scheduler stops 2, the agents report them stopped.
	if _, err := s.UpdateService(ctx, &ecsapi.UpdateServiceRequest{Cluster: ptr.To("web"), Service: ptr.To("api"),
		DesiredCount: ptr.To(int32(1))}); err != nil {
		t.Fatal(err)
	}
	pass()
	runAllTasks(t, s, ctx, "web")
	pass()
	expect("wharf_ecs_service_desired_tasks", svc, 1)
	expect("wharf_ecs_service_running_tasks", svc, 1)
	expect("wharf_ecs_cluster_tasks", with(cl, "launch_type", "EC2", "status", "RUNNING"), 1)
	expect("wharf_ecs_cluster_cpu_units", with(cl, "kind", "remaining"), 4096-256)

	// Draining an instance.
	if _, err := s.UpdateContainerInstancesState(ctx, &ecsapi.UpdateContainerInstancesStateRequest{Cluster: ptr.To("web"),
		ContainerInstances: instances[:1], Status: ptr.To("DRAINING")}); err != nil {
		t.Fatal(err)
	}
	expect("wharf_ecs_cluster_container_instances", with(cl, "status", "ACTIVE"), 1)
	expect("wharf_ecs_cluster_container_instances", with(cl, "status", "DRAINING"), 1)

	// A FARGATE task in the default cluster: pending on the managed queue.
	fargateDef(t, s, ctx)
	if _, err := runFargate(ctx, s); err != nil {
		t.Fatal(err)
	}
	def := map[string]string{"account": "123456789012", "region": "us-east-1", "cluster": "default"}
	expect("wharf_ecs_cluster_tasks", with(def, "launch_type", "FARGATE", "status", "PENDING"), 1)
	expect("wharf_ecs_cluster_tasks", with(def, "launch_type", "FARGATE", "status", "RUNNING"), 0)

	// Deleting the service removes its series once the scheduler passed.
	if _, err := s.DeleteService(ctx, &ecsapi.DeleteServiceRequest{Cluster: ptr.To("web"), Service: ptr.To("api"), Force: ptr.To(true)}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		pass()
		runAllTasks(t, s, ctx, "web")
	}
	if n := testutil.CollectAndCount(c, "wharf_ecs_service_desired_tasks"); n != 0 {
		t.Errorf("%d wharf_ecs_service_desired_tasks series after DeleteService, want 0", n)
	}
	if problems, err := testutil.CollectAndLint(c); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %+v", err, problems)
	}
}
