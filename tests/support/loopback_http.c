/* loopback_http: see loopback_http.h. The connection count comes from
 * evhttp's bufferevent hook, which runs once per accepted connection; it
 * does not look at requests. */
#include "loopback_http.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void die(const char *what)
{
	fprintf(stderr, "loopback_http: %s\n", what);
	abort();
}

static int port_of(int fd)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof sa;
	if (getsockname(fd, (struct sockaddr *)&sa, &len) != 0)
		die("getsockname failed");
	return ntohs(sa.sin_port);
}

/* One call per accepted connection: count it and make its bufferevent as
 * evhttp would. */
static struct bufferevent *on_connection(struct event_base *base, void *arg)
{
	struct loopback_http *s = arg;
	atomic_fetch_add(&s->connections, 1);
	return bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
}

void loopback_http_open(struct loopback_http *s)
{
	memset(s, 0, sizeof *s);
	evthread_use_pthreads();
	s->base = event_base_new();
	s->http = s->base ? evhttp_new(s->base) : NULL;
	if (!s->http)
		die("could not make the server");
	evhttp_set_bevcb(s->http, on_connection, s);
	struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(s->http, "127.0.0.1", 0);
	if (!bs)
		die("could not listen on loopback");
	s->port = port_of(evhttp_bound_socket_get_fd(bs));
	/* Bound, never listening, closed: connecting to it is refused. */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
		die("could not find a refused port");
	s->refused_port = port_of(fd);
	close(fd);
}

static void *serve(void *arg)
{
	struct loopback_http *s = arg;
	event_base_dispatch(s->base);
	return NULL;
}

void loopback_http_run(struct loopback_http *s)
{
	if (pthread_create(&s->thread, NULL, serve, s) != 0)
		die("could not start the server thread");
	s->running = 1;
}

void loopback_http_close(struct loopback_http *s)
{
	if (s->running) {
		/* Not loopbreak: a loop that has not started yet would forget it.
		 * loopexit queues an event the loop runs whenever it starts. */
		event_base_loopexit(s->base, NULL);
		pthread_join(s->thread, NULL);
	}
	if (s->http)
		evhttp_free(s->http);
	if (s->base)
		event_base_free(s->base);
	s->http = NULL;
	s->base = NULL;
	s->running = 0;
}

void loopback_http_reply_n(struct evhttp_request *req, int code, const char *type,
			   const char *body, size_t len)
{
	struct evbuffer *b = evbuffer_new();
	if (!b)
		die("out of memory");
	if (body)
		evbuffer_add(b, body, len);
	if (type)
		evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", type);
	evhttp_send_reply(req, code, code < 300 ? "OK" : "No", b);
	evbuffer_free(b);
}

void loopback_http_reply(struct evhttp_request *req, int code, const char *type,
			 const char *body)
{
	loopback_http_reply_n(req, code, type, body, body ? strlen(body) : 0);
}

int loopback_http_header(struct evhttp_request *req, const char *name, char *out, size_t cap)
{
	const char *v = evhttp_find_header(evhttp_request_get_input_headers(req), name);
	snprintf(out, cap, "%s", v ? v : "");
	return v != NULL;
}
