package iam

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api/iamapi"
	"github.com/wharfhq/wharf/internal/errs"
	"github.com/wharfhq/wharf/internal/principal"
	"github.com/wharfhq/wharf/internal/ptr"
)

func TestAuthorize(t *testing.T) {
	e := newEnv(t)
	acct := e.acct.ID
	userARN := func(n string) string { return "arn:aws:iam::" + acct + ":user/" + n }
	roleARN := "arn:aws:iam::" + acct + ":role/deployer"

	// alice: inline allow of iam:CreateUser on users under /team/, plus a
	// deny of DeleteUser; AdministratorAccess would allow all but the deny
	// wins.
	e.createUser("alice")
	must(e.svc.PutUserPolicy(e.root, &iamapi.PutUserPolicyRequest{UserName: ptr.To("alice"), PolicyName: ptr.To("create"),
		PolicyDocument: ptr.To(allowDoc("iam:CreateUser", "arn:aws:iam::"+acct+":user/team/*"))}))(t)
	// bob: nothing of his own; ReadOnlyAccess through his group.
	e.createUser("bob")
	must(e.svc.CreateGroup(e.root, &iamapi.CreateGroupRequest{GroupName: ptr.To("readers")}))(t)
	must(e.svc.AddUserToGroup(e.root, &iamapi.AddUserToGroupRequest{GroupName: ptr.To("readers"), UserName: ptr.To("bob")}))(t)
	must(e.svc.AttachGroupPolicy(e.root, &iamapi.AttachGroupPolicyRequest{GroupName: ptr.To("readers"), PolicyArn: ptr.To(awsPolicyPrefix + "ReadOnlyAccess")}))(t)
	// carol: AdministratorAccess and an explicit deny on iam:DeleteUser.
	e.createUser("carol")
	must(e.svc.AttachUserPolicy(e.root, &iamapi.AttachUserPolicyRequest{UserName: ptr.To("carol"), PolicyArn: ptr.To(awsPolicyPrefix + "AdministratorAccess")}))(t)
	must(e.svc.PutUserPolicy(e.root, &iamapi.PutUserPolicyRequest{UserName: ptr.To("carol"), PolicyName: ptr.To("nodelete"),
		PolicyDocument: ptr.To(denyDoc("iam:DeleteUser", "*"))}))(t)
	// dan: a customer managed policy using a policy variable and a tag.
	must(e.svc.CreateUser(e.root, &iamapi.CreateUserRequest{UserName: ptr.To("dan"), Tags: []iamapi.Tag{{Key: ptr.To("team"), Value: ptr.To("blue")}}}))(t)
	self := `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"iam:*AccessKey*","Resource":"arn:aws:iam::*:user/${aws:username}"},
		{"Effect":"Allow","Action":"ecs:*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"blue","aws:RequestedRegion":"eu-west-1"}}}]}`
	pol := must(e.svc.CreatePolicy(e.root, &iamapi.CreatePolicyRequest{PolicyName: ptr.To("self"), PolicyDocument: ptr.To(self)}))(t).Policy
	must(e.svc.AttachUserPolicy(e.root, &iamapi.AttachUserPolicyRequest{UserName: ptr.To("dan"), PolicyArn: pol.Arn}))(t)
	// A role with ECS full access, used with and without a session policy.
	must(e.svc.CreateRole(e.root, &iamapi.CreateRoleRequest{RoleName: ptr.To("deployer"), AssumeRolePolicyDocument: ptr.To(ecsTrust)}))(t)
	must(e.svc.AttachRolePolicy(e.root, &iamapi.AttachRolePolicyRequest{RoleName: ptr.To("deployer"), PolicyArn: ptr.To(awsPolicyPrefix + "AmazonECS_FullAccess")}))(t)

	_, alice := e.asUser("alice")
	_, bob := e.asUser("bob")
	_, carol := e.asUser("carol")
	_, dan := e.asUser("dan")
	root := principal.From(e.root)
	session := func(policy string) *principal.Principal {
		return &principal.Principal{Kind: principal.AssumedRole, Account: acct, Name: "deployer", SessionName: "s1",
			ARN: "arn:aws:sts::" + acct + ":assumed-role/deployer/s1", RoleARN: roleARN, UserID: "AROAEXAMPLE:s1",
			SessionPolicy: policy, Temporary: true}
	}
	plain := session("")
	narrowed := session(allowDoc("ecs:Describe*", "*"))
	denying := session(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"ecs:DeleteCluster","Resource":"*"}]}`)
	ghost := &principal.Principal{Kind: principal.User, Account: acct, Name: "ghost", ARN: userARN("ghost")}

	eu := map[string][]string{"aws:RequestedRegion": {"eu-west-1"}}
	us := map[string][]string{"aws:RequestedRegion": {"us-east-1"}}
	tests := []struct {
		name     string
		p        *principal.Principal
		action   string
		resource string
		conds    map[string][]string
		want     string // "" allowed; otherwise the denial message
	}{
		{"root may do anything", root, "iam:DeleteUser", userARN("x"), nil, ""},
		{"inline allow", alice, "iam:CreateUser", userARN("team/eve"), nil, ""},
		{"inline allow, other resource", alice, "iam:CreateUser", userARN("eve"), nil,
			"User: " + userARN("alice") + " is not authorized to perform: iam:CreateUser on resource: " + userARN("eve") + " because no identity-based policy allows the iam:CreateUser action"},
		{"group policy", bob, "ecs:DescribeClusters", "*", nil, ""},
		{"group policy does not write", bob, "ecs:CreateCluster", "*", nil,
			"User: " + userARN("bob") + " is not authorized to perform: ecs:CreateCluster on resource: * because no identity-based policy allows the ecs:CreateCluster action"},
		{"attached AdministratorAccess", carol, "ecs:CreateCluster", "*", nil, ""},
		{"explicit deny wins", carol, "iam:DeleteUser", userARN("alice"), nil,
			"User: " + userARN("carol") + " is not authorized to perform: iam:DeleteUser on resource: " + userARN("alice") + " with an explicit deny in an identity-based policy"},
		{"policy variable: own keys", dan, "iam:CreateAccessKey", userARN("dan"), nil, ""},
		{"policy variable: other's keys", dan, "iam:CreateAccessKey", userARN("alice"), nil, "deny"},
		{"principal tag and caller condition", dan, "ecs:ListClusters", "*", eu, ""},
		{"caller condition fails", dan, "ecs:ListClusters", "*", us, "deny"},
		{"role policies", plain, "ecs:CreateService", "*", nil, ""},
		{"role lacks", plain, "iam:CreateUser", "*", nil,
			"User: arn:aws:sts::" + acct + ":assumed-role/deployer/s1 is not authorized to perform: iam:CreateUser on resource: * because no identity-based policy allows the iam:CreateUser action"},
		{"session policy intersects: both allow", narrowed, "ecs:DescribeServices", "*", nil, ""},
		{"session policy intersects: role only", narrowed, "ecs:CreateService", "*", nil,
			"User: arn:aws:sts::" + acct + ":assumed-role/deployer/s1 is not authorized to perform: ecs:CreateService on resource: * because no session policy allows the ecs:CreateService action"},
		{"session policy cannot widen", denying, "iam:CreateUser", "*", nil, "deny"},
		{"session policy deny", denying, "ecs:DeleteCluster", "*", nil,
			"User: arn:aws:sts::" + acct + ":assumed-role/deployer/s1 is not authorized to perform: ecs:DeleteCluster on resource: * with an explicit deny in a session policy"},
		{"deleted user", ghost, "ecs:ListClusters", "*", nil, "deny"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := e.svc.Authorize(context.Background(), tt.p, tt.action, tt.resource, tt.conds)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("denied: %v", err)
			case tt.want != "" && !errors.Is(err, ErrAccessDenied):
				t.Fatalf("err = %v, want access denied", err)
			case tt.want != "" && tt.want != "deny" && errs.Message(err) != tt.want:
				t.Fatalf("message:\n got %s\nwant %s", errs.Message(err), tt.want)
			}
		})
	}
}

// TestAuthorizeSeesChanges checks that cached policy sets are dropped when
// policies change through the Service.
func TestAuthorizeSeesChanges(t *testing.T) {
	e := newEnv(t)
	e.createUser("sam")
	_, sam := e.asUser("sam")
	check := func() error { return e.svc.Authorize(context.Background(), sam, "ecs:ListClusters", "*", nil) }
	if err := check(); !errors.Is(err, ErrAccessDenied) {
		t.Fatalf("before: %v", err)
	}
	must(e.svc.PutUserPolicy(e.root, &iamapi.PutUserPolicyRequest{UserName: ptr.To("sam"), PolicyName: ptr.To("p"), PolicyDocument: ptr.To(allowDoc("ecs:List*", "*"))}))(t)
	if err := check(); err != nil {
		t.Fatalf("after PutUserPolicy: %v", err)
	}
	// A new default version of an attached managed policy applies at once.
	p := must(e.svc.CreatePolicy(e.root, &iamapi.CreatePolicyRequest{PolicyName: ptr.To("m"), PolicyDocument: ptr.To(allowAll)}))(t).Policy
	must(e.svc.AttachUserPolicy(e.root, &iamapi.AttachUserPolicyRequest{UserName: ptr.To("sam"), PolicyArn: p.Arn}))(t)
	must(e.svc.CreatePolicyVersion(e.root, &iamapi.CreatePolicyVersionRequest{PolicyArn: p.Arn, PolicyDocument: ptr.To(denyDoc("ecs:*", "*")), SetAsDefault: ptr.To(true)}))(t)
	if err := check(); !errors.Is(err, ErrAccessDenied) {
		t.Fatalf("after the deny version: %v", err)
	}

	// Another process's change shows after the TTL.
	must(e.svc.SetDefaultPolicyVersion(e.root, &iamapi.SetDefaultPolicyVersionRequest{PolicyArn: p.Arn, VersionId: ptr.To("v1")}))(t)
	if err := check(); err != nil {
		t.Fatal(err)
	}
	other := New(e.st, Options{Now: e.clock.Now})
	must(other.SetDefaultPolicyVersion(e.root, &iamapi.SetDefaultPolicyVersionRequest{PolicyArn: p.Arn, VersionId: ptr.To("v2")}))(t)
	if err := check(); err != nil {
		t.Fatalf("within the TTL: %v", err)
	}
	e.clock.Advance(e.svc.ttl + time.Second)
	if err := check(); !errors.Is(err, ErrAccessDenied) {
		t.Fatalf("after the TTL: %v", err)
	}
}

func TestAuthorizeCurrentTime(t *testing.T) {
	e := newEnv(t)
	e.createUser("tia")
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecs:*","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"2026-03-01T13:00:00Z"}}}]}`
	must(e.svc.PutUserPolicy(e.root, &iamapi.PutUserPolicyRequest{UserName: ptr.To("tia"), PolicyName: ptr.To("p"), PolicyDocument: ptr.To(doc)}))(t)
	_, tia := e.asUser("tia")
	if err := e.svc.Authorize(context.Background(), tia, "ecs:ListClusters", "*", nil); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * time.Hour)
	if err := e.svc.Authorize(context.Background(), tia, "ecs:ListClusters", "*", nil); !errors.Is(err, ErrAccessDenied) {
		t.Fatalf("after the deadline: %v", err)
	}
}

func TestAuthorizePermissionsBoundary(t *testing.T) {
	e := newEnv(t)
	must(e.svc.CreateUser(e.root, &iamapi.CreateUserRequest{UserName: ptr.To("uma"), PermissionsBoundary: ptr.To(awsPolicyPrefix + "ReadOnlyAccess")}))(t)
	must(e.svc.AttachUserPolicy(e.root, &iamapi.AttachUserPolicyRequest{UserName: ptr.To("uma"), PolicyArn: ptr.To(awsPolicyPrefix + "AdministratorAccess")}))(t)
	_, uma := e.asUser("uma")
	if err := e.svc.Authorize(context.Background(), uma, "ecs:ListClusters", "*", nil); err != nil {
		t.Fatal(err)
	}
	err := e.svc.Authorize(context.Background(), uma, "ecs:CreateCluster", "*", nil)
	if !errors.Is(err, ErrAccessDenied) || errs.Message(err) != "User: "+uma.ARN+" is not authorized to perform: ecs:CreateCluster on resource: * because no permissions boundary allows the ecs:CreateCluster action" {
		t.Fatalf("err = %v", err)
	}
	u := must(e.svc.GetUser(e.root, &iamapi.GetUserRequest{UserName: ptr.To("uma")}))(t)
	if u.User.PermissionsBoundary == nil || *u.User.PermissionsBoundary.PermissionsBoundaryArn != awsPolicyPrefix+"ReadOnlyAccess" {
		t.Fatalf("boundary = %+v", u.User.PermissionsBoundary)
	}
}

func BenchmarkAuthorize(b *testing.B) {
	st := openStore(b, b.TempDir())
	defer st.Close()
	acct, _, err := Bootstrap(context.Background(), st, BootstrapOptions{})
	if err != nil {
		b.Fatal(err)
	}
	svc := New(st, Options{})
	e := &env{st: st, svc: svc, acct: acct}
	e.root = e.as(&principal.Principal{Kind: principal.Root, Account: acct.ID})
	if _, err := svc.CreateUser(e.root, &iamapi.CreateUserRequest{UserName: ptr.To("b")}); err != nil {
		b.Fatal(err)
	}
	if _, err := svc.AttachUserPolicy(e.root, &iamapi.AttachUserPolicyRequest{UserName: ptr.To("b"), PolicyArn: ptr.To(awsPolicyPrefix + "ReadOnlyAccess")}); err != nil {
		b.Fatal(err)
	}
	p := &principal.Principal{Kind: principal.User, Account: acct.ID, Name: "b", ARN: "arn:aws:iam::" + acct.ID + ":user/b", UserID: "AIDA"}
	conds := map[string][]string{"aws:SourceIp": {"127.0.0.1"}, "aws:RequestedRegion": {"us-east-1"}}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := svc.Authorize(context.Background(), p, "ecs:DescribeServices", "arn:aws:ecs:us-east-1:"+acct.ID+":service/c/s", conds); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
