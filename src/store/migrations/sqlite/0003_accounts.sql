-- 0003_accounts: local accounts and their sign-in sessions ("logins", to keep
-- them apart from harness sessions). Roles are stored by name so the file
-- reads plainly with the sqlite3 shell; the CHECKs repeat the rules the
-- program enforces, so a hand edit cannot leave a row the program would
-- misread.
CREATE TABLE portal_users (
	id INTEGER PRIMARY KEY,
	name TEXT NOT NULL UNIQUE
		CHECK (length(name) BETWEEN 1 AND 63 AND name NOT GLOB '*[^a-z0-9._-]*'),
	role TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'approver', 'admin')),
	pw_hash TEXT NOT NULL,          -- argon2id string; '' when the account has no password
	disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
	created_at INTEGER NOT NULL,    -- ms since the epoch
	updated_at INTEGER NOT NULL
);

-- Only a hash of a login's random id is kept: a stolen copy of this table
-- signs nobody in.
CREATE TABLE portal_logins (
	hash BLOB PRIMARY KEY CHECK (length(hash) = 32), -- BLAKE2b-256
	user_id INTEGER NOT NULL REFERENCES portal_users (id) ON DELETE CASCADE,
	created_at INTEGER NOT NULL,    -- ms since the epoch
	last_seen_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL     -- absolute; expired rows are pruned on read
) WITHOUT ROWID;

CREATE INDEX portal_logins_user_id ON portal_logins (user_id);
