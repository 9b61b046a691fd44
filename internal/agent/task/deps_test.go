package task

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/runtime"
)

func TestDecide(t *testing.T) {
	dep := func(name string, deps ...string) ContainerPlan {
		c := ContainerPlan{Name: name}
		for _, d := range deps {
			n, cond, _ := strings.Cut(d, ":")
			c.DependsOn = append(c.DependsOn, Dependency{Container: n, Condition: cond})
		}
		return c
	}
	waiting := ContainerState{Phase: PhaseWaiting, Health: runtime.HealthUnknown}
	running := func(h runtime.Health) ContainerState {
		return ContainerState{Phase: PhaseRunning, Started: true, Health: h}
	}
	exited := func(code int) ContainerState {
		return ContainerState{Phase: PhaseStopped, Started: true, ExitCode: code}
	}
	failed := ContainerState{Phase: PhaseStopped} // never started

	cases := []struct {
		name        string
		cs          []ContainerPlan
		st          map[string]ContainerState
		start, wait []string
		never       []string
	}{
		{"no deps start together", []ContainerPlan{dep("a"), dep("b")},
			map[string]ContainerState{"a": waiting, "b": waiting}, []string{"a", "b"}, nil, nil},
		{"START waits for start", []ContainerPlan{dep("a"), dep("b", "a:START")},
			map[string]ContainerState{"a": waiting, "b": waiting}, []string{"a"}, []string{"b"}, nil},
		{"START met", []ContainerPlan{dep("a"), dep("b", "a:START")},
			map[string]ContainerState{"a": running(runtime.HealthUnknown), "b": waiting}, []string{"b"}, nil, nil},
		{"START met by an exited dependency", []ContainerPlan{dep("a"), dep("b", "a:START")},
			map[string]ContainerState{"a": exited(1), "b": waiting}, []string{"b"}, nil, nil},
		{"START never: dependency failed to start", []ContainerPlan{dep("a"), dep("b", "a:START")},
			map[string]ContainerState{"a": failed, "b": waiting}, nil, nil, []string{"b"}},
		{"COMPLETE waits while running", []ContainerPlan{dep("a"), dep("b", "a:COMPLETE")},
			map[string]ContainerState{"a": running(runtime.HealthUnknown), "b": waiting}, nil, []string{"b"}, nil},
		{"COMPLETE met by non-zero exit", []ContainerPlan{dep("a"), dep("b", "a:COMPLETE")},
			map[string]ContainerState{"a": exited(3), "b": waiting}, []string{"b"}, nil, nil},
		{"SUCCESS met", []ContainerPlan{dep("a"), dep("b", "a:SUCCESS")},
			map[string]ContainerState{"a": exited(0), "b": waiting}, []string{"b"}, nil, nil},
		{"SUCCESS never: exit 1", []ContainerPlan{dep("a"), dep("b", "a:SUCCESS")},
			map[string]ContainerState{"a": exited(1), "b": waiting}, nil, nil, []string{"b"}},
		{"HEALTHY waits while starting", []ContainerPlan{dep("a"), dep("b", "a:HEALTHY")},
			map[string]ContainerState{"a": running(runtime.HealthStarting), "b": waiting}, nil, []string{"b"}, nil},
		{"HEALTHY met", []ContainerPlan{dep("a"), dep("b", "a:HEALTHY")},
			map[string]ContainerState{"a": running(runtime.HealthHealthy), "b": waiting}, []string{"b"}, nil, nil},
		{"HEALTHY never: unhealthy", []ContainerPlan{dep("a"), dep("b", "a:HEALTHY")},
			map[string]ContainerState{"a": running(runtime.HealthUnhealthy), "b": waiting}, nil, nil, []string{"b"}},
		{"HEALTHY never: exited before healthy", []ContainerPlan{dep("a"), dep("b", "a:HEALTHY")},
			map[string]ContainerState{"a": exited(0), "b": waiting}, nil, nil, []string{"b"}},
		{"never propagates down a chain", []ContainerPlan{dep("a"), dep("b", "a:SUCCESS"), dep("c", "b:START")},
			map[string]ContainerState{"a": exited(2), "b": waiting, "c": waiting}, nil, nil, []string{"b", "c"}},
		{"chain waits on a waiting dependency", []ContainerPlan{dep("a"), dep("b", "a:SUCCESS"), dep("c", "b:START")},
			map[string]ContainerState{"a": running(runtime.HealthUnknown), "b": waiting, "c": waiting}, nil, []string{"b", "c"}, nil},
		{"all conditions of a container must hold", []ContainerPlan{dep("a"), dep("b"), dep("c", "a:START", "b:SUCCESS")},
			map[string]ContainerState{"a": running(runtime.HealthUnknown), "b": running(runtime.HealthUnknown), "c": waiting}, nil, []string{"c"}, nil},
		{"started containers are not listed", []ContainerPlan{dep("a"), dep("b", "a:START")},
			map[string]ContainerState{"a": running(runtime.HealthUnknown), "b": running(runtime.HealthUnknown)}, nil, nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := Decide(tc.cs, tc.st)
			var never []string
			for n := range d.Never {
				never = append(never, n)
			}
			slices.Sort(never)
			if !slices.Equal(d.Start, tc.start) || !slices.Equal(d.Waiting, tc.wait) || !slices.Equal(never, tc.never) {
				t.Errorf("Decide = start %v waiting %v never %v; want start %v waiting %v never %v", d.Start, d.Waiting, never, tc.start, tc.wait, tc.never)
			}
			for n, reason := range d.Never {
				if !strings.Contains(reason, n) {
					t.Errorf("reason for %s does not name it: %q", n, reason)
				}
			}
		})
	}
}

func TestImagesDue(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	got := ImagesDue(map[string]time.Time{
		"b:old": now.Add(-2 * time.Hour), "a:edge": now.Add(-time.Hour), "c:new": now.Add(-time.Minute),
	}, now, time.Hour)
	if !slices.Equal(got, []string{"a:edge", "b:old"}) {
		t.Errorf("ImagesDue = %v", got)
	}
}
