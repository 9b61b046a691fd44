package logstore

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
)

// segment is what the store knows of one segment file: its extent, its
// time range and a sparse block index (record-aligned spans of about
// Options.BlockBytes with their own time range), so a time-range read or a
// tail reads only the blocks it needs.
type segment struct {
	Seq       uint64  `json:"seq"`
	Size      int64   `json:"size"` // bytes, header included
	Count     int     `json:"count"`
	MinT      int64   `json:"minT"`
	MaxT      int64   `json:"maxT"`
	MaxIngest int64   `json:"maxIngest"`
	Blocks    []block `json:"blocks"`
	Version   int     `json:"version"`
}

type block struct {
	Off  int64 `json:"off"`
	End  int64 `json:"end"`
	MinT int64 `json:"minT"`
	MaxT int64 `json:"maxT"`
}

const indexVersion = 1

func newSegment(seq uint64) *segment {
	return &segment{Seq: seq, Size: headerSize, MinT: math.MaxInt64, MaxT: math.MinInt64, Version: indexVersion}
}

func segName(seq uint64) string { return fmt.Sprintf("%016x.seg", seq) }
func idxName(seq uint64) string { return fmt.Sprintf("%016x.idx", seq) }

// add accounts a record of size n written at the segment's end.
func (g *segment) add(ts, ingest int64, n int64, blockBytes int64) {
	off := g.Size
	if k := len(g.Blocks); k == 0 || g.Blocks[k-1].End-g.Blocks[k-1].Off >= blockBytes {
		g.Blocks = append(g.Blocks, block{Off: off, End: off, MinT: ts, MaxT: ts})
	}
	b := &g.Blocks[len(g.Blocks)-1]
	b.End = off + n
	b.MinT, b.MaxT = min(b.MinT, ts), max(b.MaxT, ts)
	g.Size += n
	g.Count++
	g.MinT, g.MaxT = min(g.MinT, ts), max(g.MaxT, ts)
	g.MaxIngest = max(g.MaxIngest, ingest)
}

// clone copies g deeply enough that later appends to g do not show.
func (g *segment) clone() *segment {
	c := *g
	c.Blocks = append([]block(nil), g.Blocks...)
	return &c
}

// scanSegment rebuilds a segment's index from its file and reports the
// length of its intact prefix: a torn tail (a crash mid-append) ends the
// scan there.
func scanSegment(path string, seq uint64, blockBytes int64) (*segment, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, 0, err
	}
	g := newSegment(seq)
	if len(data) < int(headerSize) || string(data[:headerSize]) != magic {
		return g, 0, nil // not even a header: treat as empty, rewrite the header
	}
	off := headerSize
	for off < int64(len(data)) {
		ts, ingest, _, n, err := decodeRecord(data[off:])
		if err != nil {
			break
		}
		g.add(ts, ingest, int64(n), blockBytes)
		off += int64(n)
	}
	return g, off, nil
}

// writeIndex stores a sealed segment's index beside it (write, sync,
// rename). A missing or stale index is rebuilt by scanning.
func writeIndex(dir string, g *segment) error {
	b, err := json.Marshal(g)
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, idxName(g.Seq)+".tmp")
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, idxName(g.Seq)))
}

// readIndex loads a sealed segment's index if it matches the file's size.
func readIndex(dir string, seq uint64, size int64) (*segment, bool) {
	b, err := os.ReadFile(filepath.Join(dir, idxName(seq)))
	if err != nil {
		return nil, false
	}
	var g segment
	if json.Unmarshal(b, &g) != nil || g.Version != indexVersion || g.Seq != seq || g.Size != size {
		return nil, false
	}
	return &g, true
}

// syncDir makes a directory's entries (new or removed files) durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
