/* password: argon2id hashing and checking of local account passwords, all
 * libsodium's. It never stores, logs or copies a password; callers own and
 * wipe theirs. */
#include "auth/password.h"

#include <string.h>

#include <sodium.h>

_Static_assert(STORE_PW_HASH_MAX >= crypto_pwhash_STRBYTES,
	       "a stored hash must hold libsodium's hash string");

#define OPSLIMIT crypto_pwhash_OPSLIMIT_INTERACTIVE
#define MEMLIMIT crypto_pwhash_MEMLIMIT_INTERACTIVE
#define STR(x) #x
#define XSTR(x) STR(x)

/* sodium_init is idempotent and thread-safe; calling it here means no caller
 * can forget it. */
static int ready(void)
{
	return sodium_init() >= 0;
}

const char *password_unacceptable(const char *pw)
{
	if (!pw || !*pw)
		return "the password is empty";
	size_t n = strnlen(pw, PASSWORD_MAX + 1);
	if (n < PASSWORD_MIN)
		return "the password is shorter than " XSTR(PASSWORD_MIN) " characters";
	if (n > PASSWORD_MAX)
		return "the password is longer than " XSTR(PASSWORD_MAX) " characters";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)pw[i];
		/* C0 controls and DEL, and the C1 controls as UTF-8 (C2 80..C2 9F):
		 * invisible, and often a pasted line break or tab. */
		if (c < 0x20 || c == 0x7f ||
		    (c == 0xc2 && i + 1 < n && (unsigned char)pw[i + 1] >= 0x80 &&
		     (unsigned char)pw[i + 1] <= 0x9f))
			return "the password contains a control character (such as a tab or a line "
			       "break)";
	}
	return NULL;
}

int password_hash(const char *pw, char out[STORE_PW_HASH_MAX])
{
	if (!pw || !ready())
		return -1;
	memset(out, 0, STORE_PW_HASH_MAX);
	return crypto_pwhash_str_alg(out, pw, strlen(pw), OPSLIMIT, MEMLIMIT,
				     crypto_pwhash_ALG_ARGON2ID13) == 0 ? 0 : -1;
}

/* Whether hash is a string that fits a stored hash, so libsodium, which
 * reads up to the NUL, stays inside it. */
static int hash_shaped(const char *hash)
{
	if (!hash)
		return 0;
	size_t n = strnlen(hash, STORE_PW_HASH_MAX);
	return n > 0 && n < STORE_PW_HASH_MAX;
}

int password_verify(const char *hash, const char *pw)
{
	if (!pw || !hash_shaped(hash) || !ready())
		return 0;
	/* No password that long was ever accepted, so none can match. */
	size_t n = strnlen(pw, PASSWORD_MAX + 1);
	if (n > PASSWORD_MAX)
		return 0;
	return crypto_pwhash_str_verify(hash, pw, n) == 0;
}

int password_needs_rehash(const char *hash)
{
	if (!hash_shaped(hash) || !ready())
		return 1;
	/* 1 for other limits, -1 for another algorithm or an unreadable
	 * string: either way a fresh hash is due. */
	return crypto_pwhash_str_needs_rehash(hash, OPSLIMIT, MEMLIMIT) != 0;
}
