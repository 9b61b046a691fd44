package awslogs

import (
	"context"
	"errors"
	"io"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	wrt "github.com/wharfhq/wharf/internal/runtime"
)

// Retry pacing when CloudWatch Logs or the engine cannot be reached.
const (
	minBackoff  = time.Second
	maxBackoff  = 30 * time.Second
	callTimeout = 20 * time.Second
)

// follower ships one container's output.
type follower struct {
	s      *Shipper
	c      Container
	o      Options
	group  string
	stream string
	client *cloudwatchlogs.Client

	ctx     context.Context
	cancel  context.CancelFunc
	done    chan struct{}
	ready   bool     // group and stream exist
	acked   Position // last line PutLogEvents accepted
	dropped atomic.Int64
}

func newFollower(s *Shipper, c Container, o Options) *follower {
	ctx, cancel := context.WithCancel(s.ctx)
	f := &follower{s: s, c: c, o: o, group: o.Group, stream: StreamName(o.StreamPrefix, c.Name, c.TaskARN, c.RuntimeID),
		ctx: ctx, cancel: cancel, done: make(chan struct{})}
	region := o.Region
	if region == "" {
		region = s.cfg.Region
	}
	own := s.cfg.AWS.Credentials
	creds := own
	if c.Credentials != nil {
		creds = aws.CredentialsProviderFunc(func(ctx context.Context) (aws.Credentials, error) {
			if r := c.Credentials(); r != nil {
				return aws.Credentials{AccessKeyID: r.AccessKeyID, SecretAccessKey: r.SecretAccessKey, SessionToken: r.SessionToken,
					CanExpire: !r.Expiration.IsZero(), Expires: r.Expiration, Source: "ExecutionRole"}, nil
			}
			if own != nil {
				return own.Retrieve(ctx)
			}
			return aws.Credentials{}, errors.New("awslogs: no credentials (the task has no execution role)")
		})
	}
	endpoint := s.cfg.Endpoint
	f.client = cloudwatchlogs.NewFromConfig(s.cfg.AWS, func(co *cloudwatchlogs.Options) {
		co.Region = region
		co.Credentials = creds
		if endpoint != "" {
			co.BaseEndpoint = aws.String(endpoint)
		}
		co.RetryMaxAttempts = 1
	})
	return f
}

// stop ends the follower and waits for it.
func (f *follower) stop() {
	f.cancel()
	<-f.done
}

// run follows the container until its output ends (then ships the rest)
// or the follower is stopped.
func (f *follower) run() {
	defer close(f.done)
	ctx := f.ctx
	mark, _ := f.s.state.Get(f.c.RuntimeID)
	f.acked = mark.Pos
	lines := make(chan Line)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		f.read(ctx, mark.Pos, lines)
	}()
	defer func() {
		f.cancel()
		<-readDone
	}()

	q := NewQueue(f.o.MaxBufferSize, f.o.Mode == ModeNonBlocking)
	if !q.nonBlocking {
		q.max = max(f.o.MaxBufferSize, 4*MaxBatchBytes)
	}
	j := NewJoiner(f.o.Multiline)
	every := f.s.cfg.FlushInterval
	tick := time.NewTicker(every)
	defer tick.Stop()
	var retryAt time.Time
	backoff := minBackoff
	ship := func(all bool) {
		for q.Len() > 0 && (all || q.BatchReady()) && !time.Now().Before(retryAt) {
			if err := f.shipBatch(ctx, q); err != nil {
				if ctx.Err() == nil {
					f.s.cfg.Logger.Warn("awslogs: cannot ship, will retry", "container", f.c.RuntimeID, "group", f.group, "stream", f.stream, "err", err)
				}
				retryAt = time.Now().Add(backoff)
				backoff = min(2*backoff, maxBackoff)
				return
			}
			backoff, retryAt = minBackoff, time.Time{}
		}
	}
	for {
		in := lines
		if q.Full() {
			in = nil
		}
		select {
		case <-ctx.Done():
			return
		case l, ok := <-in:
			if !ok {
				q.Push(j.Flush(time.Now(), 0)...)
				f.drain(ctx, q)
				return
			}
			q.Push(j.Add(l, time.Now())...)
			f.dropped.Store(q.Dropped())
			ship(false)
		case <-tick.C:
			q.Push(j.Flush(time.Now(), every)...)
			f.dropped.Store(q.Dropped())
			ship(true)
		}
	}
}

// drain ships everything left once the output has ended, retrying until
// it is accepted or the follower is stopped, then marks the container done.
func (f *follower) drain(ctx context.Context, q *Queue) {
	backoff := minBackoff
	for q.Len() > 0 {
		if err := f.shipBatch(ctx, q); err != nil {
			f.s.cfg.Logger.Warn("awslogs: cannot ship, will retry", "container", f.c.RuntimeID, "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, maxBackoff)
		}
	}
	if err := f.s.state.Set(f.c.RuntimeID, Mark{Pos: f.acked, Done: true, Task: f.c.TaskARN}); err != nil {
		f.s.cfg.Logger.Warn("awslogs: cannot save state", "err", err)
	}
	f.s.finished(f)
}

// read follows the container's output from after position from, sending
// each new line; it reopens the stream after an error and closes out when
// the output ends (the container stopped) or ctx is done.
func (f *follower) read(ctx context.Context, from Position, out chan<- Line) {
	defer close(out)
	last := from
	backoff := minBackoff
	for ctx.Err() == nil {
		// Lines up to resume were sent before this (re)open. Within one
		// stream timestamps need not grow: stdout and stderr are stamped
		// by separate readers in Docker, so a stderr line can follow
		// stdout lines stamped after it. Only lines already sent are
		// skipped, never one that is merely older than its predecessor.
		resume := last
		opts := wrt.LogOptions{Follow: true, Since: last.Time}
		st, err := f.s.cfg.Logs.ContainerLogs(ctx, f.c.RuntimeID, opts)
		if errors.Is(err, wrt.ErrNotFound) {
			f.s.cfg.Logger.Warn("awslogs: the container is gone", "container", f.c.RuntimeID)
			return
		}
		if err != nil {
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, maxBackoff)
			continue
		}
		var p Positioner
		for {
			e, err := st.Next()
			if err == io.EOF {
				st.Close()
				return
			}
			if err != nil {
				st.Close()
				break
			}
			backoff = minBackoff
			pos := p.Next(e.Time)
			if !pos.After(resume) {
				continue
			}
			if pos.After(last) {
				last = pos
			}
			select {
			case out <- Line{Time: e.Time, Text: e.Line, Pos: pos}:
			case <-ctx.Done():
				st.Close()
				return
			}
		}
	}
}

// shipBatch sends the next batch; on success it is popped and its last
// line saved as acknowledged.
func (f *follower) shipBatch(ctx context.Context, q *Queue) error {
	n := NextBatch(q.events)
	if n == 0 {
		return nil
	}
	batch := q.Peek(n)
	// A put is not cut short by Stop: one that reached CloudWatch Logs
	// must have its answer, and its position saved, or a restarted agent
	// would ship the batch again.
	if err := f.put(context.WithoutCancel(ctx), batch); err != nil {
		return err
	}
	f.acked = batch[n-1].Pos
	q.Pop(n)
	if err := f.s.state.Set(f.c.RuntimeID, Mark{Pos: f.acked, Task: f.c.TaskARN}); err != nil {
		f.s.cfg.Logger.Warn("awslogs: cannot save state", "err", err)
	}
	return nil
}

// put calls PutLogEvents, creating the group (awslogs-create-group) and
// the stream first.
func (f *follower) put(ctx context.Context, batch []Event) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if !f.ready {
		if err := f.prepare(ctx); err != nil {
			return err
		}
	}
	var events []types.InputLogEvent
	for _, e := range Sorted(batch) {
		if e.Message == "" {
			continue
		}
		events = append(events, types.InputLogEvent{Timestamp: aws.Int64(e.Time.UnixMilli()), Message: aws.String(e.Message)})
	}
	if len(events) == 0 {
		return nil
	}
	out, err := f.client.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String(f.group),
		LogStreamName: aws.String(f.stream), LogEvents: events})
	var nf *types.ResourceNotFoundException
	if errors.As(err, &nf) {
		f.ready = false
		return err
	}
	var bad *types.InvalidParameterException
	if errors.As(err, &bad) {
		// Can never succeed: drop the batch rather than block the stream.
		f.s.cfg.Logger.Warn("awslogs: batch rejected, dropped", "container", f.c.RuntimeID, "events", len(events), "err", err)
		return nil
	}
	if err != nil {
		return err
	}
	if r := out.RejectedLogEventsInfo; r != nil {
		f.s.cfg.Logger.Warn("awslogs: some events rejected (too old or too new)", "container", f.c.RuntimeID)
	}
	return nil
}

// prepare creates the group (when asked) and the stream; both may exist.
func (f *follower) prepare(ctx context.Context) error {
	var exists *types.ResourceAlreadyExistsException
	if f.o.CreateGroup {
		_, err := f.client.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(f.group)})
		if err != nil && !errors.As(err, &exists) {
			return err
		}
	}
	_, err := f.client.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(f.group), LogStreamName: aws.String(f.stream)})
	if err != nil && !errors.As(err, &exists) {
		return err
	}
	f.ready = true
	return nil
}
