package fs_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/blobstore"
	"github.com/wharfhq/wharf/internal/blobstore/blobstoretest"
	"github.com/wharfhq/wharf/internal/blobstore/fs"
)

func TestConformance(t *testing.T) {
	blobstoretest.Run(t, func(t *testing.T) blobstoretest.Opener {
		dir := t.TempDir()
		return func() blobstore.Store {
			s, err := fs.Open(dir, fs.Options{})
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
	})
}

// A crash after bytes were written but before Close recorded them: the
// session resumes at the last durable offset with a hash that matches.
func TestResumeDropsUnacknowledgedBytes(t *testing.T) {
	dir, ctx := t.TempDir(), context.Background()
	s, _ := fs.Open(dir, fs.Options{})
	u, _ := s.NewUpload(ctx, blobstore.SHA256)
	u.Write([]byte("durable "))
	u.Close()
	// Simulate a crash mid-PATCH: bytes appended to data, state not updated.
	f, err := os.OpenFile(filepath.Join(dir, "uploads", u.ID(), "data"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("torn garbage"))
	f.Close()

	s, _ = fs.Open(dir, fs.Options{})
	u, err = s.ResumeUpload(ctx, u.ID())
	if err != nil {
		t.Fatal(err)
	}
	if u.Size() != 8 {
		t.Fatalf("resumed at %d, want 8", u.Size())
	}
	u.Write([]byte("rest"))
	if _, err := u.Commit(ctx, blobstore.FromBytes([]byte("durable rest"))); err != nil {
		t.Fatal(err)
	}
}

func TestLayoutVersionChecked(t *testing.T) {
	dir := t.TempDir()
	if _, err := fs.Open(dir, fs.Options{}); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "VERSION"), []byte("99\n"), 0o600)
	if _, err := fs.Open(dir, fs.Options{}); err == nil {
		t.Fatal("opened a store of an unknown layout version")
	}
}

func TestTempFilesRemovedAtOpen(t *testing.T) {
	dir := t.TempDir()
	fs.Open(dir, fs.Options{})
	os.WriteFile(filepath.Join(dir, "tmp", "put-1"), []byte("x"), 0o600)
	fs.Open(dir, fs.Options{})
	if ents, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(ents) != 0 {
		t.Fatalf("tmp has %d files", len(ents))
	}
}

func ExampleStore() {
	dir, _ := os.MkdirTemp("", "blobs")
	defer os.RemoveAll(dir)
	s, _ := fs.Open(dir, fs.Options{})
	ctx := context.Background()
	data := []byte("hello")
	d := blobstore.FromBytes(data)
	info, _ := s.Put(ctx, d, int64(len(data)), bytes.NewReader(data))
	fmt.Println(info.Digest, info.Size)
	// Output: sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824 5
}

func FuzzParseDigest(f *testing.F) {
	f.Add("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
	f.Add("sha512:abc")
	f.Add("md5:x")
	f.Fuzz(func(t *testing.T, s string) {
		d, err := blobstore.Parse(s)
		if err != nil {
			return
		}
		if string(d) != s || !d.Algorithm().Available() {
			t.Fatalf("Parse(%q) = %q", s, d)
		}
		if filepath.Base(d.Hex()) != d.Hex() {
			t.Fatalf("hex %q is a path", d.Hex())
		}
	})
}

// A blob committed from an upload is stored at the commit: its ModTime is
// the commit time, not the time of the upload's last write, so garbage
// collection's grace period covers the time until a manifest links it.
func TestCommitStampsStoreTime(t *testing.T) {
	ctx := context.Background()
	clock := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	s, err := fs.Open(t.TempDir(), fs.Options{Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("a layer written long before its commit")
	up, err := s.NewUpload(ctx, blobstore.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := up.Write(data); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(48 * time.Hour)
	info, err := up.Commit(ctx, blobstore.FromBytes(data))
	if err != nil {
		t.Fatal(err)
	}
	st, err := s.Stat(ctx, info.Digest)
	if err != nil {
		t.Fatal(err)
	}
	if !st.ModTime.Equal(clock) || !info.ModTime.Equal(clock) {
		t.Fatalf("ModTime = %v (Commit said %v), want the commit time %v", st.ModTime, info.ModTime, clock)
	}

	// Stored again from another upload: refreshed to the new commit time.
	clock = clock.Add(time.Hour)
	up2, _ := s.NewUpload(ctx, blobstore.SHA256)
	up2.Write(data)
	if _, err := up2.Commit(ctx, blobstore.FromBytes(data)); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.Stat(ctx, info.Digest); !st.ModTime.Equal(clock) {
		t.Fatalf("re-stored ModTime = %v, want %v", st.ModTime, clock)
	}
}

// A delete that died between renaming the blob aside and removing it
// leaves the file in ROOT/gc: Open puts it back, where no copy took its
// place, and empties ROOT/gc.
func TestDeleteLeftoverRestoredAtOpen(t *testing.T) {
	dir := t.TempDir()
	s, err := fs.Open(dir, fs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	lost, kept := []byte("renamed aside, then a crash"), []byte("renamed aside, stored again since")
	dl, dk := blobstore.FromBytes(lost), blobstore.FromBytes(kept)
	for _, b := range [][]byte{lost, kept} {
		if _, err := s.Put(ctx, blobstore.FromBytes(b), -1, bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
	}
	blobPath := func(d blobstore.Digest) string {
		return filepath.Join(dir, string(d.Algorithm()), d.Hex()[:2], d.Hex())
	}
	// What DeleteVersion's rename leaves: dl's only copy aside; dk aside
	// with a copy back in place.
	if err := os.Rename(blobPath(dl), filepath.Join(dir, "gc", "sha256-"+dl.Hex()+"-1")); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(blobPath(dk), filepath.Join(dir, "gc", "sha256-"+dk.Hex()+"-2")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Stat(ctx, dl); err == nil {
		t.Fatal("the blob renamed aside is still in place")
	}
	s, err = fs.Open(dir, fs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for d, want := range map[blobstore.Digest][]byte{dl: lost, dk: kept} {
		f, _, err := s.Open(ctx, d)
		if err != nil {
			t.Fatalf("%s after reopen: %v", d, err)
		}
		var got bytes.Buffer
		got.ReadFrom(f)
		f.Close()
		if !bytes.Equal(got.Bytes(), want) {
			t.Fatalf("%s: %q, want %q", d, got.Bytes(), want)
		}
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "gc")); len(ents) != 0 {
		t.Fatalf("gc has %d files after Open", len(ents))
	}
}

// Bodies larger than one copy buffer, in chunks whose boundaries are not
// aligned, written directly and through the page cache (and on tmpfs,
// which may refuse O_DIRECT): the blob holds exactly the bytes sent, the
// session resumes at the right offset, and a Put of the same bytes agrees.
func TestLargeUnalignedChunks(t *testing.T) {
	data := make([]byte, 11<<20+4321)
	for i := range data {
		data[i] = byte(i*31 + i>>13)
	}
	d := blobstore.FromBytes(data)
	cuts := []int{0, 4096 + 17, 5<<20 + 3, 5<<20 + 4096, 9 << 20, len(data)}
	dirs := map[string]string{"disk": t.TempDir()}
	if shm, err := os.MkdirTemp("/dev/shm", "blobs-"); err == nil {
		t.Cleanup(func() { os.RemoveAll(shm) })
		dirs["tmpfs"] = shm
	}
	for where, root := range dirs {
		for _, pageCache := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/pagecache=%v", where, pageCache), func(t *testing.T) {
				dir := filepath.Join(root, fmt.Sprint(pageCache))
				open := func() *fs.Store {
					s, err := fs.Open(dir, fs.Options{PageCacheOnly: pageCache})
					if err != nil {
						t.Fatal(err)
					}
					return s
				}
				ctx := context.Background()
				u, err := open().NewUpload(ctx, blobstore.SHA256)
				if err != nil {
					t.Fatal(err)
				}
				id := u.ID()
				for i := 1; i < len(cuts); i++ {
					if i > 1 { // every chunk in its own request, after a "restart"
						if u, err = open().ResumeUpload(ctx, id); err != nil {
							t.Fatalf("resume before chunk %d: %v", i, err)
						}
					}
					if u.Size() != int64(cuts[i-1]) {
						t.Fatalf("chunk %d starts at %d, want %d", i, u.Size(), cuts[i-1])
					}
					if _, err := u.ReadFrom(bytes.NewReader(data[cuts[i-1]:cuts[i]])); err != nil {
						t.Fatal(err)
					}
					if i < len(cuts)-1 {
						if err := u.Close(); err != nil {
							t.Fatal(err)
						}
					}
				}
				info, err := u.Commit(ctx, d)
				if err != nil {
					t.Fatal(err)
				}
				if info.Size != int64(len(data)) {
					t.Fatalf("size %d", info.Size)
				}
				got, err := os.ReadFile(filepath.Join(dir, "sha256", d.Hex()[:2], d.Hex()))
				if err != nil || !bytes.Equal(got, data) {
					t.Fatalf("stored bytes differ (err %v, %d bytes)", err, len(got))
				}
				if _, err := open().Put(ctx, d, int64(len(data)), bytes.NewReader(data)); err != nil {
					t.Fatalf("Put of the same bytes: %v", err)
				}
			})
		}
	}
}

// A chunk acknowledged without an fsync (a Close) is trusted as long as
// the boot it was written in lasts: the page cache keeps it through a
// crash of the process. Resumed in another boot, the session is checked
// against its recorded hash state: intact bytes resume where they were,
// bytes the OS lost (here: the data file cut short, or overwritten with
// zeros) make the session start over instead of producing a blob that
// does not hash to its digest.
func TestResumeInAnotherBootVerifies(t *testing.T) {
	first, rest := bytes.Repeat([]byte("acknowledged "), 1000), []byte("and the rest")
	whole := append(append([]byte{}, first...), rest...)
	for name, tc := range map[string]struct {
		boot   string
		damage func(path string)
		size   int64
	}{
		"same boot":              {"boot-1", func(string) {}, int64(len(first))},
		"new boot, intact":       {"boot-2", func(string) {}, int64(len(first))},
		"new boot, cut short":    {"boot-2", func(p string) { os.Truncate(p, 4096) }, 0},
		"new boot, zeroed pages": {"boot-2", func(p string) { os.WriteFile(p, make([]byte, len(first)), 0o600) }, 0},
	} {
		t.Run(name, func(t *testing.T) {
			dir, ctx := t.TempDir(), context.Background()
			s, err := fs.Open(dir, fs.Options{BootID: "boot-1"})
			if err != nil {
				t.Fatal(err)
			}
			u, _ := s.NewUpload(ctx, blobstore.SHA256)
			if _, err := u.ReadFrom(bytes.NewReader(first)); err != nil {
				t.Fatal(err)
			}
			if err := u.Close(); err != nil {
				t.Fatal(err)
			}
			tc.damage(filepath.Join(dir, "uploads", u.ID(), "data"))
			s, err = fs.Open(dir, fs.Options{BootID: tc.boot})
			if err != nil {
				t.Fatal(err)
			}
			u, err = s.ResumeUpload(ctx, u.ID())
			if err != nil {
				t.Fatal(err)
			}
			if u.Size() != tc.size {
				t.Fatalf("resumed at %d, want %d", u.Size(), tc.size)
			}
			if tc.size == 0 {
				u.Write(first) // the client sends it again from the offset it is told
			}
			u.Write(rest)
			if _, err := u.Commit(ctx, blobstore.FromBytes(whole)); err != nil {
				t.Fatalf("commit: %v", err)
			}
		})
	}
}
