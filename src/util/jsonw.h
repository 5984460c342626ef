/* jsonw: writing JSON text straight into a struct buf, for documents that are
 * built often and must come out byte-identical (the projection). Reading JSON
 * and small replies use jansson; this only writes. */
#ifndef PORTAL_JSONW_H
#define PORTAL_JSONW_H

#include "util/buf.h"

/* A JSON string for s (escaped as RFC 8259 requires, plus '<', '>' and '&' as
 * \u escapes so the text is also safe inside HTML); null when s is NULL. */
void jw_str(struct buf *b, const char *s);
/* "key": (the key is a literal the caller controls; it is escaped anyway) */
void jw_key(struct buf *b, const char *key);
void jw_int(struct buf *b, long long v);
/* An integer, or null when v is negative (for optional times). */
void jw_int_or_null(struct buf *b, long long v);

#endif
