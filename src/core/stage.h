/* stage: the workflow path every project walks, in order. Pure data; the
 * derivation of a project's stage from truth arrives with the projection. */
#ifndef PORTAL_STAGE_H
#define PORTAL_STAGE_H

enum stage {
	STAGE_ONBOARDING,
	STAGE_WORK,
	STAGE_PROPOSAL,
	STAGE_PROOF,
	STAGE_RECOVERY,
	STAGE_COUNT
};

struct stage_info {
	const char *slug;    /* "onboarding": anchors, URLs, API values */
	const char *title;   /* "Onboarding": what people read */
	const char *purpose; /* one sentence: what the stage is for */
	const char *truth;   /* one sentence: which canonical sources decide it */
};

/* Info for s; NULL when s is out of range. */
const struct stage_info *stage_info(enum stage s);

#endif
