package registry

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/wharfhq/wharf/internal/blobstore"
	"github.com/wharfhq/wharf/internal/errs"
	"github.com/wharfhq/wharf/internal/store"
)

// Collection marks: how a collection and a push on another replica (whose
// stripe locks this process cannot see) agree on a blob.
//
//	registry_gc_collecting  DIGEST  → collectingRec: the blob's file is being deleted
//
// The collector writes the mark — naming the stored copy it decided on
// (blobstore.Info.Version) — in a transaction that re-checks that the
// blob has no user, deletes that copy only (DeleteVersion), then removes
// the mark. Adding a link or a manifest's own-bytes user refuses while the
// mark exists. The store serializes the two transactions: either the user
// came first (the collector sees it and keeps the blob) or the mark did
// (the push is told to push again). A mark left by a collector that died
// is finished by the next collection.
//
// Fencing: a leased collector checks its lease in the store right before
// deleting the file and in the transaction removing the mark. A collector
// that loses the lease after that check (it stalls between the check and
// the unlink, another replica finishes its mark, a client pushes the blob
// again) can only delete the copy it marked, which is gone already: the
// push stored a new copy, another version, which DeleteVersion keeps.
var tblCollecting = store.Table{Name: "registry_gc_collecting", Scope: store.System}

type collectingRec struct {
	At time.Time `json:"at"`
	// Version is the stored copy the collector decided to delete (empty
	// in marks of older versions: whatever copy is stored).
	Version string `json:"version,omitempty"`
}

// refuseCollecting fails with ErrBlobUploadInvalid while blob d is being
// collected. Users that keep a blob's file alive (link, manifest) call it
// in the transaction that adds them.
func refuseCollecting(tx store.Tx, d string) error {
	_, err := tx.Get(tblCollecting, d)
	if err == nil {
		return errs.New(ErrBlobUploadInvalid, "%v: %s", errBlobVanished, d)
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

// markCollecting records that copy version of d is about to be deleted,
// unless something uses d (errInUse).
func (s *Service) markCollecting(ctx context.Context, d blobstore.Digest, version string, now time.Time, fence gcFence) error {
	return s.st.Update(ctx, func(tx store.Tx) error {
		if fence != nil {
			if err := fence.check(tx); err != nil {
				return err
			}
		}
		users, err := tx.Scan(tblBlobUsers, key(string(d), ""), "", 1)
		if err != nil {
			return err
		}
		if len(users) > 0 {
			return errInUse
		}
		b, _ := json.Marshal(collectingRec{At: now, Version: version})
		_, err = tx.Put(tblCollecting, string(d), b)
		return err
	})
}

// unmarkCollecting removes the mark of copy version of d: not a mark
// another collector wrote since for another copy, and not once the lease
// is lost (the holder's next collection finishes the mark).
func (s *Service) unmarkCollecting(ctx context.Context, d blobstore.Digest, version string, fence gcFence) error {
	return s.st.Update(ctx, func(tx store.Tx) error {
		if fence != nil {
			if err := fence.check(tx); err != nil {
				return err
			}
		}
		it, err := tx.Get(tblCollecting, string(d))
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		var rec collectingRec
		if json.Unmarshal(it.Value, &rec) == nil && rec.Version != "" && rec.Version != version {
			return nil
		}
		return tx.Delete(tblCollecting, string(d))
	})
}

// deleteCopy deletes copy version of d (any copy if version is empty)
// after checking, when leased, that the lease is still held. It reports
// whether it deleted: a copy stored again since the decision is kept.
func (s *Service) deleteCopy(ctx context.Context, d blobstore.Digest, version string, fence gcFence) (bool, error) {
	if s.gcBeforeDelete != nil {
		s.gcBeforeDelete(d)
	}
	if fence != nil {
		if err := s.st.View(ctx, fence.check); err != nil {
			return false, err
		}
	}
	if version == "" {
		info, err := s.blobs.Stat(ctx, d)
		if errors.Is(err, blobstore.ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		version = info.Version
	}
	err := s.blobs.DeleteVersion(ctx, d, version)
	if errors.Is(err, blobstore.ErrNotFound) || errors.Is(err, blobstore.ErrVersionMismatch) {
		return false, nil
	}
	return err == nil, err
}

// finishCollecting completes the collections a dead collector left
// marked: no user can have been added since the mark, so the file goes.
func (s *Service) finishCollecting(ctx context.Context, fence gcFence) (int, error) {
	marked := map[string]string{} // digest → version
	err := s.st.View(ctx, func(tx store.Tx) error {
		items, err := tx.Scan(tblCollecting, "", "", 0)
		for _, it := range items {
			var rec collectingRec
			json.Unmarshal(it.Value, &rec)
			marked[it.Key] = rec.Version
		}
		return err
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for k, version := range marked {
		d, err := blobstore.Parse(k)
		if err != nil {
			continue
		}
		unlock := s.locks.lock(k)
		_, err = s.deleteCopy(ctx, d, version, fence)
		if err == nil {
			err = s.unmarkCollecting(ctx, d, version, fence)
		}
		unlock()
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
