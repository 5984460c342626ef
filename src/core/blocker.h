/* blocker: the one recovery model. Names what blocks a route or a project
 * (auth, contract, dependency, product), the HTTP status each class keeps
 * honest, and where a project stands on the workflow path once its contracts
 * are weighed against the live projection. Pure: the caller looks up secret
 * states and health and passes them in; nothing here reads the world. */
#ifndef PORTAL_BLOCKER_H
#define PORTAL_BLOCKER_H

#include <stddef.h>

#include "core/contract.h"
#include "core/stage.h"

enum blocker_class {
	BLOCKER_NONE,
	BLOCKER_AUTH,       /* sign in or request access: never called a failure */
	BLOCKER_CONTRACT,   /* a declared need is unmet or wrong: missing secret, bad URL */
	BLOCKER_DEPENDENCY, /* something it runs on is unavailable */
	BLOCKER_PRODUCT,    /* a real failure */
	BLOCKER_CLASS_COUNT
};

/* "none", "auth", "contract", "dependency", "product"; NULL when out of range. */
const char *blocker_class_name(enum blocker_class c);
/* Parses a class name; -1 when unknown (NULL included). */
int blocker_class_parse(const char *s);

/* Which status within a class, where a class has two. */
enum blocker_cause {
	BLOCKER_CAUSE_DEFAULT,
	BLOCKER_CAUSE_SIGNED_OUT, /* auth: nobody is signed in (401) */
	BLOCKER_CAUSE_FORBIDDEN,  /* auth: signed in, without the role it needs (403) */
	BLOCKER_CAUSE_UNMET,      /* contract: a declared need is not satisfied, e.g. a
				     missing secret (424) */
	BLOCKER_CAUSE_CONFLICT,   /* contract: the declaration contradicts itself or the
				     request, e.g. a bad or conflated URL (409) */
	BLOCKER_CAUSE_NOT_FOUND,  /* product: nothing at that path or id (404) */
	BLOCKER_CAUSE_NOT_ALLOWED,/* product: the path does not take that method (405) */
	BLOCKER_CAUSE_INPUT,      /* product: what was sent cannot be read (400) */
};

/* The HTTP status a route blocked by class c answers with: auth 401 (403 when
 * FORBIDDEN), contract 424 (409 when CONFLICT), dependency 503, product 500
 * (404 when NOT_FOUND, 405 when NOT_ALLOWED, 400 when INPUT), none 200. A
 * cause that does not belong to the class is ignored. */
int blocker_http_status(enum blocker_class c, enum blocker_cause cause);
/* The other way: the class (and, when out is not NULL, the cause) whose
 * status is `status`. BLOCKER_NONE for a status no class owns: 2xx and 3xx,
 * and input errors (400, 413, 431…), whose field, not a class, says what to
 * fix. blocker_http_status(class, cause) gives status back for every status
 * with a class. */
enum blocker_class blocker_class_of_status(int status, enum blocker_cause *out);

#define BLOCKER_MAX_SECRETS (2 * PROJECT_MAX_NEEDS)
#define BLOCKER_STATE_MAX 16

/* A secret a project cannot do without, and its state as the caller found it. */
struct blocker_secret {
	char name[CONTRACT_NAME_MAX];
	/* "" when the project itself declares it; otherwise the component whose
	 * auth credential it is. */
	char component[CONTRACT_NAME_MAX];
	/* "present", "missing", "unreadable", "unchecked", "undeclared" (as
	 * app_secret_status says), "" when not looked up. Only "present" is. */
	char state[BLOCKER_STATE_MAX];
};

/* A component a project launches on, and its health as the caller found it. */
struct blocker_component {
	char name[CONTRACT_NAME_MAX];
	int declared; /* the catalogue has a contract for it */
	int owned;    /* FractalOps owns it (an endpoint's outage is not ours to fix) */
	/* "up", "degraded", "down", "auth", "unknown" (the snapshot's health),
	 * "" when no report arrived yet. */
	char health[BLOCKER_STATE_MAX];
};

/* Everything a project's contract says it stands on. */
struct blocker_needs {
	struct blocker_component components[PROJECT_MAX_NEEDS];
	size_t ncomponents;
	struct blocker_secret secrets[BLOCKER_MAX_SECRETS];
	size_t nsecrets;
};

/* Fills out from the project contract pc: its components in order (declared
 * and owned as the catalogue says), then its required secrets: its own, then
 * the auth secret of each declared component whose auth is not none, each
 * secret once. States and health are left "" for the caller to fill. pc NULL
 * (no contract entry) gives no needs. */
void blocker_needs_of(const struct catalogue *cat, const struct project_contract *pc,
		      struct blocker_needs *out);

/* What the projection says about a project (its entry in the snapshot's
 * projects[]). */
struct blocker_live {
	const char *stage;  /* the stage slug, e.g. "work" */
	const char *needs;  /* the projection's one line of what the stage needs */
	long long blocked[BLOCKER_CLASS_COUNT]; /* blocked sessions by class (blocked_by) */
};

struct blocker_verdict {
	enum stage stage;
	enum blocker_class blocker;     /* BLOCKER_NONE unless stage is recovery */
	char why[CONTRACT_TEXT_MAX];    /* one line naming the contract at fault */
	char gist[CONTRACT_TEXT_MAX];   /* the same naming no secret, component or
					   session: fit for a signed-out visitor */
};

/* Derives a project's stage. Rules, first match wins:
 *  1. a secret the project itself requires that is not present, or a
 *     component that is not declared → recovery, contract ("secret
 *     atlas-deploy-key is missing"); a component's own credential (Portal's,
 *     for probing it) is listed in needs for validation but does not block;
 *  2. an OWNED component that is down → recovery, dependency;
 *  3. live is NULL (no events yet) → onboarding ("no events yet: launch …");
 *  4. otherwise the projection's stage and needs; in recovery the class of
 *     its blocked sessions (contract, dependency, product, auth: the first
 *     with any), or product when none is blocked (the last session failed).
 * needs may be NULL (no contract entry: nothing declared to weigh). */
void blocker_derive(const struct blocker_live *live, const struct blocker_needs *needs,
		    struct blocker_verdict *out);

#endif
