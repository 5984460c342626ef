/* offload: see offload.h. A FIFO under a mutex and one thread. */
#include "http/offload.h"

#include <pthread.h>
#include <stdlib.h>

#include <event2/event.h>

#include "http/http.h"
#include "util/log.h"

struct job {
	struct job *next;
	struct http_ctx *c;
	void (*work)(void *arg);
	void (*done)(struct http_ctx *c, void *arg);
	void *arg;
};

struct offload {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct job *head, *tail;
	int stop;
};

static void deliver(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct job *j = arg;
	j->done(j->c, j->arg);
	free(j);
}

static void *thread_main(void *arg)
{
	struct offload *o = arg;
	pthread_mutex_lock(&o->lock);
	for (;;) {
		while (!o->head && !o->stop)
			pthread_cond_wait(&o->wake, &o->lock);
		struct job *j = o->head;
		if (!j)
			break;
		o->head = j->next;
		if (!o->head)
			o->tail = NULL;
		pthread_mutex_unlock(&o->lock);
		j->work(j->arg);
		if (!j->c || !j->done) {
			if (j->done)
				j->done(NULL, j->arg);
			free(j);
		} else if (event_base_once(j->c->base, -1, EV_TIMEOUT, deliver, j, NULL) < 0) {
			log_emit(LOG_ERROR, "cannot hand a result back to its request", NULL);
			free(j);
		}
		pthread_mutex_lock(&o->lock);
	}
	pthread_mutex_unlock(&o->lock);
	return NULL;
}

struct offload *offload_start(void)
{
	struct offload *o = calloc(1, sizeof *o);
	if (!o)
		return NULL;
	pthread_mutex_init(&o->lock, NULL);
	pthread_cond_init(&o->wake, NULL);
	if (pthread_create(&o->thread, NULL, thread_main, o) != 0) {
		pthread_mutex_destroy(&o->lock);
		pthread_cond_destroy(&o->wake);
		free(o);
		return NULL;
	}
	return o;
}

void offload_stop(struct offload *o)
{
	if (!o)
		return;
	pthread_mutex_lock(&o->lock);
	o->stop = 1;
	pthread_cond_signal(&o->wake);
	pthread_mutex_unlock(&o->lock);
	pthread_join(o->thread, NULL);
	pthread_mutex_destroy(&o->lock);
	pthread_cond_destroy(&o->wake);
	free(o);
}

void offload_submit(struct offload *o, struct http_ctx *c, void (*work)(void *arg),
		    void (*done)(struct http_ctx *c, void *arg), void *arg)
{
	struct job *j = calloc(1, sizeof *j);
	if (!j)
		abort();
	j->c = c;
	j->work = work;
	j->done = done;
	j->arg = arg;
	pthread_mutex_lock(&o->lock);
	if (o->tail)
		o->tail->next = j;
	else
		o->head = j;
	o->tail = j;
	pthread_cond_signal(&o->wake);
	pthread_mutex_unlock(&o->lock);
}
