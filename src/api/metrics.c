/* metrics: GET /metrics in the Prometheus text exposition format 0.0.4:
 * the HTTP and store figures (http/metrics.c) and the live truth's own. */
#include "api/api.h"
#include "app/app.h"
#include "http/http.h"
#include "live/hub.h"

static void live_metrics(struct hub *h, struct buf *b)
{
	struct hub_stats s;
	hub_stats(h, &s);
	buf_printf(b,
		   "# HELP portal_projection_version The seq of the last event folded into the projection.\n"
		   "# TYPE portal_projection_version gauge\n"
		   "portal_projection_version %lld\n"
		   "# HELP portal_stream_subscribers Open server-sent-event streams.\n"
		   "# TYPE portal_stream_subscribers gauge\n"
		   "portal_stream_subscribers %zu\n"
		   "# HELP portal_stream_deltas_total Deltas published to the streams.\n"
		   "# TYPE portal_stream_deltas_total counter\n"
		   "portal_stream_deltas_total %lld\n"
		   "# HELP portal_stream_resyncs_total Streams sent a fresh snapshot after a gap.\n"
		   "# TYPE portal_stream_resyncs_total counter\n"
		   "portal_stream_resyncs_total %lld\n"
		   "# HELP portal_stream_dropped_total Streams closed for reading too slowly.\n"
		   "# TYPE portal_stream_dropped_total counter\n"
		   "portal_stream_dropped_total %lld\n",
		   s.version, s.subscribers, s.published, s.resyncs, s.dropped);
}

int api_metrics(struct http_ctx *c)
{
	struct readiness r;
	app_readiness(c->app, &r);
	struct buf b = BUF_INIT;
	metrics_render(c->app->metrics, r.store.ready, &b);
	if (c->app->hub)
		live_metrics(c->app->hub, &b);
	int rc = http_reply(c, 200, "text/plain; version=0.0.4; charset=utf-8", b.data, b.len);
	buf_free(&b);
	return rc;
}
