package registry

import (
	"context"
	"errors"
	"sync"

	"github.com/wharfhq/wharf/internal/errs"
	"github.com/wharfhq/wharf/internal/policy"
	"github.com/wharfhq/wharf/internal/principal"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/tenancy"
)

// Repository policies: ECR's resource-based policies. A statement whose
// Principal is "*" lets anyone — also anonymous callers, when the registry
// has an anonymous tenant — do its actions; other principals of the
// repository's account are allowed by their identity policies or the
// repository policy, and an explicit Deny in either wins, as IAM decides
// within one account.

// ErrPolicyNotFound: the repository has no policy.
var ErrPolicyNotFound = errors.New("repository policy not found")

// ErrPolicyInvalid: a malformed repository policy.
var ErrPolicyInvalid = errors.New("invalid repository policy")

// anonymousActions are what an anonymous caller may ever be allowed: pulls.
var anonymousActions = map[string]bool{actBatchGetImage: true, actGetDownloadURL: true, actCheckLayer: true, actListImages: true}

// policyCache keeps parsed repository policies; writes through this
// Service refresh it (one process per store today).
type policyCache struct {
	mu sync.Mutex
	m  map[string]*policy.Document // tenant@name → nil when none
}

func policyKey(ctx context.Context, name string) string {
	a, _ := tenancy.Account(ctx)
	r, _ := tenancy.Region(ctx)
	return key(a, r, name)
}

// repoPolicy returns the parsed policy of a repository (nil if none or if
// the repository does not exist).
func (s *Service) repoPolicy(ctx context.Context, name string) (*policy.Document, error) {
	k := policyKey(ctx, name)
	s.policies.mu.Lock()
	d, ok := s.policies.m[k]
	s.policies.mu.Unlock()
	if ok {
		return d, nil
	}
	r, err := s.GetRepository(ctx, name)
	if errors.Is(err, ErrNameUnknown) {
		return nil, nil // not cached: it may be created
	}
	if err != nil {
		return nil, err
	}
	if r.Policy != "" {
		if d, err = policy.Parse(r.Policy); err != nil {
			d = nil // stored policies were validated; ignore a broken one
		}
	}
	s.policies.mu.Lock()
	if s.policies.m == nil {
		s.policies.m = map[string]*policy.Document{}
	}
	s.policies.m[k] = d
	s.policies.mu.Unlock()
	return d, nil
}

func (s *Service) forgetPolicy(ctx context.Context, name string) {
	s.policies.mu.Lock()
	delete(s.policies.m, policyKey(ctx, name))
	s.policies.mu.Unlock()
}

// SetRepositoryPolicy validates and stores a repository's policy.
func (s *Service) SetRepositoryPolicy(ctx context.Context, name, text string) error {
	d, err := policy.Parse(text)
	if err != nil {
		var pe *policy.ParseError
		msg := err.Error()
		if errors.As(err, &pe) {
			msg = pe.Message
		}
		return errs.New(ErrPolicyInvalid, "Invalid parameter at 'PolicyText' failed to satisfy constraint: '%s'", msg)
	}
	for i := range d.Statements {
		if !d.Statements[i].HasPrincipal() {
			return errs.New(ErrPolicyInvalid, "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Statement %d has no Principal'", i+1)
		}
	}
	defer s.forgetPolicy(ctx, name)
	return s.update(ctx, name, func(tx store.Tx) error {
		r, err := getRepo(tx, name)
		if err != nil {
			return err
		}
		r.Policy = text
		return putJSON(tx, tblRepos, name, r)
	})
}

// DeleteRepositoryPolicy removes a repository's policy and returns it.
func (s *Service) DeleteRepositoryPolicy(ctx context.Context, name string) (string, error) {
	defer s.forgetPolicy(ctx, name)
	var old string
	err := s.update(ctx, name, func(tx store.Tx) error {
		r, err := getRepo(tx, name)
		if err != nil {
			return err
		}
		if r.Policy == "" {
			return errs.New(ErrPolicyNotFound, "Repository policy does not exist for the repository with name '%s'", name)
		}
		old, r.Policy = r.Policy, ""
		return putJSON(tx, tblRepos, name, r)
	})
	return old, err
}

// decide authorizes action on repository name for the caller of ctx (nil
// principal: anonymous) by identity and repository policy.
func (s *Service) decide(ctx context.Context, action, name string) error {
	res, err := RepositoryARN(ctx, name)
	if err != nil {
		return err
	}
	doc, err := s.repoPolicy(ctx, name)
	if err != nil {
		return err
	}
	p := principal.From(ctx)
	req := policy.Request{Action: action, Resource: res}
	if p == nil {
		if anonymousActions[action] && doc != nil && policy.Evaluate(req, doc).Allowed() {
			return nil
		}
		return errs.New(ErrUnauthorized, "authentication required: log in with an ECR authorization token (user AWS)")
	}
	req.Principal = &policy.Principal{ARN: p.ARN, Account: p.Account}
	var repo policy.Decision
	if doc != nil {
		repo = policy.Evaluate(req, doc)
		if repo.Outcome == policy.ExplicitDeny {
			return errs.New(ErrDenied, "User: %s is not authorized to perform: %s on resource: %s with an explicit deny in a resource-based policy", p.ARN, action, res)
		}
	}
	// Known gap: iam.Authorize does not tell an explicit Deny from an
	// implicit one, so a repository policy's Allow also overrides an
	// explicit Deny in the caller's identity policies.
	idErr := s.authz.Authorize(ctx, p, action, res, nil)
	if idErr == nil || repo.Allowed() {
		return nil
	}
	return errs.New(ErrDenied, "%s", errs.Message(idErr))
}
