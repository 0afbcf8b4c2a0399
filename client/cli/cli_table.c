/*
 * cli_table.c: how values look to people in the CLI (local times, yes/no). The aligned
 * tables themselves are common/table.c, shared with gridsync-admin.
 */
#include "cli.h"

#include "common/isotime.h"

#include <string.h>

void cli_local_time(int64_t ms, char *buf, size_t cap)
{
    char tmp[ISOTIME_MAX];
    if (isotime_format_local(ms, ISOTIME_LOCAL_OFFSET_MIN, tmp) != GS_OK)
        snprintf(tmp, sizeof(tmp), "%lld", (long long)ms);
    snprintf(buf, cap, "%s", tmp);
}

const char *cli_field_text(gs_record *rec, const schema_field *f, char *buf, size_t cap)
{
    const char *txt;
    int64_t ms;
    int b;

    if (!gs_record_has(rec, f->name))
        return "";
    switch (f->type) {
    case ST_TIME:
        if (gs_record_get_time(rec, f->name, &ms) == GS_OK) {
            cli_local_time(ms, buf, cap);
            return buf;
        }
        break;
    case ST_BOOL:
        if (gs_record_get_bool(rec, f->name, &b) == GS_OK)
            return b ? "yes" : "no";
        break;
    default:
        break;
    }
    txt = gs_record_text(rec, f->name);
    snprintf(buf, cap, "%s", txt ? txt : "");
    return buf;
}
