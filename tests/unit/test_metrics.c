/* Metrics: per-thread cells summed into valid Prometheus exposition. */
#include <criterion/criterion.h>
#include <string.h>

#include "http/metrics.h"

static int h(struct http_ctx *c) { (void)c; return 0; }
static const struct route routes[] = {
	{METHOD_GET, "/healthz", h, ROUTE_API, "health", 0},
	{METHOD_GET, "/say/\"quoted\"", h, ROUTE_API, "odd", 0},
};

Test(metrics, shards_are_summed_per_route_method_and_status)
{
	struct metrics *m = metrics_new(2, routes, 2, 0);
	metrics_record(m, 0, 0, METHOD_GET, 200, 50);
	metrics_record(m, 1, 0, METHOD_GET, 200, 3000);
	metrics_record(m, 1, 2, METHOD_GET, 404, 10);
	struct buf b = BUF_INIT;
	metrics_render(m, 1, &b);
	const char *t = buf_cstr(&b);
	cr_assert(strstr(t, "portal_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 2\n"), "%s", t);
	cr_assert(strstr(t, "portal_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"} 1\n"));
	/* 50us falls in the first bucket (0.0001 s); 3000us only from 0.005 s on. */
	cr_assert(strstr(t, "portal_http_request_duration_seconds_bucket{method=\"GET\",route=\"/healthz\",status=\"200\",le=\"0.0001\"} 1\n"));
	cr_assert(strstr(t, "portal_http_request_duration_seconds_bucket{method=\"GET\",route=\"/healthz\",status=\"200\",le=\"0.005\"} 2\n"));
	cr_assert(strstr(t, "portal_http_request_duration_seconds_bucket{method=\"GET\",route=\"/healthz\",status=\"200\",le=\"+Inf\"} 2\n"));
	cr_assert(strstr(t, "portal_http_request_duration_seconds_count{method=\"GET\",route=\"/healthz\",status=\"200\"} 2\n"));
	cr_assert(strstr(t, "portal_store_ready 1\n"));
	cr_assert(strstr(t, "# TYPE portal_http_request_duration_seconds histogram\n"));
	buf_free(&b);
	metrics_free(m);
}

Test(metrics, label_values_are_escaped)
{
	struct metrics *m = metrics_new(1, routes, 2, 0);
	metrics_record(m, 0, 1, METHOD_GET, 200, 1);
	struct buf b = BUF_INIT;
	metrics_render(m, 0, &b);
	cr_assert(strstr(buf_cstr(&b), "route=\"/say/\\\"quoted\\\"\""));
	cr_assert(strstr(buf_cstr(&b), "portal_store_ready 0\n"));
	buf_free(&b);
	metrics_free(m);
}

Test(metrics, a_full_cell_table_counts_overflow_instead_of_corrupting)
{
	struct metrics *m = metrics_new(1, routes, 2, 0);
	for (int s = 0; s < METRICS_CELLS + 5; s++)
		metrics_record(m, 0, 0, METHOD_GET, 100 + s, 1);
	struct buf b = BUF_INIT;
	metrics_render(m, 1, &b);
	cr_assert(strstr(buf_cstr(&b), "portal_http_requests_unrecorded_total 5\n"));
	buf_free(&b);
	metrics_free(m);
}
