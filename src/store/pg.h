/* pg: what the PostgreSQL backend's files share — the store with its pool
 * of connections, statements prepared by name on each connection, and how a
 * failure reads. Private to postgres.c and pg_*.c. Values reach SQL only as
 * parameters; the only SQL run as plain text is constant (BEGIN, COMMIT, the
 * embedded migrations). */
#ifndef PORTAL_STORE_PG_H
#define PORTAL_STORE_PG_H

#include <pthread.h>

#include <libpq-fe.h>

#include "store/proof_store.h"
#include "store/postgres.h"
#include "store/rules.h"

#define PG_FIELD "store.db"
/* Statements one connection keeps prepared; past this they run unprepared. */
#define PG_PREPARED_MAX 128
/* Rows one page of a walk reads before it lets go of the connection. */
#define PG_PAGE 1000
/* Times a transaction is run again after a deadlock or serialization failure. */
#define PG_RETRIES 4

/* A statement, prepared under `name` on a connection the first time it runs
 * there. Declared static const next to the code that runs it; the pointer is
 * its identity. */
struct pg_query {
	const char *name;
	const char *sql;
};

struct pg_conn {
	struct pg_store *store;       /* the pool it belongs to */
	PGconn *conn;                 /* NULL until first used, or after it broke */
	const struct pg_query *prepared[PG_PREPARED_MAX];
	int nprepared;
	int seq_locked;               /* this transaction holds portal_live_seq's row */
	long long notify_seq;         /* the last seq this transaction stored; 0 = none */
	char state[6];                /* SQLSTATE of the last failure; "" when none */
	char msg[224];                /* its message, one line */
};

struct pg_store {
	char *url;                    /* as given: may hold a password, never shown */
	char *password;               /* from opt->password, or NULL; wiped on close */
	char label[128];              /* pg_url_label(url): for messages */
	int lock_timeout_ms;          /* how long a writer waits on a lock */
	const struct embedded_file *migs[STORE_MIGRATIONS_MAX];
	int nmigs;
	pthread_mutex_t lock;         /* guards idle */
	pthread_cond_t returned;      /* a connection went back to idle */
	struct pg_conn *conns;
	int nconns;
	int *idle, nidle;             /* indexes into conns, a stack */
	struct pg_listener *listener; /* pg_listen.c: LISTEN for other replicas; or NULL */
};

/* Opens one connection with the store's URL and password (session settings
 * applied). On failure returns NULL and writes libpq's reason, one line,
 * into why. */
PGconn *pg_connect(const struct pg_store *s, char *why, size_t cap);

/* Takes a connection from the pool, waiting up to lock_timeout_ms for one,
 * (re)connecting it when needed. NULL with err filled (PERR_UNAVAILABLE) when
 * none comes or the database cannot be reached: callers return
 * PERR_UNAVAILABLE. */
struct pg_conn *pg_acquire(struct pg_store *s, struct perr *err);
/* Gives c back; a transaction left open is rolled back, a broken connection
 * closed so the next pg_acquire makes a new one. */
void pg_release(struct pg_store *s, struct pg_conn *c);

/* Runs q with parameters bound in order, as `types` says: 't' text (NULL
 * binds NULL), 'i' long long, 'l' long long where <= 0 binds NULL (a LIMIT
 * of none), 'h' 32 bytes (bytea, sent binary). Returns the result (the caller
 * PQclear()s it) or NULL with c->state and c->msg set. */
PGresult *pg_exec(struct pg_conn *c, const struct pg_query *q, const char *types, ...);
/* pg_exec, throwing the result away: 0 or -1. *changed (may be NULL) gets the
 * rows it changed. */
int pg_run(struct pg_conn *c, long long *changed, const struct pg_query *q, const char *types,
	   ...);
/* Runs constant SQL with no parameters (BEGIN, SAVEPOINT, a migration): 0 or -1. */
int pg_simple(struct pg_conn *c, const char *sql);

/* Keeps r's failure on c (SQLSTATE and primary message). */
void pg_note(struct pg_conn *c, const PGresult *r);

/* BEGIN (READ COMMITTED: every op takes the row locks it needs). */
int pg_begin(struct pg_conn *c);
/* The channel every commit that stored events notifies (PostgreSQL sends it
 * only once the transaction commits), with "<schema>:<last seq stored>" as
 * the payload: a replica that LISTENs on it learns there is more to scan
 * without polling, and skips what portals in other schemas of the same
 * database wrote (channels are per database). */
#define PG_NOTIFY_CHANNEL "portal_live_events"

/* COMMIT (after NOTIFY PG_NOTIFY_CHANNEL when the transaction stored events);
 * -1 with c->state set when it failed. */
int pg_commit(struct pg_conn *c);
/* ROLLBACK when a transaction is open; keeps c->state and c->msg. */
void pg_rollback(struct pg_conn *c);
/* Whether the last failure is worth running the transaction again
 * (deadlock, serialization failure). */
int pg_retryable(const struct pg_conn *c);
/* Whether the last failure was a unique violation. */
int pg_unique_violation(const struct pg_conn *c);

/* err from c's last failure: "database <label> failed: <message>", field
 * store.db; PERR_UNAVAILABLE when the database is unreachable or busy
 * (worth a retry later), PERR_STORE otherwise. */
int pg_fail(const struct pg_store *s, const struct pg_conn *c, struct perr *err);
/* The same for the proof planes, whose errors may reach a client: "cannot
 * <what>: <message>", naming no database. */
int pg_proof_fail(const struct pg_conn *c, struct perr *err, const char *what);

/* Locks portal_live_seq's row for the rest of c's transaction, once. */
int pg_lock_seq(struct pg_conn *c);
/* Stores n events in one statement, inside a transaction (locking the seq
 * row first if it has not): each gets its seq in seqs and fresh[i] = 1, or,
 * when its id is already logged (earlier, or earlier in evs), that id's seq
 * and 0. On -1 (c->state set) the statement stored nothing, and the
 * transaction is in error until rolled back (to a savepoint). */
int pg_append_events(struct pg_conn *c, const struct event *evs, size_t n, long long now,
		     long long *seqs, int *fresh);

/* Column readers: "" / 0 for NULL. pg_dup: a heap copy, NULL for NULL.
 * pg_hash: decodes a 32-byte bytea into out; -1 (out zeroed) otherwise. */
const char *pg_str(const PGresult *r, int row, int col);
long long pg_ll(const PGresult *r, int row, int col);
char *pg_dup(const PGresult *r, int row, int col);
int pg_hash(const PGresult *r, int row, int col, unsigned char out[32]);

/* pg_listen.c: starts (wake set) or stops (wake NULL) the listener thread;
 * pg_listen_close stops it before the store goes. */
int pg_events_listen(void *impl, void (*wake)(void *arg), void *arg, struct perr *err);
void pg_listen_close(struct pg_store *s);

/* The op tables' parts, by file: pg_log.c, pg_accounts.c, pg_proof.c. */
int pg_append(void *impl, struct store_batch *const *batches, size_t n, struct perr *err);
long long pg_scan(void *impl, long long after, long long limit, store_event_fn fn, void *arg,
		  struct perr *err);
int pg_history(void *impl, int days,
	       int (*fn)(void *arg, const char *day, const char *type, long long n), void *arg,
	       struct perr *err);
int pg_token_add(void *impl, const struct store_token *t, struct perr *err);
int pg_token_revoke(void *impl, const char *name, long long at_ms, struct perr *err);
int pg_tokens(void *impl, store_token_fn fn, void *arg, struct perr *err);
int pg_user_add(void *impl, struct store_user *u, struct perr *err);
int pg_user_get(void *impl, const char *name, struct store_user *out, struct perr *err);
int pg_user_update(void *impl, const struct store_user *u, struct perr *err);
int pg_users(void *impl, store_user_fn fn, void *arg, long long *count, struct perr *err);
int pg_login_add(void *impl, const struct store_login *l, struct perr *err);
int pg_login_touch(void *impl, const unsigned char hash[STORE_LOGIN_HASH_LEN],
		   long long last_seen_at, struct perr *err);
int pg_login_delete(void *impl, const unsigned char hash[STORE_LOGIN_HASH_LEN],
		    struct perr *err);
int pg_login_delete_user(void *impl, long long user_id, long long *deleted, struct perr *err);
int pg_logins(void *impl, long long now_ms, store_login_fn fn, void *arg, struct perr *err);

/* pg_proposals.c: the rows under the proposal rules (backend.h). */
extern const struct store_queue_ops pg_queue_ops;

int pg_graph_put(void *impl, const char *graph, const struct proof_triple *t, size_t n,
		 struct perr *err);
int pg_graph_about(void *impl, const char *graph, const char *subject, proof_triple_fn fn,
		   void *arg, struct perr *err);
int pg_fact_record(void *impl, const struct proof_fact *f, struct perr *err);
int pg_facts(void *impl, const char *proposal, proof_fact_fn fn, void *arg, struct perr *err);
int pg_evidence_put(void *impl, const struct proof_evidence *e, struct perr *err);
int pg_evidence_of(void *impl, const char *proposal, proof_evidence_fn fn, void *arg,
		   struct perr *err);

#endif
