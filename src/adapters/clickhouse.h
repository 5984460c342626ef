/* clickhouse: a small blocking client for ClickHouse's HTTP interface that
 * works with the Debian server (18.16) and current ones alike: the SQL in a
 * POST body, the credentials only in the X-ClickHouse-User / X-ClickHouse-Key
 * headers, the database as ?database=, and wait_end_of_query=1 so that an
 * error is never a 200. 18.16 has no query parameters, so values reach SQL
 * through clickhouse_quote().
 * It does not log, and none of its messages carries the URL, the user or the
 * key (curl's error buffer, which names the host, is deliberately not used). */
#ifndef PORTAL_CLICKHOUSE_H
#define PORTAL_CLICKHOUSE_H

#include <jansson.h>
#include <stddef.h>

#include "util/buf.h"
#include "util/perr.h"

/* An answer longer than this is refused (PERR_TOO_LARGE). */
#define CLICKHOUSE_ANSWER_MAX (8 * 1024 * 1024)
/* A request's time limit, connection included, when none is given. */
#define CLICKHOUSE_TIMEOUT_MS 5000
/* Longest user, key and database accepted. */
#define CLICKHOUSE_NAME_MAX 256
#define CLICKHOUSE_KEY_MAX 1024

/* Where the server answers and how to sign in. Strings are borrowed for
 * clickhouse_new() only. Errors name these fields as written here. */
struct clickhouse_config {
	const char *url;      /* http(s)://host[:port][/prefix]: no credentials, query or fragment */
	const char *user;     /* NULL or "": none (the server's "default") */
	const char *secret;   /* the user's password; NULL or "": none */
	const char *database; /* NULL or "": "default" */
	int timeout_ms;       /* per request; 0: CLICKHOUSE_TIMEOUT_MS */
	const char *name;     /* what messages call the server when it does not
			       * answer, e.g. "the warehouse"; NULL: "ClickHouse" */
};

struct clickhouse;

/* Checks cfg and makes a client; does no I/O. Returns 0 with *out set (free
 * it with clickhouse_free), or PERR_INVALID naming the bad field. */
int clickhouse_new(const struct clickhouse_config *cfg, struct clickhouse **out,
		   struct perr *err);
/* Frees ch (NULL is fine) and wipes the credentials it held. */
void clickhouse_free(struct clickhouse *ch);

/* Runs one statement: POSTs sql and, when data is not NULL, a newline and
 * data_len bytes of data (the rows of an INSERT ... FORMAT). Safe to call from
 * several threads at once. On 0 the answer's body, when out is not NULL, is
 * appended to out. Errors:
 *   PERR_UNAVAILABLE  nothing answered in time ("<name> did not answer ..."),
 *                     or ClickHouse answered with an error, named by its code
 *                     and text ("ClickHouse refused the query: Code: 60: ...";
 *                     a refused sign-in quotes the code only), or a status
 *                     that is not 2xx without one;
 *   PERR_TOO_LARGE    the answer exceeded CLICKHOUSE_ANSWER_MAX. */
int clickhouse_exec(struct clickhouse *ch, const char *sql, const char *data, size_t data_len,
		    struct buf *out, struct perr *err);

/* Appends s (len bytes) to b as a ClickHouse string literal: in single
 * quotes, with backslash and quote escaped by a backslash and every control
 * byte escaped (\n, \t, ... or \xHH), so no value can end the literal.
 * Refuses a NUL byte or invalid UTF-8 (overlong forms, surrogates, beyond
 * U+10FFFF, cut sequences) with PERR_INVALID naming field and the byte
 * offset; b is then left as it was. */
int clickhouse_quote(struct buf *b, const char *s, size_t len, const char *field,
		     struct perr *err);

/* ClickHouse's exception in an answer body: the first line that starts with
 * "Code: N," (18.16) or "Code: N." (newer). Returns N, or 0 when there is
 * none. When there is one and cap > 0, text gets its message without the
 * surrounding decoration ("Table default.x doesn't exist."), on one line. */
int clickhouse_exception(const char *body, size_t len, char *text, size_t cap);

/* A 64-bit integer from a JSON value: a number, or the decimal string that
 * ClickHouse writes for Int64/UInt64 by default. Returns 0, or -1 for any
 * other value or one out of range. */
int clickhouse_json_int64(const json_t *v, long long *out);

#endif
