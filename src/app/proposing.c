/* proposing: see proposing.h. */
#include "app/proposing.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "core/proposal.h"
#include "core/contract.h"
#include "core/role.h"
#include "http/http.h"
#include "http/offload.h"
#include "util/clock.h"

struct proposing_job *proposing_job_new(enum proposing_op op)
{
	struct proposing_job *j = calloc(1, sizeof *j);
	if (!j)
		abort();
	j->op = op;
	j->f_state = -1;
	return j;
}

void proposing_job_free(struct proposing_job *j)
{
	if (!j)
		return;
	json_decref(j->input);
	json_decref(j->proposal);
	json_decref(j->list);
	free(j);
}

static json_t *json_text_or_null(const char *text)
{
	if (!text || !*text)
		return json_null();
	json_t *v = json_loads(text, 0, NULL);
	return v ? v : json_null();
}

json_t *proposal_to_json(const struct store_proposal *p)
{
	char url[64];
	snprintf(url, sizeof url, "/proposals/%s", p->id);
	const char *state = proposal_state_name((enum proposal_state)p->state);
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:i,s:I,s:I,s:o,s:o,s:o,s:s}", "id", p->id,
			 "kind", p->kind, "project", p->project, "proposer", p->proposer, "state",
			 state ? state : "unknown", "input", json_text_or_null(p->input), "attempts",
			 p->attempts, "created_at", (json_int_t)p->created_at, "updated_at",
			 (json_int_t)p->updated_at, "last_error",
			 p->last_error[0] ? json_string(p->last_error) : json_null(), "evidence",
			 json_text_or_null(p->evidence), "closure", json_text_or_null(p->closure),
			 "url", url);
}

static void fail(struct proposing_job *j, int status, const char *code, const char *field,
		 const char *fmt, const char *arg)
{
	j->status = status;
	j->code = code;
	snprintf(j->field, sizeof j->field, "%s", field ? field : "");
	snprintf(j->message, sizeof j->message, fmt, arg);
}

static void store_failed(struct proposing_job *j, const struct perr *err)
{
	(void)err; /* the store's words may name files: they go to the log, not the client */
	fail(j, 503, "unavailable", "store", "%s", "the store did not answer; nothing changed, try again");
}

static int add_audit(void *arg, const struct store_audit *a)
{
	json_t *list = arg;
	char prev[65], hash[65];
	for (int i = 0; i < 32; i++) {
		snprintf(prev + 2 * i, 3, "%02x", a->prev[i]);
		snprintf(hash + 2 * i, 3, "%02x", a->hash[i]);
	}
	json_array_append_new(list, json_pack("{s:I,s:s,s:s,s:s,s:I,s:s,s:s,s:s}", "seq",
					      (json_int_t)a->seq, "from", a->from, "to", a->to,
					      "actor", a->actor, "at", (json_int_t)a->at, "reason",
					      a->reason, "prev", prev, "hash", hash));
	return 0;
}

/* Loads id with its audit trail into j->proposal; 0, or fills the error. */
static int load(struct proposing_job *j, struct store *st, struct store_proposal *p)
{
	struct perr err = {0};
	int rc = store_proposal_get(st, j->id, p, &err);
	if (rc == PERR_NOT_FOUND) {
		fail(j, 404, "not_found", "id", "no proposal %s", j->id);
		return -1;
	}
	if (rc < 0) {
		store_failed(j, &err);
		return -1;
	}
	json_t *audit = json_array();
	if (store_audit(st, j->id, add_audit, audit, &err) < 0) {
		json_decref(audit);
		store_proposal_clear(p);
		store_failed(j, &err);
		return -1;
	}
	json_decref(j->proposal);
	j->proposal = proposal_to_json(p);
	json_object_set_new(j->proposal, "audit", audit);
	return 0;
}

static void submit(struct proposing_job *j, struct store *st)
{
	struct store_proposal p = {0};
	snprintf(p.kind, sizeof p.kind, "%s", j->kind);
	snprintf(p.project, sizeof p.project, "%s", j->project);
	snprintf(p.proposer, sizeof p.proposer, "%s", j->actor);
	snprintf(p.idempotency_key, sizeof p.idempotency_key, "%s", j->idempotency_key);
	p.input = json_dumps(j->input, JSON_COMPACT | JSON_PRESERVE_ORDER);
	struct perr err = {0};
	int existed = 0;
	int rc = store_proposal_submit(st, &p, clock_wall_ms(), &existed, &err);
	if (rc < 0) {
		store_proposal_clear(&p);
		store_failed(j, &err);
		return;
	}
	j->replayed = existed;
	j->status = 202;
	snprintf(j->id, sizeof j->id, "%s", p.id);
	store_proposal_clear(&p);
	struct store_proposal q = {0};
	if (load(j, st, &q) == 0) {
		j->status = 202;
		store_proposal_clear(&q);
	}
}

static int add_listed(void *arg, const struct store_proposal *p)
{
	json_array_append_new(arg, proposal_to_json(p));
	return 0;
}

static void list(struct proposing_job *j, struct store *st)
{
	struct store_proposal_filter f = {
		.project = j->f_project[0] ? j->f_project : NULL,
		.kind = j->f_kind[0] ? j->f_kind : NULL,
		.state = j->f_state,
		.limit = 500,
	};
	j->list = json_array();
	struct perr err = {0};
	if (store_proposals(st, &f, add_listed, j->list, &err) < 0) {
		store_failed(j, &err);
		return;
	}
	j->status = 200;
}

/* Steps of the machine, all in one transaction; 0, or fills the error. */
static int walk(struct proposing_job *j, struct store *st, const struct store_step *steps,
		size_t n)
{
	struct perr err = {0};
	int rc = store_proposal_path(st, j->id, steps, n, clock_wall_ms(), &err);
	if (rc == PERR_CONFLICT || rc == PERR_INVALID) {
		j->status = 409;
		j->code = "illegal_transition";
		snprintf(j->field, sizeof j->field, "state");
		snprintf(j->message, sizeof j->message, "a %s proposal cannot become %s",
			 proposal_state_name((enum proposal_state)steps[0].from),
			 proposal_state_name((enum proposal_state)steps[0].to));
		return -1;
	}
	if (rc < 0) {
		store_failed(j, &err);
		return -1;
	}
	return 0;
}

/* One step of the machine as actor; 0, or fills the error. */
static int step(struct proposing_job *j, struct store *st, int from, int to, const char *actor,
		const char *reason)
{
	struct store_step one = {from, to, actor, reason};
	return walk(j, st, &one, 1);
}

/* Whether the loaded trail already holds actor's move to `to`: a decision
 * sent again (its answer lost, say, in a crash of the server) is answered
 * with the proposal as it stands, not as an illegal transition. */
static int decided_by(const struct proposing_job *j, const char *to, const char *actor)
{
	size_t i;
	json_t *row;
	json_array_foreach(json_object_get(j->proposal, "audit"), i, row) {
		const char *t = json_string_value(json_object_get(row, "to"));
		const char *a = json_string_value(json_object_get(row, "actor"));
		if (t && a && !strcmp(t, to) && !strcmp(a, actor))
			return 1;
	}
	return 0;
}

static void act(struct proposing_job *j, struct store *st, const struct config *cfg)
{
	struct store_proposal p = {0};
	if (load(j, st, &p) < 0)
		return;
	const struct proposal_kind *k = catalogue_kind(&cfg->catalogue, p.kind);
	int rc = -1;
	if (!k) {
		fail(j, 409, "contract", "kind",
		     "kind %s is no longer declared in the configuration: nothing can move it", p.kind);
	} else if (!strcmp(j->action, "approve") || !strcmp(j->action, "reject")) {
		int approve = !strcmp(j->action, "approve");
		if (!role_allows((enum role)j->role, (enum role)k->approve_role)) {
			fail(j, 403, "forbidden", NULL, "deciding this proposal needs the %s role",
			     role_name((enum role)k->approve_role));
		} else if (approve && !k->self_approval && !strcmp(p.proposer, j->actor)) {
			fail(j, 403, "separation_of_duties", NULL,
			     "%s proposed this; someone else must approve it", p.proposer);
		} else if (decided_by(j, approve ? "approved" : "rejected", j->actor)) {
			rc = 0;
		} else if (approve) {
			/* One transaction: a crash between the two would leave it
			 * approved, and nothing queues an approved proposal. */
			struct store_step path[] = {
				{PROPOSAL_SUBMITTED, PROPOSAL_APPROVED, j->actor, j->reason},
				{PROPOSAL_APPROVED, PROPOSAL_QUEUED, "portal",
				 "approved: queued for execution"},
			};
			rc = walk(j, st, path, 2);
		} else {
			rc = step(j, st, PROPOSAL_SUBMITTED, PROPOSAL_REJECTED, j->actor, j->reason);
		}
	} else { /* cancel */
		if (strcmp(p.proposer, j->actor) != 0 && !role_allows((enum role)j->role, ROLE_ADMIN))
			fail(j, 403, "forbidden", NULL, "only %s (who proposed it) or an admin may cancel it",
			     p.proposer);
		else if (decided_by(j, "cancelled", j->actor))
			rc = 0;
		else
			rc = step(j, st, p.state, PROPOSAL_CANCELLED, j->actor, j->reason);
	}
	store_proposal_clear(&p);
	if (rc == 0) {
		struct store_proposal q = {0};
		if (load(j, st, &q) == 0) {
			j->status = 200;
			store_proposal_clear(&q);
		}
	}
}

/* Whether kind k has an input field named `project`: that field is the
 * proposal's project, not a second one. */
static int kind_takes_project(const struct proposal_kind *k)
{
	for (size_t i = 0; i < k->nfields; i++)
		if (!strcmp(k->fields[i].name, "project"))
			return 1;
	return 0;
}

/* For a kind with a `project` field: the top-level project and
 * input.project must agree when both are given, and either alone fills the
 * other (*own is then a copy of the input holding it, which the caller
 * releases). A non-string input.project is left to proposal_validate. */
static int settle_project(const struct proposal_kind *k, const char **project,
			  const json_t **input, json_t **own, struct perr *err)
{
	if (!kind_takes_project(k) || !json_is_object(*input))
		return 0;
	json_t *v = json_object_get(*input, "project");
	const char *ip = json_string_value(v);
	const char *top = *project && **project ? *project : NULL;
	if (top && ip && strcmp(top, ip) != 0)
		return perr_set(err, PERR_INVALID, "input.project",
				"input.project and project name different projects: give one, "
				"or the same in both");
	if (!top && ip) {
		*project = ip;
	} else if (top && !v) {
		*own = json_deep_copy(*input);
		if (!*own)
			abort();
		json_object_set_new(*own, "project", json_string(top));
		*input = *own;
	}
	return 0;
}

size_t proposing_projects_named(const struct catalogue *cat, char *out, size_t cap)
{
	size_t n = cat->nprojects, shown = 0, at = 0;
	const char *lead = n == 1 ? "the declared project is " : "the declared projects are ";
	int w = snprintf(out, cap, "%s", lead);
	if (w < 0 || (size_t)w >= cap)
		return 0;
	at = (size_t)w;
	/* room kept for ", and 999 more" */
	for (; shown < n && shown < PROPOSING_PROJECTS_NAMED; shown++) {
		const char *name = cat->projects[shown].name;
		if (at + strlen(name) + 2 + 16 >= cap)
			break;
		w = snprintf(out + at, cap - at, "%s%s", shown ? ", " : "", name);
		at += (size_t)w;
	}
	if (shown < n)
		snprintf(out + at, cap - at, ", and %zu more", n - shown);
	return shown;
}

struct proposing_job *proposing_check_submit(struct http_ctx *c, const char *kind,
					     const char *project, const json_t *input,
					     const char *key, int *status, struct perr *err)
{
	*status = 400;
	const struct proposal_kind *k = kind ? catalogue_kind(&c->cfg->catalogue, kind) : NULL;
	if (!k) {
		perr_set(err, PERR_INVALID, "kind", "%s", kind && *kind ? "no proposal kind of that name is declared"
						     : "name the kind of proposal");
		return NULL;
	}
	json_t *own = NULL; /* input with the project filled in, when the kind takes one */
	if (settle_project(k, &project, &input, &own, err) < 0)
		return NULL;
	if (!project || !*project || !catalogue_project(&c->cfg->catalogue, project)) {
		char named[200];
		proposing_projects_named(&c->cfg->catalogue, named, sizeof named);
		if (!c->cfg->catalogue.nprojects)
			perr_set(err, PERR_INVALID, "project",
				 "no project is declared in portal.yaml (projects:): declare one "
				 "before proposing");
		else
			perr_set(err, PERR_INVALID, "project", "%s: %s",
				 project && *project ? "that project is not declared in portal.yaml"
						     : "name the project",
				 named);
		json_decref(own);
		return NULL;
	}
	if (!role_allows((enum role)c->who.role, (enum role)k->propose_role)) {
		*status = 403;
		perr_set(err, PERR_INVALID, NULL, "proposing %s needs the %s role", k->name,
			 role_name((enum role)k->propose_role));
		json_decref(own);
		return NULL;
	}
	if (key && (!*key || strlen(key) >= sizeof ((struct proposing_job *)0)->idempotency_key ||
		    !http_request_id_valid(key))) {
		perr_set(err, PERR_INVALID, "Idempotency-Key",
			 "an idempotency key is 1-64 characters of A-Z, a-z, 0-9, '.', '_' and '-'");
		json_decref(own);
		return NULL;
	}
	json_t *valid = NULL;
	int bad = proposal_validate(k, input, &valid, err) < 0;
	json_decref(own);
	if (bad)
		return NULL;
	struct proposing_job *j = proposing_job_new(PROPOSING_SUBMIT);
	snprintf(j->actor, sizeof j->actor, "%s", c->who.user);
	j->role = c->who.role;
	snprintf(j->kind, sizeof j->kind, "%s", k->name);
	snprintf(j->project, sizeof j->project, "%s", project);
	snprintf(j->idempotency_key, sizeof j->idempotency_key, "%s", key ? key : "");
	j->input = valid;
	return j;
}

struct running {
	struct proposing_job *j;
	struct app *app;
	const struct config *cfg;
};

static void work(void *arg)
{
	struct running *r = arg;
	struct store *st = r->app->store;
	switch (r->j->op) {
	case PROPOSING_SUBMIT: submit(r->j, st); break;
	case PROPOSING_LIST: list(r->j, st); break;
	case PROPOSING_GET: {
		struct store_proposal p = {0};
		if (load(r->j, st, &p) == 0) {
			r->j->status = 200;
			store_proposal_clear(&p);
		}
		break;
	}
	case PROPOSING_ACT: act(r->j, st, r->cfg); break;
	}
}

static void done(struct http_ctx *c, void *arg)
{
	struct running *r = arg;
	struct proposing_job *j = r->j;
	free(r);
	j->done(c, j);
}

void proposing_run(struct http_ctx *c, struct proposing_job *j)
{
	struct running *r = calloc(1, sizeof *r);
	if (!r)
		abort();
	r->j = j;
	r->app = c->app;
	r->cfg = c->cfg; /* held by the request until it is answered */
	offload_submit(c->app->jobs, http_defer(c), work, done, r);
}
