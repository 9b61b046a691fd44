package cloudwatch

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api/cloudwatchapi"
	"github.com/wharfhq/wharf/internal/cloudwatch/tsdb"
	"github.com/wharfhq/wharf/internal/store/sqlite"
	"github.com/wharfhq/wharf/internal/tenancy"
)

type hookCall struct{ alarm, action, state string }

func newTestService(t *testing.T, now *time.Time) (*Service, *[]hookCall, context.Context) {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "wharf.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clock := func() time.Time { return *now }
	var mu sync.Mutex
	calls := &[]hookCall{}
	s := New(Options{Store: st, Metrics: tsdb.NewMemory(clock), Now: clock})
	s.SetOnAlarmAction(func(_ context.Context, alarmARN, actionARN, state string) {
		mu.Lock()
		*calls = append(*calls, hookCall{alarmARN, actionARN, state})
		mu.Unlock()
	})
	return s, calls, tenancy.With(context.Background(), "123456789012", "us-east-1")
}

// A metric math alarm (errors / requests) with an Application Auto Scaling
// action: the hook is called on the transition and again at each
// evaluation while the alarm stays in ALARM; leaving ALARM stops it.
func TestMathAlarmAndScalingHook(t *testing.T) {
	now := time.Date(2026, 11, 26, 3, 0, 5, 0, time.UTC)
	s, calls, ctx := newTestService(t, &now)
	put := func(name string, v float64) {
		t.Helper()
		_, err := s.PutMetricData(ctx, &cloudwatchapi.PutMetricDataInput{Namespace: ptrTo("Web"), MetricData: []cloudwatchapi.MetricDatum{
			{MetricName: ptrTo(name), Value: ptrTo(v), Timestamp: ptrTo(now)}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	stat := func(name string) *cloudwatchapi.MetricStat {
		return &cloudwatchapi.MetricStat{Metric: &cloudwatchapi.Metric{Namespace: ptrTo("Web"), MetricName: ptrTo(name)}, Period: ptrTo(int32(60)), Stat: ptrTo("Sum")}
	}
	policy := "arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:0b1c:resource/ecs/service/c/web:policyName/out"
	_, err := s.PutMetricAlarm(ctx, &cloudwatchapi.PutMetricAlarmInput{AlarmName: ptrTo("error-rate"), EvaluationPeriods: ptrTo(int32(1)),
		Threshold: ptrTo(10.0), ComparisonOperator: ptrTo("GreaterThanThreshold"), AlarmActions: []string{policy},
		Metrics: []cloudwatchapi.MetricDataQuery{
			{Id: ptrTo("e"), MetricStat: stat("Errors"), ReturnData: ptrTo(false)},
			{Id: ptrTo("r"), MetricStat: stat("Requests"), ReturnData: ptrTo(false)},
			{Id: ptrTo("rate"), Expression: ptrTo("100 * e / r"), Label: ptrTo("error %")},
		}})
	if err != nil {
		t.Fatal(err)
	}
	put("Errors", 30)
	put("Requests", 200)
	if err := s.EvaluateAlarms(ctx, now); err != nil {
		t.Fatal(err)
	}
	a := describeOne(t, s, ctx, "error-rate")
	if *a.StateValue != StateAlarm || !strings.Contains(*a.StateReason, "[15.0 (26/11/26 03:00:00)] was greater than the threshold (10.0)") {
		t.Fatalf("state %s: %s", *a.StateValue, *a.StateReason)
	}
	if len(*calls) != 1 || (*calls)[0] != (hookCall{*a.AlarmArn, policy, StateAlarm}) {
		t.Fatalf("hook calls: %+v", *calls)
	}
	// Not due again within the period; due after it, still ALARM: the
	// scaling action is invoked again (no new history for it).
	now = now.Add(30 * time.Second)
	_ = s.EvaluateAlarms(ctx, now)
	if len(*calls) != 1 {
		t.Fatalf("evaluated before the period was over: %+v", *calls)
	}
	now = now.Add(30 * time.Second)
	put("Errors", 40)
	put("Requests", 100)
	_ = s.EvaluateAlarms(ctx, now)
	if len(*calls) != 2 {
		t.Fatalf("hook calls while in ALARM: %+v", *calls)
	}
	// Errors drop: OK, and the hook is not called for OK (no OK actions).
	now = now.Add(time.Minute)
	put("Errors", 1)
	put("Requests", 100)
	_ = s.EvaluateAlarms(ctx, now)
	if a := describeOne(t, s, ctx, "error-rate"); *a.StateValue != StateOK {
		t.Fatalf("state %s: %s", *a.StateValue, *a.StateReason)
	}
	if len(*calls) != 2 {
		t.Fatalf("hook called after OK: %+v", *calls)
	}
	h, err := s.DescribeAlarmHistory(ctx, &cloudwatchapi.DescribeAlarmHistoryInput{AlarmName: ptrTo("error-rate"), HistoryItemType: ptrTo("Action")})
	if err != nil || len(h.AlarmHistoryItems) != 1 || *h.AlarmHistoryItems[0].HistorySummary != "Successfully executed action "+policy {
		t.Fatalf("action history: %+v %v", h, err)
	}
}

// Disabled actions do not run; the state still changes.
func TestDisabledActions(t *testing.T) {
	now := time.Date(2026, 11, 26, 3, 0, 5, 0, time.UTC)
	s, calls, ctx := newTestService(t, &now)
	policy := "arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:1:resource/ecs/service/c/web:policyName/p"
	_, err := s.PutMetricAlarm(ctx, &cloudwatchapi.PutMetricAlarmInput{AlarmName: ptrTo("a"), Namespace: ptrTo("Web"), MetricName: ptrTo("m"),
		Statistic: ptrTo("Maximum"), Period: ptrTo(int32(60)), EvaluationPeriods: ptrTo(int32(1)), Threshold: ptrTo(1.0),
		ComparisonOperator: ptrTo("GreaterThanThreshold"), AlarmActions: []string{policy}, ActionsEnabled: ptrTo(false)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetAlarmState(ctx, &cloudwatchapi.SetAlarmStateInput{AlarmName: ptrTo("a"), StateValue: ptrTo(StateAlarm), StateReason: ptrTo("x")}); err != nil {
		t.Fatal(err)
	}
	if len(*calls) != 0 || *describeOne(t, s, ctx, "a").StateValue != StateAlarm {
		t.Fatalf("calls %+v", *calls)
	}
	_, _ = s.EnableAlarmActions(ctx, &cloudwatchapi.EnableAlarmActionsInput{AlarmNames: []string{"a"}})
	_, _ = s.SetAlarmState(ctx, &cloudwatchapi.SetAlarmStateInput{AlarmName: ptrTo("a"), StateValue: ptrTo(StateOK), StateReason: ptrTo("x")})
	_, _ = s.SetAlarmState(ctx, &cloudwatchapi.SetAlarmStateInput{AlarmName: ptrTo("a"), StateValue: ptrTo(StateAlarm), StateReason: ptrTo("y")})
	if len(*calls) != 1 {
		t.Fatalf("calls after enabling: %+v", *calls)
	}
}

func describeOne(t *testing.T, s *Service, ctx context.Context, name string) cloudwatchapi.MetricAlarm {
	t.Helper()
	out, err := s.DescribeAlarms(ctx, &cloudwatchapi.DescribeAlarmsInput{AlarmNames: []string{name}})
	if err != nil || len(out.MetricAlarms) != 1 {
		t.Fatalf("DescribeAlarms: %+v %v", out, err)
	}
	return out.MetricAlarms[0]
}

func TestDescribeAlarmsPaging(t *testing.T) {
	now := time.Date(2026, 11, 26, 3, 0, 5, 0, time.UTC)
	s, _, ctx := newTestService(t, &now)
	for _, n := range []string{"web-a", "web-b", "web-c", "db-a", "db-b"} {
		_, err := s.PutMetricAlarm(ctx, &cloudwatchapi.PutMetricAlarmInput{AlarmName: ptrTo(n), Namespace: ptrTo("App"), MetricName: ptrTo("m"),
			Statistic: ptrTo("Sum"), Period: ptrTo(int32(60)), EvaluationPeriods: ptrTo(int32(1)), Threshold: ptrTo(1.0), ComparisonOperator: ptrTo("GreaterThanThreshold")})
		if err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	var tok *string
	for pages := 0; ; pages++ {
		out, err := s.DescribeAlarms(ctx, &cloudwatchapi.DescribeAlarmsInput{AlarmNamePrefix: ptrTo("web-"), MaxRecords: ptrTo(int32(2)), NextToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range out.MetricAlarms {
			names = append(names, *a.AlarmName)
		}
		if tok = out.NextToken; tok == nil || pages > 5 {
			break
		}
	}
	if strings.Join(names, ",") != "web-a,web-b,web-c" {
		t.Fatalf("paged names: %v", names)
	}
	if _, err := s.DescribeAlarms(ctx, &cloudwatchapi.DescribeAlarmsInput{AlarmNames: []string{"x"}, AlarmNamePrefix: ptrTo("w")}); err == nil {
		t.Fatal("names and prefix together accepted")
	}
	if _, err := s.DescribeAlarms(ctx, &cloudwatchapi.DescribeAlarmsInput{NextToken: ptrTo("!!")}); err == nil {
		t.Fatal("bad token accepted")
	}
	if out, _ := s.DescribeAlarms(ctx, &cloudwatchapi.DescribeAlarmsInput{AlarmTypes: []string{"CompositeAlarm"}}); len(out.MetricAlarms) != 0 {
		t.Fatal("metric alarms listed as composite")
	}
}
