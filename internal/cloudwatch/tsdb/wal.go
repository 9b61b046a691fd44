package tsdb

import (
	"bufio"
	"encoding/binary"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// On-disk layout of a store directory (version 1):
//
//	snapshot        gob of snapshotFile: every series and its tiers, and the
//	                generation of the first write-ahead log not folded in
//	wal-<gen>       write-ahead logs: records of [len uint32][crc32 uint32]
//	                [JSON walRecord], one per Add, fsynced before Add returns
//
// Open loads the snapshot and replays every wal-<gen> with gen >= the
// snapshot's, stopping at a torn record (a crash mid-append: that Add never
// returned). Checkpoint starts wal-<gen+1>, writes a snapshot naming gen+1
// (temporary file, fsync, rename) and deletes older logs, so a crash at any
// step neither loses nor double-counts a datum.

const snapshotVersion = 1

type walRecord struct {
	A, R string
	D    []Datum
}

type snapshotSeries struct {
	Tenant Tenant
	Metric Metric
	Unit   string
	Last   int64
	Tiers  [][]Point
}

type snapshotFile struct {
	Version int
	NextGen int64
	Series  []snapshotSeries
}

type wal struct {
	dir  string
	gen  int64
	f    *os.File
	sync bool

	written atomic.Uint64 // sequence number of the last record written
	syncMu  sync.Mutex    // one fsync at a time; held by Checkpoint too
	synced  uint64        // last record known durable (under syncMu)
}

// Options configure Open.
type Options struct {
	Now func() time.Time
	// NoSync skips fsync after each Add (benchmarks of the in-memory path).
	NoSync bool
	// MaxSeries bounds the number of series (default DefaultMaxSeries;
	// negative: no bound). Data already logged is always loaded.
	MaxSeries int
}

// DefaultMaxSeries is the series bound of a store opened with Open.
const DefaultMaxSeries = 1_000_000

// Open opens (creating) the store kept in dir.
func Open(dir string, opts Options) (*DB, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("tsdb: %w", err)
	}
	db := NewMemory(opts.Now)
	snap, err := readSnapshot(filepath.Join(dir, "snapshot"))
	if err != nil {
		return nil, err
	}
	for _, ss := range snap.Series {
		m := db.tenants[ss.Tenant]
		if m == nil {
			m = map[string]*series{}
			db.tenants[ss.Tenant] = m
		}
		tiers := make([][]Point, len(Tiers))
		copy(tiers, ss.Tiers)
		m[ss.Metric.ID()+"\x01"+ss.Unit] = &series{metric: ss.Metric, unit: ss.Unit, last: ss.Last, tiers: tiers}
		db.nSeries++
	}
	gens, err := walGens(dir)
	if err != nil {
		return nil, err
	}
	gen := snap.NextGen
	for _, g := range gens {
		if g < snap.NextGen {
			_ = os.Remove(walPath(dir, g))
			continue
		}
		if err := db.replay(walPath(dir, g)); err != nil {
			return nil, err
		}
		gen = g
	}
	f, err := os.OpenFile(walPath(dir, gen), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("tsdb: %w", err)
	}
	db.wal = &wal{dir: dir, gen: gen, f: f, sync: !opts.NoSync}
	switch {
	case opts.MaxSeries == 0:
		db.maxSeries = DefaultMaxSeries
	case opts.MaxSeries > 0:
		db.maxSeries = opts.MaxSeries
	}
	return db, nil
}

func walPath(dir string, gen int64) string {
	return filepath.Join(dir, "wal-"+strconv.FormatInt(gen, 10))
}

func walGens(dir string) ([]int64, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("tsdb: %w", err)
	}
	var gens []int64
	for _, e := range ents {
		if g, ok := strings.CutPrefix(e.Name(), "wal-"); ok {
			if n, err := strconv.ParseInt(g, 10, 64); err == nil {
				gens = append(gens, n)
			}
		}
	}
	sort.Slice(gens, func(i, j int) bool { return gens[i] < gens[j] })
	return gens, nil
}

func readSnapshot(path string) (snapshotFile, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return snapshotFile{Version: snapshotVersion}, nil
	}
	if err != nil {
		return snapshotFile{}, fmt.Errorf("tsdb: %w", err)
	}
	defer f.Close()
	var s snapshotFile
	if err := gob.NewDecoder(bufio.NewReader(f)).Decode(&s); err != nil {
		return snapshotFile{}, fmt.Errorf("tsdb: read %s: %w", path, err)
	}
	if s.Version != snapshotVersion {
		return snapshotFile{}, fmt.Errorf("tsdb: %s has version %d, this wharf reads %d", path, s.Version, snapshotVersion)
	}
	return s, nil
}

// replay applies the records of one log; a torn tail is cut off.
func (db *DB) replay(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("tsdb: %w", err)
	}
	defer f.Close()
	r := bufio.NewReader(f)
	var off int64
	var hdr [8]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			break
		}
		n := binary.LittleEndian.Uint32(hdr[:4])
		buf := make([]byte, n)
		if _, err := io.ReadFull(r, buf); err != nil || crc32.ChecksumIEEE(buf) != binary.LittleEndian.Uint32(hdr[4:]) {
			break
		}
		var rec walRecord
		if err := json.Unmarshal(buf, &rec); err != nil {
			break
		}
		db.apply(Tenant{rec.A, rec.R}, rec.D)
		off += 8 + int64(n)
	}
	return f.Truncate(off)
}

// append writes one record (under the DB's lock) and returns its
// sequence number for syncTo.
func (w *wal) append(tn Tenant, data []Datum) (uint64, error) {
	if w.f == nil {
		return 0, errors.New("tsdb: store is closed")
	}
	payload, err := json.Marshal(walRecord{A: tn.Account, R: tn.Region, D: data})
	if err != nil {
		return 0, fmt.Errorf("tsdb: %w", err)
	}
	buf := make([]byte, 8, 8+len(payload))
	binary.LittleEndian.PutUint32(buf[:4], uint32(len(payload)))
	binary.LittleEndian.PutUint32(buf[4:], crc32.ChecksumIEEE(payload))
	buf = append(buf, payload...)
	if _, err := w.f.Write(buf); err != nil {
		return 0, fmt.Errorf("tsdb: write log: %w", err)
	}
	return w.written.Add(1), nil
}

// syncTo returns once record seq is on disk. A caller that finds a sync
// in progress waits for it and, if that sync began before its write, syncs
// again for itself and everyone who wrote meanwhile.
func (w *wal) syncTo(seq uint64) error {
	if !w.sync {
		return nil
	}
	w.syncMu.Lock()
	defer w.syncMu.Unlock()
	if w.synced >= seq {
		return nil
	}
	if w.f == nil {
		return errors.New("tsdb: store is closed")
	}
	upto := w.written.Load()
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("tsdb: sync log: %w", err)
	}
	w.synced = upto
	return nil
}

// Checkpoint folds the logs into a new snapshot (after dropping expired
// buckets), which bounds both the disk and the replay time.
func (db *DB) Checkpoint() error {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.wal == nil {
		return nil
	}
	w := db.wal
	w.syncMu.Lock() // no fsync of the log being replaced while we swap it
	defer w.syncMu.Unlock()
	next := w.gen + 1
	nf, err := os.OpenFile(walPath(w.dir, next), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("tsdb: %w", err)
	}
	snap := snapshotFile{Version: snapshotVersion, NextGen: next}
	for tn, m := range db.tenants {
		for _, s := range m {
			snap.Series = append(snap.Series, snapshotSeries{Tenant: tn, Metric: s.metric, Unit: s.unit, Last: s.last, Tiers: s.tiers})
		}
	}
	tmp := filepath.Join(w.dir, "snapshot.tmp")
	if err := writeFileSync(tmp, func(wr io.Writer) error { return gob.NewEncoder(wr).Encode(snap) }); err != nil {
		nf.Close()
		_ = os.Remove(walPath(w.dir, next))
		return err
	}
	if err := os.Rename(tmp, filepath.Join(w.dir, "snapshot")); err != nil {
		nf.Close()
		_ = os.Remove(walPath(w.dir, next))
		return fmt.Errorf("tsdb: %w", err)
	}
	syncDir(w.dir)
	w.f.Close()
	_ = os.Remove(walPath(w.dir, w.gen))
	w.f, w.gen = nf, next
	w.synced = w.written.Load() // everything written so far is in the snapshot
	return nil
}

func writeFileSync(path string, fn func(io.Writer) error) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("tsdb: %w", err)
	}
	bw := bufio.NewWriter(f)
	err = fn(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("tsdb: write %s: %w", path, err)
	}
	return nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

// Close checkpoints and closes the log.
func (db *DB) Close() error {
	if db.wal == nil {
		return nil
	}
	err := db.Checkpoint()
	db.mu.Lock()
	defer db.mu.Unlock()
	db.wal.syncMu.Lock()
	defer db.wal.syncMu.Unlock()
	if db.wal.f != nil {
		if cerr := db.wal.f.Close(); err == nil {
			err = cerr
		}
		db.wal.f = nil
	}
	return err
}
