/* event: validation of the producers' contract: the envelope every event
 * shares, then the data fields its type needs (the check column of
 * EVENT_TYPES). What a type does to the projection is core/projection.c's. */
#include "core/event.h"

#include <stdio.h>
#include <string.h>

/* Character classes for identifiers. */
enum cls { CLS_ID, CLS_TYPE, CLS_NAME, CLS_TEXT };

static int allowed(enum cls cls, unsigned char c)
{
	int alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    (cls != CLS_TYPE && c >= 'A' && c <= 'Z');
	switch (cls) {
	case CLS_ID: return alnum || c == '.' || c == '_' || c == '-' || c == ':' || c == '/';
	case CLS_TYPE: return alnum || c == '.' || c == '_' || c == '-';
	case CLS_NAME: return alnum || c == '.' || c == '_' || c == '-' || c == ':';
	case CLS_TEXT: return c >= 0x20 && c != 0x7f;
	}
	return 0;
}

static const char *cls_desc(enum cls cls)
{
	switch (cls) {
	case CLS_ID: return "letters, digits and . _ - : /";
	case CLS_TYPE: return "lower-case letters, digits and . _ -";
	case CLS_NAME: return "letters, digits and . _ - :";
	case CLS_TEXT: return "printable characters";
	}
	return "";
}

/* Reads obj[key] as a string of 1..max characters of class cls. Returns 1 and
 * sets *out when present, 0 when absent (and not required), <0 on error. */
static int get_str(json_t *obj, const char *key, int required, size_t max, enum cls cls,
		   const char **out, struct perr *err)
{
	json_t *v = json_object_get(obj, key);
	if (!v || json_is_null(v)) {
		if (required)
			return perr_set(err, PERR_INVALID, key, "%s is required", key);
		return 0;
	}
	if (!json_is_string(v))
		return perr_set(err, PERR_INVALID, key, "%s must be a string", key);
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);
	if (n == 0)
		return perr_set(err, PERR_INVALID, key, "%s must not be empty", key);
	if (n > max)
		return perr_set(err, PERR_TOO_LARGE, key, "%s is %zu bytes long; the limit is %zu",
				key, n, max);
	if (strlen(s) != n)
		return perr_set(err, PERR_INVALID, key, "%s must not contain NUL", key);
	for (size_t i = 0; i < n; i++)
		if (!allowed(cls, (unsigned char)s[i]) && !(cls == CLS_TEXT && (unsigned char)s[i] >= 0x80))
			return perr_set(err, PERR_INVALID, key, "%s may contain only %s", key,
					cls_desc(cls));
	*out = s;
	return 1;
}

static int depth_of(json_t *v, int limit)
{
	if (limit < 0)
		return 1;
	int d = 0;
	if (json_is_object(v)) {
		const char *k;
		json_t *x;
		json_object_foreach(v, k, x) {
			int dx = depth_of(x, limit - 1);
			if (dx > d)
				d = dx;
		}
		return d + 1;
	}
	if (json_is_array(v)) {
		size_t i;
		json_t *x;
		json_array_foreach(v, i, x) {
			int dx = depth_of(x, limit - 1);
			if (dx > d)
				d = dx;
		}
		return d + 1;
	}
	return 0;
}

/* data.<key> must be a non-empty string (when required) of at most max bytes. */
static int data_str(json_t *data, const char *key, int required, size_t max, struct perr *err)
{
	char field[64];
	snprintf(field, sizeof field, "data.%s", key);
	json_t *v = json_object_get(data, key);
	if (!v || json_is_null(v))
		return required ? perr_set(err, PERR_INVALID, field, "%s is required for this type",
					   field)
				: 0;
	if (!json_is_string(v) || json_string_length(v) == 0)
		return perr_set(err, PERR_INVALID, field, "%s must be a non-empty string", field);
	if (json_string_length(v) > max)
		return perr_set(err, PERR_TOO_LARGE, field, "%s is longer than %zu bytes", field,
				max);
	return 0;
}

static int data_enum(json_t *data, const char *key, int required, const char *const *values,
		     struct perr *err)
{
	int rc = data_str(data, key, required, 64, err);
	if (rc < 0)
		return rc;
	json_t *v = json_object_get(data, key);
	if (!v || json_is_null(v))
		return 0;
	for (const char *const *x = values; *x; x++)
		if (strcmp(*x, json_string_value(v)) == 0)
			return 0;
	char list[160] = "";
	for (const char *const *x = values; *x; x++) {
		strncat(list, *x, sizeof list - strlen(list) - 1);
		if (x[1])
			strncat(list, ", ", sizeof list - strlen(list) - 1);
	}
	char field[64];
	snprintf(field, sizeof field, "data.%s", key);
	return perr_set(err, PERR_INVALID, field, "%s must be one of %s", field, list);
}

static const char *const blocker_classes[] = {"auth", "contract", "dependency", "product", NULL};
static const char *const outcomes[] = {"success", "failure", "cancelled", NULL};
static const char *const health_states[] = {"up", "degraded", "down", "auth", "unknown", NULL};

/* --- the data fields each known type needs (the check column) */

static int check_session_started(const struct event *ev, struct perr *err)
{
	json_t *in = json_object_get(ev->data, "inputs"), *la = json_object_get(ev->data, "launch");
	if (in && !json_is_object(in))
		return perr_set(err, PERR_INVALID, "data.inputs", "data.inputs must be an object");
	if (la && !json_is_object(la))
		return perr_set(err, PERR_INVALID, "data.launch", "data.launch must be an object");
	return data_str(ev->data, "harness", 0, 64, err);
}

static int check_session_tool(const struct event *ev, struct perr *err)
{
	int rc = data_str(ev->data, "tool", 1, 128, err);
	return rc < 0 ? rc : data_str(ev->data, "family", 0, 64, err);
}

static int check_session_blocked(const struct event *ev, struct perr *err)
{
	int rc = data_str(ev->data, "reason", 1, 512, err);
	return rc < 0 ? rc : data_enum(ev->data, "class", 1, blocker_classes, err);
}

static int check_session_resumed(const struct event *ev, struct perr *err)
{
	return data_str(ev->data, "from_session", 1, EVENT_SESSION_MAX, err);
}

static int check_session_ended(const struct event *ev, struct perr *err)
{
	return data_enum(ev->data, "outcome", 1, outcomes, err);
}

/* Every Ouroboros event names its cycle. */
static int check_cycle_started(const struct event *ev, struct perr *err)
{
	json_t *c = json_object_get(ev->data, "cycle");
	if (!json_is_integer(c) || json_integer_value(c) < 0)
		return perr_set(err, PERR_INVALID, "data.cycle",
				"data.cycle must be a non-negative integer");
	return 0;
}

static int check_cycle_completed(const struct event *ev, struct perr *err)
{
	int rc = check_cycle_started(ev, err);
	return rc < 0 ? rc : data_enum(ev->data, "outcome", 1, outcomes, err);
}

static int check_cycle_failed(const struct event *ev, struct perr *err)
{
	int rc = check_cycle_started(ev, err);
	return rc < 0 ? rc : data_str(ev->data, "reason", 1, 512, err);
}

static int check_health_changed(const struct event *ev, struct perr *err)
{
	json_t *d = ev->data;
	int rc;
	if ((rc = data_str(d, "component", 1, 64, err)) < 0 ||
	    (rc = data_enum(d, "state", 1, health_states, err)) < 0 ||
	    (rc = data_str(d, "detail", 0, 512, err)) < 0)
		return rc;
	json_t *l = json_object_get(d, "latency_ms");
	if (l && !json_is_null(l) && !(json_is_integer(l) && json_integer_value(l) >= 0))
		return perr_set(err, PERR_INVALID, "data.latency_ms",
				"data.latency_ms must be a non-negative integer");
	return 0;
}

static int check_proposal_transitioned(const struct event *ev, struct perr *err)
{
	json_t *d = ev->data;
	int rc;
	if ((rc = data_str(d, "proposal", 1, 128, err)) < 0 ||
	    (rc = data_str(d, "to", 1, 32, err)) < 0 || (rc = data_str(d, "from", 0, 32, err)) < 0)
		return rc;
	return data_str(d, "actor", 0, 128, err);
}

/* --- the vocabulary */

const struct event_type event_types[EVENT_TYPE_COUNT] = {
#define EVENT_TYPE_ROW(id, name, needs_session, by_portal, check, fold) \
	[EVENT_##id] = {EVENT_##id, name, needs_session, by_portal, check},
	EVENT_TYPES(EVENT_TYPE_ROW)
#undef EVENT_TYPE_ROW
};

const struct event_type *event_type_find(const char *type)
{
	for (size_t i = 0; i < EVENT_TYPE_COUNT; i++)
		if (strcmp(event_types[i].name, type) == 0)
			return &event_types[i];
	return NULL;
}

int event_type_known(const char *type)
{
	return event_type_find(type) != NULL;
}

static const char *const reserved_id_prefixes[] = {EVENT_ID_PROBE_PREFIX, EVENT_ID_PROPOSAL_PREFIX,
						   NULL};

int event_id_reserved(const char *id)
{
	for (const char *const *p = reserved_id_prefixes; *p; p++)
		if (strncmp(id, *p, strlen(*p)) == 0)
			return 1;
	return 0;
}

int event_source_reserved(const char *source)
{
	return strcmp(source, EVENT_SOURCE_PORTAL) == 0 || strcmp(source, EVENT_SOURCE_PROBER) == 0;
}

int event_producer_check(const struct event *ev, struct perr *err)
{
	const struct event_type *t = event_type_find(ev->type);
	if (t && t->by_portal)
		return perr_set(err, PERR_FORBIDDEN, "type",
				"type '%s' is written only by Portal itself", ev->type);
	if (event_id_reserved(ev->id))
		return perr_set(err, PERR_FORBIDDEN, "id",
				"id '%.*s' is in Portal's own namespace ('%s', '%s'); choose another",
				64, ev->id, EVENT_ID_PROBE_PREFIX, EVENT_ID_PROPOSAL_PREFIX);
	return 0;
}

/* The session and data fields a known type needs; anything of another type
 * passes (it is stored and counted as unrecognised). */
static int check_data(const struct event *ev, struct perr *err)
{
	const struct event_type *t = event_type_find(ev->type);
	if (!t)
		return 0;
	if (t->needs_session && !ev->session)
		return perr_set(err, PERR_INVALID, "session", "session is required for %s", ev->type);
	return t->check ? t->check(ev, err) : 0;
}

static const char *const fields[] = {"id", "type", "project", "session", "source", "ts", "data", NULL};

int event_from_json(json_t *obj, long long now_ms, const char *default_source,
		    struct event *ev, struct perr *err)
{
	memset(ev, 0, sizeof *ev);
	if (!json_is_object(obj))
		return perr_set(err, PERR_INVALID, "", "an event must be a JSON object");
	const char *k;
	json_t *v;
	json_object_foreach(obj, k, v) {
		int ok = 0;
		for (const char *const *f = fields; *f && !ok; f++)
			ok = strcmp(*f, k) == 0;
		if (!ok)
			return perr_set(err, PERR_INVALID, k, "unknown field '%.40s'", k);
	}
	int rc;
	if ((rc = get_str(obj, "id", 1, EVENT_ID_MAX, CLS_ID, &ev->id, err)) < 0 ||
	    (rc = get_str(obj, "type", 1, EVENT_TYPE_MAX, CLS_TYPE, &ev->type, err)) < 0 ||
	    (rc = get_str(obj, "project", 1, EVENT_PROJECT_MAX, CLS_NAME, &ev->project, err)) < 0 ||
	    (rc = get_str(obj, "session", 0, EVENT_SESSION_MAX, CLS_NAME, &ev->session, err)) < 0 ||
	    (rc = get_str(obj, "source", 0, EVENT_SOURCE_MAX, CLS_TEXT, &ev->source, err)) < 0)
		return rc;
	if (!ev->source)
		ev->source = default_source;
	json_t *ts = json_object_get(obj, "ts");
	if (!ts || json_is_null(ts)) {
		ev->ts = now_ms;
	} else if (!json_is_integer(ts) || json_integer_value(ts) <= 0) {
		return perr_set(err, PERR_INVALID, "ts",
				"ts must be a positive integer (milliseconds since the epoch)");
	} else {
		ev->ts = json_integer_value(ts);
	}
	json_t *data = json_object_get(obj, "data");
	if (!data || json_is_null(data)) {
		ev->data = json_object();
	} else if (!json_is_object(data)) {
		return perr_set(err, PERR_INVALID, "data", "data must be an object");
	} else {
		if (depth_of(data, EVENT_DATA_DEPTH) > EVENT_DATA_DEPTH)
			return perr_set(err, PERR_TOO_LARGE, "data",
					"data is nested deeper than %d levels", EVENT_DATA_DEPTH);
		size_t n = json_dumpb(data, NULL, 0, JSON_COMPACT);
		if (n > EVENT_DATA_MAX)
			return perr_set(err, PERR_TOO_LARGE, "data",
					"data is %zu bytes as JSON; the limit is %d", n, EVENT_DATA_MAX);
		ev->data = json_incref(data);
	}
	if ((rc = check_data(ev, err)) < 0) {
		event_release(ev);
		return rc;
	}
	return 0;
}

void event_release(struct event *ev)
{
	json_decref(ev->data);
	ev->data = NULL;
}

json_t *event_ndjson_load(const char *data, size_t len, struct perr *err)
{
	json_t *arr = json_array();
	size_t line = 0;
	for (size_t pos = 0; pos < len;) {
		const char *nl = memchr(data + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - data) : len;
		line++;
		size_t a = pos, z = end;
		while (a < z && (data[a] == ' ' || data[a] == '\t' || data[a] == '\r'))
			a++;
		while (z > a && (data[z - 1] == ' ' || data[z - 1] == '\t' || data[z - 1] == '\r'))
			z--;
		if (z > a) {
			json_error_t je;
			json_t *obj = json_loadb(data + a, z - a, JSON_REJECT_DUPLICATES, &je);
			if (!obj) {
				json_decref(arr);
				perr_set(err, PERR_INVALID, "body", "line %zu, column %d: %s", line,
					 je.column, je.text);
				return NULL;
			}
			json_array_append_new(arr, obj);
		}
		pos = end + 1;
	}
	return arr;
}
