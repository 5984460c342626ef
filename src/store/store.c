/* store: picks the backend a store.db value names and hands back a struct
 * store, checks an account's fields before any backend sees them, and
 * verifies the audit chain. It knows URL schemes and nothing about SQL;
 * messages name a URL's scheme only (the backend, pg_url_label's form),
 * never a password. */
#include "store/store.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/audit.h"
#include "store/postgres.h"
#include "store/rules.h"
#include "store/sqlite.h"

#define FIELD "store.db"

/* The length of url's "scheme" when it starts "scheme://", else 0. */
static size_t url_scheme_len(const char *url)
{
	size_t n = 0;
	if (!isalpha((unsigned char)url[0]))
		return 0;
	while (isalnum((unsigned char)url[n]) || url[n] == '+' || url[n] == '-' || url[n] == '.')
		n++;
	return strncmp(url + n, "://", 3) == 0 ? n : 0;
}

/* Wraps impl, which a backend's open has just filled, in a struct store. */
static int open_with(const struct store_ops *ops, void *impl, struct store **out)
{
	struct store *st = malloc(sizeof *st);
	if (!st)
		abort();
	st->ops = ops;
	st->impl = impl;
	*out = st;
	return 0;
}

static int open_url(const char *url, const struct store_options *opt, int must_exist,
		    struct store **out, struct perr *err)
{
	*out = NULL;
	if (!url || !*url)
		return perr_set(err, PERR_INVALID, FIELD,
				"store.db is empty: give a SQLite file path or a postgres:// URL");
	const char *path = url;
	void *impl = NULL;
	size_t scheme = url_scheme_len(url);
	if (scheme) {
		if ((scheme == 8 && strncasecmp(url, "postgres", 8) == 0) ||
		    (scheme == 10 && strncasecmp(url, "postgresql", 10) == 0)) {
			int rc = pg_store_open(url, opt, &impl, err);
			return rc < 0 ? rc : open_with(&pg_store_ops, impl, out);
		}
		return perr_set(err, PERR_INVALID, FIELD,
				"store.db: unsupported scheme '%.*s'; use a SQLite file path "
				"or a postgres:// URL",
				scheme > 32 ? 32 : (int)scheme, url);
	}
	if (strncmp(url, "sqlite:", 7) == 0) {
		path = url + 7;
		if (!*path)
			return perr_set(err, PERR_INVALID, FIELD,
					"store.db is 'sqlite:' with no path: give sqlite:PATH");
	}
	struct stat sb;
	if (must_exist && stat(path, &sb) != 0 && errno == ENOENT)
		return perr_set(err, PERR_NOT_FOUND, FIELD, "database %s does not exist", path);
	int rc = sqlite_store_open(path, opt, &impl, err);
	return rc < 0 ? rc : open_with(&sqlite_store_ops, impl, out);
}

int store_open(const char *url, const struct store_options *opt, struct store **out,
	       struct perr *err)
{
	return open_url(url, opt, 0, out, err);
}

int store_open_existing(const char *url, const struct store_options *opt, struct store **out,
			struct perr *err)
{
	return open_url(url, opt, 1, out, err);
}

void store_url_label(const char *url, char *out, size_t cap)
{
	size_t scheme = url ? url_scheme_len(url) : 0;
	if (scheme)
		pg_url_label(url, out, cap);
	else
		snprintf(out, cap, "%s", url ? url : "");
}

void store_close(struct store *st)
{
	if (!st)
		return;
	st->ops->close(st->impl);
	free(st);
}

/* --- the accounts' dispatchers that check first --------------------------- */

int store_user_add(struct store *st, struct store_user *u, struct perr *err)
{
	int out = store_user_fields_ok(u, err);
	return out < 0 ? out : st->ops->accounts->user_add(st->impl, u, err);
}

int store_user_update(struct store *st, const struct store_user *u, struct perr *err)
{
	int out = store_user_fields_ok(u, err);
	return out < 0 ? out : st->ops->accounts->user_update(st->impl, u, err);
}

void store_proposal_clear(struct store_proposal *p)
{
	if (!p)
		return;
	free(p->input);
	free(p->evidence);
	free(p->closure);
	p->input = p->evidence = p->closure = NULL;
}

/* --- the audit chain, backend by backend the same ---------------------- */

struct verify {
	struct store_audit_check *out;
	long long last_seq;
	unsigned char last_hash[AUDIT_HASH_LEN];
};

static int verify_row(void *arg, const struct store_audit *a)
{
	struct verify *v = arg;
	struct store_audit_check *out = v->out;
	struct audit_row r = {
		.seq = a->seq, .proposal = a->proposal, .from = a->from, .to = a->to,
		.actor = a->actor, .at = a->at, .reason = a->reason,
	};
	memcpy(r.prev, a->prev, AUDIT_HASH_LEN);
	audit_hash(&r, r.hash);
	out->rows++;
	if (memcmp(a->prev, v->last_hash, AUDIT_HASH_LEN) != 0) {
		if (v->last_seq)
			snprintf(out->what, sizeof out->what,
				 "its prev is not the hash of row %lld before it: a row between "
				 "them was removed, or row %lld was changed",
				 v->last_seq, v->last_seq);
		else
			snprintf(out->what, sizeof out->what,
				 "it is the first row but its prev is not zeros: the rows before "
				 "it were removed");
	} else if (memcmp(r.hash, a->hash, AUDIT_HASH_LEN) != 0) {
		snprintf(out->what, sizeof out->what,
			 "its hash does not match its contents: the row was changed");
	} else {
		v->last_seq = a->seq;
		memcpy(v->last_hash, a->hash, AUDIT_HASH_LEN);
		return 0;
	}
	out->bad_seq = a->seq;
	snprintf(out->bad_proposal, sizeof out->bad_proposal, "%s", a->proposal);
	return -1;
}

int store_audit_verify(struct store *st, struct store_audit_check *out, struct perr *err)
{
	memset(out, 0, sizeof *out);
	struct verify v = {.out = out};
	return store_audit(st, NULL, verify_row, &v, err);
}
