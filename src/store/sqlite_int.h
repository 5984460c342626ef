/* sqlite_int: what the SQLite backend's files share — the store with its one
 * connection and lock, the statements it keeps prepared, and how a failure
 * reads. Private to sqlite.c and sqlite_*.c, as pg.h is to the PostgreSQL
 * backend. Values reach SQL only as bound parameters. */
#ifndef PORTAL_STORE_SQLITE_INT_H
#define PORTAL_STORE_SQLITE_INT_H

#include <pthread.h>

#include <sqlite3.h>

#include "store/backend.h"
#include "store/proof_store.h"
#include "store/rules.h"
#include "store/sqlite.h"

#define LITE_FIELD "store.db"
/* Statements the connection keeps prepared: every one this backend has, with
 * room to spare (more is a bug, and aborts). */
#define LITE_PREPARED_MAX 96

/* A statement, prepared on the store's connection the first time it runs
 * and kept for the life of the store, as pg.h's struct pg_query. Declared
 * static const next to the code that runs it; the pointer is its identity. */
struct lite_query {
	const char *name;
	const char *sql;
};

struct sqlite_store {
	sqlite3 *db;          /* the main connection */
	pthread_mutex_t lock; /* one transaction at a time on db */
	char label[128];      /* the path as the user gave it, shortened: for messages */
	char open_path[1024]; /* what we hand to SQLite (see sqlite_store_open) */
	int busy_timeout_ms;
	/* Immutable after open, so check() may read them from any thread. */
	const struct embedded_file *migs[STORE_MIGRATIONS_MAX];
	int nmigs;
	/* Prepared once (lite_stmt), used under lock. */
	const struct lite_query *queries[LITE_PREPARED_MAX];
	sqlite3_stmt *stmts[LITE_PREPARED_MAX];
	int nprepared;
	/* The failure of the change under way (proposals.c reports it at its
	 * end, after a ROLLBACK would have replaced the connection's words). */
	int tx_rc, tx_ext;
	char tx_msg[200];
};

/* A user-facing sentence for a SQLite failure on `path`. */
void lite_describe(char *out, size_t cap, const char *path, int rc, const char *msg);
/* err as lite_describe words it (db's own code and message when db is set),
 * field store.db. Returns code. */
int lite_fail(struct perr *err, int code, const char *path, sqlite3 *db, int rc);
/* What a failed statement means to the caller: busy is worth a retry later,
 * anything else is the store failing. Call before finalize or ROLLBACK, which
 * replace the connection's message. */
int lite_step_fail(struct sqlite_store *s, struct perr *err, int rc);

/* BEGIN IMMEDIATE: the write lock is taken before anything is read. */
int lite_begin(struct sqlite_store *s);
/* ROLLBACK when a transaction is open; a no-op once COMMIT went through. */
void lite_rollback(sqlite3 *db);

/* q on s's connection: prepared the first time (persistent), else reset
 * with its bindings cleared. Under the lock; the caller resets *st when done
 * with it (sqlite3_reset), so no read stays open. Returns a SQLite code. */
int lite_stmt(struct sqlite_store *s, const struct lite_query *q, sqlite3_stmt **st);
/* Finalizes every statement lite_stmt prepared (before the connection
 * closes). */
void lite_stmts_free(struct sqlite_store *s);
/* Runs q to completion with parameters bound in order, as `types` says: 't'
 * text (NULL binds NULL), 'i' long long. Returns a SQLite code, SQLITE_OK
 * once done. */
int lite_run(struct sqlite_store *s, const struct lite_query *q, const char *types, ...);
/* v as text, NULL as SQL NULL. */
int lite_bind_text(sqlite3_stmt *st, int i, const char *v);
/* A text column: "" for NULL. lite_dup: a heap copy the caller frees, NULL
 * for NULL. */
const char *lite_str(sqlite3_stmt *st, int i);
char *lite_dup(sqlite3_stmt *st, int i);

/* sqlite_log.c: stores one event inside the caller's write transaction
 * under the next seq, or finds the seq of its id (*fresh 0) without using
 * one up. Returns a SQLite code. */
int lite_append_one(struct sqlite_store *s, const struct event *ev, long long now,
		    long long *seq, int *fresh);

/* The op tables' parts, by file. */
int sqlite_append(void *impl, struct store_batch *const *batches, size_t n, struct perr *err);
long long sqlite_scan(void *impl, long long after, long long limit, store_event_fn fn,
		      void *arg, struct perr *err);
int sqlite_history(void *impl, int days,
		   int (*fn)(void *arg, const char *day, const char *type, long long n),
		   void *arg, struct perr *err);

int sqlite_token_add(void *impl, const struct store_token *t, struct perr *err);
int sqlite_token_revoke(void *impl, const char *name, long long at_ms, struct perr *err);
int sqlite_tokens(void *impl, store_token_fn fn, void *arg, struct perr *err);
int sqlite_user_add(void *impl, struct store_user *u, struct perr *err);
int sqlite_user_get(void *impl, const char *name, struct store_user *out, struct perr *err);
int sqlite_user_update(void *impl, const struct store_user *u, struct perr *err);
int sqlite_users(void *impl, store_user_fn fn, void *arg, long long *count, struct perr *err);
int sqlite_login_add(void *impl, const struct store_login *l, struct perr *err);
int sqlite_login_touch(void *impl, const unsigned char hash[STORE_LOGIN_HASH_LEN],
		       long long last_seen_at, struct perr *err);
int sqlite_login_delete(void *impl, const unsigned char hash[STORE_LOGIN_HASH_LEN],
			struct perr *err);
int sqlite_login_delete_user(void *impl, long long user_id, long long *deleted,
			     struct perr *err);
int sqlite_logins(void *impl, long long now_ms, store_login_fn fn, void *arg, struct perr *err);

/* sqlite_proposals.c: the rows under the proposal rules (backend.h). */
extern const struct store_queue_ops sqlite_queue_ops;

int sqlite_graph_put(void *impl, const char *graph, const struct proof_triple *t, size_t n,
		     struct perr *err);
int sqlite_graph_about(void *impl, const char *graph, const char *subject,
		       proof_triple_fn fn, void *arg, struct perr *err);
int sqlite_fact_record(void *impl, const struct proof_fact *f, struct perr *err);
int sqlite_facts(void *impl, const char *proposal, proof_fact_fn fn, void *arg,
		 struct perr *err);
int sqlite_evidence_put(void *impl, const struct proof_evidence *e, struct perr *err);
int sqlite_evidence_of(void *impl, const char *proposal, proof_evidence_fn fn, void *arg,
		       struct perr *err);

#endif
