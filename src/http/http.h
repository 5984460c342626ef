/* http: the request context every handler receives and the only ways to
 * answer. Every reply goes through http_reply(), which adds the security
 * headers and the request id, so no handler can forget them; errors have one
 * JSON shape, {"error":{"code","message","field","request_id"}}, or whatever
 * the site answers people with (its refuse hook). The transport renders no
 * page and knows no identity: a site (struct http_site) brings both. */
#ifndef PORTAL_HTTP_H
#define PORTAL_HTTP_H

#include <jansson.h>
#include <stddef.h>

#include "core/blocker.h"
#include "http/router.h"
#include "util/buf.h"
#include "util/perr.h"

struct app;
struct config;
struct evhttp_request;
struct event_base;
struct http_site;

#define HTTP_WHO_NAME_MAX 64  /* an account name and its NUL */
#define HTTP_WHO_HASH_LEN 32  /* the hash of the login a person came with */
#define HTTP_WHO_TOKEN_MAX 48 /* a CSRF token and its NUL */

/* Who is asking, as the site's admit hook found them. The transport only
 * carries it from the hook to the handler; identity (auth/) fills it. */
struct who {
	long long user_id;
	char user[HTTP_WHO_NAME_MAX];
	int role;                               /* enum role */
	int via_proxy;                          /* named by a trusted proxy's header */
	unsigned char hash[HTTP_WHO_HASH_LEN];  /* the login (cookie) it came with */
	char csrf[HTTP_WHO_TOKEN_MAX];          /* the token its forms must carry */
};

struct http_ctx {
	struct evhttp_request *req;
	struct app *app;            /* the process's shared state, opaque here */
	const struct http_site *site; /* the site being served (routes and hooks) */
	const struct config *cfg;   /* the configuration in force for this request */
	struct route_match match;
	enum http_method method;
	const char *path;           /* raw path, no query */
	const char *query;          /* raw query or NULL */
	char request_id[65];
	long long start_us;
	int status;                 /* 0 until replied */
	int shard;                  /* metrics shard of the serving thread */
	int closing;                /* the server is draining: ask clients to close */
	struct event_base *base;    /* the loop this request lives on */
	/* Set by the server: records metrics and the log line once the answer
	 * is complete, and releases cfg. */
	void (*finish)(struct http_ctx *c);
	void *finish_arg;
	int deferred;               /* answered later, from a heap copy */
	int streaming;              /* a chunked reply is under way */
	void *close_hook;           /* see http_stream_on_close */
	int req_gone;               /* libevent freed req with its connection */
	/* Filled before the site's admit hook runs: */
	char peer[64];              /* the client's address (past trusted proxies) */
	int secure;                 /* a trusted proxy says the client used https */
	/* Filled by the site's admit hook: */
	int signed_in;              /* who is a person, from a login or a trusted proxy */
	struct who who;             /* valid when signed_in */
	int login_expired;          /* a login cookie came whose time ran out */
	int bearer;                 /* a bearer token with the read scope came instead */
};

/* Sends status with body (copied). content_type NULL sends no body type. */
int http_reply(struct http_ctx *c, int status, const char *content_type,
	       const void *body, size_t len);
/* Like http_reply, but the body is referenced, not copied: done(body, len,
 * arg) runs once libevent no longer needs it (for shared snapshots). */
int http_reply_ref(struct http_ctx *c, int status, const char *content_type,
		   const void *body, size_t len,
		   void (*done)(const void *body, size_t len, void *arg), void *arg);
/* Sends doc (stolen) as application/json. */
int http_reply_json(struct http_ctx *c, int status, json_t *doc);
/* Sends the one error shape. field may be NULL. */
int http_reply_error(struct http_ctx *c, int status, const char *code, const char *field,
		     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* The error object of that shape, for answers that carry more than the
 * error (readiness). Its recovery class follows the status: auth (401/403),
 * contract (409/424), dependency (503), product (404/405/500), else null. */
json_t *http_error_object(struct http_ctx *c, int status, const char *code, const char *field,
			  const char *message);
/* Adds a response header before the reply. */
void http_header(struct http_ctx *c, const char *name, const char *value);
/* A request header, or NULL. */
const char *http_request_header(struct http_ctx *c, const char *name);
/* Whether the client is a person's browser (HTML) rather than a machine:
 * false for /api/ paths, for paths of API routes (/healthz, /metrics…) and for
 * requests that accept JSON but not HTML. */
int http_wants_html(struct http_ctx *c);

/* Keeps the request open after the handler returns: returns a heap copy to
 * answer later, on this loop's thread (c->base; from other threads go through
 * event_base_once), with http_reply* or the stream calls below. The copy is
 * freed once its answer is complete. The handler must not answer c itself. */
struct http_ctx *http_defer(struct http_ctx *c);

/* A chunked 200 reply that stays open (server-sent events). Only on a
 * deferred context. http_stream_write queues bytes the stream references,
 * not copies: `done(data, len, arg)` runs once they are sent or dropped. */
void http_stream_start(struct http_ctx *c, const char *content_type);
void http_stream_write(struct http_ctx *c, const void *data, size_t len,
		       void (*done)(const void *data, size_t len, void *arg), void *arg);
/* Bytes queued for the client and not yet written to the socket. */
size_t http_stream_pending(struct http_ctx *c);
/* Whether the client is still there to receive. */
int http_stream_open(struct http_ctx *c);
/* Runs cb once when the client goes away, from inside libevent: cb must not
 * end the stream there, only arrange for it to be ended (the context stays
 * valid until http_stream_end). */
void http_stream_on_close(struct http_ctx *c, void (*cb)(struct http_ctx *c, void *arg),
			  void *arg);
/* Runs cb(conn, arg) once when the connection of c closes (NULL: no longer).
 * The server keeps the connection's own close hook; this is the way to add
 * one, never evhttp_connection_set_closecb. */
struct evhttp_connection;
void http_conn_on_close(struct http_ctx *c, void (*cb)(struct evhttp_connection *, void *),
			void *arg);
/* Ends the stream, completes the request and frees c. */
void http_stream_end(struct http_ctx *c);
/* Cuts a client off without sending what is still queued: the connection is
 * reset and its queued bytes are released, however little the client reads.
 * The close hook (http_stream_on_close) then runs as for a client that left;
 * the stream is ended with http_stream_end as usual. */
void http_stream_abort(struct http_ctx *c);

/* Copies the value of cookie `name` into out; -1 when absent or too long. */
int http_cookie(struct http_ctx *c, const char *name, char *out, size_t cap);
/* Reads an application/x-www-form-urlencoded body into q (evhttp's
 * key/value list; clear it with evhttp_clear_headers). -1 when the body is
 * not a form or cannot be parsed. */
struct evkeyvalq;
int http_form(struct http_ctx *c, struct evkeyvalq *q);
/* Sets c->peer (and c->secure): the peer's address, or, when the peer is a
 * trusted proxy (cfg->trusted_proxies), the right-most X-Forwarded-For entry
 * that is not itself one. The server calls it before the admit hook. */
void http_client_address(struct http_ctx *c);

/* Refuses, with 400 naming the field, a request whose path, query parameters
 * or form fields do not decode to UTF-8 text without a NUL. Returns 1 when it
 * answered (through http_refuse), 0 to go on. */
int http_input_check(struct http_ctx *c);

/* A next action: a same-origin link and its words. */
struct http_action {
	const char *href;
	const char *label;
};

/* A refusal in both the forms a site may answer it with: the error shape
 * for machines and, for people, a view naming the blocker class. The status
 * is the class's (blocker_http_status(cls, cause)). */
struct http_refusal {
	enum blocker_class cls;
	enum blocker_cause cause;
	const char *code;            /* the error shape's code, e.g. "forbidden" */
	const char *field;           /* or NULL */
	const char *message;         /* for machines: the error shape's message */
	const char *title;           /* for people: what the view is headed */
	const char *advice;          /* for people: what happened and what to do */
	const struct http_action *actions; /* for people: ways on (the site may add one) */
	int nactions;
};

/* Refuses c with the site's refuse hook (c->site), or the error shape when
 * the site has none. Returns 0. */
int http_refuse(struct http_ctx *c, const struct http_refusal *r);

/* What the transport serves: the route table and the hooks by which a site
 * decides what the transport cannot. A NULL hook takes the plain JSON
 * default below. The site must outlive the server. */
struct http_site {
	const struct route *routes;
	size_t nroutes;
	/* Before a routed handler: who is asking (fills signed_in, who, bearer,
	 * login_expired) and whether they may use c->match.route. Returns 1 when
	 * it answered (a refusal, a redirect), 0 to run the handler. */
	int (*admit)(struct http_ctx *c);
	/* Answers a refusal: for people in the site's own view, for machines
	 * in the error shape (http_refuse_json). */
	int (*refuse)(struct http_ctx *c, const struct http_refusal *r);
	/* Answers a request no route takes: c->match.status is 404 or 405 (the
	 * Allow header is set; OPTIONS is answered before it). */
	int (*unrouted)(struct http_ctx *c);
	/* The error shape's "next": a new JSON array of {href, label}, the way on
	 * after an error of this status on this site. NULL: an empty array. */
	json_t *(*error_next)(int status);
};

/* The JSON defaults. admit: public routes run, every other one is refused
 * 401 (this site identifies nobody). refuse: the error shape. unrouted: the
 * error shape naming the path (404) or the methods allowed (405). */
int http_admit_public(struct http_ctx *c);
int http_refuse_json(struct http_ctx *c, const struct http_refusal *r);
int http_unrouted_json(struct http_ctx *c);

/* Whether s is an acceptable incoming X-Request-Id: 1..64 characters of
 * [A-Za-z0-9._-]. Anything else is replaced, never echoed. */
int http_request_id_valid(const char *s);

#endif
