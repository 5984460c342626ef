/* html: escaping primitives. See html.h. */
#include "web/html.h"

#include "core/contract.h"
#include "util/log.h"

#include <stdarg.h>
#include <string.h>

void html_text(struct buf *b, const char *s)
{
	if (!s)
		return;
	const char *run = s;
	for (; *s; s++) {
		const char *rep;
		switch (*s) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		default: continue;
		}
		buf_append(b, run, (size_t)(s - run));
		buf_puts(b, rep);
		run = s + 1;
	}
	buf_append(b, run, (size_t)(s - run));
}

void html_textf(struct buf *b, const char *fmt, ...)
{
	struct buf tmp = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(&tmp, fmt, ap);
	va_end(ap);
	html_text(b, buf_cstr(&tmp));
	buf_free(&tmp);
}

void html_attr(struct buf *b, const char *name, const char *value)
{
	buf_putc(b, ' ');
	buf_puts(b, name);
	buf_puts(b, "=\"");
	html_text(b, value ? value : "");
	buf_putc(b, '"');
}

void html_href_local(struct buf *b, const char *path)
{
	int local = path && path[0] == '/' && path[1] != '/' && path[1] != '\\';
	html_attr(b, "href", local ? path : "/");
}

void html_href_public(struct buf *b, const struct public_url *u)
{
	int web = strncmp(u->s, "https://", 8) == 0 || strncmp(u->s, "http://", 7) == 0;
	html_attr(b, "href", web ? u->s : "#");
	html_attr(b, "target", "_blank");
	html_attr(b, "rel", "noopener noreferrer");
}

void html_raw_trusted(struct buf *b, const char *s)
{
	buf_puts(b, s);
}

void html_time(struct buf *b, long long ms, const char *none)
{
	if (ms <= 0) {
		html_text(b, none);
		return;
	}
	char t[32];
	log_format_time(ms, t);
	html_lit(b, "<time");
	html_attr(b, "datetime", t);
	html_lit(b, ">");
	html_text(b, t);
	html_lit(b, "</time>");
}
