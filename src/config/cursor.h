/* cursor: the YAML event walk the config readers share (config.c for the
 * settings, catalogue.c and proposals.c for the catalogue), the reader's
 * state with where each thing was written (provenance), and the located
 * error list every reader adds to. Not a YAML library: only the shapes a
 * portal.yaml has. */
#ifndef PORTAL_CONFIG_CURSOR_H
#define PORTAL_CONFIG_CURSOR_H

#include <yaml.h>

#include "config/config.h"
#include "config/settings.h"

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
	struct origin setting[SETTINGS_COUNT];
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
	int seen_line[SETTINGS_COUNT]; /* where each was set */
	int section_line[CONFIG_NSECTIONS];
};

static inline int line_of(yaml_mark_t m)
{
	return (int)m.line + 1;
}

static inline int col_of(yaml_mark_t m)
{
	return (int)m.column + 1;
}

/* Adds one located error to errs (counted, not stored, past the limit). */
void config_err_add(struct config_errors *errs, const char *file, int line, int column,
		    const char *key, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* A value quoted for a message: at most 40 bytes, control bytes as '?', so a
 * hostile or binary value cannot flood or garble a terminal. */
const char *config_shown(const char *v, char out[48]);

/* Advances to the next event. Returns 0, or -1 after reporting a syntax error
 * (libyaml cannot resume after one). */
int cursor_next(struct parser *p);
/* Consumes the rest of the node whose first event is current. */
int cursor_skip(struct parser *p);
/* Whether ev is a plain empty, "~" or "null" scalar. */
int cursor_is_null(const yaml_event_t *ev);
/* "a mapping", "a sequence", … for messages about the wrong kind of node. */
const char *cursor_kind(const yaml_event_t *ev);
/* "'text'" for a scalar, else cursor_kind(): what was found instead. */
const char *cursor_found(const yaml_event_t *ev, char out[64]);
/* The current event as a string scalar for key; NULL after reporting why it
 * is not one (the node is consumed; *rc = -1 when the YAML broke). */
const char *cursor_scalar(struct parser *p, const char *key, const char *expected, int *rc);
/* Steps to the next key of a mapping. A key that is not a scalar is reported
 * under `owner` ("expected <what>, got …") and skipped with its value.
 * Returns 1 at a scalar key, 0 at the mapping's end, -1 when the YAML broke. */
int cursor_next_key(struct parser *p, const char *owner, const char *what);

#endif
