/* pg_log: the live event log on PostgreSQL, with the semantics
 * sqlite_log.c defines. Events take their seq under portal_live_seq's row
 * lock (pg_conn.c), so seq order is commit order across every replica
 * writing to the database. */
#include "store/pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "util/clock.h"

/* --- portal_live_events -------------------------------------------------- */

/* One transaction, one statement per batch, and no savepoints: they cost
 * two round trips a batch, taken while holding the seq row. A batch whose
 * statement fails on its own instead gets its rc, and the transaction runs
 * again without it: the same outcome, paid only when a batch fails. */
int pg_append(void *impl, struct store_batch *const *batches, size_t n, struct perr *err)
{
	struct pg_store *s = impl;
	long long now = clock_wall_ms();
	struct pg_conn *c = pg_acquire(s, err);
	if (!c)
		return PERR_UNAVAILABLE;
	for (size_t b = 0; b < n; b++)
		batches[b]->rc = 0;
	int rc = 0;
	for (int attempt = 0;;) {
		size_t left = 0;
		for (size_t b = 0; b < n; b++)
			left += batches[b]->rc == 0;
		if (left == 0) {
			rc = 0; /* each batch failed on its own: the call did not */
			break;
		}
		size_t failed = n; /* the batch that failed on its own, if one did */
		rc = pg_begin(c);
		if (rc == 0)
			rc = pg_lock_seq(c);
		for (size_t b = 0; rc == 0 && b < n; b++) {
			struct store_batch *bt = batches[b];
			if (bt->rc != 0)
				continue;
			rc = pg_append_events(c, bt->evs, bt->n, now, bt->seqs, bt->fresh);
			if (rc < 0 && !pg_retryable(c) && PQstatus(c->conn) == CONNECTION_OK)
				failed = b;
		}
		if (rc == 0)
			rc = pg_commit(c);
		if (rc == 0)
			break;
		if (failed < n)
			batches[failed]->rc = pg_fail(s, c, &batches[failed]->err);
		else if (!pg_retryable(c) || ++attempt == PG_RETRIES)
			break;
		pg_rollback(c);
	}
	int out = rc == 0 ? 0 : pg_fail(s, c, err);
	pg_release(s, c);
	return out;
}

static const struct pg_query Q_SCAN = {
	"scan", "SELECT seq, id, ts, source, type, project, session, data "
		"FROM portal_live_events WHERE seq > $1::bigint ORDER BY seq LIMIT $2::bigint"};

static const char *nullable(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

/* Page by page, letting go of the connection between pages: seqs are given
 * in commit order, so `seq > last` across pages misses nothing. */
long long pg_scan(void *impl, long long after, long long limit, store_event_fn fn, void *arg,
		  struct perr *err)
{
	struct pg_store *s = impl;
	long long count = 0;
	for (;;) {
		long long want = PG_PAGE;
		if (limit > 0 && limit - count < want)
			want = limit - count;
		if (want <= 0)
			break;
		struct pg_conn *c = pg_acquire(s, err);
		if (!c)
			return PERR_UNAVAILABLE;
		PGresult *r = pg_exec(c, &Q_SCAN, "ii", after, want);
		if (!r) {
			int out = pg_fail(s, c, err);
			pg_release(s, c);
			return out;
		}
		pg_release(s, c);
		int rows = PQntuples(r);
		for (int i = 0; i < rows; i++) {
			struct event ev;
			ev.seq = after = pg_ll(r, i, 0);
			ev.id = nullable(r, i, 1);
			ev.ts = pg_ll(r, i, 2);
			ev.source = nullable(r, i, 3);
			ev.type = nullable(r, i, 4);
			ev.project = nullable(r, i, 5);
			ev.session = nullable(r, i, 6);
			ev.data = json_loads(pg_str(r, i, 7), 0, NULL);
			if (!json_is_object(ev.data)) { /* never written so; keep going honestly */
				json_decref(ev.data);
				ev.data = json_object();
			}
			int stop = fn(arg, &ev) < 0;
			json_decref(ev.data);
			count++;
			if (stop) {
				PQclear(r);
				return count;
			}
		}
		PQclear(r);
		if (rows < want)
			break;
	}
	return count;
}

static const struct pg_query Q_HISTORY = {
	"history",
	"SELECT to_char(to_timestamp(ts / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, "
	"type, count(*) FROM portal_live_events "
	"WHERE $1::bigint <= 0 "
	"OR ts >= (SELECT max(ts) FROM portal_live_events) - $1::bigint * 86400000 "
	"GROUP BY day, type ORDER BY day DESC, type LIMIT 10000"};

int pg_history(void *impl, int days,
	       int (*fn)(void *arg, const char *day, const char *type, long long n), void *arg,
	       struct perr *err)
{
	struct pg_store *s = impl;
	struct pg_conn *c = pg_acquire(s, err);
	if (!c)
		return PERR_UNAVAILABLE;
	PGresult *r = pg_exec(c, &Q_HISTORY, "i", (long long)days);
	int out = r ? 0 : pg_fail(s, c, err);
	pg_release(s, c);
	for (int i = 0; r && i < PQntuples(r); i++)
		if (fn(arg, pg_str(r, i, 0), pg_str(r, i, 1), pg_ll(r, i, 2)) < 0)
			break;
	PQclear(r);
	return out;
}
