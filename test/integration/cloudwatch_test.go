package integration

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/wharfhq/wharf/internal/server"
	"github.com/wharfhq/wharf/internal/wharftest"
)

// fakeClock stands still at a start near wall time (SigV4 allows 5
// minutes of skew) until the test moves it forward.
type fakeClock struct {
	start time.Time
	off   atomic.Int64
}

func newFakeClock() *fakeClock {
	return &fakeClock{start: time.Now().Truncate(10 * time.Second).Add(time.Second)}
}

func (c *fakeClock) Now() time.Time          { return c.start.Add(time.Duration(c.off.Load())) }
func (c *fakeClock) Advance(d time.Duration) { c.off.Add(int64(d)) }

func dims(kv ...string) []cwtypes.Dimension {
	var out []cwtypes.Dimension
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, cwtypes.Dimension{Name: aws.String(kv[i]), Value: aws.String(kv[i+1])})
	}
	return out
}

func TestCloudWatchMetricsGoSDK(t *testing.T) {
	env := wharftest.Start(t)
	ctx := context.Background()
	cw := cloudwatch.NewFromConfig(env.Root())
	base := time.Now().UTC().Truncate(time.Minute).Add(-10 * time.Minute)

	_, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("App"), MetricData: []cwtypes.MetricDatum{
		{MetricName: aws.String("Latency"), Dimensions: dims("Service", "web"), Timestamp: aws.Time(base), Value: aws.Float64(10), Unit: cwtypes.StandardUnitMilliseconds},
		{MetricName: aws.String("Latency"), Dimensions: dims("Service", "web"), Timestamp: aws.Time(base.Add(20 * time.Second)), Value: aws.Float64(30), Unit: cwtypes.StandardUnitMilliseconds},
		{MetricName: aws.String("Latency"), Dimensions: dims("Service", "web"), Timestamp: aws.Time(base.Add(time.Minute)),
			Values: []float64{1, 5}, Counts: []float64{3, 1}, Unit: cwtypes.StandardUnitMilliseconds},
		{MetricName: aws.String("Latency"), Dimensions: dims("Service", "api"), Timestamp: aws.Time(base.Add(2 * time.Minute)),
			StatisticValues: &cwtypes.StatisticSet{SampleCount: aws.Float64(4), Sum: aws.Float64(100), Minimum: aws.Float64(10), Maximum: aws.Float64(40)}, Unit: cwtypes.StandardUnitMilliseconds},
		{MetricName: aws.String("Requests"), Dimensions: dims("Service", "web", "Zone", "a"), Timestamp: aws.Time(base), Value: aws.Float64(100), Unit: cwtypes.StandardUnitCount},
		{MetricName: aws.String("Requests"), Dimensions: dims("Zone", "a", "Service", "web"), Timestamp: aws.Time(base.Add(time.Minute)), Value: aws.Float64(160), Unit: cwtypes.StandardUnitCount},
	}})
	if err != nil {
		t.Fatal(err)
	}

	st, err := cw.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{Namespace: aws.String("App"), MetricName: aws.String("Latency"),
		Dimensions: dims("Service", "web"), StartTime: aws.Time(base), EndTime: aws.Time(base.Add(5 * time.Minute)), Period: aws.Int32(60),
		Statistics: []cwtypes.Statistic{cwtypes.StatisticAverage, cwtypes.StatisticSum, cwtypes.StatisticSampleCount, cwtypes.StatisticMinimum, cwtypes.StatisticMaximum}})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Datapoints) != 2 {
		t.Fatalf("datapoints = %+v, want 2", st.Datapoints)
	}
	byT := map[int64]cwtypes.Datapoint{}
	for _, d := range st.Datapoints {
		byT[aws.ToTime(d.Timestamp).Unix()] = d
	}
	d0, d1 := byT[base.Unix()], byT[base.Add(time.Minute).Unix()]
	if aws.ToFloat64(d0.Average) != 20 || aws.ToFloat64(d0.Sum) != 40 || aws.ToFloat64(d0.SampleCount) != 2 || aws.ToFloat64(d0.Minimum) != 10 || aws.ToFloat64(d0.Maximum) != 30 || d0.Unit != cwtypes.StandardUnitMilliseconds {
		t.Fatalf("first minute = %+v", d0)
	}
	if aws.ToFloat64(d1.SampleCount) != 4 || aws.ToFloat64(d1.Sum) != 8 || aws.ToFloat64(d1.Maximum) != 5 {
		t.Fatalf("values+counts minute = %+v", d1)
	}
	// Dimension order does not matter; a unit filter that matches nothing gives nothing.
	st, err = cw.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{Namespace: aws.String("App"), MetricName: aws.String("Requests"),
		Dimensions: dims("Zone", "a", "Service", "web"), StartTime: aws.Time(base), EndTime: aws.Time(base.Add(5 * time.Minute)), Period: aws.Int32(300),
		Statistics: []cwtypes.Statistic{cwtypes.StatisticSum}})
	if err != nil || len(st.Datapoints) != 1 || aws.ToFloat64(st.Datapoints[0].Sum) != 260 {
		t.Fatalf("Requests over 5 minutes = %+v, %v", st, err)
	}
	st, err = cw.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{Namespace: aws.String("App"), MetricName: aws.String("Requests"),
		Dimensions: dims("Zone", "a", "Service", "web"), StartTime: aws.Time(base), EndTime: aws.Time(base.Add(5 * time.Minute)), Period: aws.Int32(300),
		Statistics: []cwtypes.Statistic{cwtypes.StatisticSum}, Unit: cwtypes.StandardUnitSeconds})
	if err != nil || len(st.Datapoints) != 0 {
		t.Fatalf("unit filter = %+v, %v", st, err)
	}

	// Percentiles over values (and none for a period with only a statistic set).
	vals := make([]float64, 100)
	for i := range vals {
		vals[i] = float64(i + 1)
	}
	if _, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("Pct"), MetricData: []cwtypes.MetricDatum{
		{MetricName: aws.String("Lat"), Timestamp: aws.Time(base), Values: vals},
		{MetricName: aws.String("Lat"), Timestamp: aws.Time(base.Add(time.Minute)), StatisticValues: &cwtypes.StatisticSet{SampleCount: aws.Float64(1), Sum: aws.Float64(1), Minimum: aws.Float64(1), Maximum: aws.Float64(1)}},
	}}); err != nil {
		t.Fatal(err)
	}
	pst, err := cw.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{Namespace: aws.String("Pct"), MetricName: aws.String("Lat"),
		StartTime: aws.Time(base), EndTime: aws.Time(base.Add(2 * time.Minute)), Period: aws.Int32(60), ExtendedStatistics: []string{"p50", "p99", "p99.9"}})
	if err != nil || len(pst.Datapoints) != 1 {
		t.Fatalf("percentiles: %+v, %v", pst, err)
	}
	if ex := pst.Datapoints[0].ExtendedStatistics; ex["p50"] < 49.5 || ex["p50"] > 50.5 || ex["p99"] < 98 || ex["p99"] > 100 || ex["p99.9"] > 100 {
		t.Fatalf("percentiles: %v", ex)
	}
	if _, err := cw.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{Namespace: aws.String("Pct"), MetricName: aws.String("Lat"),
		StartTime: aws.Time(base), EndTime: aws.Time(base.Add(2 * time.Minute)), Period: aws.Int32(60), ExtendedStatistics: []string{"p101"}}); apiCode(t, err) != "InvalidParameterValue" {
		t.Fatalf("p101: %v", err)
	}

	lm, err := cw.ListMetrics(ctx, &cloudwatch.ListMetricsInput{Namespace: aws.String("App")})
	if err != nil || len(lm.Metrics) != 3 {
		t.Fatalf("ListMetrics = %+v, %v", lm, err)
	}
	if lm, err := cw.ListMetrics(ctx, &cloudwatch.ListMetricsInput{}); err != nil || len(lm.Metrics) != 4 {
		t.Fatalf("ListMetrics, all namespaces = %+v, %v", lm, err)
	}
	lm, err = cw.ListMetrics(ctx, &cloudwatch.ListMetricsInput{Dimensions: []cwtypes.DimensionFilter{{Name: aws.String("Zone")}}})
	if err != nil || len(lm.Metrics) != 1 || aws.ToString(lm.Metrics[0].MetricName) != "Requests" || len(lm.Metrics[0].Dimensions) != 2 {
		t.Fatalf("ListMetrics by dimension = %+v, %v", lm, err)
	}
	lm, err = cw.ListMetrics(ctx, &cloudwatch.ListMetricsInput{MetricName: aws.String("Latency"), Dimensions: []cwtypes.DimensionFilter{{Name: aws.String("Service"), Value: aws.String("api")}}})
	if err != nil || len(lm.Metrics) != 1 {
		t.Fatalf("ListMetrics by dimension value = %+v, %v", lm, err)
	}

	// GetMetricData: a metric, arithmetic, SUM of an array, FILL, RATE.
	web := &cwtypes.MetricStat{Metric: &cwtypes.Metric{Namespace: aws.String("App"), MetricName: aws.String("Latency"), Dimensions: dims("Service", "web")}, Period: aws.Int32(60), Stat: aws.String("Sum")}
	api := &cwtypes.MetricStat{Metric: &cwtypes.Metric{Namespace: aws.String("App"), MetricName: aws.String("Latency"), Dimensions: dims("Service", "api")}, Period: aws.Int32(60), Stat: aws.String("Sum")}
	gd, err := cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{StartTime: aws.Time(base), EndTime: aws.Time(base.Add(3 * time.Minute)),
		ScanBy: cwtypes.ScanByTimestampAscending, MetricDataQueries: []cwtypes.MetricDataQuery{
			{Id: aws.String("web"), MetricStat: web},
			{Id: aws.String("api"), MetricStat: api, ReturnData: aws.Bool(false)},
			{Id: aws.String("double"), Expression: aws.String("web * 2 + 1"), Label: aws.String("twice")},
			{Id: aws.String("total"), Expression: aws.String("SUM([web, api])")},
			{Id: aws.String("filled"), Expression: aws.String("FILL(api, 0)")},
			{Id: aws.String("rate"), Expression: aws.String("RATE(web)")},
			{Id: aws.String("all"), Expression: aws.String("MAX(METRICS())")},
		}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]float64{}
	for _, r := range gd.MetricDataResults {
		got[aws.ToString(r.Id)] = r.Values
		if r.StatusCode != cwtypes.StatusCodeComplete {
			t.Errorf("%s status %s", aws.ToString(r.Id), r.StatusCode)
		}
	}
	want := map[string][]float64{"web": {40, 8}, "double": {81, 17}, "total": {40, 8, 100}, "filled": {0, 0, 100}, "rate": {-32.0 / 60}, "all": {40, 8, 100}}
	for id, w := range want {
		if !equalFloats(got[id], w) {
			t.Errorf("%s = %v, want %v", id, got[id], w)
		}
	}
	if _, ok := got["api"]; ok {
		t.Error("api has ReturnData false but was returned")
	}
	if l := aws.ToString(gd.MetricDataResults[1].Label); l != "twice" {
		t.Errorf("label = %q", l)
	}
	// Pagination by MaxDatapoints.
	var pages, points int
	var token *string
	for {
		gd, err := cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{StartTime: aws.Time(base), EndTime: aws.Time(base.Add(3 * time.Minute)),
			MaxDatapoints: aws.Int32(1), NextToken: token, MetricDataQueries: []cwtypes.MetricDataQuery{{Id: aws.String("web"), MetricStat: web},
				{Id: aws.String("api"), MetricStat: api, ReturnData: aws.Bool(false)}, {Id: aws.String("total"), Expression: aws.String("SUM([web, api])")}}})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, r := range gd.MetricDataResults {
			points += len(r.Values)
		}
		if token = gd.NextToken; token == nil || pages > 10 {
			break
		}
	}
	if pages != 5 || points != 5 {
		t.Errorf("paged GetMetricData: %d pages, %d points; want 5 and 5", pages, points)
	}
}

func equalFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if d := a[i] - b[i]; d > 1e-9 || d < -1e-9 {
			return false
		}
	}
	return true
}

func TestCloudWatchErrors(t *testing.T) {
	env := wharftest.Start(t)
	ctx := context.Background()
	cw := cloudwatch.NewFromConfig(env.Root())
	now := time.Now()
	cases := []struct {
		name string
		call func() error
		code string
		msg  string
	}{
		{"value and statistic set", func() error {
			_, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("App"), MetricData: []cwtypes.MetricDatum{{MetricName: aws.String("m"), Value: aws.Float64(1),
				StatisticValues: &cwtypes.StatisticSet{SampleCount: aws.Float64(1), Sum: aws.Float64(1), Minimum: aws.Float64(1), Maximum: aws.Float64(1)}}}})
			return err
		}, "InvalidParameterCombination", "mutually exclusive"},
		{"storage resolution", func() error {
			_, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("App"), MetricData: []cwtypes.MetricDatum{{MetricName: aws.String("m"), Value: aws.Float64(1), StorageResolution: aws.Int32(5)}}})
			return err
		}, "InvalidParameterValue", "The value 5 for parameter MetricData.member.1.StorageResolution is invalid."},
		{"too old", func() error {
			_, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("App"), MetricData: []cwtypes.MetricDatum{{MetricName: aws.String("m"), Value: aws.Float64(1), Timestamp: aws.Time(now.Add(-15 * 24 * time.Hour))}}})
			return err
		}, "InvalidParameterValue", "two weeks in the past"},
		{"reserved namespace", func() error {
			_, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("AWS/ECS"), MetricData: []cwtypes.MetricDatum{{MetricName: aws.String("m"), Value: aws.Float64(1)}}})
			return err
		}, "InvalidParameterValue", "AWS/ECS"},
		{"values and counts differ", func() error {
			_, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("App"), MetricData: []cwtypes.MetricDatum{{MetricName: aws.String("m"), Values: []float64{1, 2}, Counts: []float64{1}}}})
			return err
		}, "InvalidParameterCombination", "same size"},
		{"bad period", func() error {
			_, err := cw.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{Namespace: aws.String("App"), MetricName: aws.String("m"), StartTime: aws.Time(now.Add(-time.Hour)), EndTime: aws.Time(now), Period: aws.Int32(7), Statistics: []cwtypes.Statistic{"Sum"}})
			return err
		}, "InvalidParameterValue", "multiple of 60"},
		{"too many datapoints", func() error {
			_, err := cw.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{Namespace: aws.String("App"), MetricName: aws.String("m"), StartTime: aws.Time(now.Add(-2 * time.Hour)), EndTime: aws.Time(now), Period: aws.Int32(1), Statistics: []cwtypes.Statistic{"Sum"}})
			return err
		}, "InvalidParameterCombination", "exceeds the limit of 1,440"},
		{"bad expression", func() error {
			_, err := cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{StartTime: aws.Time(now.Add(-time.Hour)), EndTime: aws.Time(now), MetricDataQueries: []cwtypes.MetricDataQuery{{Id: aws.String("e"), Expression: aws.String("nope * 2")}}})
			return err
		}, "InvalidParameterValue", "Unrecognized metric id nope"},
		{"anomaly band", func() error {
			_, err := cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String("a"), Namespace: aws.String("App"), MetricName: aws.String("m"), Statistic: "Average", Period: aws.Int32(60),
				EvaluationPeriods: aws.Int32(1), ComparisonOperator: cwtypes.ComparisonOperatorLessThanLowerOrGreaterThanUpperThreshold, ThresholdMetricId: aws.String("ad1")})
			return err
		}, "InvalidParameterValue", "not supported"},
		{"datapoints to alarm", func() error {
			_, err := cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String("a"), Namespace: aws.String("App"), MetricName: aws.String("m"), Statistic: "Average", Period: aws.Int32(60),
				EvaluationPeriods: aws.Int32(1), DatapointsToAlarm: aws.Int32(2), Threshold: aws.Float64(1), ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold})
			return err
		}, "InvalidParameterValue", "DatapointsToAlarm"},
		{"set state of missing alarm", func() error {
			_, err := cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("ghost"), StateValue: cwtypes.StateValueAlarm, StateReason: aws.String("x")})
			return err
		}, "ResourceNotFound", "ghost"},
		{"model constraint", func() error {
			_, err := cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String("a"), Namespace: aws.String("App"), MetricName: aws.String("m"), Statistic: "Average", Period: aws.Int32(60),
				EvaluationPeriods: aws.Int32(0), Threshold: aws.Float64(1), ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold})
			return err
		}, "InvalidParameterValue", "evaluationPeriods"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.call()
			if err == nil {
				t.Fatal("no error")
			}
			if code := apiCode(t, err); code != c.code || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("got %s: %v; want %s containing %q", code, err, c.code, c.msg)
			}
		})
	}
}

func TestCloudWatchAlarmLifecycle(t *testing.T) {
	clock := newFakeClock()
	env := wharftest.Start(t, func(c *server.Config) { c.Now = clock.Now; c.AlarmTick = 20 * time.Millisecond })
	ctx := context.Background()
	cw := cloudwatch.NewFromConfig(env.Root())
	topic := "arn:aws:sns:us-east-1:" + env.Info.Account + ":ops"
	_, err := cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String("high-cpu"), Namespace: aws.String("App"), MetricName: aws.String("CPU"),
		Dimensions: dims("Service", "web"), Statistic: cwtypes.StatisticAverage, Period: aws.Int32(10), EvaluationPeriods: aws.Int32(2), DatapointsToAlarm: aws.Int32(2),
		Threshold: aws.Float64(80), ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold, TreatMissingData: aws.String("missing"),
		AlarmActions: []string{topic}, Tags: []cwtypes.Tag{{Key: aws.String("team"), Value: aws.String("ops")}}})
	if err != nil {
		t.Fatal(err)
	}
	alarm := func() cwtypes.MetricAlarm {
		t.Helper()
		out, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"high-cpu"}})
		if err != nil || len(out.MetricAlarms) != 1 {
			t.Fatalf("DescribeAlarms = %+v, %v", out, err)
		}
		return out.MetricAlarms[0]
	}
	waitState := func(want cwtypes.StateValue) cwtypes.MetricAlarm {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			a := alarm()
			if a.StateValue == want {
				return a
			}
			if time.Now().After(deadline) {
				t.Fatalf("state %s (%s), want %s", a.StateValue, aws.ToString(a.StateReason), want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if a := alarm(); a.StateValue != cwtypes.StateValueInsufficientData || aws.ToString(a.StateReason) != "Unchecked: Initial alarm creation" {
		t.Fatalf("new alarm: %s %q", a.StateValue, aws.ToString(a.StateReason))
	}

	// Two periods above the threshold: ALARM.
	now := clock.Now().Truncate(10 * time.Second)
	put := func(ts time.Time, v float64) {
		t.Helper()
		_, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("App"), MetricData: []cwtypes.MetricDatum{{MetricName: aws.String("CPU"),
			Dimensions: dims("Service", "web"), Timestamp: aws.Time(ts), Value: aws.Float64(v), StorageResolution: aws.Int32(1)}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	put(now.Add(-10*time.Second), 90.5)
	put(now, 95)
	clock.Advance(10 * time.Second) // the alarm is next due a period after its first evaluation
	a := waitState(cwtypes.StateValueAlarm)
	wantReason := "Threshold Crossed: 2 out of the last 2 datapoints [95.0 (" + now.UTC().Format("02/01/06 15:04:05") + "), 90.5 (" + now.Add(-10*time.Second).UTC().Format("02/01/06 15:04:05") +
		")] were greater than the threshold (80.0) (minimum 2 datapoints for INSUFFICIENT_DATA -> ALARM transition)."
	if aws.ToString(a.StateReason) != wantReason {
		t.Errorf("reason\n got %q\nwant %q", aws.ToString(a.StateReason), wantReason)
	}

	// SetAlarmState holds until the next evaluation, a period later.
	if _, err := cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("high-cpu"), StateValue: cwtypes.StateValueOk, StateReason: aws.String("testing")}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // several ticks: the alarm is not due yet
	if a := alarm(); a.StateValue != cwtypes.StateValueOk || aws.ToString(a.StateReason) != "testing" {
		t.Fatalf("after SetAlarmState: %s %q", a.StateValue, aws.ToString(a.StateReason))
	}
	clock.Advance(5 * time.Second) // same periods, data still breaching
	put(clock.Now(), 97)
	clock.Advance(5 * time.Second)
	waitState(cwtypes.StateValueAlarm)

	// History: creation, three transitions, and a failed SNS action per ALARM.
	h, err := cw.DescribeAlarmHistory(ctx, &cloudwatch.DescribeAlarmHistoryInput{AlarmName: aws.String("high-cpu")})
	if err != nil {
		t.Fatal(err)
	}
	var summaries []string
	for _, it := range h.AlarmHistoryItems {
		summaries = append(summaries, string(it.HistoryItemType)+": "+aws.ToString(it.HistorySummary))
	}
	joined := strings.Join(summaries, "\n")
	for _, w := range []string{
		`ConfigurationUpdate: Alarm "high-cpu" created`,
		"StateUpdate: Alarm updated from INSUFFICIENT_DATA to ALARM",
		"StateUpdate: Alarm updated from ALARM to OK",
		"StateUpdate: Alarm updated from OK to ALARM",
		"Action: Failed to execute action " + topic,
	} {
		if !strings.Contains(joined, w) {
			t.Errorf("history lacks %q:\n%s", w, joined)
		}
	}
	if !strings.HasPrefix(summaries[0], "Action") && !strings.HasPrefix(summaries[0], "StateUpdate: Alarm updated from OK to ALARM") {
		t.Errorf("history is not newest first:\n%s", joined)
	}
	su, err := cw.DescribeAlarmHistory(ctx, &cloudwatch.DescribeAlarmHistoryInput{HistoryItemType: cwtypes.HistoryItemTypeStateUpdate, ScanBy: cwtypes.ScanByTimestampAscending, MaxRecords: aws.Int32(2)})
	if err != nil || len(su.AlarmHistoryItems) != 2 || su.NextToken == nil || aws.ToString(su.AlarmHistoryItems[0].HistorySummary) != "Alarm updated from INSUFFICIENT_DATA to ALARM" {
		t.Fatalf("state updates ascending: %+v, %v", su, err)
	}

	// Describe filters, tags, disable/enable, for-metric, delete.
	if out, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{StateValue: cwtypes.StateValueOk}); err != nil || len(out.MetricAlarms) != 0 {
		t.Fatalf("by state OK: %+v %v", out, err)
	}
	if out, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{ActionPrefix: aws.String("arn:aws:sns:")}); err != nil || len(out.MetricAlarms) != 1 {
		t.Fatalf("by action prefix: %+v %v", out, err)
	}
	if out, err := cw.DescribeAlarmsForMetric(ctx, &cloudwatch.DescribeAlarmsForMetricInput{Namespace: aws.String("App"), MetricName: aws.String("CPU"), Dimensions: dims("Service", "web")}); err != nil || len(out.MetricAlarms) != 1 {
		t.Fatalf("for metric: %+v %v", out, err)
	}
	tags, err := cw.ListTagsForResource(ctx, &cloudwatch.ListTagsForResourceInput{ResourceARN: a.AlarmArn})
	if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Value) != "ops" {
		t.Fatalf("tags: %+v %v", tags, err)
	}
	if _, err := cw.DisableAlarmActions(ctx, &cloudwatch.DisableAlarmActionsInput{AlarmNames: []string{"high-cpu"}}); err != nil {
		t.Fatal(err)
	}
	if a := alarm(); aws.ToBool(a.ActionsEnabled) {
		t.Fatal("actions still enabled")
	}
	if _, err := cw.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{"high-cpu", "ghost"}}); apiCode(t, err) != "ResourceNotFound" {
		t.Fatalf("delete with a missing alarm: %v", err)
	}
	if _, err := cw.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{"high-cpu"}}); err != nil {
		t.Fatal(err)
	}
	if out, _ := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{}); len(out.MetricAlarms) != 0 {
		t.Fatalf("alarm not deleted: %+v", out.MetricAlarms)
	}
}

func TestCloudWatchMetricsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	env := wharftest.Start(t, func(c *server.Config) { c.DataDir = dir })
	ctx := context.Background()
	cw := cloudwatch.NewFromConfig(env.Root())
	ts := time.Now().UTC().Truncate(time.Minute)
	for i := range 3 {
		if _, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("App"), MetricData: []cwtypes.MetricDatum{{MetricName: aws.String("Jobs"), Value: aws.Float64(float64(i + 1)), Timestamp: aws.Time(ts)}}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := env.Server.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	env2 := wharftest.Start(t, func(c *server.Config) {
		c.DataDir = dir
		c.RootAccessKeyID, c.RootSecretAccessKey = env.Info.AccessKeyID, env.Info.SecretAccessKey
	})
	cw = cloudwatch.NewFromConfig(env2.Root())
	// And once more, so both the snapshot and a new log are read.
	if _, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("App"), MetricData: []cwtypes.MetricDatum{{MetricName: aws.String("Jobs"), Value: aws.Float64(4), Timestamp: aws.Time(ts)}}}); err != nil {
		t.Fatal(err)
	}
	st, err := cw.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{Namespace: aws.String("App"), MetricName: aws.String("Jobs"),
		StartTime: aws.Time(ts), EndTime: aws.Time(ts.Add(time.Minute)), Period: aws.Int32(60), Statistics: []cwtypes.Statistic{"Sum", "SampleCount"}})
	if err != nil || len(st.Datapoints) != 1 || aws.ToFloat64(st.Datapoints[0].Sum) != 10 || aws.ToFloat64(st.Datapoints[0].SampleCount) != 4 {
		t.Fatalf("after restart: %+v, %v", st, err)
	}
}

// PutMetricData requests are limited to 1 MB as sent, as in CloudWatch:
// larger ones get RequestEntityTooLarge (413), smaller ones are stored. The
// SDK gzips bodies it sends (over 10 KiB); the test turns that off once to
// send a body over the limit, and checks the same data gzipped is accepted.
func TestCloudWatchPutMetricDataSizeLimit(t *testing.T) {
	env := wharftest.Start(t)
	ctx := context.Background()
	data := func(valueLen int) []cwtypes.MetricDatum {
		var md []cwtypes.MetricDatum
		for i := range 1000 {
			v := fmt.Sprintf("%04d%s", i, strings.Repeat("v", valueLen-4))
			md = append(md, cwtypes.MetricDatum{MetricName: aws.String("big"), Value: aws.Float64(1), Dimensions: dims("d", v)})
		}
		return md
	}
	plain := cloudwatch.NewFromConfig(env.Root(), func(o *cloudwatch.Options) { o.DisableRequestCompression = true })
	_, err := plain.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("App"), MetricData: data(1024)})
	var re *smithyhttp.ResponseError
	if err == nil || apiCode(t, err) != "RequestEntityTooLarge" || !errors.As(err, &re) || re.HTTPStatusCode() != 413 || !strings.Contains(err.Error(), "exceeded 1048576 bytes") {
		t.Fatalf("1000 datapoints with 1 KiB dimension values, uncompressed: got %v, want RequestEntityTooLarge (413)", err)
	}
	if _, err := plain.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("App"), MetricData: data(512)}); err != nil {
		t.Fatalf("≈ 0.6 MB uncompressed: %v", err)
	}
	gz := cloudwatch.NewFromConfig(env.Root())
	if _, err := gz.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("App"), MetricData: data(1024)}); err != nil {
		t.Fatalf("the same 1 MB+ of data gzipped: %v", err)
	}
	out, err := gz.ListMetrics(ctx, &cloudwatch.ListMetricsInput{Namespace: aws.String("App"), MetricName: aws.String("big")})
	if err != nil || len(out.Metrics) != 500 || out.NextToken == nil {
		t.Fatalf("ListMetrics: %d metrics (want a first page of 500 of 2,000), %v", len(out.Metrics), err)
	}
}
