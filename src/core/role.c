/* role: names and order of the roles. */
#include <string.h>

#include "core/role.h"

static const char *const names[ROLE_COUNT] = {
	[ROLE_VIEWER] = "viewer",
	[ROLE_OPERATOR] = "operator",
	[ROLE_APPROVER] = "approver",
	[ROLE_ADMIN] = "admin",
};

const char *role_name(enum role r)
{
	return (unsigned)r < ROLE_COUNT ? names[r] : NULL;
}

int role_parse(const char *s)
{
	for (int i = 0; s && i < ROLE_COUNT; i++)
		if (!strcmp(s, names[i]))
			return i;
	return -1;
}

int role_allows(enum role have, enum role need)
{
	return (unsigned)have < ROLE_COUNT && (unsigned)need < ROLE_COUNT && have >= need;
}
