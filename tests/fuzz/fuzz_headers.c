/* fuzz_headers: the request headers the server reads values out of, given
 * as a header block ("Name: value" lines): Cookie (http_cookie for the
 * sign-in and the sign-in form's cookies, then the login id's shape and the
 * login cache), Last-Event-ID (where a stream resumes), Authorization (a
 * bearer token's shape and the token cache) and X-Request-Id. Values reach
 * these functions the way libevent hands them over: one header per
 * evhttp_add_header, which refuses a value holding a line break. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <sodium.h>

#include "api/api.h"
#include "auth/token.h"
#include "http/http.h"
#include "auth/login.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1700000000000LL
/* A well-formed login id the cache knows, so the signed-in path is reachable. */
#define KNOWN_LOGIN "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

static struct login_cache *logins;
static struct token_cache *tokens;

static void start(void)
{
	if (sodium_init() < 0)
		abort();
	logins = login_cache_new();
	tokens = token_cache_new();
	struct store_login l = {.user_id = 1, .user = "ada", .role = 1, .created_at = NOW,
				.last_seen_at = NOW, .expires_at = NOW + 3600000};
	if (login_id_hash(KNOWN_LOGIN, l.hash) < 0)
		abort();
	login_cache_put(logins, &l);
}

static void cookie(struct http_ctx *c, const char *name, size_t cap)
{
	char out[LOGIN_TEXT_MAX + 8];
	if (http_cookie(c, name, out, cap) < 0)
		return;
	if (strlen(out) >= cap)
		abort(); /* the value overran the caller's buffer */
	unsigned char hash[STORE_LOGIN_HASH_LEN];
	login_id_hash(out, hash);
	struct who who;
	login_cache_check(logins, out, NOW, 3600000, &who);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!logins)
		start();
	struct http_ctx c;
	memset(&c, 0, sizeof c);
	c.req = evhttp_request_new(NULL, NULL);
	struct evkeyvalq *h = evhttp_request_get_input_headers(c.req);

	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = 0;
	for (char *line = text, *next; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		size_t n = strlen(line);
		if (n && line[n - 1] == '\r')
			line[n - 1] = 0;
		char *colon = strchr(line, ':');
		if (!colon)
			continue;
		*colon = 0;
		const char *value = colon + 1;
		while (*value == ' ' || *value == '\t')
			value++;
		evhttp_add_header(h, line, value);
	}
	free(text);

	cookie(&c, LOGIN_COOKIE, LOGIN_TEXT_MAX + 8);
	cookie(&c, LOGIN_PRE_COOKIE, LOGIN_TEXT_MAX);
	api_count_parse(http_request_header(&c, "Last-Event-ID"));
	char who[64];
	token_cache_check(tokens, http_request_header(&c, "Authorization"), "events:write", who,
			  sizeof who);
	const char *rid = http_request_header(&c, "X-Request-Id");
	if (rid && http_request_id_valid(rid) && strlen(rid) > 64)
		abort(); /* would not fit the request id's place in the context */
	evhttp_request_free(c.req);
	return 0;
}
