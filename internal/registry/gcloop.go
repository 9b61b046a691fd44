package registry

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// GCLoop runs CollectGarbage every Every, with grace period Grace, until
// Stop. The server owns it: Start with the server, Stop before closing the
// stores.
type GCLoop struct {
	Service *Service
	Every   time.Duration // default 1 h
	Grace   time.Duration // default 24 h
	// UploadTTL is how long an upload session may stay unfinished
	// (default 7 days).
	UploadTTL time.Duration
	Now       func() time.Time
	Logger    *slog.Logger

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// Start launches the loop.
func (g *GCLoop) Start(ctx context.Context) {
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
	g.stop, g.done = make(chan struct{}), make(chan struct{})
	go g.run(ctx)
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
			if n, err := g.Service.ExpireUploads(ctx, g.Now(), g.UploadTTL); err != nil {
				g.Logger.Warn("registry upload expiry failed", "err", err)
			} else if n > 0 {
				g.Logger.Info("registry expired uploads", "count", n)
			}
			rep, err := g.Service.CollectGarbage(ctx, g.Now(), g.Grace)
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

// Stop ends the loop and waits for a collection in progress to finish.
func (g *GCLoop) Stop() {
	g.once.Do(func() {
		if g.stop == nil {
			return
		}
		close(g.stop)
		<-g.done
	})
}
