// Package logstore keeps CloudWatch Logs events on disk: per stream, an
// append-only series of segment files with a small time index, fsynced
// before an append returns (group commit across concurrent writers), a torn
// tail cut off when a stream is opened after a crash, and retention that
// deletes whole segments.
//
// Layout under the root directory:
//
//	<account>/<region>/<group-id>/<stream-id>/<seq:016x>.seg  records
//	<account>/<region>/<group-id>/<stream-id>/<seq:016x>.idx  index of a sealed segment (JSON)
//
// The record framing is described in record.go. Streams are loaded lazily,
// on first use, so opening the store costs nothing however much it holds.
// Metadata (groups, streams, names, retention, tags) is not here: it lives
// in the state store (package logs).
package logstore

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"sync"
	"sync/atomic"
)

// ErrDeleted: the stream was deleted while the caller used it.
var ErrDeleted = errors.New("logstore: stream deleted")

// Options tune a Store.
type Options struct {
	// SegmentBytes is the size at which a segment is sealed and a new one
	// started (default 4 MiB). Retention frees space a segment at a time.
	SegmentBytes int64
	// BlockBytes is the granularity of the in-segment time index (default 64 KiB).
	BlockBytes int64
	// MaxOpenFiles bounds the segment files kept open for appending
	// (default 1024); past it the least recently written streams' files
	// are synced and closed, and reopened on their next append.
	MaxOpenFiles int
	Logger       *slog.Logger
	root         string
	open         *atomic.Int64
}

// Ref names a stream on disk: the tenant and the group's and stream's ids
// (ids, not names, so a deleted and recreated group starts empty).
type Ref struct {
	Account, Region, Group, Stream string
}

var safeComponent = regexp.MustCompile(`^[A-Za-z0-9-]{1,64}$`)

func (r Ref) groupPath() (string, error) {
	for _, c := range []string{r.Account, r.Region, r.Group} {
		if !safeComponent.MatchString(c) {
			return "", fmt.Errorf("logstore: bad path component %q", c)
		}
	}
	return filepath.Join(r.Account, r.Region, r.Group), nil
}

func (r Ref) path() (string, error) {
	g, err := r.groupPath()
	if err != nil {
		return "", err
	}
	if !safeComponent.MatchString(r.Stream) {
		return "", fmt.Errorf("logstore: bad path component %q", r.Stream)
	}
	return filepath.Join(g, r.Stream), nil
}

// Event is one log event to store.
type Event struct {
	Timestamp int64 // ms since the epoch
	Message   string
}

// Position is where a record is: segment number and byte offset. Positions
// order records in a stream as they were stored.
type Position struct {
	Seg uint64
	Off int64
}

// Less orders positions.
func (p Position) Less(q Position) bool {
	return p.Seg < q.Seg || (p.Seg == q.Seg && p.Off < q.Off)
}

// Record is a stored event.
type Record struct {
	Pos       Position
	Timestamp int64
	Ingestion int64
	Message   string
	size      int64
}

// Next is the position just after r.
func (r Record) Next() Position { return Position{r.Pos.Seg, r.Pos.Off + r.size} }

// Range selects events by timestamp: Start <= t < End.
type Range struct{ Start, End int64 }

// All is the range of every timestamp.
var All = Range{math.MinInt64, math.MaxInt64}

// Stats summarise a stream.
type Stats struct {
	Bytes      int64
	Count      int
	FirstEvent int64 // 0 when empty
	LastEvent  int64
	LastIngest int64
}

// Store is the event store.
type Store struct {
	opts     Options
	syncer   *syncer
	mu       sync.Mutex
	evicting sync.Mutex // one closeIdle at a time
	streams  map[string]*stream
	gone     map[string]bool // deleted streams and groups, by path
	closed   bool
}

// Open opens (creating) the store under root.
func Open(root string, opts Options) (*Store, error) {
	if opts.SegmentBytes <= 0 {
		opts.SegmentBytes = 4 << 20
	}
	if opts.BlockBytes <= 0 {
		opts.BlockBytes = 64 << 10
	}
	if opts.MaxOpenFiles <= 0 {
		opts.MaxOpenFiles = 1024
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	opts.open = &atomic.Int64{}
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("logstore: %w", err)
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	opts.root = abs
	return &Store{opts: opts, syncer: newSyncer(), streams: map[string]*stream{}, gone: map[string]bool{}}, nil
}

// stream returns the loaded stream for ref.
func (s *Store) stream(ref Ref) (*stream, error) {
	p, err := ref.path()
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errors.New("logstore: closed")
	}
	if s.gone[p] || s.gone[filepath.Dir(p)] {
		return nil, ErrDeleted
	}
	if st, ok := s.streams[p]; ok {
		return st, nil
	}
	st := &stream{dir: filepath.Join(s.opts.root, p), opts: &s.opts}
	if err := st.load(); err != nil {
		return nil, fmt.Errorf("logstore: open stream %s: %w", p, err)
	}
	s.streams[p] = st
	return st, nil
}

// Append stores events (in the order given) with the ingestion time and
// returns once they are durable.
func (s *Store) Append(ref Ref, events []Event, ingest int64) error {
	if len(events) == 0 {
		return nil
	}
	st, err := s.stream(ref)
	if err != nil {
		return err
	}
	size := 0
	for _, e := range events {
		if len(e.Message) > MaxMessageBytes {
			return fmt.Errorf("logstore: message of %d bytes is too large", len(e.Message))
		}
		size += int(recordSize(len(e.Message)))
	}
	buf := make([]byte, 0, size)
	for _, e := range events {
		buf = appendRecord(buf, e.Timestamp, ingest, e.Message)
	}
	f, err := st.appendBatch(buf, events, ingest)
	if err != nil {
		return err
	}
	if s.opts.open.Load() > int64(s.opts.MaxOpenFiles) {
		s.closeIdle()
	}
	return s.syncer.sync(f)
}

// closeIdle syncs and closes the active files of the least recently
// written streams until half the open-file budget is left. Their waiting
// writers are covered: closing syncs first.
func (s *Store) closeIdle() {
	if !s.evicting.TryLock() {
		return
	}
	defer s.evicting.Unlock()
	s.mu.Lock()
	all := make([]*stream, 0, len(s.streams))
	for _, st := range s.streams {
		all = append(all, st)
	}
	s.mu.Unlock()
	sort.Slice(all, func(i, j int) bool { return all[i].lastUse.Load() < all[j].lastUse.Load() })
	for _, st := range all {
		if s.opts.open.Load() <= int64(s.opts.MaxOpenFiles/2) {
			return
		}
		if err := st.close(); err != nil {
			s.opts.Logger.Warn("logstore: close idle segment", "dir", st.dir, "err", err)
		}
	}
}

// Stats summarises a stream.
func (s *Store) Stats(ref Ref) (Stats, error) {
	st, err := s.stream(ref)
	if err != nil {
		return Stats{}, err
	}
	var out Stats
	for _, g := range st.snapshot() {
		if g.Count == 0 {
			continue
		}
		out.Bytes += g.Size
		if out.Count == 0 || g.MinT < out.FirstEvent {
			out.FirstEvent = g.MinT
		}
		if out.Count == 0 || g.MaxT > out.LastEvent {
			out.LastEvent = g.MaxT
		}
		out.LastIngest = max(out.LastIngest, g.MaxIngest)
		out.Count += g.Count
	}
	return out, nil
}

// Expire deletes the stream's segments whose newest event is older than
// before (ms) and returns the bytes freed.
func (s *Store) Expire(ref Ref, before int64) (int64, error) {
	st, err := s.stream(ref)
	if err != nil {
		return 0, err
	}
	return st.expire(before)
}

// DeleteStream removes a stream and its files.
func (s *Store) DeleteStream(ref Ref) error {
	p, err := ref.path()
	if err != nil {
		return err
	}
	return s.remove(p, func(k string) bool { return k == p })
}

// DeleteGroup removes every stream of a group.
func (s *Store) DeleteGroup(ref Ref) error {
	p, err := ref.groupPath()
	if err != nil {
		return err
	}
	return s.remove(p, func(k string) bool { return filepath.Dir(k) == p })
}

func (s *Store) remove(p string, match func(string) bool) error {
	s.mu.Lock()
	s.gone[p] = true
	var victims []*stream
	for k, st := range s.streams {
		if match(k) {
			victims = append(victims, st)
			delete(s.streams, k)
		}
	}
	s.mu.Unlock()
	for _, st := range victims {
		st.mu.Lock()
		st.deleted = true
		if st.active != nil {
			_ = st.active.Close()
			st.dropActive()
		}
		st.mu.Unlock()
	}
	if err := os.RemoveAll(filepath.Join(s.opts.root, p)); err != nil {
		return fmt.Errorf("logstore: delete %s: %w", p, err)
	}
	return nil
}

// Close syncs and closes every open stream.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	streams := s.streams
	s.streams = map[string]*stream{}
	s.mu.Unlock()
	var errs []error
	for _, st := range streams {
		if err := st.close(); err != nil {
			errs = append(errs, err)
		}
	}
	s.syncer.close()
	return errors.Join(errs...)
}
