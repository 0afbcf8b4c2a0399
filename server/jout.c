/*
 * jout.c: see jout.h.
 */
#include "jout.h"

#include "common/isotime.h"
#include "common/rc.h"
#include "common/uuid.h"

void jout_set(int *bad, json_t *o, const char *k, json_t *v)
{
    if (!o)
        json_decref(v);
    if (!v || !o || json_object_set_new(o, k, v) != 0) /* set_new takes v even when failing */
        *bad = 1;
}

void jout_append(int *bad, json_t *a, json_t *v)
{
    if (!a)
        json_decref(v);
    if (!v || !a || json_array_append_new(a, v) != 0)
        *bad = 1;
}

json_t *jout_str(const char *s)
{
    return json_string(s ? s : "");
}

json_t *jout_iso(int64_t ms)
{
    char b[ISOTIME_MAX];

    if (ms <= 0 || isotime_format(ms, b) != GS_OK)
        return json_null();
    return json_string(b);
}

json_t *jout_uuid(const uint8_t id[16])
{
    char text[UUID_TEXT_LEN + 1];

    uuid_format(id, text);
    return json_string(text);
}

json_t *jout_labels(const char *zh, const char *en)
{
    return json_pack("{s:s, s:s}", "zh", zh ? zh : "", "en", en ? en : "");
}

json_t *jout_ratio(int64_t n, int64_t d)
{
    return d ? json_real((double)n / (double)d) : json_null();
}
