/* input: the path, the query parameters and the form fields of a request are
 * text. Checked once, before routing, so that no handler sees bytes it could
 * neither show nor store: each must decode to UTF-8 without a NUL. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "http/http.h"
#include "util/utf8.h"

/* Whether the NUL-terminated s is UTF-8. */
static int is_text(const char *s)
{
	size_t n = strlen(s);
	return utf8_valid_len(s, n) == n;
}

/* Answers 400 for the field, through the site's refuse hook: the error
 * shape for machines, the site's view for people. */
static int refuse(struct http_ctx *c, const char *field, const char *what)
{
	struct buf msg = BUF_INIT, advice = BUF_INIT;
	buf_printf(&msg, "%s is not valid UTF-8 text, or holds a NUL byte", what);
	buf_printf(&advice, "%s. Check the link or the form and send it again.", buf_cstr(&msg));
	const struct http_refusal r = {
		.cls = BLOCKER_PRODUCT,
		.cause = BLOCKER_CAUSE_INPUT,
		.code = "invalid",
		.field = field,
		.message = buf_cstr(&msg),
		.title = "This request cannot be read",
		.advice = buf_cstr(&advice),
	};
	int rc = http_refuse(c, &r);
	buf_free(&msg);
	buf_free(&advice);
	return rc;
}

/* Whether every key and value of a query or form string decodes to text:
 * 0 when they do, 1 when not, with the field named in out (empty when the
 * key itself is not text). A string evhttp cannot split into pairs is left to
 * the handler, which cannot read it either. */
static int check_pairs(const char *s, char *out, size_t cap)
{
	out[0] = '\0';
	struct evkeyvalq q;
	TAILQ_INIT(&q);
	if (evhttp_parse_query_str(s, &q) < 0)
		return 0;
	int bad = 0;
	for (struct evkeyval *kv = q.tqh_first; kv && !bad; kv = kv->next.tqe_next) {
		int key_ok = is_text(kv->key);
		bad = !key_ok || !is_text(kv->value);
		if (bad && key_ok && strlen(kv->key) < cap)
			strcpy(out, kv->key);
	}
	evhttp_clear_headers(&q);
	/* evhttp decodes %00 into a NUL that cuts the value short. */
	return bad || strstr(s, "%00") != NULL;
}

int http_input_check(struct http_ctx *c)
{
	size_t n = strlen(c->path);
	char *path = malloc(n + 1);
	if (!path)
		abort();
	int ok = router_decode(c->path, n, path, n + 1) >= 0 && is_text(path);
	free(path);
	if (!ok)
		return refuse(c, "path", "The path"), 1;

	char field[64];
	if (c->query && check_pairs(c->query, field, sizeof field)) {
		struct buf what = BUF_INIT;
		if (field[0])
			buf_printf(&what, "The query parameter %s", field);
		else
			buf_puts(&what, "The query string");
		refuse(c, field[0] ? field : "query", buf_cstr(&what));
		buf_free(&what);
		return 1;
	}

	const char *ctype = http_request_header(c, "Content-Type");
	if (c->method != METHOD_POST || !ctype ||
	    strncasecmp(ctype, "application/x-www-form-urlencoded", 33) != 0)
		return 0;
	struct evbuffer *in = evhttp_request_get_input_buffer(c->req);
	size_t len = evbuffer_get_length(in);
	char *body = malloc(len + 1);
	if (!body)
		abort();
	evbuffer_copyout(in, body, len);
	body[len] = '\0';
	int bad = strlen(body) != len || check_pairs(body, field, sizeof field);
	free(body);
	if (!bad)
		return 0;
	struct buf what = BUF_INIT;
	if (field[0])
		buf_printf(&what, "The form field %s", field);
	else
		buf_puts(&what, "The form");
	refuse(c, field[0] ? field : "body", buf_cstr(&what));
	buf_free(&what);
	return 1;
}
