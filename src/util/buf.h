/* buf: the one growable byte buffer used for strings, JSON and HTML.
 * It always keeps a NUL after the data so b->data can be used as a C string.
 * Out-of-memory aborts: a portal that cannot allocate a few bytes cannot
 * answer honestly either. */
#ifndef PORTAL_BUF_H
#define PORTAL_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;
};

#define BUF_INIT {NULL, 0, 0}

void buf_grow(struct buf *b, size_t extra);
void buf_append(struct buf *b, const void *data, size_t len);
void buf_puts(struct buf *b, const char *s);
void buf_putc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap);
void buf_reset(struct buf *b);
void buf_free(struct buf *b);
/* Hands the data to the caller (who frees it) and leaves b empty. */
char *buf_detach(struct buf *b, size_t *len);
/* The data as a C string; "" for an empty buffer that never grew. */
const char *buf_cstr(const struct buf *b);

/* Appends s percent-encoded as one URL path segment or query value: every
 * byte but RFC 3986's unreserved characters (A-Z a-z 0-9 - . _ ~) is %XX. */
void buf_put_escaped(struct buf *b, const char *s);

#endif
