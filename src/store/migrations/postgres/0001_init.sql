-- 0001_init: who this database is. One row, created once, never changed: the
-- instance id lets readiness notice a database that was swapped underneath a
-- running portal. The migrator wraps this file in its own transaction.
CREATE TABLE portal_instance (
	id TEXT PRIMARY KEY,
	created_at BIGINT NOT NULL -- ms since the epoch
);

-- 32 hex digits, as SQLite's lower(hex(randomblob(16))).
INSERT INTO portal_instance (id, created_at)
VALUES (replace(gen_random_uuid()::text, '-', ''),
	(extract(epoch FROM clock_timestamp()) * 1000)::bigint);
