package policy_test

import (
	"errors"
	"fmt"

	"github.com/wharfhq/wharf/internal/policy"
)

func Example() {
	// A user's identity policy: manage their own access keys, but never
	// outside eu-west-1.
	doc, err := policy.ValidateIdentityPolicy(`{
	  "Version": "2012-10-17",
	  "Statement": [
	    {"Sid": "OwnKeys", "Effect": "Allow", "Action": "iam:*AccessKey*",
	     "Resource": "arn:aws:iam::123456789012:user/${aws:username}"},
	    {"Sid": "EUOnly", "Effect": "Deny", "NotAction": "iam:*", "Resource": "*",
	     "Condition": {"StringNotEquals": {"aws:RequestedRegion": "eu-west-1"}}}
	  ]
	}`, policy.MaxManagedPolicySize)
	if err != nil {
		fmt.Println(err)
		return
	}

	alice := map[string][]string{"aws:username": {"alice"}, "aws:RequestedRegion": {"us-east-1"}}
	for _, req := range []policy.Request{
		{Action: "iam:CreateAccessKey", Resource: "arn:aws:iam::123456789012:user/alice", Context: alice},
		{Action: "iam:CreateAccessKey", Resource: "arn:aws:iam::123456789012:user/bob", Context: alice},
		{Action: "ecs:ListClusters", Context: alice},
	} {
		fmt.Printf("%s %s: %v\n", req.Action, req.Resource, policy.Evaluate(req, doc))
	}

	// A malformed document reads as IAM would report it.
	_, err = policy.ValidateIdentityPolicy(`{"Statement": {"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}}`, 0)
	var pe *policy.ParseError
	if errors.As(err, &pe) {
		fmt.Println("MalformedPolicyDocument:", pe.Message)
	}
	// Output:
	// iam:CreateAccessKey arn:aws:iam::123456789012:user/alice: Allow by policy 0 statement 0 (Sid OwnKeys)
	// iam:CreateAccessKey arn:aws:iam::123456789012:user/bob: ImplicitDeny
	// ecs:ListClusters : ExplicitDeny by policy 0 statement 1 (Sid EUOnly)
	// MalformedPolicyDocument: Policy document should not specify a principal.
}

func ExampleValidateTrustPolicy() {
	trust, err := policy.ValidateTrustPolicy(`{
	  "Version": "2012-10-17",
	  "Statement": {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}
	}`, policy.MaxTrustPolicySize)
	if err != nil {
		fmt.Println(err)
		return
	}
	task := policy.Request{Action: "sts:AssumeRole", Principal: &policy.Principal{Service: "ecs-tasks.amazonaws.com"}}
	user := policy.Request{Action: "sts:AssumeRole", Principal: &policy.Principal{ARN: "arn:aws:iam::123456789012:user/alice"}}
	fmt.Println(policy.Evaluate(task, trust).Allowed(), policy.Evaluate(user, trust).Allowed())
	// Output: true false
}

func ExampleMatchesAction() {
	fmt.Println(policy.MatchesAction("ecs:Describe*", "ecs:DescribeServices"))
	fmt.Println(policy.MatchesAction("ecs:Describe*", "ECS:describeservices"))
	fmt.Println(policy.MatchesAction("ecs:Describe*", "ecs:UpdateService"))
	// Output:
	// true
	// true
	// false
}
