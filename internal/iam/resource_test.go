package iam

import (
	"context"
	"testing"

	"github.com/wharfhq/wharf/api/iamapi"
	"github.com/wharfhq/wharf/internal/principal"
	"github.com/wharfhq/wharf/internal/ptr"
	"github.com/wharfhq/wharf/internal/tenancy"
)

func TestResourceARN(t *testing.T) {
	const acct = "123456789012"
	bob := &principal.Principal{Kind: principal.User, Account: acct, Name: "bob", ARN: "arn:aws:iam::" + acct + ":user/bob"}
	ctx := principal.With(tenancy.WithAccount(context.Background(), acct), bob)
	tests := []struct {
		op   string
		in   map[string]any
		want string
	}{
		{"CreateUser", map[string]any{"UserName": "alice"}, "arn:aws:iam::" + acct + ":user/alice"},
		{"CreateUser", map[string]any{"UserName": "alice", "Path": "/eng/"}, "arn:aws:iam::" + acct + ":user/eng/alice"},
		{"AttachUserPolicy", map[string]any{"UserName": "alice", "PolicyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}, "arn:aws:iam::" + acct + ":user/alice"},
		{"AddUserToGroup", map[string]any{"UserName": "alice", "GroupName": "g"}, "arn:aws:iam::" + acct + ":group/g"},
		{"ListGroupsForUser", map[string]any{"UserName": "alice"}, "arn:aws:iam::" + acct + ":user/alice"},
		{"GetRole", map[string]any{"RoleName": "r"}, "arn:aws:iam::" + acct + ":role/r"},
		{"GetPolicy", map[string]any{"PolicyArn": "arn:aws:iam::" + acct + ":policy/p"}, "arn:aws:iam::" + acct + ":policy/p"},
		{"CreatePolicy", map[string]any{"PolicyName": "p", "Path": "/x/"}, "arn:aws:iam::" + acct + ":policy/x/p"},
		{"CreateAccessKey", map[string]any{}, bob.ARN},
		{"GetUser", nil, bob.ARN},
		{"ListUsers", map[string]any{"PathPrefix": "/"}, "*"},
		{"GetAccountSummary", nil, "*"},
	}
	for _, tt := range tests {
		if got := ResourceARN(ctx, tt.op, tt.in); got != tt.want {
			t.Errorf("ResourceARN(%s, %v) = %s, want %s", tt.op, tt.in, got, tt.want)
		}
	}
	if got := ResourceARN(context.Background(), "GetUser", map[string]any{"UserName": "x"}); got != "*" {
		t.Errorf("without an account: %s", got)
	}
}

func TestServiceResourceARNUsesStoredPath(t *testing.T) {
	e := newEnv(t)
	must(e.svc.CreateUser(e.root, &iamapi.CreateUserRequest{UserName: ptr.To("vic"), Path: ptr.To("/ops/")}))(t)
	must(e.svc.CreateRole(e.root, &iamapi.CreateRoleRequest{RoleName: ptr.To("r"), Path: ptr.To("/svc/"), AssumeRolePolicyDocument: ptr.To(ecsTrust)}))(t)
	for op, want := range map[string]string{
		"DeleteUser": "arn:aws:iam::" + e.acct.ID + ":user/ops/vic",
		"GetRole":    "arn:aws:iam::" + e.acct.ID + ":role/svc/r",
	} {
		in := map[string]any{"UserName": "vic"}
		if op == "GetRole" {
			in = map[string]any{"RoleName": "r"}
		}
		if got := e.svc.ResourceARN(e.root, op, in); got != want {
			t.Errorf("%s: %s, want %s", op, got, want)
		}
	}
	if got := e.svc.ResourceARN(e.root, "GetUser", map[string]any{"UserName": "unknown"}); got != "arn:aws:iam::"+e.acct.ID+":user/unknown" {
		t.Errorf("unknown user: %s", got)
	}
}

// TestHandlers checks that every operation of the brief is picked up by the
// generated handler table.
func TestHandlers(t *testing.T) {
	h := iamapi.Handlers(New(nil, Options{}))
	for _, op := range []string{
		"CreateUser", "GetUser", "ListUsers", "UpdateUser", "DeleteUser", "TagUser", "UntagUser", "ListUserTags",
		"CreateAccessKey", "ListAccessKeys", "UpdateAccessKey", "DeleteAccessKey", "GetAccessKeyLastUsed",
		"CreateGroup", "GetGroup", "ListGroups", "DeleteGroup", "AddUserToGroup", "RemoveUserFromGroup", "ListGroupsForUser",
		"CreateRole", "GetRole", "ListRoles", "DeleteRole", "UpdateRole", "UpdateAssumeRolePolicy", "TagRole", "UntagRole", "ListRoleTags",
		"CreatePolicy", "GetPolicy", "ListPolicies", "DeletePolicy", "CreatePolicyVersion", "GetPolicyVersion",
		"ListPolicyVersions", "DeletePolicyVersion", "SetDefaultPolicyVersion",
		"AttachUserPolicy", "DetachUserPolicy", "ListAttachedUserPolicies",
		"AttachGroupPolicy", "DetachGroupPolicy", "ListAttachedGroupPolicies",
		"AttachRolePolicy", "DetachRolePolicy", "ListAttachedRolePolicies",
		"PutUserPolicy", "GetUserPolicy", "ListUserPolicies", "DeleteUserPolicy",
		"PutGroupPolicy", "GetGroupPolicy", "ListGroupPolicies", "DeleteGroupPolicy",
		"PutRolePolicy", "GetRolePolicy", "ListRolePolicies", "DeleteRolePolicy",
		"GetAccountSummary", "ListAccountAliases",
	} {
		if h[op] == nil {
			t.Errorf("no handler for %s", op)
		}
	}
}

// TestThroughHandlers drives a few operations through the generated
// handler table with value trees, as the edge does.
func TestThroughHandlers(t *testing.T) {
	e := newEnv(t)
	h := iamapi.Handlers(e.svc)
	out, err := h["CreateUser"](e.root, map[string]any{"UserName": "yan", "Tags": []any{map[string]any{"Key": "k", "Value": "v"}}})
	if err != nil {
		t.Fatal(err)
	}
	u := out["User"].(map[string]any)
	if u["UserName"] != "yan" || u["Arn"] != "arn:aws:iam::"+e.acct.ID+":user/yan" {
		t.Fatalf("CreateUser tree = %v", out)
	}
	out, err = h["GetAccountSummary"](e.root, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m := out["SummaryMap"].(map[string]any); m["Users"] != int64(1) {
		t.Fatalf("GetAccountSummary tree = %v", out)
	}
	out, err = h["ListUsers"](e.root, map[string]any{"MaxItems": int64(1)})
	if err != nil || out["IsTruncated"] != false || len(out["Users"].([]any)) != 1 {
		t.Fatalf("ListUsers tree = %v, %v", out, err)
	}
	_, err = h["GetUser"](e.root, map[string]any{"UserName": "nobody"})
	if code, _ := ErrorTable.Lookup(err); code != "NoSuchEntityException" {
		t.Fatalf("GetUser nobody: %v (%s)", err, code)
	}
}
