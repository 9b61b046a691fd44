package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/tenancy"
)

// stmtID names one prepared statement. Read statements come first: the
// reader pool prepares only those.
type stmtID int

const (
	sGet stmtID = iota
	sScanGE
	sScanGT
	sScanGELT
	sScanGTLT
	sCountGE
	sCountGELT
	numReadStmts // the statements above are the ones View needs
)

const (
	sPut = numReadStmts + iota
	sInsertNew
	sUpdateIf
	sDelete
	sDeleteIf
	sDeleteRange
	sRevGet
	sRevSet
	numStmts
)

// scope is the first three columns of the primary key, bound as the first
// three arguments of every item statement.
const scope = `tbl = ? AND account = ? AND region = ?`

const scanCols = `SELECT key, value, rev FROM items WHERE ` + scope

var queries = [numStmts]string{
	sGet:       `SELECT value, rev FROM items WHERE ` + scope + ` AND key = ?`,
	sScanGE:    scanCols + ` AND key >= ? ORDER BY key LIMIT ?`,
	sScanGT:    scanCols + ` AND key > ? ORDER BY key LIMIT ?`,
	sScanGELT:  scanCols + ` AND key >= ? AND key < ? ORDER BY key LIMIT ?`,
	sScanGTLT:  scanCols + ` AND key > ? AND key < ? ORDER BY key LIMIT ?`,
	sCountGE:   `SELECT count(*) FROM items WHERE ` + scope + ` AND key >= ?`,
	sCountGELT: `SELECT count(*) FROM items WHERE ` + scope + ` AND key >= ? AND key < ?`,

	sPut: `INSERT INTO items (tbl, account, region, key, value, rev) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (tbl, account, region, key) DO UPDATE SET value = excluded.value, rev = excluded.rev`,
	sInsertNew:   `INSERT INTO items (tbl, account, region, key, value, rev) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
	sUpdateIf:    `UPDATE items SET value = ?, rev = ? WHERE ` + scope + ` AND key = ? AND rev = ?`,
	sDelete:      `DELETE FROM items WHERE ` + scope + ` AND key = ?`,
	sDeleteIf:    `DELETE FROM items WHERE ` + scope + ` AND key = ? AND rev = ?`,
	sDeleteRange: `DELETE FROM items WHERE ` + scope + ` AND key >= ? AND key < ?`,
	sRevGet:      `SELECT value FROM meta WHERE name = 'revision'`,
	sRevSet:      `UPDATE meta SET value = ? WHERE name = 'revision'`,
}

// stmts is a connection's prepared statements, indexed by stmtID.
type stmts [numStmts]*sql.Stmt

// tx implements store.Tx on one connection between its BEGIN and its
// COMMIT or ROLLBACK.
type tx struct {
	ctx   context.Context
	c     *conn
	write bool
	done  bool  // set when View/Update returns; the Tx must not be used after
	err   error // the first engine error; the transaction is then over

	account, region string
	accountErr      error
	regionErr       error

	rev       int64 // last revision handed out, valid when revLoaded
	revLoaded bool
	revDirty  bool
}

var _ store.Tx = (*tx)(nil)

var errTxDone = errors.New("sqlite: transaction used after its View or Update returned")

func newTx(ctx context.Context, c *conn, write bool) *tx {
	t := &tx{ctx: ctx, c: c, write: write}
	t.account, t.accountErr = tenancy.Account(ctx)
	t.region, t.regionErr = tenancy.Region(ctx)
	return t
}

func (t *tx) stmt(id stmtID) *sql.Stmt { return t.c.stmts[id] }

// begin checks that op may run on table tb and returns the (tbl, account,
// region) arguments that scope its rows.
func (t *tx) begin(op string, tb store.Table, writes bool) (tbl, account, region string, err error) {
	if t.done {
		return "", "", "", fmt.Errorf("sqlite: %s %s: %w", op, tb.Name, errTxDone)
	}
	if t.err != nil {
		return "", "", "", fmt.Errorf("sqlite: %s %s: transaction failed earlier: %w", op, tb.Name, t.err)
	}
	if writes && !t.write {
		return "", "", "", fmt.Errorf("sqlite: %s %s: %w", op, tb.Name, store.ErrReadOnly)
	}
	if tb.Name == "" {
		return "", "", "", fmt.Errorf("sqlite: %s: table has no name", op)
	}
	switch tb.Scope {
	case store.Regional:
		if t.accountErr != nil {
			return "", "", "", fmt.Errorf("sqlite: %s %s: %w: %w", op, tb.Name, store.ErrNoTenant, t.accountErr)
		}
		if t.regionErr != nil {
			return "", "", "", fmt.Errorf("sqlite: %s %s: %w: %w", op, tb.Name, store.ErrNoTenant, t.regionErr)
		}
		return tb.Name, t.account, t.region, nil
	case store.AccountWide:
		if t.accountErr != nil {
			return "", "", "", fmt.Errorf("sqlite: %s %s: %w: %w", op, tb.Name, store.ErrNoTenant, t.accountErr)
		}
		return tb.Name, t.account, "", nil
	case store.System:
		return tb.Name, "", "", nil
	default:
		return "", "", "", fmt.Errorf("sqlite: %s %s: unknown scope %d", op, tb.Name, tb.Scope)
	}
}

// fail records an engine error and wraps it, preferring the context's
// error once the context ended. After an engine error the transaction
// takes no more calls and Update does not commit it: SQLite may already
// have rolled it back (after an interrupt, a full disk, an I/O error), and
// later statements would then run outside any transaction.
func (t *tx) fail(op string, tb store.Table, err error) error {
	err = ctxErr(t.ctx, err)
	if t.err == nil {
		t.err = err
	}
	return fmt.Errorf("sqlite: %s %s: %w", op, tb.Name, err)
}

// blob binds s as a BLOB (never NULL, never TEXT); see migrations.go.
func blob(s string) []byte {
	if s == "" {
		return []byte{}
	}
	return []byte(s)
}

func value(v []byte) []byte {
	if v == nil {
		return []byte{}
	}
	return v
}

func (t *tx) Get(tb store.Table, key string) (store.Item, error) {
	tbl, acct, reg, err := t.begin("get", tb, false)
	if err != nil {
		return store.Item{}, err
	}
	it := store.Item{Key: key}
	err = t.stmt(sGet).QueryRowContext(t.ctx, tbl, acct, reg, blob(key)).Scan(&it.Value, &it.Revision)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Item{}, fmt.Errorf("sqlite: get %s %q: %w", tb.Name, key, store.ErrNotFound)
	}
	if err != nil {
		return store.Item{}, t.fail("get", tb, err)
	}
	it.Value = value(it.Value)
	return it, nil
}

// nextRev returns the revision the next write would take, loading the
// counter on the transaction's first write.
func (t *tx) nextRev() (int64, error) {
	if !t.revLoaded {
		if err := t.stmt(sRevGet).QueryRowContext(t.ctx).Scan(&t.rev); err != nil {
			return 0, fmt.Errorf("read revision counter: %w", err)
		}
		t.revLoaded = true
	}
	return t.rev + 1, nil
}

func (t *tx) tookRev(rev int64) {
	t.rev = rev
	t.revDirty = true
}

// saveRevision stores the counter before commit if the transaction wrote.
func (t *tx) saveRevision() error {
	if !t.revDirty {
		return nil
	}
	if _, err := t.stmt(sRevSet).ExecContext(t.ctx, t.rev); err != nil {
		return fmt.Errorf("save revision counter: %w", err)
	}
	t.revDirty = false
	return nil
}

func (t *tx) Put(tb store.Table, key string, val []byte) (int64, error) {
	tbl, acct, reg, err := t.begin("put", tb, true)
	if err != nil {
		return 0, err
	}
	rev, err := t.nextRev()
	if err != nil {
		return 0, t.fail("put", tb, err)
	}
	if _, err := t.stmt(sPut).ExecContext(t.ctx, tbl, acct, reg, blob(key), value(val), rev); err != nil {
		return 0, t.fail("put", tb, err)
	}
	t.tookRev(rev)
	return rev, nil
}

func (t *tx) PutIf(tb store.Table, key string, val []byte, want int64) (int64, error) {
	tbl, acct, reg, err := t.begin("put-if", tb, true)
	if err != nil {
		return 0, err
	}
	if want < 0 {
		return 0, fmt.Errorf("sqlite: put-if %s %q at revision %d: %w", tb.Name, key, want, store.ErrConflict)
	}
	rev, err := t.nextRev()
	if err != nil {
		return 0, t.fail("put-if", tb, err)
	}
	var res sql.Result
	if want == 0 {
		res, err = t.stmt(sInsertNew).ExecContext(t.ctx, tbl, acct, reg, blob(key), value(val), rev)
	} else {
		res, err = t.stmt(sUpdateIf).ExecContext(t.ctx, value(val), rev, tbl, acct, reg, blob(key), want)
	}
	if err != nil {
		return 0, t.fail("put-if", tb, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, t.fail("put-if", tb, err)
	}
	if n == 0 {
		return 0, fmt.Errorf("sqlite: put-if %s %q at revision %d: %w", tb.Name, key, want, store.ErrConflict)
	}
	t.tookRev(rev)
	return rev, nil
}

func (t *tx) Delete(tb store.Table, key string) error {
	tbl, acct, reg, err := t.begin("delete", tb, true)
	if err != nil {
		return err
	}
	res, err := t.stmt(sDelete).ExecContext(t.ctx, tbl, acct, reg, blob(key))
	if err != nil {
		return t.fail("delete", tb, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return t.fail("delete", tb, err)
	}
	if n == 0 {
		return fmt.Errorf("sqlite: delete %s %q: %w", tb.Name, key, store.ErrNotFound)
	}
	return nil
}

func (t *tx) DeleteIf(tb store.Table, key string, want int64) error {
	tbl, acct, reg, err := t.begin("delete-if", tb, true)
	if err != nil {
		return err
	}
	res, err := t.stmt(sDeleteIf).ExecContext(t.ctx, tbl, acct, reg, blob(key), want)
	if err != nil {
		return t.fail("delete-if", tb, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return t.fail("delete-if", tb, err)
	}
	if n > 0 {
		return nil
	}
	// Nothing deleted: tell a missing key from a moved one.
	var rev int64
	err = t.stmt(sGet).QueryRowContext(t.ctx, tbl, acct, reg, blob(key)).Scan(new([]byte), &rev)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlite: delete-if %s %q: %w", tb.Name, key, store.ErrNotFound)
	}
	if err != nil {
		return t.fail("delete-if", tb, err)
	}
	return fmt.Errorf("sqlite: delete-if %s %q at revision %d, stored %d: %w", tb.Name, key, want, rev, store.ErrConflict)
}

// prefixEnd returns the smallest string greater than every string that
// starts with prefix, and false if there is none (prefix is empty or all
// 0xFF bytes): drop trailing 0xFF bytes, then increment the last byte.
func prefixEnd(prefix string) (string, bool) {
	for i := len(prefix) - 1; i >= 0; i-- {
		if c := prefix[i]; c != 0xFF {
			return prefix[:i] + string([]byte{c + 1}), true
		}
	}
	return "", false
}

func (t *tx) Scan(tb store.Table, prefix, after string, limit int) ([]store.Item, error) {
	tbl, acct, reg, err := t.begin("scan", tb, false)
	if err != nil {
		return nil, err
	}
	// The range is [prefix, prefixEnd) narrowed by (after, …); as bounds on
	// the primary key it is one index range, never a LIKE or substr filter.
	lo, strict := prefix, false
	if after != "" && after >= prefix {
		lo, strict = after, true
	}
	end, bounded := prefixEnd(prefix)
	lim := int64(-1) // SQLite: no limit
	if limit > 0 {
		lim = int64(limit)
	}
	var rows *sql.Rows
	switch {
	case bounded && strict:
		rows, err = t.stmt(sScanGTLT).QueryContext(t.ctx, tbl, acct, reg, blob(lo), blob(end), lim)
	case bounded:
		rows, err = t.stmt(sScanGELT).QueryContext(t.ctx, tbl, acct, reg, blob(lo), blob(end), lim)
	case strict:
		rows, err = t.stmt(sScanGT).QueryContext(t.ctx, tbl, acct, reg, blob(lo), lim)
	default:
		rows, err = t.stmt(sScanGE).QueryContext(t.ctx, tbl, acct, reg, blob(lo), lim)
	}
	if err != nil {
		return nil, t.fail("scan", tb, err)
	}
	defer rows.Close()
	var items []store.Item
	if limit > 0 {
		items = make([]store.Item, 0, min(limit, 256))
	}
	var k sql.RawBytes
	for rows.Next() {
		var it store.Item
		if err := rows.Scan(&k, &it.Value, &it.Revision); err != nil {
			return nil, t.fail("scan", tb, err)
		}
		it.Key = string(k)
		it.Value = value(it.Value)
		items = append(items, it)
	}
	if err := rows.Err(); err != nil {
		return nil, t.fail("scan", tb, err)
	}
	return items, nil
}

func (t *tx) DeleteRange(tb store.Table, start, end string) (int, error) {
	tbl, acct, reg, err := t.begin("delete-range", tb, true)
	if err != nil {
		return 0, err
	}
	if end <= start {
		return 0, nil
	}
	res, err := t.stmt(sDeleteRange).ExecContext(t.ctx, tbl, acct, reg, blob(start), blob(end))
	if err != nil {
		return 0, t.fail("delete-range", tb, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, t.fail("delete-range", tb, err)
	}
	return int(n), nil
}

func (t *tx) Count(tb store.Table, prefix string) (int, error) {
	tbl, acct, reg, err := t.begin("count", tb, false)
	if err != nil {
		return 0, err
	}
	var n int
	if end, ok := prefixEnd(prefix); ok {
		err = t.stmt(sCountGELT).QueryRowContext(t.ctx, tbl, acct, reg, blob(prefix), blob(end)).Scan(&n)
	} else {
		err = t.stmt(sCountGE).QueryRowContext(t.ctx, tbl, acct, reg, blob(prefix)).Scan(&n)
	}
	if err != nil {
		return 0, t.fail("count", tb, err)
	}
	return n, nil
}
