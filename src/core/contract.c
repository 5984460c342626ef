/* contract: the rules of a catalogue of component, project and secret
 * contracts and proposal kinds — names, secret references, URL shape,
 * private-host detection, one rule per execute: key, and the checks that span
 * fields and entries. Pure: it resolves no name, reads no secret and opens no
 * connection (inet_pton only parses a literal). */
#include "core/contract.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/role.h"

const char *ownership_name(enum ownership o)
{
	return o == OWNERSHIP_ENDPOINT ? "endpoint" : "owned";
}

const char *contract_auth_name(enum contract_auth a)
{
	switch (a) {
	case CONTRACT_AUTH_BEARER:
		return "bearer";
	case CONTRACT_AUTH_BASIC:
		return "basic";
	default:
		return "none";
	}
}

const char *secret_source_name(enum secret_source s)
{
	switch (s) {
	case SECRET_FILE:
		return "file";
	case SECRET_VAULT:
		return "vault";
	default:
		return "env";
	}
}

static int name_valid(const char *name, const char *extra)
{
	size_t n = strlen(name);
	if (n < 1 || n >= CONTRACT_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)name[i];
		if (!(islower(ch) || isdigit(ch) || strchr(extra, ch)))
			return 0;
	}
	return 1;
}

int contract_name_valid(const char *name)
{
	return name_valid(name, "-");
}

int secret_name_valid(const char *name)
{
	return name_valid(name, "-_");
}

/* --- secret references */

static int all_of(const char *s, size_t n, const char *extra)
{
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr(extra, s[i]))
			return 0;
	return 1;
}

/* vault:MOUNT/PATH#KEY: segments of [A-Za-z0-9._-], no empty segment, no
 * "." or ".." segment, at least a mount and one path segment. */
static int vault_ref_valid(const char *ref)
{
	const char *hash = strchr(ref, '#');
	if (!hash || hash == ref || !hash[1] || strchr(hash + 1, '#'))
		return 0;
	if (!all_of(hash + 1, strlen(hash + 1), "._-"))
		return 0;
	int segments = 0;
	const char *p = ref;
	while (p < hash) {
		const char *slash = memchr(p, '/', (size_t)(hash - p));
		const char *end = slash ? slash : hash;
		size_t n = (size_t)(end - p);
		if (n == 0 || !all_of(p, n, "._-") || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			return 0;
		segments++;
		p = slash ? slash + 1 : hash;
		if (slash && p == hash)
			return 0; /* a trailing '/' */
	}
	return segments >= 2;
}

int secret_ref_parse(const char *text, struct secret_contract *s, struct perr *err)
{
	/* Messages never quote text: when it is not a reference it may be the
	 * secret itself. */
	const char *ref;
	enum secret_source src;
	if (strncmp(text, "env:", 4) == 0)
		src = SECRET_ENV, ref = text + 4;
	else if (strncmp(text, "file:", 5) == 0)
		src = SECRET_FILE, ref = text + 5;
	else if (strncmp(text, "vault:", 6) == 0)
		src = SECRET_VAULT, ref = text + 6;
	else
		return perr_set(err, PERR_INVALID, "source",
				"looks like an inline secret value; give env:VAR, file:/path or "
				"vault:mount/path#key");
	if (strlen(ref) >= sizeof s->ref)
		return perr_set(err, PERR_TOO_LARGE, "source",
				"the reference must be shorter than %zu characters", sizeof s->ref);
	switch (src) {
	case SECRET_ENV:
		if (!ref[0] || isdigit((unsigned char)ref[0]) || !all_of(ref, strlen(ref), "_"))
			return perr_set(err, PERR_INVALID, "source",
					"env: needs a variable name of letters, digits and '_' "
					"(env:VAR)");
		break;
	case SECRET_FILE:
		if (ref[0] != '/' || !ref[1])
			return perr_set(err, PERR_INVALID, "source",
					"file: needs an absolute path (file:/run/secrets/NAME)");
		for (const char *p = ref; *p; p++)
			if (iscntrl((unsigned char)*p))
				return perr_set(err, PERR_INVALID, "source",
						"file: path must not contain control characters");
		break;
	case SECRET_VAULT:
		if (!vault_ref_valid(ref))
			return perr_set(err, PERR_INVALID, "source",
					"vault: needs mount/path#key, e.g. "
					"vault:secret/portal/datahub#token");
		break;
	}
	s->source = src;
	snprintf(s->ref, sizeof s->ref, "%s", ref);
	return 0;
}

/* --- URLs and hosts */

int contract_url_valid(const char *url, char *host, size_t cap)
{
	const char *p;
	if (strlen(url) >= CONTRACT_URL_MAX)
		return 0;
	if (strncasecmp(url, "http://", 7) == 0)
		p = url + 7;
	else if (strncasecmp(url, "https://", 8) == 0)
		p = url + 8;
	else
		return 0;
	for (const char *q = url; *q; q++)
		if (iscntrl((unsigned char)*q) || *q == ' ' || *q == '\\')
			return 0;
	size_t alen = strcspn(p, "/?#");
	const char *path = p + alen;
	if (memchr(p, '@', alen))
		return 0; /* userinfo: a credential has no place in a URL here */
	const char *h = p, *hend, *port = NULL;
	char hb[CONTRACT_URL_MAX];
	if (*p == '[') {
		const char *rb = memchr(p, ']', alen);
		if (!rb)
			return 0;
		h = p + 1;
		hend = rb;
		if (rb + 1 < p + alen) {
			if (rb[1] != ':')
				return 0;
			port = rb + 2;
		}
		size_t hl = (size_t)(hend - h);
		unsigned char a6[16];
		memcpy(hb, h, hl);
		hb[hl] = '\0';
		if (hl == 0 || inet_pton(AF_INET6, hb, a6) != 1)
			return 0;
	} else {
		const char *colon = memchr(p, ':', alen);
		hend = colon ? colon : p + alen;
		if (colon)
			port = colon + 1;
		size_t hl = (size_t)(hend - h);
		if (hl == 0 || h[0] == '.' || h[0] == '-')
			return 0;
		for (size_t i = 0; i < hl; i++)
			if (!isalnum((unsigned char)h[i]) && h[i] != '.' && h[i] != '-')
				return 0;
		memcpy(hb, h, hl);
		hb[hl] = '\0';
	}
	if (port) {
		size_t pl = (size_t)(p + alen - port);
		if (pl < 1 || pl > 5)
			return 0;
		long v = 0;
		for (size_t i = 0; i < pl; i++) {
			if (!isdigit((unsigned char)port[i]))
				return 0;
			v = v * 10 + (port[i] - '0');
		}
		if (v < 1 || v > 65535)
			return 0;
	}
	if (strchr(path, '#'))
		return 0; /* a fragment never reaches a server */
	if (host && cap) {
		size_t i = 0;
		for (; hb[i] && i + 1 < cap; i++)
			host[i] = (char)tolower((unsigned char)hb[i]);
		host[i] = '\0';
	}
	return 1;
}

static int v4_private(const unsigned char a[4])
{
	return a[0] == 127 || a[0] == 10 || a[0] == 0 ||
	       (a[0] == 172 && (a[1] & 0xf0) == 16) || (a[0] == 192 && a[1] == 168) ||
	       (a[0] == 169 && a[1] == 254) || (a[0] == 100 && (a[1] & 0xc0) == 64);
}

static int ends_with(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);
	return n > k && memcmp(s + n - k, suffix, k) == 0;
}

int contract_host_private(const char *host)
{
	char h[CONTRACT_URL_MAX];
	size_t n = strlen(host);
	if (n && host[0] == '[' && host[n - 1] == ']')
		host++, n -= 2;
	if (n >= sizeof h)
		return 0;
	for (size_t i = 0; i < n; i++)
		h[i] = (char)tolower((unsigned char)host[i]);
	while (n && h[n - 1] == '.')
		n--; /* "localhost." is localhost */
	h[n] = '\0';
	if (n == 0)
		return 1;
	unsigned char a[16];
	if (inet_pton(AF_INET, h, a) == 1)
		return v4_private(a);
	if (inet_pton(AF_INET6, h, a) == 1) {
		static const unsigned char zero[16];
		static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
		if (memcmp(a, zero, 15) == 0 && (a[15] == 0 || a[15] == 1))
			return 1;                    /* :: and ::1 */
		if (memcmp(a, mapped, 12) == 0)
			return v4_private(a + 12);   /* ::ffff:a.b.c.d */
		return (a[0] & 0xfe) == 0xfc ||      /* fc00::/7 unique local */
		       (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) || /* fe80::/10 link-local */
		       (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0);   /* fec0::/10 site-local */
	}
	if (!strchr(h, '.'))
		return 1; /* "localhost", "temporal": resolvable only on a private network */
	return ends_with(h, n, ".localhost") || ends_with(h, n, ".local") ||
	       ends_with(h, n, ".internal") || ends_with(h, n, ".svc") ||
	       ends_with(h, n, ".cluster.local") || ends_with(h, n, ".home.arpa");
}

/* --- the catalogue */

const struct component_contract *catalogue_find(const struct catalogue *cat, const char *name)
{
	for (size_t i = 0; cat && name && i < cat->ncomponents; i++)
		if (strcmp(cat->components[i].name, name) == 0)
			return &cat->components[i];
	return NULL;
}

const struct project_contract *catalogue_project(const struct catalogue *cat, const char *name)
{
	for (size_t i = 0; cat && name && i < cat->nprojects; i++)
		if (strcmp(cat->projects[i].name, name) == 0)
			return &cat->projects[i];
	return NULL;
}

const struct proposal_kind *catalogue_kind(const struct catalogue *cat, const char *name)
{
	for (size_t i = 0; cat && name && i < cat->nkinds; i++)
		if (strcmp(cat->kinds[i].name, name) == 0)
			return &cat->kinds[i];
	return NULL;
}

static const struct secret_contract *secret_find(const struct catalogue *cat, const char *name)
{
	for (size_t i = 0; i < cat->nsecrets; i++)
		if (strcmp(cat->secrets[i].name, name) == 0)
			return &cat->secrets[i];
	return NULL;
}

struct problems {
	struct contract_problem *out;
	size_t cap, n;
};

static void add(struct problems *ps, int comp, int secret, const char *subject,
		const char *field, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void add(struct problems *ps, int comp, int secret, const char *subject,
		const char *field, const char *fmt, ...)
{
	if (ps->n < ps->cap) {
		struct contract_problem *p = &ps->out[ps->n];
		memset(p, 0, sizeof *p);
		snprintf(p->subject, sizeof p->subject, "%s", subject);
		snprintf(p->field, sizeof p->field, "%s", field);
		p->component = comp;
		p->secret = secret;
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(p->msg, sizeof p->msg, fmt, ap);
		va_end(ap);
	}
	ps->n++;
}

/* Whether a and b are the same URL once a trailing '/' is ignored. */
static int same_url(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la && a[la - 1] == '/')
		la--;
	if (lb && b[lb - 1] == '/')
		lb--;
	return la && la == lb && strncmp(a, b, la) == 0;
}

struct url_field {
	const char *field;
	const char *url;
};

static void check_component(const struct catalogue *cat, int i, struct problems *ps)
{
	const struct component_contract *c = &cat->components[i];
	const char *nm = c->name;
	char host[CONTRACT_URL_MAX];

	if (!contract_name_valid(nm))
		add(ps, i, -1, nm, "name",
		    "a component name is 1 to 63 lower-case letters, digits or '-'");
	for (int j = 0; j < i; j++)
		if (strcmp(cat->components[j].name, nm) == 0) {
			add(ps, i, -1, nm, "name",
			    "'%s' is declared twice (first as components[%d])", nm, j);
			break;
		}

	struct url_field urls[3] = {{"public_url", c->public_url.s},
				    {"internal_url", c->internal_url.s},
				    {"executor_url", c->executor_url.s}};
	int ok[3];
	for (int k = 0; k < 3; k++) {
		ok[k] = urls[k].url[0] && contract_url_valid(urls[k].url, NULL, 0);
		if (urls[k].url[0] && !ok[k])
			add(ps, i, -1, nm, urls[k].field,
			    "%s's %s must be http(s)://host[:port][/path] with no user or "
			    "password in it", nm, urls[k].field);
	}
	if (c->ownership == OWNERSHIP_OWNED && !c->internal_url.s[0])
		add(ps, i, -1, nm, "internal_url",
		    "%s is owned, so it needs an internal_url (what Portal probes and calls)", nm);
	if (c->ownership == OWNERSHIP_ENDPOINT && c->executor_url.s[0])
		add(ps, i, -1, nm, "executor_url",
		    "%s is an endpoint: Portal runs nothing there, so it has no executor_url "
		    "(remove it, or make the component owned)", nm);
	if (ok[0] && !cat->dev_mode && contract_url_valid(c->public_url.s, host, sizeof host) &&
	    contract_host_private(host))
		add(ps, i, -1, nm, "public_url",
		    "%s's public_url host '%s' is loopback or private, which a browser elsewhere "
		    "cannot open; allowed only with server.mode dev", nm, host);
	for (int a = 0; a < 3; a++)
		for (int b = a + 1; b < 3; b++)
			if (same_url(urls[a].url, urls[b].url))
				add(ps, i, -1, nm, a == 0 ? "public_url" : "executor_url",
				    "%s's %s and %s are the same URL (conflated): give each its own "
				    "address", nm, urls[a].field, urls[b].field);
	for (size_t j = 0; j < cat->ncomponents; j++) {
		const struct component_contract *o = &cat->components[j];
		if ((int)j == i || !c->public_url.s[0])
			continue;
		if (same_url(c->public_url.s, o->internal_url.s))
			add(ps, i, -1, nm, "public_url",
			    "%s's public_url is %s's internal_url (conflated): an internal "
			    "address would reach browsers", nm, o->name);
		if (same_url(c->public_url.s, o->executor_url.s))
			add(ps, i, -1, nm, "public_url",
			    "%s's public_url is %s's executor_url (conflated): an executor "
			    "address would reach browsers", nm, o->name);
	}

	if (c->auth == CONTRACT_AUTH_NONE && c->auth_secret[0])
		add(ps, i, -1, nm, "auth.secret",
		    "%s has auth none, so it takes no secret (set auth.kind or remove the secret)",
		    nm);
	if (c->auth != CONTRACT_AUTH_NONE && !c->auth_secret[0])
		add(ps, i, -1, nm, "auth.secret",
		    "%s's auth %s needs a secret: the name of a secrets: entry", nm,
		    contract_auth_name(c->auth));
	else if (c->auth != CONTRACT_AUTH_NONE && !secret_find(cat, c->auth_secret))
		add(ps, i, -1, nm, "auth.secret",
		    "%s's auth names the secret '%s', which is not declared under secrets", nm,
		    c->auth_secret);

	const struct health_check *h = &c->health;
	if (h->path[0] != '/')
		add(ps, i, -1, nm, "health.path", "%s's health path must start with '/'", nm);
	if (h->expect_status != 0 && (h->expect_status < 100 || h->expect_status > 599))
		add(ps, i, -1, nm, "health.expect_status",
		    "%s's health expect_status must be 0 (any 2xx) or 100..599", nm);
	if (!h->body_path[0] != !h->body_equals[0])
		add(ps, i, -1, nm, h->body_path[0] ? "health.body_equals" : "health.body_path",
		    "%s's health body check needs both body_path and body_equals", nm);
	if (h->timeout_ms >= h->interval_ms)
		add(ps, i, -1, nm, "health.timeout_ms",
		    "%s's health timeout_ms (%d) must be less than interval_ms (%d)", nm,
		    h->timeout_ms, h->interval_ms);
	if (h->slow_ms > h->timeout_ms)
		add(ps, i, -1, nm, "health.slow_ms",
		    "%s's health slow_ms (%d) must not exceed timeout_ms (%d)", nm, h->slow_ms,
		    h->timeout_ms);
}

/* One list of a project's needs, its components (secrets = 0) or its secrets
 * (secrets = 1): each named once, and each declared. */
static void check_needs(const struct catalogue *cat, size_t i, int secrets,
			const char (*names)[CONTRACT_NAME_MAX], size_t n, struct problems *ps)
{
	const struct project_contract *pr = &cat->projects[i];
	const char *list = secrets ? "secrets" : "components";
	const char *what = secrets ? "secret" : "component";
	char field[64];
	if (n > PROJECT_MAX_NEEDS) {
		snprintf(field, sizeof field, "projects[%zu].%s", i, list);
		add(ps, -1, -1, pr->name, field, "%s lists %zu %ss; at most %d", pr->name, n, what,
		    PROJECT_MAX_NEEDS);
		n = PROJECT_MAX_NEEDS;
	}
	for (size_t k = 0; k < n; k++) {
		snprintf(field, sizeof field, "projects[%zu].%s[%zu]", i, list, k);
		size_t first = k;
		for (size_t j = 0; j < k && first == k; j++)
			if (strcmp(names[j], names[k]) == 0)
				first = j;
		if (first < k)
			add(ps, -1, -1, pr->name, field,
			    "%s lists the %s '%s' twice (first as %s[%zu])", pr->name, what,
			    names[k], list, first);
		else if (secrets ? !secret_find(cat, names[k]) : !catalogue_find(cat, names[k]))
			add(ps, -1, -1, pr->name, field,
			    "%s needs the %s '%s', which is not declared under %s", pr->name, what,
			    names[k], list);
	}
}

/* A project's problems have no component or secret index (both -1, like the
 * vault's); their field is the path from the catalogue ("projects[2].name",
 * "projects[2].components[0]", "projects[2].secrets[1]"), which tells them
 * from the vault's ("addr", "token") and says which entry and item. */
static void check_project(const struct catalogue *cat, size_t i, struct problems *ps)
{
	const struct project_contract *pr = &cat->projects[i];
	const char *nm = pr->name;
	char field[64];
	snprintf(field, sizeof field, "projects[%zu].name", i);
	if (!contract_name_valid(nm))
		add(ps, -1, -1, nm, field,
		    "a project name is 1 to 63 lower-case letters, digits or '-' (as events "
		    "name it in `project`)");
	for (size_t j = 0; j < i; j++)
		if (strcmp(cat->projects[j].name, nm) == 0) {
			add(ps, -1, -1, nm, field, "'%s' is declared twice (first as projects[%zu])",
			    nm, j);
			break;
		}
	check_needs(cat, i, 0, pr->components, pr->ncomponents, ps);
	check_needs(cat, i, 1, pr->secrets, pr->nsecrets, ps);
}

/* Whether name is a field name: [a-z][a-z0-9_]{0,62}. */
static int field_name_valid(const char *name)
{
	return islower((unsigned char)name[0]) && name_valid(name, "_");
}

static void check_field(const struct proposal_kind *k, size_t i, size_t fi, struct problems *ps)
{
	const struct proposal_field *f = &k->fields[fi];
	char field[64];
	snprintf(field, sizeof field, "proposals[%zu].fields[%zu].name", i, fi);
	if (!field_name_valid(f->name))
		add(ps, -1, -1, k->name, field,
		    "%s: a field name is a lower-case letter, then up to 62 lower-case letters, "
		    "digits or '_'", k->name);
	for (size_t j = 0; j < fi; j++)
		if (strcmp(k->fields[j].name, f->name) == 0) {
			add(ps, -1, -1, k->name, field,
			    "%s declares the field '%s' twice (first as fields[%zu])", k->name,
			    f->name, j);
			break;
		}
	switch (f->type) {
	case PFIELD_ENUM:
		snprintf(field, sizeof field, "proposals[%zu].fields[%zu].values", i, fi);
		if (f->nvalues == 0)
			add(ps, -1, -1, k->name, field,
			    "%s's field '%s' is an enum, so it needs values: the choices", k->name,
			    f->name);
		for (size_t a = 0; a < f->nvalues && a < PROPOSAL_MAX_VALUES; a++) {
			if (!f->values[a][0])
				add(ps, -1, -1, k->name, field,
				    "%s's field '%s' has an empty value", k->name, f->name);
			for (size_t b = 0; b < a; b++)
				if (strcmp(f->values[a], f->values[b]) == 0) {
					add(ps, -1, -1, k->name, field,
					    "%s's field '%s' lists the value '%s' twice", k->name,
					    f->name, f->values[a]);
					break;
				}
		}
		break;
	case PFIELD_INTEGER:
		snprintf(field, sizeof field, "proposals[%zu].fields[%zu].min", i, fi);
		if (f->min > f->max)
			add(ps, -1, -1, k->name, field,
			    "%s's field '%s' has min (%lld) greater than max (%lld)", k->name,
			    f->name, f->min, f->max);
		break;
	case PFIELD_STRING:
		snprintf(field, sizeof field, "proposals[%zu].fields[%zu].min_len", i, fi);
		if (f->min_len < 0 || f->max_len < 0)
			add(ps, -1, -1, k->name, field,
			    "%s's field '%s' has a negative length bound", k->name, f->name);
		else if (f->max_len && f->min_len > f->max_len)
			add(ps, -1, -1, k->name, field,
			    "%s's field '%s' has min_len (%d) greater than max_len (%d)", k->name,
			    f->name, f->min_len, f->max_len);
		break;
	case PFIELD_BOOLEAN:
	case PFIELD_DATASET:
		break;
	}
}

/* --- a kind's execute: block. Each key that only some executors take
 * (core/executor_kind.h) has one rule: what it must hold when the kind's
 * executor takes it, and what is said when it is written for an executor
 * that does not. Problems come in the order of the rules. */

static const char *executor_of(const struct proposal_kind *k)
{
	return executor_kind_name(k->executor);
}

/* argv, the exec template: an absolute program and placeholders that name
 * declared fields (proposal_argv is the one reader of the template, so it
 * is what decides; an empty input fills every placeholder with ""). */
static void argv_check(const struct catalogue *cat, size_t i, struct problems *ps)
{
	const struct proposal_kind *k = &cat->kinds[i];
	char field[64];
	snprintf(field, sizeof field, "proposals[%zu].execute.argv", i);
	if (k->nargv == 0) {
		add(ps, -1, -1, k->name, field,
		    "%s runs with %s, so it needs argv: the program and its arguments", k->name,
		    executor_of(k));
		return;
	}
	if (k->nargv > PROPOSAL_MAX_ARGV) {
		add(ps, -1, -1, k->name, field, "%s's argv has %zu elements; at most %d", k->name,
		    k->nargv, PROPOSAL_MAX_ARGV);
		return;
	}
	snprintf(field, sizeof field, "proposals[%zu].execute.argv[0]", i);
	if (k->argv[0][0] != '/' || strchr(k->argv[0], '{'))
		add(ps, -1, -1, k->name, field,
		    "%s's argv[0] must be an absolute path to the program (e.g. /usr/bin/env), "
		    "with no placeholder", k->name);
	char filled[PROPOSAL_MAX_ARGV][PROPOSAL_ARG_MAX * 2]; /* 8 KiB */
	json_t *none = json_object();
	struct perr e = {0};
	if (none && proposal_argv(k, none, filled, PROPOSAL_MAX_ARGV, &e) < 0) {
		snprintf(field, sizeof field, "proposals[%zu].execute.%.20s", i, e.field);
		add(ps, -1, -1, k->name, field, "%s", e.msg);
	}
	json_decref(none);
}

static const char *argv_written(const struct proposal_kind *k)
{
	return k->nargv ? "argv" : NULL;
}

static void argv_refuse(const struct proposal_kind *k, const char *field, const char *takers,
			struct problems *ps)
{
	add(ps, -1, -1, k->name, field, "%s runs with %s, which takes no argv (that is for %s)",
	    k->name, executor_of(k), takers);
}

/* component: a declared owned component with an executor_url to call. */
static void component_check(const struct catalogue *cat, size_t i, struct problems *ps)
{
	const struct proposal_kind *k = &cat->kinds[i];
	const char *nm = k->name;
	char field[64];
	snprintf(field, sizeof field, "proposals[%zu].execute.component", i);
	const struct component_contract *c = catalogue_find(cat, k->component);
	if (!k->component[0])
		add(ps, -1, -1, nm, field,
		    "%s runs with %s, so it needs component: the owned component whose "
		    "executor_url is called", nm, executor_of(k));
	else if (!c)
		add(ps, -1, -1, nm, field,
		    "%s names the component '%s', which is not declared under components", nm,
		    k->component);
	else if (c->ownership != OWNERSHIP_OWNED)
		add(ps, -1, -1, nm, field,
		    "%s names '%s', an endpoint: Portal runs nothing there (name an owned "
		    "component)", nm, k->component);
	else if (!c->executor_url.s[0])
		add(ps, -1, -1, nm, field, "%s names '%s', which has no executor_url to call", nm,
		    k->component);
}

static const char *component_written(const struct proposal_kind *k)
{
	return k->component[0] ? "component" : NULL;
}

static void component_refuse(const struct proposal_kind *k, const char *field,
			     const char *takers, struct problems *ps)
{
	add(ps, -1, -1, k->name, field,
	    "%s runs with %s, which calls no component (remove it, or use %s)", k->name,
	    executor_of(k), takers);
}

/* namespace, workflow_type and task_queue: all three. */
static void workflow_check(const struct catalogue *cat, size_t i, struct problems *ps)
{
	const struct proposal_kind *k = &cat->kinds[i];
	static const char *const keys[] = {"namespace", "workflow_type", "task_queue"};
	const char *vals[] = {k->temporal_namespace, k->workflow_type, k->task_queue};
	char field[64];
	for (int t = 0; t < 3; t++) {
		snprintf(field, sizeof field, "proposals[%zu].execute.%s", i, keys[t]);
		if (!vals[t][0])
			add(ps, -1, -1, k->name, field, "%s runs with %s, so it needs %s", k->name,
			    executor_of(k), keys[t]);
	}
}

static const char *workflow_written(const struct proposal_kind *k)
{
	return k->temporal_namespace[0] ? "namespace"
	       : k->workflow_type[0]    ? "workflow_type"
	       : k->task_queue[0]       ? "task_queue"
					: NULL;
}

static void workflow_refuse(const struct proposal_kind *k, const char *field, const char *takers,
			    struct problems *ps)
{
	add(ps, -1, -1, k->name, field,
	    "%s runs with %s; namespace, workflow_type and task_queue are for %s", k->name,
	    executor_of(k), takers);
}

/* secret: optional; when named, a declared secret contract. */
static void secret_check(const struct catalogue *cat, size_t i, struct problems *ps)
{
	const struct proposal_kind *k = &cat->kinds[i];
	char field[64];
	snprintf(field, sizeof field, "proposals[%zu].execute.secret", i);
	if (k->secret[0] && !secret_find(cat, k->secret))
		add(ps, -1, -1, k->name, field,
		    "%s names the secret '%s', which is not declared under secrets", k->name,
		    k->secret);
}

static const char *secret_written(const struct proposal_kind *k)
{
	return k->secret[0] ? "secret" : NULL;
}

static void secret_refuse(const struct proposal_kind *k, const char *field, const char *takers,
			  struct problems *ps)
{
	add(ps, -1, -1, k->name, field,
	    "%s runs with %s, which sends no credential (remove the secret)", k->name,
	    executor_of(k));
}

static const struct execute_rule {
	unsigned key; /* EXECUTE_* */
	/* when the executor takes the key */
	void (*check)(const struct catalogue *cat, size_t i, struct problems *ps);
	/* the key as written ("argv"), or NULL when the kind leaves it out */
	const char *(*written)(const struct proposal_kind *k);
	/* when it is written but the executor does not take it; takers names
	 * the executors that do ("http or temporal") and field the key's path */
	void (*refuse)(const struct proposal_kind *k, const char *field, const char *takers,
		       struct problems *ps);
} execute_rules[] = {
	{EXECUTE_ARGV, argv_check, argv_written, argv_refuse},
	{EXECUTE_COMPONENT, component_check, component_written, component_refuse},
	{EXECUTE_WORKFLOW, workflow_check, workflow_written, workflow_refuse},
	{EXECUTE_SECRET, secret_check, secret_written, secret_refuse},
};

static void check_execute(const struct catalogue *cat, size_t i, struct problems *ps)
{
	const struct proposal_kind *k = &cat->kinds[i];
	unsigned takes = executor_kind_keys(k->executor);
	for (size_t r = 0; r < sizeof execute_rules / sizeof execute_rules[0]; r++) {
		const struct execute_rule *rule = &execute_rules[r];
		const char *written = rule->written(k);
		if (takes & rule->key) {
			rule->check(cat, i, ps);
		} else if (written) {
			char field[64], takers[64];
			snprintf(field, sizeof field, "proposals[%zu].execute.%s", i, written);
			executor_kind_list(rule->key, " or ", takers, sizeof takers);
			rule->refuse(k, field, takers, ps);
		}
	}
}

static void check_kind(const struct catalogue *cat, size_t i, struct problems *ps)
{
	const struct proposal_kind *k = &cat->kinds[i];
	const char *nm = k->name;
	char field[64];
	snprintf(field, sizeof field, "proposals[%zu].name", i);
	if (!contract_name_valid(nm))
		add(ps, -1, -1, nm, field,
		    "a proposal kind name is 1 to 63 lower-case letters, digits or '-'");
	for (size_t j = 0; j < i; j++)
		if (strcmp(cat->kinds[j].name, nm) == 0) {
			add(ps, -1, -1, nm, field, "'%s' is declared twice (first as proposals[%zu])",
			    nm, j);
			break;
		}
	snprintf(field, sizeof field, "proposals[%zu].propose", i);
	if (!role_name((enum role)k->propose_role))
		add(ps, -1, -1, nm, field, "%s's propose must be viewer, operator, approver or admin",
		    nm);
	snprintf(field, sizeof field, "proposals[%zu].approve", i);
	if (!role_name((enum role)k->approve_role))
		add(ps, -1, -1, nm, field, "%s's approve must be viewer, operator, approver or admin",
		    nm);
	snprintf(field, sizeof field, "proposals[%zu].fields", i);
	if (k->nfields > PROPOSAL_MAX_FIELDS)
		add(ps, -1, -1, nm, field, "%s declares %zu fields; at most %d", nm, k->nfields,
		    PROPOSAL_MAX_FIELDS);
	for (size_t fi = 0; fi < k->nfields && fi < PROPOSAL_MAX_FIELDS; fi++)
		check_field(k, i, fi, ps);

	check_execute(cat, i, ps);
	snprintf(field, sizeof field, "proposals[%zu].execute.max_attempts", i);
	if (k->max_attempts < 1 || k->max_attempts > PROPOSAL_MAX_ATTEMPTS)
		add(ps, -1, -1, nm, field, "%s's max_attempts must be between 1 and %d, got %d", nm,
		    PROPOSAL_MAX_ATTEMPTS, k->max_attempts);
	snprintf(field, sizeof field, "proposals[%zu].execute.timeout_ms", i);
	if (k->timeout_ms < PROPOSAL_MIN_TIMEOUT_MS || k->timeout_ms > PROPOSAL_MAX_TIMEOUT_MS)
		add(ps, -1, -1, nm, field, "%s's timeout_ms must be between %d and %d, got %d", nm,
		    PROPOSAL_MIN_TIMEOUT_MS, PROPOSAL_MAX_TIMEOUT_MS, k->timeout_ms);
}

size_t catalogue_check(const struct catalogue *cat, struct contract_problem *out, size_t cap)
{
	struct problems ps = {out, out ? cap : 0, 0};
	for (size_t i = 0; i < cat->ncomponents; i++)
		check_component(cat, (int)i, &ps);
	for (size_t i = 0; i < cat->nprojects; i++)
		check_project(cat, i, &ps);
	for (size_t i = 0; i < cat->nkinds; i++)
		check_kind(cat, i, &ps);

	int need_vault = 0;
	for (size_t i = 0; i < cat->nsecrets; i++) {
		const struct secret_contract *s = &cat->secrets[i];
		if (!secret_name_valid(s->name))
			add(&ps, -1, (int)i, s->name, "name",
			    "a secret name is 1 to 63 lower-case letters, digits, '_' or '-'");
		for (size_t j = 0; j < i; j++)
			if (strcmp(cat->secrets[j].name, s->name) == 0) {
				add(&ps, -1, (int)i, s->name, "name", "'%s' is declared twice",
				    s->name);
				break;
			}
		if (s->source == SECRET_VAULT && (!cat->vault.addr.s[0] ||
						  !cat->vault.token_secret[0])) {
			add(&ps, -1, (int)i, s->name, "source",
			    "secret '%s' is read from vault, which needs vault.addr and vault.token",
			    s->name);
			need_vault = 1;
		}
	}
	const struct vault_contract *v = &cat->vault;
	if (v->addr.s[0] && !contract_url_valid(v->addr.s, NULL, 0))
		add(&ps, -1, -1, "vault", "addr",
		    "vault.addr must be http(s)://host[:port][/path] with no user or password");
	if (v->addr.s[0] && !v->token_secret[0] && !need_vault)
		add(&ps, -1, -1, "vault", "token",
		    "vault.addr is set, so vault.token must name the secret holding its token");
	if (v->token_secret[0]) {
		const struct secret_contract *t = secret_find(cat, v->token_secret);
		if (!t)
			add(&ps, -1, -1, "vault", "token",
			    "vault.token names the secret '%s', which is not declared under secrets",
			    v->token_secret);
		else if (t->source == SECRET_VAULT)
			add(&ps, -1, -1, "vault", "token",
			    "vault.token '%s' cannot itself come from vault; use env: or file:",
			    v->token_secret);
		if (!v->addr.s[0] && !need_vault)
			add(&ps, -1, -1, "vault", "addr",
			    "vault.token is set, so vault.addr must give the Vault address");
	}
	return ps.n;
}
