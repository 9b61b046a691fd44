package audit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/tenancy"
)

// Defaults of Options.
const (
	DefaultRetention     = 90 * 24 * time.Hour
	DefaultBufferSize    = 4096
	DefaultFlushInterval = 100 * time.Millisecond
	DefaultSweepInterval = 5 * time.Minute

	// maxBatch is how many events the loop gathers before it writes them
	// without waiting for the flush tick.
	maxBatch = 256
	// stopTimeout bounds the final flush of Stop.
	stopTimeout = 10 * time.Second
)

// Options configure a Recorder. Zero values take the defaults.
type Options struct {
	// Retention is how long events are kept (default 90 days).
	Retention time.Duration
	// Now is the clock: event times when Event.Time is zero, and the
	// retention cutoff (default time.Now).
	Now func() time.Time
	// Logger receives write failures and drop warnings (default: discard).
	Logger *slog.Logger
	// BufferSize is how many events Record may queue before it starts
	// dropping them (default 4096).
	BufferSize int
	// FlushInterval is how long an event may wait in a partial batch
	// (default 100ms). SweepInterval is the period of the retention sweep
	// (default 5 minutes). Both are ticker periods of the loop, never used
	// to decide what to keep.
	FlushInterval time.Duration
	SweepInterval time.Duration
}

// Recorder writes audit events to the store from one owned loop.
//
// Record queues an event without blocking; Start runs the loop that writes
// queued events in batches (at maxBatch events or every FlushInterval),
// one store transaction per account per batch, and sweeps out events older
// than the retention period; Stop ends the loop after writing everything
// queued. A Recorder is safe for concurrent use.
type Recorder struct {
	st  store.Store
	opt Options
	log *slog.Logger

	ch       chan Event
	flushReq chan chan error
	quit     chan struct{}
	done     chan struct{}

	// gate orders Record against Stop: Record holds it shared while it
	// queues, Stop exclusively while it sets stopped, so once Stop holds it
	// no event can be queued that the final flush would miss.
	gate    sync.RWMutex
	stopped bool

	startOnce sync.Once
	started   atomic.Bool
	stopOnce  sync.Once

	// writeMu serialises writes and sweeps (the loop's, and the direct
	// flushes done when no loop runs) and guards known.
	writeMu sync.Mutex
	known   map[string]bool // accounts already in accountsTable

	dropped     atomic.Uint64 // queue full or recorder stopped
	failed      atomic.Uint64 // store write failed
	written     atomic.Uint64
	lastDropped uint64 // loop only: dropped count at the last warning
}

// New returns a Recorder writing to st. Call Start to run its loop.
func New(st store.Store, opts Options) *Recorder {
	if opts.Retention <= 0 {
		opts.Retention = DefaultRetention
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.BufferSize <= 0 {
		opts.BufferSize = DefaultBufferSize
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = DefaultFlushInterval
	}
	if opts.SweepInterval <= 0 {
		opts.SweepInterval = DefaultSweepInterval
	}
	return &Recorder{
		st:       st,
		opt:      opts,
		log:      opts.Logger,
		ch:       make(chan Event, opts.BufferSize),
		flushReq: make(chan chan error),
		quit:     make(chan struct{}),
		done:     make(chan struct{}),
		known:    map[string]bool{},
	}
}

// Record queues ev for writing. It never waits for the store or the loop
// (only, for an instant, for a Stop in progress): when the queue is full,
// or the Recorder is stopped, the event is dropped and counted (Dropped),
// and the loop logs a warning at its next tick. A zero ev.Time is set to
// the clock's now.
func (r *Recorder) Record(ev Event) {
	if ev.Time.IsZero() {
		ev.Time = r.opt.Now()
	}
	r.gate.RLock()
	defer r.gate.RUnlock()
	if r.stopped {
		r.dropped.Add(1)
		return
	}
	select {
	case r.ch <- ev:
	default:
		r.dropped.Add(1)
	}
}

// Dropped returns how many events were dropped because the queue was full
// or the Recorder was stopped. It only grows (a metric counter).
func (r *Recorder) Dropped() uint64 { return r.dropped.Load() }

// Failed returns how many events were lost because the store refused to
// write them. It only grows.
func (r *Recorder) Failed() uint64 { return r.failed.Load() }

// Written returns how many events were written. It only grows.
func (r *Recorder) Written() uint64 { return r.written.Load() }

// Start runs the loop until Stop is called or ctx ends. Later calls do
// nothing.
func (r *Recorder) Start(ctx context.Context) {
	r.startOnce.Do(func() {
		r.started.Store(true)
		go r.run(ctx)
	})
}

// Stop refuses further events, ends the loop and writes every event still
// queued. It waits for that and may be called more than once.
func (r *Recorder) Stop() {
	r.stopOnce.Do(func() {
		r.gate.Lock()
		r.stopped = true
		r.gate.Unlock()
		// From here nothing new enters r.ch. If a loop runs, make sure it
		// has exited (it writes what it holds); then write what is left.
		r.startOnce.Do(func() {}) // a Start racing with Stop now does nothing
		if r.started.Load() {
			close(r.quit)
			<-r.done
		}
		ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
		defer cancel()
		if err := r.drain(ctx, nil); err != nil {
			r.log.Error("audit: final flush failed", "err", err)
		}
	})
}

// Flush writes every event recorded before it was called and returns the
// first write error. Tests use it to wait for the loop.
func (r *Recorder) Flush(ctx context.Context) error {
	if !r.started.Load() {
		return r.drain(ctx, nil)
	}
	reply := make(chan error, 1)
	select {
	case r.flushReq <- reply:
	case <-r.done: // the loop is gone (ctx ended, or Stop): write directly
		return r.drain(ctx, nil)
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run is the Recorder's loop: the only goroutine that writes while it
// runs.
func (r *Recorder) run(ctx context.Context) {
	defer close(r.done)
	// An event taken from the queue is written even while ctx ends (the
	// server shutting down); sweeps, which can wait, stop with ctx.
	wctx := context.WithoutCancel(ctx)
	flush := time.NewTicker(r.opt.FlushInterval)
	defer flush.Stop()
	sweep := time.NewTicker(r.opt.SweepInterval)
	defer sweep.Stop()

	r.sweepAndLog(ctx) // a restarted server cleans up at once
	batch := make([]Event, 0, maxBatch)
	for {
		select {
		case ev := <-r.ch:
			batch = append(batch, ev)
			if len(batch) >= maxBatch {
				r.write(wctx, batch)
				batch = batch[:0]
			}
		case <-flush.C:
			if len(batch) > 0 {
				r.write(wctx, batch)
				batch = batch[:0]
			}
			r.warnDrops()
		case <-sweep.C:
			r.sweepAndLog(ctx)
		case reply := <-r.flushReq:
			reply <- r.drain(wctx, batch)
			batch = batch[:0]
		case <-r.quit:
			r.finish(wctx, batch)
			return
		case <-ctx.Done():
			r.finish(wctx, batch)
			return
		}
	}
}

// finish writes what the loop holds, within stopTimeout.
func (r *Recorder) finish(ctx context.Context, batch []Event) {
	fctx, cancel := context.WithTimeout(ctx, stopTimeout)
	defer cancel()
	if len(batch) > 0 {
		r.write(fctx, batch)
	}
	r.warnDrops()
}

// drain writes batch and then the events queued when it was called (not
// those queued meanwhile, so it ends under load), maxBatch at a time, and
// returns the first write error.
func (r *Recorder) drain(ctx context.Context, batch []Event) error {
	n := len(r.ch)
	var first error
	for {
		for n > 0 && len(batch) < maxBatch {
			select {
			case ev := <-r.ch:
				batch = append(batch, ev)
				n--
			default: // taken by a concurrent drain
				n = 0
			}
		}
		if len(batch) > 0 {
			if err := r.write(ctx, batch); err != nil && first == nil {
				first = err
			}
			batch = batch[:0]
		}
		if n == 0 {
			return first
		}
	}
}

// write stores batch: one transaction per account. Events whose account's
// transaction fails are counted in Failed and logged; the error of the
// first failure is returned.
func (r *Recorder) write(ctx context.Context, batch []Event) error {
	r.writeMu.Lock()
	defer r.writeMu.Unlock()

	type kv struct{ key, value string }
	groups := map[string][]kv{}
	var order []string
	for i := range batch {
		ev := &batch[i]
		if ev.ID == "" {
			ev.ID = newID()
		}
		rec, err := newRecord(ev)
		if err != nil {
			r.log.Warn("audit: event kept without its request parameters", "event", ev.EventName, "err", err)
		}
		b, err := json.Marshal(rec)
		if err != nil { // cannot happen: every field of record encodes
			r.failed.Add(1)
			r.log.Error("audit: encode event", "event", ev.EventName, "err", err)
			continue
		}
		if _, ok := groups[rec.Account]; !ok {
			order = append(order, rec.Account)
		}
		groups[rec.Account] = append(groups[rec.Account], kv{eventKey(rec.Time, rec.ID), string(b)})
	}

	var first error
	for _, acct := range order {
		items := groups[acct]
		t, tctx := systemEventsTable, ctx
		if acct != "" {
			t, tctx = eventsTable, tenancy.WithAccount(ctx, acct)
		}
		index := acct != "" && !r.known[acct]
		err := r.st.Update(tctx, func(tx store.Tx) error {
			for _, it := range items {
				if _, err := tx.Put(t, it.key, []byte(it.value)); err != nil {
					return err
				}
			}
			if index {
				if _, err := tx.Put(accountsTable, acct, []byte("{}")); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			r.failed.Add(uint64(len(items)))
			r.log.Error("audit: write events", "account", acct, "events", len(items), "err", err)
			if first == nil {
				first = err
			}
			continue
		}
		if index {
			r.known[acct] = true
		}
		r.written.Add(uint64(len(items)))
	}
	return first
}

// warnDrops logs how many events were dropped since the last warning.
// Record never logs: the API path must not wait on a log handler.
func (r *Recorder) warnDrops() {
	n := r.dropped.Load()
	if n == r.lastDropped {
		return
	}
	r.log.Warn("audit: events dropped, queue full", "dropped", n-r.lastDropped, "total_dropped", n, "buffer_size", r.opt.BufferSize)
	r.lastDropped = n
}

func (r *Recorder) sweepAndLog(ctx context.Context) {
	if ctx.Err() != nil {
		return // stopping: the next start sweeps
	}
	n, err := r.Sweep(ctx)
	if err != nil {
		r.log.Error("audit: retention sweep", "err", err)
		return
	}
	if n > 0 {
		r.log.Info("audit: retention sweep", "deleted", n, "retention", r.opt.Retention)
	}
}

// Sweep deletes every event older than the retention period (relative to
// the clock's now) in every account and in the system table, and returns
// how many it deleted. The loop calls it every SweepInterval.
func (r *Recorder) Sweep(ctx context.Context) (int, error) {
	r.writeMu.Lock()
	defer r.writeMu.Unlock()

	cutoff := invNanos(r.opt.Now().Add(-r.opt.Retention))
	if cutoff == 0 {
		return 0, nil // the cutoff is beyond the last representable time
	}
	start := pad(cutoff + 1) // events strictly before the cutoff time

	var accounts []string
	err := r.st.View(ctx, func(tx store.Tx) error {
		items, err := tx.Scan(accountsTable, "", "", 0)
		for _, it := range items {
			accounts = append(accounts, it.Key)
		}
		return err
	})
	if err != nil {
		return 0, err
	}
	total := 0
	var errs []error
	for _, acct := range accounts {
		var n int
		var empty bool
		err := r.st.Update(tenancy.WithAccount(ctx, acct), func(tx store.Tx) error {
			var err error
			if n, err = tx.DeleteRange(eventsTable, start, keysEnd); err != nil {
				return err
			}
			left, err := tx.Scan(eventsTable, "", "", 1)
			if err != nil || len(left) > 0 {
				return err
			}
			empty = true
			if err := tx.Delete(accountsTable, acct); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			return nil
		})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		total += n
		if empty {
			delete(r.known, acct)
		}
	}
	var n int
	err = r.st.Update(ctx, func(tx store.Tx) error {
		var err error
		n, err = tx.DeleteRange(systemEventsTable, start, keysEnd)
		return err
	})
	if err != nil {
		errs = append(errs, err)
	} else {
		total += n
	}
	return total, errors.Join(errs...)
}

// newID returns a random (version 4) UUID, the form of CloudTrail event ids.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:36], b[10:16])
	return string(s[:])
}
