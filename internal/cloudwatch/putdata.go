package cloudwatch

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/wharfhq/wharf/api/cloudwatchapi"
	"github.com/wharfhq/wharf/internal/cloudwatch/tsdb"
	"github.com/wharfhq/wharf/internal/errs"
	"github.com/wharfhq/wharf/internal/wire"
)

// Limits of PutMetricData, as CloudWatch sets them.
const (
	maxMetricData    = 1000
	maxDistinctValue = 150
	maxPastAge       = 14 * 24 * time.Hour
	maxFutureSkew    = 2 * time.Hour
	// CloudWatch rejects values whose magnitude is outside [2^-360, 2^360].
	minMagnitude = 8.515920e-109
	maxMagnitude = 1.174271e+108
)

// PutMetricData stores datapoints. Namespaces starting with "AWS/" are
// reserved for Wharf's own publishers (Publish).
func (s *Service) PutMetricData(ctx context.Context, in *cloudwatchapi.PutMetricDataInput) (*wire.Empty, error) {
	ns := deref(in.Namespace)
	if strings.HasPrefix(ns, "AWS/") {
		return nil, invalid("The value %s for parameter Namespace is invalid.", ns)
	}
	if len(in.EntityMetricData) > 0 {
		return nil, invalid("EntityMetricData is not supported by Wharf; use MetricData.")
	}
	if len(in.MetricData) == 0 {
		return nil, errs.New(ErrMissingParameter, "The parameter MetricData is required.")
	}
	if len(in.MetricData) > maxMetricData {
		return nil, invalid("The collection MetricData must not have a size greater than %d.", maxMetricData)
	}
	now := s.now()
	data := make([]tsdb.Datum, 0, len(in.MetricData))
	for i := range in.MetricData {
		d, err := datum(ns, &in.MetricData[i], i+1, now)
		if err != nil {
			return nil, err
		}
		data = append(data, d)
	}
	if err := s.put(ctx, data); err != nil {
		return nil, err
	}
	s.ingest.api.Add(int64(len(data)))
	return &wire.Empty{}, nil
}

// Publish stores datapoints Wharf itself produces (AWS/ECS and the like),
// without the reserved-namespace check of PutMetricData.
func (s *Service) Publish(ctx context.Context, data []tsdb.Datum) error {
	for i := range data {
		tsdb.SortDims(data[i].Dims)
		if data[i].Unit == "" {
			data[i].Unit = "None"
		}
		if data[i].Res == 0 {
			data[i].Res = 60
		}
	}
	if err := s.put(ctx, data); err != nil {
		return err
	}
	s.ingest.wharf.Add(int64(len(data)))
	return nil
}

func (s *Service) put(ctx context.Context, data []tsdb.Datum) error {
	tn, err := tenantOf(ctx)
	if err != nil {
		return err
	}
	err = s.db.Add(tn, data)
	if errors.Is(err, tsdb.ErrTooManySeries) {
		return errs.New(ErrLimitExceeded, "This Wharf keeps no more metrics (%s); old metrics free room when their data expires.", err.Error())
	}
	return err
}

// datum checks one MetricDatum (n is its 1-based position, for messages)
// and turns it into a statistic set.
func datum(ns string, md *cloudwatchapi.MetricDatum, n int, now time.Time) (tsdb.Datum, error) {
	p := fmt.Sprintf("MetricData.member.%d", n)
	d := tsdb.Datum{Metric: tsdb.Metric{Namespace: ns, Name: deref(md.MetricName)}, Unit: "None", Res: 60}
	if d.Name == "" {
		return d, errs.New(ErrMissingParameter, "The parameter %s.MetricName is required.", p)
	}
	if md.Unit != nil {
		d.Unit = *md.Unit
	}
	if md.StorageResolution != nil {
		switch *md.StorageResolution {
		case 1, 60:
			d.Res = int64(*md.StorageResolution)
		default:
			return d, invalid("The value %d for parameter %s.StorageResolution is invalid.", *md.StorageResolution, p)
		}
	}
	ts := now
	if md.Timestamp != nil {
		ts = *md.Timestamp
		if ts.Before(now.Add(-maxPastAge)) {
			return d, invalid("The parameter %s.Timestamp must specify a time no more than two weeks in the past.", p)
		}
		if ts.After(now.Add(maxFutureSkew)) {
			return d, invalid("The parameter %s.Timestamp must specify a time no more than two hours in the future.", p)
		}
	}
	d.T = ts.Unix()
	seen := map[string]bool{}
	for j, dim := range md.Dimensions {
		name, value := deref(dim.Name), deref(dim.Value)
		if name == "" || value == "" {
			return d, errs.New(ErrMissingParameter, "The parameter %s.Dimensions.member.%d.%s is required.", p, j+1, map[bool]string{true: "Name", false: "Value"}[name == ""])
		}
		if seen[name] {
			return d, invalid("The value %s for parameter %s.Dimensions.member.%d.Name is a duplicate; dimension names must be unique.", name, p, j+1)
		}
		seen[name] = true
		d.Dims = append(d.Dims, tsdb.Dim{Name: name, Value: value})
	}
	tsdb.SortDims(d.Dims)

	forms := 0
	for _, set := range []bool{md.Value != nil, len(md.Values) > 0, md.StatisticValues != nil} {
		if set {
			forms++
		}
	}
	if forms > 1 {
		return d, errs.New(ErrInvalidParameterCombination, "The parameters %s.Value, %s.Values and %s.StatisticValues are mutually exclusive and you have specified more than one.", p, p, p)
	}
	switch {
	case md.Value != nil:
		if err := checkValue(*md.Value, p+".Value"); err != nil {
			return d, err
		}
		d.Stats.Observe(*md.Value, 1)
	case len(md.Values) > 0:
		if len(md.Counts) > 0 && len(md.Counts) != len(md.Values) {
			return d, errs.New(ErrInvalidParameterCombination, "The parameters %s.Values and %s.Counts must be of the same size.", p, p)
		}
		if len(md.Values) > maxDistinctValue {
			return d, invalid("The collection %s.Values must not have a size greater than %d.", p, maxDistinctValue)
		}
		for k, v := range md.Values {
			if err := checkValue(v, fmt.Sprintf("%s.Values.member.%d", p, k+1)); err != nil {
				return d, err
			}
			c := 1.0
			if len(md.Counts) > 0 {
				c = md.Counts[k]
				if math.IsNaN(c) || c < 0 || math.IsInf(c, 0) {
					return d, invalid("The value %v for parameter %s.Counts.member.%d is invalid.", c, p, k+1)
				}
				if c == 0 {
					continue
				}
			}
			d.Stats.Observe(v, c)
		}
		if d.Count == 0 {
			return d, invalid("The parameter %s.Counts must contain a positive count.", p)
		}
	case md.StatisticValues != nil:
		sv := md.StatisticValues
		if sv.SampleCount == nil || sv.Sum == nil || sv.Minimum == nil || sv.Maximum == nil {
			return d, errs.New(ErrMissingParameter, "The parameters %s.StatisticValues.SampleCount, Sum, Minimum and Maximum are all required.", p)
		}
		for name, v := range map[string]float64{"Sum": *sv.Sum, "Minimum": *sv.Minimum, "Maximum": *sv.Maximum} {
			if err := checkValue(v, p+".StatisticValues."+name); err != nil {
				return d, err
			}
		}
		if !(*sv.SampleCount > 0) || math.IsInf(*sv.SampleCount, 0) {
			return d, invalid("The value %v for parameter %s.StatisticValues.SampleCount is invalid; it must be positive.", *sv.SampleCount, p)
		}
		if *sv.Minimum > *sv.Maximum {
			return d, invalid("The parameter %s.StatisticValues.Minimum must not be greater than %s.StatisticValues.Maximum.", p, p)
		}
		d.Stats = tsdb.Stats{Count: *sv.SampleCount, Sum: *sv.Sum, Min: *sv.Minimum, Max: *sv.Maximum}
	default:
		return d, errs.New(ErrMissingParameter, "The parameter %s.Value is required.", p)
	}
	return d, nil
}

func checkValue(v float64, name string) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return invalid("The value %v for parameter %s is invalid.", v, name)
	}
	if a := math.Abs(v); a != 0 && (a < minMagnitude || a > maxMagnitude) {
		return invalid("The value %v for parameter %s is invalid; its magnitude must be between 8.515920e-109 and 1.174271e+108.", v, name)
	}
	return nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
