/* warehouse_clickhouse: the warehouse plane on ClickHouse over HTTP
 * (docs/warehouse-clickhouse.md). Facts live in one MergeTree table that the
 * plane creates on first use. A fact goes in as a JSONEachRow line built with
 * jansson; the one value that reaches SQL, the proposal id, goes through
 * clickhouse_quote(). It never updates or deletes a fact. */
#include "proof/proof.h"

#include <jansson.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/clickhouse.h"
#include "util/buf.h"
#include "util/clock.h"

#define FACTS_TABLE "portal_lifecycle_facts"

/* The table, as docs/warehouse-clickhouse.md shows it. It only works on
 * 18.16 with Int64 milliseconds (DateTime64 came later). recorded is the
 * tiebreak for facts with the same at: the writer's wall clock in
 * microseconds, strictly increasing per plane, since a MergeTree keeps no
 * insertion order of its own. */
static const char facts_ddl[] =
	"CREATE TABLE IF NOT EXISTS " FACTS_TABLE " (\n"
	"    proposal String,\n"
	"    project  String,\n"
	"    kind     String,\n"
	"    event    String,\n"
	"    at       Int64,\n"
	"    actor    String,\n"
	"    artifact String,\n"
	"    digest   String,\n"
	"    recorded Int64\n"
	") ENGINE = MergeTree() ORDER BY (proposal, at, recorded)";

struct wh_clickhouse {
	struct clickhouse *ch;
	atomic_int ready;           /* the table is known to exist */
	atomic_llong last_recorded; /* the last recorded value handed out */
};

/* The text columns of struct proof_fact, in the table's order. */
#define FACT_COLUMN(m) {#m, offsetof(struct proof_fact, m), sizeof ((struct proof_fact *)0)->m}
static const struct {
	const char *name;
	size_t off, cap;
} fact_columns[] = {
	FACT_COLUMN(proposal), FACT_COLUMN(project), FACT_COLUMN(kind),     FACT_COLUMN(event),
	FACT_COLUMN(actor),    FACT_COLUMN(artifact), FACT_COLUMN(digest),
};
#define FACT_NCOLUMNS (sizeof fact_columns / sizeof fact_columns[0])

/* Makes sure the table exists, once per plane. EXISTS comes first so that
 * an account that may only read does not need the right to create. */
static int ensure_table(struct wh_clickhouse *w, struct perr *err)
{
	if (atomic_load(&w->ready))
		return 0;
	struct buf out = BUF_INIT;
	int rc = clickhouse_exec(w->ch, "EXISTS TABLE " FACTS_TABLE " FORMAT JSONEachRow", NULL, 0,
				 &out, err);
	long long exists = 0;
	if (rc == 0) {
		json_t *row = json_loadb(buf_cstr(&out), out.len, JSON_DISABLE_EOF_CHECK, NULL);
		if (clickhouse_json_int64(json_object_get(row, "result"), &exists) < 0)
			rc = perr_set(err, PERR_UNAVAILABLE, NULL,
				      "the warehouse did not say whether table " FACTS_TABLE
				      " exists");
		json_decref(row);
	}
	buf_free(&out);
	if (rc == 0 && !exists)
		rc = clickhouse_exec(w->ch, facts_ddl, NULL, 0, NULL, err);
	if (rc == 0)
		atomic_store(&w->ready, 1);
	return rc;
}

static long long next_recorded(struct wh_clickhouse *w)
{
	long long now = clock_wall_ms() * 1000;
	long long last = atomic_load(&w->last_recorded);
	long long want;
	do
		want = now > last ? now : last + 1;
	while (!atomic_compare_exchange_weak(&w->last_recorded, &last, want));
	return want;
}

/* One fact as a JSONEachRow line (no newline) in *line, which the caller
 * frees, or an error naming the field. */
static int fact_row(struct wh_clickhouse *w, const struct proof_fact *f, char **line,
		    struct perr *err)
{
	json_t *row = json_object();
	if (!row)
		abort();
	for (size_t i = 0; i < FACT_NCOLUMNS; i++) {
		const char *name = fact_columns[i].name;
		const char *s = (const char *)f + fact_columns[i].off;
		size_t len = strnlen(s, fact_columns[i].cap);
		if (len == fact_columns[i].cap) {
			json_decref(row);
			return perr_set(err, PERR_INVALID, name,
					"the fact's %s is not terminated within %zu bytes", name,
					fact_columns[i].cap);
		}
		json_t *v = json_stringn(s, len);
		if (!v) {
			json_decref(row);
			return perr_set(err, PERR_INVALID, name, "the fact's %s is not valid UTF-8",
					name);
		}
		json_object_set_new(row, name, v);
	}
	json_object_set_new(row, "at", json_integer(f->at));
	json_object_set_new(row, "recorded", json_integer(next_recorded(w)));
	*line = json_dumps(row, JSON_COMPACT);
	json_decref(row);
	if (!*line)
		abort();
	return 0;
}

static int wh_record(void *impl, const struct proof_fact *f, struct perr *err)
{
	struct wh_clickhouse *w = impl;
	if (!f)
		return perr_set(err, PERR_INVALID, NULL, "no fact to record");
	if (!f->proposal[0])
		return perr_set(err, PERR_INVALID, "proposal", "the fact names no proposal");
	if (!f->event[0])
		return perr_set(err, PERR_INVALID, "event", "the fact names no event");
	char *line = NULL;
	int rc = fact_row(w, f, &line, err);
	if (rc < 0)
		return rc;
	rc = ensure_table(w, err);
	if (rc == 0)
		rc = clickhouse_exec(w->ch, "INSERT INTO " FACTS_TABLE " FORMAT JSONEachRow", line,
				     strlen(line), NULL, err);
	free(line);
	return rc;
}

/* Fills f from one JSONEachRow line of the facts query. */
static int fact_parse(const char *line, size_t len, struct proof_fact *f, struct perr *err)
{
	json_t *row = json_loadb(line, len, 0, NULL);
	if (!json_is_object(row)) {
		json_decref(row);
		return perr_set(err, PERR_UNAVAILABLE, NULL,
				"the warehouse answered a fact that is not a JSON object");
	}
	memset(f, 0, sizeof *f);
	int rc = 0;
	for (size_t i = 0; i < FACT_NCOLUMNS && rc == 0; i++) {
		const char *name = fact_columns[i].name;
		json_t *v = json_object_get(row, name);
		const char *s = json_string_value(v);
		size_t n = s ? json_string_length(v) : 0;
		if (!s)
			rc = perr_set(err, PERR_UNAVAILABLE, name,
				      "the warehouse answered a fact without %s", name);
		else if (n >= fact_columns[i].cap || strlen(s) != n)
			rc = perr_set(err, PERR_TOO_LARGE, name,
				      "the warehouse holds a fact whose %s is longer than %zu bytes",
				      name, fact_columns[i].cap - 1);
		else
			memcpy((char *)f + fact_columns[i].off, s, n + 1);
	}
	if (rc == 0 && clickhouse_json_int64(json_object_get(row, "at"), &f->at) < 0)
		rc = perr_set(err, PERR_UNAVAILABLE, "at",
			      "the warehouse answered a fact whose at is not a 64-bit integer");
	json_decref(row);
	return rc;
}

static int wh_facts(void *impl, const char *proposal, proof_fact_fn fn, void *arg,
		    struct perr *err)
{
	struct wh_clickhouse *w = impl;
	if (!proposal || !proposal[0])
		return perr_set(err, PERR_INVALID, "proposal", "no proposal named");
	size_t plen = strlen(proposal);
	if (plen >= PROOF_ID_MAX)
		return perr_set(err, PERR_INVALID, "proposal", "the proposal id is longer than %d bytes",
				PROOF_ID_MAX - 1);
	struct buf sql = BUF_INIT;
	buf_puts(&sql, "SELECT proposal, project, kind, event, at, actor, artifact, digest FROM "
		       FACTS_TABLE " WHERE proposal = ");
	int rc = clickhouse_quote(&sql, proposal, plen, "proposal", err);
	buf_puts(&sql, " ORDER BY at, recorded FORMAT JSONEachRow");
	if (rc == 0)
		rc = ensure_table(w, err);
	struct buf out = BUF_INIT;
	if (rc == 0)
		rc = clickhouse_exec(w->ch, buf_cstr(&sql), NULL, 0, &out, err);
	buf_free(&sql);

	/* The whole answer is in and carries no error, so every row is a fact. */
	const char *p = buf_cstr(&out), *end = p + out.len;
	while (rc == 0 && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (len > 0) {
			struct proof_fact f;
			rc = fact_parse(p, len, &f, err);
			if (rc == 0 && fn && fn(arg, &f) < 0)
				break;
		}
		p += len + 1;
	}
	buf_free(&out);
	return rc;
}

static void wh_close(void *impl)
{
	struct wh_clickhouse *w = impl;
	if (!w)
		return;
	clickhouse_free(w->ch);
	free(w);
}

static const struct warehouse_ops warehouse_clickhouse_ops = {
	"clickhouse", wh_record, wh_facts, wh_close,
};

int warehouse_clickhouse_open(const struct proof_remote *r, struct warehouse *out,
			      struct perr *err)
{
	out->ops = NULL;
	out->impl = NULL;
	if (!r)
		return perr_set(err, PERR_INVALID, "url", "no warehouse settings");
	struct clickhouse_config cfg = {
		.url = r->url,
		.user = r->user,
		.secret = r->secret,
		.database = r->database,
		.timeout_ms = r->timeout_ms,
		.name = "the warehouse",
	};
	struct clickhouse *ch;
	int rc = clickhouse_new(&cfg, &ch, err);
	if (rc < 0)
		return rc;
	struct wh_clickhouse *w = calloc(1, sizeof *w);
	if (!w)
		abort();
	w->ch = ch;
	atomic_init(&w->ready, 0);
	atomic_init(&w->last_recorded, 0);
	out->ops = &warehouse_clickhouse_ops;
	out->impl = w;
	return 0;
}
