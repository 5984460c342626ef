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
	SET_ID,      /* char[] field, "" or 1..max printable ASCII characters, no spaces */
};

/* What a SIGHUP to a running `portal serve` does with a new value. (A
 * running `portal worker` re-reads only its secrets on SIGHUP: the settings
 * it alone uses are read at start.) */
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

/* --- for the config readers (config.c, catalogue.c, proposals.c) */

struct config;

/* The table's rows (settings.c checks there are SETTINGS_COUNT of them). */
#define SETTINGS_COUNT 37
extern const struct config_setting config_settings[];

/* The file's sections in the order the file and the docs present them. The
 * first eight hold settings; the last five the catalogue (file only, no
 * overrides). */
#define CONFIG_NSECTIONS 13
extern const char *const config_sections[];
#define SECTION_LIST \
	"server, store, live, log, auth, proof, lineage, worker, components, projects, " \
	"proposals, secrets, vault"
enum { SEC_COMPONENTS = 8, SEC_PROJECTS = 9, SEC_PROPOSALS = 10, SEC_SECRETS = 11, SEC_VAULT = 12 };

/* The section's index in config_sections, or -1. */
int config_section_index(const char *name);

/* Validates text for s and, when valid, stores it in c. quoted says the YAML
 * scalar was quoted: a quoted number is a string, so integers refuse it.
 * Returns 0, or -1 with a message in msg. */
int setting_apply(const struct config_setting *s, struct config *c, const char *text,
		  int quoted, char *msg, size_t msgsz);
/* "an integer", "HOST:PORT", …: what a value of type t is, for messages. */
const char *setting_type_name(enum setting_type t);
const struct config_setting *setting_by_key(const char *key);
const struct config_setting *setting_by_flag(const char *flag);

/* Reads an unquoted decimal integer within [min, max] into *out; returns -1
 * with the message for the setting and catalogue fields alike. */
int config_int_value(const char *text, int quoted, long min, long max, long *out, char *msg,
		     size_t msgsz);

/* Edit distance where swapping two neighbours is one edit; and whether a
 * given name is close enough to a known one to suggest it. */
int config_distance(const char *a, const char *b);
int config_close_enough(const char *given, const char *known);
/* "unknown key; …" for `name` under the known `section`, and "unknown
 * section; …" for a top-level `name`: with the nearest name when one is close. */
void config_unknown_key_msg(const char *section, const char *name, char *msg, size_t msgsz);
void config_unknown_section_msg(const char *name, char *msg, size_t msgsz);

#endif
