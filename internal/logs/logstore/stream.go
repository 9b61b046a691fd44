package logstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// stream is one log stream's segments. mu serialises appends, rotation
// and expiry; reads work on a snapshot and read files without the lock.
type stream struct {
	mu      sync.Mutex
	dir     string
	opts    *Options
	segs    []*segment // ascending by Seq; the last may be active
	active  *os.File   // open for append; nil until the first append after open/seal
	sealed  bool       // the last segment is sealed (rotate before appending)
	deleted bool
	made    bool         // dir exists
	lastUse atomic.Int64 // unix ns of the last append, for closing idle files
}

// setActive and dropActive keep the store's count of open segment files.
func (st *stream) setActive(f *os.File) {
	st.active = f
	st.opts.open.Add(1)
}

func (st *stream) dropActive() {
	st.active = nil
	st.opts.open.Add(-1)
}

// load reads the stream's directory: sealed segments from their index
// files (or a scan when missing), the last segment by a scan that cuts off a
// torn tail.
func (st *stream) load() error {
	ents, err := os.ReadDir(st.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	st.made = true
	var seqs []uint64
	for _, e := range ents {
		name := e.Name()
		if !strings.HasSuffix(name, ".seg") {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSuffix(name, ".seg"), 16, 64)
		if err != nil {
			continue
		}
		seqs = append(seqs, n)
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	for i, seq := range seqs {
		path := filepath.Join(st.dir, segName(seq))
		info, err := os.Stat(path)
		if err != nil {
			return err
		}
		last := i == len(seqs)-1
		if g, ok := readIndex(st.dir, seq, info.Size()); ok {
			st.segs = append(st.segs, g)
			if last {
				st.sealed = true
			}
			continue
		}
		g, good, err := scanSegment(path, seq, st.opts.BlockBytes)
		if err != nil {
			return err
		}
		if good != info.Size() {
			if err := repair(path, good); err != nil {
				return err
			}
			st.opts.Logger.Warn("logstore: cut a torn tail", "segment", path, "kept", good, "dropped", info.Size()-good)
			if good == 0 {
				g.Size = headerSize
			}
		}
		st.segs = append(st.segs, g)
		if !last {
			_ = writeIndex(st.dir, g)
		}
	}
	return nil
}

// repair truncates a segment to its intact prefix (rewriting the header
// when even that was torn) and syncs it.
func repair(path string, good int64) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if good < headerSize {
		if err := f.Truncate(0); err != nil {
			return err
		}
		if _, err := f.WriteAt([]byte(magic), 0); err != nil {
			return err
		}
	} else if err := f.Truncate(good); err != nil {
		return err
	}
	return f.Sync()
}

// appendBatch writes encoded records (already counted into recs) at the
// end of the active segment, rotating first when it is full. It returns
// the file to sync.
func (st *stream) appendBatch(buf []byte, recs []Event, ingest int64) (*os.File, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.deleted {
		return nil, ErrDeleted
	}
	st.lastUse.Store(time.Now().UnixNano())
	if err := st.ensureActive(int64(len(buf))); err != nil {
		return nil, err
	}
	g := st.segs[len(st.segs)-1]
	if _, err := st.active.WriteAt(buf, g.Size); err != nil {
		_ = st.active.Truncate(g.Size)
		return nil, fmt.Errorf("logstore: append: %w", err)
	}
	for _, e := range recs {
		g.add(e.Timestamp, ingest, recordSize(len(e.Message)), st.opts.BlockBytes)
	}
	return st.active, nil
}

// ensureActive makes sure there is an open active segment with room for n
// more bytes (a segment may exceed the limit by one batch).
func (st *stream) ensureActive(n int64) error {
	if !st.made {
		if err := os.MkdirAll(st.dir, 0o700); err != nil {
			return err
		}
		// The stream directory and its parents must survive a crash.
		for d := st.dir; d != st.opts.root && len(d) > len(st.opts.root); d = filepath.Dir(d) {
			if err := syncDir(filepath.Dir(d)); err != nil {
				return err
			}
		}
		st.made = true
	}
	if len(st.segs) > 0 && !st.sealed {
		g := st.segs[len(st.segs)-1]
		if g.Size > headerSize && g.Size+n > st.opts.SegmentBytes {
			if err := st.seal(); err != nil {
				return err
			}
		} else if st.active == nil {
			f, err := os.OpenFile(filepath.Join(st.dir, segName(g.Seq)), os.O_RDWR, 0)
			if err != nil {
				return err
			}
			st.setActive(f)
			return nil
		} else {
			return nil
		}
	}
	seq := uint64(1)
	if len(st.segs) > 0 {
		seq = st.segs[len(st.segs)-1].Seq + 1
	}
	f, err := os.OpenFile(filepath.Join(st.dir, segName(seq)), os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.WriteAt([]byte(magic), 0); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := syncDir(st.dir); err != nil {
		f.Close()
		return err
	}
	st.segs = append(st.segs, newSegment(seq))
	st.setActive(f)
	st.sealed = false
	return nil
}

// seal syncs and closes the active segment and writes its index.
func (st *stream) seal() error {
	g := st.segs[len(st.segs)-1]
	if st.active != nil {
		if err := st.active.Sync(); err != nil {
			return err
		}
		err := st.active.Close()
		st.dropActive()
		if err != nil {
			return err
		}
	}
	st.sealed = true
	return writeIndex(st.dir, g)
}

// snapshot returns the segments as they are now; the active one is cloned.
func (st *stream) snapshot() []*segment {
	st.mu.Lock()
	defer st.mu.Unlock()
	out := make([]*segment, len(st.segs))
	copy(out, st.segs)
	if n := len(out); n > 0 && !st.sealed {
		out[n-1] = out[n-1].clone()
	}
	return out
}

// expire deletes whole segments whose newest event is older than before
// and returns the bytes freed.
func (st *stream) expire(before int64) (int64, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	var freed int64
	keep := st.segs[:0:0]
	for i, g := range st.segs {
		if g.Count == 0 || g.MaxT >= before {
			keep = append(keep, st.segs[i:]...)
			break
		}
		if i == len(st.segs)-1 && st.active != nil {
			_ = st.active.Close()
			st.dropActive()
		}
		if err := os.Remove(filepath.Join(st.dir, segName(g.Seq))); err != nil && !errors.Is(err, fs.ErrNotExist) {
			keep = append(keep, st.segs[i:]...)
			st.segs = keep
			return freed, err
		}
		_ = os.Remove(filepath.Join(st.dir, idxName(g.Seq)))
		freed += g.Size
	}
	if len(keep) == 0 && len(st.segs) > 0 {
		// Everything expired. An empty next segment keeps numbering (and so
		// the order of positions in outstanding tokens) across restarts.
		seq := st.segs[len(st.segs)-1].Seq + 1
		if err := os.WriteFile(filepath.Join(st.dir, segName(seq)), []byte(magic), 0o600); err != nil {
			return freed, err
		}
		keep = append(keep, newSegment(seq))
		st.sealed = false
	}
	st.segs = keep
	if freed > 0 {
		_ = syncDir(st.dir)
	}
	return freed, nil
}

// close releases the active file after syncing it.
func (st *stream) close() error {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.active == nil {
		return nil
	}
	err := st.active.Sync()
	if cerr := st.active.Close(); err == nil {
		err = cerr
	}
	st.dropActive()
	return err
}
