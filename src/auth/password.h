/* password: local account passwords, hashed with argon2id (libsodium's
 * crypto_pwhash_str, interactive limits). Only the hash string is stored;
 * verification is libsodium's, constant-time. */
#ifndef PORTAL_PASSWORD_H
#define PORTAL_PASSWORD_H

#include "store/store.h"

#define PASSWORD_MIN 12
#define PASSWORD_MAX 256

/* NULL when pw is acceptable (PASSWORD_MIN..PASSWORD_MAX bytes, no control
 * characters), else why not, in one sentence for the person typing it. */
const char *password_unacceptable(const char *pw);
/* Hashes pw into out; -1 when out of memory. */
int password_hash(const char *pw, char out[STORE_PW_HASH_MAX]);
/* Whether pw matches hash (0 for an empty or malformed hash). */
int password_verify(const char *hash, const char *pw);
/* Whether hash was made with weaker limits than password_hash uses now. */
int password_needs_rehash(const char *hash);

#endif
