/* health: liveness and readiness probes for load balancers and people.
 * /healthz only says the process answers. /readyz reports the last store
 * check (made off the request path by the monitor thread, so a probe storm
 * never touches the database) and turns 503 while draining. */
#include <stdatomic.h>

#include "api/api.h"
#include "app/app.h"
#include "http/http.h"
#include "util/clock.h"
#include "util/log.h"

int api_healthz(struct http_ctx *c)
{
	return http_reply_json(c, 200, json_pack("{s:s}", "status", "alive"));
}

int api_readyz(struct http_ctx *c)
{
	struct readiness r;
	app_readiness(c->app, &r);
	int draining = atomic_load(&c->app->draining);
	int ready = r.store.ready && !draining;
	char when[32] = "";
	if (r.checked_at_ms)
		log_format_time(r.checked_at_ms, when);
	json_t *store = json_pack("{s:s,s:i,s:i,s:s,s:s,s:f}",
				  "status", r.store.ready ? "ready" : "not_ready",
				  "schema_version", r.store.schema_version,
				  "schema_latest", r.store.schema_latest,
				  "instance_id", r.store.instance_id,
				  "checked_at", when,
				  "latency_ms", (double)r.latency_us / 1000.0);
	if (!r.store.ready)
		json_object_set_new(store, "reason", json_string(r.store.reason));
	json_t *doc = json_pack("{s:s,s:b,s:{s:o}}", "status", ready ? "ready" : "not_ready",
				"draining", draining, "checks", "store", store);
	if (!ready) {
		const char *why = draining ? "the server is shutting down" : r.store.reason;
		json_object_set_new(doc, "error",
				    http_error_object(c, 503, "unavailable",
						      draining ? "server" : "store", why));
	}
	return http_reply_json(c, ready ? 200 : 503, doc);
}
