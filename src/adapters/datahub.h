/* datahub: a read-only client for DataHub's GraphQL API (GMS, POST
 * <url>/api/graphql), for catalog navigation: what lies upstream or
 * downstream of an entity, what a urn names, and the DataHub page that shows
 * it. It is never a proof source: closure reads the proof planes only
 * (proof/proof.h), and nothing here feeds them.
 *
 * The GraphQL documents are the .graphql files in src/adapters/datahub/,
 * compiled into the binary; every value travels in `variables`.
 *
 * Calls that talk to DataHub block: call them from the worker or an offload
 * thread, never from an event loop. A handle holds no connection, so one
 * handle may serve several threads at once. No error message names the URL
 * or the token, so a message may reach a page. */
#ifndef PORTAL_DATAHUB_H
#define PORTAL_DATAHUB_H

#include <stddef.h>

#include "core/contract.h"
#include "util/perr.h"

#define DATAHUB_URN_MAX 1024      /* DataHub itself refuses urns over 512 bytes */
#define DATAHUB_TYPE_MAX 40       /* an EntityType value, e.g. "DATA_JOB" */
#define DATAHUB_NAME_MAX 256
#define DATAHUB_PLATFORM_MAX 64
#define DATAHUB_LINEAGE_MAX 1000  /* most results one datahub_lineage call asks for */
#define DATAHUB_BODY_MAX (4 * 1024 * 1024) /* a larger answer is refused */
#define DATAHUB_DEFAULT_TIMEOUT_MS 5000
#define DATAHUB_TIMEOUT_MAX_MS (5 * 60 * 1000)

enum datahub_direction {
	DATAHUB_UPSTREAM,   /* what the entity is made from */
	DATAHUB_DOWNSTREAM, /* what is made from the entity */
};

/* Where GMS answers and how to sign in. Strings are borrowed for
 * datahub_open only: the handle keeps copies. */
struct datahub_conf {
	const char *url;   /* GMS base, internal, e.g. "http://gms:8080" (no /api/graphql) */
	const char *token; /* the bearer token's value; NULL or "": send none */
	int timeout_ms;    /* per request, connection included; 0: DATAHUB_DEFAULT_TIMEOUT_MS */
};

/* One entity as Portal shows it. Text is UTF-8, cut at a character boundary
 * when longer than its field. */
struct datahub_entity {
	char urn[DATAHUB_URN_MAX];
	char type[DATAHUB_TYPE_MAX];         /* DataHub's EntityType: "DATASET", "DATA_JOB", … */
	char name[DATAHUB_NAME_MAX];         /* display name (properties.name, else name,
					      * else a column's fieldPath); "" when none */
	char platform[DATAHUB_PLATFORM_MAX]; /* DataPlatform name, e.g. "clickhouse"; "" when none */
};

/* One lineage result: an entity and how many hops away it is. */
struct datahub_lineage_item {
	struct datahub_entity entity;
	int degree; /* 1: a direct neighbour */
};

/* A lineage answer. items is owned: release with datahub_lineage_clear. */
struct datahub_lineage {
	long long total; /* every match DataHub counted, also those not returned */
	int partial;     /* DataHub stopped early (isPartial): total may be short */
	size_t n;
	struct datahub_lineage_item *items;
};

struct datahub;

/* Checks c and builds a handle; does no I/O. Fails with PERR_INVALID and
 * field "url", "token" or "timeout_ms" for a URL that is not http(s), a
 * token holding a control character, or a timeout below 0 or over
 * DATAHUB_TIMEOUT_MAX_MS; PERR_INTERNAL when libcurl or libsodium cannot
 * start or the documents are missing from the build. On success *out owns
 * the handle (the token kept in guarded memory): release it with
 * datahub_close. */
int datahub_open(const struct datahub_conf *c, struct datahub **out, struct perr *err);

/* Wipes the token and frees the handle. NULL is a no-op. */
void datahub_close(struct datahub *d);

/* Searches across lineage from urn in direction dir, every hop, and fills
 * out with the total and the first count results (1..DATAHUB_LINEAGE_MAX),
 * in DataHub's order. A result whose urn does not fit DATAHUB_URN_MAX is left
 * out (n is then below what DataHub returned; total is DataHub's).
 *
 * Errors (out is then empty):
 *   PERR_INVALID      urn empty, too long, not "urn:li:…" or not UTF-8
 *                     (field "urn"); count out of range (field "count")
 *   PERR_UNAVAILABLE  DataHub did not answer, answered a non-2xx status, or
 *                     answered GraphQL errors (even beside partial data; the
 *                     message quotes the first one and its code). A refused
 *                     token (HTTP 401/403, or an error with code 401/403)
 *                     sets field "token".
 *   PERR_TOO_LARGE    the answer is over DATAHUB_BODY_MAX */
int datahub_lineage(struct datahub *d, const char *urn, enum datahub_direction dir, int count,
		    struct datahub_lineage *out, struct perr *err);

/* Frees l's items and zeroes it. A zeroed l is fine. */
void datahub_lineage_clear(struct datahub_lineage *l);

/* Looks up one entity by urn. PERR_NOT_FOUND (field "urn") when DataHub does
 * not know it; other errors as datahub_lineage. */
int datahub_entity(struct datahub *d, const char *urn, struct datahub_entity *out,
		   struct perr *err);

/* Writes into buf (cap bytes) the DataHub page of an entity of this type:
 * <pub>/<page>/<urn, percent-encoded>, where page is the path DataHub's
 * web app gives the type ("dataset", "tasks" for DATA_JOB, "pipelines" for
 * DATA_FLOW, "chart", "dashboard", "container", …). pub is DataHub's
 * frontend, never GMS. Returns 0, PERR_INVALID when pub is empty or the
 * type has no page here, PERR_TOO_LARGE when buf is too small (buf is then
 * ""). Pure: no I/O. */
int datahub_entity_link(const struct public_url *pub, const char *type, const char *urn,
			char *buf, size_t cap);

#endif
