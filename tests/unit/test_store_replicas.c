/* Several replicas on one store: two handles (as two `portal serve` or
 * `portal worker` processes would hold) writing at the same moment. The log's
 * seqs must stay unique, gap-free and in commit order, so a reader polling
 * `seq > last` misses nothing; the queue must hand each proposal to one
 * worker; the audit chain must stay one chain. Runs on the store under test:
 * these matter most on PostgreSQL, where the replicas are separate machines. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <libpq-fe.h>
#include <poll.h>

#include "core/proposal.h"
#include "store/store.h"
#include "store_under_test.h"

#define T0 1700000000000LL

static void enter(void)
{
	tstore_setup("portal-replicas");
}

TestSuite(replicas, .init = enter, .fini = tstore_teardown, .timeout = 60);

static struct store *replica(void)
{
	struct store *st = NULL;
	struct perr err;
	perr_clear(&err);
	struct store_options opt = {.busy_timeout_ms = 20000};
	cr_assert_eq(store_open(tstore_url(), &opt, &st, &err), 0, "%s", err.msg);
	cr_assert_eq(store_migrate(st, NULL, NULL, &err), 0, "%s", err.msg);
	return st;
}

/* --- the event log ---------------------------------------------------------- */

enum { WRITERS = 2, BATCHES = 40, PER_BATCH = 4, EVENTS = WRITERS * BATCHES * PER_BATCH };

struct writer {
	struct store *st;
	int n;       /* which writer */
	int failed;
	char why[256];
};

static void *write_events(void *arg)
{
	struct writer *w = arg;
	json_t *data = json_object();
	for (int b = 0; b < BATCHES && !w->failed; b++) {
		struct event evs[PER_BATCH];
		char ids[PER_BATCH][64];
		long long seqs[PER_BATCH];
		int fresh[PER_BATCH];
		for (int i = 0; i < PER_BATCH; i++) {
			snprintf(ids[i], sizeof ids[i], "w%d-b%d-e%d", w->n, b, i);
			evs[i] = (struct event){.id = ids[i], .type = "session.tool",
						.project = "atlas", .session = "s-1",
						.source = "test", .ts = T0 + b, .data = data};
		}
		struct store_batch batch = {.evs = evs, .n = PER_BATCH, .seqs = seqs,
					    .fresh = fresh};
		struct store_batch *one = &batch;
		struct perr err;
		if (store_append(w->st, &one, 1, &err) < 0 || batch.rc < 0) {
			w->failed = 1;
			snprintf(w->why, sizeof w->why, "%s", batch.rc < 0 ? batch.err.msg : err.msg);
		}
		/* The same ids again, from the other replica's side of things:
		 * stored once, the original seqs reported. */
		if (!w->failed && b % 8 == 0) {
			long long again[PER_BATCH];
			batch.seqs = again;
			if (store_append(w->st, &one, 1, &err) < 0 || batch.rc < 0 ||
			    memcmp(again, seqs, sizeof again) != 0 || fresh[0]) {
				w->failed = 1;
				snprintf(w->why, sizeof w->why, "a repeated batch was stored again");
			}
		}
	}
	json_decref(data);
	return NULL;
}

struct reader {
	struct store *st;
	long long last;  /* the highest seq seen */
	long long seen;
	int back;        /* a seq not above the one before */
	int gap;         /* a seq that did not follow the one before */
	char ids[EVENTS][24];
	volatile int done;
};

static int read_one(void *arg, const struct event *ev)
{
	struct reader *r = arg;
	if (ev->seq <= r->last && !r->back)
		r->back = (int)ev->seq;
	if (ev->seq != r->last + 1 && !r->gap)
		r->gap = (int)ev->seq;
	r->last = ev->seq;
	if (r->seen < EVENTS)
		snprintf(r->ids[r->seen], sizeof r->ids[0], "%s", ev->id);
	r->seen++;
	return 0;
}

/* Polls as `portal serve` does: every event after the last one seen. */
static void *poll_events(void *arg)
{
	struct reader *r = arg;
	struct perr err;
	while (!r->done)
		store_scan(r->st, r->last, 0, read_one, r, &err);
	store_scan(r->st, r->last, 0, read_one, r, &err);
	return NULL;
}

static int by_text(const void *a, const void *b)
{
	return strcmp(a, b);
}

Test(replicas, two_replicas_appending_at_once_get_seqs_that_pollers_see_in_order_missing_none)
{
	struct store *a = replica(), *b = replica(), *c = replica();
	struct writer wa = {.st = a, .n = 0}, wb = {.st = b, .n = 1};
	static struct reader ra, rb;
	ra.st = a;
	rb.st = c;
	pthread_t ta, tb, pa, pb;
	pthread_create(&pa, NULL, poll_events, &ra);
	pthread_create(&pb, NULL, poll_events, &rb);
	pthread_create(&ta, NULL, write_events, &wa);
	pthread_create(&tb, NULL, write_events, &wb);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	ra.done = rb.done = 1;
	pthread_join(pa, NULL);
	pthread_join(pb, NULL);
	cr_assert_not(wa.failed, "%s", wa.why);
	cr_assert_not(wb.failed, "%s", wb.why);

	struct reader *rs[] = {&ra, &rb};
	for (int k = 0; k < 2; k++) {
		struct reader *r = rs[k];
		/* Seen all: had a seq been taken in another order than the
		 * commits, the poller would have gone past it and missed it. */
		cr_assert_eq(r->back, 0, "poller %d saw seq %d after a higher one", k, r->back);
		cr_assert_eq(r->seen, EVENTS, "poller %d saw %lld", k, r->seen);
		/* SQLite's AUTOINCREMENT spends a seq on a known id posted again;
		 * PostgreSQL's counter does not. */
		if (tstore_is_pg()) {
			cr_assert_eq(r->gap, 0, "poller %d saw a gap before seq %d", k, r->gap);
			cr_assert_eq(r->last, EVENTS);
		}
		qsort(r->ids, EVENTS, sizeof r->ids[0], by_text);
		for (int i = 1; i < EVENTS; i++)
			cr_assert_str_neq(r->ids[i - 1], r->ids[i], "%s seen twice", r->ids[i]);
	}
	cr_assert_eq(tstore_int("SELECT count(*) FROM portal_live_events"), EVENTS);
	if (tstore_is_pg())
		cr_assert_eq(tstore_int("SELECT max(seq) - min(seq) + 1 FROM portal_live_events"),
			     EVENTS);
	store_close(a);
	store_close(b);
	store_close(c);
}

/* --- the queue ------------------------------------------------------------------ */

enum { PROPOSALS = 200 };

struct worker {
	struct store *st;
	const char *name;
	int n, failed;
	char why[256];
	char (*ids)[STORE_PROPOSAL_ID_MAX];
};

static void *lease_all(void *arg)
{
	struct worker *w = arg;
	struct perr err;
	for (;;) {
		struct store_proposal p;
		int rc = store_proposal_lease(w->st, w->name, T0 + 1000, 600000, &p, &err);
		if (rc < 0) {
			w->failed = 1;
			snprintf(w->why, sizeof w->why, "%s", err.msg);
			break;
		}
		if (rc == 0)
			break;
		if (w->n < PROPOSALS)
			snprintf(w->ids[w->n++], STORE_PROPOSAL_ID_MAX, "%s", p.id);
		store_proposal_clear(&p);
	}
	return NULL;
}

static void queue_one(struct store *st, int i)
{
	struct store_proposal p;
	memset(&p, 0, sizeof p);
	snprintf(p.kind, sizeof p.kind, "restart");
	snprintf(p.project, sizeof p.project, "atlas");
	snprintf(p.proposer, sizeof p.proposer, "alice");
	p.input = strdup("{\"service\":\"api\"}");
	int existed = 0;
	struct perr err;
	cr_assert_eq(store_proposal_submit(st, &p, T0 + i, &existed, &err), 0, "%s", err.msg);
	cr_assert_eq(store_proposal_transition(st, p.id, PROPOSAL_SUBMITTED, PROPOSAL_APPROVED,
					       "bob", "", T0 + i, &err),
		     0, "%s", err.msg);
	cr_assert_eq(store_proposal_transition(st, p.id, PROPOSAL_APPROVED, PROPOSAL_QUEUED, "bob",
					       "", T0 + i, &err),
		     0, "%s", err.msg);
	store_proposal_clear(&p);
}

Test(replicas, two_workers_on_two_replicas_lease_each_of_200_proposals_exactly_once)
{
	struct store *a = replica(), *b = replica();
	for (int i = 0; i < PROPOSALS; i++)
		queue_one(a, i);
	static char ia[PROPOSALS][STORE_PROPOSAL_ID_MAX], ib[PROPOSALS][STORE_PROPOSAL_ID_MAX];
	struct worker wa = {.st = a, .name = "wa", .ids = ia}, wb = {.st = b, .name = "wb", .ids = ib};
	pthread_t ta, tb;
	pthread_create(&ta, NULL, lease_all, &wa);
	pthread_create(&tb, NULL, lease_all, &wb);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	cr_assert_not(wa.failed, "%s", wa.why);
	cr_assert_not(wb.failed, "%s", wb.why);
	cr_assert_eq(wa.n + wb.n, PROPOSALS, "%d + %d", wa.n, wb.n);
	static char all[2 * PROPOSALS][STORE_PROPOSAL_ID_MAX];
	memcpy(all, ia, sizeof ia);
	memcpy(all[wa.n], ib, (size_t)wb.n * sizeof ib[0]);
	qsort(all, PROPOSALS, sizeof all[0], by_text);
	for (int i = 1; i < PROPOSALS; i++)
		cr_assert_str_neq(all[i - 1], all[i], "%s leased twice", all[i]);
	cr_assert_eq(tstore_int("SELECT count(*) FROM portal_proposals WHERE state = 'running' "
				"AND attempts = 1"),
		     PROPOSALS);
	struct store_audit_check check;
	struct perr err;
	cr_assert_eq(store_audit_verify(b, &check, &err), 0, "%s", err.msg);
	cr_assert_eq(check.bad_seq, 0, "%s", check.what);
	cr_assert_eq(check.rows, 4 * PROPOSALS);
	store_close(a);
	store_close(b);
}

/* --- the audit chain --------------------------------------------------------------- */

enum { PER_REPLICA = 25 };

struct mover {
	struct store *st;
	const char *proposer;
	int failed;
	char why[256];
};

/* Submits, approves, queues and cancels proposals of its own, each step an
 * audit row that must chain to whichever row committed before it. */
static void *move_many(void *arg)
{
	struct mover *m = arg;
	struct perr err;
	for (int i = 0; i < PER_REPLICA && !m->failed; i++) {
		struct store_proposal p;
		memset(&p, 0, sizeof p);
		snprintf(p.kind, sizeof p.kind, "restart");
		snprintf(p.project, sizeof p.project, "atlas");
		snprintf(p.proposer, sizeof p.proposer, "%s", m->proposer);
		p.input = strdup("{}");
		int existed = 0;
		int rc = store_proposal_submit(m->st, &p, T0 + i, &existed, &err);
		if (rc == 0)
			rc = store_proposal_transition(m->st, p.id, PROPOSAL_SUBMITTED,
						       PROPOSAL_APPROVED, "bob", "", T0 + i, &err);
		if (rc == 0)
			rc = store_proposal_transition(m->st, p.id, PROPOSAL_APPROVED,
						       PROPOSAL_CANCELLED, "bob", "changed my mind",
						       T0 + i, &err);
		if (rc < 0) {
			m->failed = 1;
			snprintf(m->why, sizeof m->why, "%s", err.msg);
		}
		store_proposal_clear(&p);
	}
	return NULL;
}

Test(replicas, the_audit_chain_stays_one_chain_when_two_replicas_change_proposals_at_once)
{
	struct store *a = replica(), *b = replica();
	struct mover ma = {.st = a, .proposer = "alice"}, mb = {.st = b, .proposer = "carol"};
	pthread_t ta, tb;
	pthread_create(&ta, NULL, move_many, &ma);
	pthread_create(&tb, NULL, move_many, &mb);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	cr_assert_not(ma.failed, "%s", ma.why);
	cr_assert_not(mb.failed, "%s", mb.why);
	struct store_audit_check check;
	struct perr err;
	cr_assert_eq(store_audit_verify(a, &check, &err), 0, "%s", err.msg);
	cr_assert_eq(check.bad_seq, 0, "row %lld: %s", check.bad_seq, check.what);
	cr_assert_eq(check.rows, 2 * PER_REPLICA * 3);
	cr_assert_eq(tstore_int("SELECT max(seq) FROM portal_audit"), 2 * PER_REPLICA * 3);
	/* Every row is also a live event, in the same order. */
	cr_assert_eq(tstore_int("SELECT count(*) FROM portal_live_events "
				"WHERE type = 'proposal.transitioned'"),
		     2 * PER_REPLICA * 3);
	store_close(a);
	store_close(b);
}

/* --- telling other replicas ------------------------------------------------------------ */

/* Waits up to 1 s for a notification on conn about this test's schema
 * (other tests write to other schemas of the same database); its seq, or ""
 * (static). */
static const char *next_notification(PGconn *conn)
{
	static char payload[64], schema[80];
	if (!schema[0]) {
		PGresult *r = PQexec(conn, "SELECT current_schema()");
		snprintf(schema, sizeof schema, "%s:", PQgetvalue(r, 0, 0));
		PQclear(r);
	}
	payload[0] = '\0';
	for (int waited = 0; waited < 1000; waited += 50) {
		PQconsumeInput(conn);
		PGnotify *n;
		while ((n = PQnotifies(conn))) {
			int ours = strncmp(n->extra, schema, strlen(schema)) == 0;
			if (ours)
				snprintf(payload, sizeof payload, "%s", n->extra + strlen(schema));
			PQfreemem(n);
			if (ours)
				return payload;
		}
		struct pollfd p = {.fd = PQsocket(conn), .events = POLLIN};
		poll(&p, 1, 50);
	}
	return payload;
}

Test(replicas, a_commit_that_stored_events_notifies_listeners_with_its_last_seq)
{
	if (!tstore_is_pg()) {
		tstore_teardown(); /* a skipped test runs no .fini */
		cr_skip_test("LISTEN/NOTIFY is PostgreSQL's");
	}
	struct store *st = replica();
	PGconn *listener = PQconnectdb(tstore_url());
	cr_assert_eq(PQstatus(listener), CONNECTION_OK, "%s", PQerrorMessage(listener));
	PQclear(PQexec(listener, "LISTEN portal_live_events"));

	json_t *data = json_object();
	struct event evs[2] = {
		{.id = "n-1", .type = "session.tool", .project = "atlas", .source = "test",
		 .ts = T0, .data = data},
		{.id = "n-2", .type = "session.tool", .project = "atlas", .source = "test",
		 .ts = T0, .data = data},
	};
	long long seqs[2];
	int fresh[2];
	struct store_batch batch = {.evs = evs, .n = 2, .seqs = seqs, .fresh = fresh};
	struct store_batch *one = &batch;
	struct perr err;
	char got[64];
	cr_assert_eq(store_append(st, &one, 1, &err), 0, "%s", err.msg);
	snprintf(got, sizeof got, "%s", next_notification(listener));
	cr_assert_str_eq(got, "2");

	/* The same events again store nothing and tell nobody. */
	cr_assert_eq(store_append(st, &one, 1, &err), 0, "%s", err.msg);
	snprintf(got, sizeof got, "%s", next_notification(listener));
	cr_assert_str_eq(got, "");

	/* A proposal's change is an event too: three of them, three commits. */
	queue_one(st, 0);
	for (int i = 3; i <= 5; i++) {
		char want[24];
		snprintf(want, sizeof want, "%d", i);
		snprintf(got, sizeof got, "%s", next_notification(listener));
		cr_assert_str_eq(got, want);
	}
	json_decref(data);
	PQfinish(listener);
	store_close(st);
}

/* --- losing the database for a moment --------------------------------------------------- */

static int count_one(void *arg, const struct event *ev)
{
	(*(long long *)arg)++;
	return 0;
}

Test(replicas, connections_the_server_cut_are_reported_unavailable_then_made_again)
{
	if (!tstore_is_pg()) {
		tstore_teardown(); /* a skipped test runs no .fini */
		cr_skip_test("a SQLite file has no server to cut connections");
	}
	store_close(replica()); /* migrated */
	char url[1600], name[64], sql[200];
	snprintf(name, sizeof name, "cut_%d", (int)getpid());
	snprintf(url, sizeof url, "%s&application_name=%s", tstore_url(), name);
	struct store *st = NULL;
	struct perr err;
	struct store_options opt = {.busy_timeout_ms = 5000, .pool_size = 2};
	cr_assert_eq(store_open(url, &opt, &st, &err), 0, "%s", err.msg);
	long long n = 0;
	cr_assert_eq(store_scan(st, 0, 0, count_one, &n, &err), 0, "%s", err.msg);
	snprintf(sql, sizeof sql,
		 "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
		 "WHERE application_name = '%s'", name);
	cr_assert_geq(tstore_int(sql), 1);
	/* Each pooled connection fails once, as unavailable (worth a retry),
	 * and is made again on its next use. */
	int failures = 0;
	for (int i = 0; i < 4; i++) {
		perr_clear(&err);
		long long rc = store_scan(st, 0, 0, count_one, &n, &err);
		if (rc < 0) {
			failures++;
			cr_assert_eq(rc, PERR_UNAVAILABLE, "%s", err.msg);
		}
	}
	cr_assert_leq(failures, 2);
	cr_assert_eq(store_scan(st, 0, 0, count_one, &n, &err), 0, "%s", err.msg);
	struct store_status status;
	cr_assert_eq(store_check(st, &status, &err), 0, "%s", err.msg);
	store_close(st);
}

/* --- being told of other replicas' commits ----------------------------------- */

struct woken {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int n;
};

static void wake_count(void *arg)
{
	struct woken *w = arg;
	pthread_mutex_lock(&w->mu);
	w->n++;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/* Waits up to ms for w->n to pass n; returns w->n. */
static int woken_past(struct woken *w, int n, int ms)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&w->mu);
	while (w->n <= n && pthread_cond_timedwait(&w->cv, &w->mu, &until) == 0)
		;
	int got = w->n;
	pthread_mutex_unlock(&w->mu);
	return got;
}

Test(replicas, a_replica_listening_is_woken_by_another_replicas_commit_and_not_after_it_stops)
{
	struct store *a = replica(), *b = replica();
	struct woken w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
	struct perr err;
	int rc = store_events_listen(b, wake_count, &w, &err);
	if (!tstore_is_pg()) {
		cr_assert_eq(rc, 0, "SQLite cannot tell: its readers poll");
		store_close(a);
		store_close(b);
		return;
	}
	cr_assert_eq(rc, 1, "%s", err.msg);
	int start = woken_past(&w, 0, 5000); /* once when listening begins */
	cr_assert_geq(start, 1);

	json_t *data = json_object();
	struct event ev = {.id = "l-1", .type = "session.tool", .project = "atlas",
			   .source = "test", .ts = T0, .data = data};
	long long seq;
	int fresh;
	struct store_batch batch = {.evs = &ev, .n = 1, .seqs = &seq, .fresh = &fresh};
	struct store_batch *one = &batch;
	cr_assert_eq(store_append(a, &one, 1, &err), 0, "%s", err.msg);
	cr_assert_gt(woken_past(&w, start, 5000), start, "B was told of A's commit");

	cr_assert_eq(store_events_listen(b, NULL, NULL, &err), 1);
	pthread_mutex_lock(&w.mu);
	int stopped = w.n;
	pthread_mutex_unlock(&w.mu);
	ev.id = "l-2";
	cr_assert_eq(store_append(a, &one, 1, &err), 0, "%s", err.msg);
	cr_assert_eq(woken_past(&w, stopped, 500), stopped, "no wake once stopped");
	json_decref(data);
	store_close(a);
	store_close(b);
}
