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

	"github.com/wharfhq/wharf/internal/wharftest"
)

func ecsClient(t *testing.T) (*ecs.Client, *wharftest.Env) {
	t.Helper()
	env := wharftest.Start(t)
	return ecs.NewFromConfig(env.Root()), env
}

func clusterARN(env *wharftest.Env, name string) string {
	return "arn:aws:ecs:us-east-1:" + env.Info.Account + ":cluster/" + name
}

func TestECSCreateDescribeCluster(t *testing.T) {
	c, env := ecsClient(t)
	ctx := context.Background()
	out, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{
		ClusterName:       aws.String("prod"),
		Settings:          []types.ClusterSetting{{Name: types.ClusterSettingNameContainerInsights, Value: aws.String("enabled")}},
		Tags:              []types.Tag{{Key: aws.String("team"), Value: aws.String("web")}},
		CapacityProviders: []string{"FARGATE", "FARGATE_SPOT"},
		DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{
			{CapacityProvider: aws.String("FARGATE"), Weight: 1, Base: 2},
			{CapacityProvider: aws.String("FARGATE_SPOT"), Weight: 3},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	cl := out.Cluster
	if aws.ToString(cl.ClusterArn) != clusterARN(env, "prod") || aws.ToString(cl.Status) != "ACTIVE" || aws.ToString(cl.ClusterName) != "prod" {
		t.Fatalf("cluster = %+v", cl)
	}
	if len(cl.CapacityProviders) != 2 || len(cl.DefaultCapacityProviderStrategy) != 2 || cl.DefaultCapacityProviderStrategy[0].Base != 2 {
		t.Fatalf("capacity = %v %+v", cl.CapacityProviders, cl.DefaultCapacityProviderStrategy)
	}
	if len(cl.Settings) != 1 || aws.ToString(cl.Settings[0].Value) != "enabled" || len(cl.Tags) != 1 {
		t.Fatalf("settings/tags = %+v %+v", cl.Settings, cl.Tags)
	}

	// Idempotent: the same name returns the existing cluster unchanged.
	again, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("prod")})
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Cluster.CapacityProviders) != 2 || aws.ToString(again.Cluster.Settings[0].Value) != "enabled" {
		t.Fatalf("second create changed the cluster: %+v", again.Cluster)
	}

	d, err := c.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{"prod", clusterARN(env, "prod"), "nope"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Clusters) != 2 || len(d.Failures) != 1 {
		t.Fatalf("describe = %+v / %+v", d.Clusters, d.Failures)
	}
	if f := d.Failures[0]; aws.ToString(f.Reason) != "MISSING" || aws.ToString(f.Arn) != clusterARN(env, "nope") {
		t.Fatalf("failure = %+v", f)
	}
	if d.Clusters[0].Settings != nil || d.Clusters[0].Tags != nil {
		t.Fatalf("settings/tags without include: %+v", d.Clusters[0])
	}
	if d.Clusters[0].RegisteredContainerInstancesCount != 0 || d.Clusters[0].RunningTasksCount != 0 {
		t.Fatalf("counts = %+v", d.Clusters[0])
	}
	d, err = c.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{"prod"},
		Include: []types.ClusterField{types.ClusterFieldSettings, types.ClusterFieldTags, types.ClusterFieldStatistics}})
	if err != nil {
		t.Fatal(err)
	}
	if cl := d.Clusters[0]; len(cl.Settings) != 1 || len(cl.Tags) != 1 || len(cl.Statistics) == 0 {
		t.Fatalf("with include = %+v", cl)
	}

	// No name at all: the default cluster.
	def, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(def.Cluster.ClusterName) != "default" {
		t.Fatalf("default = %+v", def.Cluster)
	}
	d, err = c.DescribeClusters(ctx, &ecs.DescribeClustersInput{})
	if err != nil || len(d.Clusters) != 1 || aws.ToString(d.Clusters[0].ClusterName) != "default" {
		t.Fatalf("describe default = %+v, %v", d, err)
	}
}

func TestECSClusterErrors(t *testing.T) {
	c, env := ecsClient(t)
	ctx := context.Background()
	cases := []struct {
		name string
		in   *ecs.CreateClusterInput
	}{
		{"bad name", &ecs.CreateClusterInput{ClusterName: aws.String("no spaces")}},
		{"unknown provider", &ecs.CreateClusterInput{ClusterName: aws.String("a"), CapacityProviders: []string{"MY_ASG"}}},
		{"strategy not associated", &ecs.CreateClusterInput{ClusterName: aws.String("a"), CapacityProviders: []string{"FARGATE"},
			DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("FARGATE_SPOT"), Weight: 1}}}},
		{"two bases", &ecs.CreateClusterInput{ClusterName: aws.String("a"), CapacityProviders: []string{"FARGATE", "FARGATE_SPOT"},
			DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{
				{CapacityProvider: aws.String("FARGATE"), Weight: 1, Base: 1}, {CapacityProvider: aws.String("FARGATE_SPOT"), Weight: 1, Base: 1}}}},
		{"bad setting", &ecs.CreateClusterInput{ClusterName: aws.String("a"),
			Settings: []types.ClusterSetting{{Name: types.ClusterSettingNameContainerInsights, Value: aws.String("maybe")}}}},
		{"reserved tag", &ecs.CreateClusterInput{ClusterName: aws.String("a"), Tags: []types.Tag{{Key: aws.String("aws:x"), Value: aws.String("y")}}}},
	}
	for _, tc := range cases {
		_, err := c.CreateCluster(ctx, tc.in)
		var ipe *types.InvalidParameterException
		if !errors.As(err, &ipe) {
			t.Errorf("%s: err = %v, want InvalidParameterException", tc.name, err)
		}
	}
	var nf *types.ClusterNotFoundException
	if _, err := c.UpdateClusterSettings(ctx, &ecs.UpdateClusterSettingsInput{Cluster: aws.String("ghost"),
		Settings: []types.ClusterSetting{{Name: types.ClusterSettingNameContainerInsights, Value: aws.String("enabled")}}}); !errors.As(err, &nf) {
		t.Errorf("update ghost: %v", err)
	}
	if _, err := c.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("ghost")}); !errors.As(err, &nf) {
		t.Errorf("delete ghost: %v", err)
	}
	// An ARN of another account is not this account's cluster.
	other := strings.Replace(clusterARN(env, "x"), env.Info.Account, "000000000000", 1)
	if _, err := c.PutClusterCapacityProviders(ctx, &ecs.PutClusterCapacityProvidersInput{Cluster: aws.String(other),
		CapacityProviders: []string{}, DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{}}); !errors.As(err, &nf) {
		t.Errorf("other account: %v", err)
	}
}

func TestECSUpdateAndDeleteCluster(t *testing.T) {
	c, env := ecsClient(t)
	ctx := context.Background()
	if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("c1")}); err != nil {
		t.Fatal(err)
	}
	u, err := c.UpdateCluster(ctx, &ecs.UpdateClusterInput{Cluster: aws.String("c1"),
		Settings: []types.ClusterSetting{{Name: types.ClusterSettingNameContainerInsights, Value: aws.String("enhanced")}},
		Configuration: &types.ClusterConfiguration{ExecuteCommandConfiguration: &types.ExecuteCommandConfiguration{
			Logging: types.ExecuteCommandLoggingDefault}}})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(u.Cluster.Settings[0].Value) != "enhanced" || u.Cluster.Configuration == nil {
		t.Fatalf("update = %+v", u.Cluster)
	}
	us, err := c.UpdateClusterSettings(ctx, &ecs.UpdateClusterSettingsInput{Cluster: aws.String(clusterARN(env, "c1")),
		Settings: []types.ClusterSetting{{Name: types.ClusterSettingNameContainerInsights, Value: aws.String("disabled")}}})
	if err != nil || aws.ToString(us.Cluster.Settings[0].Value) != "disabled" {
		t.Fatalf("update settings = %+v, %v", us, err)
	}
	p, err := c.PutClusterCapacityProviders(ctx, &ecs.PutClusterCapacityProvidersInput{Cluster: aws.String("c1"),
		CapacityProviders:               []string{"FARGATE_SPOT"},
		DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("FARGATE_SPOT"), Weight: 1}}})
	if err != nil || len(p.Cluster.CapacityProviders) != 1 || aws.ToString(p.Cluster.DefaultCapacityProviderStrategy[0].CapacityProvider) != "FARGATE_SPOT" {
		t.Fatalf("put capacity providers = %+v, %v", p, err)
	}

	del, err := c.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("c1")})
	if err != nil || aws.ToString(del.Cluster.Status) != "INACTIVE" {
		t.Fatalf("delete = %+v, %v", del, err)
	}
	// Still describable, INACTIVE; gone from the listing; name reusable.
	d, err := c.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{"c1"}})
	if err != nil || len(d.Clusters) != 1 || aws.ToString(d.Clusters[0].Status) != "INACTIVE" {
		t.Fatalf("describe deleted = %+v, %v", d, err)
	}
	l, err := c.ListClusters(ctx, &ecs.ListClustersInput{})
	if err != nil || len(l.ClusterArns) != 0 {
		t.Fatalf("list = %+v, %v", l, err)
	}
	var nf *types.ClusterNotFoundException
	if _, err := c.UpdateCluster(ctx, &ecs.UpdateClusterInput{Cluster: aws.String("c1")}); !errors.As(err, &nf) {
		t.Fatalf("update deleted: %v", err)
	}
	re, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("c1")})
	if err != nil || aws.ToString(re.Cluster.Status) != "ACTIVE" || len(re.Cluster.CapacityProviders) != 0 {
		t.Fatalf("recreate = %+v, %v", re, err)
	}
}

func TestECSListClustersPagination(t *testing.T) {
	c, env := ecsClient(t)
	ctx := context.Background()
	want := map[string]bool{}
	for i := range 7 {
		name := fmt.Sprintf("c%02d", i)
		if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(name)}); err != nil {
			t.Fatal(err)
		}
		want[clusterARN(env, name)] = true
	}
	pages := 0
	p := ecs.NewListClustersPaginator(c, &ecs.ListClustersInput{MaxResults: aws.Int32(3)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, a := range out.ClusterArns {
			if !want[a] {
				t.Fatalf("unexpected or repeated %s", a)
			}
			delete(want, a)
		}
	}
	if pages != 3 || len(want) != 0 {
		t.Fatalf("pages = %d, missing %v", pages, want)
	}
	var ipe *types.InvalidParameterException
	if _, err := c.ListClusters(ctx, &ecs.ListClustersInput{NextToken: aws.String("!!!")}); !errors.As(err, &ipe) {
		t.Fatalf("bad token: %v", err)
	}
}

func TestECSAccountSettings(t *testing.T) {
	c, env := ecsClient(t)
	ctx := context.Background()
	eff, err := c.ListAccountSettings(ctx, &ecs.ListAccountSettingsInput{EffectiveSettings: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(eff.Settings) < 10 {
		t.Fatalf("effective settings = %d", len(eff.Settings))
	}
	own, err := c.ListAccountSettings(ctx, &ecs.ListAccountSettingsInput{})
	if err != nil || len(own.Settings) != 0 {
		t.Fatalf("own settings = %+v, %v", own, err)
	}
	root := "arn:aws:iam::" + env.Info.Account + ":root"
	put, err := c.PutAccountSetting(ctx, &ecs.PutAccountSettingInput{Name: types.SettingNameContainerInsights, Value: aws.String("enabled")})
	if err != nil || aws.ToString(put.Setting.PrincipalArn) != root || aws.ToString(put.Setting.Value) != "enabled" {
		t.Fatalf("put = %+v, %v", put, err)
	}
	if _, err := c.PutAccountSettingDefault(ctx, &ecs.PutAccountSettingDefaultInput{Name: types.SettingNameAwsvpcTrunking, Value: aws.String("enabled")}); err != nil {
		t.Fatal(err)
	}
	got, err := c.ListAccountSettings(ctx, &ecs.ListAccountSettingsInput{EffectiveSettings: true, Name: types.SettingNameAwsvpcTrunking})
	if err != nil || len(got.Settings) != 1 || aws.ToString(got.Settings[0].Value) != "enabled" {
		t.Fatalf("effective awsvpcTrunking = %+v, %v", got, err)
	}
	own, err = c.ListAccountSettings(ctx, &ecs.ListAccountSettingsInput{})
	if err != nil || len(own.Settings) != 1 || own.Settings[0].Name != types.SettingNameContainerInsights {
		t.Fatalf("own settings = %+v, %v", own, err)
	}
	pages := 0
	p := ecs.NewListAccountSettingsPaginator(c, &ecs.ListAccountSettingsInput{EffectiveSettings: true, MaxResults: 4})
	n := 0
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		n += len(out.Settings)
	}
	if n != len(eff.Settings) || pages < 3 {
		t.Fatalf("paged %d settings in %d pages, want %d", n, pages, len(eff.Settings))
	}
	var ipe *types.InvalidParameterException
	if _, err := c.PutAccountSetting(ctx, &ecs.PutAccountSettingInput{Name: types.SettingNameTagResourceAuthorization, Value: aws.String("sometimes")}); !errors.As(err, &ipe) {
		t.Fatalf("bad value: %v", err)
	}
}

func TestECSClusterTags(t *testing.T) {
	c, env := ecsClient(t)
	ctx := context.Background()
	if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("t"), Tags: []types.Tag{{Key: aws.String("a"), Value: aws.String("1")}}}); err != nil {
		t.Fatal(err)
	}
	a := clusterARN(env, "t")
	if _, err := c.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(a), Tags: []types.Tag{
		{Key: aws.String("a"), Value: aws.String("2")}, {Key: aws.String("b"), Value: aws.String("3")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UntagResource(ctx, &ecs.UntagResourceInput{ResourceArn: aws.String(a), TagKeys: []string{"b"}}); err != nil {
		t.Fatal(err)
	}
	l, err := c.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: aws.String(a)})
	if err != nil || len(l.Tags) != 1 || aws.ToString(l.Tags[0].Value) != "2" {
		t.Fatalf("tags = %+v, %v", l, err)
	}
	var nf *types.ClusterNotFoundException
	if _, err := c.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: aws.String(clusterARN(env, "ghost"))}); !errors.As(err, &nf) {
		t.Fatalf("ghost: %v", err)
	}
	var ipe *types.InvalidParameterException
	if _, err := c.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: aws.String("not-an-arn")}); !errors.As(err, &ipe) {
		t.Fatalf("bad arn: %v", err)
	}
}
