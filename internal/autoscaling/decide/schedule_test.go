package decide

import (
	"strings"
	"testing"
	"time"
)

func TestScheduleNext(t *testing.T) {
	utc := time.UTC
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string, loc *time.Location) time.Time {
		v, err := time.ParseInLocation("2006-01-02T15:04:05", s, loc)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	anchor := at("2026-03-01T10:00:00", utc)
	for _, c := range []struct {
		expr        string
		loc         *time.Location
		after       time.Time
		anchorFires bool
		want        time.Time
		ok          bool
	}{
		{"at(2026-03-01T12:30:00)", utc, anchor, false, at("2026-03-01T12:30:00", utc), true},
		{"at(2026-03-01T12:30:00)", ny, anchor, false, at("2026-03-01T17:30:00", utc), true},
		{"at(2026-03-01T09:00:00)", utc, anchor, false, time.Time{}, false},
		{"rate(5 minutes)", utc, anchor, false, at("2026-03-01T10:05:00", utc), true},
		{"rate(5 minutes)", utc, anchor, true, at("2026-03-01T10:05:00", utc), true},
		{"rate(5 minutes)", utc, anchor.Add(-time.Second), true, anchor, true},
		{"rate(1 hour)", utc, at("2026-03-01T13:30:00", utc), false, at("2026-03-01T14:00:00", utc), true},
		{"rate(2 days)", utc, anchor, false, at("2026-03-03T10:00:00", utc), true},
		{"cron(0 12 * * ? *)", utc, anchor, false, at("2026-03-01T12:00:00", utc), true},
		{"cron(0 12 * * ? *)", utc, at("2026-03-01T12:00:00", utc), false, at("2026-03-02T12:00:00", utc), true},
		{"cron(0/15 * * * ? *)", utc, at("2026-03-01T10:07:00", utc), false, at("2026-03-01T10:15:00", utc), true},
		{"cron(0 9 ? * MON-FRI *)", utc, anchor, false, at("2026-03-02T09:00:00", utc), true}, // 1 March 2026 is a Sunday
		{"cron(0 9 ? * 2 *)", utc, anchor, false, at("2026-03-02T09:00:00", utc), true},
		{"cron(0 18 L * ? *)", utc, anchor, false, at("2026-03-31T18:00:00", utc), true},
		{"cron(0 18 LW * ? *)", utc, at("2026-05-01T00:00:00", utc), false, at("2026-05-29T18:00:00", utc), true}, // 31 May is a Sunday
		{"cron(0 8 15W * ? *)", utc, at("2026-08-01T00:00:00", utc), false, at("2026-08-14T08:00:00", utc), true}, // 15 Aug is a Saturday
		{"cron(0 8 ? * 6L *)", utc, anchor, false, at("2026-03-27T08:00:00", utc), true},
		{"cron(0 8 ? * 2#1 *)", utc, anchor, false, at("2026-03-02T08:00:00", utc), true},
		{"cron(0 8 ? * MON#3 *)", utc, anchor, false, at("2026-03-16T08:00:00", utc), true},
		{"cron(0 8 1 JAN ? 2027)", utc, anchor, false, at("2027-01-01T08:00:00", utc), true},
		{"cron(0 8 1 JAN ? 2020)", utc, anchor, false, time.Time{}, false},
		{"cron(0 8 30 FEB ? *)", utc, anchor, false, time.Time{}, false},
		// 9:00 in New York is 14:00 UTC in winter and 13:00 UTC in summer.
		{"cron(0 9 * * ? *)", ny, at("2026-03-07T15:00:00", utc), false, at("2026-03-08T13:00:00", utc), true},
		{"cron(0 9 * * ? *)", ny, at("2026-03-01T00:00:00", utc), false, at("2026-03-01T14:00:00", utc), true},
	} {
		s, err := ParseSchedule(c.expr)
		if err != nil {
			t.Errorf("%s: %v", c.expr, err)
			continue
		}
		got, ok := s.Next(c.after, c.loc, anchor, c.anchorFires)
		if ok != c.ok || (ok && !got.Equal(c.want)) {
			t.Errorf("%s after %s = %s %v, want %s %v", c.expr, c.after, got.UTC(), ok, c.want.UTC(), c.ok)
		}
	}
}

func TestParseScheduleErrors(t *testing.T) {
	for _, e := range []string{
		"", "at()", "at(2026-13-01T00:00:00)", "at(2026-01-01 00:00:00)", "rate(0 minutes)", "rate(5 weeks)",
		"rate(5)", "rate(-1 days)", "cron(0 12 * * * *)", "cron(0 12 ? * ? *)", "cron(0 12 * *)",
		"cron(60 12 * * ? *)", "cron(0 24 * * ? *)", "cron(0 1 32 * ? *)", "cron(0 1 ? * 8 *)",
		"cron(0 1 ? * MON#6 *)", "cron(5-1 * * * ? *)", "cron(*/0 * * * ? *)", "cron(? * * * ? *)",
		"cron(0 1 1 * ? 1969)", "every(5 minutes)", "cron(0 1 1 FOO ? *)",
	} {
		if _, err := ParseSchedule(e); err == nil {
			t.Errorf("%q parsed", e)
		} else if !strings.HasPrefix(err.Error(), ErrSchedule.Error()) {
			t.Errorf("%q: %v", e, err)
		}
	}
}

func FuzzParseSchedule(f *testing.F) {
	for _, s := range []string{"at(2026-03-01T12:30:00)", "rate(5 minutes)", "cron(0 12 * * ? *)",
		"cron(0/15 1-5,7 L * ? 2026-2030)", "cron(0 8 ? * MON#3 *)", "cron(0 8 15W * ? *)", "cron(0 8 ? * 6L *)"} {
		f.Add(s)
	}
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, expr string) {
		s, err := ParseSchedule(expr)
		if err != nil {
			return
		}
		next, ok := s.Next(t0, time.UTC, t0, false)
		if ok && !next.After(t0) {
			t.Fatalf("%q: next %s is not after %s", expr, next, t0)
		}
		if ok && s.Kind() == "cron" {
			again, ok2 := s.Next(next, time.UTC, t0, false)
			if ok2 && !again.After(next) {
				t.Fatalf("%q: %s then %s", expr, next, again)
			}
		}
	})
}
