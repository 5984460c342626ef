/* audit_hash: one fixed encoding of an audit row. The pinned digest catches
 * any change of encoding, which would break every stored chain. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "core/audit.h"

static struct audit_row base(void)
{
	struct audit_row r = {
		.seq = 7, .proposal = "p-0123456789abcdef", .from = "approved", .to = "queued",
		.actor = "alice", .at = 1700000000123LL, .reason = "looks right",
	};
	for (int i = 0; i < AUDIT_HASH_LEN; i++)
		r.prev[i] = (unsigned char)i;
	return r;
}

static void hex(const unsigned char h[AUDIT_HASH_LEN], char out[2 * AUDIT_HASH_LEN + 1])
{
	for (int i = 0; i < AUDIT_HASH_LEN; i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
}

static int differs(const struct audit_row *a, const struct audit_row *b)
{
	unsigned char ha[AUDIT_HASH_LEN], hb[AUDIT_HASH_LEN];
	audit_hash(a, ha);
	audit_hash(b, hb);
	return memcmp(ha, hb, AUDIT_HASH_LEN) != 0;
}

/* Worked out independently (Python hashlib.blake2b over the documented
 * encoding), not copied from this implementation. */
Test(audit, the_hash_of_a_row_is_pinned_so_stored_chains_stay_valid)
{
	struct audit_row r = base();
	unsigned char h[AUDIT_HASH_LEN];
	char x[2 * AUDIT_HASH_LEN + 1];
	audit_hash(&r, h);
	hex(h, x);
	cr_assert_str_eq(x, "6c23a588e3acdbf8db1af2b8b204433d4204b82889f8a4be0afb286fed67addf");
}

Test(audit, the_same_row_always_hashes_the_same)
{
	struct audit_row a = base(), b = base();
	cr_assert_not(differs(&a, &b));
}

Test(audit, the_stored_hash_itself_is_not_hashed)
{
	struct audit_row a = base(), b = base();
	memset(b.hash, 0xff, AUDIT_HASH_LEN);
	cr_assert_not(differs(&a, &b));
}

Test(audit, every_field_changes_the_hash)
{
	const struct audit_row a = base();
	struct audit_row b;
	b = a, b.seq = 8;
	cr_assert(differs(&a, &b), "seq");
	b = a, b.proposal = "p-0123456789abcdee";
	cr_assert(differs(&a, &b), "proposal");
	b = a, b.from = "submitted";
	cr_assert(differs(&a, &b), "from");
	b = a, b.to = "cancelled";
	cr_assert(differs(&a, &b), "to");
	b = a, b.actor = "mallory";
	cr_assert(differs(&a, &b), "actor");
	b = a, b.at = a.at + 1;
	cr_assert(differs(&a, &b), "at");
	b = a, b.reason = "looks right.";
	cr_assert(differs(&a, &b), "reason");
	b = a, b.prev[31] ^= 1;
	cr_assert(differs(&a, &b), "prev");
}

Test(audit, moving_bytes_between_fields_changes_the_hash)
{
	struct audit_row a = base(), b = base();
	a.actor = "ab", a.reason = "c";
	b.actor = "a", b.reason = "bc";
	cr_assert(differs(&a, &b));
	a = base(), b = base();
	a.from = "", a.to = "x";
	b.from = "x", b.to = "";
	cr_assert(differs(&a, &b));
}

Test(audit, a_null_text_hashes_as_the_empty_string)
{
	struct audit_row a = base(), b = base();
	a.reason = NULL;
	b.reason = "";
	cr_assert_not(differs(&a, &b));
}
