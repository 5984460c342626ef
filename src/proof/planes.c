/* planes: the proof planes the configuration chooses (proof: in
 * portal.yaml), opened for the worker. */
#include "proof/planes.h"

#include <string.h>

#include "config/config.h"

/* The remote settings of one plane: the component's internal URL and the
 * named secret's value. */
static int remote_of(const struct config *cfg, const struct secret_values *sv,
		     const char *component, const char *secret, const char *field,
		     struct proof_remote *r, struct perr *err)
{
	const struct component_contract *c = catalogue_find(&cfg->catalogue, component);
	if (!c || !c->internal_url.s[0])
		return perr_set(err, PERR_INVALID, field,
				"component '%s' is not declared with an internal_url", component);
	r->url = c->internal_url.s;
	r->timeout_ms = 5000;
	if (secret[0]) {
		const char *v = sv ? secret_value(sv, secret) : NULL;
		if (!v)
			return perr_set(err, PERR_UNAVAILABLE, field,
					"secret contract '%s' has no value", secret);
		r->secret = v;
	}
	return 0;
}

int proof_planes_open(const struct config *cfg, struct store *st,
		      const struct secret_values *sv, struct prover_planes *out,
		      struct perr *err)
{
	memset(out, 0, sizeof *out);
	struct proof_remote r = {0};
	int rc = 0;
	if (!strcmp(cfg->proof_graph, "http")) {
		rc = remote_of(cfg, sv, cfg->proof_graph_component, cfg->proof_graph_secret,
			       "proof.graph_component", &r, err);
		if (rc == 0)
			rc = graph_http_open(&r, &out->graph, err);
	} else {
		graph_embedded(st, &out->graph);
	}
	if (rc == 0 && !strcmp(cfg->proof_warehouse, "clickhouse")) {
		memset(&r, 0, sizeof r);
		rc = remote_of(cfg, sv, cfg->proof_warehouse_component, cfg->proof_warehouse_secret,
			       "proof.warehouse_component", &r, err);
		r.user = cfg->proof_warehouse_user;
		r.database = cfg->proof_warehouse_database;
		if (rc == 0)
			rc = warehouse_clickhouse_open(&r, &out->warehouse, err);
	} else if (rc == 0) {
		warehouse_embedded(st, &out->warehouse);
	}
	if (rc == 0 && !strcmp(cfg->proof_evidence, "http")) {
		memset(&r, 0, sizeof r);
		rc = remote_of(cfg, sv, cfg->proof_evidence_component, cfg->proof_evidence_secret,
			       "proof.evidence_component", &r, err);
		if (rc == 0)
			rc = evidence_http_open(&r, &out->evidence, err);
	} else if (rc == 0) {
		evidence_embedded(st, &out->evidence);
	}
	if (rc < 0)
		proof_planes_close(out);
	return rc;
}

void proof_planes_close(struct prover_planes *pl)
{
	graph_close(&pl->graph);
	warehouse_close(&pl->warehouse);
	evidence_close(&pl->evidence);
}
