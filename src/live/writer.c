/* writer: see writer.h. Group commit: everything queued while the previous
 * transaction was being made durable goes into the next one, so the number
 * of fsyncs grows with time, not with the number of producers. */
#include "live/writer.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "live/hub.h"
#include "util/log.h"

#define SCAN_CHUNK 4096

struct writer {
	struct store *st;
	struct hub *hub;
	int poll_ms;
	pthread_t tid;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct write_job *head, **tail;
	int stopping, stopped;
	int nudged; /* the store says others may have appended */
};

struct write_job *write_job_new(size_t n)
{
	struct write_job *j = calloc(1, sizeof *j);
	if (!j)
		abort();
	j->batch.n = n;
	j->batch.evs = calloc(n ? n : 1, sizeof *j->batch.evs);
	j->batch.seqs = calloc(n ? n : 1, sizeof *j->batch.seqs);
	j->batch.fresh = calloc(n ? n : 1, sizeof *j->batch.fresh);
	if (!j->batch.evs || !j->batch.seqs || !j->batch.fresh)
		abort();
	return j;
}

void write_job_free(struct write_job *j)
{
	if (!j)
		return;
	for (size_t i = 0; i < j->batch.n; i++)
		event_release(&j->batch.evs[i]);
	free(j->batch.evs);
	free(j->batch.seqs);
	free(j->batch.fresh);
	json_decref(j->doc);
	free(j);
}

static int apply_one(void *arg, const struct event *ev)
{
	struct perr err = {0};
	if (hub_apply(arg, ev, &err) < 0) {
		log_printf(LOG_ERROR, "projection refused a logged event: %s", err.msg);
		return -1;
	}
	return 0;
}

/* Folds every log entry after the hub's version into it. */
static int catch_up(struct writer *w)
{
	for (;;) {
		struct perr err = {0};
		long long n = store_scan(w->st, hub_version(w->hub), SCAN_CHUNK, apply_one, w->hub,
					 &err);
		if (n < 0) {
			log_emit(LOG_ERROR, "cannot read the event log",
				 json_pack("{s:s}", "error", err.msg));
			return (int)n;
		}
		if (n < SCAN_CHUNK)
			return 0;
	}
}

/* After a commit: when this commit's new events directly follow the hub's
 * version (the usual case: this is the only writer), fold them from memory;
 * otherwise someone else appended in between, so read the log. */
static void fold_committed(struct writer *w, struct write_job *list)
{
	long long next = hub_version(w->hub) + 1;
	int contiguous = 1;
	for (struct write_job *j = list; j && contiguous; j = j->next)
		for (size_t i = 0; j->batch.rc == 0 && i < j->batch.n && contiguous; i++)
			if (j->batch.fresh[i])
				contiguous = j->batch.seqs[i] == next++;
	if (!contiguous) {
		catch_up(w);
		return;
	}
	for (struct write_job *j = list; j; j = j->next)
		for (size_t i = 0; j->batch.rc == 0 && i < j->batch.n; i++)
			if (j->batch.fresh[i]) {
				j->batch.evs[i].seq = j->batch.seqs[i];
				apply_one(w->hub, &j->batch.evs[i]);
			}
}

static void answer(evutil_socket_t fd, short what, void *arg)
{
	struct write_job *j = arg;
	j->done(j);
}

static void answer_all(struct write_job *list)
{
	static const struct timeval now = {0, 0};
	for (struct write_job *j = list, *n; j; j = n) {
		n = j->next;
		j->next = NULL;
		if (!j->base) /* nobody waits on a loop (the prober): finish here */
			j->done(j);
		else if (event_base_once(j->base, -1, EV_TIMEOUT, answer, j, &now) < 0)
			j->done(j); /* the loop is gone: nobody is waiting */
	}
}

static void commit(struct writer *w, struct write_job *list)
{
	struct store_batch *batches[256];
	while (list) {
		size_t nb = 0;
		struct write_job *chunk = list, *last = NULL;
		for (struct write_job *j = list; j && nb < 256; j = j->next) {
			batches[nb++] = &j->batch;
			last = j;
		}
		list = last->next;
		last->next = NULL;
		struct perr err = {0};
		if (store_append(w->st, batches, nb, &err) < 0) {
			for (size_t i = 0; i < nb; i++) {
				batches[i]->rc = err.code ? err.code : PERR_STORE;
				batches[i]->err = err;
			}
			log_emit(LOG_ERROR, "cannot append events",
				 json_pack("{s:s,s:i}", "error", err.msg, "batches", (int)nb));
		} else {
			fold_committed(w, chunk);
		}
		hub_publish(w->hub);
		answer_all(chunk);
	}
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->head && !w->stopping && !w->nudged) {
			struct timespec until;
			clock_gettime(CLOCK_MONOTONIC, &until);
			until.tv_nsec += (long)(w->poll_ms % 1000) * 1000000L;
			until.tv_sec += w->poll_ms / 1000 + until.tv_nsec / 1000000000L;
			until.tv_nsec %= 1000000000L;
			if (pthread_cond_timedwait(&w->cv, &w->mu, &until) == ETIMEDOUT)
				break;
		}
		struct write_job *list = w->head;
		w->head = NULL;
		w->tail = &w->head;
		int stop = w->stopping;
		w->nudged = 0;
		pthread_mutex_unlock(&w->mu);
		if (list) {
			commit(w, list);
		} else if (!stop) {
			/* Quiet: look for what other processes appended. */
			long long v = hub_version(w->hub);
			if (catch_up(w) == 0 && hub_version(w->hub) != v)
				hub_publish(w->hub);
		}
		pthread_mutex_lock(&w->mu);
		if (stop && !w->head)
			break;
	}
	w->stopped = 1;
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* From the store's listener thread: someone else may have appended. */
static void writer_nudge(void *arg)
{
	struct writer *w = arg;
	pthread_mutex_lock(&w->mu);
	w->nudged = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

int writer_start(struct writer **out, struct store *st, struct hub *hub, int poll_ms,
		 struct perr *err)
{
	struct writer *w = calloc(1, sizeof *w);
	if (!w)
		abort();
	w->st = st;
	w->hub = hub;
	w->poll_ms = poll_ms > 0 ? poll_ms : 250;
	w->tail = &w->head;
	pthread_mutex_init(&w->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (catch_up(w) < 0) {
		perr_set(err, PERR_STORE, "store.db", "cannot replay the event log");
		goto fail;
	}
	hub_settle(hub);
	if (pthread_create(&w->tid, NULL, writer_main, w) != 0) {
		perr_set(err, PERR_INTERNAL, NULL, "cannot start the writer thread");
		goto fail;
	}
	/* Where the store can say when others append (PostgreSQL's LISTEN),
	 * events from other replicas arrive at once; the poll stays as a net. */
	struct perr lerr = {0};
	if (store_events_listen(st, writer_nudge, w, &lerr) < 0)
		log_emit(LOG_WARN, "cannot listen for other replicas' events; polling only",
			 json_pack("{s:s}", "reason", lerr.msg));
	*out = w;
	return 0;
fail:
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
	return err->code;
}

void writer_submit(struct writer *w, struct write_job *j)
{
	j->next = NULL;
	pthread_mutex_lock(&w->mu);
	if (w->stopping) {
		pthread_mutex_unlock(&w->mu);
		j->batch.rc = perr_set(&j->batch.err, PERR_UNAVAILABLE, NULL,
				       "the server is shutting down; nothing was stored");
		answer_all(j);
		return;
	}
	*w->tail = j;
	w->tail = &j->next;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

void writer_stop(struct writer *w)
{
	if (!w)
		return;
	store_events_listen(w->st, NULL, NULL, NULL); /* no wake after this */
	pthread_mutex_lock(&w->mu);
	w->stopping = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->tid, NULL);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}
