/* demo: the data set `portal demo` loads, apart from the command so that it
 * can be folded in a test without a store. Pure: the base time comes in as
 * an argument and the same base gives the same events, byte for byte. */
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

#endif
