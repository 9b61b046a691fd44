// Package principal describes who is making a request — the identity a
// verified SigV4 signature belongs to — and carries it in a context.
package principal

import "context"

// Kind is the sort of identity.
type Kind string

const (
	Root        Kind = "Root"        // the account's root access key
	User        Kind = "IAMUser"     // an IAM user's access key
	AssumedRole Kind = "AssumedRole" // temporary credentials from sts:AssumeRole
	Federated   Kind = "FederatedUser"
)

// Principal is an authenticated identity.
type Principal struct {
	Kind        Kind
	Account     string // 12-digit account id
	ARN         string // arn:aws:iam::123456789012:user/bob, arn:aws:sts::123456789012:assumed-role/r/s, arn:aws:iam::123456789012:root
	UserID      string // AIDA… for users, AROA…:session for roles, the account id for root
	Name        string // user name, or role name for assumed roles
	SessionName string // assumed roles only
	RoleARN     string // assumed roles only: the role's IAM ARN
	AccessKeyID string
	// SessionPolicy is the inline session policy of temporary credentials,
	// which further limits what the principal may do ("" = none).
	SessionPolicy string
	Temporary     bool
}

type key struct{}

// With returns ctx carrying p.
func With(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, key{}, p)
}

// From returns the principal of ctx, or nil.
func From(ctx context.Context) *Principal {
	p, _ := ctx.Value(key{}).(*Principal)
	return p
}
