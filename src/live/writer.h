/* writer: the one thread that appends to portal_live_events. Loop threads
 * hand it validated batches and go on serving; it commits whatever has
 * queued up in one transaction (each batch in its own savepoint, so a batch
 * stays all-or-nothing), folds the new log entries into the hub in seq
 * order, publishes one delta, and only then sends each batch's answer back
 * to the loop that owns the request. Acknowledged therefore means durable.
 * It also picks up entries other processes appended (`portal emit`). */
#ifndef PORTAL_WRITER_H
#define PORTAL_WRITER_H

#include <jansson.h>

#include "core/event.h"
#include "store/store.h"

struct hub;
struct event_base;
struct writer;

/* One batch of validated events and where its answer goes. batch.evs'
 * strings borrow from doc. */
struct write_job {
	struct store_batch batch;
	json_t *doc;            /* owns the parsed request body */
	char source[64];        /* what events without a source get; they borrow it */
	struct event_base *base; /* the loop to answer on; NULL: done runs on the writer */
	void (*done)(struct write_job *j); /* runs there; frees the job */
	void *arg;
	struct write_job *next;
};

/* Loads the log into the hub (replaying every event) and starts the thread.
 * poll_ms: how often to look for entries other processes appended. */
int writer_start(struct writer **out, struct store *st, struct hub *hub, int poll_ms,
		 struct perr *err);
/* Queues j (any thread). After writer_stop has begun, j is answered at once
 * with PERR_UNAVAILABLE. */
void writer_submit(struct writer *w, struct write_job *j);
/* Commits what is queued, answers it, and joins the thread. */
void writer_stop(struct writer *w);

/* A job for n events (arrays allocated, zeroed); the caller fills evs. */
struct write_job *write_job_new(size_t n);
/* Frees what a job owns (events' data references, doc, arrays) and the job. */
void write_job_free(struct write_job *j);

#endif
