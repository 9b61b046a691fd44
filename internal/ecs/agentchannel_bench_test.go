package ecs

import (
	"fmt"
	"testing"

	"github.com/wharfhq/wharf/api/ecsapi"
	"github.com/wharfhq/wharf/api/wharfagentapi"
	"github.com/wharfhq/wharf/internal/ptr"
)

// BenchmarkPollAssignments measures one agent poll answered at once (ack
// 0, one task) on clusters of 100 and 1,000 instances with one task each:
// the queue's task index keeps a poll's cost independent of the cluster.
//
//	go test ./internal/ecs -run X -bench PollAssignments -benchtime 2000x
func BenchmarkPollAssignments(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) { benchPoll(b, n) })
	}
}

func benchPoll(b *testing.B, instances int) {
	s, _, ctx := agentTestService(b, Options{})
	var arns []string
	for i := range instances {
		out, err := s.RegisterContainerInstance(ctx, &ecsapi.RegisterContainerInstanceRequest{
			InstanceIdentityDocument: ptr.To(fmt.Sprintf(`{"instanceId":"i-%017d"}`, i)),
			TotalResources: []ecsapi.Resource{{Name: ptr.To("CPU"), Type: ptr.To("INTEGER"), IntegerValue: ptr.To(int32(1024))},
				{Name: ptr.To("MEMORY"), Type: ptr.To("INTEGER"), IntegerValue: ptr.To(int32(1024))}}})
		if err != nil {
			b.Fatal(err)
		}
		arns = append(arns, ptr.Value(out.ContainerInstance.ContainerInstanceArn))
	}
	if _, err := s.RegisterTaskDefinition(ctx, &ecsapi.RegisterTaskDefinitionRequest{Family: ptr.To("w"),
		ContainerDefinitions: []ecsapi.ContainerDefinition{{Name: ptr.To("a"), Image: ptr.To("busybox"), Memory: ptr.To(int32(1024)), Essential: ptr.To(true)}}}); err != nil {
		b.Fatal(err)
	}
	for range instances / 10 {
		if _, err := s.RunTask(ctx, &ecsapi.RunTaskRequest{TaskDefinition: ptr.To("w"), Count: ptr.To(int32(10))}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out, err := s.PollAssignments(ctx, &wharfagentapi.PollAssignmentsRequest{ContainerInstance: ptr.To(arns[i%instances]), WaitSeconds: ptr.To(int32(0))})
		if err != nil || len(out.Assignments) != 1 {
			b.Fatalf("poll: %v %+v", err, out)
		}
	}
}
