package policy

import (
	"fmt"
	"strings"
)

// Request is one call to be authorized.
type Request struct {
	// Action is the operation, e.g. "iam:CreateUser".
	Action string
	// Resource is the ARN the call acts on, or "*" (the default when empty)
	// for calls that name no resource.
	Resource string
	// Principal is the caller, needed only for policies with Principal or
	// NotPrincipal (trust and resource policies). Nil means anonymous.
	Principal *Principal
	// Context holds the condition keys of the request: aws:username,
	// aws:userid, aws:SourceIp, aws:PrincipalTag/team, aws:ResourceTag/env,
	// aws:RequestedRegion, aws:CurrentTime, aws:SecureTransport,
	// aws:PrincipalArn, aws:PrincipalAccount and any service key. Key names
	// are case-insensitive. Evaluate reads no clock: date conditions compare
	// with aws:CurrentTime as given here.
	Context map[string][]string
}

// Principal identifies the caller for Principal/NotPrincipal matching.
type Principal struct {
	// ARN of the caller: an IAM user or role, the account root, or an STS
	// session (arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION).
	ARN string
	// Account is the caller's 12-digit account ID; when empty it is taken
	// from ARN.
	Account string
	// Service is set when an AWS service calls, e.g.
	// "ecs-tasks.amazonaws.com".
	Service string
	// Federated is the identity provider of a web-identity or SAML caller.
	Federated string
}

// Outcome is the result of an evaluation.
type Outcome uint8

// The three outcomes, as IAM names them.
const (
	ImplicitDeny Outcome = iota // no statement allowed the request
	Allow                       // a statement allowed it and none denied it
	ExplicitDeny                // a statement denied it
)

func (o Outcome) String() string {
	switch o {
	case Allow:
		return "Allow"
	case ExplicitDeny:
		return "ExplicitDeny"
	default:
		return "ImplicitDeny"
	}
}

// Decision is what Evaluate decided and which statement decided it.
type Decision struct {
	Outcome Outcome
	// Policy and Statement index the deciding statement: the first
	// applicable Deny for ExplicitDeny, the first applicable Allow for
	// Allow. Both are -1 for ImplicitDeny.
	Policy    int
	Statement int
	Sid       string // the deciding statement's Sid, if it has one
}

// Allowed reports whether the request may proceed.
func (d Decision) Allowed() bool { return d.Outcome == Allow }

func (d Decision) String() string {
	if d.Outcome == ImplicitDeny {
		return "ImplicitDeny"
	}
	s := fmt.Sprintf("%s by policy %d statement %d", d.Outcome, d.Policy, d.Statement)
	if d.Sid != "" {
		s += fmt.Sprintf(" (Sid %s)", d.Sid)
	}
	return s
}

// Evaluate decides req against the policies as IAM does within one policy
// type: an applicable Deny in any policy wins, otherwise an applicable
// Allow allows, otherwise the request is implicitly denied. Nil policies
// are skipped.
func Evaluate(req Request, policies ...*Document) Decision {
	ec := newEvalContext(&req)
	allow := Decision{Outcome: ImplicitDeny, Policy: -1, Statement: -1}
	for pi, d := range policies {
		if d == nil {
			continue
		}
		vars := d.variablesEnabled()
		for si := range d.Statements {
			st := &d.Statements[si]
			if st.Effect != EffectDeny && (st.Effect != EffectAllow || allow.Outcome == Allow) {
				continue // nothing this statement could change
			}
			if !st.applies(ec, vars) {
				continue
			}
			if st.Effect == EffectDeny {
				return Decision{Outcome: ExplicitDeny, Policy: pi, Statement: si, Sid: st.Sid}
			}
			allow = Decision{Outcome: Allow, Policy: pi, Statement: si, Sid: st.Sid}
		}
	}
	return allow
}

// applies reports whether every element of the statement matches.
func (st *Statement) applies(ec *evalContext, vars bool) bool {
	p := ec.req.Principal
	if st.Principal != nil && !st.Principal.matches(p) {
		return false
	}
	if st.NotPrincipal != nil && st.NotPrincipal.matches(p) {
		return false
	}
	switch {
	case st.Action != nil:
		if !anyAction(st.Action, ec.req.Action) {
			return false
		}
	case st.NotAction != nil:
		if anyAction(st.NotAction, ec.req.Action) {
			return false
		}
	default:
		return false
	}
	switch {
	case st.Resource != nil:
		if !anyResource(st.Resource, ec.resource, ec, vars) {
			return false
		}
	case st.NotResource != nil:
		if anyResource(st.NotResource, ec.resource, ec, vars) {
			return false
		}
	}
	for i := range st.Condition {
		if !st.Condition[i].holds(ec, vars) {
			return false
		}
	}
	return true
}

func anyAction(patterns []string, action string) bool {
	for _, p := range patterns {
		if MatchesAction(p, action) {
			return true
		}
	}
	return false
}

func anyResource(patterns []string, resource string, ec *evalContext, vars bool) bool {
	for _, text := range patterns {
		if p, ok := compilePattern(text, vars, ec, true); ok && matchARN(p, resource) {
			return true
		}
	}
	return false
}

// matches reports whether the caller is one of the principals.
func (ps *Principals) matches(p *Principal) bool {
	if ps.All {
		return true
	}
	for _, v := range ps.AWS {
		if v == "*" {
			return true // IAM treats {"AWS":"*"} as "*": everyone
		}
	}
	if p == nil {
		return false
	}
	for _, v := range ps.AWS {
		if p.matchesAWS(v) {
			return true
		}
	}
	for _, v := range ps.Service {
		if p.Service != "" && strings.EqualFold(v, p.Service) {
			return true
		}
	}
	for _, v := range ps.Federated {
		if p.Federated != "" && v == p.Federated {
			return true
		}
	}
	return false
}

func (p *Principal) account() string {
	if p.Account != "" {
		return p.Account
	}
	if parts := strings.SplitN(p.ARN, ":", 6); len(parts) == 6 && parts[0] == "arn" {
		return parts[4]
	}
	return ""
}

// matchesAWS matches one AWS principal value of a policy: an account (by
// ID or root ARN) takes in every principal of that account; a role ARN
// takes in that role's sessions; any other ARN must be the caller's.
func (p *Principal) matchesAWS(v string) bool {
	acct := p.account()
	if isAccountID(v) {
		return acct != "" && v == acct
	}
	if p.ARN != "" && v == p.ARN {
		return true
	}
	parts := strings.SplitN(v, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "iam" {
		return false
	}
	if parts[5] == "root" {
		return acct != "" && parts[4] == acct
	}
	if rolePath, ok := strings.CutPrefix(parts[5], "role/"); ok {
		caller := strings.SplitN(p.ARN, ":", 6)
		if len(caller) != 6 || caller[0] != "arn" || caller[1] != parts[1] || caller[2] != "sts" || caller[4] != parts[4] {
			return false
		}
		session, ok := strings.CutPrefix(caller[5], "assumed-role/")
		if !ok {
			return false
		}
		roleName := rolePath[strings.LastIndexByte(rolePath, '/')+1:]
		name, _, _ := strings.Cut(session, "/")
		return name == roleName
	}
	return false
}

// evalContext is a request prepared for evaluation: context keys folded to
// lower case once, and the resource defaulted.
type evalContext struct {
	req      *Request
	resource string
	ctx      map[string][]string
}

func newEvalContext(req *Request) *evalContext {
	ec := &evalContext{req: req, resource: req.Resource, ctx: req.Context}
	if ec.resource == "" {
		ec.resource = "*"
	}
	for k := range req.Context {
		if k != strings.ToLower(k) {
			ec.ctx = make(map[string][]string, len(req.Context))
			for k, v := range req.Context {
				lk := strings.ToLower(k)
				ec.ctx[lk] = append(ec.ctx[lk], v...)
			}
			break
		}
	}
	return ec
}

func (ec *evalContext) values(key string) []string {
	return ec.ctx[strings.ToLower(key)]
}
