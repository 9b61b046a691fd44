// Package integration drives an in-process Wharf with the real AWS SDK for
// Go v2 clients.
package integration

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/wharfhq/wharf/internal/wharftest"
)

func apiCode(t *testing.T, err error) string {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("expected an API error, got %v", err)
	}
	return ae.ErrorCode()
}

func TestCallerIdentityRoot(t *testing.T) {
	env := wharftest.Start(t)
	ctx := context.Background()
	out, err := sts.NewFromConfig(env.Root()).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.Account) != env.Info.Account || len(env.Info.Account) != 12 {
		t.Fatalf("account = %q, want %q", aws.ToString(out.Account), env.Info.Account)
	}
	if want := "arn:aws:iam::" + env.Info.Account + ":root"; aws.ToString(out.Arn) != want {
		t.Fatalf("arn = %q, want %q", aws.ToString(out.Arn), want)
	}
}

func TestUserNeedsPolicy(t *testing.T) {
	env := wharftest.Start(t)
	ctx := context.Background()
	root := iam.NewFromConfig(env.Root())
	if _, err := root.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("alice")}); err != nil {
		t.Fatal(err)
	}
	key, err := root.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("alice")})
	if err != nil {
		t.Fatal(err)
	}
	alice := env.Config(aws.ToString(key.AccessKey.AccessKeyId), aws.ToString(key.AccessKey.SecretAccessKey), "")

	id, err := sts.NewFromConfig(alice).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if want := "arn:aws:iam::" + env.Info.Account + ":user/alice"; aws.ToString(id.Arn) != want {
		t.Fatalf("arn = %q, want %q", aws.ToString(id.Arn), want)
	}

	aliceIAM := iam.NewFromConfig(alice)
	_, err = aliceIAM.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("bob")})
	if code := apiCode(t, err); code != "AccessDenied" {
		t.Fatalf("code = %s, want AccessDenied (%v)", code, err)
	}
	if !strings.Contains(err.Error(), "is not authorized to perform: iam:CreateUser") {
		t.Fatalf("message = %v", err)
	}

	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:CreateUser","Resource":"*"}]}`
	if _, err := root.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("create-users"), PolicyDocument: aws.String(doc)}); err != nil {
		t.Fatal(err)
	}
	if _, err := aliceIAM.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("bob")}); err != nil {
		t.Fatalf("after put-user-policy: %v", err)
	}
	// Still nothing beyond the policy.
	_, err = aliceIAM.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("bob")})
	if code := apiCode(t, err); code != "AccessDenied" {
		t.Fatalf("code = %s, want AccessDenied", code)
	}
}

func TestSignatureErrors(t *testing.T) {
	env := wharftest.Start(t)
	ctx := context.Background()

	_, err := sts.NewFromConfig(env.Config(env.Info.AccessKeyID, "wrong-secret-wrong-secret-wrong-secret00", "")).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if code := apiCode(t, err); code != "SignatureDoesNotMatch" {
		t.Fatalf("wrong secret: code = %s", code)
	}
	_, err = sts.NewFromConfig(env.Config("AKIAUNKNOWNKEY000000", "x", "")).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if code := apiCode(t, err); code != "InvalidClientTokenId" {
		t.Fatalf("unknown key: code = %s", code)
	}
	// The same failures over a JSON protocol service.
	_, err = cloudtrail.NewFromConfig(env.Config("AKIAUNKNOWNKEY000000", "x", "")).LookupEvents(ctx, &cloudtrail.LookupEventsInput{})
	if code := apiCode(t, err); code != "UnrecognizedClientException" {
		t.Fatalf("unknown key over JSON: code = %s", code)
	}

	// Unsigned.
	resp, err := http.Post(env.URL+"/", "application/x-www-form-urlencoded", strings.NewReader("Action=GetCallerIdentity&Version=2011-06-15"))
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(t, resp)
	if resp.StatusCode != 403 || !strings.Contains(body, "<Code>MissingAuthenticationToken</Code>") {
		t.Fatalf("unsigned: %d %s", resp.StatusCode, body)
	}

	// A presigned URL that has expired.
	req, _ := http.NewRequest(http.MethodGet, env.URL+"/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Expires=60", nil)
	creds, _ := env.Root().Credentials.Retrieve(ctx)
	signed, _, err := v4.NewSigner().PresignHTTP(ctx, creds, req, emptySHA256, "sts", "us-east-1", time.Now().Add(-3*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	resp, err = http.Get(signed)
	if err != nil {
		t.Fatal(err)
	}
	body = readAll(t, resp)
	if resp.StatusCode != 400 || !strings.Contains(body, "<Code>RequestExpired</Code>") {
		t.Fatalf("expired presign: %d %s", resp.StatusCode, body)
	}
	// The same URL freshly presigned works.
	req, _ = http.NewRequest(http.MethodGet, env.URL+"/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Expires=60", nil)
	signed, _, _ = v4.NewSigner().PresignHTTP(ctx, creds, req, emptySHA256, "sts", "us-east-1", time.Now())
	resp, err = http.Get(signed)
	if err != nil {
		t.Fatal(err)
	}
	body = readAll(t, resp)
	if resp.StatusCode != 200 || !strings.Contains(body, env.Info.Account) {
		t.Fatalf("fresh presign: %d %s", resp.StatusCode, body)
	}
}

const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return b.String()
}

func TestValidationError(t *testing.T) {
	env := wharftest.Start(t)
	_, err := iam.NewFromConfig(env.Root()).CreateUser(context.Background(), &iam.CreateUserInput{UserName: aws.String("not a valid name!")})
	if code := apiCode(t, err); code != "ValidationError" {
		t.Fatalf("code = %s (%v)", code, err)
	}
	if !strings.Contains(err.Error(), "at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern") {
		t.Fatalf("message: %v", err)
	}
}

func TestAssumeRole(t *testing.T) {
	env := wharftest.Start(t)
	ctx := context.Background()
	root := iam.NewFromConfig(env.Root())
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + env.Info.Account + `:root"},"Action":"sts:AssumeRole"}]}`
	role, err := root.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("deployer"), AssumeRolePolicyDocument: aws.String(trust)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := root.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("deployer"), PolicyName: aws.String("list"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	out, err := sts.NewFromConfig(env.Root()).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: role.Role.Arn, RoleSessionName: aws.String("ci")})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Credentials
	if !strings.HasPrefix(aws.ToString(c.AccessKeyId), "ASIA") || aws.ToString(c.SessionToken) == "" || time.Until(aws.ToTime(c.Expiration)) < 50*time.Minute {
		t.Fatalf("credentials: %+v", c)
	}
	sess := env.Config(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))
	id, err := sts.NewFromConfig(sess).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if want := "arn:aws:sts::" + env.Info.Account + ":assumed-role/deployer/ci"; aws.ToString(id.Arn) != want {
		t.Fatalf("arn = %s, want %s", aws.ToString(id.Arn), want)
	}
	if _, err := iam.NewFromConfig(sess).ListUsers(ctx, &iam.ListUsersInput{}); err != nil {
		t.Fatalf("role may list users: %v", err)
	}
	_, err = iam.NewFromConfig(sess).CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("x")})
	if code := apiCode(t, err); code != "AccessDenied" {
		t.Fatalf("code = %s", code)
	}
	// Without the session token the key is refused.
	_, err = sts.NewFromConfig(env.Config(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), "")).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if code := apiCode(t, err); code != "InvalidClientTokenId" {
		t.Fatalf("missing token: code = %s", code)
	}
}

func TestAuditLookup(t *testing.T) {
	env := wharftest.Start(t)
	ctx := context.Background()
	if _, err := iam.NewFromConfig(env.Root()).CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("audited")}); err != nil {
		t.Fatal(err)
	}
	ct := cloudtrail.NewFromConfig(env.Root())
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := ct.LookupEvents(ctx, &cloudtrail.LookupEventsInput{LookupAttributes: []cttypes.LookupAttribute{{AttributeKey: cttypes.LookupAttributeKeyEventName, AttributeValue: aws.String("CreateUser")}}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Events) == 1 {
			ev := out.Events[0]
			if !strings.Contains(aws.ToString(ev.CloudTrailEvent), `"audited"`) || aws.ToString(ev.EventSource) != "iam.amazonaws.com" {
				t.Fatalf("event: %+v %s", ev, aws.ToString(ev.CloudTrailEvent))
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("CreateUser never showed up in LookupEvents (got %d events)", len(out.Events))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Conditions supplied by the edge: aws:ResourceTag from the target user's
// tags and aws:SourceIp from the connection.
func TestPolicyConditions(t *testing.T) {
	env := wharftest.Start(t)
	ctx := context.Background()
	root := iam.NewFromConfig(env.Root())
	for name, team := range map[string]string{"bob": "dev", "carol": "ops", "admin": "ops"} {
		if _, err := root.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name), Tags: []iamtypes.Tag{{Key: aws.String("team"), Value: aws.String(team)}}}); err != nil {
			t.Fatal(err)
		}
	}
	doc := `{"Version":"2012-10-17","Statement":[
	  {"Effect":"Allow","Action":"iam:DeleteUser","Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/team":"dev"}}},
	  {"Effect":"Allow","Action":"iam:ListUsers","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"127.0.0.0/8"}}},
	  {"Effect":"Allow","Action":"iam:ListRoles","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}`
	if _, err := root.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("admin"), PolicyName: aws.String("p"), PolicyDocument: aws.String(doc)}); err != nil {
		t.Fatal(err)
	}
	key, err := root.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("admin")})
	if err != nil {
		t.Fatal(err)
	}
	admin := iam.NewFromConfig(env.Config(aws.ToString(key.AccessKey.AccessKeyId), aws.ToString(key.AccessKey.SecretAccessKey), ""))
	if _, err := admin.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("bob")}); err != nil {
		t.Fatalf("delete the dev user: %v", err)
	}
	_, err = admin.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("carol")})
	if code := apiCode(t, err); code != "AccessDenied" {
		t.Fatalf("delete the ops user: code = %s", code)
	}
	if _, err := admin.ListUsers(ctx, &iam.ListUsersInput{}); err != nil {
		t.Fatalf("list users from loopback: %v", err)
	}
	_, err = admin.ListRoles(ctx, &iam.ListRolesInput{})
	if code := apiCode(t, err); code != "AccessDenied" {
		t.Fatalf("list roles from outside 10/8: code = %s", code)
	}
}

// ECS operations are authorized on the resource they act on.
func TestECSResourceLevelPolicy(t *testing.T) {
	env := wharftest.Start(t)
	ctx := context.Background()
	root := iam.NewFromConfig(env.Root())
	rootECS := ecs.NewFromConfig(env.Root())
	for _, name := range []string{"team-a", "team-b"} {
		if _, err := rootECS.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(name)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := root.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("ops")}); err != nil {
		t.Fatal(err)
	}
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecs:DeleteCluster","Resource":"arn:aws:ecs:us-east-1:` + env.Info.Account + `:cluster/team-a"}]}`
	if _, err := root.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("ops"), PolicyName: aws.String("p"), PolicyDocument: aws.String(doc)}); err != nil {
		t.Fatal(err)
	}
	key, err := root.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("ops")})
	if err != nil {
		t.Fatal(err)
	}
	ops := ecs.NewFromConfig(env.Config(aws.ToString(key.AccessKey.AccessKeyId), aws.ToString(key.AccessKey.SecretAccessKey), ""))
	_, err = ops.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("team-b")})
	if code := apiCode(t, err); code != "AccessDeniedException" {
		t.Fatalf("delete team-b: code = %s (%v)", code, err)
	}
	if _, err := ops.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("team-a")}); err != nil {
		t.Fatalf("delete team-a: %v", err)
	}
}
