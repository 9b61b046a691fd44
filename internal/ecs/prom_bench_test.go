package ecs

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wharfhq/wharf/api/ecsapi"
	"github.com/wharfhq/wharf/internal/ptr"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/sqlite"
	"github.com/wharfhq/wharf/internal/tenancy"
)

// BenchmarkCollect measures one scrape of the ECS collector at the scale
// target: 10,000 container instances (with the attributes a real agent
// registers) and 100,000 tasks of 1,000 services in one cluster, plus 200
// FARGATE tasks. It reports the first scrape (every instance decoded) as
// cold-ms; ns/op is a scrape once the instance cache is warm. It also
// reports observe-ms, what publishing the per-service counts adds to a
// scheduler pass over those 100,000 tasks.
func BenchmarkCollect(b *testing.B) {
	const nInstances, nServices, perService, nFargate = 10_000, 1_000, 100, 200
	st, err := sqlite.Open(filepath.Join(b.TempDir(), "wharf.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	s := New(st, Options{})
	defer s.StopAgentMonitor()
	ctx := tenancy.With(context.Background(), "123456789012", "us-east-1")
	now := time.Now().UTC()
	res := func(cpu, mem int32) []ecsapi.Resource {
		return []ecsapi.Resource{{Name: ptr.To("CPU"), Type: ptr.To("INTEGER"), IntegerValue: ptr.To(cpu)},
			{Name: ptr.To("MEMORY"), Type: ptr.To("INTEGER"), IntegerValue: ptr.To(mem)}}
	}
	var attrs []kv
	for i := range 40 {
		attrs = append(attrs, kv{Name: fmt.Sprintf("com.amazonaws.ecs.capability.docker-remote-api.1.%d", i)})
	}
	cs := &clusterState{name: "big", tasks: map[string][]taskRec{}}
	err = st.Update(ctx, func(tx store.Tx) error {
		if err := putJSON(tx, clusterKey("big"), &clusterRec{Layout: layoutVersion, Name: "big", Status: statusActive, Created: now}); err != nil {
			return err
		}
		for i := range nInstances {
			id := fmt.Sprintf("%032x", i)
			in := instanceRec{Layout: layoutVersion, ID: id, Cluster: "big", Status: statusActive, Registered: now,
				EC2InstanceID: fmt.Sprintf("i-%017d", i), RegRes: res(4096, 16384), Remaining: res(4096-10*100, 16384-10*256),
				Attributes: attrs, Connected: true, Running: 10, Version: 12}
			if err := putJSON(tx, instanceKey("big", id), &in); err != nil {
				return err
			}
			if err := ensureQueue(tx, ec2Queue(ctx, "big", id)); err != nil {
				return err
			}
		}
		for sv := range nServices {
			name := fmt.Sprintf("svc-%04d", sv)
			r := serviceRec{Layout: layoutVersion, Name: name, Cluster: "big", Status: svcActive, DesiredCount: perService,
				Deployments: []deploymentRec{{ID: newDeploymentID(), Status: "PRIMARY", DesiredCount: perService}}}
			if err := putJSON(tx, serviceKey("big", name), &r); err != nil {
				return err
			}
			cs.services = append(cs.services, r)
			for j := range perService {
				t := taskRec{Layout: layoutVersion, ID: newID(), Cluster: "big", LaunchType: "EC2", Instance: fmt.Sprintf("%032x", (sv*perService+j)%nInstances),
					LastStatus: taskRunning, DesiredStatus: taskRunning, Group: "service:" + name, Created: now,
					Containers: []containerRec{{ID: newID(), Name: "app", Image: "busybox", LastStatus: taskRunning, Essential: true}}}
				if err := putJSON(tx, taskKey("big", t.ID), &t); err != nil {
					return err
				}
				cs.tasks[t.Group] = append(cs.tasks[t.Group], t)
			}
		}
		for range nFargate {
			t := taskRec{Layout: layoutVersion, ID: newID(), Cluster: "big", LaunchType: "FARGATE", LastStatus: taskRunning,
				DesiredStatus: taskRunning, Created: now}
			if err := putJSON(tx, taskKey("big", t.ID), &t); err != nil {
				return err
			}
			q, _ := taskQueue(ctx, &t)
			if err := enqueue(tx, q, &t); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	l := s.NewServiceScheduler(time.Second)
	t0 := time.Now()
	l.cache.stats.observe("123456789012/us-east-1", cs)
	l.cache.stats.publish()
	observe := time.Since(t0)

	c := NewCollector(s, l)
	c.age = 0
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	t0 = time.Now()
	mfs, err := reg.Gather()
	cold := time.Since(t0)
	if err != nil {
		b.Fatal(err)
	}
	series := 0
	for _, mf := range mfs {
		series += len(mf.GetMetric())
	}
	if want := 5*nServices + 12 + 1; series != want {
		b.Fatalf("%d series, want %d", series, want)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := reg.Gather(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cold.Milliseconds()), "cold-ms")
	b.ReportMetric(float64(observe.Microseconds())/1000, "observe-ms")
}
