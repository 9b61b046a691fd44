// Package placement is Wharf's ECS task placement engine and cluster query
// language.
//
// Decisions are pure: Place and PlaceOn take a snapshot of the cluster's
// container instances and the tasks to place, and return placements and
// ECS-style failures. They do no I/O, read no clock and start no goroutine;
// randomness comes from Options.Rand. The ECS service builds the snapshot,
// calls the engine and commits the result with optimistic concurrency.
//
// Parse compiles cluster query language expressions (memberOf constraints,
// ListContainerInstances filters); every validation error wraps
// ErrInvalidParameter, which the ECS service answers with
// InvalidParameterException.
//
// docs/placement.md describes the rules, defaults, failure reasons and
// performance.
package placement
