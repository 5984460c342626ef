/* proposal: the only mutation gate. A proposal of a declared kind (the
 * approved backend contract) is validated, recorded, approved by someone
 * else, queued, executed asynchronously by a worker, then proven. One state
 * machine; every transition is audited (core/audit.h). Pure: no I/O. */
#ifndef PORTAL_PROPOSAL_H
#define PORTAL_PROPOSAL_H

#include <jansson.h>
#include <stddef.h>

#include "core/executor_kind.h"
#include "util/perr.h"

enum proposal_state {
	PROPOSAL_SUBMITTED,
	PROPOSAL_APPROVED,
	PROPOSAL_QUEUED,
	PROPOSAL_RUNNING,
	PROPOSAL_EXECUTED,
	PROPOSAL_PROVING,
	PROPOSAL_PROVEN,
	PROPOSAL_REJECTED,
	PROPOSAL_CANCELLED,
	PROPOSAL_FAILED,
	PROPOSAL_STATE_COUNT
};

/* "submitted", …; NULL when out of range. */
const char *proposal_state_name(enum proposal_state s);
/* -1 when unknown. */
int proposal_state_parse(const char *s);
/* Whether nothing can follow s (proven, rejected, cancelled, failed). */
int proposal_state_final(enum proposal_state s);
/* Whether from → to is a step of the machine:
 *   submitted → approved | rejected | cancelled
 *   approved  → queued | cancelled
 *   queued    → running | cancelled
 *   running   → executed | queued (a retry, or a lease that expired) | failed
 *   executed  → proving
 *   proving   → proven | failed
 * Nothing else. */
int proposal_transition_ok(enum proposal_state from, enum proposal_state to);

/* dataset: a DataHub dataset URN, urn:li:dataset:(urn:li:dataPlatform:P,NAME,ENV); the
 * datasets a proposal names are the ones its lineage panel navigates from. */
enum proposal_field_type { PFIELD_STRING, PFIELD_INTEGER, PFIELD_BOOLEAN, PFIELD_ENUM, PFIELD_DATASET };
#define PROPOSAL_DATASET_MAX 1000 /* bytes of a dataset URN */

#define PROPOSAL_NAME_MAX 64
#define PROPOSAL_MAX_FIELDS 16
#define PROPOSAL_MAX_VALUES 16
#define PROPOSAL_MAX_ARGV 16
#define PROPOSAL_ARG_MAX 256

/* One input field of a kind. */
struct proposal_field {
	char name[PROPOSAL_NAME_MAX];          /* [a-z][a-z0-9_]{0,62} */
	char label[128];                        /* what the form shows; defaults to name */
	char help[256];                         /* one line under the form field */
	enum proposal_field_type type;
	int required;
	long long min, max;                     /* integer: inclusive bounds */
	int min_len, max_len;                   /* string: length bounds (bytes) */
	char values[PROPOSAL_MAX_VALUES][PROPOSAL_NAME_MAX]; /* enum: the choices */
	size_t nvalues;
};

/* A proposal kind: the contract a submission is checked against and the
 * backend that executes it. */
struct proposal_kind {
	char name[PROPOSAL_NAME_MAX];           /* [a-z0-9-]{1,63} */
	char title[PROPOSAL_NAME_MAX];
	char summary[512];
	struct proposal_field fields[PROPOSAL_MAX_FIELDS];
	size_t nfields;
	int propose_role;   /* enum role: the least role that may propose */
	int approve_role;   /* enum role: the least role that may approve or reject */
	int self_approval;  /* 1: the proposer may approve their own (default 0) */
	enum executor_kind executor; /* which of these keys it takes: core/executor_kind.h */
	/* exec: argv template; "{field}" is replaced by the field's value, each
	 * element stays one argument (never a shell). argv[0] is an absolute path. */
	char argv[PROPOSAL_MAX_ARGV][PROPOSAL_ARG_MAX];
	size_t nargv;
	/* http, temporal: the owned component whose executor_url is called, and
	 * the secret contract holding the bearer credential ("" = none). */
	char component[PROPOSAL_NAME_MAX];
	char secret[PROPOSAL_NAME_MAX];
	/* temporal */
	char temporal_namespace[PROPOSAL_NAME_MAX];
	char workflow_type[128];
	char task_queue[128];
	int timeout_ms;     /* one attempt's limit */
	int max_attempts;   /* then dead-letter (failed, with the reason) */
};

/* Checks input (a JSON object) against k: every declared field typed and in
 * bounds, every required one present, nothing undeclared. On success
 * returns 0 and sets *out to a new object with the declared fields in
 * declaration order; otherwise PERR_INVALID with err->field "input.<name>"
 * (or "input") and a message a person can act on. */
int proposal_validate(const struct proposal_kind *k, const json_t *input, json_t **out,
		      struct perr *err);

/* Fills k's exec argv template from a validated input: writes up to cap
 * arguments into out and returns how many, or PERR_INVALID when a
 * placeholder names no field or an argument would exceed PROPOSAL_ARG_MAX*2. */
int proposal_argv(const struct proposal_kind *k, const json_t *input,
		  char out[][PROPOSAL_ARG_MAX * 2], size_t cap, struct perr *err);

#endif
