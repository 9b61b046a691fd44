package ecs

import (
	"context"
	"strconv"
	"strings"

	"github.com/wharfhq/wharf/api/ecsapi"
	"github.com/wharfhq/wharf/internal/arn"
	"github.com/wharfhq/wharf/internal/errs"
	"github.com/wharfhq/wharf/internal/ptr"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/tenancy"
)

const maxTags = 50

// mergeTags adds or replaces tags, with ECS's limits.
func mergeTags(have []tag, add []ecsapi.Tag) ([]tag, error) {
	out := append([]tag(nil), have...)
	for _, t := range add {
		k, v := ptr.Value(t.Key), ptr.Value(t.Value)
		if k == "" || len(k) > 128 || len(v) > 256 {
			return nil, invalidParam("Tag keys must be between 1 and 128 characters and values at most 256 characters.")
		}
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return nil, invalidParam("Tag keys and values cannot start with the reserved prefix 'aws:'.")
		}
		replaced := false
		for i := range out {
			if out[i].Key == k {
				out[i].Value, replaced = v, true
			}
		}
		if !replaced {
			out = append(out, tag{Key: k, Value: v})
		}
	}
	if len(out) > maxTags {
		return nil, invalidParam("The number of tags on a resource cannot exceed %d.", maxTags)
	}
	return out, nil
}

func removeTags(have []tag, keys []string) []tag {
	out := have[:0:0]
	for _, t := range have {
		drop := false
		for _, k := range keys {
			drop = drop || t.Key == k
		}
		if !drop {
			out = append(out, t)
		}
	}
	return out
}

func apiTags(ts []tag) []ecsapi.Tag {
	out := []ecsapi.Tag{}
	for _, t := range ts {
		out = append(out, ecsapi.Tag{Key: ptr.To(t.Key), Value: ptr.To(t.Value)})
	}
	return out
}

// withTags loads the resource a tag operation names, lets fn change its
// tags (write = true: store them) and returns them.
func (s *Service) withTags(ctx context.Context, resource string, write bool, fn func([]tag) ([]tag, error)) ([]tag, error) {
	a, err := arn.Parse(resource)
	acct, _ := tenancy.Account(ctx)
	region, _ := tenancy.Region(ctx)
	if err != nil || a.Service != "ecs" {
		return nil, invalidParam("The ARN provided is not valid: %s", resource)
	}
	if a.Account != acct || a.Region != region {
		return nil, errs.New(ErrResourceNotFound, "The specified resource could not be found.")
	}
	kind, rest, _ := strings.Cut(a.Resource, "/")
	var out []tag
	txfn := func(tx store.Tx) error {
		switch kind {
		case "cluster":
			c, rev, err := loadCluster(ctx, tx, rest)
			if err != nil {
				return err
			}
			if c.Tags, err = fn(c.Tags); err != nil {
				return err
			}
			out = c.Tags
			if write {
				return putJSONIf(tx, clusterKey(c.Name), &c, rev)
			}
			return nil
		case "task-definition":
			family, revs := splitLast(rest, ":")
			n, err := strconv.Atoi(revs)
			if err != nil || n <= 0 || family == "" {
				return invalidParam("The ARN provided is not valid: %s", resource)
			}
			var td taskDefRec
			rev, err := getJSON(tx, taskDefKey(family, int32(n)), &td)
			if isNotFound(err) {
				return errs.New(ErrResourceNotFound, "The specified resource could not be found.")
			}
			if err != nil {
				return err
			}
			if td.Tags, err = fn(td.Tags); err != nil {
				return err
			}
			out = td.Tags
			if write {
				return putJSONIf(tx, taskDefKey(family, int32(n)), &td, rev)
			}
			return nil
		case "task":
			cluster, id, ok := strings.Cut(rest, "/")
			if !ok {
				return invalidParam("The ARN provided is not valid: %s", resource)
			}
			var t taskRec
			rev, err := getJSON(tx, taskKey(cluster, id), &t)
			if isNotFound(err) {
				return errs.New(ErrResourceNotFound, "The specified resource could not be found.")
			}
			if err != nil {
				return err
			}
			if t.Tags, err = fn(t.Tags); err != nil {
				return err
			}
			out = t.Tags
			if write {
				return putJSONIf(tx, taskKey(cluster, id), &t, rev)
			}
			return nil
		case "service":
			cluster, name, ok := strings.Cut(rest, "/")
			if !ok {
				return invalidParam("The ARN provided is not valid: %s", resource)
			}
			var r serviceRec
			_, err := getJSON(tx, serviceKey(cluster, name), &r)
			if isNotFound(err) || err == nil && r.Status == svcInactive {
				return errs.New(ErrResourceNotFound, "The specified resource could not be found.")
			}
			if err != nil {
				return err
			}
			if r.Tags, err = fn(r.Tags); err != nil {
				return err
			}
			out = r.Tags
			if write {
				// Read in this transaction: a concurrent scheduler pass
				// writing at the revision it read then conflicts and retries.
				return putJSON(tx, serviceKey(cluster, name), &r)
			}
			return nil
		case "container-instance":
			cluster, id, ok := strings.Cut(rest, "/")
			if !ok {
				return invalidParam("The ARN provided is not valid: %s", resource)
			}
			var in instanceRec
			rev, err := getJSON(tx, instanceKey(cluster, id), &in)
			if isNotFound(err) {
				return errs.New(ErrResourceNotFound, "The specified resource could not be found.")
			}
			if err != nil {
				return err
			}
			if in.Tags, err = fn(in.Tags); err != nil {
				return err
			}
			out = in.Tags
			if write {
				return putJSONIf(tx, instanceKey(cluster, id), &in, rev)
			}
			return nil
		}
		return invalidParam("The ARN provided is not valid: %s", resource)
	}
	if write {
		err = s.update(ctx, txfn)
	} else {
		err = s.view(ctx, txfn)
	}
	return out, err
}

// TagResource adds tags to a cluster, task definition, task, container
// instance or service.
func (s *Service) TagResource(ctx context.Context, in *ecsapi.TagResourceRequest) (*ecsapi.TagResourceResponse, error) {
	_, err := s.withTags(ctx, ptr.Value(in.ResourceArn), true, func(have []tag) ([]tag, error) {
		return mergeTags(have, in.Tags)
	})
	if err != nil {
		return nil, err
	}
	return &ecsapi.TagResourceResponse{}, nil
}

// UntagResource removes tags by key.
func (s *Service) UntagResource(ctx context.Context, in *ecsapi.UntagResourceRequest) (*ecsapi.UntagResourceResponse, error) {
	_, err := s.withTags(ctx, ptr.Value(in.ResourceArn), true, func(have []tag) ([]tag, error) {
		return removeTags(have, in.TagKeys), nil
	})
	if err != nil {
		return nil, err
	}
	return &ecsapi.UntagResourceResponse{}, nil
}

// ListTagsForResource returns a resource's tags.
func (s *Service) ListTagsForResource(ctx context.Context, in *ecsapi.ListTagsForResourceRequest) (*ecsapi.ListTagsForResourceResponse, error) {
	tags, err := s.withTags(ctx, ptr.Value(in.ResourceArn), false, func(have []tag) ([]tag, error) { return have, nil })
	if err != nil {
		return nil, err
	}
	return &ecsapi.ListTagsForResourceResponse{Tags: apiTags(tags)}, nil
}
