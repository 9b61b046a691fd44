package sqlite

// Persistent layout of the SQLite state store.
//
// One database file (plus its -wal and -shm files) holds every table of the
// store.Store contract in a single physical table:
//
//	items(tbl TEXT, account TEXT, region TEXT, key BLOB, value BLOB, rev INTEGER)
//	    PRIMARY KEY (tbl, account, region, key)  WITHOUT ROWID
//
//   - tbl is store.Table.Name.
//   - account and region are the tenant the row belongs to, from
//     tenancy.Account/Region of the transaction's context. A
//     store.AccountWide table stores region "", a store.System table stores
//     account "" and region "". Because the primary key starts with
//     (tbl, account, region), every Scan, Count and DeleteRange is one
//     contiguous range of the clustered index, and no query can reach
//     another tenant's rows.
//   - key is the caller's key bound as a BLOB, never as TEXT: SQLite
//     compares BLOBs with memcmp, which is exactly Go's string order, and a
//     BLOB keeps any byte (0x00, 0xFF, invalid UTF-8) unchanged. Mixing
//     TEXT and BLOB keys would break the order (SQLite sorts all TEXT before
//     all BLOB), so every statement binds keys as []byte.
//   - value is the document, a BLOB, never NULL (an empty value is x'').
//   - rev is the item's revision, see below.
//
//	meta(name TEXT PRIMARY KEY, value INTEGER) WITHOUT ROWID
//
// holds named counters. meta['revision'] is the last revision handed out.
//
// A revision is a number drawn from one counter for the whole database:
// every successful write (Put, PutIf) takes counter+1, and the new counter
// is stored in meta in the same transaction, so the number is durable
// exactly when the write is. Revisions therefore increase across all keys
// and never repeat, not even after a key is deleted and created again;
// that is what makes PutIf safe against the ABA problem (a reader holding
// revision 7 of a key that was since deleted and recreated cannot succeed
// with PutIf(…, 7)). Gaps are normal. Deletes take no revision.
//
//	schema_migrations(version INTEGER PRIMARY KEY, name TEXT, applied_at INTEGER)
//
// records which entries of the migrations list below have been applied
// (applied_at is informational, Unix seconds). Open applies the missing
// ones, in order, in one transaction, and refuses a database whose
// highest version is newer than this binary knows.
//
// To change the layout, append a migration; never edit or reorder one that
// has shipped.

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
)

// migration is one step of the schema, applied exactly once per database.
type migration struct {
	version int    // 1, 2, 3…: strictly increasing, no gaps
	name    string // what it does, for logs and schema_migrations
	stmts   []string
}

// migrations is the ordered history of the schema. Append only.
var migrations = []migration{
	{
		version: 1,
		name:    "items and revision counter",
		stmts: []string{
			`CREATE TABLE items (
				tbl     TEXT    NOT NULL,
				account TEXT    NOT NULL,
				region  TEXT    NOT NULL,
				key     BLOB    NOT NULL,
				value   BLOB    NOT NULL,
				rev     INTEGER NOT NULL,
				PRIMARY KEY (tbl, account, region, key)
			) WITHOUT ROWID`,
			`CREATE TABLE meta (
				name  TEXT    NOT NULL PRIMARY KEY,
				value INTEGER NOT NULL
			) WITHOUT ROWID`,
			`INSERT INTO meta (name, value) VALUES ('revision', 0)`,
		},
	},
}

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    INTEGER NOT NULL PRIMARY KEY,
	name       TEXT    NOT NULL,
	applied_at INTEGER NOT NULL
)`

// migrate brings the database at db up to the last migration in one
// transaction. db must be the writer, so the transaction is BEGIN IMMEDIATE
// and two processes opening the same file cannot both apply a step.
func migrate(ctx context.Context, db *sql.DB, log *slog.Logger) (err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if _, err := tx.ExecContext(ctx, createMigrationsTable); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	var current int
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	latest := migrations[len(migrations)-1].version
	if current > latest {
		return fmt.Errorf("database schema version %d is newer than this binary's %d", current, latest)
	}
	for _, m := range migrations {
		if m.version <= current {
			continue
		}
		for _, s := range m.stmts {
			if _, err := tx.ExecContext(ctx, s); err != nil {
				return fmt.Errorf("migration %d (%s): %w", m.version, m.name, err)
			}
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, CAST(strftime('%s', 'now') AS INTEGER))`,
			m.version, m.name); err != nil {
			return fmt.Errorf("record migration %d: %w", m.version, err)
		}
		log.Info("store migration applied", "version", m.version, "name", m.name)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}
