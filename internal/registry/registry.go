// Package registry is Wharf's container registry: the OCI Distribution 1.1
// HTTP API under /v2/ and the repository metadata behind it.
//
// Blob bytes (layers, configs and the manifests themselves) live in a
// content-addressed blobstore.Store. Everything else — repositories, which
// manifests a repository holds, tags, which blobs a repository may serve,
// which blobs each manifest references, referrers, upload sessions — is
// metadata in the state store, in Regional tables scoped to the account and
// region of the caller's ECR token. The garbage collector (to come) decides
// from that metadata alone which blobs are unreferenced.
//
// Callers authenticate with the password of an ECR authorization token
// (HTTP Basic, user AWS; see Tokens) and are authorized by IAM with ECR's
// actions on the repository's ARN.
package registry

import (
	"context"
	"log/slog"
	"time"

	"github.com/wharfhq/wharf/internal/blobstore"
	"github.com/wharfhq/wharf/internal/principal"
	"github.com/wharfhq/wharf/internal/sigv4"
	"github.com/wharfhq/wharf/internal/store"
)

// Authorizer decides whether a principal may perform an action on a
// resource. *iam.Service implements it.
type Authorizer interface {
	Authorize(ctx context.Context, p *principal.Principal, action, resource string, conditions map[string][]string) error
}

// Credentials resolves an access key to its principal. *iam.Service
// implements it (cached, so the registry's hot path does not hit the store).
type Credentials interface {
	LookupAccessKey(ctx context.Context, id string) (sigv4.Credential, error)
}

// Options configure a Service.
type Options struct {
	Store       store.Store
	Blobs       blobstore.Store
	Authorizer  Authorizer
	Credentials Credentials
	// Realm is the realm of the WWW-Authenticate challenge (the public host).
	Realm  string
	Now    func() time.Time
	Logger *slog.Logger
	// SparseManifests accepts image manifests whose config or layers are
	// not (yet) in the repository, as the conformance suite's
	// OCI_DATA_SPARSE data expects. Off by default: a manifest must
	// reference blobs the repository holds (MANIFEST_BLOB_UNKNOWN), so a
	// pulled image is always complete.
	SparseManifests bool
	// Anonymous is the tenant anonymous requests act in (the server's
	// account and region); empty disables anonymous access. Anonymous
	// callers may pull only from repositories whose policy allows
	// Principal "*".
	Anonymous Tenant
	// MaxManifestSize bounds manifest bodies (default 4 MiB, what the spec
	// asks registries to accept at least).
	MaxManifestSize int64
	// CacheTTL bounds how long a manifest GET or HEAD may be answered from
	// memory (see metacache.go): exact for this process's own writes, it
	// is how stale another replica's writes may look. 0 means
	// DefaultCacheTTL; negative turns the cache off.
	CacheTTL time.Duration
}

// Service is the registry.
type Service struct {
	st       store.Store
	blobs    blobstore.Store
	authz    Authorizer
	creds    Credentials
	tokens   *Tokens
	realm    string
	now      func() time.Time
	log      *slog.Logger
	maxMan   int64
	sparse   bool
	locks    stripes // see gc.go
	anon     Tenant
	policies policyCache
	meta     metaCache

	// gcBeforeDelete, when set (tests), is called before the collector
	// checks its lease and deletes blob d.
	gcBeforeDelete func(d blobstore.Digest)
}

// Tenant is an account and region.
type Tenant struct {
	Account string
	Region  string
}

// New returns a registry service.
func New(opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxManifestSize == 0 {
		opts.MaxManifestSize = 4 << 20
	}
	if opts.Realm == "" {
		opts.Realm = "wharf"
	}
	if opts.CacheTTL == 0 {
		opts.CacheTTL = DefaultCacheTTL
	}
	return &Service{st: opts.Store, blobs: opts.Blobs, authz: opts.Authorizer, creds: opts.Credentials,
		tokens: NewTokens(opts.Store, opts.Now), realm: opts.Realm, now: opts.Now, log: opts.Logger, maxMan: opts.MaxManifestSize, sparse: opts.SparseManifests, anon: opts.Anonymous,
		meta: metaCache{ttl: opts.CacheTTL}}
}

// Tokens is the issuer and verifier of registry passwords.
func (s *Service) Tokens() *Tokens { return s.tokens }
