package policy

import (
	"errors"
	"fmt"
)

// Sentinels for errors.Is. Every error from Parse and the Validate
// functions wraps exactly one of them.
var (
	// ErrMalformed marks a document that is not a valid policy
	// (IAM's MalformedPolicyDocument).
	ErrMalformed = errors.New("policy: malformed policy document")
	// ErrTooLarge marks a document over a size limit (IAM's
	// LimitExceeded).
	ErrTooLarge = errors.New("policy: policy document too large")
)

// IAM's MalformedPolicyDocument messages, reused across the parser.
const (
	msgSyntax          = "Syntax errors in policy."
	msgLegacy          = "The policy failed legacy parsing"
	msgNoActions       = "Policy statement must contain actions."
	msgNoResources     = "Policy statement must contain resources."
	msgNoPrincipal     = "Missing required field Principal"
	msgHasPrincipal    = "Policy document should not specify a principal."
	msgSidUnique       = "Statement IDs (SID) in a single policy must be unique."
	msgSidAlnum        = "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*"
	msgVendorPrefix    = "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
	msgOneColon        = "Actions/Condition can contain only one colon."
	msgResourceVendor  = "Resource vendor must be fully qualified and cannot contain regexes."
	msgIAMResourcePath = `IAM resource path must either be "*" or start with user/, federated-user/, role/, group/, instance-profile/, mfa/, server-certificate/, policy/, sms-mfa/, saml-provider/, oidc-provider/, report/, access-report/.`
)

// ParseError is a policy document that IAM would refuse with
// MalformedPolicyDocument.
type ParseError struct {
	// Message is the text IAM would return, e.g. "Syntax errors in
	// policy." Use it for the wire.
	Message string
	// Detail says exactly what was wrong, for logs and tests; it is not
	// part of IAM's answer.
	Detail string
	// Statement is the 1-based index of the statement at fault, or 0 when
	// the fault is in the document itself.
	Statement int
}

func (e *ParseError) Error() string {
	if e.Detail == "" {
		return e.Message
	}
	return e.Message + " (" + e.Detail + ")"
}

// Unwrap makes errors.Is(err, ErrMalformed) true.
func (e *ParseError) Unwrap() error { return ErrMalformed }

// SizeError is a document over a size limit.
type SizeError struct {
	Size  int // the document's size, counted as the limit counts it
	Limit int
}

func (e *SizeError) Error() string {
	return fmt.Sprintf("policy document size %d exceeds the limit of %d", e.Size, e.Limit)
}

// Unwrap makes errors.Is(err, ErrTooLarge) true.
func (e *SizeError) Unwrap() error { return ErrTooLarge }

func malformed(stmt int, msg, detailFormat string, args ...any) *ParseError {
	return &ParseError{Message: msg, Detail: fmt.Sprintf(detailFormat, args...), Statement: stmt}
}

func syntaxErr(stmt int, detailFormat string, args ...any) *ParseError {
	return malformed(stmt, msgSyntax, detailFormat, args...)
}
