package autoscaling

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	aas "github.com/wharfhq/wharf/api/applicationautoscalingapi"
	"github.com/wharfhq/wharf/api/cloudwatchapi"
	"github.com/wharfhq/wharf/internal/arn"
	"github.com/wharfhq/wharf/internal/errs"
	"github.com/wharfhq/wharf/internal/store"
)

const (
	stepScaling    = aas.PolicyTypeStepScaling
	targetTracking = aas.PolicyTypeTargetTrackingScaling
)

// The predefined metrics of ECS services.
var predefinedECS = map[string]string{
	aas.MetricTypeECSServiceAverageCPUUtilization:    "CPUUtilization",
	aas.MetricTypeECSServiceAverageMemoryUtilization: "MemoryUtilization",
}

func (p *policyDoc) ownedAlarms() []string {
	var out []string
	for _, a := range []string{p.HighAlarm, p.LowAlarm} {
		if a != "" {
			out = append(out, a)
		}
	}
	return out
}

// policyARN builds arn:aws:autoscaling:…:scalingPolicy:<uuid>:resource/ecs/<rid>:policyName/<name>.
func policyARN(ctx context.Context, t targetID, name string) (string, error) {
	return arn.Regional(ctx, "autoscaling", "scalingPolicy:"+newUUID()+":resource/"+t.ns+"/"+t.rid+":policyName/"+name)
}

// parsePolicyARN finds the target and name in a scaling policy ARN.
func parsePolicyARN(a string) (targetID, string, bool) {
	_, rest, ok := strings.Cut(a, ":resource/")
	if !ok || !strings.HasPrefix(a, "arn:aws:autoscaling:") {
		return targetID{}, "", false
	}
	res, name, ok := strings.Cut(rest, ":policyName/")
	if !ok {
		return targetID{}, "", false
	}
	ns, rid, ok := strings.Cut(res, "/")
	if !ok {
		return targetID{}, "", false
	}
	t, err := parseTarget(&ns, ptr(dimECS), &rid)
	return t, name, err == nil
}

func noPolicy(t targetID, name string) error {
	return errs.New(ErrObjectNotFound, "No scaling policy found for %s, policy name: %s", t.describe(), name)
}

// PutScalingPolicy creates or replaces a step scaling or target tracking
// policy. A target tracking policy creates and owns its alarms.
func (s *Service) PutScalingPolicy(ctx context.Context, in *aas.PutScalingPolicyRequest) (*aas.PutScalingPolicyResponse, error) {
	t, err := parseTarget(in.ServiceNamespace, in.ScalableDimension, in.ResourceId)
	if err != nil {
		return nil, err
	}
	name := deref(in.PolicyName)
	typ := deref(in.PolicyType)
	if typ == "" {
		typ = stepScaling
	}
	switch typ {
	case stepScaling:
		if in.TargetTrackingScalingPolicyConfiguration != nil || in.PredictiveScalingPolicyConfiguration != nil {
			return nil, invalid("Only StepScalingPolicyConfiguration can be specified for a StepScaling policy")
		}
		if err := checkStep(in.StepScalingPolicyConfiguration); err != nil {
			return nil, err
		}
	case targetTracking:
		if in.StepScalingPolicyConfiguration != nil || in.PredictiveScalingPolicyConfiguration != nil {
			return nil, invalid("Only TargetTrackingScalingPolicyConfiguration can be specified for a TargetTrackingScaling policy")
		}
		if err := checkTargetTracking(in.TargetTrackingScalingPolicyConfiguration); err != nil {
			return nil, err
		}
	default:
		return nil, invalid("Unsupported policy type %s: Wharf supports StepScaling and TargetTrackingScaling for ECS services", typ)
	}
	now := s.now().UTC()
	var doc *policyDoc
	var oldAlarms []string
	created := false
	err = s.st.Update(ctx, func(tx store.Tx) error {
		if _, _, err := getTarget(tx, t); err != nil {
			return err
		}
		old, rev, err := getDoc[policyDoc](tx, policyKey(t, name), noPolicy(t, name))
		if errors.Is(err, ErrObjectNotFound) {
			n, err := tx.Count(tblAS, "policy/"+t.key()+"|")
			if err != nil {
				return err
			}
			if n >= maxPolicies {
				return errs.New(ErrLimitExceeded, "Number of scaling policies for this scalable target exceeds the limit of %d", maxPolicies)
			}
			a, err := policyARN(ctx, t, name)
			if err != nil {
				return err
			}
			created = true
			old = &policyDoc{Policy: aas.ScalingPolicy{PolicyARN: &a, PolicyName: &name, CreationTime: &now,
				ServiceNamespace: &t.ns, ScalableDimension: &t.dim, ResourceId: &t.rid}}
		} else if err != nil {
			return err
		}
		oldAlarms = old.ownedAlarms()
		oldHigh, oldLow := old.HighAlarm, old.LowAlarm
		p := &old.Policy
		p.PolicyType = &typ
		p.StepScalingPolicyConfiguration = nil
		p.TargetTrackingScalingPolicyConfiguration = nil
		old.HighAlarm, old.LowAlarm = "", ""
		// An updated target tracking policy keeps its alarms' names.
		orNew := func(name, kind string) string {
			if name != "" {
				return name
			}
			return "TargetTracking-" + t.rid + "-" + kind + "-" + newUUID()
		}
		if typ == stepScaling {
			p.StepScalingPolicyConfiguration = in.StepScalingPolicyConfiguration
		} else {
			c := *in.TargetTrackingScalingPolicyConfiguration
			if c.DisableScaleIn == nil {
				c.DisableScaleIn = ptr(false)
			}
			p.TargetTrackingScalingPolicyConfiguration = &c
			old.HighAlarm = orNew(oldHigh, "AlarmHigh")
			if !*c.DisableScaleIn {
				old.LowAlarm = orNew(oldLow, "AlarmLow")
			}
		}
		doc = old
		return putDoc(tx, policyKey(t, name), old, rev)
	})
	if err != nil {
		return nil, err
	}
	out := &aas.PutScalingPolicyResponse{PolicyARN: doc.Policy.PolicyARN, Alarms: []aas.Alarm{}}
	if typ == targetTracking {
		alarms, err := s.putTrackingAlarms(ctx, t, doc)
		if err != nil {
			// Leave nothing half made: the new alarms and, if it is new,
			// the policy.
			s.deleteAlarms(ctx, doc.ownedAlarms())
			if created {
				_ = s.st.Update(ctx, func(tx store.Tx) error { return tx.Delete(tblAS, policyKey(t, name)) })
			}
			return nil, err
		}
		out.Alarms = alarms
	}
	// Alarms the policy no longer owns (a replaced target tracking policy).
	var stale []string
	for _, a := range oldAlarms {
		if !slices.Contains(doc.ownedAlarms(), a) {
			stale = append(stale, a)
		}
	}
	s.deleteAlarms(ctx, stale)
	return out, nil
}

func checkStep(c *aas.StepScalingPolicyConfiguration) error {
	if c == nil {
		return invalid("StepScalingPolicyConfiguration is required for a StepScaling policy")
	}
	switch deref(c.AdjustmentType) {
	case aas.AdjustmentTypeChangeInCapacity, aas.AdjustmentTypeExactCapacity, aas.AdjustmentTypePercentChangeInCapacity:
	case "":
		return invalid("AdjustmentType is required for a StepScaling policy")
	}
	if c.MinAdjustmentMagnitude != nil {
		if deref(c.AdjustmentType) != aas.AdjustmentTypePercentChangeInCapacity {
			return invalid("MinAdjustmentMagnitude may only be specified if AdjustmentType is PercentChangeInCapacity")
		}
		if *c.MinAdjustmentMagnitude < 1 {
			return invalid("MinAdjustmentMagnitude must be greater than 0")
		}
	}
	if c.Cooldown != nil && *c.Cooldown < 0 {
		return invalid("Cooldown cannot be less than 0")
	}
	if len(c.StepAdjustments) == 0 {
		return invalid("StepAdjustments must contain at least one step adjustment")
	}
	lower := func(a aas.StepAdjustment) float64 {
		if a.MetricIntervalLowerBound == nil {
			return math.Inf(-1)
		}
		return *a.MetricIntervalLowerBound
	}
	upper := func(a aas.StepAdjustment) float64 {
		if a.MetricIntervalUpperBound == nil {
			return math.Inf(1)
		}
		return *a.MetricIntervalUpperBound
	}
	steps := slices.Clone(c.StepAdjustments)
	sort.SliceStable(steps, func(i, j int) bool { return lower(steps[i]) < lower(steps[j]) })
	for i, st := range steps {
		if st.MetricIntervalLowerBound == nil && st.MetricIntervalUpperBound == nil && len(steps) > 1 {
			return invalid("Only one step adjustment may have both bounds unspecified, and then it must be the only one")
		}
		if lower(st) >= upper(st) {
			return invalid("MetricIntervalLowerBound %v must be less than MetricIntervalUpperBound %v", lower(st), upper(st))
		}
		if i > 0 {
			prev := upper(steps[i-1])
			switch {
			case prev > lower(st):
				return invalid("Step adjustments must not overlap: %v-%v and %v-%v", lower(steps[i-1]), prev, lower(st), upper(st))
			case prev < lower(st):
				return invalid("Step adjustments must not have gaps between them: none covers %v to %v", prev, lower(st))
			}
		}
	}
	if !math.IsInf(lower(steps[0]), -1) && !math.IsInf(upper(steps[len(steps)-1]), 1) {
		return invalid("Either the first step adjustment must have no lower bound or the last one no upper bound")
	}
	return nil
}

func checkTargetTracking(c *aas.TargetTrackingScalingPolicyConfiguration) error {
	if c == nil {
		return invalid("TargetTrackingScalingPolicyConfiguration is required for a TargetTrackingScaling policy")
	}
	if c.TargetValue == nil || *c.TargetValue <= 0 {
		return invalid("TargetValue must be greater than 0")
	}
	if (c.PredefinedMetricSpecification == nil) == (c.CustomizedMetricSpecification == nil) {
		return invalid("Exactly one of PredefinedMetricSpecification and CustomizedMetricSpecification must be specified")
	}
	if c.ScaleInCooldown != nil && *c.ScaleInCooldown < 0 || c.ScaleOutCooldown != nil && *c.ScaleOutCooldown < 0 {
		return invalid("Cooldown cannot be less than 0")
	}
	if p := c.PredefinedMetricSpecification; p != nil {
		if _, ok := predefinedECS[deref(p.PredefinedMetricType)]; !ok {
			return invalid("Unsupported predefined metric type %s for ECS service: use ECSServiceAverageCPUUtilization or ECSServiceAverageMemoryUtilization", deref(p.PredefinedMetricType))
		}
		if p.ResourceLabel != nil {
			return invalid("ResourceLabel is only allowed for the ALBRequestCountPerTarget metric type")
		}
	}
	if m := c.CustomizedMetricSpecification; m != nil {
		if len(m.Metrics) > 0 {
			if m.MetricName != nil || m.Namespace != nil || m.Statistic != nil || len(m.Dimensions) > 0 || m.Unit != nil {
				return invalid("Metrics cannot be combined with MetricName, Namespace, Dimensions, Statistic or Unit")
			}
			returning := 0
			for _, q := range m.Metrics {
				if q.ReturnData == nil || *q.ReturnData {
					returning++
				}
				if (q.Expression == nil) == (q.MetricStat == nil) {
					return invalid("Each metric data query must specify exactly one of Expression and MetricStat")
				}
			}
			if returning != 1 {
				return invalid("Exactly one metric data query must return data")
			}
		} else if m.MetricName == nil || m.Namespace == nil || m.Statistic == nil {
			return invalid("CustomizedMetricSpecification requires MetricName, Namespace and Statistic, or Metrics")
		}
	}
	return nil
}

// trackedMetric returns the alarm fields of a target tracking policy's
// metric: a single metric or metric data queries.
func (s *Service) trackedMetric(t targetID, c *aas.TargetTrackingScalingPolicyConfiguration) *cloudwatchapi.PutMetricAlarmInput {
	period := int32(s.ttPeriod.Seconds())
	in := &cloudwatchapi.PutMetricAlarmInput{}
	if p := c.PredefinedMetricSpecification; p != nil {
		in.Namespace, in.MetricName = ptr("AWS/ECS"), ptr(predefinedECS[*p.PredefinedMetricType])
		in.Dimensions = []cloudwatchapi.Dimension{{Name: ptr("ClusterName"), Value: &t.cluster}, {Name: ptr("ServiceName"), Value: &t.service}}
		in.Statistic, in.Period = ptr("Average"), &period
		return in
	}
	m := c.CustomizedMetricSpecification
	if len(m.Metrics) == 0 {
		in.Namespace, in.MetricName, in.Statistic, in.Unit, in.Period = m.Namespace, m.MetricName, m.Statistic, m.Unit, &period
		for _, d := range m.Dimensions {
			in.Dimensions = append(in.Dimensions, cloudwatchapi.Dimension{Name: d.Name, Value: d.Value})
		}
		return in
	}
	for _, q := range m.Metrics {
		cq := cloudwatchapi.MetricDataQuery{Id: q.Id, Expression: q.Expression, Label: q.Label, ReturnData: q.ReturnData}
		if q.MetricStat != nil {
			ms := &cloudwatchapi.MetricStat{Stat: q.MetricStat.Stat, Unit: q.MetricStat.Unit, Period: &period, Metric: &cloudwatchapi.Metric{}}
			if mm := q.MetricStat.Metric; mm != nil {
				ms.Metric.Namespace, ms.Metric.MetricName = mm.Namespace, mm.MetricName
				for _, d := range mm.Dimensions {
					ms.Metric.Dimensions = append(ms.Metric.Dimensions, cloudwatchapi.Dimension{Name: d.Name, Value: d.Value})
				}
			}
			cq.MetricStat = ms
		}
		in.Metrics = append(in.Metrics, cq)
	}
	return in
}

// putTrackingAlarms creates (or updates) the alarms a target tracking
// policy owns, as AWS makes them: high when 3 of 3 periods are above the
// target, low when 15 of 15 are below 90 % of it.
func (s *Service) putTrackingAlarms(ctx context.Context, t targetID, d *policyDoc) ([]aas.Alarm, error) {
	c := d.Policy.TargetTrackingScalingPolicyConfiguration
	desc := "DO NOT EDIT OR DELETE. For TargetTrackingScaling policy " + *d.Policy.PolicyARN + "."
	var out []aas.Alarm
	for _, a := range []struct {
		name      string
		n         int32
		op        string
		threshold float64
	}{
		{d.HighAlarm, 3, "GreaterThanThreshold", *c.TargetValue},
		{d.LowAlarm, 15, "LessThanThreshold", *c.TargetValue * 0.9},
	} {
		if a.name == "" {
			continue
		}
		in := s.trackedMetric(t, c)
		in.AlarmName, in.AlarmDescription = &a.name, &desc
		in.AlarmActions = []string{*d.Policy.PolicyARN}
		in.EvaluationPeriods, in.DatapointsToAlarm = &a.n, &a.n
		in.ComparisonOperator, in.Threshold = &a.op, &a.threshold
		if _, err := s.cw.PutMetricAlarm(ctx, in); err != nil {
			return nil, fmt.Errorf("create alarm %s: %w", a.name, err)
		}
		alarmARN, err := arn.Regional(ctx, "cloudwatch", "alarm:"+a.name)
		if err != nil {
			return nil, err
		}
		out = append(out, aas.Alarm{AlarmName: ptr(a.name), AlarmARN: &alarmARN})
	}
	return out, nil
}

// DescribeScalingPolicies lists scaling policies with their alarms.
func (s *Service) DescribeScalingPolicies(ctx context.Context, in *aas.DescribeScalingPoliciesRequest) (*aas.DescribeScalingPoliciesResponse, error) {
	if err := checkNamespace(deref(in.ServiceNamespace)); err != nil {
		return nil, err
	}
	if len(in.PolicyNames) > 50 {
		return nil, invalid("PolicyNames cannot contain more than 50 items")
	}
	var docs []*policyDoc
	var keys []string
	err := s.st.View(ctx, func(tx store.Tx) (err error) {
		docs, keys, err = listDocs[policyDoc](tx, "policy/"+nsECS+"|")
		return err
	})
	if err != nil {
		return nil, err
	}
	type kd struct {
		key string
		d   *policyDoc
	}
	var items []kd
	for i, d := range docs {
		p := &d.Policy
		if (in.ResourceId != nil && *in.ResourceId != *p.ResourceId) || (in.ScalableDimension != nil && *in.ScalableDimension != *p.ScalableDimension) ||
			(len(in.PolicyNames) > 0 && !slices.Contains(in.PolicyNames, *p.PolicyName)) {
			continue
		}
		items = append(items, kd{keys[i], d})
	}
	pg, next, err := page(items, func(x kd) string { return x.key }, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	out := &aas.DescribeScalingPoliciesResponse{ScalingPolicies: []aas.ScalingPolicy{}, NextToken: next}
	for _, x := range pg {
		p := x.d.Policy
		p.Alarms, err = s.policyAlarms(ctx, x.d)
		if err != nil {
			return nil, err
		}
		out.ScalingPolicies = append(out.ScalingPolicies, p)
	}
	return out, nil
}

// policyAlarms lists the alarms whose actions invoke the policy.
func (s *Service) policyAlarms(ctx context.Context, d *policyDoc) ([]aas.Alarm, error) {
	out := []aas.Alarm{}
	var token *string
	for {
		res, err := s.cw.DescribeAlarms(ctx, &cloudwatchapi.DescribeAlarmsInput{ActionPrefix: d.Policy.PolicyARN, NextToken: token})
		if err != nil {
			return nil, err
		}
		for _, a := range res.MetricAlarms {
			if slices.Contains(a.AlarmActions, *d.Policy.PolicyARN) || slices.Contains(a.OKActions, *d.Policy.PolicyARN) ||
				slices.Contains(a.InsufficientDataActions, *d.Policy.PolicyARN) {
				out = append(out, aas.Alarm{AlarmName: a.AlarmName, AlarmARN: a.AlarmArn})
			}
		}
		if res.NextToken == nil || *res.NextToken == "" {
			return out, nil
		}
		token = res.NextToken
	}
}

// DeleteScalingPolicy deletes a policy and the alarms it owns.
func (s *Service) DeleteScalingPolicy(ctx context.Context, in *aas.DeleteScalingPolicyRequest) (*aas.DeleteScalingPolicyResponse, error) {
	t, err := parseTarget(in.ServiceNamespace, in.ScalableDimension, in.ResourceId)
	if err != nil {
		return nil, err
	}
	name := deref(in.PolicyName)
	var alarms []string
	err = s.st.Update(ctx, func(tx store.Tx) error {
		d, rev, err := getDoc[policyDoc](tx, policyKey(t, name), noPolicy(t, name))
		if err != nil {
			return err
		}
		alarms = d.ownedAlarms()
		return tx.DeleteIf(tblAS, policyKey(t, name), rev)
	})
	if err != nil {
		return nil, err
	}
	s.deleteAlarms(ctx, alarms)
	return &aas.DeleteScalingPolicyResponse{}, nil
}
