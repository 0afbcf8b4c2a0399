/*
 * rules.c: the warning rules' keys and thresholds (see rules.h, docs/WARNINGS.md).
 */
#include "rules.h"

#include "proto/schema.h"

#include <stdio.h>
#include <string.h>

static const char *const keys[RULE_COUNT] = {
    [RULE_UNVISITED] = "unvisited_vulnerable", [RULE_CARE_OVERDUE] = "care_overdue",
    [RULE_DISPUTE_OPEN] = "dispute_open",       [RULE_DISPUTE_REPEATED] = "dispute_repeated",
    [RULE_HAZARD_OPEN] = "hazard_open",         [RULE_DEVICE_SILENT] = "device_silent",
};

void rules_defaults(rules_config *rc)
{
    memset(rc, 0, sizeof(*rc));
    rc->enabled = 1;
    rc->sweep_s = 60;
    rc->unvisited_days_alone = 7;
    rc->unvisited_days = 14;
    rc->care_overdue_hours_urgent = 24;
    rc->care_overdue_hours_normal = 72;
    rc->care_overdue_hours_low = 168;
    rc->dispute_open_days = 15;
    rc->dispute_repeated_count = 3;
    rc->dispute_repeated_days = 30;
    rc->hazard_open_days = 3;
    rc->silent_days = 3;
}

const char *rule_key(rule_id r)
{
    return (unsigned)r < RULE_COUNT ? keys[r] : NULL;
}

rule_id rule_find(const char *key)
{
    for (int r = 0; r < RULE_COUNT; r++)
        if (strcmp(keys[r], key) == 0)
            return (rule_id)r;
    return RULE_COUNT;
}

int rule_on(const rules_config *cfg, rule_id r)
{
    const char *p = cfg->disabled, *k = rule_key(r);
    size_t n = k ? strlen(k) : 0;

    if (!cfg->enabled || !k)
        return 0;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        while (len && (*p == ' ')) {
            p++;
            len--;
        }
        while (len && p[len - 1] == ' ')
            len--;
        if (len == n && memcmp(p, k, n) == 0)
            return 0;
        if (!end)
            break;
        p = end + 1;
    }
    return 1;
}

uint64_t rules_signature(const rules_config *cfg)
{
    char text[256];
    uint64_t h = UINT64_C(14695981039346656037); /* FNV-1a */
    unsigned on = 0;
    int n;

    for (int r = 0; r < RULE_COUNT; r++)
        on |= (unsigned)rule_on(cfg, (rule_id)r) << r;
    n = snprintf(text, sizeof(text), "on=%u alone=%d days=%d care=%d/%d/%d dispute=%d/%d/%d "
                 "hazard=%d silent=%d", on, cfg->unvisited_days_alone, cfg->unvisited_days,
                 cfg->care_overdue_hours_urgent, cfg->care_overdue_hours_normal,
                 cfg->care_overdue_hours_low, cfg->dispute_open_days,
                 cfg->dispute_repeated_count, cfg->dispute_repeated_days, cfg->hazard_open_days,
                 cfg->silent_days);
    for (int i = 0; i < n && i < (int)sizeof(text); i++)
        h = (h ^ (unsigned char)text[i]) * UINT64_C(1099511628211);
    return h ? h : 1; /* 0 means "never recorded" */
}

int rules_check(const rules_config *cfg, gs_err *err)
{
    const char *p = cfg->disabled;

    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char key[64];
        while (len && *p == ' ') {
            p++;
            len--;
        }
        while (len && p[len - 1] == ' ')
            len--;
        snprintf(key, sizeof(key), "%.*s", (int)(len < 63 ? len : 63), p);
        if (len && (len >= 63 || rule_find(key) == RULE_COUNT))
            return gs_err_set(err, GS_E_CONFIG,
                              "rules_disabled: '%s' is not a rule (gridsyncd rules lists them)",
                              key);
        if (!end)
            break;
        p = end + 1;
    }
    return GS_OK;
}

int rules_describe(const rules_config *c, gs_buf *out)
{
    char cond[RULE_COUNT][200];

    snprintf(cond[RULE_UNVISITED], sizeof(cond[0]),
             "a resident tagged lives_alone or special_care not visited for %d days, elderly "
             "or disabled for %d days (unvisited_days_alone, unvisited_days)",
             c->unvisited_days_alone, c->unvisited_days);
    snprintf(cond[RULE_CARE_OVERDUE], sizeof(cond[0]),
             "a care request not done or cancelled %d h after it was requested if urgent, %d h "
             "if normal, %d h if low (care_overdue_hours_*)",
             c->care_overdue_hours_urgent, c->care_overdue_hours_normal,
             c->care_overdue_hours_low);
    snprintf(cond[RULE_DISPUTE_OPEN], sizeof(cond[0]),
             "a dispute visit with follow-up not closed by a later one within %d days "
             "(dispute_open_days)",
             c->dispute_open_days);
    snprintf(cond[RULE_DISPUTE_REPEATED], sizeof(cond[0]),
             "%d or more dispute visits about one resident within %d days "
             "(dispute_repeated_count, dispute_repeated_days)",
             c->dispute_repeated_count, c->dispute_repeated_days);
    snprintf(cond[RULE_HAZARD_OPEN], sizeof(cond[0]),
             "a safety hazard visit with follow-up not closed within %d days (hazard_open_days)",
             c->hazard_open_days);
    snprintf(cond[RULE_DEVICE_SILENT], sizeof(cond[0]),
             "a device of the grid has not synced for %d days (silent_days)", c->silent_days);
    for (int r = 0; r < RULE_COUNT; r++) {
        int rc = buf_addf(out, "%-22s %-3s  %s\n", keys[r], rule_on(c, (rule_id)r) ? "on" : "off",
                          cond[r]);
        if (rc)
            return rc;
    }
    return buf_addf(out, "sweep every %d s (rules_sweep_s)%s\n", c->sweep_s,
                    c->enabled ? "" : "; rules = off: no rule runs");
}

unsigned rules_tag_bit(const char *tag)
{
    const schema_table *t = schema_table_find("resident", strlen("resident"));
    const schema_field *f = t ? schema_field_find(t, "tags", strlen("tags")) : NULL;
    const schema_enum *e = f ? schema_enum_find(f, tag, strlen(tag)) : NULL;

    /* bit 30 and up are the row's own (RULES_INFO_VISITED): tags past them go unwatched */
    return e && e - f->enums < 30 ? 1u << (e - f->enums) : 0;
}

rule_window rules_unvisited_window(unsigned mask)
{
    if (mask & (rules_tag_bit("lives_alone") | rules_tag_bit("special_care")))
        return RULE_WINDOW_SHORT;
    if (mask & (rules_tag_bit("elderly") | rules_tag_bit("disabled")))
        return RULE_WINDOW_LONG;
    return RULE_WINDOW_NONE;
}

int64_t rules_window_ms(const rules_config *cfg, rule_window w)
{
    const int64_t day_ms = INT64_C(86400000);

    return w == RULE_WINDOW_SHORT  ? cfg->unvisited_days_alone * day_ms
           : w == RULE_WINDOW_LONG ? cfg->unvisited_days * day_ms
                                   : 0;
}
