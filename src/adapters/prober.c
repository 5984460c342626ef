/* prober: one thread, one curl multi handle, one easy handle per component
 * (made by util/httpc and kept for the prober's life so connections are
 * reused). The loop starts whatever is due, lets curl work, classifies what
 * finished and sleeps in curl_multi_poll until the next due probe or socket
 * activity.
 * It does not log and never puts a URL, host, port or credential in a result:
 * curl's error buffer (which names the host) is deliberately not used. */
#include "adapters/prober.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/clock.h"
#include "util/httpc.h"

#ifndef PORTAL_VERSION
#define PORTAL_VERSION "dev"
#endif

#define PROBER_USER_AGENT "portal-prober/" PORTAL_VERSION

struct probe_comp {
	struct prober *p;
	char name[CONTRACT_NAME_MAX];
	struct health_check h; /* with defaults applied */
	int has_credential;
	struct curl_slist *headers; /* Authorization for bearer; wiped on free */
	CURL *easy;

	/* the body, kept only when there is a body check */
	char *body;
	size_t body_len, body_cap;
	int body_cut;

	int in_flight;
	long long due_us;  /* monotonic */
	unsigned downs;    /* consecutive down results, for the backoff */
	const char *state; /* last reported, NULL before the first report */
};

struct prober {
	CURLM *multi;
	struct probe_comp *comps;
	size_t n;
	prober_report_fn fn;
	void *arg;
	pthread_t thread;
	uint64_t rng; /* splitmix64 state, seeded from libsodium; prober thread only */
	atomic_int stop;
	atomic_ullong probes;
	atomic_uint in_flight;
	atomic_ullong reports;
};

/* --- scheduling */

/* A random whole number in [0, bound). Jitter needs no cryptographic
 * quality, and libsodium's generator costs a system call per number, so a
 * splitmix64 seeded once from it does the work. The tiny modulo bias is
 * irrelevant for spreading probes. */
static long long rand_below(struct prober *p, long long bound)
{
	if (bound <= 1)
		return 0;
	uint64_t z = (p->rng += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return (long long)(z % (uint64_t)bound);
}

/* delay_ms ± 10 %. */
static long long jitter_ms(struct prober *p, long long delay_ms)
{
	long long spread = delay_ms / 10;
	return delay_ms - spread + rand_below(p, 2 * spread + 1);
}

/* How early a probe may start so that probes due close together start in one
 * wake-up of the loop: 1/32 of the interval (the jitter is ±1/10), at most
 * 25 ms. Fewer wake-ups is most of the prober's CPU saving at 500 components. */
static long long slack_us(const struct probe_comp *pc)
{
	long long s = (long long)pc->h.interval_ms * 1000 / 32;
	return s < 25000 ? s : 25000;
}

/* The wait before the next probe, given the state just found. While down it
 * doubles per consecutive failure, up to PROBER_BACKOFF_MAX_FACTOR intervals
 * and PROBER_BACKOFF_MAX_MS (never below one interval). Jitter applies in
 * every state so components that failed together do not stay in step. */
static long long next_delay_ms(struct probe_comp *pc)
{
	long long interval = pc->h.interval_ms;
	long long delay = interval;
	if (pc->downs > 0) {
		long long cap = interval * PROBER_BACKOFF_MAX_FACTOR;
		if (cap > PROBER_BACKOFF_MAX_MS)
			cap = PROBER_BACKOFF_MAX_MS;
		if (cap < interval)
			cap = interval;
		unsigned k = pc->downs - 1; /* the first retry comes after one interval */
		delay = k >= 20 ? cap : interval << k;
		if (delay > cap)
			delay = cap;
	}
	return jitter_ms(pc->p, delay);
}

/* --- body */

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct probe_comp *pc = userdata;
	size_t len = size * nmemb;
	if (!pc->h.body_path[0])
		return len; /* no body check: nothing to keep */
	size_t room = PROBER_BODY_MAX - pc->body_len;
	size_t take = len < room ? len : room;
	if (take < len)
		pc->body_cut = 1; /* keep reading so the connection stays usable */
	if (take == 0)
		return len;
	if (pc->body_len + take > pc->body_cap) {
		size_t cap = pc->body_cap ? pc->body_cap : 1024;
		while (cap < pc->body_len + take)
			cap *= 2;
		if (cap > PROBER_BODY_MAX)
			cap = PROBER_BODY_MAX;
		char *nb = realloc(pc->body, cap);
		if (!nb)
			return 0; /* curl reports a write error: the probe fails */
		pc->body = nb;
		pc->body_cap = cap;
	}
	memcpy(pc->body + pc->body_len, data, take);
	pc->body_len += take;
	return len;
}

/* The value at a dotted path ("value.ready") inside root, or NULL. Array
 * elements are addressed by a decimal segment ("nodes.0.availability"). */
static json_t *json_at_path(json_t *root, const char *path)
{
	char seg[sizeof ((struct health_check *)0)->body_path];
	json_t *cur = root;
	const char *s = path;
	while (cur && *s) {
		const char *dot = strchr(s, '.');
		size_t len = dot ? (size_t)(dot - s) : strlen(s);
		if (len == 0 || len >= sizeof seg)
			return NULL;
		memcpy(seg, s, len);
		seg[len] = '\0';
		if (json_is_object(cur)) {
			cur = json_object_get(cur, seg);
		} else if (json_is_array(cur)) {
			char *end;
			unsigned long i = strtoul(seg, &end, 10);
			cur = *end ? NULL : json_array_get(cur, i);
		} else {
			cur = NULL;
		}
		s = dot ? dot + 1 : s + len;
	}
	return cur;
}

/* What a body value is, without quoting it when that could carry a host, a
 * URL or a port: only true, false and null are written as such. */
static const char *json_describe(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_TRUE: return "true";
	case JSON_FALSE: return "false";
	case JSON_NULL: return "null";
	case JSON_STRING: return "a different string";
	case JSON_INTEGER:
	case JSON_REAL: return "a different number";
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	}
	return "a different value";
}

/* 0 when the body passes the check, else -1 with a detail. */
static int body_check(const struct probe_comp *pc, char *detail, size_t cap)
{
	const struct health_check *h = &pc->h;
	if (pc->body_cut) {
		snprintf(detail, cap, "body larger than %d KiB, not checked", PROBER_BODY_MAX / 1024);
		return -1;
	}
	json_error_t jerr;
	json_t *root = json_loadb(pc->body ? pc->body : "", pc->body_len, JSON_DECODE_ANY, &jerr);
	if (!root) {
		snprintf(detail, cap, "body is not JSON, expected %s = %s", h->body_path, h->body_equals);
		return -1;
	}
	/* body_equals is JSON text ("true", "\"ok\""); a bare word is taken as a string. */
	json_t *want = json_loads(h->body_equals, JSON_DECODE_ANY, &jerr);
	if (!want)
		want = json_string(h->body_equals);
	json_t *got = json_at_path(root, h->body_path);
	int rc = 0;
	if (!got) {
		snprintf(detail, cap, "body has no %s, expected %s", h->body_path, h->body_equals);
		rc = -1;
	} else if (!want || !json_equal(got, want)) {
		snprintf(detail, cap, "body %s is %s, expected %s", h->body_path, json_describe(got),
			 h->body_equals);
		rc = -1;
	}
	json_decref(want);
	json_decref(root);
	return rc;
}

/* --- classification */

/* Why a transfer failed, in words that name no host or port. */
static const char *transfer_failure(CURLcode rc, long os_errno)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
		if (os_errno == ECONNREFUSED)
			return "connection refused";
		if (os_errno == EHOSTUNREACH || os_errno == ENETUNREACH)
			return "host unreachable";
		return "could not connect";
	case CURLE_COULDNT_RESOLVE_HOST: return "host name not resolved";
	case CURLE_COULDNT_RESOLVE_PROXY: return "proxy name not resolved";
	case CURLE_PEER_FAILED_VERIFICATION: return "TLS certificate not trusted";
	case CURLE_SSL_CONNECT_ERROR: return "TLS handshake failed";
	case CURLE_SSL_CACERT_BADFILE: return "TLS trust store unreadable";
	case CURLE_GOT_NOTHING: return "empty reply";
	case CURLE_SEND_ERROR: return "connection failed while sending";
	case CURLE_RECV_ERROR: return "connection failed while receiving";
	case CURLE_UNSUPPORTED_PROTOCOL: return "unsupported URL scheme";
	case CURLE_URL_MALFORMAT: return "malformed URL";
	case CURLE_WEIRD_SERVER_REPLY: return "not an HTTP answer";
	case CURLE_WRITE_ERROR:
	case CURLE_OUT_OF_MEMORY: return "out of memory";
	default:
		/* curl's static messages name no host; the error buffer would. */
		return curl_easy_strerror(rc);
	}
}

/* Fills r from a finished transfer of pc. */
static void classify(struct probe_comp *pc, CURLcode rc, struct probe_result *r)
{
	const struct health_check *h = &pc->h;
	long status = 0, os_errno = 0;
	curl_off_t total_us = 0;
	curl_easy_getinfo(pc->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(pc->easy, CURLINFO_OS_ERRNO, &os_errno);
	curl_easy_getinfo(pc->easy, CURLINFO_TOTAL_TIME_T, &total_us);

	snprintf(r->component, sizeof r->component, "%s", pc->name);
	r->latency_ms = (long long)(total_us / 1000);
	r->http_status = (int)status;
	r->at_ms = clock_wall_ms();

	if (rc == CURLE_OPERATION_TIMEDOUT) {
		r->state = "down";
		snprintf(r->detail, sizeof r->detail, "timed out after %d ms", h->timeout_ms);
		return;
	}
	if (rc != CURLE_OK) {
		r->state = "down";
		snprintf(r->detail, sizeof r->detail, "%s", transfer_failure(rc, os_errno));
		return;
	}
	if (status == 401 || status == 403) {
		r->state = "auth";
		snprintf(r->detail, sizeof r->detail, "HTTP %ld: %s", status,
			 pc->has_credential ? "credentials rejected" : "credentials required");
		return;
	}
	if (status >= 300 && status < 400) {
		r->state = "down";
		snprintf(r->detail, sizeof r->detail, "redirected (HTTP %ld)", status);
		return;
	}
	int ok = h->expect_status ? status == h->expect_status : status >= 200 && status < 300;
	if (!ok) {
		r->state = "down";
		if (h->expect_status && status >= 200 && status < 300)
			snprintf(r->detail, sizeof r->detail, "HTTP %ld, expected %d", status,
				 h->expect_status);
		else
			snprintf(r->detail, sizeof r->detail, "HTTP %ld", status);
		return;
	}
	if (h->body_path[0] && body_check(pc, r->detail, sizeof r->detail) < 0) {
		r->state = "degraded";
		return;
	}
	if (h->slow_ms > 0 && r->latency_ms > h->slow_ms) {
		r->state = "degraded";
		snprintf(r->detail, sizeof r->detail, "slow: %lld ms > %d ms", r->latency_ms, h->slow_ms);
		return;
	}
	r->state = "up";
	snprintf(r->detail, sizeof r->detail, "HTTP %ld in %lld ms", status, r->latency_ms);
}

/* --- the loop */

static void probe_begin(struct prober *p, struct probe_comp *pc)
{
	pc->body_len = 0;
	pc->body_cut = 0;
	if (curl_multi_add_handle(p->multi, pc->easy) != CURLM_OK) {
		pc->due_us = clock_mono_us() + next_delay_ms(pc) * 1000; /* try again later */
		return;
	}
	pc->in_flight = 1;
	atomic_fetch_add(&p->in_flight, 1);
}

static void probe_end(struct prober *p, struct probe_comp *pc, CURLcode rc)
{
	struct probe_result r;
	memset(&r, 0, sizeof r);
	classify(pc, rc, &r);
	curl_multi_remove_handle(p->multi, pc->easy);
	pc->in_flight = 0;
	atomic_fetch_sub(&p->in_flight, 1);
	atomic_fetch_add(&p->probes, 1);

	if (strcmp(r.state, "down") == 0)
		pc->downs++;
	else
		pc->downs = 0;
	pc->due_us = clock_mono_us() + next_delay_ms(pc) * 1000;

	if (!pc->state || strcmp(pc->state, r.state) != 0) {
		pc->state = r.state;
		atomic_fetch_add(&p->reports, 1);
		p->fn(p->arg, &r);
	}
}

static void *prober_main(void *arg)
{
	struct prober *p = arg;
	while (!atomic_load(&p->stop)) {
		long long now = clock_mono_us();
		long long next = now + 60LL * 1000000; /* wake at least once a minute */
		for (size_t i = 0; i < p->n; i++) {
			struct probe_comp *pc = &p->comps[i];
			if (pc->in_flight)
				continue;
			if (pc->due_us - slack_us(pc) <= now)
				probe_begin(p, pc); /* on failure it sets a later due time */
			if (!pc->in_flight && pc->due_us < next)
				next = pc->due_us;
		}

		int running = 0;
		curl_multi_perform(p->multi, &running);
		CURLMsg *msg;
		int left;
		while ((msg = curl_multi_info_read(p->multi, &left))) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			char *priv = NULL;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
			struct probe_comp *pc = (struct probe_comp *)priv;
			CURLcode rc = msg->data.result; /* read before the handle is removed */
			if (pc) {
				probe_end(p, pc, rc);
				if (pc->due_us < next)
					next = pc->due_us;
			}
		}
		now = clock_mono_us();
		long long wait_us = next - now;
		int wait_ms = wait_us <= 0 ? 0 : (int)((wait_us + 999) / 1000);
		if (atomic_load(&p->stop))
			break;
		/* curl shortens the wait to its own timers (timeouts, connects). */
		curl_multi_poll(p->multi, NULL, 0, wait_ms, NULL);
	}
	return NULL;
}

/* --- set-up and tear-down */

static void comp_free(struct probe_comp *pc)
{
	if (pc->easy)
		curl_easy_cleanup(pc->easy);
	pc->easy = NULL;
	httpc_headers_free(pc->headers);
	pc->headers = NULL;
	free(pc->body);
	pc->body = NULL;
}

static void prober_free(struct prober *p)
{
	for (size_t i = 0; i < p->n; i++) {
		if (p->comps[i].in_flight)
			curl_multi_remove_handle(p->multi, p->comps[i].easy);
		comp_free(&p->comps[i]);
	}
	if (p->multi)
		curl_multi_cleanup(p->multi);
	free(p->comps);
	free(p);
}

/* Copies the target into pc with defaults applied and prepares its easy
 * handle. Errors name the component and field, never the URL. */
static int comp_init(struct probe_comp *pc, struct prober *p, const struct prober_target *t,
		     struct perr *err)
{
	const struct component_contract *c = t->c;
	pc->p = p;
	snprintf(pc->name, sizeof pc->name, "%s", c->name);
	pc->h = c->health;
	if (pc->h.interval_ms <= 0)
		pc->h.interval_ms = PROBER_DEFAULT_INTERVAL_MS;
	if (pc->h.timeout_ms <= 0)
		pc->h.timeout_ms = PROBER_DEFAULT_TIMEOUT_MS;

	const char *base = c->internal_url.s;
	const char *path = c->health.path;
	size_t blen = strnlen(base, sizeof c->internal_url.s);
	if (blen == 0 || blen == sizeof c->internal_url.s)
		return perr_set(err, PERR_INVALID, "internal_url",
				"component %s has no internal URL to probe", pc->name);
	if (path[0] != '/' || strnlen(path, sizeof c->health.path) == sizeof c->health.path)
		return perr_set(err, PERR_INVALID, "health.path",
				"component %s needs a health path starting with /", pc->name);
	if (base[blen - 1] == '/')
		blen--; /* "http://h/" + "/x": one slash */
	char url[sizeof c->internal_url.s + sizeof c->health.path];
	snprintf(url, sizeof url, "%.*s%s", (int)blen, base, path);

	/* The multi handle keeps the connections: no pool. */
	pc->easy = httpc_easy_new(PROBER_USER_AGENT, pc->h.timeout_ms, NULL);
	if (!pc->easy) {
		sodium_memzero(url, sizeof url);
		return perr_set(err, PERR_INTERNAL, NULL, "could not create a probe for %s",
				pc->name);
	}
	CURL *e = pc->easy;
	int bad = 0;
	bad |= curl_easy_setopt(e, CURLOPT_URL, url) != CURLE_OK;
	sodium_memzero(url, sizeof url);
	bad |= curl_easy_setopt(e, CURLOPT_HTTPGET, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_WRITEDATA, pc) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_PRIVATE, (void *)pc) != CURLE_OK;

	const char *cred = t->credential;
	if (cred && cred[0] && c->auth == CONTRACT_AUTH_BEARER) {
		static const char prefix[] = "Authorization: Bearer ";
		size_t len = sizeof prefix + strlen(cred);
		char *hdr = malloc(len);
		if (!hdr)
			return perr_set(err, PERR_INTERNAL, NULL, "out of memory for %s", pc->name);
		snprintf(hdr, len, "%s%s", prefix, cred);
		pc->headers = curl_slist_append(NULL, hdr);
		sodium_memzero(hdr, len);
		free(hdr);
		if (!pc->headers)
			return perr_set(err, PERR_INTERNAL, NULL, "out of memory for %s", pc->name);
		bad |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, pc->headers) != CURLE_OK;
		pc->has_credential = 1;
	} else if (cred && cred[0] && c->auth == CONTRACT_AUTH_BASIC) {
		bad |= curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC) != CURLE_OK;
		bad |= curl_easy_setopt(e, CURLOPT_USERPWD, cred) != CURLE_OK; /* curl copies it */
		pc->has_credential = 1;
	}
	if (bad)
		return perr_set(err, PERR_INTERNAL, NULL, "could not configure the probe for %s",
				pc->name);

	/* The first probe at a random point of the first interval. */
	pc->due_us = clock_mono_us() + rand_below(p, (long long)pc->h.interval_ms * 1000);
	return 0;
}

int prober_start(struct prober **out, const struct prober_target *targets, size_t n,
		 prober_report_fn fn, void *arg, struct perr *err)
{
	*out = NULL;
	if (n > PROBER_TARGETS_MAX)
		return perr_set(err, PERR_TOO_LARGE, NULL,
				"%zu components to probe, more than the limit of %d", n,
				PROBER_TARGETS_MAX);
	if (!fn)
		return perr_set(err, PERR_INVALID, NULL, "the prober needs a report callback");
	if (sodium_init() < 0)
		return perr_set(err, PERR_INTERNAL, NULL, "libsodium could not start");

	struct prober *p = calloc(1, sizeof *p);
	if (!p)
		return perr_set(err, PERR_INTERNAL, NULL, "out of memory for the prober");
	p->fn = fn;
	p->arg = arg;
	randombytes_buf(&p->rng, sizeof p->rng);
	if (httpc_global_init() < 0) {
		free(p);
		return perr_set(err, PERR_INTERNAL, NULL, "libcurl could not start");
	}
	p->comps = calloc(n ? n : 1, sizeof *p->comps);
	p->multi = curl_multi_init();
	if (!p->comps || !p->multi) {
		prober_free(p);
		return perr_set(err, PERR_INTERNAL, NULL, "out of memory for the prober");
	}
	/* Room to keep one idle connection per component between probes. */
	curl_multi_setopt(p->multi, CURLMOPT_MAXCONNECTS, (long)(n + 8));
	for (size_t i = 0; i < n; i++) {
		p->n = i + 1; /* so prober_free releases what is set up */
		if (!targets[i].c) {
			prober_free(p);
			return perr_set(err, PERR_INVALID, NULL, "target %zu has no component", i);
		}
		int rc = comp_init(&p->comps[i], p, &targets[i], err);
		if (rc < 0) {
			prober_free(p);
			return rc;
		}
	}
	p->n = n;
	int rc = pthread_create(&p->thread, NULL, prober_main, p);
	if (rc != 0) {
		prober_free(p);
		return perr_set(err, PERR_INTERNAL, NULL, "could not start the prober thread: %s",
				strerror(rc));
	}
	*out = p;
	return 0;
}

void prober_stop(struct prober *p)
{
	if (!p)
		return;
	atomic_store(&p->stop, 1);
	curl_multi_wakeup(p->multi);
	pthread_join(p->thread, NULL);
	prober_free(p);
}

void prober_stats(const struct prober *p, struct prober_stats *out)
{
	memset(out, 0, sizeof *out);
	struct prober *mp = (struct prober *)p; /* atomics are read, not changed */
	out->probes = atomic_load(&mp->probes);
	out->in_flight = atomic_load(&mp->in_flight);
	out->reports = atomic_load(&mp->reports);
	clockid_t cid;
	struct timespec ts;
	if (pthread_getcpuclockid(p->thread, &cid) == 0 && clock_gettime(cid, &ts) == 0)
		out->cpu_us = (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
