/* rules: what the store checks before a backend writes — once, in the
 * dispatchers (store.c, proposals.c, proof_store.c) — and how a backend reads
 * its embedded migrations, so SQLite and PostgreSQL refuse the same input
 * with the same words. Pure functions over their arguments: no SQL here. */
#ifndef PORTAL_STORE_RULES_H
#define PORTAL_STORE_RULES_H

#include <stddef.h>

#include "core/proof_record.h"
#include "store/store.h"
#include "util/embedded.h"

/* The most migrations one binary may carry, per backend. */
#define STORE_MIGRATIONS_MAX 256
/* Text an audit row keeps: actor and reason, NUL included. */
#define STORE_AUDIT_ACTOR_MAX (STORE_NAME_MAX + 8)
#define STORE_AUDIT_REASON_MAX 256
/* The actor of the row that takes a proposal back from a worker whose lease
 * ran out. */
#define STORE_LEASE_EXPIRED_ACTOR "lease-expired"

/* Picks one backend's migrations out of files[0..n): those named
 * prefix "NNNN_name.sql" (prefix e.g. "store/migrations/sqlite/"). Fills
 * out[i] with migration i+1 (borrowed) and *count with how many. A name that
 * does not parse, a duplicate number, or a gap in 1..N is PERR_INTERNAL: the
 * binary was built wrong. */
int store_migrations_plan(const char *prefix, const struct embedded_file *files, size_t n,
			  const struct embedded_file **out, int *count, struct perr *err);

/* "database <label> is at schema version V, newer than this portal …": the
 * words every backend uses for a database a newer binary migrated. */
void store_newer_msg(char *out, size_t cap, const char *label, int version, int latest);

/* The readiness verdict once a backend has read st->schema_version and
 * st->instance_id: ready, or st->reason says why not (newer, older, or an
 * emptied instance table). */
void store_readiness_verdict(struct store_status *st, const char *label, int latest);

/* user_add and user_update: name [a-z0-9._-]{1,63}, a known role, a
 * password hash that fits. PERR_INVALID naming the field. */
int store_user_fields_ok(const struct store_user *u, struct perr *err);

/* v (NULL is fine) is shorter than cap bytes, else PERR_TOO_LARGE naming field. */
int store_text_fits(const char *v, size_t cap, const char *field, struct perr *err);

/* The steps of a proposal_path, before anything is read: 1 to
 * STORE_PATH_MAX of them, each allowed by core's state machine and not into
 * or out of running (the queue's), each from where the one before went,
 * each with an actor, actor and reason fitting an audit row. PERR_INVALID
 * naming "to", "actor" or "steps", or PERR_TOO_LARGE naming the text. */
int store_path_ok(const struct store_step *steps, size_t n, struct perr *err);

/* Writes "worker:<worker>" into actor; PERR_INVALID when worker is empty or
 * does not fit a lease_owner. */
int store_worker_actor(const char *worker, char actor[STORE_AUDIT_ACTOR_MAX], struct perr *err);

/* Copies v (NULL = "") into out (cap bytes), cut at a UTF-8 character boundary. */
void store_cut_utf8(char *out, size_t cap, const char *v);

/* v is a string ended within cap bytes, and not empty unless it may be;
 * PERR_INVALID naming field otherwise. */
int store_proof_text(const char *v, size_t cap, int may_be_empty, const char *field,
		     struct perr *err);
/* The proof planes' records, field by field (proof/proof.h). */
int store_triple_ok(const struct proof_triple *t, size_t i, struct perr *err);
int store_fact_ok(const struct proof_fact *f, struct perr *err);
int store_evidence_ok(const struct proof_evidence *e, struct perr *err);

#endif
