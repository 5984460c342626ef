/* The prober under load: N components (default 500) probing one local HTTP
 * server at a fixed interval for a while, then the CPU time the prober thread
 * used as a share of one core, read from the thread's own CPU clock.
 * Usage: prober_bench PORT [components] [interval_ms] [seconds] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "adapters/prober.h"
#include "util/clock.h"

static unsigned long long nreports;
static unsigned long long nup;

static void on_report(void *arg, const struct probe_result *r)
{
	nreports++; /* only the prober thread writes; read after prober_stop */
	if (strcmp(r->state, "up") == 0)
		nup++;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s PORT [components] [interval_ms] [seconds]\n", argv[0]);
		return 2;
	}
	int port = atoi(argv[1]);
	size_t n = argc > 2 ? (size_t)atol(argv[2]) : 500;
	int interval_ms = argc > 3 ? atoi(argv[3]) : 1000;
	int secs = argc > 4 ? atoi(argv[4]) : 30;

	struct component_contract *cs = calloc(n, sizeof *cs);
	struct prober_target *ts = calloc(n, sizeof *ts);
	if (!cs || !ts)
		return 1;
	for (size_t i = 0; i < n; i++) {
		struct component_contract *c = &cs[i];
		snprintf(c->name, sizeof c->name, "c%zu", i);
		snprintf(c->internal_url.s, sizeof c->internal_url.s, "http://127.0.0.1:%d", port);
		snprintf(c->health.path, sizeof c->health.path, "/health/%zu", i);
		c->health.expect_status = 200;
		snprintf(c->health.body_path, sizeof c->health.body_path, "ok");
		snprintf(c->health.body_equals, sizeof c->health.body_equals, "true");
		c->health.interval_ms = interval_ms;
		c->health.timeout_ms = 2000;
		c->health.slow_ms = 1000;
		ts[i].c = c;
	}

	struct prober *p;
	struct perr err = {0};
	if (prober_start(&p, ts, n, on_report, NULL, &err) < 0) {
		fprintf(stderr, "prober_bench: %s\n", err.msg);
		return 1;
	}
	long long t0 = clock_mono_us();
	struct timespec d = {secs, 0};
	while (nanosleep(&d, &d) != 0)
		;
	struct prober_stats st;
	prober_stats(p, &st);
	long long wall_us = clock_mono_us() - t0;
	prober_stop(p);

	double share = 100.0 * (double)st.cpu_us / (double)wall_us;
	printf("components=%zu interval_ms=%d seconds=%.1f probes=%llu reports=%llu up=%llu "
	       "cpu_ms=%.1f cpu_pct=%.2f us_per_probe=%.1f\n",
	       n, interval_ms, wall_us / 1e6, st.probes, nreports, nup, st.cpu_us / 1000.0, share,
	       st.probes ? (double)st.cpu_us / (double)st.probes : 0.0);
	free(cs);
	free(ts);
	return nup == n ? 0 : 3;
}
