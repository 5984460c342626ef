/* login: sign-in sessions for people ("logins", to keep them apart from the
 * harness sessions Portal watches). A login id is 256 random bits, shown only
 * to the browser, in an HttpOnly cookie; the store and this cache keep its
 * BLAKE2b hash. The cache holds the live logins and the accounts, reloaded
 * from the store by the monitor thread, so no request waits on the store to
 * learn who is asking. Idle time is tracked here and written back lazily. */
#ifndef PORTAL_LOGIN_H
#define PORTAL_LOGIN_H

#include <stddef.h>

#include "http/http.h"
#include "store/store.h"

#define LOGIN_COOKIE "portal_login"
#define LOGIN_PRE_COOKIE "portal_pre" /* the sign-in form's own CSRF pair */
#define LOGIN_TEXT_MAX 48             /* 32 bytes, base64url, unpadded: 43 + NUL */

/* Who is asking travels in the request as struct who (http/http.h); its
 * sizes are the store's and the cookie's. */
_Static_assert(HTTP_WHO_NAME_MAX == STORE_NAME_MAX, "an account name fits struct who");
_Static_assert(HTTP_WHO_HASH_LEN == STORE_LOGIN_HASH_LEN, "a login hash fits struct who");
_Static_assert(HTTP_WHO_TOKEN_MAX == LOGIN_TEXT_MAX, "a CSRF token fits struct who");

/* A fresh random id (text for the cookie) and its hash (for the store). */
void login_id_new(char text[LOGIN_TEXT_MAX], unsigned char hash[STORE_LOGIN_HASH_LEN]);
/* The hash of a presented id; -1 when text does not have the shape. */
int login_id_hash(const char *text, unsigned char hash[STORE_LOGIN_HASH_LEN]);
/* The CSRF token that belongs to a login: a keyed hash of its id, so it
 * cannot be made without the cookie and needs no storage. For an identity
 * from a proxy (no cookie), key is the process's own random key and msg the
 * account name. */
void login_csrf(const void *key, size_t keylen, const char *msg, char out[LOGIN_TEXT_MAX]);
/* Constant-time equality of two NUL-ended tokens. */
int login_token_equal(const char *a, const char *b);

struct login_cache;

struct login_cache *login_cache_new(void);
void login_cache_free(struct login_cache *lc);

/* Reloads accounts and live logins from the store (monitor thread), keeping
 * the newer last-seen time of logins it already knew; then writes back the
 * last-seen time of logins used since their last write more than
 * `touch_every_ms` ago. */
int login_cache_sync(struct login_cache *lc, struct store *st, long long now_ms,
		     long long touch_every_ms, struct perr *err);
/* Adds one login just stored (so it works before the next sync). */
void login_cache_put(struct login_cache *lc, const struct store_login *l);
/* Forgets one login, or every login of an account. */
void login_cache_drop(struct login_cache *lc, const unsigned char hash[STORE_LOGIN_HASH_LEN]);
void login_cache_drop_user(struct login_cache *lc, long long user_id);

enum login_state { LOGIN_NONE, LOGIN_OK, LOGIN_EXPIRED };
/* Looks up the presented cookie value. LOGIN_OK fills who (csrf included)
 * and marks the login used at now_ms; LOGIN_EXPIRED means it was a real
 * login that ran past idle_ms unused or past its absolute expiry (it is
 * dropped here, and who->hash names it so the caller can end it in the
 * store); LOGIN_NONE anything else. */
enum login_state login_cache_check(struct login_cache *lc, const char *cookie_value,
				   long long now_ms, long long idle_ms, struct who *who);
/* An enabled account by name, for an identity a trusted proxy names. */
int login_cache_user(struct login_cache *lc, const char *name, struct who *who);
/* One account as the cache knows it, for the accounts page. */
struct login_account {
	long long id;
	const char *name;
	int role;
	int disabled;
	int logins; /* live sign-ins */
};
/* Calls fn for every account, in name order (under the cache's lock: fn
 * must not call back into the cache). */
void login_cache_accounts_each(struct login_cache *lc,
			       void (*fn)(void *arg, const struct login_account *a), void *arg);
/* How many accounts exist (any state); -1 before the first sync. */
long long login_cache_accounts(struct login_cache *lc);

#endif
