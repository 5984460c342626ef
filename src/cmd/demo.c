/* demo: `portal demo` — migrates the store and appends the demo data set
 * (demo_data.c) through the same validation producers go through, so the
 * operator view has something real-looking to show. Ids are fixed, so a
 * second run stores nothing new. It never deletes or rewrites events. */
#include <stdio.h>
#include <stdlib.h>

#include "cmd/cmd.h"
#include "cmd/demo.h"
#include "store/store.h"
#include "util/clock.h"

static const char *const demo_switches[] = {"if-empty", NULL};

static const struct cmd_spec demo_spec = {
	"demo",
	"Migrate the database, then append a realistic demo data set: about two hours of\n"
	"sessions across five projects, Ouroboros cycles, runtime health and proposals,\n"
	"timed up to now. The events have fixed ids, so running it again adds nothing.\n"
	"--if-empty loads nothing when the event log already holds events.",
	CONFIG_CMD_DEMO,
	demo_switches,
	NULL,
};

static int count_event(void *arg, const struct event *ev)
{
	(*(long long *)arg)++;
	return 0;
}

/* Distinct values of key over the events. */
static size_t distinct(const struct event *evs, size_t n, int sessions)
{
	json_t *seen = json_object();
	for (size_t i = 0; i < n; i++) {
		const char *k = sessions ? evs[i].session : evs[i].project;
		if (k)
			json_object_set_new(seen, k, json_true());
	}
	size_t count = json_object_size(seen);
	json_decref(seen);
	return count;
}

/* Validates and appends the data set. Returns 0, or 1 after saying why. */
static int load(struct store *store, const char *db)
{
	long long base = clock_wall_ms() / 60000 * 60000;
	json_t **objs = NULL;
	size_t n = demo_events(base, &objs);
	struct event *evs = calloc(n ? n : 1, sizeof *evs);
	long long *seqs = calloc(n ? n : 1, sizeof *seqs);
	int *fresh = calloc(n ? n : 1, sizeof *fresh);
	if (!evs || !seqs || !fresh)
		abort();
	int status = 0;
	size_t valid = 0;
	struct perr err;
	perr_clear(&err);
	for (; valid < n; valid++) {
		if (event_from_json(objs[valid], base, "demo", &evs[valid], &err) < 0) {
			/* A bug in demo_data.c, not the user's doing. */
			fprintf(stderr, "portal demo: demo event %zu is invalid: %s: %s\n", valid + 1,
				err.field, err.msg);
			status = 1;
			break;
		}
	}
	if (status == 0) {
		struct store_batch batch = {evs, n, seqs, fresh, 0, {0}};
		struct store_batch *bp = &batch;
		if (store_append(store, &bp, 1, &err) < 0) {
			fprintf(stderr, "portal demo: %s\n", err.msg);
			status = 1;
		} else if (batch.rc < 0) {
			fprintf(stderr, "portal demo: %s\n", batch.err.msg);
			status = 1;
		}
	}
	if (status == 0) {
		size_t stored = 0;
		for (size_t i = 0; i < n; i++)
			stored += fresh[i] != 0;
		size_t projects = distinct(evs, n, 0), nsessions = distinct(evs, n, 1);
		if (stored == n)
			printf("%s: loaded %zu demo events (%zu projects, %zu sessions)\n", db, n,
			       projects, nsessions);
		else if (stored == 0)
			printf("%s: demo already loaded (all %zu demo events were there); nothing "
			       "added\n",
			       db, n);
		else
			printf("%s: loaded %zu demo events, %zu were already there (%zu projects, "
			       "%zu sessions)\n",
			       db, stored, n - stored, projects, nsessions);
	}
	for (size_t i = 0; i < valid; i++)
		event_release(&evs[i]);
	for (size_t i = 0; i < n; i++)
		json_decref(objs[i]);
	free(objs);
	free(evs);
	free(seqs);
	free(fresh);
	return status;
}

int cmd_demo(int argc, char **argv)
{
	struct cmd_args args;
	struct config cfg;
	int rc0 = cmd_begin(&demo_spec, argc, argv, &args, &cfg);
	if (rc0 >= 0)
		return rc0;
	log_set_level(cfg.log_level);

	struct store *store = NULL;
	if (cmd_open_store("demo", &cfg, &store) != 0)
		return 1;
	int status = 0;
	char label[160];
	store_url_label(cfg.db, label, sizeof label);
	if (cmd_switch(&args, "if-empty")) {
		struct perr err;
		perr_clear(&err);
		long long seen = 0;
		if (store_scan(store, 0, 1, count_event, &seen, &err) < 0) {
			fprintf(stderr, "portal demo: %s\n", err.msg);
			status = 1;
		} else if (seen > 0) {
			printf("%s: the event log already has events; demo not loaded\n", label);
			store_close(store);
			return 0;
		}
	}
	if (status == 0)
		status = load(store, label);
	store_close(store);
	return status;
}
