/* Sign-in building blocks: where `next` may lead, the attempt throttle,
 * login ids and CSRF tokens, the login cache's expiry, and roles. */
#include <criterion/criterion.h>
#include <sodium.h>
#include <string.h>

#include "core/nextpath.h"
#include "core/role.h"
#include "auth/login.h"
#include "auth/throttle.h"

static void init(void) { cr_assert(sodium_init() >= 0); }

Test(nextpath, same_origin_paths_with_queries_are_kept)
{
	const char *ok[] = {"/", "/sessions/s-atlas-01", "/operator?session=s-1&x=%2F",
			    "/projects/atlas#stage", "/a/b/c?next=//evil.example"};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		if (!strcmp(ok[i], "/projects/atlas#stage"))
			continue; /* fragments never reach the server */
		cr_assert(next_path_safe(ok[i]), "%s", ok[i]);
		cr_assert_str_eq(next_path_or_root(ok[i]), ok[i]);
	}
}

Test(nextpath, anything_a_browser_could_read_as_another_origin_falls_back_to_root)
{
	const char *bad[] = {
		"", "sessions", "//evil.example", "///evil.example", "/\\evil.example",
		"\\\\evil.example", "https://evil.example/", "http:evil.example",
		"javascript:alert(1)", "data:text/html,x", "/\t/evil.example",
		"/\n/evil.example", "\t//evil.example", " /x", "/ /evil.example",
		"/%zz", "/%2", "/x\\y", "/\xef\xbc\x8f\xef\xbc\x8f" "evil.example",
		"/x\r\nSet-Cookie: a=b", NULL,
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cr_assert_not(next_path_safe(bad[i]), "%s", bad[i] ? bad[i] : "(null)");
		cr_assert_str_eq(next_path_or_root(bad[i]), "/");
	}
	char longp[NEXT_PATH_MAX + 10];
	memset(longp, 'a', sizeof longp);
	longp[0] = '/';
	longp[sizeof longp - 1] = 0;
	cr_assert_not(next_path_safe(longp), "too long");
}

Test(throttle, first_failures_are_free_then_the_wait_doubles_to_a_cap)
{
	for (int f = 0; f <= THROTTLE_FREE_FAILURES; f++)
		cr_assert_eq(throttle_delay_ms(f), 0);
	cr_assert_eq(throttle_delay_ms(THROTTLE_FREE_FAILURES + 1), THROTTLE_BASE_MS);
	cr_assert_eq(throttle_delay_ms(THROTTLE_FREE_FAILURES + 2), 2 * THROTTLE_BASE_MS);
	cr_assert_eq(throttle_delay_ms(THROTTLE_FREE_FAILURES + 3), 4 * THROTTLE_BASE_MS);
	cr_assert_eq(throttle_delay_ms(1000), THROTTLE_MAX_MS);
}

Test(throttle, keys_wait_apart_and_a_success_clears, .init = init)
{
	struct throttle *t = throttle_new(8);
	long long now = 1000000;
	for (int i = 0; i < THROTTLE_FREE_FAILURES; i++)
		throttle_fail(t, "user:ada", now);
	cr_assert_eq(throttle_wait_ms(t, "user:ada", now), 0, "still free");
	throttle_fail(t, "user:ada", now);
	cr_assert_eq(throttle_wait_ms(t, "user:ada", now), THROTTLE_BASE_MS);
	cr_assert_eq(throttle_wait_ms(t, "user:ada", now + 400), THROTTLE_BASE_MS - 400);
	cr_assert_eq(throttle_wait_ms(t, "user:ada", now + THROTTLE_BASE_MS), 0);
	cr_assert_eq(throttle_wait_ms(t, "user:bob", now), 0, "another key is not held up");
	throttle_clear(t, "user:ada");
	cr_assert_eq(throttle_wait_ms(t, "user:ada", now), 0);
	/* a full table reuses the quietest slot rather than growing */
	char key[32];
	for (int i = 0; i < 100; i++) {
		snprintf(key, sizeof key, "addr:10.0.0.%d", i);
		throttle_fail(t, key, now + i);
	}
	throttle_free(t);
}

Test(throttle, a_key_quiet_long_enough_starts_over, .init = init)
{
	struct throttle *t = throttle_new(4);
	for (int i = 0; i < 10; i++)
		throttle_fail(t, "addr:1", 0);
	cr_assert_gt(throttle_wait_ms(t, "addr:1", 1), 0);
	cr_assert_eq(throttle_wait_ms(t, "addr:1", THROTTLE_FORGET_MS + 1), 0);
	throttle_fail(t, "addr:1", THROTTLE_FORGET_MS + 2);
	cr_assert_eq(throttle_wait_ms(t, "addr:1", THROTTLE_FORGET_MS + 2), 0, "one failure again");
	throttle_free(t);
}

Test(login, ids_are_random_256_bit_and_only_their_shape_hashes, .init = init)
{
	char a[LOGIN_TEXT_MAX], b[LOGIN_TEXT_MAX];
	unsigned char ha[STORE_LOGIN_HASH_LEN], hb[STORE_LOGIN_HASH_LEN], h[STORE_LOGIN_HASH_LEN];
	login_id_new(a, ha);
	login_id_new(b, hb);
	cr_assert_eq(strlen(a), 43);
	cr_assert_str_neq(a, b);
	cr_assert_neq(memcmp(ha, hb, sizeof ha), 0);
	cr_assert_eq(login_id_hash(a, h), 0);
	cr_assert_eq(memcmp(h, ha, sizeof h), 0, "the stored hash is the presented id's");
	cr_assert_eq(login_id_hash("short", h), -1);
	cr_assert_eq(login_id_hash("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!", h), -1);
}

Test(login, csrf_tokens_belong_to_one_login, .init = init)
{
	char a[LOGIN_TEXT_MAX], b[LOGIN_TEXT_MAX], ta[LOGIN_TEXT_MAX], ta2[LOGIN_TEXT_MAX],
		tb[LOGIN_TEXT_MAX];
	unsigned char h[STORE_LOGIN_HASH_LEN];
	login_id_new(a, h);
	login_id_new(b, h);
	login_csrf(a, strlen(a), "login", ta);
	login_csrf(a, strlen(a), "login", ta2);
	login_csrf(b, strlen(b), "login", tb);
	cr_assert(login_token_equal(ta, ta2), "stable for one login");
	cr_assert_not(login_token_equal(ta, tb), "another login's token does not pass");
	cr_assert_not(login_token_equal(ta, ""));
	cr_assert_not(login_token_equal("", ""), "an empty token never passes");
}

static struct store_login mk(const char *text, long long uid, const char *user, int role,
			     long long now, long long max_ms)
{
	struct store_login l = {0};
	login_id_hash(text, l.hash);
	l.user_id = uid;
	snprintf(l.user, sizeof l.user, "%s", user);
	l.role = role;
	l.created_at = l.last_seen_at = now;
	l.expires_at = now + max_ms;
	return l;
}

Test(login, the_cache_expires_idle_and_old_logins_and_drops_them, .init = init)
{
	struct login_cache *lc = login_cache_new();
	char a[LOGIN_TEXT_MAX], b[LOGIN_TEXT_MAX];
	unsigned char h[STORE_LOGIN_HASH_LEN];
	login_id_new(a, h);
	login_id_new(b, h);
	struct store_login la = mk(a, 1, "ada", ROLE_ADMIN, 1000, 100000);
	struct store_login lb = mk(b, 2, "bob", ROLE_VIEWER, 1000, 5000);
	login_cache_put(lc, &la);
	login_cache_put(lc, &lb);
	struct who w;
	cr_assert_eq(login_cache_check(lc, a, 2000, 3000, &w), LOGIN_OK);
	cr_assert_str_eq(w.user, "ada");
	cr_assert_eq(w.role, ROLE_ADMIN);
	cr_assert_eq(strlen(w.csrf), 43);
	/* used at 2000: still fine at 4500 with 3000 ms idle allowed */
	cr_assert_eq(login_cache_check(lc, a, 4500, 3000, &w), LOGIN_OK);
	/* unused from 4500 to 8000: idle */
	cr_assert_eq(login_cache_check(lc, a, 8000, 3000, &w), LOGIN_EXPIRED);
	cr_assert_eq(login_cache_check(lc, a, 8001, 3000, &w), LOGIN_NONE, "dropped once expired");
	/* bob: absolute expiry at 6000 even while in use */
	cr_assert_eq(login_cache_check(lc, b, 3000, 3000, &w), LOGIN_OK);
	cr_assert_eq(login_cache_check(lc, b, 5500, 3000, &w), LOGIN_OK);
	cr_assert_eq(login_cache_check(lc, b, 6000, 3000, &w), LOGIN_EXPIRED);
	cr_assert_eq(login_cache_check(lc, "not-a-login", 1, 3000, &w), LOGIN_NONE);
	login_cache_free(lc);
}

Test(login, dropping_an_account_ends_all_its_logins_only, .init = init)
{
	struct login_cache *lc = login_cache_new();
	char t[3][LOGIN_TEXT_MAX];
	unsigned char h[STORE_LOGIN_HASH_LEN];
	for (int i = 0; i < 3; i++) {
		login_id_new(t[i], h);
		struct store_login l = mk(t[i], i < 2 ? 7 : 8, i < 2 ? "ada" : "bob", ROLE_VIEWER, 0,
					  100000);
		login_cache_put(lc, &l);
	}
	struct who w;
	login_cache_drop_user(lc, 7);
	cr_assert_eq(login_cache_check(lc, t[0], 1, 100000, &w), LOGIN_NONE);
	cr_assert_eq(login_cache_check(lc, t[1], 1, 100000, &w), LOGIN_NONE);
	cr_assert_eq(login_cache_check(lc, t[2], 1, 100000, &w), LOGIN_OK);
	login_id_hash(t[2], h);
	login_cache_drop(lc, h);
	cr_assert_eq(login_cache_check(lc, t[2], 1, 100000, &w), LOGIN_NONE);
	login_cache_free(lc);
}

Test(role, roles_are_ordered_and_named)
{
	cr_assert(role_allows(ROLE_ADMIN, ROLE_APPROVER));
	cr_assert(role_allows(ROLE_APPROVER, ROLE_OPERATOR));
	cr_assert(role_allows(ROLE_VIEWER, ROLE_VIEWER));
	cr_assert_not(role_allows(ROLE_VIEWER, ROLE_APPROVER));
	cr_assert_not(role_allows(ROLE_OPERATOR, ROLE_ADMIN));
	for (int r = 0; r < ROLE_COUNT; r++)
		cr_assert_eq(role_parse(role_name((enum role)r)), r);
	cr_assert_eq(role_parse("root"), -1);
	cr_assert_eq(role_parse(NULL), -1);
	cr_assert_null(role_name(ROLE_COUNT));
}
