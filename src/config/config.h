/* config: Portal's typed settings, built from four layers in a fixed order:
 * built-in defaults < portal.yaml < PORTAL_* environment < command-line flags.
 * One table (settings.c) declares every setting once: its YAML key, flag,
 * environment variable, type, bounds and help; the loader, the env and flag
 * overrides, `--help` and docs/configuration.md all follow that table.
 * This module reads the one file it is given and nothing else; it never
 * holds a secret value (secrets arrive later as references). */
#ifndef PORTAL_CONFIG_H
#define PORTAL_CONFIG_H

#include <stdio.h>

#include "core/contract.h"
#include "util/buf.h"
#include "util/log.h"

#define CONFIG_MAX_ERRORS 64
#define CONFIG_MAX_FLAGS 32
#define CONFIG_MAX_COMPONENTS 1024
#define CONFIG_MAX_SECRETS 1024

struct config {
	/* server: */
	char listen[256];        /* host:port, e.g. 127.0.0.1:8080 */
	int threads;             /* event-loop threads; 0 = number of cores */
	char environment[64];    /* label shown in every page header */
	long max_body_bytes;     /* request body limit */
	long max_header_bytes;   /* request header block limit */
	int read_timeout_ms;     /* time to send a whole request; idle connections close after it */
	int drain_timeout_ms;    /* how long SIGTERM waits for in-flight requests */
	/* store: */
	char db[1024];           /* SQLite file path, or a postgres:// URL */
	char db_password_secret[64]; /* secret contract holding the PostgreSQL password; "" = none */
	int busy_timeout_ms;     /* how long a writer waits on a lock */
	int ready_interval_ms;   /* how often readiness re-checks the store */
	/* live: */
	int idle_after_ms;       /* a running session with no event this long is idle */
	long stream_max_pending_bytes; /* an event stream with more unsent is skipped … */
	int stream_slow_drop_ms;       /* … and closed when still behind after this long */
	/* log: */
	enum log_level log_level;
	/* auth: */
	int session_idle_ms;       /* a sign-in unused this long ends */
	int session_max_ms;        /* a sign-in ends this long after it began, used or not */
	int preview;               /* 1: signed-out `/` is the pre-auth preview; 0: sign-in */
	char trusted_proxies[512]; /* comma-separated addresses or CIDRs of reverse proxies
				      whose X-Forwarded-For/-Proto and identity header
				      are believed; "" = none */
	char identity_header[64];  /* header a trusted proxy names the signed-in account in
				      (e.g. X-Forwarded-User); "" = off */
	/* proof: which implementation serves each proof plane ("embedded",
	 * "http", "clickhouse") and, for a remote one, the component whose
	 * internal URL it calls and the secret contract of its credential */
	char proof_graph[16], proof_graph_component[64], proof_graph_secret[64];
	char proof_warehouse[16], proof_warehouse_component[64], proof_warehouse_database[64];
	char proof_warehouse_user[64], proof_warehouse_secret[64];
	char proof_evidence[16], proof_evidence_component[64], proof_evidence_secret[64];
	/* lineage: DataHub, for catalog navigation (never proof) */
	char datahub_component[64], datahub_secret[64];
	/* worker: `portal worker`'s own, read at its start */
	int worker_concurrency;    /* attempts run at once, 1..64 */
	char worker_id[64];        /* the name in leases and the audit log; "" = host:pid */
	int worker_lease_slack_ms; /* how long a lease outlasts the kind's timeout */
	/* components:, secrets:, vault: (from the file only) and server.mode
	 * (catalogue.dev_mode: 1 = dev, the default; 0 = production). The
	 * arrays are heap memory owned by this struct: a plain `a = b` copy
	 * shares them, so copy with config_copy() and free with config_dispose(). */
	struct catalogue catalogue;
	/* provenance, for messages: the file the settings came from ("" if none) */
	char path[1024];
};

/* One problem, located: file is the config path, "environment" or
 * "command line"; line and column are 1-based (0 when not from a file). */
struct config_error {
	char file[256];
	int line, column;
	char key[128]; /* dotted key, e.g. "server.threads", or the flag/variable */
	char msg[256];
};

struct config_errors {
	struct config_error items[CONFIG_MAX_ERRORS];
	int n;       /* how many are stored in items */
	int dropped; /* how many more there were */
};

/* What to build a config from. envp is an environ-style array (NULL = none);
 * flags holds (flag name without dashes, value) pairs in command-line order. */
struct config_source {
	const char *path;
	char **envp;
	const char *flags[CONFIG_MAX_FLAGS][2];
	int nflags;
};

/* Fills c with the built-in defaults (an empty catalogue, dev mode). c is
 * overwritten, not freed: dispose of a catalogue it holds first. */
void config_defaults(struct config *c);

/* Frees c's catalogue arrays and leaves them empty (NULL, 0); the rest of c,
 * vault and dev_mode included, is untouched. Safe on an empty catalogue and
 * twice in a row. */
void config_dispose(struct config *c);

/* Makes dst a deep copy of src: dst gets its own catalogue arrays (dispose of
 * them with config_dispose). dst is overwritten, not freed. */
void config_copy(struct config *dst, const struct config *src);

/* Parses YAML text as a config file named `name` (used in messages) on top of
 * what c holds; components and secrets are appended to c's catalogue (heap:
 * config_dispose). Checks each value on its own; the rules that span fields
 * and components (catalogue_check) run in config_build, after the
 * environment and flags have set server.mode. Collects every error; returns
 * 0 when there were none, -1 otherwise (c may then be partly updated: use a
 * scratch copy, and dispose of it). */
int config_parse(struct config *c, const char *name, const char *text, size_t len,
		 struct config_errors *errs);

/* Builds c from defaults, then src->path (if set), then src->envp's PORTAL_*
 * variables, then src->flags, then checks the catalogue (catalogue_check;
 * each problem becomes an error located at the component's entry or field).
 * c is overwritten, not freed (it may be uninitialised). Returns 0 with c
 * owning its catalogue (config_dispose when done), or -1 with every error in
 * errs and c's catalogue already disposed.
 * Unknown PORTAL_* variables are ignored (other tools share the prefix);
 * unknown keys in the file and unknown flags are errors. */
int config_build(struct config *c, const struct config_source *src,
		 struct config_errors *errs);

/* "file:line:column: key: message" (no location part when line is 0). */
void config_error_format(const struct config_error *e, struct buf *out);

/* The commands that take settings as --flag, as bits of a row's `commands`
 * (config/settings.h). A command takes a setting when its bits and the row's
 * meet. */
enum {
	CONFIG_CMD_SERVE = 1 << 0,
	CONFIG_CMD_WORKER = 1 << 1,
	CONFIG_CMD_MIGRATE = 1 << 2,
	CONFIG_CMD_EMIT = 1 << 3,
	CONFIG_CMD_TOKEN = 1 << 4,
	CONFIG_CMD_USER = 1 << 5,
	CONFIG_CMD_DEMO = 1 << 6,
	CONFIG_CMD_REPLAY = 1 << 7,
};
/* Every command that opens the store: each takes the settings it needs to. */
#define CONFIG_CMD_STORE                                                              \
	(CONFIG_CMD_SERVE | CONFIG_CMD_WORKER | CONFIG_CMD_MIGRATE | CONFIG_CMD_EMIT |   \
	 CONFIG_CMD_TOKEN | CONFIG_CMD_USER | CONFIG_CMD_DEMO | CONFIG_CMD_REPLAY)
/* `portal check` builds the configuration as serve and worker do, so it takes
 * every flag either of them takes. */
#define CONFIG_CMD_CHECK (CONFIG_CMD_SERVE | CONFIG_CMD_WORKER)

/* Whether `flag` (without dashes) names a setting; lets commands accept
 * exactly the flags the table declares. */
int config_flag_known(const char *flag);

/* Whether `flag` (without dashes) names a setting that one of `commands`
 * (CONFIG_CMD_* bits) takes. */
int config_flag_taken(const char *flag, unsigned commands);

/* Prints "  --flag VALUE   help (env VAR)" for each flag named in `flags`
 * (a NULL-terminated list) to out, for `portal <command> --help`. */
void config_print_flags(FILE *out, const char *const *flags);

/* The same for every setting one of `commands` takes, in the table's order. */
void config_print_command_flags(FILE *out, unsigned commands);

/* After a reload: for each setting read at start only (SETTING_AT_START)
 * whose value in fresh differs from old's, puts old's value back into fresh,
 * and when one of `commands` takes it, its key into keys[] (up to cap of
 * them). Returns how many keys there were, so the caller can say which need
 * a restart (a worker's setting changed in a shared file is not serve's). */
int config_keep_restart_only(const struct config *old, struct config *fresh, unsigned commands,
			     const char **keys, int cap);

/* The number of settings in the table (for the `check` summary). */
int config_setting_count(void);

#endif
