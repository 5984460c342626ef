/* catalogue (config): how the catalogue sections of portal.yaml are read.
 * Each entry's keys are a field table (struct cfield); one reader walks any
 * entry by its table, so components, projects, proposal kinds, their fields
 * and the vault share the key lookup, the duplicate and unknown-key messages
 * and the value checks. The rules between entries are core/contract's
 * catalogue_check; this only reads and locates. */
#ifndef PORTAL_CONFIG_CATALOGUE_H
#define PORTAL_CONFIG_CATALOGUE_H

#include "config/cursor.h"
#include "core/contract.h"

/* One field of a catalogue entry (a component, a project, a proposal kind or
 * one of its fields, the vault). Keys with a dot live in a nested mapping
 * ("health.path"); CF_GROUP is that mapping's own key. */
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

/* An entry's fields, for looking its keys up: the table, and the entry as
 * "unknown key; <noun> has …" names it. */
struct entry_fields {
	const struct cfield *table;
	int n;
	const char *noun;
	/* what a group's value must be, for the message when it is not:
	 * "a mapping (executor, …)"; NULL when the table has no group */
	const char *group_shape;
	/* reads the value of field fi when it is a sequence (CF_NAMES,
	 * CF_SECRETS, CF_STRINGS, CF_FIELDS) into the entry at base; arg is
	 * config_read_entry's; NULL when the table has none */
	int (*list)(struct parser *p, int fi, void *base, void *arg, const char *prefix,
		    const char *key);
};

/* Where an entry's keys and values were written, and which values were
 * refused, indexed like its field table. key may be NULL: val then marks
 * each key until its value is read, and a group by its key. */
struct entry_marks {
	struct mark *key, *val;
	unsigned char *bad;
};

/* A catalogue section written as a sequence of mappings, one per entry
 * (components:, projects:): the words its messages use, and its limit. */
struct entry_list {
	const char *section; /* "components" */
	const char *noun;    /* "component" */
	const char *holds;   /* "name, ownership, …": what an entry's mapping has */
	size_t max;          /* entries one file may declare */
};

/* A walk over such a section, entry by entry. */
struct entry_walk {
	const struct entry_list *list;
	size_t taken;   /* entries handed out so far */
	size_t n;       /* the current entry's index in the file */
	char key[64];   /* "components[2]": the current entry, for messages */
	yaml_mark_t at; /* where it starts */
	int over;       /* "too many" was said */
};

/* Frees the marks a parse left in m and empties it. */
void config_provenance_free(struct provenance *m);
/* The index of key in table[0..n), or -1. */
int config_field_find(const struct cfield *table, int n, const char *key);
/* arr grown (doubled, zeroed) so index n fits; aborts when out of memory. */
void *config_grow(void *arr, size_t n, size_t *cap, size_t size);

/* Checks the current event, the value of field f, and stores it into the
 * entry at base; `expected` ("a string") is what a value that is not a
 * scalar is told it should be. A value refused is reported where it is
 * written, under `key`, and sets *bad. Returns 0, or -1 when the YAML broke. */
int config_field_value(struct parser *p, const struct cfield *f, void *base, const char *key,
		       const char *expected, unsigned char *bad);
/* The one reader of a catalogue entry: the keys of its mapping (or of its
 * nested `group`; "" = the entry's own) looked up in ef's table, each value
 * checked and stored into the entry at base, groups read in turn, sequences
 * handed to ef->list with arg. Unknown and repeated keys and refused values
 * are reported where they are written, under "<prefix>.<key>", and marked in
 * m. The current event is the MAPPING-START. Returns 0, or -1 when the YAML
 * broke. */
int config_read_entry(struct parser *p, const struct entry_fields *ef, void *base,
		      const struct entry_marks *m, void *arg, const char *prefix,
		      const char *group);
/* Whether entry n of `section` is past its limit; the first such entry is
 * reported (at m, under key) and *over set, so the rest pass silently. */
int config_too_many(struct parser *p, const char *section, size_t n, size_t max,
		    yaml_mark_t m, const char *key, int *over);
/* A walk over a sequence of entries: begin (1 to go on, 0 nothing to walk,
 * -1 broken), then next (1 at an entry's MAPPING-START, 0 at the end). */
int config_entries_begin(struct parser *p, const struct entry_list *list, struct entry_walk *w);
int config_entries_next(struct parser *p, struct entry_walk *w);

/* The catalogue sections; the current event is the section's first. Each
 * returns 0, or -1 when the YAML broke. */
int config_read_components(struct parser *p);
int config_read_projects(struct parser *p);
int config_read_secrets(struct parser *p);
int config_read_vault(struct parser *p);
int config_read_proposals(struct parser *p);

/* Runs catalogue_check and adds each problem as an error located by marks
 * (mk may be empty: then without a position). */
void config_check_catalogue(const struct catalogue *cat, const char *file,
			    const struct provenance *mk, struct config_errors *errs);
/* For a problem of a proposal kind (field "proposals[N]…"): where to report
 * it (at) and under which key (the kind's index in this file). Returns 0, or
 * -1 when it was already reported where it was written. */
int config_kind_problem(const struct provenance *mk, const char *field, struct mark *at,
			char *key, size_t keysz);

#endif
