package ecs

import (
	"context"

	"github.com/wharfhq/wharf/internal/arn"
)

// ResourceARN names the resource an ECS operation acts on, for IAM
// authorization (edge.Service.Resource): the cluster for cluster-scoped
// operations, the task definition for RunTask and StartTask (as ECS's IAM
// reference lists them), the task for StopTask, the service for Create,
// Update and DeleteService, the resource for the tag operations, and "*"
// for the rest. in is the operation's input tree.
func ResourceARN(ctx context.Context, op string, in map[string]any) string {
	str := func(k string) string { v, _ := in[k].(string); return v }
	cluster := func() string {
		name, ok := clusterName(ctx, str("cluster"))
		if !ok {
			return "*"
		}
		return clusterARN(ctx, name)
	}
	switch op {
	case "CreateCluster":
		name := str("clusterName")
		if name == "" {
			name = defaultClusterName
		}
		return clusterARN(ctx, name)
	case "DeleteCluster", "UpdateCluster", "UpdateClusterSettings", "PutClusterCapacityProviders",
		"RegisterContainerInstance", "DeregisterContainerInstance", "ListContainerInstances", "ListTasks",
		"UpdateContainerInstancesState", "PutAttributes", "DeleteAttributes", "ListAttributes",
		"SubmitTaskStateChange", "SubmitContainerStateChange", "SubmitAttachmentStateChanges", "DiscoverPollEndpoint",
		"PollAssignments", "SubmitTaskHealth":
		return cluster()
	case "RunTask", "StartTask":
		ref, ok := parseTaskDefRef(ctx, str("taskDefinition"))
		if !ok {
			return "*"
		}
		if ref.rev == 0 {
			a, _ := arn.Regional(ctx, "ecs", "task-definition/"+ref.family+":*")
			return a
		}
		return taskDefARN(ctx, ref.family, ref.rev)
	case "StopTask":
		name, ok := clusterName(ctx, str("cluster"))
		id, ok2 := taskID(ctx, name, str("task"))
		if !ok || !ok2 {
			return "*"
		}
		return taskARN(ctx, name, id)
	case "CreateService", "UpdateService", "DeleteService":
		c, ok := clusterName(ctx, str("cluster"))
		ident := str("serviceName")
		if op != "CreateService" {
			ident = str("service")
		}
		name, ok2 := serviceName(ctx, c, ident)
		if !ok || !ok2 {
			return "*"
		}
		return serviceARN(ctx, c, name)
	case "ListServices":
		return cluster()
	case "TagResource", "UntagResource", "ListTagsForResource":
		if a := str("resourceArn"); a != "" {
			return a
		}
	}
	return "*"
}

// AgentActions are the IAM actions of the agent channel's operations
// (edge.Service.Actions): ECS's own agents are authorized with ecs:Poll and
// ecs:SubmitTaskStateChange.
var AgentActions = map[string]string{"PollAssignments": "Poll", "SubmitTaskHealth": "SubmitTaskStateChange",
	"SubmitTaskStats": "SubmitTaskStateChange"}
