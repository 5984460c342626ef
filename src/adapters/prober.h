/* prober: probes the health endpoint of every component of the catalogue,
 * concurrently, on one thread running a libcurl multi loop, and reports a
 * component's first result and then each change of its state through a
 * callback. It does not log, store events or decide what a change means: the
 * caller turns a report into a health.changed event.
 *
 * A result's detail is a short sentence built only from fixed wording,
 * numbers (status, milliseconds) and the contract's body check; it never
 * holds a URL, a host name, a port or a credential, so it may reach pages. */
#ifndef PORTAL_PROBER_H
#define PORTAL_PROBER_H

#include <stddef.h>

#include "core/contract.h"
#include "util/perr.h"

/* A body kept for the body check is cut at this size (and then fails it). */
#define PROBER_BODY_MAX (64 * 1024)
/* Backoff while down never waits longer than this ... */
#define PROBER_BACKOFF_MAX_MS (5 * 60 * 1000)
/* ... nor more than this many intervals. */
#define PROBER_BACKOFF_MAX_FACTOR 8
/* prober_start refuses more targets than this (each may hold a socket). */
#define PROBER_TARGETS_MAX 10000

/* Defaults for a contract that leaves a figure at 0 or below. */
#define PROBER_DEFAULT_INTERVAL_MS 30000
#define PROBER_DEFAULT_TIMEOUT_MS 5000

/* What to probe. credential is a bearer token (contract auth bearer) or
 * "user:pass" (auth basic), or NULL when none is available; it is ignored for
 * auth none. prober_start copies what it needs from c and credential: both
 * may be freed once it returns. */
struct prober_target {
	const struct component_contract *c;
	const char *credential;
};

/* One result. state is a static string: "up", "degraded" (slow, or the body
 * check failed), "down" (refused, timed out, 5xx, redirected, any other
 * unexpected status, TLS failure), "auth" (401/403: a credential problem, not
 * an outage) or "unknown" (not yet probed; never reported by the prober). */
struct probe_result {
	char component[64];
	const char *state;
	long long latency_ms; /* whole request; for a timeout, the time spent */
	int http_status;      /* 0 when no HTTP answer came */
	char detail[256];     /* "connection refused", "HTTP 503", "slow: 1450 ms > 1000 ms" */
	long long at_ms;      /* wall clock when the probe finished */
};

/* Called on the prober thread with the first result of each component and
 * then only when its state changes (a new detail in the same state is not a
 * change). r is valid for the call only. It must not call prober_stop. */
typedef void (*prober_report_fn)(void *arg, const struct probe_result *r);

struct prober;

/* Copies the n targets and starts the prober thread. Each component's first
 * probe falls at a random point in its first interval, so that many
 * components do not fire at once. Fails with PERR_INVALID (field names the
 * component's field, the message the component, never its URL) for a target
 * without an internal URL or health path, PERR_TOO_LARGE beyond
 * PROBER_TARGETS_MAX, PERR_INTERNAL when curl or the thread cannot start. On
 * success *out owns the prober; release it with prober_stop. */
int prober_start(struct prober **out, const struct prober_target *targets, size_t n,
		 prober_report_fn fn, void *arg, struct perr *err);

/* Wakes the thread, abandons probes in flight (no report for them), joins it
 * and frees everything, wiping the copied credentials. NULL is a no-op. */
void prober_stop(struct prober *p);

struct prober_stats {
	unsigned long long probes; /* finished probes, all components */
	unsigned in_flight;        /* probes under way now */
	unsigned long long reports; /* callbacks made */
	long long cpu_us;          /* CPU time used by the prober thread so far */
};

/* A snapshot, safe from any thread while the prober runs. */
void prober_stats(const struct prober *p, struct prober_stats *out);

#endif
