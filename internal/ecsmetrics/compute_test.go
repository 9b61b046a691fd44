package ecsmetrics

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func find(t *testing.T, ds []Datum, name, cluster, service string) Stats {
	t.Helper()
	for _, d := range ds {
		if d.Name == name && d.Cluster == cluster && d.Service == service {
			return d.Stats
		}
	}
	t.Fatalf("no %s for %s/%s in %+v", name, cluster, service, ds)
	return Stats{}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func checkStats(t *testing.T, what string, got, want Stats) {
	t.Helper()
	if !near(got.Count, want.Count) || !near(got.Sum, want.Sum) || !near(got.Min, want.Min) || !near(got.Max, want.Max) {
		t.Errorf("%s = %+v, want %+v", what, got, want)
	}
}

// FARGATE service of two tasks (cpu 256, memory 512): ECS's Average is
// total used × 100 / (reservation × tasks); Min and Max the extreme tasks.
func TestServiceFargate(t *testing.T) {
	ds := Compute([]Task{
		{Cluster: "c", Service: "web", CPU: 256, MemoryMiB: 512, UsedCPU: 256, UsedMemoryMiB: 128},
		{Cluster: "c", Service: "web", CPU: 256, MemoryMiB: 512, UsedCPU: 64, UsedMemoryMiB: 256},
	}, nil)
	if len(ds) != 2 {
		t.Fatalf("FARGATE tasks must give only the two service metrics (no cluster metrics), got %+v", ds)
	}
	cpu := find(t, ds, CPUUtilization, "c", "web")
	checkStats(t, "CPUUtilization", cpu, Stats{Count: 2, Sum: 2 * (256 + 64) * 100.0 / 512, Min: 25, Max: 100})
	if !near(cpu.Average(), 62.5) {
		t.Errorf("CPU Average = %v, want 62.5", cpu.Average())
	}
	mem := find(t, ds, MemoryUtilization, "c", "web")
	checkStats(t, "MemoryUtilization", mem, Stats{Count: 2, Sum: 2 * 384 * 100.0 / 1024, Min: 25, Max: 50})
}

// A task that burns more than its reservation (no hard limit on EC2)
// shows more than 100 %, as on ECS.
func TestServiceOverReservation(t *testing.T) {
	ds := Compute([]Task{{Cluster: "c", Service: "burn", Instance: "i1", CPU: 256, MemoryMiB: 128, UsedCPU: 1024, UsedMemoryMiB: 1}},
		[]Instance{{Cluster: "c", ID: "i1", CPU: 2048, MemoryMiB: 4096, ReservedCPU: 256, ReservedMemory: 128}})
	if got := find(t, ds, CPUUtilization, "c", "burn").Average(); !near(got, 400) {
		t.Errorf("CPUUtilization = %v, want 400", got)
	}
}

// During a deployment two task definitions with different reservations
// run side by side: the Average is still Σused / Σreserved, not the mean
// of the per-task ratios.
func TestServiceMixedReservations(t *testing.T) {
	ds := Compute([]Task{
		{Cluster: "c", Service: "s", CPU: 1024, MemoryMiB: 2048, UsedCPU: 512, UsedMemoryMiB: 1024},
		{Cluster: "c", Service: "s", CPU: 256, MemoryMiB: 512, UsedCPU: 256, UsedMemoryMiB: 512},
	}, nil)
	cpu := find(t, ds, CPUUtilization, "c", "s")
	if want := 768 * 100.0 / 1280; !near(cpu.Average(), want) {
		t.Errorf("Average = %v, want %v", cpu.Average(), want)
	}
	if !near(cpu.Min, 50) || !near(cpu.Max, 100) {
		t.Errorf("Min/Max = %v/%v, want 50/100", cpu.Min, cpu.Max)
	}
}

// An EC2 task without any cpu reservation is measured against its
// instance's registered CPU; with the instance unknown, one vCPU.
func TestServiceNoCPUReservation(t *testing.T) {
	insts := []Instance{{Cluster: "c", ID: "i1", CPU: 4096, MemoryMiB: 8192, ReservedMemory: 256}}
	ds := Compute([]Task{{Cluster: "c", Service: "s", Instance: "i1", CPU: 0, MemoryMiB: 256, UsedCPU: 1024, UsedMemoryMiB: 64}}, insts)
	if got := find(t, ds, CPUUtilization, "c", "s").Average(); !near(got, 25) {
		t.Errorf("with its instance: %v, want 25", got)
	}
	ds = Compute([]Task{{Cluster: "c", Service: "s", Instance: "gone", CPU: 0, MemoryMiB: 256, UsedCPU: 512, UsedMemoryMiB: 64}}, nil)
	if got := find(t, ds, CPUUtilization, "c", "s").Average(); !near(got, 50) {
		t.Errorf("instance unknown: %v, want 50", got)
	}
}

// Cluster metrics come from the EC2 instances' registered resources: the
// reservation of every task placed there, the usage of the measured tasks;
// one sample per instance.
func TestClusterEC2(t *testing.T) {
	insts := []Instance{
		{Cluster: "c", ID: "i1", CPU: 2048, MemoryMiB: 4000, ReservedCPU: 1024, ReservedMemory: 1000},
		{Cluster: "c", ID: "i2", CPU: 2048, MemoryMiB: 4000, ReservedCPU: 512, ReservedMemory: 3000},
	}
	tasks := []Task{
		{Cluster: "c", Service: "a", Instance: "i1", CPU: 1024, MemoryMiB: 1000, UsedCPU: 1024, UsedMemoryMiB: 400},
		{Cluster: "c", Instance: "i2", CPU: 512, MemoryMiB: 3000, UsedCPU: 0, UsedMemoryMiB: 2000}, // RunTask, no service
	}
	ds := Compute(tasks, insts)
	checkStats(t, "CPUReservation", find(t, ds, CPUReservation, "c", ""), Stats{Count: 2, Sum: 2 * 1536 * 100.0 / 4096, Min: 25, Max: 50})
	checkStats(t, "MemoryReservation", find(t, ds, MemoryReservation, "c", ""), Stats{Count: 2, Sum: 2 * 4000 * 100.0 / 8000, Min: 25, Max: 75})
	checkStats(t, "cluster CPUUtilization", find(t, ds, CPUUtilization, "c", ""), Stats{Count: 2, Sum: 2 * 1024 * 100.0 / 4096, Min: 0, Max: 50})
	checkStats(t, "cluster MemoryUtilization", find(t, ds, MemoryUtilization, "c", ""), Stats{Count: 2, Sum: 2 * 2400 * 100.0 / 8000, Min: 10, Max: 50})
	// The task without a service has no service metrics.
	for _, d := range ds {
		if d.Service != "" && d.Service != "a" {
			t.Errorf("unexpected service datum %+v", d)
		}
	}
	if len(ds) != 6 {
		t.Errorf("want 4 cluster + 2 service datapoints, got %d: %+v", len(ds), ds)
	}
}

// A cluster with only FARGATE tasks gets no cluster-level metrics, even
// when it also has instances (ECS: cluster metrics are EC2 only).
func TestClusterWithoutEC2Tasks(t *testing.T) {
	ds := Compute([]Task{{Cluster: "c", Service: "f", CPU: 256, MemoryMiB: 512, UsedCPU: 10, UsedMemoryMiB: 10}},
		[]Instance{{Cluster: "c", ID: "i1", CPU: 2048, MemoryMiB: 4000}})
	for _, d := range ds {
		if d.Service == "" {
			t.Errorf("cluster datum without EC2 tasks: %+v", d)
		}
	}
}

func TestNoTasks(t *testing.T) {
	if ds := Compute(nil, []Instance{{Cluster: "c", ID: "i", CPU: 1024, MemoryMiB: 1024}}); len(ds) != 0 {
		t.Errorf("no running tasks, no metrics (ECS); got %+v", ds)
	}
}

func TestServiceName(t *testing.T) {
	for in, want := range map[string]string{"service:web": "web", "family:web": "", "": ""} {
		if got := ServiceName(in); got != want {
			t.Errorf("ServiceName(%q) = %q, want %q", in, got, want)
		}
	}
}

// Property: for random services and instances, every datapoint's Average
// is ECS's ratio of sums and lies between its Min and Max; SampleCount is
// the number of tasks (service) or instances (cluster).
func TestComputeProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 500 {
		var insts []Instance
		for i := range 1 + r.IntN(4) {
			insts = append(insts, Instance{Cluster: "c", ID: fmt.Sprint("i", i), CPU: 1024 * (1 + r.IntN(8)), MemoryMiB: 1024 * (1 + r.IntN(16))})
		}
		var tasks []Task
		used := map[string][2]float64{}
		res := map[string][2]float64{}
		n := map[string]float64{}
		for range 1 + r.IntN(10) {
			in := &insts[r.IntN(len(insts))]
			tk := Task{Cluster: "c", Service: fmt.Sprint("s", r.IntN(3)), CPU: 128 * (1 + r.IntN(8)), MemoryMiB: 128 * (1 + r.IntN(8)),
				UsedCPU: r.Float64() * 2048, UsedMemoryMiB: r.Float64() * 1024}
			if r.IntN(2) == 0 {
				tk.Instance = in.ID
				in.ReservedCPU += tk.CPU
				in.ReservedMemory += tk.MemoryMiB
			}
			tasks = append(tasks, tk)
			u, s := used[tk.Service], res[tk.Service]
			used[tk.Service] = [2]float64{u[0] + tk.UsedCPU, u[1] + tk.UsedMemoryMiB}
			res[tk.Service] = [2]float64{s[0] + float64(tk.CPU), s[1] + float64(tk.MemoryMiB)}
			n[tk.Service]++
		}
		for _, d := range Compute(tasks, insts) {
			if d.Min > d.Average()+1e-9 || d.Average() > d.Max+1e-9 {
				t.Fatalf("%+v: Average %v outside [Min, Max]", d, d.Average())
			}
			if d.Service == "" {
				if d.Count != float64(len(insts)) {
					t.Fatalf("%+v: want one sample per instance (%d)", d, len(insts))
				}
				continue
			}
			i := 0
			if d.Name == MemoryUtilization {
				i = 1
			}
			want := used[d.Service][i] * 100 / res[d.Service][i]
			if math.Abs(d.Average()-want) > 1e-6*want+1e-9 || d.Count != n[d.Service] {
				t.Fatalf("%+v: Average %v, want %v over %v tasks", d, d.Average(), want, n[d.Service])
			}
		}
	}
}
