package ecs

import (
	"context"
	"testing"

	"github.com/wharfhq/wharf/internal/tenancy"
)

func TestResourceARN(t *testing.T) {
	ctx := tenancy.With(context.Background(), "123456789012", "us-east-1")
	const p = "arn:aws:ecs:us-east-1:123456789012:"
	cases := []struct {
		op   string
		in   map[string]any
		want string
	}{
		{"CreateCluster", map[string]any{"clusterName": "prod"}, p + "cluster/prod"},
		{"CreateCluster", map[string]any{}, p + "cluster/default"},
		{"DeleteCluster", map[string]any{"cluster": p + "cluster/prod"}, p + "cluster/prod"},
		{"ListTasks", map[string]any{}, p + "cluster/default"},
		{"ListTasks", map[string]any{"cluster": "arn:aws:ecs:eu-west-1:123456789012:cluster/x"}, "*"},
		{"RunTask", map[string]any{"taskDefinition": "web:3"}, p + "task-definition/web:3"},
		{"RunTask", map[string]any{"taskDefinition": "web"}, p + "task-definition/web:*"},
		{"StopTask", map[string]any{"cluster": "prod", "task": "abc"}, p + "task/prod/abc"},
		{"TagResource", map[string]any{"resourceArn": p + "cluster/prod"}, p + "cluster/prod"},
		{"CreateService", map[string]any{"cluster": "prod", "serviceName": "web"}, p + "service/prod/web"},
		{"UpdateService", map[string]any{"service": "web"}, p + "service/default/web"},
		{"DeleteService", map[string]any{"cluster": "prod", "service": p + "service/prod/web"}, p + "service/prod/web"},
		{"DeleteService", map[string]any{"cluster": "prod", "service": p + "service/other/web"}, "*"},
		{"ListClusters", map[string]any{}, "*"},
		{"RegisterTaskDefinition", map[string]any{"family": "web"}, "*"},
	}
	for _, tc := range cases {
		if got := ResourceARN(ctx, tc.op, tc.in); got != tc.want {
			t.Errorf("%s %v = %s, want %s", tc.op, tc.in, got, tc.want)
		}
	}
}
