package logs

import (
	"context"
	"strings"

	"github.com/wharfhq/wharf/api/logsapi"
	"github.com/wharfhq/wharf/internal/arn"
	"github.com/wharfhq/wharf/internal/errs"
	"github.com/wharfhq/wharf/internal/ptr"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/tenancy"
	"github.com/wharfhq/wharf/internal/wire"
)

// groupOfARN returns the log group a resource ARN names (log groups are the
// taggable resource here).
func groupOfARN(ctx context.Context, s string) (string, error) {
	a, err := arn.Parse(s)
	acct, _ := tenancy.Account(ctx)
	region, _ := tenancy.Region(ctx)
	if err != nil || a.Service != "logs" || !strings.HasPrefix(a.Resource, "log-group:") {
		return "", errs.New(ErrInvalidParameter, "Invalid resourceArn %s.", s)
	}
	if a.Account != acct || a.Region != region {
		return "", errs.New(ErrNotFound, "The specified log group does not exist.")
	}
	name := strings.TrimSuffix(strings.TrimPrefix(a.Resource, "log-group:"), ":*")
	if strings.Contains(name, ":") {
		return "", errs.New(ErrInvalidParameter, "Only log groups can be tagged: %s.", s)
	}
	return name, nil
}

// editTags applies fn to a group's tags.
func (s *Service) editTags(ctx context.Context, name string, fn func(map[string]string)) error {
	return s.st.Update(ctx, func(tx store.Tx) error {
		g, _, err := loadGroup(tx, name)
		if err != nil {
			return err
		}
		if g.Tags == nil {
			g.Tags = map[string]string{}
		}
		fn(g.Tags)
		if len(g.Tags) > maxTags {
			return errs.New(ErrLimitExceeded, "A log group can have at most %d tags.", maxTags)
		}
		return putJSON(tx, tblGroups, name, g)
	})
}

func (s *Service) tagsOf(ctx context.Context, name string) (map[string]string, error) {
	var tags map[string]string
	err := s.st.View(ctx, func(tx store.Tx) error {
		g, _, err := loadGroup(tx, name)
		tags = g.Tags
		return err
	})
	if tags == nil {
		tags = map[string]string{}
	}
	return tags, err
}

// TagResource adds or replaces tags of a log group named by ARN.
func (s *Service) TagResource(ctx context.Context, in *logsapi.TagResourceRequest) (*wire.Empty, error) {
	name, err := groupOfARN(ctx, ptr.Value(in.ResourceArn))
	if err != nil {
		return nil, err
	}
	if err := s.editTags(ctx, name, func(m map[string]string) {
		for k, v := range in.Tags {
			m[k] = v
		}
	}); err != nil {
		return nil, err
	}
	return &wire.Empty{}, nil
}

// UntagResource removes tags of a log group named by ARN.
func (s *Service) UntagResource(ctx context.Context, in *logsapi.UntagResourceRequest) (*wire.Empty, error) {
	name, err := groupOfARN(ctx, ptr.Value(in.ResourceArn))
	if err != nil {
		return nil, err
	}
	if err := s.editTags(ctx, name, func(m map[string]string) {
		for _, k := range in.TagKeys {
			delete(m, k)
		}
	}); err != nil {
		return nil, err
	}
	return &wire.Empty{}, nil
}

// ListTagsForResource lists a log group's tags by ARN.
func (s *Service) ListTagsForResource(ctx context.Context, in *logsapi.ListTagsForResourceRequest) (*logsapi.ListTagsForResourceResponse, error) {
	name, err := groupOfARN(ctx, ptr.Value(in.ResourceArn))
	if err != nil {
		return nil, err
	}
	tags, err := s.tagsOf(ctx, name)
	if err != nil {
		return nil, err
	}
	return &logsapi.ListTagsForResourceResponse{Tags: tags}, nil
}

// TagLogGroup is the older, name-based TagResource.
func (s *Service) TagLogGroup(ctx context.Context, in *logsapi.TagLogGroupRequest) (*wire.Empty, error) {
	if err := s.editTags(ctx, ptr.Value(in.LogGroupName), func(m map[string]string) {
		for k, v := range in.Tags {
			m[k] = v
		}
	}); err != nil {
		return nil, err
	}
	return &wire.Empty{}, nil
}

// UntagLogGroup is the older, name-based UntagResource.
func (s *Service) UntagLogGroup(ctx context.Context, in *logsapi.UntagLogGroupRequest) (*wire.Empty, error) {
	if err := s.editTags(ctx, ptr.Value(in.LogGroupName), func(m map[string]string) {
		for _, k := range in.Tags {
			delete(m, k)
		}
	}); err != nil {
		return nil, err
	}
	return &wire.Empty{}, nil
}

// ListTagsLogGroup is the older, name-based ListTagsForResource.
func (s *Service) ListTagsLogGroup(ctx context.Context, in *logsapi.ListTagsLogGroupRequest) (*logsapi.ListTagsLogGroupResponse, error) {
	tags, err := s.tagsOf(ctx, ptr.Value(in.LogGroupName))
	if err != nil {
		return nil, err
	}
	return &logsapi.ListTagsLogGroupResponse{Tags: tags}, nil
}
