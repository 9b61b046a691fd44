package tenancy_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/sqlite"
	"github.com/wharfhq/wharf/internal/tenancy"
)

func TestIndex(t *testing.T) {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ix := tenancy.NewIndex("test-tenants")
	ctx := context.Background()
	for _, tn := range [][2]string{{"111111111111", "us-east-1"}, {"222222222222", "eu-west-1"}, {"111111111111", "us-east-1"}} {
		tctx := tenancy.With(ctx, tn[0], tn[1])
		if err := st.Update(tctx, func(tx store.Tx) error { return ix.Remember(tctx, tx) }); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Update(ctx, func(tx store.Tx) error { return ix.Remember(ctx, tx) }); err == nil {
		t.Error("Remember without a tenant in the context succeeded")
	}
	var got []string
	err = ix.ForEach(ctx, st, func(ctx context.Context) error {
		a, _ := tenancy.Account(ctx)
		r, _ := tenancy.Region(ctx)
		got = append(got, a+"/"+r)
		return nil
	})
	slices.Sort(got)
	if err != nil || !slices.Equal(got, []string{"111111111111/us-east-1", "222222222222/eu-west-1"}) {
		t.Errorf("ForEach visited %v (%v); want each tenant once", got, err)
	}
}
