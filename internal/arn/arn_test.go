package arn

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/wharfhq/wharf/internal/tenancy"
)

func TestParseRoundTrip(t *testing.T) {
	tests := []struct {
		in   string
		want ARN
	}{
		{"arn:aws:iam::123456789012:user/bob", ARN{"aws", "iam", "", "123456789012", "user/bob"}},
		{"arn:aws:iam::aws:policy/AdministratorAccess", ARN{"aws", "iam", "", "aws", "policy/AdministratorAccess"}},
		{"arn:aws:sts::123456789012:assumed-role/r/s", ARN{"aws", "sts", "", "123456789012", "assumed-role/r/s"}},
		{"arn:aws:logs:us-east-1:123456789012:log-group:g:*", ARN{"aws", "logs", "us-east-1", "123456789012", "log-group:g:*"}},
		{"arn:aws:s3:::bucket", ARN{"aws", "s3", "", "", "bucket"}},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.in, err)
		}
		if got != tt.want {
			t.Errorf("Parse(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
		if s := got.String(); s != tt.in {
			t.Errorf("String() = %q, want %q", s, tt.in)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{"", "arn", "arn:aws:iam::123", "urn:aws:iam::1:user/x", "arn::iam::1:user/x", "arn:aws:::1:x", "arn:aws:iam::1:"} {
		if _, err := Parse(in); !errors.Is(err, ErrMalformed) {
			t.Errorf("Parse(%q) err = %v, want ErrMalformed", in, err)
		}
		if Valid(in) {
			t.Errorf("Valid(%q) = true", in)
		}
	}
}

func TestIAM(t *testing.T) {
	tests := []struct {
		kind, path, name, want string
	}{
		{"user", "/", "bob", "arn:aws:iam::123456789012:user/bob"},
		{"user", "", "bob", "arn:aws:iam::123456789012:user/bob"},
		{"role", "/service/", "r", "arn:aws:iam::123456789012:role/service/r"},
		{"policy", "/a/b/", "p", "arn:aws:iam::123456789012:policy/a/b/p"},
	}
	for _, tt := range tests {
		got := IAM("123456789012", tt.kind, tt.path, tt.name)
		if got != tt.want {
			t.Errorf("IAM = %q, want %q", got, tt.want)
		}
		acct, kind, path, name, err := SplitIAM(got)
		if err != nil {
			t.Fatal(err)
		}
		wantPath := tt.path
		if wantPath == "" {
			wantPath = "/"
		}
		if acct != "123456789012" || kind != tt.kind || path != wantPath || name != tt.name {
			t.Errorf("SplitIAM(%q) = %q %q %q %q", got, acct, kind, path, name)
		}
	}
	for _, bad := range []string{"arn:aws:sts::1:assumed-role/r/s", "arn:aws:iam::1:root", "arn:aws:iam::1:user/", "x"} {
		if _, _, _, _, err := SplitIAM(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("SplitIAM(%q) err = %v", bad, err)
		}
	}
}

func TestTenantBuilders(t *testing.T) {
	ctx := context.Background()
	if _, err := Global(ctx, "iam", "user/x"); !errors.Is(err, tenancy.ErrNoAccount) {
		t.Errorf("Global without account: %v", err)
	}
	ctx = tenancy.WithAccount(ctx, "123456789012")
	if _, err := Regional(ctx, "ecs", "cluster/x"); !errors.Is(err, tenancy.ErrNoRegion) {
		t.Errorf("Regional without region: %v", err)
	}
	g, _ := Global(ctx, "iam", "user/x")
	if g != "arn:aws:iam::123456789012:user/x" {
		t.Errorf("Global = %q", g)
	}
	r, _ := Regional(tenancy.WithRegion(ctx, "eu-west-1"), "ecs", "cluster/x")
	if r != "arn:aws:ecs:eu-west-1:123456789012:cluster/x" {
		t.Errorf("Regional = %q", r)
	}
}

func FuzzParse(f *testing.F) {
	f.Add("arn:aws:iam::123456789012:user/bob")
	f.Add("arn:aws:logs:us-east-1:1:log-group:g:*")
	f.Add("arn:::::")
	f.Fuzz(func(t *testing.T, s string) {
		a, err := Parse(s)
		if err != nil {
			return
		}
		if a.String() != s {
			t.Fatalf("round trip %q -> %q", s, a.String())
		}
		b, err := Parse(a.String())
		if err != nil || b != a {
			t.Fatalf("reparse %q: %+v %v", s, b, err)
		}
	})
}

func ExampleParse() {
	a, _ := Parse("arn:aws:iam::123456789012:role/service/deployer")
	fmt.Println(a.Service, a.Account, a.Resource)
	// Output: iam 123456789012 role/service/deployer
}

func ExampleIAM() {
	fmt.Println(IAM("123456789012", "user", "/division/", "bob"))
	// Output: arn:aws:iam::123456789012:user/division/bob
}
