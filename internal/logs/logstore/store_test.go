package logstore

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

var ref = Ref{Account: "000000000000", Region: "us-east-1", Group: "g1", Stream: "s1"}

func open(t *testing.T, dir string, seg int64) *Store {
	t.Helper()
	s, err := Open(dir, Options{SegmentBytes: seg, BlockBytes: 256})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func put(t *testing.T, s *Store, r Ref, from, n int) {
	t.Helper()
	var evs []Event
	for i := from; i < from+n; i++ {
		evs = append(evs, Event{Timestamp: int64(i) * 1000, Message: fmt.Sprintf("event %d", i)})
	}
	if err := s.Append(r, evs, 42); err != nil {
		t.Fatal(err)
	}
}

func forward(t *testing.T, s *Store, r Ref, from Position, rg Range) []Record {
	t.Helper()
	var out []Record
	if err := s.ReadForward(r, from, rg, func(rec Record) bool { out = append(out, rec); return true }); err != nil {
		t.Fatal(err)
	}
	return out
}

func checkSeq(t *testing.T, recs []Record, first, n int) {
	t.Helper()
	if len(recs) != n {
		t.Fatalf("got %d records, want %d", len(recs), n)
	}
	for i, r := range recs {
		if want := fmt.Sprintf("event %d", first+i); r.Message != want || r.Timestamp != int64(first+i)*1000 || r.Ingestion != 42 {
			t.Fatalf("record %d = %+v, want %q", i, r, want)
		}
	}
}

func TestAppendReadRotateReopen(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, 1024) // small segments: many rotations
	for i := 0; i < 500; i += 50 {
		put(t, s, ref, i, 50)
	}
	checkSeq(t, forward(t, s, ref, Position{}, All), 0, 500)
	checkSeq(t, forward(t, s, ref, Position{}, Range{100_000, 200_000}), 100, 100)

	// Backward from the end: the tail.
	var tail []Record
	end, _ := s.End(ref)
	_ = s.ReadBackward(ref, end, All, func(r Record) bool { tail = append(tail, r); return len(tail) < 10 })
	if len(tail) != 10 || tail[0].Message != "event 499" || tail[9].Message != "event 490" {
		t.Fatalf("tail = %v", tail)
	}
	// Forward from a record's Next continues after it.
	all := forward(t, s, ref, Position{}, All)
	checkSeq(t, forward(t, s, ref, all[299].Next(), All), 300, 200)

	segs, _ := filepath.Glob(filepath.Join(dir, "*", "*", "*", "*", "*.seg"))
	if len(segs) < 10 {
		t.Fatalf("only %d segments; rotation did not happen", len(segs))
	}
	st, _ := s.Stats(ref)
	if st.Count != 500 || st.FirstEvent != 0 || st.LastEvent != 499_000 || st.LastIngest != 42 {
		t.Fatalf("stats %+v", st)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = open(t, dir, 1024)
	defer s.Close()
	checkSeq(t, forward(t, s, ref, Position{}, All), 0, 500)
	put(t, s, ref, 500, 10)
	checkSeq(t, forward(t, s, ref, Position{}, All), 0, 510)
}

func TestTornTailIsCut(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, 1<<20)
	put(t, s, ref, 0, 20)
	_ = s.Close()
	segs, _ := filepath.Glob(filepath.Join(dir, "*", "*", "*", "*", "*.seg"))
	path := segs[len(segs)-1]
	info, _ := os.Stat(path)
	// A crash mid-append: half a record at the end, then garbage.
	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	half := appendRecord(nil, 99_000, 1, "never acknowledged")
	_, _ = f.Write(half[:len(half)/2])
	f.Close()

	s = open(t, dir, 1<<20)
	defer s.Close()
	checkSeq(t, forward(t, s, ref, Position{}, All), 0, 20)
	if info2, _ := os.Stat(path); info2.Size() != info.Size() {
		t.Fatalf("size after repair %d, want %d", info2.Size(), info.Size())
	}
	put(t, s, ref, 20, 5)
	checkSeq(t, forward(t, s, ref, Position{}, All), 0, 25)
}

func TestCorruptRecordEndsTheStream(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, 1<<20)
	put(t, s, ref, 0, 10)
	_ = s.Close()
	segs, _ := filepath.Glob(filepath.Join(dir, "*", "*", "*", "*", "*.seg"))
	b, _ := os.ReadFile(segs[0])
	b[len(b)-3] ^= 0xff // flip a byte in the last record's message
	_ = os.WriteFile(segs[0], b, 0o600)
	s = open(t, dir, 1<<20)
	defer s.Close()
	checkSeq(t, forward(t, s, ref, Position{}, All), 0, 9)
}

func TestExpireDeletesWholeSegments(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, 512)
	defer s.Close()
	for i := 0; i < 100; i += 10 {
		put(t, s, ref, i, 10)
	}
	before, _ := s.Stats(ref)
	freed, err := s.Expire(ref, 50_000)
	if err != nil || freed == 0 {
		t.Fatalf("expire: %d %v", freed, err)
	}
	after, _ := s.Stats(ref)
	if after.Bytes+freed != before.Bytes {
		t.Fatalf("bytes %d + %d != %d", after.Bytes, freed, before.Bytes)
	}
	recs := forward(t, s, ref, Position{}, All)
	if recs[len(recs)-1].Message != "event 99" || len(recs) >= 100 || len(recs) < 50 {
		t.Fatalf("after expiry: first %v, %d records", recs[0], len(recs))
	}
	// Everything expires; numbering continues.
	if _, err := s.Expire(ref, 1<<40); err != nil {
		t.Fatal(err)
	}
	if recs := forward(t, s, ref, Position{}, All); len(recs) != 0 {
		t.Fatalf("%d records left", len(recs))
	}
	last := recs[len(recs)-1].Pos
	put(t, s, ref, 200, 3)
	recs = forward(t, s, ref, Position{}, All)
	checkSeq(t, recs, 200, 3)
	if !last.Less(recs[0].Pos) {
		t.Fatalf("positions went backwards: %v then %v", last, recs[0].Pos)
	}
}

func TestDeleteStreamAndGroup(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, 1<<20)
	defer s.Close()
	other := ref
	other.Stream = "s2"
	put(t, s, ref, 0, 5)
	put(t, s, other, 0, 5)
	if err := s.DeleteStream(ref); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(ref, []Event{{1, "x"}}, 1); err != ErrDeleted {
		t.Fatalf("append after delete: %v", err)
	}
	checkSeq(t, forward(t, s, other, Position{}, All), 0, 5)
	if err := s.DeleteGroup(other); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, ref.Account, ref.Region, ref.Group)); !os.IsNotExist(err) {
		t.Fatalf("group dir still there: %v", err)
	}
}

func TestGroupCommit(t *testing.T) {
	s := open(t, t.TempDir(), 1<<20)
	defer s.Close()
	const writers, each = 16, 20
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := ref
			r.Stream = fmt.Sprintf("w%d", w%4)
			for i := range each {
				if err := s.Append(r, []Event{{int64(i), "m"}}, 1); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	total := 0
	for w := range 4 {
		r := ref
		r.Stream = fmt.Sprintf("w%d", w)
		st, _ := s.Stats(r)
		total += st.Count
	}
	if total != writers*each {
		t.Fatalf("%d events stored, want %d", total, writers*each)
	}
	s.syncer.mu.Lock()
	rounds := s.syncer.rounds
	s.syncer.mu.Unlock()
	t.Logf("%d appends, %d fsync rounds", writers*each, rounds)
	if rounds > writers*each {
		t.Fatalf("%d rounds for %d appends", rounds, writers*each)
	}
}

func TestBadRef(t *testing.T) {
	s := open(t, t.TempDir(), 1<<20)
	defer s.Close()
	if err := s.Append(Ref{"..", "x", "y", "z"}, []Event{{1, "x"}}, 1); err == nil {
		t.Fatal("path traversal accepted")
	}
}

func FuzzDecodeRecord(f *testing.F) {
	f.Add(appendRecord(nil, 1, 2, "hello"))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		ts, ingest, msg, n, err := decodeRecord(b)
		if err != nil {
			return
		}
		if re := appendRecord(nil, ts, ingest, string(msg)); string(re) != string(b[:n]) {
			t.Fatalf("round trip differs")
		}
	})
}

func TestIdleFilesAreClosed(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{MaxOpenFiles: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	refs := make([]Ref, 20)
	for round := range 3 {
		for i := range refs {
			refs[i] = ref
			refs[i].Stream = fmt.Sprint("s", i)
			put(t, s, refs[i], round*10, 10)
			if n := s.opts.open.Load(); n > 5 {
				t.Fatalf("%d files open, budget 4", n)
			}
		}
	}
	for _, r := range refs {
		checkSeq(t, forward(t, s, r, Position{}, All), 0, 30)
	}
}

// FuzzOpenDamagedSegment: whatever bytes a segment holds, opening the
// stream keeps an intact prefix of records, reads do not fail, and appends
// work afterwards.
func FuzzOpenDamagedSegment(f *testing.F) {
	good := append([]byte(magic), appendRecord(nil, 5, 6, "hello")...)
	f.Add(good)
	f.Add(good[:len(good)-3])
	f.Add([]byte("WLOG"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		sdir := filepath.Join(dir, ref.Account, ref.Region, ref.Group, ref.Stream)
		if err := os.MkdirAll(sdir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(sdir, segName(1)), data, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := Open(dir, Options{BlockBytes: 64})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		before := forward(t, s, ref, Position{}, All)
		if err := s.Append(ref, []Event{{7, "after"}}, 8); err != nil {
			t.Fatal(err)
		}
		after := forward(t, s, ref, Position{}, All)
		if len(after) != len(before)+1 || after[len(after)-1].Message != "after" {
			t.Fatalf("%d records before, %d after the append", len(before), len(after))
		}
	})
}
