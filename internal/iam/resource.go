package iam

import (
	"context"
	"strings"

	"github.com/wharfhq/wharf/internal/arn"
	"github.com/wharfhq/wharf/internal/principal"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/tenancy"
)

// ResourceARN names the resource an IAM operation acts on, for
// authorization: the user, group, role or managed policy the input names,
// the calling user for the operations that default to it (GetUser,
// CreateAccessKey… without UserName), and "*" for the rest (ListUsers,
// GetAccountSummary…). in is the operation's input tree; the account comes
// from ctx.
//
// Paths are taken from the input when it has one (CreateUser's Path) and
// are otherwise "/"; Service.ResourceARN looks the path of existing
// entities up, so that policies naming paths (user/division/*) match.
func ResourceARN(ctx context.Context, op string, in map[string]any) string {
	return resourceARN(ctx, op, in, nil)
}

// ResourceARN is the package's ResourceARN with the paths of existing
// users, groups and roles read from the store.
func (s *Service) ResourceARN(ctx context.Context, op string, in map[string]any) string {
	return resourceARN(ctx, op, in, func(kind, name string) (string, bool) {
		var path string
		err := s.view(ctx, func(tx store.Tx, _ string) error {
			var err error
			switch kind {
			case "user":
				var u userRec
				u, _, err = loadUser(tx, name)
				path = u.Path
			case "group":
				var g groupRec
				g, err = loadGroup(tx, name)
				path = g.Path
			case "role":
				var r roleRec
				r, err = loadRole(tx, name)
				path = r.Path
			}
			return err
		})
		return path, err == nil
	})
}

// resourceARN computes ResourceARN; pathOf, if not nil, finds the path of
// an existing entity.
func resourceARN(ctx context.Context, op string, in map[string]any, pathOf func(kind, name string) (string, bool)) string {
	acct, err := tenancy.Account(ctx)
	if err != nil {
		return "*"
	}
	str := func(k string) string { v, _ := in[k].(string); return v }
	entity := func(kind, name string) string {
		path := str("Path")
		if path == "" && pathOf != nil && !strings.HasPrefix(op, "Create") {
			if p, ok := pathOf(kind, name); ok {
				path = p
			}
		}
		return arn.IAM(acct, kind, path, name)
	}
	switch {
	case str("GroupName") != "" && op != "ListGroupsForUser":
		return entity("group", str("GroupName"))
	case str("RoleName") != "":
		return entity("role", str("RoleName"))
	case str("UserName") != "":
		return entity("user", str("UserName"))
	case str("PolicyArn") != "":
		return str("PolicyArn")
	case op == "CreatePolicy" && str("PolicyName") != "":
		return arn.IAM(acct, "policy", str("Path"), str("PolicyName"))
	}
	if selfOps[op] {
		if p := principal.From(ctx); p != nil && p.Kind == principal.User {
			return p.ARN
		}
	}
	return "*"
}

// selfOps are the operations that act on the calling user when UserName is
// absent.
var selfOps = map[string]bool{
	"GetUser": true, "CreateAccessKey": true, "ListAccessKeys": true, "UpdateAccessKey": true, "DeleteAccessKey": true,
	"ChangePassword": true, "ListMFADevices": true, "ListSigningCertificates": true, "ListSSHPublicKeys": true,
	"ListServiceSpecificCredentials": true,
}

// ResourceTags returns the tags of the user or role an operation acts on
// (the same entity ResourceARN names), for aws:ResourceTag/… conditions;
// nil when the resource has no tags or is not a user or role.
func (s *Service) ResourceTags(ctx context.Context, op string, in map[string]any) map[string]string {
	str := func(k string) string { v, _ := in[k].(string); return v }
	if str("GroupName") != "" && op != "ListGroupsForUser" || strings.HasPrefix(op, "Create") {
		return nil
	}
	var tags []tag
	_ = s.view(ctx, func(tx store.Tx, _ string) error {
		switch {
		case str("RoleName") != "":
			r, err := loadRole(tx, str("RoleName"))
			tags = r.Tags
			return err
		case str("UserName") != "":
			u, _, err := loadUser(tx, str("UserName"))
			tags = u.Tags
			return err
		}
		return nil
	})
	if len(tags) == 0 {
		return nil
	}
	out := make(map[string]string, len(tags))
	for _, t := range tags {
		out[t.Key] = t.Value
	}
	return out
}
