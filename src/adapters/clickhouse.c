/* clickhouse: the HTTP client (see clickhouse.h). One easy handle is kept
 * for the client's life so consecutive calls reuse the connection; a call
 * that finds it busy makes a handle of its own rather than wait, drawing on
 * the same connection pool.
 * It does not retry: whether a statement may run twice is the caller's call. */
#include "adapters/clickhouse.h"
#include "util/httpc.h"
#include "util/utf8.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#ifndef PORTAL_VERSION
#define PORTAL_VERSION "dev"
#endif

#define CLICKHOUSE_USER_AGENT "portal/" PORTAL_VERSION

struct clickhouse {
	char *url;                  /* base + "/?database=...&wait_end_of_query=1" */
	char *base;                 /* as configured, without a trailing slash: scrubbed */
	char *user;                 /* scrubbed from quoted exceptions */
	char *secret;               /* scrubbed too; wiped on free */
	char *name;
	int timeout_ms;
	struct curl_slist *headers; /* may hold the credential: wiped on free */
	pthread_mutex_t lock;       /* held while easy is in use */
	CURL *easy;
	struct httpc_pool *pool;    /* the server's idle connections, for every handle */
};

/* --- strings */

int clickhouse_quote(struct buf *b, const char *s, size_t len, const char *field,
		     struct perr *err)
{
	static const char hex[] = "0123456789ABCDEF";
	const char *what = field && field[0] ? field : "the value";
	size_t mark = b->len;
	const unsigned char *p = (const unsigned char *)s;
	buf_putc(b, '\'');
	for (size_t i = 0; i < len;) {
		unsigned char c = p[i];
		const char *esc = NULL;
		switch (c) {
		case '\\': esc = "\\\\"; break;
		case '\'': esc = "\\'"; break;
		case '\b': esc = "\\b"; break;
		case '\f': esc = "\\f"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\t': esc = "\\t"; break;
		default: break;
		}
		if (c == 0) {
			b->len = mark;
			buf_append(b, "", 0);
			return perr_set(err, PERR_INVALID, field,
					"%s contains a NUL byte (at byte %zu)", what, i);
		}
		if (esc) {
			buf_puts(b, esc);
			i++;
		} else if (c < 0x20 || c == 0x7F) {
			char x[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
			buf_append(b, x, sizeof x);
			i++;
		} else {
			size_t n = utf8_seq(p + i, len - i);
			if (n == 0) {
				b->len = mark;
				buf_append(b, "", 0);
				return perr_set(err, PERR_INVALID, field,
						"%s is not valid UTF-8 (at byte %zu)", what, i);
			}
			buf_append(b, p + i, n);
			i += n;
		}
	}
	buf_putc(b, '\'');
	return 0;
}

static int has_control(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7F)
			return 1;
	return 0;
}

static int ident_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

/* Copies at most cap-1 bytes of s (len bytes) into out as one line of valid
 * UTF-8: control bytes become spaces, runs of spaces one, invalid bytes '?',
 * and a sequence that does not fit is left out whole. */
static void copy_line(char *out, size_t cap, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0;
	for (size_t i = 0; i < len && o + 1 < cap;) {
		unsigned char c = p[i];
		if (c < 0x20 || c == 0x7F || c == ' ') {
			if (o > 0 && out[o - 1] != ' ')
				out[o++] = ' ';
			i++;
			continue;
		}
		size_t n = utf8_seq(p + i, len - i);
		if (n == 0) {
			out[o++] = '?';
			i++;
			continue;
		}
		if (o + n + 1 > cap)
			break;
		memcpy(out + o, p + i, n);
		o += n;
		i += n;
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	if (cap)
		out[o] = '\0';
}

static const char *find_in(const char *s, const char *end, const char *needle)
{
	size_t n = strlen(needle);
	for (const char *p = s; p + n <= end; p++)
		if (memcmp(p, needle, n) == 0)
			return p;
	return NULL;
}

int clickhouse_exception(const char *body, size_t len, char *text, size_t cap)
{
	const char *end = body + len;
	static const char tag[] = "Code: ";
	for (const char *line = body; line && line < end;) {
		const char *p = line + sizeof tag - 1;
		int code = 0, digits = 0;
		if ((size_t)(end - line) > sizeof tag - 1 && memcmp(line, tag, sizeof tag - 1) == 0) {
			while (p < end && *p >= '0' && *p <= '9' && digits < 9) {
				code = code * 10 + (*p++ - '0');
				digits++;
			}
		}
		if (digits > 0 && code > 0 && p < end && (*p == ',' || *p == '.')) {
			if (cap == 0)
				return code;
			/* 18.16: "Code: 60, e.displayText() = DB::Exception: TEXT, e.what() = DB::Exception"
			 * newer: "Code: 60. DB::Exception: TEXT (NAME) (version 24.x.y.z (official build))" */
			const char *start = p + 1;
			const char *ex = find_in(start, end, "DB::Exception: ");
			if (ex)
				start = ex + strlen("DB::Exception: ");
			const char *stop = end;
			const char *what = find_in(start, end, ", e.what() = ");
			const char *ver = find_in(start, end, " (version ");
			if (what && what < stop)
				stop = what;
			if (ver && ver < stop)
				stop = ver;
			copy_line(text, cap, start, (size_t)(stop - start));
			if (!text[0])
				copy_line(text, cap, "(no message)", strlen("(no message)"));
			return code;
		}
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		line = nl ? nl + 1 : NULL;
	}
	if (cap)
		text[0] = '\0';
	return 0;
}

/* Replaces in text (a C string of capacity cap) every occurrence of what
 * with mask. With whole_word, only where what is not part of a longer
 * identifier nor the database part of a qualified name ("default.t"). */
static void scrub(char *text, size_t cap, const char *what, const char *mask, int whole_word)
{
	size_t n = what ? strlen(what) : 0;
	if (n == 0 || !strstr(text, what))
		return;
	struct buf b = BUF_INIT;
	const char *p = text;
	for (const char *hit; (hit = strstr(p, what));) {
		const char *after = hit + n;
		int word = !whole_word ||
			   ((hit == text || !ident_char(hit[-1])) && !ident_char(*after) &&
			    !(after[0] == '.' && ident_char(after[1])));
		buf_append(&b, p, (size_t)(hit - p));
		if (word)
			buf_puts(&b, mask);
		else
			buf_append(&b, hit, n);
		p = after;
	}
	buf_puts(&b, p);
	copy_line(text, cap, buf_cstr(&b), b.len);
	buf_free(&b);
}

int clickhouse_json_int64(const json_t *v, long long *out)
{
	if (json_is_integer(v)) {
		*out = (long long)json_integer_value(v);
		return 0;
	}
	const char *s = json_string_value(v);
	if (!s)
		return -1;
	size_t len = json_string_length(v);
	const char *d = s[0] == '-' ? s + 1 : s;
	if (len == 0 || len > 20 || strlen(s) != len || *d < '0' || *d > '9')
		return -1;
	char *end;
	errno = 0;
	long long x = strtoll(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = x;
	return 0;
}

/* --- the client */

/* Checks the URL: http(s), a host, nothing that does not belong in a base. */
static int url_check(const char *url, struct perr *err)
{
	if (!url || !url[0])
		return perr_set(err, PERR_INVALID, "url", "the ClickHouse URL is empty");
	if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0)
		return perr_set(err, PERR_INVALID, "url",
				"the ClickHouse URL must start with http:// or https://");
	if (has_control(url) || strchr(url, ' '))
		return perr_set(err, PERR_INVALID, "url",
				"the ClickHouse URL contains spaces or control characters");
	CURLU *u = curl_url();
	if (!u)
		return perr_set(err, PERR_INTERNAL, "url", "out of memory");
	int rc = 0;
	char *part = NULL;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK) {
		rc = perr_set(err, PERR_INVALID, "url", "the ClickHouse URL is not a valid URL");
	} else if (curl_url_get(u, CURLUPART_USER, &part, 0) == CURLUE_OK ||
		   curl_url_get(u, CURLUPART_PASSWORD, &part, 0) == CURLUE_OK) {
		rc = perr_set(err, PERR_INVALID, "url",
			      "the ClickHouse URL must not carry credentials: set user and secret");
	} else if (curl_url_get(u, CURLUPART_QUERY, &part, 0) == CURLUE_OK ||
		   curl_url_get(u, CURLUPART_FRAGMENT, &part, 0) == CURLUE_OK) {
		rc = perr_set(err, PERR_INVALID, "url",
			      "the ClickHouse URL must have no query or fragment: set database");
	} else if (curl_url_get(u, CURLUPART_HOST, &part, 0) != CURLUE_OK || !part[0]) {
		rc = perr_set(err, PERR_INVALID, "url", "the ClickHouse URL names no host");
	}
	if (part) {
		sodium_memzero(part, strlen(part));
		curl_free(part);
	}
	curl_url_cleanup(u);
	return rc;
}

static void header_add(struct curl_slist **h, const char *name, const char *value)
{
	struct buf line = BUF_INIT;
	buf_puts(&line, name);
	buf_puts(&line, value);
	httpc_header_add(h, buf_cstr(&line));
	sodium_memzero(line.data, line.len);
	buf_free(&line);
}

static void secret_free(char *s)
{
	if (s) {
		sodium_memzero(s, strlen(s));
		free(s);
	}
}

void clickhouse_free(struct clickhouse *ch)
{
	if (!ch)
		return;
	if (ch->easy)
		curl_easy_cleanup(ch->easy);
	httpc_pool_free(ch->pool);
	pthread_mutex_destroy(&ch->lock);
	httpc_headers_free(ch->headers);
	free(ch->url);
	free(ch->base);
	free(ch->user);
	secret_free(ch->secret);
	free(ch->name);
	free(ch);
}

static char *dup_or_empty(const char *s)
{
	char *d = strdup(s ? s : "");
	if (!d)
		abort();
	return d;
}

/* A fresh easy handle with everything but the body set. */
static CURL *easy_new(const struct clickhouse *ch)
{
	CURL *e = httpc_easy_new(CLICKHOUSE_USER_AGENT, ch->timeout_ms, ch->pool);
	if (!e)
		return NULL;
	int bad = 0;
	bad |= curl_easy_setopt(e, CURLOPT_URL, ch->url) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_POST, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, ch->headers) != CURLE_OK;
	if (bad) {
		curl_easy_cleanup(e);
		return NULL;
	}
	return e;
}

int clickhouse_new(const struct clickhouse_config *cfg, struct clickhouse **out,
		   struct perr *err)
{
	*out = NULL;
	int rc = url_check(cfg->url, err);
	if (rc < 0)
		return rc;
	const char *user = cfg->user ? cfg->user : "";
	const char *secret = cfg->secret ? cfg->secret : "";
	const char *db = cfg->database && cfg->database[0] ? cfg->database : "default";
	if (strlen(user) > CLICKHOUSE_NAME_MAX || has_control(user))
		return perr_set(err, PERR_INVALID, "user",
				"the ClickHouse user must be at most %d bytes without control "
				"characters", CLICKHOUSE_NAME_MAX);
	if (strlen(secret) > CLICKHOUSE_KEY_MAX || has_control(secret))
		return perr_set(err, PERR_INVALID, "secret",
				"the ClickHouse secret must be at most %d bytes without control "
				"characters", CLICKHOUSE_KEY_MAX);
	if (strlen(db) > CLICKHOUSE_NAME_MAX || has_control(db))
		return perr_set(err, PERR_INVALID, "database",
				"the ClickHouse database must be at most %d bytes without control "
				"characters", CLICKHOUSE_NAME_MAX);
	if (cfg->timeout_ms < 0)
		return perr_set(err, PERR_INVALID, "timeout_ms",
				"the ClickHouse timeout must not be negative");
	if (httpc_global_init() < 0 || sodium_init() < 0)
		return perr_set(err, PERR_INTERNAL, NULL, "the ClickHouse client failed to start");

	struct clickhouse *ch = calloc(1, sizeof *ch);
	if (!ch)
		abort();
	pthread_mutex_init(&ch->lock, NULL);
	size_t blen = strlen(cfg->url);
	while (blen && cfg->url[blen - 1] == '/')
		blen--;
	ch->base = strndup(cfg->url, blen);
	if (!ch->base)
		abort();
	struct buf u = BUF_INIT;
	buf_puts(&u, ch->base);
	buf_puts(&u, "/?database=");
	buf_put_escaped(&u, db);
	/* Buffer the whole answer on the server so the status tells the truth. */
	buf_puts(&u, "&wait_end_of_query=1");
	ch->url = buf_detach(&u, NULL);
	ch->user = dup_or_empty(user);
	ch->secret = dup_or_empty(secret);
	ch->name = dup_or_empty(cfg->name && cfg->name[0] ? cfg->name : "ClickHouse");
	ch->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : CLICKHOUSE_TIMEOUT_MS;

	header_add(&ch->headers, "Content-Type: ", "text/plain; charset=UTF-8");
	header_add(&ch->headers, "Expect:", ""); /* no 100-continue round trip */
	if (user[0])
		header_add(&ch->headers, "X-ClickHouse-User: ", user);
	if (secret[0])
		header_add(&ch->headers, "X-ClickHouse-Key: ", secret);
	ch->pool = httpc_pool_new();
	ch->easy = ch->pool ? easy_new(ch) : NULL;
	if (!ch->easy) {
		clickhouse_free(ch);
		return perr_set(err, PERR_INTERNAL, NULL, "the ClickHouse client failed to start");
	}
	*out = ch;
	return 0;
}

/* Codes that mean the sign-in was refused; their text names the account. */
static int is_signin_code(int code)
{
	switch (code) {
	case 192: /* UNKNOWN_USER */
	case 193: /* WRONG_PASSWORD */
	case 194: /* REQUIRED_PASSWORD */
	case 195: /* IP_ADDRESS_NOT_ALLOWED */
	case 516: /* AUTHENTICATION_FAILED */
		return 1;
	default:
		return 0;
	}
}

/* Fills err from an answer that carries ClickHouse's exception, its text
 * cleared of the URL and the credentials. */
static int refused(const struct clickhouse *ch, long status, const struct httpc_body *a,
		   const char *verb, struct perr *err)
{
	char text[200];
	int code = clickhouse_exception(buf_cstr(&a->b), a->b.len, text, sizeof text);
	if (is_signin_code(code) || (status == 401 && code > 0))
		return perr_set(err, PERR_UNAVAILABLE, NULL,
				"ClickHouse refused the credentials (Code: %d)", code);
	if (code == 0 && (status == 401 || status == 403))
		return perr_set(err, PERR_UNAVAILABLE, NULL,
				"%s refused the credentials (HTTP %ld)", ch->name, status);
	if (code == 0)
		return perr_set(err, PERR_UNAVAILABLE, NULL, "%s answered HTTP %ld", ch->name,
				status);
	if (strlen(ch->secret) >= 4)
		scrub(text, sizeof text, ch->secret, "<secret>", 0);
	scrub(text, sizeof text, ch->base, "<url>", 0);
	if (strcmp(ch->user, "default") != 0)
		scrub(text, sizeof text, ch->user, "<user>", 1);
	return perr_set(err, PERR_UNAVAILABLE, NULL, "ClickHouse %s: Code: %d: %s", verb, code,
			text);
}

int clickhouse_exec(struct clickhouse *ch, const char *sql, const char *data, size_t data_len,
		    struct buf *out, struct perr *err)
{
	struct buf req = BUF_INIT;
	buf_puts(&req, sql);
	if (data) {
		buf_putc(&req, '\n');
		buf_append(&req, data, data_len);
	}

	int mine = pthread_mutex_trylock(&ch->lock) != 0;
	CURL *e = mine ? easy_new(ch) : ch->easy;
	if (!e) {
		buf_free(&req);
		return perr_set(err, PERR_INTERNAL, NULL, "the ClickHouse client failed to start");
	}
	struct httpc_body a = {BUF_INIT, CLICKHOUSE_ANSWER_MAX, 1, 0};
	int bad = 0;
	bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDS, req.data) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req.len) != CURLE_OK;
	bad |= httpc_body_set(e, &a) < 0;
	CURLcode cc = bad ? CURLE_FAILED_INIT : curl_easy_perform(e);
	long status = 0;
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	/* The handle must not keep pointers into this call's memory. */
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, NULL);
	httpc_body_unset(e);
	if (mine)
		curl_easy_cleanup(e);
	else
		pthread_mutex_unlock(&ch->lock);
	buf_free(&req);

	int rc = 0;
	if (a.over)
		rc = perr_set(err, PERR_TOO_LARGE, NULL, "%s answered more than %d MiB", ch->name,
			      CLICKHOUSE_ANSWER_MAX / (1024 * 1024));
	else if (bad)
		rc = perr_set(err, PERR_INTERNAL, NULL, "the ClickHouse request could not be set up");
	else if (cc == CURLE_OPERATION_TIMEDOUT)
		rc = perr_set(err, PERR_UNAVAILABLE, NULL, "%s did not answer within %d ms",
			      ch->name, ch->timeout_ms);
	else if (cc != CURLE_OK) /* curl_easy_strerror names the failure, not the host */
		rc = perr_set(err, PERR_UNAVAILABLE, NULL, "%s did not answer (%s)", ch->name,
			      curl_easy_strerror(cc));
	else if (status < 200 || status > 299)
		rc = refused(ch, status, &a, "refused the query", err);
	else if (clickhouse_exception(buf_cstr(&a.b), a.b.len, NULL, 0) > 0)
		/* wait_end_of_query makes this rare: an error after the first bytes. */
		rc = refused(ch, status, &a, "failed while answering", err);
	else if (out)
		buf_append(out, buf_cstr(&a.b), a.b.len);
	httpc_body_free(&a);
	return rc;
}
