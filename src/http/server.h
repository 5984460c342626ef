/* server: the HTTP front. One libevent event loop per thread, each with its
 * own evhttp and its own SO_REUSEPORT listener on the same address, so the
 * kernel spreads connections and no lock sits on the request path. Handlers
 * run on the loop threads and must not block: anything slow goes to another
 * thread (the store monitor, later the writer) and comes back by event. */
#ifndef PORTAL_SERVER_H
#define PORTAL_SERVER_H

#include "http/router.h"
#include "util/perr.h"

struct app;
struct config;
struct server;

/* Binds cfg->listen with cfg->threads loops (0 = cores) and starts them.
 * Refuses an address another process already listens on, even one that also
 * uses SO_REUSEPORT. On success *out is running and server_address() tells
 * the bound address (useful with port 0). */
int server_start(struct server **out, struct app *app, const struct config *cfg,
		 const struct route *routes, size_t nroutes, struct perr *err);

/* "127.0.0.1:40123" */
const char *server_address(const struct server *s);
int server_threads(const struct server *s);

/* Stops accepting, lets in-flight requests finish (up to timeout_ms), then
 * stops every loop and joins the threads. Call once, from the main thread. */
void server_drain(struct server *s, int timeout_ms);

/* Frees a drained server. */
void server_free(struct server *s);

/* The number of loop threads `threads` means on this machine. */
int server_thread_count(int threads);

#endif
