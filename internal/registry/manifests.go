package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/wharfhq/wharf/internal/blobstore"
	"github.com/wharfhq/wharf/internal/errs"
	"github.com/wharfhq/wharf/internal/store"
)

func isDigestRef(ref string) bool { return strings.Contains(ref, ":") }

// resolve returns the manifest a tag or digest names in repository name.
func resolve(tx store.Tx, name, ref string) (manifestRec, error) {
	var m manifestRec
	if _, err := getRepo(tx, name); err != nil {
		return m, err
	}
	dg := ref
	if !isDigestRef(ref) {
		var t tagRec
		_, err := getJSON(tx, tblTags, key(name, ref), &t)
		if errors.Is(err, store.ErrNotFound) {
			return m, errs.New(ErrManifestUnknown, "manifest tagged %q is not found", ref)
		}
		if err != nil {
			return m, err
		}
		dg = t.Digest
	}
	_, err := getJSON(tx, tblManifests, key(name, dg), &m)
	if errors.Is(err, store.ErrNotFound) {
		return m, errs.New(ErrManifestUnknown, "manifest %s is not found", dg)
	}
	return m, err
}

func checkRef(ref string) error {
	if isDigestRef(ref) {
		_, err := parseDigest(ref)
		return err
	}
	if !ValidTag(ref) {
		return errs.New(ErrTagInvalid, "invalid tag %q", ref)
	}
	return nil
}

func (s *Service) getManifest(w http.ResponseWriter, r *http.Request, rt route) {
	ctx := r.Context()
	if err := s.authorize(ctx, actBatchGetImage, rt.name); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := checkRef(rt.ref); err != nil {
		if !isDigestRef(rt.ref) {
			err = errs.New(ErrManifestUnknown, "manifest unknown: %v", err)
		}
		s.fail(w, r, err)
		return
	}
	m, err := s.resolveCached(ctx, rt.name, rt.ref)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", m.MediaType)
	h.Set("Docker-Content-Digest", m.Digest)
	h.Set("ETag", `"`+m.Digest+`"`)
	h.Set("Content-Length", strconv.FormatInt(m.Size, 10))
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return
	}
	f, _, err := s.blobs.Open(ctx, blobstore.Digest(m.Digest))
	if err != nil {
		h.Del("Content-Length")
		s.fail(w, r, err)
		return
	}
	defer f.Close()
	// A GET is a pull (a HEAD is not). Recorded before the body so that a
	// client that has the manifest sees its pull time; at most one write
	// per PullTimeInterval, bounded, and never failing the pull.
	s.recordPull(ctx, rt.name, m.Digest, m.LastPulledAt)
	w.WriteHeader(http.StatusOK)
	io.Copy(w, f)
}

func (s *Service) putManifest(w http.ResponseWriter, r *http.Request, rt route) {
	ctx := r.Context()
	if err := s.authorize(ctx, actPutImage, rt.name); err != nil {
		s.fail(w, r, err)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, s.maxMan+1))
	if err != nil {
		s.fail(w, r, errs.New(ErrManifestInvalid, "reading the manifest: %v", err))
		return
	}
	tags := r.URL.Query()["tag"]
	d, subject, err := s.PutManifest(ctx, rt.name, rt.ref, r.Header.Get("Content-Type"), body, tags)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Location", "/v2/"+rt.name+"/manifests/"+string(d))
	h.Set("Docker-Content-Digest", string(d))
	if subject != nil {
		h.Set("OCI-Subject", subject.Digest)
	}
	if isDigestRef(rt.ref) {
		for _, t := range tags {
			h.Add("OCI-Tag", t)
		}
	}
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
}

// PutManifest validates and stores a manifest pushed to repository name
// under ref (a tag, or the digest it must have) and tags it with ref (if a
// tag) and extraTags. It returns the digest and the manifest's subject.
func (s *Service) PutManifest(ctx context.Context, name, ref, contentType string, body []byte, extraTags []string) (blobstore.Digest, *Descriptor, error) {
	if err := checkRef(ref); err != nil {
		return "", nil, err
	}
	if int64(len(body)) > s.maxMan {
		return "", nil, errs.New(ErrTooLarge, "manifest larger than %d bytes", s.maxMan)
	}
	var d blobstore.Digest
	var tags []string
	if isDigestRef(ref) {
		d = blobstore.Digest(ref)
		if got := d.Algorithm().FromBytes(body); got != d {
			return "", nil, errs.New(ErrDigestInvalid, "manifest digest %s does not match the reference %s", got, d)
		}
	} else {
		d = blobstore.FromBytes(body)
		tags = append(tags, ref)
	}
	for _, t := range extraTags {
		if !ValidTag(t) {
			return "", nil, errs.New(ErrTagInvalid, "invalid tag %q", t)
		}
		tags = append(tags, t)
	}
	p, err := parseManifest(contentType, body)
	if err != nil {
		return "", nil, err
	}
	if _, err := s.blobs.Put(ctx, d, int64(len(body)), bytes.NewReader(body)); err != nil {
		return "", nil, blobError(err)
	}
	if err := s.storeManifest(ctx, name, d, int64(len(body)), p, tags); err != nil {
		return "", nil, err
	}
	return d, p.subject, nil
}

// storeManifest records a manifest whose bytes are stored, its
// references, its referrer entry and its tags, in one transaction.
func (s *Service) storeManifest(ctx context.Context, name string, d blobstore.Digest, size int64, p *parsed, tags []string) error {
	now := s.now().UTC()
	rec := manifestRec{Digest: string(d), MediaType: p.mediaType, Size: size, ArtifactType: p.artifactType,
		Annotations: p.annotations, PushedAt: now}
	for _, b := range p.blobs {
		rec.Blobs = append(rec.Blobs, b.Digest)
		rec.ImageSize += b.Size
	}
	for _, b := range p.foreign {
		rec.ImageSize += b.Size
	}
	for _, c := range p.children {
		rec.Manifests = append(rec.Manifests, c.Digest)
	}
	if p.subject != nil {
		rec.Subject = p.subject.Digest
	}
	unlock := s.locks.lock(string(d))
	defer unlock()
	if err := s.stored(ctx, d); err != nil {
		return err
	}
	return s.update(ctx, name, func(tx store.Tx) error {
		repo, err := getRepo(tx, name)
		if err != nil {
			return err
		}
		if err := addUser(ctx, tx, string(d), name, "manifest"); err != nil {
			return err
		}
		for _, b := range p.blobs {
			if s.sparse {
				break
			}
			if _, err := tx.Get(tblLinks, key(b.Digest, name)); errors.Is(err, store.ErrNotFound) {
				return errs.New(ErrManifestBlobUnknown, "blob %s referenced by the manifest is unknown to the repository", b.Digest)
			} else if err != nil {
				return err
			}
		}
		var old manifestRec
		if _, err := getJSON(tx, tblManifests, key(name, string(d)), &old); err == nil {
			rec.PushedAt, rec.LastPulledAt = old.PushedAt, old.LastPulledAt
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err := putJSON(tx, tblManifests, key(name, string(d)), rec); err != nil {
			return err
		}
		for _, b := range rec.Blobs {
			if _, err := tx.Put(tblRefs, key(b, name, string(d)), []byte("{}")); err != nil {
				return err
			}
			if err := addUser(ctx, tx, b, name, "ref", string(d)); err != nil {
				return err
			}
		}
		if p.subject != nil {
			desc := Descriptor{MediaType: p.mediaType, Digest: string(d), Size: size, ArtifactType: p.artifactType, Annotations: p.annotations}
			if err := putJSON(tx, tblReferrers, key(name, p.subject.Digest, string(d)), desc); err != nil {
				return err
			}
		}
		for _, t := range tags {
			var cur tagRec
			if _, err := getJSON(tx, tblTags, key(name, t), &cur); err == nil {
				if cur.Digest == string(d) {
					continue
				}
				if repo.TagMutability == Immutable {
					return errs.New(ErrTagImmutable, "The image tag '%s' already exists in the '%s' repository and cannot be overwritten because the repository is immutable.", t, name)
				}
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
			if err := putJSON(tx, tblTags, key(name, t), tagRec{Digest: string(d), UpdatedAt: now}); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Service) deleteManifest(w http.ResponseWriter, r *http.Request, rt route) {
	ctx := r.Context()
	if err := s.authorize(ctx, actBatchDeleteImage, rt.name); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := checkRef(rt.ref); err != nil {
		s.fail(w, r, err)
		return
	}
	err := s.update(ctx, rt.name, func(tx store.Tx) error {
		if _, err := getRepo(tx, rt.name); err != nil {
			return err
		}
		if !isDigestRef(rt.ref) {
			err := tx.Delete(tblTags, key(rt.name, rt.ref))
			if errors.Is(err, store.ErrNotFound) {
				return errs.New(ErrManifestUnknown, "manifest tagged %q is not found", rt.ref)
			}
			return err
		}
		return deleteManifestTx(ctx, tx, rt.name, rt.ref)
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusAccepted)
}

// deleteManifestTx removes a manifest, the tags that point at it, its
// referrer entry and its blob references.
func deleteManifestTx(ctx context.Context, tx store.Tx, name, dg string) error {
	var m manifestRec
	_, err := getJSON(tx, tblManifests, key(name, dg), &m)
	if errors.Is(err, store.ErrNotFound) {
		return errs.New(ErrManifestUnknown, "manifest %s is not found", dg)
	}
	if err != nil {
		return err
	}
	if err := tx.Delete(tblManifests, key(name, dg)); err != nil {
		return err
	}
	if err := delUser(ctx, tx, dg, name, "manifest"); err != nil {
		return err
	}
	tags, err := tx.Scan(tblTags, key(name, ""), "", 0)
	if err != nil {
		return err
	}
	for _, it := range tags {
		var t tagRec
		if json.Unmarshal(it.Value, &t) == nil && t.Digest == dg {
			if err := tx.Delete(tblTags, it.Key); err != nil {
				return err
			}
		}
	}
	if m.Subject != "" {
		if err := tx.Delete(tblReferrers, key(name, m.Subject, dg)); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	for _, b := range m.Blobs {
		if err := tx.Delete(tblRefs, key(b, name, dg)); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err := delUser(ctx, tx, b, name, "ref", dg); err != nil {
			return err
		}
	}
	return nil
}

type tagList struct {
	Name string   `json:"name"`
	Tags []string `json:"tags"`
}

func (s *Service) listTags(w http.ResponseWriter, r *http.Request, rt route) {
	ctx := r.Context()
	if err := s.authorize(ctx, actListImages, rt.name); err != nil {
		s.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	n := -1
	if v := q.Get("n"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 0 {
			s.fail(w, r, errs.New(ErrUnsupported, "invalid n %q", v))
			return
		}
	}
	last := q.Get("last")
	out := tagList{Name: rt.name, Tags: []string{}}
	more := false
	err := s.st.View(ctx, func(tx store.Tx) error {
		if _, err := getRepo(tx, rt.name); err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		after := ""
		if last != "" {
			after = key(rt.name, last)
		}
		limit := 0
		if n > 0 {
			limit = n + 1
		}
		items, err := tx.Scan(tblTags, key(rt.name, ""), after, limit)
		if err != nil {
			return err
		}
		if n > 0 && len(items) > n {
			items, more = items[:n], true
		}
		for _, it := range items {
			out.Tags = append(out.Tags, it.Key[len(rt.name)+1:])
		}
		return nil
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if more {
		v := url.Values{"n": {strconv.Itoa(n)}, "last": {out.Tags[len(out.Tags)-1]}}
		w.Header().Set("Link", "</v2/"+rt.name+"/tags/list?"+v.Encode()+`>; rel="next"`)
	}
	writeJSON(w, "application/json", out)
}

type index struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	Manifests     []Descriptor `json:"manifests"`
}

func (s *Service) listReferrers(w http.ResponseWriter, r *http.Request, rt route) {
	ctx := r.Context()
	if err := s.authorize(ctx, actBatchGetImage, rt.name); err != nil {
		s.fail(w, r, err)
		return
	}
	d, err := parseDigest(rt.ref)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	filter := r.URL.Query().Get("artifactType")
	out := index{SchemaVersion: 2, MediaType: MediaTypeOCIIndex, Manifests: []Descriptor{}}
	err = s.st.View(ctx, func(tx store.Tx) error {
		if _, err := getRepo(tx, rt.name); err != nil {
			return err
		}
		items, err := tx.Scan(tblReferrers, key(rt.name, string(d), ""), "", 0)
		if err != nil {
			return err
		}
		for _, it := range items {
			var desc Descriptor
			if err := json.Unmarshal(it.Value, &desc); err != nil {
				return err
			}
			if filter == "" || desc.ArtifactType == filter {
				out.Manifests = append(out.Manifests, desc)
			}
		}
		return nil
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if filter != "" {
		w.Header().Set("OCI-Filters-Applied", "artifactType")
	}
	writeJSON(w, MediaTypeOCIIndex, out)
}

func writeJSON(w http.ResponseWriter, contentType string, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

type catalog struct {
	Repositories []string `json:"repositories"`
}

// catalog answers GET /v2/_catalog (not in the OCI spec; Docker's registry
// and tools such as crane and skopeo use it): the repositories of the
// caller's account and region, with n/last pagination like tag lists.
func (s *Service) catalog(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := s.authzAny(ctx, "ecr:DescribeRepositories"); err != nil {
		s.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	n := 1000
	if v := q.Get("n"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 0 {
			s.fail(w, r, errs.New(ErrUnsupported, "invalid n %q", v))
			return
		}
	}
	out := catalog{Repositories: []string{}}
	more := false
	if n > 0 {
		repos, err := s.ListRepositories(ctx, q.Get("last"), n+1)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if len(repos) > n {
			repos, more = repos[:n], true
		}
		for _, rp := range repos {
			out.Repositories = append(out.Repositories, rp.Name)
		}
	}
	if more {
		v := url.Values{"n": {strconv.Itoa(n)}, "last": {out.Repositories[len(out.Repositories)-1]}}
		w.Header().Set("Link", "</v2/_catalog?"+v.Encode()+`>; rel="next"`)
	}
	writeJSON(w, "application/json", out)
}
