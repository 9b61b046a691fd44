package registry_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/blobstore"
	"github.com/wharfhq/wharf/internal/blobstore/fs"
	"github.com/wharfhq/wharf/internal/principal"
	"github.com/wharfhq/wharf/internal/registry"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/sqlite"
	"github.com/wharfhq/wharf/internal/tenancy"
)

// replica is one registry process over a shared store and blob store.
type replica struct {
	svc  *registry.Service
	srv  *httptest.Server
	pass string
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newReplica(t *testing.T, st store.Store, blobs blobstore.Store, clock *fakeClock) *replica {
	t.Helper()
	svc := registry.New(registry.Options{Store: st, Blobs: blobs, Authorizer: allowAll{}, Credentials: allowAll{},
		Now: clock.now, SparseManifests: true, CacheTTL: 2 * time.Second})
	mux := http.NewServeMux()
	mux.Handle("/v2/", svc.Handler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	ctx := tenancy.With(context.Background(), testAccount, testRegion)
	pass, _, err := svc.Tokens().Issue(ctx, &principal.Principal{Kind: principal.Root, Account: testAccount, AccessKeyID: testKey}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	return &replica{svc: svc, srv: srv, pass: pass}
}

// head answers the digest a manifest HEAD reports ("" for 404).
func (r *replica) head(t *testing.T, repo, ref string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodHead, r.srv.URL+"/v2/"+repo+"/manifests/"+ref, nil)
	req.SetBasicAuth("AWS", r.pass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return resp.Header.Get("Docker-Content-Digest")
	case http.StatusNotFound:
		return ""
	}
	t.Fatalf("HEAD %s:%s: %s", repo, ref, resp.Status)
	return ""
}

func testManifest(i int) []byte {
	return fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",`+
		`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":2},"layers":[]}`,
		blobstore.FromBytes(fmt.Appendf(nil, "config %d", i)))
}

// The manifest cache is exact for a process's own writes (a moved,
// deleted or re-created tag shows at once) and bounds how stale another
// replica's writes look by CacheTTL.
func TestManifestCacheAcrossReplicas(t *testing.T) {
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
	clock := &fakeClock{t: time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)}
	a, b := newReplica(t, st, blobs, clock), newReplica(t, st, blobs, clock)
	ctx := tenancy.With(context.Background(), testAccount, testRegion)
	if _, err := a.svc.CreateRepository(ctx, registry.Repository{Name: "app"}); err != nil {
		t.Fatal(err)
	}
	put := func(r *replica, i int) string {
		t.Helper()
		d, _, err := r.svc.PutManifest(ctx, "app", "latest", "application/vnd.oci.image.manifest.v1+json", testManifest(i), nil)
		if err != nil {
			t.Fatal(err)
		}
		return string(d)
	}
	d1 := put(a, 1)
	if got := a.head(t, "app", "latest"); got != d1 {
		t.Fatalf("A HEAD = %q, want %q", got, d1)
	}
	if got := b.head(t, "app", "latest"); got != d1 {
		t.Fatalf("B HEAD = %q, want %q", got, d1)
	}
	// A moves the tag: A sees it at once (its own write), B after its TTL.
	d2 := put(a, 2)
	if got := a.head(t, "app", "latest"); got != d2 {
		t.Fatalf("A HEAD after its own write = %q, want %q", got, d2)
	}
	if got := b.head(t, "app", "latest"); got != d1 {
		t.Fatalf("B HEAD inside its TTL = %q, want the cached %q", got, d1)
	}
	clock.add(2 * time.Second)
	if got := b.head(t, "app", "latest"); got != d2 {
		t.Fatalf("B HEAD past its TTL = %q, want %q", got, d2)
	}
	// Every write path of the process invalidates: delete the tag, the
	// image, the repository.
	if got := a.head(t, "app", d2); got != d2 {
		t.Fatalf("A HEAD by digest = %q", got)
	}
	if _, err := a.svc.DeleteImage(ctx, "app", "", "latest"); err != nil {
		t.Fatal(err)
	}
	if got := a.head(t, "app", "latest"); got != "" {
		t.Fatalf("A HEAD of a deleted tag = %q", got)
	}
	if got := a.head(t, "app", d2); got != "" {
		t.Fatalf("A HEAD of a deleted image = %q", got)
	}
	d3 := put(a, 3)
	if got := a.head(t, "app", "latest"); got != d3 {
		t.Fatalf("A HEAD of a re-created tag = %q, want %q", got, d3)
	}
	if _, err := a.svc.DeleteRepository(ctx, "app", true); err != nil {
		t.Fatal(err)
	}
	if got := a.head(t, "app", "latest"); got != "" {
		t.Fatalf("A HEAD in a deleted repository = %q", got)
	}
}

// A session opened by POST has no file until bytes arrive; it still
// survives a restart (its record is in the state store) and completes in
// one PUT, leaving no session behind.
func TestEmptyUploadSurvivesRestartAndExpires(t *testing.T) {
	dir := t.TempDir()
	st, err := sqlite.Open(filepath.Join(dir, "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	open := func() (*registry.Service, *fs.Store) {
		blobs, err := fs.Open(filepath.Join(dir, "blobs"), fs.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return registry.New(registry.Options{Store: st, Blobs: blobs}), blobs
	}
	svc, blobs := open()
	ctx := tenancy.With(context.Background(), testAccount, testRegion)
	svc.CreateRepository(ctx, registry.Repository{Name: "up"})
	id, err := svc.StartUpload(ctx, "up")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	blobs.WalkUploads(ctx, func(blobstore.UploadInfo) error { n++; return nil })
	if n != 0 {
		t.Fatalf("%d sessions in the blob store after a POST, want 0", n)
	}
	svc, _ = open() // restart
	data := []byte("layer bytes")
	if _, err := svc.AppendUpload(ctx, "up", id, 0, bytes.NewReader(data)); err != nil {
		t.Fatalf("append after restart: %v", err)
	}
	info, err := svc.CompleteUpload(ctx, "up", id, string(blobstore.FromBytes(data)))
	if err != nil || info.Size != int64(len(data)) {
		t.Fatalf("complete: %+v %v", info, err)
	}
	// An abandoned empty session is only a record; expiry removes it.
	id2, _ := svc.StartUpload(ctx, "up")
	if n, err := svc.ExpireUploads(context.Background(), time.Now(), time.Hour); err != nil || n != 0 {
		t.Fatalf("young empty session expired: %d %v", n, err)
	}
	if n, err := svc.ExpireUploads(context.Background(), time.Now().Add(2*time.Hour), time.Hour); err != nil || n != 1 {
		t.Fatalf("ExpireUploads = %d, %v; want 1", n, err)
	}
	if _, err := svc.AppendUpload(ctx, "up", id2, 0, bytes.NewReader(data)); err == nil {
		t.Fatal("expired empty session accepted bytes")
	}
}
