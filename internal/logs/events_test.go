package logs

import (
	"context"
	"errors"
	"testing"

	"github.com/wharfhq/wharf/api/logsapi"
	"github.com/wharfhq/wharf/internal/logs/logstore"
	"github.com/wharfhq/wharf/internal/ptr"
	"github.com/wharfhq/wharf/internal/tenancy"
)

func batch(ts ...int64) []logsapi.InputLogEvent {
	var out []logsapi.InputLogEvent
	for _, t := range ts {
		out = append(out, logsapi.InputLogEvent{Timestamp: ptr.To(t), Message: ptr.To("m")})
	}
	return out
}

func TestJudgeBatch(t *testing.T) {
	const day = 86_400_000
	now := int64(100 * day)
	cases := []struct {
		name                    string
		ts                      []int64
		retention               int32
		from, end               int
		tooOld, expired, tooNew int32 // -1: absent
	}{
		{"all fine, unsorted", []int64{now - 5, now - 10, now}, 0, 0, 3, -1, -1, -1},
		{"too new", []int64{now, now + 2*3600*1000 + 1}, 0, 0, 1, -1, -1, 1},
		{"too old", []int64{now - 15*day, now - 15*day + 1}, 0, 2, 2, 2, -1, -1},
		{"expired by retention", []int64{now - 2*day, now - 2*day + 1, now - 2*day + 2}, 1, 3, 3, -1, 3, -1},
		{"mixed", []int64{now - 2*day - 1, now - 2*day, now - 2*day + 5}, 0, 0, 3, -1, -1, -1},
	}
	for _, c := range cases {
		v, err := judgeBatch(batch(c.ts...), now, c.retention)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if v.acceptedFrom != c.from || v.acceptedEnd != c.end {
			t.Errorf("%s: accepted [%d,%d), want [%d,%d)", c.name, v.acceptedFrom, v.acceptedEnd, c.from, c.end)
		}
		r := v.rejected()
		get := func(p *int32) int32 {
			if r == nil || p == nil {
				return -1
			}
			return *p
		}
		var old, exp, nw *int32
		if r != nil {
			old, exp, nw = r.TooOldLogEventEndIndex, r.ExpiredLogEventEndIndex, r.TooNewLogEventStartIndex
		}
		if get(old) != c.tooOld || get(exp) != c.expired || get(nw) != c.tooNew {
			t.Errorf("%s: rejected %d/%d/%d, want %d/%d/%d", c.name, get(old), get(exp), get(nw), c.tooOld, c.expired, c.tooNew)
		}
		for i := 1; i < len(v.sorted); i++ {
			if v.sorted[i].Timestamp < v.sorted[i-1].Timestamp {
				t.Errorf("%s: not sorted", c.name)
			}
		}
	}
	for _, bad := range [][]logsapi.InputLogEvent{nil, batch(now-25*3600*1000, now)} {
		if _, err := judgeBatch(bad, now, 0); !errors.Is(err, ErrInvalidParameter) {
			t.Errorf("judgeBatch(%d events) = %v, want ErrInvalidParameter", len(bad), err)
		}
	}
}

func TestPosTokens(t *testing.T) {
	for _, fwd := range []bool{true, false} {
		p := logstore.Position{Seg: 7, Off: 123456}
		gotFwd, got, err := decodePosToken(encodePosToken(fwd, p))
		if err != nil || got != p || gotFwd != fwd {
			t.Fatalf("round trip: %v %v %v", gotFwd, got, err)
		}
	}
	for _, bad := range []string{"", "f/", "x/0000000000000000000100000000000000000001", "f/000000000000000000010000000000000000000a"} {
		if _, _, err := decodePosToken(bad); !errors.Is(err, ErrInvalidParameter) {
			t.Errorf("decodePosToken(%q) = %v", bad, err)
		}
	}
}

func TestResourceARN(t *testing.T) {
	ctx := tenancy.With(context.Background(), "123456789012", "us-east-1")
	for _, c := range []struct {
		op   string
		in   map[string]any
		want string
	}{
		{"CreateLogGroup", map[string]any{"logGroupName": "/ecs/web"}, "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/web:*"},
		{"PutLogEvents", map[string]any{"logGroupName": "g", "logStreamName": "a/b"}, "arn:aws:logs:us-east-1:123456789012:log-group:g:log-stream:a/b"},
		{"CreateLogStream", map[string]any{"logGroupName": "g", "logStreamName": "s"}, "arn:aws:logs:us-east-1:123456789012:log-group:g:*"},
		{"DescribeLogGroups", map[string]any{}, "arn:aws:logs:us-east-1:123456789012:log-group:*"},
		{"FilterLogEvents", map[string]any{"logGroupIdentifier": "arn:aws:logs:us-east-1:123456789012:log-group:g"}, "arn:aws:logs:us-east-1:123456789012:log-group:g:*"},
		{"TagResource", map[string]any{"resourceArn": "arn:aws:logs:us-east-1:123456789012:log-group:g"}, "arn:aws:logs:us-east-1:123456789012:log-group:g:*"},
	} {
		if got := ResourceARN(ctx, c.op, c.in); got != c.want {
			t.Errorf("%s %v: %s, want %s", c.op, c.in, got, c.want)
		}
	}
}
