/*
 * test_client_record_json.c: a record as JSON (client/record_json.c), the shape of every
 * `--json` output and import line; test_value.c covers one value's JSON, this the record's:
 * - gs_record_to_json of a stored visit, whole and exact under a fixed clock: "type",
 *   "id", the schema's fields in schema order (none without a value), "created" and
 *   "updated" as ISO 8601 UTC with ms; Chinese as UTF-8, quotes and newlines escaped;
 *   "updated" moves on an update and "created" does not; a new record has neither, nor
 *   an id; a deleted one says "deleted": true;
 * - bad arguments, and out of memory for the copy handed over (GS_E_NOMEM, no leak);
 * - JSON -> record: to_json -> from JSON gives the same fields and id, created/updated
 *   ignored, "deleted": false ignored; each refusal (not an object, no or unknown type,
 *   a bad id, an unknown field, "deleted": true, a value of the wrong type) is GS_E_INVALID
 *   with a message naming what is wrong.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "client/db.h"
#include "client/record.h"
#include "client/record_json.h"
#include "common/alloc.h"
#include "tests/lib/tdevice.h"
#include "tests/lib/tdir.h"

/* 2026-11-27T01:30:00.250Z */
#define T_ADD UINT64_C(1795743000250)

typedef struct fixture {
    char dir[TDIR_MAX];              /* temporary folder */
    char path[TDEVICE_PATH_MAX];     /* the device database */
    gs_db *db;                       /* open, enrolled */
    uint64_t now_ms;                 /* the wall clock the handle sees */
    char resident[TDEVICE_ID_MAX];   /* a resident made by setup */
} fixture;

static uint64_t fake_clock(void *ud)
{
    return ((fixture *)ud)->now_ms;
}

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof(*fx));
    const char *grids[] = {"东风村3组"};

    if (!fx)
        return -1;
    fx->now_ms = T_ADD;
    if (tdevice_db_open(fx->dir, fx->path, &fx->db, "recjson"))
        return -1;
    db_set_clock(fx->db, fake_clock, fx);
    tdevice_init(fx->db, grids, 1, "张三");
    tdevice_add_resident(fx->db, "王秀英", 1941, fx->resident);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    int rc = tdevice_db_close(fx->db, fx->dir);
    free(fx);
    return rc;
}

/* A visit of the setup's resident with a value in every field a person gives. */
static void add_visit(fixture *fx, char id[TDEVICE_ID_MAX])
{
    gs_record *v;
    assert_int_equal(gs_record_new(fx->db, "visit", &v), GS_OK);
    assert_int_equal(gs_record_set_ref(v, "resident", fx->resident), GS_OK);
    assert_int_equal(gs_record_set_str(v, "kind", "elderly_checkin"), GS_OK);
    assert_int_equal(gs_record_set_time(v, "visited_at", INT64_C(1795743000000)), GS_OK);
    assert_int_equal(gs_record_set_str(v, "notes", "血压偏高，\"已提醒\"\n明天再来\\"), GS_OK);
    assert_int_equal(gs_record_set_bool(v, "follow_up", 1), GS_OK);
    assert_int_equal(gs_record_set_real(v, "lat", 33.7912), GS_OK);
    assert_int_equal(gs_record_set_real(v, "lon", 114.52), GS_OK);
    if (gs_db_add(fx->db, v) != GS_OK)
        fail_msg("add visit: %s", gs_db_errmsg(fx->db));
    snprintf(id, TDEVICE_ID_MAX, "%s", gs_record_id(v));
    gs_record_free(v);
}

static char *json_of(fixture *fx, const char *id)
{
    gs_record *r;
    char *json;
    if (gs_db_get(fx->db, id, &r) != GS_OK)
        fail_msg("get %s: %s", id, gs_db_errmsg(fx->db));
    assert_int_equal(gs_record_to_json(r, &json), GS_OK);
    gs_record_free(r);
    return json;
}

static void test_json_of_a_stored_visit_exactly(void **state)
{
    fixture *fx = *state;
    char id[TDEVICE_ID_MAX], want[1024];
    char *json;
    gs_record *r;

    add_visit(fx, id);
    json = json_of(fx, id);
    snprintf(want, sizeof(want),
             "{\"type\":\"visit\",\"id\":\"%s\",\"resident\":\"%s\",\"grid\":\"东风村3组\","
             "\"worker\":\"张三\",\"visited_at\":\"2026-11-27T01:30:00Z\","
             "\"kind\":\"elderly_checkin\","
             "\"notes\":\"血压偏高，\\\"已提醒\\\"\\n明天再来\\\\\",\"follow_up\":true,"
             "\"lat\":33.7912,\"lon\":114.52,\"created\":\"2026-11-27T01:30:00.250Z\","
             "\"updated\":\"2026-11-27T01:30:00.250Z\"}",
             id, fx->resident);
    assert_string_equal(json, want);
    gs_free(json);

    /* an update a minute later: "updated" moves, "created" stays; a cleared field goes */
    fx->now_ms = T_ADD + 60000;
    assert_int_equal(gs_db_get(fx->db, id, &r), GS_OK);
    assert_int_equal(gs_record_clear(r, "notes"), GS_OK);
    assert_int_equal(gs_record_set_bool(r, "follow_up", 0), GS_OK);
    if (gs_db_update(fx->db, r) != GS_OK)
        fail_msg("update: %s", gs_db_errmsg(fx->db));
    gs_record_free(r);
    json = json_of(fx, id);
    assert_null(strstr(json, "\"notes\""));
    assert_non_null(strstr(json, "\"follow_up\":false,"));
    assert_non_null(strstr(json, ",\"created\":\"2026-11-27T01:30:00.250Z\","
                                 "\"updated\":\"2026-11-27T01:31:00.250Z\"}"));
    gs_free(json);
}

static void test_json_of_resident_tags_and_no_value_fields(void **state)
{
    fixture *fx = *state;
    gs_record *r;
    char *json, want[512];

    assert_int_equal(gs_db_get(fx->db, fx->resident, &r), GS_OK);
    assert_int_equal(gs_record_add_tag(r, "tags", "elderly"), GS_OK);
    assert_int_equal(gs_record_add_tag(r, "tags", "lives_alone"), GS_OK);
    assert_int_equal(gs_db_update(fx->db, r), GS_OK);
    gs_record_free(r);
    json = json_of(fx, fx->resident);
    /* no address, no phone: not written at all, not as null */
    snprintf(want, sizeof(want),
             "{\"type\":\"resident\",\"id\":\"%s\",\"name\":\"王秀英\",\"born\":1941,"
             "\"grid\":\"东风村3组\",\"tags\":[\"elderly\",\"lives_alone\"],"
             "\"created\":\"2026-11-27T01:30:00.250Z\",\"updated\":\"2026-11-27T01:30:00.250Z\"}",
             fx->resident);
    assert_string_equal(json, want);
    gs_free(json);
}

static void test_json_of_new_and_deleted_records(void **state)
{
    fixture *fx = *state;
    gs_record *r;
    char *json, id[TDEVICE_ID_MAX];
    uint8_t raw[16];

    /* never stored: no id, no times */
    assert_int_equal(gs_record_new(fx->db, "care", &r), GS_OK);
    assert_int_equal(gs_record_set_str(r, "category", "meal"), GS_OK);
    assert_int_equal(gs_record_to_json(r, &json), GS_OK);
    assert_string_equal(json, "{\"type\":\"care\",\"category\":\"meal\"}");
    gs_free(json);
    gs_record_free(r);
    /* deleted: the tombstone says so */
    add_visit(fx, id);
    assert_int_equal(gs_db_delete(fx->db, id), GS_OK);
    assert_int_equal(uuid_parse(id, strlen(id), raw), GS_OK);
    assert_int_equal(record_load(fx->db, raw, &r), GS_OK);
    assert_true(r->deleted);
    assert_int_equal(gs_record_to_json(r, &json), GS_OK);
    assert_non_null(strstr(json, "\"type\":\"visit\""));
    if (strlen(json) < 16 || strcmp(json + strlen(json) - 16, ",\"deleted\":true}") != 0)
        fail_msg("a deleted record's JSON does not end with \"deleted\": true: %s", json);
    gs_free(json);
    gs_record_free(r);
    /* a live record has no "deleted" at all */
    json = json_of(fx, fx->resident);
    assert_null(strstr(json, "deleted"));
    gs_free(json);
}

static void test_to_json_arguments_and_allocation_failure(void **state)
{
    fixture *fx = *state;
    gs_record *r;
    char *json = (char *)"untouched";
    int failures = 0, rc = GS_E_NOMEM;

    assert_int_equal(gs_record_to_json(NULL, &json), GS_E_INVALID);
    assert_string_equal(json, "untouched");
    assert_int_equal(gs_db_get(fx->db, fx->resident, &r), GS_OK);
    assert_int_equal(gs_record_to_json(r, NULL), GS_E_INVALID);
    /* jansson allocates on its own; the copy handed over comes from gs_malloc */
    for (long n = 0; n < 10 && rc != GS_OK; n++) {
        gs_alloc_fail_after(n);
        rc = gs_record_to_json(r, &json);
        gs_alloc_fail_after(-1);
        if (rc == GS_OK)
            break;
        assert_int_equal(rc, GS_E_NOMEM);
        assert_string_equal(json, "untouched"); /* written only on success */
        assert_non_null(strstr(gs_db_errmsg(fx->db), "out of memory"));
        failures++;
    }
    assert_int_equal(rc, GS_OK);
    assert_true(failures >= 1);
    assert_string_equal(gs_db_errmsg(fx->db), ""); /* a success clears the message */
    gs_free(json);
    gs_record_free(r);
}

/* to JSON, back to a record: the same id and values; created/updated are the device's. */
static void test_json_back_to_a_record(void **state)
{
    fixture *fx = *state;
    char id[TDEVICE_ID_MAX];
    char *json, *again;
    json_t *obj;
    json_error_t jerr;
    gs_record *r;

    add_visit(fx, id);
    json = json_of(fx, id);
    obj = json_loads(json, 0, &jerr);
    assert_non_null(obj);
    assert_int_equal(json_object_set_new(obj, "deleted", json_false()), 0); /* ignored */
    if (record_json_to_record(fx->db, obj, &r) != GS_OK)
        fail_msg("from JSON: %s", gs_db_errmsg(fx->db));
    json_decref(obj);
    assert_string_equal(gs_record_id(r), id);
    assert_int_equal(gs_record_created(r), 0); /* not taken from the line */
    assert_int_equal(gs_record_updated(r), 0);
    assert_false(gs_record_deleted(r));
    /* every field the same: its JSON, less created/updated, is the stored one's */
    assert_int_equal(gs_record_to_json(r, &again), GS_OK);
    gs_record_free(r);
    *strstr(json, ",\"created\"") = '\0';
    assert_int_equal(strncmp(again, json, strlen(json)), 0);
    assert_string_equal(again + strlen(json), "}");
    gs_free(again);
    gs_free(json);
}

static void test_json_to_record_refusals(void **state)
{
    static const struct {
        const char *json; /* the line */
        const char *msg;  /* a part of the message */
    } cases[] = {
        {"[1, 2]", "one JSON object, not"},
        {"\"resident\"", "one JSON object, not"},
        {"{\"name\": \"x\"}", "type: missing"},
        {"{\"type\": 7, \"name\": \"x\"}", "type: missing"},
        {"{\"type\": \"unicorn\"}", "unknown record type 'unicorn'"},
        {"{\"type\": \"resident\", \"id\": \"not-an-id\"}", "resident.id: not a record id"},
        {"{\"type\": \"resident\", \"id\": 12}", "resident.id: not a record id"},
        {"{\"type\": \"resident\", \"name\": \"x\", \"colour\": \"red\"}",
         "resident: unknown field 'colour'"},
        {"{\"type\": \"visit\", \"deleted\": true}", "visit.deleted: deleted records cannot"},
        {"{\"type\": \"resident\", \"born\": \"1941\"}", "resident.born"},
        {"{\"type\": \"resident\", \"tags\": \"elderly\"}", "resident.tags"},
        {"{\"type\": \"visit\", \"follow_up\": 1}", "visit.follow_up"},
        {"{\"type\": \"visit\", \"visited_at\": \"2026-02-30\"}", "visit.visited_at"},
        {"{\"type\": \"visit\", \"resident\": \"0193\"}", "visit.resident"},
    };
    fixture *fx = *state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_error_t jerr;
        json_t *obj = json_loads(cases[i].json, JSON_DECODE_ANY, &jerr);
        gs_record *r = (gs_record *)0x1;
        int rc;
        if (!obj)
            fail_msg("case %zu is not JSON: %s", i, jerr.text);
        rc = record_json_to_record(fx->db, obj, &r);
        json_decref(obj);
        if (rc != GS_E_INVALID)
            fail_msg("case %zu (%s): rc %d, want GS_E_INVALID", i, cases[i].json, rc);
        if (!strstr(gs_db_errmsg(fx->db), cases[i].msg))
            fail_msg("case %zu (%s): message '%s' does not say '%s'", i, cases[i].json,
                     gs_db_errmsg(fx->db), cases[i].msg);
        assert_ptr_equal(r, (gs_record *)0x1); /* written only on success */
    }
    /* "id": null is no id */
    {
        json_error_t jerr;
        json_t *obj = json_loads("{\"type\": \"resident\", \"id\": null, \"name\": \"x\"}", 0,
                                 &jerr);
        gs_record *r;
        assert_int_equal(record_json_to_record(fx->db, obj, &r), GS_OK);
        json_decref(obj);
        assert_string_equal(gs_record_id(r), "");
        gs_record_free(r);
    }
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_json_of_a_stored_visit_exactly),
        T(test_json_of_resident_tags_and_no_value_fields),
        T(test_json_of_new_and_deleted_records),
        T(test_to_json_arguments_and_allocation_failure),
        T(test_json_back_to_a_record),
        T(test_json_to_record_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
