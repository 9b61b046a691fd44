package task_test

import (
	"fmt"

	"github.com/wharfhq/wharf/api/ecsapi"
	"github.com/wharfhq/wharf/internal/agent/task"
	"github.com/wharfhq/wharf/internal/agentproto"
	"github.com/wharfhq/wharf/internal/ptr"
)

// Plan translates an assignment into what the runtime creates: here a
// bridge task whose web container maps port 80 to a dynamic host port
// (0: the runtime picks one; placement's booking is not binding).
func ExamplePlan() {
	t := &agentproto.Task{
		TaskARN:    "arn:aws:ecs:us-east-1:000000000000:task/default/abc",
		ClusterARN: "arn:aws:ecs:us-east-1:000000000000:cluster/default",
		LaunchType: "EC2", DesiredStatus: "RUNNING",
		Definition: ecsapi.TaskDefinition{
			Family: ptr.To("web"), Revision: ptr.To[int32](2),
			ContainerDefinitions: []ecsapi.ContainerDefinition{{
				Name: ptr.To("nginx"), Image: ptr.To("nginx:1.27"), Memory: ptr.To[int32](256),
				PortMappings: []ecsapi.PortMapping{{ContainerPort: ptr.To[int32](80)}},
			}},
		},
		Containers: []agentproto.Container{{Name: "nginx", PortBindings: []agentproto.PortBinding{{ContainerPort: 80, HostPort: 32768, Protocol: "tcp"}}}},
	}
	p, err := task.Plan(t, task.HostConfig{InstanceID: "i-1", Region: "us-east-1"})
	if err != nil {
		panic(err)
	}
	s := p.Containers[0].Spec
	fmt.Println(s.Name)
	fmt.Println(s.Image, s.NetworkMode, s.PortMappings[0].ContainerPort, "->", s.PortMappings[0].HostPort)
	fmt.Println("cpu shares", s.CPUShares, "memory MiB", s.MemoryMiB, "stop timeout", s.StopTimeout)
	fmt.Println(s.Environment["AWS_EXECUTION_ENV"], s.Labels[task.LabelFamily], s.Labels[task.LabelRevision])
	// Output:
	// ecs-web-2-nginx-b17ef8176eb1d84a9fea
	// nginx:1.27 bridge 80 -> 0
	// cpu shares 2 memory MiB 256 stop timeout 30s
	// AWS_ECS_EC2 web 2
}
