// Package sts is Wharf's AWS Security Token Service: who is calling
// (GetCallerIdentity) and temporary credentials (AssumeRole,
// GetSessionToken). Roles, trust policies and the access keys themselves
// belong to package iam; this package decides who may have a session and
// for how long, and asks IAM to issue it.
package sts

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"time"

	"github.com/wharfhq/wharf/api/stsapi"
	"github.com/wharfhq/wharf/internal/arn"
	"github.com/wharfhq/wharf/internal/errs"
	"github.com/wharfhq/wharf/internal/iam"
	"github.com/wharfhq/wharf/internal/policy"
	"github.com/wharfhq/wharf/internal/principal"
	"github.com/wharfhq/wharf/internal/ptr"
)

// Error kinds; every caller mistake wraps one of them.
var (
	// ErrAccessDenied: the role does not exist or its trust policy does
	// not let the caller in, or the caller may not ask for a session.
	ErrAccessDenied            = errors.New("sts: access denied")
	ErrMalformedPolicyDocument = errors.New("sts: malformed policy document")
	ErrPackedPolicyTooLarge    = errors.New("sts: packed policy too large")
	// ErrValidation is STS's generic ValidationError (durations, session
	// names), not an error shape of the model.
	ErrValidation = errors.New("sts: validation error")
)

// ErrorTable maps STS's domain errors to the error shapes of the STS model.
// AccessDenied and ValidationError are not shapes of the model: the edge
// sends them as they are.
var ErrorTable = errs.Table{
	{Kind: ErrAccessDenied, Code: "AccessDenied"},
	{Kind: ErrMalformedPolicyDocument, Code: "MalformedPolicyDocumentException"},
	{Kind: ErrPackedPolicyTooLarge, Code: "PackedPolicyTooLargeException"},
	{Kind: ErrValidation, Code: "ValidationError"},
}

// Identity is what STS needs from IAM. *iam.Service implements it.
type Identity interface {
	// LookupRole returns a role of the account of ctx (an error wrapping
	// iam.ErrNoSuchEntity when there is none).
	LookupRole(ctx context.Context, name string) (iam.Role, error)
	// ManagedPolicyDocument returns the default version of a managed policy.
	ManagedPolicyDocument(ctx context.Context, policyARN string) (string, error)
	// IssueTemporaryCredentials stores a temporary key acting as p until
	// expiration.
	IssueTemporaryCredentials(ctx context.Context, p principal.Principal, expiration time.Time) (iam.TemporaryCredentials, error)
}

var _ Identity = (*iam.Service)(nil)

// Options configure a Service.
type Options struct {
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives structured logs (default: discard).
	Logger *slog.Logger
}

// Service implements the STS API.
type Service struct {
	ids Identity
	now func() time.Time
	log *slog.Logger
}

// New returns a Service that issues sessions through ids.
func New(ids Identity, opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{ids: ids, now: opts.Now, log: opts.Logger}
}

// Session durations, in seconds.
const (
	minDuration          = 900
	defaultRoleDuration  = 3600
	chainedRoleLimit     = 3600
	defaultUserDuration  = 43200
	maxUserDuration      = 129600
	maxRootDuration      = 3600
	maxPackedPolicyChars = 2048
)

func caller(ctx context.Context) (*principal.Principal, error) {
	p := principal.From(ctx)
	if p == nil {
		return nil, errors.New("sts: no principal in context")
	}
	return p, nil
}

// GetCallerIdentity says who the caller is.
func (s *Service) GetCallerIdentity(ctx context.Context, _ *stsapi.GetCallerIdentityRequest) (*stsapi.GetCallerIdentityResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	return &stsapi.GetCallerIdentityResponse{Account: ptr.To(p.Account), Arn: ptr.To(p.ARN), UserId: ptr.To(p.UserID)}, nil
}

// AssumeRole issues credentials for a session of a role whose trust policy
// lets the caller in. Whether the caller's own policies allow
// sts:AssumeRole on the role is checked by the edge (iam's Authorize), as
// for any action; use ResourceARN so that check sees the role.
func (s *Service) AssumeRole(ctx context.Context, in *stsapi.AssumeRoleRequest) (*stsapi.AssumeRoleResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	roleARN, sessionName := ptr.Value(in.RoleArn), ptr.Value(in.RoleSessionName)
	if err := validSessionName(sessionName); err != nil {
		return nil, err
	}
	denied := errs.New(ErrAccessDenied, "User: %s is not authorized to perform: sts:AssumeRole on resource: %s", p.ARN, roleARN)

	acct, kind, path, name, err := arn.SplitIAM(roleARN)
	if err != nil || kind != "role" {
		return nil, errs.New(ErrValidation, "%s is invalid", roleARN)
	}
	if acct != p.Account {
		return nil, denied // Wharf serves one account; there is no other to trust us
	}
	role, err := s.ids.LookupRole(ctx, name)
	if errors.Is(err, iam.ErrNoSuchEntity) || err == nil && role.Path != path {
		return nil, denied
	} else if err != nil {
		return nil, err
	}

	now := s.now()
	trust, err := policy.Parse(role.TrustPolicy)
	if err != nil {
		s.log.Warn("unparsable trust policy", "role", role.ARN, "err", err)
		return nil, denied
	}
	if !policy.Evaluate(trustRequest(p, role, in, now), trust).Allowed() {
		return nil, denied
	}

	duration := int64(ptr.Or(in.DurationSeconds, defaultRoleDuration))
	switch {
	case duration < minDuration:
		return nil, errs.New(ErrValidation, "1 validation error detected: Value '%d' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to %d", duration, minDuration)
	case p.Kind == principal.AssumedRole && duration > chainedRoleLimit:
		return nil, errs.New(ErrValidation, "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
	case time.Duration(duration)*time.Second > role.MaxSessionDuration:
		return nil, errs.New(ErrValidation, "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}

	session, packed, err := s.sessionPolicy(ctx, in)
	if err != nil {
		return nil, err
	}

	assumedID := role.ID + ":" + sessionName
	sessionARN := arn.Build("sts", "", p.Account, "assumed-role/"+role.Name+"/"+sessionName)
	sp := principal.Principal{Kind: principal.AssumedRole, Account: p.Account, ARN: sessionARN, UserID: assumedID,
		Name: role.Name, SessionName: sessionName, RoleARN: role.ARN, SessionPolicy: session}
	creds, err := s.ids.IssueTemporaryCredentials(ctx, sp, now.Add(time.Duration(duration)*time.Second))
	if err != nil {
		return nil, err
	}
	out := &stsapi.AssumeRoleResponse{
		Credentials:     apiCredentials(creds),
		AssumedRoleUser: &stsapi.AssumedRoleUser{Arn: ptr.To(sessionARN), AssumedRoleId: ptr.To(assumedID)},
		SourceIdentity:  in.SourceIdentity,
	}
	if session != "" {
		out.PackedPolicySize = ptr.To(int32(packed))
	}
	return out, nil
}

// trustRequest is the request a role's trust policy is evaluated against.
func trustRequest(p *principal.Principal, role iam.Role, in *stsapi.AssumeRoleRequest, now time.Time) policy.Request {
	keys := map[string][]string{
		"aws:PrincipalAccount": {p.Account},
		"aws:userid":           {p.UserID},
		"aws:CurrentTime":      {now.UTC().Format(time.RFC3339)},
		"aws:EpochTime":        {strconv.FormatInt(now.Unix(), 10)},
		"sts:RoleSessionName":  {ptr.Value(in.RoleSessionName)},
	}
	principalARN := p.ARN
	switch p.Kind {
	case principal.User:
		keys["aws:username"] = []string{p.Name}
		keys["aws:PrincipalType"] = []string{"User"}
	case principal.AssumedRole:
		principalARN = p.RoleARN
		keys["aws:PrincipalType"] = []string{"AssumedRole"}
	case principal.Root:
		keys["aws:PrincipalType"] = []string{"Account"}
	}
	keys["aws:PrincipalArn"] = []string{principalARN}
	if in.ExternalId != nil {
		keys["sts:ExternalId"] = []string{*in.ExternalId}
	}
	if in.SourceIdentity != nil {
		keys["sts:SourceIdentity"] = []string{*in.SourceIdentity}
	}
	return policy.Request{
		Action:    "sts:AssumeRole",
		Resource:  role.ARN,
		Principal: &policy.Principal{ARN: p.ARN, Account: p.Account},
		Context:   keys,
	}
}

// sessionPolicy combines the inline Policy and the managed PolicyArns of a
// request into the one document a session is limited by ("" when there are
// none), and reports its packed size in percent of the quota.
func (s *Service) sessionPolicy(ctx context.Context, in *stsapi.AssumeRoleRequest) (string, int, error) {
	var docs []*policy.Document
	if in.Policy != nil {
		d, err := policy.ValidateIdentityPolicy(*in.Policy, 0)
		if err != nil {
			return "", 0, malformed(err)
		}
		docs = append(docs, d)
	}
	for _, pa := range in.PolicyArns {
		a := ptr.Value(pa.Arn)
		text, err := s.ids.ManagedPolicyDocument(ctx, a)
		if errors.Is(err, iam.ErrNoSuchEntity) || errors.Is(err, iam.ErrInvalidInput) {
			return "", 0, errs.New(ErrValidation, "Policy %s does not exist or is not attachable.", a)
		} else if err != nil {
			return "", 0, err
		}
		d, err := policy.Parse(text)
		if err != nil {
			return "", 0, malformed(err)
		}
		docs = append(docs, d)
	}
	if len(docs) == 0 {
		return "", 0, nil
	}
	// Session policies are one set: a request is within the session when
	// any of them allows it, so their statements can share one document.
	merged := &policy.Document{Version: policy.Version2012}
	for _, d := range docs {
		if d.Version != policy.Version2012 {
			merged.Version = d.Version
		}
		merged.Statements = append(merged.Statements, d.Statements...)
	}
	text, err := merged.Marshal()
	if err != nil {
		return "", 0, malformed(err)
	}
	size := policy.Size(text)
	packed := (size*100 + maxPackedPolicyChars - 1) / maxPackedPolicyChars
	if size > maxPackedPolicyChars {
		return "", 0, errs.New(ErrPackedPolicyTooLarge, "Packed policy consumes %d%% of allotted space, please use smaller policy.", packed)
	}
	return text, packed, nil
}

func malformed(err error) error {
	var pe *policy.ParseError
	if errors.As(err, &pe) {
		return errs.New(ErrMalformedPolicyDocument, "%s", pe.Message)
	}
	return errs.New(ErrMalformedPolicyDocument, "Syntax errors in policy.")
}

// GetSessionToken issues temporary credentials for the calling IAM user or
// root, with the caller's own permissions.
func (s *Service) GetSessionToken(ctx context.Context, in *stsapi.GetSessionTokenRequest) (*stsapi.GetSessionTokenResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if p.Temporary || (p.Kind != principal.User && p.Kind != principal.Root) {
		return nil, errs.New(ErrAccessDenied, "Cannot call GetSessionToken with session credentials")
	}
	def, max := int64(defaultUserDuration), int64(maxUserDuration)
	if p.Kind == principal.Root {
		def, max = maxRootDuration, maxRootDuration
	}
	duration := def
	if in.DurationSeconds != nil {
		duration = int64(*in.DurationSeconds)
	}
	if duration < minDuration || duration > maxUserDuration {
		return nil, errs.New(ErrValidation, "1 validation error detected: Value '%d' at 'durationSeconds' failed to satisfy constraint: Member must have value between %d and %d", duration, minDuration, maxUserDuration)
	}
	duration = min(duration, max) // root sessions are capped at an hour, as in AWS
	sp := *p
	sp.AccessKeyID, sp.SessionPolicy = "", ""
	creds, err := s.ids.IssueTemporaryCredentials(ctx, sp, s.now().Add(time.Duration(duration)*time.Second))
	if err != nil {
		return nil, err
	}
	return &stsapi.GetSessionTokenResponse{Credentials: apiCredentials(creds)}, nil
}

func apiCredentials(c iam.TemporaryCredentials) *stsapi.Credentials {
	return &stsapi.Credentials{AccessKeyId: ptr.To(c.AccessKeyID), SecretAccessKey: ptr.To(c.SecretAccessKey),
		SessionToken: ptr.To(c.SessionToken), Expiration: ptr.To(c.Expiration)}
}

// validSessionName checks a RoleSessionName: 2 to 64 of [\w+=,.@-].
func validSessionName(n string) error {
	if len(n) < 2 || len(n) > 64 {
		return errs.New(ErrValidation, "1 validation error detected: Value '%s' at 'roleSessionName' failed to satisfy constraint: Member must have length between 2 and 64", n)
	}
	for _, c := range n {
		ok := 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '+' || c == '=' || c == ',' || c == '.' || c == '@' || c == '-'
		if !ok {
			return errs.New(ErrValidation, "1 validation error detected: Value '%s' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*", n)
		}
	}
	return nil
}

// ResourceARN names the resource an STS operation acts on, for
// authorization: the role for AssumeRole, "*" otherwise.
func ResourceARN(_ context.Context, op string, in map[string]any) string {
	if op == "AssumeRole" {
		if r, ok := in["RoleArn"].(string); ok && r != "" {
			return r
		}
	}
	return "*"
}
