package fs_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/wharfhq/wharf/internal/blobstore"
	"github.com/wharfhq/wharf/internal/blobstore/fs"
)

func entries(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// Starting a session writes nothing; a session committed in the request
// that carried its bytes never appears under uploads/ and leaves no
// temporary file; a crash leftover session directory without a state file
// (the crash came before its first Close finished) does not count as a
// session.
func TestSessionsCostNoFilesUntilClosed(t *testing.T) {
	dir, ctx := t.TempDir(), context.Background()
	s, err := fs.Open(dir, fs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := s.NewUpload(ctx, blobstore.SHA256)
	if got := entries(t, filepath.Join(dir, "uploads")); len(got) != 0 {
		t.Fatalf("uploads/ after NewUpload: %v", got)
	}
	if got := entries(t, filepath.Join(dir, "tmp")); len(got) != 0 {
		t.Fatalf("tmp/ after NewUpload: %v", got)
	}
	data := []byte("one request, the whole blob")
	u.Write(data)
	if _, err := u.Commit(ctx, blobstore.FromBytes(data)); err != nil {
		t.Fatal(err)
	}
	if got := entries(t, filepath.Join(dir, "uploads")); len(got) != 0 {
		t.Fatalf("uploads/ after a one-request upload: %v", got)
	}
	if got := entries(t, filepath.Join(dir, "tmp")); len(got) != 0 {
		t.Fatalf("tmp/ after a one-request upload: %v", got)
	}
	// A digest mismatch keeps the session; Cancel then removes its bytes.
	u, _ = s.NewUpload(ctx, blobstore.SHA256)
	u.Write([]byte("x"))
	if _, err := u.Commit(ctx, blobstore.FromBytes([]byte("y"))); err == nil {
		t.Fatal("commit with the wrong digest succeeded")
	}
	if err := u.Cancel(ctx); err != nil {
		t.Fatal(err)
	}
	if got := entries(t, filepath.Join(dir, "tmp")); len(got) != 0 {
		t.Fatalf("tmp/ after cancel: %v", got)
	}
	// Crash leftover: a directory whose state file was never written.
	id := blobstore.NewUploadID()
	os.MkdirAll(filepath.Join(dir, "uploads", id), 0o700)
	os.WriteFile(filepath.Join(dir, "uploads", id, "data"), []byte("never acknowledged"), 0o600)
	u, err = s.OpenUpload(ctx, id, blobstore.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if u.Size() != 0 {
		t.Fatalf("leftover counted: size %d", u.Size())
	}
	u.Write([]byte("new"))
	if err := u.Close(); err != nil {
		t.Fatal(err)
	}
	u, err = s.ResumeUpload(ctx, id)
	if err != nil || u.Size() != 3 {
		t.Fatalf("resume after leftover: %v size %d", err, u.Size())
	}
	if _, err := u.Commit(ctx, blobstore.FromBytes([]byte("new"))); err != nil {
		t.Fatal(err)
	}
}

// Every fan-out directory exists after Open.
func TestFanoutMadeAtOpen(t *testing.T) {
	dir := t.TempDir()
	if _, err := fs.Open(dir, fs.Options{}); err != nil {
		t.Fatal(err)
	}
	for _, alg := range []string{"sha256", "sha512"} {
		if n := len(entries(t, filepath.Join(dir, alg))); n != 256 {
			t.Fatalf("%s has %d fan-out directories, want 256", alg, n)
		}
	}
}

// BenchmarkPutLarge measures a 64 MiB Put with and without early
// writeback (sync_file_range every 8 MiB):
//
//	go test -run XXX -bench PutLarge -benchtime 20x ./internal/blobstore/fs/
func BenchmarkPutLarge(b *testing.B) {
	data := make([]byte, 64<<20)
	rand.Read(data)
	d := blobstore.FromBytes(data)
	for _, wb := range []int64{-1, fs.DefaultWritebackEvery} {
		name := "writeback=off"
		if wb > 0 {
			name = fmt.Sprintf("writeback=%dMiB", wb>>20)
		}
		b.Run(name, func(b *testing.B) {
			dir := b.TempDir()
			s, err := fs.Open(dir, fs.Options{WritebackEvery: wb})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := s.Put(ctx, d, int64(len(data)), bytes.NewReader(data)); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				s.Delete(ctx, d)
				b.StartTimer()
			}
		})
	}
}
