package registry

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/wharfhq/wharf/internal/store"
)

// GCLoop runs CollectGarbage every Every, with grace period Grace, until
// Stop, while it holds the store lease GCLeaseName (see RunOnce): of
// several loops on one store (control-plane replicas) one collects at a
// time. The server owns it: Start with the server, Stop before closing
// the stores.
type GCLoop struct {
	Service *Service
	Every   time.Duration // default 1 h
	Grace   time.Duration // default 24 h
	// UploadTTL is how long an upload session may stay unfinished
	// (default 7 days).
	UploadTTL time.Duration
	Now       func() time.Time
	Logger    *slog.Logger
	// Holder names this loop in the lease (default a random id).
	Holder string
	// LeaseTTL is how long the lease lasts without renewal (default
	// Every): a replica that dies holding it delays the others' collection
	// by at most this much.
	LeaseTTL time.Duration

	stop chan struct{}
	done chan struct{}
	once sync.Once

	mu    sync.Mutex
	lease *store.Lease // held since the last RunOnce; released by Stop
}

// Start launches the loop.
func (g *GCLoop) Start(ctx context.Context) {
	g.defaults()
	g.stop, g.done = make(chan struct{}), make(chan struct{})
	go g.run(ctx)
}

func (g *GCLoop) defaults() {
	if g.Every <= 0 {
		g.Every = time.Hour
	}
	if g.Grace <= 0 {
		g.Grace = 24 * time.Hour
	}
	if g.UploadTTL <= 0 {
		g.UploadTTL = 7 * 24 * time.Hour
	}
	if g.Now == nil {
		g.Now = time.Now
	}
	if g.Logger == nil {
		g.Logger = slog.New(slog.DiscardHandler)
	}
	if g.Holder == "" {
		g.Holder = newHolderID()
	}
	if g.LeaseTTL <= 0 {
		g.LeaseTTL = g.Every
	}
}

func (g *GCLoop) run(ctx context.Context) {
	defer close(g.done)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	t := time.NewTicker(g.Every)
	defer t.Stop()
	for {
		select {
		case <-g.stop:
			return
		case <-ctx.Done():
			return
		case <-t.C:
			_, rep, err := g.RunOnce(ctx)
			if err != nil {
				g.Logger.Warn("registry gc failed", "err", err)
				continue
			}
			if rep.Deleted > 0 {
				g.Logger.Info("registry gc", "scanned", rep.Scanned, "deleted", rep.Deleted, "reclaimed_bytes", rep.Reclaimed)
			}
		}
	}
}

// Stop ends the loop, waits for a collection in progress to finish and
// releases the GC lease if the loop holds it, so that another replica
// collects at its next tick rather than after LeaseTTL. Call it before
// closing the store.
func (g *GCLoop) Stop() {
	g.once.Do(func() {
		if g.stop != nil {
			close(g.stop)
			<-g.done
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := g.releaseLease(ctx); err != nil && g.Logger != nil {
			g.Logger.Warn("registry gc: releasing the lease failed", "err", err)
		}
	})
}
