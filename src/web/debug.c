/* debug: heavy historical summaries, kept apart from live truth. They scan
 * the whole log, so they run off the loop through an offload like every
 * store read made for a request, but on one of their own (app.debug), so a
 * long scan never holds up a sign-in or a proposal; one scan at a time, and
 * shutdown waits for it. No live view ever reads them, and every page says
 * so. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "http/http.h"
#include "http/offload.h"
#include "store/store.h"
#include "util/buf.h"
#include "web/html.h"
#include "web/web.h"

#define HISTORY_ROWS 2000

struct history_row {
	char day[11];
	char type[EVENT_TYPE_MAX + 1];
	long long n;
};

struct history_job {
	struct store *st;
	struct history_row *rows;
	size_t n, cap;
	int truncated;
	struct perr err;
	int rc;
};

static atomic_int history_busy;

static int add_row(void *arg, const char *day, const char *type, long long n)
{
	struct history_job *j = arg;
	if (j->n == HISTORY_ROWS) {
		j->truncated = 1;
		return -1;
	}
	if (j->n == j->cap) {
		j->cap = j->cap ? j->cap * 2 : 64;
		j->rows = realloc(j->rows, j->cap * sizeof *j->rows);
		if (!j->rows)
			abort();
	}
	struct history_row *r = &j->rows[j->n++];
	snprintf(r->day, sizeof r->day, "%s", day ? day : "?");
	snprintf(r->type, sizeof r->type, "%s", type ? type : "?");
	r->n = n;
	return 0;
}

/* Back on the loop thread: render what the scan found. */
static void history_render(struct http_ctx *c, void *arg)
{
	struct history_job *j = arg;
	atomic_store(&history_busy, 0);
	if (j->rc < 0) {
		static const struct http_action back[] = {
			{"/operator", "Back to the live operator view"}};
		web_reply_recovery(c, BLOCKER_DEPENDENCY, BLOCKER_CAUSE_DEFAULT,
				   "History is unavailable", j->err.msg, back, 1);
	} else {
		struct buf b = BUF_INIT;
		web_layout_begin(&b, c, "Debug: event history");
		html_lit(&b, "<p class=\"debug-label\" data-surface=\"debug\">Debug surface: a "
			     "summary over the whole event log. It is not live truth and no live "
			     "view reads it; the operator view follows harness-projection.</p>\n"
			     "<h1>Event history</h1>\n<p class=\"lead\">");
		html_textf(&b, "Events per day (UTC) and type over the whole log, newest first, "
			   "at most %d rows.", HISTORY_ROWS);
		html_lit(&b, "</p>\n<table id=\"history\">\n<thead><tr><th scope=\"col\">Day</th>"
			     "<th scope=\"col\">Type</th><th scope=\"col\">Events</th></tr></thead>\n"
			     "<tbody>\n");
		for (size_t i = 0; i < j->n; i++) {
			html_lit(&b, "<tr><td>");
			html_text(&b, j->rows[i].day);
			html_lit(&b, "</td><td>");
			html_text(&b, j->rows[i].type);
			html_lit(&b, "</td><td>");
			html_textf(&b, "%lld", j->rows[i].n);
			html_lit(&b, "</td></tr>\n");
		}
		if (j->n == 0)
			html_lit(&b, "<tr class=\"empty\"><td colspan=\"3\">The log is empty.</td></tr>\n");
		html_lit(&b, "</tbody>\n</table>\n");
		if (j->truncated) {
			html_lit(&b, "<p class=\"muted\">");
			html_textf(&b, "Only the first %d rows are shown.", HISTORY_ROWS);
			html_lit(&b, "</p>\n");
		}
		web_layout_end(&b, c);
		web_reply_page(c, 200, &b);
		buf_free(&b);
	}
	free(j->rows);
	free(j);
}

/* On the offload thread. */
static void history_scan(void *arg)
{
	struct history_job *j = arg;
	j->rc = store_history(j->st, 0, add_row, j, &j->err);
}

int web_page_debug_history(struct http_ctx *c)
{
	int expected = 0;
	if (!atomic_compare_exchange_strong(&history_busy, &expected, 1)) {
		http_header(c, "Retry-After", "2");
		static const struct http_action again[] = {{"/debug/history", "Try again"},
							  {"/operator", "Live operator view"}};
		return web_reply_recovery(c, BLOCKER_DEPENDENCY, BLOCKER_CAUSE_DEFAULT,
					  "History is being computed",
					  "Another history scan is running; this debug surface runs "
					  "one at a time so it never slows live views.",
					  again, 2);
	}
	struct history_job *j = calloc(1, sizeof *j);
	if (!j)
		abort();
	j->st = c->app->store;
	offload_submit(c->app->debug, http_defer(c), history_scan, history_render, j);
	return 0;
}
