package sigv4

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

const (
	algorithm       = "AWS4-HMAC-SHA256"
	terminator      = "aws4_request"
	unsignedPayload = "UNSIGNED-PAYLOAD"
	maxExpires      = 604800 // seven days, in seconds
)

// Query parameter names of presigned requests.
const (
	qAlgorithm     = "X-Amz-Algorithm"
	qCredential    = "X-Amz-Credential"
	qDate          = "X-Amz-Date"
	qExpires       = "X-Amz-Expires"
	qSignedHeaders = "X-Amz-SignedHeaders"
	qSignature     = "X-Amz-Signature"
	qSecurityToken = "X-Amz-Security-Token"
	qContentSHA256 = "X-Amz-Content-Sha256"
)

// Header names, in net/http's canonical form.
const (
	hAuthorization = "Authorization"
	hAmzDate       = "X-Amz-Date"
	hDate          = "Date"
	hSecurityToken = "X-Amz-Security-Token"
	hContentSHA256 = "X-Amz-Content-Sha256"
)

// authInput is what a request says about its own signature, before any of it
// is checked against a credential.
type authInput struct {
	presigned     bool
	credential    string // keyid/date/region/service/aws4_request
	accessKeyID   string
	scope         string // date/region/service/aws4_request
	scopeDate     string
	region        string
	service       string
	signedHeaders string // as sent: "host;x-amz-date"
	signature     string
	amzDate       string // request time in ISO 8601 basic format, as signed
	time          time.Time
	expires       int64  // presigned X-Amz-Expires in seconds; 0 when absent
	token         string // session token on the request, "" when none
}

// parseAuthorization splits an Authorization header value into its scheme
// and the Credential, SignedHeaders and Signature parameters. AWS reads the
// parameters whatever the scheme, ignores unknown ones and refuses a part
// without '='; so does this.
func parseAuthorization(h string) (scheme, cred, signedHeaders, sig string, err *Error) {
	scheme, rest, _ := strings.Cut(h, " ")
	for rest != "" {
		var part string
		part, rest, _ = strings.Cut(rest, ",")
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return "", "", "", "", errorf(IncompleteSignature,
				"'%s' not a valid key=value pair (missing equal-sign) in Authorization header: '%s'.", part, h)
		}
		switch k {
		case "Credential":
			if cred == "" {
				cred = v
			}
		case "SignedHeaders":
			if signedHeaders == "" {
				signedHeaders = v
			}
		case "Signature":
			if sig == "" {
				sig = v
			}
		}
	}
	return scheme, cred, signedHeaders, sig, nil
}

// headerAuth reads header-based SigV4 from r, whose Authorization header is
// authz.
func headerAuth(r *http.Request, authz string) (authInput, *Error) {
	scheme, cred, signedHeaders, sig, err := parseAuthorization(authz)
	if err != nil {
		return authInput{}, err
	}
	amzDate, fromDateHeader := r.Header.Get(hAmzDate), false
	if amzDate == "" {
		amzDate, fromDateHeader = r.Header.Get(hDate), true
	}
	if cred == "" || signedHeaders == "" || sig == "" || amzDate == "" {
		var b strings.Builder
		if cred == "" {
			b.WriteString("Authorization header requires 'Credential' parameter. ")
		}
		if sig == "" {
			b.WriteString("Authorization header requires 'Signature' parameter. ")
		}
		if signedHeaders == "" {
			b.WriteString("Authorization header requires 'SignedHeaders' parameter. ")
		}
		if amzDate == "" {
			b.WriteString("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ")
		}
		b.WriteString("Authorization=")
		b.WriteString(authz)
		return authInput{}, newError(IncompleteSignature, b.String())
	}
	if scheme != algorithm {
		return authInput{}, errorf(IncompleteSignature, "Unsupported AWS 'algorithm': '%s'", scheme)
	}
	in := authInput{signedHeaders: signedHeaders, signature: sig, token: r.Header.Get(hSecurityToken)}
	if err := in.setCredential(cred); err != nil {
		return authInput{}, err
	}
	t, ok := parseISOBasic(amzDate)
	if !ok && fromDateHeader {
		if ht, herr := http.ParseTime(amzDate); herr == nil {
			t, ok = ht.UTC(), true
			amzDate = t.Format(isoBasicLayout)
		}
	}
	if !ok {
		return authInput{}, errBadDate(amzDate)
	}
	in.amzDate, in.time = amzDate, t
	return in, nil
}

// presignAuth reads query-string SigV4 from the decoded query parameters.
func presignAuth(q []queryPair) (authInput, *Error) {
	var alg, cred, date, expires, signedHeaders, sig, token string
	var hasExpires bool
	for _, p := range q {
		switch p.key {
		case qAlgorithm:
			alg = firstOf(alg, p.value)
		case qCredential:
			cred = firstOf(cred, p.value)
		case qDate:
			date = firstOf(date, p.value)
		case qExpires:
			if !hasExpires {
				expires, hasExpires = p.value, true
			}
		case qSignedHeaders:
			signedHeaders = firstOf(signedHeaders, p.value)
		case qSignature:
			sig = firstOf(sig, p.value)
		case qSecurityToken:
			token = firstOf(token, p.value)
		}
	}
	if alg != algorithm {
		return authInput{}, newError(IncompleteSignature, msgPresignAlgorithm)
	}
	if cred == "" || date == "" || signedHeaders == "" || sig == "" {
		return authInput{}, newError(IncompleteSignature, msgPresignParams)
	}
	in := authInput{presigned: true, signedHeaders: signedHeaders, signature: sig, token: token}
	if hasExpires {
		n, err := strconv.ParseInt(expires, 10, 64)
		switch {
		case err != nil && !isAllDigits(expires):
			return authInput{}, newError(IncompleteSignature, msgExpiresNumber)
		case err != nil || n > maxExpires:
			return authInput{}, newError(IncompleteSignature, msgExpiresWeek)
		case n < 0:
			return authInput{}, newError(IncompleteSignature, msgExpiresNegative)
		case n == 0:
			return authInput{}, newError(IncompleteSignature, msgExpiresZero)
		}
		in.expires = n
	}
	if err := in.setCredential(cred); err != nil {
		return authInput{}, err
	}
	t, ok := parseISOBasic(date)
	if !ok {
		return authInput{}, errBadDate(date)
	}
	in.amzDate, in.time = date, t
	return in, nil
}

func firstOf(have, v string) string {
	if have != "" {
		return have
	}
	return v
}

func isAllDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// setCredential parses keyid/date/region/service/aws4_request.
func (in *authInput) setCredential(cred string) *Error {
	var parts [5]string
	rest, n := cred, 0
	for n < len(parts) {
		i := strings.IndexByte(rest, '/')
		if i < 0 {
			parts[n] = rest
			n++
			rest = ""
			break
		}
		parts[n] = rest[:i]
		rest = rest[i+1:]
		n++
	}
	if n != len(parts) || rest != "" || strings.HasSuffix(cred, "/") {
		return errorf(IncompleteSignature,
			"Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '%s'", cred)
	}
	if parts[4] != terminator {
		return errorf(IncompleteSignature,
			"Credential should be scoped with a valid terminator: 'aws4_request', not '%s'.", parts[4])
	}
	if parts[2] == "" {
		return errorf(IncompleteSignature, "Credential should be scoped to a valid region, not '%s'. ", parts[2])
	}
	if parts[3] == "" {
		return errorf(IncompleteSignature, "Credential should be scoped to a valid service, not '%s'. ", parts[3])
	}
	in.credential = cred
	in.accessKeyID = parts[0]
	in.scope = cred[len(parts[0])+1:]
	in.scopeDate, in.region, in.service = parts[1], parts[2], parts[3]
	return nil
}

func errBadDate(s string) *Error {
	return errorf(IncompleteSignature,
		"Date must be in ISO-8601 'basic format'. Got '%s'. See http://en.wikipedia.org/wiki/ISO_8601", s)
}

const isoBasicLayout = "20060102T150405Z"

// parseISOBasic parses exactly YYYYMMDDTHHMMSSZ, refusing out-of-range fields.
func parseISOBasic(s string) (time.Time, bool) {
	if len(s) != len(isoBasicLayout) || s[8] != 'T' || s[15] != 'Z' {
		return time.Time{}, false
	}
	num := func(i, n int) (int, bool) {
		v := 0
		for _, c := range []byte(s[i : i+n]) {
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		return v, true
	}
	year, ok1 := num(0, 4)
	month, ok2 := num(4, 2)
	day, ok3 := num(6, 2)
	hour, ok4 := num(9, 2)
	minute, ok5 := num(11, 2)
	sec, ok6 := num(13, 2)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) ||
		month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, 0, time.UTC)
	if t.Day() != day { // 31 February and the like
		return time.Time{}, false
	}
	return t, true
}
