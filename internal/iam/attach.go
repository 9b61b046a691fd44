package iam

import (
	"context"
	"errors"
	"strings"

	"github.com/wharfhq/wharf/api/iamapi"
	"github.com/wharfhq/wharf/internal/arn"
	"github.com/wharfhq/wharf/internal/errs"
	"github.com/wharfhq/wharf/internal/policy"
	"github.com/wharfhq/wharf/internal/ptr"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/wire"
)

// holder is a kind of IAM identity that policies are attached to or
// embedded in: users, groups and roles share the same operations.
type holder struct {
	kind         string                                         // user, group, role
	load         func(tx store.Tx, name string) (string, error) // the name as created, or NoSuchEntity
	attachPrefix func(string) string
	policyPrefix func(string) string
	attachQuota  string // IAM quota name for attached managed policies
	inlineMax    int    // IAM quota for the sum of inline policy sizes
}

// maxAttached is IAM's default quota of managed policies per identity.
const maxAttached = 10

var (
	userHolder = holder{
		kind: "user",
		load: func(tx store.Tx, n string) (string, error) {
			u, _, err := loadUser(tx, n)
			return u.Name, err
		},
		attachPrefix: userAttachPrefix, policyPrefix: userPolicyPrefix,
		attachQuota: "PoliciesPerUser", inlineMax: policy.MaxUserInlinePolicySize,
	}
	groupHolder = holder{
		kind: "group",
		load: func(tx store.Tx, n string) (string, error) {
			g, err := loadGroup(tx, n)
			return g.Name, err
		},
		attachPrefix: groupAttachPrefix, policyPrefix: groupPolicyPrefix,
		attachQuota: "PoliciesPerGroup", inlineMax: policy.MaxGroupInlinePolicySize,
	}
	roleHolder = holder{
		kind: "role",
		load: func(tx store.Tx, n string) (string, error) {
			r, err := loadRole(tx, n)
			return r.Name, err
		},
		attachPrefix: roleAttachPrefix, policyPrefix: rolePolicyPrefix,
		attachQuota: "PoliciesPerRole", inlineMax: policy.MaxRoleInlinePolicySize,
	}
)

func (h holder) attachmentKey(policyID, name string) string {
	return attachmentPrefix(policyID) + h.kind + "/" + lower(name)
}

func (s *Service) attach(ctx context.Context, h holder, name, policyARN string) (*wire.Empty, error) {
	err := s.update(ctx, func(tx store.Tx, acct string) error {
		display, err := h.load(tx, name)
		if err != nil {
			return err
		}
		m, err := resolveManaged(tx, acct, policyARN)
		if errors.Is(err, ErrNoSuchEntity) {
			return notAttachable(policyARN)
		} else if err != nil {
			return err
		}
		key := h.attachPrefix(name) + m.ARN
		if ok, err := exists(tx, tblIAM, key); err != nil || ok {
			return err // attaching twice is not an error
		}
		n, err := tx.Count(tblIAM, h.attachPrefix(name))
		if err != nil {
			return err
		}
		if n >= maxAttached {
			return quota(h.attachQuota, maxAttached)
		}
		rec := attachRec{PolicyARN: m.ARN, PolicyID: m.Rec.ID}
		if err := putJSON(tx, tblIAM, key, rec); err != nil {
			return err
		}
		rec.Name = display
		return putJSON(tx, tblIAM, h.attachmentKey(m.Rec.ID, name), rec)
	})
	if err != nil {
		return nil, err
	}
	return &wire.Empty{}, nil
}

func (s *Service) detach(ctx context.Context, h holder, name, policyARN string) (*wire.Empty, error) {
	err := s.update(ctx, func(tx store.Tx, _ string) error {
		if _, err := h.load(tx, name); err != nil {
			return err
		}
		key := h.attachPrefix(name) + policyARN
		var rec attachRec
		if _, err := getJSON(tx, tblIAM, key, &rec); errors.Is(err, store.ErrNotFound) {
			return noSuchPolicy(policyARN)
		} else if err != nil {
			return err
		}
		if err := tx.Delete(tblIAM, key); err != nil {
			return err
		}
		return deleteIfExists(tx, tblIAM, h.attachmentKey(rec.PolicyID, name))
	})
	if err != nil {
		return nil, err
	}
	return &wire.Empty{}, nil
}

type attachedPage struct {
	policies  []iamapi.AttachedPolicy
	truncated bool
	marker    *string
}

func (s *Service) listAttached(ctx context.Context, h holder, name string, pathPrefix, marker *string, max *int32) (attachedPage, error) {
	prefix := pathOr(pathPrefix)
	out := attachedPage{policies: []iamapi.AttachedPolicy{}}
	err := s.view(ctx, func(tx store.Tx, _ string) error {
		if _, err := h.load(tx, name); err != nil {
			return err
		}
		pfx := h.attachPrefix(name)
		pg, err := scanPage(tx, tblIAM, pfx, marker, maxItems(max), func(it store.Item) (bool, error) {
			_, _, path, _, err := arn.SplitIAM(strings.TrimPrefix(it.Key, pfx))
			return err == nil && strings.HasPrefix(path, prefix), nil
		})
		if err != nil {
			return err
		}
		for _, it := range pg.items {
			policyARN := strings.TrimPrefix(it.Key, pfx)
			_, _, _, pname, _ := arn.SplitIAM(policyARN)
			out.policies = append(out.policies, iamapi.AttachedPolicy{PolicyArn: ptr.To(policyARN), PolicyName: ptr.To(pname)})
		}
		out.truncated = pg.truncated
		if pg.truncated {
			out.marker = ptr.To(pg.marker)
		}
		return nil
	})
	return out, err
}

// Inline policies.

func (s *Service) putInline(ctx context.Context, h holder, name, policyName, document string) (*wire.Empty, error) {
	if err := validName("policyName", policyName, 128); err != nil {
		return nil, err
	}
	doc, err := validateDocument(document, inlineDoc)
	if err != nil {
		return nil, err
	}
	err = s.update(ctx, func(tx store.Tx, _ string) error {
		display, err := h.load(tx, name)
		if err != nil {
			return err
		}
		pfx := h.policyPrefix(name)
		others, err := tx.Scan(tblIAM, pfx, "", 0)
		if err != nil {
			return err
		}
		size := policy.Size(doc)
		for _, it := range others {
			if it.Key == pfx+lower(policyName) {
				continue
			}
			r, err := decodeInto[inlineRec](it)
			if err != nil {
				return err
			}
			size += policy.Size(r.Document)
		}
		if size > h.inlineMax {
			return errs.New(ErrLimitExceeded, "Maximum policy size of %d bytes exceeded for %s %s", h.inlineMax, h.kind, display)
		}
		return putJSON(tx, tblIAM, pfx+lower(policyName), inlineRec{Name: policyName, Document: doc})
	})
	if err != nil {
		return nil, err
	}
	return &wire.Empty{}, nil
}

func (h holder) noSuchInline(policyName string) error {
	return errs.New(ErrNoSuchEntity, "The %s policy with name %s cannot be found.", h.kind, policyName)
}

// getInline returns the entity's name as created and the policy.
func (s *Service) getInline(ctx context.Context, h holder, name, policyName string) (string, inlineRec, error) {
	var display string
	var rec inlineRec
	err := s.view(ctx, func(tx store.Tx, _ string) error {
		var err error
		if display, err = h.load(tx, name); err != nil {
			return err
		}
		_, err = getJSON(tx, tblIAM, h.policyPrefix(name)+lower(policyName), &rec)
		if errors.Is(err, store.ErrNotFound) {
			return h.noSuchInline(policyName)
		}
		return err
	})
	return display, rec, err
}

func (s *Service) listInline(ctx context.Context, h holder, name string, marker *string, max *int32) ([]string, bool, *string, error) {
	names := []string{}
	var trunc bool
	var next *string
	err := s.view(ctx, func(tx store.Tx, _ string) error {
		if _, err := h.load(tx, name); err != nil {
			return err
		}
		pg, err := scanPage(tx, tblIAM, h.policyPrefix(name), marker, maxItems(max), nil)
		if err != nil {
			return err
		}
		for _, it := range pg.items {
			r, err := decodeInto[inlineRec](it)
			if err != nil {
				return err
			}
			names = append(names, r.Name)
		}
		trunc = pg.truncated
		if trunc {
			next = ptr.To(pg.marker)
		}
		return nil
	})
	return names, trunc, next, err
}

func (s *Service) deleteInline(ctx context.Context, h holder, name, policyName string) (*wire.Empty, error) {
	err := s.update(ctx, func(tx store.Tx, _ string) error {
		if _, err := h.load(tx, name); err != nil {
			return err
		}
		err := tx.Delete(tblIAM, h.policyPrefix(name)+lower(policyName))
		if errors.Is(err, store.ErrNotFound) {
			return h.noSuchInline(policyName)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &wire.Empty{}, nil
}

// The API methods.

// AttachUserPolicy attaches a managed policy to a user.
func (s *Service) AttachUserPolicy(ctx context.Context, in *iamapi.AttachUserPolicyRequest) (*wire.Empty, error) {
	return s.attach(ctx, userHolder, ptr.Value(in.UserName), ptr.Value(in.PolicyArn))
}

// DetachUserPolicy detaches a managed policy from a user.
func (s *Service) DetachUserPolicy(ctx context.Context, in *iamapi.DetachUserPolicyRequest) (*wire.Empty, error) {
	return s.detach(ctx, userHolder, ptr.Value(in.UserName), ptr.Value(in.PolicyArn))
}

// ListAttachedUserPolicies lists the managed policies attached to a user.
func (s *Service) ListAttachedUserPolicies(ctx context.Context, in *iamapi.ListAttachedUserPoliciesRequest) (*iamapi.ListAttachedUserPoliciesResponse, error) {
	p, err := s.listAttached(ctx, userHolder, ptr.Value(in.UserName), in.PathPrefix, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &iamapi.ListAttachedUserPoliciesResponse{AttachedPolicies: p.policies, IsTruncated: ptr.To(p.truncated), Marker: p.marker}, nil
}

// AttachGroupPolicy attaches a managed policy to a group.
func (s *Service) AttachGroupPolicy(ctx context.Context, in *iamapi.AttachGroupPolicyRequest) (*wire.Empty, error) {
	return s.attach(ctx, groupHolder, ptr.Value(in.GroupName), ptr.Value(in.PolicyArn))
}

// DetachGroupPolicy detaches a managed policy from a group.
func (s *Service) DetachGroupPolicy(ctx context.Context, in *iamapi.DetachGroupPolicyRequest) (*wire.Empty, error) {
	return s.detach(ctx, groupHolder, ptr.Value(in.GroupName), ptr.Value(in.PolicyArn))
}

// ListAttachedGroupPolicies lists the managed policies attached to a group.
func (s *Service) ListAttachedGroupPolicies(ctx context.Context, in *iamapi.ListAttachedGroupPoliciesRequest) (*iamapi.ListAttachedGroupPoliciesResponse, error) {
	p, err := s.listAttached(ctx, groupHolder, ptr.Value(in.GroupName), in.PathPrefix, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &iamapi.ListAttachedGroupPoliciesResponse{AttachedPolicies: p.policies, IsTruncated: ptr.To(p.truncated), Marker: p.marker}, nil
}

// AttachRolePolicy attaches a managed policy to a role.
func (s *Service) AttachRolePolicy(ctx context.Context, in *iamapi.AttachRolePolicyRequest) (*wire.Empty, error) {
	return s.attach(ctx, roleHolder, ptr.Value(in.RoleName), ptr.Value(in.PolicyArn))
}

// DetachRolePolicy detaches a managed policy from a role.
func (s *Service) DetachRolePolicy(ctx context.Context, in *iamapi.DetachRolePolicyRequest) (*wire.Empty, error) {
	return s.detach(ctx, roleHolder, ptr.Value(in.RoleName), ptr.Value(in.PolicyArn))
}

// ListAttachedRolePolicies lists the managed policies attached to a role.
func (s *Service) ListAttachedRolePolicies(ctx context.Context, in *iamapi.ListAttachedRolePoliciesRequest) (*iamapi.ListAttachedRolePoliciesResponse, error) {
	p, err := s.listAttached(ctx, roleHolder, ptr.Value(in.RoleName), in.PathPrefix, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &iamapi.ListAttachedRolePoliciesResponse{AttachedPolicies: p.policies, IsTruncated: ptr.To(p.truncated), Marker: p.marker}, nil
}

// PutUserPolicy creates or replaces an inline policy of a user.
func (s *Service) PutUserPolicy(ctx context.Context, in *iamapi.PutUserPolicyRequest) (*wire.Empty, error) {
	return s.putInline(ctx, userHolder, ptr.Value(in.UserName), ptr.Value(in.PolicyName), ptr.Value(in.PolicyDocument))
}

// GetUserPolicy returns an inline policy of a user (URL-encoded, as IAM).
func (s *Service) GetUserPolicy(ctx context.Context, in *iamapi.GetUserPolicyRequest) (*iamapi.GetUserPolicyResponse, error) {
	name, rec, err := s.getInline(ctx, userHolder, ptr.Value(in.UserName), ptr.Value(in.PolicyName))
	if err != nil {
		return nil, err
	}
	return &iamapi.GetUserPolicyResponse{UserName: ptr.To(name), PolicyName: ptr.To(rec.Name), PolicyDocument: ptr.To(encodeDocument(rec.Document))}, nil
}

// ListUserPolicies lists the names of a user's inline policies.
func (s *Service) ListUserPolicies(ctx context.Context, in *iamapi.ListUserPoliciesRequest) (*iamapi.ListUserPoliciesResponse, error) {
	names, trunc, next, err := s.listInline(ctx, userHolder, ptr.Value(in.UserName), in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &iamapi.ListUserPoliciesResponse{PolicyNames: names, IsTruncated: ptr.To(trunc), Marker: next}, nil
}

// DeleteUserPolicy deletes an inline policy of a user.
func (s *Service) DeleteUserPolicy(ctx context.Context, in *iamapi.DeleteUserPolicyRequest) (*wire.Empty, error) {
	return s.deleteInline(ctx, userHolder, ptr.Value(in.UserName), ptr.Value(in.PolicyName))
}

// PutGroupPolicy creates or replaces an inline policy of a group.
func (s *Service) PutGroupPolicy(ctx context.Context, in *iamapi.PutGroupPolicyRequest) (*wire.Empty, error) {
	return s.putInline(ctx, groupHolder, ptr.Value(in.GroupName), ptr.Value(in.PolicyName), ptr.Value(in.PolicyDocument))
}

// GetGroupPolicy returns an inline policy of a group.
func (s *Service) GetGroupPolicy(ctx context.Context, in *iamapi.GetGroupPolicyRequest) (*iamapi.GetGroupPolicyResponse, error) {
	name, rec, err := s.getInline(ctx, groupHolder, ptr.Value(in.GroupName), ptr.Value(in.PolicyName))
	if err != nil {
		return nil, err
	}
	return &iamapi.GetGroupPolicyResponse{GroupName: ptr.To(name), PolicyName: ptr.To(rec.Name), PolicyDocument: ptr.To(encodeDocument(rec.Document))}, nil
}

// ListGroupPolicies lists the names of a group's inline policies.
func (s *Service) ListGroupPolicies(ctx context.Context, in *iamapi.ListGroupPoliciesRequest) (*iamapi.ListGroupPoliciesResponse, error) {
	names, trunc, next, err := s.listInline(ctx, groupHolder, ptr.Value(in.GroupName), in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &iamapi.ListGroupPoliciesResponse{PolicyNames: names, IsTruncated: ptr.To(trunc), Marker: next}, nil
}

// DeleteGroupPolicy deletes an inline policy of a group.
func (s *Service) DeleteGroupPolicy(ctx context.Context, in *iamapi.DeleteGroupPolicyRequest) (*wire.Empty, error) {
	return s.deleteInline(ctx, groupHolder, ptr.Value(in.GroupName), ptr.Value(in.PolicyName))
}

// PutRolePolicy creates or replaces an inline policy of a role.
func (s *Service) PutRolePolicy(ctx context.Context, in *iamapi.PutRolePolicyRequest) (*wire.Empty, error) {
	return s.putInline(ctx, roleHolder, ptr.Value(in.RoleName), ptr.Value(in.PolicyName), ptr.Value(in.PolicyDocument))
}

// GetRolePolicy returns an inline policy of a role.
func (s *Service) GetRolePolicy(ctx context.Context, in *iamapi.GetRolePolicyRequest) (*iamapi.GetRolePolicyResponse, error) {
	name, rec, err := s.getInline(ctx, roleHolder, ptr.Value(in.RoleName), ptr.Value(in.PolicyName))
	if err != nil {
		return nil, err
	}
	return &iamapi.GetRolePolicyResponse{RoleName: ptr.To(name), PolicyName: ptr.To(rec.Name), PolicyDocument: ptr.To(encodeDocument(rec.Document))}, nil
}

// ListRolePolicies lists the names of a role's inline policies.
func (s *Service) ListRolePolicies(ctx context.Context, in *iamapi.ListRolePoliciesRequest) (*iamapi.ListRolePoliciesResponse, error) {
	names, trunc, next, err := s.listInline(ctx, roleHolder, ptr.Value(in.RoleName), in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &iamapi.ListRolePoliciesResponse{PolicyNames: names, IsTruncated: ptr.To(trunc), Marker: next}, nil
}

// DeleteRolePolicy deletes an inline policy of a role.
func (s *Service) DeleteRolePolicy(ctx context.Context, in *iamapi.DeleteRolePolicyRequest) (*wire.Empty, error) {
	return s.deleteInline(ctx, roleHolder, ptr.Value(in.RoleName), ptr.Value(in.PolicyName))
}
