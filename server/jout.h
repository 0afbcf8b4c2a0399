/*
 * jout.h: building JSON replies with jansson for the admin API's modules (admin_api.c,
 * dash.c, admin_warnings.c, admin_records.c), in the forms docs/ADMIN-API.md promises.
 *
 * Invariant: a member is never silently missing. jansson returns NULL when it cannot
 * allocate; jout_set and jout_append then set *bad instead of dropping the member, and the
 * caller answers 500 for a reply with *bad set (admin_api.c reply_json).
 */
#ifndef GS_SERVER_JOUT_H
#define GS_SERVER_JOUT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* o[k] = v, stealing v; sets *bad when v or o is NULL or the set fails. */
void jout_set(int *bad, json_t *o, const char *k, json_t *v);
/* Appends v to a, stealing v; the same for failures. */
void jout_append(int *bad, json_t *a, json_t *v);
/* s as a JSON string ("" for NULL). */
json_t *jout_str(const char *s);
/* An event's time as ISO 8601 UTC (isotime_format, the form of every gridsync time), or
 * null for 0 (never). */
json_t *jout_iso(int64_t ms);
/* A record id as UUID text. */
json_t *jout_uuid(const uint8_t id[16]);
/* {"zh": zh, "en": en}, the labels of the schema. */
json_t *jout_labels(const char *zh, const char *en);
/* n / d as a real, or null when d is 0 (no share of nothing). */
json_t *jout_ratio(int64_t n, int64_t d);
/* A MessagePack document of our own making (proto_encode_schema) as JSON, the same tree: a
 * map is an object (str keys only), an array an array, str a string, int an integer, float a
 * real, bool and nil themselves. NULL when out of memory or for bytes that are not one such
 * object (a non-str key, bin, ext, a uint above 2^63-1, trailing bytes). */
json_t *jout_from_msgpack(const void *bytes, size_t len);

#endif
