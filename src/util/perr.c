/* perr: error filling and naming. */
#include "util/perr.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int perr_set(struct perr *err, int code, const char *field, const char *fmt, ...)
{
	if (!err)
		return code;
	err->code = code;
	snprintf(err->field, sizeof err->field, "%s", field ? field : "");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
	return code;
}

void perr_clear(struct perr *err)
{
	if (err)
		memset(err, 0, sizeof *err);
}

const char *perr_code_name(int code)
{
	switch (code) {
	case PERR_OK: return "ok";
	case PERR_INVALID: return "invalid";
	case PERR_NOT_FOUND: return "not_found";
	case PERR_TOO_LARGE: return "too_large";
	case PERR_CONFLICT: return "conflict";
	case PERR_IO: return "io";
	case PERR_STORE: return "store";
	case PERR_UNAVAILABLE: return "unavailable";
	case PERR_SCHEMA: return "schema";
	case PERR_FORBIDDEN: return "forbidden";
	default: return "internal";
	}
}
