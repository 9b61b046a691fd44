package storetest

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/wharfhq/wharf/internal/store"
)

const (
	workers    = 8
	increments = 25 // per worker
	maxRetries = 10_000
)

// readCounter returns the counter under key (0 if absent) and its revision.
func readCounter(tx store.Tx, key string) (n int, rev int64, err error) {
	it, err := tx.Get(regional, key)
	if errors.Is(err, store.ErrNotFound) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, err
	}
	n, err = strconv.Atoi(string(it.Value))
	return n, it.Revision, err
}

func testConcurrent(t *testing.T, s store.Store) {
	// Read-modify-write inside one Update: Updates are serializable, so no
	// increment may be lost. PutIf guards it anyway, and a conflict (which
	// an engine with optimistic transactions may report) is retried.
	t.Run("IncrementInUpdate", func(t *testing.T) {
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for range increments {
					for try := 0; ; try++ {
						err := s.Update(ax, func(tx store.Tx) error {
							n, rev, err := readCounter(tx, "in-update")
							if err != nil {
								return err
							}
							_, err = tx.PutIf(regional, "in-update", []byte(strconv.Itoa(n+1)), rev)
							return err
						})
						if err == nil {
							break
						}
						if !errors.Is(err, store.ErrConflict) || try == maxRetries {
							t.Errorf("increment: %v (try %d)", err, try)
							return
						}
					}
				}
			})
		}
		wg.Wait()
		wantValue(t, s, ax, regional, "in-update", strconv.Itoa(workers*increments))
	})

	// Optimistic concurrency across transactions, as the scheduler uses
	// it: read in a View, write in an Update with PutIf at the revision
	// read, retry on ErrConflict. Conflicts are expected; lost increments
	// are not. Meanwhile readers check that the counter never goes back.
	t.Run("IncrementOptimistic", func(t *testing.T) {
		var conflicts atomic.Int64
		stop := make(chan struct{})
		var readers sync.WaitGroup
		for range 2 {
			readers.Go(func() {
				last := 0
				for {
					select {
					case <-stop:
						return
					default:
					}
					var n int
					err := s.View(ax, func(tx store.Tx) error {
						var err error
						n, _, err = readCounter(tx, "optimistic")
						return err
					})
					if err != nil {
						t.Errorf("View: %v", err)
						return
					}
					if n < last {
						t.Errorf("counter went back from %d to %d", last, n)
						return
					}
					last = n
				}
			})
		}

		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for range increments {
					for try := 0; ; try++ {
						var n int
						var rev int64
						err := s.View(ax, func(tx store.Tx) error {
							var err error
							n, rev, err = readCounter(tx, "optimistic")
							return err
						})
						if err == nil {
							err = s.Update(ax, func(tx store.Tx) error {
								_, err := tx.PutIf(regional, "optimistic", []byte(strconv.Itoa(n+1)), rev)
								return err
							})
						}
						if err == nil {
							break
						}
						if !errors.Is(err, store.ErrConflict) || try == maxRetries {
							t.Errorf("increment: %v (try %d)", err, try)
							return
						}
						conflicts.Add(1)
					}
				}
			})
		}
		wg.Wait()
		close(stop)
		readers.Wait()
		wantValue(t, s, ax, regional, "optimistic", strconv.Itoa(workers*increments))
		t.Logf("%d increments, %d conflicts retried", workers*increments, conflicts.Load())
	})

	// Many creators of one key: PutIf(…, 0) lets exactly one win.
	t.Run("CreateOnce", func(t *testing.T) {
		for round := range 5 {
			key := fmt.Sprintf("once/%d", round)
			var wins, conflicts atomic.Int64
			var wg sync.WaitGroup
			for w := range workers {
				wg.Go(func() {
					err := s.Update(ax, func(tx store.Tx) error {
						_, err := tx.PutIf(regional, key, []byte(strconv.Itoa(w)), 0)
						return err
					})
					switch {
					case err == nil:
						wins.Add(1)
					case errors.Is(err, store.ErrConflict):
						conflicts.Add(1)
					default:
						t.Errorf("PutIf(0): %v", err)
					}
				})
			}
			wg.Wait()
			if wins.Load() != 1 || conflicts.Load() != workers-1 {
				t.Fatalf("%s: %d creators won and %d conflicted, want 1 and %d", key, wins.Load(), conflicts.Load(), workers-1)
			}
		}
	})

	// Transactions that touch several keys commit all or nothing, and
	// concurrent Views never see half of one: the two keys always match.
	t.Run("MultiKeyAtomicity", func(t *testing.T) {
		stop := make(chan struct{})
		var readers sync.WaitGroup
		for range 2 {
			readers.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					err := s.View(ax, func(tx store.Tx) error {
						a, _, err := readCounter(tx, "pair/a")
						if err != nil {
							return err
						}
						b, _, err := readCounter(tx, "pair/b")
						if err != nil {
							return err
						}
						items, err := tx.Scan(regional, "pair/", "", 0)
						if err != nil {
							return err
						}
						if a != b || (a > 0 && len(items) != 2) {
							return fmt.Errorf("View saw half a transaction: a=%d b=%d, %d items", a, b, len(items))
						}
						return nil
					})
					if err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for range increments {
					err := s.Update(ax, func(tx store.Tx) error {
						a, _, err := readCounter(tx, "pair/a")
						if err != nil {
							return err
						}
						v := []byte(strconv.Itoa(a + 1))
						if _, err := tx.Put(regional, "pair/a", v); err != nil {
							return err
						}
						_, err = tx.Put(regional, "pair/b", v)
						return err
					})
					if err != nil && !errors.Is(err, store.ErrConflict) {
						t.Errorf("Update: %v", err)
						return
					}
				}
			})
		}
		wg.Wait()
		close(stop)
		readers.Wait()
		a := mustGet(t, s, ax, regional, "pair/a")
		b := mustGet(t, s, ax, regional, "pair/b")
		if string(a.Value) != string(b.Value) {
			t.Fatalf("pair/a = %s, pair/b = %s", a.Value, b.Value)
		}
	})
}
