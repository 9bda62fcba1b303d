package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/jetonhq/jeton"
)

// Jobs creates the River client that works jeton's durable jobs on this
// database, and that the store's writes enqueue into inside their own
// transactions. cfg without Workers gives an insert-only client (the
// CLI). It must be called once, before any write that enqueues jobs.
func (db *DB) Jobs(cfg *river.Config) (*river.Client[*sql.Tx], error) {
	c, err := river.NewClient(db.d.riverDriver(db.w), cfg)
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	db.jobs.Store(c)
	return c, nil
}

var errNoJobs = errors.New("jobs: no job client configured")

// insertJobs enqueues jobs inside tx, so they exist exactly when the
// change that caused them does.
func (db *DB) insertJobs(ctx context.Context, tx *sql.Tx, jobs []jeton.Job) error {
	if len(jobs) == 0 {
		return nil
	}
	c := db.jobs.Load()
	if c == nil {
		return errNoJobs
	}
	params := make([]river.InsertManyParams, len(jobs))
	for i, j := range jobs {
		params[i] = river.InsertManyParams{Args: j}
	}
	if _, err := c.InsertManyFastTx(ctx, tx, params); err != nil {
		return fmt.Errorf("enqueue: %w", err)
	}
	return nil
}

// migrateRiver brings River's own tables up to date under the same guard
// as jeton's migrations.
func (db *DB) migrateRiver(ctx context.Context, conn *sql.Conn) error {
	m, err := rivermigrate.New(db.d.riverDriver(db.w), &rivermigrate.Config{Logger: quietLogger})
	if err != nil {
		return fmt.Errorf("river migrate: %w", err)
	}
	if db.d.sharedPool() {
		// PostgreSQL: River needs one transaction per version (enum
		// values); our advisory lock, held on conn, keeps other
		// processes out meanwhile.
		if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
			return fmt.Errorf("river migrate: %w", err)
		}
		return nil
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("river migrate: %w", err)
	}
	defer tx.Rollback()
	if _, err := m.MigrateTx(ctx, tx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("river migrate: %w", err)
	}
	return tx.Commit()
}

// quietLogger drops River's migration chatter; errors are returned.
var quietLogger = slog.New(slog.DiscardHandler)
