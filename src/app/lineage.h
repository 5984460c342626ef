/* lineage: the DataHub panel of a proposal — catalog navigation, never
 * proof. For each dataset the proposal names (its fields of type dataset),
 * DataHub's searchAcrossLineage upstream and downstream: impact counts and
 * the first few entities, each with a link to DataHub's public URL. It runs
 * on a thread of its own, so a slow or unreachable DataHub never holds up
 * the store's work; when DataHub cannot be reached the panel says so
 * (dependency) and nothing else on the page changes. */
#ifndef PORTAL_LINEAGE_H
#define PORTAL_LINEAGE_H

#include <jansson.h>

struct http_ctx;
struct config;
struct offload;

#define LINEAGE_MAX_DATASETS 4 /* looked up per proposal */
#define LINEAGE_SHOWN 5        /* entities listed per direction */
#define LINEAGE_TIMEOUT_MS 3000

/* The dataset URNs in a proposal's input, by the kind's dataset fields, as
 * a new array of strings (empty when none or the kind is unknown). */
json_t *lineage_datasets(const struct config *cfg, const char *kind, const json_t *input);

/* Whether the configuration names DataHub (lineage.datahub_component). */
int lineage_configured(const struct config *cfg);

/* Looks up datasets (an array of URN strings, borrowed until done) for the
 * deferred request c on the lineage thread o, then calls done(c, panel,
 * arg) on c's loop; done owns panel:
 *   {"state": "ok", "datasets": [{"urn", "name", "link",
 *      "upstream": {"total", "entities": [{"urn", "type", "name", "link"}]},
 *      "downstream": {…}}]}
 *   {"state": "unavailable", "message": …}   DataHub could not be asked
 * Messages never carry DataHub's address or token. */
void lineage_fetch(struct offload *o, struct http_ctx *c, const struct config *cfg,
		   json_t *datasets, void (*done)(struct http_ctx *c, json_t *panel, void *arg),
		   void *arg);

#endif
