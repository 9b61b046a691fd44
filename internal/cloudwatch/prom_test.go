package cloudwatch

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/wharfhq/wharf/api/cloudwatchapi"
	"github.com/wharfhq/wharf/internal/cloudwatch/tsdb"
)

func TestPrometheusCollector(t *testing.T) {
	now := time.Date(2026, 11, 26, 3, 0, 5, 0, time.UTC)
	s, _, ctx := newTestService(t, &now)
	c := s.Collector()
	expect := func(want string) {
		t.Helper()
		if err := testutil.CollectAndCompare(c, strings.NewReader(want)); err != nil {
			t.Fatal(err)
		}
	}
	head := `
# HELP wharf_cloudwatch_datapoints_ingested_total MetricDatum entries stored, by source: api (PutMetricData) or wharf (what Wharf publishes itself: AWS/ECS). A datum with a Values array or a statistic set counts once.
# TYPE wharf_cloudwatch_datapoints_ingested_total counter
`
	expect(head + `wharf_cloudwatch_datapoints_ingested_total{source="api"} 0
wharf_cloudwatch_datapoints_ingested_total{source="wharf"} 0
`)
	if _, err := s.PutMetricData(ctx, &cloudwatchapi.PutMetricDataInput{Namespace: ptrTo("Web"), MetricData: []cloudwatchapi.MetricDatum{
		{MetricName: ptrTo("a"), Value: ptrTo(1.0), Timestamp: ptrTo(now)}, {MetricName: ptrTo("b"), Values: []float64{1, 2}, Timestamp: ptrTo(now)}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutMetricData(ctx, &cloudwatchapi.PutMetricDataInput{Namespace: ptrTo("AWS/ECS"), MetricData: []cloudwatchapi.MetricDatum{
		{MetricName: ptrTo("a"), Value: ptrTo(1.0)}}}); err == nil {
		t.Fatal("PutMetricData into AWS/ECS was accepted")
	}
	if err := s.Publish(ctx, []tsdb.Datum{{Metric: tsdb.Metric{Namespace: "AWS/ECS", Name: "CPUUtilization"}, T: now.Unix(),
		Stats: tsdb.Stats{Count: 1, Sum: 5, Min: 5, Max: 5}}}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"high", "low"} {
		if _, err := s.PutMetricAlarm(ctx, &cloudwatchapi.PutMetricAlarmInput{AlarmName: ptrTo(name), Namespace: ptrTo("Web"), MetricName: ptrTo("a"),
			Statistic: ptrTo("Maximum"), Period: ptrTo(int32(60)), EvaluationPeriods: ptrTo(int32(1)), Threshold: ptrTo(1.0),
			ComparisonOperator: ptrTo("GreaterThanThreshold")}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.SetAlarmState(ctx, &cloudwatchapi.SetAlarmStateInput{AlarmName: ptrTo("high"), StateValue: ptrTo(StateAlarm), StateReason: ptrTo("x")}); err != nil {
		t.Fatal(err)
	}
	expect(head + `wharf_cloudwatch_datapoints_ingested_total{source="api"} 2
wharf_cloudwatch_datapoints_ingested_total{source="wharf"} 1
# HELP wharf_cloudwatch_alarms Metric alarms by state (OK, ALARM, INSUFFICIENT_DATA).
# TYPE wharf_cloudwatch_alarms gauge
wharf_cloudwatch_alarms{account="123456789012",region="us-east-1",state="ALARM"} 1
wharf_cloudwatch_alarms{account="123456789012",region="us-east-1",state="INSUFFICIENT_DATA"} 1
wharf_cloudwatch_alarms{account="123456789012",region="us-east-1",state="OK"} 0
`)
}
