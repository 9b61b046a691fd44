package policy

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

var fuzzSeedPolicies = []string{
	adminPolicy, ecsReadOnlyPolicy, denyOutsideRegionPolicy, selfManagePolicy, ecsTasksTrustPolicy, crossAccountTrustPolicy,
	`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`,
	`{"Version":"2008-10-17","Statement":[{"Effect":"Deny","NotAction":"iam:*","NotResource":"arn:aws:s3:::b/${aws:username}"}]}`,
	stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::${aws:username, 'x'}/${*}?","Condition":{"ForAllValues:StringLike":{"aws:TagKeys":["a*","b?"]},"Null":{"aws:TokenIssueTime":"true"}}}`),
	stmt(`{"Effect":"Allow","Principal":{"AWS":["123456789012","arn:aws:iam::123456789012:role/r"]},"Action":"sts:AssumeRole","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"},"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"},"NumericGreaterThan":{"k:n":-1.5}}}`),
	`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"a:b":["\u0000","é"]}}}]}`,
	`{"Statement":[]}`, `{`, `[]`, ``, `{"Statement":{"Effect":"allow"}}`,
}

// FuzzParse checks that Parse never panics, fails only with the package's
// error types, and that a parsed document survives Marshal and Parse
// unchanged.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeedPolicies {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		d, err := Parse(doc)
		if err != nil {
			var pe *ParseError
			var se *SizeError
			if !errors.As(err, &pe) && !errors.As(err, &se) {
				t.Fatalf("Parse error of type %T: %v", err, err)
			}
			if pe != nil && (pe.Message == "" || !errors.Is(err, ErrMalformed)) {
				t.Fatalf("bad ParseError %+v", pe)
			}
			return
		}
		out, err := d.Marshal()
		if err != nil {
			t.Fatalf("Marshal of a parsed document: %v", err)
		}
		d2, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse(Marshal(d)) failed: %v\ninput: %q\nmarshalled: %s", err, doc, out)
		}
		if !reflect.DeepEqual(d, d2) {
			t.Fatalf("Parse(Marshal(d)) != d\ninput: %q\nmarshalled: %s\n%#v\n%#v", doc, out, d, d2)
		}
		if out2, _ := d2.Marshal(); out2 != out {
			t.Fatalf("Marshal is not stable:\n%s\n%s", out, out2)
		}
		_ = d.ValidateIdentity()
		_ = d.ValidateTrust()
		Evaluate(Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k", Principal: &Principal{ARN: "arn:aws:iam::123456789012:user/u"},
			Context: map[string][]string{"aws:username": {"u"}, "aws:CurrentTime": {"2024-01-01T00:00:00Z"}}}, d)
	})
}

var (
	fuzzAllowAll = &Document{Statements: []Statement{{Effect: EffectAllow, Action: []string{"*"}, Resource: []string{"*"}, Principal: &Principals{All: true}}}}
	fuzzDenyAll  = &Document{Statements: []Statement{{Effect: EffectDeny, Action: []string{"*"}, Resource: []string{"*"}, Principal: &Principals{All: true}}}}
)

// FuzzEvaluate checks that Evaluate never panics, is deterministic, names
// a statement whose effect is the outcome, and keeps IAM's combining
// rules: a Deny anywhere wins, an Allow-everything policy allows whatever
// is not denied.
func FuzzEvaluate(f *testing.F) {
	for i, s := range fuzzSeedPolicies {
		f.Add(s, "s3:GetObject", "arn:aws:s3:::b/k", "aws:username", "alice", "arn:aws:iam::123456789012:user/alice")
		f.Add(s, "sts:AssumeRole", "", "aws:SourceIp", "10.1.2.3", "arn:aws:sts::111122223333:assumed-role/deployer/s")
		f.Add(s, "ecs:ListClusters", "*", "aws:RequestedRegion", "us-east-1", "")
		f.Add(s, "iam:CreateAccessKey", "arn:aws:iam::123456789012:user/alice", "aws:CurrentTime", strings.Repeat("2", i), "123456789012")
	}
	f.Fuzz(func(t *testing.T, doc, action, resource, key, value, principal string) {
		d, err := Parse(doc)
		if err != nil {
			return
		}
		req := Request{
			Action:    action,
			Resource:  resource,
			Principal: &Principal{ARN: principal, Service: value},
			Context:   map[string][]string{key: {value}, "aws:username": {value}, "aws:TagKeys": {value, key}},
		}
		got := Evaluate(req, d)
		if again := Evaluate(req, d); again != got {
			t.Fatalf("Evaluate is not deterministic: %v then %v", got, again)
		}
		switch got.Outcome {
		case ImplicitDeny:
			if got.Policy != -1 || got.Statement != -1 {
				t.Fatalf("implicit deny names a statement: %+v", got)
			}
		default:
			if got.Policy != 0 || got.Statement < 0 || got.Statement >= len(d.Statements) {
				t.Fatalf("decision indexes out of range: %+v", got)
			}
			st := d.Statements[got.Statement]
			if want := map[Outcome]Effect{Allow: EffectAllow, ExplicitDeny: EffectDeny}[got.Outcome]; st.Effect != want || st.Sid != got.Sid {
				t.Fatalf("decision %+v names statement %+v", got, st)
			}
		}
		if dd := Evaluate(req, d, fuzzDenyAll); dd.Outcome != ExplicitDeny {
			t.Fatalf("a deny-everything policy did not deny: %v", dd)
		}
		wantWithAllow := Allow
		if got.Outcome == ExplicitDeny {
			wantWithAllow = ExplicitDeny
		}
		if da := Evaluate(req, fuzzAllowAll, d); da.Outcome != wantWithAllow {
			t.Fatalf("with allow-everything: %v, want %v (alone: %v)", da, wantWithAllow, got)
		}
		req.Principal = nil
		Evaluate(req, d)
	})
}

// FuzzMatch checks the matchers never panic and that a string with no
// wildcards matches itself.
func FuzzMatch(f *testing.F) {
	f.Add("arn:aws:ec2:*", "arn:aws:ec2:us-east-1:123456789012:instance/i-1")
	f.Add("ecs:Describe*", "ecs:DescribeClusters")
	f.Add("a*b?c", "aXbYc")
	f.Fuzz(func(t *testing.T, pattern, s string) {
		MatchesAction(pattern, s)
		MatchesResource(pattern, s)
		if isASCII(pattern) && isASCII(s) {
			cp, _ := compilePattern(strings.ToLower(pattern), false, nil, true)
			if slow, fast := globMatch(cp, []rune(strings.ToLower(s))), globMatchASCIIFold(pattern, s); slow != fast {
				t.Fatalf("action matchers disagree on %q, %q: fast %v, slow %v", pattern, s, fast, slow)
			}
		}
		if !strings.ContainsAny(s, "*?") {
			if !MatchesResource(s, s) {
				t.Fatalf("MatchesResource(%q, itself) = false", s)
			}
			if !MatchesAction(s, s) {
				t.Fatalf("MatchesAction(%q, itself) = false", s)
			}
		}
	})
}
