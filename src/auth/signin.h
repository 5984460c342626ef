/* signin: checking passwords and opening and closing logins. argon2id is
 * slow on purpose and the store is a file, so neither runs on a loop thread:
 * a handler defers its request and queues the job here; it runs on the
 * offload thread (http/offload.h) and the answer is written back on the
 * request's own loop. */
#ifndef PORTAL_SIGNIN_H
#define PORTAL_SIGNIN_H

#include "auth/login.h"

struct app;
struct http_ctx;
struct signin;

enum signin_kind {
	SIGNIN_OPEN,         /* check name + password, open a login */
	SIGNIN_CLOSE,        /* end one login */
	SIGNIN_CLOSE_ALL,    /* end every login of an account ("everywhere") */
};

struct signin_result {
	int ok;                      /* opened (OPEN) or closed (CLOSE*) */
	char cookie[LOGIN_TEXT_MAX]; /* OPEN: the new login's id, for the cookie */
	long long closed;            /* CLOSE_ALL: how many logins ended */
	char reason[300];            /* when not ok: what went wrong (for the log) */
	int store_failed;            /* not ok because the store failed */
	int known;                   /* OPEN: the name is an account's (for the log) */
};

typedef void (*signin_done_fn)(struct http_ctx *c, const struct signin_result *r, void *arg);

struct signin_job {
	enum signin_kind kind;
	char user[STORE_NAME_MAX];   /* OPEN: as typed */
	char password[512];          /* OPEN: wiped after use */
	unsigned char old[STORE_LOGIN_HASH_LEN]; /* OPEN: a login to end (rotation); CLOSE: the one */
	int has_old;
	long long user_id;           /* CLOSE_ALL */
	long long max_ms;            /* OPEN: absolute lifetime of the login */
};

struct offload;
/* Jobs run on `jobs`, which must outlive s (stop it before signin_free). */
struct signin *signin_start(struct app *a, struct offload *jobs);
void signin_free(struct signin *s);
/* Ends a login that ran out (found expired by a request): no one waits. */
void signin_forget(struct signin *s, const unsigned char hash[STORE_LOGIN_HASH_LEN]);
/* Queues job for the deferred request c; done runs on c's loop. */
void signin_submit(struct signin *s, struct http_ctx *c, const struct signin_job *job,
		   signin_done_fn done, void *arg);

#endif
