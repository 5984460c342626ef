-- 0005_proof: the embedded proof planes (proof/proof.h), the single-node
-- default the worker writes after executing a proposal and the closure reads:
-- graph triples, warehouse lifecycle facts and evidence records. The CHECKs
-- repeat the rules the program enforces. No foreign key to portal_proposals:
-- a plane is a witness apart from the proposal it proves, as its remote
-- counterpart is.

-- One row per triple of a named graph (one graph per project). The UNIQUE
-- index also serves "the triples of graph G about subject S" (its first two
-- columns), in (predicate, object) order, byte by byte as SQLite orders them.
CREATE TABLE portal_graph_triples (
	graph TEXT COLLATE "C" NOT NULL CHECK (length(graph) > 0),
	subject TEXT COLLATE "C" NOT NULL CHECK (length(subject) > 0),
	predicate TEXT COLLATE "C" NOT NULL CHECK (length(predicate) > 0),
	object TEXT COLLATE "C" NOT NULL, -- an IRI or a literal, as given
	added_at BIGINT NOT NULL,       -- ms since the epoch, when first stored
	UNIQUE (graph, subject, predicate, object)
);

-- Append-only in use: recording the same fact twice keeps both (the closure
-- tolerates duplicates). seq only ever grows, so it orders facts that share
-- a time in the order they were recorded.
CREATE TABLE portal_warehouse_facts (
	seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	proposal TEXT NOT NULL CHECK (length(proposal) > 0),
	project TEXT NOT NULL CHECK (length(project) > 0),
	kind TEXT NOT NULL CHECK (length(kind) > 0),
	event TEXT NOT NULL CHECK (event IN ('submitted', 'approved', 'executed')),
	at BIGINT NOT NULL,             -- ms since the epoch
	actor TEXT NOT NULL CHECK (length(actor) > 0),
	artifact TEXT NOT NULL DEFAULT '', -- executed: the evidence record's id
	digest TEXT NOT NULL DEFAULT ''    -- executed: the artifact's digest
);

CREATE INDEX portal_warehouse_facts_proposal ON portal_warehouse_facts (proposal, at, seq);

-- One row per evidence record. The store never changes one once stored: the
-- same id again is accepted only when it is equal. seq keeps the order they
-- were stored in (SQLite's rowid does that there).
CREATE TABLE portal_evidence (
	id TEXT PRIMARY KEY CHECK (length(id) > 0),
	proposal TEXT NOT NULL CHECK (length(proposal) > 0),
	digest TEXT NOT NULL CHECK (length(digest) > 0),
	size BIGINT NOT NULL CHECK (size >= 0), -- bytes
	location TEXT NOT NULL,
	producer TEXT NOT NULL,
	added_at BIGINT NOT NULL,       -- ms since the epoch, when stored
	seq BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE
);

CREATE INDEX portal_evidence_proposal ON portal_evidence (proposal, seq);
