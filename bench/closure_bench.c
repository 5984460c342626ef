/* Proof closure at volume: N proposals recorded in the embedded planes
 * (5 triples, 3 facts and 1 evidence record each, as the worker writes
 * them), then the closure of every one read back from the three planes and
 * decided. Prints the time to decide all N and how many closed; with a
 * ClickHouse URL, also the time of one closure whose warehouse is that
 * server (facts recorded there first).
 * Usage: closure_bench DB [N] [clickhouse-url] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/closure.h"
#include "proof/prover.h"
#include "store/store.h"
#include "util/clock.h"

static void fill(struct store_proposal *p, long i)
{
	memset(p, 0, sizeof *p);
	snprintf(p->id, sizeof p->id, "p-%016lx", i);
	snprintf(p->project, sizeof p->project, "atlas");
	snprintf(p->kind, sizeof p->kind, "rotate-key");
	snprintf(p->proposer, sizeof p->proposer, "olga");
}

static void triple(struct proof_triple *t, const char *s, const char *p, const char *o)
{
	snprintf(t->subject, sizeof t->subject, "%s", s);
	snprintf(t->predicate, sizeof t->predicate, "%s", p);
	snprintf(t->object, sizeof t->object, "%s", o);
}

static int record(const struct prover_planes *pl, const struct store_proposal *p, long i)
{
	struct perr err = {0};
	char node[PROOF_IRI_MAX], art[PROOF_ID_MAX];
	closure_node(p->id, node, sizeof node);
	prover_artifact_id(p->id, art, sizeof art);
	struct proof_triple t[4];
	triple(&t[0], node, FO_RDF_TYPE, FO_PROPOSAL);
	triple(&t[1], node, FO_IN_PROJECT, "urn:fractalops:project:atlas");
	triple(&t[2], node, FO_OF_KIND, "urn:fractalops:kind:rotate-key");
	triple(&t[3], node, FO_PROPOSED_BY, "urn:fractalops:person:olga");
	if (pl->graph.ops->put(pl->graph.impl, p->project, t, 4, &err) < 0)
		goto fail;
	struct proof_evidence e = {0};
	snprintf(e.id, sizeof e.id, "%s", art);
	snprintf(e.proposal, sizeof e.proposal, "%s", p->id);
	snprintf(e.digest, sizeof e.digest, "sha256:%064lx", i);
	e.size = 42;
	snprintf(e.location, sizeof e.location, "inline");
	snprintf(e.producer, sizeof e.producer, "exec");
	if (pl->evidence.ops->put(pl->evidence.impl, &e, &err) < 0)
		goto fail;
	static const char *const ev[3] = {"submitted", "approved", "executed"};
	for (int k = 0; k < 3; k++) {
		struct proof_fact f = {0};
		snprintf(f.proposal, sizeof f.proposal, "%s", p->id);
		snprintf(f.project, sizeof f.project, "atlas");
		snprintf(f.kind, sizeof f.kind, "rotate-key");
		snprintf(f.event, sizeof f.event, "%s", ev[k]);
		snprintf(f.actor, sizeof f.actor, "olga");
		f.at = 1700000000000LL + i * 10 + k;
		if (k == 2) {
			snprintf(f.artifact, sizeof f.artifact, "%s", art);
			snprintf(f.digest, sizeof f.digest, "%s", e.digest);
		}
		if (pl->warehouse.ops->record(pl->warehouse.impl, &f, &err) < 0)
			goto fail;
	}
	return 0;
fail:
	fprintf(stderr, "closure_bench: recording failed: %s\n", err.msg);
	return -1;
}

/* Decides the closure of proposals [0, n); returns how many closed. */
static long decide_all(const struct prover_planes *pl, long n)
{
	struct closure_rule rule;
	closure_rule_default(&rule);
	struct closure *c = malloc(sizeof *c);
	long closed = 0;
	for (long i = 0; i < n; i++) {
		struct store_proposal p;
		fill(&p, i);
		prover_read(pl, &p, &rule, c);
		closed += c->state == CLOSURE_CLOSED;
	}
	free(c);
	return closed;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s DB [N] [clickhouse-url]\n", argv[0]);
		return 2;
	}
	long n = argc > 2 ? atol(argv[2]) : 10000;
	struct store *st = NULL;
	struct store_options opt = {.busy_timeout_ms = 5000};
	struct perr err = {0};
	int from, to;
	if (store_open(argv[1], &opt, &st, &err) < 0 || store_migrate(st, &from, &to, &err) < 0) {
		fprintf(stderr, "closure_bench: %s\n", err.msg);
		return 1;
	}
	struct prover_planes pl = {0};
	graph_embedded(st, &pl.graph);
	warehouse_embedded(st, &pl.warehouse);
	evidence_embedded(st, &pl.evidence);
	for (long i = 0; i < n; i++) {
		struct store_proposal p;
		fill(&p, i);
		if (record(&pl, &p, i) < 0)
			return 1;
	}
	long long d0 = clock_mono_us();
	long closed = decide_all(&pl, n);
	long long d1 = clock_mono_us();
	printf("embedded: %ld closures in %.1f ms (%.1f us each), %ld closed\n", n,
	       (d1 - d0) / 1000.0, (double)(d1 - d0) / (double)n, closed);

	if (argc > 3) {
		struct proof_remote r = {.url = argv[3], .timeout_ms = 5000};
		if (warehouse_clickhouse_open(&r, &pl.warehouse, &err) < 0) {
			fprintf(stderr, "closure_bench: %s\n", err.msg);
			return 1;
		}
		/* proposal 0's facts, now in ClickHouse */
		struct store_proposal p;
		fill(&p, 0);
		static const char *const ev[3] = {"submitted", "approved", "executed"};
		char art[PROOF_ID_MAX];
		prover_artifact_id(p.id, art, sizeof art);
		for (int k = 0; k < 3; k++) {
			struct proof_fact f = {0};
			snprintf(f.proposal, sizeof f.proposal, "%s", p.id);
			snprintf(f.project, sizeof f.project, "atlas");
			snprintf(f.kind, sizeof f.kind, "rotate-key");
			snprintf(f.event, sizeof f.event, "%s", ev[k]);
			snprintf(f.actor, sizeof f.actor, "olga");
			f.at = 1700000000000LL + k;
			if (k == 2) {
				snprintf(f.artifact, sizeof f.artifact, "%s", art);
				snprintf(f.digest, sizeof f.digest, "sha256:%064x", 0);
			}
			if (pl.warehouse.ops->record(pl.warehouse.impl, &f, &err) < 0) {
				fprintf(stderr, "closure_bench: %s\n", err.msg);
				return 1;
			}
		}
		long long c0 = clock_mono_us();
		long ok = decide_all(&pl, 1);
		long long c1 = clock_mono_us();
		printf("clickhouse warehouse: 1 closure in %.2f ms, %s\n", (c1 - c0) / 1000.0,
		       ok ? "closed" : "NOT closed");
		warehouse_close(&pl.warehouse);
	}
	store_close(st);
	return 0;
}
