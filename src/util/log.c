/* log: JSON-lines logger. See log.h. */
#include "util/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/clock.h"

static _Atomic int log_level = LOG_INFO;
static _Atomic int log_fd = 2;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_set_level(enum log_level lvl) { atomic_store(&log_level, (int)lvl); }
enum log_level log_get_level(void) { return (enum log_level)atomic_load(&log_level); }
int log_enabled(enum log_level lvl) { return (int)lvl >= atomic_load(&log_level); }
void log_set_fd(int fd) { atomic_store(&log_fd, fd); }

const char *log_level_name(enum log_level lvl)
{
	return (unsigned)lvl < 4 ? level_names[lvl] : "info";
}

int log_level_parse(const char *s, enum log_level *out)
{
	for (int i = 0; i < 4; i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

void log_format_time(long long ms, char out[32])
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&secs, &tm);
	size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 32 - n, ".%03dZ", (int)(ms % 1000));
}

void log_emit(enum log_level lvl, const char *msg, json_t *fields)
{
	if (!log_enabled(lvl)) {
		json_decref(fields);
		return;
	}
	char when[32];
	log_format_time(clock_wall_ms(), when);
	json_t *o = json_object();
	json_object_set_new(o, "time", json_string(when));
	json_object_set_new(o, "level", json_string(log_level_name(lvl)));
	json_object_set_new(o, "msg", json_string(msg));
	if (fields)
		json_object_update(o, fields);
	json_decref(fields);
	char *line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
	json_decref(o);
	if (!line)
		return;
	struct buf b = BUF_INIT;
	buf_puts(&b, line);
	buf_putc(&b, '\n');
	free(line);
	/* One write per line: atomic for pipes up to PIPE_BUF, and never
	 * interleaved mid-line by our own threads for regular files. */
	ssize_t off = 0;
	while ((size_t)off < b.len) {
		ssize_t w = write(atomic_load(&log_fd), b.data + off, b.len - (size_t)off);
		if (w <= 0)
			break;
		off += w;
	}
	buf_free(&b);
}

void log_printf(enum log_level lvl, const char *fmt, ...)
{
	if (!log_enabled(lvl))
		return;
	struct buf b = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	log_emit(lvl, buf_cstr(&b), NULL);
	buf_free(&b);
}
