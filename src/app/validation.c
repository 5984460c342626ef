/* validation: the one judgement of a configuration's secrets that `portal
 * check` prints and the pages show, so the two cannot disagree. Pure over
 * resolved statuses; resolving (file reads, vault requests) is the caller's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/secrets.h"
#include "app/app.h"
#include "app/validation.h"
#include "config/config.h"

/* Who besides components and the vault names secret `name`: a proposal
 * kind's executor, the store, a proof plane or DataHub. Appends to buf. */
static void named_by_settings(const struct config *cfg, const char *name, char *buf, size_t cap)
{
	const struct {
		const char *key, *value;
	} refs[] = {
		{"store.password_secret", cfg->db_password_secret},
		{"proof.graph_secret", cfg->proof_graph_secret},
		{"proof.warehouse_secret", cfg->proof_warehouse_secret},
		{"proof.evidence_secret", cfg->proof_evidence_secret},
		{"lineage.datahub_secret", cfg->datahub_secret},
	};
	size_t len = strlen(buf);
	for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++)
		if (!strcmp(refs[i].value, name))
			len += (size_t)snprintf(buf + len, len < cap ? cap - len : 0, "%s%s",
						len ? ", " : "", refs[i].key);
	for (size_t k = 0; k < cfg->catalogue.nkinds; k++)
		if (!strcmp(cfg->catalogue.kinds[k].secret, name))
			len += (size_t)snprintf(buf + len, len < cap ? cap - len : 0,
						"%sproposal kind %s", len ? ", " : "",
						cfg->catalogue.kinds[k].name);
}

void validation_judge(const struct config *cfg, const struct secret_status *sts, size_t n,
		      struct validation *out)
{
	memset(out, 0, sizeof *out);
	out->items = calloc(n + 1, sizeof *out->items);
	if (!out->items)
		abort();
	for (size_t i = 0; i < n; i++) {
		const struct secret_status *st = &sts[i];
		if (st->state == SECRET_PRESENT)
			continue;
		struct validation_item *it = &out->items[out->nitems++];
		snprintf(it->secret, sizeof it->secret, "%s", st->name);
		snprintf(it->state, sizeof it->state, "%s", secret_state_name(st->state));
		snprintf(it->detail, sizeof it->detail, "%s", st->detail);
		snprintf(it->needed_by, sizeof it->needed_by, "%s", st->needed_by);
		named_by_settings(cfg, st->name, it->needed_by, sizeof it->needed_by);
		out->problems += it->needed_by[0] != 0;
	}
}

void validation_of_app(struct app *a, const struct config *cfg, struct validation *out)
{
	pthread_mutex_lock(&a->lock);
	size_t n = a->nsecrets;
	struct secret_status *copy = malloc((n + 1) * sizeof *copy);
	if (!copy)
		abort();
	if (n)
		memcpy(copy, a->secrets, n * sizeof *copy);
	int unresolved = !a->secrets && cfg->catalogue.nsecrets;
	pthread_mutex_unlock(&a->lock);
	validation_judge(cfg, copy, n, out);
	out->unresolved = unresolved;
	free(copy);
}

void validation_free(struct validation *v)
{
	free(v->items);
	memset(v, 0, sizeof *v);
}

void validation_item_line(const struct validation_item *it, struct buf *b)
{
	buf_printf(b, "secret %s: %s (%s); %s%s", it->secret, it->state, it->detail,
		   it->needed_by[0] ? "needed by " : "not needed by anything", it->needed_by);
}

void validation_summary_line(const struct validation *v, struct buf *b)
{
	buf_printf(b, "portal check: %zu needed secret%s missing or unreadable", v->problems,
		   v->problems == 1 ? "" : "s");
}

int validation_concerns(const struct config *cfg, const struct validation_item *it,
			const struct project_contract *pc)
{
	for (size_t i = 0; i < pc->nsecrets; i++)
		if (!strcmp(pc->secrets[i], it->secret))
			return 1;
	for (size_t i = 0; i < pc->ncomponents; i++) {
		const struct component_contract *cc = catalogue_find(&cfg->catalogue, pc->components[i]);
		if (cc && cc->auth != CONTRACT_AUTH_NONE && !strcmp(cc->auth_secret, it->secret))
			return 1;
	}
	return 0;
}
