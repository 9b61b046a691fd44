package registry

import (
	"context"
	"io"

	"github.com/wharfhq/wharf/internal/blobstore"
	"github.com/wharfhq/wharf/internal/errs"
	"github.com/wharfhq/wharf/internal/store"
)

// StartUpload opens an upload session in repository name (the ECR API's
// InitiateLayerUpload; the /v2/ API's POST).
func (s *Service) StartUpload(ctx context.Context, name string) (string, error) {
	if _, err := s.GetRepository(ctx, name); err != nil {
		return "", err
	}
	u, err := s.blobs.NewUpload(ctx, blobstore.Canonical)
	if err != nil {
		return "", err
	}
	id := u.ID()
	if err := u.Close(); err != nil {
		return "", err
	}
	return id, s.st.Update(ctx, func(tx store.Tx) error {
		return putJSON(tx, tblUploads, id, uploadRec{Repository: name, StartedAt: s.now().UTC()})
	})
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
