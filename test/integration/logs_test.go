package integration

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/smithy-go"

	"github.com/wharfhq/wharf/internal/server"
	"github.com/wharfhq/wharf/internal/wharftest"
)

func logsClient(t testing.TB, mutate ...func(*server.Config)) (*cwl.Client, *wharftest.Env) {
	env := wharftest.Start(t, mutate...)
	return cwl.NewFromConfig(env.Root()), env
}

// wantAPIError fails unless err is the AWS error code with the HTTP status.
func wantAPIError(t *testing.T, err error, code string, status int) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code {
		t.Fatalf("got %v, want %s", err, code)
	}
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) && re.HTTPStatusCode() != status {
		t.Fatalf("%s: HTTP %d, want %d", code, re.HTTPStatusCode(), status)
	}
}

func mustGroup(t *testing.T, c *cwl.Client, group string, streams ...string) {
	t.Helper()
	ctx := context.Background()
	if _, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String(group)}); err != nil {
		t.Fatal(err)
	}
	for _, s := range streams {
		if _, err := c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String(s)}); err != nil {
			t.Fatal(err)
		}
	}
}

func putEvents(t testing.TB, c *cwl.Client, group, stream string, evs ...types.InputLogEvent) *cwl.PutLogEventsOutput {
	t.Helper()
	out, err := c.PutLogEvents(context.Background(), &cwl.PutLogEventsInput{LogGroupName: aws.String(group),
		LogStreamName: aws.String(stream), LogEvents: evs})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func ev(ts int64, msg string) types.InputLogEvent {
	return types.InputLogEvent{Timestamp: aws.Int64(ts), Message: aws.String(msg)}
}

func messages[E any](evs []E, msg func(E) *string) []string {
	out := []string{}
	for _, e := range evs {
		out = append(out, aws.ToString(msg(e)))
	}
	return out
}

func outMsg(e types.OutputLogEvent) *string    { return e.Message }
func filtMsg(e types.FilteredLogEvent) *string { return e.Message }

func TestLogsGroups(t *testing.T) {
	c, env := logsClient(t)
	ctx := context.Background()
	for _, g := range []string{"/ecs/web", "/ecs/worker", "/ecs/api", "app/DataLogs", "other"} {
		mustGroup(t, c, g)
	}
	_, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("other")})
	wantAPIError(t, err, "ResourceAlreadyExistsException", 400)
	_, err = c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("bad name!")})
	wantAPIError(t, err, "InvalidParameterException", 400)

	// Prefix, with pagination at two per page.
	var names []string
	p := cwl.NewDescribeLogGroupsPaginator(c, &cwl.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/ecs/"), Limit: aws.Int32(2)})
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, g := range out.LogGroups {
			names = append(names, aws.ToString(g.LogGroupName))
			want := "arn:aws:logs:us-east-1:" + env.Info.Account + ":log-group:" + aws.ToString(g.LogGroupName) + ":*"
			if aws.ToString(g.Arn) != want || aws.ToInt64(g.CreationTime) == 0 || g.StoredBytes == nil {
				t.Fatalf("group %+v, want arn %s", g, want)
			}
		}
	}
	if fmt.Sprint(names) != "[/ecs/api /ecs/web /ecs/worker]" || pages != 2 {
		t.Fatalf("prefix listing %v in %d pages", names, pages)
	}
	// Pattern: case-sensitive substring.
	out, err := c.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{LogGroupNamePattern: aws.String("DataLogs")})
	if err != nil || len(out.LogGroups) != 1 || aws.ToString(out.LogGroups[0].LogGroupName) != "app/DataLogs" {
		t.Fatalf("pattern: %v %+v", err, out)
	}
	_, err = c.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{LogGroupNamePattern: aws.String("x"), LogGroupNamePrefix: aws.String("y")})
	wantAPIError(t, err, "InvalidParameterException", 400)

	// Retention: only the listed values.
	_, err = c.PutRetentionPolicy(ctx, &cwl.PutRetentionPolicyInput{LogGroupName: aws.String("other"), RetentionInDays: aws.Int32(2)})
	wantAPIError(t, err, "InvalidParameterException", 400)
	if _, err := c.PutRetentionPolicy(ctx, &cwl.PutRetentionPolicyInput{LogGroupName: aws.String("other"), RetentionInDays: aws.Int32(731)}); err != nil {
		t.Fatal(err)
	}
	out, _ = c.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("other")})
	if aws.ToInt32(out.LogGroups[0].RetentionInDays) != 731 {
		t.Fatalf("retention %+v", out.LogGroups[0])
	}
	if _, err := c.DeleteRetentionPolicy(ctx, &cwl.DeleteRetentionPolicyInput{LogGroupName: aws.String("other")}); err != nil {
		t.Fatal(err)
	}
	out, _ = c.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("other")})
	if out.LogGroups[0].RetentionInDays != nil {
		t.Fatalf("retention still set: %+v", out.LogGroups[0])
	}

	// Tags, both APIs.
	arn := "arn:aws:logs:us-east-1:" + env.Info.Account + ":log-group:other"
	if _, err := c.TagResource(ctx, &cwl.TagResourceInput{ResourceArn: aws.String(arn), Tags: map[string]string{"team": "a", "env": "dev"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UntagResource(ctx, &cwl.UntagResourceInput{ResourceArn: aws.String(arn), TagKeys: []string{"env"}}); err != nil {
		t.Fatal(err)
	}
	//lint:ignore SA1019 the older API is still served and used
	if _, err := c.TagLogGroup(ctx, &cwl.TagLogGroupInput{LogGroupName: aws.String("other"), Tags: map[string]string{"old": "api"}}); err != nil {
		t.Fatal(err)
	}
	tags, err := c.ListTagsForResource(ctx, &cwl.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
	if err != nil || fmt.Sprint(tags.Tags) != "map[old:api team:a]" {
		t.Fatalf("tags %v %v", err, tags)
	}
	//lint:ignore SA1019 the older API is still served and used
	old, err := c.ListTagsLogGroup(ctx, &cwl.ListTagsLogGroupInput{LogGroupName: aws.String("other")})
	if err != nil || len(old.Tags) != 2 {
		t.Fatalf("ListTagsLogGroup %v %v", err, old)
	}
	_, err = c.ListTagsForResource(ctx, &cwl.ListTagsForResourceInput{ResourceArn: aws.String("arn:aws:logs:us-east-1:" + env.Info.Account + ":log-group:nope")})
	wantAPIError(t, err, "ResourceNotFoundException", 400)

	if _, err := c.DeleteLogGroup(ctx, &cwl.DeleteLogGroupInput{LogGroupName: aws.String("other")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteLogGroup(ctx, &cwl.DeleteLogGroupInput{LogGroupName: aws.String("other")})
	wantAPIError(t, err, "ResourceNotFoundException", 400)
}

func TestLogsStreamsAndEvents(t *testing.T) {
	c, _ := logsClient(t)
	ctx := context.Background()
	mustGroup(t, c, "g", "a", "b", "c")
	_, err := c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("a")})
	wantAPIError(t, err, "ResourceAlreadyExistsException", 400)
	_, err = c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String("nope"), LogStreamName: aws.String("a")})
	wantAPIError(t, err, "ResourceNotFoundException", 400)

	now := time.Now().UnixMilli()
	// A batch out of order is stored sorted; the sequence token is ignored.
	var batch []types.InputLogEvent
	for i := 29; i >= 0; i-- {
		batch = append(batch, ev(now-30_000+int64(i)*1000, fmt.Sprintf("line %02d", i)))
	}
	out, err := c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("a"),
		LogEvents: batch, SequenceToken: aws.String("whatever")})
	if err != nil || out.RejectedLogEventsInfo != nil || out.NextSequenceToken == nil {
		t.Fatalf("put: %v %+v", err, out)
	}
	putEvents(t, c, "g", "c", ev(now-100_000, "old one"))
	putEvents(t, c, "g", "b", ev(now-5000, "b late"))

	// Head, forward paging to the end, where the same token comes back.
	var got []string
	in := &cwl.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("a"), StartFromHead: aws.Bool(true), Limit: aws.Int32(7)}
	var last string
	for range 10 {
		o, err := c.GetLogEvents(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, messages(o.Events, outMsg)...)
		if aws.ToString(o.NextForwardToken) == last {
			if len(o.Events) != 0 {
				t.Fatal("same token with events")
			}
			break
		}
		last = aws.ToString(o.NextForwardToken)
		if last[:2] != "f/" || aws.ToString(o.NextBackwardToken)[:2] != "b/" {
			t.Fatalf("tokens %q %q", last, aws.ToString(o.NextBackwardToken))
		}
		in.NextToken = o.NextForwardToken
	}
	if len(got) != 30 || got[0] != "line 00" || got[29] != "line 29" {
		t.Fatalf("forward read %v", got)
	}
	// New events appear behind the forward token.
	putEvents(t, c, "g", "a", ev(now, "line 30"))
	o, err := c.GetLogEvents(ctx, in)
	if err != nil || fmt.Sprint(messages(o.Events, outMsg)) != "[line 30]" {
		t.Fatalf("follow: %v %v", err, messages(o.Events, outMsg))
	}

	// Tail (the default), then backward paging.
	o, err = c.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("a"), Limit: aws.Int32(5)})
	if err != nil || fmt.Sprint(messages(o.Events, outMsg)) != "[line 26 line 27 line 28 line 29 line 30]" {
		t.Fatalf("tail: %v %v", err, messages(o.Events, outMsg))
	}
	o, err = c.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("a"), Limit: aws.Int32(5), NextToken: o.NextBackwardToken})
	if err != nil || fmt.Sprint(messages(o.Events, outMsg)) != "[line 21 line 22 line 23 line 24 line 25]" {
		t.Fatalf("backward: %v %v", err, messages(o.Events, outMsg))
	}
	// Time range: [start, end).
	o, err = c.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("a"), StartFromHead: aws.Bool(true),
		StartTime: aws.Int64(now - 30_000 + 10_000), EndTime: aws.Int64(now - 30_000 + 13_000)})
	if err != nil || fmt.Sprint(messages(o.Events, outMsg)) != "[line 10 line 11 line 12]" {
		t.Fatalf("range: %v %v", err, messages(o.Events, outMsg))
	}
	_, err = c.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("a"), NextToken: aws.String("f/garbage")})
	wantAPIError(t, err, "InvalidParameterException", 400)
	_, err = c.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("zz")})
	wantAPIError(t, err, "ResourceNotFoundException", 400)

	// Streams by last event time, newest first; storedBytes and timestamps.
	ds, err := c.DescribeLogStreams(ctx, &cwl.DescribeLogStreamsInput{LogGroupName: aws.String("g"), OrderBy: types.OrderByLastEventTime, Descending: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, s := range ds.LogStreams {
		order = append(order, aws.ToString(s.LogStreamName))
	}
	if fmt.Sprint(order) != "[a b c]" {
		t.Fatalf("order %v", order)
	}
	a := ds.LogStreams[0]
	//lint:ignore SA1019 deprecated in AWS (reported as 0 there); Wharf still counts it
	if aws.ToInt64(a.FirstEventTimestamp) != now-30_000 || aws.ToInt64(a.LastEventTimestamp) != now || aws.ToInt64(a.StoredBytes) == 0 || a.LastIngestionTime == nil {
		t.Fatalf("stream a %+v", a)
	}
	_, err = c.DescribeLogStreams(ctx, &cwl.DescribeLogStreamsInput{LogGroupName: aws.String("g"), OrderBy: types.OrderByLastEventTime, LogStreamNamePrefix: aws.String("a")})
	wantAPIError(t, err, "InvalidParameterException", 400)
	ds, err = c.DescribeLogStreams(ctx, &cwl.DescribeLogStreamsInput{LogGroupName: aws.String("g"), Limit: aws.Int32(2)})
	if err != nil || len(ds.LogStreams) != 2 || ds.NextToken == nil {
		t.Fatalf("page 1: %v %+v", err, ds)
	}
	ds, err = c.DescribeLogStreams(ctx, &cwl.DescribeLogStreamsInput{LogGroupName: aws.String("g"), Limit: aws.Int32(2), NextToken: ds.NextToken})
	if err != nil || len(ds.LogStreams) != 1 || aws.ToString(ds.LogStreams[0].LogStreamName) != "c" || ds.NextToken != nil {
		t.Fatalf("page 2: %v %+v", err, ds)
	}

	if _, err := c.DeleteLogStream(ctx, &cwl.DeleteLogStreamInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("c")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("c"), LogEvents: []types.InputLogEvent{ev(now, "x")}})
	wantAPIError(t, err, "ResourceNotFoundException", 400)
}

func TestLogsPutLogEventsRules(t *testing.T) {
	c, _ := logsClient(t)
	ctx := context.Background()
	mustGroup(t, c, "g", "s")
	now := time.Now().UnixMilli()
	put := func(evs ...types.InputLogEvent) (*cwl.PutLogEventsOutput, error) {
		return c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), LogEvents: evs})
	}
	// Too old (15 days), fine, too new (3 h ahead) — in one batch spanning < 24 h is impossible,
	// so first the span rule:
	_, err := put(ev(now-25*3600*1000, "a"), ev(now, "b"))
	wantAPIError(t, err, "InvalidParameterException", 400)

	out, err := put(ev(now+3*3600*1000, "future"), ev(now, "ok1"), ev(now+1, "ok2"))
	if err != nil || out.RejectedLogEventsInfo == nil || aws.ToInt32(out.RejectedLogEventsInfo.TooNewLogEventStartIndex) != 2 {
		t.Fatalf("too new: %v %+v", err, out)
	}
	out, err = put(ev(now-15*24*3600*1000, "ancient"), ev(now-15*24*3600*1000+5, "ancient2"))
	if err != nil || aws.ToInt32(out.RejectedLogEventsInfo.TooOldLogEventEndIndex) != 2 {
		t.Fatalf("too old: %v %+v", err, out)
	}
	// Retention of 1 day: a 2-day-old event is expired.
	if _, err := c.PutRetentionPolicy(ctx, &cwl.PutRetentionPolicyInput{LogGroupName: aws.String("g"), RetentionInDays: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	out, err = put(ev(now-2*24*3600*1000, "expired"), ev(now-2*24*3600*1000+1, "expired2"), ev(now-2*24*3600*1000+2, "expired3"))
	if err != nil || aws.ToInt32(out.RejectedLogEventsInfo.ExpiredLogEventEndIndex) != 3 {
		t.Fatalf("expired: %v %+v", err, out)
	}
	// Size: 1,048,576 bytes counting 26 per event.
	big := make([]byte, 200_000)
	for i := range big {
		big[i] = 'x'
	}
	var evs []types.InputLogEvent
	for range 6 {
		evs = append(evs, ev(now, string(big)))
	}
	_, err = put(evs...)
	wantAPIError(t, err, "InvalidParameterException", 400)
	// Over 10,000 events.
	evs = evs[:0]
	for range 10_001 {
		evs = append(evs, ev(now, "x"))
	}
	_, err = put(evs...)
	wantAPIError(t, err, "InvalidParameterException", 400)

	o, err := c.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), StartFromHead: aws.Bool(true)})
	if err != nil || fmt.Sprint(messages(o.Events, outMsg)) != "[ok1 ok2]" {
		t.Fatalf("stored: %v %v", err, messages(o.Events, outMsg))
	}
}

func TestLogsFilterLogEvents(t *testing.T) {
	c, _ := logsClient(t)
	ctx := context.Background()
	mustGroup(t, c, "app", "web-1", "web-2", "worker")
	t0 := time.Now().Add(-time.Minute).UnixMilli()
	putEvents(t, c, "app", "web-1", ev(t0, "INFO GET /a 200"), ev(t0+2, "ERROR GET /b 500"), ev(t0+4, `{"level":"error","ms":300}`))
	putEvents(t, c, "app", "web-2", ev(t0+1, "WARN slow"), ev(t0+3, "ERROR GET /c 404"), ev(t0+5, `{"level":"info","ms":20}`))
	putEvents(t, c, "app", "worker", ev(t0+6, "127.0.0.1 - bob [10/Oct/2000:13:55:36 -0700] \"GET /x.html HTTP/1.0\" 404 2326"))

	filter := func(in *cwl.FilterLogEventsInput) []string {
		t.Helper()
		in.LogGroupName = aws.String("app")
		var msgs []string
		p := cwl.NewFilterLogEventsPaginator(c, in)
		for p.HasMorePages() {
			o, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			msgs = append(msgs, messages(o.Events, filtMsg)...)
		}
		return msgs
	}
	all := filter(&cwl.FilterLogEventsInput{})
	if len(all) != 7 || all[0] != "INFO GET /a 200" || all[1] != "WARN slow" || all[6][:9] != "127.0.0.1" {
		t.Fatalf("interleaved: %q", all)
	}
	// Pagination at two per page gives the same sequence.
	if paged := filter(&cwl.FilterLogEventsInput{Limit: aws.Int32(2)}); fmt.Sprint(paged) != fmt.Sprint(all) {
		t.Fatalf("paged %q\nall %q", paged, all)
	}
	for _, c := range []struct {
		pattern string
		want    string
	}{
		{"ERROR", "[ERROR GET /b 500 ERROR GET /c 404]"},
		{"ERROR -404", "[ERROR GET /b 500]"},
		{"?WARN ?500", "[ERROR GET /b 500 WARN slow]"},
		{`"GET /c"`, "[ERROR GET /c 404]"},
		{`{ $.level = "error" }`, `[{"level":"error","ms":300}]`},
		{`{ $.ms > 100 }`, `[{"level":"error","ms":300}]`},
		{`{ $.ms < 100 || $.level = "err*" }`, `[{"level":"error","ms":300} {"level":"info","ms":20}]`},
		{`[ip, id, user, ts, request = "*html*", status = 4*, bytes > 1000]`, "[127.0.0.1 - bob [10/Oct/2000:13:55:36 -0700] \"GET /x.html HTTP/1.0\" 404 2326]"},
	} {
		got := filter(&cwl.FilterLogEventsInput{FilterPattern: aws.String(c.pattern)})
		sort.Strings(got)
		if fmt.Sprint(got) != c.want {
			t.Errorf("pattern %s: %q, want %s", c.pattern, got, c.want)
		}
	}
	if got := filter(&cwl.FilterLogEventsInput{LogStreamNames: []string{"web-2"}, FilterPattern: aws.String("ERROR")}); fmt.Sprint(got) != "[ERROR GET /c 404]" {
		t.Fatalf("by stream: %q", got)
	}
	if got := filter(&cwl.FilterLogEventsInput{LogStreamNamePrefix: aws.String("web"), StartTime: aws.Int64(t0 + 4)}); len(got) != 2 {
		t.Fatalf("prefix+start: %q", got)
	}
	_, err := c.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("app"), FilterPattern: aws.String(`{ $.a = `)})
	wantAPIError(t, err, "InvalidParameterException", 400)
	_, err = c.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("nope")})
	wantAPIError(t, err, "ResourceNotFoundException", 400)
	// Event ids are unique across streams.
	o, _ := c.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("app")})
	ids := map[string]bool{}
	for _, e := range o.Events {
		ids[aws.ToString(e.EventId)] = true
	}
	if len(ids) != 7 {
		t.Fatalf("event ids %v", ids)
	}
}

// TestLogsRetentionSweep: with a retention policy, events past it vanish
// from reads and the maintenance sweep deletes their segments, bounding
// storedBytes.
func TestLogsRetentionSweep(t *testing.T) {
	c, env := logsClient(t)
	ctx := context.Background()
	mustGroup(t, c, "r", "old", "new")
	now := time.Now().UnixMilli()
	twoDays := int64(48 * 3600 * 1000)
	putEvents(t, c, "r", "old", ev(now-twoDays-1000, "soon gone"), ev(now-twoDays, "also gone"))
	putEvents(t, c, "r", "new", ev(now, "stays"))
	bytes := func() int64 {
		o, err := c.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("r")})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToInt64(o.LogGroups[0].StoredBytes)
	}
	before := bytes()
	if _, err := c.PutRetentionPolicy(ctx, &cwl.PutRetentionPolicyInput{LogGroupName: aws.String("r"), RetentionInDays: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	// Reads apply retention at once.
	o, err := c.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String("r"), LogStreamName: aws.String("old")})
	if err != nil || len(o.Events) != 0 {
		t.Fatalf("expired events still read: %v %v", err, o)
	}
	if err := env.Server.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	after := bytes()
	if after >= before || after == 0 {
		t.Fatalf("stored bytes %d before the sweep, %d after", before, after)
	}
	ds, _ := c.DescribeLogStreams(ctx, &cwl.DescribeLogStreamsInput{LogGroupName: aws.String("r"), LogStreamNamePrefix: aws.String("old")})
	//lint:ignore SA1019 deprecated in AWS (reported as 0 there); Wharf still counts it
	if s := ds.LogStreams[0]; aws.ToInt64(s.StoredBytes) != 0 || s.FirstEventTimestamp != nil {
		t.Fatalf("old stream after sweep: %+v", s)
	}
	fo, err := c.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("r")})
	if err != nil || fmt.Sprint(messages(fo.Events, filtMsg)) != "[stays]" {
		t.Fatalf("after sweep: %v %v", err, fo)
	}
}

// TestLogsIAM: logs:<Operation> on the log group ARN decides, as in AWS.
func TestLogsIAM(t *testing.T) {
	root, env := logsClient(t)
	ctx := context.Background()
	mustGroup(t, root, "/ecs/allowed", "s")
	mustGroup(t, root, "/ecs/other", "s")
	ic := awsiam.NewFromConfig(env.Root())
	if _, err := ic.CreateUser(ctx, &awsiam.CreateUserInput{UserName: aws.String("shipper")}); err != nil {
		t.Fatal(err)
	}
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["logs:PutLogEvents","logs:CreateLogStream"],
		"Resource":"arn:aws:logs:us-east-1:` + env.Info.Account + `:log-group:/ecs/allowed:*"}]}`
	if _, err := ic.PutUserPolicy(ctx, &awsiam.PutUserPolicyInput{UserName: aws.String("shipper"), PolicyName: aws.String("p"), PolicyDocument: aws.String(doc)}); err != nil {
		t.Fatal(err)
	}
	key, err := ic.CreateAccessKey(ctx, &awsiam.CreateAccessKeyInput{UserName: aws.String("shipper")})
	if err != nil {
		t.Fatal(err)
	}
	c := cwl.NewFromConfig(env.Config(aws.ToString(key.AccessKey.AccessKeyId), aws.ToString(key.AccessKey.SecretAccessKey), ""))
	putEvents(t, c, "/ecs/allowed", "s", ev(time.Now().UnixMilli(), "ok"))
	_, err = c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String("/ecs/other"), LogStreamName: aws.String("s"),
		LogEvents: []types.InputLogEvent{ev(time.Now().UnixMilli(), "no")}})
	wantAPIError(t, err, "AccessDeniedException", 400)
	_, err = c.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String("/ecs/allowed"), LogStreamName: aws.String("s")})
	wantAPIError(t, err, "AccessDeniedException", 400)
}
