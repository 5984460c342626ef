-- 0007_token_limits: a producer token may be limited to projects and event types: each a
-- space-separated list of fnmatch(3) globs, empty for no limit. Tokens made
-- before this migration keep no limit.
ALTER TABLE portal_tokens ADD COLUMN projects TEXT NOT NULL DEFAULT '';
ALTER TABLE portal_tokens ADD COLUMN types TEXT NOT NULL DEFAULT '';
