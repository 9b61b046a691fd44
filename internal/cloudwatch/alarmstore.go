package cloudwatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/wharfhq/wharf/api/cloudwatchapi"
	"github.com/wharfhq/wharf/internal/arn"
	"github.com/wharfhq/wharf/internal/errs"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/tenancy"
)

// State store layout (table "cloudwatch", regional):
//
//	alarm/<name>                            an alarm (alarmDoc)
//	history/<unix nanos, 20 digits>/<seq>   an alarm history item (historyDoc)
//
// and table "cloudwatch-tenants" (system): "<account>/<region>" for every
// tenant that ever had an alarm, so the evaluation loop can find them.
var (
	tblCW = store.Table{Name: "cloudwatch", Scope: store.Regional}
)

// historyRetention is how long alarm history is kept, as CloudWatch.
const historyRetention = 30 * 24 * time.Hour

// alarmDoc is a stored alarm: the API's view plus its tags.
type alarmDoc struct {
	Alarm cloudwatchapi.MetricAlarm
	Tags  []cloudwatchapi.Tag
}

type historyDoc struct {
	Item cloudwatchapi.AlarmHistoryItem
}

var historySeq atomic.Uint64

func alarmKey(name string) string { return "alarm/" + name }

func historyKey(t time.Time) string {
	return fmt.Sprintf("history/%020d/%012d", t.UnixNano(), historySeq.Add(1))
}

func alarmARN(ctx context.Context, name string) (string, error) {
	return arn.Regional(ctx, "cloudwatch", "alarm:"+name)
}

func getAlarm(tx store.Tx, name string) (*alarmDoc, int64, error) {
	it, err := tx.Get(tblCW, alarmKey(name))
	if errors.Is(err, store.ErrNotFound) {
		return nil, 0, errs.New(ErrResourceNotFound, "Alarm %s not found", name)
	}
	if err != nil {
		return nil, 0, err
	}
	var d alarmDoc
	if err := json.Unmarshal(it.Value, &d); err != nil {
		return nil, 0, fmt.Errorf("cloudwatch: decode alarm %s: %w", name, err)
	}
	return &d, it.Revision, nil
}

func putAlarm(tx store.Tx, d *alarmDoc, rev int64) error {
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	_, err = tx.PutIf(tblCW, alarmKey(*d.Alarm.AlarmName), b, rev)
	return err
}

func listAlarms(tx store.Tx, prefix string) ([]*alarmDoc, error) {
	items, err := tx.Scan(tblCW, "alarm/"+prefix, "", 0)
	if err != nil {
		return nil, err
	}
	out := make([]*alarmDoc, 0, len(items))
	for _, it := range items {
		var d alarmDoc
		if err := json.Unmarshal(it.Value, &d); err != nil {
			return nil, fmt.Errorf("cloudwatch: decode %s: %w", it.Key, err)
		}
		out = append(out, &d)
	}
	return out, nil
}

func addHistory(tx store.Tx, item cloudwatchapi.AlarmHistoryItem) error {
	b, err := json.Marshal(historyDoc{Item: item})
	if err != nil {
		return err
	}
	_, err = tx.Put(tblCW, historyKey(*item.Timestamp), b)
	return err
}

func historyItem(name, typ, summary, data string, t time.Time) cloudwatchapi.AlarmHistoryItem {
	t = t.UTC()
	at := "MetricAlarm"
	return cloudwatchapi.AlarmHistoryItem{AlarmName: &name, AlarmType: &at, HistoryItemType: &typ,
		HistorySummary: &summary, HistoryData: &data, Timestamp: &t}
}

// tenants lists the tenants with state here, for the background loop.
var tenants = tenancy.NewIndex("cloudwatch-tenants")
