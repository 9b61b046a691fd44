// Package sigv4 verifies AWS Signature Version 4 on incoming requests.
//
// It is the server half of SigV4: a [Verifier] takes an *http.Request as the
// net/http server parsed it plus the body bytes exactly as they arrived
// (before any Content-Encoding is undone: the signature covers the bytes on
// the wire), rebuilds the canonical request the client signed, and checks the
// signature with the secret that a [CredentialSource] returns for the access
// key. It runs no HTTP server and knows nothing of services or principals: the
// credential's Subject is passed through untouched in the [Result].
//
// Both ways of carrying a signature are accepted:
//
//   - header auth: Authorization: AWS4-HMAC-SHA256 Credential=…,
//     SignedHeaders=…, Signature=… with X-Amz-Date (or Date) and, for
//     temporary credentials, X-Amz-Security-Token;
//   - presigned query auth: X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date,
//     X-Amz-SignedHeaders, X-Amz-Signature, optional X-Amz-Expires
//     (1..604800; without it the request must fall within MaxSkew like a
//     header-signed one) and X-Amz-Security-Token.
//
// # Canonical request
//
// The canonical request is built as the AWS specification describes and as
// aws-sdk-go-v2's aws/signer/v4 builds it for every service but S3 (the
// signer clients use for the APIs Wharf serves):
//
//   - the URI is the path as sent (URL.EscapedPath), each byte outside the
//     RFC 3986 unreserved set encoded once more, '/' kept — so a client path
//     segment "a%20b" is canonicalised as "a%2520b". No dot-segment
//     normalisation is done (the non-S3 Go signer does none either);
//   - query parameters are decoded, re-encoded with RFC 3986 rules (space as
//     %20) and sorted by encoded name, then encoded value; for presigned
//     requests X-Amz-Signature is left out;
//   - each signed header is written as lowercase-name:value, values trimmed,
//     runs of spaces collapsed to one and repeated headers joined by ','.
//     "host" is r.Host; "content-length" falls back to r.ContentLength when
//     the header map lacks it. Header maps must use canonical keys, as
//     net/http's server and http.Header.Set produce;
//   - the payload hash is SHA-256 of body, computed here: the clients of
//     these APIs do not send x-amz-content-sha256. When a client does send a
//     hex digest it must match the body. A presigned request may declare
//     UNSIGNED-PAYLOAD (header or query X-Amz-Content-Sha256), and a presigned
//     request that declares nothing is accepted when signed over either the
//     body's hash or UNSIGNED-PAYLOAD (S3-style presigners use the latter).
//
// Derived signing keys are cached per secret, date, region and service in a
// small bounded cache, so the hot path is one SHA-256 of the body, one of the
// canonical request and one HMAC.
//
// # Errors
//
// Every verification failure is an *[Error] with a [Kind] and a Message in
// AWS's own words, which may be sent to the client as is. Any other error
// (the CredentialSource failing for a reason other than
// [ErrUnknownAccessKey], a cancelled context) is returned wrapped and should
// become an internal error.
//
// This package deliberately does not name AWS error codes: each protocol
// names the same failure differently, and that translation belongs to the
// edge, from one table. What AWS itself answers:
//
//	Kind                 awsJson / rpcv2Cbor (__type)          awsQuery (<Code>)            HTTP
//	MissingAuth          MissingAuthenticationTokenException   MissingAuthenticationToken   403
//	IncompleteSignature  IncompleteSignatureException          IncompleteSignature          400
//	InvalidSignature     InvalidSignatureException             SignatureDoesNotMatch        403
//	UnknownClientToken   UnrecognizedClientException           InvalidClientTokenId         403
//	ExpiredToken         ExpiredTokenException                 ExpiredToken                 403
//	RequestExpired       InvalidSignatureException             SignatureDoesNotMatch        403
//
// Notes for that table: AWS reports clock skew ("Signature expired: … is now
// earlier than …") under the signature-mismatch code, not RequestExpired, and
// aws-sdk-go-v2 only corrects its clock and retries when the code is one of
// InvalidSignatureException, SignatureDoesNotMatch, AuthFailure,
// RequestTimeTooSkewed or AccessDeniedException and the response carries a
// Date header — so answer RequestExpired with a signature-mismatch code and
// always send Date. JSON services word MissingAuth as "Missing
// Authentication Token"; query services as Message here says.
//
// The Verifier does not check that the credential scope names the service
// that is being called; compare [Result.Service] with the signing name of the
// service the request was routed to ([Result.CheckService] gives AWS's error).
package sigv4
