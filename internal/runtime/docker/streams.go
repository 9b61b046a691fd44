package docker

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wharfhq/wharf/internal/runtime"
)

// ContainerLogs opens a container's output. Containers are created without
// a TTY, so the engine multiplexes stdout and stderr into frames (an 8-byte
// header: stream, 3 zero bytes, big-endian length), each line prefixed by
// its RFC 3339 timestamp.
func (c *Client) ContainerLogs(ctx context.Context, id string, opts runtime.LogOptions) (runtime.LogStream, error) {
	q := url.Values{"stdout": {"1"}, "stderr": {"1"}, "timestamps": {"1"}}
	if opts.Follow {
		q.Set("follow", "1")
	}
	if !opts.Since.IsZero() {
		q.Set("since", unixTime(opts.Since))
	}
	if opts.Tail > 0 {
		q.Set("tail", strconv.Itoa(opts.Tail))
	}
	resp, err := c.request(ctx, http.MethodGet, "/containers/"+id+"/logs", q, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("logs %s: %w", id, err)
	}
	return &logStream{body: resp.Body, r: bufio.NewReader(resp.Body)}, nil
}

// maxFrame bounds one log frame. The engine's log drivers split lines at
// 16 KiB, so a larger frame means a corrupt stream.
const maxFrame = 1 << 20

// unixTime formats t as the engine's "seconds.nanoseconds".
func unixTime(t time.Time) string {
	return fmt.Sprintf("%d.%09d", t.Unix(), t.Nanosecond())
}

type logStream struct {
	body    io.ReadCloser
	r       *bufio.Reader
	pending []runtime.LogEntry
	hdr     [8]byte
}

func (s *logStream) Close() error { return s.body.Close() }

// Next returns the next line; io.EOF at the end of the output.
func (s *logStream) Next() (runtime.LogEntry, error) {
	for len(s.pending) == 0 {
		if _, err := io.ReadFull(s.r, s.hdr[:]); err != nil {
			if err == io.ErrUnexpectedEOF {
				err = io.EOF
			}
			return runtime.LogEntry{}, err
		}
		src := runtime.Stdout
		switch s.hdr[0] {
		case 1:
		case 2:
			src = runtime.Stderr
		default:
			return runtime.LogEntry{}, fmt.Errorf("logs: bad frame header %v", s.hdr)
		}
		n := binary.BigEndian.Uint32(s.hdr[4:])
		if n > maxFrame {
			return runtime.LogEntry{}, fmt.Errorf("logs: frame of %d bytes exceeds %d", n, maxFrame)
		}
		frame := make([]byte, n)
		if _, err := io.ReadFull(s.r, frame); err != nil {
			return runtime.LogEntry{}, fmt.Errorf("logs: short frame: %w", err)
		}
		for _, line := range bytes.SplitAfter(frame, []byte("\n")) {
			if len(line) == 0 {
				continue
			}
			s.pending = append(s.pending, parseLogLine(src, line))
		}
	}
	e := s.pending[0]
	s.pending = s.pending[1:]
	return e, nil
}

// parseLogLine splits "TIMESTAMP text\n".
func parseLogLine(src runtime.LogSource, line []byte) runtime.LogEntry {
	text := strings.TrimSuffix(string(line), "\n")
	e := runtime.LogEntry{Source: src, Line: text}
	if ts, rest, ok := strings.Cut(text, " "); ok {
		if t, err := time.Parse(time.RFC3339Nano, ts); err == nil {
			e.Time, e.Line = t, rest
		}
	} else if t, err := time.Parse(time.RFC3339Nano, text); err == nil {
		e.Time, e.Line = t, "" // an empty line
	}
	return e
}

// Events subscribes to container events. The engine flushes the response
// headers just before it registers the subscriber, so the request always
// asks for events since a time (f.Since, or the moment of the call), which
// the engine replays from its event buffer: no event after that time is
// missed. This relies on the engine's clock agreeing with ours (it is
// local).
func (c *Client) Events(ctx context.Context, f runtime.EventFilter) (runtime.EventStream, error) {
	since := f.Since
	if since.IsZero() {
		since = time.Now()
	}
	fs := map[string][]string{"type": {"container"}}
	if len(f.Actions) > 0 {
		fs["event"] = f.Actions
	}
	if len(f.Labels) > 0 {
		fs["label"] = labelFilters(f.Labels)
	}
	if f.ContainerID != "" {
		fs["container"] = []string{f.ContainerID}
	}
	q := url.Values{"filters": {filters(fs)}, "since": {unixTime(since)}}
	resp, err := c.request(ctx, http.MethodGet, "/events", q, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	return &eventStream{body: resp.Body, dec: json.NewDecoder(resp.Body)}, nil
}

type eventStream struct {
	body io.ReadCloser
	dec  *json.Decoder
}

func (s *eventStream) Close() error { return s.body.Close() }

func (s *eventStream) Next() (runtime.Event, error) {
	var m struct {
		Action string
		Actor  struct {
			ID         string
			Attributes map[string]string
		}
		TimeNano int64 `json:"timeNano"`
	}
	if err := s.dec.Decode(&m); err != nil {
		return runtime.Event{}, err
	}
	return toEvent(m.Action, m.Actor.ID, m.Actor.Attributes, m.TimeNano), nil
}

// toEvent translates an engine event. Actions like "health_status: healthy"
// become Action "health_status" with Health set; the container's labels
// are its attributes minus the engine's own (name, image, exitCode).
func toEvent(action, id string, attrs map[string]string, timeNano int64) runtime.Event {
	e := runtime.Event{Action: action, ContainerID: id, Time: time.Unix(0, timeNano), Labels: map[string]string{}}
	if a, status, ok := strings.Cut(action, ": "); ok {
		e.Action = a
		if a == "health_status" {
			e.Health = health(status)
		}
	}
	for k, v := range attrs {
		switch k {
		case "name", "image", "exitCode", "signal", "execDuration":
		default:
			e.Labels[k] = v
		}
	}
	if v, ok := attrs["exitCode"]; ok {
		e.ExitCode, _ = strconv.Atoi(v)
	}
	return e
}
