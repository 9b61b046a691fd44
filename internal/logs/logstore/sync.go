package logstore

import (
	"errors"
	"os"
	"sync"
)

// syncer is the group commit: writers hand it the file they appended to
// and wait; one goroutine fsyncs every file with waiters once per round and
// answers them all, so N concurrent PutLogEvents cost one fsync per file
// per round instead of N.
//
// A file closed before its round comes was synced by whoever closed it
// (segment rotation and stream deletion both sync first, or no longer
// need the data), so os.ErrClosed counts as success.
type syncer struct {
	mu      sync.Mutex
	waiting map[*os.File][]chan error
	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{}
	rounds  int64 // fsync rounds run, for tests and metrics
	closed  bool
}

func newSyncer() *syncer {
	s := &syncer{waiting: map[*os.File][]chan error{}, wake: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{})}
	go s.loop()
	return s
}

// sync returns once f's data written before the call is durable.
func (s *syncer) sync(f *os.File) error {
	ch := make(chan error, 1)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errors.New("logstore: closed")
	}
	s.waiting[f] = append(s.waiting[f], ch)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return <-ch
}

func (s *syncer) loop() {
	defer close(s.done)
	for {
		select {
		case <-s.wake:
			s.round()
		case <-s.stop:
			s.round()
			return
		}
	}
}

func (s *syncer) round() {
	s.mu.Lock()
	batch := s.waiting
	s.waiting = map[*os.File][]chan error{}
	if len(batch) > 0 {
		s.rounds++
	}
	s.mu.Unlock()
	for f, chans := range batch {
		err := f.Sync()
		if errors.Is(err, os.ErrClosed) {
			err = nil
		}
		for _, ch := range chans {
			ch <- err
		}
	}
}

// close finishes the pending round and stops the loop; later calls to
// sync fail.
func (s *syncer) close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	close(s.stop)
	<-s.done
}
