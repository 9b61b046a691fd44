package registry

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"time"

	"github.com/wharfhq/wharf/internal/blobstore"
	"github.com/wharfhq/wharf/internal/errs"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/tenancy"
)

// StartUpload opens an upload session in repository name (the ECR API's
// InitiateLayerUpload; the /v2/ API's POST).
//
// The session is only a record in the state store, written before the
// client is told its id: the blob store holds nothing for it until bytes
// arrive (blobstore.Ingester.OpenUpload starts it empty), so a POST costs
// no file and no fsync, and survives a restart as well as any other
// acknowledged metadata.
func (s *Service) StartUpload(ctx context.Context, name string) (string, error) {
	id := blobstore.NewUploadID()
	err := s.st.Update(ctx, func(tx store.Tx) error {
		if _, err := getRepo(tx, name); err != nil {
			return err
		}
		acct, _ := tenancy.Account(ctx)
		region, _ := tenancy.Region(ctx)
		return putJSON(tx, tblUploads, id, uploadRec{Account: acct, Region: region, Repository: name, StartedAt: s.now().UTC()})
	})
	if err != nil {
		return "", err
	}
	return id, nil
}

// AppendUpload appends r to a session; first, when >= 0, must be the
// session's current size (ErrRangeInvalid otherwise). It returns the size.
func (s *Service) AppendUpload(ctx context.Context, name, id string, first int64, r io.Reader) (int64, error) {
	u, err := s.openUpload(ctx, name, id)
	if err != nil {
		return 0, err
	}
	if first >= 0 && first != u.Size() {
		size := u.Size()
		u.Close()
		return size, errs.New(ErrRangeInvalid, "part starts at %d but the upload has %d bytes", first, size)
	}
	if _, err := u.ReadFrom(r); err != nil {
		u.Close()
		return u.Size(), errs.New(ErrBlobUploadInvalid, "reading the part: %v", err)
	}
	return u.Size(), u.Close()
}

// CompleteUpload verifies a session's content against d, stores it as a
// blob of repository name and ends the session.
func (s *Service) CompleteUpload(ctx context.Context, name, id string, d string) (blobstore.Info, error) {
	dg, err := parseDigest(d)
	if err != nil {
		return blobstore.Info{}, err
	}
	u, err := s.openUpload(ctx, name, id)
	if err != nil {
		return blobstore.Info{}, err
	}
	info, err := u.Commit(ctx, dg)
	if err != nil {
		u.Close()
		return blobstore.Info{}, blobError(err)
	}
	return info, s.link(ctx, name, dg, info.Size, id)
}

// ExpireUploads cancels upload sessions started before now-ttl (abandoned
// pushes) and returns how many it removed: durable sessions in the blob
// store, and sessions that never received a byte (only their record).
// Sessions open in a request are left alone.
func (s *Service) ExpireUploads(ctx context.Context, now time.Time, ttl time.Duration) (int, error) {
	var old []string
	err := s.blobs.WalkUploads(ctx, func(u blobstore.UploadInfo) error {
		if now.Sub(u.StartedAt) > ttl {
			old = append(old, u.ID)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range old {
		u, err := s.blobs.ResumeUpload(ctx, id)
		if errors.Is(err, blobstore.ErrUploadBusy) || errors.Is(err, blobstore.ErrUploadNotFound) {
			continue
		}
		if err != nil {
			return n, err
		}
		if err := u.Cancel(ctx); err != nil {
			return n, err
		}
		err = s.st.Update(ctx, func(tx store.Tx) error {
			if err := tx.Delete(tblUploads, id); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			return nil
		})
		if err != nil {
			return n, err
		}
		n++
	}
	m, err := s.expireEmptyUploads(ctx, now, ttl)
	return n + m, err
}

// expireEmptyUploads removes the records of old sessions that have no
// durable bytes in the blob store.
func (s *Service) expireEmptyUploads(ctx context.Context, now time.Time, ttl time.Duration) (int, error) {
	var old []string
	err := s.st.View(ctx, func(tx store.Tx) error {
		items, err := tx.Scan(tblUploads, "", "", 0)
		for _, it := range items {
			var rec uploadRec
			if json.Unmarshal(it.Value, &rec) == nil && now.Sub(rec.StartedAt) > ttl {
				old = append(old, it.Key)
			}
		}
		return err
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range old {
		u, err := s.blobs.ResumeUpload(ctx, id)
		switch {
		case err == nil:
			u.Close() // it has bytes: the walk above handles it (or it is younger than its record)
			continue
		case errors.Is(err, blobstore.ErrUploadBusy):
			continue
		case !errors.Is(err, blobstore.ErrUploadNotFound):
			return n, err
		}
		err = s.st.Update(ctx, func(tx store.Tx) error {
			if err := tx.Delete(tblUploads, id); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			return nil
		})
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
