package policy

import (
	"fmt"
	"testing"
)

func mustParse(t testing.TB, doc string) *Document {
	t.Helper()
	d, err := Parse(doc)
	if err != nil {
		t.Fatalf("Parse(%s): %v", doc, err)
	}
	return d
}

func TestEvaluateCombining(t *testing.T) {
	allowAll := mustParse(t, stmt(`{"Sid":"All","Effect":"Allow","Action":"*","Resource":"*"}`))
	allowS3 := mustParse(t, stmt(`{"Sid":"S3","Effect":"Allow","Action":"s3:*","Resource":"*"}`))
	denyDelete := mustParse(t, stmt(`{"Sid":"NoDelete","Effect":"Deny","Action":"s3:Delete*","Resource":"*"}`))
	twoStatements := mustParse(t, stmt(
		`{"Sid":"A","Effect":"Allow","Action":"s3:Get*","Resource":"*"}`,
		`{"Sid":"B","Effect":"Deny","Action":"s3:GetObject","Resource":"arn:aws:s3:::secret/*"}`))
	get := Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k"}
	del := Request{Action: "s3:DeleteObject", Resource: "arn:aws:s3:::b/k"}
	secret := Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::secret/k"}

	tests := []struct {
		name     string
		req      Request
		policies []*Document
		want     Decision
	}{
		{"no policies", get, nil, Decision{Outcome: ImplicitDeny, Policy: -1, Statement: -1}},
		{"nil policy skipped", get, []*Document{nil, allowS3}, Decision{Outcome: Allow, Policy: 1, Statement: 0, Sid: "S3"}},
		{"allow", get, []*Document{allowS3}, Decision{Outcome: Allow, Policy: 0, Statement: 0, Sid: "S3"}},
		{"first allow reported", get, []*Document{allowAll, allowS3}, Decision{Outcome: Allow, Policy: 0, Statement: 0, Sid: "All"}},
		{"not matched", Request{Action: "ec2:RunInstances"}, []*Document{allowS3}, Decision{Outcome: ImplicitDeny, Policy: -1, Statement: -1}},
		{"deny wins over earlier allow", del, []*Document{allowAll, denyDelete}, Decision{Outcome: ExplicitDeny, Policy: 1, Statement: 0, Sid: "NoDelete"}},
		{"deny wins over later allow", del, []*Document{denyDelete, allowAll}, Decision{Outcome: ExplicitDeny, Policy: 0, Statement: 0, Sid: "NoDelete"}},
		{"deny alone", del, []*Document{denyDelete}, Decision{Outcome: ExplicitDeny, Policy: 0, Statement: 0, Sid: "NoDelete"}},
		{"deny not applicable", get, []*Document{denyDelete}, Decision{Outcome: ImplicitDeny, Policy: -1, Statement: -1}},
		{"deny in same policy", secret, []*Document{twoStatements}, Decision{Outcome: ExplicitDeny, Policy: 0, Statement: 1, Sid: "B"}},
		{"same policy other resource", get, []*Document{twoStatements}, Decision{Outcome: Allow, Policy: 0, Statement: 0, Sid: "A"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Evaluate(tt.req, tt.policies...)
			if got != tt.want {
				t.Errorf("Evaluate = %+v, want %+v", got, tt.want)
			}
			if got.Allowed() != (tt.want.Outcome == Allow) {
				t.Errorf("Allowed() = %v", got.Allowed())
			}
		})
	}
}

func TestEvaluateNotActionNotResource(t *testing.T) {
	// IAM's documented example: allow everything but IAM.
	notIAM := mustParse(t, stmt(`{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}`))
	// Deny everything outside one bucket.
	onlyBucket := mustParse(t, stmt(
		`{"Effect":"Allow","Action":"*","Resource":"*"}`,
		`{"Effect":"Deny","Action":"s3:*","NotResource":["arn:aws:s3:::mine","arn:aws:s3:::mine/*"]}`))
	tests := []struct {
		req  Request
		doc  *Document
		want Outcome
	}{
		{Request{Action: "ec2:RunInstances"}, notIAM, Allow},
		{Request{Action: "iam:CreateUser"}, notIAM, ImplicitDeny},
		{Request{Action: "IAM:createuser"}, notIAM, ImplicitDeny},
		{Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::mine/k"}, onlyBucket, Allow},
		{Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::mine"}, onlyBucket, Allow},
		{Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::theirs/k"}, onlyBucket, ExplicitDeny},
		{Request{Action: "s3:ListAllMyBuckets", Resource: "*"}, onlyBucket, ExplicitDeny},
		{Request{Action: "ec2:RunInstances", Resource: "*"}, onlyBucket, Allow},
	}
	for _, tt := range tests {
		if got := Evaluate(tt.req, tt.doc).Outcome; got != tt.want {
			t.Errorf("%s on %s = %v, want %v", tt.req.Action, tt.req.Resource, got, tt.want)
		}
	}
}

func TestEvaluateResourceVariables(t *testing.T) {
	doc := `{"Version":"%s","Statement":{"Effect":"Allow","Action":"iam:*AccessKey*","Resource":"arn:aws:iam::123456789012:user/${aws:username}"}}`
	v2012 := mustParse(t, sprintf(doc, Version2012))
	v2008 := mustParse(t, sprintf(doc, Version2008))
	req := func(user, target string) Request {
		r := Request{Action: "iam:CreateAccessKey", Resource: "arn:aws:iam::123456789012:user/" + target}
		if user != "" {
			r.Context = ctx{"aws:username": {user}}
		}
		return r
	}
	tests := []struct {
		name string
		doc  *Document
		req  Request
		want Outcome
	}{
		{"own user", v2012, req("alice", "alice"), Allow},
		{"other user", v2012, req("alice", "bob"), ImplicitDeny},
		{"no username (a role session)", v2012, req("", "alice"), ImplicitDeny},
		{"2008 treats the variable as text", v2008, req("alice", "alice"), ImplicitDeny},
		{"2008 literal text matches", v2008, req("alice", "${aws:username}"), Allow},
	}
	for _, tt := range tests {
		if got := Evaluate(tt.req, tt.doc).Outcome; got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
	// An unresolvable variable in NotResource excludes nothing.
	deny := mustParse(t, stmt(`{"Effect":"Deny","Action":"*","NotResource":"arn:aws:s3:::home/${aws:username}/*"}`))
	if got := Evaluate(Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::home/alice/x"}, deny).Outcome; got != ExplicitDeny {
		t.Errorf("NotResource with unresolvable variable: %v, want ExplicitDeny", got)
	}
	if got := Evaluate(Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::home/alice/x", Context: ctx{"aws:username": {"alice"}}}, deny).Outcome; got != ImplicitDeny {
		t.Errorf("NotResource with resolved variable: %v, want ImplicitDeny", got)
	}
}

func TestEvaluateConditionsAreANDed(t *testing.T) {
	d := mustParse(t, stmt(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{
		"Bool":{"aws:SecureTransport":"true"},
		"IpAddress":{"aws:SourceIp":["10.0.0.0/8","192.0.2.0/24"]},
		"StringEquals":{"aws:RequestedRegion":"eu-west-1","aws:PrincipalTag/team":["blue","green"]}}}`))
	full := ctx{"aws:SecureTransport": {"true"}, "aws:SourceIp": {"192.0.2.9"}, "aws:RequestedRegion": {"eu-west-1"}, "aws:PrincipalTag/team": {"green"}}
	if got := Evaluate(Request{Action: "s3:GetObject", Context: full}, d).Outcome; got != Allow {
		t.Fatalf("all conditions met: %v", got)
	}
	for key := range full {
		partial := ctx{}
		for k, v := range full {
			if k != key {
				partial[k] = v
			}
		}
		if got := Evaluate(Request{Action: "s3:GetObject", Context: partial}, d).Outcome; got != ImplicitDeny {
			t.Errorf("without %s: %v, want ImplicitDeny", key, got)
		}
	}
	// Context key names are case-insensitive, and keys that differ only in
	// case are merged.
	folded := ctx{"AWS:SECURETRANSPORT": {"true"}, "aws:sourceip": {"192.0.2.9"}, "Aws:RequestedRegion": {"eu-west-1"}, "aws:principaltag/TEAM": {"green"}}
	if got := Evaluate(Request{Action: "s3:GetObject", Context: folded}, d).Outcome; got != Allow {
		t.Errorf("case-folded context keys: %v", got)
	}
}

func TestEvaluatePrincipals(t *testing.T) {
	const acct, other = "123456789012", "111122223333"
	user := &Principal{ARN: "arn:aws:iam::" + acct + ":user/alice"}
	role := &Principal{ARN: "arn:aws:iam::" + other + ":role/deploy/ci"}
	session := &Principal{ARN: "arn:aws:sts::" + other + ":assumed-role/ci/build-42"}
	otherSession := &Principal{ARN: "arn:aws:sts::" + other + ":assumed-role/cd/build-42"}
	root := &Principal{ARN: "arn:aws:iam::" + acct + ":root"}
	acctOnly := &Principal{Account: acct}
	ecsTasks := &Principal{Service: "ecs-tasks.amazonaws.com"}
	web := &Principal{Federated: "cognito-identity.amazonaws.com"}

	tests := []struct {
		name      string
		principal string
		caller    *Principal
		want      bool
	}{
		{"star anonymous", `"*"`, nil, true},
		{"star service", `"*"`, ecsTasks, true},
		{"AWS star anonymous", `{"AWS":"*"}`, nil, true},
		{"AWS star user", `{"AWS":"*"}`, user, true},
		{"account id", `{"AWS":"` + acct + `"}`, user, true},
		{"account id root", `{"AWS":"` + acct + `"}`, root, true},
		{"account id other", `{"AWS":"` + acct + `"}`, role, false},
		{"account id explicit Account", `{"AWS":"` + acct + `"}`, acctOnly, true},
		{"account id anonymous", `{"AWS":"` + acct + `"}`, nil, false},
		{"account id service", `{"AWS":"` + acct + `"}`, ecsTasks, false},
		{"root arn", `{"AWS":"arn:aws:iam::` + acct + `:root"}`, user, true},
		{"root arn other", `{"AWS":"arn:aws:iam::` + acct + `:root"}`, session, false},
		{"user arn", `{"AWS":"arn:aws:iam::` + acct + `:user/alice"}`, user, true},
		{"user arn other user", `{"AWS":"arn:aws:iam::` + acct + `:user/bob"}`, user, false},
		{"role arn itself", `{"AWS":"arn:aws:iam::` + other + `:role/deploy/ci"}`, role, true},
		{"role arn session", `{"AWS":"arn:aws:iam::` + other + `:role/deploy/ci"}`, session, true},
		{"role arn other role's session", `{"AWS":"arn:aws:iam::` + other + `:role/deploy/ci"}`, otherSession, false},
		{"role arn wrong account", `{"AWS":"arn:aws:iam::` + acct + `:role/ci"}`, session, false},
		{"session arn exact", `{"AWS":"arn:aws:sts::` + other + `:assumed-role/ci/build-42"}`, session, true},
		{"session arn other session", `{"AWS":"arn:aws:sts::` + other + `:assumed-role/ci/build-43"}`, session, false},
		{"list", `{"AWS":["arn:aws:iam::` + acct + `:user/bob","` + other + `"]}`, session, true},
		{"service", `{"Service":"ecs-tasks.amazonaws.com"}`, ecsTasks, true},
		{"service other", `{"Service":"ec2.amazonaws.com"}`, ecsTasks, false},
		{"service vs user", `{"Service":"ecs-tasks.amazonaws.com"}`, user, false},
		{"service list", `{"Service":["ec2.amazonaws.com","ecs-tasks.amazonaws.com"]}`, ecsTasks, true},
		{"federated", `{"Federated":"cognito-identity.amazonaws.com"}`, web, true},
		{"federated other", `{"Federated":"accounts.google.com"}`, web, false},
		{"mixed types", `{"AWS":"` + acct + `","Service":"ecs-tasks.amazonaws.com"}`, ecsTasks, true},
		{"canonical user never matches", `{"CanonicalUser":"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"}`, user, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := mustParse(t, stmt(`{"Effect":"Allow","Principal":`+tt.principal+`,"Action":"sts:AssumeRole"}`))
			got := Evaluate(Request{Action: "sts:AssumeRole", Principal: tt.caller}, d).Allowed()
			if got != tt.want {
				t.Errorf("Principal %s, caller %+v: allowed = %v, want %v", tt.principal, tt.caller, got, tt.want)
			}
			// NotPrincipal in a Deny is the complement.
			nd := mustParse(t, stmt(
				`{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}`,
				`{"Effect":"Deny","NotPrincipal":`+tt.principal+`,"Action":"sts:AssumeRole"}`))
			if denied := Evaluate(Request{Action: "sts:AssumeRole", Principal: tt.caller}, nd).Outcome == ExplicitDeny; denied == tt.want {
				t.Errorf("NotPrincipal %s, caller %+v: denied = %v, want %v", tt.principal, tt.caller, denied, !tt.want)
			}
		})
	}
}

func TestEvaluateResourceDefaultsToStar(t *testing.T) {
	d := mustParse(t, stmt(`{"Effect":"Allow","Action":"s3:ListAllMyBuckets","Resource":"*"}`))
	if !Evaluate(Request{Action: "s3:ListAllMyBuckets"}, d).Allowed() {
		t.Error("empty Resource did not match \"*\"")
	}
	specific := mustParse(t, stmt(`{"Effect":"Allow","Action":"s3:ListAllMyBuckets","Resource":"arn:aws:s3:::b"}`))
	if Evaluate(Request{Action: "s3:ListAllMyBuckets"}, specific).Allowed() {
		t.Error("a specific Resource matched a request with no resource")
	}
}

func TestEvaluateHandBuiltDocument(t *testing.T) {
	// Statements without an action never apply; unknown effects and
	// operators never allow.
	d := &Document{Version: Version2012, Statements: []Statement{
		{Effect: EffectAllow, Resource: []string{"*"}},
		{Effect: "Maybe", Action: []string{"*"}, Resource: []string{"*"}},
		{Effect: EffectAllow, Action: []string{"*"}, Resource: []string{"*"}, Condition: []Condition{{Operator: "Nope", Key: "a:b", Values: []string{"x"}}}},
	}}
	if got := Evaluate(Request{Action: "s3:GetObject"}, d); got.Outcome != ImplicitDeny {
		t.Errorf("hand-built document: %v", got)
	}
}

func TestDecisionString(t *testing.T) {
	for _, tt := range []struct {
		d    Decision
		want string
	}{
		{Decision{Outcome: ImplicitDeny, Policy: -1, Statement: -1}, "ImplicitDeny"},
		{Decision{Outcome: Allow, Policy: 0, Statement: 2}, "Allow by policy 0 statement 2"},
		{Decision{Outcome: ExplicitDeny, Policy: 1, Statement: 0, Sid: "DenyAll"}, "ExplicitDeny by policy 1 statement 0 (Sid DenyAll)"},
	} {
		if got := tt.d.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
