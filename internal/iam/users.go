package iam

import (
	"context"
	"errors"
	"strings"

	"github.com/wharfhq/wharf/api/iamapi"
	"github.com/wharfhq/wharf/internal/errs"
	"github.com/wharfhq/wharf/internal/ptr"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/wire"
)

func apiUser(acct string, u *userRec, withTags bool) iamapi.User {
	out := iamapi.User{
		Arn:        ptr.To(userARN(acct, u)),
		CreateDate: ptr.To(u.Created),
		Path:       ptr.To(u.Path),
		UserId:     ptr.To(u.ID),
		UserName:   ptr.To(u.Name),
	}
	if withTags {
		out.Tags = apiTags(u.Tags)
	}
	if u.Boundary != "" {
		out.PermissionsBoundary = &iamapi.AttachedPermissionsBoundary{
			PermissionsBoundaryArn:  ptr.To(u.Boundary),
			PermissionsBoundaryType: ptr.To("Policy"),
		}
	}
	return out
}

// CreateUser creates an IAM user.
func (s *Service) CreateUser(ctx context.Context, in *iamapi.CreateUserRequest) (*iamapi.CreateUserResponse, error) {
	name, path := ptr.Value(in.UserName), pathOr(in.Path)
	if err := validName("userName", name, 64); err != nil {
		return nil, err
	}
	if err := validPath(path); err != nil {
		return nil, err
	}
	tags, err := mergeTags(nil, in.Tags, "TagsPerUser")
	if err != nil {
		return nil, err
	}
	u := userRec{Name: name, Path: path, ID: newID("AIDA"), Created: s.stamp(), Tags: tags}
	var out iamapi.User
	err = s.update(ctx, func(tx store.Tx, acct string) error {
		if b := ptr.Value(in.PermissionsBoundary); b != "" {
			if _, err := resolveManaged(tx, acct, b); err != nil {
				return errs.New(ErrInvalidInput, "Scope ARN: %s does not exist or is not attachable.", b)
			}
			u.Boundary = b
		}
		if err := createJSON(tx, tblIAM, userKey(name), &u); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return errs.New(ErrEntityAlreadyExists, "User with name %s already exists.", name)
			}
			return err
		}
		out = apiUser(acct, &u, true)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.CreateUserResponse{User: &out}, nil
}

// GetUser returns a user, or the caller when no name is given (the root
// user for the account's root credentials).
func (s *Service) GetUser(ctx context.Context, in *iamapi.GetUserRequest) (*iamapi.GetUserResponse, error) {
	name := ptr.Value(in.UserName)
	if name == "" {
		n, root, err := callerUserName(ctx)
		if err != nil {
			return nil, err
		}
		if root {
			return s.getRootUser(ctx)
		}
		name = n
	}
	var out iamapi.User
	err := s.view(ctx, func(tx store.Tx, acct string) error {
		u, _, err := loadUser(tx, name)
		if err != nil {
			return err
		}
		out = apiUser(acct, &u, true)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.GetUserResponse{User: &out}, nil
}

func (s *Service) getRootUser(ctx context.Context) (*iamapi.GetUserResponse, error) {
	var out iamapi.User
	err := s.view(ctx, func(tx store.Tx, acct string) error {
		out = iamapi.User{Arn: ptr.To(rootARN(acct)), UserId: ptr.To(acct)}
		var a accountRec
		if _, err := getJSON(tx, tblAccounts, accountKey, &a); err == nil && a.ID == acct {
			out.CreateDate = ptr.To(a.Created)
		} else if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.GetUserResponse{User: &out}, nil
}

// ListUsers lists the users whose path starts with PathPrefix.
func (s *Service) ListUsers(ctx context.Context, in *iamapi.ListUsersRequest) (*iamapi.ListUsersResponse, error) {
	prefix := pathOr(in.PathPrefix)
	out := &iamapi.ListUsersResponse{Users: []iamapi.User{}}
	err := s.view(ctx, func(tx store.Tx, acct string) error {
		var users []userRec
		pg, err := scanPage(tx, tblIAM, "user/", in.Marker, maxItems(in.MaxItems), func(it store.Item) (bool, error) {
			u, err := decodeInto[userRec](it)
			if err != nil || !strings.HasPrefix(u.Path, prefix) {
				return false, err
			}
			users = append(users, u)
			return true, nil
		})
		if err != nil {
			return err
		}
		for _, u := range users[:len(pg.items)] {
			out.Users = append(out.Users, apiUser(acct, &u, false))
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

// UpdateUser renames a user or changes its path. Everything that refers to
// the user by name (keys, policies, group memberships, its access keys'
// principal) moves with it in the same transaction.
func (s *Service) UpdateUser(ctx context.Context, in *iamapi.UpdateUserRequest) (*wire.Empty, error) {
	name := ptr.Value(in.UserName)
	newName := ptr.Or(in.NewUserName, "")
	if newName != "" {
		if err := validName("newUserName", newName, 64); err != nil {
			return nil, err
		}
	}
	if in.NewPath != nil {
		if err := validPath(*in.NewPath); err != nil {
			return nil, err
		}
	}
	var moved []string
	err := s.update(ctx, func(tx store.Tx, acct string) error {
		u, _, err := loadUser(tx, name)
		if err != nil {
			return err
		}
		old := u.Name
		if newName != "" {
			u.Name = newName
		}
		if in.NewPath != nil {
			u.Path = *in.NewPath
		}
		if lower(old) != lower(u.Name) {
			if ok, err := exists(tx, tblIAM, userKey(u.Name)); err != nil {
				return err
			} else if ok {
				return errs.New(ErrEntityAlreadyExists, "User with name %s already exists.", u.Name)
			}
			if err := renameUserRefs(tx, old, u.Name); err != nil {
				return err
			}
			if err := tx.Delete(tblIAM, userKey(old)); err != nil {
				return err
			}
		}
		if err := putJSON(tx, tblIAM, userKey(u.Name), &u); err != nil {
			return err
		}
		moved, err = s.rewriteUserKeys(tx, acct, &u)
		return err
	})
	for _, id := range moved {
		s.keys.forget(id)
	}
	if err != nil {
		return nil, err
	}
	return &wire.Empty{}, nil
}

// renameUserRefs moves the items keyed by a user's name to its new name.
func renameUserRefs(tx store.Tx, old, new string) error {
	for _, pf := range []func(string) string{userKeyPrefix, userPolicyPrefix, userAttachPrefix, userGroupPrefix} {
		items, err := tx.Scan(tblIAM, pf(old), "", 0)
		if err != nil {
			return err
		}
		for _, it := range items {
			suffix := strings.TrimPrefix(it.Key, pf(old))
			if _, err := tx.Put(tblIAM, pf(new)+suffix, it.Value); err != nil {
				return err
			}
			if err := tx.Delete(tblIAM, it.Key); err != nil {
				return err
			}
			switch {
			case strings.HasPrefix(it.Key, "usergroup/"):
				g := lastSegment(it.Key)
				if err := deleteIfExists(tx, tblIAM, groupMemberPrefix(g)+lower(old)); err != nil {
					return err
				}
				if err := putJSON(tx, tblIAM, groupMemberPrefix(g)+lower(new), memberRec{Name: new}); err != nil {
					return err
				}
			case strings.HasPrefix(it.Key, "userattach/"):
				a, err := decodeInto[attachRec](it)
				if err != nil {
					return err
				}
				if err := deleteIfExists(tx, tblIAM, attachmentPrefix(a.PolicyID)+"user/"+lower(old)); err != nil {
					return err
				}
				a.Name = new
				if err := putJSON(tx, tblIAM, attachmentPrefix(a.PolicyID)+"user/"+lower(new), a); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// rewriteUserKeys updates the principal recorded with each access key of
// u after a rename or path change, and returns the key IDs it touched.
func (s *Service) rewriteUserKeys(tx store.Tx, acct string, u *userRec) ([]string, error) {
	items, err := tx.Scan(tblIAM, userKeyPrefix(u.Name), "", 0)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, it := range items {
		id := lastSegment(it.Key)
		var k keyRec
		if _, err := getJSON(tx, tblAccessKeys, id, &k); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			return nil, err
		}
		k.Principal.Name, k.Principal.ARN = u.Name, userARN(acct, u)
		if err := putJSON(tx, tblAccessKeys, id, &k); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// DeleteUser deletes a user that has no access keys, policies or group
// memberships left, as IAM requires.
func (s *Service) DeleteUser(ctx context.Context, in *iamapi.DeleteUserRequest) (*wire.Empty, error) {
	name := ptr.Value(in.UserName)
	err := s.update(ctx, func(tx store.Tx, acct string) error {
		if _, _, err := loadUser(tx, name); err != nil {
			return err
		}
		conflicts := []struct {
			prefix string
			msg    string
		}{
			{userKeyPrefix(name), "Cannot delete entity, must delete access keys first."},
			{userPolicyPrefix(name), "Cannot delete entity, must delete policies first."},
			{userAttachPrefix(name), "Cannot delete entity, must detach all policies first."},
			{userGroupPrefix(name), "Cannot delete entity, must remove user from all groups first."},
		}
		for _, c := range conflicts {
			n, err := tx.Count(tblIAM, c.prefix)
			if err != nil {
				return err
			}
			if n > 0 {
				return errs.New(ErrDeleteConflict, "%s", c.msg)
			}
		}
		return tx.Delete(tblIAM, userKey(name))
	})
	if err != nil {
		return nil, err
	}
	return &wire.Empty{}, nil
}

// TagUser adds or replaces tags of a user.
func (s *Service) TagUser(ctx context.Context, in *iamapi.TagUserRequest) (*wire.Empty, error) {
	name := ptr.Value(in.UserName)
	err := s.update(ctx, func(tx store.Tx, _ string) error {
		u, _, err := loadUser(tx, name)
		if err != nil {
			return err
		}
		if u.Tags, err = mergeTags(u.Tags, in.Tags, "TagsPerUser"); err != nil {
			return err
		}
		return putJSON(tx, tblIAM, userKey(name), &u)
	})
	if err != nil {
		return nil, err
	}
	return &wire.Empty{}, nil
}

// UntagUser removes tags of a user.
func (s *Service) UntagUser(ctx context.Context, in *iamapi.UntagUserRequest) (*wire.Empty, error) {
	name := ptr.Value(in.UserName)
	err := s.update(ctx, func(tx store.Tx, _ string) error {
		u, _, err := loadUser(tx, name)
		if err != nil {
			return err
		}
		u.Tags = removeTags(u.Tags, in.TagKeys)
		return putJSON(tx, tblIAM, userKey(name), &u)
	})
	if err != nil {
		return nil, err
	}
	return &wire.Empty{}, nil
}

// ListUserTags lists the tags of a user.
func (s *Service) ListUserTags(ctx context.Context, in *iamapi.ListUserTagsRequest) (*iamapi.ListUserTagsResponse, error) {
	var u userRec
	err := s.view(ctx, func(tx store.Tx, _ string) error {
		var err error
		u, _, err = loadUser(tx, ptr.Value(in.UserName))
		return err
	})
	if err != nil {
		return nil, err
	}
	return listTags(u.Tags, in.Marker, in.MaxItems)
}
