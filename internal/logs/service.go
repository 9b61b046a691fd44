// Package logs is Wharf's Amazon CloudWatch Logs API (awsJson 1.1): log
// groups and streams, PutLogEvents, GetLogEvents, FilterLogEvents with
// CloudWatch's filter pattern language (package logs/filter), retention
// and tags.
//
// Metadata (groups, streams, retention, tags, per-stream counters) lives in
// the state store; events live in an append-only segment store on disk
// (package logs/logstore), keyed by group and stream ids so a deleted and
// recreated group starts empty. See docs/logs.md.
package logs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/wharfhq/wharf/internal/arn"
	"github.com/wharfhq/wharf/internal/errs"
	"github.com/wharfhq/wharf/internal/logs/filter"
	"github.com/wharfhq/wharf/internal/logs/logstore"
	"github.com/wharfhq/wharf/internal/ptr"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/tenancy"
)

// Domain errors, answered with the error shapes of the logs model.
var (
	// ErrNotFound: the group or stream does not exist.
	ErrNotFound = errors.New("logs: resource not found")
	// ErrExists: the group or stream already exists.
	ErrExists = errors.New("logs: resource already exists")
	// ErrInvalidParameter: a request CloudWatch Logs refuses as invalid.
	ErrInvalidParameter = errors.New("logs: invalid parameter")
	// ErrLimitExceeded: a quota (tags per group…) would be exceeded.
	ErrLimitExceeded = errors.New("logs: limit exceeded")
)

// ErrorTable maps the domain errors to the logs model's error shapes.
var ErrorTable = errs.Table{
	{Kind: ErrNotFound, Code: "ResourceNotFoundException"},
	{Kind: ErrExists, Code: "ResourceAlreadyExistsException"},
	{Kind: ErrInvalidParameter, Code: "InvalidParameterException"},
	{Kind: filter.ErrInvalid, Code: "InvalidParameterException"},
	{Kind: ErrLimitExceeded, Code: "LimitExceededException"},
}

// Tables.
var (
	// tblGroups: key group name → groupDoc.
	tblGroups = store.Table{Name: "logs-groups", Scope: store.Regional}
	// tblStreams: key "<group id>/<stream name>" → streamDoc.
	tblStreams = store.Table{Name: "logs-streams", Scope: store.Regional}
	// tblRetention: key "<account>/<region>/<group name>" → retentionDoc,
	// the groups the retention sweep visits.
	tblRetention = store.Table{Name: "logs-retention", Scope: store.System}
)

type groupDoc struct {
	Name               string            `json:"name"`
	ID                 string            `json:"id"`
	Created            int64             `json:"created"`
	RetentionDays      int32             `json:"retentionDays,omitempty"`
	KMSKeyID           string            `json:"kmsKeyId,omitempty"`
	Class              string            `json:"class"`
	DeletionProtection bool              `json:"deletionProtection,omitempty"`
	Tags               map[string]string `json:"tags,omitempty"`
	Bytes              int64             `json:"bytes"`
}

type streamDoc struct {
	Name       string `json:"name"`
	ID         string `json:"id"`
	Created    int64  `json:"created"`
	FirstEvent int64  `json:"firstEvent,omitempty"`
	LastEvent  int64  `json:"lastEvent,omitempty"`
	LastIngest int64  `json:"lastIngest,omitempty"`
	Bytes      int64  `json:"bytes"`
	Events     int64  `json:"events"`
}

type retentionDoc struct {
	Account string `json:"account"`
	Region  string `json:"region"`
	Group   string `json:"group"`
	GroupID string `json:"groupId"`
	Days    int32  `json:"days"`
}

// Options configure a Service.
type Options struct {
	Store  store.Store
	Events *logstore.Store
	Now    func() time.Time
	Logger *slog.Logger
}

// Service implements the CloudWatch Logs operations.
type Service struct {
	st     store.Store
	events *logstore.Store
	now    func() time.Time
	log    *slog.Logger
	ingest ingestCounts // for Prometheus (prom.go)
}

// New returns the service.
func New(opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{st: opts.Store, events: opts.Events, now: opts.Now, log: opts.Logger}
}

func (s *Service) nowMS() int64 { return s.now().UnixMilli() }

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func tenant(ctx context.Context) (acct, region string, err error) {
	if acct, err = tenancy.Account(ctx); err != nil {
		return "", "", err
	}
	region, err = tenancy.Region(ctx)
	return acct, region, err
}

func (s *Service) ref(ctx context.Context, groupID, streamID string) (logstore.Ref, error) {
	acct, region, err := tenant(ctx)
	return logstore.Ref{Account: acct, Region: region, Group: groupID, Stream: streamID}, err
}

// GroupARN is the ARN of a log group as DescribeLogGroups' "arn" gives it
// (with the trailing ":*" IAM policies use).
func GroupARN(ctx context.Context, name string) string {
	a, err := arn.Regional(ctx, "logs", "log-group:"+name+":*")
	if err != nil {
		return ""
	}
	return a
}

func groupARNNoStar(ctx context.Context, name string) string {
	return strings.TrimSuffix(GroupARN(ctx, name), ":*")
}

// groupNameOf resolves a logGroupName or logGroupIdentifier (a name or an
// ARN) to a name.
func groupNameOf(name, ident *string) (string, error) {
	n, id := ptr.Value(name), ptr.Value(ident)
	switch {
	case n != "" && id != "":
		return "", errs.New(ErrInvalidParameter, "LogGroup name and LogGroup ARN are mutually exclusive parameters.")
	case n != "":
		return n, nil
	case id == "":
		return "", errs.New(ErrInvalidParameter, "Either LogGroupName or LogGroupIdentifier must be provided.")
	case strings.HasPrefix(id, "arn:"):
		a, err := arn.Parse(id)
		if err != nil || !strings.HasPrefix(a.Resource, "log-group:") {
			return "", errs.New(ErrInvalidParameter, "Invalid LogGroupIdentifier %s.", id)
		}
		return strings.TrimSuffix(strings.TrimPrefix(a.Resource, "log-group:"), ":*"), nil
	}
	return id, nil
}

// ResourceARN names the resource an operation acts on, for IAM:
// arn:aws:logs:REGION:ACCOUNT:log-group:NAME:* for group operations,
// …:log-group:NAME:log-stream:STREAM for PutLogEvents, GetLogEvents and
// DeleteLogStream, log-group:* for calls that name no group.
func ResourceARN(ctx context.Context, op string, in map[string]any) string {
	str := func(k string) string { v, _ := in[k].(string); return v }
	if a := str("resourceArn"); a != "" {
		if !strings.HasSuffix(a, ":*") && strings.Contains(a, ":log-group:") && !strings.Contains(a, ":log-stream:") {
			a += ":*"
		}
		return a
	}
	name := str("logGroupName")
	if id := str("logGroupIdentifier"); name == "" && id != "" {
		if strings.HasPrefix(id, "arn:") {
			if strings.HasSuffix(id, ":*") {
				return id
			}
			return id + ":*"
		}
		name = id
	}
	if name == "" {
		a, err := arn.Regional(ctx, "logs", "log-group:*")
		if err != nil {
			return "*"
		}
		return a
	}
	// Operations on one stream act on the log-stream resource, which a
	// policy on "log-group:NAME:*" covers.
	if stream := str("logStreamName"); stream != "" && streamOps[op] {
		if a, err := arn.Regional(ctx, "logs", "log-group:"+name+":log-stream:"+stream); err == nil {
			return a
		}
	}
	return GroupARN(ctx, name)
}

// streamOps act on a log-stream resource (the service authorization
// reference's resource type for them).
var streamOps = map[string]bool{"PutLogEvents": true, "GetLogEvents": true, "DeleteLogStream": true}

func loadGroup(tx store.Tx, name string) (groupDoc, int64, error) {
	it, err := tx.Get(tblGroups, name)
	if errors.Is(err, store.ErrNotFound) {
		return groupDoc{}, 0, errs.New(ErrNotFound, "The specified log group does not exist.")
	}
	if err != nil {
		return groupDoc{}, 0, err
	}
	var g groupDoc
	if err := json.Unmarshal(it.Value, &g); err != nil {
		return groupDoc{}, 0, fmt.Errorf("logs: decode group %s: %w", name, err)
	}
	return g, it.Revision, nil
}

func loadStream(tx store.Tx, groupID, name string) (streamDoc, error) {
	it, err := tx.Get(tblStreams, groupID+"/"+name)
	if errors.Is(err, store.ErrNotFound) {
		return streamDoc{}, errs.New(ErrNotFound, "The specified log stream does not exist.")
	}
	if err != nil {
		return streamDoc{}, err
	}
	var d streamDoc
	if err := json.Unmarshal(it.Value, &d); err != nil {
		return streamDoc{}, fmt.Errorf("logs: decode stream %s: %w", name, err)
	}
	return d, nil
}

func putJSON(tx store.Tx, t store.Table, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = tx.Put(t, key, b)
	return err
}
