/* executor_kind: the table of executors. Adding one is a row here, the rules
 * of any execute: key it brings in core/contract.c, and its backend's row
 * in exec/executor.c. It runs and checks nothing itself. */
#include "core/executor_kind.h"

#include <stdio.h>
#include <string.h>

const struct executor_def executor_defs[EXECUTOR_KIND_COUNT] = {
	[EXECUTOR_EXEC] = {"exec", EXECUTE_ARGV},
	[EXECUTOR_HTTP] = {"http", EXECUTE_COMPONENT | EXECUTE_SECRET},
	[EXECUTOR_TEMPORAL] = {"temporal", EXECUTE_COMPONENT | EXECUTE_WORKFLOW | EXECUTE_SECRET},
};

const char *executor_kind_name(enum executor_kind e)
{
	return executor_defs[(unsigned)e < EXECUTOR_KIND_COUNT ? e : EXECUTOR_EXEC].name;
}

int executor_kind_parse(const char *name)
{
	for (int i = 0; name && i < EXECUTOR_KIND_COUNT; i++)
		if (strcmp(executor_defs[i].name, name) == 0)
			return i;
	return -1;
}

unsigned executor_kind_keys(enum executor_kind e)
{
	return (unsigned)e < EXECUTOR_KIND_COUNT ? executor_defs[e].keys : 0;
}

const char *executor_kind_list(unsigned keys, const char *last, char *buf, size_t cap)
{
	size_t n = 0, len = 0;
	for (int i = 0; i < EXECUTOR_KIND_COUNT; i++)
		n += (executor_defs[i].keys & keys) == keys;
	if (cap)
		buf[0] = '\0';
	for (int i = 0, k = 0; i < EXECUTOR_KIND_COUNT && len < cap; i++) {
		if ((executor_defs[i].keys & keys) != keys)
			continue;
		const char *sep = k == 0 ? "" : (size_t)k + 1 == n ? last : ", ";
		int w = snprintf(buf + len, cap - len, "%s%s", sep, executor_defs[i].name);
		len += w > 0 ? (size_t)w : 0;
		k++;
	}
	return buf;
}
