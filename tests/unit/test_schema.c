/*
 * test_schema.c: the record schema (proto/schema.c): lookups, schema_check_value on a table
 * of good and bad values for each field type, and schema_check_change on whole changes
 * (unknown table or field, a field twice, required fields on create).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/rc.h"
#include "proto/proto.h"
#include "proto/schema.h"
#include "proto/value.h"
#include "tests/lib/tvalue.h"

static const char ID16[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static char LONG_TEXT[GS_LIMIT_TEXT + 2];

static proto_str TAGS_OK[] = {{"elderly", 7}, {"lives_alone", 11}};
static proto_str TAGS_TWICE[] = {{"elderly", 7}, {"veteran", 7}, {"elderly", 7}};
static proto_str TAGS_UNKNOWN[] = {{"elderly", 7}, {"rich", 4}};
static proto_str TAGS_17[17];

static const struct value_case {
    const char *table, *field; /* the field checked */
    proto_value v;             /* the value */
    int rc;                    /* expected result */
    const char *msg;           /* expected start of the message, or NULL */
} value_cases[] = {
    /* text */
    {"resident", "name", TV_STR("王秀英"), GS_OK, NULL},
    {"resident", "name", TV_STR(""), GS_OK, NULL},
    {"resident", "phone", TV_STRN(LONG_TEXT, 40), GS_OK, NULL},
    {"resident", "phone", TV_STRN(LONG_TEXT, 41), GS_E_TOO_LARGE,
     "resident.phone: 41 bytes, at most 40 allowed"},
    {"visit", "notes", TV_STRN(LONG_TEXT, GS_LIMIT_TEXT), GS_OK, NULL},
    {"visit", "notes", TV_STRN(LONG_TEXT, GS_LIMIT_TEXT + 1), GS_E_TOO_LARGE, NULL},
    {"resident", "name", TV_STR("\xc3\x28"), GS_E_INVALID, "resident.name: not valid UTF-8"},
    {"resident", "name", TV_STR("\xed\xa0\x80"), GS_E_INVALID, NULL}, /* a surrogate */
    {"resident", "name", TV_STR("\xc0\xaf"), GS_E_INVALID, NULL},     /* overlong '/' */
    {"resident", "name", TV_STRN("a\0b", 3), GS_E_INVALID, NULL},     /* NUL */
    {"resident", "name", TV_INT(5), GS_E_INVALID, "resident.name: must be text"},
    {"resident", "name", TV_NIL, GS_E_INVALID, "resident.name: is required and cannot be cleared"},
    {"resident", "address", TV_NIL, GS_OK, NULL},
    /* int with a range */
    {"resident", "born", TV_INT(1941), GS_OK, NULL},
    {"resident", "born", TV_INT(1900), GS_OK, NULL},
    {"resident", "born", TV_INT(2100), GS_OK, NULL},
    {"resident", "born", TV_INT(1899), GS_E_INVALID, "resident.born: 1899 is outside 1900..2100"},
    {"resident", "born", TV_INT(INT64_MIN), GS_E_INVALID, NULL},
    {"resident", "born", TV_REAL(1941.0), GS_E_INVALID, "resident.born: must be an integer"},
    {"resident", "born", TV_STR("1941"), GS_E_INVALID, NULL},
    /* bool */
    {"visit", "follow_up", TV_BOOL(1), GS_OK, NULL},
    {"visit", "follow_up", TV_INT(1), GS_E_INVALID, "visit.follow_up: must be true or false"},
    {"visit", "deleted", TV_BOOL(1), GS_OK, NULL},
    {"visit", "deleted", TV_STR("yes"), GS_E_INVALID, NULL},
    /* real: float, and int accepted */
    {"visit", "lat", TV_REAL(29.563), GS_OK, NULL},
    {"visit", "lat", TV_REAL(-90.0), GS_OK, NULL},
    {"visit", "lat", TV_INT(90), GS_OK, NULL},
    {"visit", "lat", TV_REAL(90.0001), GS_E_INVALID, "visit.lat: 90.0001 is outside -90..90"},
    {"visit", "lat", TV_INT(-91), GS_E_INVALID, NULL},
    {"visit", "lon", TV_REAL(181.0), GS_E_INVALID, NULL},
    {"visit", "lat", TV_REAL(NAN), GS_E_INVALID, "visit.lat: not a finite number"},
    {"visit", "lon", TV_REAL(INFINITY), GS_E_INVALID, NULL},
    {"visit", "lat", TV_STR("29.5"), GS_E_INVALID, "visit.lat: must be a number"},
    /* time */
    {"visit", "visited_at", TV_INT(1764201600000), GS_OK, NULL},
    {"visit", "visited_at", TV_INT(1764201600), GS_E_INVALID, NULL}, /* seconds, not ms */
    {"visit", "visited_at", TV_INT(-1), GS_E_INVALID, NULL},
    {"visit", "visited_at", TV_REAL(1764201600000.0), GS_E_INVALID, NULL},
    {"visit", "visited_at", TV_NIL, GS_E_INVALID, NULL},
    {"care", "due_at", TV_NIL, GS_OK, NULL},
    /* enum */
    {"visit", "kind", TV_STR("routine"), GS_OK, NULL},
    {"visit", "kind", TV_STR("walk"), GS_E_INVALID,
     "visit.kind: 'walk' is not one of routine, elderly_checkin, dispute, safety_hazard, "
     "policy_outreach, service"},
    {"visit", "kind", TV_STR("Routine"), GS_E_INVALID, NULL},
    {"visit", "kind", TV_STR(""), GS_E_INVALID, NULL},
    {"visit", "kind", TV_INT(0), GS_E_INVALID, "visit.kind: must be a name"},
    {"care", "status", TV_STR("done"), GS_OK, NULL},
    {"care", "status", TV_NIL, GS_E_INVALID, NULL},
    /* ref */
    {"visit", "resident", TV_BIN(ID16, 16), GS_OK, NULL},
    {"visit", "resident", TV_BIN(ID16, 15), GS_E_INVALID,
     "visit.resident: a record id is 16 bytes"},
    {"visit", "resident", TV_STR("019ac5e0-a000-7a1b-8c2d-3e4f50617283"), GS_E_INVALID,
     "visit.resident: must be a record id"},
    /* tags */
    {"resident", "tags", TV_TAGS(TAGS_OK, 2), GS_OK, NULL},
    {"resident", "tags", TV_TAGS(NULL, 0), GS_OK, NULL},
    {"resident", "tags", TV_NIL, GS_OK, NULL},
    {"resident", "tags", TV_TAGS(TAGS_TWICE, 3), GS_E_INVALID,
     "resident.tags: 'elderly' given twice"},
    {"resident", "tags", TV_TAGS(TAGS_UNKNOWN, 2), GS_E_INVALID,
     "resident.tags: 'rich' is not one of lives_alone, elderly"},
    {"resident", "tags", TV_TAGS(TAGS_17, 17), GS_E_TOO_LARGE,
     "resident.tags: 17 tags, at most 16"},
    {"resident", "tags", TV_STR("elderly"), GS_E_INVALID, "resident.tags: must be a list of tags"},
};

static void fill_fixtures(void)
{
    memset(LONG_TEXT, 'x', sizeof(LONG_TEXT) - 1);
    for (size_t i = 0; i < 17; i++)
        TAGS_17[i] = proto_cstr("elderly");
}

static void test_lookups(void **state)
{
    const schema_table *t;
    const schema_field *f;
    (void)state;

    t = schema_table_find("visit", 5);
    assert_non_null(t);
    assert_null(schema_table_find("visits", 6));
    assert_null(schema_table_find("visi", 4));
    assert_ptr_equal(schema_table_by_cli("residents"), schema_table_find("resident", 8));
    assert_ptr_equal(schema_table_by_cli("care"), schema_table_find("care", 4));
    assert_null(schema_table_by_cli("nothing"));
    f = schema_field_find(t, "kind", 4);
    assert_non_null(f);
    assert_string_equal(t->fields[schema_field_index(t, f)].name, "kind");
    assert_non_null(schema_field_find(t, SCHEMA_DELETED_FIELD, strlen(SCHEMA_DELETED_FIELD)));
    assert_null(schema_field_find(t, "kin", 3));
    assert_string_equal(schema_scope_field(t)->name, SCHEMA_SCOPE_FIELD);
    assert_non_null(schema_enum_find(f, "dispute", 7));
    assert_null(schema_enum_find(f, "disput", 6));
    /* every table has exactly one scope field, named grid, and no field twice */
    for (size_t i = 0; i < schema_n_tables; i++) {
        const schema_table *ti = &schema_tables[i];
        size_t scopes = 0;
        for (size_t k = 0; k < ti->n_fields; k++) {
            scopes += (ti->fields[k].flags & SF_SCOPE) != 0;
            assert_true(strlen(ti->fields[k].name) <= GS_LIMIT_NAME);
            for (size_t j = 0; j < k; j++)
                assert_string_not_equal(ti->fields[j].name, ti->fields[k].name);
        }
        assert_int_equal(scopes, 1);
        assert_string_equal(schema_scope_field(ti)->name, SCHEMA_SCOPE_FIELD);
    }
}

static void test_check_value_table(void **state)
{
    (void)state;
    fill_fixtures();
    for (size_t i = 0; i < sizeof(value_cases) / sizeof(value_cases[0]); i++) {
        const struct value_case *c = &value_cases[i];
        const schema_table *t = schema_table_find(c->table, strlen(c->table));
        const schema_field *f;
        gs_err err;
        int rc;

        assert_non_null(t);
        f = schema_field_find(t, c->field, strlen(c->field));
        if (!f)
            fail_msg("case %zu: no field %s.%s", i, c->table, c->field);
        gs_err_clear(&err);
        rc = schema_check_value(t, f, &c->v, &err);
        if (rc != c->rc)
            fail_msg("case %zu (%s.%s): %s, wanted %s (%s)", i, c->table, c->field,
                     gs_rc_name(rc), gs_rc_name(c->rc), err.msg);
        if (c->msg && strncmp(err.msg, c->msg, strlen(c->msg)) != 0)
            fail_msg("case %zu: message '%s', wanted it to start '%s'", i, err.msg, c->msg);
        if (rc && !err.msg[0])
            fail_msg("case %zu: no message", i);
    }
}

#define F(name, ver, ...) {{(name), sizeof(name) - 1}, __VA_ARGS__, (ver), 0}

static proto_field VISIT_ALL[] = {
    F("resident", 0, TV_BIN(ID16, 16)), F("grid", 0, TV_STR("dongshan-03")),
    F("worker", 0, TV_STR("张伟")),      F("visited_at", 0, TV_INT(1764201600000)),
    F("kind", 0, TV_STR("routine")),    F("notes", 0, TV_STR("ok")),
};
static proto_field VISIT_NO_KIND[] = {
    F("resident", 0, TV_BIN(ID16, 16)), F("grid", 0, TV_STR("dongshan-03")),
    F("worker", 0, TV_STR("张伟")),      F("visited_at", 0, TV_INT(1764201600000)),
};
static proto_field VISIT_TWICE[] = {F("notes", 3, TV_STR("a")), F("notes", 3, TV_STR("b"))};
static proto_field VISIT_UNKNOWN[] = {F("notes", 3, TV_STR("a")), F("mood", 3, TV_STR("good"))};
static proto_field VISIT_BAD_KIND[] = {F("kind", 3, TV_STR("walk"))};
static proto_field VISIT_UPDATE[] = {F("notes", 3, TV_STR("again")), F("lat", 0, TV_REAL(29.5))};
static proto_field DELETE_ONLY[] = {F("deleted", 9, TV_BOOL(1))};
static proto_field CARE_CLEAR_REQUIRED[] = {F("status", 4, TV_NIL)};

static const struct change_case {
    const char *what;   /* case name */
    const char *table;  /* the change's table */
    proto_field *f;     /* its fields */
    uint32_t n;         /* entries in f */
    int creating;       /* checked as a creation */
    int rc;             /* expected */
    const char *msg;    /* expected start of the message, or NULL */
} change_cases[] = {
    {"complete visit", "visit", VISIT_ALL, 6, 1, GS_OK, NULL},
    {"visit missing kind on create", "visit", VISIT_NO_KIND, 4, 1, GS_E_INVALID,
     "visit.kind: is required"},
    {"visit missing kind on update", "visit", VISIT_NO_KIND, 4, 0, GS_OK, NULL},
    {"update of two fields", "visit", VISIT_UPDATE, 2, 0, GS_OK, NULL},
    {"update missing required on create", "visit", VISIT_UPDATE, 2, 1, GS_E_INVALID,
     "visit.resident: is required"},
    {"field twice", "visit", VISIT_TWICE, 2, 0, GS_E_INVALID, "visit.notes: given twice"},
    {"unknown field", "visit", VISIT_UNKNOWN, 2, 0, GS_E_INVALID,
     "visit: unknown field 'mood'"},
    {"bad enum", "visit", VISIT_BAD_KIND, 1, 0, GS_E_INVALID, "visit.kind: 'walk'"},
    {"unknown table", "meeting", VISIT_UPDATE, 2, 0, GS_E_INVALID,
     "unknown record type 'meeting'"},
    {"empty table name", "", VISIT_UPDATE, 2, 0, GS_E_INVALID, "unknown record type ''"},
    {"tombstone alone", "care", DELETE_ONLY, 1, 0, GS_OK, NULL},
    {"clearing a required field", "care", CARE_CLEAR_REQUIRED, 1, 0, GS_E_INVALID,
     "care.status: is required and cannot be cleared"},
};

static void test_check_change_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(change_cases) / sizeof(change_cases[0]); i++) {
        const struct change_case *c = &change_cases[i];
        proto_change ch = {.seq = 1, .table = proto_cstr(c->table), .hlc = 1, .fields = c->f,
                           .n_fields = c->n};
        gs_err err;
        int rc;

        gs_err_clear(&err);
        rc = schema_check_change(&ch, c->creating, &err);
        if (rc != c->rc)
            fail_msg("%s: %s, wanted %s (%s)", c->what, gs_rc_name(rc), gs_rc_name(c->rc),
                     err.msg);
        if (c->msg && strncmp(err.msg, c->msg, strlen(c->msg)) != 0)
            fail_msg("%s: message '%s', wanted it to start '%s'", c->what, err.msg, c->msg);
    }
}

/* Each declared title names a text field of its table; a resident is named by its name,
 * the other types by none (the CLI and the admin API show nothing next to them). */
static void test_title_fields(void **state)
{
    (void)state;
    for (size_t i = 0; i < schema_n_tables; i++) {
        const schema_table *t = &schema_tables[i];
        const schema_field *f = schema_title_field(t);
        if (!t->title) {
            assert_null(f);
            continue;
        }
        assert_non_null(f);
        assert_string_equal(f->name, t->title);
        assert_int_equal(f->type, ST_TEXT);
    }
    assert_string_equal(schema_title_field(schema_table_find("resident", 8))->name, "name");
    assert_null(schema_title_field(schema_table_find("visit", 5)));
    assert_null(schema_title_field(schema_table_find("care", 4)));
}

/* Every field's own limit fits the shared ones (common/limits.h), and the fields a device
 * fills from its settings take exactly a name: the store keeps them in name-sized buffers. */
static void test_field_limits_fit_shared_ones(void **state)
{
    (void)state;
    for (size_t i = 0; i < schema_n_tables; i++) {
        const schema_table *t = &schema_tables[i];
        assert_true(strlen(t->name) <= GS_LIMIT_NAME);
        assert_true(t->n_fields + 1 <= GS_LIMIT_FIELDS);
        for (size_t k = 0; k < t->n_fields; k++) {
            const schema_field *f = &t->fields[k];
            assert_true(strlen(f->name) <= GS_LIMIT_NAME);
            if (f->type == ST_TEXT)
                assert_true(f->max_len >= 1 && f->max_len <= GS_LIMIT_TEXT);
            if (f->type == ST_TAGS)
                assert_true(f->max_len >= 1 && f->max_len <= GS_LIMIT_TAGS);
            for (size_t e = 0; e < f->n_enums; e++)
                assert_true(strlen(f->enums[e].name) <= GS_LIMIT_NAME);
            if (f->flags & (SF_SCOPE | SF_FROM_DEVICE))
                assert_int_equal(f->max_len, GS_LIMIT_NAME);
        }
    }
}

/* The declared status paths (schema_field.next): a table of from -> to, allowed or not. */
static const struct path_case {
    const char *table, *from, *to; /* status of table, from (NULL: a new record) to */
    int ok;                        /* 1: on the path */
} path_cases[] = {
    {"dispute", NULL, "resolved", 1},           /* a new case may be recorded closed */
    {"dispute", "reported", "mediating", 1},
    {"dispute", "reported", "resolved", 1},     /* settled on the spot */
    {"dispute", "mediating", "mediating", 1},   /* no change is always allowed */
    {"dispute", "mediating", "failed", 1},
    {"dispute", "mediating", "reported", 0},    /* back to reported only from a closing */
    {"dispute", "resolved", "mediating", 0},    /* a reopen is explicit: to reported */
    {"dispute", "resolved", "reported", 1},
    {"dispute", "failed", "referred", 1},       /* then handed to the 司法所 */
    {"dispute", "referred", "resolved", 0},
    {"errand", "requested", "materials_collected", 1},
    {"errand", "requested", "submitted", 0},    /* no step skipped */
    {"errand", "materials_collected", "requested", 0},
    {"errand", "submitted", "done", 1},
    {"errand", "done", "delivered", 1},
    {"errand", "done", "cancelled", 0},
    {"errand", "delivered", "requested", 1},
    {"errand", "cancelled", "submitted", 0},
    {"care", "done", "in_progress", 1},         /* care declares no path: any value */
};

static void test_status_paths(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(path_cases) / sizeof(path_cases[0]); i++) {
        const struct path_case *pc = &path_cases[i];
        const schema_table *t = schema_table_find(pc->table, strlen(pc->table));
        const schema_field *f = schema_field_find(t, "status", 6);
        proto_value from = tv_str(pc->from ? pc->from : ""), to = tv_str(pc->to);
        gs_err err;
        int rc;

        gs_err_clear(&err);
        rc = schema_transition_ok(t, f, pc->from ? &from : NULL, &to, &err);
        if ((rc == GS_OK) != pc->ok)
            fail_msg("%s.status %s -> %s: rc %d (%s), want %s", pc->table,
                     pc->from ? pc->from : "(new)", pc->to, rc, err.msg, pc->ok ? "ok" : "refused");
        if (!pc->ok && (rc != GS_E_INVALID || !strstr(err.msg, pc->table) ||
                        !strstr(err.msg, pc->to)))
            fail_msg("message '%s' should name %s.status and %s", err.msg, pc->table, pc->to);
    }
}

/* Every path names declared values only, the reopen value is reachable from each terminal
 * one, and no non-terminal value leads to the reopen value (so only an explicit reopen
 * after a closing reaches it, which is what lets SP_STATUS trust it). */
static void test_status_paths_are_consistent(void **state)
{
    (void)state;
    for (size_t k = 0; k < schema_n_tables; k++) {
        const schema_table *t = &schema_tables[k];
        for (size_t i = 0; i < t->n_fields; i++) {
            const schema_field *f = &t->fields[i];
            if (!f->next)
                continue;
            assert_int_equal(f->policy, SP_STATUS);
            for (size_t e = 0; e < f->n_enums; e++) {
                char words[256];
                const char *next = f->next[e];
                assert_non_null(next);
                snprintf(words, sizeof(words), "%s", next);
                for (char *p = words, *sp; *p; p = sp ? sp + 1 : p + strlen(p)) {
                    const schema_enum *to;
                    sp = strchr(p, ' ');
                    if (sp)
                        *sp = '\0';
                    to = schema_enum_find(f, p, strlen(p));
                    if (!to)
                        fail_msg("%s.%s: path of %s names '%s'", t->name, f->name,
                                 f->enums[e].name, p);
                    if ((to->flags & SEF_REOPEN) && !(f->enums[e].flags & SEF_TERMINAL))
                        fail_msg("%s.%s: %s leads to the reopen value %s", t->name, f->name,
                                 f->enums[e].name, p);
                }
            }
        }
    }
}

/* The decoder's object bound (issue 18): a maximal valid request of the widest table must
 * fit under it, and the bound must stay far below what 8 MiB of one-byte objects would be
 * (8 M), so it still limits msgpack-c's tree. proto_scan_limit takes exactly max objects. */
static void test_max_request_objects(void **state)
{
    size_t bound = schema_max_request_objects(), widest = 0;
    /* {"ch": [1, 2]} is 5 objects: map, key, array, two ints */
    static const unsigned char five[] = {0x81, 0xa2, 'c', 'h', 0x92, 0x01, 0x02};
    (void)state;
    for (size_t i = 0; i < schema_n_tables; i++)
        if (schema_tables[i].n_fields > widest)
            widest = schema_tables[i].n_fields;
    print_message("max request objects %zu (widest table %zu fields)\n", bound, widest);
    assert_true(bound >= (size_t)PROTO_MAX_CHANGES * (13 + 5 * widest));
    assert_true(bound < 2u * 1000 * 1000);
    assert_int_equal(proto_scan_limit(five, sizeof(five), 1, 5, NULL), GS_OK);
    assert_int_equal(proto_scan_limit(five, sizeof(five), 1, 4, NULL), GS_E_PROTO_LIMIT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookups),
        cmocka_unit_test(test_max_request_objects),
        cmocka_unit_test(test_check_value_table),
        cmocka_unit_test(test_check_change_table),
        cmocka_unit_test(test_title_fields),
        cmocka_unit_test(test_field_limits_fit_shared_ones),
        cmocka_unit_test(test_status_paths),
        cmocka_unit_test(test_status_paths_are_consistent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
