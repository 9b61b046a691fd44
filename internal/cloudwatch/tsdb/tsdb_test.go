package tsdb

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var tn = Tenant{Account: "123456789012", Region: "us-east-1"}

func datum(name string, t time.Time, v float64, res int64) Datum {
	return Datum{Metric: Metric{Namespace: "App", Name: name}, Unit: "None", Res: res, T: t.Unix(), Stats: Stats{Count: 1, Sum: v, Min: v, Max: v}}
}

func TestTiersAndRetention(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	clock := now
	db := NewMemory(func() time.Time { return clock })
	m := Metric{Namespace: "App", Name: "cpu"}
	var data []Datum
	for i := range 120 { // two minutes of 1-second data, 0..119
		data = append(data, datum("cpu", now.Add(-2*time.Minute+time.Duration(i)*time.Second), float64(i), 1))
	}
	if err := db.Add(tn, data); err != nil {
		t.Fatal(err)
	}
	start := now.Add(-2 * time.Minute).Unix()
	if got := db.Get(tn, Query{Metric: m, Start: start, End: now.Unix(), Period: 1}); len(got) != 120 {
		t.Fatalf("1-second buckets: %d", len(got))
	}
	got := db.Get(tn, Query{Metric: m, Start: start, End: now.Unix(), Period: 60})
	if len(got) != 2 || got[0].Count != 60 || got[1].Sum != float64((60+119)*60/2) || got[1].Min != 60 || got[1].Max != 119 {
		t.Fatalf("minute buckets: %+v", got)
	}
	// Four hours later 1-second data is gone; the minute rollup remains.
	clock = now.Add(4 * time.Hour)
	if n := db.Expire(clock); n != 120 {
		t.Fatalf("expired %d buckets, want the 120 one-second buckets", n)
	}
	if got := db.Get(tn, Query{Metric: m, Start: start, End: now.Unix(), Period: 60}); len(got) != 2 || got[0].Count != 60 {
		t.Fatalf("minute buckets after expiry: %+v", got)
	}
	// A 10-second query older than 3 h reads the minute tier: one bucket a minute.
	if got := db.Get(tn, Query{Metric: m, Start: start, End: now.Unix(), Period: 10}); len(got) != 0 {
		t.Fatalf("10-second query past 1-second retention: %+v", got)
	}
	// 16 days later only 5-minute and hourly rollups are left.
	clock = now.Add(16 * 24 * time.Hour)
	db.Expire(clock)
	if got := db.Get(tn, Query{Metric: m, Start: start - 300, End: now.Unix(), Period: 300}); len(got) != 1 || got[0].Count != 120 {
		t.Fatalf("5-minute rollup: %+v", got)
	}
	clock = now.Add(500 * 24 * time.Hour)
	db.Expire(clock)
	if len(db.Metrics(tn)) != 0 {
		t.Fatal("series left after every tier expired")
	}
}

func TestStandardResolutionIsMinuteAligned(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	db := NewMemory(func() time.Time { return now })
	_ = db.Add(tn, []Datum{datum("m", now.Add(-90*time.Second), 5, 60)}) // 11:58:30 stored at 11:58:00
	got := db.Get(tn, Query{Metric: Metric{Namespace: "App", Name: "m"}, Start: now.Add(-5 * time.Minute).Unix(), End: now.Unix(), Period: 1})
	if len(got) != 1 || got[0].T != now.Add(-2*time.Minute).Unix() {
		t.Fatalf("got %+v", got)
	}
}

func TestUnitsAndOutOfOrder(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	db := NewMemory(func() time.Time { return now })
	a := datum("m", now.Add(-10*time.Second), 1, 1)
	b := datum("m", now.Add(-30*time.Second), 2, 1)
	c := datum("m", now.Add(-20*time.Second), 4, 1)
	c.Unit = "Seconds"
	_ = db.Add(tn, []Datum{a, b, c})
	m := Metric{Namespace: "App", Name: "m"}
	all := db.Get(tn, Query{Metric: m, Start: now.Add(-time.Minute).Unix(), End: now.Unix(), Period: 1})
	if len(all) != 3 || all[0].Sum != 2 || all[1].Sum != 4 || all[2].Sum != 1 {
		t.Fatalf("out-of-order data: %+v", all)
	}
	secs := db.Get(tn, Query{Metric: m, Unit: "Seconds", Start: now.Add(-time.Minute).Unix(), End: now.Unix(), Period: 60})
	if len(secs) != 1 || secs[0].Sum != 4 || secs[0].Unit != "Seconds" {
		t.Fatalf("unit filter: %+v", secs)
	}
	if mixed := db.Get(tn, Query{Metric: m, Start: now.Add(-time.Minute).Unix(), End: now.Unix(), Period: 60}); len(mixed) != 1 || mixed[0].Unit != "" || mixed[0].Sum != 7 {
		t.Fatalf("mixed units: %+v", mixed)
	}
	if ms := db.Metrics(tn); len(ms) != 1 {
		t.Fatalf("one metric whatever its units: %+v", ms)
	}
	// Another tenant sees nothing.
	if got := db.Get(Tenant{"210987654321", "us-east-1"}, Query{Metric: m, Start: 0, End: now.Unix(), Period: 60}); len(got) != 0 {
		t.Fatalf("tenant leak: %+v", got)
	}
}

func TestDurability(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	db, err := Open(dir, Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	m := Metric{Namespace: "App", Name: "m"}
	q := Query{Metric: m, Start: now.Add(-time.Hour).Unix(), End: now.Unix(), Period: 3600}
	_ = db.Add(tn, []Datum{datum("m", now.Add(-time.Minute), 1, 60)})
	if err := db.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	_ = db.Add(tn, []Datum{datum("m", now.Add(-time.Minute), 2, 60)})
	_ = db.Add(tn, []Datum{datum("m", now.Add(-time.Minute), 4, 60)})
	// A crash: no Close. Then a torn record at the end of the log.
	logs, _ := filepath.Glob(filepath.Join(dir, "wal-*"))
	if len(logs) != 1 {
		t.Fatalf("logs: %v", logs)
	}
	f, _ := os.OpenFile(logs[0], os.O_WRONLY|os.O_APPEND, 0)
	_, _ = f.Write([]byte{200, 0, 0, 0, 1, 2, 3})
	f.Close()

	db2, err := Open(dir, Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	if got := db2.Get(tn, q); len(got) != 1 || got[0].Sum != 7 || got[0].Count != 3 {
		t.Fatalf("after crash: %+v", got)
	}
	// Appends after the cut tail are read back too.
	_ = db2.Add(tn, []Datum{datum("m", now.Add(-time.Minute), 8, 60)})
	logs, _ = filepath.Glob(filepath.Join(dir, "wal-*"))
	folded, _ := os.ReadFile(logs[0])
	if err := db2.Close(); err != nil {
		t.Fatal(err)
	}
	db3, err := Open(dir, Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	if got := db3.Get(tn, q); len(got) != 1 || got[0].Sum != 15 {
		t.Fatalf("after close and reopen: %+v", got)
	}
	// A crash between the new snapshot and the old log's removal must not
	// count the old log twice.
	if err := os.WriteFile(logs[0], folded, 0o600); err != nil {
		t.Fatal(err)
	}
	db3.Close()
	db4, err := Open(dir, Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer db4.Close()
	if got := db4.Get(tn, q); len(got) != 1 || got[0].Sum != 15 {
		t.Fatalf("stale log: %+v", got)
	}
}

// BenchmarkAdd measures ingest into the store with its log fsynced, from
// 8 concurrent writers of 1,000-datum batches (group commit shares fsyncs).
func BenchmarkAdd(b *testing.B) {
	db, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	now := time.Now()
	batch := make([]Datum, 1000)
	for i := range batch {
		batch[i] = datum("m"+string(rune('a'+i%10)), now.Add(-time.Duration(i)*time.Second), float64(i), 1)
	}
	b.SetParallelism(4) // 4 × GOMAXPROCS writers
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := db.Add(tn, batch); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N*len(batch))/time.Since(start).Seconds(), "datapoints/s")
}

func TestPercentiles(t *testing.T) {
	var s Stats
	for v := 1; v <= 1000; v++ {
		s.Observe(float64(v), 1)
	}
	s.Observe(-5, 10) // ten negative values at the bottom
	for p, want := range map[float64]float64{50: 495, 90: 895, 99: 985, 100: 1000, 0: -5} {
		got := s.Percentile(p)
		if d := (got - want) / want; d > 0.011 || d < -0.011 {
			t.Errorf("p%v = %v, want %v ± 1%%", p, got, want)
		}
	}
	if got := s.Percentile(0.5); got != -5 && (got > -4.9 || got < -5.1) {
		t.Errorf("p0.5 = %v, want about -5", got)
	}
	// Merging keeps the distribution; a statistic set has none.
	var a, b Stats
	a.Observe(10, 99)
	b.Observe(1000, 1)
	a.Merge(b)
	if p := a.Percentile(99); p < 9.9 || p > 10.1 {
		t.Errorf("p99 of 99×10 and 1×1000 = %v", p)
	}
	if p := a.Percentile(100); p != 1000 {
		t.Errorf("p100 = %v", p)
	}
	set := Stats{Count: 3, Sum: 6, Min: 1, Max: 3}
	if p := set.Percentile(50); p == p {
		t.Errorf("percentile of a statistic set = %v, want NaN", p)
	}
	// The store keeps distributions per tier and does not let a query
	// change them.
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	db := NewMemory(func() time.Time { return now })
	var data []Datum
	for i := range 100 {
		d := Datum{Metric: Metric{Namespace: "App", Name: "lat"}, Unit: "None", Res: 1, T: now.Add(-time.Duration(i+1) * time.Second).Unix()}
		d.Observe(float64(i+1), 1)
		data = append(data, d)
	}
	_ = db.Add(tn, data)
	q := Query{Metric: Metric{Namespace: "App", Name: "lat"}, Start: now.Add(-5 * time.Minute).Unix(), End: now.Add(time.Minute).Unix(), Period: 300}
	for range 2 {
		got := db.Get(tn, q)
		if len(got) != 1 || got[0].Count != 100 {
			t.Fatalf("buckets %+v", got)
		}
		if p := got[0].Percentile(90); p < 89 || p > 91 {
			t.Fatalf("p90 = %v", p)
		}
	}
}

func TestMaxSeries(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	db, err := Open(dir, Options{Now: func() time.Time { return now }, MaxSeries: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Add(tn, []Datum{datum("a", now, 1, 60), datum("b", now, 1, 60), datum("a", now, 2, 60)}); err != nil {
		t.Fatal(err)
	}
	if err := db.Add(tn, []Datum{datum("a", now, 1, 60), datum("c", now, 1, 60)}); !errors.Is(err, ErrTooManySeries) {
		t.Fatalf("third series: %v", err)
	}
	if got := db.Get(tn, Query{Metric: Metric{Namespace: "App", Name: "a"}, Start: now.Add(-time.Hour).Unix(), End: now.Add(time.Hour).Unix(), Period: 3600}); len(got) != 1 || got[0].Count != 2 {
		t.Fatalf("a refused batch was partly applied: %+v", got)
	}
	db.Expire(now.Add(500 * 24 * time.Hour))
	if err := db.Add(tn, []Datum{datum("c", now.Add(500*24*time.Hour), 1, 60)}); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
}
