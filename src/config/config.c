/* config: builds a config from its four layers (defaults, the file, the
 * PORTAL_* environment, the flags) and checks the rules that span settings.
 * It reads the file's top level and its setting sections here, and hands the
 * catalogue sections to catalogue.c and proposals.c. It only collects
 * located errors and returns them; it never logs, holds no global mutable
 * state, and does not decide what a setting means at run time. */
#include "config/config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/catalogue.h"
#include "config/cursor.h"
#include "config/settings.h"
#include "util/cidr.h"

/* A config file larger than this is refused rather than read. */
#define CONFIG_MAX_FILE_BYTES (1L << 20)

void config_error_format(const struct config_error *e, struct buf *out)
{
	if (e->line > 0)
		buf_printf(out, "%s:%d:%d: ", e->file, e->line, e->column);
	else
		buf_printf(out, "%s: ", e->file);
	if (e->key[0])
		buf_printf(out, "%s: ", e->key);
	buf_puts(out, e->msg);
}

/* An address list written as a YAML sequence ([a, b] or "- a" lines); the
 * current event is its SEQUENCE-START. Each entry is checked where it is
 * written; the list is stored as the same "a, b" text the environment takes.
 * Returns 0 (o->bad set when refused), or -1 when the YAML broke. */
static int parse_list_value(struct parser *p, const struct config_setting *s, struct origin *o)
{
	yaml_mark_t m = p->ev.start_mark;
	struct buf joined = BUF_INIT;
	char msg[256];
	for (;;) {
		if (cursor_next(p) < 0) {
			buf_free(&joined);
			return -1;
		}
		if (p->ev.type == YAML_SEQUENCE_END_EVENT)
			break;
		yaml_mark_t im = p->ev.start_mark;
		int rc;
		const char *v = cursor_scalar(p, s->key, "an address or CIDR", &rc);
		if (!v) {
			o->bad = 1;
			if (rc < 0) {
				buf_free(&joined);
				return -1;
			}
			continue;
		}
		if (!cidr_list_valid(v, msg, sizeof msg) || !v[strspn(v, " \t")]) {
			if (!msg[0])
				snprintf(msg, sizeof msg, "an empty entry");
			config_err_add(p->errs, p->name, line_of(im), col_of(im), s->key, "%s", msg);
			o->bad = 1;
			continue;
		}
		buf_printf(&joined, "%s%s", joined.len ? ", " : "", v);
	}
	if (!o->bad && setting_apply(s, p->c, buf_cstr(&joined), 0, msg, sizeof msg) < 0) {
		config_err_add(p->errs, p->name, line_of(m), col_of(m), s->key, "%s", msg);
		o->bad = 1;
	}
	buf_free(&joined);
	return 0;
}

/* The value of setting s; the current event is its first. */
static int parse_value(struct parser *p, const struct config_setting *s)
{
	yaml_event_t *ev = &p->ev;
	yaml_mark_t m = ev->start_mark;
	struct origin *o = &p->marks->setting[s - config_settings];
	char msg[256];
	o->layer = FROM_FILE;
	o->at.line = line_of(m);
	o->at.col = col_of(m);
	if (ev->type == YAML_SEQUENCE_START_EVENT && s->type == SET_PROXIES) {
		o->bad = 0;
		return parse_list_value(p, s, o);
	}
	o->bad = 1; /* until the value is taken */
	if (ev->type != YAML_SCALAR_EVENT) {
		config_err_add(p->errs, p->name, line_of(m), col_of(m), s->key, "expected %s, got %s",
			       s->type == SET_PROXIES ? "a list of addresses or CIDRs"
					       : setting_type_name(s->type),
			       cursor_kind(ev));
		return cursor_skip(p);
	}
	const char *v = (const char *)ev->data.scalar.value;
	if (cursor_is_null(ev)) {
		config_err_add(p->errs, p->name, line_of(m), col_of(m), s->key, "expected %s, got %s",
			       setting_type_name(s->type), *v ? "null" : "nothing");
		return 0;
	}
	if (strlen(v) != ev->data.scalar.length) {
		config_err_add(p->errs, p->name, line_of(m), col_of(m), s->key,
			       "must not contain a NUL character");
		return 0;
	}
	int quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
	if (setting_apply(s, p->c, v, quoted, msg, sizeof msg) < 0)
		config_err_add(p->errs, p->name, line_of(m), col_of(m), s->key, "%s", msg);
	else
		o->bad = 0;
	return 0;
}

/* The settings of one section; the current event is its MAPPING-START. */
static int parse_section(struct parser *p, const char *section)
{
	int more;
	while ((more = cursor_next_key(p, section, "a setting name")) > 0) {
		yaml_mark_t km = p->ev.start_mark;
		char key[256];
		const char *name = (const char *)p->ev.data.scalar.value;
		snprintf(key, sizeof key, "%s.%s", section, name);
		snprintf(p->last_key, sizeof p->last_key, "%s", key);
		const struct config_setting *s = setting_by_key(key);
		char msg[256];
		if (!s) {
			config_unknown_key_msg(section, name, msg, sizeof msg);
			config_err_add(p->errs, p->name, line_of(km), col_of(km), key, "%s", msg);
		} else {
			int *seen = &p->seen_line[s - config_settings];
			if (*seen && !p->repeated)
				config_err_add(p->errs, p->name, line_of(km), col_of(km), key,
					       "duplicate key, first set at line %d", *seen);
			else if (!*seen)
				*seen = line_of(km);
		}
		if (cursor_next(p) < 0)
			return -1;
		if (!s) {
			if (cursor_skip(p) < 0)
				return -1;
			continue;
		}
		if (parse_value(p, s) < 0)
			return -1;
	}
	return more;
}

/* The top-level mapping of sections; the current event is its MAPPING-START. */
static int parse_sections(struct parser *p)
{
	int more;
	while ((more = cursor_next_key(p, "", "a section name (" SECTION_LIST ")")) > 0) {
		yaml_mark_t km = p->ev.start_mark;
		char section[128], msg[256];
		snprintf(section, sizeof section, "%s", (const char *)p->ev.data.scalar.value);
		snprintf(p->last_key, sizeof p->last_key, "%s", section);
		int si = config_section_index(section);
		if (si < 0) {
			config_unknown_section_msg(section, msg, sizeof msg);
			config_err_add(p->errs, p->name, line_of(km), col_of(km), section, "%s", msg);
		} else if (p->section_line[si]) {
			config_err_add(p->errs, p->name, line_of(km), col_of(km), section,
				       "duplicate key, first set at line %d", p->section_line[si]);
		} else {
			p->section_line[si] = line_of(km);
		}
		if (cursor_next(p) < 0)
			return -1;
		int dup = si >= 0 && p->section_line[si] != line_of(km);
		if (si < 0 || cursor_is_null(&p->ev) || (dup && si >= SEC_COMPONENTS)) {
			/* unknown or a repeated catalogue section: already reported;
			 * empty: every setting commented out */
			if (cursor_skip(p) < 0)
				return -1;
			continue;
		}
		if (si >= SEC_COMPONENTS) {
			int rc = si == SEC_COMPONENTS ? config_read_components(p)
				 : si == SEC_PROJECTS ? config_read_projects(p)
				 : si == SEC_PROPOSALS ? config_read_proposals(p)
				 : si == SEC_SECRETS  ? config_read_secrets(p)
						      : config_read_vault(p);
			if (rc < 0)
				return -1;
			continue;
		}
		if (p->ev.type != YAML_MAPPING_START_EVENT) {
			yaml_mark_t vm = p->ev.start_mark;
			char what[64];
			config_err_add(p->errs, p->name, line_of(vm), col_of(vm), section,
				       "expected a mapping of settings, got %s", cursor_found(&p->ev, what));
			if (cursor_skip(p) < 0)
				return -1;
			continue;
		}
		p->repeated = p->section_line[si] != line_of(km);
		if (parse_section(p, section) < 0)
			return -1;
		p->repeated = 0;
	}
	return more;
}

static void parse_stream(struct parser *p)
{
	if (cursor_next(p) < 0) /* STREAM-START */
		return;
	if (cursor_next(p) < 0 || p->ev.type == YAML_STREAM_END_EVENT)
		return; /* an empty file, or only comments */
	/* DOCUMENT-START, then the root node */
	if (cursor_next(p) < 0)
		return;
	if (p->ev.type == YAML_MAPPING_START_EVENT) {
		if (parse_sections(p) < 0)
			return;
	} else if (!cursor_is_null(&p->ev)) {
		yaml_mark_t m = p->ev.start_mark;
		char what[64];
		config_err_add(p->errs, p->name, line_of(m), col_of(m), "",
			       "the file must be a mapping of sections (" SECTION_LIST "), got %s",
			       cursor_found(&p->ev, what));
		if (cursor_skip(p) < 0)
			return;
	}
	if (cursor_next(p) < 0) /* DOCUMENT-END */
		return;
	if (cursor_next(p) < 0)
		return;
	if (p->ev.type == YAML_DOCUMENT_START_EVENT) {
		yaml_mark_t m = p->ev.start_mark;
		config_err_add(p->errs, p->name, line_of(m), col_of(m), "",
			       "the file must hold one YAML document, found a second one");
	}
}

/* config_parse, also telling marks where the catalogue entries were. */
static int parse_text(struct config *c, const char *name, const char *text, size_t len,
		      struct config_errors *errs, struct provenance *marks)
{
	int before = errs->n + errs->dropped;
	struct parser *p = calloc(1, sizeof *p);
	if (!p)
		abort();
	p->name = name;
	p->c = c;
	p->errs = errs;
	p->marks = marks;
	if (!yaml_parser_initialize(&p->yp))
		abort();
	yaml_parser_set_input_string(&p->yp, (const unsigned char *)text, len);
	parse_stream(p);
	if (p->have_ev)
		yaml_event_delete(&p->ev);
	yaml_parser_delete(&p->yp);
	free(p);
	return errs->n + errs->dropped > before ? -1 : 0;
}

int config_parse(struct config *c, const char *name, const char *text, size_t len,
		 struct config_errors *errs)
{
	struct provenance marks = {0};
	int rc = parse_text(c, name, text, len, errs, &marks);
	config_provenance_free(&marks);
	return rc;
}

void config_dispose(struct config *c)
{
	free(c->catalogue.components);
	free(c->catalogue.projects);
	free(c->catalogue.secrets);
	free(c->catalogue.kinds);
	c->catalogue.kinds = NULL;
	c->catalogue.nkinds = 0;
	c->catalogue.components = NULL;
	c->catalogue.ncomponents = 0;
	c->catalogue.projects = NULL;
	c->catalogue.nprojects = 0;
	c->catalogue.secrets = NULL;
	c->catalogue.nsecrets = 0;
}

/* A heap copy of n elements of size bytes at src; NULL when n is 0. */
static void *dup_array(const void *src, size_t n, size_t size)
{
	if (!n)
		return NULL;
	void *dst = malloc(n * size);
	if (!dst)
		abort();
	memcpy(dst, src, n * size);
	return dst;
}

void config_copy(struct config *dst, const struct config *src)
{
	const struct catalogue *sc = &src->catalogue;
	*dst = *src;
	dst->catalogue.components = dup_array(sc->components, sc->ncomponents,
					      sizeof *sc->components);
	dst->catalogue.projects = dup_array(sc->projects, sc->nprojects, sizeof *sc->projects);
	dst->catalogue.secrets = dup_array(sc->secrets, sc->nsecrets, sizeof *sc->secrets);
	dst->catalogue.kinds = dup_array(sc->kinds, sc->nkinds, sizeof *sc->kinds);
}

/* --- build */

/* Reads the whole file into b. Returns 0, or -1 with errno set. */
static int read_file(const char *path, struct buf *b)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	char chunk[8192];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
		buf_append(b, chunk, n);
		if (b->len > (size_t)CONFIG_MAX_FILE_BYTES) {
			fclose(f);
			errno = EFBIG;
			return -1;
		}
	}
	int bad = ferror(f);
	fclose(f);
	if (bad) {
		errno = EIO;
		return -1;
	}
	return 0;
}

static void apply_env(struct config *c, char **envp, struct origin *origin,
		      struct config_errors *errs)
{
	for (; envp && *envp; envp++) {
		const char *eq = strchr(*envp, '=');
		if (!eq || strncmp(*envp, "PORTAL_", 7) != 0)
			continue;
		size_t nl = (size_t)(eq - *envp);
		for (int i = 0; i < SETTINGS_COUNT; i++) {
			const struct config_setting *s = &config_settings[i];
			if (strlen(s->env) != nl || strncmp(s->env, *envp, nl) != 0)
				continue;
			char msg[256];
			origin[i].layer = FROM_ENV;
			origin[i].bad = setting_apply(s, c, eq + 1, 0, msg, sizeof msg) < 0;
			if (origin[i].bad)
				config_err_add(errs, "environment", 0, 0, s->env, "%s", msg);
		}
	}
}

static void apply_flags(struct config *c, const struct config_source *src,
			struct origin *origin, struct config_errors *errs)
{
	for (int i = 0; i < src->nflags && i < CONFIG_MAX_FLAGS; i++) {
		const char *flag = src->flags[i][0], *value = src->flags[i][1];
		char key[128], msg[256];
		snprintf(key, sizeof key, "--%s", flag ? flag : "");
		const struct config_setting *s = flag ? setting_by_flag(flag) : NULL;
		if (!s) {
			const struct config_setting *near = NULL;
			for (int j = 0; flag && j < SETTINGS_COUNT && !near; j++)
				if (config_close_enough(flag, config_settings[j].flag))
					near = &config_settings[j];
			if (near)
				config_err_add(errs, "command line", 0, 0, key,
					       "unknown flag; did you mean '--%s'?", near->flag);
			else
				config_err_add(errs, "command line", 0, 0, key, "unknown flag");
			continue;
		}
		if (!value) {
			config_err_add(errs, "command line", 0, 0, key, "needs a value");
			continue;
		}
		struct origin *o = &origin[s - config_settings];
		o->layer = FROM_FLAG;
		o->bad = setting_apply(s, c, value, 0, msg, sizeof msg) < 0;
		if (o->bad)
			config_err_add(errs, "command line", 0, 0, key, "%s", msg);
	}
}

/* Reports a rule that spans settings at where s's value came from: its place
 * in the file, its variable or its flag. */
static void err_setting(struct config_errors *errs, const char *path, const struct origin *origin,
			const struct config_setting *s, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void err_setting(struct config_errors *errs, const char *path, const struct origin *origin,
			const struct config_setting *s, const char *fmt, ...)
{
	char msg[256], flag[64];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	const struct origin *o = &origin[s - config_settings];
	switch (o->layer) {
	case FROM_FILE:
		config_err_add(errs, path, o->at.line, o->at.col, s->key, "%s", msg);
		break;
	case FROM_ENV:
		config_err_add(errs, "environment", 0, 0, s->env, "%s", msg);
		break;
	case FROM_FLAG:
		snprintf(flag, sizeof flag, "--%s", s->flag);
		config_err_add(errs, "command line", 0, 0, flag, "%s", msg);
		break;
	case FROM_DEFAULT:
		config_err_add(errs, path[0] ? path : "defaults", 0, 0, s->key, "%s", msg);
		break;
	}
}

/* Whether a postgres:// URL carries a password: in its user info
 * (user:password@) or as a password= query parameter. A file path never does. */
static int db_url_has_password(const char *url)
{
	const char *sep = strstr(url, "://");
	if (!sep || (strncasecmp(url, "postgres://", 11) != 0 &&
		     strncasecmp(url, "postgresql://", 13) != 0))
		return 0;
	const char *auth = sep + 3;
	size_t alen = strcspn(auth, "/?");
	const char *at = memchr(auth, '@', alen);
	if (at && memchr(auth, ':', (size_t)(at - auth)))
		return 1;
	const char *q = strchr(auth, '?');
	while (q) {
		if (strncmp(q + 1, "password=", 9) == 0)
			return 1;
		q = strchr(q + 1, '&');
	}
	return 0;
}

/* The rules between settings, on the values every layer left. A setting whose
 * last value was refused is left out: that error comes first. */
static void check_settings(const struct config *c, const char *path, const struct origin *origin,
			   struct config_errors *errs)
{
	const struct config_setting *idle = setting_by_key("auth.session_idle_ms");
	const struct config_setting *max = setting_by_key("auth.session_max_ms");
	const struct config_setting *header = setting_by_key("auth.identity_header");
	const struct config_setting *proxies = setting_by_key("auth.trusted_proxies");
	if (!origin[idle - config_settings].bad && !origin[max - config_settings].bad &&
	    c->session_idle_ms > c->session_max_ms)
		/* at whichever of the two was set (idle when both were) */
		err_setting(errs, path, origin,
			    origin[idle - config_settings].layer != FROM_DEFAULT ? idle : max,
			    "auth.session_idle_ms (%d) must not exceed auth.session_max_ms (%d): a "
			    "sign-in cannot stay unused for longer than it may last",
			    c->session_idle_ms, c->session_max_ms);
	if (!origin[header - config_settings].bad && !origin[proxies - config_settings].bad &&
	    c->identity_header[0] && !c->trusted_proxies[0])
		err_setting(errs, path, origin, header,
			    "needs auth.trusted_proxies: the header is believed only from a "
			    "trusted proxy, and none is listed");
	/* The database password comes from a secret contract, never the file:
	 * outside dev mode a password written into store.db is refused. */
	const struct config_setting *db = setting_by_key("store.db");
	const struct config_setting *dbsecret = setting_by_key("store.password_secret");
	if (!origin[db - config_settings].bad && !c->catalogue.dev_mode && db_url_has_password(c->db))
		err_setting(errs, path, origin, db,
			    "holds a password; in production give it through "
			    "store.password_secret (a secret contract) instead");
	if (c->db_password_secret[0] && !origin[dbsecret - config_settings].bad) {
		size_t k = 0;
		while (k < c->catalogue.nsecrets &&
		       strcmp(c->catalogue.secrets[k].name, c->db_password_secret))
			k++;
		if (k == c->catalogue.nsecrets)
			err_setting(errs, path, origin, dbsecret,
				    "names no declared secret contract: '%s' is not under secrets",
				    c->db_password_secret);
	}
	/* A remote plane (or DataHub) calls a declared component's internal URL
	 * with the credential of a declared secret contract. */
	static const struct {
		const char *plane, *component, *secret;
	} remote[] = {
		{"proof.graph", "proof.graph_component", "proof.graph_secret"},
		{"proof.warehouse", "proof.warehouse_component", "proof.warehouse_secret"},
		{"proof.evidence", "proof.evidence_component", "proof.evidence_secret"},
		{NULL, "lineage.datahub_component", "lineage.datahub_secret"},
	};
	for (size_t i = 0; i < sizeof remote / sizeof remote[0]; i++) {
		const struct config_setting *pl = remote[i].plane ? setting_by_key(remote[i].plane) : NULL;
		const struct config_setting *co = setting_by_key(remote[i].component);
		const struct config_setting *se = setting_by_key(remote[i].secret);
		const char *plane = pl ? (const char *)c + pl->offset : NULL;
		const char *comp = (const char *)c + co->offset;
		const char *secret = (const char *)c + se->offset;
		int is_remote = plane ? strcmp(plane, "embedded") != 0 : comp[0] != '\0';
		if ((pl && origin[pl - config_settings].bad) || origin[co - config_settings].bad)
			continue;
		if (is_remote && !comp[0]) {
			err_setting(errs, path, origin, pl, "%s needs %s: the component it calls",
				    remote[i].plane, remote[i].component);
		} else if (is_remote) {
			const struct component_contract *k = catalogue_find(&c->catalogue, comp);
			if (!k)
				err_setting(errs, path, origin, co,
					    "names no declared component: '%s' is not under components",
					    comp);
			else if (!k->internal_url.s[0])
				err_setting(errs, path, origin, co,
					    "component '%s' has no internal_url for Portal to call",
					    comp);
		}
		if (secret[0] && !origin[se - config_settings].bad) {
			size_t k = 0;
			while (k < c->catalogue.nsecrets && strcmp(c->catalogue.secrets[k].name, secret))
				k++;
			if (k == c->catalogue.nsecrets)
				err_setting(errs, path, origin, se,
					    "names no declared secret contract: '%s' is not under secrets",
					    secret);
		}
	}
}

int config_build(struct config *c, const struct config_source *src,
		 struct config_errors *errs)
{
	errs->n = 0;
	errs->dropped = 0;
	config_defaults(c);
	struct provenance marks = {0};
	if (src->path) {
		struct buf text = BUF_INIT;
		if (read_file(src->path, &text) < 0)
			config_err_add(errs, src->path, 0, 0, "", "cannot read: %s",
				       errno == EFBIG ? "larger than 1048576 bytes" : strerror(errno));
		else
			parse_text(c, src->path, buf_cstr(&text), text.len, errs, &marks);
		buf_free(&text);
		if (strlen(src->path) >= sizeof c->path)
			config_err_add(errs, "command line", 0, 0, "--config",
				       "the path must be shorter than %zu characters", sizeof c->path);
	}
	apply_env(c, src->envp, marks.setting, errs);
	apply_flags(c, src, marks.setting, errs);
	check_settings(c, src->path ? src->path : "", marks.setting, errs);
	/* After the overrides: server.mode decides what a public URL may be. */
	config_check_catalogue(&c->catalogue, src->path ? src->path : "", &marks, errs);
	config_provenance_free(&marks);
	if (errs->n + errs->dropped > 0) {
		config_dispose(c);
		return -1;
	}
	snprintf(c->path, sizeof c->path, "%s", src->path ? src->path : "");
	return 0;
}

