// Package tsdb is CloudWatch's time-series store: statistic sets (count,
// sum, minimum, maximum) per series and time bucket, kept at the
// resolutions and for the durations AWS keeps them, in memory, with a
// write-ahead log and snapshots under a directory so a restart loses no
// acknowledged datapoint.
//
// Every datum is added to each tier: 1-second buckets kept for 3 hours,
// 1-minute buckets for 15 days, 5-minute buckets for 63 days and 1-hour
// buckets for 455 days. A datum stored at 60-second resolution lands in
// the 1-second tier at its minute, so a query never sees a standard
// resolution datum at a finer time than it was stored. A query reads the
// finest tier whose resolution divides its period and whose retention still
// covers its start.
package tsdb

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"time"
)

// Tier is one resolution and how long its buckets are kept.
type Tier struct {
	Res  int64         // bucket width in seconds
	Keep time.Duration // buckets older than this are dropped
}

// Tiers are AWS's retention rules, finest first.
var Tiers = []Tier{
	{1, 3 * time.Hour},
	{60, 15 * 24 * time.Hour},
	{300, 63 * 24 * time.Hour},
	{3600, 455 * 24 * time.Hour},
}

// Stats is a statistic set, with the distribution of its values when
// they were sent as values (not as a statistic set), for percentiles.
type Stats struct {
	Count, Sum, Min, Max float64
	Hist                 []Bin `json:",omitempty"`
}

// Merge adds o to s. s owns its distribution and o is only read.
func (s *Stats) Merge(o Stats) {
	if s.Count == 0 {
		*s = o.clone()
		return
	}
	if o.Count == 0 {
		return
	}
	s.Count += o.Count
	s.Sum += o.Sum
	s.Min = math.Min(s.Min, o.Min)
	s.Max = math.Max(s.Max, o.Max)
	for _, b := range o.Hist {
		s.addBin(b.K, b.C)
	}
}

// Point is the statistic set of one bucket starting at T (Unix seconds).
type Point struct {
	T int64
	Stats
}

// Dim is a metric dimension.
type Dim struct{ Name, Value string }

// Metric names a metric: namespace, name and dimensions (sorted by name).
type Metric struct {
	Namespace string
	Name      string
	Dims      []Dim
}

// ID is the canonical text of m, its identity in the store.
func (m Metric) ID() string {
	var b strings.Builder
	b.WriteString(m.Namespace)
	b.WriteByte(0)
	b.WriteString(m.Name)
	for _, d := range m.Dims {
		b.WriteByte(0)
		b.WriteString(d.Name)
		b.WriteByte('=')
		b.WriteString(d.Value)
	}
	return b.String()
}

// SortDims sorts dims by name, as the store keeps them.
func SortDims(dims []Dim) {
	sort.Slice(dims, func(i, j int) bool { return dims[i].Name < dims[j].Name })
}

// Datum is one ingested value or statistic set.
type Datum struct {
	Metric
	Unit string // "None" when the caller gave none
	Res  int64  // storage resolution: 1 or 60
	T    int64  // Unix seconds
	Stats
}

// series is one metric in one unit.
type series struct {
	metric Metric
	unit   string
	last   int64     // Unix seconds of the newest datum
	tiers  [][]Point // per Tiers entry, sorted by T
}

func (s *series) add(d *Datum) {
	if d.T > s.last {
		s.last = d.T
	}
	for i, tr := range Tiers {
		w := max(tr.Res, d.Res)
		t := d.T - mod(d.T, w)
		s.tiers[i] = insert(s.tiers[i], t, d.Stats)
	}
}

func mod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}

// insert merges st into the bucket at t, keeping pts sorted.
func insert(pts []Point, t int64, st Stats) []Point {
	n := len(pts)
	if n == 0 || pts[n-1].T < t {
		return append(pts, Point{T: t, Stats: st.clone()})
	}
	if pts[n-1].T == t {
		pts[n-1].Merge(st)
		return pts
	}
	i := sort.Search(n, func(i int) bool { return pts[i].T >= t })
	if i < n && pts[i].T == t {
		pts[i].Merge(st)
		return pts
	}
	pts = append(pts, Point{})
	copy(pts[i+1:], pts[i:])
	pts[i] = Point{T: t, Stats: st.clone()}
	return pts
}

// Tenant is an account and region.
type Tenant struct{ Account, Region string }

// DB is the store. It is safe for concurrent use.
type DB struct {
	mu      sync.RWMutex
	tenants map[Tenant]map[string]*series // series id (metric ID + "\x01" + unit)
	wal     *wal                          // nil: in memory only
	now     func() time.Time
	nSeries int
	// maxSeries bounds the number of series (0: no bound): with retention
	// bounding each series, it bounds the memory the store can take.
	maxSeries int
}

// ErrTooManySeries: a batch would create more series than the store keeps.
var ErrTooManySeries = errors.New("tsdb: too many series")

// NewMemory returns a store that keeps nothing on disk (tests, benchmarks).
func NewMemory(now func() time.Time) *DB {
	if now == nil {
		now = time.Now
	}
	return &DB{tenants: map[Tenant]map[string]*series{}, now: now}
}

// Add stores a batch of data for a tenant; once it returns nil the batch is
// durable (when the store has a directory). Concurrent Adds share fsyncs
// (group commit): each waits only for a sync that began after its write.
func (db *DB) Add(tn Tenant, data []Datum) error {
	db.mu.Lock()
	if err := db.checkRoom(tn, data); err != nil {
		db.mu.Unlock()
		return err
	}
	var seq uint64
	if db.wal != nil {
		var err error
		if seq, err = db.wal.append(tn, data); err != nil {
			db.mu.Unlock()
			return err
		}
	}
	db.apply(tn, data)
	w := db.wal
	db.mu.Unlock()
	if w != nil {
		return w.syncTo(seq)
	}
	return nil
}

// checkRoom refuses a batch that would take the store past maxSeries.
func (db *DB) checkRoom(tn Tenant, data []Datum) error {
	if db.maxSeries <= 0 {
		return nil
	}
	m := db.tenants[tn]
	var fresh map[string]bool
	for i := range data {
		id := data[i].Metric.ID() + "\x01" + data[i].Unit
		if m[id] != nil || fresh[id] {
			continue
		}
		if fresh == nil {
			fresh = map[string]bool{}
		}
		fresh[id] = true
		if db.nSeries+len(fresh) > db.maxSeries {
			return fmt.Errorf("%w: the store keeps at most %d series", ErrTooManySeries, db.maxSeries)
		}
	}
	return nil
}

func (db *DB) apply(tn Tenant, data []Datum) {
	m := db.tenants[tn]
	if m == nil {
		m = map[string]*series{}
		db.tenants[tn] = m
	}
	for i := range data {
		d := &data[i]
		id := d.Metric.ID() + "\x01" + d.Unit
		s := m[id]
		if s == nil {
			s = &series{metric: d.Metric, unit: d.Unit, tiers: make([][]Point, len(Tiers))}
			m[id] = s
			db.nSeries++
		}
		s.add(d)
	}
}

// Query selects data of one metric.
type Query struct {
	Metric
	Unit   string // "": every unit
	Start  int64  // Unix seconds, inclusive
	End    int64  // exclusive
	Period int64  // seconds
}

// Bucket is the statistic set of one period.
type Bucket struct {
	T    int64
	Unit string // the unit when only one unit contributed, else ""
	Stats
}

// TierFor returns the index of the tier a query of period starting at start
// reads at now: the finest whose resolution divides the period and whose
// retention still covers start; when none covers it, the coarsest that
// divides the period (a 1-second query reaching past 3 hours gets the
// 1-second data that is left).
func TierFor(period, start int64, now time.Time) int {
	best := 0
	for i, tr := range Tiers {
		if period%tr.Res != 0 {
			continue
		}
		if start >= now.Add(-tr.Keep).Unix() {
			return i
		}
		best = i
	}
	return best
}

// Get returns the non-empty period buckets of q, in time order. Buckets
// start at Start plus a multiple of Period.
func (db *DB) Get(tn Tenant, q Query) []Bucket {
	if q.Period <= 0 || q.End <= q.Start {
		return nil
	}
	ti := TierFor(q.Period, q.Start, db.now())
	id := q.Metric.ID() + "\x01"
	db.mu.RLock()
	defer db.mu.RUnlock()
	var out []Bucket
	for sid, s := range db.tenants[tn] {
		if !strings.HasPrefix(sid, id) || strings.ContainsRune(sid[len(id):], 1) {
			continue
		}
		if q.Unit != "" && s.unit != q.Unit {
			continue
		}
		out = mergeBuckets(out, bucketize(s.tiers[ti], q, s.unit))
	}
	return out
}

func bucketize(pts []Point, q Query, unit string) []Bucket {
	i := sort.Search(len(pts), func(i int) bool { return pts[i].T >= q.Start })
	var out []Bucket
	for ; i < len(pts) && pts[i].T < q.End; i++ {
		p := &pts[i]
		t := q.Start + (p.T-q.Start)/q.Period*q.Period
		if n := len(out); n > 0 && out[n-1].T == t {
			out[n-1].Merge(p.Stats)
			continue
		}
		out = append(out, Bucket{T: t, Unit: unit, Stats: p.Stats.clone()})
	}
	return out
}

// mergeBuckets merges two time-ordered bucket lists.
func mergeBuckets(a, b []Bucket) []Bucket {
	if len(a) == 0 {
		return b
	}
	if len(b) == 0 {
		return a
	}
	out := make([]Bucket, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || (i < len(a) && a[i].T < b[j].T):
			out = append(out, a[i])
			i++
		case i == len(a) || b[j].T < a[i].T:
			out = append(out, b[j])
			j++
		default:
			x := a[i]
			x.Merge(b[j].Stats)
			if x.Unit != b[j].Unit {
				x.Unit = ""
			}
			out = append(out, x)
			i++
			j++
		}
	}
	return out
}

// MetricInfo describes a stored metric for ListMetrics.
type MetricInfo struct {
	Metric
	Last int64 // Unix seconds of its newest datum
}

// Metrics returns the tenant's metrics (one entry per metric whatever its
// units), sorted by namespace, name and dimensions.
func (db *DB) Metrics(tn Tenant) []MetricInfo {
	db.mu.RLock()
	byID := map[string]*MetricInfo{}
	for _, s := range db.tenants[tn] {
		id := s.metric.ID()
		if mi := byID[id]; mi != nil {
			mi.Last = max(mi.Last, s.last)
			continue
		}
		byID[id] = &MetricInfo{Metric: s.metric, Last: s.last}
	}
	db.mu.RUnlock()
	ids := make([]string, 0, len(byID))
	for id := range byID {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	out := make([]MetricInfo, len(ids))
	for i, id := range ids {
		out[i] = *byID[id]
	}
	return out
}

// Expire drops buckets past their tier's retention at now and series left
// empty. It returns how many buckets it dropped.
func (db *DB) Expire(now time.Time) int {
	db.mu.Lock()
	defer db.mu.Unlock()
	n := 0
	for tn, m := range db.tenants {
		for id, s := range m {
			empty := true
			for i, tr := range Tiers {
				cut := now.Add(-tr.Keep).Unix()
				pts := s.tiers[i]
				k := sort.Search(len(pts), func(j int) bool { return pts[j].T >= cut })
				if k > 0 {
					n += k
					s.tiers[i] = append(pts[:0:0], pts[k:]...)
				}
				if len(s.tiers[i]) > 0 {
					empty = false
				}
			}
			if empty {
				delete(m, id)
				db.nSeries--
			}
		}
		if len(m) == 0 {
			delete(db.tenants, tn)
		}
	}
	return n
}
