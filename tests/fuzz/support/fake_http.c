/* fake_http: see fake_http.h. Plain blocking sockets on one thread, so that
 * the server itself cannot be the source of a leak or a race the fuzzer
 * would blame on the client. */
#include "fake_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

/* Room for an answer a little over the http executor's 1 MiB output cap. */
#define SCRIPT_MAX (2 << 20)
#define REQUEST_MAX (256 * 1024)

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static char url[64];
static int listen_fd = -1;

static char script[SCRIPT_MAX];
static struct {
	int status;
	size_t off, len;
} answers[FAKE_HTTP_MAX_ANSWERS];
static int nanswers, fallback = 404, served;

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads the request head and its Content-Length body; -1 when the client
 * went away first. */
static int read_request(int fd)
{
	static char req[REQUEST_MAX];
	size_t have = 0;
	char *end = NULL;
	while (!end) {
		if (have == sizeof req - 1)
			return -1;
		ssize_t r = recv(fd, req + have, sizeof req - 1 - have, 0);
		if (r <= 0)
			return -1;
		have += (size_t)r;
		req[have] = 0;
		end = strstr(req, "\r\n\r\n");
	}
	size_t head = (size_t)(end - req) + 4, body = 0;
	for (char *line = strstr(req, "\r\n"); line && line < end; line = strstr(line + 2, "\r\n")) {
		if (strncasecmp(line + 2, "Content-Length:", 15) == 0)
			body = strtoul(line + 17, NULL, 10);
		if (strncasecmp(line + 2, "Expect: 100-continue", 20) == 0 &&
		    write_all(fd, "HTTP/1.1 100 Continue\r\n\r\n", 25) < 0)
			return -1;
	}
	size_t got = have - head;
	while (got < body) {
		ssize_t r = recv(fd, req, sizeof req, 0);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

static void answer(int fd)
{
	char head[256];
	pthread_mutex_lock(&lock);
	int i = served++;
	int status = i < nanswers ? answers[i].status : fallback;
	const char *body = i < nanswers ? script + answers[i].off : "";
	size_t len = i < nanswers ? answers[i].len : 0;
	int n = snprintf(head, sizeof head,
			 "HTTP/1.1 %d Fake\r\nContent-Type: application/json\r\n"
			 "Content-Length: %zu\r\nConnection: close\r\n\r\n",
			 status, len);
	if (write_all(fd, head, (size_t)n) == 0)
		write_all(fd, body, len);
	pthread_mutex_unlock(&lock);
}

static void *serve(void *arg)
{
	(void)arg;
	for (;;) {
		int fd = accept(listen_fd, NULL, NULL);
		if (fd < 0)
			continue;
		if (read_request(fd) == 0)
			answer(fd);
		/* Closing first leaves TIME_WAIT on this side, not on the
		 * client's ever-new ports. */
		close(fd);
	}
	return NULL;
}

static void start(void)
{
	struct sockaddr_in a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof a;
	listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&a, sizeof a) < 0 ||
	    listen(listen_fd, 16) < 0 || getsockname(listen_fd, (struct sockaddr *)&a, &len) < 0) {
		perror("fake_http");
		abort();
	}
	snprintf(url, sizeof url, "http://127.0.0.1:%d", ntohs(a.sin_port));
	pthread_t t;
	if (pthread_create(&t, NULL, serve, NULL) != 0)
		abort();
	pthread_detach(t);
}

const char *fake_http_url(void)
{
	pthread_once(&once, start);
	return url;
}

static int status_of(const char *p, size_t len, size_t *skip)
{
	if (len < 4 || p[0] < '1' || p[0] > '9' || p[1] < '0' || p[1] > '9' || p[2] < '0' ||
	    p[2] > '9' || (p[3] != ' ' && p[3] != '\n'))
		return 200;
	int s = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
	*skip = 4;
	/* 1xx would have the client wait for the real answer: not a fault. */
	return s < 200 || s > 599 ? 200 : s;
}

void fake_http_script(const uint8_t *data, size_t size, int fallback_status)
{
	static const char sep[] = "\n---\n";
	pthread_mutex_lock(&lock);
	if (size > sizeof script)
		size = sizeof script;
	memcpy(script, data, size);
	nanswers = 0;
	served = 0;
	fallback = fallback_status;
	size_t pos = 0;
	while (nanswers < FAKE_HTTP_MAX_ANSWERS) {
		const char *hit = memmem(script + pos, size - pos, sep, sizeof sep - 1);
		size_t end = hit ? (size_t)(hit - script) : size;
		size_t skip = 0;
		answers[nanswers].status = status_of(script + pos, end - pos, &skip);
		answers[nanswers].off = pos + skip;
		answers[nanswers].len = end - pos - skip;
		nanswers++;
		if (!hit)
			break;
		pos = end + sizeof sep - 1;
	}
	pthread_mutex_unlock(&lock);
}

int fake_http_requests(void)
{
	pthread_mutex_lock(&lock);
	int n = served;
	pthread_mutex_unlock(&lock);
	return n;
}

int fake_http_answer(int i, const char **body, size_t *len)
{
	pthread_mutex_lock(&lock);
	int status = i < nanswers ? answers[i].status : fallback;
	*body = i < nanswers ? script + answers[i].off : "";
	*len = i < nanswers ? answers[i].len : 0;
	pthread_mutex_unlock(&lock);
	return status;
}
