package ecs

import (
	"sync"

	"github.com/wharfhq/wharf/internal/store"
)

// revCache keeps decoded records by key and revision for the service
// scheduler's passes, so that a pass decodes only the services and tasks
// that changed since the previous one. Entries a pass did not see are
// dropped at its end (sweep). A hit is a shallow copy: the scheduler only
// reads the records it gets.
type revCache[T any] struct {
	mu  sync.Mutex
	gen uint64
	m   map[string]revEntry[T]
}

type revEntry[T any] struct {
	rev int64
	gen uint64
	val T
}

// decode returns the record of it (tenant is the tenant's key prefix).
func (c *revCache[T]) decode(tenant string, it store.Item) (T, error) {
	k := tenant + "|" + it.Key
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[k]; ok && e.rev == it.Revision {
		e.gen = c.gen
		c.m[k] = e
		return e.val, nil
	}
	v, err := decode[T](it)
	if err != nil {
		return v, err
	}
	if c.m == nil {
		c.m = map[string]revEntry[T]{}
	}
	c.m[k] = revEntry[T]{rev: it.Revision, gen: c.gen, val: v}
	return v, nil
}

// sweep ends a pass: it drops what the pass did not see.
func (c *revCache[T]) sweep() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.m {
		if e.gen != c.gen {
			delete(c.m, k)
		}
	}
	c.gen++
}

// passCache is what the scheduler's passes keep between them.
type passCache struct {
	tasks    revCache[taskRec]
	services revCache[serviceRec]
	stats    passStats // per-service counts for the Prometheus collector (prom.go)
}
