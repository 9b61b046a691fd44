package ecr

import (
	"context"

	"github.com/wharfhq/wharf/api/ecrapi"
	"github.com/wharfhq/wharf/internal/errs"
	"github.com/wharfhq/wharf/internal/ptr"
	"github.com/wharfhq/wharf/internal/registry"
	"github.com/wharfhq/wharf/internal/tenancy"
)

// SetRepositoryPolicy sets who may do what with a repository. A statement
// with Principal "*" and pull actions makes the repository public.
func (s *Service) SetRepositoryPolicy(ctx context.Context, in *ecrapi.SetRepositoryPolicyRequest) (*ecrapi.SetRepositoryPolicyResponse, error) {
	if err := checkRegistryID(ctx, in.RegistryId); err != nil {
		return nil, err
	}
	name := ptr.Value(in.RepositoryName)
	if err := s.reg.SetRepositoryPolicy(ctx, name, ptr.Value(in.PolicyText)); err != nil {
		return nil, s.notFound(ctx, err, name)
	}
	acct, _ := tenancy.Account(ctx)
	return &ecrapi.SetRepositoryPolicyResponse{PolicyText: in.PolicyText, RegistryId: ptr.To(acct), RepositoryName: ptr.To(name)}, nil
}

// GetRepositoryPolicy returns a repository's policy.
func (s *Service) GetRepositoryPolicy(ctx context.Context, in *ecrapi.GetRepositoryPolicyRequest) (*ecrapi.GetRepositoryPolicyResponse, error) {
	if err := checkRegistryID(ctx, in.RegistryId); err != nil {
		return nil, err
	}
	name := ptr.Value(in.RepositoryName)
	r, err := s.reg.GetRepository(ctx, name)
	if err != nil {
		return nil, s.notFound(ctx, err, name)
	}
	acct, _ := tenancy.Account(ctx)
	if r.Policy == "" {
		return nil, errs.New(registry.ErrPolicyNotFound, "Repository policy does not exist for the repository with name '%s' in the registry with id '%s'", name, acct)
	}
	return &ecrapi.GetRepositoryPolicyResponse{PolicyText: ptr.To(r.Policy), RegistryId: ptr.To(acct), RepositoryName: ptr.To(name)}, nil
}

// DeleteRepositoryPolicy removes a repository's policy.
func (s *Service) DeleteRepositoryPolicy(ctx context.Context, in *ecrapi.DeleteRepositoryPolicyRequest) (*ecrapi.DeleteRepositoryPolicyResponse, error) {
	if err := checkRegistryID(ctx, in.RegistryId); err != nil {
		return nil, err
	}
	name := ptr.Value(in.RepositoryName)
	old, err := s.reg.DeleteRepositoryPolicy(ctx, name)
	if err != nil {
		return nil, s.notFound(ctx, err, name)
	}
	acct, _ := tenancy.Account(ctx)
	return &ecrapi.DeleteRepositoryPolicyResponse{PolicyText: ptr.To(old), RegistryId: ptr.To(acct), RepositoryName: ptr.To(name)}, nil
}
