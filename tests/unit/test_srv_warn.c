/*
 * test_srv_warn.c: the warning rules (server/warn.c, server/rules.c) on a real store file,
 * changes merged as a device's batches are (merge_batch with the rules watching, then
 * warn_settle) and the sweep run at chosen times (the rules' clock is the batch's now):
 * - each rule opens at its threshold and not a millisecond before, with its level, grid,
 *   subject and a Chinese title naming the subject;
 * - it clears when its condition ends (a visit, a care request done, a closing visit, a
 *   sync), and a condition that returns opens a new warning, never a second open one;
 * - sweeping again, or after the store is closed and opened again, opens nothing twice;
 *   a sweep that fails half-way (an injected store fault) leaves nothing, and the next
 *   one does the work once;
 * - rules = 0 or rules_disabled keep a rule quiet.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hlc.h"
#include "common/uuid.h"
#include "server/merge.h"
#include "server/rules.h"
#include "server/store.h"
#include "server/warn.h"
#include "tests/lib/tdir.h"
#include "tests/lib/tvalue.h"

#define DAY INT64_C(86400000)
#define HOUR INT64_C(3600000)

static const int64_t T0 = INT64_C(1795000000000); /* 2026-11-18 */

typedef struct fx {
    char dir[TDIR_MAX];
    char path[TDIR_MAX + 16];
    store *st;
    int64_t now;          /* the wall clock of the server and its rules */
    hlc clock;
    gs_arena arena;
    rules_config cfg;
    store_device a;       /* d-a, grid g1 */
    uint64_t seq;
} fx;

static uint64_t fake_now(void *ud)
{
    return (uint64_t)((fx *)ud)->now;
}

static void add_device(fx *f)
{
    gs_err err;
    memset(&f->a, 0, sizeof(f->a));
    snprintf(f->a.id, sizeof(f->a.id), "d-a");
    snprintf(f->a.name, sizeof(f->a.name), "张三的手机");
    snprintf(f->a.grids[0], sizeof(f->a.grids[0]), "g1");
    f->a.n_grids = 1;
    assert_int_equal(store_begin(f->st, &err), GS_OK);
    assert_int_equal(store_device_add(f->st, &f->a, &err), GS_OK);
    assert_int_equal(store_commit(f->st, &err), GS_OK);
    assert_int_equal(store_device_get(f->st, "d-a", 3, &f->a, &err), GS_OK);
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    gs_err err;

    assert_int_equal(tdir_make(f->dir, "warn"), 0);
    snprintf(f->path, sizeof(f->path), "%s/s.db", f->dir);
    assert_int_equal(store_open(&f->st, f->path, &err), GS_OK);
    f->now = T0;
    hlc_init(&f->clock, 0, 300000, fake_now, f);
    arena_init(&f->arena, SVAL_ARENA_MAX);
    rules_defaults(&f->cfg);
    /* the tests move the clock days ahead without syncing: the device-silent rule would join
     * every sweep; test_hazard_and_silent_device turns it on */
    snprintf(f->cfg.disabled, sizeof(f->cfg.disabled), "device_silent");
    add_device(f);
    f->seq = 1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    store_close(f->st);
    arena_free(&f->arena);
    assert_int_equal(tdir_remove(f->dir), 0);
    free(f);
    return 0;
}

/* Pushes changes c[0..n) of device A as one batch (seqs and clocks set here), the rules
 * watching, then settles them. */
static void push_batch(fx *f, proto_change *c, uint32_t n)
{
    proto_sync_req req;
    proto_ack acks[128];
    merge_ctx m;
    warn_batch wb;
    gs_err err;

    assert_true(n <= 128);
    memset(&req, 0, sizeof(req));
    req.version = 2;
    req.device = proto_cstr(f->a.id);
    req.low = f->seq;
    for (uint32_t i = 0; i < n; i++) {
        c[i].seq = f->seq++;
        c[i].hlc = hlc_pack((uint64_t)f->now, i);
    }
    req.changes = c;
    req.n_changes = n;
    merge_init(&m, f->st, &f->clock, &f->arena, f->now);
    warn_init(&wb, &f->cfg, f->st, &f->clock, &f->arena, f->now);
    m.warn = &wb;
    assert_int_equal(store_begin(f->st, &err), GS_OK);
    if (merge_batch(&m, &f->a, &req, acks, &err) || warn_on_sync(&wb, &f->a, &err) ||
        warn_settle(&wb, &err))
        fail_msg("push: %s", err.msg);
    for (uint32_t i = 0; i < n; i++)
        if (!acks[i].ok)
            fail_msg("push rejected: %.*s", (int)acks[i].msg.len, acks[i].msg.ptr);
    assert_int_equal(store_commit(f->st, &err), GS_OK);
}

static void push(fx *f, const char *tbl, const uint8_t id[16], proto_field *fields, uint32_t n)
{
    proto_change c;

    memset(&c, 0, sizeof(c));
    c.table = proto_cstr(tbl);
    memcpy(c.id, id, 16);
    c.fields = fields;
    c.n_fields = n;
    push_batch(f, &c, 1);
}

/* The sweep as of f->now; returns the warnings it opened minus those it cleared * 1000. */
static void sweep(fx *f, uint32_t *opened, uint32_t *cleared)
{
    warn_batch wb;
    uint32_t n;
    gs_err err;

    warn_init(&wb, &f->cfg, f->st, &f->clock, &f->arena, f->now);
    assert_int_equal(store_begin(f->st, &err), GS_OK);
    if (warn_sweep(&wb, 1000, &n, &err))
        fail_msg("sweep: %s", err.msg);
    assert_int_equal(store_commit(f->st, &err), GS_OK);
    *opened = wb.n_opened;
    *cleared = wb.n_cleared;
}

typedef struct warning_row {
    char rule[32], grid[32], subject[64], subject_type[16], level[16], state[16];
    char title[400];
    int64_t since, cleared_at;
} warning_row;

/* Every warning record in the store, as a second connection reads it (what is committed). */
static int read_warnings(fx *f, warning_row *out, int cap)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    int n = 0;
    gs_err err;

    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT id FROM records WHERE tbl = 'warning' "
                                            "ORDER BY rowid",
                                        -1, &st, NULL),
                     SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW && n < cap) {
        store_rec r;
        warning_row *w = &out[n++];
        memset(w, 0, sizeof(*w));
        assert_int_equal(store_rec_get(f->st, "warning", sqlite3_column_blob(st, 0), &f->arena,
                                       &r, &err),
                         GS_OK);
        for (uint32_t i = 0; i < r.n; i++) {
            const proto_value *v = &r.f[i].value;
            char *dst = NULL;
            size_t cap_dst = 0;
            if (strcmp(r.names[i], "rule") == 0) dst = w->rule, cap_dst = sizeof(w->rule);
            if (strcmp(r.names[i], "grid") == 0) dst = w->grid, cap_dst = sizeof(w->grid);
            if (strcmp(r.names[i], "subject") == 0) dst = w->subject, cap_dst = sizeof(w->subject);
            if (strcmp(r.names[i], "subject_type") == 0)
                dst = w->subject_type, cap_dst = sizeof(w->subject_type);
            if (strcmp(r.names[i], "level") == 0) dst = w->level, cap_dst = sizeof(w->level);
            if (strcmp(r.names[i], "state") == 0) dst = w->state, cap_dst = sizeof(w->state);
            if (strcmp(r.names[i], "title") == 0) dst = w->title, cap_dst = sizeof(w->title);
            if (dst && v->type == PV_STR)
                snprintf(dst, cap_dst, "%.*s", (int)v->u.s.len, v->u.s.ptr);
            if (strcmp(r.names[i], "since") == 0 && v->type == PV_INT)
                w->since = v->u.i;
            if (strcmp(r.names[i], "cleared_at") == 0 && v->type == PV_INT)
                w->cleared_at = v->u.i;
        }
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

static int count_state(fx *f, const char *rule, const char *state)
{
    warning_row w[32];
    int n = read_warnings(f, w, 32), k = 0;
    for (int i = 0; i < n; i++)
        k += strcmp(w[i].rule, rule) == 0 && strcmp(w[i].state, state) == 0;
    return k;
}

static void resident(fx *f, uint8_t id[16], const char *name, const char *tag)
{
    proto_str tags[1] = {proto_cstr(tag)};
    proto_field fs[3] = {tv_field("name", tv_str(name), 0), tv_field("grid", tv_str("g1"), 0),
                         tv_field("tags", tv_tags(tags, 1), 0)};
    assert_int_equal(uuid_v7(id, (uint64_t)f->now), GS_OK);
    push(f, "resident", id, fs, tag ? 3 : 2);
}

static void visit(fx *f, const uint8_t rid[16], const char *kind, int follow_up)
{
    uint8_t id[16];
    proto_field fs[6] = {tv_field("resident", tv_ref(rid), 0), tv_field("grid", tv_str("g1"), 0),
                         tv_field("worker", tv_str("张三"), 0),
                         tv_field("visited_at", tv_int(f->now), 0),
                         tv_field("kind", tv_str(kind), 0),
                         tv_field("follow_up", tv_bool(follow_up), 0)};
    assert_int_equal(uuid_v7(id, (uint64_t)f->now), GS_OK);
    push(f, "visit", id, fs, 6);
}

static void test_unvisited_opens_at_threshold_clears_and_reopens(void **state)
{
    fx *f = *state;
    uint8_t rid[16];
    uint32_t o, c;
    warning_row w[8];

    resident(f, rid, "王秀英", "lives_alone");
    f->now = T0 + 7 * DAY - 1;
    sweep(f, &o, &c);
    assert_int_equal(o, 0);
    assert_int_equal(read_warnings(f, w, 8), 0);
    f->now = T0 + 7 * DAY;
    sweep(f, &o, &c);
    assert_int_equal(o, 1);
    assert_int_equal(read_warnings(f, w, 8), 1);
    assert_string_equal(w[0].rule, "unvisited_vulnerable");
    assert_string_equal(w[0].state, "open");
    assert_string_equal(w[0].level, "attention");
    assert_string_equal(w[0].grid, "g1");
    assert_string_equal(w[0].subject_type, "resident");
    assert_string_equal(w[0].title, "独居老人王秀英已7天未走访");
    assert_int_equal(w[0].since, T0);
    {
        char text[UUID_TEXT_LEN + 1];
        uuid_format(rid, text);
        assert_string_equal(w[0].subject, text);
    }
    /* again, later, and after a restart: nothing doubles */
    f->now += HOUR;
    sweep(f, &o, &c);
    assert_int_equal(o + c, 0);
    {
        gs_err err;
        store_close(f->st);
        assert_int_equal(store_open(&f->st, f->path, &err), GS_OK);
    }
    sweep(f, &o, &c);
    assert_int_equal(o + c, 0);
    assert_int_equal(read_warnings(f, w, 8), 1);
    /* a visit clears it */
    f->now = T0 + 8 * DAY;
    visit(f, rid, "elderly_checkin", 0);
    assert_int_equal(read_warnings(f, w, 8), 1);
    assert_string_equal(w[0].state, "cleared");
    assert_int_equal(w[0].cleared_at, T0 + 8 * DAY);
    /* seven days after that visit, a new warning: one open, one cleared */
    f->now = T0 + 15 * DAY - 1;
    sweep(f, &o, &c);
    assert_int_equal(o, 0);
    f->now = T0 + 15 * DAY;
    sweep(f, &o, &c);
    assert_int_equal(o, 1);
    assert_int_equal(count_state(f, "unvisited_vulnerable", "open"), 1);
    assert_int_equal(count_state(f, "unvisited_vulnerable", "cleared"), 1);
    /* an elderly resident waits 14 days; one without a watched tag never */
    {
        uint8_t old[16], plain[16];
        f->now = T0 + 20 * DAY;
        resident(f, old, "李大爷", "elderly");
        resident(f, plain, "赵六", "veteran");
        f->now = T0 + 34 * DAY - 1;
        sweep(f, &o, &c);
        assert_int_equal(o, 0);
        f->now = T0 + 34 * DAY;
        sweep(f, &o, &c);
        assert_int_equal(o, 1); /* 李大爷; 王秀英's second warning is still open */
        assert_int_equal(count_state(f, "unvisited_vulnerable", "open"), 2);
    }
}

static void test_care_overdue_by_priority_and_done_clears(void **state)
{
    fx *f = *state;
    uint8_t rid[16], cid[16];
    uint32_t o, c;
    warning_row w[8];
    proto_field fs[6];

    resident(f, rid, "王秀英", NULL);
    assert_int_equal(uuid_v7(cid, (uint64_t)f->now), GS_OK);
    fs[0] = tv_field("resident", tv_ref(rid), 0);
    fs[1] = tv_field("grid", tv_str("g1"), 0);
    fs[2] = tv_field("category", tv_str("meal"), 0);
    fs[3] = tv_field("priority", tv_str("urgent"), 0);
    fs[4] = tv_field("status", tv_str("open"), 0);
    fs[5] = tv_field("requested_at", tv_int(f->now), 0);
    push(f, "care", cid, fs, 6);
    f->now = T0 + 24 * HOUR - 1;
    sweep(f, &o, &c);
    assert_int_equal(o, 0);
    f->now = T0 + 24 * HOUR;
    sweep(f, &o, &c);
    assert_int_equal(o, 1);
    assert_int_equal(read_warnings(f, w, 8), 1);
    assert_string_equal(w[0].rule, "care_overdue");
    assert_string_equal(w[0].level, "urgent");
    assert_string_equal(w[0].subject_type, "care");
    assert_string_equal(w[0].title, "王秀英的助餐需求（紧急）已超过24小时未办结");
    {
        store_record rec;
        gs_err err;
        proto_field done = tv_field("status", tv_str("done"), 0);
        assert_int_equal(store_record_get(f->st, "care", cid, &rec, &err), GS_OK);
        done.ver = rec.version;
        f->now += HOUR;
        push(f, "care", cid, &done, 1);
    }
    assert_int_equal(count_state(f, "care_overdue", "cleared"), 1);
    f->now += 30 * DAY;
    sweep(f, &o, &c);
    assert_int_equal(o + c, 0);
}

static void test_disputes_repeated_open_and_closed(void **state)
{
    fx *f = *state;
    uint8_t rid[16];
    uint32_t o, c;

    resident(f, rid, "王秀英", NULL);
    visit(f, rid, "dispute", 1);
    f->now += DAY;
    visit(f, rid, "dispute", 1);
    assert_int_equal(count_state(f, "dispute_repeated", "open"), 0);
    f->now += DAY;
    visit(f, rid, "dispute", 1); /* the third within 30 days: at once */
    assert_int_equal(count_state(f, "dispute_repeated", "open"), 1);
    /* the disputes with follow-up: open 15 days after the first */
    f->now = T0 + 15 * DAY - 1;
    sweep(f, &o, &c);
    assert_int_equal(count_state(f, "dispute_open", "open"), 0);
    f->now = T0 + 15 * DAY;
    sweep(f, &o, &c);
    assert_int_equal(count_state(f, "dispute_open", "open"), 1);
    f->now = T0 + 17 * DAY;
    sweep(f, &o, &c);
    assert_int_equal(count_state(f, "dispute_open", "open"), 3);
    /* a closing dispute visit (no follow-up) closes all three; it counts as a fourth
     * dispute, so the repeated one stays */
    f->now = T0 + 18 * DAY;
    visit(f, rid, "dispute", 0);
    assert_int_equal(count_state(f, "dispute_open", "open"), 0);
    assert_int_equal(count_state(f, "dispute_open", "cleared"), 3);
    assert_int_equal(count_state(f, "dispute_repeated", "open"), 1);
    /* the four are at T0, +1, +2 and +18 days: 30 days after the third latest (+1 day)
     * only two remain within the window, and it clears */
    f->now = T0 + 31 * DAY - 1;
    sweep(f, &o, &c);
    assert_int_equal(count_state(f, "dispute_repeated", "open"), 1);
    f->now = T0 + 31 * DAY;
    sweep(f, &o, &c);
    assert_int_equal(count_state(f, "dispute_repeated", "open"), 0);
    assert_int_equal(count_state(f, "dispute_repeated", "cleared"), 1);
}

/* A hazard reported with follow-up and closed by a later visit in the same batch (one sync
 * after a day offline): nothing is left open, and nothing opens three days on. */
static void test_closed_in_the_same_batch(void **state)
{
    fx *f = *state;
    uint8_t rid[16], v1[16], v2[16];
    proto_field a[6], b[6];
    proto_change c[2];
    uint32_t o, cl;
    warning_row w[4];
    gs_err err;
    store_watch row;
    char text[UUID_TEXT_LEN + 1];

    resident(f, rid, "王秀英", NULL);
    assert_int_equal(uuid_v7(v1, (uint64_t)f->now), GS_OK);
    assert_int_equal(uuid_v7(v2, (uint64_t)f->now + 1), GS_OK);
    a[0] = tv_field("resident", tv_ref(rid), 0);
    a[1] = tv_field("grid", tv_str("g1"), 0);
    a[2] = tv_field("worker", tv_str("张三"), 0);
    a[3] = tv_field("visited_at", tv_int(f->now), 0);
    a[4] = tv_field("kind", tv_str("safety_hazard"), 0);
    a[5] = tv_field("follow_up", tv_bool(1), 0);
    memcpy(b, a, sizeof(b));
    b[3] = tv_field("visited_at", tv_int(f->now + HOUR), 0);
    b[5] = tv_field("follow_up", tv_bool(0), 0);
    memset(c, 0, sizeof(c));
    c[0] = (proto_change){.table = proto_cstr("visit"), .fields = a, .n_fields = 6};
    c[1] = (proto_change){.table = proto_cstr("visit"), .fields = b, .n_fields = 6};
    memcpy(c[0].id, v1, 16);
    memcpy(c[1].id, v2, 16);
    push_batch(f, c, 2);
    uuid_format(v1, text);
    assert_int_equal(store_watch_get(f->st, "hazard_open", text, &row, &err), GS_E_NOTFOUND);
    f->now += 3 * DAY;
    sweep(f, &o, &cl);
    assert_int_equal(o, 0);
    assert_int_equal(read_warnings(f, w, 4), 0);
    /* both visits counted in the grid's day (Beijing time), for the dashboard */
    {
        sqlite3 *db;
        sqlite3_stmt *st;
        assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(db, "SELECT day, n FROM visit_days WHERE grid = 'g1'",
                                            -1, &st, NULL),
                         SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_int_equal(sqlite3_column_int64(st, 0), (T0 + 8 * HOUR) / DAY);
        assert_int_equal(sqlite3_column_int64(st, 1), 2);
        assert_int_equal(sqlite3_step(st), SQLITE_DONE);
        sqlite3_finalize(st);
        sqlite3_close(db);
    }
}

static void test_hazard_and_silent_device(void **state)
{
    fx *f = *state;
    uint8_t rid[16];
    uint32_t o, c;
    warning_row w[8];

    f->cfg.disabled[0] = '\0';
    resident(f, rid, "王秀英", NULL); /* also a sync of d-a at T0 */
    visit(f, rid, "safety_hazard", 1);
    f->now = T0 + 3 * DAY;
    sweep(f, &o, &c);
    assert_int_equal(o, 2); /* the hazard and the silent device */
    assert_int_equal(read_warnings(f, w, 8), 2);
    for (int i = 0; i < 2; i++) {
        if (strcmp(w[i].rule, "hazard_open") == 0) {
            assert_string_equal(w[i].level, "urgent");
            assert_string_equal(w[i].title, "王秀英处的安全隐患已3天未整改");
        } else {
            assert_string_equal(w[i].rule, "device_silent");
            assert_string_equal(w[i].level, "notice");
            assert_string_equal(w[i].subject, "d-a");
            assert_string_equal(w[i].title, "设备张三的手机（d-a）已3天未同步");
        }
    }
    /* the device syncs a closing hazard visit: both clear */
    visit(f, rid, "safety_hazard", 0);
    assert_int_equal(count_state(f, "hazard_open", "cleared"), 1);
    assert_int_equal(count_state(f, "device_silent", "cleared"), 1);
}

static void test_rules_off_and_disabled(void **state)
{
    fx *f = *state;
    uint8_t rid[16];
    uint32_t o, c;
    warning_row w[8];

    snprintf(f->cfg.disabled, sizeof(f->cfg.disabled), "device_silent, unvisited_vulnerable");
    resident(f, rid, "王秀英", "lives_alone");
    f->now = T0 + 30 * DAY;
    sweep(f, &o, &c);
    assert_int_equal(read_warnings(f, w, 8), 0);
    f->cfg.disabled[0] = '\0';
    f->cfg.enabled = 0;
    visit(f, rid, "dispute", 1);
    visit(f, rid, "dispute", 1);
    visit(f, rid, "dispute", 1);
    f->now += 30 * DAY;
    sweep(f, &o, &c);
    assert_int_equal(read_warnings(f, w, 8), 0);
    assert_true(rule_on(&f->cfg, RULE_CARE_OVERDUE) == 0);
    f->cfg.enabled = 1;
    assert_true(rule_on(&f->cfg, RULE_CARE_OVERDUE));
}

static void test_failed_sweep_leaves_nothing(void **state)
{
    fx *f = *state;
    uint8_t r1[16], r2[16];
    warn_batch wb;
    uint32_t n, o, c;
    warning_row w[8];
    gs_err err;
    int failed = 0;

    resident(f, r1, "王秀英", "lives_alone");
    resident(f, r2, "李大爷", "special_care");
    f->now = T0 + 7 * DAY;
    /* fail at each statement of the sweep in turn: never a warning without its row */
    for (long k = 1; k < 40; k++) {
        warn_init(&wb, &f->cfg, f->st, &f->clock, &f->arena, f->now);
        assert_int_equal(store_begin(f->st, &err), GS_OK);
        store_inject_fault(f->st, k);
        if (warn_sweep(&wb, 1000, &n, &err) == GS_OK) {
            store_inject_fault(f->st, -1);
            store_rollback(f->st); /* it worked: undo, the loop is done */
            break;
        }
        store_inject_fault(f->st, -1);
        store_rollback(f->st);
        failed++;
        assert_int_equal(read_warnings(f, w, 8), 0);
    }
    assert_true(failed >= 3);
    sweep(f, &o, &c);
    assert_int_equal(o, 2);
    sweep(f, &o, &c);
    assert_int_equal(o, 0);
    assert_int_equal(count_state(f, "unvisited_vulnerable", "open"), 2);
}

static int64_t visit_days_total(fx *f)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    int64_t n = -1;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT coalesce(sum(n), 0) FROM visit_days", -1, &st,
                                        NULL),
                     SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

/* A batch counts its visits per (grid, day) and writes each pair once: 80 visits on 40
 * days (more days than it keeps before writing) add up to 2 a day, on top of what an
 * earlier batch counted. */
static void test_visit_days_counted_per_batch(void **state)
{
    fx *f = *state;
    enum { DAYS = 40, PER_DAY = 2, N = DAYS * PER_DAY };
    uint8_t rid[16];
    proto_field fields[N][6];
    proto_change c[N];
    sqlite3 *db;
    sqlite3_stmt *st;
    int days = 0;

    resident(f, rid, "王秀英", NULL);
    visit(f, rid, "routine", 0); /* today, in its own batch */
    memset(c, 0, sizeof(c));
    for (int i = 0; i < N; i++) {
        int64_t at = f->now - (int64_t)(i / PER_DAY) * DAY;
        fields[i][0] = tv_field("resident", tv_ref(rid), 0);
        fields[i][1] = tv_field("grid", tv_str("g1"), 0);
        fields[i][2] = tv_field("worker", tv_str("张三"), 0);
        fields[i][3] = tv_field("visited_at", tv_int(at), 0);
        fields[i][4] = tv_field("kind", tv_str("routine"), 0);
        fields[i][5] = tv_field("follow_up", tv_bool(0), 0);
        c[i] = (proto_change){.table = proto_cstr("visit"), .fields = fields[i], .n_fields = 6};
        assert_int_equal(uuid_v7(c[i].id, (uint64_t)f->now + 1 + (uint64_t)i), GS_OK);
    }
    push_batch(f, c, N);
    assert_int_equal(visit_days_total(f), N + 1);
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT day, n FROM visit_days WHERE grid = 'g1' "
                                            "ORDER BY day DESC",
                                        -1, &st, NULL),
                     SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
        assert_int_equal(sqlite3_column_int64(st, 0), (f->now + 8 * HOUR) / DAY - days);
        assert_int_equal(sqlite3_column_int64(st, 1), days == 0 ? PER_DAY + 1 : PER_DAY);
        days++;
    }
    assert_int_equal(days, DAYS);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* Thresholds changed in gridsyncd.conf apply to every subject at the next start, not only
 * to those that change: 7 -> 5 days opens at once what is 6 days unvisited, back to 7
 * clears it, a rule turned off clears its warnings; an unchanged configuration reads and
 * settles nothing. */
static void test_changed_thresholds_apply_to_every_subject(void **state)
{
    fx *f = *state;
    uint8_t rid[16], cid[16];
    uint64_t n = 0, sig = 0;
    uint32_t o, c;
    proto_field fs[6];
    gs_err err;

    resident(f, rid, "王秀英", "lives_alone");
    assert_int_equal(uuid_v7(cid, (uint64_t)f->now), GS_OK);
    fs[0] = tv_field("resident", tv_ref(rid), 0);
    fs[1] = tv_field("grid", tv_str("g1"), 0);
    fs[2] = tv_field("category", tv_str("meal"), 0);
    fs[3] = tv_field("priority", tv_str("normal"), 0);
    fs[4] = tv_field("status", tv_str("open"), 0);
    fs[5] = tv_field("requested_at", tv_int(f->now), 0);
    push(f, "care", cid, fs, 6);
    assert_int_equal(warn_rederive(&f->cfg, f->st, &f->clock, f->now, &n, &err), GS_OK);
    assert_int_equal(n, 0); /* the rows follow this configuration already */
    assert_int_equal(store_rules_sig_get(f->st, &sig, &err), GS_OK);
    assert_true(sig == rules_signature(&f->cfg));
    f->now = T0 + 6 * DAY;
    sweep(f, &o, &c);
    assert_int_equal(o, 1); /* the care request: 72 h */
    assert_int_equal(count_state(f, "unvisited_vulnerable", "open"), 0);

    f->cfg.unvisited_days_alone = 5;
    assert_true(rules_signature(&f->cfg) != sig);
    assert_int_equal(warn_rederive(&f->cfg, f->st, &f->clock, f->now, &n, &err), GS_OK);
    assert_int_equal(n, 1);
    assert_int_equal(count_state(f, "unvisited_vulnerable", "open"), 1);
    sweep(f, &o, &c);
    assert_int_equal(o + c, 0);

    f->cfg.unvisited_days_alone = 7;
    assert_int_equal(warn_rederive(&f->cfg, f->st, &f->clock, f->now, &n, &err), GS_OK);
    assert_int_equal(n, 1);
    assert_int_equal(count_state(f, "unvisited_vulnerable", "open"), 0);
    assert_int_equal(count_state(f, "unvisited_vulnerable", "cleared"), 1);
    f->now = T0 + 7 * DAY; /* and the old threshold still holds */
    sweep(f, &o, &c);
    assert_int_equal(o, 1);

    snprintf(f->cfg.disabled, sizeof(f->cfg.disabled), "device_silent,care_overdue");
    assert_int_equal(warn_rederive(&f->cfg, f->st, &f->clock, f->now, &n, &err), GS_OK);
    assert_int_equal(n, 1);
    assert_int_equal(count_state(f, "care_overdue", "open"), 0);
    assert_int_equal(count_state(f, "care_overdue", "cleared"), 1);
    assert_int_equal(count_state(f, "unvisited_vulnerable", "open"), 1);
    assert_int_equal(warn_rederive(&f->cfg, f->st, &f->clock, f->now, &n, &err), GS_OK);
    assert_int_equal(n, 0);
}

/* A store written while the rules were off (or by a server before them): at start the
 * rules read every record once, open what is due, count no visit twice, and never again. */
static void test_backfill_of_an_older_store(void **state)
{
    fx *f = *state;
    uint8_t old[16], seen[16];
    uint64_t n_records = 0;
    uint32_t o, c;
    int needed = 1;
    gs_err err;

    f->cfg.enabled = 0;
    resident(f, old, "王秀英", "lives_alone");
    resident(f, seen, "李大爷", "lives_alone");
    f->now = T0 + 5 * DAY;
    visit(f, seen, "routine", 0);
    assert_int_equal(visit_days_total(f), 1);
    assert_int_equal(store_watch_needs_backfill(f->st, &needed, &err), GS_OK);
    assert_int_equal(needed, 1);
    f->cfg.enabled = 1;
    f->now = T0 + 8 * DAY;
    assert_int_equal(warn_backfill(&f->cfg, f->st, &f->clock, f->now, &n_records, &err), GS_OK);
    assert_int_equal(n_records, 3);
    assert_int_equal(count_state(f, "unvisited_vulnerable", "open"), 0); /* facts only */
    sweep(f, &o, &c);
    assert_int_equal(o, 1); /* 王秀英: 8 days; 李大爷 was visited 3 days ago */
    assert_int_equal(c, 0);
    assert_int_equal(count_state(f, "unvisited_vulnerable", "open"), 1);
    assert_int_equal(visit_days_total(f), 1);
    assert_int_equal(store_watch_needs_backfill(f->st, &needed, &err), GS_OK);
    assert_int_equal(needed, 0);
    /* and 李大爷's row knows his visit: his warning opens 7 days after it */
    {
        f->now = T0 + 12 * DAY - 1;
        sweep(f, &o, &c);
        assert_int_equal(o, 0);
        f->now = T0 + 12 * DAY;
        sweep(f, &o, &c);
        assert_int_equal(o, 1);
    }
}

static void test_rules_listed(void **state)
{
    gs_buf out;
    rules_config cfg;
    (void)state;

    rules_defaults(&cfg);
    cfg.unvisited_days_alone = 5;
    snprintf(cfg.disabled, sizeof(cfg.disabled), "hazard_open");
    buf_init(&out, 1 << 16);
    assert_int_equal(rules_describe(&cfg, &out), GS_OK);
    assert_int_equal(buf_add(&out, "", 1), GS_OK);
    for (int r = 0; r < RULE_COUNT; r++) {
        assert_non_null(strstr(out.ptr, rule_key((rule_id)r)));
        assert_int_equal(rule_find(rule_key((rule_id)r)), r);
    }
    assert_non_null(strstr(out.ptr, "for 5 days"));
    assert_non_null(strstr(out.ptr, "hazard_open            off"));
    assert_int_equal(rule_find("nope"), RULE_COUNT);
    buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_unvisited_opens_at_threshold_clears_and_reopens,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_care_overdue_by_priority_and_done_clears, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_disputes_repeated_open_and_closed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hazard_and_silent_device, setup, teardown),
        cmocka_unit_test_setup_teardown(test_closed_in_the_same_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rules_off_and_disabled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_sweep_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backfill_of_an_older_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_visit_days_counted_per_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changed_thresholds_apply_to_every_subject, setup,
                                        teardown),
        cmocka_unit_test(test_rules_listed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
