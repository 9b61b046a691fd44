package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/storetest"
	"github.com/wharfhq/wharf/internal/tenancy"
)

var (
	items = store.Table{Name: "items", Scope: store.Regional}
	tctx  = tenancy.With(context.Background(), "123456789012", "us-east-1")
)

func openTemp(t testing.TB, opts ...Option) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "state.db"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTemp(t) })
}

// TestConformanceOneReader runs the suite with a single read connection,
// the tightest pool, to show that View never needs two.
func TestConformanceOneReader(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	storetest.Run(t, func(t *testing.T) store.Store { return openTemp(t, WithReaders(1)) })
}

func mustPut(t *testing.T, s *Store, key, val string) int64 {
	t.Helper()
	var rev int64
	err := s.Update(tctx, func(tx store.Tx) error {
		var err error
		rev, err = tx.Put(items, key, []byte(val))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return rev
}

func mustGet(t *testing.T, s *Store, key string) store.Item {
	t.Helper()
	var it store.Item
	err := s.View(tctx, func(tx store.Tx) error {
		var err error
		it, err = tx.Get(items, key)
		return err
	})
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return it
}

func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	r1 := mustPut(t, s, "a", "1")
	r2 := mustPut(t, s, "b", "2")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if it := mustGet(t, s, "a"); string(it.Value) != "1" || it.Revision != r1 {
		t.Fatalf("after reopen a = %q@%d, want 1@%d", it.Value, it.Revision, r1)
	}
	if it := mustGet(t, s, "b"); string(it.Value) != "2" || it.Revision != r2 {
		t.Fatalf("after reopen b = %q@%d, want 2@%d", it.Value, it.Revision, r2)
	}
	// The revision counter is persisted too: no revision is handed out twice.
	if r3 := mustPut(t, s, "a", "3"); r3 <= r2 {
		t.Fatalf("revision after reopen = %d, not above %d", r3, r2)
	}
}

func appliedVersions(t *testing.T, path string) []int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var vs []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return vs
}

func TestMigrationsIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	for i := range 3 {
		s, err := Open(path)
		if err != nil {
			t.Fatalf("open #%d: %v", i+1, err)
		}
		mustPut(t, s, "k", "v")
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		got := appliedVersions(t, path)
		if len(got) != len(migrations) {
			t.Fatalf("open #%d: schema_migrations holds %v, want %d versions", i+1, got, len(migrations))
		}
		for j, v := range got {
			if v != migrations[j].version {
				t.Fatalf("open #%d: schema_migrations holds %v", i+1, got)
			}
		}
	}
}

func TestMigrationsWellFormed(t *testing.T) {
	for i, m := range migrations {
		if m.version != i+1 {
			t.Errorf("migrations[%d] has version %d, want %d (ordered, no gaps)", i, m.version, i+1)
		}
		if m.name == "" || len(m.stmts) == 0 {
			t.Errorf("migration %d has no name or no statements", m.version)
		}
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.wconn.sc.ExecContext(context.Background(), `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'from the future', 0)`, len(migrations)+1)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err := Open(path); err == nil {
		s.Close()
		t.Fatal("Open accepted a database from a newer binary")
	} else if !strings.Contains(err.Error(), "newer") {
		t.Fatalf("Open: %v", err)
	}
}

func TestPragmas(t *testing.T) {
	s := openTemp(t, WithBusyTimeout(1234*time.Millisecond))
	defer s.Close()
	rc, err := s.readers.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	check := func(c *sql.Conn, name, want string) {
		t.Helper()
		var got string
		if err := c.QueryRowContext(context.Background(), "PRAGMA "+name).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if !strings.EqualFold(got, want) {
			t.Errorf("PRAGMA %s = %s, want %s", name, got, want)
		}
	}
	check(s.wconn.sc, "journal_mode", "wal")
	check(s.wconn.sc, "synchronous", "1") // NORMAL
	check(s.wconn.sc, "foreign_keys", "1")
	check(s.wconn.sc, "busy_timeout", "1234")
	check(s.wconn.sc, "query_only", "0")
	check(rc, "journal_mode", "wal")
	check(rc, "query_only", "1")
	check(rc, "busy_timeout", "1234")
}

// TestRangeQueriesUseThePrimaryKey checks that Scan, Count and DeleteRange
// are searches of a key range of the primary key, not scans of a tenant's
// whole table, also for prefixes that end in 0xFF.
func TestRangeQueriesUseThePrimaryKey(t *testing.T) {
	s := openTemp(t)
	defer s.Close()
	for _, id := range []stmtID{sScanGE, sScanGT, sScanGELT, sScanGTLT, sCountGE, sCountGELT, sDeleteRange, sGet} {
		rows, err := s.wconn.sc.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+queries[id], make([]any, strings.Count(queries[id], "?"))...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var a, b, c int
			var detail string
			if err := rows.Scan(&a, &b, &c, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		p := strings.Join(plan, "; ")
		if !strings.Contains(p, "SEARCH items USING PRIMARY KEY (tbl=? AND account=? AND region=? AND key") ||
			strings.Contains(p, "TEMP B-TREE") {
			t.Errorf("plan of %q:\n%s", queries[id], p)
		}
	}
}

func TestPrefixEnd(t *testing.T) {
	for _, c := range []struct {
		prefix, end string
		ok          bool
	}{
		{"", "", false},
		{"a", "b", true},
		{"ab", "ac", true},
		{"a\xff", "b", true},
		{"a\xff\xff", "b", true},
		{"\x00", "\x01", true},
		{"a\xfe", "a\xff", true},
		{"\xff", "", false},
		{"\xff\xff\xff", "", false},
		{"\xfe\xff", "\xff", true},
	} {
		end, ok := prefixEnd(c.prefix)
		if end != c.end || ok != c.ok {
			t.Errorf("prefixEnd(%q) = %q, %v; want %q, %v", c.prefix, end, ok, c.end, c.ok)
		}
	}
}

func TestOpenRejects(t *testing.T) {
	for _, p := range []string{"", ":memory:", "file:x.db", filepath.Join(t.TempDir(), "missing", "state.db")} {
		if s, err := Open(p); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", p)
		}
	}
	if _, err := Open(filepath.Join(t.TempDir(), "state.db"), WithReaders(0)); err == nil {
		t.Error("Open with no readers succeeded")
	}
}

func TestOddPath(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a dir?with#odd%chars")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "state.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, s, "k", "v")
	s.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database not at %s: %v", path, err)
	}
}

func TestClose(t *testing.T) {
	s := openTemp(t)
	mustPut(t, s, "k", "v")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := s.View(tctx, func(store.Tx) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Fatalf("View after Close: %v", err)
	}
	if err := s.Update(tctx, func(store.Tx) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Fatalf("Update after Close: %v", err)
	}
}

// TestCloseWaitsForUpdate: Close lets a running Update commit.
func TestCloseWaitsForUpdate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	started, release := make(chan struct{}), make(chan struct{})
	updated := make(chan error, 1)
	go func() {
		updated <- s.Update(tctx, func(tx store.Tx) error {
			close(started)
			<-release
			_, err := tx.Put(items, "k", []byte("v"))
			return err
		})
	}()
	<-started
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	close(release)
	if err := <-updated; err != nil {
		t.Fatalf("Update: %v", err)
	}
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mustGet(t, s, "k")
}

// TestUpdateWaitHonoursContext: an Update waiting for the writer gives up
// when its context ends.
func TestUpdateWaitHonoursContext(t *testing.T) {
	s := openTemp(t)
	defer s.Close()
	started, release := make(chan struct{}), make(chan struct{})
	updated := make(chan error, 1)
	go func() {
		updated <- s.Update(tctx, func(tx store.Tx) error {
			close(started)
			<-release
			return nil
		})
	}()
	<-started
	ctx, cancel := context.WithTimeout(tctx, 20*time.Millisecond)
	defer cancel()
	err := s.Update(ctx, func(store.Tx) error { return nil })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("waiting Update returned %v, want DeadlineExceeded", err)
	}
	close(release)
	if err := <-updated; err != nil {
		t.Fatal(err)
	}
}

// TestReadersDoNotWaitForWriter: with an Update open, as many Views as
// there are readers run to completion.
func TestReadersDoNotWaitForWriter(t *testing.T) {
	s := openTemp(t, WithReaders(3))
	defer s.Close()
	mustPut(t, s, "k", "v1")
	started, release := make(chan struct{}), make(chan struct{})
	updated := make(chan error, 1)
	go func() {
		updated <- s.Update(tctx, func(tx store.Tx) error {
			if _, err := tx.Put(items, "k", []byte("v2")); err != nil {
				return err
			}
			close(started)
			<-release
			return nil
		})
	}()
	<-started
	for range 10 {
		if it := mustGet(t, s, "k"); string(it.Value) != "v1" {
			t.Fatalf("View saw %q", it.Value)
		}
	}
	close(release)
	if err := <-updated; err != nil {
		t.Fatal(err)
	}
	if it := mustGet(t, s, "k"); string(it.Value) != "v2" {
		t.Fatalf("after commit View saw %q", it.Value)
	}
}

// TestPanicReleasesWriter: after a panicking Update the next one runs, and
// the revision counter did not move past the rolled-back writes' numbers
// in a way that matters (it only has to keep increasing).
func TestPanicReleasesWriter(t *testing.T) {
	s := openTemp(t)
	defer s.Close()
	r1 := mustPut(t, s, "k", "v1")
	func() {
		defer func() { _ = recover() }()
		_ = s.Update(tctx, func(tx store.Tx) error {
			_, _ = tx.Put(items, "k", []byte("v2"))
			panic("boom")
		})
	}()
	if r2 := mustPut(t, s, "k", "v3"); r2 <= r1 {
		t.Fatalf("revision %d after a rolled back Update, not above %d", r2, r1)
	}
}

// TestViewPanicReleasesReader: with one reader connection, a View that
// panics gives it back.
func TestViewPanicReleasesReader(t *testing.T) {
	s := openTemp(t, WithReaders(1))
	defer s.Close()
	mustPut(t, s, "k", "v")
	func() {
		defer func() { _ = recover() }()
		_ = s.View(tctx, func(tx store.Tx) error {
			_, _ = tx.Get(items, "k")
			panic("boom")
		})
	}()
	mustGet(t, s, "k")
}

// TestEngineErrorFailsUpdate: once a statement fails with an engine error,
// the transaction takes no more calls and is not committed, even if fn
// ignores the error and returns nil.
func TestEngineErrorFailsUpdate(t *testing.T) {
	s := openTemp(t)
	defer s.Close()
	ctx, cancel := context.WithCancel(tctx)
	err := s.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.Put(items, "a", []byte("1")); err != nil {
			return err
		}
		cancel()
		_, err := tx.Put(items, "b", []byte("2")) // fails: context canceled
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Put after cancel: %v", err)
		}
		_, err = tx.Get(items, "a")
		if err == nil || errors.Is(err, store.ErrNotFound) {
			t.Errorf("Get after an engine error: %v, want the earlier failure", err)
		}
		return nil // ignores the failure
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Update = %v, want context.Canceled", err)
	}
	err = s.View(tctx, func(tx store.Tx) error {
		_, err := tx.Get(items, "a")
		return err
	})
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("write of a failed Update is visible: %v", err)
	}
	mustPut(t, s, "c", "3") // the writer is still usable
}
