package ecsmetrics_test

import (
	"fmt"

	"github.com/wharfhq/wharf/internal/ecsmetrics"
)

// Two FARGATE tasks of a service, each reserving 256 CPU units and 512
// MiB: the service's Average is ECS's formula, Min and Max the tasks'.
func ExampleCompute() {
	tasks := []ecsmetrics.Task{
		{Cluster: "prod", Service: "web", CPU: 256, MemoryMiB: 512, UsedCPU: 256, UsedMemoryMiB: 128},
		{Cluster: "prod", Service: "web", CPU: 256, MemoryMiB: 512, UsedCPU: 64, UsedMemoryMiB: 256},
	}
	for _, d := range ecsmetrics.Compute(tasks, nil) {
		fmt.Printf("%s %s/%s: average %.1f%%, min %.1f%%, max %.1f%%, %v tasks\n",
			d.Name, d.Cluster, d.Service, d.Average(), d.Min, d.Max, d.Count)
	}
	// Output:
	// CPUUtilization prod/web: average 62.5%, min 25.0%, max 100.0%, 2 tasks
	// MemoryUtilization prod/web: average 37.5%, min 25.0%, max 50.0%, 2 tasks
}
