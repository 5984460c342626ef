/* rules: the checks both store backends apply before writing, and the
 * migration plan they share. See rules.h. */
#include "store/rules.h"

#include <stdio.h>
#include <string.h>

#include "core/proposal.h"
#include "core/role.h"

/* "0001_init.sql" -> 1; 0 when the name is not NNNN_name.sql or the number is
 * outside 1..STORE_MIGRATIONS_MAX. */
static int migration_number(const char *base)
{
	int v = 0;
	const char *p = base;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (*p - '0');
		if (v > STORE_MIGRATIONS_MAX)
			return 0;
	}
	size_t len = strlen(p);
	if (p == base || *p != '_' || len < 6 || strcmp(p + len - 4, ".sql") != 0)
		return 0;
	return v;
}

int store_migrations_plan(const char *prefix, const struct embedded_file *files, size_t n,
			  const struct embedded_file **out, int *count, struct perr *err)
{
	const struct embedded_file *byver[STORE_MIGRATIONS_MAX + 1] = {0};
	size_t plen = strlen(prefix);
	int max = 0;
	*count = 0;
	for (size_t i = 0; i < n; i++) {
		const char *name = files[i].name;
		if (!name || strncmp(name, prefix, plen) != 0)
			continue;
		int v = migration_number(name + plen);
		if (v == 0)
			return perr_set(err, PERR_INTERNAL, NULL,
					"embedded migration %s is not named NNNN_name.sql "
					"with NNNN in 1..%d", name, STORE_MIGRATIONS_MAX);
		if (byver[v])
			return perr_set(err, PERR_INTERNAL, NULL,
					"embedded migrations %s and %s share version %d",
					byver[v]->name, name, v);
		byver[v] = &files[i];
		if (v > max)
			max = v;
	}
	for (int v = 1; v <= max; v++) {
		if (!byver[v])
			return perr_set(err, PERR_INTERNAL, NULL,
					"embedded migrations skip version %d (they go up to %d)",
					v, max);
		out[v - 1] = byver[v];
	}
	*count = max;
	return 0;
}

/* The account name rule of struct store_user: [a-z0-9._-]{1,63}. The schemas
 * hold the same CHECK; this one gives the caller a message that names it. */
static int user_name_ok(const char *name)
{
	size_t n = name ? strnlen(name, STORE_NAME_MAX) : 0;
	if (n == 0 || n >= STORE_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return 0;
	}
	return 1;
}

int store_user_fields_ok(const struct store_user *u, struct perr *err)
{
	if (!user_name_ok(u->name))
		return perr_set(err, PERR_INVALID, "name",
				"an account name is 1-63 characters of a-z, 0-9, '.', '_' or '-'");
	if (!role_name(u->role))
		return perr_set(err, PERR_INVALID, "role",
				"role %d is not one of viewer, operator, approver, admin", u->role);
	if (strnlen(u->pw_hash, STORE_PW_HASH_MAX) == STORE_PW_HASH_MAX)
		return perr_set(err, PERR_INVALID, "pw_hash",
				"the password hash is not a string of under %d bytes",
				STORE_PW_HASH_MAX);
	return 0;
}

/* Text an audit row keeps must fit struct store_audit, or a verifier
 * reading it back would see a different row. */
int store_text_fits(const char *v, size_t cap, const char *field, struct perr *err)
{
	if (v && strlen(v) >= cap)
		return perr_set(err, PERR_TOO_LARGE, field, "%s is longer than %zu bytes", field,
				cap - 1);
	return 0;
}

int store_path_ok(const struct store_step *steps, size_t n, struct perr *err)
{
	if (n < 1 || n > STORE_PATH_MAX || !steps)
		return perr_set(err, PERR_INVALID, "steps", "a path has 1 to %d steps", STORE_PATH_MAX);
	for (size_t i = 0; i < n; i++) {
		const struct store_step *st = &steps[i];
		if (i > 0 && st->from != steps[i - 1].to)
			return perr_set(err, PERR_INVALID, "steps",
					"step %zu starts at %s, not where step %zu ended (%s)", i + 1,
					proposal_state_name(st->from) ? proposal_state_name(st->from) : "?", i,
					proposal_state_name(steps[i - 1].to) ? proposal_state_name(steps[i - 1].to) : "?");
		if (!proposal_transition_ok(st->from, st->to))
			return perr_set(err, PERR_INVALID, "to", "a proposal cannot go from %s to %s",
					proposal_state_name(st->from) ? proposal_state_name(st->from) : "?",
					proposal_state_name(st->to) ? proposal_state_name(st->to) : "?");
		if (st->from == PROPOSAL_RUNNING || st->to == PROPOSAL_RUNNING)
			return perr_set(err, PERR_INVALID, "to",
					"only the queue moves a proposal into or out of running "
					"(lease, release, finish)");
		if (!st->actor || !*st->actor)
			return perr_set(err, PERR_INVALID, "actor", "a change of state needs its actor");
		int rc = store_text_fits(st->actor, STORE_AUDIT_ACTOR_MAX, "actor", err);
		if (rc == 0)
			rc = store_text_fits(st->reason, STORE_AUDIT_REASON_MAX, "reason", err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int store_worker_actor(const char *worker, char actor[STORE_AUDIT_ACTOR_MAX], struct perr *err)
{
	size_t n = worker ? strlen(worker) : 0;
	if (n == 0 || n >= sizeof ((struct store_proposal *)0)->lease_owner)
		return perr_set(err, PERR_INVALID, "worker", "a worker id is 1-%zu bytes",
				sizeof ((struct store_proposal *)0)->lease_owner - 1);
	snprintf(actor, STORE_AUDIT_ACTOR_MAX, "worker:%s", worker);
	return 0;
}

void store_cut_utf8(char *out, size_t cap, const char *v)
{
	size_t n = v ? strlen(v) : 0;
	if (n >= cap) {
		n = cap - 1;
		while (n > 0 && ((unsigned char)v[n] & 0xc0) == 0x80)
			n--;
	}
	if (n)
		memcpy(out, v, n);
	out[n] = '\0';
}

/* The structs' fields are arrays a caller fills: one not ended would be read
 * past its end. */
int store_proof_text(const char *v, size_t cap, int may_be_empty, const char *field,
		     struct perr *err)
{
	size_t n = v ? strnlen(v, cap) : 0;
	if (!v || (n == 0 && !may_be_empty))
		return perr_set(err, PERR_INVALID, field, "%s is missing", field);
	if (n == cap)
		return perr_set(err, PERR_INVALID, field, "%s is longer than %zu bytes", field,
				cap - 1);
	return 0;
}

/* store_proof_text on a field of a struct, named as the field. */
#define PROOF_FIELD(p, name, may_be_empty, err) \
	store_proof_text((p)->name, sizeof (p)->name, may_be_empty, #name, err)

int store_triple_ok(const struct proof_triple *t, size_t i, struct perr *err)
{
	const char *names[] = {"subject", "predicate", "object"};
	const char *v[] = {t->subject, t->predicate, t->object};
	const size_t cap[] = {sizeof t->subject, sizeof t->predicate, sizeof t->object};
	for (int k = 0; k < 3; k++) {
		char field[64];
		snprintf(field, sizeof field, "triples[%zu].%s", i, names[k]);
		/* An object may be the empty literal. */
		int rc = store_proof_text(v[k], cap[k], k == 2, field, err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int store_fact_ok(const struct proof_fact *f, struct perr *err)
{
	int rc = PROOF_FIELD(f, proposal, 0, err);
	if (rc == 0)
		rc = PROOF_FIELD(f, project, 0, err);
	if (rc == 0)
		rc = PROOF_FIELD(f, kind, 0, err);
	if (rc == 0)
		rc = PROOF_FIELD(f, event, 0, err);
	if (rc == 0)
		rc = PROOF_FIELD(f, actor, 0, err);
	if (rc == 0)
		rc = PROOF_FIELD(f, artifact, 1, err);
	if (rc == 0)
		rc = PROOF_FIELD(f, digest, 1, err);
	if (rc < 0)
		return rc;
	if (strcmp(f->event, "submitted") != 0 && strcmp(f->event, "approved") != 0 &&
	    strcmp(f->event, "executed") != 0)
		return perr_set(err, PERR_INVALID, "event",
				"event '%s' is not one of submitted, approved, executed", f->event);
	if (f->at < 0)
		return perr_set(err, PERR_INVALID, "at", "at is %lld, before the epoch", f->at);
	return 0;
}

int store_evidence_ok(const struct proof_evidence *e, struct perr *err)
{
	int rc = PROOF_FIELD(e, id, 0, err);
	if (rc == 0)
		rc = PROOF_FIELD(e, proposal, 0, err);
	if (rc == 0)
		rc = PROOF_FIELD(e, digest, 0, err);
	if (rc == 0)
		rc = PROOF_FIELD(e, location, 1, err);
	if (rc == 0)
		rc = PROOF_FIELD(e, producer, 1, err);
	if (rc == 0 && e->size < 0)
		rc = perr_set(err, PERR_INVALID, "size", "size is %lld bytes, below zero", e->size);
	return rc;
}

void store_newer_msg(char *out, size_t cap, const char *label, int version, int latest)
{
	snprintf(out, cap,
		 "database %s is at schema version %d, newer than this portal (knows up to %d); "
		 "use a newer portal binary",
		 label, version, latest);
}

void store_readiness_verdict(struct store_status *st, const char *label, int latest)
{
	if (st->schema_version > latest)
		store_newer_msg(st->reason, sizeof st->reason, label, st->schema_version, latest);
	else if (st->schema_version < latest)
		snprintf(st->reason, sizeof st->reason,
			 "database %s is at schema version %d, this portal needs %d: "
			 "run `portal migrate`",
			 label, st->schema_version, latest);
	else if (latest > 0 && !st->instance_id[0])
		snprintf(st->reason, sizeof st->reason,
			 "database %s has no instance id: portal_instance was emptied by hand",
			 label);
	else
		st->ready = 1;
}
