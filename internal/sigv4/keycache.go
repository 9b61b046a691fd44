package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"strings"
	"sync"
)

// keyCacheGeneration is how many derived keys one generation of the cache
// holds; the cache holds at most two generations. A derived key is valid for
// one day, region and service, so even a busy server needs few.
const keyCacheGeneration = 512

type keyCacheKey struct{ secret, date, region, service string }

// keyCache remembers derived signing keys. It is a two-generation cache: hits
// in the old generation are promoted, and when the current one fills up it
// becomes the old one, so its size is bounded and recently used keys stay.
// The zero value is ready to use.
type keyCache struct {
	mu       sync.Mutex
	cur, old map[keyCacheKey][32]byte
}

// signingKey returns the SigV4 signing key for secret on date (YYYYMMDD) in
// region for service.
func (c *keyCache) signingKey(secret, date, region, service string) [32]byte {
	k := keyCacheKey{secret, date, region, service}
	c.mu.Lock()
	if v, ok := c.cur[k]; ok {
		c.mu.Unlock()
		return v
	}
	v, ok := c.old[k]
	c.mu.Unlock()
	if !ok {
		v = deriveSigningKey(secret, date, region, service)
	}
	// The key's strings may point into a request; keep copies.
	k = keyCacheKey{strings.Clone(secret), strings.Clone(date), strings.Clone(region), strings.Clone(service)}
	c.mu.Lock()
	if len(c.cur) >= keyCacheGeneration {
		c.old, c.cur = c.cur, nil
	}
	if c.cur == nil {
		c.cur = make(map[keyCacheKey][32]byte, keyCacheGeneration)
	}
	c.cur[k] = v
	c.mu.Unlock()
	return v
}

func (c *keyCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.cur) + len(c.old)
}

// deriveSigningKey computes
// HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request").
func deriveSigningKey(secret, date, region, service string) [32]byte {
	key := []byte("AWS4" + secret)
	for _, part := range [...]string{date, region, service, terminator} {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(part))
		key = m.Sum(nil)
	}
	return [32]byte(key)
}
