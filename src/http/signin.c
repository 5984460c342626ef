/* signin: see signin.h. One thread and a FIFO of jobs. */
#include "http/signin.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <sodium.h>

#include "app/app.h"
#include "http/http.h"
#include "http/password.h"
#include "util/clock.h"
#include "util/log.h"

struct item {
	struct item *next;
	struct signin_job job;
	struct http_ctx *c;
	signin_done_fn done;
	void *arg;
	struct signin_result r;
};

struct signin {
	struct app *app;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct item *head, *tail;
	int stop;
	char dummy[STORE_PW_HASH_MAX]; /* verified against for unknown names */
};

static void deliver(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct item *it = arg;
	it->done(it->c, &it->r, it->arg);
	sodium_memzero(&it->r, sizeof it->r);
	free(it);
}

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

static void *thread_main(void *arg)
{
	struct signin *s = arg;
	pthread_mutex_lock(&s->lock);
	for (;;) {
		while (!s->head && !s->stop)
			pthread_cond_wait(&s->wake, &s->lock);
		struct item *it = s->head;
		if (!it)
			break;
		s->head = it->next;
		if (!s->head)
			s->tail = NULL;
		pthread_mutex_unlock(&s->lock);
		run(s, it);
		if (!it->c) { /* nobody waits for this one */
			free(it);
		} else if (event_base_once(it->c->base, -1, EV_TIMEOUT, deliver, it, NULL) < 0) {
			log_emit(LOG_ERROR, "cannot hand a sign-in result back", NULL);
			free(it);
		}
		pthread_mutex_lock(&s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

struct signin *signin_start(struct app *a)
{
	struct signin *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->app = a;
	unsigned char noise[24];
	char pw[64];
	randombytes_buf(noise, sizeof noise);
	sodium_bin2hex(pw, sizeof pw, noise, sizeof noise);
	if (password_hash(pw, s->dummy) < 0) {
		free(s);
		return NULL;
	}
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->wake, NULL);
	if (pthread_create(&s->thread, NULL, thread_main, s) != 0) {
		pthread_mutex_destroy(&s->lock);
		pthread_cond_destroy(&s->wake);
		free(s);
		return NULL;
	}
	return s;
}

void signin_stop(struct signin *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->stop = 1;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->wake);
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
	it->job = *job;
	it->c = c;
	it->done = done;
	it->arg = arg;
	pthread_mutex_lock(&s->lock);
	if (s->tail)
		s->tail->next = it;
	else
		s->head = it;
	s->tail = it;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
}
