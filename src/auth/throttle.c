/* throttle: see throttle.h. Keys are hashed into a small table searched
 * linearly: sign-in is rare, and the table is bounded whatever arrives. */
#include "auth/throttle.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

struct slot {
	unsigned char key[16]; /* BLAKE2b-128 of the key text */
	int used;
	int failures;
	long long last_ms;     /* time of the last failure */
};

struct throttle {
	pthread_mutex_t lock;
	struct slot *s;
	int n;
};

struct throttle *throttle_new(int slots)
{
	struct throttle *t = calloc(1, sizeof *t);
	if (!t || !(t->s = calloc((size_t)slots, sizeof *t->s))) {
		free(t);
		return NULL;
	}
	t->n = slots;
	pthread_mutex_init(&t->lock, NULL);
	return t;
}

void throttle_free(struct throttle *t)
{
	if (!t)
		return;
	pthread_mutex_destroy(&t->lock);
	free(t->s);
	free(t);
}

long long throttle_delay_ms(int failures)
{
	if (failures <= THROTTLE_FREE_FAILURES)
		return 0;
	long long d = THROTTLE_BASE_MS;
	for (int i = THROTTLE_FREE_FAILURES + 1; i < failures && d < THROTTLE_MAX_MS; i++)
		d *= 2;
	return d < THROTTLE_MAX_MS ? d : THROTTLE_MAX_MS;
}

static void digest(const char *key, unsigned char out[16])
{
	crypto_generichash(out, 16, (const unsigned char *)key, strlen(key), NULL, 0);
}

/* The slot of key, or NULL; forgets it when it has been quiet long enough. */
static struct slot *find(struct throttle *t, const unsigned char d[16], long long now_ms)
{
	for (int i = 0; i < t->n; i++) {
		struct slot *s = &t->s[i];
		if (s->used && memcmp(s->key, d, 16) == 0) {
			if (now_ms - s->last_ms > THROTTLE_FORGET_MS) {
				s->used = 0;
				return NULL;
			}
			return s;
		}
	}
	return NULL;
}

long long throttle_wait_ms(struct throttle *t, const char *key, long long now_ms)
{
	unsigned char d[16];
	digest(key, d);
	pthread_mutex_lock(&t->lock);
	struct slot *s = find(t, d, now_ms);
	long long wait = s ? s->last_ms + throttle_delay_ms(s->failures) - now_ms : 0;
	pthread_mutex_unlock(&t->lock);
	return wait > 0 ? wait : 0;
}

void throttle_fail(struct throttle *t, const char *key, long long now_ms)
{
	unsigned char d[16];
	digest(key, d);
	pthread_mutex_lock(&t->lock);
	struct slot *s = find(t, d, now_ms);
	if (!s) {
		s = &t->s[0];
		for (int i = 0; i < t->n; i++) {
			if (!t->s[i].used) {
				s = &t->s[i];
				break;
			}
			if (t->s[i].last_ms < s->last_ms)
				s = &t->s[i];
		}
		memset(s, 0, sizeof *s);
		memcpy(s->key, d, 16);
		s->used = 1;
	}
	s->failures++;
	s->last_ms = now_ms;
	pthread_mutex_unlock(&t->lock);
}

void throttle_clear(struct throttle *t, const char *key)
{
	unsigned char d[16];
	digest(key, d);
	pthread_mutex_lock(&t->lock);
	for (int i = 0; i < t->n; i++)
		if (t->s[i].used && memcmp(t->s[i].key, d, 16) == 0)
			t->s[i].used = 0;
	pthread_mutex_unlock(&t->lock);
}
