/* http_json: the client the remote graph and evidence planes share
 * (docs/proof-planes.md): one blocking JSON request per call on its own curl
 * handle from util/httpc, with the service's connections kept in a pool so
 * consecutive calls reuse one, an optional bearer token, answers capped at HTTP_JSON_ANSWER_MAX,
 * and errors that name the service ("the graph service") but never its URL,
 * its host or the token. It does not retry, follow redirects or log. */
#ifndef PORTAL_PROOF_HTTP_JSON_H
#define PORTAL_PROOF_HTTP_JSON_H

#include <jansson.h>
#include <stddef.h>

#include "proof/proof.h"
#include "util/buf.h"
#include "util/httpc.h"
#include "util/perr.h"

#define HTTP_JSON_ANSWER_MAX (4 * 1024 * 1024)
#define HTTP_JSON_DEFAULT_TIMEOUT_MS 5000
#define HTTP_JSON_MESSAGE_MAX 160 /* bytes of a service's own error message shown */

/* One service. Immutable once opened (the pool locks itself), so calls from
 * several threads may share it. */
struct http_json {
	const char *what; /* "the graph service": starts every error; static */
	char *base;       /* the URL, without trailing '/' */
	char *host;       /* the URL's host: kept only to keep it out of errors */
	char *secret;     /* NULL: no Authorization header */
	int timeout_ms;
	struct httpc_pool *pool; /* the service's idle connections */
};

/* Checks r and keeps copies of what a request needs. r->url must be an
 * http or https URL without credentials, query or fragment; timeout_ms >= 0
 * (0: HTTP_JSON_DEFAULT_TIMEOUT_MS). Returns 0, or PERR_INVALID naming the
 * field ("url", "timeout_ms"); no I/O. */
int http_json_open(struct http_json *h, const char *what, const struct proof_remote *r,
		   struct perr *err);
/* Wipes the token and frees the copies; a zeroed h too. */
void http_json_close(struct http_json *h);

/* Appends s to b percent-encoded as one path segment or query value. */
void http_json_escape(struct buf *b, const char *s);

/* Sends method {base}{path} (path starts with '/' and is already encoded)
 * with body, a JSON value or NULL. Returns 0 when the service answered,
 * whatever the status: *status is set and *answer is the answer parsed as
 * JSON, or NULL when it was empty or not JSON (the caller releases it).
 * Returns PERR_UNAVAILABLE when it did not answer in time, could not be
 * reached, or answered more than HTTP_JSON_ANSWER_MAX. */
int http_json_request(const struct http_json *h, const char *method, const char *path,
		      const json_t *body, long *status, json_t **answer, struct perr *err);

/* For an answer with a failure status: PERR_UNAVAILABLE, "<what> answered
 * HTTP <status>" and, when answer is {"error":{"message":"…"}} or
 * {"error":"…"}, that message (capped, and left out when it names the host,
 * a URL or the token). */
int http_json_status_error(const struct http_json *h, long status, const json_t *answer,
			   struct perr *err);

/* Copies o's string member key into dst (cap bytes with its NUL). Returns 0,
 * -1 when it is missing or not a string, -2 when it is longer than cap - 1. */
int http_json_copy(char *dst, size_t cap, const json_t *o, const char *key);

#endif
