package iam

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/wharfhq/wharf/internal/errs"
	"github.com/wharfhq/wharf/internal/policy"
	"github.com/wharfhq/wharf/internal/principal"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/tenancy"
)

// Authorize decides whether p may perform action (e.g. "iam:CreateUser")
// on resource (an ARN, or "*"). conditions are the request's own condition
// keys (aws:SourceIp, aws:RequestedRegion, aws:ResourceTag/…); Authorize
// adds the principal's (aws:username, aws:userid, aws:PrincipalArn,
// aws:PrincipalAccount, aws:PrincipalType, aws:PrincipalTag/…) and the
// time (aws:CurrentTime, aws:EpochTime, from the Service's clock).
//
// The account root may do anything. An IAM user is allowed by its inline
// and attached policies and those of its groups; a role session by the
// role's policies intersected with the session policy it was issued with.
// A permissions boundary, when set, must allow the request too. An
// explicit deny in any of them wins. A denial is an error wrapping
// ErrAccessDenied whose message is AWS's.
func (s *Service) Authorize(ctx context.Context, p *principal.Principal, action, resource string, conditions map[string][]string) error {
	if p == nil {
		return errors.New("iam: authorize without a principal")
	}
	if resource == "" {
		resource = "*"
	}
	var set *policySet
	var err error
	switch p.Kind {
	case principal.Root:
		return nil
	case principal.User:
		set, err = s.policySet(ctx, p.Account, "user", p.Name)
	case principal.AssumedRole:
		set, err = s.policySet(ctx, p.Account, "role", p.Name)
	default:
		return denied(p, action, resource, "because no identity-based policy allows the "+action+" action")
	}
	if err != nil {
		return err
	}

	now := s.now()
	keys := make(map[string][]string, len(conditions)+len(set.keys)+6)
	for k, v := range conditions {
		keys[k] = v
	}
	for k, v := range set.keys {
		keys[k] = v
	}
	keys["aws:PrincipalAccount"] = []string{p.Account}
	keys["aws:userid"] = []string{p.UserID}
	keys["aws:CurrentTime"] = []string{now.UTC().Format(time.RFC3339)}
	keys["aws:EpochTime"] = []string{strconv.FormatInt(now.Unix(), 10)}
	switch p.Kind {
	case principal.User:
		keys["aws:username"] = []string{p.Name}
		keys["aws:PrincipalArn"] = []string{p.ARN}
		keys["aws:PrincipalType"] = []string{"User"}
	case principal.AssumedRole:
		keys["aws:PrincipalArn"] = []string{p.RoleARN}
		keys["aws:PrincipalType"] = []string{"AssumedRole"}
	}
	req := policy.Request{Action: action, Resource: resource, Context: keys}

	identity := policy.Evaluate(req, set.identity...)
	boundary := policy.Decision{Outcome: policy.Allow}
	if set.boundary != nil {
		boundary = policy.Evaluate(req, set.boundary)
	}
	session := policy.Decision{Outcome: policy.Allow}
	if p.SessionPolicy != "" {
		doc, err := s.authz.session(p.SessionPolicy)
		if err != nil {
			session = policy.Decision{Outcome: policy.ImplicitDeny}
		} else {
			session = policy.Evaluate(req, doc)
		}
	}
	switch {
	case identity.Outcome == policy.ExplicitDeny:
		return denied(p, action, resource, "with an explicit deny in an identity-based policy")
	case boundary.Outcome == policy.ExplicitDeny:
		return denied(p, action, resource, "with an explicit deny in a permissions boundary")
	case session.Outcome == policy.ExplicitDeny:
		return denied(p, action, resource, "with an explicit deny in a session policy")
	case !identity.Allowed():
		return denied(p, action, resource, "because no identity-based policy allows the "+action+" action")
	case !boundary.Allowed():
		return denied(p, action, resource, "because no permissions boundary allows the "+action+" action")
	case !session.Allowed():
		return denied(p, action, resource, "because no session policy allows the "+action+" action")
	}
	return nil
}

func denied(p *principal.Principal, action, resource, why string) error {
	return errs.New(ErrAccessDenied, "User: %s is not authorized to perform: %s on resource: %s %s", p.ARN, action, resource, why)
}

// policySet is what authorization needs to know about a user or role,
// compiled once and cached.
type policySet struct {
	identity []*policy.Document // inline and attached policies (and the groups')
	boundary *policy.Document   // permissions boundary, nil when none
	keys     map[string][]string
	gen      uint64
	loaded   time.Time
}

type authzCache struct {
	mu       sync.RWMutex
	sets     map[string]*policySet       // "<account>/<kind>/<lower name>"
	sessions map[string]*policy.Document // session policy text → parsed
}

const maxCachedSets = 1 << 14

func newAuthzCache() *authzCache {
	return &authzCache{sets: map[string]*policySet{}, sessions: map[string]*policy.Document{}}
}

func (c *authzCache) session(text string) (*policy.Document, error) {
	c.mu.RLock()
	d, ok := c.sessions[text]
	c.mu.RUnlock()
	if ok {
		return d, nil
	}
	d, err := policy.Parse(text)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.sessions) >= maxCachedSets {
		clear(c.sessions)
	}
	c.sessions[text] = d
	c.mu.Unlock()
	return d, nil
}

// policySet returns the compiled policies of the user or role name,
// loading them when the cached set predates a write of this Service or is
// older than the TTL.
func (s *Service) policySet(ctx context.Context, acct, kind, name string) (*policySet, error) {
	key := acct + "/" + kind + "/" + lower(name)
	now := s.now()
	gen := s.gen.Load()
	s.authz.mu.RLock()
	set, ok := s.authz.sets[key]
	s.authz.mu.RUnlock()
	if ok && set.gen == gen && now.Sub(set.loaded) < s.ttl {
		return set, nil
	}
	set = &policySet{gen: gen, loaded: now, keys: map[string][]string{}}
	ctx = tenancy.WithAccount(ctx, acct)
	err := s.st.View(ctx, func(tx store.Tx) error {
		if kind == "user" {
			return s.loadUserSet(tx, acct, name, set)
		}
		return s.loadRoleSet(tx, acct, name, set)
	})
	if err != nil {
		return nil, fmt.Errorf("iam: load policies of %s %s: %w", kind, name, err)
	}
	s.authz.mu.Lock()
	if len(s.authz.sets) >= maxCachedSets {
		clear(s.authz.sets)
	}
	s.authz.sets[key] = set
	s.authz.mu.Unlock()
	return set, nil
}

func (s *Service) loadUserSet(tx store.Tx, acct, name string, set *policySet) error {
	u, _, err := loadUser(tx, name)
	if errors.Is(err, ErrNoSuchEntity) {
		return nil // deleted since the key was issued: nothing is allowed
	} else if err != nil {
		return err
	}
	addTagKeys(set, u.Tags)
	if err := s.loadHolderDocs(tx, acct, userHolder, name, set); err != nil {
		return err
	}
	memberships, err := tx.Scan(tblIAM, userGroupPrefix(name), "", 0)
	if err != nil {
		return err
	}
	for _, it := range memberships {
		if err := s.loadHolderDocs(tx, acct, groupHolder, lastSegment(it.Key), set); err != nil {
			return err
		}
	}
	if u.Boundary != "" {
		set.boundary = s.managedDocument(tx, acct, u.Boundary)
		if set.boundary == nil {
			set.boundary = &policy.Document{} // a boundary that no longer exists allows nothing
		}
	}
	return nil
}

func (s *Service) loadRoleSet(tx store.Tx, acct, name string, set *policySet) error {
	r, err := loadRole(tx, name)
	if errors.Is(err, ErrNoSuchEntity) {
		return nil
	} else if err != nil {
		return err
	}
	addTagKeys(set, r.Tags)
	if err := s.loadHolderDocs(tx, acct, roleHolder, name, set); err != nil {
		return err
	}
	if r.Boundary != "" {
		set.boundary = s.managedDocument(tx, acct, r.Boundary)
		if set.boundary == nil {
			set.boundary = &policy.Document{}
		}
	}
	return nil
}

func addTagKeys(set *policySet, tags []tag) {
	for _, t := range tags {
		set.keys["aws:PrincipalTag/"+t.Key] = []string{t.Value}
	}
}

// loadHolderDocs adds the inline and attached policies of a user, group or
// role to set.
func (s *Service) loadHolderDocs(tx store.Tx, acct string, h holder, name string, set *policySet) error {
	inline, err := tx.Scan(tblIAM, h.policyPrefix(name), "", 0)
	if err != nil {
		return err
	}
	for _, it := range inline {
		r, err := decodeInto[inlineRec](it)
		if err != nil {
			return err
		}
		d, err := policy.Parse(r.Document)
		if err != nil {
			s.log.Warn("skipping unparsable inline policy", "kind", h.kind, "name", name, "policy", r.Name, "err", err)
			continue
		}
		set.identity = append(set.identity, d)
	}
	attached, err := tx.Scan(tblIAM, h.attachPrefix(name), "", 0)
	if err != nil {
		return err
	}
	for _, it := range attached {
		a, err := decodeInto[attachRec](it)
		if err != nil {
			return err
		}
		if d := s.managedDocument(tx, acct, a.PolicyARN); d != nil {
			set.identity = append(set.identity, d)
		}
	}
	return nil
}

// managedDocument returns the default version of a managed policy, parsed,
// or nil if there is no such policy.
func (s *Service) managedDocument(tx store.Tx, acct, policyARN string) *policy.Document {
	if b, ok := builtinByARN[policyARN]; ok {
		return b.parsed
	}
	m, err := resolveManaged(tx, acct, policyARN)
	if err != nil {
		if !errors.Is(err, ErrNoSuchEntity) {
			s.log.Warn("reading managed policy", "policy", policyARN, "err", err)
		}
		return nil
	}
	d, err := policy.Parse(m.Rec.defaultDocument())
	if err != nil {
		s.log.Warn("skipping unparsable managed policy", "policy", policyARN, "err", err)
		return nil
	}
	return d
}
