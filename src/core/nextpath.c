/* nextpath: see nextpath.h. */
#include "core/nextpath.h"

#include <string.h>

static int hex(char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

int next_path_safe(const char *s)
{
	if (!s || s[0] != '/' || s[1] == '/' || s[1] == '\\')
		return 0;
	size_t n = 0;
	for (const char *p = s; *p; p++, n++) {
		unsigned char ch = (unsigned char)*p;
		if (n >= NEXT_PATH_MAX - 1)
			return 0;
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))
			continue;
		if (ch == '%') {
			if (!hex(p[1]) || !hex(p[2]))
				return 0;
			continue;
		}
		if (!strchr("-._~!$&'()*+,;=:@/?", ch) || ch == 0)
			return 0;
	}
	return 1;
}

const char *next_path_or_root(const char *s)
{
	return next_path_safe(s) ? s : "/";
}
