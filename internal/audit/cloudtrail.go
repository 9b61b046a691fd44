package audit

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/wharfhq/wharf/internal/principal"
)

// ctRecord is a CloudTrail log record (event version 1.08), with its
// members in the order CloudTrail writes them.
type ctRecord struct {
	EventVersion       string          `json:"eventVersion"`
	UserIdentity       ctIdentity      `json:"userIdentity"`
	EventTime          string          `json:"eventTime"`
	EventSource        string          `json:"eventSource"`
	EventName          string          `json:"eventName"`
	AWSRegion          string          `json:"awsRegion"`
	SourceIPAddress    string          `json:"sourceIPAddress"`
	UserAgent          string          `json:"userAgent"`
	ErrorCode          string          `json:"errorCode,omitempty"`
	ErrorMessage       string          `json:"errorMessage,omitempty"`
	RequestParameters  json.RawMessage `json:"requestParameters"` // nil → null
	ResponseElements   json.RawMessage `json:"responseElements"`  // always null
	RequestID          string          `json:"requestID"`
	EventID            string          `json:"eventID"`
	ReadOnly           bool            `json:"readOnly"`
	EventType          string          `json:"eventType"`
	ManagementEvent    bool            `json:"managementEvent"`
	RecipientAccountID string          `json:"recipientAccountId,omitempty"`
	EventCategory      string          `json:"eventCategory"`
}

type ctIdentity struct {
	Type           string            `json:"type"`
	PrincipalID    string            `json:"principalId,omitempty"`
	ARN            string            `json:"arn,omitempty"`
	AccountID      string            `json:"accountId,omitempty"`
	AccessKeyID    string            `json:"accessKeyId,omitempty"`
	UserName       string            `json:"userName,omitempty"`
	SessionContext *ctSessionContext `json:"sessionContext,omitempty"`
}

type ctSessionContext struct {
	SessionIssuer ctSessionIssuer `json:"sessionIssuer"`
}

type ctSessionIssuer struct {
	Type        string `json:"type"`
	PrincipalID string `json:"principalId,omitempty"`
	ARN         string `json:"arn,omitempty"`
	AccountID   string `json:"accountId,omitempty"`
	UserName    string `json:"userName,omitempty"`
}

// cloudTrailJSON renders r as the CloudTrailEvent string of LookupEvents.
func cloudTrailJSON(r *record) (string, error) {
	c := ctRecord{
		EventVersion:       "1.08",
		UserIdentity:       identity(r),
		EventTime:          r.Time.UTC().Format(time.RFC3339),
		EventSource:        r.Source,
		EventName:          r.Name,
		AWSRegion:          r.Region,
		SourceIPAddress:    r.SourceIP,
		UserAgent:          r.UserAgent,
		ErrorCode:          r.ErrorCode,
		ErrorMessage:       r.ErrorMessage,
		RequestParameters:  r.Params,
		RequestID:          r.RequestID,
		EventID:            r.ID,
		ReadOnly:           r.ReadOnly,
		EventType:          "AwsApiCall",
		ManagementEvent:    true,
		RecipientAccountID: r.Account,
		EventCategory:      "Management",
	}
	b, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// identity is CloudTrail's userIdentity for the caller of r.
func identity(r *record) ctIdentity {
	p := r.Principal
	if p == nil {
		// Refused before the caller was known: CloudTrail's "Unknown".
		return ctIdentity{Type: "Unknown", AccessKeyID: r.AccessKeyID}
	}
	id := ctIdentity{
		Type:        string(p.Kind),
		PrincipalID: p.UserID,
		ARN:         p.ARN,
		AccountID:   p.Account,
		AccessKeyID: r.AccessKeyID,
	}
	switch p.Kind {
	case principal.Root:
		if id.PrincipalID == "" {
			id.PrincipalID = p.Account
		}
	case principal.User:
		id.UserName = p.Name
	case principal.AssumedRole:
		// The role is the session's issuer; its principal id is the part of
		// "AROA…:session" before the colon.
		issuerID, _, _ := strings.Cut(p.UserID, ":")
		id.SessionContext = &ctSessionContext{SessionIssuer: ctSessionIssuer{
			Type: "Role", PrincipalID: issuerID, ARN: p.RoleARN, AccountID: p.Account, UserName: p.Name,
		}}
	case principal.Federated:
		id.UserName = p.Name
	}
	return id
}
