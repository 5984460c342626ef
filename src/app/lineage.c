/* lineage: see lineage.h. */
#include "app/lineage.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adapters/datahub.h"
#include "adapters/secrets.h"
#include "config/config.h"
#include "core/proposal.h"
#include "http/offload.h"

extern char **environ;

int lineage_configured(const struct config *cfg)
{
	return cfg->datahub_component[0] != '\0';
}

json_t *lineage_datasets(const struct config *cfg, const char *kind, const json_t *input)
{
	json_t *out = json_array();
	const struct proposal_kind *k = catalogue_kind(&cfg->catalogue, kind);
	for (size_t i = 0; k && i < k->nfields && json_array_size(out) < LINEAGE_MAX_DATASETS;
	     i++) {
		if (k->fields[i].type != PFIELD_DATASET)
			continue;
		const char *urn = json_string_value(json_object_get(input, k->fields[i].name));
		if (urn && *urn)
			json_array_append_new(out, json_string(urn));
	}
	return out;
}

struct fetch {
	const struct config *cfg; /* held by the request until it is answered */
	json_t *datasets;
	json_t *panel;
	void (*done)(struct http_ctx *c, json_t *panel, void *arg);
	void *arg;
};

static json_t *unavailable(const char *msg)
{
	return json_pack("{s:s,s:s}", "state", "unavailable", "message", msg);
}

static void link_of(const struct public_url *pub, const char *type, const char *urn,
		    json_t *into)
{
	char link[2048];
	if (pub && pub->s[0] && datahub_entity_link(pub, type, urn, link, sizeof link) == 0)
		json_object_set_new(into, "link", json_string(link));
	else
		json_object_set_new(into, "link", json_null());
}

static json_t *direction(struct datahub *d, const struct public_url *pub, const char *urn,
			 enum datahub_direction dir, struct perr *err)
{
	struct datahub_lineage l = {0};
	if (datahub_lineage(d, urn, dir, LINEAGE_SHOWN, &l, err) < 0)
		return NULL;
	json_t *ents = json_array();
	for (size_t i = 0; i < l.n; i++) {
		const struct datahub_entity *e = &l.items[i].entity;
		json_t *o = json_pack("{s:s,s:s,s:s,s:i}", "urn", e->urn, "type", e->type, "name",
				      e->name[0] ? e->name : e->urn, "degree", l.items[i].degree);
		link_of(pub, e->type, e->urn, o);
		json_array_append_new(ents, o);
	}
	json_t *out = json_pack("{s:I,s:b,s:o}", "total", (json_int_t)l.total, "partial",
				l.partial, "entities", ents);
	datahub_lineage_clear(&l);
	return out;
}

static void work(void *arg)
{
	struct fetch *f = arg;
	const struct component_contract *comp =
		catalogue_find(&f->cfg->catalogue, f->cfg->datahub_component);
	if (!comp || !comp->internal_url.s[0]) {
		f->panel = unavailable("DataHub is not declared with an internal URL");
		return;
	}
	struct secret_values *sv = NULL;
	if (f->cfg->datahub_secret[0]) {
		struct secret_status st;
		struct perr e = {0};
		if (secrets_resolve_one(&f->cfg->catalogue, environ, f->cfg->datahub_secret, &sv,
					&st, &e) < 0)
			sv = NULL;
		if (!sv || !secret_value(sv, f->cfg->datahub_secret)) {
			secret_values_free(sv);
			f->panel = unavailable("the DataHub token (secret contract) has no value");
			return;
		}
	}
	struct datahub_conf conf = {
		.url = comp->internal_url.s,
		.token = sv ? secret_value(sv, f->cfg->datahub_secret) : NULL,
		.timeout_ms = LINEAGE_TIMEOUT_MS,
	};
	struct datahub *d = NULL;
	struct perr err = {0};
	int rc = datahub_open(&conf, &d, &err);
	secret_values_free(sv); /* the handle keeps its own copy */
	if (rc < 0) {
		f->panel = unavailable(err.msg);
		return;
	}
	const struct public_url *pub = comp->public_url.s[0] ? &comp->public_url : NULL;
	json_t *sets = json_array();
	size_t i;
	json_t *u;
	json_array_foreach(f->datasets, i, u) {
		const char *urn = json_string_value(u);
		json_t *up = direction(d, pub, urn, DATAHUB_UPSTREAM, &err);
		json_t *down = up ? direction(d, pub, urn, DATAHUB_DOWNSTREAM, &err) : NULL;
		if (!up || !down) {
			json_decref(up);
			json_decref(sets);
			datahub_close(d);
			f->panel = unavailable(err.msg);
			return;
		}
		struct datahub_entity ent = {0};
		struct perr e2 = {0};
		const char *name = urn;
		if (datahub_entity(d, urn, &ent, &e2) == 0 && ent.name[0])
			name = ent.name;
		json_t *o = json_pack("{s:s,s:s,s:o,s:o}", "urn", urn, "name", name, "upstream", up,
				      "downstream", down);
		link_of(pub, "DATASET", urn, o);
		json_array_append_new(sets, o);
	}
	datahub_close(d);
	f->panel = json_pack("{s:s,s:o}", "state", "ok", "datasets", sets);
}

static void finished(struct http_ctx *c, void *arg)
{
	struct fetch *f = arg;
	f->done(c, f->panel, f->arg);
	free(f);
}

void lineage_fetch(struct offload *o, struct http_ctx *c, const struct config *cfg,
		   json_t *datasets, void (*done)(struct http_ctx *c, json_t *panel, void *arg),
		   void *arg)
{
	struct fetch *f = calloc(1, sizeof *f);
	if (!f)
		abort();
	f->cfg = cfg;
	f->datasets = datasets;
	f->done = done;
	f->arg = arg;
	offload_submit(o, c, work, finished, f);
}
