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
#include "web/web.h"

size_t http_utf8_valid_len(const char *text, size_t n)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t i = 0;
	while (i < n) {
		unsigned c = s[i];
		size_t len;
		unsigned min, cp;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			len = 2, min = 0x80, cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			len = 3, min = 0x800, cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			len = 4, min = 0x10000, cp = c & 0x07;
		} else {
			return i;
		}
		if (n - i < len)
			return i;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return i;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		/* overlong forms, UTF-16 surrogates, past U+10FFFF */
		if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return i;
		i += len;
	}
	return n;
}

/* Whether the NUL-terminated s is UTF-8. */
static int is_text(const char *s)
{
	size_t n = strlen(s);
	return http_utf8_valid_len(s, n) == n;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9') return ch - '0';
	if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
	return -1;
}

/* Percent-decodes s[0..n) into out (n + 1 bytes). -1 on a NUL, or on a "%"
 * without two hex digits. */
static int decode(const char *s, size_t n, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		int ch = (unsigned char)s[i];
		if (ch == '%') {
			int hi = i + 2 < n ? hexval(s[i + 1]) : -1;
			int lo = hi >= 0 ? hexval(s[i + 2]) : -1;
			if (lo < 0)
				return -1;
			ch = hi * 16 + lo;
			i += 2;
		}
		if (ch == 0)
			return -1;
		out[o++] = (char)ch;
	}
	out[o] = '\0';
	return 0;
}

/* Answers 400 for the field: the recovery page for people, the error shape
 * for machines. */
static int refuse(struct http_ctx *c, const char *field, const char *what)
{
	if (!http_wants_html(c))
		return http_reply_error(c, 400, "invalid", field, "%s is not valid UTF-8 text, or holds a NUL byte", what);
	static const struct web_action home[] = {{"/", "Go to the workflow path"}};
	struct buf msg = BUF_INIT;
	buf_printf(&msg, "%s is not valid UTF-8 text, or holds a NUL byte. Check the link or the form "
		   "and send it again.",
		   what);
	int rc = web_reply_recovery(c, 400, "product", "This request cannot be read", buf_cstr(&msg),
				    home, 1);
	buf_free(&msg);
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
	int ok = decode(c->path, n, path) == 0 && is_text(path);
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
