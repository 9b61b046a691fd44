package registry

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wharfhq/wharf/internal/blobstore"
	"github.com/wharfhq/wharf/internal/store"
)

// GCLeaseName is the store lease a GCLoop holds while it collects, so that
// of several control-plane replicas on one store only one collects at a
// time.
const GCLeaseName = "registry-gc"

// leaseFence is the gcFence of a collection holding a store lease.
type leaseFence struct {
	st    store.Store
	now   func() time.Time
	ttl   time.Duration
	lease store.Lease
}

func (f *leaseFence) check(tx store.Tx) error { return store.CheckLease(tx, f.lease, f.now()) }

// keep renews the lease once less than half of its TTL is left.
func (f *leaseFence) keep(ctx context.Context) error {
	now := f.now()
	if f.lease.Expires.Sub(now) > f.ttl/2 {
		return nil
	}
	l, err := store.RenewLease(ctx, f.st, f.lease, now, f.ttl)
	if err != nil {
		return err
	}
	f.lease = l
	return nil
}

// RunOnce is one tick of the loop: if it can take the GC lease (free,
// expired or its own), it expires abandoned uploads and collects garbage,
// and reports ran. ran is false, with a nil error, when another holder has
// the lease.
func (g *GCLoop) RunOnce(ctx context.Context) (ran bool, rep GCReport, err error) {
	g.defaults()
	now := g.Now()
	lease, err := store.AcquireLease(ctx, g.Service.st, GCLeaseName, g.Holder, now, g.LeaseTTL)
	if errors.Is(err, store.ErrLeaseHeld) {
		g.Logger.Debug("registry gc: another replica holds the lease", "err", err)
		g.mu.Lock()
		g.lease = nil
		g.mu.Unlock()
		return false, rep, nil
	}
	if err != nil {
		return false, rep, fmt.Errorf("registry gc: lease: %w", err)
	}
	fence := &leaseFence{st: g.Service.st, now: g.Now, ttl: g.LeaseTTL, lease: lease}
	if n, err := g.Service.ExpireUploads(ctx, now, g.UploadTTL); err != nil {
		g.Logger.Warn("registry upload expiry failed", "err", err)
	} else if n > 0 {
		g.Logger.Info("registry expired uploads", "count", n)
	}
	rep, err = g.Service.collectGarbage(ctx, now, g.Grace, fence)
	// The lease stays with this holder until it expires: the next tick
	// (Every later) extends it, so the same replica keeps collecting while
	// it lives and another takes over within LeaseTTL when it dies — or at
	// once when it stops (Stop releases it).
	g.mu.Lock()
	g.lease = &fence.lease
	if errors.Is(err, store.ErrLeaseLost) {
		g.lease = nil
	}
	g.mu.Unlock()
	return true, rep, err
}

// releaseLease gives the lease up if this loop holds it, so that another
// replica's loop takes over at its next tick instead of after LeaseTTL.
func (g *GCLoop) releaseLease(ctx context.Context) error {
	g.mu.Lock()
	l := g.lease
	g.lease = nil
	g.mu.Unlock()
	if l == nil {
		return nil
	}
	return store.ReleaseLease(ctx, g.Service.st, *l)
}

// newHolderID names a GCLoop that was not given a Holder.
func newHolderID() string { return "gc-" + blobstore.NewUploadID() }
