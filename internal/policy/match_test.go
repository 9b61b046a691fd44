package policy

import (
	"strings"
	"testing"
)

func TestMatchesAction(t *testing.T) {
	tests := []struct {
		pattern, action string
		want            bool
	}{
		{"*", "iam:CreateUser", true},
		{"*", "", true},
		{"iam:*", "iam:CreateUser", true},
		{"iam:*", "iamx:CreateUser", false},
		{"iam:*", "sts:AssumeRole", false},
		{"iam:CreateUser", "iam:CreateUser", true},
		{"iam:CreateUser", "iam:createuser", true}, // case-insensitive
		{"IAM:createUSER", "iam:CreateUser", true},
		{"iam:CreateUser", "iam:CreateUserX", false},
		{"iam:CreateUser", "iam:CreateUse", false},
		{"ecs:Describe*", "ecs:DescribeClusters", true},
		{"ecs:Describe*", "ecs:Describe", true},
		{"ecs:Describe*", "ecs:ListClusters", false},
		{"ecs:Describe*", "ec2:DescribeInstances", false},
		{"ec2:*Instances", "ec2:DescribeInstances", true},
		{"ec2:*Instances", "ec2:DescribeInstancesX", false},
		{"ec2:*Instance*", "ec2:RunInstances", true},
		{"s3:Get?bject", "s3:GetObject", true},
		{"s3:Get?bject", "s3:Getbject", false},
		{"s3:Get??ject", "s3:GetObject", true},
		{"s3:*Object*", "s3:GetObjectAcl", true},
		{"s3:**", "s3:GetObject", true},
		{"*:GetObject", "s3:GetObject", true}, // wildcard vendors are refused by Parse but match here
		{"iam:", "iam:", true},
	}
	for _, tt := range tests {
		if got := MatchesAction(tt.pattern, tt.action); got != tt.want {
			t.Errorf("MatchesAction(%q, %q) = %v, want %v", tt.pattern, tt.action, got, tt.want)
		}
	}
}

func TestMatchesResource(t *testing.T) {
	tests := []struct {
		pattern, resource string
		want              bool
	}{
		{"*", "arn:aws:s3:::bucket", true},
		{"*", "*", true},
		{"*", "", true},
		{"arn:aws:s3:::bucket", "arn:aws:s3:::bucket", true},
		{"arn:aws:s3:::bucket", "arn:aws:s3:::Bucket", false}, // case-sensitive
		{"arn:aws:s3:::bucket", "arn:aws:s3:::bucket2", false},
		{"arn:aws:s3:::bucket", "*", false},
		{"arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a/b/c.txt", true},
		{"arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket", false},
		{"arn:aws:s3:::bucket*", "arn:aws:s3:::bucket/key", true},
		{"arn:aws:s3:::*/key", "arn:aws:s3:::bucket/key", true},
		{"arn:aws:iam::123456789012:user/Bob", "arn:aws:iam::123456789012:user/Bob", true},
		{"arn:aws:iam::123456789012:user/Bob", "arn:aws:iam::123456789012:user/bob", false}, // IAM docs: user name is case-sensitive here
		{"arn:aws:iam::123456789012:user/accounting/*", "arn:aws:iam::123456789012:user/accounting/alice", true},
		{"arn:aws:iam::123456789012:user/accounting/*", "arn:aws:iam::123456789012:user/marketing/alice", false},
		{"arn:aws:iam::*:role/admin", "arn:aws:iam::111122223333:role/admin", true},
		{"arn:aws:iam::*:role/admin", "arn:aws:iam::111122223333:role/admins", false},
		{"arn:aws:ec2:us-*-?:123456789012:instance/*", "arn:aws:ec2:us-east-1:123456789012:instance/i-1", true},
		{"arn:aws:ec2:us-*-?:123456789012:instance/*", "arn:aws:ec2:us-east-10:123456789012:instance/i-1", false},
		{"arn:aws*:ec2:*:*:instance/*", "arn:aws-us-gov:ec2:us-gov-west-1:123456789012:instance/i-1", true},
		// A * inside a segment does not cross a colon...
		{"arn:aws:ec2:us-*1:123456789012:instance/*", "arn:aws:ec2:us-east-1:123456789012:instance/i-1", true},
		{"arn:aws:e*2:us-east-1:123456789012:instance/*", "arn:aws:ec2:us-east-1:123456789012:instance/i-1", true},
		{"arn:aws:*:123456789012:instance/*", "arn:aws:ec2:us-east-1:123456789012:instance/i-1", true}, // trailing * spans service+region
		{"arn:aws:ec2:*east*1:123456789012:*", "arn:aws:ec2:us-east-1:123456789012:instance/i-1", true},
		{"arn:aws:ec2:u*1:*", "arn:aws:ec2:us-east-1:123456789012:instance/i-1", true},  // the last * takes account and resource
		{"arn:aws:ec2:u*2:*", "arn:aws:ec2:us-east-1:123456789012:instance/i-1", false}, // u*2 cannot reach into the account
		// ...but a trailing * expands past the colons that follow it.
		{"arn:aws:ec2:*", "arn:aws:ec2:us-east-1:123456789012:instance/i-1", true},
		{"arn:aws:logs:*", "arn:aws:logs:us-east-1:123456789012:log-group:g:log-stream:s", true},
		{"arn:aws:ec2:us-*", "arn:aws:ec2:us-east-1:123456789012:instance/i-1", true},
		{"arn:aws:ec2:eu-*", "arn:aws:ec2:us-east-1:123456789012:instance/i-1", false},
		{"arn:aws:ec2", "arn:aws:ec2:us-east-1:123456789012:instance/i-1", false},
		{"arn:aws:ec2:us-east-1", "arn:aws:ec2:us-east-1:123456789012:instance/i-1", false},
		// A * in the middle of a segment never swallows a colon.
		{"arn:aws:ec2:us-*:instance/*", "arn:aws:ec2:us-east-1:123456789012:instance/i-1", true},
		{"arn:aws:ec2:us-*x:instance/*", "arn:aws:ec2:us-east-1:123456789012:instance/i-1", false},
		// The resource field keeps its colons and is matched as a whole.
		{"arn:aws:logs:us-east-1:123456789012:log-group:g:*", "arn:aws:logs:us-east-1:123456789012:log-group:g:log-stream:s", true},
		{"arn:aws:logs:us-east-1:123456789012:log-group:*", "arn:aws:logs:us-east-1:123456789012:log-group:g:log-stream:s", true},
		{"arn:aws:logs:us-east-1:123456789012:log-group:h:*", "arn:aws:logs:us-east-1:123456789012:log-group:g:log-stream:s", false},
		{"arn:aws:sns:us-east-1:123456789012:topic", "arn:aws:sns:us-east-1:123456789012:topic", true},
		{"arn:aws:sns:us-east-1:123456789012:?opic", "arn:aws:sns:us-east-1:123456789012:topic", true},
		{"arn:aws:sns:us-east-1:12345678901?:topic", "arn:aws:sns:us-east-1:123456789012:topic", true},
		{"arn:aws:sns:us-east-1:12345678901?:topic", "arn:aws:sns:us-east-1:12345678901:topic", false},
		// Not an ARN on one side: one glob over the whole string.
		{"ec2*", "ec2:x:y", true},
		{"arn:aws:s3:::b", "b", false},
		{"${aws:username}", "${aws:username}", true}, // no variables here
	}
	for _, tt := range tests {
		if got := MatchesResource(tt.pattern, tt.resource); got != tt.want {
			t.Errorf("MatchesResource(%q, %q) = %v, want %v", tt.pattern, tt.resource, got, tt.want)
		}
	}
}

func TestGlobMatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"", "", true},
		{"", "a", false},
		{"*", "", true},
		{"?", "", false},
		{"?", "é", true}, // one character, not one byte
		{"a*b*c", "abc", true},
		{"a*b*c", "aXbYc", true},
		{"a*b*c", "aXbY", false},
		{"*a", "baaa", true},
		{"*ab", "aab", true},
		{"a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
		{"?*?", "ab", true},
		{"?*?", "a", false},
	}
	for _, tt := range tests {
		p, _ := compilePattern(tt.pattern, false, nil, true)
		if got := globMatch(p, []rune(tt.s)); got != tt.want {
			t.Errorf("glob %q ~ %q = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}

func TestPolicyVariables(t *testing.T) {
	ec := newEvalContext(&Request{Context: map[string][]string{
		"aws:username":          {"alice"},
		"aws:userid":            {"AIDAEXAMPLE"},
		"aws:PrincipalTag/team": {"blue"},
		"aws:TagKeys":           {"a", "b"}, // multi-valued: not a variable
		"aws:empty":             {},
		"aws:odd":               {"a*b?"},
	}})
	tests := []struct {
		text string
		want string // "" with ok false when unresolvable
		ok   bool
	}{
		{"home/${aws:username}/", "home/alice/", true},
		{"${aws:USERNAME}", "alice", true}, // keys are case-insensitive
		{"${aws:userid}", "AIDAEXAMPLE", true},
		{"${aws:PrincipalTag/team}", "blue", true},
		{"${aws:principaltag/TEAM}", "blue", true},
		{"${aws:username}-${aws:PrincipalTag/team}", "alice-blue", true},
		{"${*}${?}${$}", "*?$", true},
		{"${aws:missing}", "", false},
		{"${aws:TagKeys}", "", false},
		{"${aws:empty}", "", false},
		{"${aws:missing, 'dflt'}", "dflt", true},
		{"${aws:missing,'dflt'}", "dflt", true},
		{"${aws:username, 'dflt'}", "alice", true},
		{"${aws:missing, ''}", "", true},
		{"${aws:missing, dflt}", "", false}, // default must be quoted
		{"${}", "", false},
		{"a${b", "a${b", true}, // unterminated: literal
		{"$aws:username", "$aws:username", true},
		{"${aws:odd}", "a*b?", true},
	}
	for _, tt := range tests {
		got, ok := literalText(tt.text, true, ec)
		if ok != tt.ok || got != tt.want {
			t.Errorf("literalText(%q) = %q, %v; want %q, %v", tt.text, got, ok, tt.want, tt.ok)
		}
	}
	// Without variables the text is kept as written.
	if got, ok := literalText("${aws:username}", false, ec); !ok || got != "${aws:username}" {
		t.Errorf("literalText without variables = %q, %v", got, ok)
	}
	// Expanded text is literal: a user name holding wildcards does not
	// become a pattern, and ${*} is a literal star.
	p, _ := compilePattern("x/${aws:odd}", true, ec, true)
	if globMatch(p, []rune("x/aZZbQ")) || !globMatch(p, []rune("x/a*b?")) {
		t.Errorf("expanded variable text acted as a wildcard")
	}
	p, _ = compilePattern("x/${*}", true, ec, true)
	if globMatch(p, []rune("x/anything")) || !globMatch(p, []rune("x/*")) {
		t.Errorf("${*} is not a literal star")
	}
}

// The ASCII fast path and the general path agree.
func TestMatchesActionPathsAgree(t *testing.T) {
	patterns := []string{"*", "?", "", "a*", "*a", "a?c", "IAM:*", "iam:Create*User", "s3:Get?bject", "**", "*?*", "a*b*c"}
	actions := []string{"", "a", "abc", "iam:CreateUser", "IAM:CREATEUSER", "iam:CreateServiceUser", "s3:GetObject", "aXbYc", "ab"}
	for _, p := range patterns {
		for _, a := range actions {
			cp, _ := compilePattern(strings.ToLower(p), false, nil, true)
			slow := globMatch(cp, []rune(strings.ToLower(a)))
			if fast := globMatchASCIIFold(p, a); fast != slow {
				t.Errorf("pattern %q action %q: fast %v, slow %v", p, a, fast, slow)
			}
		}
	}
}
