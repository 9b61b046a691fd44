package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/wharfhq/wharf/internal/blobstore"
	"github.com/wharfhq/wharf/internal/store"
)

// FsckReport is what Fsck found.
type FsckReport struct {
	Repositories int
	Manifests    int
	Links        int
	Problems     []string
}

// Fsck checks the registry of the tenant of ctx: every manifest's bytes
// are stored and hash to its digest, every blob a manifest references is
// linked in its repository and stored, every linked blob is stored. With
// verify, blob contents are re-hashed too. It reads a consistent snapshot
// of the metadata; blobs are only added, never removed, while it runs
// (until garbage collection lands, which must hold off Fsck's blobs).
func (s *Service) Fsck(ctx context.Context, verify bool) (FsckReport, error) {
	var rep FsckReport
	var mans []manifestRec
	var mansRepo []string
	links := map[string]bool{}
	err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		if rep.Repositories, err = tx.Count(tblRepos, ""); err != nil {
			return err
		}
		items, err := tx.Scan(tblManifests, "", "", 0)
		if err != nil {
			return err
		}
		for _, it := range items {
			var m manifestRec
			if err := json.Unmarshal(it.Value, &m); err != nil {
				rep.Problems = append(rep.Problems, fmt.Sprintf("manifest %s: unreadable record: %v", it.Key, err))
				continue
			}
			mans = append(mans, m)
			mansRepo = append(mansRepo, it.Key[:len(it.Key)-len(m.Digest)-1])
		}
		ls, err := tx.Scan(tblLinks, "", "", 0)
		if err != nil {
			return err
		}
		for _, it := range ls {
			links[it.Key] = true
		}
		return nil
	})
	if err != nil {
		return rep, err
	}
	rep.Manifests, rep.Links = len(mans), len(links)
	checked := map[string]bool{}
	check := func(d string, what string) {
		if checked[d] {
			return
		}
		checked[d] = true
		if err := s.checkBlob(ctx, d, verify); err != nil {
			rep.Problems = append(rep.Problems, fmt.Sprintf("%s %s: %v", what, d, err))
		}
	}
	for i, m := range mans {
		check(m.Digest, "manifest")
		for _, b := range m.Blobs {
			if !links[key(b, mansRepo[i])] {
				if !s.sparse {
					rep.Problems = append(rep.Problems, fmt.Sprintf("manifest %s@%s references blob %s the repository does not hold", mansRepo[i], m.Digest, b))
				}
				continue
			}
			check(b, "blob")
		}
	}
	for k := range links {
		check(splitKey(k)[0], "linked blob")
	}
	return rep, nil
}

func (s *Service) checkBlob(ctx context.Context, ds string, verify bool) error {
	d, err := blobstore.Parse(ds)
	if err != nil {
		return err
	}
	if !verify {
		_, err := s.blobs.Stat(ctx, d)
		return err
	}
	f, _, err := s.blobs.Open(ctx, d)
	if err != nil {
		return err
	}
	defer f.Close()
	h := d.Algorithm().New()
	if _, err := io.Copy(h, f); err != nil {
		return err
	}
	if got := blobstore.NewDigest(d.Algorithm(), h); got != d {
		return errors.New("content hashes to " + string(got))
	}
	return nil
}
