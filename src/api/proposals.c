/* proposals: the only mutation gate, for machines and scripts. POST
 * /api/v1/proposals validates and records (202, the proposal's URL);
 * approve, reject and cancel are the only other writes. Nothing here runs
 * an executor: an approved proposal is queued for `portal worker`. */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <sys/queue.h>

#include "api/api.h"
#include "app/app.h"
#include "app/proposing.h"
#include "core/proposal.h"
#include "http/http.h"

/* The JSON body of the request, or NULL after answering 400/415. */
static json_t *body_json(struct http_ctx *c, int optional)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(c->req);
	size_t len = evbuffer_get_length(in);
	if (len == 0 && optional)
		return json_object();
	const char *ctype = http_request_header(c, "Content-Type");
	if (!ctype || strncasecmp(ctype, "application/json", 16) != 0) {
		http_reply_error(c, 415, "unsupported_media_type", "Content-Type",
				 "send application/json");
		return NULL;
	}
	json_error_t je;
	json_t *doc = json_loadb((const char *)evbuffer_pullup(in, -1), len,
				 JSON_REJECT_DUPLICATES, &je);
	if (!doc || !json_is_object(doc)) {
		json_decref(doc);
		http_reply_error(c, 400, "invalid_json", "body",
				 "the body must be a JSON object (line %d, column %d: %s)", je.line,
				 je.column, doc ? "not an object" : je.text);
		return NULL;
	}
	return doc;
}

static void answer(struct http_ctx *c, struct proposing_job *j)
{
	if (j->code) {
		http_reply_error(c, j->status, j->code, j->field[0] ? j->field : NULL, "%s",
				 j->message);
	} else if (j->op == PROPOSING_LIST) {
		http_reply_json(c, 200, json_pack("{s:O}", "proposals", j->list));
	} else {
		const char *url = json_string_value(json_object_get(j->proposal, "url"));
		if (j->op == PROPOSING_SUBMIT) {
			http_header(c, "Location", url);
			if (j->replayed)
				http_header(c, "Idempotent-Replayed", "true");
		}
		http_reply_json(c, j->status, json_pack("{s:O,s:s}", "proposal", j->proposal, "url",
							url));
	}
	proposing_job_free(j);
}

int api_proposals_post(struct http_ctx *c)
{
	json_t *doc = body_json(c, 0);
	if (!doc)
		return 0;
	int status;
	struct perr err = {0};
	json_t *input = json_object_get(doc, "input");
	struct proposing_job *j = proposing_check_submit(
		c, json_string_value(json_object_get(doc, "kind")),
		json_string_value(json_object_get(doc, "project")), input ? input : json_null(),
		http_request_header(c, "Idempotency-Key"), &status, &err);
	json_decref(doc);
	if (!j)
		return http_reply_error(c, status, status == 403 ? "forbidden" : "invalid",
					err.field[0] ? err.field : NULL, "%s", err.msg);
	j->done = answer;
	proposing_run(c, j);
	return 0;
}

int api_proposals_list(struct http_ctx *c)
{
	struct evkeyvalq q;
	TAILQ_INIT(&q);
	if (c->query)
		evhttp_parse_query_str(c->query, &q);
	struct proposing_job *j = proposing_job_new(PROPOSING_LIST);
	const char *project = evhttp_find_header(&q, "project");
	const char *kind = evhttp_find_header(&q, "kind");
	const char *state = evhttp_find_header(&q, "state");
	snprintf(j->f_project, sizeof j->f_project, "%s", project ? project : "");
	snprintf(j->f_kind, sizeof j->f_kind, "%s", kind ? kind : "");
	int bad = state && *state && (j->f_state = proposal_state_parse(state)) < 0;
	evhttp_clear_headers(&q);
	if (bad) {
		proposing_job_free(j);
		return http_reply_error(c, 400, "invalid", "state",
					"unknown state; one of submitted, approved, queued, running, "
					"executed, proving, proven, rejected, cancelled, failed");
	}
	j->done = answer;
	proposing_run(c, j);
	return 0;
}

int api_proposal_get(struct http_ctx *c)
{
	struct proposing_job *j = proposing_job_new(PROPOSING_GET);
	if (router_param(&c->match, "id", j->id, sizeof j->id) <= 0) {
		proposing_job_free(j);
		return http_reply_error(c, 404, "not_found", "id", "no such proposal");
	}
	j->done = answer;
	proposing_run(c, j);
	return 0;
}

int api_proposal_act(struct http_ctx *c)
{
	struct proposing_job *j = proposing_job_new(PROPOSING_ACT);
	char action[16];
	if (router_param(&c->match, "id", j->id, sizeof j->id) <= 0 ||
	    router_param(&c->match, "action", action, sizeof action) <= 0 ||
	    (strcmp(action, "approve") && strcmp(action, "reject") && strcmp(action, "cancel"))) {
		proposing_job_free(j);
		return http_reply_error(c, 404, "not_found", "action",
					"the actions on a proposal are approve, reject and cancel");
	}
	json_t *doc = body_json(c, 1);
	if (!doc) {
		proposing_job_free(j);
		return 0;
	}
	const char *reason = json_string_value(json_object_get(doc, "reason"));
	int long_reason = reason && strlen(reason) >= sizeof j->reason;
	snprintf(j->reason, sizeof j->reason, "%s", reason ? reason : "");
	json_decref(doc);
	if (long_reason) {
		proposing_job_free(j);
		return http_reply_error(c, 400, "too_large", "reason",
					"a reason is at most %zu bytes", sizeof j->reason - 1);
	}
	if (!strcmp(action, "reject") && !j->reason[0]) {
		proposing_job_free(j);
		return http_reply_error(c, 400, "invalid", "reason", "say why it is rejected");
	}
	snprintf(j->action, sizeof j->action, "%s", action);
	snprintf(j->actor, sizeof j->actor, "%s", c->who.user);
	j->role = c->who.role;
	j->done = answer;
	proposing_run(c, j);
	return 0;
}
