package integration

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/wharfhq/wharf/internal/server"
	"github.com/wharfhq/wharf/internal/wharftest"
)

// TestECSStoppedTaskRetention: a stopped task is hidden once
// --stopped-task-retention is over and deleted by the next maintenance
// sweep, with its client token. The server's clock runs ahead of the wall
// clock by a hand-moved offset, kept within the signature's clock-skew
// window.
func TestECSStoppedTaskRetention(t *testing.T) {
	var offset atomic.Int64
	env := wharftest.Start(t, func(c *server.Config) {
		c.StoppedTaskRetention = 2 * time.Minute
		c.Now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	})
	c := ecs.NewFromConfig(env.Root())
	ctx := context.Background()
	if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("work")}); err != nil {
		t.Fatal(err)
	}
	registerInstance(t, c, "work", "i-00000000000000a1", "us-east-1a", 1024, 4096)
	bridgeTaskDef(t, c, "web", 256)
	runOne := func() string {
		t.Helper()
		out, err := c.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("work"), TaskDefinition: aws.String("web"), ClientToken: aws.String("tok")})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Tasks) != 1 {
			t.Fatalf("RunTask = %d tasks, failures %+v", len(out.Tasks), out.Failures)
		}
		return aws.ToString(out.Tasks[0].TaskArn)
	}
	describe := func(arn string) *ecs.DescribeTasksOutput {
		t.Helper()
		out, err := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("work"), Tasks: []string{arn}})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}

	arn := runOne()
	if _, err := c.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String("work"), Task: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	offset.Add(int64(time.Minute))
	if err := env.Server.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if d := describe(arn); len(d.Tasks) != 1 || aws.ToString(d.Tasks[0].LastStatus) != "STOPPED" {
		t.Fatalf("within the retention: DescribeTasks = %+v, failures %+v", d.Tasks, d.Failures)
	}
	if again := runOne(); again != arn {
		t.Fatalf("RunTask with the token within the retention = %s, want %s", again, arn)
	}

	offset.Add(int64(time.Minute))
	if err := env.Server.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	d := describe(arn)
	if len(d.Tasks) != 0 || len(d.Failures) != 1 || aws.ToString(d.Failures[0].Reason) != "MISSING" || aws.ToString(d.Failures[0].Arn) != arn {
		t.Fatalf("after the retention: DescribeTasks = %+v, failures %+v", d.Tasks, d.Failures)
	}
	l, err := c.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("work"), DesiredStatus: types.DesiredStatusStopped})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.TaskArns) != 0 {
		t.Errorf("ListTasks STOPPED = %v, want none", l.TaskArns)
	}
	// Deleted, not only hidden: its client token went with it, so the same
	// token starts a new task.
	if again := runOne(); again == arn {
		t.Errorf("RunTask with the token after the sweep answered the deleted task %s", arn)
	}
}
