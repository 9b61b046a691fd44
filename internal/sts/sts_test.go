package sts

import (
	"context"
	"errors"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api/iamapi"
	"github.com/wharfhq/wharf/api/stsapi"
	"github.com/wharfhq/wharf/internal/errs"
	"github.com/wharfhq/wharf/internal/iam"
	"github.com/wharfhq/wharf/internal/principal"
	"github.com/wharfhq/wharf/internal/ptr"
	"github.com/wharfhq/wharf/internal/store/sqlite"
	"github.com/wharfhq/wharf/internal/tenancy"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	t     *testing.T
	clock *clock
	iam   *iam.Service
	sts   *Service
	acct  string
	root  context.Context
}

func newEnv(t *testing.T) *env {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "wharf.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	a, _, err := iam.Bootstrap(context.Background(), st, iam.BootstrapOptions{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, clock: c, acct: a.ID, iam: iam.New(st, iam.Options{Now: c.Now})}
	e.sts = New(e.iam, Options{Now: c.Now})
	e.root = e.ctxFor(a.RootAccessKeyID)
	return e
}

// ctxFor returns a context acting as the principal an access key resolves
// to, as the edge builds it.
func (e *env) ctxFor(accessKeyID string) context.Context {
	e.t.Helper()
	cred, err := e.iam.LookupAccessKey(context.Background(), accessKeyID)
	if err != nil {
		e.t.Fatal(err)
	}
	p := cred.Subject.(*principal.Principal)
	return principal.With(tenancy.With(context.Background(), p.Account, "us-east-1"), p)
}

func (e *env) user(name string) context.Context {
	e.t.Helper()
	if _, err := e.iam.CreateUser(e.root, &iamapi.CreateUserRequest{UserName: ptr.To(name)}); err != nil {
		e.t.Fatal(err)
	}
	k, err := e.iam.CreateAccessKey(e.root, &iamapi.CreateAccessKeyRequest{UserName: ptr.To(name)})
	if err != nil {
		e.t.Fatal(err)
	}
	return e.ctxFor(*k.AccessKey.AccessKeyId)
}

func (e *env) role(name, trust string, maxSession int32) string {
	e.t.Helper()
	r, err := e.iam.CreateRole(e.root, &iamapi.CreateRoleRequest{RoleName: ptr.To(name), AssumeRolePolicyDocument: ptr.To(trust),
		MaxSessionDuration: ptr.To(maxSession)})
	if err != nil {
		e.t.Fatal(err)
	}
	return *r.Role.Arn
}

func trustAWS(principalARN, extra string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + principalARN + `"},"Action":"sts:AssumeRole"` + extra + `}]}`
}

func wantErr(t *testing.T, err, kind error, msg string) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("error = %v, want kind %v", err, kind)
	}
	if msg != "" && errs.Message(err) != msg {
		t.Fatalf("message:\n got %q\nwant %q", errs.Message(err), msg)
	}
	if _, ok := ErrorTable.Lookup(err); !ok {
		t.Fatalf("error %v not in ErrorTable", err)
	}
}

func TestGetCallerIdentity(t *testing.T) {
	e := newEnv(t)
	out, err := e.sts.GetCallerIdentity(e.root, &stsapi.GetCallerIdentityRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if *out.Account != e.acct || *out.Arn != "arn:aws:iam::"+e.acct+":root" || *out.UserId != e.acct {
		t.Fatalf("root identity = %+v", out)
	}
	bob := e.user("bob")
	out, _ = e.sts.GetCallerIdentity(bob, &stsapi.GetCallerIdentityRequest{})
	if *out.Arn != "arn:aws:iam::"+e.acct+":user/bob" || !strings.HasPrefix(*out.UserId, "AIDA") {
		t.Fatalf("user identity = %+v", out)
	}
	if _, err := e.sts.GetCallerIdentity(context.Background(), &stsapi.GetCallerIdentityRequest{}); err == nil {
		t.Fatal("GetCallerIdentity without a principal succeeded")
	}
}

func TestAssumeRole(t *testing.T) {
	e := newEnv(t)
	bob := e.user("bob")
	alice := e.user("alice")
	accountTrust := trustAWS("arn:aws:iam::"+e.acct+":root", "")
	roleARN := e.role("deployer", accountTrust, 7200)

	out, err := e.sts.AssumeRole(bob, &stsapi.AssumeRoleRequest{RoleArn: ptr.To(roleARN), RoleSessionName: ptr.To("ci-run")})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Credentials
	if !regexp.MustCompile(`^ASIA[A-Z2-7]{16}$`).MatchString(*c.AccessKeyId) || len(*c.SecretAccessKey) != 40 || *c.SessionToken == "" ||
		!c.Expiration.Equal(e.clock.Now().Add(time.Hour)) {
		t.Fatalf("credentials = %+v", c)
	}
	wantARN := "arn:aws:sts::" + e.acct + ":assumed-role/deployer/ci-run"
	if *out.AssumedRoleUser.Arn != wantARN || !regexp.MustCompile(`^AROA[A-Z2-7]{17}:ci-run$`).MatchString(*out.AssumedRoleUser.AssumedRoleId) {
		t.Fatalf("assumed role user = %+v", out.AssumedRoleUser)
	}

	// The session's identity, as the edge will see it.
	session := e.ctxFor(*c.AccessKeyId)
	id, _ := e.sts.GetCallerIdentity(session, &stsapi.GetCallerIdentityRequest{})
	if *id.Arn != wantARN || *id.UserId != *out.AssumedRoleUser.AssumedRoleId || *id.Account != e.acct {
		t.Fatalf("session identity = %+v", id)
	}
	p := principal.From(session)
	if p.Kind != principal.AssumedRole || p.RoleARN != roleARN || p.Name != "deployer" || p.SessionName != "ci-run" || !p.Temporary {
		t.Fatalf("session principal = %+v", p)
	}

	// The key expires with the session: still found, reported expired.
	e.clock.Advance(time.Hour + time.Second)
	cred, err := e.iam.LookupAccessKey(context.Background(), *c.AccessKeyId)
	if err != nil || !cred.Expiration.Before(e.clock.Now()) || cred.SessionToken != *c.SessionToken {
		t.Fatalf("expired lookup = %+v, %v", cred, err)
	}

	// A trust policy naming one user admits only that user.
	onlyAlice := e.role("alice-only", trustAWS("arn:aws:iam::"+e.acct+":user/alice", ""), 3600)
	if _, err := e.sts.AssumeRole(alice, &stsapi.AssumeRoleRequest{RoleArn: ptr.To(onlyAlice), RoleSessionName: ptr.To("s1")}); err != nil {
		t.Fatal(err)
	}
	_, err = e.sts.AssumeRole(bob, &stsapi.AssumeRoleRequest{RoleArn: ptr.To(onlyAlice), RoleSessionName: ptr.To("s1")})
	wantErr(t, err, ErrAccessDenied, "User: arn:aws:iam::"+e.acct+":user/bob is not authorized to perform: sts:AssumeRole on resource: "+onlyAlice)

	// A service role cannot be assumed by users.
	svcRole := e.role("task", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`, 3600)
	_, err = e.sts.AssumeRole(bob, &stsapi.AssumeRoleRequest{RoleArn: ptr.To(svcRole), RoleSessionName: ptr.To("s1")})
	wantErr(t, err, ErrAccessDenied, "")

	// Missing roles, wrong paths and other accounts look the same.
	for _, bad := range []string{
		"arn:aws:iam::" + e.acct + ":role/nope",
		"arn:aws:iam::" + e.acct + ":role/other/deployer",
		"arn:aws:iam::111111111111:role/deployer",
	} {
		_, err = e.sts.AssumeRole(bob, &stsapi.AssumeRoleRequest{RoleArn: ptr.To(bad), RoleSessionName: ptr.To("s1")})
		wantErr(t, err, ErrAccessDenied, "User: arn:aws:iam::"+e.acct+":user/bob is not authorized to perform: sts:AssumeRole on resource: "+bad)
	}
	_, err = e.sts.AssumeRole(bob, &stsapi.AssumeRoleRequest{RoleArn: ptr.To("arn:aws:iam::" + e.acct + ":user/bob"), RoleSessionName: ptr.To("s1")})
	wantErr(t, err, ErrValidation, "")
}

func TestAssumeRoleExternalID(t *testing.T) {
	e := newEnv(t)
	bob := e.user("bob")
	r := e.role("partner", trustAWS(e.acct, `,"Condition":{"StringEquals":{"sts:ExternalId":"s3cr3t"}}`), 3600)
	for _, tt := range []struct {
		ext  *string
		want error
	}{{nil, ErrAccessDenied}, {ptr.To("wrong"), ErrAccessDenied}, {ptr.To("s3cr3t"), nil}} {
		_, err := e.sts.AssumeRole(bob, &stsapi.AssumeRoleRequest{RoleArn: ptr.To(r), RoleSessionName: ptr.To("x1"), ExternalId: tt.ext})
		if !errors.Is(err, tt.want) && !(tt.want == nil && err == nil) {
			t.Errorf("ExternalId %v: err = %v, want %v", tt.ext, err, tt.want)
		}
	}
}

func TestAssumeRoleDurations(t *testing.T) {
	e := newEnv(t)
	bob := e.user("bob")
	trust := trustAWS("arn:aws:iam::"+e.acct+":root", "")
	r := e.role("r", trust, 7200)
	tests := []struct {
		name    string
		seconds int32
		msg     string
	}{
		{"minimum", 900, ""},
		{"role maximum", 7200, ""},
		{"too short", 899, "1 validation error detected: Value '899' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"},
		{"over the role maximum", 7201, "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := e.sts.AssumeRole(bob, &stsapi.AssumeRoleRequest{RoleArn: ptr.To(r), RoleSessionName: ptr.To("s1"), DurationSeconds: ptr.To(tt.seconds)})
			if tt.msg != "" {
				wantErr(t, err, ErrValidation, tt.msg)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := out.Credentials.Expiration.Sub(e.clock.Now()); got != time.Duration(tt.seconds)*time.Second {
				t.Fatalf("lifetime = %v", got)
			}
		})
	}

	// Role chaining is limited to an hour.
	out, err := e.sts.AssumeRole(bob, &stsapi.AssumeRoleRequest{RoleArn: ptr.To(r), RoleSessionName: ptr.To("s1")})
	if err != nil {
		t.Fatal(err)
	}
	chained := e.ctxFor(*out.Credentials.AccessKeyId)
	r2 := e.role("r2", trustAWS(r, ""), 7200)
	_, err = e.sts.AssumeRole(chained, &stsapi.AssumeRoleRequest{RoleArn: ptr.To(r2), RoleSessionName: ptr.To("s2"), DurationSeconds: ptr.To(int32(3601))})
	wantErr(t, err, ErrValidation, "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
	// A trust policy naming a role admits its sessions.
	if _, err := e.sts.AssumeRole(chained, &stsapi.AssumeRoleRequest{RoleArn: ptr.To(r2), RoleSessionName: ptr.To("s2")}); err != nil {
		t.Fatal(err)
	}

	for _, name := range []string{"x", strings.Repeat("a", 65), "has space", "slash/no"} {
		_, err := e.sts.AssumeRole(bob, &stsapi.AssumeRoleRequest{RoleArn: ptr.To(r), RoleSessionName: ptr.To(name)})
		wantErr(t, err, ErrValidation, "")
	}
}

func TestAssumeRoleSessionPolicy(t *testing.T) {
	e := newEnv(t)
	bob := e.user("bob")
	r := e.role("ops", trustAWS(e.acct, ""), 3600)
	if _, err := e.iam.AttachRolePolicy(e.root, &iamapi.AttachRolePolicyRequest{RoleName: ptr.To("ops"), PolicyArn: ptr.To("arn:aws:iam::aws:policy/AmazonECS_FullAccess")}); err != nil {
		t.Fatal(err)
	}
	session := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecs:Describe*","Resource":"*"}]}`
	out, err := e.sts.AssumeRole(bob, &stsapi.AssumeRoleRequest{RoleArn: ptr.To(r), RoleSessionName: ptr.To("narrow"), Policy: ptr.To(session),
		PolicyArns: []stsapi.PolicyDescriptorType{{Arn: ptr.To("arn:aws:iam::aws:policy/ReadOnlyAccess")}}})
	if err != nil {
		t.Fatal(err)
	}
	if out.PackedPolicySize == nil || *out.PackedPolicySize <= 0 || *out.PackedPolicySize > 100 {
		t.Fatalf("PackedPolicySize = %v", out.PackedPolicySize)
	}
	p := principal.From(e.ctxFor(*out.Credentials.AccessKeyId))
	authz := func(action string) error { return e.iam.Authorize(context.Background(), p, action, "*", nil) }
	if err := authz("ecs:DescribeServices"); err != nil {
		t.Errorf("inline session policy and role allow: %v", err)
	}
	if err := authz("ecs:ListClusters"); err != nil { // from the managed session policy
		t.Errorf("managed session policy and role allow: %v", err)
	}
	if err := authz("ecs:CreateService"); !errors.Is(err, iam.ErrAccessDenied) {
		t.Errorf("role allows, session does not: %v", err)
	}
	if err := authz("iam:ListUsers"); !errors.Is(err, iam.ErrAccessDenied) { // session allows, role does not
		t.Errorf("session allows, role does not: %v", err)
	}

	_, err = e.sts.AssumeRole(bob, &stsapi.AssumeRoleRequest{RoleArn: ptr.To(r), RoleSessionName: ptr.To("x1"), Policy: ptr.To(`{"Statement":`)})
	wantErr(t, err, ErrMalformedPolicyDocument, "")
	huge := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + strings.Repeat("z", 3000) + `"}]}`
	_, err = e.sts.AssumeRole(bob, &stsapi.AssumeRoleRequest{RoleArn: ptr.To(r), RoleSessionName: ptr.To("x1"), Policy: ptr.To(huge)})
	wantErr(t, err, ErrPackedPolicyTooLarge, "")
	_, err = e.sts.AssumeRole(bob, &stsapi.AssumeRoleRequest{RoleArn: ptr.To(r), RoleSessionName: ptr.To("x1"),
		PolicyArns: []stsapi.PolicyDescriptorType{{Arn: ptr.To("arn:aws:iam::" + e.acct + ":policy/nope")}}})
	wantErr(t, err, ErrValidation, "")
}

func TestGetSessionToken(t *testing.T) {
	e := newEnv(t)
	bob := e.user("bob")
	out, err := e.sts.GetSessionToken(bob, &stsapi.GetSessionTokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if got := out.Credentials.Expiration.Sub(e.clock.Now()); got != 12*time.Hour {
		t.Fatalf("default lifetime = %v", got)
	}
	session := e.ctxFor(*out.Credentials.AccessKeyId)
	p := principal.From(session)
	if p.Kind != principal.User || p.Name != "bob" || !p.Temporary || p.ARN != "arn:aws:iam::"+e.acct+":user/bob" {
		t.Fatalf("session principal = %+v", p)
	}
	// Session credentials cannot get another session token.
	_, err = e.sts.GetSessionToken(session, &stsapi.GetSessionTokenRequest{})
	wantErr(t, err, ErrAccessDenied, "Cannot call GetSessionToken with session credentials")

	long, err := e.sts.GetSessionToken(bob, &stsapi.GetSessionTokenRequest{DurationSeconds: ptr.To(int32(129600))})
	if err != nil || long.Credentials.Expiration.Sub(e.clock.Now()) != 36*time.Hour {
		t.Fatalf("36h session = %+v, %v", long, err)
	}
	for _, d := range []int32{899, 129601} {
		_, err := e.sts.GetSessionToken(bob, &stsapi.GetSessionTokenRequest{DurationSeconds: ptr.To(d)})
		wantErr(t, err, ErrValidation, "")
	}
	root, err := e.sts.GetSessionToken(e.root, &stsapi.GetSessionTokenRequest{DurationSeconds: ptr.To(int32(7200))})
	if err != nil || root.Credentials.Expiration.Sub(e.clock.Now()) != time.Hour {
		t.Fatalf("root session = %+v, %v", root, err)
	}
	if p := principal.From(e.ctxFor(*root.Credentials.AccessKeyId)); p.Kind != principal.Root || !p.Temporary {
		t.Fatalf("root session principal = %+v", p)
	}
}

func TestResourceARN(t *testing.T) {
	if got := ResourceARN(context.Background(), "AssumeRole", map[string]any{"RoleArn": "arn:aws:iam::1:role/r"}); got != "arn:aws:iam::1:role/r" {
		t.Errorf("AssumeRole: %s", got)
	}
	if got := ResourceARN(context.Background(), "GetSessionToken", nil); got != "*" {
		t.Errorf("GetSessionToken: %s", got)
	}
}

func TestHandlers(t *testing.T) {
	h := stsapi.Handlers(New(nil, Options{}))
	for _, op := range []string{"GetCallerIdentity", "AssumeRole", "GetSessionToken"} {
		if h[op] == nil {
			t.Errorf("no handler for %s", op)
		}
	}
}
