/* executor: runs one attempt of one proposal's side effect on the backend its
 * kind names (exec: a local program; http: a POST to an owned component's
 * executor URL; temporal: a workflow start) and says what happened: done,
 * worth another attempt, or not, with evidence of the output. It neither
 * reads nor writes the store and never decides about retries: the worker
 * (worker.c) does. Each backend fills a struct executor_ops. */
#ifndef PORTAL_EXECUTOR_H
#define PORTAL_EXECUTOR_H

#include <jansson.h>
#include <stdatomic.h>
#include <stddef.h>

#include "core/contract.h"
#include "core/proposal.h"
#include "store/store.h"

/* Output kept per attempt (exec: stdout and stderr; http: the response
 * body); the rest is read and dropped, and the evidence says "truncated". */
#define EXEC_OUTPUT_MAX (1024 * 1024)
/* How much of the kept output the evidence carries as text. */
#define EXEC_EVIDENCE_TEXT_MAX 4096
/* exec: after SIGTERM, how long a program has before SIGKILL. */
#define EXEC_KILL_GRACE_MS 2000

struct exec_job {
	const struct proposal_kind *kind;
	const struct store_proposal *proposal; /* id, input (JSON text), attempts */
	const struct catalogue *cat;           /* for the component's executor_url */
	const char *secret_value;              /* the resolved bearer credential, or NULL */
	int timeout_ms;                        /* this attempt's limit; <= 0: the kind's */
	/* Set (to non-zero) by another thread to end the attempt early, when a
	 * stopping worker gives the proposal back; the attempt then ends not ok
	 * and retryable. NULL: never. */
	const atomic_int *cancel;
	/* exec only: after SIGTERM, how long before SIGKILL; 0 = EXEC_KILL_GRACE_MS. */
	int kill_grace_ms;
};

struct exec_result {
	int ok;           /* the side effect completed */
	int retryable;    /* a failure worth another attempt (timeout, 5xx, connection) */
	int cancelled;    /* ended early because job->cancel was set */
	char error[256];  /* plain words; never a secret or a URL */
	/* {"executor","digest":"sha256:…","size":N,"location":"inline",
	 *  "exit_status"|"status":N,"truncated":bool,"output":"…"}; owned by the
	 * result (exec_result_clear), NULL when nothing ran. */
	json_t *evidence;
};

/* One backend. run: the contract of executor_run. */
struct executor_ops {
	const char *name; /* its row's name in executor_defs: "exec", "http", "temporal" */
	int (*run)(const struct exec_job *job, struct exec_result *out);
};

extern const struct executor_ops executor_exec; /* exec.c */
extern const struct executor_ops executor_http; /* http.c */
extern const struct executor_ops executor_temporal; /* temporal_run.c */

/* The backend that runs kinds of executor e, or NULL when this build has
 * none (or e is out of range). Adding an executor: its row in
 * core/executor_kind.c, its ops here, and its line in backends[] in
 * executor.c. */
const struct executor_ops *executor_backend(enum executor_kind e);

/* Once per process, before any thread runs an executor (libcurl's global
 * start is not thread-safe). Returns 0, or PERR_INTERNAL with err filled. */
int executor_global_init(struct perr *err);

/* Runs one attempt of job->proposal on the backend job->kind names. out is
 * overwritten (clear it with exec_result_clear afterwards). Returns 0 when
 * out->ok, -1 otherwise; out->retryable and out->error then say why, and
 * out->evidence may still describe what ran (a failed program's output). */
int executor_run(const struct exec_job *job, struct exec_result *out);

/* Frees out->evidence and zeroes out. */
void exec_result_clear(struct exec_result *out);

/* Sets out->error (printf-style) and out->retryable; returns -1. */
int exec_fail(struct exec_result *out, int retryable, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Evidence of captured bytes: {"executor":name,"digest":"sha256:<hex of
 * data>","size":len,"location":"inline","truncated":b,"output":text} where
 * text is the first EXEC_EVIDENCE_TEXT_MAX bytes of data as valid UTF-8
 * (bad or cut sequences become U+FFFD). A new reference. */
json_t *exec_evidence(const char *executor, const unsigned char *data, size_t len,
		      int truncated);

/* exec, below the kind: runs argv (argv[0] an absolute path, NULL-terminated)
 * with the clean environment and limits described in exec.c. proposal_id
 * goes into PORTAL_PROPOSAL_ID. Same return and out as executor_run. */
int exec_argv(char *const argv[], const char *proposal_id, int timeout_ms, int kill_grace_ms,
	      const atomic_int *cancel, struct exec_result *out);

#endif
