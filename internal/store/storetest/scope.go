package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/wharfhq/wharf/internal/store"
)

func testScopes(t *testing.T, s store.Store) {
	t.Run("Regional", func(t *testing.T) {
		tenants := map[string]context.Context{"ax": ax, "ay": ay, "bx": bx, "by": by}
		for name, ctx := range tenants {
			put(t, s, ctx, regional, "k", "v-"+name)
			put(t, s, ctx, regional, "only-"+name, name)
		}
		for name, ctx := range tenants {
			wantValue(t, s, ctx, regional, "k", "v-"+name)
			view(t, s, ctx, func(tx store.Tx) error {
				items, err := tx.Scan(regional, "", "", 0)
				noErr(t, "Scan", err)
				if got, want := keysOf(items), []string{"k", "only-" + name}; !slices.Equal(got, want) {
					t.Fatalf("%s: Scan = %q, want %q", name, got, want)
				}
				n, err := tx.Count(regional, "")
				noErr(t, "Count", err)
				if n != 2 {
					t.Fatalf("%s: Count = %d, want 2", name, n)
				}
				return nil
			})
		}
		// Writes in one tenant leave the others alone.
		update(t, s, ay, func(tx store.Tx) error { return tx.Delete(regional, "k") })
		update(t, s, bx, func(tx store.Tx) error {
			_, err := tx.DeleteRange(regional, "", "\xff")
			return err
		})
		wantMissing(t, s, ay, regional, "k")
		wantMissing(t, s, bx, regional, "k")
		wantValue(t, s, ax, regional, "k", "v-ax")
		wantValue(t, s, by, regional, "k", "v-by")
		wantValue(t, s, by, regional, "only-by", "by")
		// A key written in one tenant is absent, not conflicting, in another.
		update(t, s, ay, func(tx store.Tx) error {
			_, err := tx.PutIf(regional, "k", []byte("new-ay"), 0)
			return err
		})
		wantValue(t, s, ay, regional, "k", "new-ay")
		wantValue(t, s, ax, regional, "k", "v-ax")
	})

	t.Run("AccountWide", func(t *testing.T) {
		rev := put(t, s, ax, accountWide, "user/alice", "a1")
		// Same account, another region or no region at all: the same item.
		for _, ctx := range []context.Context{ax, ay, aOnly} {
			if it := wantValue(t, s, ctx, accountWide, "user/alice", "a1"); it.Revision != rev {
				t.Fatalf("revision %d, want %d", it.Revision, rev)
			}
		}
		wantMissing(t, s, bx, accountWide, "user/alice")
		wantMissing(t, s, by, accountWide, "user/alice")
		// A write from another region of the account replaces it.
		update(t, s, ay, func(tx store.Tx) error {
			_, err := tx.PutIf(accountWide, "user/alice", []byte("a2"), rev)
			return err
		})
		wantValue(t, s, aOnly, accountWide, "user/alice", "a2")
		put(t, s, by, accountWide, "user/alice", "b1")
		wantValue(t, s, bx, accountWide, "user/alice", "b1")
		wantValue(t, s, ax, accountWide, "user/alice", "a2")
		view(t, s, aOnly, func(tx store.Tx) error {
			n, err := tx.Count(accountWide, "user/")
			noErr(t, "Count", err)
			if n != 1 {
				t.Fatalf("Count = %d, want 1", n)
			}
			return nil
		})
	})

	t.Run("System", func(t *testing.T) {
		rev := put(t, s, bg, system, "accesskey/AKIA1", "111111111111")
		for _, ctx := range []context.Context{bg, ax, by, aOnly, xOnly} {
			if it := wantValue(t, s, ctx, system, "accesskey/AKIA1", "111111111111"); it.Revision != rev {
				t.Fatalf("revision %d, want %d", it.Revision, rev)
			}
		}
		update(t, s, by, func(tx store.Tx) error { return tx.DeleteIf(system, "accesskey/AKIA1", rev) })
		wantMissing(t, s, ax, system, "accesskey/AKIA1")
	})

	t.Run("TablesAreIndependent", func(t *testing.T) {
		put(t, s, ax, regional, "shared", "in-regional")
		put(t, s, ax, regional2, "shared", "in-regional2")
		put(t, s, ax, regional2, "shared2", "x")
		wantValue(t, s, ax, regional, "shared", "in-regional")
		wantValue(t, s, ax, regional2, "shared", "in-regional2")
		view(t, s, ax, func(tx store.Tx) error {
			items, err := tx.Scan(regional, "shared", "", 0)
			noErr(t, "Scan", err)
			if got := keysOf(items); !slices.Equal(got, []string{"shared"}) {
				t.Fatalf("Scan of one table = %q", got)
			}
			return nil
		})
		update(t, s, ax, func(tx store.Tx) error {
			_, err := tx.DeleteRange(regional2, "", "\xff")
			return err
		})
		wantValue(t, s, ax, regional, "shared", "in-regional")
		wantMissing(t, s, ax, regional2, "shared")
	})
}

// txOp is one method of store.Tx called with fixed arguments.
type txOp struct {
	name  string
	write bool
	call  func(tx store.Tx, tb store.Table) error
}

var txOps = []txOp{
	{"Get", false, func(tx store.Tx, tb store.Table) error { _, err := tx.Get(tb, "k"); return err }},
	{"Scan", false, func(tx store.Tx, tb store.Table) error { _, err := tx.Scan(tb, "", "", 0); return err }},
	{"Count", false, func(tx store.Tx, tb store.Table) error { _, err := tx.Count(tb, ""); return err }},
	{"Put", true, func(tx store.Tx, tb store.Table) error { _, err := tx.Put(tb, "k", []byte("v")); return err }},
	{"PutIf", true, func(tx store.Tx, tb store.Table) error { _, err := tx.PutIf(tb, "k", []byte("v"), 0); return err }},
	{"Delete", true, func(tx store.Tx, tb store.Table) error { return tx.Delete(tb, "k") }},
	{"DeleteIf", true, func(tx store.Tx, tb store.Table) error { return tx.DeleteIf(tb, "k", 1) }},
	{"DeleteRange", true, func(tx store.Tx, tb store.Table) error { _, err := tx.DeleteRange(tb, "a", "z"); return err }},
}

func testNoTenant(t *testing.T, s store.Store) {
	// Something to find if the scope check were missing.
	put(t, s, ax, regional, "k", "v")
	put(t, s, ax, accountWide, "k", "v")

	cases := []struct {
		name string
		tb   store.Table
		ctx  context.Context
	}{
		{"Regional/NoTenant", regional, bg},
		{"Regional/AccountOnly", regional, aOnly},
		{"Regional/RegionOnly", regional, xOnly},
		{"AccountWide/NoTenant", accountWide, bg},
		{"AccountWide/RegionOnly", accountWide, xOnly},
	}
	for _, c := range cases {
		for _, op := range txOps {
			update(t, s, c.ctx, func(tx store.Tx) error {
				if err := op.call(tx, c.tb); !errors.Is(err, store.ErrNoTenant) {
					t.Errorf("%s: %s in Update: error %v, want ErrNoTenant", c.name, op.name, err)
				}
				return nil
			})
			if op.write {
				continue // in View, ErrReadOnly may come first
			}
			view(t, s, c.ctx, func(tx store.Tx) error {
				if err := op.call(tx, c.tb); !errors.Is(err, store.ErrNoTenant) {
					t.Errorf("%s: %s in View: error %v, want ErrNoTenant", c.name, op.name, err)
				}
				return nil
			})
		}
	}
	// Nothing was written or deleted anywhere.
	wantValue(t, s, ax, regional, "k", "v")
	wantValue(t, s, ax, accountWide, "k", "v")
	wantMissing(t, s, bg, system, "k")
}
