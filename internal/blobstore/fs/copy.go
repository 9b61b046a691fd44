package fs

import (
	"errors"
	"hash"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// How bytes reach a blob file.
//
// A body is read once into large buffers and each buffer is hashed and
// written: one pass over the bytes, no intermediate copy. A body that
// fits in one buffer (layers of a few KiB, configs, manifests) is written
// through the page cache like any small file. A larger one goes through a
// pipeline: while the request goroutine reads buffer i from the socket, a
// hasher goroutine hashes buffer i-1 and a writer goroutine writes buffer
// i-2, with O_DIRECT where the filesystem allows it, so the
// bytes go from the buffer to the device without being copied into the
// page cache (on the VMs Wharf was measured on, filling fresh page-cache
// pages ran at 300–700 MB/s, direct writes at 2+ GB/s, and the fsync at
// commit then has only the metadata and the unaligned edges left). The
// head up to the first 4 KiB-aligned offset and the unaligned tail go
// through the page cache; a filesystem that refuses O_DIRECT (tmpfs), or
// a direct write it rejects, falls back to the page cache, with early
// writeback (Options.WritebackEvery).

const (
	// copyBufSize is the size of each pipeline buffer: a multiple of
	// directAlign.
	copyBufSize = 2 << 20
	// copyBufs is how many buffers a pipeline has in flight: one being
	// read, one hashed, one written, one spare.
	copyBufs = 4
	// directAlign is the offset, length and memory alignment of direct
	// writes (the logical block size of every common device divides it).
	directAlign = 4096
)

var bufPool = sync.Pool{New: func() any { return alignedBuf(copyBufSize) }}

// alignedBuf returns n bytes whose address is a multiple of directAlign.
func alignedBuf(n int) *[]byte {
	raw := make([]byte, n+directAlign)
	off := 0
	if r := int(uintptr(unsafe.Pointer(&raw[0])) % directAlign); r != 0 {
		off = directAlign - r
	}
	b := raw[off : off+n : off+n]
	return &b
}

// writeError is a failed write: the hash has moved past what the file
// holds, so the session is broken (unlike after a failed read, where
// everything read was written).
type writeError struct{ error }

func (e writeError) Unwrap() error { return e.error }

// copyHashing appends r to f at its current offset and to h, and leaves
// f's offset at the new end. direct allows O_DIRECT writes; writeback > 0
// starts the writeback of page-cache writes every writeback bytes.
func copyHashing(f *os.File, h hash.Hash, r io.Reader, direct bool, writeback int64) (int64, error) {
	base, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0, writeError{err}
	}
	bp := bufPool.Get().(*[]byte)
	buf := *bp
	// Up to the first aligned offset (a chunk that follows an unaligned
	// one), then whole buffers.
	first := buf
	if head := int((directAlign - base%directAlign) % directAlign); head != 0 {
		first = buf[:head]
	}
	k, rerr := io.ReadFull(r, first)
	if k < len(first) || rerr != nil {
		// Small (or the whole body is the head): the page cache.
		defer bufPool.Put(bp)
		return copyBuffered(f, h, r, buf, k, rerr, base, writeback)
	}
	var n int64
	if len(first) < len(buf) {
		// The unaligned head, through the page cache; the pipeline
		// starts at the aligned offset with an empty buffer.
		h.Write(first)
		if _, err := f.WriteAt(first, base); err != nil {
			bufPool.Put(bp)
			return 0, writeError{err}
		}
		n, k = int64(k), 0
	}
	m, err := pipeline(f, h, r, bp, k, base+n, direct, writeback)
	n += m
	if _, serr := f.Seek(base+n, io.SeekStart); serr != nil && err == nil {
		err = writeError{serr}
	}
	return n, err
}

// copyBuffered writes buf[:k] (already read, rerr the read's error) and
// the rest of r through the page cache at base.
func copyBuffered(f *os.File, h hash.Hash, r io.Reader, buf []byte, k int, rerr error, base, writeback int64) (int64, error) {
	var n, flushed int64
	for {
		if rerr == io.ErrUnexpectedEOF {
			rerr = io.EOF
		}
		if k > 0 {
			h.Write(buf[:k])
			m, werr := f.Write(buf[:k])
			n += int64(m)
			if werr != nil {
				return n, writeError{werr}
			}
			if writeback > 0 && n-flushed >= writeback {
				startWriteback(f, base+flushed, n-flushed)
				flushed = n
			}
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, rerr
		}
		k, rerr = io.ReadFull(r, buf)
	}
}

// job is a buffer to write at off.
type job struct {
	bp  *[]byte
	n   int
	off int64
}

// pipeline reads r into whole buffers from off (aligned) while a hasher
// goroutine hashes the buffer before and a writer goroutine writes the
// one before that: reading the socket, hashing and writing overlap. bp is
// the first buffer, whose first filled bytes were read already. It
// returns once every byte read is hashed and written (or the writer
// failed, and then the hash is past what the file holds).
func pipeline(f *os.File, h hash.Hash, r io.Reader, bp *[]byte, filled int, off int64, direct bool, writeback int64) (int64, error) {
	w := &pipeWriter{f: f, writeback: writeback, flushed: off}
	if direct {
		w.direct = openDirect(f.Name())
	}
	defer w.close()
	toHash := make(chan job, copyBufs)
	toWrite := make(chan job, copyBufs)
	free := make(chan *[]byte, copyBufs)
	for range copyBufs - 1 {
		free <- bufPool.Get().(*[]byte)
	}
	var (
		werr   error
		failed atomic.Bool
		hashed = make(chan struct{})
		done   = make(chan struct{})
	)
	go func() { // the hasher
		defer close(hashed)
		for j := range toHash {
			h.Write((*j.bp)[:j.n])
			toWrite <- j
		}
		close(toWrite)
	}()
	go func() { // the writer
		defer close(done)
		for j := range toWrite {
			if werr == nil {
				if werr = w.write((*j.bp)[:j.n], j.off); werr != nil {
					failed.Store(true)
				}
			}
			free <- j.bp
		}
	}()
	var n int64
	var rerr error
	if filled > 0 {
		toHash <- job{bp: bp, n: filled, off: off}
		n = int64(filled)
	} else {
		free <- bp
	}
	for {
		b := <-free
		if failed.Load() {
			free <- b
			break
		}
		k, err := io.ReadFull(r, *b)
		if k > 0 {
			toHash <- job{bp: b, n: k, off: off + n}
			n += int64(k)
		} else {
			free <- b
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			rerr = err
			break
		}
	}
	close(toHash)
	<-hashed
	<-done
	for range copyBufs {
		bufPool.Put(<-free)
	}
	if werr != nil {
		return n, writeError{werr}
	}
	return n, rerr
}

// pipeWriter writes a pipeline's buffers.
type pipeWriter struct {
	f         *os.File
	direct    *os.File // nil: page cache only
	writeback int64
	flushed   int64 // page-cache bytes before this offset have been started
}

func (w *pipeWriter) write(b []byte, off int64) error {
	if w.direct != nil {
		aligned := len(b) &^ (directAlign - 1)
		if _, err := w.direct.WriteAt(b[:aligned], off); err == nil {
			b, off = b[aligned:], off+int64(aligned)
		} else if errors.Is(err, syscall.EINVAL) {
			w.direct.Close() // the page cache from here on
			w.direct = nil
		} else {
			return err
		}
		if len(b) == 0 {
			return nil
		}
	}
	if _, err := w.f.WriteAt(b, off); err != nil {
		return err
	}
	if end := off + int64(len(b)); w.writeback > 0 && end-w.flushed >= w.writeback {
		startWriteback(w.f, w.flushed, end-w.flushed)
		w.flushed = end
	}
	return nil
}

func (w *pipeWriter) close() {
	if w.direct != nil {
		w.direct.Close()
	}
}
