/*
 * isotime.h: ISO 8601 timestamps <-> milliseconds since 1970-01-01T00:00:00Z.
 *
 * Accepted input (what a grid worker types and what registers being imported contain):
 *   2026-11-27T09:30:00Z           UTC
 *   2026-11-27T09:30:00+08:00      an explicit offset (also +0800, +08, -05:00)
 *   2026-11-27T09:30:00.250Z       fractional seconds, any number of digits (truncated to ms)
 *   2026-11-27T09:30               seconds may be left out; 't' or ' ' may replace 'T'
 *   2026-11-27T09:30:00            no offset: local time of the deployment (see below)
 *   2026-11-27                     a date alone: local midnight of the deployment
 * The deployment's zone is Asia/Shanghai, UTC+8 all year (China has had no daylight saving
 * time since 1991), so "no offset" always means +08:00 (ISOTIME_LOCAL_OFFSET_MIN).
 * Years 0001..9999. Leap seconds (:60) and 24:00 are refused. Nothing else is accepted: no
 * week dates, ordinal dates or basic (dash-free) forms.
 *
 * Output is always UTC with a 'Z', with ".mmm" only when the milliseconds are not zero, so
 * whole-second times print as people expect ("2026-11-27T01:30:00Z"). The civil-date
 * arithmetic is Howard Hinnant's days_from_civil: no libc time zone state is touched, so
 * these functions are thread-safe and independent of $TZ.
 */
#ifndef GS_COMMON_ISOTIME_H
#define GS_COMMON_ISOTIME_H

#include <stddef.h>
#include <stdint.h>

/* Asia/Shanghai: the offset assumed when an input carries none. */
#define ISOTIME_LOCAL_OFFSET_MIN 480

/* Room for any output of the formatters, NUL included. */
#define ISOTIME_MAX 40

/* Parses s[0..len); GS_E_INVALID (and *ms_out untouched) for anything not listed above. */
int isotime_parse(const char *s, size_t len, int64_t *ms_out);

/* "2026-11-27T01:30:00Z" or "2026-11-27T01:30:00.250Z". GS_E_INVALID when ms is outside
 * years 0001..9999 (out then holds ""). */
int isotime_format(int64_t ms, char out[ISOTIME_MAX]);

/* For people: local time at offset_min east of UTC, to the minute, without a zone suffix:
 * "2026-11-27 09:30". GS_E_INVALID outside years 0001..9999. */
int isotime_format_local(int64_t ms, int offset_min, char out[ISOTIME_MAX]);

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1..12, day 1..31). */
int64_t isotime_days_from_civil(int64_t year, unsigned month, unsigned day);

/* The inverse: the date of day number days (since 1970-01-01). */
void isotime_civil_from_days(int64_t days, int64_t *year, unsigned *month, unsigned *day);

/* The day number (days since 1970-01-01) of the local date of instant ms at offset_min
 * east of UTC: with ISOTIME_LOCAL_OFFSET_MIN, a grid's day, as the server counts visits per
 * day (floored, so also right before 1970). */
int64_t isotime_local_day(int64_t ms, int offset_min);

/* The instant (ms since 1970) local midnight starts day number day at offset_min. */
int64_t isotime_local_midnight(int64_t day, int offset_min);

#endif
