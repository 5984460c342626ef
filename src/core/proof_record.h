/* proof_record: the records of the three proof planes (a graph's triples, the
 * warehouse's lifecycle facts, evidence records) as plain data, so the closure
 * (core/closure.c) and the store can speak of them without knowing the planes'
 * interfaces (proof/proof.h) or where they are kept. */
#ifndef PORTAL_PROOF_RECORD_H
#define PORTAL_PROOF_RECORD_H

#define PROOF_ID_MAX 128      /* proposal ids, evidence ids, subjects' local parts */
#define PROOF_IRI_MAX 256     /* subject and predicate */
#define PROOF_TEXT_MAX 512    /* an object (IRI or literal), a location */
#define PROOF_DIGEST_MAX 80   /* "sha256:" and 64 hex digits */

/* One triple of a named graph. object is an IRI or a literal, as given. */
struct proof_triple {
	char subject[PROOF_IRI_MAX];
	char predicate[PROOF_IRI_MAX];
	char object[PROOF_TEXT_MAX];
};

/* One lifecycle fact of a proposal in the warehouse. */
struct proof_fact {
	char proposal[PROOF_ID_MAX];
	char project[64];
	char kind[64];
	char event[16];                /* "submitted", "approved", "executed" */
	long long at;                  /* ms since the epoch */
	char actor[80];
	char artifact[PROOF_ID_MAX];   /* executed: the evidence record's id; else "" */
	char digest[PROOF_DIGEST_MAX]; /* executed: the artifact's digest; else "" */
};

/* One evidence record: what was produced, where it lives, and its digest. */
struct proof_evidence {
	char id[PROOF_ID_MAX];
	char proposal[PROOF_ID_MAX];
	char digest[PROOF_DIGEST_MAX];
	long long size;                /* bytes */
	char location[PROOF_TEXT_MAX];
	char producer[64];
};

/* Called per item; a negative return stops the walk (not an error). */
typedef int (*proof_triple_fn)(void *arg, const struct proof_triple *t);
typedef int (*proof_fact_fn)(void *arg, const struct proof_fact *f);
typedef int (*proof_evidence_fn)(void *arg, const struct proof_evidence *e);

#endif
