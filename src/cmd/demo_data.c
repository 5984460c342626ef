/* demo_data: a realistic two hours of FractalOps activity as events — sessions
 * across five projects (running, blocked, idle, ended, resumed chains),
 * Ouroboros cycles, runtime health and an event type nobody understands. It
 * builds JSON only: validating and storing is cmd_demo's job, and so are the
 * proposals, which the store makes with their own events (demo.c).
 * Deterministic by construction: no clock, no rand(); the base time is given. */
#include "cmd/demo.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIN 60000LL
#define SEC 1000LL

enum fate { RUN, IDLE, BLOCK, SUCCESS, FAILURE, CANCEL };

/* One session's story. start and last are minutes before the base time: its
 * first and its final event. A blocker on a session whose fate is not BLOCK
 * was met and cleared half-way. */
struct demo_session {
	const char *id, *project, *harness, *ticket;
	int start, last;
	enum fate fate;
	const char *block_class, *block_reason;
	const char *resumes, *parent;   /* session ids, or NULL */
	const char *launch, *launch_status;
};

/* Chosen so the projects stand at different stages: atlas at work,
 * penpot-bridge at proposal, chronicle at proof (its proposals, demo.c),
 * nexus-sync and fractalops in recovery, with a blocker of every class. */
static const struct demo_session sessions[] = {
	/* id, project, harness, ticket, start, last, fate, blocker, resumes, parent, launch */
	{"s-atlas-01", "atlas", "claude-code", "ATL-412", 116, 92, FAILURE, NULL, NULL,
	 NULL, NULL, "daytona", "ok"},
	{"s-atlas-02", "atlas", "claude-code", "ATL-412", 88, 61, CANCEL, NULL, NULL,
	 "s-atlas-01", NULL, "daytona", "ok"},
	{"s-atlas-03", "atlas", "claude-code", "ATL-412", 57, 1, RUN, NULL, NULL,
	 "s-atlas-02", NULL, "daytona", "ok"},
	{"s-atlas-04", "atlas", "codex", "ATL-418", 104, 71, SUCCESS, "dependency",
	 "PlaywrightGrid had no free browser slot (14 sessions queued)", NULL, NULL,
	 "playwright-grid", "ok"},
	{"s-atlas-05", "atlas", "aider", "ATL-421", 79, 33, IDLE, NULL, NULL, NULL, NULL,
	 "daytona", "ok"},
	{"s-atlas-06", "atlas", "claude-code", "ATL-425", 46, 18, SUCCESS, "auth",
	 "GitHub App token for fractalops/atlas expired; re-authorise the app to push", NULL,
	 NULL, "execution-runtime", "ok"},
	{"s-atlas-07", "atlas", "codex", "ATL-425", 38, 3, RUN, NULL, NULL, NULL, "s-atlas-03",
	 "playwright-grid", "ok"},
	{"s-atlas-08", "atlas", "claude-code", "ATL-430", 28, 6, SUCCESS, NULL, NULL, NULL,
	 NULL, "daytona", "ok"},
	{"s-atlas-09", "atlas", "aider", "ATL-433", 15, 2, RUN, NULL, NULL, NULL, NULL,
	 "daytona", "ok"},
	{"s-atlas-10", "atlas", "codex", "ATL-409", 112, 99, SUCCESS, NULL, NULL, NULL, NULL,
	 "execution-runtime", "ok"},

	{"s-nexus-sync-01", "nexus-sync", "codex", "NXS-207", 118, 101, FAILURE, NULL, NULL,
	 NULL, NULL, "daytona", "ok"},
	{"s-nexus-sync-02", "nexus-sync", "codex", "NXS-207", 97, 74, FAILURE, NULL, NULL,
	 "s-nexus-sync-01", NULL, "daytona", "ok"},
	{"s-nexus-sync-03", "nexus-sync", "claude-code", "NXS-207", 70, 24, BLOCK, "product",
	 "contract test nexus_roundtrip fails: upstream now sends updated_at as a string",
	 "s-nexus-sync-02", NULL, "daytona", "ok"},
	{"s-nexus-sync-04", "nexus-sync", "claude-code", "NXS-211", 93, 48, IDLE, NULL, NULL,
	 NULL, NULL, "execution-runtime", "ok"},
	{"s-nexus-sync-05", "nexus-sync", "aider", "NXS-214", 66, 40, SUCCESS, "contract",
	 "NEXUS_WEBHOOK_SECRET is not set in the session environment", NULL, NULL, "daytona",
	 "ok"},
	{"s-nexus-sync-06", "nexus-sync", "codex", "NXS-215", 34, 4, RUN, NULL, NULL, NULL,
	 NULL, "daytona", "ok"},
	{"s-nexus-sync-07", "nexus-sync", "claude-code", "NXS-219", 21, 12, BLOCK, "contract",
	 "secret NEXUS_API_TOKEN is missing: vault kv/nexus#api_token is unreadable", NULL,
	 NULL, "execution-runtime", "missing-secret"},
	{"s-nexus-sync-08", "nexus-sync", "codex", "NXS-220", 9, 0, RUN, NULL, NULL, NULL,
	 "s-nexus-sync-06", "daytona", "ok"},

	{"s-penpot-bridge-01", "penpot-bridge", "claude-code", "PEN-133", 114, 86, SUCCESS,
	 NULL, NULL, NULL, NULL, "playwright-grid", "ok"},
	{"s-penpot-bridge-02", "penpot-bridge", "aider", "PEN-137", 102, 58, CANCEL, NULL, NULL,
	 NULL, NULL, "daytona", "ok"},
	{"s-penpot-bridge-03", "penpot-bridge", "claude-code", "PEN-137", 55, 30, IDLE, NULL,
	 NULL, "s-penpot-bridge-02", NULL, "daytona", "ok"},
	{"s-penpot-bridge-04", "penpot-bridge", "codex", "PEN-140", 76, 52, FAILURE, NULL, NULL,
	 NULL, NULL, "playwright-grid", "ok"},
	{"s-penpot-bridge-05", "penpot-bridge", "codex", "PEN-140", 49, 4, RUN, "dependency",
	 "Penpot export API timed out after 30 s (3 retries)", "s-penpot-bridge-04", NULL,
	 "playwright-grid", "ok"},
	{"s-penpot-bridge-06", "penpot-bridge", "claude-code", "PEN-142", 26, 1, RUN, NULL,
	 NULL, NULL, NULL, "playwright-grid", "ok"},
	{"s-penpot-bridge-07", "penpot-bridge", "aider", "PEN-144", 18, 7, SUCCESS, NULL, NULL,
	 NULL, NULL, "daytona", "ok"},

	{"s-chronicle-01", "chronicle", "claude-code", "CHR-301", 119, 95, SUCCESS, NULL, NULL,
	 NULL, NULL, "execution-runtime", "ok"},
	{"s-chronicle-02", "chronicle", "codex", "CHR-305", 108, 83, FAILURE, NULL, NULL, NULL,
	 NULL, "daytona", "ok"},
	{"s-chronicle-03", "chronicle", "codex", "CHR-305", 80, 54, FAILURE, NULL, NULL,
	 "s-chronicle-02", NULL, "daytona", "ok"},
	{"s-chronicle-04", "chronicle", "claude-code", "CHR-305", 50, 35, SUCCESS, NULL, NULL,
	 "s-chronicle-03", NULL, "daytona", "ok"},
	{"s-chronicle-06", "chronicle", "claude-code", "CHR-310", 44, 27, IDLE, NULL, NULL, NULL,
	 NULL, "daytona", "ok"},
	{"s-chronicle-07", "chronicle", "codex", "CHR-312", 31, 2, RUN, NULL, NULL, NULL, NULL,
	 "daytona", "ok"},
	{"s-chronicle-08", "chronicle", "claude-code", "CHR-313", 13, 5, CANCEL, NULL, NULL,
	 NULL, NULL, "daytona", "ok"},

	{"s-fractalops-01", "fractalops", "claude-code", "FOPS-512", 117, 90, SUCCESS, NULL,
	 NULL, NULL, NULL, "execution-runtime", "ok"},
	{"s-fractalops-02", "fractalops", "codex", "FOPS-514", 100, 62, BLOCK, "auth",
	 "DataHub returned 401: the personal access token has expired", NULL, NULL,
	 "execution-runtime", "ok"},
	{"s-fractalops-03", "fractalops", "aider", "FOPS-515", 85, 16, IDLE, NULL, NULL, NULL,
	 NULL, "daytona", "ok"},
	{"s-fractalops-04", "fractalops", "claude-code", "FOPS-517", 73, 37, SUCCESS, "auth",
	 "Headlamp OIDC session expired; waiting for an operator to sign in again", NULL, NULL,
	 "execution-runtime", "ok"},
	{"s-fractalops-05", "fractalops", "codex", "FOPS-518", 52, 26, FAILURE, NULL, NULL,
	 NULL, NULL, "daytona", "missing-secret"},
	{"s-fractalops-06", "fractalops", "codex", "FOPS-518", 24, 0, RUN, NULL, NULL,
	 "s-fractalops-05", NULL, "daytona", "ok"},
	{"s-fractalops-07", "fractalops", "claude-code", "FOPS-520", 11, 3, RUN, NULL, NULL,
	 NULL, "s-fractalops-06", "playwright-grid", "ok"},
	{"s-fractalops-08", "fractalops", "aider", "FOPS-509", 96, 77, CANCEL, NULL, NULL, NULL,
	 NULL, "daytona", "ok"},
	{"s-fractalops-09", "fractalops", "aider", "FOPS-521", 62, 20, BLOCK, "dependency",
	 "ClickHouse at clickhouse:8123 refused the connection; lifecycle facts cannot be written",
	 NULL, NULL, "execution-runtime", "ok"},
};

static const struct {
	const char *tool, *family;
} tools[] = {
	{"playwright.goto", "browser"}, {"playwright.click", "browser"},
	{"browser.screenshot", "browser"}, {"bash", "shell"},
	{"pytest", "shell"}, {"git.diff", "git"},
	{"git.commit", "git"}, {"git.push", "git"},
	{"edit_file", "editor"}, {"apply_patch", "editor"},
	{"ripgrep", "search"}, {"code_search", "search"},
};

/* Ouroboros: a cycle every ten minutes, six minutes long; two fail and the
 * last one is still running. */
#define CYCLES 12
static const char *const cycle_notes[CYCLES] = {
	"re-derived stages for 5 projects; no drift",
	"closed 3 stale sessions on chronicle",
	"refreshed launch contracts for daytona and playwright-grid",
	"proof closure stalled for a proposal: warehouse facts missing",
	"opened recovery proposal for nexus-sync contract drift",
	"re-ran health probes after temporal latency spike",
	"rotated demo service token; 0 consumers affected",
	"summarised 14 tool failures into 2 blockers",
	"ClickHouse unreachable: lifecycle facts not written",
	"reconciled proposal queue; 1 lease expired and re-queued",
	"verified audit chain: 212 rows, no gaps",
	NULL,
};

struct pending {
	long long ts;
	size_t ord;
	json_t *obj;
};

struct gen {
	long long base;
	struct pending *items;
	size_t n, cap;
};

/* Queues an event `ago` ms before the base; takes the reference to data. */
static void emit(struct gen *g, long long ago, const char *type, const char *project,
		 const char *session, json_t *data)
{
	if (g->n == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 256;
		g->items = realloc(g->items, g->cap * sizeof *g->items);
		if (!g->items)
			abort();
	}
	json_t *obj = json_pack("{s:s, s:s, s:s*, s:s, s:o}", "type", type, "project", project,
				"session", session, "source", "demo", "data", data);
	if (!obj)
		abort();
	g->items[g->n] = (struct pending){g->base - ago, g->n, obj};
	g->n++;
}

/* A fixed-seed xorshift: variety without rand(). */
static uint32_t next_rand(uint32_t *state)
{
	uint32_t x = *state;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *state = x;
}

/* Seven hex digits that look like a commit, from the session id (FNV-1a). */
static void fake_commit(const char *id, char out[8])
{
	uint32_t h = 2166136261u;
	for (const char *c = id; *c; c++)
		h = (h ^ (unsigned char)*c) * 16777619u;
	snprintf(out, 8, "%07x", (unsigned)(h & 0xfffffff));
}

static void emit_session(struct gen *g, size_t row, const struct demo_session *s)
{
	long long jitter = (5 + (long long)(row * 17 % 53)) * SEC;
	long long start = s->start * MIN + jitter, last = s->last * MIN + jitter;
	long long span = start - last;
	char repo[96], commit[8];
	snprintf(repo, sizeof repo, "fractalops/%s", s->project);
	fake_commit(s->id, commit);

	emit(g, start, "session.started", s->project, s->id,
	     json_pack("{s:s, s:{s:s, s:s, s:s, s:s*}, s:{s:s, s:s}}", "harness", s->harness,
		       "inputs", "repository", repo, "commit", commit, "ticket", s->ticket,
		       "parent_session", s->parent, "launch", "component", s->launch, "status",
		       s->launch_status));
	if (s->resumes)
		emit(g, start - 20 * SEC, "session.resumed", s->project, s->id,
		     json_pack("{s:s}", "from_session", s->resumes));

	/* A launch that failed its contract never gets as far as a tool. */
	int launched = strcmp(s->launch_status, "ok") == 0;
	int cleared = s->block_class && s->fate != BLOCK;
	int ntools = launched ? 2 + (int)(span / (10 * MIN)) : 0;
	if (ntools > 6)
		ntools = 6;
	uint32_t rnd = 2463534242u ^ (uint32_t)(row * 2654435761u);
	for (int k = 1; k <= ntools; k++) {
		long long at = start - span * k / (ntools + 1);
		if (cleared && k * 10 >= (ntools + 1) * 4 && k * 10 <= (ntools + 1) * 6)
			continue; /* nothing runs while it waits */
		size_t t = next_rand(&rnd) % (sizeof tools / sizeof tools[0]);
		emit(g, at, "session.tool", s->project, s->id,
		     json_pack("{s:s, s:s}", "tool", tools[t].tool, "family", tools[t].family));
	}
	if (cleared) {
		emit(g, start - span * 45 / 100, "session.blocked", s->project, s->id,
		     json_pack("{s:s, s:s}", "reason", s->block_reason, "class", s->block_class));
		emit(g, start - span * 55 / 100, "session.unblocked", s->project, s->id,
		     json_object());
	}

	switch (s->fate) {
	case RUN:
	case IDLE: {
		size_t t = next_rand(&rnd) % (sizeof tools / sizeof tools[0]);
		emit(g, last, "session.tool", s->project, s->id,
		     json_pack("{s:s, s:s}", "tool", tools[t].tool, "family", tools[t].family));
		break;
	}
	case BLOCK:
		emit(g, last, "session.blocked", s->project, s->id,
		     json_pack("{s:s, s:s}", "reason", s->block_reason, "class", s->block_class));
		break;
	case SUCCESS:
	case FAILURE:
	case CANCEL: {
		const char *outcome = s->fate == SUCCESS   ? "success"
				      : s->fate == FAILURE ? "failure"
							   : "cancelled";
		emit(g, last, "session.ended", s->project, s->id,
		     json_pack("{s:s}", "outcome", outcome));
		break;
	}
	}
}

static void emit_health(struct gen *g)
{
	static const struct {
		const char *component;
		int latency_ms;
	} initial[] = {
		{"portal", 4},   {"api", 12},          {"worker", 9},  {"execution-runtime", 31},
		{"temporal", 48}, {"clickhouse", 22},  {"datahub", 140}, {"nexus", 85},
		{"penpot", 96},  {"dokploy", 60},      {"headlamp", 44},
	};
	for (size_t i = 0; i < sizeof initial / sizeof initial[0]; i++)
		emit(g, 119 * MIN - (long long)i * 2 * SEC, "health.changed", "fractalops", NULL,
		     json_pack("{s:s, s:s, s:i, s:s}", "component", initial[i].component, "state",
			       "up", "latency_ms", initial[i].latency_ms, "detail", "200 OK"));

	static const struct {
		int ago_min;
		const char *component, *state;
		int latency_ms; /* -1: no answer */
		const char *detail;
	} changes[] = {
		{96, "nexus", "degraded", 1900, "p95 1.9 s on /api/health (threshold 1 s)"},
		{88, "nexus", "up", 92, "200 OK"},
		{64, "datahub", "auth", 35,
		 "credentials expired: GMS returned 401 for the portal's access token"},
		{41, "temporal", "degraded", 2400,
		 "history service slow: 2.4 s p95 on StartWorkflowExecution"},
		{23, "clickhouse", "down", -1, "connection refused on clickhouse:8123"},
		{6, "execution-runtime", "up", 28, "200 OK"},
		{2, "portal", "up", 3, "200 OK"},
	};
	for (size_t i = 0; i < sizeof changes / sizeof changes[0]; i++) {
		json_t *d = json_pack("{s:s, s:s, s:s}", "component", changes[i].component, "state",
				      changes[i].state, "detail", changes[i].detail);
		if (changes[i].latency_ms >= 0)
			json_object_set_new(d, "latency_ms", json_integer(changes[i].latency_ms));
		emit(g, changes[i].ago_min * MIN + 30 * SEC, "health.changed", "fractalops", NULL,
		     d);
	}
}

static void emit_ouroboros(struct gen *g)
{
	for (int c = 1; c <= CYCLES; c++) {
		long long start = (118 - 10LL * (c - 1)) * MIN + 15 * SEC;
		emit(g, start, "ouroboros.cycle.started", "fractalops", NULL,
		     json_pack("{s:i}", "cycle", c));
		if (c == CYCLES)
			break; /* the current one */
		long long end = start - 6 * MIN;
		if (c == 4 || c == 9)
			emit(g, end, "ouroboros.cycle.failed", "fractalops", NULL,
			     json_pack("{s:i, s:s}", "cycle", c, "reason", cycle_notes[c - 1]));
		else
			emit(g, end, "ouroboros.cycle.completed", "fractalops", NULL,
			     json_pack("{s:i, s:s, s:s}", "cycle", c, "outcome", "success", "summary",
				       cycle_notes[c - 1]));
	}
}

/* Types this portal does not know: stored and counted, never dropped. */
static void emit_unrecognised(struct gen *g)
{
	emit(g, 58 * MIN, "deploy.finished", "fractalops", NULL,
	     json_pack("{s:s, s:s, s:s}", "service", "api", "version", "2024.6.3", "environment",
		       "staging"));
	emit(g, 14 * MIN, "deploy.finished", "fractalops", NULL,
	     json_pack("{s:s, s:s, s:s}", "service", "worker", "version", "2024.6.4",
		       "environment", "staging"));
}

static int by_time(const void *a, const void *b)
{
	const struct pending *x = a, *y = b;
	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return x->ord < y->ord ? -1 : x->ord > y->ord;
}

size_t demo_events(long long base_ms, json_t ***out)
{
	struct gen g = {base_ms, NULL, 0, 0};
	emit_health(&g);
	emit_ouroboros(&g);
	for (size_t i = 0; i < sizeof sessions / sizeof sessions[0]; i++)
		emit_session(&g, i, &sessions[i]);
	emit_unrecognised(&g);

	/* In time order (queue order breaks ties), then made strictly
	 * increasing; ids follow the order so a re-run maps id to the same
	 * event. */
	qsort(g.items, g.n, sizeof *g.items, by_time);
	for (size_t i = 1; i < g.n; i++)
		if (g.items[i].ts <= g.items[i - 1].ts)
			g.items[i].ts = g.items[i - 1].ts + 1;
	long long over = g.n ? g.items[g.n - 1].ts - base_ms : 0;
	json_t **evs = malloc((g.n ? g.n : 1) * sizeof *evs);
	if (!evs)
		abort();
	for (size_t i = 0; i < g.n; i++) {
		char id[32];
		snprintf(id, sizeof id, "demo-%04zu", i + 1);
		json_object_set_new(g.items[i].obj, "id", json_string(id));
		json_object_set_new(g.items[i].obj, "ts",
				    json_integer(g.items[i].ts - (over > 0 ? over : 0)));
		evs[i] = g.items[i].obj;
	}
	free(g.items);
	*out = evs;
	return g.n;
}
