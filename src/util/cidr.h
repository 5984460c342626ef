/* cidr: lists of IP addresses and CIDR blocks written as text, e.g.
 * "127.0.0.1, 10.0.0.0/8, ::1, fd00::/8" — how the configuration names the
 * reverse proxies it trusts. Addresses are parsed by inet_pton; this module
 * only splits the list and compares prefix bits. It resolves no host name and
 * keeps nothing between calls. */
#ifndef PORTAL_CIDR_H
#define PORTAL_CIDR_H

#include <stddef.h>

/* Whether list is a comma-separated list of entries, each an IPv4 or IPv6
 * address ("10.1.2.3", "::1") or a CIDR block ("10.0.0.0/8", "fd00::/8").
 * Spaces and tabs around an entry are ignored; an empty list (or only
 * spaces) is valid and holds no entry. Refused: an empty entry ("a,,b",
 * "a,"), what inet_pton does not take as an address (names, zone ids,
 * leading zeros), a prefix length that is not 0..32 (IPv4) or 0..128 (IPv6),
 * and a block with bits set past its prefix ("10.0.0.1/8").
 * Returns 1 when valid; otherwise 0, with a message that quotes the first bad
 * entry (at most 40 characters of it) written to msg when msgsz > 0. */
int cidr_list_valid(const char *list, char *msg, size_t msgsz);

/* Whether addr, a textual IPv4 or IPv6 address as a peer address is printed
 * (optionally in brackets), lies in one of list's entries. An IPv4-mapped
 * IPv6 address ("::ffff:10.1.2.3") is the IPv4 address it maps, so it matches
 * IPv4 entries, and an IPv4-mapped entry ("::ffff:10.0.0.0/104") matches
 * IPv4 addresses. Entries that cidr_list_valid would refuse never match; an
 * addr that is not an address matches nothing. Returns 1 or 0. */
int cidr_list_match(const char *list, const char *addr);

#endif
