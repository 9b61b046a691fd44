// Package awslogs is the agent's awslogs log driver: it follows the output
// of containers whose definition asks for logDriver "awslogs" and ships it
// to CloudWatch Logs with PutLogEvents, as the Docker awslogs driver does
// on ECS.
package awslogs

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// Driver is the logDriver name this package serves.
const Driver = "awslogs"

// Option keys of logConfiguration.options.
const (
	OptGroup            = "awslogs-group"
	OptRegion           = "awslogs-region"
	OptStreamPrefix     = "awslogs-stream-prefix"
	OptCreateGroup      = "awslogs-create-group"
	OptDatetimeFormat   = "awslogs-datetime-format"
	OptMultilinePattern = "awslogs-multiline-pattern"
	OptMode             = "mode"
	OptMaxBufferSize    = "max-buffer-size"
)

// Modes of delivery, as Docker names them.
const (
	ModeBlocking    = "blocking"
	ModeNonBlocking = "non-blocking"
)

// DefaultMaxBufferSize is the non-blocking buffer when max-buffer-size is
// not given (Docker's default, 1m).
const DefaultMaxBufferSize = 1 << 20

// Options are a container's parsed awslogs options.
type Options struct {
	Group        string
	Region       string // "" = the agent's
	StreamPrefix string
	CreateGroup  bool
	// Multiline starts a new event at each line it matches (from
	// awslogs-datetime-format or awslogs-multiline-pattern); nil = one
	// event per line.
	Multiline *regexp.Regexp
	Mode      string
	// MaxBufferSize bounds the bytes waiting to be shipped in non-blocking
	// mode (the oldest are dropped beyond it).
	MaxBufferSize int
}

// ParseOptions validates a container's logConfiguration options.
func ParseOptions(opts map[string]string) (Options, error) {
	o := Options{Group: opts[OptGroup], Region: opts[OptRegion], StreamPrefix: opts[OptStreamPrefix],
		Mode: ModeBlocking, MaxBufferSize: DefaultMaxBufferSize}
	if o.Group == "" {
		return o, fmt.Errorf("awslogs: %s is required", OptGroup)
	}
	if v, ok := opts[OptCreateGroup]; ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return o, fmt.Errorf("awslogs: %s must be true or false, not %q", OptCreateGroup, v)
		}
		o.CreateGroup = b
	}
	df, mp := opts[OptDatetimeFormat], opts[OptMultilinePattern]
	switch {
	case df != "" && mp != "":
		return o, fmt.Errorf("awslogs: %s and %s cannot both be set", OptDatetimeFormat, OptMultilinePattern)
	case df != "":
		re, err := regexp.Compile("^" + DatetimeRegexp(df))
		if err != nil {
			return o, fmt.Errorf("awslogs: %s %q: %v", OptDatetimeFormat, df, err)
		}
		o.Multiline = re
	case mp != "":
		re, err := regexp.Compile(mp)
		if err != nil {
			return o, fmt.Errorf("awslogs: %s %q: %v", OptMultilinePattern, mp, err)
		}
		o.Multiline = re
	}
	if v, ok := opts[OptMode]; ok && v != "" {
		if v != ModeBlocking && v != ModeNonBlocking {
			return o, fmt.Errorf("awslogs: %s must be %s or %s, not %q", OptMode, ModeBlocking, ModeNonBlocking, v)
		}
		o.Mode = v
	}
	if v := opts[OptMaxBufferSize]; v != "" {
		n, err := ParseSize(v)
		if err != nil || n <= 0 {
			return o, fmt.Errorf("awslogs: %s %q is not a size", OptMaxBufferSize, v)
		}
		o.MaxBufferSize = int(n)
	}
	return o, nil
}

// ParseSize reads a Docker size such as "4m", "512k", "25MB" or "1024"
// (binary units, as Docker's RAMInBytes).
func ParseSize(s string) (int64, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	i := strings.IndexFunc(s, func(r rune) bool { return !unicode.IsDigit(r) && r != '.' })
	num, unit := s, ""
	if i >= 0 {
		num, unit = s[:i], strings.TrimSpace(s[i:])
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	mult := map[string]float64{"": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10, "m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20,
		"g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30}[unit]
	if mult == 0 {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	return int64(f * mult), nil
}

// StreamName is the log stream ECS gives a container:
// prefix/container-name/task-id, or the container's ID without a prefix.
func StreamName(prefix, container, taskARN, containerID string) string {
	if prefix == "" {
		return containerID
	}
	return prefix + "/" + container + "/" + TaskID(taskARN)
}

// TaskID is the last part of a task ARN.
func TaskID(taskARN string) string {
	return taskARN[strings.LastIndex(taskARN, "/")+1:]
}
