package iam

import (
	"time"

	"github.com/wharfhq/wharf/internal/policy"
)

// awsPolicyPrefix starts the ARN of every AWS managed policy.
const awsPolicyPrefix = "arn:aws:iam::aws:policy/"

// builtin is an AWS managed policy Wharf provides. Documents are written
// for the services Wharf serves; AdministratorAccess is AWS's own.
type builtin struct {
	Name, ID, Description string
	Created, Updated      time.Time
	Version               string
	Document              string
	parsed                *policy.Document
}

func (b *builtin) ARN() string { return awsPolicyPrefix + b.Name }

func (b *builtin) rec() policyRec {
	return policyRec{Name: b.Name, Path: "/", ID: b.ID, Description: b.Description, Created: b.Created, Updated: b.Updated,
		DefaultVersion: b.Version, Versions: []versionRec{{ID: b.Version, Document: b.Document, Created: b.Updated}}}
}

func day(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

var builtins = []*builtin{
	{
		Name: "AdministratorAccess", ID: "ANPAIWMBCKSKIEE64ZLYK",
		Description: "Provides full access to AWS services and resources.",
		Created:     day("2015-02-06T18:39:46Z"), Updated: day("2015-02-06T18:39:46Z"), Version: "v1",
		Document: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`,
	},
	{
		Name: "AmazonECS_FullAccess", ID: "ANPAJALOYVTPDZEMIACSM",
		Description: "Provides administrative access to Amazon ECS resources and enables ECS features through access to other AWS service resources, including VPCs, Auto Scaling groups, and CloudFormation stacks.",
		Created:     day("2015-04-24T16:00:00Z"), Updated: day("2024-04-01T00:00:00Z"), Version: "v1",
		Document: `{"Version":"2012-10-17","Statement":[` +
			`{"Sid":"ECSIntegrationsManagementPolicy","Effect":"Allow","Action":["application-autoscaling:*","cloudwatch:DeleteAlarms","cloudwatch:DescribeAlarms","cloudwatch:GetMetricData","cloudwatch:GetMetricStatistics","cloudwatch:ListMetrics","cloudwatch:PutMetricAlarm","ecs:*","elasticloadbalancing:*","events:*","iam:ListAttachedRolePolicies","iam:ListInstanceProfiles","iam:ListRoles","logs:CreateLogGroup","logs:DescribeLogGroups","logs:FilterLogEvents","servicediscovery:*","ssm:GetParameter","ssm:GetParameters","ssm:GetParametersByPath","secretsmanager:DescribeSecret","secretsmanager:ListSecrets","kms:ListAliases","kms:ListKeys","kms:DescribeKey","ecr:*"],"Resource":"*"},` +
			`{"Sid":"PassRoleForECS","Effect":"Allow","Action":"iam:PassRole","Resource":"*","Condition":{"StringLike":{"iam:PassedToService":"ecs-tasks.amazonaws.com"}}},` +
			`{"Sid":"ServiceLinkedRoleForECS","Effect":"Allow","Action":"iam:CreateServiceLinkedRole","Resource":"*","Condition":{"StringLike":{"iam:AWSServiceName":["ecs.amazonaws.com","ecs.application-autoscaling.amazonaws.com","elasticloadbalancing.amazonaws.com"]}}}` +
			`]}`,
	},
	{
		Name: "ReadOnlyAccess", ID: "ANPAILL3HVNFSB6DCOWYQ",
		Description: "Provides read-only access to AWS services and resources.",
		Created:     day("2015-02-06T18:39:48Z"), Updated: day("2024-04-01T00:00:00Z"), Version: "v1",
		Document: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":[` +
			`"application-autoscaling:Describe*",` +
			`"cloudtrail:Describe*","cloudtrail:Get*","cloudtrail:List*","cloudtrail:LookupEvents",` +
			`"cloudwatch:Describe*","cloudwatch:Get*","cloudwatch:List*",` +
			`"ecr:BatchCheckLayerAvailability","ecr:BatchGetImage","ecr:Describe*","ecr:Get*","ecr:List*",` +
			`"ecs:Describe*","ecs:List*",` +
			`"elasticloadbalancing:Describe*",` +
			`"events:Describe*","events:List*","events:Test*",` +
			`"iam:Generate*","iam:Get*","iam:List*","iam:Simulate*",` +
			`"kms:Describe*","kms:Get*","kms:List*",` +
			`"logs:Describe*","logs:FilterLogEvents","logs:Get*","logs:List*","logs:StartQuery","logs:StopQuery","logs:TestMetricFilter",` +
			`"scheduler:Get*","scheduler:List*",` +
			`"secretsmanager:DescribeSecret","secretsmanager:GetResourcePolicy","secretsmanager:List*",` +
			`"servicediscovery:DiscoverInstances","servicediscovery:Get*","servicediscovery:List*",` +
			`"ssm:Describe*","ssm:Get*","ssm:List*",` +
			`"sts:GetCallerIdentity"` +
			`],"Resource":"*"}]}`,
	},
}

var builtinByARN = func() map[string]*builtin {
	m := map[string]*builtin{}
	for _, b := range builtins {
		d, err := policy.ValidateIdentityPolicy(b.Document, policy.MaxManagedPolicySize)
		if err != nil {
			panic("iam: built-in policy " + b.Name + ": " + err.Error())
		}
		b.parsed = d
		m[b.ARN()] = b
	}
	return m
}()
