/* reply: building and sending responses. Security headers are added here,
 * once, for every response this program writes. */
#include "http/http.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>

#include "util/buf.h"

/* No inline script or style anywhere; nothing may frame Portal. */
#define CSP "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " \
	    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "      \
	    "form-action 'self'; frame-ancestors 'none'"

void http_header(struct http_ctx *c, const char *name, const char *value)
{
	evhttp_add_header(evhttp_request_get_output_headers(c->req), name, value);
}

const char *http_request_header(struct http_ctx *c, const char *name)
{
	return evhttp_find_header(evhttp_request_get_input_headers(c->req), name);
}

static void common_headers(struct http_ctx *c, const char *content_type)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(c->req);
	evhttp_add_header(h, "Content-Security-Policy", CSP);
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	evhttp_add_header(h, "X-Frame-Options", "DENY");
	evhttp_add_header(h, "Cross-Origin-Opener-Policy", "same-origin");
	evhttp_add_header(h, "X-Request-Id", c->request_id);
	if (content_type)
		evhttp_add_header(h, "Content-Type", content_type);
	if (!evhttp_find_header(h, "Cache-Control"))
		evhttp_add_header(h, "Cache-Control", "no-store");
	if (c->closing)
		evhttp_add_header(h, "Connection", "close");
}

/* A deferred request is complete: account for it and free the copy. */
static void finish_deferred(struct http_ctx *c)
{
	if (!c->deferred)
		return;
	if (c->finish)
		c->finish(c);
	free(c);
}

int http_reply(struct http_ctx *c, int status, const char *content_type,
	       const void *body, size_t len)
{
	common_headers(c, content_type);
	struct evbuffer *out = evbuffer_new();
	if (len)
		evbuffer_add(out, body, len);
	const char *reason = NULL; /* evhttp fills the standard phrase */
	evhttp_send_reply(c->req, status, reason, out);
	evbuffer_free(out);
	c->status = status;
	finish_deferred(c);
	return 0;
}

int http_reply_ref(struct http_ctx *c, int status, const char *content_type,
		   const void *body, size_t len,
		   void (*done)(const void *body, size_t len, void *arg), void *arg)
{
	common_headers(c, content_type);
	struct evbuffer *out = evbuffer_new();
	if (!out || evbuffer_add_reference(out, body, len, done, arg) < 0)
		abort();
	evhttp_send_reply(c->req, status, NULL, out);
	evbuffer_free(out);
	c->status = status;
	finish_deferred(c);
	return 0;
}

struct http_ctx *http_defer(struct http_ctx *c)
{
	struct http_ctx *d = malloc(sizeof *d);
	if (!d)
		abort();
	c->deferred = 1;
	*d = *c;
	return d;
}

void http_stream_start(struct http_ctx *c, const char *content_type)
{
	common_headers(c, content_type);
	/* Tell buffering proxies (nginx) to pass events through at once. */
	evhttp_add_header(evhttp_request_get_output_headers(c->req), "X-Accel-Buffering", "no");
	evhttp_send_reply_start(c->req, 200, NULL);
	c->status = 200;
	c->streaming = 1;
}

void http_stream_write(struct http_ctx *c, const void *data, size_t len,
		       void (*done)(const void *data, size_t len, void *arg), void *arg)
{
	if (!http_stream_open(c)) {
		if (done)
			done(data, len, arg);
		return;
	}
	struct evbuffer *b = evbuffer_new();
	if (!b)
		abort();
	if (evbuffer_add_reference(b, data, len, done, arg) < 0)
		abort();
	/* Takes b's contents; when the client is gone it drops them (and the
	 * reference's cleanup runs when b is freed). */
	evhttp_send_reply_chunk(c->req, b);
	evbuffer_free(b);
}

size_t http_stream_pending(struct http_ctx *c)
{
	if (c->req_gone)
		return 0;
	struct evhttp_connection *conn = evhttp_request_get_connection(c->req);
	if (!conn)
		return 0;
	struct bufferevent *bev = evhttp_connection_get_bufferevent(conn);
	return bev ? evbuffer_get_length(bufferevent_get_output(bev)) : 0;
}

struct close_hook {
	struct http_ctx *c;
	void (*cb)(struct http_ctx *, void *);
	void *arg;
};

static void on_conn_close(struct evhttp_connection *conn, void *arg)
{
	struct close_hook *h = arg;
	struct http_ctx *c = h->c;
	/* A request still attached to its connection is freed with it; a
	 * detached one (the usual case: EOF while streaming) lives until
	 * evhttp_send_reply_end. */
	if (evhttp_request_get_connection(c->req))
		c->req_gone = 1;
	c->close_hook = NULL;
	h->cb(c, h->arg);
	free(h);
}

void http_stream_on_close(struct http_ctx *c, void (*cb)(struct http_ctx *c, void *arg),
			  void *arg)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(c->req);
	if (!conn)
		return;
	/* Streams stay open for as long as the client wants; heartbeats find
	 * dead peers. */
	evhttp_connection_set_timeout(conn, -1);
	struct close_hook *h = malloc(sizeof *h);
	if (!h)
		abort();
	h->c = c;
	h->cb = cb;
	h->arg = arg;
	c->close_hook = h;
	http_conn_on_close(c, on_conn_close, h);
}

int http_stream_open(struct http_ctx *c)
{
	return !c->req_gone && evhttp_request_get_connection(c->req) != NULL;
}

void http_stream_abort(struct http_ctx *c)
{
	if (!http_stream_open(c))
		return;
	struct evhttp_connection *conn = evhttp_request_get_connection(c->req);
	struct bufferevent *bev = evhttp_connection_get_bufferevent(conn);
	evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;
	if (fd < 0)
		return;
	/* A graceful end would wait for the client to read everything queued,
	 * which a stalled client never does. Linger 0 makes the close a reset
	 * that drops the kernel's queue too; the shutdown makes the loop see
	 * the connection fail now, while the reply is unfinished, so evhttp
	 * detaches the request and runs the close hook. */
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	shutdown(fd, SHUT_RDWR);
}

void http_stream_end(struct http_ctx *c)
{
	if (c->close_hook) {
		http_conn_on_close(c, NULL, NULL);
		free(c->close_hook);
		c->close_hook = NULL;
	}
	if (!c->req_gone) {
		/* A request whose client left is detached from its connection:
		 * ending it frees it without a completion callback. */
		int detached = evhttp_request_get_connection(c->req) == NULL;
		evhttp_send_reply_end(c->req);
		c->req_gone = detached;
	}
	c->streaming = 0;
	finish_deferred(c);
}

int http_reply_json(struct http_ctx *c, int status, json_t *doc)
{
	char *text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
	json_decref(doc);
	if (!text) {
		static const char fallback[] =
			"{\"error\":{\"code\":\"internal\",\"message\":\"cannot encode response\"}}";
		return http_reply(c, 500, "application/json", fallback, sizeof fallback - 1);
	}
	struct buf b = BUF_INIT;
	buf_puts(&b, text);
	buf_putc(&b, '\n');
	free(text);
	int rc = http_reply(c, status, "application/json", b.data, b.len);
	buf_free(&b);
	return rc;
}

json_t *http_error_object(struct http_ctx *c, int status, const char *code, const char *field,
			  const char *message)
{
	/* The recovery class of the status, as the recovery views name it; input
	 * errors (400, 413, 415…) have none: their `field` says what to fix. */
	enum blocker_class k = blocker_class_of_status(status, NULL);
	const char *cls = k == BLOCKER_NONE ? NULL : blocker_class_name(k);
	return json_pack("{s:s,s:s,s:o,s:s,s:o,s:o}", "code", code, "message", message, "field",
			 field ? json_string(field) : json_null(), "request_id", c->request_id,
			 "class", cls ? json_string(cls) : json_null(), "next",
			 c->site && c->site->error_next ? c->site->error_next(status) : json_array());
}

int http_reply_error(struct http_ctx *c, int status, const char *code, const char *field,
		     const char *fmt, ...)
{
	struct buf msg = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(&msg, fmt, ap);
	va_end(ap);
	json_t *err = http_error_object(c, status, code, field, buf_cstr(&msg));
	buf_free(&msg);
	return http_reply_json(c, status, json_pack("{s:o}", "error", err));
}

static int accepts(const char *accept, const char *type)
{
	return accept && strstr(accept, type) != NULL;
}

int http_wants_html(struct http_ctx *c)
{
	if (strncmp(c->path, "/api/", 5) == 0 || c->match.path_kind == ROUTE_API)
		return 0;
	const char *accept = http_request_header(c, "Accept");
	if (accepts(accept, "application/json") && !accepts(accept, "text/html"))
		return 0;
	return 1;
}

int http_request_id_valid(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++) {
		char ch = s[n];
		int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			 (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-';
		if (!ok || n >= 64)
			return 0;
	}
	return n > 0;
}
