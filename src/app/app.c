/* app: shared process state and the readiness monitor. See app.h. */
#include "app/app.h"

#include "adapters/secrets.h"
#include "auth/token.h"
#include "auth/login.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/clock.h"
#include "util/log.h"

struct config_ref {
	struct config cfg;
	int refs;
};

static void ref_free(struct config_ref *r)
{
	config_dispose(&r->cfg);
	free(r);
}

static struct config_ref *ref_new(const struct config *cfg)
{
	struct config_ref *r = malloc(sizeof *r);
	if (!r)
		abort();
	config_copy(&r->cfg, cfg);
	r->refs = 1;
	return r;
}

void app_init(struct app *a, const struct config *cfg, struct store *store,
	      struct metrics *metrics, long long now_ms)
{
	memset(a, 0, sizeof *a);
	pthread_mutex_init(&a->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&a->wake, &ca);
	pthread_condattr_destroy(&ca);
	a->cfg = ref_new(cfg);
	a->store = store;
	a->metrics = metrics;
	a->started_ms = now_ms;
}

void app_destroy(struct app *a)
{
	app_monitor_stop(a);
	ref_free(a->cfg); /* every reader has released by now */
	free(a->secrets);
	a->cfg = NULL;
	pthread_cond_destroy(&a->wake);
	pthread_mutex_destroy(&a->lock);
}

const struct config *app_config_acquire(struct app *a)
{
	pthread_mutex_lock(&a->lock);
	struct config_ref *r = a->cfg;
	r->refs++;
	pthread_mutex_unlock(&a->lock);
	return &r->cfg;
}

void app_config_release(struct app *a, const struct config *cfg)
{
	/* cfg is the first member of its config_ref. */
	struct config_ref *r = (struct config_ref *)(void *)cfg;
	pthread_mutex_lock(&a->lock);
	int last = --r->refs == 0;
	pthread_mutex_unlock(&a->lock);
	if (last)
		ref_free(r);
}

void app_config_replace(struct app *a, const struct config *cfg)
{
	struct config_ref *fresh = ref_new(cfg);
	pthread_mutex_lock(&a->lock);
	struct config_ref *old = a->cfg;
	a->cfg = fresh;
	int last = --old->refs == 0;
	pthread_mutex_unlock(&a->lock);
	if (last)
		ref_free(old);
}

void app_set_secrets(struct app *a, struct secret_status *st, size_t n)
{
	pthread_mutex_lock(&a->lock);
	struct secret_status *old = a->secrets;
	a->secrets = st;
	a->nsecrets = n;
	pthread_mutex_unlock(&a->lock);
	free(old);
}

void app_secret_status(struct app *a, const char *name, char *state, size_t scap, char *detail,
		       size_t dcap)
{
	snprintf(state, scap, "undeclared");
	snprintf(detail, dcap, "no secret contract of that name");
	pthread_mutex_lock(&a->lock);
	for (size_t i = 0; i < a->nsecrets; i++)
		if (strcmp(a->secrets[i].name, name) == 0) {
			snprintf(state, scap, "%s", secret_state_name(a->secrets[i].state));
			snprintf(detail, dcap, "%s", a->secrets[i].detail);
		}
	pthread_mutex_unlock(&a->lock);
}

void app_check_store(struct app *a)
{
	struct readiness r;
	memset(&r, 0, sizeof r);
	struct perr err;
	perr_clear(&err);
	long long t0 = clock_mono_us();
	if (store_check(a->store, &r.store, &err) < 0) {
		r.store.ready = 0;
		snprintf(r.store.reason, sizeof r.store.reason, "%s", err.msg);
	}
	r.latency_us = clock_mono_us() - t0;
	r.checked_at_ms = clock_wall_ms();
	hist_observe(&a->metrics->store[STORE_OP_CHECK], r.latency_us);

	pthread_mutex_lock(&a->lock);
	int was = a->ready.store.ready, first = a->ready.checked_at_ms == 0;
	int reason_changed = strcmp(a->ready.store.reason, r.store.reason) != 0;
	a->ready = r;
	pthread_mutex_unlock(&a->lock);

	if (first || was != r.store.ready || reason_changed) {
		if (r.store.ready)
			log_emit(LOG_INFO, "store ready",
				 json_pack("{s:i}", "schema_version", r.store.schema_version));
		else
			log_emit(LOG_WARN, "store not ready",
				 json_pack("{s:s}", "reason", r.store.reason));
	}
}

void app_readiness(struct app *a, struct readiness *out)
{
	pthread_mutex_lock(&a->lock);
	*out = a->ready;
	pthread_mutex_unlock(&a->lock);
}

void app_refresh_tokens(struct app *a)
{
	if (!a->tokens)
		return;
	struct perr err = {0};
	/* A failure keeps the tokens already known; readiness reports the store. */
	if (token_cache_load(a->tokens, a->store, &err) < 0)
		log_emit(LOG_DEBUG, "cannot reload tokens", json_pack("{s:s}", "reason", err.msg));
}

void app_refresh_logins(struct app *a)
{
	if (!a->logins)
		return;
	struct perr err = {0};
	/* Last-use times are written back at most once a minute per login. */
	if (login_cache_sync(a->logins, a->store, clock_wall_ms(), 60000, &err) < 0)
		log_emit(LOG_DEBUG, "cannot reload logins", json_pack("{s:s}", "reason", err.msg));
}

static void *monitor_main(void *arg)
{
	struct app *a = arg;
	pthread_mutex_lock(&a->lock);
	while (!a->monitor_stop) {
		int interval = a->cfg->cfg.ready_interval_ms;
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += interval / 1000;
		until.tv_nsec += (long)(interval % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		int rc = 0;
		while (!a->monitor_stop && rc != ETIMEDOUT)
			rc = pthread_cond_timedwait(&a->wake, &a->lock, &until);
		if (a->monitor_stop)
			break;
		pthread_mutex_unlock(&a->lock);
		app_check_store(a);
		app_refresh_tokens(a);
		app_refresh_logins(a);
		pthread_mutex_lock(&a->lock);
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

int app_monitor_start(struct app *a)
{
	a->monitor_stop = 0;
	if (pthread_create(&a->monitor, NULL, monitor_main, a) != 0)
		return -1;
	a->monitor_running = 1;
	return 0;
}

void app_monitor_stop(struct app *a)
{
	if (!a->monitor_running)
		return;
	pthread_mutex_lock(&a->lock);
	a->monitor_stop = 1;
	pthread_cond_signal(&a->wake);
	pthread_mutex_unlock(&a->lock);
	pthread_join(a->monitor, NULL);
	a->monitor_running = 0;
}
