package registry_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/wharfhq/wharf/internal/blobstore"
	"github.com/wharfhq/wharf/internal/blobstore/fs"
	"github.com/wharfhq/wharf/internal/principal"
	"github.com/wharfhq/wharf/internal/registry"
	"github.com/wharfhq/wharf/internal/sigv4"
	"github.com/wharfhq/wharf/internal/store/sqlite"
	"github.com/wharfhq/wharf/internal/tenancy"
)

const (
	testAccount = "123456789012"
	testRegion  = "us-east-1"
	testKey     = "AKIAREGISTRYTEST0001"
)

// allowAll is an IAM stand-in: the caller is the account root.
type allowAll struct{}

func (allowAll) Authorize(context.Context, *principal.Principal, string, string, map[string][]string) error {
	return nil
}

func (allowAll) LookupAccessKey(_ context.Context, id string) (sigv4.Credential, error) {
	return sigv4.Credential{AccessKeyID: id, Subject: &principal.Principal{Kind: principal.Root, Account: testAccount, AccessKeyID: id}}, nil
}

type harness struct {
	svc   *registry.Service
	blobs *fs.Store
	srv   *httptest.Server
	host  string
	auth  authn.Authenticator
	ctx   context.Context // the tenant
}

func newHarness(t *testing.T) *harness {
	t.Helper()
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
	svc := registry.New(registry.Options{Store: st, Blobs: blobs, Authorizer: allowAll{}, Credentials: allowAll{}})
	mux := http.NewServeMux()
	mux.Handle("/v2/", svc.Handler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	ctx := tenancy.With(context.Background(), testAccount, testRegion)
	pass, _, err := svc.Tokens().Issue(ctx, &principal.Principal{Kind: principal.Root, Account: testAccount, AccessKeyID: testKey}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	return &harness{svc: svc, blobs: blobs, srv: srv, host: strings.TrimPrefix(srv.URL, "http://"),
		auth: &authn.Basic{Username: "AWS", Password: pass}, ctx: ctx}
}

func (h *harness) ref(t *testing.T, s string) name.Reference {
	r, err := name.ParseReference(h.host+"/"+s, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// pushClock is the collector's clock in TestGCConcurrentWithPushes: the
// wall clock, held back to the start of the oldest push in progress.
type pushClock struct {
	mu     sync.Mutex
	starts map[int]time.Time // worker → when its current push began
}

func (c *pushClock) begin(w int) {
	c.mu.Lock()
	c.starts[w] = time.Now()
	c.mu.Unlock()
}

func (c *pushClock) end(w int) {
	c.mu.Lock()
	delete(c.starts, w)
	c.mu.Unlock()
}

func (c *pushClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	for _, s := range c.starts {
		if s.Before(now) {
			now = s
		}
	}
	return now
}

// Garbage collection runs with a 2 s grace period, over and over, while
// eight clients push images (sharing a base layer), and delete some of
// them again. Afterwards every blob of every remaining manifest is stored
// and hashes right, every remaining image pulls and validates, and the
// garbage is gone.
//
// The collector's clock (pushClock) never passes the start of a push in
// progress. Everything a push stores or links is then inside the grace
// period until the push ends, as it is in production, where the grace
// period (24 h) is far longer than a push. With the wall clock instead,
// a push that took longer than 2 s (a loaded machine, -race, -cpu 1) had
// its own links expire before its manifest: GC rightly removed them, the
// manifest PUT failed with MANIFEST_BLOB_UNKNOWN, and every retry failed
// alike, as it reused the old links of the try before.
//
// The collector still removes, during the pushes, what is older than
// that: deleted images' blobs and the base layer while no kept manifest
// references it (all workers' first images are deleted). Only the base
// layer can be older than a push and unreferenced, so a push fails at
// most once (MANIFEST_BLOB_UNKNOWN or "blob was garbage collected during
// the upload"), and its second try, which uploads the base layer again,
// must succeed: a second failure means the collector removed a blob inside
// its grace period.
func TestGCConcurrentWithPushes(t *testing.T) {
	h := newHarness(t)
	for i := 0; i < 4; i++ {
		if _, err := h.svc.CreateRepository(h.ctx, registry.Repository{Name: fmt.Sprintf("gc/r%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	base, _ := random.Layer(8<<10, "application/vnd.oci.image.layer.v1.tar")
	opts := []remote.Option{remote.WithAuth(h.auth)}

	var kept sync.Map // ref → digest
	var deletedDigests sync.Map
	var pushes, retries atomic.Int64
	stop := make(chan struct{})
	gcDone := make(chan struct{})
	var collected atomic.Int64
	clock := &pushClock{starts: map[int]time.Time{}}
	go func() {
		defer close(gcDone)
		for {
			select {
			case <-stop:
				return
			default:
			}
			rep, err := h.svc.CollectGarbage(context.Background(), clock.now(), 2*time.Second)
			if err != nil {
				t.Error(err)
				return
			}
			collected.Add(int64(rep.Deleted))
		}
	}()
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 12; i++ {
				img, _ := random.Image(4<<10, 2)
				img, _ = mutate.AppendLayers(img, base)
				ref := fmt.Sprintf("gc/r%d:w%d-%d", w%4, w, i)
				var err error
				clock.begin(w)
				for try := 0; try < 2; try++ { // see above: a push fails at most once
					if err = remote.Write(h.ref(t, ref), img, opts...); err == nil {
						break
					}
					retries.Add(1) // the base layer collected between its upload (or HEAD) and the manifest: push again
					t.Logf("push %s, try %d: %v", ref, try+1, err)
				}
				clock.end(w)
				if err != nil {
					t.Errorf("push %s: %v", ref, err)
					return
				}
				pushes.Add(1)
				d, _ := img.Digest()
				if i%3 == 0 { // delete every third image again
					if err := remote.Delete(h.ref(t, fmt.Sprintf("gc/r%d@%s", w%4, d)), opts...); err != nil {
						t.Errorf("delete: %v", err)
					}
					deletedDigests.Store(d.String(), img)
					continue
				}
				kept.Store(ref, d)
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-gcDone
	if t.Failed() {
		return
	}
	// A final collection with the pushes over, an hour later: layers
	// uploaded but used by no manifest (the deleted images') go too.
	rep, err := h.svc.CollectGarbage(context.Background(), time.Now().Add(time.Hour), 30*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	during := collected.Load()
	collected.Add(int64(rep.Deleted))

	fsck, err := h.svc.Fsck(h.ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(fsck.Problems) > 0 {
		t.Fatalf("fsck after GC:\n%s", strings.Join(fsck.Problems, "\n"))
	}
	n := 0
	kept.Range(func(k, v any) bool {
		img, err := remote.Image(h.ref(t, k.(string)), opts...)
		if err != nil {
			t.Errorf("pull %s: %v", k, err)
			return true
		}
		if err := validate.Image(img); err != nil {
			t.Errorf("%s: %v", k, err)
		}
		n++
		return true
	})
	// The deleted images' own blobs (manifest, config, unique layers) are gone.
	gone := 0
	deletedDigests.Range(func(k, v any) bool {
		if _, err := h.blobs.Stat(context.Background(), blobstore.Digest(k.(string))); err == nil {
			t.Errorf("deleted manifest %s still stored", k)
		}
		img := v.(v1.Image)
		cfg, _ := img.ConfigName()
		if _, err := h.blobs.Stat(context.Background(), blobstore.Digest(cfg.String())); err == nil {
			t.Errorf("config %s of a deleted image still stored", cfg)
		}
		gone++
		return true
	})
	if _, err := h.blobs.Stat(context.Background(), mustDigest(t, base)); err != nil {
		t.Errorf("the shared base layer was collected: %v", err)
	}
	t.Logf("%d pushes (%d retried), %d kept and verified, %d deleted, %d blobs collected (%d during the pushes), fsck: %d manifests, %d links",
		pushes.Load(), retries.Load(), n, gone, collected.Load(), during, fsck.Manifests, fsck.Links)
}

func mustDigest(t *testing.T, l v1.Layer) blobstore.Digest {
	d, err := l.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return blobstore.Digest(d.String())
}

// Blob DELETE leaves a blob a manifest still references alive.
func TestGCKeepsReferencedBlobAfterBlobDelete(t *testing.T) {
	h := newHarness(t)
	h.svc.CreateRepository(h.ctx, registry.Repository{Name: "keep"})
	img, _ := random.Image(1024, 1)
	opts := []remote.Option{remote.WithAuth(h.auth)}
	if err := remote.Write(h.ref(t, "keep:1"), img, opts...); err != nil {
		t.Fatal(err)
	}
	layers, _ := img.Layers()
	ld, _ := layers[0].Digest()
	req, _ := http.NewRequest("DELETE", h.srv.URL+"/v2/keep/blobs/"+ld.String(), nil)
	b := h.auth.(*authn.Basic)
	req.SetBasicAuth(b.Username, b.Password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 202 {
		t.Fatalf("blob delete: %v %v", resp, err)
	}
	rep, err := h.svc.CollectGarbage(context.Background(), time.Now(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.blobs.Stat(context.Background(), blobstore.Digest(ld.String())); err != nil {
		t.Fatalf("referenced layer collected (report %+v): %v", rep, err)
	}
	// A grace period keeps young garbage.
	orphan := []byte("orphan")
	od := blobstore.FromBytes(orphan)
	h.blobs.Put(context.Background(), od, -1, strings.NewReader(string(orphan)))
	if _, err := h.svc.CollectGarbage(context.Background(), time.Now(), time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := h.blobs.Stat(context.Background(), od); err != nil {
		t.Fatal("young orphan collected")
	}
	if _, err := h.svc.CollectGarbage(context.Background(), time.Now().Add(2*time.Hour), time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := h.blobs.Stat(context.Background(), od); err == nil {
		t.Fatal("old orphan kept")
	}
}

// The loop collects on its period and stops cleanly (fake time).
func TestGCLoop(t *testing.T) {
	h := newHarness(t)
	orphan := []byte("orphan for the loop")
	od := blobstore.FromBytes(orphan)
	if _, err := h.blobs.Put(context.Background(), od, -1, strings.NewReader(string(orphan))); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(48 * time.Hour) // the bubble's clock starts in 2000; blobs carry real times
	synctest.Test(t, func(t *testing.T) {
		loop := &registry.GCLoop{Service: h.svc, Every: time.Hour, Grace: time.Hour,
			Now: func() time.Time { return later }}
		loop.Start(context.Background())
		time.Sleep(time.Hour + time.Second)
		synctest.Wait()
		loop.Stop()
	})
	if _, err := h.blobs.Stat(context.Background(), od); err == nil {
		t.Fatal("the loop did not collect the orphan")
	}
}

func TestExpireUploads(t *testing.T) {
	h := newHarness(t)
	h.svc.CreateRepository(h.ctx, registry.Repository{Name: "up"})
	id, err := h.svc.StartUpload(h.ctx, "up")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.AppendUpload(h.ctx, "up", id, 0, strings.NewReader("abc")); err != nil {
		t.Fatal(err)
	}
	if n, err := h.svc.ExpireUploads(context.Background(), time.Now(), time.Hour); err != nil || n != 0 {
		t.Fatalf("young upload expired: %d %v", n, err)
	}
	if n, err := h.svc.ExpireUploads(context.Background(), time.Now().Add(2*time.Hour), time.Hour); err != nil || n != 1 {
		t.Fatalf("ExpireUploads = %d, %v; want 1", n, err)
	}
	if _, err := h.svc.AppendUpload(h.ctx, "up", id, -1, strings.NewReader("x")); !errors.Is(err, registry.ErrBlobUploadUnknown) {
		t.Fatalf("expired upload: %v", err)
	}
	// A session belongs to its tenant.
	id2, _ := h.svc.StartUpload(h.ctx, "up")
	other := tenancy.With(context.Background(), "210987654321", testRegion)
	if _, err := h.svc.AppendUpload(other, "up", id2, -1, strings.NewReader("x")); err == nil {
		t.Fatal("another account wrote to the upload")
	}
}

// Anonymous pulls work only where a repository policy allows "*".
func TestAnonymousPullByRepositoryPolicy(t *testing.T) {
	dir := t.TempDir()
	st, err := sqlite.Open(filepath.Join(dir, "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	blobs, _ := fs.Open(filepath.Join(dir, "blobs"), fs.Options{})
	svc := registry.New(registry.Options{Store: st, Blobs: blobs, Authorizer: allowAll{}, Credentials: allowAll{},
		Anonymous: registry.Tenant{Account: testAccount, Region: testRegion}})
	mux := http.NewServeMux()
	mux.Handle("/v2/", svc.Handler())
	srv := httptest.NewServer(mux)
	defer srv.Close()
	ctx := tenancy.With(context.Background(), testAccount, testRegion)
	pass, _, _ := svc.Tokens().Issue(ctx, &principal.Principal{Kind: principal.Root, Account: testAccount, AccessKeyID: testKey}, time.Time{})
	host := strings.TrimPrefix(srv.URL, "http://")
	ref := func(s string) name.Reference { r, _ := name.ParseReference(host+"/"+s, name.Insecure); return r }
	for _, n := range []string{"public/app", "private/app"} {
		svc.CreateRepository(ctx, registry.Repository{Name: n})
		img, _ := random.Image(1024, 1)
		if err := remote.Write(ref(n+":1"), img, remote.WithAuth(&authn.Basic{Username: "AWS", Password: pass})); err != nil {
			t.Fatal(err)
		}
	}
	pub := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"]},
	  {"Effect":"Deny","Principal":"*","Action":"ecr:PutImage"}]}`
	if err := svc.SetRepositoryPolicy(ctx, "public/app", pub); err != nil {
		t.Fatal(err)
	}
	if err := svc.SetRepositoryPolicy(ctx, "public/app", `{"Statement":[{"Effect":"Allow","Action":"ecr:*"}]}`); !errors.Is(err, registry.ErrPolicyInvalid) {
		t.Fatalf("policy without a principal: %v", err)
	}
	img, err := remote.Image(ref("public/app:1"), remote.WithAuth(authn.Anonymous))
	if err != nil {
		t.Fatalf("anonymous pull of a public repository: %v", err)
	}
	if err := validate.Image(img); err != nil {
		t.Fatal(err)
	}
	if _, err := remote.Image(ref("private/app:1"), remote.WithAuth(authn.Anonymous)); err == nil || !strings.Contains(err.Error(), "UNAUTHORIZED") {
		t.Fatalf("anonymous pull of a private repository: %v", err)
	}
	other, _ := random.Image(512, 1)
	if err := remote.Write(ref("public/app:2"), other, remote.WithAuth(authn.Anonymous)); err == nil {
		t.Fatal("anonymous push accepted")
	}
	// The policy's Deny binds authenticated callers too.
	err = remote.Write(ref("public/app:2"), other, remote.WithAuth(&authn.Basic{Username: "AWS", Password: pass}))
	if err == nil || !strings.Contains(err.Error(), "DENIED") {
		t.Fatalf("push against a Deny: %v", err)
	}
	resp, _ := http.Get(srv.URL + "/v2/")
	if resp.StatusCode != 401 {
		t.Fatalf("anonymous /v2/: %d", resp.StatusCode)
	}
	if _, err := svc.DeleteRepositoryPolicy(ctx, "public/app"); err != nil {
		t.Fatal(err)
	}
	if _, err := remote.Image(ref("public/app:1"), remote.WithAuth(authn.Anonymous)); err == nil {
		t.Fatal("anonymous pull after the policy was deleted")
	}
}
