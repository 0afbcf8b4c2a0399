/*
 * test_common.c: the small common modules: error codes and messages, capped buffers
 * (including allocation failure), the arena, UTF-8 validation, log formatting and level
 * parsing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/alloc.h"
#include "common/arena.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/rc.h"
#include "common/realfmt.h"
#include "common/sqldb.h"
#include "common/utf8.h"
#include "tests/lib/tsql.h"

static void test_every_rc_has_a_distinct_name_and_text(void **state)
{
    (void)state;
    assert_int_equal(GS_OK, 0);
    for (int i = 0; i < GS_RC_COUNT; i++) {
        assert_non_null(gs_strerror(i));
        assert_true(strlen(gs_rc_name(i)) > 0);
        for (int j = 0; j < i; j++)
            if (strcmp(gs_rc_name(i), gs_rc_name(j)) == 0)
                fail_msg("codes %d and %d share the name %s", i, j, gs_rc_name(i));
    }
    assert_string_equal(gs_strerror(-1), "unknown error");
    assert_string_equal(gs_strerror(GS_RC_COUNT), "unknown error");
    assert_string_equal(gs_rc_name(GS_E_TOO_LARGE), "too_large");
}

static void test_err_set_and_prefix(void **state)
{
    gs_err err;
    (void)state;

    gs_err_clear(&err);
    assert_string_equal(gs_err_msg(&err, GS_E_IO), gs_strerror(GS_E_IO));
    assert_int_equal(gs_err_set(&err, GS_E_INVALID, "kind: '%s' unknown", "walk"), GS_E_INVALID);
    assert_string_equal(err.msg, "kind: 'walk' unknown");
    gs_err_prefix(&err, "ch[%d].", 3);
    assert_string_equal(err.msg, "ch[3].kind: 'walk' unknown");
    assert_string_equal(gs_err_msg(&err, GS_E_INVALID), "ch[3].kind: 'walk' unknown");
    /* a message for another code is not passed off as this one's */
    assert_string_equal(gs_err_msg(&err, GS_E_IO), gs_strerror(GS_E_IO));
    assert_int_equal(gs_err_set(NULL, GS_E_NOMEM, "x"), GS_E_NOMEM);
}

static void test_err_prefix_keeps_prefix_on_long_message(void **state)
{
    gs_err err;
    char longmsg[GS_ERR_MSG_MAX + 100];
    (void)state;

    memset(longmsg, 'x', sizeof(longmsg) - 1);
    longmsg[sizeof(longmsg) - 1] = '\0';
    gs_err_set(&err, GS_E_INVALID, "%s", longmsg);
    assert_int_equal(strlen(err.msg), GS_ERR_MSG_MAX - 1);
    gs_err_prefix(&err, "where: ");
    assert_int_equal(strncmp(err.msg, "where: xxx", 10), 0);
    assert_int_equal(strlen(err.msg), GS_ERR_MSG_MAX - 1);
}

static void test_buf_grows_to_cap_and_refuses_beyond(void **state)
{
    gs_buf b;
    (void)state;

    buf_init(&b, 10);
    assert_int_equal(buf_adds(&b, "hello"), GS_OK);
    assert_int_equal(buf_addf(&b, "%d", 1234), GS_OK);
    assert_int_equal(b.len, 9);
    assert_string_equal(b.ptr, "hello1234");
    assert_int_equal(buf_adds(&b, "ab"), GS_E_TOO_LARGE); /* 11 > 10 */
    assert_string_equal(b.ptr, "hello1234");               /* unchanged */
    assert_int_equal(buf_addf(&b, "%s", "ab"), GS_E_TOO_LARGE);
    assert_int_equal(buf_add(&b, "!", 1), GS_OK); /* exactly at the cap */
    assert_int_equal(b.len, 10);
    buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.ptr, "");
    buf_free(&b);
    assert_null(b.ptr);
}

static void test_buf_take_hands_over(void **state)
{
    gs_buf b;
    size_t len = 0;
    char *p;
    (void)state;

    buf_init(&b, 100);
    assert_int_equal(buf_adds(&b, "abc"), GS_OK);
    p = buf_take(&b, &len);
    assert_int_equal(len, 3);
    assert_string_equal(p, "abc");
    assert_null(b.ptr);
    assert_int_equal(b.max, 100);
    gs_free(p);
}

static void test_buf_allocation_failure_leaves_buffer_intact(void **state)
{
    gs_buf b;
    (void)state;

    buf_init(&b, 1 << 20);
    assert_int_equal(buf_adds(&b, "keep"), GS_OK);
    gs_alloc_fail_after(0);
    assert_int_equal(buf_reserve(&b, 4096), GS_E_NOMEM);
    gs_alloc_fail_after(-1);
    assert_string_equal(b.ptr, "keep");
    assert_int_equal(b.len, 4);
    buf_free(&b);
}

static void test_buf_read_file_all_or_nothing(void **state)
{
    char path[] = "/tmp/gs_test_common_XXXXXX";
    int fd = mkstemp(path);
    gs_buf b;
    gs_err err;
    (void)state;

    assert_true(fd >= 0);
    assert_int_equal(write(fd, "ca-pem-text", 11), 11);
    close(fd);
    buf_init(&b, 16);
    assert_int_equal(buf_adds(&b, "x:"), GS_OK);
    assert_int_equal(buf_read_file(&b, path, &err), GS_OK);
    assert_string_equal(b.ptr, "x:ca-pem-text");
    /* 13 + 11 > 16: refused, and the buffer keeps what it had */
    assert_int_equal(buf_read_file(&b, path, &err), GS_E_TOO_LARGE);
    assert_string_equal(b.ptr, "x:ca-pem-text");
    assert_non_null(strstr(err.msg, path));
    unlink(path);
    assert_int_equal(buf_read_file(&b, path, &err), GS_E_NOTFOUND);
    assert_non_null(strstr(err.msg, "cannot open"));
    buf_free(&b);
}

static void test_alloc_fail_after_counts_down(void **state)
{
    void *a, *b2, *c;
    (void)state;

    gs_alloc_fail_after(2);
    a = gs_malloc(8);
    b2 = gs_strdup("x");
    c = gs_calloc(1, 8);
    gs_alloc_fail_after(-1);
    assert_non_null(a);
    assert_non_null(b2);
    assert_null(c);
    gs_free(a);
    gs_free(b2);
    gs_free(NULL); /* a harmless no-op */
}

static const struct utf8_case {
    const char *name;
    const char *bytes;
    size_t len;
    int valid;
} utf8_cases[] = {
    {"ascii", "hello", 5, 1},
    {"chinese", "独居老人探访", 18, 1},
    {"4-byte emoji", "\xF0\x9F\x98\x80", 4, 1},
    {"empty", "", 0, 1},
    {"embedded NUL", "a\0b", 3, 0},
    {"lone continuation", "\x80", 1, 0},
    {"overlong slash", "\xC0\xAF", 2, 0},
    {"overlong 3-byte", "\xE0\x80\xAF", 3, 0},
    {"surrogate", "\xED\xA0\x80", 3, 0},
    {"above U+10FFFF", "\xF4\x90\x80\x80", 4, 0},
    {"truncated 3-byte", "\xE7\x8B", 2, 0},
    {"bad continuation", "\xE7\x8B\x41", 3, 0},
    {"0xFF", "\xFF", 1, 0},
};

/* Issue 21: the counters the memory benchmark reads follow every wrapper call: a block is
 * counted while held, a realloc moves its count, a failed realloc keeps it, and the peak
 * stays at the most held until reset. */
static void test_alloc_counts_follow_the_heap(void **state)
{
    gs_alloc_counts a, b;
    char *p, *q;

    (void)state;
    gs_alloc_counts_get(&a);
    p = gs_malloc(100000);
    assert_non_null(p);
    gs_alloc_counts_get(&b);
    assert_true(b.in_use >= a.in_use + 100000);
    assert_true(b.peak >= b.in_use);
    assert_int_equal(b.allocs, a.allocs + 1);
    q = gs_realloc(p, 300000);
    assert_non_null(q);
    gs_alloc_counts_get(&b);
    assert_true(b.in_use >= a.in_use + 300000 && b.in_use < a.in_use + 400000);
    gs_alloc_fail_after(0);
    assert_null(gs_realloc(q, 600000));
    gs_alloc_fail_after(-1);
    gs_alloc_counts_get(&b);
    assert_true(b.in_use >= a.in_use + 300000 && b.in_use < a.in_use + 400000);
    gs_free(q);
    gs_free(NULL);
    gs_alloc_counts_get(&b);
    if (b.in_use != a.in_use)
        fail_msg("in use %zu after freeing everything, %zu before", b.in_use, a.in_use);
    assert_true(b.peak >= a.in_use + 300000);
    gs_alloc_peak_reset();
    gs_alloc_counts_get(&b);
    assert_int_equal(b.peak, b.in_use);
}

static void test_utf8_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(utf8_cases) / sizeof(utf8_cases[0]); i++) {
        const struct utf8_case *k = &utf8_cases[i];
        if (utf8_valid(k->bytes, k->len) != k->valid)
            fail_msg("%s: expected %s", k->name, k->valid ? "valid" : "invalid");
    }
    assert_int_equal(utf8_count("独居a", 7), 3);
}

/* Collects lines written through a sink. */
typedef struct log_capture {
    char last[1024]; /* the last line */
    int n;           /* lines seen */
} log_capture;

static void capture_sink(void *ud, int level, const char *line)
{
    log_capture *cap = ud;
    (void)level;
    snprintf(cap->last, sizeof(cap->last), "%s", line);
    cap->n++;
}

static void test_log_levels_and_format(void **state)
{
    gs_logger lg;
    log_capture cap = {{0}, 0};
    (void)state;

    log_init(&lg, "t", GS_LOG_WARN);
    lg.sink = capture_sink;
    lg.ud = &cap;
    log_info(&lg, "not shown %d", 1);
    assert_int_equal(cap.n, 0);
    log_warn(&lg, "shown %d\nforged line", 2);
    assert_int_equal(cap.n, 1);
    /* 2026-11-27T02:41:47.123Z WARN  t: shown 2 forged line */
    assert_int_equal(strlen(cap.last) > 25, 1);
    assert_int_equal(cap.last[10], 'T');
    assert_int_equal(cap.last[23], 'Z');
    assert_non_null(strstr(cap.last, "WARN  t: shown 2 forged line"));
    assert_null(strchr(cap.last, '\n'));
    log_write(NULL, GS_LOG_ERROR, "no logger, no crash");
    assert_int_equal(log_level_parse("DEBUG"), GS_LOG_DEBUG);
    assert_int_equal(log_level_parse("off"), GS_LOG_OFF);
    assert_int_equal(log_level_parse("loud"), -1);
}

/* Every pointer is aligned for any type and counts whole aligned units against the cap; a
 * refusal (over the cap, or gs_malloc failing) hands out nothing and leaves the arena
 * usable; the cap is never passed, counted after rounding, however the requests fall. */
static void test_arena_cap_and_alignment(void **state)
{
    const size_t align = _Alignof(max_align_t);
    gs_arena a;
    unsigned char *p, *q;
    size_t left, n_small = 0;
    (void)state;
    arena_init(&a, 1000);
    p = arena_alloc(&a, 3);
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % align, 0);
    assert_int_equal(a.used, align); /* 3 bytes take one aligned unit */
    p = arena_alloc(&a, 8);
    assert_int_equal((uintptr_t)p % 8, 0);
    assert_int_equal((uintptr_t)p % align, 0);
    assert_int_equal(a.used, 2 * align);
    assert_null(arena_alloc(&a, 2000)); /* over the cap */
    assert_int_equal(a.used, 2 * align); /* the refusal handed out nothing */
    q = arena_alloc(&a, 500);           /* and the arena still serves what fits */
    assert_non_null(q);
    assert_true(q >= p + align);        /* after the earlier block, not over it */
    /* what is left under the cap, in whole units, can be had; one byte more cannot */
    left = (a.max - a.used) / align * align;
    assert_non_null(arena_alloc(&a, left));
    assert_true(a.used <= a.max);
    assert_null(arena_alloc(&a, 1));
    assert_true(a.used <= a.max);
    arena_free(&a);
    /* small requests up to the cap: the count after rounding stays within it */
    arena_init(&a, 1000);
    while (arena_alloc(&a, 8)) {
        n_small++;
        if (a.used > a.max)
            fail_msg("after %zu allocations of 8 bytes the arena handed out %zu of its %zu",
                     n_small, a.used, a.max);
    }
    assert_int_equal(n_small, 1000 / align);
    arena_free(&a);
    arena_init(&a, ARENA_NO_CAP);
    gs_alloc_fail_after(0);
    assert_null(arena_alloc(&a, 10));
    gs_alloc_fail_after(-1);
    assert_int_equal(a.used, 0);
    assert_null(a.head);
    assert_non_null(arena_alloc(&a, 10)); /* usable once memory is back */
    arena_free(&a);
}

/* Chunks grow from the first size by doubling; a large request gets a chunk of its own;
 * everything is zeroed; counts that overflow and caps of 0 are refused. */
static void test_arena_chunks_zeroing_and_overflow(void **state)
{
    gs_arena a;
    unsigned char *p, *q;
    char *s;
    (void)state;

    arena_init(&a, ARENA_NO_CAP);
    p = arena_alloc(&a, ARENA_FIRST_CHUNK - 64);
    assert_non_null(p);
    for (size_t i = 0; i < ARENA_FIRST_CHUNK - 64; i++)
        if (p[i])
            fail_msg("byte %zu of a new allocation is %u, not 0", i, p[i]);
    memset(p, 0xff, ARENA_FIRST_CHUNK - 64);
    q = arena_alloc(&a, 2 * ARENA_MAX_CHUNK); /* bigger than any chunk: its own */
    assert_non_null(q);
    assert_int_equal(q[2 * ARENA_MAX_CHUNK - 1], 0);
    assert_null(arena_alloc_array(&a, SIZE_MAX / 2, 4));
    assert_null(arena_alloc(&a, SIZE_MAX - 8));
    s = arena_strndup(&a, "abcdef", 3);
    assert_string_equal(s, "abc");
    s = arena_strndup(&a, NULL, 0);
    assert_string_equal(s, "");
    assert_true(a.used >= ARENA_FIRST_CHUNK - 64 + 2 * ARENA_MAX_CHUNK);
    arena_free(&a);
    assert_null(a.head);
    assert_int_equal(a.used, 0);
    arena_free(&a); /* twice: a no-op */
    arena_init(&a, 0);
    assert_null(arena_alloc(&a, 1));
    arena_free(&a);
}

/* One mapping for the device database and the server's store. */
static void test_sqldb_rc(void **state)
{
    (void)state;
    assert_int_equal(sqldb_rc(SQLITE_OK), GS_OK);
    assert_int_equal(sqldb_rc(SQLITE_BUSY), GS_E_BUSY);
    assert_int_equal(sqldb_rc(SQLITE_BUSY_SNAPSHOT), GS_E_BUSY);
    assert_int_equal(sqldb_rc(SQLITE_LOCKED), GS_E_BUSY);
    assert_int_equal(sqldb_rc(SQLITE_NOMEM), GS_E_NOMEM);
    assert_int_equal(sqldb_rc(SQLITE_IOERR_FSYNC), GS_E_IO);
    assert_int_equal(sqldb_rc(SQLITE_FULL), GS_E_IO);
    assert_int_equal(sqldb_rc(SQLITE_CANTOPEN), GS_E_IO);
    assert_int_equal(sqldb_rc(SQLITE_READONLY), GS_E_IO);
    assert_int_equal(sqldb_rc(SQLITE_PERM), GS_E_IO);
    assert_int_equal(sqldb_rc(SQLITE_CONSTRAINT_UNIQUE), GS_E_EXISTS);
    assert_int_equal(sqldb_rc(SQLITE_CONSTRAINT_PRIMARYKEY), GS_E_EXISTS);
    assert_int_equal(sqldb_rc(SQLITE_CONSTRAINT_NOTNULL), GS_E_DB);
    assert_int_equal(sqldb_rc(SQLITE_CONSTRAINT_FOREIGNKEY), GS_E_DB);
    assert_int_equal(sqldb_rc(SQLITE_CORRUPT), GS_E_DB);
    assert_int_equal(sqldb_rc(SQLITE_NOTADB), GS_E_DB);
}

/* A new file is private, in WAL mode with synchronous=FULL; a newer one is refused. */
static void test_sqldb_open(void **state)
{
    char dir[] = "/tmp/gs-sqldb-XXXXXX", path[64], bad[80], txt[16];
    sqldb_opts o = {.page_size = 2048, .pragmas = "PRAGMA foreign_keys = ON"};
    sqlite3 *db = NULL;
    struct stat sb;
    gs_err err;
    int v = -1;
    (void)state;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/a.db", dir);
    assert_int_equal(sqldb_open(path, &o, &db, &err), GS_OK);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE t(x)", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(stat(path, &sb), 0);
    /* one PRAGMA at a time: SQLCipher 3.4's SQLite 3.15 has no pragma_*() tables */
    assert_string_equal(tsql_text(db, "PRAGMA journal_mode", txt, sizeof(txt)), "wal");
    assert_int_equal(tsql_int(db, "PRAGMA synchronous"), 2); /* FULL */
    assert_int_equal(tsql_int(db, "PRAGMA page_size"), 2048);
    assert_int_equal(tsql_int(db, "PRAGMA foreign_keys"), 1);
    assert_int_equal(sqldb_user_version(db, 3, "gridsync", &v, &err), GS_OK);
    assert_int_equal(v, 0);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 4", NULL, NULL, NULL), SQLITE_OK);
    v = -1;
    assert_int_equal(sqldb_user_version(db, 3, "gridsync", &v, &err), GS_E_STATE);
    assert_int_equal(v, -1);
    assert_non_null(strstr(err.msg, "newer gridsync"));
    sqlite3_close(db);
    /* a folder that does not exist: nothing to open, GS_E_IO */
    snprintf(bad, sizeof(bad), "%s/no/such/dir.db", dir);
    assert_int_equal(sqldb_open(bad, NULL, &db, &err), GS_E_IO);
    assert_null(db);
    /* not a database: the mapping's GS_E_DB, with a connection to close */
    snprintf(bad, sizeof(bad), "%s/text.db", dir);
    {
        FILE *f = fopen(bad, "w");
        assert_non_null(f);
        fputs("this is not a database file, it is text and more text and more text......\n", f);
        fclose(f);
    }
    assert_int_equal(sqldb_open(bad, NULL, &db, &err), GS_E_DB);
    sqlite3_close(db);
    unlink(bad);
    snprintf(bad, sizeof(bad), "%s-wal", path);
    unlink(bad);
    snprintf(bad, sizeof(bad), "%s-shm", path);
    unlink(bad);
    unlink(path);
    rmdir(dir);
}

/* The shortest text that reads back the same double, and JSON's reals rewritten to it. */
static void test_realfmt_shortest_reads_back(void **state)
{
    static const struct {
        double x;
        const char *want;
    } cases[] = {
        {-89.12345678901235, "-89.12345678901235"}, {0.1, "0.1"}, {90, "90"}, {-90, "-90"},
        {1e22, "1e+22"}, {0.0001, "0.0001"}, {1e-7, "1e-07"}, {5e15, "5000000000000000"},
        {123.456, "123.456"}, {0.30000000000000004, "0.30000000000000004"}, {-0.0, "-0"},
        {179.99999999999997, "179.99999999999997"},
    };
    char out[REALFMT_MAX];
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        realfmt_shortest(cases[i].x, out);
        if (strcmp(out, cases[i].want) != 0 || strtod(out, NULL) != cases[i].x)
            fail_msg("%.17g: got '%s', want '%s'", cases[i].x, out, cases[i].want);
    }
}

static void test_realfmt_json_reals_only_outside_strings(void **state)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"{\"lat\":-89.123456789012348,\"n\":12,\"s\":\"0.10000000000000001\"}",
         "{\"lat\":-89.12345678901235,\"n\":12,\"s\":\"0.10000000000000001\"}"},
        {"[1.0,0.10000000000000001,1e+22,-5.0,\"a\\\"1.50\"]",
         "[1.0,0.1,1e+22,-5.0,\"a\\\"1.50\"]"},
        {"{\"x\":90.0}", "{\"x\":90.0}"},
    };
    char buf[256];
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(buf, sizeof(buf), "%s", cases[i].in);
        realfmt_json_reals(buf);
        if (strcmp(buf, cases[i].want) != 0)
            fail_msg("%s: got %s, want %s", cases[i].in, buf, cases[i].want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_rc_has_a_distinct_name_and_text),
        cmocka_unit_test(test_realfmt_shortest_reads_back),
        cmocka_unit_test(test_realfmt_json_reals_only_outside_strings),
        cmocka_unit_test(test_err_set_and_prefix),
        cmocka_unit_test(test_err_prefix_keeps_prefix_on_long_message),
        cmocka_unit_test(test_buf_grows_to_cap_and_refuses_beyond),
        cmocka_unit_test(test_buf_take_hands_over),
        cmocka_unit_test(test_buf_allocation_failure_leaves_buffer_intact),
        cmocka_unit_test(test_buf_read_file_all_or_nothing),
        cmocka_unit_test(test_alloc_fail_after_counts_down),
        cmocka_unit_test(test_arena_cap_and_alignment),
        cmocka_unit_test(test_arena_chunks_zeroing_and_overflow),
        cmocka_unit_test(test_alloc_counts_follow_the_heap),
        cmocka_unit_test(test_utf8_table),
        cmocka_unit_test(test_log_levels_and_format),
        cmocka_unit_test(test_sqldb_rc),
        cmocka_unit_test(test_sqldb_open),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
