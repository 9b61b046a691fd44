// Package arn builds and parses Amazon Resource Names, the one place where
// Wharf spells them:
//
//	arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE
//
// Global services (IAM, STS's assumed-role ARNs) leave the region empty; AWS
// managed IAM policies use the account "aws". Wharf always serves the "aws"
// partition.
package arn

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/wharfhq/wharf/internal/tenancy"
)

// Partition is the partition of every ARN Wharf builds.
const Partition = "aws"

// ErrMalformed is wrapped by Parse errors.
var ErrMalformed = errors.New("arn: malformed")

// ARN is a parsed Amazon Resource Name.
type ARN struct {
	Partition string
	Service   string
	Region    string // "" for global services
	Account   string // "" for some resources, "aws" for AWS managed policies
	Resource  string // everything after the fifth colon, e.g. "user/division/bob"
}

// String formats a as arn:partition:service:region:account:resource.
func (a ARN) String() string {
	p := a.Partition
	if p == "" {
		p = Partition
	}
	var b strings.Builder
	b.Grow(12 + len(p) + len(a.Service) + len(a.Region) + len(a.Account) + len(a.Resource))
	b.WriteString("arn:")
	b.WriteString(p)
	b.WriteByte(':')
	b.WriteString(a.Service)
	b.WriteByte(':')
	b.WriteString(a.Region)
	b.WriteByte(':')
	b.WriteString(a.Account)
	b.WriteByte(':')
	b.WriteString(a.Resource)
	return b.String()
}

// Build returns the ARN of resource in the aws partition.
func Build(service, region, account, resource string) string {
	return ARN{Service: service, Region: region, Account: account, Resource: resource}.String()
}

// Parse splits s into its parts. The resource may itself contain colons
// (arn:aws:logs:us-east-1:123456789012:log-group:name:*).
func Parse(s string) (ARN, error) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return ARN{}, fmt.Errorf("%w: %q does not have the form arn:partition:service:region:account:resource", ErrMalformed, s)
	}
	a := ARN{Partition: parts[1], Service: parts[2], Region: parts[3], Account: parts[4], Resource: parts[5]}
	if a.Partition == "" || a.Service == "" || a.Resource == "" {
		return ARN{}, fmt.Errorf("%w: %q lacks a partition, service or resource", ErrMalformed, s)
	}
	return a, nil
}

// Valid reports whether s parses as an ARN.
func Valid(s string) bool {
	_, err := Parse(s)
	return err == nil
}

// Global returns the ARN of resource of a global service (IAM) in the
// account of ctx.
func Global(ctx context.Context, service, resource string) (string, error) {
	acct, err := tenancy.Account(ctx)
	if err != nil {
		return "", err
	}
	return Build(service, "", acct, resource), nil
}

// Regional returns the ARN of resource of a regional service in the account
// and region of ctx.
func Regional(ctx context.Context, service, resource string) (string, error) {
	acct, err := tenancy.Account(ctx)
	if err != nil {
		return "", err
	}
	region, err := tenancy.Region(ctx)
	if err != nil {
		return "", err
	}
	return Build(service, region, acct, resource), nil
}

// IAM returns the IAM ARN of an entity: kind is "user", "role", "group",
// "policy", "instance-profile"…; path is the IAM path ("/" or
// "/division/"; "" means "/").
//
//	IAM("123456789012", "user", "/division/", "bob") = "arn:aws:iam::123456789012:user/division/bob"
func IAM(account, kind, path, name string) string {
	if path == "" {
		path = "/"
	}
	return Build("iam", "", account, kind+path+name)
}

// SplitIAM parses an IAM entity ARN into its kind, path and name: the
// inverse of IAM. The service must be iam.
func SplitIAM(s string) (account, kind, path, name string, err error) {
	a, err := Parse(s)
	if err != nil {
		return "", "", "", "", err
	}
	if a.Service != "iam" {
		return "", "", "", "", fmt.Errorf("%w: %q is not an IAM ARN", ErrMalformed, s)
	}
	kind, rest, ok := strings.Cut(a.Resource, "/")
	if !ok || kind == "" || rest == "" {
		return "", "", "", "", fmt.Errorf("%w: %q has no IAM kind/name resource", ErrMalformed, s)
	}
	i := strings.LastIndexByte(rest, '/')
	path, name = "/"+rest[:i+1], rest[i+1:]
	if name == "" {
		return "", "", "", "", fmt.Errorf("%w: %q has an empty name", ErrMalformed, s)
	}
	return a.Account, kind, path, name, nil
}
