package sts

import (
	"context"
	"errors"
	"time"

	"github.com/wharfhq/wharf/internal/arn"
	"github.com/wharfhq/wharf/internal/errs"
	"github.com/wharfhq/wharf/internal/iam"
	"github.com/wharfhq/wharf/internal/policy"
	"github.com/wharfhq/wharf/internal/principal"
	"github.com/wharfhq/wharf/internal/tenancy"
)

// ServiceSession is a session of a role that an AWS service principal
// assumed on a tenant's behalf (ECS tasks' roles).
type ServiceSession struct {
	// ARN is the session's ARN, arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION.
	ARN         string
	Credentials iam.TemporaryCredentials
}

// AssumeRoleForService issues credentials for a session of roleARN on
// behalf of an AWS service principal (for example
// "ecs-tasks.amazonaws.com"), as AWS does when a service uses the role a
// customer passed to it. The role must be in the account of ctx and its
// trust policy must allow the service principal sts:AssumeRole; otherwise
// the error wraps ErrAccessDenied. duration is capped by the role's
// MaxSessionDuration.
func (s *Service) AssumeRoleForService(ctx context.Context, roleARN, service, sessionName string, duration time.Duration) (ServiceSession, error) {
	acctOfCtx, err := tenancy.Account(ctx)
	if err != nil {
		return ServiceSession{}, err
	}
	denied := errs.New(ErrAccessDenied, "%s is not authorized to perform: sts:AssumeRole on resource: %s", service, roleARN)
	acct, kind, path, name, err := arn.SplitIAM(roleARN)
	if err != nil || kind != "role" {
		return ServiceSession{}, errs.New(ErrValidation, "%s is invalid", roleARN)
	}
	if acct != acctOfCtx {
		return ServiceSession{}, denied
	}
	if err := validSessionName(sessionName); err != nil {
		return ServiceSession{}, err
	}
	role, err := s.ids.LookupRole(ctx, name)
	if errors.Is(err, iam.ErrNoSuchEntity) || err == nil && role.Path != path {
		return ServiceSession{}, denied
	} else if err != nil {
		return ServiceSession{}, err
	}
	trust, err := policy.Parse(role.TrustPolicy)
	if err != nil {
		return ServiceSession{}, denied
	}
	now := s.now()
	req := policy.Request{Action: "sts:AssumeRole", Resource: role.ARN, Principal: &policy.Principal{Service: service},
		Context: map[string][]string{
			"aws:CurrentTime":     {now.UTC().Format(time.RFC3339)},
			"sts:RoleSessionName": {sessionName},
			"aws:PrincipalType":   {"Service"},
		}}
	if !policy.Evaluate(req, trust).Allowed() {
		return ServiceSession{}, denied
	}
	if duration <= 0 || duration > role.MaxSessionDuration {
		duration = role.MaxSessionDuration
	}
	assumedID := role.ID + ":" + sessionName
	sessionARN := arn.Build("sts", "", acct, "assumed-role/"+role.Name+"/"+sessionName)
	sp := principal.Principal{Kind: principal.AssumedRole, Account: acct, ARN: sessionARN, UserID: assumedID,
		Name: role.Name, SessionName: sessionName, RoleARN: role.ARN}
	creds, err := s.ids.IssueTemporaryCredentials(ctx, sp, now.Add(duration))
	if err != nil {
		return ServiceSession{}, err
	}
	return ServiceSession{ARN: sessionARN, Credentials: creds}, nil
}
