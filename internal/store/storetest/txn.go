package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/store"
)

// waitLimit bounds how long a test waits for something that must happen
// promptly (a View beside a running Update). It is a deadline against a
// hang, not a pause: the tests never sleep.
const waitLimit = 30 * time.Second

func testRollback(t *testing.T, s store.Store) {
	seed := func(t *testing.T) (keepRev int64) {
		keepRev = put(t, s, ax, regional, "keep", "v1")
		put(t, s, ax, regional, "gone", "v1")
		put(t, s, ax, regional, "range/1", "v1")
		return keepRev
	}
	// writes changes every kind of row, then the caller fails.
	writes := func(t *testing.T, tx store.Tx) {
		_, err := tx.Put(regional, "new", []byte("x"))
		noErr(t, "Put", err)
		_, err = tx.Put(regional, "keep", []byte("v2"))
		noErr(t, "Put", err)
		noErr(t, "Delete", tx.Delete(regional, "gone"))
		_, err = tx.DeleteRange(regional, "range/", "range0")
		noErr(t, "DeleteRange", err)
		_, err = tx.Put(system, "sys", []byte("x"))
		noErr(t, "Put", err)
	}
	unchanged := func(t *testing.T, keepRev int64) {
		t.Helper()
		wantMissing(t, s, ax, regional, "new")
		wantMissing(t, s, ax, system, "sys")
		if it := wantValue(t, s, ax, regional, "keep", "v1"); it.Revision != keepRev {
			t.Fatalf("revision of a rolled back key = %d, want %d", it.Revision, keepRev)
		}
		wantValue(t, s, ax, regional, "gone", "v1")
		wantValue(t, s, ax, regional, "range/1", "v1")
		// The store still takes writes: the failed Update let go of it.
		put(t, s, ax, regional, "after", "ok")
		update(t, s, ax, func(tx store.Tx) error {
			_, err := tx.PutIf(regional, "keep", []byte("v3"), keepRev)
			return err
		})
	}

	t.Run("Error", func(t *testing.T) {
		keepRev := seed(t)
		boom := errors.New("boom")
		err := s.Update(ax, func(tx store.Tx) error {
			writes(t, tx)
			return fmt.Errorf("caller: %w", boom)
		})
		if !errors.Is(err, boom) {
			t.Fatalf("Update returned %v, want the function's error", err)
		}
		unchanged(t, keepRev)
	})

	t.Run("Panic", func(t *testing.T) {
		keepRev := seed(t)
		type marker struct{ n int }
		var recovered any
		func() {
			defer func() { recovered = recover() }()
			_ = s.Update(ax, func(tx store.Tx) error {
				writes(t, tx)
				panic(marker{42})
			})
			t.Fatalf("Update returned after its function panicked")
		}()
		if recovered != (marker{42}) {
			t.Fatalf("recovered %v, want the function's panic value", recovered)
		}
		unchanged(t, keepRev)
	})
}

func testReadYourWrites(t *testing.T, s store.Store) {
	put(t, s, ax, regional, "old", "o")
	update(t, s, ax, func(tx store.Tx) error {
		r1, err := tx.Put(regional, "a", []byte("1"))
		noErr(t, "Put", err)
		it, err := tx.Get(regional, "a")
		noErr(t, "Get", err)
		if string(it.Value) != "1" || it.Revision != r1 {
			t.Fatalf("Get after Put = %q@%d, want 1@%d", it.Value, it.Revision, r1)
		}
		r2, err := tx.PutIf(regional, "a", []byte("2"), r1)
		noErr(t, "PutIf at the revision of an uncommitted Put", err)
		_, err = tx.Put(regional, "b", []byte("3"))
		noErr(t, "Put", err)

		items, err := tx.Scan(regional, "", "", 0)
		noErr(t, "Scan", err)
		if got := keysOf(items); !slices.Equal(got, []string{"a", "b", "old"}) {
			t.Fatalf("Scan = %q", got)
		}
		if string(items[0].Value) != "2" || items[0].Revision != r2 {
			t.Fatalf("Scan sees a=%q@%d, want 2@%d", items[0].Value, items[0].Revision, r2)
		}
		n, err := tx.Count(regional, "")
		noErr(t, "Count", err)
		if n != 3 {
			t.Fatalf("Count = %d, want 3", n)
		}

		noErr(t, "Delete", tx.Delete(regional, "a"))
		_, err = tx.Get(regional, "a")
		wantErr(t, "Get after Delete", err, store.ErrNotFound)
		noErr(t, "Delete of a committed key", tx.Delete(regional, "old"))
		_, err = tx.Get(regional, "old")
		wantErr(t, "Get after Delete", err, store.ErrNotFound)
		n, err = tx.Count(regional, "")
		noErr(t, "Count", err)
		if n != 1 {
			t.Fatalf("Count after Delete = %d, want 1", n)
		}
		m, err := tx.DeleteRange(regional, "a", "c")
		noErr(t, "DeleteRange", err)
		if m != 1 {
			t.Fatalf("DeleteRange removed %d, want 1", m)
		}
		items, err = tx.Scan(regional, "", "", 0)
		noErr(t, "Scan", err)
		if len(items) != 0 {
			t.Fatalf("Scan after DeleteRange = %q", keysOf(items))
		}
		return nil
	})
	view(t, s, ax, func(tx store.Tx) error {
		n, err := tx.Count(regional, "")
		noErr(t, "Count", err)
		if n != 0 {
			t.Fatalf("Count after commit = %d, want 0", n)
		}
		return nil
	})
}

func testIsolation(t *testing.T, s store.Store) {
	t.Run("UncommittedInvisible", func(t *testing.T) {
		put(t, s, ax, regional, "k", "committed")
		written := make(chan struct{})
		release := make(chan struct{})
		updated := make(chan error, 1)
		go func() {
			updated <- s.Update(ax, func(tx store.Tx) error {
				if _, err := tx.Put(regional, "k", []byte("uncommitted")); err != nil {
					return err
				}
				if _, err := tx.Put(regional, "new", []byte("uncommitted")); err != nil {
					return err
				}
				close(written)
				<-release
				return nil
			})
		}()
		select {
		case <-written:
		case err := <-updated:
			t.Fatalf("Update: %v", err)
		}

		viewed := make(chan error, 1)
		go func() {
			viewed <- s.View(ax, func(tx store.Tx) error {
				it, err := tx.Get(regional, "k")
				if err != nil {
					return err
				}
				if string(it.Value) != "committed" {
					return fmt.Errorf("View sees %q under k during an open Update", it.Value)
				}
				if _, err := tx.Get(regional, "new"); !errors.Is(err, store.ErrNotFound) {
					return fmt.Errorf("View sees an uncommitted new key (err %v)", err)
				}
				return nil
			})
		}()
		var viewErr error
		select {
		case viewErr = <-viewed:
		case <-time.After(waitLimit):
			close(release)
			<-updated
			t.Fatalf("View waited %v for a running Update; it must not", waitLimit)
		}
		close(release)
		if err := <-updated; err != nil {
			t.Fatalf("Update: %v", err)
		}
		if viewErr != nil {
			t.Fatal(viewErr)
		}
		wantValue(t, s, ax, regional, "k", "uncommitted")
	})

	t.Run("Snapshot", func(t *testing.T) {
		put(t, s, ax, regional, "s1", "old")
		put(t, s, ax, regional, "s2", "old")
		view(t, s, ax, func(tx store.Tx) error {
			it, err := tx.Get(regional, "s1")
			noErr(t, "Get", err)
			if string(it.Value) != "old" {
				t.Fatalf("s1 = %q", it.Value)
			}
			// Commit a change to both keys while this View is open.
			done := make(chan error, 1)
			go func() {
				done <- s.Update(ax, func(tx store.Tx) error {
					for _, k := range []string{"s1", "s2", "s3"} {
						if _, err := tx.Put(regional, k, []byte("new")); err != nil {
							return err
						}
					}
					return nil
				})
			}()
			select {
			case err := <-done:
				noErr(t, "Update during a View", err)
			case <-time.After(waitLimit):
				t.Fatalf("Update waited %v for an open View; it must not", waitLimit)
			}
			// The View still reads the state it started from.
			for _, k := range []string{"s1", "s2"} {
				it, err := tx.Get(regional, k)
				noErr(t, "Get", err)
				if string(it.Value) != "old" {
					t.Fatalf("View saw %s change to %q mid-transaction", k, it.Value)
				}
			}
			_, err = tx.Get(regional, "s3")
			wantErr(t, "Get of a key created after the View started", err, store.ErrNotFound)
			n, err := tx.Count(regional, "s")
			noErr(t, "Count", err)
			if n != 2 {
				t.Fatalf("Count in the View = %d, want 2", n)
			}
			return nil
		})
		wantValue(t, s, ax, regional, "s2", "new")
	})
}

func testReadOnly(t *testing.T, s store.Store) {
	rev := put(t, s, ax, regional, "k", "v")
	view(t, s, ax, func(tx store.Tx) error {
		_, err := tx.Put(regional, "k", []byte("x"))
		wantErr(t, "Put in View", err, store.ErrReadOnly)
		_, err = tx.Put(regional, "new", []byte("x"))
		wantErr(t, "Put in View", err, store.ErrReadOnly)
		_, err = tx.PutIf(regional, "k", []byte("x"), rev)
		wantErr(t, "PutIf in View", err, store.ErrReadOnly)
		wantErr(t, "Delete in View", tx.Delete(regional, "k"), store.ErrReadOnly)
		wantErr(t, "DeleteIf in View", tx.DeleteIf(regional, "k", rev), store.ErrReadOnly)
		_, err = tx.DeleteRange(regional, "", "\xff")
		wantErr(t, "DeleteRange in View", err, store.ErrReadOnly)
		_, err = tx.Put(system, "sys", []byte("x"))
		wantErr(t, "Put in View", err, store.ErrReadOnly)
		// Reads still work after refused writes.
		it, err := tx.Get(regional, "k")
		noErr(t, "Get after refused writes", err)
		if string(it.Value) != "v" {
			t.Fatalf("Get = %q", it.Value)
		}
		return nil
	})
	if it := wantValue(t, s, ax, regional, "k", "v"); it.Revision != rev {
		t.Fatalf("revision = %d, want %d", it.Revision, rev)
	}
	wantMissing(t, s, ax, regional, "new")
	wantMissing(t, s, ax, system, "sys")

	// View returns fn's error unchanged.
	sentinel := errors.New("from view")
	if err := s.View(ax, func(store.Tx) error { return sentinel }); !errors.Is(err, sentinel) {
		t.Fatalf("View returned %v, want the function's error", err)
	}
}

func testContext(t *testing.T, s store.Store) {
	t.Run("CanceledBeforeUpdate", func(t *testing.T) {
		ctx, cancel := context.WithCancel(ax)
		cancel()
		err := s.Update(ctx, func(tx store.Tx) error {
			_, err := tx.Put(regional, "k", []byte("v"))
			return err
		})
		wantErr(t, "Update with a canceled context", err, context.Canceled)
		wantMissing(t, s, ax, regional, "k")
	})
	t.Run("CanceledBeforeView", func(t *testing.T) {
		ctx, cancel := context.WithCancel(ax)
		cancel()
		err := s.View(ctx, func(tx store.Tx) error {
			_, err := tx.Get(regional, "k")
			if errors.Is(err, store.ErrNotFound) {
				return nil
			}
			return err
		})
		wantErr(t, "View with a canceled context", err, context.Canceled)
	})
	t.Run("CanceledDuringUpdate", func(t *testing.T) {
		put(t, s, ax, regional, "k", "before")
		ctx, cancel := context.WithCancel(ax)
		defer cancel()
		err := s.Update(ctx, func(tx store.Tx) error {
			if _, err := tx.Put(regional, "k", []byte("after")); err != nil {
				return err
			}
			if _, err := tx.Put(regional, "k2", []byte("after")); err != nil {
				return err
			}
			cancel()
			return nil
		})
		wantErr(t, "Update whose context ended before commit", err, context.Canceled)
		wantValue(t, s, ax, regional, "k", "before")
		wantMissing(t, s, ax, regional, "k2")
		put(t, s, ax, regional, "k", "later") // the store is still usable
	})
	t.Run("DeadlineExceeded", func(t *testing.T) {
		ctx, cancel := context.WithDeadline(ax, time.Unix(0, 0))
		defer cancel()
		err := s.Update(ctx, func(tx store.Tx) error {
			_, err := tx.Put(regional, "d", []byte("v"))
			return err
		})
		wantErr(t, "Update past its deadline", err, context.DeadlineExceeded)
		wantMissing(t, s, ax, regional, "d")
	})
}

func testTxAfterReturn(t *testing.T, s store.Store) {
	var leaked store.Tx
	update(t, s, ax, func(tx store.Tx) error {
		leaked = tx
		_, err := tx.Put(regional, "k", []byte("v"))
		return err
	})
	if _, err := leaked.Put(regional, "late", []byte("x")); err == nil {
		t.Fatalf("Put on a Tx whose Update returned: no error")
	}
	if _, err := leaked.Get(regional, "k"); err == nil {
		t.Fatalf("Get on a Tx whose Update returned: no error")
	}
	wantMissing(t, s, ax, regional, "late")

	view(t, s, ax, func(tx store.Tx) error { leaked = tx; return nil })
	if _, err := leaked.Get(regional, "k"); err == nil {
		t.Fatalf("Get on a Tx whose View returned: no error")
	}
}
