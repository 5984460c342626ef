-- 0004_proposals: proposals (the only mutation gate) with their work queue,
-- and the audit log of every change of their state. States are stored by
-- name so the file reads plainly with the sqlite3 shell; the CHECKs repeat
-- the names the program knows.
CREATE TABLE portal_proposals (
	id TEXT PRIMARY KEY,            -- "p-" and 16 hex digits
	kind TEXT NOT NULL,
	project TEXT NOT NULL,
	proposer TEXT NOT NULL,         -- account name
	idempotency_key TEXT,           -- NULL when none was given
	input TEXT NOT NULL,            -- the validated input, JSON
	state TEXT NOT NULL CHECK (state IN ('submitted', 'approved', 'queued', 'running',
		'executed', 'proving', 'proven', 'rejected', 'cancelled', 'failed')),
	attempts INTEGER NOT NULL DEFAULT 0,  -- execution attempts started
	created_at INTEGER NOT NULL,    -- ms since the epoch
	updated_at INTEGER NOT NULL,
	next_attempt_at INTEGER,        -- queued: not before this; NULL otherwise
	lease_owner TEXT,               -- running: the worker holding it
	lease_until INTEGER,            -- running: when its lease ends
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
	seq INTEGER PRIMARY KEY AUTOINCREMENT,
	proposal TEXT NOT NULL REFERENCES portal_proposals (id),
	from_state TEXT NOT NULL,
	to_state TEXT NOT NULL,
	actor TEXT NOT NULL,
	at INTEGER NOT NULL,            -- ms since the epoch
	reason TEXT NOT NULL DEFAULT '',
	prev BLOB NOT NULL CHECK (length(prev) = 32),
	hash BLOB NOT NULL CHECK (length(hash) = 32)
);

CREATE INDEX portal_audit_proposal ON portal_audit (proposal, seq);

-- Append-only: a mistaken UPDATE or DELETE is refused outright. Someone who
-- drops these triggers first is caught by `portal check --audit` instead.
CREATE TRIGGER portal_audit_no_update BEFORE UPDATE ON portal_audit
BEGIN
	SELECT RAISE(ABORT, 'portal_audit is append-only');
END;

CREATE TRIGGER portal_audit_no_delete BEFORE DELETE ON portal_audit
BEGIN
	SELECT RAISE(ABORT, 'portal_audit is append-only');
END;
