package ecs

import (
	"context"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wharfhq/wharf/api/ecsapi"
	"github.com/wharfhq/wharf/internal/ptr"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/tenancy"
)

// This file is the ECS control plane's Prometheus collector
// (docs/prometheus.md). A scrape must stay cheap at 10,000 instances and
// 100,000 tasks, so it never scans the tasks:
//
//   - per service (desired, running, pending, deployments): the service
//     scheduler reads every service's tasks on each pass anyway; the pass
//     publishes these counts (passStats) and the collector reads the last
//     pass's;
//   - per cluster, EC2: the container instance records (their resources,
//     and the running and pending task counts each keeps), decoded through
//     the instance cache, so only instances changed since the last read are
//     decoded;
//   - per cluster, FARGATE: the managed queue's index of tasks not yet
//     stopped, bounded by what the server's own Docker Engine runs;
//   - which clusters: the ACTIVE clusters of every tenant that has (or
//     had) tasks, services or instances (a handful of records each).
//
// A snapshot is kept for minCollectAge so that several scrapers at once
// cost one read.

// Collector is the ECS collector; register it on the server's registry.
type Collector struct {
	svc   *Service
	sched *ServiceScheduler // nil: no per-service gauges
	age   time.Duration     // how long a snapshot answers (minCollectAge)

	mu   sync.Mutex
	at   time.Time
	snap []prometheus.Metric
}

// minCollectAge is how long a snapshot answers scrapes.
const minCollectAge = 2 * time.Second

var (
	promLabelsCluster = []string{"account", "region", "cluster"}
	promLabelsService = []string{"account", "region", "cluster", "service"}

	descSvcDesired = prometheus.NewDesc("wharf_ecs_service_desired_tasks",
		"A service's desired count.", promLabelsService, nil)
	descSvcRunning = prometheus.NewDesc("wharf_ecs_service_running_tasks",
		"A service's tasks in RUNNING (DescribeServices' runningCount).", promLabelsService, nil)
	descSvcPending = prometheus.NewDesc("wharf_ecs_service_pending_tasks",
		"A service's tasks desired RUNNING and not running yet (DescribeServices' pendingCount).", promLabelsService, nil)
	descSvcDeployments = prometheus.NewDesc("wharf_ecs_service_deployments",
		"A service's deployments (more than 1 while one rolls out).", promLabelsService, nil)
	descSvcSteady = prometheus.NewDesc("wharf_ecs_service_steady_state",
		"1 when the service has one deployment and runs its desired count, else 0.", promLabelsService, nil)
	descClusterServices = prometheus.NewDesc("wharf_ecs_cluster_active_services",
		"A cluster's ACTIVE services.", promLabelsCluster, nil)
	descClusterInstances = prometheus.NewDesc("wharf_ecs_cluster_container_instances",
		"A cluster's registered container instances by status (ACTIVE, DRAINING).", append(promLabelsCluster[:3:3], "status"), nil)
	descClusterConnected = prometheus.NewDesc("wharf_ecs_cluster_connected_container_instances",
		"A cluster's registered container instances whose agent is connected.", promLabelsCluster, nil)
	descClusterTasks = prometheus.NewDesc("wharf_ecs_cluster_tasks",
		"A cluster's tasks not stopped, by launch type (EC2, FARGATE) and status (RUNNING, PENDING: every status before RUNNING).",
		append(promLabelsCluster[:3:3], "launch_type", "status"), nil)
	descClusterCPU = prometheus.NewDesc("wharf_ecs_cluster_cpu_units",
		"CPU units (1024 per vCPU) of a cluster's registered instances: registered, or remaining (not reserved by tasks).",
		append(promLabelsCluster[:3:3], "kind"), nil)
	descClusterMemory = prometheus.NewDesc("wharf_ecs_cluster_memory_bytes",
		"Memory of a cluster's registered instances: registered, or remaining (not reserved by tasks).",
		append(promLabelsCluster[:3:3], "kind"), nil)
	descCollectSeconds = prometheus.NewDesc("wharf_ecs_metrics_collect_duration_seconds",
		"How long the last read of the ECS gauges took.", nil, nil)
)

// NewCollector returns the collector of svc; sched, the server's service
// scheduler, provides the per-service gauges.
func NewCollector(svc *Service, sched *ServiceScheduler) *Collector {
	return &Collector{svc: svc, sched: sched, age: minCollectAge}
}

// Describe sends every descriptor.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descSvcDesired, descSvcRunning, descSvcPending, descSvcDeployments, descSvcSteady,
		descClusterServices, descClusterInstances, descClusterConnected, descClusterTasks, descClusterCPU, descClusterMemory,
		descCollectSeconds} {
		ch <- d
	}
}

// Collect sends the gauges, from a snapshot at most minCollectAge old.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.snap == nil || time.Since(c.at) >= c.age {
		start := time.Now()
		ms, err := c.read(context.Background())
		if err != nil {
			c.svc.log.Warn("ecs: metrics read", "err", err)
			ch <- prometheus.NewInvalidMetric(descCollectSeconds, err)
			return
		}
		c.snap = append(ms, prometheus.MustNewConstMetric(descCollectSeconds, prometheus.GaugeValue, time.Since(start).Seconds()))
		c.at = time.Now()
	}
	for _, m := range c.snap {
		ch <- m
	}
}

// promCluster names a cluster of a tenant.
type promCluster struct{ account, region, cluster string }

// clusterGauges are what the collector sums of a cluster.
type clusterGauges struct {
	services                             int
	active, draining, connected          int
	ec2Running, ec2Pending               int
	fgRunning, fgPending                 int
	cpuReg, cpuRem, memRegMiB, memRemMiB int64
}

// read builds one snapshot.
func (c *Collector) read(ctx context.Context) ([]prometheus.Metric, error) {
	clusters := map[promCluster]*clusterGauges{}
	get := func(k promCluster) *clusterGauges {
		g := clusters[k]
		if g == nil {
			g = &clusterGauges{}
			clusters[k] = g
		}
		return g
	}
	var out []prometheus.Metric
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		out = append(out, prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...))
	}

	// Services, from the scheduler's last pass.
	if c.sched != nil {
		for _, s := range c.sched.cache.stats.last() {
			get(promCluster{s.account, s.region, s.cluster}).services++
			gauge(descSvcDesired, float64(s.desired), s.account, s.region, s.cluster, s.service)
			gauge(descSvcRunning, float64(s.running), s.account, s.region, s.cluster, s.service)
			gauge(descSvcPending, float64(s.pending), s.account, s.region, s.cluster, s.service)
			gauge(descSvcDeployments, float64(s.deployments), s.account, s.region, s.cluster, s.service)
			steady := 0.0
			if s.deployments == 1 && s.running == s.desired && s.pending == 0 {
				steady = 1
			}
			gauge(descSvcSteady, steady, s.account, s.region, s.cluster, s.service)
		}
	}

	// Which tenants have instances (their queues), tasks or services, and
	// the FARGATE tasks not yet stopped.
	type fgTask struct{ account, region, cluster, id string }
	tenants := map[string]bool{}
	var fargate []fgTask
	err := c.svc.view(ctx, func(tx store.Tx) error {
		for _, tbl := range []store.Table{tblTenants, tblSvcTenants} {
			items, err := tx.Scan(tbl, "", "", 0)
			if err != nil {
				return err
			}
			for _, it := range items {
				tenants[it.Key] = true
			}
		}
		items, err := tx.Scan(tblQueues, "seq/ec2/", "", 0)
		if err != nil {
			return err
		}
		for _, it := range items {
			if q, ok := parseQueueKey(strings.TrimPrefix(it.Key, "seq/")); ok {
				tenants[tenantKey(q.account, q.region)] = true
			}
		}
		items, err = tx.Scan(tblQueues, "task/fargate/", "", 0)
		for _, it := range items {
			if a, r, cl, id, ok := parseFargateEntry(it.Key); ok {
				fargate = append(fargate, fgTask{a, r, cl, id})
			}
		}
		return err
	})
	if err != nil {
		return nil, err
	}

	// Each tenant's ACTIVE clusters (so that an empty one shows zeros) and
	// its instances.
	for key := range tenants {
		acct, region, ok := strings.Cut(key, "/")
		if !ok {
			continue
		}
		tctx := tenancy.With(ctx, acct, region)
		err := c.svc.view(tctx, func(tx store.Tx) error {
			items, err := tx.Scan(tblECS, "cluster/", "", 0)
			if err != nil {
				return err
			}
			for _, it := range items {
				cr, err := decode[clusterRec](it)
				if err != nil {
					return err
				}
				if cr.Status == statusActive {
					get(promCluster{acct, region, cr.Name})
				}
			}
			items, err = tx.Scan(tblECS, "instance/", "", 0)
			if err != nil {
				return err
			}
			for _, it := range items {
				in, err := c.svc.instances.decode(tctx, it)
				if err != nil {
					return err
				}
				if in.Status == statusInactive {
					continue
				}
				g := get(promCluster{acct, region, in.Cluster})
				if in.Status == statusActive {
					g.active++
				} else {
					g.draining++
				}
				if in.Connected {
					g.connected++
				}
				g.ec2Running += int(in.Running)
				g.ec2Pending += int(in.Pending)
				g.cpuReg += resourceValue(in.RegRes, "CPU")
				g.cpuRem += resourceValue(in.Remaining, "CPU")
				g.memRegMiB += resourceValue(in.RegRes, "MEMORY")
				g.memRemMiB += resourceValue(in.Remaining, "MEMORY")
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}

	// FARGATE: the managed queue's tasks.
	for _, f := range fargate {
		tctx := tenancy.With(ctx, f.account, f.region)
		var t taskRec
		err := c.svc.view(tctx, func(tx store.Tx) error {
			_, err := getJSON(tx, taskKey(f.cluster, f.id), &t)
			return err
		})
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		g := get(promCluster{f.account, f.region, f.cluster})
		switch r := statusRank(t.LastStatus); {
		case r == statusRank(taskRunning):
			g.fgRunning++
		case r < statusRank(taskRunning):
			g.fgPending++
		}
	}

	keys := make([]promCluster, 0, len(clusters))
	for k := range clusters {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		return a.account+"/"+a.region+"/"+a.cluster < b.account+"/"+b.region+"/"+b.cluster
	})
	for _, k := range keys {
		g := clusters[k]
		l := []string{k.account, k.region, k.cluster}
		with := func(extra ...string) []string { return append(l[:3:3], extra...) }
		gauge(descClusterServices, float64(g.services), l...)
		gauge(descClusterInstances, float64(g.active), with(statusActive)...)
		gauge(descClusterInstances, float64(g.draining), with(statusDraining)...)
		gauge(descClusterConnected, float64(g.connected), l...)
		gauge(descClusterTasks, float64(g.ec2Running), with("EC2", taskRunning)...)
		gauge(descClusterTasks, float64(g.ec2Pending), with("EC2", taskPending)...)
		gauge(descClusterTasks, float64(g.fgRunning), with("FARGATE", taskRunning)...)
		gauge(descClusterTasks, float64(g.fgPending), with("FARGATE", taskPending)...)
		gauge(descClusterCPU, float64(g.cpuReg), with("registered")...)
		gauge(descClusterCPU, float64(g.cpuRem), with("remaining")...)
		gauge(descClusterMemory, float64(g.memRegMiB<<20), with("registered")...)
		gauge(descClusterMemory, float64(g.memRemMiB<<20), with("remaining")...)
	}
	return out, nil
}

// resourceValue is an INTEGER resource's value (0 when absent).
func resourceValue(rs []ecsapi.Resource, name string) int64 {
	for _, r := range rs {
		if ptr.Value(r.Name) == name {
			return int64(ptr.Value(r.IntegerValue))
		}
	}
	return 0
}

// serviceStat is what a scheduler pass publishes of one service.
type serviceStat struct {
	account, region, cluster, service string
	desired, running, pending         int
	deployments                       int
}

// passStats collects the per-service counts of a scheduler pass and keeps
// those of the last finished pass.
type passStats struct {
	mu   sync.Mutex
	next []serviceStat
	done []serviceStat
}

// observe counts the services of a cluster the pass read (tenant is
// "account/region"), as DescribeServices counts them.
func (p *passStats) observe(tenant string, cs *clusterState) {
	acct, region, _ := strings.Cut(tenant, "/")
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range cs.services {
		r := &cs.services[i]
		st := serviceStat{account: acct, region: region, cluster: cs.name, service: r.Name,
			desired: int(r.DesiredCount), deployments: len(r.Deployments)}
		for _, t := range cs.tasks["service:"+r.Name] {
			switch {
			case t.LastStatus == taskRunning:
				st.running++
			case t.DesiredStatus == taskRunning && statusRank(t.LastStatus) < statusRank(taskRunning):
				st.pending++
			}
		}
		p.next = append(p.next, st)
	}
}

// publish ends a pass: its counts become the last pass's.
func (p *passStats) publish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done, p.next = p.next, nil
}

// last returns the counts of the last finished pass.
func (p *passStats) last() []serviceStat {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done
}
