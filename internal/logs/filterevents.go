package logs

import (
	"container/heap"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/wharfhq/wharf/api/logsapi"
	"github.com/wharfhq/wharf/internal/errs"
	"github.com/wharfhq/wharf/internal/logs/filter"
	"github.com/wharfhq/wharf/internal/logs/logstore"
	"github.com/wharfhq/wharf/internal/ptr"
	"github.com/wharfhq/wharf/internal/store"
)

// maxScan bounds the events one FilterLogEvents call examines; past it the
// call answers with what it found and a nextToken, as CloudWatch does.
const maxScan = 1_000_000

// mergeKey orders events across streams: time, then stream name, then
// position in the stream.
type mergeKey struct {
	TS     int64  `json:"t"`
	Stream string `json:"s"`
	Seg    uint64 `json:"g"`
	Off    int64  `json:"o"`
}

func (a mergeKey) less(b mergeKey) bool {
	if a.TS != b.TS {
		return a.TS < b.TS
	}
	if a.Stream != b.Stream {
		return a.Stream < b.Stream
	}
	return logstore.Position{Seg: a.Seg, Off: a.Off}.Less(logstore.Position{Seg: b.Seg, Off: b.Off})
}

// cursor reads one stream forward in chunks.
type cursor struct {
	doc  streamDoc
	num  uint64 // numeric stream id, for event ids
	ref  logstore.Ref
	pos  logstore.Position
	buf  []logstore.Record
	done bool
}

const chunk = 256

func (c *cursor) fill(s *Service, rg logstore.Range) error {
	if c.done || len(c.buf) > 0 {
		return nil
	}
	err := s.events.ReadForward(c.ref, c.pos, rg, func(r logstore.Record) bool {
		c.buf = append(c.buf, r)
		return len(c.buf) < chunk
	})
	if len(c.buf) < chunk {
		c.done = true
	}
	if len(c.buf) > 0 {
		c.pos = c.buf[len(c.buf)-1].Next()
	}
	return err
}

func (c *cursor) key() mergeKey {
	r := c.buf[0]
	return mergeKey{r.Timestamp, c.doc.Name, r.Pos.Seg, r.Pos.Off}
}

type cursorHeap []*cursor

func (h cursorHeap) Len() int           { return len(h) }
func (h cursorHeap) Less(i, j int) bool { return h[i].key().less(h[j].key()) }
func (h cursorHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *cursorHeap) Push(x any)        { *h = append(*h, x.(*cursor)) }
func (h *cursorHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	*h = old[:len(old)-1]
	return c
}

// FilterLogEvents searches a group's streams for events matching a filter
// pattern, interleaved across streams by time.
func (s *Service) FilterLogEvents(ctx context.Context, in *logsapi.FilterLogEventsRequest) (*logsapi.FilterLogEventsResponse, error) {
	groupName, err := groupNameOf(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	prefix := ptr.Value(in.LogStreamNamePrefix)
	if prefix != "" && len(in.LogStreamNames) > 0 {
		return nil, errs.New(ErrInvalidParameter, "logStreamNames and logStreamNamePrefix are mutually exclusive parameters.")
	}
	pat, err := filter.Parse(ptr.Value(in.FilterPattern))
	if err != nil {
		return nil, err
	}
	limit := int(ptr.Or(in.Limit, maxGetEvents))
	var after *mergeKey
	if in.NextToken != nil {
		k, err := decodeMergeToken(*in.NextToken)
		if err != nil {
			return nil, err
		}
		after = &k
	}
	var g groupDoc
	var docs []streamDoc
	err = s.st.View(ctx, func(tx store.Tx) error {
		if g, _, err = loadGroup(tx, groupName); err != nil {
			return err
		}
		if len(in.LogStreamNames) > 0 {
			for _, n := range in.LogStreamNames {
				if d, err := loadStream(tx, g.ID, n); err == nil {
					docs = append(docs, d)
				}
			}
			return nil
		}
		items, err := tx.Scan(tblStreams, g.ID+"/"+prefix, "", 0)
		for _, it := range items {
			var d streamDoc
			if err := json.Unmarshal(it.Value, &d); err != nil {
				return err
			}
			docs = append(docs, d)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	rg := s.readRange(g, in.StartTime, in.EndTime)
	if after != nil {
		rg.Start = max(rg.Start, after.TS)
	}
	out := &logsapi.FilterLogEventsResponse{Events: []logsapi.FilteredLogEvent{}, SearchedLogStreams: []logsapi.SearchedLogStream{}}
	h := &cursorHeap{}
	for _, d := range docs {
		out.SearchedLogStreams = append(out.SearchedLogStreams, logsapi.SearchedLogStream{LogStreamName: ptr.To(d.Name), SearchedCompletely: ptr.To(true)})
		if d.Events == 0 || d.LastEvent < rg.Start || d.FirstEvent >= rg.End {
			continue
		}
		ref, err := s.ref(ctx, g.ID, d.ID)
		if err != nil {
			return nil, err
		}
		num, _ := strconv.ParseUint(d.ID, 16, 64)
		c := &cursor{doc: d, num: num, ref: ref}
		if err := c.advance(s, rg, after); err != nil {
			return nil, err
		}
		if len(c.buf) > 0 {
			heap.Push(h, c)
		}
	}
	size, scanned := 0, 0
	for h.Len() > 0 {
		c := (*h)[0]
		r := c.buf[0]
		k := c.key()
		if pat.Match(r.Message) {
			size += len(r.Message) + eventOverhead
			if len(out.Events) == limit || size > maxResponseSize && len(out.Events) > 0 {
				// Another match exists: hand out a token that resumes before it.
				out.NextToken = ptr.To(encodeMergeToken(lastKey(out, k)))
				break
			}
			out.Events = append(out.Events, logsapi.FilteredLogEvent{
				EventId:       ptr.To(fmt.Sprintf("%020d%020d%020d", c.num, r.Pos.Seg, r.Pos.Off)),
				IngestionTime: ptr.To(r.Ingestion),
				LogStreamName: ptr.To(c.doc.Name),
				Message:       ptr.To(r.Message),
				Timestamp:     ptr.To(r.Timestamp),
			})
		}
		scanned++
		c.buf = c.buf[1:]
		if err := c.fill(s, rg); err != nil {
			return nil, err
		}
		if len(c.buf) == 0 {
			heap.Pop(h)
		} else {
			heap.Fix(h, 0)
		}
		if scanned >= maxScan && h.Len() > 0 {
			out.NextToken = ptr.To(encodeMergeToken(k))
			break
		}
	}
	return out, nil
}

// advance fills the cursor and skips what a previous page already covered.
func (c *cursor) advance(s *Service, rg logstore.Range, after *mergeKey) error {
	for {
		if err := c.fill(s, rg); err != nil {
			return err
		}
		if after == nil || len(c.buf) == 0 {
			return nil
		}
		for len(c.buf) > 0 && !after.less(c.key()) {
			c.buf = c.buf[1:]
		}
		if len(c.buf) > 0 {
			return nil
		}
	}
}

// lastKey is the key of the last event returned: the next page starts
// after it. With no event returned it is just before next (cannot happen
// today: the first match always fits).
func lastKey(out *logsapi.FilterLogEventsResponse, next mergeKey) mergeKey {
	if len(out.Events) == 0 {
		next.Off--
		return next
	}
	e := out.Events[len(out.Events)-1]
	id := ptr.Value(e.EventId)
	seg, _ := strconv.ParseUint(id[20:40], 10, 64)
	off, _ := strconv.ParseInt(id[40:], 10, 64)
	return mergeKey{TS: ptr.Value(e.Timestamp), Stream: ptr.Value(e.LogStreamName), Seg: seg, Off: off}
}

func encodeMergeToken(k mergeKey) string {
	b, _ := json.Marshal(k)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeMergeToken(tok string) (mergeKey, error) {
	var k mergeKey
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || json.Unmarshal(b, &k) != nil || strings.TrimSpace(k.Stream) == "" && k.TS == 0 && k.Seg == 0 {
		return k, errs.New(ErrInvalidParameter, "The specified nextToken is invalid.")
	}
	return k, nil
}
