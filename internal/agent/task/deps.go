package task

import (
	"fmt"

	"github.com/wharfhq/wharf/internal/runtime"
)

// Phase is where a container is in its life, for dependsOn decisions.
type Phase int

// Container phases.
const (
	PhaseWaiting Phase = iota // not started yet
	PhaseRunning              // started and running
	PhaseStopped              // exited (or never able to start)
)

// ContainerState is what Decide needs to know about one container.
type ContainerState struct {
	Phase    Phase
	Started  bool // it did start at some point (false: it failed or was stopped before starting)
	ExitCode int  // when PhaseStopped and Started
	Health   runtime.Health
}

// Decision is Decide's answer.
type Decision struct {
	// Start are containers whose dependencies are all met, in plan order.
	Start []string
	// Waiting are containers not started whose dependencies may still be met.
	Waiting []string
	// Never maps a container that can never start to the reason: ECS
	// stops the task with it.
	Never map[string]string
}

// Decide says which of the task's waiting containers may start now, which
// must wait, and which can never start, from the containers' states. It is
// pure: the runner calls it after every change.
//
// Conditions: START — the dependency has started; COMPLETE — it has
// exited; SUCCESS — it exited 0; HEALTHY — its health check passed. A
// dependency that exited non-zero (SUCCESS), stopped without being
// healthy or turned UNHEALTHY (HEALTHY), or itself can never start (any
// condition) makes the dependent unable to start.
func Decide(cs []ContainerPlan, states map[string]ContainerState) Decision {
	d := Decision{Never: map[string]string{}}
	never := func(name string) (string, bool) {
		r, ok := d.Never[name]
		return r, ok
	}
	// Walk in dependency order so that "can never start" propagates; the
	// plan has no cycles (Plan refuses them), so len(cs) passes suffice.
	resolved := map[string]bool{}
	for range cs {
		for _, c := range cs {
			if resolved[c.Name] {
				continue
			}
			st := states[c.Name]
			if st.Phase != PhaseWaiting {
				resolved[c.Name] = true
				continue
			}
			ready, blocked, pending := true, "", false
			for _, dep := range c.DependsOn {
				if _, ok := never(dep.Container); ok {
					blocked = fmt.Sprintf("dependency %s of %s can never start", dep.Container, c.Name)
					break
				}
				if !resolved[dep.Container] {
					pending = true
					break
				}
				ok, impossible := met(dep, states[dep.Container])
				if impossible {
					blocked = fmt.Sprintf("dependency graph: container %s cannot start: dependency %s did not satisfy condition %s (%s)",
						c.Name, dep.Container, dep.Condition, describe(states[dep.Container]))
					break
				}
				ready = ready && ok
			}
			switch {
			case blocked != "":
				d.Never[c.Name] = blocked
				resolved[c.Name] = true
			case pending:
			default:
				resolved[c.Name] = true
				if ready {
					d.Start = append(d.Start, c.Name)
				} else {
					d.Waiting = append(d.Waiting, c.Name)
				}
			}
		}
	}
	return d
}

// met reports whether dep's condition holds for a dependency in state st,
// and whether it never can.
func met(dep Dependency, st ContainerState) (ok, impossible bool) {
	switch dep.Condition {
	case CondStart:
		if st.Phase == PhaseStopped && !st.Started {
			return false, true
		}
		return st.Started, false
	case CondComplete:
		if st.Phase == PhaseStopped {
			return st.Started, !st.Started
		}
		return false, false
	case CondSuccess:
		if st.Phase == PhaseStopped {
			return st.Started && st.ExitCode == 0, !st.Started || st.ExitCode != 0
		}
		return false, false
	case CondHealthy:
		if st.Health == runtime.HealthHealthy && st.Phase == PhaseRunning {
			return true, false
		}
		return false, st.Health == runtime.HealthUnhealthy || st.Phase == PhaseStopped
	}
	return false, true
}

func describe(st ContainerState) string {
	switch {
	case st.Phase == PhaseStopped && !st.Started:
		return "it never started"
	case st.Phase == PhaseStopped:
		return fmt.Sprintf("it exited with code %d", st.ExitCode)
	case st.Health == runtime.HealthUnhealthy:
		return "it is UNHEALTHY"
	}
	return "it is " + string(st.Health)
}
