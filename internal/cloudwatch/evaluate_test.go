package cloudwatch

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestEvaluate(t *testing.T) {
	// The fake clock: 03:10:05 on 26/11/26, periods of a minute.
	now := time.Date(2026, 11, 26, 3, 10, 5, 0, time.UTC)
	at := func(min int) time.Time { return time.Date(2026, 11, 26, 3, min, 0, 0, time.UTC) }
	rule := func(mut func(*Rule)) Rule {
		r := Rule{Period: time.Minute, EvaluationPeriods: 3, Comparison: "GreaterThanThreshold", Threshold: 80, State: StateOK, Statistic: "Average"}
		if mut != nil {
			mut(&r)
		}
		return r
	}
	cases := []struct {
		name    string
		rule    Rule
		samples []Sample
		state   string
		reason  string
		keep    bool
	}{
		{
			name:    "three of three breaching, current period open",
			rule:    rule(nil),
			samples: []Sample{{T: at(8), V: 90.5}, {T: at(9), V: 91}, {T: at(10), V: 92}},
			state:   StateAlarm,
			reason:  "Threshold Crossed: 3 out of the last 3 datapoints [92.0 (26/11/26 03:10:00), 91.0 (26/11/26 03:09:00), 90.5 (26/11/26 03:08:00)] were greater than the threshold (80.0) (minimum 3 datapoints for OK -> ALARM transition).",
		},
		{
			name:    "current period without data: the last complete periods count",
			rule:    rule(nil),
			samples: []Sample{{T: at(7), V: 90.5}, {T: at(8), V: 91}, {T: at(9), V: 92}},
			state:   StateAlarm,
			reason:  "Threshold Crossed: 3 out of the last 3 datapoints [92.0 (26/11/26 03:09:00), 91.0 (26/11/26 03:08:00), 90.5 (26/11/26 03:07:00)] were greater than the threshold (80.0) (minimum 3 datapoints for OK -> ALARM transition).",
		},
		{
			name:    "data outside the window is ignored",
			rule:    rule(func(r *Rule) { r.State = StateAlarm }),
			samples: []Sample{{T: at(5), V: 99}, {T: at(6), V: 99}, {T: at(8), V: 10}, {T: at(9), V: 20}, {T: at(10), V: 30}},
			state:   StateOK,
			reason:  "Threshold Crossed: 3 out of the last 3 datapoints [30.0 (26/11/26 03:10:00), 20.0 (26/11/26 03:09:00), 10.0 (26/11/26 03:08:00)] were not greater than the threshold (80.0) (minimum 3 datapoints for ALARM -> OK transition).",
		},
		{
			name:    "M of N: 2 of 3",
			rule:    rule(func(r *Rule) { r.DatapointsToAlarm = 2; r.State = StateInsufficientData }),
			samples: []Sample{{T: at(8), V: 81}, {T: at(9), V: 10}, {T: at(10), V: 85}},
			state:   StateAlarm,
			reason:  "Threshold Crossed: 2 out of the last 3 datapoints [85.0 (26/11/26 03:10:00), 81.0 (26/11/26 03:08:00)] were greater than the threshold (80.0) (minimum 2 datapoints for INSUFFICIENT_DATA -> ALARM transition).",
		},
		{
			name:    "equal is not greater",
			rule:    rule(func(r *Rule) { r.EvaluationPeriods = 1 }),
			samples: []Sample{{T: at(10), V: 80}},
			state:   StateOK,
			reason:  "Threshold Crossed: 1 out of the last 1 datapoints [80.0 (26/11/26 03:10:00)] was not greater than the threshold (80.0) (minimum 1 datapoint for OK -> OK transition).",
		},
		{
			name:    "greater than or equal",
			rule:    rule(func(r *Rule) { r.EvaluationPeriods = 1; r.Comparison = "GreaterThanOrEqualToThreshold" }),
			samples: []Sample{{T: at(10), V: 80}},
			state:   StateAlarm,
			reason:  "Threshold Crossed: 1 out of the last 1 datapoints [80.0 (26/11/26 03:10:00)] was greater than or equal to the threshold (80.0) (minimum 1 datapoint for OK -> ALARM transition).",
		},
		{
			name:    "less than",
			rule:    rule(func(r *Rule) { r.EvaluationPeriods = 1; r.Comparison = "LessThanThreshold"; r.Threshold = 0.5 }),
			samples: []Sample{{T: at(10), V: 0.25}},
			state:   StateAlarm,
			reason:  "Threshold Crossed: 1 out of the last 1 datapoints [0.25 (26/11/26 03:10:00)] was less than the threshold (0.5) (minimum 1 datapoint for OK -> ALARM transition).",
		},
		{
			name:    "less than or equal, large numbers in Java's form",
			rule:    rule(func(r *Rule) { r.EvaluationPeriods = 1; r.Comparison = "LessThanOrEqualToThreshold"; r.Threshold = 1e7 }),
			samples: []Sample{{T: at(10), V: 2.5e7}},
			state:   StateOK,
			reason:  "Threshold Crossed: 1 out of the last 1 datapoints [2.5E7 (26/11/26 03:10:00)] was not less than or equal to the threshold (1.0E7) (minimum 1 datapoint for OK -> OK transition).",
		},
		{
			name:   "no data, missing: INSUFFICIENT_DATA",
			rule:   rule(nil),
			state:  StateInsufficientData,
			reason: "Insufficient Data: 3 datapoints were unknown.",
		},
		{
			name:  "no data, ignore: keep the state",
			rule:  rule(func(r *Rule) { r.TreatMissingData = "ignore"; r.State = StateAlarm }),
			state: StateAlarm,
			keep:  true,
		},
		{
			name:   "no data, breaching",
			rule:   rule(func(r *Rule) { r.TreatMissingData = "breaching" }),
			state:  StateAlarm,
			reason: "Threshold Crossed: 3 out of the last 3 datapoints [] were greater than the threshold (80.0) (minimum 3 datapoints for OK -> ALARM transition).",
		},
		{
			name:   "no data, notBreaching",
			rule:   rule(func(r *Rule) { r.TreatMissingData = "notBreaching"; r.State = StateAlarm }),
			state:  StateOK,
			reason: "Threshold Crossed: 3 out of the last 3 datapoints [] were not greater than the threshold (80.0) (minimum 3 datapoints for ALARM -> OK transition).",
		},
		{
			name:    "one missing period counted as breaching completes the alarm",
			rule:    rule(func(r *Rule) { r.TreatMissingData = "breaching" }),
			samples: []Sample{{T: at(8), V: 95}, {T: at(10), V: 99}},
			state:   StateAlarm,
			reason:  "Threshold Crossed: 3 out of the last 3 datapoints [99.0 (26/11/26 03:10:00), 95.0 (26/11/26 03:08:00)] were greater than the threshold (80.0) (minimum 3 datapoints for OK -> ALARM transition).",
		},
		{
			name:    "missing periods that could still make ALARM keep the state",
			rule:    rule(func(r *Rule) { r.State = StateAlarm; r.DatapointsToAlarm = 2 }),
			samples: []Sample{{T: at(8), V: 95}, {T: at(10), V: 10}},
			state:   StateAlarm,
			keep:    true,
		},
		{
			name:    "enough non-breaching data decides OK despite a missing period",
			rule:    rule(func(r *Rule) { r.State = StateAlarm; r.DatapointsToAlarm = 3 }),
			samples: []Sample{{T: at(9), V: 5}, {T: at(10), V: 10}},
			state:   StateOK,
			reason:  "Threshold Crossed: 2 out of the last 3 datapoints [10.0 (26/11/26 03:10:00), 5.0 (26/11/26 03:09:00)] were not greater than the threshold (80.0) (minimum 3 datapoints for ALARM -> OK transition).",
		},
		{
			name:    "high resolution: 10-second periods",
			rule:    rule(func(r *Rule) { r.Period = 10 * time.Second; r.EvaluationPeriods = 2 }),
			samples: []Sample{{T: now.Add(-15 * time.Second), V: 100}, {T: now.Add(-5 * time.Second), V: 100}},
			state:   StateAlarm,
			reason:  "Threshold Crossed: 2 out of the last 2 datapoints [100.0 (26/11/26 03:10:00), 100.0 (26/11/26 03:09:50)] were greater than the threshold (80.0) (minimum 2 datapoints for OK -> ALARM transition).",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Evaluate(c.rule, c.samples, now)
			if got.State != c.state || got.Keep != c.keep {
				t.Fatalf("state %s keep %v (%s), want %s keep %v", got.State, got.Keep, got.Reason, c.state, c.keep)
			}
			if !c.keep && got.Reason != c.reason {
				t.Fatalf("reason\n got %q\nwant %q", got.Reason, c.reason)
			}
			if !c.keep && !json.Valid([]byte(got.ReasonData)) {
				t.Fatalf("reason data is not JSON: %s", got.ReasonData)
			}
		})
	}
}

func TestEvaluateReasonData(t *testing.T) {
	now := time.Date(2026, 11, 26, 3, 10, 5, 0, time.UTC)
	r := Evaluate(Rule{Period: time.Minute, EvaluationPeriods: 1, Comparison: "GreaterThanThreshold", Threshold: 1, Statistic: "Sum"},
		[]Sample{{T: now.Truncate(time.Minute), V: 3, N: 2}}, now)
	var doc map[string]any
	if err := json.Unmarshal([]byte(r.ReasonData), &doc); err != nil {
		t.Fatal(err)
	}
	if doc["statistic"] != "Sum" || doc["period"] != 60.0 || doc["threshold"] != 1.0 || doc["queryDate"] != "2026-11-26T03:10:05.000+0000" ||
		!strings.Contains(r.ReasonData, `"evaluatedDatapoints":[{"timestamp":"2026-11-26T03:10:00.000+0000","sampleCount":2,"value":3}]`) {
		t.Fatalf("reason data %s", r.ReasonData)
	}
}

func TestJavaFloat(t *testing.T) {
	for v, want := range map[float64]string{80: "80.0", 90.5: "90.5", 0: "0.0", -3: "-3.0", 1e7: "1.0E7", 0.0005: "5.0E-4", 123456.789: "123456.789"} {
		if got := javaFloat(v); got != want {
			t.Errorf("javaFloat(%v) = %s, want %s", v, got, want)
		}
	}
}
