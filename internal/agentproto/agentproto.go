// Package agentproto is the contract between the control plane and the
// agents that run tasks: what an assignment carries. Both sides are Wharf,
// so the document is a Go struct encoded as JSON inside the
// wharfagent API's Assignment.document (api/models/wharfagent).
//
// The channel: an agent calls PollAssignments(cluster, containerInstance,
// ackedSequence, waitSeconds). The control plane answers at once when the
// instance's assignment sequence is above ackedSequence, else blocks up to
// waitSeconds. An answer with a higher sequence carries the instance's
// whole desired state — every task placed on it that is not yet STOPPED,
// with its desired status — and the sequence it reflects; an answer whose
// sequence equals ackedSequence (the wait ran out) carries nothing. The
// control plane bumps the sequence whenever a task is placed on the
// instance, a task's desired status changes, or fresh role credentials are
// due. The agent applies it (idempotently: a
// task it already runs is not started again), then acknowledges by sending
// that sequence on its next poll. Nothing is lost (state, not deltas, so a
// missed answer is repaired by the next) and nothing is applied twice (the
// agent keys tasks by ARN). Each poll is also the agent's heartbeat.
//
// Agents report back with the ECS API: SubmitTaskStateChange,
// SubmitContainerStateChange, and the wharfagent SubmitTaskHealth.
package agentproto

import (
	"encoding/json"
	"time"

	"github.com/wharfhq/wharf/api/ecsapi"
)

// Task is one task assigned to an agent, with everything needed to run it.
type Task struct {
	TaskARN    string `json:"taskArn"`
	ClusterARN string `json:"clusterArn"`
	// DesiredStatus is RUNNING or STOPPED.
	DesiredStatus string `json:"desiredStatus"`
	// LaunchType is EC2 or FARGATE.
	LaunchType       string `json:"launchType"`
	AvailabilityZone string `json:"availabilityZone,omitempty"`
	// Definition is the task definition as DescribeTaskDefinition returns it.
	Definition ecsapi.TaskDefinition `json:"definition"`
	// Overrides are RunTask's overrides, applied on top of Definition.
	Overrides *ecsapi.TaskOverride `json:"overrides,omitempty"`
	// CPU and Memory are the task's size as ECS reports it (units, MiB).
	CPU    string `json:"cpu,omitempty"`
	Memory string `json:"memory,omitempty"`
	// Containers are the task's containers with their ARNs and, in bridge
	// and host mode, the host ports placement reserved (0 = dynamic).
	Containers []Container `json:"containers"`
	// ENI is the task's network interface in awsvpc mode.
	ENI *ENI `json:"eni,omitempty"`
	// TaskRole and ExecutionRole are temporary credentials of the task
	// definition's roles (nil when the definition names none), renewed
	// before they expire: the control plane sends fresh ones in a later
	// poll answer.
	TaskRole      *Credentials `json:"taskRole,omitempty"`
	ExecutionRole *Credentials `json:"executionRole,omitempty"`
	// StopCode and StoppedReason say why the task is desired STOPPED
	// (StopTask: UserInitiated and its reason).
	StopCode      string `json:"stopCode,omitempty"`
	StoppedReason string `json:"stoppedReason,omitempty"`
	// Version is the task's version (DescribeTasks' version).
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"createdAt"`
	// Group and StartedBy as in DescribeTasks.
	Group     string `json:"group,omitempty"`
	StartedBy string `json:"startedBy,omitempty"`
}

// Container is one container of an assigned task.
type Container struct {
	Name         string        `json:"name"`
	ContainerARN string        `json:"containerArn"`
	PortBindings []PortBinding `json:"portBindings,omitempty"`
	// GPUIDs are the instance's GPUs (as it registered them: NVIDIA UUIDs)
	// placement pinned to this container for its resourceRequirements GPU.
	GPUIDs []string `json:"gpuIds,omitempty"`
}

// PortBinding is a port mapping with the host port placement chose.
type PortBinding struct {
	ContainerPort int32  `json:"containerPort"`
	HostPort      int32  `json:"hostPort"` // 0 = let the runtime choose
	Protocol      string `json:"protocol"` // tcp or udp
}

// ENI is an awsvpc task's network interface, allocated by the control
// plane: the agent gives the task's network namespace exactly this address.
type ENI struct {
	AttachmentID   string   `json:"attachmentId"`
	SubnetID       string   `json:"subnetId"`
	SecurityGroups []string `json:"securityGroups,omitempty"`
	// Network is the runtime network to attach to ("wharf-awsvpc").
	Network string `json:"network"`
	// SubnetCIDR and Gateway describe that network (e.g. 10.213.0.0/16,
	// 10.213.0.1) so the agent can create it if missing.
	SubnetCIDR     string `json:"subnetCidr"`
	Gateway        string `json:"gateway"`
	PrivateIPv4    string `json:"privateIpv4Address"`
	MACAddress     string `json:"macAddress"`
	PrivateDNSName string `json:"privateDnsName,omitempty"`
}

// Credentials are temporary credentials of a role.
type Credentials struct {
	RoleARN         string    `json:"roleArn"`
	AccessKeyID     string    `json:"accessKeyId"`
	SecretAccessKey string    `json:"secretAccessKey"`
	SessionToken    string    `json:"sessionToken"`
	Expiration      time.Time `json:"expiration"`
}

// Encode returns the JSON document of t for Assignment.document.
func Encode(t *Task) (string, error) {
	b, err := json.Marshal(t)
	return string(b), err
}

// Decode parses an Assignment.document.
func Decode(doc string) (*Task, error) {
	var t Task
	if err := json.Unmarshal([]byte(doc), &t); err != nil {
		return nil, err
	}
	return &t, nil
}
