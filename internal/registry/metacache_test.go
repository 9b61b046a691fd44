package registry

import (
	"testing"
	"time"
)

func TestCacheFresh(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		now  time.Time
		want bool
	}{
		{t0, true},
		{t0.Add(time.Second), true},
		{t0.Add(2*time.Second - time.Nanosecond), true},
		{t0.Add(2 * time.Second), false},
		{t0.Add(-time.Second), false}, // the clock went back: do not trust it
	} {
		if got := cacheFresh(t0, tc.now, 2*time.Second); got != tc.want {
			t.Errorf("cacheFresh(t0, t0%+v) = %v, want %v", tc.now.Sub(t0), got, tc.want)
		}
	}
}

func TestMetaCache(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := &metaCache{ttl: time.Second}
	m1 := manifestRec{Digest: "sha256:1", MediaType: "a", Size: 1, Blobs: []string{"x"}}
	if _, ok := c.get("r", "t", now); ok {
		t.Fatal("hit in an empty cache")
	}
	c.put("r", "t", m1, c.begin(), now)
	got, ok := c.get("r", "t", now)
	if !ok || got.Digest != "sha256:1" || got.Size != 1 || got.MediaType != "a" || got.Blobs != nil {
		t.Fatalf("get = %+v %v", got, ok)
	}
	if _, ok := c.get("r", "t", now.Add(time.Second)); ok {
		t.Fatal("hit past the TTL")
	}
	// A write that finishes during a fill keeps the fill out.
	gen := c.begin()
	c.invalidate("r")
	c.put("r", "t", m1, gen, now)
	if _, ok := c.get("r", "t", now); ok {
		t.Fatal("a value read before a write was inserted after it")
	}
	// Invalidation is per repository.
	c.put("r", "t", m1, c.begin(), now)
	c.put("s", "t", m1, c.begin(), now)
	c.invalidate("r")
	if _, ok := c.get("r", "t", now); ok {
		t.Fatal("invalidated repository still cached")
	}
	if _, ok := c.get("s", "t", now); !ok {
		t.Fatal("another repository was dropped")
	}
	if c.n != 1 {
		t.Fatalf("count %d, want 1", c.n)
	}
	// Bounded.
	for i := 0; i < maxCachedManifests+10; i++ {
		c.put("s", string(rune('a'+i%26))+time.Duration(i).String(), m1, c.begin(), now)
	}
	if c.n > maxCachedManifests {
		t.Fatalf("%d entries, bound %d", c.n, maxCachedManifests)
	}
	// Off.
	off := &metaCache{ttl: -1}
	off.put("r", "t", m1, off.begin(), now)
	if _, ok := off.get("r", "t", now); ok {
		t.Fatal("disabled cache answered")
	}
}
