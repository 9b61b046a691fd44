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

func nginxTaskDef(family string) *ecs.RegisterTaskDefinitionInput {
	return &ecs.RegisterTaskDefinitionInput{
		Family:                  aws.String(family),
		NetworkMode:             types.NetworkModeAwsvpc,
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
		Cpu:                     aws.String("512"),
		Memory:                  aws.String("1024"),
		ExecutionRoleArn:        aws.String("arn:aws:iam::123456789012:role/ecsTaskExecutionRole"),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name: aws.String("nginx"), Image: aws.String("nginx:latest"), Essential: aws.Bool(true),
			PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(80), HostPort: aws.Int32(80), Protocol: types.TransportProtocolTcp}},
		}},
	}
}

func TestECSRegisterDescribeTaskDefinition(t *testing.T) {
	c, env := ecsClient(t)
	ctx := context.Background()
	in := nginxTaskDef("my-nginx-task")
	in.Tags = []types.Tag{{Key: aws.String("env"), Value: aws.String("dev")}}
	out, err := c.RegisterTaskDefinition(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	td := out.TaskDefinition
	wantARN := "arn:aws:ecs:us-east-1:" + env.Info.Account + ":task-definition/my-nginx-task:1"
	if aws.ToString(td.TaskDefinitionArn) != wantARN || td.Revision != 1 || td.Status != types.TaskDefinitionStatusActive {
		t.Fatalf("registered = %+v", td)
	}
	if len(out.Tags) != 1 || td.RegisteredAt == nil || !strings.HasSuffix(aws.ToString(td.RegisteredBy), ":root") {
		t.Fatalf("tags/registered = %+v %v %v", out.Tags, td.RegisteredAt, aws.ToString(td.RegisteredBy))
	}
	if len(td.Compatibilities) != 2 || aws.ToString(td.Cpu) != "512" || td.NetworkMode != types.NetworkModeAwsvpc {
		t.Fatalf("compatibilities = %v", td.Compatibilities)
	}

	// Second revision, with cpu/memory in vCPU/GB.
	in2 := nginxTaskDef("my-nginx-task")
	in2.Cpu, in2.Memory = aws.String("1 vCPU"), aws.String("2 GB")
	out2, err := c.RegisterTaskDefinition(ctx, in2)
	if err != nil {
		t.Fatal(err)
	}
	if out2.TaskDefinition.Revision != 2 || aws.ToString(out2.TaskDefinition.Cpu) != "1024" || aws.ToString(out2.TaskDefinition.Memory) != "2048" {
		t.Fatalf("revision 2 = %+v", out2.TaskDefinition)
	}

	for ident, rev := range map[string]int32{"my-nginx-task": 2, "my-nginx-task:1": 1, wantARN: 1} {
		d, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(ident)})
		if err != nil {
			t.Fatalf("%s: %v", ident, err)
		}
		if d.TaskDefinition.Revision != rev || d.Tags != nil {
			t.Fatalf("%s: revision %d, tags %v", ident, d.TaskDefinition.Revision, d.Tags)
		}
	}
	d, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("my-nginx-task:1"),
		Include: []types.TaskDefinitionField{types.TaskDefinitionFieldTags}})
	if err != nil || len(d.Tags) != 1 {
		t.Fatalf("include tags = %+v, %v", d, err)
	}
	cd := d.TaskDefinition.ContainerDefinitions[0]
	if aws.ToString(cd.Name) != "nginx" || aws.ToInt32(cd.PortMappings[0].HostPort) != 80 || !aws.ToBool(cd.Essential) {
		t.Fatalf("container = %+v", cd)
	}

	// Deregister: INACTIVE, still describable by revision; the family's
	// latest ACTIVE revision is then 1.
	dr, err := c.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String("my-nginx-task:2")})
	if err != nil || dr.TaskDefinition.Status != types.TaskDefinitionStatusInactive || dr.TaskDefinition.DeregisteredAt == nil {
		t.Fatalf("deregister = %+v, %v", dr, err)
	}
	d, err = c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("my-nginx-task:2")})
	if err != nil || d.TaskDefinition.Status != types.TaskDefinitionStatusInactive {
		t.Fatalf("describe inactive = %+v, %v", d, err)
	}
	d, err = c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("my-nginx-task")})
	if err != nil || d.TaskDefinition.Revision != 1 {
		t.Fatalf("latest active = %+v, %v", d, err)
	}

	// Delete: only INACTIVE revisions.
	del, err := c.DeleteTaskDefinitions(ctx, &ecs.DeleteTaskDefinitionsInput{TaskDefinitions: []string{"my-nginx-task:2", "my-nginx-task:1", "my-nginx-task:9"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(del.TaskDefinitions) != 1 || del.TaskDefinitions[0].Status != types.TaskDefinitionStatusDeleteInProgress || len(del.Failures) != 2 {
		t.Fatalf("delete = %+v / %+v", del.TaskDefinitions, del.Failures)
	}

	// Tags on a task definition.
	if _, err := c.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(wantARN), Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}); err != nil {
		t.Fatal(err)
	}
	lt, err := c.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: aws.String(wantARN)})
	if err != nil || len(lt.Tags) != 2 {
		t.Fatalf("tags = %+v, %v", lt, err)
	}
	var rnf *types.ResourceNotFoundException
	if _, err := c.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: aws.String(strings.Replace(wantARN, ":1", ":77", 1))}); !errors.As(err, &rnf) {
		t.Fatalf("missing task definition tags: %v", err)
	}
}

func TestECSTaskDefinitionErrors(t *testing.T) {
	c, _ := ecsClient(t)
	ctx := context.Background()
	mutations := map[string]struct {
		mutate func(*ecs.RegisterTaskDefinitionInput)
		msg    string
	}{
		"bad cpu":        {func(in *ecs.RegisterTaskDefinitionInput) { in.Cpu = aws.String("300") }, "Invalid 'cpu' setting for task."},
		"bad combo":      {func(in *ecs.RegisterTaskDefinitionInput) { in.Memory = aws.String("512") }, "No Fargate configuration exists"},
		"bridge fargate": {func(in *ecs.RegisterTaskDefinitionInput) { in.NetworkMode = types.NetworkModeBridge }, "Fargate only supports network mode"},
		"awslogs": {func(in *ecs.RegisterTaskDefinitionInput) {
			in.ExecutionRoleArn = nil
			in.ContainerDefinitions[0].LogConfiguration = &types.LogConfiguration{LogDriver: types.LogDriverAwslogs,
				Options: map[string]string{"awslogs-group": "g", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "p"}}
		}, "Fargate requires task definition to have execution role ARN to support log driver awslogs."},
		"ports": {func(in *ecs.RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].PortMappings[0].HostPort = aws.Int32(8080)
		},
			"When networkMode=awsvpc, the host ports and container ports in port mappings must match."},
		"no essential": {func(in *ecs.RegisterTaskDefinitionInput) { in.ContainerDefinitions[0].Essential = aws.Bool(false) }, "essential"},
		"unknown volume": {func(in *ecs.RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].MountPoints = []types.MountPoint{{SourceVolume: aws.String("data"), ContainerPath: aws.String("/d")}}
		}, "Unknown volume 'data'."},
	}
	for name, m := range mutations {
		in := nginxTaskDef("bad")
		m.mutate(in)
		_, err := c.RegisterTaskDefinition(ctx, in)
		var ce *types.ClientException
		if !errors.As(err, &ce) || !strings.Contains(aws.ToString(ce.Message), m.msg) {
			t.Errorf("%s: err = %v, want ClientException %q", name, err, m.msg)
		}
	}
	// Model constraints come from the edge: family and containers required.
	_, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("x")})
	if err == nil {
		t.Fatal("register without containerDefinitions succeeded")
	}
	var ce *types.ClientException
	if _, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("nope")}); !errors.As(err, &ce) {
		t.Fatalf("describe missing: %v", err)
	}
	if _, err := c.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String("nope:3")}); !errors.As(err, &ce) {
		t.Fatalf("deregister missing: %v", err)
	}
}

func TestECSListTaskDefinitions(t *testing.T) {
	c, env := ecsClient(t)
	ctx := context.Background()
	for _, fam := range []string{"alpha", "beta", "alpha-2"} {
		for range 3 {
			if _, err := c.RegisterTaskDefinition(ctx, nginxTaskDef(fam)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := c.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String("beta:2")}); err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{"alpha-2:1", "alpha-2:2", "alpha-2:3"} {
		if _, err := c.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(r)}); err != nil {
			t.Fatal(err)
		}
	}
	arn := func(s string) string { return "arn:aws:ecs:us-east-1:" + env.Info.Account + ":task-definition/" + s }

	var all []string
	p := ecs.NewListTaskDefinitionsPaginator(c, &ecs.ListTaskDefinitionsInput{MaxResults: aws.Int32(2)})
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		all = append(all, out.TaskDefinitionArns...)
	}
	want := []string{arn("alpha:1"), arn("alpha:2"), arn("alpha:3"), arn("beta:1"), arn("beta:3")}
	if fmt.Sprint(all) != fmt.Sprint(want) || pages != 3 {
		t.Fatalf("list (%d pages) = %v, want %v", pages, all, want)
	}

	out, err := c.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("alpha"), Sort: types.SortOrderDesc})
	if err != nil || fmt.Sprint(out.TaskDefinitionArns) != fmt.Sprint([]string{arn("alpha:3"), arn("alpha:2"), arn("alpha:1")}) {
		t.Fatalf("desc = %v, %v", out, err)
	}
	// DESC pagination.
	var desc []string
	p = ecs.NewListTaskDefinitionsPaginator(c, &ecs.ListTaskDefinitionsInput{Sort: types.SortOrderDesc, MaxResults: aws.Int32(2)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		desc = append(desc, out.TaskDefinitionArns...)
	}
	if len(desc) != 5 || desc[0] != arn("beta:3") || desc[4] != arn("alpha:1") {
		t.Fatalf("desc pages = %v", desc)
	}
	out, err = c.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{Status: types.TaskDefinitionStatusInactive})
	if err != nil || len(out.TaskDefinitionArns) != 4 {
		t.Fatalf("inactive = %v, %v", out, err)
	}

	fams, err := c.ListTaskDefinitionFamilies(ctx, &ecs.ListTaskDefinitionFamiliesInput{})
	if err != nil || fmt.Sprint(fams.Families) != "[alpha alpha-2 beta]" {
		t.Fatalf("families = %v, %v", fams, err)
	}
	fams, err = c.ListTaskDefinitionFamilies(ctx, &ecs.ListTaskDefinitionFamiliesInput{Status: types.TaskDefinitionFamilyStatusActive, FamilyPrefix: aws.String("al")})
	if err != nil || fmt.Sprint(fams.Families) != "[alpha]" {
		t.Fatalf("active al* = %v, %v", fams, err)
	}
	fams, err = c.ListTaskDefinitionFamilies(ctx, &ecs.ListTaskDefinitionFamiliesInput{Status: types.TaskDefinitionFamilyStatusInactive})
	if err != nil || fmt.Sprint(fams.Families) != "[alpha-2]" {
		t.Fatalf("inactive families = %v, %v", fams, err)
	}
	fp := ecs.NewListTaskDefinitionFamiliesPaginator(c, &ecs.ListTaskDefinitionFamiliesInput{MaxResults: aws.Int32(1)})
	n := 0
	for fp.HasMorePages() {
		out, err := fp.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n += len(out.Families)
	}
	if n != 3 {
		t.Fatalf("paged families = %d", n)
	}
}
