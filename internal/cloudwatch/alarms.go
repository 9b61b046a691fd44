package cloudwatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/wharfhq/wharf/api/cloudwatchapi"
	"github.com/wharfhq/wharf/internal/arn"
	"github.com/wharfhq/wharf/internal/cloudwatch/tsdb"
	"github.com/wharfhq/wharf/internal/errs"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/wire"
)

// Limits on alarms.
const (
	maxAlarmActions   = 5
	maxEvaluationSpan = 7 * 24 * time.Hour
	maxTags           = 50
)

// PutMetricAlarm creates or replaces an alarm on a metric or on metric math.
func (s *Service) PutMetricAlarm(ctx context.Context, in *cloudwatchapi.PutMetricAlarmInput) (*wire.Empty, error) {
	if err := checkAlarm(in); err != nil {
		return nil, err
	}
	name := *in.AlarmName
	alarmArn, err := alarmARN(ctx, name)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	err = s.st.Update(ctx, func(tx store.Tx) error {
		old, rev, err := getAlarm(tx, name)
		if err != nil && !errors.Is(err, ErrResourceNotFound) {
			return err
		}
		if err := tenants.Remember(ctx, tx); err != nil {
			return err
		}
		a := cloudwatchapi.MetricAlarm{
			AlarmName: &name, AlarmArn: &alarmArn, AlarmDescription: in.AlarmDescription,
			ActionsEnabled: ptrTo(in.ActionsEnabled == nil || *in.ActionsEnabled),
			AlarmActions:   orEmpty(in.AlarmActions), OKActions: orEmpty(in.OKActions), InsufficientDataActions: orEmpty(in.InsufficientDataActions),
			MetricName: in.MetricName, Namespace: in.Namespace, Statistic: in.Statistic, ExtendedStatistic: in.ExtendedStatistic,
			Dimensions: orEmpty(in.Dimensions), Period: in.Period, Unit: in.Unit, EvaluationPeriods: in.EvaluationPeriods,
			DatapointsToAlarm: in.DatapointsToAlarm, Threshold: in.Threshold, ComparisonOperator: in.ComparisonOperator,
			TreatMissingData: in.TreatMissingData, Metrics: in.Metrics, ThresholdMetricId: in.ThresholdMetricId,
			EvaluateLowSampleCountPercentile:   in.EvaluateLowSampleCountPercentile,
			AlarmConfigurationUpdatedTimestamp: &now,
		}
		if a.TreatMissingData == nil {
			a.TreatMissingData = ptrTo("missing")
		}
		doc := &alarmDoc{Alarm: a, Tags: in.Tags}
		summary, typ := fmt.Sprintf("Alarm %q created", name), "Create"
		if old != nil {
			a.StateValue, a.StateReason, a.StateReasonData = old.Alarm.StateValue, old.Alarm.StateReason, old.Alarm.StateReasonData
			a.StateUpdatedTimestamp, a.StateTransitionedTimestamp = old.Alarm.StateUpdatedTimestamp, old.Alarm.StateTransitionedTimestamp
			doc.Alarm, doc.Tags = a, old.Tags // tags are set on creation only, as CloudWatch
			summary, typ = fmt.Sprintf("Alarm %q updated", name), "Update"
		} else {
			doc.Alarm.StateValue = ptrTo(StateInsufficientData)
			doc.Alarm.StateReason = ptrTo("Unchecked: Initial alarm creation")
			doc.Alarm.StateUpdatedTimestamp, doc.Alarm.StateTransitionedTimestamp = &now, &now
		}
		if len(doc.Tags) > maxTags {
			return errs.New(ErrLimitExceeded, "The maximum number of tags (%d) was exceeded.", maxTags)
		}
		if err := putAlarm(tx, doc, rev); err != nil {
			return err
		}
		data, _ := json.Marshal(map[string]any{"version": "1.0", "type": typ, strings.ToLower(typ) + "dAlarm": doc.Alarm})
		return addHistory(tx, historyItem(name, "ConfigurationUpdate", summary, string(data), now))
	})
	if err != nil {
		return nil, err
	}
	s.forgetEval(alarmArn)
	return &wire.Empty{}, nil
}

func checkAlarm(in *cloudwatchapi.PutMetricAlarmInput) error {
	switch in.ComparisonOperator {
	case nil:
		return errs.New(ErrMissingParameter, "The parameter ComparisonOperator is required.")
	}
	op := *in.ComparisonOperator
	switch op {
	case "GreaterThanOrEqualToThreshold", "GreaterThanThreshold", "LessThanThreshold", "LessThanOrEqualToThreshold":
	case "LessThanLowerOrGreaterThanUpperThreshold", "LessThanLowerThreshold", "GreaterThanUpperThreshold":
		return invalid("Anomaly detection alarms (ComparisonOperator %s) are not supported by Wharf; use a static threshold.", op)
	default:
		return invalid("The value %s for parameter ComparisonOperator is invalid.", op)
	}
	if in.ThresholdMetricId != nil {
		return errs.New(ErrInvalidParameterCombination, "ThresholdMetricId is only for anomaly detection alarms, which Wharf does not support.")
	}
	if in.Threshold == nil {
		return errs.New(ErrMissingParameter, "The parameter Threshold is required.")
	}
	if in.EvaluationPeriods == nil {
		return errs.New(ErrMissingParameter, "The parameter EvaluationPeriods is required.")
	}
	n := *in.EvaluationPeriods
	if in.DatapointsToAlarm != nil && *in.DatapointsToAlarm > n {
		return invalid("DatapointsToAlarm (%d) must be less than or equal to EvaluationPeriods (%d).", *in.DatapointsToAlarm, n)
	}
	if t := in.TreatMissingData; t != nil {
		switch *t {
		case "missing", "ignore", "breaching", "notBreaching":
		default:
			return invalid("The value %s for parameter TreatMissingData is invalid.", *t)
		}
	}
	if in.EvaluationCriteria != nil || in.EvaluationInterval != nil {
		return invalid("PromQL alarms (EvaluationCriteria) are not supported by Wharf.")
	}
	for list, actions := range map[string][]string{"AlarmActions": in.AlarmActions, "OKActions": in.OKActions, "InsufficientDataActions": in.InsufficientDataActions} {
		if len(actions) > maxAlarmActions {
			return invalid("The collection %s must not have a size greater than %d.", list, maxAlarmActions)
		}
		for i, a := range actions {
			if !arn.Valid(a) {
				return invalid("The value %s for parameter %s.member.%d is invalid.", a, list, i+1)
			}
		}
	}
	var period int32
	if len(in.Metrics) > 0 {
		if in.MetricName != nil || in.Namespace != nil || in.Statistic != nil || in.ExtendedStatistic != nil || len(in.Dimensions) > 0 || in.Period != nil || in.Unit != nil {
			return errs.New(ErrInvalidParameterCombination, "The parameters MetricName, Namespace, Statistic, ExtendedStatistic, Dimensions, Period and Unit cannot be used with Metrics.")
		}
		returning := 0
		for i, q := range in.Metrics {
			if q.ReturnData == nil || *q.ReturnData {
				returning++
			}
			if q.MetricStat != nil {
				period = deref(q.MetricStat.Period)
			} else if q.Period != nil {
				period = *q.Period
			}
			if (q.MetricStat == nil) == (q.Expression == nil) {
				return invalid("Metrics.member.%d must have exactly one of MetricStat and Expression.", i+1)
			}
		}
		if returning != 1 {
			return invalid("Exactly one element of the metrics list should return data.")
		}
		if _, err := planQueries(in.Metrics, 0); err != nil {
			return err
		}
	} else {
		if in.MetricName == nil || in.Namespace == nil {
			return errs.New(ErrMissingParameter, "The parameters MetricName and Namespace are required when Metrics is not given.")
		}
		if (in.Statistic == nil) == (in.ExtendedStatistic == nil) {
			return errs.New(ErrInvalidParameterCombination, "Exactly one of the parameters Statistic and ExtendedStatistic must be specified.")
		}
		if x := in.ExtendedStatistic; x != nil && !percentileRE.MatchString(*x) {
			return invalid("The value %s for parameter ExtendedStatistic is invalid (Wharf computes percentiles p0 to p100).", *x)
		}
		if st := in.Statistic; st != nil {
			if _, ok := statValue(tsdb.Stats{}, *st); !ok || percentileRE.MatchString(*st) {
				return invalid("The value %s for parameter Statistic is invalid.", *st)
			}
		}
		if in.Period == nil {
			return errs.New(ErrMissingParameter, "The parameter Period is required.")
		}
		period = *in.Period
	}
	if period != 10 && period != 30 && (period <= 0 || period%60 != 0) {
		return invalid("The parameter Period must be 10, 30 or a multiple of 60.")
	}
	if time.Duration(period)*time.Duration(n)*time.Second > maxEvaluationSpan {
		return invalid("The evaluation period of the alarm (Period × EvaluationPeriods) must not exceed 7 days.")
	}
	return nil
}

// DescribeAlarms lists metric alarms by names, name prefix, state and
// action prefix, a page at a time.
func (s *Service) DescribeAlarms(ctx context.Context, in *cloudwatchapi.DescribeAlarmsInput) (*cloudwatchapi.DescribeAlarmsOutput, error) {
	if len(in.AlarmNames) > 0 && in.AlarmNamePrefix != nil {
		return nil, errs.New(ErrInvalidParameterCombination, "AlarmNames and AlarmNamePrefix cannot be specified together.")
	}
	if in.ChildrenOfAlarmName != nil || in.ParentsOfAlarmName != nil {
		return nil, invalid("Composite alarms are not supported by Wharf.")
	}
	out := &cloudwatchapi.DescribeAlarmsOutput{MetricAlarms: []cloudwatchapi.MetricAlarm{}, CompositeAlarms: []cloudwatchapi.CompositeAlarm{}}
	if len(in.AlarmTypes) > 0 {
		metric := false
		for _, t := range in.AlarmTypes {
			metric = metric || t == "MetricAlarm"
		}
		if !metric {
			return out, nil
		}
	}
	limit := int(deref(in.MaxRecords))
	if limit == 0 {
		limit = 50
	}
	after := ""
	if in.NextToken != nil {
		var err error
		if after, err = decodeToken(*in.NextToken); err != nil {
			return nil, err
		}
	}
	var all []*alarmDoc
	err := s.st.View(ctx, func(tx store.Tx) (err error) {
		all, err = listAlarms(tx, deref(in.AlarmNamePrefix))
		return err
	})
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	for _, n := range in.AlarmNames {
		names[n] = true
	}
	for _, d := range all {
		a := d.Alarm
		if *a.AlarmName <= after {
			continue
		}
		if len(names) > 0 && !names[*a.AlarmName] {
			continue
		}
		if in.StateValue != nil && deref(a.StateValue) != *in.StateValue {
			continue
		}
		if p := in.ActionPrefix; p != nil && !hasPrefix(a.AlarmActions, *p) && !hasPrefix(a.OKActions, *p) && !hasPrefix(a.InsufficientDataActions, *p) {
			continue
		}
		if len(out.MetricAlarms) == limit {
			tok := encodeToken(*out.MetricAlarms[limit-1].AlarmName)
			out.NextToken = &tok
			break
		}
		out.MetricAlarms = append(out.MetricAlarms, a)
	}
	return out, nil
}

// DescribeAlarmsForMetric lists the alarms watching one metric.
func (s *Service) DescribeAlarmsForMetric(ctx context.Context, in *cloudwatchapi.DescribeAlarmsForMetricInput) (*cloudwatchapi.DescribeAlarmsForMetricOutput, error) {
	m, err := metricOf(deref(in.Namespace), deref(in.MetricName), in.Dimensions)
	if err != nil {
		return nil, err
	}
	var all []*alarmDoc
	if err := s.st.View(ctx, func(tx store.Tx) (err error) { all, err = listAlarms(tx, ""); return err }); err != nil {
		return nil, err
	}
	out := &cloudwatchapi.DescribeAlarmsForMetricOutput{MetricAlarms: []cloudwatchapi.MetricAlarm{}}
	for _, d := range all {
		a := d.Alarm
		if deref(a.Namespace) != m.Namespace || deref(a.MetricName) != m.Name {
			continue
		}
		if len(in.Dimensions) > 0 {
			am, _ := metricOf(m.Namespace, m.Name, a.Dimensions)
			if am.ID() != m.ID() {
				continue
			}
		}
		if (in.Statistic != nil && deref(a.Statistic) != *in.Statistic) ||
			(in.ExtendedStatistic != nil && deref(a.ExtendedStatistic) != *in.ExtendedStatistic) ||
			(in.Period != nil && deref(a.Period) != *in.Period) ||
			(in.Unit != nil && deref(a.Unit) != *in.Unit) {
			continue
		}
		out.MetricAlarms = append(out.MetricAlarms, a)
	}
	return out, nil
}

// DeleteAlarms deletes alarms; if one does not exist none is deleted.
func (s *Service) DeleteAlarms(ctx context.Context, in *cloudwatchapi.DeleteAlarmsInput) (*wire.Empty, error) {
	err := s.st.Update(ctx, func(tx store.Tx) error {
		var missing []string
		for _, n := range in.AlarmNames {
			if _, err := tx.Get(tblCW, alarmKey(n)); err != nil {
				missing = append(missing, n)
			}
		}
		if len(missing) > 0 {
			return errs.New(ErrResourceNotFound, "%d out of %d alarms were not found: %s", len(missing), len(in.AlarmNames), strings.Join(missing, ", "))
		}
		for _, n := range in.AlarmNames {
			if err := tx.Delete(tblCW, alarmKey(n)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &wire.Empty{}, nil
}

// EnableAlarmActions turns the actions of alarms on.
func (s *Service) EnableAlarmActions(ctx context.Context, in *cloudwatchapi.EnableAlarmActionsInput) (*wire.Empty, error) {
	return &wire.Empty{}, s.setActionsEnabled(ctx, in.AlarmNames, true)
}

// DisableAlarmActions turns the actions of alarms off.
func (s *Service) DisableAlarmActions(ctx context.Context, in *cloudwatchapi.DisableAlarmActionsInput) (*wire.Empty, error) {
	return &wire.Empty{}, s.setActionsEnabled(ctx, in.AlarmNames, false)
}

func (s *Service) setActionsEnabled(ctx context.Context, names []string, on bool) error {
	return s.st.Update(ctx, func(tx store.Tx) error {
		for _, n := range names {
			d, rev, err := getAlarm(tx, n)
			if err != nil {
				continue // CloudWatch ignores names it does not know here
			}
			d.Alarm.ActionsEnabled = &on
			if err := putAlarm(tx, d, rev); err != nil {
				return err
			}
		}
		return nil
	})
}

func hasPrefix(list []string, p string) bool {
	for _, a := range list {
		if strings.HasPrefix(a, p) {
			return true
		}
	}
	return false
}

func ptrTo[T any](v T) *T { return &v }

func orEmpty[T any](l []T) []T {
	if l == nil {
		return []T{}
	}
	return l
}
