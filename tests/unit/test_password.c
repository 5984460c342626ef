/* Password: what is accepted, and argon2id hashing and checking. Each hash
 * costs libsodium's interactive limits (64 MiB, a fraction of a second), so
 * these tests hash as little as they can. */
#include <criterion/criterion.h>
#include <string.h>

#include <sodium.h>

#include "auth/password.h"

#define GOOD "correct horse battery"

Test(password, a_hash_is_an_argon2id_string_that_verifies_its_password)
{
	char h[STORE_PW_HASH_MAX];
	cr_assert_eq(password_hash(GOOD, h), 0);
	cr_assert_eq(strncmp(h, "$argon2id$", 10), 0, "%s", h);
	cr_assert_lt(strlen(h), STORE_PW_HASH_MAX);
	cr_assert_null(strstr(h, GOOD));
	cr_assert_eq(password_verify(h, GOOD), 1);
}

Test(password, a_wrong_password_does_not_verify)
{
	char h[STORE_PW_HASH_MAX];
	cr_assert_eq(password_hash(GOOD, h), 0);
	cr_assert_eq(password_verify(h, "correct horse battery "), 0);
	cr_assert_eq(password_verify(h, "Correct horse battery"), 0);
	cr_assert_eq(password_verify(h, ""), 0);
	cr_assert_eq(password_verify(h, NULL), 0);
}

Test(password, the_same_password_hashes_differently_each_time)
{
	char a[STORE_PW_HASH_MAX], b[STORE_PW_HASH_MAX];
	cr_assert_eq(password_hash(GOOD, a), 0);
	cr_assert_eq(password_hash(GOOD, b), 0);
	cr_assert_str_neq(a, b);
}

Test(password, an_empty_or_malformed_hash_verifies_nothing)
{
	const char *bad[] = {
		"",
		"not a hash",
		"$argon2id$",
		"$argon2id$v=19$m=65536,t=2,p=1$",
		"$2y$10$abcdefghijklmnopqrstuuJ1n3M3aVOdLXmIvCw0Q1Tz4Xm1hSs1e", /* bcrypt */
		GOOD,
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		cr_assert_eq(password_verify(bad[i], GOOD), 0, "'%s'", bad[i]);
	cr_assert_eq(password_verify(NULL, GOOD), 0);

	/* A "hash" that fills its buffer with no NUL is never read past it. */
	char full[STORE_PW_HASH_MAX + 1];
	memset(full, 'a', STORE_PW_HASH_MAX);
	full[STORE_PW_HASH_MAX] = '\0';
	cr_assert_eq(password_verify(full, GOOD), 0);
}

Test(password, a_password_longer_than_the_limit_never_verifies)
{
	char h[STORE_PW_HASH_MAX];
	char longpw[PASSWORD_MAX + 2];
	memset(longpw, 'x', sizeof longpw - 1);
	longpw[sizeof longpw - 1] = '\0';
	cr_assert_eq(password_hash(longpw, h), 0);
	cr_assert_eq(password_verify(h, longpw), 0);
}

Test(password, a_fresh_hash_needs_no_rehash_but_weaker_or_unreadable_ones_do)
{
	char h[STORE_PW_HASH_MAX];
	cr_assert_eq(password_hash(GOOD, h), 0);
	cr_assert_eq(password_needs_rehash(h), 0);

	/* Made with the minimum limits libsodium allows: weaker than ours. */
	cr_assert_eq(sodium_init() >= 0, 1);
	char weak[crypto_pwhash_STRBYTES];
	cr_assert_eq(crypto_pwhash_str_alg(weak, GOOD, strlen(GOOD), crypto_pwhash_OPSLIMIT_MIN,
					   crypto_pwhash_MEMLIMIT_MIN, crypto_pwhash_ALG_ARGON2ID13),
		     0);
	cr_assert_eq(password_verify(weak, GOOD), 1);
	cr_assert_eq(password_needs_rehash(weak), 1);

	cr_assert_eq(password_needs_rehash("not a hash"), 1);
	cr_assert_eq(password_needs_rehash(""), 1);
	cr_assert_eq(password_needs_rehash(NULL), 1);
}

Test(password, acceptable_passwords_are_12_to_256_bytes_without_control_characters)
{
	char max[PASSWORD_MAX + 1];
	memset(max, 'p', PASSWORD_MAX);
	max[PASSWORD_MAX] = '\0';
	const char *ok[] = {
		"twelve chars",               /* exactly PASSWORD_MIN, spaces are fine */
		GOOD,
		"pässwörd-ünïcode §",         /* UTF-8 counts in bytes and is welcome */
		"パスワードです",               /* 7 characters, 21 bytes */
		max,
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
		cr_assert_null(password_unacceptable(ok[i]), "'%s': %s", ok[i],
			       password_unacceptable(ok[i]));
}

Test(password, unacceptable_passwords_say_why_in_a_sentence)
{
	char over[PASSWORD_MAX + 2];
	memset(over, 'p', PASSWORD_MAX + 1);
	over[PASSWORD_MAX + 1] = '\0';
	const struct {
		const char *pw, *why;
	} cases[] = {
		{NULL, "the password is empty"},
		{"", "the password is empty"},
		{"eleven char", "the password is shorter than 12 characters"},
		{over, "the password is longer than 256 characters"},
		{"with a\ttab inside", "the password contains a control character (such as a tab or a line break)"},
		{"trailing newline\n", "the password contains a control character (such as a tab or a line break)"},
		{"carriage return\r", "the password contains a control character (such as a tab or a line break)"},
		{"delete \x7f character", "the password contains a control character (such as a tab or a line break)"},
		{"escape \x1b[31m red", "the password contains a control character (such as a tab or a line break)"},
		{"c1 control \xc2\x85 here", "the password contains a control character (such as a tab or a line break)"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *why = password_unacceptable(cases[i].pw);
		cr_assert_not_null(why, "case %zu accepted", i);
		cr_assert_str_eq(why, cases[i].why, "case %zu", i);
	}
}
