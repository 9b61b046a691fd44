package sigv4

import (
	"errors"
	"fmt"
	"strconv"
)

// ErrUnknownAccessKey is the error a CredentialSource returns (or wraps) when
// it has no credential for an access key ID.
var ErrUnknownAccessKey = errors.New("sigv4: unknown access key")

// Kind classifies a verification failure. The edge maps each Kind to the
// error code of the request's protocol (see the package documentation).
type Kind uint8

// The kinds of verification failure.
const (
	// MissingAuth: the request carries neither an Authorization header nor
	// an X-Amz-Algorithm query parameter.
	MissingAuth Kind = iota + 1
	// IncompleteSignature: the Authorization header or the presigned query
	// parameters are malformed or incomplete, the algorithm is not
	// AWS4-HMAC-SHA256, or the request date is missing or malformed.
	IncompleteSignature
	// InvalidSignature: the signature does not match the request, or the
	// credential scope's date is not the request's date.
	InvalidSignature
	// UnknownClientToken: the access key is unknown, or the session token is
	// missing, unexpected or wrong.
	UnknownClientToken
	// ExpiredToken: the temporary credential has expired.
	ExpiredToken
	// RequestExpired: the request time is outside the allowed clock skew, or
	// a presigned request is past X-Amz-Date + X-Amz-Expires.
	RequestExpired
)

var kindNames = [...]string{
	MissingAuth:         "MissingAuth",
	IncompleteSignature: "IncompleteSignature",
	InvalidSignature:    "InvalidSignature",
	UnknownClientToken:  "UnknownClientToken",
	ExpiredToken:        "ExpiredToken",
	RequestExpired:      "RequestExpired",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Error is a verification failure.
type Error struct {
	Kind Kind
	// Message is what AWS says in this case; it is safe to send to the
	// client.
	Message string
	// Detail, set for signature mismatches, holds the canonical request and
	// string to sign the server computed (session tokens redacted). It is
	// for logs and debugging, not for the client.
	Detail string

	cause error
}

func (e *Error) Error() string { return "sigv4: " + e.Kind.String() + ": " + e.Message }

// Unwrap returns the error that caused e, if any (for example the
// CredentialSource's ErrUnknownAccessKey).
func (e *Error) Unwrap() error { return e.cause }

// KindOf reports the Kind of err if err is, or wraps, an *Error.
func KindOf(err error) (Kind, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind, true
	}
	return 0, false
}

func newError(k Kind, msg string) *Error { return &Error{Kind: k, Message: msg} }

func errorf(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, args...)}
}

// Messages AWS uses, word for word.
const (
	msgMissingAuth        = "Request is missing Authentication Token"
	msgSignatureMismatch  = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgInvalidToken       = "The security token included in the request is invalid."
	msgExpiredToken       = "The security token included in the request is expired"
	msgContentSHAMismatch = "The provided 'x-amz-content-sha256' header does not match what was computed."
	msgHostNotSigned      = "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
	msgBothAuth           = "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified"
	msgPresignParams      = "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters."
	msgPresignAlgorithm   = `X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"`
	msgPresignExpired     = "Request has expired"
	msgExpiresNumber      = "X-Amz-Expires should be a number"
	msgExpiresNegative    = "X-Amz-Expires must be non-negative"
	msgExpiresZero        = "X-Amz-Expires must be greater than 0"
	msgExpiresWeek        = "X-Amz-Expires must be less than a week (in seconds) that is 604800"
)
