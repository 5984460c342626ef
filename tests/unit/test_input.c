/* Input text: which byte strings count as UTF-8 for paths, queries and forms. */
#include <criterion/criterion.h>
#include <string.h>

#include "util/utf8.h"

static int valid(const char *s) { return utf8_valid_len(s, strlen(s)) == strlen(s); }

Test(input, ascii_and_every_utf8_length_are_text)
{
	cr_expect(valid(""));
	cr_expect(valid("plain /path?a=b"));
	cr_expect(valid("caf\xc3\xa9"));              /* é, two bytes */
	cr_expect(valid("\xe2\x82\xac 5"));           /* €, three bytes */
	cr_expect(valid("\xf0\x9f\x9a\x80"));         /* 🚀, four bytes */
	cr_expect(valid("\xf4\x8f\xbf\xbf"));         /* U+10FFFF, the last */
}

Test(input, broken_sequences_are_not_text_and_the_prefix_before_them_is_measured)
{
	cr_expect_eq(utf8_valid_len("ab\xff", 3), 2);        /* never a UTF-8 byte */
	cr_expect_eq(utf8_valid_len("a\xc3(", 3), 1);        /* bad continuation */
	cr_expect_eq(utf8_valid_len("a\xe2\x82", 3), 1);     /* cut short */
	cr_expect_eq(utf8_valid_len("\x80x", 2), 0);         /* lone continuation */
}

Test(input, overlong_forms_surrogates_and_code_points_past_the_last_are_not_text)
{
	cr_expect(!valid("\xc0\xaf"));             /* "/" in two bytes */
	cr_expect(!valid("\xe0\x80\xaf"));         /* "/" in three bytes */
	cr_expect(!valid("\xed\xa0\x80"));         /* U+D800 */
	cr_expect(!valid("\xed\xbf\xbf"));         /* U+DFFF */
	cr_expect(!valid("\xf4\x90\x80\x80"));     /* U+110000 */
	cr_expect(!valid("\xf8\x88\x80\x80\x80")); /* five-byte form */
}
