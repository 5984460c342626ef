/* login: see login.h. Logins sit in an array sorted by hash, accounts in one
 * sorted by name; both are rebuilt whole by each sync and searched with
 * bsearch under one mutex. */
#include "auth/login.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define ID_BYTES 32

struct entry {
	struct store_login l;
	long long seen_written; /* last_seen_at as the store has it */
};

struct account {
	long long id;
	char name[STORE_NAME_MAX];
	int role;
	int disabled;
};

struct login_cache {
	pthread_mutex_t lock;
	struct entry *v;
	size_t n, cap;
	struct account *users;
	size_t nusers;
	long long accounts; /* -1 until the first sync */
};

void login_id_new(char text[LOGIN_TEXT_MAX], unsigned char hash[STORE_LOGIN_HASH_LEN])
{
	unsigned char id[ID_BYTES];
	randombytes_buf(id, sizeof id);
	sodium_bin2base64(text, LOGIN_TEXT_MAX, id, sizeof id,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(id, sizeof id);
	login_id_hash(text, hash);
}

int login_id_hash(const char *text, unsigned char hash[STORE_LOGIN_HASH_LEN])
{
	unsigned char id[ID_BYTES];
	size_t len = 0;
	if (!text || strlen(text) != 43 ||
	    sodium_base642bin(id, sizeof id, text, 43, NULL, &len, NULL,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    len != ID_BYTES)
		return -1;
	crypto_generichash(hash, STORE_LOGIN_HASH_LEN, (const unsigned char *)text, 43, NULL, 0);
	sodium_memzero(id, sizeof id);
	return 0;
}

void login_csrf(const void *key, size_t keylen, const char *msg, char out[LOGIN_TEXT_MAX])
{
	static const char ctx[] = "portal csrf v1:";
	unsigned char mac[32];
	crypto_generichash_state st;
	if (keylen > crypto_generichash_KEYBYTES_MAX)
		keylen = crypto_generichash_KEYBYTES_MAX;
	crypto_generichash_init(&st, key, keylen, sizeof mac);
	crypto_generichash_update(&st, (const unsigned char *)ctx, sizeof ctx - 1);
	crypto_generichash_update(&st, (const unsigned char *)msg, strlen(msg));
	crypto_generichash_final(&st, mac, sizeof mac);
	sodium_bin2base64(out, LOGIN_TEXT_MAX, mac, sizeof mac,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

int login_token_equal(const char *a, const char *b)
{
	size_t n = strlen(a);
	if (!n || n != strlen(b))
		return 0;
	return sodium_memcmp(a, b, n) == 0;
}

struct login_cache *login_cache_new(void)
{
	struct login_cache *lc = calloc(1, sizeof *lc);
	if (!lc)
		return NULL;
	pthread_mutex_init(&lc->lock, NULL);
	lc->accounts = -1;
	return lc;
}

void login_cache_free(struct login_cache *lc)
{
	if (!lc)
		return;
	pthread_mutex_destroy(&lc->lock);
	free(lc->v);
	free(lc->users);
	free(lc);
}

static int by_hash(const void *a, const void *b)
{
	return memcmp(((const struct entry *)a)->l.hash, ((const struct entry *)b)->l.hash,
		      STORE_LOGIN_HASH_LEN);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct account *)a)->name, ((const struct account *)b)->name);
}

static struct entry *find(struct login_cache *lc, const unsigned char *hash)
{
	struct entry key;
	memcpy(key.l.hash, hash, STORE_LOGIN_HASH_LEN);
	return lc->n ? bsearch(&key, lc->v, lc->n, sizeof *lc->v, by_hash) : NULL;
}

/* What one sync gathers before it swaps. */
struct gather {
	struct entry *v;
	size_t n, cap;
	struct account *u;
	size_t nu, capu;
	int oom;
};

static void *grow(void *p, size_t n, size_t *cap, size_t size)
{
	if (n < *cap)
		return p;
	size_t nc = *cap ? *cap * 2 : 64;
	void *q = realloc(p, nc * size);
	if (q)
		*cap = nc;
	return q;
}

static int gather_login(void *arg, const struct store_login *l)
{
	struct gather *g = arg;
	struct entry *v = grow(g->v, g->n, &g->cap, sizeof *g->v);
	if (!v) {
		g->oom = 1;
		return -1;
	}
	g->v = v;
	g->v[g->n].l = *l;
	g->v[g->n].seen_written = l->last_seen_at;
	g->n++;
	return 0;
}

static int gather_user(void *arg, const struct store_user *u)
{
	struct gather *g = arg;
	struct account *v = grow(g->u, g->nu, &g->capu, sizeof *g->u);
	if (!v) {
		g->oom = 1;
		return -1;
	}
	g->u = v;
	struct account *a = &g->u[g->nu++];
	a->id = u->id;
	memcpy(a->name, u->name, sizeof a->name);
	a->role = u->role;
	a->disabled = u->disabled;
	return 0;
}

int login_cache_sync(struct login_cache *lc, struct store *st, long long now_ms,
		     long long touch_every_ms, struct perr *err)
{
	/* Write back first what was used since it was last written. */
	struct { unsigned char hash[STORE_LOGIN_HASH_LEN]; long long seen; } *due = NULL;
	size_t ndue = 0;
	pthread_mutex_lock(&lc->lock);
	if (lc->n && (due = malloc(lc->n * sizeof *due)))
		for (size_t i = 0; i < lc->n; i++) {
			struct entry *e = &lc->v[i];
			if (e->l.last_seen_at - e->seen_written >= touch_every_ms) {
				memcpy(due[ndue].hash, e->l.hash, STORE_LOGIN_HASH_LEN);
				due[ndue++].seen = e->l.last_seen_at;
			}
		}
	pthread_mutex_unlock(&lc->lock);
	for (size_t i = 0; i < ndue; i++) {
		int rc = store_login_touch(st, due[i].hash, due[i].seen, err);
		if (rc < 0 && rc != PERR_NOT_FOUND) /* ended meanwhile: nothing to write */
			break;
	}
	free(due);

	struct gather g = {0};
	long long count = 0;
	if (store_users(st, gather_user, &g, &count, err) < 0 ||
	    store_logins(st, now_ms, gather_login, &g, err) < 0 || g.oom) {
		free(g.v);
		free(g.u);
		if (g.oom)
			perr_set(err, PERR_INTERNAL, NULL, "out of memory loading logins");
		return -1;
	}
	if (g.n)
		qsort(g.v, g.n, sizeof *g.v, by_hash);
	if (g.nu)
		qsort(g.u, g.nu, sizeof *g.u, by_name);
	pthread_mutex_lock(&lc->lock);
	for (size_t i = 0; i < g.n; i++) { /* keep use seen here since the read */
		struct entry *old = find(lc, g.v[i].l.hash);
		if (old && old->l.last_seen_at > g.v[i].l.last_seen_at)
			g.v[i].l.last_seen_at = old->l.last_seen_at;
	}
	free(lc->v);
	free(lc->users);
	lc->v = g.v;
	lc->n = lc->cap = g.n;
	lc->users = g.u;
	lc->nusers = g.nu;
	lc->accounts = (long long)g.nu;
	pthread_mutex_unlock(&lc->lock);
	return 0;
}

void login_cache_put(struct login_cache *lc, const struct store_login *l)
{
	pthread_mutex_lock(&lc->lock);
	if (!find(lc, l->hash)) {
		struct entry *v = grow(lc->v, lc->n, &lc->cap, sizeof *lc->v);
		if (v) {
			lc->v = v;
			size_t at = 0;
			while (at < lc->n && memcmp(lc->v[at].l.hash, l->hash, STORE_LOGIN_HASH_LEN) < 0)
				at++;
			memmove(&lc->v[at + 1], &lc->v[at], (lc->n - at) * sizeof *lc->v);
			lc->v[at].l = *l;
			lc->v[at].seen_written = l->last_seen_at;
			lc->n++;
		}
	}
	pthread_mutex_unlock(&lc->lock);
}

static void remove_at(struct login_cache *lc, size_t i)
{
	memmove(&lc->v[i], &lc->v[i + 1], (lc->n - i - 1) * sizeof *lc->v);
	lc->n--;
}

void login_cache_drop(struct login_cache *lc, const unsigned char hash[STORE_LOGIN_HASH_LEN])
{
	pthread_mutex_lock(&lc->lock);
	struct entry *e = find(lc, hash);
	if (e)
		remove_at(lc, (size_t)(e - lc->v));
	pthread_mutex_unlock(&lc->lock);
}

void login_cache_drop_user(struct login_cache *lc, long long user_id)
{
	pthread_mutex_lock(&lc->lock);
	for (size_t i = lc->n; i-- > 0;)
		if (lc->v[i].l.user_id == user_id)
			remove_at(lc, i);
	pthread_mutex_unlock(&lc->lock);
}

enum login_state login_cache_check(struct login_cache *lc, const char *cookie_value,
				   long long now_ms, long long idle_ms, struct who *who)
{
	unsigned char hash[STORE_LOGIN_HASH_LEN];
	if (login_id_hash(cookie_value, hash) < 0)
		return LOGIN_NONE;
	enum login_state rc = LOGIN_NONE;
	pthread_mutex_lock(&lc->lock);
	struct entry *e = find(lc, hash);
	if (e && (now_ms >= e->l.expires_at || now_ms - e->l.last_seen_at > idle_ms)) {
		remove_at(lc, (size_t)(e - lc->v));
		memset(who, 0, sizeof *who);
		memcpy(who->hash, hash, sizeof hash);
		rc = LOGIN_EXPIRED;
	} else if (e) {
		e->l.last_seen_at = now_ms;
		memset(who, 0, sizeof *who);
		who->user_id = e->l.user_id;
		memcpy(who->user, e->l.user, sizeof who->user);
		who->role = e->l.role;
		memcpy(who->hash, hash, sizeof hash);
		rc = LOGIN_OK;
	}
	pthread_mutex_unlock(&lc->lock);
	if (rc == LOGIN_OK)
		login_csrf(cookie_value, strlen(cookie_value), "login", who->csrf);
	return rc;
}

int login_cache_user(struct login_cache *lc, const char *name, struct who *who)
{
	struct account key;
	snprintf(key.name, sizeof key.name, "%s", name);
	int found = 0;
	pthread_mutex_lock(&lc->lock);
	struct account *a = lc->nusers ? bsearch(&key, lc->users, lc->nusers, sizeof *lc->users,
						  by_name) : NULL;
	if (a && !a->disabled) {
		memset(who, 0, sizeof *who);
		who->user_id = a->id;
		memcpy(who->user, a->name, sizeof who->user);
		who->role = a->role;
		who->via_proxy = 1;
		found = 1;
	}
	pthread_mutex_unlock(&lc->lock);
	return found;
}

long long login_cache_accounts(struct login_cache *lc)
{
	pthread_mutex_lock(&lc->lock);
	long long n = lc->accounts;
	pthread_mutex_unlock(&lc->lock);
	return n;
}

void login_cache_accounts_each(struct login_cache *lc,
			       void (*fn)(void *arg, const struct login_account *a), void *arg)
{
	pthread_mutex_lock(&lc->lock);
	for (size_t i = 0; i < lc->nusers; i++) {
		const struct account *u = &lc->users[i];
		struct login_account a = {u->id, u->name, u->role, u->disabled, 0};
		for (size_t j = 0; j < lc->n; j++)
			a.logins += lc->v[j].l.user_id == u->id;
		fn(arg, &a);
	}
	pthread_mutex_unlock(&lc->lock);
}
