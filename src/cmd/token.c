/* token: `portal token create|list|revoke` — bearer tokens for producers.
 * A new token is printed once; only its id and a hash of its secret are
 * stored. A running server loads changes within one readiness interval. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "cmd/cmd.h"
#include "auth/token.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/log.h"

static const char *const token_options[] = {"name", "scope", NULL};

static const struct cmd_spec token_spec = {
	.name = "token",
	.summary = "Manage bearer tokens for machines that post events.\n"
		   "  portal token create --name NAME --scope events:write   prints the token once\n"
		   "  portal token list                                       names, scopes, state\n"
		   "  portal token revoke NAME                                stops it working",
	.settings = CONFIG_CMD_TOKEN,
	.options = token_options,
};

static int print_token(void *arg, const struct store_token *t)
{
	char created[32], revoked[32] = "";
	log_format_time(t->created_at, created);
	if (t->revoked_at)
		log_format_time(t->revoked_at, revoked);
	printf("%-24s %-10s %-16s %s%s%s\n", t->name, t->revoked_at ? "revoked" : "live", t->scopes,
	       created, t->revoked_at ? "  revoked " : "", revoked);
	(*(int *)arg)++;
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
		rc = store_tokens(st, print_token, &n, &err);
		if (rc == 0 && n == 0)
			fprintf(stderr, "no tokens yet: portal token create --name NAME --scope events:write\n");
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
