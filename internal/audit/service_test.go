package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api/cloudtrailapi"
	"github.com/wharfhq/wharf/internal/errs"
	"github.com/wharfhq/wharf/internal/ptr"
	"github.com/wharfhq/wharf/internal/tenancy"
)

func attr(key, value string) []cloudtrailapi.LookupAttribute {
	return []cloudtrailapi.LookupAttribute{{AttributeKey: ptr.To(key), AttributeValue: ptr.To(value)}}
}

func TestLookupByAttribute(t *testing.T) {
	h := newHarness(t, Options{})
	m := func(n int) time.Time { return t0.Add(-time.Duration(n) * time.Minute) }

	e1 := call("e1", m(4), alice(), "iam.amazonaws.com", "CreateUser")
	e1.Resources = []Resource{{Type: "AWS::IAM::User", Name: "bob"}}
	e2 := call("e2", m(3), deployer(), "ecs.amazonaws.com", "ListClusters")
	e3 := call("e3", m(2), rootOf(acctA), "sts.amazonaws.com", "GetCallerIdentity")
	e4 := call("e4", m(1), alice(), "ecr.amazonaws.com", "DeleteRepository")
	e4.Resources = []Resource{{Type: "AWS::ECR::Repository", Name: "app"}, {Type: "AWS::IAM::User", Name: "alice"}}
	e4.ErrorCode, e4.ErrorMessage = "RepositoryNotFoundException", "The repository with name 'app' does not exist"
	for _, ev := range []Event{e1, e2, e3, e4} {
		h.rec.Record(ev)
	}
	h.flush()

	tests := []struct {
		key, value string
		want       []string // newest first
	}{
		{"", "", []string{"e4", "e3", "e2", "e1"}},
		{cloudtrailapi.LookupAttributeKeyEventId, "e3", []string{"e3"}},
		{cloudtrailapi.LookupAttributeKeyEventId, "nope", nil},
		{cloudtrailapi.LookupAttributeKeyEventName, "CreateUser", []string{"e1"}},
		{cloudtrailapi.LookupAttributeKeyReadOnly, "true", []string{"e3", "e2"}},
		{cloudtrailapi.LookupAttributeKeyReadOnly, "false", []string{"e4", "e1"}},
		{cloudtrailapi.LookupAttributeKeyUsername, "alice", []string{"e4", "e1"}},
		{cloudtrailapi.LookupAttributeKeyUsername, "ci", []string{"e2"}},
		{cloudtrailapi.LookupAttributeKeyUsername, "root", []string{"e3"}},
		{cloudtrailapi.LookupAttributeKeyResourceType, "AWS::IAM::User", []string{"e4", "e1"}},
		{cloudtrailapi.LookupAttributeKeyResourceType, "AWS::ECR::Repository", []string{"e4"}},
		{cloudtrailapi.LookupAttributeKeyResourceName, "bob", []string{"e1"}},
		{cloudtrailapi.LookupAttributeKeyResourceName, "app", []string{"e4"}},
		{cloudtrailapi.LookupAttributeKeyEventSource, "ecs.amazonaws.com", []string{"e2"}},
		{cloudtrailapi.LookupAttributeKeyAccessKeyId, "AKIAALICE", []string{"e4", "e1"}},
		{cloudtrailapi.LookupAttributeKeyAccessKeyId, "ASIADEPLOYER", []string{"e2"}},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			in := &cloudtrailapi.LookupEventsRequest{}
			if tt.key != "" {
				in.LookupAttributes = attr(tt.key, tt.value)
			}
			out := h.lookup(acctA, in)
			if got := ids(out); !slices.Equal(got, tt.want) {
				t.Errorf("events = %v, want %v", got, tt.want)
			}
			if out.NextToken != nil {
				t.Errorf("unexpected NextToken")
			}
		})
	}

	// The fields of one event.
	out := h.lookup(acctA, &cloudtrailapi.LookupEventsRequest{LookupAttributes: attr(cloudtrailapi.LookupAttributeKeyEventId, "e4")})
	ev := out.Events[0]
	if *ev.EventName != "DeleteRepository" || *ev.EventSource != "ecr.amazonaws.com" || *ev.ReadOnly != "false" ||
		*ev.AccessKeyId != "AKIAALICE" || *ev.Username != "alice" || !ev.EventTime.Equal(m(1)) {
		t.Errorf("event fields: %+v", ev)
	}
	if len(ev.Resources) != 2 || *ev.Resources[0].ResourceType != "AWS::ECR::Repository" || *ev.Resources[0].ResourceName != "app" {
		t.Errorf("resources: %+v", ev.Resources)
	}
	e2out := h.lookup(acctA, &cloudtrailapi.LookupEventsRequest{LookupAttributes: attr(cloudtrailapi.LookupAttributeKeyEventId, "e2")})
	if r := e2out.Events[0].Resources; r == nil || len(r) != 0 {
		t.Errorf("an event without resources has Resources %#v, want an empty list", r)
	}
}

func TestLookupTimeRange(t *testing.T) {
	h := newHarness(t, Options{})
	// e0 … e9, one a minute, e9 the newest at t0.
	at := func(i int) time.Time { return t0.Add(time.Duration(i-9) * time.Minute) }
	for i := range 10 {
		h.rec.Record(call(fmt.Sprintf("e%d", i), at(i), alice(), "iam.amazonaws.com", "ListUsers"))
	}
	// An event older than the default 90-day window, still retained.
	h.rec.Record(call("old", t0.Add(-100*24*time.Hour), alice(), "iam.amazonaws.com", "ListUsers"))
	h.flush()

	tests := []struct {
		name       string
		start, end *time.Time
		want       []string
	}{
		{"both bounds inclusive", ptr.To(at(3)), ptr.To(at(6)), []string{"e6", "e5", "e4", "e3"}},
		{"start only", ptr.To(at(8)), nil, []string{"e9", "e8"}},
		{"end only", nil, ptr.To(at(1)), []string{"e1", "e0"}},
		{"instant", ptr.To(at(5)), ptr.To(at(5)), []string{"e5"}},
		{"between events", ptr.To(at(5).Add(time.Second)), ptr.To(at(6).Add(-time.Second)), nil},
		{"default window excludes old", nil, nil, []string{"e9", "e8", "e7", "e6", "e5", "e4", "e3", "e2", "e1", "e0"}},
		{"explicit start reaches old", ptr.To(t0.Add(-200 * 24 * time.Hour)), ptr.To(at(0)), []string{"e0", "old"}},
		{"future", ptr.To(t0.Add(time.Hour)), nil, nil},
		{"before 1970", ptr.To(time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)), ptr.To(time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC)), nil},
		{"far future end", ptr.To(at(9)), ptr.To(time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)), []string{"e9"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := h.lookup(acctA, &cloudtrailapi.LookupEventsRequest{StartTime: tt.start, EndTime: tt.end})
			if got := ids(out); !slices.Equal(got, tt.want) {
				t.Errorf("events = %v, want %v", got, tt.want)
			}
		})
	}

	// Time moves on: the default window follows the clock.
	h.clk.Add(time.Hour)
	h.rec.Record(call("later", h.clk.Now(), alice(), "iam.amazonaws.com", "ListUsers"))
	h.flush()
	out := h.lookup(acctA, &cloudtrailapi.LookupEventsRequest{MaxResults: ptr.To[int32](1)})
	if got := ids(out); !slices.Equal(got, []string{"later"}) {
		t.Errorf("newest = %v, want [later]", got)
	}
}

func TestLookupPagination(t *testing.T) {
	h := newHarness(t, Options{})
	// 120 events, three per second (same time: ordered by id), so pages
	// also split between events of one instant.
	var want []string // newest first
	for i := range 120 {
		sec := i / 3
		ev := call(fmt.Sprintf("ev-%03d", i), t0.Add(time.Duration(sec-40)*time.Second), alice(), "ecs.amazonaws.com", "DescribeServices")
		if i%2 == 1 {
			ev.EventName, ev.ReadOnly = "UpdateService", false
		}
		h.rec.Record(ev)
	}
	for sec := 39; sec >= 0; sec-- {
		for j := range 3 {
			want = append(want, fmt.Sprintf("ev-%03d", sec*3+j))
		}
	}
	h.flush()

	got, pages := h.lookupAll(acctA, cloudtrailapi.LookupEventsRequest{})
	if !slices.Equal(got, want) || pages != 3 {
		t.Fatalf("pages = %d, events = %v\nwant %v", pages, got, want)
	}

	// Page sizes: 50, 50, 20 — and the last page carries no token.
	in := &cloudtrailapi.LookupEventsRequest{}
	var sizes []int
	for {
		out := h.lookup(acctA, in)
		sizes = append(sizes, len(out.Events))
		if out.NextToken == nil {
			break
		}
		in.NextToken = out.NextToken
	}
	if !slices.Equal(sizes, []int{50, 50, 20}) {
		t.Errorf("page sizes = %v", sizes)
	}

	// A filter paginates over the matching events only; MaxResults may
	// change from page to page.
	var wantRO []string
	for _, id := range want {
		var n int
		fmt.Sscanf(id, "ev-%d", &n)
		if n%2 == 0 {
			wantRO = append(wantRO, id)
		}
	}
	req := cloudtrailapi.LookupEventsRequest{LookupAttributes: attr(cloudtrailapi.LookupAttributeKeyReadOnly, "true"), MaxResults: ptr.To[int32](7)}
	gotRO, pages := h.lookupAll(acctA, req)
	if !slices.Equal(gotRO, wantRO) || pages != 9 {
		t.Errorf("read-only: %d pages, %v\nwant %v", pages, gotRO, wantRO)
	}

	// Events recorded while paging are newer than the cursor: the pages
	// already begun stay stable.
	first := h.lookup(acctA, &cloudtrailapi.LookupEventsRequest{MaxResults: ptr.To[int32](10)})
	h.clk.Add(time.Minute)
	h.rec.Record(call("newer", h.clk.Now(), alice(), "ecs.amazonaws.com", "ListClusters"))
	h.flush()
	second := h.lookup(acctA, &cloudtrailapi.LookupEventsRequest{MaxResults: ptr.To[int32](10), NextToken: first.NextToken})
	if got := append(ids(first), ids(second)...); !slices.Equal(got, want[:20]) {
		t.Errorf("pages while recording = %v, want %v", got, want[:20])
	}

	// Tokens are bound to their request and tenant.
	tok := first.NextToken
	bad := []struct {
		name    string
		account string
		in      *cloudtrailapi.LookupEventsRequest
	}{
		{"garbage", acctA, &cloudtrailapi.LookupEventsRequest{NextToken: ptr.To("not a token")}},
		{"empty", acctA, &cloudtrailapi.LookupEventsRequest{NextToken: ptr.To("")}},
		{"bad key", acctA, &cloudtrailapi.LookupEventsRequest{NextToken: ptr.To(encodeToken("xyz", fingerprint(&cloudtrailapi.LookupEventsRequest{}, acctA, region)))}},
		{"other fingerprint", acctA, &cloudtrailapi.LookupEventsRequest{NextToken: ptr.To(encodeToken(eventKey(t0, "x"), "0"))}},
		{"other attribute", acctA, &cloudtrailapi.LookupEventsRequest{NextToken: tok, LookupAttributes: attr(cloudtrailapi.LookupAttributeKeyEventName, "X")}},
		{"other time range", acctA, &cloudtrailapi.LookupEventsRequest{NextToken: tok, StartTime: ptr.To(t0.Add(-time.Hour))}},
		{"other account", acctB, &cloudtrailapi.LookupEventsRequest{NextToken: tok}},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			_, err := h.svc.LookupEvents(tenant(b.account), b.in)
			if !errors.Is(err, ErrInvalidNextToken) {
				t.Fatalf("err = %v, want ErrInvalidNextToken", err)
			}
			if code, _ := ErrorTable.Lookup(err); code != "InvalidNextTokenException" {
				t.Errorf("code = %q", code)
			}
		})
	}
}

func TestLookupScanBudget(t *testing.T) {
	h := newHarness(t, Options{})
	h.svc.budget = 100
	const hay = 300 // the first call reads 51+102 events, passing its budget
	// More non-matching events than one call reads, then one match at the
	// oldest end: the first page comes back empty with a token, and
	// following the tokens finds it.
	h.rec.Record(call("needle", t0.Add(-time.Hour), alice(), "iam.amazonaws.com", "CreateUser"))
	for i := range hay {
		h.rec.Record(call(fmt.Sprintf("hay-%05d", i), t0.Add(-time.Duration(i)*time.Millisecond), alice(), "iam.amazonaws.com", "ListUsers"))
	}
	h.flush()
	in := cloudtrailapi.LookupEventsRequest{LookupAttributes: attr(cloudtrailapi.LookupAttributeKeyEventName, "CreateUser")}
	out := h.lookup(acctA, &in)
	if len(out.Events) != 0 || out.NextToken == nil {
		t.Fatalf("first page: %d events, token %v; want 0 events and a token", len(out.Events), out.NextToken != nil)
	}
	got, pages := h.lookupAll(acctA, in)
	if !slices.Equal(got, []string{"needle"}) || pages != 2 {
		t.Errorf("got %v in %d pages", got, pages)
	}
}

func TestLookupValidation(t *testing.T) {
	h := newHarness(t, Options{})
	two := append(attr("EventName", "A"), attr("Username", "b")...)
	tests := []struct {
		name string
		in   *cloudtrailapi.LookupEventsRequest
		kind error
		code string
		msg  string
	}{
		{"two attributes", &cloudtrailapi.LookupEventsRequest{LookupAttributes: two}, ErrInvalidLookupAttributes, "InvalidLookupAttributesException",
			"You can specify only one lookup attribute; 2 were specified."},
		{"unknown key", &cloudtrailapi.LookupEventsRequest{LookupAttributes: attr("Color", "red")}, ErrInvalidLookupAttributes, "InvalidLookupAttributesException",
			"Lookup attribute key is not valid."},
		{"empty value", &cloudtrailapi.LookupEventsRequest{LookupAttributes: attr("EventName", "")}, ErrInvalidLookupAttributes, "InvalidLookupAttributesException",
			"Lookup attribute value is not valid."},
		{"read-only not boolean", &cloudtrailapi.LookupEventsRequest{LookupAttributes: attr("ReadOnly", "maybe")}, ErrInvalidLookupAttributes, "InvalidLookupAttributesException",
			"Lookup attribute value is not valid: ReadOnly must be true or false."},
		{"start after end", &cloudtrailapi.LookupEventsRequest{StartTime: ptr.To(t0), EndTime: ptr.To(t0.Add(-time.Second))}, ErrInvalidTimeRange, "InvalidTimeRangeException",
			"Start time must not be after end time."},
		{"max results 0", &cloudtrailapi.LookupEventsRequest{MaxResults: ptr.To[int32](0)}, ErrInvalidMaxResults, "InvalidMaxResultsException",
			"A max results value of 0 is invalid. Specify max results between 1 and 50."},
		{"max results 51", &cloudtrailapi.LookupEventsRequest{MaxResults: ptr.To[int32](51)}, ErrInvalidMaxResults, "InvalidMaxResultsException",
			"A max results value of 51 is invalid. Specify max results between 1 and 50."},
		{"category", &cloudtrailapi.LookupEventsRequest{EventCategory: ptr.To("management")}, ErrInvalidEventCategory, "InvalidEventCategoryException",
			"The event category management is not valid."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.svc.LookupEvents(tenant(acctA), tt.in)
			if !errors.Is(err, tt.kind) {
				t.Fatalf("err = %v, want kind %v", err, tt.kind)
			}
			if code, ok := ErrorTable.Lookup(err); !ok || code != tt.code {
				t.Errorf("code = %q, want %q", code, tt.code)
			}
			if msg := errs.Message(err); msg != tt.msg {
				t.Errorf("message = %q, want %q", msg, tt.msg)
			}
		})
	}

	// Every error shape the table names is one the model lists for
	// LookupEvents.
	for _, m := range ErrorTable {
		switch m.Code {
		case "InvalidLookupAttributesException", "InvalidTimeRangeException", "InvalidMaxResultsException",
			"InvalidNextTokenException", "InvalidEventCategoryException":
		default:
			t.Errorf("ErrorTable code %q is not an error of LookupEvents", m.Code)
		}
	}

	// Insight events: valid, none recorded.
	out := h.lookup(acctA, &cloudtrailapi.LookupEventsRequest{EventCategory: ptr.To("insight")})
	if len(out.Events) != 0 || out.Events == nil {
		t.Errorf("insight events = %#v, want an empty list", out.Events)
	}
	// MaxResults 1 and 50 are fine; a ReadOnly value in capitals too.
	h.lookup(acctA, &cloudtrailapi.LookupEventsRequest{MaxResults: ptr.To[int32](1)})
	h.lookup(acctA, &cloudtrailapi.LookupEventsRequest{MaxResults: ptr.To[int32](50), LookupAttributes: attr("ReadOnly", "TRUE")})

	// No tenant in the context: refused, never another account's data.
	if _, err := h.svc.LookupEvents(context.Background(), &cloudtrailapi.LookupEventsRequest{}); !errors.Is(err, tenancy.ErrNoAccount) {
		t.Errorf("no tenant: err = %v", err)
	}
}

func TestTenantIsolation(t *testing.T) {
	h := newHarness(t, Options{})
	// One batch, both accounts: written as one transaction per account.
	h.rec.Record(call("a1", t0.Add(-3*time.Second), alice(), "iam.amazonaws.com", "CreateUser"))
	h.rec.Record(call("b1", t0.Add(-2*time.Second), rootOf(acctB), "iam.amazonaws.com", "CreateUser"))
	h.rec.Record(call("a2", t0.Add(-1*time.Second), rootOf(acctA), "iam.amazonaws.com", "ListUsers"))
	h.flush()

	if got, _ := h.lookupAll(acctA, cloudtrailapi.LookupEventsRequest{}); !slices.Equal(got, []string{"a2", "a1"}) {
		t.Errorf("account A sees %v", got)
	}
	if got, _ := h.lookupAll(acctB, cloudtrailapi.LookupEventsRequest{}); !slices.Equal(got, []string{"b1"}) {
		t.Errorf("account B sees %v", got)
	}
	// Not even by id.
	out := h.lookup(acctA, &cloudtrailapi.LookupEventsRequest{LookupAttributes: attr("EventId", "b1")})
	if len(out.Events) != 0 {
		t.Errorf("account A found B's event by id")
	}
	out = h.lookup(acctA, &cloudtrailapi.LookupEventsRequest{LookupAttributes: attr("Username", "root")})
	if got := ids(out); !slices.Equal(got, []string{"a2"}) {
		t.Errorf("account A's root events = %v", got)
	}
	// An account with no events at all.
	if got, _ := h.lookupAll("333333333333", cloudtrailapi.LookupEventsRequest{}); len(got) != 0 {
		t.Errorf("empty account sees %v", got)
	}
}

func TestRegionScope(t *testing.T) {
	h := newHarness(t, Options{})
	us := call("us", t0.Add(-2*time.Second), alice(), "ecs.amazonaws.com", "ListClusters")
	eu := call("eu", t0.Add(-1*time.Second), alice(), "ecs.amazonaws.com", "ListClusters")
	eu.Region = "eu-west-1"
	none := call("none", t0, alice(), "sts.amazonaws.com", "GetCallerIdentity")
	none.Region = "" // refused before the region was known
	for _, ev := range []Event{us, eu, none} {
		h.rec.Record(ev)
	}
	h.flush()

	check := func(ctx context.Context, want ...string) {
		t.Helper()
		out, err := h.svc.LookupEvents(ctx, &cloudtrailapi.LookupEventsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if got := ids(out); !slices.Equal(got, want) {
			t.Errorf("events = %v, want %v", got, want)
		}
	}
	check(tenancy.With(context.Background(), acctA, "us-east-1"), "none", "us")
	check(tenancy.With(context.Background(), acctA, "eu-west-1"), "none", "eu")
	check(tenancy.WithAccount(context.Background(), acctA), "none", "eu", "us")
}

func TestCloudTrailEvent(t *testing.T) {
	h := newHarness(t, Options{})
	ev := call("e1", t0.Add(1500*time.Millisecond), alice(), "iam.amazonaws.com", "CreateUser")
	ev.RequestParameters = map[string]any{"userName": "audited", "tags": []any{map[string]any{"key": "team", "value": "x"}}, "maxItems": int64(1) << 60}
	ev.ErrorCode, ev.ErrorMessage = "EntityAlreadyExists", "User with name audited already exists."
	h.rec.Record(ev)
	role := call("e2", t0.Add(2*time.Second), deployer(), "ecs.amazonaws.com", "ListClusters")
	h.rec.Record(role)
	anon := call("e3", t0.Add(3*time.Second), nil, "sts.amazonaws.com", "GetCallerIdentity")
	anon.Account, anon.AccessKeyID, anon.ErrorCode = acctA, "AKIAUNKNOWN", "InvalidClientTokenId"
	h.rec.Record(anon)
	h.flush()

	get := func(id string) map[string]any {
		t.Helper()
		out := h.lookup(acctA, &cloudtrailapi.LookupEventsRequest{LookupAttributes: attr("EventId", id), EndTime: ptr.To(t0.Add(time.Minute))})
		if len(out.Events) != 1 {
			t.Fatalf("event %s not found", id)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(*out.Events[0].CloudTrailEvent), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}

	user := get("e1")
	want := map[string]any{
		"eventVersion": "1.08", "eventTime": "2026-03-01T12:00:01Z", "eventSource": "iam.amazonaws.com",
		"eventName": "CreateUser", "awsRegion": "us-east-1", "sourceIPAddress": "127.0.0.1", "userAgent": "aws-cli/2",
		"requestID": "req-e1", "eventID": "e1", "readOnly": false, "eventType": "AwsApiCall", "managementEvent": true,
		"recipientAccountId": acctA, "eventCategory": "Management", "responseElements": nil,
		"errorCode": "EntityAlreadyExists", "errorMessage": "User with name audited already exists.",
	}
	for k, v := range want {
		got, ok := user[k]
		if !ok || got != v {
			t.Errorf("%s = %#v (present %v), want %#v", k, got, ok, v)
		}
	}
	id := user["userIdentity"].(map[string]any)
	wantID := map[string]any{"type": "IAMUser", "principalId": "AIDAALICE", "arn": "arn:aws:iam::" + acctA + ":user/alice",
		"accountId": acctA, "accessKeyId": "AKIAALICE", "userName": "alice"}
	for k, v := range wantID {
		if id[k] != v {
			t.Errorf("userIdentity.%s = %#v, want %#v", k, id[k], v)
		}
	}
	params := user["requestParameters"].(map[string]any)
	if params["userName"] != "audited" || params["tags"].([]any)[0].(map[string]any)["key"] != "team" {
		t.Errorf("requestParameters = %v", params)
	}
	// Large integers keep every digit.
	raw := *h.lookup(acctA, &cloudtrailapi.LookupEventsRequest{LookupAttributes: attr("EventId", "e1"), EndTime: ptr.To(t0.Add(time.Minute))}).Events[0].CloudTrailEvent
	if !json.Valid([]byte(raw)) || !strings.Contains(raw, `"maxItems":1152921504606846976`) {
		t.Errorf("raw record: %s", raw)
	}

	ar := get("e2")
	if _, ok := ar["errorCode"]; ok {
		t.Errorf("a successful call has errorCode")
	}
	if ar["requestParameters"] != nil || !hasKey(ar, "requestParameters") {
		t.Errorf("requestParameters = %#v, want null", ar["requestParameters"])
	}
	arID := ar["userIdentity"].(map[string]any)
	if arID["type"] != "AssumedRole" || arID["principalId"] != "AROADEPLOYER:ci" || arID["accessKeyId"] != "ASIADEPLOYER" {
		t.Errorf("assumed role identity = %v", arID)
	}
	issuer := arID["sessionContext"].(map[string]any)["sessionIssuer"].(map[string]any)
	if issuer["type"] != "Role" || issuer["principalId"] != "AROADEPLOYER" || issuer["arn"] != "arn:aws:iam::"+acctA+":role/deployer" || issuer["userName"] != "deployer" {
		t.Errorf("session issuer = %v", issuer)
	}

	un := get("e3")
	if uid := un["userIdentity"].(map[string]any); uid["type"] != "Unknown" || uid["accessKeyId"] != "AKIAUNKNOWN" {
		t.Errorf("unknown identity = %v", uid)
	}
}

func hasKey(m map[string]any, k string) bool { _, ok := m[k]; return ok }

func TestKeyOrder(t *testing.T) {
	times := []time.Time{
		time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC), // clamped to 1970
		time.Unix(0, 0),
		time.Unix(0, 1),
		t0,
		t0.Add(time.Nanosecond),
		time.Unix(0, math.MaxInt64),
		time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), // clamped to 2262
	}
	for i := 1; i < len(times); i++ {
		a, b := eventKey(times[i-1], "x"), eventKey(times[i], "x")
		if b > a {
			t.Errorf("key of %v (%s) sorts after the key of the earlier %v (%s)", times[i], b, times[i-1], a)
		}
		if n, ok := parseKey(b); !ok || n != invNanos(times[i]) {
			t.Errorf("parseKey(%s) = %d, %v", b, n, ok)
		}
	}
	if eventKey(t0, "a") >= eventKey(t0, "b") {
		t.Error("events of one instant are not ordered by id")
	}
	for _, bad := range []string{"", "123", "000000000000000000a/x", "0000000000000000000x", "0000000000000000000/", "9999999999999999999/x"} {
		if _, ok := parseKey(bad); ok {
			t.Errorf("parseKey(%q) accepted", bad)
		}
	}
}

func FuzzDecodeToken(f *testing.F) {
	fp := fingerprint(&cloudtrailapi.LookupEventsRequest{}, acctA, region)
	f.Add(encodeToken(eventKey(t0, "id"), fp))
	f.Add("")
	f.Add("eyJ2IjoxLCJrIjoiIiwicSI6IiJ9")
	f.Add("!!!")
	f.Fuzz(func(t *testing.T, s string) {
		key, ok := decodeToken(s, fp)
		if !ok {
			return
		}
		if _, ok := parseKey(key); !ok {
			t.Fatalf("accepted token %q with bad key %q", s, key)
		}
		if k2, ok := decodeToken(encodeToken(key, fp), fp); !ok || k2 != key {
			t.Fatalf("round trip of %q: %q, %v", key, k2, ok)
		}
	})
}
