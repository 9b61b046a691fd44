package integration

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
)

// benchBatch is a batch of n events of about 120 bytes each at ts.
func benchBatch(n int, ts int64, seq int) []types.InputLogEvent {
	pad := strings.Repeat("x", 80)
	evs := make([]types.InputLogEvent, n)
	for i := range evs {
		evs[i] = types.InputLogEvent{Timestamp: aws.Int64(ts), Message: aws.String(fmt.Sprintf("%08d INFO request served in 3ms %s", seq+i, pad))}
	}
	return evs
}

// BenchmarkLogsPutLogEvents measures events ingested per second through
// the API: 8 clients, each putting batches of 500 events (≈ 120 bytes) to
// its own stream, every batch fsynced (group commit) before it is
// acknowledged. Client and server share the machine.
func BenchmarkLogsPutLogEvents(b *testing.B) {
	c, _ := logsClient(b)
	ctx := context.Background()
	const clients, batch = 8, 500
	if _, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("bench")}); err != nil {
		b.Fatal(err)
	}
	for i := range clients {
		if _, err := c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String("bench"), LogStreamName: aws.String(fmt.Sprint("s", i))}); err != nil {
			b.Fatal(err)
		}
	}
	var next atomic.Int64
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				_, err := c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String("bench"), LogStreamName: aws.String(fmt.Sprint("s", i)),
					LogEvents: benchBatch(batch, time.Now().UnixMilli(), 0)})
				if err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N*batch)/time.Since(start).Seconds(), "events/s")
}

// BenchmarkLogsTail measures `GetLogEvents` with startFromHead=false
// (what a tail asks: the newest 100 events) on a stream of 200,000
// events (≈ 28 MB in 7 segments): it reads the last blocks only. It also
// reports put→visible latency: the time from a PutLogEvents call to the
// event appearing at the tail.
func BenchmarkLogsTail(b *testing.B) {
	c, _ := logsClient(b)
	ctx := context.Background()
	if _, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("tail")}); err != nil {
		b.Fatal(err)
	}
	if _, err := c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String("tail"), LogStreamName: aws.String("s")}); err != nil {
		b.Fatal(err)
	}
	const total, batch = 200_000, 5_000
	t0 := time.Now().Add(-time.Hour).UnixMilli()
	for i := 0; i < total; i += batch {
		if _, err := c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String("tail"), LogStreamName: aws.String("s"),
			LogEvents: benchBatch(batch, t0+int64(i/batch), i)}); err != nil {
			b.Fatal(err)
		}
	}
	in := &cwl.GetLogEventsInput{LogGroupName: aws.String("tail"), LogStreamName: aws.String("s"), Limit: aws.Int32(100)}
	var lat []time.Duration
	b.ResetTimer()
	for i := range b.N {
		if i%10 == 0 { // every tenth op: put one event and time until the tail shows it
			msg := fmt.Sprint("marker ", i)
			put := time.Now()
			if _, err := c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String("tail"), LogStreamName: aws.String("s"),
				LogEvents: []types.InputLogEvent{{Timestamp: aws.Int64(time.Now().UnixMilli()), Message: aws.String(msg)}}}); err != nil {
				b.Fatal(err)
			}
			o, err := c.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String("tail"), LogStreamName: aws.String("s"), Limit: aws.Int32(1)})
			if err != nil || len(o.Events) != 1 || aws.ToString(o.Events[0].Message) != msg {
				b.Fatalf("tail after put: %v", err)
			}
			lat = append(lat, time.Since(put))
			continue
		}
		o, err := c.GetLogEvents(ctx, in)
		if err != nil || len(o.Events) != 100 {
			b.Fatalf("tail: %v", err)
		}
	}
	b.StopTimer()
	if len(lat) > 0 {
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "put-to-tail-p50-ms")
	}
}
