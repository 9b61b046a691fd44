// Package tenancy carries the account and region a request acts in through a
// context.Context. Every store call is scoped by them: code below the edge
// never takes an account or region as a loose parameter.
package tenancy

import (
	"context"
	"errors"
	"regexp"
)

// ErrNoAccount is returned when a context carries no account.
var ErrNoAccount = errors.New("tenancy: no account in context")

// ErrNoRegion is returned when a context carries no region.
var ErrNoRegion = errors.New("tenancy: no region in context")

type accountKey struct{}
type regionKey struct{}

// WithAccount returns ctx acting in account (a 12-digit AWS account id).
func WithAccount(ctx context.Context, account string) context.Context {
	return context.WithValue(ctx, accountKey{}, account)
}

// WithRegion returns ctx acting in region (for example us-east-1).
func WithRegion(ctx context.Context, region string) context.Context {
	return context.WithValue(ctx, regionKey{}, region)
}

// With returns ctx acting in account and region.
func With(ctx context.Context, account, region string) context.Context {
	return WithRegion(WithAccount(ctx, account), region)
}

// Account returns the account of ctx, or ErrNoAccount.
func Account(ctx context.Context) (string, error) {
	a, _ := ctx.Value(accountKey{}).(string)
	if a == "" {
		return "", ErrNoAccount
	}
	return a, nil
}

// Region returns the region of ctx, or ErrNoRegion.
func Region(ctx context.Context) (string, error) {
	r, _ := ctx.Value(regionKey{}).(string)
	if r == "" {
		return "", ErrNoRegion
	}
	return r, nil
}

var accountRE = regexp.MustCompile(`^[0-9]{12}$`)

// ValidAccount reports whether s is a well-formed 12-digit account id.
func ValidAccount(s string) bool { return accountRE.MatchString(s) }

var regionRE = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)

// ValidRegion reports whether s looks like an AWS region name (us-east-1).
func ValidRegion(s string) bool { return regionRE.MatchString(s) }
