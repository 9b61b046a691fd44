// Package fs is the filesystem blob store: blobs are files named by their
// digest under one directory, written atomically and deduplicated.
//
// Layout (version 1, recorded in ROOT/VERSION):
//
//	ROOT/VERSION                     "1"
//	ROOT/sha256/ab/abcdef…           a blob: its digest's hex, under its first two hex characters
//	ROOT/sha512/0f/0f12…             sha512 blobs alike
//	ROOT/tmp/                        temporary files of Puts and of sessions not yet durable (emptied at Open)
//	ROOT/gc/ALG-HEX-ID               a blob DeleteVersion is deleting (put back at Open)
//	ROOT/uploads/ID/data             (ID: a random UUID) a durable upload session's bytes so far
//	ROOT/uploads/ID/state            its durable offset and hash state (JSON)
//
// The 256 fan-out directories of each algorithm are made (and synced) at
// Open, so storing a blob never creates a directory.
//
// A blob appears only by rename(2) of a complete, fsynced file from the
// same filesystem, followed by an fsync of the directory, so a crash leaves
// either the whole blob or none: two fsyncs per blob.
//
// An upload session starts in memory and writes to ROOT/tmp/ID. A Commit
// before any Close (a request that carries the whole blob) stores the blob
// from there, with the same two fsyncs as Put. The first Close after a
// Write makes the session resumable: it moves the data to
// ROOT/uploads/ID/data and writes the state file (offset + the digest's
// encoding.BinaryMarshaler state + the boot id) atomically; later Closes
// replace the state file. Closes do not fsync (where the OS has a boot id,
// Options.BootID): an acknowledged chunk survives a crash of the process
// in the page cache, and a session resumed in a later boot is checked
// first — its data must hash to the recorded state, or it starts over.
// The one fsync of the data comes at Commit, before the rename.
// ResumeUpload truncates the data back to the recorded offset (bytes
// written after the last Close were never acknowledged) and restores the
// hash state, so hashing resumes without re-reading the data.
package fs

import (
	"bytes"
	"context"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/wharfhq/wharf/internal/blobstore"
)

const layoutVersion = "1"

var _ blobstore.Store = (*Store)(nil)

// Store is a blob store on a local filesystem.
type Store struct {
	root string
	now  func() time.Time

	writeback int64  // see Options.WritebackEvery
	direct    bool   // see Options.PageCacheOnly
	boot      string // see Options.BootID

	mu   sync.Mutex
	open map[string]bool // upload ids open in this process
}

// makeFanout creates the fan-out directories (00 … ff) of every algorithm
// that are missing and syncs the algorithm directories that gained one.
func (s *Store) makeFanout() error {
	for _, alg := range []blobstore.Algorithm{blobstore.SHA256, blobstore.SHA512} {
		made := false
		for i := 0; i < 256; i++ {
			err := os.Mkdir(s.path(string(alg), fmt.Sprintf("%02x", i)), 0o700)
			if err == nil {
				made = true
			} else if !errors.Is(err, os.ErrExist) {
				return fmt.Errorf("blobstore: %w", err)
			}
		}
		if made {
			if err := syncDir(s.path(string(alg))); err != nil {
				return err
			}
		}
	}
	return nil
}

// Options configure a Store.
type Options struct {
	// Now is the clock for upload start times (default time.Now).
	Now func() time.Time
	// WritebackEvery is how many bytes a large write accumulates before
	// the store asks the kernel to start writing them back (Linux
	// sync_file_range); 0 means the default (DefaultWritebackEvery), a
	// negative value turns early writeback off.
	WritebackEvery int64
	// PageCacheOnly writes every blob through the page cache; by default
	// large bodies are written with O_DIRECT where the filesystem allows
	// it (see copy.go).
	PageCacheOnly bool
	// BootID names the running boot of the OS (default: Linux's
	// /proc/sys/kernel/random/boot_id). Where there is one, an upload
	// chunk is acknowledged without an fsync: its bytes and state survive
	// a crash of the process in the page cache, and a session resumed in
	// another boot is verified against its recorded hash state first (see
	// upload.restore). Empty: every Close fsyncs.
	BootID string
}

// bootID is this boot's id, or "" where the OS does not tell.
func bootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// DefaultWritebackEvery is the default of Options.WritebackEvery.
const DefaultWritebackEvery = 8 << 20

// Open opens (creating if needed) the store rooted at dir.
func Open(dir string, opts Options) (*Store, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.WritebackEvery == 0 {
		opts.WritebackEvery = DefaultWritebackEvery
	}
	if opts.BootID == "" {
		opts.BootID = bootID()
	}
	s := &Store{root: dir, now: opts.Now, open: map[string]bool{}, writeback: opts.WritebackEvery, direct: !opts.PageCacheOnly, boot: opts.BootID}
	for _, d := range []string{dir, s.path("tmp"), s.path("uploads"), s.path("gc"), s.path(string(blobstore.SHA256)), s.path(string(blobstore.SHA512))} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("blobstore: %w", err)
		}
	}
	if err := s.makeFanout(); err != nil {
		return nil, err
	}
	vf := s.path("VERSION")
	switch b, err := os.ReadFile(vf); {
	case errors.Is(err, os.ErrNotExist):
		if err := writeFileAtomic(vf, []byte(layoutVersion+"\n")); err != nil {
			return nil, fmt.Errorf("blobstore: write layout version: %w", err)
		}
	case err != nil:
		return nil, fmt.Errorf("blobstore: %w", err)
	case strings.TrimSpace(string(b)) != layoutVersion:
		return nil, fmt.Errorf("blobstore: %s has layout version %q, this wharf knows %q", dir, strings.TrimSpace(string(b)), layoutVersion)
	}
	if err := s.restoreGC(); err != nil {
		return nil, err
	}
	// Temporary files of Puts that never finished.
	if ents, err := os.ReadDir(s.path("tmp")); err == nil {
		for _, e := range ents {
			_ = os.Remove(s.path("tmp", e.Name()))
		}
	}
	return s, nil
}

// Root is the directory the store lives in.
func (s *Store) Root() string { return s.root }

func (s *Store) path(elem ...string) string {
	return filepath.Join(append([]string{s.root}, elem...)...)
}

func (s *Store) blobPath(d blobstore.Digest) string {
	h := d.Hex()
	return s.path(string(d.Algorithm()), h[:2], h)
}

func checkDigest(d blobstore.Digest) error {
	_, err := blobstore.Parse(string(d))
	return err
}

// Stat implements blobstore.Stater.
func (s *Store) Stat(ctx context.Context, d blobstore.Digest) (blobstore.Info, error) {
	if err := checkDigest(d); err != nil {
		return blobstore.Info{}, err
	}
	fi, err := os.Stat(s.blobPath(d))
	if errors.Is(err, os.ErrNotExist) {
		return blobstore.Info{}, fmt.Errorf("%w: %s", blobstore.ErrNotFound, d)
	}
	if err != nil {
		return blobstore.Info{}, fmt.Errorf("blobstore: %w", err)
	}
	return infoOf(d, fi), nil
}

// infoOf describes the stored copy of d that fi describes.
func infoOf(d blobstore.Digest, fi os.FileInfo) blobstore.Info {
	return blobstore.Info{Digest: d, Size: fi.Size(), ModTime: fi.ModTime(), Version: fileVersion(fi)}
}

// sequentialHintSize is the size from which Open advises sequential reads:
// layers are read whole, front to back.
const sequentialHintSize = 1 << 20

// Open implements blobstore.Provider; the Blob is an *os.File.
func (s *Store) Open(ctx context.Context, d blobstore.Digest) (blobstore.Blob, blobstore.Info, error) {
	if err := checkDigest(d); err != nil {
		return nil, blobstore.Info{}, err
	}
	f, err := os.Open(s.blobPath(d))
	if errors.Is(err, os.ErrNotExist) {
		return nil, blobstore.Info{}, fmt.Errorf("%w: %s", blobstore.ErrNotFound, d)
	}
	if err != nil {
		return nil, blobstore.Info{}, fmt.Errorf("blobstore: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, blobstore.Info{}, fmt.Errorf("blobstore: %w", err)
	}
	if fi.Size() >= sequentialHintSize {
		adviseSequential(f, fi.Size())
	}
	return f, infoOf(d, fi), nil
}

// Put implements blobstore.Ingester.
func (s *Store) Put(ctx context.Context, expected blobstore.Digest, size int64, r io.Reader) (blobstore.Info, error) {
	if err := checkDigest(expected); err != nil {
		return blobstore.Info{}, err
	}
	f, err := os.CreateTemp(s.path("tmp"), "put-")
	if err != nil {
		return blobstore.Info{}, fmt.Errorf("blobstore: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if f != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	h := expected.Algorithm().New()
	n, err := copyHashing(f, h, r, s.direct, s.writeback)
	if err != nil {
		return blobstore.Info{}, fmt.Errorf("blobstore: write: %w", err)
	}
	if size >= 0 && n != size {
		return blobstore.Info{}, fmt.Errorf("%w: got %d bytes, want %d", blobstore.ErrSizeMismatch, n, size)
	}
	if got := blobstore.NewDigest(expected.Algorithm(), h); got != expected {
		return blobstore.Info{}, fmt.Errorf("%w: content is %s, not %s", blobstore.ErrDigestMismatch, got, expected)
	}
	if err := f.Sync(); err != nil {
		return blobstore.Info{}, fmt.Errorf("blobstore: sync: %w", err)
	}
	if err := f.Close(); err != nil {
		return blobstore.Info{}, fmt.Errorf("blobstore: %w", err)
	}
	f = nil
	info, err := s.place(tmp, expected)
	if err != nil {
		os.Remove(tmp)
	}
	return info, err
}

// place moves the complete, synced file at src to the blob's path, unless
// the blob exists already (then src is removed).
func (s *Store) place(src string, d blobstore.Digest) (blobstore.Info, error) {
	dst := s.blobPath(d)
	// A blob's ModTime is when it was last stored: garbage collection's
	// grace period starts at the commit, not at the upload's last write
	// (an upload may sit for days before it is committed).
	now := s.now()
	if fi, err := os.Stat(dst); err == nil {
		// Stored again: young again, so the grace period covers the time
		// until the new user records it. Refresh the existing copy first
		// and drop ours only then: if the collector deleted the blob in
		// between, our copy takes its place below instead of being lost.
		err := os.Chtimes(dst, now, now)
		if err == nil {
			os.Remove(src)
			if fi, err := os.Stat(dst); err == nil {
				return infoOf(d, fi), nil
			}
			return blobstore.Info{Digest: d, Size: fi.Size(), ModTime: now}, nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return blobstore.Info{}, fmt.Errorf("blobstore: %w", err)
		}
	}
	if err := os.Chtimes(src, now, now); err != nil {
		return blobstore.Info{}, fmt.Errorf("blobstore: %w", err)
	}
	dir := filepath.Dir(dst)
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
			return blobstore.Info{}, fmt.Errorf("blobstore: %w", err)
		}
		if err := syncDir(filepath.Dir(dir)); err != nil {
			return blobstore.Info{}, err
		}
	}
	if err := os.Rename(src, dst); err != nil {
		return blobstore.Info{}, fmt.Errorf("blobstore: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return blobstore.Info{}, err
	}
	fi, err := os.Stat(dst)
	if err != nil {
		return blobstore.Info{}, fmt.Errorf("blobstore: %w", err)
	}
	return infoOf(d, fi), nil
}

// Delete implements blobstore.Deleter.
func (s *Store) Delete(ctx context.Context, d blobstore.Digest) error {
	if err := checkDigest(d); err != nil {
		return err
	}
	p := s.blobPath(d)
	if err := os.Remove(p); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%w: %s", blobstore.ErrNotFound, d)
	} else if err != nil {
		return fmt.Errorf("blobstore: %w", err)
	}
	return syncDir(filepath.Dir(p))
}

// DeleteVersion implements blobstore.Deleter. The file is renamed aside
// into ROOT/gc (atomic: a push now stores a new copy rather than refresh
// this one), then checked: the expected copy is removed; another one
// (stored again between the check and the rename) is linked back unless
// yet another copy took the name meanwhile (same bytes). A crash in
// between leaves the file in ROOT/gc, and Open puts it back: a blob is
// never lost by a delete that did not decide on it.
func (s *Store) DeleteVersion(ctx context.Context, d blobstore.Digest, version string) error {
	if err := checkDigest(d); err != nil {
		return err
	}
	p := s.blobPath(d)
	fi, err := os.Stat(p)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%w: %s", blobstore.ErrNotFound, d)
	}
	if err != nil {
		return fmt.Errorf("blobstore: %w", err)
	}
	if fileVersion(fi) != version {
		return fmt.Errorf("%w: %s", blobstore.ErrVersionMismatch, d)
	}
	aside := s.path("gc", string(d.Algorithm())+"-"+d.Hex()+"-"+blobstore.NewUploadID())
	if err := os.Rename(p, aside); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%w: %s", blobstore.ErrNotFound, d)
	} else if err != nil {
		return fmt.Errorf("blobstore: %w", err)
	}
	fi, err = os.Lstat(aside)
	if err == nil && fileVersion(fi) == version {
		if err := os.Remove(aside); err != nil {
			return fmt.Errorf("blobstore: %w", err)
		}
		return syncDir(filepath.Dir(p))
	}
	if err := restoreAside(aside, p); err != nil {
		return err
	}
	return fmt.Errorf("%w: %s", blobstore.ErrVersionMismatch, d)
}

// restoreAside puts a blob renamed aside by DeleteVersion back at p,
// unless a copy is there already, and removes the aside name.
func restoreAside(aside, p string) error {
	if err := os.Link(aside, p); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("blobstore: restore %s: %w", filepath.Base(p), err)
	}
	if err := syncDir(filepath.Dir(p)); err != nil {
		return err
	}
	if err := os.Remove(aside); err != nil {
		return fmt.Errorf("blobstore: %w", err)
	}
	return nil
}

// restoreGC puts back what DeleteVersion left in ROOT/gc when the process
// died during a delete (ROOT/gc/ALG-HEX-ID).
func (s *Store) restoreGC() error {
	ents, err := os.ReadDir(s.path("gc"))
	if err != nil {
		return fmt.Errorf("blobstore: %w", err)
	}
	for _, e := range ents {
		alg, rest, ok := strings.Cut(e.Name(), "-")
		hex, _, ok2 := strings.Cut(rest, "-")
		d, err := blobstore.Parse(alg + ":" + hex)
		if !ok || !ok2 || err != nil {
			continue
		}
		if err := restoreAside(s.path("gc", e.Name()), s.blobPath(d)); err != nil {
			return err
		}
	}
	return nil
}

// Walk implements blobstore.Walker.
func (s *Store) Walk(ctx context.Context, fn func(blobstore.Info) error) error {
	for _, alg := range []blobstore.Algorithm{blobstore.SHA256, blobstore.SHA512} {
		prefixes, err := os.ReadDir(s.path(string(alg)))
		if err != nil {
			return fmt.Errorf("blobstore: %w", err)
		}
		for _, p := range prefixes {
			ents, err := os.ReadDir(s.path(string(alg), p.Name()))
			if err != nil {
				return fmt.Errorf("blobstore: %w", err)
			}
			for _, e := range ents {
				if err := ctx.Err(); err != nil {
					return err
				}
				d, err := blobstore.Parse(string(alg) + ":" + e.Name())
				if err != nil {
					continue // not a blob
				}
				fi, err := e.Info()
				if err != nil {
					continue // deleted meanwhile
				}
				if err := fn(infoOf(d, fi)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// WalkUploads implements blobstore.Walker.
func (s *Store) WalkUploads(ctx context.Context, fn func(blobstore.UploadInfo) error) error {
	ents, err := os.ReadDir(s.path("uploads"))
	if err != nil {
		return fmt.Errorf("blobstore: %w", err)
	}
	for _, e := range ents {
		st, err := readState(s.path("uploads", e.Name(), "state"))
		if err != nil {
			continue
		}
		if err := fn(blobstore.UploadInfo{ID: e.Name(), Size: st.Offset, StartedAt: st.StartedAt}); err != nil {
			return err
		}
	}
	return nil
}

// uploadState is the durable part of a session.
type uploadState struct {
	StartedAt time.Time           `json:"startedAt"`
	Algorithm blobstore.Algorithm `json:"algorithm"`
	Offset    int64               `json:"offset"`
	HashState []byte              `json:"hashState"` // encoding.BinaryMarshaler of the hash at Offset
	// Boot is the boot in which the state was saved without an fsync of
	// the data and the state (empty: both were fsynced).
	Boot string `json:"boot,omitempty"`
}

func readState(p string) (uploadState, error) {
	var st uploadState
	b, err := os.ReadFile(p)
	if err != nil {
		return st, err
	}
	err = json.Unmarshal(b, &st)
	return st, err
}

func (s *Store) acquire(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open[id] {
		return fmt.Errorf("%w: %s", blobstore.ErrUploadBusy, id)
	}
	s.open[id] = true
	return nil
}

func (s *Store) release(id string) {
	s.mu.Lock()
	delete(s.open, id)
	s.mu.Unlock()
}

// NewUpload implements blobstore.Ingester. It does no I/O until the
// first Write.
func (s *Store) NewUpload(ctx context.Context, alg blobstore.Algorithm) (blobstore.Upload, error) {
	id := blobstore.NewUploadID()
	if err := s.acquire(id); err != nil {
		return nil, err
	}
	return s.emptyUpload(id, alg), nil
}

// emptyUpload is a fresh, not yet durable session id (acquired).
func (s *Store) emptyUpload(id string, alg blobstore.Algorithm) *upload {
	if !alg.Available() {
		alg = blobstore.Canonical
	}
	return &upload{s: s, id: id, dir: s.path("uploads", id), h: alg.New(),
		st: uploadState{StartedAt: s.now().UTC(), Algorithm: alg}}
}

// OpenUpload implements blobstore.Ingester.
func (s *Store) OpenUpload(ctx context.Context, id string, alg blobstore.Algorithm) (blobstore.Upload, error) {
	u, err := s.ResumeUpload(ctx, id)
	if !errors.Is(err, blobstore.ErrUploadNotFound) || !blobstore.ValidUploadID(id) {
		return u, err
	}
	if err := s.acquire(id); err != nil {
		return nil, err
	}
	return s.emptyUpload(id, alg), nil
}

// ResumeUpload implements blobstore.Ingester.
func (s *Store) ResumeUpload(ctx context.Context, id string) (blobstore.Upload, error) {
	if !blobstore.ValidUploadID(id) {
		return nil, fmt.Errorf("%w: %q", blobstore.ErrUploadNotFound, id)
	}
	if err := s.acquire(id); err != nil {
		return nil, err
	}
	dir := s.path("uploads", id)
	st, err := readState(filepath.Join(dir, "state"))
	if err != nil {
		s.release(id)
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s", blobstore.ErrUploadNotFound, id)
		}
		return nil, fmt.Errorf("blobstore: upload %s: %w", id, err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "data"), os.O_RDWR, 0)
	if err != nil {
		s.release(id)
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s", blobstore.ErrUploadNotFound, id)
		}
		return nil, fmt.Errorf("blobstore: %w", err)
	}
	u := &upload{s: s, id: id, dir: dir, f: f, st: st, durable: true}
	if err := u.restore(); err != nil {
		u.abandon()
		return nil, err
	}
	return u, nil
}

type upload struct {
	s       *Store
	id      string
	dir     string   // ROOT/uploads/ID
	f       *os.File // nil until the first byte of a session not yet durable
	h       hash.Hash
	st      uploadState
	n       int64 // bytes written so far (>= st.Offset)
	err     error // sticky write error
	done    bool  // committed, cancelled or closed
	dirty   bool  // written to since the state was last saved
	durable bool  // the session is under ROOT/uploads (else its bytes are in ROOT/tmp/ID)
}

// dataPath is where the session's bytes are.
func (u *upload) dataPath() string {
	if u.durable {
		return filepath.Join(u.dir, "data")
	}
	return u.s.path("tmp", u.id)
}

// file returns the data file, creating the temporary one on first use.
func (u *upload) file() (*os.File, error) {
	if u.f == nil {
		f, err := os.OpenFile(u.dataPath(), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return nil, fmt.Errorf("blobstore: %w", err)
		}
		u.f = f
	}
	return u.f, nil
}

// restore brings the data file and the hash back to the durable offset.
func (u *upload) restore() error {
	u.h = u.st.Algorithm.New()
	if u.h == nil {
		return fmt.Errorf("blobstore: upload %s: unknown algorithm %q", u.id, u.st.Algorithm)
	}
	fi, err := u.f.Stat()
	if err != nil {
		return fmt.Errorf("blobstore: %w", err)
	}
	if u.st.Boot != "" && u.st.Boot != u.s.boot && !u.verify(fi.Size()) {
		// Saved unsynced in a boot that ended: the bytes did not all
		// reach the disk. The session starts over (the client learns
		// the offset from the upload's status).
		if err := u.f.Truncate(0); err != nil {
			return fmt.Errorf("blobstore: %w", err)
		}
		u.st.Offset, u.st.HashState = 0, nil
		u.n = 0
		u.dirty = true // the next Close records the reset
		_, err := u.f.Seek(0, io.SeekStart)
		return err
	}
	if fi.Size() >= u.st.Offset && len(u.st.HashState) > 0 {
		if err := u.h.(encoding.BinaryUnmarshaler).UnmarshalBinary(u.st.HashState); err == nil {
			if fi.Size() > u.st.Offset {
				if err := u.f.Truncate(u.st.Offset); err != nil {
					return fmt.Errorf("blobstore: %w", err)
				}
			}
			u.n = u.st.Offset
			_, err := u.f.Seek(u.n, io.SeekStart)
			return err
		}
	}
	// No usable hash state: rehash what the file holds.
	if _, err := u.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	n, err := io.Copy(u.h, u.f)
	if err != nil {
		return fmt.Errorf("blobstore: rehash upload %s: %w", u.id, err)
	}
	u.n = n
	return nil
}

// verify reports whether the first st.Offset bytes of the data (size
// bytes long) hash to the recorded state: after a reboot, what was
// acknowledged without an fsync is trusted only if it is all there.
func (u *upload) verify(size int64) bool {
	if size < u.st.Offset || len(u.st.HashState) == 0 {
		return false
	}
	h := u.st.Algorithm.New()
	if _, err := io.Copy(h, io.NewSectionReader(u.f, 0, u.st.Offset)); err != nil {
		return false
	}
	m, ok := h.(encoding.BinaryMarshaler)
	if !ok {
		return false
	}
	got, err := m.MarshalBinary()
	return err == nil && bytes.Equal(got, u.st.HashState)
}

func (u *upload) ID() string           { return u.id }
func (u *upload) Size() int64          { return u.n }
func (u *upload) StartedAt() time.Time { return u.st.StartedAt }

func (u *upload) Write(p []byte) (int, error) {
	if u.err != nil {
		return 0, u.err
	}
	f, err := u.file()
	if err != nil {
		u.err = err
		return 0, err
	}
	u.dirty = true
	n, err := f.Write(p)
	u.h.Write(p[:n])
	u.n += int64(n)
	if err != nil {
		u.err = err
	}
	return n, err
}

func (u *upload) ReadFrom(r io.Reader) (int64, error) {
	if u.err != nil {
		return 0, u.err
	}
	f, err := u.file()
	if err != nil {
		u.err = err
		return 0, err
	}
	u.dirty = true
	n, err := copyHashing(f, u.h, r, u.s.direct, u.s.writeback)
	u.n += n
	if errors.As(err, new(writeError)) {
		u.err = err // the hash is past what the file holds
	}
	return n, err
}

func (u *upload) digest(alg blobstore.Algorithm) (blobstore.Digest, error) {
	if alg == u.st.Algorithm {
		return blobstore.NewDigest(alg, u.h), nil
	}
	h := alg.New()
	if u.f != nil {
		if _, err := io.Copy(h, io.NewSectionReader(u.f, 0, u.n)); err != nil {
			return "", fmt.Errorf("blobstore: rehash: %w", err)
		}
	}
	return blobstore.NewDigest(alg, h), nil
}

func (u *upload) Commit(ctx context.Context, expected blobstore.Digest) (blobstore.Info, error) {
	if err := checkDigest(expected); err != nil {
		return blobstore.Info{}, err
	}
	if u.err != nil {
		return blobstore.Info{}, u.err
	}
	got, err := u.digest(expected.Algorithm())
	if err != nil {
		return blobstore.Info{}, err
	}
	if got != expected {
		return blobstore.Info{}, fmt.Errorf("%w: content is %s, not %s", blobstore.ErrDigestMismatch, got, expected)
	}
	f, err := u.file() // an empty blob needs its (empty) file
	if err != nil {
		return blobstore.Info{}, err
	}
	if err := f.Sync(); err != nil {
		return blobstore.Info{}, fmt.Errorf("blobstore: sync: %w", err)
	}
	if err := f.Close(); err != nil {
		return blobstore.Info{}, fmt.Errorf("blobstore: %w", err)
	}
	u.done = true
	defer u.s.release(u.id)
	info, err := u.s.place(u.dataPath(), expected)
	if err != nil {
		if !u.durable {
			os.Remove(u.dataPath())
		}
		return blobstore.Info{}, err
	}
	if u.durable {
		os.RemoveAll(u.dir)
	}
	return info, nil
}

func (u *upload) persist() error {
	m, ok := u.h.(encoding.BinaryMarshaler)
	if !ok {
		return fmt.Errorf("blobstore: hash of %s cannot save its state", u.st.Algorithm)
	}
	hs, err := m.MarshalBinary()
	if err != nil {
		return fmt.Errorf("blobstore: %w", err)
	}
	st := u.st
	st.Offset, st.HashState, st.Boot = u.n, hs, u.s.boot
	b, _ := json.Marshal(st)
	write := writeFileAtomic
	if u.s.boot != "" {
		write = replaceFile
	}
	if err := write(filepath.Join(u.dir, "state"), b); err != nil {
		return fmt.Errorf("blobstore: save upload state: %w", err)
	}
	u.st = st
	return nil
}

func (u *upload) Close() error {
	if u.done {
		return nil
	}
	defer u.abandon()
	if u.err != nil {
		// Bytes after the durable offset are dropped at the next resume.
		return u.err
	}
	if !u.dirty && u.n == u.st.Offset {
		return nil // nothing new to make durable (nor, for a new session, anything at all)
	}
	// With a boot id, the chunk is acknowledged from the page cache (it
	// survives the process; restore verifies it after a reboot); the
	// fsync comes once, at Commit.
	if u.s.boot == "" {
		if err := u.f.Sync(); err != nil {
			return fmt.Errorf("blobstore: sync: %w", err)
		}
	}
	if u.durable {
		return u.persist()
	}
	// The first acknowledged bytes: move the session under uploads/.
	if err := os.Mkdir(u.dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("blobstore: %w", err)
	}
	if err := os.Rename(u.dataPath(), filepath.Join(u.dir, "data")); err != nil {
		return fmt.Errorf("blobstore: %w", err)
	}
	u.durable = true
	if err := u.persist(); err != nil { // syncs uploads/ID (without a boot id), so data's entry too
		return err
	}
	if u.s.boot != "" {
		return nil
	}
	return syncDir(u.s.path("uploads"))
}

// abandon closes the file and releases the session without saving; the
// bytes of a session that never became durable are dropped.
func (u *upload) abandon() {
	u.done = true
	if u.f != nil {
		u.f.Close()
		if !u.durable {
			os.Remove(u.dataPath())
		}
	}
	u.s.release(u.id)
}

func (u *upload) Cancel(ctx context.Context) error {
	if !u.done {
		u.abandon()
	}
	if err := os.RemoveAll(u.dir); err != nil {
		return fmt.Errorf("blobstore: %w", err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("blobstore: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("blobstore: sync dir: %w", err)
	}
	return nil
}

// replaceFile replaces p with b atomically for other processes and for a
// crash of this one (temp file beside it, rename), without fsyncs.
func replaceFile(p string, b []byte) error {
	tmp := p + ".new"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, p); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// writeFileAtomic replaces p with b: temp file beside it, fsync, rename,
// fsync the directory.
func writeFileAtomic(p string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(p), ".tmp-")
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return err
	}
	if err := os.Rename(f.Name(), p); err != nil {
		os.Remove(f.Name())
		return err
	}
	return syncDir(filepath.Dir(p))
}
