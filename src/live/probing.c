/* probing: see probing.h. */
#include "live/probing.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/prober.h"
#include "adapters/secrets.h"
#include "app/app.h"
#include "live/writer.h"
#include "util/log.h"

extern char **environ;

struct probing {
	struct prober *prober;
	struct secret_values *values;
	struct writer *writer;
	atomic_ullong seq;
};

static void job_done(struct write_job *j)
{
	if (j->batch.rc < 0)
		log_emit(LOG_WARN, "cannot record a health change",
			 json_pack("{s:s}", "reason", j->batch.err.msg));
	write_job_free(j);
}

/* On the prober thread: one health.changed event per change. */
static void report(void *arg, const struct probe_result *r)
{
	struct probing *p = arg;
	char id[128];
	snprintf(id, sizeof id, EVENT_ID_PROBE_PREFIX "%s-%lld-%llu", r->component, r->at_ms,
		 (unsigned long long)atomic_fetch_add(&p->seq, 1));
	json_t *data = json_pack("{s:s,s:s,s:I}", "component", r->component, "state", r->state,
				 "latency_ms", (json_int_t)(r->latency_ms < 0 ? 0 : r->latency_ms));
	if (r->detail[0])
		json_object_set_new(data, "detail", json_string(r->detail));
	json_t *doc = json_pack("{s:s,s:s,s:s,s:s,s:I,s:o}", "id", id, "type", "health.changed",
				"project", "fractalops", "source", "prober", "ts",
				(json_int_t)r->at_ms, "data", data);
	struct write_job *j = write_job_new(1);
	j->doc = doc;
	struct perr err = {0};
	if (event_from_json(doc, r->at_ms, "prober", &j->batch.evs[0], &err) < 0) {
		log_emit(LOG_ERROR, "prober produced an invalid event",
			 json_pack("{s:s,s:s}", "field", err.field, "reason", err.msg));
		write_job_free(j);
		return;
	}
	j->base = NULL;
	j->done = job_done;
	writer_submit(p->writer, j);
}

struct probing *probing_start(struct app *app, struct writer *w, const struct config *cfg)
{
	const struct catalogue *cat = &cfg->catalogue;
	struct probing *p = calloc(1, sizeof *p);
	if (!p)
		abort();
	p->writer = w;
	struct secret_status *st = NULL;
	size_t nst = 0;
	struct perr err = {0};
	if (secrets_resolve(cat, environ, &p->values, &st, &nst, &err) < 0) {
		log_emit(LOG_ERROR, "cannot resolve secrets", json_pack("{s:s}", "reason", err.msg));
	} else {
		for (size_t i = 0; i < nst; i++)
			if (st[i].state != SECRET_PRESENT)
				log_emit(LOG_WARN, "secret not available",
					 json_pack("{s:s,s:s,s:s,s:s}", "secret", st[i].name, "state",
						   secret_state_name(st[i].state), "detail",
						   st[i].detail, "needed_by", st[i].needed_by));
		app_set_secrets(app, st, nst);
	}
	struct prober_target *t = calloc(cat->ncomponents + 1, sizeof *t);
	if (!t)
		abort();
	size_t n = 0;
	for (size_t i = 0; i < cat->ncomponents; i++) {
		const struct component_contract *c = &cat->components[i];
		if (!c->internal_url.s[0])
			continue;
		t[n].c = c;
		t[n].credential = c->auth != CONTRACT_AUTH_NONE && p->values
					  ? secret_value(p->values, c->auth_secret)
					  : NULL;
		n++;
	}
	if (n && prober_start(&p->prober, t, n, report, p, &err) < 0)
		log_emit(LOG_ERROR, "cannot start the prober",
			 json_pack("{s:s,s:s}", "field", err.field, "reason", err.msg));
	else if (n)
		log_emit(LOG_INFO, "probing", json_pack("{s:i}", "components", (int)n));
	free(t);
	return p;
}

void probing_stop(struct probing *p)
{
	if (!p)
		return;
	prober_stop(p->prober);
	secret_values_free(p->values);
	free(p);
}
