package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCloudWatchCLI drives metrics and alarms with Debian's aws CLI v2,
// whose botocore speaks awsQuery to CloudWatch.
func TestCloudWatchCLI(t *testing.T) {
	w := startWharf(t)
	env := w.env()
	minute := time.Now().UTC().Truncate(time.Minute)
	ts := minute.Format(time.RFC3339)

	w.mustAWS(env, nil, "cloudwatch", "put-metric-data", "--namespace", "Web", "--metric-name", "Latency",
		"--dimensions", "Service=front", "--unit", "Milliseconds", "--value", "40", "--timestamp", ts)
	data := `[{"MetricName":"Latency","Dimensions":[{"Name":"Service","Value":"front"}],"Timestamp":"` + ts + `","Unit":"Milliseconds",
		"StatisticValues":{"SampleCount":3,"Sum":60,"Minimum":10,"Maximum":30}}]`
	w.mustAWS(env, nil, "cloudwatch", "put-metric-data", "--namespace", "Web", "--metric-data", data)

	var st struct {
		Label      string
		Datapoints []struct {
			Timestamp                                   string
			Average, Sum, SampleCount, Minimum, Maximum float64
			Unit                                        string
		}
	}
	w.mustAWS(env, &st, "cloudwatch", "get-metric-statistics", "--namespace", "Web", "--metric-name", "Latency",
		"--dimensions", "Name=Service,Value=front", "--start-time", ts, "--end-time", minute.Add(time.Minute).Format(time.RFC3339),
		"--period", "60", "--statistics", "Average", "Sum", "SampleCount", "Minimum", "Maximum")
	if st.Label != "Latency" || len(st.Datapoints) != 1 {
		t.Fatalf("get-metric-statistics: %+v", st)
	}
	dp := st.Datapoints[0]
	if dp.Sum != 100 || dp.SampleCount != 4 || dp.Average != 25 || dp.Minimum != 10 || dp.Maximum != 40 || dp.Unit != "Milliseconds" {
		t.Fatalf("datapoint: %+v", dp)
	}

	var lm struct {
		Metrics []struct{ Namespace, MetricName string }
	}
	w.mustAWS(env, &lm, "cloudwatch", "list-metrics", "--namespace", "Web")
	if len(lm.Metrics) != 1 || lm.Metrics[0].MetricName != "Latency" {
		t.Fatalf("list-metrics: %+v", lm)
	}
	w.awsFails(env, "InvalidParameterValue", "cloudwatch", "put-metric-data", "--namespace", "Web", "--metric-name", "X",
		"--value", "1", "--storage-resolution", "7")
	w.awsFails(env, "InvalidParameterValue", "cloudwatch", "get-metric-statistics", "--namespace", "Web", "--metric-name", "Latency",
		"--start-time", ts, "--end-time", minute.Add(time.Minute).Format(time.RFC3339), "--period", "45", "--statistics", "Sum")

	// An alarm driven by PutMetricData: the datum is there before the
	// alarm, so its first evaluation (within one loop tick) goes to ALARM.
	w.mustAWS(env, nil, "cloudwatch", "put-metric-data", "--namespace", "Web", "--metric-name", "Errors", "--value", "12", "--storage-resolution", "1")
	topic := "arn:aws:sns:us-east-1:000000000000:pager"
	w.mustAWS(env, nil, "cloudwatch", "put-metric-alarm", "--alarm-name", "errors-high", "--namespace", "Web", "--metric-name", "Errors",
		"--statistic", "Sum", "--period", "10", "--evaluation-periods", "3", "--datapoints-to-alarm", "1", "--threshold", "10",
		"--comparison-operator", "GreaterThanOrEqualToThreshold", "--alarm-actions", topic, "--treat-missing-data", "notBreaching")
	type alarm struct{ AlarmName, StateValue, StateReason, AlarmArn string }
	describe := func() alarm {
		var out struct{ MetricAlarms []alarm }
		w.mustAWS(env, &out, "cloudwatch", "describe-alarms", "--alarm-names", "errors-high")
		if len(out.MetricAlarms) != 1 {
			t.Fatalf("describe-alarms: %+v", out)
		}
		return out.MetricAlarms[0]
	}
	waitState := func(want string) alarm {
		deadline := time.Now().Add(40 * time.Second)
		for {
			a := describe()
			if a.StateValue == want {
				return a
			}
			if time.Now().After(deadline) {
				t.Fatalf("alarm state %s (%s), want %s", a.StateValue, a.StateReason, want)
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	a := waitState("ALARM")
	if !strings.HasPrefix(a.StateReason, "Threshold Crossed: 1 out of the last 3 datapoints [12.0 (") ||
		!strings.HasSuffix(a.StateReason, ")] was greater than or equal to the threshold (10.0) (minimum 1 datapoint for INSUFFICIENT_DATA -> ALARM transition).") {
		t.Fatalf("reason: %q", a.StateReason)
	}

	// SetAlarmState: OK until the next evaluation, a period later (which
	// may already see the breaching datum again: each CLI call takes
	// seconds on a loaded machine, so only the history is certain).
	w.mustAWS(env, nil, "cloudwatch", "set-alarm-state", "--alarm-name", "errors-high", "--state-value", "OK", "--state-reason", "manual reset")
	if a := describe(); a.StateValue == "OK" && a.StateReason != "manual reset" {
		t.Fatalf("after set-alarm-state: %+v", a)
	}
	w.mustAWS(env, nil, "cloudwatch", "put-metric-data", "--namespace", "Web", "--metric-name", "Errors", "--value", "20", "--storage-resolution", "1")
	waitState("ALARM")

	var hist struct {
		AlarmHistoryItems []struct{ HistoryItemType, HistorySummary, HistoryData string }
	}
	w.mustAWS(env, &hist, "cloudwatch", "describe-alarm-history", "--alarm-name", "errors-high")
	var lines []string
	for _, h := range hist.AlarmHistoryItems {
		lines = append(lines, h.HistoryItemType+": "+h.HistorySummary)
	}
	all := strings.Join(lines, "\n")
	for _, want := range []string{
		`ConfigurationUpdate: Alarm "errors-high" created`,
		"StateUpdate: Alarm updated from INSUFFICIENT_DATA to ALARM",
		"StateUpdate: Alarm updated from ALARM to OK",
		"StateUpdate: Alarm updated from OK to ALARM",
		"Action: Failed to execute action " + topic,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("history lacks %q:\n%s", want, all)
		}
	}
	var tags struct{ Tags []struct{ Key, Value string } }
	w.mustAWS(env, nil, "cloudwatch", "tag-resource", "--resource-arn", a.AlarmArn, "--tags", "Key=team,Value=web")
	w.mustAWS(env, &tags, "cloudwatch", "list-tags-for-resource", "--resource-arn", a.AlarmArn)
	if len(tags.Tags) != 1 || tags.Tags[0].Value != "web" {
		t.Fatalf("tags: %+v", tags)
	}
	w.mustAWS(env, nil, "cloudwatch", "delete-alarms", "--alarm-names", "errors-high")
	w.awsFails(env, "ResourceNotFound", "cloudwatch", "set-alarm-state", "--alarm-name", "errors-high", "--state-value", "OK", "--state-reason", "x")
}

// TestCloudWatchBoto3 runs the same script with Debian's boto3 twice: as
// Debian ships it (awsQuery) and with the current model, which says
// awsJson 1.0.
func TestCloudWatchBoto3(t *testing.T) {
	if _, err := os.Stat(python3); err != nil {
		t.Fatalf("%s is missing: run scripts/test", python3)
	}
	w := startWharf(t)
	run := func(extra ...string) string {
		cmd := exec.Command(python3, "testdata/boto3_cloudwatch.py", "http://"+w.addr)
		cmd.Env = w.env(extra...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("boto3_cloudwatch.py: %v\n%s", err, out)
		}
		return string(out)
	}
	if out := run(); !strings.Contains(out, "boto3 cloudwatch (query): ok") {
		t.Fatalf("unexpected output:\n%s", out)
	}

	// The current model with its protocol set to awsJson 1.0.
	raw, err := os.ReadFile(filepath.Join("..", "..", "api", "models", "cloudwatch", "2010-08-01", "service-2.json"))
	if err != nil {
		t.Fatal(err)
	}
	var model map[string]any
	if err := json.Unmarshal(raw, &model); err != nil {
		t.Fatal(err)
	}
	meta := model["metadata"].(map[string]any)
	meta["protocol"] = "json"
	meta["protocols"] = []string{"json"}
	dir := filepath.Join(t.TempDir(), "cloudwatch", "2010-08-01")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(model)
	if err := os.WriteFile(filepath.Join(dir, "service-2.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if out := run("AWS_DATA_PATH=" + filepath.Dir(filepath.Dir(dir))); !strings.Contains(out, "boto3 cloudwatch (json): ok") {
		t.Fatalf("unexpected output:\n%s", out)
	}
}
