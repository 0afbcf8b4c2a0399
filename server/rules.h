/*
 * rules.h: the warning rules (预警, issue 15; docs/WARNINGS.md): their keys, what each
 * watches, and the thresholds gridsyncd.conf may change. warn.h evaluates them.
 */
#ifndef GS_SERVER_RULES_H
#define GS_SERVER_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/rc.h"

typedef enum rule_id {
    RULE_UNVISITED = 0, /* unvisited_vulnerable */
    RULE_CARE_OVERDUE,  /* care_overdue */
    RULE_DISPUTE_OPEN,  /* dispute_open */
    RULE_DISPUTE_REPEATED, /* dispute_repeated */
    RULE_HAZARD_OPEN,   /* hazard_open */
    RULE_DEVICE_SILENT, /* device_silent */
    RULE_COUNT
} rule_id;

/* The thresholds, each a gridsyncd.conf key of the same name (config.c). */
typedef struct rules_config {
    int enabled;                  /* "rules": on (1) or off (0) */
    char disabled[256];           /* "rules_disabled": comma-separated rule keys to skip */
    int sweep_s;                  /* "rules_sweep_s": the time-driven sweep, default 60 */
    int unvisited_days_alone;     /* lives_alone, special_care: 7 */
    int unvisited_days;           /* elderly, disabled: 14 */
    int care_overdue_hours_urgent; /* 24 */
    int care_overdue_hours_normal; /* 72 */
    int care_overdue_hours_low;   /* 168 */
    int dispute_open_days;        /* 15 */
    int dispute_repeated_count;   /* 3 */
    int dispute_repeated_days;    /* 30 */
    int hazard_open_days;         /* 3 */
    int silent_days;              /* device_silent: srv_config's silent_days */
} rules_config;

void rules_defaults(rules_config *rc);
/* The key of a rule ("care_overdue"); NULL out of range. */
const char *rule_key(rule_id r);
/* The rule of a key, or RULE_COUNT. */
rule_id rule_find(const char *key);
/* Whether rule r runs under cfg (rules on and r not in rules_disabled). */
int rule_on(const rules_config *cfg, rule_id r);
/* A hash of what the watch rows' deadlines depend on: the thresholds and which rules run
 * (not the sweep's interval). A store keeps the one its rows were computed with
 * (store_rules_sig_get); another at start means the configuration changed (warn_rederive). */
uint64_t rules_signature(const rules_config *cfg);
/* GS_E_CONFIG when rules_disabled names a rule that does not exist (a typo must not leave
 * a rule on that the admin meant to turn off). */
int rules_check(const rules_config *cfg, gs_err *err);
/* `gridsyncd rules`: each rule, on or off, its condition with this configuration's numbers. */
int rules_describe(const rules_config *cfg, gs_buf *out);

/* Which window of unvisited_vulnerable watches a resident, by the tags it has as a mask
 * (bit i: the i-th value of resident.tags in the schema, as its watch row keeps them):
 * lives_alone or special_care, the short one (unvisited_days_alone), else elderly or
 * disabled, the long one (unvisited_days), else none. The dashboard's coverage counts with
 * these, the rule's own numbers. */
typedef enum rule_window {
    RULE_WINDOW_NONE = 0,  /* not watched */
    RULE_WINDOW_SHORT = 1, /* unvisited_days_alone */
    RULE_WINDOW_LONG = 2,  /* unvisited_days */
} rule_window;
/* In a resident's unvisited_vulnerable row, info holds the tag mask and this bit once a
 * visit is known: its "since" is then the last visit, else the resident's creation. Rows
 * written before the bit have it clear; for them a "since" after the creation is a visit. */
#define RULES_INFO_VISITED (1u << 30)
/* The bit of a resident tag in such a mask; 0 for a name the schema does not know. */
unsigned rules_tag_bit(const char *tag);
rule_window rules_unvisited_window(unsigned tag_mask);
/* The window in ms under cfg; 0 for RULE_WINDOW_NONE. */
int64_t rules_window_ms(const rules_config *cfg, rule_window w);

#endif
