package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/wharfhq/wharf/internal/blobstore"
	"github.com/wharfhq/wharf/internal/errs"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/tenancy"
)

func parseDigest(s string) (blobstore.Digest, error) {
	d, err := blobstore.Parse(s)
	if err != nil {
		return "", errs.New(ErrDigestInvalid, "invalid digest %q: %v", s, err)
	}
	return d, nil
}

// linkedBlob reports whether repository name may serve blob d.
func linkedBlob(tx store.Tx, name string, d blobstore.Digest) (linkRec, error) {
	if _, err := getRepo(tx, name); err != nil {
		return linkRec{}, err
	}
	var l linkRec
	_, err := getJSON(tx, tblLinks, key(string(d), name), &l)
	if errors.Is(err, store.ErrNotFound) {
		return l, errs.New(ErrBlobUnknown, "blob unknown to registry: %s", d)
	}
	return l, err
}

// link lets repository name serve blob d (stored already).
func (s *Service) link(ctx context.Context, name string, d blobstore.Digest, size int64, uploadID string) error {
	unlock := s.locks.lock(string(d))
	defer unlock()
	if err := s.stored(ctx, d); err != nil {
		return err
	}
	return s.st.Update(ctx, func(tx store.Tx) error {
		if _, err := getRepo(tx, name); err != nil {
			return err
		}
		at, _ := json.Marshal(userRec{At: s.now().UTC()})
		if err := putUser(ctx, tx, at, string(d), name, "link"); err != nil {
			return err
		}
		if uploadID != "" {
			if err := tx.Delete(tblUploads, uploadID); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		return putJSON(tx, tblLinks, key(string(d), name), linkRec{Size: size, LinkedAt: s.now().UTC()})
	})
}

func (s *Service) getBlob(w http.ResponseWriter, r *http.Request, rt route) {
	ctx := r.Context()
	action := actGetDownloadURL
	if r.Method == http.MethodHead {
		action = actCheckLayer
	}
	if err := s.authorize(ctx, action, rt.name); err != nil {
		s.fail(w, r, err)
		return
	}
	d, err := parseDigest(rt.ref)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.st.View(ctx, func(tx store.Tx) error { _, err := linkedBlob(tx, rt.name, d); return err }); err != nil {
		s.fail(w, r, err)
		return
	}
	f, _, err := s.blobs.Open(ctx, d)
	if errors.Is(err, blobstore.ErrNotFound) {
		err = errs.New(ErrBlobUnknown, "blob unknown to registry: %s", d)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer f.Close()
	h := w.Header()
	h.Set("Docker-Content-Digest", string(d))
	h.Set("Content-Type", "application/octet-stream")
	h.Set("ETag", `"`+string(d)+`"`)
	h.Set("Cache-Control", "max-age=31536000")
	http.ServeContent(w, r, "", time.Time{}, f)
}

func (s *Service) deleteBlob(w http.ResponseWriter, r *http.Request, rt route) {
	ctx := r.Context()
	if err := s.authorize(ctx, actBatchDeleteImage, rt.name); err != nil {
		s.fail(w, r, err)
		return
	}
	d, err := parseDigest(rt.ref)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	err = s.st.Update(ctx, func(tx store.Tx) error {
		if _, err := linkedBlob(tx, rt.name, d); err != nil {
			return err
		}
		if err := delUser(ctx, tx, string(d), rt.name, "link"); err != nil {
			return err
		}
		return tx.Delete(tblLinks, key(string(d), rt.name))
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusAccepted)
}

func blobCreated(w http.ResponseWriter, name string, d blobstore.Digest) {
	h := w.Header()
	h.Set("Location", "/v2/"+name+"/blobs/"+string(d))
	h.Set("Docker-Content-Digest", string(d))
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
}

func uploadAccepted(w http.ResponseWriter, status int, name, id string, size int64) {
	h := w.Header()
	h.Set("Location", "/v2/"+name+"/blobs/uploads/"+id)
	end := size - 1
	if end < 0 {
		end = 0
	}
	h.Set("Range", "0-"+strconv.FormatInt(end, 10))
	h.Set("Docker-Upload-UUID", id)
	h.Set("Content-Length", "0")
	w.WriteHeader(status)
}

// tryMount links blob d into name from repository from (or, when from is
// empty, from any repository of the account that holds it). It reports
// whether it did.
func (s *Service) tryMount(ctx context.Context, name, from string, d blobstore.Digest) (bool, error) {
	if from != "" && (!ValidName(from) || s.authorize(ctx, actGetDownloadURL, from) != nil) {
		return false, nil
	}
	var size int64
	found := false
	err := s.st.View(ctx, func(tx store.Tx) error {
		if from != "" {
			l, err := linkedBlob(tx, from, d)
			if errors.Is(err, ErrBlobUnknown) || errors.Is(err, ErrNameUnknown) {
				return nil
			}
			size, found = l.Size, err == nil
			return err
		}
		items, err := tx.Scan(tblLinks, key(string(d), ""), "", 1)
		if err != nil || len(items) == 0 {
			return err
		}
		found = true
		return nil
	})
	if err != nil || !found {
		return false, err
	}
	info, err := s.blobs.Stat(ctx, d)
	if errors.Is(err, blobstore.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if size == 0 {
		size = info.Size
	}
	return true, s.link(ctx, name, d, size, "")
}

func (s *Service) startUpload(w http.ResponseWriter, r *http.Request, rt route) {
	ctx := r.Context()
	if err := s.authorize(ctx, actInitiateUpload, rt.name); err != nil {
		s.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	if q.Get("mount") != "" || q.Get("digest") != "" {
		// (StartUpload checks the repository in its own transaction.)
		if _, err := s.GetRepository(ctx, rt.name); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	if m := q.Get("mount"); m != "" {
		if d, err := blobstore.Parse(m); err == nil {
			ok, err := s.tryMount(ctx, rt.name, q.Get("from"), d)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			if ok {
				blobCreated(w, rt.name, d)
				return
			}
		}
	}
	if ds := q.Get("digest"); ds != "" {
		d, err := parseDigest(ds)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		info, err := s.blobs.Put(ctx, d, r.ContentLength, r.Body)
		if err != nil {
			s.fail(w, r, blobError(err))
			return
		}
		if err := s.link(ctx, rt.name, d, info.Size, ""); err != nil {
			s.fail(w, r, err)
			return
		}
		blobCreated(w, rt.name, d)
		return
	}
	id, err := s.StartUpload(ctx, rt.name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	uploadAccepted(w, http.StatusAccepted, rt.name, id, 0)
}

// blobError maps blob store errors to registry errors.
func blobError(err error) error {
	switch {
	case errors.Is(err, blobstore.ErrDigestMismatch):
		return errs.New(ErrDigestInvalid, "%v", err)
	case errors.Is(err, blobstore.ErrSizeMismatch):
		return errs.New(ErrSizeInvalid, "%v", err)
	case errors.Is(err, blobstore.ErrInvalidDigest), errors.Is(err, blobstore.ErrUnsupportedAlgorithm):
		return errs.New(ErrDigestInvalid, "%v", err)
	case errors.Is(err, blobstore.ErrUploadNotFound):
		return errs.New(ErrBlobUploadUnknown, "blob upload unknown to registry")
	case errors.Is(err, blobstore.ErrUploadBusy):
		return errs.New(ErrRangeInvalid, "another request is writing to this upload")
	}
	return err
}

// openUpload checks that upload id belongs to name and opens it.
func (s *Service) openUpload(ctx context.Context, name, id string) (blobstore.Upload, error) {
	var rec uploadRec
	err := s.st.View(ctx, func(tx store.Tx) error {
		if _, err := getRepo(tx, name); err != nil {
			return err
		}
		_, err := getJSON(tx, tblUploads, id, &rec)
		return err
	})
	acct, _ := tenancy.Account(ctx)
	region, _ := tenancy.Region(ctx)
	if errors.Is(err, store.ErrNotFound) || err == nil && (rec.Repository != name || rec.Account != acct || rec.Region != region) {
		return nil, errs.New(ErrBlobUploadUnknown, "blob upload unknown to registry: %s", id)
	}
	if err != nil {
		return nil, err
	}
	u, err := s.blobs.OpenUpload(ctx, id, blobstore.Canonical)
	if err != nil {
		return nil, blobError(err)
	}
	return u, nil
}

// parseContentRange reads "START-END" (the spec's form; "bytes START-END/*"
// and "bytes=START-END" are accepted too). ok is false when absent.
func parseContentRange(v string) (start, end int64, ok bool, err error) {
	if v == "" {
		return 0, 0, false, nil
	}
	v = strings.TrimPrefix(strings.TrimPrefix(v, "bytes="), "bytes ")
	if i := strings.IndexByte(v, '/'); i >= 0 {
		v = v[:i]
	}
	a, b, found := strings.Cut(v, "-")
	if !found {
		return 0, 0, false, errs.New(ErrRangeInvalid, "malformed Content-Range %q", v)
	}
	start, err1 := strconv.ParseInt(a, 10, 64)
	end, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || start < 0 || end < start {
		return 0, 0, false, errs.New(ErrRangeInvalid, "malformed Content-Range %q", v)
	}
	return start, end, true, nil
}

// writeChunk appends r's body to u after checking its Content-Range.
func writeChunk(u blobstore.Upload, r *http.Request) error {
	start, end, ok, err := parseContentRange(r.Header.Get("Content-Range"))
	if err != nil {
		return err
	}
	if ok {
		if start != u.Size() {
			return errs.New(ErrRangeInvalid, "chunk starts at %d but the upload has %d bytes", start, u.Size())
		}
		if r.ContentLength >= 0 && r.ContentLength != end-start+1 {
			return errs.New(ErrRangeInvalid, "Content-Range %d-%d does not match Content-Length %d", start, end, r.ContentLength)
		}
	}
	before := u.Size()
	if _, err := u.ReadFrom(r.Body); err != nil {
		return errs.New(ErrBlobUploadInvalid, "reading the chunk: %v", err)
	}
	if ok && u.Size()-before != end-start+1 {
		return errs.New(ErrSizeInvalid, "chunk has %d bytes, Content-Range says %d", u.Size()-before, end-start+1)
	}
	return nil
}

func (s *Service) failRange(w http.ResponseWriter, r *http.Request, rt route, size int64, err error) {
	if errors.Is(err, ErrRangeInvalid) {
		h := w.Header()
		h.Set("Location", "/v2/"+rt.name+"/blobs/uploads/"+rt.ref)
		end := size - 1
		if end < 0 {
			end = 0
		}
		h.Set("Range", "0-"+strconv.FormatInt(end, 10))
		h.Set("Docker-Upload-UUID", rt.ref)
	}
	s.fail(w, r, err)
}

func (s *Service) patchUpload(w http.ResponseWriter, r *http.Request, rt route) {
	ctx := r.Context()
	if err := s.authorize(ctx, actUploadPart, rt.name); err != nil {
		s.fail(w, r, err)
		return
	}
	u, err := s.openUpload(ctx, rt.name, rt.ref)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	err = writeChunk(u, r)
	if cerr := u.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		s.failRange(w, r, rt, u.Size(), err)
		return
	}
	uploadAccepted(w, http.StatusAccepted, rt.name, rt.ref, u.Size())
}

func (s *Service) putUpload(w http.ResponseWriter, r *http.Request, rt route) {
	ctx := r.Context()
	if err := s.authorize(ctx, actCompleteUpload, rt.name); err != nil {
		s.fail(w, r, err)
		return
	}
	d, err := parseDigest(r.URL.Query().Get("digest"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	u, err := s.openUpload(ctx, rt.name, rt.ref)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := writeChunk(u, r); err != nil {
		u.Close()
		s.failRange(w, r, rt, u.Size(), err)
		return
	}
	info, err := u.Commit(ctx, d)
	if err != nil {
		u.Close()
		s.fail(w, r, blobError(err))
		return
	}
	if err := s.link(ctx, rt.name, d, info.Size, rt.ref); err != nil {
		s.fail(w, r, err)
		return
	}
	blobCreated(w, rt.name, d)
}

func (s *Service) uploadStatus(w http.ResponseWriter, r *http.Request, rt route) {
	ctx := r.Context()
	if err := s.authorize(ctx, actUploadPart, rt.name); err != nil {
		s.fail(w, r, err)
		return
	}
	u, err := s.openUpload(ctx, rt.name, rt.ref)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	size := u.Size()
	if err := u.Close(); err != nil {
		s.fail(w, r, err)
		return
	}
	uploadAccepted(w, http.StatusNoContent, rt.name, rt.ref, size)
}

func (s *Service) cancelUpload(w http.ResponseWriter, r *http.Request, rt route) {
	ctx := r.Context()
	if err := s.authorize(ctx, actUploadPart, rt.name); err != nil {
		s.fail(w, r, err)
		return
	}
	u, err := s.openUpload(ctx, rt.name, rt.ref)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := u.Cancel(ctx); err != nil {
		s.fail(w, r, fmt.Errorf("cancel upload: %w", err))
		return
	}
	err = s.st.Update(ctx, func(tx store.Tx) error {
		if err := tx.Delete(tblUploads, rt.ref); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return nil
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusNoContent)
}
