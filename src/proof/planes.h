/* planes: opens the proof planes the configuration chooses (proof: in
 * portal.yaml): embedded over the store, or remote at a declared
 * component's internal URL with a secret contract's value. */
#ifndef PORTAL_PLANES_H
#define PORTAL_PLANES_H

#include "adapters/secrets.h"
#include "proof/prover.h"

struct config;

/* Returns 0, or an error naming the setting at fault (a component without
 * an internal URL, a secret without a value). */
int proof_planes_open(const struct config *cfg, struct store *st,
		      const struct secret_values *sv, struct prover_planes *out,
		      struct perr *err);
void proof_planes_close(struct prover_planes *pl);

#endif
