/* fake_http: see fake_http.h. The scripted answers on top of the tests' one
 * loopback server (tests/support/loopback_http), which runs for the whole
 * fuzzing run and is reachable from here, so nothing of it is a leak. */
#include "fake_http.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "../../support/loopback_http.h"

/* Room for an answer a little over the http executor's 1 MiB output cap. */
#define SCRIPT_MAX (2 << 20)

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static struct loopback_http srv;
static char url[64];

static char script[SCRIPT_MAX];
static struct {
	int status;
	size_t off, len;
} answers[FAKE_HTTP_MAX_ANSWERS];
static int nanswers, fallback = 404, served;

/* The next answer of the script, on a connection closed after it. */
static void answer(struct evhttp_request *req, void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock);
	int i = served++;
	int status = i < nanswers ? answers[i].status : fallback;
	const char *body = i < nanswers ? script + answers[i].off : "";
	size_t len = i < nanswers ? answers[i].len : 0;
	evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
	loopback_http_reply_n(req, status, "application/json", body, len);
	pthread_mutex_unlock(&lock);
}

static void start(void)
{
	loopback_http_open(&srv);
	evhttp_set_gencb(srv.http, answer, NULL);
	snprintf(url, sizeof url, "http://127.0.0.1:%d", srv.port);
	loopback_http_run(&srv);
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
