/* store: the persistence interface. The core and the HTTP layer only ever see
 * struct store; each backend (SQLite, PostgreSQL) fills a struct store_ops,
 * in the manner of SQLite's own VFS, split by concern: the log, the
 * accounts, the proposal queue (rows only: the rules are store/proposals.c)
 * and the proof planes (store/proof_store.h). Schema changes are numbered
 * migrations embedded in the binary (src/store/migrations/<backend>/
 * NNNN_name.sql) and recorded in schema_migrations. */
#ifndef PORTAL_STORE_H
#define PORTAL_STORE_H

#include <stddef.h>

#include "core/event.h"
#include "util/perr.h"

struct store_options {
	int busy_timeout_ms;  /* how long a writer waits on a lock */
	/* PostgreSQL only. password (borrowed during store_open, copied) wins
	 * over one in the URL; NULL = the URL's, or libpq's own sources. */
	const char *password;
	int pool_size;        /* connections kept; 0 = the backend's default */
};

/* A fresh look at the backing database, as readiness reports it. */
struct store_status {
	int ready;                /* 1 when reachable and schema current */
	int schema_version;       /* highest applied migration (0 = none) */
	int schema_latest;        /* highest migration this binary knows */
	char instance_id[64];     /* id created by the first migration */
	char reason[256];         /* why not ready; "" when ready */
};

/* One all-or-nothing batch for store_append. */
struct store_batch {
	struct event *evs;  /* in: validated events (seq ignored) */
	size_t n;
	long long *seqs;    /* out: each event's seq (the original one for a known id) */
	int *fresh;         /* out: 1 when stored now, 0 when its id was already logged */
	int rc;             /* out: 0, or PERR_* with err (then nothing of it is stored) */
	struct perr err;
};

#define STORE_TOKEN_ID_MAX 16    /* 12 hex digits and a NUL, rounded up */
#define STORE_TOKEN_HASH_LEN 32  /* BLAKE2b-256 of the secret */
#define STORE_TOKEN_LIMITS_MAX 544 /* 8 globs of 64 bytes, spaces and a NUL */

/* A bearer token as stored: never the secret itself. */
struct store_token {
	char id[STORE_TOKEN_ID_MAX];
	char name[64];
	char scopes[128];   /* space-separated, e.g. "events:write" */
	/* What an events:write token may write: space-separated fnmatch(3)
	 * globs of projects and of event types; "" for no limit. */
	char projects[STORE_TOKEN_LIMITS_MAX];
	char types[STORE_TOKEN_LIMITS_MAX];
	unsigned char hash[STORE_TOKEN_HASH_LEN];
	long long created_at, revoked_at; /* ms; revoked_at 0 when live */
};

#define STORE_NAME_MAX 64
#define STORE_PW_HASH_MAX 128    /* crypto_pwhash_STRBYTES */
#define STORE_LOGIN_HASH_LEN 32  /* BLAKE2b-256 of a sign-in id */

/* A local account. role is an enum role (core/role.h). */
struct store_user {
	long long id;                      /* assigned by the store */
	char name[STORE_NAME_MAX];         /* unique, [a-z0-9._-]{1,63} */
	int role;
	char pw_hash[STORE_PW_HASH_MAX];   /* argon2id string; "" = no password (proxy only) */
	int disabled;
	long long created_at, updated_at;  /* ms */
};

/* A sign-in session ("login", to keep it apart from harness sessions): only
 * the hash of its random id is stored. user and role are filled on reads,
 * from the account. */
struct store_login {
	unsigned char hash[STORE_LOGIN_HASH_LEN];
	long long user_id;
	char user[STORE_NAME_MAX];
	int role;
	long long created_at, last_seen_at, expires_at; /* ms; expires_at is absolute */
};

#define STORE_PROPOSAL_ID_MAX 40

/* A proposal as stored. input and evidence are heap JSON text owned by the
 * struct: free them with store_proposal_clear. */
struct store_proposal {
	char id[STORE_PROPOSAL_ID_MAX];   /* "p-" and 16 hex digits, made by the store */
	char kind[64];
	char project[64];
	char proposer[STORE_NAME_MAX];
	char idempotency_key[128];        /* "" when none was given */
	char *input;                      /* the validated input, JSON */
	int state;                        /* enum proposal_state */
	int attempts;                     /* execution attempts started */
	long long created_at, updated_at; /* ms */
	long long next_attempt_at;        /* queued: not before this (ms) */
	char lease_owner[64];             /* running: the worker holding it */
	long long lease_until;            /* running: the lease ends (ms) */
	char last_error[256];
	char *evidence;                   /* executed: JSON (digest, size, location, exit status) */
	char *closure;                    /* proving and after: the last closure, JSON; or NULL */
	long long closure_at;             /* when it was decided (ms); 0 = never */
};

struct store_proposal_filter {
	const char *project, *kind; /* NULL = any */
	int state;                  /* enum proposal_state, or -1 = any */
	int limit;                  /* 0 = no limit; newest first */
};

/* One row of the proposal audit log, as stored (hashes included). */
struct store_audit {
	long long seq;
	char proposal[STORE_PROPOSAL_ID_MAX];
	char from[16], to[16];
	char actor[STORE_NAME_MAX + 8];
	long long at;
	char reason[256];
	unsigned char prev[32], hash[32];
};

/* The most steps one store_proposal_path takes. */
#define STORE_PATH_MAX 4

/* One change of a proposal's state in store_proposal_path: who moves it
 * from where to where, and why (reason may be NULL). */
struct store_step {
	int from, to; /* enum proposal_state */
	const char *actor, *reason;
};

/* Called per event by store_scan; ev->data is valid only during the call.
 * A negative return stops the scan. */
typedef int (*store_event_fn)(void *arg, const struct event *ev);
/* Called per token by store_tokens. */
typedef int (*store_token_fn)(void *arg, const struct store_token *t);
typedef int (*store_user_fn)(void *arg, const struct store_user *u);
typedef int (*store_login_fn)(void *arg, const struct store_login *l);
typedef int (*store_proposal_fn)(void *arg, const struct store_proposal *p);
typedef int (*store_audit_fn)(void *arg, const struct store_audit *a);

struct store_queue_ops; /* store/backend.h: the rows under store/proposals.c */
struct store_proof_ops; /* store/proof_store.h: the embedded proof planes */

/* What a backend fills, by concern. Each op takes the backend's impl. */

/* portal_live_events: the log. */
struct store_log_ops {
	/* append: one transaction for all batches, each
	 * all or nothing (a batch that fails stores nothing, the others still
	 * commit); a known id, also one earlier in the same call, is not
	 * stored again and reports its original seq. Returns <0 only when the
	 * transaction itself failed (nothing stored); a batch's own failure is
	 * in its rc. */
	int (*append)(void *impl, struct store_batch *const *batches, size_t n,
		      struct perr *err);
	/* Calls fn for up to limit events with seq > after, in seq order (limit 0
	 * = no limit). Returns how many were delivered, or <0. */
	long long (*scan)(void *impl, long long after, long long limit, store_event_fn fn,
			  void *arg, struct perr *err);
	/* Calls wake(arg), from a thread of the store's, whenever another
	 * process or replica may have appended events (and once at the start);
	 * wake NULL stops that. NULL op: the backend cannot tell, readers poll. */
	int (*events_listen)(void *impl, void (*wake)(void *arg), void *arg, struct perr *err);
	/* Events per UTC day and type, newest day first: over the whole log, or
	 * the last `days` days of it when days > 0; fn gets (day "YYYY-MM-DD",
	 * type, count) and may stop the walk by returning <0. */
	int (*history)(void *impl, int days,
		       int (*fn)(void *arg, const char *day, const char *type, long long n),
		       void *arg, struct perr *err);
};

/* portal_tokens, portal_users and portal_logins: the accounts. */
struct store_account_ops {
	/* portal_tokens. A duplicate name is PERR_CONFLICT; revoking an unknown
	 * or already revoked name is PERR_NOT_FOUND. */
	int (*token_add)(void *impl, const struct store_token *t, struct perr *err);
	int (*token_revoke)(void *impl, const char *name, long long at_ms, struct perr *err);
	int (*tokens)(void *impl, store_token_fn fn, void *arg, struct perr *err);

	/* portal_users. user_add: a duplicate name is PERR_CONFLICT; sets
	 * u->id. user_get: PERR_NOT_FOUND when absent. user_update writes role,
	 * pw_hash, disabled and updated_at of the account named u->name
	 * (PERR_NOT_FOUND when absent); disabling also deletes its logins.
	 * users: every account in name order. */
	int (*user_add)(void *impl, struct store_user *u, struct perr *err);
	int (*user_get)(void *impl, const char *name, struct store_user *out, struct perr *err);
	int (*user_update)(void *impl, const struct store_user *u, struct perr *err);
	int (*users)(void *impl, store_user_fn fn, void *arg, long long *count, struct perr *err);

	/* portal_logins. login_add stores l (user and role ignored).
	 * login_touch sets last_seen_at. login_delete removes one (absent is
	 * fine); login_delete_user every login of one account, reporting how
	 * many went. logins: every login with expires_at > now_ms whose account
	 * is enabled, with user and role filled; expired ones are deleted. */
	int (*login_add)(void *impl, const struct store_login *l, struct perr *err);
	int (*login_touch)(void *impl, const unsigned char hash[STORE_LOGIN_HASH_LEN],
			   long long last_seen_at, struct perr *err);
	int (*login_delete)(void *impl, const unsigned char hash[STORE_LOGIN_HASH_LEN],
			    struct perr *err);
	int (*login_delete_user)(void *impl, long long user_id, long long *deleted,
				 struct perr *err);
	int (*logins)(void *impl, long long now_ms, store_login_fn fn, void *arg,
		      struct perr *err);
};

struct store_ops {
	const char *name; /* "sqlite" */
	void (*close)(void *impl);
	/* Applies every pending migration, each in its own transaction. Refuses
	 * (PERR_SCHEMA) a database whose version is newer than the binary. */
	int (*migrate)(void *impl, int *from, int *to, struct perr *err);
	/* Checks reachability and schema without changing anything. Safe to
	 * call from any thread; must not reuse state that a broken file would
	 * keep looking healthy (SQLite: a fresh read-only connection). */
	int (*check)(void *impl, struct store_status *st, struct perr *err);

	const struct store_log_ops *log;
	const struct store_account_ops *accounts;
	/* portal_proposals and portal_audit: reads and rows under the proposal
	 * rules (store/proposals.c), which are the same on every backend. */
	const struct store_queue_ops *queue;
	/* portal_graph_triples, portal_warehouse_facts and portal_evidence. */
	const struct store_proof_ops *proof;
};

struct store {
	const struct store_ops *ops;
	void *impl;
};

/* Opens the store named by `url`: a file path or "sqlite:PATH" selects the
 * SQLite backend (created if missing); "postgres://..." or
 * "postgresql://..." (a libpq URI) the PostgreSQL one, on a database that
 * must exist. Returns 0 and sets *out (the caller frees it with
 * store_close), or a PERR_* code with err filled; messages never hold the
 * URL's password or query. */
int store_open(const char *url, const struct store_options *opt, struct store **out,
	       struct perr *err);
/* The same, for a store that must already exist: a SQLite file that is not
 * there is PERR_NOT_FOUND, and is not created. For commands that only look. */
int store_open_existing(const char *url, const struct store_options *opt, struct store **out,
			struct perr *err);
void store_close(struct store *st);

/* How messages and output may name the database `url` names: a SQLite path
 * as given; a PostgreSQL URL without its password or query. */
void store_url_label(const char *url, char *out, size_t cap);

static inline int store_migrate(struct store *st, int *from, int *to, struct perr *err)
{
	return st->ops->migrate(st->impl, from, to, err);
}

static inline int store_check(struct store *st, struct store_status *status, struct perr *err)
{
	return st->ops->check(st->impl, status, err);
}

static inline int store_append(struct store *st, struct store_batch *const *b, size_t n,
			       struct perr *err)
{
	return st->ops->log->append(st->impl, b, n, err);
}

static inline long long store_scan(struct store *st, long long after, long long limit,
				   store_event_fn fn, void *arg, struct perr *err)
{
	return st->ops->log->scan(st->impl, after, limit, fn, arg, err);
}

/* Returns 1 when the backend will wake the reader (PostgreSQL's LISTEN), 0
 * when it cannot (SQLite: poll), or <0. wake NULL stops it. */
static inline int store_events_listen(struct store *st, void (*wake)(void *arg), void *arg,
				      struct perr *err)
{
	if (!st->ops->log->events_listen)
		return 0;
	int rc = st->ops->log->events_listen(st->impl, wake, arg, err);
	return rc < 0 ? rc : 1;
}

static inline int store_history(struct store *st, int days,
				int (*fn)(void *arg, const char *day, const char *type, long long n),
				void *arg, struct perr *err)
{
	return st->ops->log->history(st->impl, days, fn, arg, err);
}

static inline int store_token_add(struct store *st, const struct store_token *t, struct perr *err)
{
	return st->ops->accounts->token_add(st->impl, t, err);
}

static inline int store_token_revoke(struct store *st, const char *name, long long at_ms,
				     struct perr *err)
{
	return st->ops->accounts->token_revoke(st->impl, name, at_ms, err);
}

static inline int store_tokens(struct store *st, store_token_fn fn, void *arg, struct perr *err)
{
	return st->ops->accounts->tokens(st->impl, fn, arg, err);
}

/* The accounts' fields are checked here, once for every backend
 * (store_user_fields_ok in store/rules.h), before the backend sees them. */
int store_user_add(struct store *st, struct store_user *u, struct perr *err);

static inline int store_user_get(struct store *st, const char *name, struct store_user *out,
				 struct perr *err)
{
	return st->ops->accounts->user_get(st->impl, name, out, err);
}

int store_user_update(struct store *st, const struct store_user *u, struct perr *err);

static inline int store_users(struct store *st, store_user_fn fn, void *arg, long long *count,
			      struct perr *err)
{
	return st->ops->accounts->users(st->impl, fn, arg, count, err);
}

static inline int store_login_add(struct store *st, const struct store_login *l,
				  struct perr *err)
{
	return st->ops->accounts->login_add(st->impl, l, err);
}

static inline int store_login_touch(struct store *st,
				    const unsigned char hash[STORE_LOGIN_HASH_LEN],
				    long long last_seen_at, struct perr *err)
{
	return st->ops->accounts->login_touch(st->impl, hash, last_seen_at, err);
}

static inline int store_login_delete(struct store *st,
				     const unsigned char hash[STORE_LOGIN_HASH_LEN],
				     struct perr *err)
{
	return st->ops->accounts->login_delete(st->impl, hash, err);
}

static inline int store_login_delete_user(struct store *st, long long user_id,
					  long long *deleted, struct perr *err)
{
	return st->ops->accounts->login_delete_user(st->impl, user_id, deleted, err);
}

static inline int store_logins(struct store *st, long long now_ms, store_login_fn fn, void *arg,
			       struct perr *err)
{
	return st->ops->accounts->logins(st->impl, now_ms, fn, arg, err);
}

/* portal_proposals and portal_audit, under the proposal rules
 * (store/proposals.c), the same on every backend. Every change of state
 * happens in one transaction with its audit row, whose hash chains to the
 * row before (core/audit.h). Every audit row is also appended to
 * portal_live_events in the same transaction: type "proposal.transitioned",
 * id "proposal:<id>:<seq>", source "portal", the proposal's project, ts =
 * received_at = at, data {proposal, kind, from, to, actor} (from is null on
 * a proposal's first row). Text that the audit row keeps is bounded: actor
 * under STORE_NAME_MAX + 8 bytes, reason under 256 (PERR_TOO_LARGE); finish
 * cuts a longer error to fit. */

/* Frees p->input, p->evidence and p->closure and sets them NULL; the rest is left. */
void store_proposal_clear(struct store_proposal *p);

/* Stores p (id made here, state submitted) and its first audit row (actor
 * p->proposer). When p->idempotency_key is set and that proposer already
 * submitted with it, nothing is stored: p is filled from the existing
 * proposal and *existed set to 1. p->input (and p->evidence) must be heap
 * memory owned by p: when an idempotent resubmission fills p from the stored
 * proposal, they are freed and replaced. */
int store_proposal_submit(struct store *st, struct store_proposal *p, long long at, int *existed,
			  struct perr *err);

/* PERR_NOT_FOUND when absent. out is overwritten (not cleared first): clear
 * it afterwards. */
int store_proposal_get(struct store *st, const char *id, struct store_proposal *out,
		       struct perr *err);

/* The proposals f selects. p is valid only during fn; fn must not call the
 * store. */
int store_proposals(struct store *st, const struct store_proposal_filter *f,
		    store_proposal_fn fn, void *arg, struct perr *err);

/* steps[0..n) (1 <= n <= STORE_PATH_MAX) in one transaction, all or none,
 * each step starting where the one before ended, so a crash never leaves a
 * proposal half-way along a path (approval is submitted → approved →
 * queued: nothing would ever queue a proposal left approved). Each from →
 * to: core's proposal_transition_ok must allow it, else PERR_INVALID (a gap
 * between steps too); PERR_CONFLICT when the proposal is not in the first
 * from any more (someone else moved it); approved → queued sets
 * next_attempt_at = at. Steps into or out of running belong to the queue
 * below and are PERR_INVALID here. */
int store_proposal_path(struct store *st, const char *id, const struct store_step *steps,
			size_t n, long long at, struct perr *err);

/* A path of one step. */
static inline int store_proposal_transition(struct store *st, const char *id, int from, int to,
					    const char *actor, const char *reason, long long at,
					    struct perr *err)
{
	struct store_step step = {from, to, actor, reason};
	return store_proposal_path(st, id, &step, 1, at, err);
}

/* The queue. lease: takes the oldest queued proposal due at now, or a
 * running one whose lease ran out (its worker died), makes it running under
 * `worker` until now + visibility_ms, counts an attempt, audits it; returns
 * 1 with out filled, 0 when there is nothing to do. heartbeat: extends a
 * lease still held by worker (PERR_CONFLICT when lost; a lease that ran out
 * is still held until another lease takes it over, and the same goes for
 * release and finish). release: a worker stopping gives it back (running →
 * queued, due now, the attempt not counted). finish: ok → executed with
 * evidence; not ok → queued again due at retry_at (retry_at > 0) or failed
 * with error, the dead letter (retry_at == 0). A lease no longer held is
 * PERR_CONFLICT and changes nothing. Audit actors are "worker:<worker>";
 * taking over a lease that ran out writes two rows, running → queued (actor
 * "lease-expired") then queued → running. */
int store_proposal_lease(struct store *st, const char *worker, long long now,
			 long long visibility_ms, struct store_proposal *out, struct perr *err);
int store_proposal_heartbeat(struct store *st, const char *id, const char *worker,
			     long long now, long long visibility_ms, struct perr *err);
int store_proposal_release(struct store *st, const char *id, const char *worker, long long now,
			   struct perr *err);
int store_proposal_finish(struct store *st, const char *id, const char *worker, int ok,
			  const char *evidence, const char *error, long long now,
			  long long retry_at, struct perr *err);

/* Keeps the closure last decided for a proposal (JSON) and when. Not a
 * transition: no audit row. PERR_NOT_FOUND when absent. */
int store_proposal_set_closure(struct store *st, const char *id, const char *closure,
			       long long at, struct perr *err);

/* Sets a proposal's last_error to why ("" clears it) and its updated_at to
 * at: the prover's record of a plane it waits on (since at) or of the wait
 * ending. Not a transition: no audit row. PERR_NOT_FOUND when absent. */
int store_proposal_set_error(struct store *st, const char *id, const char *why, long long at,
			     struct perr *err);

/* Every audit row in seq order (of one proposal when id is set). a is valid
 * only during fn; fn must not call the store. */
int store_audit(struct store *st, const char *id, store_audit_fn fn, void *arg,
		struct perr *err);

/* What store_audit_verify found. */
struct store_audit_check {
	long long rows;                        /* rows walked (up to the first broken one) */
	long long bad_seq;                     /* the first broken row; 0 when intact */
	char bad_proposal[STORE_PROPOSAL_ID_MAX];
	char what[256];                        /* why that row is broken */
};

/* Walks the whole audit log in seq order, recomputing each row's hash and
 * checking that its prev is the hash of the row before (zeros for the
 * first), and stops at the first broken row: a changed row breaks its own
 * hash, a removed or reordered one the next row's prev. Removing the newest
 * rows leaves a shorter chain that is still whole: the chain alone cannot
 * tell, which is why each row is also a live event. Returns 0 with out
 * filled (out->bad_seq 0 when the chain is intact), or <0 when the log could
 * not be read. */
int store_audit_verify(struct store *st, struct store_audit_check *out, struct perr *err);

#endif
