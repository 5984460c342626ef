/* demo: the data set `portal demo` loads, apart from the command so that it
 * can be tested. The events (demo_data.c) are pure: the base time comes in
 * as an argument and the same base gives the same events, byte for byte.
 * The proposals (demo.c) are made through the store, as people, a worker and
 * the prover would make them, so every one the pages mention can be opened. */
#ifndef PORTAL_DEMO_H
#define PORTAL_DEMO_H

#include <stddef.h>

#include <jansson.h>

/* Builds the demo events as event objects (id "demo-0001"…, source "demo",
 * every field event_from_json needs), ts strictly increasing over the two
 * hours before base_ms and never after it. Sets *out to a malloc'd array of
 * new references; the caller json_decref's each and frees the array.
 * Returns how many there are. */
size_t demo_events(long long base_ms, json_t ***out);

struct store;
struct perr;
/* Makes the demo proposals in st, one in every state of the machine, each
 * submitted under a fixed idempotency key by its proposer and walked only
 * when that submission is new: a second run finds them and changes nothing.
 * Times lie in the two hours before base_ms. *made says how many were new.
 * Returns 0, or a PERR with err filled. */
int demo_proposals(struct store *st, long long base_ms, int *made, struct perr *err);

#endif
