package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/sqlite"
	"github.com/wharfhq/wharf/internal/tenancy"
)

var clusters = store.Table{Name: "ecs.clusters", Scope: store.Regional}

func Example() {
	dir, err := os.MkdirTemp("", "wharf-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	s, err := sqlite.Open(filepath.Join(dir, "state.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	ctx := tenancy.With(context.Background(), "123456789012", "us-east-1")

	// Create the cluster only if it does not exist yet.
	err = s.Update(ctx, func(tx store.Tx) error {
		_, err := tx.PutIf(clusters, "default", []byte(`{"status":"ACTIVE"}`), 0)
		return err
	})
	if err != nil {
		log.Fatal(err)
	}

	// Read it back, then update it at the revision read.
	var it store.Item
	err = s.View(ctx, func(tx store.Tx) error {
		it, err = tx.Get(clusters, "default")
		return err
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(it.Value))
	err = s.Update(ctx, func(tx store.Tx) error {
		_, err := tx.PutIf(clusters, "default", []byte(`{"status":"INACTIVE"}`), it.Revision)
		return err
	})
	fmt.Println("first update:", err)
	err = s.Update(ctx, func(tx store.Tx) error {
		_, err := tx.PutIf(clusters, "default", []byte(`{"status":"ACTIVE"}`), it.Revision)
		return err
	})
	fmt.Println("stale update conflicts:", errors.Is(err, store.ErrConflict))

	// Another region of the same account has its own clusters.
	other := tenancy.With(context.Background(), "123456789012", "eu-west-1")
	err = s.View(other, func(tx store.Tx) error {
		_, err := tx.Get(clusters, "default")
		return err
	})
	fmt.Println("other region:", errors.Is(err, store.ErrNotFound))
	// Output:
	// {"status":"ACTIVE"}
	// first update: <nil>
	// stale update conflicts: true
	// other region: true
}
