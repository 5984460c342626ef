/* args: the command-line conventions every subcommand shares:
 * --flag VALUE or --flag=VALUE for settings, bare --switch for switches,
 * --help anywhere. No positional arguments. */
#include "cmd/cmd.h"

#include "adapters/secrets.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

extern char **environ;

static int listed(const char *const *list, const char *name, size_t len)
{
	for (; list && *list; list++)
		if (strlen(*list) == len && strncmp(*list, name, len) == 0)
			return 1;
	return 0;
}

int cmd_parse(const struct cmd_spec *spec, int argc, char **argv, struct cmd_args *out)
{
	return cmd_parse_words(spec, 0, argc, argv, out);
}

const char *cmd_option(const struct cmd_args *a, const char *name)
{
	for (int i = 0; i < a->noptions; i++)
		if (strcmp(a->options[i][0], name) == 0)
			return a->options[i][1];
	return NULL;
}

int cmd_parse_words(const struct cmd_spec *spec, int positional, int argc, char **argv,
		    struct cmd_args *out)
{
	memset(out, 0, sizeof *out);
	const char *config = NULL;
	int nsw = 0;
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			out->help = 1;
			continue;
		}
		if (strncmp(arg, "--", 2) != 0 && out->npositional < positional &&
		    out->npositional < 4) {
			out->positional[out->npositional++] = arg;
			continue;
		}
		if (strncmp(arg, "--", 2) != 0) {
			fprintf(stderr, "portal %s: unexpected argument '%s' (see portal %s --help)\n",
				spec->name, arg, spec->name);
			return 2;
		}
		const char *name = arg + 2, *eq = strchr(name, '=');
		size_t len = eq ? (size_t)(eq - name) : strlen(name);
		if (listed(spec->switches, name, len) && !eq) {
			if (nsw < 7)
				out->switches_set[nsw++] = name;
			continue;
		}
		int is_config = len == 6 && strncmp(name, "config", 6) == 0;
		int is_option = listed(spec->options, name, len);
		char flag[64];
		snprintf(flag, sizeof flag, "%.*s", (int)len, name);
		int is_setting = len < sizeof flag && config_flag_taken(flag, spec->settings);
		if (!is_config && !is_option && !is_setting) {
			fprintf(stderr, "portal %s: unknown option '--%.*s' (see portal %s --help)\n",
				spec->name, (int)len, name, spec->name);
			return 2;
		}
		const char *value = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
		if (!value) {
			fprintf(stderr, "portal %s: option '--%.*s' needs a value\n",
				spec->name, (int)len, name);
			return 2;
		}
		if (is_config) {
			config = value;
			continue;
		}
		if (is_option) {
			if (out->noptions == CMD_MAX_OPTIONS) {
				fprintf(stderr, "portal %s: too many options\n", spec->name);
				return 2;
			}
			char *copy = out->option_names[out->noptions];
			snprintf(copy, sizeof out->option_names[0], "%.*s", (int)len, name);
			out->options[out->noptions][0] = copy;
			out->options[out->noptions][1] = value;
			out->noptions++;
			continue;
		}
		if (out->src.nflags == CONFIG_MAX_FLAGS) {
			fprintf(stderr, "portal %s: too many options (limit %d)\n", spec->name,
				CONFIG_MAX_FLAGS);
			return 2;
		}
		/* The name is copied because in --flag=value it is not cut at '='. */
		char *copy = out->flag_names[out->src.nflags];
		snprintf(copy, sizeof out->flag_names[0], "%.*s", (int)len, name);
		out->src.flags[out->src.nflags][0] = copy;
		out->src.flags[out->src.nflags][1] = value;
		out->src.nflags++;
	}
	if (!config)
		config = getenv("PORTAL_CONFIG");
	if (config && *config) {
		snprintf(out->config_path, sizeof out->config_path, "%s", config);
		out->src.path = out->config_path;
	}
	out->src.envp = environ;
	return 0;
}

int cmd_switch(const struct cmd_args *a, const char *name)
{
	for (int i = 0; a->switches_set[i]; i++)
		if (strcmp(a->switches_set[i], name) == 0)
			return 1;
	return 0;
}

void cmd_help(const struct cmd_spec *spec, FILE *out)
{
	fprintf(out, "usage: portal %s [options]\n\n%s\n\noptions:\n", spec->name, spec->summary);
	fprintf(out, "  --config FILE          configuration file (env PORTAL_CONFIG)\n");
	for (const char *const *o = spec->options; o && *o; o++)
		fprintf(out, "  --%s VALUE\n", *o);
	config_print_command_flags(out, spec->settings);
	for (const char *const *s = spec->switches; s && *s; s++)
		fprintf(out, "  --%s\n", *s);
	fprintf(out, "  --help                 show this help\n\n"
		     "Flags win over PORTAL_* environment variables, which win over the file.\n");
}

int cmd_config(const struct cmd_args *a, struct config *cfg)
{
	struct config_errors *errs = calloc(1, sizeof *errs);
	if (!errs)
		abort();
	int rc = config_build(cfg, &a->src, errs);
	if (rc < 0) {
		struct buf b = BUF_INIT;
		for (int i = 0; i < errs->n; i++) {
			config_error_format(&errs->items[i], &b);
			buf_putc(&b, '\n');
		}
		if (errs->dropped)
			buf_printf(&b, "(%d more errors not shown)\n", errs->dropped);
		fputs(buf_cstr(&b), stderr);
		buf_free(&b);
	}
	free(errs);
	return rc < 0 ? 1 : 0;
}

int cmd_store_options(const struct config *cfg, struct store_options *opt,
		      struct secret_values **held, struct perr *err)
{
	memset(opt, 0, sizeof *opt);
	opt->busy_timeout_ms = cfg->busy_timeout_ms;
	*held = NULL;
	const char *name = cfg->db_password_secret;
	if (!name[0])
		return 0;
	/* Only the one secret: a command that opens the store need not reach
	 * every source. */
	struct secret_status st;
	int rc = secrets_resolve_one(&cfg->catalogue, environ, name, held, &st, err);
	if (rc < 0)
		return rc;
	opt->password = secret_value(*held, name);
	if (!opt->password)
		rc = perr_set(err, PERR_UNAVAILABLE, "store.password_secret",
			      "secret %s is %s (%s): the database password cannot be read", name,
			      secret_state_name(st.state), st.detail);
	if (rc < 0) {
		secret_values_free(*held);
		*held = NULL;
	}
	return rc;
}

int cmd_open_store(const char *name, const struct config *cfg, struct store **out)
{
	struct perr err;
	perr_clear(&err);
	struct store_options sopt;
	struct secret_values *held = NULL;
	int from, to;
	*out = NULL;
	if (cmd_store_options(cfg, &sopt, &held, &err) < 0) {
		fprintf(stderr, "portal %s: %s\n", name, err.msg);
		return 1;
	}
	int rc = store_open(cfg->db, &sopt, out, &err);
	secret_values_free(held);
	if (rc < 0) {
		fprintf(stderr, "portal %s: %s\n", name, err.msg);
		return 1;
	}
	if (store_migrate(*out, &from, &to, &err) < 0) {
		fprintf(stderr, "portal %s: %s\n", name, err.msg);
		store_close(*out);
		*out = NULL;
		return 1;
	}
	return 0;
}

int cmd_begin(const struct cmd_spec *spec, int argc, char **argv, struct cmd_args *args,
	      struct config *cfg)
{
	if (cmd_parse(spec, argc, argv, args) != 0)
		return 2;
	if (args->help) {
		cmd_help(spec, stdout);
		return 0;
	}
	return cmd_config(args, cfg) != 0 ? 1 : -1;
}
