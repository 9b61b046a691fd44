package logs

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/wharfhq/wharf/api/logsapi"
	"github.com/wharfhq/wharf/internal/errs"
	"github.com/wharfhq/wharf/internal/logs/logstore"
	"github.com/wharfhq/wharf/internal/ptr"
	"github.com/wharfhq/wharf/internal/store"
)

// PutLogEvents limits of the current API.
const (
	maxBatchEvents  = 10_000
	maxBatchBytes   = 1_048_576
	eventOverhead   = 26 // bytes CloudWatch counts per event on top of the message
	maxEventBytes   = 262_144
	maxBatchSpan    = 24 * 3600 * 1000
	maxAge          = 14 * 24 * 3600 * 1000
	maxFuture       = 2 * 3600 * 1000
	maxGetEvents    = 10_000
	maxResponseSize = 1_048_576
)

// batchVerdict is the pure decision on a PutLogEvents batch: which events
// (of the batch sorted by time) are stored and which are rejected.
type batchVerdict struct {
	sorted                    []logstore.Event
	tooOldEnd, expiredEnd     int // events [0, tooOldEnd) too old; [tooOldEnd, expiredEnd) expired
	tooNewStart               int // events [tooNewStart, n) too new
	rejectedOld, rejectedNew  bool
	rejectedExpired           bool
	acceptedFrom, acceptedEnd int
}

// judgeBatch applies CloudWatch's rules to a batch at time now (ms) for a
// group with the given retention (days, 0 for none).
func judgeBatch(events []logsapi.InputLogEvent, now int64, retentionDays int32) (batchVerdict, error) {
	var v batchVerdict
	if len(events) == 0 {
		return v, errs.New(ErrInvalidParameter, "At least one log event must be provided.")
	}
	if len(events) > maxBatchEvents {
		return v, errs.New(ErrInvalidParameter, "The batch of log events in a single PutLogEvents request cannot contain more than %d events.", maxBatchEvents)
	}
	size := 0
	v.sorted = make([]logstore.Event, len(events))
	for i, e := range events {
		msg := ptr.Value(e.Message)
		if len(msg)+eventOverhead > maxEventBytes {
			return v, errs.New(ErrInvalidParameter, "Log event too large: %d bytes exceeds limit of %d", len(msg)+eventOverhead, maxEventBytes)
		}
		size += len(msg) + eventOverhead
		v.sorted[i] = logstore.Event{Timestamp: ptr.Value(e.Timestamp), Message: msg}
	}
	if size > maxBatchBytes {
		return v, errs.New(ErrInvalidParameter, "Upload too large: %d bytes exceeds limit of %d", size, maxBatchBytes)
	}
	sort.SliceStable(v.sorted, func(i, j int) bool { return v.sorted[i].Timestamp < v.sorted[j].Timestamp })
	n := len(v.sorted)
	if v.sorted[n-1].Timestamp-v.sorted[0].Timestamp > maxBatchSpan {
		return v, errs.New(ErrInvalidParameter, "The batch of log events in a single PutLogEvents request cannot span more than 24 hours.")
	}
	oldest := now - maxAge
	expiry := int64(math.MinInt64)
	if retentionDays > 0 {
		expiry = now - int64(retentionDays)*86_400_000
	}
	v.tooOldEnd = sort.Search(n, func(i int) bool { return v.sorted[i].Timestamp >= oldest })
	v.expiredEnd = max(v.tooOldEnd, sort.Search(n, func(i int) bool { return v.sorted[i].Timestamp >= expiry }))
	v.tooNewStart = sort.Search(n, func(i int) bool { return v.sorted[i].Timestamp > now+maxFuture })
	if v.tooNewStart < v.expiredEnd {
		v.tooNewStart = v.expiredEnd
	}
	v.rejectedOld, v.rejectedExpired, v.rejectedNew = v.tooOldEnd > 0, v.expiredEnd > v.tooOldEnd, v.tooNewStart < n
	v.acceptedFrom, v.acceptedEnd = v.expiredEnd, v.tooNewStart
	return v, nil
}

func (v batchVerdict) rejected() *logsapi.RejectedLogEventsInfo {
	if !v.rejectedOld && !v.rejectedNew && !v.rejectedExpired {
		return nil
	}
	r := &logsapi.RejectedLogEventsInfo{}
	if v.rejectedOld {
		r.TooOldLogEventEndIndex = ptr.To(int32(v.tooOldEnd))
	}
	if v.rejectedExpired {
		r.ExpiredLogEventEndIndex = ptr.To(int32(v.expiredEnd))
	}
	if v.rejectedNew {
		r.TooNewLogEventStartIndex = ptr.To(int32(v.tooNewStart))
	}
	return r
}

// PutLogEvents stores a batch of events; they are durable when it answers.
// Sequence tokens are accepted and ignored, as CloudWatch does today.
func (s *Service) PutLogEvents(ctx context.Context, in *logsapi.PutLogEventsRequest) (*logsapi.PutLogEventsResponse, error) {
	group, streamName := ptr.Value(in.LogGroupName), ptr.Value(in.LogStreamName)
	var g groupDoc
	var d streamDoc
	err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		if g, _, err = loadGroup(tx, group); err != nil {
			return err
		}
		d, err = loadStream(tx, g.ID, streamName)
		return err
	})
	if err != nil {
		return nil, err
	}
	now := s.nowMS()
	v, err := judgeBatch(in.LogEvents, now, g.RetentionDays)
	if err != nil {
		return nil, err
	}
	out := &logsapi.PutLogEventsResponse{RejectedLogEventsInfo: v.rejected()}
	accepted := v.sorted[v.acceptedFrom:v.acceptedEnd]
	if len(accepted) == 0 {
		out.NextSequenceToken = ptr.To(sequenceToken(d.Events))
		return out, nil
	}
	ref, err := s.ref(ctx, g.ID, d.ID)
	if err != nil {
		return nil, err
	}
	if err := s.events.Append(ref, accepted, now); err != nil {
		if err == logstore.ErrDeleted {
			return nil, errs.New(ErrNotFound, "The specified log stream does not exist.")
		}
		return nil, fmt.Errorf("logs: store events: %w", err)
	}
	var added int64
	for _, e := range accepted {
		added += int64(len(e.Message) + 24) // the record's size on disk
	}
	s.ingest.add(len(accepted), added)
	first, last := accepted[0].Timestamp, accepted[len(accepted)-1].Timestamp
	var events int64
	err = s.st.Update(ctx, func(tx store.Tx) error {
		cur, err := loadStream(tx, g.ID, streamName)
		if err != nil || cur.ID != d.ID {
			return nil // deleted meanwhile: nothing to count
		}
		if cur.Events == 0 || first < cur.FirstEvent {
			cur.FirstEvent = first
		}
		cur.LastEvent = max(cur.LastEvent, last)
		cur.LastIngest = max(cur.LastIngest, now)
		cur.Bytes += added
		cur.Events += int64(len(accepted))
		events = cur.Events
		if err := putJSON(tx, tblStreams, g.ID+"/"+streamName, cur); err != nil {
			return err
		}
		return s.addGroupBytes(tx, group, added)
	})
	if err != nil {
		return nil, err
	}
	out.NextSequenceToken = ptr.To(sequenceToken(events))
	return out, nil
}

// GetLogEvents reads a stream forward from its head or backward from its
// tail, with AWS's token semantics: "f/…" continues forward, "b/…" goes
// back, and at the end the same token comes back.
func (s *Service) GetLogEvents(ctx context.Context, in *logsapi.GetLogEventsRequest) (*logsapi.GetLogEventsResponse, error) {
	groupName, err := groupNameOf(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	var g groupDoc
	var d streamDoc
	err = s.st.View(ctx, func(tx store.Tx) error {
		if g, _, err = loadGroup(tx, groupName); err != nil {
			return err
		}
		d, err = loadStream(tx, g.ID, ptr.Value(in.LogStreamName))
		return err
	})
	if err != nil {
		return nil, err
	}
	ref, err := s.ref(ctx, g.ID, d.ID)
	if err != nil {
		return nil, err
	}
	rg := s.readRange(g, in.StartTime, in.EndTime)
	limit := int(ptr.Or(in.Limit, maxGetEvents))
	forward := ptr.Value(in.StartFromHead)
	var pos logstore.Position
	tok := ptr.Value(in.NextToken)
	switch {
	case tok != "":
		var err error
		if forward, pos, err = decodePosToken(tok); err != nil {
			return nil, err
		}
	case !forward:
		if pos, err = s.events.End(ref); err != nil {
			return nil, err
		}
	}
	var recs []logstore.Record
	size := 0
	take := func(r logstore.Record) bool {
		size += len(r.Message) + eventOverhead
		if size > maxResponseSize && len(recs) > 0 {
			return false
		}
		recs = append(recs, r)
		return len(recs) < limit
	}
	if forward {
		err = s.events.ReadForward(ref, pos, rg, take)
	} else {
		err = s.events.ReadBackward(ref, pos, rg, take)
		for i, j := 0, len(recs)-1; i < j; i, j = i+1, j-1 {
			recs[i], recs[j] = recs[j], recs[i]
		}
	}
	if err != nil {
		return nil, fmt.Errorf("logs: read events: %w", err)
	}
	out := &logsapi.GetLogEventsResponse{Events: make([]logsapi.OutputLogEvent, 0, len(recs))}
	for _, r := range recs {
		out.Events = append(out.Events, logsapi.OutputLogEvent{Timestamp: ptr.To(r.Timestamp),
			IngestionTime: ptr.To(r.Ingestion), Message: ptr.To(r.Message)})
	}
	if len(recs) == 0 {
		// Nothing more this way: the same position both ways.
		out.NextForwardToken = ptr.To(encodePosToken(true, pos))
		out.NextBackwardToken = ptr.To(encodePosToken(false, pos))
		if tok != "" {
			if forward {
				out.NextForwardToken = ptr.To(tok)
			} else {
				out.NextBackwardToken = ptr.To(tok)
			}
		}
		return out, nil
	}
	out.NextForwardToken = ptr.To(encodePosToken(true, recs[len(recs)-1].Next()))
	out.NextBackwardToken = ptr.To(encodePosToken(false, recs[0].Pos))
	return out, nil
}

// readRange is the time range a read may see: the request's, cut at the
// group's retention (expired events vanish before the sweep deletes them).
func (s *Service) readRange(g groupDoc, start, end *int64) logstore.Range {
	rg := logstore.All
	if start != nil {
		rg.Start = *start
	}
	if end != nil {
		rg.End = *end
	}
	if g.RetentionDays > 0 {
		rg.Start = max(rg.Start, s.nowMS()-int64(g.RetentionDays)*86_400_000)
	}
	return rg
}

// Position tokens: "f/" or "b/", then the segment and offset as 20 digits each.
func encodePosToken(forward bool, p logstore.Position) string {
	d := "b/"
	if forward {
		d = "f/"
	}
	return fmt.Sprintf("%s%020d%020d", d, p.Seg, p.Off)
}

func decodePosToken(tok string) (bool, logstore.Position, error) {
	bad := errs.New(ErrInvalidParameter, "The specified nextToken is invalid.")
	if len(tok) != 42 || (!strings.HasPrefix(tok, "f/") && !strings.HasPrefix(tok, "b/")) {
		return false, logstore.Position{}, bad
	}
	seg, err1 := strconv.ParseUint(tok[2:22], 10, 64)
	off, err2 := strconv.ParseInt(tok[22:], 10, 64)
	if err1 != nil || err2 != nil || off < 0 {
		return false, logstore.Position{}, bad
	}
	return tok[0] == 'f', logstore.Position{Seg: seg, Off: off}, nil
}
