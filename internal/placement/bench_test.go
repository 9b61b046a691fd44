package placement

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// bigCluster is the brief's scale target: n instances over 3 zones, a mix
// of instance types, some custom attributes.
func bigCluster(n int) []Instance {
	types := []string{"m5.xlarge", "m5.2xlarge", "c5.2xlarge", "r5.xlarge"}
	out := make([]Instance, n)
	for i := range out {
		typ := types[i%len(types)]
		out[i] = Instance{
			ID:             fmt.Sprintf("arn:aws:ecs:us-east-1:000000000000:container-instance/bench/%08d", i),
			EC2InstanceID:  fmt.Sprintf("i-%08x", i),
			Status:         StatusActive,
			AgentConnected: true,
			RegisteredAt:   time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second),
			Attributes: map[string]string{
				AttrAvailabilityZone: "us-east-1" + string(rune('a'+i%3)),
				AttrInstanceType:     typ,
				AttrOSType:           "linux",
				AttrCPUArchitecture:  "x86_64",
				"stack":              []string{"prod", "prod", "prod", "staging"}[i%4],
			},
			RemainingCPU:    4096 + 4096*(i%2),
			RemainingMemory: 16384 + 1024*(i%7),
			UsedTCPPorts:    []int{22, 51678, 51679},
			TaskGroups:      map[string]int{},
		}
	}
	return out
}

func benchTasks(b testing.TB, n int) []Task {
	c, err := NewConstraint("memberOf", "attribute:ecs.instance-type =~ 'm5.*|c5.*' and attribute:ecs.os-type == linux")
	if err != nil {
		b.Fatal(err)
	}
	task := Task{
		CPU: 128, Memory: 256, Group: "service:bench",
		Constraints: []Constraint{c},
		Strategies: []Strategy{
			{Type: Spread, Field: "attribute:ecs.availability-zone"},
			{Type: Binpack, Field: "memory"},
		},
	}
	return repeat(task, n)
}

// BenchmarkPlace10kInstances places 100,000 tasks on 10,000 instances in 3
// zones with spread(zone) + binpack(memory) + a memberOf constraint, and
// reports placements per second for the engine alone.
func BenchmarkPlace10kInstances(b *testing.B) {
	snap := bigCluster(10_000)
	tasks := benchTasks(b, 100_000)
	placed := 0
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		ps, _ := Place(snap, tasks, Options{Rand: rand.New(rand.NewPCG(1, 2))})
		placed += len(ps)
	}
	if placed != b.N*len(tasks) {
		b.Fatalf("placed %d of %d", placed, b.N*len(tasks))
	}
	b.ReportMetric(float64(placed)/b.Elapsed().Seconds(), "placements/s")
}

// BenchmarkRunTask10 is one RunTask call (count 10) against 10,000
// instances: the small-batch path that never builds the index.
func BenchmarkRunTask10(b *testing.B) {
	snap := bigCluster(10_000)
	tasks := benchTasks(b, 10)
	b.ReportAllocs()
	for b.Loop() {
		Place(snap, tasks, Options{})
	}
	b.ReportMetric(float64(10*b.N)/b.Elapsed().Seconds(), "placements/s")
}

// BenchmarkRandom10kInstances uses the random strategy, which scans.
func BenchmarkRandom10kInstances(b *testing.B) {
	snap := bigCluster(10_000)
	tasks := benchTasks(b, 10_000)
	for i := range tasks {
		tasks[i].Strategies = []Strategy{{Type: Random}}
	}
	b.ReportAllocs()
	for b.Loop() {
		Place(snap, tasks, Options{Rand: rand.New(rand.NewPCG(1, 2))})
	}
	b.ReportMetric(float64(len(tasks)*b.N)/b.Elapsed().Seconds(), "placements/s")
}

// BenchmarkDefaultStrategies10kInstances places 100,000 tasks with the
// default chain spread(zone), spread(instanceId).
func BenchmarkDefaultStrategies10kInstances(b *testing.B) {
	snap := bigCluster(10_000)
	tasks := benchTasks(b, 100_000)
	for i := range tasks {
		tasks[i].Strategies = nil
	}
	b.ReportAllocs()
	for b.Loop() {
		Place(snap, tasks, Options{})
	}
	b.ReportMetric(float64(len(tasks)*b.N)/b.Elapsed().Seconds(), "placements/s")
}

func BenchmarkParse(b *testing.B) {
	const src = "attribute:ecs.instance-type =~ t2.* and attribute:ecs.availability-zone in [us-east-1a, us-east-1b] and not task:group == service:db"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(src); err != nil {
			b.Fatal(err)
		}
	}
}
