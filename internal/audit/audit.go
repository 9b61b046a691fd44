// Package audit is Wharf's CloudTrail: a record of every API call, kept in
// the state store and served back through CloudTrail's LookupEvents.
//
// The edge hands each finished call to a Recorder (Record never blocks the
// API path); the Recorder's loop writes them in batches, one store
// transaction per account per batch, and deletes events older than the
// retention period. Service answers LookupEvents from the same tables.
//
// The persistent layout is documented in layout.go.
package audit

import (
	"strings"
	"time"

	"github.com/wharfhq/wharf/internal/principal"
)

// Event is one API call as the audit log keeps it.
type Event struct {
	// ID is the event's unique id (CloudTrail's eventID). Empty: the
	// Recorder assigns a random UUID.
	ID string
	// Time is when the call was received. Zero: the Recorder's clock at
	// Record.
	Time time.Time
	// Account is the account the call acted in; empty for calls refused
	// before the caller was known. Empty with a Principal: the principal's.
	Account string
	Region  string
	// EventSource is the service's host name, e.g. "iam.amazonaws.com".
	EventSource string
	// EventName is the operation, e.g. "CreateUser".
	EventName string
	ReadOnly  bool
	// Principal is who made the call; nil for refused unauthenticated calls.
	Principal *principal.Principal
	// AccessKeyID is the signing key. Empty with a Principal: the
	// principal's.
	AccessKeyID string
	SourceIP    string
	UserAgent   string
	RequestID   string
	// RequestParameters is the request as a value tree (see package wire),
	// already stripped of secrets by the edge. The Recorder takes ownership:
	// the caller must not change it after Record.
	RequestParameters map[string]any
	// ErrorCode and ErrorMessage are set when the call failed.
	ErrorCode    string
	ErrorMessage string
	// Resources are the resources the call touched.
	Resources []Resource
}

// Resource is a resource an event touched, as LookupEvents reports it
// (ResourceType like "AWS::IAM::User", ResourceName a name or ARN).
type Resource struct {
	Type string `json:"type"`
	Name string `json:"name"`
}

// readOnlyPrefixes are the verbs of operations that only read. An operation
// is read-only when its name is one of them followed by an upper-case
// letter or nothing ("GetCallerIdentity", "ListUsers", "BatchGetImage";
// not "Getaway").
var readOnlyPrefixes = []string{
	"BatchCheck", // ecr:BatchCheckLayerAvailability
	"BatchGet",   // ecr:BatchGetImage, …
	"Decode",     // sts:DecodeAuthorizationMessage
	"Describe",
	"Discover", // servicediscovery:DiscoverInstances
	"Filter",   // logs:FilterLogEvents
	"Get",
	"Head", // registry HEAD requests
	"List",
	"Lookup", // cloudtrail:LookupEvents
	"Search",
	"Simulate", // iam:SimulatePrincipalPolicy
	"Test",     // logs:TestMetricFilter, events:TestEventPattern
}

// IsReadOnly reports whether operation only reads state, as CloudTrail's
// readOnly field classifies it: Describe*, Get*, List*, Lookup*,
// BatchGet*, BatchCheck* and a few other reading verbs.
func IsReadOnly(operation string) bool {
	for _, p := range readOnlyPrefixes {
		rest, ok := strings.CutPrefix(operation, p)
		if ok && (rest == "" || (rest[0] >= 'A' && rest[0] <= 'Z')) {
			return true
		}
	}
	return false
}

// userName is the name LookupEvents reports, and its Username attribute
// matches: the user's name, the session name of an assumed role, "root"
// for the root user; "" when the caller is unknown.
func userName(p *principal.Principal) string {
	if p == nil {
		return ""
	}
	switch p.Kind {
	case principal.Root:
		return "root"
	case principal.AssumedRole:
		if p.SessionName != "" {
			return p.SessionName
		}
	}
	return p.Name
}
