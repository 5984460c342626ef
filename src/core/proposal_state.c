/* proposal_state: the names and the steps of the proposal state machine
 * (core/proposal.h). Kept apart from kinds and validation so the store can
 * use the machine without the rest. Pure data, no I/O. */
#include <string.h>

#include "core/proposal.h"

static const char *const names[PROPOSAL_STATE_COUNT] = {
	[PROPOSAL_SUBMITTED] = "submitted", [PROPOSAL_APPROVED] = "approved",
	[PROPOSAL_QUEUED] = "queued",       [PROPOSAL_RUNNING] = "running",
	[PROPOSAL_EXECUTED] = "executed",   [PROPOSAL_PROVING] = "proving",
	[PROPOSAL_PROVEN] = "proven",       [PROPOSAL_REJECTED] = "rejected",
	[PROPOSAL_CANCELLED] = "cancelled", [PROPOSAL_FAILED] = "failed",
};

/* steps[from] is the set of states that may follow it, one bit each. */
#define BIT(s) (1u << (s))
static const unsigned steps[PROPOSAL_STATE_COUNT] = {
	[PROPOSAL_SUBMITTED] = BIT(PROPOSAL_APPROVED) | BIT(PROPOSAL_REJECTED) |
			       BIT(PROPOSAL_CANCELLED),
	[PROPOSAL_APPROVED] = BIT(PROPOSAL_QUEUED) | BIT(PROPOSAL_CANCELLED),
	[PROPOSAL_QUEUED] = BIT(PROPOSAL_RUNNING) | BIT(PROPOSAL_CANCELLED),
	[PROPOSAL_RUNNING] = BIT(PROPOSAL_EXECUTED) | BIT(PROPOSAL_QUEUED) | BIT(PROPOSAL_FAILED),
	[PROPOSAL_EXECUTED] = BIT(PROPOSAL_PROVING),
	[PROPOSAL_PROVING] = BIT(PROPOSAL_PROVEN) | BIT(PROPOSAL_FAILED),
};

const char *proposal_state_name(enum proposal_state s)
{
	return (unsigned)s < PROPOSAL_STATE_COUNT ? names[s] : NULL;
}

int proposal_state_parse(const char *s)
{
	for (int i = 0; s && i < PROPOSAL_STATE_COUNT; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

int proposal_state_final(enum proposal_state s)
{
	return (unsigned)s < PROPOSAL_STATE_COUNT && steps[s] == 0;
}

int proposal_transition_ok(enum proposal_state from, enum proposal_state to)
{
	return (unsigned)from < PROPOSAL_STATE_COUNT && (unsigned)to < PROPOSAL_STATE_COUNT &&
	       (steps[from] & BIT(to)) != 0;
}
