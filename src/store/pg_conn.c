/* pg_conn: the PostgreSQL backend's plumbing — connecting, the pool of
 * connections (a mutex, a condition variable and a stack of idle ones),
 * statements prepared by name per connection, transactions, column readers,
 * and the one place events get their seq. No op lives here. */
#include "store/pg.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "util/buf.h"

/* Drops the server's notices ("relation ... already exists, skipping"):
 * libpq would print them on stderr. */
static void quiet(void *arg, const char *msg)
{
}

/* libpq's message as one line: newlines and tabs become spaces, the end is
 * trimmed. */
static void one_line(char *out, size_t cap, const char *msg)
{
	size_t n = 0;
	for (const char *p = msg ? msg : ""; *p && n + 1 < cap; p++) {
		char ch = *p == '\n' || *p == '\t' || *p == '\r' ? ' ' : *p;
		if (ch == ' ' && (n == 0 || out[n - 1] == ' '))
			continue;
		out[n++] = ch;
	}
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
}

PGconn *pg_connect(const struct pg_store *s, char *why, size_t cap)
{
	/* Keywords before dbname are defaults the URL may override; those
	 * after it win over the URL (libpq's rule for expand_dbname). */
	const char *keys[] = {"connect_timeout", "fallback_application_name", "dbname",
			      s->password ? "password" : NULL, NULL};
	const char *vals[] = {"10", "portal", s->url, s->password, NULL};
	PGconn *conn = PQconnectdbParams(keys, vals, 1);
	if (!conn) {
		snprintf(why, cap, "out of memory");
		return NULL;
	}
	if (PQstatus(conn) != CONNECTION_OK) {
		one_line(why, cap, PQerrorMessage(conn));
		PQfinish(conn);
		return NULL;
	}
	PQsetNoticeProcessor(conn, quiet, NULL);
	char timeout[32];
	snprintf(timeout, sizeof timeout, "%dms", s->lock_timeout_ms);
	const char *params[] = {timeout};
	PGresult *r = PQexecParams(conn,
				   "SELECT set_config('lock_timeout', $1, false), "
				   "set_config('bytea_output', 'hex', false), "
				   "set_config('client_encoding', 'UTF8', false)",
				   1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		one_line(why, cap, PQerrorMessage(conn));
		PQclear(r);
		PQfinish(conn);
		return NULL;
	}
	PQclear(r);
	return conn;
}

/* --- the pool ------------------------------------------------------------- */

struct pg_conn *pg_acquire(struct pg_store *s, struct perr *err)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += s->lock_timeout_ms / 1000;
	until.tv_nsec += (long)(s->lock_timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&s->lock);
	while (s->nidle == 0) {
		if (pthread_cond_timedwait(&s->returned, &s->lock, &until) == ETIMEDOUT &&
		    s->nidle == 0) {
			pthread_mutex_unlock(&s->lock);
			perr_set(err, PERR_UNAVAILABLE, PG_FIELD,
				 "database %s is busy: all %d connections stayed in use for %d ms",
				 s->label, s->nconns, s->lock_timeout_ms);
			return NULL;
		}
	}
	int i = s->idle[--s->nidle];
	pthread_mutex_unlock(&s->lock);
	struct pg_conn *c = &s->conns[i];
	c->state[0] = c->msg[0] = '\0';
	c->seq_locked = 0;
	c->notify_seq = 0;
	if (c->conn && PQstatus(c->conn) != CONNECTION_OK) {
		PQfinish(c->conn);
		c->conn = NULL;
	}
	if (!c->conn) {
		char why[224];
		c->nprepared = 0;
		c->conn = pg_connect(s, why, sizeof why);
		if (!c->conn) {
			pg_release(s, c);
			perr_set(err, PERR_UNAVAILABLE, PG_FIELD, "database %s cannot be opened: %s",
				 s->label, why);
			return NULL;
		}
	}
	return c;
}

void pg_release(struct pg_store *s, struct pg_conn *c)
{
	if (c->conn) {
		if (PQtransactionStatus(c->conn) == PQTRANS_INTRANS ||
		    PQtransactionStatus(c->conn) == PQTRANS_INERROR)
			PQclear(PQexec(c->conn, "ROLLBACK"));
		if (PQstatus(c->conn) != CONNECTION_OK ||
		    PQtransactionStatus(c->conn) != PQTRANS_IDLE) {
			PQfinish(c->conn);
			c->conn = NULL;
		}
	}
	c->seq_locked = 0;
	c->notify_seq = 0;
	pthread_mutex_lock(&s->lock);
	s->idle[s->nidle++] = (int)(c - s->conns);
	pthread_cond_signal(&s->returned);
	pthread_mutex_unlock(&s->lock);
}

/* --- running statements -------------------------------------------------- */

/* Keeps what went wrong on c: the SQLSTATE and the primary message. */
void pg_note(struct pg_conn *c, const PGresult *r)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	/* No SQLSTATE means libpq itself failed: the connection, most likely. */
	snprintf(c->state, sizeof c->state, "%s", state ? state : "08006");
	one_line(c->msg, sizeof c->msg, msg ? msg : PQerrorMessage(c->conn));
}

static int ok_status(const PGresult *r)
{
	ExecStatusType st = PQresultStatus(r);
	return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

#define PG_PARAMS_MAX 16

static PGresult *exec_v(struct pg_conn *c, const struct pg_query *q, const char *types,
			va_list ap)
{
	const char *vals[PG_PARAMS_MAX];
	int lens[PG_PARAMS_MAX], fmts[PG_PARAMS_MAX];
	char nums[PG_PARAMS_MAX][24];
	int n = 0;
	for (; types[n]; n++) {
		if (n == PG_PARAMS_MAX)
			abort(); /* a statement in this backend has more: a bug */
		lens[n] = fmts[n] = 0;
		if (types[n] == 't') {
			vals[n] = va_arg(ap, const char *);
		} else if (types[n] == 'h') {
			vals[n] = (const char *)va_arg(ap, const unsigned char *);
			lens[n] = 32;
			fmts[n] = 1;
		} else {
			long long v = va_arg(ap, long long);
			snprintf(nums[n], sizeof nums[n], "%lld", v);
			vals[n] = types[n] == 'l' && v <= 0 ? NULL : nums[n];
		}
	}
	int prepared = 0;
	for (int i = 0; i < c->nprepared && !prepared; i++)
		prepared = c->prepared[i] == q;
	if (!prepared && c->nprepared < PG_PREPARED_MAX) {
		PGresult *r = PQprepare(c->conn, q->name, q->sql, 0, NULL);
		if (!ok_status(r)) {
			pg_note(c, r);
			PQclear(r);
			return NULL;
		}
		PQclear(r);
		c->prepared[c->nprepared++] = q;
		prepared = 1;
	}
	PGresult *r = prepared ? PQexecPrepared(c->conn, q->name, n, vals, lens, fmts, 0)
			       : PQexecParams(c->conn, q->sql, n, NULL, vals, lens, fmts, 0);
	if (!ok_status(r)) {
		pg_note(c, r);
		PQclear(r);
		return NULL;
	}
	return r;
}

PGresult *pg_exec(struct pg_conn *c, const struct pg_query *q, const char *types, ...)
{
	va_list ap;
	va_start(ap, types);
	PGresult *r = exec_v(c, q, types, ap);
	va_end(ap);
	return r;
}

int pg_run(struct pg_conn *c, long long *changed, const struct pg_query *q, const char *types,
	   ...)
{
	va_list ap;
	va_start(ap, types);
	PGresult *r = exec_v(c, q, types, ap);
	va_end(ap);
	if (!r)
		return -1;
	if (changed)
		*changed = strtoll(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return 0;
}

int pg_simple(struct pg_conn *c, const char *sql)
{
	PGresult *r = PQexec(c->conn, sql);
	int rc = ok_status(r) ? 0 : -1;
	if (rc < 0)
		pg_note(c, r);
	PQclear(r);
	return rc;
}

int pg_begin(struct pg_conn *c)
{
	c->seq_locked = 0;
	c->notify_seq = 0;
	return pg_simple(c, "BEGIN ISOLATION LEVEL READ COMMITTED");
}

static const struct pg_query Q_NOTIFY = {
	"notify", "SELECT pg_notify('" PG_NOTIFY_CHANNEL "', "
		  "coalesce(current_schema(), '') || ':' || $1::text)"};

int pg_commit(struct pg_conn *c)
{
	if (c->notify_seq > 0) {
		char seq[24];
		snprintf(seq, sizeof seq, "%lld", c->notify_seq);
		if (pg_run(c, NULL, &Q_NOTIFY, "t", seq) < 0)
			return -1;
		c->notify_seq = 0;
	}
	PGresult *r = PQexec(c->conn, "COMMIT");
	int rc = ok_status(r) ? 0 : -1;
	if (rc < 0)
		pg_note(c, r);
	PQclear(r);
	/* A COMMIT of a transaction that had failed answers "ROLLBACK". */
	if (rc == 0 && PQtransactionStatus(c->conn) != PQTRANS_IDLE)
		rc = -1;
	c->seq_locked = 0;
	return rc;
}

void pg_rollback(struct pg_conn *c)
{
	PGTransactionStatusType t = PQtransactionStatus(c->conn);
	if (t == PQTRANS_INTRANS || t == PQTRANS_INERROR)
		PQclear(PQexec(c->conn, "ROLLBACK"));
	c->seq_locked = 0;
	c->notify_seq = 0;
}

int pg_retryable(const struct pg_conn *c)
{
	return strcmp(c->state, "40001") == 0 || strcmp(c->state, "40P01") == 0;
}

int pg_unique_violation(const struct pg_conn *c)
{
	return strcmp(c->state, "23505") == 0;
}

/* Unreachable, shutting down, out of connections, or a lock not had in time:
 * the caller may try again later. */
static int unavailable(const struct pg_conn *c)
{
	return strncmp(c->state, "08", 2) == 0 || strncmp(c->state, "57P", 3) == 0 ||
	       strcmp(c->state, "53300") == 0 || strcmp(c->state, "55P03") == 0 ||
	       pg_retryable(c) || (c->conn && PQstatus(c->conn) != CONNECTION_OK);
}

int pg_fail(const struct pg_store *s, const struct pg_conn *c, struct perr *err)
{
	return perr_set(err, unavailable(c) ? PERR_UNAVAILABLE : PERR_STORE, PG_FIELD,
			"database %s %s: %s", s->label, unavailable(c) ? "is unavailable" : "failed",
			c->msg[0] ? c->msg : "unknown error");
}

int pg_proof_fail(const struct pg_conn *c, struct perr *err, const char *what)
{
	return perr_set(err, unavailable(c) ? PERR_UNAVAILABLE : PERR_STORE, PG_FIELD,
			"cannot %s: %s", what, c->msg[0] ? c->msg : "unknown error");
}

/* --- columns --------------------------------------------------------------- */

const char *pg_str(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col);
}

long long pg_ll(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

char *pg_dup(const PGresult *r, int row, int col)
{
	if (PQgetisnull(r, row, col))
		return NULL;
	char *v = strdup(PQgetvalue(r, row, col));
	if (!v)
		abort();
	return v;
}

static int hexval(char ch)
{
	return ch >= '0' && ch <= '9' ? ch - '0'
	     : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
	     : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
				      : -1;
}

int pg_hash(const PGresult *r, int row, int col, unsigned char out[32])
{
	memset(out, 0, 32);
	const char *v = pg_str(r, row, col);
	if (strlen(v) != 66 || v[0] != '\\' || v[1] != 'x')
		return -1;
	unsigned char tmp[32];
	for (int i = 0; i < 32; i++) {
		int hi = hexval(v[2 + 2 * i]), lo = hexval(v[3 + 2 * i]);
		if (hi < 0 || lo < 0)
			return -1;
		tmp[i] = (unsigned char)(hi << 4 | lo);
	}
	memcpy(out, tmp, 32);
	return 0;
}

/* --- the log's seq ----------------------------------------------------------- */

static const struct pg_query Q_SEQ_LOCK = {
	"seq_lock", "SELECT last FROM portal_live_seq FOR UPDATE"};

int pg_lock_seq(struct pg_conn *c)
{
	if (c->seq_locked)
		return 0;
	PGresult *r = pg_exec(c, &Q_SEQ_LOCK, "");
	if (!r)
		return -1;
	int rows = PQntuples(r);
	PQclear(r);
	if (rows != 1) {
		snprintf(c->state, sizeof c->state, "XX000");
		snprintf(c->msg, sizeof c->msg, "portal_live_seq has %d rows, not 1", rows);
		return -1;
	}
	c->seq_locked = 1;
	return 0;
}

/* Text arrays travel as array literals: every element quoted (a quote or a
 * backslash inside escaped), NULL unquoted. */
static void array_text(struct buf *b, const char *v)
{
	buf_putc(b, b->len ? ',' : '{');
	if (!v) {
		buf_puts(b, "NULL");
		return;
	}
	buf_putc(b, '"');
	for (const char *p = v, *run = v;; p++) {
		if (*p == '"' || *p == '\\' || !*p) {
			buf_append(b, run, (size_t)(p - run));
			if (!*p)
				break;
			buf_putc(b, '\\');
			run = p;
		}
	}
	buf_putc(b, '"');
}

static void array_ll(struct buf *b, long long v)
{
	buf_printf(b, "%c%lld", b->len ? ',' : '{', v);
}

static const char *array_close(struct buf *b)
{
	buf_puts(b, b->len ? "}" : "{}");
	return buf_cstr(b);
}

/* A batch in one statement. With the seq row locked since before it began,
 * no other writer can store one of these ids or take a seq in between: a
 * known id reports its seq (fresh 0); a new one is stored under the next seq,
 * in the order of its first occurrence, and a later occurrence of it in the
 * same batch reports that seq (fresh 0), as SQLite's ON CONFLICT DO NOTHING
 * does. The seq row moves once, by the number of new ids, and only when
 * there is one. Rows come back in event order. */
static const struct pg_query Q_EV_APPEND = {
	"ev_append",
	"WITH ev AS (SELECT e.*, "
	"(SELECT l.seq FROM portal_live_events AS l WHERE l.id = e.id) AS known "
	"FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], "
	"$6::text[], $7::text[]) WITH ORDINALITY "
	"AS e(id, ts, source, type, project, session, data, k)), "
	"firsts AS (SELECT f.*, row_number() OVER (ORDER BY f.k) AS r FROM "
	"(SELECT DISTINCT ON (id) * FROM ev WHERE known IS NULL ORDER BY id, k) AS f), "
	"bump AS (UPDATE portal_live_seq SET last = last + (SELECT count(*) FROM firsts) "
	"WHERE EXISTS (SELECT 1 FROM firsts) "
	"RETURNING last - (SELECT count(*) FROM firsts) AS base), "
	"ins AS (INSERT INTO portal_live_events "
	"(seq, id, ts, source, type, project, session, data, received_at) "
	"SELECT b.base + f.r, f.id, f.ts, f.source, f.type, f.project, f.session, f.data, "
	"$8::bigint FROM firsts AS f, bump AS b ORDER BY f.r RETURNING seq, id) "
	"SELECT coalesce(ev.known, ins.seq), CASE WHEN f.k IS NULL THEN 0 ELSE 1 END "
	"FROM ev LEFT JOIN ins ON ev.known IS NULL AND ins.id = ev.id "
	"LEFT JOIN firsts AS f ON f.k = ev.k ORDER BY ev.k"};

int pg_append_events(struct pg_conn *c, const struct event *evs, size_t n, long long now,
		     long long *seqs, int *fresh)
{
	if (n == 0)
		return 0;
	if (pg_lock_seq(c) < 0)
		return -1;
	enum { ID, TS, SOURCE, TYPE, PROJECT, SESSION, DATA, COLUMNS };
	struct buf col[COLUMNS];
	for (int k = 0; k < COLUMNS; k++)
		col[k] = (struct buf)BUF_INIT;
	for (size_t i = 0; i < n; i++) {
		const struct event *ev = &evs[i];
		char *data = json_dumps(ev->data, JSON_COMPACT);
		if (!data)
			abort();
		array_text(&col[ID], ev->id);
		array_ll(&col[TS], ev->ts);
		array_text(&col[SOURCE], ev->source ? ev->source : "unknown");
		array_text(&col[TYPE], ev->type);
		array_text(&col[PROJECT], ev->project);
		array_text(&col[SESSION], ev->session);
		array_text(&col[DATA], data);
		free(data);
	}
	const char *a[COLUMNS];
	for (int k = 0; k < COLUMNS; k++)
		a[k] = array_close(&col[k]);
	PGresult *r = pg_exec(c, &Q_EV_APPEND, "ttttttti", a[ID], a[TS], a[SOURCE], a[TYPE],
			      a[PROJECT], a[SESSION], a[DATA], now);
	for (int k = 0; k < COLUMNS; k++)
		buf_free(&col[k]);
	if (!r)
		return -1;
	int rc = 0;
	if ((size_t)PQntuples(r) == n) {
		for (size_t i = 0; i < n; i++) {
			seqs[i] = pg_ll(r, (int)i, 0);
			fresh[i] = (int)pg_ll(r, (int)i, 1);
			if (fresh[i] && seqs[i] > c->notify_seq)
				c->notify_seq = seqs[i];
		}
	} else {
		snprintf(c->state, sizeof c->state, "XX000");
		snprintf(c->msg, sizeof c->msg, "a batch of %zu events came back as %d rows", n,
			 PQntuples(r));
		rc = -1;
	}
	PQclear(r);
	return rc;
}
