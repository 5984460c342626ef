/* token: `portal token create|list|revoke` — bearer tokens for producers.
 * A new token is printed once; only its id and a hash of its secret are
 * stored, with the projects and types an events:write token may write. A
 * running server loads changes within one readiness interval. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "cmd/cmd.h"
#include "auth/token.h"
#include "core/event.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/log.h"

static const char *const token_options[] = {"name", "scope", "project", "type", NULL};
static const char *const token_switches[] = {"json", NULL};

static const struct cmd_spec token_spec = {
	.name = "token",
	.summary = "Manage bearer tokens for machines that post events.\n"
		   "  portal token create --name NAME --scope events:write   prints the token once\n"
		   "      [--project GLOB]... [--type GLOB]...               limits what it may write\n"
		   "  portal token list [--json]                              names, scopes, limits, state\n"
		   "  portal token revoke NAME                                stops it working\n"
		   "--project and --type take fnmatch(3) globs (e.g. 'atlas-*', 'deploy.*'), repeated\n"
		   "or comma-separated, at most 8 each; an event outside them is refused with 403.",
	.settings = CONFIG_CMD_TOKEN,
	.switches = token_switches,
	.options = token_options,
};

static int print_token(void *arg, const struct store_token *t)
{
	char created[32], revoked[32] = "";
	log_format_time(t->created_at, created);
	if (t->revoked_at)
		log_format_time(t->revoked_at, revoked);
	printf("%-24s %-10s %-16s %s%s%s", t->name, t->revoked_at ? "revoked" : "live", t->scopes,
	       created, t->revoked_at ? "  revoked " : "", revoked);
	if (t->projects[0])
		printf("  projects: %s", t->projects);
	if (t->types[0])
		printf("  types: %s", t->types);
	putchar('\n');
	(*(int *)arg)++;
	return 0;
}

/* A limit list as a JSON array of globs ([] for no limit). */
static json_t *globs_json(const char *list)
{
	json_t *a = json_array();
	for (const char *p = list; *p;) {
		size_t n = strcspn(p, " ");
		if (n)
			json_array_append_new(a, json_stringn(p, n));
		p += n;
		while (*p == ' ')
			p++;
	}
	return a;
}

static int json_token(void *arg, const struct store_token *t)
{
	char created[32];
	log_format_time(t->created_at, created);
	json_t *o = json_pack("{s:s, s:s, s:s, s:o, s:o, s:s, s:I}", "name", t->name, "state",
			      t->revoked_at ? "revoked" : "live", "scopes", t->scopes, "projects",
			      globs_json(t->projects), "types", globs_json(t->types), "created",
			      created, "created_at", (json_int_t)t->created_at);
	if (t->revoked_at)
		json_object_set_new(o, "revoked_at", json_integer(t->revoked_at));
	json_array_append_new(arg, o);
	return 0;
}

/* Gathers every --NAME given (repeated, or comma-separated in one) into the
 * stored list; prints the error naming the flag and returns -1. */
static int gather_limits(const struct cmd_args *a, const char *flag, char *list, size_t cap)
{
	list[0] = 0;
	for (int i = 0; i < a->noptions; i++) {
		if (strcmp(a->options[i][0], flag) != 0)
			continue;
		const char *v = a->options[i][1];
		for (;;) {
			size_t n = strcspn(v, ",");
			char glob[256];
			snprintf(glob, sizeof glob, "%.*s", (int)(n > 255 ? 255 : n), v);
			struct perr err = {0};
			if (token_limit_add(list, cap, flag, glob, &err) < 0) {
				fprintf(stderr, "portal token create: %s\n", err.msg);
				return -1;
			}
			if (!v[n])
				break;
			v += n + 1;
		}
	}
	return 0;
}

static int valid_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 63)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.'))
			return 0;
	return 1;
}

int cmd_token(int argc, char **argv)
{
	struct cmd_args args;
	if (cmd_parse_words(&token_spec, 2, argc, argv, &args) != 0)
		return 2;
	if (args.help || args.npositional == 0) {
		cmd_help(&token_spec, args.help ? stdout : stderr);
		return args.help ? 0 : 2;
	}
	const char *sub = args.positional[0];
	if (strcmp(sub, "create") && strcmp(sub, "list") && strcmp(sub, "revoke")) {
		fprintf(stderr, "portal token: unknown sub-command '%s' (create, list, revoke)\n", sub);
		return 2;
	}
	const char *name = cmd_option(&args, "name");
	if (!strcmp(sub, "revoke") && !name && args.npositional > 1)
		name = args.positional[1];
	if (strcmp(sub, "list") && !name) {
		fprintf(stderr, "portal token %s: give the token's name (--name NAME)\n", sub);
		return 2;
	}
	const char *scope = cmd_option(&args, "scope");
	char projects[STORE_TOKEN_LIMITS_MAX], types[STORE_TOKEN_LIMITS_MAX];
	if (!strcmp(sub, "create")) {
		const char *bad;
		size_t badlen;
		if (!valid_name(name)) {
			fprintf(stderr, "portal token create: --name must be 1-63 letters, digits, "
					"'-', '_' or '.'\n");
			return 1;
		}
		if (!scope) {
			fprintf(stderr, "portal token create: give --scope (known: events:write)\n");
			return 2;
		}
		if (!token_scopes_valid(scope, &bad, &badlen)) {
			fprintf(stderr, "portal token create: --scope: unknown scope '%.*s' (known: "
					"events:write)\n", (int)badlen, bad);
			return 1;
		}
		/* A token's name is the source of its events: Portal's own
		 * names stay Portal's. */
		if (event_source_reserved(name)) {
			fprintf(stderr, "portal token create: --name '%s' is the source Portal gives "
					"its own events; choose another\n", name);
			return 1;
		}
		if (gather_limits(&args, "project", projects, sizeof projects) < 0 ||
		    gather_limits(&args, "type", types, sizeof types) < 0)
			return 1;
		if ((projects[0] || types[0]) && !token_scopes_have(scope, "events:write")) {
			fprintf(stderr, "portal token create: --project and --type limit what a token "
					"writes; they need --scope events:write\n");
			return 1;
		}
	} else if (cmd_option(&args, "project") || cmd_option(&args, "type")) {
		fprintf(stderr, "portal token %s: --project and --type are for create\n", sub);
		return 2;
	}
	struct config cfg;
	if (cmd_config(&args, &cfg) != 0)
		return 1;
	if (sodium_init() < 0)
		return 1;
	struct store *st = NULL;
	if (cmd_open_store("token", &cfg, &st) != 0)
		return 1;
	struct perr err = {0};
	int rc = 0;
	if (!strcmp(sub, "create")) {
		struct store_token t;
		memset(&t, 0, sizeof t);
		char text[TOKEN_TEXT_MAX];
		token_generate(text, t.id, t.hash);
		snprintf(t.name, sizeof t.name, "%s", name);
		snprintf(t.scopes, sizeof t.scopes, "%s", scope);
		memcpy(t.projects, projects, sizeof t.projects);
		memcpy(t.types, types, sizeof t.types);
		t.created_at = clock_wall_ms();
		rc = store_token_add(st, &t, &err);
		if (rc == 0) {
			printf("%s\n", text);
			fprintf(stderr, "token '%s' created with scope %s; it is shown only now: store it "
					"in your secret store.\n", name, scope);
		}
		sodium_memzero(text, sizeof text);
	} else if (!strcmp(sub, "list")) {
		int n = 0;
		if (cmd_switch(&args, "json")) {
			json_t *arr = json_array();
			rc = store_tokens(st, json_token, arr, &err);
			if (rc == 0) {
				json_dumpf(arr, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
				putchar('\n');
			}
			json_decref(arr);
		} else {
			rc = store_tokens(st, print_token, &n, &err);
			if (rc == 0 && n == 0)
				fprintf(stderr, "no tokens yet: portal token create --name NAME --scope "
						"events:write\n");
		}
	} else {
		rc = store_token_revoke(st, name, clock_wall_ms(), &err);
		if (rc == 0)
			printf("token '%s' revoked\n", name);
	}
	store_close(st);
	if (rc < 0) {
		fprintf(stderr, "portal token %s: %s\n", sub, err.msg);
		return 1;
	}
	return 0;
}
