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

// maxGroupsPerUser is IAM's GroupsPerUser quota.
const maxGroupsPerUser = 10

func apiGroup(acct string, g *groupRec) iamapi.Group {
	return iamapi.Group{Arn: ptr.To(groupARN(acct, g)), CreateDate: ptr.To(g.Created), GroupId: ptr.To(g.ID),
		GroupName: ptr.To(g.Name), Path: ptr.To(g.Path)}
}

// CreateGroup creates a group.
func (s *Service) CreateGroup(ctx context.Context, in *iamapi.CreateGroupRequest) (*iamapi.CreateGroupResponse, error) {
	name, path := ptr.Value(in.GroupName), pathOr(in.Path)
	if err := validName("groupName", name, 128); err != nil {
		return nil, err
	}
	if err := validPath(path); err != nil {
		return nil, err
	}
	g := groupRec{Name: name, Path: path, ID: newID("AGPA"), Created: s.stamp()}
	var out iamapi.Group
	err := s.update(ctx, func(tx store.Tx, acct string) error {
		if err := createJSON(tx, tblIAM, groupKey(name), &g); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return errs.New(ErrEntityAlreadyExists, "Group with name %s already exists.", name)
			}
			return err
		}
		out = apiGroup(acct, &g)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.CreateGroupResponse{Group: &out}, nil
}

// GetGroup describes a group and lists its users.
func (s *Service) GetGroup(ctx context.Context, in *iamapi.GetGroupRequest) (*iamapi.GetGroupResponse, error) {
	name := ptr.Value(in.GroupName)
	out := &iamapi.GetGroupResponse{Users: []iamapi.User{}}
	err := s.view(ctx, func(tx store.Tx, acct string) error {
		g, err := loadGroup(tx, name)
		if err != nil {
			return err
		}
		out.Group = ptr.To(apiGroup(acct, &g))
		pg, err := scanPage(tx, tblIAM, groupMemberPrefix(name), in.Marker, maxItems(in.MaxItems), nil)
		if err != nil {
			return err
		}
		for _, it := range pg.items {
			u, _, err := loadUser(tx, lastSegment(it.Key))
			if errors.Is(err, ErrNoSuchEntity) {
				continue
			} else if err != nil {
				return err
			}
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

// ListGroups lists the groups whose path starts with PathPrefix.
func (s *Service) ListGroups(ctx context.Context, in *iamapi.ListGroupsRequest) (*iamapi.ListGroupsResponse, error) {
	prefix := pathOr(in.PathPrefix)
	out := &iamapi.ListGroupsResponse{Groups: []iamapi.Group{}}
	err := s.view(ctx, func(tx store.Tx, acct string) error {
		var found []groupRec
		pg, err := scanPage(tx, tblIAM, "group/", in.Marker, maxItems(in.MaxItems), func(it store.Item) (bool, error) {
			g, err := decodeInto[groupRec](it)
			if err != nil || !strings.HasPrefix(g.Path, prefix) {
				return false, err
			}
			found = append(found, g)
			return true, nil
		})
		if err != nil {
			return err
		}
		for _, g := range found[:len(pg.items)] {
			out.Groups = append(out.Groups, apiGroup(acct, &g))
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

// DeleteGroup deletes a group without members or policies.
func (s *Service) DeleteGroup(ctx context.Context, in *iamapi.DeleteGroupRequest) (*wire.Empty, error) {
	name := ptr.Value(in.GroupName)
	err := s.update(ctx, func(tx store.Tx, _ string) error {
		if _, err := loadGroup(tx, name); err != nil {
			return err
		}
		for _, c := range []struct{ prefix, msg string }{
			{groupMemberPrefix(name), "Cannot delete entity, must remove users from group first."},
			{groupPolicyPrefix(name), "Cannot delete entity, must delete policies first."},
			{groupAttachPrefix(name), "Cannot delete entity, must detach all policies first."},
		} {
			n, err := tx.Count(tblIAM, c.prefix)
			if err != nil {
				return err
			}
			if n > 0 {
				return errs.New(ErrDeleteConflict, "%s", c.msg)
			}
		}
		return tx.Delete(tblIAM, groupKey(name))
	})
	if err != nil {
		return nil, err
	}
	return &wire.Empty{}, nil
}

// AddUserToGroup makes a user a member of a group (a no-op if it is one).
func (s *Service) AddUserToGroup(ctx context.Context, in *iamapi.AddUserToGroupRequest) (*wire.Empty, error) {
	gname, uname := ptr.Value(in.GroupName), ptr.Value(in.UserName)
	err := s.update(ctx, func(tx store.Tx, _ string) error {
		g, err := loadGroup(tx, gname)
		if err != nil {
			return err
		}
		u, _, err := loadUser(tx, uname)
		if err != nil {
			return err
		}
		key := userGroupPrefix(uname) + lower(gname)
		if ok, err := exists(tx, tblIAM, key); err != nil || ok {
			return err
		}
		n, err := tx.Count(tblIAM, userGroupPrefix(uname))
		if err != nil {
			return err
		}
		if n >= maxGroupsPerUser {
			return quota("GroupsPerUser", maxGroupsPerUser)
		}
		if err := putJSON(tx, tblIAM, key, memberRec{Name: g.Name}); err != nil {
			return err
		}
		return putJSON(tx, tblIAM, groupMemberPrefix(gname)+lower(uname), memberRec{Name: u.Name})
	})
	if err != nil {
		return nil, err
	}
	return &wire.Empty{}, nil
}

// RemoveUserFromGroup ends a user's membership of a group.
func (s *Service) RemoveUserFromGroup(ctx context.Context, in *iamapi.RemoveUserFromGroupRequest) (*wire.Empty, error) {
	gname, uname := ptr.Value(in.GroupName), ptr.Value(in.UserName)
	err := s.update(ctx, func(tx store.Tx, _ string) error {
		if _, err := loadGroup(tx, gname); err != nil {
			return err
		}
		if _, _, err := loadUser(tx, uname); err != nil {
			return err
		}
		err := tx.Delete(tblIAM, userGroupPrefix(uname)+lower(gname))
		if errors.Is(err, store.ErrNotFound) {
			return errs.New(ErrNoSuchEntity, "The user with name %s is not a member of the group %s.", uname, gname)
		} else if err != nil {
			return err
		}
		return deleteIfExists(tx, tblIAM, groupMemberPrefix(gname)+lower(uname))
	})
	if err != nil {
		return nil, err
	}
	return &wire.Empty{}, nil
}

// ListGroupsForUser lists the groups a user belongs to.
func (s *Service) ListGroupsForUser(ctx context.Context, in *iamapi.ListGroupsForUserRequest) (*iamapi.ListGroupsForUserResponse, error) {
	uname := ptr.Value(in.UserName)
	out := &iamapi.ListGroupsForUserResponse{Groups: []iamapi.Group{}}
	err := s.view(ctx, func(tx store.Tx, acct string) error {
		if _, _, err := loadUser(tx, uname); err != nil {
			return err
		}
		pg, err := scanPage(tx, tblIAM, userGroupPrefix(uname), in.Marker, maxItems(in.MaxItems), nil)
		if err != nil {
			return err
		}
		for _, it := range pg.items {
			g, err := loadGroup(tx, lastSegment(it.Key))
			if errors.Is(err, ErrNoSuchEntity) {
				continue
			} else if err != nil {
				return err
			}
			out.Groups = append(out.Groups, apiGroup(acct, &g))
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
