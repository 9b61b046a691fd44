// Package store is Wharf's state store: ordered key/value tables of JSON
// documents with revisions, read and written in transactions, scoped by the
// tenant (account, region) carried in the context.
//
// Domain packages keep their own typed repositories on top of it: they
// choose table names and composite keys (for example
// "cluster/default/task/4f1c…") and keep secondary index entries in the same
// transaction. Revisions give optimistic concurrency: PutIf writes only when
// the stored revision is still the one the caller read.
//
// Two engines implement it: SQLite (embedded, the default; package
// store/sqlite) and, later, PostgreSQL. Both must pass the conformance suite
// in package store/storetest.
package store

import (
	"context"
	"errors"
)

// Errors returned by every engine. Engines wrap them with context; callers
// test with errors.Is.
var (
	// ErrNotFound: no item under that key.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict: PutIf or DeleteIf found a different revision than expected.
	ErrConflict = errors.New("store: revision conflict")
	// ErrNoTenant: the context lacks the account or region a table's scope needs.
	ErrNoTenant = errors.New("store: context has no tenant for this table's scope")
	// ErrReadOnly: a write inside View.
	ErrReadOnly = errors.New("store: write in a read-only transaction")
)

// Scope says which part of the tenant a table's rows belong to.
type Scope int

const (
	// Regional tables are scoped by account and region (ECS clusters, ECR
	// repositories, log groups…).
	Regional Scope = iota
	// AccountWide tables are scoped by account only (IAM users, roles…).
	AccountWide
	// System tables have no tenant (the access-key index used to find the
	// account of a signed request, server settings).
	System
)

// Table names a table and its scope. Declare tables as package-level
// variables in the domain package that owns them.
type Table struct {
	Name  string
	Scope Scope
}

// Item is one stored document.
type Item struct {
	Key      string
	Value    []byte
	Revision int64 // > 0; increases on every write of the key
}

// Tx is a transaction. All keys are within the tenant scope of the context
// the transaction was opened with.
type Tx interface {
	// Get returns the item under key, or ErrNotFound.
	Get(t Table, key string) (Item, error)
	// Put writes value under key unconditionally and returns the new revision.
	Put(t Table, key string, value []byte) (int64, error)
	// PutIf writes value only if the current revision of key equals rev
	// (rev 0 means "must not exist"); otherwise ErrConflict.
	PutIf(t Table, key string, value []byte, rev int64) (int64, error)
	// Delete removes key; ErrNotFound if absent.
	Delete(t Table, key string) error
	// DeleteIf removes key only at revision rev; otherwise ErrConflict
	// (ErrNotFound if absent).
	DeleteIf(t Table, key string, rev int64) error
	// Scan returns up to limit items (limit <= 0: all) whose key starts with
	// prefix and sorts strictly after `after`, in ascending byte order of key.
	Scan(t Table, prefix, after string, limit int) ([]Item, error)
	// DeleteRange removes every key k with start <= k < end and returns how
	// many it removed (retention sweeps use it on time-ordered keys).
	DeleteRange(t Table, start, end string) (int, error)
	// Count returns the number of items whose key starts with prefix.
	Count(t Table, prefix string) (int, error)
}

// Store opens transactions.
type Store interface {
	// View runs fn in a read-only transaction.
	View(ctx context.Context, fn func(Tx) error) error
	// Update runs fn in a read-write transaction, committed if fn returns
	// nil and rolled back otherwise. Transactions are serializable.
	Update(ctx context.Context, fn func(Tx) error) error
	// Close releases the engine.
	Close() error
}
