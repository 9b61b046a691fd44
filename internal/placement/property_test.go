package placement

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"strings"
	"testing"
)

// randomCluster builds n instances with random zones, types, resources,
// reserved ports, statuses and running groups.
func randomCluster(r *rand.Rand, n int) []Instance {
	out := make([]Instance, n)
	for i := range out {
		in := Instance{
			ID: fmt.Sprintf("ci-%03d", i), EC2InstanceID: fmt.Sprintf("i-%03d", i),
			Status: StatusActive, AgentConnected: r.IntN(12) != 0,
			Attributes: map[string]string{
				AttrInstanceType: []string{"t2.micro", "t2.large", "m4.large", "c5.xlarge"}[r.IntN(4)],
			},
			RemainingCPU: r.IntN(5) * 256, RemainingMemory: r.IntN(9) * 256, RemainingGPU: r.IntN(3),
			TaskGroups: map[string]int{},
		}
		if r.IntN(10) != 0 {
			in.Attributes[AttrAvailabilityZone] = []string{"a", "b", "c"}[r.IntN(3)]
		}
		if r.IntN(3) == 0 {
			in.Attributes["stack"] = []string{"prod", "dev"}[r.IntN(2)]
		}
		if r.IntN(8) == 0 {
			in.Status = StatusDraining
		}
		for _, p := range []int{22, 80, 443, 49153, 49160} {
			if r.IntN(4) == 0 {
				in.UsedTCPPorts = append(in.UsedTCPPorts, p)
			}
		}
		for _, g := range []string{"g1", "g2", "g3"} {
			if k := r.IntN(4) - 2; k > 0 {
				in.TaskGroups[g] = k
				in.RunningTasksCount += k
			}
		}
		out[i] = in
	}
	return out
}

var propExprs = []string{
	"attribute:ecs.instance-type =~ t2.*",
	"attribute:ecs.availability-zone in [a, b]",
	"attribute:stack exists or attribute:ecs.instance-type == c5.xlarge",
	"not attribute:stack == dev",
	"task:group != g2",
	"runningTasksCount < 3",
	"task:group == g1 or attribute:ecs.availability-zone == c",
}

var propStrategies = [][]string{
	nil,
	{"binpack:memory"},
	{"binpack:cpu"},
	{"spread:instanceId"},
	{"spread:attribute:ecs.availability-zone", "binpack:memory"},
	{"spread:ecs.instance-type", "spread:instanceId"},
	{"binpack:cpu", "spread:attribute:ecs.availability-zone", "binpack:memory"},
	{"spread:attribute:stack", "random"},
	{"random"},
}

func randomTasks(t testing.TB, r *rand.Rand) []Task {
	var tasks []Task
	for range 1 + r.IntN(3) {
		task := Task{
			CPU: r.IntN(3) * 128, Memory: r.IntN(4) * 128, GPU: r.IntN(4) / 3,
			Group: []string{"g1", "g2", "g3"}[r.IntN(3)],
		}
		switch r.IntN(4) {
		case 1:
			task.Ports = []Port{{HostPort: []int{80, 443, 49160}[r.IntN(3)]}}
		case 2:
			task.Ports = []Port{{}, {Protocol: UDP}}
		}
		if r.IntN(3) == 0 {
			task.Constraints = append(task.Constraints, mustConstraint(t, "distinctInstance", ""))
		}
		for range r.IntN(3) {
			task.Constraints = append(task.Constraints, mustConstraint(t, "memberOf", propExprs[r.IntN(len(propExprs))]))
		}
		if r.IntN(6) == 0 {
			task.RequiredAttributes = []Attribute{{Name: "stack"}}
		}
		task.Strategies = mustStrategies(t, propStrategies[r.IntN(len(propStrategies))]...)
		for range 1 + r.IntN(12) {
			tasks = append(tasks, task)
		}
	}
	r.Shuffle(len(tasks), func(i, j int) { tasks[i], tasks[j] = tasks[j], tasks[i] })
	return tasks
}

// oracle is a deliberately naive re-implementation of the placement rules:
// full scans, fresh Instance copies, no indexes.
type oracle struct {
	snap  []Instance
	cur   []Instance // snapshot with the batch applied so far
	ports []map[string]bool
}

func newOracle(snap []Instance) *oracle {
	o := &oracle{snap: snap}
	for _, in := range snap {
		c := in
		c.TaskGroups = maps.Clone(in.TaskGroups)
		if c.TaskGroups == nil {
			c.TaskGroups = map[string]int{}
		}
		o.cur = append(o.cur, c)
		ps := map[string]bool{}
		for _, p := range in.UsedTCPPorts {
			ps[fmt.Sprint("tcp", p)] = true
		}
		for _, p := range in.UsedUDPPorts {
			ps[fmt.Sprint("udp", p)] = true
		}
		o.ports = append(o.ports, ps)
	}
	return o
}

func proto(p Port) string {
	if p.Protocol == UDP {
		return "udp"
	}
	return "tcp"
}

func (o *oracle) fits(task *Task, x int) bool {
	in := &o.cur[x]
	if in.Status != StatusActive || !in.AgentConnected {
		return false
	}
	for _, a := range task.RequiredAttributes {
		if v, ok := in.Attributes[a.Name]; !ok || (a.Value != "" && v != a.Value) {
			return false
		}
	}
	if in.RemainingCPU < task.CPU || in.RemainingMemory < task.Memory || in.RemainingGPU < task.GPU {
		return false
	}
	need := map[string]int{}
	fixed := map[string]bool{}
	for _, p := range task.Ports {
		if p.HostPort == 0 {
			need[proto(p)]++
			continue
		}
		k := fmt.Sprint(proto(p), p.HostPort)
		if o.ports[x][k] || fixed[k] {
			return false
		}
		fixed[k] = true
	}
	for pr, n := range need {
		free := 0
		for port := EphemeralPortMin; port <= EphemeralPortMax && free < n; port++ {
			k := fmt.Sprint(pr, port)
			if !o.ports[x][k] && !fixed[k] {
				free++
			}
		}
		if free < n {
			return false
		}
	}
	for _, c := range task.Constraints {
		switch c.Type {
		case DistinctInstance:
			if in.TaskGroups[task.Group] > 0 {
				return false
			}
		case MemberOf:
			if !c.Expr.Matches(in) {
				return false
			}
		}
	}
	return true
}

// best narrows feasible candidates strategy by strategy and returns the
// survivors (several only when a tie remains or random is reached).
func (o *oracle) best(task *Task, cands []int, defaults []Strategy) []int {
	strategies := task.Strategies
	if len(strategies) == 0 {
		strategies = defaults
	}
	for _, s := range strategies {
		if s.Type == Random {
			return cands
		}
		score := func(x int) int {
			switch {
			case s.Type == Binpack && s.Field == "cpu":
				return o.cur[x].RemainingCPU
			case s.Type == Binpack:
				return o.cur[x].RemainingMemory
			case s.Field == "instanceId" || s.Field == "host":
				return o.cur[x].TaskGroups[task.Group]
			}
			name := strings.TrimPrefix(s.Field, "attribute:")
			v, ok := o.cur[x].Attributes[name]
			n := 0
			for y := range o.cur {
				w, ok2 := o.cur[y].Attributes[name]
				if ok == ok2 && v == w {
					n += o.cur[y].TaskGroups[task.Group]
				}
			}
			return n
		}
		min := -1
		var keep []int
		for _, x := range cands {
			sc := score(x)
			switch {
			case min < 0 || sc < min:
				min, keep = sc, []int{x}
			case sc == min:
				keep = append(keep, x)
			}
		}
		cands = keep
	}
	return cands[:1] // snapshot order breaks the remaining tie
}

func (o *oracle) apply(task *Task, x int, hostPorts []int) {
	in := &o.cur[x]
	in.RemainingCPU -= task.CPU
	in.RemainingMemory -= task.Memory
	in.RemainingGPU -= task.GPU
	in.RunningTasksCount++
	in.TaskGroups[task.Group]++
	for i, p := range task.Ports {
		o.ports[x][fmt.Sprint(proto(p), hostPorts[i])] = true
	}
}

func TestPropertyRandomClusters(t *testing.T) {
	iterations := 400
	if testing.Short() {
		iterations = 60
	}
	for it := range iterations {
		seed := uint64(it)
		r := rand.New(rand.NewPCG(seed, 42))
		snap := randomCluster(r, 1+r.IntN(40))
		tasks := randomTasks(t, r)
		ps, fs := placeModes(t, snap, tasks, seed)

		o := newOracle(snap)
		index := map[string]int{}
		for i, in := range snap {
			index[in.ID] = i
		}
		byTask := map[int]Placement{}
		for _, p := range ps {
			byTask[p.TaskIndex] = p
		}
		for i := range tasks {
			task := &tasks[i]
			var feasible []int
			for x := range snap {
				if o.fits(task, x) {
					feasible = append(feasible, x)
				}
			}
			p, placed := byTask[i]
			if !placed {
				if len(feasible) > 0 {
					t.Fatalf("seed %d task %d unplaced but fits on %v", seed, i, feasible)
				}
				continue
			}
			x := index[p.InstanceID]
			if !o.fits(task, x) {
				t.Fatalf("seed %d task %d placed on %s where it does not fit (overcommit or constraint broken)", seed, i, p.InstanceID)
			}
			want := o.best(task, feasible, DefaultStrategies())
			if !contains(want, x) {
				t.Fatalf("seed %d task %d (%v) placed on %d, strategies want one of %v", seed, i, task.Strategies, x, want)
			}
			if len(p.HostPorts) != len(task.Ports) {
				t.Fatalf("seed %d task %d host ports %v for %v", seed, i, p.HostPorts, task.Ports)
			}
			for j, hp := range p.HostPorts {
				if task.Ports[j].HostPort != 0 && hp != task.Ports[j].HostPort {
					t.Fatalf("fixed port changed: %v", p.HostPorts)
				}
				if task.Ports[j].HostPort == 0 && (hp < EphemeralPortMin || hp > EphemeralPortMax) {
					t.Fatalf("dynamic port %d outside the ephemeral range", hp)
				}
				if o.ports[x][fmt.Sprint(proto(task.Ports[j]), hp)] {
					t.Fatalf("seed %d task %d: host port %d already in use on %s", seed, i, hp, p.InstanceID)
				}
			}
			o.apply(task, x, p.HostPorts)
		}
		for x := range o.cur {
			in := &o.cur[x]
			if in.RemainingCPU < 0 || in.RemainingMemory < 0 || in.RemainingGPU < 0 {
				t.Fatalf("seed %d: %s overcommitted: %+v", seed, in.ID, in)
			}
		}
		seen := map[string]bool{}
		for _, f := range fs {
			if f.Reason == "" || seen[f.Arn] {
				t.Fatalf("seed %d: bad or duplicate failure %+v", seed, f)
			}
			seen[f.Arn] = true
			if in := snap[index[f.Arn]]; in.Status != StatusActive {
				t.Fatalf("seed %d: failure reported for %s instance", seed, in.Status)
			}
		}
	}
}

func contains(xs []int, x int) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// TestPropertySpreadEven: with room everywhere, spread over zones keeps the
// per-zone counts of a group within one of each other.
func TestPropertySpreadEven(t *testing.T) {
	for seed := range uint64(100) {
		r := rand.New(rand.NewPCG(seed, 7))
		var snap []Instance
		zones := 2 + r.IntN(4)
		for i := range 3 + r.IntN(30) {
			snap = append(snap, Instance{
				ID: fmt.Sprint("ci-", i), Status: StatusActive, AgentConnected: true,
				RemainingCPU: 1 << 20, RemainingMemory: 1 << 20,
				Attributes: map[string]string{AttrAvailabilityZone: fmt.Sprint("z", i%zones)},
			})
		}
		task := Task{CPU: 1 + r.IntN(64), Memory: 1 + r.IntN(64), Group: "svc",
			Strategies: mustStrategies(t, "spread:attribute:ecs.availability-zone", []string{"binpack:memory", "spread:instanceId", "random"}[r.IntN(3)])}
		n := 1 + r.IntN(200)
		ps, _ := Place(snap, repeat(task, n), Options{Rand: r})
		if len(ps) != n {
			t.Fatalf("seed %d: placed %d of %d", seed, len(ps), n)
		}
		perZone := map[string]int{}
		for _, p := range ps {
			for _, in := range snap {
				if in.ID == p.InstanceID {
					perZone[in.Attributes[AttrAvailabilityZone]]++
				}
			}
		}
		lo, hi := n, 0
		for z := range min(zones, len(snap)) { // zones that have instances
			c := perZone[fmt.Sprint("z", z)]
			lo, hi = min(lo, c), max(hi, c)
		}
		if hi-lo > 1 {
			t.Fatalf("seed %d: zones %v uneven", seed, perZone)
		}
	}
}

// TestPropertyBinpackFewest: identical tasks on identical instances use
// exactly ceil(n/perInstance) instances; on mixed instances at most one
// used instance could still take another task.
func TestPropertyBinpackFewest(t *testing.T) {
	for seed := range uint64(100) {
		r := rand.New(rand.NewPCG(seed, 9))
		task := Task{CPU: 64 * (1 + r.IntN(4)), Memory: 128 * (1 + r.IntN(4)), Group: "g",
			Strategies: mustStrategies(t, []string{"binpack:memory", "binpack:cpu"}[r.IntN(2)])}
		m := 2 + r.IntN(20)
		cpu, mem := 1024*(1+r.IntN(4)), 2048*(1+r.IntN(4))
		per := min(cpu/task.CPU, mem/task.Memory)
		var same, mixed []Instance
		for i := range m {
			same = append(same, Instance{ID: fmt.Sprint(i), Status: StatusActive, AgentConnected: true,
				RemainingCPU: cpu, RemainingMemory: mem, Attributes: map[string]string{}})
			mixed = append(mixed, Instance{ID: fmt.Sprint(i), Status: StatusActive, AgentConnected: true,
				RemainingCPU: 512 * (1 + r.IntN(8)), RemainingMemory: 1024 * (1 + r.IntN(8)), Attributes: map[string]string{}})
		}
		n := 1 + r.IntN(m*per)
		ps, _ := placeModes(t, same, repeat(task, n), seed)
		if used, want := len(countBy(ps)), (n+per-1)/per; len(ps) != n || used != want {
			t.Fatalf("seed %d: %d tasks (%d per instance) used %d instances, want %d", seed, n, per, used, want)
		}

		ps, _ = placeModes(t, mixed, repeat(task, n), seed)
		o := newOracle(mixed)
		for _, p := range ps {
			for x := range mixed {
				if mixed[x].ID == p.InstanceID {
					o.apply(&task, x, nil)
				}
			}
		}
		partial := 0
		for id := range countBy(ps) {
			for x := range mixed {
				if mixed[x].ID == id && o.fits(&task, x) {
					partial++
				}
			}
		}
		if partial > 1 {
			t.Fatalf("seed %d: %d used instances could still take a task", seed, partial)
		}
	}
}
