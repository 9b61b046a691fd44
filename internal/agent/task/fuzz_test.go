package task

import (
	"encoding/json"
	"testing"

	"github.com/wharfhq/wharf/internal/agentproto"
)

// FuzzPlan feeds assignment documents to Plan: whatever the control plane
// sends, Plan answers with a plan or an error, never a panic, and a plan
// it accepts is internally consistent.
func FuzzPlan(f *testing.F) {
	seed, _ := agentproto.Encode(bridgeTask())
	f.Add(seed)
	f.Add(`{"taskArn":"a","definition":{"Family":"f","NetworkMode":"awsvpc","ContainerDefinitions":[{"Name":"c","Image":"i"}]},"eni":{"network":"n","privateIpv4Address":"10.0.0.2"}}`)
	f.Add(`{"definition":{"Family":"f","ContainerDefinitions":[{"Name":"a","Image":"i","DependsOn":[{"ContainerName":"a","Condition":"START"}]}]}}`)
	f.Fuzz(func(t *testing.T, doc string) {
		var task agentproto.Task
		if json.Unmarshal([]byte(doc), &task) != nil {
			return
		}
		p, err := Plan(&task, testHost())
		if err != nil {
			return
		}
		if len(p.Containers) != len(task.Definition.ContainerDefinitions) {
			t.Fatalf("%d containers planned for %d definitions", len(p.Containers), len(task.Definition.ContainerDefinitions))
		}
		for _, c := range p.Containers {
			if c.Spec.Name == "" || c.Spec.Image == "" || c.Spec.Labels[LabelTaskARN] != task.TaskARN || c.Spec.CPUShares < 2 {
				t.Fatalf("container plan %+v", c)
			}
		}
		Decide(p.Containers, map[string]ContainerState{})
	})
}
