/* server: the HTTP front. One libevent event loop per thread, each with its
 * own evhttp and its own SO_REUSEPORT listener on the same address, so the
 * kernel spreads connections and no lock sits on the request path. Handlers
 * run on the loop threads and must not block: anything slow goes to another
 * thread (the offload pool, the writer) and comes back by event. What it
 * serves is a site (struct http_site) handed in: it knows no page, route or
 * identity of its own. */
#ifndef PORTAL_SERVER_H
#define PORTAL_SERVER_H

#include "http/router.h"
#include "util/perr.h"

struct app;
struct config;
struct http_site;
struct metrics;
struct server;

/* What the server borrows from the process that runs it; all of it must
 * outlive the server. */
struct server_host {
	struct app *app;          /* handed to every handler as c->app, never read here */
	struct metrics *metrics;  /* sized for the site's routes (metrics_new) */
	/* The configuration in force, held for the length of one request. Any
	 * thread. */
	const struct config *(*config_acquire)(struct app *app);
	void (*config_release)(struct app *app, const struct config *cfg);
};

/* Binds cfg->listen with cfg->threads loops (0 = cores) and starts them,
 * serving site (its routes; a hook it leaves NULL takes the JSON default of
 * http/http.h). Refuses an address another process already listens on, even
 * one that also uses SO_REUSEPORT. On success *out is running and
 * server_address() tells the bound address (useful with port 0). */
int server_start(struct server **out, const struct server_host *host, const struct config *cfg,
		 const struct http_site *site, struct perr *err);

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
