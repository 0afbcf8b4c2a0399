/*
 * isotime.c: see isotime.h. A hand-written scanner over an explicit length (inputs are
 * slices of command lines and JSON strings, not always NUL-terminated); every component is
 * range-checked before any arithmetic so no overflow is possible.
 */
#include "isotime.h"

#include "rc.h"

#include <stdio.h>

#define MS_PER_DAY INT64_C(86400000)
/* 0001-01-01T00:00:00Z and 10000-01-01T00:00:00Z in ms */
#define MS_MIN (INT64_C(-719162) * MS_PER_DAY)
#define MS_END (INT64_C(2932897) * MS_PER_DAY)

int64_t isotime_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (int64_t)(m > 2 ? m - 3 : m + 9) + 2) / 5 + (int64_t)d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void isotime_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t era, doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int64_t y, unsigned m)
{
    static const unsigned dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* Reads exactly n decimal digits at *pos; -1 if they are not all there. */
static long digits(const char *s, size_t len, size_t *pos, unsigned n)
{
    long v = 0;

    if (len - *pos < n)
        return -1;
    for (unsigned i = 0; i < n; i++) {
        char c = s[*pos + i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    *pos += n;
    return v;
}

static int at(const char *s, size_t len, size_t pos, char c)
{
    return pos < len && s[pos] == c;
}

int isotime_parse(const char *s, size_t len, int64_t *ms_out)
{
    size_t pos = 0;
    long year, month, day, hour = 0, minute = 0, second = 0, millis = 0;
    long offset_min = ISOTIME_LOCAL_OFFSET_MIN;
    int64_t ms;

    if (!s)
        return GS_E_INVALID;
    year = digits(s, len, &pos, 4);
    if (year < 1 || !at(s, len, pos++, '-'))
        return GS_E_INVALID;
    month = digits(s, len, &pos, 2);
    if (month < 1 || month > 12 || !at(s, len, pos++, '-'))
        return GS_E_INVALID;
    day = digits(s, len, &pos, 2);
    if (day < 1 || (unsigned long)day > days_in_month(year, (unsigned)month))
        return GS_E_INVALID;
    if (pos < len) {
        if (s[pos] != 'T' && s[pos] != 't' && s[pos] != ' ')
            return GS_E_INVALID;
        pos++;
        hour = digits(s, len, &pos, 2);
        if (hour < 0 || hour > 23 || !at(s, len, pos++, ':'))
            return GS_E_INVALID;
        minute = digits(s, len, &pos, 2);
        if (minute < 0 || minute > 59)
            return GS_E_INVALID;
        if (at(s, len, pos, ':')) {
            pos++;
            second = digits(s, len, &pos, 2);
            if (second < 0 || second > 59)
                return GS_E_INVALID;
            if (at(s, len, pos, '.') || at(s, len, pos, ',')) {
                unsigned n = 0;
                pos++;
                while (pos < len && s[pos] >= '0' && s[pos] <= '9') {
                    if (n < 3)
                        millis = millis * 10 + (s[pos] - '0');
                    n++;
                    pos++;
                }
                if (n == 0)
                    return GS_E_INVALID;
                for (; n < 3; n++)
                    millis *= 10;
            }
        }
        if (at(s, len, pos, 'Z') || at(s, len, pos, 'z')) {
            offset_min = 0;
            pos++;
        } else if (at(s, len, pos, '+') || at(s, len, pos, '-')) {
            int sign = s[pos] == '-' ? -1 : 1;
            long oh, om = 0;
            pos++;
            oh = digits(s, len, &pos, 2);
            if (oh < 0 || oh > 18)
                return GS_E_INVALID;
            if (at(s, len, pos, ':') && ++pos == len)
                return GS_E_INVALID; /* "+08:" with nothing after the colon */
            if (pos < len) {
                om = digits(s, len, &pos, 2);
                if (om < 0 || om > 59)
                    return GS_E_INVALID;
            }
            offset_min = sign * (oh * 60 + om);
        }
        if (pos != len)
            return GS_E_INVALID;
    }
    ms = isotime_days_from_civil(year, (unsigned)month, (unsigned)day) * MS_PER_DAY +
         ((int64_t)hour * 3600 + minute * 60 + second) * 1000 + millis -
         (int64_t)offset_min * 60000;
    *ms_out = ms;
    return GS_OK;
}

static int split(int64_t ms, int64_t *y, unsigned *mo, unsigned *d, unsigned *h, unsigned *mi,
                 unsigned *sec, unsigned *milli)
{
    int64_t days, rem;

    if (ms < MS_MIN || ms >= MS_END)
        return GS_E_INVALID;
    days = ms / MS_PER_DAY;
    rem = ms % MS_PER_DAY;
    if (rem < 0) {
        rem += MS_PER_DAY;
        days--;
    }
    isotime_civil_from_days(days, y, mo, d);
    *h = (unsigned)(rem / 3600000);
    *mi = (unsigned)(rem / 60000 % 60);
    *sec = (unsigned)(rem / 1000 % 60);
    *milli = (unsigned)(rem % 1000);
    return GS_OK;
}

int isotime_format(int64_t ms, char out[ISOTIME_MAX])
{
    int64_t y;
    unsigned mo, d, h, mi, sec, milli;

    out[0] = '\0';
    if (split(ms, &y, &mo, &d, &h, &mi, &sec, &milli))
        return GS_E_INVALID;
    if (milli)
        snprintf(out, ISOTIME_MAX, "%04d-%02u-%02uT%02u:%02u:%02u.%03uZ", (int)y, mo, d, h, mi,
                 sec, milli);
    else
        snprintf(out, ISOTIME_MAX, "%04d-%02u-%02uT%02u:%02u:%02uZ", (int)y, mo, d, h, mi, sec);
    return GS_OK;
}

int isotime_format_local(int64_t ms, int offset_min, char out[ISOTIME_MAX])
{
    int64_t y;
    unsigned mo, d, h, mi, sec, milli;

    out[0] = '\0';
    if (ms > INT64_MAX / 2 || ms < INT64_MIN / 2)
        return GS_E_INVALID;
    if (split(ms + (int64_t)offset_min * 60000, &y, &mo, &d, &h, &mi, &sec, &milli))
        return GS_E_INVALID;
    snprintf(out, ISOTIME_MAX, "%04d-%02u-%02u %02u:%02u", (int)y, mo, d, h, mi);
    return GS_OK;
}

int64_t isotime_local_day(int64_t ms, int offset_min)
{
    int64_t local = ms + (int64_t)offset_min * 60000;
    return local >= 0 ? local / MS_PER_DAY : (local - MS_PER_DAY + 1) / MS_PER_DAY;
}

int64_t isotime_local_midnight(int64_t day, int offset_min)
{
    return day * MS_PER_DAY - (int64_t)offset_min * 60000;
}
