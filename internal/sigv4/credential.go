package sigv4

import (
	"context"
	"time"
)

// Credential is what a CredentialSource knows about an access key.
type Credential struct {
	AccessKeyID     string
	SecretAccessKey string
	// SessionToken is set for temporary credentials; a request signed with
	// them must carry the same token.
	SessionToken string
	// Expiration is when a temporary credential stops working; zero means
	// never.
	Expiration time.Time
	// Subject is opaque to this package: the caller puts the principal the
	// key belongs to here and gets it back in Result.Credential.
	Subject any
}

// CredentialSource looks up the credential of an access key ID. It returns an
// error wrapping ErrUnknownAccessKey when there is none; any other error is
// passed through Verify as an internal failure.
type CredentialSource interface {
	LookupAccessKey(ctx context.Context, accessKeyID string) (Credential, error)
}

// StaticSource is a CredentialSource over a fixed map from access key ID to
// credential, for tests, examples and single-user setups.
type StaticSource map[string]Credential

var _ CredentialSource = StaticSource(nil)

// LookupAccessKey implements CredentialSource.
func (s StaticSource) LookupAccessKey(_ context.Context, accessKeyID string) (Credential, error) {
	c, ok := s[accessKeyID]
	if !ok {
		return Credential{}, ErrUnknownAccessKey
	}
	return c, nil
}
