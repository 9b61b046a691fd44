package sts

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/tenancy"
)

func TestAssumeRoleForService(t *testing.T) {
	e := newEnv(t)
	trusts := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	app := e.role("app", trusts, 7200)
	other := e.role("other", trustAWS("arn:aws:iam::"+e.acct+":root", ""), 3600)
	ctx := tenancy.With(context.Background(), e.acct, "us-east-1")

	ss, err := e.sts.AssumeRoleForService(ctx, app, "ecs-tasks.amazonaws.com", "0123456789abcdef", 6*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if want := "arn:aws:sts::" + e.acct + ":assumed-role/app/0123456789abcdef"; ss.ARN != want {
		t.Fatalf("session = %s, want %s", ss.ARN, want)
	}
	// Capped by the role's MaxSessionDuration (two hours here).
	if got := ss.Credentials.Expiration.Sub(e.clock.Now()); got != 2*time.Hour {
		t.Fatalf("lifetime = %s", got)
	}
	if _, err := e.iam.LookupAccessKey(context.Background(), ss.Credentials.AccessKeyID); err != nil {
		t.Fatalf("the session key is not usable: %v", err)
	}

	for name, arn := range map[string]string{"untrusting role": other, "missing role": "arn:aws:iam::" + e.acct + ":role/nope",
		"other account": "arn:aws:iam::999999999999:role/app"} {
		if _, err := e.sts.AssumeRoleForService(ctx, arn, "ecs-tasks.amazonaws.com", "s1", time.Hour); !errors.Is(err, ErrAccessDenied) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := e.sts.AssumeRoleForService(ctx, app, "lambda.amazonaws.com", "s1", time.Hour); !errors.Is(err, ErrAccessDenied) {
		t.Errorf("another service: %v", err)
	}
	if _, err := e.sts.AssumeRoleForService(ctx, "not-an-arn", "ecs-tasks.amazonaws.com", "s1", time.Hour); !errors.Is(err, ErrValidation) {
		t.Errorf("bad ARN: %v", err)
	}
}
