package audit

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/wharfhq/wharf/api/cloudtrailapi"
	"github.com/wharfhq/wharf/internal/errs"
	"github.com/wharfhq/wharf/internal/ptr"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/tenancy"
)

// Error kinds of LookupEvents; ErrorTable maps them to CloudTrail's codes.
var (
	ErrInvalidLookupAttributes = errors.New("audit: invalid lookup attributes")
	ErrInvalidTimeRange        = errors.New("audit: invalid time range")
	ErrInvalidMaxResults       = errors.New("audit: invalid max results")
	ErrInvalidNextToken        = errors.New("audit: invalid next token")
	ErrInvalidEventCategory    = errors.New("audit: invalid event category")
)

// ErrorTable maps the errors of Service to CloudTrail's error shapes.
var ErrorTable = errs.Table{
	{Kind: ErrInvalidLookupAttributes, Code: "InvalidLookupAttributesException"},
	{Kind: ErrInvalidTimeRange, Code: "InvalidTimeRangeException"},
	{Kind: ErrInvalidMaxResults, Code: "InvalidMaxResultsException"},
	{Kind: ErrInvalidNextToken, Code: "InvalidNextTokenException"},
	{Kind: ErrInvalidEventCategory, Code: "InvalidEventCategoryException"},
}

const (
	// DefaultLookback is the time range LookupEvents searches when the
	// request gives no StartTime: CloudTrail's event history window.
	DefaultLookback = 90 * 24 * time.Hour

	defaultMaxResults = 50
	maxMaxResults     = 50
	// maxScanned bounds the events one LookupEvents call reads. A
	// selective filter over a long range may then answer fewer events than
	// MaxResults, or none, with a NextToken to continue — as CloudTrail
	// itself does.
	maxScanned = 10000
)

// Service serves CloudTrail's LookupEvents from the audit log. The account
// comes from the context; when the context carries a region, only that
// region's events are returned (CloudTrail's event history is regional).
type Service struct {
	st  store.Store
	now func() time.Time
	// budget is how many events one call may read (maxScanned; tests
	// lower it).
	budget int
}

var _ cloudtrailapi.LookupEventsAPI = (*Service)(nil)

// ServiceOptions configure a Service. Zero values take the defaults.
type ServiceOptions struct {
	// Now is the clock for the default time range (default time.Now).
	Now func() time.Time
}

// NewService returns the CloudTrail service over st.
func NewService(st store.Store, opts ServiceOptions) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Service{st: st, now: opts.Now, budget: maxScanned}
}

// query is a validated LookupEvents request.
type query struct {
	attrKey, attrValue string
	start, end         time.Time
	limit              int
	after              string // scan position: the last key already returned
	region             string
}

// LookupEvents returns the account's events in the time range, newest
// first, matching at most one lookup attribute.
func (s *Service) LookupEvents(ctx context.Context, in *cloudtrailapi.LookupEventsRequest) (*cloudtrailapi.LookupEventsResponse, error) {
	account, err := tenancy.Account(ctx)
	if err != nil {
		return nil, err
	}
	region, _ := tenancy.Region(ctx) // optional: no region, every region
	q, err := s.parse(in, account, region)
	if err != nil {
		return nil, err
	}
	out := &cloudtrailapi.LookupEventsResponse{Events: []cloudtrailapi.Event{}}
	if in.EventCategory != nil {
		return out, nil // insight: Wharf records no Insights events
	}
	if q.start.After(q.end) {
		return out, nil // a default bound crossed an explicit one: nothing
	}
	var recs []record
	var next string
	err = s.st.View(ctx, func(tx store.Tx) error {
		var err error
		recs, next, err = scan(tx, q, s.budget)
		return err
	})
	if err != nil {
		return nil, err
	}
	for i := range recs {
		ev, err := lookupEvent(&recs[i])
		if err != nil {
			return nil, err
		}
		out.Events = append(out.Events, ev)
	}
	if next != "" {
		out.NextToken = ptr.To(encodeToken(next, fingerprint(in, account, region)))
	}
	return out, nil
}

// parse validates in and resolves its defaults.
func (s *Service) parse(in *cloudtrailapi.LookupEventsRequest, account, region string) (query, error) {
	q := query{limit: defaultMaxResults, region: region}
	if len(in.LookupAttributes) > 1 {
		return q, errs.New(ErrInvalidLookupAttributes, "You can specify only one lookup attribute; %d were specified.", len(in.LookupAttributes))
	}
	if len(in.LookupAttributes) == 1 {
		a := in.LookupAttributes[0]
		q.attrKey, q.attrValue = ptr.Value(a.AttributeKey), ptr.Value(a.AttributeValue)
		switch q.attrKey {
		case cloudtrailapi.LookupAttributeKeyEventId, cloudtrailapi.LookupAttributeKeyEventName,
			cloudtrailapi.LookupAttributeKeyUsername, cloudtrailapi.LookupAttributeKeyResourceType,
			cloudtrailapi.LookupAttributeKeyResourceName, cloudtrailapi.LookupAttributeKeyEventSource,
			cloudtrailapi.LookupAttributeKeyAccessKeyId:
		case cloudtrailapi.LookupAttributeKeyReadOnly:
			v := strings.ToLower(q.attrValue)
			if v != "true" && v != "false" {
				return q, errs.New(ErrInvalidLookupAttributes, "Lookup attribute value is not valid: ReadOnly must be true or false.")
			}
			q.attrValue = v
		default:
			return q, errs.New(ErrInvalidLookupAttributes, "Lookup attribute key is not valid.")
		}
		if q.attrValue == "" {
			return q, errs.New(ErrInvalidLookupAttributes, "Lookup attribute value is not valid.")
		}
	}
	if c := in.EventCategory; c != nil && *c != cloudtrailapi.EventCategoryInsight {
		return q, errs.New(ErrInvalidEventCategory, "The event category %s is not valid.", *c)
	}
	if in.StartTime != nil && in.EndTime != nil && in.StartTime.After(*in.EndTime) {
		return q, errs.New(ErrInvalidTimeRange, "Start time must not be after end time.")
	}
	now := s.now()
	q.end = ptr.Or(in.EndTime, now)
	q.start = ptr.Or(in.StartTime, now.Add(-DefaultLookback))
	if in.MaxResults != nil {
		n := *in.MaxResults
		if n < 1 || n > maxMaxResults {
			return q, errs.New(ErrInvalidMaxResults, "A max results value of %d is invalid. Specify max results between 1 and %d.", n, maxMaxResults)
		}
		q.limit = int(n)
	}
	if in.NextToken != nil {
		key, ok := decodeToken(*in.NextToken, fingerprint(in, account, region))
		if !ok {
			return q, errs.New(ErrInvalidNextToken, "Invalid NextToken: it is malformed or was returned for different request parameters.")
		}
		q.after = key
	}
	return q, nil
}

// scan reads one page: up to q.limit matching events after q.after within
// [q.start, q.end], newest first, and the key to continue from ("" when
// the range is exhausted). It stops early, with a key, once it has read
// budget events.
func scan(tx store.Tx, q query, budget int) ([]record, string, error) {
	last := invNanos(q.start) // keys with a larger time number are older than start
	after := q.after
	if after == "" || after < timeBound(q.end) {
		after = timeBound(q.end)
	}
	var out []record
	var outKeys []string
	chunk := q.limit + 1
	scanned := 0
	for {
		items, err := tx.Scan(eventsTable, "", after, chunk)
		if err != nil {
			return nil, "", err
		}
		for _, it := range items {
			n, ok := parseKey(it.Key)
			if !ok {
				return nil, "", fmt.Errorf("audit: malformed event key %q", it.Key)
			}
			if n > last {
				return out, "", nil // past the start of the range
			}
			scanned++
			after = it.Key
			rec, err := decodeRecord(it.Value)
			if err != nil {
				return nil, "", err
			}
			if !q.matches(&rec) {
				continue
			}
			if len(out) == q.limit {
				// One more match exists: the page is full and continues
				// after its last event.
				return out, outKeys[len(outKeys)-1], nil
			}
			out = append(out, rec)
			outKeys = append(outKeys, it.Key)
		}
		if len(items) < chunk {
			return out, "", nil
		}
		if scanned >= budget {
			return out, after, nil
		}
		chunk = min(chunk*2, 1000)
	}
}

func (q *query) matches(r *record) bool {
	if q.region != "" && r.Region != "" && r.Region != q.region {
		return false
	}
	v := q.attrValue
	switch q.attrKey {
	case "":
		return true
	case cloudtrailapi.LookupAttributeKeyEventId:
		return r.ID == v
	case cloudtrailapi.LookupAttributeKeyEventName:
		return r.Name == v
	case cloudtrailapi.LookupAttributeKeyReadOnly:
		return strconv.FormatBool(r.ReadOnly) == v
	case cloudtrailapi.LookupAttributeKeyUsername:
		return r.UserName == v
	case cloudtrailapi.LookupAttributeKeyEventSource:
		return r.Source == v
	case cloudtrailapi.LookupAttributeKeyAccessKeyId:
		return r.AccessKeyID == v
	case cloudtrailapi.LookupAttributeKeyResourceType:
		for _, res := range r.Resources {
			if res.Type == v {
				return true
			}
		}
	case cloudtrailapi.LookupAttributeKeyResourceName:
		for _, res := range r.Resources {
			if res.Name == v {
				return true
			}
		}
	}
	return false
}

func lookupEvent(r *record) (cloudtrailapi.Event, error) {
	ct, err := cloudTrailJSON(r)
	if err != nil {
		return cloudtrailapi.Event{}, fmt.Errorf("audit: render event %s: %w", r.ID, err)
	}
	ev := cloudtrailapi.Event{
		EventId:         ptr.To(r.ID),
		EventName:       ptr.To(r.Name),
		EventSource:     ptr.To(r.Source),
		EventTime:       ptr.To(r.Time),
		ReadOnly:        ptr.To(strconv.FormatBool(r.ReadOnly)),
		CloudTrailEvent: ptr.To(ct),
		Resources:       make([]cloudtrailapi.Resource, 0, len(r.Resources)),
	}
	if r.AccessKeyID != "" {
		ev.AccessKeyId = ptr.To(r.AccessKeyID)
	}
	if r.UserName != "" {
		ev.Username = ptr.To(r.UserName)
	}
	for _, res := range r.Resources {
		ev.Resources = append(ev.Resources, cloudtrailapi.Resource{ResourceType: ptr.To(res.Type), ResourceName: ptr.To(res.Name)})
	}
	return ev, nil
}

// A NextToken is base64url(JSON {v, k, q}): the token version, the last
// key returned, and a fingerprint of the request parameters and tenant it
// was issued for. CloudTrail requires the same parameters with a token, so
// a token presented with others, or for another tenant, is refused.
type token struct {
	V int    `json:"v"`
	K string `json:"k"`
	Q string `json:"q"`
}

const tokenVersion = 1

func encodeToken(key, fp string) string {
	b, _ := json.Marshal(token{V: tokenVersion, K: key, Q: fp})
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeToken returns the key of a token issued for fingerprint fp.
func decodeToken(s, fp string) (string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return "", false
	}
	var t token
	if err := json.Unmarshal(b, &t); err != nil || t.V != tokenVersion || t.Q != fp {
		return "", false
	}
	if _, ok := parseKey(t.K); !ok {
		return "", false
	}
	return t.K, true
}

// fingerprint identifies the parameters a NextToken is bound to: the
// tenant, the lookup attribute, the time range and the category as the
// caller gave them (MaxResults may change between pages).
func fingerprint(in *cloudtrailapi.LookupEventsRequest, account, region string) string {
	h := sha256.New()
	field := func(s string) { fmt.Fprintf(h, "%d:%s;", len(s), s) }
	tm := func(t *time.Time) {
		if t == nil {
			field("-")
			return
		}
		field(strconv.FormatInt(t.UnixNano(), 10))
	}
	field(account)
	field(region)
	for _, a := range in.LookupAttributes {
		field(ptr.Value(a.AttributeKey))
		field(ptr.Value(a.AttributeValue))
	}
	tm(in.StartTime)
	tm(in.EndTime)
	field(ptr.Value(in.EventCategory))
	return hex.EncodeToString(h.Sum(nil)[:12])
}
