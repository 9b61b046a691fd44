package awslogs_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/wharfhq/wharf/internal/agent/awslogs"
	"github.com/wharfhq/wharf/internal/runtime"
	"github.com/wharfhq/wharf/internal/testimg"
	"github.com/wharfhq/wharf/internal/wharftest"
)

const taskARN = "arn:aws:ecs:us-east-1:000000000000:task/prod/5f2b8c0e1d7a4b39a6c2e1f0d9b8a7c6"

// events reads a whole stream back with GetLogEvents.
func events(t *testing.T, c *cloudwatchlogs.Client, group, stream string) []string {
	t.Helper()
	var out []string
	in := &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream), StartFromHead: aws.Bool(true)}
	for {
		res, err := c.GetLogEvents(t.Context(), in)
		if err != nil {
			return nil // the stream may not exist yet
		}
		for _, e := range res.Events {
			out = append(out, aws.ToString(e.Message))
		}
		if len(res.Events) == 0 || aws.ToString(res.NextForwardToken) == aws.ToString(in.NextToken) {
			return out
		}
		in.NextToken = res.NextForwardToken
	}
}

func waitEvents(t *testing.T, c *cloudwatchlogs.Client, group, stream string, atLeast int, limit time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		got := events(t, c, group, stream)
		if len(got) >= atLeast || time.Now().After(deadline) {
			return got
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestShipThroughRestart runs a busybox container printing 400 numbered
// lines, ships them to a real in-process Wharf, replaces the Shipper
// mid-stream (as an agent restart does) and checks that every line
// arrives exactly once, in order, in ECS's stream prefix/name/task-id.
func TestShipThroughRestart(t *testing.T) {
	rt := testimg.Engine(t)
	env := wharftest.Start(t)
	ref := fmt.Sprintf("wharf-awslogs-test:%d", time.Now().UnixNano())
	testimg.LoadDocker(t, testimg.Busybox(t), ref)
	const n = 400
	script := fmt.Sprintf(`i=1; while [ $i -le %d ]; do echo "line $i"; i=$((i+1)); if [ $((i %% 20)) = 0 ]; then sleep 0.1; fi; done`, n)
	ctx := t.Context()
	id, err := rt.CreateContainer(ctx, runtime.ContainerSpec{Image: ref, Command: []string{"sh", "-c", script}, NetworkMode: runtime.NetworkNone})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.RemoveContainer(context.Background(), id) })

	dir := t.TempDir()
	cfg := awslogs.Config{Logs: rt, AWS: env.Root(), Endpoint: env.URL, Region: "us-east-1", StateDir: dir, FlushInterval: 100 * time.Millisecond}
	c := awslogs.Container{TaskARN: taskARN, Name: "main", RuntimeID: id,
		Options: map[string]string{awslogs.OptGroup: "/ecs/restart", awslogs.OptStreamPrefix: "web", awslogs.OptCreateGroup: "true"}}
	s1, err := awslogs.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.StartContainer(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := s1.Ship(c); err != nil {
		t.Fatal(err)
	}
	cwl := cloudwatchlogs.NewFromConfig(env.Root())
	stream := "web/main/5f2b8c0e1d7a4b39a6c2e1f0d9b8a7c6"
	first := waitEvents(t, cwl, "/ecs/restart", stream, 20, 20*time.Second)
	s1.Stop()
	if len(first) == 0 || len(first) >= n {
		t.Fatalf("before the restart %d lines were shipped; want some but not all", len(first))
	}

	s2, err := awslogs.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Stop()
	if err := s2.Ship(c); err != nil {
		t.Fatal(err)
	}
	waitEvents(t, cwl, "/ecs/restart", stream, n, 30*time.Second)
	time.Sleep(300 * time.Millisecond) // a duplicate would show up here
	got := events(t, cwl, "/ecs/restart", stream)
	if len(got) != n {
		t.Fatalf("%d events after the restart (%d before it), want %d; first: %q", len(got), len(first), n, got[:min(5, len(got))])
	}
	for i, m := range got {
		if want := fmt.Sprintf("line %d", i+1); m != want {
			t.Fatalf("event %d = %q, want %q", i, m, want)
		}
	}
	t.Logf("%d lines before the restart, %d in all", len(first), len(got))
}

// TestMultilineAndStop ships a container that already stopped: its
// output is shipped whole, multiline events are joined, and the
// follower finishes by itself.
func TestMultilineAndStop(t *testing.T) {
	rt := testimg.Engine(t)
	env := wharftest.Start(t)
	ref := fmt.Sprintf("wharf-awslogs-test:%d", time.Now().UnixNano())
	testimg.LoadDocker(t, testimg.Busybox(t), ref)
	script := `echo "2026-11-26 04:00:00 start"; echo "2026-11-26 04:00:01 boom"; echo "  at a"; echo "  at b"; echo "2026-11-26 04:00:02 end"`
	ctx := t.Context()
	id, err := rt.CreateContainer(ctx, runtime.ContainerSpec{Image: ref, Command: []string{"sh", "-c", script}, NetworkMode: runtime.NetworkNone})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.RemoveContainer(context.Background(), id) })
	if err := rt.StartContainer(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := rt.WaitContainer(ctx, id); err != nil {
		t.Fatal(err)
	}
	s, err := awslogs.New(awslogs.Config{Logs: rt, AWS: env.Root(), Endpoint: env.URL, Region: "us-east-1", StateDir: t.TempDir(), FlushInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	err = s.Ship(awslogs.Container{TaskARN: taskARN, Name: "app", RuntimeID: id, Options: map[string]string{awslogs.OptGroup: "/ecs/multi",
		awslogs.OptCreateGroup: "true", awslogs.OptDatetimeFormat: "%Y-%m-%d %H:%M:%S"}})
	if err != nil {
		t.Fatal(err)
	}
	// Without a prefix the stream is the container ID (ECS on EC2).
	got := waitEvents(t, cloudwatchlogs.NewFromConfig(env.Root()), "/ecs/multi", id, 3, 20*time.Second)
	want := []string{"2026-11-26 04:00:00 start", "2026-11-26 04:00:01 boom\n  at a\n  at b", "2026-11-26 04:00:02 end"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("events = %q, want %q", got, want)
	}
}

// TestBadOptionsRefused: invalid logConfiguration options are an error,
// not a follower.
func TestBadOptionsRefused(t *testing.T) {
	s, err := awslogs.New(awslogs.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	if err := s.Ship(awslogs.Container{RuntimeID: "x", Options: map[string]string{awslogs.OptStreamPrefix: "p"}}); err == nil {
		t.Error("a container without awslogs-group was accepted")
	}
}

// TestUnreachableThenBack keeps the output while CloudWatch Logs answers
// 503 and ships all of it, once, when it is back.
func TestUnreachableThenBack(t *testing.T) {
	rt := testimg.Engine(t)
	env := wharftest.Start(t)
	target, _ := url.Parse(env.URL)
	var down atomic.Bool
	down.Store(true)
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(target); r.Out.Host = r.In.Host }}
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	defer proxy.Close()

	ref := fmt.Sprintf("wharf-awslogs-test:%d", time.Now().UnixNano())
	testimg.LoadDocker(t, testimg.Busybox(t), ref)
	ctx := t.Context()
	id, err := rt.CreateContainer(ctx, runtime.ContainerSpec{Image: ref, NetworkMode: runtime.NetworkNone,
		Command: []string{"sh", "-c", `i=1; while [ $i -le 50 ]; do echo "n$i"; i=$((i+1)); done`}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.RemoveContainer(context.Background(), id) })
	if err := rt.StartContainer(ctx, id); err != nil {
		t.Fatal(err)
	}
	s, err := awslogs.New(awslogs.Config{Logs: rt, AWS: env.Root(), Endpoint: proxy.URL, Region: "us-east-1", StateDir: t.TempDir(), FlushInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	err = s.Ship(awslogs.Container{TaskARN: taskARN, Name: "app", RuntimeID: id, Options: map[string]string{awslogs.OptGroup: "/ecs/down",
		awslogs.OptCreateGroup: "true", awslogs.OptStreamPrefix: "p"}})
	if err != nil {
		t.Fatal(err)
	}
	cwl := cloudwatchlogs.NewFromConfig(env.Root())
	stream := "p/app/5f2b8c0e1d7a4b39a6c2e1f0d9b8a7c6"
	time.Sleep(1500 * time.Millisecond)
	if got := events(t, cwl, "/ecs/down", stream); len(got) != 0 {
		t.Fatalf("%d events arrived through a proxy that is down", len(got))
	}
	down.Store(false)
	got := waitEvents(t, cwl, "/ecs/down", stream, 50, 40*time.Second)
	if len(got) != 50 || got[0] != "n1" || got[49] != "n50" {
		t.Fatalf("after recovery: %d events %q", len(got), got[:min(3, len(got))])
	}
}
