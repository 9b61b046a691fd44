package tenancy

import (
	"context"
	"errors"
	"strings"

	"github.com/wharfhq/wharf/internal/store"
)

// Index is a system table that lists the tenants (account and region)
// holding state of one kind, so a background loop that has no request to
// take a tenant from can visit each of them.
type Index struct{ table store.Table }

// NewIndex returns the index kept in the system table name.
func NewIndex(name string) Index {
	return Index{table: store.Table{Name: name, Scope: store.System}}
}

// Remember records the tenant of ctx, inside the caller's transaction.
func (ix Index) Remember(ctx context.Context, tx store.Tx) error {
	a, err := Account(ctx)
	if err != nil {
		return err
	}
	r, err := Region(ctx)
	if err != nil {
		return err
	}
	key := a + "/" + r
	if _, err := tx.Get(ix.table, key); err == nil {
		return nil
	}
	_, err = tx.Put(ix.table, key, []byte("{}"))
	return err
}

// ForEach calls fn with a context acting in each remembered tenant; it
// visits every tenant even when some fail, and returns their errors
// joined.
func (ix Index) ForEach(ctx context.Context, st store.Store, fn func(ctx context.Context) error) error {
	var keys []string
	err := st.View(ctx, func(tx store.Tx) error {
		items, err := tx.Scan(ix.table, "", "", 0)
		for _, it := range items {
			keys = append(keys, it.Key)
		}
		return err
	})
	if err != nil {
		return err
	}
	var errsList []error
	for _, k := range keys {
		acct, region, ok := strings.Cut(k, "/")
		if !ok {
			continue
		}
		if err := fn(With(ctx, acct, region)); err != nil {
			errsList = append(errsList, err)
		}
	}
	return errors.Join(errsList...)
}
