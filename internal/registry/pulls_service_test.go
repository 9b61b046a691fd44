package registry_test

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/blobstore/fs"
	"github.com/wharfhq/wharf/internal/registry"
	"github.com/wharfhq/wharf/internal/store/sqlite"
	"github.com/wharfhq/wharf/internal/tenancy"
)

// A failed pull-time write is logged and swallowed; a re-push keeps the
// recorded time.
func TestPullTimeRecord(t *testing.T) {
	dir := t.TempDir()
	st, err := sqlite.Open(filepath.Join(dir, "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	blobs, err := fs.Open(filepath.Join(dir, "blobs"), fs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	var offset atomic.Int64
	var logs bytes.Buffer
	svc := registry.New(registry.Options{Store: st, Blobs: blobs, SparseManifests: true,
		Now:    func() time.Time { return base.Add(time.Duration(offset.Load())) },
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	ctx := tenancy.With(context.Background(), testAccount, testRegion)
	if _, err := svc.CreateRepository(ctx, registry.Repository{Name: "app"}); err != nil {
		t.Fatal(err)
	}
	man := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}`)
	push := func() {
		t.Helper()
		if _, _, err := svc.PutManifest(ctx, "app", "v1", "application/vnd.oci.image.manifest.v1+json", man, nil); err != nil {
			t.Fatal(err)
		}
	}
	get := func() registry.Image {
		t.Helper()
		im, _, err := svc.Manifest(ctx, "app", "v1")
		if err != nil {
			t.Fatal(err)
		}
		return im
	}
	push()
	im := get()
	if !im.LastPulledAt.IsZero() {
		t.Fatalf("after push: LastPulledAt %v", im.LastPulledAt)
	}

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	svc.RecordPull(canceled, "app", im) // must return, not panic or block
	if got := get().LastPulledAt; !got.IsZero() {
		t.Fatalf("after a failed record: LastPulledAt %v", got)
	}
	if !strings.Contains(logs.String(), "recording a pull failed") {
		t.Fatalf("failed record not logged: %q", logs.String())
	}

	offset.Store(int64(time.Minute))
	svc.RecordPull(ctx, "app", im)
	if got := get().LastPulledAt; !got.Equal(base.Add(time.Minute)) {
		t.Fatalf("LastPulledAt %v, want %v", got, base.Add(time.Minute))
	}
	// A stale Image (read before that record) does not write again.
	offset.Store(int64(2 * time.Minute))
	svc.RecordPull(ctx, "app", im)
	if got := get().LastPulledAt; !got.Equal(base.Add(time.Minute)) {
		t.Fatalf("re-record within the interval: LastPulledAt %v", got)
	}
	push()
	if got := get().LastPulledAt; !got.Equal(base.Add(time.Minute)) {
		t.Fatalf("after re-push: LastPulledAt %v, want %v", got, base.Add(time.Minute))
	}
	// Recording for a manifest deleted meanwhile does not bring it back.
	if _, err := svc.DeleteImage(ctx, "app", im.Digest, ""); err != nil {
		t.Fatal(err)
	}
	svc.RecordPull(ctx, "app", registry.Image{Digest: im.Digest})
	if imgs, err := svc.Images(ctx, "app"); err != nil || len(imgs) != 0 {
		t.Fatalf("after delete and record: %+v %v", imgs, err)
	}
}
