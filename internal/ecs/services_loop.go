package ecs

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/tenancy"
)

// ServiceScheduler is the owned loop of the service scheduler: every
// interval, and at once when a service is created, updated or deleted, it
// runs Service.ReconcileServices. Start and Stop it with the server.
type ServiceScheduler struct {
	svc      *Service
	interval time.Duration
	wake     chan struct{}
	stop     chan struct{}
	done     chan struct{}
	once     sync.Once
	cache    passCache
}

// wakers maps a Service to its scheduler's wake channel, so the service
// API can wake the loop without the Service owning it.
var wakers sync.Map // *Service → chan struct{}

// NewServiceScheduler returns the scheduler loop of s, passing every
// interval (default 1 s).
func (s *Service) NewServiceScheduler(interval time.Duration) *ServiceScheduler {
	if interval <= 0 {
		interval = time.Second
	}
	return &ServiceScheduler{svc: s, interval: interval, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
}

// Start runs the loop until Stop.
func (l *ServiceScheduler) Start(ctx context.Context) {
	wakers.Store(l.svc, l.wake)
	go l.run(ctx)
}

// Stop ends the loop and waits for the pass in progress.
func (l *ServiceScheduler) Stop() {
	l.once.Do(func() {
		wakers.Delete(l.svc)
		close(l.stop)
		<-l.done
	})
}

func (l *ServiceScheduler) run(ctx context.Context) {
	defer close(l.done)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-l.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	t := time.NewTicker(l.interval)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-ctx.Done():
			return
		case <-t.C:
		case <-l.wake:
		}
		if _, err := l.ReconcileServices(ctx, l.svc.now()); err != nil && ctx.Err() == nil {
			l.svc.log.Warn("ecs: service scheduler pass", "err", err)
		}
	}
}

// wakeScheduler asks the loop for a pass now.
func (s *Service) wakeScheduler() {
	if ch, ok := wakers.Load(s); ok {
		select {
		case ch.(chan struct{}) <- struct{}{}:
		default:
		}
	}
}

// serviceTaskChanged wakes the scheduler when a service's task stopped, so
// that it is replaced at once rather than at the next tick.
func (s *Service) serviceTaskChanged(t *taskRec) {
	if t.LastStatus == taskStopped && strings.HasPrefix(t.Group, "service:") {
		s.wakeScheduler()
	}
}

// PassStats says what one ReconcileServices pass did.
type PassStats struct {
	Services, Started, Stopped int
}

// ReconcileServices runs one pass of the service scheduler at now over
// every tenant that has services: for each cluster it reads the services,
// their tasks and the container instances once (decoding only the records
// that changed since the previous pass), lets sched.Decide plan each
// service, and applies the plans. A tenant's failure does not stop the
// others. The loop calls it; tests and benchmarks may call it directly on
// a scheduler they do not start.
func (l *ServiceScheduler) ReconcileServices(ctx context.Context, now time.Time) (PassStats, error) {
	s := l.svc
	defer l.cache.tasks.sweep()
	defer l.cache.services.sweep()
	var st PassStats
	var tenants []string
	err := s.st.View(ctx, func(tx store.Tx) error {
		items, err := tx.Scan(tblSvcTenants, "", "", 0)
		for _, it := range items {
			tenants = append(tenants, it.Key)
		}
		return err
	})
	if err != nil {
		return st, err
	}
	defer l.cache.stats.publish() // a pass that read no tenant keeps the last counts
	var errsList []error
	for _, key := range tenants {
		acct, region, ok := strings.Cut(key, "/")
		if !ok {
			continue
		}
		if err := s.reconcileTenant(tenancy.With(ctx, acct, region), key, &l.cache, now, &st); err != nil {
			if ctx.Err() != nil {
				return st, ctx.Err()
			}
			errsList = append(errsList, err)
		}
	}
	return st, errors.Join(errsList...)
}
