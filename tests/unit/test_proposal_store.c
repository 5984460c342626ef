/* Proposals in the store under test (SQLite, or PostgreSQL when
 * PORTAL_TEST_STORE names one): submission and idempotency, the state
 * machine's guard, the work queue's leases, the audit chain and the live
 * event every change writes with it. Each test runs in its own process, on a
 * database of its own. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "core/audit.h"
#include "core/event.h"
#include "core/proposal.h"
#include "store/store.h"
#include "store_under_test.h"

#define T0 1700000000000LL

static void enter(void)
{
	tstore_setup("portal-pstore");
}

TestSuite(pstore, .init = enter, .fini = tstore_teardown);

static struct store *open_migrated(void)
{
	struct store *st = NULL;
	struct perr err;
	perr_clear(&err);
	struct store_options opt = {.busy_timeout_ms = 5000};
	cr_assert_eq(store_open(tstore_url(), &opt, &st, &err), 0, "%s", err.msg);
	cr_assert_eq(store_migrate(st, NULL, NULL, &err), 0, "%s", err.msg);
	return st;
}

static long long raw_int(const char *sql)
{
	return tstore_int(sql);
}

/* Submits a "restart" proposal and copies its id into id. */
static void submit(struct store *st, const char *project, const char *proposer, const char *key,
		   long long at, char id[STORE_PROPOSAL_ID_MAX])
{
	struct store_proposal p;
	memset(&p, 0, sizeof p);
	snprintf(p.kind, sizeof p.kind, "restart");
	snprintf(p.project, sizeof p.project, "%s", project);
	snprintf(p.proposer, sizeof p.proposer, "%s", proposer);
	snprintf(p.idempotency_key, sizeof p.idempotency_key, "%s", key ? key : "");
	p.input = strdup("{\"service\":\"api\"}");
	int existed = -1;
	struct perr err;
	cr_assert_eq(store_proposal_submit(st, &p, at, &existed, &err), 0, "%s", err.msg);
	snprintf(id, STORE_PROPOSAL_ID_MAX, "%s", p.id);
	store_proposal_clear(&p);
}

static void move(struct store *st, const char *id, int from, int to, long long at)
{
	struct perr err;
	cr_assert_eq(store_proposal_transition(st, id, from, to, "bob", "", at, &err), 0, "%s",
		     err.msg);
}

/* A proposal submitted, approved and queued (due at `at`). */
static void queued(struct store *st, long long at, char id[STORE_PROPOSAL_ID_MAX])
{
	submit(st, "atlas", "alice", NULL, at, id);
	move(st, id, PROPOSAL_SUBMITTED, PROPOSAL_APPROVED, at);
	move(st, id, PROPOSAL_APPROVED, PROPOSAL_QUEUED, at);
}

static struct store_proposal get(struct store *st, const char *id)
{
	struct store_proposal p;
	struct perr err;
	cr_assert_eq(store_proposal_get(st, id, &p, &err), 0, "%s", err.msg);
	return p;
}

struct rows {
	struct store_audit a[64];
	int n;
};

static int collect_audit(void *arg, const struct store_audit *a)
{
	struct rows *r = arg;
	if (r->n < 64)
		r->a[r->n++] = *a;
	return 0;
}

static struct rows audit_of(struct store *st, const char *id)
{
	static struct rows r;
	memset(&r, 0, sizeof r);
	struct perr err;
	cr_assert_eq(store_audit(st, id, collect_audit, &r, &err), 0, "%s", err.msg);
	return r;
}

static long long count(const char *table)
{
	char sql[128];
	snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
	return raw_int(sql);
}

/* --- the state machine the store relies on ---------------------------- */

Test(pstore, every_state_name_round_trips_and_unknown_ones_do_not_parse)
{
	for (int s = 0; s < PROPOSAL_STATE_COUNT; s++)
		cr_assert_eq(proposal_state_parse(proposal_state_name(s)), s);
	cr_assert_null(proposal_state_name(PROPOSAL_STATE_COUNT));
	cr_assert_eq(proposal_state_parse("Queued"), -1);
	cr_assert_eq(proposal_state_parse(NULL), -1);
}

Test(pstore, the_machine_allows_exactly_its_declared_steps)
{
	static const int ok[][2] = {
		{PROPOSAL_SUBMITTED, PROPOSAL_APPROVED}, {PROPOSAL_SUBMITTED, PROPOSAL_REJECTED},
		{PROPOSAL_SUBMITTED, PROPOSAL_CANCELLED}, {PROPOSAL_APPROVED, PROPOSAL_QUEUED},
		{PROPOSAL_APPROVED, PROPOSAL_CANCELLED}, {PROPOSAL_QUEUED, PROPOSAL_RUNNING},
		{PROPOSAL_QUEUED, PROPOSAL_CANCELLED}, {PROPOSAL_RUNNING, PROPOSAL_EXECUTED},
		{PROPOSAL_RUNNING, PROPOSAL_QUEUED}, {PROPOSAL_RUNNING, PROPOSAL_FAILED},
		{PROPOSAL_EXECUTED, PROPOSAL_PROVING}, {PROPOSAL_PROVING, PROPOSAL_PROVEN},
		{PROPOSAL_PROVING, PROPOSAL_FAILED},
	};
	int allowed = 0;
	for (int f = -1; f <= PROPOSAL_STATE_COUNT; f++)
		for (int t = -1; t <= PROPOSAL_STATE_COUNT; t++) {
			int want = 0;
			for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
				want |= ok[i][0] == f && ok[i][1] == t;
			cr_assert_eq(proposal_transition_ok(f, t), want, "%d -> %d", f, t);
			allowed += want;
		}
	cr_assert_eq(allowed, 13);
	for (int s = 0; s < PROPOSAL_STATE_COUNT; s++)
		cr_assert_eq(proposal_state_final(s),
			     s == PROPOSAL_PROVEN || s == PROPOSAL_REJECTED ||
				     s == PROPOSAL_CANCELLED || s == PROPOSAL_FAILED,
			     "%s", proposal_state_name(s));
}

/* --- submit and get ------------------------------------------------------ */

Test(pstore, a_submission_is_stored_as_submitted_with_a_random_id_and_a_first_audit_row)
{
	struct store *st = open_migrated();
	char id[STORE_PROPOSAL_ID_MAX], id2[STORE_PROPOSAL_ID_MAX];
	submit(st, "atlas", "alice", NULL, T0, id);
	submit(st, "atlas", "alice", NULL, T0, id2);
	cr_assert_eq(strlen(id), 18);
	cr_assert_eq(strncmp(id, "p-", 2), 0);
	cr_assert_eq(strspn(id + 2, "0123456789abcdef"), 16);
	cr_assert_str_neq(id, id2);

	struct store_proposal p = get(st, id);
	cr_assert_str_eq(p.kind, "restart");
	cr_assert_str_eq(p.project, "atlas");
	cr_assert_str_eq(p.proposer, "alice");
	cr_assert_str_eq(p.idempotency_key, "");
	cr_assert_str_eq(p.input, "{\"service\":\"api\"}");
	cr_assert_eq(p.state, PROPOSAL_SUBMITTED);
	cr_assert_eq(p.attempts, 0);
	cr_assert_eq(p.created_at, T0);
	cr_assert_eq(p.updated_at, T0);
	cr_assert_null(p.evidence);
	store_proposal_clear(&p);

	struct rows r = audit_of(st, id);
	cr_assert_eq(r.n, 1);
	cr_assert_str_eq(r.a[0].proposal, id);
	cr_assert_str_eq(r.a[0].from, "");
	cr_assert_str_eq(r.a[0].to, "submitted");
	cr_assert_str_eq(r.a[0].actor, "alice");
	cr_assert_eq(r.a[0].at, T0);
	static const unsigned char zeros[32];
	cr_assert_eq(memcmp(r.a[0].prev, zeros, 32), 0, "the very first row chains to zeros");
	store_close(st);
}

Test(pstore, a_resubmission_with_the_same_key_returns_the_first_proposal_and_stores_nothing)
{
	struct store *st = open_migrated();
	char id[STORE_PROPOSAL_ID_MAX];
	submit(st, "atlas", "alice", "k-1", T0, id);
	move(st, id, PROPOSAL_SUBMITTED, PROPOSAL_APPROVED, T0 + 1);

	struct store_proposal p;
	memset(&p, 0, sizeof p);
	snprintf(p.kind, sizeof p.kind, "restart");
	snprintf(p.project, sizeof p.project, "other");
	snprintf(p.proposer, sizeof p.proposer, "alice");
	snprintf(p.idempotency_key, sizeof p.idempotency_key, "k-1");
	p.input = strdup("{\"service\":\"different\"}");
	int existed = 0;
	struct perr err;
	long long events = count("portal_live_events"), rows = count("portal_audit");
	cr_assert_eq(store_proposal_submit(st, &p, T0 + 5, &existed, &err), 0, "%s", err.msg);
	cr_assert_eq(existed, 1);
	cr_assert_str_eq(p.id, id);
	cr_assert_str_eq(p.project, "atlas");
	cr_assert_str_eq(p.input, "{\"service\":\"api\"}");
	cr_assert_eq(p.state, PROPOSAL_APPROVED);
	cr_assert_eq(p.created_at, T0);
	store_proposal_clear(&p);
	cr_assert_eq(count("portal_proposals"), 1);
	cr_assert_eq(count("portal_live_events"), events);
	cr_assert_eq(count("portal_audit"), rows);

	/* The key belongs to its proposer; no key means no deduplication. */
	char other[STORE_PROPOSAL_ID_MAX], a[STORE_PROPOSAL_ID_MAX], b[STORE_PROPOSAL_ID_MAX];
	submit(st, "atlas", "carol", "k-1", T0, other);
	submit(st, "atlas", "alice", NULL, T0, a);
	submit(st, "atlas", "alice", NULL, T0, b);
	cr_assert_str_neq(other, id);
	cr_assert_str_neq(a, b);
	cr_assert_eq(count("portal_proposals"), 4);
	store_close(st);
}

Test(pstore, a_submission_without_kind_project_proposer_or_input_is_invalid)
{
	struct store *st = open_migrated();
	struct store_proposal p;
	memset(&p, 0, sizeof p);
	int existed;
	struct perr err;
	snprintf(p.project, sizeof p.project, "atlas");
	snprintf(p.proposer, sizeof p.proposer, "alice");
	p.input = strdup("{}");
	cr_assert_eq(store_proposal_submit(st, &p, T0, &existed, &err), PERR_INVALID);
	cr_assert_str_eq(err.field, "kind");
	snprintf(p.kind, sizeof p.kind, "restart");
	store_proposal_clear(&p);
	cr_assert_eq(store_proposal_submit(st, &p, T0, &existed, &err), PERR_INVALID);
	cr_assert_str_eq(err.field, "input");
	cr_assert_eq(count("portal_proposals"), 0);
	store_close(st);
}

Test(pstore, an_unknown_id_is_not_found)
{
	struct store *st = open_migrated();
	struct store_proposal p;
	struct perr err;
	cr_assert_eq(store_proposal_get(st, "p-0000000000000000", &p, &err), PERR_NOT_FOUND);
	cr_assert_eq(store_proposal_transition(st, "p-0000000000000000", PROPOSAL_SUBMITTED,
					       PROPOSAL_APPROVED, "bob", "", T0, &err),
		     PERR_NOT_FOUND);
	cr_assert_eq(store_proposal_release(st, "p-0000000000000000", "w1", T0, &err),
		     PERR_NOT_FOUND);
	store_close(st);
}

Test(pstore, a_proof_stall_is_kept_as_last_error_since_when_without_an_audit_row)
{
	struct store *st = open_migrated();
	char id[STORE_PROPOSAL_ID_MAX];
	submit(st, "atlas", "alice", NULL, T0, id);
	long long rows = count("portal_audit");
	struct perr err;
	cr_assert_eq(store_proposal_set_error(st, id, "warehouse plane: the warehouse did not answer",
					      T0 + 5, &err),
		     0, "%s", err.msg);
	struct store_proposal p = get(st, id);
	cr_assert_str_eq(p.last_error, "warehouse plane: the warehouse did not answer");
	cr_assert_eq(p.updated_at, T0 + 5, "since when");
	cr_assert_eq(p.state, PROPOSAL_SUBMITTED, "not a transition");
	store_proposal_clear(&p);
	cr_assert_eq(count("portal_audit"), rows, "no audit row");
	cr_assert_eq(store_proposal_set_error(st, id, "", T0 + 9, &err), 0, "%s", err.msg);
	p = get(st, id);
	cr_assert_str_eq(p.last_error, "", "cleared");
	store_proposal_clear(&p);
	cr_assert_eq(store_proposal_set_error(st, "p-0000000000000000", "x", T0, &err),
		     PERR_NOT_FOUND);
	store_close(st);
}

/* --- transitions --------------------------------------------------------- */

Test(pstore, a_transition_moves_the_proposal_and_audits_who_why_and_when)
{
	struct store *st = open_migrated();
	char id[STORE_PROPOSAL_ID_MAX];
	submit(st, "atlas", "alice", NULL, T0, id);
	struct perr err;
	cr_assert_eq(store_proposal_transition(st, id, PROPOSAL_SUBMITTED, PROPOSAL_APPROVED, "bob",
					       "checked the plan", T0 + 10, &err),
		     0, "%s", err.msg);
	move(st, id, PROPOSAL_APPROVED, PROPOSAL_QUEUED, T0 + 20);
	struct store_proposal p = get(st, id);
	cr_assert_eq(p.state, PROPOSAL_QUEUED);
	cr_assert_eq(p.updated_at, T0 + 20);
	cr_assert_eq(p.next_attempt_at, T0 + 20, "approved -> queued is due at once");
	store_proposal_clear(&p);
	struct rows r = audit_of(st, id);
	cr_assert_eq(r.n, 3);
	cr_assert_str_eq(r.a[1].from, "submitted");
	cr_assert_str_eq(r.a[1].to, "approved");
	cr_assert_str_eq(r.a[1].actor, "bob");
	cr_assert_str_eq(r.a[1].reason, "checked the plan");
	cr_assert_eq(r.a[1].at, T0 + 10);
	store_close(st);
}

Test(pstore, a_transition_from_a_state_the_proposal_left_is_a_conflict_and_changes_nothing)
{
	struct store *st = open_migrated();
	char id[STORE_PROPOSAL_ID_MAX];
	submit(st, "atlas", "alice", NULL, T0, id);
	move(st, id, PROPOSAL_SUBMITTED, PROPOSAL_CANCELLED, T0 + 1);
	long long events = count("portal_live_events"), rows = count("portal_audit");
	struct perr err;
	cr_assert_eq(store_proposal_transition(st, id, PROPOSAL_SUBMITTED, PROPOSAL_APPROVED, "bob",
					       "", T0 + 2, &err),
		     PERR_CONFLICT);
	cr_assert(strstr(err.msg, "cancelled"), "%s", err.msg);
	struct store_proposal p = get(st, id);
	cr_assert_eq(p.state, PROPOSAL_CANCELLED);
	cr_assert_eq(p.updated_at, T0 + 1);
	store_proposal_clear(&p);
	cr_assert_eq(count("portal_live_events"), events);
	cr_assert_eq(count("portal_audit"), rows);
	store_close(st);
}

Test(pstore, a_step_the_machine_does_not_have_is_refused_before_anything_is_read)
{
	struct store *st = open_migrated();
	char id[STORE_PROPOSAL_ID_MAX];
	submit(st, "atlas", "alice", NULL, T0, id);
	struct perr err;
	cr_assert_eq(store_proposal_transition(st, id, PROPOSAL_SUBMITTED, PROPOSAL_EXECUTED, "bob",
					       "", T0, &err),
		     PERR_INVALID);
	cr_assert_str_eq(err.field, "to");
	cr_assert_eq(store_proposal_transition(st, id, PROPOSAL_CANCELLED, PROPOSAL_APPROVED, "bob",
					       "", T0, &err),
		     PERR_INVALID);
	/* Into and out of running is the queue's business. */
	cr_assert_eq(store_proposal_transition(st, id, PROPOSAL_QUEUED, PROPOSAL_RUNNING, "bob", "",
					       T0, &err),
		     PERR_INVALID);
	cr_assert_eq(store_proposal_transition(st, id, PROPOSAL_RUNNING, PROPOSAL_EXECUTED, "bob",
					       "", T0, &err),
		     PERR_INVALID);
	cr_assert_eq(count("portal_audit"), 1);
	store_close(st);
}

Test(pstore, an_oversized_reason_or_actor_is_refused_so_the_audit_row_reads_back_whole)
{
	struct store *st = open_migrated();
	char id[STORE_PROPOSAL_ID_MAX], big[400];
	submit(st, "atlas", "alice", NULL, T0, id);
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	struct perr err;
	cr_assert_eq(store_proposal_transition(st, id, PROPOSAL_SUBMITTED, PROPOSAL_APPROVED, "bob",
					       big, T0, &err),
		     PERR_TOO_LARGE);
	cr_assert_str_eq(err.field, "reason");
	cr_assert_eq(store_proposal_transition(st, id, PROPOSAL_SUBMITTED, PROPOSAL_APPROVED, big,
					       "", T0, &err),
		     PERR_TOO_LARGE);
	cr_assert_str_eq(err.field, "actor");
	store_close(st);
}

/* --- the queue ------------------------------------------------------------ */

Test(pstore, a_lease_takes_the_oldest_due_proposal_and_nothing_that_is_not_due)
{
	struct store *st = open_migrated();
	char late[STORE_PROPOSAL_ID_MAX], early[STORE_PROPOSAL_ID_MAX], future[STORE_PROPOSAL_ID_MAX];
	queued(st, T0 + 200, late);
	queued(st, T0 + 100, early);
	queued(st, T0 + 10000, future);
	struct store_proposal p;
	struct perr err;
	cr_assert_eq(store_proposal_lease(st, "w1", T0 + 500, 1000, &p, &err), 1, "%s", err.msg);
	cr_assert_str_eq(p.id, early);
	cr_assert_eq(p.state, PROPOSAL_RUNNING);
	cr_assert_str_eq(p.lease_owner, "w1");
	cr_assert_eq(p.lease_until, T0 + 1500);
	cr_assert_eq(p.attempts, 1);
	cr_assert_str_eq(p.input, "{\"service\":\"api\"}");
	store_proposal_clear(&p);
	cr_assert_eq(store_proposal_lease(st, "w2", T0 + 500, 1000, &p, &err), 1);
	cr_assert_str_eq(p.id, late);
	store_proposal_clear(&p);
	cr_assert_eq(store_proposal_lease(st, "w3", T0 + 500, 1000, &p, &err), 0, "%s", err.msg);

	struct rows r = audit_of(st, early);
	cr_assert_str_eq(r.a[r.n - 1].from, "queued");
	cr_assert_str_eq(r.a[r.n - 1].to, "running");
	cr_assert_str_eq(r.a[r.n - 1].actor, "worker:w1");
	store_close(st);
}

Test(pstore, submitted_approved_and_cancelled_proposals_are_never_leased)
{
	struct store *st = open_migrated();
	char a[STORE_PROPOSAL_ID_MAX], b[STORE_PROPOSAL_ID_MAX], c[STORE_PROPOSAL_ID_MAX];
	submit(st, "atlas", "alice", NULL, T0, a);
	submit(st, "atlas", "alice", NULL, T0, b);
	move(st, b, PROPOSAL_SUBMITTED, PROPOSAL_APPROVED, T0);
	queued(st, T0, c);
	move(st, c, PROPOSAL_QUEUED, PROPOSAL_CANCELLED, T0);
	struct store_proposal p;
	struct perr err;
	cr_assert_eq(store_proposal_lease(st, "w1", T0 + 1000000, 1000, &p, &err), 0);
	store_close(st);
}

struct racer {
	int n;
	char ids[64][STORE_PROPOSAL_ID_MAX];
	char name[16];
	int failed;
};

static void *race(void *arg)
{
	struct racer *r = arg;
	struct store *st = NULL;
	struct perr err;
	struct store_options opt = {.busy_timeout_ms = 10000};
	if (store_open(tstore_url(), &opt, &st, &err) < 0) {
		r->failed = 1;
		return NULL;
	}
	for (;;) {
		struct store_proposal p;
		int rc = store_proposal_lease(st, r->name, T0 + 1000, 60000, &p, &err);
		if (rc < 0) {
			r->failed = 1;
			break;
		}
		if (rc == 0)
			break;
		if (r->n < 64)
			snprintf(r->ids[r->n++], STORE_PROPOSAL_ID_MAX, "%s", p.id);
		store_proposal_clear(&p);
	}
	store_close(st);
	return NULL;
}

Test(pstore, two_workers_on_two_connections_never_lease_the_same_proposal)
{
	struct store *st = open_migrated();
	enum { N = 24 };
	char ids[N][STORE_PROPOSAL_ID_MAX];
	for (int i = 0; i < N; i++)
		queued(st, T0 + i, ids[i]);
	store_close(st);
	struct racer a = {.name = "wa"}, b = {.name = "wb"};
	pthread_t ta, tb;
	pthread_create(&ta, NULL, race, &a);
	pthread_create(&tb, NULL, race, &b);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	cr_assert_not(a.failed || b.failed);
	cr_assert_eq(a.n + b.n, N, "%d + %d", a.n, b.n);
	for (int i = 0; i < a.n; i++)
		for (int j = 0; j < b.n; j++)
			cr_assert_str_neq(a.ids[i], b.ids[j]);
	cr_assert_eq(raw_int("SELECT count(*) FROM portal_proposals WHERE state = 'running' "
			     "AND attempts = 1"),
		     N);
}

Test(pstore, a_lease_that_ran_out_is_taken_over_and_audited_as_two_honest_steps)
{
	struct store *st = open_migrated();
	char id[STORE_PROPOSAL_ID_MAX];
	queued(st, T0, id);
	struct store_proposal p;
	struct perr err;
	cr_assert_eq(store_proposal_lease(st, "w1", T0 + 10, 100, &p, &err), 1);
	store_proposal_clear(&p);
	/* Not yet run out: nothing to take. */
	cr_assert_eq(store_proposal_lease(st, "w2", T0 + 110, 100, &p, &err), 0);
	cr_assert_eq(store_proposal_lease(st, "w2", T0 + 111, 100, &p, &err), 1, "%s", err.msg);
	cr_assert_str_eq(p.id, id);
	cr_assert_str_eq(p.lease_owner, "w2");
	cr_assert_eq(p.attempts, 2);
	cr_assert_eq(p.lease_until, T0 + 211);
	store_proposal_clear(&p);

	struct rows r = audit_of(st, id);
	cr_assert_eq(r.n, 6);
	cr_assert_str_eq(r.a[4].from, "running");
	cr_assert_str_eq(r.a[4].to, "queued");
	cr_assert_str_eq(r.a[4].actor, "lease-expired");
	cr_assert(strstr(r.a[4].reason, "worker:w1"), "%s", r.a[4].reason);
	cr_assert_str_eq(r.a[5].from, "queued");
	cr_assert_str_eq(r.a[5].to, "running");
	cr_assert_str_eq(r.a[5].actor, "worker:w2");
	for (int i = 0; i < r.n; i++)
		cr_assert(proposal_transition_ok(proposal_state_parse(r.a[i].from),
						 proposal_state_parse(r.a[i].to)) ||
				  !r.a[i].from[0],
			  "row %d is a step of the machine", i);

	/* The worker that lost it can no longer act on it. */
	cr_assert_eq(store_proposal_heartbeat(st, id, "w1", T0 + 120, 100, &err), PERR_CONFLICT);
	cr_assert_eq(store_proposal_finish(st, id, "w1", 1, "{}", NULL, T0 + 120, 0, &err),
		     PERR_CONFLICT);
	cr_assert(strstr(err.msg, "w2"), "%s", err.msg);
	store_close(st);
}

Test(pstore, heartbeat_extends_the_lease_without_a_change_of_state)
{
	struct store *st = open_migrated();
	char id[STORE_PROPOSAL_ID_MAX];
	queued(st, T0, id);
	struct store_proposal p;
	struct perr err;
	cr_assert_eq(store_proposal_lease(st, "w1", T0, 100, &p, &err), 1);
	store_proposal_clear(&p);
	long long events = count("portal_live_events"), rows = count("portal_audit");
	cr_assert_eq(store_proposal_heartbeat(st, id, "w1", T0 + 90, 100, &err), 0, "%s", err.msg);
	p = get(st, id);
	cr_assert_eq(p.lease_until, T0 + 190);
	cr_assert_eq(p.state, PROPOSAL_RUNNING);
	store_proposal_clear(&p);
	cr_assert_eq(count("portal_live_events"), events);
	cr_assert_eq(count("portal_audit"), rows);
	/* Still within the extended lease: nobody else takes it. */
	cr_assert_eq(store_proposal_lease(st, "w2", T0 + 150, 100, &p, &err), 0);
	store_close(st);
}

Test(pstore, heartbeat_release_and_finish_by_another_worker_are_conflicts_and_change_nothing)
{
	struct store *st = open_migrated();
	char id[STORE_PROPOSAL_ID_MAX], idle[STORE_PROPOSAL_ID_MAX];
	queued(st, T0, id);
	struct store_proposal p;
	struct perr err;
	cr_assert_eq(store_proposal_lease(st, "w1", T0, 100, &p, &err), 1);
	store_proposal_clear(&p);
	long long events = count("portal_live_events"), rows = count("portal_audit");
	cr_assert_eq(store_proposal_heartbeat(st, id, "w2", T0 + 1, 100, &err), PERR_CONFLICT);
	cr_assert_eq(store_proposal_release(st, id, "w2", T0 + 1, &err), PERR_CONFLICT);
	cr_assert_eq(store_proposal_finish(st, id, "w2", 1, "{}", NULL, T0 + 1, 0, &err),
		     PERR_CONFLICT);
	cr_assert_eq(store_proposal_finish(st, id, "w2", 0, NULL, "boom", T0 + 1, 0, &err),
		     PERR_CONFLICT);
	p = get(st, id);
	cr_assert_eq(p.state, PROPOSAL_RUNNING);
	cr_assert_str_eq(p.lease_owner, "w1");
	cr_assert_eq(p.lease_until, T0 + 100);
	store_proposal_clear(&p);
	cr_assert_eq(count("portal_live_events"), events);
	cr_assert_eq(count("portal_audit"), rows);

	/* Not running at all: no one holds it. */
	submit(st, "atlas", "alice", NULL, T0, idle);
	cr_assert_eq(store_proposal_finish(st, idle, "w1", 1, "{}", NULL, T0, 0, &err),
		     PERR_CONFLICT);
	cr_assert_eq(store_proposal_heartbeat(st, id, "", T0, 100, &err), PERR_INVALID);
	cr_assert_str_eq(err.field, "worker");
	store_close(st);
}

Test(pstore, release_gives_it_back_due_now_without_counting_the_attempt)
{
	struct store *st = open_migrated();
	char id[STORE_PROPOSAL_ID_MAX];
	queued(st, T0, id);
	struct store_proposal p;
	struct perr err;
	cr_assert_eq(store_proposal_lease(st, "w1", T0, 100, &p, &err), 1);
	store_proposal_clear(&p);
	cr_assert_eq(store_proposal_release(st, id, "w1", T0 + 50, &err), 0, "%s", err.msg);
	p = get(st, id);
	cr_assert_eq(p.state, PROPOSAL_QUEUED);
	cr_assert_eq(p.attempts, 0);
	cr_assert_eq(p.next_attempt_at, T0 + 50);
	cr_assert_str_eq(p.lease_owner, "");
	store_proposal_clear(&p);
	struct rows r = audit_of(st, id);
	cr_assert_str_eq(r.a[r.n - 1].from, "running");
	cr_assert_str_eq(r.a[r.n - 1].to, "queued");
	cr_assert_str_eq(r.a[r.n - 1].actor, "worker:w1");
	cr_assert_eq(store_proposal_lease(st, "w2", T0 + 50, 100, &p, &err), 1);
	cr_assert_eq(p.attempts, 1);
	store_proposal_clear(&p);
	store_close(st);
}

Test(pstore, a_successful_finish_is_executed_with_its_evidence)
{
	struct store *st = open_migrated();
	char id[STORE_PROPOSAL_ID_MAX];
	queued(st, T0, id);
	struct store_proposal p;
	struct perr err;
	cr_assert_eq(store_proposal_lease(st, "w1", T0, 100, &p, &err), 1);
	store_proposal_clear(&p);
	const char *ev = "{\"digest\":\"sha256:ab\",\"size\":3,\"exit\":0}";
	cr_assert_eq(store_proposal_finish(st, id, "w1", 1, ev, NULL, T0 + 40, 0, &err), 0, "%s",
		     err.msg);
	p = get(st, id);
	cr_assert_eq(p.state, PROPOSAL_EXECUTED);
	cr_assert_str_eq(p.evidence, ev);
	cr_assert_str_eq(p.lease_owner, "");
	cr_assert_eq(p.updated_at, T0 + 40);
	store_proposal_clear(&p);
	/* Done is done: a second finish is a conflict. */
	cr_assert_eq(store_proposal_finish(st, id, "w1", 1, ev, NULL, T0 + 41, 0, &err),
		     PERR_CONFLICT);
	store_close(st);
}

Test(pstore, a_failed_attempt_is_retried_at_its_time_then_dead_lettered)
{
	struct store *st = open_migrated();
	char id[STORE_PROPOSAL_ID_MAX];
	queued(st, T0, id);
	struct store_proposal p;
	struct perr err;
	cr_assert_eq(store_proposal_lease(st, "w1", T0, 100, &p, &err), 1);
	store_proposal_clear(&p);
	cr_assert_eq(store_proposal_finish(st, id, "w1", 0, NULL, "exit status 3", T0 + 10,
					   T0 + 5000, &err),
		     0, "%s", err.msg);
	p = get(st, id);
	cr_assert_eq(p.state, PROPOSAL_QUEUED);
	cr_assert_eq(p.next_attempt_at, T0 + 5000);
	cr_assert_str_eq(p.last_error, "exit status 3");
	store_proposal_clear(&p);
	cr_assert_eq(store_proposal_lease(st, "w1", T0 + 4999, 100, &p, &err), 0, "not due yet");
	cr_assert_eq(store_proposal_lease(st, "w2", T0 + 5000, 100, &p, &err), 1);
	cr_assert_eq(p.attempts, 2);
	store_proposal_clear(&p);
	cr_assert_eq(store_proposal_finish(st, id, "w2", 0, NULL, "exit status 4", T0 + 5010, 0,
					   &err),
		     0, "%s", err.msg);
	p = get(st, id);
	cr_assert_eq(p.state, PROPOSAL_FAILED);
	cr_assert(proposal_state_final(p.state));
	cr_assert_str_eq(p.last_error, "exit status 4");
	store_proposal_clear(&p);
	struct rows r = audit_of(st, id);
	cr_assert_str_eq(r.a[r.n - 1].to, "failed");
	cr_assert_str_eq(r.a[r.n - 1].reason, "exit status 4");
	cr_assert_eq(store_proposal_lease(st, "w3", T0 + 100000, 100, &p, &err), 0);
	store_close(st);
}

Test(pstore, a_long_error_is_cut_to_fit_and_the_chain_still_verifies)
{
	struct store *st = open_migrated();
	char id[STORE_PROPOSAL_ID_MAX], big[1000];
	queued(st, T0, id);
	struct store_proposal p;
	struct perr err;
	cr_assert_eq(store_proposal_lease(st, "w1", T0, 100, &p, &err), 1);
	store_proposal_clear(&p);
	/* "é" is two bytes: the cut must not split one. */
	for (size_t i = 0; i + 2 < sizeof big; i += 2)
		memcpy(big + i, "\xc3\xa9", 2);
	big[sizeof big - 2] = '\0';
	cr_assert_eq(store_proposal_finish(st, id, "w1", 0, NULL, big, T0 + 1, 0, &err), 0, "%s",
		     err.msg);
	struct rows r = audit_of(st, id);
	cr_assert_eq(strlen(r.a[r.n - 1].reason), 254);
	struct store_audit_check c;
	cr_assert_eq(store_audit_verify(st, &c, &err), 0, "%s", err.msg);
	cr_assert_eq(c.bad_seq, 0, "%s", c.what);
	store_close(st);
}

/* --- listing ------------------------------------------------------------- */

struct ids {
	char id[16][STORE_PROPOSAL_ID_MAX];
	int n;
};

static int collect_ids(void *arg, const struct store_proposal *p)
{
	struct ids *s = arg;
	if (s->n < 16)
		snprintf(s->id[s->n++], STORE_PROPOSAL_ID_MAX, "%s", p->id);
	return 0;
}

Test(pstore, proposals_are_listed_newest_first_by_project_state_and_limit)
{
	struct store *st = open_migrated();
	char a[STORE_PROPOSAL_ID_MAX], b[STORE_PROPOSAL_ID_MAX], c[STORE_PROPOSAL_ID_MAX];
	submit(st, "atlas", "alice", NULL, T0 + 1, a);
	submit(st, "atlas", "alice", NULL, T0 + 2, b);
	submit(st, "zeus", "alice", NULL, T0 + 3, c);
	move(st, b, PROPOSAL_SUBMITTED, PROPOSAL_APPROVED, T0 + 4);
	struct perr err;
	struct ids s = {0};
	struct store_proposal_filter f = {NULL, NULL, -1, 0};
	cr_assert_eq(store_proposals(st, &f, collect_ids, &s, &err), 0, "%s", err.msg);
	cr_assert_eq(s.n, 3);
	cr_assert_str_eq(s.id[0], c);
	cr_assert_str_eq(s.id[2], a);
	memset(&s, 0, sizeof s);
	f = (struct store_proposal_filter){"atlas", "restart", PROPOSAL_SUBMITTED, 0};
	cr_assert_eq(store_proposals(st, &f, collect_ids, &s, &err), 0);
	cr_assert_eq(s.n, 1);
	cr_assert_str_eq(s.id[0], a);
	memset(&s, 0, sizeof s);
	f = (struct store_proposal_filter){NULL, NULL, -1, 2};
	cr_assert_eq(store_proposals(st, &f, collect_ids, &s, &err), 0);
	cr_assert_eq(s.n, 2);
	memset(&s, 0, sizeof s);
	f = (struct store_proposal_filter){NULL, "deploy", -1, 0};
	cr_assert_eq(store_proposals(st, &f, collect_ids, &s, &err), 0);
	cr_assert_eq(s.n, 0);
	store_close(st);
}

/* --- the live event and the chain ---------------------------------------- */

struct evs {
	char id[32][EVENT_ID_MAX];
	char type[32][EVENT_TYPE_MAX];
	char project[32][EVENT_PROJECT_MAX];
	char data[32][256];
	long long ts[32];
	int session_null[32];
	int valid[32]; /* whether a producer could have sent it as it is */
	char why[32][400];
	int n;
};

static int collect_events(void *arg, const struct event *ev)
{
	struct evs *e = arg;
	if (e->n >= 32)
		return -1;
	snprintf(e->id[e->n], EVENT_ID_MAX, "%s", ev->id);
	snprintf(e->type[e->n], EVENT_TYPE_MAX, "%s", ev->type);
	snprintf(e->project[e->n], EVENT_PROJECT_MAX, "%s", ev->project);
	char *d = json_dumps(ev->data, JSON_COMPACT | JSON_SORT_KEYS);
	snprintf(e->data[e->n], 256, "%s", d);
	free(d);
	e->ts[e->n] = ev->ts;
	e->session_null[e->n] = ev->session == NULL;
	json_t *obj = json_pack("{s:s, s:s, s:s, s:s, s:I, s:O}", "id", ev->id, "type", ev->type,
				"project", ev->project, "source", ev->source, "ts",
				(json_int_t)ev->ts, "data", ev->data);
	struct event back;
	struct perr err;
	e->valid[e->n] = obj && event_from_json(obj, 0, "x", &back, &err) == 0;
	if (e->valid[e->n])
		event_release(&back);
	else
		snprintf(e->why[e->n], 400, "%s: %s", err.field, err.msg);
	json_decref(obj);
	e->n++;
	return 0;
}

Test(pstore, every_audit_row_has_its_live_event_for_the_operator_view)
{
	struct store *st = open_migrated();
	char id[STORE_PROPOSAL_ID_MAX];
	submit(st, "atlas", "alice", NULL, T0, id);
	move(st, id, PROPOSAL_SUBMITTED, PROPOSAL_REJECTED, T0 + 7);
	struct evs e = {0};
	struct perr err;
	cr_assert_eq(store_scan(st, 0, 0, collect_events, &e, &err), 2, "%s", err.msg);
	struct rows r = audit_of(st, NULL);
	cr_assert_eq(r.n, 2);
	for (int i = 0; i < 2; i++) {
		char want[EVENT_ID_MAX];
		snprintf(want, sizeof want, "proposal:%s:%lld", id, r.a[i].seq);
		cr_assert_str_eq(e.id[i], want);
		cr_assert_str_eq(e.type[i], "proposal.transitioned");
		cr_assert_str_eq(e.project[i], "atlas");
		cr_assert(e.session_null[i]);
		cr_assert_eq(e.ts[i], r.a[i].at);
		cr_assert(e.valid[i], "the event meets the producers' contract for its type: %s", e.why[i]);
	}
	char want[256];
	snprintf(want, sizeof want,
		 "{\"actor\":\"bob\",\"from\":\"submitted\",\"kind\":\"restart\",\"proposal\":\"%s\","
		 "\"to\":\"rejected\"}",
		 id);
	cr_assert_str_eq(e.data[1], want);
	cr_assert(strstr(e.data[0], "\"from\":null"), "%s", e.data[0]);
	cr_assert_eq(raw_int("SELECT count(*) FROM portal_live_events WHERE source = 'portal' "
			     "AND received_at = ts"),
		     2);
	store_close(st);
}

Test(pstore, when_the_live_event_cannot_be_written_the_change_and_its_audit_row_are_not_either)
{
	struct store *st = open_migrated();
	char id[STORE_PROPOSAL_ID_MAX];
	submit(st, "atlas", "alice", NULL, T0, id);
	cr_assert_eq(tstore_exec(TSTORE_SQL(
			     "CREATE TRIGGER no_events BEFORE INSERT ON portal_live_events "
			     "BEGIN SELECT RAISE(ABORT, 'log full'); END",
			     "CREATE FUNCTION no_events() RETURNS trigger LANGUAGE plpgsql AS "
			     "$$ BEGIN RAISE EXCEPTION 'log full'; END $$; "
			     "CREATE TRIGGER no_events BEFORE INSERT ON portal_live_events "
			     "FOR EACH ROW EXECUTE FUNCTION no_events()")),
		     0, "%s", tstore_error());
	struct perr err;
	cr_assert_eq(store_proposal_transition(st, id, PROPOSAL_SUBMITTED, PROPOSAL_APPROVED, "bob",
					       "", T0 + 1, &err),
		     PERR_STORE);
	cr_assert(strstr(err.msg, "log full"), "%s", err.msg);
	struct store_proposal p = get(st, id);
	cr_assert_eq(p.state, PROPOSAL_SUBMITTED);
	store_proposal_clear(&p);
	cr_assert_eq(count("portal_audit"), 1);
	store_close(st);
}

/* Approval is submitted → approved → queued. Were the two steps two
 * transactions, a crash between them would leave an approved proposal that
 * nothing ever queues. */
static const struct store_step approve_path[] = {
	{PROPOSAL_SUBMITTED, PROPOSAL_APPROVED, "bob", "looks right"},
	{PROPOSAL_APPROVED, PROPOSAL_QUEUED, "portal", "approved: queued for execution"},
};

Test(pstore, a_path_of_steps_moves_the_proposal_through_each_with_its_own_audit_row)
{
	struct store *st = open_migrated();
	char id[STORE_PROPOSAL_ID_MAX];
	submit(st, "atlas", "alice", NULL, T0, id);
	struct perr err;
	cr_assert_eq(store_proposal_path(st, id, approve_path, 2, T0 + 5, &err), 0, "%s", err.msg);
	struct store_proposal p = get(st, id);
	cr_assert_eq(p.state, PROPOSAL_QUEUED);
	cr_assert_eq(p.next_attempt_at, T0 + 5);
	store_proposal_clear(&p);
	struct rows r = audit_of(st, id);
	cr_assert_eq(r.n, 3);
	cr_assert_str_eq(r.a[1].to, "approved");
	cr_assert_str_eq(r.a[1].actor, "bob");
	cr_assert_str_eq(r.a[1].reason, "looks right");
	cr_assert_str_eq(r.a[2].from, "approved");
	cr_assert_str_eq(r.a[2].to, "queued");
	cr_assert_str_eq(r.a[2].actor, "portal");
	cr_assert_eq(memcmp(r.a[2].prev, r.a[1].hash, sizeof r.a[1].hash), 0);
	cr_assert_eq(raw_int("SELECT count(*) FROM portal_live_events "
			     "WHERE type = 'proposal.transitioned'"),
		     3);
	struct store_audit_check c;
	cr_assert_eq(store_audit_verify(st, &c, &err), 0, "%s", err.msg);
	cr_assert_eq(c.bad_seq, 0, "%s", c.what);
	store_close(st);
}

Test(pstore, when_a_later_step_of_a_path_fails_the_earlier_ones_are_not_kept_either)
{
	struct store *st = open_migrated();
	char id[STORE_PROPOSAL_ID_MAX];
	submit(st, "atlas", "alice", NULL, T0, id);
	cr_assert_eq(tstore_exec(TSTORE_SQL(
			     "CREATE TRIGGER no_queue BEFORE INSERT ON portal_audit "
			     "WHEN NEW.to_state = 'queued' BEGIN SELECT RAISE(ABORT, 'queue shut'); END",
			     "CREATE FUNCTION no_queue() RETURNS trigger LANGUAGE plpgsql AS "
			     "$$ BEGIN RAISE EXCEPTION 'queue shut'; END $$; "
			     "CREATE TRIGGER no_queue BEFORE INSERT ON portal_audit FOR EACH ROW "
			     "WHEN (NEW.to_state = 'queued') EXECUTE FUNCTION no_queue()")),
		     0, "%s", tstore_error());
	struct perr err;
	cr_assert_eq(store_proposal_path(st, id, approve_path, 2, T0 + 5, &err), PERR_STORE);
	cr_assert(strstr(err.msg, "queue shut"), "%s", err.msg);
	struct store_proposal p = get(st, id);
	cr_assert_eq(p.state, PROPOSAL_SUBMITTED, "left %s", proposal_state_name(p.state));
	store_proposal_clear(&p);
	cr_assert_eq(count("portal_audit"), 1);
	cr_assert_eq(raw_int("SELECT count(*) FROM portal_live_events "
			     "WHERE type = 'proposal.transitioned'"),
		     1);
	store_close(st);
}

Test(pstore, a_path_with_a_gap_between_its_steps_is_refused_before_anything_is_read)
{
	struct store *st = open_migrated();
	char id[STORE_PROPOSAL_ID_MAX];
	submit(st, "atlas", "alice", NULL, T0, id);
	const struct store_step gap[] = {
		{PROPOSAL_SUBMITTED, PROPOSAL_APPROVED, "bob", ""},
		{PROPOSAL_QUEUED, PROPOSAL_CANCELLED, "bob", ""},
	};
	struct perr err;
	cr_assert_eq(store_proposal_path(st, id, gap, 2, T0 + 1, &err), PERR_INVALID);
	cr_assert_str_eq(err.field, "steps");
	cr_assert_eq(store_proposal_path(st, id, gap, 0, T0 + 1, &err), PERR_INVALID);
	struct store_proposal p = get(st, id);
	cr_assert_eq(p.state, PROPOSAL_SUBMITTED);
	store_proposal_clear(&p);
	cr_assert_eq(count("portal_audit"), 1);
	store_close(st);
}

Test(pstore, each_audit_row_chains_to_the_one_before_across_proposals)
{
	struct store *st = open_migrated();
	char a[STORE_PROPOSAL_ID_MAX], b[STORE_PROPOSAL_ID_MAX];
	submit(st, "atlas", "alice", NULL, T0, a);
	submit(st, "zeus", "carol", NULL, T0 + 1, b);
	move(st, a, PROPOSAL_SUBMITTED, PROPOSAL_APPROVED, T0 + 2);
	move(st, b, PROPOSAL_SUBMITTED, PROPOSAL_CANCELLED, T0 + 3);
	struct rows r = audit_of(st, NULL);
	cr_assert_eq(r.n, 4);
	static const unsigned char zeros[32];
	for (int i = 0; i < r.n; i++) {
		cr_assert_eq(r.a[i].seq, i + 1);
		cr_assert_eq(memcmp(r.a[i].prev, i ? r.a[i - 1].hash : zeros, 32), 0, "row %d", i);
		struct audit_row row = {
			.seq = r.a[i].seq, .proposal = r.a[i].proposal, .from = r.a[i].from,
			.to = r.a[i].to, .actor = r.a[i].actor, .at = r.a[i].at,
			.reason = r.a[i].reason,
		};
		memcpy(row.prev, r.a[i].prev, 32);
		unsigned char h[32];
		audit_hash(&row, h);
		cr_assert_eq(memcmp(h, r.a[i].hash, 32), 0, "row %d", i);
	}
	/* Filtered by proposal, the rows are that proposal's, in order. */
	r = audit_of(st, b);
	cr_assert_eq(r.n, 2);
	cr_assert_str_eq(r.a[1].to, "cancelled");
	store_close(st);
}

/* --- verifying the chain --------------------------------------------------- */

/* A chain of 3 proposals and 9 rows, written through the store ops. */
static struct store *chain(void)
{
	struct store *st = open_migrated();
	for (int i = 0; i < 3; i++) {
		char id[STORE_PROPOSAL_ID_MAX];
		submit(st, "atlas", "alice", NULL, T0 + i, id);
		move(st, id, PROPOSAL_SUBMITTED, PROPOSAL_APPROVED, T0 + 10 + i);
		move(st, id, PROPOSAL_APPROVED, PROPOSAL_QUEUED, T0 + 20 + i);
	}
	return st;
}

static struct store_audit_check verify(struct store *st)
{
	struct store_audit_check c;
	struct perr err;
	cr_assert_eq(store_audit_verify(st, &c, &err), 0, "%s", err.msg);
	return c;
}

Test(pstore, an_untouched_chain_verifies)
{
	struct store *st = chain();
	struct store_audit_check c = verify(st);
	cr_assert_eq(c.bad_seq, 0, "%s", c.what);
	cr_assert_eq(c.rows, 9);
	store_close(st);
}

Test(pstore, an_empty_log_verifies_with_no_rows)
{
	struct store *st = open_migrated();
	struct store_audit_check c = verify(st);
	cr_assert_eq(c.bad_seq, 0);
	cr_assert_eq(c.rows, 0);
	store_close(st);
}

Test(pstore, the_log_refuses_updates_and_deletes)
{
	struct store *st = chain();
	cr_assert_neq(tstore_exec("UPDATE portal_audit SET actor = 'mallory' WHERE seq = 2"), 0);
	cr_assert(strstr(tstore_error(), "append-only"), "%s", tstore_error());
	cr_assert_neq(tstore_exec("DELETE FROM portal_audit WHERE seq = 2"), 0);
	cr_assert(strstr(tstore_error(), "append-only"), "%s", tstore_error());
	cr_assert_eq(verify(st).bad_seq, 0);
	store_close(st);
}

/* Drops the append-only triggers, as someone set on editing the log would. */
static void unguard(void)
{
	cr_assert_eq(tstore_exec(TSTORE_SQL("DROP TRIGGER portal_audit_no_update; "
					    "DROP TRIGGER portal_audit_no_delete",
					    "DROP TRIGGER portal_audit_no_update ON portal_audit; "
					    "DROP TRIGGER portal_audit_no_delete ON portal_audit")),
		     0, "%s", tstore_error());
}

Test(pstore, a_changed_row_is_named_as_the_first_broken_one)
{
	struct store *st = chain();
	unguard();
	cr_assert_eq(tstore_exec("UPDATE portal_audit SET actor = 'mallory' WHERE seq = 5"), 0);
	cr_assert_eq(tstore_exec("UPDATE portal_audit SET reason = 'later edit' WHERE seq = 7"), 0);
	struct store_audit_check c = verify(st);
	cr_assert_eq(c.bad_seq, 5);
	cr_assert(strstr(c.what, "hash does not match"), "%s", c.what);
	char want[STORE_PROPOSAL_ID_MAX];
	struct rows r = audit_of(st, NULL);
	snprintf(want, sizeof want, "%s", r.a[4].proposal);
	cr_assert_str_eq(c.bad_proposal, want);
	store_close(st);
}

Test(pstore, a_changed_row_with_a_recomputed_hash_breaks_the_next_rows_link)
{
	struct store *st = chain();
	unguard();
	/* The tamperer recomputes row 4's hash after editing it; row 5 still
	 * points at the old one. */
	struct rows r = audit_of(st, NULL);
	struct audit_row row = {
		.seq = 4, .proposal = r.a[3].proposal, .from = r.a[3].from, .to = r.a[3].to,
		.actor = "mallory", .at = r.a[3].at, .reason = r.a[3].reason,
	};
	memcpy(row.prev, r.a[3].prev, 32);
	unsigned char h[32];
	audit_hash(&row, h);
	cr_assert_eq(tstore_exec_blob("UPDATE portal_audit SET actor = 'mallory', hash = $1 "
				      "WHERE seq = 4",
				      h),
		     0, "%s", tstore_error());
	struct store_audit_check c = verify(st);
	cr_assert_eq(c.bad_seq, 5);
	cr_assert(strstr(c.what, "prev"), "%s", c.what);
	store_close(st);
}

Test(pstore, a_removed_row_breaks_the_link_of_the_row_after_it)
{
	struct store *st = chain();
	unguard();
	cr_assert_eq(tstore_exec("DELETE FROM portal_audit WHERE seq = 3"), 0);
	struct store_audit_check c = verify(st);
	cr_assert_eq(c.bad_seq, 4);
	cr_assert(strstr(c.what, "row 2"), "%s", c.what);
	store_close(st);
}

Test(pstore, a_removed_first_row_is_caught_too)
{
	struct store *st = chain();
	unguard();
	cr_assert_eq(tstore_exec("DELETE FROM portal_audit WHERE seq = 1"), 0);
	struct store_audit_check c = verify(st);
	cr_assert_eq(c.bad_seq, 2);
	cr_assert(strstr(c.what, "first row"), "%s", c.what);
	store_close(st);
}

Test(pstore, rows_written_after_a_removed_last_row_do_not_reuse_its_seq)
{
	struct store *st = chain();
	unguard();
	cr_assert_eq(tstore_exec("DELETE FROM portal_audit WHERE seq = 9"), 0);
	char id[STORE_PROPOSAL_ID_MAX];
	submit(st, "atlas", "alice", NULL, T0 + 100, id);
	cr_assert_eq(raw_int("SELECT max(seq) FROM portal_audit"), 10);
	store_close(st);
}
