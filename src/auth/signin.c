/* signin: see signin.h. The jobs run on the offload thread. */
#include "auth/signin.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "app/app.h"
#include "http/http.h"
#include "http/offload.h"
#include "auth/password.h"
#include "util/clock.h"
#include "util/log.h"

struct item {
	struct signin *s;
	struct signin_job job;
	signin_done_fn done;
	void *arg;
	struct signin_result r;
};

struct signin {
	struct app *app;
	struct offload *jobs;
	char dummy[STORE_PW_HASH_MAX]; /* verified against for unknown names */
};

static void open_login(struct signin *s, struct item *it)
{
	struct app *a = s->app;
	struct signin_job *j = &it->job;
	struct signin_result *r = &it->r;
	struct store_user u;
	struct perr err = {0};
	int rc = store_user_get(a->store, j->user, &u, &err);
	if (rc < 0 && rc != PERR_NOT_FOUND) {
		r->store_failed = 1;
		snprintf(r->reason, sizeof r->reason, "store: %s", err.msg);
		return;
	}
	r->known = rc == 0;
	/* The same work whether or not the name exists: no timing tells. */
	int good = password_verify(rc == 0 && u.pw_hash[0] ? u.pw_hash : s->dummy, j->password);
	if (rc < 0 || !good || u.disabled || !u.pw_hash[0]) {
		snprintf(r->reason, sizeof r->reason, "%s",
			 rc < 0 ? "unknown account" : u.disabled ? "account disabled"
						    : "wrong password");
		return;
	}
	struct store_login l = {0};
	login_id_new(r->cookie, l.hash);
	long long now = clock_wall_ms();
	l.user_id = u.id;
	snprintf(l.user, sizeof l.user, "%s", u.name);
	l.role = u.role;
	l.created_at = l.last_seen_at = now;
	l.expires_at = now + j->max_ms;
	if (store_login_add(a->store, &l, &err) < 0) {
		r->store_failed = 1;
		sodium_memzero(r->cookie, sizeof r->cookie);
		snprintf(r->reason, sizeof r->reason, "store: %s", err.msg);
		return;
	}
	login_cache_put(a->logins, &l);
	if (j->has_old) { /* no fixation: the login it came with ends here */
		store_login_delete(a->store, j->old, &err);
		login_cache_drop(a->logins, j->old);
	}
	r->ok = 1;
}

static void run(struct signin *s, struct item *it)
{
	struct app *a = s->app;
	struct perr err = {0};
	switch (it->job.kind) {
	case SIGNIN_OPEN:
		open_login(s, it);
		break;
	case SIGNIN_CLOSE:
		login_cache_drop(a->logins, it->job.old);
		it->r.ok = store_login_delete(a->store, it->job.old, &err) == 0;
		break;
	case SIGNIN_CLOSE_ALL:
		login_cache_drop_user(a->logins, it->job.user_id);
		it->r.ok = store_login_delete_user(a->store, it->job.user_id, &it->r.closed, &err) == 0;
		break;
	}
	if (!it->r.ok && err.msg[0]) {
		it->r.store_failed = 1;
		snprintf(it->r.reason, sizeof it->r.reason, "store: %s", err.msg);
	}
	sodium_memzero(it->job.password, sizeof it->job.password);
}

static void work(void *arg)
{
	struct item *it = arg;
	run(it->s, it);
}

static void deliver(struct http_ctx *c, void *arg)
{
	struct item *it = arg;
	if (c && it->done)
		it->done(c, &it->r, it->arg);
	sodium_memzero(&it->r, sizeof it->r);
	free(it);
}

struct signin *signin_start(struct app *a, struct offload *jobs)
{
	struct signin *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->app = a;
	s->jobs = jobs;
	unsigned char noise[24];
	char pw[64];
	randombytes_buf(noise, sizeof noise);
	sodium_bin2hex(pw, sizeof pw, noise, sizeof noise);
	if (password_hash(pw, s->dummy) < 0) {
		free(s);
		return NULL;
	}
	return s;
}

void signin_free(struct signin *s)
{
	free(s);
}

void signin_forget(struct signin *s, const unsigned char hash[STORE_LOGIN_HASH_LEN])
{
	struct signin_job job = {.kind = SIGNIN_CLOSE};
	memcpy(job.old, hash, sizeof job.old);
	signin_submit(s, NULL, &job, NULL, NULL);
}

void signin_submit(struct signin *s, struct http_ctx *c, const struct signin_job *job,
		   signin_done_fn done, void *arg)
{
	struct item *it = calloc(1, sizeof *it);
	if (!it)
		abort();
	it->s = s;
	it->job = *job;
	it->done = done;
	it->arg = arg;
	offload_submit(s->jobs, c, work, deliver, it);
}
