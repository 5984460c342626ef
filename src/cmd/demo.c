/* demo: `portal demo` — migrates the store, appends the demo data set
 * (demo_data.c) through the same validation producers go through, and makes
 * the demo proposals through the store's proposal rules (with their audit
 * rows, live events and proof records), so the operator view has something
 * real-looking to show and every proposal it names can be opened. Ids and
 * idempotency keys are fixed, so a second run stores nothing new. It never
 * deletes or rewrites anything. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/demo.h"
#include "core/proposal.h"
#include "exec/executor.h"
#include "proof/proof.h"
#include "proof/prover.h"
#include "store/store.h"
#include "util/clock.h"

#define MIN 60000LL

/* --- the proposals ---------------------------------------------------------- */

/* One demo proposal: who proposed what, when, and the state it is left in.
 * The kinds are those config/portal.example.yaml declares. */
struct demo_proposal {
	const char *key, *kind, *project, *proposer, *input;
	int ago_min;             /* submitted this many minutes before the base */
	enum proposal_state end; /* where it is left */
	const char *why;         /* the decision's reason, or the attempt's error */
};

#define ROTATE(project, key) \
	"{\"project\":\"" project "\",\"key_name\":\"" key "\",\"ttl_days\":30,\"dry_run\":false}"
#define WORKFLOW(project, reason) "{\"project\":\"" project "\",\"reason\":\"" reason "\"}"

/* In the order they are made: the worker's steps take the oldest queued
 * proposal, so each leased one is made alone, and the one whose lease ran
 * out comes after every other lease (a lease would take it over). */
static const struct demo_proposal demo_props[] = {
	{"demo-proven", "rotate-deploy-key", "atlas", "maria.k", ROTATE("atlas", "deploy"), 110,
	 PROPOSAL_PROVEN, "the deploy key is 80 days old"},
	{"demo-proving", "rotate-deploy-key", "chronicle", "ouroboros", ROTATE("chronicle", "ci"),
	 70, PROPOSAL_PROVING, "CI key shared with a retired runner"},
	{"demo-executed", "rotate-deploy-key", "fractalops", "priya.s",
	 ROTATE("fractalops", "deploy"), 40, PROPOSAL_EXECUTED, "quarterly rotation"},
	{"demo-failed", "rotate-deploy-key", "nexus-sync", "priya.s", ROTATE("nexus-sync", "ci"),
	 95, PROPOSAL_FAILED, "exit status 1: the Nexus API refused the new key (403)"},
	{"demo-queued", "rotate-deploy-key", "nexus-sync", "priya.s",
	 ROTATE("nexus-sync", "deploy"), 30, PROPOSAL_QUEUED,
	 "exit status 1: the Nexus API timed out after 30 s"},
	{"demo-running", "rotate-deploy-key", "atlas", "maria.k", ROTATE("atlas", "ci"), 25,
	 PROPOSAL_RUNNING, ""},
	{"demo-approved", "run-workflow", "fractalops", "maria.k",
	 WORKFLOW("fractalops", "reindex the audit projections after the schema change"), 20,
	 PROPOSAL_APPROVED, "fine once the nightly backup has run"},
	{"demo-submitted", "run-workflow", "penpot-bridge", "aiko.t",
	 WORKFLOW("penpot-bridge", "re-export the design tokens for the new palette"), 12,
	 PROPOSAL_SUBMITTED, ""},
	{"demo-rejected", "run-workflow", "fractalops", "ouroboros",
	 WORKFLOW("fractalops", "restart the temporal history service to clear latency"), 80,
	 PROPOSAL_REJECTED, "the latency is upstream; a restart would drop running workflows"},
	{"demo-cancelled", "rotate-deploy-key", "chronicle", "devon.r",
	 ROTATE("chronicle", "deploy"), 50, PROPOSAL_CANCELLED, "opened against the wrong project"},
};

#define DEMO_APPROVER "devon.r"
#define DEMO_WORKER "worker-1"

/* Leases the proposal id as the demo worker would, at `at`, for
 * visibility_ms. PERR_CONFLICT when the queue handed out another one (a
 * database with proposals of its own): that one is given back. */
static int lease(struct store *st, const char *id, long long at, long long visibility_ms,
		 struct perr *err)
{
	struct store_proposal got = {0};
	int rc = store_proposal_lease(st, DEMO_WORKER, at, visibility_ms, &got, err);
	if (rc < 0)
		return rc;
	if (rc == 0)
		return perr_set(err, PERR_CONFLICT, "queue", "proposal %s was not due", id);
	int mine = strcmp(got.id, id) == 0;
	if (!mine)
		store_proposal_release(st, got.id, DEMO_WORKER, at, err);
	store_proposal_clear(&got);
	return mine ? 0
		    : perr_set(err, PERR_CONFLICT, "queue",
			       "the queue holds proposals older than the demo's; load the demo "
			       "into an empty database");
}

/* Finishes id's attempt with what /bin/echo prints for the kind's argv. */
static int execute(struct store *st, const struct demo_proposal *d, const char *id, long long at,
		   struct perr *err)
{
	json_t *in = json_loads(d->input, 0, NULL);
	char out[160];
	snprintf(out, sizeof out, "rotating %s %s\n",
		 json_string_value(json_object_get(in, "project")),
		 json_string_value(json_object_get(in, "key_name")));
	json_decref(in);
	json_t *ev = exec_evidence("exec", (const unsigned char *)out, strlen(out), 0);
	char *text = json_dumps(ev, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(ev);
	if (!text)
		abort();
	int rc = store_proposal_finish(st, id, DEMO_WORKER, 1, text, NULL, at, 0, err);
	free(text);
	return rc;
}

/* Walks one new proposal from submitted to d->end, starting at t. */
static int walk(struct store *st, const struct prover_planes *pl, const struct demo_proposal *d,
		const char *id, long long t, struct perr *err)
{
	const char *actor = "worker:" DEMO_WORKER;
	switch (d->end) {
	case PROPOSAL_SUBMITTED:
		return 0;
	case PROPOSAL_REJECTED:
		return store_proposal_transition(st, id, PROPOSAL_SUBMITTED, PROPOSAL_REJECTED,
						 DEMO_APPROVER, d->why, t + 4 * MIN, err);
	case PROPOSAL_CANCELLED:
		return store_proposal_transition(st, id, PROPOSAL_SUBMITTED, PROPOSAL_CANCELLED,
						 d->proposer, d->why, t + 3 * MIN, err);
	case PROPOSAL_APPROVED:
		/* Approval in the server queues in the same transaction; the demo
		 * leaves one approved and not queued, the state a proposal would
		 * keep if it were approved by hand through the store. Cancelling it
		 * is the only way on. */
		return store_proposal_transition(st, id, PROPOSAL_SUBMITTED, PROPOSAL_APPROVED,
						 DEMO_APPROVER, d->why, t + 5 * MIN, err);
	default:
		break;
	}
	struct store_step path[] = {
		{PROPOSAL_SUBMITTED, PROPOSAL_APPROVED, DEMO_APPROVER, d->why},
		{PROPOSAL_APPROVED, PROPOSAL_QUEUED, "portal", "approved: queued for execution"},
	};
	int rc = store_proposal_path(st, id, path, 2, t + 6 * MIN, err);
	if (rc == 0 && d->end == PROPOSAL_RUNNING)
		/* A lease that ran out ten minutes ago: its worker is gone, and
		 * the next worker to look takes it over and runs it. */
		return lease(st, id, t + 7 * MIN, 8 * MIN, err);
	if (rc == 0)
		rc = lease(st, id, t + 7 * MIN, 5 * MIN, err);
	if (rc < 0)
		return rc;
	if (d->end == PROPOSAL_FAILED || d->end == PROPOSAL_QUEUED)
		/* Failed: the dead letter. Queued: retried an hour after now. */
		return store_proposal_finish(st, id, DEMO_WORKER, 0, NULL, d->why, t + 8 * MIN,
					     d->end == PROPOSAL_QUEUED ? t + d->ago_min * MIN + 60 * MIN
								      : 0,
					     err);
	rc = execute(st, d, id, t + 8 * MIN, err);
	if (rc < 0 || d->end == PROPOSAL_EXECUTED)
		return rc;
	if (d->end == PROPOSAL_PROVEN) {
		/* The prover's own pass: recorded, closure decided, proven. */
		rc = prover_pass(st, pl, actor, t + 9 * MIN, 0, NULL, err);
		return rc < 0 ? rc : 0;
	}
	/* Proving: recorded in the planes; the closure is decided at the
	 * prover's next pass (a running worker's, within a second). */
	struct store_proposal p = {0};
	rc = store_proposal_get(st, id, &p, err);
	if (rc == 0)
		rc = prover_record(st, pl, &p, err);
	store_proposal_clear(&p);
	if (rc == 0)
		rc = store_proposal_transition(st, id, PROPOSAL_EXECUTED, PROPOSAL_PROVING, actor,
					       "recorded in the proof planes", t + 9 * MIN, err);
	return rc;
}

int demo_proposals(struct store *st, long long base_ms, int *made, struct perr *err)
{
	struct prover_planes pl = {0};
	graph_embedded(st, &pl.graph);
	warehouse_embedded(st, &pl.warehouse);
	evidence_embedded(st, &pl.evidence);
	*made = 0;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < sizeof demo_props / sizeof demo_props[0]; i++) {
		const struct demo_proposal *d = &demo_props[i];
		struct store_proposal p = {0};
		snprintf(p.kind, sizeof p.kind, "%s", d->kind);
		snprintf(p.project, sizeof p.project, "%s", d->project);
		snprintf(p.proposer, sizeof p.proposer, "%s", d->proposer);
		snprintf(p.idempotency_key, sizeof p.idempotency_key, "%s", d->key);
		p.input = strdup(d->input);
		if (!p.input)
			abort();
		long long t = base_ms - d->ago_min * MIN;
		int existed = 0;
		rc = store_proposal_submit(st, &p, t, &existed, err);
		if (rc == 0 && !existed) {
			(*made)++;
			rc = walk(st, &pl, d, p.id, t, err);
		}
		store_proposal_clear(&p);
	}
	graph_close(&pl.graph);
	warehouse_close(&pl.warehouse);
	evidence_close(&pl.evidence);
	return rc;
}

/* --- the command -------------------------------------------------------------- */

static const char *const demo_switches[] = {"if-empty", NULL};

static const struct cmd_spec demo_spec = {
	"demo",
	"Migrate the database, then append a realistic demo data set: about two hours of\n"
	"sessions across five projects, Ouroboros cycles and runtime health, timed up to\n"
	"now, and ten proposals of the example configuration's kinds, one in every state,\n"
	"made through the store with their audit trail and proof records. The events have\n"
	"fixed ids and the proposals fixed idempotency keys, so running it again adds\n"
	"nothing. --if-empty loads nothing when the event log already holds events.",
	CONFIG_CMD_DEMO,
	demo_switches,
	NULL,
};

static int count_event(void *arg, const struct event *ev)
{
	(*(long long *)arg)++;
	return 0;
}

/* Distinct values of key over the events. */
static size_t distinct(const struct event *evs, size_t n, int sessions)
{
	json_t *seen = json_object();
	for (size_t i = 0; i < n; i++) {
		const char *k = sessions ? evs[i].session : evs[i].project;
		if (k)
			json_object_set_new(seen, k, json_true());
	}
	size_t count = json_object_size(seen);
	json_decref(seen);
	return count;
}

/* Validates and appends the data set. Returns 0, or 1 after saying why. */
static int load(struct store *store, const char *db)
{
	long long base = clock_wall_ms() / 60000 * 60000;
	json_t **objs = NULL;
	size_t n = demo_events(base, &objs);
	struct event *evs = calloc(n ? n : 1, sizeof *evs);
	long long *seqs = calloc(n ? n : 1, sizeof *seqs);
	int *fresh = calloc(n ? n : 1, sizeof *fresh);
	if (!evs || !seqs || !fresh)
		abort();
	int status = 0;
	size_t valid = 0;
	struct perr err;
	perr_clear(&err);
	for (; valid < n; valid++) {
		if (event_from_json(objs[valid], base, "demo", &evs[valid], &err) < 0) {
			/* A bug in demo_data.c, not the user's doing. */
			fprintf(stderr, "portal demo: demo event %zu is invalid: %s: %s\n", valid + 1,
				err.field, err.msg);
			status = 1;
			break;
		}
	}
	if (status == 0) {
		struct store_batch batch = {evs, n, seqs, fresh, 0, {0}};
		struct store_batch *bp = &batch;
		if (store_append(store, &bp, 1, &err) < 0) {
			fprintf(stderr, "portal demo: %s\n", err.msg);
			status = 1;
		} else if (batch.rc < 0) {
			fprintf(stderr, "portal demo: %s\n", batch.err.msg);
			status = 1;
		}
	}
	if (status == 0) {
		size_t stored = 0;
		for (size_t i = 0; i < n; i++)
			stored += fresh[i] != 0;
		size_t projects = distinct(evs, n, 0), nsessions = distinct(evs, n, 1);
		if (stored == n)
			printf("%s: loaded %zu demo events (%zu projects, %zu sessions)\n", db, n,
			       projects, nsessions);
		else if (stored == 0)
			printf("%s: demo already loaded (all %zu demo events were there); nothing "
			       "added\n",
			       db, n);
		else
			printf("%s: loaded %zu demo events, %zu were already there (%zu projects, "
			       "%zu sessions)\n",
			       db, stored, n - stored, projects, nsessions);
	}
	for (size_t i = 0; i < valid; i++)
		event_release(&evs[i]);
	for (size_t i = 0; i < n; i++)
		json_decref(objs[i]);
	free(objs);
	free(evs);
	free(seqs);
	free(fresh);
	return status;
}

int cmd_demo(int argc, char **argv)
{
	struct cmd_args args;
	struct config cfg;
	int rc0 = cmd_begin(&demo_spec, argc, argv, &args, &cfg);
	if (rc0 >= 0)
		return rc0;
	log_set_level(cfg.log_level);

	struct store *store = NULL;
	if (cmd_open_store("demo", &cfg, &store) != 0)
		return 1;
	int status = 0;
	char label[160];
	store_url_label(cfg.db, label, sizeof label);
	if (cmd_switch(&args, "if-empty")) {
		struct perr err;
		perr_clear(&err);
		long long seen = 0;
		if (store_scan(store, 0, 1, count_event, &seen, &err) < 0) {
			fprintf(stderr, "portal demo: %s\n", err.msg);
			status = 1;
		} else if (seen > 0) {
			printf("%s: the event log already has events; demo not loaded\n", label);
			store_close(store);
			return 0;
		}
	}
	if (status == 0)
		status = load(store, label);
	if (status == 0) {
		struct perr err;
		perr_clear(&err);
		int made = 0;
		if (demo_proposals(store, clock_wall_ms() / 60000 * 60000, &made, &err) < 0) {
			fprintf(stderr, "portal demo: the demo proposals: %s\n", err.msg);
			status = 1;
		} else if (made > 0) {
			printf("%s: made %d demo proposals, one in every state\n", label, made);
		}
	}
	store_close(store);
	return status;
}
