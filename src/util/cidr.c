/* cidr: address and CIDR-block lists. inet_pton parses every address; what is
 * here splits the list at commas, reads a prefix length and compares bits.
 * No name resolution, no state. */
#include "util/cidr.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Longer than any address with a prefix
 * ("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/128" is 49). */
#define ENTRY_MAX 64

struct block {
	int family;           /* AF_INET or AF_INET6 */
	unsigned char a[16];  /* 4 bytes used for AF_INET */
	int bits;             /* prefix length */
};

static const unsigned char v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* An IPv4-mapped IPv6 block (::ffff:a.b.c.d/96..128) becomes the IPv4 block
 * it maps, so both spellings compare alike. */
static void unmap(struct block *b)
{
	if (b->family != AF_INET6 || b->bits < 96 || memcmp(b->a, v4_mapped, 12) != 0)
		return;
	memmove(b->a, b->a + 12, 4);
	memset(b->a + 4, 0, 12);
	b->family = AF_INET;
	b->bits -= 96;
}

/* Whether a and b agree on their first `bits` bits. */
static int same_prefix(const unsigned char *a, const unsigned char *b, int bits)
{
	int whole = bits / 8, rest = bits % 8;
	if (memcmp(a, b, (size_t)whole) != 0)
		return 0;
	if (!rest)
		return 1;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return (a[whole] & mask) == (b[whole] & mask);
}

/* What an entry is quoted as in a message: at most 40 bytes, control bytes
 * as '?', so a hostile value cannot garble a terminal. */
static const char *quoted(const char *s, size_t n, char out[48])
{
	size_t i = 0;
	for (; i < n && i < 40; i++)
		out[i] = iscntrl((unsigned char)s[i]) ? '?' : s[i];
	if (i < n)
		memcpy(out + i, "...", 3), i += 3;
	out[i] = '\0';
	return out;
}

static void say(char *msg, size_t msgsz, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void say(char *msg, size_t msgsz, const char *fmt, ...)
{
	if (!msgsz)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, msgsz, fmt, ap);
	va_end(ap);
}

/* Parses the entry s[0..n) (already trimmed) into b. Returns 1, or 0 with a
 * message naming the entry (msg may be NULL with msgsz 0). */
static int block_parse(const char *s, size_t n, struct block *b, char *msg, size_t msgsz)
{
	char text[ENTRY_MAX], q[48];
	if (n == 0) {
		say(msg, msgsz, "an empty entry (two commas in a row, or one at an end)");
		return 0;
	}
	if (n >= sizeof text) {
		say(msg, msgsz, "'%s' is too long to be an address or CIDR", quoted(s, n, q));
		return 0;
	}
	memcpy(text, s, n);
	text[n] = '\0';
	quoted(s, n, q);
	char *slash = strchr(text, '/');
	int bits = -1;
	if (slash) {
		*slash = '\0';
		const char *p = slash + 1;
		size_t pl = strlen(p);
		int ok = pl >= 1 && pl <= 3;
		for (size_t i = 0; ok && i < pl; i++)
			ok = isdigit((unsigned char)p[i]);
		if (!ok) {
			say(msg, msgsz, "'%s': the prefix length after '/' must be a number", q);
			return 0;
		}
		bits = 0;
		for (size_t i = 0; i < pl; i++)
			bits = bits * 10 + (p[i] - '0');
	}
	memset(b, 0, sizeof *b);
	if (inet_pton(AF_INET, text, b->a) == 1) {
		b->family = AF_INET;
	} else if (inet_pton(AF_INET6, text, b->a) == 1) {
		b->family = AF_INET6;
	} else {
		say(msg, msgsz, "'%s' is not an IPv4 or IPv6 address%s", q,
		    slash ? " before the '/'" : " (names are not resolved; give an address "
						"or a CIDR such as 10.0.0.0/8)");
		return 0;
	}
	int max = b->family == AF_INET ? 32 : 128;
	if (bits < 0) {
		bits = max;
	} else if (bits > max) {
		say(msg, msgsz, "'%s': the prefix length must be 0..%s", q,
		    b->family == AF_INET ? "32 for IPv4" : "128 for IPv6");
		return 0;
	}
	b->bits = bits;
	/* Bits past the prefix are most likely a typo for a narrower block. */
	unsigned char net[16];
	memset(net, 0, sizeof net);
	memcpy(net, b->a, (size_t)bits / 8);
	if (bits % 8)
		net[bits / 8] = (unsigned char)(b->a[bits / 8] & (0xff << (8 - bits % 8)));
	if (memcmp(net, b->a, (size_t)max / 8) != 0) {
		char addr[INET6_ADDRSTRLEN], want[INET6_ADDRSTRLEN + 8];
		inet_ntop(b->family, net, addr, sizeof addr);
		snprintf(want, sizeof want, "%s/%d", addr, bits);
		say(msg, msgsz, "'%s' has bits set past its prefix; did you mean %s?", q, want);
		return 0;
	}
	unmap(b);
	return 1;
}

/* Calls each(entry, n, ctx) for every comma-separated entry of list, trimmed
 * of spaces and tabs, until it returns 0. An empty or all-blank list has no
 * entry. Returns 0 when each stopped it, else 1. */
static int each_entry(const char *list, int (*each)(const char *, size_t, void *), void *ctx)
{
	const char *p = list;
	while (*p == ' ' || *p == '\t')
		p++;
	if (!*p)
		return 1;
	for (;;) {
		const char *end = strchr(p, ',');
		const char *stop = end ? end : p + strlen(p);
		const char *s = p;
		while (s < stop && (*s == ' ' || *s == '\t'))
			s++;
		const char *e = stop;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if (!each(s, (size_t)(e - s), ctx))
			return 0;
		if (!end)
			return 1;
		p = end + 1;
	}
}

struct valid_ctx {
	char *msg;
	size_t msgsz;
};

static int check_one(const char *s, size_t n, void *ctx)
{
	struct valid_ctx *v = ctx;
	struct block b;
	return block_parse(s, n, &b, v->msg, v->msgsz);
}

int cidr_list_valid(const char *list, char *msg, size_t msgsz)
{
	struct valid_ctx v = {msg, msgsz};
	if (msgsz)
		msg[0] = '\0';
	return each_entry(list ? list : "", check_one, &v);
}

struct match_ctx {
	struct block addr;
	int found;
};

static int match_one(const char *s, size_t n, void *ctx)
{
	struct match_ctx *m = ctx;
	struct block b;
	if (block_parse(s, n, &b, NULL, 0) && b.family == m->addr.family &&
	    same_prefix(b.a, m->addr.a, b.bits))
		m->found = 1;
	return !m->found;
}

int cidr_list_match(const char *list, const char *addr)
{
	if (!list || !addr)
		return 0;
	char text[ENTRY_MAX];
	size_t n = strlen(addr);
	if (n >= 2 && addr[0] == '[' && addr[n - 1] == ']')
		addr++, n -= 2;
	if (n == 0 || n >= sizeof text || memchr(addr, '/', n))
		return 0;
	memcpy(text, addr, n);
	text[n] = '\0';
	struct match_ctx m = {0};
	if (inet_pton(AF_INET, text, m.addr.a) == 1) {
		m.addr.family = AF_INET;
		m.addr.bits = 32;
	} else if (inet_pton(AF_INET6, text, m.addr.a) == 1) {
		m.addr.family = AF_INET6;
		m.addr.bits = 128;
		unmap(&m.addr);
	} else {
		return 0;
	}
	each_entry(list, match_one, &m);
	return m.found;
}
