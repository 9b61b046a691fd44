package ecs

import (
	"context"
	"regexp"
	"slices"
	"strings"

	"github.com/wharfhq/wharf/api/ecsapi"
	"github.com/wharfhq/wharf/internal/errs"
	"github.com/wharfhq/wharf/internal/ptr"
	"github.com/wharfhq/wharf/internal/store"
)

const (
	targetContainerInstance = "container-instance"
	maxCustomAttributes     = 10
)

var (
	attrNameRE  = regexp.MustCompile(`^[a-zA-Z0-9_./\\-]{1,128}$`)
	attrValueRE = regexp.MustCompile(`^[a-zA-Z0-9_.@/\\:\- ]{1,128}$`)
)

// validAttribute checks an attribute's name and value as ECS does.
func validAttribute(a ecsapi.Attribute) error {
	name := ptr.Value(a.Name)
	if !attrNameRE.MatchString(name) {
		return invalidParam("Attribute name %q is not valid. Up to 128 letters (uppercase and lowercase), numbers, hyphens, underscores, forward slashes, back slashes, or periods are allowed.", name)
	}
	if a.Value != nil {
		v := *a.Value
		if !attrValueRE.MatchString(v) || strings.TrimSpace(v) != v {
			return invalidParam("Attribute value %q is not valid. Up to 128 letters (uppercase and lowercase), numbers, hyphens, underscores, periods, at signs (@), forward slashes, back slashes, colons, or spaces are allowed; the value cannot start or end with whitespace.", v)
		}
	}
	if t := ptr.Value(a.TargetType); t != "" && t != targetContainerInstance {
		return invalidParam("Invalid targetType %q.", t)
	}
	return nil
}

func targetNotFound(id string) error {
	return errs.New(ErrTargetNotFound, "Could not find the target %s.", id)
}

// changeAttributes applies fn to the custom attributes of each target an
// attribute names, in one transaction.
func (s *Service) changeAttributes(ctx context.Context, cluster string, attrs []ecsapi.Attribute,
	fn func(rec *instanceRec, a ecsapi.Attribute) error) ([]ecsapi.Attribute, error) {
	for _, a := range attrs {
		if err := validAttribute(a); err != nil {
			return nil, err
		}
		if ptr.Value(a.TargetId) == "" {
			return nil, invalidParam("Attribute %s has no targetId.", ptr.Value(a.Name))
		}
	}
	out := []ecsapi.Attribute{}
	err := s.update(ctx, func(tx store.Tx) error {
		c, _, err := loadCluster(ctx, tx, cluster)
		if err != nil {
			return err
		}
		type loaded struct {
			rec instanceRec
			rev int64
		}
		touched := map[string]*loaded{}
		var order []string
		for _, a := range attrs {
			target := ptr.Value(a.TargetId)
			id, ok := instanceID(ctx, c.Name, target)
			if !ok {
				return targetNotFound(target)
			}
			l := touched[id]
			if l == nil {
				rec, rev, err := loadInstance(ctx, tx, c.Name, id, false)
				if err != nil {
					return targetNotFound(target)
				}
				l = &loaded{rec, rev}
				touched[id] = l
				order = append(order, id)
			}
			if err := fn(&l.rec, a); err != nil {
				return err
			}
			a.TargetType = ptr.To(targetContainerInstance)
			out = append(out, a)
		}
		for _, id := range order {
			l := touched[id]
			if len(l.rec.Custom) > maxCustomAttributes {
				return errs.New(ErrAttributeLimitExceeded, "You can apply up to %d custom attributes for each resource.", maxCustomAttributes)
			}
			l.rec.Version++
			if err := putJSONIf(tx, instanceKey(c.Name, id), &l.rec, l.rev); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// PutAttributes creates or updates custom attributes of container instances.
func (s *Service) PutAttributes(ctx context.Context, in *ecsapi.PutAttributesRequest) (*ecsapi.PutAttributesResponse, error) {
	out, err := s.changeAttributes(ctx, ptr.Value(in.Cluster), in.Attributes, func(rec *instanceRec, a ecsapi.Attribute) error {
		rec.Custom = setKV(rec.Custom, ptr.Value(a.Name), ptr.Value(a.Value))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &ecsapi.PutAttributesResponse{Attributes: out}, nil
}

// DeleteAttributes removes custom attributes of container instances.
func (s *Service) DeleteAttributes(ctx context.Context, in *ecsapi.DeleteAttributesRequest) (*ecsapi.DeleteAttributesResponse, error) {
	out, err := s.changeAttributes(ctx, ptr.Value(in.Cluster), in.Attributes, func(rec *instanceRec, a ecsapi.Attribute) error {
		name := ptr.Value(a.Name)
		kept := rec.Custom[:0:0]
		for _, c := range rec.Custom {
			if c.Name != name {
				kept = append(kept, c)
			}
		}
		rec.Custom = kept
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &ecsapi.DeleteAttributesResponse{Attributes: out}, nil
}

// ListAttributes lists the attributes (built-in, the agent's and custom)
// of a cluster's container instances, optionally by name and value.
func (s *Service) ListAttributes(ctx context.Context, in *ecsapi.ListAttributesRequest) (*ecsapi.ListAttributesResponse, error) {
	if t := ptr.Value(in.TargetType); t != targetContainerInstance {
		return nil, invalidParam("Invalid targetType %q.", t)
	}
	if in.AttributeValue != nil && in.AttributeName == nil {
		return nil, invalidParam("attributeName must be specified when attributeValue is specified.")
	}
	type row struct {
		pos string
		a   ecsapi.Attribute
	}
	var rows []row
	err := s.view(ctx, func(tx store.Tx) error {
		c, _, err := loadCluster(ctx, tx, ptr.Value(in.Cluster))
		if err != nil {
			return err
		}
		recs, err := scanAll[instanceRec](tx, instancePrefix(c.Name))
		for _, r := range recs {
			if r.Status == statusInactive {
				continue
			}
			for _, a := range append(append([]kv{}, r.Attributes...), r.Custom...) {
				if in.AttributeName != nil && *in.AttributeName != a.Name || in.AttributeValue != nil && *in.AttributeValue != a.Value {
					continue
				}
				at := ecsapi.Attribute{Name: ptr.To(a.Name), TargetType: ptr.To(targetContainerInstance),
					TargetId: ptr.To(instanceARN(ctx, c.Name, r.ID))}
				if a.Value != "" {
					at.Value = ptr.To(a.Value)
				}
				rows = append(rows, row{r.ID + "/" + a.Name, at})
			}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(rows, func(a, b row) int { return strings.Compare(a.pos, b.pos) })
	page, next, err := paginate(rows, func(r row) string { return r.pos }, in.NextToken, maxResults(in.MaxResults, 100, 100), false)
	if err != nil {
		return nil, err
	}
	out := &ecsapi.ListAttributesResponse{Attributes: []ecsapi.Attribute{}}
	for _, r := range page {
		out.Attributes = append(out.Attributes, r.a)
	}
	if next != "" {
		out.NextToken = ptr.To(next)
	}
	return out, nil
}
