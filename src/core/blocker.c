/* blocker: class names and statuses, a project's needs from its contract,
 * and the derivation of its stage. See blocker.h for the rules. */
#include "core/blocker.h"

#include <stdio.h>
#include <string.h>

static const char *const names[BLOCKER_CLASS_COUNT] = {
	[BLOCKER_NONE] = "none",
	[BLOCKER_AUTH] = "auth",
	[BLOCKER_CONTRACT] = "contract",
	[BLOCKER_DEPENDENCY] = "dependency",
	[BLOCKER_PRODUCT] = "product",
};

const char *blocker_class_name(enum blocker_class c)
{
	return (unsigned)c < BLOCKER_CLASS_COUNT ? names[c] : NULL;
}

int blocker_class_parse(const char *s)
{
	for (int i = 0; s && i < BLOCKER_CLASS_COUNT; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

int blocker_http_status(enum blocker_class c, enum blocker_cause cause)
{
	switch (c) {
	case BLOCKER_AUTH:
		return cause == BLOCKER_CAUSE_FORBIDDEN ? 403 : 401;
	case BLOCKER_CONTRACT:
		return cause == BLOCKER_CAUSE_CONFLICT ? 409 : 424;
	case BLOCKER_DEPENDENCY:
		return 503;
	case BLOCKER_PRODUCT:
		return cause == BLOCKER_CAUSE_NOT_FOUND	    ? 404
		       : cause == BLOCKER_CAUSE_NOT_ALLOWED ? 405
		       : cause == BLOCKER_CAUSE_INPUT	    ? 400
							    : 500;
	default:
		return 200;
	}
}

enum blocker_class blocker_class_of_status(int status, enum blocker_cause *out)
{
	enum blocker_cause cause = BLOCKER_CAUSE_DEFAULT;
	enum blocker_class c = BLOCKER_NONE;
	switch (status) {
	case 401: c = BLOCKER_AUTH; cause = BLOCKER_CAUSE_SIGNED_OUT; break;
	case 403: c = BLOCKER_AUTH; cause = BLOCKER_CAUSE_FORBIDDEN; break;
	case 409: c = BLOCKER_CONTRACT; cause = BLOCKER_CAUSE_CONFLICT; break;
	case 424: c = BLOCKER_CONTRACT; cause = BLOCKER_CAUSE_UNMET; break;
	case 503: c = BLOCKER_DEPENDENCY; break;
	case 404: c = BLOCKER_PRODUCT; cause = BLOCKER_CAUSE_NOT_FOUND; break;
	case 405: c = BLOCKER_PRODUCT; cause = BLOCKER_CAUSE_NOT_ALLOWED; break;
	case 500: c = BLOCKER_PRODUCT; break;
	default: break;
	}
	if (out)
		*out = cause;
	return c;
}

static void add_secret(struct blocker_needs *out, const char *name, const char *component)
{
	if (!name[0] || out->nsecrets >= BLOCKER_MAX_SECRETS)
		return;
	for (size_t i = 0; i < out->nsecrets; i++)
		if (strcmp(out->secrets[i].name, name) == 0)
			return;
	struct blocker_secret *s = &out->secrets[out->nsecrets++];
	snprintf(s->name, sizeof s->name, "%s", name);
	snprintf(s->component, sizeof s->component, "%s", component);
}

void blocker_needs_of(const struct catalogue *cat, const struct project_contract *pc,
		      struct blocker_needs *out)
{
	memset(out, 0, sizeof *out);
	if (!pc)
		return;
	for (size_t i = 0; i < pc->ncomponents && i < PROJECT_MAX_NEEDS; i++) {
		struct blocker_component *bc = &out->components[out->ncomponents++];
		snprintf(bc->name, sizeof bc->name, "%s", pc->components[i]);
		const struct component_contract *cc = catalogue_find(cat, pc->components[i]);
		bc->declared = cc != NULL;
		bc->owned = cc && cc->ownership == OWNERSHIP_OWNED;
	}
	for (size_t i = 0; i < pc->nsecrets && i < PROJECT_MAX_NEEDS; i++)
		add_secret(out, pc->secrets[i], "");
	for (size_t i = 0; i < out->ncomponents; i++) {
		const struct component_contract *cc = catalogue_find(cat, out->components[i].name);
		if (cc && cc->auth != CONTRACT_AUTH_NONE)
			add_secret(out, cc->auth_secret, cc->name);
	}
}

/* "is missing", "is not declared in the configuration", … */
static const char *state_phrase(const char *state, char *tmp, size_t cap)
{
	if (!state[0] || strcmp(state, "unchecked") == 0)
		return "has not been checked yet";
	if (strcmp(state, "undeclared") == 0)
		return "is not declared in the configuration";
	snprintf(tmp, cap, "is %s", state);
	return tmp;
}

static void more(char *why, size_t cap, size_t extra, const char *what)
{
	size_t n = strlen(why);
	if (extra)
		snprintf(why + n, cap - n, " (and %zu more %s%s)", extra, what,
			 extra == 1 ? "" : "s");
}

/* Rule 1: the first unmet contract, and how many there are in all. */
static size_t contract_rule(const struct blocker_needs *nd, struct blocker_verdict *out)
{
	size_t unmet = 0;
	char tmp[BLOCKER_STATE_MAX + 8];
	for (size_t i = 0; i < nd->ncomponents; i++) {
		const struct blocker_component *bc = &nd->components[i];
		if (bc->declared)
			continue;
		if (!unmet++) {
			snprintf(out->why, sizeof out->why,
				 "component %s is not declared in the configuration", bc->name);
			snprintf(out->gist, sizeof out->gist,
				 "a component it launches on is not declared");
		}
	}
	for (size_t i = 0; i < nd->nsecrets; i++) {
		const struct blocker_secret *s = &nd->secrets[i];
		/* A component's own credential is Portal's, for probing it: its
		 * absence shows in validation and on /substrate, not as the
		 * project's blocker. */
		if (s->component[0] || strcmp(s->state, "present") == 0)
			continue;
		if (!unmet++) {
			const char *ph = state_phrase(s->state, tmp, sizeof tmp);
			if (s->component[0])
				snprintf(out->why, sizeof out->why, "secret %s for %s %s", s->name,
					 s->component, ph);
			else
				snprintf(out->why, sizeof out->why, "secret %s %s", s->name, ph);
			snprintf(out->gist, sizeof out->gist, "a required secret is not present");
		}
	}
	more(out->why, sizeof out->why, unmet ? unmet - 1 : 0, "unmet contract");
	return unmet;
}

/* Rule 2: the first owned component that is down, and how many are. */
static size_t dependency_rule(const struct blocker_needs *nd, struct blocker_verdict *out)
{
	size_t down = 0;
	for (size_t i = 0; i < nd->ncomponents; i++) {
		const struct blocker_component *bc = &nd->components[i];
		if (!bc->owned || strcmp(bc->health, "down") != 0)
			continue;
		if (!down++) {
			snprintf(out->why, sizeof out->why, "owned component %s is down", bc->name);
			snprintf(out->gist, sizeof out->gist, "an owned component it runs on is down");
		}
	}
	more(out->why, sizeof out->why, down ? down - 1 : 0, "owned component down");
	return down;
}

static int stage_parse(const char *slug)
{
	for (int s = 0; slug && s < STAGE_COUNT; s++)
		if (strcmp(stage_info((enum stage)s)->slug, slug) == 0)
			return s;
	return -1;
}

void blocker_derive(const struct blocker_live *live, const struct blocker_needs *needs,
		    struct blocker_verdict *out)
{
	memset(out, 0, sizeof *out);
	if (needs && contract_rule(needs, out)) {
		out->stage = STAGE_RECOVERY;
		out->blocker = BLOCKER_CONTRACT;
		return;
	}
	if (needs && dependency_rule(needs, out)) {
		out->stage = STAGE_RECOVERY;
		out->blocker = BLOCKER_DEPENDENCY;
		return;
	}
	if (!live) {
		out->stage = STAGE_ONBOARDING;
		if (needs && needs->ncomponents)
			snprintf(out->why, sizeof out->why,
				 "no events yet: launch the first session on %s",
				 needs->components[0].name);
		else
			snprintf(out->why, sizeof out->why, "no events yet: launch the first session");
		snprintf(out->gist, sizeof out->gist, "no events yet: launch the first session");
		return;
	}
	int st = stage_parse(live->stage);
	if (st < 0) {
		/* The projection and this binary disagree on the path: a real fault. */
		out->stage = STAGE_RECOVERY;
		out->blocker = BLOCKER_PRODUCT;
		snprintf(out->why, sizeof out->why, "the projection reports an unknown stage '%s'",
			 live->stage ? live->stage : "");
		snprintf(out->gist, sizeof out->gist, "the projection reports an unknown stage");
		return;
	}
	out->stage = (enum stage)st;
	/* The projection's needs are counts and fixed words only, so the gist
	 * may repeat them. */
	snprintf(out->why, sizeof out->why, "%s", live->needs ? live->needs : "");
	snprintf(out->gist, sizeof out->gist, "%s", out->why);
	if (out->stage != STAGE_RECOVERY)
		return;
	static const enum blocker_class order[] = {BLOCKER_CONTRACT, BLOCKER_DEPENDENCY,
						   BLOCKER_PRODUCT, BLOCKER_AUTH};
	out->blocker = BLOCKER_PRODUCT;
	for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
		if (live->blocked[order[i]] > 0) {
			out->blocker = order[i];
			break;
		}
}
