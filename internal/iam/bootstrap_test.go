package iam

import (
	"context"
	"errors"
	"regexp"
	"testing"

	"github.com/wharfhq/wharf/internal/principal"
	"github.com/wharfhq/wharf/internal/sigv4"
)

func TestBootstrap(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	start := func(opts BootstrapOptions) (Account, bool) {
		t.Helper()
		st := openStore(t, dir)
		defer st.Close()
		a, created, err := Bootstrap(ctx, st, opts)
		if err != nil {
			t.Fatal(err)
		}
		// The root key resolves to the account root.
		cred, err := New(st, Options{}).LookupAccessKey(ctx, a.RootAccessKeyID)
		if err != nil {
			t.Fatalf("root key does not resolve: %v", err)
		}
		p := cred.Subject.(*principal.Principal)
		if cred.SecretAccessKey != a.RootSecretAccessKey || p.Kind != principal.Root || p.Account != a.ID {
			t.Fatalf("root credential = %+v %+v", cred, p)
		}
		return a, created
	}

	first, created := start(BootstrapOptions{})
	if !created || !regexp.MustCompile(`^[1-9][0-9]{11}$`).MatchString(first.ID) ||
		!regexp.MustCompile(`^AKIA[A-Z2-7]{16}$`).MatchString(first.RootAccessKeyID) || len(first.RootSecretAccessKey) != 40 {
		t.Fatalf("first start = %+v created=%v", first, created)
	}
	// Later starts reuse the account and its key.
	again, created := start(BootstrapOptions{})
	if created || again != first {
		t.Fatalf("second start = %+v created=%v, want %+v", again, created, first)
	}
	// Explicit keys replace the root key.
	explicit := BootstrapOptions{AccessKeyID: "AKIAEXPLICITKEY00001", SecretAccessKey: "explicit-secret"}
	third, created := start(explicit)
	if created || third.ID != first.ID || third.RootAccessKeyID != explicit.AccessKeyID || third.RootSecretAccessKey != explicit.SecretAccessKey {
		t.Fatalf("explicit start = %+v created=%v", third, created)
	}
	st := openStore(t, dir)
	if _, err := New(st, Options{}).LookupAccessKey(ctx, first.RootAccessKeyID); !errors.Is(err, sigv4.ErrUnknownAccessKey) {
		t.Fatalf("replaced root key still resolves: %v", err)
	}
	st.Close()
	// Same explicit keys again: nothing changes; without keys: they stay.
	if a, _ := start(explicit); a != third {
		t.Fatalf("repeat explicit = %+v", a)
	}
	if a, _ := start(BootstrapOptions{}); a != third {
		t.Fatalf("after explicit, plain start = %+v", a)
	}
	// A new secret for the same key ID replaces the secret.
	rotated := BootstrapOptions{AccessKeyID: explicit.AccessKeyID, SecretAccessKey: "rotated"}
	if a, _ := start(rotated); a.RootSecretAccessKey != "rotated" || a.ID != first.ID {
		t.Fatalf("rotated = %+v", a)
	}

	// Explicit keys on first start.
	fresh, created := func() (Account, bool) {
		dir = t.TempDir()
		return start(explicit)
	}()
	if !created || fresh.RootAccessKeyID != explicit.AccessKeyID || fresh.ID == first.ID {
		t.Fatalf("fresh explicit = %+v created=%v", fresh, created)
	}

	st = openStore(t, dir)
	defer st.Close()
	if _, _, err := Bootstrap(ctx, st, BootstrapOptions{AccessKeyID: "only-id"}); err == nil {
		t.Fatal("an access key ID without a secret was accepted")
	}
}

func TestBootstrapRefusesAUserKey(t *testing.T) {
	e := newEnv(t)
	e.createUser("wes")
	_, p := e.asUser("wes")
	_, _, err := Bootstrap(context.Background(), e.st, BootstrapOptions{AccessKeyID: p.AccessKeyID, SecretAccessKey: "x"})
	if err == nil {
		t.Fatal("a user's access key became the root key")
	}
}
