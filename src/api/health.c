/* health: liveness and readiness probes for load balancers and people.
 * /healthz only says the process answers. /readyz reports the last store
 * check (made off the request path by the monitor thread, so a probe storm
 * never touches the database) and turns 503 while draining. */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "app/app.h"
#include "http/http.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/log.h"

int api_healthz(struct http_ctx *c)
{
	return http_reply_json(c, 200, json_pack("{s:s}", "status", "alive"));
}

/* Replaces each "database <label>" in reason with "the database". */
static void public_reason(const char *db, char *reason, size_t cap)
{
	char label[256], named[300];
	store_url_label(db, label, sizeof label);
	snprintf(named, sizeof named, "database %s", label);
	char out[sizeof ((struct store_status *)0)->reason];
	size_t o = 0, n = strlen(named);
	for (const char *p = reason; *p && o + 1 < sizeof out;) {
		if (n && strncmp(p, named, n) == 0) {
			o += (size_t)snprintf(out + o, sizeof out - o, "the database");
			p += n;
		} else {
			out[o++] = *p++;
		}
	}
	out[o < sizeof out ? o : sizeof out - 1] = '\0';
	snprintf(reason, cap, "%s", out);
}

int api_readyz(struct http_ctx *c)
{
	struct readiness r;
	app_readiness(c->app, &r);
	/* The probe is public: the store's reason names the database (a path, or
	 * a PostgreSQL host and port), which the log has and a client must not. */
	public_reason(c->cfg->db, r.store.reason, sizeof r.store.reason);
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
