package decide

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Schedule is a parsed scheduled-action expression: at(), rate() or cron().
type Schedule struct {
	kind string // "at", "rate", "cron"
	at   [6]int // y m d h mi s of at()
	rate time.Duration
	cron *cronExpr
}

// ErrSchedule is the kind of every parse error; the message says what is
// wrong in the words Application Auto Scaling uses.
var ErrSchedule = errors.New("invalid schedule expression")

func schedErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrSchedule, fmt.Sprintf(format, args...))
}

// maxYear bounds searches, as cron's year field does (1970–2199).
const maxYear = 2199

// ParseSchedule parses "at(yyyy-mm-ddThh:mm:ss)", "rate(N unit)" with unit
// minute(s), hour(s) or day(s), or "cron(min hour day-of-month month
// day-of-week year)" in the AWS dialect (one of the day fields is "?";
// names JAN–DEC and SUN–SAT; "*", ",", "-", "/"; "L", "W", "LW" in the
// day of month; "L" and "#" in the day of week).
func ParseSchedule(expr string) (Schedule, error) {
	open := strings.IndexByte(expr, '(')
	if open < 0 || !strings.HasSuffix(expr, ")") {
		return Schedule{}, schedErr("expected at(...), rate(...) or cron(...)")
	}
	kind, body := expr[:open], expr[open+1:len(expr)-1]
	switch kind {
	case "at":
		t, err := time.Parse("2006-01-02T15:04:05", body)
		if err != nil || t.Year() < 1970 || t.Year() > maxYear {
			return Schedule{}, schedErr("at() takes yyyy-mm-ddThh:mm:ss")
		}
		return Schedule{kind: "at", at: [6]int{t.Year(), int(t.Month()), t.Day(), t.Hour(), t.Minute(), t.Second()}}, nil
	case "rate":
		f := strings.Fields(body)
		if len(f) != 2 {
			return Schedule{}, schedErr("rate() takes a value and a unit")
		}
		n, err := strconv.Atoi(f[0])
		if err != nil || n <= 0 || len(f[0]) > 9 {
			return Schedule{}, schedErr("the rate value must be a positive integer")
		}
		var unit time.Duration
		switch f[1] {
		case "minute", "minutes":
			unit = time.Minute
		case "hour", "hours":
			unit = time.Hour
		case "day", "days":
			unit = 24 * time.Hour
		default:
			return Schedule{}, schedErr("the rate unit must be minute(s), hour(s) or day(s)")
		}
		return Schedule{kind: "rate", rate: time.Duration(n) * unit}, nil
	case "cron":
		c, err := parseCron(body)
		if err != nil {
			return Schedule{}, err
		}
		return Schedule{kind: "cron", cron: c}, nil
	}
	return Schedule{}, schedErr("expected at(...), rate(...) or cron(...)")
}

// Kind is "at", "rate" or "cron".
func (s Schedule) Kind() string { return s.kind }

// Next returns the first time strictly after `after` the schedule fires,
// with wall-clock fields read in loc (nil: UTC). Rate schedules fire at
// anchor + k × rate for k ≥ 1 (k ≥ 0 when anchorFires). False when it never
// fires again.
func (s Schedule) Next(after time.Time, loc *time.Location, anchor time.Time, anchorFires bool) (time.Time, bool) {
	if loc == nil {
		loc = time.UTC
	}
	switch s.kind {
	case "at":
		t := time.Date(s.at[0], time.Month(s.at[1]), s.at[2], s.at[3], s.at[4], s.at[5], 0, loc)
		return t, t.After(after)
	case "rate":
		first := anchor
		if !anchorFires {
			first = anchor.Add(s.rate)
		}
		if first.After(after) {
			return first, true
		}
		k := after.Sub(first)/s.rate + 1
		return first.Add(k * s.rate), true
	case "cron":
		return s.cron.next(after.In(loc))
	}
	return time.Time{}, false
}

type cronExpr struct {
	minute, hour, month, year bitset
	dom                       bitset // when !domAny, the plain days
	dow                       bitset
	domAny, dowAny            bool
	// day-of-month specials
	lastDay     bool // L
	lastWeekday bool // LW
	nearestWD   int  // nW (0: none)
	// day-of-week specials
	lastDOW   int // nL: the last weekday n (1–7) of the month (0: none)
	nthDOW    int // n#k: weekday n …
	nthDOWOrd int // … the k-th of the month
}

type bitset [4]uint64 // values 0–255 offset by the field's minimum

func (b *bitset) set(v, lo int) { v -= lo; b[v/64] |= 1 << (v % 64) }
func (b bitset) has(v, lo int) bool {
	v -= lo
	return v >= 0 && v < 256 && b[v/64]&(1<<(v%64)) != 0
}

type field struct {
	name   string
	lo, hi int
	names  []string // names for lo, lo+1, …
}

var (
	fMinute = field{"minutes", 0, 59, nil}
	fHour   = field{"hours", 0, 23, nil}
	fDOM    = field{"day-of-month", 1, 31, nil}
	fMonth  = field{"month", 1, 12, []string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}}
	fDOW    = field{"day-of-week", 1, 7, []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}}
	// Year 1970–2199, as AWS cron.
	fYear = field{"year", 1970, maxYear, nil}
)

func (f field) value(s string) (int, error) {
	for i, n := range f.names {
		if strings.EqualFold(s, n) {
			return f.lo + i, nil
		}
	}
	v, err := strconv.Atoi(s)
	if err != nil || len(s) > 4 || v < f.lo || v > f.hi {
		return 0, schedErr("%q is not a valid %s value (%d-%d)", s, f.name, f.lo, f.hi)
	}
	return v, nil
}

// parse parses a field of "*", "?", values, ranges and steps.
func (f field) parse(s string, question bool) (bitset, bool, error) {
	var b bitset
	if s == "?" {
		if !question {
			return b, false, schedErr("? is only allowed in the day-of-month and day-of-week fields")
		}
		return b, true, nil
	}
	if s == "*" {
		for v := f.lo; v <= f.hi; v++ {
			b.set(v, f.lo)
		}
		return b, true, nil
	}
	for part := range strings.SplitSeq(s, ",") {
		rng, stepStr, hasStep := strings.Cut(part, "/")
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepStr)
			if err != nil || n <= 0 || n > f.hi-f.lo+1 {
				return b, false, schedErr("%q is not a valid step in the %s field", stepStr, f.name)
			}
			step = n
		}
		lo, hi := f.lo, f.hi
		switch {
		case rng == "*":
		case strings.Contains(rng, "-"):
			a, z, _ := strings.Cut(rng, "-")
			var err error
			if lo, err = f.value(a); err != nil {
				return b, false, err
			}
			if hi, err = f.value(z); err != nil {
				return b, false, err
			}
			if lo > hi {
				return b, false, schedErr("the range %q in the %s field runs backwards", rng, f.name)
			}
		default:
			v, err := f.value(rng)
			if err != nil {
				return b, false, err
			}
			lo = v
			if !hasStep {
				hi = v
			}
		}
		for v := lo; v <= hi; v += step {
			b.set(v, f.lo)
		}
	}
	return b, false, nil
}

func parseCron(body string) (*cronExpr, error) {
	f := strings.Fields(body)
	if len(f) != 6 {
		return nil, schedErr("cron() takes 6 fields: minutes hours day-of-month month day-of-week year")
	}
	c := &cronExpr{}
	var err error
	if c.minute, _, err = fMinute.parse(f[0], false); err != nil {
		return nil, err
	}
	if c.hour, _, err = fHour.parse(f[1], false); err != nil {
		return nil, err
	}
	if c.month, _, err = fMonth.parse(f[3], false); err != nil {
		return nil, err
	}
	if c.year, _, err = fYear.parse(f[5], false); err != nil {
		return nil, err
	}
	dom, dow := f[2], f[4]
	if (dom == "?") == (dow == "?") {
		return nil, schedErr("one of the day-of-month and day-of-week fields must be ?, and only one")
	}
	switch {
	case dom == "L":
		c.lastDay = true
	case dom == "LW":
		c.lastWeekday = true
	case strings.HasSuffix(dom, "W"):
		v, err := fDOM.value(strings.TrimSuffix(dom, "W"))
		if err != nil {
			return nil, err
		}
		c.nearestWD = v
	default:
		if c.dom, c.domAny, err = fDOM.parse(dom, true); err != nil {
			return nil, err
		}
	}
	switch {
	case dow == "L":
		c.lastDOW = 7
	case len(dow) > 1 && strings.HasSuffix(dow, "L"):
		v, err := fDOW.value(strings.TrimSuffix(dow, "L"))
		if err != nil {
			return nil, err
		}
		c.lastDOW = v
	case strings.Contains(dow, "#"):
		a, k, _ := strings.Cut(dow, "#")
		v, err := fDOW.value(a)
		if err != nil {
			return nil, err
		}
		n, err := strconv.Atoi(k)
		if err != nil || n < 1 || n > 5 {
			return nil, schedErr("%q: the week of the month after # must be 1-5", dow)
		}
		c.nthDOW, c.nthDOWOrd = v, n
	default:
		if c.dow, c.dowAny, err = fDOW.parse(dow, true); err != nil {
			return nil, err
		}
	}
	if dom == "?" {
		c.domAny = true
	} else {
		c.dowAny = true
	}
	return c, nil
}

func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// dayMatches reports whether the date y-m-d fires (all day fields).
func (c *cronExpr) dayMatches(y int, m time.Month, d int) bool {
	if !c.year.has(y, fYear.lo) || !c.month.has(int(m), 1) {
		return false
	}
	last := daysIn(y, m)
	wd := int(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Weekday()) + 1 // 1 = SUN
	switch {
	case c.lastDay:
		return d == last
	case c.lastWeekday:
		lw := last
		for {
			w := time.Date(y, m, lw, 0, 0, 0, 0, time.UTC).Weekday()
			if w != time.Saturday && w != time.Sunday {
				break
			}
			lw--
		}
		return d == lw
	case c.nearestWD > 0:
		t := min(c.nearestWD, last)
		w := time.Date(y, m, t, 0, 0, 0, 0, time.UTC).Weekday()
		switch {
		case w == time.Saturday && t == 1:
			t += 2
		case w == time.Saturday:
			t--
		case w == time.Sunday && t == last:
			t -= 2
		case w == time.Sunday:
			t++
		}
		return d == t
	case c.lastDOW > 0:
		return wd == c.lastDOW && d+7 > last
	case c.nthDOW > 0:
		return wd == c.nthDOW && (d-1)/7+1 == c.nthDOWOrd
	}
	if !c.domAny && !c.dom.has(d, 1) {
		return false
	}
	if !c.dowAny && !c.dow.has(wd, 1) {
		return false
	}
	return true
}

// next finds the first minute strictly after t (in t's location) that
// matches, searching day by day up to the last year cron allows.
func (c *cronExpr) next(t time.Time) (time.Time, bool) {
	loc := t.Location()
	// Start at the next whole minute.
	start := t.Truncate(time.Minute).Add(time.Minute)
	y, m, d := start.Date()
	first := true
	for y <= maxYear {
		if c.dayMatches(y, m, d) {
			for h := 0; h < 24; h++ {
				if !c.hour.has(h, 0) {
					continue
				}
				for mi := 0; mi < 60; mi++ {
					if !c.minute.has(mi, 0) {
						continue
					}
					cand := time.Date(y, m, d, h, mi, 0, 0, loc)
					// A wall time that does not exist (a DST gap) is
					// normalised by time.Date; it fires at that instant.
					if cand.After(t) && (!first || !cand.Before(start)) {
						return cand, true
					}
				}
			}
		}
		first = false
		// Skip whole months or years that cannot match.
		if !c.year.has(y, fYear.lo) {
			y, m, d = y+1, time.January, 1
			continue
		}
		if !c.month.has(int(m), 1) {
			m, d = m+1, 1
			if m > time.December {
				y, m = y+1, time.January
			}
			continue
		}
		d++
		if d > daysIn(y, m) {
			m, d = m+1, 1
			if m > time.December {
				y, m = y+1, time.January
			}
		}
	}
	return time.Time{}, false
}
