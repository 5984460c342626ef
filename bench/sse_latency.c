/* sse_latency: how long a committed event takes to reach live subscribers.
 * Opens N server-sent-event streams to a running portal, posts single events
 * at a fixed rate from a second thread, and records for every (event,
 * subscriber) the time from the POST's acknowledgement (and from its send) to
 * the moment the delta carrying it arrives. Prints p50/p99/max in ms. With
 * POST_PORT the events go to another server (a replica on the same
 * database), so the figure is replica A's acknowledgement -> B's stream.
 * Usage: sse_latency PORT TOKEN SUBSCRIBERS RATE SECONDS [POST_PORT] */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/thread.h>

#define MAX_EVENTS 200000

static int port, post_port, nsubs, rate, seconds;
static const char *token;
static double t_send[MAX_EVENTS], t_ack[MAX_EVENTS];
static long long base_seq = -1;
static int connected, posted_done;

struct recv_rec { long long seq; double t; };
static struct recv_rec *recvs;
static size_t nrecv, caprecv;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

struct sub { char tail[32]; size_t ntail; };

static void on_read(struct bufferevent *bev, void *arg)
{
	struct sub *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len = evbuffer_get_length(in);
	char *data = malloc(len + sizeof s->tail + 1);
	memcpy(data, s->tail, s->ntail);
	evbuffer_remove(in, data + s->ntail, len);
	size_t n = s->ntail + len;
	data[n] = 0;
	double t = now_ms();
	for (char *p = data; (p = strstr(p, "\nid: ")); p += 5) {
		char *end;
		long long v = strtoll(p + 5, &end, 10);
		if (*end != '\n')
			continue; /* cut off: the tail carries it into the next read */
		pthread_mutex_lock(&mu);
		if (nrecv == caprecv) {
			caprecv = caprecv ? caprecv * 2 : 1 << 16;
			recvs = realloc(recvs, caprecv * sizeof *recvs);
		}
		recvs[nrecv++] = (struct recv_rec){v, t};
		pthread_mutex_unlock(&mu);
	}
	s->ntail = n < sizeof s->tail ? n : sizeof s->tail;
	memcpy(s->tail, data + n - s->ntail, s->ntail);
	free(data);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	if (what & BEV_EVENT_CONNECTED) {
		__atomic_add_fetch(&connected, 1, __ATOMIC_SEQ_CST);
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		fprintf(stderr, "a subscriber lost its stream\n");
}

static int dial_port(int to)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)to)};
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		perror("connect");
		exit(1);
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

static int dial(void)
{
	return dial_port(port);
}

/* Posts one event at a time on a keep-alive connection, at `rate` per second. */
static void *poster(void *arg)
{
	int fd = dial_port(post_port);
	char req[1024], resp[4096];
	long long total = (long long)rate * seconds;
	double start = now_ms(), gap = 1000.0 / rate;
	for (long long i = 0; i < total; i++) {
		double due = start + i * gap, t;
		while ((t = now_ms()) < due)
			usleep((useconds_t)((due - t) * 1000 > 200 ? 200 : (due - t) * 1000));
		char body[256];
		int bl = snprintf(body, sizeof body,
				  "{\"id\":\"lat-%d-%lld\",\"type\":\"session.tool\",\"project\":\"bench\","
				  "\"session\":\"s-%lld\",\"data\":{\"tool\":\"bash\",\"family\":\"shell\"}}",
				  getpid(), i, i % 50);
		int rl = snprintf(req, sizeof req,
				  "POST /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
				  "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
				  token, bl, body);
		double sent = now_ms();
		if (write(fd, req, (size_t)rl) != rl) {
			perror("write");
			exit(1);
		}
		ssize_t got = 0, r;
		char *seqp = NULL;
		while (!seqp && (r = read(fd, resp + got, sizeof resp - 1 - (size_t)got)) > 0) {
			got += r;
			resp[got] = 0;
			seqp = strstr(resp, "\"seq\":");
			if (seqp && !strchr(seqp, '}'))
				seqp = NULL;
		}
		double acked = now_ms();
		if (!seqp) {
			fprintf(stderr, "no seq in answer: %s\n", resp);
			exit(1);
		}
		long long seq = strtoll(seqp + 6, NULL, 10);
		if (base_seq < 0)
			base_seq = seq;
		long long k = seq - base_seq;
		if (k >= 0 && k < MAX_EVENTS) {
			t_send[k] = sent;
			t_ack[k] = acked;
		}
	}
	close(fd);
	__atomic_store_n(&posted_done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void report(const char *what, double *v, size_t n)
{
	qsort(v, n, sizeof *v, cmp);
	printf("%-28s n=%zu p50=%.2f ms p99=%.2f ms max=%.2f ms\n", what, n, v[n / 2],
	       v[(size_t)(n * 0.99)], v[n - 1]);
}

static void stop_cb(evutil_socket_t fd, short w, void *arg)
{
	if (__atomic_load_n(&posted_done, __ATOMIC_SEQ_CST))
		event_base_loopexit(arg, &(struct timeval){1, 0});
}

int main(int argc, char **argv)
{
	if (argc != 6 && argc != 7) {
		fprintf(stderr, "usage: %s PORT TOKEN SUBSCRIBERS RATE SECONDS [POST_PORT] (TOKEN: scopes events:write and read)\n", argv[0]);
		return 2;
	}
	port = atoi(argv[1]);
	token = argv[2];
	nsubs = atoi(argv[3]);
	rate = atoi(argv[4]);
	seconds = atoi(argv[5]);
	post_port = argc == 7 ? atoi(argv[6]) : port;
	evthread_use_pthreads();
	struct event_base *base = event_base_new();
	struct sub *subs = calloc((size_t)nsubs, sizeof *subs);
	for (int i = 0; i < nsubs; i++) {
		struct bufferevent *bev = bufferevent_socket_new(base, dial(), BEV_OPT_CLOSE_ON_FREE);
		bufferevent_setcb(bev, on_read, NULL, on_event, &subs[i]);
		bufferevent_enable(bev, EV_READ);
		evbuffer_add_printf(bufferevent_get_output(bev),
				    "GET /api/v1/stream HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n"
				    "Authorization: Bearer %s\r\n\r\n", token);
	}
	/* Let every stream receive its snapshot before the clock starts. */
	struct timeval settle = {2, 0};
	event_base_loopexit(base, &settle);
	event_base_dispatch(base);
	pthread_mutex_lock(&mu);
	nrecv = 0;
	pthread_mutex_unlock(&mu);
	pthread_t t;
	pthread_create(&t, NULL, poster, NULL);
	struct event *tick = event_new(base, -1, EV_PERSIST, stop_cb, base);
	event_add(tick, &(struct timeval){0, 100000});
	event_base_dispatch(base);
	pthread_join(t, NULL);

	long long total = (long long)rate * seconds;
	double *from_ack = malloc(nrecv * sizeof *from_ack), *from_send = malloc(nrecv * sizeof *from_send);
	size_t n = 0, early = 0;
	for (size_t i = 0; i < nrecv; i++) {
		long long k = recvs[i].seq - base_seq;
		if (k < 0 || k >= total || t_ack[k] == 0)
			continue;
		double a = recvs[i].t - t_ack[k];
		if (a < 0)
			early++;
		from_ack[n] = a < 0 ? 0 : a;
		from_send[n] = recvs[i].t - t_send[k];
		n++;
	}
	printf("subscribers=%d rate=%d/s seconds=%d events=%lld deliveries=%zu expected=%lld\n",
	       nsubs, rate, seconds, total, n, total * nsubs);
	if (!n)
		return 1;
	report("acknowledgement -> receipt", from_ack, n);
	report("send -> receipt", from_send, n);
	printf("deliveries before the acknowledgement reached the poster: %zu (counted as 0 ms)\n", early);
	return n < (size_t)(total * nsubs) * 99 / 100;
}
