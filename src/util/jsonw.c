/* jsonw: see jsonw.h. */
#include "util/jsonw.h"

#include <stdio.h>

void jw_str(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	if (!s) {
		buf_append(b, "null", 4);
		return;
	}
	buf_putc(b, '"');
	const unsigned char *p = (const unsigned char *)s, *run = p;
	for (; *p; p++) {
		unsigned char c = *p;
		if (c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&')
			continue;
		buf_append(b, run, (size_t)(p - run));
		run = p + 1;
		switch (c) {
		case '"': buf_append(b, "\\\"", 2); break;
		case '\\': buf_append(b, "\\\\", 2); break;
		case '\n': buf_append(b, "\\n", 2); break;
		case '\r': buf_append(b, "\\r", 2); break;
		case '\t': buf_append(b, "\\t", 2); break;
		default: {
			char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
			buf_append(b, u, 6);
		}
		}
	}
	buf_append(b, run, (size_t)(p - run));
	buf_putc(b, '"');
}

void jw_key(struct buf *b, const char *key)
{
	jw_str(b, key);
	buf_putc(b, ':');
}

void jw_int(struct buf *b, long long v)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof tmp, "%lld", v);
	buf_append(b, tmp, (size_t)n);
}

void jw_int_or_null(struct buf *b, long long v)
{
	if (v < 0)
		buf_append(b, "null", 4);
	else
		jw_int(b, v);
}
