package storetest

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/internal/store"
)

func testGetMissing(t *testing.T, s store.Store) {
	wantMissing(t, s, ax, regional, "nope")
	update(t, s, ax, func(tx store.Tx) error {
		_, err := tx.Get(regional, "nope")
		wantErr(t, "Get in Update", err, store.ErrNotFound)
		return nil
	})
}

func testPutGet(t *testing.T, s store.Store) {
	update(t, s, ax, func(tx store.Tx) error {
		rev, err := tx.Put(regional, "k", []byte(`{"a":1}`))
		noErr(t, "Put", err)
		if rev <= 0 {
			t.Fatalf("Put returned revision %d, want > 0", rev)
		}
		it, err := tx.Get(regional, "k")
		noErr(t, "Get in the same Update", err)
		if it.Key != "k" || string(it.Value) != `{"a":1}` || it.Revision != rev {
			t.Fatalf("Get in the same Update = %+v, want k={\"a\":1} at %d", it, rev)
		}
		return nil
	})
	it := wantValue(t, s, ax, regional, "k", `{"a":1}`)
	if it.Revision <= 0 {
		t.Fatalf("Revision = %d, want > 0", it.Revision)
	}
	update(t, s, ax, func(tx store.Tx) error {
		got, err := tx.Get(regional, "k")
		noErr(t, "Get in a later Update", err)
		if got.Revision != it.Revision || string(got.Value) != `{"a":1}` {
			t.Fatalf("Get in a later Update = %+v, want %+v", got, it)
		}
		return nil
	})
}

func testRevisions(t *testing.T, s store.Store) {
	var seen []int64 // every revision "k" has had, in order
	last := func() int64 { return seen[len(seen)-1] }
	check := func(what string, rev int64) {
		t.Helper()
		if rev <= 0 {
			t.Fatalf("%s: revision %d, want > 0", what, rev)
		}
		for _, old := range seen {
			if rev <= old {
				t.Fatalf("%s: revision %d, not above the earlier revision %d of the key (history %v)", what, rev, old, seen)
			}
		}
		seen = append(seen, rev)
	}

	check("first Put", put(t, s, ax, regional, "k", "v1"))
	check("second Put", put(t, s, ax, regional, "k", "v2"))
	put(t, s, ax, regional, "other", "x") // writes of other keys do not matter
	check("Put after another key's write", put(t, s, ax, regional, "k", "v3"))
	if it := wantValue(t, s, ax, regional, "k", "v3"); it.Revision != last() {
		t.Fatalf("Get revision = %d, want the last Put's %d", it.Revision, last())
	}

	update(t, s, ax, func(tx store.Tx) error {
		a, err := tx.Put(regional, "k", []byte("v4"))
		noErr(t, "Put", err)
		check("Put in a transaction", a)
		b, err := tx.Put(regional, "k", []byte("v5"))
		noErr(t, "Put", err)
		check("second Put in the same transaction", b)
		c, err := tx.PutIf(regional, "k", []byte("v6"), b)
		noErr(t, "PutIf", err)
		check("PutIf in the same transaction", c)
		return nil
	})
	if it := wantValue(t, s, ax, regional, "k", "v6"); it.Revision != last() {
		t.Fatalf("Get revision = %d, want %d", it.Revision, last())
	}

	// Delete and create again: the new revision must still be above every
	// revision the key had, or a stale PutIf could succeed (ABA).
	update(t, s, ax, func(tx store.Tx) error { return tx.Delete(regional, "k") })
	check("Put after Delete", put(t, s, ax, regional, "k", "v7"))
	update(t, s, ax, func(tx store.Tx) error { return tx.DeleteIf(regional, "k", last()) })
	update(t, s, ax, func(tx store.Tx) error {
		rev, err := tx.PutIf(regional, "k", []byte("v8"), 0)
		noErr(t, "PutIf(0) after DeleteIf", err)
		check("PutIf(0) after DeleteIf", rev)
		return nil
	})
	update(t, s, ax, func(tx store.Tx) error {
		noErr(t, "Delete", tx.Delete(regional, "k"))
		rev, err := tx.Put(regional, "k", []byte("v9"))
		noErr(t, "Put", err)
		check("Put after Delete in the same transaction", rev)
		return nil
	})
	// Every stale revision now conflicts.
	for _, old := range seen[:len(seen)-1] {
		update(t, s, ax, func(tx store.Tx) error {
			_, err := tx.PutIf(regional, "k", []byte("stale"), old)
			wantErr(t, "PutIf at an old revision", err, store.ErrConflict)
			return nil
		})
	}
	wantValue(t, s, ax, regional, "k", "v9")
}

func testPutIf(t *testing.T, s store.Store) {
	var r1, r2 int64
	update(t, s, ax, func(tx store.Tx) error {
		var err error
		r1, err = tx.PutIf(regional, "k", []byte("v1"), 0)
		noErr(t, "PutIf(0) on a missing key", err)
		return nil
	})
	update(t, s, ax, func(tx store.Tx) error {
		_, err := tx.PutIf(regional, "k", []byte("dup"), 0)
		wantErr(t, "PutIf(0) on an existing key", err, store.ErrConflict)
		return nil
	})
	if it := wantValue(t, s, ax, regional, "k", "v1"); it.Revision != r1 {
		t.Fatalf("revision after a failed PutIf = %d, want %d", it.Revision, r1)
	}
	update(t, s, ax, func(tx store.Tx) error {
		var err error
		r2, err = tx.PutIf(regional, "k", []byte("v2"), r1)
		noErr(t, "PutIf at the current revision", err)
		return nil
	})
	if r2 <= r1 {
		t.Fatalf("PutIf revision %d, not above %d", r2, r1)
	}
	update(t, s, ax, func(tx store.Tx) error {
		_, err := tx.PutIf(regional, "k", []byte("stale"), r1)
		wantErr(t, "PutIf at a stale revision", err, store.ErrConflict)
		_, err = tx.PutIf(regional, "k", []byte("future"), r2+1000)
		wantErr(t, "PutIf at a future revision", err, store.ErrConflict)
		_, err = tx.PutIf(regional, "missing", []byte("x"), r2)
		wantErr(t, "PutIf(rev>0) on a missing key", err, store.ErrConflict)
		_, err = tx.PutIf(regional, "missing", []byte("x"), -1)
		wantErr(t, "PutIf(-1) on a missing key", err, store.ErrConflict)
		return nil
	})
	if it := wantValue(t, s, ax, regional, "k", "v2"); it.Revision != r2 {
		t.Fatalf("revision = %d, want %d", it.Revision, r2)
	}
	wantMissing(t, s, ax, regional, "missing")
}

func testDelete(t *testing.T, s store.Store) {
	update(t, s, ax, func(tx store.Tx) error {
		wantErr(t, "Delete of a missing key", tx.Delete(regional, "k"), store.ErrNotFound)
		return nil
	})
	put(t, s, ax, regional, "k", "v")
	put(t, s, ax, regional, "k2", "v")
	update(t, s, ax, func(tx store.Tx) error { return tx.Delete(regional, "k") })
	wantMissing(t, s, ax, regional, "k")
	wantValue(t, s, ax, regional, "k2", "v")
	update(t, s, ax, func(tx store.Tx) error {
		wantErr(t, "second Delete", tx.Delete(regional, "k"), store.ErrNotFound)
		return nil
	})
}

func testDeleteIf(t *testing.T, s store.Store) {
	update(t, s, ax, func(tx store.Tx) error {
		wantErr(t, "DeleteIf(1) of a missing key", tx.DeleteIf(regional, "k", 1), store.ErrNotFound)
		wantErr(t, "DeleteIf(0) of a missing key", tx.DeleteIf(regional, "k", 0), store.ErrNotFound)
		return nil
	})
	rev := put(t, s, ax, regional, "k", "v")
	update(t, s, ax, func(tx store.Tx) error {
		wantErr(t, "DeleteIf at a wrong revision", tx.DeleteIf(regional, "k", rev+1), store.ErrConflict)
		wantErr(t, "DeleteIf(0) of an existing key", tx.DeleteIf(regional, "k", 0), store.ErrConflict)
		return nil
	})
	wantValue(t, s, ax, regional, "k", "v")
	rev2 := put(t, s, ax, regional, "k", "v2")
	update(t, s, ax, func(tx store.Tx) error {
		wantErr(t, "DeleteIf at a stale revision", tx.DeleteIf(regional, "k", rev), store.ErrConflict)
		return nil
	})
	update(t, s, ax, func(tx store.Tx) error { return tx.DeleteIf(regional, "k", rev2) })
	wantMissing(t, s, ax, regional, "k")
}

func testErrorsKeepTxUsable(t *testing.T, s store.Store) {
	rev := put(t, s, ax, regional, "existing", "v")
	update(t, s, ax, func(tx store.Tx) error {
		_, err := tx.Get(regional, "missing")
		wantErr(t, "Get", err, store.ErrNotFound)
		_, err = tx.PutIf(regional, "existing", []byte("x"), rev+7)
		wantErr(t, "PutIf", err, store.ErrConflict)
		_, err = tx.PutIf(regional, "existing", []byte("x"), 0)
		wantErr(t, "PutIf(0)", err, store.ErrConflict)
		wantErr(t, "Delete", tx.Delete(regional, "missing"), store.ErrNotFound)
		wantErr(t, "DeleteIf", tx.DeleteIf(regional, "existing", rev+7), store.ErrConflict)
		wantErr(t, "DeleteIf", tx.DeleteIf(regional, "missing", 1), store.ErrNotFound)
		_, err = tx.Put(regional, "after", []byte("ok"))
		noErr(t, "Put after failed calls", err)
		_, err = tx.PutIf(regional, "existing", []byte("v2"), rev)
		noErr(t, "PutIf after failed calls", err)
		return nil
	})
	wantValue(t, s, ax, regional, "after", "ok")
	wantValue(t, s, ax, regional, "existing", "v2")
}

func testValues(t *testing.T, s store.Store) {
	all := make([]byte, 0, 512)
	for i := range 512 {
		all = append(all, byte(i))
	}
	update(t, s, ax, func(tx store.Tx) error {
		_, err := tx.Put(regional, "empty", []byte{})
		noErr(t, "Put empty", err)
		_, err = tx.Put(regional, "nil", nil)
		noErr(t, "Put nil", err)
		_, err = tx.PutIf(regional, "nil-if", nil, 0)
		noErr(t, "PutIf nil", err)
		_, err = tx.Put(regional, "bytes", all)
		noErr(t, "Put every byte", err)
		return nil
	})
	for _, k := range []string{"empty", "nil", "nil-if"} {
		if it := mustGet(t, s, ax, regional, k); len(it.Value) != 0 {
			t.Fatalf("Get(%q) = %q, want an empty value", k, it.Value)
		}
	}
	if it := mustGet(t, s, ax, regional, "bytes"); !bytes.Equal(it.Value, all) {
		t.Fatalf("value with every byte came back as %q", it.Value)
	}

	// The store keeps its own copy: the caller may reuse both buffers.
	buf := []byte("original")
	update(t, s, ax, func(tx store.Tx) error {
		_, err := tx.Put(regional, "copy", buf)
		copy(buf, "CHANGED!")
		noErr(t, "Put", err)
		it, err := tx.Get(regional, "copy")
		noErr(t, "Get", err)
		if string(it.Value) != "original" {
			t.Fatalf("Get after the caller changed its buffer = %q, want original", it.Value)
		}
		copy(it.Value, "XXXXXXXX")
		return nil
	})
	it := wantValue(t, s, ax, regional, "copy", "original")
	copy(it.Value, "YYYYYYYY")
	wantValue(t, s, ax, regional, "copy", "original")
}

func testLargeValues(t *testing.T, s store.Store) {
	rng := rand.NewChaCha8([32]byte{1})
	big := make([]byte, 1<<20)
	_, _ = rng.Read(big)
	big2 := make([]byte, 1<<20+123)
	_, _ = rng.Read(big2)

	rev := int64(0)
	update(t, s, ax, func(tx store.Tx) error {
		var err error
		rev, err = tx.Put(regional, "big", big)
		noErr(t, "Put 1 MiB", err)
		it, err := tx.Get(regional, "big")
		noErr(t, "Get 1 MiB in the same Update", err)
		if !bytes.Equal(it.Value, big) {
			t.Fatalf("1 MiB value changed within the transaction")
		}
		return nil
	})
	if it := mustGet(t, s, ax, regional, "big"); !bytes.Equal(it.Value, big) {
		t.Fatalf("1 MiB value came back different (%d bytes)", len(it.Value))
	}
	update(t, s, ax, func(tx store.Tx) error {
		_, err := tx.PutIf(regional, "big", big2, rev)
		noErr(t, "PutIf 1 MiB over 1 MiB", err)
		// A few more, to make pages overflow in every direction.
		for i := range 8 {
			_, err := tx.Put(regional, "big/"+string(rune('a'+i)), big[i*1000:])
			noErr(t, "Put", err)
		}
		return nil
	})
	view(t, s, ax, func(tx store.Tx) error {
		items, err := tx.Scan(regional, "big", "", 0)
		noErr(t, "Scan", err)
		if len(items) != 9 {
			t.Fatalf("Scan returned %d items, want 9", len(items))
		}
		if !bytes.Equal(items[0].Value, big2) {
			t.Fatalf("Scan returned a different 1 MiB value")
		}
		for i, it := range items[1:] {
			if !bytes.Equal(it.Value, big[i*1000:]) {
				t.Fatalf("Scan item %q has a different value", it.Key)
			}
		}
		return nil
	})
}

// testKeys checks that keys are bytes: any byte survives, and distinct byte
// strings are distinct keys (no case folding, no normalisation, no
// truncation at 0x00).
func testKeys(t *testing.T, s store.Store) {
	keys := []string{
		"\x00", "\x00\x00", "a\x00", "a\x00b", "a", "A", "\xff", "\xff\xff",
		"\xc3\x28", // invalid UTF-8
		"é", "e\u0301", "ключ/ü", "with space", "a/b/c", "%", "_", "'", `"`, `\`,
		strings.Repeat("long/", 200),
	}
	update(t, s, ax, func(tx store.Tx) error {
		for _, k := range keys {
			_, err := tx.Put(regional, k, []byte(k))
			noErr(t, "Put", err)
		}
		return nil
	})
	for _, k := range keys {
		wantValue(t, s, ax, regional, k, k)
	}
	view(t, s, ax, func(tx store.Tx) error {
		items, err := tx.Scan(regional, "", "", 0)
		noErr(t, "Scan", err)
		if len(items) != len(keys) {
			t.Fatalf("Scan returned %d keys, want %d: %q", len(items), len(keys), keysOf(items))
		}
		for _, it := range items {
			if it.Key != string(it.Value) {
				t.Fatalf("Scan item key %q has value %q", it.Key, it.Value)
			}
		}
		return nil
	})
	// LIKE and GLOB wildcards are plain bytes in a prefix.
	view(t, s, ax, func(tx store.Tx) error {
		for _, p := range []string{"%", "_", "'"} {
			n, err := tx.Count(regional, p)
			noErr(t, "Count", err)
			if n != 1 {
				t.Fatalf("Count(%q) = %d, want 1", p, n)
			}
		}
		return nil
	})
}
