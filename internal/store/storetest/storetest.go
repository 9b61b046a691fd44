// Package storetest is the conformance suite of the store.Store contract.
// Every engine runs it from its own tests:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store {
//			s, err := sqlite.Open(filepath.Join(t.TempDir(), "state.db"))
//			if err != nil {
//				t.Fatal(err)
//			}
//			return s
//		})
//	}
//
// The suite tests the contract only, never an engine's internals. Where
// store.go leaves a point open, the suite pins down what Wharf relies on:
//
//   - Keys compare as bytes: any byte may appear in a key, including 0x00,
//     0xFF and invalid UTF-8, and Scan orders by bytes, not by collation.
//     The suite never uses the empty key.
//   - Scan with after == "" starts at the beginning of the prefix.
//   - A revision is greater than every revision the key had before, also
//     when the key was deleted and created again (so PutIf is safe from
//     ABA); revisions of different keys are not compared.
//   - A failed call inside Update (ErrNotFound, ErrConflict) does not spoil
//     the transaction: the function may go on and commit.
//   - View sees one committed snapshot, never uncommitted writes, and does
//     not wait for a running Update.
//   - fn's error comes back from View/Update so errors.Is finds it; a
//     panic in fn rolls back and propagates; a context that ends before
//     the commit means nothing is committed and the context's error.
//   - A Tx fails when used after its View or Update has returned.
//   - Close is called once per store, after its last transaction.
package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/tenancy"
)

// Tables used by the suite.
var (
	regional    = store.Table{Name: "storetest.regional", Scope: store.Regional}
	regional2   = store.Table{Name: "storetest.regional2", Scope: store.Regional}
	accountWide = store.Table{Name: "storetest.accountwide", Scope: store.AccountWide}
	system      = store.Table{Name: "storetest.system", Scope: store.System}
)

// Tenants used by the suite.
const (
	acctA   = "111111111111"
	acctB   = "222222222222"
	regionX = "us-east-1"
	regionY = "eu-west-1"
)

var (
	bg    = context.Background()
	ax    = tenancy.With(bg, acctA, regionX) // the default tenant of most tests
	ay    = tenancy.With(bg, acctA, regionY)
	bx    = tenancy.With(bg, acctB, regionX)
	by    = tenancy.With(bg, acctB, regionY)
	aOnly = tenancy.WithAccount(bg, acctA)
	xOnly = tenancy.WithRegion(bg, regionX)
)

// Run runs every conformance test against stores made by open. open must
// return a new, empty store on each call; Run closes it when the subtest
// ends (so open should only arrange to remove its files, for example with
// t.TempDir).
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"GetMissing", testGetMissing},
		{"PutGet", testPutGet},
		{"Revisions", testRevisions},
		{"PutIf", testPutIf},
		{"Delete", testDelete},
		{"DeleteIf", testDeleteIf},
		{"ErrorsKeepTxUsable", testErrorsKeepTxUsable},
		{"Values", testValues},
		{"LargeValues", testLargeValues},
		{"Keys", testKeys},
		{"Scopes", testScopes},
		{"NoTenant", testNoTenant},
		{"Rollback", testRollback},
		{"ReadYourWrites", testReadYourWrites},
		{"Isolation", testIsolation},
		{"ReadOnly", testReadOnly},
		{"Context", testContext},
		{"TxAfterReturn", testTxAfterReturn},
		{"Scan", testScan},
		{"ScanPagination", testScanPagination},
		{"DeleteRange", testDeleteRange},
		{"Count", testCount},
		{"Concurrent", testConcurrent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tc.fn(t, s)
		})
	}
}

// update runs fn in an Update that must succeed.
func update(t *testing.T, s store.Store, ctx context.Context, fn func(tx store.Tx) error) {
	t.Helper()
	if err := s.Update(ctx, fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

// view runs fn in a View that must succeed.
func view(t *testing.T, s store.Store, ctx context.Context, fn func(tx store.Tx) error) {
	t.Helper()
	if err := s.View(ctx, fn); err != nil {
		t.Fatalf("View: %v", err)
	}
}

// put writes key=val in its own Update and returns the revision.
func put(t *testing.T, s store.Store, ctx context.Context, tb store.Table, key, val string) int64 {
	t.Helper()
	var rev int64
	update(t, s, ctx, func(tx store.Tx) error {
		var err error
		rev, err = tx.Put(tb, key, []byte(val))
		return err
	})
	if rev <= 0 {
		t.Fatalf("Put(%s, %q) returned revision %d, want > 0", tb.Name, key, rev)
	}
	return rev
}

// get reads key in its own View.
func get(t *testing.T, s store.Store, ctx context.Context, tb store.Table, key string) (store.Item, error) {
	t.Helper()
	var it store.Item
	var gerr error
	view(t, s, ctx, func(tx store.Tx) error {
		it, gerr = tx.Get(tb, key)
		return nil
	})
	return it, gerr
}

// mustGet reads key in its own View and fails the test if it is missing.
func mustGet(t *testing.T, s store.Store, ctx context.Context, tb store.Table, key string) store.Item {
	t.Helper()
	it, err := get(t, s, ctx, tb, key)
	if err != nil {
		t.Fatalf("Get(%s, %q): %v", tb.Name, key, err)
	}
	return it
}

// wantValue checks that key holds val, in its own View.
func wantValue(t *testing.T, s store.Store, ctx context.Context, tb store.Table, key, val string) store.Item {
	t.Helper()
	it := mustGet(t, s, ctx, tb, key)
	if string(it.Value) != val {
		t.Fatalf("Get(%s, %q) = %q, want %q", tb.Name, key, it.Value, val)
	}
	if it.Key != key {
		t.Fatalf("Get(%s, %q).Key = %q", tb.Name, key, it.Key)
	}
	return it
}

// wantMissing checks that key is absent, in its own View.
func wantMissing(t *testing.T, s store.Store, ctx context.Context, tb store.Table, key string) {
	t.Helper()
	it, err := get(t, s, ctx, tb, key)
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get(%s, %q) = %q, %v; want ErrNotFound", tb.Name, key, it.Value, err)
	}
}

// wantErr fails the test unless errors.Is(err, target).
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

// noErr fails the test if err is not nil.
func noErr(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func keysOf(items []store.Item) []string {
	keys := make([]string, len(items))
	for i, it := range items {
		keys[i] = it.Key
	}
	return keys
}
