/*
 * realfmt.c: see realfmt.h. Trying 1..17 significant digits is plain and obviously
 * correct (17 always reads back); printing is rare enough (show, list, error messages) that
 * the few snprintf calls do not matter.
 */
#include "realfmt.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *realfmt_shortest(double x, char out[REALFMT_MAX])
{
    if (isnan(x)) {
        snprintf(out, REALFMT_MAX, "nan");
        return out;
    }
    if (isinf(x)) {
        snprintf(out, REALFMT_MAX, "%s", x < 0 ? "-inf" : "inf");
        return out;
    }
    for (int p = 1; p <= 17; p++) {
        char *e;
        snprintf(out, REALFMT_MAX, "%.*g", p, x);
        if (strtod(out, NULL) != x)
            continue;
        /* %g writes 90 as 9e+01 at one digit: below 10^17 a plain number reads better */
        e = strchr(out, 'e');
        if (e) {
            long ex = strtol(e + 1, NULL, 10);
            if (ex >= 0 && ex < 17)
                snprintf(out, REALFMT_MAX, "%.*f", p - 1 - (int)ex > 0 ? p - 1 - (int)ex : 0, x);
        }
        break;
    }
    return out;
}

static int num_char(char c)
{
    return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

void realfmt_json_reals(char *json)
{
    char *r = json, *w = json;
    int in_str = 0;

    while (*r) {
        if (in_str) {
            if (*r == '\\' && r[1]) {
                *w++ = *r++;
            } else if (*r == '"') {
                in_str = 0;
            }
            *w++ = *r++;
            continue;
        }
        if (*r == '"') {
            in_str = 1;
            *w++ = *r++;
            continue;
        }
        if ((*r >= '0' && *r <= '9') || *r == '-') {
            char num[64], fmt[REALFMT_MAX];
            size_t n = 0;
            int real = 0;

            while (num_char(r[n]) && n < sizeof(num) - 1) {
                if (r[n] == '.' || r[n] == 'e' || r[n] == 'E')
                    real = 1;
                n++;
            }
            if (!real || num_char(r[n])) { /* an integer, or too long to be ours: as is */
                while (num_char(*r))
                    *w++ = *r++;
                continue;
            }
            memcpy(num, r, n);
            num[n] = '\0';
            realfmt_shortest(strtod(num, NULL), fmt);
            if (!strpbrk(fmt, ".eEni"))
                snprintf(fmt + strlen(fmt), sizeof(fmt) - strlen(fmt), ".0");
            if (strlen(fmt) <= n) { /* never grows the text: else keep jansson's */
                memcpy(w, fmt, strlen(fmt));
                w += strlen(fmt);
            } else {
                memcpy(w, num, n);
                w += n;
            }
            r += n;
            continue;
        }
        *w++ = *r++;
    }
    *w = '\0';
}
