/* probing: ties the prober to the live truth. Each change of a component's
 * health becomes a health.changed event appended through the writer, so
 * runtime health reaches every view through the one projection; credentials
 * come from the resolved secret contracts and never leave this module. */
#ifndef PORTAL_PROBING_H
#define PORTAL_PROBING_H

struct app;
struct config;
struct writer;
struct probing;

/* Resolves the secret contracts of cfg (recording their states in app) and
 * starts probing every component that declares an internal URL. Returns
 * NULL when there is nothing to probe; failures are logged, not fatal: a
 * portal with a bad prober still serves. */
struct probing *probing_start(struct app *app, struct writer *w, const struct config *cfg);
/* Stops the prober and wipes the credentials. NULL is a no-op. */
void probing_stop(struct probing *p);

#endif
