/* loopback_http: the HTTP server that tests of Portal's outbound clients talk
 * to: libevent's evhttp on 127.0.0.1, port 0, on its own thread. A test
 * registers its handlers on s->http between open and run. It also finds a
 * loopback port nothing listens on, and counts the TCP connections it
 * accepted, so a test can tell a reused connection from a new one. Linked
 * into the unit tests and the fuzz targets; it uses no test framework, and
 * aborts when the server cannot start. */
#ifndef PORTAL_TESTS_LOOPBACK_HTTP_H
#define PORTAL_TESTS_LOOPBACK_HTTP_H

#include <event2/event.h>
#include <event2/http.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

struct loopback_http {
	struct event_base *base;
	struct evhttp *http;
	pthread_t thread;
	int running;
	int port;         /* where it listens */
	int refused_port; /* a loopback port nothing listens on */
	atomic_int connections; /* accepted since open */
};

/* Makes the server (listening, not yet answering) and finds refused_port. */
void loopback_http_open(struct loopback_http *s);
/* Starts answering on the server's own thread. */
void loopback_http_run(struct loopback_http *s);
/* Stops the thread and frees the server. */
void loopback_http_close(struct loopback_http *s);

/* Answers req with code, a Content-Type when type is set, and len bytes of
 * body (body NULL: none). */
void loopback_http_reply_n(struct evhttp_request *req, int code, const char *type,
			   const char *body, size_t len);
/* The same with a C string body (NULL: none). */
void loopback_http_reply(struct evhttp_request *req, int code, const char *type,
			 const char *body);
/* Copies the request header name into out ("" when absent); returns whether
 * it was there. */
int loopback_http_header(struct evhttp_request *req, const char *name, char *out, size_t cap);

#endif
