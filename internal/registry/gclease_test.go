package registry

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/blobstore"
	"github.com/wharfhq/wharf/internal/blobstore/fs"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/sqlite"
	"github.com/wharfhq/wharf/internal/tenancy"
)

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// twoReplicas are two registry services (control-plane replicas) on one
// state store and one blob store, each with its GC loop.
func twoReplicas(t *testing.T, clock *testClock) (st store.Store, blobs *fs.Store, a, b *GCLoop) {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlite.Open(filepath.Join(dir, "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	blobs, err = fs.Open(filepath.Join(dir, "blobs"), fs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	loop := func(holder string) *GCLoop {
		svc := New(Options{Store: st, Blobs: blobs, Now: clock.now})
		return &GCLoop{Service: svc, Every: time.Hour, Grace: time.Hour, Now: clock.now, Holder: holder}
	}
	return st, blobs, loop("a"), loop("b")
}

func putOrphan(t *testing.T, blobs *fs.Store, s string) blobstore.Digest {
	t.Helper()
	d := blobstore.FromBytes([]byte(s))
	if _, err := blobs.Put(context.Background(), d, -1, strings.NewReader(s)); err != nil {
		t.Fatal(err)
	}
	return d
}

// Two GC loops on one store: one collects, the other waits for the lease;
// the holder keeps it across its ticks, the other takes over once it
// expires.
func TestGCLeaseOneCollectorAtATime(t *testing.T) {
	clock := &testClock{t: time.Now().Add(48 * time.Hour)} // blobs carry real modification times
	_, blobs, a, b := twoReplicas(t, clock)
	ctx := context.Background()
	orphan := putOrphan(t, blobs, "orphan 1")

	ran, rep, err := a.RunOnce(ctx)
	if err != nil || !ran || rep.Deleted != 1 {
		t.Fatalf("A: ran %v rep %+v err %v", ran, rep, err)
	}
	if _, err := blobs.Stat(ctx, orphan); !errors.Is(err, blobstore.ErrNotFound) {
		t.Fatalf("orphan kept: %v", err)
	}
	if ran, _, err := b.RunOnce(ctx); err != nil || ran {
		t.Fatalf("B collected while A holds the lease: ran %v err %v", ran, err)
	}
	clock.add(30 * time.Minute)
	if ran, _, err := a.RunOnce(ctx); err != nil || !ran {
		t.Fatalf("A lost its own lease: ran %v err %v", ran, err)
	}
	// A dies: B takes over once A's lease (renewed at +30 min) expires.
	clock.add(59 * time.Minute)
	if ran, _, _ := b.RunOnce(ctx); ran {
		t.Fatal("B took an unexpired lease")
	}
	clock.add(time.Minute)
	putOrphan(t, blobs, "orphan 2")
	ran, rep, err = b.RunOnce(ctx)
	if err != nil || !ran || rep.Deleted != 1 {
		t.Fatalf("B after expiry: ran %v rep %+v err %v", ran, rep, err)
	}
	if ran, _, _ := a.RunOnce(ctx); ran {
		t.Fatal("A collected while B holds the lease")
	}
}

// Both loops tick at the same instant, round after round: exactly one
// collects each time.
func TestGCLeaseConcurrentLoops(t *testing.T) {
	clock := &testClock{t: time.Now().Add(48 * time.Hour)}
	_, _, a, b := twoReplicas(t, clock)
	ctx := context.Background()
	for round := range 6 {
		var wg sync.WaitGroup
		var ranA, ranB bool
		var errA, errB error
		wg.Go(func() { ranA, _, errA = a.RunOnce(ctx) })
		wg.Go(func() { ranB, _, errB = b.RunOnce(ctx) })
		wg.Wait()
		if errA != nil || errB != nil {
			t.Fatalf("round %d: %v / %v", round, errA, errB)
		}
		if ranA == ranB {
			t.Fatalf("round %d: A ran %v, B ran %v; want exactly one", round, ranA, ranB)
		}
		clock.add(time.Hour) // the lease expires: the next round is open to both
	}
}

// A collector that lost its lease (it expired and the other replica took
// it) stops at its next write and deletes nothing.
func TestGCLeaseFencesAStaleCollector(t *testing.T) {
	clock := &testClock{t: time.Now().Add(48 * time.Hour)}
	st, blobs, a, b := twoReplicas(t, clock)
	ctx := context.Background()
	a.defaults()
	lease, err := store.AcquireLease(ctx, st, GCLeaseName, a.Holder, clock.now(), a.LeaseTTL)
	if err != nil {
		t.Fatal(err)
	}
	stale := &leaseFence{st: st, now: clock.now, ttl: a.LeaseTTL, lease: lease}
	clock.add(a.LeaseTTL) // A stalls past its lease…
	if ran, _, err := b.RunOnce(ctx); err != nil || !ran {
		t.Fatalf("B: ran %v err %v", ran, err)
	}
	orphan := putOrphan(t, blobs, "orphan for the stale collector")
	clock.add(2 * time.Hour) // old enough to collect
	// B still holds the lease (it is B's; A's renewal must fail).
	if _, err := store.RenewLease(ctx, st, lease, clock.now(), a.LeaseTTL); !errors.Is(err, store.ErrLeaseLost) {
		t.Fatalf("A renewed B's lease: %v", err)
	}
	_, err = a.Service.collectGarbage(ctx, clock.now(), a.Grace, stale)
	if !errors.Is(err, store.ErrLeaseLost) {
		t.Fatalf("stale collector: %v, want ErrLeaseLost", err)
	}
	if _, err := blobs.Stat(ctx, orphan); err != nil {
		t.Fatalf("the stale collector deleted a blob: %v", err)
	}
}

// A push on another replica meets a collection of the same blob through
// the store: while the blob is marked as being collected, linking it is
// refused (push again); a mark left by a collector that died is finished
// by the next collection, after which the blob can be pushed again.
func TestGCCollectionMark(t *testing.T) {
	clock := &testClock{t: time.Now().Add(48 * time.Hour)}
	st, blobs, a, b := twoReplicas(t, clock)
	ctx := context.Background()
	tctx := tenancy.With(ctx, "123456789012", "us-east-1")
	if _, err := b.Service.CreateRepository(tctx, Repository{Name: "app"}); err != nil {
		t.Fatal(err)
	}
	layer := "a layer being collected"
	d := putOrphan(t, blobs, layer)
	// Replica A marks the blob and dies before deleting it.
	if err := a.Service.markCollecting(ctx, d, "", clock.now(), nil); err != nil {
		t.Fatal(err)
	}
	err := b.Service.link(tctx, "app", d, int64(len(layer)), "")
	if !errors.Is(err, ErrBlobUploadInvalid) {
		t.Fatalf("link of a blob being collected: %v, want ErrBlobUploadInvalid", err)
	}
	// A user that appeared first keeps the blob: no mark is written.
	other := putOrphan(t, blobs, "a layer in use")
	if err := b.Service.link(tctx, "app", other, 14, ""); err != nil {
		t.Fatal(err)
	}
	if err := a.Service.markCollecting(ctx, other, "", clock.now(), nil); !errors.Is(err, errInUse) {
		t.Fatalf("mark of a used blob: %v, want errInUse", err)
	}
	// B's next collection finishes A's: the file goes, the mark too.
	if ran, _, err := b.RunOnce(ctx); err != nil || !ran {
		t.Fatalf("B: ran %v err %v", ran, err)
	}
	if _, err := blobs.Stat(ctx, d); !errors.Is(err, blobstore.ErrNotFound) {
		t.Fatalf("marked blob kept: %v", err)
	}
	if err := st.View(ctx, func(tx store.Tx) error { _, err := tx.Get(tblCollecting, string(d)); return err }); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("mark kept: %v", err)
	}
	if _, err := blobs.Stat(ctx, other); err != nil {
		t.Fatalf("linked blob collected: %v", err)
	}
	// Pushed again: stored and linked.
	putOrphan(t, blobs, layer)
	if err := b.Service.link(tctx, "app", d, int64(len(layer)), ""); err != nil {
		t.Fatalf("link after the collection: %v", err)
	}
}

// Stopping a loop gives its lease up: another replica collects at its
// next tick, without waiting for the lease to expire.
func TestGCLoopStopReleasesLease(t *testing.T) {
	clock := &testClock{t: time.Now().Add(48 * time.Hour)}
	_, blobs, a, b := twoReplicas(t, clock)
	ctx := context.Background()
	a.Start(ctx)
	if ran, _, err := a.RunOnce(ctx); err != nil || !ran {
		t.Fatalf("A: ran %v err %v", ran, err)
	}
	if ran, _, err := b.RunOnce(ctx); err != nil || ran {
		t.Fatalf("B collected while A holds the lease: ran %v err %v", ran, err)
	}
	a.Stop()
	orphan := putOrphan(t, blobs, "collected by B after A stopped")
	ran, rep, err := b.RunOnce(ctx) // same instant: A's lease has not expired
	if err != nil || !ran || rep.Deleted != 1 {
		t.Fatalf("B after A stopped: ran %v rep %+v err %v", ran, rep, err)
	}
	if _, err := blobs.Stat(ctx, orphan); !errors.Is(err, blobstore.ErrNotFound) {
		t.Fatalf("orphan kept: %v", err)
	}
	a.Stop() // twice: nothing more
	if ran, _, _ := a.RunOnce(ctx); ran {
		t.Fatal("A took the lease B holds")
	}
}

// A collector that loses its lease between deciding to delete a blob and
// deleting it does not delete: A marks an orphan and stalls past its
// lease; B takes over, finishes A's mark (deletes the file) and a client
// pushes the blob again and links it. A then wakes up: it must not
// delete the fresh copy, nor drop a mark that is not its own.
func TestGCLostLeaseDeletesNothing(t *testing.T) {
	clock := &testClock{t: time.Now().Add(48 * time.Hour)}
	st, blobs, a, b := twoReplicas(t, clock)
	ctx := context.Background()
	tctx := tenancy.With(ctx, "123456789012", "us-east-1")
	if _, err := b.Service.CreateRepository(tctx, Repository{Name: "app"}); err != nil {
		t.Fatal(err)
	}
	layer := "an orphan that is pushed again"
	d := putOrphan(t, blobs, layer)
	clock.add(2 * time.Hour) // older than the grace period

	stalled, resume := make(chan struct{}), make(chan struct{})
	a.Service.gcBeforeDelete = func(blobstore.Digest) {
		close(stalled)
		<-resume
	}
	type result struct {
		rep GCReport
		err error
	}
	done := make(chan result, 1)
	go func() {
		_, rep, err := a.RunOnce(ctx)
		done <- result{rep, err}
	}()
	select {
	case <-stalled:
	case r := <-done:
		t.Fatalf("A finished without reaching the delete: %+v", r)
	}
	var mark collectingRec
	if err := st.View(ctx, func(tx store.Tx) error {
		it, err := tx.Get(tblCollecting, string(d))
		if err == nil {
			err = json.Unmarshal(it.Value, &mark)
		}
		return err
	}); err != nil || mark.Version == "" {
		t.Fatalf("A's mark: %+v, %v", mark, err)
	}

	clock.add(a.LeaseTTL) // A's lease expires while it stalls
	if ran, _, err := b.RunOnce(ctx); err != nil || !ran {
		t.Fatalf("B: ran %v err %v", ran, err)
	}
	if _, err := blobs.Stat(ctx, d); !errors.Is(err, blobstore.ErrNotFound) {
		t.Fatalf("B did not finish A's mark: %v", err)
	}
	// The client pushes the layer again.
	putOrphan(t, blobs, layer)
	if err := b.Service.link(tctx, "app", d, int64(len(layer)), ""); err != nil {
		t.Fatalf("link after B's collection: %v", err)
	}

	close(resume)
	r := <-done
	a.Service.gcBeforeDelete = nil
	if !errors.Is(r.err, store.ErrLeaseLost) || r.rep.Deleted != 0 {
		t.Fatalf("stale A: rep %+v err %v, want ErrLeaseLost and nothing deleted", r.rep, r.err)
	}
	got, _, err := blobs.Open(ctx, d)
	if err != nil {
		t.Fatalf("the fresh copy is gone: %v", err)
	}
	got.Close()

	// Even past the store's fence (the lease check and the unlink cannot
	// be one atomic step on a filesystem), the delete names A's copy,
	// which B deleted: the fresh copy is another version and stays.
	if deleted, err := a.Service.deleteCopy(ctx, d, mark.Version, nil); err != nil || deleted {
		t.Fatalf("deleteCopy of A's version: deleted %v err %v", deleted, err)
	}
	if rep, err := a.Service.Fsck(tctx, true); err != nil || len(rep.Problems) > 0 || rep.Links != 1 {
		t.Fatalf("fsck: %+v, %v", rep, err)
	}
}
