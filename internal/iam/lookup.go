package iam

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wharfhq/wharf/internal/principal"
	"github.com/wharfhq/wharf/internal/sigv4"
	"github.com/wharfhq/wharf/internal/store"
)

var _ sigv4.CredentialSource = (*Service)(nil)

// LookupAccessKey resolves an access key ID — a user's key, the root key
// or temporary STS credentials — to its secret and principal (the
// Credential's Subject is a *principal.Principal). Unknown and inactive
// keys are reported with an error wrapping sigv4.ErrUnknownAccessKey. An
// expired temporary key is returned with its Expiration in the past, so the
// verifier answers ExpiredToken.
//
// It is on the path of every signed request, so answers are cached in
// memory: writes through this Service drop the keys they touch at once, and
// an entry is re-read after the cache TTL (for writes by other processes).
func (s *Service) LookupAccessKey(ctx context.Context, id string) (sigv4.Credential, error) {
	now := s.now()
	if e, ok := s.keys.get(id); ok && now.Sub(e.loaded) < s.ttl {
		return s.keys.answer(id, e, now)
	}
	gen := s.keys.generation()
	var k keyRec
	found := true
	err := s.st.View(ctx, func(tx store.Tx) error {
		_, err := getJSON(tx, tblAccessKeys, id, &k)
		if errors.Is(err, store.ErrNotFound) {
			found = false
			return nil
		}
		return err
	})
	if err != nil {
		return sigv4.Credential{}, fmt.Errorf("iam: look up access key: %w", err)
	}
	e := &keyEntry{loaded: now}
	if found && k.Status == statusActive {
		p := k.Principal
		p.AccessKeyID = id
		e.known = true
		e.cred = sigv4.Credential{AccessKeyID: id, SecretAccessKey: k.Secret, SessionToken: k.SessionToken,
			Expiration: k.Expiration, Subject: &p}
	}
	s.keys.put(id, e, gen)
	return s.keys.answer(id, e, now)
}

// TemporaryCredentials are credentials issued by STS.
type TemporaryCredentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	Expiration      time.Time
}

// IssueTemporaryCredentials stores a new temporary access key (ASIA…) for
// p, valid until expiration, and returns it. p describes the identity the
// key acts as (its AccessKeyID is filled in here; Temporary is set).
func (s *Service) IssueTemporaryCredentials(ctx context.Context, p principal.Principal, expiration time.Time) (TemporaryCredentials, error) {
	p.Temporary = true
	k := keyRec{Secret: newSecret(), Status: statusActive, Created: s.stamp(), SessionToken: newSessionToken(),
		Expiration: expiration.UTC(), Principal: p}
	var id string
	err := s.st.Update(ctx, func(tx store.Tx) error {
		var err error
		if id, err = insertKey(tx, "ASIA", &k); err != nil {
			return err
		}
		_, err = tx.Put(tblKeyExpiry, expiryKey(k.Expiration, id), []byte("{}"))
		return err
	})
	s.keys.forget(id)
	if err != nil {
		return TemporaryCredentials{}, err
	}
	return TemporaryCredentials{AccessKeyID: id, SecretAccessKey: k.Secret, SessionToken: k.SessionToken, Expiration: k.Expiration}, nil
}

// expiryTime formats expiry index keys; fixed width, so byte order is time
// order.
const expiryTime = "2006-01-02T15:04:05Z"

func expiryKey(t time.Time, id string) string { return t.UTC().Format(expiryTime) + "/" + id }

// SweepExpiredKeys deletes the temporary keys that expired before before
// and returns how many it deleted. The server calls it from its periodic
// maintenance loop; keys are refused once expired whether or not they have
// been swept.
func (s *Service) SweepExpiredKeys(ctx context.Context, before time.Time) (int, error) {
	bound := before.UTC().Format(expiryTime)
	total := 0
	for {
		n := 0
		var ids []string
		err := s.st.Update(ctx, func(tx store.Tx) error {
			items, err := tx.Scan(tblKeyExpiry, "", "", 500)
			if err != nil {
				return err
			}
			for _, it := range items {
				if it.Key >= bound {
					break
				}
				id := lastSegment(it.Key)
				if err := deleteIfExists(tx, tblAccessKeys, id); err != nil {
					return err
				}
				if err := tx.Delete(tblKeyExpiry, it.Key); err != nil {
					return err
				}
				ids = append(ids, id)
				n++
			}
			return nil
		})
		for _, id := range ids {
			s.keys.forget(id)
		}
		total += n
		if err != nil || n < 500 {
			return total, err
		}
	}
}

// keyCache caches LookupAccessKey answers.
type keyCache struct {
	mu      sync.RWMutex
	gen     uint64 // bumped by forget; a load that raced a forget is not kept
	entries map[string]*keyEntry
	used    sync.Map // access key ID → *atomic.Int64 (unix seconds)
}

type keyEntry struct {
	known  bool
	cred   sigv4.Credential
	loaded time.Time
}

// maxCachedKeys bounds the cache; past it the cache starts over.
const maxCachedKeys = 1 << 16

func newKeyCache() *keyCache { return &keyCache{entries: map[string]*keyEntry{}} }

func (c *keyCache) get(id string) (*keyEntry, bool) {
	c.mu.RLock()
	e, ok := c.entries[id]
	c.mu.RUnlock()
	return e, ok
}

func (c *keyCache) generation() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen
}

func (c *keyCache) put(id string, e *keyEntry, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if len(c.entries) >= maxCachedKeys {
		clear(c.entries)
	}
	c.entries[id] = e
}

func (c *keyCache) forget(id string) {
	if id == "" {
		return
	}
	c.mu.Lock()
	delete(c.entries, id)
	c.gen++
	c.mu.Unlock()
}

func (c *keyCache) answer(id string, e *keyEntry, now time.Time) (sigv4.Credential, error) {
	if !e.known {
		return sigv4.Credential{}, fmt.Errorf("%w: %s", sigv4.ErrUnknownAccessKey, id)
	}
	c.touch(id, now)
	return e.cred, nil
}

// touch records that id was presented at now (kept to the minute, so the
// hot path rarely writes).
func (c *keyCache) touch(id string, now time.Time) {
	sec := now.Unix()
	v, ok := c.used.Load(id)
	if !ok {
		v, _ = c.used.LoadOrStore(id, new(atomic.Int64))
	}
	last := v.(*atomic.Int64)
	if old := last.Load(); sec-old >= 60 {
		last.CompareAndSwap(old, sec)
	}
}

func (c *keyCache) lastUsed(id string) (time.Time, bool) {
	v, ok := c.used.Load(id)
	if !ok {
		return time.Time{}, false
	}
	sec := v.(*atomic.Int64).Load()
	if sec == 0 {
		return time.Time{}, false
	}
	return time.Unix(sec, 0), true
}
