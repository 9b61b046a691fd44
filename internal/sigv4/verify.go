package sigv4

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DefaultMaxSkew is the clock skew a Verifier allows when MaxSkew is zero.
const DefaultMaxSkew = 5 * time.Minute

// Verifier checks SigV4 signatures. Set its fields before first use and do
// not copy it afterwards; it is safe for concurrent use.
type Verifier struct {
	// Source looks up the secret of an access key. Required.
	Source CredentialSource
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// MaxSkew is how far the request time may be from Now, either way;
	// zero means DefaultMaxSkew.
	MaxSkew time.Duration

	keys keyCache
}

// Result describes a request whose signature verified.
type Result struct {
	// Credential is what Source returned for the access key, Subject
	// included.
	Credential Credential
	// Region and Service are the credential scope's; Service is the
	// signing name (for example "monitoring" for CloudWatch).
	Region, Service string
	// SigningTime is the request time the client signed (X-Amz-Date).
	SigningTime time.Time
	// Presigned is set when the signature came in the query string.
	Presigned bool
}

// CheckService returns an *Error when the credential scope names a service
// other than service, the signing name of the service being called.
func (r Result) CheckService(service string) error {
	if r.Service == service {
		return nil
	}
	return errorf(InvalidSignature, "Credential should be scoped to correct service: '%s'. ", service)
}

// Verify checks the SigV4 signature of r, whose body has already been read
// into body (the bytes as received, before any decompression). It returns an
// *Error when the request is not authentic, and another error only when the
// credential source fails.
func (v *Verifier) Verify(ctx context.Context, r *http.Request, body []byte) (Result, error) {
	if v.Source == nil {
		return Result{}, errors.New("sigv4: Verifier has no Source")
	}
	s := getScratch()
	defer putScratch(s)

	s.pairs = parseQuery(s.pairs[:0], r.URL.RawQuery)
	var in authInput
	var perr *Error
	authz := r.Header[hAuthorization]
	algo := hasQueryKey(s.pairs, qAlgorithm)
	switch {
	case len(authz) > 0 && algo:
		perr = newError(IncompleteSignature, msgBothAuth)
	case len(authz) > 0:
		in, perr = headerAuth(r, authz[0])
	case algo:
		in, perr = presignAuth(s.pairs)
	default:
		perr = newError(MissingAuth, msgMissingAuth)
	}
	if perr != nil {
		return Result{}, perr
	}
	if in.scopeDate != in.amzDate[:8] {
		return Result{}, errorf(InvalidSignature,
			"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.",
			in.scopeDate, in.amzDate[:8], in.amzDate)
	}
	if !signsHost(in.signedHeaders) {
		return Result{}, newError(IncompleteSignature, msgHostNotSigned)
	}
	now := v.now().UTC()
	if err := v.checkTime(&in, now); err != nil {
		return Result{}, err
	}

	cred, err := v.Source.LookupAccessKey(ctx, in.accessKeyID)
	if err != nil {
		if errors.Is(err, ErrUnknownAccessKey) {
			return Result{}, &Error{Kind: UnknownClientToken, Message: msgInvalidToken, cause: err}
		}
		return Result{}, fmt.Errorf("sigv4: look up access key: %w", err)
	}
	if !equalSecret(in.token, cred.SessionToken) {
		return Result{}, newError(UnknownClientToken, msgInvalidToken)
	}
	if !cred.Expiration.IsZero() && !now.Before(cred.Expiration) {
		return Result{}, newError(ExpiredToken, msgExpiredToken)
	}

	// The payload hash: the body's, unless the client declared another.
	var bodyHash [2 * sha256.Size]byte
	sum := sha256.Sum256(body)
	hex.Encode(bodyHash[:], sum[:])
	s.payload = append(s.payload[:0], bodyHash[:]...)
	declared := r.Header.Get(hContentSHA256)
	if in.presigned && declared == "" {
		declared = queryValue(s.pairs, qContentSHA256)
	}
	tryUnsigned := false
	switch {
	case in.presigned && declared == unsignedPayload:
		s.payload = append(s.payload[:0], unsignedPayload...)
	case isHexSHA256(declared):
		if !equalFoldHex(declared, &bodyHash) {
			return Result{}, newError(InvalidSignature, msgContentSHAMismatch)
		}
		s.payload = append(s.payload[:0], declared...)
	case in.presigned && declared == "":
		tryUnsigned = true
	}

	if !decodeHexSHA256(&s.want, in.signature) {
		return Result{}, v.mismatch(s, r, &in)
	}
	key := v.keys.signingKey(cred.SecretAccessKey, in.scopeDate, in.region, in.service)
	if !s.sign(r, &in, &key) {
		ok := false
		if tryUnsigned {
			s.payload = append(s.payload[:0], unsignedPayload...)
			ok = s.sign(r, &in, &key)
			s.payload = append(s.payload[:0], bodyHash[:]...)
		}
		if !ok {
			return Result{}, v.mismatch(s, r, &in)
		}
	}
	return Result{
		Credential:  cred,
		Region:      in.region,
		Service:     in.service,
		SigningTime: in.time,
		Presigned:   in.presigned,
	}, nil
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

func (v *Verifier) maxSkew() time.Duration {
	if v.MaxSkew > 0 {
		return v.MaxSkew
	}
	return DefaultMaxSkew
}

// checkTime refuses a request signed too far from now, or a presigned one
// past its expiry.
func (v *Verifier) checkTime(in *authInput, now time.Time) *Error {
	skew := v.maxSkew()
	if in.time.After(now.Add(skew)) {
		return errorf(RequestExpired, "Signature not yet current: %s is still later than %s (%s + %s)",
			in.amzDate, now.Add(skew).Format(isoBasicLayout), now.Format(isoBasicLayout), skewText(skew))
	}
	if in.presigned && in.expires > 0 {
		if now.After(in.time.Add(time.Duration(in.expires) * time.Second)) {
			return newError(RequestExpired, msgPresignExpired)
		}
		return nil
	}
	if in.time.Before(now.Add(-skew)) {
		return errorf(RequestExpired, "Signature expired: %s is now earlier than %s (%s - %s)",
			in.amzDate, now.Add(-skew).Format(isoBasicLayout), now.Format(isoBasicLayout), skewText(skew))
	}
	return nil
}

// skewText words a skew the way AWS's messages do ("5 min.").
func skewText(d time.Duration) string {
	if d%time.Minute == 0 {
		return strconv.FormatInt(int64(d/time.Minute), 10) + " min."
	}
	return strconv.FormatInt(int64(d/time.Second), 10) + " sec."
}

// sign builds the canonical request and string to sign with s.payload as the
// payload hash, signs it with key and reports whether the result equals the
// request's signature (already decoded into s.want).
func (s *scratch) sign(r *http.Request, in *authInput, key *[32]byte) bool {
	s.buildStringToSign(r, in)
	s.hmacSHA256(key, s.sts)
	return subtle.ConstantTimeCompare(s.mac[:], s.want[:]) == 1
}

// buildStringToSign fills s.canon with the canonical request and s.sts with
// the string to sign.
func (s *scratch) buildStringToSign(r *http.Request, in *authInput) {
	c := s.canon[:0]
	c = append(c, r.Method...)
	c = append(c, '\n')
	c = appendCanonicalURI(c, r)
	c = append(c, '\n')
	c = s.appendCanonicalQuery(c, s.pairs, in.presigned)
	c = append(c, '\n')
	c = s.appendCanonicalHeaders(c, r, in.signedHeaders)
	c = append(c, '\n')
	c = append(c, in.signedHeaders...)
	c = append(c, '\n')
	c = append(c, s.payload...)
	s.canon = c

	t := s.sts[:0]
	t = append(t, algorithm+"\n"...)
	t = append(t, in.amzDate...)
	t = append(t, '\n')
	t = append(t, in.scope...)
	t = append(t, '\n')
	t = appendHexSHA256(t, c)
	s.sts = t
}

// mismatch builds the InvalidSignature error, with the canonical request and
// string to sign in Detail.
func (v *Verifier) mismatch(s *scratch, r *http.Request, in *authInput) *Error {
	s.buildStringToSign(r, in)
	detail := "The Canonical String for this request should have been\n'" + string(s.canon) +
		"'\n\nThe String-to-Sign should have been\n'" + string(s.sts) + "'\n"
	if in.token != "" {
		detail = strings.ReplaceAll(detail, in.token, "<redacted>")
		if enc := string(appendURIEncode(nil, in.token, false)); enc != in.token {
			detail = strings.ReplaceAll(detail, enc, "<redacted>")
		}
	}
	return &Error{Kind: InvalidSignature, Message: msgSignatureMismatch, Detail: detail}
}

func signsHost(signedHeaders string) bool {
	for rest := signedHeaders; rest != ""; {
		var name string
		name, rest, _ = strings.Cut(rest, ";")
		if strings.EqualFold(name, "host") {
			return true
		}
	}
	return false
}

func hasQueryKey(pairs []queryPair, key string) bool {
	for _, p := range pairs {
		if p.key == key {
			return true
		}
	}
	return false
}

func queryValue(pairs []queryPair, key string) string {
	for _, p := range pairs {
		if p.key == key {
			return p.value
		}
	}
	return ""
}

// equalSecret compares a and b in time that depends only on their lengths.
func equalSecret(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	var d byte
	for i := 0; i < len(a); i++ {
		d |= a[i] ^ b[i]
	}
	return subtle.ConstantTimeByteEq(d, 0) == 1
}

// decodeHexSHA256 decodes a 64-digit hex string into dst.
func decodeHexSHA256(dst *[sha256.Size]byte, s string) bool {
	if len(s) != 2*sha256.Size {
		return false
	}
	for i := range dst {
		hi, ok1 := fromHex(s[2*i])
		lo, ok2 := fromHex(s[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

func fromHex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// equalFoldHex reports whether the hex digest s equals lowercase hex h,
// ignoring case.
func equalFoldHex(s string, h *[2 * sha256.Size]byte) bool {
	if len(s) != len(h) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'F' {
			c += 'a' - 'A'
		}
		if c != h[i] {
			return false
		}
	}
	return true
}

func isHexSHA256(s string) bool {
	if len(s) != 2*sha256.Size {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
