package e2e

import (
	"bufio"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestAWSCLILogs drives CloudWatch Logs with Debian's aws CLI: put events,
// get-log-events, filter-log-events with a pattern, describe-log-streams,
// and `aws logs tail --follow`, which must print lines put while it runs.
func TestAWSCLILogs(t *testing.T) {
	w := startWharf(t)
	env := w.env()
	w.mustAWS(env, nil, "logs", "create-log-group", "--log-group-name", "/ecs/web")
	w.mustAWS(env, nil, "logs", "create-log-stream", "--log-group-name", "/ecs/web", "--log-stream-name", "web/app/1")
	w.mustAWS(env, nil, "logs", "create-log-stream", "--log-group-name", "/ecs/web", "--log-stream-name", "web/app/2")
	w.awsFails(env, "ResourceAlreadyExistsException", "logs", "create-log-group", "--log-group-name", "/ecs/web")
	w.awsFails(env, "ResourceNotFoundException", "logs", "create-log-stream", "--log-group-name", "/nope", "--log-stream-name", "x")

	now := time.Now().UnixMilli()
	put := func(stream string, lines ...string) {
		t.Helper()
		var evs []string
		for i, l := range lines {
			evs = append(evs, fmt.Sprintf(`{"timestamp":%d,"message":%q}`, now+int64(i), l))
		}
		w.mustAWS(env, nil, "logs", "put-log-events", "--log-group-name", "/ecs/web", "--log-stream-name", stream,
			"--log-events", "["+strings.Join(evs, ",")+"]")
	}
	put("web/app/1", "GET /index.html 200", "GET /missing 404", `{"level":"error","msg":"boom"}`)
	put("web/app/2", "GET /health 200")

	var got struct {
		Events []struct {
			Message   string
			Timestamp int64
		}
		NextForwardToken, NextBackwardToken string
	}
	w.mustAWS(env, &got, "logs", "get-log-events", "--log-group-name", "/ecs/web", "--log-stream-name", "web/app/1", "--start-from-head")
	if len(got.Events) != 3 || got.Events[0].Message != "GET /index.html 200" || !strings.HasPrefix(got.NextForwardToken, "f/") {
		t.Fatalf("get-log-events: %+v", got)
	}

	var filtered struct {
		Events []struct{ Message, LogStreamName, EventId string }
	}
	w.mustAWS(env, &filtered, "logs", "filter-log-events", "--log-group-name", "/ecs/web", "--filter-pattern", "GET -404")
	if len(filtered.Events) != 2 || filtered.Events[0].LogStreamName != "web/app/1" || filtered.Events[1].Message != "GET /health 200" {
		t.Fatalf("filter-log-events GET -404: %+v", filtered)
	}
	w.mustAWS(env, &filtered, "logs", "filter-log-events", "--log-group-name", "/ecs/web", "--filter-pattern", `{ $.level = "error" }`)
	if len(filtered.Events) != 1 || !strings.Contains(filtered.Events[0].Message, "boom") {
		t.Fatalf("filter-log-events JSON: %+v", filtered)
	}
	w.awsFails(env, "InvalidParameterException", "logs", "filter-log-events", "--log-group-name", "/ecs/web", "--filter-pattern", `{ $.level = `)

	var streams struct {
		LogStreams []struct {
			LogStreamName      string
			LastEventTimestamp int64
		}
	}
	w.mustAWS(env, &streams, "logs", "describe-log-streams", "--log-group-name", "/ecs/web", "--order-by", "LastEventTime", "--descending")
	if len(streams.LogStreams) != 2 || streams.LogStreams[0].LogStreamName != "web/app/1" {
		t.Fatalf("describe-log-streams: %+v", streams)
	}

	// aws logs tail --follow: the old lines first, then one put while it runs.
	cmd := exec.Command(awsCLI, "--endpoint-url", "http://"+w.addr, "logs", "tail", "/ecs/web", "--follow", "--since", "10m")
	// Python block-buffers a pipe, and the CLI does not flush while it follows.
	cmd.Env = append(env, "PYTHONUNBUFFERED=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	waitFor := func(substr string, within time.Duration) {
		t.Helper()
		deadline := time.After(within)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("aws logs tail exited before %q appeared:\n%s", substr, stderr.String())
				}
				if strings.Contains(l, substr) {
					return
				}
			case <-deadline:
				t.Fatalf("aws logs tail did not print %q within %s:\n%s", substr, within, stderr.String())
			}
		}
	}
	waitFor("GET /health 200", 90*time.Second) // a busy machine starts the CLI slowly
	now = time.Now().UnixMilli()
	put("web/app/2", "printed while tail runs")
	waitFor("web/app/2 printed while tail runs", 60*time.Second) // the CLI polls every 5 s
}
