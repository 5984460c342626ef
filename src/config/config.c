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
#include <strings.h>

#include <jansson.h>
#include <yaml.h>

#include "core/role.h"
#include "util/cidr.h"

/* A config file larger than this is refused rather than read. */
#define CONFIG_MAX_FILE_BYTES (1L << 20)
/* Projects are few (one per product line); the bound only stops a runaway file. */
#define CONFIG_MAX_PROJECTS 1024
/* Kinds are the approved backend contracts: a handful; the bound stops a runaway file. */
#define CONFIG_MAX_KINDS 256

enum setting_type {
	SET_INT,     /* int field, decimal, bounded */
	SET_LONG,    /* long field, decimal, bounded */
	SET_LISTEN,  /* char[] field, HOST:PORT */
	SET_LABEL,   /* char[] field, 1..max chars of [A-Za-z0-9 ._-] */
	SET_PATH,    /* char[] field, non-empty, shorter than the field */
	SET_LEVEL,   /* enum log_level */
	SET_MODE,    /* int field: dev = 1, production = 0 */
	SET_BOOL,    /* int field: true = 1, false = 0 */
	SET_PROXIES, /* char[] field, addresses/CIDRs, stored as "a, b, c"; "" = none */
	SET_HEADER,  /* char[] field, an HTTP header name of [A-Za-z0-9-]; "" = off */
	SET_CHOICE,  /* char[] field, one of the words metavar lists as "a|b|c" */
	SET_REF,     /* char[] field, "" or a name of [a-z0-9_-] (a component, a secret) */
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
	{"server.mode", "mode", "PORTAL_MODE", SET_MODE, FIELD(catalogue.dev_mode), 0, 0, "dev",
	 "MODE", "dev or production; production refuses loopback/private public URLs"},
	{"server.max_body_bytes", "max-body-bytes", "PORTAL_MAX_BODY_BYTES", SET_LONG,
	 FIELD(max_body_bytes), 1024, 67108864, "1048576", "N", "request body limit, in bytes"},
	{"server.max_header_bytes", "max-header-bytes", "PORTAL_MAX_HEADER_BYTES", SET_LONG,
	 FIELD(max_header_bytes), 1024, 1048576, "16384", "N", "request header block limit, in bytes"},
	{"server.read_timeout_ms", "read-timeout-ms", "PORTAL_READ_TIMEOUT_MS", SET_INT,
	 FIELD(read_timeout_ms), 100, 600000, "30000", "N",
	 "ms a client has to send a whole request, and an idle connection stays open"},
	{"server.drain_timeout_ms", "drain-timeout-ms", "PORTAL_DRAIN_TIMEOUT_MS", SET_INT,
	 FIELD(drain_timeout_ms), 0, 600000, "10000", "N",
	 "ms that SIGTERM waits for in-flight requests"},
	{"store.db", "db", "PORTAL_DB", SET_PATH, FIELD(db), 0, 0, "./portal.db", "PATH",
	 "SQLite database file, or a postgres:// URL"},
	{"store.password_secret", "db-password-secret", "PORTAL_DB_PASSWORD_SECRET", SET_REF,
	 FIELD(db_password_secret), 0, 63, "", "SECRET",
	 "secret contract holding the PostgreSQL password; empty = none"},
	{"store.busy_timeout_ms", "busy-timeout-ms", "PORTAL_BUSY_TIMEOUT_MS", SET_INT,
	 FIELD(busy_timeout_ms), 0, 600000, "5000", "N",
	 "how long a writer waits on a lock, in ms"},
	{"store.ready_interval_ms", "ready-interval-ms", "PORTAL_READY_INTERVAL_MS", SET_INT,
	 FIELD(ready_interval_ms), 100, 600000, "1000", "N",
	 "ms between readiness checks of the store"},
	{"live.idle_after_ms", "idle-after-ms", "PORTAL_IDLE_AFTER_MS", SET_INT,
	 FIELD(idle_after_ms), 1000, 86400000, "600000", "N",
	 "ms without an event before a running session shows idle"},
	{"live.stream_max_pending_bytes", "stream-max-pending-bytes", "PORTAL_STREAM_MAX_PENDING_BYTES",
	 SET_LONG, FIELD(stream_max_pending_bytes), 4096, 1073741824, "4194304", "N",
	 "bytes an event stream may have unsent before it is skipped"},
	{"live.stream_slow_drop_ms", "stream-slow-drop-ms", "PORTAL_STREAM_SLOW_DROP_MS", SET_INT,
	 FIELD(stream_slow_drop_ms), 100, 600000, "30000", "N",
	 "ms a skipped event stream has to catch up before it is closed"},
	{"log.level", "log-level", "PORTAL_LOG_LEVEL", SET_LEVEL, FIELD(log_level), 0, 0, "info",
	 "LEVEL", "debug, info, warn or error"},
	{"auth.session_idle_ms", "session-idle-ms", "PORTAL_SESSION_IDLE_MS", SET_INT,
	 FIELD(session_idle_ms), 1000, 604800000, "7200000", "N",
	 "ms a sign-in may go unused before it ends"},
	{"auth.session_max_ms", "session-max-ms", "PORTAL_SESSION_MAX_MS", SET_INT,
	 FIELD(session_max_ms), 1000, 2147483647, "43200000", "N",
	 "ms after which a sign-in ends, used or not"},
	{"auth.preview", "preview", "PORTAL_PREVIEW", SET_BOOL, FIELD(preview), 0, 0, "true",
	 "true|false", "signed-out visitors of / see the pre-auth preview, not the sign-in page"},
	{"auth.trusted_proxies", "trusted-proxies", "PORTAL_TRUSTED_PROXIES", SET_PROXIES,
	 FIELD(trusted_proxies), 0, 0, "", "LIST",
	 "comma-separated addresses/CIDRs of the reverse proxies whose forwarded headers "
	 "are believed"},
	{"auth.identity_header", "identity-header", "PORTAL_IDENTITY_HEADER", SET_HEADER,
	 FIELD(identity_header), 1, 63, "", "NAME",
	 "header in which a trusted proxy names the signed-in account; empty = off"},
	{"proof.graph", "proof-graph", "PORTAL_PROOF_GRAPH", SET_CHOICE, FIELD(proof_graph), 0, 0,
	 "embedded", "embedded|http", "where the semantic graph plane is read and written"},
	{"proof.graph_component", "proof-graph-component", "PORTAL_PROOF_GRAPH_COMPONENT", SET_REF,
	 FIELD(proof_graph_component), 0, 63, "", "NAME",
	 "the owned component serving the graph (http): its internal URL is called"},
	{"proof.graph_secret", "proof-graph-secret", "PORTAL_PROOF_GRAPH_SECRET", SET_REF,
	 FIELD(proof_graph_secret), 0, 63, "", "SECRET",
	 "secret contract holding the graph service's bearer token; empty = none"},
	{"proof.warehouse", "proof-warehouse", "PORTAL_PROOF_WAREHOUSE", SET_CHOICE,
	 FIELD(proof_warehouse), 0, 0, "embedded", "embedded|clickhouse",
	 "where lifecycle facts are read and written"},
	{"proof.warehouse_component", "proof-warehouse-component",
	 "PORTAL_PROOF_WAREHOUSE_COMPONENT", SET_REF, FIELD(proof_warehouse_component), 0, 63, "",
	 "NAME", "the component serving ClickHouse's HTTP interface (clickhouse)"},
	{"proof.warehouse_database", "proof-warehouse-database", "PORTAL_PROOF_WAREHOUSE_DATABASE",
	 SET_REF, FIELD(proof_warehouse_database), 0, 63, "default", "NAME",
	 "the ClickHouse database holding the facts table"},
	{"proof.warehouse_user", "proof-warehouse-user", "PORTAL_PROOF_WAREHOUSE_USER", SET_REF,
	 FIELD(proof_warehouse_user), 0, 63, "", "NAME",
	 "the ClickHouse user (X-ClickHouse-User); empty = the server's default"},
	{"proof.warehouse_secret", "proof-warehouse-secret", "PORTAL_PROOF_WAREHOUSE_SECRET",
	 SET_REF, FIELD(proof_warehouse_secret), 0, 63, "", "SECRET",
	 "secret contract holding the ClickHouse password (X-ClickHouse-Key); empty = none"},
	{"proof.evidence", "proof-evidence", "PORTAL_PROOF_EVIDENCE", SET_CHOICE,
	 FIELD(proof_evidence), 0, 0, "embedded", "embedded|http",
	 "where evidence records are read and written"},
	{"proof.evidence_component", "proof-evidence-component", "PORTAL_PROOF_EVIDENCE_COMPONENT",
	 SET_REF, FIELD(proof_evidence_component), 0, 63, "", "NAME",
	 "the owned component serving the evidence records (http)"},
	{"proof.evidence_secret", "proof-evidence-secret", "PORTAL_PROOF_EVIDENCE_SECRET", SET_REF,
	 FIELD(proof_evidence_secret), 0, 63, "", "SECRET",
	 "secret contract holding the evidence service's bearer token; empty = none"},
	{"lineage.datahub_component", "datahub-component", "PORTAL_DATAHUB_COMPONENT", SET_REF,
	 FIELD(datahub_component), 0, 63, "", "NAME",
	 "the component serving DataHub's GraphQL API, for lineage navigation; empty = off"},
	{"lineage.datahub_secret", "datahub-secret", "PORTAL_DATAHUB_SECRET", SET_REF,
	 FIELD(datahub_secret), 0, 63, "", "SECRET",
	 "secret contract holding the DataHub access token; empty = none"},
};

#define NSETTINGS ((int)(sizeof settings / sizeof settings[0]))

/* Sections in the order the file and the docs present them. The first seven
 * hold settings; the last five the catalogue (file only, no overrides). */
static const char *const sections[] = {"server",     "store",    "live",      "log",
				       "auth",       "proof",    "lineage",   "components",
				       "projects",   "proposals", "secrets",  "vault"};
#define NSECTIONS ((int)(sizeof sections / sizeof sections[0]))
#define SECTION_LIST \
	"server, store, live, log, auth, proof, lineage, components, projects, proposals, " \
	"secrets, vault"
enum { SEC_COMPONENTS = 7, SEC_PROJECTS = 8, SEC_PROPOSALS = 9, SEC_SECRETS = 10, SEC_VAULT = 11 };

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

/* "" (off) or an HTTP header name: 1 to max letters, digits or '-'. */
/* Whether word is one of the alternatives in list ("a|b|c"). */
static int choice_listed(const char *list, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = list; *p;) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);
		if (n && len == n && strncmp(p, word, n) == 0)
			return 1;
		p += len + (bar != NULL);
	}
	return 0;
}

static int valid_header(const char *v, long max, char *msg, size_t msgsz)
{
	char b[48];
	size_t n = strlen(v);
	int ok = n <= (size_t)max;
	for (size_t i = 0; ok && i < n; i++)
		ok = isalnum((unsigned char)v[i]) || v[i] == '-';
	if (!ok) {
		snprintf(msg, msgsz,
			 "must be an HTTP header name of 1 to %ld letters, digits or '-' "
			 "(e.g. X-Forwarded-User), or empty for none, got '%s'", max, shown(v, b));
		return -1;
	}
	return 0;
}

/* A valid address list as it is stored: entries trimmed and joined by ", "
 * (an all-blank list becomes ""). Returns 0, or -1 with a message when the
 * list is invalid or does not fit in cap bytes. */
static int proxies_normalise(const char *v, char *out, size_t cap, char *msg, size_t msgsz)
{
	if (!cidr_list_valid(v, msg, msgsz))
		return -1;
	struct buf b = BUF_INIT;
	const char *p = v;
	while (*p == ' ' || *p == '\t')
		p++;
	while (*p) {
		size_t n = strcspn(p, ",");
		size_t s0 = strspn(p, " \t"), e = n;
		while (e > s0 && (p[e - 1] == ' ' || p[e - 1] == '\t'))
			e--;
		buf_printf(&b, "%s%.*s", b.len ? ", " : "", (int)(e - s0), p + s0);
		p += n + (p[n] == ',');
	}
	int rc = 0;
	if (b.len >= cap) {
		snprintf(msg, msgsz, "must be shorter than %zu characters (written as \"a, b, c\")",
			 cap);
		rc = -1;
	} else {
		memcpy(out, buf_cstr(&b), b.len + 1);
	}
	buf_free(&b);
	return rc;
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
	case SET_MODE:
		return "a mode";
	case SET_BOOL:
		return "true or false";
	case SET_PROXIES:
		return "addresses or CIDRs";
	case SET_HEADER:
		return "a header name";
	case SET_CHOICE:
		return "a word";
	case SET_REF:
		return "a name";
	default:
		return "a string";
	}
}

/* Reads an unquoted decimal integer within [min, max] into *out; returns -1
 * with the message for the setting and component fields alike. */
static int int_value(const char *text, int quoted, long min, long max, long *out, char *msg,
		     size_t msgsz)
{
	char b[48];
	if (quoted) {
		snprintf(msg, msgsz, "expected an integer, got the quoted string '%s' "
				     "(write it without quotes)", shown(text, b));
		return -1;
	}
	int rc = parse_decimal(text, out);
	if (rc < 0) {
		snprintf(msg, msgsz, "expected an integer, got '%s'", shown(text, b));
		return -1;
	}
	if (rc > 0 || *out < min || *out > max) {
		snprintf(msg, msgsz, "must be between %ld and %ld, got %s", min, max, shown(text, b));
		return -1;
	}
	return 0;
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
		if (int_value(text, quoted, s->min, s->max, &v, msg, msgsz) < 0)
			return -1;
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
	case SET_MODE: {
		int dev;
		if (strcmp(text, "dev") == 0) {
			dev = 1;
		} else if (strcmp(text, "production") == 0) {
			dev = 0;
		} else {
			snprintf(msg, msgsz, "must be one of dev, production, got '%s'",
				 shown(text, b));
			return -1;
		}
		memcpy(field, &dev, sizeof dev);
		return 0;
	}
	case SET_BOOL: {
		int on;
		if (quoted) {
			snprintf(msg, msgsz, "expected true or false, got the quoted string '%s' "
					     "(write it without quotes)", shown(text, b));
			return -1;
		}
		if (strcmp(text, "true") == 0) {
			on = 1;
		} else if (strcmp(text, "false") == 0) {
			on = 0;
		} else {
			snprintf(msg, msgsz, "must be true or false, got '%s'", shown(text, b));
			return -1;
		}
		memcpy(field, &on, sizeof on);
		return 0;
	}
	case SET_PROXIES:
		return proxies_normalise(text, field, s->size, msg, msgsz);
	case SET_HEADER:
		if (valid_header(text, s->max, msg, msgsz) < 0)
			return -1;
		break;
	case SET_CHOICE:
		if (!choice_listed(s->metavar, text)) {
			snprintf(msg, msgsz, "must be one of %s, got '%s'", s->metavar, shown(text, b));
			return -1;
		}
		break;
	case SET_REF:
		if (*text && !secret_name_valid(text)) {
			snprintf(msg, msgsz, "must be empty or 1 to 63 of a-z, 0-9, _ and -, got '%s'",
				 shown(text, b));
			return -1;
		}
		break;
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

/* Edit distance where swapping two neighbours is one edit, as typing slips
 * are ("auht" is one from "auth"); capped: names longer than 63 bytes are
 * never close. */
static int distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 63 || lb > 63)
		return 99;
	int rows[3][64]; /* rows i-2, i-1 and i, by i % 3 */
	for (size_t j = 0; j <= lb; j++)
		rows[0][j] = (int)j;
	for (size_t i = 1; i <= la; i++) {
		int *cur = rows[i % 3], *up = rows[(i - 1) % 3], *up2 = rows[(i + 1) % 3];
		cur[0] = (int)i;
		for (size_t j = 1; j <= lb; j++) {
			int best = up[j - 1] + (a[i - 1] != b[j - 1]);
			if (up[j] + 1 < best)
				best = up[j] + 1;
			if (cur[j - 1] + 1 < best)
				best = cur[j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    up2[j - 2] + 1 < best)
				best = up2[j - 2] + 1;
			cur[j] = best;
		}
	}
	return rows[la % 3][lb];
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
	int best = -1;
	for (int i = 0; i < NSECTIONS; i++)
		if (close_enough(name, sections[i]) &&
		    (best < 0 || distance(name, sections[i]) < distance(name, sections[best])))
			best = i;
	if (best >= 0) {
		snprintf(msg, msgsz, "unknown section; did you mean '%s'?", sections[best]);
		return;
	}
	/* A setting written at the top level, e.g. "listen:" for server.listen. */
	const struct setting *s = suggest(NULL, name);
	if (s) {
		snprintf(msg, msgsz, "unknown section; did you mean '%s'?", s->key);
		return;
	}
	snprintf(msg, msgsz, "unknown section; the sections are " SECTION_LIST);
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

struct mark {
	int line, col; /* 0: not in the file */
};

/* Where a setting's value came from: what a message about a rule that spans
 * settings points at. */
enum layer { FROM_DEFAULT, FROM_FILE, FROM_ENV, FROM_FLAG };

struct origin {
	enum layer layer;
	struct mark at; /* FROM_FILE: the value's position */
	int bad;        /* some layer's value was refused: its cross-field rules wait */
};

struct comp_marks;
struct proj_marks;
struct kind_marks;
struct secret_marks;

/* Where each setting, catalogue entry and field was written, and which were
 * refused already, so that the checks run after every layer (settings) or
 * over the whole catalogue (catalogue_check) point at the right place, and a
 * value refused on its own is not reported twice. */
struct provenance {
	struct origin setting[sizeof settings / sizeof settings[0]];
	struct comp_marks *comps;
	struct proj_marks *projs;
	struct kind_marks *kinds;
	struct secret_marks *secrets;
	size_t ncomps, nprojs, nkinds, nsecrets; /* as many as the catalogue got from this file */
	size_t comp_base, proj_base, kind_base, secret_base; /* entries that were there before */
	struct mark vault, vault_field[2];
	unsigned char vault_bad[2];
};

struct parser {
	yaml_parser_t yp;
	yaml_event_t ev;
	int have_ev;
	int broken;           /* a syntax error was reported: no further events */
	const char *name;     /* file name, for messages */
	struct config *c;
	struct config_errors *errs;
	struct provenance *marks; /* where settings and catalogue entries were written */
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

static const char *want_scalar(struct parser *p, const char *key, const char *expected,
			       int *rc);

/* Steps to the next key of a mapping. A key that is not a scalar is reported
 * under `owner` ("expected <what>, got …") and skipped with its value.
 * Returns 1 at a scalar key, 0 at the mapping's end, -1 when the YAML broke. */
static int map_next_key(struct parser *p, const char *owner, const char *what)
{
	for (;;) {
		if (next(p) < 0)
			return -1;
		if (p->ev.type == YAML_MAPPING_END_EVENT)
			return 0;
		if (p->ev.type == YAML_SCALAR_EVENT)
			return 1;
		yaml_mark_t km = p->ev.start_mark;
		err_add(p->errs, p->name, line_of(km), col_of(km), owner, "expected %s, got %s",
			what, node_kind(&p->ev));
		if (skip_node(p) < 0 || next(p) < 0 || skip_node(p) < 0)
			return -1;
	}
}

/* An address list written as a YAML sequence ([a, b] or "- a" lines); the
 * current event is its SEQUENCE-START. Each entry is checked where it is
 * written; the list is stored as the same "a, b" text the environment takes.
 * Returns 0 (o->bad set when refused), or -1 when the YAML broke. */
static int parse_list_value(struct parser *p, const struct setting *s, struct origin *o)
{
	yaml_mark_t m = p->ev.start_mark;
	struct buf joined = BUF_INIT;
	char msg[256];
	for (;;) {
		if (next(p) < 0) {
			buf_free(&joined);
			return -1;
		}
		if (p->ev.type == YAML_SEQUENCE_END_EVENT)
			break;
		yaml_mark_t im = p->ev.start_mark;
		int rc;
		const char *v = want_scalar(p, s->key, "an address or CIDR", &rc);
		if (!v) {
			o->bad = 1;
			if (rc < 0) {
				buf_free(&joined);
				return -1;
			}
			continue;
		}
		if (!cidr_list_valid(v, msg, sizeof msg) || !v[strspn(v, " \t")]) {
			if (!msg[0])
				snprintf(msg, sizeof msg, "an empty entry");
			err_add(p->errs, p->name, line_of(im), col_of(im), s->key, "%s", msg);
			o->bad = 1;
			continue;
		}
		buf_printf(&joined, "%s%s", joined.len ? ", " : "", v);
	}
	if (!o->bad && setting_apply(s, p->c, buf_cstr(&joined), 0, msg, sizeof msg) < 0) {
		err_add(p->errs, p->name, line_of(m), col_of(m), s->key, "%s", msg);
		o->bad = 1;
	}
	buf_free(&joined);
	return 0;
}

/* The value of setting s; the current event is its first. */
static int parse_value(struct parser *p, const struct setting *s)
{
	yaml_event_t *ev = &p->ev;
	yaml_mark_t m = ev->start_mark;
	struct origin *o = &p->marks->setting[s - settings];
	char msg[256];
	o->layer = FROM_FILE;
	o->at.line = line_of(m);
	o->at.col = col_of(m);
	if (ev->type == YAML_SEQUENCE_START_EVENT && s->type == SET_PROXIES) {
		o->bad = 0;
		return parse_list_value(p, s, o);
	}
	o->bad = 1; /* until the value is taken */
	if (ev->type != YAML_SCALAR_EVENT) {
		err_add(p->errs, p->name, line_of(m), col_of(m), s->key, "expected %s, got %s",
			s->type == SET_PROXIES ? "a list of addresses or CIDRs"
					       : type_name(s->type),
			node_kind(ev));
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
	else
		o->bad = 0;
	return 0;
}

/* The settings of one section; the current event is its MAPPING-START. */
static int parse_section(struct parser *p, const char *section)
{
	int more;
	while ((more = map_next_key(p, section, "a setting name")) > 0) {
		yaml_mark_t km = p->ev.start_mark;
		char key[256];
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
	return more;
}

/* --- the catalogue: components:, projects:, secrets:, vault: */

/* One field of a component or project entry. Keys with a dot live in a nested
 * mapping ("health.path"); CF_GROUP is that mapping's own key. */
enum cfield_type {
	CF_GROUP,     /* a nested mapping */
	CF_NAME,      /* [a-z0-9-]{1,63} */
	CF_TEXT,      /* one line, no control characters */
	CF_OWNERSHIP, /* owned | endpoint */
	CF_URL,       /* shape checked by catalogue_check */
	CF_AUTH_KIND, /* none | bearer | basic */
	CF_SECRET,    /* a secret contract name */
	CF_HPATH,     /* starts with '/' */
	CF_INT,       /* bounded decimal */
	CF_DOTPATH,   /* a.b.c */
	CF_JSON,      /* JSON text */
	CF_NAMES,     /* a sequence of component names */
	CF_SECRETS,   /* a sequence of secret contract names */
	CF_FNAME,     /* a proposal field name: [a-z][a-z0-9_]{0,62} */
	CF_ROLE,      /* viewer | operator | approver | admin */
	CF_BOOL,      /* true | false, unquoted */
	CF_FTYPE,     /* string | integer | boolean | enum */
	CF_EXECUTOR,  /* exec | http | temporal */
	CF_LLONG,     /* bounded decimal, into a long long */
	CF_FIELDS,    /* a sequence of proposal field mappings */
	CF_STRINGS,   /* a sequence of one-line strings */
};

struct cfield {
	const char *key;
	enum cfield_type type;
	size_t offset, size;
	long min, max;
};

#define CF(f) offsetof(struct component_contract, f), sizeof(((struct component_contract *)0)->f)

static const struct cfield cfields[] = {
	{"name", CF_NAME, CF(name), 0, 0},
	{"title", CF_TEXT, CF(title), 0, 0},
	{"role", CF_TEXT, CF(role), 0, 0},
	{"ownership", CF_OWNERSHIP, CF(ownership), 0, 0},
	{"public_url", CF_URL, CF(public_url), 0, 0},
	{"internal_url", CF_URL, CF(internal_url), 0, 0},
	{"executor_url", CF_URL, CF(executor_url), 0, 0},
	{"auth", CF_GROUP, 0, 0, 0, 0},
	{"auth.kind", CF_AUTH_KIND, CF(auth), 0, 0},
	{"auth.secret", CF_SECRET, CF(auth_secret), 0, 0},
	{"health", CF_GROUP, 0, 0, 0, 0},
	{"health.path", CF_HPATH, CF(health.path), 0, 0},
	{"health.expect_status", CF_INT, CF(health.expect_status), 0, 599},
	{"health.body_path", CF_DOTPATH, CF(health.body_path), 0, 0},
	{"health.body_equals", CF_JSON, CF(health.body_equals), 0, 0},
	{"health.interval_ms", CF_INT, CF(health.interval_ms), 100, 3600000},
	{"health.timeout_ms", CF_INT, CF(health.timeout_ms), 50, 60000},
	{"health.slow_ms", CF_INT, CF(health.slow_ms), 1, 60000},
	{"launch", CF_GROUP, 0, 0, 0, 0},
	{"launch.opens", CF_TEXT, CF(launch.opens), 0, 0},
	{"launch.sign_in", CF_TEXT, CF(launch.sign_in), 0, 0},
	{"launch.needs", CF_TEXT, CF(launch.needs), 0, 0},
	{"launch.on_failure", CF_TEXT, CF(launch.on_failure), 0, 0},
};

#define NCFIELDS ((int)(sizeof cfields / sizeof cfields[0]))

#define PF(f) offsetof(struct project_contract, f), sizeof(((struct project_contract *)0)->f)

static const struct cfield pfields[] = {
	{"name", CF_NAME, PF(name), 0, 0},
	{"title", CF_TEXT, PF(title), 0, 0},
	{"summary", CF_TEXT, PF(summary), 0, 0},
	{"components", CF_NAMES, PF(components), 0, PROJECT_MAX_NEEDS},
	{"secrets", CF_SECRETS, PF(secrets), 0, PROJECT_MAX_NEEDS},
};

#define NPFIELDS ((int)(sizeof pfields / sizeof pfields[0]))
enum { PF_NAME = 0, PF_COMPONENTS = 3, PF_SECRETS = 4 };

#define VF(f) offsetof(struct vault_contract, f), sizeof(((struct vault_contract *)0)->f)

static const struct cfield vfields[] = {
	{"addr", CF_URL, VF(addr.s), 0, 0},
	{"token", CF_SECRET, VF(token_secret), 0, 0},
};

#define NVFIELDS ((int)(sizeof vfields / sizeof vfields[0]))

struct comp_marks {
	struct mark entry, field[NCFIELDS];
	unsigned char bad[NCFIELDS];
	int identity_bad; /* no valid name or ownership: its other problems would mislead */
};

/* A project's, with each item of its two lists ([0] components, [1] secrets). */
struct proj_marks {
	struct mark entry, field[NPFIELDS]; /* field: its value */
	struct mark key[NPFIELDS];          /* the field's key */
	unsigned char bad[NPFIELDS];
	struct mark item[2][PROJECT_MAX_NEEDS];
	unsigned char item_bad[2][PROJECT_MAX_NEEDS];
	int identity_bad; /* no valid name: its other problems would mislead */
};

struct secret_marks {
	struct mark key;
	int bad;
};

static void provenance_free(struct provenance *m)
{
	free(m->comps);
	free(m->projs);
	free(m->kinds);
	free(m->secrets);
	memset(m, 0, sizeof *m);
}

static int field_find(const struct cfield *table, int n, const char *key)
{
	for (int i = 0; i < n; i++)
		if (strcmp(table[i].key, key) == 0)
			return i;
	return -1;
}

static int cfield_find(const char *key)
{
	return field_find(cfields, NCFIELDS, key);
}

static void *grow(void *arr, size_t n, size_t *cap, size_t size)
{
	if (n < *cap)
		return arr;
	size_t nc = *cap ? *cap * 2 : 16;
	void *na = realloc(arr, nc * size);
	if (!na)
		abort();
	memset((char *)na + *cap * size, 0, (nc - *cap) * size);
	*cap = nc;
	return na;
}

/* The current event as a string scalar for key; NULL after reporting why it
 * is not one (the node is consumed; *rc = -1 when the YAML broke). */
static const char *want_scalar(struct parser *p, const char *key, const char *expected,
			       int *rc)
{
	yaml_event_t *ev = &p->ev;
	yaml_mark_t m = ev->start_mark;
	*rc = 0;
	if (ev->type != YAML_SCALAR_EVENT) {
		err_add(p->errs, p->name, line_of(m), col_of(m), key, "expected %s, got %s",
			expected, node_kind(ev));
		*rc = skip_node(p);
		return NULL;
	}
	const char *v = (const char *)ev->data.scalar.value;
	if (is_null_scalar(ev)) {
		err_add(p->errs, p->name, line_of(m), col_of(m), key, "expected %s, got %s",
			expected, *v ? "null" : "nothing");
		return NULL;
	}
	if (strlen(v) != ev->data.scalar.length) {
		err_add(p->errs, p->name, line_of(m), col_of(m), key,
			"must not contain a NUL character");
		return NULL;
	}
	return v;
}

static int one_line(const char *v)
{
	for (; *v; v++)
		if (iscntrl((unsigned char)*v))
			return 0;
	return 1;
}

static int dotpath_valid(const char *v)
{
	size_t seg = 0;
	for (; *v; v++) {
		if (*v == '.') {
			if (!seg)
				return 0;
			seg = 0;
		} else if (isalnum((unsigned char)*v) || *v == '_' || *v == '-') {
			seg++;
		} else {
			return 0;
		}
	}
	return seg > 0;
}

/* Validates text for component field f and stores it in comp. Returns 0, or
 * -1 with a message (never quoting more than shown() allows). */
static int cfield_apply(const struct cfield *f, void *base, const char *text, int quoted,
			char *msg, size_t msgsz)
{
	char b[48];
	char *field = (char *)base + f->offset;
	size_t len = strlen(text);
	switch (f->type) {
	case CF_GROUP:
	case CF_NAMES:
	case CF_SECRETS:
	case CF_FIELDS:
	case CF_STRINGS:
		return -1; /* parsed as mappings and sequences, not values */
	case CF_FNAME:
		if (!islower((unsigned char)text[0]) || !secret_name_valid(text) ||
		    strchr(text, '-')) {
			snprintf(msg, msgsz, "must be a lower-case letter, then up to 62 lower-case "
					     "letters, digits or '_', got '%s'", shown(text, b));
			return -1;
		}
		break;
	case CF_ROLE: {
		int r = role_parse(text);
		if (r < 0) {
			snprintf(msg, msgsz, "must be one of viewer, operator, approver, admin, "
					     "got '%s'", shown(text, b));
			return -1;
		}
		memcpy(field, &r, sizeof r);
		return 0;
	}
	case CF_BOOL: {
		int on = strcmp(text, "true") == 0;
		if (quoted || (!on && strcmp(text, "false") != 0)) {
			snprintf(msg, msgsz, "must be true or false (unquoted), got '%s'",
				 shown(text, b));
			return -1;
		}
		memcpy(field, &on, sizeof on);
		return 0;
	}
	case CF_FTYPE: {
		static const char *const types[] = {"string", "integer", "boolean", "enum",
						    "dataset"};
		static const enum proposal_field_type values[] = {
			PFIELD_STRING, PFIELD_INTEGER, PFIELD_BOOLEAN, PFIELD_ENUM, PFIELD_DATASET};
		for (int i = 0; i < 5; i++)
			if (strcmp(text, types[i]) == 0) {
				memcpy(field, &values[i], sizeof values[i]);
				return 0;
			}
		snprintf(msg, msgsz, "must be one of string, integer, boolean, enum, dataset, got '%s'",
			 shown(text, b));
		return -1;
	}
	case CF_EXECUTOR: {
		int e = executor_kind_parse(text);
		if (e >= 0) {
			enum executor_kind kind = (enum executor_kind)e;
			memcpy(field, &kind, sizeof kind);
			return 0;
		}
		char names[128];
		snprintf(msg, msgsz, "must be one of %s, got '%s'",
			 executor_kind_list(0, ", ", names, sizeof names), shown(text, b));
		return -1;
	}
	case CF_LLONG: {
		long v = 0;
		if (int_value(text, quoted, f->min, f->max, &v, msg, msgsz) < 0)
			return -1;
		long long lv = v;
		memcpy(field, &lv, sizeof lv);
		return 0;
	}
	case CF_NAME:
		if (!contract_name_valid(text)) {
			snprintf(msg, msgsz, "must be 1 to 63 lower-case letters, digits or '-', "
					     "got '%s'", shown(text, b));
			return -1;
		}
		break;
	case CF_SECRET:
		if (!secret_name_valid(text)) {
			snprintf(msg, msgsz, "must name a secrets: entry (1 to 63 lower-case "
					     "letters, digits, '_' or '-'), got '%s'", shown(text, b));
			return -1;
		}
		break;
	case CF_OWNERSHIP: {
		enum ownership o;
		if (strcmp(text, "owned") == 0) {
			o = OWNERSHIP_OWNED;
		} else if (strcmp(text, "endpoint") == 0) {
			o = OWNERSHIP_ENDPOINT;
		} else {
			snprintf(msg, msgsz, "must be one of owned, endpoint, got '%s'", shown(text, b));
			return -1;
		}
		memcpy(field, &o, sizeof o);
		return 0;
	}
	case CF_AUTH_KIND: {
		enum contract_auth a;
		if (strcmp(text, "none") == 0) {
			a = CONTRACT_AUTH_NONE;
		} else if (strcmp(text, "bearer") == 0) {
			a = CONTRACT_AUTH_BEARER;
		} else if (strcmp(text, "basic") == 0) {
			a = CONTRACT_AUTH_BASIC;
		} else {
			snprintf(msg, msgsz, "must be one of none, bearer, basic, got '%s'",
				 shown(text, b));
			return -1;
		}
		memcpy(field, &a, sizeof a);
		return 0;
	}
	case CF_INT: {
		long v = 0;
		if (int_value(text, quoted, f->min, f->max, &v, msg, msgsz) < 0)
			return -1;
		int iv = (int)v;
		memcpy(field, &iv, sizeof iv);
		return 0;
	}
	case CF_HPATH:
		if (text[0] != '/' || !one_line(text) || strchr(text, ' ')) {
			snprintf(msg, msgsz, "must be a path starting with '/', got '%s'",
				 shown(text, b));
			return -1;
		}
		break;
	case CF_DOTPATH:
		if (!dotpath_valid(text)) {
			snprintf(msg, msgsz, "must be a dotted path of JSON keys, e.g. value.ready, "
					     "got '%s'", shown(text, b));
			return -1;
		}
		break;
	case CF_JSON: {
		json_t *j = json_loads(text, JSON_DECODE_ANY, NULL);
		if (!j) {
			snprintf(msg, msgsz, "must be JSON text, e.g. true, 200 or '\"UP\"', got '%s'",
				 shown(text, b));
			return -1;
		}
		json_decref(j);
		break;
	}
	case CF_URL:
	case CF_TEXT:
		if (!one_line(text)) {
			snprintf(msg, msgsz, "must be one line without control characters");
			return -1;
		}
		break;
	}
	if (len >= f->size) {
		snprintf(msg, msgsz, "must be shorter than %zu characters", f->size);
		return -1;
	}
	memcpy(field, text, len + 1);
	return 0;
}

/* "unknown key; …" for `name` in the mapping `group` ("" = the entry) of an
 * entry whose fields are table[0..n); noun is "a component", "a project",
 * "'vault'". */
static void unknown_field_msg(const struct cfield *table, int n, const char *noun,
			      const char *group, const char *name, char *msg, size_t msgsz)
{
	size_t gl = strlen(group);
	const char *best = NULL;
	int best_d = INT_MAX;
	struct buf all = BUF_INIT;
	for (int i = 0; i < n; i++) {
		const char *k = table[i].key;
		const char *dot = strchr(k, '.');
		const char *sn;
		if (gl) {
			if (strncmp(k, group, gl) != 0 || k[gl] != '.')
				continue;
			sn = k + gl + 1;
		} else {
			if (dot)
				continue;
			sn = k;
		}
		buf_printf(&all, "%s%s", all.len ? ", " : "", sn);
		if (close_enough(name, sn) && distance(name, sn) < best_d)
			best = sn, best_d = distance(name, sn);
	}
	if (best)
		snprintf(msg, msgsz, "unknown key; did you mean '%s'?", best);
	else if (gl)
		snprintf(msg, msgsz, "unknown key; '%s' has %s", group, buf_cstr(&all));
	else
		snprintf(msg, msgsz, "unknown key; %s has %s", noun, buf_cstr(&all));
	buf_free(&all);
}

/* An entry's fields, for looking its keys up: the table, and the entry as
 * "unknown key; <noun> has …" names it. */
struct entry_fields {
	const struct cfield *table;
	int n;
	const char *noun;
};

static const struct entry_fields component_fields = {cfields, NCFIELDS, "a component"};
static const struct entry_fields project_fields = {pfields, NPFIELDS, "a project"};
static const struct entry_fields vault_fields = {vfields, NVFIELDS, "'vault'"};

/* Looks up `name`, the current key of an entry's mapping (or of its nested
 * `group`; "" = the entry's own), among ef's fields. An unknown key (with the
 * nearest known one, when one is close) and a key whose seen[] mark is set
 * are reported at the key, under `key`. Returns the field's index, or -1
 * when refused (its value is then to be skipped). */
static int field_key(struct parser *p, const struct entry_fields *ef, const char *group,
		     const char *name, const struct mark *seen, const char *key)
{
	yaml_mark_t km = p->ev.start_mark;
	char full[96], msg[256];
	snprintf(full, sizeof full, "%s%s%s", group, group[0] ? "." : "", name);
	int fi = field_find(ef->table, ef->n, full);
	if (fi < 0) {
		unknown_field_msg(ef->table, ef->n, ef->noun, group, name, msg, sizeof msg);
		err_add(p->errs, p->name, line_of(km), col_of(km), key, "%s", msg);
		return -1;
	}
	if (seen[fi].line) {
		err_add(p->errs, p->name, line_of(km), col_of(km), key,
			"duplicate key, first set at line %d", seen[fi].line);
		return -1;
	}
	return fi;
}

/* Checks the current event, the value of field f, and stores it into the
 * entry at base; `expected` ("a string") is what a value that is not a
 * scalar is told it should be. A value refused is reported where it is
 * written, under `key`, and sets *bad. Returns 0, or -1 when the YAML broke. */
static int field_value(struct parser *p, const struct cfield *f, void *base, const char *key,
		       const char *expected, unsigned char *bad)
{
	yaml_mark_t vm = p->ev.start_mark;
	char msg[256];
	int rc;
	const char *v = want_scalar(p, key, expected, &rc);
	if (!v) {
		*bad = 1;
		return rc;
	}
	int quoted = p->ev.data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
	if (cfield_apply(f, base, v, quoted, msg, sizeof msg) < 0) {
		err_add(p->errs, p->name, line_of(vm), col_of(vm), key, "%s", msg);
		*bad = 1;
	}
	return 0;
}

/* Whether entry n of `section` is past its limit; the first such entry is
 * reported (at m, under key) and *over set, so the rest pass silently. */
static int too_many(struct parser *p, const char *section, size_t n, size_t max,
		    yaml_mark_t m, const char *key, int *over)
{
	if (n < max)
		return 0;
	if (!*over)
		err_add(p->errs, p->name, line_of(m), col_of(m), key, "too many %s: at most %zu",
			section, max);
	*over = 1;
	return 1;
}

/* A catalogue section written as a sequence of mappings, one per entry
 * (components:, projects:): the words its messages use, and its limit. */
struct entry_list {
	const char *section; /* "components" */
	const char *noun;    /* "component" */
	const char *holds;   /* "name, ownership, …": what an entry's mapping has */
	size_t max;          /* entries one file may declare */
};

static const struct entry_list component_list = {"components", "component",
						  "name, ownership, …", CONFIG_MAX_COMPONENTS};
static const struct entry_list project_list = {"projects", "project", "name, components, …",
						CONFIG_MAX_PROJECTS};

/* A walk over such a section, entry by entry. */
struct entry_walk {
	const struct entry_list *list;
	size_t taken;   /* entries handed out so far */
	size_t n;       /* the current entry's index in the file */
	char key[64];   /* "components[2]": the current entry, for messages */
	yaml_mark_t at; /* where it starts */
	int over;       /* "too many" was said */
};

/* Starts a walk over list's section; the current event is its first. A
 * section that is not a sequence is reported and consumed. Returns 1 when
 * the walk may go on (entries_next), 0 when there is nothing to walk, -1
 * when the YAML broke. */
static int entries_begin(struct parser *p, const struct entry_list *list, struct entry_walk *w)
{
	memset(w, 0, sizeof *w);
	w->list = list;
	if (p->ev.type == YAML_SEQUENCE_START_EVENT)
		return 1;
	yaml_mark_t sm = p->ev.start_mark;
	char what[64];
	err_add(p->errs, p->name, line_of(sm), col_of(sm), list->section,
		"expected a sequence of %s (- name: …), got %s", list->section,
		found(&p->ev, what));
	return skip_node(p) < 0 ? -1 : 0;
}

/* Steps to the next entry. Entries past the limit and entries that are not
 * mappings are reported and skipped. Returns 1 at an entry's MAPPING-START
 * (w->n, w->key and w->at say which), 0 at the section's end, -1 when the
 * YAML broke. */
static int entries_next(struct parser *p, struct entry_walk *w)
{
	const struct entry_list *l = w->list;
	for (;;) {
		if (next(p) < 0)
			return -1;
		if (p->ev.type == YAML_SEQUENCE_END_EVENT)
			return 0;
		w->at = p->ev.start_mark;
		snprintf(w->key, sizeof w->key, "%s[%zu]", l->section, w->taken);
		snprintf(p->last_key, sizeof p->last_key, "%s", w->key);
		if (too_many(p, l->section, w->taken, l->max, w->at, w->key, &w->over)) {
			if (skip_node(p) < 0)
				return -1;
			continue;
		}
		if (p->ev.type != YAML_MAPPING_START_EVENT) {
			char what[64];
			err_add(p->errs, p->name, line_of(w->at), col_of(w->at), w->key,
				"expected a %s (a mapping with %s), got %s", l->noun, l->holds,
				found(&p->ev, what));
			if (skip_node(p) < 0)
				return -1;
			continue;
		}
		w->n = w->taken++;
		return 1;
	}
}

/* The keys of one component mapping (or of its nested `group`); the current
 * event is the MAPPING-START. */
static int parse_cmap(struct parser *p, size_t idx, struct comp_marks *cm, const char *group)
{
	struct component_contract *comp = &p->c->catalogue.components[idx];
	size_t n = idx - p->marks->comp_base;
	char owner[128];
	snprintf(owner, sizeof owner, "components[%zu]%s%s", n, group[0] ? "." : "", group);
	int more;
	while ((more = map_next_key(p, owner, "a key")) > 0) {
		yaml_mark_t km = p->ev.start_mark;
		char key[128], full[96];
		const char *name = (const char *)p->ev.data.scalar.value;
		snprintf(full, sizeof full, "%s%s%s", group, group[0] ? "." : "", name);
		snprintf(key, sizeof key, "components[%zu].%s", n, full);
		snprintf(p->last_key, sizeof p->last_key, "%s", key);
		int fi = field_key(p, &component_fields, group, name, cm->field, key);
		if (fi >= 0) {
			cm->field[fi].line = line_of(km);
			cm->field[fi].col = col_of(km);
		}
		if (next(p) < 0)
			return -1;
		if (fi < 0) {
			if (skip_node(p) < 0)
				return -1;
			continue;
		}
		const struct cfield *f = &cfields[fi];
		yaml_mark_t vm = p->ev.start_mark;
		if (f->type == CF_GROUP) {
			if (p->ev.type != YAML_MAPPING_START_EVENT) {
				char what[64];
				err_add(p->errs, p->name, line_of(vm), col_of(vm), key,
					"expected a mapping, got %s", found(&p->ev, what));
				cm->bad[fi] = 1;
				if (skip_node(p) < 0)
					return -1;
				continue;
			}
			if (parse_cmap(p, idx, cm, f->key) < 0)
				return -1;
			continue;
		}
		/* Point at the value from now on: that is what a problem is about. */
		cm->field[fi].line = line_of(vm);
		cm->field[fi].col = col_of(vm);
		if (field_value(p, f, comp, key, f->type == CF_INT ? "an integer" : "a string",
				&cm->bad[fi]) < 0)
			return -1;
	}
	return more;
}

/* components: a sequence of mappings; the current event is its first. */
static int parse_components(struct parser *p)
{
	struct catalogue *cat = &p->c->catalogue;
	struct provenance *mk = p->marks;
	struct entry_walk w;
	int more = entries_begin(p, &component_list, &w);
	if (more <= 0)
		return more;
	size_t cap = cat->ncomponents, mcap = 0;
	mk->comp_base = cat->ncomponents;
	while ((more = entries_next(p, &w)) > 0) {
		cat->components = grow(cat->components, cat->ncomponents, &cap,
				       sizeof *cat->components);
		mk->comps = grow(mk->comps, w.n, &mcap, sizeof *mk->comps);
		size_t idx = cat->ncomponents++;
		mk->ncomps = w.n + 1;
		struct component_contract *comp = &cat->components[idx];
		struct comp_marks *cm = &mk->comps[w.n];
		memset(comp, 0, sizeof *comp);
		memset(cm, 0, sizeof *cm);
		comp->ownership = OWNERSHIP_OWNED;
		comp->auth = CONTRACT_AUTH_NONE;
		snprintf(comp->health.path, sizeof comp->health.path, "/");
		comp->health.expect_status = 200;
		comp->health.interval_ms = 15000;
		comp->health.timeout_ms = 2000;
		comp->health.slow_ms = 1000;
		cm->entry.line = line_of(w.at);
		cm->entry.col = col_of(w.at);
		if (parse_cmap(p, idx, cm, "") < 0)
			return -1;
		int fname = cfield_find("name"), fown = cfield_find("ownership");
		if (!cm->field[fname].line) {
			char k[96];
			snprintf(k, sizeof k, "%s.name", w.key);
			err_add(p->errs, p->name, cm->entry.line, cm->entry.col, k,
				"every component needs a name");
		}
		if (!cm->field[fown].line) {
			char k[96];
			snprintf(k, sizeof k, "%s.ownership", w.key);
			err_add(p->errs, p->name, cm->entry.line, cm->entry.col, k,
				"every component needs an ownership: owned or endpoint");
		}
		cm->identity_bad = !cm->field[fname].line || !cm->field[fown].line ||
				   cm->bad[fname] || cm->bad[fown];
		if (!comp->title[0])
			snprintf(comp->title, sizeof comp->title, "%s", comp->name);
	}
	return more;
}

/* One of a project's lists (which: 0 components, 1 secrets) into names/n;
 * the current event is its first. Each item is checked where it is written;
 * an item refused here keeps its slot (empty), so the list's indices stay
 * those of the file. */
static int parse_plist(struct parser *p, const char *key, int which,
		       char (*names)[CONTRACT_NAME_MAX], size_t *n, struct proj_marks *pm)
{
	const char *what = which ? "secret" : "component";
	yaml_mark_t sm = p->ev.start_mark;
	if (p->ev.type != YAML_SEQUENCE_START_EVENT) {
		char what_found[64];
		err_add(p->errs, p->name, line_of(sm), col_of(sm), key,
			"expected a sequence of %s names (e.g. %s), got %s", what,
			which ? "[atlas_deploy_key]" : "[daytona, temporal]",
			is_null_scalar(&p->ev) ? "nothing" : found(&p->ev, what_found));
		pm->bad[which ? PF_SECRETS : PF_COMPONENTS] = 1;
		return skip_node(p);
	}
	struct cfield f = {"", which ? CF_SECRET : CF_NAME, 0, CONTRACT_NAME_MAX, 0, 0};
	int over = 0;
	for (;;) {
		if (next(p) < 0)
			return -1;
		if (p->ev.type == YAML_SEQUENCE_END_EVENT)
			return 0;
		yaml_mark_t im = p->ev.start_mark;
		char ikey[160];
		snprintf(ikey, sizeof ikey, "%s[%zu]", key, *n);
		if (*n >= PROJECT_MAX_NEEDS) {
			if (!over)
				err_add(p->errs, p->name, line_of(im), col_of(im), ikey,
					"too many %ss: a project lists at most %d", what,
					PROJECT_MAX_NEEDS);
			over = 1;
			if (skip_node(p) < 0)
				return -1;
			continue;
		}
		size_t k = (*n)++;
		pm->item[which][k].line = line_of(im);
		pm->item[which][k].col = col_of(im);
		if (field_value(p, &f, names[k], ikey, which ? "a secret name" : "a component name",
				&pm->item_bad[which][k]) < 0)
			return -1;
	}
}

/* The keys of one project mapping; the current event is its MAPPING-START. */
static int parse_pmap(struct parser *p, size_t idx, struct proj_marks *pm)
{
	struct project_contract *proj = &p->c->catalogue.projects[idx];
	size_t n = idx - p->marks->proj_base;
	char owner[64];
	snprintf(owner, sizeof owner, "projects[%zu]", n);
	int more;
	while ((more = map_next_key(p, owner, "a key")) > 0) {
		yaml_mark_t km = p->ev.start_mark;
		char key[128];
		const char *name = (const char *)p->ev.data.scalar.value;
		snprintf(key, sizeof key, "projects[%zu].%.64s", n, name);
		snprintf(p->last_key, sizeof p->last_key, "%s", key);
		int fi = field_key(p, &project_fields, "", name, pm->key, key);
		if (fi >= 0) {
			pm->key[fi].line = line_of(km);
			pm->key[fi].col = col_of(km);
		}
		if (next(p) < 0)
			return -1;
		if (fi < 0) {
			if (skip_node(p) < 0)
				return -1;
			continue;
		}
		const struct cfield *f = &pfields[fi];
		yaml_mark_t vm = p->ev.start_mark;
		pm->field[fi].line = line_of(vm);
		pm->field[fi].col = col_of(vm);
		if (f->type == CF_NAMES || f->type == CF_SECRETS) {
			int which = f->type == CF_SECRETS;
			if (parse_plist(p, key, which, which ? proj->secrets : proj->components,
					which ? &proj->nsecrets : &proj->ncomponents, pm) < 0)
				return -1;
			continue;
		}
		if (field_value(p, f, proj, key, "a string", &pm->bad[fi]) < 0)
			return -1;
	}
	return more;
}

/* projects: a sequence of mappings; the current event is its first. */
static int parse_projects(struct parser *p)
{
	struct catalogue *cat = &p->c->catalogue;
	struct provenance *mk = p->marks;
	struct entry_walk w;
	int more = entries_begin(p, &project_list, &w);
	if (more <= 0)
		return more;
	size_t cap = cat->nprojects, mcap = 0;
	mk->proj_base = cat->nprojects;
	while ((more = entries_next(p, &w)) > 0) {
		cat->projects = grow(cat->projects, cat->nprojects, &cap, sizeof *cat->projects);
		mk->projs = grow(mk->projs, w.n, &mcap, sizeof *mk->projs);
		size_t idx = cat->nprojects++;
		mk->nprojs = w.n + 1;
		struct project_contract *proj = &cat->projects[idx];
		struct proj_marks *pm = &mk->projs[w.n];
		memset(proj, 0, sizeof *proj);
		memset(pm, 0, sizeof *pm);
		pm->entry.line = line_of(w.at);
		pm->entry.col = col_of(w.at);
		if (parse_pmap(p, idx, pm) < 0)
			return -1;
		if (!pm->key[PF_NAME].line) {
			char k[96];
			snprintf(k, sizeof k, "%s.name", w.key);
			err_add(p->errs, p->name, pm->entry.line, pm->entry.col, k,
				"every project needs a name (as events name it in `project`)");
		}
		pm->identity_bad = !pm->key[PF_NAME].line || pm->bad[PF_NAME];
		if (!proj->title[0])
			snprintf(proj->title, sizeof proj->title, "%s", proj->name);
	}
	return more;
}

/* secrets: a mapping of contract names to sources; the current event is its
 * first. A value is never quoted in a message: it may be the secret. */
static int parse_secrets(struct parser *p)
{
	struct catalogue *cat = &p->c->catalogue;
	struct provenance *mk = p->marks;
	yaml_mark_t sm = p->ev.start_mark;
	if (p->ev.type != YAML_MAPPING_START_EVENT) {
		err_add(p->errs, p->name, line_of(sm), col_of(sm), "secrets",
			"expected a mapping of secret names to env:VAR, file:/path or "
			"vault:mount/path#key, got %s", node_kind(&p->ev));
		return skip_node(p);
	}
	size_t cap = cat->nsecrets, mcap = 0;
	mk->secret_base = cat->nsecrets;
	int over = 0, more;
	while ((more = map_next_key(p, "secrets", "a secret name")) > 0) {
		yaml_mark_t km = p->ev.start_mark;
		char key[128], b[48];
		/* Copied: the event goes at the next one. */
		char name[CONTRACT_NAME_MAX];
		const char *given = (const char *)p->ev.data.scalar.value;
		int too_long = strlen(given) >= sizeof name;
		snprintf(name, sizeof name, "%s", given);
		snprintf(key, sizeof key, "secrets.%s", shown(name, b));
		snprintf(p->last_key, sizeof p->last_key, "%s", key);
		size_t n = cat->nsecrets - mk->secret_base;
		int skip = too_many(p, "secrets", n, CONFIG_MAX_SECRETS, km, key, &over);
		for (size_t i = 0; i < n && !skip; i++) {
			if (strcmp(cat->secrets[mk->secret_base + i].name, name) == 0) {
				err_add(p->errs, p->name, line_of(km), col_of(km), key,
					"duplicate key, first set at line %d", mk->secrets[i].key.line);
				skip = 1;
			}
		}
		if (next(p) < 0)
			return -1;
		if (skip) {
			if (skip_node(p) < 0)
				return -1;
			continue;
		}
		cat->secrets = grow(cat->secrets, cat->nsecrets, &cap, sizeof *cat->secrets);
		mk->secrets = grow(mk->secrets, n, &mcap, sizeof *mk->secrets);
		struct secret_contract *s = &cat->secrets[cat->nsecrets++];
		struct secret_marks *smk = &mk->secrets[n];
		mk->nsecrets = n + 1;
		memset(s, 0, sizeof *s);
		smk->key.line = line_of(km);
		smk->key.col = col_of(km);
		snprintf(s->name, sizeof s->name, "%s", name);
		if (too_long || !secret_name_valid(name)) {
			err_add(p->errs, p->name, line_of(km), col_of(km), key,
				"a secret name is 1 to 63 lower-case letters, digits, '_' or '-'");
			smk->bad = 1;
		}
		yaml_mark_t vm = p->ev.start_mark;
		if (p->ev.type != YAML_SCALAR_EVENT) {
			err_add(p->errs, p->name, line_of(vm), col_of(vm), key,
				"expected env:VAR, file:/path or vault:mount/path#key, got %s",
				node_kind(&p->ev));
			smk->bad = 1;
			if (skip_node(p) < 0)
				return -1;
			continue;
		}
		const char *v = (const char *)p->ev.data.scalar.value;
		struct perr e = {0};
		if (is_null_scalar(&p->ev)) {
			err_add(p->errs, p->name, line_of(vm), col_of(vm), key,
				"expected env:VAR, file:/path or vault:mount/path#key, got nothing");
			smk->bad = 1;
		} else if (strlen(v) != p->ev.data.scalar.length) {
			err_add(p->errs, p->name, line_of(vm), col_of(vm), key,
				"must not contain a NUL character");
			smk->bad = 1;
		} else if (secret_ref_parse(v, s, &e) < 0) {
			err_add(p->errs, p->name, line_of(vm), col_of(vm), key, "%s", e.msg);
			smk->bad = 1;
		}
	}
	return more;
}

/* --- proposals: the kinds of proposal and how each is executed */

#define KF(f) offsetof(struct proposal_kind, f), sizeof(((struct proposal_kind *)0)->f)

static const struct cfield kfields[] = {
	{"name", CF_NAME, KF(name), 0, 0},
	{"title", CF_TEXT, KF(title), 0, 0},
	{"summary", CF_TEXT, KF(summary), 0, 0},
	{"propose", CF_ROLE, KF(propose_role), 0, 0},
	{"approve", CF_ROLE, KF(approve_role), 0, 0},
	{"self_approval", CF_BOOL, KF(self_approval), 0, 0},
	{"fields", CF_FIELDS, 0, 0, 0, PROPOSAL_MAX_FIELDS},
	{"execute", CF_GROUP, 0, 0, 0, 0},
	{"execute.executor", CF_EXECUTOR, KF(executor), 0, 0},
	{"execute.argv", CF_STRINGS, KF(argv), 0, PROPOSAL_MAX_ARGV},
	{"execute.component", CF_NAME, KF(component), 0, 0},
	{"execute.secret", CF_SECRET, KF(secret), 0, 0},
	{"execute.namespace", CF_TEXT, KF(temporal_namespace), 0, 0},
	{"execute.workflow_type", CF_TEXT, KF(workflow_type), 0, 0},
	{"execute.task_queue", CF_TEXT, KF(task_queue), 0, 0},
	{"execute.timeout_ms", CF_INT, KF(timeout_ms), PROPOSAL_MIN_TIMEOUT_MS,
	 PROPOSAL_MAX_TIMEOUT_MS},
	{"execute.max_attempts", CF_INT, KF(max_attempts), 1, PROPOSAL_MAX_ATTEMPTS},
};

#define NKFIELDS ((int)(sizeof kfields / sizeof kfields[0]))
enum { KF_NAME = 0, KF_FIELDS = 6, KF_EXECUTE = 7, KF_EXECUTOR = 8, KF_ARGV = 9 };

#define FF(f) offsetof(struct proposal_field, f), sizeof(((struct proposal_field *)0)->f)

/* A field's string lengths are bounded so a value always fits a request, a
 * page and (with room to spare) one exec argument. */
#define PROPOSAL_MAX_LEN 4096
#define PROPOSAL_DEFAULT_MAX_LEN (PROPOSAL_ARG_MAX - 1)

static const struct cfield ffields[] = {
	{"name", CF_FNAME, FF(name), 0, 0},
	{"type", CF_FTYPE, FF(type), 0, 0},
	{"required", CF_BOOL, FF(required), 0, 0},
	{"label", CF_TEXT, FF(label), 0, 0},
	{"help", CF_TEXT, FF(help), 0, 0},
	{"min", CF_LLONG, FF(min), LONG_MIN, LONG_MAX},
	{"max", CF_LLONG, FF(max), LONG_MIN, LONG_MAX},
	{"min_len", CF_INT, FF(min_len), 0, PROPOSAL_MAX_LEN},
	{"max_len", CF_INT, FF(max_len), 1, PROPOSAL_MAX_LEN},
	{"values", CF_STRINGS, FF(values), 0, PROPOSAL_MAX_VALUES},
};

#define NFFIELDS ((int)(sizeof ffields / sizeof ffields[0]))
enum {
	FF_NAME = 0, FF_TYPE = 1, FF_MIN = 5, FF_MAX = 6, FF_MIN_LEN = 7, FF_MAX_LEN = 8,
	FF_VALUES = 9
};

static const struct entry_fields kind_fields = {kfields, NKFIELDS, "a proposal kind"};
static const struct entry_fields field_fields = {ffields, NFFIELDS, "a field"};

static const struct entry_list kind_list = {"proposals", "proposal kind",
					     "name, fields, execute, …", CONFIG_MAX_KINDS};
static const struct entry_list field_list = {"fields", "field", "name, type, …",
					      PROPOSAL_MAX_FIELDS};

/* One field of a kind: where its entry, keys and values were written. */
struct field_marks {
	struct mark entry, key[NFFIELDS], val[NFFIELDS];
	unsigned char bad[NFFIELDS];
	struct mark item[PROPOSAL_MAX_VALUES];
	unsigned char item_bad[PROPOSAL_MAX_VALUES];
};

struct kind_marks {
	struct mark entry, key[NKFIELDS], val[NKFIELDS];
	unsigned char bad[NKFIELDS];
	struct field_marks fields[PROPOSAL_MAX_FIELDS];
	struct mark argv[PROPOSAL_MAX_ARGV];
	unsigned char argv_bad[PROPOSAL_MAX_ARGV];
	int identity_bad; /* no valid name or executor: its other problems would mislead */
};

/* A sequence of one-line strings (execute.argv, a field's values) into the
 * slots of size `stride` at base, at most max of them; the current event is
 * its first. Each item is checked and located where it is written. Returns
 * 0 (*list_bad set when it was no sequence), or -1 when the YAML broke. */
static int parse_strings(struct parser *p, const char *key, char *base, size_t stride,
			 size_t max, size_t *n, struct mark *marks, unsigned char *bad,
			 unsigned char *list_bad, const char *example)
{
	yaml_mark_t sm = p->ev.start_mark;
	if (p->ev.type != YAML_SEQUENCE_START_EVENT) {
		char what[64];
		err_add(p->errs, p->name, line_of(sm), col_of(sm), key,
			"expected a sequence of strings (e.g. %s), got %s", example,
			is_null_scalar(&p->ev) ? "nothing" : found(&p->ev, what));
		*list_bad = 1;
		return skip_node(p);
	}
	struct cfield f = {"", CF_TEXT, 0, stride, 0, 0};
	int over = 0;
	for (;;) {
		if (next(p) < 0)
			return -1;
		if (p->ev.type == YAML_SEQUENCE_END_EVENT)
			return 0;
		yaml_mark_t im = p->ev.start_mark;
		char ikey[160];
		snprintf(ikey, sizeof ikey, "%s[%zu]", key, *n);
		if (*n >= max) {
			if (!over)
				err_add(p->errs, p->name, line_of(im), col_of(im), ikey,
					"too many items: at most %zu", max);
			over = 1;
			*list_bad = 1;
			if (skip_node(p) < 0)
				return -1;
			continue;
		}
		size_t k = (*n)++;
		marks[k].line = line_of(im);
		marks[k].col = col_of(im);
		if (p->ev.type == YAML_MAPPING_START_EVENT) {
			/* "{project}" unquoted is YAML for a mapping */
			err_add(p->errs, p->name, line_of(im), col_of(im), ikey,
				"expected a string, got a mapping (quote an element that holds a "
				"placeholder: \"{name}\")");
			bad[k] = 1;
			if (skip_node(p) < 0)
				return -1;
			continue;
		}
		if (field_value(p, &f, base + k * stride, ikey, "a string", &bad[k]) < 0)
			return -1;
	}
}

/* The keys of one field mapping; the current event is its MAPPING-START. */
static int parse_fmap(struct parser *p, struct proposal_field *fd, struct field_marks *fm,
		      const char *fkey)
{
	int more;
	while ((more = map_next_key(p, fkey, "a key")) > 0) {
		yaml_mark_t km = p->ev.start_mark;
		char key[256];
		const char *name = (const char *)p->ev.data.scalar.value;
		snprintf(key, sizeof key, "%.128s.%.64s", fkey, name);
		snprintf(p->last_key, sizeof p->last_key, "%s", key);
		int fi = field_key(p, &field_fields, "", name, fm->key, key);
		if (fi >= 0) {
			fm->key[fi].line = line_of(km);
			fm->key[fi].col = col_of(km);
		}
		if (next(p) < 0)
			return -1;
		if (fi < 0) {
			if (skip_node(p) < 0)
				return -1;
			continue;
		}
		const struct cfield *f = &ffields[fi];
		yaml_mark_t vm = p->ev.start_mark;
		fm->val[fi].line = line_of(vm);
		fm->val[fi].col = col_of(vm);
		if (f->type == CF_STRINGS) {
			if (parse_strings(p, key, fd->values[0], sizeof fd->values[0],
					  PROPOSAL_MAX_VALUES, &fd->nvalues, fm->item, fm->item_bad,
					  &fm->bad[fi], "[deploy, ci]") < 0)
				return -1;
			continue;
		}
		const char *expected = f->type == CF_INT || f->type == CF_LLONG ? "an integer"
				       : f->type == CF_BOOL			 ? "true or false"
										 : "a string";
		if (field_value(p, f, fd, key, expected, &fm->bad[fi]) < 0)
			return -1;
	}
	return more;
}

/* The keys that only some field types take, and whether a field of type t
 * may carry key fi. */
static int field_key_fits(enum proposal_field_type t, int fi)
{
	switch (fi) {
	case FF_MIN:
	case FF_MAX:
		return t == PFIELD_INTEGER;
	case FF_MIN_LEN:
	case FF_MAX_LEN:
		return t == PFIELD_STRING;
	case FF_VALUES:
		return t == PFIELD_ENUM;
	default:
		return 1;
	}
}

/* fields: a sequence of field mappings; the current event is its first. */
static int parse_kfields(struct parser *p, struct proposal_kind *k, struct kind_marks *km,
			 const char *kkey)
{
	struct entry_walk w;
	int more = entries_begin(p, &field_list, &w);
	if (more <= 0) {
		km->bad[KF_FIELDS] = 1;
		return more;
	}
	while ((more = entries_next(p, &w)) > 0) {
		struct proposal_field *fd = &k->fields[w.n];
		struct field_marks *fm = &km->fields[w.n];
		char fkey[128];
		snprintf(fkey, sizeof fkey, "%s.%s", kkey, w.key);
		k->nfields = w.n + 1;
		memset(fd, 0, sizeof *fd);
		memset(fm, 0, sizeof *fm);
		fd->min = LLONG_MIN;
		fd->max = LLONG_MAX;
		fm->entry.line = line_of(w.at);
		fm->entry.col = col_of(w.at);
		if (parse_fmap(p, fd, fm, fkey) < 0)
			return -1;
		const char *need = !fm->key[FF_NAME].line   ? "name"
				   : !fm->key[FF_TYPE].line ? "type"
							    : NULL;
		if (need) {
			char kk[160];
			snprintf(kk, sizeof kk, "%s.%s", fkey, need);
			err_add(p->errs, p->name, fm->entry.line, fm->entry.col, kk,
				"every field needs a name and a type (string, integer, boolean "
				"or enum)");
			fm->bad[need[0] == 'n' ? FF_NAME : FF_TYPE] = 1;
			continue;
		}
		if (fm->bad[FF_TYPE])
			continue;
		for (int fi = 0; fi < NFFIELDS; fi++) {
			if (!fm->key[fi].line || field_key_fits(fd->type, fi))
				continue;
			char kk[160];
			snprintf(kk, sizeof kk, "%s.%s", fkey, ffields[fi].key);
			err_add(p->errs, p->name, fm->key[fi].line, fm->key[fi].col, kk,
				"%s is for %s fields, and '%s' is not one",
				ffields[fi].key,
				fi == FF_VALUES ? "enum"
				: fi == FF_MIN || fi == FF_MAX ? "integer" : "string",
				fd->name);
			fm->bad[fi] = 1;
		}
		if (fd->type == PFIELD_STRING && !fm->key[FF_MAX_LEN].line)
			fd->max_len = PROPOSAL_DEFAULT_MAX_LEN;
		if (!fd->label[0])
			memcpy(fd->label, fd->name, sizeof fd->name); /* label is the larger */
	}
	if (more == 0 && w.over)
		km->bad[KF_FIELDS] = 1;
	return more;
}

/* The keys of one kind mapping (or of its nested `group`, execute); the
 * current event is the MAPPING-START. */
static int parse_kmap(struct parser *p, struct proposal_kind *k, struct kind_marks *km,
		      const char *kkey, const char *group)
{
	char owner[128];
	snprintf(owner, sizeof owner, "%s%s%s", kkey, group[0] ? "." : "", group);
	int more;
	while ((more = map_next_key(p, owner, "a key")) > 0) {
		yaml_mark_t kmk = p->ev.start_mark;
		char key[192], full[96];
		const char *name = (const char *)p->ev.data.scalar.value;
		snprintf(full, sizeof full, "%s%s%.64s", group, group[0] ? "." : "", name);
		snprintf(key, sizeof key, "%s.%s", kkey, full);
		snprintf(p->last_key, sizeof p->last_key, "%s", key);
		int fi = field_key(p, &kind_fields, group, name, km->key, key);
		if (fi >= 0) {
			km->key[fi].line = line_of(kmk);
			km->key[fi].col = col_of(kmk);
		}
		if (next(p) < 0)
			return -1;
		if (fi < 0) {
			if (skip_node(p) < 0)
				return -1;
			continue;
		}
		const struct cfield *f = &kfields[fi];
		yaml_mark_t vm = p->ev.start_mark;
		km->val[fi].line = line_of(vm);
		km->val[fi].col = col_of(vm);
		if (f->type == CF_GROUP) {
			if (p->ev.type != YAML_MAPPING_START_EVENT) {
				char what[64];
				err_add(p->errs, p->name, line_of(vm), col_of(vm), key,
					"expected a mapping (executor, …), got %s",
					found(&p->ev, what));
				km->bad[fi] = 1;
				if (skip_node(p) < 0)
					return -1;
				continue;
			}
			if (parse_kmap(p, k, km, kkey, f->key) < 0)
				return -1;
			continue;
		}
		if (f->type == CF_FIELDS) {
			if (parse_kfields(p, k, km, kkey) < 0)
				return -1;
			continue;
		}
		if (f->type == CF_STRINGS) {
			if (parse_strings(p, key, k->argv[0], sizeof k->argv[0], PROPOSAL_MAX_ARGV,
					  &k->nargv, km->argv, km->argv_bad, &km->bad[fi],
					  "[\"/bin/echo\", \"{project}\"]") < 0)
				return -1;
			continue;
		}
		const char *expected = f->type == CF_INT ? "an integer"
				       : f->type == CF_BOOL ? "true or false"
							    : "a string";
		if (field_value(p, f, k, key, expected, &km->bad[fi]) < 0)
			return -1;
	}
	return more;
}

/* proposals: a sequence of kind mappings; the current event is its first. */
static int parse_proposals(struct parser *p)
{
	struct catalogue *cat = &p->c->catalogue;
	struct provenance *mk = p->marks;
	struct entry_walk w;
	int more = entries_begin(p, &kind_list, &w);
	if (more <= 0)
		return more;
	size_t cap = cat->nkinds, mcap = 0;
	mk->kind_base = cat->nkinds;
	while ((more = entries_next(p, &w)) > 0) {
		cat->kinds = grow(cat->kinds, cat->nkinds, &cap, sizeof *cat->kinds);
		mk->kinds = grow(mk->kinds, w.n, &mcap, sizeof *mk->kinds);
		size_t idx = cat->nkinds++;
		mk->nkinds = w.n + 1;
		struct proposal_kind *k = &cat->kinds[idx];
		struct kind_marks *km = &mk->kinds[w.n];
		memset(k, 0, sizeof *k);
		memset(km, 0, sizeof *km);
		k->propose_role = ROLE_OPERATOR;
		k->approve_role = ROLE_APPROVER;
		k->executor = EXECUTOR_EXEC;
		k->timeout_ms = 300000;
		k->max_attempts = 3;
		km->entry.line = line_of(w.at);
		km->entry.col = col_of(w.at);
		if (parse_kmap(p, k, km, w.key, "") < 0)
			return -1;
		char kk[96];
		if (!km->key[KF_NAME].line) {
			snprintf(kk, sizeof kk, "%s.name", w.key);
			err_add(p->errs, p->name, km->entry.line, km->entry.col, kk,
				"every proposal kind needs a name");
		}
		if (!km->key[KF_EXECUTE].line) {
			snprintf(kk, sizeof kk, "%s.execute", w.key);
			err_add(p->errs, p->name, km->entry.line, km->entry.col, kk,
				"every proposal kind needs execute: with executor exec, http or "
				"temporal");
		} else if (!km->bad[KF_EXECUTE] && !km->key[KF_EXECUTOR].line) {
			snprintf(kk, sizeof kk, "%s.execute.executor", w.key);
			err_add(p->errs, p->name, km->val[KF_EXECUTE].line,
				km->val[KF_EXECUTE].col, kk,
				"execute needs an executor: exec, http or temporal");
		}
		km->identity_bad = !km->key[KF_NAME].line || km->bad[KF_NAME] ||
				   !km->key[KF_EXECUTOR].line || km->bad[KF_EXECUTE] ||
				   km->bad[KF_EXECUTOR];
		if (!k->title[0])
			memcpy(k->title, k->name, sizeof k->title);
	}
	return more;
}

/* Where a kind's problem (field "proposals[N]<rest>") was written: the
 * item, else the value, else its group, else the kind's entry. Returns 0
 * with *at set, or -1 when it was already reported where it was written. */
static int kind_problem_at(const struct kind_marks *km, const char *rest, struct mark *at)
{
	size_t item = 0;
	char name[64] = "";
	*at = km->entry;
	if (km->identity_bad)
		return -1;
	if (strncmp(rest, ".fields[", 8) == 0) {
		size_t fi = 0;
		int used = 0;
		if (km->bad[KF_FIELDS])
			return -1;
		if (sscanf(rest, ".fields[%zu]%n", &fi, &used) != 1 || fi >= PROPOSAL_MAX_FIELDS)
			return 0;
		const struct field_marks *fm = &km->fields[fi];
		if (fm->entry.line)
			*at = fm->entry;
		sscanf(rest + used, ".%63[a-z_]", name);
		int k = field_find(ffields, NFFIELDS, name);
		if (k >= 0 && fm->bad[k])
			return -1;
		if (k >= 0 && fm->val[k].line)
			*at = fm->val[k];
		return 0;
	}
	sscanf(rest, ".%63[a-z_.]", name);
	int has_item = sscanf(rest + 1 + strlen(name), "[%zu]", &item) == 1;
	int k = field_find(kfields, NKFIELDS, name);
	if (strncmp(name, "execute.", 8) == 0 && km->bad[KF_EXECUTE])
		return -1;
	if (k < 0)
		return 0;
	if (km->bad[k] || (k == KF_ARGV && has_item && item < PROPOSAL_MAX_ARGV &&
			   km->argv_bad[item]))
		return -1;
	if (k == KF_ARGV && has_item && item < PROPOSAL_MAX_ARGV && km->argv[item].line)
		*at = km->argv[item];
	else if (km->val[k].line)
		*at = km->val[k];
	else if (strncmp(name, "execute.", 8) == 0 && km->val[KF_EXECUTE].line)
		*at = km->val[KF_EXECUTE];
	return 0;
}

/* vault: {addr, token}; the current event is its first. */
static int parse_vault(struct parser *p)
{
	struct vault_contract *v = &p->c->catalogue.vault;
	struct provenance *mk = p->marks;
	yaml_mark_t sm = p->ev.start_mark;
	mk->vault.line = line_of(sm);
	mk->vault.col = col_of(sm);
	if (p->ev.type != YAML_MAPPING_START_EVENT) {
		char what[64];
		err_add(p->errs, p->name, line_of(sm), col_of(sm), "vault",
			"expected a mapping with addr and token, got %s", found(&p->ev, what));
		return skip_node(p);
	}
	int more;
	while ((more = map_next_key(p, "vault", "a key")) > 0) {
		char key[128];
		const char *name = (const char *)p->ev.data.scalar.value;
		snprintf(key, sizeof key, "vault.%s", name);
		snprintf(p->last_key, sizeof p->last_key, "%s", key);
		/* vault_field[] marks the value, so that is what a duplicate names. */
		int ki = field_key(p, &vault_fields, "", name, mk->vault_field, key);
		if (next(p) < 0)
			return -1;
		if (ki < 0) {
			if (skip_node(p) < 0)
				return -1;
			continue;
		}
		yaml_mark_t vm = p->ev.start_mark;
		mk->vault_field[ki].line = line_of(vm);
		mk->vault_field[ki].col = col_of(vm);
		if (field_value(p, &vfields[ki], v, key, "a string", &mk->vault_bad[ki]) < 0)
			return -1;
	}
	return more;
}

/* Runs catalogue_check and adds each problem as an error located by marks
 * (mk may be empty: then without a position). */
static void check_catalogue(const struct catalogue *cat, const char *file,
			    const struct provenance *mk, struct config_errors *errs)
{
	size_t n = catalogue_check(cat, NULL, 0);
	if (!n)
		return;
	struct contract_problem *ps = calloc(n, sizeof *ps);
	if (!ps)
		abort();
	catalogue_check(cat, ps, n);
	for (size_t i = 0; i < n; i++) {
		const struct contract_problem *pr = &ps[i];
		struct mark at = {0, 0};
		char key[128];
		if (pr->component >= 0) {
			size_t ci = (size_t)pr->component;
			const struct comp_marks *cm = NULL;
			if (ci >= mk->comp_base && ci - mk->comp_base < mk->ncomps)
				cm = &mk->comps[ci - mk->comp_base];
			int fi = cfield_find(pr->field);
			if (cm && (cm->identity_bad || (fi >= 0 && cm->bad[fi])))
				continue; /* already reported where it was written */
			if (cm) {
				/* the field, else its group ("health"), else the entry */
				char group[64];
				snprintf(group, sizeof group, "%.*s", (int)strcspn(pr->field, "."),
					 pr->field);
				int gi = cfield_find(group);
				at = cm->entry;
				if (fi >= 0 && cm->field[fi].line)
					at = cm->field[fi];
				else if (gi >= 0 && cm->field[gi].line)
					at = cm->field[gi];
			}
			snprintf(key, sizeof key, "components[%zu].%s",
				 cm ? ci - mk->comp_base : ci, pr->field);
		} else if (strncmp(pr->field, "projects[", 9) == 0) {
			/* "projects[N].name", "projects[N].components[M]", … */
			size_t pi = 0, item = 0;
			int used = 0;
			if (sscanf(pr->field, "projects[%zu]%n", &pi, &used) != 1)
				continue;
			const char *rest = pr->field + used; /* ".components[1]" */
			const struct proj_marks *pm = NULL;
			if (pi >= mk->proj_base && pi - mk->proj_base < mk->nprojs)
				pm = &mk->projs[pi - mk->proj_base];
			char fname[32] = "";
			sscanf(rest, ".%31[a-z_]", fname);
			int fi = field_find(pfields, NPFIELDS, fname);
			int which = fi == PF_SECRETS ? 1 : 0;
			int has_item = fi >= 0 &&
				       sscanf(rest + 1 + strlen(fname), "[%zu]", &item) == 1 &&
				       item < PROJECT_MAX_NEEDS;
			if (pm && (pm->identity_bad || (fi >= 0 && pm->bad[fi]) ||
				   (has_item && pm->item_bad[which][item])))
				continue; /* already reported where it was written */
			if (pm) {
				at = pm->entry;
				if (has_item && pm->item[which][item].line)
					at = pm->item[which][item];
				else if (fi >= 0 && pm->field[fi].line)
					at = pm->field[fi];
			}
			snprintf(key, sizeof key, "projects[%zu]%s", pm ? pi - mk->proj_base : pi,
				 rest);
		} else if (strncmp(pr->field, "proposals[", 10) == 0) {
			size_t ki = 0;
			int used = 0;
			if (sscanf(pr->field, "proposals[%zu]%n", &ki, &used) != 1)
				continue;
			const char *rest = pr->field + used; /* ".execute.argv[0]" */
			const struct kind_marks *km = NULL;
			if (ki >= mk->kind_base && ki - mk->kind_base < mk->nkinds)
				km = &mk->kinds[ki - mk->kind_base];
			if (km && kind_problem_at(km, rest, &at) < 0)
				continue; /* already reported where it was written */
			snprintf(key, sizeof key, "proposals[%zu]%s", km ? ki - mk->kind_base : ki,
				 rest);
		} else if (pr->secret >= 0) {
			size_t si = (size_t)pr->secret;
			const struct secret_marks *sk = NULL;
			if (si >= mk->secret_base && si - mk->secret_base < mk->nsecrets)
				sk = &mk->secrets[si - mk->secret_base];
			if (sk && sk->bad)
				continue;
			if (sk)
				at = sk->key;
			snprintf(key, sizeof key, "secrets.%s", pr->subject);
		} else {
			int ki = strcmp(pr->field, "addr") == 0 ? 0 : 1;
			if (mk->vault_bad[ki])
				continue;
			at = mk->vault_field[ki].line ? mk->vault_field[ki] : mk->vault;
			snprintf(key, sizeof key, "vault.%s", pr->field);
		}
		err_add(errs, file, at.line, at.line ? at.col : 0, key, "%s", pr->msg);
	}
	free(ps);
}

/* The top-level mapping of sections; the current event is its MAPPING-START. */
static int parse_sections(struct parser *p)
{
	int more;
	while ((more = map_next_key(p, "", "a section name (" SECTION_LIST ")")) > 0) {
		yaml_mark_t km = p->ev.start_mark;
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
		int dup = si >= 0 && p->section_line[si] != line_of(km);
		if (si < 0 || is_null_scalar(&p->ev) || (dup && si >= SEC_COMPONENTS)) {
			/* unknown or a repeated catalogue section: already reported;
			 * empty: every setting commented out */
			if (skip_node(p) < 0)
				return -1;
			continue;
		}
		if (si >= SEC_COMPONENTS) {
			int rc = si == SEC_COMPONENTS ? parse_components(p)
				 : si == SEC_PROJECTS ? parse_projects(p)
				 : si == SEC_PROPOSALS ? parse_proposals(p)
				 : si == SEC_SECRETS  ? parse_secrets(p)
						      : parse_vault(p);
			if (rc < 0)
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
	return more;
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
			"the file must be a mapping of sections (" SECTION_LIST "), got %s",
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

/* config_parse, also telling marks where the catalogue entries were. */
static int parse_text(struct config *c, const char *name, const char *text, size_t len,
		      struct config_errors *errs, struct provenance *marks)
{
	int before = errs->n + errs->dropped;
	struct parser *p = calloc(1, sizeof *p);
	if (!p)
		abort();
	p->name = name;
	p->c = c;
	p->errs = errs;
	p->marks = marks;
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

int config_parse(struct config *c, const char *name, const char *text, size_t len,
		 struct config_errors *errs)
{
	struct provenance marks = {0};
	int rc = parse_text(c, name, text, len, errs, &marks);
	provenance_free(&marks);
	return rc;
}

void config_dispose(struct config *c)
{
	free(c->catalogue.components);
	free(c->catalogue.projects);
	free(c->catalogue.secrets);
	free(c->catalogue.kinds);
	c->catalogue.kinds = NULL;
	c->catalogue.nkinds = 0;
	c->catalogue.components = NULL;
	c->catalogue.ncomponents = 0;
	c->catalogue.projects = NULL;
	c->catalogue.nprojects = 0;
	c->catalogue.secrets = NULL;
	c->catalogue.nsecrets = 0;
}

/* A heap copy of n elements of size bytes at src; NULL when n is 0. */
static void *dup_array(const void *src, size_t n, size_t size)
{
	if (!n)
		return NULL;
	void *dst = malloc(n * size);
	if (!dst)
		abort();
	memcpy(dst, src, n * size);
	return dst;
}

void config_copy(struct config *dst, const struct config *src)
{
	const struct catalogue *sc = &src->catalogue;
	*dst = *src;
	dst->catalogue.components = dup_array(sc->components, sc->ncomponents,
					      sizeof *sc->components);
	dst->catalogue.projects = dup_array(sc->projects, sc->nprojects, sizeof *sc->projects);
	dst->catalogue.secrets = dup_array(sc->secrets, sc->nsecrets, sizeof *sc->secrets);
	dst->catalogue.kinds = dup_array(sc->kinds, sc->nkinds, sizeof *sc->kinds);
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

static void apply_env(struct config *c, char **envp, struct origin *origin,
		      struct config_errors *errs)
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
			origin[i].layer = FROM_ENV;
			origin[i].bad = setting_apply(s, c, eq + 1, 0, msg, sizeof msg) < 0;
			if (origin[i].bad)
				err_add(errs, "environment", 0, 0, s->env, "%s", msg);
		}
	}
}

static void apply_flags(struct config *c, const struct config_source *src,
			struct origin *origin, struct config_errors *errs)
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
		struct origin *o = &origin[s - settings];
		o->layer = FROM_FLAG;
		o->bad = setting_apply(s, c, value, 0, msg, sizeof msg) < 0;
		if (o->bad)
			err_add(errs, "command line", 0, 0, key, "%s", msg);
	}
}

/* Reports a rule that spans settings at where s's value came from: its place
 * in the file, its variable or its flag. */
static void err_setting(struct config_errors *errs, const char *path, const struct origin *origin,
			const struct setting *s, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void err_setting(struct config_errors *errs, const char *path, const struct origin *origin,
			const struct setting *s, const char *fmt, ...)
{
	char msg[256], flag[64];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	const struct origin *o = &origin[s - settings];
	switch (o->layer) {
	case FROM_FILE:
		err_add(errs, path, o->at.line, o->at.col, s->key, "%s", msg);
		break;
	case FROM_ENV:
		err_add(errs, "environment", 0, 0, s->env, "%s", msg);
		break;
	case FROM_FLAG:
		snprintf(flag, sizeof flag, "--%s", s->flag);
		err_add(errs, "command line", 0, 0, flag, "%s", msg);
		break;
	case FROM_DEFAULT:
		err_add(errs, path[0] ? path : "defaults", 0, 0, s->key, "%s", msg);
		break;
	}
}

/* Whether a postgres:// URL carries a password: in its user info
 * (user:password@) or as a password= query parameter. A file path never does. */
static int db_url_has_password(const char *url)
{
	const char *sep = strstr(url, "://");
	if (!sep || (strncasecmp(url, "postgres://", 11) != 0 &&
		     strncasecmp(url, "postgresql://", 13) != 0))
		return 0;
	const char *auth = sep + 3;
	size_t alen = strcspn(auth, "/?");
	const char *at = memchr(auth, '@', alen);
	if (at && memchr(auth, ':', (size_t)(at - auth)))
		return 1;
	const char *q = strchr(auth, '?');
	while (q) {
		if (strncmp(q + 1, "password=", 9) == 0)
			return 1;
		q = strchr(q + 1, '&');
	}
	return 0;
}

/* The rules between settings, on the values every layer left. A setting whose
 * last value was refused is left out: that error comes first. */
static void check_settings(const struct config *c, const char *path, const struct origin *origin,
			   struct config_errors *errs)
{
	const struct setting *idle = by_key("auth.session_idle_ms");
	const struct setting *max = by_key("auth.session_max_ms");
	const struct setting *header = by_key("auth.identity_header");
	const struct setting *proxies = by_key("auth.trusted_proxies");
	if (!origin[idle - settings].bad && !origin[max - settings].bad &&
	    c->session_idle_ms > c->session_max_ms)
		/* at whichever of the two was set (idle when both were) */
		err_setting(errs, path, origin,
			    origin[idle - settings].layer != FROM_DEFAULT ? idle : max,
			    "auth.session_idle_ms (%d) must not exceed auth.session_max_ms (%d): a "
			    "sign-in cannot stay unused for longer than it may last",
			    c->session_idle_ms, c->session_max_ms);
	if (!origin[header - settings].bad && !origin[proxies - settings].bad &&
	    c->identity_header[0] && !c->trusted_proxies[0])
		err_setting(errs, path, origin, header,
			    "needs auth.trusted_proxies: the header is believed only from a "
			    "trusted proxy, and none is listed");
	/* The database password comes from a secret contract, never the file:
	 * outside dev mode a password written into store.db is refused. */
	const struct setting *db = by_key("store.db");
	const struct setting *dbsecret = by_key("store.password_secret");
	if (!origin[db - settings].bad && !c->catalogue.dev_mode && db_url_has_password(c->db))
		err_setting(errs, path, origin, db,
			    "holds a password; in production give it through "
			    "store.password_secret (a secret contract) instead");
	if (c->db_password_secret[0] && !origin[dbsecret - settings].bad) {
		size_t k = 0;
		while (k < c->catalogue.nsecrets &&
		       strcmp(c->catalogue.secrets[k].name, c->db_password_secret))
			k++;
		if (k == c->catalogue.nsecrets)
			err_setting(errs, path, origin, dbsecret,
				    "names no declared secret contract: '%s' is not under secrets",
				    c->db_password_secret);
	}
	/* A remote plane (or DataHub) calls a declared component's internal URL
	 * with the credential of a declared secret contract. */
	static const struct {
		const char *plane, *component, *secret;
	} remote[] = {
		{"proof.graph", "proof.graph_component", "proof.graph_secret"},
		{"proof.warehouse", "proof.warehouse_component", "proof.warehouse_secret"},
		{"proof.evidence", "proof.evidence_component", "proof.evidence_secret"},
		{NULL, "lineage.datahub_component", "lineage.datahub_secret"},
	};
	for (size_t i = 0; i < sizeof remote / sizeof remote[0]; i++) {
		const struct setting *pl = remote[i].plane ? by_key(remote[i].plane) : NULL;
		const struct setting *co = by_key(remote[i].component);
		const struct setting *se = by_key(remote[i].secret);
		const char *plane = pl ? (const char *)c + pl->offset : NULL;
		const char *comp = (const char *)c + co->offset;
		const char *secret = (const char *)c + se->offset;
		int is_remote = plane ? strcmp(plane, "embedded") != 0 : comp[0] != '\0';
		if ((pl && origin[pl - settings].bad) || origin[co - settings].bad)
			continue;
		if (is_remote && !comp[0]) {
			err_setting(errs, path, origin, pl, "%s needs %s: the component it calls",
				    remote[i].plane, remote[i].component);
		} else if (is_remote) {
			const struct component_contract *k = catalogue_find(&c->catalogue, comp);
			if (!k)
				err_setting(errs, path, origin, co,
					    "names no declared component: '%s' is not under components",
					    comp);
			else if (!k->internal_url.s[0])
				err_setting(errs, path, origin, co,
					    "component '%s' has no internal_url for Portal to call",
					    comp);
		}
		if (secret[0] && !origin[se - settings].bad) {
			size_t k = 0;
			while (k < c->catalogue.nsecrets && strcmp(c->catalogue.secrets[k].name, secret))
				k++;
			if (k == c->catalogue.nsecrets)
				err_setting(errs, path, origin, se,
					    "names no declared secret contract: '%s' is not under secrets",
					    secret);
		}
	}
}

int config_build(struct config *c, const struct config_source *src,
		 struct config_errors *errs)
{
	errs->n = 0;
	errs->dropped = 0;
	config_defaults(c);
	struct provenance marks = {0};
	if (src->path) {
		struct buf text = BUF_INIT;
		if (read_file(src->path, &text) < 0)
			err_add(errs, src->path, 0, 0, "", "cannot read: %s",
				errno == EFBIG ? "larger than 1048576 bytes" : strerror(errno));
		else
			parse_text(c, src->path, buf_cstr(&text), text.len, errs, &marks);
		buf_free(&text);
		if (strlen(src->path) >= sizeof c->path)
			err_add(errs, "command line", 0, 0, "--config",
				"the path must be shorter than %zu characters", sizeof c->path);
	}
	apply_env(c, src->envp, marks.setting, errs);
	apply_flags(c, src, marks.setting, errs);
	check_settings(c, src->path ? src->path : "", marks.setting, errs);
	/* After the overrides: server.mode decides what a public URL may be. */
	check_catalogue(&c->catalogue, src->path ? src->path : "", &marks, errs);
	provenance_free(&marks);
	if (errs->n + errs->dropped > 0) {
		config_dispose(c);
		return -1;
	}
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
		fprintf(out, "  %-22s %s (env %s, default %s)\n", head, s->help, s->env,
			s->def[0] ? s->def : "none");
	}
}
