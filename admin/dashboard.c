/*
 * dashboard.c: see dashboard.h. The figures are the server's (GET /v1/admin/dashboard);
 * this file only lays them out: one table per figure, its labels from the schema (the
 * tags, priorities, levels and rules by their Chinese names) so that no label is written
 * twice, and the dates as the server gives them (Beijing days).
 */
#define _POSIX_C_SOURCE 200809L
#include "dashboard.h"

#include "common/cmdline.h"
#include "common/isotime.h"
#include "proto/schema.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CELL 24

static const schema_field *field_of(const char *tbl, const char *field)
{
    const schema_table *t = schema_table_find(tbl, strlen(tbl));
    return t ? schema_field_find(t, field, strlen(field)) : NULL;
}

/* The Chinese label of enum value name of tbl.field, or the name itself. */
static const char *label_of(const char *tbl, const char *field, const char *name)
{
    const schema_field *f = field_of(tbl, field);
    const schema_enum *e = f && name ? schema_enum_find(f, name, strlen(name)) : NULL;
    return e ? e->label_zh : name ? name : "";
}

static const char *num(json_t *o, const char *key, char *buf, size_t cap)
{
    snprintf(buf, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(json_object_get(o, key)));
    return buf;
}

void dashboard_percent(json_t *ratio, char *out, size_t cap)
{
    if (json_is_number(ratio))
        snprintf(out, cap, "%.1f%%", json_number_value(ratio) * 100.0);
    else
        snprintf(out, cap, "-");
}

/* A table of n_cols with the header given; NULL (and the failure reported) when out of
 * memory. */
static table *new_table(admin *a, size_t n_cols, const char *const *head)
{
    table *t = NULL;
    if (table_new(&t, n_cols) || table_add(t, head)) {
        table_free(t);
        admin_fail(a, GS_E_NOMEM);
        return NULL;
    }
    return t;
}

/* ---- dashboard ---------------------------------------------------------------------- */

static void print_header(json_t *d)
{
    const char *grid = json_string_value(json_object_get(d, "grid"));
    char from[ISOTIME_MAX], to[ISOTIME_MAX], now[ISOTIME_MAX];

    admin_time(d, "from_ms", from, sizeof(from));
    admin_time(d, "to_ms", to, sizeof(to));
    admin_time(d, "now_ms", now, sizeof(now));
    printf("概览  %s%s  %s 至 %s（北京时间）  数据截至 %s\n\n", grid ? "网格 " : "全镇",
           grid ? grid : "", from, to, now);
}

static int print_coverage(admin *a, json_t *d)
{
    json_t *c = json_object_get(d, "coverage"), *rules = json_object_get(d, "rules");
    char pct[16], n[4][24];
    (void)a;

    dashboard_percent(json_object_get(c, "ratio"), pct, sizeof(pct));
    printf("重点人员走访覆盖率  %s / %s  %s（独居、特殊关爱 %s 天内，高龄、残疾 %s 天内走访）\n\n",
           num(c, "visited", n[0], sizeof(n[0])), num(c, "vulnerable", n[1], sizeof(n[1])), pct,
           num(rules, "unvisited_days_alone", n[2], sizeof(n[2])),
           num(rules, "unvisited_days", n[3], sizeof(n[3])));
    return 0;
}

static int print_tags(admin *a, json_t *d)
{
    static const char *const head[] = {"标签", "人数"};
    json_t *by = json_object_get(json_object_get(d, "residents"), "by_tag"), *n;
    const char *tag;
    table *t = new_table(a, 2, head);

    if (!t)
        return GS_EXIT_FAIL;
    printf("居民标签\n");
    json_object_foreach(by, tag, n)
    {
        char cnt[24];
        snprintf(cnt, sizeof(cnt), "%" JSON_INTEGER_FORMAT, json_integer_value(n));
        table_add(t, (const char *const[]){label_of("resident", "tags", tag), cnt});
    }
    admin_print_table(t);
    printf("\n");
    return 0;
}

static int print_visits(admin *a, json_t *d)
{
    static const char *const head[] = {"日期", "走访"};
    json_t *v = json_object_get(d, "visits"), *e;
    table *t = new_table(a, 2, head);
    char n[24];
    size_t i;

    if (!t)
        return GS_EXIT_FAIL;
    printf("每日走访  共 %s 次\n", num(v, "total", n, sizeof(n)));
    json_array_foreach(json_object_get(v, "by_day"), i, e)
        table_add(t, (const char *const[]){admin_str(e, "day"), num(e, "n", n, sizeof(n))});
    admin_print_table(t);
    printf("\n");
    return 0;
}

static int print_care(admin *a, json_t *d)
{
    static const char *const head[] = {"优先级", "合计", "<1天", "1-3天", "3-7天", ">7天"};
    static const char *const ages[] = {"total", "lt_1d", "d1_3", "d3_7", "gt_7d"};
    json_t *c = json_object_get(d, "care_open"), *by = json_object_get(c, "by_priority"), *e;
    const schema_field *f = field_of("care", "priority");
    table *t = new_table(a, 6, head);
    char cells[6][24];

    if (!t)
        return GS_EXIT_FAIL;
    printf("待办服务需求  共 %s 件\n", num(c, "total", cells[0], sizeof(cells[0])));
    /* the most urgent first (the schema declares them mildest first), then the sums */
    for (size_t k = f ? f->n_enums + 1 : 1; k-- > 0;) {
        const char *prio = k > 0 ? f->enums[k - 1].name : NULL;
        e = prio ? json_object_get(by, prio) : json_object_get(c, "by_age");
        snprintf(cells[0], sizeof(cells[0]), "%s",
                 prio ? label_of("care", "priority", prio) : "合计");
        for (int i = 0; i < 5; i++)
            num(e, ages[i], cells[i + 1], sizeof(cells[i + 1]));
        table_add(
            t, (const char *const[]){cells[0], cells[1], cells[2], cells[3], cells[4], cells[5]});
    }
    admin_print_table(t);
    printf("\n");
    return 0;
}

static int print_disputes(admin *a, json_t *d)
{
    static const char *const head[] = {"月份", "纠纷", "已化解", "化解率"};
    json_t *c = json_object_get(d, "disputes"), *e;
    table *t = new_table(a, 4, head);
    char n1[24], n2[24], pct[16];
    size_t i;

    if (!t)
        return GS_EXIT_FAIL;
    dashboard_percent(json_object_get(c, "ratio"), pct, sizeof(pct));
    printf("矛盾纠纷  共 %s 起，已化解 %s 起，化解率 %s\n", num(c, "total", n1, sizeof(n1)),
           num(c, "closed", n2, sizeof(n2)), pct);
    json_array_foreach(json_object_get(c, "by_month"), i, e)
    {
        dashboard_percent(json_object_get(e, "ratio"), pct, sizeof(pct));
        table_add(t, (const char *const[]){admin_str(e, "month"), num(e, "total", n1, sizeof(n1)),
                                           num(e, "closed", n2, sizeof(n2)), pct});
    }
    admin_print_table(t);
    printf("\n");
    return 0;
}

static int print_warnings(admin *a, json_t *d)
{
    static const char *const head[] = {"规则", "提示", "关注", "紧急", "合计"};
    json_t *w = json_object_get(d, "warnings_open"), *e;
    table *t = new_table(a, 5, head);
    const char *rule;
    char c[4][24];

    if (!t)
        return GS_EXIT_FAIL;
    printf("未解除预警  共 %s 条\n", num(w, "total", c[0], sizeof(c[0])));
    json_object_foreach(json_object_get(w, "by_rule"), rule, e)
    {
        num(e, "notice", c[0], sizeof(c[0]));
        num(e, "attention", c[1], sizeof(c[1]));
        num(e, "urgent", c[2], sizeof(c[2]));
        num(e, "total", c[3], sizeof(c[3]));
        table_add(t,
                  (const char *const[]){label_of("warning", "rule", rule), c[0], c[1], c[2], c[3]});
    }
    admin_print_table(t);
    printf("\n");
    return 0;
}

static int print_silent(admin *a, json_t *d)
{
    static const char *const head[] = {"设备", "名称", "网格", "最后同步"};
    json_t *s = json_object_get(d, "devices_silent"), *e;
    table *t = new_table(a, 4, head);
    char days[24], n[24];
    size_t i;

    if (!t)
        return GS_EXIT_FAIL;
    printf("未同步设备（超过 %s 天）  共 %s 台\n",
           num(json_object_get(d, "rules"), "silent_days", days, sizeof(days)),
           num(s, "total", n, sizeof(n)));
    json_array_foreach(json_object_get(s, "devices"), i, e)
    {
        char grids[512] = "", when[ISOTIME_MAX];
        size_t k, len = 0;
        json_t *g;
        json_array_foreach(json_object_get(e, "grids"), k, g)
        {
            len += (size_t)snprintf(grids + len, len < sizeof(grids) ? sizeof(grids) - len : 0,
                                    "%s%s", k ? "," : "", json_string_value(g));
            if (len >= sizeof(grids))
                break;
        }
        table_add(t, (const char *const[]){admin_str(e, "id"), admin_str(e, "name"), grids,
                                           admin_time(e, "last_sync_ms", when, sizeof(when))});
    }
    admin_print_table(t);
    printf("\n");
    return 0;
}

static int print_grids(admin *a, json_t *d)
{
    static const char *const head[] = {"镇",     "网格",     "重点人员", "已走访",
                                       "覆盖率", "走访",     "待办需求", "纠纷",
                                       "化解率", "预警",     "未同步设备"};
    static const char *const keys[] = {"vulnerable", "visited",       NULL,
                                       "visits",     "care_open",     "disputes",
                                       NULL,         "warnings_open", "devices_silent"};
    table *t = new_table(a, 11, head); /* by town, then grid, as the server sorts them */
    json_t *g;
    size_t i;

    if (!t)
        return GS_EXIT_FAIL;
    printf("各网格\n");
    json_array_foreach(json_object_get(d, "grids"), i, g)
    {
        char c[9][24];
        for (int k = 0; k < 9; k++)
            if (keys[k])
                num(g, keys[k], c[k], sizeof(c[k]));
        dashboard_percent(json_object_get(g, "coverage"), c[2], sizeof(c[2]));
        dashboard_percent(json_object_get(g, "dispute_ratio"), c[6], sizeof(c[6]));
        table_add(t, (const char *const[]){*admin_str(g, "town") ? admin_str(g, "town") : "-",
                                           admin_str(g, "grid"), c[0], c[1], c[2], c[3], c[4],
                                           c[5], c[6], c[7], c[8]});
    }
    admin_print_table(t);
    return 0;
}

static int print_dashboard(admin *a, json_t *d)
{
    int (*const parts[])(admin *, json_t *) = {print_coverage, print_tags,     print_visits,
                                               print_care,     print_disputes, print_warnings,
                                               print_silent,   print_grids};
    print_header(d);
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        int code = parts[i](a, d);
        if (code)
            return code;
    }
    return 0;
}

/* A whole number of 1..max from text, or -1. */
static long whole(const char *text, long max)
{
    char *end;
    long n = strtol(text, &end, 10);
    return *text && !*end && n >= 1 && n <= max ? n : -1;
}

int dashboard_cmd(admin *a, int argc, char **argv)
{
    char path[512], q[400] = "", n[24];
    const char *grid = NULL;
    long days = 0;
    json_t *res = NULL;
    int rc, code;

    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--grid") == 0 && i + 1 < argc)
            grid = argv[++i];
        else if (strcmp(argv[i], "--days") == 0 && i + 1 < argc) {
            days = whole(argv[++i], DASHBOARD_DAYS_MAX);
            if (days < 0)
                return admin_usage_error(a, "dashboard: --days takes 1 to %d, not '%s'",
                                         DASHBOARD_DAYS_MAX, argv[i]);
        } else
            return admin_usage_error(a, "dashboard: unexpected '%s'", argv[i]);
    }
    if (grid)
        admin_query_add(q, sizeof(q), "grid", grid);
    if (days) { /* the server's last `days` days, by its clock */
        snprintf(n, sizeof(n), "%ld", days);
        admin_query_add(q, sizeof(q), "days", n);
    }
    snprintf(path, sizeof(path), "/dashboard%s", q);
    rc = admin_call(a, "GET", path, NULL, &res);
    if (rc)
        return admin_fail(a, rc);
    if (a->json) {
        admin_print_json(res);
        code = 0;
    } else {
        code = print_dashboard(a, res);
    }
    json_decref(res);
    return code;
}

/* ---- warnings ----------------------------------------------------------------------- */

static void add_warning_row(table *t, json_t *w)
{
    char when[ISOTIME_MAX] = "-", title[CELL * 8];
    const char *since = json_string_value(json_object_get(w, "since"));
    int64_t ms;

    if (since && isotime_parse(since, strlen(since), &ms) == GS_OK)
        isotime_format_local(ms, ISOTIME_LOCAL_OFFSET_MIN, when);
    snprintf(title, sizeof(title), "%s", admin_str(w, "title"));
    table_add(t, (const char *const[]){
                     admin_str(w, "id"), label_of("warning", "level", admin_str(w, "level")),
                     label_of("warning", "rule", admin_str(w, "rule")), admin_str(w, "grid"), title,
                     when, label_of("warning", "state", admin_str(w, "state"))});
}

/* Every page of the list into *all (a JSON array). */
static int fetch_warnings(admin *a, const char *q, json_t *all)
{
    char path[800], after[64] = "";
    int rc = GS_OK;

    for (;;) {
        json_t *res = NULL, *w;
        const char *next;
        size_t i;
        snprintf(path, sizeof(path), "/warnings%s&limit=1000%s%s", q, after[0] ? "&after=" : "",
                 after);
        rc = admin_call(a, "GET", path, NULL, &res);
        if (rc)
            return rc;
        json_array_foreach(json_object_get(res, "warnings"), i, w) json_array_append(all, w);
        next = json_string_value(json_object_get(res, "next_after"));
        if (next)
            snprintf(after, sizeof(after), "%s", next);
        json_decref(res);
        if (!next)
            return GS_OK;
    }
}

int dashboard_warnings_cmd(admin *a, int argc, char **argv)
{
    static const char *const head[] = {"编号", "级别", "规则", "网格", "标题", "开始时间", "状态"};
    char q[400] = "";
    const char *grid = NULL;
    int all = 0, rc;
    json_t *list = json_array(), *w;
    table *t;
    size_t i;

    for (int k = 0; k < argc; k++) {
        if (strcmp(argv[k], "--all") == 0)
            all = 1;
        else if (strcmp(argv[k], "--grid") == 0 && k + 1 < argc)
            grid = argv[++k];
        else {
            json_decref(list);
            return admin_usage_error(a, "warnings: unexpected '%s'", argv[k]);
        }
    }
    admin_query_add(q, sizeof(q), "state", all ? "all" : "open,acknowledged");
    if (grid)
        admin_query_add(q, sizeof(q), "grid", grid);
    rc = list ? fetch_warnings(a, q, list) : gs_err_set(&a->err, GS_E_NOMEM, "out of memory");
    if (rc) {
        json_decref(list);
        return admin_fail(a, rc);
    }
    if (a->json) {
        json_t *o = json_pack("{s:O}", "warnings", list);
        admin_print_json(o);
        json_decref(o);
        json_decref(list);
        return 0;
    }
    if (json_array_size(list) == 0) {
        printf("没有%s预警\n", all ? "" : "未解除的");
        json_decref(list);
        return 0;
    }
    t = new_table(a, 7, head);
    if (!t) {
        json_decref(list);
        return GS_EXIT_FAIL;
    }
    json_array_foreach(list, i, w) add_warning_row(t, w);
    json_decref(list);
    table_print(t, stdout, CELL * 2);
    table_free(t);
    return 0;
}

int dashboard_ack_cmd(admin *a, int argc, char **argv)
{
    const char *id = NULL, *note = NULL;
    char path[256];
    json_t *body, *res = NULL;
    int rc;

    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--note") == 0 && i + 1 < argc) {
            if (note)
                return admin_usage_error(a, "warning ack: --note given twice");
            note = argv[++i];
        } else if (argv[i][0] != '-' && !id)
            id = argv[i];
        else
            return admin_usage_error(a, "warning ack: unexpected '%s'", argv[i]);
    }
    if (!id)
        return admin_usage_error(a, "warning ack: give the warning's ID (gridsync-admin warnings)");
    if (strlen(id) > 64 || strspn(id, "0123456789abcdefABCDEF-") != strlen(id))
        return admin_usage_error(a, "warning ack: '%s' is not a warning ID", id);
    body = note ? json_pack("{s:s}", "note", note) : json_object();
    if (!body)
        return admin_usage_error(a, "warning ack: the note must be UTF-8 text");
    snprintf(path, sizeof(path), "/warnings/%s/ack", id);
    rc = admin_call(a, "POST", path, body, &res);
    json_decref(body);
    if (rc)
        return admin_fail(a, rc);
    if (a->json)
        admin_print_json(res);
    else
        printf("预警 %s 已确认（%s）；网格的设备在下次同步时收到\n", id, admin_str(res, "title"));
    json_decref(res);
    return 0;
}
