/* httpc: the one place an outbound HTTP request is made ready. Every libcurl
 * easy handle Portal uses comes from httpc_easy_new, which sets what every
 * request needs: http and https only, no redirects (one would carry the
 * credential wherever it points), no signals, TLS verification on, a user
 * agent and a time limit. It starts libcurl once for the process. A pool
 * keeps a target's connections between calls. Answers are kept in an
 * httpc_body, capped. It does not build URLs, classify failures or word
 * errors: callers do, and never with the URL (curl's error buffer, which
 * names the host, is not used anywhere). */
#ifndef PORTAL_UTIL_HTTPC_H
#define PORTAL_UTIL_HTTPC_H

#include <curl/curl.h>
#include <stddef.h>

#include "util/buf.h"

/* Starts libcurl for the process, once, however many threads ask; it is
 * never cleaned up. Returns 0, or -1 when libcurl could not start. */
int httpc_global_init(void);

/* One target's connections. Handles made with the same pool share its
 * connection cache (and resolved names), so a later request to the same
 * host reuses an idle connection instead of opening one per call. Safe to
 * use from several threads at once. */
struct httpc_pool;

/* A new pool; NULL when libcurl could not start or memory ran out. */
struct httpc_pool *httpc_pool_new(void);
/* Closes the pool's connections and frees it; every handle made with it must
 * have been cleaned up first. NULL is a no-op. */
void httpc_pool_free(struct httpc_pool *pool);

/* A new easy handle with the defaults above: user_agent (NULL: none sent),
 * timeout_ms for the connection and for the whole request (0: none; see
 * httpc_set_timeout), and pool (NULL: connections die with the handle).
 * Returns NULL when libcurl could not start, memory ran out or an option was
 * refused. The caller sets the URL and releases it with curl_easy_cleanup. */
CURL *httpc_easy_new(const char *user_agent, long timeout_ms, struct httpc_pool *pool);

/* Sets the connection and whole-request limits of e to timeout_ms. Returns 0
 * or -1. */
int httpc_set_timeout(CURL *e, long timeout_ms);

/* An answer's body, kept up to cap bytes. With stop set, an answer longer
 * than cap stops the transfer (curl returns CURLE_WRITE_ERROR); otherwise the
 * first cap bytes are kept and the rest is read and dropped, so the
 * connection stays usable. Either way over says the answer was longer than
 * cap. */
struct httpc_body {
	struct buf b;
	size_t cap;
	int stop;
	int over;
};

/* Points e's write callback at body; body must outlive the transfer (clear
 * it with httpc_body_unset when e is kept). Returns 0 or -1. */
int httpc_body_set(CURL *e, struct httpc_body *body);
/* Leaves e writing nowhere, so a kept handle holds no pointer into a call's
 * memory. */
void httpc_body_unset(CURL *e);
/* Empties body for another answer, keeping cap and stop. */
void httpc_body_reset(struct httpc_body *body);
void httpc_body_free(struct httpc_body *body);

/* Appends a header line. Out of memory aborts, as buf does. */
void httpc_header_add(struct curl_slist **h, const char *line);
/* Appends "Authorization: Bearer <token>"; the temporary copy is wiped. */
void httpc_header_bearer(struct curl_slist **h, const char *token);
/* Wipes every line (they may hold a credential) and frees the list. */
void httpc_headers_free(struct curl_slist *h);

#endif
