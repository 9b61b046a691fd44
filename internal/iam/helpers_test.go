package iam

import (
	"context"
	"errors"
	"net/url"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api/iamapi"
	"github.com/wharfhq/wharf/internal/errs"
	"github.com/wharfhq/wharf/internal/principal"
	"github.com/wharfhq/wharf/internal/ptr"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/sqlite"
	"github.com/wharfhq/wharf/internal/tenancy"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a Service on a fresh SQLite store with a bootstrapped account.
type env struct {
	t     *testing.T
	st    store.Store
	svc   *Service
	clock *clock
	acct  Account
	root  context.Context // acting as the account root
}

func openStore(t testing.TB, dir string) store.Store {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(dir, "wharf.db"))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func newEnv(t *testing.T) *env {
	t.Helper()
	st := openStore(t, t.TempDir())
	t.Cleanup(func() { st.Close() })
	c := newClock()
	acct, _, err := Bootstrap(context.Background(), st, BootstrapOptions{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, st: st, clock: c, acct: acct, svc: New(st, Options{Now: c.Now})}
	e.root = e.as(&principal.Principal{Kind: principal.Root, Account: acct.ID, ARN: rootARN(acct.ID), UserID: acct.ID,
		AccessKeyID: acct.RootAccessKeyID})
	return e
}

// as returns a context acting as p in the env's account.
func (e *env) as(p *principal.Principal) context.Context {
	return principal.With(tenancy.With(context.Background(), e.acct.ID, "us-east-1"), p)
}

// asUser returns a context acting as the IAM user name (which must exist),
// through the principal its access key resolves to.
func (e *env) asUser(name string) (context.Context, *principal.Principal) {
	e.t.Helper()
	k := must(e.svc.CreateAccessKey(e.root, &iamapi.CreateAccessKeyRequest{UserName: ptr.To(name)}))(e.t)
	cred, err := e.svc.LookupAccessKey(context.Background(), *k.AccessKey.AccessKeyId)
	if err != nil {
		e.t.Fatal(err)
	}
	p := cred.Subject.(*principal.Principal)
	return e.as(p), p
}

func (e *env) createUser(name string) {
	e.t.Helper()
	must(e.svc.CreateUser(e.root, &iamapi.CreateUserRequest{UserName: ptr.To(name)}))(e.t)
}

// must unwraps a (value, error) pair in a test.
func must[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return v
	}
}

// wantErr checks that err wraps kind and, when msg is not empty, that its
// caller-facing message is msg.
func wantErr(t *testing.T, err, kind error, msg string) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("error = %v, want kind %v", err, kind)
	}
	if msg != "" && errs.Message(err) != msg {
		t.Fatalf("message = %q, want %q", errs.Message(err), msg)
	}
	if _, ok := ErrorTable.Lookup(err); !ok {
		t.Fatalf("error %v is not in ErrorTable", err)
	}
}

func decode(t *testing.T, s *string) string {
	t.Helper()
	d, err := url.PathUnescape(ptr.Value(s))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

const allowAll = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`

func allowDoc(action, resource string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"` + action + `","Resource":"` + resource + `"}]}`
}

func denyDoc(action, resource string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"` + action + `","Resource":"` + resource + `"}]}`
}
