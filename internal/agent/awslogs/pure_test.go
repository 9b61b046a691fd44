package awslogs

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func lines(texts ...string) []Line {
	var p Positioner
	var out []Line
	for i, s := range texts {
		at := t0.Add(time.Duration(i) * time.Millisecond)
		out = append(out, Line{Time: at, Text: s, Pos: p.Next(at)})
	}
	return out
}

func TestStreamName(t *testing.T) {
	arn := "arn:aws:ecs:us-east-1:000000000000:task/prod/0123456789abcdef"
	if got := StreamName("web", "main", arn, "c0ffee"); got != "web/main/0123456789abcdef" {
		t.Errorf("with prefix: %q", got)
	}
	if got := StreamName("", "main", arn, "c0ffee"); got != "c0ffee" {
		t.Errorf("without prefix: %q", got)
	}
}

func TestParseOptions(t *testing.T) {
	o, err := ParseOptions(map[string]string{OptGroup: "g", OptCreateGroup: "true", OptMode: "non-blocking", OptMaxBufferSize: "25m"})
	if err != nil || !o.CreateGroup || o.Mode != ModeNonBlocking || o.MaxBufferSize != 25<<20 {
		t.Fatalf("ParseOptions = %+v, %v", o, err)
	}
	o, err = ParseOptions(map[string]string{OptGroup: "g"})
	if err != nil || o.Mode != ModeBlocking || o.MaxBufferSize != DefaultMaxBufferSize || o.Multiline != nil {
		t.Fatalf("defaults = %+v, %v", o, err)
	}
	for _, bad := range []map[string]string{
		{},
		{OptGroup: "g", OptCreateGroup: "yes please"},
		{OptGroup: "g", OptMode: "sometimes"},
		{OptGroup: "g", OptMaxBufferSize: "lots"},
		{OptGroup: "g", OptMultilinePattern: "("},
		{OptGroup: "g", OptMultilinePattern: "^x", OptDatetimeFormat: "%Y"},
	} {
		if _, err := ParseOptions(bad); err == nil {
			t.Errorf("ParseOptions(%v) accepted", bad)
		}
	}
}

func TestDatetimeFormat(t *testing.T) {
	o, err := ParseOptions(map[string]string{OptGroup: "g", OptDatetimeFormat: "[%Y-%m-%d %H:%M:%S]"})
	if err != nil {
		t.Fatal(err)
	}
	for s, want := range map[string]bool{
		"[2026-11-26 04:12:13] started":    true,
		"[2026-13-26 04:12:13] bad month":  false,
		"  [2026-11-26 04:12:13] indented": false,
		"2026-11-26 04:12:13 no brackets":  false,
		"\tat Foo.bar(Foo.java:12)":        false,
	} {
		if got := o.Multiline.MatchString(s); got != want {
			t.Errorf("%q matched = %v, want %v", s, got, want)
		}
	}
	re := regexp.MustCompile("^" + DatetimeRegexp("%b %d, %Y %I:%M:%S %p"))
	if !re.MatchString("Nov 26, 2026 04:12:13 AM hello") {
		t.Error("the 12-hour format does not match")
	}
}

func TestJoinerMultiline(t *testing.T) {
	j := NewJoiner(regexp.MustCompile(`^INFO|^ERROR`))
	now := t0
	var got []Event
	for _, l := range lines("INFO a", "ERROR b", "  at x", "  at y", "INFO c", "  tail") {
		got = append(got, j.Add(l, now)...)
	}
	if len(got) != 2 || got[0].Message != "INFO a" || got[1].Message != "ERROR b\n  at x\n  at y" {
		t.Fatalf("events = %+v", got)
	}
	if got[1].Time != t0.Add(time.Millisecond) || got[1].Pos.Time != t0.Add(3*time.Millisecond) {
		t.Errorf("event time %v (want first line's), pos %v (want last line's)", got[1].Time, got[1].Pos)
	}
	if e := j.Flush(now.Add(time.Second), 5*time.Second); e != nil {
		t.Errorf("flushed a pending event that is not idle: %+v", e)
	}
	e := j.Flush(now.Add(5*time.Second), 5*time.Second)
	if len(e) != 1 || e[0].Message != "INFO c\n  tail" {
		t.Errorf("idle flush = %+v", e)
	}
}

func TestJoinerSingleLinesAndSplit(t *testing.T) {
	j := NewJoiner(nil)
	if got := j.Add(lines("x")[0], t0); len(got) != 1 || got[0].Message != "x" {
		t.Fatalf("%+v", got)
	}
	big := strings.Repeat("a", MaxEventBytes+10)
	got := j.Add(Line{Time: t0, Text: big}, t0)
	if len(got) != 2 || len(got[0].Message) != MaxEventBytes || len(got[1].Message) != 10 {
		t.Fatalf("split into %d events", len(got))
	}
}

func TestPositioner(t *testing.T) {
	var p Positioner
	a, b, c := p.Next(t0), p.Next(t0), p.Next(t0.Add(1))
	if a.N != 1 || b.N != 2 || c.N != 1 || !b.After(a) || !c.After(b) || a.After(b) {
		t.Errorf("positions %v %v %v", a, b, c)
	}
}

func ev(at time.Time, n int) Event { return Event{Time: at, Message: strings.Repeat("m", n)} }

func TestNextBatchLimits(t *testing.T) {
	var q []Event
	for i := 0; i < MaxBatchEvents+5; i++ {
		q = append(q, ev(t0, 1))
	}
	if n := NextBatch(q); n != MaxBatchEvents {
		t.Errorf("count limit: %d", n)
	}
	// 1,048,576 bytes with 26 per event: 4 events of 262,118 bytes fit
	// (1,048,576 exactly), a fifth does not.
	q = nil
	for i := 0; i < 5; i++ {
		q = append(q, ev(t0, MaxEventBytes))
	}
	if n := NextBatch(q); n != 4 {
		t.Errorf("byte limit: %d", n)
	}
	q = []Event{ev(t0, 1), ev(t0.Add(MaxBatchSpan), 1), ev(t0.Add(MaxBatchSpan+time.Millisecond), 1)}
	if n := NextBatch(q); n != 2 {
		t.Errorf("span limit: %d", n)
	}
	if n := NextBatch(nil); n != 0 {
		t.Errorf("empty: %d", n)
	}
}

func TestSorted(t *testing.T) {
	b := []Event{{Time: t0.Add(2), Message: "c"}, {Time: t0, Message: "a"}, {Time: t0, Message: "b"}}
	got := Sorted(b)
	if got[0].Message != "a" || got[1].Message != "b" || got[2].Message != "c" || b[0].Message != "c" {
		t.Errorf("Sorted = %+v (input %+v)", got, b)
	}
}

func TestQueueNonBlockingDropsOldest(t *testing.T) {
	q := NewQueue(3*(10+EventOverhead), true)
	for i := 0; i < 5; i++ {
		q.Push(Event{Time: t0, Message: strings.Repeat(string(rune('a'+i)), 10)})
	}
	if q.Len() != 3 || q.Dropped() != 2 || q.Peek(1)[0].Message[0] != 'c' || q.Full() {
		t.Errorf("len %d dropped %d first %q", q.Len(), q.Dropped(), q.Peek(1)[0].Message)
	}
	q.Pop(2)
	if q.Len() != 1 || q.Bytes() != 10+EventOverhead {
		t.Errorf("after pop: len %d bytes %d", q.Len(), q.Bytes())
	}
}

func TestQueueBlockingKeepsAll(t *testing.T) {
	q := NewQueue(2*(10+EventOverhead), false)
	for i := 0; i < 3; i++ {
		q.Push(ev(t0, 10))
	}
	if q.Len() != 3 || q.Dropped() != 0 || !q.Full() {
		t.Errorf("len %d dropped %d full %v", q.Len(), q.Dropped(), q.Full())
	}
}

func TestStatePersists(t *testing.T) {
	dir := t.TempDir()
	s, err := LoadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	_ = s.Set("c1", Mark{Pos: Position{Time: t0.Add(7), N: 3}, Task: "t1"})
	_ = s.Set("c2", Mark{Done: true, Task: "t2"})
	s2, err := LoadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m, ok := s2.Get("c1"); !ok || !m.Pos.Time.Equal(t0.Add(7)) || m.Pos.N != 3 {
		t.Errorf("c1 = %+v", m)
	}
	_ = s2.ForgetTask("t2")
	s3, _ := LoadState(dir)
	if _, ok := s3.Get("c2"); ok {
		t.Error("c2 not forgotten")
	}
}
