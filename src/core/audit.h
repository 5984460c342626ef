/* audit: the proposal audit log is a hash chain. Each row's hash covers the
 * previous row's hash and the row's own fields in one canonical encoding, so
 * changing, removing or reordering any row breaks every hash after it.
 * Pure: no I/O. */
#ifndef PORTAL_AUDIT_H
#define PORTAL_AUDIT_H

#define AUDIT_HASH_LEN 32

struct audit_row {
	long long seq;                 /* assigned by the store, strictly increasing */
	const char *proposal;          /* proposal id */
	const char *from;              /* state name, "" for the first row */
	const char *to;                /* state name */
	const char *actor;             /* account name, or "worker:<id>" */
	long long at;                  /* ms since the epoch */
	const char *reason;            /* may be "" */
	unsigned char prev[AUDIT_HASH_LEN]; /* the previous row's hash; zeros for the first */
	unsigned char hash[AUDIT_HASH_LEN];
};

/* BLAKE2b-256 over prev and the length-prefixed fields of r (seq, proposal,
 * from, to, actor, at, reason). */
void audit_hash(const struct audit_row *r, unsigned char out[AUDIT_HASH_LEN]);

#endif
