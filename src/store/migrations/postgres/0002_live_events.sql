-- 0002_live_events: portal_live_events, the append-only log every live view
-- is folded from, and the bearer tokens producers write it with.
-- seq is not a sequence: a sequence hands out numbers in the order writers
-- ask, not the order they commit, and a reader that scans `seq > last` would
-- then skip a row committed late under a lower seq. portal_live_seq holds the
-- last seq handed out in one row that every appender locks (FOR UPDATE) for
-- the rest of its transaction, so seqs are gap-free and in commit order on
-- every replica. id is the producer's idempotency key.
-- data is TEXT, not JSONB: JSONB reorders keys and drops duplicates, and the
-- projection must be byte-identical to what SQLite gives for the same log.
CREATE TABLE portal_live_events (
	seq BIGINT PRIMARY KEY,
	id TEXT NOT NULL UNIQUE,
	ts BIGINT NOT NULL,           -- ms since the epoch, as the producer said
	source TEXT NOT NULL,
	type TEXT COLLATE "C" NOT NULL,
	project TEXT NOT NULL,
	session TEXT,
	data TEXT NOT NULL,           -- a JSON object
	received_at BIGINT NOT NULL   -- ms since the epoch, when it was stored
);

CREATE TABLE portal_live_seq (
	one BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),
	last BIGINT NOT NULL CHECK (last >= 0)
);

INSERT INTO portal_live_seq (one, last) VALUES (TRUE, 0);

-- Only the hash of a token's secret is kept; the token is shown once.
CREATE TABLE portal_tokens (
	id TEXT PRIMARY KEY,
	name TEXT COLLATE "C" NOT NULL UNIQUE,
	scopes TEXT NOT NULL,
	hash BYTEA NOT NULL,
	created_at BIGINT NOT NULL,
	revoked_at BIGINT
);
