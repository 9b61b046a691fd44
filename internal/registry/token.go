package registry

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/wharfhq/wharf/internal/principal"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/tenancy"
)

// TokenTTL is how long an ECR authorization token is valid, as on AWS.
const TokenTTL = 12 * time.Hour

// ErrTokenInvalid: a registry password that is malformed, forged or expired.
var ErrTokenInvalid = errors.New("registry: invalid or expired authorization token")

// Token format, version 1:
//
//	"wharf1." + base64url(claims JSON) + "." + base64url(HMAC-SHA256(key, "wharf1." + claims part))
//
// The claims name the account, region and access key the token acts as and
// when it expires. The HMAC key is 32 random bytes kept in the System
// table registry_secrets under "token-hmac-v1", created on first use; a
// token is verified without a store read. The access key is looked up
// (through IAM's cache) on each request, so deactivating or deleting the
// key revokes every token issued for it.
const tokenPrefix = "wharf1."

var tblSecrets = store.Table{Name: "registry_secrets", Scope: store.System}

const secretKey = "token-hmac-v1"

// Claims is what a token asserts.
type Claims struct {
	Account     string `json:"a"`
	Region      string `json:"r"`
	AccessKeyID string `json:"k"`
	Expires     int64  `json:"e"` // unix seconds
}

// Tokens issues and verifies registry passwords.
type Tokens struct {
	st  store.Store
	now func() time.Time

	mu  sync.Mutex
	key []byte
}

// NewTokens returns a token issuer over the store holding its key.
func NewTokens(st store.Store, now func() time.Time) *Tokens {
	if now == nil {
		now = time.Now
	}
	return &Tokens{st: st, now: now}
}

func (t *Tokens) secret(ctx context.Context) ([]byte, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.key != nil {
		return t.key, nil
	}
	var key []byte
	err := t.st.Update(ctx, func(tx store.Tx) error {
		it, err := tx.Get(tblSecrets, secretKey)
		if err == nil {
			return json.Unmarshal(it.Value, &key)
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		key = make([]byte, 32)
		rand.Read(key)
		b, _ := json.Marshal(key)
		_, err = tx.PutIf(tblSecrets, secretKey, b, 0)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("registry: token key: %w", err)
	}
	if len(key) < 32 {
		return nil, errors.New("registry: stored token key is too short")
	}
	t.key = key
	return key, nil
}

// Issue returns a password for p acting in the tenant of ctx, valid for
// TokenTTL or until notAfter when that is sooner (temporary credentials).
func (t *Tokens) Issue(ctx context.Context, p *principal.Principal, notAfter time.Time) (string, time.Time, error) {
	acct, err := tenancy.Account(ctx)
	if err != nil {
		return "", time.Time{}, err
	}
	region, err := tenancy.Region(ctx)
	if err != nil {
		return "", time.Time{}, err
	}
	if p == nil || p.AccessKeyID == "" {
		return "", time.Time{}, errors.New("registry: token for a caller without an access key")
	}
	exp := t.now().Add(TokenTTL).Truncate(time.Second)
	if !notAfter.IsZero() && notAfter.Before(exp) {
		exp = notAfter.Truncate(time.Second)
	}
	key, err := t.secret(ctx)
	if err != nil {
		return "", time.Time{}, err
	}
	c, _ := json.Marshal(Claims{Account: acct, Region: region, AccessKeyID: p.AccessKeyID, Expires: exp.Unix()})
	body := tokenPrefix + base64.RawURLEncoding.EncodeToString(c)
	return body + "." + base64.RawURLEncoding.EncodeToString(sign(key, body)), exp, nil
}

func sign(key []byte, body string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(body))
	return m.Sum(nil)
}

// Verify checks a password's signature and expiry and returns its claims.
func (t *Tokens) Verify(ctx context.Context, password string) (Claims, error) {
	if !strings.HasPrefix(password, tokenPrefix) || len(password) > 1024 {
		return Claims{}, ErrTokenInvalid
	}
	i := strings.LastIndexByte(password, '.')
	if i <= len(tokenPrefix) {
		return Claims{}, ErrTokenInvalid
	}
	body, sigPart := password[:i], password[i+1:]
	sig, err := base64.RawURLEncoding.Strict().DecodeString(sigPart)
	if err != nil {
		return Claims{}, ErrTokenInvalid
	}
	key, err := t.secret(ctx)
	if err != nil {
		return Claims{}, err
	}
	if !hmac.Equal(sig, sign(key, body)) {
		return Claims{}, ErrTokenInvalid
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(body[len(tokenPrefix):])
	if err != nil {
		return Claims{}, ErrTokenInvalid
	}
	var c Claims
	if err := json.Unmarshal(raw, &c); err != nil || !tenancy.ValidAccount(c.Account) || !tenancy.ValidRegion(c.Region) || c.AccessKeyID == "" {
		return Claims{}, ErrTokenInvalid
	}
	if t.now().Unix() >= c.Expires {
		return Claims{}, fmt.Errorf("%w: expired at %s", ErrTokenInvalid, time.Unix(c.Expires, 0).UTC().Format(time.RFC3339))
	}
	return c, nil
}
