package registry

import (
	"context"
	"sync"
	"time"

	"github.com/wharfhq/wharf/internal/store"
)

// The manifest cache: what a manifest GET or HEAD needs (the repository
// exists; tag or digest → digest, media type, size, last pull time), kept
// in memory so a HEAD costs no store read.
//
// It is exact for this process's writes: every write of a repository's
// settings, manifests or tags goes through (*Service).update, which
// invalidates the repository after the commit. A fill races with writes
// by a generation counter: a reader notes the generation before it reads
// the store and inserts only if no write finished meanwhile (a writer
// bumps the generation and drops the repository after its commit, both
// under the cache's lock), so a value read before a commit can never be
// inserted after it.
//
// Writes made by another process (a second control-plane replica on a
// shared PostgreSQL store) are not seen: entries expire CacheTTL after
// they were read, which bounds how long a replica may answer a HEAD or GET
// with a tag's previous digest. Only reads served to clients use the
// cache; every decision (immutability, references, deletes, GC) reads the
// store in its transaction.
//
// Only positive answers are cached (a missing repository or tag is read
// from the store each time), and the cache holds at most
// maxCachedManifests references; when full it starts over.

// DefaultCacheTTL is the default of Options.CacheTTL.
const DefaultCacheTTL = 2 * time.Second

const maxCachedManifests = 1 << 16

type cachedManifest struct {
	m    manifestRec // only Digest, MediaType, Size and LastPulledAt are kept
	read time.Time   // when it was read from the store
}

type metaCache struct {
	ttl time.Duration // <= 0: caching off

	mu    sync.Mutex
	gen   uint64
	n     int
	repos map[string]map[string]cachedManifest // tenant@name → ref → manifest
}

// cacheFresh reports whether an entry read at read may still answer at now.
func cacheFresh(read, now time.Time, ttl time.Duration) bool {
	d := now.Sub(read)
	return d >= 0 && d < ttl
}

func (c *metaCache) get(repo, ref string, now time.Time) (manifestRec, bool) {
	if c.ttl <= 0 {
		return manifestRec{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.repos[repo][ref]
	if !ok || !cacheFresh(e.read, now, c.ttl) {
		return manifestRec{}, false
	}
	return e.m, true
}

// begin returns the generation a fill must present to put.
func (c *metaCache) begin() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// put inserts a manifest read at now, unless a write finished since begin
// returned gen.
func (c *metaCache) put(repo, ref string, m manifestRec, gen uint64, now time.Time) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if c.n >= maxCachedManifests {
		c.repos, c.n = nil, 0
	}
	if c.repos == nil {
		c.repos = map[string]map[string]cachedManifest{}
	}
	refs := c.repos[repo]
	if refs == nil {
		refs = map[string]cachedManifest{}
		c.repos[repo] = refs
	}
	if _, ok := refs[ref]; !ok {
		c.n++
	}
	refs[ref] = cachedManifest{m: manifestRec{Digest: m.Digest, MediaType: m.MediaType, Size: m.Size, LastPulledAt: m.LastPulledAt}, read: now}
}

// invalidate drops a repository's entries and fails fills in progress.
func (c *metaCache) invalidate(repo string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.n -= len(c.repos[repo])
	delete(c.repos, repo)
}

// update runs fn in a write transaction on repository name's metadata and
// then invalidates the repository in the manifest cache. Every write of
// tblRepos, tblManifests or tblTags goes through it.
func (s *Service) update(ctx context.Context, name string, fn func(store.Tx) error) error {
	defer s.meta.invalidate(policyKey(ctx, name))
	return s.st.Update(ctx, fn)
}

// resolveCached is resolve through the manifest cache.
func (s *Service) resolveCached(ctx context.Context, name, ref string) (manifestRec, error) {
	k := policyKey(ctx, name)
	now := s.now()
	if m, ok := s.meta.get(k, ref, now); ok {
		return m, nil
	}
	gen := s.meta.begin()
	var m manifestRec
	err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		m, err = resolve(tx, name, ref)
		return err
	})
	if err == nil {
		s.meta.put(k, ref, m, gen, now)
	}
	return m, err
}
