package awslogs_test

import (
	"context"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/wharfhq/wharf/internal/agent/awslogs"
	"github.com/wharfhq/wharf/internal/runtime"
	"github.com/wharfhq/wharf/internal/wharftest"
)

// fixedLogs serves one container's output as Docker can deliver it: in
// the order its readers wrote it, which is not always time order.
type fixedLogs struct{ entries []runtime.LogEntry }

func (f fixedLogs) ContainerLogs(ctx context.Context, id string, opts runtime.LogOptions) (runtime.LogStream, error) {
	var out []runtime.LogEntry
	for _, e := range f.entries {
		if !e.Time.Before(opts.Since) {
			out = append(out, e)
		}
	}
	return &fixedStream{out}, nil
}

type fixedStream struct{ rest []runtime.LogEntry }

func (s *fixedStream) Next() (runtime.LogEntry, error) {
	if len(s.rest) == 0 {
		return runtime.LogEntry{}, io.EOF
	}
	e := s.rest[0]
	s.rest = s.rest[1:]
	return e, nil
}

func (s *fixedStream) Close() error { return nil }

// A stderr line stamped before the stdout lines that precede it in the
// stream (Docker stamps each pipe as it reads it) is shipped, not taken
// for a line already sent.
func TestOutOfOrderStderrLineShipped(t *testing.T) {
	env := wharftest.Start(t)
	t0 := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	logs := fixedLogs{entries: []runtime.LogEntry{
		{Source: runtime.Stdout, Time: t0.Add(2 * time.Millisecond), Line: "hello 1"},
		{Source: runtime.Stdout, Time: t0.Add(3 * time.Millisecond), Line: "hello 2"},
		{Source: runtime.Stderr, Time: t0.Add(1 * time.Millisecond), Line: "oops"},
	}}
	s, err := awslogs.New(awslogs.Config{Logs: logs, AWS: env.Root(), Endpoint: env.URL, Region: "us-east-1", StateDir: t.TempDir(), FlushInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	if err := s.Ship(awslogs.Container{TaskARN: taskARN, Name: "app", RuntimeID: "c1", Options: map[string]string{awslogs.OptGroup: "/ecs/order",
		awslogs.OptCreateGroup: "true"}}); err != nil {
		t.Fatal(err)
	}
	got := waitEvents(t, cloudwatchlogs.NewFromConfig(env.Root()), "/ecs/order", "c1", 3, 10*time.Second)
	slices.Sort(got)
	if strings.Join(got, "|") != "hello 1|hello 2|oops" {
		t.Fatalf("events = %q, want hello 1, hello 2 and oops", got)
	}
}
