/* settings: the one table of Portal's settings, a row per setting: where it
 * is written (YAML key, flag, variable), how its value is checked, which
 * commands take its flag and whether a reload applies it. The rows are
 * exposed so that tests and --help iterate them instead of restating them;
 * building a config from them is config.h's business. */
#ifndef PORTAL_CONFIG_SETTINGS_H
#define PORTAL_CONFIG_SETTINGS_H

#include <stddef.h>

enum setting_type {
	SET_INT,     /* int field, decimal, bounded */
	SET_LONG,    /* long field, decimal, bounded */
	SET_LISTEN,  /* char[] field, HOST:PORT */
	SET_LABEL,   /* char[] field, 1..max chars of [A-Za-z0-9 ._-] */
	SET_PATH,    /* char[] field, non-empty, shorter than the field */
	SET_LEVEL,   /* enum log_level */
	SET_MODE,    /* int field: dev = 1, production = 0 */
	SET_BOOL,    /* int field: true = 1, false = 0 */
	SET_PROXIES, /* char[] field, addresses/CIDRs, stored as "a, b, c"; "" = none */
	SET_HEADER,  /* char[] field, an HTTP header name of [A-Za-z0-9-]; "" = off */
	SET_CHOICE,  /* char[] field, one of the words metavar lists as "a|b|c" */
	SET_REF,     /* char[] field, "" or a name of [a-z0-9_-] (a component, a secret) */
};

/* What a SIGHUP to a running `portal serve` does with a new value. */
enum setting_reload {
	SETTING_AT_START, /* read at start only: a reload keeps the running value */
	SETTING_RELOADS,  /* a reload applies the new value */
};

struct config_setting {
	const char *key;     /* dotted YAML key: section.name */
	const char *flag;    /* --flag, without the dashes */
	const char *env;     /* PORTAL_* variable */
	enum setting_type type;
	size_t offset;       /* into struct config */
	size_t size;         /* of the field (strings: the buffer size) */
	long min, max;       /* integers: inclusive bounds; labels: max length */
	const char *def;     /* the default, as it would be written in the file */
	const char *metavar; /* shown after the flag in --help */
	const char *help;
	unsigned commands;   /* CONFIG_CMD_* bits: the commands that take --flag */
	enum setting_reload reload;
};

/* Row i of the table, 0 <= i < config_setting_count(); NULL past the end. */
const struct config_setting *config_setting_at(int i);

#endif
