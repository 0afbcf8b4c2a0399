/*
 * realfmt.h: the one way gridsync prints a double for people and for JSON: the shortest
 * decimal that reads back (strtod) as the same double, so -89.12345678901235 prints as
 * itself, not as -89.1234567890124 (15 digits lose it) nor -89.123456789012348 (17 digits
 * are more than it needs).
 */
#ifndef GS_COMMON_REALFMT_H
#define GS_COMMON_REALFMT_H

#include <stddef.h>

#define REALFMT_MAX 32 /* room for any double's text and its NUL */

/* The shortest "%.Ng" text (N = 1..17) that strtod reads back as x exactly; "nan", "inf",
 * "-inf" for those. Returns out. */
char *realfmt_shortest(double x, char out[REALFMT_MAX]);

/* Rewrites, in place, every real number of the JSON text json (a number with '.' or an
 * exponent, outside strings) in its shortest form, keeping a ".0" where the shortest form
 * would read as an integer. For text dumped by jansson with JSON_REAL_PRECISION(17): each
 * number is then exact, and its shortest form is never longer, so the text only shrinks. */
void realfmt_json_reals(char *json);

#endif
