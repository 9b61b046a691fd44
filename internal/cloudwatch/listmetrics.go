package cloudwatch

import (
	"context"
	"encoding/base64"
	"sort"
	"time"

	"github.com/wharfhq/wharf/api/cloudwatchapi"
	"github.com/wharfhq/wharf/internal/cloudwatch/tsdb"
	"github.com/wharfhq/wharf/internal/errs"
)

// listPage is how many metrics ListMetrics returns per page, as CloudWatch.
const listPage = 500

// ListMetrics lists the metrics with data in the last two weeks (or the
// last three hours with RecentlyActive PT3H), filtered by namespace, name
// and dimensions.
func (s *Service) ListMetrics(ctx context.Context, in *cloudwatchapi.ListMetricsInput) (*cloudwatchapi.ListMetricsOutput, error) {
	tn, err := tenantOf(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now()
	since := now.Add(-maxPastAge).Unix()
	if in.RecentlyActive != nil {
		if *in.RecentlyActive != "PT3H" {
			return nil, invalid("The value %s for parameter RecentlyActive is invalid.", *in.RecentlyActive)
		}
		since = now.Add(-3 * time.Hour).Unix()
	}
	after := ""
	if in.NextToken != nil {
		b, err := base64.RawURLEncoding.DecodeString(*in.NextToken)
		if err != nil || len(b) == 0 {
			return nil, errs.New(ErrInvalidNextToken, "The service couldn't process your request because the NextToken is invalid.")
		}
		after = string(b)
	}
	all := s.db.Metrics(tn)
	i := 0
	if after != "" {
		i = sort.Search(len(all), func(i int) bool { return all[i].ID() > after })
	}
	out := &cloudwatchapi.ListMetricsOutput{Metrics: []cloudwatchapi.Metric{}}
	last := ""
	for ; i < len(all); i++ {
		mi := all[i]
		if mi.Last < since || !matchMetric(mi.Metric, in) {
			continue
		}
		if len(out.Metrics) == listPage {
			tok := base64.RawURLEncoding.EncodeToString([]byte(last))
			out.NextToken = &tok
			break
		}
		out.Metrics = append(out.Metrics, apiMetric(mi.Metric))
		last = mi.ID()
	}
	return out, nil
}

func matchMetric(m tsdb.Metric, in *cloudwatchapi.ListMetricsInput) bool {
	if in.Namespace != nil && *in.Namespace != m.Namespace {
		return false
	}
	if in.MetricName != nil && *in.MetricName != m.Name {
		return false
	}
	for _, f := range in.Dimensions {
		found := false
		for _, d := range m.Dims {
			if d.Name == deref(f.Name) && (f.Value == nil || *f.Value == d.Value) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func apiMetric(m tsdb.Metric) cloudwatchapi.Metric {
	out := cloudwatchapi.Metric{Namespace: &m.Namespace, MetricName: &m.Name, Dimensions: []cloudwatchapi.Dimension{}}
	for _, d := range m.Dims {
		out.Dimensions = append(out.Dimensions, cloudwatchapi.Dimension{Name: &d.Name, Value: &d.Value})
	}
	return out
}
