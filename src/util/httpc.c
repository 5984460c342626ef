/* httpc: the hardened easy handle, the once-only libcurl start, the per-target
 * connection pool (a curl share of connections and names, locked so threads
 * may share it) and the capped answer body (see httpc.h). It sends nothing
 * itself and never logs. */
#include "util/httpc.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void global_start(void)
{
	/* Never cleaned up: the process keeps using libcurl. */
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int httpc_global_init(void)
{
	pthread_once(&global_once, global_start);
	return global_rc == CURLE_OK ? 0 : -1;
}

/* --- the pool */

struct httpc_pool {
	CURLSH *share;
	pthread_mutex_t locks[CURL_LOCK_DATA_LAST];
};

static void pool_lock(CURL *e, curl_lock_data data, curl_lock_access access, void *arg)
{
	struct httpc_pool *pool = arg;
	pthread_mutex_lock(&pool->locks[data < CURL_LOCK_DATA_LAST ? data : 0]);
}

static void pool_unlock(CURL *e, curl_lock_data data, void *arg)
{
	struct httpc_pool *pool = arg;
	pthread_mutex_unlock(&pool->locks[data < CURL_LOCK_DATA_LAST ? data : 0]);
}

struct httpc_pool *httpc_pool_new(void)
{
	if (httpc_global_init() < 0)
		return NULL;
	struct httpc_pool *pool = calloc(1, sizeof *pool);
	if (!pool)
		return NULL;
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&pool->locks[i], NULL);
	pool->share = curl_share_init();
	int bad = !pool->share;
	if (!bad) {
		bad |= curl_share_setopt(pool->share, CURLSHOPT_LOCKFUNC, pool_lock) != CURLSHE_OK;
		bad |= curl_share_setopt(pool->share, CURLSHOPT_UNLOCKFUNC, pool_unlock) !=
		       CURLSHE_OK;
		bad |= curl_share_setopt(pool->share, CURLSHOPT_USERDATA, pool) != CURLSHE_OK;
		bad |= curl_share_setopt(pool->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT) !=
		       CURLSHE_OK;
		bad |= curl_share_setopt(pool->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) !=
		       CURLSHE_OK;
	}
	if (bad) {
		httpc_pool_free(pool);
		return NULL;
	}
	return pool;
}

void httpc_pool_free(struct httpc_pool *pool)
{
	if (!pool)
		return;
	if (pool->share)
		curl_share_cleanup(pool->share);
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&pool->locks[i]);
	free(pool);
}

/* --- the handle */

int httpc_set_timeout(CURL *e, long timeout_ms)
{
	int bad = 0;
	bad |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms) != CURLE_OK;
	return bad ? -1 : 0;
}

CURL *httpc_easy_new(const char *user_agent, long timeout_ms, struct httpc_pool *pool)
{
	if (httpc_global_init() < 0)
		return NULL;
	CURL *e = curl_easy_init();
	if (!e)
		return NULL;
	int bad = 0;
#if LIBCURL_VERSION_NUM >= 0x075500
	bad |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK;
#else
	bad |= curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS)) != CURLE_OK;
#endif
	/* A redirect would carry the credential wherever it points. */
	bad |= curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
	/* Requests run on worker and server threads: no SIGALRM for timeouts. */
	bad |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
	/* curl's defaults, said here so no caller turns them off. */
	bad |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK;
	if (user_agent)
		bad |= curl_easy_setopt(e, CURLOPT_USERAGENT, user_agent) != CURLE_OK;
	if (timeout_ms > 0)
		bad |= httpc_set_timeout(e, timeout_ms) < 0;
	if (pool)
		bad |= curl_easy_setopt(e, CURLOPT_SHARE, pool->share) != CURLE_OK;
	if (bad) {
		curl_easy_cleanup(e);
		return NULL;
	}
	return e;
}

/* --- the body */

static size_t body_write(char *data, size_t size, size_t n, void *arg)
{
	struct httpc_body *body = arg;
	size_t len = size * n;
	size_t room = body->b.len < body->cap ? body->cap - body->b.len : 0;
	if (len > room) {
		body->over = 1;
		if (body->stop)
			return 0; /* curl stops with CURLE_WRITE_ERROR */
	}
	size_t take = len < room ? len : room;
	if (take)
		buf_append(&body->b, data, take);
	return len; /* read on past the cap, keep nothing of it */
}

int httpc_body_set(CURL *e, struct httpc_body *body)
{
	int bad = 0;
	bad |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, body_write) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_WRITEDATA, body) != CURLE_OK;
	return bad ? -1 : 0;
}

void httpc_body_unset(CURL *e)
{
	curl_easy_setopt(e, CURLOPT_WRITEDATA, NULL);
}

void httpc_body_reset(struct httpc_body *body)
{
	buf_reset(&body->b);
	body->over = 0;
}

void httpc_body_free(struct httpc_body *body)
{
	buf_free(&body->b);
	body->over = 0;
}

/* --- headers */

void httpc_header_add(struct curl_slist **h, const char *line)
{
	struct curl_slist *n = curl_slist_append(*h, line);
	if (!n)
		abort();
	*h = n;
}

void httpc_header_bearer(struct curl_slist **h, const char *token)
{
	static const char prefix[] = "Authorization: Bearer ";
	size_t len = sizeof prefix + strlen(token);
	char *line = malloc(len);
	if (!line)
		abort();
	snprintf(line, len, "%s%s", prefix, token);
	httpc_header_add(h, line);
	sodium_memzero(line, len);
	free(line);
}

void httpc_headers_free(struct curl_slist *h)
{
	for (struct curl_slist *p = h; p; p = p->next)
		sodium_memzero(p->data, strlen(p->data));
	curl_slist_free_all(h);
}
