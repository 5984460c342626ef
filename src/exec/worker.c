/* worker: N lease-run-record threads and one heartbeat thread over the
 * store's queue. The store decides who holds what (the lease); this file
 * only asks, keeps leases alive, and records outcomes. It logs what happened
 * to each attempt, never a secret value or an executor's URL (executor errors
 * are written to carry neither). */
#include "exec/worker.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "util/clock.h"
#include "util/log.h"

/* How often the heartbeat thread looks for leases to extend. */
#define HEARTBEAT_TICK_MS 50
/* After a store error, the wait before asking again. */
#define STORE_ERROR_WAIT_MS 1000

/* Resolved secrets shared by running attempts: freed when the last holder
 * lets go, so a SIGHUP never pulls a value from under a request. */
struct secrets_ref {
	struct secret_values *v;
	int refs; /* under worker.mu */
};

struct slot {
	struct worker *w;
	pthread_t thread;
	int started;
	/* Under worker.mu: */
	int busy;
	char id[STORE_PROPOSAL_ID_MAX];
	long long visibility_ms;
	long long next_beat_us;
	int lost; /* a heartbeat found the lease gone */
	atomic_int cancel;
};

struct worker {
	struct store *st;
	struct worker_options opt;
	char id[64];
	long long lease_ms; /* asked for at lease time, before the kind is known */
	atomic_int stopping;
	atomic_int released;
	pthread_mutex_t mu;
	pthread_cond_t cv; /* stop, slot done, heartbeat tick */
	struct secrets_ref *secrets;
	struct slot *slots;
	int nslots;
	pthread_t beat;
	int beat_started;
	int beat_stop; /* under mu */
};

/* --- pure */

long long worker_backoff_ms(int attempts, uint32_t rnd)
{
	if (attempts < 1)
		attempts = 1;
	long long base = WORKER_BACKOFF_MAX_MS;
	if (attempts <= 20) {
		base = 1000LL << (attempts - 1);
		if (base > WORKER_BACKOFF_MAX_MS)
			base = WORKER_BACKOFF_MAX_MS;
	}
	long long jitter = (long long)(((unsigned long long)(base / 5) * rnd) >> 32);
	return base + jitter;
}

enum worker_outcome worker_decide(const struct exec_result *r, int attempts, int max_attempts)
{
	if (r->ok)
		return WORKER_EXECUTED;
	if (max_attempts < 1)
		max_attempts = 1;
	return r->retryable && attempts < max_attempts ? WORKER_RETRY : WORKER_DEAD;
}

/* --- the store's queue */

static int q_lease(struct worker *w, long long now, struct store_proposal *p, struct perr *err)
{
	return store_proposal_lease(w->st, w->id, now, w->lease_ms, p, err);
}

static int q_heartbeat(struct worker *w, const char *id, long long vis, struct perr *err)
{
	return store_proposal_heartbeat(w->st, id, w->id, clock_wall_ms(), vis, err);
}

static int q_release(struct worker *w, const char *id, struct perr *err)
{
	return store_proposal_release(w->st, id, w->id, clock_wall_ms(), err);
}

static int q_finish(struct worker *w, const char *id, int ok, const char *evidence,
		    const char *error, long long now, long long retry_at, struct perr *err)
{
	return store_proposal_finish(w->st, id, w->id, ok, evidence, error, now, retry_at, err);
}

/* --- secrets */

static struct secrets_ref *secrets_acquire(struct worker *w)
{
	pthread_mutex_lock(&w->mu);
	struct secrets_ref *r = w->secrets;
	if (r)
		r->refs++;
	pthread_mutex_unlock(&w->mu);
	return r;
}

static void secrets_release(struct worker *w, struct secrets_ref *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&w->mu);
	int last = --r->refs == 0;
	pthread_mutex_unlock(&w->mu);
	if (last) {
		secret_values_free(r->v);
		free(r);
	}
}

void worker_set_secrets(struct worker *w, struct secret_values *v)
{
	struct secrets_ref *r = NULL;
	if (v) {
		r = calloc(1, sizeof *r);
		if (!r)
			abort();
		r->v = v;
		r->refs = 1;
	}
	pthread_mutex_lock(&w->mu);
	struct secrets_ref *old = w->secrets;
	w->secrets = r;
	pthread_mutex_unlock(&w->mu);
	secrets_release(w, old);
}

/* --- one attempt */

static const struct proposal_kind *kind_find(const struct worker *w, const char *name)
{
	for (size_t i = 0; i < w->opt.nkinds; i++)
		if (strcmp(w->opt.kinds[i].name, name) == 0)
			return &w->opt.kinds[i];
	return NULL;
}

static void wait_ms(struct worker *w, int ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&w->mu);
	if (!atomic_load(&w->stopping))
		pthread_cond_timedwait(&w->cv, &w->mu, &ts);
	pthread_mutex_unlock(&w->mu);
}

static void record(struct worker *w, const struct store_proposal *p, const char *kind,
		   const struct exec_result *r, long long duration_ms, int max_attempts)
{
	enum worker_outcome o = worker_decide(r, p->attempts, max_attempts);
	char *evidence = r->evidence ? json_dumps(r->evidence, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	long long now = clock_wall_ms(), retry_at = 0;
	if (o == WORKER_RETRY)
		retry_at = now + worker_backoff_ms(p->attempts, randombytes_random());
	struct perr err = {0};
	int rc = q_finish(w, p->id, o == WORKER_EXECUTED, evidence,
			  o == WORKER_EXECUTED ? NULL : r->error, now, retry_at, &err);
	free(evidence);
	if (rc < 0) {
		log_emit(LOG_WARN,
			 rc == PERR_CONFLICT ? "lease lost before the outcome was recorded; another "
					       "worker holds the proposal now"
					     : "cannot record the outcome of an attempt",
			 json_pack("{s:s,s:s,s:i,s:s}", "proposal", p->id, "kind", kind, "attempt",
				   p->attempts, "reason", err.msg));
		return;
	}
	static const char *const what[] = {"executed", "retry", "failed"};
	json_t *f = json_pack("{s:s,s:s,s:i,s:s,s:I}", "proposal", p->id, "kind", kind, "attempt",
			      p->attempts, "outcome", what[o], "duration_ms", (json_int_t)duration_ms);
	if (o != WORKER_EXECUTED)
		json_object_set_new(f, "error", json_string(r->error));
	if (o == WORKER_RETRY)
		json_object_set_new(f, "retry_in_ms", json_integer(retry_at - now));
	json_t *digest = r->evidence ? json_object_get(r->evidence, "digest") : NULL;
	if (digest)
		json_object_set(f, "digest", digest);
	log_emit(o == WORKER_EXECUTED ? LOG_INFO : LOG_WARN,
		 o == WORKER_EXECUTED ? "proposal executed"
		 : o == WORKER_RETRY  ? "attempt failed; will retry"
				      : "attempt failed; no more retries (dead letter)",
		 f);
}

static void run_one(struct slot *s, const struct store_proposal *p)
{
	struct worker *w = s->w;
	const struct proposal_kind *k = kind_find(w, p->kind);
	if (!k) {
		struct exec_result r = {0};
		exec_fail(&r, 0, "this worker's configuration has no proposal kind %s", p->kind);
		record(w, p, p->kind, &r, 0, 1);
		return;
	}
	/* Leased once more than the kind allows: the last attempt's worker died
	 * (its lease ran out), so that attempt was the last one. A proposal whose
	 * run kills its worker each time ends in the dead letter, not in a loop. */
	if (p->attempts > (k->max_attempts > 0 ? k->max_attempts : 1)) {
		struct exec_result r = {0};
		exec_fail(&r, 0, "attempt %d of %d ended with its worker gone (the lease ran out); "
			  "no more attempts", p->attempts - 1, k->max_attempts);
		record(w, p, k->name, &r, 0, k->max_attempts);
		exec_result_clear(&r);
		return;
	}
	long long vis = (long long)(k->timeout_ms > 0 ? k->timeout_ms : 0) +
			(w->opt.lease_slack_ms > 0 ? w->opt.lease_slack_ms : WORKER_LEASE_SLACK_MS);
	pthread_mutex_lock(&w->mu);
	s->busy = 1;
	snprintf(s->id, sizeof s->id, "%s", p->id);
	s->visibility_ms = vis;
	/* The lease was taken for the longest kind; the first beat brings it to
	 * this kind's length. */
	s->next_beat_us = clock_mono_us();
	s->lost = 0;
	atomic_store(&s->cancel, 0);
	pthread_mutex_unlock(&w->mu);

	struct secrets_ref *sec = secrets_acquire(w);
	const char *secret = k->secret[0] && sec ? secret_value(sec->v, k->secret) : NULL;
	if (k->secret[0] && !secret)
		log_emit(LOG_WARN, "the kind's secret is not available; calling without it",
			 json_pack("{s:s,s:s,s:s}", "proposal", p->id, "kind", k->name, "secret",
				   k->secret));
	struct exec_job job = {
		.kind = k,
		.proposal = p,
		.cat = w->opt.cat,
		.secret_value = secret,
		.timeout_ms = k->timeout_ms,
		.cancel = &s->cancel,
		.kill_grace_ms = w->opt.kill_grace_ms,
	};
	log_emit(LOG_INFO, "attempt started",
		 json_pack("{s:s,s:s,s:i,s:s}", "proposal", p->id, "kind", k->name, "attempt",
			   p->attempts, "executor", executor_kind_name(k->executor)));
	struct exec_result r;
	long long t0 = clock_mono_us();
	(w->opt.run ? w->opt.run : executor_run)(&job, &r);
	long long ms = (clock_mono_us() - t0) / 1000;
	secrets_release(w, sec);

	if (r.cancelled) {
		struct perr err = {0};
		if (q_release(w, p->id, &err) < 0)
			log_emit(LOG_WARN, "cannot give a stopped proposal back to the queue",
				 json_pack("{s:s,s:s}", "proposal", p->id, "reason", err.msg));
		else {
			atomic_fetch_add(&w->released, 1);
			log_emit(LOG_INFO, "stopped attempt; proposal given back to the queue",
				 json_pack("{s:s,s:s,s:i}", "proposal", p->id, "kind", k->name,
					   "attempt", p->attempts));
		}
	} else {
		record(w, p, k->name, &r, ms, k->max_attempts);
	}
	exec_result_clear(&r);

	pthread_mutex_lock(&w->mu);
	s->busy = 0;
	s->id[0] = 0;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

static void *slot_main(void *arg)
{
	struct slot *s = arg;
	struct worker *w = s->w;
	int poll_ms = w->opt.poll_ms > 0 ? w->opt.poll_ms : WORKER_POLL_MS;
	while (!atomic_load(&w->stopping)) {
		struct store_proposal p;
		memset(&p, 0, sizeof p);
		struct perr err = {0};
		int rc = q_lease(w, clock_wall_ms(), &p, &err);
		if (rc < 0) {
			log_emit(LOG_WARN, "cannot lease from the queue",
				 json_pack("{s:s}", "reason", err.msg));
			wait_ms(w, STORE_ERROR_WAIT_MS);
			continue;
		}
		if (rc == 0) {
			wait_ms(w, poll_ms);
			continue;
		}
		run_one(s, &p);
		store_proposal_clear(&p);
	}
	return NULL;
}

/* --- heartbeats */

static void *beat_main(void *arg)
{
	struct worker *w = arg;
	pthread_mutex_lock(&w->mu);
	while (!w->beat_stop) {
		long long now = clock_mono_us();
		for (int i = 0; i < w->nslots; i++) {
			struct slot *s = &w->slots[i];
			if (!s->busy || s->lost || s->next_beat_us > now)
				continue;
			char id[STORE_PROPOSAL_ID_MAX];
			memcpy(id, s->id, sizeof id);
			long long vis = s->visibility_ms;
			s->next_beat_us = now + vis / 3 * 1000;
			pthread_mutex_unlock(&w->mu);
			struct perr err = {0};
			int rc = q_heartbeat(w, id, vis, &err);
			pthread_mutex_lock(&w->mu);
			if (rc == PERR_CONFLICT && strcmp(s->id, id) == 0) {
				s->lost = 1;
				log_emit(LOG_WARN, "lease lost while the attempt runs",
					 json_pack("{s:s,s:s}", "proposal", id, "reason", err.msg));
			} else if (rc < 0) {
				log_emit(LOG_WARN, "cannot extend a lease",
					 json_pack("{s:s,s:s}", "proposal", id, "reason", err.msg));
			}
		}
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += HEARTBEAT_TICK_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&w->cv, &w->mu, &ts);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* --- start and stop */

int worker_start(struct worker **out, struct store *st, const struct worker_options *opt,
		 struct secret_values *secrets, struct perr *err)
{
	*out = NULL;
	if (!opt->id || !opt->id[0] || strlen(opt->id) >= 64) {
		secret_values_free(secrets);
		return perr_set(err, PERR_INVALID, "id", "the worker needs a name of 1-63 characters");
	}
	if (opt->concurrency < 1 || opt->concurrency > WORKER_MAX_CONCURRENCY) {
		secret_values_free(secrets);
		return perr_set(err, PERR_INVALID, "concurrency",
				"concurrency must be between 1 and %d", WORKER_MAX_CONCURRENCY);
	}
	if (executor_global_init(err) < 0) {
		secret_values_free(secrets);
		return err ? err->code : PERR_INTERNAL;
	}
	struct worker *w = calloc(1, sizeof *w);
	if (!w)
		abort();
	w->st = st;
	w->opt = *opt;
	snprintf(w->id, sizeof w->id, "%s", opt->id);
	w->opt.id = w->id;
	long long slack = opt->lease_slack_ms > 0 ? opt->lease_slack_ms : WORKER_LEASE_SLACK_MS;
	long long longest = 0;
	for (size_t i = 0; i < opt->nkinds; i++)
		if (opt->kinds[i].timeout_ms > longest)
			longest = opt->kinds[i].timeout_ms;
	w->lease_ms = longest + slack;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	worker_set_secrets(w, secrets);
	w->nslots = opt->concurrency;
	w->slots = calloc((size_t)w->nslots, sizeof *w->slots);
	if (!w->slots)
		abort();
	if (pthread_create(&w->beat, NULL, beat_main, w) != 0) {
		worker_stop(w, 0);
		return perr_set(err, PERR_INTERNAL, NULL, "cannot start the heartbeat thread");
	}
	w->beat_started = 1;
	for (int i = 0; i < w->nslots; i++) {
		w->slots[i].w = w;
		if (pthread_create(&w->slots[i].thread, NULL, slot_main, &w->slots[i]) != 0) {
			worker_stop(w, 0);
			return perr_set(err, PERR_INTERNAL, NULL, "cannot start worker thread %d", i);
		}
		w->slots[i].started = 1;
	}
	*out = w;
	return 0;
}

int worker_stop(struct worker *w, int drain_ms)
{
	if (!w)
		return 0;
	pthread_mutex_lock(&w->mu);
	atomic_store(&w->stopping, 1);
	pthread_cond_broadcast(&w->cv);
	/* Let running attempts finish, up to drain_ms. */
	long long deadline = clock_mono_us() + (long long)(drain_ms > 0 ? drain_ms : 0) * 1000;
	for (;;) {
		int busy = 0;
		for (int i = 0; i < w->nslots; i++)
			busy += w->slots[i].busy;
		long long left = deadline - clock_mono_us();
		if (!busy || left <= 0)
			break;
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		long long step = left < 50000 ? left : 50000;
		ts.tv_nsec += step * 1000;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&w->cv, &w->mu, &ts);
	}
	/* The rest are stopped; each gives its proposal back. */
	for (int i = 0; i < w->nslots; i++)
		if (w->slots[i].busy)
			atomic_store(&w->slots[i].cancel, 1);
	pthread_mutex_unlock(&w->mu);
	for (int i = 0; i < w->nslots; i++)
		if (w->slots[i].started)
			pthread_join(w->slots[i].thread, NULL);
	if (w->beat_started) {
		pthread_mutex_lock(&w->mu);
		w->beat_stop = 1;
		pthread_cond_broadcast(&w->cv);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->beat, NULL);
	}
	int released = atomic_load(&w->released);
	worker_set_secrets(w, NULL);
	free(w->slots);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
	return released;
}
