/* cursor: a walk over libyaml's events for the config readers, with the
 * shapes they all need (the next key of a mapping, a scalar, a node skipped),
 * and the located error list every reader adds to. It knows no section,
 * setting or catalogue entry: those readers are settings.c, config.c,
 * catalogue.c and proposals.c. */
#include "config/cursor.h"

#include <ctype.h>
#include <stdarg.h>
#include <string.h>

void config_err_add(struct config_errors *errs, const char *file, int line, int column,
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

/* A value quoted for a message: at most 40 bytes, control bytes as '?', so a
 * hostile or binary value cannot flood or garble a terminal. */
const char *config_shown(const char *v, char out[48])
{
	size_t i = 0;
	for (; v[i] && i < 40; i++)
		out[i] = iscntrl((unsigned char)v[i]) ? '?' : v[i];
	if (v[i])
		memcpy(out + i, "...", 3), i += 3;
	out[i] = '\0';
	return out;
}

/* Advances to the next event. Returns 0, or -1 after reporting a syntax error
 * (libyaml cannot resume after one). */
int cursor_next(struct parser *p)
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
			config_err_add(p->errs, p->name, line_of(m), col_of(m), p->last_key,
				       "YAML syntax error: %s (%s at line %d, column %d)", problem,
				       p->yp.context, line_of(p->yp.context_mark), col_of(p->yp.context_mark));
		else
			config_err_add(p->errs, p->name, line_of(m), col_of(m), p->last_key,
				       "YAML syntax error: %s", problem);
		return -1;
	}
	p->have_ev = 1;
	return 0;
}

/* Consumes the rest of the node whose first event is current. */
int cursor_skip(struct parser *p)
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
		if (cursor_next(p) < 0)
			return -1;
	}
}

int cursor_is_null(const yaml_event_t *ev)
{
	if (ev->type != YAML_SCALAR_EVENT || ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	const char *v = (const char *)ev->data.scalar.value;
	return !*v || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 ||
	       strcmp(v, "NULL") == 0;
}

/* "a mapping", "a sequence", … for messages about the wrong kind of node. */
const char *cursor_kind(const yaml_event_t *ev)
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

/* "'text'" for a scalar, else cursor_kind(): what was found instead. */
const char *cursor_found(const yaml_event_t *ev, char out[64])
{
	char b[48];
	if (ev->type != YAML_SCALAR_EVENT)
		return cursor_kind(ev);
	snprintf(out, 64, "'%s'", config_shown((const char *)ev->data.scalar.value, b));
	return out;
}

/* Steps to the next key of a mapping. A key that is not a scalar is reported
 * under `owner` ("expected <what>, got …") and skipped with its value.
 * Returns 1 at a scalar key, 0 at the mapping's end, -1 when the YAML broke. */
int cursor_next_key(struct parser *p, const char *owner, const char *what)
{
	for (;;) {
		if (cursor_next(p) < 0)
			return -1;
		if (p->ev.type == YAML_MAPPING_END_EVENT)
			return 0;
		if (p->ev.type == YAML_SCALAR_EVENT)
			return 1;
		yaml_mark_t km = p->ev.start_mark;
		config_err_add(p->errs, p->name, line_of(km), col_of(km), owner, "expected %s, got %s",
			       what, cursor_kind(&p->ev));
		if (cursor_skip(p) < 0 || cursor_next(p) < 0 || cursor_skip(p) < 0)
			return -1;
	}
}

/* The current event as a string scalar for key; NULL after reporting why it
 * is not one (the node is consumed; *rc = -1 when the YAML broke). */
const char *cursor_scalar(struct parser *p, const char *key, const char *expected,
			  int *rc)
{
	yaml_event_t *ev = &p->ev;
	yaml_mark_t m = ev->start_mark;
	*rc = 0;
	if (ev->type != YAML_SCALAR_EVENT) {
		config_err_add(p->errs, p->name, line_of(m), col_of(m), key, "expected %s, got %s",
			       expected, cursor_kind(ev));
		*rc = cursor_skip(p);
		return NULL;
	}
	const char *v = (const char *)ev->data.scalar.value;
	if (cursor_is_null(ev)) {
		config_err_add(p->errs, p->name, line_of(m), col_of(m), key, "expected %s, got %s",
			       expected, *v ? "null" : "nothing");
		return NULL;
	}
	if (strlen(v) != ev->data.scalar.length) {
		config_err_add(p->errs, p->name, line_of(m), col_of(m), key,
			       "must not contain a NUL character");
		return NULL;
	}
	return v;
}

