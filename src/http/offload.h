/* offload: where a request's blocking work runs. Password hashing and store
 * reads and writes made for a request do not belong on an event loop: a
 * handler defers its request (http_defer), hands the work here, and the
 * answer is written back on the request's own loop. One thread, jobs in
 * order. */
#ifndef PORTAL_OFFLOAD_H
#define PORTAL_OFFLOAD_H

struct http_ctx;
struct offload;

struct offload *offload_start(void);
/* Runs the jobs already queued, then stops the thread. */
void offload_stop(struct offload *o);
/* Runs work(arg) on the offload thread, then done(c, arg) on c's loop
 * thread (c->base). With c NULL nobody waits: done, if any, runs on the
 * offload thread right after work. */
void offload_submit(struct offload *o, struct http_ctx *c, void (*work)(void *arg),
		    void (*done)(struct http_ctx *c, void *arg), void *arg);

#endif
