/* executor_kind: the executors a proposal kind may name under execute:, one
 * row each: the name a configuration writes and the execute: keys it takes.
 * What each key must hold is core/contract.c's (one rule per key), and what
 * runs is exec/'s (exec/executor.c keeps each row's backend under the same
 * enum). Pure: names and keys only. */
#ifndef PORTAL_EXECUTOR_KIND_H
#define PORTAL_EXECUTOR_KIND_H

#include <stddef.h>

enum executor_kind { EXECUTOR_EXEC, EXECUTOR_HTTP, EXECUTOR_TEMPORAL, EXECUTOR_KIND_COUNT };

/* The keys of a kind's execute: block that only some executors take (every
 * executor takes timeout_ms and max_attempts). */
enum execute_key {
	EXECUTE_ARGV = 1 << 0,      /* argv: the program and its arguments */
	EXECUTE_COMPONENT = 1 << 1, /* component: the owned component whose executor_url is called */
	EXECUTE_WORKFLOW = 1 << 2,  /* namespace, workflow_type and task_queue */
	EXECUTE_SECRET = 1 << 3,    /* secret: the contract holding the bearer credential */
};

struct executor_def {
	const char *name; /* what execute.executor says */
	unsigned keys;    /* the EXECUTE_* keys it takes; the others are refused */
};

/* Indexed by enum executor_kind. */
extern const struct executor_def executor_defs[EXECUTOR_KIND_COUNT];

/* "exec", "http", "temporal"; out of range, "exec" (what a kind runs with
 * when it names no executor). */
const char *executor_kind_name(enum executor_kind e);
/* The executor called name, or -1. */
int executor_kind_parse(const char *name);
/* The EXECUTE_* keys e takes; 0 when out of range. */
unsigned executor_kind_keys(enum executor_kind e);
/* Writes into buf (cap bytes) the names of the executors that take every key
 * in keys (0: all of them), separated by ", " and the last one by `last`:
 * "exec, http, temporal" or, with " or ", "exec, http or temporal". Returns
 * buf. */
const char *executor_kind_list(unsigned keys, const char *last, char *buf, size_t cap);

#endif
