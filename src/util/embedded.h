/* embedded: files compiled into the binary (static assets, migrations, the
 * OpenAPI document), so one executable is the whole deployable. The table is
 * generated at build time by tools/embed.c; nothing here reads the disk. */
#ifndef PORTAL_EMBEDDED_H
#define PORTAL_EMBEDDED_H

#include <stddef.h>

struct embedded_file {
	const char *name;          /* e.g. "web/assets/portal.css" */
	const unsigned char *data; /* NUL-terminated, len excludes the NUL */
	size_t len;
};

extern const struct embedded_file embedded_files[];
extern const size_t embedded_count;

/* The file with exactly this name, or NULL. */
const struct embedded_file *embedded_find(const char *name);

#endif
