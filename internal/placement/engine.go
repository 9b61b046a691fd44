package placement

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// Wharf-specific failure reasons. ReasonInvalid marks a task that failed
// Task.Validate (the ECS service validates first, so it never sees it);
// ReasonInactive is PlaceOn's answer for a named instance that is not
// ACTIVE.
const (
	ReasonInvalid  = "INVALID"
	ReasonInactive = "INACTIVE"
)

// Place decides where each task goes. It is a pure function of its inputs:
// it reads no clock, does no I/O, starts no goroutine and never modifies
// snapshot or tasks. Tasks are placed in order and each placement updates
// the engine's copy of the snapshot (remaining resources, ports, task
// groups, running counts), so the whole batch is consistent.
//
// For each task Place keeps the ACTIVE instances with a connected agent, the
// required attributes, enough CPU, memory, GPU and free host ports and that
// satisfy every constraint; then it applies the strategies in order, each
// narrowing the candidates to the best ones for that rule (spread: the
// least-used value of the field; binpack: the least remaining resource;
// random: one at random), and takes the first remaining instance in snapshot
// order. A task that fits nowhere gets no Placement; Failures then explain,
// per instance, why it was rejected.
func Place(snapshot []Instance, tasks []Task, opts Options) ([]Placement, []Failure) {
	e := newEngine(snapshot, opts)
	return e.run(tasks)
}

// pickMode chooses between the linear scan and the ordered index; tests
// force each to check that both decide alike.
type pickMode uint8

const (
	modeAuto pickMode = iota
	modeScan
	modeIndex
)

// indexAfter is how many tasks of one shape are placed by scanning before
// the ordered index is built; RunTask calls (count <= 10) never pay for
// sorting.
const indexAfter = 10

type groupState struct {
	name  string
	count []int32 // tasks of the group per instance, snapshot plus batch
}

type portState struct {
	used map[uint32]struct{} // proto<<16 | port
	free [2]int              // free ephemeral ports per protocol
	next [2]int              // dynamic-port cursor per protocol
}

type engine struct {
	snap     []Instance
	cpu      []int
	mem      []int
	gpu      []int
	running  []int
	ports    []*portState
	groupIDs map[string]int
	groups   []groupState
	rng      *rand.Rand
	defaults []Strategy
	mode     pickMode

	shapes    map[string]*shape
	shapeList []*shape
	exprCache map[string][]bool

	version     uint64 // bumped on every placement
	reported    []bool
	allReported bool
	failures    []Failure
	detached    []*shape
	keyBuf      strings.Builder
	env         evalEnv // reused: a local would escape through node.eval
}

// envFor points the engine's evaluation environment at instance x.
func (e *engine) envFor(x int) *evalEnv {
	e.env = evalEnv{inst: &e.snap[x], running: e.running[x], eng: e, idx: x}
	return &e.env
}

func newEngine(snapshot []Instance, opts Options) *engine {
	n := len(snapshot)
	e := &engine{
		snap:      snapshot,
		cpu:       make([]int, n),
		mem:       make([]int, n),
		gpu:       make([]int, n),
		running:   make([]int, n),
		ports:     make([]*portState, n),
		groupIDs:  map[string]int{},
		rng:       opts.Rand,
		defaults:  opts.DefaultStrategies,
		shapes:    map[string]*shape{},
		exprCache: map[string][]bool{},
		reported:  make([]bool, n),
	}
	if e.rng == nil {
		e.rng = rand.New(rand.NewPCG(0x5eed, 0x77a2f))
	}
	if e.defaults == nil {
		e.defaults = DefaultStrategies()
	}
	for i := range snapshot {
		in := &snapshot[i]
		e.cpu[i], e.mem[i], e.gpu[i], e.running[i] = in.RemainingCPU, in.RemainingMemory, in.RemainingGPU, in.RunningTasksCount
	}
	return e
}

func (e *engine) run(tasks []Task) ([]Placement, []Failure) {
	placements := make([]Placement, 0, len(tasks))
	var s *shape
	for i := range tasks {
		t := &tasks[i]
		if s == nil || !sameShape(s.task, t) {
			var err error
			s, err = e.shapeFor(t)
			if err != nil {
				e.failures = append(e.failures, Failure{TaskIndex: i, Reason: ReasonInvalid, Detail: err.Error()})
				s = nil
				continue
			}
		}
		x := e.pick(s)
		if x < 0 {
			e.fail(s, i)
			continue
		}
		placements = append(placements, Placement{TaskIndex: i, InstanceID: e.snap[x].ID, HostPorts: e.place(s, x)})
	}
	return placements, e.failures
}

// group returns the index of group name, creating its per-instance counts.
func (e *engine) group(name string) int {
	if gi, ok := e.groupIDs[name]; ok {
		return gi
	}
	c := make([]int32, len(e.snap))
	for i := range e.snap {
		if n := e.snap[i].TaskGroups[name]; n > 0 {
			c[i] = int32(n)
		}
	}
	e.groups = append(e.groups, groupState{name: name, count: c})
	e.groupIDs[name] = len(e.groups) - 1
	return len(e.groups) - 1
}

func protoIndex(p Protocol) int {
	if p == UDP {
		return 1
	}
	return 0
}

func portKey(proto, port int) uint32 { return uint32(proto)<<16 | uint32(port) }

func isEphemeral(port int) bool { return port >= EphemeralPortMin && port <= EphemeralPortMax }

// portsOf returns the batch's view of instance x's ports, built on first use.
func (e *engine) portsOf(x int32) *portState {
	if ps := e.ports[x]; ps != nil {
		return ps
	}
	in := &e.snap[x]
	ps := &portState{used: make(map[uint32]struct{}, len(in.UsedTCPPorts)+len(in.UsedUDPPorts))}
	for proto, list := range [2][]int{in.UsedTCPPorts, in.UsedUDPPorts} {
		ps.free[proto] = EphemeralPortMax - EphemeralPortMin + 1
		ps.next[proto] = EphemeralPortMin
		for _, p := range list {
			k := portKey(proto, p)
			if _, dup := ps.used[k]; dup {
				continue
			}
			ps.used[k] = struct{}{}
			if isEphemeral(p) {
				ps.free[proto]--
			}
		}
	}
	e.ports[x] = ps
	return ps
}

type fitResult uint8

const (
	fitOK   fitResult = iota
	fitDead           // cannot fit for the rest of the batch: resources only shrink
	fitSkip           // a dynamic constraint fails now; may hold later
)

// fit checks instance x, already known statically eligible for s.
func (e *engine) fit(s *shape, x int32) fitResult {
	if e.cpu[x] < s.cpu || e.mem[x] < s.mem || e.gpu[x] < s.gpu {
		return fitDead
	}
	if s.hasPorts && !e.portsFit(s, x) {
		return fitDead
	}
	if s.distinct && e.groups[s.gi].count[x] > 0 {
		return fitDead
	}
	if len(s.dynamic) > 0 {
		v := e.envFor(int(x))
		for _, d := range s.dynamic {
			if !d.root.eval(v) {
				return fitSkip
			}
		}
	}
	return fitOK
}

func (e *engine) portsFit(s *shape, x int32) bool {
	if s.portsImpossible {
		return false
	}
	ps := e.ports[x]
	if ps == nil {
		if in := &e.snap[x]; len(in.UsedTCPPorts)+len(in.UsedUDPPorts) <= 32 {
			return e.portsFitSnapshot(s, x)
		}
		ps = e.portsOf(x)
	}
	for _, k := range s.fixed {
		if _, used := ps.used[k]; used {
			return false
		}
	}
	for proto := range 2 {
		if s.dyn[proto] > 0 && ps.free[proto]-s.fixedEphemeral[proto] < s.dyn[proto] {
			return false
		}
	}
	return true
}

// portsFitSnapshot is portsFit for an instance the batch has not given
// ports yet: the snapshot's short port lists are read directly instead of
// building a port map for every instance a RunTask call looks at.
func (e *engine) portsFitSnapshot(s *shape, x int32) bool {
	in := &e.snap[x]
	for _, k := range s.fixed {
		list := in.UsedTCPPorts
		if k>>16 == 1 {
			list = in.UsedUDPPorts
		}
		if slices.Contains(list, int(k&0xffff)) {
			return false
		}
	}
	for proto, list := range [2][]int{in.UsedTCPPorts, in.UsedUDPPorts} {
		if s.dyn[proto] == 0 {
			continue
		}
		used := 0
		for i, p := range list {
			if isEphemeral(p) && !slices.Contains(list[:i], p) {
				used++
			}
		}
		if EphemeralPortMax-EphemeralPortMin+1-used-s.fixedEphemeral[proto] < s.dyn[proto] {
			return false
		}
	}
	return true
}

// pick returns the instance for the next task of shape s, or -1.
func (e *engine) pick(s *shape) int32 {
	s.uses++
	if s.idx == nil && s.randomAt < 0 && (e.mode == modeIndex || (e.mode == modeAuto && s.uses > indexAfter)) {
		e.buildIndex(s)
	}
	if s.idx != nil {
		return e.pickIndexed(s)
	}
	if s.randomAt == 0 {
		if x := e.pickRandom(s); x >= 0 {
			return x
		}
	}
	return e.pickScan(s)
}

// pickRandom serves a chain that starts with random by rejection sampling:
// a uniformly drawn live candidate that fits is a uniform draw among those
// that fit. Candidates that can never fit again are dropped as they are
// drawn; after a few misses the caller falls back to a full scan, which
// also decides that nothing fits.
func (e *engine) pickRandom(s *shape) int32 {
	for range 32 {
		if len(s.alive) == 0 {
			return -1
		}
		i := e.rng.IntN(len(s.alive))
		x := s.alive[i]
		switch e.fit(s, x) {
		case fitOK:
			return x
		case fitDead:
			last := len(s.alive) - 1
			s.alive[i] = s.alive[last]
			s.alive = s.alive[:last]
		}
	}
	return -1
}

// pickScan walks the shape's live candidates, dropping those that can no
// longer fit, and keeps the best by the strategy chain.
func (e *engine) pickScan(s *shape) int32 {
	best, ties := int32(-1), 0
	keys := s.keys
	if s.randomAt >= 0 {
		keys = keys[:s.randomAt]
	}
	m := s.alive
	w := 0
	for r := 0; r < len(m); r++ {
		x := m[r]
		f := e.fit(s, x)
		if f == fitDead {
			continue
		}
		m[w] = x
		w++
		if f != fitOK {
			continue
		}
		if best < 0 {
			best, ties = x, 1
			continue
		}
		c := e.compare(s, keys, x, best)
		switch {
		case c < 0:
			best, ties = x, 1
		case c == 0 && s.randomAt >= 0:
			ties++
			if e.rng.IntN(ties) == 0 {
				best = x
			}
		}
	}
	s.alive = m[:w]
	return best
}

// compare orders x and y by the strategy keys (without the final
// snapshot-order tie-break): negative when x is better.
func (e *engine) compare(s *shape, keys []keySpec, x, y int32) int {
	for _, k := range keys {
		a, b := e.keyVal(s, k, x), e.keyVal(s, k, y)
		if a != b {
			if a < b {
				return -1
			}
			return 1
		}
	}
	return 0
}

func (e *engine) keyVal(s *shape, k keySpec, x int32) int {
	switch k.kind {
	case keySpreadAttr:
		a := &s.attrs[k.attr]
		return a.counts[a.vid[x]]
	case keySpreadInstance:
		return int(e.groups[s.gi].count[x])
	case keyBinpackCPU:
		return e.cpu[x]
	case keyBinpackMemory:
		return e.mem[x]
	}
	return 0
}

// place commits task shape s to instance x and returns its host ports.
func (e *engine) place(s *shape, x int32) []int {
	e.detached = e.detached[:0]
	for _, t := range e.shapeList {
		if t.idx != nil && t.idx.partOf[x] >= 0 {
			e.unindex(t, x)
			e.detached = append(e.detached, t)
		}
	}

	e.cpu[x] -= s.cpu
	e.mem[x] -= s.mem
	e.gpu[x] -= s.gpu
	e.running[x]++
	e.groups[s.gi].count[x]++
	for _, t := range e.shapeList {
		if t.gi == s.gi {
			for j := range t.attrs {
				a := &t.attrs[j]
				a.counts[a.vid[x]]++
			}
		}
	}
	var hostPorts []int
	if len(s.task.Ports) > 0 {
		hostPorts = e.assignPorts(s, x)
	}
	e.version++

	for _, t := range e.detached {
		if e.fit(t, x) != fitDead {
			e.reindex(t, x)
		} else {
			t.idx.partOf[x] = -1
		}
	}
	return hostPorts
}

func (e *engine) assignPorts(s *shape, x int32) []int {
	ps := e.portsOf(x)
	out := make([]int, len(s.task.Ports))
	for i, p := range s.task.Ports {
		if p.HostPort == 0 {
			continue
		}
		proto := protoIndex(p.Protocol)
		ps.used[portKey(proto, p.HostPort)] = struct{}{}
		if isEphemeral(p.HostPort) {
			ps.free[proto]--
		}
		out[i] = p.HostPort
	}
	for i, p := range s.task.Ports {
		if p.HostPort != 0 {
			continue
		}
		proto := protoIndex(p.Protocol)
		for {
			k := portKey(proto, ps.next[proto])
			if _, used := ps.used[k]; !used {
				break
			}
			ps.next[proto]++
		}
		port := ps.next[proto]
		ps.used[portKey(proto, port)] = struct{}{}
		ps.free[proto]--
		ps.next[proto]++
		out[i] = port
	}
	return out
}

// fail records why shape s could not be placed, once per engine state.
func (e *engine) fail(s *shape, taskIndex int) {
	if e.allReported || s.failedAt == e.version+1 {
		// A task that fits nowhere gives every ACTIVE instance a reason,
		// so after the first full report there is nothing left to add.
		return
	}
	s.failedAt = e.version + 1
	defer func() { e.allReported = true }()
	for x := range e.snap {
		if e.reported[x] || e.snap[x].Status != StatusActive {
			continue
		}
		reason, detail := e.reason(s, int32(x))
		if reason == "" {
			continue
		}
		e.reported[x] = true
		e.failures = append(e.failures, Failure{TaskIndex: taskIndex, Arn: e.snap[x].ID, Reason: reason, Detail: detail})
	}
}

// reason returns the first check instance x fails for shape s, in ECS's
// order: agent, attributes, CPU, memory, GPU, ports, then constraints.
func (e *engine) reason(s *shape, x int32) (string, string) {
	in := &e.snap[x]
	if !in.AgentConnected {
		return ReasonAgent, "the container agent is disconnected"
	}
	for _, a := range s.task.RequiredAttributes {
		v, ok := in.Attributes[a.Name]
		if !ok || (a.Value != "" && v != a.Value) {
			want := a.Name
			if a.Value != "" {
				want += "=" + a.Value
			}
			return ReasonAttribute, "missing required attribute " + want
		}
	}
	if e.cpu[x] < s.cpu {
		return ReasonCPU, need("CPU units", s.cpu, e.cpu[x])
	}
	if e.mem[x] < s.mem {
		return ReasonMemory, need("MiB of memory", s.mem, e.mem[x])
	}
	if e.gpu[x] < s.gpu {
		return ReasonGPU, need("GPUs", s.gpu, e.gpu[x])
	}
	if s.hasPorts && !e.portsFit(s, x) {
		return ReasonPorts, "a required host port is in use or no ephemeral port is free"
	}
	if s.distinct && e.groups[s.gi].count[x] > 0 {
		return ReasonDistinctInstance, "the instance already runs a task of group " + strconv.Quote(s.task.Group)
	}
	v := e.envFor(int(x))
	for _, c := range s.task.Constraints {
		if c.Type == MemberOf && !c.Expr.root.eval(v) {
			return ReasonMemberOf, "the instance does not match " + c.Expr.String()
		}
	}
	return "", ""
}

func need(what string, want, have int) string {
	return "needs " + strconv.Itoa(want) + " " + what + ", " + strconv.Itoa(have) + " remaining"
}

// PlaceOn is StartTask's decision: one copy of task on each named instance,
// with the same checks as Place but no strategies. ids are container
// instance IDs as the snapshot spells them (the caller resolves ARNs);
// unknown IDs fail with MISSING, instances that are not ACTIVE with
// ReasonInactive. Copies are placed in order, so naming an instance twice
// places two tasks on it if they fit.
func PlaceOn(snapshot []Instance, task Task, ids []string) ([]Placement, []Failure) {
	e := newEngine(snapshot, Options{})
	s, err := e.shapeFor(&task)
	if err != nil {
		return nil, []Failure{{Reason: ReasonInvalid, Detail: err.Error()}}
	}
	byID := make(map[string]int32, len(snapshot))
	for i := range snapshot {
		byID[snapshot[i].ID] = int32(i)
	}
	var placements []Placement
	var failures []Failure
	for i, id := range ids {
		x, ok := byID[id]
		switch {
		case !ok:
			failures = append(failures, Failure{TaskIndex: i, Arn: id, Reason: ReasonMissing, Detail: "no such container instance in the cluster"})
			continue
		case snapshot[x].Status != StatusActive:
			failures = append(failures, Failure{TaskIndex: i, Arn: id, Reason: ReasonInactive, Detail: "the container instance is " + snapshot[x].Status})
			continue
		}
		if reason, detail := e.reason(s, x); reason != "" {
			failures = append(failures, Failure{TaskIndex: i, Arn: id, Reason: reason, Detail: detail})
			continue
		}
		placements = append(placements, Placement{TaskIndex: i, InstanceID: id, HostPorts: e.place(s, x)})
	}
	return placements, failures
}
