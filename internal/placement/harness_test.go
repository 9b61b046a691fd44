package placement

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// cluster builds a snapshot from a compact description, one instance per
// line:
//
//	ID [az=A] [type=T] [cpu=N] [mem=N] [gpu=N] [tcp=P,P] [udp=P]
//	   [groups=G:N;G:N] [running=N] [status=S] [agent=false] [ec2=ID]
//	   [registered=DATE] [attr:NAME=VALUE]...
//
// Defaults: ACTIVE, agent connected, cpu=1024, mem=2048, ec2=i-ID.
func cluster(t testing.TB, desc string) []Instance {
	t.Helper()
	var out []Instance
	for line := range strings.Lines(desc) {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		in := Instance{
			ID: f[0], EC2InstanceID: "i-" + f[0], Status: StatusActive, AgentConnected: true,
			RemainingCPU: 1024, RemainingMemory: 2048, Attributes: map[string]string{},
			TaskGroups: map[string]int{}, RegisteredAt: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
		}
		for _, kv := range f[1:] {
			k, v, _ := strings.Cut(kv, "=")
			atoi := func() int {
				n, err := strconv.Atoi(v)
				if err != nil {
					t.Fatalf("cluster: %s: %v", kv, err)
				}
				return n
			}
			ports := func() []int {
				var ps []int
				for p := range strings.SplitSeq(v, ",") {
					n, err := strconv.Atoi(p)
					if err != nil {
						t.Fatalf("cluster: %s: %v", kv, err)
					}
					ps = append(ps, n)
				}
				return ps
			}
			switch {
			case k == "az":
				in.Attributes[AttrAvailabilityZone] = v
			case k == "type":
				in.Attributes[AttrInstanceType] = v
			case k == "cpu":
				in.RemainingCPU = atoi()
			case k == "mem":
				in.RemainingMemory = atoi()
			case k == "gpu":
				in.RemainingGPU = atoi()
			case k == "tcp":
				in.UsedTCPPorts = ports()
			case k == "udp":
				in.UsedUDPPorts = ports()
			case k == "running":
				in.RunningTasksCount = atoi()
			case k == "status":
				in.Status = v
			case k == "agent":
				in.AgentConnected = v == "true"
			case k == "ec2":
				in.EC2InstanceID = v
			case k == "registered":
				d, err := parseDate(v)
				if err != nil {
					t.Fatalf("cluster: %s: %v", kv, err)
				}
				in.RegisteredAt = d
			case k == "groups":
				for g := range strings.SplitSeq(v, ";") {
					i := strings.LastIndexByte(g, ':')
					n, err := strconv.Atoi(g[i+1:])
					if err != nil {
						t.Fatalf("cluster: %s: %v", kv, err)
					}
					in.TaskGroups[g[:i]] = n
					in.RunningTasksCount += n
				}
			case strings.HasPrefix(k, "attr:"):
				in.Attributes[strings.TrimPrefix(k, "attr:")] = v
			default:
				t.Fatalf("cluster: unknown key %q", k)
			}
		}
		out = append(out, in)
	}
	return out
}

func mustConstraint(t testing.TB, typ, expr string) Constraint {
	t.Helper()
	c, err := NewConstraint(typ, expr)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustStrategies(t testing.TB, pairs ...string) []Strategy {
	t.Helper()
	var out []Strategy
	for _, p := range pairs {
		typ, field, _ := strings.Cut(p, ":")
		s, err := NewStrategy(typ, field)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

func repeat(task Task, n int) []Task {
	out := make([]Task, n)
	for i := range out {
		out[i] = task
	}
	return out
}

// where returns the instance chosen per task, "" when unplaced.
func where(n int, ps []Placement) []string {
	out := make([]string, n)
	for _, p := range ps {
		out[p.TaskIndex] = p.InstanceID
	}
	return out
}

func countBy(ps []Placement) map[string]int {
	m := map[string]int{}
	for _, p := range ps {
		m[p.InstanceID]++
	}
	return m
}

func failureMap(fs []Failure) map[string]string {
	m := map[string]string{}
	for _, f := range fs {
		m[f.Arn] = f.Reason
	}
	return m
}

func sortedKeys(m map[string]int) []string { return slices.Sorted(maps.Keys(m)) }

// placeModes runs Place with the scan path, the index path and the
// automatic choice, failing the test if they disagree.
func placeModes(t testing.TB, snap []Instance, tasks []Task, seed uint64) ([]Placement, []Failure) {
	t.Helper()
	var first []Placement
	var firstF []Failure
	for _, mode := range []pickMode{modeAuto, modeScan, modeIndex} {
		e := newEngine(snap, Options{Rand: rand.New(rand.NewPCG(seed, seed))})
		e.mode = mode
		ps, fs := e.run(tasks)
		if mode == modeAuto {
			first, firstF = ps, fs
			continue
		}
		if a, b := fmt.Sprint(first), fmt.Sprint(ps); a != b {
			t.Fatalf("mode %d disagrees with auto:\nauto: %s\nmode: %s", mode, a, b)
		}
		if a, b := fmt.Sprint(firstF), fmt.Sprint(fs); a != b {
			t.Fatalf("mode %d failures disagree with auto:\nauto: %s\nmode: %s", mode, a, b)
		}
	}
	return first, firstF
}
