/* worker: `portal worker` — runs approved proposals from the store's queue
 * on their kinds' executors (exec, http, temporal) with N threads, and
 * carries executed proposals through proof (proof/prover.h). SIGHUP re-reads
 * the secrets; SIGTERM/SIGINT stop leasing, let running attempts finish up to
 * the drain timeout, give the rest back to the queue, and exit 0. Signals
 * are blocked in every thread and taken with sigwait here, as serve does.
 * The kinds come from the configuration read at start: changing them needs a
 * restart. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "adapters/secrets.h"
#include "cmd/cmd.h"
#include "exec/worker.h"
#include "proof/planes.h"
#include "store/store.h"
#include "util/log.h"

extern char **environ;

#define WORKER_DEFAULT_CONCURRENCY 4

static const char *const worker_opts[] = {"concurrency", "id", "lease-slack-ms", NULL};

/* A numeric command-line option within [min, max]; -1 after saying why. */
static int number_option(const struct cmd_args *args, const char *name, long min, long max, long *out)
{
	const char *v = cmd_option(args, name);
	if (!v)
		return 0;
	char *end = NULL;
	long n = strtol(v, &end, 10);
	if (!*v || *end || n < min || n > max) {
		fprintf(stderr, "portal worker: --%s must be a number from %ld to %ld\n", name, min, max);
		return -1;
	}
	*out = n;
	return 0;
}

static const struct cmd_spec worker_spec = {
	.name = "worker",
	.summary = "Run approved proposals from the queue on their kinds' executors.\n"
		   "  --concurrency N   attempts at once (1-64, default 4)\n"
		   "  --id NAME         this worker's name in leases and the audit log\n"
		   "                    (default host:pid; unique per running worker)\n"
		   "  --lease-slack-ms N  how long a lease outlasts the kind's timeout, so a\n"
		   "                    dead worker's proposal is taken over after timeout + N\n"
		   "                    (100-3600000, default 30000)\n"
		   "SIGHUP re-reads the secrets; SIGTERM or SIGINT stops leasing, lets running\n"
		   "attempts finish within the drain timeout, gives the rest back, exits 0.",
	.settings = CONFIG_CMD_WORKER,
	.options = worker_opts,
};

/* Resolves the catalogue's secrets and warns about each one a kind needs
 * that is not present (name, state and why, never a value). NULL when none
 * could be resolved. */
static struct secret_values *resolve_secrets(const struct catalogue *cat)
{
	struct secret_values *v = NULL;
	struct secret_status *sts = NULL;
	size_t n = 0;
	struct perr err = {0};
	if (secrets_resolve(cat, environ, &v, &sts, &n, &err) < 0) {
		log_emit(LOG_ERROR, "cannot resolve secrets", json_pack("{s:s}", "reason", err.msg));
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		if (sts[i].state == SECRET_PRESENT)
			continue;
		for (size_t k = 0; k < cat->nkinds; k++)
			if (strcmp(cat->kinds[k].secret, sts[i].name) == 0) {
				log_emit(LOG_WARN, "secret not available",
					 json_pack("{s:s,s:s,s:s,s:s}", "secret", sts[i].name,
						   "state", secret_state_name(sts[i].state),
						   "detail", sts[i].detail, "needed_by_kind",
						   cat->kinds[k].name));
				break;
			}
	}
	free(sts);
	return v;
}

/* A lease owner's name: printable, no spaces, 1-63 bytes. */
static int valid_id(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 63)
		return 0;
	for (; *s; s++)
		if (*s <= ' ' || *s > '~')
			return 0;
	return 1;
}

int cmd_worker(int argc, char **argv)
{
	struct cmd_args args;
	struct config cfg;
	int rc0 = cmd_begin(&worker_spec, argc, argv, &args, &cfg);
	if (rc0 >= 0)
		return rc0;
	int rc = 2;
	struct store *st = NULL;
	struct worker *w = NULL;
	struct prover *pv = NULL;
	struct prover_planes planes = {0};

	long concurrency = WORKER_DEFAULT_CONCURRENCY, slack = WORKER_LEASE_SLACK_MS;
	if (number_option(&args, "concurrency", 1, WORKER_MAX_CONCURRENCY, &concurrency) < 0 ||
	    number_option(&args, "lease-slack-ms", 100, 3600000, &slack) < 0)
		goto out;
	char id[64];
	const char *given = cmd_option(&args, "id");
	if (given) {
		if (!valid_id(given)) {
			fprintf(stderr, "portal worker: --id must be 1-63 printable characters "
					"without spaces\n");
			goto out;
		}
		snprintf(id, sizeof id, "%s", given);
	} else {
		char host[48] = "";
		if (gethostname(host, sizeof host - 1) != 0 || !host[0])
			snprintf(host, sizeof host, "worker");
		host[sizeof host - 1] = 0;
		snprintf(id, sizeof id, "%s:%d", host, (int)getpid());
	}

	rc = 1;
	log_set_level(cfg.log_level);
	if (cfg.catalogue.nkinds == 0) {
		log_emit(LOG_ERROR, "nothing to run: the configuration declares no proposal kinds",
			 json_pack("{s:s}", "next", "declare kinds under proposals: in the "
						   "configuration file, then start the worker"));
		goto out;
	}
	struct perr err = {0};
	if (sodium_init() < 0 || executor_global_init(&err) < 0) {
		log_printf(LOG_ERROR, "libsodium or libcurl failed to initialise");
		goto out;
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

	if (cmd_open_store("worker", &cfg, &st) != 0)
		goto out;
	struct worker_options opt = {
		.id = id,
		.concurrency = (int)concurrency,
		.lease_slack_ms = (int)slack,
		.kinds = cfg.catalogue.kinds,
		.nkinds = cfg.catalogue.nkinds,
		.cat = &cfg.catalogue,
	};
	if (worker_start(&w, st, &opt, resolve_secrets(&cfg.catalogue), &err) < 0) {
		log_emit(LOG_ERROR, "cannot start the worker",
			 json_pack("{s:s,s:s}", "field", err.field, "reason", err.msg));
		goto out;
	}
	struct secret_values *plane_secrets = resolve_secrets(&cfg.catalogue);
	int planes_rc = proof_planes_open(&cfg, st, plane_secrets, &planes, &err);
	secret_values_free(plane_secrets); /* the planes keep what they need */
	char actor[80];
	snprintf(actor, sizeof actor, "worker:%s", id); /* as the store names a leasing worker */
	if (planes_rc < 0 || prover_start(&pv, st, &planes, actor, 0, 0, &err) < 0) {
		log_emit(LOG_ERROR, "cannot start the proof planes",
			 json_pack("{s:s,s:s}", "field", err.field, "reason", err.msg));
		goto out;
	}
	json_t *names = json_array();
	for (size_t i = 0; i < cfg.catalogue.nkinds; i++) {
		const struct proposal_kind *k = &cfg.catalogue.kinds[i];
		json_array_append_new(names, json_string(k->name));
	}
	log_emit(LOG_INFO, "worker started",
		 json_pack("{s:s,s:i,s:o,s:s,s:{s:s,s:s,s:s}}", "id", id, "concurrency",
			   (int)concurrency, "kinds", names, "version", PORTAL_VERSION, "proof",
			   "graph", planes.graph.ops->name, "warehouse", planes.warehouse.ops->name,
			   "evidence", planes.evidence.ops->name));

	int sig = 0;
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig != SIGHUP)
			break;
		worker_set_secrets(w, resolve_secrets(&cfg.catalogue));
		log_emit(LOG_INFO, "secrets re-read", NULL);
	}
	log_emit(LOG_INFO, "draining",
		 json_pack("{s:s,s:i}", "signal", sig == SIGINT ? "SIGINT" : "SIGTERM",
			   "timeout_ms", cfg.drain_timeout_ms));
	int released = worker_stop(w, cfg.drain_timeout_ms);
	w = NULL;
	prover_stop(pv);
	pv = NULL;
	rc = 0;
	log_emit(LOG_INFO, "stopped", json_pack("{s:i,s:i}", "exit_code", rc, "given_back", released));
out:
	worker_stop(w, 0);
	prover_stop(pv);
	proof_planes_close(&planes);
	store_close(st);
	config_dispose(&cfg);
	return rc;
}
