package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
)

// conn is one SQLite connection that the store holds for its whole life,
// with its statements prepared once. Holding connections, rather than
// taking them from database/sql's pool per transaction, keeps the
// per-transaction cost to a BEGIN and a COMMIT or ROLLBACK: database/sql's
// own transactions start a goroutine per transaction and per query to
// watch the context, which costs more than a point read.
type conn struct {
	sc                      *sql.Conn
	stmts                   stmts // nil for statements this connection never runs
	begin, commit, rollback *sql.Stmt
}

// openConn takes a connection from db and prepares the first n statements
// of queries on it, and BEGIN (as begin says), COMMIT and ROLLBACK.
func openConn(ctx context.Context, db *sql.DB, n stmtID, begin string) (_ *conn, err error) {
	sc, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	c := &conn{sc: sc}
	defer func() {
		if err != nil {
			c.discard() // c, not the named result, which is nil by now
		}
	}()
	prep := func(q string) (*sql.Stmt, error) {
		st, err := sc.PrepareContext(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("prepare %q: %w", q, err)
		}
		return st, nil
	}
	for id := range n {
		if c.stmts[id], err = prep(queries[id]); err != nil {
			return nil, err
		}
	}
	if c.begin, err = prep(begin); err != nil {
		return nil, err
	}
	if c.commit, err = prep("COMMIT"); err != nil {
		return nil, err
	}
	if c.rollback, err = prep("ROLLBACK"); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *conn) closeStmts() error {
	var errs []error
	for _, st := range append(c.stmts[:], c.begin, c.commit, c.rollback) {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(errs...)
}

// close gives the connection back to its pool, to be closed with it.
func (c *conn) close() error {
	return errors.Join(c.closeStmts(), c.sc.Close())
}

// discard closes the connection for good, for when its state is unknown
// (a ROLLBACK failed): database/sql drops a connection whose Raw function
// reports driver.ErrBadConn.
func (c *conn) discard() {
	_ = c.closeStmts()
	_ = c.sc.Raw(func(any) error { return driver.ErrBadConn })
	_ = c.sc.Close()
}
