-- 0002_live_events: portal_live_events, the append-only log every live view
-- is folded from, and the bearer tokens producers write it with.
-- seq comes from AUTOINCREMENT so it only ever grows, even after a rollback
-- or a deletion; id is the producer's idempotency key.
CREATE TABLE portal_live_events (
	seq INTEGER PRIMARY KEY AUTOINCREMENT,
	id TEXT NOT NULL UNIQUE,
	ts INTEGER NOT NULL,          -- ms since the epoch, as the producer said
	source TEXT NOT NULL,
	type TEXT NOT NULL,
	project TEXT NOT NULL,
	session TEXT,
	data TEXT NOT NULL,           -- a JSON object
	received_at INTEGER NOT NULL  -- ms since the epoch, when it was stored
);

-- Only the hash of a token's secret is kept; the token is shown once.
CREATE TABLE portal_tokens (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL UNIQUE,
	scopes TEXT NOT NULL,
	hash BLOB NOT NULL,
	created_at INTEGER NOT NULL,
	revoked_at INTEGER
);
