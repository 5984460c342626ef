/* CIDR lists: what a trusted-proxies list may hold, what each refusal says,
 * and which peer addresses it matches (IPv4, IPv6 and IPv4-mapped IPv6). */
#include <criterion/criterion.h>
#include <string.h>

#include "util/cidr.h"

/* The list is refused, and the message is exactly want. */
static void expect_refused(const char *list, const char *want)
{
	char msg[256] = "unset";
	cr_expect_eq(cidr_list_valid(list, msg, sizeof msg), 0, "'%s' should be refused", list);
	cr_expect_str_eq(msg, want, "for '%s'", list);
}

/* --- cidr_list_valid */

Test(cidr, addresses_and_blocks_of_both_families_are_valid)
{
	const char *ok[] = {"127.0.0.1", "10.0.0.0/8", "::1", "fd00::/8",
			    "127.0.0.1, 10.0.0.0/8, ::1, fd00::/8", "0.0.0.0/0", "::/0",
			    "192.168.1.7/32", "2001:db8::/32", "::ffff:10.0.0.0/104",
			    " 10.0.0.0/8 ,\t::1 ", "172.16.0.0/12,192.168.0.0/16"};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		char msg[256] = "";
		cr_expect_eq(cidr_list_valid(ok[i], msg, sizeof msg), 1, "'%s': %s", ok[i], msg);
		cr_expect_str_eq(msg, "", "a valid list leaves no message");
	}
}

Test(cidr, an_empty_list_is_valid_and_holds_no_entry)
{
	cr_expect_eq(cidr_list_valid("", NULL, 0), 1);
	cr_expect_eq(cidr_list_valid("   ", NULL, 0), 1);
	cr_expect_eq(cidr_list_valid(NULL, NULL, 0), 1);
	cr_expect_eq(cidr_list_match("", "127.0.0.1"), 0);
}

Test(cidr, a_bad_entry_is_named_in_the_message)
{
	expect_refused("127.0.0.1, 10.0.0.300",
		       "'10.0.0.300' is not an IPv4 or IPv6 address (names are not resolved; "
		       "give an address or a CIDR such as 10.0.0.0/8)");
	expect_refused("proxy.internal",
		       "'proxy.internal' is not an IPv4 or IPv6 address (names are not "
		       "resolved; give an address or a CIDR such as 10.0.0.0/8)");
	expect_refused("10.0.0.0/33", "'10.0.0.0/33': the prefix length must be 0..32 for IPv4");
	expect_refused("fd00::/129", "'fd00::/129': the prefix length must be 0..128 for IPv6");
	expect_refused("10.0.0.0/x8", "'10.0.0.0/x8': the prefix length after '/' must be a number");
	expect_refused("10.0.0.0/", "'10.0.0.0/': the prefix length after '/' must be a number");
	expect_refused("10.0.0.0/-1", "'10.0.0.0/-1': the prefix length after '/' must be a number");
	expect_refused("bad/8", "'bad/8' is not an IPv4 or IPv6 address before the '/'");
}

Test(cidr, bits_past_the_prefix_suggest_the_block_meant)
{
	expect_refused("10.0.0.1/8", "'10.0.0.1/8' has bits set past its prefix; did you mean "
				     "10.0.0.0/8?");
	expect_refused("fd00::1/8", "'fd00::1/8' has bits set past its prefix; did you mean "
				    "fd00::/8?");
	expect_refused("172.31.0.0/12", "'172.31.0.0/12' has bits set past its prefix; did you "
					"mean 172.16.0.0/12?");
}

Test(cidr, empty_entries_are_refused)
{
	expect_refused("10.0.0.0/8,,::1", "an empty entry (two commas in a row, or one at an end)");
	expect_refused("10.0.0.0/8,", "an empty entry (two commas in a row, or one at an end)");
	expect_refused(", ::1", "an empty entry (two commas in a row, or one at an end)");
}

Test(cidr, forms_inet_pton_refuses_are_refused)
{
	/* leading zeros (octal in some parsers), short forms, zone ids, brackets */
	const char *bad[] = {"010.0.0.1", "10.1", "fe80::1%eth0", "[::1]", "1.2.3.4.5",
			     "::1::2", "10.0.0.0 /8"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		cr_expect_eq(cidr_list_valid(bad[i], NULL, 0), 0, "'%s' should be refused", bad[i]);
}

Test(cidr, a_long_or_hostile_entry_is_quoted_short_and_clean)
{
	char list[200];
	memset(list, '1', sizeof list - 1);
	list[sizeof list - 1] = '\0';
	char msg[256];
	cr_assert_eq(cidr_list_valid(list, msg, sizeof msg), 0);
	cr_expect_str_eq(msg, "'1111111111111111111111111111111111111111...' is too long to be "
			      "an address or CIDR");
	cr_assert_eq(cidr_list_valid("10.0.0.\x1b[2J", msg, sizeof msg), 0);
	cr_expect_null(strchr(msg, '\x1b'), "%s", msg);
}

Test(cidr, the_message_fits_a_small_buffer)
{
	char msg[8];
	cr_expect_eq(cidr_list_valid("nope", msg, sizeof msg), 0);
	cr_expect_eq(strlen(msg), 7);
}

/* --- cidr_list_match */

Test(cidr, an_address_matches_its_own_entry_and_its_block)
{
	const char *list = "127.0.0.1, 10.0.0.0/8, ::1, fd00::/8";
	cr_expect(cidr_list_match(list, "127.0.0.1"));
	cr_expect(cidr_list_match(list, "10.200.3.4"));
	cr_expect(cidr_list_match(list, "::1"));
	cr_expect(cidr_list_match(list, "fd12:3456::7"));
	cr_expect(cidr_list_match(list, "[fd12:3456::7]"));
	cr_expect_not(cidr_list_match(list, "127.0.0.2"));
	cr_expect_not(cidr_list_match(list, "11.0.0.1"));
	cr_expect_not(cidr_list_match(list, "fe80::1"));
	cr_expect_not(cidr_list_match(list, "::2"));
}

Test(cidr, prefix_boundaries_are_exact)
{
	cr_expect(cidr_list_match("172.16.0.0/12", "172.16.0.0"));
	cr_expect(cidr_list_match("172.16.0.0/12", "172.31.255.255"));
	cr_expect_not(cidr_list_match("172.16.0.0/12", "172.32.0.0"));
	cr_expect_not(cidr_list_match("172.16.0.0/12", "172.15.255.255"));
	cr_expect(cidr_list_match("2001:db8::/33", "2001:db8:7fff::1"));
	cr_expect_not(cidr_list_match("2001:db8::/33", "2001:db8:8000::1"));
	cr_expect(cidr_list_match("0.0.0.0/0", "203.0.113.9"));
	cr_expect(cidr_list_match("::/0", "2001:db8::1"));
}

Test(cidr, an_ipv4_mapped_peer_matches_ipv4_entries)
{
	cr_expect(cidr_list_match("10.0.0.0/8", "::ffff:10.1.2.3"));
	cr_expect(cidr_list_match("127.0.0.1", "::ffff:127.0.0.1"));
	cr_expect(cidr_list_match("127.0.0.1", "::FFFF:7f00:1"));
	cr_expect_not(cidr_list_match("10.0.0.0/8", "::ffff:11.1.2.3"));
	/* and an IPv4-mapped entry matches the plain IPv4 peer */
	cr_expect(cidr_list_match("::ffff:10.0.0.0/104", "10.9.9.9"));
	cr_expect(cidr_list_match("::ffff:192.0.2.1", "192.0.2.1"));
}

Test(cidr, the_families_do_not_mix_otherwise)
{
	/* ::/0 is every IPv6 address, not every IPv4 one; 0.0.0.0/0 is no IPv6 one. */
	cr_expect_not(cidr_list_match("::/0", "10.1.2.3"));
	cr_expect_not(cidr_list_match("0.0.0.0/0", "::1"));
	/* ::1 is not 0.0.0.1, nor is the IPv4-compatible ::10.1.2.3 the IPv4 10.1.2.3 */
	cr_expect_not(cidr_list_match("0.0.0.1", "::1"));
	cr_expect_not(cidr_list_match("10.1.2.3", "::10.1.2.3"));
}

Test(cidr, what_is_not_an_address_matches_nothing)
{
	const char *list = "0.0.0.0/0, ::/0";
	const char *bad[] = {"", "localhost", "10.0.0.0/8", "10.1.2.3:443", "[::1]:443",
			     "fe80::1%eth0", "[", "[]"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		cr_expect_not(cidr_list_match(list, bad[i]), "'%s' should match nothing", bad[i]);
	cr_expect_not(cidr_list_match(NULL, "10.0.0.1"));
	cr_expect_not(cidr_list_match(list, NULL));
}

Test(cidr, invalid_entries_never_match_but_valid_ones_beside_them_do)
{
	const char *list = "10.0.0.1/8, proxy.internal, 192.168.0.0/16";
	cr_expect_not(cidr_list_match(list, "10.0.0.1"));
	cr_expect(cidr_list_match(list, "192.168.4.4"));
}
