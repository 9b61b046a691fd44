package placement

import (
	"strconv"
	"strings"
)

// evalEnv is what an expression sees of one instance: the snapshot plus,
// inside Place, the tasks placed earlier in the same batch.
type evalEnv struct {
	inst    *Instance
	running int
	eng     *engine // nil outside Place
	idx     int     // instance index in eng

	// reMemo caches regular-expression results by value while Place
	// evaluates static expressions over the whole snapshot, where few
	// distinct values (instance types, zones) repeat many times.
	reMemo map[reKey]bool
}

type reKey struct {
	n *cmpNode
	v string
}

func (v *evalEnv) match(n *cmpNode, s string) bool {
	if v.reMemo == nil {
		return n.re.MatchString(s)
	}
	k := reKey{n, s}
	if m, ok := v.reMemo[k]; ok {
		return m
	}
	m := n.re.MatchString(s)
	if len(v.reMemo) < 4096 {
		v.reMemo[k] = m
	}
	return m
}

// hasGroup reports whether the instance runs a task of group g.
func (v *evalEnv) hasGroup(g string) bool {
	if v.eng != nil {
		if gi, ok := v.eng.groupIDs[g]; ok {
			return v.eng.groups[gi].count[v.idx] > 0
		}
	}
	return v.inst.TaskGroups[g] > 0
}

// anyGroup reports whether pred holds for a group the instance runs.
func (v *evalEnv) anyGroup(pred func(string) bool) bool {
	for g, n := range v.inst.TaskGroups {
		if n > 0 && pred(g) {
			return true
		}
	}
	if v.eng != nil {
		for gi := range v.eng.groups {
			g := &v.eng.groups[gi]
			if g.count[v.idx] > 0 && v.inst.TaskGroups[g.name] <= 0 && pred(g.name) {
				return true
			}
		}
	}
	return false
}

func (n *andNode) eval(v *evalEnv) bool { return n.l.eval(v) && n.r.eval(v) }
func (n *orNode) eval(v *evalEnv) bool  { return n.l.eval(v) || n.r.eval(v) }
func (n *notNode) eval(v *evalEnv) bool { return !n.x.eval(v) }

func (n *cmpNode) eval(v *evalEnv) bool {
	switch n.kind {
	case subjAttribute:
		val, ok := v.inst.Attributes[n.name]
		return n.evalString(v, val, ok)
	case subjEC2InstanceID:
		return n.evalString(v, v.inst.EC2InstanceID, true)
	case subjAgentConnected:
		return n.evalString(v, strconv.FormatBool(v.inst.AgentConnected), true)
	case subjRegisteredAt:
		at := v.inst.RegisteredAt
		c := at.Compare(n.times[0])
		if n.op == opEquals || n.op == opNotEquals {
			// A bare date compares with the day, not with midnight.
			if !strings.Contains(n.args[0], "T") {
				y1, m1, d1 := at.UTC().Date()
				y2, m2, d2 := n.times[0].Date()
				eq := y1 == y2 && m1 == m2 && d1 == d2
				return eq == (n.op == opEquals)
			}
		}
		return ordered(n.op, c)
	case subjRunningTasks:
		r := v.running
		return ordered(n.op, cmpInt(r, n.ints[0]))
	case subjAgentVersion:
		have, ok := parseVersion(v.inst.AgentVersion)
		if !ok {
			return n.op == opNotEquals
		}
		return ordered(n.op, compareVersions(have, n.vers[0]))
	case subjTaskGroup:
		switch n.op {
		case opEquals:
			return v.hasGroup(n.args[0])
		case opNotEquals:
			return !v.hasGroup(n.args[0])
		case opIn, opNotIn:
			hit := false
			for _, a := range n.args {
				if v.hasGroup(a) {
					hit = true
					break
				}
			}
			return hit == (n.op == opIn)
		case opMatches, opNotMatches:
			return v.anyGroup(n.re.MatchString) == (n.op == opMatches)
		case opExists, opNotExists:
			return v.anyGroup(func(string) bool { return true }) == (n.op == opExists)
		}
	}
	return false
}

// evalString evaluates a string-valued subject; ok is false when an
// attribute is absent, which satisfies only the negative operators.
func (n *cmpNode) evalString(v *evalEnv, val string, ok bool) bool {
	switch n.op {
	case opExists:
		return ok
	case opNotExists:
		return !ok
	case opEquals:
		return ok && val == n.args[0]
	case opNotEquals:
		return !ok || val != n.args[0]
	case opIn, opNotIn:
		hit := false
		if ok {
			for _, a := range n.args {
				if val == a {
					hit = true
					break
				}
			}
		}
		return hit == (n.op == opIn)
	case opMatches:
		return ok && v.match(n, val)
	case opNotMatches:
		return !ok || !v.match(n, val)
	case opGreaterThan, opGreaterThanEqual, opLessThan, opLessThanEqual:
		if !ok {
			return false
		}
		// Numbers compare as numbers, anything else as strings.
		if n.isNum[0] {
			if f, isNum := parseNumber(val); isNum {
				return ordered(n.op, cmpFloat(f, n.num[0]))
			}
		}
		return ordered(n.op, strings.Compare(val, n.args[0]))
	}
	return false
}

func ordered(op cmpOp, c int) bool {
	switch op {
	case opEquals:
		return c == 0
	case opNotEquals:
		return c != 0
	case opGreaterThan:
		return c > 0
	case opGreaterThanEqual:
		return c >= 0
	case opLessThan:
		return c < 0
	case opLessThanEqual:
		return c <= 0
	}
	return false
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
