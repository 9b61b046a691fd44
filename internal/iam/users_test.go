package iam

import (
	"context"
	"fmt"
	"regexp"
	"testing"

	"github.com/wharfhq/wharf/api/iamapi"
	"github.com/wharfhq/wharf/internal/principal"
	"github.com/wharfhq/wharf/internal/ptr"
	"github.com/wharfhq/wharf/internal/tenancy"
)

func TestCreateGetUser(t *testing.T) {
	e := newEnv(t)
	out := must(e.svc.CreateUser(e.root, &iamapi.CreateUserRequest{UserName: ptr.To("Bob"), Path: ptr.To("/eng/"),
		Tags: []iamapi.Tag{{Key: ptr.To("team"), Value: ptr.To("core")}}}))(t)
	u := out.User
	if got, want := *u.Arn, "arn:aws:iam::"+e.acct.ID+":user/eng/Bob"; got != want {
		t.Errorf("Arn = %s, want %s", got, want)
	}
	if !regexp.MustCompile(`^AIDA[A-Z2-7]{17}$`).MatchString(*u.UserId) {
		t.Errorf("UserId = %s", *u.UserId)
	}
	if !u.CreateDate.Equal(e.clock.Now()) || *u.Path != "/eng/" || len(u.Tags) != 1 {
		t.Errorf("user = %+v", u)
	}

	// Names are unique regardless of case, and found regardless of case.
	_, err := e.svc.CreateUser(e.root, &iamapi.CreateUserRequest{UserName: ptr.To("bob")})
	wantErr(t, err, ErrEntityAlreadyExists, "User with name bob already exists.")
	got := must(e.svc.GetUser(e.root, &iamapi.GetUserRequest{UserName: ptr.To("BOB")}))(t)
	if *got.User.UserName != "Bob" || *got.User.UserId != *u.UserId {
		t.Errorf("GetUser = %+v", got.User)
	}
	_, err = e.svc.GetUser(e.root, &iamapi.GetUserRequest{UserName: ptr.To("alice")})
	wantErr(t, err, ErrNoSuchEntity, "The user with name alice cannot be found.")

	for _, bad := range []iamapi.CreateUserRequest{
		{UserName: ptr.To("")},
		{UserName: ptr.To("a/b")},
		{UserName: ptr.To("ok"), Path: ptr.To("noslash")},
	} {
		_, err := e.svc.CreateUser(e.root, &bad)
		wantErr(t, err, ErrValidation, "")
	}
}

func TestGetUserCaller(t *testing.T) {
	e := newEnv(t)
	e.createUser("carol")
	ctx, _ := e.asUser("carol")
	got := must(e.svc.GetUser(ctx, &iamapi.GetUserRequest{}))(t)
	if *got.User.UserName != "carol" {
		t.Errorf("GetUser() as carol = %+v", got.User)
	}
	root := must(e.svc.GetUser(e.root, &iamapi.GetUserRequest{}))(t)
	if *root.User.Arn != "arn:aws:iam::"+e.acct.ID+":root" || *root.User.UserId != e.acct.ID || root.User.CreateDate == nil {
		t.Errorf("GetUser() as root = %+v", root.User)
	}
	role := e.as(&principal.Principal{Kind: principal.AssumedRole, Account: e.acct.ID, Name: "r"})
	_, err := e.svc.GetUser(role, &iamapi.GetUserRequest{})
	wantErr(t, err, ErrValidation, "Must specify userName when calling with non-User credentials")
}

func TestListUsersPagination(t *testing.T) {
	e := newEnv(t)
	for i := range 7 {
		path := "/"
		if i%2 == 1 {
			path = "/odd/"
		}
		must(e.svc.CreateUser(e.root, &iamapi.CreateUserRequest{UserName: ptr.To(fmt.Sprintf("u%d", i)), Path: ptr.To(path)}))(t)
	}
	tests := []struct {
		prefix string
		max    int32
		want   []string
	}{
		{"", 3, []string{"u0", "u1", "u2", "u3", "u4", "u5", "u6"}},
		{"/odd/", 2, []string{"u1", "u3", "u5"}},
		{"/", 100, []string{"u0", "u1", "u2", "u3", "u4", "u5", "u6"}},
		{"/none/", 1, nil},
	}
	for _, tt := range tests {
		var names []string
		var marker *string
		pages := 0
		for {
			req := &iamapi.ListUsersRequest{MaxItems: ptr.To(tt.max), Marker: marker}
			if tt.prefix != "" {
				req.PathPrefix = ptr.To(tt.prefix)
			}
			out := must(e.svc.ListUsers(e.root, req))(t)
			pages++
			if len(out.Users) > int(tt.max) {
				t.Fatalf("page of %d > MaxItems %d", len(out.Users), tt.max)
			}
			for _, u := range out.Users {
				names = append(names, *u.UserName)
			}
			if !*out.IsTruncated {
				if out.Marker != nil {
					t.Error("Marker set on the last page")
				}
				break
			}
			marker = out.Marker
		}
		if fmt.Sprint(names) != fmt.Sprint(tt.want) {
			t.Errorf("prefix %q max %d: %v, want %v", tt.prefix, tt.max, names, tt.want)
		}
	}
	_, err := e.svc.ListUsers(e.root, &iamapi.ListUsersRequest{Marker: ptr.To("!!!")})
	wantErr(t, err, ErrInvalidInput, "")
}

func TestUpdateUserRenameMovesEverything(t *testing.T) {
	e := newEnv(t)
	e.createUser("dave")
	must(e.svc.CreateGroup(e.root, &iamapi.CreateGroupRequest{GroupName: ptr.To("devs")}))(t)
	must(e.svc.AddUserToGroup(e.root, &iamapi.AddUserToGroupRequest{GroupName: ptr.To("devs"), UserName: ptr.To("dave")}))(t)
	must(e.svc.PutUserPolicy(e.root, &iamapi.PutUserPolicyRequest{UserName: ptr.To("dave"), PolicyName: ptr.To("p"), PolicyDocument: ptr.To(allowAll)}))(t)
	must(e.svc.AttachUserPolicy(e.root, &iamapi.AttachUserPolicyRequest{UserName: ptr.To("dave"), PolicyArn: ptr.To(awsPolicyPrefix + "ReadOnlyAccess")}))(t)
	ctx, p := e.asUser("dave")
	_ = ctx
	e.createUser("erin")

	_, err := e.svc.UpdateUser(e.root, &iamapi.UpdateUserRequest{UserName: ptr.To("dave"), NewUserName: ptr.To("Erin")})
	wantErr(t, err, ErrEntityAlreadyExists, "User with name Erin already exists.")
	_, err = e.svc.UpdateUser(e.root, &iamapi.UpdateUserRequest{UserName: ptr.To("nobody"), NewUserName: ptr.To("x")})
	wantErr(t, err, ErrNoSuchEntity, "")

	must(e.svc.UpdateUser(e.root, &iamapi.UpdateUserRequest{UserName: ptr.To("dave"), NewUserName: ptr.To("david"), NewPath: ptr.To("/new/")}))(t)
	if _, err := e.svc.GetUser(e.root, &iamapi.GetUserRequest{UserName: ptr.To("dave")}); err == nil {
		t.Fatal("old name still resolves")
	}
	u := must(e.svc.GetUser(e.root, &iamapi.GetUserRequest{UserName: ptr.To("david")}))(t)
	if *u.User.Arn != "arn:aws:iam::"+e.acct.ID+":user/new/david" {
		t.Errorf("Arn = %s", *u.User.Arn)
	}
	g := must(e.svc.GetGroup(e.root, &iamapi.GetGroupRequest{GroupName: ptr.To("devs")}))(t)
	if len(g.Users) != 1 || *g.Users[0].UserName != "david" {
		t.Errorf("group members = %+v", g.Users)
	}
	if n := must(e.svc.ListUserPolicies(e.root, &iamapi.ListUserPoliciesRequest{UserName: ptr.To("david")}))(t); len(n.PolicyNames) != 1 {
		t.Errorf("inline policies = %v", n.PolicyNames)
	}
	if a := must(e.svc.ListAttachedUserPolicies(e.root, &iamapi.ListAttachedUserPoliciesRequest{UserName: ptr.To("david")}))(t); len(a.AttachedPolicies) != 1 {
		t.Errorf("attached = %+v", a.AttachedPolicies)
	}
	if k := must(e.svc.ListAccessKeys(e.root, &iamapi.ListAccessKeysRequest{UserName: ptr.To("david")}))(t); len(k.AccessKeyMetadata) != 1 || *k.AccessKeyMetadata[0].UserName != "david" {
		t.Errorf("keys = %+v", k.AccessKeyMetadata)
	}
	// The key now resolves to the renamed user.
	cred := must(e.svc.LookupAccessKey(context.Background(), p.AccessKeyID))(t)
	np := cred.Subject.(*principal.Principal)
	if np.Name != "david" || np.ARN != "arn:aws:iam::"+e.acct.ID+":user/new/david" {
		t.Errorf("principal after rename = %+v", np)
	}
	pol := must(e.svc.GetPolicy(e.root, &iamapi.GetPolicyRequest{PolicyArn: ptr.To(awsPolicyPrefix + "ReadOnlyAccess")}))(t)
	if *pol.Policy.AttachmentCount != 1 {
		t.Errorf("AttachmentCount = %d", *pol.Policy.AttachmentCount)
	}
	// Renaming only the case keeps the same entity.
	must(e.svc.UpdateUser(e.root, &iamapi.UpdateUserRequest{UserName: ptr.To("david"), NewUserName: ptr.To("David")}))(t)
	u = must(e.svc.GetUser(e.root, &iamapi.GetUserRequest{UserName: ptr.To("david")}))(t)
	if *u.User.UserName != "David" {
		t.Errorf("UserName = %s", *u.User.UserName)
	}
}

func TestDeleteUserConflicts(t *testing.T) {
	e := newEnv(t)
	e.createUser("frank")
	must(e.svc.CreateGroup(e.root, &iamapi.CreateGroupRequest{GroupName: ptr.To("g")}))(t)
	key := must(e.svc.CreateAccessKey(e.root, &iamapi.CreateAccessKeyRequest{UserName: ptr.To("frank")}))(t)
	must(e.svc.PutUserPolicy(e.root, &iamapi.PutUserPolicyRequest{UserName: ptr.To("frank"), PolicyName: ptr.To("p"), PolicyDocument: ptr.To(allowAll)}))(t)
	must(e.svc.AttachUserPolicy(e.root, &iamapi.AttachUserPolicyRequest{UserName: ptr.To("frank"), PolicyArn: ptr.To(awsPolicyPrefix + "AdministratorAccess")}))(t)
	must(e.svc.AddUserToGroup(e.root, &iamapi.AddUserToGroupRequest{UserName: ptr.To("frank"), GroupName: ptr.To("g")}))(t)

	del := func() error {
		_, err := e.svc.DeleteUser(e.root, &iamapi.DeleteUserRequest{UserName: ptr.To("frank")})
		return err
	}
	steps := []struct {
		msg   string
		clear func()
	}{
		{"Cannot delete entity, must delete access keys first.", func() {
			must(e.svc.DeleteAccessKey(e.root, &iamapi.DeleteAccessKeyRequest{UserName: ptr.To("frank"), AccessKeyId: key.AccessKey.AccessKeyId}))(t)
		}},
		{"Cannot delete entity, must delete policies first.", func() {
			must(e.svc.DeleteUserPolicy(e.root, &iamapi.DeleteUserPolicyRequest{UserName: ptr.To("frank"), PolicyName: ptr.To("p")}))(t)
		}},
		{"Cannot delete entity, must detach all policies first.", func() {
			must(e.svc.DetachUserPolicy(e.root, &iamapi.DetachUserPolicyRequest{UserName: ptr.To("frank"), PolicyArn: ptr.To(awsPolicyPrefix + "AdministratorAccess")}))(t)
		}},
		{"Cannot delete entity, must remove user from all groups first.", func() {
			must(e.svc.RemoveUserFromGroup(e.root, &iamapi.RemoveUserFromGroupRequest{UserName: ptr.To("frank"), GroupName: ptr.To("g")}))(t)
		}},
	}
	for _, s := range steps {
		wantErr(t, del(), ErrDeleteConflict, s.msg)
		s.clear()
	}
	if err := del(); err != nil {
		t.Fatal(err)
	}
	wantErr(t, del(), ErrNoSuchEntity, "The user with name frank cannot be found.")
	if _, err := e.svc.LookupAccessKey(context.Background(), *key.AccessKey.AccessKeyId); err == nil {
		t.Error("deleted key still resolves")
	}
}

func TestUserTags(t *testing.T) {
	e := newEnv(t)
	e.createUser("gina")
	tag := func(k, v string) iamapi.Tag { return iamapi.Tag{Key: ptr.To(k), Value: ptr.To(v)} }
	must(e.svc.TagUser(e.root, &iamapi.TagUserRequest{UserName: ptr.To("gina"), Tags: []iamapi.Tag{tag("b", "1"), tag("a", "2")}}))(t)
	must(e.svc.TagUser(e.root, &iamapi.TagUserRequest{UserName: ptr.To("gina"), Tags: []iamapi.Tag{tag("b", "3"), tag("c", "4")}}))(t)
	must(e.svc.UntagUser(e.root, &iamapi.UntagUserRequest{UserName: ptr.To("gina"), TagKeys: []string{"c", "zz"}}))(t)
	out := must(e.svc.ListUserTags(e.root, &iamapi.ListUserTagsRequest{UserName: ptr.To("gina"), MaxItems: ptr.To(int32(1))}))(t)
	if len(out.Tags) != 1 || *out.Tags[0].Key != "a" || !*out.IsTruncated {
		t.Fatalf("page 1 = %+v", out)
	}
	out = must(e.svc.ListUserTags(e.root, &iamapi.ListUserTagsRequest{UserName: ptr.To("gina"), Marker: out.Marker}))(t)
	if len(out.Tags) != 1 || *out.Tags[0].Key != "b" || *out.Tags[0].Value != "3" || *out.IsTruncated {
		t.Fatalf("page 2 = %+v", out)
	}
	var many []iamapi.Tag
	for i := range 50 {
		many = append(many, tag(fmt.Sprint("k", i), "v"))
	}
	_, err := e.svc.TagUser(e.root, &iamapi.TagUserRequest{UserName: ptr.To("gina"), Tags: many})
	wantErr(t, err, ErrLimitExceeded, "")
	_, err = e.svc.TagUser(e.root, &iamapi.TagUserRequest{UserName: ptr.To("nobody"), Tags: many[:1]})
	wantErr(t, err, ErrNoSuchEntity, "")
	_, err = e.svc.TagUser(e.root, &iamapi.TagUserRequest{UserName: ptr.To("gina"), Tags: []iamapi.Tag{tag("aws:x", "v")}})
	wantErr(t, err, ErrInvalidInput, "")
}

func TestNoTenant(t *testing.T) {
	e := newEnv(t)
	_, err := e.svc.CreateUser(context.Background(), &iamapi.CreateUserRequest{UserName: ptr.To("x")})
	if err == nil {
		t.Fatal("CreateUser without an account in the context succeeded")
	}
	// Accounts are isolated: another account sees nothing.
	e.createUser("x")
	other := tenancy.WithAccount(context.Background(), "999999999999")
	_, err = e.svc.GetUser(other, &iamapi.GetUserRequest{UserName: ptr.To("x")})
	wantErr(t, err, ErrNoSuchEntity, "")
}
