/* settings: the table of every setting, and what follows from it alone:
 * each value's check, the lookups by key and flag with their suggestions,
 * the defaults, each command's flags and --help, and which settings a reload
 * keeps. It reads no file and no environment; config.c layers those. */
#include "config/settings.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/cursor.h"
#include "core/contract.h"
#include "util/cidr.h"

#define FIELD(f) offsetof(struct config, f), sizeof(((struct config *)0)->f)

const struct config_setting config_settings[] = {
	{"server.listen", "listen", "PORTAL_LISTEN", SET_LISTEN, FIELD(listen), 0, 0,
	 "127.0.0.1:8080", "HOST:PORT", "address to listen on",
	 CONFIG_CMD_SERVE, SETTING_AT_START},
	{"server.threads", "threads", "PORTAL_THREADS", SET_INT, FIELD(threads), 0, 64, "0", "N",
	 "event-loop threads, 0 = one per core",
	 CONFIG_CMD_SERVE, SETTING_AT_START},
	{"server.environment", "environment", "PORTAL_ENVIRONMENT", SET_LABEL, FIELD(environment),
	 1, 32, "local", "NAME", "label shown in every page header",
	 CONFIG_CMD_SERVE, SETTING_RELOADS},
	{"server.mode", "mode", "PORTAL_MODE", SET_MODE, FIELD(catalogue.dev_mode), 0, 0, "dev",
	 "MODE", "dev or production; production refuses loopback/private public URLs",
	 CONFIG_CMD_SERVE, SETTING_RELOADS},
	{"server.max_body_bytes", "max-body-bytes", "PORTAL_MAX_BODY_BYTES", SET_LONG,
	 FIELD(max_body_bytes), 1024, 67108864, "1048576", "N", "request body limit, in bytes",
	 CONFIG_CMD_SERVE, SETTING_AT_START},
	{"server.max_header_bytes", "max-header-bytes", "PORTAL_MAX_HEADER_BYTES", SET_LONG,
	 FIELD(max_header_bytes), 1024, 1048576, "16384", "N", "request header block limit, in bytes",
	 CONFIG_CMD_SERVE, SETTING_AT_START},
	{"server.read_timeout_ms", "read-timeout-ms", "PORTAL_READ_TIMEOUT_MS", SET_INT,
	 FIELD(read_timeout_ms), 100, 600000, "30000", "N",
	 "ms a client has to send a whole request, and an idle connection stays open",
	 CONFIG_CMD_SERVE, SETTING_AT_START},
	{"server.drain_timeout_ms", "drain-timeout-ms", "PORTAL_DRAIN_TIMEOUT_MS", SET_INT,
	 FIELD(drain_timeout_ms), 0, 600000, "10000", "N",
	 "ms that SIGTERM waits for in-flight requests",
	 CONFIG_CMD_SERVE | CONFIG_CMD_WORKER, SETTING_RELOADS},
	{"store.db", "db", "PORTAL_DB", SET_PATH, FIELD(db), 0, 0, "./portal.db", "PATH",
	 "SQLite database file, or a postgres:// URL",
	 CONFIG_CMD_STORE, SETTING_AT_START},
	{"store.password_secret", "db-password-secret", "PORTAL_DB_PASSWORD_SECRET", SET_REF,
	 FIELD(db_password_secret), 0, 63, "", "SECRET",
	 "secret contract holding the PostgreSQL password; empty = none",
	 CONFIG_CMD_STORE, SETTING_RELOADS},
	{"store.busy_timeout_ms", "busy-timeout-ms", "PORTAL_BUSY_TIMEOUT_MS", SET_INT,
	 FIELD(busy_timeout_ms), 0, 600000, "5000", "N",
	 "how long a writer waits on a lock, in ms",
	 CONFIG_CMD_STORE, SETTING_AT_START},
	{"store.ready_interval_ms", "ready-interval-ms", "PORTAL_READY_INTERVAL_MS", SET_INT,
	 FIELD(ready_interval_ms), 100, 600000, "1000", "N",
	 "ms between readiness checks of the store",
	 CONFIG_CMD_SERVE, SETTING_RELOADS},
	{"live.idle_after_ms", "idle-after-ms", "PORTAL_IDLE_AFTER_MS", SET_INT,
	 FIELD(idle_after_ms), 1000, 86400000, "600000", "N",
	 "ms without an event before a running session shows idle",
	 CONFIG_CMD_SERVE | CONFIG_CMD_REPLAY, SETTING_AT_START},
	{"live.stream_max_pending_bytes", "stream-max-pending-bytes", "PORTAL_STREAM_MAX_PENDING_BYTES",
	 SET_LONG, FIELD(stream_max_pending_bytes), 4096, 1073741824, "4194304", "N",
	 "bytes an event stream may have unsent before it is skipped",
	 CONFIG_CMD_SERVE, SETTING_AT_START},
	{"live.stream_slow_drop_ms", "stream-slow-drop-ms", "PORTAL_STREAM_SLOW_DROP_MS", SET_INT,
	 FIELD(stream_slow_drop_ms), 100, 600000, "30000", "N",
	 "ms a skipped event stream has to catch up before it is closed",
	 CONFIG_CMD_SERVE, SETTING_AT_START},
	{"log.level", "log-level", "PORTAL_LOG_LEVEL", SET_LEVEL, FIELD(log_level), 0, 0, "info",
	 "LEVEL", "debug, info, warn or error",
	 CONFIG_CMD_STORE, SETTING_RELOADS},
	{"auth.session_idle_ms", "session-idle-ms", "PORTAL_SESSION_IDLE_MS", SET_INT,
	 FIELD(session_idle_ms), 1000, 604800000, "7200000", "N",
	 "ms a sign-in may go unused before it ends",
	 CONFIG_CMD_SERVE, SETTING_RELOADS},
	{"auth.session_max_ms", "session-max-ms", "PORTAL_SESSION_MAX_MS", SET_INT,
	 FIELD(session_max_ms), 1000, 2147483647, "43200000", "N",
	 "ms after which a sign-in ends, used or not",
	 CONFIG_CMD_SERVE, SETTING_RELOADS},
	{"auth.preview", "preview", "PORTAL_PREVIEW", SET_BOOL, FIELD(preview), 0, 0, "true",
	 "true|false", "signed-out visitors of / see the pre-auth preview, not the sign-in page",
	 CONFIG_CMD_SERVE, SETTING_RELOADS},
	{"auth.trusted_proxies", "trusted-proxies", "PORTAL_TRUSTED_PROXIES", SET_PROXIES,
	 FIELD(trusted_proxies), 0, 0, "", "LIST",
	 "comma-separated addresses/CIDRs of the reverse proxies whose forwarded headers "
	 "are believed",
	 CONFIG_CMD_SERVE, SETTING_RELOADS},
	{"auth.identity_header", "identity-header", "PORTAL_IDENTITY_HEADER", SET_HEADER,
	 FIELD(identity_header), 1, 63, "", "NAME",
	 "header in which a trusted proxy names the signed-in account; empty = off",
	 CONFIG_CMD_SERVE, SETTING_RELOADS},
	{"proof.graph", "proof-graph", "PORTAL_PROOF_GRAPH", SET_CHOICE, FIELD(proof_graph), 0, 0,
	 "embedded", "embedded|http", "where the semantic graph plane is read and written",
	 CONFIG_CMD_WORKER, SETTING_RELOADS},
	{"proof.graph_component", "proof-graph-component", "PORTAL_PROOF_GRAPH_COMPONENT", SET_REF,
	 FIELD(proof_graph_component), 0, 63, "", "NAME",
	 "the owned component serving the graph (http): its internal URL is called",
	 CONFIG_CMD_WORKER, SETTING_RELOADS},
	{"proof.graph_secret", "proof-graph-secret", "PORTAL_PROOF_GRAPH_SECRET", SET_REF,
	 FIELD(proof_graph_secret), 0, 63, "", "SECRET",
	 "secret contract holding the graph service's bearer token; empty = none",
	 CONFIG_CMD_WORKER, SETTING_RELOADS},
	{"proof.warehouse", "proof-warehouse", "PORTAL_PROOF_WAREHOUSE", SET_CHOICE,
	 FIELD(proof_warehouse), 0, 0, "embedded", "embedded|clickhouse",
	 "where lifecycle facts are read and written",
	 CONFIG_CMD_WORKER, SETTING_RELOADS},
	{"proof.warehouse_component", "proof-warehouse-component",
	 "PORTAL_PROOF_WAREHOUSE_COMPONENT", SET_REF, FIELD(proof_warehouse_component), 0, 63, "",
	 "NAME", "the component serving ClickHouse's HTTP interface (clickhouse)",
	 CONFIG_CMD_WORKER, SETTING_RELOADS},
	{"proof.warehouse_database", "proof-warehouse-database", "PORTAL_PROOF_WAREHOUSE_DATABASE",
	 SET_REF, FIELD(proof_warehouse_database), 0, 63, "default", "NAME",
	 "the ClickHouse database holding the facts table",
	 CONFIG_CMD_WORKER, SETTING_RELOADS},
	{"proof.warehouse_user", "proof-warehouse-user", "PORTAL_PROOF_WAREHOUSE_USER", SET_REF,
	 FIELD(proof_warehouse_user), 0, 63, "", "NAME",
	 "the ClickHouse user (X-ClickHouse-User); empty = the server's default",
	 CONFIG_CMD_WORKER, SETTING_RELOADS},
	{"proof.warehouse_secret", "proof-warehouse-secret", "PORTAL_PROOF_WAREHOUSE_SECRET",
	 SET_REF, FIELD(proof_warehouse_secret), 0, 63, "", "SECRET",
	 "secret contract holding the ClickHouse password (X-ClickHouse-Key); empty = none",
	 CONFIG_CMD_WORKER, SETTING_RELOADS},
	{"proof.evidence", "proof-evidence", "PORTAL_PROOF_EVIDENCE", SET_CHOICE,
	 FIELD(proof_evidence), 0, 0, "embedded", "embedded|http",
	 "where evidence records are read and written",
	 CONFIG_CMD_WORKER, SETTING_RELOADS},
	{"proof.evidence_component", "proof-evidence-component", "PORTAL_PROOF_EVIDENCE_COMPONENT",
	 SET_REF, FIELD(proof_evidence_component), 0, 63, "", "NAME",
	 "the owned component serving the evidence records (http)",
	 CONFIG_CMD_WORKER, SETTING_RELOADS},
	{"proof.evidence_secret", "proof-evidence-secret", "PORTAL_PROOF_EVIDENCE_SECRET", SET_REF,
	 FIELD(proof_evidence_secret), 0, 63, "", "SECRET",
	 "secret contract holding the evidence service's bearer token; empty = none",
	 CONFIG_CMD_WORKER, SETTING_RELOADS},
	{"lineage.datahub_component", "datahub-component", "PORTAL_DATAHUB_COMPONENT", SET_REF,
	 FIELD(datahub_component), 0, 63, "", "NAME",
	 "the component serving DataHub's GraphQL API, for lineage navigation; empty = off",
	 CONFIG_CMD_SERVE, SETTING_RELOADS},
	{"lineage.datahub_secret", "datahub-secret", "PORTAL_DATAHUB_SECRET", SET_REF,
	 FIELD(datahub_secret), 0, 63, "", "SECRET",
	 "secret contract holding the DataHub access token; empty = none",
	 CONFIG_CMD_SERVE, SETTING_RELOADS},
	{"worker.concurrency", "concurrency", "PORTAL_WORKER_CONCURRENCY", SET_INT,
	 FIELD(worker_concurrency), 1, 64, "4", "N", "attempts at once, 1-64",
	 CONFIG_CMD_WORKER, SETTING_AT_START},
	{"worker.id", "id", "PORTAL_WORKER_ID", SET_ID, FIELD(worker_id), 1, 63, "", "NAME",
	 "this worker's name in leases and the audit log; empty = host:pid "
	 "(unique per running worker)",
	 CONFIG_CMD_WORKER, SETTING_AT_START},
	{"worker.lease_slack_ms", "lease-slack-ms", "PORTAL_WORKER_LEASE_SLACK_MS", SET_INT,
	 FIELD(worker_lease_slack_ms), 100, 3600000, "30000", "N",
	 "how long a lease outlasts the kind's timeout, so a dead worker's proposal is "
	 "taken over after timeout + N ms (100-3600000)",
	 CONFIG_CMD_WORKER, SETTING_AT_START},
};

/* Sections in the order the file and the docs present them. The first eight
 * hold settings; the last five the catalogue (file only, no overrides). */
const char *const config_sections[] = {"server",     "store",   "live",     "log",
				       "auth",       "proof",   "lineage",  "worker",
				       "components", "projects", "proposals", "secrets",
				       "vault"};

_Static_assert(sizeof config_settings / sizeof config_settings[0] == SETTINGS_COUNT,
	       "SETTINGS_COUNT (settings.h) must be the number of rows of the table");
_Static_assert(sizeof config_sections / sizeof config_sections[0] == CONFIG_NSECTIONS,
	       "CONFIG_NSECTIONS (settings.h) must be the number of sections");

int config_setting_count(void)
{
	return SETTINGS_COUNT;
}

const struct config_setting *config_setting_at(int i)
{
	return i >= 0 && i < SETTINGS_COUNT ? &config_settings[i] : NULL;
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
		snprintf(msg, msgsz, "port must be between 0 and 65535, got '%s'", config_shown(port, b));
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
				 config_shown(v, b));
			return -1;
		}
	}
	if (!ok) {
		snprintf(msg, msgsz, "must be HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080, got '%s'",
			 config_shown(v, b));
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
			 config_shown(v, b));
		return -1;
	}
	return 0;
}

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

/* "" or 1 to max printable ASCII characters without spaces: a name that
 * goes into logs and rows as it is, such as a worker's lease owner. */
static int valid_id(const char *v, long max, char *msg, size_t msgsz)
{
	char b[48];
	size_t n = strlen(v);
	int ok = n <= (size_t)max;
	for (size_t i = 0; ok && i < n; i++)
		ok = v[i] > ' ' && v[i] <= '~';
	if (!ok) {
		snprintf(msg, msgsz,
			 "must be empty or 1 to %ld printable characters without spaces, got '%s'",
			 max, config_shown(v, b));
		return -1;
	}
	return 0;
}

/* "" (off) or an HTTP header name: 1 to max letters, digits or '-'. */
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
			 "(e.g. X-Forwarded-User), or empty for none, got '%s'", max, config_shown(v, b));
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

const char *setting_type_name(enum setting_type t)
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
	case SET_ID:
		return "a name";
	default:
		return "a string";
	}
}

/* Reads an unquoted decimal integer within [min, max] into *out; returns -1
 * with the message for the setting and component fields alike. */
int config_int_value(const char *text, int quoted, long min, long max, long *out, char *msg,
		     size_t msgsz)
{
	char b[48];
	if (quoted) {
		snprintf(msg, msgsz, "expected an integer, got the quoted string '%s' "
				     "(write it without quotes)", config_shown(text, b));
		return -1;
	}
	int rc = parse_decimal(text, out);
	if (rc < 0) {
		snprintf(msg, msgsz, "expected an integer, got '%s'", config_shown(text, b));
		return -1;
	}
	if (rc > 0 || *out < min || *out > max) {
		snprintf(msg, msgsz, "must be between %ld and %ld, got %s", min, max, config_shown(text, b));
		return -1;
	}
	return 0;
}

/* Validates text for s and, when valid, stores it in c. quoted says the YAML
 * scalar was quoted: a quoted number is a string, so integers refuse it.
 * Returns 0, or -1 with a message in msg. */
int setting_apply(const struct config_setting *s, struct config *c, const char *text,
		  int quoted, char *msg, size_t msgsz)
{
	char b[48];
	char *field = (char *)c + s->offset;
	switch (s->type) {
	case SET_INT:
	case SET_LONG: {
		long v = 0;
		if (config_int_value(text, quoted, s->min, s->max, &v, msg, msgsz) < 0)
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
				 config_shown(text, b));
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
				 config_shown(text, b));
			return -1;
		}
		memcpy(field, &dev, sizeof dev);
		return 0;
	}
	case SET_BOOL: {
		int on;
		if (quoted) {
			snprintf(msg, msgsz, "expected true or false, got the quoted string '%s' "
					     "(write it without quotes)", config_shown(text, b));
			return -1;
		}
		if (strcmp(text, "true") == 0) {
			on = 1;
		} else if (strcmp(text, "false") == 0) {
			on = 0;
		} else {
			snprintf(msg, msgsz, "must be true or false, got '%s'", config_shown(text, b));
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
			snprintf(msg, msgsz, "must be one of %s, got '%s'", s->metavar, config_shown(text, b));
			return -1;
		}
		break;
	case SET_REF:
		if (*text && !secret_name_valid(text)) {
			snprintf(msg, msgsz, "must be empty or 1 to 63 of a-z, 0-9, _ and -, got '%s'",
				 config_shown(text, b));
			return -1;
		}
		break;
	case SET_ID:
		if (valid_id(text, s->max, msg, msgsz) < 0)
			return -1;
		break;
	}
	snprintf(field, s->size, "%s", text);
	return 0;
}

/* --- lookup and suggestions */

const struct config_setting *setting_by_key(const char *key)
{
	for (int i = 0; i < SETTINGS_COUNT; i++)
		if (strcmp(config_settings[i].key, key) == 0)
			return &config_settings[i];
	return NULL;
}

const struct config_setting *setting_by_flag(const char *flag)
{
	for (int i = 0; i < SETTINGS_COUNT; i++)
		if (strcmp(config_settings[i].flag, flag) == 0)
			return &config_settings[i];
	return NULL;
}

int config_section_index(const char *name)
{
	for (int i = 0; i < CONFIG_NSECTIONS; i++)
		if (strcmp(config_sections[i], name) == 0)
			return i;
	return -1;
}

/* The part of a dotted key after its section. */
static const char *short_name(const char *key)
{
	const char *dot = strchr(key, '.');
	return dot ? dot + 1 : key;
}

static int in_section(const struct config_setting *s, const char *section)
{
	size_t n = strlen(section);
	return strncmp(s->key, section, n) == 0 && s->key[n] == '.';
}

/* Edit distance where swapping two neighbours is one edit, as typing slips
 * are ("auht" is one from "auth"); capped: names longer than 63 bytes are
 * never close. */
int config_distance(const char *a, const char *b)
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

int config_close_enough(const char *given, const char *known)
{
	int d = config_distance(given, known);
	return d <= 2 && (size_t)d * 2 < strlen(known);
}

/* The setting whose name is nearest to `name` (given under `section`, which
 * may be NULL or unknown), or NULL when none is close. Same-section names win
 * ties, so "server.listn" suggests server.listen and "server.db" store.db. */
static const struct config_setting *suggest(const char *section, const char *name)
{
	const struct config_setting *best = NULL;
	int best_score = INT_MAX;
	for (int i = 0; i < SETTINGS_COUNT; i++) {
		const struct config_setting *s = &config_settings[i];
		const char *sn = short_name(s->key);
		if (!config_close_enough(name, sn))
			continue;
		int score = config_distance(name, sn) * 2 + (section && in_section(s, section) ? 0 : 1);
		if (score < best_score)
			best = s, best_score = score;
	}
	return best;
}

/* "unknown key; …" for `name` under a known section. */
void config_unknown_key_msg(const char *section, const char *name, char *msg, size_t msgsz)
{
	const struct config_setting *s = suggest(section, name);
	if (s) {
		snprintf(msg, msgsz, "unknown key; did you mean '%s'?", s->key);
		return;
	}
	struct buf b = BUF_INIT;
	buf_printf(&b, "unknown key; '%s' has ", section);
	int first = 1;
	for (int i = 0; i < SETTINGS_COUNT; i++) {
		if (!in_section(&config_settings[i], section))
			continue;
		buf_printf(&b, "%s%s", first ? "" : ", ", short_name(config_settings[i].key));
		first = 0;
	}
	snprintf(msg, msgsz, "%s", buf_cstr(&b));
	buf_free(&b);
}

/* "unknown section; …" for a top-level `name`. */
void config_unknown_section_msg(const char *name, char *msg, size_t msgsz)
{
	int best = -1;
	for (int i = 0; i < CONFIG_NSECTIONS; i++)
		if (config_close_enough(name, config_sections[i]) &&
		    (best < 0 || config_distance(name, config_sections[i]) < config_distance(name, config_sections[best])))
			best = i;
	if (best >= 0) {
		snprintf(msg, msgsz, "unknown section; did you mean '%s'?", config_sections[best]);
		return;
	}
	/* A setting written at the top level, e.g. "listen:" for server.listen. */
	const struct config_setting *s = suggest(NULL, name);
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
	for (int i = 0; i < SETTINGS_COUNT; i++)
		setting_apply(&config_settings[i], c, config_settings[i].def, 0, msg, sizeof msg);
}

/* --- flags and help */

int config_flag_known(const char *flag)
{
	return flag && setting_by_flag(flag) != NULL;
}

int config_flag_taken(const char *flag, unsigned commands)
{
	const struct config_setting *s = flag ? setting_by_flag(flag) : NULL;
	return s && (s->commands & commands) != 0;
}

static void print_flag(FILE *out, const struct config_setting *s)
{
	char head[64];
	snprintf(head, sizeof head, "--%s %s", s->flag, s->metavar);
	fprintf(out, "  %-22s %s (env %s, default %s)\n", head, s->help, s->env,
		s->def[0] ? s->def : "none");
}

void config_print_flags(FILE *out, const char *const *flags)
{
	for (; flags && *flags; flags++) {
		const struct config_setting *s = setting_by_flag(*flags);
		if (s)
			print_flag(out, s);
		else
			fprintf(out, "  --%s VALUE\n", *flags);
	}
}

void config_print_command_flags(FILE *out, unsigned commands)
{
	for (int i = 0; i < SETTINGS_COUNT; i++)
		if (config_settings[i].commands & commands)
			print_flag(out, &config_settings[i]);
}

/* --- reload */

int config_keep_restart_only(const struct config *old, struct config *fresh,
			     unsigned commands, const char **keys, int cap)
{
	int n = 0;
	for (int i = 0; i < SETTINGS_COUNT; i++) {
		const struct config_setting *s = &config_settings[i];
		char *now = (char *)fresh + s->offset;
		const char *was = (const char *)old + s->offset;
		if (s->reload == SETTING_RELOADS || memcmp(now, was, s->size) == 0)
			continue;
		memcpy(now, was, s->size);
		if (!(s->commands & commands))
			continue; /* another command's: nothing here to restart */
		if (n < cap)
			keys[n] = s->key;
		n++;
	}
	return n;
}
