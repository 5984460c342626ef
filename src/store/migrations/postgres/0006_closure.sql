-- 0006_closure: the proof closure last decided for a proposal, kept with it
-- so pages show it without reading the proof planes on a request. JSON:
-- {"state": "closed"|"open"|"contradicted", "joins": [...], "checked_at": ms}.
-- Deciding it is not a transition; reaching closed is (proving → proven).
ALTER TABLE portal_proposals ADD COLUMN closure TEXT;
ALTER TABLE portal_proposals ADD COLUMN closure_at BIGINT NOT NULL DEFAULT 0;
