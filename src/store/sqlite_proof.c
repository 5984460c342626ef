/* sqlite_proof: the embedded proof planes on SQLite — portal_graph_triples,
 * portal_warehouse_facts and portal_evidence. The arguments were checked by
 * the dispatchers (proof_store.c); the walks read a page under the lock and call
 * back without it. */
#include "store/sqlite_int.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/clock.h"

/* How many rows a walk reads under the lock before it lets go and calls fn. */
#define PROOF_PAGE 64

/* A failure of the proof tables. Unlike the other ops, the words name no
 * file: a plane's errors may reach a client (proof/proof.h). Busy is worth a
 * retry later. Call before finalize or ROLLBACK, which replace the
 * connection's message. */
static int proof_fail(struct sqlite_store *s, struct perr *err, int rc, const char *what)
{
	return perr_set(err, (rc & 0xff) == SQLITE_BUSY ? PERR_UNAVAILABLE : PERR_STORE, LITE_FIELD,
			"cannot %s: %s", what, sqlite3_errmsg(s->db));
}

/* Ends a write begun with lite_begin(): commits when both rc and out say so, else
 * rolls back; a failure not reported yet (out still 0) is reported as what
 * failed. Unlocks. Returns out, or the store's failure. */
static int proof_end(struct sqlite_store *s, int rc, int out, const char *what,
		     struct perr *err)
{
	if (rc == SQLITE_OK && out == 0)
		rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK && out == 0)
		out = proof_fail(s, err, rc, what);
	lite_rollback(s->db); /* a no-op once COMMIT went through */
	pthread_mutex_unlock(&s->lock);
	return out;
}

static const struct lite_query Q_GRAPH_ADD = {
	"graph_add", "INSERT INTO portal_graph_triples "
		     "(graph, subject, predicate, object, added_at) "
		     "VALUES (?1, ?2, ?3, ?4, ?5) "
		     "ON CONFLICT (graph, subject, predicate, object) DO NOTHING"};

int sqlite_graph_put(void *impl, const char *graph, const struct proof_triple *t,
		     size_t n, struct perr *err)
{
	struct sqlite_store *s = impl;
	int out = 0;
	long long now = clock_wall_ms();
	sqlite3_stmt *st = NULL;
	pthread_mutex_lock(&s->lock);
	int rc = lite_begin(s);
	/* Not INSERT OR IGNORE: that would also skip, silently, a row a CHECK
	 * refuses. */
	if (rc == SQLITE_OK)
		rc = lite_stmt(s, &Q_GRAPH_ADD, &st);
	for (size_t i = 0; rc == SQLITE_OK && i < n; i++) {
		sqlite3_reset(st);
		lite_bind_text(st, 1, graph);
		lite_bind_text(st, 2, t[i].subject);
		lite_bind_text(st, 3, t[i].predicate);
		lite_bind_text(st, 4, t[i].object);
		sqlite3_bind_int64(st, 5, now);
		rc = sqlite3_step(st);
		if (rc == SQLITE_DONE)
			rc = SQLITE_OK;
	}
	if (rc != SQLITE_OK)
		out = proof_fail(s, err, rc, "write the graph");
	sqlite3_reset(st);
	return proof_end(s, rc, out, "write the graph", err);
}

static const struct lite_query Q_GRAPH_ABOUT = {
	"graph_about", "SELECT predicate, object FROM portal_graph_triples "
		       "WHERE graph = ?1 AND subject = ?2 "
		       "AND (predicate, object) > (?3, ?4) "
		       "ORDER BY predicate, object LIMIT ?5"};

int sqlite_graph_about(void *impl, const char *graph, const char *subject,
		       proof_triple_fn fn, void *arg, struct perr *err)
{
	struct sqlite_store *s = impl;
	int out = 0;
	struct proof_triple *page = calloc(PROOF_PAGE, sizeof *page);
	if (!page)
		abort();
	/* Where the next page starts: the last row's own (predicate, object) as
	 * stored, not the copies in page, which a longer value would not fit.
	 * Predicates are never empty, so ("", "") comes before every row. */
	char *after_p = NULL, *after_o = NULL;
	int more = 1;
	while (more && out == 0) {
		size_t n = 0;
		sqlite3_stmt *st = NULL;
		pthread_mutex_lock(&s->lock);
		int rc = lite_stmt(s, &Q_GRAPH_ABOUT, &st);
		if (rc == SQLITE_OK) {
			lite_bind_text(st, 1, graph);
			lite_bind_text(st, 2, subject);
			lite_bind_text(st, 3, after_p ? after_p : "");
			lite_bind_text(st, 4, after_o ? after_o : "");
			sqlite3_bind_int(st, 5, PROOF_PAGE);
		}
		while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
			struct proof_triple *t = &page[n++];
			snprintf(t->subject, sizeof t->subject, "%s", subject);
			snprintf(t->predicate, sizeof t->predicate, "%s", lite_str(st, 0));
			snprintf(t->object, sizeof t->object, "%s", lite_str(st, 1));
			if (n == PROOF_PAGE) {
				free(after_p);
				free(after_o);
				after_p = lite_dup(st, 0);
				after_o = lite_dup(st, 1);
			}
			rc = SQLITE_OK;
		}
		if (rc != SQLITE_DONE)
			out = proof_fail(s, err, rc, "read the graph");
		sqlite3_reset(st);
		pthread_mutex_unlock(&s->lock);
		more = out == 0 && n == PROOF_PAGE;
		for (size_t i = 0; out == 0 && i < n; i++)
			if (fn(arg, &page[i]) < 0) {
				more = 0;
				break;
			}
	}
	free(after_p);
	free(after_o);
	free(page);
	return out;
}

static const struct lite_query Q_FACT_ADD = {
	"fact_add", "INSERT INTO portal_warehouse_facts "
		    "(proposal, project, kind, event, at, actor, artifact, digest) "
		    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"};

int sqlite_fact_record(void *impl, const struct proof_fact *f, struct perr *err)
{
	struct sqlite_store *s = impl;
	int out = 0;
	pthread_mutex_lock(&s->lock);
	int rc = lite_run(s, &Q_FACT_ADD,
			  "ttttittt", f->proposal, f->project, f->kind, f->event, f->at, f->actor,
			  f->artifact, f->digest);
	if (rc != SQLITE_OK)
		out = proof_fail(s, err, rc, "record the fact");
	pthread_mutex_unlock(&s->lock);
	return out;
}

static const struct lite_query Q_FACTS = {
	"facts", "SELECT seq, project, kind, event, at, actor, artifact, "
		 "digest FROM portal_warehouse_facts "
		 "WHERE proposal = ?1 AND (at, seq) > (?2, ?3) "
		 "ORDER BY at, seq LIMIT ?4"};

int sqlite_facts(void *impl, const char *proposal, proof_fact_fn fn, void *arg,
		 struct perr *err)
{
	struct sqlite_store *s = impl;
	int out = 0;
	struct proof_fact *page = calloc(PROOF_PAGE, sizeof *page);
	if (!page)
		abort();
	long long after_at = LLONG_MIN, after_seq = LLONG_MIN;
	int more = 1;
	while (more && out == 0) {
		size_t n = 0;
		sqlite3_stmt *st = NULL;
		pthread_mutex_lock(&s->lock);
		int rc = lite_stmt(s, &Q_FACTS, &st);
		if (rc == SQLITE_OK) {
			lite_bind_text(st, 1, proposal);
			sqlite3_bind_int64(st, 2, after_at);
			sqlite3_bind_int64(st, 3, after_seq);
			sqlite3_bind_int(st, 4, PROOF_PAGE);
		}
		while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
			struct proof_fact *f = &page[n++];
			after_seq = sqlite3_column_int64(st, 0);
			snprintf(f->proposal, sizeof f->proposal, "%s", proposal);
			snprintf(f->project, sizeof f->project, "%s", lite_str(st, 1));
			snprintf(f->kind, sizeof f->kind, "%s", lite_str(st, 2));
			snprintf(f->event, sizeof f->event, "%s", lite_str(st, 3));
			f->at = after_at = sqlite3_column_int64(st, 4);
			snprintf(f->actor, sizeof f->actor, "%s", lite_str(st, 5));
			snprintf(f->artifact, sizeof f->artifact, "%s", lite_str(st, 6));
			snprintf(f->digest, sizeof f->digest, "%s", lite_str(st, 7));
			rc = SQLITE_OK;
		}
		if (rc != SQLITE_DONE)
			out = proof_fail(s, err, rc, "read the facts");
		sqlite3_reset(st);
		pthread_mutex_unlock(&s->lock);
		more = out == 0 && n == PROOF_PAGE;
		for (size_t i = 0; out == 0 && i < n; i++)
			if (fn(arg, &page[i]) < 0) {
				more = 0;
				break;
			}
	}
	free(page);
	return out;
}

static const struct lite_query Q_EVIDENCE_FIND = {
	"evidence_find", "SELECT proposal, digest, size, location, producer "
			 "FROM portal_evidence WHERE id = ?1"};
static const struct lite_query Q_EVIDENCE_ADD = {
	"evidence_add", "INSERT INTO portal_evidence "
			"(id, proposal, digest, size, location, producer, added_at) "
			"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"};

int sqlite_evidence_put(void *impl, const struct proof_evidence *e, struct perr *err)
{
	struct sqlite_store *s = impl;
	int out = 0;
	sqlite3_stmt *st = NULL;
	pthread_mutex_lock(&s->lock);
	int rc = lite_begin(s);
	if (rc == SQLITE_OK)
		rc = lite_stmt(s, &Q_EVIDENCE_FIND, &st);
	if (rc == SQLITE_OK) {
		lite_bind_text(st, 1, e->id);
		rc = sqlite3_step(st);
	}
	if (rc == SQLITE_ROW) {
		/* Stored already: equal is the same record told twice. */
		const char *differs = strcmp(lite_str(st, 0), e->proposal) != 0 ? "proposal"
				    : strcmp(lite_str(st, 1), e->digest) != 0   ? "digest"
				    : sqlite3_column_int64(st, 2) != e->size      ? "size"
				    : strcmp(lite_str(st, 3), e->location) != 0 ? "location"
				    : strcmp(lite_str(st, 4), e->producer) != 0 ? "producer"
										  : NULL;
		if (differs)
			out = perr_set(err, PERR_CONFLICT, "id",
				       "evidence '%s' is already stored with another %s", e->id,
				       differs);
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		rc = lite_run(s, &Q_EVIDENCE_ADD,
			      "tttitti", e->id, e->proposal, e->digest, e->size, e->location,
			      e->producer, clock_wall_ms());
	}
	if (rc != SQLITE_OK)
		out = proof_fail(s, err, rc, "store the evidence");
	sqlite3_reset(st);
	return proof_end(s, rc, out, "store the evidence", err);
}

static const struct lite_query Q_EVIDENCE_OF = {
	"evidence_of", "SELECT rowid, id, digest, size, location, producer "
		       "FROM portal_evidence WHERE proposal = ?1 AND rowid > ?2 "
		       "ORDER BY rowid LIMIT ?3"};

int sqlite_evidence_of(void *impl, const char *proposal, proof_evidence_fn fn,
		       void *arg, struct perr *err)
{
	struct sqlite_store *s = impl;
	int out = 0;
	struct proof_evidence *page = calloc(PROOF_PAGE, sizeof *page);
	if (!page)
		abort();
	long long after = LLONG_MIN;
	int more = 1;
	while (more && out == 0) {
		size_t n = 0;
		sqlite3_stmt *st = NULL;
		pthread_mutex_lock(&s->lock);
		/* rowid: the order they were stored (the table is never deleted
		 * from, so no rowid is used twice). */
		int rc = lite_stmt(s, &Q_EVIDENCE_OF, &st);
		if (rc == SQLITE_OK) {
			lite_bind_text(st, 1, proposal);
			sqlite3_bind_int64(st, 2, after);
			sqlite3_bind_int(st, 3, PROOF_PAGE);
		}
		while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
			struct proof_evidence *e = &page[n++];
			after = sqlite3_column_int64(st, 0);
			snprintf(e->id, sizeof e->id, "%s", lite_str(st, 1));
			snprintf(e->proposal, sizeof e->proposal, "%s", proposal);
			snprintf(e->digest, sizeof e->digest, "%s", lite_str(st, 2));
			e->size = sqlite3_column_int64(st, 3);
			snprintf(e->location, sizeof e->location, "%s", lite_str(st, 4));
			snprintf(e->producer, sizeof e->producer, "%s", lite_str(st, 5));
			rc = SQLITE_OK;
		}
		if (rc != SQLITE_DONE)
			out = proof_fail(s, err, rc, "read the evidence");
		sqlite3_reset(st);
		pthread_mutex_unlock(&s->lock);
		more = out == 0 && n == PROOF_PAGE;
		for (size_t i = 0; out == 0 && i < n; i++)
			if (fn(arg, &page[i]) < 0) {
				more = 0;
				break;
			}
	}
	free(page);
	return out;
}
