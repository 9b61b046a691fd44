package cloudwatch

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"time"

	"github.com/wharfhq/wharf/api/cloudwatchapi"
	"github.com/wharfhq/wharf/internal/cloudwatch/tsdb"
	"github.com/wharfhq/wharf/internal/errs"
)

// maxDatapoints is GetMetricStatistics' limit on periods per call.
const maxDatapoints = 1440

// percentileRE matches the percentile statistics Wharf computes: p0–p100
// with up to two decimals (p99, p99.9, p50).
var percentileRE = regexp.MustCompile(`^p(100|[0-9]{1,2}(\.[0-9]{1,2})?)$`)

// statValue returns statistic name of a bucket's statistic set; ok is
// false for a name Wharf does not compute. A percentile of data sent only
// as statistic sets is NaN (no value).
func statValue(st tsdb.Stats, name string) (float64, bool) {
	if percentileRE.MatchString(name) {
		p, _ := strconv.ParseFloat(name[1:], 64)
		return st.Percentile(p), true
	}
	switch name {
	case "SampleCount":
		return st.Count, true
	case "Sum":
		return st.Sum, true
	case "Average":
		return st.Sum / st.Count, true
	case "Minimum":
		return st.Min, true
	case "Maximum":
		return st.Max, true
	}
	return 0, false
}

// checkPeriod enforces CloudWatch's periods: 1, 5, 10, 30 or a multiple of 60.
func checkPeriod(p int64, param string) error {
	switch {
	case p <= 0:
		return invalid("The parameter %s must be greater than 0.", param)
	case p == 1 || p == 5 || p == 10 || p == 30 || p%60 == 0:
		return nil
	}
	return invalid("The parameter %s must be 1, 5, 10, 30, or a multiple of 60.", param)
}

// alignStart rounds a query start down as CloudWatch does: to the period
// for high-resolution periods, else to the minute, to 5 minutes past 15
// days and to the hour past 63 days.
func alignStart(start time.Time, period int64, now time.Time) int64 {
	t := start.Unix()
	step := int64(60)
	switch age := now.Sub(start); {
	case period < 60:
		step = period
	case age > 63*24*time.Hour:
		step = 3600
	case age > 15*24*time.Hour:
		step = 300
	}
	return t - mod(t, step)
}

func mod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}

// GetMetricStatistics answers statistics of one metric per period.
func (s *Service) GetMetricStatistics(ctx context.Context, in *cloudwatchapi.GetMetricStatisticsInput) (*cloudwatchapi.GetMetricStatisticsOutput, error) {
	tn, err := tenantOf(ctx)
	if err != nil {
		return nil, err
	}
	period := int64(deref(in.Period))
	if err := checkPeriod(period, "Period"); err != nil {
		return nil, err
	}
	if len(in.Statistics) == 0 && len(in.ExtendedStatistics) == 0 {
		return nil, errs.New(ErrMissingParameter, "Must specify either Statistics or ExtendedStatistics.")
	}
	if len(in.Statistics) > 0 && len(in.ExtendedStatistics) > 0 {
		return nil, errs.New(ErrInvalidParameterCombination, "Statistics and ExtendedStatistics cannot both be specified.")
	}
	for _, x := range in.ExtendedStatistics {
		if !percentileRE.MatchString(x) {
			return nil, invalid("The value %s for parameter ExtendedStatistics is invalid (Wharf computes percentiles p0 to p100).", x)
		}
	}
	start, end := deref(in.StartTime), deref(in.EndTime)
	if !start.Before(end) {
		return nil, invalid("The parameter StartTime must be less than the parameter EndTime.")
	}
	now := s.now()
	from := alignStart(start, period, now)
	if n := (end.Unix() - from + period - 1) / period; n > maxDatapoints {
		return nil, errs.New(ErrInvalidParameterCombination, "You have requested up to %s datapoints, which exceeds the limit of 1,440. You may reduce the datapoints requested by increasing Period, or decreasing the time range.", thousands(n))
	}
	m, err := metricOf(deref(in.Namespace), deref(in.MetricName), in.Dimensions)
	if err != nil {
		return nil, err
	}
	buckets := s.db.Get(tn, tsdb.Query{Metric: m, Unit: deref(in.Unit), Start: from, End: end.Unix(), Period: period})
	out := &cloudwatchapi.GetMetricStatisticsOutput{Label: in.MetricName, Datapoints: []cloudwatchapi.Datapoint{}}
	for _, b := range buckets {
		ts := time.Unix(b.T, 0).UTC()
		unit := b.Unit
		if unit == "" {
			unit = "None"
		}
		dp := cloudwatchapi.Datapoint{Timestamp: &ts, Unit: &unit}
		for _, x := range in.ExtendedStatistics {
			if v, _ := statValue(b.Stats, x); !math.IsNaN(v) {
				if dp.ExtendedStatistics == nil {
					dp.ExtendedStatistics = map[string]float64{}
				}
				dp.ExtendedStatistics[x] = v
			}
		}
		if len(in.ExtendedStatistics) > 0 && dp.ExtendedStatistics == nil {
			continue // only statistic sets in this period: no percentile
		}
		for _, name := range in.Statistics {
			v, ok := statValue(b.Stats, name)
			if !ok {
				return nil, invalid("The value %s for parameter Statistics is invalid.", name)
			}
			switch name {
			case "SampleCount":
				dp.SampleCount = &v
			case "Sum":
				dp.Sum = &v
			case "Average":
				dp.Average = &v
			case "Minimum":
				dp.Minimum = &v
			case "Maximum":
				dp.Maximum = &v
			}
		}
		out.Datapoints = append(out.Datapoints, dp)
	}
	return out, nil
}

// metricOf checks a metric's identity given in a request.
func metricOf(ns, name string, dims []cloudwatchapi.Dimension) (tsdb.Metric, error) {
	m := tsdb.Metric{Namespace: ns, Name: name}
	if ns == "" {
		return m, errs.New(ErrMissingParameter, "The parameter Namespace is required.")
	}
	if name == "" {
		return m, errs.New(ErrMissingParameter, "The parameter MetricName is required.")
	}
	for i, d := range dims {
		if d.Name == nil || d.Value == nil {
			return m, errs.New(ErrMissingParameter, "The parameter Dimensions.member.%d.Name and Value are required.", i+1)
		}
		m.Dims = append(m.Dims, tsdb.Dim{Name: *d.Name, Value: *d.Value})
	}
	tsdb.SortDims(m.Dims)
	return m, nil
}

func thousands(n int64) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
