package integration

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
)

// TestLogsCrashDuringPuts: kill -9 the server while writers put events;
// after a restart every event PutLogEvents acknowledged is there, once, in
// order, and the streams take new events (a torn tail was cut).
func TestLogsCrashDuringPuts(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the wharf binary")
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "wharf")
	build := exec.Command("go", "build", "-o", bin, "github.com/wharfhq/wharf/cmd/wharf")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build wharf: %v\n%s", err, out)
	}
	dir := filepath.Join(tmp, "data")
	addr := freeAddr(t)
	p := startWharfProc(t, bin, dir, addr)
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(crashKeyID, crashSecret, ""),
		BaseEndpoint: aws.String("http://" + addr), RetryMaxAttempts: 1}
	c := cwl.NewFromConfig(cfg)
	ctx := context.Background()
	const writers = 4
	if _, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("crash")}); err != nil {
		t.Fatal(err)
	}
	for w := range writers {
		if _, err := c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String("crash"), LogStreamName: aws.String(fmt.Sprint("w", w))}); err != nil {
			t.Fatal(err)
		}
	}

	acked := make([]int, writers) // events acknowledged per writer
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for batch := 0; ; batch++ {
				now := time.Now().UnixMilli()
				var evs []types.InputLogEvent
				for i := range 50 {
					evs = append(evs, types.InputLogEvent{Timestamp: aws.Int64(now), Message: aws.String(fmt.Sprintf("w%d event %06d padding-padding-padding", w, batch*50+i))})
				}
				_, err := c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String("crash"), LogStreamName: aws.String(fmt.Sprint("w", w)), LogEvents: evs})
				if err != nil {
					return // the server died
				}
				acked[w] = (batch + 1) * 50
			}
		}()
	}
	time.Sleep(1500 * time.Millisecond)
	if err := p.cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	_ = p.cmd.Wait()
	wg.Wait()
	total := 0
	for _, n := range acked {
		total += n
	}
	if total == 0 {
		t.Fatal("no batch was acknowledged before the kill")
	}
	t.Logf("acknowledged before kill -9: %v", acked)

	startWharfProc(t, bin, dir, addr)
	// A new client: the old one's pooled connections died with the server.
	cfg.HTTPClient = &http.Client{Transport: &http.Transport{}}
	cfg.RetryMaxAttempts = 3
	c = cwl.NewFromConfig(cfg)
	for w := range writers {
		stream := fmt.Sprint("w", w)
		var got []string
		in := &cwl.GetLogEventsInput{LogGroupName: aws.String("crash"), LogStreamName: aws.String(stream), StartFromHead: aws.Bool(true)}
		for {
			o, err := c.GetLogEvents(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range o.Events {
				got = append(got, aws.ToString(e.Message))
			}
			if len(o.Events) == 0 {
				break
			}
			in.NextToken = o.NextForwardToken
		}
		if len(got) < acked[w] {
			t.Fatalf("%s: %d events after restart, %d were acknowledged", stream, len(got), acked[w])
		}
		for i, m := range got { // in order, no gap, no duplicate
			if want := fmt.Sprintf("w%d event %06d padding-padding-padding", w, i); m != want {
				t.Fatalf("%s: event %d is %q, want %q", stream, i, m, want)
			}
		}
		now := time.Now().UnixMilli()
		if _, err := c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String("crash"), LogStreamName: aws.String(stream),
			LogEvents: []types.InputLogEvent{{Timestamp: aws.Int64(now), Message: aws.String("after restart")}}}); err != nil {
			t.Fatal(err)
		}
		o, err := c.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String("crash"), LogStreamName: aws.String(stream), Limit: aws.Int32(1)})
		if err != nil || len(o.Events) != 1 || aws.ToString(o.Events[0].Message) != "after restart" {
			t.Fatalf("%s: tail after restart: %v %+v", stream, err, o)
		}
	}
}
