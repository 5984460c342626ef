/* api: handlers for machines (JSON, Prometheus text). One file per resource. */
#ifndef PORTAL_API_H
#define PORTAL_API_H

struct http_ctx;

int api_healthz(struct http_ctx *c);
int api_readyz(struct http_ctx *c);
int api_metrics(struct http_ctx *c);
int api_openapi(struct http_ctx *c);
int api_events_post(struct http_ctx *c);
int api_projection(struct http_ctx *c);
int api_projection_sessions(struct http_ctx *c);
int api_stream(struct http_ctx *c);
int api_proposals_post(struct http_ctx *c);
int api_proposals_list(struct http_ctx *c);
int api_proposal_get(struct http_ctx *c);
int api_proposal_act(struct http_ctx *c);

/* A non-negative decimal count from outside (a query's limit=, the
 * Last-Event-ID header); -1 when empty or malformed. */
long long api_count_parse(const char *v);

/* Events per POST /api/v1/events. */
#define API_EVENTS_BATCH_MAX 1000

#endif
