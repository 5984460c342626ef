/* role: what a signed-in person may do. Roles are ordered, each including the
 * ones below it: a viewer reads; an operator also reaches the operator and
 * debug surfaces; an approver also decides proposals; an admin also manages
 * accounts. Pure data. */
#ifndef PORTAL_ROLE_H
#define PORTAL_ROLE_H

enum role {
	ROLE_VIEWER,
	ROLE_OPERATOR,
	ROLE_APPROVER,
	ROLE_ADMIN,
	ROLE_COUNT
};

/* "viewer", "operator", "approver", "admin"; NULL when out of range. */
const char *role_name(enum role r);
/* Parses a role name; -1 when unknown. */
int role_parse(const char *s);
/* Whether a person holding `have` may do what needs `need`. */
int role_allows(enum role have, enum role need);

#endif
