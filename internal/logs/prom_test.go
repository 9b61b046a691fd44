package logs

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/wharfhq/wharf/api/logsapi"
	"github.com/wharfhq/wharf/internal/logs/logstore"
	"github.com/wharfhq/wharf/internal/ptr"
	"github.com/wharfhq/wharf/internal/store/sqlite"
	"github.com/wharfhq/wharf/internal/tenancy"
)

func TestPrometheusIngestCounters(t *testing.T) {
	dir := t.TempDir()
	st, err := sqlite.Open(filepath.Join(dir, "wharf.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	events, err := logstore.Open(filepath.Join(dir, "logs"), logstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer events.Close()
	s := New(Options{Store: st, Events: events})
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(s.Collectors()...)
	ctx := tenancy.With(context.Background(), "123456789012", "us-east-1")
	if _, err := s.CreateLogGroup(ctx, &logsapi.CreateLogGroupRequest{LogGroupName: ptr.To("g")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateLogStream(ctx, &logsapi.CreateLogStreamRequest{LogGroupName: ptr.To("g"), LogStreamName: ptr.To("s")}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UnixMilli()
	// The last event is more than 2 hours ahead: rejected, not counted.
	out, err := s.PutLogEvents(ctx, &logsapi.PutLogEventsRequest{LogGroupName: ptr.To("g"), LogStreamName: ptr.To("s"),
		LogEvents: []logsapi.InputLogEvent{{Timestamp: ptr.To(now), Message: ptr.To("hello")},
			{Timestamp: ptr.To(now + 1), Message: ptr.To("world!")}, {Timestamp: ptr.To(now + 3*3600*1000), Message: ptr.To("future")}}})
	if err != nil {
		t.Fatal(err)
	}
	if out.RejectedLogEventsInfo == nil {
		t.Fatal("the future event was not rejected")
	}
	want := `
# HELP wharf_logs_ingested_bytes_total Bytes of the log events PutLogEvents stored, as on disk (message + 24 bytes each).
# TYPE wharf_logs_ingested_bytes_total counter
wharf_logs_ingested_bytes_total 59
# HELP wharf_logs_ingested_events_total Log events PutLogEvents stored (rejected ones not counted).
# TYPE wharf_logs_ingested_events_total counter
wharf_logs_ingested_events_total 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}
}
