/* sqlite_log: portal_live_events on SQLite — append (batches all or
 * nothing, a known id not stored twice and never using up a seq), scan in
 * seq order, and the history by day on a read-only connection of its own. */
#include "store/sqlite_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/clock.h"

/* The id is looked up before the insert, rather than the insert saying
 * `ON CONFLICT (id) DO NOTHING`: SQLite draws the AUTOINCREMENT rowid before
 * it finds the conflict, so every duplicate would use up a seq and leave a
 * version that never existed. (`INSERT ... SELECT ... WHERE NOT EXISTS` draws
 * none either, but reading the table it writes costs it twice the CPU.) The
 * caller's transaction (BEGIN IMMEDIATE) keeps anyone else from storing the
 * id between the two. */
static const struct lite_query Q_EVENT_SEQ = {
	"event_seq", "SELECT seq FROM portal_live_events WHERE id = ?1"};
static const struct lite_query Q_EVENT_ADD = {
	"event_add", "INSERT INTO portal_live_events "
		     "(id, ts, source, type, project, session, data, received_at) "
		     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"};

/* Finds the seq of a known id, or stores the event under the next one.
 * Returns a SQLite code. */
int lite_append_one(struct sqlite_store *s, const struct event *ev, long long now,
		    long long *seq, int *fresh)
{
	sqlite3_stmt *st = NULL;
	int rc = lite_stmt(s, &Q_EVENT_SEQ, &st);
	if (rc != SQLITE_OK)
		return rc;
	lite_bind_text(st, 1, ev->id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*seq = sqlite3_column_int64(st, 0);
		*fresh = 0;
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return SQLITE_OK;
	if (rc != SQLITE_DONE)
		return rc;

	rc = lite_stmt(s, &Q_EVENT_ADD, &st);
	if (rc != SQLITE_OK)
		return rc;
	char *data = json_dumps(ev->data, JSON_COMPACT);
	if (!data)
		return SQLITE_NOMEM;
	lite_bind_text(st, 1, ev->id);
	sqlite3_bind_int64(st, 2, ev->ts);
	lite_bind_text(st, 3, ev->source ? ev->source : "unknown");
	lite_bind_text(st, 4, ev->type);
	lite_bind_text(st, 5, ev->project);
	lite_bind_text(st, 6, ev->session);
	sqlite3_bind_text(st, 7, data, -1, free);
	sqlite3_bind_int64(st, 8, now);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE)
		return rc;
	*seq = sqlite3_last_insert_rowid(s->db);
	*fresh = 1;
	return SQLITE_OK;
}

int sqlite_append(void *impl, struct store_batch *const *batches, size_t n,
		  struct perr *err)
{
	struct sqlite_store *s = impl;
	long long now = clock_wall_ms();
	pthread_mutex_lock(&s->lock);
	int rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		rc = lite_fail(err, (rc & 0xff) == SQLITE_BUSY ? PERR_UNAVAILABLE : PERR_STORE, s->label,
			       s->db, rc);
		pthread_mutex_unlock(&s->lock);
		return rc;
	}
	for (size_t b = 0; b < n; b++) {
		struct store_batch *bt = batches[b];
		bt->rc = 0;
		rc = sqlite3_exec(s->db, "SAVEPOINT batch", NULL, NULL, NULL);
		for (size_t i = 0; rc == SQLITE_OK && i < bt->n; i++)
			rc = lite_append_one(s, &bt->evs[i], now, &bt->seqs[i], &bt->fresh[i]);
		if (rc != SQLITE_OK) {
			bt->rc = lite_fail(&bt->err, PERR_STORE, s->label, s->db, rc);
			sqlite3_exec(s->db, "ROLLBACK TO batch", NULL, NULL, NULL);
		}
		sqlite3_exec(s->db, "RELEASE batch", NULL, NULL, NULL);
	}
	rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		rc = lite_fail(err, PERR_STORE, s->label, s->db, rc);
		lite_rollback(s->db);
		pthread_mutex_unlock(&s->lock);
		return rc;
	}
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static const struct lite_query Q_SCAN = {
	"scan", "SELECT seq, id, ts, source, type, project, session, data "
		"FROM portal_live_events WHERE seq > ?1 ORDER BY seq LIMIT ?2"};

long long sqlite_scan(void *impl, long long after, long long limit, store_event_fn fn,
		      void *arg, struct perr *err)
{
	struct sqlite_store *s = impl;
	long long count = 0;
	pthread_mutex_lock(&s->lock);
	sqlite3_stmt *st = NULL;
	int rc = lite_stmt(s, &Q_SCAN, &st);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, after);
		sqlite3_bind_int64(st, 2, limit > 0 ? limit : -1);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			struct event ev;
			ev.seq = sqlite3_column_int64(st, 0);
			ev.id = (const char *)sqlite3_column_text(st, 1);
			ev.ts = sqlite3_column_int64(st, 2);
			ev.source = (const char *)sqlite3_column_text(st, 3);
			ev.type = (const char *)sqlite3_column_text(st, 4);
			ev.project = (const char *)sqlite3_column_text(st, 5);
			ev.session = (const char *)sqlite3_column_text(st, 6);
			ev.data = json_loadb((const char *)sqlite3_column_blob(st, 7),
					     (size_t)sqlite3_column_bytes(st, 7), 0, NULL);
			if (!json_is_object(ev.data)) { /* never written so; keep going honestly */
				json_decref(ev.data);
				ev.data = json_object();
			}
			int stop = fn(arg, &ev) < 0;
			json_decref(ev.data);
			count++;
			if (stop) {
				rc = SQLITE_DONE;
				break;
			}
		}
		sqlite3_reset(st);
	}
	long long out = count;
	if (rc != SQLITE_DONE)
		out = lite_fail(err, PERR_STORE, s->label, s->db, rc);
	pthread_mutex_unlock(&s->lock);
	return out;
}

int sqlite_history(void *impl, int days,
		   int (*fn)(void *arg, const char *day, const char *type, long long n),
		   void *arg, struct perr *err)
{
	const struct sqlite_store *s = impl;
	/* A connection of its own, read-only: a long scan never holds up the
	 * writer. */
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(s->open_path, &db, SQLITE_OPEN_READONLY, NULL);
	sqlite3_stmt *st = NULL;
	if (rc == SQLITE_OK) {
		sqlite3_busy_timeout(db, s->busy_timeout_ms);
		rc = sqlite3_prepare_v2(
			db,
			"SELECT strftime('%Y-%m-%d', ts / 1000, 'unixepoch') AS day, type, count(*) "
			"FROM portal_live_events "
			"WHERE ?1 <= 0 OR ts >= (SELECT max(ts) FROM portal_live_events) - ?1 * 86400000 "
			"GROUP BY day, type ORDER BY day DESC, type LIMIT 10000",
			-1, &st, NULL);
	}
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, days);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			if (fn(arg, (const char *)sqlite3_column_text(st, 0),
			       (const char *)sqlite3_column_text(st, 1),
			       sqlite3_column_int64(st, 2)) < 0) {
				rc = SQLITE_DONE;
				break;
			}
	}
	int out = 0;
	if (rc != SQLITE_DONE)
		out = lite_fail(err, PERR_STORE, s->label, db, rc);
	sqlite3_finalize(st);
	sqlite3_close_v2(db);
	return out;
}
