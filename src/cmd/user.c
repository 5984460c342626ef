/* user: `portal user add|passwd|disable|enable|signout|list` — local
 * accounts. A password is read as one line from stdin or generated and
 * printed once; only its argon2id hash is stored, and a password is never
 * logged or echoed otherwise. A new password or a disabled account ends every
 * sign-in session of that account. Deleting accounts is deliberately absent:
 * a disabled account keeps its name, so it cannot be reused by someone else. */
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "cmd/cmd.h"
#include "core/role.h"
#include "auth/password.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/log.h"

/* Random bytes in a generated password: 120 bits, 20 base64url characters. */
#define GENERATED_BYTES 15
#define PW_BUF (PASSWORD_MAX + 3) /* a line one over the limit, a '\r', the NUL */

static const char *const opt_name[] = {"name", NULL};
static const char *const opt_name_role[] = {"name", "role", NULL};
static const char *const sw_password[] = {"password-stdin", NULL};
static const char *const sw_json[] = {"json", NULL};

#define PASSWORD_HELP                                                                     \
	"Without --password-stdin a strong password is generated and printed once on\n"  \
	"stdout; with it, one line is read from stdin (12-256 bytes, no control\n"        \
	"characters)."

static const struct cmd_spec user_spec = {
	.name = "user",
	.summary = "Manage local accounts. Roles, each including the ones before it:\n"
		   "viewer, operator, approver, admin.\n"
		   "  portal user add --name NAME --role ROLE [--password-stdin]\n"
		   "  portal user passwd --name NAME [--password-stdin]   also signs it out\n"
		   "  portal user disable --name NAME                     also signs it out\n"
		   "  portal user enable --name NAME\n"
		   "  portal user signout --name NAME                     ends its sign-ins\n"
		   "  portal user list [--json]                           never shows hashes\n"
		   "'portal user SUB --help' describes one of them.",
	.settings = CONFIG_CMD_USER,
};

enum sub { SUB_ADD, SUB_PASSWD, SUB_DISABLE, SUB_ENABLE, SUB_SIGNOUT, SUB_LIST, SUB_COUNT };

static const char *const sub_names[SUB_COUNT] = {"add",    "passwd",  "disable",
						 "enable", "signout", "list"};

static const struct cmd_spec sub_specs[SUB_COUNT] = {
	[SUB_ADD] = {"user add",
		     "Create an account with a role (viewer, operator, approver or admin).\n"
		     "  portal user add --name NAME --role ROLE [--password-stdin]\n"
		     "NAME is 1-63 characters of a-z, 0-9, '.', '_' and '-'.\n" PASSWORD_HELP,
		     CONFIG_CMD_USER, sw_password, opt_name_role},
	[SUB_PASSWD] = {"user passwd",
			"Set a new password for an account and sign it out everywhere.\n"
			"  portal user passwd --name NAME [--password-stdin]\n" PASSWORD_HELP,
			CONFIG_CMD_USER, sw_password, opt_name},
	[SUB_DISABLE] = {"user disable",
			 "Stop an account from signing in, and end its sign-in sessions.\n"
			 "  portal user disable --name NAME",
			 CONFIG_CMD_USER, NULL, opt_name},
	[SUB_ENABLE] = {"user enable",
			"Let a disabled account sign in again (with its old password).\n"
			"  portal user enable --name NAME",
			CONFIG_CMD_USER, NULL, opt_name},
	[SUB_SIGNOUT] = {"user signout",
			 "End every sign-in session of an account; it may sign in again.\n"
			 "  portal user signout --name NAME",
			 CONFIG_CMD_USER, NULL, opt_name},
	[SUB_LIST] = {"user list",
		      "List accounts: name, role, state (enabled or disabled), when created.\n"
		      "  portal user list [--json]\n"
		      "Password hashes are never shown.",
		      CONFIG_CMD_USER, sw_json, NULL},
};

static int valid_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n >= STORE_NAME_MAX)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' ||
		      *s == '_' || *s == '.'))
			return 0;
	return 1;
}

/* Reads one line of stdin into pw (PW_BUF bytes), without its line ending,
 * and without echo when stdin is a terminal. Returns NULL or why not. */
static const char *read_password(char pw[PW_BUF])
{
	struct termios old, quiet;
	int tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
	if (tty) {
		fputs("password: ", stderr);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	size_t n = 0;
	int c, nul = 0;
	while (n < PW_BUF - 1 && (c = getchar()) != EOF && c != '\n') {
		nul |= c == '\0';
		pw[n++] = (char)c;
	}
	pw[n] = '\0';
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	if (n == 0 && feof(stdin))
		return "stdin is empty: give the password as one line";
	if (n > 0 && pw[n - 1] == '\r')
		pw[--n] = '\0';
	if (nul) /* strlen would cut the password short there */
		return "the password contains a control character (such as a tab or a line break)";
	return password_unacceptable(pw);
}

static void generate_password(char pw[PW_BUF])
{
	unsigned char raw[GENERATED_BYTES];
	randombytes_buf(raw, sizeof raw);
	sodium_bin2base64(pw, PW_BUF, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof raw);
}

/* Fills hash from a password read from stdin or generated into pw (which
 * the caller wipes). Returns 0, or wipes pw, prints why and returns 1. */
static int new_password(const char *cmd, int from_stdin, char pw[PW_BUF],
			char hash[STORE_PW_HASH_MAX])
{
	if (from_stdin) {
		const char *why = read_password(pw);
		if (why) {
			sodium_memzero(pw, PW_BUF);
			fprintf(stderr, "portal %s: --password-stdin: %s\n", cmd, why);
			return 1;
		}
	} else {
		generate_password(pw);
	}
	if (password_hash(pw, hash) < 0) {
		sodium_memzero(pw, PW_BUF);
		fprintf(stderr, "portal %s: cannot hash the password: out of memory\n", cmd);
		return 1;
	}
	return 0;
}

static const char *plural(long long n)
{
	return n == 1 ? "" : "s";
}

static int print_user(void *arg, const struct store_user *u)
{
	char created[32];
	log_format_time(u->created_at, created);
	printf("%-24s %-9s %-9s %s\n", u->name, role_name(u->role),
	       u->disabled ? "disabled" : "enabled", created);
	return 0;
}

static int json_user(void *arg, const struct store_user *u)
{
	char created[32];
	log_format_time(u->created_at, created);
	json_array_append_new(arg, json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "name", u->name,
					     "role", role_name(u->role), "state",
					     u->disabled ? "disabled" : "enabled", "created",
					     created, "created_at", (json_int_t)u->created_at,
					     "updated_at", (json_int_t)u->updated_at));
	return 0;
}

static int list(struct store *st, int as_json, struct perr *err)
{
	long long n = 0;
	if (!as_json) {
		int rc = store_users(st, print_user, NULL, &n, err);
		if (rc == 0 && n == 0)
			fprintf(stderr, "no accounts yet: portal user add --name NAME --role ROLE\n");
		return rc;
	}
	json_t *arr = json_array();
	int rc = store_users(st, json_user, arr, &n, err);
	if (rc == 0) {
		json_dumpf(arr, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
	}
	json_decref(arr);
	return rc;
}

/* The work of one sub-command on an open store. Returns 0, 1 after printing
 * why, or a PERR_* code with err filled. */
static int run(enum sub sub, const struct cmd_args *args, struct store *st, struct perr *err)
{
	const char *cmd = sub_specs[sub].name;
	const char *name = cmd_option(args, "name");
	char pw[PW_BUF] = "";
	long long now = clock_wall_ms(), ended = 0;
	struct store_user u;
	memset(&u, 0, sizeof u);
	int rc = 0;

	if (sub == SUB_LIST)
		return list(st, cmd_switch(args, "json"), err);
	if (sub == SUB_ADD) {
		snprintf(u.name, sizeof u.name, "%s", name);
		u.role = role_parse(cmd_option(args, "role"));
		u.created_at = u.updated_at = now;
		int from_stdin = cmd_switch(args, "password-stdin");
		if (new_password(cmd, from_stdin, pw, u.pw_hash) != 0)
			return 1;
		rc = store_user_add(st, &u, err);
		if (rc == 0 && from_stdin)
			printf("account '%s' (%s) created\n", u.name, role_name(u.role));
		if (rc == 0 && !from_stdin) {
			printf("%s\n", pw);
			fprintf(stderr, "account '%s' (%s) created; its password is shown only now: "
					"hand it over privately.\n", u.name, role_name(u.role));
		}
		sodium_memzero(pw, sizeof pw);
		return rc;
	}

	rc = store_user_get(st, name, &u, err);
	if (rc < 0)
		return rc;
	switch (sub) {
	case SUB_PASSWD: {
		int from_stdin = cmd_switch(args, "password-stdin");
		if (new_password(cmd, from_stdin, pw, u.pw_hash) != 0)
			return 1;
		u.updated_at = now;
		rc = store_user_update(st, &u, err);
		if (rc == 0)
			rc = store_login_delete_user(st, u.id, &ended, err);
		if (rc == 0 && !from_stdin)
			printf("%s\n", pw);
		sodium_memzero(pw, sizeof pw);
		if (rc < 0)
			return rc;
		fprintf(from_stdin ? stdout : stderr,
			"password of '%s' changed%s; %lld sign-in session%s ended%s\n", u.name,
			from_stdin ? "" : " (shown only now: hand it over privately)", ended,
			plural(ended), u.disabled ? "; the account stays disabled" : "");
		return 0;
	}
	case SUB_DISABLE:
	case SUB_ENABLE: {
		int want = sub == SUB_DISABLE, was = u.disabled;
		u.disabled = want;
		u.updated_at = now;
		/* Disabling again still runs: it ends any sign-in made meanwhile. */
		if (was != want || want)
			rc = store_user_update(st, &u, err);
		if (rc == 0)
			printf("account '%s' %s%s\n", u.name,
			       was == want ? "was already " : "", want ? "disabled" : "enabled");
		return rc;
	}
	case SUB_SIGNOUT:
		rc = store_login_delete_user(st, u.id, &ended, err);
		if (rc == 0)
			printf("%lld sign-in session%s of '%s' ended\n", ended, plural(ended),
			       u.name);
		return rc;
	default:
		return perr_set(err, PERR_INTERNAL, NULL, "unknown sub-command");
	}
}

int cmd_user(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		int asked = argc >= 2;
		cmd_help(&user_spec, asked ? stdout : stderr);
		return asked ? 0 : 2;
	}
	int sub = 0;
	while (sub < SUB_COUNT && strcmp(argv[1], sub_names[sub]))
		sub++;
	if (sub == SUB_COUNT) {
		if (argv[1][0] == '-')
			fprintf(stderr, "portal user: give the sub-command before '%s' (add, passwd, "
					"disable, enable, signout, list)\n", argv[1]);
		else
			fprintf(stderr, "portal user: unknown sub-command '%s' (add, passwd, disable, "
					"enable, signout, list)\n", argv[1]);
		return 2;
	}
	const char *cmd = sub_specs[sub].name;
	struct cmd_args args;
	struct config cfg;
	int rc0 = cmd_begin(&sub_specs[sub], argc - 1, argv + 1, &args, &cfg);
	if (rc0 >= 0)
		return rc0;

	const char *name = cmd_option(&args, "name");
	if (sub != SUB_LIST && !name) {
		fprintf(stderr, "portal %s: give the account's name (--name NAME)\n", cmd);
		return 2;
	}
	if (name && !valid_name(name)) {
		fprintf(stderr, "portal %s: --name: an account name is 1-63 characters of a-z, 0-9, "
				"'.', '_' or '-'\n", cmd);
		return 1;
	}
	if (sub == SUB_ADD) {
		const char *role = cmd_option(&args, "role");
		if (!role) {
			fprintf(stderr, "portal %s: give the account's role (--role viewer, operator, "
					"approver or admin)\n", cmd);
			return 2;
		}
		if (role_parse(role) < 0) {
			fprintf(stderr, "portal %s: --role: '%s' is not a role; use viewer, operator, "
					"approver or admin\n", cmd, role);
			return 1;
		}
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "portal %s: libsodium cannot start\n", cmd);
		return 1;
	}
	struct store *st = NULL;
	if (cmd_open_store(cmd, &cfg, &st) != 0)
		return 1;
	struct perr err;
	perr_clear(&err);
	int rc = run(sub, &args, st, &err);
	store_close(st);
	if (rc < 0) {
		fprintf(stderr, "portal %s: %s\n", cmd, err.msg);
		return 1;
	}
	return rc;
}
