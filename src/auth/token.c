/* token: see token.h. The cache is a small array swapped whole under a mutex;
 * a check hashes the presented secret once and compares in constant time. */
#include "auth/token.h"

#include <fnmatch.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define PREFIX "ptk_"
#define SECRET_BYTES 32

static const char *const known_scopes[] = {"events:write", "read", NULL};

static void hash_secret(const char *secret, size_t len, unsigned char hash[STORE_TOKEN_HASH_LEN])
{
	crypto_generichash(hash, STORE_TOKEN_HASH_LEN, (const unsigned char *)secret, len, NULL, 0);
}

void token_generate(char text[TOKEN_TEXT_MAX], char id[STORE_TOKEN_ID_MAX],
		    unsigned char hash[STORE_TOKEN_HASH_LEN])
{
	unsigned char rid[6], secret[SECRET_BYTES];
	randombytes_buf(rid, sizeof rid);
	randombytes_buf(secret, sizeof secret);
	sodium_bin2hex(id, STORE_TOKEN_ID_MAX, rid, sizeof rid);
	char s64[sodium_base64_ENCODED_LEN(SECRET_BYTES, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
	sodium_bin2base64(s64, sizeof s64, secret, sizeof secret,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	snprintf(text, TOKEN_TEXT_MAX, PREFIX "%s_%s", id, s64);
	hash_secret(s64, strlen(s64), hash);
	sodium_memzero(secret, sizeof secret);
	sodium_memzero(s64, sizeof s64);
}

int token_parse(const char *text, char id[STORE_TOKEN_ID_MAX],
		unsigned char hash[STORE_TOKEN_HASH_LEN])
{
	size_t plen = strlen(PREFIX);
	if (!text || strncmp(text, PREFIX, plen) != 0)
		return -1;
	const char *p = text + plen, *us = strchr(p, '_');
	if (!us || us - p != 12)
		return -1;
	for (const char *q = p; q < us; q++)
		if (!((*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'f')))
			return -1;
	const char *secret = us + 1;
	size_t n = strlen(secret);
	if (n < 16 || n > 64)
		return -1;
	memcpy(id, p, 12);
	id[12] = 0;
	hash_secret(secret, n, hash);
	return 0;
}

static int word_is(const char *w, size_t n, const char *scope)
{
	return strlen(scope) == n && strncmp(w, scope, n) == 0;
}

int token_scopes_have(const char *scopes, const char *scope)
{
	for (const char *p = scopes; *p;) {
		while (*p == ' ')
			p++;
		size_t n = strcspn(p, " ");
		if (n && word_is(p, n, scope))
			return 1;
		p += n;
	}
	return 0;
}

int token_scopes_valid(const char *scopes, const char **bad, size_t *badlen)
{
	int any = 0;
	for (const char *p = scopes; *p;) {
		while (*p == ' ')
			p++;
		size_t n = strcspn(p, " ");
		if (!n)
			break;
		int ok = 0;
		for (const char *const *k = known_scopes; *k && !ok; k++)
			ok = word_is(p, n, *k);
		if (!ok) {
			*bad = p;
			*badlen = n;
			return 0;
		}
		any = 1;
		p += n;
	}
	if (!any) {
		*bad = scopes;
		*badlen = 0;
	}
	return any;
}

/* Characters of a project or type name (core/event.c) and of a glob. */
static int glob_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       strchr("._:-*?[]!", ch) != NULL;
}

int token_limit_add(char *list, size_t cap, const char *flag, const char *glob, struct perr *err)
{
	size_t n = strlen(glob);
	if (n == 0)
		return perr_set(err, PERR_INVALID, flag, "--%s needs a name or a glob", flag);
	if (n > TOKEN_GLOB_MAX)
		return perr_set(err, PERR_TOO_LARGE, flag, "--%s is %zu bytes; the limit is %d", flag,
				n, TOKEN_GLOB_MAX);
	int open = 0;
	for (const char *p = glob; *p; p++) {
		if (!glob_char(*p))
			return perr_set(err, PERR_INVALID, flag,
					"--%s '%.64s': character %zu is not allowed in a name or a glob "
					"(letters, digits, . _ : - and * ? [ ] !)",
					flag, glob, (size_t)(p - glob) + 1);
		if (*p == '[')
			open = 1;
		else if (*p == ']' && open)
			open = 0;
	}
	if (open)
		return perr_set(err, PERR_INVALID, flag, "--%s '%s': a [ is not closed by ]", flag,
				glob);
	size_t count = 0, used = strlen(list);
	for (const char *p = list; *p; p++)
		count += *p == ' ';
	if (used)
		count++;
	if (count >= TOKEN_GLOBS_MAX)
		return perr_set(err, PERR_TOO_LARGE, flag, "--%s is given more than %d times", flag,
				TOKEN_GLOBS_MAX);
	if (used + (used ? 1 : 0) + n + 1 > cap)
		return perr_set(err, PERR_TOO_LARGE, flag, "the --%s globs are too long together",
				flag);
	snprintf(list + used, cap - used, "%s%s", used ? " " : "", glob);
	return 0;
}

/* Whether value matches a glob of the list ("" matches anything). */
static int limits_match(const char *list, const char *value)
{
	if (!*list)
		return 1;
	char glob[TOKEN_GLOB_MAX + 1];
	for (const char *p = list; *p;) {
		size_t n = strcspn(p, " ");
		if (n && n <= TOKEN_GLOB_MAX) {
			memcpy(glob, p, n);
			glob[n] = 0;
			if (fnmatch(glob, value, 0) == 0)
				return 1;
		}
		p += n;
		while (*p == ' ')
			p++;
	}
	return 0;
}

int token_limits_allow(const char *projects, const char *types, const char *project,
		       const char *type, struct perr *err)
{
	if (!limits_match(projects, project))
		return perr_set(err, PERR_FORBIDDEN, "project",
				"this token may write to projects %.180s, not '%.40s'", projects, project);
	if (!limits_match(types, type))
		return perr_set(err, PERR_FORBIDDEN, "type",
				"this token may write types %.180s, not '%.40s'", types, type);
	return 0;
}

struct token_cache {
	pthread_mutex_t mu;
	struct store_token *items;
	size_t n;
};

struct token_cache *token_cache_new(void)
{
	struct token_cache *tc = calloc(1, sizeof *tc);
	if (!tc)
		abort();
	pthread_mutex_init(&tc->mu, NULL);
	return tc;
}

void token_cache_free(struct token_cache *tc)
{
	if (!tc)
		return;
	sodium_memzero(tc->items, tc->n * sizeof *tc->items);
	free(tc->items);
	pthread_mutex_destroy(&tc->mu);
	free(tc);
}

struct collect {
	struct store_token *items;
	size_t n, cap;
};

static int collect_one(void *arg, const struct store_token *t)
{
	struct collect *c = arg;
	if (t->revoked_at)
		return 0;
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 8;
		c->items = realloc(c->items, c->cap * sizeof *c->items);
		if (!c->items)
			abort();
	}
	c->items[c->n++] = *t;
	return 0;
}

int token_cache_load(struct token_cache *tc, struct store *st, struct perr *err)
{
	struct collect c = {0};
	int rc = store_tokens(st, collect_one, &c, err);
	if (rc < 0) {
		free(c.items);
		return rc;
	}
	pthread_mutex_lock(&tc->mu);
	struct store_token *old = tc->items;
	size_t oldn = tc->n;
	tc->items = c.items;
	tc->n = c.n;
	pthread_mutex_unlock(&tc->mu);
	sodium_memzero(old, oldn * sizeof *old);
	free(old);
	return 0;
}

enum auth_result token_cache_check(struct token_cache *tc, const char *authorization,
				   const char *scope, char *name, size_t cap)
{
	return token_cache_check_limits(tc, authorization, scope, name, cap, NULL, NULL);
}

enum auth_result token_cache_check_limits(struct token_cache *tc, const char *authorization,
					  const char *scope, char *name, size_t cap,
					  char projects[STORE_TOKEN_LIMITS_MAX],
					  char types[STORE_TOKEN_LIMITS_MAX])
{
	if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0)
		return AUTH_MISSING;
	const char *text = authorization + 7;
	while (*text == ' ')
		text++;
	char id[STORE_TOKEN_ID_MAX];
	unsigned char hash[STORE_TOKEN_HASH_LEN];
	if (token_parse(text, id, hash) < 0)
		return AUTH_INVALID;
	enum auth_result r = AUTH_INVALID;
	pthread_mutex_lock(&tc->mu);
	for (size_t i = 0; i < tc->n; i++) {
		const struct store_token *t = &tc->items[i];
		if (strcmp(t->id, id) != 0)
			continue;
		if (sodium_memcmp(t->hash, hash, STORE_TOKEN_HASH_LEN) != 0)
			break;
		snprintf(name, cap, "%s", t->name);
		r = token_scopes_have(t->scopes, scope) ? AUTH_OK : AUTH_FORBIDDEN;
		if (r == AUTH_OK && projects)
			memcpy(projects, t->projects, STORE_TOKEN_LIMITS_MAX);
		if (r == AUTH_OK && types)
			memcpy(types, t->types, STORE_TOKEN_LIMITS_MAX);
		break;
	}
	pthread_mutex_unlock(&tc->mu);
	return r;
}
