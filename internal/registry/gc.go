package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"sort"
	"sync"
	"time"

	"github.com/wharfhq/wharf/internal/blobstore"
	"github.com/wharfhq/wharf/internal/errs"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/tenancy"
)

// Garbage collection.
//
// Blobs are shared by every repository of every tenant, so what keeps a
// blob alive is recorded in one System table, written in the same
// transaction as the Regional rows it mirrors:
//
//	registry_blob_users  DIGEST@ACCOUNT@REGION@NAME@link              a repository may serve the blob
//	                     DIGEST@ACCOUNT@REGION@NAME@manifest          the blob is a manifest's bytes
//	                     DIGEST@ACCOUNT@REGION@NAME@ref@MANIFEST      a manifest references the blob
//
// A blob with no key under "DIGEST@" is garbage once it is older than the
// grace period. Upload sessions are not blobs until committed, so GC never
// touches a blob being written.
//
// Races, in one process: making a blob used (link, manifest) and deleting
// it both happen under the blob's stripe lock, and the user re-checks
// under the lock that the blob is stored before committing its row, so GC
// cannot delete a blob between that check and the commit. Putting a blob
// that is already stored refreshes its modification time (blobstore/fs),
// so a re-pushed orphan is inside the grace period again. Manifests
// referencing blobs need no lock: their transaction requires the blob's
// link row, which GC's "no users" check would have seen.
//
// Several replicas: GCLoop collects only while it holds the store lease
// GCLeaseName, and every transaction of a leased collection checks the
// lease (store.CheckLease), so a collector that lost it stops at its next
// write. A push on another replica and a collection of the same blob meet
// in the store through a collection mark (gccollecting.go); the stripe
// locks order them within a process.
var tblBlobUsers = store.Table{Name: "registry_blob_users", Scope: store.System}

func userKey(ctx context.Context, digest, name, kind string, extra ...string) (string, error) {
	acct, err := tenancy.Account(ctx)
	if err != nil {
		return "", err
	}
	region, err := tenancy.Region(ctx)
	if err != nil {
		return "", err
	}
	return key(append([]string{digest, acct, region, name, kind}, extra...)...), nil
}

func addUser(ctx context.Context, tx store.Tx, digest, name, kind string, extra ...string) error {
	return putUser(ctx, tx, []byte("{}"), digest, name, kind, extra...)
}

// userRec is the value of a link user: when the link was made. A link
// keeps its blob only for the grace period unless a manifest references
// the blob (then a ref user keeps it): uploaded layers no image uses are
// garbage, as on ECR.
type userRec struct {
	At time.Time `json:"at,omitzero"`
}

func putUser(ctx context.Context, tx store.Tx, value []byte, digest, name, kind string, extra ...string) error {
	k, err := userKey(ctx, digest, name, kind, extra...)
	if err != nil {
		return err
	}
	if kind == "link" || kind == "manifest" {
		if err := refuseCollecting(tx, digest); err != nil {
			return err
		}
	}
	_, err = tx.Put(tblBlobUsers, k, value)
	return err
}

func delUser(ctx context.Context, tx store.Tx, digest, name, kind string, extra ...string) error {
	k, err := userKey(ctx, digest, name, kind, extra...)
	if err != nil {
		return err
	}
	if err := tx.Delete(tblBlobUsers, k); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return nil
}

// delRepoUsers removes every user row of repository name of the tenant of ctx.
func delRepoUsers(ctx context.Context, tx store.Tx, name string) error {
	acct, err := tenancy.Account(ctx)
	if err != nil {
		return err
	}
	region, err := tenancy.Region(ctx)
	if err != nil {
		return err
	}
	items, err := tx.Scan(tblBlobUsers, "", "", 0)
	if err != nil {
		return err
	}
	for _, it := range items {
		p := splitKey(it.Key)
		if len(p) >= 5 && p[1] == acct && p[2] == region && p[3] == name {
			if err := tx.Delete(tblBlobUsers, it.Key); err != nil {
				return err
			}
		}
	}
	return nil
}

// stripes serialise GC and new users of the same blob.
type stripes [64]sync.Mutex

func (s *stripes) index(d string) int {
	h := fnv.New32a()
	h.Write([]byte(d))
	return int(h.Sum32() % uint32(len(s)))
}

// lock locks the stripes of digests (in index order) and returns the unlock.
func (s *stripes) lock(digests ...string) func() {
	idx := make([]int, 0, len(digests))
	seen := map[int]bool{}
	for _, d := range digests {
		if i := s.index(d); !seen[i] {
			seen[i] = true
			idx = append(idx, i)
		}
	}
	sort.Ints(idx)
	for _, i := range idx {
		s[i].Lock()
	}
	return func() {
		for j := len(idx) - 1; j >= 0; j-- {
			s[idx[j]].Unlock()
		}
	}
}

// errBlobVanished: a blob collected between its upload and its first use.
var errBlobVanished = errors.New("blob was garbage collected during the upload; push it again")

// stored checks, under the blob's stripe lock, that d is still stored.
func (s *Service) stored(ctx context.Context, d blobstore.Digest) error {
	_, err := s.blobs.Stat(ctx, d)
	if errors.Is(err, blobstore.ErrNotFound) {
		return errs.New(ErrBlobUploadInvalid, "%v: %s", errBlobVanished, d)
	}
	return err
}

// GCReport says what a collection did.
type GCReport struct {
	Scanned   int // blobs looked at
	Young     int // inside the grace period
	InUse     int
	Deleted   int
	Reclaimed int64 // bytes
}

// CollectGarbage deletes every stored blob that nothing uses and that is
// older than grace at now. It runs online, beside pushes and pulls.
func (s *Service) CollectGarbage(ctx context.Context, now time.Time, grace time.Duration) (GCReport, error) {
	return s.collectGarbage(ctx, now, grace, nil)
}

// gcFence lets a leased collection prove in its transactions that it still
// holds the lease, and keep the lease while it runs.
type gcFence interface {
	// check fails (store.ErrLeaseLost) once the lease is no longer held.
	check(tx store.Tx) error
	// keep renews the lease when it runs low; it fails once it is lost.
	keep(ctx context.Context) error
}

func (s *Service) collectGarbage(ctx context.Context, now time.Time, grace time.Duration, fence gcFence) (GCReport, error) {
	var rep GCReport
	if _, err := s.finishCollecting(ctx, fence); err != nil {
		return rep, fmt.Errorf("registry: gc: finishing marked blobs: %w", err)
	}
	var candidates []blobstore.Info
	err := s.blobs.Walk(ctx, func(i blobstore.Info) error {
		rep.Scanned++
		if now.Sub(i.ModTime) < grace {
			rep.Young++
			return nil
		}
		candidates = append(candidates, i)
		return nil
	})
	if err != nil {
		return rep, err
	}
	for _, c := range candidates {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		if fence != nil {
			if err := fence.keep(ctx); err != nil {
				return rep, fmt.Errorf("registry: gc: %w", err)
			}
		}
		deleted, err := s.collect(ctx, c.Digest, now, grace, fence)
		if err != nil {
			return rep, fmt.Errorf("registry: gc %s: %w", c.Digest, err)
		}
		if deleted {
			rep.Deleted++
			rep.Reclaimed += c.Size
		} else {
			rep.InUse++
		}
	}
	return rep, nil
}

// errInUse stops a collection that found a user.
var errInUse = errors.New("blob in use")

// staleLinks returns the link users of d older than grace, or errInUse if
// anything else (a manifest, a ref, a young link) uses d.
func staleLinks(tx store.Tx, d blobstore.Digest, now time.Time, grace time.Duration) ([]string, error) {
	items, err := tx.Scan(tblBlobUsers, key(string(d), ""), "", 0)
	if err != nil {
		return nil, err
	}
	var stale []string
	for _, it := range items {
		p := splitKey(it.Key)
		if len(p) != 5 || p[4] != "link" {
			return nil, errInUse
		}
		var u userRec
		if json.Unmarshal(it.Value, &u) != nil || u.At.IsZero() || now.Sub(u.At) < grace {
			return nil, errInUse
		}
		stale = append(stale, it.Key)
	}
	return stale, nil
}

// collect deletes d if nothing uses it: its stale links go first, tenant
// by tenant, each transaction re-checking that no user appeared; the blob
// last. The stripe lock keeps new links out meanwhile; a new manifest
// needs a link, so none can appear once they are gone.
func (s *Service) collect(ctx context.Context, d blobstore.Digest, now time.Time, grace time.Duration, fence gcFence) (bool, error) {
	unlock := s.locks.lock(string(d))
	defer unlock()
	info, err := s.blobs.Stat(ctx, d)
	if errors.Is(err, blobstore.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if now.Sub(info.ModTime) < grace {
		return false, nil // re-pushed meanwhile
	}
	for {
		var stale []string
		err := s.st.View(ctx, func(tx store.Tx) error {
			var err error
			stale, err = staleLinks(tx, d, now, grace)
			return err
		})
		if errors.Is(err, errInUse) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if len(stale) == 0 {
			break
		}
		p := splitKey(stale[0])
		tctx := tenancy.With(ctx, p[1], p[2])
		err = s.st.Update(tctx, func(tx store.Tx) error {
			if fence != nil {
				if err := fence.check(tx); err != nil {
					return err
				}
			}
			again, err := staleLinks(tx, d, now, grace)
			if err != nil {
				return err
			}
			for _, k := range again {
				q := splitKey(k)
				if q[1] != p[1] || q[2] != p[2] {
					continue
				}
				if err := tx.Delete(tblLinks, key(string(d), q[3])); err != nil && !errors.Is(err, store.ErrNotFound) {
					return err
				}
				if err := tx.Delete(tblBlobUsers, k); err != nil {
					return err
				}
			}
			return nil
		})
		if errors.Is(err, errInUse) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
	}
	if err := s.markCollecting(ctx, d, info.Version, now, fence); errors.Is(err, errInUse) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	// Only the copy looked at above goes: one stored again meanwhile (a
	// push on another replica, whose link is refused while the mark
	// stands) is another version and stays.
	deleted, err := s.deleteCopy(ctx, d, info.Version, fence)
	if err != nil {
		return false, err
	}
	return deleted, s.unmarkCollecting(ctx, d, info.Version, fence)
}
