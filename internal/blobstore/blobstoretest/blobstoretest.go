// Package blobstoretest is the conformance suite every blobstore.Store
// implementation must pass:
//
//	func TestConformance(t *testing.T) {
//		blobstoretest.Run(t, func(t *testing.T) blobstoretest.Opener { … })
//	}
package blobstoretest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/blobstore"
)

// Opener opens the same store each time it is called: the suite calls it
// again (after dropping every handle) to check what survives a restart.
type Opener func() blobstore.Store

// Factory makes a fresh, empty store for one test.
type Factory func(t *testing.T) Opener

// Run runs the suite.
func Run(t *testing.T, newStore Factory) {
	tests := []struct {
		name string
		fn   func(*testing.T, Opener)
	}{
		{"PutStatOpen", testPutStatOpen},
		{"PutVerifies", testPutVerifies},
		{"Dedup", testDedup},
		{"NotFound", testNotFound},
		{"InvalidDigest", testInvalidDigest},
		{"UploadChunks", testUploadChunks},
		{"UploadSHA512", testUploadSHA512},
		{"UploadOtherAlgorithmAtCommit", testUploadOtherAlgorithm},
		{"UploadMismatchKeepsSession", testUploadMismatch},
		{"UploadResumeAfterReopen", testUploadResume},
		{"UploadCancel", testUploadCancel},
		{"UploadBusy", testUploadBusy},
		{"UploadEmpty", testUploadEmpty},
		{"UploadDurableFromFirstClose", testUploadDurableFromFirstClose},
		{"UploadWholeBlobNeverASession", testUploadWholeBlob},
		{"OpenUpload", testOpenUpload},
		{"Delete", testDelete},
		{"DeleteVersion", testDeleteVersion},
		{"Walk", testWalk},
		{"ConcurrentPutsSameBlob", testConcurrentPuts},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore(t)) })
	}
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func readAll(t *testing.T, s blobstore.Provider, d blobstore.Digest) []byte {
	t.Helper()
	b, _, err := s.Open(context.Background(), d)
	if err != nil {
		t.Fatalf("open %s: %v", d, err)
	}
	defer b.Close()
	data, err := io.ReadAll(b)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func testPutStatOpen(t *testing.T, open Opener) {
	s, ctx := open(), context.Background()
	data := randomBytes(t, 100_000)
	d := blobstore.FromBytes(data)
	info, err := s.Put(ctx, d, int64(len(data)), bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if info.Digest != d || info.Size != int64(len(data)) {
		t.Fatalf("Put info = %+v", info)
	}
	st, err := s.Stat(ctx, d)
	if err != nil || st.Size != int64(len(data)) {
		t.Fatalf("Stat = %+v, %v", st, err)
	}
	if got := readAll(t, s, d); !bytes.Equal(got, data) {
		t.Fatal("content differs")
	}
	b, _, _ := s.Open(ctx, d)
	defer b.Close()
	if _, err := b.Seek(99_990, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	tail, _ := io.ReadAll(b)
	if !bytes.Equal(tail, data[99_990:]) {
		t.Fatal("seek then read differs")
	}
	// Survives a reopen.
	if got := readAll(t, open(), d); !bytes.Equal(got, data) {
		t.Fatal("content differs after reopen")
	}
}

func testPutVerifies(t *testing.T, open Opener) {
	s, ctx := open(), context.Background()
	data := randomBytes(t, 1000)
	wrong := blobstore.FromBytes([]byte("something else"))
	if _, err := s.Put(ctx, wrong, -1, bytes.NewReader(data)); !errors.Is(err, blobstore.ErrDigestMismatch) {
		t.Fatalf("Put with wrong digest: %v, want ErrDigestMismatch", err)
	}
	if _, err := s.Stat(ctx, wrong); !errors.Is(err, blobstore.ErrNotFound) {
		t.Fatalf("blob stored despite mismatch: %v", err)
	}
	d := blobstore.FromBytes(data)
	if _, err := s.Put(ctx, d, 999, bytes.NewReader(data)); !errors.Is(err, blobstore.ErrSizeMismatch) {
		t.Fatalf("Put with wrong size: %v, want ErrSizeMismatch", err)
	}
	d512 := blobstore.SHA512.FromBytes(data)
	if _, err := s.Put(ctx, d512, -1, bytes.NewReader(data)); err != nil {
		t.Fatalf("sha512 Put: %v", err)
	}
	if got := readAll(t, s, d512); !bytes.Equal(got, data) {
		t.Fatal("sha512 content differs")
	}
}

func testDedup(t *testing.T, open Opener) {
	s, ctx := open(), context.Background()
	data := randomBytes(t, 5000)
	d := blobstore.FromBytes(data)
	for i := 0; i < 3; i++ {
		if _, err := s.Put(ctx, d, -1, bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
	}
	u, _ := s.NewUpload(ctx, blobstore.SHA256)
	u.Write(data)
	if _, err := u.Commit(ctx, d); err != nil {
		t.Fatal(err)
	}
	n := 0
	s.Walk(ctx, func(blobstore.Info) error { n++; return nil })
	if n != 1 {
		t.Fatalf("%d blobs stored, want 1", n)
	}
}

func testNotFound(t *testing.T, open Opener) {
	s, ctx := open(), context.Background()
	d := blobstore.FromBytes([]byte("absent"))
	if _, err := s.Stat(ctx, d); !errors.Is(err, blobstore.ErrNotFound) {
		t.Fatalf("Stat: %v", err)
	}
	if _, _, err := s.Open(ctx, d); !errors.Is(err, blobstore.ErrNotFound) {
		t.Fatalf("Open: %v", err)
	}
	if err := s.Delete(ctx, d); !errors.Is(err, blobstore.ErrNotFound) {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := s.ResumeUpload(ctx, "0123456789abcdef0123456789abcdef"); !errors.Is(err, blobstore.ErrUploadNotFound) {
		t.Fatalf("ResumeUpload: %v", err)
	}
	if _, err := s.ResumeUpload(ctx, "../../etc"); !errors.Is(err, blobstore.ErrUploadNotFound) {
		t.Fatalf("ResumeUpload of a path: %v", err)
	}
}

func testInvalidDigest(t *testing.T, open Opener) {
	s, ctx := open(), context.Background()
	for _, d := range []blobstore.Digest{"", "sha256:../../x", "sha256:ABC", "md5:abcd", "sha256"} {
		if _, err := s.Stat(ctx, d); err == nil || errors.Is(err, blobstore.ErrNotFound) {
			t.Errorf("Stat(%q) = %v, want an invalid-digest error", d, err)
		}
	}
}

func testUploadChunks(t *testing.T, open Opener) {
	s, ctx := open(), context.Background()
	data := randomBytes(t, 3<<20+17)
	u, err := s.NewUpload(ctx, blobstore.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	id := u.ID()
	chunks := [][]byte{data[:1], data[1 : 1<<20], data[1<<20 : 2<<20+5], data[2<<20+5:]}
	for i, c := range chunks {
		if i > 0 {
			if u, err = s.ResumeUpload(ctx, id); err != nil {
				t.Fatalf("resume before chunk %d: %v", i, err)
			}
		}
		if i%2 == 0 {
			_, err = u.Write(c)
		} else {
			_, err = u.ReadFrom(bytes.NewReader(c))
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := u.Close(); err != nil {
			t.Fatal(err)
		}
	}
	u, err = s.ResumeUpload(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if u.Size() != int64(len(data)) {
		t.Fatalf("Size = %d, want %d", u.Size(), len(data))
	}
	d := blobstore.FromBytes(data)
	if _, err := u.Commit(ctx, d); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, s, d); !bytes.Equal(got, data) {
		t.Fatal("content differs")
	}
	if _, err := s.ResumeUpload(ctx, id); !errors.Is(err, blobstore.ErrUploadNotFound) {
		t.Fatalf("committed session still there: %v", err)
	}
}

func testUploadSHA512(t *testing.T, open Opener) {
	s, ctx := open(), context.Background()
	data := randomBytes(t, 70_000)
	u, _ := s.NewUpload(ctx, blobstore.SHA512)
	u.Write(data[:30_000])
	u.Close()
	u, err := s.ResumeUpload(ctx, u.ID())
	if err != nil {
		t.Fatal(err)
	}
	u.Write(data[30_000:])
	d := blobstore.SHA512.FromBytes(data)
	if _, err := u.Commit(ctx, d); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, s, d); !bytes.Equal(got, data) {
		t.Fatal("content differs")
	}
}

func testUploadOtherAlgorithm(t *testing.T, open Opener) {
	s, ctx := open(), context.Background()
	data := randomBytes(t, 10_000)
	u, _ := s.NewUpload(ctx, blobstore.SHA256)
	u.Write(data)
	d := blobstore.SHA512.FromBytes(data)
	if _, err := u.Commit(ctx, d); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, s, d); !bytes.Equal(got, data) {
		t.Fatal("content differs")
	}
}

func testUploadMismatch(t *testing.T, open Opener) {
	s, ctx := open(), context.Background()
	data := randomBytes(t, 1000)
	u, _ := s.NewUpload(ctx, blobstore.SHA256)
	u.Write(data)
	if _, err := u.Commit(ctx, blobstore.FromBytes(data[:10])); !errors.Is(err, blobstore.ErrDigestMismatch) {
		t.Fatalf("Commit with wrong digest: %v", err)
	}
	u.Write([]byte("more"))
	if _, err := u.Commit(ctx, blobstore.FromBytes(append(data, "more"...))); err != nil {
		t.Fatalf("Commit after a mismatch: %v", err)
	}
}

func testUploadResume(t *testing.T, open Opener) {
	s, ctx := open(), context.Background()
	data := randomBytes(t, 200_000)
	u, _ := s.NewUpload(ctx, blobstore.SHA256)
	id := u.ID()
	u.Write(data[:120_000])
	if err := u.Close(); err != nil {
		t.Fatal(err)
	}
	s = open() // a restart
	var ids []string
	s.WalkUploads(ctx, func(i blobstore.UploadInfo) error {
		ids = append(ids, i.ID)
		if i.Size != 120_000 {
			t.Errorf("WalkUploads size %d", i.Size)
		}
		return nil
	})
	if len(ids) != 1 || ids[0] != id {
		t.Fatalf("WalkUploads = %v, want [%s]", ids, id)
	}
	u, err := s.ResumeUpload(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if u.Size() != 120_000 {
		t.Fatalf("resumed at %d", u.Size())
	}
	u.Write(data[120_000:])
	if _, err := u.Commit(ctx, blobstore.FromBytes(data)); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, s, blobstore.FromBytes(data)); !bytes.Equal(got, data) {
		t.Fatal("content differs")
	}
}

func testUploadCancel(t *testing.T, open Opener) {
	s, ctx := open(), context.Background()
	u, _ := s.NewUpload(ctx, blobstore.SHA256)
	u.Write([]byte("abc"))
	if err := u.Cancel(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ResumeUpload(ctx, u.ID()); !errors.Is(err, blobstore.ErrUploadNotFound) {
		t.Fatalf("cancelled session resumable: %v", err)
	}
	u, _ = s.NewUpload(ctx, blobstore.SHA256)
	u.Write([]byte("d"))
	u.Close()
	u, err := s.ResumeUpload(ctx, u.ID())
	if err != nil {
		t.Fatal(err)
	}
	if err := u.Cancel(ctx); err != nil {
		t.Fatal(err)
	}
	n := 0
	s.WalkUploads(ctx, func(blobstore.UploadInfo) error { n++; return nil })
	if n != 0 {
		t.Fatalf("%d uploads after cancel", n)
	}
}

func testUploadBusy(t *testing.T, open Opener) {
	s, ctx := open(), context.Background()
	u, _ := s.NewUpload(ctx, blobstore.SHA256)
	if _, err := s.ResumeUpload(ctx, u.ID()); !errors.Is(err, blobstore.ErrUploadBusy) {
		t.Fatalf("second open: %v, want ErrUploadBusy", err)
	}
	if _, err := s.OpenUpload(ctx, u.ID(), blobstore.SHA256); !errors.Is(err, blobstore.ErrUploadBusy) {
		t.Fatalf("OpenUpload of an open session: %v, want ErrUploadBusy", err)
	}
	u.Write([]byte("e"))
	u.Close()
	u2, err := s.ResumeUpload(ctx, u.ID())
	if err != nil {
		t.Fatal(err)
	}
	u2.Close()
}

func testUploadEmpty(t *testing.T, open Opener) {
	s, ctx := open(), context.Background()
	u, _ := s.NewUpload(ctx, blobstore.SHA256)
	d := blobstore.FromBytes(nil)
	info, err := u.Commit(ctx, d)
	if err != nil || info.Size != 0 {
		t.Fatalf("empty commit: %+v %v", info, err)
	}
	if got := readAll(t, s, d); len(got) != 0 {
		t.Fatal("empty blob not empty")
	}
}

func testDelete(t *testing.T, open Opener) {
	s, ctx := open(), context.Background()
	data := []byte("to delete")
	d := blobstore.FromBytes(data)
	s.Put(ctx, d, -1, bytes.NewReader(data))
	if err := s.Delete(ctx, d); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Stat(ctx, d); !errors.Is(err, blobstore.ErrNotFound) {
		t.Fatalf("deleted blob: %v", err)
	}
}

// A conditional delete removes only the copy it names: a blob stored again
// since (here: refreshed by a second Put) stays, and its own version
// deletes it.
func testDeleteVersion(t *testing.T, open Opener) {
	s, ctx := open(), context.Background()
	data := []byte("to delete by version")
	d := blobstore.FromBytes(data)
	first, err := s.Put(ctx, d, -1, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	st, err := s.Stat(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if first.Version == "" || st.Version != first.Version {
		t.Fatalf("Put says version %q, Stat %q", first.Version, st.Version)
	}
	// Stored again, a little later (a modification time must change).
	deadline := time.Now().Add(5 * time.Second)
	again := first
	for again.Version == first.Version && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
		if again, err = s.Put(ctx, d, -1, bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
	}
	if again.Version == first.Version {
		t.Fatalf("storing again kept version %q", first.Version)
	}
	if err := s.DeleteVersion(ctx, d, first.Version); !errors.Is(err, blobstore.ErrVersionMismatch) {
		t.Fatalf("DeleteVersion of the old copy: %v, want ErrVersionMismatch", err)
	}
	if got := readAll(t, s, d); !bytes.Equal(got, data) {
		t.Fatalf("blob after a refused delete: %q", got)
	}
	var walked string
	s.Walk(ctx, func(i blobstore.Info) error {
		if i.Digest == d {
			walked = i.Version
		}
		return nil
	})
	if walked != again.Version {
		t.Fatalf("Walk says version %q, want %q", walked, again.Version)
	}
	if err := s.DeleteVersion(ctx, d, again.Version); err != nil {
		t.Fatalf("DeleteVersion of the current copy: %v", err)
	}
	if _, err := s.Stat(ctx, d); !errors.Is(err, blobstore.ErrNotFound) {
		t.Fatalf("deleted blob: %v", err)
	}
	if err := s.DeleteVersion(ctx, d, again.Version); !errors.Is(err, blobstore.ErrNotFound) {
		t.Fatalf("DeleteVersion of a deleted blob: %v, want ErrNotFound", err)
	}
	// Survives a restart: nothing comes back.
	if _, err := open().Stat(ctx, d); !errors.Is(err, blobstore.ErrNotFound) {
		t.Fatalf("after reopen: %v", err)
	}
}

func testWalk(t *testing.T, open Opener) {
	s, ctx := open(), context.Background()
	want := map[blobstore.Digest]int64{}
	for i := 0; i < 20; i++ {
		data := randomBytes(t, i*10)
		d := blobstore.FromBytes(data)
		if i%3 == 0 {
			d = blobstore.SHA512.FromBytes(data)
		}
		want[d] = int64(len(data))
		if _, err := s.Put(ctx, d, -1, bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
	}
	got := map[blobstore.Digest]int64{}
	if err := s.Walk(ctx, func(i blobstore.Info) error { got[i.Digest] = i.Size; return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("Walk saw %d blobs, want %d", len(got), len(want))
	}
	for d, n := range want {
		if got[d] != n {
			t.Errorf("%s: size %d, want %d", d, got[d], n)
		}
	}
	stop := errors.New("stop")
	if err := s.Walk(ctx, func(blobstore.Info) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("Walk did not return fn's error: %v", err)
	}
}

func testConcurrentPuts(t *testing.T, open Opener) {
	s, ctx := open(), context.Background()
	data := randomBytes(t, 1<<20)
	d := blobstore.FromBytes(data)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%2 == 0 {
				if _, err := s.Put(ctx, d, -1, bytes.NewReader(data)); err != nil {
					t.Error(err)
				}
				return
			}
			u, err := s.NewUpload(ctx, blobstore.SHA256)
			if err != nil {
				t.Error(err)
				return
			}
			u.Write(data)
			if _, err := u.Commit(ctx, d); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got := readAll(t, s, d); !bytes.Equal(got, data) {
		t.Fatal("content differs")
	}
}

// A session is durable from the first Close after a Write: before that it
// is neither listed nor resumable, and an unclosed write is lost on reopen.
func testUploadDurableFromFirstClose(t *testing.T, open Opener) {
	s, ctx := open(), context.Background()
	u, err := s.NewUpload(ctx, blobstore.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	id := u.ID()
	if !blobstore.ValidUploadID(id) {
		t.Fatalf("id %q is not a ValidUploadID", id)
	}
	if err := u.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ResumeUpload(ctx, id); !errors.Is(err, blobstore.ErrUploadNotFound) {
		t.Fatalf("empty session resumable: %v", err)
	}
	if n := countUploads(t, s); n != 0 {
		t.Fatalf("%d uploads listed, want 0", n)
	}
	// Written but not closed: not acknowledged, gone after a reopen.
	u2, _ := s.NewUpload(ctx, blobstore.SHA256)
	u2.Write([]byte("unacknowledged"))
	s = open()
	if _, err := s.ResumeUpload(ctx, u2.ID()); !errors.Is(err, blobstore.ErrUploadNotFound) {
		t.Fatalf("unclosed session resumable after reopen: %v", err)
	}
	// Written and closed: durable.
	u3, _ := s.NewUpload(ctx, blobstore.SHA256)
	u3.Write([]byte("acked"))
	if err := u3.Close(); err != nil {
		t.Fatal(err)
	}
	s = open()
	if n := countUploads(t, s); n != 1 {
		t.Fatalf("%d uploads listed, want 1", n)
	}
	u3, err = s.ResumeUpload(ctx, u3.ID())
	if err != nil {
		t.Fatal(err)
	}
	if u3.Size() != 5 {
		t.Fatalf("size %d, want 5", u3.Size())
	}
	if _, err := u3.Commit(ctx, blobstore.FromBytes([]byte("acked"))); err != nil {
		t.Fatal(err)
	}
}

// A session committed before any Close (one request with the whole blob)
// leaves only the blob.
func testUploadWholeBlob(t *testing.T, open Opener) {
	s, ctx := open(), context.Background()
	data := randomBytes(t, 4096)
	u, _ := s.NewUpload(ctx, blobstore.SHA256)
	if _, err := u.ReadFrom(bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	d := blobstore.FromBytes(data)
	if _, err := u.Commit(ctx, d); err != nil {
		t.Fatal(err)
	}
	if err := u.Close(); err != nil {
		t.Fatalf("Close after Commit: %v", err)
	}
	if n := countUploads(t, s); n != 0 {
		t.Fatalf("%d uploads listed after commit, want 0", n)
	}
	s = open()
	if got := readAll(t, s, d); !bytes.Equal(got, data) {
		t.Fatal("content differs after reopen")
	}
}

// OpenUpload resumes a durable session, or starts an empty one under an id
// the caller recorded; a malformed id is not found.
func testOpenUpload(t *testing.T, open Opener) {
	s, ctx := open(), context.Background()
	id := blobstore.NewUploadID()
	u, err := s.OpenUpload(ctx, id, blobstore.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if u.ID() != id || u.Size() != 0 {
		t.Fatalf("OpenUpload of a new id: id %q size %d", u.ID(), u.Size())
	}
	u.Write([]byte("hello "))
	if err := u.Close(); err != nil {
		t.Fatal(err)
	}
	s = open()
	u, err = s.OpenUpload(ctx, id, blobstore.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if u.Size() != 6 {
		t.Fatalf("reopened size %d, want 6", u.Size())
	}
	u.Write([]byte("world"))
	if _, err := u.Commit(ctx, blobstore.FromBytes([]byte("hello world"))); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "../../etc/passwd", "0123456789abcdef0123456789abcdef", "E24A60E5-49BB-492C-BB23-B15B0E719F06"} {
		if _, err := s.OpenUpload(ctx, bad, blobstore.SHA256); !errors.Is(err, blobstore.ErrUploadNotFound) {
			t.Fatalf("OpenUpload(%q): %v, want ErrUploadNotFound", bad, err)
		}
	}
}

func countUploads(t *testing.T, s blobstore.Store) int {
	t.Helper()
	n := 0
	if err := s.WalkUploads(context.Background(), func(blobstore.UploadInfo) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}
