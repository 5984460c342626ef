/* server: listeners, loop threads, request dispatch and graceful drain.
 * See server.h. The request path is: evhttp callback -> request id -> route
 * match -> input check -> the site's admit hook -> handler (or the central
 * 404/405/OPTIONS answer, worded by the site) -> metrics + one log line. */
#include "http/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/http_struct.h> /* the state of a request libevent refuses */
#include <event2/listener.h>
#include <event2/thread.h>
#include <sodium.h>

#include "config/config.h"
#include "http/http.h"
#include "http/metrics.h"
#include "util/clock.h"
#include "util/log.h"

struct conn;

struct loop {
	struct server *srv;
	int index;
	struct event_base *base;
	struct evhttp *http;
	struct evhttp_bound_socket *bound;
	pthread_t tid;
	int started;
	/* Owned by the loop thread: */
	int inflight; /* handler entered, response not yet fully written */
	int draining;
	long long drain_deadline_us;
	struct event *drain_tick;
	struct conn *conns;        /* open connections, watched for slow senders */
	struct event *sweep;
	long long read_timeout_us;
};

/* An open connection, watched against slow senders. libevent's own timeout
 * restarts at every byte, so a client sending one byte a second would hold
 * a connection (and its buffers) for hours; here a request must arrive
 * whole within read_timeout_us of its first byte, or the socket is shut. */
struct conn {
	struct loop *loop;
	struct bufferevent *bev;
	struct evhttp_connection *evcon;
	long long since_us; /* first byte of the request being read; 0: none */
	void (*on_close)(struct evhttp_connection *, void *); /* a stream's hook */
	void *on_close_arg;
	struct conn *prev, *next;
};

struct server {
	struct server_host host;
	struct http_site site; /* with the defaults in place of hooks left out */
	struct loop *loops;
	int nloops;
	char address[300];
	int drain_timeout_ms;
};

/* The limits refusals name: restart-only settings, the same on every loop. */
static long limit_body_bytes, limit_header_bytes;

int server_thread_count(int threads)
{
	if (threads > 0)
		return threads;
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)(n > 64 ? 64 : n) : 1;
}

const char *server_address(const struct server *s) { return s->address; }
int server_threads(const struct server *s) { return s->nloops; }

static enum http_method method_of(struct evhttp_request *req)
{
	switch (evhttp_request_get_command(req)) {
	case EVHTTP_REQ_GET: return METHOD_GET;
	case EVHTTP_REQ_HEAD: return METHOD_HEAD;
	case EVHTTP_REQ_POST: return METHOD_POST;
	case EVHTTP_REQ_PUT: return METHOD_PUT;
	case EVHTTP_REQ_DELETE: return METHOD_DELETE;
	case EVHTTP_REQ_PATCH: return METHOD_PATCH;
	case EVHTTP_REQ_OPTIONS: return METHOD_OPTIONS;
	default: return METHOD_OTHER;
	}
}

/* A random per-thread prefix and a counter: unique across threads and
 * restarts without a getrandom() call per request. Ids are for correlation,
 * not secrets. */
static void request_id_make(char out[65])
{
	static _Thread_local char prefix[17];
	static _Thread_local unsigned long long counter;
	if (!prefix[0]) {
		unsigned char raw[8];
		randombytes_buf(raw, sizeof raw);
		sodium_bin2hex(prefix, sizeof prefix, raw, sizeof raw);
	}
	snprintf(out, 65, "%s%016llx", prefix, ++counter);
}

/* libevent refuses a request it cannot parse, or one over a limit, by itself
 * before any handler runs, through evhttp_send_error: an HTML page without
 * the security headers, 400 for a head over the limit, 413 for a malformed
 * chunked body, and nothing that names the limit. This definition takes the
 * place of libevent's (libevent calls it through its PLT, so the program's
 * own definition wins) and answers in the one error shape instead, with the
 * right status, and closes the connection. */
void evhttp_send_error(struct evhttp_request *req, int error, const char *reason)
{
	struct http_ctx c;
	memset(&c, 0, sizeof c);
	c.req = req;
	c.path = "";
	c.closing = 1;
	request_id_make(c.request_id);
	if (!req->major || !req->minor) { /* the request line never parsed */
		req->major = 1;
		req->minor = 1;
	}
	evhttp_clear_headers(evhttp_request_get_output_headers(req));
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	struct bufferevent *bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
	size_t unread = bev ? evbuffer_get_length(bufferevent_get_input(bev)) : 0;
	if (error == HTTP_ENTITYTOOLARGE && req->chunked) {
		error = 400;
		http_reply_error(&c, 400, "invalid_body", "body",
				 "the chunked body is malformed, or larger than the limit of %ld bytes",
				 limit_body_bytes);
	} else if (error == HTTP_ENTITYTOOLARGE) {
		http_reply_error(&c, 413, "too_large", "body",
				 "the body is larger than the limit of %ld bytes", limit_body_bytes);
	} else if (error == HTTP_BADREQUEST &&
		   req->headers_size + unread > (size_t)limit_header_bytes) {
		error = 431;
		http_reply_error(&c, 431, "too_large", "headers",
				 "the request line and headers are larger than the limit of %ld bytes",
				 limit_header_bytes);
	} else if (error == HTTP_BADREQUEST) {
		http_reply_error(&c, 400, "invalid_request", NULL,
				 "the request line or a header is malformed, or the request line is "
				 "longer than the limit of %ld bytes",
				 limit_header_bytes);
	} else {
		http_reply_error(&c, error, "invalid_request", NULL, "%s",
				 reason ? reason : "the request cannot be served");
	}
	log_emit(LOG_INFO, "request refused",
		 json_pack("{s:s,s:i}", "request_id", c.request_id, "status", error));
}

static void finish(struct http_ctx *c);

/* The slow-sender watch: a request starts with its first byte and is whole
 * once its answer starts (or libevent stops reading to hand it over). */
static void conn_input(struct evbuffer *b, const struct evbuffer_cb_info *info, void *arg)
{
	struct conn *k = arg;
	if (info->n_added && !k->since_us)
		k->since_us = clock_mono_us();
}

static void conn_output(struct evbuffer *b, const struct evbuffer_cb_info *info, void *arg)
{
	struct conn *k = arg;
	if (info->n_added)
		k->since_us = 0;
}

static void conn_closed(struct evhttp_connection *evcon, void *arg)
{
	struct conn *k = arg;
	if (k->on_close)
		k->on_close(evcon, k->on_close_arg);
	evbuffer_remove_cb(bufferevent_get_input(k->bev), conn_input, k);
	evbuffer_remove_cb(bufferevent_get_output(k->bev), conn_output, k);
	if (k->prev)
		k->prev->next = k->next;
	else
		k->loop->conns = k->next;
	if (k->next)
		k->next->prev = k->prev;
	free(k);
}

/* Runs right after the accept, once libevent has made the connection. */
static void conn_attach(evutil_socket_t fd, short what, void *arg)
{
	struct conn *k = arg;
	void *evcon = NULL;
	bufferevent_getcb(k->bev, NULL, NULL, NULL, &evcon);
	k->evcon = evcon;
	evhttp_connection_set_closecb(k->evcon, conn_closed, k);
}

/* evhttp's bufferevent factory: the same socket bufferevent it would make
 * itself, with the watch attached. */
static struct bufferevent *conn_new(struct event_base *base, void *arg)
{
	struct loop *l = arg;
	struct bufferevent *bev = bufferevent_socket_new(base, -1, 0);
	struct conn *k = calloc(1, sizeof *k);
	if (!bev || !k)
		abort();
	k->loop = l;
	k->bev = bev;
	k->next = l->conns;
	if (l->conns)
		l->conns->prev = k;
	l->conns = k;
	evbuffer_add_cb(bufferevent_get_input(bev), conn_input, k);
	evbuffer_add_cb(bufferevent_get_output(bev), conn_output, k);
	/* Activated at once: runs before this loop reads from the socket. */
	event_base_once(base, -1, EV_TIMEOUT, conn_attach, k, NULL);
	return bev;
}

/* Shuts the socket of every request that has been arriving for too long;
 * libevent then sees the end of the stream and frees the connection. */
static void conn_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct loop *l = arg;
	long long now = clock_mono_us();
	for (struct conn *k = l->conns; k; k = k->next) {
		if (!k->since_us || now - k->since_us < l->read_timeout_us ||
		    !(bufferevent_get_enabled(k->bev) & EV_READ))
			continue;
		evutil_socket_t s = bufferevent_getfd(k->bev);
		if (s >= 0)
			shutdown(s, SHUT_RDWR);
		k->since_us = 0;
		log_emit(LOG_INFO, "slow client cut off",
			 json_pack("{s:i}", "read_timeout_ms", (int)(l->read_timeout_us / 1000)));
	}
}

void http_conn_on_close(struct http_ctx *c, void (*cb)(struct evhttp_connection *, void *),
			void *arg)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(c->req);
	if (!evcon)
		return;
	struct loop *l = c->finish == finish ? c->finish_arg : NULL;
	for (struct conn *k = l ? l->conns : NULL; k; k = k->next) {
		if (k->evcon == evcon) {
			k->on_close = cb;
			k->on_close_arg = arg;
			return;
		}
	}
	evhttp_connection_set_closecb(evcon, cb, arg); /* not one of ours */
}

static void on_complete(struct evhttp_request *req, void *arg)
{
	struct loop *l = arg;
	l->inflight--;
}

/* 404, 405 and OPTIONS, decided once for every route; the site words the
 * 404 and 405. */
static void answer_unrouted(struct http_ctx *c)
{
	if (c->match.status == 405) {
		http_header(c, "Allow", c->match.allow);
		if (c->method == METHOD_OPTIONS) {
			http_reply(c, 204, NULL, NULL, 0);
			return;
		}
	}
	c->site->unrouted(c);
}

static void log_request(struct http_ctx *c, long long us)
{
	enum log_level lvl = c->status >= 500 ? LOG_ERROR : LOG_INFO;
	if (!log_enabled(lvl))
		return;
	const char *route = c->match.route ? c->match.route->pattern : "unmatched";
	log_emit(lvl, "request",
		 json_pack("{s:s,s:s,s:s,s:i,s:f}", "request_id", c->request_id, "method",
			   http_method_name(c->method), "route", route, "status", c->status,
			   "duration_ms", (double)us / 1000.0));
}

/* The request is answered (now, or later for a deferred one): metrics, the
 * log line, and the configuration reference go back. */
static void finish(struct http_ctx *c)
{
	struct loop *l = c->finish_arg;
	struct server *s = l->srv;
	if (c->req_gone) /* freed without reaching on_complete */
		l->inflight--;
	long long us = clock_mono_us() - c->start_us;
	metrics_record(s->host.metrics, c->shard,
		       c->match.route_index >= 0 ? c->match.route_index : (int)s->site.nroutes,
		       (int)c->method, c->status, us);
	log_request(c, us);
	s->host.config_release(s->host.app, c->cfg);
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct loop *l = arg;
	struct server *s = l->srv;
	struct http_ctx c;
	memset(&c, 0, sizeof c);
	c.req = req;
	c.app = s->host.app;
	c.site = &s->site;
	c.shard = l->index;
	c.start_us = clock_mono_us();
	c.method = method_of(req);
	c.closing = l->draining;
	c.cfg = s->host.config_acquire(s->host.app);
	c.base = l->base;
	c.finish = finish;
	c.finish_arg = l;
	l->inflight++;
	evhttp_request_set_on_complete_cb(req, on_complete, l);
	/* libevent writes at most 16 KiB per call by default; a snapshot is
	 * larger, and each extra round costs a syscall and a loop turn. */
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	struct bufferevent *bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
	if (bev)
		bufferevent_set_max_single_write(bev, 1 << 20);

	const char *rid = evhttp_find_header(evhttp_request_get_input_headers(req), "X-Request-Id");
	if (rid && http_request_id_valid(rid))
		snprintf(c.request_id, sizeof c.request_id, "%s", rid);
	else
		request_id_make(c.request_id);

	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	c.path = uri ? evhttp_uri_get_path(uri) : NULL;
	if (!c.path || !*c.path)
		c.path = "/";
	c.query = uri ? evhttp_uri_get_query(uri) : NULL;

	router_match(s->site.routes, s->site.nroutes, c.method, c.path, &c.match);
	if (http_input_check(&c))
		; /* answered: the request is not text */
	else if (c.match.status == 200) {
		http_client_address(&c);
		if (!s->site.admit(&c))
			c.match.route->handler(&c);
	}
	else
		answer_unrouted(&c);
	if (c.deferred) /* the heap copy answers later and finishes then */
		return;
	if (!c.status) /* a handler that forgot to answer is a product fault */
		http_reply_error(&c, 500, "internal", NULL, "the handler gave no answer");
	finish(&c);
}

static void *loop_main(void *arg)
{
	struct loop *l = arg;
	event_base_dispatch(l->base);
	return NULL;
}

/* Splits "host:port" / "[v6]:port" and resolves it for a passive socket. */
static int resolve(const char *listen, struct addrinfo **res, struct perr *err)
{
	char host[256];
	const char *colon = strrchr(listen, ':');
	if (!colon)
		return perr_set(err, PERR_INVALID, "server.listen", "'%s' is not host:port", listen);
	size_t hl = (size_t)(colon - listen);
	const char *h = listen;
	if (hl >= 2 && listen[0] == '[' && listen[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	if (hl >= sizeof host)
		return perr_set(err, PERR_INVALID, "server.listen", "host too long");
	memcpy(host, h, hl);
	host[hl] = '\0';
	struct addrinfo hints;
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	int rc = getaddrinfo(hl ? host : NULL, colon + 1, &hints, res);
	if (rc != 0)
		return perr_set(err, PERR_INVALID, "server.listen", "cannot resolve '%s': %s",
				listen, gai_strerror(rc));
	return 0;
}

/* Binds once without SO_REUSEPORT: if anyone holds the address (even with
 * SO_REUSEPORT) this fails, so two servers never silently share a port.
 * Fills in the port the kernel chose when the port was 0. */
static int probe(struct sockaddr_storage *sa, socklen_t len, struct perr *err,
		 const char *addr)
{
	int fd = socket(sa->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return perr_set(err, PERR_IO, "server.listen", "socket: %s", strerror(errno));
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)sa, len) < 0) {
		int e = errno;
		close(fd);
		return perr_set(err, PERR_IO, "server.listen", "cannot listen on %s: %s", addr,
				strerror(e));
	}
	socklen_t l = len;
	getsockname(fd, (struct sockaddr *)sa, &l);
	close(fd);
	return 0;
}

static void format_address(const struct sockaddr_storage *sa, char *out, size_t cap)
{
	char host[INET6_ADDRSTRLEN] = "?";
	int port = 0;
	if (sa->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &a6->sin6_addr, host, sizeof host);
		port = ntohs(a6->sin6_port);
		snprintf(out, cap, "[%s]:%d", host, port);
		return;
	}
	const struct sockaddr_in *a4 = (const struct sockaddr_in *)sa;
	inet_ntop(AF_INET, &a4->sin_addr, host, sizeof host);
	port = ntohs(a4->sin_port);
	snprintf(out, cap, "%s:%d", host, port);
}

static int loop_setup(struct loop *l, const struct config *cfg, struct sockaddr_storage *sa,
		      socklen_t len, struct perr *err)
{
	l->base = event_base_new();
	l->http = l->base ? evhttp_new(l->base) : NULL;
	if (!l->http)
		return perr_set(err, PERR_INTERNAL, NULL, "cannot create the event loop");
	evhttp_set_gencb(l->http, on_request, l);
	evhttp_set_max_body_size(l->http, cfg->max_body_bytes);
	evhttp_set_max_headers_size(l->http, cfg->max_header_bytes);
	struct timeval rt = {cfg->read_timeout_ms / 1000, (cfg->read_timeout_ms % 1000) * 1000};
	evhttp_set_timeout_tv(l->http, &rt);
	evhttp_set_bevcb(l->http, conn_new, l);
	l->read_timeout_us = (long long)cfg->read_timeout_ms * 1000;
	int every_ms = cfg->read_timeout_ms / 4 > 1000 ? 1000 : cfg->read_timeout_ms / 4;
	struct timeval st = {every_ms / 1000, (every_ms % 1000) * 1000};
	l->sweep = event_new(l->base, -1, EV_PERSIST, conn_sweep, l);
	if (!l->sweep || event_add(l->sweep, &st) < 0)
		return perr_set(err, PERR_INTERNAL, NULL, "cannot start the slow-sender watch");
	/* Every method reaches the router, which answers 405 with Allow. */
	evhttp_set_allowed_methods(l->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
						    EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
						    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
						    EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	/* Read the rest of an oversized body so the client sees the 413. */
	evhttp_set_flags(l->http, EVHTTP_SERVER_LINGERING_CLOSE);
	struct evconnlistener *lis = evconnlistener_new_bind(
		l->base, NULL, NULL,
		LEV_OPT_REUSEABLE | LEV_OPT_REUSEABLE_PORT | LEV_OPT_CLOSE_ON_FREE |
			LEV_OPT_CLOSE_ON_EXEC,
		1024, (struct sockaddr *)sa, (int)len);
	if (!lis)
		return perr_set(err, PERR_IO, "server.listen", "cannot listen: %s", strerror(errno));
	/* Accepted sockets inherit TCP_NODELAY from the listener (Linux): headers
	 * and body leave in separate writes, and Nagle with delayed ACKs would
	 * hold the body back ~40 ms. */
	int one = 1;
	setsockopt(evconnlistener_get_fd(lis), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	l->bound = evhttp_bind_listener(l->http, lis);
	if (!l->bound) {
		evconnlistener_free(lis);
		return perr_set(err, PERR_INTERNAL, NULL, "cannot attach the listener");
	}
	return 0;
}

int server_start(struct server **out, const struct server_host *host, const struct config *cfg,
		 const struct http_site *site, struct perr *err)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, (void (*)(void))evthread_use_pthreads);

	struct addrinfo *ai = NULL;
	int rc = resolve(cfg->listen, &ai, err);
	if (rc < 0)
		return rc;
	struct sockaddr_storage sa;
	socklen_t len = (socklen_t)ai->ai_addrlen;
	memcpy(&sa, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	if ((rc = probe(&sa, len, err, cfg->listen)) < 0)
		return rc;

	struct server *s = calloc(1, sizeof *s);
	if (!s)
		abort();
	s->host = *host;
	s->site = *site;
	if (!s->site.admit)
		s->site.admit = http_admit_public;
	if (!s->site.refuse)
		s->site.refuse = http_refuse_json;
	if (!s->site.unrouted)
		s->site.unrouted = http_unrouted_json;
	s->nloops = server_thread_count(cfg->threads);
	limit_body_bytes = cfg->max_body_bytes;
	limit_header_bytes = cfg->max_header_bytes;
	s->loops = calloc((size_t)s->nloops, sizeof *s->loops);
	if (!s->loops)
		abort();
	format_address(&sa, s->address, sizeof s->address);
	for (int i = 0; i < s->nloops; i++) {
		s->loops[i].srv = s;
		s->loops[i].index = i;
		if ((rc = loop_setup(&s->loops[i], cfg, &sa, len, err)) < 0) {
			server_free(s);
			return rc;
		}
	}
	for (int i = 0; i < s->nloops; i++) {
		if (pthread_create(&s->loops[i].tid, NULL, loop_main, &s->loops[i]) != 0) {
			server_drain(s, 0);
			server_free(s);
			return perr_set(err, PERR_INTERNAL, NULL, "cannot start loop thread %d", i);
		}
		s->loops[i].started = 1;
	}
	*out = s;
	return 0;
}

static void drain_tick(evutil_socket_t fd, short what, void *arg)
{
	struct loop *l = arg;
	if (l->inflight <= 0 || clock_mono_us() >= l->drain_deadline_us)
		event_base_loopexit(l->base, NULL);
}

/* Runs on the loop thread: stop accepting, then exit once idle. */
static void drain_start(evutil_socket_t fd, short what, void *arg)
{
	struct loop *l = arg;
	if (l->bound) {
		evhttp_del_accept_socket(l->http, l->bound);
		l->bound = NULL;
	}
	l->draining = 1;
	l->drain_deadline_us = clock_mono_us() + (long long)l->srv->drain_timeout_ms * 1000;
	l->drain_tick = event_new(l->base, -1, EV_PERSIST, drain_tick, l);
	struct timeval tv = {0, 10000};
	event_add(l->drain_tick, &tv);
	drain_tick(-1, 0, l);
}

void server_drain(struct server *s, int timeout_ms)
{
	s->drain_timeout_ms = timeout_ms;
	struct timeval now = {0, 0};
	for (int i = 0; i < s->nloops; i++)
		if (s->loops[i].started)
			event_base_once(s->loops[i].base, -1, EV_TIMEOUT, drain_start, &s->loops[i],
					&now);
	for (int i = 0; i < s->nloops; i++) {
		if (s->loops[i].started)
			pthread_join(s->loops[i].tid, NULL);
		s->loops[i].started = 0;
	}
}

void server_free(struct server *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->nloops; i++) {
		struct loop *l = &s->loops[i];
		if (l->drain_tick)
			event_free(l->drain_tick);
		if (l->http)
			evhttp_free(l->http); /* closes the connections, freeing their watch */
		if (l->sweep)
			event_free(l->sweep);
		if (l->base)
			event_base_free(l->base);
	}
	free(s->loops);
	free(s);
}
