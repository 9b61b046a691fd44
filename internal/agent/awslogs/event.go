package awslogs

import (
	"regexp"
	"time"
)

// Position identifies a line of a container's output: its Docker timestamp
// (ns) and its rank among the lines with that same timestamp (from 1).
type Position struct {
	Time time.Time `json:"time"`
	N    int       `json:"n"`
}

// After reports whether p comes after q.
func (p Position) After(q Position) bool {
	return p.Time.After(q.Time) || (p.Time.Equal(q.Time) && p.N > q.N)
}

// Line is one line of output with its position.
type Line struct {
	Time time.Time
	Text string
	Pos  Position
}

// Event is one log event to ship: one line, or several joined by the
// multiline pattern. Pos is the position of its last line.
type Event struct {
	Time    time.Time
	Message string
	Pos     Position
}

// size is what the event counts against PutLogEvents' byte limit.
func (e Event) size() int { return len(e.Message) + EventOverhead }

// Positioner numbers lines: the rank of each among lines with the same
// timestamp.
type Positioner struct{ last Position }

// Next returns the position of the next line, stamped t.
func (p *Positioner) Next(t time.Time) Position {
	if t.Equal(p.last.Time) {
		p.last.N++
	} else {
		p.last = Position{Time: t, N: 1}
	}
	return p.last
}

// Joiner turns lines into events. Without a pattern every line is an
// event; with one, a line that matches starts a new event and the others
// are appended to the pending one (as the Docker awslogs driver does).
type Joiner struct {
	re      *regexp.Regexp
	pending *Event
	since   time.Time // when the pending event last grew
}

// NewJoiner returns a Joiner for the pattern (nil: one event per line).
func NewJoiner(re *regexp.Regexp) *Joiner { return &Joiner{re: re} }

// Add takes a line received at now and returns the events it completes.
func (j *Joiner) Add(l Line, now time.Time) []Event {
	if j.re == nil {
		return split(Event{Time: l.Time, Message: l.Text, Pos: l.Pos})
	}
	var out []Event
	if j.pending != nil && (j.re.MatchString(l.Text) || len(j.pending.Message)+1+len(l.Text) > MaxEventBytes) {
		out = append(out, split(*j.pending)...)
		j.pending = nil
	}
	if j.pending == nil {
		j.pending = &Event{Time: l.Time, Message: l.Text, Pos: l.Pos}
	} else {
		j.pending.Message += "\n" + l.Text
		j.pending.Pos = l.Pos
	}
	j.since = now
	return out
}

// Flush returns the pending event if it has not grown for idle (0: at
// once), so a last multiline event is not held back forever.
func (j *Joiner) Flush(now time.Time, idle time.Duration) []Event {
	if j.pending == nil || now.Sub(j.since) < idle {
		return nil
	}
	e := *j.pending
	j.pending = nil
	return split(e)
}

// split cuts an event larger than CloudWatch allows into several.
func split(e Event) []Event {
	if len(e.Message) <= MaxEventBytes {
		return []Event{e}
	}
	var out []Event
	for msg := e.Message; msg != ""; {
		n := min(len(msg), MaxEventBytes)
		out = append(out, Event{Time: e.Time, Message: msg[:n], Pos: e.Pos})
		msg = msg[n:]
	}
	return out
}
