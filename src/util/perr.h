/* perr: the one error type. Functions return 0 or a negative PERR_* code and
 * fill a caller-provided struct perr with what a user needs: a message and,
 * when it applies, the field at fault. Whoever decides what to do with an
 * error reports it; nobody both logs and returns. */
#ifndef PORTAL_PERR_H
#define PORTAL_PERR_H

enum perr_code {
	PERR_OK = 0,
	PERR_INVALID = -1,     /* bad input: names a field */
	PERR_NOT_FOUND = -2,
	PERR_TOO_LARGE = -3,   /* a named limit was exceeded */
	PERR_CONFLICT = -4,
	PERR_IO = -5,          /* file or socket trouble */
	PERR_STORE = -6,       /* the store failed */
	PERR_UNAVAILABLE = -7, /* a dependency is down or not ready */
	PERR_SCHEMA = -8,      /* database schema does not match this binary */
	PERR_INTERNAL = -9,
	PERR_FORBIDDEN = -10,  /* the caller may not do this: names a field */
};

struct perr {
	int code;
	char field[64];
	char msg[256];
};

/* Fills err (when not NULL) and returns code, so `return perr_set(...)` reads
 * as one step. field may be NULL. */
int perr_set(struct perr *err, int code, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void perr_clear(struct perr *err);
/* A stable lower-case name for the code, used in API error bodies. */
const char *perr_code_name(int code);

#endif
