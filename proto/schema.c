/*
 * schema.c: the declarations of every record type, and the value checks that the client
 * (before writing) and the server (before merging) both apply.
 *
 * To add a record type: declare its enums and fields, add one schema_table row. Field and
 * enum names are wire names and must never be renamed or reused.
 */
#include "schema.h"

#include "proto.h"
#include "common/utf8.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const schema_enum resident_tags[] = {
    {"lives_alone", "独居", "Lives alone", 0},
    {"elderly", "高龄", "Elderly (80+)", 0},
    {"disabled", "残疾", "Disabled", 0},
    {"low_income", "低收入", "Low income", 0},
    {"chronic_illness", "慢性病", "Chronic illness", 0},
    {"veteran", "退役军人", "Veteran", 0},
    {"left_behind_child", "留守儿童", "Left-behind child", 0},
    {"special_care", "特殊关爱", "Special care", 0},
};

static const schema_enum visit_kinds[] = {
    {"routine", "常规走访", "Routine visit", 0},
    {"elderly_checkin", "独居老人探访", "Elderly check-in", 0},
    {"dispute", "矛盾纠纷", "Dispute", 0},
    {"safety_hazard", "安全隐患", "Safety hazard", 0},
    {"policy_outreach", "政策宣传", "Policy outreach", 0},
    {"service", "便民服务", "Service", 0},
};

static const schema_enum care_categories[] = {
    {"meal", "助餐", "Meal", 0},
    {"health_check", "健康检查", "Health check", 0},
    {"utility_payment", "代缴水电费", "Utility payment", 0},
    {"home_repair", "居家维修", "Home repair", 0},
    {"companionship", "陪伴", "Companionship", 0},
    {"transport", "出行协助", "Transport", 0},
    {"other", "其他", "Other", 0},
};

static const schema_enum care_priorities[] = {
    {"low", "低", "Low", 0},
    {"normal", "普通", "Normal", 0},
    {"urgent", "紧急", "Urgent", 0},
};

static const schema_enum care_statuses[] = {
    {"open", "待处理", "Open", SEF_REOPEN},
    {"assigned", "已分派", "Assigned", 0},
    {"in_progress", "处理中", "In progress", 0},
    {"done", "已完成", "Done", SEF_TERMINAL},
    {"cancelled", "已取消", "Cancelled", SEF_TERMINAL},
};

/* 2000-01-01 and 2100-01-01 in ms: the range of any timestamp a grid worker records. */
#define T_MIN 946684800000.0
#define T_MAX 4102444800000.0

/* name, type, flags, policy, max_len, min, max, enums, n_enums, ref_table, def, cli_flag,
 * label_zh, label_en */
#define GRID_FIELD                                                                           \
    {"grid", ST_TEXT, SF_REQUIRED | SF_SCOPE | SF_FROM_DEVICE, SP_LWW, 64, 0, 0, NULL, 0,   \
     NULL, NULL, "grid", "网格", "Grid"}

static const schema_field resident_fields[] = {
    {"name", ST_TEXT, SF_REQUIRED, SP_LWW, 200, 0, 0, NULL, 0, NULL, NULL, "name", "姓名",
     "Name"},
    {"address", ST_TEXT, 0, SP_LWW, 400, 0, 0, NULL, 0, NULL, NULL, "address", "住址",
     "Address"},
    {"phone", ST_TEXT, 0, SP_LWW, 40, 0, 0, NULL, 0, NULL, NULL, "phone", "电话", "Phone"},
    {"born", ST_INT, 0, SP_LWW, 0, 1900, 2100, NULL, 0, NULL, NULL, "born", "出生年份",
     "Birth year"},
    GRID_FIELD,
    {"tags", ST_TAGS, 0, SP_LWW, 16, 0, 0, resident_tags, N(resident_tags), NULL, NULL, "tag",
     "标签", "Tags"},
};

static const schema_field visit_fields[] = {
    {"resident", ST_REF, SF_REQUIRED, SP_LWW, 0, 0, 0, NULL, 0, "resident", NULL, "resident",
     "居民", "Resident"},
    GRID_FIELD,
    {"worker", ST_TEXT, SF_REQUIRED | SF_FROM_DEVICE, SP_LWW, 64, 0, 0, NULL, 0, NULL, NULL,
     "worker", "网格员", "Worker"},
    {"visited_at", ST_TIME, SF_REQUIRED | SF_DEFAULT_NOW, SP_LWW, 0, T_MIN, T_MAX, NULL, 0,
     NULL, NULL, "at", "走访时间", "Visited at"},
    {"kind", ST_ENUM, SF_REQUIRED, SP_LWW, 0, 0, 0, visit_kinds, N(visit_kinds), NULL, NULL,
     "kind", "走访类型", "Kind"},
    {"notes", ST_TEXT, 0, SP_LWW, SCHEMA_TEXT_MAX, 0, 0, NULL, 0, NULL, NULL, "notes",
     "走访记录", "Notes"},
    {"follow_up", ST_BOOL, 0, SP_LWW, 0, 0, 0, NULL, 0, NULL, NULL, "follow-up", "需要跟进",
     "Follow-up"},
    {"lat", ST_REAL, 0, SP_LWW, 0, -90, 90, NULL, 0, NULL, NULL, "lat", "纬度", "Latitude"},
    {"lon", ST_REAL, 0, SP_LWW, 0, -180, 180, NULL, 0, NULL, NULL, "lon", "经度",
     "Longitude"},
};

static const schema_field care_fields[] = {
    {"resident", ST_REF, SF_REQUIRED | SF_IMMUTABLE, SP_LWW, 0, 0, 0, NULL, 0, "resident",
     NULL, "resident", "居民", "Resident"},
    GRID_FIELD,
    {"category", ST_ENUM, SF_REQUIRED, SP_LWW, 0, 0, 0, care_categories, N(care_categories),
     NULL, NULL, "category", "服务类别", "Category"},
    {"priority", ST_ENUM, SF_REQUIRED, SP_LWW, 0, 0, 0, care_priorities, N(care_priorities),
     NULL, "normal", "priority", "优先级", "Priority"},
    {"status", ST_ENUM, SF_REQUIRED, SP_STATUS, 0, 0, 0, care_statuses, N(care_statuses), NULL,
     "open", "status", "状态", "Status"},
    {"assignee", ST_TEXT, 0, SP_LWW, 64, 0, 0, NULL, 0, NULL, NULL, "assignee", "负责人",
     "Assignee"},
    {"requested_at", ST_TIME, SF_REQUIRED | SF_DEFAULT_NOW, SP_LWW, 0, T_MIN, T_MAX, NULL, 0,
     NULL, NULL, "at", "提出时间", "Requested at"},
    {"due_at", ST_TIME, 0, SP_LWW, 0, T_MIN, T_MAX, NULL, 0, NULL, NULL, "due", "截止时间",
     "Due at"},
    {"notes", ST_TEXT, 0, SP_LWW, SCHEMA_TEXT_MAX, 0, 0, NULL, 0, NULL, NULL, "notes", "备注",
     "Notes"},
    {"resolution", ST_TEXT, 0, SP_LWW, SCHEMA_TEXT_MAX, 0, 0, NULL, 0, NULL, NULL,
     "resolution", "处理结果", "Resolution"},
};

const schema_table schema_tables[] = {
    {"resident", "resident", "residents", "居民", "Resident", resident_fields,
     N(resident_fields)},
    {"visit", "visit", "visits", "走访", "Visit", visit_fields, N(visit_fields)},
    {"care", "care", "care", "养老服务需求", "Care request", care_fields, N(care_fields)},
};

const size_t schema_n_tables = N(schema_tables);

/* The tombstone, shared by every table; not listed in the tables' fields. */
static const schema_field deleted_field = {
    SCHEMA_DELETED_FIELD, ST_BOOL, 0, SP_DELETE, 0, 0, 0, NULL, 0, NULL, NULL, NULL, "已删除",
    "Deleted"};

static int name_eq(const char *a, const char *b, size_t blen)
{
    return strlen(a) == blen && memcmp(a, b, blen) == 0;
}

const schema_table *schema_table_find(const char *name, size_t len)
{
    for (size_t i = 0; i < schema_n_tables; i++)
        if (name_eq(schema_tables[i].name, name, len))
            return &schema_tables[i];
    return NULL;
}

const schema_table *schema_table_by_cli(const char *cli)
{
    for (size_t i = 0; i < schema_n_tables; i++)
        if (strcmp(schema_tables[i].cli_name, cli) == 0 ||
            strcmp(schema_tables[i].cli_plural, cli) == 0)
            return &schema_tables[i];
    return NULL;
}

const schema_field *schema_field_find(const schema_table *t, const char *name, size_t len)
{
    if (name_eq(SCHEMA_DELETED_FIELD, name, len))
        return &deleted_field;
    for (size_t i = 0; i < t->n_fields; i++)
        if (name_eq(t->fields[i].name, name, len))
            return &t->fields[i];
    return NULL;
}

size_t schema_field_index(const schema_table *t, const schema_field *f)
{
    return (size_t)(f - t->fields);
}

const schema_field *schema_scope_field(const schema_table *t)
{
    for (size_t i = 0; i < t->n_fields; i++)
        if (t->fields[i].flags & SF_SCOPE)
            return &t->fields[i];
    return NULL;
}

const schema_enum *schema_enum_find(const schema_field *f, const char *name, size_t len)
{
    for (size_t i = 0; i < f->n_enums; i++)
        if (name_eq(f->enums[i].name, name, len))
            return &f->enums[i];
    return NULL;
}

static int bad_enum(const schema_table *t, const schema_field *f, proto_str s, gs_err *err)
{
    char list[256];
    size_t n = 0;

    list[0] = '\0';
    for (size_t i = 0; i < f->n_enums && n < sizeof(list); i++)
        n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s", i ? ", " : "",
                              f->enums[i].name);
    return gs_err_set(err, GS_E_INVALID, "%s.%s: '%.*s' is not one of %s", t->name, f->name,
                      (int)(s.len > 64 ? 64 : s.len), s.ptr ? s.ptr : "", list);
}

static int check_text(const schema_table *t, const schema_field *f, proto_str s, uint32_t max,
                      gs_err *err)
{
    if (s.len > max)
        return gs_err_set(err, GS_E_TOO_LARGE, "%s.%s: %u bytes, at most %u allowed", t->name,
                          f->name, s.len, max);
    if (!utf8_valid(s.ptr, s.len))
        return gs_err_set(err, GS_E_INVALID, "%s.%s: not valid UTF-8 text", t->name, f->name);
    return GS_OK;
}

static int check_range(const schema_table *t, const schema_field *f, double x, gs_err *err)
{
    if (isnan(x) || isinf(x))
        return gs_err_set(err, GS_E_INVALID, "%s.%s: not a finite number", t->name, f->name);
    if ((f->min != 0 || f->max != 0) && (x < f->min || x > f->max))
        return gs_err_set(err, GS_E_INVALID, "%s.%s: %g is outside %g..%g", t->name, f->name,
                          x, f->min, f->max);
    return GS_OK;
}

static const char *type_name(schema_type type)
{
    switch (type) {
    case ST_TEXT: return "text";
    case ST_INT: return "an integer";
    case ST_BOOL: return "true or false";
    case ST_REAL: return "a number";
    case ST_TIME: return "a time (ms since 1970)";
    case ST_ENUM: return "a name";
    case ST_REF: return "a record id";
    case ST_TAGS: return "a list of tags";
    }
    return "?";
}

int schema_check_value(const schema_table *t, const schema_field *f, const proto_value *v,
                       gs_err *err)
{
    int rc;

    if (v->type == PV_NIL) {
        if (f->flags & SF_REQUIRED)
            return gs_err_set(err, GS_E_INVALID, "%s.%s: is required and cannot be cleared",
                              t->name, f->name);
        return GS_OK;
    }
    switch (f->type) {
    case ST_TEXT:
        if (v->type != PV_STR)
            break;
        return check_text(t, f, v->u.s, f->max_len ? f->max_len : SCHEMA_TEXT_MAX, err);
    case ST_INT:
    case ST_TIME:
        if (v->type != PV_INT)
            break;
        return check_range(t, f, (double)v->u.i, err);
    case ST_BOOL:
        if (v->type != PV_BOOL)
            break;
        return GS_OK;
    case ST_REAL:
        if (v->type == PV_INT)
            return check_range(t, f, (double)v->u.i, err);
        if (v->type != PV_REAL)
            break;
        return check_range(t, f, v->u.r, err);
    case ST_ENUM:
        if (v->type != PV_STR)
            break;
        if (!schema_enum_find(f, v->u.s.ptr, v->u.s.len))
            return bad_enum(t, f, v->u.s, err);
        return GS_OK;
    case ST_REF:
        if (v->type != PV_BIN)
            break;
        if (v->u.s.len != 16)
            return gs_err_set(err, GS_E_INVALID, "%s.%s: a record id is 16 bytes, not %u",
                              t->name, f->name, v->u.s.len);
        return GS_OK;
    case ST_TAGS:
        if (v->type != PV_STRLIST)
            break;
        if (v->u.list.n > f->max_len)
            return gs_err_set(err, GS_E_TOO_LARGE, "%s.%s: %u tags, at most %u allowed",
                              t->name, f->name, v->u.list.n, f->max_len);
        for (uint32_t i = 0; i < v->u.list.n; i++) {
            proto_str s = v->u.list.items[i];
            if (!schema_enum_find(f, s.ptr, s.len))
                return bad_enum(t, f, s, err);
            for (uint32_t j = 0; j < i; j++) {
                proto_str o = v->u.list.items[j];
                if (o.len == s.len && memcmp(o.ptr, s.ptr, s.len) == 0)
                    return gs_err_set(err, GS_E_INVALID, "%s.%s: '%.*s' given twice", t->name,
                                      f->name, (int)s.len, s.ptr);
            }
        }
        return GS_OK;
    }
    rc = gs_err_set(err, GS_E_INVALID, "%s.%s: must be %s", t->name, f->name,
                    type_name(f->type));
    return rc;
}

int schema_check_change(const proto_change *c, int creating, gs_err *err)
{
    const schema_table *t = schema_table_find(c->table.ptr, c->table.len);
    int rc;

    if (!t)
        return gs_err_set(err, GS_E_INVALID, "unknown record type '%.*s'",
                          (int)(c->table.len > 64 ? 64 : c->table.len),
                          c->table.ptr ? c->table.ptr : "");
    for (uint32_t i = 0; i < c->n_fields; i++) {
        const proto_field *pf = &c->fields[i];
        const schema_field *f = schema_field_find(t, pf->name.ptr, pf->name.len);
        if (!f)
            return gs_err_set(err, GS_E_INVALID, "%s: unknown field '%.*s'", t->name,
                              (int)(pf->name.len > 64 ? 64 : pf->name.len),
                              pf->name.ptr ? pf->name.ptr : "");
        for (uint32_t j = 0; j < i; j++)
            if (proto_str_eq(c->fields[j].name, f->name))
                return gs_err_set(err, GS_E_INVALID, "%s.%s: given twice", t->name, f->name);
        rc = schema_check_value(t, f, &pf->value, err);
        if (rc)
            return rc;
    }
    if (!creating)
        return GS_OK;
    for (size_t k = 0; k < t->n_fields; k++) {
        const schema_field *f = &t->fields[k];
        int present = 0;
        if (!(f->flags & SF_REQUIRED))
            continue;
        for (uint32_t i = 0; i < c->n_fields && !present; i++)
            present = proto_str_eq(c->fields[i].name, f->name);
        if (!present)
            return gs_err_set(err, GS_E_INVALID, "%s.%s: is required", t->name, f->name);
    }
    return GS_OK;
}

void schema_value_normal(const schema_field *f, const proto_value *v, proto_value *out)
{
    *out = *v;
    if (f->type == ST_REAL && v->type == PV_INT) {
        out->type = PV_REAL;
        out->u.r = (double)v->u.i;
    } else if (f->policy == SP_DELETE && v->type == PV_NIL) {
        out->type = PV_BOOL;
        out->u.b = 0;
    }
}

int schema_value_eq(const schema_field *f, const proto_value *a, const proto_value *b)
{
    proto_value x, y;

    schema_value_normal(f, a, &x);
    schema_value_normal(f, b, &y);
    return proto_value_eq(&x, &y);
}
