package sched

import (
	"fmt"
	"strings"
	"time"
)

// MaxTasks is the most tasks a deployment may have running or pending:
// floor(desired × maximumPercent / 100).
func MaxTasks(desired, maxPercent int) int {
	if desired <= 0 || maxPercent <= 0 {
		return 0
	}
	return desired * maxPercent / 100
}

// MinHealthy is the fewest healthy tasks a deployment keeps:
// ceil(desired × minimumHealthyPercent / 100).
func MinHealthy(desired, minPercent int) int {
	if desired <= 0 || minPercent <= 0 {
		return 0
	}
	return (desired*minPercent + 99) / 100
}

// FailureThreshold is the circuit breaker's threshold for a desired
// count: 0.5 × desired, rounded up, bounded to 3…200 as ECS documents.
func FailureThreshold(desired int) int {
	t := (desired + 1) / 2
	return min(max(t, breakerMinThreshold), breakerMaxThreshold)
}

// RetryDelay is the wait before the next start after n consecutive tasks
// failed to reach RUNNING: none below 3, then 5 s doubling per failure up
// to ECS's maximum of 27 minutes.
func RetryDelay(n int) time.Duration {
	if n < throttleAfter {
		return 0
	}
	d := throttleBase
	for i := throttleAfter; i < n && d < throttleMax; i++ {
		d *= 2
	}
	return min(d, throttleMax)
}

// Event messages, worded as ECS words them.

func svcPrefix(name string) string { return "(service " + name + ")" }

func taskList(ids []string) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = "(task " + id + ")"
	}
	return strings.Join(parts, " ")
}

// StartedEvent is "(service NAME) has started N tasks: (task ID) …".
func StartedEvent(name string, ids []string) string {
	return fmt.Sprintf("%s has started %d tasks: %s.", svcPrefix(name), len(ids), taskList(ids))
}

// StoppedEvent is "(service NAME) has stopped N running tasks: (task ID) …".
func StoppedEvent(name string, ids []string) string {
	return fmt.Sprintf("%s has stopped %d running tasks: %s.", svcPrefix(name), len(ids), taskList(ids))
}

// SteadyEvent is "(service NAME) has reached a steady state.".
func SteadyEvent(name string) string { return svcPrefix(name) + " has reached a steady state." }

// UnableToPlaceEvent is ECS's message when no container instance fits;
// closest, when known, names the instance that came closest and why it
// was refused (e.g. "(container-instance ID) has insufficient memory
// available").
func UnableToPlaceEvent(name, closest string) string {
	msg := svcPrefix(name) + " was unable to place a task because no container instance met all of its requirements."
	if closest != "" {
		msg += " The closest matching " + closest + ". For more information, see the Troubleshooting section."
	}
	return msg
}

// LaunchFailedEvent is ECS's message when a task could not be launched,
// e.g. "(service NAME) failed to launch a task with (error MESSAGE).".
func LaunchFailedEvent(name, msg string) string {
	return fmt.Sprintf("%s failed to launch a task with (error %s).", svcPrefix(name), msg)
}

// ThrottleEvent is the message of ECS's start throttle.
func ThrottleEvent(name string) string {
	return svcPrefix(name) + " is unable to consistently start tasks successfully. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide."
}

// DeploymentFailedEvent is the circuit breaker's message.
func DeploymentFailedEvent(name, dep string) string {
	return fmt.Sprintf("%s deployment %s deployment failed: tasks failed to start.", svcPrefix(name), dep)
}

// RollbackEvent announces a rollback to an earlier deployment.
func RollbackEvent(name, dep string) string {
	return fmt.Sprintf("%s rolling back to deployment %s.", svcPrefix(name), dep)
}

// CompletedEvent is "(service NAME) (deployment ID) deployment completed.".
func CompletedEvent(name, dep string) string {
	return fmt.Sprintf("%s (deployment %s) deployment completed.", svcPrefix(name), dep)
}

// UnhealthyEvent reports a task replaced for failing its health checks.
func UnhealthyEvent(name, task string) string {
	return fmt.Sprintf("%s (task %s) failed container health checks.", svcPrefix(name), task)
}

// ScalingReason is the stopped reason of tasks the scheduler stops.
func ScalingReason(dep string) string {
	return "Scaling activity initiated by (deployment " + dep + ")"
}

// Stopped reasons for unhealthy tasks and tasks of draining instances.
const (
	UnhealthyReason = "Task failed container health checks"
	DrainingReason  = "Container instance is draining"
)

// BreakerReason is the rolloutStateReason of a deployment the circuit
// breaker failed.
const BreakerReason = "ECS deployment circuit breaker: tasks failed to start."

// CompletedReason is the rolloutStateReason of a completed deployment.
func CompletedReason(dep string) string { return "ECS deployment " + dep + " completed." }

// InProgressReason is the rolloutStateReason of a deployment in progress.
func InProgressReason(dep string) string { return "ECS deployment " + dep + " in progress." }

// RollbackReason is the rolloutStateReason of a deployment rolled back to.
func RollbackReason(to string) string {
	return "ECS deployment circuit breaker: rolling back to deployment " + to + "."
}
