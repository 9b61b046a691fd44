package cloudwatch

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/wharfhq/wharf/api/cloudwatchapi"
	"github.com/wharfhq/wharf/internal/cloudwatch/metricmath"
	"github.com/wharfhq/wharf/internal/cloudwatch/tsdb"
	"github.com/wharfhq/wharf/internal/errs"
)

// Limits of GetMetricData.
const (
	maxQueries          = 500
	defaultMaxDataponts = 100800
)

var queryID = regexp.MustCompile(`^[a-z][a-zA-Z0-9_]*$`)

// plannedQuery is one checked MetricDataQuery.
type plannedQuery struct {
	q      cloudwatchapi.MetricDataQuery
	id     string
	metric tsdb.Metric // MetricStat queries
	expr   metricmath.Node
	period int64
	ret    bool
}

type queryPlan struct {
	queries []*plannedQuery
	byID    map[string]*plannedQuery
	period  int64 // the period of expressions that give none
}

// planQueries checks queries (Ids, one of MetricStat and Expression,
// periods, statistics, expression syntax and references, no cycles).
// defaultPeriod is the period of expressions without one (0: the smallest
// metric period).
func planQueries(qs []cloudwatchapi.MetricDataQuery, defaultPeriod int64) (*queryPlan, error) {
	if len(qs) == 0 {
		return nil, errs.New(ErrMissingParameter, "The parameter MetricDataQueries is required.")
	}
	if len(qs) > maxQueries {
		return nil, invalid("The collection MetricDataQueries must not have a size greater than %d.", maxQueries)
	}
	p := &queryPlan{byID: map[string]*plannedQuery{}}
	for i, q := range qs {
		pq := &plannedQuery{q: q, id: deref(q.Id), ret: q.ReturnData == nil || *q.ReturnData}
		where := fmt.Sprintf("MetricDataQueries.member.%d", i+1)
		if !queryID.MatchString(pq.id) {
			return nil, invalid("The value %s for parameter %s.Id is invalid: it must start with a lowercase letter and contain only letters, numbers and underscores.", pq.id, where)
		}
		if p.byID[pq.id] != nil {
			return nil, invalid("The value %s for parameter %s.Id is a duplicate; Ids must be unique.", pq.id, where)
		}
		if (q.MetricStat == nil) == (q.Expression == nil) {
			return nil, errs.New(ErrInvalidParameterCombination, "%s must have exactly one of MetricStat and Expression.", where)
		}
		if ms := q.MetricStat; ms != nil {
			if ms.Metric == nil {
				return nil, errs.New(ErrMissingParameter, "The parameter %s.MetricStat.Metric is required.", where)
			}
			m, err := metricOf(deref(ms.Metric.Namespace), deref(ms.Metric.MetricName), ms.Metric.Dimensions)
			if err != nil {
				return nil, err
			}
			pq.metric = m
			pq.period = int64(deref(ms.Period))
			if err := checkPeriod(pq.period, where+".MetricStat.Period"); err != nil {
				return nil, err
			}
			if _, ok := statValue(tsdb.Stats{}, deref(ms.Stat)); !ok {
				return nil, invalid("The value %s for parameter %s.MetricStat.Stat is invalid (Wharf computes SampleCount, Average, Sum, Minimum, Maximum and percentiles pNN).", deref(ms.Stat), where)
			}
			if p.period == 0 || pq.period < p.period {
				p.period = pq.period
			}
		} else {
			n, err := metricmath.Parse(*q.Expression)
			if err != nil {
				return nil, invalid("%s: %s", where+".Expression", err.Error())
			}
			pq.expr = n
			if q.Period != nil {
				pq.period = int64(*q.Period)
				if err := checkPeriod(pq.period, where+".Period"); err != nil {
					return nil, err
				}
			}
		}
		p.queries = append(p.queries, pq)
		p.byID[pq.id] = pq
	}
	if defaultPeriod > 0 {
		p.period = defaultPeriod
	}
	if p.period == 0 {
		p.period = 60
	}
	// References exist and form no cycle.
	state := map[string]int{}
	var visit func(id string) error
	visit = func(id string) error {
		switch state[id] {
		case 1:
			return invalid("Circular dependency between metric queries at Id %s.", id)
		case 2:
			return nil
		}
		state[id] = 1
		pq := p.byID[id]
		if pq.expr != nil {
			refs, _ := metricmath.Refs(pq.expr)
			for _, r := range refs {
				if p.byID[r] == nil {
					return invalid("Error in expression '%s': Unrecognized metric id %s.", deref(pq.q.Expression), r)
				}
				if err := visit(r); err != nil {
					return err
				}
			}
		}
		state[id] = 2
		return nil
	}
	for _, pq := range p.queries {
		if err := visit(pq.id); err != nil {
			return nil, err
		}
		if pq.expr != nil && pq.period == 0 {
			pq.period = p.period
		}
	}
	return p, nil
}

// queryResult is one evaluated query result (an array expression gives
// several).
type queryResult struct {
	id    string
	label string
	s     metricmath.Series
}

// run evaluates a plan over [start, end) and returns the results of the
// queries that return data, in request order.
func (s *Service) run(tn tsdb.Tenant, p *queryPlan, start, end time.Time, all bool) ([]queryResult, error) {
	now := s.now()
	values := map[string]metricmath.Value{}
	var lookup func(id string) (metricmath.Value, error)
	metricSeries := func(pq *plannedQuery) metricmath.Series {
		from := alignStart(start, pq.period, now)
		bs := s.db.Get(tn, tsdb.Query{Metric: pq.metric, Unit: deref(pq.q.MetricStat.Unit), Start: from, End: end.Unix(), Period: pq.period})
		ser := metricmath.Series{Label: labelOf(pq), T: make([]int64, 0, len(bs)), V: make([]float64, 0, len(bs))}
		for _, b := range bs {
			v, _ := statValue(b.Stats, *pq.q.MetricStat.Stat)
			ser.T, ser.V = append(ser.T, b.T), append(ser.V, v)
		}
		return ser
	}
	lookup = func(id string) (metricmath.Value, error) {
		if v, ok := values[id]; ok {
			return v, nil
		}
		pq := p.byID[id]
		var v metricmath.Value
		if pq.expr == nil {
			v = metricmath.SeriesValue(metricSeries(pq))
		} else {
			env := &metricmath.Env{Lookup: lookup, Start: alignStart(start, pq.period, now), End: end.Unix(), Period: pq.period,
				Metrics: func(filter string) []metricmath.Series {
					var out []metricmath.Series
					for _, q := range p.queries {
						if q.expr == nil && strings.Contains(q.id, filter) {
							mv, _ := lookup(q.id)
							out = append(out, mv.Series...)
						}
					}
					return out
				}}
			var err error
			v, err = metricmath.Eval(pq.expr, env)
			if err != nil {
				return v, invalid("Error in expression '%s': %s", deref(pq.q.Expression), err.Error())
			}
			if v.Kind == metricmath.KindScalar {
				v = metricmath.SeriesValue(metricmath.Broadcast(v.Scalar, env))
			}
		}
		values[id] = v
		return v, nil
	}
	var out []queryResult
	for _, pq := range p.queries {
		if !pq.ret && !all {
			continue
		}
		v, err := lookup(pq.id)
		if err != nil {
			return nil, err
		}
		for _, ser := range v.Series {
			label := labelOf(pq)
			if len(v.Series) > 1 && ser.Label != "" {
				label = ser.Label
			}
			// Metric math can make NaN or ±Inf (0/0, x/0); CloudWatch drops them.
			clean := metricmath.Series{}
			for k, x := range ser.V {
				if !math.IsNaN(x) && !math.IsInf(x, 0) {
					clean.T, clean.V = append(clean.T, ser.T[k]), append(clean.V, x)
				}
			}
			out = append(out, queryResult{id: pq.id, label: label, s: clean})
		}
	}
	return out, nil
}

func labelOf(pq *plannedQuery) string {
	if pq.q.Label != nil {
		return *pq.q.Label
	}
	if pq.expr == nil {
		return pq.metric.Name
	}
	return pq.id
}

// GetMetricData evaluates metric queries and metric math over a time
// range, a page of MaxDatapoints at a time.
func (s *Service) GetMetricData(ctx context.Context, in *cloudwatchapi.GetMetricDataInput) (*cloudwatchapi.GetMetricDataOutput, error) {
	tn, err := tenantOf(ctx)
	if err != nil {
		return nil, err
	}
	start, end := deref(in.StartTime), deref(in.EndTime)
	if !start.Before(end) {
		return nil, invalid("The parameter StartTime must be less than the parameter EndTime.")
	}
	plan, err := planQueries(in.MetricDataQueries, 0)
	if err != nil {
		return nil, err
	}
	maxPts := int(deref(in.MaxDatapoints))
	if maxPts <= 0 {
		maxPts = defaultMaxDataponts
	}
	offset := 0
	if in.NextToken != nil {
		tok, err := decodeToken(*in.NextToken)
		if err == nil {
			offset, err = strconv.Atoi(tok)
		}
		if err != nil || offset < 0 {
			return nil, errs.New(ErrInvalidNextToken, "The service couldn't process your request because the NextToken is invalid.")
		}
	}
	results, err := s.run(tn, plan, start, end, false)
	if err != nil {
		return nil, err
	}
	asc := deref(in.ScanBy) == "TimestampAscending"
	out := &cloudwatchapi.GetMetricDataOutput{MetricDataResults: []cloudwatchapi.MetricDataResult{}, Messages: []cloudwatchapi.MessageData{}}
	pos, budget := 0, maxPts
	for _, r := range results {
		n := len(r.s.T)
		idx := make([]int, 0, n)
		for k := 0; k < n; k++ {
			if asc {
				idx = append(idx, k)
			} else {
				idx = append(idx, n-1-k)
			}
		}
		// skip what earlier pages returned
		skip := min(max(offset-pos, 0), n)
		pos += n
		idx = idx[skip:]
		take := min(len(idx), budget)
		budget -= take
		id, label := r.id, r.label
		res := cloudwatchapi.MetricDataResult{Id: &id, Label: &label, Timestamps: make([]time.Time, 0, take), Values: make([]float64, 0, take),
			Messages: []cloudwatchapi.MessageData{}}
		for _, k := range idx[:take] {
			res.Timestamps = append(res.Timestamps, time.Unix(r.s.T[k], 0).UTC())
			res.Values = append(res.Values, r.s.V[k])
		}
		status := "Complete"
		if take < len(idx) {
			status = "PartialData"
		}
		res.StatusCode = &status
		out.MetricDataResults = append(out.MetricDataResults, res)
	}
	if consumed := offset + (maxPts - budget); consumed < pos {
		tok := encodeToken(strconv.Itoa(consumed))
		out.NextToken = &tok
	}
	return out, nil
}
