/* stage: names and meanings of the workflow path. */
#include "core/stage.h"

static const struct stage_info stages[STAGE_COUNT] = {
	[STAGE_ONBOARDING] = {
		"onboarding", "Onboarding",
		"Make the project launchable: sign-in works, contracts are declared, secrets are present and the owned substrate answers its health checks.",
		"Decided by the configuration contracts and the health of each component, never by a checkbox.",
	},
	[STAGE_WORK] = {
		"work", "Work",
		"Sessions and Ouroboros cycles run; operators watch them live.",
		"Decided by portal_live_events folded into the harness-projection snapshot, the one live truth shared by the operator view and the minimap.",
	},
	[STAGE_PROPOSAL] = {
		"proposal", "Proposal",
		"Every change is a proposal: validated, recorded, queued, approved, then executed asynchronously by the execution engine.",
		"Decided by the proposal record and its hash-chained audit log; the proposal is the only mutation gate.",
	},
	[STAGE_PROOF] = {
		"proof", "Proof",
		"A proposal is proven when its closure joins the Semantics / FractalOps graph, the ClickHouse warehouse and Chronicle evidence.",
		"Decided by those three planes only; DataHub lineage helps navigation but is not proof authority.",
	},
	[STAGE_RECOVERY] = {
		"recovery", "Recovery",
		"A blocked route downshifts here instead of hiding the failure, naming the blocker and the next action.",
		"Decided by the blocker class: auth (sign in or request access), contract (missing secret or bad URL), dependency (substrate down) or product (a real fault).",
	},
};

const struct stage_info *stage_info(enum stage s)
{
	return (unsigned)s < STAGE_COUNT ? &stages[s] : 0;
}
