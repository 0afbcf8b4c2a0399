/*
 * test_client_wipe.c: the remote wipe's files (client/wipe.c) on real SQLite files.
 *
 *   - gs_db_open of a path whose marker is there completes the wipe before it opens
 *     anything (database, -wal, -shm, -journal and the marker gone), returns GS_E_WIPED with
 *     a message saying so, and the next open makes a new, empty database;
 *   - without a marker nothing is touched; a marker with no database left (killed after the
 *     deletes) is removed and still reported;
 *   - wipe_device cuts a file that another handle still has open to 0 bytes, so that handle
 *     reads none of the records either;
 *   - killed right after the marker (the test hook, in a child process) the database is
 *     untouched, the marker holds no record data, and the next open completes the wipe.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "client/db.h"
#include "client/wipe.h"
#include "tests/lib/tdevice.h"
#include "tests/lib/tdir.h"

typedef struct fixture {
    char dir[TDIR_MAX];          /* temporary folder */
    char path[TDEVICE_PATH_MAX]; /* the device database */
    gs_db *db;                   /* open, enrolled, two residents */
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof(*fx));
    const char *grids[] = {"g1"};
    gs_device_config cfg = tdevice_config(grids, 1, NULL);

    if (tdevice_db_open(fx->dir, fx->path, &fx->db, "wipe") ||
        gs_db_init_device(fx->db, &cfg) != GS_OK)
        return -1;
    tdevice_add_resident(fx->db, "WIPEME_ONE", 1950, NULL);
    tdevice_add_resident(fx->db, "WIPEME_TWO", 1951, NULL);
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

static int exists(const char *path, const char *suffix)
{
    char p[TDEVICE_PATH_MAX + 16];
    snprintf(p, sizeof(p), "%s%s", path, suffix);
    return access(p, F_OK) == 0;
}

static void touch(const char *path, const char *suffix, const char *text)
{
    char p[TDEVICE_PATH_MAX + 16];
    FILE *f;
    snprintf(p, sizeof(p), "%s%s", path, suffix);
    f = fopen(p, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Whether any of the files of path holds text (a byte search, as `strings | grep` would). */
static int readable(const char *path, const char *text)
{
    static const char *const sfx[] = {"", "-wal", "-shm", "-journal", "-wipe"};
    size_t tl = strlen(text);
    for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
        char p[TDEVICE_PATH_MAX + 16], *data;
        FILE *f;
        long n;
        int found = 0;
        snprintf(p, sizeof(p), "%s%s", path, sfx[i]);
        f = fopen(p, "rb");
        if (!f)
            continue;
        fseek(f, 0, SEEK_END);
        n = ftell(f);
        fseek(f, 0, SEEK_SET);
        data = malloc((size_t)n + 1);
        assert_non_null(data);
        assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
        fclose(f);
        for (long j = 0; j + (long)tl <= n && !found; j++)
            found = memcmp(data + j, text, tl) == 0;
        free(data);
        if (found)
            return 1;
    }
    return 0;
}

static void test_open_completes_an_interrupted_wipe(void **state)
{
    fixture *fx = *state;
    gs_db *again = NULL;
    int64_t n = -1;

    /* the state a kill -9 after the marker leaves: the files as they were, plus the marker */
    assert_int_equal(gs_db_close(fx->db), GS_OK);
    fx->db = NULL;
    touch(fx->path, "-journal", "WIPEME_JOURNAL");
    touch(fx->path, "-wipe", "marker");
    assert_true(readable(fx->path, "WIPEME_ONE"));
    assert_int_equal(gs_db_open(fx->path, &again), GS_E_WIPED);
    assert_non_null(strstr(gs_db_errmsg(again), "interrupted"));
    gs_db_close(again);
    for (size_t i = 0; i < 5; i++) {
        static const char *const sfx[] = {"", "-wal", "-shm", "-journal", "-wipe"};
        if (exists(fx->path, sfx[i]))
            fail_msg("%s%s is still there", fx->path, sfx[i]);
    }
    /* now an ordinary new database: not enrolled, nothing in it */
    assert_int_equal(gs_db_open(fx->path, &fx->db), GS_OK);
    assert_int_equal(gs_db_pending(fx->db, &n), GS_OK);
    assert_int_equal(n, 0);
    assert_false(readable(fx->path, "WIPEME"));
}

static void test_marker_alone_is_completed_and_reported(void **state)
{
    fixture *fx = *state;
    char marker[TDEVICE_PATH_MAX + 16];
    gs_err err;

    assert_int_equal(wipe_resume(fx->path, &err), GS_OK); /* no marker: nothing happens */
    assert_true(exists(fx->path, ""));
    assert_int_equal(wipe_marker_path(fx->path, marker, sizeof(marker)), GS_OK);
    assert_int_equal(strlen(marker), strlen(fx->path) + strlen(WIPE_MARKER_SUFFIX));
    assert_int_equal(wipe_marker_path(fx->path, marker, 8), GS_E_TOO_LARGE);
    assert_int_equal(gs_db_close(fx->db), GS_OK);
    fx->db = NULL;
    unlink(fx->path); /* killed after the deletes, before the marker went */
    touch(fx->path, "-wipe", "marker");
    assert_int_equal(wipe_resume(fx->path, &err), GS_E_WIPED);
    assert_false(exists(fx->path, "-wipe"));
    assert_int_equal(wipe_resume(fx->path, &err), GS_OK);
    assert_int_equal(wipe_resume(":memory:", &err), GS_OK);
}

/* A second handle on the same file (an app reading while it syncs) reads nothing after
 * the wipe: the files were cut to 0 bytes, not only unlinked. */
static void test_wipe_empties_files_another_handle_has_open(void **state)
{
    fixture *fx = *state;
    gs_db *other = NULL;
    gs_list *l = NULL;
    gs_record *rec = NULL;
    int rc, seen = 0;

    assert_int_equal(gs_db_open(fx->path, &other), GS_OK);
    assert_int_equal(wipe_device(fx->db), GS_E_WIPED);
    assert_false(exists(fx->path, ""));
    assert_false(exists(fx->path, "-wipe"));
    rc = gs_list_new(other, "resident", &l);
    while (rc == GS_OK && gs_list_next(l, &rec) == GS_OK && rec) {
        seen++;
        gs_record_free(rec);
        rec = NULL;
    }
    gs_list_free(l);
    assert_int_equal(seen, 0);
    gs_db_close(other);
}

/* The test hook's kill right after the marker (a child process, as a battery pulled): the
 * database is untouched and still readable, the marker is there and holds no record data;
 * the next open completes the wipe. */
static void test_killed_after_marker_then_completed(void **state)
{
    fixture *fx = *state;
    char marker[TDEVICE_PATH_MAX + 16];
    gs_db *again = NULL;
    int status = 0;
    pid_t pid;

    assert_int_equal(wipe_marker_path(fx->path, marker, sizeof(marker)), GS_OK);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        setenv("GRIDSYNC_WIPE_FAULT", "marker", 1);
        wipe_device(fx->db);
        _exit(3); /* the hook did not fire */
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    assert_true(exists(fx->path, "-wipe"));
    assert_true(readable(fx->path, "WIPEME_ONE")); /* so the check below can fail */
    {
        FILE *f = fopen(marker, "rb");
        char text[1024];
        size_t n;
        assert_non_null(f);
        n = fread(text, 1, sizeof(text) - 1, f);
        fclose(f);
        text[n] = '\0';
        assert_non_null(strstr(text, "remote wipe"));
        assert_null(strstr(text, "WIPEME"));
    }
    assert_int_equal(gs_db_close(fx->db), GS_OK);
    fx->db = NULL;
    assert_int_equal(gs_db_open(fx->path, &again), GS_E_WIPED);
    gs_db_close(again);
    assert_false(exists(fx->path, "-wipe"));
    assert_false(readable(fx->path, "WIPEME"));
}

/* A database opened through a symbolic link: SQLite names it by its target, so the marker
 * is written there, and an open through the link still finds it and completes the wipe. */
static void test_interrupted_wipe_through_a_symlink(void **state)
{
    fixture *fx = *state;
    char link[TDEVICE_PATH_MAX + 16];
    gs_db *via = NULL, *again = NULL;
    int status = 0;
    pid_t pid;

    snprintf(link, sizeof(link), "%s/link.db", fx->dir);
    assert_int_equal(symlink(fx->path, link), 0);
    assert_int_equal(gs_db_open(link, &via), GS_OK);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        setenv("GRIDSYNC_WIPE_FAULT", "marker", 1);
        wipe_device(via);
        _exit(3);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(gs_db_close(via), GS_OK);
    assert_true(exists(fx->path, "-wipe")); /* next to the target */
    assert_int_equal(gs_db_open(link, &again), GS_E_WIPED);
    gs_db_close(again);
    assert_false(exists(fx->path, ""));
    assert_false(exists(fx->path, "-wipe"));
    assert_false(readable(fx->path, "WIPEME"));
    unlink(link);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_completes_an_interrupted_wipe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_marker_alone_is_completed_and_reported, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_wipe_empties_files_another_handle_has_open, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_killed_after_marker_then_completed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interrupted_wipe_through_a_symlink, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
