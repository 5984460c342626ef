/* The demo data set: every event keeps the producers' contract, and folded
 * through the projection it shows what the operator view is for — several
 * projects, sessions in every status, resumed chains, a running Ouroboros
 * cycle and the health of the substrate. Its proposals are made in a store
 * (the store under test), one in every state, each one there to be opened. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "cmd/demo.h"
#include "core/event.h"
#include "core/projection.h"
#include "core/proposal.h"
#include "store/store.h"
#include "store_under_test.h"

#define BASE 1718000000000LL /* a whole minute */

static void free_events(json_t **evs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		json_decref(evs[i]);
	free(evs);
}

/* Folds the demo set with the default idle window; returns the snapshot. */
static json_t *fold_demo(void)
{
	json_t **evs;
	size_t n = demo_events(BASE, &evs);
	struct projection_options opt = {.idle_after_ms = 600000};
	struct projection *p = projection_new(&opt);
	for (size_t i = 0; i < n; i++) {
		struct event ev;
		struct perr err = {0};
		cr_assert_eq(event_from_json(evs[i], 0, "test", &ev, &err), 0, "event %zu: %s: %s",
			     i + 1, err.field, err.msg);
		ev.seq = (long long)i + 1;
		cr_assert_eq(projection_apply(p, &ev, &err), 0, "%s", err.msg);
		event_release(&ev);
	}
	struct buf b = BUF_INIT;
	projection_write(p, &b, NULL);
	json_error_t jerr;
	json_t *snap = json_loads(buf_cstr(&b), 0, &jerr);
	cr_assert(snap, "snapshot is not JSON: %s", jerr.text);
	buf_free(&b);
	projection_free(p);
	free_events(evs, n);
	return snap;
}

static size_t count_status(json_t *snap, const char *status)
{
	size_t i, n = 0;
	json_t *s;
	json_array_foreach(json_object_get(snap, "sessions"), i, s)
		n += strcmp(json_string_value(json_object_get(s, "status")), status) == 0;
	return n;
}

Test(demo, every_event_keeps_the_producers_contract)
{
	json_t **evs;
	size_t n = demo_events(BASE, &evs);
	cr_assert_gt(n, 200);
	for (size_t i = 0; i < n; i++) {
		struct event ev;
		struct perr err = {0};
		cr_assert_eq(event_from_json(evs[i], 0, "test", &ev, &err), 0, "event %zu: %s: %s",
			     i + 1, err.field, err.msg);
		char id[32];
		snprintf(id, sizeof id, "demo-%04zu", i + 1);
		cr_assert_str_eq(ev.id, id);
		cr_assert_str_eq(ev.source, "demo");
		event_release(&ev);
	}
	free_events(evs, n);
}

Test(demo, times_rise_strictly_over_two_hours_up_to_the_base)
{
	json_t **evs;
	size_t n = demo_events(BASE, &evs);
	long long prev = 0;
	for (size_t i = 0; i < n; i++) {
		long long ts = json_integer_value(json_object_get(evs[i], "ts"));
		cr_assert_gt(ts, prev, "event %zu is not after the one before it", i + 1);
		cr_assert_leq(ts, BASE, "event %zu is after the base time", i + 1);
		cr_assert_geq(ts, BASE - 2 * 3600 * 1000LL, "event %zu is over two hours old", i + 1);
		prev = ts;
	}
	cr_assert_gt(prev, BASE - 60 * 1000, "the newest event is not within a minute of now");
	free_events(evs, n);
}

Test(demo, the_same_base_gives_the_same_events)
{
	json_t **a, **b;
	size_t na = demo_events(BASE, &a), nb = demo_events(BASE, &b);
	cr_assert_eq(na, nb);
	for (size_t i = 0; i < na; i++)
		cr_assert(json_equal(a[i], b[i]), "event %zu differs", i + 1);
	free_events(a, na);
	free_events(b, nb);
}

Test(demo, ids_do_not_depend_on_the_base_so_a_rerun_is_a_duplicate)
{
	json_t **a, **b;
	size_t na = demo_events(BASE, &a), nb = demo_events(BASE + 3600 * 1000LL, &b);
	cr_assert_eq(na, nb);
	for (size_t i = 0; i < na; i++) {
		cr_assert_str_eq(json_string_value(json_object_get(a[i], "type")),
				 json_string_value(json_object_get(b[i], "type")));
		cr_assert_str_eq(json_string_value(json_object_get(a[i], "id")),
				 json_string_value(json_object_get(b[i], "id")));
	}
	free_events(a, na);
	free_events(b, nb);
}

Test(demo, folded_it_shows_projects_and_sessions_in_every_status)
{
	json_t *snap = fold_demo();
	cr_assert_geq(json_array_size(json_object_get(snap, "projects")), 4);
	cr_assert_geq(json_array_size(json_object_get(snap, "sessions")), 30);
	const char *statuses[] = {"running", "blocked", "idle", "ended"};
	for (size_t i = 0; i < 4; i++)
		cr_assert_geq(count_status(snap, statuses[i]), 2, "fewer than two %s sessions",
			      statuses[i]);
	json_decref(snap);
}

Test(demo, folded_it_has_blockers_of_every_class)
{
	json_t *snap = fold_demo();
	const char *classes[] = {"auth", "contract", "dependency", "product"};
	for (size_t c = 0; c < 4; c++) {
		size_t i, n = 0;
		json_t *s;
		json_array_foreach(json_object_get(snap, "sessions"), i, s) {
			const char *cls = json_string_value(
				json_object_get(json_object_get(s, "blocked"), "class"));
			n += cls && strcmp(cls, classes[c]) == 0;
		}
		cr_assert_geq(n, 1, "no session blocked by %s", classes[c]);
	}
	json_decref(snap);
}

Test(demo, folded_it_has_a_resumed_chain_of_at_least_two)
{
	json_t *snap = fold_demo();
	size_t i, longest = 0, resumed = 0;
	json_t *s;
	json_array_foreach(json_object_get(snap, "sessions"), i, s) {
		size_t len = json_array_size(
			json_object_get(json_object_get(s, "continuity"), "chain"));
		if (len > longest)
			longest = len;
		resumed += len > 0;
	}
	cr_assert_geq(longest, 2);
	cr_assert_geq(resumed, 4);
	json_decref(snap);
}

Test(demo, folded_it_has_a_current_ouroboros_cycle_and_history)
{
	json_t *snap = fold_demo();
	json_t *o = json_object_get(snap, "ouroboros");
	cr_assert(json_is_object(json_object_get(o, "current")), "no cycle is running");
	cr_assert_gt(json_integer_value(json_object_get(o, "completed")), 0);
	cr_assert_gt(json_integer_value(json_object_get(o, "failed")), 0);
	json_decref(snap);
}

Test(demo, folded_it_has_health_for_the_substrate_in_every_state)
{
	json_t *snap = fold_demo();
	json_t *health = json_object_get(snap, "health");
	cr_assert_geq(json_array_size(health), 8);
	const char *states[] = {"up", "degraded", "down", "auth"};
	for (size_t k = 0; k < 4; k++) {
		size_t i, n = 0;
		json_t *c;
		json_array_foreach(health, i, c)
			n += strcmp(json_string_value(json_object_get(c, "state")), states[k]) == 0;
		cr_assert_geq(n, 1, "no component is %s", states[k]);
	}
	json_decref(snap);
}

Test(demo, folded_it_counts_the_unrecognised_events)
{
	json_t *snap = fold_demo();
	cr_assert_geq(json_integer_value(
			      json_object_get(json_object_get(snap, "unrecognised"), "total")),
		      1);
	json_decref(snap);
}

/* --- in a store: the events and the proposals ------------------------------ */

static void enter(void)
{
	tstore_setup("portal-demo");
}

static void leave(void)
{
	tstore_teardown();
}

TestSuite(demo_store, .init = enter, .fini = leave);

static struct store *open_migrated(void)
{
	struct store *st = NULL;
	struct perr err = {0};
	struct store_options opt = {.busy_timeout_ms = 2000};
	cr_assert_eq(store_open(tstore_url(), &opt, &st, &err), 0, "%s", err.msg);
	int from, to;
	cr_assert_eq(store_migrate(st, &from, &to, &err), 0, "%s", err.msg);
	return st;
}

/* Appends the demo events and makes the demo proposals, as `portal demo`
 * does; returns how many proposals were new. */
static int load_demo(struct store *st)
{
	json_t **objs;
	size_t n = demo_events(BASE, &objs);
	struct event *evs = calloc(n, sizeof *evs);
	long long *seqs = calloc(n, sizeof *seqs);
	int *fresh = calloc(n, sizeof *fresh);
	cr_assert(evs && seqs && fresh);
	struct perr err = {0};
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(event_from_json(objs[i], BASE, "demo", &evs[i], &err), 0, "%s", err.msg);
	struct store_batch batch = {evs, n, seqs, fresh, 0, {0}};
	struct store_batch *bp = &batch;
	cr_assert_eq(store_append(st, &bp, 1, &err), 0, "%s", err.msg);
	cr_assert_eq(batch.rc, 0, "%s", batch.err.msg);
	for (size_t i = 0; i < n; i++)
		event_release(&evs[i]);
	free(evs);
	free(seqs);
	free(fresh);
	free_events(objs, n);
	int made = -1;
	cr_assert_eq(demo_proposals(st, BASE, &made, &err), 0, "%s: %s", err.field, err.msg);
	return made;
}

static int fold_one(void *arg, const struct event *ev)
{
	struct perr err = {0};
	cr_assert_eq(projection_apply(arg, ev, &err), 0, "%s", err.msg);
	return 0;
}

/* Folds everything the store holds; returns the snapshot. */
static json_t *fold_stored(struct store *st)
{
	struct projection_options opt = {.idle_after_ms = 600000};
	struct projection *p = projection_new(&opt);
	struct perr err = {0};
	cr_assert_geq(store_scan(st, 0, 0, fold_one, p, &err), 1, "%s", err.msg);
	struct buf b = BUF_INIT;
	projection_write(p, &b, NULL);
	json_t *snap = json_loads(buf_cstr(&b), 0, NULL);
	cr_assert(snap);
	buf_free(&b);
	projection_free(p);
	return snap;
}

struct by_state {
	int n[PROPOSAL_STATE_COUNT];
	int total;
	char ids[32][40];
};

static int count_state(void *arg, const struct store_proposal *p)
{
	struct by_state *b = arg;
	cr_assert(p->state >= 0 && p->state < PROPOSAL_STATE_COUNT);
	b->n[p->state]++;
	if (b->total < 32)
		snprintf(b->ids[b->total], sizeof b->ids[0], "%s", p->id);
	b->total++;
	return 0;
}

static struct by_state stored_proposals(struct store *st)
{
	struct by_state b = {0};
	struct store_proposal_filter f = {.state = -1};
	struct perr err = {0};
	cr_assert_eq(store_proposals(st, &f, count_state, &b, &err), 0, "%s", err.msg);
	return b;
}

Test(demo_store, there_is_a_stored_proposal_in_every_state)
{
	struct store *st = open_migrated();
	cr_assert_eq(load_demo(st), 10);
	struct by_state b = stored_proposals(st);
	for (int s = 0; s < PROPOSAL_STATE_COUNT; s++)
		cr_assert_geq(b.n[s], 1, "no demo proposal is %s", proposal_state_name(s));
	store_close(st);
}

Test(demo_store, every_proposal_has_its_audit_trail_and_the_chain_verifies)
{
	struct store *st = open_migrated();
	load_demo(st);
	struct by_state b = stored_proposals(st);
	struct perr err = {0};
	for (int i = 0; i < b.total; i++) {
		struct store_proposal p = {0};
		cr_assert_eq(store_proposal_get(st, b.ids[i], &p, &err), 0, "%s", err.msg);
		store_proposal_clear(&p);
	}
	struct store_audit_check check;
	cr_assert_eq(store_audit_verify(st, &check, &err), 0, "%s", err.msg);
	cr_assert_eq(check.bad_seq, 0, "%s", check.what);
	cr_assert_geq(check.rows, b.total);
	store_close(st);
}

Test(demo_store, the_proven_one_has_a_closed_closure_and_the_proving_one_its_records)
{
	struct store *st = open_migrated();
	load_demo(st);
	struct store_proposal_filter f = {.state = PROPOSAL_PROVEN};
	struct by_state b = {0};
	struct perr err = {0};
	cr_assert_eq(store_proposals(st, &f, count_state, &b, &err), 0, "%s", err.msg);
	cr_assert_eq(b.total, 1);
	struct store_proposal p = {0};
	cr_assert_eq(store_proposal_get(st, b.ids[0], &p, &err), 0, "%s", err.msg);
	cr_assert_not_null(p.closure);
	json_t *c = json_loads(p.closure, 0, NULL);
	cr_assert_str_eq(json_string_value(json_object_get(c, "state")), "closed", "%s", p.closure);
	json_decref(c);
	store_proposal_clear(&p);
	memset(&b, 0, sizeof b);
	f.state = PROPOSAL_PROVING;
	cr_assert_eq(store_proposals(st, &f, count_state, &b, &err), 0, "%s", err.msg);
	cr_assert_eq(b.total, 1);
	char id[40];
	snprintf(id, sizeof id, "%s", b.ids[0]);
	store_close(st);
	char sql[200];
	snprintf(sql, sizeof sql, "SELECT count(*) FROM portal_warehouse_facts WHERE proposal = '%s'",
		 id);
	cr_assert_eq(tstore_int(sql), 3, "submitted, approved and executed facts");
	snprintf(sql, sizeof sql, "SELECT count(*) FROM portal_evidence WHERE proposal = '%s'", id);
	cr_assert_eq(tstore_int(sql), 1);
}

Test(demo_store, a_second_run_makes_nothing_and_writes_no_audit_row)
{
	struct store *st = open_migrated();
	cr_assert_eq(load_demo(st), 10);
	store_close(st);
	long long rows = tstore_int("SELECT count(*) FROM portal_audit");
	long long events = tstore_int("SELECT count(*) FROM portal_live_events");
	st = open_migrated();
	cr_assert_eq(load_demo(st), 0);
	store_close(st);
	cr_assert_eq(tstore_int("SELECT count(*) FROM portal_audit"), rows);
	cr_assert_eq(tstore_int("SELECT count(*) FROM portal_live_events"), events);
}

Test(demo_store, folded_the_projection_counts_exactly_the_stored_proposals)
{
	struct store *st = open_migrated();
	load_demo(st);
	struct by_state b = stored_proposals(st);
	json_t *snap = fold_stored(st);
	store_close(st);
	long long folded = 0, proving = 0;
	size_t i;
	json_t *pr;
	json_array_foreach(json_object_get(snap, "projects"), i, pr) {
		const char *k;
		json_t *v;
		json_object_foreach(json_object_get(pr, "proposals"), k, v) {
			folded += json_integer_value(v);
			if (!strcmp(k, "proving"))
				proving += json_integer_value(v);
		}
	}
	cr_assert_eq(folded, b.total);
	cr_assert_eq(proving, b.n[PROPOSAL_PROVING]);
	json_decref(snap);
}

Test(demo_store, folded_its_projects_stand_at_different_stages)
{
	struct store *st = open_migrated();
	load_demo(st);
	json_t *snap = fold_stored(st);
	store_close(st);
	json_t *stages = json_object();
	size_t i;
	json_t *pr;
	json_array_foreach(json_object_get(snap, "projects"), i, pr)
		json_object_set_new(stages, json_string_value(json_object_get(pr, "stage")),
				    json_true());
	cr_assert_geq(json_object_size(stages), 3);
	json_decref(stages);
	json_decref(snap);
}
