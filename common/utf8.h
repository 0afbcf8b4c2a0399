/* utf8.h: strict UTF-8 validation (RFC 3629: no overlongs, no surrogates, nothing past
 * U+10FFFF) and code point counting, for every text field that crosses a trust boundary. */
#ifndef GS_COMMON_UTF8_H
#define GS_COMMON_UTF8_H

#include <stddef.h>

/* 1 if s[0..len) is valid UTF-8 with no NUL byte, else 0. */
int utf8_valid(const char *s, size_t len);

/* The number of code points in valid UTF-8 s[0..len). */
size_t utf8_count(const char *s, size_t len);

#endif
