package iam

import (
	"fmt"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api/iamapi"
	"github.com/wharfhq/wharf/internal/ptr"
)

func TestManagedPolicyVersions(t *testing.T) {
	e := newEnv(t)
	p := must(e.svc.CreatePolicy(e.root, &iamapi.CreatePolicyRequest{PolicyName: ptr.To("Deploy"), Path: ptr.To("/ci/"),
		PolicyDocument: ptr.To(allowDoc("ecs:*", "*")), Description: ptr.To("deploys")}))(t).Policy
	arn := "arn:aws:iam::" + e.acct.ID + ":policy/ci/Deploy"
	if *p.Arn != arn || *p.DefaultVersionId != "v1" || !strings.HasPrefix(*p.PolicyId, "ANPA") || len(*p.PolicyId) != 21 ||
		*p.AttachmentCount != 0 || !*p.IsAttachable {
		t.Fatalf("policy = %+v", p)
	}
	_, err := e.svc.CreatePolicy(e.root, &iamapi.CreatePolicyRequest{PolicyName: ptr.To("deploy"), PolicyDocument: ptr.To(allowAll)})
	wantErr(t, err, ErrEntityAlreadyExists, "A policy called deploy already exists. Duplicate names are not allowed.")
	_, err = e.svc.CreatePolicy(e.root, &iamapi.CreatePolicyRequest{PolicyName: ptr.To("bad"), PolicyDocument: ptr.To(ecsTrust)})
	wantErr(t, err, ErrMalformedPolicyDocument, "Policy document should not specify a principal.")
	big := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + strings.Repeat("x", 7000) + `"}]}`
	_, err = e.svc.CreatePolicy(e.root, &iamapi.CreatePolicyRequest{PolicyName: ptr.To("big"), PolicyDocument: ptr.To(big)})
	wantErr(t, err, ErrLimitExceeded, "Cannot exceed quota for PolicySize: 6144")

	// Versions v2..v5, then the limit.
	for i := 2; i <= 5; i++ {
		v := must(e.svc.CreatePolicyVersion(e.root, &iamapi.CreatePolicyVersionRequest{PolicyArn: ptr.To(arn),
			PolicyDocument: ptr.To(allowDoc(fmt.Sprintf("ecs:V%d", i), "*")), SetAsDefault: ptr.To(i == 3)}))(t).PolicyVersion
		if *v.VersionId != fmt.Sprintf("v%d", i) || *v.IsDefaultVersion != (i == 3) {
			t.Fatalf("version = %+v", v)
		}
	}
	_, err = e.svc.CreatePolicyVersion(e.root, &iamapi.CreatePolicyVersionRequest{PolicyArn: ptr.To(arn), PolicyDocument: ptr.To(allowAll)})
	wantErr(t, err, ErrLimitExceeded, "A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.")

	got := must(e.svc.GetPolicy(e.root, &iamapi.GetPolicyRequest{PolicyArn: ptr.To(arn)}))(t).Policy
	if *got.DefaultVersionId != "v3" || *got.Description != "deploys" {
		t.Fatalf("GetPolicy = %+v", got)
	}
	v3 := must(e.svc.GetPolicyVersion(e.root, &iamapi.GetPolicyVersionRequest{PolicyArn: ptr.To(arn), VersionId: ptr.To("v3")}))(t).PolicyVersion
	if decode(t, v3.Document) != allowDoc("ecs:V3", "*") || !*v3.IsDefaultVersion {
		t.Fatalf("v3 = %+v", v3)
	}
	_, err = e.svc.GetPolicyVersion(e.root, &iamapi.GetPolicyVersionRequest{PolicyArn: ptr.To(arn), VersionId: ptr.To("v9")})
	wantErr(t, err, ErrNoSuchEntity, "")

	var ids []string
	var marker *string
	for {
		l := must(e.svc.ListPolicyVersions(e.root, &iamapi.ListPolicyVersionsRequest{PolicyArn: ptr.To(arn), MaxItems: ptr.To(int32(2)), Marker: marker}))(t)
		for _, v := range l.Versions {
			ids = append(ids, *v.VersionId)
		}
		if !*l.IsTruncated {
			break
		}
		marker = l.Marker
	}
	if fmt.Sprint(ids) != "[v5 v4 v3 v2 v1]" {
		t.Fatalf("ListPolicyVersions = %v", ids)
	}

	_, err = e.svc.DeletePolicyVersion(e.root, &iamapi.DeletePolicyVersionRequest{PolicyArn: ptr.To(arn), VersionId: ptr.To("v3")})
	wantErr(t, err, ErrDeleteConflict, "Cannot delete the default version of a policy.")
	must(e.svc.DeletePolicyVersion(e.root, &iamapi.DeletePolicyVersionRequest{PolicyArn: ptr.To(arn), VersionId: ptr.To("v1")}))(t)
	_, err = e.svc.DeletePolicyVersion(e.root, &iamapi.DeletePolicyVersionRequest{PolicyArn: ptr.To(arn), VersionId: ptr.To("v1")})
	wantErr(t, err, ErrNoSuchEntity, "")
	// Version numbers are never reused.
	v := must(e.svc.CreatePolicyVersion(e.root, &iamapi.CreatePolicyVersionRequest{PolicyArn: ptr.To(arn), PolicyDocument: ptr.To(allowAll)}))(t)
	if *v.PolicyVersion.VersionId != "v6" {
		t.Fatalf("next version = %s", *v.PolicyVersion.VersionId)
	}
	must(e.svc.SetDefaultPolicyVersion(e.root, &iamapi.SetDefaultPolicyVersionRequest{PolicyArn: ptr.To(arn), VersionId: ptr.To("v6")}))(t)
	_, err = e.svc.SetDefaultPolicyVersion(e.root, &iamapi.SetDefaultPolicyVersionRequest{PolicyArn: ptr.To(arn), VersionId: ptr.To("v1")})
	wantErr(t, err, ErrNoSuchEntity, "")

	// Delete: not while attached, not while it has other versions.
	e.createUser("nina")
	must(e.svc.AttachUserPolicy(e.root, &iamapi.AttachUserPolicyRequest{UserName: ptr.To("nina"), PolicyArn: ptr.To(arn)}))(t)
	if c := *must(e.svc.GetPolicy(e.root, &iamapi.GetPolicyRequest{PolicyArn: ptr.To(arn)}))(t).Policy.AttachmentCount; c != 1 {
		t.Fatalf("AttachmentCount = %d", c)
	}
	del := func() error {
		_, err := e.svc.DeletePolicy(e.root, &iamapi.DeletePolicyRequest{PolicyArn: ptr.To(arn)})
		return err
	}
	wantErr(t, del(), ErrDeleteConflict, "Cannot delete a policy attached to entities.")
	must(e.svc.DetachUserPolicy(e.root, &iamapi.DetachUserPolicyRequest{UserName: ptr.To("nina"), PolicyArn: ptr.To(arn)}))(t)
	wantErr(t, del(), ErrDeleteConflict, "")
	for _, id := range []string{"v2", "v3", "v4", "v5"} {
		must(e.svc.DeletePolicyVersion(e.root, &iamapi.DeletePolicyVersionRequest{PolicyArn: ptr.To(arn), VersionId: ptr.To(id)}))(t)
	}
	if err := del(); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.GetPolicy(e.root, &iamapi.GetPolicyRequest{PolicyArn: ptr.To(arn)})
	wantErr(t, err, ErrNoSuchEntity, "Policy "+arn+" was not found.")
	// The name is free again.
	must(e.svc.CreatePolicy(e.root, &iamapi.CreatePolicyRequest{PolicyName: ptr.To("Deploy"), PolicyDocument: ptr.To(allowAll)}))(t)
}

func TestAWSManagedPolicies(t *testing.T) {
	e := newEnv(t)
	admin := awsPolicyPrefix + "AdministratorAccess"
	p := must(e.svc.GetPolicy(e.root, &iamapi.GetPolicyRequest{PolicyArn: ptr.To(admin)}))(t).Policy
	if *p.PolicyName != "AdministratorAccess" || *p.DefaultVersionId != "v1" {
		t.Fatalf("AdministratorAccess = %+v", p)
	}
	v := must(e.svc.GetPolicyVersion(e.root, &iamapi.GetPolicyVersionRequest{PolicyArn: ptr.To(admin), VersionId: ptr.To("v1")}))(t)
	if !strings.Contains(decode(t, v.PolicyVersion.Document), `"Action":"*"`) {
		t.Fatalf("document = %s", decode(t, v.PolicyVersion.Document))
	}
	for _, call := range []func() error{
		func() error {
			_, err := e.svc.DeletePolicy(e.root, &iamapi.DeletePolicyRequest{PolicyArn: ptr.To(admin)})
			return err
		},
		func() error {
			_, err := e.svc.CreatePolicyVersion(e.root, &iamapi.CreatePolicyVersionRequest{PolicyArn: ptr.To(admin), PolicyDocument: ptr.To(allowAll)})
			return err
		},
	} {
		wantErr(t, call(), ErrUnmodifiableEntity, "")
	}
	_, err := e.svc.GetPolicy(e.root, &iamapi.GetPolicyRequest{PolicyArn: ptr.To(awsPolicyPrefix + "NoSuch")})
	wantErr(t, err, ErrNoSuchEntity, "")
	_, err = e.svc.GetPolicy(e.root, &iamapi.GetPolicyRequest{PolicyArn: ptr.To("not-an-arn")})
	wantErr(t, err, ErrInvalidInput, "ARN not-an-arn is not valid.")
}

func TestListPolicies(t *testing.T) {
	e := newEnv(t)
	must(e.svc.CreatePolicy(e.root, &iamapi.CreatePolicyRequest{PolicyName: ptr.To("a"), PolicyDocument: ptr.To(allowAll)}))(t)
	must(e.svc.CreatePolicy(e.root, &iamapi.CreatePolicyRequest{PolicyName: ptr.To("b"), Path: ptr.To("/x/"), PolicyDocument: ptr.To(allowAll)}))(t)
	e.createUser("olga")
	must(e.svc.AttachUserPolicy(e.root, &iamapi.AttachUserPolicyRequest{UserName: ptr.To("olga"), PolicyArn: ptr.To(awsPolicyPrefix + "ReadOnlyAccess")}))(t)
	must(e.svc.AttachUserPolicy(e.root, &iamapi.AttachUserPolicyRequest{UserName: ptr.To("olga"), PolicyArn: ptr.To("arn:aws:iam::" + e.acct.ID + ":policy/x/b")}))(t)

	names := func(req iamapi.ListPoliciesRequest) string {
		var out []string
		for {
			l := must(e.svc.ListPolicies(e.root, &req))(t)
			for _, p := range l.Policies {
				out = append(out, *p.PolicyName)
			}
			if !*l.IsTruncated {
				return strings.Join(out, ",")
			}
			req.Marker = l.Marker
		}
	}
	tests := []struct {
		req  iamapi.ListPoliciesRequest
		want string
	}{
		{iamapi.ListPoliciesRequest{Scope: ptr.To("Local")}, "a,b"},
		{iamapi.ListPoliciesRequest{Scope: ptr.To("AWS")}, "AdministratorAccess,AmazonECS_FullAccess,ReadOnlyAccess"},
		{iamapi.ListPoliciesRequest{MaxItems: ptr.To(int32(2))}, "a,b,AdministratorAccess,AmazonECS_FullAccess,ReadOnlyAccess"},
		{iamapi.ListPoliciesRequest{OnlyAttached: ptr.To(true)}, "b,ReadOnlyAccess"},
		{iamapi.ListPoliciesRequest{Scope: ptr.To("Local"), PathPrefix: ptr.To("/x/")}, "b"},
	}
	for _, tt := range tests {
		if got := names(tt.req); got != tt.want {
			t.Errorf("ListPolicies(%+v) = %s, want %s", tt.req, got, tt.want)
		}
	}
	_, err := e.svc.ListPolicies(e.root, &iamapi.ListPoliciesRequest{Scope: ptr.To("Mine")})
	wantErr(t, err, ErrValidation, "")
}

func TestAttachErrors(t *testing.T) {
	e := newEnv(t)
	e.createUser("pat")
	missing := "arn:aws:iam::" + e.acct.ID + ":policy/missing"
	_, err := e.svc.AttachUserPolicy(e.root, &iamapi.AttachUserPolicyRequest{UserName: ptr.To("pat"), PolicyArn: ptr.To(missing)})
	wantErr(t, err, ErrNoSuchEntity, "Policy "+missing+" does not exist or is not attachable.")
	_, err = e.svc.AttachUserPolicy(e.root, &iamapi.AttachUserPolicyRequest{UserName: ptr.To("nobody"), PolicyArn: ptr.To(awsPolicyPrefix + "ReadOnlyAccess")})
	wantErr(t, err, ErrNoSuchEntity, "The user with name nobody cannot be found.")
	_, err = e.svc.DetachUserPolicy(e.root, &iamapi.DetachUserPolicyRequest{UserName: ptr.To("pat"), PolicyArn: ptr.To(awsPolicyPrefix + "ReadOnlyAccess")})
	wantErr(t, err, ErrNoSuchEntity, "Policy "+awsPolicyPrefix+"ReadOnlyAccess was not found.")
	_, err = e.svc.AttachRolePolicy(e.root, &iamapi.AttachRolePolicyRequest{RoleName: ptr.To("nope"), PolicyArn: ptr.To(awsPolicyPrefix + "ReadOnlyAccess")})
	wantErr(t, err, ErrNoSuchEntity, "The role with name nope cannot be found.")

	for i := range maxAttached + 1 {
		name := fmt.Sprint("p", i)
		arn := *must(e.svc.CreatePolicy(e.root, &iamapi.CreatePolicyRequest{PolicyName: ptr.To(name), Path: ptr.To("/q/"), PolicyDocument: ptr.To(allowAll)}))(t).Policy.Arn
		_, err := e.svc.AttachUserPolicy(e.root, &iamapi.AttachUserPolicyRequest{UserName: ptr.To("pat"), PolicyArn: ptr.To(arn)})
		if i < maxAttached && err != nil {
			t.Fatal(err)
		}
		if i == maxAttached {
			wantErr(t, err, ErrLimitExceeded, "Cannot exceed quota for PoliciesPerUser: 10")
		}
	}
	l := must(e.svc.ListAttachedUserPolicies(e.root, &iamapi.ListAttachedUserPoliciesRequest{UserName: ptr.To("pat"), PathPrefix: ptr.To("/q/"), MaxItems: ptr.To(int32(4))}))(t)
	if len(l.AttachedPolicies) != 4 || !*l.IsTruncated || *l.AttachedPolicies[0].PolicyName != "p0" {
		t.Fatalf("ListAttachedUserPolicies = %+v", l)
	}
	if l := must(e.svc.ListAttachedUserPolicies(e.root, &iamapi.ListAttachedUserPoliciesRequest{UserName: ptr.To("pat"), PathPrefix: ptr.To("/other/")}))(t); len(l.AttachedPolicies) != 0 {
		t.Fatalf("ListAttachedUserPolicies /other/ = %+v", l)
	}
}

func TestInlinePolicies(t *testing.T) {
	e := newEnv(t)
	e.createUser("quinn")
	doc := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ecs:List*","Resource":"*"}}`
	// Raw and URL-encoded documents are both accepted and answered encoded.
	must(e.svc.PutUserPolicy(e.root, &iamapi.PutUserPolicyRequest{UserName: ptr.To("quinn"), PolicyName: ptr.To("Raw"), PolicyDocument: ptr.To(doc)}))(t)
	must(e.svc.PutUserPolicy(e.root, &iamapi.PutUserPolicyRequest{UserName: ptr.To("quinn"), PolicyName: ptr.To("enc"), PolicyDocument: ptr.To(encodeDocument(doc))}))(t)
	for _, name := range []string{"raw", "enc"} {
		got := must(e.svc.GetUserPolicy(e.root, &iamapi.GetUserPolicyRequest{UserName: ptr.To("QUINN"), PolicyName: ptr.To(name)}))(t)
		if decode(t, got.PolicyDocument) != doc || *got.UserName != "quinn" {
			t.Errorf("GetUserPolicy(%s) = %s", name, decode(t, got.PolicyDocument))
		}
	}
	// Replacing keeps one policy of that name.
	must(e.svc.PutUserPolicy(e.root, &iamapi.PutUserPolicyRequest{UserName: ptr.To("quinn"), PolicyName: ptr.To("raw"), PolicyDocument: ptr.To(allowAll)}))(t)
	l := must(e.svc.ListUserPolicies(e.root, &iamapi.ListUserPoliciesRequest{UserName: ptr.To("quinn")}))(t)
	if fmt.Sprint(l.PolicyNames) != "[enc raw]" {
		t.Errorf("ListUserPolicies = %v", l.PolicyNames)
	}

	_, err := e.svc.GetUserPolicy(e.root, &iamapi.GetUserPolicyRequest{UserName: ptr.To("quinn"), PolicyName: ptr.To("none")})
	wantErr(t, err, ErrNoSuchEntity, "The user policy with name none cannot be found.")
	_, err = e.svc.DeleteUserPolicy(e.root, &iamapi.DeleteUserPolicyRequest{UserName: ptr.To("quinn"), PolicyName: ptr.To("none")})
	wantErr(t, err, ErrNoSuchEntity, "")
	_, err = e.svc.PutUserPolicy(e.root, &iamapi.PutUserPolicyRequest{UserName: ptr.To("quinn"), PolicyName: ptr.To("x"), PolicyDocument: ptr.To(`{"Statement":[]`)})
	wantErr(t, err, ErrMalformedPolicyDocument, "")

	// The user's inline policies share 2048 characters.
	half := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + strings.Repeat("y", 1100) + `"}]}`
	must(e.svc.PutUserPolicy(e.root, &iamapi.PutUserPolicyRequest{UserName: ptr.To("quinn"), PolicyName: ptr.To("h1"), PolicyDocument: ptr.To(half)}))(t)
	_, err = e.svc.PutUserPolicy(e.root, &iamapi.PutUserPolicyRequest{UserName: ptr.To("quinn"), PolicyName: ptr.To("h2"), PolicyDocument: ptr.To(half)})
	wantErr(t, err, ErrLimitExceeded, "Maximum policy size of 2048 bytes exceeded for user quinn")
	// Roles have more room.
	must(e.svc.CreateRole(e.root, &iamapi.CreateRoleRequest{RoleName: ptr.To("r"), AssumeRolePolicyDocument: ptr.To(ecsTrust)}))(t)
	for _, n := range []string{"h1", "h2"} {
		must(e.svc.PutRolePolicy(e.root, &iamapi.PutRolePolicyRequest{RoleName: ptr.To("r"), PolicyName: ptr.To(n), PolicyDocument: ptr.To(half)}))(t)
	}
	rl := must(e.svc.ListRolePolicies(e.root, &iamapi.ListRolePoliciesRequest{RoleName: ptr.To("r"), MaxItems: ptr.To(int32(1))}))(t)
	if len(rl.PolicyNames) != 1 || !*rl.IsTruncated {
		t.Errorf("ListRolePolicies = %+v", rl)
	}
	rp := must(e.svc.GetRolePolicy(e.root, &iamapi.GetRolePolicyRequest{RoleName: ptr.To("r"), PolicyName: ptr.To("h1")}))(t)
	if decode(t, rp.PolicyDocument) != half {
		t.Error("GetRolePolicy document differs")
	}
	must(e.svc.CreateGroup(e.root, &iamapi.CreateGroupRequest{GroupName: ptr.To("g")}))(t)
	must(e.svc.PutGroupPolicy(e.root, &iamapi.PutGroupPolicyRequest{GroupName: ptr.To("g"), PolicyName: ptr.To("p"), PolicyDocument: ptr.To(doc)}))(t)
	gp := must(e.svc.GetGroupPolicy(e.root, &iamapi.GetGroupPolicyRequest{GroupName: ptr.To("g"), PolicyName: ptr.To("p")}))(t)
	if decode(t, gp.PolicyDocument) != doc || *gp.GroupName != "g" {
		t.Error("GetGroupPolicy differs")
	}
	if gl := must(e.svc.ListGroupPolicies(e.root, &iamapi.ListGroupPoliciesRequest{GroupName: ptr.To("g")}))(t); len(gl.PolicyNames) != 1 {
		t.Errorf("ListGroupPolicies = %v", gl.PolicyNames)
	}
	_, err = e.svc.PutGroupPolicy(e.root, &iamapi.PutGroupPolicyRequest{GroupName: ptr.To("nope"), PolicyName: ptr.To("p"), PolicyDocument: ptr.To(doc)})
	wantErr(t, err, ErrNoSuchEntity, "The group with name nope cannot be found.")
}

func TestAccountSummaryAndAliases(t *testing.T) {
	e := newEnv(t)
	e.createUser("u1")
	e.createUser("u2")
	must(e.svc.CreateRole(e.root, &iamapi.CreateRoleRequest{RoleName: ptr.To("r"), AssumeRolePolicyDocument: ptr.To(ecsTrust)}))(t)
	must(e.svc.CreatePolicy(e.root, &iamapi.CreatePolicyRequest{PolicyName: ptr.To("p"), PolicyDocument: ptr.To(allowAll)}))(t)
	m := must(e.svc.GetAccountSummary(e.root, nil))(t).SummaryMap
	if m["Users"] != 2 || m["Roles"] != 1 || m["Policies"] != 1 || m["Groups"] != 0 || m["AccessKeysPerUserQuota"] != 2 ||
		m["AccountAccessKeysPresent"] != 1 {
		t.Fatalf("summary = %v", m)
	}
	a := must(e.svc.ListAccountAliases(e.root, &iamapi.ListAccountAliasesRequest{}))(t)
	if len(a.AccountAliases) != 0 || a.AccountAliases == nil || *a.IsTruncated {
		t.Fatalf("aliases = %+v", a)
	}
}

func TestDocumentEncoding(t *testing.T) {
	doc := `{"a": "b c+d/é"}`
	enc := encodeDocument(doc)
	if enc != "%7B%22a%22%3A%20%22b%20c%2Bd%2F%C3%A9%22%7D" {
		t.Errorf("encodeDocument = %s", enc)
	}
	for _, in := range []string{doc, enc, "  " + doc} {
		got, err := decodeDocument(in)
		if err != nil || strings.TrimSpace(got) != doc {
			t.Errorf("decodeDocument(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := decodeDocument("%zz"); err == nil {
		t.Error("bad escape accepted")
	}
}
