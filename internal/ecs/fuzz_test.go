package ecs

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/wharfhq/wharf/api/ecsapi"
	"github.com/wharfhq/wharf/internal/tenancy"
)

// FuzzValidTaskDefinition feeds arbitrary definitions (JSON with the
// generated types' Go field names) to the validation: it never panics, and
// registering the definition it returns again is accepted and yields the
// same definition (normalization is idempotent).
func FuzzValidTaskDefinition(f *testing.F) {
	for _, r := range []*ecsapi.RegisterTaskDefinitionRequest{fargateReq(), ec2Req()} {
		b, _ := json.Marshal(r)
		f.Add(b)
	}
	f.Add([]byte(`{"Family":"x","ContainerDefinitions":[{"Name":"a","Image":"i","Memory":6,"DependsOn":[{"ContainerName":"a"}]}]}`))
	f.Add([]byte(`{"Family":"x","Cpu":".25 vCPU","Memory":"0.5 GB","NetworkMode":"awsvpc","RequiresCompatibilities":["FARGATE"],"ContainerDefinitions":[{"Name":"a","Image":"i","PortMappings":[{"ContainerPort":80}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var in ecsapi.RegisterTaskDefinitionRequest
		if json.Unmarshal(data, &in) != nil {
			return
		}
		td, err := validTaskDefinition(&in)
		if err != nil {
			return
		}
		again := &ecsapi.RegisterTaskDefinitionRequest{
			Family: td.Family, ContainerDefinitions: td.ContainerDefinitions, Cpu: td.Cpu, Memory: td.Memory,
			NetworkMode: td.NetworkMode, Volumes: td.Volumes, PlacementConstraints: td.PlacementConstraints,
			RequiresCompatibilities: td.RequiresCompatibilities, TaskRoleArn: td.TaskRoleArn, ExecutionRoleArn: td.ExecutionRoleArn,
			RuntimePlatform: td.RuntimePlatform, EphemeralStorage: td.EphemeralStorage, IpcMode: td.IpcMode, PidMode: td.PidMode,
			ProxyConfiguration: td.ProxyConfiguration, InferenceAccelerators: td.InferenceAccelerators, EnableFaultInjection: td.EnableFaultInjection,
		}
		td2, err := validTaskDefinition(again)
		if err != nil {
			t.Fatalf("normalized definition refused: %v", err)
		}
		if !reflect.DeepEqual(td, td2) {
			t.Fatalf("normalization not idempotent:\n%+v\n%+v", td, td2)
		}
	})
}

// FuzzParseTaskDefRef: identifiers never panic, and a parsed family:revision
// round-trips through its ARN.
func FuzzParseTaskDefRef(f *testing.F) {
	ctx := tenancy.With(context.Background(), "123456789012", "us-east-1")
	for _, s := range []string{"web", "web:3", "arn:aws:ecs:us-east-1:123456789012:task-definition/web:3", "web:0", "a:b:c", "arn:aws:ecs:::"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ref, ok := parseTaskDefRef(ctx, s)
		if !ok || ref.rev == 0 {
			return
		}
		back, ok := parseTaskDefRef(ctx, taskDefARN(ctx, ref.family, ref.rev))
		if !ok || back != ref {
			t.Fatalf("%q -> %+v -> %+v", s, ref, back)
		}
	})
}

// FuzzTaskSize: the cpu and memory parsers never panic and only return
// positive values.
func FuzzTaskSize(f *testing.F) {
	for _, s := range []string{"1024", "1 vCPU", ".5 vcpu", "2 GB", "0.25gb", "-1", "1e9 vCPU"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if n, ok := parseTaskCPU(s); ok && n <= 0 {
			t.Fatalf("cpu %q = %d", s, n)
		}
		if n, ok := parseTaskMemory(s); ok && n <= 0 {
			t.Fatalf("memory %q = %d", s, n)
		}
	})
}
