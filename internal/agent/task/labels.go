// Package task is the agent's task engine: it turns one agentproto.Task
// (a task definition with its overrides, ports, ENI and credentials) into
// containers on a runtime.Runtime, starts them in dependsOn order, watches
// them through the runtime's events, and reports what happens as ECS task
// and container state changes.
//
// The pieces, each in its own file:
//
//   - Plan (plan.go): the pure translation of a task into runtime specs.
//   - Decide (deps.go): the pure dependsOn decision — which containers may
//     start now, which wait, which never can.
//   - EnsurePauseImage (pause.go): the awsvpc pause image, built from the
//     running executable itself, and Pause, the process it runs.
//   - Manager (manager.go, runner.go): the owned loops that apply plans,
//     watch events, stop tasks and clean them up; Adopt-on-Apply takes over
//     containers a previous agent process left running.
//   - PruneImages (cleanup.go): removal of unused images.
package task

// Labels the ECS agent puts on every task container (docker inspect shows
// them, and tools rely on them).
const (
	LabelTaskARN       = "com.amazonaws.ecs.task-arn"
	LabelContainerName = "com.amazonaws.ecs.container-name"
	LabelCluster       = "com.amazonaws.ecs.cluster"
	LabelFamily        = "com.amazonaws.ecs.task-definition-family"
	LabelRevision      = "com.amazonaws.ecs.task-definition-version"
)

// Wharf's own labels. LabelInstance scopes every object to one agent, so
// two agents on one engine never touch each other's containers.
const (
	LabelInstance     = "wharf.agent.instance"
	LabelContainerARN = "wharf.container-arn"
	// LabelRole is "pause" on an awsvpc task's pause container, "task"
	// on its containers, "volume" on task-scoped volumes.
	LabelRole = "wharf.role"
	// LabelManaged marks networks Wharf created (the awsvpc network).
	LabelManaged = "wharf.managed"
)

// PauseContainerName is the pause container's ECS container name, as the
// ECS agent calls it.
const PauseContainerName = "~internal~ecs~pause"
