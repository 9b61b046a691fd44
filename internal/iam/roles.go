package iam

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/wharfhq/wharf/api/iamapi"
	"github.com/wharfhq/wharf/internal/errs"
	"github.com/wharfhq/wharf/internal/ptr"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/wire"
)

// Session duration bounds of a role, in seconds.
const (
	defaultMaxSessionDuration = 3600
	minMaxSessionDuration     = 3600
	maxMaxSessionDuration     = 43200
)

func apiRole(acct string, r *roleRec, withTags bool) iamapi.Role {
	out := iamapi.Role{
		Arn:                      ptr.To(roleARN(acct, r)),
		AssumeRolePolicyDocument: ptr.To(encodeDocument(r.TrustPolicy)),
		CreateDate:               ptr.To(r.Created),
		MaxSessionDuration:       ptr.To(r.MaxSessionDuration),
		Path:                     ptr.To(r.Path),
		RoleId:                   ptr.To(r.ID),
		RoleName:                 ptr.To(r.Name),
	}
	if r.Description != "" {
		out.Description = ptr.To(r.Description)
	}
	if withTags {
		out.Tags = apiTags(r.Tags)
		out.RoleLastUsed = &iamapi.RoleLastUsed{}
	}
	if r.Boundary != "" {
		out.PermissionsBoundary = &iamapi.AttachedPermissionsBoundary{
			PermissionsBoundaryArn: ptr.To(r.Boundary), PermissionsBoundaryType: ptr.To("Policy")}
	}
	return out
}

func checkMaxSession(d int32) error {
	if d < minMaxSessionDuration || d > maxMaxSessionDuration {
		return errs.New(ErrValidation, "1 validation error detected: Value '%d' at 'maxSessionDuration' failed to satisfy constraint: Member must have value between %d and %d", d, minMaxSessionDuration, maxMaxSessionDuration)
	}
	return nil
}

// CreateRole creates a role with its trust policy.
func (s *Service) CreateRole(ctx context.Context, in *iamapi.CreateRoleRequest) (*iamapi.CreateRoleResponse, error) {
	name, path := ptr.Value(in.RoleName), pathOr(in.Path)
	if err := validName("roleName", name, 64); err != nil {
		return nil, err
	}
	if err := validPath(path); err != nil {
		return nil, err
	}
	maxSession := ptr.Or(in.MaxSessionDuration, defaultMaxSessionDuration)
	if err := checkMaxSession(maxSession); err != nil {
		return nil, err
	}
	trust, err := validateDocument(ptr.Value(in.AssumeRolePolicyDocument), trustDoc)
	if err != nil {
		return nil, err
	}
	tags, err := mergeTags(nil, in.Tags, "TagsPerRole")
	if err != nil {
		return nil, err
	}
	r := roleRec{Name: name, Path: path, ID: newID("AROA"), Created: s.stamp(), TrustPolicy: trust,
		Description: ptr.Value(in.Description), MaxSessionDuration: maxSession, Tags: tags}
	var out iamapi.Role
	err = s.update(ctx, func(tx store.Tx, acct string) error {
		if b := ptr.Value(in.PermissionsBoundary); b != "" {
			if _, err := resolveManaged(tx, acct, b); err != nil {
				return errs.New(ErrInvalidInput, "Scope ARN: %s does not exist or is not attachable.", b)
			}
			r.Boundary = b
		}
		if err := createJSON(tx, tblIAM, roleKey(name), &r); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return errs.New(ErrEntityAlreadyExists, "Role with name %s already exists.", name)
			}
			return err
		}
		out = apiRole(acct, &r, true)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.CreateRoleResponse{Role: &out}, nil
}

// GetRole describes a role.
func (s *Service) GetRole(ctx context.Context, in *iamapi.GetRoleRequest) (*iamapi.GetRoleResponse, error) {
	var out iamapi.Role
	err := s.view(ctx, func(tx store.Tx, acct string) error {
		r, err := loadRole(tx, ptr.Value(in.RoleName))
		if err != nil {
			return err
		}
		out = apiRole(acct, &r, true)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.GetRoleResponse{Role: &out}, nil
}

// ListRoles lists the roles whose path starts with PathPrefix.
func (s *Service) ListRoles(ctx context.Context, in *iamapi.ListRolesRequest) (*iamapi.ListRolesResponse, error) {
	prefix := pathOr(in.PathPrefix)
	out := &iamapi.ListRolesResponse{Roles: []iamapi.Role{}}
	err := s.view(ctx, func(tx store.Tx, acct string) error {
		var found []roleRec
		pg, err := scanPage(tx, tblIAM, "role/", in.Marker, maxItems(in.MaxItems), func(it store.Item) (bool, error) {
			r, err := decodeInto[roleRec](it)
			if err != nil || !strings.HasPrefix(r.Path, prefix) {
				return false, err
			}
			found = append(found, r)
			return true, nil
		})
		if err != nil {
			return err
		}
		for _, r := range found[:len(pg.items)] {
			out.Roles = append(out.Roles, apiRole(acct, &r, false))
		}
		out.IsTruncated = ptr.To(pg.truncated)
		if pg.truncated {
			out.Marker = ptr.To(pg.marker)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteRole deletes a role without policies. Sessions already issued for
// it stop being allowed anything, since their permissions are gone.
func (s *Service) DeleteRole(ctx context.Context, in *iamapi.DeleteRoleRequest) (*wire.Empty, error) {
	name := ptr.Value(in.RoleName)
	err := s.update(ctx, func(tx store.Tx, _ string) error {
		if _, err := loadRole(tx, name); err != nil {
			return err
		}
		for _, c := range []struct{ prefix, msg string }{
			{rolePolicyPrefix(name), "Cannot delete entity, must delete policies first."},
			{roleAttachPrefix(name), "Cannot delete entity, must detach all policies first."},
		} {
			n, err := tx.Count(tblIAM, c.prefix)
			if err != nil {
				return err
			}
			if n > 0 {
				return errs.New(ErrDeleteConflict, "%s", c.msg)
			}
		}
		return tx.Delete(tblIAM, roleKey(name))
	})
	if err != nil {
		return nil, err
	}
	return &wire.Empty{}, nil
}

// modifyRole applies fn to a stored role.
func (s *Service) modifyRole(ctx context.Context, name string, fn func(r *roleRec) error) error {
	return s.update(ctx, func(tx store.Tx, _ string) error {
		r, err := loadRole(tx, name)
		if err != nil {
			return err
		}
		if err := fn(&r); err != nil {
			return err
		}
		return putJSON(tx, tblIAM, roleKey(name), &r)
	})
}

// UpdateAssumeRolePolicy replaces a role's trust policy.
func (s *Service) UpdateAssumeRolePolicy(ctx context.Context, in *iamapi.UpdateAssumeRolePolicyRequest) (*wire.Empty, error) {
	trust, err := validateDocument(ptr.Value(in.PolicyDocument), trustDoc)
	if err != nil {
		return nil, err
	}
	err = s.modifyRole(ctx, ptr.Value(in.RoleName), func(r *roleRec) error {
		r.TrustPolicy = trust
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &wire.Empty{}, nil
}

// UpdateRole changes a role's description or maximum session duration.
func (s *Service) UpdateRole(ctx context.Context, in *iamapi.UpdateRoleRequest) (*iamapi.UpdateRoleResponse, error) {
	if in.MaxSessionDuration != nil {
		if err := checkMaxSession(*in.MaxSessionDuration); err != nil {
			return nil, err
		}
	}
	err := s.modifyRole(ctx, ptr.Value(in.RoleName), func(r *roleRec) error {
		if in.Description != nil {
			r.Description = *in.Description
		}
		if in.MaxSessionDuration != nil {
			r.MaxSessionDuration = *in.MaxSessionDuration
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.UpdateRoleResponse{}, nil
}

// TagRole adds or replaces tags of a role.
func (s *Service) TagRole(ctx context.Context, in *iamapi.TagRoleRequest) (*wire.Empty, error) {
	err := s.modifyRole(ctx, ptr.Value(in.RoleName), func(r *roleRec) error {
		var err error
		r.Tags, err = mergeTags(r.Tags, in.Tags, "TagsPerRole")
		return err
	})
	if err != nil {
		return nil, err
	}
	return &wire.Empty{}, nil
}

// UntagRole removes tags of a role.
func (s *Service) UntagRole(ctx context.Context, in *iamapi.UntagRoleRequest) (*wire.Empty, error) {
	err := s.modifyRole(ctx, ptr.Value(in.RoleName), func(r *roleRec) error {
		r.Tags = removeTags(r.Tags, in.TagKeys)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &wire.Empty{}, nil
}

// ListRoleTags lists the tags of a role.
func (s *Service) ListRoleTags(ctx context.Context, in *iamapi.ListRoleTagsRequest) (*iamapi.ListRoleTagsResponse, error) {
	var r roleRec
	err := s.view(ctx, func(tx store.Tx, _ string) error {
		var err error
		r, err = loadRole(tx, ptr.Value(in.RoleName))
		return err
	})
	if err != nil {
		return nil, err
	}
	t, err := listTags(r.Tags, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &iamapi.ListRoleTagsResponse{Tags: t.Tags, IsTruncated: t.IsTruncated, Marker: t.Marker}, nil
}

// Role is what STS needs to know about a role to issue sessions for it.
type Role struct {
	Name, Path, ID, ARN string
	// TrustPolicy is the JSON text of the role's trust policy.
	TrustPolicy string
	// MaxSessionDuration bounds the sessions of the role.
	MaxSessionDuration time.Duration
}

// LookupRole returns the role called name in the account of ctx, or an
// error wrapping ErrNoSuchEntity.
func (s *Service) LookupRole(ctx context.Context, name string) (Role, error) {
	var out Role
	err := s.view(ctx, func(tx store.Tx, acct string) error {
		r, err := loadRole(tx, name)
		if err != nil {
			return err
		}
		out = Role{Name: r.Name, Path: r.Path, ID: r.ID, ARN: roleARN(acct, &r), TrustPolicy: r.TrustPolicy,
			MaxSessionDuration: time.Duration(r.MaxSessionDuration) * time.Second}
		return nil
	})
	return out, err
}

// ManagedPolicyDocument returns the JSON text of the default version of a
// managed policy (the account's or AWS's), or an error wrapping
// ErrNoSuchEntity. STS uses it for managed session policies.
func (s *Service) ManagedPolicyDocument(ctx context.Context, policyARN string) (string, error) {
	var doc string
	err := s.view(ctx, func(tx store.Tx, acct string) error {
		m, err := resolveManaged(tx, acct, policyARN)
		doc = m.Rec.defaultDocument()
		return err
	})
	return doc, err
}
