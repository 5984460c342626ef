/* app: the state one `portal serve` process shares between its threads: the
 * current configuration (swapped whole on SIGHUP, never edited in place), the
 * store, the last readiness result and the metrics. Handlers read it; only the
 * main thread replaces the configuration and only the monitor thread writes
 * the readiness result. */
#ifndef PORTAL_APP_H
#define PORTAL_APP_H

#include <pthread.h>
#include <stdatomic.h>

#include "config/config.h"
#include "http/metrics.h"
#include "store/store.h"

struct config_ref;
struct hub;
struct writer;
struct token_cache;
struct login_cache;
struct signin;
struct offload;
struct throttle;
struct secret_status;

struct readiness {
	struct store_status store;
	long long checked_at_ms; /* wall clock of the last check; 0 = never */
	long long latency_us;
};

struct app {
	pthread_mutex_t lock; /* guards cfg and ready */
	struct config_ref *cfg;
	struct readiness ready;
	struct store *store;
	struct metrics *metrics;
	struct hub *hub;             /* the live truth (borrowed) */
	struct writer *writer;       /* the event log's one writer (borrowed) */
	struct token_cache *tokens;  /* bearer tokens, refreshed by the monitor */
	struct login_cache *logins;  /* accounts and logins, refreshed by the monitor */
	struct offload *jobs;        /* blocking work made for requests (store, argon2id) */
	struct offload *lineage;     /* DataHub lookups for lineage panels (network) */
	struct offload *debug;       /* the debug surfaces' whole-log scans (store) */
	struct signin *signin;       /* checks passwords, opens and closes logins */
	struct throttle *throttle;   /* sign-in attempts per address and account */
	unsigned char proxy_key[32]; /* keys CSRF tokens of identities from a proxy */
	struct secret_status *secrets; /* last resolution of the secret contracts (under lock) */
	size_t nsecrets;
	long long started_ms;
	_Atomic int draining;
	/* readiness monitor */
	pthread_t monitor;
	pthread_cond_t wake;
	int monitor_running, monitor_stop;
};

/* Initialises a with a copy of cfg and borrows store and metrics (the caller
 * keeps ownership of both and frees them after app_destroy). */
void app_init(struct app *a, const struct config *cfg, struct store *store,
	      struct metrics *metrics, long long now_ms);
void app_destroy(struct app *a);

/* The configuration in force, valid until released. Any thread. */
const struct config *app_config_acquire(struct app *a);
void app_config_release(struct app *a, const struct config *cfg);
/* Makes a copy of cfg the configuration in force; readers holding the old
 * one keep it until they release it. */
void app_config_replace(struct app *a, const struct config *cfg);

/* Runs one store check now and records it (and its latency metric). */
void app_check_store(struct app *a);
/* Reloads the bearer tokens from the store (the monitor does it every
 * interval, so a created or revoked token takes effect within one). */
void app_refresh_tokens(struct app *a);
/* Reloads accounts and logins from the store, writing back last-use times
 * first (the monitor does it every interval). */
void app_refresh_logins(struct app *a);
/* Replaces the secret statuses (takes st, from secrets_resolve). */
void app_set_secrets(struct app *a, struct secret_status *st, size_t n);
/* The state name ("present", "missing", …, or "undeclared") and detail of
 * secret `name`; never its value. */
void app_secret_status(struct app *a, const char *name, char *state, size_t scap, char *detail,
		       size_t dcap);
/* A copy of the last readiness result. */
void app_readiness(struct app *a, struct readiness *out);

/* Starts/stops the thread that re-checks the store every
 * config.ready_interval_ms and logs each change of readiness. */
int app_monitor_start(struct app *a);
void app_monitor_stop(struct app *a);

#endif
