package endpoint

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"

	"github.com/wharfhq/wharf/internal/agentproto"
)

var sampleCreds = agentproto.Credentials{
	RoleARN: "arn:aws:iam::000000000000:role/app", AccessKeyID: "ASIAEXAMPLE0000001",
	SecretAccessKey: "secret/key+1", SessionToken: "session-token-1",
	Expiration: time.Date(2099, 11, 26, 9, 0, 0, 0, time.FixedZone("CET", 3600)), // far ahead: SDKs refuse expired credentials
}

func TestCredentialsDocument(t *testing.T) {
	s := start(t, Config{})
	id := NewID()
	s.SetCredentials(id, sampleCreds)
	env := s.CredentialsEnv(id)
	full, token := env[EnvCredentialsFullURI], env[EnvAuthorizationToken]
	if !strings.HasPrefix(full, "http://127.0.0.1:") || !strings.HasSuffix(full, "/v2/credentials/"+id) || len(token) < 32 {
		t.Fatalf("CredentialsEnv = %v", env)
	}
	if again := s.CredentialsEnv(id); again[EnvAuthorizationToken] != token {
		t.Errorf("the token changed between calls: %v", again)
	}
	code, v := get(t, full, map[string]string{"Authorization": token})
	if code != 200 {
		t.Fatalf("GET credentials: %d %v", code, v)
	}
	want := map[string]any{
		"RoleArn": "arn:aws:iam::000000000000:role/app", "AccessKeyId": "ASIAEXAMPLE0000001",
		"SecretAccessKey": "secret/key+1", "Token": "session-token-1", "Expiration": "2099-11-26T08:00:00Z",
	}
	m := v.(map[string]any)
	if !slices.Equal(keys(m), keys(want)) {
		t.Errorf("keys = %v, want %v", keys(m), keys(want))
	}
	for k, w := range want {
		if m[k] != w {
			t.Errorf("%s = %v, want %v", k, m[k], w)
		}
	}

	base := strings.TrimSuffix(full, id)
	for _, tc := range []struct {
		url, auth  string
		code       int
		errCode    string
		errMessage string
	}{
		{base + "unknown", token, 400, "InvalidIdInRequest", "CredentialsV2Request: Credentials not found"},
		{base, token, 400, "NoIdInRequest", "CredentialsV2Request: No ID in the request"},
		{strings.TrimSuffix(base, "/"), token, 400, "NoIdInRequest", "CredentialsV2Request: No ID in the request"},
		{full, "", 401, "AccessDenied", ""},
		{full, token + "x", 401, "AccessDenied", ""},
	} {
		code, v := get(t, tc.url, map[string]string{"Authorization": tc.auth})
		m, _ := v.(map[string]any)
		if code != tc.code || m["code"] != tc.errCode || (tc.errMessage != "" && m["message"] != tc.errMessage) {
			t.Errorf("GET %s (auth %q): %d %v, want %d %s %q", tc.url, tc.auth, code, v, tc.code, tc.errCode, tc.errMessage)
		}
	}

	s.RemoveCredentials(id)
	if code, _ := get(t, full, map[string]string{"Authorization": token}); code != 400 {
		t.Errorf("removed credentials answer %d, want 400", code)
	}
}

func TestCredentialsWithSDKProvider(t *testing.T) {
	s := start(t, Config{})
	id := NewID()
	s.SetCredentials(id, sampleCreds)
	env := s.CredentialsEnv(id)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	p := endpointcreds.New(env[EnvCredentialsFullURI], func(o *endpointcreds.Options) {
		o.AuthorizationToken = env[EnvAuthorizationToken]
	})
	got, err := p.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got.AccessKeyID != sampleCreds.AccessKeyID || got.SecretAccessKey != sampleCreds.SecretAccessKey ||
		got.SessionToken != sampleCreds.SessionToken || !got.Expires.Equal(sampleCreds.Expiration) || !got.CanExpire {
		t.Errorf("Retrieve = %+v", got)
	}

	// Renewed credentials are served at once.
	renewed := sampleCreds
	renewed.AccessKeyID, renewed.Expiration = "ASIAEXAMPLE0000002", sampleCreds.Expiration.Add(time.Hour)
	s.SetCredentials(id, renewed)
	if got, err := p.Retrieve(ctx); err != nil || got.AccessKeyID != "ASIAEXAMPLE0000002" {
		t.Errorf("Retrieve after renewal = %+v, %v", got, err)
	}

	// A wrong token and an unknown id are refused, and the SDK says so.
	bad := endpointcreds.New(env[EnvCredentialsFullURI], func(o *endpointcreds.Options) { o.AuthorizationToken = "wrong" })
	if _, err := bad.Retrieve(ctx); err == nil || !strings.Contains(err.Error(), "AccessDenied") {
		t.Errorf("Retrieve with a wrong token = %v, want AccessDenied", err)
	}
	unknown := endpointcreds.New(strings.TrimSuffix(env[EnvCredentialsFullURI], id)+NewID(), func(o *endpointcreds.Options) {
		o.AuthorizationToken = env[EnvAuthorizationToken]
	})
	if _, err := unknown.Retrieve(ctx); err == nil || !strings.Contains(err.Error(), "InvalidIdInRequest") {
		t.Errorf("Retrieve of an unknown id = %v, want InvalidIdInRequest", err)
	}
}

// TestCredentialsWithLoadDefaultConfig resolves credentials the way an
// application in a container does: config.LoadDefaultConfig reading
// AWS_CONTAINER_CREDENTIALS_FULL_URI and AWS_CONTAINER_AUTHORIZATION_TOKEN
// from the environment.
func TestCredentialsWithLoadDefaultConfig(t *testing.T) {
	s := start(t, Config{})
	id := NewID()
	s.SetCredentials(id, sampleCreds)
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "",
		"AWS_CONFIG_FILE": filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_REGION": "us-east-1", EnvCredentialsRelativeURI: "",
	} {
		t.Setenv(k, v)
	}
	for k, v := range s.CredentialsEnv(id) {
		t.Setenv(k, v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got.AccessKeyID != sampleCreds.AccessKeyID || got.SessionToken != sampleCreds.SessionToken {
		t.Errorf("credentials = %+v", got)
	}
}

func TestCredentialsTokenFromSecret(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	a := New(Config{Addr: "127.0.0.1:51679", Secret: secret})
	b := New(Config{Addr: "127.0.0.1:51679", Secret: secret}) // the agent, restarted
	c := New(Config{Addr: "127.0.0.1:51679", Secret: []byte("another secret")})
	ta, tb, tc := a.CredentialsEnv("id1")[EnvAuthorizationToken], b.CredentialsEnv("id1")[EnvAuthorizationToken], c.CredentialsEnv("id1")[EnvAuthorizationToken]
	if len(ta) != 64 || ta != tb || ta == tc || ta == a.CredentialsEnv("id2")[EnvAuthorizationToken] {
		t.Errorf("tokens: %q %q %q", ta, tb, tc)
	}
	if got := a.CredentialsEnv("id1")[EnvCredentialsFullURI]; got != "http://127.0.0.1:51679/v2/credentials/id1" {
		t.Errorf("full URI = %q", got)
	}
	ll := New(Config{Addr: "127.0.0.1:0", URL: "http://169.254.170.2/"})
	if env := ll.CredentialsEnv("id1"); len(env) != 1 || env[EnvCredentialsRelativeURI] != "/v2/credentials/id1" {
		t.Errorf("at the link-local URL: %v", env)
	}
	if got := ll.MetadataEnv("m")[EnvMetadataURIV4]; got != "http://169.254.170.2/v4/m" {
		t.Errorf("MetadataEnv = %q", got)
	}
}
