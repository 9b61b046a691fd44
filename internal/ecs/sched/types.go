// Package sched holds the decisions of the ECS service scheduler as pure
// functions: Decide takes a snapshot of one service (its deployments, its
// tasks, the cluster's container instances) and the time, and returns a
// plan — tasks to start and to stop, the deployments and counters after
// this pass, and the service events to record. It reads no clock, does no
// I/O and starts no goroutine; internal/ecs reads the snapshot from the
// store, calls Decide and applies the plan.
//
// The arithmetic is ECS's: a deployment keeps at most
// floor(desired × maximumPercent / 100) tasks running or pending and at
// least ceil(desired × minimumHealthyPercent / 100) healthy ones; a task is
// healthy when it is RUNNING and, if it has container health checks, they
// pass.
package sched

import "time"

// Scheduling strategies.
const (
	Replica = "REPLICA"
	Daemon  = "DAEMON"
)

// Service and deployment statuses and rollout states.
const (
	StatusActive   = "ACTIVE"
	StatusDraining = "DRAINING"
	Primary        = "PRIMARY"
	Active         = "ACTIVE"
	InProgress     = "IN_PROGRESS"
	Completed      = "COMPLETED"
	Failed         = "FAILED"
)

// Task statuses and stop codes the scheduler looks at.
const (
	Running             = "RUNNING"
	Stopped             = "STOPPED"
	StopCodeScheduler   = "ServiceSchedulerInitiated"
	StopCodeUser        = "UserInitiated"
	HealthHealthy       = "HEALTHY"
	HealthUnhealthy     = "UNHEALTHY"
	InstanceActive      = "ACTIVE"
	InstanceDraining    = "DRAINING"
	throttleAfter       = 3
	throttleBase        = 5 * time.Second
	throttleMax         = 27 * time.Minute
	breakerMinThreshold = 3
	breakerMaxThreshold = 200
)

// HealthyAfter is how long a task must have been RUNNING and healthy
// before the circuit breaker's failure count resets: a container that
// exits as soon as it starts is seen RUNNING for an instant and must not
// reset the count.
const HealthyAfter = 10 * time.Second

// Task is what the scheduler knows of one task of the service.
type Task struct {
	ID string
	// Deployment is the deployment that started it (its startedBy,
	// "ecs-svc/<digits>").
	Deployment string
	// Instance is the container instance ID; "" on FARGATE.
	Instance      string
	LastStatus    string // PROVISIONING … STOPPED
	DesiredStatus string // RUNNING or STOPPED
	// Health is HEALTHY, UNHEALTHY or UNKNOWN; HealthCheck says an
	// essential container has a health check.
	Health      string
	HealthCheck bool
	// Started is when it reached RUNNING (zero: never); Stopped when it
	// reached STOPPED.
	Started  time.Time
	Stopped  time.Time
	StopCode string
	Created  time.Time
}

// Instance is a container instance of the service's cluster.
type Instance struct {
	ID     string
	Status string // ACTIVE or DRAINING
	// Eligible says the instance meets the service's placement
	// constraints and the task definition's required attributes (what
	// DAEMON services need to run a task there).
	Eligible bool
}

// Deployment is one deployment of the service.
type Deployment struct {
	ID                 string
	Status             string // PRIMARY or ACTIVE
	TaskDefinition     string
	DesiredCount       int
	RolloutState       string
	RolloutStateReason string
	// FailedTasks counts the deployment's tasks that failed (ECS's
	// failedTasks); Failures is the circuit breaker's consecutive count.
	FailedTasks int
	Failures    int
	CreatedAt   time.Time
	UpdatedAt   time.Time
	// Running and Pending are outputs: the deployment's tasks by status.
	Running, Pending int
}

// Service is the scheduler's view of a service.
type Service struct {
	Name     string
	Strategy string // REPLICA or DAEMON
	Status   string // ACTIVE or DRAINING
	// DesiredCount is the user's (REPLICA) or the number of eligible
	// instances (DAEMON, set by Decide).
	DesiredCount      int
	MinHealthyPercent int
	MaxPercent        int
	CircuitBreaker    bool
	Rollback          bool
	GracePeriod       time.Duration
	// Deployments are PRIMARY first, then ACTIVE ones newest first.
	Deployments []Deployment
	// StartFailures counts consecutive tasks that stopped before reaching
	// RUNNING; while RetryAt is after now no task is started (ECS's
	// throttle).
	StartFailures int
	RetryAt       time.Time
	// Handled are the stopped tasks already accounted for.
	Handled []string
	// Steady says the last pass found the service in a steady state.
	Steady bool
}

// Snapshot is the input of Decide.
type Snapshot struct {
	Service   Service
	Tasks     []Task     // the service's tasks, stopped ones included while they are kept
	Instances []Instance // the cluster's ACTIVE and DRAINING container instances
}

// Start asks for Count tasks of a deployment; Instance, when set, is the
// container instance to place the one task on (DAEMON).
type Start struct {
	Deployment     string
	TaskDefinition string
	Count          int
	Instance       string
}

// Stop asks to stop a task with the scheduler's stop code and a reason.
type Stop struct {
	TaskID string
	Reason string
}

// Plan is the output of Decide.
type Plan struct {
	// Service is the service after the pass: deployments (drained ones
	// removed), counters, handled tasks, steadiness.
	Service Service
	Start   []Start
	Stop    []Stop
	// Events are service event messages, oldest first.
	Events []string
	// Inactive says a DRAINING service has no task left: it is INACTIVE.
	Inactive bool
	// RunningCount and PendingCount count the service's tasks.
	RunningCount, PendingCount int
}
