/* utf8: well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates,
 * nothing past U+10FFFF), one definition for every place that checks or
 * repairs text. It does not decode to code points for anyone. */
#ifndef PORTAL_UTIL_UTF8_H
#define PORTAL_UTIL_UTF8_H

#include <stddef.h>

/* Length (1..4) of the well-formed sequence at s, reading at most n >= 1
 * bytes; 0 when there is none there (a bad lead or continuation byte, an
 * overlong form, a surrogate, past U+10FFFF, or cut short). */
size_t utf8_seq(const unsigned char *s, size_t n);

/* Length of the longest prefix of s[0..n) that is well-formed UTF-8: n when
 * all of it is. */
size_t utf8_valid_len(const char *s, size_t n);

#endif
