/* proposal: the state machine of a proposal, and the checks a submission
 * passes against its kind before anything is recorded. It does not decide
 * who may act (role and separation of duties are the caller's), and it runs
 * nothing: proposal_argv only fills a template. Pure: no I/O. */
#include "core/proposal.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

static const char *const state_names[PROPOSAL_STATE_COUNT] = {
	"submitted", "approved", "queued",   "running",   "executed",
	"proving",   "proven",   "rejected", "cancelled", "failed",
};

const char *proposal_state_name(enum proposal_state s)
{
	if ((int)s < 0 || s >= PROPOSAL_STATE_COUNT)
		return NULL;
	return state_names[s];
}

int proposal_state_parse(const char *s)
{
	for (int i = 0; s && i < PROPOSAL_STATE_COUNT; i++)
		if (strcmp(state_names[i], s) == 0)
			return i;
	return -1;
}

int proposal_state_final(enum proposal_state s)
{
	return s == PROPOSAL_PROVEN || s == PROPOSAL_REJECTED || s == PROPOSAL_CANCELLED ||
	       s == PROPOSAL_FAILED;
}

int proposal_transition_ok(enum proposal_state from, enum proposal_state to)
{
	switch (from) {
	case PROPOSAL_SUBMITTED:
		return to == PROPOSAL_APPROVED || to == PROPOSAL_REJECTED ||
		       to == PROPOSAL_CANCELLED;
	case PROPOSAL_APPROVED:
		return to == PROPOSAL_QUEUED || to == PROPOSAL_CANCELLED;
	case PROPOSAL_QUEUED:
		return to == PROPOSAL_RUNNING || to == PROPOSAL_CANCELLED;
	case PROPOSAL_RUNNING:
		return to == PROPOSAL_EXECUTED || to == PROPOSAL_QUEUED || to == PROPOSAL_FAILED;
	case PROPOSAL_EXECUTED:
		return to == PROPOSAL_PROVING;
	case PROPOSAL_PROVING:
		return to == PROPOSAL_PROVEN || to == PROPOSAL_FAILED;
	default:
		return 0;
	}
}

/* --- validation */

static const struct proposal_field *field_find(const struct proposal_kind *k, const char *name)
{
	for (size_t i = 0; i < k->nfields && i < PROPOSAL_MAX_FIELDS; i++)
		if (strcmp(k->fields[i].name, name) == 0)
			return &k->fields[i];
	return NULL;
}

/* Checks one value against its field; 0 or PERR_INVALID. */
static int value_check(const struct proposal_field *f, const json_t *v, struct perr *err)
{
	switch (f->type) {
	case PFIELD_DATASET:
	case PFIELD_STRING: {
		if (!json_is_string(v))
			return perr_set(err, PERR_INVALID, NULL, "must be a string");
		const char *s = json_string_value(v);
		size_t n = json_string_length(v);
		if (strlen(s) != n)
			return perr_set(err, PERR_INVALID, NULL,
					"must not contain a NUL character");
		for (size_t i = 0; i < n; i++) {
			unsigned char ch = (unsigned char)s[i];
			/* C0, DEL, and C1 (U+0080..U+009F, 0xC2 0x80..0x9F in UTF-8) */
			unsigned char nx = i + 1 < n ? (unsigned char)s[i + 1] : 0;
			if (ch < 0x20 || ch == 0x7f || (ch == 0xc2 && nx >= 0x80 && nx <= 0x9f))
				return perr_set(err, PERR_INVALID, NULL,
						"must be one line without control characters");
		}
		if (f->type == PFIELD_DATASET) {
			static const char prefix[] = "urn:li:dataset:(urn:li:dataPlatform:";
			if (n > PROPOSAL_DATASET_MAX || strncmp(s, prefix, sizeof prefix - 1) ||
			    s[n - 1] != ')' || !strchr(s + sizeof prefix - 1, ','))
				return perr_set(err, PERR_INVALID, NULL,
						"must be a DataHub dataset URN such as "
						"urn:li:dataset:(urn:li:dataPlatform:clickhouse,db.table,PROD)");
			return 0;
		}
		if (f->min_len > 0 && n < (size_t)f->min_len)
			return perr_set(err, PERR_INVALID, NULL,
					"must be at least %d bytes long", f->min_len);
		if (f->max_len > 0 && n > (size_t)f->max_len)
			return perr_set(err, PERR_INVALID, NULL,
					"must be at most %d bytes long", f->max_len);
		return 0;
	}
	case PFIELD_INTEGER: {
		if (!json_is_integer(v))
			return perr_set(err, PERR_INVALID, NULL, "must be an integer");
		long long x = (long long)json_integer_value(v);
		if (x >= f->min && x <= f->max)
			return 0;
		/* A bound left at the type's limit is no bound a person set. */
		if (f->min == LLONG_MIN)
			return perr_set(err, PERR_INVALID, NULL, "must be at most %lld", f->max);
		if (f->max == LLONG_MAX)
			return perr_set(err, PERR_INVALID, NULL, "must be at least %lld", f->min);
		return perr_set(err, PERR_INVALID, NULL, "must be between %lld and %lld", f->min,
				f->max);
	}
	case PFIELD_BOOLEAN:
		if (!json_is_boolean(v))
			return perr_set(err, PERR_INVALID, NULL, "must be true or false");
		return 0;
	case PFIELD_ENUM: {
		if (json_is_string(v)) {
			const char *s = json_string_value(v);
			for (size_t i = 0; i < f->nvalues && i < PROPOSAL_MAX_VALUES; i++)
				if (strcmp(f->values[i], s) == 0 &&
				    strlen(s) == json_string_length(v))
					return 0;
		}
		/* the choices, as many as fit in a message */
		char list[192] = "";
		size_t used = 0;
		for (size_t i = 0; i < f->nvalues && i < PROPOSAL_MAX_VALUES; i++) {
			size_t w = strlen(f->values[i]) + (i ? 2 : 0);
			if (used + w + 6 > sizeof list) {
				memcpy(list + used, ", ...", 6);
				break;
			}
			snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", f->values[i]);
			used += w;
		}
		return perr_set(err, PERR_INVALID, NULL, "must be one of %s", list);
	}
	}
	return perr_set(err, PERR_INVALID, NULL, "has an unknown type");
}

int proposal_validate(const struct proposal_kind *k, const json_t *input, json_t **out,
		      struct perr *err)
{
	*out = NULL;
	if (!json_is_object(input))
		return perr_set(err, PERR_INVALID, "input",
				"must be a JSON object of the fields of '%s'", k->name);
	/* Undeclared keys first: a misspelt field reads better as itself than
	 * as the required field it was meant to be. */
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)input, key, v) {
		if (!field_find(k, key)) {
			char field[64];
			snprintf(field, sizeof field, "input.%.56s", key);
			return perr_set(err, PERR_INVALID, field,
					"'%.64s' is not a field of '%s'", key, k->name);
		}
	}
	json_t *res = json_object();
	if (!res)
		return perr_set(err, PERR_INTERNAL, NULL, "out of memory");
	for (size_t i = 0; i < k->nfields && i < PROPOSAL_MAX_FIELDS; i++) {
		const struct proposal_field *f = &k->fields[i];
		char field[64];
		snprintf(field, sizeof field, "input.%.56s", f->name);
		json_t *val = json_object_get(input, f->name);
		if (!val || json_is_null(val)) {
			if (f->required) {
				json_decref(res);
				return perr_set(err, PERR_INVALID, field, "required");
			}
			continue;
		}
		struct perr e = {0};
		if (value_check(f, val, &e) < 0) {
			json_decref(res);
			return perr_set(err, PERR_INVALID, field, "%s %s",
					f->label[0] ? f->label : f->name, e.msg);
		}
		json_object_set(res, f->name, val);
	}
	*out = res;
	return 0;
}

/* --- argv */

/* Appends n bytes of s to out (capacity cap, used *len); -1 when it would
 * not fit with its NUL. */
static int put(char *out, size_t cap, size_t *len, const char *s, size_t n)
{
	if (*len + n + 1 > cap)
		return -1;
	memcpy(out + *len, s, n);
	*len += n;
	out[*len] = '\0';
	return 0;
}

int proposal_argv(const struct proposal_kind *k, const json_t *input,
		  char out[][PROPOSAL_ARG_MAX * 2], size_t cap, struct perr *err)
{
	const size_t room = PROPOSAL_ARG_MAX * 2;
	size_t n = 0;
	for (size_t a = 0; a < k->nargv && a < PROPOSAL_MAX_ARGV; a++) {
		if (n >= cap)
			return perr_set(err, PERR_TOO_LARGE, "argv",
					"the template has more than %zu arguments", cap);
		const char *t = k->argv[a];
		char *dst = out[n];
		size_t len = 0;
		dst[0] = '\0';
		char field[32];
		snprintf(field, sizeof field, "argv[%zu]", a);
		while (*t) {
			const char *open = strchr(t, '{');
			size_t lit = open ? (size_t)(open - t) : strlen(t);
			if (put(dst, room, &len, t, lit) < 0)
				goto too_long;
			if (!open)
				break;
			if (open[1] == '{') { /* "{{" is a literal '{' */
				if (put(dst, room, &len, "{", 1) < 0)
					goto too_long;
				t = open + 2;
				continue;
			}
			const char *close = strchr(open + 1, '}');
			if (!close)
				return perr_set(err, PERR_INVALID, field,
						"'{' without a closing '}' (write '{{' for a "
						"literal '{')");
			char name[PROPOSAL_NAME_MAX];
			size_t nl = (size_t)(close - open - 1);
			if (nl == 0 || nl >= sizeof name)
				return perr_set(err, PERR_INVALID, field,
						"a placeholder must name a field of '%s'", k->name);
			memcpy(name, open + 1, nl);
			name[nl] = '\0';
			if (!field_find(k, name))
				return perr_set(err, PERR_INVALID, field,
						"the placeholder {%s} names no field of '%s'", name,
						k->name);
			const json_t *v = json_object_get(input, name);
			char num[32];
			const char *s = "";
			size_t sl = 0;
			if (json_is_string(v)) {
				s = json_string_value(v);
				sl = json_string_length(v);
			} else if (json_is_integer(v)) {
				snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
				s = num;
				sl = strlen(num);
			} else if (json_is_true(v)) {
				s = "true", sl = 4;
			} else if (json_is_false(v)) {
				s = "false", sl = 5;
			}
			/* absent (an optional field left out): the empty string */
			if (put(dst, room, &len, s, sl) < 0)
				goto too_long;
			t = close + 1;
		}
		n++;
		continue;
	too_long:
		return perr_set(err, PERR_INVALID, field,
				"argument %zu would be longer than %d bytes once filled in", a,
				(int)room - 1);
	}
	return (int)n;
}
