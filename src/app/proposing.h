/* proposing: what the proposal routes (API and pages) do with the store.
 * The checks that need nothing but the request and the configuration (kind,
 * project, input, role) run on the loop thread; everything that reads or
 * writes the store runs on the offload thread, and the answer comes back on
 * the request's loop. Nothing here executes a proposal: approving only
 * queues it for `portal worker`. */
#ifndef PORTAL_PROPOSING_H
#define PORTAL_PROPOSING_H

#include <jansson.h>

#include "store/store.h"

struct http_ctx;
struct catalogue;

enum proposing_op { PROPOSING_SUBMIT, PROPOSING_GET, PROPOSING_LIST, PROPOSING_ACT };

struct proposing_job {
	enum proposing_op op;
	/* who asks */
	char actor[STORE_NAME_MAX];
	int role;
	/* submit */
	char kind[64], project[64], idempotency_key[128];
	json_t *input;              /* validated (stolen by the job) */
	/* get, act */
	char id[STORE_PROPOSAL_ID_MAX];
	char action[16];            /* approve, reject, cancel */
	char reason[256];
	/* list */
	char f_project[64], f_kind[64];
	int f_state;                /* -1 = any */
	/* the answer */
	int status;                 /* HTTP status */
	const char *code;           /* error code, NULL on success */
	char field[64];
	char message[300];
	json_t *proposal;           /* the proposal (with "audit" for get and act) */
	json_t *list;               /* list: the proposals */
	int replayed;               /* submit: an earlier submission with the same key */
	/* runs on the request's loop when the store work is done; it answers c
	 * and then calls proposing_job_free */
	void (*done)(struct http_ctx *c, struct proposing_job *j);
	void *arg;
};

struct proposing_job *proposing_job_new(enum proposing_op op);
void proposing_job_free(struct proposing_job *j);
/* Defers c and runs j on the offload thread; j->done answers. */
void proposing_run(struct http_ctx *c, struct proposing_job *j);

/* Checks a submission on the loop thread: kind declared, project declared
 * in the catalogue's projects:, the asker's role enough to propose, input
 * valid for the kind, key well formed. When the kind has an input field
 * named `project`, that field is the proposal's project: project and
 * input.project must agree when both are given (else field input.project),
 * and either alone fills the other. Returns a job ready for proposing_run,
 * or NULL with status (400 or 403), err->field and err->msg set. input is
 * not stolen. */
struct proposing_job *proposing_check_submit(struct http_ctx *c, const char *kind,
					     const char *project, const json_t *input,
					     const char *key, int *status, struct perr *err);

/* How many declared projects a refusal names before "and N more". */
#define PROPOSING_PROJECTS_NAMED 5

/* Writes "the declared projects are a, b, c, and N more" into out (at most
 * PROPOSING_PROJECTS_NAMED names, fewer if cap is short); returns how many
 * were named. */
size_t proposing_projects_named(const struct catalogue *cat, char *out, size_t cap);

/* The proposal as the API shows it. */
json_t *proposal_to_json(const struct store_proposal *p);

#endif
