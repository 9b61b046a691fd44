package ecs

import (
	"context"
	"sync"

	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/tenancy"
)

// instanceCache keeps decoded container instance records by tenant, key
// and revision, so that a RunTask snapshot decodes only the instances that
// changed since the previous one. A hit is a shallow copy: the code that
// changes a snapshot record (reserve, release) clones what it modifies.
type instanceCache struct {
	mu sync.Mutex
	m  map[string]cachedInstance
}

type cachedInstance struct {
	rev int64
	rec instanceRec
}

// decode returns the record of item it, from the cache when its revision
// is the cached one.
func (c *instanceCache) decode(ctx context.Context, it store.Item) (instanceRec, error) {
	acct, _ := tenancy.Account(ctx)
	region, _ := tenancy.Region(ctx)
	k := acct + "|" + region + "|" + it.Key
	c.mu.Lock()
	e, ok := c.m[k]
	c.mu.Unlock()
	if ok && e.rev == it.Revision {
		return e.rec, nil
	}
	r, err := decode[instanceRec](it)
	if err != nil {
		return r, err
	}
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]cachedInstance{}
	}
	c.m[k] = cachedInstance{it.Revision, r}
	c.mu.Unlock()
	return r, nil
}
