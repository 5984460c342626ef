/* throttle: sign-in attempts, limited per client address and per account
 * name with a growing delay. The first few failures cost nothing; each one
 * after that doubles the wait before the next attempt is even checked, up to
 * a cap. A success clears the key. A fixed-size table: when full, the
 * entry quiet the longest is reused. Thread-safe. */
#ifndef PORTAL_THROTTLE_H
#define PORTAL_THROTTLE_H

#define THROTTLE_FREE_FAILURES 3
#define THROTTLE_BASE_MS 1000
#define THROTTLE_MAX_MS 300000
#define THROTTLE_FORGET_MS 900000 /* a key quiet this long starts over */

struct throttle;

struct throttle *throttle_new(int slots);
void throttle_free(struct throttle *t);
/* How long `key` must still wait before another attempt, in ms (0 = now). */
long long throttle_wait_ms(struct throttle *t, const char *key, long long now_ms);
/* Records a failed attempt for key. */
void throttle_fail(struct throttle *t, const char *key, long long now_ms);
/* Clears key after a success. */
void throttle_clear(struct throttle *t, const char *key);
/* The delay after `failures` consecutive failures (pure; for tests). */
long long throttle_delay_ms(int failures);

#endif
