/* The embedded proof planes: graph triples, warehouse facts and evidence
 * records in the store under test (SQLite, or PostgreSQL when
 * PORTAL_TEST_STORE names one), driven through proof/proof.h's planes as the
 * worker and the closure use them. Each test runs in its own process, on a
 * database of its own. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proof/proof.h"
#include "store/proof_store.h"
#include "store/rules.h"
#include "store/store.h"
#include "store_under_test.h"

#define T0 1700000000000LL

static void enter(void)
{
	tstore_setup("portal-proof");
}

TestSuite(proof_store, .init = enter, .fini = tstore_teardown);

static struct store *open_store(void)
{
	struct store *st = NULL;
	struct perr err;
	perr_clear(&err);
	struct store_options opt = {.busy_timeout_ms = 5000};
	cr_assert_eq(store_open(tstore_url(), &opt, &st, &err), 0, "%s", err.msg);
	return st;
}

static struct store *open_migrated(void)
{
	struct store *st = open_store();
	struct perr err;
	cr_assert_eq(store_migrate(st, NULL, NULL, &err), 0, "%s", err.msg);
	return st;
}

static long long raw_int(const char *sql)
{
	return tstore_int(sql);
}

static void raw_exec(const char *sql)
{
	cr_assert_eq(tstore_exec(sql), 0, "%s: %s", sql, tstore_error());
}

static long long count(const char *table)
{
	char sql[128];
	snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
	return raw_int(sql);
}

/* --- values and collectors --------------------------------------------- */

static struct proof_triple triple(const char *s, const char *p, const char *o)
{
	struct proof_triple t;
	memset(&t, 0, sizeof t);
	snprintf(t.subject, sizeof t.subject, "%s", s);
	snprintf(t.predicate, sizeof t.predicate, "%s", p);
	snprintf(t.object, sizeof t.object, "%s", o);
	return t;
}

static struct proof_fact fact(const char *proposal, const char *event, long long at,
			      const char *actor)
{
	struct proof_fact f;
	memset(&f, 0, sizeof f);
	snprintf(f.proposal, sizeof f.proposal, "%s", proposal);
	snprintf(f.project, sizeof f.project, "atlas");
	snprintf(f.kind, sizeof f.kind, "restart");
	snprintf(f.event, sizeof f.event, "%s", event);
	f.at = at;
	snprintf(f.actor, sizeof f.actor, "%s", actor);
	return f;
}

static struct proof_evidence evidence(const char *id, const char *proposal, const char *digest,
				      long long size)
{
	struct proof_evidence e;
	memset(&e, 0, sizeof e);
	snprintf(e.id, sizeof e.id, "%s", id);
	snprintf(e.proposal, sizeof e.proposal, "%s", proposal);
	snprintf(e.digest, sizeof e.digest, "%s", digest);
	e.size = size;
	snprintf(e.location, sizeof e.location, "file:///var/lib/portal/artifacts/%s", id);
	snprintf(e.producer, sizeof e.producer, "worker:w1");
	return e;
}

#define MANY 300

/* What a walk delivered; with stop_after > 0, fn returns -1 on that item. */
struct seen {
	struct proof_triple t[MANY];
	struct proof_fact f[MANY];
	struct proof_evidence e[MANY];
	int n;
	int stop_after;
};

static struct seen *seen_new(int stop_after)
{
	struct seen *s = calloc(1, sizeof *s);
	cr_assert_not_null(s);
	s->stop_after = stop_after;
	return s;
}

static int took(struct seen *s)
{
	s->n++;
	return s->stop_after > 0 && s->n == s->stop_after ? -1 : 0;
}

static int see_triple(void *arg, const struct proof_triple *t)
{
	struct seen *s = arg;
	cr_assert_lt(s->n, MANY);
	s->t[s->n] = *t;
	return took(s);
}

static int see_fact(void *arg, const struct proof_fact *f)
{
	struct seen *s = arg;
	cr_assert_lt(s->n, MANY);
	s->f[s->n] = *f;
	return took(s);
}

static int see_evidence(void *arg, const struct proof_evidence *e)
{
	struct seen *s = arg;
	cr_assert_lt(s->n, MANY);
	s->e[s->n] = *e;
	return took(s);
}

static struct seen *about(struct graph *g, const char *graph, const char *subject)
{
	struct seen *s = seen_new(0);
	struct perr err;
	cr_assert_eq(g->ops->about(g->impl, graph, subject, see_triple, s, &err), 0, "%s",
		     err.msg);
	return s;
}

static struct seen *facts_of(struct warehouse *w, const char *proposal)
{
	struct seen *s = seen_new(0);
	struct perr err;
	cr_assert_eq(w->ops->facts(w->impl, proposal, see_fact, s, &err), 0, "%s", err.msg);
	return s;
}

static struct seen *evidence_of(struct evidence *ev, const char *proposal)
{
	struct seen *s = seen_new(0);
	struct perr err;
	cr_assert_eq(ev->ops->of(ev->impl, proposal, see_evidence, s, &err), 0, "%s", err.msg);
	return s;
}

static void put_triples(struct graph *g, const char *graph, const struct proof_triple *t,
			size_t n)
{
	struct perr err;
	cr_assert_eq(g->ops->put(g->impl, graph, t, n, &err), 0, "%s", err.msg);
}

static void record(struct warehouse *w, struct proof_fact f)
{
	struct perr err;
	cr_assert_eq(w->ops->record(w->impl, &f, &err), 0, "%s", err.msg);
}

static void put_evidence(struct evidence *ev, struct proof_evidence e)
{
	struct perr err;
	cr_assert_eq(ev->ops->put(ev->impl, &e, &err), 0, "%s", err.msg);
}

static void assert_triple(const struct proof_triple *t, const char *s, const char *p,
			  const char *o)
{
	cr_assert_str_eq(t->subject, s);
	cr_assert_str_eq(t->predicate, p);
	cr_assert_str_eq(t->object, o);
}

/* --- the planes -------------------------------------------------------- */

Test(proof_store, the_planes_are_named_embedded_and_closing_one_leaves_the_store_open)
{
	struct store *st = open_migrated();
	struct graph g;
	struct warehouse w;
	struct evidence ev;
	graph_embedded(st, &g);
	warehouse_embedded(st, &w);
	evidence_embedded(st, &ev);
	cr_assert_str_eq(g.ops->name, "embedded");
	cr_assert_str_eq(w.ops->name, "embedded");
	cr_assert_str_eq(ev.ops->name, "embedded");
	graph_close(&g);
	warehouse_close(&w);
	evidence_close(&ev);
	cr_assert_null(g.ops);
	cr_assert_null(w.ops);
	cr_assert_null(ev.impl);

	struct perr err;
	struct proof_triple t = triple("urn:p:1", "urn:executed", "true");
	cr_assert_eq(store_graph_put(st, "atlas", &t, 1, &err), 0, "%s", err.msg);
	store_close(st);
}

/* --- graph ------------------------------------------------------------- */

Test(proof_store, triples_come_back_through_the_graph_plane_by_predicate_then_object)
{
	struct store *st = open_migrated();
	struct graph g;
	graph_embedded(st, &g);
	struct proof_triple t[] = {
		triple("urn:p:1", "urn:state", "\"executed\""),
		triple("urn:p:1", "urn:artifact", "urn:e:2"),
		triple("urn:p:1", "urn:artifact", "urn:e:1"),
	};
	put_triples(&g, "atlas", t, 3);

	struct seen *s = about(&g, "atlas", "urn:p:1");
	cr_assert_eq(s->n, 3);
	assert_triple(&s->t[0], "urn:p:1", "urn:artifact", "urn:e:1");
	assert_triple(&s->t[1], "urn:p:1", "urn:artifact", "urn:e:2");
	assert_triple(&s->t[2], "urn:p:1", "urn:state", "\"executed\"");
	cr_assert_eq(raw_int("SELECT count(*) FROM portal_graph_triples WHERE added_at > 0"), 3);
	free(s);
	store_close(st);
}

Test(proof_store, a_triple_added_twice_is_kept_once)
{
	struct store *st = open_migrated();
	struct graph g;
	graph_embedded(st, &g);
	struct proof_triple t[] = {
		triple("urn:p:1", "urn:state", "executed"),
		triple("urn:p:1", "urn:state", "executed"),
	};
	put_triples(&g, "atlas", t, 2);
	put_triples(&g, "atlas", t, 1);

	struct seen *s = about(&g, "atlas", "urn:p:1");
	cr_assert_eq(s->n, 1);
	assert_triple(&s->t[0], "urn:p:1", "urn:state", "executed");
	cr_assert_eq(count("portal_graph_triples"), 1);
	free(s);
	store_close(st);
}

Test(proof_store, about_gives_only_that_subjects_triples_in_that_graph)
{
	struct store *st = open_migrated();
	struct graph g;
	graph_embedded(st, &g);
	struct proof_triple mine = triple("urn:p:1", "urn:state", "executed");
	struct proof_triple other_subject = triple("urn:p:2", "urn:state", "executed");
	struct proof_triple prefix_subject = triple("urn:p:10", "urn:state", "executed");
	put_triples(&g, "atlas", &mine, 1);
	put_triples(&g, "atlas", &other_subject, 1);
	put_triples(&g, "atlas", &prefix_subject, 1);
	struct proof_triple elsewhere = triple("urn:p:1", "urn:state", "failed");
	put_triples(&g, "borealis", &elsewhere, 1);

	struct seen *s = about(&g, "atlas", "urn:p:1");
	cr_assert_eq(s->n, 1);
	assert_triple(&s->t[0], "urn:p:1", "urn:state", "executed");
	free(s);
	s = about(&g, "borealis", "urn:p:1");
	cr_assert_eq(s->n, 1);
	assert_triple(&s->t[0], "urn:p:1", "urn:state", "failed");
	free(s);
	s = about(&g, "cygnus", "urn:p:1");
	cr_assert_eq(s->n, 0);
	free(s);
	store_close(st);
}

Test(proof_store, an_empty_object_is_kept_as_the_empty_literal)
{
	struct store *st = open_migrated();
	struct graph g;
	graph_embedded(st, &g);
	struct proof_triple t = triple("urn:p:1", "urn:note", "");
	put_triples(&g, "atlas", &t, 1);
	struct seen *s = about(&g, "atlas", "urn:p:1");
	cr_assert_eq(s->n, 1);
	assert_triple(&s->t[0], "urn:p:1", "urn:note", "");
	free(s);
	store_close(st);
}

Test(proof_store, a_batch_with_one_bad_triple_stores_none_of_it_and_names_the_triple)
{
	struct store *st = open_migrated();
	struct graph g;
	graph_embedded(st, &g);
	struct proof_triple t[] = {
		triple("urn:p:1", "urn:state", "executed"),
		triple("urn:p:1", "", "executed"),
	};
	struct perr err;
	perr_clear(&err);
	cr_assert_eq(g.ops->put(g.impl, "atlas", t, 2, &err), PERR_INVALID);
	cr_assert_str_eq(err.field, "triples[1].predicate");
	cr_assert_eq(count("portal_graph_triples"), 0);
	store_close(st);
}

Test(proof_store, a_batch_the_database_refuses_half_way_stores_none_of_it)
{
	struct store *st = open_migrated();
	struct graph g;
	graph_embedded(st, &g);
	raw_exec(TSTORE_SQL("CREATE TRIGGER no_boom BEFORE INSERT ON portal_graph_triples "
			    "WHEN NEW.subject = 'urn:boom' BEGIN SELECT RAISE(ABORT, 'graph full'); END",
			    "CREATE FUNCTION no_boom() RETURNS trigger LANGUAGE plpgsql AS "
			    "$$ BEGIN RAISE EXCEPTION 'graph full'; END $$; "
			    "CREATE TRIGGER no_boom BEFORE INSERT ON portal_graph_triples "
			    "FOR EACH ROW WHEN (NEW.subject = 'urn:boom') EXECUTE FUNCTION no_boom()"));
	struct proof_triple t[] = {
		triple("urn:p:1", "urn:state", "executed"),
		triple("urn:boom", "urn:state", "executed"),
	};
	struct perr err;
	perr_clear(&err);
	cr_assert_eq(g.ops->put(g.impl, "atlas", t, 2, &err), PERR_STORE);
	cr_assert_str_eq(err.field, "store.db");
	cr_assert(strstr(err.msg, "graph full"), "%s", err.msg);
	cr_assert_eq(count("portal_graph_triples"), 0);

	/* The store is left usable: the failed transaction was rolled back. */
	put_triples(&g, "atlas", t, 1);
	cr_assert_eq(count("portal_graph_triples"), 1);
	store_close(st);
}

/* --- warehouse ----------------------------------------------------------- */

Test(proof_store, facts_come_back_by_time_then_in_the_order_recorded_with_duplicates_kept)
{
	struct store *st = open_migrated();
	struct warehouse w;
	warehouse_embedded(st, &w);
	struct proof_fact executed = fact("p-1", "executed", T0 + 10, "worker:w1");
	snprintf(executed.artifact, sizeof executed.artifact, "e-1");
	snprintf(executed.digest, sizeof executed.digest, "sha256:%064d", 7);
	record(&w, fact("p-1", "approved", T0 + 10, "bob"));
	record(&w, fact("p-1", "submitted", T0, "alice"));
	record(&w, executed);
	record(&w, fact("p-2", "submitted", T0 + 5, "carol"));
	record(&w, fact("p-1", "submitted", T0, "alice")); /* told again */

	struct seen *s = facts_of(&w, "p-1");
	cr_assert_eq(s->n, 4);
	const char *events[] = {"submitted", "submitted", "approved", "executed"};
	const long long at[] = {T0, T0, T0 + 10, T0 + 10};
	for (int i = 0; i < 4; i++) {
		cr_assert_str_eq(s->f[i].event, events[i], "fact %d", i);
		cr_assert_eq(s->f[i].at, at[i], "fact %d", i);
		cr_assert_str_eq(s->f[i].proposal, "p-1");
	}
	cr_assert_str_eq(s->f[0].actor, "alice");
	cr_assert_str_eq(s->f[2].actor, "bob");
	cr_assert_str_eq(s->f[2].artifact, "");
	cr_assert_str_eq(s->f[3].project, "atlas");
	cr_assert_str_eq(s->f[3].kind, "restart");
	cr_assert_str_eq(s->f[3].actor, "worker:w1");
	cr_assert_str_eq(s->f[3].artifact, "e-1");
	cr_assert_str_eq(s->f[3].digest, executed.digest);
	free(s);

	s = facts_of(&w, "p-3");
	cr_assert_eq(s->n, 0);
	free(s);
	store_close(st);
}

Test(proof_store, a_fact_with_an_unknown_event_or_a_missing_field_is_invalid_and_named)
{
	struct store *st = open_migrated();
	struct warehouse w;
	warehouse_embedded(st, &w);
	struct {
		struct proof_fact f;
		const char *field;
	} cases[] = {
		{fact("p-1", "proven", T0, "bob"), "event"},
		{fact("p-1", "", T0, "bob"), "event"},
		{fact("", "submitted", T0, "bob"), "proposal"},
		{fact("p-1", "submitted", T0, ""), "actor"},
		{fact("p-1", "submitted", -1, "bob"), "at"},
		{fact("p-1", "submitted", T0, "bob"), "project"},
		{fact("p-1", "submitted", T0, "bob"), "kind"},
		{fact("p-1", "executed", T0, "bob"), "digest"},
	};
	cases[5].f.project[0] = '\0';
	cases[6].f.kind[0] = '\0';
	memset(cases[7].f.digest, 'a', sizeof cases[7].f.digest); /* not ended */
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct perr err;
		perr_clear(&err);
		cr_assert_eq(w.ops->record(w.impl, &cases[i].f, &err), PERR_INVALID, "case %zu", i);
		cr_assert_str_eq(err.field, cases[i].field, "case %zu", i);
		cr_assert(err.msg[0]);
	}
	cr_assert_eq(count("portal_warehouse_facts"), 0);
	store_close(st);
}

/* --- evidence ------------------------------------------------------------ */

Test(proof_store, evidence_comes_back_through_the_evidence_plane_in_the_order_stored)
{
	struct store *st = open_migrated();
	struct evidence ev;
	evidence_embedded(st, &ev);
	put_evidence(&ev, evidence("e-2", "p-1", "sha256:22", 2048));
	put_evidence(&ev, evidence("e-1", "p-1", "sha256:11", 0));
	put_evidence(&ev, evidence("e-3", "p-2", "sha256:33", 3));

	struct seen *s = evidence_of(&ev, "p-1");
	cr_assert_eq(s->n, 2);
	struct proof_evidence want = evidence("e-2", "p-1", "sha256:22", 2048);
	cr_assert_str_eq(s->e[0].id, want.id);
	cr_assert_str_eq(s->e[0].proposal, want.proposal);
	cr_assert_str_eq(s->e[0].digest, want.digest);
	cr_assert_eq(s->e[0].size, want.size);
	cr_assert_str_eq(s->e[0].location, want.location);
	cr_assert_str_eq(s->e[0].producer, want.producer);
	cr_assert_str_eq(s->e[1].id, "e-1");
	cr_assert_eq(s->e[1].size, 0);
	free(s);
	cr_assert_eq(raw_int("SELECT count(*) FROM portal_evidence WHERE added_at > 0"), 3);
	store_close(st);
}

Test(proof_store, the_same_evidence_told_twice_is_not_an_error_and_is_stored_once)
{
	struct store *st = open_migrated();
	struct evidence ev;
	evidence_embedded(st, &ev);
	put_evidence(&ev, evidence("e-1", "p-1", "sha256:11", 10));
	put_evidence(&ev, evidence("e-1", "p-1", "sha256:11", 10));
	cr_assert_eq(count("portal_evidence"), 1);
	struct seen *s = evidence_of(&ev, "p-1");
	cr_assert_eq(s->n, 1);
	free(s);
	store_close(st);
}

Test(proof_store, evidence_under_a_known_id_that_differs_is_a_conflict_naming_id)
{
	struct store *st = open_migrated();
	struct evidence ev;
	evidence_embedded(st, &ev);
	struct proof_evidence first = evidence("e-1", "p-1", "sha256:11", 10);
	put_evidence(&ev, first);

	const char *fields[] = {"proposal", "digest", "size", "location", "producer"};
	for (int i = 0; i < 5; i++) {
		struct proof_evidence e = first;
		switch (i) {
		case 0: snprintf(e.proposal, sizeof e.proposal, "p-2"); break;
		case 1: snprintf(e.digest, sizeof e.digest, "sha256:99"); break;
		case 2: e.size = 11; break;
		case 3: snprintf(e.location, sizeof e.location, "file:///elsewhere"); break;
		case 4: snprintf(e.producer, sizeof e.producer, "worker:w2"); break;
		}
		struct perr err;
		perr_clear(&err);
		cr_assert_eq(ev.ops->put(ev.impl, &e, &err), PERR_CONFLICT, "%s", fields[i]);
		cr_assert_str_eq(err.field, "id");
		cr_assert(strstr(err.msg, "e-1"), "%s", err.msg);
		cr_assert(strstr(err.msg, fields[i]), "%s", err.msg);
	}

	/* The first record stands as it was. */
	struct seen *s = evidence_of(&ev, "p-1");
	cr_assert_eq(s->n, 1);
	cr_assert_str_eq(s->e[0].digest, "sha256:11");
	cr_assert_eq(s->e[0].size, 10);
	cr_assert_str_eq(s->e[0].producer, "worker:w1");
	free(s);
	cr_assert_eq(count("portal_evidence"), 1);
	store_close(st);
}

Test(proof_store, evidence_with_a_missing_or_overlong_field_is_invalid_and_named)
{
	struct store *st = open_migrated();
	struct evidence ev;
	evidence_embedded(st, &ev);
	struct {
		struct proof_evidence e;
		const char *field;
	} cases[] = {
		{evidence("", "p-1", "sha256:11", 1), "id"},
		{evidence("e-1", "", "sha256:11", 1), "proposal"},
		{evidence("e-1", "p-1", "", 1), "digest"},
		{evidence("e-1", "p-1", "sha256:11", -1), "size"},
		{evidence("e-1", "p-1", "sha256:11", 1), "id"},
		{evidence("e-1", "p-1", "sha256:11", 1), "location"},
	};
	memset(cases[4].e.id, 'a', sizeof cases[4].e.id);             /* not ended */
	memset(cases[5].e.location, 'a', sizeof cases[5].e.location); /* not ended */
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct perr err;
		perr_clear(&err);
		cr_assert_eq(ev.ops->put(ev.impl, &cases[i].e, &err), PERR_INVALID, "case %zu", i);
		cr_assert_str_eq(err.field, cases[i].field, "case %zu", i);
	}
	struct perr err;
	perr_clear(&err);
	cr_assert_eq(ev.ops->put(ev.impl, &cases[4].e, &err), PERR_INVALID);
	cr_assert(strstr(err.msg, "longer than 127 bytes"), "%s", err.msg);
	cr_assert_eq(count("portal_evidence"), 0);
	store_close(st);
}

/* --- arguments, walks, failures ------------------------------------------ */

Test(proof_store, a_missing_or_overlong_argument_is_invalid_and_named)
{
	struct store *st = open_migrated();
	struct graph g;
	struct warehouse w;
	struct evidence ev;
	graph_embedded(st, &g);
	warehouse_embedded(st, &w);
	evidence_embedded(st, &ev);
	char longer[PROOF_IRI_MAX + 1];
	memset(longer, 'a', PROOF_IRI_MAX);
	longer[PROOF_IRI_MAX] = '\0';
	struct proof_triple t = triple("urn:p:1", "urn:state", "executed");
	struct proof_triple unended = t;
	memset(unended.subject, 'a', sizeof unended.subject);
	struct seen *s = seen_new(0);
	struct perr err;

#define INVALID(call, name)                                                    \
	do {                                                                   \
		perr_clear(&err);                                              \
		cr_assert_eq(call, PERR_INVALID, "%s", #call);                 \
		cr_assert_str_eq(err.field, name, "%s", #call);                \
	} while (0)

	INVALID(g.ops->put(g.impl, NULL, &t, 1, &err), "graph");
	INVALID(g.ops->put(g.impl, "", &t, 1, &err), "graph");
	INVALID(g.ops->put(g.impl, "", &t, 0, &err), "graph");
	INVALID(g.ops->put(g.impl, longer, &t, 1, &err), "graph");
	INVALID(g.ops->put(g.impl, "atlas", NULL, 1, &err), "triples");
	INVALID(g.ops->put(g.impl, "atlas", &unended, 1, &err), "triples[0].subject");
	INVALID(g.ops->about(g.impl, "", "urn:p:1", see_triple, s, &err), "graph");
	INVALID(g.ops->about(g.impl, "atlas", NULL, see_triple, s, &err), "subject");
	INVALID(g.ops->about(g.impl, "atlas", longer, see_triple, s, &err), "subject");
	INVALID(w.ops->facts(w.impl, "", see_fact, s, &err), "proposal");
	INVALID(w.ops->facts(w.impl, NULL, see_fact, s, &err), "proposal");
	INVALID(ev.ops->of(ev.impl, "", see_evidence, s, &err), "proposal");
	INVALID(ev.ops->of(ev.impl, longer, see_evidence, s, &err), "proposal");
#undef INVALID

	cr_assert_eq(s->n, 0);
	/* Nothing to add is not an error. */
	cr_assert_eq(g.ops->put(g.impl, "atlas", NULL, 0, &err), 0, "%s", err.msg);
	cr_assert_eq(count("portal_graph_triples"), 0);
	free(s);
	store_close(st);
}

Test(proof_store, a_walk_stopped_by_a_negative_return_stops_without_error)
{
	struct store *st = open_migrated();
	struct graph g;
	struct warehouse w;
	struct evidence ev;
	graph_embedded(st, &g);
	warehouse_embedded(st, &w);
	evidence_embedded(st, &ev);
	struct proof_triple t[] = {
		triple("urn:p:1", "urn:a", "1"),
		triple("urn:p:1", "urn:b", "2"),
		triple("urn:p:1", "urn:c", "3"),
	};
	put_triples(&g, "atlas", t, 3);
	record(&w, fact("p-1", "submitted", T0, "alice"));
	record(&w, fact("p-1", "approved", T0 + 1, "bob"));
	record(&w, fact("p-1", "executed", T0 + 2, "worker:w1"));
	put_evidence(&ev, evidence("e-1", "p-1", "sha256:11", 1));
	put_evidence(&ev, evidence("e-2", "p-1", "sha256:22", 2));
	put_evidence(&ev, evidence("e-3", "p-1", "sha256:33", 3));

	struct perr err;
	perr_clear(&err);
	struct seen *s = seen_new(2);
	cr_assert_eq(g.ops->about(g.impl, "atlas", "urn:p:1", see_triple, s, &err), 0);
	cr_assert_eq(s->n, 2);
	cr_assert_str_eq(s->t[1].predicate, "urn:b");
	free(s);
	s = seen_new(2);
	cr_assert_eq(w.ops->facts(w.impl, "p-1", see_fact, s, &err), 0);
	cr_assert_eq(s->n, 2);
	cr_assert_str_eq(s->f[1].event, "approved");
	free(s);
	s = seen_new(2);
	cr_assert_eq(ev.ops->of(ev.impl, "p-1", see_evidence, s, &err), 0);
	cr_assert_eq(s->n, 2);
	cr_assert_str_eq(s->e[1].id, "e-2");
	free(s);
	cr_assert_eq(err.code, 0);
	store_close(st);
}

Test(proof_store, walks_longer_than_a_page_deliver_every_row_once_in_order)
{
	struct store *st = open_migrated();
	struct graph g;
	struct warehouse w;
	struct evidence ev;
	graph_embedded(st, &g);
	warehouse_embedded(st, &w);
	evidence_embedded(st, &ev);
	enum { N = 200 };
	struct proof_triple *t = calloc(N, sizeof *t);
	cr_assert_not_null(t);
	char p[32], o[32], id[32];
	for (int i = 0; i < N; i++) {
		/* Stored in reverse; objects share predicates in pairs. */
		int k = N - 1 - i;
		snprintf(p, sizeof p, "urn:p%03d", k / 2);
		snprintf(o, sizeof o, "o%03d", k);
		t[i] = triple("urn:p:1", p, o);
		/* Times repeat in runs of three: the order recorded breaks ties. */
		struct proof_fact f = fact("p-1", "submitted", T0 + i / 3, "alice");
		snprintf(f.actor, sizeof f.actor, "a%03d", i);
		record(&w, f);
		snprintf(id, sizeof id, "e-%03d", N - i);
		put_evidence(&ev, evidence(id, "p-1", "sha256:11", i));
	}
	put_triples(&g, "atlas", t, N);
	free(t);

	struct seen *s = about(&g, "atlas", "urn:p:1");
	cr_assert_eq(s->n, N);
	for (int i = 0; i < N; i++) {
		snprintf(o, sizeof o, "o%03d", i);
		cr_assert_str_eq(s->t[i].object, o);
	}
	free(s);
	s = facts_of(&w, "p-1");
	cr_assert_eq(s->n, N);
	for (int i = 0; i < N; i++) {
		snprintf(id, sizeof id, "a%03d", i);
		cr_assert_str_eq(s->f[i].actor, id);
	}
	free(s);
	s = evidence_of(&ev, "p-1");
	cr_assert_eq(s->n, N);
	for (int i = 0; i < N; i++)
		cr_assert_eq(s->e[i].size, i);
	free(s);

	/* Stopped in the second page: exactly that many. */
	struct perr err;
	s = seen_new(100);
	cr_assert_eq(g.ops->about(g.impl, "atlas", "urn:p:1", see_triple, s, &err), 0);
	cr_assert_eq(s->n, 100);
	free(s);
	store_close(st);
}

/* A facts walk whose callback reads and writes the other planes, as a
 * closure joining the planes might. */
struct nested {
	struct graph g;
	struct evidence ev;
	int facts, evidence;
};

static int count_evidence(void *arg, const struct proof_evidence *e)
{
	struct nested *x = arg;
	x->evidence++;
	return 0;
}

static int join_fact(void *arg, const struct proof_fact *f)
{
	struct nested *x = arg;
	struct perr err;
	x->facts++;
	cr_assert_eq(x->ev.ops->of(x->ev.impl, f->proposal, count_evidence, x, &err), 0, "%s",
		     err.msg);
	struct proof_triple t = triple("urn:p:1", "urn:event", f->event);
	cr_assert_eq(x->g.ops->put(x->g.impl, "atlas", &t, 1, &err), 0, "%s", err.msg);
	return 0;
}

Test(proof_store, a_walks_callback_may_use_the_other_planes, .timeout = 10)
{
	struct store *st = open_migrated();
	struct warehouse w;
	struct nested x = {0};
	warehouse_embedded(st, &w);
	graph_embedded(st, &x.g);
	evidence_embedded(st, &x.ev);
	record(&w, fact("p-1", "submitted", T0, "alice"));
	record(&w, fact("p-1", "approved", T0 + 1, "bob"));
	put_evidence(&x.ev, evidence("e-1", "p-1", "sha256:11", 1));

	struct perr err;
	cr_assert_eq(w.ops->facts(w.impl, "p-1", join_fact, &x, &err), 0, "%s", err.msg);
	cr_assert_eq(x.facts, 2);
	cr_assert_eq(x.evidence, 2);
	struct seen *s = about(&x.g, "atlas", "urn:p:1");
	cr_assert_eq(s->n, 2);
	free(s);
	store_close(st);
}

Test(proof_store, a_store_failure_is_a_store_error_that_names_no_file)
{
	struct store *st = open_migrated();
	struct graph g;
	struct warehouse w;
	struct evidence ev;
	graph_embedded(st, &g);
	warehouse_embedded(st, &w);
	evidence_embedded(st, &ev);
	raw_exec("DROP TABLE portal_graph_triples; DROP TABLE portal_warehouse_facts; "
		 "DROP TABLE portal_evidence");
	struct proof_triple t = triple("urn:p:1", "urn:state", "executed");
	struct proof_fact f = fact("p-1", "submitted", T0, "alice");
	struct proof_evidence e = evidence("e-1", "p-1", "sha256:11", 1);
	struct seen *s = seen_new(0);
	struct perr err;

#define FAILS(call)                                                                  \
	do {                                                                         \
		perr_clear(&err);                                                    \
		cr_assert_eq(call, PERR_STORE, "%s", #call);                         \
		cr_assert_str_eq(err.field, "store.db");                             \
		cr_assert(strstr(err.msg, TSTORE_SQL("no such table", "does not exist")), \
			  "%s", err.msg);                                            \
		cr_assert_null(strstr(err.msg, "portal.db"), "%s", err.msg);         \
		cr_assert_null(strstr(err.msg, "127.0.0.1"), "%s", err.msg);         \
		cr_assert_null(strstr(err.msg, tstore_dir()), "%s", err.msg);        \
	} while (0)

	FAILS(g.ops->put(g.impl, "atlas", &t, 1, &err));
	FAILS(g.ops->about(g.impl, "atlas", "urn:p:1", see_triple, s, &err));
	FAILS(w.ops->record(w.impl, &f, &err));
	FAILS(w.ops->facts(w.impl, "p-1", see_fact, s, &err));
	FAILS(ev.ops->put(ev.impl, &e, &err));
	FAILS(ev.ops->of(ev.impl, "p-1", see_evidence, s, &err));
#undef FAILS

	cr_assert_eq(s->n, 0);
	free(s);
	store_close(st);
}

/* --- the migration ------------------------------------------------------- */

/* Builds the database as the portal before 0005_proof left it: every
 * migration before that one applied and recorded, as the migrator does.
 * Returns that version. */
static int build_database_before_proof(void)
{
	const struct embedded_file *migs[STORE_MIGRATIONS_MAX];
	int n = 0;
	struct perr err;
	cr_assert_eq(store_migrations_plan(tstore_migrations_prefix(), embedded_files,
					   embedded_count, migs, &n, &err),
		     0, "%s", err.msg);
	int proof = 0;
	for (int v = 1; v <= n; v++)
		if (strstr(migs[v - 1]->name, "_proof.sql"))
			proof = v;
	cr_assert_gt(proof, 1);
	raw_exec("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, "
		 "name TEXT NOT NULL, applied_at BIGINT NOT NULL)");
	for (int v = 1; v < proof; v++) {
		raw_exec((const char *)migs[v - 1]->data);
		char sql[200];
		snprintf(sql, sizeof sql, "INSERT INTO schema_migrations VALUES (%d, '%s', 1)", v,
			 strrchr(migs[v - 1]->name, '/') + 1);
		raw_exec(sql);
	}
	return proof - 1;
}

Test(proof_store, the_proof_tables_arrive_on_a_database_one_version_older_and_its_data_stays)
{
	int before = build_database_before_proof();
	cr_assert_eq(raw_int(TSTORE_SQL("SELECT count(*) FROM sqlite_master "
					"WHERE name LIKE '%evidence%'",
					"SELECT count(*) FROM pg_class WHERE relname LIKE '%evidence%' "
					"AND relnamespace = current_schema()::regnamespace")),
		     0);

	/* What a portal of that version had stored. */
	struct store *st = open_store();
	struct perr err;
	struct store_status status;
	cr_assert_eq(store_check(st, &status, &err), PERR_UNAVAILABLE);
	cr_assert_eq(status.schema_version, before);
	struct store_proposal p;
	memset(&p, 0, sizeof p);
	snprintf(p.kind, sizeof p.kind, "restart");
	snprintf(p.project, sizeof p.project, "atlas");
	snprintf(p.proposer, sizeof p.proposer, "alice");
	p.input = strdup("{\"service\":\"api\"}");
	int existed = 0;
	cr_assert_eq(store_proposal_submit(st, &p, T0, &existed, &err), 0, "%s", err.msg);
	char id[STORE_PROPOSAL_ID_MAX];
	snprintf(id, sizeof id, "%s", p.id);
	store_proposal_clear(&p);
	char instance[64];
	snprintf(instance, sizeof instance, "%s", status.instance_id);
	cr_assert(instance[0]);
	store_close(st);

	st = open_store();
	int from = -1, to = -1;
	cr_assert_eq(store_migrate(st, &from, &to, &err), 0, "%s", err.msg);
	cr_assert_eq(from, before);
	cr_assert_eq(to, status.schema_latest);
	cr_assert_eq(store_check(st, &status, &err), 0, "%s", err.msg);
	cr_assert_str_eq(status.instance_id, instance);

	cr_assert_eq(store_proposal_get(st, id, &p, &err), 0, "%s", err.msg);
	cr_assert_str_eq(p.input, "{\"service\":\"api\"}");
	store_proposal_clear(&p);
	struct store_audit_check check;
	cr_assert_eq(store_audit_verify(st, &check, &err), 0, "%s", err.msg);
	cr_assert_eq(check.rows, 1);
	cr_assert_eq(check.bad_seq, 0);

	struct evidence ev;
	evidence_embedded(st, &ev);
	put_evidence(&ev, evidence("e-1", id, "sha256:11", 1));
	struct seen *s = evidence_of(&ev, id);
	cr_assert_eq(s->n, 1);
	free(s);
	store_close(st);
}
