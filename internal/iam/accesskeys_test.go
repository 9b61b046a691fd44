package iam

import (
	"context"
	"errors"
	"regexp"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api/iamapi"
	"github.com/wharfhq/wharf/internal/principal"
	"github.com/wharfhq/wharf/internal/ptr"
	"github.com/wharfhq/wharf/internal/sigv4"
)

func TestAccessKeys(t *testing.T) {
	e := newEnv(t)
	e.createUser("hank")
	create := func(ctx context.Context, user string) (*iamapi.CreateAccessKeyResponse, error) {
		req := &iamapi.CreateAccessKeyRequest{}
		if user != "" {
			req.UserName = ptr.To(user)
		}
		return e.svc.CreateAccessKey(ctx, req)
	}
	k1 := must(create(e.root, "hank"))(t).AccessKey
	if !regexp.MustCompile(`^AKIA[A-Z2-7]{16}$`).MatchString(*k1.AccessKeyId) || len(*k1.SecretAccessKey) != 40 ||
		*k1.Status != "Active" || *k1.UserName != "hank" {
		t.Fatalf("key = %+v", k1)
	}
	// A user manages their own keys without naming themselves.
	hank, _ := e.asUser("hank") // the second key
	_, err := create(hank, "")
	wantErr(t, err, ErrLimitExceeded, "Cannot exceed quota for AccessKeysPerUser: 2")
	_, err = create(e.root, "nobody")
	wantErr(t, err, ErrNoSuchEntity, "The user with name nobody cannot be found.")

	list := must(e.svc.ListAccessKeys(hank, &iamapi.ListAccessKeysRequest{}))(t)
	if len(list.AccessKeyMetadata) != 2 || *list.IsTruncated {
		t.Fatalf("ListAccessKeys = %+v", list)
	}
	page := must(e.svc.ListAccessKeys(e.root, &iamapi.ListAccessKeysRequest{UserName: ptr.To("hank"), MaxItems: ptr.To(int32(1))}))(t)
	if len(page.AccessKeyMetadata) != 1 || !*page.IsTruncated {
		t.Fatalf("page = %+v", page)
	}

	// Inactive keys are unknown to the verifier; active again, they work.
	cred := must(e.svc.LookupAccessKey(context.Background(), *k1.AccessKeyId))(t)
	if cred.SecretAccessKey != *k1.SecretAccessKey || cred.Subject.(*principal.Principal).Name != "hank" {
		t.Fatalf("lookup = %+v", cred)
	}
	must(e.svc.UpdateAccessKey(e.root, &iamapi.UpdateAccessKeyRequest{UserName: ptr.To("hank"), AccessKeyId: k1.AccessKeyId, Status: ptr.To("Inactive")}))(t)
	if _, err := e.svc.LookupAccessKey(context.Background(), *k1.AccessKeyId); !errors.Is(err, sigv4.ErrUnknownAccessKey) {
		t.Fatalf("inactive key lookup err = %v", err)
	}
	must(e.svc.UpdateAccessKey(e.root, &iamapi.UpdateAccessKeyRequest{UserName: ptr.To("hank"), AccessKeyId: k1.AccessKeyId, Status: ptr.To("Active")}))(t)
	must(e.svc.LookupAccessKey(context.Background(), *k1.AccessKeyId))(t)
	_, err = e.svc.UpdateAccessKey(e.root, &iamapi.UpdateAccessKeyRequest{UserName: ptr.To("hank"), AccessKeyId: k1.AccessKeyId, Status: ptr.To("Bogus")})
	wantErr(t, err, ErrValidation, "")

	// Keys belong to their user.
	e.createUser("ivy")
	_, err = e.svc.DeleteAccessKey(e.root, &iamapi.DeleteAccessKeyRequest{UserName: ptr.To("ivy"), AccessKeyId: k1.AccessKeyId})
	wantErr(t, err, ErrNoSuchEntity, "The Access Key with id "+*k1.AccessKeyId+" cannot be found.")

	last := must(e.svc.GetAccessKeyLastUsed(e.root, &iamapi.GetAccessKeyLastUsedRequest{AccessKeyId: k1.AccessKeyId}))(t)
	if *last.UserName != "hank" || last.AccessKeyLastUsed.LastUsedDate == nil {
		t.Errorf("GetAccessKeyLastUsed = %+v %+v", last, last.AccessKeyLastUsed)
	}
	_, err = e.svc.GetAccessKeyLastUsed(e.root, &iamapi.GetAccessKeyLastUsedRequest{AccessKeyId: ptr.To("AKIAAAAAAAAAAAAAAAAA")})
	wantErr(t, err, ErrNoSuchEntity, "")

	must(e.svc.DeleteAccessKey(e.root, &iamapi.DeleteAccessKeyRequest{UserName: ptr.To("hank"), AccessKeyId: k1.AccessKeyId}))(t)
	if _, err := e.svc.LookupAccessKey(context.Background(), *k1.AccessKeyId); !errors.Is(err, sigv4.ErrUnknownAccessKey) {
		t.Fatalf("deleted key lookup err = %v", err)
	}
	_, err = e.svc.DeleteAccessKey(e.root, &iamapi.DeleteAccessKeyRequest{UserName: ptr.To("hank"), AccessKeyId: k1.AccessKeyId})
	wantErr(t, err, ErrNoSuchEntity, "")
}

func TestRootAccessKeys(t *testing.T) {
	e := newEnv(t)
	list := must(e.svc.ListAccessKeys(e.root, &iamapi.ListAccessKeysRequest{}))(t)
	if len(list.AccessKeyMetadata) != 1 || *list.AccessKeyMetadata[0].AccessKeyId != e.acct.RootAccessKeyID {
		t.Fatalf("root keys = %+v", list.AccessKeyMetadata)
	}
	k := must(e.svc.CreateAccessKey(e.root, &iamapi.CreateAccessKeyRequest{}))(t)
	cred := must(e.svc.LookupAccessKey(context.Background(), *k.AccessKey.AccessKeyId))(t)
	if p := cred.Subject.(*principal.Principal); p.Kind != principal.Root || p.ARN != rootARN(e.acct.ID) {
		t.Errorf("root key principal = %+v", p)
	}
	_, err := e.svc.CreateAccessKey(e.root, &iamapi.CreateAccessKeyRequest{})
	wantErr(t, err, ErrLimitExceeded, "")
}

func TestLookupAccessKey(t *testing.T) {
	e := newEnv(t)
	cred := must(e.svc.LookupAccessKey(context.Background(), e.acct.RootAccessKeyID))(t)
	p := cred.Subject.(*principal.Principal)
	if cred.SecretAccessKey != e.acct.RootSecretAccessKey || p.Kind != principal.Root || p.Account != e.acct.ID ||
		p.UserID != e.acct.ID || p.AccessKeyID != e.acct.RootAccessKeyID || !cred.Expiration.IsZero() {
		t.Fatalf("root credential = %+v %+v", cred, p)
	}
	if _, err := e.svc.LookupAccessKey(context.Background(), "AKIANOTAKEY000000000"); !errors.Is(err, sigv4.ErrUnknownAccessKey) {
		t.Fatalf("unknown key err = %v", err)
	}

	// Temporary keys carry their token and expiry; once expired they are
	// still returned, with the expiry, so the verifier says ExpiredToken.
	exp := e.clock.Now().Add(15 * time.Minute)
	tmp := must(e.svc.IssueTemporaryCredentials(context.Background(), principal.Principal{Kind: principal.AssumedRole,
		Account: e.acct.ID, Name: "r", SessionName: "s"}, exp))(t)
	if !regexp.MustCompile(`^ASIA[A-Z2-7]{16}$`).MatchString(tmp.AccessKeyID) || tmp.SessionToken == "" {
		t.Fatalf("temporary = %+v", tmp)
	}
	cred = must(e.svc.LookupAccessKey(context.Background(), tmp.AccessKeyID))(t)
	if cred.SessionToken != tmp.SessionToken || !cred.Expiration.Equal(exp) || !cred.Subject.(*principal.Principal).Temporary {
		t.Fatalf("temporary credential = %+v", cred)
	}
	e.clock.Advance(20 * time.Minute)
	cred = must(e.svc.LookupAccessKey(context.Background(), tmp.AccessKeyID))(t)
	if !cred.Expiration.Before(e.clock.Now()) {
		t.Fatalf("expired credential expiration = %v", cred.Expiration)
	}

	// Sweeping removes it for good.
	n := must(e.svc.SweepExpiredKeys(context.Background(), e.clock.Now()))(t)
	if n != 1 {
		t.Fatalf("swept %d keys, want 1", n)
	}
	if _, err := e.svc.LookupAccessKey(context.Background(), tmp.AccessKeyID); !errors.Is(err, sigv4.ErrUnknownAccessKey) {
		t.Fatalf("swept key err = %v", err)
	}
	if n := must(e.svc.SweepExpiredKeys(context.Background(), e.clock.Now()))(t); n != 0 {
		t.Fatalf("second sweep removed %d", n)
	}
}

// TestLookupCacheTTL checks that writes by another Service on the same
// store (another process) are seen once the TTL has passed.
func TestLookupCacheTTL(t *testing.T) {
	e := newEnv(t)
	e.createUser("jo")
	k := must(e.svc.CreateAccessKey(e.root, &iamapi.CreateAccessKeyRequest{UserName: ptr.To("jo")}))(t).AccessKey
	must(e.svc.LookupAccessKey(context.Background(), *k.AccessKeyId))(t)

	other := New(e.st, Options{Now: e.clock.Now})
	must(other.UpdateAccessKey(e.root, &iamapi.UpdateAccessKeyRequest{UserName: ptr.To("jo"), AccessKeyId: k.AccessKeyId, Status: ptr.To("Inactive")}))(t)
	if _, err := e.svc.LookupAccessKey(context.Background(), *k.AccessKeyId); err != nil {
		t.Fatalf("within the TTL the cached answer stands, got %v", err)
	}
	e.clock.Advance(e.svc.ttl)
	if _, err := e.svc.LookupAccessKey(context.Background(), *k.AccessKeyId); !errors.Is(err, sigv4.ErrUnknownAccessKey) {
		t.Fatalf("after the TTL: %v", err)
	}
}

func BenchmarkLookupAccessKey(b *testing.B) {
	st := openStore(b, b.TempDir())
	defer st.Close()
	acct, _, err := Bootstrap(context.Background(), st, BootstrapOptions{})
	if err != nil {
		b.Fatal(err)
	}
	svc := New(st, Options{})
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := svc.LookupAccessKey(context.Background(), acct.RootAccessKeyID); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
