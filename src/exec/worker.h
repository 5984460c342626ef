/* worker: the pool that drains the proposal queue. Each of N threads leases
 * the next due proposal from the store, keeps the lease alive while the
 * attempt runs, runs it on its kind's executor, and records the outcome:
 * executed with evidence, queued again after a backoff, or the dead letter.
 * Stopping stops leasing, lets running attempts finish for a while, then
 * cancels the rest and gives them back to the queue. Many workers, in one
 * process or many, may share a store: the lease is the only coordination. */
#ifndef PORTAL_WORKER_H
#define PORTAL_WORKER_H

#include <stddef.h>
#include <stdint.h>

#include "adapters/secrets.h"
#include "exec/executor.h"
#include "store/store.h"

#define WORKER_MAX_CONCURRENCY 64
/* A lease outlasts the kind's timeout by this much, so a slow finish or one
 * missed heartbeat does not hand the proposal to someone else. */
#define WORKER_LEASE_SLACK_MS 30000
#define WORKER_POLL_MS 200
#define WORKER_BACKOFF_MAX_MS 300000

struct worker_options {
	const char *id;        /* the lease owner's name, unique per process (host:pid) */
	int concurrency;       /* threads, 1..WORKER_MAX_CONCURRENCY */
	int poll_ms;           /* idle wait between empty leases; 0 = WORKER_POLL_MS */
	int lease_slack_ms;    /* 0 = WORKER_LEASE_SLACK_MS */
	/* The kinds this worker can run (borrowed, must outlive the worker). A
	 * proposal of another kind goes to the dead letter, saying so. */
	const struct proposal_kind *kinds;
	size_t nkinds;
	const struct catalogue *cat; /* components, for http executors (borrowed) */
	/* Runs one attempt; NULL = executor_run. Tests put a stand-in here. */
	int (*run)(const struct exec_job *job, struct exec_result *out);
	int kill_grace_ms;     /* exec: SIGTERM → SIGKILL; 0 = EXEC_KILL_GRACE_MS */
};

struct worker;

/* Starts the threads on st (borrowed: close it after worker_stop). secrets
 * (may be NULL) becomes the worker's: see worker_set_secrets. Returns 0, or
 * PERR_INVALID (an option out of range, named) / PERR_INTERNAL. */
int worker_start(struct worker **out, struct store *st, const struct worker_options *opt,
		 struct secret_values *secrets, struct perr *err);

/* Replaces the resolved secrets, taking ownership of v (NULL = none). An
 * attempt already running keeps the values it started with; the old set is
 * wiped when the last of those ends. */
void worker_set_secrets(struct worker *w, struct secret_values *v);

/* Stops leasing; waits up to drain_ms for running attempts to finish and be
 * recorded; cancels those still running after that, each of which gives its
 * proposal back to the queue (store release); joins the threads and frees w.
 * Returns how many proposals were given back. NULL is fine (0). */
int worker_stop(struct worker *w, int drain_ms);

/* The wait before attempt attempts+1, after attempts failed ones:
 * min(1000 * 2^(attempts-1), WORKER_BACKOFF_MAX_MS) plus a jitter of up to
 * 20% of that, chosen by rnd (uniform over 32 bits). Pure. */
long long worker_backoff_ms(int attempts, uint32_t rnd);

enum worker_outcome { WORKER_EXECUTED, WORKER_RETRY, WORKER_DEAD };

/* What a finished attempt leads to: executed when ok; another attempt when
 * retryable and fewer than max_attempts were started (max_attempts < 1 counts
 * as 1); else the dead letter. Pure. */
enum worker_outcome worker_decide(const struct exec_result *r, int attempts, int max_attempts);

#endif
