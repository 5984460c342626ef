/* backend: the transaction-level interface a store backend fills for the
 * proposal rules (proposals.c), as SQLite's os_unix.c fills what os.c calls:
 * begin, the rows a change reads and writes, commit. The backend knows SQL
 * and nothing of which change is allowed; the rules know the changes and no
 * SQL. Private to src/store. */
#ifndef PORTAL_STORE_BACKEND_H
#define PORTAL_STORE_BACKEND_H

#include "core/audit.h"
#include "core/event.h"
#include "store/store.h"

/* Times a change is run again after a failure its backend calls worth it
 * (PostgreSQL: a deadlock, a serialization failure). */
#define STORE_TX_RETRIES 4

/* What a change needs to know about a proposal, read in its transaction
 * (PostgreSQL: with the row locked). */
struct store_head {
	int found;
	int state; /* enum proposal_state, -1 when unknown */
	char kind[64], project[64], lease_owner[64];
	long long lease_until;
};

/* portal_proposals and portal_audit, by concern: the reads that need no
 * rules, then a change's transaction and its rows.
 *
 * A change runs as: tx = open(impl); then, once or again while retry()
 * says so, begin(tx), row ops, commit(tx) or rollback(tx); then fail(tx)
 * if the last attempt failed, and close(tx). Row ops and begin/commit
 * return 0, or -1 with the failure kept on tx for retry() and fail(). */
struct store_queue_ops {
	/* The reads and the one write outside the audit log, with store.h's
	 * contracts (store_proposal_get, store_proposals, store_audit,
	 * store_proposal_set_closure, store_proposal_set_error). */
	int (*get)(void *impl, const char *id, struct store_proposal *out, struct perr *err);
	int (*list)(void *impl, const struct store_proposal_filter *f, store_proposal_fn fn,
		    void *arg, struct perr *err);
	int (*set_closure)(void *impl, const char *id, const char *closure, long long at,
			   struct perr *err);
	int (*set_error)(void *impl, const char *id, const char *why, long long at,
			 struct perr *err);
	int (*audit)(void *impl, const char *id, store_audit_fn fn, void *arg, struct perr *err);

	/* Takes what a transaction runs on (SQLite: the connection's lock;
	 * PostgreSQL: a pooled connection). NULL with err filled (then
	 * PERR_UNAVAILABLE) when none comes. */
	void *(*open)(void *impl, struct perr *err);
	/* Starts a transaction in which what a change reads stays so until it
	 * ends (SQLite: BEGIN IMMEDIATE; PostgreSQL: the rows it reads locked). */
	int (*begin)(void *tx);
	int (*commit)(void *tx);
	/* Rolls back when a transaction is open; keeps the failure. */
	void (*rollback)(void *tx);
	/* Whether the failure kept on tx is worth running the change again;
	 * with unique, a unique violation is too (an id drawn twice, or the
	 * same idempotency key submitted at the same moment elsewhere). */
	int (*retry)(const void *tx, int unique);
	/* The failure kept on tx, as err: PERR_UNAVAILABLE when busy or
	 * unreachable, PERR_STORE otherwise. Returns the code. */
	int (*fail)(const void *tx, struct perr *err);
	/* Gives back what open took (a transaction left open is rolled back). */
	void (*close)(void *tx);

	/* The id of proposer's proposal submitted with key, "" when none. */
	int (*find_key)(void *tx, const char *proposer, const char *key,
			char id[STORE_PROPOSAL_ID_MAX]);
	/* A new proposal row: p's kind, project, proposer and input, key (NULL
	 * = none), state submitted, no attempts, created and updated at. */
	int (*insert)(void *tx, const char *id, const struct store_proposal *p, const char *key,
		      long long at);
	int (*head)(void *tx, const char *id, struct store_head *h);
	/* The whole row of id into out (heap fields newly allocated), *found 1;
	 * *found 0 when absent. A state this binary does not know is *out_rc
	 * PERR_STORE with err filled (out cleared, *found 0). */
	int (*read)(void *tx, const char *id, struct store_proposal *out, int *found,
		    int *out_rc, struct perr *err);
	/* The next proposal the queue owes a worker at now: the oldest queued
	 * one due, or a running one whose lease ran out (PostgreSQL: locked,
	 * skipping one another worker is taking). "" when none. */
	int (*due)(void *tx, long long now, char id[STORE_PROPOSAL_ID_MAX]);

	/* The writes of the state machine's steps. move: to `to` (approved →
	 * queued sets next_attempt_at = at). expire: running → queued, lease
	 * dropped, due now. take: → running under worker until `until`, one
	 * more attempt. extend: the lease to `until`. give_back: running →
	 * queued, lease dropped, the attempt not counted, due now. finish:
	 * running → to (executed keeps evidence, queued is due at retry_at,
	 * queued and failed keep why as last_error). */
	int (*move)(void *tx, const char *id, int to, long long at);
	int (*expire)(void *tx, const char *id, long long now);
	int (*take)(void *tx, const char *id, const char *worker, long long until, long long now);
	int (*extend)(void *tx, const char *id, long long until);
	int (*give_back)(void *tx, const char *id, long long now);
	int (*finish)(void *tx, const char *id, int to, long long now, long long retry_at,
		      const char *evidence, const char *why);

	/* The audit chain's tail: the hash of the last row (zeros when none)
	 * and the seq the next row gets, past every seq ever used. PostgreSQL
	 * locks the tail for the rest of the transaction. */
	int (*audit_tail)(void *tx, unsigned char prev[AUDIT_HASH_LEN], long long *next);
	/* Appends r (its seq, prev and hash filled). */
	int (*audit_add)(void *tx, const struct audit_row *r);
	/* Appends one event to portal_live_events, received at now; a known id
	 * is not stored again. */
	int (*event_add)(void *tx, const struct event *ev, long long now);
};

#endif
