package models

import "testing"

func TestLoadAll(t *testing.T) {
	for _, s := range []string{"ecs", "ecr", "iam", "sts", "cloudwatch", "logs", "cloudtrail", "elbv2", "ssm", "kms", "events", "scheduler", "secretsmanager", "servicediscovery", "application-autoscaling", "ecr-public"} {
		m, err := Load(s)
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Operations) == 0 {
			t.Fatal(s)
		}
	}
}

// The patterns of the services Wharf serves must all be enforced: each must
// translate from Java's regular expressions to RE2.
// Lookaheads have no RE2 form; those few are checked by the service itself.
var lookaheadPatterns = map[string]bool{"iam accountAliasType": true}

func TestServedPatternsCompile(t *testing.T) {
	for _, s := range []string{"iam", "sts", "cloudtrail", "ecs", "ecr"} {
		for _, sh := range MustLoad(s).Shapes {
			if sh.Pattern != "" && sh.Regexp() == nil && !lookaheadPatterns[s+" "+sh.Name] {
				t.Errorf("%s %s: pattern %q does not compile to RE2", s, sh.Name, sh.Pattern)
			}
		}
	}
}
