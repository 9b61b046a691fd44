package awsjson_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"

	"github.com/wharfhq/wharf/api/models"
	"github.com/wharfhq/wharf/internal/protocol"
	"github.com/wharfhq/wharf/internal/protocol/awsjson"
	"github.com/wharfhq/wharf/internal/protocol/protocoltest"
)

var codec awsjson.Codec

// ecsServer answers every request for op with out (or e) and records it.
func ecsServer(t *testing.T, op string, out map[string]any, e *protocol.APIError) (*protocoltest.Server, *ecs.Client) {
	t.Helper()
	m := models.MustLoad("ecs")
	srv := protocoltest.NewServer(t, func(w http.ResponseWriter, req protocoltest.Request) {
		if e != nil {
			codec.EncodeError(w, m, e, "req-1")
			return
		}
		codec.EncodeOutput(w, m, m.Operations[op], out, "req-1")
	})
	return srv, ecs.NewFromConfig(srv.Config())
}

func TestECSRegisterTaskDefinition(t *testing.T) {
	m := models.MustLoad("ecs")
	registered := time.Date(2026, 1, 2, 3, 4, 5, 678e6, time.UTC)
	srv, client := ecsServer(t, "RegisterTaskDefinition", map[string]any{
		"taskDefinition": map[string]any{
			"family":            "web",
			"revision":          int64(3),
			"taskDefinitionArn": "arn:aws:ecs:us-east-1:000000000000:task-definition/web:3",
			"registeredAt":      registered,
			"status":            "ACTIVE",
			"containerDefinitions": []any{map[string]any{
				"name":         "app",
				"image":        "nginx:1",
				"cpu":          int64(256),
				"dockerLabels": map[string]any{"a": "b"},
			}},
		},
	}, nil)

	out, err := client.RegisterTaskDefinition(context.Background(), &ecs.RegisterTaskDefinitionInput{
		Family:                  aws.String("web"),
		RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		Cpu:                     aws.String("256"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{
			Name:      aws.String("app"),
			Image:     aws.String("nginx:1"),
			Cpu:       256,
			Memory:    aws.Int32(512),
			Essential: aws.Bool(true),
			Command:   []string{"sh", "-c", "echo \"hi\" \u2028 ünïcode"},
			PortMappings: []ecstypes.PortMapping{
				{ContainerPort: aws.Int32(80), HostPort: aws.Int32(8080), Protocol: ecstypes.TransportProtocolTcp},
				{ContainerPort: aws.Int32(443)},
			},
			Environment:  []ecstypes.KeyValuePair{{Name: aws.String("A"), Value: aws.String("1")}},
			DockerLabels: map[string]string{"com.example/x": "y", "empty": ""},
			HealthCheck:  &ecstypes.HealthCheck{Command: []string{"CMD", "true"}, Interval: aws.Int32(30)},
		}},
		Tags: []ecstypes.Tag{{Key: aws.String("team"), Value: aws.String("core")}},
	})
	if err != nil {
		t.Fatal(err)
	}

	req := srv.Last(t)
	if got := req.HTTP.Header.Get("X-Amz-Target"); got != "AmazonEC2ContainerServiceV20141113.RegisterTaskDefinition" {
		t.Errorf("X-Amz-Target = %q", got)
	}
	tree := protocoltest.Decode(t, codec, m, "RegisterTaskDefinition", req)
	want := map[string]any{
		"family":                  "web",
		"requiresCompatibilities": []any{"FARGATE"},
		"cpu":                     "256",
		"containerDefinitions": []any{map[string]any{
			"name":      "app",
			"image":     "nginx:1",
			"cpu":       int64(256),
			"memory":    int64(512),
			"essential": true,
			"command":   []any{"sh", "-c", "echo \"hi\" \u2028 ünïcode"},
			"portMappings": []any{
				map[string]any{"containerPort": int64(80), "hostPort": int64(8080), "protocol": "tcp"},
				map[string]any{"containerPort": int64(443)},
			},
			"environment":  []any{map[string]any{"name": "A", "value": "1"}},
			"dockerLabels": map[string]any{"com.example/x": "y", "empty": ""},
			"healthCheck":  map[string]any{"command": []any{"CMD", "true"}, "interval": int64(30)},
		}},
		"tags": []any{map[string]any{"key": "team", "value": "core"}},
	}
	if !protocoltest.Equal(want, tree) {
		t.Errorf("decoded tree differs: %s", protocoltest.Diff(want, tree))
	}

	td := out.TaskDefinition
	if td == nil || td.Revision != 3 || aws.ToString(td.Family) != "web" || td.Status != ecstypes.TaskDefinitionStatusActive {
		t.Fatalf("output = %+v", td)
	}
	if !td.RegisteredAt.Equal(registered) {
		t.Errorf("registeredAt = %v, want %v", td.RegisteredAt, registered)
	}
	if td.ContainerDefinitions[0].Cpu != 256 || td.ContainerDefinitions[0].DockerLabels["a"] != "b" {
		t.Errorf("containerDefinitions = %+v", td.ContainerDefinitions)
	}
}

func TestECSDescribeOutputs(t *testing.T) {
	created := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	started := created.Add(1500 * time.Millisecond)
	_, client := ecsServer(t, "DescribeTasks", map[string]any{
		"tasks": []any{map[string]any{
			"taskArn":    "arn:aws:ecs:us-east-1:000000000000:task/c/abc",
			"createdAt":  created,
			"startedAt":  started,
			"lastStatus": "RUNNING",
			"cpu":        "256",
			"containers": []any{map[string]any{"name": "app", "exitCode": int64(0), "networkBindings": []any{
				map[string]any{"hostPort": int64(32768), "containerPort": int64(80), "bindIP": "0.0.0.0"},
			}}},
			"attributes": []any{}, // empty list stays an empty list
		}},
		"failures": []any{map[string]any{"arn": "arn:x", "reason": "MISSING"}},
	}, nil)
	out, err := client.DescribeTasks(context.Background(), &ecs.DescribeTasksInput{Cluster: aws.String("c"), Tasks: []string{"abc", "x"}})
	if err != nil {
		t.Fatal(err)
	}
	task := out.Tasks[0]
	if !task.CreatedAt.Equal(created) || !task.StartedAt.Equal(started) {
		t.Errorf("createdAt %v startedAt %v", task.CreatedAt, task.StartedAt)
	}
	if aws.ToInt32(task.Containers[0].ExitCode) != 0 || task.Containers[0].ExitCode == nil {
		t.Errorf("exitCode 0 must be present: %+v", task.Containers[0])
	}
	if aws.ToInt32(task.Containers[0].NetworkBindings[0].HostPort) != 32768 {
		t.Errorf("networkBindings = %+v", task.Containers[0].NetworkBindings)
	}
	if aws.ToString(out.Failures[0].Reason) != "MISSING" {
		t.Errorf("failures = %+v", out.Failures)
	}

	_, client = ecsServer(t, "DescribeClusters", map[string]any{
		"clusters": []any{map[string]any{
			"clusterName": "default", "status": "ACTIVE",
			"runningTasksCount": int64(2), "activeServicesCount": int64(1),
			"settings":   []any{map[string]any{"name": "containerInsights", "value": "enabled"}},
			"statistics": []any{},
			"tags":       []any{map[string]any{"key": "k", "value": "v"}},
		}},
	}, nil)
	dc, err := client.DescribeClusters(context.Background(), &ecs.DescribeClustersInput{Clusters: []string{"default"}})
	if err != nil {
		t.Fatal(err)
	}
	if c := dc.Clusters[0]; aws.ToString(c.ClusterName) != "default" || c.RunningTasksCount != 2 || c.Settings[0].Value == nil || aws.ToString(c.Tags[0].Key) != "k" {
		t.Errorf("cluster = %+v", c)
	}
}

func TestECSErrors(t *testing.T) {
	m := models.MustLoad("ecs")
	_, client := ecsServer(t, "", nil, &protocol.APIError{
		Code: "ClusterNotFoundException", Message: "Cluster not found.", Status: 400, Sender: true,
		Shape: m.Shapes["ClusterNotFoundException"],
	})
	_, err := client.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String("nope"), Services: []string{"s"}})
	var cnf *ecstypes.ClusterNotFoundException
	if !errors.As(err, &cnf) {
		t.Fatalf("error %T %v is not a ClusterNotFoundException", err, err)
	}
	if cnf.ErrorMessage() != "Cluster not found." || cnf.ErrorCode() != "ClusterNotFoundException" {
		t.Errorf("code %q message %q", cnf.ErrorCode(), cnf.ErrorMessage())
	}

	// An error the model does not know, with a server fault.
	_, client = ecsServer(t, "", nil, &protocol.APIError{Code: "InternalFailure", Message: "boom", Status: 500})
	_, err = client.ListClusters(context.Background(), &ecs.ListClustersInput{})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "InternalFailure" || ae.ErrorMessage() != "boom" {
		t.Fatalf("error = %v", err)
	}
}

func TestECSDocumentAndFields(t *testing.T) {
	// An error carrying extra members of its shape.
	m := models.MustLoad("ecs")
	_, client := ecsServer(t, "", nil, &protocol.APIError{
		Code: "ResourceInUseException", Message: "busy", Status: 400, Sender: true,
		Shape: m.Shapes["ResourceInUseException"],
	})
	_, err := client.DeleteCluster(context.Background(), &ecs.DeleteClusterInput{Cluster: aws.String("c")})
	var riu *ecstypes.ResourceInUseException
	if !errors.As(err, &riu) || riu.ErrorMessage() != "busy" {
		t.Fatalf("error = %v", err)
	}
}
