package protocol

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/wharfhq/wharf/internal/awsmodel"
)

// Timestamp formats, as the model's timestampFormat trait names them.
const (
	FormatEpoch   = "unixTimestamp"
	FormatISO8601 = "iso8601"
	FormatRFC822  = "rfc822"
)

// Timestamps outside years 1–9999 are refused: AWS cannot print them and
// nothing legitimate needs them.
const (
	minEpoch = -62135596800 // 0001-01-01T00:00:00Z
	maxEpoch = 253402300799 // 9999-12-31T23:59:59Z
)

// TimestampFormat is the wire format of the timestamp ref refers to: the
// ref's timestampFormat trait, the shape's, else def.
func TimestampFormat(ref *awsmodel.Ref, def string) string {
	if ref == nil {
		return def
	}
	if ref.TimestampFormat != "" {
		return ref.TimestampFormat
	}
	if ref.Shape != nil && ref.Shape.TimestampFormat != "" {
		return ref.Shape.TimestampFormat
	}
	return def
}

// ParseEpochSeconds parses a decimal number of seconds since the epoch
// ("1700000000", "1700000000.123", "1.7e9") exactly: the fraction is read
// as decimal digits, not through a float, so milliseconds survive.
func ParseEpochSeconds(s string) (time.Time, bool) {
	if s == "" || len(s) > 64 {
		return time.Time{}, false
	}
	if strings.ContainsAny(s, "eE") {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return time.Time{}, false
		}
		return EpochFloat(f)
	}
	neg := s[0] == '-'
	if neg || s[0] == '+' {
		s = s[1:]
	}
	ip, fp, _ := strings.Cut(s, ".")
	if ip == "" && fp == "" {
		return time.Time{}, false
	}
	var sec int64
	for i := 0; i < len(ip); i++ {
		c := ip[i]
		if c < '0' || c > '9' {
			return time.Time{}, false
		}
		sec = sec*10 + int64(c-'0')
		if sec > maxEpoch+1 {
			return time.Time{}, false
		}
	}
	var nsec int64
	for i := 0; i < len(fp); i++ {
		c := fp[i]
		if c < '0' || c > '9' {
			return time.Time{}, false
		}
		if i < 9 {
			nsec = nsec*10 + int64(c-'0')
		}
	}
	for i := len(fp); i < 9; i++ {
		nsec *= 10
	}
	if neg {
		sec, nsec = -sec, -nsec
	}
	if sec < minEpoch || sec > maxEpoch {
		return time.Time{}, false
	}
	return time.Unix(sec, nsec).UTC(), true
}

// EpochFloat converts float seconds since the epoch to a time, rounded to
// the microsecond (a float64 holds no more for present-day dates, and
// rounding turns 1700000000.123 back into .123000 rather than .122999906).
func EpochFloat(f float64) (time.Time, bool) {
	if math.IsNaN(f) || f < minEpoch-1 || f > maxEpoch+1 {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	t := time.Unix(int64(sec), int64(frac*1e9)).Round(time.Microsecond).UTC()
	if y := t.Year(); y < 1 || y > 9999 {
		return time.Time{}, false
	}
	return t, true
}

// ParseTimestamp parses a timestamp leniently: ISO 8601 / RFC 3339 with or
// without fractional seconds and zone (UTC assumed), a bare date, an
// RFC 1123 date, or epoch seconds.
func ParseTimestamp(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false
	}
	if c := s[0]; c >= '0' && c <= '9' && (len(s) > 4 && s[4] == '-' || len(s) > 8 && (s[8] == 'T' || s[8] == 't')) {
		u := s
		if strings.ContainsAny(u, "tz ") {
			u = strings.Replace(strings.ToUpper(u), " ", "T", 1)
		}
		for _, layout := range isoLayouts {
			if t, err := time.Parse(layout, u); err == nil {
				return checkRange(t)
			}
		}
		return time.Time{}, false
	}
	if t, ok := ParseEpochSeconds(s); ok {
		return t, true
	}
	for _, layout := range httpLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return checkRange(t)
		}
	}
	return time.Time{}, false
}

var isoLayouts = []string{
	"2006-01-02T15:04:05Z07:00", // fractional seconds are accepted after :05
	"2006-01-02T15:04:05Z0700",
	"2006-01-02T15:04:05Z07",
	"2006-01-02T15:04:05",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04",
	"2006-01-02",
	"20060102T150405Z",
}

var httpLayouts = []string{time.RFC1123, time.RFC1123Z, time.RFC850, time.ANSIC}

func checkRange(t time.Time) (time.Time, bool) {
	if u := t.Unix(); u < minEpoch || u > maxEpoch {
		return time.Time{}, false
	}
	return t.UTC(), true
}

// AppendEpochSeconds appends t as seconds since the epoch, with
// milliseconds when they are not zero: "1700000000" or "1700000000.123".
func AppendEpochSeconds(b []byte, t time.Time) []byte {
	ms := t.UnixMilli()
	if ms%1000 == 0 {
		return strconv.AppendInt(b, ms/1000, 10)
	}
	if ms < 0 {
		return strconv.AppendFloat(b, float64(ms)/1000, 'f', -1, 64)
	}
	sec, frac := ms/1000, ms%1000
	b = strconv.AppendInt(b, sec, 10)
	b = append(b, '.', byte('0'+frac/100), byte('0'+frac/10%10), byte('0'+frac%10))
	for b[len(b)-1] == '0' {
		b = b[:len(b)-1]
	}
	return b
}

// AppendISO8601 appends t as AWS prints timestamps: UTC with
// milliseconds, "2026-01-02T03:04:05.000Z".
func AppendISO8601(b []byte, t time.Time) []byte {
	return t.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z")
}

// AppendRFC822 appends t as an HTTP date.
func AppendRFC822(b []byte, t time.Time) []byte {
	return t.UTC().AppendFormat(b, http1123)
}

const http1123 = "Mon, 02 Jan 2006 15:04:05 GMT"

// AppendTimestamp appends t in format (FormatEpoch, FormatISO8601 or
// FormatRFC822).
func AppendTimestamp(b []byte, t time.Time, format string) []byte {
	switch format {
	case FormatISO8601:
		return AppendISO8601(b, t)
	case FormatRFC822:
		return AppendRFC822(b, t)
	}
	return AppendEpochSeconds(b, t)
}
