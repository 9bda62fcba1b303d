package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
)

// SQLite compiles a statement on every ExecContext/QueryContext of
// modernc's conn: nothing caches prepared statements, and compiling costs
// as much as running most of jeton's (and River's) statements. cacheConn
// hides ExecerContext/QueryerContext, so database/sql prepares through it,
// and keeps each connection's statements by SQL text for reuse.

const maxCachedStmts = 512

type cacheConnector struct {
	dsn string
	drv driver.Driver
}

func newCacheConnector(dsn string) (*cacheConnector, error) {
	probe, err := sql.Open("sqlite", dsn) // opens no connection; only finds the driver
	if err != nil {
		return nil, err
	}
	drv := probe.Driver()
	probe.Close()
	return &cacheConnector{dsn: dsn, drv: drv}, nil
}

func (c *cacheConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return &cacheConn{Conn: conn, stmts: map[string]*cachedStmt{}}, nil
}

func (c *cacheConnector) Driver() driver.Driver { return c.drv }

type cacheConn struct {
	driver.Conn
	stmts map[string]*cachedStmt
}

type cachedStmt struct {
	driver.Stmt
	busy bool
	conn *cacheConn
	q    string
}

// Close returns the statement to the cache.
func (s *cachedStmt) Close() error { s.busy = false; return nil }

func (s *cachedStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	return s.Stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (s *cachedStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	return s.Stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
}

func (c *cacheConn) prepare(ctx context.Context, q string) (driver.Stmt, error) {
	if p, ok := c.Conn.(driver.ConnPrepareContext); ok {
		return p.PrepareContext(ctx, q)
	}
	return c.Conn.Prepare(q)
}

func (c *cacheConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	if s := c.stmts[q]; s != nil {
		if !s.busy {
			s.busy = true
			return s, nil
		}
		return c.prepare(ctx, q) // in use (an open Rows): a one-off
	}
	st, err := c.prepare(ctx, q)
	if err != nil {
		return nil, err
	}
	if len(c.stmts) >= maxCachedStmts {
		for k, s := range c.stmts {
			if !s.busy {
				s.Stmt.Close()
				delete(c.stmts, k)
				break
			}
		}
	}
	s := &cachedStmt{Stmt: st, busy: true, conn: c, q: q}
	c.stmts[q] = s
	return s, nil
}

func (c *cacheConn) Prepare(q string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), q)
}

func (c *cacheConn) Close() error {
	for _, s := range c.stmts {
		s.Stmt.Close()
	}
	c.stmts = nil
	return c.Conn.Close()
}

func (c *cacheConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if b, ok := c.Conn.(driver.ConnBeginTx); ok {
		return b.BeginTx(ctx, opts)
	}
	return c.Conn.Begin() //nolint:staticcheck
}

func (c *cacheConn) Ping(ctx context.Context) error {
	if p, ok := c.Conn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (c *cacheConn) ResetSession(ctx context.Context) error {
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *cacheConn) IsValid() bool {
	if v, ok := c.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}
