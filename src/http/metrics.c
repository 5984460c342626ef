/* metrics: lock-free per-thread counters and their Prometheus rendering. */
#include "http/metrics.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <sqlite3.h>

const long long metrics_bucket_us[METRICS_BUCKETS] = {
	100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000,
	100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000,
};

void hist_observe(struct hist *h, long long us)
{
	if (us < 0)
		us = 0;
	int i = 0;
	while (i < METRICS_BUCKETS && us > metrics_bucket_us[i])
		i++;
	atomic_fetch_add_explicit(&h->bucket[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum_us, (uint64_t)us, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
}

struct metrics *metrics_new(int nshards, const struct route *routes, size_t nroutes,
			    long long started_ms)
{
	struct metrics *m = calloc(1, sizeof *m);
	if (!m)
		abort();
	m->shards = calloc((size_t)nshards, sizeof *m->shards);
	if (!m->shards)
		abort();
	m->nshards = nshards;
	m->routes = routes;
	m->nroutes = nroutes;
	m->started_ms = started_ms;
	return m;
}

void metrics_free(struct metrics *m)
{
	if (!m)
		return;
	free(m->shards);
	free(m);
}

void metrics_record(struct metrics *m, int shard, int route, int method, int status,
		    long long us)
{
	struct metrics_shard *s = &m->shards[shard];
	size_t n = atomic_load_explicit(&s->n, memory_order_relaxed);
	for (size_t i = 0; i < n; i++) {
		struct metrics_cell *c = &s->cells[i];
		if (c->route == route && c->method == method && c->status == status) {
			hist_observe(&c->lat, us);
			return;
		}
	}
	if (n == METRICS_CELLS) {
		atomic_fetch_add_explicit(&s->overflow, 1, memory_order_relaxed);
		return;
	}
	struct metrics_cell *c = &s->cells[n];
	c->route = route;
	c->method = method;
	c->status = status;
	hist_observe(&c->lat, us);
	/* Publish the cell only once it is filled in. */
	atomic_store_explicit(&s->n, n + 1, memory_order_release);
}

/* Label value escaping per the exposition format: \\, \" and \n. */
static void label(struct buf *out, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			buf_putc(out, '\\');
		if (*v == '\n') {
			buf_puts(out, "\\n");
			continue;
		}
		buf_putc(out, *v);
	}
}

static void bound(struct buf *out, long long us)
{
	buf_printf(out, "%g", (double)us / 1e6);
}

static void hist_render(struct buf *out, const char *name, const char *labels,
			const struct hist *h)
{
	uint64_t cum = 0;
	for (int i = 0; i <= METRICS_BUCKETS; i++) {
		cum += atomic_load_explicit(&h->bucket[i], memory_order_relaxed);
		buf_printf(out, "%s_bucket{%s%sle=\"", name, labels, *labels ? "," : "");
		if (i == METRICS_BUCKETS)
			buf_puts(out, "+Inf");
		else
			bound(out, metrics_bucket_us[i]);
		buf_printf(out, "\"} %llu\n", (unsigned long long)cum);
	}
	buf_printf(out, "%s_sum{%s} %.6f\n", name, labels,
		   (double)atomic_load_explicit(&h->sum_us, memory_order_relaxed) / 1e6);
	buf_printf(out, "%s_count{%s} %llu\n", name, labels, (unsigned long long)cum);
}

/* Sums every shard's cells with the same labels into one histogram. */
struct agg {
	int route, method, status;
	struct hist lat;
};

static void hist_add(struct hist *dst, const struct hist *src)
{
	for (int i = 0; i <= METRICS_BUCKETS; i++)
		atomic_fetch_add_explicit(&dst->bucket[i],
					  atomic_load_explicit(&src->bucket[i], memory_order_relaxed),
					  memory_order_relaxed);
	atomic_fetch_add_explicit(&dst->sum_us,
				  atomic_load_explicit(&src->sum_us, memory_order_relaxed),
				  memory_order_relaxed);
}

static void cell_labels(struct metrics *m, const struct agg *a, struct buf *lb)
{
	buf_reset(lb);
	buf_printf(lb, "method=\"%s\",route=\"", http_method_name((enum http_method)a->method));
	label(lb, (size_t)a->route < m->nroutes ? m->routes[a->route].pattern : "unmatched");
	buf_printf(lb, "\",status=\"%d\"", a->status);
}

void metrics_render(struct metrics *m, int ready, struct buf *out)
{
	size_t cap = (size_t)m->nshards * METRICS_CELLS, na = 0;
	struct agg *aggs = calloc(cap ? cap : 1, sizeof *aggs);
	if (!aggs)
		abort();
	uint64_t overflow = 0;
	for (int s = 0; s < m->nshards; s++) {
		struct metrics_shard *sh = &m->shards[s];
		size_t n = atomic_load_explicit(&sh->n, memory_order_acquire);
		overflow += atomic_load_explicit(&sh->overflow, memory_order_relaxed);
		for (size_t i = 0; i < n; i++) {
			const struct metrics_cell *c = &sh->cells[i];
			size_t k = 0;
			while (k < na && !(aggs[k].route == c->route && aggs[k].method == c->method &&
					   aggs[k].status == c->status))
				k++;
			if (k == na) {
				aggs[na].route = c->route;
				aggs[na].method = c->method;
				aggs[na].status = c->status;
				na++;
			}
			hist_add(&aggs[k].lat, &c->lat);
		}
	}
	struct buf lb = BUF_INIT;
	buf_puts(out, "# HELP portal_http_requests_total HTTP requests answered, by route pattern, method and status.\n"
		      "# TYPE portal_http_requests_total counter\n");
	for (size_t k = 0; k < na; k++) {
		cell_labels(m, &aggs[k], &lb);
		uint64_t total = 0;
		for (int i = 0; i <= METRICS_BUCKETS; i++)
			total += atomic_load_explicit(&aggs[k].lat.bucket[i], memory_order_relaxed);
		buf_printf(out, "portal_http_requests_total{%s} %llu\n", lb.data,
			   (unsigned long long)total);
	}
	buf_puts(out, "# HELP portal_http_request_duration_seconds Time from routing to the reply being queued, by route pattern, method and status.\n"
		      "# TYPE portal_http_request_duration_seconds histogram\n");
	for (size_t k = 0; k < na; k++) {
		cell_labels(m, &aggs[k], &lb);
		hist_render(out, "portal_http_request_duration_seconds", lb.data, &aggs[k].lat);
	}
	buf_printf(out, "# HELP portal_http_requests_unrecorded_total Requests answered but not recorded because the metric table was full.\n"
			"# TYPE portal_http_requests_unrecorded_total counter\n"
			"portal_http_requests_unrecorded_total %llu\n", (unsigned long long)overflow);
	static const char *const ops[STORE_OP_COUNT] = {"check", "migrate"};
	buf_puts(out, "# HELP portal_store_op_duration_seconds Store operation latency, by operation.\n"
		      "# TYPE portal_store_op_duration_seconds histogram\n");
	for (int i = 0; i < STORE_OP_COUNT; i++) {
		buf_reset(&lb);
		buf_printf(&lb, "op=\"%s\"", ops[i]);
		hist_render(out, "portal_store_op_duration_seconds", lb.data, &m->store[i]);
	}
	buf_printf(out, "# HELP portal_store_ready Whether the store answered its last readiness check (1) or not (0).\n"
			"# TYPE portal_store_ready gauge\nportal_store_ready %d\n", ready ? 1 : 0);
	buf_printf(out, "# HELP portal_config_reloads_total Configuration reloads on SIGHUP, by result.\n"
			"# TYPE portal_config_reloads_total counter\n"
			"portal_config_reloads_total{result=\"success\"} %llu\n"
			"portal_config_reloads_total{result=\"failure\"} %llu\n",
		   (unsigned long long)atomic_load(&m->reload_ok),
		   (unsigned long long)atomic_load(&m->reload_failed));
	buf_printf(out, "# HELP portal_build_info Build and library versions.\n"
			"# TYPE portal_build_info gauge\n"
			"portal_build_info{version=\"%s\",commit=\"%s\",libevent=\"%s\",sqlite=\"%s\"} 1\n",
		   PORTAL_VERSION, PORTAL_COMMIT, event_get_version(), sqlite3_libversion());
	buf_printf(out, "# HELP portal_process_start_time_seconds Start time of the process since the epoch.\n"
			"# TYPE portal_process_start_time_seconds gauge\n"
			"portal_process_start_time_seconds %.3f\n", (double)m->started_ms / 1000.0);
	buf_free(&lb);
	free(aggs);
}
