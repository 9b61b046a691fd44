package cloudwatch

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Alarm states.
const (
	StateOK               = "OK"
	StateAlarm            = "ALARM"
	StateInsufficientData = "INSUFFICIENT_DATA"
)

// Rule is what the evaluator needs of an alarm.
type Rule struct {
	Period            time.Duration
	EvaluationPeriods int
	DatapointsToAlarm int // 0: EvaluationPeriods
	Comparison        string
	Threshold         float64
	TreatMissingData  string // missing (default), ignore, breaching, notBreaching
	State             string // the alarm's current state
	Statistic         string // for StateReasonData ("" for metric math)
}

// Sample is one period's value; T is the period's start.
type Sample struct {
	T time.Time
	V float64
	N float64 // sample count, for StateReasonData (0 when unknown)
}

// Result is the evaluator's verdict.
type Result struct {
	State      string
	Reason     string
	ReasonData string
	// Keep is true when the alarm keeps its state and reason as they are
	// (TreatMissingData ignore with no data).
	Keep bool
}

// Evaluate decides an alarm's state from its rule, the per-period values
// of its metric and now. It is a pure function.
//
// The window is the last EvaluationPeriods periods, aligned to the period;
// it ends with the current, still open period when that period has data,
// else with the last complete one (data may still be on its way). Missing
// periods count as TreatMissingData says; DatapointsToAlarm breaching
// periods make ALARM.
func Evaluate(r Rule, samples []Sample, now time.Time) Result {
	p := r.Period
	if p <= 0 {
		p = time.Minute
	}
	n := max(r.EvaluationPeriods, 1)
	m := r.DatapointsToAlarm
	if m <= 0 || m > n {
		m = n
	}
	byT := make(map[int64]Sample, len(samples))
	for _, s := range samples {
		byT[s.T.Truncate(p).UnixNano()] = s
	}
	end := now.Truncate(p).Add(p) // exclusive end of the current period
	if _, ok := byT[now.Truncate(p).UnixNano()]; !ok {
		end = end.Add(-p)
	}
	start := end.Add(-time.Duration(n) * p)

	var breaching, ok, present []Sample
	missing := 0
	for t := end.Add(-p); !t.Before(start); t = t.Add(-p) { // newest first
		s, has := byT[t.UnixNano()]
		if !has {
			missing++
			continue
		}
		present = append(present, s)
		if crosses(r.Comparison, s.V, r.Threshold) {
			breaching = append(breaching, s)
		} else {
			ok = append(ok, s)
		}
	}
	treat := r.TreatMissingData
	if treat == "" {
		treat = "missing"
	}
	nBreach := len(breaching)
	if treat == "breaching" {
		nBreach += missing
	}
	data := reasonData(r, start, now, present)
	switch {
	case nBreach >= m:
		return Result{State: StateAlarm, ReasonData: data, Reason: fmt.Sprintf(
			"Threshold Crossed: %d out of the last %d datapoints %s %s %s the threshold (%s) (minimum %s for %s -> ALARM transition).",
			nBreach, n, list(breaching), wasWere(nBreach), words(r.Comparison), javaFloat(r.Threshold), plural(m, "datapoint"), from(r.State))}
	case len(present) == 0 && treat == "ignore":
		return Result{State: r.State, Keep: true}
	case len(present) == 0 && treat == "missing":
		return Result{State: StateInsufficientData, ReasonData: data, Reason: fmt.Sprintf(
			"Insufficient Data: %s %s unknown.", plural(n, "datapoint"), wasWere(n))}
	}
	// Not enough breaching periods. OK when ALARM is out of reach even if
	// every missing period were breaching; with missing periods that could
	// still make ALARM, the alarm keeps its state (or, never evaluated,
	// stays INSUFFICIENT_DATA).
	nOK := n - nBreach
	if treat == "missing" || treat == "ignore" {
		nOK = len(ok)
		if nBreach+missing >= m {
			if r.State == "" || r.State == StateInsufficientData {
				return Result{State: StateInsufficientData, ReasonData: data, Reason: fmt.Sprintf(
					"Insufficient Data: %s %s unknown.", plural(missing, "datapoint"), wasWere(missing))}
			}
			return Result{State: r.State, Keep: true}
		}
	}
	return Result{State: StateOK, ReasonData: data, Reason: fmt.Sprintf(
		"Threshold Crossed: %d out of the last %d datapoints %s %s not %s the threshold (%s) (minimum %s for %s -> OK transition).",
		nOK, n, list(ok), wasWere(nOK), words(r.Comparison), javaFloat(r.Threshold), plural(m, "datapoint"), from(r.State))}
}

func crosses(op string, v, th float64) bool {
	switch op {
	case "GreaterThanOrEqualToThreshold":
		return v >= th
	case "GreaterThanThreshold":
		return v > th
	case "LessThanThreshold":
		return v < th
	case "LessThanOrEqualToThreshold":
		return v <= th
	}
	return false
}

func words(op string) string {
	switch op {
	case "GreaterThanOrEqualToThreshold":
		return "greater than or equal to"
	case "GreaterThanThreshold":
		return "greater than"
	case "LessThanThreshold":
		return "less than"
	case "LessThanOrEqualToThreshold":
		return "less than or equal to"
	}
	return op
}

func from(state string) string {
	if state == "" {
		return StateInsufficientData
	}
	return state
}

func wasWere(n int) string {
	if n == 1 {
		return "was"
	}
	return "were"
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// list renders datapoints as CloudWatch does: [90.5 (26/11/26 03:10:00), …].
func list(ss []Sample) string {
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = javaFloat(s.V) + " (" + s.T.UTC().Format("02/01/06 15:04:05") + ")"
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// javaFloat formats like Java's Double.toString, which AWS's texts use:
// 80.0, 90.5, 1.0E7.
func javaFloat(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	if a := math.Abs(v); a != 0 && (a >= 1e7 || a < 1e-3) {
		s := strconv.FormatFloat(v, 'E', -1, 64)
		mant, exp, _ := strings.Cut(s, "E")
		if !strings.Contains(mant, ".") {
			mant += ".0"
		}
		exp = strings.TrimPrefix(exp, "+")
		if strings.HasPrefix(exp, "-") {
			exp = "-" + strings.TrimLeft(exp[1:], "0")
		} else {
			exp = strings.TrimLeft(exp, "0")
		}
		return mant + "E" + exp
	}
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

const reasonTime = "2006-01-02T15:04:05.000-0700"

// reasonData is the StateReasonData document CloudWatch attaches.
func reasonData(r Rule, start, now time.Time, present []Sample) string {
	type point struct {
		Timestamp   string   `json:"timestamp"`
		SampleCount *float64 `json:"sampleCount,omitempty"`
		Value       float64  `json:"value"`
	}
	doc := struct {
		Version             string    `json:"version"`
		QueryDate           string    `json:"queryDate"`
		StartDate           string    `json:"startDate"`
		Statistic           string    `json:"statistic,omitempty"`
		Period              int64     `json:"period"`
		RecentDatapoints    []float64 `json:"recentDatapoints"`
		Threshold           float64   `json:"threshold"`
		EvaluatedDatapoints []point   `json:"evaluatedDatapoints,omitempty"`
	}{Version: "1.0", QueryDate: now.UTC().Format(reasonTime), StartDate: start.UTC().Format(reasonTime),
		Statistic: r.Statistic, Period: int64(r.Period / time.Second), Threshold: r.Threshold, RecentDatapoints: []float64{}}
	asc := append([]Sample(nil), present...)
	sort.Slice(asc, func(i, j int) bool { return asc[i].T.Before(asc[j].T) })
	for _, s := range asc {
		doc.RecentDatapoints = append(doc.RecentDatapoints, s.V)
	}
	for _, s := range present {
		pt := point{Timestamp: s.T.UTC().Format(reasonTime), Value: s.V}
		if s.N > 0 {
			n := s.N
			pt.SampleCount = &n
		}
		doc.EvaluatedDatapoints = append(doc.EvaluatedDatapoints, pt)
	}
	b, _ := json.Marshal(doc)
	return string(b)
}
