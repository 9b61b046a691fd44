package placement

import (
	"encoding/binary"
	"slices"
)

// index orders a shape's candidates so a placement looks at a handful of
// instances instead of all of them.
//
// Instances are partitioned by their values of the spread(attribute)
// fields: within a partition those keys are equal, so the partition is kept
// sorted by the remaining, per-instance keys (binpack remaining resource,
// spread(instanceId) group count) and then snapshot order. The best
// candidate of a partition is its first member that fits; the best overall
// is the best of those under the whole strategy chain. Members that can no
// longer fit are dropped for good (resources only shrink within a batch),
// and after each placement the chosen instance is re-sorted in every index.
type index struct {
	parts    []partition
	partOf   []int32 // partition of each instance, -1 if not a member
	instKeys []keySpec
}

type partition struct {
	vids    []int32 // value id per spread attribute
	members []int32 // sorted by instKeys, then instance index
}

func (e *engine) buildIndex(s *shape) {
	ix := &index{partOf: make([]int32, len(e.snap))}
	for i := range ix.partOf {
		ix.partOf[i] = -1
	}
	for _, k := range s.keys {
		if k.kind != keySpreadAttr {
			ix.instKeys = append(ix.instKeys, k)
		}
	}
	byKey := map[string]int32{}
	var kb []byte
	for _, x := range s.alive {
		kb = kb[:0]
		for j := range s.attrs {
			kb = binary.LittleEndian.AppendUint32(kb, uint32(s.attrs[j].vid[x]))
		}
		p, ok := byKey[string(kb)]
		if !ok {
			vids := make([]int32, len(s.attrs))
			for j := range s.attrs {
				vids[j] = s.attrs[j].vid[x]
			}
			p = int32(len(ix.parts))
			ix.parts = append(ix.parts, partition{vids: vids})
			byKey[string(kb)] = p
		}
		ix.parts[p].members = append(ix.parts[p].members, x)
		ix.partOf[x] = p
	}
	for i := range ix.parts {
		slices.SortFunc(ix.parts[i].members, func(a, b int32) int { return e.cmpInst(s, ix, a, b) })
	}
	s.idx = ix
	s.alive = nil
}

// cmpInst orders two members of one partition.
func (e *engine) cmpInst(s *shape, ix *index, a, b int32) int {
	if c := e.compare(s, ix.instKeys, a, b); c != 0 {
		return c
	}
	return int(a) - int(b)
}

func (e *engine) pickIndexed(s *shape) int32 {
	ix := s.idx
	best := int32(-1)
	for pi := range ix.parts {
		x := e.firstFit(s, ix, &ix.parts[pi])
		if x < 0 {
			continue
		}
		if best < 0 {
			best = x
			continue
		}
		if c := e.compare(s, s.keys, x, best); c < 0 || (c == 0 && x < best) {
			best = x
		}
	}
	return best
}

// firstFit returns the first member of p that fits, dropping members that
// never will again.
func (e *engine) firstFit(s *shape, ix *index, p *partition) int32 {
	m := p.members
	w, found := 0, int32(-1)
	r := 0
	for ; r < len(m); r++ {
		x := m[r]
		f := e.fit(s, x)
		if f == fitDead {
			ix.partOf[x] = -1
			continue
		}
		m[w] = x
		w++
		if f == fitOK {
			found = x
			r++
			break
		}
	}
	if w != r {
		n := copy(m[w:], m[r:])
		p.members = m[:w+n]
	}
	return found
}

// unindex removes x from s's index; call it before x's keys change.
func (e *engine) unindex(s *shape, x int32) {
	ix := s.idx
	p := &ix.parts[ix.partOf[x]]
	m := p.members
	i, ok := slices.BinarySearchFunc(m, x, func(a, b int32) int { return e.cmpInst(s, ix, a, b) })
	if !ok || m[i] != x {
		i = slices.Index(m, x) // defensive: the order invariant should make this unreachable
	}
	p.members = slices.Delete(m, i, i+1)
}

// reindex inserts x back into its partition at its new position.
func (e *engine) reindex(s *shape, x int32) {
	ix := s.idx
	p := &ix.parts[ix.partOf[x]]
	i, _ := slices.BinarySearchFunc(p.members, x, func(a, b int32) int { return e.cmpInst(s, ix, a, b) })
	p.members = slices.Insert(p.members, i, x)
}
