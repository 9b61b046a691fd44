// Package sqlite is the embedded engine of the state store: a store.Store on
// one SQLite database file, through modernc.org/sqlite (pure Go, so the wharf
// binary needs no cgo).
//
// # Concurrency
//
// The database runs in WAL mode. All Update transactions go through one
// writer connection: they are serialized in Go (a one-slot semaphore that
// also honours the caller's context while waiting) and each starts with
// BEGIN IMMEDIATE, so it holds SQLite's write lock from its first statement
// and never fails half-way with SQLITE_BUSY. View transactions run on a
// separate pool of read-only connections (PRAGMA query_only, WithReaders
// of them); in WAL mode a reader works on the snapshot that was committed
// when it first read, and never waits for the writer, nor the writer for
// it. Update transactions are therefore serializable, and View
// transactions see one consistent committed snapshot.
//
// The store holds its connections for its whole life, each with its
// statements prepared once, and runs BEGIN/COMMIT/ROLLBACK itself (see
// conn.go for why not database/sql's transactions).
//
// Do not call Update from inside an Update function: the inner call waits
// for the writer the outer one holds, until its context ends. A View inside
// an Update does not see the Update's uncommitted writes. A store.Tx is
// used by one goroutine and only while its function runs; after an engine
// error (not ErrNotFound or ErrConflict, which are answers) it refuses
// further calls and the Update is not committed.
//
// # Durability
//
// synchronous=NORMAL in WAL mode: a commit appends the transaction to the
// WAL file with write(2) before Update returns, and the WAL is fsynced at
// each checkpoint rather than at each commit. A committed transaction
// survives a crash or SIGKILL of the process (the data is in the operating
// system's page cache, and SQLite recovers the WAL on the next open). A
// power loss or kernel crash can lose the last transactions committed
// before it, but never corrupts the database. The crash test in this
// package kills a writing child process with SIGKILL and checks that every
// acknowledged commit is there after reopening.
//
// The persistent layout (tables, key shape, revisions) is documented in
// migrations.go, where it is created.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/wharfhq/wharf/internal/store"
)

// ErrClosed is returned by View and Update after Close.
var ErrClosed = errors.New("sqlite: store is closed")

var _ store.Store = (*Store)(nil)

// Store is a store.Store backed by one SQLite database file. It is safe for
// concurrent use.
type Store struct {
	path    string
	log     *slog.Logger
	writer  *sql.DB // one connection, BEGIN IMMEDIATE
	readers *sql.DB // query_only connections

	// writeSem has one slot: holding it is the right to run an Update and
	// to use wconn, which is nil until first needed (or after a discard).
	writeSem chan struct{}
	wconn    *conn
	// rconns holds the idle reader connections, nil ones not opened yet.
	rconns chan *conn

	closed    chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// Option configures Open.
type Option func(*options)

type options struct {
	log         *slog.Logger
	readers     int
	busyTimeout time.Duration
	cacheKiB    int
}

// WithLogger sets the logger for migrations and other rare events. The
// default discards them.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.log = l }
}

// WithReaders sets how many read connections View may use at once (default
// max(4, GOMAXPROCS)). A View beyond that waits for a free connection.
func WithReaders(n int) Option {
	return func(o *options) { o.readers = n }
}

// WithBusyTimeout sets how long a connection waits for a lock held by
// another process, or for WAL recovery, before failing (default 5s). Within
// one process the writer is serialized in Go and readers never wait for it.
func WithBusyTimeout(d time.Duration) Option {
	return func(o *options) { o.busyTimeout = d }
}

// WithCacheSize sets SQLite's page cache per connection, in KiB (default
// 8192).
func WithCacheSize(kib int) Option {
	return func(o *options) { o.cacheKiB = kib }
}

// Open opens, creating it if needed, the database file at path, whose
// directory must exist, and applies pending migrations. The file is used
// with its -wal and -shm companions; keep the three together.
func Open(path string, opts ...Option) (*Store, error) {
	o := options{
		log:         slog.New(slog.DiscardHandler),
		readers:     max(4, runtime.GOMAXPROCS(0)),
		busyTimeout: 5 * time.Second,
		cacheKiB:    8192,
	}
	for _, opt := range opts {
		opt(&o)
	}
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("sqlite: open %q: want the path of a database file", path)
	}
	if o.readers < 1 {
		return nil, fmt.Errorf("sqlite: open %s: readers must be at least 1, not %d", path, o.readers)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}

	common := []string{
		"busy_timeout(" + strconv.FormatInt(o.busyTimeout.Milliseconds(), 10) + ")",
		"foreign_keys(ON)",
		"cache_size(-" + strconv.Itoa(o.cacheKiB) + ")",
		"temp_store(MEMORY)",
	}
	// journal_mode is stored in the file: set by the writer, which opens
	// first, it holds for the readers too.
	writerDSN := dsn(abs, append(common, "journal_mode(WAL)", "synchronous(NORMAL)"), "immediate")
	readerDSN := dsn(abs, append(common, "query_only(ON)"), "")

	s := &Store{
		path:     abs,
		log:      o.log,
		writeSem: make(chan struct{}, 1),
		rconns:   make(chan *conn, o.readers),
		closed:   make(chan struct{}),
	}
	for range o.readers {
		s.rconns <- nil
	}
	s.writer, err = sql.Open("sqlite", writerDSN)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	s.writer.SetMaxOpenConns(1)
	s.writer.SetMaxIdleConns(1)
	s.writer.SetConnMaxLifetime(0)
	s.writer.SetConnMaxIdleTime(0)

	s.readers, err = sql.Open("sqlite", readerDSN)
	if err != nil {
		_ = s.writer.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	s.readers.SetMaxOpenConns(o.readers)
	s.readers.SetMaxIdleConns(o.readers)
	s.readers.SetConnMaxLifetime(0)
	s.readers.SetConnMaxIdleTime(0)

	if err := s.init(context.Background()); err != nil {
		_ = s.closeAll()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	o.log.Debug("store opened", "path", abs, "readers", o.readers)
	return s, nil
}

// init checks the pragmas took, migrates, and opens the writer connection.
func (s *Store) init(ctx context.Context) error {
	var mode string
	if err := s.writer.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return err
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("journal_mode is %q, not wal (does the file system support shared memory?)", mode)
	}
	if err := migrate(ctx, s.writer, s.log); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	c, err := openConn(ctx, s.writer, numStmts, "BEGIN IMMEDIATE")
	if err != nil {
		return err
	}
	s.wconn = c
	return nil
}

// dsn builds a modernc.org/sqlite data source name. The path is escaped, so
// a file name may contain '?', '#' or '%'.
func dsn(path string, pragmas []string, txlock string) string {
	q := url.Values{}
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	if txlock != "" {
		q.Set("_txlock", txlock)
	}
	return "file:" + (&url.URL{Path: filepath.ToSlash(path)}).EscapedPath() + "?" + q.Encode()
}

// Path returns the absolute path of the database file.
func (s *Store) Path() string { return s.path }

// View runs fn in a read-only transaction on a snapshot of the committed
// state. Writes inside fn fail with store.ErrReadOnly. View returns fn's
// error unchanged.
func (s *Store) View(ctx context.Context, fn func(store.Tx) error) error {
	if err := s.usable(ctx); err != nil {
		return fmt.Errorf("sqlite: view: %w", err)
	}
	var c *conn
	select {
	case c = <-s.rconns:
	case <-ctx.Done():
		return fmt.Errorf("sqlite: view: %w", ctx.Err())
	case <-s.closed:
		return fmt.Errorf("sqlite: view: %w", ErrClosed)
	}
	defer func() { s.rconns <- c }() // c is nil if it was discarded
	if c == nil {
		var err error
		if c, err = openConn(ctx, s.readers, numReadStmts, "BEGIN"); err != nil {
			return fmt.Errorf("sqlite: view: %w", ctxErr(ctx, err))
		}
	}

	// BEGIN (deferred): the snapshot is taken by the first read.
	if _, err := c.begin.ExecContext(ctx); err != nil {
		return fmt.Errorf("sqlite: view: begin: %w", ctxErr(ctx, err))
	}
	t := newTx(ctx, c, false)
	defer func() {
		t.done = true
		c = s.end(c) // nothing to keep: ROLLBACK ends the snapshot
	}()
	return fn(t)
}

// Update runs fn in a read-write transaction, committed if fn returns nil
// and rolled back otherwise; fn's error is returned unchanged. If fn panics
// the transaction is rolled back and the panic goes on. If ctx ends before
// the commit, nothing is committed and the context's error is returned.
// An engine error inside fn fails the whole transaction even if fn
// ignores it.
func (s *Store) Update(ctx context.Context, fn func(store.Tx) error) error {
	if err := s.usable(ctx); err != nil {
		return fmt.Errorf("sqlite: update: %w", err)
	}
	select {
	case s.writeSem <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("sqlite: update: %w", ctx.Err())
	case <-s.closed:
		return fmt.Errorf("sqlite: update: %w", ErrClosed)
	}
	defer func() { <-s.writeSem }()
	if err := s.usable(ctx); err != nil {
		return fmt.Errorf("sqlite: update: %w", err)
	}
	if s.wconn == nil {
		c, err := openConn(ctx, s.writer, numStmts, "BEGIN IMMEDIATE")
		if err != nil {
			return fmt.Errorf("sqlite: update: %w", ctxErr(ctx, err))
		}
		s.wconn = c
	}

	c := s.wconn
	if _, err := c.begin.ExecContext(ctx); err != nil {
		return fmt.Errorf("sqlite: update: begin: %w", ctxErr(ctx, err))
	}
	t := newTx(ctx, c, true)
	committed := false
	defer func() {
		// Runs on return and on panic alike; a panic keeps unwinding after.
		t.done = true
		if !committed {
			s.wconn = s.end(c)
		}
	}()

	if err := fn(t); err != nil {
		return err
	}
	if t.err != nil {
		return fmt.Errorf("sqlite: update: not committed: %w", t.err)
	}
	if err := t.saveRevision(); err != nil {
		return fmt.Errorf("sqlite: update: %w", ctxErr(ctx, err))
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sqlite: update: %w", err)
	}
	// COMMIT runs whatever ctx does now: once it starts, the outcome must
	// be known, and a COMMIT in WAL mode does not wait for readers.
	if _, err := c.commit.ExecContext(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("sqlite: update: commit: %w", err)
	}
	committed = true
	return nil
}

// end rolls back the transaction open on c and returns c, or nil when the
// ROLLBACK failed: c may then still be inside a transaction (or SQLite
// already rolled it back after an error), so it is discarded and the next
// user opens a fresh connection.
func (s *Store) end(c *conn) *conn {
	if _, err := c.rollback.ExecContext(context.Background()); err != nil {
		s.log.Debug("store connection discarded after a failed rollback", "err", err)
		c.discard()
		return nil
	}
	return c
}

func (s *Store) usable(ctx context.Context) error {
	select {
	case <-s.closed:
		return ErrClosed
	default:
	}
	return ctx.Err()
}

// Close waits for running transactions to finish, then closes the
// database. Further View and Update calls return ErrClosed. Close is
// idempotent.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.closed)
		s.writeSem <- struct{}{} // wait for the running Update; never released
		s.closeErr = s.closeAll()
	})
	return s.closeErr
}

// closeAll takes back every reader connection (waiting for running Views)
// and closes everything. Readers go first: when the writer, the last
// connection, closes, SQLite checkpoints the WAL into the database file and
// removes it.
func (s *Store) closeAll() error {
	var errs []error
	for range cap(s.rconns) {
		if c := <-s.rconns; c != nil {
			errs = append(errs, c.close())
		}
	}
	if s.wconn != nil {
		errs = append(errs, s.wconn.close())
		s.wconn = nil
	}
	return errors.Join(append(errs, s.readers.Close(), s.writer.Close())...)
}

// ctxErr prefers the context's error when the context has ended, so callers
// can test errors.Is(err, context.Canceled) whatever the driver said.
func ctxErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w (%v)", cerr, err)
	}
	return err
}
