/* worker: `portal worker` — runs approved proposals from the store's queue
 * on their kinds' executors (exec, http, temporal) with N threads, and
 * carries executed proposals through proof (proof/prover.h). SIGHUP re-reads
 * the secrets; SIGTERM/SIGINT stop leasing, let running attempts finish up to
 * the drain timeout, give the rest back to the queue, and exit 0. Signals
 * are blocked in every thread and taken with sigwait here, as serve does.
 * The kinds and the worker.* settings (concurrency, id, lease slack) come
 * from the configuration read at start: changing them needs a restart. */
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

static const struct cmd_spec worker_spec = {
	.name = "worker",
	.summary = "Run approved proposals from the queue on their kinds' executors.\n"
		   "SIGHUP re-reads the secrets; SIGTERM or SIGINT stops leasing, lets running\n"
		   "attempts finish within the drain timeout, gives the rest back, exits 0.",
	.settings = CONFIG_CMD_WORKER,
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

	/* worker.id was checked with the settings (printable, no spaces); empty
	 * means a name of this host and process. */
	char id[64];
	if (cfg.worker_id[0]) {
		snprintf(id, sizeof id, "%s", cfg.worker_id);
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
		.concurrency = cfg.worker_concurrency,
		.lease_slack_ms = cfg.worker_lease_slack_ms,
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
			   cfg.worker_concurrency, "kinds", names, "version", PORTAL_VERSION, "proof",
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
