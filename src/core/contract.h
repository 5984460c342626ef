/* contract: what Portal knows about each system of the substrate, as the
 * configuration declares it. FractalOps OWNS some systems (portal, api,
 * worker, execution-runtime, Temporal, DB/Hasura/Supabase Realtime, Daytona,
 * PlaywrightGrid) and only INTEGRATES others (Nexus, Penpot, Dokploy,
 * Headlamp, connectors): for those, Portal holds a URL/auth/health contract
 * and a launch link, never a lifecycle.
 *
 * The three kinds of URL are different types. Only a public URL may reach a
 * browser, and only web code that takes a `const struct public_url *` can
 * write one; internal and executor URLs have no such path, so writing one
 * into a response is a compile error, not a review comment. Pure: no I/O. */
#ifndef PORTAL_CONTRACT_H
#define PORTAL_CONTRACT_H

#include <stddef.h>

#include "core/proposal.h"
#include "util/perr.h"

#define CONTRACT_URL_MAX 512
#define CONTRACT_NAME_MAX 64
#define CONTRACT_TEXT_MAX 512

struct public_url   { char s[CONTRACT_URL_MAX]; };  /* what browsers open */
struct internal_url { char s[CONTRACT_URL_MAX]; };  /* what Portal probes and calls */
struct executor_url { char s[CONTRACT_URL_MAX]; };  /* what executors call (owned only) */

enum ownership { OWNERSHIP_OWNED, OWNERSHIP_ENDPOINT };

enum contract_auth { CONTRACT_AUTH_NONE, CONTRACT_AUTH_BEARER, CONTRACT_AUTH_BASIC };

struct health_check {
	char path[256];         /* appended to internal_url, e.g. "/api/health" */
	int expect_status;      /* e.g. 200; 0 = any 2xx */
	/* Optional body check on a JSON answer: the value at a dotted path
	 * ("value.ready") must equal this JSON text ("true"). Empty = none. */
	char body_path[128];
	char body_equals[64];
	int interval_ms;        /* between probes while up */
	int timeout_ms;         /* a probe slower than this is down (timeout) */
	int slow_ms;            /* a success slower than this is degraded */
};

/* Browser-first launch guidance: what opens, where you sign in, what you
 * need first, and what to do when it fails. */
struct launch_guidance {
	char opens[CONTRACT_TEXT_MAX];
	char sign_in[CONTRACT_TEXT_MAX];
	char needs[CONTRACT_TEXT_MAX];
	char on_failure[CONTRACT_TEXT_MAX];
};

struct component_contract {
	char name[CONTRACT_NAME_MAX];   /* "temporal": ids, URLs, events */
	char title[CONTRACT_NAME_MAX];  /* "Temporal": what people read */
	char role[CONTRACT_TEXT_MAX];   /* one line: what it is for */
	enum ownership ownership;
	struct public_url public_url;       /* may be empty: nothing to open */
	struct internal_url internal_url;   /* required for owned components */
	struct executor_url executor_url;   /* owned only; may be empty */
	enum contract_auth auth;
	char auth_secret[CONTRACT_NAME_MAX]; /* secret contract holding the credential */
	struct health_check health;
	struct launch_guidance launch;
};

enum secret_source { SECRET_ENV, SECRET_FILE, SECRET_VAULT };

/* A secret contract: a name and where its value lives. Never a value. */
struct secret_contract {
	char name[CONTRACT_NAME_MAX];
	enum secret_source source;
	char ref[CONTRACT_URL_MAX]; /* VAR, /path, or mount/path#key */
};

/* Where vault: secrets are read (a Vault-compatible KV v2 HTTP API). */
struct vault_contract {
	struct internal_url addr;            /* empty when no vault is configured */
	char token_secret[CONTRACT_NAME_MAX]; /* a secret contract (env: or file:) */
};

#define PROJECT_MAX_NEEDS 16

/* A project Portal walks along the workflow path, and the contracts it
 * stands on: the components it launches on and the secret contracts it needs
 * besides theirs. A required secret that is not present puts the project in
 * recovery with a contract blocker, whatever the live events say. */
struct project_contract {
	char name[CONTRACT_NAME_MAX];    /* as events name it in `project` */
	char title[CONTRACT_NAME_MAX];   /* what people read; defaults to name */
	char summary[CONTRACT_TEXT_MAX]; /* one line: what the project is */
	char components[PROJECT_MAX_NEEDS][CONTRACT_NAME_MAX];
	size_t ncomponents;
	char secrets[PROJECT_MAX_NEEDS][CONTRACT_NAME_MAX];
	size_t nsecrets;
};

/* The whole set, as loaded from one configuration. */
struct catalogue {
	struct component_contract *components;
	size_t ncomponents;
	struct project_contract *projects;
	size_t nprojects;
	struct secret_contract *secrets;
	size_t nsecrets;
	struct proposal_kind *kinds; /* proposals: the approved backend contracts */
	size_t nkinds;
	struct vault_contract vault;
	int dev_mode; /* loopback and private public URLs are allowed only in dev */
};

const char *ownership_name(enum ownership o);     /* "owned", "endpoint" */
const char *contract_auth_name(enum contract_auth a); /* "none", "bearer", "basic" */
const char *secret_source_name(enum secret_source s); /* "env", "file", "vault" */

/* Parses "env:VAR", "file:/abs/path" or "vault:mount/path#key" into s (name
 * untouched). Anything else, including what looks like an inline value, is
 * PERR_INVALID with a message saying which forms are accepted. */
int secret_ref_parse(const char *text, struct secret_contract *s, struct perr *err);

/* Whether name is a valid component name: [a-z0-9-]{1,63}. */
int contract_name_valid(const char *name);
/* Whether name is a valid secret contract name: [a-z0-9_-]{1,63}. */
int secret_name_valid(const char *name);

/* Whether url is http(s)://host[:port][/path] with a host; fills host (for
 * the checks below) when it is. */
int contract_url_valid(const char *url, char *host, size_t cap);
/* Whether host is loopback (localhost, 127/8, ::1) or a private/link-local
 * range (10/8, 172.16/12, 192.168/16, 169.254/16, fc00::/7, fe80::/10) or a
 * single-label/.local/.internal name, i.e. not reachable by a user's browser
 * from elsewhere. */
int contract_host_private(const char *host);

/* One problem with the catalogue: the component or secret it concerns, the
 * field, and what is wrong. */
struct contract_problem {
	char subject[CONTRACT_NAME_MAX]; /* component or secret name, or "vault" */
	char field[64];                  /* "public_url", "executor_url", … */
	char msg[256];
	/* Which entry it concerns, so a loader can point at it: an index into
	 * components or secrets, -1 when not that kind (both -1: the vault). */
	int component;
	int secret;
};

/* Checks the rules that span fields and components: an owned component needs
 * an internal URL; an endpoint has no executor URL; a public URL that is
 * loopback or private is refused outside dev mode; public, internal and
 * executor URLs must not be the same URL (conflated); names are unique;
 * auth other than none names a declared secret; a vault: secret needs a
 * vault address and token. For proposal kinds: unique valid names, valid
 * roles, unique valid field names, an enum with values, integer min <= max,
 * string min_len <= max_len; exec needs an absolute argv[0] and placeholders
 * that name declared fields; http and temporal need a declared owned
 * component with an executor_url; temporal needs namespace, workflow_type
 * and task_queue; a named secret must be declared; max_attempts 1..20;
 * timeout_ms 100..86400000. A kind's problems have no component or secret
 * index; their field is the path from the catalogue ("proposals[1].name",
 * "proposals[1].fields[2].values", "proposals[1].execute.argv[0]").
 * Writes up to cap problems; returns how many there were in all. */
size_t catalogue_check(const struct catalogue *cat, struct contract_problem *out, size_t cap);

/* The component named `name`, or NULL. */
const struct component_contract *catalogue_find(const struct catalogue *cat, const char *name);
/* The project named `name`, or NULL. */
const struct project_contract *catalogue_project(const struct catalogue *cat, const char *name);
/* The proposal kind named `name`, or NULL. */
const struct proposal_kind *catalogue_kind(const struct catalogue *cat, const char *name);

/* Bounds catalogue_check holds a kind's execution to. */
#define PROPOSAL_MIN_TIMEOUT_MS 100
#define PROPOSAL_MAX_TIMEOUT_MS 86400000
#define PROPOSAL_MAX_ATTEMPTS 20

#endif
