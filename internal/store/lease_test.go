package store_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/sqlite"
)

func openStore(t *testing.T) store.Store {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

var leaseProbe = store.Table{Name: "lease_probe", Scope: store.System}

func TestLease(t *testing.T) {
	st, ctx := openStore(t), context.Background()
	t0 := time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)
	ttl := time.Minute

	a, err := store.AcquireLease(ctx, st, "gc", "a", t0, ttl)
	if err != nil {
		t.Fatal(err)
	}
	if a.Holder != "a" || !a.Expires.Equal(t0.Add(ttl)) || a.Token <= 0 {
		t.Fatalf("lease %+v", a)
	}
	if _, err := store.AcquireLease(ctx, st, "gc", "b", t0.Add(ttl-time.Nanosecond), ttl); !errors.Is(err, store.ErrLeaseHeld) {
		t.Fatalf("b took a held lease: %v", err)
	}
	// Other names are independent.
	if _, err := store.AcquireLease(ctx, st, "other", "b", t0, ttl); err != nil {
		t.Fatal(err)
	}
	// The holder re-acquires (extends) its own lease; the token moves on.
	a2, err := store.AcquireLease(ctx, st, "gc", "a", t0.Add(time.Second), ttl)
	if err != nil || a2.Token <= a.Token {
		t.Fatalf("re-acquire: %+v %v", a2, err)
	}
	// The old token no longer fences.
	fence := func(l store.Lease, now time.Time) error {
		return st.Update(ctx, func(tx store.Tx) error {
			if err := store.CheckLease(tx, l, now); err != nil {
				return err
			}
			_, err := tx.Put(leaseProbe, "k", []byte(`{}`))
			return err
		})
	}
	if err := fence(a, t0.Add(2*time.Second)); !errors.Is(err, store.ErrLeaseLost) {
		t.Fatalf("stale token fenced in: %v", err)
	}
	if err := fence(a2, t0.Add(2*time.Second)); err != nil {
		t.Fatalf("current token refused: %v", err)
	}
	// Expired: b takes over; a can neither write nor renew.
	later := a2.Expires
	if err := fence(a2, later); !errors.Is(err, store.ErrLeaseLost) {
		t.Fatalf("expired lease fenced in: %v", err)
	}
	b, err := store.AcquireLease(ctx, st, "gc", "b", later, ttl)
	if err != nil {
		t.Fatalf("b after expiry: %v", err)
	}
	if _, err := store.RenewLease(ctx, st, a2, later, ttl); !errors.Is(err, store.ErrLeaseLost) {
		t.Fatalf("a renewed a lease b holds: %v", err)
	}
	if err := store.ReleaseLease(ctx, st, a2); err != nil {
		t.Fatalf("releasing a lost lease: %v", err)
	}
	if err := fence(b, later); err != nil {
		t.Fatalf("a's release disturbed b: %v", err)
	}
	// Renew, then release: free at once, and tokens keep growing.
	b2, err := store.RenewLease(ctx, st, b, later.Add(time.Second), ttl)
	if err != nil || b2.Token <= b.Token || !b2.Expires.Equal(later.Add(time.Second+ttl)) {
		t.Fatalf("renew: %+v %v", b2, err)
	}
	if err := store.ReleaseLease(ctx, st, b2); err != nil {
		t.Fatal(err)
	}
	a3, err := store.AcquireLease(ctx, st, "gc", "a", later.Add(2*time.Second), ttl)
	if err != nil || a3.Token <= b2.Token {
		t.Fatalf("acquire after release: %+v %v", a3, err)
	}
}

// Many contenders at the same instant: exactly one wins each round.
func TestLeaseContention(t *testing.T) {
	st, ctx := openStore(t), context.Background()
	t0 := time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)
	for round := 0; round < 5; round++ {
		now := t0.Add(time.Duration(round) * time.Minute)
		var wg sync.WaitGroup
		var mu sync.Mutex
		won := 0
		for _, h := range []string{"a", "b", "c", "d"} {
			wg.Go(func() {
				_, err := store.AcquireLease(ctx, st, "gc", h+string(rune('0'+round)), now, time.Minute)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					won++
				case !errors.Is(err, store.ErrLeaseHeld):
					t.Errorf("acquire: %v", err)
				}
			})
		}
		wg.Wait()
		if won != 1 {
			t.Fatalf("round %d: %d holders", round, won)
		}
	}
}
