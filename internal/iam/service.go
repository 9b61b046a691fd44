package iam

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"math/big"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/wharfhq/wharf/api/iamapi"
	"github.com/wharfhq/wharf/internal/arn"
	"github.com/wharfhq/wharf/internal/errs"
	"github.com/wharfhq/wharf/internal/principal"
	"github.com/wharfhq/wharf/internal/ptr"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/tenancy"
)

// Options configure a Service.
type Options struct {
	// Now is the clock (default time.Now). Every time the service records
	// or compares comes from it.
	Now func() time.Time
	// Logger receives structured logs (default: discard).
	Logger *slog.Logger
	// CacheTTL bounds how long a cached access key or compiled policy set
	// is trusted without being re-read (default 5s). Writes made through
	// this Service invalidate the caches at once; the TTL only matters
	// for writes made by another process on the same store.
	CacheTTL time.Duration
}

// Service implements the IAM API of the tenant account found in the
// context, and the credential lookup and authorization the edge uses.
type Service struct {
	st  store.Store
	now func() time.Time
	log *slog.Logger
	ttl time.Duration

	// gen counts the writes to IAM entities made through this Service;
	// cached policy sets remember the generation they were built at.
	gen   atomic.Uint64
	keys  *keyCache
	authz *authzCache
}

// New returns a Service on st.
func New(st store.Store, opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.CacheTTL <= 0 {
		opts.CacheTTL = 5 * time.Second
	}
	return &Service{
		st:    st,
		now:   opts.Now,
		log:   opts.Logger,
		ttl:   opts.CacheTTL,
		keys:  newKeyCache(),
		authz: newAuthzCache(),
	}
}

// view runs fn in a read transaction with the account of ctx.
func (s *Service) view(ctx context.Context, fn func(tx store.Tx, acct string) error) error {
	acct, err := tenancy.Account(ctx)
	if err != nil {
		return err
	}
	return s.st.View(ctx, func(tx store.Tx) error { return fn(tx, acct) })
}

// update runs fn in a write transaction with the account of ctx and then
// invalidates the compiled policy sets built before it.
func (s *Service) update(ctx context.Context, fn func(tx store.Tx, acct string) error) error {
	acct, err := tenancy.Account(ctx)
	if err != nil {
		return err
	}
	err = s.st.Update(ctx, func(tx store.Tx) error { return fn(tx, acct) })
	s.gen.Add(1)
	return err
}

// stamp returns the current time at the second, as IAM reports times.
func (s *Service) stamp() time.Time { return s.now().UTC().Truncate(time.Second) }

// Identifiers. IAM unique IDs are a four-letter prefix that names the kind
// (AIDA user, AGPA group, AROA role, ANPA policy) and 17 characters of
// upper-case base32; access key IDs are AKIA (long-term) or ASIA
// (temporary) and 16 characters.

func newID(prefix string) string { return prefix + rand.Text()[:17] }

func newAccessKeyID(prefix string) string { return prefix + rand.Text()[:16] }

// newSecret returns a 40-character secret access key.
func newSecret() string {
	var b [30]byte
	_, _ = rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}

// newSessionToken returns an opaque session token.
func newSessionToken() string {
	var b [96]byte
	_, _ = rand.Read(b[:])
	return "IQoJb3JpZ2luX2Vj" + base64.StdEncoding.EncodeToString(b[:])
}

// newAccountID returns a random 12-digit account ID without a leading zero.
func newAccountID() string {
	n, _ := rand.Int(rand.Reader, big.NewInt(900_000_000_000))
	return n.Add(n, big.NewInt(100_000_000_000)).String()
}

// Policy documents arrive raw (SDKs) or URL-encoded (some tools encode
// them again), and IAM answers them URL-encoded (RFC 3986), which the CLI
// and SDKs decode.

// decodeDocument returns the JSON text of a policy document as sent.
func decodeDocument(doc string) (string, error) {
	t := strings.TrimSpace(doc)
	if strings.HasPrefix(t, "{") || !strings.Contains(t, "%") {
		return doc, nil
	}
	d, err := url.PathUnescape(t)
	if err != nil {
		return "", errs.New(ErrMalformedPolicyDocument, "Syntax errors in policy.")
	}
	return d, nil
}

// encodeDocument URL-encodes a policy document as IAM returns it: every
// byte outside RFC 3986's unreserved set is %XX.
func encodeDocument(doc string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(doc) * 2)
	for i := 0; i < len(doc); i++ {
		c := doc[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// Paths.

func pathOr(p *string) string {
	if p == nil || *p == "" {
		return "/"
	}
	return *p
}

func validPath(p string) error {
	if p == "/" {
		return nil
	}
	if len(p) < 2 || p[0] != '/' || p[len(p)-1] != '/' || strings.Contains(p, "//") || len(p) > 512 {
		return errs.New(ErrValidation, "The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters.")
	}
	for i := 0; i < len(p); i++ {
		if p[i] < 0x21 || p[i] > 0x7e {
			return errs.New(ErrValidation, "The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters.")
		}
	}
	return nil
}

// validName checks an IAM entity name (users, groups, roles, policies):
// [\w+=,.@-]+ of at most max characters.
func validName(what, name string, max int) error {
	if name == "" {
		return errs.New(ErrValidation, "The specified value for %s is invalid. It must not be empty.", what)
	}
	if len(name) > max {
		return errs.New(ErrValidation, "The specified value for %s is invalid. It must be at most %d characters long.", what, max)
	}
	for _, c := range name {
		ok := 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.ContainsRune("_+=,.@-", c)
		if !ok {
			return errs.New(ErrValidation, "The specified value for %s is invalid. It must contain only alphanumeric characters and/or the following: +=,.@_-", what)
		}
	}
	return nil
}

// callerUserName resolves the user a name-less user operation acts on: the
// calling IAM user, or root = true for the account root (whose identity and
// keys some of those operations serve too). Other callers must name a user.
func callerUserName(ctx context.Context) (name string, root bool, err error) {
	p := principal.From(ctx)
	switch {
	case p == nil:
		return "", false, errs.New(ErrValidation, "Must specify userName when calling with non-User credentials")
	case p.Kind == principal.Root:
		return "", true, nil
	case p.Kind == principal.User:
		return p.Name, false, nil
	}
	return "", false, errs.New(ErrValidation, "Must specify userName when calling with non-User credentials")
}

// Tags.

const maxTags = 50

func mergeTags(have []tag, add []iamapi.Tag, quotaName string) ([]tag, error) {
	out := append([]tag(nil), have...)
	for _, t := range add {
		k, v := ptr.Value(t.Key), ptr.Value(t.Value)
		if k == "" || len(k) > 128 || len(v) > 256 || strings.HasPrefix(strings.ToLower(k), "aws:") {
			return nil, errs.New(ErrInvalidInput, "The specified tag key or value is invalid.")
		}
		replaced := false
		for i := range out {
			if out[i].Key == k {
				out[i].Value, replaced = v, true
			}
		}
		if !replaced {
			out = append(out, tag{Key: k, Value: v})
		}
	}
	if len(out) > maxTags {
		return nil, quota(quotaName, maxTags)
	}
	return out, nil
}

func removeTags(have []tag, keys []string) []tag {
	out := have[:0:0]
	for _, t := range have {
		drop := false
		for _, k := range keys {
			if t.Key == k {
				drop = true
			}
		}
		if !drop {
			out = append(out, t)
		}
	}
	return out
}

func apiTags(ts []tag) []iamapi.Tag {
	if len(ts) == 0 {
		return nil
	}
	out := make([]iamapi.Tag, len(ts))
	for i, t := range ts {
		out[i] = iamapi.Tag{Key: ptr.To(t.Key), Value: ptr.To(t.Value)}
	}
	return out
}

func listTags(ts []tag, marker *string, max *int32) (*iamapi.ListUserTagsResponse, error) {
	ts = slices.Clone(ts)
	slices.SortFunc(ts, func(a, b tag) int { return strings.Compare(a.Key, b.Key) })
	items, trunc, next, err := paginate(ts, func(t tag) string { return t.Key }, marker, maxItems(max))
	if err != nil {
		return nil, err
	}
	out := &iamapi.ListUserTagsResponse{Tags: apiTags(items), IsTruncated: ptr.To(trunc)}
	if out.Tags == nil {
		out.Tags = []iamapi.Tag{}
	}
	if trunc {
		out.Marker = ptr.To(next)
	}
	return out, nil
}

// ARNs of the account's entities.

func userARN(acct string, u *userRec) string   { return arn.IAM(acct, "user", u.Path, u.Name) }
func groupARN(acct string, g *groupRec) string { return arn.IAM(acct, "group", g.Path, g.Name) }
func roleARN(acct string, r *roleRec) string   { return arn.IAM(acct, "role", r.Path, r.Name) }
func rootARN(acct string) string               { return arn.Build("iam", "", acct, "root") }
