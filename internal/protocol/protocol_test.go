package protocol_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api/models"
	"github.com/wharfhq/wharf/internal/protocol"
)

func TestParseEpochSeconds(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"1700000000", time.Unix(1700000000, 0), true},
		{"1700000000.123", time.Unix(1700000000, 123e6), true},
		{"1700000000.1234567891", time.Unix(1700000000, 123456789), true},
		{"-1.5", time.Unix(-1, -5e8), true},
		{"+2", time.Unix(2, 0), true},
		{".5", time.Unix(0, 5e8), true},
		{"1.7e9", time.Unix(1700000000, 0), true},
		{"253402300799", time.Unix(253402300799, 0), true},
		{"253402300800", time.Time{}, false},
		{"99999999999999999999999", time.Time{}, false},
		{"", time.Time{}, false},
		{".", time.Time{}, false},
		{"1x", time.Time{}, false},
		{"1.x", time.Time{}, false},
		{"NaN", time.Time{}, false},
	} {
		got, ok := protocol.ParseEpochSeconds(tc.in)
		if ok != tc.ok || ok && !got.Equal(tc.want) {
			t.Errorf("ParseEpochSeconds(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestParseTimestamp(t *testing.T) {
	want := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, in := range []string{
		"2026-01-02T03:04:05Z", "2026-01-02T03:04:05.000Z", "2026-01-02t03:04:05z", "2026-01-02T03:04:05",
		"2026-01-02 03:04:05Z", "2026-01-02T04:04:05+01:00", "2026-01-02T04:04:05+0100", "20260102T030405Z",
		"1767323045", "Fri, 02 Jan 2026 03:04:05 GMT",
	} {
		if got, ok := protocol.ParseTimestamp(in); !ok || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("ParseTimestamp(%q) = %v, %v", in, got, ok)
		}
	}
	for _, in := range []string{"", "soon", "2026-13-01", "10000-01-01T00:00:00Z", "2026-01-02T03:04:05+25:00"} {
		if got, ok := protocol.ParseTimestamp(in); ok {
			t.Errorf("ParseTimestamp(%q) = %v, want failure", in, got)
		}
	}
}

func TestAppendTimestamps(t *testing.T) {
	for _, tc := range []struct {
		t    time.Time
		want string
	}{
		{time.Unix(1700000000, 0), "1700000000"},
		{time.Unix(1700000000, 120e6), "1700000000.12"},
		{time.Unix(1700000000, 123999999), "1700000000.123"},
		{time.Unix(0, 5e6), "0.005"},
		{time.Unix(-2, 5e8), "-1.5"},
	} {
		if got := string(protocol.AppendEpochSeconds(nil, tc.t)); got != tc.want {
			t.Errorf("AppendEpochSeconds(%v) = %s, want %s", tc.t, got, tc.want)
		}
	}
	tm := time.Date(2026, 1, 2, 4, 4, 5, 7e6, time.FixedZone("", 3600))
	if got := string(protocol.AppendISO8601(nil, tm)); got != "2026-01-02T03:04:05.007Z" {
		t.Errorf("AppendISO8601 = %s", got)
	}
	if got := string(protocol.AppendTimestamp(nil, tm, protocol.FormatRFC822)); got != "Fri, 02 Jan 2026 03:04:05 GMT" {
		t.Errorf("rfc822 = %s", got)
	}
}

func TestEpochFloat(t *testing.T) {
	got, ok := protocol.EpochFloat(1700000000.123)
	if !ok || got.Nanosecond() != 123e6 {
		t.Errorf("EpochFloat = %v (%d ns), %v", got, got.Nanosecond(), ok)
	}
	if got, ok := protocol.EpochFloat(-0.5); !ok || !got.Equal(time.Unix(0, -5e8)) {
		t.Errorf("EpochFloat(-0.5) = %v", got)
	}
	if _, ok := protocol.EpochFloat(1e300); ok {
		t.Error("EpochFloat(1e300) succeeded")
	}
}

func TestDecodeError(t *testing.T) {
	err := error(protocol.NewDecodeError("expected %s", "a string").AtMember("name").AtIndex(2).AtMember("containerDefinitions"))
	if !errors.Is(err, protocol.ErrSerialization) {
		t.Error("DecodeError does not wrap ErrSerialization")
	}
	var de *protocol.DecodeError
	if !errors.As(err, &de) || de.Path() != "containerDefinitions[2].name" || de.Detail() != "expected a string" {
		t.Errorf("path %q detail %q", de.Path(), de.Detail())
	}
	if want := "Cannot deserialize request: containerDefinitions[2].name: expected a string"; err.Error() != want {
		t.Errorf("Error() = %q", err.Error())
	}
	if got := protocol.NewDecodeError("bad").Error(); got != "Cannot deserialize request: bad" {
		t.Errorf("Error() = %q", got)
	}
}

func TestAPIError(t *testing.T) {
	iam := models.MustLoad("iam")
	cw := models.MustLoad("cloudwatch")
	for _, tc := range []struct {
		name                          string
		e                             protocol.APIError
		status                        int
		fault, shapeCode, query, msgM string
	}{
		{"bare client error", protocol.APIError{Code: "X", Sender: true}, 400, "Sender", "X", "X", "message"},
		{"bare server error", protocol.APIError{Code: "X"}, 500, "Receiver", "X", "X", "message"},
		{"4xx is the sender's", protocol.APIError{Code: "X", Status: 404}, 404, "Sender", "X", "X", "message"},
		{"shape status and query code", protocol.APIError{Shape: iam.Shapes["NoSuchEntityException"], Sender: true}, 404, "Sender", "NoSuchEntityException", "NoSuchEntity", "message"},
		{"fault shape", protocol.APIError{Code: "InternalServiceFault", Shape: cw.Shapes["InternalServiceFault"]}, 500, "Receiver", "InternalServiceFault", "InternalServiceError", "Message"},
		{"explicit status wins", protocol.APIError{Code: "C", Status: 429, Shape: iam.Shapes["NoSuchEntityException"]}, 429, "Sender", "C", "NoSuchEntity", "message"},
	} {
		e := tc.e
		got := fmt.Sprint(e.HTTPStatus(), e.Fault(), e.ShapeCode(), e.QueryCode(), e.MessageMember())
		want := fmt.Sprint(tc.status, tc.fault, tc.shapeCode, tc.query, tc.msgM)
		if got != want {
			t.Errorf("%s: got %s, want %s", tc.name, got, want)
		}
	}
}
