package logstore

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkAppend measures the store alone: 8 writers, each appending
// batches of 500 events (≈ 120 bytes) to its own stream, every batch
// durable (group commit) before Append returns.
func BenchmarkAppend(b *testing.B) {
	s, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const writers, batch = 8, 500
	evs := make([]Event, batch)
	for i := range evs {
		evs[i] = Event{Timestamp: int64(i), Message: fmt.Sprintf("%08d INFO request served in 3ms %s", i, strings.Repeat("x", 80))}
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := ref
			r.Stream = fmt.Sprint("w", w)
			for next.Add(1) <= int64(b.N) {
				if err := s.Append(r, evs, 1); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N*batch)/time.Since(start).Seconds(), "events/s")
}

// BenchmarkTail reads the newest 100 events of a 200,000-event stream.
func BenchmarkTail(b *testing.B) {
	s, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	evs := make([]Event, 5000)
	for i := 0; i < 200_000; i += len(evs) {
		for j := range evs {
			evs[j] = Event{Timestamp: int64(i + j), Message: fmt.Sprintf("%08d INFO request served in 3ms %s", i+j, strings.Repeat("x", 80))}
		}
		if err := s.Append(ref, evs, 1); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for range b.N {
		end, _ := s.End(ref)
		n := 0
		if err := s.ReadBackward(ref, end, All, func(Record) bool { n++; return n < 100 }); err != nil || n != 100 {
			b.Fatal(err, n)
		}
	}
}
