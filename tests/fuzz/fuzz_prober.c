/* fuzz_prober: what a component's health endpoint answers, judged by the
 * prober. The judging (status, redirect, credentials, the JSON body check)
 * sits inside the prober's curl loop, so the input is served on loopback
 * (support/fake_http.h) and a real prober probes it, once per health check
 * below: Selenium Grid's `value.ready` = true with a bearer credential, a
 * Nexus-like `nodes.0.status` = "UP" (a bare word, an array step) with
 * basic auth, and a status-only check expecting 204. Each run waits for the
 * first report and stops the prober. Only the first answer of the script is
 * read; the prober may probe again before it stops (the fallback 503). */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "adapters/prober.h"
#include "support/fake_http.h"
#include "util/httpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BEARER "pr0be-bearer-s3cr3t"
#define BASIC "grid-admin:pr0be-basic-s3cr3t"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static struct probe_result first;
static int reported;
static char port[16];

static void on_report(void *arg, const struct probe_result *r)
{
	(void)arg;
	pthread_mutex_lock(&lock);
	if (!reported) {
		first = *r;
		reported = 1;
		pthread_cond_signal(&cond);
	}
	pthread_mutex_unlock(&lock);
}

/* The promises a result keeps whatever the endpoint answered. */
static void result_check(const struct probe_result *r, const struct component_contract *c)
{
	if (!memchr(r->detail, '\0', sizeof r->detail) || !r->detail[0])
		abort(); /* a detail cut without its NUL, or none */
	if (strstr(r->detail, "127.0.0.1") || strstr(r->detail, port) ||
	    strstr(r->detail, "s3cr3t") || strstr(r->detail, "leak.example"))
		abort(); /* the address, a credential or a quoted body value */
	const char *s = r->state;
	int st = r->http_status;
	if (strcmp(s, "up") == 0) {
		if (c->health.expect_status ? st != c->health.expect_status : st < 200 || st > 299)
			abort(); /* up on an unexpected status */
	} else if (strcmp(s, "auth") == 0) {
		if (st != 401 && st != 403)
			abort();
	} else if (strcmp(s, "degraded") == 0) {
		if (st < 200 || st > 299)
			abort(); /* degraded means it answered as expected, but badly */
	} else if (strcmp(s, "down") != 0) {
		abort(); /* a state the prober does not report */
	}
}

static void probe_once(const uint8_t *data, size_t size, const struct component_contract *c,
		       const char *credential)
{
	fake_http_script(data, size, 503);
	pthread_mutex_lock(&lock);
	reported = 0;
	pthread_mutex_unlock(&lock);
	struct prober_target t = {.c = c, .credential = credential};
	struct prober *p;
	struct perr err = {0};
	if (prober_start(&p, &t, 1, on_report, NULL, &err) < 0)
		abort();
	pthread_mutex_lock(&lock);
	while (!reported)
		pthread_cond_wait(&cond, &lock);
	struct probe_result r = first;
	pthread_mutex_unlock(&lock);
	prober_stop(p);
	result_check(&r, c);
}

static struct component_contract grid, nexus, readyz;

static void contract(struct component_contract *c, const char *name, const char *path,
		     enum contract_auth auth)
{
	snprintf(c->name, sizeof c->name, "%s", name);
	c->ownership = OWNERSHIP_OWNED;
	snprintf(c->internal_url.s, sizeof c->internal_url.s, "%s", fake_http_url());
	snprintf(c->health.path, sizeof c->health.path, "%s", path);
	c->auth = auth;
	c->health.interval_ms = 1; /* the first probe at once */
	c->health.timeout_ms = 15000;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!grid.name[0]) {
		/* libcurl starts once for the run, as in the server. */
		if (httpc_global_init() < 0)
			abort();
		const char *u = fake_http_url();
		snprintf(port, sizeof port, ":%s", strrchr(u, ':') + 1);
		contract(&grid, "selenium", "/status", CONTRACT_AUTH_BEARER);
		grid.health.expect_status = 200;
		snprintf(grid.health.body_path, sizeof grid.health.body_path, "value.ready");
		snprintf(grid.health.body_equals, sizeof grid.health.body_equals, "true");
		contract(&nexus, "nexus", "/service/rest/v1/status/check", CONTRACT_AUTH_BASIC);
		snprintf(nexus.health.body_path, sizeof nexus.health.body_path, "nodes.0.status");
		snprintf(nexus.health.body_equals, sizeof nexus.health.body_equals, "UP");
		contract(&readyz, "grid-ready", "/readyz", CONTRACT_AUTH_NONE);
		readyz.health.expect_status = 204;
	}
	probe_once(data, size, &grid, BEARER);
	probe_once(data, size, &nexus, BASIC);
	probe_once(data, size, &readyz, NULL);
	return 0;
}
