// Package ecr is Wharf's Amazon ECR API (awsJson 1.1): the repository and
// authorization operations over the registry in package registry. The
// registry's /v2/ API and this API share one truth: the registry's
// metadata in the state store.
package ecr

import (
	"context"
	"encoding/base64"
	"errors"
	"time"

	"github.com/wharfhq/wharf/api/ecrapi"
	"github.com/wharfhq/wharf/internal/errs"
	"github.com/wharfhq/wharf/internal/principal"
	"github.com/wharfhq/wharf/internal/ptr"
	"github.com/wharfhq/wharf/internal/registry"
	"github.com/wharfhq/wharf/internal/sigv4"
	"github.com/wharfhq/wharf/internal/tenancy"
)

// ErrInvalidParameter: a request ECR would refuse with InvalidParameterException.
var ErrInvalidParameter = errors.New("ecr: invalid parameter")

// ErrImageDigestMismatch: PutImage's imageDigest is not the manifest's.
var ErrImageDigestMismatch = errors.New("ecr: image digest does not match")

// ErrImageAlreadyExists: PutImage of the manifest a tag already names.
var ErrImageAlreadyExists = errors.New("ecr: image already exists")

// ErrLayersNotFound: a layer the request names is not in the repository.
var ErrLayersNotFound = errors.New("ecr: layers not found")

// ErrorTable maps domain errors to ECR's error shapes.
var ErrorTable = errs.Table{
	{Kind: registry.ErrNameUnknown, Code: "RepositoryNotFoundException"},
	{Kind: ErrUploadNotFound, Code: "UploadNotFoundException"},
	{Kind: registry.ErrPolicyNotFound, Code: "RepositoryPolicyNotFoundException"},
	{Kind: registry.ErrPolicyInvalid, Code: "InvalidParameterException"},
	{Kind: ErrInvalidLayerPart, Code: "InvalidLayerPartException"},
	{Kind: ErrInvalidLayer, Code: "InvalidLayerException"},
	{Kind: registry.ErrImageNotFound, Code: "ImageNotFoundException"},
	{Kind: registry.ErrTagImmutable, Code: "ImageTagAlreadyExistsException"},
	{Kind: registry.ErrManifestBlobUnknown, Code: "LayersNotFoundException"},
	{Kind: ErrLayersNotFound, Code: "LayersNotFoundException"},
	{Kind: ErrImageDigestMismatch, Code: "ImageDigestDoesNotMatchException"},
	{Kind: ErrImageAlreadyExists, Code: "ImageAlreadyExistsException"},
	{Kind: registry.ErrManifestInvalid, Code: "InvalidParameterException"},
	{Kind: registry.ErrTagInvalid, Code: "InvalidParameterException"},
	{Kind: registry.ErrDigestInvalid, Code: "InvalidParameterException"},
	{Kind: registry.ErrTooLarge, Code: "InvalidParameterException"},
	{Kind: registry.ErrRepositoryExists, Code: "RepositoryAlreadyExistsException"},
	{Kind: registry.ErrRepositoryNotEmpty, Code: "RepositoryNotEmptyException"},
	{Kind: registry.ErrNameInvalid, Code: "InvalidParameterException"},
	{Kind: ErrInvalidParameter, Code: "InvalidParameterException"},
}

// Credentials resolves access keys; *iam.Service implements it. ECR uses
// it to bound a token by the expiry of temporary credentials.
type Credentials interface {
	LookupAccessKey(ctx context.Context, id string) (sigv4.Credential, error)
}

// Options configure a Service.
type Options struct {
	Registry    *registry.Service
	Credentials Credentials
	// PublicHost is host[:port] of repository URIs and the proxy endpoint.
	PublicHost string
	// Scheme of the proxy endpoint ("http" by default).
	Scheme string
}

// Service implements the ECR operations.
type Service struct {
	reg    *registry.Service
	creds  Credentials
	host   string
	scheme string
}

// New returns the ECR service.
func New(opts Options) *Service {
	if opts.Scheme == "" {
		opts.Scheme = "http"
	}
	return &Service{reg: opts.Registry, creds: opts.Credentials, host: opts.PublicHost, scheme: opts.Scheme}
}

// ResourceARN names the repository an operation acts on, for IAM (the
// edge's Resource hook).
func ResourceARN(ctx context.Context, op string, in map[string]any) string {
	if a, ok := in["resourceArn"].(string); ok && a != "" {
		return a
	}
	name, _ := in["repositoryName"].(string)
	if name == "" {
		return "*"
	}
	a, err := registry.RepositoryARN(ctx, name)
	if err != nil {
		return "*"
	}
	return a
}

// GetAuthorizationToken returns a registry password for the caller, valid
// 12 hours (less for temporary credentials that expire sooner).
func (s *Service) GetAuthorizationToken(ctx context.Context, in *ecrapi.GetAuthorizationTokenRequest) (*ecrapi.GetAuthorizationTokenResponse, error) {
	p := principal.From(ctx)
	if p == nil {
		return nil, errors.New("ecr: no principal")
	}
	var notAfter time.Time
	if p.Temporary && s.creds != nil {
		if c, err := s.creds.LookupAccessKey(ctx, p.AccessKeyID); err == nil {
			notAfter = c.Expiration
		}
	}
	pass, exp, err := s.reg.Tokens().Issue(ctx, p, notAfter)
	if err != nil {
		return nil, err
	}
	tok := base64.StdEncoding.EncodeToString([]byte("AWS:" + pass))
	data := ecrapi.AuthorizationData{AuthorizationToken: ptr.To(tok), ExpiresAt: ptr.To(exp), ProxyEndpoint: ptr.To(s.scheme + "://" + s.host)}
	out := &ecrapi.GetAuthorizationTokenResponse{}
	n := len(in.RegistryIds)
	if n == 0 {
		n = 1
	}
	for range n {
		out.AuthorizationData = append(out.AuthorizationData, data)
	}
	return out, nil
}

func (s *Service) repository(ctx context.Context, r registry.Repository) ecrapi.Repository {
	acct, _ := tenancy.Account(ctx)
	a, _ := registry.RepositoryARN(ctx, r.Name)
	out := ecrapi.Repository{
		CreatedAt:                  ptr.To(r.CreatedAt),
		ImageTagMutability:         ptr.To(r.TagMutability),
		RegistryId:                 ptr.To(acct),
		RepositoryArn:              ptr.To(a),
		RepositoryName:             ptr.To(r.Name),
		RepositoryUri:              ptr.To(s.host + "/" + r.Name),
		ImageScanningConfiguration: &ecrapi.ImageScanningConfiguration{ScanOnPush: ptr.To(r.ScanOnPush)},
		EncryptionConfiguration:    &ecrapi.EncryptionConfiguration{EncryptionType: ptr.To(r.EncryptionType)},
	}
	if r.KMSKey != "" {
		out.EncryptionConfiguration.KmsKey = ptr.To(r.KMSKey)
	}
	return out
}

func checkRegistryID(ctx context.Context, id *string) error {
	if id == nil {
		return nil
	}
	if acct, _ := tenancy.Account(ctx); *id != acct {
		return errs.New(ErrInvalidParameter, "Invalid parameter at 'registryId' failed to satisfy constraint: 'must be the account of the caller'")
	}
	return nil
}

// CreateRepository creates a repository.
func (s *Service) CreateRepository(ctx context.Context, in *ecrapi.CreateRepositoryRequest) (*ecrapi.CreateRepositoryResponse, error) {
	if err := checkRegistryID(ctx, in.RegistryId); err != nil {
		return nil, err
	}
	r := registry.Repository{Name: ptr.Value(in.RepositoryName), TagMutability: ptr.Value(in.ImageTagMutability)}
	if r.TagMutability != "" && r.TagMutability != registry.Mutable && r.TagMutability != registry.Immutable {
		return nil, errs.New(ErrInvalidParameter, "Invalid parameter at 'imageTagMutability': only MUTABLE and IMMUTABLE are supported")
	}
	if c := in.ImageScanningConfiguration; c != nil {
		r.ScanOnPush = ptr.Value(c.ScanOnPush)
	}
	if c := in.EncryptionConfiguration; c != nil {
		r.EncryptionType, r.KMSKey = ptr.Value(c.EncryptionType), ptr.Value(c.KmsKey)
	}
	if len(in.Tags) > 0 {
		r.Tags = map[string]string{}
		for _, t := range in.Tags {
			r.Tags[ptr.Value(t.Key)] = ptr.Value(t.Value)
		}
	}
	if !registry.ValidName(r.Name) {
		return nil, errs.New(ErrInvalidParameter, "Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must satisfy regular expression '(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*''")
	}
	r, err := s.reg.CreateRepository(ctx, r)
	if err != nil {
		return nil, s.notFound(ctx, err, r.Name)
	}
	repo := s.repository(ctx, r)
	return &ecrapi.CreateRepositoryResponse{Repository: &repo}, nil
}

// notFound rewrites a registry "name unknown" into ECR's message.
func (s *Service) notFound(ctx context.Context, err error, name string) error {
	if errors.Is(err, registry.ErrNameUnknown) {
		acct, _ := tenancy.Account(ctx)
		return errs.New(registry.ErrNameUnknown, "The repository with name '%s' does not exist in the registry with id '%s'", name, acct)
	}
	return err
}

// DescribeRepositories lists repositories, or the named ones.
func (s *Service) DescribeRepositories(ctx context.Context, in *ecrapi.DescribeRepositoriesRequest) (*ecrapi.DescribeRepositoriesResponse, error) {
	if err := checkRegistryID(ctx, in.RegistryId); err != nil {
		return nil, err
	}
	out := &ecrapi.DescribeRepositoriesResponse{Repositories: []ecrapi.Repository{}}
	if len(in.RepositoryNames) > 0 {
		if in.MaxResults != nil || in.NextToken != nil {
			return nil, errs.New(ErrInvalidParameter, "Invalid parameter: maxResults and nextToken cannot be used with repositoryNames")
		}
		for _, n := range in.RepositoryNames {
			r, err := s.reg.GetRepository(ctx, n)
			if err != nil {
				return nil, s.notFound(ctx, err, n)
			}
			out.Repositories = append(out.Repositories, s.repository(ctx, r))
		}
		return out, nil
	}
	limit := int(ptr.Value(in.MaxResults))
	if limit <= 0 {
		limit = 1000
	}
	after := ""
	if in.NextToken != nil {
		b, err := base64.RawURLEncoding.DecodeString(*in.NextToken)
		if err != nil {
			return nil, errs.New(ErrInvalidParameter, "Invalid parameter at 'nextToken'")
		}
		after = string(b)
	}
	rs, err := s.reg.ListRepositories(ctx, after, limit+1)
	if err != nil {
		return nil, err
	}
	if len(rs) > limit {
		rs = rs[:limit]
		out.NextToken = ptr.To(base64.RawURLEncoding.EncodeToString([]byte(rs[limit-1].Name)))
	}
	for _, r := range rs {
		out.Repositories = append(out.Repositories, s.repository(ctx, r))
	}
	return out, nil
}

// DeleteRepository deletes a repository (with its images when force).
func (s *Service) DeleteRepository(ctx context.Context, in *ecrapi.DeleteRepositoryRequest) (*ecrapi.DeleteRepositoryResponse, error) {
	if err := checkRegistryID(ctx, in.RegistryId); err != nil {
		return nil, err
	}
	name := ptr.Value(in.RepositoryName)
	r, err := s.reg.DeleteRepository(ctx, name, ptr.Value(in.Force))
	if err != nil {
		return nil, s.notFound(ctx, err, name)
	}
	repo := s.repository(ctx, r)
	return &ecrapi.DeleteRepositoryResponse{Repository: &repo}, nil
}
