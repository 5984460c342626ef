/* secrets: reads secret contracts from the environment, from files (mounted
 * SSOT secrets) and from a Vault-compatible KV v2 HTTP API, into locked memory.
 * It never writes a value, a token or the vault's address anywhere: statuses
 * say "vault", not where it is. It does not log; the caller reports. */
#include "adapters/secrets.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/httpc.h"

/* ---- locked memory ------------------------------------------------------ */

/* A growable byte buffer in locked memory, NUL-terminated once it grew.
 * Growing copies into a fresh locked block and wipes the old one. */
struct lbuf {
	char *p;
	size_t len, cap;
	int plain; /* 1: malloc + sodium_mlock (sodium_malloc failed) */
};

static char *locked_alloc(size_t size, int *plain)
{
	char *p = sodium_malloc(size);
	if (p) {
		*plain = 0;
		return p;
	}
	p = malloc(size);
	if (!p)
		abort(); /* as buf does: no honest answer without memory */
	(void)sodium_mlock(p, size); /* best effort: RLIMIT_MEMLOCK may refuse */
	*plain = 1;
	return p;
}

static void locked_free(char *p, size_t size, int plain)
{
	if (!p)
		return;
	if (plain) {
		sodium_munlock(p, size); /* wipes, then unlocks */
		free(p);
	} else {
		sodium_free(p); /* wipes */
	}
}

static void lbuf_reserve(struct lbuf *b, size_t extra)
{
	if (b->len + extra + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + extra + 1)
		cap *= 2;
	int plain;
	char *p = locked_alloc(cap, &plain);
	if (b->len)
		memcpy(p, b->p, b->len);
	p[b->len] = '\0';
	locked_free(b->p, b->cap, b->plain);
	b->p = p;
	b->cap = cap;
	b->plain = plain;
}

static void lbuf_append(struct lbuf *b, const void *data, size_t len)
{
	lbuf_reserve(b, len);
	memcpy(b->p + b->len, data, len);
	b->len += len;
	b->p[b->len] = '\0';
}

static void lbuf_free(struct lbuf *b)
{
	locked_free(b->p, b->cap, b->plain);
	memset(b, 0, sizeof *b);
}

/* ---- the value set ------------------------------------------------------ */

struct secret_slot {
	char name[CONTRACT_NAME_MAX];
	struct lbuf value;
};

struct secret_values {
	struct secret_slot *slots;
	size_t n;
};

/* Copies src into dst[cap], truncating. */
static void copy_str(char *dst, size_t cap, const char *src)
{
	size_t k = strnlen(src, cap - 1);
	memcpy(dst, src, k);
	dst[k] = '\0';
}

/* Moves the value in b into v under name; b is left empty. */
static void values_take(struct secret_values *v, const char *name, struct lbuf *b)
{
	struct secret_slot *s = &v->slots[v->n++];
	copy_str(s->name, sizeof s->name, name);
	s->value = *b;
	memset(b, 0, sizeof *b);
}

const char *secret_value(const struct secret_values *v, const char *name)
{
	if (!v || !name)
		return NULL;
	for (size_t i = 0; i < v->n; i++)
		if (strcmp(v->slots[i].name, name) == 0)
			return v->slots[i].value.p;
	return NULL;
}

void secret_values_free(struct secret_values *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->n; i++)
		lbuf_free(&v->slots[i].value);
	free(v->slots);
	free(v);
}

/* ---- statuses ----------------------------------------------------------- */

const char *secret_state_name(enum secret_state s)
{
	switch (s) {
	case SECRET_PRESENT: return "present";
	case SECRET_MISSING: return "missing";
	case SECRET_UNREADABLE: return "unreadable";
	case SECRET_UNCHECKED: return "unchecked";
	}
	return "unchecked";
}

/* snprintf into a fixed field; truncation is fine for a message. (Through
 * vsnprintf so -Wformat-truncation does not flag every path in a message.) */
static void detail_fmt(char *out, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void detail_fmt(char *out, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(out, cap, fmt, ap);
	va_end(ap);
}

#define status_set(st, state_, ...) \
	((st)->state = (state_), detail_fmt((st)->detail, sizeof (st)->detail, __VA_ARGS__))

/* Appends who to st->needed_by (", "-separated) unless already listed. */
static void needed_by_add(struct secret_status *st, const char *who)
{
	char *nb = st->needed_by;
	size_t len = strlen(nb), k = strlen(who);
	for (const char *p = nb; *p;) {
		const char *end = strstr(p, ", ");
		size_t plen = end ? (size_t)(end - p) : strlen(p);
		if (plen == k && memcmp(p, who, k) == 0)
			return;
		p = end ? end + 2 : p + plen;
	}
	size_t sep = len ? 2 : 0;
	if (len + sep + k + 1 > sizeof st->needed_by)
		return; /* 256 bytes of names: the rest would not be read anyway */
	if (sep)
		memcpy(nb + len, ", ", 2);
	memcpy(nb + len + sep, who, k + 1);
}

/* ---- env: and file: ----------------------------------------------------- */

static const char *env_find(char **envp, const char *var)
{
	size_t k = strlen(var);
	for (char **e = envp; e && *e; e++)
		if (strncmp(*e, var, k) == 0 && (*e)[k] == '=')
			return *e + k + 1;
	return NULL;
}

static void resolve_env(char **envp, const char *var, struct secret_status *st, struct lbuf *out)
{
	if (!var[0]) {
		status_set(st, SECRET_UNREADABLE, "env: names no variable");
		return;
	}
	const char *val = env_find(envp, var);
	if (!val) {
		status_set(st, SECRET_MISSING, "env %s is not set", var);
		return;
	}
	if (!val[0]) {
		status_set(st, SECRET_MISSING, "env %s is empty", var);
		return;
	}
	lbuf_append(out, val, strlen(val));
	status_set(st, SECRET_PRESENT, "from env %s", var);
}

/* Reads path whole into out (at most SECRETS_FILE_MAX bytes) and strips one
 * trailing newline. O_NONBLOCK so a FIFO at that path cannot hang us. */
static void resolve_file(const char *path, struct secret_status *st, struct lbuf *out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT)
			status_set(st, SECRET_MISSING, "file %s does not exist", path);
		else
			status_set(st, SECRET_UNREADABLE, "file %s: %s", path, strerror(errno));
		return;
	}
	struct stat sb;
	if (fstat(fd, &sb) < 0) {
		status_set(st, SECRET_UNREADABLE, "file %s: %s", path, strerror(errno));
		goto out;
	}
	if (S_ISDIR(sb.st_mode)) {
		status_set(st, SECRET_UNREADABLE, "file %s: %s", path, strerror(EISDIR));
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		status_set(st, SECRET_UNREADABLE, "file %s is not a regular file", path);
		goto out;
	}
	if (sb.st_size > SECRETS_FILE_MAX) {
		status_set(st, SECRET_UNREADABLE, "file %s is larger than %d KiB", path,
			   SECRETS_FILE_MAX / 1024);
		goto out;
	}
	/* Read to EOF, not to st_size: the file may change under us. */
	lbuf_reserve(out, (size_t)sb.st_size + 1);
	for (;;) {
		if (out->len > SECRETS_FILE_MAX) {
			status_set(st, SECRET_UNREADABLE, "file %s is larger than %d KiB", path,
				   SECRETS_FILE_MAX / 1024);
			goto fail;
		}
		lbuf_reserve(out, 1);
		size_t room = out->cap - out->len - 1;
		ssize_t r = read(fd, out->p + out->len, room);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			status_set(st, SECRET_UNREADABLE, "file %s: %s", path, strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		out->len += (size_t)r;
		out->p[out->len] = '\0';
	}
	if (out->len && memchr(out->p, '\0', out->len)) {
		status_set(st, SECRET_UNREADABLE, "file %s contains a NUL byte", path);
		goto fail;
	}
	if (out->len && out->p[out->len - 1] == '\n')
		out->p[--out->len] = '\0';
	if (!out->len) {
		status_set(st, SECRET_MISSING, "file %s is empty", path);
		goto fail;
	}
	status_set(st, SECRET_PRESENT, "from file %s", path);
	goto out;
fail:
	lbuf_free(out);
out:
	close(fd);
}

/* ---- vault: ------------------------------------------------------------- */

/* One KV v2 secret (mount/path) as fetched once per resolve. */
struct vault_doc {
	char where[CONTRACT_URL_MAX]; /* "mount/path", for messages and the cache */
	enum secret_state state;      /* PRESENT: data is the KV v2 data object */
	char detail[256];
	json_t *root;
	json_t *data;
};

struct vault_ctx {
	const char *addr;  /* internal URL; never written into a status */
	const char *token; /* NULL when the token secret is not present */
	char token_problem[256];
	int unreachable;   /* a connection failed: don't wait on it again */
	char unreachable_detail[256];
	struct vault_doc *docs;
	size_t ndocs;
	struct httpc_pool *pool; /* one connection for every document; NULL: none kept */
};

/* Splits "mount/path#key"; returns 0 when all three parts are non-empty. */
static int vault_ref_split(const char *ref, char *where, size_t wcap, const char **key)
{
	const char *hash = strrchr(ref, '#');
	const char *slash = strchr(ref, '/');
	if (!hash || !slash || slash == ref || slash > hash || slash + 1 == hash || !hash[1])
		return -1;
	size_t k = (size_t)(hash - ref);
	if (k >= wcap)
		return -1;
	memcpy(where, ref, k);
	where[k] = '\0';
	*key = hash + 1;
	return 0;
}

/* Appends s percent-encoded, keeping unreserved characters and, if
 * keep_slash, '/'. */
static void url_escape(struct buf *b, const char *s, size_t len, int keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~' || (keep_slash && c == '/')) {
			buf_putc(b, (char)c);
		} else {
			buf_putc(b, '%');
			buf_putc(b, hex[c >> 4]);
			buf_putc(b, hex[c & 15]);
		}
	}
}

struct body {
	struct lbuf b;
	int too_large;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
	struct body *bd = ud;
	size_t k = size * nmemb;
	if (bd->b.len + k > SECRETS_VAULT_BODY_MAX) {
		bd->too_large = 1;
		return 0; /* aborts the transfer */
	}
	lbuf_append(&bd->b, data, k);
	return k;
}

/* Zeroes every string in j before it is freed: jansson's copies of a vault
 * answer would otherwise linger in freed heap. Keys are not secret. */
static void json_wipe(json_t *j)
{
	if (json_is_string(j)) {
		sodium_memzero((char *)json_string_value(j), json_string_length(j));
	} else if (json_is_object(j)) {
		const char *k;
		json_t *v;
		json_object_foreach(j, k, v)
			json_wipe(v);
	} else if (json_is_array(j)) {
		size_t i;
		json_t *v;
		json_array_foreach(j, i, v)
			json_wipe(v);
	}
}

/* GETs {addr}/v1/{mount}/data/{path} into doc. */
static void vault_fetch(struct vault_ctx *vc, struct vault_doc *doc)
{
	if (vc->unreachable) {
		doc->state = SECRET_UNREADABLE;
		copy_str(doc->detail, sizeof doc->detail, vc->unreachable_detail);
		return;
	}
	/* No User-Agent header, as ever. */
	CURL *h = httpc_easy_new(NULL, SECRETS_VAULT_TIMEOUT_MS, vc->pool);
	if (!h) {
		doc->state = SECRET_UNREADABLE;
		detail_fmt(doc->detail, sizeof doc->detail, "vault client failed to start");
		return;
	}
	const char *slash = strchr(doc->where, '/');
	struct buf url = BUF_INIT;
	size_t alen = strlen(vc->addr);
	while (alen && vc->addr[alen - 1] == '/')
		alen--;
	buf_append(&url, vc->addr, alen);
	buf_puts(&url, "/v1/");
	url_escape(&url, doc->where, (size_t)(slash - doc->where), 0);
	buf_puts(&url, "/data/");
	url_escape(&url, slash + 1, strlen(slash + 1), 1);

	struct lbuf hdr = {0};
	static const char name[] = "X-Vault-Token: ";
	lbuf_append(&hdr, name, sizeof name - 1);
	lbuf_append(&hdr, vc->token, strlen(vc->token));
	struct curl_slist *headers = curl_slist_append(NULL, hdr.p);
	lbuf_free(&hdr);
	if (!headers)
		abort();

	/* The answer holds secrets: it goes to locked memory, not an httpc_body. */
	struct body bd = {{0}, 0};
	curl_easy_setopt(h, CURLOPT_URL, buf_cstr(&url));
	curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &bd);
	CURLcode rc = curl_easy_perform(h);
	long status = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	httpc_headers_free(headers);
	curl_easy_cleanup(h);
	buf_free(&url);

	doc->state = SECRET_UNREADABLE;
	if (bd.too_large) {
		detail_fmt(doc->detail, sizeof doc->detail, "vault answer for %s is larger than %d KiB",
			 doc->where, SECRETS_VAULT_BODY_MAX / 1024);
	} else if (rc != CURLE_OK) {
		/* curl_easy_strerror names the failure, not the host (the error
		 * buffer would, so it is not used). */
		detail_fmt(vc->unreachable_detail, sizeof vc->unreachable_detail,
			 "vault unreachable (%s)", curl_easy_strerror(rc));
		vc->unreachable = 1;
		copy_str(doc->detail, sizeof doc->detail, vc->unreachable_detail);
	} else if (status == 403 || status == 401) {
		detail_fmt(doc->detail, sizeof doc->detail, "vault refused the token");
	} else if (status == 404) {
		doc->state = SECRET_MISSING;
		detail_fmt(doc->detail, sizeof doc->detail, "%s not found in vault", doc->where);
	} else if (status != 200) {
		detail_fmt(doc->detail, sizeof doc->detail, "vault answered HTTP %ld for %s", status,
			 doc->where);
	} else {
		json_error_t jerr; /* its text may quote the answer: never used */
		doc->root = json_loadb(bd.b.p ? bd.b.p : "", bd.b.len, 0, &jerr);
		json_t *outer = json_object_get(doc->root, "data");
		json_t *data = json_object_get(outer, "data");
		if (!doc->root) {
			detail_fmt(doc->detail, sizeof doc->detail, "vault answer for %s is not JSON",
				 doc->where);
		} else if (json_is_object(data)) {
			doc->state = SECRET_PRESENT;
			doc->data = data;
		} else if (json_is_object(outer) && (!data || json_is_null(data))) {
			/* KV v2 answers a deleted or destroyed latest version so. */
			doc->state = SECRET_MISSING;
			detail_fmt(doc->detail, sizeof doc->detail, "%s has no current version in vault",
				 doc->where);
		} else {
			detail_fmt(doc->detail, sizeof doc->detail,
				 "vault answer for %s is not a KV v2 secret", doc->where);
		}
	}
	lbuf_free(&bd.b);
}

static struct vault_doc *vault_doc_get(struct vault_ctx *vc, const char *where)
{
	for (size_t i = 0; i < vc->ndocs; i++)
		if (strcmp(vc->docs[i].where, where) == 0)
			return &vc->docs[i];
	struct vault_doc *doc = &vc->docs[vc->ndocs++];
	memset(doc, 0, sizeof *doc);
	copy_str(doc->where, sizeof doc->where, where);
	vault_fetch(vc, doc);
	return doc;
}

static void resolve_vault(struct vault_ctx *vc, const char *ref, struct secret_status *st,
			  struct lbuf *out)
{
	char where[CONTRACT_URL_MAX];
	const char *key;
	if (vault_ref_split(ref, where, sizeof where, &key) < 0) {
		status_set(st, SECRET_UNREADABLE, "vault: reference must be mount/path#key");
		return;
	}
	if (!vc->addr[0]) {
		status_set(st, SECRET_UNREADABLE, "no vault is configured (vault.addr is empty)");
		return;
	}
	if (!vc->token) {
		status_set(st, SECRET_UNREADABLE, "%s", vc->token_problem);
		return;
	}
	struct vault_doc *doc = vault_doc_get(vc, where);
	if (doc->state != SECRET_PRESENT) {
		status_set(st, doc->state, "%s", doc->detail);
		return;
	}
	json_t *v = json_object_get(doc->data, key);
	if (!v) {
		status_set(st, SECRET_MISSING, "key '%s' not in %s", key, where);
	} else if (!json_is_string(v)) {
		status_set(st, SECRET_UNREADABLE, "key '%s' in %s is not a string", key, where);
	} else if (json_string_length(v) == 0) {
		status_set(st, SECRET_MISSING, "key '%s' in %s is empty", key, where);
	} else if (memchr(json_string_value(v), '\0', json_string_length(v))) {
		status_set(st, SECRET_UNREADABLE, "key '%s' in %s contains a NUL byte", key, where);
	} else {
		lbuf_append(out, json_string_value(v), json_string_length(v));
		status_set(st, SECRET_PRESENT, "from vault %s#%s", where, key);
	}
}

/* Decides which token the vault secrets use, or why there is none. */
static void vault_token_pick(struct vault_ctx *vc, const struct catalogue *cat,
			     const struct secret_status *sts, const struct secret_values *v)
{
	const char *name = cat->vault.token_secret;
	vc->token = NULL;
	if (!name[0]) {
		detail_fmt(vc->token_problem, sizeof vc->token_problem,
			 "no vault token secret is configured (vault.token_secret)");
		return;
	}
	for (size_t i = 0; i < cat->nsecrets; i++) {
		if (strcmp(cat->secrets[i].name, name) != 0)
			continue;
		if (cat->secrets[i].source == SECRET_VAULT) {
			detail_fmt(vc->token_problem, sizeof vc->token_problem,
				 "vault token secret '%.63s' must be env: or file:, not vault:", name);
		} else if (sts[i].state != SECRET_PRESENT) {
			detail_fmt(vc->token_problem, sizeof vc->token_problem,
				 "vault token secret '%.63s' is %s", name,
				 secret_state_name(sts[i].state));
		} else {
			vc->token = secret_value(v, name);
		}
		return;
	}
	detail_fmt(vc->token_problem, sizeof vc->token_problem,
		 "vault token secret '%.63s' is not declared", name);
}

/* ---- the whole set ------------------------------------------------------ */

int secrets_resolve(const struct catalogue *cat, char **envp, struct secret_values **values,
		    struct secret_status **statuses, size_t *n, struct perr *err)
{
	*values = NULL;
	*statuses = NULL;
	*n = 0;
	if (sodium_init() < 0)
		return perr_set(err, PERR_INTERNAL, NULL, "libsodium failed to start");
	size_t ns = cat->nsecrets;
	struct secret_values *v = calloc(1, sizeof *v);
	struct secret_status *sts = calloc(ns ? ns : 1, sizeof *sts);
	if (!v || !sts)
		abort();
	v->slots = calloc(ns ? ns : 1, sizeof *v->slots);
	if (!v->slots)
		abort();

	for (size_t i = 0; i < ns; i++) {
		struct secret_status *st = &sts[i];
		const char *name = cat->secrets[i].name;
		copy_str(st->name, sizeof st->name, name);
		st->state = SECRET_UNCHECKED;
		if (!name[0])
			continue;
		for (size_t j = 0; j < cat->ncomponents; j++)
			if (strcmp(cat->components[j].auth_secret, name) == 0)
				needed_by_add(st, cat->components[j].name);
		if (strcmp(cat->vault.token_secret, name) == 0)
			needed_by_add(st, "vault");
	}

	/* env: and file: first, so the vault token is known before vault:. */
	size_t nvault = 0;
	for (size_t i = 0; i < ns; i++) {
		const struct secret_contract *sc = &cat->secrets[i];
		struct lbuf val = {0};
		if (sc->source == SECRET_ENV)
			resolve_env(envp, sc->ref, &sts[i], &val);
		else if (sc->source == SECRET_FILE)
			resolve_file(sc->ref, &sts[i], &val);
		else
			nvault++;
		if (sts[i].state == SECRET_PRESENT)
			values_take(v, sc->name, &val);
		lbuf_free(&val);
	}

	if (nvault) {
		struct vault_ctx vc;
		memset(&vc, 0, sizeof vc);
		vc.addr = cat->vault.addr.s;
		vc.docs = calloc(nvault, sizeof *vc.docs);
		if (!vc.docs)
			abort();
		vc.pool = httpc_pool_new();
		vault_token_pick(&vc, cat, sts, v);
		for (size_t i = 0; i < ns; i++) {
			const struct secret_contract *sc = &cat->secrets[i];
			if (sc->source != SECRET_VAULT)
				continue;
			struct lbuf val = {0};
			resolve_vault(&vc, sc->ref, &sts[i], &val);
			if (sts[i].state == SECRET_PRESENT)
				values_take(v, sc->name, &val);
			lbuf_free(&val);
		}
		for (size_t i = 0; i < vc.ndocs; i++) {
			json_wipe(vc.docs[i].root);
			json_decref(vc.docs[i].root);
		}
		free(vc.docs);
		httpc_pool_free(vc.pool);
	}

	*values = v;
	*statuses = sts;
	*n = ns;
	return 0;
}

int secrets_resolve_one(const struct catalogue *cat, char **envp, const char *name,
			struct secret_values **values, struct secret_status *status,
			struct perr *err)
{
	*values = NULL;
	memset(status, 0, sizeof *status);
	snprintf(status->name, sizeof status->name, "%s", name);
	struct secret_contract picked[2];
	struct catalogue sub = *cat;
	sub.nsecrets = 0;
	for (size_t i = 0; i < cat->nsecrets && sub.nsecrets < 2; i++)
		if (strcmp(cat->secrets[i].name, name) == 0 ||
		    strcmp(cat->secrets[i].name, cat->vault.token_secret) == 0)
			picked[sub.nsecrets++] = cat->secrets[i];
	sub.secrets = picked;
	struct secret_status *sts = NULL;
	size_t n = 0;
	int rc = secrets_resolve(&sub, envp, values, &sts, &n, err);
	if (rc < 0)
		return rc;
	status->state = SECRET_MISSING;
	snprintf(status->detail, sizeof status->detail, "not declared under secrets");
	for (size_t i = 0; i < n; i++)
		if (strcmp(sts[i].name, name) == 0)
			*status = sts[i];
	free(sts);
	return 0;
}
