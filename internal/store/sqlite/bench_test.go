package sqlite

import (
	"fmt"
	"testing"

	"github.com/wharfhq/wharf/internal/store"
)

// benchValue is the size of a typical small document (a task, a service).
var benchValue = []byte(`{"taskArn":"arn:aws:ecs:us-east-1:123456789012:task/default/4f1c2d9e8b7a4c6d9e0f1a2b3c4d5e6f","lastStatus":"RUNNING","desiredStatus":"RUNNING","cpu":"256","memory":"512","containers":[{"name":"web","image":"nginx:latest"}]}`)

// BenchmarkSQLite measures single operations, each in its own transaction
// as a request handler would run them, on a store with 10,000 items.
//
//	go test -run '^$' -bench SQLite ./internal/store/sqlite/
func BenchmarkSQLite(b *testing.B) {
	const n = 10_000
	key := func(i int) string { return fmt.Sprintf("cluster/default/task/%08d", i%n) }
	s := openTemp(b)
	defer s.Close()
	for lo := 0; lo < n; lo += 1000 {
		err := s.Update(tctx, func(tx store.Tx) error {
			for i := lo; i < lo+1000; i++ {
				if _, err := tx.Put(items, key(i), benchValue); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}

	b.Run("Put", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			err := s.Update(tctx, func(tx store.Tx) error {
				_, err := tx.Put(items, key(i), benchValue)
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Get", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			err := s.View(tctx, func(tx store.Tx) error {
				_, err := tx.Get(items, key(i*7919))
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("GetParallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				i++
				err := s.View(tctx, func(tx store.Tx) error {
					_, err := tx.Get(items, key(i*7919))
					return err
				})
				if err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("Scan100", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			after := key(i * 101 % (n - 200))
			err := s.View(tctx, func(tx store.Tx) error {
				got, err := tx.Scan(items, "cluster/default/task/", after, 100)
				if err == nil && len(got) != 100 {
					err = fmt.Errorf("scan returned %d items", len(got))
				}
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("PutIf", func(b *testing.B) {
		// Read-modify-write in one Update, as a reconciler does.
		for i := 0; b.Loop(); i++ {
			err := s.Update(tctx, func(tx store.Tx) error {
				it, err := tx.Get(items, key(i))
				if err != nil {
					return err
				}
				_, err = tx.PutIf(items, key(i), benchValue, it.Revision)
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Put10PerTx", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			err := s.Update(tctx, func(tx store.Tx) error {
				for j := range 10 {
					if _, err := tx.Put(items, key(i*10+j), benchValue); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}
