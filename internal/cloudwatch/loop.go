package cloudwatch

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/wharfhq/wharf/api/cloudwatchapi"
	"github.com/wharfhq/wharf/internal/cloudwatch/tsdb"
	"github.com/wharfhq/wharf/internal/store"
)

// maintenanceEvery is how often the loop expires old buckets, checkpoints
// the time-series store and sweeps old alarm history.
const maintenanceEvery = 5 * time.Minute

// Start runs the alarm evaluation loop until Stop.
func (s *Service) Start(ctx context.Context) {
	ctx, s.cancel = context.WithCancel(ctx)
	s.done = make(chan struct{})
	go func() {
		defer close(s.done)
		t := time.NewTicker(s.tick)
		defer t.Stop()
		lastMaint := s.now()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			now := s.now()
			if err := s.EvaluateAlarms(ctx, now); err != nil && ctx.Err() == nil {
				s.log.Error("cloudwatch: evaluate alarms", "err", err)
			}
			if now.Sub(lastMaint) >= maintenanceEvery {
				lastMaint = now
				s.maintain(ctx, now)
			}
		}
	}()
}

// Stop ends the loop and waits for it.
func (s *Service) Stop() {
	s.stopOnce.Do(func() {
		if s.cancel != nil {
			s.cancel()
			<-s.done
		}
	})
}

func (s *Service) maintain(ctx context.Context, now time.Time) {
	n := s.db.Expire(now)
	if err := s.db.Checkpoint(); err != nil {
		s.log.Error("cloudwatch: checkpoint metrics", "err", err)
	}
	swept := 0
	err := tenants.ForEach(ctx, s.st, func(ctx context.Context) error {
		return s.st.Update(ctx, func(tx store.Tx) error {
			k, err := sweepHistory(tx, now)
			swept += k
			return err
		})
	})
	if err != nil {
		s.log.Error("cloudwatch: sweep alarm history", "err", err)
	}
	s.log.Debug("cloudwatch maintenance", "expired_buckets", n, "history_items_swept", swept)
}

func (s *Service) markEvaluated(alarmARN string, now time.Time) {
	s.evalMu.Lock()
	s.lastEval[alarmARN] = now
	s.evalMu.Unlock()
}

func (s *Service) forgetEval(alarmARN string) {
	s.evalMu.Lock()
	delete(s.lastEval, alarmARN)
	s.evalMu.Unlock()
}

// due reports whether an alarm of period p is due at now: once per period,
// at most a minute apart. Half a tick of slack keeps the evaluations a
// period apart rather than a period plus up to a tick.
func (s *Service) due(alarmARN string, p time.Duration, now time.Time) bool {
	s.evalMu.Lock()
	defer s.evalMu.Unlock()
	last, ok := s.lastEval[alarmARN]
	return !ok || now.Sub(last) >= min(p, time.Minute)-s.tick/2
}

// EvaluateAlarms evaluates every alarm that is due at now, of every tenant.
func (s *Service) EvaluateAlarms(ctx context.Context, now time.Time) error {
	return tenants.ForEach(ctx, s.st, func(ctx context.Context) error {
		var all []*alarmDoc
		if err := s.st.View(ctx, func(tx store.Tx) (err error) { all, err = listAlarms(tx, ""); return err }); err != nil {
			return err
		}
		tn, err := tenantOf(ctx)
		if err != nil {
			return err
		}
		var errsList []error
		for _, d := range all {
			if err := s.evaluateOne(ctx, tn, d, now); err != nil {
				errsList = append(errsList, err)
			}
		}
		return errors.Join(errsList...)
	})
}

func (s *Service) evaluateOne(ctx context.Context, tn tsdb.Tenant, d *alarmDoc, now time.Time) error {
	a := &d.Alarm
	if !s.due(*a.AlarmArn, alarmPeriod(a), now) {
		return nil
	}
	rule, samples, err := s.ruleAndSamples(tn, d, now)
	if err != nil {
		return err
	}
	s.markEvaluated(*a.AlarmArn, now)
	res := Evaluate(rule, samples, now)
	var tr *transition
	err = s.st.Update(ctx, func(tx store.Tx) error {
		cur, rev, err := getAlarm(tx, *a.AlarmName)
		if err != nil {
			return err
		}
		if deref(cur.Alarm.StateValue) != deref(a.StateValue) || !equalTime(cur.Alarm.AlarmConfigurationUpdatedTimestamp, a.AlarmConfigurationUpdatedTimestamp) {
			return nil // changed under us; the next round decides
		}
		tr, err = s.applyResult(tx, cur, rev, res, now)
		return err
	})
	if errors.Is(err, ErrResourceNotFound) || errors.Is(err, store.ErrConflict) {
		return nil // deleted or changed meanwhile
	}
	if err != nil {
		return err
	}
	if tr != nil {
		s.runActions(ctx, tr)
	} else {
		s.repeatScalingActions(ctx, a)
	}
	return nil
}

// alarmPeriod is the period an alarm is evaluated at: its own, or that of
// the metric math query that returns data.
func alarmPeriod(a *cloudwatchapi.MetricAlarm) time.Duration {
	p := deref(a.Period)
	for _, q := range a.Metrics {
		if q.ReturnData == nil || *q.ReturnData {
			if q.MetricStat != nil {
				p = deref(q.MetricStat.Period)
			} else if q.Period != nil {
				p = *q.Period
			}
		}
	}
	if p <= 0 {
		p = 60
	}
	return time.Duration(p) * time.Second
}

func equalTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

// ruleAndSamples reads an alarm's rule and the per-period values of its
// metric (or metric math) over its evaluation window.
func (s *Service) ruleAndSamples(tn tsdb.Tenant, d *alarmDoc, now time.Time) (Rule, []Sample, error) {
	a := &d.Alarm
	rule := Rule{
		EvaluationPeriods: int(deref(a.EvaluationPeriods)), DatapointsToAlarm: int(deref(a.DatapointsToAlarm)),
		Comparison: deref(a.ComparisonOperator), Threshold: deref(a.Threshold), TreatMissingData: deref(a.TreatMissingData),
		State: deref(a.StateValue), Statistic: deref(a.Statistic),
	}
	if a.ExtendedStatistic != nil {
		rule.Statistic = *a.ExtendedStatistic
	}
	n := int64(max(rule.EvaluationPeriods, 1))
	if len(a.Metrics) == 0 {
		p := int64(deref(a.Period))
		rule.Period = time.Duration(p) * time.Second
		m, err := metricOf(deref(a.Namespace), deref(a.MetricName), a.Dimensions)
		if err != nil {
			return rule, nil, err
		}
		cur := now.Unix() - mod(now.Unix(), p)
		bs := s.db.Get(tn, tsdb.Query{Metric: m, Unit: deref(a.Unit), Start: cur - n*p, End: cur + p, Period: p})
		samples := make([]Sample, 0, len(bs))
		for _, b := range bs {
			v, _ := statValue(b.Stats, rule.Statistic)
			if math.IsNaN(v) {
				continue // a percentile of statistic sets: no value, as missing
			}
			samples = append(samples, Sample{T: time.Unix(b.T, 0), V: v, N: b.Count})
		}
		return rule, samples, nil
	}
	plan, err := planQueries(a.Metrics, 0)
	if err != nil {
		return rule, nil, err
	}
	var ret *plannedQuery
	for _, pq := range plan.queries {
		if pq.ret {
			ret = pq
		}
	}
	if ret == nil {
		return rule, nil, nil
	}
	p := ret.period
	rule.Period = time.Duration(p) * time.Second
	cur := now.Unix() - mod(now.Unix(), p)
	results, err := s.run(tn, plan, time.Unix(cur-n*p, 0), time.Unix(cur+p, 0), false)
	if err != nil {
		return rule, nil, err
	}
	var samples []Sample
	if len(results) > 0 {
		r := results[0]
		for i, t := range r.s.T {
			samples = append(samples, Sample{T: time.Unix(t, 0), V: r.s.V[i]})
		}
	}
	return rule, samples, nil
}
