/* catalogue: the readers of the components:, projects:, secrets: and vault:
 * sections, driven by the field tables, the checks of one field's value, and
 * the placing of catalogue_check's problems where they were written. The
 * rules that span entries are core/contract's; proposal kinds are read in
 * proposals.c. */
#include "config/catalogue.h"

#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/role.h"

/* Projects are few (one per product line); the bound only stops a runaway file. */
#define CONFIG_MAX_PROJECTS 1024

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

void config_provenance_free(struct provenance *m)
{
	free(m->comps);
	free(m->projs);
	free(m->kinds);
	free(m->secrets);
	memset(m, 0, sizeof *m);
}

int config_field_find(const struct cfield *table, int n, const char *key)
{
	for (int i = 0; i < n; i++)
		if (strcmp(table[i].key, key) == 0)
			return i;
	return -1;
}

static int cfield_find(const char *key)
{
	return config_field_find(cfields, NCFIELDS, key);
}

void *config_grow(void *arr, size_t n, size_t *cap, size_t size)
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
 * -1 with a message (never quoting more than config_shown() allows). */
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
					     "letters, digits or '_', got '%s'", config_shown(text, b));
			return -1;
		}
		break;
	case CF_ROLE: {
		int r = role_parse(text);
		if (r < 0) {
			snprintf(msg, msgsz, "must be one of viewer, operator, approver, admin, "
					     "got '%s'", config_shown(text, b));
			return -1;
		}
		memcpy(field, &r, sizeof r);
		return 0;
	}
	case CF_BOOL: {
		int on = strcmp(text, "true") == 0;
		if (quoted || (!on && strcmp(text, "false") != 0)) {
			snprintf(msg, msgsz, "must be true or false (unquoted), got '%s'",
				 config_shown(text, b));
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
			 config_shown(text, b));
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
			 executor_kind_list(0, ", ", names, sizeof names), config_shown(text, b));
		return -1;
	}
	case CF_LLONG: {
		long v = 0;
		if (config_int_value(text, quoted, f->min, f->max, &v, msg, msgsz) < 0)
			return -1;
		long long lv = v;
		memcpy(field, &lv, sizeof lv);
		return 0;
	}
	case CF_NAME:
		if (!contract_name_valid(text)) {
			snprintf(msg, msgsz, "must be 1 to 63 lower-case letters, digits or '-', "
					     "got '%s'", config_shown(text, b));
			return -1;
		}
		break;
	case CF_SECRET:
		if (!secret_name_valid(text)) {
			snprintf(msg, msgsz, "must name a secrets: entry (1 to 63 lower-case "
					     "letters, digits, '_' or '-'), got '%s'", config_shown(text, b));
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
			snprintf(msg, msgsz, "must be one of owned, endpoint, got '%s'", config_shown(text, b));
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
				 config_shown(text, b));
			return -1;
		}
		memcpy(field, &a, sizeof a);
		return 0;
	}
	case CF_INT: {
		long v = 0;
		if (config_int_value(text, quoted, f->min, f->max, &v, msg, msgsz) < 0)
			return -1;
		int iv = (int)v;
		memcpy(field, &iv, sizeof iv);
		return 0;
	}
	case CF_HPATH:
		if (text[0] != '/' || !one_line(text) || strchr(text, ' ')) {
			snprintf(msg, msgsz, "must be a path starting with '/', got '%s'",
				 config_shown(text, b));
			return -1;
		}
		break;
	case CF_DOTPATH:
		if (!dotpath_valid(text)) {
			snprintf(msg, msgsz, "must be a dotted path of JSON keys, e.g. value.ready, "
					     "got '%s'", config_shown(text, b));
			return -1;
		}
		break;
	case CF_JSON: {
		json_t *j = json_loads(text, JSON_DECODE_ANY, NULL);
		if (!j) {
			snprintf(msg, msgsz, "must be JSON text, e.g. true, 200 or '\"UP\"', got '%s'",
				 config_shown(text, b));
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
		if (config_close_enough(name, sn) && config_distance(name, sn) < best_d)
			best = sn, best_d = config_distance(name, sn);
	}
	if (best)
		snprintf(msg, msgsz, "unknown key; did you mean '%s'?", best);
	else if (gl)
		snprintf(msg, msgsz, "unknown key; '%s' has %s", group, buf_cstr(&all));
	else
		snprintf(msg, msgsz, "unknown key; %s has %s", noun, buf_cstr(&all));
	buf_free(&all);
}

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
	int fi = config_field_find(ef->table, ef->n, full);
	if (fi < 0) {
		unknown_field_msg(ef->table, ef->n, ef->noun, group, name, msg, sizeof msg);
		config_err_add(p->errs, p->name, line_of(km), col_of(km), key, "%s", msg);
		return -1;
	}
	if (seen[fi].line) {
		config_err_add(p->errs, p->name, line_of(km), col_of(km), key,
			       "duplicate key, first set at line %d", seen[fi].line);
		return -1;
	}
	return fi;
}

/* Checks the current event, the value of field f, and stores it into the
 * entry at base; `expected` ("a string") is what a value that is not a
 * scalar is told it should be. A value refused is reported where it is
 * written, under `key`, and sets *bad. Returns 0, or -1 when the YAML broke. */
int config_field_value(struct parser *p, const struct cfield *f, void *base, const char *key,
		       const char *expected, unsigned char *bad)
{
	yaml_mark_t vm = p->ev.start_mark;
	char msg[256];
	int rc;
	const char *v = cursor_scalar(p, key, expected, &rc);
	if (!v) {
		*bad = 1;
		return rc;
	}
	int quoted = p->ev.data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
	if (cfield_apply(f, base, v, quoted, msg, sizeof msg) < 0) {
		config_err_add(p->errs, p->name, line_of(vm), col_of(vm), key, "%s", msg);
		*bad = 1;
	}
	return 0;
}

/* Whether entry n of `section` is past its limit; the first such entry is
 * reported (at m, under key) and *over set, so the rest pass silently. */
int config_too_many(struct parser *p, const char *section, size_t n, size_t max,
		    yaml_mark_t m, const char *key, int *over)
{
	if (n < max)
		return 0;
	if (!*over)
		config_err_add(p->errs, p->name, line_of(m), col_of(m), key, "too many %s: at most %zu",
			       section, max);
	*over = 1;
	return 1;
}

static const struct entry_list component_entries = {"components", "component",
						  "name, ownership, …", CONFIG_MAX_COMPONENTS};
static const struct entry_list project_entries = {"projects", "project", "name, components, …",
						CONFIG_MAX_PROJECTS};

/* Starts a walk over list's section; the current event is its first. A
 * section that is not a sequence is reported and consumed. Returns 1 when
 * the walk may go on (config_entries_next), 0 when there is nothing to walk, -1
 * when the YAML broke. */
int config_entries_begin(struct parser *p, const struct entry_list *list, struct entry_walk *w)
{
	memset(w, 0, sizeof *w);
	w->list = list;
	if (p->ev.type == YAML_SEQUENCE_START_EVENT)
		return 1;
	yaml_mark_t sm = p->ev.start_mark;
	char what[64];
	config_err_add(p->errs, p->name, line_of(sm), col_of(sm), list->section,
		       "expected a sequence of %s (- name: …), got %s", list->section,
		       cursor_found(&p->ev, what));
	return cursor_skip(p) < 0 ? -1 : 0;
}

/* Steps to the next entry. Entries past the limit and entries that are not
 * mappings are reported and skipped. Returns 1 at an entry's MAPPING-START
 * (w->n, w->key and w->at say which), 0 at the section's end, -1 when the
 * YAML broke. */
int config_entries_next(struct parser *p, struct entry_walk *w)
{
	const struct entry_list *l = w->list;
	for (;;) {
		if (cursor_next(p) < 0)
			return -1;
		if (p->ev.type == YAML_SEQUENCE_END_EVENT)
			return 0;
		w->at = p->ev.start_mark;
		snprintf(w->key, sizeof w->key, "%s[%zu]", l->section, w->taken);
		snprintf(p->last_key, sizeof p->last_key, "%s", w->key);
		if (config_too_many(p, l->section, w->taken, l->max, w->at, w->key, &w->over)) {
			if (cursor_skip(p) < 0)
				return -1;
			continue;
		}
		if (p->ev.type != YAML_MAPPING_START_EVENT) {
			char what[64];
			config_err_add(p->errs, p->name, line_of(w->at), col_of(w->at), w->key,
				       "expected a %s (a mapping with %s), got %s", l->noun, l->holds,
				       cursor_found(&p->ev, what));
			if (cursor_skip(p) < 0)
				return -1;
			continue;
		}
		w->n = w->taken++;
		return 1;
	}
}

/* What a value of a field of type t is, for the message when it is not one. */
static const char *expected_value(enum cfield_type t)
{
	switch (t) {
	case CF_INT:
	case CF_LLONG:
		return "an integer";
	case CF_BOOL:
		return "true or false";
	default:
		return "a string";
	}
}

int config_read_entry(struct parser *p, const struct entry_fields *ef, void *base,
		      const struct entry_marks *m, void *arg, const char *prefix,
		      const char *group)
{
	char owner[192];
	snprintf(owner, sizeof owner, "%s%s%s", prefix, group[0] ? "." : "", group);
	int more;
	while ((more = cursor_next_key(p, owner, "a key")) > 0) {
		yaml_mark_t km = p->ev.start_mark;
		char key[256], full[96];
		const char *name = (const char *)p->ev.data.scalar.value;
		snprintf(full, sizeof full, "%s%s%.64s", group, group[0] ? "." : "", name);
		snprintf(key, sizeof key, "%s.%s", prefix, full);
		snprintf(p->last_key, sizeof p->last_key, "%s", key);
		struct mark *keys = m->key ? m->key : m->val;
		int fi = field_key(p, ef, group, name, keys, key);
		if (fi >= 0) {
			keys[fi].line = line_of(km);
			keys[fi].col = col_of(km);
		}
		if (cursor_next(p) < 0)
			return -1;
		if (fi < 0) {
			if (cursor_skip(p) < 0)
				return -1;
			continue;
		}
		const struct cfield *f = &ef->table[fi];
		yaml_mark_t vm = p->ev.start_mark;
		/* Point at the value from now on: that is what a problem is about. */
		if (m->key || f->type != CF_GROUP) {
			m->val[fi].line = line_of(vm);
			m->val[fi].col = col_of(vm);
		}
		int rc;
		switch (f->type) {
		case CF_GROUP:
			if (p->ev.type != YAML_MAPPING_START_EVENT) {
				char what[64];
				config_err_add(p->errs, p->name, line_of(vm), col_of(vm), key,
					       "expected %s, got %s", ef->group_shape,
					       cursor_found(&p->ev, what));
				m->bad[fi] = 1;
				rc = cursor_skip(p);
			} else {
				rc = config_read_entry(p, ef, base, m, arg, prefix, f->key);
			}
			break;
		case CF_NAMES:
		case CF_SECRETS:
		case CF_STRINGS:
		case CF_FIELDS:
			rc = ef->list(p, fi, base, arg, prefix, key);
			break;
		default:
			rc = config_field_value(p, f, base, key, expected_value(f->type), &m->bad[fi]);
			break;
		}
		if (rc < 0)
			return -1;
	}
	return more;
}

static const struct entry_fields component_fields = {cfields, NCFIELDS, "a component",
						   "a mapping", NULL};

/* components: a sequence of mappings; the current event is its first. */
int config_read_components(struct parser *p)
{
	struct catalogue *cat = &p->c->catalogue;
	struct provenance *mk = p->marks;
	struct entry_walk w;
	int more = config_entries_begin(p, &component_entries, &w);
	if (more <= 0)
		return more;
	size_t cap = cat->ncomponents, mcap = 0;
	mk->comp_base = cat->ncomponents;
	while ((more = config_entries_next(p, &w)) > 0) {
		cat->components = config_grow(cat->components, cat->ncomponents, &cap,
					      sizeof *cat->components);
		mk->comps = config_grow(mk->comps, w.n, &mcap, sizeof *mk->comps);
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
		struct entry_marks m = {NULL, cm->field, cm->bad};
		if (config_read_entry(p, &component_fields, comp, &m, NULL, w.key, "") < 0)
			return -1;
		int fname = cfield_find("name"), fown = cfield_find("ownership");
		if (!cm->field[fname].line) {
			char k[96];
			snprintf(k, sizeof k, "%s.name", w.key);
			config_err_add(p->errs, p->name, cm->entry.line, cm->entry.col, k,
				       "every component needs a name");
		}
		if (!cm->field[fown].line) {
			char k[96];
			snprintf(k, sizeof k, "%s.ownership", w.key);
			config_err_add(p->errs, p->name, cm->entry.line, cm->entry.col, k,
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
		config_err_add(p->errs, p->name, line_of(sm), col_of(sm), key,
			       "expected a sequence of %s names (e.g. %s), got %s", what,
			       which ? "[atlas_deploy_key]" : "[daytona, temporal]",
			       cursor_is_null(&p->ev) ? "nothing" : cursor_found(&p->ev, what_found));
		pm->bad[which ? PF_SECRETS : PF_COMPONENTS] = 1;
		return cursor_skip(p);
	}
	struct cfield f = {"", which ? CF_SECRET : CF_NAME, 0, CONTRACT_NAME_MAX, 0, 0};
	int over = 0;
	for (;;) {
		if (cursor_next(p) < 0)
			return -1;
		if (p->ev.type == YAML_SEQUENCE_END_EVENT)
			return 0;
		yaml_mark_t im = p->ev.start_mark;
		char ikey[160];
		snprintf(ikey, sizeof ikey, "%s[%zu]", key, *n);
		if (*n >= PROJECT_MAX_NEEDS) {
			if (!over)
				config_err_add(p->errs, p->name, line_of(im), col_of(im), ikey,
					       "too many %ss: a project lists at most %d", what,
					       PROJECT_MAX_NEEDS);
			over = 1;
			if (cursor_skip(p) < 0)
				return -1;
			continue;
		}
		size_t k = (*n)++;
		pm->item[which][k].line = line_of(im);
		pm->item[which][k].col = col_of(im);
		if (config_field_value(p, &f, names[k], ikey, which ? "a secret name" : "a component name",
				       &pm->item_bad[which][k]) < 0)
			return -1;
	}
}

/* A project's lists, components: and secrets:. */
static int project_list(struct parser *p, int fi, void *base, void *arg, const char *prefix,
			const char *key)
{
	struct project_contract *proj = base;
	int which = pfields[fi].type == CF_SECRETS;
	return parse_plist(p, key, which, which ? proj->secrets : proj->components,
			   which ? &proj->nsecrets : &proj->ncomponents, arg);
}

static const struct entry_fields project_fields = {pfields, NPFIELDS, "a project", NULL,
						 project_list};

/* projects: a sequence of mappings; the current event is its first. */
int config_read_projects(struct parser *p)
{
	struct catalogue *cat = &p->c->catalogue;
	struct provenance *mk = p->marks;
	struct entry_walk w;
	int more = config_entries_begin(p, &project_entries, &w);
	if (more <= 0)
		return more;
	size_t cap = cat->nprojects, mcap = 0;
	mk->proj_base = cat->nprojects;
	while ((more = config_entries_next(p, &w)) > 0) {
		cat->projects = config_grow(cat->projects, cat->nprojects, &cap, sizeof *cat->projects);
		mk->projs = config_grow(mk->projs, w.n, &mcap, sizeof *mk->projs);
		size_t idx = cat->nprojects++;
		mk->nprojs = w.n + 1;
		struct project_contract *proj = &cat->projects[idx];
		struct proj_marks *pm = &mk->projs[w.n];
		memset(proj, 0, sizeof *proj);
		memset(pm, 0, sizeof *pm);
		pm->entry.line = line_of(w.at);
		pm->entry.col = col_of(w.at);
		struct entry_marks m = {pm->key, pm->field, pm->bad};
		if (config_read_entry(p, &project_fields, proj, &m, pm, w.key, "") < 0)
			return -1;
		if (!pm->key[PF_NAME].line) {
			char k[96];
			snprintf(k, sizeof k, "%s.name", w.key);
			config_err_add(p->errs, p->name, pm->entry.line, pm->entry.col, k,
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
int config_read_secrets(struct parser *p)
{
	struct catalogue *cat = &p->c->catalogue;
	struct provenance *mk = p->marks;
	yaml_mark_t sm = p->ev.start_mark;
	if (p->ev.type != YAML_MAPPING_START_EVENT) {
		config_err_add(p->errs, p->name, line_of(sm), col_of(sm), "secrets",
			       "expected a mapping of secret names to env:VAR, file:/path or "
			       "vault:mount/path#key, got %s", cursor_kind(&p->ev));
		return cursor_skip(p);
	}
	size_t cap = cat->nsecrets, mcap = 0;
	mk->secret_base = cat->nsecrets;
	int over = 0, more;
	while ((more = cursor_next_key(p, "secrets", "a secret name")) > 0) {
		yaml_mark_t km = p->ev.start_mark;
		char key[128], b[48];
		/* Copied: the event goes at the next one. */
		char name[CONTRACT_NAME_MAX];
		const char *given = (const char *)p->ev.data.scalar.value;
		int too_long = strlen(given) >= sizeof name;
		snprintf(name, sizeof name, "%s", given);
		snprintf(key, sizeof key, "secrets.%s", config_shown(name, b));
		snprintf(p->last_key, sizeof p->last_key, "%s", key);
		size_t n = cat->nsecrets - mk->secret_base;
		int skip = config_too_many(p, "secrets", n, CONFIG_MAX_SECRETS, km, key, &over);
		for (size_t i = 0; i < n && !skip; i++) {
			if (strcmp(cat->secrets[mk->secret_base + i].name, name) == 0) {
				config_err_add(p->errs, p->name, line_of(km), col_of(km), key,
					       "duplicate key, first set at line %d", mk->secrets[i].key.line);
				skip = 1;
			}
		}
		if (cursor_next(p) < 0)
			return -1;
		if (skip) {
			if (cursor_skip(p) < 0)
				return -1;
			continue;
		}
		cat->secrets = config_grow(cat->secrets, cat->nsecrets, &cap, sizeof *cat->secrets);
		mk->secrets = config_grow(mk->secrets, n, &mcap, sizeof *mk->secrets);
		struct secret_contract *s = &cat->secrets[cat->nsecrets++];
		struct secret_marks *smk = &mk->secrets[n];
		mk->nsecrets = n + 1;
		memset(s, 0, sizeof *s);
		smk->key.line = line_of(km);
		smk->key.col = col_of(km);
		snprintf(s->name, sizeof s->name, "%s", name);
		if (too_long || !secret_name_valid(name)) {
			config_err_add(p->errs, p->name, line_of(km), col_of(km), key,
				       "a secret name is 1 to 63 lower-case letters, digits, '_' or '-'");
			smk->bad = 1;
		}
		yaml_mark_t vm = p->ev.start_mark;
		if (p->ev.type != YAML_SCALAR_EVENT) {
			config_err_add(p->errs, p->name, line_of(vm), col_of(vm), key,
				       "expected env:VAR, file:/path or vault:mount/path#key, got %s",
				       cursor_kind(&p->ev));
			smk->bad = 1;
			if (cursor_skip(p) < 0)
				return -1;
			continue;
		}
		const char *v = (const char *)p->ev.data.scalar.value;
		struct perr e = {0};
		if (cursor_is_null(&p->ev)) {
			config_err_add(p->errs, p->name, line_of(vm), col_of(vm), key,
				       "expected env:VAR, file:/path or vault:mount/path#key, got nothing");
			smk->bad = 1;
		} else if (strlen(v) != p->ev.data.scalar.length) {
			config_err_add(p->errs, p->name, line_of(vm), col_of(vm), key,
				       "must not contain a NUL character");
			smk->bad = 1;
		} else if (secret_ref_parse(v, s, &e) < 0) {
			config_err_add(p->errs, p->name, line_of(vm), col_of(vm), key, "%s", e.msg);
			smk->bad = 1;
		}
	}
	return more;
}

static const struct entry_fields vault_fields = {vfields, NVFIELDS, "'vault'", NULL, NULL};

/* vault: {addr, token}; the current event is its first. */
int config_read_vault(struct parser *p)
{
	struct vault_contract *v = &p->c->catalogue.vault;
	struct provenance *mk = p->marks;
	yaml_mark_t sm = p->ev.start_mark;
	mk->vault.line = line_of(sm);
	mk->vault.col = col_of(sm);
	if (p->ev.type != YAML_MAPPING_START_EVENT) {
		char what[64];
		config_err_add(p->errs, p->name, line_of(sm), col_of(sm), "vault",
			       "expected a mapping with addr and token, got %s", cursor_found(&p->ev, what));
		return cursor_skip(p);
	}
	/* vault_field[] marks the value, so that is what a duplicate names. */
	struct entry_marks m = {NULL, mk->vault_field, mk->vault_bad};
	return config_read_entry(p, &vault_fields, v, &m, NULL, "vault", "");
}

/* Runs catalogue_check and adds each problem as an error located by marks
 * (mk may be empty: then without a position). */
void config_check_catalogue(const struct catalogue *cat, const char *file,
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
			int fi = config_field_find(pfields, NPFIELDS, fname);
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
			if (config_kind_problem(mk, pr->field, &at, key, sizeof key) < 0)
				continue; /* already reported where it was written */
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
		config_err_add(errs, file, at.line, at.line ? at.col : 0, key, "%s", pr->msg);
	}
	free(ps);
}

