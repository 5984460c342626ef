/* metrics: GET /metrics in the Prometheus text exposition format 0.0.4. */
#include "api/api.h"
#include "app/app.h"
#include "http/http.h"

int api_metrics(struct http_ctx *c)
{
	struct readiness r;
	app_readiness(c->app, &r);
	struct buf b = BUF_INIT;
	metrics_render(c->app->metrics, r.store.ready, &b);
	int rc = http_reply(c, 200, "text/plain; version=0.0.4; charset=utf-8", b.data, b.len);
	buf_free(&b);
	return rc;
}
