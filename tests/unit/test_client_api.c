/*
 * test_client_api.c: libgridsync through its public header only (gridsync.h is included
 * alone, as an app would): result codes match the library's, open/close, device settings,
 * add/get/update/delete/list of every record type, the validation table (each bad input
 * is refused with a message naming the field and leaves nothing written), batches, import
 * (good, bad, twice, forward references), Chinese text round trips, and an allocation-
 * failure loop over gs_db_open, gs_db_add and gs_db_get.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "client/gridsync.h"
#include "tests/lib/tdevice.h"
#include "tests/lib/tdir.h"

/* From the library's allocation wrapper (common/alloc.h): a test hook, not public API. */
void gs_alloc_fail_after(long n);

typedef struct fixture {
    char dir[TDIR_MAX];            /* a fresh temporary directory */
    char path[TDEVICE_PATH_MAX];   /* the database in it */
    gs_db *db;                     /* open, initialised device */
    char resident[TDEVICE_ID_MAX]; /* a resident made by setup */
} fixture;

static const char *const GRIDS[] = {"东风村3组", "g2"};

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof(*fx));
    if (tdevice_db_open(fx->dir, fx->path, &fx->db, "api"))
        return -1;
    tdevice_init(fx->db, GRIDS, 2, "张三");
    tdevice_add_resident(fx->db, "王秀英", 0, fx->resident);
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

static int64_t count(gs_db *db, const char *table)
{
    gs_list *l;
    gs_record *r;
    int64_t n = 0;
    assert_int_equal(gs_list_new(db, table, &l), GS_OK);
    while (gs_list_next(l, &r) == GS_OK && r) {
        n++;
        gs_record_free(r);
    }
    gs_list_free(l);
    return n;
}

static void test_rc_codes_match_library(void **state)
{
    (void)state;
    /* gs_rc_name comes from the library's table: equal names prove equal numbers */
    static const struct {
        int code;
        const char *name;
    } codes[] = {
        {GS_OK, "ok"}, {GS_E_NOMEM, "nomem"}, {GS_E_INVALID, "invalid"},
        {GS_E_NOTFOUND, "not_found"}, {GS_E_IO, "io"}, {GS_E_DB, "db"},
        {GS_E_TOO_LARGE, "too_large"}, {GS_E_CLOCK, "clock"}, {GS_E_PROTO, "malformed"},
        {GS_E_PROTO_TYPE, "wrong_type"}, {GS_E_PROTO_MISSING, "missing_field"},
        {GS_E_PROTO_UNKNOWN, "unknown_field"}, {GS_E_PROTO_LIMIT, "over_limit"},
        {GS_E_PROTO_TRUNCATED, "truncated"}, {GS_E_PROTO_TRAILING, "trailing_bytes"},
        {GS_E_PROTO_DEPTH, "too_deep"}, {GS_E_PROTO_VERSION, "version"},
        {GS_E_NETWORK, "network"}, {GS_E_TIMEOUT, "timeout"}, {GS_E_TLS, "tls"},
        {GS_E_AUTH, "auth"}, {GS_E_REJECTED, "rejected"}, {GS_E_SERVER, "server"},
        {GS_E_CONFIG, "config"}, {GS_E_RANDOM, "random"}, {GS_E_BUSY, "busy"},
        {GS_E_USAGE, "usage"}, {GS_E_CRYPTO, "crypto"}, {GS_E_EXISTS, "exists"},
        {GS_E_STATE, "state"}, {GS_E_READ_ONLY, "read_only"}, {GS_E_WIPED, "wiped"},
        {GS_E_KEY, "key"},
    };
    assert_int_equal(sizeof(codes) / sizeof(codes[0]), GS_RC_COUNT);
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        assert_string_equal(gs_rc_name(codes[i].code), codes[i].name);
    assert_string_equal(gs_rc_name(GS_RC_COUNT), "unknown");
    assert_string_equal(gs_version(), GS_VERSION);
}

static void test_open_bad_path_reports(void **state)
{
    gs_db *db = NULL;
    (void)state;
    assert_int_equal(gs_db_open("/nonexistent-dir/x/y.db", &db), GS_E_IO);
    assert_non_null(db);
    assert_non_null(strstr(gs_db_errmsg(db), "/nonexistent-dir/x/y.db"));
    assert_int_equal(gs_db_close(db), GS_OK);
    assert_int_equal(gs_db_open(NULL, &db), GS_E_INVALID);
    assert_non_null(strstr(gs_db_errmsg(db), "GRIDSYNC_DB"));
    gs_db_close(db);
    assert_int_equal(gs_db_close(NULL), GS_OK);
}

static void test_device_settings_and_status(void **state)
{
    fixture *fx = *state;
    gs_status st;
    const char *grids[] = {"g9"};
    gs_device_config other = {"dev-2", "t", "https://x", tdevice_ca_pem, tdevice_ca_pem_len,
                              grids, 1, NULL};
    gs_device_config bad = other;

    assert_int_equal(gs_db_status(fx->db, &st), GS_OK);
    assert_true(st.initialised);
    assert_string_equal(st.device_id, "dev-1");
    assert_string_equal(st.worker, "张三");
    assert_string_equal(st.grids, "东风村3组,g2");
    assert_int_equal(st.pending, 1);
    assert_int_equal(st.records, 1);
    assert_int_equal(st.last_sync_ms, 0);
    /* a database belongs to one device */
    assert_int_equal(gs_db_init_device(fx->db, &other), GS_E_EXISTS);
    assert_non_null(strstr(gs_db_errmsg(fx->db), "dev-1"));
    /* bad settings name what is wrong */
    bad.device_id = "dev-1";
    bad.server_url = "http://plain";
    assert_int_equal(gs_db_init_device(fx->db, &bad), GS_E_INVALID);
    assert_non_null(strstr(gs_db_errmsg(fx->db), "https://"));
    bad.server_url = "https://x";
    bad.ca_pem = "not a pem";
    bad.ca_pem_len = 9;
    assert_int_equal(gs_db_init_device(fx->db, &bad), GS_E_INVALID);
    assert_non_null(strstr(gs_db_errmsg(fx->db), "ca"));
    bad.ca_pem = tdevice_ca_pem;
    bad.ca_pem_len = tdevice_ca_pem_len;
    bad.n_grids = 0;
    assert_int_equal(gs_db_init_device(fx->db, &bad), GS_E_INVALID);
    assert_non_null(strstr(gs_db_errmsg(fx->db), "grid"));
    /* same device: settings updated, worker defaults to the device id */
    bad.n_grids = 1;
    assert_int_equal(gs_db_init_device(fx->db, &bad), GS_OK);
    assert_string_equal(gs_db_errmsg(fx->db), "");
    assert_int_equal(gs_db_status(fx->db, &st), GS_OK);
    assert_string_equal(st.worker, "dev-1");
    assert_string_equal(st.grids, "g9");
}

/* As many grids as the server gives a device, each a name of the longest kind: init takes
 * them all and status shows them all (its buffer once held 8). */
static void test_status_shows_every_grid(void **state)
{
    fixture *fx = *state;
    static char names[GS_GRIDS_MAX][GS_NAME_MAX + 1];
    const char *grids[GS_GRIDS_MAX + 1];
    gs_device_config cfg = {"dev-1", "t", "https://x", tdevice_ca_pem, tdevice_ca_pem_len,
                            grids, GS_GRIDS_MAX, NULL};
    gs_status st;
    char want[sizeof(st.grids)];
    size_t len = 0;

    for (int i = 0; i < GS_GRIDS_MAX; i++) {
        memset(names[i], 'g', GS_NAME_MAX);
        snprintf(names[i], sizeof(names[i]), "%02d", i); /* a unique start ... */
        names[i][2] = 'g';                               /* ... then g up to 64 bytes */
        grids[i] = names[i];
        len += (size_t)snprintf(want + len, sizeof(want) - len, "%s%s", i ? "," : "", names[i]);
    }
    assert_int_equal(strlen(names[0]), GS_NAME_MAX);
    assert_int_equal(gs_db_init_device(fx->db, &cfg), GS_OK);
    assert_int_equal(gs_db_status(fx->db, &st), GS_OK);
    assert_string_equal(st.grids, want);
    /* one more is refused, naming the limit */
    grids[GS_GRIDS_MAX] = "extra";
    cfg.n_grids = GS_GRIDS_MAX + 1;
    assert_int_equal(gs_db_init_device(fx->db, &cfg), GS_E_INVALID);
    assert_non_null(strstr(gs_db_errmsg(fx->db), "32"));
}

static void test_add_get_round_trip_every_type(void **state)
{
    fixture *fx = *state;
    gs_record *v, *c, *got;
    const char *s, *ref;
    const char *const *tags;
    size_t n_tags;
    int64_t t;
    double x;
    int b;
    const char *notes = "老人身体状况良好，血压偏高，已提醒按时服药。邻居说昨晚没开灯，明天再来看看。";

    /* a resident with every kind of value */
    assert_int_equal(gs_record_new(fx->db, "resident", &v), GS_OK);
    assert_int_equal(gs_record_set_str(v, "name", "李建国"), GS_OK);
    assert_int_equal(gs_record_set_str(v, "address", "东风村3组 12号"), GS_OK);
    assert_int_equal(gs_record_set_int(v, "born", 1941), GS_OK);
    assert_int_equal(gs_record_add_tag(v, "tags", "elderly"), GS_OK);
    assert_int_equal(gs_record_add_tag(v, "tags", "lives_alone"), GS_OK);
    assert_int_equal(gs_db_add(fx->db, v), GS_OK);
    assert_int_equal(strlen(gs_record_id(v)), 36);
    assert_true(gs_record_created(v) > 0);
    assert_int_equal(gs_db_get(fx->db, gs_record_id(v), &got), GS_OK);
    assert_string_equal(gs_record_table(got), "resident");
    assert_int_equal(gs_record_get_str(got, "name", &s), GS_OK);
    assert_string_equal(s, "李建国");
    assert_int_equal(gs_record_get_int(got, "born", &t), GS_OK);
    assert_int_equal(t, 1941);
    assert_int_equal(gs_record_get_tags(got, "tags", &tags, &n_tags), GS_OK);
    assert_int_equal(n_tags, 2);
    assert_string_equal(tags[0], "elderly");
    assert_string_equal(tags[1], "lives_alone");
    /* defaults: the device's first grid */
    assert_int_equal(gs_record_get_str(got, "grid", &s), GS_OK);
    assert_string_equal(s, "东风村3组");
    assert_int_equal(gs_record_get_str(got, "phone", &s), GS_E_NOTFOUND);
    assert_int_equal(gs_record_get_int(got, "name", &t), GS_E_INVALID);
    gs_record_free(got);
    gs_record_free(v);

    /* a visit: reference, time, enum, bool, reals; worker and time defaulted */
    assert_int_equal(gs_record_new(fx->db, "visit", &v), GS_OK);
    assert_int_equal(gs_record_set_ref(v, "resident", fx->resident), GS_OK);
    assert_int_equal(gs_record_set_str(v, "kind", "elderly_checkin"), GS_OK);
    assert_int_equal(gs_record_set_str(v, "notes", notes), GS_OK);
    assert_int_equal(gs_record_set_bool(v, "follow_up", 1), GS_OK);
    assert_int_equal(gs_record_set_text(v, "lat", "33.7912"), GS_OK);
    assert_int_equal(gs_record_set_real(v, "lon", 114.52), GS_OK);
    assert_int_equal(gs_db_add(fx->db, v), GS_OK);
    assert_int_equal(gs_db_get(fx->db, gs_record_id(v), &got), GS_OK);
    assert_int_equal(gs_record_get_ref(got, "resident", &ref), GS_OK);
    assert_string_equal(ref, fx->resident);
    assert_int_equal(gs_record_get_str(got, "notes", &s), GS_OK);
    assert_string_equal(s, notes); /* Chinese text unchanged, byte for byte */
    assert_int_equal(gs_record_get_str(got, "worker", &s), GS_OK);
    assert_string_equal(s, "张三");
    assert_int_equal(gs_record_get_bool(got, "follow_up", &b), GS_OK);
    assert_true(b);
    assert_int_equal(gs_record_get_real(got, "lat", &x), GS_OK);
    assert_true(x == 33.7912);
    assert_int_equal(gs_record_get_time(got, "visited_at", &t), GS_OK);
    assert_true(t > 1700000000000);
    gs_record_free(got);
    gs_record_free(v);

    /* a care request: schema defaults for priority and status */
    assert_int_equal(gs_record_new(fx->db, "care", &c), GS_OK);
    assert_int_equal(gs_record_set_ref(c, "resident", fx->resident), GS_OK);
    assert_int_equal(gs_record_set_str(c, "category", "meal"), GS_OK);
    assert_int_equal(gs_record_set_text(c, "due_at", "2026-12-01"), GS_OK);
    assert_int_equal(gs_db_add(fx->db, c), GS_OK);
    assert_int_equal(gs_db_get(fx->db, gs_record_id(c), &got), GS_OK);
    assert_int_equal(gs_record_get_str(got, "priority", &s), GS_OK);
    assert_string_equal(s, "normal");
    assert_int_equal(gs_record_get_str(got, "status", &s), GS_OK);
    assert_string_equal(s, "open");
    assert_int_equal(gs_record_get_time(got, "due_at", &t), GS_OK);
    assert_int_equal(t, INT64_C(1796054400000)); /* 2026-11-30T16:00:00Z */
    assert_string_equal(gs_record_text(got, "due_at"), "2026-11-30T16:00:00Z");
    gs_record_free(got);
    gs_record_free(c);
    assert_int_equal(tdevice_pending(fx->db), 4);
}

static void test_json_of_record(void **state)
{
    fixture *fx = *state;
    gs_record *r;
    char *json;
    (void)state;

    assert_int_equal(gs_db_get(fx->db, fx->resident, &r), GS_OK);
    assert_int_equal(gs_record_to_json(r, &json), GS_OK);
    assert_non_null(strstr(json, "\"type\":\"resident\""));
    assert_non_null(strstr(json, "\"name\":\"王秀英\""));
    assert_non_null(strstr(json, fx->resident));
    assert_non_null(strstr(json, "\"created\":\""));
    gs_free(json);
    gs_record_free(r);
}

static void test_update_and_delete(void **state)
{
    fixture *fx = *state;
    gs_record *c, *u, *got;
    char id[40];
    const char *s;
    int64_t before;

    assert_int_equal(gs_record_new(fx->db, "care", &c), GS_OK);
    assert_int_equal(gs_record_set_ref(c, "resident", fx->resident), GS_OK);
    assert_int_equal(gs_record_set_str(c, "category", "home_repair"), GS_OK);
    assert_int_equal(gs_db_add(fx->db, c), GS_OK);
    snprintf(id, sizeof(id), "%s", gs_record_id(c));
    gs_record_free(c);
    before = tdevice_pending(fx->db);

    /* update by id with only the changed fields */
    assert_int_equal(gs_record_new(fx->db, "care", &u), GS_OK);
    assert_int_equal(gs_record_set_id(u, id), GS_OK);
    assert_int_equal(gs_record_set_str(u, "status", "done"), GS_OK);
    assert_int_equal(gs_record_set_str(u, "resolution", "已修好漏水的水管"), GS_OK);
    assert_int_equal(gs_db_update(fx->db, u), GS_OK);
    gs_record_free(u);
    assert_int_equal(gs_db_get(fx->db, id, &got), GS_OK);
    assert_int_equal(gs_record_get_str(got, "status", &s), GS_OK);
    assert_string_equal(s, "done");
    assert_true(gs_record_updated(got) > gs_record_created(got));
    /* a record read back can be edited and updated too; clearing a field */
    assert_int_equal(gs_record_clear(got, "resolution"), GS_OK);
    assert_int_equal(gs_db_update(fx->db, got), GS_OK);
    gs_record_free(got);
    assert_int_equal(gs_db_get(fx->db, id, &got), GS_OK);
    assert_false(gs_record_has(got, "resolution"));
    /* nothing changed: nothing written */
    assert_int_equal(gs_record_set_str(got, "status", "done"), GS_OK);
    assert_int_equal(gs_db_update(fx->db, got), GS_OK);
    gs_record_free(got);
    /* the unsent change of the record was compacted: still one more than before */
    assert_int_equal(tdevice_pending(fx->db), before);

    /* delete: gone for get, list and update; deleting twice is not found */
    assert_int_equal(gs_db_delete(fx->db, id), GS_OK);
    assert_int_equal(gs_db_get(fx->db, id, &got), GS_E_NOTFOUND);
    assert_non_null(strstr(gs_db_errmsg(fx->db), "deleted"));
    assert_int_equal(gs_db_delete(fx->db, id), GS_E_NOTFOUND);
    assert_int_equal(gs_record_new(fx->db, "care", &u), GS_OK);
    assert_int_equal(gs_record_set_id(u, id), GS_OK);
    assert_int_equal(gs_record_set_str(u, "status", "open"), GS_OK);
    assert_int_equal(gs_db_update(fx->db, u), GS_E_NOTFOUND);
    gs_record_free(u);
    assert_int_equal(count(fx->db, "care"), 0);
    assert_int_equal(gs_db_get(fx->db, "0193a5f0-7c1e-7b3d-9f00-2c4e5a6b7c8d", &got),
                     GS_E_NOTFOUND);
    assert_int_equal(gs_db_delete(fx->db, "not-an-id"), GS_E_INVALID);
}

/* ---- validation ---- */

typedef enum op { OP_ADD, OP_UPDATE_CARE } op;

typedef struct vcase {
    const char *what;        /* for failure messages */
    op op;                   /* add a record, or update the fixture's care request */
    const char *table;       /* the record type */
    const char *fields[8][2]; /* field, text value ("$R": the fixture's resident) */
    int setter_rc;           /* expected from gs_record_set_text (GS_OK: refused at write) */
    int rc;                  /* expected from gs_db_add / gs_db_update */
    const char *needle;      /* must appear in the message */
} vcase;

static void test_validation_table(void **state)
{
    static const vcase cases[] = {
        {"unknown enum value", OP_ADD, "visit", {{"resident", "$R"}, {"kind", "walk"}},
         GS_OK, GS_E_INVALID, "visit.kind: 'walk' is not one of routine"},
        {"missing required field", OP_ADD, "visit", {{"resident", "$R"}}, GS_OK, GS_E_INVALID,
         "visit.kind: is required"},
        {"missing reference", OP_ADD, "visit", {{"kind", "routine"}}, GS_OK, GS_E_INVALID,
         "visit.resident: is required"},
        {"resident not on this device", OP_ADD, "visit",
         {{"resident", "0193a5f0-7c1e-7b3d-9f00-2c4e5a6b7c8d"}, {"kind", "routine"}}, GS_OK,
         GS_E_INVALID, "visit.resident: there is no resident"},
        {"malformed reference", OP_ADD, "visit", {{"resident", "0193a5f0"}}, GS_E_INVALID, 0,
         "visit.resident: '0193a5f0' is not a record id"},
        {"malformed time", OP_ADD, "visit", {{"resident", "$R"}, {"visited_at", "2026-13-01"}},
         GS_E_INVALID, 0, "visit.visited_at"},
        {"time out of range", OP_ADD, "visit",
         {{"resident", "$R"}, {"kind", "routine"}, {"visited_at", "1999-12-31"}}, GS_OK,
         GS_E_INVALID, "visit.visited_at"},
        {"not a number", OP_ADD, "visit", {{"lat", "north"}}, GS_E_INVALID, 0, "visit.lat"},
        {"latitude out of range", OP_ADD, "visit",
         {{"resident", "$R"}, {"kind", "routine"}, {"lat", "91"}}, GS_OK, GS_E_INVALID,
         "visit.lat: 91 is outside -90..90"},
        {"text over its limit", OP_ADD, "resident", {{"name", "$LONG"}}, GS_OK, GS_E_INVALID,
         "resident.name: 201 bytes, at most 200"},
        {"notes over the protocol limit", OP_ADD, "visit",
         {{"resident", "$R"}, {"kind", "routine"}, {"notes", "$HUGE"}}, GS_OK, GS_E_INVALID,
         "visit.notes: 4001 bytes"},
        {"not UTF-8", OP_ADD, "resident", {{"name", "\xff\xfe"}}, GS_OK, GS_E_INVALID,
         "resident.name: not valid UTF-8"},
        {"birth year out of range", OP_ADD, "resident", {{"name", "x"}, {"born", "1800"}},
         GS_OK, GS_E_INVALID, "resident.born"},
        {"not a whole number", OP_ADD, "resident", {{"born", "19x1"}}, GS_E_INVALID, 0,
         "resident.born"},
        {"unknown tag", OP_ADD, "resident", {{"name", "x"}, {"tags", "elderly,rich"}}, GS_OK,
         GS_E_INVALID, "resident.tags: 'rich' is not one of"},
        {"tag twice", OP_ADD, "resident", {{"name", "x"}, {"tags", "elderly,elderly"}}, GS_OK,
         GS_E_INVALID, "resident.tags: 'elderly' given twice"},
        {"empty required text", OP_ADD, "resident", {{"name", ""}}, GS_OK, GS_E_INVALID,
         "resident.name: is required"},
        {"grid too long", OP_ADD, "resident",
         {{"name", "x"}, {"grid", "$GRID65"}},
         GS_OK, GS_E_INVALID, "resident.grid"},
        {"unknown field", OP_ADD, "resident", {{"nickname", "x"}}, GS_E_INVALID, 0,
         "resident: unknown field 'nickname'"},
        {"bad bool", OP_ADD, "visit", {{"follow_up", "maybe"}}, GS_E_INVALID, 0,
         "visit.follow_up"},
        {"bad priority", OP_ADD, "care",
         {{"resident", "$R"}, {"category", "meal"}, {"priority", "high"}}, GS_OK, GS_E_INVALID,
         "care.priority: 'high' is not one of low, normal, urgent"},
        {"reference to a record of another type", OP_ADD, "care",
         {{"resident", "$C"}, {"category", "meal"}}, GS_OK, GS_E_INVALID,
         "care.resident: there is no resident"},
        {"immutable field changed", OP_UPDATE_CARE, "care", {{"resident", "$R2"}}, GS_OK,
         GS_E_INVALID, "care.resident: cannot be changed"},
        {"required field cleared", OP_UPDATE_CARE, "care", {{"category", ""}}, GS_OK,
         GS_E_INVALID, "care.category: is required"},
        {"bad status", OP_UPDATE_CARE, "care", {{"status", "finished"}}, GS_OK, GS_E_INVALID,
         "care.status: 'finished'"},
    };
    fixture *fx = *state;
    char long_name[202], huge[4002], grid65[66], care_id[40], resident2[40];
    gs_record *c;

    memset(grid65, 'g', 65); /* grids are at most 64 bytes */
    grid65[65] = '\0';
    memset(long_name, 'a', 201);
    long_name[201] = '\0';
    memset(huge, 'n', 4001);
    huge[4001] = '\0';
    tdevice_add_resident(fx->db, "赵四", 0, resident2);
    assert_int_equal(gs_record_new(fx->db, "care", &c), GS_OK);
    assert_int_equal(gs_record_set_ref(c, "resident", fx->resident), GS_OK);
    assert_int_equal(gs_record_set_str(c, "category", "meal"), GS_OK);
    assert_int_equal(gs_db_add(fx->db, c), GS_OK);
    snprintf(care_id, sizeof(care_id), "%s", gs_record_id(c));
    gs_record_free(c);

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const vcase *vc = &cases[i];
        int64_t before = tdevice_pending(fx->db);
        int64_t rows = count(fx->db, vc->table);
        gs_record *r;
        int rc = GS_OK;

        assert_int_equal(gs_record_new(fx->db, vc->table, &r), GS_OK);
        if (vc->op == OP_UPDATE_CARE)
            assert_int_equal(gs_record_set_id(r, care_id), GS_OK);
        for (size_t k = 0; k < 8 && vc->fields[k][0] && rc == GS_OK; k++) {
            const char *val = vc->fields[k][1];
            if (strcmp(val, "$R") == 0)
                val = fx->resident;
            else if (strcmp(val, "$R2") == 0)
                val = resident2;
            else if (strcmp(val, "$C") == 0)
                val = care_id;
            else if (strcmp(val, "$LONG") == 0)
                val = long_name;
            else if (strcmp(val, "$HUGE") == 0)
                val = huge;
            else if (strcmp(val, "$GRID65") == 0)
                val = grid65;
            rc = gs_record_set_text(r, vc->fields[k][0], val);
        }
        if (rc != vc->setter_rc)
            fail_msg("%s: setter rc %d (%s), expected %d", vc->what, rc,
                     gs_db_errmsg(fx->db), vc->setter_rc);
        if (rc == GS_OK) {
            rc = vc->op == OP_ADD ? gs_db_add(fx->db, r) : gs_db_update(fx->db, r);
            if (rc != vc->rc)
                fail_msg("%s: rc %d (%s), expected %d", vc->what, rc, gs_db_errmsg(fx->db),
                         vc->rc);
        }
        if (!strstr(gs_db_errmsg(fx->db), vc->needle))
            fail_msg("%s: message '%s' lacks '%s'", vc->what, gs_db_errmsg(fx->db),
                     vc->needle);
        if (tdevice_pending(fx->db) != before || count(fx->db, vc->table) != rows)
            fail_msg("%s: something was written", vc->what);
        gs_record_free(r);
    }
}

static void test_setters_check_types(void **state)
{
    fixture *fx = *state;
    gs_record *r;

    assert_int_equal(gs_record_new(fx->db, "nonsense", &r), GS_E_INVALID);
    assert_non_null(strstr(gs_db_errmsg(fx->db), "nonsense"));
    assert_int_equal(gs_record_new(fx->db, "visit", &r), GS_OK);
    assert_int_equal(gs_record_set_int(r, "kind", 3), GS_E_INVALID);
    assert_non_null(strstr(gs_db_errmsg(fx->db), "visit.kind"));
    assert_int_equal(gs_record_set_bool(r, "notes", 1), GS_E_INVALID);
    assert_int_equal(gs_record_set_time(r, "lat", 1), GS_E_INVALID);
    assert_int_equal(gs_record_add_tag(r, "notes", "x"), GS_E_INVALID);
    assert_int_equal(gs_record_set_ref(r, "resident", "zzz"), GS_E_INVALID);
    assert_int_equal(gs_record_set_id(r, "zzz"), GS_E_INVALID);
    assert_int_equal(gs_record_set_str(r, "kind", "routine"), GS_OK);
    assert_string_equal(gs_db_errmsg(fx->db), "");
    assert_null(gs_record_text(r, "notes"));
    assert_string_equal(gs_record_text(r, "kind"), "routine");
    /* a stored record's id cannot change, and it cannot be added twice */
    gs_record_free(r);
    assert_int_equal(gs_db_get(fx->db, fx->resident, &r), GS_OK);
    assert_int_equal(gs_record_set_id(r, "0193a5f0-7c1e-7b3d-9f00-2c4e5a6b7c8d"), GS_E_STATE);
    assert_int_equal(gs_db_add(fx->db, r), GS_E_STATE);
    gs_record_free(r);
    /* a chosen id already in use */
    assert_int_equal(gs_record_new(fx->db, "resident", &r), GS_OK);
    assert_int_equal(gs_record_set_id(r, fx->resident), GS_OK);
    assert_int_equal(gs_record_set_str(r, "name", "x"), GS_OK);
    assert_int_equal(gs_db_add(fx->db, r), GS_E_EXISTS);
    gs_record_free(r);
}

static void test_list_filters_and_limits(void **state)
{
    fixture *fx = *state;
    const char *kinds[] = {"routine", "dispute", "routine", "service", "routine"};
    gs_list *l;
    gs_record *r;
    int64_t n = 0, prev = INT64_MAX;
    char r2[40], prev_id[40] = "";

    tdevice_add_resident(fx->db, "钱五", 0, r2);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(gs_record_new(fx->db, "visit", &r), GS_OK);
        assert_int_equal(gs_record_set_ref(r, "resident", i == 4 ? r2 : fx->resident), GS_OK);
        assert_int_equal(gs_record_set_str(r, "kind", kinds[i]), GS_OK);
        assert_int_equal(gs_db_add(fx->db, r), GS_OK);
        gs_record_free(r);
    }
    assert_int_equal(gs_list_new(fx->db, "visit", &l), GS_OK);
    assert_int_equal(gs_list_where(l, "kind", "routine"), GS_OK);
    while (gs_list_next(l, &r) == GS_OK && r) {
        const char *k;
        assert_int_equal(gs_record_get_str(r, "kind", &k), GS_OK);
        assert_string_equal(k, "routine");
        /* newest first: by id, and ids are time-ordered to the millisecond (a UUIDv7's first
         * 48 bits; within one millisecond their random bits order them, and the creation
         * clock, read just after, may have ticked) */
        assert_true(prev_id[0] == '\0' || strcmp(gs_record_id(r), prev_id) < 0);
        {
            char ms_hex[13];
            int64_t ms;
            memcpy(ms_hex, gs_record_id(r), 8);
            memcpy(ms_hex + 8, gs_record_id(r) + 9, 4);
            ms_hex[12] = '\0';
            ms = (int64_t)strtoll(ms_hex, NULL, 16);
            assert_true(ms <= prev);
            assert_true((int64_t)(gs_record_created(r) >> 16) >= ms);
            prev = ms;
        }
        snprintf(prev_id, sizeof(prev_id), "%s", gs_record_id(r));
        n++;
        gs_record_free(r);
    }
    gs_list_free(l);
    assert_int_equal(n, 3);

    assert_int_equal(gs_list_new(fx->db, "visit", &l), GS_OK);
    assert_int_equal(gs_list_where(l, "kind", "routine"), GS_OK);
    assert_int_equal(gs_list_where(l, "resident", r2), GS_OK);
    n = 0;
    while (gs_list_next(l, &r) == GS_OK && r) {
        n++;
        gs_record_free(r);
    }
    gs_list_free(l);
    assert_int_equal(n, 1);

    assert_int_equal(gs_list_new(fx->db, "visit", &l), GS_OK);
    assert_int_equal(gs_list_limit(l, 2), GS_OK);
    n = 0;
    while (gs_list_next(l, &r) == GS_OK && r) {
        n++;
        gs_record_free(r);
    }
    gs_list_free(l);
    assert_int_equal(n, 2);

    /* a condition no record could meet is a mistake, named */
    assert_int_equal(gs_list_new(fx->db, "care", &l), GS_OK);
    assert_int_equal(gs_list_where(l, "status", "opne"), GS_E_INVALID);
    assert_non_null(strstr(gs_db_errmsg(fx->db), "care.status"));
    assert_int_equal(gs_list_where(l, "colour", "red"), GS_E_INVALID);
    gs_list_free(l);
    assert_int_equal(gs_list_new(fx->db, "visits", &l), GS_E_INVALID);
}

static void test_list_by_tag(void **state)
{
    fixture *fx = *state;
    gs_record *r;
    gs_list *l;
    int n = 0;

    assert_int_equal(gs_record_new(fx->db, "resident", &r), GS_OK);
    assert_int_equal(gs_record_set_str(r, "name", "孙六"), GS_OK);
    assert_int_equal(gs_record_set_text(r, "tags", "elderly, disabled"), GS_OK);
    assert_int_equal(gs_db_add(fx->db, r), GS_OK);
    gs_record_free(r);
    assert_int_equal(gs_list_new(fx->db, "resident", &l), GS_OK);
    assert_int_equal(gs_list_where(l, "tags", "disabled"), GS_OK);
    while (gs_list_next(l, &r) == GS_OK && r) {
        n++;
        gs_record_free(r);
    }
    gs_list_free(l);
    assert_int_equal(n, 1);
}

static void test_batch_commit_and_rollback(void **state)
{
    fixture *fx = *state;
    gs_record *r;
    int64_t before = tdevice_pending(fx->db);

    assert_int_equal(gs_db_begin(fx->db), GS_OK);
    assert_int_equal(gs_db_begin(fx->db), GS_E_STATE);
    for (int i = 0; i < 50; i++) {
        assert_int_equal(gs_record_new(fx->db, "visit", &r), GS_OK);
        assert_int_equal(gs_record_set_ref(r, "resident", fx->resident), GS_OK);
        assert_int_equal(gs_record_set_str(r, "kind", i == 7 ? "bogus" : "routine"), GS_OK);
        /* a bad record inside a batch fails alone */
        assert_int_equal(gs_db_add(fx->db, r), i == 7 ? GS_E_INVALID : GS_OK);
        gs_record_free(r);
    }
    assert_int_equal(gs_db_rollback(fx->db), GS_OK);
    assert_int_equal(tdevice_pending(fx->db), before);
    assert_int_equal(count(fx->db, "visit"), 0);

    assert_int_equal(gs_db_begin(fx->db), GS_OK);
    for (int i = 0; i < 50; i++) {
        assert_int_equal(gs_record_new(fx->db, "visit", &r), GS_OK);
        assert_int_equal(gs_record_set_ref(r, "resident", fx->resident), GS_OK);
        assert_int_equal(gs_record_set_str(r, "kind", i == 7 ? "bogus" : "routine"), GS_OK);
        gs_db_add(fx->db, r);
        gs_record_free(r);
    }
    assert_int_equal(gs_db_commit(fx->db), GS_OK);
    assert_int_equal(gs_db_commit(fx->db), GS_E_STATE);
    assert_int_equal(tdevice_pending(fx->db), before + 49);
    assert_int_equal(count(fx->db, "visit"), 49);
}

static void test_persists_across_reopen(void **state)
{
    fixture *fx = *state;
    gs_record *r;
    const char *s;

    gs_db_close(fx->db);
    assert_int_equal(gs_db_open(fx->path, &fx->db), GS_OK);
    assert_int_equal(gs_db_get(fx->db, fx->resident, &r), GS_OK);
    assert_int_equal(gs_record_get_str(r, "name", &s), GS_OK);
    assert_string_equal(s, "王秀英");
    gs_record_free(r);
    assert_int_equal(tdevice_pending(fx->db), 1);
}

/* ---- import ---- */

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

typedef struct bad_lines {
    int64_t lines[16];   /* line numbers reported */
    char msgs[16][256];  /* their messages */
    int n;               /* reported */
} bad_lines;

static int on_bad(void *ud, int64_t line, const char *msg)
{
    bad_lines *b = ud;
    if (b->n < 16) {
        b->lines[b->n] = line;
        snprintf(b->msgs[b->n], sizeof(b->msgs[0]), "%s", msg);
    }
    b->n++;
    return 0;
}

static void test_import_good_twice_and_forward_refs(void **state)
{
    fixture *fx = *state;
    char path[160];
    gs_import_stats st;
    bad_lines bl;
    gs_record *r;
    const char *s;
    /* the visit comes before the resident it refers to */
    const char *text =
        "\xEF\xBB\xBF{\"type\":\"visit\",\"id\":\"0193a5f0-7c1e-7b3d-9f00-000000000002\","
        "\"resident\":\"0193a5f0-7c1e-7b3d-9f00-000000000001\",\"kind\":\"dispute\","
        "\"visited_at\":\"2026-11-27T09:30:00+08:00\",\"notes\":\"邻里因宅基地边界发生争执\"}\n"
        "\n"
        "{\"type\":\"resident\",\"id\":\"0193a5f0-7c1e-7b3d-9f00-000000000001\","
        "\"name\":\"周七\",\"born\":1950,\"tags\":[\"elderly\"]}\r\n"
        "{\"type\":\"care\",\"resident\":\"0193a5f0-7c1e-7b3d-9f00-000000000001\","
        "\"category\":\"meal\",\"due_at\":1796054400000}\n";

    snprintf(path, sizeof(path), "%s/in.jsonl", fx->dir);
    write_file(path, text);
    memset(&bl, 0, sizeof(bl));
    if (gs_db_import(fx->db, path, on_bad, &bl, &st) != GS_OK)
        fail_msg("import: %s (%s)", gs_db_errmsg(fx->db), bl.msgs[0]);
    assert_int_equal(st.lines, 3);
    assert_int_equal(st.added, 3);
    assert_int_equal(st.skipped, 0);
    assert_int_equal(st.bad, 0);
    assert_int_equal(gs_db_get(fx->db, "0193a5f0-7c1e-7b3d-9f00-000000000002", &r), GS_OK);
    assert_int_equal(gs_record_get_str(r, "notes", &s), GS_OK);
    assert_string_equal(s, "邻里因宅基地边界发生争执");
    assert_string_equal(gs_record_text(r, "visited_at"), "2026-11-27T01:30:00Z");
    gs_record_free(r);
    int64_t p = tdevice_pending(fx->db);

    /* the same file again: the lines with ids are skipped; the one without adds again */
    write_file(path, "{\"type\":\"resident\",\"id\":\"0193a5f0-7c1e-7b3d-9f00-000000000001\","
                     "\"name\":\"周七\",\"born\":1950,\"tags\":[\"elderly\"]}\n"
                     "{\"type\":\"visit\",\"id\":\"0193a5f0-7c1e-7b3d-9f00-000000000002\","
                     "\"resident\":\"0193a5f0-7c1e-7b3d-9f00-000000000001\",\"kind\":"
                     "\"dispute\",\"visited_at\":\"2026-11-27T01:30:00Z\","
                     "\"notes\":\"邻里因宅基地边界发生争执\"}\n");
    assert_int_equal(gs_db_import(fx->db, path, on_bad, &bl, &st), GS_OK);
    assert_int_equal(st.added, 0);
    assert_int_equal(st.skipped, 2);
    assert_int_equal(tdevice_pending(fx->db), p);
}

/* Each referenced record is looked up once, however many lines point at it; the lines
 * with a bad reference are still each reported, in line order. */
static void test_import_bad_references_in_line_order(void **state)
{
    fixture *fx = *state;
    char path[160], text[2048];
    gs_import_stats st;
    bad_lines bl;
    static const char *const x = "0193a5f0-7c1e-7b3d-9f00-0000000000ff";
    static const char *const y = "0193a5f0-7c1e-7b3d-9f00-000000000001"; /* sorts first */

    snprintf(text, sizeof(text),
             "{\"type\":\"visit\",\"resident\":\"%s\",\"kind\":\"routine\"}\n"
             "{\"type\":\"visit\",\"resident\":\"%s\",\"kind\":\"routine\"}\n"
             "{\"type\":\"visit\",\"resident\":\"%s\",\"kind\":\"routine\"}\n"
             "{\"type\":\"visit\",\"resident\":\"%s\",\"kind\":\"routine\"}\n"
             "{\"type\":\"visit\",\"resident\":\"%s\",\"kind\":\"routine\"}\n"
             "{\"type\":\"visit\",\"resident\":\"%s\",\"kind\":\"walk\"}\n",
             fx->resident, x, y, x, fx->resident, x);
    snprintf(path, sizeof(path), "%s/refs.jsonl", fx->dir);
    write_file(path, text);
    memset(&bl, 0, sizeof(bl));
    assert_int_equal(gs_db_import(fx->db, path, on_bad, &bl, &st), GS_E_INVALID);
    /* line 6 is bad for its kind, and said so once (its reference is not checked too) */
    assert_int_equal(st.bad, 4);
    assert_int_equal(bl.n, 4);
    assert_int_equal(bl.lines[0], 6);
    assert_non_null(strstr(bl.msgs[0], "visit.kind"));
    assert_int_equal(bl.lines[1], 2);
    assert_int_equal(bl.lines[2], 3);
    assert_int_equal(bl.lines[3], 4);
    assert_non_null(strstr(bl.msgs[1], x));
    assert_non_null(strstr(bl.msgs[2], y));
    assert_non_null(strstr(bl.msgs[3], x));
}

static void test_import_bad_lines_write_nothing(void **state)
{
    fixture *fx = *state;
    char path[160];
    gs_import_stats st;
    bad_lines bl;
    int64_t p = tdevice_pending(fx->db);
    char text[2048];

    snprintf(text, sizeof(text),
             "{\"type\":\"resident\",\"name\":\"好人\"}\n"
             "{\"type\":\"visit\",\"resident\":\"%s\",\"kind\":\"walk\"}\n"
             "not json\n"
             "{\"type\":\"resident\",\"name\":\"x\",\"born\":\"1950\"}\n"
             "{\"type\":\"visit\",\"resident\":\"0193a5f0-7c1e-7b3d-9f00-0000000000ff\","
             "\"kind\":\"routine\"}\n"
             "{\"type\":\"unicorn\"}\n"
             "{\"type\":\"resident\",\"id\":\"%s\",\"name\":\"改名\"}\n"
             "{\"type\":\"resident\",\"name\":\"y\",\"colour\":\"red\"}\n",
             fx->resident, fx->resident);
    snprintf(path, sizeof(path), "%s/bad.jsonl", fx->dir);
    write_file(path, text);
    memset(&bl, 0, sizeof(bl));
    assert_int_equal(gs_db_import(fx->db, path, on_bad, &bl, &st), GS_E_INVALID);
    assert_int_equal(st.lines, 8);
    assert_int_equal(st.bad, 7);
    assert_int_equal(st.added, 0);
    assert_int_equal(bl.n, 7);
    static const struct {
        int64_t line;
        const char *needle;
    } want[] = {
        {2, "visit.kind"},      {3, "not valid JSON"},          {4, "resident.born"},
        {6, "unicorn"},         {7, "resident.name: differs"},  {8, "colour"},
        {5, "visit.resident: there is no resident"}, /* references are checked last */
    };
    for (int i = 0; i < 7; i++) {
        char prefix[32];
        snprintf(prefix, sizeof(prefix), "line %lld: ", (long long)want[i].line);
        if (bl.lines[i] != want[i].line || strncmp(bl.msgs[i], prefix, strlen(prefix)) != 0 ||
            !strstr(bl.msgs[i], want[i].needle))
            fail_msg("report %d: line %lld '%s', wanted line %lld with '%s'", i,
                     (long long)bl.lines[i], bl.msgs[i], (long long)want[i].line,
                     want[i].needle);
    }
    assert_non_null(strstr(gs_db_errmsg(fx->db), "nothing was imported"));
    assert_int_equal(tdevice_pending(fx->db), p);
    assert_int_equal(count(fx->db, "resident"), 1);
    snprintf(path, sizeof(path), "%s/missing.jsonl", fx->dir);
    assert_int_equal(gs_db_import(fx->db, path, NULL, NULL, &st), GS_E_NOTFOUND);
}

/* ---- allocation failure ---- */

static void test_alloc_failure_loops(void **state)
{
    fixture *fx = *state;
    int64_t before = tdevice_pending(fx->db);
    int rc = GS_E_NOMEM, n;

    /* gs_record_new + setters + gs_db_add, failing the nth allocation each time */
    for (n = 0; n < 1000; n++) {
        gs_record *r = NULL;
        gs_alloc_fail_after(n);
        rc = gs_record_new(fx->db, "visit", &r);
        if (rc == GS_OK)
            rc = gs_record_set_ref(r, "resident", fx->resident);
        if (rc == GS_OK)
            rc = gs_record_set_str(r, "kind", "service");
        if (rc == GS_OK)
            rc = gs_record_set_str(r, "notes", "帮忙代缴电费");
        if (rc == GS_OK)
            rc = gs_db_add(fx->db, r);
        gs_alloc_fail_after(-1);
        gs_record_free(r);
        if (rc == GS_OK)
            break;
        if (rc != GS_E_NOMEM)
            fail_msg("allocation %d: rc %d (%s), expected GS_E_NOMEM", n, rc,
                     gs_db_errmsg(fx->db));
        assert_int_equal(tdevice_pending(fx->db), before); /* nothing half-written */
    }
    assert_int_equal(rc, GS_OK);
    assert_true(n > 3);
    assert_int_equal(tdevice_pending(fx->db), before + 1);

    /* gs_db_get */
    for (n = 0; n < 1000; n++) {
        gs_record *r = NULL;
        gs_alloc_fail_after(n);
        rc = gs_db_get(fx->db, fx->resident, &r);
        gs_alloc_fail_after(-1);
        gs_record_free(r);
        if (rc == GS_OK)
            break;
        assert_int_equal(rc, GS_E_NOMEM);
    }
    assert_int_equal(rc, GS_OK);

    /* gs_db_open of an existing database */
    for (n = 0; n < 1000; n++) {
        gs_db *db = NULL;
        gs_alloc_fail_after(n);
        rc = gs_db_open(fx->path, &db);
        gs_alloc_fail_after(-1);
        gs_db_close(db);
        if (rc == GS_OK)
            break;
        assert_int_equal(rc, GS_E_NOMEM);
    }
    assert_int_equal(rc, GS_OK);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rc_codes_match_library),
        cmocka_unit_test(test_open_bad_path_reports),
        T(test_device_settings_and_status),
        T(test_status_shows_every_grid),
        T(test_add_get_round_trip_every_type),
        T(test_json_of_record),
        T(test_update_and_delete),
        T(test_validation_table),
        T(test_setters_check_types),
        T(test_list_filters_and_limits),
        T(test_list_by_tag),
        T(test_batch_commit_and_rollback),
        T(test_persists_across_reopen),
        T(test_import_good_twice_and_forward_refs),
        T(test_import_bad_lines_write_nothing),
        T(test_import_bad_references_in_line_order),
        T(test_alloc_failure_loops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
