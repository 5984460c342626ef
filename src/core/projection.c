/* projection: the fold, one function per known event type (the fold column
 * of EVENT_TYPES in core/event.h); it validates nothing, that is
 * core/event.c's. Entities live in binary search trees (tsearch) keyed by
 * name, so every snapshot walks them in the same order; running sessions
 * also sit in a min-heap on their last event time, so advancing the clock
 * finds the ones that went idle without scanning them all. */
#include "core/projection.h"

#include <search.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/jsonw.h"

#define CHAIN_MAX 16      /* continuity entries kept per session */
#define RECENT_CYCLES 20  /* Ouroboros outcomes behind the success rate */
#define UNRECOGNISED_TYPES 64

enum { BLOCK_AUTH, BLOCK_CONTRACT, BLOCK_DEPENDENCY, BLOCK_PRODUCT, BLOCK_COUNT };
static const char *const block_names[BLOCK_COUNT] = {"auth", "contract", "dependency", "product"};

enum { PROP_OPEN, PROP_PROVING, PROP_PROVEN, PROP_CLOSED, PROP_COUNT };
static const char *const prop_group_names[PROP_COUNT] = {"open", "proving", "proven", "closed"};

static const char *const status_names[SESSION_STATUS_COUNT] = {"running", "blocked", "idle",
							       "ended"};

/* Every entity starts with its key so one comparison serves all trees. */
struct session {
	char *id;
	char *project, *harness, *outcome;
	enum session_status status;
	long long started_at, last_event_at, ended_at, events, tools;
	char *first_tool_family, *last_tool;
	int block; /* BLOCK_* while blocked, -1 otherwise */
	char *blocked_reason;
	char *chain[CHAIN_MAX]; /* continuity: the sessions this one resumes, oldest first */
	int nchain;
	char *resumed_by;
	char *repository, *commit, *ticket, *parent_session;
	char *launch_component, *launch_status;
	size_t heap_i; /* position in the idle heap; SIZE_MAX when not running */
	int touched;
};

struct project {
	char *name;
	long long by_status[SESSION_STATUS_COUNT];
	long long blocked_by[BLOCK_COUNT];
	long long proposals[PROP_COUNT];
	long long sessions, events, last_event_at;
	char *last_outcome;
	int touched;
};

struct component {
	char *name;
	char *state, *detail;
	long long latency_ms, since, updated_at, changes;
	int touched;
};

struct proposal {
	char *id;
	char *project;
	int group;
};

struct counter {
	char *type;
	long long n;
};

struct vec {
	void **items;
	size_t n, cap;
};

struct projection {
	struct projection_options opt;
	long long version, clock, events;
	void *sessions, *projects, *components, *proposals, *unrecognised;
	size_t nsessions, nprojects, ncomponents, nunrecognised;
	long long unrecognised_total, unrecognised_other;
	int unrecognised_touched;
	/* idle heap */
	struct session **heap;
	size_t heap_n, heap_cap;
	/* Ouroboros */
	long long cycle_current, cycle_started_at, cycle_last, cycle_last_at;
	char *cycle_last_outcome, *cycle_last_note;
	long long cycles_completed, cycles_failed;
	unsigned char recent[RECENT_CYCLES];
	int nrecent, recent_pos;
	int ouroboros_touched;
	/* what changed since the last delta */
	struct vec dirty_sessions, dirty_projects, dirty_components;
};

/* --- small helpers */

static void *xmalloc(size_t n)
{
	void *p = calloc(1, n);
	if (!p)
		abort();
	return p;
}

static char *xstrdup(const char *s)
{
	if (!s)
		return NULL;
	char *d = strdup(s);
	if (!d)
		abort();
	return d;
}

static void set_str(char **dst, const char *src)
{
	if (*dst && src && strcmp(*dst, src) == 0)
		return;
	free(*dst);
	*dst = xstrdup(src);
}

static void vec_push(struct vec *v, void *x)
{
	if (v->n == v->cap) {
		v->cap = v->cap ? v->cap * 2 : 64;
		v->items = realloc(v->items, v->cap * sizeof *v->items);
		if (!v->items)
			abort();
	}
	v->items[v->n++] = x;
}

static int by_key(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int by_key_ptr(const void *a, const void *b)
{
	return strcmp(**(const char *const *const *)a, **(const char *const *const *)b);
}

/* Finds the entity keyed `key` in *root, creating a zeroed one of `size`
 * bytes when absent (*created says which). */
static void *lookup(void **root, const char *key, size_t size, int *created, size_t *count)
{
	void *found = tfind(&key, root, by_key);
	if (found) {
		*created = 0;
		return *(void **)found;
	}
	char **e = xmalloc(size);
	*e = xstrdup(key);
	if (!tsearch(e, root, by_key))
		abort();
	*created = 1;
	(*count)++;
	return e;
}

static const char *data_str(const json_t *data, const char *key)
{
	return json_string_value(json_object_get(data, key));
}

/* --- idle heap: running sessions ordered by (last_event_at, id) */

static int heap_less(const struct session *a, const struct session *b)
{
	if (a->last_event_at != b->last_event_at)
		return a->last_event_at < b->last_event_at;
	return strcmp(a->id, b->id) < 0;
}

static void heap_swap(struct projection *p, size_t i, size_t j)
{
	struct session *t = p->heap[i];
	p->heap[i] = p->heap[j];
	p->heap[j] = t;
	p->heap[i]->heap_i = i;
	p->heap[j]->heap_i = j;
}

static void heap_fix(struct projection *p, size_t i)
{
	while (i > 0 && heap_less(p->heap[i], p->heap[(i - 1) / 2])) {
		heap_swap(p, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < p->heap_n && heap_less(p->heap[l], p->heap[m]))
			m = l;
		if (r < p->heap_n && heap_less(p->heap[r], p->heap[m]))
			m = r;
		if (m == i)
			return;
		heap_swap(p, i, m);
		i = m;
	}
}

static void heap_add(struct projection *p, struct session *s)
{
	if (s->heap_i != SIZE_MAX) {
		heap_fix(p, s->heap_i);
		return;
	}
	if (p->heap_n == p->heap_cap) {
		p->heap_cap = p->heap_cap ? p->heap_cap * 2 : 64;
		p->heap = realloc(p->heap, p->heap_cap * sizeof *p->heap);
		if (!p->heap)
			abort();
	}
	s->heap_i = p->heap_n;
	p->heap[p->heap_n++] = s;
	heap_fix(p, s->heap_i);
}

static void heap_remove(struct projection *p, struct session *s)
{
	size_t i = s->heap_i;
	if (i == SIZE_MAX)
		return;
	s->heap_i = SIZE_MAX;
	p->heap_n--;
	if (i != p->heap_n) {
		p->heap[i] = p->heap[p->heap_n];
		p->heap[i]->heap_i = i;
		heap_fix(p, i);
	}
}

/* --- change tracking */

static void touch_session(struct projection *p, struct session *s)
{
	if (!s->touched) {
		s->touched = 1;
		vec_push(&p->dirty_sessions, s);
	}
}

static void touch_project(struct projection *p, struct project *pr)
{
	if (!pr->touched) {
		pr->touched = 1;
		vec_push(&p->dirty_projects, pr);
	}
}

static struct project *project_get(struct projection *p, const char *name)
{
	int created;
	struct project *pr = lookup(&p->projects, name, sizeof *pr, &created, &p->nprojects);
	if (created)
		pr->last_event_at = -1;
	return pr;
}

/* Moves s to `st`, keeping the project's counters and the idle heap in step. */
static void session_set_status(struct projection *p, struct session *s, enum session_status st)
{
	struct project *pr = project_get(p, s->project);
	if (s->status != st) {
		pr->by_status[s->status]--;
		pr->by_status[st]++;
		touch_project(p, pr);
	}
	if (s->block >= 0 && st != SESSION_BLOCKED) {
		pr->blocked_by[s->block]--;
		s->block = -1;
		set_str(&s->blocked_reason, NULL);
		touch_project(p, pr);
	}
	s->status = st;
	if (st == SESSION_RUNNING)
		heap_add(p, s);
	else
		heap_remove(p, s);
	touch_session(p, s);
}

static struct session *session_get(struct projection *p, const struct event *ev)
{
	int created;
	struct session *s = lookup(&p->sessions, ev->session, sizeof *s, &created, &p->nsessions);
	if (created) {
		s->project = xstrdup(ev->project);
		s->status = SESSION_RUNNING;
		s->started_at = ev->ts;
		s->last_event_at = ev->ts;
		s->ended_at = -1;
		s->block = -1;
		s->heap_i = SIZE_MAX;
		struct project *pr = project_get(p, s->project);
		pr->sessions++;
		pr->by_status[SESSION_RUNNING]++;
		touch_project(p, pr);
		heap_add(p, s);
	}
	return s;
}

/* --- folding one event: the fold column of EVENT_TYPES. Each fold returns
 * 0, or -1 before changing anything when the event lacks what it needs (the
 * event then only counts as unrecognised). */

/* Every session event is counted on its session (created by its first
 * event, whatever the type) and moves the session's last event time. */
static struct session *session_event(struct projection *p, const struct event *ev)
{
	struct session *s = session_get(p, ev);
	s->events++;
	if (ev->ts > s->last_event_at) {
		s->last_event_at = ev->ts;
		if (s->heap_i != SIZE_MAX)
			heap_fix(p, s->heap_i);
	}
	touch_session(p, s);
	return s;
}

static int fold_session_started(struct projection *p, const struct event *ev)
{
	struct session *s = session_event(p, ev);
	json_t *d = ev->data;
	json_t *in = json_object_get(d, "inputs"), *la = json_object_get(d, "launch");
	set_str(&s->harness, data_str(d, "harness"));
	set_str(&s->repository, data_str(in, "repository"));
	set_str(&s->commit, data_str(in, "commit"));
	set_str(&s->ticket, data_str(in, "ticket"));
	set_str(&s->parent_session, data_str(in, "parent_session"));
	set_str(&s->launch_component, data_str(la, "component"));
	set_str(&s->launch_status, data_str(la, "status"));
	s->started_at = ev->ts;
	s->ended_at = -1;
	set_str(&s->outcome, NULL);
	session_set_status(p, s, SESSION_RUNNING);
	return 0;
}

static int fold_session_tool(struct projection *p, const struct event *ev)
{
	struct session *s = session_event(p, ev);
	json_t *d = ev->data;
	s->tools++;
	set_str(&s->last_tool, data_str(d, "tool"));
	if (!s->first_tool_family) {
		const char *fam = data_str(d, "family");
		set_str(&s->first_tool_family, fam ? fam : data_str(d, "tool"));
	}
	if (s->status == SESSION_IDLE)
		session_set_status(p, s, SESSION_RUNNING);
	return 0;
}

static int fold_session_blocked(struct projection *p, const struct event *ev)
{
	struct session *s = session_event(p, ev);
	const char *cls = data_str(ev->data, "class");
	int b = BLOCK_PRODUCT;
	for (int i = 0; i < BLOCK_COUNT; i++)
		if (cls && strcmp(cls, block_names[i]) == 0)
			b = i;
	session_set_status(p, s, SESSION_BLOCKED);
	struct project *pr = project_get(p, s->project);
	if (s->block >= 0)
		pr->blocked_by[s->block]--;
	s->block = b;
	pr->blocked_by[b]++;
	set_str(&s->blocked_reason, data_str(ev->data, "reason"));
	touch_project(p, pr);
	return 0;
}

static int fold_session_unblocked(struct projection *p, const struct event *ev)
{
	struct session *s = session_event(p, ev);
	if (s->status != SESSION_ENDED)
		session_set_status(p, s, SESSION_RUNNING);
	return 0;
}

static int fold_session_resumed(struct projection *p, const struct event *ev)
{
	struct session *s = session_event(p, ev);
	const char *from = data_str(ev->data, "from_session");
	if (from && strcmp(from, s->id) != 0) {
		/* The chain is the predecessor's chain plus the predecessor,
		 * without repeats and bounded: the newest entries are kept. */
		char *chain[CHAIN_MAX * 2 + 1];
		int n = 0;
		const struct session *prev = NULL;
		void *found = tfind(&from, &p->sessions, by_key);
		if (found) {
			prev = *(struct session **)found;
			for (int i = 0; i < prev->nchain; i++)
				chain[n++] = prev->chain[i];
		}
		chain[n++] = (char *)from;
		int start = n > CHAIN_MAX ? n - CHAIN_MAX : 0, m = 0;
		char *next[CHAIN_MAX];
		for (int i = start; i < n; i++) {
			int dup = strcmp(chain[i], s->id) == 0;
			for (int j = 0; j < m && !dup; j++)
				dup = strcmp(next[j], chain[i]) == 0;
			if (!dup)
				next[m++] = xstrdup(chain[i]);
		}
		for (int i = 0; i < s->nchain; i++)
			free(s->chain[i]);
		memcpy(s->chain, next, (size_t)m * sizeof *next);
		s->nchain = m;
		if (prev) {
			struct session *pm = (struct session *)prev;
			set_str(&pm->resumed_by, s->id);
			touch_session(p, pm);
		}
	}
	if (s->status != SESSION_BLOCKED)
		session_set_status(p, s, SESSION_RUNNING);
	s->ended_at = -1;
	set_str(&s->outcome, NULL);
	return 0;
}

static int fold_session_ended(struct projection *p, const struct event *ev)
{
	struct session *s = session_event(p, ev);
	set_str(&s->outcome, data_str(ev->data, "outcome"));
	s->ended_at = ev->ts;
	session_set_status(p, s, SESSION_ENDED);
	struct project *pr = project_get(p, s->project);
	set_str(&pr->last_outcome, s->outcome);
	touch_project(p, pr);
	return 0;
}

static long long cycle_of(const struct event *ev)
{
	return json_integer_value(json_object_get(ev->data, "cycle"));
}

static int fold_cycle_started(struct projection *p, const struct event *ev)
{
	p->ouroboros_touched = 1;
	p->cycle_current = cycle_of(ev);
	p->cycle_started_at = ev->ts;
	return 0;
}

/* A cycle that completed or failed: the last one, and one more outcome in
 * the recent window (ok: it succeeded). */
static void cycle_end(struct projection *p, const struct event *ev, int ok)
{
	long long cycle = cycle_of(ev);
	p->ouroboros_touched = 1;
	p->cycle_last = cycle;
	p->cycle_last_at = ev->ts;
	if (p->cycle_current == cycle) {
		p->cycle_current = -1;
		p->cycle_started_at = -1;
	}
	p->recent[p->recent_pos] = (unsigned char)ok;
	p->recent_pos = (p->recent_pos + 1) % RECENT_CYCLES;
	if (p->nrecent < RECENT_CYCLES)
		p->nrecent++;
}

static int fold_cycle_completed(struct projection *p, const struct event *ev)
{
	const char *outcome = data_str(ev->data, "outcome");
	p->cycles_completed++;
	set_str(&p->cycle_last_outcome, outcome);
	set_str(&p->cycle_last_note, data_str(ev->data, "summary"));
	cycle_end(p, ev, outcome && strcmp(outcome, "success") == 0);
	return 0;
}

static int fold_cycle_failed(struct projection *p, const struct event *ev)
{
	p->cycles_failed++;
	set_str(&p->cycle_last_outcome, "failed");
	set_str(&p->cycle_last_note, data_str(ev->data, "reason"));
	cycle_end(p, ev, 0);
	return 0;
}

static int fold_health_changed(struct projection *p, const struct event *ev)
{
	int created;
	const char *name = data_str(ev->data, "component"), *state = data_str(ev->data, "state");
	if (!name || !state)
		return -1;
	struct component *c = lookup(&p->components, name, sizeof *c, &created, &p->ncomponents);
	if (created || !c->state || strcmp(c->state, state) != 0) {
		c->since = ev->ts;
		c->changes++;
	}
	set_str(&c->state, state);
	set_str(&c->detail, data_str(ev->data, "detail"));
	json_t *l = json_object_get(ev->data, "latency_ms");
	c->latency_ms = json_is_integer(l) ? json_integer_value(l) : -1;
	c->updated_at = ev->ts;
	if (!c->touched) {
		c->touched = 1;
		vec_push(&p->dirty_components, c);
	}
	return 0;
}

static int proposal_group(const char *state)
{
	static const char *const open[] = {"submitted", "approved", "queued", "running", "executed",
					   NULL};
	for (const char *const *s = open; *s; s++)
		if (strcmp(*s, state) == 0)
			return PROP_OPEN;
	if (strcmp(state, "proving") == 0)
		return PROP_PROVING;
	if (strcmp(state, "proven") == 0)
		return PROP_PROVEN;
	return PROP_CLOSED;
}

static int fold_proposal_transitioned(struct projection *p, const struct event *ev)
{
	const char *id = data_str(ev->data, "proposal"), *to = data_str(ev->data, "to");
	if (!id || !to)
		return -1;
	int created;
	size_t count = 0;
	struct proposal *pp = lookup(&p->proposals, id, sizeof *pp, &created, &count);
	struct project *pr;
	if (created) {
		pp->project = xstrdup(ev->project);
	} else {
		pr = project_get(p, pp->project);
		pr->proposals[pp->group]--;
		touch_project(p, pr);
	}
	pp->group = proposal_group(to);
	pr = project_get(p, pp->project);
	pr->proposals[pp->group]++;
	touch_project(p, pr);
	return 0;
}

typedef int (*fold_fn)(struct projection *p, const struct event *ev);

static const fold_fn folds[EVENT_TYPE_COUNT] = {
#define EVENT_TYPE_FOLD(id, name, needs_session, by_portal, check, fold) [EVENT_##id] = fold,
	EVENT_TYPES(EVENT_TYPE_FOLD)
#undef EVENT_TYPE_FOLD
};

static void apply_unrecognised(struct projection *p, const struct event *ev)
{
	p->unrecognised_total++;
	p->unrecognised_touched = 1;
	void *found = tfind(&ev->type, &p->unrecognised, by_key);
	if (found) {
		(*(struct counter **)found)->n++;
	} else if (p->nunrecognised < UNRECOGNISED_TYPES) {
		int created;
		struct counter *c = lookup(&p->unrecognised, ev->type, sizeof *c, &created,
					   &p->nunrecognised);
		c->n = 1;
	} else {
		p->unrecognised_other++;
	}
}

/* Running sessions whose last event is older than the idle window, measured
 * on the projection's clock, become idle. */
static void advance_clock(struct projection *p, long long ts)
{
	if (ts <= p->clock)
		return;
	p->clock = ts;
	while (p->heap_n > 0 && p->heap[0]->last_event_at + p->opt.idle_after_ms <= p->clock)
		session_set_status(p, p->heap[0], SESSION_IDLE);
}

int projection_apply(struct projection *p, const struct event *ev, struct perr *err)
{
	if (ev->seq <= p->version)
		return perr_set(err, PERR_CONFLICT, "seq",
				"event seq %lld is not after the projection's version %lld", ev->seq,
				p->version);
	const struct event_type *t = event_type_find(ev->type);
	if (!t || (t->needs_session && !ev->session) || folds[t->id](p, ev) < 0)
		apply_unrecognised(p, ev);
	struct project *pr = project_get(p, ev->project);
	pr->events++;
	if (ev->ts > pr->last_event_at)
		pr->last_event_at = ev->ts;
	touch_project(p, pr);
	p->events++;
	p->version = ev->seq;
	advance_clock(p, ev->ts);
	return 0;
}

/* --- lifecycle */

struct projection *projection_new(const struct projection_options *opt)
{
	struct projection *p = xmalloc(sizeof *p);
	p->opt = *opt;
	if (p->opt.idle_after_ms <= 0)
		p->opt.idle_after_ms = 600000;
	p->cycle_current = p->cycle_started_at = p->cycle_last = p->cycle_last_at = -1;
	return p;
}

static void free_session(void *x)
{
	struct session *s = x;
	char **strs[] = {&s->id, &s->project, &s->harness, &s->outcome, &s->first_tool_family,
			 &s->last_tool, &s->blocked_reason, &s->resumed_by, &s->repository,
			 &s->commit, &s->ticket, &s->parent_session, &s->launch_component,
			 &s->launch_status};
	for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
		free(*strs[i]);
	for (int i = 0; i < s->nchain; i++)
		free(s->chain[i]);
	free(s);
}

static void free_project(void *x)
{
	struct project *pr = x;
	free(pr->name);
	free(pr->last_outcome);
	free(pr);
}

static void free_component(void *x)
{
	struct component *c = x;
	free(c->name);
	free(c->state);
	free(c->detail);
	free(c);
}

static void free_proposal(void *x)
{
	struct proposal *pp = x;
	free(pp->id);
	free(pp->project);
	free(pp);
}

static void free_counter(void *x)
{
	struct counter *c = x;
	free(c->type);
	free(c);
}

void projection_free(struct projection *p)
{
	if (!p)
		return;
	tdestroy(p->sessions, free_session);
	tdestroy(p->projects, free_project);
	tdestroy(p->components, free_component);
	tdestroy(p->proposals, free_proposal);
	tdestroy(p->unrecognised, free_counter);
	free(p->heap);
	free(p->cycle_last_outcome);
	free(p->cycle_last_note);
	free(p->dirty_sessions.items);
	free(p->dirty_projects.items);
	free(p->dirty_components.items);
	free(p);
}

long long projection_version(const struct projection *p)
{
	return p->version;
}

size_t projection_session_count(const struct projection *p)
{
	return p->nsessions;
}

int session_status_parse(const char *s)
{
	for (int i = 0; i < SESSION_STATUS_COUNT; i++)
		if (strcmp(s, status_names[i]) == 0)
			return i;
	return -1;
}

const char *session_status_name(enum session_status s)
{
	return (unsigned)s < SESSION_STATUS_COUNT ? status_names[s] : "unknown";
}

/* --- serialisation */

/* The practical next step for a session, by rules on its own state only (so
 * a session's bytes depend on its own events). */
static void write_next_step(struct buf *b, const struct projection *p, const struct session *s)
{
	struct buf t = BUF_INIT;
	const char *launch_ok[] = {"ok", "ready", "launched", "up", NULL};
	int launch_bad = 0;
	if (s->launch_status) {
		launch_bad = 1;
		for (const char **x = launch_ok; *x; x++)
			if (strcmp(*x, s->launch_status) == 0)
				launch_bad = 0;
	}
	switch (s->status) {
	case SESSION_BLOCKED:
		switch (s->block) {
		case BLOCK_AUTH:
			buf_printf(&t, "Sign in or request access, then resume (an access blocker, not a failure): %s",
				   s->blocked_reason ? s->blocked_reason : "");
			break;
		case BLOCK_CONTRACT:
			buf_printf(&t, "Fix the contract, then resume: %s",
				   s->blocked_reason ? s->blocked_reason : "");
			break;
		case BLOCK_DEPENDENCY:
			buf_printf(&t, "Wait for or recover the dependency: %s",
				   s->blocked_reason ? s->blocked_reason : "");
			break;
		default:
			buf_printf(&t, "Investigate the failure and open a recovery proposal: %s",
				   s->blocked_reason ? s->blocked_reason : "");
		}
		break;
	case SESSION_ENDED:
		if (s->outcome && strcmp(s->outcome, "success") == 0)
			buf_puts(&t, "Carry the result forward in a proposal");
		else if (s->outcome && strcmp(s->outcome, "cancelled") == 0)
			buf_puts(&t, "Nothing to do unless the work is still wanted: then resume it");
		else
			buf_puts(&t, "Review the failure, then resume the session or propose a recovery");
		break;
	case SESSION_IDLE:
		buf_printf(&t, "No events for over %lld min: check on the session or end it",
			   p->opt.idle_after_ms / 60000 ? p->opt.idle_after_ms / 60000 : 1);
		break;
	default:
		if (launch_bad)
			buf_printf(&t, "Repair the launch contract of %s (status %s)",
				   s->launch_component ? s->launch_component : "its component",
				   s->launch_status);
		else if (s->tools == 0)
			buf_puts(&t, "Waiting for the first tool call");
		else
			buf_puts(&t, "Working: follow it live");
	}
	jw_str(b, buf_cstr(&t));
	buf_free(&t);
}

static void write_session(struct buf *b, const struct projection *p, const struct session *s)
{
	buf_puts(b, "{\"id\":");
	jw_str(b, s->id);
	buf_puts(b, ",\"project\":");
	jw_str(b, s->project);
	buf_puts(b, ",\"harness\":");
	jw_str(b, s->harness);
	buf_puts(b, ",\"status\":");
	jw_str(b, status_names[s->status]);
	buf_puts(b, ",\"started_at\":");
	jw_int(b, s->started_at);
	buf_puts(b, ",\"last_event_at\":");
	jw_int(b, s->last_event_at);
	buf_puts(b, ",\"ended_at\":");
	jw_int_or_null(b, s->ended_at);
	buf_puts(b, ",\"outcome\":");
	jw_str(b, s->outcome);
	buf_puts(b, ",\"events\":");
	jw_int(b, s->events);
	buf_puts(b, ",\"tools\":");
	jw_int(b, s->tools);
	buf_puts(b, ",\"first_tool_family\":");
	jw_str(b, s->first_tool_family);
	buf_puts(b, ",\"last_tool\":");
	jw_str(b, s->last_tool);
	buf_puts(b, ",\"blocked\":");
	if (s->block >= 0) {
		buf_puts(b, "{\"class\":");
		jw_str(b, block_names[s->block]);
		buf_puts(b, ",\"reason\":");
		jw_str(b, s->blocked_reason);
		buf_putc(b, '}');
	} else {
		buf_puts(b, "null");
	}
	buf_puts(b, ",\"continuity\":{\"resumed_from\":");
	jw_str(b, s->nchain ? s->chain[s->nchain - 1] : NULL);
	buf_puts(b, ",\"chain\":[");
	for (int i = 0; i < s->nchain; i++) {
		if (i)
			buf_putc(b, ',');
		jw_str(b, s->chain[i]);
	}
	buf_puts(b, "],\"resumed_by\":");
	jw_str(b, s->resumed_by);
	buf_puts(b, "},\"lineage\":{\"repository\":");
	jw_str(b, s->repository);
	buf_puts(b, ",\"commit\":");
	jw_str(b, s->commit);
	buf_puts(b, ",\"ticket\":");
	jw_str(b, s->ticket);
	buf_puts(b, ",\"parent_session\":");
	jw_str(b, s->parent_session);
	buf_puts(b, "},\"launch\":{\"component\":");
	jw_str(b, s->launch_component);
	buf_puts(b, ",\"status\":");
	jw_str(b, s->launch_status);
	buf_puts(b, "},\"next_step\":");
	write_next_step(b, p, s);
	buf_putc(b, '}');
}

/* The stage a project stands at, derived from what the projection knows,
 * and what that stage needs next. */
static enum stage project_stage(const struct project *pr, struct buf *needs)
{
	long long blocked = pr->by_status[SESSION_BLOCKED];
	long long active = pr->by_status[SESSION_RUNNING] + pr->by_status[SESSION_IDLE];
	if (blocked > 0) {
		buf_printf(needs, "%lld blocked session%s to clear (", blocked, blocked == 1 ? "" : "s");
		int first = 1;
		for (int i = 0; i < BLOCK_COUNT; i++)
			if (pr->blocked_by[i] > 0) {
				buf_printf(needs, "%s%lld %s", first ? "" : ", ", pr->blocked_by[i],
					   block_names[i]);
				first = 0;
			}
		buf_putc(needs, ')');
		return STAGE_RECOVERY;
	}
	if (pr->proposals[PROP_PROVING] > 0) {
		buf_printf(needs, "%lld proposal%s awaiting proof from the canonical sources",
			   pr->proposals[PROP_PROVING], pr->proposals[PROP_PROVING] == 1 ? "" : "s");
		return STAGE_PROOF;
	}
	if (pr->proposals[PROP_OPEN] > 0) {
		buf_printf(needs, "%lld proposal%s moving through approval and execution",
			   pr->proposals[PROP_OPEN], pr->proposals[PROP_OPEN] == 1 ? "" : "s");
		return STAGE_PROPOSAL;
	}
	if (active > 0) {
		buf_printf(needs, "%lld session%s at work", active, active == 1 ? "" : "s");
		if (pr->by_status[SESSION_IDLE] > 0)
			buf_printf(needs, ", %lld idle to check on", pr->by_status[SESSION_IDLE]);
		return STAGE_WORK;
	}
	if (pr->sessions > 0 && pr->last_outcome && strcmp(pr->last_outcome, "failure") == 0) {
		buf_puts(needs, "the last session failed: resume it or propose a recovery");
		return STAGE_RECOVERY;
	}
	if (pr->sessions > 0) {
		buf_puts(needs, "work has ended: submit a proposal to carry it forward");
		return STAGE_PROPOSAL;
	}
	buf_puts(needs, "launch the first session");
	return STAGE_ONBOARDING;
}

static void write_project(struct buf *b, const struct project *pr)
{
	struct buf needs = BUF_INIT;
	enum stage st = project_stage(pr, &needs);
	buf_puts(b, "{\"name\":");
	jw_str(b, pr->name);
	buf_puts(b, ",\"stage\":");
	jw_str(b, stage_info(st)->slug);
	buf_puts(b, ",\"needs\":");
	jw_str(b, buf_cstr(&needs));
	buf_puts(b, ",\"sessions\":");
	jw_int(b, pr->sessions);
	buf_puts(b, ",\"by_status\":{");
	for (int i = 0; i < SESSION_STATUS_COUNT; i++) {
		if (i)
			buf_putc(b, ',');
		jw_key(b, status_names[i]);
		jw_int(b, pr->by_status[i]);
	}
	buf_puts(b, "},\"blocked_by\":{");
	for (int i = 0; i < BLOCK_COUNT; i++) {
		if (i)
			buf_putc(b, ',');
		jw_key(b, block_names[i]);
		jw_int(b, pr->blocked_by[i]);
	}
	buf_puts(b, "},\"proposals\":{");
	for (int i = 0; i < PROP_COUNT; i++) {
		if (i)
			buf_putc(b, ',');
		jw_key(b, prop_group_names[i]);
		jw_int(b, pr->proposals[i]);
	}
	buf_puts(b, "},\"events\":");
	jw_int(b, pr->events);
	buf_puts(b, ",\"last_event_at\":");
	jw_int_or_null(b, pr->last_event_at);
	buf_putc(b, '}');
	buf_free(&needs);
}

static void write_component(struct buf *b, const struct component *c)
{
	buf_puts(b, "{\"name\":");
	jw_str(b, c->name);
	buf_puts(b, ",\"state\":");
	jw_str(b, c->state);
	buf_puts(b, ",\"latency_ms\":");
	jw_int_or_null(b, c->latency_ms);
	buf_puts(b, ",\"detail\":");
	jw_str(b, c->detail);
	buf_puts(b, ",\"since\":");
	jw_int(b, c->since);
	buf_puts(b, ",\"updated_at\":");
	jw_int(b, c->updated_at);
	buf_puts(b, ",\"changes\":");
	jw_int(b, c->changes);
	buf_putc(b, '}');
}

static void write_ouroboros(struct buf *b, const struct projection *p)
{
	int ok = 0;
	for (int i = 0; i < p->nrecent; i++)
		ok += p->recent[i];
	buf_puts(b, "{\"current\":");
	if (p->cycle_current >= 0) {
		buf_puts(b, "{\"cycle\":");
		jw_int(b, p->cycle_current);
		buf_puts(b, ",\"started_at\":");
		jw_int(b, p->cycle_started_at);
		buf_putc(b, '}');
	} else {
		buf_puts(b, "null");
	}
	buf_puts(b, ",\"last\":");
	if (p->cycle_last >= 0) {
		buf_puts(b, "{\"cycle\":");
		jw_int(b, p->cycle_last);
		buf_puts(b, ",\"outcome\":");
		jw_str(b, p->cycle_last_outcome);
		buf_puts(b, ",\"note\":");
		jw_str(b, p->cycle_last_note);
		buf_puts(b, ",\"at\":");
		jw_int(b, p->cycle_last_at);
		buf_putc(b, '}');
	} else {
		buf_puts(b, "null");
	}
	buf_puts(b, ",\"completed\":");
	jw_int(b, p->cycles_completed);
	buf_puts(b, ",\"failed\":");
	jw_int(b, p->cycles_failed);
	/* Success rate in per mille over the recent window: an integer keeps the
	 * bytes identical everywhere. */
	buf_puts(b, ",\"recent\":");
	jw_int(b, p->nrecent);
	buf_puts(b, ",\"recent_success_permille\":");
	if (p->nrecent)
		jw_int(b, (long long)ok * 1000 / p->nrecent);
	else
		buf_puts(b, "null");
	buf_putc(b, '}');
}

/* In-order tree walks with a context (twalk_r visits each node once as
 * "postorder" or "leaf" in sorted order). */
struct walk {
	struct buf *b;
	const struct projection *p;
	struct projection_index *ix;
	size_t base;
	int n;
	void (*write)(struct walk *w, const void *entity);
};

static void walk_cb(const void *node, VISIT v, void *ctx)
{
	if (v != postorder && v != leaf)
		return;
	struct walk *w = ctx;
	if (w->n++)
		buf_putc(w->b, ',');
	w->write(w, *(void *const *)node);
}

static void w_session(struct walk *w, const void *x)
{
	const struct session *s = x;
	size_t off = w->b->len;
	write_session(w->b, w->p, s);
	if (w->ix) {
		struct projection_index_entry *e = &w->ix->sessions[w->ix->nsessions++];
		e->off = off - w->base;
		e->len = w->b->len - off;
		e->status = s->status;
		e->last_event_at = s->last_event_at;
		char **pn = bsearch(&s->project, w->ix->projects, w->ix->nprojects,
				    sizeof *w->ix->projects, by_key);
		e->project = pn ? *pn : NULL;
	}
}

static void w_project(struct walk *w, const void *x)
{
	write_project(w->b, x);
	if (w->ix)
		w->ix->projects[w->ix->nprojects++] = xstrdup(((const struct project *)x)->name);
}

static void w_component(struct walk *w, const void *x)
{
	write_component(w->b, x);
}

static void w_counter(struct walk *w, const void *x)
{
	const struct counter *c = x;
	jw_key(w->b, c->type);
	jw_int(w->b, c->n);
}

static void walk(struct walk *w, const void *root, void (*fn)(struct walk *, const void *))
{
	w->n = 0;
	w->write = fn;
	twalk_r(root, walk_cb, w);
}

static void write_unrecognised(struct buf *b, const struct projection *p)
{
	struct walk w = {b, p, NULL, 0, 0, NULL};
	buf_puts(b, "{\"total\":");
	jw_int(b, p->unrecognised_total);
	buf_puts(b, ",\"types\":{");
	walk(&w, p->unrecognised, w_counter);
	buf_puts(b, "},\"other_types\":");
	jw_int(b, p->unrecognised_other);
	buf_putc(b, '}');
}

static void write_head(struct buf *b, const struct projection *p)
{
	buf_puts(b, "{\"version\":");
	jw_int(b, p->version);
	buf_puts(b, ",\"clock\":");
	jw_int(b, p->clock);
	buf_puts(b, ",\"events\":");
	jw_int(b, p->events);
	buf_puts(b, ",\"idle_after_ms\":");
	jw_int(b, p->opt.idle_after_ms);
}

void projection_write(const struct projection *p, struct buf *out, struct projection_index *ix)
{
	struct walk w = {out, p, ix, out->len, 0, NULL};
	if (ix) {
		memset(ix, 0, sizeof *ix);
		ix->sessions = xmalloc((p->nsessions + 1) * sizeof *ix->sessions);
		ix->projects = xmalloc((p->nprojects + 1) * sizeof *ix->projects);
	}
	write_head(out, p);
	size_t at;
	buf_puts(out, ",\"projects\":");
	at = out->len;
	buf_putc(out, '[');
	walk(&w, p->projects, w_project);
	buf_putc(out, ']');
	if (ix) {
		ix->projects_json.off = at - w.base;
		ix->projects_json.len = out->len - at;
	}
	buf_puts(out, ",\"sessions\":[");
	walk(&w, p->sessions, w_session);
	buf_puts(out, "],\"ouroboros\":");
	at = out->len;
	write_ouroboros(out, p);
	if (ix) {
		ix->ouroboros_json.off = at - w.base;
		ix->ouroboros_json.len = out->len - at;
	}
	buf_puts(out, ",\"health\":");
	at = out->len;
	buf_putc(out, '[');
	walk(&w, p->components, w_component);
	buf_putc(out, ']');
	if (ix) {
		ix->health_json.off = at - w.base;
		ix->health_json.len = out->len - at;
	}
	buf_puts(out, ",\"unrecognised\":");
	at = out->len;
	write_unrecognised(out, p);
	if (ix) {
		ix->unrecognised_json.off = at - w.base;
		ix->unrecognised_json.len = out->len - at;
	}
	buf_puts(out, "}");
}

void projection_index_free(struct projection_index *ix)
{
	if (!ix)
		return;
	for (size_t i = 0; i < ix->nprojects; i++)
		free(ix->projects[i]);
	free(ix->projects);
	free(ix->sessions);
	memset(ix, 0, sizeof *ix);
}

void projection_forget_changes(struct projection *p)
{
	for (size_t i = 0; i < p->dirty_sessions.n; i++)
		((struct session *)p->dirty_sessions.items[i])->touched = 0;
	for (size_t i = 0; i < p->dirty_projects.n; i++)
		((struct project *)p->dirty_projects.items[i])->touched = 0;
	for (size_t i = 0; i < p->dirty_components.n; i++)
		((struct component *)p->dirty_components.items[i])->touched = 0;
	p->dirty_projects.n = p->dirty_sessions.n = p->dirty_components.n = 0;
	p->ouroboros_touched = p->unrecognised_touched = 0;
}

void projection_write_delta(struct projection *p, struct buf *out)
{
	struct vec *vs[] = {&p->dirty_projects, &p->dirty_sessions, &p->dirty_components};
	for (int i = 0; i < 3; i++)
		if (vs[i]->n)
			qsort(vs[i]->items, vs[i]->n, sizeof *vs[i]->items, by_key_ptr);
	write_head(out, p);
	buf_puts(out, ",\"projects\":[");
	for (size_t i = 0; i < p->dirty_projects.n; i++) {
		struct project *pr = p->dirty_projects.items[i];
		if (i)
			buf_putc(out, ',');
		write_project(out, pr);
		pr->touched = 0;
	}
	buf_puts(out, "],\"sessions\":[");
	for (size_t i = 0; i < p->dirty_sessions.n; i++) {
		struct session *s = p->dirty_sessions.items[i];
		if (i)
			buf_putc(out, ',');
		write_session(out, p, s);
		s->touched = 0;
	}
	buf_puts(out, "]");
	if (p->ouroboros_touched) {
		buf_puts(out, ",\"ouroboros\":");
		write_ouroboros(out, p);
	}
	buf_puts(out, ",\"health\":[");
	for (size_t i = 0; i < p->dirty_components.n; i++) {
		struct component *c = p->dirty_components.items[i];
		if (i)
			buf_putc(out, ',');
		write_component(out, c);
		c->touched = 0;
	}
	buf_puts(out, "]");
	if (p->unrecognised_touched) {
		buf_puts(out, ",\"unrecognised\":");
		write_unrecognised(out, p);
	}
	buf_puts(out, "}");
	p->dirty_projects.n = p->dirty_sessions.n = p->dirty_components.n = 0;
	p->ouroboros_touched = p->unrecognised_touched = 0;
}
