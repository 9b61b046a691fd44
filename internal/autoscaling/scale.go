package autoscaling

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	aas "github.com/wharfhq/wharf/api/applicationautoscalingapi"
	"github.com/wharfhq/wharf/api/cloudwatchapi"
	"github.com/wharfhq/wharf/internal/autoscaling/decide"
	"github.com/wharfhq/wharf/internal/store"
)

// HandleAlarmAction is CloudWatch's hook for alarm actions that name a
// scaling policy. CloudWatch calls it when the alarm enters a state and
// again every period while it stays there; each call may scale.
func (s *Service) HandleAlarmAction(ctx context.Context, alarmARN, policyARN, state string) {
	t, name, ok := parsePolicyARN(policyARN)
	if !ok {
		return
	}
	s.scaleMu.Lock()
	defer s.scaleMu.Unlock()
	var pol *policyDoc
	var tgt *targetDoc
	err := s.st.View(ctx, func(tx store.Tx) (err error) {
		if pol, _, err = getDoc[policyDoc](tx, policyKey(t, name), noPolicy(t, name)); err != nil {
			return err
		}
		tgt, _, err = getTarget(tx, t)
		return err
	})
	if err != nil || *pol.Policy.PolicyARN != policyARN {
		s.log.Info("autoscaling: alarm action for a policy that does not exist", "policy", policyARN, "alarm", alarmARN)
		return
	}
	_, alarmName, _ := strings.Cut(alarmARN, ":alarm:")
	cur, deploying, err := s.scaler.Capacity(ctx, t.cluster, t.service)
	if err != nil {
		s.log.Warn("autoscaling: read desired count", "resource", t.rid, "err", err)
		return
	}
	now := s.now().UTC()
	tg := &tgt.Target
	ss := tg.SuspendedState
	req := decide.Request{Now: now, Current: cur, Min: int(*tg.MinCapacity), Max: int(*tg.MaxCapacity),
		ScaleInBlocked:  deploying || deref(ss.DynamicScalingInSuspended),
		ScaleOutBlocked: deref(ss.DynamicScalingOutSuspended)}
	cause := fmt.Sprintf("monitor alarm %s in state %s triggered policy %s", alarmName, state, name)
	switch deref(pol.Policy.PolicyType) {
	case targetTracking:
		c := pol.Policy.TargetTrackingScalingPolicyConfiguration
		high, low := alarmName == pol.HighAlarm, alarmName == pol.LowAlarm
		if state != "ALARM" || (!high && !low) {
			return
		}
		metric, ok := s.trackedValue(ctx, t, c)
		if !ok {
			s.log.Info("autoscaling: no datapoint for target tracking", "policy", name, "resource", t.rid)
			return
		}
		target := *c.TargetValue
		// Scale-in only as far as every other target tracking policy of
		// the target agrees (AWS: the largest capacity wins).
		var others []func(int) int
		if low {
			var ok bool
			if others, ok = s.otherTracking(ctx, t, name); !ok {
				req.ScaleInBlocked = true
			}
		}
		req.Desired = func(base int) int {
			n := decide.TargetTracking(base, metric, target)
			if high {
				return max(n, base)
			}
			for _, o := range others {
				n = max(n, o(base))
			}
			return min(n, base)
		}
		if low && deref(c.DisableScaleIn) {
			req.ScaleInBlocked = true
		}
		req.OutCooldown = seconds(c.ScaleOutCooldown, ecsCooldown)
		req.InCooldown = seconds(c.ScaleInCooldown, ecsCooldown)
	case stepScaling:
		c := pol.Policy.StepScalingPolicyConfiguration
		delta, ok := s.alarmBreach(ctx, alarmName, deref(c.MetricAggregationType))
		if !ok {
			return
		}
		var steps []decide.Step
		for _, a := range c.StepAdjustments {
			steps = append(steps, decide.Step{Lower: a.MetricIntervalLowerBound, Upper: a.MetricIntervalUpperBound, Adjustment: int(deref(a.ScalingAdjustment))})
		}
		step, found := decide.FindStep(steps, delta)
		if !found {
			s.log.Info("autoscaling: no step adjustment for the breach", "policy", name, "delta", delta)
			return
		}
		typ, mm := deref(c.AdjustmentType), int(deref(c.MinAdjustmentMagnitude))
		req.Desired = func(base int) int { return decide.Adjust(base, typ, step.Adjustment, mm) }
		req.OutCooldown = seconds(c.Cooldown, ecsCooldown)
		req.InCooldown = req.OutCooldown
	default:
		return
	}
	d := decide.Decide(req, tgt.Cooldown)
	notScaled := ""
	if !d.Scale && (d.Reason == decide.AlreadyAtMaxCapacity || d.Reason == decide.AlreadyAtMinCapacity) {
		notScaled = name + "/" + d.Reason
	}
	if d.Scale {
		if !s.setCapacity(ctx, t, cur, d.Capacity, cause) {
			return
		}
	} else if notScaled != "" && notScaled != tgt.LastNotScaled {
		want := decide.Clamp(req.Desired(cur), math.MinInt32, math.MaxInt32)
		s.record(ctx, t, aas.ScalingActivity{Cause: &cause,
			Description:   ptr(fmt.Sprintf("Attempting to set desired count to %d.", want)),
			StatusCode:    ptr(aas.ScalingActivityStatusCodeFailed),
			StatusMessage: ptr(fmt.Sprintf("Desired count not changed: %s (desired count %d, min %d, max %d).", d.Reason, cur, req.Min, req.Max)),
			NotScaledReasons: []aas.NotScaledReason{{Code: ptr(d.Reason), CurrentCapacity: ptr(int32(cur)),
				MinCapacity: tg.MinCapacity, MaxCapacity: tg.MaxCapacity}},
		}, true)
	}
	err = s.st.Update(ctx, func(tx store.Tx) error {
		cur, rev, err := getTarget(tx, t)
		if err != nil {
			return err
		}
		cur.Cooldown = d.Cooldown
		if d.Scale {
			cur.LastNotScaled = ""
		} else if notScaled != "" {
			cur.LastNotScaled = notScaled
		}
		return putDoc(tx, targetKey(t), cur, rev)
	})
	if err != nil && !errors.Is(err, ErrObjectNotFound) {
		s.log.Error("autoscaling: save cooldown", "resource", t.rid, "err", err)
	}
}

// otherTracking returns, for every target tracking policy of t but the
// named one, the capacity it wants from a base; false when one of them has
// no datapoint (it cannot agree to a scale-in).
func (s *Service) otherTracking(ctx context.Context, t targetID, name string) ([]func(int) int, bool) {
	var pols []*policyDoc
	err := s.st.View(ctx, func(tx store.Tx) (err error) {
		pols, _, err = listDocs[policyDoc](tx, "policy/"+t.key()+"|")
		return err
	})
	if err != nil {
		return nil, false
	}
	var out []func(int) int
	for _, p := range pols {
		if *p.Policy.PolicyName == name || deref(p.Policy.PolicyType) != targetTracking {
			continue
		}
		c := p.Policy.TargetTrackingScalingPolicyConfiguration
		v, ok := s.trackedValue(ctx, t, c)
		if !ok {
			return nil, false
		}
		target := *c.TargetValue
		out = append(out, func(base int) int { return decide.TargetTracking(base, v, target) })
	}
	return out, true
}

func seconds(v *int32, def int) time.Duration {
	if v == nil {
		return time.Duration(def) * time.Second
	}
	return time.Duration(*v) * time.Second
}

// setCapacity sets the service's desired count and records the activity;
// false when ECS refused.
func (s *Service) setCapacity(ctx context.Context, t targetID, from, to int, cause string) bool {
	start := s.now().UTC()
	err := s.scaler.SetCapacity(ctx, t.cluster, t.service, to)
	end := s.now().UTC()
	a := aas.ScalingActivity{Cause: &cause, Description: ptr(fmt.Sprintf("Setting desired count to %d.", to)),
		StartTime: &start, EndTime: &end}
	if err != nil {
		a.StatusCode = ptr(aas.ScalingActivityStatusCodeFailed)
		a.StatusMessage = ptr(fmt.Sprintf("Failed to set desired count to %d. Reason: %v", to, err))
		s.log.Warn("autoscaling: set desired count", "resource", t.rid, "desired", to, "err", err)
	} else {
		a.StatusCode = ptr(aas.ScalingActivityStatusCodeSuccessful)
		a.StatusMessage = ptr(fmt.Sprintf("Successfully set desired count to %d. Change successfully fulfilled by ecs.", to))
		s.log.Info("autoscaling: scaled", "resource", t.rid, "from", from, "to", to, "cause", cause)
	}
	s.record(ctx, t, a, false)
	return err == nil
}

// trackedValue reads the latest datapoint of a target tracking policy's
// metric.
func (s *Service) trackedValue(ctx context.Context, t targetID, c *aas.TargetTrackingScalingPolicyConfiguration) (float64, bool) {
	m := s.trackedMetric(t, c)
	vs := s.latestValues(ctx, alarmQueries(m.Namespace, m.MetricName, m.Dimensions, deref(m.Statistic), m.Unit, deref(m.Period), m.Metrics), deref(m.Period), 3)
	if len(vs) == 0 {
		return 0, false
	}
	return vs[len(vs)-1], true
}

// alarmQueries turns an alarm's metric (or its metric queries) into
// GetMetricData queries.
func alarmQueries(ns, name *string, dims []cloudwatchapi.Dimension, stat string, unit *string, period int32, metrics []cloudwatchapi.MetricDataQuery) []cloudwatchapi.MetricDataQuery {
	if len(metrics) > 0 {
		return metrics
	}
	return []cloudwatchapi.MetricDataQuery{{Id: ptr("m1"), ReturnData: ptr(true), MetricStat: &cloudwatchapi.MetricStat{
		Metric: &cloudwatchapi.Metric{Namespace: ns, MetricName: name, Dimensions: dims}, Period: &period, Stat: &stat, Unit: unit}}}
}

// latestValues returns the values (oldest first) of the returning query over
// the last n periods.
func (s *Service) latestValues(ctx context.Context, qs []cloudwatchapi.MetricDataQuery, period int32, n int) []float64 {
	if period <= 0 {
		period = 60
	}
	for _, q := range qs {
		if q.MetricStat != nil && q.MetricStat.Period != nil && period < *q.MetricStat.Period {
			period = *q.MetricStat.Period
		}
	}
	now := s.now()
	p := time.Duration(period) * time.Second
	end := now.Truncate(p).Add(p)
	start := end.Add(-time.Duration(n+1) * p)
	res, err := s.cw.GetMetricData(ctx, &cloudwatchapi.GetMetricDataInput{MetricDataQueries: qs, StartTime: &start, EndTime: &end,
		ScanBy: ptr("TimestampAscending")})
	if err != nil {
		s.log.Warn("autoscaling: read metric", "err", err)
		return nil
	}
	// The queries return one result: the one that returns data.
	if len(res.MetricDataResults) == 0 {
		return nil
	}
	vs := res.MetricDataResults[0].Values
	if len(vs) > n {
		vs = vs[len(vs)-n:]
	}
	return vs
}

// alarmBreach returns how far the alarm's metric, aggregated over its
// evaluation periods, is from its threshold. Without datapoints (an alarm
// set by SetAlarmState) the breach is taken from the state reason data's
// recent datapoints, else as just past the threshold on the alarm's side.
func (s *Service) alarmBreach(ctx context.Context, alarmName, aggregation string) (float64, bool) {
	res, err := s.cw.DescribeAlarms(ctx, &cloudwatchapi.DescribeAlarmsInput{AlarmNames: []string{alarmName}})
	if err != nil || len(res.MetricAlarms) == 0 {
		return 0, false
	}
	a := res.MetricAlarms[0]
	stat := deref(a.Statistic)
	if a.ExtendedStatistic != nil {
		stat = *a.ExtendedStatistic
	}
	n := int(max(deref(a.EvaluationPeriods), 1))
	values := s.latestValues(ctx, alarmQueries(a.Namespace, a.MetricName, a.Dimensions, stat, a.Unit, deref(a.Period), a.Metrics), deref(a.Period), n)
	if len(values) == 0 && a.StateReasonData != nil {
		var data struct {
			RecentDatapoints []float64 `json:"recentDatapoints"`
		}
		if json.Unmarshal([]byte(*a.StateReasonData), &data) == nil {
			values = data.RecentDatapoints
		}
	}
	threshold := deref(a.Threshold)
	v, ok := decide.Aggregate(values, aggregation)
	if !ok {
		delta := 0.0
		if strings.HasPrefix(deref(a.ComparisonOperator), "Less") {
			delta = -math.SmallestNonzeroFloat64
		}
		return delta, true
	}
	return v - threshold, true
}
