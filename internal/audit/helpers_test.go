package audit

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api/cloudtrailapi"
	"github.com/wharfhq/wharf/internal/principal"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/sqlite"
	"github.com/wharfhq/wharf/internal/tenancy"
)

const (
	acctA  = "111111111111"
	acctB  = "222222222222"
	region = "us-east-1"
)

// t0 is the fixed "now" tests start from.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// clock is a fake clock that moves only when told.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: t0} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newStore opens a fresh SQLite store for t.
func newStore(t *testing.T) store.Store {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "wharf.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Error(err)
		}
	})
	return st
}

// harness is a Recorder and a Service over one store and one fake clock.
type harness struct {
	t   *testing.T
	st  store.Store
	clk *clock
	rec *Recorder
	svc *Service
}

func newHarness(t *testing.T, opts Options) *harness {
	t.Helper()
	h := &harness{t: t, st: newStore(t), clk: newClock()}
	if opts.Now == nil {
		opts.Now = h.clk.Now
	}
	h.rec = New(h.st, opts)
	h.svc = NewService(h.st, ServiceOptions{Now: h.clk.Now})
	t.Cleanup(h.rec.Stop)
	return h
}

func (h *harness) flush() {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.rec.Flush(ctx); err != nil {
		h.t.Fatal(err)
	}
}

func tenant(account string) context.Context {
	return tenancy.With(context.Background(), account, region)
}

func (h *harness) lookup(account string, in *cloudtrailapi.LookupEventsRequest) *cloudtrailapi.LookupEventsResponse {
	h.t.Helper()
	out, err := h.svc.LookupEvents(tenant(account), in)
	if err != nil {
		h.t.Fatalf("LookupEvents: %v", err)
	}
	return out
}

// lookupAll follows NextToken to the end and returns every event id, in
// order, and the number of pages.
func (h *harness) lookupAll(account string, in cloudtrailapi.LookupEventsRequest) ([]string, int) {
	h.t.Helper()
	var ids []string
	pages := 0
	for {
		out := h.lookup(account, &in)
		pages++
		for _, ev := range out.Events {
			ids = append(ids, *ev.EventId)
		}
		if out.NextToken == nil {
			return ids, pages
		}
		if pages > 1000 {
			h.t.Fatal("pagination does not end")
		}
		in.NextToken = out.NextToken
	}
}

func ids(out *cloudtrailapi.LookupEventsResponse) []string {
	var s []string
	for _, ev := range out.Events {
		s = append(s, *ev.EventId)
	}
	return s
}

// count returns how many rows table t holds for account ("" for a System
// table).
func count(t *testing.T, st store.Store, tb store.Table, account string) int {
	t.Helper()
	ctx := context.Background()
	if account != "" {
		ctx = tenancy.WithAccount(ctx, account)
	}
	var n int
	err := st.View(ctx, func(tx store.Tx) error {
		var err error
		n, err = tx.Count(tb, "")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func alice() *principal.Principal {
	return &principal.Principal{
		Kind: principal.User, Account: acctA, ARN: "arn:aws:iam::" + acctA + ":user/alice",
		UserID: "AIDAALICE", Name: "alice", AccessKeyID: "AKIAALICE",
	}
}

func rootOf(account string) *principal.Principal {
	return &principal.Principal{
		Kind: principal.Root, Account: account, ARN: "arn:aws:iam::" + account + ":root",
		UserID: account, AccessKeyID: "AKIAROOT" + account,
	}
}

func deployer() *principal.Principal {
	return &principal.Principal{
		Kind: principal.AssumedRole, Account: acctA,
		ARN:    "arn:aws:sts::" + acctA + ":assumed-role/deployer/ci",
		UserID: "AROADEPLOYER:ci", Name: "deployer", SessionName: "ci",
		RoleARN: "arn:aws:iam::" + acctA + ":role/deployer", AccessKeyID: "ASIADEPLOYER", Temporary: true,
	}
}

// call returns an event of p in p's account at time at.
func call(id string, at time.Time, p *principal.Principal, source, op string) Event {
	return Event{
		ID: id, Time: at, Region: region, Principal: p,
		EventSource: source, EventName: op, ReadOnly: IsReadOnly(op),
		SourceIP: "127.0.0.1", UserAgent: "aws-cli/2", RequestID: "req-" + id,
	}
}
