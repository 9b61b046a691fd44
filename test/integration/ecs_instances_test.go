package integration

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

func registerInstance(t *testing.T, c *ecs.Client, cluster, ec2ID, az string, cpu, mem int32) types.ContainerInstance {
	t.Helper()
	in := &ecs.RegisterContainerInstanceInput{
		InstanceIdentityDocument: aws.String(fmt.Sprintf(`{"instanceId":%q,"availabilityZone":%q,"instanceType":"t3.large","imageId":"ami-wharf"}`, ec2ID, az)),
		TotalResources: []types.Resource{
			{Name: aws.String("CPU"), Type: aws.String("INTEGER"), IntegerValue: cpu},
			{Name: aws.String("MEMORY"), Type: aws.String("INTEGER"), IntegerValue: mem},
			{Name: aws.String("PORTS"), Type: aws.String("STRINGSET"), StringSetValue: []string{"22", "2375", "2376", "51678", "51679"}},
			{Name: aws.String("PORTS_UDP"), Type: aws.String("STRINGSET"), StringSetValue: []string{}},
		},
		VersionInfo: &types.VersionInfo{AgentVersion: aws.String("1.80.0"), DockerVersion: aws.String("DockerVersion: 25.0.0")},
		Attributes:  []types.Attribute{{Name: aws.String("com.amazonaws.ecs.capability.logging-driver.awslogs")}},
	}
	if cluster != "" {
		in.Cluster = aws.String(cluster)
	}
	out, err := c.RegisterContainerInstance(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return *out.ContainerInstance
}

func TestECSContainerInstances(t *testing.T) {
	c, env := ecsClient(t)
	ctx := context.Background()

	// No cluster named: the default cluster is created.
	ci := registerInstance(t, c, "", "i-0000000000000001", "us-east-1a", 2048, 4096)
	prefix := "arn:aws:ecs:us-east-1:" + env.Info.Account + ":container-instance/default/"
	if !strings.HasPrefix(aws.ToString(ci.ContainerInstanceArn), prefix) || aws.ToString(ci.Status) != "ACTIVE" || !ci.AgentConnected {
		t.Fatalf("registered = %+v", ci)
	}
	if aws.ToString(ci.Ec2InstanceId) != "i-0000000000000001" || len(ci.RegisteredResources) != 4 || ci.RemainingResources[0].IntegerValue != 2048 {
		t.Fatalf("resources = %+v", ci)
	}
	attrs := map[string]string{}
	for _, a := range ci.Attributes {
		attrs[aws.ToString(a.Name)] = aws.ToString(a.Value)
	}
	if attrs["ecs.availability-zone"] != "us-east-1a" || attrs["ecs.instance-type"] != "t3.large" || attrs["ecs.os-type"] != "linux" {
		t.Fatalf("attributes = %v", attrs)
	}
	d, err := c.DescribeClusters(ctx, &ecs.DescribeClustersInput{})
	if err != nil || len(d.Clusters) != 1 || d.Clusters[0].RegisteredContainerInstancesCount != 1 {
		t.Fatalf("default cluster = %+v, %v", d, err)
	}

	// Registering the same EC2 instance again returns the same registration.
	again := registerInstance(t, c, "default", "i-0000000000000001", "us-east-1a", 2048, 4096)
	if aws.ToString(again.ContainerInstanceArn) != aws.ToString(ci.ContainerInstanceArn) || again.Version <= ci.Version {
		t.Fatalf("re-register = %s v%d, want %s", aws.ToString(again.ContainerInstanceArn), again.Version, aws.ToString(ci.ContainerInstanceArn))
	}
	ci2 := registerInstance(t, c, "default", "i-0000000000000002", "us-east-1b", 1024, 2048)
	ci3 := registerInstance(t, c, "default", "i-0000000000000003", "us-east-1b", 1024, 2048)
	id3 := strings.TrimPrefix(aws.ToString(ci3.ContainerInstanceArn), prefix)

	// Describe by ARN and by ID; unknown ones are failures.
	desc, err := c.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{
		ContainerInstances: []string{aws.ToString(ci.ContainerInstanceArn), id3, "0123456789abcdef0123456789abcdef"},
		Include:            []types.ContainerInstanceField{types.ContainerInstanceFieldTags}})
	if err != nil || len(desc.ContainerInstances) != 2 || len(desc.Failures) != 1 || aws.ToString(desc.Failures[0].Reason) != "MISSING" {
		t.Fatalf("describe = %+v, %v", desc, err)
	}

	// Drain one; filter the listing by status and by the query language.
	up, err := c.UpdateContainerInstancesState(ctx, &ecs.UpdateContainerInstancesStateInput{
		ContainerInstances: []string{aws.ToString(ci2.ContainerInstanceArn), "ffffffffffffffffffffffffffffffff"}, Status: types.ContainerInstanceStatusDraining})
	if err != nil || len(up.ContainerInstances) != 1 || aws.ToString(up.ContainerInstances[0].Status) != "DRAINING" || len(up.Failures) != 1 {
		t.Fatalf("drain = %+v, %v", up, err)
	}
	list := func(in *ecs.ListContainerInstancesInput) []string {
		t.Helper()
		var arns []string
		p := ecs.NewListContainerInstancesPaginator(c, in)
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			arns = append(arns, out.ContainerInstanceArns...)
		}
		return arns
	}
	if got := list(&ecs.ListContainerInstancesInput{MaxResults: aws.Int32(1)}); len(got) != 3 {
		t.Fatalf("all = %v", got)
	}
	if got := list(&ecs.ListContainerInstancesInput{Status: types.ContainerInstanceStatusDraining}); len(got) != 1 || got[0] != aws.ToString(ci2.ContainerInstanceArn) {
		t.Fatalf("draining = %v", got)
	}
	if got := list(&ecs.ListContainerInstancesInput{Filter: aws.String("attribute:ecs.availability-zone == us-east-1b")}); len(got) != 2 {
		t.Fatalf("in us-east-1b = %v", got)
	}
	if got := list(&ecs.ListContainerInstancesInput{Filter: aws.String("ec2InstanceId in [i-0000000000000001, i-0000000000000003]")}); len(got) != 2 {
		t.Fatalf("by ec2 id = %v", got)
	}
	var ipe *types.InvalidParameterException
	if _, err := c.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{Filter: aws.String("attribute:x ==")}); !errors.As(err, &ipe) {
		t.Fatalf("bad filter: %v", err)
	}

	// Custom attributes.
	pa, err := c.PutAttributes(ctx, &ecs.PutAttributesInput{Attributes: []types.Attribute{
		{Name: aws.String("stack"), Value: aws.String("prod"), TargetId: ci.ContainerInstanceArn},
		{Name: aws.String("gpu"), TargetId: aws.String(id3)}}})
	if err != nil || len(pa.Attributes) != 2 {
		t.Fatalf("put attributes = %+v, %v", pa, err)
	}
	la, err := c.ListAttributes(ctx, &ecs.ListAttributesInput{TargetType: types.TargetTypeContainerInstance, AttributeName: aws.String("stack")})
	if err != nil || len(la.Attributes) != 1 || aws.ToString(la.Attributes[0].Value) != "prod" || aws.ToString(la.Attributes[0].TargetId) != aws.ToString(ci.ContainerInstanceArn) {
		t.Fatalf("list attributes = %+v, %v", la, err)
	}
	if got := list(&ecs.ListContainerInstancesInput{Filter: aws.String("attribute:stack == prod or attribute:gpu exists")}); len(got) != 2 {
		t.Fatalf("custom attribute filter = %v", got)
	}
	n := 0
	lp := ecs.NewListAttributesPaginator(c, &ecs.ListAttributesInput{TargetType: types.TargetTypeContainerInstance, MaxResults: aws.Int32(5)})
	for lp.HasMorePages() {
		out, err := lp.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n += len(out.Attributes)
	}
	if n < 15 {
		t.Fatalf("paged %d attributes", n)
	}
	if _, err := c.DeleteAttributes(ctx, &ecs.DeleteAttributesInput{Attributes: []types.Attribute{{Name: aws.String("stack"), TargetId: ci.ContainerInstanceArn}}}); err != nil {
		t.Fatal(err)
	}
	la, err = c.ListAttributes(ctx, &ecs.ListAttributesInput{TargetType: types.TargetTypeContainerInstance, AttributeName: aws.String("stack")})
	if err != nil || len(la.Attributes) != 0 {
		t.Fatalf("after delete = %+v, %v", la, err)
	}
	var tnf *types.TargetNotFoundException
	if _, err := c.PutAttributes(ctx, &ecs.PutAttributesInput{Attributes: []types.Attribute{
		{Name: aws.String("x"), Value: aws.String("y"), TargetId: aws.String("ffffffffffffffffffffffffffffffff")}}}); !errors.As(err, &tnf) {
		t.Fatalf("unknown target: %v", err)
	}
	var many []types.Attribute
	for i := range 11 {
		many = append(many, types.Attribute{Name: aws.String(fmt.Sprintf("a%d", i)), Value: aws.String("v"), TargetId: ci.ContainerInstanceArn})
	}
	var ale *types.AttributeLimitExceededException
	if _, err := c.PutAttributes(ctx, &ecs.PutAttributesInput{Attributes: many}); !errors.As(err, &ale) {
		t.Fatalf("11 attributes: %v", err)
	}
	if _, err := c.PutAttributes(ctx, &ecs.PutAttributesInput{Attributes: []types.Attribute{
		{Name: aws.String("bad name!"), Value: aws.String("v"), TargetId: ci.ContainerInstanceArn}}}); !errors.As(err, &ipe) {
		t.Fatalf("bad name: %v", err)
	}

	// Tags on a container instance.
	if _, err := c.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: ci.ContainerInstanceArn, Tags: []types.Tag{{Key: aws.String("rack"), Value: aws.String("r1")}}}); err != nil {
		t.Fatal(err)
	}
	lt, err := c.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: ci.ContainerInstanceArn})
	if err != nil || len(lt.Tags) != 1 {
		t.Fatalf("instance tags = %+v, %v", lt, err)
	}

	pe, err := c.DiscoverPollEndpoint(ctx, &ecs.DiscoverPollEndpointInput{ContainerInstance: ci.ContainerInstanceArn})
	if err != nil || aws.ToString(pe.Endpoint) != env.URL {
		t.Fatalf("poll endpoint = %+v, %v", pe, err)
	}

	// A cluster with instances cannot be deleted; deregistered ones stay
	// describable as INACTIVE and are no longer counted.
	var cci *types.ClusterContainsContainerInstancesException
	if _, err := c.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("default")}); !errors.As(err, &cci) {
		t.Fatalf("delete with instances: %v", err)
	}
	for _, x := range []types.ContainerInstance{ci, ci2, ci3} {
		dr, err := c.DeregisterContainerInstance(ctx, &ecs.DeregisterContainerInstanceInput{ContainerInstance: x.ContainerInstanceArn})
		if err != nil || aws.ToString(dr.ContainerInstance.Status) != "INACTIVE" {
			t.Fatalf("deregister = %+v, %v", dr, err)
		}
	}
	if _, err := c.DeregisterContainerInstance(ctx, &ecs.DeregisterContainerInstanceInput{ContainerInstance: ci.ContainerInstanceArn}); !errors.As(err, &ipe) {
		t.Fatalf("deregister twice: %v", err)
	}
	desc, err = c.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{ContainerInstances: []string{aws.ToString(ci.ContainerInstanceArn)}})
	if err != nil || len(desc.ContainerInstances) != 1 || aws.ToString(desc.ContainerInstances[0].Status) != "INACTIVE" {
		t.Fatalf("describe deregistered = %+v, %v", desc, err)
	}
	if got := list(&ecs.ListContainerInstancesInput{}); len(got) != 0 {
		t.Fatalf("list after deregister = %v", got)
	}
	if _, err := c.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("default")}); err != nil {
		t.Fatal(err)
	}
}

func TestECSContainerInstanceErrors(t *testing.T) {
	c, _ := ecsClient(t)
	ctx := context.Background()
	var nf *types.ClusterNotFoundException
	if _, err := c.RegisterContainerInstance(ctx, &ecs.RegisterContainerInstanceInput{Cluster: aws.String("ghost"),
		TotalResources: []types.Resource{{Name: aws.String("CPU"), Type: aws.String("INTEGER"), IntegerValue: 1},
			{Name: aws.String("MEMORY"), Type: aws.String("INTEGER"), IntegerValue: 1}}}); !errors.As(err, &nf) {
		t.Fatalf("unknown cluster: %v", err)
	}
	var ipe *types.InvalidParameterException
	if _, err := c.RegisterContainerInstance(ctx, &ecs.RegisterContainerInstanceInput{
		TotalResources: []types.Resource{{Name: aws.String("CPU"), Type: aws.String("INTEGER"), IntegerValue: 1}}}); !errors.As(err, &ipe) {
		t.Fatalf("no memory: %v", err)
	}
	if _, err := c.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{Cluster: aws.String("ghost")}); !errors.As(err, &nf) {
		t.Fatalf("list unknown cluster: %v", err)
	}
	if _, err := c.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{Cluster: aws.String("ghost"), ContainerInstances: []string{"x"}}); !errors.As(err, &nf) {
		t.Fatalf("describe unknown cluster: %v", err)
	}
}
