/*
 * enroll.c: see enroll.h.
 */
#include "enroll.h"

#include "common/hex.h"

#include <stdio.h>
#include <string.h>

/* Crockford's base32: no I, L, O, U (read as 1, 1, 0; U is refused). */
static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

void enroll_code_format(const unsigned char bytes[ENROLL_CODE_BYTES],
                        char out[ENROLL_CODE_SHOWN + 1])
{
    unsigned acc = 0, bits = 0;
    size_t n = 0, k = 0;

    for (size_t i = 0; i < ENROLL_CODE_BYTES; i++) {
        acc = (acc << 8) | bytes[i];
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            if (k && k % 4 == 0)
                out[n++] = '-';
            out[n++] = alphabet[(acc >> bits) & 31];
            k++;
        }
    }
    out[n] = '\0';
}

/* The value of one code character, -1 when it is none. */
static int code_digit(char c)
{
    if (c >= 'a' && c <= 'z')
        c = (char)(c - 32);
    if (c == 'O')
        c = '0';
    if (c == 'I' || c == 'L')
        c = '1';
    const char *p = c ? strchr(alphabet, c) : NULL;
    return p ? (int)(p - alphabet) : -1;
}

int enroll_code_canon(const char *text, char out[ENROLL_CODE_LEN + 1], gs_err *err)
{
    char buf[ENROLL_CODE_LEN + 1];
    size_t n = 0;

    for (const char *p = text; *p; p++) {
        int d;
        if (*p == '-' || *p == ' ')
            continue;
        d = code_digit(*p);
        if (d < 0)
            return gs_err_set(err, GS_E_INVALID,
                              "enrolment code: '%c' is not one of its letters or digits "
                              "(0-9, A-Z without U)",
                              (*p > 0x20 && *p < 0x7f) ? *p : '?');
        if (n == ENROLL_CODE_LEN)
            return gs_err_set(err, GS_E_INVALID,
                              "enrolment code: longer than %d letters and digits",
                              ENROLL_CODE_LEN);
        buf[n++] = alphabet[d];
    }
    if (n != ENROLL_CODE_LEN)
        return gs_err_set(err, GS_E_INVALID,
                          "enrolment code: %zu letters and digits, it has %d (XXXX-XXXX-XXXX-XXXX)",
                          n, ENROLL_CODE_LEN);
    buf[n] = '\0';
    memcpy(out, buf, n + 1);
    return GS_OK;
}

int enroll_is_uri(const char *text)
{
    return strncmp(text, ENROLL_URI_SCHEME, sizeof(ENROLL_URI_SCHEME) - 1) == 0;
}

/* Percent-decodes s[0..len) into out (cap bytes with the NUL); 0 on success. A decoded
 * NUL or control character is refused. */
static int pct_decode(const char *s, size_t len, char *out, size_t cap)
{
    size_t n = 0;

    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            int hi, lo;
            if (i + 2 >= len)
                return -1;
            hi = hex_digit(s[i + 1]);
            lo = hex_digit(s[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = hi * 16 + lo;
            i += 2;
        } else if (c == '+') {
            c = ' ';
        }
        if (c < 0x20 || c == 0x7f || n + 1 >= cap)
            return -1;
        out[n++] = (char)c;
    }
    out[n] = '\0';
    return 0;
}

int enroll_uri_parse(const char *text, enroll_uri *out, gs_err *err)
{
    enroll_uri u;
    char code[64];
    int have_u = 0, have_c = 0, have_fp = 0;
    const char *p = text + sizeof(ENROLL_URI_SCHEME) - 1;
    int rc;

    if (!enroll_is_uri(text))
        return gs_err_set(err, GS_E_INVALID, "not an enrolment URI (%s...)", ENROLL_URI_SCHEME);
    if (strlen(text) > ENROLL_URI_MAX)
        return gs_err_set(err, GS_E_INVALID, "enrolment URI longer than %d bytes",
                          ENROLL_URI_MAX);
    memset(&u, 0, sizeof(u));
    while (*p) {
        const char *amp = strchr(p, '&'), *eq;
        size_t len = amp ? (size_t)(amp - p) : strlen(p), klen;
        eq = memchr(p, '=', len);
        klen = eq ? (size_t)(eq - p) : len;
        const char *v = eq ? eq + 1 : p + len;
        size_t vlen = eq ? len - klen - 1 : 0;
        int *seen = klen == 1 && p[0] == 'u'                 ? &have_u
                    : klen == 1 && p[0] == 'c'               ? &have_c
                    : klen == 2 && memcmp(p, "fp", 2) == 0 ? &have_fp
                                                             : NULL;
        if (seen) {
            if (*seen)
                return gs_err_set(err, GS_E_INVALID, "enrolment URI: '%.*s' given twice",
                                  (int)klen, p);
            *seen = 1;
            if (seen == &have_u) {
                if (pct_decode(v, vlen, u.server, sizeof(u.server)))
                    return gs_err_set(err, GS_E_INVALID, "enrolment URI: bad server URL (u)");
            } else if (seen == &have_c) {
                if (pct_decode(v, vlen, code, sizeof(code)))
                    return gs_err_set(err, GS_E_INVALID, "enrolment URI: bad code (c)");
            } else {
                if (vlen != ENROLL_FP_HEX)
                    return gs_err_set(err, GS_E_INVALID,
                                      "enrolment URI: fp must be %d hex digits (SHA-256 of the "
                                      "CA certificate)",
                                      ENROLL_FP_HEX);
                for (size_t i = 0; i < vlen; i++) {
                    if (hex_digit(v[i]) < 0)
                        return gs_err_set(err, GS_E_INVALID,
                                          "enrolment URI: fp must be hex digits");
                    u.fp[i] = "0123456789abcdef"[hex_digit(v[i])];
                }
                u.fp[vlen] = '\0';
            }
        }
        p += len + (amp ? 1 : 0);
    }
    if (!have_u || !have_c || !have_fp)
        return gs_err_set(err, GS_E_INVALID, "enrolment URI: missing %s",
                          !have_u ? "the server (u)" : !have_c ? "the code (c)"
                                                               : "the CA fingerprint (fp)");
    if (strncmp(u.server, "https://", 8) != 0 || strlen(u.server) < 9)
        return gs_err_set(err, GS_E_INVALID, "enrolment URI: the server must be https://...");
    rc = enroll_code_canon(code, u.code, err);
    if (rc)
        return rc;
    *out = u;
    return GS_OK;
}

int enroll_uri_format(const char *server, const char *code, const char *fp, char *out,
                      size_t cap, gs_err *err)
{
    char canon[ENROLL_CODE_LEN + 1];
    size_t n;
    int rc = enroll_code_canon(code, canon, err);

    if (rc)
        return rc;
    if (strlen(fp) != ENROLL_FP_HEX)
        return gs_err_set(err, GS_E_INVALID, "fingerprint: %d hex digits expected", ENROLL_FP_HEX);
    for (const char *p = fp; *p; p++)
        if (hex_digit(*p) < 0)
            return gs_err_set(err, GS_E_INVALID, "fingerprint: hex digits expected");
    n = (size_t)snprintf(out, cap, "%su=", ENROLL_URI_SCHEME);
    for (const char *p = server; *p && n < cap; p++) {
        unsigned char ch = (unsigned char)*p;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            strchr("-._~:/[]", ch))
            out[n++] = (char)ch;
        else
            n += (size_t)snprintf(out + n, cap - n, "%%%02X", ch);
    }
    if (n < cap)
        n += (size_t)snprintf(out + n, cap - n, "&c=%s&fp=%s", canon, fp);
    if (n >= cap) {
        if (cap)
            out[0] = '\0';
        return gs_err_set(err, GS_E_TOO_LARGE, "enrolment URI longer than %zu bytes", cap - 1);
    }
    return GS_OK;
}
