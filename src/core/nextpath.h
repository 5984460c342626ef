/* nextpath: where sign-in may send a person back to. Only a same-origin
 * relative path (with its query) qualifies; anything that a browser could
 * read as another origin (//host, /\host, a scheme, control characters it
 * would strip into one of those) does not, and the caller falls back to "/".
 * Pure. */
#ifndef PORTAL_NEXTPATH_H
#define PORTAL_NEXTPATH_H

#define NEXT_PATH_MAX 1024

/* Whether s (already percent-decoded once, as it arrived in a query or
 * form) is a safe place to land: starts with exactly one '/', not followed
 * by '/' or '\', holds only URL characters (no backslash, whitespace,
 * control or non-ASCII bytes), every '%' starts a valid escape, and it is
 * shorter than NEXT_PATH_MAX. */
int next_path_safe(const char *s);

/* s when safe, else "/". */
const char *next_path_or_root(const char *s);

#endif
