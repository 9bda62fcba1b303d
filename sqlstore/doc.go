// Package sqlstore implements jeton.Store on SQLite (the embedded default)
// and PostgreSQL (for several instances sharing one database).
//
// Both dialects run the same SQL; the few differences (placeholders, the
// auto-increment column, the migration lock) are methods on a dialect, not
// branches in queries. Timestamps are stored as Unix microseconds and
// binary values as text, so the schema is identical on both. The
// conformance suite in sqlstore/storetest runs against each.
package sqlstore
