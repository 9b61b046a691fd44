package placement

import (
	"strconv"
	"strings"
)

// A shape is everything placement needs to know about a task that is not
// its position in the batch: resources, ports, group, constraints and
// strategies. Tasks of one shape share compiled constraints, the list of
// statically eligible instances and the ordered index.
type shape struct {
	task *Task // first task of the shape (field values only)

	cpu, mem, gpu int
	gi            int // group index in engine.groups
	distinct      bool
	dynamic       []*Expr // memberOf expressions re-evaluated per candidate

	hasPorts        bool
	portsImpossible bool     // the task itself asks for one host port twice
	fixed           []uint32 // fixed host ports (portKey)
	fixedEphemeral  [2]int   // fixed ports inside the ephemeral range, per protocol
	dyn             [2]int   // dynamic ports needed, per protocol

	keys     []keySpec // strategy chain
	randomAt int       // position of the random strategy in keys, or -1
	attrs    []spreadAttr

	alive    []int32 // statically eligible instances that may still fit (scan path)
	idx      *index
	uses     int
	failedAt uint64 // engine.version+1 when the last failure was recorded
}

type keyKind uint8

const (
	keySpreadAttr keyKind = iota + 1
	keySpreadInstance
	keyBinpackCPU
	keyBinpackMemory
	keyRandom
)

type keySpec struct {
	kind keyKind
	attr int // index into shape.attrs for keySpreadAttr
}

// spreadAttr tracks, for one spread(attribute) strategy, each instance's
// value and how many tasks of the shape's group run per value.
type spreadAttr struct {
	name   string
	vid    []int32 // value id per instance; 0 = attribute absent
	counts []int   // tasks of the group per value id
}

// sameShape reports whether b has the same shape as a (cheap: batches are
// usually N copies of one task).
func sameShape(a, b *Task) bool {
	if a == b {
		return true
	}
	if a.CPU != b.CPU || a.Memory != b.Memory || a.GPU != b.GPU || a.Group != b.Group ||
		len(a.Ports) != len(b.Ports) || len(a.Constraints) != len(b.Constraints) ||
		len(a.Strategies) != len(b.Strategies) || len(a.RequiredAttributes) != len(b.RequiredAttributes) {
		return false
	}
	for i := range a.Ports {
		if a.Ports[i] != b.Ports[i] {
			return false
		}
	}
	for i := range a.Constraints {
		ca, cb := a.Constraints[i], b.Constraints[i]
		if ca.Type != cb.Type || (ca.Expr != cb.Expr && (ca.Expr == nil || cb.Expr == nil || ca.Expr.canon != cb.Expr.canon)) {
			return false
		}
	}
	for i := range a.Strategies {
		if a.Strategies[i] != b.Strategies[i] {
			return false
		}
	}
	for i := range a.RequiredAttributes {
		if a.RequiredAttributes[i] != b.RequiredAttributes[i] {
			return false
		}
	}
	return true
}

func (e *engine) shapeKey(t *Task) string {
	b := &e.keyBuf
	b.Reset()
	sep := func() { b.WriteByte(0) }
	b.WriteString(strconv.Itoa(t.CPU))
	sep()
	b.WriteString(strconv.Itoa(t.Memory))
	sep()
	b.WriteString(strconv.Itoa(t.GPU))
	sep()
	b.WriteString(t.Group)
	sep()
	for _, p := range t.Ports {
		b.WriteString(strconv.Itoa(p.HostPort))
		b.WriteString(string(p.Protocol))
		b.WriteByte(1)
	}
	sep()
	for _, c := range t.Constraints {
		b.WriteString(string(c.Type))
		if c.Expr != nil {
			b.WriteString(c.Expr.canon)
		}
		b.WriteByte(1)
	}
	sep()
	for _, s := range t.Strategies {
		b.WriteString(string(s.Type))
		b.WriteByte(2)
		b.WriteString(s.Field)
		b.WriteByte(1)
	}
	sep()
	for _, a := range t.RequiredAttributes {
		b.WriteString(a.Name)
		b.WriteByte(2)
		b.WriteString(a.Value)
		b.WriteByte(1)
	}
	return b.String()
}

// shapeFor returns the compiled shape of t, building it on first sight.
func (e *engine) shapeFor(t *Task) (*shape, error) {
	key := e.shapeKey(t)
	if s, ok := e.shapes[key]; ok {
		return s, nil
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	s := &shape{task: t, cpu: t.CPU, mem: t.Memory, gpu: t.GPU, gi: e.group(t.Group), randomAt: -1}

	// Ports.
	seen := map[uint32]bool{}
	for _, p := range t.Ports {
		s.hasPorts = true
		proto := protoIndex(p.Protocol)
		if p.HostPort == 0 {
			s.dyn[proto]++
			continue
		}
		k := portKey(proto, p.HostPort)
		if seen[k] {
			s.portsImpossible = true
		}
		seen[k] = true
		s.fixed = append(s.fixed, k)
		if isEphemeral(p.HostPort) {
			s.fixedEphemeral[proto]++
		}
	}

	// Constraints: static memberOf expressions are evaluated once per
	// instance here; dynamic ones are kept for per-candidate checks.
	var static [][]bool
	for _, c := range t.Constraints {
		switch {
		case c.Type == DistinctInstance:
			s.distinct = true
		case c.Expr.dynamic:
			s.dynamic = append(s.dynamic, c.Expr)
		default:
			static = append(static, e.staticMatches(c.Expr))
		}
	}

	// Strategies.
	strategies := t.Strategies
	if len(strategies) == 0 {
		strategies = e.defaults
	}
	for _, st := range strategies {
		if s.randomAt >= 0 {
			break // random picks one candidate: later rules cannot matter
		}
		switch st.Type {
		case Random:
			s.randomAt = len(s.keys)
			s.keys = append(s.keys, keySpec{kind: keyRandom})
		case Binpack:
			if strings.EqualFold(st.Field, "cpu") {
				s.keys = append(s.keys, keySpec{kind: keyBinpackCPU})
			} else {
				s.keys = append(s.keys, keySpec{kind: keyBinpackMemory})
			}
		case Spread:
			if st.Field == "instanceId" || st.Field == "host" {
				s.keys = append(s.keys, keySpec{kind: keySpreadInstance})
				continue
			}
			s.keys = append(s.keys, keySpec{kind: keySpreadAttr, attr: len(s.attrs)})
			s.attrs = append(s.attrs, e.newSpreadAttr(strings.TrimPrefix(st.Field, "attribute:"), s.gi))
		}
	}

	// Statically eligible instances: ACTIVE, agent connected, required
	// attributes present, static memberOf expressions true.
	s.alive = make([]int32, 0, len(e.snap))
next:
	for x := range e.snap {
		in := &e.snap[x]
		if in.Status != StatusActive || !in.AgentConnected {
			continue
		}
		for _, a := range t.RequiredAttributes {
			if v, ok := in.Attributes[a.Name]; !ok || (a.Value != "" && v != a.Value) {
				continue next
			}
		}
		for _, m := range static {
			if !m[x] {
				continue next
			}
		}
		s.alive = append(s.alive, int32(x))
	}

	e.shapes[key] = s
	e.shapeList = append(e.shapeList, s)
	return s, nil
}

// staticMatches evaluates a static expression against every instance once
// per batch, shared by all shapes that use it.
func (e *engine) staticMatches(x *Expr) []bool {
	if m, ok := e.exprCache[x.canon]; ok {
		return m
	}
	m := make([]bool, len(e.snap))
	memo := map[reKey]bool{}
	for i := range e.snap {
		v := e.envFor(i)
		v.reMemo = memo
		m[i] = x.root.eval(v)
	}
	e.exprCache[x.canon] = m
	return m
}

// newSpreadAttr assigns value ids for attribute name and counts the tasks
// of group gi per value, over every instance of the snapshot.
func (e *engine) newSpreadAttr(name string, gi int) spreadAttr {
	a := spreadAttr{name: name, vid: make([]int32, len(e.snap)), counts: []int{0}}
	ids := map[string]int32{}
	count := e.groups[gi].count
	for x := range e.snap {
		v, ok := e.snap[x].Attributes[name]
		if ok {
			id, seen := ids[v]
			if !seen {
				id = int32(len(a.counts))
				ids[v] = id
				a.counts = append(a.counts, 0)
			}
			a.vid[x] = id
		}
		a.counts[a.vid[x]] += int(count[x])
	}
	return a
}
