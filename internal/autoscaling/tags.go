package autoscaling

import (
	"context"
	"maps"

	aas "github.com/wharfhq/wharf/api/applicationautoscalingapi"
	"github.com/wharfhq/wharf/internal/errs"
	"github.com/wharfhq/wharf/internal/store"
)

// findTargetByARN returns the key and document of the target with ARN a.
func findTargetByARN(tx store.Tx, a string) (string, *targetDoc, int64, error) {
	items, err := tx.Scan(tblAS, "target/", "", 0)
	if err != nil {
		return "", nil, 0, err
	}
	for _, it := range items {
		d, rev, err := getDoc[targetDoc](tx, it.Key, nil)
		if err != nil {
			return "", nil, 0, err
		}
		if deref(d.Target.ScalableTargetARN) == a {
			return it.Key, d, rev, nil
		}
	}
	return "", nil, 0, errs.New(ErrResourceNotFound, "Scalable target with ARN %s not found", a)
}

// TagResource adds or replaces tags of a scalable target.
func (s *Service) TagResource(ctx context.Context, in *aas.TagResourceRequest) (*aas.TagResourceResponse, error) {
	err := s.st.Update(ctx, func(tx store.Tx) error {
		key, d, rev, err := findTargetByARN(tx, deref(in.ResourceARN))
		if err != nil {
			return err
		}
		tags := maps.Clone(d.Tags)
		if tags == nil {
			tags = map[string]string{}
		}
		maps.Copy(tags, in.Tags)
		if len(tags) > maxTags {
			return errs.New(ErrTooManyTags, "The scalable target %s would have more than %d tags", deref(in.ResourceARN), maxTags)
		}
		d.Tags = tags
		return putDoc(tx, key, d, rev)
	})
	if err != nil {
		return nil, err
	}
	return &aas.TagResourceResponse{}, nil
}

// UntagResource removes tags of a scalable target.
func (s *Service) UntagResource(ctx context.Context, in *aas.UntagResourceRequest) (*aas.UntagResourceResponse, error) {
	err := s.st.Update(ctx, func(tx store.Tx) error {
		key, d, rev, err := findTargetByARN(tx, deref(in.ResourceARN))
		if err != nil {
			return err
		}
		for _, k := range in.TagKeys {
			delete(d.Tags, k)
		}
		return putDoc(tx, key, d, rev)
	})
	if err != nil {
		return nil, err
	}
	return &aas.UntagResourceResponse{}, nil
}

// ListTagsForResource returns the tags of a scalable target.
func (s *Service) ListTagsForResource(ctx context.Context, in *aas.ListTagsForResourceRequest) (*aas.ListTagsForResourceResponse, error) {
	var tags map[string]string
	err := s.st.View(ctx, func(tx store.Tx) error {
		_, d, _, err := findTargetByARN(tx, deref(in.ResourceARN))
		if err == nil {
			tags = d.Tags
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if tags == nil {
		tags = map[string]string{}
	}
	return &aas.ListTagsForResourceResponse{Tags: tags}, nil
}

// ResourceARN names the resource an operation acts on for IAM: the
// scalable target's ARN when it exists, else "*".
func (s *Service) ResourceARN(ctx context.Context, op string, in map[string]any) string {
	str := func(k string) string { v, _ := in[k].(string); return v }
	if a := str("ResourceARN"); a != "" {
		return a
	}
	rid := str("ResourceId")
	if rid == "" {
		return ""
	}
	ns, dim := str("ServiceNamespace"), str("ScalableDimension")
	t, err := parseTarget(&ns, &dim, &rid)
	if err != nil {
		return ""
	}
	var a string
	_ = s.st.View(ctx, func(tx store.Tx) error {
		d, _, err := getTarget(tx, t)
		if err == nil {
			a = deref(d.Target.ScalableTargetARN)
		}
		return nil
	})
	return a
}
