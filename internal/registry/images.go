package registry

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"sort"
	"time"

	"github.com/wharfhq/wharf/internal/blobstore"
	"github.com/wharfhq/wharf/internal/errs"
	"github.com/wharfhq/wharf/internal/store"
)

// ErrImageNotFound: no image with that digest or tag (ECR's ImageNotFound).
var ErrImageNotFound = errors.New("image not found")

// Image is a manifest of a repository as the ECR API describes it.
type Image struct {
	Digest       string
	MediaType    string
	ArtifactType string
	Subject      string
	Size         int64 // the config's and layers' sizes
	Tags         []string
	PushedAt     time.Time
	LastPulledAt time.Time // zero: never pulled (see RecordPull)
}

// Images returns every manifest of repository name with its tags, in
// digest order.
func (s *Service) Images(ctx context.Context, name string) ([]Image, error) {
	var out []Image
	err := s.st.View(ctx, func(tx store.Tx) error {
		if _, err := getRepo(tx, name); err != nil {
			return err
		}
		tags, err := tx.Scan(tblTags, key(name, ""), "", 0)
		if err != nil {
			return err
		}
		byDigest := map[string][]string{}
		for _, it := range tags {
			var t tagRec
			if err := json.Unmarshal(it.Value, &t); err != nil {
				return err
			}
			byDigest[t.Digest] = append(byDigest[t.Digest], it.Key[len(name)+1:])
		}
		mans, err := tx.Scan(tblManifests, key(name, ""), "", 0)
		if err != nil {
			return err
		}
		for _, it := range mans {
			var m manifestRec
			if err := json.Unmarshal(it.Value, &m); err != nil {
				return err
			}
			out = append(out, imageOf(m, byDigest[m.Digest]))
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Digest < out[j].Digest })
	return out, err
}

func imageOf(m manifestRec, tags []string) Image {
	return Image{Digest: m.Digest, MediaType: m.MediaType, ArtifactType: m.ArtifactType, Subject: m.Subject,
		Size: m.ImageSize, Tags: tags, PushedAt: m.PushedAt, LastPulledAt: m.LastPulledAt}
}

// Manifest returns the image a tag or digest names and its manifest bytes.
func (s *Service) Manifest(ctx context.Context, name, ref string) (Image, []byte, error) {
	var m manifestRec
	err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		m, err = resolve(tx, name, ref)
		return err
	})
	if errors.Is(err, ErrManifestUnknown) {
		return Image{}, nil, errs.New(ErrImageNotFound, "Requested image not found")
	}
	if err != nil {
		return Image{}, nil, err
	}
	f, _, err := s.blobs.Open(ctx, blobstore.Digest(m.Digest))
	if err != nil {
		return Image{}, nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		return Image{}, nil, err
	}
	return imageOf(m, nil), b, nil
}

// DeleteImage removes an image by digest (with its tags), or a tag; an
// image whose last tag goes is removed too, as ECR does.
func (s *Service) DeleteImage(ctx context.Context, name, digest, tag string) (string, error) {
	var gone string
	err := s.update(ctx, name, func(tx store.Tx) error {
		if _, err := getRepo(tx, name); err != nil {
			return err
		}
		dg := digest
		if tag != "" {
			var t tagRec
			_, err := getJSON(tx, tblTags, key(name, tag), &t)
			if errors.Is(err, store.ErrNotFound) || err == nil && digest != "" && t.Digest != digest {
				return errs.New(ErrImageNotFound, "Requested image not found")
			}
			if err != nil {
				return err
			}
			if err := tx.Delete(tblTags, key(name, tag)); err != nil {
				return err
			}
			dg = t.Digest
			// Keep the image if another tag still points at it.
			tags, err := tx.Scan(tblTags, key(name, ""), "", 0)
			if err != nil {
				return err
			}
			for _, it := range tags {
				var o tagRec
				if json.Unmarshal(it.Value, &o) == nil && o.Digest == dg {
					gone = dg
					return nil
				}
			}
		}
		err := deleteManifestTx(ctx, tx, name, dg)
		if errors.Is(err, ErrManifestUnknown) {
			return errs.New(ErrImageNotFound, "Requested image not found")
		}
		gone = dg
		return err
	})
	return gone, err
}

// LayerSize returns the size of blob d if repository name holds it (an
// error wrapping ErrBlobUnknown if not).
func (s *Service) LayerSize(ctx context.Context, name string, d string) (int64, error) {
	dg, err := parseDigest(d)
	if err != nil {
		return 0, err
	}
	var l linkRec
	err = s.st.View(ctx, func(tx store.Tx) error {
		var err error
		l, err = linkedBlob(tx, name, dg)
		return err
	})
	return l.Size, err
}

// SetTagMutability changes a repository's tag mutability.
func (s *Service) SetTagMutability(ctx context.Context, name, m string) error {
	return s.update(ctx, name, func(tx store.Tx) error {
		r, err := getRepo(tx, name)
		if err != nil {
			return err
		}
		r.TagMutability = m
		return putJSON(tx, tblRepos, name, r)
	})
}

// UpdateRepositoryTags adds (overwriting) and removes a repository's
// resource tags and returns the result.
func (s *Service) UpdateRepositoryTags(ctx context.Context, name string, add map[string]string, remove []string) (map[string]string, error) {
	var out map[string]string
	err := s.update(ctx, name, func(tx store.Tx) error {
		r, err := getRepo(tx, name)
		if err != nil {
			return err
		}
		if r.Tags == nil {
			r.Tags = map[string]string{}
		}
		for k, v := range add {
			r.Tags[k] = v
		}
		for _, k := range remove {
			delete(r.Tags, k)
		}
		out = r.Tags
		if len(add) == 0 && len(remove) == 0 {
			return nil
		}
		return putJSON(tx, tblRepos, name, r)
	})
	return out, err
}
