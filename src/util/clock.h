/* clock: the only place that reads the time. core/ never calls these; callers
 * pass the values in. */
#ifndef PORTAL_CLOCK_H
#define PORTAL_CLOCK_H

/* Milliseconds since the epoch (wall clock, for records and logs). */
long long clock_wall_ms(void);
/* Microseconds from an arbitrary origin (monotonic, for durations). */
long long clock_mono_us(void);

#endif
