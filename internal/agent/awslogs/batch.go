package awslogs

import (
	"slices"
	"time"
)

// PutLogEvents limits.
const (
	MaxBatchEvents = 10_000
	MaxBatchBytes  = 1_048_576
	EventOverhead  = 26
	MaxBatchSpan   = 24 * time.Hour
	// MaxEventBytes is the longest message of one event.
	MaxEventBytes = 262_144 - EventOverhead
)

// NextBatch returns how many of the queued events (in arrival order) go
// into the next PutLogEvents call: as many as fit in 10,000 events,
// 1,048,576 bytes and a 24-hour span.
func NextBatch(q []Event) int {
	size := 0
	var lo, hi time.Time
	for i, e := range q {
		if i == MaxBatchEvents || size+e.size() > MaxBatchBytes {
			return i
		}
		nlo, nhi := lo, hi
		if i == 0 || e.Time.Before(lo) {
			nlo = e.Time
		}
		if i == 0 || e.Time.After(hi) {
			nhi = e.Time
		}
		if nhi.Sub(nlo) > MaxBatchSpan {
			return i
		}
		lo, hi, size = nlo, nhi, size+e.size()
	}
	return len(q)
}

// Sorted returns the batch ordered by time, as PutLogEvents wants
// (stable: lines with the same millisecond keep their order).
func Sorted(batch []Event) []Event {
	out := slices.Clone(batch)
	slices.SortStableFunc(out, func(a, b Event) int { return a.Time.Compare(b.Time) })
	return out
}

// Queue holds the events waiting to be shipped. In non-blocking mode it
// drops the oldest when it would grow beyond max bytes, and counts them.
type Queue struct {
	events      []Event
	bytes       int
	max         int
	nonBlocking bool
	dropped     int64
}

// NewQueue returns a queue of at most max bytes.
func NewQueue(max int, nonBlocking bool) *Queue { return &Queue{max: max, nonBlocking: nonBlocking} }

// Push adds events, dropping the oldest in non-blocking mode when full.
func (q *Queue) Push(es ...Event) {
	for _, e := range es {
		q.events = append(q.events, e)
		q.bytes += e.size()
		for q.nonBlocking && q.bytes > q.max && len(q.events) > 0 {
			q.bytes -= q.events[0].size()
			q.events = q.events[1:]
			q.dropped++
		}
	}
}

// Full reports whether a blocking queue should stop taking lines.
func (q *Queue) Full() bool { return !q.nonBlocking && q.bytes >= q.max }

// Len is the number of queued events.
func (q *Queue) Len() int { return len(q.events) }

// Bytes is the queued size as PutLogEvents counts it.
func (q *Queue) Bytes() int { return q.bytes }

// Dropped is how many events non-blocking mode dropped.
func (q *Queue) Dropped() int64 { return q.dropped }

// Peek returns the first n events.
func (q *Queue) Peek(n int) []Event { return q.events[:n] }

// Pop removes the first n events (shipped).
func (q *Queue) Pop(n int) {
	for _, e := range q.events[:n] {
		q.bytes -= e.size()
	}
	q.events = slices.Delete(q.events, 0, n)
}

// BatchReady reports whether a full batch is waiting (ship now rather
// than at the next flush).
func (q *Queue) BatchReady() bool {
	return len(q.events) >= MaxBatchEvents || q.bytes >= MaxBatchBytes
}
