-- 0004_proposals: proposals (the only mutation gate) with their work queue,
-- and the audit log of every change of their state. States are stored by
-- name; the CHECKs repeat the names the program knows.
CREATE TABLE portal_proposals (
	id TEXT COLLATE "C" PRIMARY KEY, -- "p-" and 16 hex digits
	kind TEXT NOT NULL,
	project TEXT NOT NULL,
	proposer TEXT NOT NULL,         -- account name
	idempotency_key TEXT,           -- NULL when none was given
	input TEXT NOT NULL,            -- the validated input, JSON (TEXT: kept as given)
	state TEXT NOT NULL CHECK (state IN ('submitted', 'approved', 'queued', 'running',
		'executed', 'proving', 'proven', 'rejected', 'cancelled', 'failed')),
	attempts INTEGER NOT NULL DEFAULT 0,  -- execution attempts started
	created_at BIGINT NOT NULL,     -- ms since the epoch
	updated_at BIGINT NOT NULL,
	next_attempt_at BIGINT,         -- queued: not before this; NULL otherwise
	lease_owner TEXT,               -- running: the worker holding it
	lease_until BIGINT,             -- running: when its lease ends
	last_error TEXT NOT NULL DEFAULT '',
	evidence TEXT,                  -- executed: JSON
	UNIQUE (proposer, idempotency_key)
);

-- The queue: due queued ones, and running ones whose lease ran out.
CREATE INDEX portal_proposals_queue ON portal_proposals (state, next_attempt_at);
CREATE INDEX portal_proposals_created ON portal_proposals (created_at);

-- A hash chain (core/audit.h): each row's hash covers the previous row's
-- hash and its own fields. from_state is '' on a proposal's first row.
CREATE TABLE portal_audit (
	seq BIGINT PRIMARY KEY,
	proposal TEXT NOT NULL REFERENCES portal_proposals (id),
	from_state TEXT NOT NULL,
	to_state TEXT NOT NULL,
	actor TEXT NOT NULL,
	at BIGINT NOT NULL,             -- ms since the epoch
	reason TEXT NOT NULL DEFAULT '',
	prev BYTEA NOT NULL CHECK (length(prev) = 32),
	hash BYTEA NOT NULL CHECK (length(hash) = 32)
);

CREATE INDEX portal_audit_proposal ON portal_audit (proposal, seq);

-- The chain stays one chain with writers on many replicas: each appender
-- locks this row (FOR UPDATE) before it reads the last hash, so appends take
-- turns. last is the last seq handed out, deleted rows included, as SQLite's
-- AUTOINCREMENT keeps it.
CREATE TABLE portal_audit_tail (
	one BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),
	last BIGINT NOT NULL CHECK (last >= 0)
);

INSERT INTO portal_audit_tail (one, last) VALUES (TRUE, 0);

-- Append-only: a mistaken UPDATE, DELETE or TRUNCATE is refused outright.
-- Someone who drops these triggers first is caught by `portal check --audit`
-- instead.
CREATE FUNCTION portal_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'portal_audit is append-only';
END
$$;

CREATE TRIGGER portal_audit_no_update BEFORE UPDATE ON portal_audit
	FOR EACH ROW EXECUTE FUNCTION portal_audit_append_only();

CREATE TRIGGER portal_audit_no_delete BEFORE DELETE ON portal_audit
	FOR EACH ROW EXECUTE FUNCTION portal_audit_append_only();

CREATE TRIGGER portal_audit_no_truncate BEFORE TRUNCATE ON portal_audit
	FOR EACH STATEMENT EXECUTE FUNCTION portal_audit_append_only();
