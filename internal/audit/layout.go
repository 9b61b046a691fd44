package audit

// Persistent layout of the audit log (layout version 1).
//
// Tables:
//
//	audit.events         AccountWide  key = <inverted time>/<event id>  value = record (JSON)
//	audit.events.system  System       same keys and values, for events with no account
//	audit.accounts       System       key = account id                  value = {}
//
//   - <inverted time> is math.MaxInt64 minus the event's Unix time in
//     nanoseconds, zero-padded to 19 digits. Keys are therefore ordered by
//     time, newest first: store.Tx.Scan only walks keys upwards, and
//     LookupEvents answers newest first, so a page is one forward scan from
//     the end of the time range, and a NextToken is the last key returned.
//     A time range [start, end] is the key range
//     [pad(inv(end)), pad(inv(start))] + "/…", and retention (events before
//     cutoff) is the one range [pad(inv(cutoff)+1), "~") for DeleteRange.
//     Times before 1970 are stored as 1970, times after 2262 as 2262.
//   - Events of one account live in that account's rows of audit.events,
//     so a transaction opened for account A can never read B's events.
//     Events refused before the caller was known (no account) go to
//     audit.events.system, which LookupEvents never reads.
//   - audit.accounts lists the accounts that have events, so the retention
//     sweep can visit every account (the store has no "list tenants"). An
//     account is added in the transaction that writes its first events and
//     removed by the sweep once it has no events left.
//   - record is the JSON of type record below; "v" is the layout version
//     and readers refuse a version they do not know. To change the layout,
//     bump recordVersion and keep reading the old one (or migrate).

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/wharfhq/wharf/internal/principal"
	"github.com/wharfhq/wharf/internal/store"
)

var (
	eventsTable       = store.Table{Name: "audit.events", Scope: store.AccountWide}
	systemEventsTable = store.Table{Name: "audit.events.system", Scope: store.System}
	accountsTable     = store.Table{Name: "audit.accounts", Scope: store.System}
)

const (
	recordVersion = 1
	timeDigits    = 19  // len of math.MaxInt64 in decimal
	keysEnd       = "~" // sorts after every key (keys start with a digit)
)

var (
	minKeyTime = time.Unix(0, 0)
	maxKeyTime = time.Unix(0, math.MaxInt64)
)

// invNanos maps t to its inverted, clamped Unix nanoseconds: later times
// give smaller numbers.
func invNanos(t time.Time) int64 {
	switch {
	case t.Before(minKeyTime):
		return math.MaxInt64
	case t.After(maxKeyTime):
		return 0
	}
	return math.MaxInt64 - t.UnixNano()
}

// timeBound is the key prefix of every event at exactly time t; it sorts
// before all of them and after every event later than t.
func timeBound(t time.Time) string { return pad(invNanos(t)) }

func pad(n int64) string { return fmt.Sprintf("%0*d", timeDigits, n) }

// eventKey is the key of the event with id at time t.
func eventKey(t time.Time, id string) string { return timeBound(t) + "/" + id }

// parseKey returns the inverted time of an event key, or false when key
// is not one.
func parseKey(key string) (int64, bool) {
	if len(key) < timeDigits+2 || key[timeDigits] != '/' {
		return 0, false
	}
	for i := range timeDigits {
		if key[i] < '0' || key[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(key[:timeDigits], 10, 64)
	if err != nil {
		return 0, false
	}
	return n, true
}

// record is the stored form of an Event.
type record struct {
	V            int             `json:"v"`
	ID           string          `json:"id"`
	Time         time.Time       `json:"time"`
	Account      string          `json:"account,omitempty"`
	Region       string          `json:"region,omitempty"`
	Source       string          `json:"source"`
	Name         string          `json:"name"`
	ReadOnly     bool            `json:"readOnly"`
	Principal    *recPrincipal   `json:"principal,omitempty"`
	UserName     string          `json:"userName,omitempty"` // as LookupEvents reports it
	AccessKeyID  string          `json:"accessKeyId,omitempty"`
	SourceIP     string          `json:"sourceIp,omitempty"`
	UserAgent    string          `json:"userAgent,omitempty"`
	RequestID    string          `json:"requestId,omitempty"`
	Params       json.RawMessage `json:"params,omitempty"`
	ErrorCode    string          `json:"errorCode,omitempty"`
	ErrorMessage string          `json:"errorMessage,omitempty"`
	Resources    []Resource      `json:"resources,omitempty"`
}

// recPrincipal is the stored identity: principal.Principal without its
// session policy, which is not the audit log's business.
type recPrincipal struct {
	Kind        principal.Kind `json:"kind"`
	Account     string         `json:"account,omitempty"`
	ARN         string         `json:"arn,omitempty"`
	UserID      string         `json:"userId,omitempty"`
	Name        string         `json:"name,omitempty"`
	SessionName string         `json:"sessionName,omitempty"`
	RoleARN     string         `json:"roleArn,omitempty"`
	AccessKeyID string         `json:"accessKeyId,omitempty"`
}

// newRecord normalises ev (ID, Account and AccessKeyID filled in, time in
// UTC) into its stored form. ev.ID and ev.Time must be set.
func newRecord(ev *Event) (record, error) {
	r := record{
		V:            recordVersion,
		ID:           ev.ID,
		Time:         ev.Time.UTC(),
		Account:      ev.Account,
		Region:       ev.Region,
		Source:       ev.EventSource,
		Name:         ev.EventName,
		ReadOnly:     ev.ReadOnly,
		UserName:     userName(ev.Principal),
		AccessKeyID:  ev.AccessKeyID,
		SourceIP:     ev.SourceIP,
		UserAgent:    ev.UserAgent,
		RequestID:    ev.RequestID,
		ErrorCode:    ev.ErrorCode,
		ErrorMessage: ev.ErrorMessage,
		Resources:    ev.Resources,
	}
	if p := ev.Principal; p != nil {
		r.Principal = &recPrincipal{
			Kind: p.Kind, Account: p.Account, ARN: p.ARN, UserID: p.UserID, Name: p.Name,
			SessionName: p.SessionName, RoleARN: p.RoleARN, AccessKeyID: p.AccessKeyID,
		}
		if r.Account == "" {
			r.Account = p.Account
		}
		if r.AccessKeyID == "" {
			r.AccessKeyID = p.AccessKeyID
		}
	}
	if ev.RequestParameters != nil {
		b, err := json.Marshal(ev.RequestParameters)
		if err != nil {
			// The event is still worth keeping without its parameters.
			return r, fmt.Errorf("audit: encode request parameters of %s: %w", ev.EventName, err)
		}
		r.Params = b
	}
	return r, nil
}

func decodeRecord(b []byte) (record, error) {
	var r record
	if err := json.Unmarshal(b, &r); err != nil {
		return record{}, fmt.Errorf("audit: decode event: %w", err)
	}
	if r.V != recordVersion {
		return record{}, fmt.Errorf("audit: event %s has layout version %d, want %d", r.ID, r.V, recordVersion)
	}
	return r, nil
}
