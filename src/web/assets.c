/* assets: static CSS, JS and icons compiled into the binary, served with
 * strong ETags and a year of caching. Pages link them with ?v=<etag>, so a new
 * build changes the URL and a cached copy is never stale. Nothing is read from
 * disk, so no path can reach outside the table. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "http/http.h"
#include "util/embedded.h"
#include "web/web.h"

#define PREFIX "web/assets/"
#define MAX_ASSETS 32

static struct asset {
	const struct embedded_file *file;
	char etag[40];  /* "\"<32 hex>\"" */
	char url[160];
} assets[MAX_ASSETS];
static int nassets;

void web_assets_init(void)
{
	if (nassets)
		return;
	for (size_t i = 0; i < embedded_count && nassets < MAX_ASSETS; i++) {
		const struct embedded_file *f = &embedded_files[i];
		if (strncmp(f->name, PREFIX, sizeof PREFIX - 1) != 0)
			continue;
		struct asset *a = &assets[nassets++];
		unsigned char h[16];
		char hex[33];
		crypto_generichash(h, sizeof h, f->data, f->len, NULL, 0);
		sodium_bin2hex(hex, sizeof hex, h, sizeof h);
		a->file = f;
		snprintf(a->etag, sizeof a->etag, "\"%s\"", hex);
		snprintf(a->url, sizeof a->url, "/assets/%s?v=%.12s", f->name + sizeof PREFIX - 1,
			 hex);
	}
}

static const struct asset *find(const char *name)
{
	for (int i = 0; i < nassets; i++)
		if (strcmp(assets[i].file->name + sizeof PREFIX - 1, name) == 0)
			return &assets[i];
	return NULL;
}

const char *web_asset_url(const char *name)
{
	const struct asset *a = find(name);
	return a ? a->url : NULL;
}

static const char *content_type(const char *name)
{
	const char *dot = strrchr(name, '.');
	if (!dot)
		return "application/octet-stream";
	if (!strcmp(dot, ".css")) return "text/css; charset=utf-8";
	if (!strcmp(dot, ".js")) return "text/javascript; charset=utf-8";
	if (!strcmp(dot, ".svg")) return "image/svg+xml";
	if (!strcmp(dot, ".png")) return "image/png";
	if (!strcmp(dot, ".json")) return "application/json";
	return "application/octet-stream";
}

/* If-None-Match: a list of entity tags or "*"; weak comparison (RFC 9110). */
static int etag_matches(const char *header, const char *etag)
{
	if (!header)
		return 0;
	if (strcmp(header, "*") == 0)
		return 1;
	return strstr(header, etag) != NULL;
}

int web_serve_asset(struct http_ctx *c)
{
	char name[128];
	const struct asset *a = NULL;
	if (router_param(&c->match, "name", name, sizeof name) > 0)
		a = find(name);
	if (!a)
		return web_reply_unrouted(c);
	http_header(c, "ETag", a->etag);
	http_header(c, "Cache-Control", "public, max-age=31536000, immutable");
	if (etag_matches(http_request_header(c, "If-None-Match"), a->etag))
		return http_reply(c, 304, NULL, NULL, 0);
	return http_reply(c, 200, content_type(name), a->file->data, a->file->len);
}
