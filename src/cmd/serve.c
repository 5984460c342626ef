/* serve: `portal serve` — opens and migrates the store, starts the readiness
 * monitor and the HTTP loops, then waits for signals on the main thread:
 * SIGHUP reloads the configuration (keeping the old one when the new one is
 * invalid), SIGTERM/SIGINT drain and exit 0. Signals are blocked in every
 * thread and taken with sigwait here, so no handler runs in signal context. */
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "app/app.h"
#include "adapters/secrets.h"
#include "cmd/cmd.h"
#include "auth/token.h"
#include "auth/login.h"
#include "http/offload.h"
#include "auth/signin.h"
#include "auth/throttle.h"
#include "site/site.h"
#include "http/server.h"
#include "live/hub.h"
#include "live/probing.h"
#include "live/writer.h"
#include "util/clock.h"
#include "util/log.h"
#include "web/web.h"

static const struct cmd_spec serve_spec = {
	"serve",
	"Run Portal: pages, API, metrics and probes on one HTTP listener, on the embedded\n"
	"SQLite store (migrated at start-up). SIGHUP reloads the configuration; SIGTERM or\n"
	"SIGINT stops accepting, finishes in-flight requests, closes the store, exits 0.",
	CONFIG_CMD_SERVE,
	NULL,
	NULL,
};

/* Settings that only take effect at start (the table says which): a reload
 * keeps the running value and says so. */
static void keep_restart_only(const struct config *old, struct config *fresh)
{
	const char *keys[64];
	int n = config_keep_restart_only(old, fresh, CONFIG_CMD_SERVE, keys, 64);
	for (int i = 0; i < n && i < 64; i++)
		log_emit(LOG_WARN, "setting needs a restart to take effect",
			 json_pack("{s:s}", "key", keys[i]));
}

static struct probing *probing_now;

static void reload(struct app *a, const struct cmd_args *args)
{
	struct config *fresh = malloc(sizeof *fresh);
	struct config_errors *errs = calloc(1, sizeof *errs);
	if (!fresh || !errs)
		abort();
	if (config_build(fresh, &args->src, errs) < 0) {
		json_t *list = json_array();
		struct buf line = BUF_INIT;
		for (int i = 0; i < errs->n; i++) {
			buf_reset(&line);
			config_error_format(&errs->items[i], &line);
			json_array_append_new(list, json_string(buf_cstr(&line)));
		}
		buf_free(&line);
		atomic_fetch_add(&a->metrics->reload_failed, 1);
		log_emit(LOG_ERROR, "configuration reload failed; keeping the running configuration",
			 json_pack("{s:o,s:i}", "errors", list, "dropped", errs->dropped));
	} else {
		const struct config *old = app_config_acquire(a);
		keep_restart_only(old, fresh);
		app_config_release(a, old);
		app_config_replace(a, fresh);
		/* Secrets are re-read and the prober follows the new contracts. */
		probing_stop(probing_now);
		probing_now = probing_start(a, a->writer, fresh);
		log_set_level(fresh->log_level);
		atomic_fetch_add(&a->metrics->reload_ok, 1);
		log_emit(LOG_INFO, "configuration reloaded",
			 json_pack("{s:s,s:s}", "environment", fresh->environment, "log_level",
				   log_level_name(fresh->log_level)));
	}
	free(errs);
	config_dispose(fresh);
	free(fresh);
}

static int wait_for_stop(struct app *a, const struct cmd_args *args, const sigset_t *set)
{
	for (;;) {
		int sig = 0;
		if (sigwait(set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			reload(a, args);
			continue;
		}
		return sig;
	}
}

int cmd_serve(int argc, char **argv)
{
	struct cmd_args args;
	struct config cfg;
	int rc0 = cmd_begin(&serve_spec, argc, argv, &args, &cfg);
	if (rc0 >= 0)
		return rc0;
	log_set_level(cfg.log_level);
	if (sodium_init() < 0) {
		log_printf(LOG_ERROR, "libsodium failed to initialise");
		return 1;
	}

	/* Block the signals we wait for before any thread exists, so every thread
	 * inherits the mask and only sigwait below receives them. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct perr err;
	perr_clear(&err);
	struct store *store = NULL;
	struct store_options sopt;
	struct secret_values *held = NULL;
	int orc = cmd_store_options(&cfg, &sopt, &held, &err);
	if (orc == 0)
		orc = store_open(cfg.db, &sopt, &store, &err);
	secret_values_free(held);
	if (orc < 0) {
		log_emit(LOG_ERROR, "cannot open the store", json_pack("{s:s}", "reason", err.msg));
		return 1;
	}
	int from = 0, to = 0;
	long long t0 = clock_mono_us();
	if (store_migrate(store, &from, &to, &err) < 0) {
		log_emit(LOG_ERROR, "cannot migrate the store", json_pack("{s:s}", "reason", err.msg));
		store_close(store);
		return 1;
	}
	int threads = server_thread_count(cfg.threads);
	struct metrics *metrics = metrics_new(threads, site_routes, site_nroutes, clock_wall_ms());
	hist_observe(&metrics->store[STORE_OP_MIGRATE], clock_mono_us() - t0);
	if (from != to)
		log_emit(LOG_INFO, "store migrated", json_pack("{s:i,s:i}", "from", from, "to", to));

	struct app app;
	app_init(&app, &cfg, store, metrics, clock_wall_ms());
	app_check_store(&app);
	web_assets_init();
	int rc = 1;
	struct server *srv = NULL;
	struct writer *writer = NULL;
	struct hub_options hopt = {
		.idle_after_ms = cfg.idle_after_ms,
		.ring = 4096,
		.max_pending_bytes = (size_t)cfg.stream_max_pending_bytes,
		.slow_drop_ms = cfg.stream_slow_drop_ms,
		.heartbeat_ms = 15000,
		.snapshots_kept = 8,
	};
	struct hub *hub = hub_new(&hopt);
	struct token_cache *tokens = token_cache_new();
	app.hub = hub;
	app.tokens = tokens;
	app_refresh_tokens(&app);
	struct login_cache *logins = login_cache_new();
	app.logins = logins;
	app_refresh_logins(&app);
	app.throttle = throttle_new(4096);
	randombytes_buf(app.proxy_key, sizeof app.proxy_key);
	app.jobs = offload_start();
	app.lineage = offload_start();
	app.debug = offload_start();
	app.signin = app.jobs ? signin_start(&app, app.jobs) : NULL;
	if (!logins || !app.throttle || !app.signin || !app.lineage || !app.debug) {
		log_printf(LOG_ERROR, "cannot start sign-in");
		goto out;
	}
	long long r0 = clock_mono_us();
	if (writer_start(&writer, store, hub, 250, &err) < 0) {
		log_emit(LOG_ERROR, "cannot start the event writer", json_pack("{s:s}", "reason", err.msg));
		goto out;
	}
	app.writer = writer;
	log_emit(LOG_INFO, "projection replayed",
		 json_pack("{s:I,s:f}", "version", (json_int_t)hub_version(hub), "duration_ms",
			   (double)(clock_mono_us() - r0) / 1000.0));
	probing_now = probing_start(&app, writer, &cfg);
	if (app_monitor_start(&app) < 0) {
		log_printf(LOG_ERROR, "cannot start the readiness monitor");
		goto out;
	}
	const struct server_host host = {&app, metrics, app_config_acquire, app_config_release};
	if (server_start(&srv, &host, &cfg, &site_portal, &err) < 0) {
		log_emit(LOG_ERROR, "cannot start the HTTP server",
			 json_pack("{s:s,s:s}", "reason", err.msg, "field", err.field));
		goto out;
	}
	log_emit(LOG_INFO, "listening",
		 json_pack("{s:s,s:i,s:s,s:s}", "listen", server_address(srv), "threads",
			   server_threads(srv), "version", PORTAL_VERSION, "environment",
			   cfg.environment));

	int sig = wait_for_stop(&app, &args, &set);
	const struct config *now = app_config_acquire(&app);
	int drain_ms = now->drain_timeout_ms;
	app_config_release(&app, now);
	atomic_store(&app.draining, 1);
	log_emit(LOG_INFO, "draining",
		 json_pack("{s:s,s:i}", "signal", sig == SIGINT ? "SIGINT" : "SIGTERM",
			   "timeout_ms", drain_ms));
	long long d0 = clock_mono_us();
	/* Streams never finish on their own: end them so the drain can. */
	hub_close_streams(hub);
	server_drain(srv, drain_ms);
	/* No request waits on an offloaded job now. */
	offload_stop(app.jobs);
	app.jobs = NULL;
	offload_stop(app.lineage);
	app.lineage = NULL;
	offload_stop(app.debug);
	app.debug = NULL;
	rc = 0;
	log_emit(LOG_INFO, "drained",
		 json_pack("{s:f}", "duration_ms", (double)(clock_mono_us() - d0) / 1000.0));
out:
	/* Order: requests are done (drained), so the writer answers nobody;
	 * then the hub's loop events go before the loops' bases. */
	probing_stop(probing_now); /* it appends through the writer */
	probing_now = NULL;
	writer_stop(writer);
	app_monitor_stop(&app);
	hub_free(hub);
	server_free(srv);
	offload_stop(app.jobs);
	offload_stop(app.lineage);
	offload_stop(app.debug);
	signin_free(app.signin);
	token_cache_free(tokens);
	login_cache_free(logins);
	throttle_free(app.throttle);
	app_destroy(&app);
	store_close(store);
	metrics_free(metrics);
	log_emit(LOG_INFO, "stopped", json_pack("{s:i,s:b}", "exit_code", rc, "store_closed", 1));
	config_dispose(&cfg);
	return rc;
}
