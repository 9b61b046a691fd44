package iam

import (
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api/iamapi"
	"github.com/wharfhq/wharf/internal/ptr"
)

func TestGroups(t *testing.T) {
	e := newEnv(t)
	g := must(e.svc.CreateGroup(e.root, &iamapi.CreateGroupRequest{GroupName: ptr.To("Ops"), Path: ptr.To("/t/")}))(t).Group
	if *g.Arn != "arn:aws:iam::"+e.acct.ID+":group/t/Ops" || !strings.HasPrefix(*g.GroupId, "AGPA") || len(*g.GroupId) != 21 {
		t.Fatalf("group = %+v", g)
	}
	_, err := e.svc.CreateGroup(e.root, &iamapi.CreateGroupRequest{GroupName: ptr.To("ops")})
	wantErr(t, err, ErrEntityAlreadyExists, "Group with name ops already exists.")
	must(e.svc.CreateGroup(e.root, &iamapi.CreateGroupRequest{GroupName: ptr.To("dev")}))(t)

	e.createUser("kim")
	e.createUser("lee")
	for _, u := range []string{"kim", "lee", "kim"} { // adding twice is a no-op
		must(e.svc.AddUserToGroup(e.root, &iamapi.AddUserToGroupRequest{GroupName: ptr.To("ops"), UserName: ptr.To(u)}))(t)
	}
	must(e.svc.AddUserToGroup(e.root, &iamapi.AddUserToGroupRequest{GroupName: ptr.To("dev"), UserName: ptr.To("kim")}))(t)
	_, err = e.svc.AddUserToGroup(e.root, &iamapi.AddUserToGroupRequest{GroupName: ptr.To("nope"), UserName: ptr.To("kim")})
	wantErr(t, err, ErrNoSuchEntity, "The group with name nope cannot be found.")
	_, err = e.svc.AddUserToGroup(e.root, &iamapi.AddUserToGroupRequest{GroupName: ptr.To("ops"), UserName: ptr.To("nope")})
	wantErr(t, err, ErrNoSuchEntity, "The user with name nope cannot be found.")

	got := must(e.svc.GetGroup(e.root, &iamapi.GetGroupRequest{GroupName: ptr.To("OPS"), MaxItems: ptr.To(int32(1))}))(t)
	if *got.Group.GroupName != "Ops" || len(got.Users) != 1 || !*got.IsTruncated {
		t.Fatalf("GetGroup page 1 = %+v", got)
	}
	got = must(e.svc.GetGroup(e.root, &iamapi.GetGroupRequest{GroupName: ptr.To("ops"), Marker: got.Marker}))(t)
	if len(got.Users) != 1 || *got.Users[0].UserName != "lee" || *got.IsTruncated {
		t.Fatalf("GetGroup page 2 = %+v", got)
	}
	forKim := must(e.svc.ListGroupsForUser(e.root, &iamapi.ListGroupsForUserRequest{UserName: ptr.To("kim")}))(t)
	if len(forKim.Groups) != 2 {
		t.Fatalf("ListGroupsForUser = %+v", forKim.Groups)
	}
	all := must(e.svc.ListGroups(e.root, &iamapi.ListGroupsRequest{PathPrefix: ptr.To("/t/")}))(t)
	if len(all.Groups) != 1 || *all.Groups[0].GroupName != "Ops" {
		t.Fatalf("ListGroups /t/ = %+v", all.Groups)
	}

	must(e.svc.PutGroupPolicy(e.root, &iamapi.PutGroupPolicyRequest{GroupName: ptr.To("ops"), PolicyName: ptr.To("p"), PolicyDocument: ptr.To(allowAll)}))(t)
	must(e.svc.AttachGroupPolicy(e.root, &iamapi.AttachGroupPolicyRequest{GroupName: ptr.To("ops"), PolicyArn: ptr.To(awsPolicyPrefix + "ReadOnlyAccess")}))(t)
	del := func() error {
		_, err := e.svc.DeleteGroup(e.root, &iamapi.DeleteGroupRequest{GroupName: ptr.To("ops")})
		return err
	}
	wantErr(t, del(), ErrDeleteConflict, "Cannot delete entity, must remove users from group first.")
	for _, u := range []string{"kim", "lee"} {
		must(e.svc.RemoveUserFromGroup(e.root, &iamapi.RemoveUserFromGroupRequest{GroupName: ptr.To("ops"), UserName: ptr.To(u)}))(t)
	}
	_, err = e.svc.RemoveUserFromGroup(e.root, &iamapi.RemoveUserFromGroupRequest{GroupName: ptr.To("ops"), UserName: ptr.To("kim")})
	wantErr(t, err, ErrNoSuchEntity, "")
	wantErr(t, del(), ErrDeleteConflict, "Cannot delete entity, must delete policies first.")
	must(e.svc.DeleteGroupPolicy(e.root, &iamapi.DeleteGroupPolicyRequest{GroupName: ptr.To("ops"), PolicyName: ptr.To("p")}))(t)
	wantErr(t, del(), ErrDeleteConflict, "Cannot delete entity, must detach all policies first.")
	must(e.svc.DetachGroupPolicy(e.root, &iamapi.DetachGroupPolicyRequest{GroupName: ptr.To("ops"), PolicyArn: ptr.To(awsPolicyPrefix + "ReadOnlyAccess")}))(t)
	if err := del(); err != nil {
		t.Fatal(err)
	}
	wantErr(t, del(), ErrNoSuchEntity, "")
}

func TestGroupsPerUserQuota(t *testing.T) {
	e := newEnv(t)
	e.createUser("max")
	for i := range maxGroupsPerUser + 1 {
		name := "g" + string(rune('a'+i))
		must(e.svc.CreateGroup(e.root, &iamapi.CreateGroupRequest{GroupName: ptr.To(name)}))(t)
		_, err := e.svc.AddUserToGroup(e.root, &iamapi.AddUserToGroupRequest{GroupName: ptr.To(name), UserName: ptr.To("max")})
		if i < maxGroupsPerUser && err != nil {
			t.Fatal(err)
		}
		if i == maxGroupsPerUser {
			wantErr(t, err, ErrLimitExceeded, "Cannot exceed quota for GroupsPerUser: 10")
		}
	}
}

const ecsTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

func TestRoles(t *testing.T) {
	e := newEnv(t)
	r := must(e.svc.CreateRole(e.root, &iamapi.CreateRoleRequest{RoleName: ptr.To("task"), Path: ptr.To("/svc/"),
		AssumeRolePolicyDocument: ptr.To(ecsTrust), Description: ptr.To("d"),
		Tags: []iamapi.Tag{{Key: ptr.To("env"), Value: ptr.To("prod")}}}))(t).Role
	if *r.Arn != "arn:aws:iam::"+e.acct.ID+":role/svc/task" || !strings.HasPrefix(*r.RoleId, "AROA") || len(*r.RoleId) != 21 ||
		*r.MaxSessionDuration != 3600 || decode(t, r.AssumeRolePolicyDocument) != ecsTrust || len(r.Tags) != 1 {
		t.Fatalf("role = %+v", r)
	}
	// The document is answered URL-encoded, as IAM does.
	if strings.ContainsAny(*r.AssumeRolePolicyDocument, `{}":`) {
		t.Errorf("trust policy not URL-encoded: %s", *r.AssumeRolePolicyDocument)
	}

	tests := []struct {
		name string
		req  iamapi.CreateRoleRequest
		kind error
		msg  string
	}{
		{"exists", iamapi.CreateRoleRequest{RoleName: ptr.To("TASK"), AssumeRolePolicyDocument: ptr.To(ecsTrust)}, ErrEntityAlreadyExists, "Role with name TASK already exists."},
		{"no principal", iamapi.CreateRoleRequest{RoleName: ptr.To("x"), AssumeRolePolicyDocument: ptr.To(allowAll)}, ErrMalformedPolicyDocument, ""},
		{"not json", iamapi.CreateRoleRequest{RoleName: ptr.To("x"), AssumeRolePolicyDocument: ptr.To("{nope")}, ErrMalformedPolicyDocument, "Syntax errors in policy."},
		{"session too long", iamapi.CreateRoleRequest{RoleName: ptr.To("x"), AssumeRolePolicyDocument: ptr.To(ecsTrust), MaxSessionDuration: ptr.To(int32(43201))}, ErrValidation, ""},
		{"session too short", iamapi.CreateRoleRequest{RoleName: ptr.To("x"), AssumeRolePolicyDocument: ptr.To(ecsTrust), MaxSessionDuration: ptr.To(int32(900))}, ErrValidation, ""},
		{"boundary missing", iamapi.CreateRoleRequest{RoleName: ptr.To("x"), AssumeRolePolicyDocument: ptr.To(ecsTrust), PermissionsBoundary: ptr.To("arn:aws:iam::" + e.acct.ID + ":policy/nope")}, ErrInvalidInput, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.svc.CreateRole(e.root, &tt.req)
			wantErr(t, err, tt.kind, tt.msg)
		})
	}

	// A URL-encoded trust policy is accepted as well.
	must(e.svc.CreateRole(e.root, &iamapi.CreateRoleRequest{RoleName: ptr.To("enc"), AssumeRolePolicyDocument: ptr.To(encodeDocument(ecsTrust)),
		MaxSessionDuration: ptr.To(int32(7200))}))(t)
	got := must(e.svc.GetRole(e.root, &iamapi.GetRoleRequest{RoleName: ptr.To("ENC")}))(t).Role
	if decode(t, got.AssumeRolePolicyDocument) != ecsTrust || *got.MaxSessionDuration != 7200 {
		t.Fatalf("GetRole = %+v", got)
	}
	_, err := e.svc.GetRole(e.root, &iamapi.GetRoleRequest{RoleName: ptr.To("nope")})
	wantErr(t, err, ErrNoSuchEntity, "The role with name nope cannot be found.")

	list := must(e.svc.ListRoles(e.root, &iamapi.ListRolesRequest{MaxItems: ptr.To(int32(1))}))(t)
	if len(list.Roles) != 1 || !*list.IsTruncated {
		t.Fatalf("ListRoles = %+v", list)
	}
	list = must(e.svc.ListRoles(e.root, &iamapi.ListRolesRequest{Marker: list.Marker}))(t)
	if len(list.Roles) != 1 || *list.IsTruncated {
		t.Fatalf("ListRoles page 2 = %+v", list)
	}
	if l := must(e.svc.ListRoles(e.root, &iamapi.ListRolesRequest{PathPrefix: ptr.To("/svc/")}))(t); len(l.Roles) != 1 || *l.Roles[0].RoleName != "task" {
		t.Fatalf("ListRoles /svc/ = %+v", l.Roles)
	}

	other := strings.Replace(ecsTrust, "ecs-tasks", "ec2", 1)
	must(e.svc.UpdateAssumeRolePolicy(e.root, &iamapi.UpdateAssumeRolePolicyRequest{RoleName: ptr.To("task"), PolicyDocument: ptr.To(other)}))(t)
	_, err = e.svc.UpdateAssumeRolePolicy(e.root, &iamapi.UpdateAssumeRolePolicyRequest{RoleName: ptr.To("task"), PolicyDocument: ptr.To(allowAll)})
	wantErr(t, err, ErrMalformedPolicyDocument, "")
	must(e.svc.UpdateRole(e.root, &iamapi.UpdateRoleRequest{RoleName: ptr.To("task"), MaxSessionDuration: ptr.To(int32(43200))}))(t)
	lr := must(e.svc.LookupRole(e.root, "Task"))(t)
	if lr.TrustPolicy != other || lr.MaxSessionDuration.Hours() != 12 || lr.ARN != *r.Arn {
		t.Fatalf("LookupRole = %+v", lr)
	}

	// Tags.
	must(e.svc.TagRole(e.root, &iamapi.TagRoleRequest{RoleName: ptr.To("task"), Tags: []iamapi.Tag{{Key: ptr.To("a"), Value: ptr.To("1")}}}))(t)
	must(e.svc.UntagRole(e.root, &iamapi.UntagRoleRequest{RoleName: ptr.To("task"), TagKeys: []string{"env"}}))(t)
	tags := must(e.svc.ListRoleTags(e.root, &iamapi.ListRoleTagsRequest{RoleName: ptr.To("task")}))(t)
	if len(tags.Tags) != 1 || *tags.Tags[0].Key != "a" {
		t.Fatalf("ListRoleTags = %+v", tags.Tags)
	}
	_, err = e.svc.TagRole(e.root, &iamapi.TagRoleRequest{RoleName: ptr.To("nope")})
	wantErr(t, err, ErrNoSuchEntity, "")

	// Delete after removing its policies.
	must(e.svc.PutRolePolicy(e.root, &iamapi.PutRolePolicyRequest{RoleName: ptr.To("task"), PolicyName: ptr.To("p"), PolicyDocument: ptr.To(allowAll)}))(t)
	must(e.svc.AttachRolePolicy(e.root, &iamapi.AttachRolePolicyRequest{RoleName: ptr.To("task"), PolicyArn: ptr.To(awsPolicyPrefix + "AmazonECS_FullAccess")}))(t)
	del := func() error {
		_, err := e.svc.DeleteRole(e.root, &iamapi.DeleteRoleRequest{RoleName: ptr.To("task")})
		return err
	}
	wantErr(t, del(), ErrDeleteConflict, "Cannot delete entity, must delete policies first.")
	must(e.svc.DeleteRolePolicy(e.root, &iamapi.DeleteRolePolicyRequest{RoleName: ptr.To("task"), PolicyName: ptr.To("p")}))(t)
	wantErr(t, del(), ErrDeleteConflict, "Cannot delete entity, must detach all policies first.")
	must(e.svc.DetachRolePolicy(e.root, &iamapi.DetachRolePolicyRequest{RoleName: ptr.To("task"), PolicyArn: ptr.To(awsPolicyPrefix + "AmazonECS_FullAccess")}))(t)
	if err := del(); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.LookupRole(e.root, "task")
	wantErr(t, err, ErrNoSuchEntity, "")
}
