/* fuzz_datahub: what DataHub's GraphQL endpoint answers, read by the lineage
 * client. The input is a script of answers (support/fake_http.h) served on
 * loopback: the first answers a searchAcrossLineage query, the second a
 * portalEntity lookup; each entity read is then turned into the link the
 * lineage panel shows (datahub_entity_link). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/datahub.h"
#include "support/fake_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TOKEN "dh-t0ken-value"
#define URN "urn:li:dataset:(urn:li:dataPlatform:hive,warehouse.orders,PROD)"

static struct datahub *dh;
static struct public_url pub = {"https://datahub.example.com"};

static void link_of(const struct datahub_entity *e)
{
	char link[512];
	if (datahub_entity_link(&pub, e->type, e->urn, link, sizeof link) == 0 &&
	    strncmp(link, pub.s, strlen(pub.s)) != 0)
		abort(); /* a link that leaves DataHub's frontend */
}

static void secret_kept(const struct perr *err)
{
	if (strstr(err->msg, TOKEN) || strstr(err->msg, "127.0.0.1"))
		abort(); /* an error names the token or the address */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!dh) {
		struct datahub_conf c = {.url = fake_http_url(), .token = TOKEN, .timeout_ms = 5000};
		struct perr err = {0};
		if (datahub_open(&c, &dh, &err) < 0)
			abort();
	}
	fake_http_script(data, size, 404);
	struct datahub_lineage l;
	struct perr err = {0};
	if (datahub_lineage(dh, URN, DATAHUB_DOWNSTREAM, 50, &l, &err) == 0) {
		for (size_t i = 0; i < l.n; i++)
			link_of(&l.items[i].entity);
	}
	secret_kept(&err);
	datahub_lineage_clear(&l);

	struct datahub_entity e;
	memset(&err, 0, sizeof err);
	if (datahub_entity(dh, URN, &e, &err) == 0)
		link_of(&e);
	secret_kept(&err);
	return 0;
}
