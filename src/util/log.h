/* log: one JSON object per line on stderr, written with a single write(2) so
 * lines from several threads never interleave. Never pass a secret value or an
 * internal URL in a log field: the log is read by people who hold neither. */
#ifndef PORTAL_LOG_H
#define PORTAL_LOG_H

#include <jansson.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Sets or reads the threshold; safe from any thread (SIGHUP may change it). */
void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);
int log_enabled(enum log_level lvl);
/* "debug", "info", "warn", "error" -> level; returns -1 for anything else. */
int log_level_parse(const char *s, enum log_level *out);
const char *log_level_name(enum log_level lvl);
/* Redirects output (tests); default is fd 2. */
void log_set_fd(int fd);

/* Writes {"time":…,"level":…,"msg":msg, …fields}. Steals the reference to
 * fields (may be NULL). */
void log_emit(enum log_level lvl, const char *msg, json_t *fields);
/* A message with no structured fields. */
void log_printf(enum log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Formats ms since the epoch as 2026-11-24T10:00:00.123Z into out[25]. */
void log_format_time(long long ms, char out[32]);

#endif
