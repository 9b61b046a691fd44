package awsquery_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/wharfhq/wharf/api/models"
	"github.com/wharfhq/wharf/internal/awsmodel"
	"github.com/wharfhq/wharf/internal/protocol"
	"github.com/wharfhq/wharf/internal/protocol/awsquery"
	"github.com/wharfhq/wharf/internal/protocol/protocoltest"
)

var codec awsquery.Codec

// serve starts a server answering every request with out (or e) for op of
// m, found by the request's Action.
func serve(t *testing.T, m *awsmodel.Model, out map[string]any, e *protocol.APIError) *protocoltest.Server {
	t.Helper()
	return protocoltest.NewServer(t, func(w http.ResponseWriter, req protocoltest.Request) {
		if e != nil {
			codec.EncodeError(w, m, e, "req-1")
			return
		}
		form, err := url.ParseQuery(string(req.Body))
		op := m.Operations[form.Get("Action")]
		if err != nil || op == nil {
			t.Errorf("bad request %q", req.Body)
			http.Error(w, "bad", 400)
			return
		}
		codec.EncodeOutput(w, m, op, out, "req-1")
	})
}

func TestIAMCreateUser(t *testing.T) {
	m := models.MustLoad("iam")
	created := time.Date(2026, 1, 2, 3, 4, 5, 678e6, time.UTC)
	srv := serve(t, m, map[string]any{"User": map[string]any{
		"UserName": "alice", "UserId": "AIDAEXAMPLE", "Path": "/eng/",
		"Arn": "arn:aws:iam::000000000000:user/eng/alice", "CreateDate": created,
		"Tags": []any{map[string]any{"Key": "team", "Value": "a&b <c>"}},
	}}, nil)
	out, err := iam.NewFromConfig(srv.Config()).CreateUser(context.Background(), &iam.CreateUserInput{
		UserName: aws.String("alice"),
		Path:     aws.String("/eng/"),
		Tags: []iamtypes.Tag{
			{Key: aws.String("team"), Value: aws.String("a&b <c>")},
			{Key: aws.String("cost center"), Value: aws.String("42=x;y+z")},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	req := srv.Last(t)
	tree := protocoltest.Decode(t, codec, m, "CreateUser", req)
	want := map[string]any{
		"UserName": "alice", "Path": "/eng/",
		"Tags": []any{
			map[string]any{"Key": "team", "Value": "a&b <c>"},
			map[string]any{"Key": "cost center", "Value": "42=x;y+z"},
		},
	}
	if !protocoltest.Equal(want, tree) {
		t.Errorf("tree differs: %s\nbody %s", protocoltest.Diff(want, tree), req.Body)
	}
	u := out.User
	if u == nil || aws.ToString(u.UserName) != "alice" || !u.CreateDate.Equal(created) || aws.ToString(u.Tags[0].Value) != "a&b <c>" {
		t.Errorf("user = %+v", u)
	}
}

func TestIAMPutUserPolicyAndListUsers(t *testing.T) {
	m := models.MustLoad("iam")
	srv := serve(t, m, nil, nil)
	client := iam.NewFromConfig(srv.Config())
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`
	if _, err := client.PutUserPolicy(context.Background(), &iam.PutUserPolicyInput{
		UserName: aws.String("alice"), PolicyName: aws.String("p"), PolicyDocument: aws.String(doc),
	}); err != nil {
		t.Fatal(err)
	}
	tree := protocoltest.Decode(t, codec, m, "PutUserPolicy", srv.Last(t))
	if tree["PolicyDocument"] != doc || tree["UserName"] != "alice" || tree["PolicyName"] != "p" {
		t.Errorf("tree = %v", tree)
	}

	d1 := time.Date(2025, 5, 6, 7, 8, 9, 0, time.UTC)
	srv = serve(t, m, map[string]any{
		"IsTruncated": true, "Marker": "next",
		"Users": []any{
			map[string]any{"UserName": "a", "UserId": "1", "Path": "/", "Arn": "arn:a", "CreateDate": d1},
			map[string]any{"UserName": "b", "UserId": "2", "Path": "/", "Arn": "arn:b", "CreateDate": d1.Add(time.Hour)},
		},
	}, nil)
	out, err := iam.NewFromConfig(srv.Config()).ListUsers(context.Background(), &iam.ListUsersInput{MaxItems: aws.Int32(2), PathPrefix: aws.String("/")})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Users) != 2 || !out.IsTruncated || aws.ToString(out.Marker) != "next" || !out.Users[1].CreateDate.Equal(d1.Add(time.Hour)) {
		t.Errorf("output = %+v", out)
	}
	tree = protocoltest.Decode(t, codec, m, "ListUsers", srv.Last(t))
	if tree["MaxItems"] != int64(2) || tree["PathPrefix"] != "/" {
		t.Errorf("tree = %v", tree)
	}

	// An empty list comes back empty, not missing.
	srv = serve(t, m, map[string]any{"Users": []any{}, "IsTruncated": false}, nil)
	out, err = iam.NewFromConfig(srv.Config()).ListUsers(context.Background(), &iam.ListUsersInput{})
	if err != nil || len(out.Users) != 0 || out.IsTruncated {
		t.Errorf("empty list: %+v, %v", out, err)
	}
}

func TestSTSGetCallerIdentity(t *testing.T) {
	m := models.MustLoad("sts")
	srv := serve(t, m, map[string]any{
		"Account": "000000000000", "Arn": "arn:aws:iam::000000000000:user/alice", "UserId": "AIDAEXAMPLE",
	}, nil)
	out, err := sts.NewFromConfig(srv.Config()).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.Account) != "000000000000" || aws.ToString(out.UserId) != "AIDAEXAMPLE" {
		t.Errorf("output = %+v", out)
	}
	req := srv.Last(t)
	if tree := protocoltest.Decode(t, codec, m, "GetCallerIdentity", req); len(tree) != 0 {
		t.Errorf("tree = %v", tree)
	}
	if !strings.Contains(string(req.Body), "Action=GetCallerIdentity") {
		t.Errorf("body = %s", req.Body)
	}
}

func TestELBv2MapAndNested(t *testing.T) {
	m := models.MustLoad("elbv2")
	srv := serve(t, m, map[string]any{"Rules": []any{map[string]any{"RuleArn": "arn:rule", "Priority": "10", "IsDefault": false}}}, nil)
	out, err := elbv2.NewFromConfig(srv.Config()).CreateRule(context.Background(), &elbv2.CreateRuleInput{
		ListenerArn: aws.String("arn:listener"),
		Priority:    aws.Int32(10),
		Conditions:  []elbv2types.RuleCondition{{Field: aws.String("path-pattern"), Values: []string{"/api/*", "/v2/*"}}},
		Actions: []elbv2types.Action{{
			Type:  elbv2types.ActionTypeEnumAuthenticateOidc,
			Order: aws.Int32(1),
			AuthenticateOidcConfig: &elbv2types.AuthenticateOidcActionConfig{
				Issuer: aws.String("https://idp"), AuthorizationEndpoint: aws.String("https://idp/auth"),
				TokenEndpoint: aws.String("https://idp/token"), UserInfoEndpoint: aws.String("https://idp/user"),
				ClientId:                         aws.String("client"),
				AuthenticationRequestExtraParams: map[string]string{"prompt": "login", "display": "page"},
			},
		}, {
			Type: elbv2types.ActionTypeEnumForward, Order: aws.Int32(2), TargetGroupArn: aws.String("arn:tg"),
		}},
		Tags: []elbv2types.Tag{},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Rules) != 1 || aws.ToString(out.Rules[0].Priority) != "10" {
		t.Errorf("output = %+v", out)
	}
	req := srv.Last(t)
	tree := protocoltest.Decode(t, codec, m, "CreateRule", req)
	want := map[string]any{
		"ListenerArn": "arn:listener", "Priority": int64(10),
		"Conditions": []any{map[string]any{"Field": "path-pattern", "Values": []any{"/api/*", "/v2/*"}}},
		"Actions": []any{
			map[string]any{"Type": "authenticate-oidc", "Order": int64(1), "AuthenticateOidcConfig": map[string]any{
				"Issuer": "https://idp", "AuthorizationEndpoint": "https://idp/auth", "TokenEndpoint": "https://idp/token",
				"UserInfoEndpoint": "https://idp/user", "ClientId": "client",
				"AuthenticationRequestExtraParams": map[string]any{"prompt": "login", "display": "page"},
			}},
			map[string]any{"Type": "forward", "Order": int64(2), "TargetGroupArn": "arn:tg"},
		},
		"Tags": []any{},
	}
	if !protocoltest.Equal(want, tree) {
		t.Errorf("tree differs: %s\nbody %s", protocoltest.Diff(want, tree), req.Body)
	}
}

func TestErrorsReachTheSDK(t *testing.T) {
	m := models.MustLoad("iam")
	srv := serve(t, m, nil, &protocol.APIError{
		Code: "NoSuchEntity", Message: "The user with name bob cannot be found.", Status: 404, Sender: true,
		Shape: m.Shapes["NoSuchEntityException"],
	})
	_, err := iam.NewFromConfig(srv.Config()).GetUser(context.Background(), &iam.GetUserInput{UserName: aws.String("bob")})
	var nse *iamtypes.NoSuchEntityException
	if !errors.As(err, &nse) {
		t.Fatalf("error %T %v is not a NoSuchEntityException", err, err)
	}
	if nse.ErrorCode() != "NoSuchEntity" || nse.ErrorMessage() != "The user with name bob cannot be found." {
		t.Errorf("code %q message %q", nse.ErrorCode(), nse.ErrorMessage())
	}

	// A code the model does not know (an auth failure).
	srv = serve(t, m, nil, &protocol.APIError{Code: "InvalidClientTokenId", Message: "The security token included in the request is invalid.", Status: 403, Sender: true})
	_, err = iam.NewFromConfig(srv.Config()).ListUsers(context.Background(), &iam.ListUsersInput{})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidClientTokenId" || !strings.Contains(ae.ErrorMessage(), "security token") {
		t.Fatalf("error = %v", err)
	}

	// ELBv2's codes differ from its shape names.
	em := models.MustLoad("elbv2")
	srv = serve(t, em, nil, &protocol.APIError{
		Code: "LoadBalancerNotFound", Message: "One or more load balancers not found", Status: 400, Sender: true,
		Shape: em.Shapes["LoadBalancerNotFoundException"],
	})
	_, err = elbv2.NewFromConfig(srv.Config()).DescribeLoadBalancers(context.Background(), &elbv2.DescribeLoadBalancersInput{Names: []string{"x"}})
	var lbnf *elbv2types.LoadBalancerNotFoundException
	if !errors.As(err, &lbnf) || lbnf.ErrorCode() != "LoadBalancerNotFound" {
		t.Fatalf("error %T %v", err, err)
	}
}
