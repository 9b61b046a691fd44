package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/wharfhq/wharf/internal/arn"
	"github.com/wharfhq/wharf/internal/errs"
	"github.com/wharfhq/wharf/internal/store"
)

// Tables (all Regional: account and region come from the context). Layout
// version 1; keys join parts with "@" (see key).
//
//	registry_repositories  NAME                        → Repository
//	registry_manifests     NAME@DIGEST                 → manifestRec
//	registry_tags          NAME@TAG                    → tagRec
//	registry_blob_links    DIGEST@NAME                 → linkRec: NAME may serve the blob
//	registry_blob_refs     BLOB@NAME@MANIFEST          → {}: MANIFEST references BLOB (for GC)
//	registry_referrers     NAME@SUBJECT@REFERRER       → Descriptor of the referrer
//	registry_uploads       UPLOAD-ID                   → uploadRec (System: the id is a
//	                                                     random UUID; the record names the tenant)
//
// A manifest's record also carries its last pull time (lastPulledAt, an
// optional field: records without it read as never pulled, so layout
// version 1 needs no migration). Pulls rewrite the record at most once
// per PullTimeInterval (see pulls.go).
//
// Blob links are keyed digest first so that "does any repository of this
// account hold the blob" (mount without from, GC) is one prefix scan.
var (
	tblRepos     = store.Table{Name: "registry_repositories", Scope: store.Regional}
	tblManifests = store.Table{Name: "registry_manifests", Scope: store.Regional}
	tblTags      = store.Table{Name: "registry_tags", Scope: store.Regional}
	tblLinks     = store.Table{Name: "registry_blob_links", Scope: store.Regional}
	tblRefs      = store.Table{Name: "registry_blob_refs", Scope: store.Regional}
	tblReferrers = store.Table{Name: "registry_referrers", Scope: store.Regional}
	tblUploads   = store.Table{Name: "registry_uploads", Scope: store.System}
)

// Tag mutability settings.
const (
	Mutable   = "MUTABLE"
	Immutable = "IMMUTABLE"
)

// Repository is a repository's settings.
type Repository struct {
	Name           string            `json:"name"`
	CreatedAt      time.Time         `json:"createdAt"`
	TagMutability  string            `json:"tagMutability,omitempty"`
	ScanOnPush     bool              `json:"scanOnPush,omitempty"`
	EncryptionType string            `json:"encryptionType,omitempty"`
	KMSKey         string            `json:"kmsKey,omitempty"`
	Tags           map[string]string `json:"tags,omitempty"`   // resource tags
	Policy         string            `json:"policy,omitempty"` // repository policy (JSON)
}

// RepositoryARN returns the ARN of repository name in the tenant of ctx.
func RepositoryARN(ctx context.Context, name string) (string, error) {
	return arn.Regional(ctx, "ecr", "repository/"+name)
}

type manifestRec struct {
	Digest       string            `json:"digest"`
	MediaType    string            `json:"mediaType"`
	Size         int64             `json:"size"`
	ArtifactType string            `json:"artifactType,omitempty"`
	Subject      string            `json:"subject,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	Blobs        []string          `json:"blobs,omitempty"`     // config and layers
	Manifests    []string          `json:"manifests,omitempty"` // an index's children
	ImageSize    int64             `json:"imageSize,omitempty"` // sum of the config's and layers' sizes
	PushedAt     time.Time         `json:"pushedAt"`
	// LastPulledAt is when the manifest was last pulled (ECR's
	// lastRecordedPullTime), recorded at most every PullTimeInterval; zero
	// (absent in records written before it existed) means never.
	LastPulledAt time.Time `json:"lastPulledAt,omitzero"`
}

type tagRec struct {
	Digest    string    `json:"digest"`
	UpdatedAt time.Time `json:"updatedAt"`
}

type linkRec struct {
	Size     int64     `json:"size"`
	LinkedAt time.Time `json:"linkedAt"`
}

type uploadRec struct {
	Account    string    `json:"account"`
	Region     string    `json:"region"`
	Repository string    `json:"repository"`
	StartedAt  time.Time `json:"startedAt"`
}

func getJSON(tx store.Tx, t store.Table, k string, v any) (int64, error) {
	it, err := tx.Get(t, k)
	if err != nil {
		return 0, err
	}
	return it.Revision, json.Unmarshal(it.Value, v)
}

func putJSON(tx store.Tx, t store.Table, k string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = tx.Put(t, k, b)
	return err
}

// CreateRepository creates a repository in the tenant of ctx. The ECR API
// calls it; tests call it directly.
func (s *Service) CreateRepository(ctx context.Context, r Repository) (Repository, error) {
	if !ValidName(r.Name) {
		return Repository{}, errs.New(ErrNameInvalid, "Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must satisfy regular expression '(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*''")
	}
	if r.TagMutability == "" {
		r.TagMutability = Mutable
	}
	if r.EncryptionType == "" {
		r.EncryptionType = "AES256"
	}
	r.CreatedAt = s.now().UTC().Truncate(time.Millisecond)
	b, _ := json.Marshal(r)
	err := s.update(ctx, r.Name, func(tx store.Tx) error {
		if err := repoTenants.Remember(ctx, tx); err != nil {
			return err
		}
		_, err := tx.PutIf(tblRepos, r.Name, b, 0)
		return err
	})
	if errors.Is(err, store.ErrConflict) {
		return Repository{}, errs.New(ErrRepositoryExists, "The repository with name '%s' already exists in the registry", r.Name)
	}
	if err != nil {
		return Repository{}, fmt.Errorf("registry: create repository: %w", err)
	}
	return r, nil
}

// GetRepository returns a repository, or an error wrapping ErrNameUnknown.
func (s *Service) GetRepository(ctx context.Context, name string) (Repository, error) {
	var r Repository
	err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		r, err = getRepo(tx, name)
		return err
	})
	return r, err
}

func getRepo(tx store.Tx, name string) (Repository, error) {
	var r Repository
	_, err := getJSON(tx, tblRepos, name, &r)
	if errors.Is(err, store.ErrNotFound) {
		return r, errs.New(ErrNameUnknown, "repository name not known to registry: %s", name)
	}
	return r, err
}

// ListRepositories returns up to limit repositories whose names sort after
// `after`, in name order.
func (s *Service) ListRepositories(ctx context.Context, after string, limit int) ([]Repository, error) {
	var out []Repository
	err := s.st.View(ctx, func(tx store.Tx) error {
		items, err := tx.Scan(tblRepos, "", after, limit)
		if err != nil {
			return err
		}
		for _, it := range items {
			var r Repository
			if err := json.Unmarshal(it.Value, &r); err != nil {
				return err
			}
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

// DeleteRepository removes a repository. Unless force, a repository that
// holds images is refused (ErrRepositoryNotEmpty). Its blobs become
// unreferenced, for the garbage collector.
func (s *Service) DeleteRepository(ctx context.Context, name string, force bool) (Repository, error) {
	var r Repository
	err := s.update(ctx, name, func(tx store.Tx) error {
		var err error
		if r, err = getRepo(tx, name); err != nil {
			return err
		}
		n, err := tx.Count(tblManifests, key(name, ""))
		if err != nil {
			return err
		}
		if n > 0 && !force {
			return errs.New(ErrRepositoryNotEmpty, "The repository with name '%s' in registry cannot be deleted because it still contains images", name)
		}
		if err := tx.Delete(tblRepos, name); err != nil {
			return err
		}
		if err := delRepoUsers(ctx, tx, name); err != nil {
			return err
		}
		s.forgetPolicy(ctx, name)
		for _, t := range []store.Table{tblManifests, tblTags, tblReferrers} {
			if _, err := tx.DeleteRange(t, key(name, ""), name+"A"); err != nil { // "A" sorts right after "@"
				return err
			}
		}
		// Links and references are keyed digest first: sweep them.
		for _, t := range []store.Table{tblLinks, tblRefs} {
			items, err := tx.Scan(t, "", "", 0)
			if err != nil {
				return err
			}
			for _, it := range items {
				if repoOfLinkKey(it.Key) == name {
					if err := tx.Delete(t, it.Key); err != nil {
						return err
					}
				}
			}
		}
		return nil
	})
	return r, err
}

// repoOfLinkKey returns the repository of DIGEST@NAME or BLOB@NAME@MANIFEST.
func repoOfLinkKey(k string) string {
	parts := splitKey(k)
	if len(parts) < 2 {
		return ""
	}
	return parts[1]
}

func splitKey(k string) []string {
	var out []string
	start := 0
	for i := 0; i < len(k); i++ {
		if k[i] == '@' {
			out = append(out, k[start:i])
			start = i + 1
		}
	}
	return append(out, k[start:])
}
