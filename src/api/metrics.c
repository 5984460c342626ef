/* metrics: GET /metrics in the Prometheus text exposition format 0.0.4:
 * the HTTP and store figures (http/metrics.c), the live truth's own, and
 * the proposals waiting on a proof plane (counted in the store, on the
 * offload thread, never on the loop). */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "app/app.h"
#include "core/closure.h"
#include "core/proposal.h"
#include "http/http.h"
#include "http/offload.h"
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

/* The proposals the prover keeps as waiting on a plane (store.h:
 * store_proposal_set_error), by plane; ok = 0 when the store did not answer. */
struct stalls {
	struct store *st;
	size_t n[3];
	int ok;
};

static int on_proposal(void *arg, const struct store_proposal *p)
{
	struct stalls *s = arg;
	int plane = closure_stall_plane(p->last_error, NULL);
	if (plane >= 0)
		s->n[plane]++;
	return 0;
}

static void count_stalls(void *arg)
{
	struct stalls *s = arg;
	struct perr err = {0};
	struct store_proposal_filter f = {.state = PROPOSAL_EXECUTED};
	s->ok = store_proposals(s->st, &f, on_proposal, s, &err) == 0;
	f.state = PROPOSAL_PROVING;
	s->ok = s->ok && store_proposals(s->st, &f, on_proposal, s, &err) == 0;
}

static void reply(struct http_ctx *c, const struct stalls *s)
{
	struct readiness r;
	app_readiness(c->app, &r);
	struct buf b = BUF_INIT;
	metrics_render(c->app->metrics, r.store.ready, &b);
	if (c->app->hub)
		live_metrics(c->app->hub, &b);
	if (s && s->ok) {
		buf_printf(&b, "# HELP portal_proof_stalled_proposals Proposals waiting on a proof "
			       "plane that cannot be written or read.\n"
			       "# TYPE portal_proof_stalled_proposals gauge\n");
		for (int i = PLANE_GRAPH; i <= PLANE_EVIDENCE; i++)
			buf_printf(&b, "portal_proof_stalled_proposals{plane=\"%s\"} %zu\n",
				   proof_plane_name((enum proof_plane)i), s->n[i]);
	}
	http_reply(c, 200, "text/plain; version=0.0.4; charset=utf-8", b.data, b.len);
	buf_free(&b);
}

static void counted(struct http_ctx *c, void *arg)
{
	reply(c, arg);
	free(arg);
}

int api_metrics(struct http_ctx *c)
{
	if (!c->app->jobs || !c->app->store) {
		reply(c, NULL);
		return 0;
	}
	struct stalls *s = calloc(1, sizeof *s);
	if (!s)
		abort();
	s->st = c->app->store;
	offload_submit(c->app->jobs, http_defer(c), count_stalls, counted, s);
	return 0;
}
