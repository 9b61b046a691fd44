// Package ecsmetrics turns the container usage agents sample into the
// AWS/ECS CloudWatch metrics ECS publishes: CPUUtilization and
// MemoryUtilization per service (ClusterName, ServiceName) and per cluster
// (ClusterName), and the cluster's CPUReservation and MemoryReservation.
//
// Compute is the arithmetic, pure: ECS's formulas over one period's
// tasks and container instances. Publisher is the loop: it keeps the
// samples agents submit (through ecs.Service.SubmitTaskStats), joins them
// every period with what the ECS service knows of the tasks, and writes
// the datapoints into the CloudWatch store. See docs/ecs-metrics.md.
package ecsmetrics

import (
	"sort"
	"strings"
)

// Namespace is ECS's CloudWatch namespace.
const Namespace = "AWS/ECS"

// Metric and dimension names, exactly ECS's.
const (
	CPUUtilization    = "CPUUtilization"
	MemoryUtilization = "MemoryUtilization"
	CPUReservation    = "CPUReservation"
	MemoryReservation = "MemoryReservation"
	DimCluster        = "ClusterName"
	DimService        = "ServiceName"
)

// Task is one running task in a period: where it runs, what it reserves
// and what it used.
type Task struct {
	Cluster string
	// Service is the service name ("" for a task no service started).
	Service string
	// Instance is the container instance ID for EC2 tasks ("" on FARGATE).
	Instance string
	// CPU and MemoryMiB are the task's reservation (task-level values, else
	// the sum of its containers'). CPU may be 0 on EC2.
	CPU, MemoryMiB int
	// UsedCPU is the CPU units (1024 = one core) used on average over the
	// period; UsedMemoryMiB the memory in use (page cache excluded).
	UsedCPU, UsedMemoryMiB float64
}

// Instance is an ACTIVE or DRAINING container instance: its registered
// resources and what tasks reserve of them.
type Instance struct {
	Cluster, ID                 string
	CPU, MemoryMiB              int
	ReservedCPU, ReservedMemory int
}

// Stats is a statistic set, as PutMetricData takes it.
type Stats struct{ Count, Sum, Min, Max float64 }

// Average is Sum / Count.
func (s Stats) Average() float64 {
	if s.Count == 0 {
		return 0
	}
	return s.Sum / s.Count
}

// Datum is one metric's value for a period.
type Datum struct {
	Name    string
	Cluster string
	Service string // "" for the cluster-level metrics
	Stats
}

// noCPUReservation is the reservation a task without any cpu (EC2 only)
// is measured against when its instance is unknown: one vCPU.
const noCPUReservation = 1024

// Compute returns the period's datapoints, sorted by cluster, service and
// name:
//
//   - per service (tasks on any launch type): CPUUtilization and
//     MemoryUtilization. Each task's utilization is its usage × 100 / its
//     reservation; Min and Max are the lowest and highest task's, Count is
//     the number of tasks and Sum is Count × (total used × 100 / total
//     reserved), so that the Average statistic is ECS's formula
//     (Σ used × 100) / (reservation × tasks) even across two task
//     definitions during a deployment. A task with no cpu reservation (EC2)
//     is measured against its instance's registered CPU: what it may use.
//   - per cluster, when it has EC2 tasks and ACTIVE or DRAINING instances:
//     CPUUtilization and MemoryUtilization (usage of its EC2 tasks over the
//     instances' registered resources) and CPUReservation and
//     MemoryReservation (reserved over registered). Each instance is one
//     sample; Sum is Count × the cluster-wide ratio, so that Average is
//     ECS's formula, and Min/Max the least and most loaded instance.
func Compute(tasks []Task, instances []Instance) []Datum {
	type key struct{ cluster, service string }
	type agg struct {
		n         int
		used, res [2]float64 // cpu, memory
		min, max  [2]float64
	}
	byInstance := map[key]Instance{}
	for _, in := range instances {
		byInstance[key{in.Cluster, in.ID}] = in
	}
	services := map[key]*agg{}
	ec2Used := map[key][2]float64{} // per (cluster, instance)
	clusterHasEC2 := map[string]bool{}
	for _, t := range tasks {
		cpuRes := float64(t.CPU)
		if cpuRes <= 0 {
			cpuRes = noCPUReservation
			if in, ok := byInstance[key{t.Cluster, t.Instance}]; ok && in.CPU > 0 {
				cpuRes = float64(in.CPU)
			}
		}
		if t.Instance != "" {
			k := key{t.Cluster, t.Instance}
			u := ec2Used[k]
			u[0] += t.UsedCPU
			u[1] += t.UsedMemoryMiB
			ec2Used[k] = u
			clusterHasEC2[t.Cluster] = true
		}
		if t.Service == "" || t.MemoryMiB <= 0 {
			continue
		}
		k := key{t.Cluster, t.Service}
		a := services[k]
		if a == nil {
			a = &agg{}
			services[k] = a
		}
		used := [2]float64{t.UsedCPU, t.UsedMemoryMiB}
		res := [2]float64{cpuRes, float64(t.MemoryMiB)}
		for i := range 2 {
			pct := used[i] * 100 / res[i]
			if a.n == 0 || pct < a.min[i] {
				a.min[i] = pct
			}
			if a.n == 0 || pct > a.max[i] {
				a.max[i] = pct
			}
			a.used[i] += used[i]
			a.res[i] += res[i]
		}
		a.n++
	}
	var out []Datum
	names := [2]string{CPUUtilization, MemoryUtilization}
	for k, a := range services {
		for i := range 2 {
			n := float64(a.n)
			out = append(out, Datum{Name: names[i], Cluster: k.cluster, Service: k.service,
				Stats: Stats{Count: n, Sum: n * a.used[i] * 100 / a.res[i], Min: a.min[i], Max: a.max[i]}})
		}
	}
	// Cluster level: one sample per instance.
	type cagg struct {
		n        int
		num, den [4]float64 // cpu util, mem util, cpu res, mem res
		min, max [4]float64
	}
	clusters := map[string]*cagg{}
	for _, in := range instances {
		if !clusterHasEC2[in.Cluster] || in.CPU <= 0 || in.MemoryMiB <= 0 {
			continue
		}
		c := clusters[in.Cluster]
		if c == nil {
			c = &cagg{}
			clusters[in.Cluster] = c
		}
		u := ec2Used[key{in.Cluster, in.ID}]
		num := [4]float64{u[0], u[1], float64(in.ReservedCPU), float64(in.ReservedMemory)}
		den := [4]float64{float64(in.CPU), float64(in.MemoryMiB), float64(in.CPU), float64(in.MemoryMiB)}
		for i := range 4 {
			pct := num[i] * 100 / den[i]
			if c.n == 0 || pct < c.min[i] {
				c.min[i] = pct
			}
			if c.n == 0 || pct > c.max[i] {
				c.max[i] = pct
			}
			c.num[i] += num[i]
			c.den[i] += den[i]
		}
		c.n++
	}
	cnames := [4]string{CPUUtilization, MemoryUtilization, CPUReservation, MemoryReservation}
	for name, c := range clusters {
		for i := range 4 {
			n := float64(c.n)
			out = append(out, Datum{Name: cnames[i], Cluster: name,
				Stats: Stats{Count: n, Sum: n * c.num[i] * 100 / c.den[i], Min: c.min[i], Max: c.max[i]}})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Cluster != b.Cluster {
			return a.Cluster < b.Cluster
		}
		if a.Service != b.Service {
			return a.Service < b.Service
		}
		return a.Name < b.Name
	})
	return out
}

// ServiceName is the service of a task group ("service:NAME"), or "".
func ServiceName(group string) string {
	name, ok := strings.CutPrefix(group, "service:")
	if !ok {
		return ""
	}
	return name
}
