/* config: one table of settings drives the defaults, the YAML loader (libyaml
 * events), the PORTAL_* environment, the command-line flags and their help.
 * It only collects located errors and returns them; it never logs, holds no
 * global mutable state, and does not decide what a setting means at run time. */
#include "config/config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

/* A config file larger than this is refused rather than read. */
#define CONFIG_MAX_FILE_BYTES (1L << 20)

enum setting_type {
	SET_INT,     /* int field, decimal, bounded */
	SET_LONG,    /* long field, decimal, bounded */
	SET_LISTEN,  /* char[] field, HOST:PORT */
	SET_LABEL,   /* char[] field, 1..max chars of [A-Za-z0-9 ._-] */
	SET_PATH,    /* char[] field, non-empty, shorter than the field */
	SET_LEVEL,   /* enum log_level */
};

struct setting {
	const char *key;     /* dotted YAML key: section.name */
	const char *flag;    /* --flag, without the dashes */
	const char *env;     /* PORTAL_* variable */
	enum setting_type type;
	size_t offset;       /* into struct config */
	size_t size;         /* of the field (strings: the buffer size) */
	long min, max;       /* integers: inclusive bounds; labels: max length */
	const char *def;     /* the default, as it would be written in the file */
	const char *metavar; /* shown after the flag in --help */
	const char *help;
};

#define FIELD(f) offsetof(struct config, f), sizeof(((struct config *)0)->f)

static const struct setting settings[] = {
	{"server.listen", "listen", "PORTAL_LISTEN", SET_LISTEN, FIELD(listen), 0, 0,
	 "127.0.0.1:8080", "HOST:PORT", "address to listen on"},
	{"server.threads", "threads", "PORTAL_THREADS", SET_INT, FIELD(threads), 0, 64, "0", "N",
	 "event-loop threads, 0 = one per core"},
	{"server.environment", "environment", "PORTAL_ENVIRONMENT", SET_LABEL, FIELD(environment),
	 1, 32, "local", "NAME", "label shown in every page header"},
	{"server.max_body_bytes", "max-body-bytes", "PORTAL_MAX_BODY_BYTES", SET_LONG,
	 FIELD(max_body_bytes), 1024, 67108864, "1048576", "N", "request body limit, in bytes"},
	{"server.max_header_bytes", "max-header-bytes", "PORTAL_MAX_HEADER_BYTES", SET_LONG,
	 FIELD(max_header_bytes), 1024, 1048576, "16384", "N", "request header block limit, in bytes"},
	{"server.drain_timeout_ms", "drain-timeout-ms", "PORTAL_DRAIN_TIMEOUT_MS", SET_INT,
	 FIELD(drain_timeout_ms), 0, 600000, "10000", "N",
	 "ms that SIGTERM waits for in-flight requests"},
	{"store.db", "db", "PORTAL_DB", SET_PATH, FIELD(db), 0, 0, "./portal.db", "PATH",
	 "SQLite database file"},
	{"store.busy_timeout_ms", "busy-timeout-ms", "PORTAL_BUSY_TIMEOUT_MS", SET_INT,
	 FIELD(busy_timeout_ms), 0, 600000, "5000", "N", "SQLite busy timeout, in ms"},
	{"store.ready_interval_ms", "ready-interval-ms", "PORTAL_READY_INTERVAL_MS", SET_INT,
	 FIELD(ready_interval_ms), 100, 600000, "1000", "N",
	 "ms between readiness checks of the store"},
	{"live.idle_after_ms", "idle-after-ms", "PORTAL_IDLE_AFTER_MS", SET_INT,
	 FIELD(idle_after_ms), 1000, 86400000, "600000", "N",
	 "ms without an event before a running session shows idle"},
	{"log.level", "log-level", "PORTAL_LOG_LEVEL", SET_LEVEL, FIELD(log_level), 0, 0, "info",
	 "LEVEL", "debug, info, warn or error"},
};

#define NSETTINGS ((int)(sizeof settings / sizeof settings[0]))

/* Sections in the order the file and the docs present them. */
static const char *const sections[] = {"server", "store", "live", "log"};
#define NSECTIONS ((int)(sizeof sections / sizeof sections[0]))

int config_setting_count(void)
{
	return NSETTINGS;
}

/* --- errors */

static void err_add(struct config_errors *errs, const char *file, int line, int column,
		    const char *key, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void err_add(struct config_errors *errs, const char *file, int line, int column,
		    const char *key, const char *fmt, ...)
{
	if (errs->n >= CONFIG_MAX_ERRORS) {
		errs->dropped++;
		return;
	}
	struct config_error *e = &errs->items[errs->n++];
	snprintf(e->file, sizeof e->file, "%s", file);
	e->line = line;
	e->column = column;
	snprintf(e->key, sizeof e->key, "%s", key);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
}

void config_error_format(const struct config_error *e, struct buf *out)
{
	if (e->line > 0)
		buf_printf(out, "%s:%d:%d: ", e->file, e->line, e->column);
	else
		buf_printf(out, "%s: ", e->file);
	if (e->key[0])
		buf_printf(out, "%s: ", e->key);
	buf_puts(out, e->msg);
}

/* A value quoted for a message: at most 40 bytes, control bytes as '?', so a
 * hostile or binary value cannot flood or garble a terminal. */
static const char *shown(const char *v, char out[48])
{
	size_t i = 0;
	for (; v[i] && i < 40; i++)
		out[i] = iscntrl((unsigned char)v[i]) ? '?' : v[i];
	if (v[i])
		memcpy(out + i, "...", 3), i += 3;
	out[i] = '\0';
	return out;
}

/* --- values */

static int parse_decimal(const char *s, long *out)
{
	const char *p = s;
	if (*p == '-' || *p == '+')
		p++;
	if (!isdigit((unsigned char)*p))
		return -1;
	for (const char *q = p; *q; q++)
		if (!isdigit((unsigned char)*q))
			return -1;
	errno = 0;
	long v = strtol(s, NULL, 10);
	if (errno == ERANGE)
		return 1;
	*out = v;
	return 0;
}

static int valid_listen(const char *v, char *msg, size_t msgsz, size_t cap)
{
	char b[48];
	const char *colon = strrchr(v, ':');
	size_t hl = colon ? (size_t)(colon - v) : 0;
	const char *port = colon ? colon + 1 : "";
	int ok = colon && hl > 0 && strlen(v) < cap;
	size_t pl = strlen(port);
	ok = ok && pl >= 1 && pl <= 5;
	for (size_t i = 0; ok && i < pl; i++)
		ok = isdigit((unsigned char)port[i]);
	if (ok && atol(port) > 65535) {
		snprintf(msg, msgsz, "port must be between 0 and 65535, got '%s'", shown(port, b));
		return -1;
	}
	if (ok && v[0] == '[') {
		/* [IPv6]: hex digits, ':' and '.' (for v4-mapped) between the brackets */
		ok = hl >= 3 && v[hl - 1] == ']';
		for (size_t i = 1; ok && i + 1 < hl; i++)
			ok = isxdigit((unsigned char)v[i]) || v[i] == ':' || v[i] == '.';
	} else if (ok) {
		for (size_t i = 0; ok && i < hl; i++)
			ok = isalnum((unsigned char)v[i]) || v[i] == '.' || v[i] == '-' || v[i] == '_';
		if (!ok && memchr(v, ':', hl)) {
			snprintf(msg, msgsz, "an IPv6 address needs brackets, e.g. [::1]:8080, got '%s'",
				 shown(v, b));
			return -1;
		}
	}
	if (!ok) {
		snprintf(msg, msgsz, "must be HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080, got '%s'",
			 shown(v, b));
		return -1;
	}
	return 0;
}

static int valid_label(const char *v, long max, char *msg, size_t msgsz)
{
	char b[48];
	size_t n = strlen(v);
	int ok = n >= 1 && n <= (size_t)max;
	for (size_t i = 0; ok && i < n; i++)
		ok = isalnum((unsigned char)v[i]) || strchr(" ._-", v[i]);
	if (!ok) {
		snprintf(msg, msgsz,
			 "must be 1 to %ld letters, digits, spaces, '.', '_' or '-', got '%s'", max,
			 shown(v, b));
		return -1;
	}
	return 0;
}

static const char *type_name(enum setting_type t)
{
	switch (t) {
	case SET_INT:
	case SET_LONG:
		return "an integer";
	case SET_LISTEN:
		return "HOST:PORT";
	case SET_LEVEL:
		return "a log level";
	default:
		return "a string";
	}
}

/* Validates text for s and, when valid, stores it in c. quoted says the YAML
 * scalar was quoted: a quoted number is a string, so integers refuse it.
 * Returns 0, or -1 with a message in msg. */
static int setting_apply(const struct setting *s, struct config *c, const char *text,
			 int quoted, char *msg, size_t msgsz)
{
	char b[48];
	char *field = (char *)c + s->offset;
	switch (s->type) {
	case SET_INT:
	case SET_LONG: {
		long v = 0;
		if (quoted) {
			snprintf(msg, msgsz, "expected an integer, got the quoted string '%s' "
					     "(write it without quotes)", shown(text, b));
			return -1;
		}
		int rc = parse_decimal(text, &v);
		if (rc < 0) {
			snprintf(msg, msgsz, "expected an integer, got '%s'", shown(text, b));
			return -1;
		}
		if (rc > 0 || v < s->min || v > s->max) {
			snprintf(msg, msgsz, "must be between %ld and %ld, got %s", s->min, s->max,
				 shown(text, b));
			return -1;
		}
		if (s->type == SET_INT) {
			int iv = (int)v;
			memcpy(field, &iv, sizeof iv);
		} else {
			memcpy(field, &v, sizeof v);
		}
		return 0;
	}
	case SET_LISTEN:
		if (valid_listen(text, msg, msgsz, s->size) < 0)
			return -1;
		break;
	case SET_LABEL:
		if (valid_label(text, s->max, msg, msgsz) < 0)
			return -1;
		break;
	case SET_PATH:
		if (!text[0]) {
			snprintf(msg, msgsz, "must not be empty");
			return -1;
		}
		if (strlen(text) >= s->size) {
			snprintf(msg, msgsz, "must be shorter than %zu characters", s->size);
			return -1;
		}
		break;
	case SET_LEVEL: {
		enum log_level lvl;
		if (log_level_parse(text, &lvl) < 0) {
			snprintf(msg, msgsz, "must be one of debug, info, warn, error, got '%s'",
				 shown(text, b));
			return -1;
		}
		memcpy(field, &lvl, sizeof lvl);
		return 0;
	}
	}
	snprintf(field, s->size, "%s", text);
	return 0;
}

/* --- lookup and suggestions */

static const struct setting *by_key(const char *key)
{
	for (int i = 0; i < NSETTINGS; i++)
		if (strcmp(settings[i].key, key) == 0)
			return &settings[i];
	return NULL;
}

static const struct setting *by_flag(const char *flag)
{
	for (int i = 0; i < NSETTINGS; i++)
		if (strcmp(settings[i].flag, flag) == 0)
			return &settings[i];
	return NULL;
}

static int section_index(const char *name)
{
	for (int i = 0; i < NSECTIONS; i++)
		if (strcmp(sections[i], name) == 0)
			return i;
	return -1;
}

/* The part of a dotted key after its section. */
static const char *short_name(const char *key)
{
	const char *dot = strchr(key, '.');
	return dot ? dot + 1 : key;
}

static int in_section(const struct setting *s, const char *section)
{
	size_t n = strlen(section);
	return strncmp(s->key, section, n) == 0 && s->key[n] == '.';
}

/* Levenshtein distance, capped: names longer than 63 bytes are never close. */
static int distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 63 || lb > 63)
		return 99;
	int row[64];
	for (size_t j = 0; j <= lb; j++)
		row[j] = (int)j;
	for (size_t i = 1; i <= la; i++) {
		int diag = row[0];
		row[0] = (int)i;
		for (size_t j = 1; j <= lb; j++) {
			int up = row[j];
			int best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

static int close_enough(const char *given, const char *known)
{
	int d = distance(given, known);
	return d <= 2 && (size_t)d * 2 < strlen(known);
}

/* The setting whose name is nearest to `name` (given under `section`, which
 * may be NULL or unknown), or NULL when none is close. Same-section names win
 * ties, so "server.listn" suggests server.listen and "server.db" store.db. */
static const struct setting *suggest(const char *section, const char *name)
{
	const struct setting *best = NULL;
	int best_score = INT_MAX;
	for (int i = 0; i < NSETTINGS; i++) {
		const struct setting *s = &settings[i];
		const char *sn = short_name(s->key);
		if (!close_enough(name, sn))
			continue;
		int score = distance(name, sn) * 2 + (section && in_section(s, section) ? 0 : 1);
		if (score < best_score)
			best = s, best_score = score;
	}
	return best;
}

/* "unknown key; …" for `name` under a known section. */
static void unknown_key_msg(const char *section, const char *name, char *msg, size_t msgsz)
{
	const struct setting *s = suggest(section, name);
	if (s) {
		snprintf(msg, msgsz, "unknown key; did you mean '%s'?", s->key);
		return;
	}
	struct buf b = BUF_INIT;
	buf_printf(&b, "unknown key; '%s' has ", section);
	int first = 1;
	for (int i = 0; i < NSETTINGS; i++) {
		if (!in_section(&settings[i], section))
			continue;
		buf_printf(&b, "%s%s", first ? "" : ", ", short_name(settings[i].key));
		first = 0;
	}
	snprintf(msg, msgsz, "%s", buf_cstr(&b));
	buf_free(&b);
}

/* "unknown section; …" for a top-level `name`. */
static void unknown_section_msg(const char *name, char *msg, size_t msgsz)
{
	for (int i = 0; i < NSECTIONS; i++) {
		if (close_enough(name, sections[i])) {
			snprintf(msg, msgsz, "unknown section; did you mean '%s'?", sections[i]);
			return;
		}
	}
	/* A setting written at the top level, e.g. "listen:" for server.listen. */
	const struct setting *s = suggest(NULL, name);
	if (s) {
		snprintf(msg, msgsz, "unknown section; did you mean '%s'?", s->key);
		return;
	}
	snprintf(msg, msgsz, "unknown section; the sections are server, store, live, log");
}

/* --- defaults */

void config_defaults(struct config *c)
{
	memset(c, 0, sizeof *c);
	char msg[256];
	/* The table's defaults are valid by construction (a unit test checks it). */
	for (int i = 0; i < NSETTINGS; i++)
		setting_apply(&settings[i], c, settings[i].def, 0, msg, sizeof msg);
}

/* --- YAML */

struct parser {
	yaml_parser_t yp;
	yaml_event_t ev;
	int have_ev;
	int broken;           /* a syntax error was reported: no further events */
	const char *name;     /* file name, for messages */
	struct config *c;
	struct config_errors *errs;
	char last_key[256];   /* nearest key, for syntax errors */
	int repeated;         /* inside a repeated section: that error says it all */
	int seen_line[sizeof settings / sizeof settings[0]]; /* where each was set */
	int section_line[NSECTIONS];
};

static int line_of(yaml_mark_t m)
{
	return (int)m.line + 1;
}

static int col_of(yaml_mark_t m)
{
	return (int)m.column + 1;
}

/* Advances to the next event. Returns 0, or -1 after reporting a syntax error
 * (libyaml cannot resume after one). */
static int next(struct parser *p)
{
	if (p->have_ev)
		yaml_event_delete(&p->ev);
	p->have_ev = 0;
	if (p->broken)
		return -1;
	if (!yaml_parser_parse(&p->yp, &p->ev)) {
		p->broken = 1;
		yaml_mark_t m = p->yp.error == YAML_READER_ERROR ? p->yp.mark : p->yp.problem_mark;
		const char *problem = p->yp.problem ? p->yp.problem : "cannot parse";
		if (p->yp.context)
			err_add(p->errs, p->name, line_of(m), col_of(m), p->last_key,
				"YAML syntax error: %s (%s at line %d, column %d)", problem,
				p->yp.context, line_of(p->yp.context_mark), col_of(p->yp.context_mark));
		else
			err_add(p->errs, p->name, line_of(m), col_of(m), p->last_key,
				"YAML syntax error: %s", problem);
		return -1;
	}
	p->have_ev = 1;
	return 0;
}

/* Consumes the rest of the node whose first event is current. */
static int skip_node(struct parser *p)
{
	int depth = 0;
	for (;;) {
		switch (p->ev.type) {
		case YAML_MAPPING_START_EVENT:
		case YAML_SEQUENCE_START_EVENT:
			depth++;
			break;
		case YAML_MAPPING_END_EVENT:
		case YAML_SEQUENCE_END_EVENT:
			depth--;
			break;
		default:
			break;
		}
		if (depth == 0)
			return 0;
		if (next(p) < 0)
			return -1;
	}
}

static int is_null_scalar(const yaml_event_t *ev)
{
	if (ev->type != YAML_SCALAR_EVENT || ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	const char *v = (const char *)ev->data.scalar.value;
	return !*v || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 ||
	       strcmp(v, "NULL") == 0;
}

/* "a mapping", "a sequence", … for messages about the wrong kind of node. */
static const char *node_kind(const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_MAPPING_START_EVENT:
		return "a mapping";
	case YAML_SEQUENCE_START_EVENT:
		return "a sequence";
	case YAML_ALIAS_EVENT:
		return "an alias";
	default:
		return "a value";
	}
}

/* "'text'" for a scalar, else node_kind(): what was found instead. */
static const char *found(const yaml_event_t *ev, char out[64])
{
	char b[48];
	if (ev->type != YAML_SCALAR_EVENT)
		return node_kind(ev);
	snprintf(out, 64, "'%s'", shown((const char *)ev->data.scalar.value, b));
	return out;
}

/* The value of setting s; the current event is its first. */
static int parse_value(struct parser *p, const struct setting *s)
{
	yaml_event_t *ev = &p->ev;
	yaml_mark_t m = ev->start_mark;
	char msg[256];
	if (ev->type != YAML_SCALAR_EVENT) {
		err_add(p->errs, p->name, line_of(m), col_of(m), s->key, "expected %s, got %s",
			type_name(s->type), node_kind(ev));
		return skip_node(p);
	}
	const char *v = (const char *)ev->data.scalar.value;
	if (is_null_scalar(ev)) {
		err_add(p->errs, p->name, line_of(m), col_of(m), s->key, "expected %s, got %s",
			type_name(s->type), *v ? "null" : "nothing");
		return 0;
	}
	if (strlen(v) != ev->data.scalar.length) {
		err_add(p->errs, p->name, line_of(m), col_of(m), s->key,
			"must not contain a NUL character");
		return 0;
	}
	int quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
	if (setting_apply(s, p->c, v, quoted, msg, sizeof msg) < 0)
		err_add(p->errs, p->name, line_of(m), col_of(m), s->key, "%s", msg);
	return 0;
}

/* The settings of one section; the current event is its MAPPING-START. */
static int parse_section(struct parser *p, const char *section)
{
	for (;;) {
		if (next(p) < 0)
			return -1;
		if (p->ev.type == YAML_MAPPING_END_EVENT)
			return 0;
		yaml_mark_t km = p->ev.start_mark;
		char key[256];
		if (p->ev.type != YAML_SCALAR_EVENT) {
			err_add(p->errs, p->name, line_of(km), col_of(km), section,
				"expected a setting name, got %s", node_kind(&p->ev));
			if (skip_node(p) < 0 || next(p) < 0 || skip_node(p) < 0)
				return -1;
			continue;
		}
		const char *name = (const char *)p->ev.data.scalar.value;
		snprintf(key, sizeof key, "%s.%s", section, name);
		snprintf(p->last_key, sizeof p->last_key, "%s", key);
		const struct setting *s = by_key(key);
		char msg[256];
		if (!s) {
			unknown_key_msg(section, name, msg, sizeof msg);
			err_add(p->errs, p->name, line_of(km), col_of(km), key, "%s", msg);
		} else {
			int *seen = &p->seen_line[s - settings];
			if (*seen && !p->repeated)
				err_add(p->errs, p->name, line_of(km), col_of(km), key,
					"duplicate key, first set at line %d", *seen);
			else if (!*seen)
				*seen = line_of(km);
		}
		if (next(p) < 0)
			return -1;
		if (!s) {
			if (skip_node(p) < 0)
				return -1;
			continue;
		}
		if (parse_value(p, s) < 0)
			return -1;
	}
}

/* The top-level mapping of sections; the current event is its MAPPING-START. */
static int parse_sections(struct parser *p)
{
	for (;;) {
		if (next(p) < 0)
			return -1;
		if (p->ev.type == YAML_MAPPING_END_EVENT)
			return 0;
		yaml_mark_t km = p->ev.start_mark;
		if (p->ev.type != YAML_SCALAR_EVENT) {
			err_add(p->errs, p->name, line_of(km), col_of(km), "",
				"expected a section name (server, store, live, log), got %s",
				node_kind(&p->ev));
			if (skip_node(p) < 0 || next(p) < 0 || skip_node(p) < 0)
				return -1;
			continue;
		}
		char section[128], msg[256];
		snprintf(section, sizeof section, "%s", (const char *)p->ev.data.scalar.value);
		snprintf(p->last_key, sizeof p->last_key, "%s", section);
		int si = section_index(section);
		if (si < 0) {
			unknown_section_msg(section, msg, sizeof msg);
			err_add(p->errs, p->name, line_of(km), col_of(km), section, "%s", msg);
		} else if (p->section_line[si]) {
			err_add(p->errs, p->name, line_of(km), col_of(km), section,
				"duplicate key, first set at line %d", p->section_line[si]);
		} else {
			p->section_line[si] = line_of(km);
		}
		if (next(p) < 0)
			return -1;
		if (si < 0 || is_null_scalar(&p->ev)) {
			/* unknown: already reported; empty: every setting commented out */
			if (skip_node(p) < 0)
				return -1;
			continue;
		}
		if (p->ev.type != YAML_MAPPING_START_EVENT) {
			yaml_mark_t vm = p->ev.start_mark;
			char what[64];
			err_add(p->errs, p->name, line_of(vm), col_of(vm), section,
				"expected a mapping of settings, got %s", found(&p->ev, what));
			if (skip_node(p) < 0)
				return -1;
			continue;
		}
		p->repeated = p->section_line[si] != line_of(km);
		if (parse_section(p, section) < 0)
			return -1;
		p->repeated = 0;
	}
}

static void parse_stream(struct parser *p)
{
	if (next(p) < 0) /* STREAM-START */
		return;
	if (next(p) < 0 || p->ev.type == YAML_STREAM_END_EVENT)
		return; /* an empty file, or only comments */
	/* DOCUMENT-START, then the root node */
	if (next(p) < 0)
		return;
	if (p->ev.type == YAML_MAPPING_START_EVENT) {
		if (parse_sections(p) < 0)
			return;
	} else if (!is_null_scalar(&p->ev)) {
		yaml_mark_t m = p->ev.start_mark;
		char what[64];
		err_add(p->errs, p->name, line_of(m), col_of(m), "",
			"the file must be a mapping of sections (server, store, live, log), got %s",
			found(&p->ev, what));
		if (skip_node(p) < 0)
			return;
	}
	if (next(p) < 0) /* DOCUMENT-END */
		return;
	if (next(p) < 0)
		return;
	if (p->ev.type == YAML_DOCUMENT_START_EVENT) {
		yaml_mark_t m = p->ev.start_mark;
		err_add(p->errs, p->name, line_of(m), col_of(m), "",
			"the file must hold one YAML document, found a second one");
	}
}

int config_parse(struct config *c, const char *name, const char *text, size_t len,
		 struct config_errors *errs)
{
	int before = errs->n + errs->dropped;
	struct parser *p = calloc(1, sizeof *p);
	if (!p)
		abort();
	p->name = name;
	p->c = c;
	p->errs = errs;
	if (!yaml_parser_initialize(&p->yp))
		abort();
	yaml_parser_set_input_string(&p->yp, (const unsigned char *)text, len);
	parse_stream(p);
	if (p->have_ev)
		yaml_event_delete(&p->ev);
	yaml_parser_delete(&p->yp);
	free(p);
	return errs->n + errs->dropped > before ? -1 : 0;
}

/* --- build */

/* Reads the whole file into b. Returns 0, or -1 with errno set. */
static int read_file(const char *path, struct buf *b)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	char chunk[8192];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
		buf_append(b, chunk, n);
		if (b->len > (size_t)CONFIG_MAX_FILE_BYTES) {
			fclose(f);
			errno = EFBIG;
			return -1;
		}
	}
	int bad = ferror(f);
	fclose(f);
	if (bad) {
		errno = EIO;
		return -1;
	}
	return 0;
}

static void apply_env(struct config *c, char **envp, struct config_errors *errs)
{
	for (; envp && *envp; envp++) {
		const char *eq = strchr(*envp, '=');
		if (!eq || strncmp(*envp, "PORTAL_", 7) != 0)
			continue;
		size_t nl = (size_t)(eq - *envp);
		for (int i = 0; i < NSETTINGS; i++) {
			const struct setting *s = &settings[i];
			if (strlen(s->env) != nl || strncmp(s->env, *envp, nl) != 0)
				continue;
			char msg[256];
			if (setting_apply(s, c, eq + 1, 0, msg, sizeof msg) < 0)
				err_add(errs, "environment", 0, 0, s->env, "%s", msg);
		}
	}
}

static void apply_flags(struct config *c, const struct config_source *src,
			struct config_errors *errs)
{
	for (int i = 0; i < src->nflags && i < CONFIG_MAX_FLAGS; i++) {
		const char *flag = src->flags[i][0], *value = src->flags[i][1];
		char key[128], msg[256];
		snprintf(key, sizeof key, "--%s", flag ? flag : "");
		const struct setting *s = flag ? by_flag(flag) : NULL;
		if (!s) {
			const struct setting *near = NULL;
			for (int j = 0; flag && j < NSETTINGS && !near; j++)
				if (close_enough(flag, settings[j].flag))
					near = &settings[j];
			if (near)
				err_add(errs, "command line", 0, 0, key,
					"unknown flag; did you mean '--%s'?", near->flag);
			else
				err_add(errs, "command line", 0, 0, key, "unknown flag");
			continue;
		}
		if (!value) {
			err_add(errs, "command line", 0, 0, key, "needs a value");
			continue;
		}
		if (setting_apply(s, c, value, 0, msg, sizeof msg) < 0)
			err_add(errs, "command line", 0, 0, key, "%s", msg);
	}
}

int config_build(struct config *c, const struct config_source *src,
		 struct config_errors *errs)
{
	errs->n = 0;
	errs->dropped = 0;
	config_defaults(c);
	if (src->path) {
		struct buf text = BUF_INIT;
		if (read_file(src->path, &text) < 0)
			err_add(errs, src->path, 0, 0, "", "cannot read: %s",
				errno == EFBIG ? "larger than 1048576 bytes" : strerror(errno));
		else
			config_parse(c, src->path, buf_cstr(&text), text.len, errs);
		buf_free(&text);
		if (strlen(src->path) >= sizeof c->path)
			err_add(errs, "command line", 0, 0, "--config",
				"the path must be shorter than %zu characters", sizeof c->path);
	}
	apply_env(c, src->envp, errs);
	apply_flags(c, src, errs);
	if (errs->n + errs->dropped > 0)
		return -1;
	snprintf(c->path, sizeof c->path, "%s", src->path ? src->path : "");
	return 0;
}

/* --- flags and help */

int config_flag_known(const char *flag)
{
	return flag && by_flag(flag) != NULL;
}

void config_print_flags(FILE *out, const char *const *flags)
{
	for (; flags && *flags; flags++) {
		const struct setting *s = by_flag(*flags);
		char head[64];
		if (!s) {
			fprintf(out, "  --%s VALUE\n", *flags);
			continue;
		}
		snprintf(head, sizeof head, "--%s %s", s->flag, s->metavar);
		fprintf(out, "  %-22s %s (env %s, default %s)\n", head, s->help, s->env, s->def);
	}
}
