package logs

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"sort"
	"strconv"
	"strings"

	"github.com/wharfhq/wharf/api/logsapi"
	"github.com/wharfhq/wharf/internal/arn"
	"github.com/wharfhq/wharf/internal/errs"
	"github.com/wharfhq/wharf/internal/logs/logstore"
	"github.com/wharfhq/wharf/internal/ptr"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/wire"
)

func logstoreRef(acct, region, groupID, streamID string) logstore.Ref {
	return logstore.Ref{Account: acct, Region: region, Group: groupID, Stream: streamID}
}

// CreateLogStream creates a log stream in a group.
func (s *Service) CreateLogStream(ctx context.Context, in *logsapi.CreateLogStreamRequest) (*wire.Empty, error) {
	name := ptr.Value(in.LogStreamName)
	err := s.st.Update(ctx, func(tx store.Tx) error {
		g, _, err := loadGroup(tx, ptr.Value(in.LogGroupName))
		if err != nil {
			return err
		}
		b, err := json.Marshal(streamDoc{Name: name, ID: newID(), Created: s.nowMS()})
		if err != nil {
			return err
		}
		if _, err := tx.PutIf(tblStreams, g.ID+"/"+name, b, 0); errors.Is(err, store.ErrConflict) {
			return errs.New(ErrExists, "The specified log stream already exists")
		} else if err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &wire.Empty{}, nil
}

// DeleteLogStream deletes a stream and its events.
func (s *Service) DeleteLogStream(ctx context.Context, in *logsapi.DeleteLogStreamRequest) (*wire.Empty, error) {
	var g groupDoc
	var d streamDoc
	err := s.st.Update(ctx, func(tx store.Tx) error {
		var err error
		if g, _, err = loadGroup(tx, ptr.Value(in.LogGroupName)); err != nil {
			return err
		}
		if d, err = loadStream(tx, g.ID, ptr.Value(in.LogStreamName)); err != nil {
			return err
		}
		if err := tx.Delete(tblStreams, g.ID+"/"+d.Name); err != nil {
			return err
		}
		return s.addGroupBytes(tx, g.Name, -d.Bytes)
	})
	if err != nil {
		return nil, err
	}
	ref, err := s.ref(ctx, g.ID, d.ID)
	if err != nil {
		return nil, err
	}
	if err := s.events.DeleteStream(ref); err != nil {
		s.log.Warn("logs: delete stream events", "group", g.Name, "stream", d.Name, "err", err)
	}
	return &wire.Empty{}, nil
}

// addGroupBytes adjusts a group's storedBytes.
func (s *Service) addGroupBytes(tx store.Tx, name string, delta int64) error {
	if delta == 0 {
		return nil
	}
	g, _, err := loadGroup(tx, name)
	if err != nil {
		return err
	}
	g.Bytes = max(0, g.Bytes+delta)
	return putJSON(tx, tblGroups, name, g)
}

// DescribeLogStreams lists a group's streams by name (optionally with a
// prefix) or by last event time.
func (s *Service) DescribeLogStreams(ctx context.Context, in *logsapi.DescribeLogStreamsRequest) (*logsapi.DescribeLogStreamsResponse, error) {
	groupName, err := groupNameOf(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	prefix := ptr.Value(in.LogStreamNamePrefix)
	byTime := ptr.Value(in.OrderBy) == "LastEventTime"
	if byTime && prefix != "" {
		return nil, errs.New(ErrInvalidParameter, "Cannot order by LastEventTime with a logStreamNamePrefix.")
	}
	desc := ptr.Value(in.Descending)
	limit := int(ptr.Or(in.Limit, 50))
	offset, err := decodeOffsetToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	var docs []streamDoc
	err = s.st.View(ctx, func(tx store.Tx) error {
		g, _, err := loadGroup(tx, groupName)
		if err != nil {
			return err
		}
		items, err := tx.Scan(tblStreams, g.ID+"/"+prefix, "", 0)
		if err != nil {
			return err
		}
		docs = make([]streamDoc, 0, len(items))
		for _, it := range items {
			var d streamDoc
			if err := json.Unmarshal(it.Value, &d); err != nil {
				return err
			}
			docs = append(docs, d)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if byTime {
		sort.SliceStable(docs, func(i, j int) bool {
			if docs[i].LastEvent != docs[j].LastEvent {
				return docs[i].LastEvent < docs[j].LastEvent
			}
			return docs[i].Name < docs[j].Name
		})
	}
	if desc {
		for i, j := 0, len(docs)-1; i < j; i, j = i+1, j-1 {
			docs[i], docs[j] = docs[j], docs[i]
		}
	}
	out := &logsapi.DescribeLogStreamsResponse{LogStreams: []logsapi.LogStream{}}
	if offset > len(docs) {
		offset = len(docs)
	}
	end := min(offset+limit, len(docs))
	for _, d := range docs[offset:end] {
		out.LogStreams = append(out.LogStreams, streamOut(ctx, groupName, d))
	}
	if end < len(docs) {
		out.NextToken = ptr.To(base64.RawURLEncoding.EncodeToString([]byte("o/" + strconv.Itoa(end))))
	}
	return out, nil
}

func decodeOffsetToken(tok *string) (int, error) {
	if tok == nil {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(*tok)
	if err == nil && strings.HasPrefix(string(b), "o/") {
		if n, err := strconv.Atoi(string(b[2:])); err == nil && n >= 0 {
			return n, nil
		}
	}
	return 0, errs.New(ErrInvalidParameter, "The specified nextToken is invalid.")
}

func streamOut(ctx context.Context, group string, d streamDoc) logsapi.LogStream {
	a, _ := arn.Regional(ctx, "logs", "log-group:"+group+":log-stream:"+d.Name)
	out := logsapi.LogStream{
		Arn:                 ptr.To(a),
		CreationTime:        ptr.To(d.Created),
		LogStreamName:       ptr.To(d.Name),
		StoredBytes:         ptr.To(d.Bytes),
		UploadSequenceToken: ptr.To(sequenceToken(d.Events)),
	}
	if d.Events > 0 {
		out.FirstEventTimestamp = ptr.To(d.FirstEvent)
		out.LastEventTimestamp = ptr.To(d.LastEvent)
		out.LastIngestionTime = ptr.To(d.LastIngest)
	}
	return out
}

// sequenceToken is the (ignored) sequence token the API still hands out.
func sequenceToken(n int64) string { return strconv.FormatInt(49_000_000_000+n, 10) }
