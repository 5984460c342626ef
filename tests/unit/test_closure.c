/* closure: closed when every join of the proof path holds; open naming each
 * missing join and its plane; contradicted when planes disagree, with both
 * values. Built from plane answers as the worker reads them. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "core/closure.h"

#define PID "p-00000000000000aa"

struct fixture {
	struct proof_triple triples[8];
	size_t ntriples;
	struct proof_fact facts[8];
	size_t nfacts;
	struct proof_evidence evidence[4];
	size_t nevidence;
	struct closure_input in;
	struct closure_rule rule;
	struct closure out;
};

static void triple(struct fixture *f, const char *predicate, const char *object)
{
	struct proof_triple *t = &f->triples[f->ntriples++];
	closure_node(PID, t->subject, sizeof t->subject);
	snprintf(t->predicate, sizeof t->predicate, "%s", predicate);
	snprintf(t->object, sizeof t->object, "%s", object);
}

static struct proof_fact *fact(struct fixture *f, const char *event, long long at)
{
	struct proof_fact *x = &f->facts[f->nfacts++];
	memset(x, 0, sizeof *x);
	snprintf(x->proposal, sizeof x->proposal, PID);
	snprintf(x->project, sizeof x->project, "atlas");
	snprintf(x->kind, sizeof x->kind, "rotate-key");
	snprintf(x->event, sizeof x->event, "%s", event);
	x->at = at;
	if (!strcmp(event, "executed")) {
		snprintf(x->artifact, sizeof x->artifact, "ev-1");
		snprintf(x->digest, sizeof x->digest, "sha256:%064d", 1);
	}
	return x;
}

/* A proposal whose three planes agree completely. */
static void closed_case(struct fixture *f)
{
	memset(f, 0, sizeof *f);
	triple(f, FO_RDF_TYPE, FO_PROPOSAL);
	triple(f, FO_IN_PROJECT, "urn:fractalops:project:atlas");
	triple(f, FO_OF_KIND, "urn:fractalops:kind:rotate-key");
	triple(f, FO_PROPOSED_BY, "urn:fractalops:person:olga");
	fact(f, "submitted", 1000);
	fact(f, "approved", 2000);
	fact(f, "executed", 3000);
	struct proof_evidence *e = &f->evidence[f->nevidence++];
	snprintf(e->id, sizeof e->id, "ev-1");
	snprintf(e->proposal, sizeof e->proposal, PID);
	snprintf(e->digest, sizeof e->digest, "sha256:%064d", 1);
	e->size = 12;
	closure_rule_default(&f->rule);
}

static void decide(struct fixture *f)
{
	f->in = (struct closure_input){
		.proposal = PID, .project = "atlas", .kind = "rotate-key", .proposer = "olga",
		.graph_ok = 1, .warehouse_ok = 1, .evidence_ok = 1,
		.triples = f->triples, .ntriples = f->ntriples,
		.facts = f->facts, .nfacts = f->nfacts,
		.evidence = f->evidence, .nevidence = f->nevidence,
	};
}

static void run(struct fixture *f)
{
	closure_decide(&f->rule, &f->in, &f->out);
}

/* The only join not met, which must be on plane and say what. */
static const struct closure_join *only_unmet(const struct closure *c)
{
	const struct closure_join *found = NULL;
	for (size_t i = 0; i < c->njoins; i++)
		if (c->joins[i].state != JOIN_MET) {
			cr_assert_null(found, "a second unmet join: %s", c->joins[i].what);
			found = &c->joins[i];
		}
	cr_assert_not_null(found);
	return found;
}

Test(closure, every_join_met_is_closed)
{
	struct fixture f;
	closed_case(&f);
	decide(&f);
	run(&f);
	cr_assert_eq(f.out.state, CLOSURE_CLOSED);
	cr_assert_eq(f.out.njoins, 4 + 3 + 1);
	for (size_t i = 0; i < f.out.njoins; i++)
		cr_assert_eq(f.out.joins[i].state, JOIN_MET, "%s", f.out.joins[i].what);
	cr_assert_eq(f.out.joins[0].plane, PLANE_GRAPH);
	cr_assert_eq(f.out.joins[4].plane, PLANE_WAREHOUSE);
	cr_assert_eq(f.out.joins[7].plane, PLANE_EVIDENCE);
}

Test(closure, each_missing_graph_relation_is_named_on_the_graph_plane)
{
	const char *labels[] = {"type Proposal", "inProject", "ofKind", "proposedBy"};
	for (size_t drop = 0; drop < 4; drop++) {
		struct fixture f;
		closed_case(&f);
		memmove(&f.triples[drop], &f.triples[drop + 1],
			(f.ntriples - drop - 1) * sizeof f.triples[0]);
		f.ntriples--;
		decide(&f);
		run(&f);
		cr_assert_eq(f.out.state, CLOSURE_OPEN);
		const struct closure_join *j = only_unmet(&f.out);
		cr_assert_eq(j->plane, PLANE_GRAPH);
		cr_assert_eq(j->state, JOIN_MISSING);
		cr_assert(strstr(j->what, labels[drop]), "%s", j->what);
	}
}

Test(closure, each_missing_fact_is_named_on_the_warehouse_plane)
{
	const char *events[] = {"submitted", "approved"};
	for (size_t drop = 0; drop < 2; drop++) {
		struct fixture f;
		closed_case(&f);
		memmove(&f.facts[drop], &f.facts[drop + 1], (f.nfacts - drop - 1) * sizeof f.facts[0]);
		f.nfacts--;
		decide(&f);
		run(&f);
		cr_assert_eq(f.out.state, CLOSURE_OPEN);
		const struct closure_join *j = only_unmet(&f.out);
		cr_assert_eq(j->plane, PLANE_WAREHOUSE);
		cr_assert_str_eq(j->what, events[drop] == events[0] ? "submitted fact" : "approved fact");
	}
}

Test(closure, without_an_executed_fact_the_evidence_has_nothing_to_join)
{
	struct fixture f;
	closed_case(&f);
	f.nfacts = 2;
	decide(&f);
	run(&f);
	cr_assert_eq(f.out.state, CLOSURE_OPEN);
	size_t unmet = 0;
	for (size_t i = 0; i < f.out.njoins; i++) {
		const struct closure_join *j = &f.out.joins[i];
		if (j->state == JOIN_MET)
			continue;
		unmet++;
		cr_assert_eq(j->state, JOIN_MISSING);
		cr_assert(j->plane == PLANE_WAREHOUSE || j->plane == PLANE_EVIDENCE);
	}
	cr_assert_eq(unmet, 2, "the executed fact and the evidence it would name");
}

Test(closure, missing_evidence_is_named_with_the_artifact)
{
	struct fixture f;
	closed_case(&f);
	f.nevidence = 0;
	decide(&f);
	run(&f);
	cr_assert_eq(f.out.state, CLOSURE_OPEN);
	const struct closure_join *j = only_unmet(&f.out);
	cr_assert_eq(j->plane, PLANE_EVIDENCE);
	cr_assert_str_eq(j->what, "evidence of ev-1");
}

Test(closure, an_evidence_digest_unlike_the_warehouse_is_contradicted_with_both)
{
	struct fixture f;
	closed_case(&f);
	snprintf(f.evidence[0].digest, sizeof f.evidence[0].digest, "sha256:%064d", 2);
	decide(&f);
	run(&f);
	cr_assert_eq(f.out.state, CLOSURE_CONTRADICTED);
	const struct closure_join *j = only_unmet(&f.out);
	cr_assert_eq(j->plane, PLANE_EVIDENCE);
	cr_assert_eq(j->state, JOIN_CONTRADICTED);
	cr_assert_str_eq(j->expected, f.facts[2].digest, "the warehouse's digest");
	cr_assert_str_eq(j->found, f.evidence[0].digest, "the evidence's digest");
}

Test(closure, facts_out_of_order_are_contradicted)
{
	struct fixture f;
	closed_case(&f);
	f.facts[1].at = 500; /* approved before it was submitted */
	decide(&f);
	run(&f);
	cr_assert_eq(f.out.state, CLOSURE_CONTRADICTED);
	const struct closure_join *j = only_unmet(&f.out);
	cr_assert_eq(j->plane, PLANE_WAREHOUSE);
	cr_assert_str_eq(j->what, "approved fact: order");
	cr_assert_str_eq(j->expected, "after submitted (at 1000)");
	cr_assert_str_eq(j->found, "at 500");
}

Test(closure, facts_come_in_any_order_from_the_plane_but_are_judged_by_time)
{
	struct fixture f;
	closed_case(&f);
	struct proof_fact t = f.facts[0];
	f.facts[0] = f.facts[2];
	f.facts[2] = t;
	decide(&f);
	run(&f);
	cr_assert_eq(f.out.state, CLOSURE_CLOSED);
}

Test(closure, a_duplicate_fact_with_the_same_digest_is_harmless)
{
	struct fixture f;
	closed_case(&f);
	f.facts[f.nfacts] = f.facts[2];
	f.facts[f.nfacts++].at = 3500;
	decide(&f);
	run(&f);
	cr_assert_eq(f.out.state, CLOSURE_CLOSED);
}

Test(closure, two_executed_facts_with_different_digests_are_contradicted)
{
	struct fixture f;
	closed_case(&f);
	struct proof_fact *x = fact(&f, "executed", 3500);
	snprintf(x->digest, sizeof x->digest, "sha256:%064d", 9);
	decide(&f);
	run(&f);
	cr_assert_eq(f.out.state, CLOSURE_CONTRADICTED);
	int seen = 0;
	for (size_t i = 0; i < f.out.njoins; i++)
		if (f.out.joins[i].state == JOIN_CONTRADICTED) {
			cr_assert_eq(f.out.joins[i].plane, PLANE_WAREHOUSE);
			cr_assert_str_eq(f.out.joins[i].what, "digest of ev-1");
			seen++;
		}
	cr_assert_eq(seen, 1);
}

Test(closure, a_graph_naming_another_project_is_contradicted)
{
	struct fixture f;
	closed_case(&f);
	snprintf(f.triples[1].object, sizeof f.triples[1].object, "urn:fractalops:project:nexus");
	decide(&f);
	run(&f);
	cr_assert_eq(f.out.state, CLOSURE_CONTRADICTED);
	const struct closure_join *j = only_unmet(&f.out);
	cr_assert_eq(j->plane, PLANE_GRAPH);
	cr_assert_str_eq(j->expected, "urn:fractalops:project:atlas");
	cr_assert_str_eq(j->found, "urn:fractalops:project:nexus");
}

Test(closure, a_fact_naming_another_kind_is_contradicted)
{
	struct fixture f;
	closed_case(&f);
	snprintf(f.facts[0].kind, sizeof f.facts[0].kind, "other");
	decide(&f);
	run(&f);
	cr_assert_eq(f.out.state, CLOSURE_CONTRADICTED);
	const struct closure_join *j = only_unmet(&f.out);
	cr_assert_str_eq(j->what, "submitted fact: kind");
	cr_assert_str_eq(j->expected, "rotate-key");
	cr_assert_str_eq(j->found, "other");
}

Test(closure, triples_about_other_nodes_do_not_count)
{
	struct fixture f;
	closed_case(&f);
	snprintf(f.triples[0].subject, sizeof f.triples[0].subject, "urn:fractalops:proposal:p-x");
	decide(&f);
	run(&f);
	cr_assert_eq(f.out.state, CLOSURE_OPEN);
	cr_assert_eq(only_unmet(&f.out)->plane, PLANE_GRAPH);
}

Test(closure, an_unreadable_plane_leaves_it_open_and_says_why)
{
	struct fixture f;
	closed_case(&f);
	decide(&f);
	f.in.warehouse_ok = 0;
	f.in.warehouse_error = "the warehouse did not answer";
	run(&f);
	cr_assert_eq(f.out.state, CLOSURE_OPEN);
	const struct closure_join *j = only_unmet(&f.out);
	cr_assert_eq(j->plane, PLANE_WAREHOUSE);
	cr_assert_eq(j->state, JOIN_UNREACHABLE);
	cr_assert(strstr(j->what, "the warehouse did not answer"), "%s", j->what);
}

Test(closure, contradicted_wins_over_open)
{
	struct fixture f;
	closed_case(&f);
	snprintf(f.evidence[0].digest, sizeof f.evidence[0].digest, "sha256:%064d", 2);
	f.ntriples = 0;
	decide(&f);
	run(&f);
	cr_assert_eq(f.out.state, CLOSURE_CONTRADICTED);
}

Test(closure, a_rule_asks_only_for_what_it_names)
{
	struct fixture f;
	closed_case(&f);
	f.ntriples = 0;
	f.nevidence = 0;
	f.rule.graph = 0;
	f.rule.evidence = 0;
	decide(&f);
	run(&f);
	cr_assert_eq(f.out.state, CLOSURE_CLOSED);
	cr_assert_eq(f.out.njoins, 3);
}

Test(closure, the_same_answers_give_the_same_closure)
{
	struct fixture f;
	closed_case(&f);
	f.nevidence = 0;
	decide(&f);
	struct closure a, b;
	closure_decide(&f.rule, &f.in, &a);
	closure_decide(&f.rule, &f.in, &b);
	cr_assert_eq(memcmp(&a, &b, sizeof a), 0);
}

Test(closure, names_are_stable)
{
	cr_assert_str_eq(closure_state_name(CLOSURE_CLOSED), "closed");
	cr_assert_str_eq(closure_state_name(CLOSURE_OPEN), "open");
	cr_assert_str_eq(closure_state_name(CLOSURE_CONTRADICTED), "contradicted");
	cr_assert_str_eq(proof_plane_name(PLANE_EVIDENCE), "evidence");
	cr_assert_str_eq(join_state_name(JOIN_UNREACHABLE), "unreachable");
	char iri[128];
	closure_node("p-1", iri, sizeof iri);
	cr_assert_str_eq(iri, "urn:fractalops:proposal:p-1");
}

Test(closure, a_stall_names_its_plane_and_reads_back_while_other_errors_do_not)
{
	char text[256];
	closure_stall_format(PLANE_WAREHOUSE, "the warehouse did not answer", text, sizeof text);
	cr_assert_str_eq(text, "warehouse plane: the warehouse did not answer");
	const char *why = NULL;
	cr_assert_eq(closure_stall_plane(text, &why), PLANE_WAREHOUSE);
	cr_assert_str_eq(why, "the warehouse did not answer");
	closure_stall_format(PLANE_EVIDENCE, "", text, sizeof text);
	cr_assert_eq(closure_stall_plane(text, NULL), PLANE_EVIDENCE);
	cr_assert_eq(closure_stall_plane("exit status 3", NULL), -1, "an attempt's error is no stall");
	cr_assert_eq(closure_stall_plane("graph planet: x", NULL), -1);
	cr_assert_eq(closure_stall_plane("", NULL), -1);
	cr_assert_eq(closure_stall_plane(NULL, NULL), -1);
}
