/* html: building pages so that escaping is the default. Markup can only be
 * written from string literals (html_lit refuses anything else at compile
 * time); every run-time string goes through html_text/html_attr, which escape.
 * html_raw_trusted is the one deliberate, named exception. */
#ifndef PORTAL_HTML_H
#define PORTAL_HTML_H

#include "util/buf.h"

/* Literal markup. The "" s concatenation only compiles for a string literal. */
#define html_lit(b, s) buf_append((b), "" s, sizeof("" s) - 1)

/* Text content, escaped (& < > " '). NULL writes nothing. */
void html_text(struct buf *b, const char *s);
void html_textf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* ` name="value"` with the value escaped. */
void html_attr(struct buf *b, const char *name, const char *value);
/* ` href="path"` for a same-origin path: anything not starting with a single
 * '/' becomes "/" so a page can never link off-site by accident. */
void html_href_local(struct buf *b, const char *path);
struct public_url;
/* A launch link to a component's PUBLIC url: ` href="…" target="_blank"
 * rel="noopener noreferrer"`. The only way a page links off-site, and it
 * takes only the public URL type: internal and executor URLs cannot be
 * passed here (contract.h keeps the three apart). Anything but http(s)
 * becomes "#". */
void html_href_public(struct buf *b, const struct public_url *u);
/* A moment (ms since the epoch) as <time datetime="…">…</time>, or
 * `none` (escaped) when ms <= 0. */
void html_time(struct buf *b, long long ms, const char *none);
/* Appends s unescaped. Only for markup this program produced itself. */
void html_raw_trusted(struct buf *b, const char *s);

#endif
