package server

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// sweeper is the server's maintenance loop: periodic clean-ups that belong
// to no single request (expired temporary credentials). One goroutine, one
// select, stopped with the server.
type sweeper struct {
	every  time.Duration
	now    func() time.Time
	log    *slog.Logger
	tasks  []sweepTask
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

type sweepTask struct {
	name string
	run  func(ctx context.Context, now time.Time) (int, error)
}

func (s *sweeper) start(ctx context.Context) {
	ctx, s.cancel = context.WithCancel(ctx)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(s.every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				for _, task := range s.tasks {
					n, err := task.run(ctx, s.now())
					if err != nil && ctx.Err() == nil {
						s.log.Warn("maintenance", "task", task.name, "err", err)
					} else if n > 0 {
						s.log.Debug("maintenance", "task", task.name, "removed", n)
					}
				}
			}
		}
	}()
}

func (s *sweeper) stop() {
	if s.cancel != nil {
		s.cancel()
	}
	s.wg.Wait()
}
