package integration

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/wharfhq/wharf/internal/wharftest"
)

// BenchmarkECSRunTask measures placements end to end through the API:
// RunTask (count 10, spread across zones then binpack on memory, a memberOf
// constraint) from 8 concurrent SDK clients on a cluster of simulated
// instances in 3 zones that never fills up. It reports tasks placed per
// second and the p99 RunTask latency.
func BenchmarkECSRunTask(b *testing.B) {
	for _, n := range []int{10, 100, 1000, 10000} {
		b.Run(fmt.Sprintf("instances=%d", n), func(b *testing.B) {
			env := wharftest.Start(b)
			c := ecs.NewFromConfig(env.Root())
			ctx := context.Background()
			if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("bench")}); err != nil {
				b.Fatal(err)
			}
			zones := []string{"us-east-1a", "us-east-1b", "us-east-1c"}
			for i := range n {
				_, err := c.RegisterContainerInstance(ctx, &ecs.RegisterContainerInstanceInput{Cluster: aws.String("bench"),
					InstanceIdentityDocument: aws.String(fmt.Sprintf(`{"instanceId":"i-%017d","availabilityZone":%q,"instanceType":"m5.24xlarge"}`, i, zones[i%3])),
					TotalResources: []types.Resource{
						{Name: aws.String("CPU"), Type: aws.String("INTEGER"), IntegerValue: 1 << 24},
						{Name: aws.String("MEMORY"), Type: aws.String("INTEGER"), IntegerValue: 1 << 30},
					}})
				if err != nil {
					b.Fatal(err)
				}
			}
			if _, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("w"),
				ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("w"), Image: aws.String("busybox"), Cpu: 1, Memory: aws.Int32(8)}}}); err != nil {
				b.Fatal(err)
			}
			in := &ecs.RunTaskInput{Cluster: aws.String("bench"), TaskDefinition: aws.String("w"), Count: aws.Int32(10),
				PlacementStrategy: []types.PlacementStrategy{
					{Type: types.PlacementStrategyTypeSpread, Field: aws.String("attribute:ecs.availability-zone")},
					{Type: types.PlacementStrategyTypeBinpack, Field: aws.String("memory")}},
				PlacementConstraints: []types.PlacementConstraint{{Type: types.PlacementConstraintTypeMemberOf,
					Expression: aws.String("attribute:ecs.instance-type =~ m5.*")}}}
			var mu sync.Mutex
			var lat []time.Duration
			placed := 0
			b.SetParallelism(4) // × GOMAXPROCS (2 here) = 8 clients
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					t0 := time.Now()
					out, err := c.RunTask(ctx, in)
					d := time.Since(t0)
					if err != nil {
						b.Error(err)
						return
					}
					mu.Lock()
					lat = append(lat, d)
					placed += len(out.Tasks)
					mu.Unlock()
				}
			})
			el := time.Since(start)
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(placed)/el.Seconds(), "tasks/s")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
