/* audit: the hash of one audit row (core/audit.h). The encoding is fixed
 * forever once rows exist: a domain tag, prev, then each field as an 8-byte
 * big-endian length and its bytes (integers as 8 big-endian bytes), so no
 * two different rows encode alike. Pure: no I/O, no storage. */
#include "core/audit.h"

#include <stdint.h>
#include <string.h>

#include <sodium.h>

/* Changing the encoding means a new tag and a migration of every row. */
static const char TAG[] = "portal.audit.v1";

static void put_u64(crypto_generichash_state *st, uint64_t v)
{
	unsigned char b[8];
	for (int i = 7; i >= 0; i--, v >>= 8)
		b[i] = (unsigned char)(v & 0xff);
	crypto_generichash_update(st, b, sizeof b);
}

static void put_int(crypto_generichash_state *st, long long v)
{
	put_u64(st, 8);
	put_u64(st, (uint64_t)v);
}

static void put_str(crypto_generichash_state *st, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	put_u64(st, n);
	if (n)
		crypto_generichash_update(st, (const unsigned char *)s, n);
}

void audit_hash(const struct audit_row *r, unsigned char out[AUDIT_HASH_LEN])
{
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, AUDIT_HASH_LEN);
	crypto_generichash_update(&st, (const unsigned char *)TAG, sizeof TAG);
	crypto_generichash_update(&st, r->prev, AUDIT_HASH_LEN);
	put_int(&st, r->seq);
	put_str(&st, r->proposal);
	put_str(&st, r->from);
	put_str(&st, r->to);
	put_str(&st, r->actor);
	put_int(&st, r->at);
	put_str(&st, r->reason);
	crypto_generichash_final(&st, out, AUDIT_HASH_LEN);
}
