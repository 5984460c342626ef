-- 0001_init: who this database is. One row, created once, never changed: the
-- instance id lets readiness notice a database that was swapped underneath a
-- running portal. The migrator wraps this file in its own transaction.
CREATE TABLE portal_instance (
	id TEXT PRIMARY KEY,
	created_at INTEGER NOT NULL -- ms since the epoch
);

INSERT INTO portal_instance (id, created_at)
VALUES (lower(hex(randomblob(16))),
	CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
