/* proposals: the reader of the proposals: section, the kinds of proposal
 * and how each is executed, with their fields, by the field tables of
 * catalogue.h. What a kind may do at run time is core/proposal's and the
 * executors'; this file only reads and locates. */
#include "config/catalogue.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "core/role.h"

/* Kinds are the approved backend contracts: a handful; the bound stops a runaway file. */
#define CONFIG_MAX_KINDS 256

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

static const struct entry_list kind_entries = {"proposals", "proposal kind",
					     "name, fields, execute, …", CONFIG_MAX_KINDS};
static const struct entry_list field_entries = {"fields", "field", "name, type, …",
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
		config_err_add(p->errs, p->name, line_of(sm), col_of(sm), key,
			       "expected a sequence of strings (e.g. %s), got %s", example,
			       cursor_is_null(&p->ev) ? "nothing" : cursor_found(&p->ev, what));
		*list_bad = 1;
		return cursor_skip(p);
	}
	struct cfield f = {"", CF_TEXT, 0, stride, 0, 0};
	int over = 0;
	for (;;) {
		if (cursor_next(p) < 0)
			return -1;
		if (p->ev.type == YAML_SEQUENCE_END_EVENT)
			return 0;
		yaml_mark_t im = p->ev.start_mark;
		char ikey[160];
		snprintf(ikey, sizeof ikey, "%s[%zu]", key, *n);
		if (*n >= max) {
			if (!over)
				config_err_add(p->errs, p->name, line_of(im), col_of(im), ikey,
					       "too many items: at most %zu", max);
			over = 1;
			*list_bad = 1;
			if (cursor_skip(p) < 0)
				return -1;
			continue;
		}
		size_t k = (*n)++;
		marks[k].line = line_of(im);
		marks[k].col = col_of(im);
		if (p->ev.type == YAML_MAPPING_START_EVENT) {
			/* "{project}" unquoted is YAML for a mapping */
			config_err_add(p->errs, p->name, line_of(im), col_of(im), ikey,
				       "expected a string, got a mapping (quote an element that holds a "
				       "placeholder: \"{name}\")");
			bad[k] = 1;
			if (cursor_skip(p) < 0)
				return -1;
			continue;
		}
		if (config_field_value(p, &f, base + k * stride, ikey, "a string", &bad[k]) < 0)
			return -1;
	}
}

/* A field's one list, values:. */
static int field_list_values(struct parser *p, int fi, void *base, void *arg, const char *prefix,
			     const char *key)
{
	struct proposal_field *fd = base;
	struct field_marks *fm = arg;
	return parse_strings(p, key, fd->values[0], sizeof fd->values[0], PROPOSAL_MAX_VALUES,
			     &fd->nvalues, fm->item, fm->item_bad, &fm->bad[fi], "[deploy, ci]");
}

static const struct entry_fields field_fields = {ffields, NFFIELDS, "a field", NULL,
					       field_list_values};

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
	int more = config_entries_begin(p, &field_entries, &w);
	if (more <= 0) {
		km->bad[KF_FIELDS] = 1;
		return more;
	}
	while ((more = config_entries_next(p, &w)) > 0) {
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
		struct entry_marks m = {fm->key, fm->val, fm->bad};
		if (config_read_entry(p, &field_fields, fd, &m, fm, fkey, "") < 0)
			return -1;
		const char *need = !fm->key[FF_NAME].line   ? "name"
				   : !fm->key[FF_TYPE].line ? "type"
							    : NULL;
		if (need) {
			char kk[160];
			snprintf(kk, sizeof kk, "%s.%s", fkey, need);
			config_err_add(p->errs, p->name, fm->entry.line, fm->entry.col, kk,
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
			config_err_add(p->errs, p->name, fm->key[fi].line, fm->key[fi].col, kk,
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

/* A kind's lists: fields: and execute.argv. */
static int kind_list_values(struct parser *p, int fi, void *base, void *arg, const char *prefix,
			    const char *key)
{
	struct proposal_kind *k = base;
	struct kind_marks *km = arg;
	if (kfields[fi].type == CF_FIELDS)
		return parse_kfields(p, k, km, prefix);
	return parse_strings(p, key, k->argv[0], sizeof k->argv[0], PROPOSAL_MAX_ARGV, &k->nargv,
			     km->argv, km->argv_bad, &km->bad[fi],
			     "[\"/bin/echo\", \"{project}\"]");
}

static const struct entry_fields kind_fields = {kfields, NKFIELDS, "a proposal kind",
					      "a mapping (executor, …)", kind_list_values};

/* proposals: a sequence of kind mappings; the current event is its first. */
int config_read_proposals(struct parser *p)
{
	struct catalogue *cat = &p->c->catalogue;
	struct provenance *mk = p->marks;
	struct entry_walk w;
	int more = config_entries_begin(p, &kind_entries, &w);
	if (more <= 0)
		return more;
	size_t cap = cat->nkinds, mcap = 0;
	mk->kind_base = cat->nkinds;
	while ((more = config_entries_next(p, &w)) > 0) {
		cat->kinds = config_grow(cat->kinds, cat->nkinds, &cap, sizeof *cat->kinds);
		mk->kinds = config_grow(mk->kinds, w.n, &mcap, sizeof *mk->kinds);
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
		struct entry_marks m = {km->key, km->val, km->bad};
		if (config_read_entry(p, &kind_fields, k, &m, km, w.key, "") < 0)
			return -1;
		char kk[96], names[128];
		executor_kind_list(0, " or ", names, sizeof names);
		if (!km->key[KF_NAME].line) {
			snprintf(kk, sizeof kk, "%s.name", w.key);
			config_err_add(p->errs, p->name, km->entry.line, km->entry.col, kk,
				       "every proposal kind needs a name");
		}
		if (!km->key[KF_EXECUTE].line) {
			snprintf(kk, sizeof kk, "%s.execute", w.key);
			config_err_add(p->errs, p->name, km->entry.line, km->entry.col, kk,
				       "every proposal kind needs execute: with executor %s", names);
		} else if (!km->bad[KF_EXECUTE] && !km->key[KF_EXECUTOR].line) {
			snprintf(kk, sizeof kk, "%s.execute.executor", w.key);
			config_err_add(p->errs, p->name, km->val[KF_EXECUTE].line,
				       km->val[KF_EXECUTE].col, kk, "execute needs an executor: %s", names);
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
		int k = config_field_find(ffields, NFFIELDS, name);
		if (k >= 0 && fm->bad[k])
			return -1;
		if (k >= 0 && fm->val[k].line)
			*at = fm->val[k];
		return 0;
	}
	sscanf(rest, ".%63[a-z_.]", name);
	int has_item = sscanf(rest + 1 + strlen(name), "[%zu]", &item) == 1;
	int k = config_field_find(kfields, NKFIELDS, name);
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

int config_kind_problem(const struct provenance *mk, const char *field, struct mark *at,
			char *key, size_t keysz)
{
	size_t ki = 0;
	int used = 0;
	if (sscanf(field, "proposals[%zu]%n", &ki, &used) != 1)
		return -1;
	const char *rest = field + used; /* ".execute.argv[0]" */
	const struct kind_marks *km = NULL;
	if (ki >= mk->kind_base && ki - mk->kind_base < mk->nkinds)
		km = &mk->kinds[ki - mk->kind_base];
	if (km && kind_problem_at(km, rest, at) < 0)
		return -1;
	snprintf(key, keysz, "proposals[%zu]%s", km ? ki - mk->kind_base : ki, rest);
	return 0;
}
