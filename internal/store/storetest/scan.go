package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/internal/store"
)

// scanKeys are chosen around the edges of byte order: 0x00 and 0xFF
// inside and at the end of keys, a prefix that is all 0xFF, upper and
// lower case, multi-byte UTF-8, and numbers that sort as text.
var scanKeys = []string{
	"\x00", "\x00\xff", "0", "9", "A", "Z",
	"a", "a\x00", "a\x00\x00", "a/1", "a/10", "a/2", "a/\xff",
	"a\xff", "a\xff\x00", "a\xff\xff", "a\xff\xff\xff",
	"ab", "abc", "b", "b\x00", "z",
	"\xc3\xa9", "\xc3\xa9t\xc3\xa9", // é, été
	"\xfe", "\xfe\xff",
	"\xff", "\xff\x00", "\xff\xff", "\xff\xff\x00", "\xff\xff\xff",
}

// scanPrefixes are used for Scan and Count.
var scanPrefixes = []string{
	"", "\x00", "0", "A", "a", "a\x00", "a/", "a/1", "a\xff", "a\xff\xff",
	"a\xff\xff\xff", "a\xff\xff\xff\xff", "ab", "b", "c", "\xc3", "\xc3\xa9",
	"\xfe", "\xff", "\xff\xff", "\xff\xff\xff", "\xff\xff\xff\xff",
}

// scanAfters are used as Scan's after argument.
var scanAfters = []string{
	"", "\x00", "0", "a", "a\x00", "a/10", "a/\xff\xff", "a\xff", "a\xff\xff",
	"a\xff\xff\xff\xff", "ab", "b", "zz", "\xc3", "\xfe\xff\xff", "\xff", "\xff\xff",
	"\xff\xff\xff", "\xff\xff\xff\xff",
}

// seedScan writes scanKeys (value = key) in ax, and decoys with the same keys
// in other tenants and tables, which no Scan of ax may return.
func seedScan(t *testing.T, s store.Store) (sorted []string, revs map[string]int64) {
	t.Helper()
	revs = make(map[string]int64)
	update(t, s, ax, func(tx store.Tx) error {
		for _, k := range scanKeys {
			rev, err := tx.Put(regional, k, []byte(k))
			noErr(t, "Put", err)
			revs[k] = rev
			_, err = tx.Put(regional2, k, []byte("decoy"))
			noErr(t, "Put", err)
		}
		return nil
	})
	for _, ctx := range []context.Context{ay, bx} {
		update(t, s, ctx, func(tx store.Tx) error {
			for _, k := range []string{"a", "a\xff", "\xff", "\xff\xff\xff\xff", "b"} {
				_, err := tx.Put(regional, k, []byte("decoy"))
				noErr(t, "Put", err)
			}
			return nil
		})
	}
	sorted = slices.Clone(scanKeys)
	slices.Sort(sorted) // Go orders strings by bytes
	return sorted, revs
}

func expectScan(sorted []string, prefix, after string, limit int) []string {
	var want []string
	for _, k := range sorted {
		if !strings.HasPrefix(k, prefix) || (after != "" && k <= after) {
			continue
		}
		if limit > 0 && len(want) == limit {
			break
		}
		want = append(want, k)
	}
	return want
}

func testScan(t *testing.T, s store.Store) {
	sorted, revs := seedScan(t, s)
	check := func(tx store.Tx, prefix, after string, limit int) {
		t.Helper()
		items, err := tx.Scan(regional, prefix, after, limit)
		if err != nil {
			t.Fatalf("Scan(%q, %q, %d): %v", prefix, after, limit, err)
		}
		want := expectScan(sorted, prefix, after, limit)
		if got := keysOf(items); !slices.Equal(got, want) {
			t.Fatalf("Scan(prefix %q, after %q, limit %d)\n got %q\nwant %q", prefix, after, limit, got, want)
		}
		for _, it := range items {
			if string(it.Value) != it.Key || it.Revision != revs[it.Key] {
				t.Fatalf("Scan item %q = %q@%d, want %q@%d", it.Key, it.Value, it.Revision, it.Key, revs[it.Key])
			}
		}
	}
	all := func(tx store.Tx) error {
		for _, p := range scanPrefixes {
			for _, a := range scanAfters {
				for _, l := range []int{0, -1, 1, 2, 3, len(scanKeys), len(scanKeys) + 5} {
					check(tx, p, a, l)
				}
			}
		}
		return nil
	}
	// The same answers in a View and inside an Update.
	view(t, s, ax, all)
	update(t, s, ax, all)

	// Keys that are not the item's own: after need not exist, and a prefix
	// past every key or before every key returns nothing.
	view(t, s, ax, func(tx store.Tx) error {
		items, err := tx.Scan(regional, "nothing-here", "", 0)
		noErr(t, "Scan", err)
		if len(items) != 0 {
			t.Fatalf("Scan of an absent prefix = %q", keysOf(items))
		}
		return nil
	})
	// Other tenants see only their decoys.
	view(t, s, bx, func(tx store.Tx) error {
		items, err := tx.Scan(regional, "", "", 0)
		noErr(t, "Scan", err)
		if got, want := keysOf(items), []string{"a", "b", "a\xff", "\xff", "\xff\xff\xff\xff"}; !sameSet(got, want) || !slices.IsSorted(got) {
			t.Fatalf("Scan in another tenant = %q", got)
		}
		return nil
	})
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func testScanPagination(t *testing.T, s store.Store) {
	sorted, _ := seedScan(t, s)
	for _, prefix := range []string{"", "a", "a\xff", "\xff"} {
		for _, page := range []int{1, 2, 3, 7, 100} {
			var got []string
			after := ""
			view(t, s, ax, func(tx store.Tx) error {
				for range len(sorted) + 2 {
					items, err := tx.Scan(regional, prefix, after, page)
					noErr(t, "Scan", err)
					if len(items) > page {
						t.Fatalf("Scan(limit %d) returned %d items", page, len(items))
					}
					got = append(got, keysOf(items)...)
					if len(items) < page {
						return nil
					}
					after = items[len(items)-1].Key
				}
				t.Fatalf("paging prefix %q by %d did not end", prefix, page)
				return nil
			})
			if want := expectScan(sorted, prefix, "", 0); !slices.Equal(got, want) {
				t.Fatalf("pages of %d under %q\n got %q\nwant %q", page, prefix, got, want)
			}
		}
	}
}

// elsewhere is the same table in other tenants and another table in the
// same tenant: a DeleteRange in (regional, ax) must leave them alone.
var elsewhere = []scopedTable{
	{"regional2/ax", regional2, ax},
	{"regional/ay", regional, ay},
	{"regional/bx", regional, bx},
}

// scopedTable is a table seen from one tenant.
type scopedTable struct {
	name string
	tb   store.Table
	ctx  context.Context
}

func testDeleteRange(t *testing.T, s store.Store) {
	var keys []string
	for i := 1; i <= 10; i++ {
		keys = append(keys, fmt.Sprintf("log/%04d", i))
	}
	keys = append(keys, "log/\xff", "log/\xff\xff", "log0", "lof", "loh", "\xff\xff", "\xff\xff\xff")
	for _, e := range append(slices.Clone(elsewhere), scopedTable{"regional/ax", regional, ax}) {
		update(t, s, e.ctx, func(tx store.Tx) error {
			for _, k := range keys {
				_, err := tx.Put(e.tb, k, []byte("v"))
				noErr(t, "Put", err)
			}
			return nil
		})
	}

	remaining := slices.Clone(keys)
	slices.Sort(remaining)
	sweep := func(start, end string) int {
		t.Helper()
		want := 0
		for _, k := range remaining {
			if start <= k && k < end {
				want++
			}
		}
		var n int
		update(t, s, ax, func(tx store.Tx) error {
			var err error
			n, err = tx.DeleteRange(regional, start, end)
			return err
		})
		if n != want {
			t.Fatalf("DeleteRange(%q, %q) = %d, want %d", start, end, n, want)
		}
		remaining = slices.DeleteFunc(remaining, func(k string) bool { return start <= k && k < end })
		var got []string
		view(t, s, ax, func(tx store.Tx) error {
			items, err := tx.Scan(regional, "", "", 0)
			noErr(t, "Scan", err)
			got = keysOf(items)
			return nil
		})
		if !slices.Equal(got, remaining) {
			t.Fatalf("after DeleteRange(%q, %q)\n got %q\nwant %q", start, end, got, remaining)
		}
		return n
	}
	if n := sweep("log/0003", "log/0006"); n != 3 { // end is exclusive
		t.Fatalf("DeleteRange removed %d, want 3", n)
	}
	if n := sweep("log/0006", "log/0006"); n != 0 { // empty range
		t.Fatalf("empty DeleteRange removed %d", n)
	}
	if n := sweep("log/0009", "log/0001"); n != 0 { // end before start
		t.Fatalf("backwards DeleteRange removed %d", n)
	}
	sweep("log/0005", "log/0007") // start need not exist
	if n := sweep("log/\xff", "log/\xff\xff\xff"); n != 2 {
		t.Fatalf("DeleteRange over 0xFF keys removed %d, want 2", n)
	}
	sweep("lof", "log/")
	sweep("log0", "log1")
	if n := sweep("\xff\xff", "\xff\xff\xff\xff"); n != 2 {
		t.Fatalf("DeleteRange of 0xFF keys removed %d, want 2", n)
	}
	sweep("", "log/0010") // from the very start
	sweep("", "\xff")
	if len(remaining) != 0 {
		t.Fatalf("keys left: %q", remaining)
	}

	for _, e := range elsewhere {
		view(t, s, e.ctx, func(tx store.Tx) error {
			n, err := tx.Count(e.tb, "")
			noErr(t, "Count", err)
			if n != len(keys) {
				t.Fatalf("%s: DeleteRange in another scope removed keys: %d left of %d", e.name, n, len(keys))
			}
			return nil
		})
	}
}

func testCount(t *testing.T, s store.Store) {
	sorted, _ := seedScan(t, s)
	check := func(tx store.Tx) error {
		for _, p := range scanPrefixes {
			n, err := tx.Count(regional, p)
			noErr(t, "Count", err)
			if want := len(expectScan(sorted, p, "", 0)); n != want {
				t.Fatalf("Count(%q) = %d, want %d", p, n, want)
			}
		}
		return nil
	}
	view(t, s, ax, check)
	update(t, s, ax, check)
	view(t, s, ay, func(tx store.Tx) error {
		n, err := tx.Count(regional, "")
		noErr(t, "Count", err)
		if n != 5 {
			t.Fatalf("Count in another region = %d, want 5", n)
		}
		return nil
	})
}
