package integration

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/wharfhq/wharf/internal/wharftest"
)

// BenchmarkCloudWatchPutMetricData measures datapoints ingested per second
// through the whole stack: aws-sdk-go-v2 (CBOR), the edge (SigV4, decode,
// validation, audit), the service and the time-series store with its
// write-ahead log fsynced per call. 8 concurrent clients each send calls
// of 1,000 values (the API's limit) over 10 metrics.
func BenchmarkCloudWatchPutMetricData(b *testing.B) {
	env := wharftest.Start(b)
	cw := cloudwatch.NewFromConfig(benchConfig(env))
	now := time.Now().UTC()
	batch := func(k int) []cwtypes.MetricDatum {
		out := make([]cwtypes.MetricDatum, 1000)
		for i := range out {
			out[i] = cwtypes.MetricDatum{MetricName: aws.String(fmt.Sprintf("m%d", i%10)), Dimensions: dims("Host", fmt.Sprintf("h%d", k%8)),
				Timestamp: aws.Time(now.Add(-time.Duration(i) * time.Second)), Value: aws.Float64(float64(i)), StorageResolution: aws.Int32(1)}
		}
		return out
	}
	const clients = 8
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	work := make(chan int)
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			data := batch(c)
			for range work {
				if _, err := cw.PutMetricData(context.Background(), &cloudwatch.PutMetricDataInput{Namespace: aws.String("Bench"), MetricData: data}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	for i := 0; i < b.N; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	b.ReportMetric(float64(b.N*1000)/time.Since(start).Seconds(), "datapoints/s")
}

// benchConfig gives a benchmark its own connection pool, big enough for
// its concurrent clients (the default keeps 2 idle connections per host).
func benchConfig(env *wharftest.Env) aws.Config {
	cfg := env.Root()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 32
	cfg.HTTPClient = &http.Client{Transport: tr}
	return cfg
}

// BenchmarkCloudWatchGetMetricData24h measures GetMetricData over 24 hours
// of 1-second data (86,400 datapoints, put through the API): per-minute
// averages over the whole day (1,440 values; older than 3 h it reads the
// minute rollups, as CloudWatch keeps them) and, as the heavier case,
// 1-second values over the last 3 hours (10,800 values) with a metric
// math expression on top.
func BenchmarkCloudWatchGetMetricData24h(b *testing.B) {
	env := wharftest.Start(b)
	ctx := context.Background()
	cfg := benchConfig(env)
	cfg.HTTPClient.(*http.Client).Transport = bufferingTransport{cfg.HTTPClient.(*http.Client).Transport}
	cw := cloudwatch.NewFromConfig(cfg)
	end := time.Now().UTC().Truncate(time.Minute)
	startT := end.Add(-24 * time.Hour)
	for off := 0; off < 86400; off += 1000 {
		data := make([]cwtypes.MetricDatum, 0, 1000)
		for i := off; i < off+1000 && i < 86400; i++ {
			data = append(data, cwtypes.MetricDatum{MetricName: aws.String("CPU"), Dimensions: dims("Host", "h1"),
				Timestamp: aws.Time(startT.Add(time.Duration(i) * time.Second)), Value: aws.Float64(float64(i % 100)), StorageResolution: aws.Int32(1)})
		}
		if _, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("Bench"), MetricData: data}); err != nil {
			b.Fatal(err)
		}
	}
	stat := func(period int32) *cwtypes.MetricStat {
		return &cwtypes.MetricStat{Metric: &cwtypes.Metric{Namespace: aws.String("Bench"), MetricName: aws.String("CPU"), Dimensions: dims("Host", "h1")},
			Period: aws.Int32(period), Stat: aws.String("Average")}
	}
	cases := []struct {
		name   string
		from   time.Time
		period int32
		want   int
		expr   bool
	}{
		{"day-per-minute", startT, 60, 1440, false},
		{"3h-per-second+math", end.Add(-3 * time.Hour).Add(time.Minute), 1, 10740, true},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			qs := []cwtypes.MetricDataQuery{{Id: aws.String("cpu"), MetricStat: stat(c.period)}}
			if c.expr {
				qs = append(qs, cwtypes.MetricDataQuery{Id: aws.String("pct"), Expression: aws.String("FILL(cpu, 0) / 100")})
			}
			var lat []time.Duration
			for i := 0; i < b.N; i++ {
				from := c.from
				if c.period == 1 { // stay inside the 1-second retention as the clock moves
					from = time.Now().Add(-3*time.Hour + 2*time.Minute)
				}
				t0 := time.Now()
				out, err := cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{StartTime: aws.Time(from), EndTime: aws.Time(end), MetricDataQueries: qs})
				if err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
				if n := len(out.MetricDataResults[0].Values); n < c.want-600 || n > c.want {
					b.Fatalf("%d values, want about %d", n, c.want)
				}
			}
			var sum time.Duration
			for _, l := range lat {
				sum += l
			}
			b.ReportMetric(float64(sum.Microseconds())/float64(len(lat))/1000, "ms/query")
		})
	}
}

// bufferingTransport reads each response body whole before handing it to
// the SDK. Without it, after BenchmarkCloudWatchPutMetricData has run in
// the same process, the SDK's CBOR deserializer sometimes fails with "use
// of closed network connection" — a local close on the client side (the
// server logs nothing, and the same bytes read here are complete). The
// time to read the body stays inside the measured latency.
type bufferingTransport struct{ rt http.RoundTripper }

func (t bufferingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.rt.RoundTrip(r)
	if err != nil {
		return resp, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp, nil
}
