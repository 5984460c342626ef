/* metrics: request counts and latency histograms per route, method and
 * status, plus store operation latency, rendered in the Prometheus text
 * exposition format. Each event-loop thread writes only its own shard (no
 * locks on the request path); a scrape sums the shards. */
#ifndef PORTAL_METRICS_H
#define PORTAL_METRICS_H

#include <stdatomic.h>
#include <stdint.h>

#include "http/router.h"
#include "util/buf.h"

#define METRICS_BUCKETS 16
#define METRICS_CELLS 512

/* Upper bounds of the latency buckets, in microseconds (+Inf is implied). */
extern const long long metrics_bucket_us[METRICS_BUCKETS];

struct hist {
	_Atomic uint64_t bucket[METRICS_BUCKETS + 1]; /* last is +Inf */
	_Atomic uint64_t count;
	_Atomic uint64_t sum_us;
};

void hist_observe(struct hist *h, long long us);

struct metrics_cell {
	int route;   /* index in the route table; route count = unmatched */
	int method;  /* enum http_method */
	int status;
	struct hist lat;
};

/* One per writer thread. Single writer: only the owning thread appends. */
struct metrics_shard {
	struct metrics_cell cells[METRICS_CELLS];
	_Atomic size_t n;
	_Atomic uint64_t overflow; /* requests not recorded because cells ran out */
};

enum store_op { STORE_OP_CHECK, STORE_OP_MIGRATE, STORE_OP_COUNT };

struct metrics {
	struct metrics_shard *shards;
	int nshards;
	const struct route *routes;
	size_t nroutes;
	struct hist store[STORE_OP_COUNT];
	_Atomic uint64_t reload_ok, reload_failed;
	long long started_ms;
};

struct metrics *metrics_new(int nshards, const struct route *routes, size_t nroutes,
			    long long started_ms);
void metrics_free(struct metrics *m);

/* Records one answered request on shard `shard` (the caller's thread). */
void metrics_record(struct metrics *m, int shard, int route, int method, int status,
		    long long us);

/* Appends the whole exposition to out. ready: the store's readiness (1/0). */
void metrics_render(struct metrics *m, int ready, struct buf *out);

#endif
