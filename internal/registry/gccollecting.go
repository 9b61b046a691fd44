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
// The collector writes the mark in a transaction that re-checks that the
// blob has no user, deletes the file, then removes the mark. Adding a link
// or a manifest's own-bytes user refuses while the mark exists. The store
// serializes the two transactions: either the user came first (the
// collector sees it and keeps the blob) or the mark did (the push is told
// to push again). A mark left by a collector that died is finished by the
// next collection.
var tblCollecting = store.Table{Name: "registry_gc_collecting", Scope: store.System}

type collectingRec struct {
	At time.Time `json:"at"`
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

// markCollecting records that d's file is about to be deleted, unless
// something uses d (errInUse).
func (s *Service) markCollecting(ctx context.Context, d blobstore.Digest, now time.Time, fence gcFence) error {
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
		b, _ := json.Marshal(collectingRec{At: now})
		_, err = tx.Put(tblCollecting, string(d), b)
		return err
	})
}

func (s *Service) unmarkCollecting(ctx context.Context, d blobstore.Digest) error {
	return s.st.Update(ctx, func(tx store.Tx) error {
		if err := tx.Delete(tblCollecting, string(d)); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return nil
	})
}

// finishCollecting completes the collections a dead collector left
// marked: no user can have been added since the mark, so the file goes.
func (s *Service) finishCollecting(ctx context.Context, fence gcFence) (int, error) {
	var marked []string
	err := s.st.View(ctx, func(tx store.Tx) error {
		items, err := tx.Scan(tblCollecting, "", "", 0)
		for _, it := range items {
			marked = append(marked, it.Key)
		}
		return err
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, k := range marked {
		d, err := blobstore.Parse(k)
		if err != nil {
			continue
		}
		unlock := s.locks.lock(k)
		if fence != nil {
			err = s.st.View(ctx, fence.check)
		}
		if err == nil {
			if err = s.blobs.Delete(ctx, d); errors.Is(err, blobstore.ErrNotFound) {
				err = nil
			}
		}
		if err == nil {
			err = s.unmarkCollecting(ctx, d)
		}
		unlock()
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
