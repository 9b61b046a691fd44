package iam

import (
	"errors"

	"github.com/wharfhq/wharf/internal/errs"
	"github.com/wharfhq/wharf/internal/policy"
)

// docKind says which IAM rules a document is checked against.
type docKind int

const (
	managedDoc docKind = iota // a managed policy version
	inlineDoc                 // an inline policy (the size quota is per entity, checked by the caller)
	trustDoc                  // a role trust policy
	sessionDoc                // an STS session policy
)

// validateDocument decodes doc (raw or URL-encoded) and checks it as a
// policy of kind, returning its JSON text. Errors are IAM's
// MalformedPolicyDocument or LimitExceeded.
func validateDocument(doc string, kind docKind) (string, error) {
	text, err := decodeDocument(doc)
	if err != nil {
		return "", err
	}
	switch kind {
	case trustDoc:
		_, err = policy.ValidateTrustPolicy(text, policy.MaxTrustPolicySize)
	case managedDoc:
		_, err = policy.ValidateIdentityPolicy(text, policy.MaxManagedPolicySize)
	default:
		_, err = policy.ValidateIdentityPolicy(text, 0)
	}
	if err == nil {
		return text, nil
	}
	var pe *policy.ParseError
	var se *policy.SizeError
	switch {
	case errors.As(err, &pe):
		return "", errs.New(ErrMalformedPolicyDocument, "%s", pe.Message)
	case errors.As(err, &se) && kind == trustDoc:
		return "", quota("ACLSizePerRole", se.Limit)
	case errors.As(err, &se):
		return "", quota("PolicySize", se.Limit)
	}
	return "", errs.New(ErrMalformedPolicyDocument, "Syntax errors in policy.")
}
