package ecr

import (
	"context"
	"sort"
	"strings"

	"github.com/wharfhq/wharf/api/ecrapi"
	"github.com/wharfhq/wharf/internal/arn"
	"github.com/wharfhq/wharf/internal/errs"
	"github.com/wharfhq/wharf/internal/ptr"
	"github.com/wharfhq/wharf/internal/tenancy"
)

// repoOfARN returns the repository an ARN of the caller's registry names.
func repoOfARN(ctx context.Context, s string) (string, error) {
	a, err := arn.Parse(s)
	acct, _ := tenancy.Account(ctx)
	region, _ := tenancy.Region(ctx)
	name, ok := strings.CutPrefix(a.Resource, "repository/")
	if err != nil || a.Service != "ecr" || a.Account != acct || a.Region != region || !ok {
		return "", errs.New(ErrInvalidParameter, "Invalid parameter at 'resourceArn' failed to satisfy constraint: 'Invalid ARN'")
	}
	return name, nil
}

// TagResource adds tags to a repository.
func (s *Service) TagResource(ctx context.Context, in *ecrapi.TagResourceRequest) (*ecrapi.TagResourceResponse, error) {
	name, err := repoOfARN(ctx, ptr.Value(in.ResourceArn))
	if err != nil {
		return nil, err
	}
	add := map[string]string{}
	for _, t := range in.Tags {
		add[ptr.Value(t.Key)] = ptr.Value(t.Value)
	}
	if _, err := s.reg.UpdateRepositoryTags(ctx, name, add, nil); err != nil {
		return nil, s.notFound(ctx, err, name)
	}
	return &ecrapi.TagResourceResponse{}, nil
}

// UntagResource removes tags from a repository.
func (s *Service) UntagResource(ctx context.Context, in *ecrapi.UntagResourceRequest) (*ecrapi.UntagResourceResponse, error) {
	name, err := repoOfARN(ctx, ptr.Value(in.ResourceArn))
	if err != nil {
		return nil, err
	}
	if _, err := s.reg.UpdateRepositoryTags(ctx, name, nil, in.TagKeys); err != nil {
		return nil, s.notFound(ctx, err, name)
	}
	return &ecrapi.UntagResourceResponse{}, nil
}

// ListTagsForResource lists a repository's tags.
func (s *Service) ListTagsForResource(ctx context.Context, in *ecrapi.ListTagsForResourceRequest) (*ecrapi.ListTagsForResourceResponse, error) {
	name, err := repoOfARN(ctx, ptr.Value(in.ResourceArn))
	if err != nil {
		return nil, err
	}
	tags, err := s.reg.UpdateRepositoryTags(ctx, name, nil, nil)
	if err != nil {
		return nil, s.notFound(ctx, err, name)
	}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := &ecrapi.ListTagsForResourceResponse{Tags: []ecrapi.Tag{}}
	for _, k := range keys {
		out.Tags = append(out.Tags, ecrapi.Tag{Key: ptr.To(k), Value: ptr.To(tags[k])})
	}
	return out, nil
}
