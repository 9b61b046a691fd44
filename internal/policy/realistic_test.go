package policy

import "testing"

// Policies shaped like the ones Wharf users paste from the IAM
// documentation, with the decisions IAM gives for them.

const adminPolicy = `{
  "Version": "2012-10-17",
  "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]
}`

const ecsReadOnlyPolicy = `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "ECSReadOnly",
      "Effect": "Allow",
      "Action": ["ecs:Describe*", "ecs:List*", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "logs:GetLogEvents"],
      "Resource": "*"
    }
  ]
}`

const denyOutsideRegionPolicy = `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "DenyAllOutsideEU",
      "Effect": "Deny",
      "NotAction": ["iam:*", "sts:*", "organizations:*", "support:*"],
      "Resource": "*",
      "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1", "eu-central-1"]}}
    }
  ]
}`

const selfManagePolicy = `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "AllowViewAccountInfo",
      "Effect": "Allow",
      "Action": ["iam:GetAccountPasswordPolicy", "iam:ListVirtualMFADevices"],
      "Resource": "*"
    },
    {
      "Sid": "AllowManageOwnPasswordsAndKeys",
      "Effect": "Allow",
      "Action": ["iam:ChangePassword", "iam:GetUser", "iam:*AccessKey*", "iam:*SSHPublicKey*"],
      "Resource": "arn:aws:iam::*:user/${aws:username}"
    },
    {
      "Sid": "AllowManageOwnVirtualMFADevice",
      "Effect": "Allow",
      "Action": ["iam:CreateVirtualMFADevice"],
      "Resource": "arn:aws:iam::*:mfa/${aws:username}"
    },
    {
      "Sid": "DenyAllExceptListedIfNoMFA",
      "Effect": "Deny",
      "NotAction": ["iam:CreateVirtualMFADevice", "iam:EnableMFADevice", "iam:GetUser", "iam:ChangePassword", "sts:GetSessionToken"],
      "Resource": "*",
      "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}
    }
  ]
}`

const ecsTasksTrustPolicy = `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Principal": {"Service": "ecs-tasks.amazonaws.com"},
      "Action": "sts:AssumeRole",
      "Condition": {
        "ArnLike": {"aws:SourceArn": "arn:aws:ecs:eu-west-1:123456789012:*"},
        "StringEquals": {"aws:SourceAccount": "123456789012"}
      }
    }
  ]
}`

const crossAccountTrustPolicy = `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "DeployerFromTooling",
      "Effect": "Allow",
      "Principal": {"AWS": "arn:aws:iam::111122223333:role/deployer"},
      "Action": ["sts:AssumeRole", "sts:TagSession"],
      "Condition": {"StringEquals": {"sts:ExternalId": "wharf-7f3a"}}
    }
  ]
}`

func TestRealisticPolicies(t *testing.T) {
	admin := mustValidateIdentity(t, adminPolicy)
	ecsRO := mustValidateIdentity(t, ecsReadOnlyPolicy)
	region := mustValidateIdentity(t, denyOutsideRegionPolicy)
	self := mustValidateIdentity(t, selfManagePolicy)
	ecsTrust := mustValidateTrust(t, ecsTasksTrustPolicy)
	xacct := mustValidateTrust(t, crossAccountTrustPolicy)

	alice := ctx{"aws:username": {"alice"}, "aws:MultiFactorAuthPresent": {"true"}}
	aliceNoMFA := ctx{"aws:username": {"alice"}, "aws:MultiFactorAuthPresent": {"false"}}
	aliceKeys := ctx{"aws:username": {"alice"}} // long-term access keys: the MFA key is absent
	inEU := ctx{"aws:RequestedRegion": {"eu-west-1"}}
	inUS := ctx{"aws:RequestedRegion": {"us-east-1"}}
	task := &Principal{Service: "ecs-tasks.amazonaws.com"}
	ecsSource := ctx{"aws:SourceArn": {"arn:aws:ecs:eu-west-1:123456789012:task/cluster/abc"}, "aws:SourceAccount": {"123456789012"}}

	tests := []struct {
		name     string
		req      Request
		policies []*Document
		want     Outcome
		sid      string
	}{
		// Administrator.
		{"admin anything", Request{Action: "iam:CreateUser", Resource: "arn:aws:iam::123456789012:user/bob"}, []*Document{admin}, Allow, ""},
		{"admin no resource", Request{Action: "ecs:ListClusters"}, []*Document{admin}, Allow, ""},

		// Read-only ECS.
		{"ecs describe", Request{Action: "ecs:DescribeServices", Resource: "arn:aws:ecs:eu-west-1:123456789012:service/c/s"}, []*Document{ecsRO}, Allow, "ECSReadOnly"},
		{"ecs list", Request{Action: "ecs:ListTasks"}, []*Document{ecsRO}, Allow, "ECSReadOnly"},
		{"ecs list, action case", Request{Action: "ECS:listtasks"}, []*Document{ecsRO}, Allow, "ECSReadOnly"},
		{"ecr pull", Request{Action: "ecr:BatchGetImage", Resource: "arn:aws:ecr:eu-west-1:123456789012:repository/app"}, []*Document{ecsRO}, Allow, "ECSReadOnly"},
		{"ecs update refused", Request{Action: "ecs:UpdateService", Resource: "arn:aws:ecs:eu-west-1:123456789012:service/c/s"}, []*Document{ecsRO}, ImplicitDeny, ""},
		{"ecs run task refused", Request{Action: "ecs:RunTask"}, []*Document{ecsRO}, ImplicitDeny, ""},
		{"ecr push refused", Request{Action: "ecr:PutImage"}, []*Document{ecsRO}, ImplicitDeny, ""},

		// Region guard next to admin.
		{"admin in EU", Request{Action: "ecs:CreateCluster", Context: inEU}, []*Document{admin, region}, Allow, ""},
		{"admin in US denied", Request{Action: "ecs:CreateCluster", Context: inUS}, []*Document{admin, region}, ExplicitDeny, "DenyAllOutsideEU"},
		{"admin, region unknown, denied", Request{Action: "ecs:CreateCluster"}, []*Document{admin, region}, ExplicitDeny, "DenyAllOutsideEU"},
		{"IAM exempt in US", Request{Action: "iam:CreateRole", Context: inUS}, []*Document{admin, region}, Allow, ""},
		{"STS exempt in US", Request{Action: "sts:GetCallerIdentity", Context: inUS}, []*Document{admin, region}, Allow, ""},
		{"region guard alone allows nothing", Request{Action: "ecs:CreateCluster", Context: inEU}, []*Document{region}, ImplicitDeny, ""},

		// Self-management with ${aws:username}.
		{"own access key", Request{Action: "iam:CreateAccessKey", Resource: "arn:aws:iam::123456789012:user/alice", Context: alice}, []*Document{self}, Allow, "AllowManageOwnPasswordsAndKeys"},
		{"other's access key", Request{Action: "iam:CreateAccessKey", Resource: "arn:aws:iam::123456789012:user/bob", Context: alice}, []*Document{self}, ImplicitDeny, ""},
		{"own key, user name is case-sensitive in the ARN", Request{Action: "iam:CreateAccessKey", Resource: "arn:aws:iam::123456789012:user/Alice", Context: alice}, []*Document{self}, ImplicitDeny, ""},
		{"own MFA device", Request{Action: "iam:CreateVirtualMFADevice", Resource: "arn:aws:iam::123456789012:mfa/alice", Context: aliceNoMFA}, []*Document{self}, Allow, "AllowManageOwnVirtualMFADevice"},
		{"own key without MFA denied", Request{Action: "iam:CreateAccessKey", Resource: "arn:aws:iam::123456789012:user/alice", Context: aliceNoMFA}, []*Document{self}, ExplicitDeny, "DenyAllExceptListedIfNoMFA"},
		{"own key with long-term keys denied", Request{Action: "iam:CreateAccessKey", Resource: "arn:aws:iam::123456789012:user/alice", Context: aliceKeys}, []*Document{self}, ExplicitDeny, "DenyAllExceptListedIfNoMFA"},
		{"change password without MFA", Request{Action: "iam:ChangePassword", Resource: "arn:aws:iam::123456789012:user/alice", Context: aliceNoMFA}, []*Document{self}, Allow, "AllowManageOwnPasswordsAndKeys"},
		{"view account info with MFA", Request{Action: "iam:GetAccountPasswordPolicy", Context: alice}, []*Document{self}, Allow, "AllowViewAccountInfo"},
		{"admin plus self policy, no MFA, denied", Request{Action: "ecs:ListClusters", Context: aliceNoMFA}, []*Document{admin, self}, ExplicitDeny, "DenyAllExceptListedIfNoMFA"},

		// Trust policy for ECS tasks.
		{"ecs task assumes", Request{Action: "sts:AssumeRole", Principal: task, Context: ecsSource}, []*Document{ecsTrust}, Allow, ""},
		{"ecs task from another account", Request{Action: "sts:AssumeRole", Principal: task, Context: ctx{"aws:SourceArn": {"arn:aws:ecs:eu-west-1:999999999999:task/c/abc"}, "aws:SourceAccount": {"999999999999"}}}, []*Document{ecsTrust}, ImplicitDeny, ""},
		{"ecs task from another region", Request{Action: "sts:AssumeRole", Principal: task, Context: ctx{"aws:SourceArn": {"arn:aws:ecs:us-east-1:123456789012:task/c/abc"}, "aws:SourceAccount": {"123456789012"}}}, []*Document{ecsTrust}, ImplicitDeny, ""},
		{"ec2 cannot assume", Request{Action: "sts:AssumeRole", Principal: &Principal{Service: "ec2.amazonaws.com"}, Context: ecsSource}, []*Document{ecsTrust}, ImplicitDeny, ""},
		{"user cannot assume", Request{Action: "sts:AssumeRole", Principal: &Principal{ARN: "arn:aws:iam::123456789012:user/alice"}, Context: ecsSource}, []*Document{ecsTrust}, ImplicitDeny, ""},
		{"anonymous cannot assume", Request{Action: "sts:AssumeRole", Context: ecsSource}, []*Document{ecsTrust}, ImplicitDeny, ""},
		{"ecs task other action", Request{Action: "sts:AssumeRoleWithWebIdentity", Principal: task, Context: ecsSource}, []*Document{ecsTrust}, ImplicitDeny, ""},

		// Trust policy for a role in another account.
		{"deployer session assumes", Request{Action: "sts:AssumeRole", Principal: &Principal{ARN: "arn:aws:sts::111122223333:assumed-role/deployer/pipeline"}, Context: ctx{"sts:ExternalId": {"wharf-7f3a"}}}, []*Document{xacct}, Allow, "DeployerFromTooling"},
		{"deployer tags session", Request{Action: "sts:TagSession", Principal: &Principal{ARN: "arn:aws:sts::111122223333:assumed-role/deployer/pipeline"}, Context: ctx{"sts:ExternalId": {"wharf-7f3a"}}}, []*Document{xacct}, Allow, "DeployerFromTooling"},
		{"deployer without external id", Request{Action: "sts:AssumeRole", Principal: &Principal{ARN: "arn:aws:sts::111122223333:assumed-role/deployer/pipeline"}}, []*Document{xacct}, ImplicitDeny, ""},
		{"deployer wrong external id", Request{Action: "sts:AssumeRole", Principal: &Principal{ARN: "arn:aws:sts::111122223333:assumed-role/deployer/pipeline"}, Context: ctx{"sts:ExternalId": {"guess"}}}, []*Document{xacct}, ImplicitDeny, ""},
		{"other role in that account", Request{Action: "sts:AssumeRole", Principal: &Principal{ARN: "arn:aws:sts::111122223333:assumed-role/intern/x"}, Context: ctx{"sts:ExternalId": {"wharf-7f3a"}}}, []*Document{xacct}, ImplicitDeny, ""},
		{"same role name, other account", Request{Action: "sts:AssumeRole", Principal: &Principal{ARN: "arn:aws:sts::444455556666:assumed-role/deployer/pipeline"}, Context: ctx{"sts:ExternalId": {"wharf-7f3a"}}}, []*Document{xacct}, ImplicitDeny, ""},
		{"root of that account", Request{Action: "sts:AssumeRole", Principal: &Principal{ARN: "arn:aws:iam::111122223333:root"}, Context: ctx{"sts:ExternalId": {"wharf-7f3a"}}}, []*Document{xacct}, ImplicitDeny, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Evaluate(tt.req, tt.policies...)
			if got.Outcome != tt.want {
				t.Fatalf("Evaluate = %v, want %v", got, tt.want)
			}
			if tt.sid != "" && got.Sid != tt.sid {
				t.Errorf("decided by %q, want %q", got.Sid, tt.sid)
			}
		})
	}
}

func mustValidateIdentity(t *testing.T, doc string) *Document {
	t.Helper()
	d, err := ValidateIdentityPolicy(doc, MaxManagedPolicySize)
	if err != nil {
		t.Fatalf("ValidateIdentityPolicy: %v", err)
	}
	return d
}

func mustValidateTrust(t *testing.T, doc string) *Document {
	t.Helper()
	d, err := ValidateTrustPolicy(doc, MaxTrustPolicySize)
	if err != nil {
		t.Fatalf("ValidateTrustPolicy: %v", err)
	}
	return d
}
