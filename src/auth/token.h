/* token: bearer tokens for machines (producers posting events). A token is
 * shown once, at creation, as "ptk_<id>_<secret>"; the store keeps only the
 * id and a BLAKE2b hash of the secret, and requests are checked against an
 * in-memory copy of the token table that the monitor thread refreshes, so no
 * request waits on the store. */
#ifndef PORTAL_TOKEN_H
#define PORTAL_TOKEN_H

#include <stddef.h>

#include "store/store.h"

#define TOKEN_TEXT_MAX 96

/* Makes a new random token: text (shown once), id and hash (stored). */
void token_generate(char text[TOKEN_TEXT_MAX], char id[STORE_TOKEN_ID_MAX],
		    unsigned char hash[STORE_TOKEN_HASH_LEN]);

/* Splits a presented token into its id and the hash of its secret; -1 when it
 * does not have the token shape. */
int token_parse(const char *text, char id[STORE_TOKEN_ID_MAX],
		unsigned char hash[STORE_TOKEN_HASH_LEN]);

/* Whether the space-separated scope list holds `scope`. */
int token_scopes_have(const char *scopes, const char *scope);
/* Whether every word of scopes is a scope Portal knows; *bad names the first
 * unknown one. */
int token_scopes_valid(const char *scopes, const char **bad, size_t *badlen);

/* A producer token's limits: at most TOKEN_GLOBS_MAX fnmatch(3) globs of at
 * most TOKEN_GLOB_MAX bytes for each of --project and --type. */
#define TOKEN_GLOBS_MAX 8
#define TOKEN_GLOB_MAX 64

/* Appends one glob given to `flag` ("project" or "type") to the
 * space-separated list (cap bytes, STORE_TOKEN_LIMITS_MAX); PERR_INVALID or
 * PERR_TOO_LARGE naming the flag when it is empty, too long, holds a space or
 * a character no name or glob holds, has an unclosed [ or is one too many. */
int token_limit_add(char *list, size_t cap, const char *flag, const char *glob, struct perr *err);

/* Whether an event of a token limited to `projects` and `types` (lists as
 * stored; "" for no limit) may be written: 0, or PERR_FORBIDDEN with
 * err->field "project" or "type" naming the value and the limit. */
int token_limits_allow(const char *projects, const char *types, const char *project,
		       const char *type, struct perr *err);

struct token_cache;

struct token_cache *token_cache_new(void);
void token_cache_free(struct token_cache *tc);
/* Reloads the cache from the store (any thread). */
int token_cache_load(struct token_cache *tc, struct store *st, struct perr *err);

enum auth_result { AUTH_OK, AUTH_MISSING, AUTH_INVALID, AUTH_FORBIDDEN };
/* Checks an Authorization header value for a live token carrying `scope`;
 * on AUTH_OK copies the token's name into name. */
enum auth_result token_cache_check(struct token_cache *tc, const char *authorization,
				   const char *scope, char *name, size_t cap);
/* The same, also copying the token's limits (STORE_TOKEN_LIMITS_MAX bytes
 * each) on AUTH_OK. */
enum auth_result token_cache_check_limits(struct token_cache *tc, const char *authorization,
					  const char *scope, char *name, size_t cap,
					  char projects[STORE_TOKEN_LIMITS_MAX],
					  char types[STORE_TOKEN_LIMITS_MAX]);

#endif
