package logstore

import (
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
)

func (g *segment) overlaps(r Range) bool { return g.Count > 0 && g.MaxT >= r.Start && g.MinT < r.End }
func (b block) overlaps(r Range) bool    { return b.MaxT >= r.Start && b.MinT < r.End }

// ReadForward calls fn with the records at or after from whose timestamp
// is in r, in storage order, until fn returns false. Only segments and
// blocks whose time range meets r are read.
func (s *Store) ReadForward(ref Ref, from Position, r Range, fn func(Record) bool) error {
	st, err := s.stream(ref)
	if err != nil {
		return err
	}
	for _, g := range st.snapshot() {
		if g.Seq < from.Seg || !g.overlaps(r) {
			continue
		}
		start := int64(0)
		if g.Seq == from.Seg {
			start = from.Off
		}
		more, err := readSegment(st.dir, g, start, math.MaxInt64, r, false, fn)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// ReadBackward calls fn with the records before `before` whose timestamp
// is in r, newest stored first, until fn returns false. A tail reads only
// the last blocks.
func (s *Store) ReadBackward(ref Ref, before Position, r Range, fn func(Record) bool) error {
	st, err := s.stream(ref)
	if err != nil {
		return err
	}
	segs := st.snapshot()
	for i := len(segs) - 1; i >= 0; i-- {
		g := segs[i]
		if g.Seq > before.Seg || !g.overlaps(r) {
			continue
		}
		end := int64(math.MaxInt64)
		if g.Seq == before.Seg {
			end = before.Off
		}
		more, err := readSegment(st.dir, g, 0, end, r, true, fn)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// End is the position after the stream's last record (where a forward
// reader waiting for new events starts).
func (s *Store) End(ref Ref) (Position, error) {
	st, err := s.stream(ref)
	if err != nil {
		return Position{}, err
	}
	segs := st.snapshot()
	if len(segs) == 0 {
		return Position{}, nil
	}
	g := segs[len(segs)-1]
	return Position{g.Seq, g.Size}, nil
}

// readSegment reads the records of g with start <= offset < end and a
// timestamp in r, forward or backward, block by block. It reports whether
// the caller wants more.
func readSegment(dir string, g *segment, start, end int64, r Range, backward bool, fn func(Record) bool) (bool, error) {
	f, err := os.Open(filepath.Join(dir, segName(g.Seq)))
	if errors.Is(err, fs.ErrNotExist) {
		return true, nil // expired or deleted under us
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	var buf []byte
	n := len(g.Blocks)
	for k := range n {
		i := k
		if backward {
			i = n - 1 - k
		}
		b := g.Blocks[i]
		if b.End <= start || b.Off >= end || !b.overlaps(r) {
			continue
		}
		if int64(cap(buf)) < b.End-b.Off {
			buf = make([]byte, b.End-b.Off)
		}
		buf = buf[:b.End-b.Off]
		if _, err := f.ReadAt(buf, b.Off); err != nil {
			if errors.Is(err, os.ErrClosed) || errors.Is(err, fs.ErrNotExist) {
				return true, nil
			}
			return false, err
		}
		recs := decodeBlock(g.Seq, b.Off, buf, start, end, r)
		for j := range recs {
			rec := recs[j]
			if backward {
				rec = recs[len(recs)-1-j]
			}
			if !fn(rec) {
				return false, nil
			}
		}
	}
	return true, nil
}

// decodeBlock decodes the records of a block (which starts at offset off)
// that lie in [start, end) and r.
func decodeBlock(seq uint64, off int64, buf []byte, start, end int64, r Range) []Record {
	var out []Record
	for p := 0; p < len(buf); {
		ts, ingest, msg, n, err := decodeRecord(buf[p:])
		if err != nil {
			break // cannot happen for indexed blocks; stop rather than guess
		}
		at := off + int64(p)
		if at >= start && at < end && ts >= r.Start && ts < r.End {
			out = append(out, Record{Pos: Position{seq, at}, Timestamp: ts, Ingestion: ingest, Message: string(msg), size: int64(n)})
		}
		p += n
	}
	return out
}
