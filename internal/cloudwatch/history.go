package cloudwatch

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"time"

	"github.com/wharfhq/wharf/api/cloudwatchapi"
	"github.com/wharfhq/wharf/internal/errs"
	"github.com/wharfhq/wharf/internal/store"
)

func encodeToken(after string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(after))
}

func decodeToken(tok string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) == 0 {
		return "", errs.New(ErrInvalidNextToken, "The service couldn't process your request because the NextToken is invalid.")
	}
	return string(b), nil
}

// DescribeAlarmHistory returns history items (newest first unless ScanBy
// is TimestampAscending) of one alarm or all, by type and time range.
func (s *Service) DescribeAlarmHistory(ctx context.Context, in *cloudwatchapi.DescribeAlarmHistoryInput) (*cloudwatchapi.DescribeAlarmHistoryOutput, error) {
	limit := int(deref(in.MaxRecords))
	if limit == 0 {
		limit = 100
	}
	asc := deref(in.ScanBy) == "TimestampAscending"
	after := ""
	if in.NextToken != nil {
		var err error
		if after, err = decodeToken(*in.NextToken); err != nil {
			return nil, err
		}
	}
	if len(in.AlarmTypes) > 0 {
		metric := false
		for _, t := range in.AlarmTypes {
			metric = metric || t == "MetricAlarm"
		}
		if !metric {
			return &cloudwatchapi.DescribeAlarmHistoryOutput{AlarmHistoryItems: []cloudwatchapi.AlarmHistoryItem{}}, nil
		}
	}
	var items []store.Item
	if err := s.st.View(ctx, func(tx store.Tx) (err error) {
		items, err = tx.Scan(tblCW, "history/", "", 0)
		return err
	}); err != nil {
		return nil, err
	}
	if !asc {
		for i, j := 0, len(items)-1; i < j; i, j = i+1, j-1 {
			items[i], items[j] = items[j], items[i]
		}
	}
	out := &cloudwatchapi.DescribeAlarmHistoryOutput{AlarmHistoryItems: []cloudwatchapi.AlarmHistoryItem{}}
	started := after == ""
	lastKey := ""
	for _, it := range items {
		if !started {
			started = it.Key == after
			continue
		}
		var h historyDoc
		if err := json.Unmarshal(it.Value, &h); err != nil {
			continue
		}
		x := h.Item
		if in.AlarmName != nil && deref(x.AlarmName) != *in.AlarmName {
			continue
		}
		if in.HistoryItemType != nil && deref(x.HistoryItemType) != *in.HistoryItemType {
			continue
		}
		ts := deref(x.Timestamp)
		if (in.StartDate != nil && ts.Before(*in.StartDate)) || (in.EndDate != nil && !ts.Before(*in.EndDate)) {
			continue
		}
		if len(out.AlarmHistoryItems) == limit {
			tok := encodeToken(lastKey)
			out.NextToken = &tok
			break
		}
		out.AlarmHistoryItems = append(out.AlarmHistoryItems, x)
		lastKey = it.Key
	}
	if !started {
		return nil, errs.New(ErrInvalidNextToken, "The service couldn't process your request because the NextToken is invalid.")
	}
	return out, nil
}

// sweepHistory deletes history older than CloudWatch's 30 days.
func sweepHistory(tx store.Tx, now time.Time) (int, error) {
	return tx.DeleteRange(tblCW, "history/", historyKey(now.Add(-historyRetention)))
}
