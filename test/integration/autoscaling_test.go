package integration

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	aastypes "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/smithy-go"

	"github.com/wharfhq/wharf/internal/server"
	"github.com/wharfhq/wharf/internal/wharftest"
)

// fastClock runs speed times faster than the wall clock from its start,
// so alarm periods, cooldowns and schedules pass in seconds. Tests that
// use it stay short enough for the server's clock to remain inside
// SigV4's 5-minute skew of the client's.
type fastClock struct {
	start time.Time
	speed time.Duration
	skip  atomic.Int64 // extra nanoseconds jumped forward
}

func (c *fastClock) Now() time.Time {
	return c.start.Add(time.Since(c.start)*c.speed + time.Duration(c.skip.Load()))
}

// scalingEnv is a server for auto scaling tests: 10 s target tracking
// alarms, fast alarm and schedule loops, a cluster "as" with two simulated
// instances whose agents run every task, and a service "web".
type scalingEnv struct {
	env   *wharftest.Env
	clock *fastClock
	aas   *applicationautoscaling.Client
	cw    *cloudwatch.Client
	ecs   *ecs.Client
	// agents run the cluster's tasks; tests stop them to hold a deployment.
	agents *simAgents
}

func startScaling(t *testing.T, speed time.Duration, desired int32) *scalingEnv {
	t.Helper()
	clock := &fastClock{start: time.Now(), speed: speed}
	env := wharftest.Start(t, func(c *server.Config) {
		c.Now = clock.Now
		c.ServiceSchedulerInterval = 50 * time.Millisecond
		c.AgentTimeout, c.InstanceLostTimeout = 1000*time.Hour, 1000*time.Hour
		c.TargetTrackingPeriod = 10 * time.Second
		c.AlarmTick = 50 * time.Millisecond
		c.AutoScalingTick = 50 * time.Millisecond
	})
	e := &scalingEnv{env: env, clock: clock, aas: applicationautoscaling.NewFromConfig(env.Root()),
		cw: cloudwatch.NewFromConfig(env.Root()), ecs: ecs.NewFromConfig(env.Root())}
	ctx := context.Background()
	if _, err := e.ecs.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("as")}); err != nil {
		t.Fatal(err)
	}
	registerInstance(t, e.ecs, "as", "i-00000000000000a01", "us-east-1a", 8192, 16384)
	registerInstance(t, e.ecs, "as", "i-00000000000000a02", "us-east-1b", 8192, 16384)
	registerTD(t, e.ecs, "web", "busybox")
	e.agents = startAgents(t, e.ecs, "as", nil)
	if _, err := e.ecs.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("as"), ServiceName: aws.String("web"),
		TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(desired)}); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *scalingEnv) desired(t *testing.T) int32 {
	t.Helper()
	return describeService(t, e.ecs, "as", "web").DesiredCount
}

func (e *scalingEnv) waitDesired(t *testing.T, want int32, d time.Duration) {
	t.Helper()
	waitFor(t, fmt.Sprintf("desiredCount %d", want), d, func() bool { return e.desired(t) == want })
}

// waitLowAlarm waits for the low alarm of the target's only target
// tracking policy (or of the one named in names) to be in ALARM, and
// returns when it entered that state.
func (e *scalingEnv) waitLowAlarm(t *testing.T, what string, names []string) time.Time {
	t.Helper()
	ctx := context.Background()
	pol, err := e.aas.DescribeScalingPolicies(ctx, &applicationautoscaling.DescribeScalingPoliciesInput{ServiceNamespace: nsECS,
		ResourceId: aws.String("service/as/web"), PolicyNames: names})
	if err != nil || len(pol.ScalingPolicies) != 1 || len(pol.ScalingPolicies[0].Alarms) != 2 {
		t.Fatalf("policy %v %+v", err, pol)
	}
	low := aws.ToString(pol.ScalingPolicies[0].Alarms[1].AlarmName)
	var since time.Time
	waitFor(t, what, 40*time.Second, func() bool {
		out, err := e.cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{low}})
		if err != nil || len(out.MetricAlarms) != 1 {
			t.Fatalf("alarm %v", err)
		}
		since = aws.ToTime(out.MetricAlarms[0].StateUpdatedTimestamp)
		return out.MetricAlarms[0].StateValue == cwtypes.StateValueAlarm
	})
	return since
}

func (e *scalingEnv) register(t *testing.T, min, max int32) {
	t.Helper()
	if _, err := e.aas.RegisterScalableTarget(context.Background(), &applicationautoscaling.RegisterScalableTargetInput{
		ServiceNamespace: aastypes.ServiceNamespaceEcs, ScalableDimension: aastypes.ScalableDimensionECSServiceDesiredCount,
		ResourceId: aws.String("service/as/web"), MinCapacity: aws.Int32(min), MaxCapacity: aws.Int32(max)}); err != nil {
		t.Fatal(err)
	}
}

// pump publishes App/CPU for the service, high resolution as 10-second
// alarms need it, (AWS/ECS is reserved to Wharf's
// own ECS metrics) every 100 ms of wall time until the returned stop is
// called; set changes the value.
func (e *scalingEnv) pump(t *testing.T, metric string, v float64) (set func(float64), stop func()) {
	var cur atomic.Value
	cur.Store(v)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			case <-time.After(100 * time.Millisecond):
			}
			_, err := e.cw.PutMetricData(context.Background(), &cloudwatch.PutMetricDataInput{Namespace: aws.String("App"),
				MetricData: []cwtypes.MetricDatum{{MetricName: aws.String(metric), Value: aws.Float64(cur.Load().(float64)), StorageResolution: aws.Int32(1),
					Unit: cwtypes.StandardUnitPercent, Dimensions: []cwtypes.Dimension{
						{Name: aws.String("ClusterName"), Value: aws.String("as")}, {Name: aws.String("ServiceName"), Value: aws.String("web")}}}}})
			if err != nil {
				t.Errorf("put metric data: %v", err)
				return
			}
		}
	}()
	var once sync.Once
	stop = func() { once.Do(func() { close(done); wg.Wait() }) }
	t.Cleanup(stop)
	return func(v float64) { cur.Store(v) }, stop
}

func (e *scalingEnv) activities(t *testing.T) []aastypes.ScalingActivity {
	t.Helper()
	out, err := e.aas.DescribeScalingActivities(context.Background(), &applicationautoscaling.DescribeScalingActivitiesInput{
		ServiceNamespace: aastypes.ServiceNamespaceEcs, ResourceId: aws.String("service/as/web")})
	if err != nil {
		t.Fatal(err)
	}
	return out.ScalingActivities
}

func wantASError(t *testing.T, err error, code, msgPart string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code || !strings.Contains(ae.ErrorMessage(), msgPart) {
		t.Fatalf("want %s containing %q, got %v", code, msgPart, err)
	}
}

var (
	nsECS  = aastypes.ServiceNamespaceEcs
	dimECS = aastypes.ScalableDimensionECSServiceDesiredCount
)

func TestAutoScalingAPI(t *testing.T) {
	e := startScaling(t, 1, 1)
	ctx := context.Background()
	c := e.aas
	for _, name := range []string{"api", "b", "c"} {
		if _, err := e.ecs.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("as"), ServiceName: aws.String(name),
			TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(1)}); err != nil {
			t.Fatal(err)
		}
	}

	// Errors of RegisterScalableTarget.
	_, err := c.RegisterScalableTarget(ctx, &applicationautoscaling.RegisterScalableTargetInput{ServiceNamespace: aastypes.ServiceNamespaceDynamodb,
		ScalableDimension: aastypes.ScalableDimensionDynamoDBTableReadCapacityUnits, ResourceId: aws.String("table/t"), MinCapacity: aws.Int32(1), MaxCapacity: aws.Int32(2)})
	wantASError(t, err, "ValidationException", "only ECS services")
	_, err = c.RegisterScalableTarget(ctx, &applicationautoscaling.RegisterScalableTargetInput{ServiceNamespace: nsECS, ScalableDimension: dimECS,
		ResourceId: aws.String("service/as/nope"), MinCapacity: aws.Int32(1), MaxCapacity: aws.Int32(2)})
	wantASError(t, err, "ValidationException", "ECS service doesn't exist: service/as/nope")
	_, err = c.RegisterScalableTarget(ctx, &applicationautoscaling.RegisterScalableTargetInput{ServiceNamespace: nsECS, ScalableDimension: dimECS,
		ResourceId: aws.String("service/nocluster/web"), MinCapacity: aws.Int32(1), MaxCapacity: aws.Int32(2)})
	wantASError(t, err, "ValidationException", "ECS service doesn't exist")
	_, err = c.RegisterScalableTarget(ctx, &applicationautoscaling.RegisterScalableTargetInput{ServiceNamespace: nsECS, ScalableDimension: dimECS,
		ResourceId: aws.String("cluster/as"), MinCapacity: aws.Int32(1), MaxCapacity: aws.Int32(2)})
	wantASError(t, err, "ValidationException", "service/<cluster-name>/<service-name>")
	_, err = c.RegisterScalableTarget(ctx, &applicationautoscaling.RegisterScalableTargetInput{ServiceNamespace: nsECS, ScalableDimension: dimECS,
		ResourceId: aws.String("service/as/api")})
	wantASError(t, err, "ValidationException", "MinCapacity and MaxCapacity are required")
	_, err = c.RegisterScalableTarget(ctx, &applicationautoscaling.RegisterScalableTargetInput{ServiceNamespace: nsECS, ScalableDimension: dimECS,
		ResourceId: aws.String("service/as/api"), MinCapacity: aws.Int32(5), MaxCapacity: aws.Int32(2)})
	wantASError(t, err, "ValidationException", "Minimum capacity cannot be greater than maximum capacity")

	// Register: the desired count (1) is raised to the minimum (2).
	reg, err := c.RegisterScalableTarget(ctx, &applicationautoscaling.RegisterScalableTargetInput{ServiceNamespace: nsECS, ScalableDimension: dimECS,
		ResourceId: aws.String("service/as/api"), MinCapacity: aws.Int32(2), MaxCapacity: aws.Int32(6),
		RoleARN: aws.String("arn:aws:iam::123456789012:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService"),
		Tags:    map[string]string{"team": "web"}})
	if err != nil {
		t.Fatal(err)
	}
	targetARN := aws.ToString(reg.ScalableTargetARN)
	if !strings.HasPrefix(targetARN, "arn:aws:application-autoscaling:us-east-1:"+e.env.Info.Account+":scalable-target/") {
		t.Fatalf("target ARN %s", targetARN)
	}
	if d := describeService(t, e.ecs, "as", "api").DesiredCount; d != 2 {
		t.Fatalf("desired after register = %d, want 2 (the minimum)", d)
	}
	acts, err := c.DescribeScalingActivities(ctx, &applicationautoscaling.DescribeScalingActivitiesInput{ServiceNamespace: nsECS, ResourceId: aws.String("service/as/api")})
	if err != nil || len(acts.ScalingActivities) != 1 || aws.ToString(acts.ScalingActivities[0].Description) != "Setting desired count to 2." ||
		acts.ScalingActivities[0].StatusCode != aastypes.ScalingActivityStatusCodeSuccessful ||
		aws.ToString(acts.ScalingActivities[0].Cause) != "minimum capacity was set to 2" {
		t.Fatalf("activities %v %+v", err, acts)
	}
	// Update: only what is given changes; the maximum (1) lowers the count.
	if _, err := c.RegisterScalableTarget(ctx, &applicationautoscaling.RegisterScalableTargetInput{ServiceNamespace: nsECS, ScalableDimension: dimECS,
		ResourceId: aws.String("service/as/api"), MinCapacity: aws.Int32(1), MaxCapacity: aws.Int32(1),
		SuspendedState: &aastypes.SuspendedState{ScheduledScalingSuspended: aws.Bool(true)}}); err != nil {
		t.Fatal(err)
	}
	if d := describeService(t, e.ecs, "as", "api").DesiredCount; d != 1 {
		t.Fatalf("desired after update = %d, want 1", d)
	}
	for _, name := range []string{"b", "c"} {
		if _, err := c.RegisterScalableTarget(ctx, &applicationautoscaling.RegisterScalableTargetInput{ServiceNamespace: nsECS, ScalableDimension: dimECS,
			ResourceId: aws.String("service/as/" + name), MinCapacity: aws.Int32(0), MaxCapacity: aws.Int32(3)}); err != nil {
			t.Fatal(err)
		}
	}
	// Describe: filters and pages.
	d, err := c.DescribeScalableTargets(ctx, &applicationautoscaling.DescribeScalableTargetsInput{ServiceNamespace: nsECS, ResourceIds: []string{"service/as/api"}})
	if err != nil || len(d.ScalableTargets) != 1 {
		t.Fatalf("describe: %v %+v", err, d)
	}
	tg := d.ScalableTargets[0]
	if aws.ToInt32(tg.MinCapacity) != 1 || aws.ToInt32(tg.MaxCapacity) != 1 || aws.ToString(tg.ScalableTargetARN) != targetARN ||
		!aws.ToBool(tg.SuspendedState.ScheduledScalingSuspended) || aws.ToBool(tg.SuspendedState.DynamicScalingInSuspended) ||
		!strings.HasSuffix(aws.ToString(tg.RoleARN), "AWSServiceRoleForApplicationAutoScaling_ECSService") || tg.CreationTime == nil {
		t.Fatalf("target %+v", tg)
	}
	var seen []string
	var token *string
	for pages := 0; ; pages++ {
		out, err := c.DescribeScalableTargets(ctx, &applicationautoscaling.DescribeScalableTargetsInput{ServiceNamespace: nsECS, MaxResults: aws.Int32(2), NextToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range out.ScalableTargets {
			seen = append(seen, aws.ToString(x.ResourceId))
		}
		if token = out.NextToken; token == nil {
			if pages != 1 {
				t.Fatalf("%d pages", pages+1)
			}
			break
		}
	}
	if strings.Join(seen, ",") != "service/as/api,service/as/b,service/as/c" {
		t.Fatalf("paged targets %v", seen)
	}
	_, err = c.DescribeScalableTargets(ctx, &applicationautoscaling.DescribeScalableTargetsInput{ServiceNamespace: nsECS, NextToken: aws.String("bogus")})
	wantASError(t, err, "InvalidNextTokenException", "")
	_, err = c.DescribeScalableTargets(ctx, &applicationautoscaling.DescribeScalableTargetsInput{ServiceNamespace: aastypes.ServiceNamespaceLambda})
	wantASError(t, err, "ValidationException", "only ECS services")

	// Tags.
	if _, err := c.TagResource(ctx, &applicationautoscaling.TagResourceInput{ResourceARN: &targetARN, Tags: map[string]string{"env": "prod"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UntagResource(ctx, &applicationautoscaling.UntagResourceInput{ResourceARN: &targetARN, TagKeys: []string{"team"}}); err != nil {
		t.Fatal(err)
	}
	tags, err := c.ListTagsForResource(ctx, &applicationautoscaling.ListTagsForResourceInput{ResourceARN: &targetARN})
	if err != nil || len(tags.Tags) != 1 || tags.Tags["env"] != "prod" {
		t.Fatalf("tags %v %v", err, tags)
	}
	_, err = c.ListTagsForResource(ctx, &applicationautoscaling.ListTagsForResourceInput{ResourceARN: aws.String(targetARN + "0")})
	wantASError(t, err, "ResourceNotFoundException", "")

	// Policies: errors.
	_, err = c.PutScalingPolicy(ctx, &applicationautoscaling.PutScalingPolicyInput{ServiceNamespace: nsECS, ScalableDimension: dimECS,
		ResourceId: aws.String("service/as/web"), PolicyName: aws.String("p"), PolicyType: aastypes.PolicyTypeStepScaling,
		StepScalingPolicyConfiguration: &aastypes.StepScalingPolicyConfiguration{AdjustmentType: aastypes.AdjustmentTypeChangeInCapacity,
			StepAdjustments: []aastypes.StepAdjustment{{MetricIntervalLowerBound: aws.Float64(0), ScalingAdjustment: aws.Int32(1)}}}})
	wantASError(t, err, "ObjectNotFoundException", "No scalable target registered for service namespace: ecs, resource ID: service/as/web, scalable dimension: ecs:service:DesiredCount")
	for name, cfg := range map[string]*aastypes.StepScalingPolicyConfiguration{
		"MinAdjustmentMagnitude may only be specified if AdjustmentType is PercentChangeInCapacity": {AdjustmentType: aastypes.AdjustmentTypeChangeInCapacity,
			MinAdjustmentMagnitude: aws.Int32(2), StepAdjustments: []aastypes.StepAdjustment{{MetricIntervalLowerBound: aws.Float64(0), ScalingAdjustment: aws.Int32(1)}}},
		"must not overlap": {AdjustmentType: aastypes.AdjustmentTypeChangeInCapacity, StepAdjustments: []aastypes.StepAdjustment{
			{MetricIntervalLowerBound: aws.Float64(0), MetricIntervalUpperBound: aws.Float64(10), ScalingAdjustment: aws.Int32(1)},
			{MetricIntervalLowerBound: aws.Float64(5), ScalingAdjustment: aws.Int32(2)}}},
		"must not have gaps": {AdjustmentType: aastypes.AdjustmentTypeChangeInCapacity, StepAdjustments: []aastypes.StepAdjustment{
			{MetricIntervalLowerBound: aws.Float64(0), MetricIntervalUpperBound: aws.Float64(10), ScalingAdjustment: aws.Int32(1)},
			{MetricIntervalLowerBound: aws.Float64(20), ScalingAdjustment: aws.Int32(2)}}},
	} {
		_, err = c.PutScalingPolicy(ctx, &applicationautoscaling.PutScalingPolicyInput{ServiceNamespace: nsECS, ScalableDimension: dimECS,
			ResourceId: aws.String("service/as/api"), PolicyName: aws.String("p"), PolicyType: aastypes.PolicyTypeStepScaling, StepScalingPolicyConfiguration: cfg})
		wantASError(t, err, "ValidationException", name)
	}
	_, err = c.PutScalingPolicy(ctx, &applicationautoscaling.PutScalingPolicyInput{ServiceNamespace: nsECS, ScalableDimension: dimECS,
		ResourceId: aws.String("service/as/api"), PolicyName: aws.String("p"), PolicyType: aastypes.PolicyTypeTargetTrackingScaling,
		TargetTrackingScalingPolicyConfiguration: &aastypes.TargetTrackingScalingPolicyConfiguration{TargetValue: aws.Float64(50),
			PredefinedMetricSpecification: &aastypes.PredefinedMetricSpecification{PredefinedMetricType: aastypes.MetricTypeDynamoDBReadCapacityUtilization}}})
	wantASError(t, err, "ValidationException", "Unsupported predefined metric type")

	// A target tracking policy and the alarms it owns.
	pol, err := c.PutScalingPolicy(ctx, &applicationautoscaling.PutScalingPolicyInput{ServiceNamespace: nsECS, ScalableDimension: dimECS,
		ResourceId: aws.String("service/as/api"), PolicyName: aws.String("cpu50"), PolicyType: aastypes.PolicyTypeTargetTrackingScaling,
		TargetTrackingScalingPolicyConfiguration: &aastypes.TargetTrackingScalingPolicyConfiguration{TargetValue: aws.Float64(50),
			PredefinedMetricSpecification: &aastypes.PredefinedMetricSpecification{PredefinedMetricType: aastypes.MetricTypeECSServiceAverageCPUUtilization}}})
	if err != nil {
		t.Fatal(err)
	}
	policyARN := aws.ToString(pol.PolicyARN)
	wantPrefix := "arn:aws:autoscaling:us-east-1:" + e.env.Info.Account + ":scalingPolicy:"
	if !strings.HasPrefix(policyARN, wantPrefix) || !strings.HasSuffix(policyARN, ":resource/ecs/service/as/api:policyName/cpu50") ||
		len(strings.TrimSuffix(strings.TrimPrefix(policyARN, wantPrefix), ":resource/ecs/service/as/api:policyName/cpu50")) != 36 {
		t.Fatalf("policy ARN %s", policyARN)
	}
	if len(pol.Alarms) != 2 || !strings.HasPrefix(aws.ToString(pol.Alarms[0].AlarmName), "TargetTracking-service/as/api-AlarmHigh-") ||
		!strings.HasPrefix(aws.ToString(pol.Alarms[1].AlarmName), "TargetTracking-service/as/api-AlarmLow-") {
		t.Fatalf("alarms %+v", pol.Alarms)
	}
	high, low := aws.ToString(pol.Alarms[0].AlarmName), aws.ToString(pol.Alarms[1].AlarmName)
	al, err := e.cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{high, low}})
	if err != nil || len(al.MetricAlarms) != 2 {
		t.Fatalf("describe alarms %v %+v", err, al)
	}
	for _, a := range al.MetricAlarms {
		isHigh := aws.ToString(a.AlarmName) == high
		n, op, th := int32(15), cwtypes.ComparisonOperatorLessThanThreshold, 45.0
		if isHigh {
			n, op, th = 3, cwtypes.ComparisonOperatorGreaterThanThreshold, 50
		}
		if aws.ToInt32(a.EvaluationPeriods) != n || aws.ToInt32(a.DatapointsToAlarm) != n || a.ComparisonOperator != op || aws.ToFloat64(a.Threshold) != th ||
			aws.ToString(a.Namespace) != "AWS/ECS" || aws.ToString(a.MetricName) != "CPUUtilization" || a.Statistic != cwtypes.StatisticAverage ||
			aws.ToInt32(a.Period) != 10 || len(a.AlarmActions) != 1 || a.AlarmActions[0] != policyARN || len(a.Dimensions) != 2 {
			t.Errorf("alarm %s: %+v", aws.ToString(a.AlarmName), a)
		}
	}
	// DisableScaleIn: only the high alarm; the low one is deleted.
	pol2, err := c.PutScalingPolicy(ctx, &applicationautoscaling.PutScalingPolicyInput{ServiceNamespace: nsECS, ScalableDimension: dimECS,
		ResourceId: aws.String("service/as/api"), PolicyName: aws.String("cpu50"), PolicyType: aastypes.PolicyTypeTargetTrackingScaling,
		TargetTrackingScalingPolicyConfiguration: &aastypes.TargetTrackingScalingPolicyConfiguration{TargetValue: aws.Float64(50), DisableScaleIn: aws.Bool(true),
			PredefinedMetricSpecification: &aastypes.PredefinedMetricSpecification{PredefinedMetricType: aastypes.MetricTypeECSServiceAverageCPUUtilization}}})
	if err != nil || aws.ToString(pol2.PolicyARN) != policyARN || len(pol2.Alarms) != 1 {
		t.Fatalf("update policy %v %+v", err, pol2)
	}
	al, _ = e.cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNamePrefix: aws.String("TargetTracking-service/as/api-")})
	if len(al.MetricAlarms) != 1 || aws.ToString(al.MetricAlarms[0].AlarmName) != high {
		t.Fatalf("alarms after DisableScaleIn: %+v", al.MetricAlarms)
	}
	// A step policy, described with the user's alarm that invokes it.
	step, err := c.PutScalingPolicy(ctx, &applicationautoscaling.PutScalingPolicyInput{ServiceNamespace: nsECS, ScalableDimension: dimECS,
		ResourceId: aws.String("service/as/api"), PolicyName: aws.String("step"), PolicyType: aastypes.PolicyTypeStepScaling,
		StepScalingPolicyConfiguration: &aastypes.StepScalingPolicyConfiguration{AdjustmentType: aastypes.AdjustmentTypePercentChangeInCapacity,
			MinAdjustmentMagnitude: aws.Int32(2), Cooldown: aws.Int32(60), MetricAggregationType: aastypes.MetricAggregationTypeMaximum,
			StepAdjustments: []aastypes.StepAdjustment{{MetricIntervalLowerBound: aws.Float64(0), ScalingAdjustment: aws.Int32(50)}}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String("queue-deep"), Namespace: aws.String("App"),
		MetricName: aws.String("Depth"), Statistic: cwtypes.StatisticAverage, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1),
		Threshold: aws.Float64(10), ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold, AlarmActions: []string{aws.ToString(step.PolicyARN)}}); err != nil {
		t.Fatal(err)
	}
	pols, err := c.DescribeScalingPolicies(ctx, &applicationautoscaling.DescribeScalingPoliciesInput{ServiceNamespace: nsECS, ResourceId: aws.String("service/as/api")})
	if err != nil || len(pols.ScalingPolicies) != 2 {
		t.Fatalf("policies %v %+v", err, pols)
	}
	for _, p := range pols.ScalingPolicies {
		switch aws.ToString(p.PolicyName) {
		case "cpu50":
			if p.PolicyType != aastypes.PolicyTypeTargetTrackingScaling || len(p.Alarms) != 1 || !aws.ToBool(p.TargetTrackingScalingPolicyConfiguration.DisableScaleIn) {
				t.Errorf("cpu50 %+v", p)
			}
		case "step":
			if p.PolicyType != aastypes.PolicyTypeStepScaling || len(p.Alarms) != 1 || aws.ToString(p.Alarms[0].AlarmName) != "queue-deep" ||
				aws.ToInt32(p.StepScalingPolicyConfiguration.MinAdjustmentMagnitude) != 2 {
				t.Errorf("step %+v", p)
			}
		}
	}
	_, err = c.DeleteScalingPolicy(ctx, &applicationautoscaling.DeleteScalingPolicyInput{ServiceNamespace: nsECS, ScalableDimension: dimECS,
		ResourceId: aws.String("service/as/api"), PolicyName: aws.String("nope")})
	wantASError(t, err, "ObjectNotFoundException", "No scaling policy found for service namespace: ecs, resource ID: service/as/api, scalable dimension: ecs:service:DesiredCount, policy name: nope")

	// Scheduled actions.
	_, err = c.PutScheduledAction(ctx, &applicationautoscaling.PutScheduledActionInput{ServiceNamespace: nsECS, ScalableDimension: dimECS,
		ResourceId: aws.String("service/as/api"), ScheduledActionName: aws.String("bad"), Schedule: aws.String("cron(0 12 * * * *)"),
		ScalableTargetAction: &aastypes.ScalableTargetAction{MinCapacity: aws.Int32(1)}})
	wantASError(t, err, "ValidationException", "cron(0 12 * * * *)")
	_, err = c.PutScheduledAction(ctx, &applicationautoscaling.PutScheduledActionInput{ServiceNamespace: nsECS, ScalableDimension: dimECS,
		ResourceId: aws.String("service/as/api"), ScheduledActionName: aws.String("bad"), Schedule: aws.String("rate(1 day)"), Timezone: aws.String("Mars/Olympus"),
		ScalableTargetAction: &aastypes.ScalableTargetAction{MinCapacity: aws.Int32(1)}})
	wantASError(t, err, "ValidationException", "Mars/Olympus")
	if _, err := c.PutScheduledAction(ctx, &applicationautoscaling.PutScheduledActionInput{ServiceNamespace: nsECS, ScalableDimension: dimECS,
		ResourceId: aws.String("service/as/api"), ScheduledActionName: aws.String("mornings"), Schedule: aws.String("cron(0 8 ? * MON-FRI *)"),
		Timezone: aws.String("Europe/Paris"), ScalableTargetAction: &aastypes.ScalableTargetAction{MinCapacity: aws.Int32(1), MaxCapacity: aws.Int32(4)}}); err != nil {
		t.Fatal(err)
	}
	sa, err := c.DescribeScheduledActions(ctx, &applicationautoscaling.DescribeScheduledActionsInput{ServiceNamespace: nsECS, ResourceId: aws.String("service/as/api")})
	if err != nil || len(sa.ScheduledActions) != 1 || aws.ToString(sa.ScheduledActions[0].Timezone) != "Europe/Paris" ||
		!strings.HasSuffix(aws.ToString(sa.ScheduledActions[0].ScheduledActionARN), ":resource/ecs/service/as/api:scheduledActionName/mornings") ||
		aws.ToInt32(sa.ScheduledActions[0].ScalableTargetAction.MaxCapacity) != 4 {
		t.Fatalf("scheduled %v %+v", err, sa)
	}
	_, err = c.DeleteScheduledAction(ctx, &applicationautoscaling.DeleteScheduledActionInput{ServiceNamespace: nsECS, ScalableDimension: dimECS,
		ResourceId: aws.String("service/as/api"), ScheduledActionName: aws.String("nope")})
	wantASError(t, err, "ObjectNotFoundException", "No scheduled action found for service namespace: ecs, resource ID: service/as/api, scalable dimension: ecs:service:DesiredCount, scheduled action name: nope")

	// Deregister deletes the policies, their owned alarms and the
	// scheduled actions; the user's alarm stays.
	if _, err := c.DeregisterScalableTarget(ctx, &applicationautoscaling.DeregisterScalableTargetInput{ServiceNamespace: nsECS, ScalableDimension: dimECS,
		ResourceId: aws.String("service/as/api")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DeregisterScalableTarget(ctx, &applicationautoscaling.DeregisterScalableTargetInput{ServiceNamespace: nsECS, ScalableDimension: dimECS,
		ResourceId: aws.String("service/as/api")})
	wantASError(t, err, "ObjectNotFoundException", "No scalable target registered for service namespace: ecs, resource ID: service/as/api")
	pols, _ = c.DescribeScalingPolicies(ctx, &applicationautoscaling.DescribeScalingPoliciesInput{ServiceNamespace: nsECS, ResourceId: aws.String("service/as/api")})
	sa, _ = c.DescribeScheduledActions(ctx, &applicationautoscaling.DescribeScheduledActionsInput{ServiceNamespace: nsECS, ResourceId: aws.String("service/as/api")})
	al, _ = e.cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{})
	if len(pols.ScalingPolicies) != 0 || len(sa.ScheduledActions) != 0 || len(al.MetricAlarms) != 1 || aws.ToString(al.MetricAlarms[0].AlarmName) != "queue-deep" {
		t.Fatalf("after deregister: %+v %+v %+v", pols.ScalingPolicies, sa.ScheduledActions, al.MetricAlarms)
	}
}

func (e *scalingEnv) putTargetTracking(t *testing.T, target float64, outCooldown, inCooldown int32) string {
	return e.putTracking(t, "cpu", "CPU", target, outCooldown, inCooldown)
}

// putTracking puts target tracking policy name on App/metric.
func (e *scalingEnv) putTracking(t *testing.T, name, metric string, target float64, outCooldown, inCooldown int32) string {
	t.Helper()
	out, err := e.aas.PutScalingPolicy(context.Background(), &applicationautoscaling.PutScalingPolicyInput{ServiceNamespace: nsECS, ScalableDimension: dimECS,
		ResourceId: aws.String("service/as/web"), PolicyName: aws.String(name), PolicyType: aastypes.PolicyTypeTargetTrackingScaling,
		TargetTrackingScalingPolicyConfiguration: &aastypes.TargetTrackingScalingPolicyConfiguration{TargetValue: aws.Float64(target),
			ScaleOutCooldown: aws.Int32(outCooldown), ScaleInCooldown: aws.Int32(inCooldown),
			CustomizedMetricSpecification: &aastypes.CustomizedMetricSpecification{Namespace: aws.String("App"), MetricName: aws.String(metric),
				Statistic: aastypes.MetricStatisticAverage, Dimensions: []aastypes.MetricDimension{
					{Name: aws.String("ClusterName"), Value: aws.String("as")}, {Name: aws.String("ServiceName"), Value: aws.String("web")}}}}})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.PolicyARN)
}

// Target tracking: CPU above the target scales out fast (3 periods), and
// back in once it stays under 90 % of the target for 15 periods.
func TestAutoScalingTargetTracking(t *testing.T) {
	e := startScaling(t, 8, 1)
	e.register(t, 1, 4)
	e.putTargetTracking(t, 50, 0, 0)
	set, _ := e.pump(t, "CPU", 100)
	// 1 → ceil(1 × 100/50) = 2, then, the alarm staying in ALARM, 2 → 4.
	e.waitDesired(t, 4, 20*time.Second)
	acts := e.activities(t)
	if len(acts) < 2 {
		t.Fatalf("activities %+v", acts)
	}
	last := acts[len(acts)-1] // the first scale-out
	if c := aws.ToString(last.Cause); !strings.HasPrefix(c, "monitor alarm TargetTracking-service/as/web-AlarmHigh-") ||
		!strings.HasSuffix(c, " in state ALARM triggered policy cpu") || aws.ToString(last.Description) != "Setting desired count to 2." ||
		last.StatusCode != aastypes.ScalingActivityStatusCodeSuccessful ||
		aws.ToString(last.StatusMessage) != "Successfully set desired count to 2. Change successfully fulfilled by ecs." {
		t.Fatalf("first activity %+v", last)
	}
	set(10)
	// 15 periods of 10 s under 45: 4 → ceil(4 × 10/50) = 1.
	e.waitDesired(t, 1, 40*time.Second)
	if c := aws.ToString(e.activities(t)[0].Cause); !strings.Contains(c, "-AlarmLow-") {
		t.Fatalf("scale-in cause %q", c)
	}
}

// Cooldowns and bounds: during the scale-out cooldown the capacity already
// added counts, so the next scale-out waits for it; nothing goes past the
// maximum, and that is told as a not-scaled activity.
func TestAutoScalingCooldownAndBounds(t *testing.T) {
	e := startScaling(t, 8, 1)
	e.register(t, 1, 3)
	e.putTargetTracking(t, 50, 60, 0)
	e.pump(t, "CPU", 100)
	e.waitDesired(t, 3, 30*time.Second)
	acts := e.activities(t)
	if len(acts) != 2 || aws.ToString(acts[1].Description) != "Setting desired count to 2." || aws.ToString(acts[0].Description) != "Setting desired count to 3." {
		t.Fatalf("activities %+v", acts)
	}
	if gap := acts[0].StartTime.Sub(*acts[1].StartTime); gap < 60*time.Second {
		t.Fatalf("second scale-out %s after the first, inside the 60 s cooldown", gap)
	}
	waitFor(t, "a not-scaled activity at the maximum", 10*time.Second, func() bool {
		out, err := e.aas.DescribeScalingActivities(context.Background(), &applicationautoscaling.DescribeScalingActivitiesInput{ServiceNamespace: nsECS,
			ResourceId: aws.String("service/as/web"), IncludeNotScaledActivities: aws.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range out.ScalingActivities {
			for _, r := range a.NotScaledReasons {
				if aws.ToString(r.Code) == "AlreadyAtMaxCapacity" && aws.ToInt32(r.MaxCapacity) == 3 && aws.ToInt32(r.CurrentCapacity) == 3 {
					return true
				}
			}
		}
		return false
	})
	if d := e.desired(t); d != 3 {
		t.Fatalf("desired %d past the maximum", d)
	}
	if n := len(e.activities(t)); n != 2 {
		t.Fatalf("not-scaled activities listed without IncludeNotScaledActivities: %d", n)
	}
}

// Scale-in waits while the service has a deployment in progress, as ECS
// does, and happens once it completes.
func TestAutoScalingScaleInPausedDuringDeployment(t *testing.T) {
	e := startScaling(t, 8, 3)
	ctx := context.Background()
	stable(t, e.ecs, "as", "web")
	e.register(t, 1, 4)
	e.putTargetTracking(t, 50, 0, 0)
	// The agents stop answering and a new revision rolls out: its tasks
	// stay PENDING, the deployment IN_PROGRESS.
	e.agents.Stop()
	registerTD(t, e.ecs, "web", "busybox:2")
	if _, err := e.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("as"), Service: aws.String("web"), TaskDefinition: aws.String("web:2")}); err != nil {
		t.Fatal(err)
	}
	e.pump(t, "CPU", 10)
	since := e.waitLowAlarm(t, "the low alarm in ALARM", nil)
	// Three more periods in ALARM, each invoking the policy again.
	waitFor(t, "three periods in ALARM", 10*time.Second, func() bool { return e.clock.Now().After(since.Add(30 * time.Second)) })
	if d := e.desired(t); d != 3 {
		t.Fatalf("scaled in to %d during a deployment", d)
	}
	if acts := e.activities(t); len(acts) != 0 {
		t.Fatalf("activities during the deployment: %+v", acts)
	}
	e.agents = startAgents(t, e.ecs, "as", nil)
	e.waitDesired(t, 1, 30*time.Second)
}

// A step policy attached to a user's alarm: SetAlarmState fires it (no
// datapoints: the first step), data past the threshold fires the step it
// falls in, again every period, up to the maximum.
func TestAutoScalingStepPolicy(t *testing.T) {
	e := startScaling(t, 8, 1)
	ctx := context.Background()
	e.register(t, 1, 9)
	pol, err := e.aas.PutScalingPolicy(ctx, &applicationautoscaling.PutScalingPolicyInput{ServiceNamespace: nsECS, ScalableDimension: dimECS,
		ResourceId: aws.String("service/as/web"), PolicyName: aws.String("queue"), PolicyType: aastypes.PolicyTypeStepScaling,
		StepScalingPolicyConfiguration: &aastypes.StepScalingPolicyConfiguration{AdjustmentType: aastypes.AdjustmentTypeChangeInCapacity,
			Cooldown: aws.Int32(0), MetricAggregationType: aastypes.MetricAggregationTypeAverage,
			StepAdjustments: []aastypes.StepAdjustment{
				{MetricIntervalLowerBound: aws.Float64(0), MetricIntervalUpperBound: aws.Float64(10), ScalingAdjustment: aws.Int32(1)},
				{MetricIntervalLowerBound: aws.Float64(10), ScalingAdjustment: aws.Int32(3)}}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String("queue-deep"), Namespace: aws.String("App"),
		MetricName: aws.String("Depth"), Statistic: cwtypes.StatisticAverage, Period: aws.Int32(10), EvaluationPeriods: aws.Int32(1),
		Threshold: aws.Float64(10), ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold, AlarmActions: []string{aws.ToString(pol.PolicyARN)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("queue-deep"), StateValue: cwtypes.StateValueAlarm,
		StateReason: aws.String("test")}); err != nil {
		t.Fatal(err)
	}
	e.waitDesired(t, 2, 5*time.Second)
	if a := e.activities(t)[0]; aws.ToString(a.Cause) != "monitor alarm queue-deep in state ALARM triggered policy queue" {
		t.Fatalf("cause %q", aws.ToString(a.Cause))
	}
	// Depth 25: 15 past the threshold, +3 every period: 5, 8, 9 (the max).
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			_, _ = e.cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("App"),
				MetricData: []cwtypes.MetricDatum{{MetricName: aws.String("Depth"), Value: aws.Float64(25), StorageResolution: aws.Int32(1)}}})
		}
	}()
	waitFor(t, "desired 5 then 8", 20*time.Second, func() bool { return e.desired(t) == 8 })
	e.waitDesired(t, 9, 10*time.Second)
	var descs []string
	for _, a := range e.activities(t) {
		descs = append(descs, aws.ToString(a.Description))
	}
	if strings.Join(descs, "|") != "Setting desired count to 9.|Setting desired count to 8.|Setting desired count to 5.|Setting desired count to 2." {
		t.Fatalf("activities %q", descs)
	}
}

// Scheduled actions change min and max at their time: at() once, rate()
// from its StartTime; the desired count follows into the new range.
func TestAutoScalingScheduledActions(t *testing.T) {
	e := startScaling(t, 8, 1)
	ctx := context.Background()
	e.register(t, 1, 4)
	at := e.clock.Now().Add(60 * time.Second).UTC().Truncate(time.Second)
	if _, err := e.aas.PutScheduledAction(ctx, &applicationautoscaling.PutScheduledActionInput{ServiceNamespace: nsECS, ScalableDimension: dimECS,
		ResourceId: aws.String("service/as/web"), ScheduledActionName: aws.String("busy"), Schedule: aws.String("at(" + at.Format("2006-01-02T15:04:05") + ")"),
		ScalableTargetAction: &aastypes.ScalableTargetAction{MinCapacity: aws.Int32(3), MaxCapacity: aws.Int32(6)}}); err != nil {
		t.Fatal(err)
	}
	start := at.Add(60 * time.Second)
	if _, err := e.aas.PutScheduledAction(ctx, &applicationautoscaling.PutScheduledActionInput{ServiceNamespace: nsECS, ScalableDimension: dimECS,
		ResourceId: aws.String("service/as/web"), ScheduledActionName: aws.String("calm"), Schedule: aws.String("rate(10 minutes)"),
		StartTime: &start, ScalableTargetAction: &aastypes.ScalableTargetAction{MinCapacity: aws.Int32(2), MaxCapacity: aws.Int32(2)}}); err != nil {
		t.Fatal(err)
	}
	e.waitDesired(t, 3, 15*time.Second)
	if now := e.clock.Now(); now.Before(at) {
		t.Fatalf("at() ran at %s, before %s", now, at)
	}
	tg, err := e.aas.DescribeScalableTargets(ctx, &applicationautoscaling.DescribeScalableTargetsInput{ServiceNamespace: nsECS})
	if err != nil || aws.ToInt32(tg.ScalableTargets[0].MinCapacity) != 3 || aws.ToInt32(tg.ScalableTargets[0].MaxCapacity) != 6 {
		t.Fatalf("target after busy: %v %+v", err, tg)
	}
	e.waitDesired(t, 2, 15*time.Second)
	if now := e.clock.Now(); now.Before(start) {
		t.Fatalf("rate() ran at %s, before its StartTime %s", now, start)
	}
	want := []string{
		"maximum capacity was set to 2: Setting desired count to 2.",
		"scheduled action name calm was triggered: Setting min capacity to 2 and max capacity to 2",
		"minimum capacity was set to 3: Setting desired count to 3.",
		"scheduled action name busy was triggered: Setting min capacity to 3 and max capacity to 6",
	}
	// The service's desired count changes before the activity that says
	// so is recorded: wait for the activity too.
	var causes []string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		causes = causes[:0]
		for _, a := range e.activities(t) {
			causes = append(causes, aws.ToString(a.Cause)+": "+aws.ToString(a.Description))
		}
		if strings.Join(causes, "\n") == strings.Join(want, "\n") || time.Now().After(deadline) {
			break
		}
	}
	if strings.Join(causes, "\n") != strings.Join(want, "\n") {
		t.Fatalf("activities:\n%s", strings.Join(causes, "\n"))
	}
}

// Targets, policies, scheduled actions and activities live in the state
// store: a restarted server has them, and runs a scheduled action that
// fell due while it was down.
func TestAutoScalingSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	start := func() (*server.Server, *wharftest.Env) {
		srv, err := server.Start(ctx, server.Config{DataDir: dir, Listen: "127.0.0.1:0", ManagedCapacity: "external",
			AutoScalingTick: 50 * time.Millisecond, RootAccessKeyID: "AKIAWHARFASRESTART01", RootSecretAccessKey: "restart-secret-restart-secret-restart"})
		if err != nil {
			t.Fatal(err)
		}
		return srv, &wharftest.Env{Server: srv, Info: srv.Info(), URL: "http://" + srv.Info().Addr}
	}
	srv, env := start()
	c, ec := applicationautoscaling.NewFromConfig(env.Root()), ecs.NewFromConfig(env.Root())
	if _, err := ec.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("as")}); err != nil {
		t.Fatal(err)
	}
	registerTD(t, ec, "web", "busybox")
	if _, err := ec.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("as"), ServiceName: aws.String("web"),
		TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RegisterScalableTarget(ctx, &applicationautoscaling.RegisterScalableTargetInput{ServiceNamespace: nsECS, ScalableDimension: dimECS,
		ResourceId: aws.String("service/as/web"), MinCapacity: aws.Int32(0), MaxCapacity: aws.Int32(5)}); err != nil {
		t.Fatal(err)
	}
	pol, err := c.PutScalingPolicy(ctx, &applicationautoscaling.PutScalingPolicyInput{ServiceNamespace: nsECS, ScalableDimension: dimECS,
		ResourceId: aws.String("service/as/web"), PolicyName: aws.String("cpu"), PolicyType: aastypes.PolicyTypeTargetTrackingScaling,
		TargetTrackingScalingPolicyConfiguration: &aastypes.TargetTrackingScalingPolicyConfiguration{TargetValue: aws.Float64(60),
			PredefinedMetricSpecification: &aastypes.PredefinedMetricSpecification{PredefinedMetricType: aastypes.MetricTypeECSServiceAverageMemoryUtilization}}})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(3 * time.Second).UTC().Truncate(time.Second).Add(time.Second)
	if _, err := c.PutScheduledAction(ctx, &applicationautoscaling.PutScheduledActionInput{ServiceNamespace: nsECS, ScalableDimension: dimECS,
		ResourceId: aws.String("service/as/web"), ScheduledActionName: aws.String("later"), Schedule: aws.String("at(" + at.Format("2006-01-02T15:04:05") + ")"),
		ScalableTargetAction: &aastypes.ScalableTargetAction{MinCapacity: aws.Int32(2)}}); err != nil {
		t.Fatal(err)
	}
	if err := srv.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the scheduled time to pass while stopped", 10*time.Second, func() bool { return time.Now().After(at) })

	srv, env = start()
	t.Cleanup(func() { _ = srv.Stop(context.Background()) })
	c, ec = applicationautoscaling.NewFromConfig(env.Root()), ecs.NewFromConfig(env.Root())
	waitFor(t, "desiredCount 2 from the scheduled action", 10*time.Second, func() bool {
		return describeService(t, ec, "as", "web").DesiredCount == 2
	})
	pols, err := c.DescribeScalingPolicies(ctx, &applicationautoscaling.DescribeScalingPoliciesInput{ServiceNamespace: nsECS})
	if err != nil || len(pols.ScalingPolicies) != 1 || aws.ToString(pols.ScalingPolicies[0].PolicyARN) != aws.ToString(pol.PolicyARN) ||
		len(pols.ScalingPolicies[0].Alarms) != 2 {
		t.Fatalf("policies after restart: %v %+v", err, pols)
	}
	tg, err := c.DescribeScalableTargets(ctx, &applicationautoscaling.DescribeScalableTargetsInput{ServiceNamespace: nsECS})
	if err != nil || len(tg.ScalableTargets) != 1 || aws.ToInt32(tg.ScalableTargets[0].MinCapacity) != 2 {
		t.Fatalf("targets after restart: %v %+v", err, tg)
	}
}

// Two target tracking policies: one scales in only as far as the other
// agrees (the largest capacity wins, as AWS).
func TestAutoScalingPoliciesAgreeToScaleIn(t *testing.T) {
	e := startScaling(t, 6, 1)
	e.register(t, 1, 4)
	e.putTracking(t, "cpu", "CPU", 50, 0, 0)
	e.putTracking(t, "mem", "MEM", 50, 0, 0)
	setCPU, _ := e.pump(t, "CPU", 100)
	e.pump(t, "MEM", 30)
	e.waitDesired(t, 4, 20*time.Second)
	setCPU(10)
	// CPU alone would go to 1; memory at 30 % of 50 holds 2 (ceil(2 × 30/50)).
	e.waitDesired(t, 2, 40*time.Second)
	since := e.waitLowAlarm(t, "the CPU low alarm in ALARM", []string{"cpu"})
	waitFor(t, "three periods in ALARM", 10*time.Second, func() bool { return e.clock.Now().After(since.Add(30 * time.Second)) })
	if d := e.desired(t); d != 2 {
		t.Fatalf("desired %d, want 2: the memory policy does not agree to less", d)
	}
}

// SuspendedState: a suspended scale-out ignores the alarm (the hook runs
// within SetAlarmState, so the answer is known when it returns), a
// suspended scheduled action is skipped, not run later; resumed, the
// policy acts again.
func TestAutoScalingSuspended(t *testing.T) {
	e := startScaling(t, 8, 1)
	ctx := context.Background()
	e.register(t, 1, 5)
	pol, err := e.aas.PutScalingPolicy(ctx, &applicationautoscaling.PutScalingPolicyInput{ServiceNamespace: nsECS, ScalableDimension: dimECS,
		ResourceId: aws.String("service/as/web"), PolicyName: aws.String("up"), PolicyType: aastypes.PolicyTypeStepScaling,
		StepScalingPolicyConfiguration: &aastypes.StepScalingPolicyConfiguration{AdjustmentType: aastypes.AdjustmentTypeExactCapacity, Cooldown: aws.Int32(0),
			StepAdjustments: []aastypes.StepAdjustment{{MetricIntervalLowerBound: aws.Float64(0), ScalingAdjustment: aws.Int32(4)}}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String("busy"), Namespace: aws.String("App"),
		MetricName: aws.String("Busy"), Statistic: cwtypes.StatisticMaximum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1),
		Threshold: aws.Float64(1), ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanOrEqualToThreshold, AlarmActions: []string{aws.ToString(pol.PolicyARN)}}); err != nil {
		t.Fatal(err)
	}
	suspend := func(on bool) {
		t.Helper()
		if _, err := e.aas.RegisterScalableTarget(ctx, &applicationautoscaling.RegisterScalableTargetInput{ServiceNamespace: nsECS, ScalableDimension: dimECS,
			ResourceId: aws.String("service/as/web"), SuspendedState: &aastypes.SuspendedState{
				DynamicScalingOutSuspended: aws.Bool(on), ScheduledScalingSuspended: aws.Bool(on)}}); err != nil {
			t.Fatal(err)
		}
	}
	setState := func(v cwtypes.StateValue) {
		t.Helper()
		if _, err := e.cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("busy"), StateValue: v, StateReason: aws.String("test")}); err != nil {
			t.Fatal(err)
		}
	}
	suspend(true)
	setState(cwtypes.StateValueAlarm)
	if d := e.desired(t); d != 1 {
		t.Fatalf("scaled out to %d while scale-out is suspended", d)
	}
	at := e.clock.Now().Add(20 * time.Second).UTC().Truncate(time.Second)
	if _, err := e.aas.PutScheduledAction(ctx, &applicationautoscaling.PutScheduledActionInput{ServiceNamespace: nsECS, ScalableDimension: dimECS,
		ResourceId: aws.String("service/as/web"), ScheduledActionName: aws.String("min3"), Schedule: aws.String("at(" + at.Format("2006-01-02T15:04:05") + ")"),
		ScalableTargetAction: &aastypes.ScalableTargetAction{MinCapacity: aws.Int32(3)}}); err != nil {
		t.Fatal(err)
	}
	// A witness: service "x" (sorted after "web"), not suspended, with an action at the same
	// time. Once it ran, the loop's pass (in key order) has seen web's action.
	if _, err := e.ecs.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("as"), ServiceName: aws.String("x"),
		TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.aas.RegisterScalableTarget(ctx, &applicationautoscaling.RegisterScalableTargetInput{ServiceNamespace: nsECS, ScalableDimension: dimECS,
		ResourceId: aws.String("service/as/x"), MinCapacity: aws.Int32(1), MaxCapacity: aws.Int32(5)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.aas.PutScheduledAction(ctx, &applicationautoscaling.PutScheduledActionInput{ServiceNamespace: nsECS, ScalableDimension: dimECS,
		ResourceId: aws.String("service/as/x"), ScheduledActionName: aws.String("min3"), Schedule: aws.String("at(" + at.Format("2006-01-02T15:04:05") + ")"),
		ScalableTargetAction: &aastypes.ScalableTargetAction{MinCapacity: aws.Int32(3)}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the witness's scheduled action", 10*time.Second, func() bool { return describeService(t, e.ecs, "as", "x").DesiredCount == 3 })
	suspend(false)
	tg, err := e.aas.DescribeScalableTargets(ctx, &applicationautoscaling.DescribeScalableTargetsInput{ServiceNamespace: nsECS, ResourceIds: []string{"service/as/web"}})
	if err != nil || aws.ToInt32(tg.ScalableTargets[0].MinCapacity) != 1 || e.desired(t) != 1 || len(e.activities(t)) != 0 {
		t.Fatalf("suspended scheduled action ran: %v %+v, activities %+v", err, tg, e.activities(t))
	}
	setState(cwtypes.StateValueOk)
	setState(cwtypes.StateValueAlarm)
	if d := e.desired(t); d != 4 {
		t.Fatalf("desired %d after resuming, want the exact capacity 4", d)
	}
}

// IAM: application-autoscaling:<Operation>, on the scalable target's ARN
// when the target exists.
func TestAutoScalingIAM(t *testing.T) {
	e := startScaling(t, 1, 1)
	ctx := context.Background()
	e.register(t, 1, 3)
	tg, err := e.aas.DescribeScalableTargets(ctx, &applicationautoscaling.DescribeScalableTargetsInput{ServiceNamespace: nsECS})
	if err != nil || len(tg.ScalableTargets) != 1 {
		t.Fatal(err)
	}
	ic := awsiam.NewFromConfig(e.env.Root())
	if _, err := ic.CreateUser(ctx, &awsiam.CreateUserInput{UserName: aws.String("scaler")}); err != nil {
		t.Fatal(err)
	}
	doc := `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"application-autoscaling:Describe*","Resource":"*"},
		{"Effect":"Allow","Action":"application-autoscaling:RegisterScalableTarget","Resource":"` + aws.ToString(tg.ScalableTargets[0].ScalableTargetARN) + `"}]}`
	if _, err := ic.PutUserPolicy(ctx, &awsiam.PutUserPolicyInput{UserName: aws.String("scaler"), PolicyName: aws.String("p"), PolicyDocument: aws.String(doc)}); err != nil {
		t.Fatal(err)
	}
	key, err := ic.CreateAccessKey(ctx, &awsiam.CreateAccessKeyInput{UserName: aws.String("scaler")})
	if err != nil {
		t.Fatal(err)
	}
	c := applicationautoscaling.NewFromConfig(e.env.Config(aws.ToString(key.AccessKey.AccessKeyId), aws.ToString(key.AccessKey.SecretAccessKey), ""))
	if _, err := c.DescribeScalableTargets(ctx, &applicationautoscaling.DescribeScalableTargetsInput{ServiceNamespace: nsECS}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RegisterScalableTarget(ctx, &applicationautoscaling.RegisterScalableTargetInput{ServiceNamespace: nsECS, ScalableDimension: dimECS,
		ResourceId: aws.String("service/as/web"), MaxCapacity: aws.Int32(4)}); err != nil {
		t.Fatalf("update of the allowed target: %v", err)
	}
	_, err = c.PutScalingPolicy(ctx, &applicationautoscaling.PutScalingPolicyInput{ServiceNamespace: nsECS, ScalableDimension: dimECS,
		ResourceId: aws.String("service/as/web"), PolicyName: aws.String("p"), PolicyType: aastypes.PolicyTypeStepScaling,
		StepScalingPolicyConfiguration: &aastypes.StepScalingPolicyConfiguration{AdjustmentType: aastypes.AdjustmentTypeChangeInCapacity,
			StepAdjustments: []aastypes.StepAdjustment{{MetricIntervalLowerBound: aws.Float64(0), ScalingAdjustment: aws.Int32(1)}}}})
	wantASError(t, err, "AccessDeniedException", "application-autoscaling:PutScalingPolicy")
}
