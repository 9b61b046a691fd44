package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api/cloudtrailapi"
	"github.com/wharfhq/wharf/internal/ptr"
	"github.com/wharfhq/wharf/internal/store"
)

// hookedStore wraps a store; before each Update it calls beforeUpdate,
// which may block or fail it.
type hookedStore struct {
	store.Store
	beforeUpdate func(ctx context.Context) error
}

func (s *hookedStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	if err := s.beforeUpdate(ctx); err != nil {
		return err
	}
	return s.Store.Update(ctx, fn)
}

// logBuffer is a concurrency-safe log sink.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

// eventually polls cond until it holds or a deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

func TestRecordNeverBlocksWhenFull(t *testing.T) {
	const size = 16
	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	st := &hookedStore{Store: newStore(t), beforeUpdate: func(ctx context.Context) error {
		select {
		case entered <- struct{}{}:
		default:
		}
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}}
	var logs logBuffer
	clk := newClock()
	rec := New(st, Options{Now: clk.Now, BufferSize: size, Logger: logs.logger()})
	rec.Start(context.Background())
	t.Cleanup(rec.Stop)

	// The loop is now stuck in a store write (its first sweep).
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the loop never reached the store")
	}

	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range size + 100 {
			rec.Record(call(fmt.Sprintf("e%03d", i), t0, alice(), "iam.amazonaws.com", "ListUsers"))
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Record blocked while the writer was stuck")
	}
	if got := rec.Dropped(); got != 100 {
		t.Errorf("Dropped = %d, want 100", got)
	}

	close(release)
	rec.Stop()
	if got := count(t, st, eventsTable, acctA); got != size {
		t.Errorf("stored %d events, want the %d queued", got, size)
	}
	if rec.Written() != size || rec.Failed() != 0 {
		t.Errorf("Written = %d, Failed = %d", rec.Written(), rec.Failed())
	}
	if l := logs.String(); !strings.Contains(l, "events dropped") || !strings.Contains(l, "dropped=100") {
		t.Errorf("no drop warning in the log:\n%s", l)
	}
}

func TestStopFlushes(t *testing.T) {
	h := newHarness(t, Options{FlushInterval: time.Hour, SweepInterval: time.Hour})
	h.rec.Start(context.Background())
	const n = 300 // more than one batch
	for i := range n {
		h.rec.Record(call(fmt.Sprintf("e%03d", i), t0.Add(-time.Duration(i)*time.Millisecond), alice(), "ecs.amazonaws.com", "RunTask"))
	}
	h.rec.Stop()
	if got := count(t, h.st, eventsTable, acctA); got != n {
		t.Fatalf("stored %d events after Stop, want %d", got, n)
	}
	got, _ := h.lookupAll(acctA, cloudtrailapi.LookupEventsRequest{})
	if len(got) != n || got[0] != "e000" || got[n-1] != "e299" {
		t.Errorf("lookup after Stop: %d events, first %v", len(got), got[:min(3, len(got))])
	}
	// Stopped: further events are dropped, and Stop again is harmless.
	h.rec.Record(call("late", t0, alice(), "ecs.amazonaws.com", "RunTask"))
	h.rec.Stop()
	if h.rec.Dropped() != 1 {
		t.Errorf("Dropped = %d after a Record on a stopped Recorder", h.rec.Dropped())
	}
	if err := h.rec.Flush(context.Background()); err != nil {
		t.Errorf("Flush after Stop: %v", err)
	}
}

func TestLoopFlushesOnTick(t *testing.T) {
	h := newHarness(t, Options{FlushInterval: 5 * time.Millisecond})
	h.rec.Start(context.Background())
	h.rec.Record(call("tick", t0, alice(), "ecs.amazonaws.com", "ListClusters"))
	eventually(t, "the flush tick to write the event", func() bool {
		return len(h.lookup(acctA, &cloudtrailapi.LookupEventsRequest{}).Events) == 1
	})
}

func TestFlushWithRunningLoop(t *testing.T) {
	h := newHarness(t, Options{FlushInterval: time.Hour})
	h.rec.Start(context.Background())
	for i := range 10 {
		h.rec.Record(call(fmt.Sprintf("e%d", i), t0.Add(-time.Duration(i)*time.Second), alice(), "ecs.amazonaws.com", "ListClusters"))
	}
	h.flush()
	if got := len(h.lookup(acctA, &cloudtrailapi.LookupEventsRequest{}).Events); got != 10 {
		t.Errorf("after Flush: %d events, want 10", got)
	}
}

func TestFlushAfterLoopContextEnds(t *testing.T) {
	h := newHarness(t, Options{FlushInterval: time.Hour, SweepInterval: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	h.rec.Start(ctx)
	h.rec.Record(call("flushed", t0.Add(-2*time.Second), alice(), "ecs.amazonaws.com", "ListClusters"))
	h.flush() // answered by the loop, after its first sweep
	h.rec.Record(call("held", t0.Add(-time.Second), alice(), "ecs.amazonaws.com", "ListClusters"))
	cancel()
	<-h.rec.done // the loop exits and writes what it held
	// Not stopped: Record still queues, and Flush writes without the loop.
	h.rec.Record(call("after", t0, alice(), "ecs.amazonaws.com", "ListClusters"))
	h.flush()
	if got := ids(h.lookup(acctA, &cloudtrailapi.LookupEventsRequest{})); !slices.Equal(got, []string{"after", "held", "flushed"}) {
		t.Errorf("events = %v", got)
	}
}

func TestOneTransactionPerAccountPerBatch(t *testing.T) {
	var updates atomic.Int64
	st := &hookedStore{Store: newStore(t), beforeUpdate: func(context.Context) error { updates.Add(1); return nil }}
	clk := newClock()
	rec := New(st, Options{Now: clk.Now})
	t.Cleanup(rec.Stop)
	for i := range 30 {
		p := alice()
		if i%3 == 0 {
			p = rootOf(acctB)
		}
		rec.Record(call(fmt.Sprintf("e%02d", i), t0, p, "iam.amazonaws.com", "ListUsers"))
	}
	if err := rec.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := updates.Load(); got != 2 {
		t.Errorf("%d transactions for one batch of two accounts, want 2", got)
	}
	if a, b := count(t, st, eventsTable, acctA), count(t, st, eventsTable, acctB); a != 20 || b != 10 {
		t.Errorf("stored A=%d B=%d, want 20 and 10", a, b)
	}
}

func TestWriteFailure(t *testing.T) {
	boom := errors.New("disk on fire")
	st := &hookedStore{Store: newStore(t), beforeUpdate: func(context.Context) error { return boom }}
	var logs logBuffer
	rec := New(st, Options{Logger: logs.logger()})
	t.Cleanup(rec.Stop)
	rec.Record(call("e1", t0, alice(), "iam.amazonaws.com", "CreateUser"))
	rec.Record(call("e2", t0, alice(), "iam.amazonaws.com", "CreateUser"))
	if err := rec.Flush(context.Background()); !errors.Is(err, boom) {
		t.Errorf("Flush = %v, want %v", err, boom)
	}
	if rec.Failed() != 2 || rec.Written() != 0 {
		t.Errorf("Failed = %d, Written = %d", rec.Failed(), rec.Written())
	}
	if !strings.Contains(logs.String(), "disk on fire") {
		t.Errorf("failure not logged:\n%s", logs.String())
	}
}

func TestRetentionSweep(t *testing.T) {
	h := newHarness(t, Options{Retention: 24 * time.Hour})
	now := h.clk.Now()
	cutoff := now.Add(-24 * time.Hour)
	events := []Event{
		call("a-old", now.Add(-48*time.Hour), alice(), "iam.amazonaws.com", "CreateUser"),
		call("a-just-old", cutoff.Add(-time.Nanosecond), alice(), "iam.amazonaws.com", "CreateUser"),
		call("a-at-cutoff", cutoff, alice(), "iam.amazonaws.com", "CreateUser"),
		call("a-new", now.Add(-time.Hour), alice(), "iam.amazonaws.com", "CreateUser"),
		call("b-old", now.Add(-30*time.Hour), rootOf(acctB), "iam.amazonaws.com", "CreateUser"),
		call("sys-old", now.Add(-48*time.Hour), nil, "sts.amazonaws.com", "GetCallerIdentity"),
		call("sys-new", now.Add(-time.Hour), nil, "sts.amazonaws.com", "GetCallerIdentity"),
	}
	for _, ev := range events {
		h.rec.Record(ev)
	}
	h.flush()
	if got := count(t, h.st, systemEventsTable, ""); got != 2 {
		t.Fatalf("system table holds %d events, want 2", got)
	}

	n, err := h.rec.Sweep(context.Background())
	if err != nil || n != 4 {
		t.Fatalf("Sweep = %d, %v; want 4 deleted", n, err)
	}
	all := cloudtrailapi.LookupEventsRequest{StartTime: ptr.To(time.Unix(0, 0))}
	if got, _ := h.lookupAll(acctA, all); !slices.Equal(got, []string{"a-new", "a-at-cutoff"}) {
		t.Errorf("account A keeps %v", got)
	}
	if got, _ := h.lookupAll(acctB, all); len(got) != 0 {
		t.Errorf("account B keeps %v", got)
	}
	if got := count(t, h.st, systemEventsTable, ""); got != 1 {
		t.Errorf("system table keeps %d events, want 1", got)
	}
	if got := accountsIndexed(t, h); !slices.Equal(got, []string{acctA}) {
		t.Errorf("accounts index = %v, want [A]: B has no events left", got)
	}

	// A day later everything has aged out; a new event re-enters the index.
	h.clk.Add(25 * time.Hour)
	if n, err := h.rec.Sweep(context.Background()); err != nil || n != 3 {
		t.Fatalf("second Sweep = %d, %v; want 3", n, err)
	}
	if got := accountsIndexed(t, h); len(got) != 0 {
		t.Errorf("accounts index = %v, want empty", got)
	}
	h.rec.Record(call("a-fresh", h.clk.Now(), alice(), "iam.amazonaws.com", "CreateUser"))
	h.flush()
	if got := accountsIndexed(t, h); !slices.Equal(got, []string{acctA}) {
		t.Errorf("accounts index = %v after a new event, want [A]", got)
	}
	if n, err := h.rec.Sweep(context.Background()); err != nil || n != 0 {
		t.Errorf("third Sweep = %d, %v; want nothing to delete", n, err)
	}
}

func accountsIndexed(t *testing.T, h *harness) []string {
	t.Helper()
	var got []string
	err := h.st.View(context.Background(), func(tx store.Tx) error {
		items, err := tx.Scan(accountsTable, "", "", 0)
		for _, it := range items {
			got = append(got, it.Key)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestLoopSweeps(t *testing.T) {
	h := newHarness(t, Options{Retention: time.Hour, SweepInterval: 5 * time.Millisecond})
	h.rec.Record(call("old", t0.Add(-2*time.Hour), alice(), "iam.amazonaws.com", "CreateUser"))
	h.rec.Record(call("new", t0, alice(), "iam.amazonaws.com", "CreateUser"))
	h.flush()
	h.rec.Start(context.Background())
	eventually(t, "the first sweep", func() bool { return count(t, h.st, eventsTable, acctA) == 1 })
	h.clk.Add(2 * time.Hour)
	eventually(t, "a periodic sweep", func() bool { return count(t, h.st, eventsTable, acctA) == 0 })
}

func TestSystemEventsHiddenFromAccounts(t *testing.T) {
	h := newHarness(t, Options{})
	anon := call("anon", t0, nil, "sts.amazonaws.com", "GetCallerIdentity")
	anon.ErrorCode = "MissingAuthenticationToken"
	h.rec.Record(anon)
	h.flush()
	if got := count(t, h.st, systemEventsTable, ""); got != 1 {
		t.Errorf("system table holds %d events, want 1", got)
	}
	for _, acct := range []string{acctA, acctB} {
		if got, _ := h.lookupAll(acct, cloudtrailapi.LookupEventsRequest{}); len(got) != 0 {
			t.Errorf("account %s sees %v", acct, got)
		}
	}
}

func TestRecordDefaults(t *testing.T) {
	var logs logBuffer
	h := newHarness(t, Options{Logger: logs.logger()})
	// No ID, no Time, no Account, no AccessKeyID: all filled in.
	ev := Event{Region: region, Principal: alice(), EventSource: "iam.amazonaws.com", EventName: "ListUsers", ReadOnly: true,
		RequestParameters: map[string]any{"bad": math.NaN()}}
	h.rec.Record(ev)
	h.flush()
	out := h.lookup(acctA, &cloudtrailapi.LookupEventsRequest{})
	if len(out.Events) != 1 {
		t.Fatalf("%d events", len(out.Events))
	}
	got := out.Events[0]
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	if !uuid.MatchString(*got.EventId) {
		t.Errorf("EventId = %q, want a UUID", *got.EventId)
	}
	if !got.EventTime.Equal(t0) || *got.AccessKeyId != "AKIAALICE" {
		t.Errorf("EventTime = %v, AccessKeyId = %v", got.EventTime, *got.AccessKeyId)
	}
	// Parameters that cannot be encoded are left out; the event is kept.
	if !strings.Contains(*got.CloudTrailEvent, `"requestParameters":null`) || !strings.Contains(logs.String(), "without its request parameters") {
		t.Errorf("record %s\nlog %s", *got.CloudTrailEvent, logs.String())
	}
}

func TestConcurrentRecord(t *testing.T) {
	h := newHarness(t, Options{BufferSize: 10000, FlushInterval: time.Millisecond})
	h.rec.Start(context.Background())
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 250 {
				h.rec.Record(call(fmt.Sprintf("g%d-%03d", g, i), t0.Add(-time.Duration(i)*time.Microsecond), alice(), "ecs.amazonaws.com", "DescribeTasks"))
			}
		})
	}
	wg.Wait()
	h.rec.Stop()
	if got := count(t, h.st, eventsTable, acctA); got != 2000 || h.rec.Written() != 2000 || h.rec.Dropped() != 0 {
		t.Errorf("stored %d, Written %d, Dropped %d; want 2000, 2000, 0", got, h.rec.Written(), h.rec.Dropped())
	}
}

func TestIsReadOnly(t *testing.T) {
	for op, want := range map[string]bool{
		"DescribeServices": true, "GetCallerIdentity": true, "ListUsers": true, "LookupEvents": true,
		"BatchGetImage": true, "BatchCheckLayerAvailability": true, "GetAuthorizationToken": true,
		"FilterLogEvents": true, "DiscoverInstances": true, "SimulatePrincipalPolicy": true, "Get": true,
		"CreateUser": false, "BatchDeleteImage": false, "PutImage": false, "RunTask": false, "Getaway": false,
		"Listen": false, "TagResource": false, "": false, "describeServices": false, "UpdateService": false,
	} {
		if got := IsReadOnly(op); got != want {
			t.Errorf("IsReadOnly(%q) = %v, want %v", op, got, want)
		}
	}
}

func ExampleIsReadOnly() {
	fmt.Println(IsReadOnly("DescribeServices"), IsReadOnly("BatchGetImage"), IsReadOnly("CreateService"))
	// Output: true true false
}
