package placement

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
)

func TestFailureReasons(t *testing.T) {
	snap := cluster(t, `
		agentdown agent=false
		noattr
		lowcpu    attr:gpu=yes cpu=100
		lowmem    attr:gpu=yes mem=100
		nogpu     attr:gpu=yes gpu=0
		port      attr:gpu=yes gpu=1 tcp=8080
		distinct  attr:gpu=yes gpu=1 groups=g:1
		member    attr:gpu=yes gpu=1 az=b
		draining  attr:gpu=yes gpu=1 status=DRAINING
	`)
	task := Task{
		CPU: 512, Memory: 512, GPU: 1, Group: "g",
		Ports:              []Port{{HostPort: 8080}},
		RequiredAttributes: []Attribute{{Name: "gpu", Value: "yes"}},
		Constraints: []Constraint{
			mustConstraint(t, "distinctInstance", ""),
			mustConstraint(t, "memberOf", "attribute:ecs.availability-zone == a"),
		},
	}
	ps, fs := placeModes(t, snap, []Task{task, task}, 1)
	if len(ps) != 0 {
		t.Fatalf("placements = %v, want none", ps)
	}
	want := map[string]string{
		"agentdown": ReasonAgent,
		"noattr":    ReasonAttribute,
		"lowcpu":    ReasonCPU,
		"lowmem":    ReasonMemory,
		"nogpu":     ReasonGPU,
		"port":      ReasonPorts,
		"distinct":  ReasonDistinctInstance,
		"member":    ReasonMemberOf,
	}
	if got := failureMap(fs); !reflect.DeepEqual(got, want) {
		t.Errorf("failures = %v\nwant %v", got, want)
	}
	if len(fs) != len(want) {
		t.Errorf("got %d failures, want one per instance (%d): %v", len(fs), len(want), fs)
	}
	for _, f := range fs {
		if f.TaskIndex != 0 || f.Detail == "" {
			t.Errorf("failure %+v: want TaskIndex 0 and a detail", f)
		}
	}
}

func TestFailuresOnlyWhenUnplaced(t *testing.T) {
	snap := cluster(t, `
		a mem=1000
		b mem=100
	`)
	ps, fs := Place(snap, []Task{{Memory: 600}, {Memory: 600}}, Options{})
	if got := where(2, ps); !reflect.DeepEqual(got, []string{"a", ""}) {
		t.Fatalf("placed %v", got)
	}
	// The second task failed: both instances now lack memory.
	if got := failureMap(fs); !reflect.DeepEqual(got, map[string]string{"a": ReasonMemory, "b": ReasonMemory}) {
		t.Errorf("failures = %v", got)
	}
	if fs[0].TaskIndex != 1 {
		t.Errorf("failure task index = %d, want 1", fs[0].TaskIndex)
	}
}

func TestInvalidTask(t *testing.T) {
	snap := cluster(t, "a")
	tasks := []Task{
		{Strategies: []Strategy{{Type: "pack"}}},
		{Constraints: []Constraint{{Type: MemberOf}}},
		{Memory: 1},
	}
	ps, fs := Place(snap, tasks, Options{})
	if len(ps) != 1 || ps[0].TaskIndex != 2 {
		t.Fatalf("placements = %v", ps)
	}
	if len(fs) != 2 || fs[0].Reason != ReasonInvalid || fs[1].Reason != ReasonInvalid {
		t.Fatalf("failures = %v", fs)
	}
}

func TestValidation(t *testing.T) {
	bad := []func() error{
		func() error { _, err := NewConstraint("distinctInstance", "a == b"); return err },
		func() error { _, err := NewConstraint("memberOf", ""); return err },
		func() error { _, err := NewConstraint("memberOf", "a =="); return err },
		func() error { _, err := NewConstraint("sameInstance", ""); return err },
		func() error { _, err := NewStrategy("binpack", "disk"); return err },
		func() error { _, err := NewStrategy("spread", ""); return err },
		func() error { _, err := NewStrategy("spread", "attribute:bad name"); return err },
		func() error { _, err := NewStrategy("fill", "cpu"); return err },
		func() error { t := Task{Constraints: make([]Constraint, 11)}; return t.Validate() },
		func() error { t := Task{Strategies: make([]Strategy, 6)}; return t.Validate() },
		func() error { t := Task{Memory: -1}; return t.Validate() },
		func() error { t := Task{Ports: []Port{{HostPort: 70000}}}; return t.Validate() },
		func() error { t := Task{Ports: []Port{{HostPort: 80, Protocol: "sctp"}}}; return t.Validate() },
	}
	for i, f := range bad {
		err := f()
		if err == nil || !errors.Is(err, ErrInvalidParameter) {
			t.Errorf("case %d: err = %v, want an ErrInvalidParameter", i, err)
		}
	}
	for _, s := range [][2]string{{"random", ""}, {"binpack", "cpu"}, {"binpack", "memory"}, {"spread", "instanceId"},
		{"spread", "host"}, {"spread", "attribute:ecs.availability-zone"}, {"spread", "ecs.instance-type"}} {
		if _, err := NewStrategy(s[0], s[1]); err != nil {
			t.Errorf("NewStrategy(%q, %q): %v", s[0], s[1], err)
		}
	}
}

func TestStrategies(t *testing.T) {
	snap := cluster(t, `
		a1 az=a mem=4096 cpu=4096
		a2 az=a mem=1024 cpu=4096
		b1 az=b mem=2048 cpu=1024
		b2 az=b mem=3072 cpu=2048
		c1 az=c mem=512  cpu=512 groups=svc:3
	`)
	tests := []struct {
		name       string
		strategies []Strategy
		n          int
		want       []string
	}{
		{"binpack memory fills the fullest first", mustStrategies(t, "binpack:memory"), 4,
			[]string{"c1", "a2", "a2", "b1"}},
		{"binpack cpu", mustStrategies(t, "binpack:cpu"), 3,
			[]string{"c1", "b1", "b1"}},
		{"spread instanceId counts existing group tasks", mustStrategies(t, "spread:instanceId"), 5,
			[]string{"a1", "a2", "b1", "b2", "a1"}},
		{"spread host is instanceId", mustStrategies(t, "spread:host"), 2,
			[]string{"a1", "a2"}},
		{"spread az then binpack memory", mustStrategies(t, "spread:attribute:ecs.availability-zone", "binpack:memory"), 6,
			[]string{"a2", "b1", "a2", "b1", "b1", "a1"}},
		{"spread az without prefix", mustStrategies(t, "spread:ecs.availability-zone", "binpack:memory"), 2,
			[]string{"a2", "b1"}},
		{"binpack then spread breaks ties", mustStrategies(t, "binpack:cpu", "spread:instanceId"), 2,
			[]string{"c1", "b1"}},
		{"default: spread az then instanceId", nil, 5,
			[]string{"a1", "b1", "a2", "b2", "a1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			task := Task{CPU: 256, Memory: 512, Group: "svc", Strategies: tt.strategies}
			ps, _ := placeModes(t, snap, repeat(task, tt.n), 7)
			if got := where(tt.n, ps); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("placed on %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRandomStrategy(t *testing.T) {
	snap := cluster(t, `
		a az=a mem=100000
		b az=a mem=100000
		c az=b mem=100000
		d az=b mem=100000
	`)
	task := Task{Memory: 1, Group: "g", Strategies: mustStrategies(t, "random")}
	run := func(seed uint64) []string {
		ps, _ := Place(snap, repeat(task, 400), Options{Rand: rand.New(rand.NewPCG(seed, 1))})
		return where(400, ps)
	}
	if a, b := run(1), run(1); !reflect.DeepEqual(a, b) {
		t.Fatal("same seed, different placements")
	}
	if a, b := run(1), run(2); reflect.DeepEqual(a, b) {
		t.Fatal("different seeds, same placements")
	}
	counts := map[string]int{}
	for _, id := range run(3) {
		counts[id]++
	}
	for _, id := range []string{"a", "b", "c", "d"} {
		if counts[id] < 60 {
			t.Errorf("random placed %d of 400 on %s: %v", counts[id], id, counts)
		}
	}

	// spread then random: random only breaks ties among the least-used zone.
	task.Strategies = mustStrategies(t, "spread:attribute:ecs.availability-zone", "random")
	ps, _ := Place(snap, repeat(task, 100), Options{Rand: rand.New(rand.NewPCG(9, 9))})
	byAZ := map[string]int{}
	for _, p := range ps {
		byAZ[map[string]string{"a": "a", "b": "a", "c": "b", "d": "b"}[p.InstanceID]]++
	}
	if byAZ["a"] != 50 || byAZ["b"] != 50 {
		t.Errorf("spread+random by zone = %v, want 50/50", byAZ)
	}
	// random placed first makes later strategies irrelevant but valid.
	task.Strategies = mustStrategies(t, "random", "binpack:memory")
	if ps, _ := Place(snap, repeat(task, 10), Options{}); len(ps) != 10 {
		t.Errorf("random+binpack placed %d of 10", len(ps))
	}
}

func TestDrainingAndAgent(t *testing.T) {
	snap := cluster(t, `
		drain status=DRAINING mem=100000
		off   agent=false mem=100000
		ok    mem=1024
	`)
	ps, fs := placeModes(t, snap, repeat(Task{Memory: 512}, 3), 1)
	if got := where(3, ps); !reflect.DeepEqual(got, []string{"ok", "ok", ""}) {
		t.Errorf("placed on %v", got)
	}
	if got := failureMap(fs); !reflect.DeepEqual(got, map[string]string{"off": ReasonAgent, "ok": ReasonMemory}) {
		t.Errorf("failures = %v", got)
	}
}

func TestDistinctInstance(t *testing.T) {
	snap := cluster(t, `
		a groups=web:1
		b
		c groups=db:2
		d
	`)
	task := Task{Memory: 1, Group: "web", Constraints: []Constraint{mustConstraint(t, "distinctInstance", "")},
		Strategies: mustStrategies(t, "binpack:memory")}
	ps, fs := placeModes(t, snap, repeat(task, 4), 1)
	if got := where(4, ps); !reflect.DeepEqual(got, []string{"b", "c", "d", ""}) {
		t.Errorf("placed on %v", got)
	}
	if len(fs) != 4 {
		t.Errorf("failures = %v", fs)
	}
	for _, f := range fs {
		if f.Reason != ReasonDistinctInstance {
			t.Errorf("failure %+v", f)
		}
	}
}

func TestMemberOf(t *testing.T) {
	snap := cluster(t, `
		t2a type=t2.micro az=us-east-1a
		t2d type=t2.large az=us-east-1d
		m4a type=m4.large az=us-east-1a attr:stack=prod
		g2b type=g2.2xlarge az=us-east-1b groups=service:db:1 mem=4096
	`)
	tests := []struct {
		expr string
		want []string // eligible instances
	}{
		{"attribute:ecs.instance-type =~ t2.*", []string{"t2a", "t2d"}},
		{"attribute:ecs.instance-type =~ t2.* and attribute:ecs.availability-zone != us-east-1d", []string{"t2a"}},
		{"attribute:ecs.availability-zone in [us-east-1a, us-east-1b]", []string{"g2b", "m4a", "t2a"}},
		{"attribute:stack exists", []string{"m4a"}},
		{"ec2InstanceId in ['i-t2a', 'i-g2b']", []string{"g2b", "t2a"}},
		{"task:group == service:db", []string{"g2b"}},
		{"not(task:group == service:db)", []string{"m4a", "t2a", "t2d"}},
	}
	for _, tt := range tests {
		task := Task{Memory: 1, Group: "x", Constraints: []Constraint{mustConstraint(t, "memberOf", tt.expr)},
			Strategies: mustStrategies(t, "spread:instanceId")}
		ps, fs := placeModes(t, snap, repeat(task, 8), 1)
		got := sortedKeys(countBy(ps))
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: placed on %v, want %v", tt.expr, got, tt.want)
		}
		if len(fs) != 0 {
			t.Errorf("%s: failures %v", tt.expr, fs)
		}
	}
}

func TestDynamicConstraintsSeeTheBatch(t *testing.T) {
	snap := cluster(t, `
		a running=0
		b running=1
		c running=0
	`)
	// runningTasksCount counts tasks placed earlier in the batch.
	task := Task{Memory: 1, Group: "g", Constraints: []Constraint{mustConstraint(t, "memberOf", "runningTasksCount < 2")},
		Strategies: mustStrategies(t, "binpack:memory")}
	ps, fs := placeModes(t, snap, repeat(task, 6), 1)
	if got := countBy(ps); !reflect.DeepEqual(got, map[string]int{"a": 2, "b": 1, "c": 2}) {
		t.Errorf("placed %v", got)
	}
	if got := failureMap(fs); len(got) != 3 || got["a"] != ReasonMemberOf {
		t.Errorf("failures = %v", fs)
	}

	// Affinity: follow the first task of group "db" placed in this batch.
	db := Task{Memory: 1, Group: "db", Constraints: []Constraint{mustConstraint(t, "memberOf", "ec2InstanceId == i-c")}}
	app := Task{Memory: 1, Group: "app", Constraints: []Constraint{mustConstraint(t, "memberOf", "task:group == db")}}
	ps, _ = placeModes(t, snap, []Task{app, db, app, app}, 1)
	if got := where(4, ps); !reflect.DeepEqual(got, []string{"", "c", "c", "c"}) {
		t.Errorf("affinity placed %v", got)
	}
}

func TestPorts(t *testing.T) {
	snap := cluster(t, `
		a tcp=80,22 udp=53
		b tcp=22
	`)
	web := Task{Memory: 1, Ports: []Port{{HostPort: 80}}, Strategies: mustStrategies(t, "binpack:memory")}
	ps, fs := placeModes(t, snap, repeat(web, 2), 1)
	if got := where(2, ps); !reflect.DeepEqual(got, []string{"b", ""}) {
		t.Errorf("fixed port placed %v", got)
	}
	if got := failureMap(fs); !reflect.DeepEqual(got, map[string]string{"a": ReasonPorts, "b": ReasonPorts}) {
		t.Errorf("failures %v", got)
	}

	dns := Task{Memory: 1, Ports: []Port{{HostPort: 53, Protocol: UDP}, {HostPort: 53}}}
	ps, _ = placeModes(t, snap, []Task{dns}, 1)
	if got := where(1, ps); got[0] != "b" {
		t.Errorf("udp port placed %v", got)
	}

	dup := Task{Memory: 1, Ports: []Port{{HostPort: 8080}, {HostPort: 8080}}}
	if ps, fs := Place(snap, []Task{dup}, Options{}); len(ps) != 0 || len(fs) != 2 || fs[0].Reason != ReasonPorts {
		t.Errorf("duplicate host port: %v %v", ps, fs)
	}

	// Dynamic ports come from the ephemeral range, skip used ones, and a
	// fixed port of the same task is never handed out twice.
	used := cluster(t, "x tcp=49153,49154,49156")
	dyn := Task{Memory: 1, Ports: []Port{{HostPort: 49155}, {}, {}, {Protocol: UDP}}}
	ps, _ = placeModes(t, used, repeat(dyn, 2), 1)
	if len(ps) != 1 { // the second copy needs 49155 too
		t.Fatalf("dynamic placements %v", ps)
	}
	if got := ps[0].HostPorts; !reflect.DeepEqual(got, []int{49155, 49157, 49158, 49153}) {
		t.Errorf("first host ports %v", got)
	}
	// The second task needs 49155 again: taken by the first.
	dyn2 := Task{Memory: 1, Ports: []Port{{}, {}}}
	ps, _ = placeModes(t, used, []Task{dyn, dyn2}, 1)
	if got := ps[1].HostPorts; !reflect.DeepEqual(got, []int{49159, 49160}) {
		t.Errorf("second host ports %v", got)
	}

	// Exhaust the range.
	var all []int
	for p := EphemeralPortMin; p <= EphemeralPortMax-1; p++ {
		all = append(all, p)
	}
	full := []Instance{{ID: "f", Status: StatusActive, AgentConnected: true, RemainingMemory: 10, UsedTCPPorts: all}}
	ps, fs = placeModes(t, full, repeat(Task{Ports: []Port{{}}}, 2), 1)
	if len(ps) != 1 || ps[0].HostPorts[0] != EphemeralPortMax || len(fs) != 1 || fs[0].Reason != ReasonPorts {
		t.Errorf("exhausted range: %v %v", ps, fs)
	}
}

func TestSnapshotNotModified(t *testing.T) {
	snap := cluster(t, `
		a az=a tcp=80 groups=g:1
		b az=b
	`)
	before := fmt.Sprintf("%+v", snap)
	ps, _ := Place(snap, repeat(Task{CPU: 10, Memory: 10, Group: "g", Ports: []Port{{}}}, 10), Options{})
	if len(ps) != 10 {
		t.Fatalf("placed %d", len(ps))
	}
	if after := fmt.Sprintf("%+v", snap); after != before {
		t.Errorf("snapshot modified:\n%s\n%s", before, after)
	}
}

func TestMixedShapesShareState(t *testing.T) {
	snap := cluster(t, `
		a az=a mem=1000 cpu=1000
		b az=b mem=1000 cpu=1000
	`)
	big := Task{Memory: 600, Group: "big", Strategies: mustStrategies(t, "binpack:memory")}
	small := Task{Memory: 300, Group: "small", Strategies: mustStrategies(t, "spread:attribute:ecs.availability-zone", "binpack:memory")}
	var tasks []Task
	for range 6 {
		tasks = append(tasks, big, small, small)
	}
	ps, _ := placeModes(t, snap, tasks, 1)
	used := map[string]int{}
	for _, p := range ps {
		used[p.InstanceID] += tasks[p.TaskIndex].Memory
	}
	for id, m := range used {
		if m > 1000 {
			t.Errorf("%s overcommitted: %d MiB", id, m)
		}
	}
}

func TestEmptyInputs(t *testing.T) {
	if ps, fs := Place(nil, []Task{{Memory: 1}}, Options{}); len(ps) != 0 || len(fs) != 0 {
		t.Errorf("no instances: %v %v", ps, fs)
	}
	if ps, fs := Place(cluster(t, "a"), nil, Options{}); len(ps) != 0 || len(fs) != 0 {
		t.Errorf("no tasks: %v %v", ps, fs)
	}
}

func TestIndexDropsAndReorders(t *testing.T) {
	// CPU runs out before memory: the index must drop CPU-exhausted
	// instances and keep honouring binpack on memory.
	var desc string
	for i := range 30 {
		desc += fmt.Sprintf("i%02d az=%c cpu=1024 mem=%d\n", i, 'a'+i%3, 4096+i*16)
	}
	snap := cluster(t, desc)
	task := Task{CPU: 256, Memory: 128, Group: "g",
		Strategies: mustStrategies(t, "spread:attribute:ecs.availability-zone", "binpack:memory")}
	ps, fs := placeModes(t, snap, repeat(task, 125), 3)
	if len(ps) != 120 {
		t.Errorf("placed %d, want 120 (4 per instance)", len(ps))
	}
	if len(fs) != 30 {
		t.Errorf("failures %d, want 30", len(fs))
	}
	if got := countBy(ps); len(got) != 30 {
		t.Errorf("used %d instances", len(got))
	}
}

func TestPlaceOn(t *testing.T) {
	snap := cluster(t, `
		a mem=1000
		b mem=100
		c status=DRAINING
		d agent=false
	`)
	ps, fs := PlaceOn(snap, Task{Memory: 400, Ports: []Port{{}}}, []string{"a", "a", "a", "b", "c", "d", "zz"})
	if got := fmt.Sprint(ps); got != "[{0 a [49153]} {1 a [49154]}]" {
		t.Errorf("placements %s", got)
	}
	var reasons []string
	for _, f := range fs {
		reasons = append(reasons, fmt.Sprint(f.TaskIndex, f.Arn, f.Reason))
	}
	want := []string{"2a" + ReasonMemory, "3b" + ReasonMemory, "4c" + ReasonInactive, "5d" + ReasonAgent, "6zz" + ReasonMissing}
	if !reflect.DeepEqual(reasons, want) {
		t.Errorf("failures %v\nwant %v", reasons, want)
	}
	if _, fs := PlaceOn(snap, Task{Memory: -1}, []string{"a"}); len(fs) != 1 || fs[0].Reason != ReasonInvalid {
		t.Errorf("invalid task: %v", fs)
	}
}

func TestDefaultStrategiesOverride(t *testing.T) {
	snap := cluster(t, `
		a az=a mem=4096
		b az=a mem=1024
		c az=b mem=2048
	`)
	task := Task{Memory: 512, Group: "g"}
	ps, _ := Place(snap, repeat(task, 3), Options{})
	if got := where(3, ps); !reflect.DeepEqual(got, []string{"a", "c", "b"}) {
		t.Errorf("default chain placed %v", got)
	}
	ps, _ = Place(snap, repeat(task, 3), Options{DefaultStrategies: mustStrategies(t, "binpack:memory")})
	if got := where(3, ps); !reflect.DeepEqual(got, []string{"b", "b", "c"}) {
		t.Errorf("binpack default placed %v", got)
	}
}

func TestExprConcurrentUse(t *testing.T) {
	e := MustParse("attribute:ecs.instance-type =~ t2.* and not task:group == db")
	snap := cluster(t, `
		a type=t2.micro
		b type=m4.large groups=db:1
	`)
	done := make(chan bool)
	for range 4 {
		go func() {
			ok := true
			for range 1000 {
				ok = ok && e.Matches(&snap[0]) && !e.Matches(&snap[1])
			}
			done <- ok
		}()
	}
	for range 4 {
		if !<-done {
			t.Error("concurrent Matches disagreed")
		}
	}
	// Place calls sharing one parsed constraint run concurrently too.
	c := Constraint{Type: MemberOf, Expr: e}
	for range 4 {
		go func() {
			ps, _ := Place(snap, repeat(Task{Memory: 1, Constraints: []Constraint{c}}, 20), Options{})
			done <- len(ps) == 20
		}()
	}
	for range 4 {
		if !<-done {
			t.Error("concurrent Place failed")
		}
	}
}
