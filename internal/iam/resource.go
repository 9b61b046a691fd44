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
