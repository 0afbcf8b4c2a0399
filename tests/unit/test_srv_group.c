/*
 * test_srv_group.c: group commit (server/group.c) on a real store file, the syncs' order
 * made deterministic by counting a sync as arrived (waiting) by hand:
 * - a batch kept while another sync waits for the lock is not committed, and its caller
 *   not answered, until that sync's group_leave commits both: one commit, both durable;
 * - one sync alone commits at once;
 * - a failed batch is undone alone: the other member's batch is committed, the failed one
 *   is not; a failure of the commit itself fails every member and keeps nothing;
 * - group_flush (the admin API's way in) commits a waiting group and answers its members.
 * A second connection to the same file reads what is committed.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "common/rc.h"
#include "server/group.h"
#include "server/store.h"
#include "tests/lib/tdir.h"

typedef struct fixture {
    char dir[TDIR_MAX];
    char path[TDIR_MAX + 16];
    store *st;            /* the writer, guarded by lock */
    pthread_mutex_t lock; /* the app's store lock */
    sync_group g;
    _Atomic uint64_t commits;
} fixture;

/* A member in its own thread: joins, writes its version number, leaves with want_rc. */
typedef struct member {
    fixture *fx;
    int want_rc;          /* the batch's own outcome */
    uint64_t mark;        /* the clock it writes */
    int rc;               /* what group_leave answered */
    _Atomic int returned; /* group_leave has returned */
} member;

static int setup(void **state)
{
    static fixture fx;
    gs_err err;

    memset(&fx, 0, sizeof(fx));
    assert_int_equal(tdir_make(fx.dir, "group"), 0);
    snprintf(fx.path, sizeof(fx.path), "%s/store.db", fx.dir);
    if (store_open(&fx.st, fx.path, &err) != GS_OK)
        fail_msg("store_open: %s", err.msg);
    assert_int_equal(pthread_mutex_init(&fx.lock, NULL), 0);
    assert_int_equal(group_init(&fx.g, &fx.lock, fx.st, &fx.commits), GS_OK);
    *state = &fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    group_free(&fx->g);
    pthread_mutex_destroy(&fx->lock);
    store_close(fx->st);
    tdir_remove(fx->dir);
    return 0;
}

/* The last version given and the server clock, as a second connection sees them: what is
 * committed. */
static uint64_t committed(fixture *fx, uint64_t *clock)
{
    store *other = NULL;
    uint64_t v = 0, c = 0;
    gs_err err;

    if (store_open(&other, fx->path, &err) != GS_OK)
        fail_msg("second connection: %s", err.msg);
    assert_int_equal(store_version_last(other, &v, &err), GS_OK);
    assert_int_equal(store_hlc_get(other, &c, &err), GS_OK);
    store_close(other);
    if (clock)
        *clock = c;
    return v;
}

static uint64_t committed_version(fixture *fx)
{
    return committed(fx, NULL);
}

/* A batch's writes: the server clock set to mark (which batch wrote last) and n versions
 * taken (persisted at commit). */
static void write_batch(fixture *fx, uint64_t mark, int n)
{
    uint64_t v;
    gs_err err;
    assert_int_equal(store_hlc_set(fx->st, mark, &err), GS_OK);
    for (int i = 0; i < n; i++)
        assert_int_equal(store_version_next(fx->st, &v, &err), GS_OK);
}

static void write_one(fixture *fx)
{
    write_batch(fx, 1, 1);
}

static void *member_run(void *arg)
{
    member *m = arg;
    group_member me;
    gs_err err;
    int rc;

    group_lock(&m->fx->g);
    rc = group_join(&m->fx->g, &err);
    if (!rc) {
        write_batch(m->fx, m->mark ? m->mark : 1, 1);
        rc = m->want_rc;
    }
    m->rc = group_leave(&m->fx->g, &me, rc, &err);
    atomic_store(&m->returned, 1);
    pthread_mutex_unlock(&m->fx->lock);
    return NULL;
}

/* Starts a member that another sync is said to be waiting behind, and returns once it has
 * joined the group and gone to sleep in group_leave (the lock is free again). */
static void start_waiting_member(fixture *fx, member *m, pthread_t *th, int want_rc)
{
    uint32_t before;

    m->fx = fx;
    m->want_rc = want_rc;
    m->mark = 111;
    atomic_store(&m->returned, 0);
    atomic_fetch_add(&fx->g.waiting, 1); /* a sync on its way to the lock */
    pthread_mutex_lock(&fx->lock);
    before = fx->g.n;
    pthread_mutex_unlock(&fx->lock);
    assert_int_equal(pthread_create(th, NULL, member_run, m), 0);
    for (int i = 0; i < 5000; i++) {
        uint32_t n;
        pthread_mutex_lock(&fx->lock);
        n = fx->g.n;
        pthread_mutex_unlock(&fx->lock);
        if (n > before)
            return;
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
    fail_msg("the member never joined the group");
}

/* The sync that was said to be waiting arrives: the count goes back before it locks. */
static void arrive(fixture *fx)
{
    atomic_fetch_sub(&fx->g.waiting, 1);
}

static void test_waiting_member_committed_by_the_last(void **state)
{
    fixture *fx = *state;
    pthread_t th;
    member a;
    group_member me;
    gs_err err;
    uint64_t base = committed_version(fx);

    start_waiting_member(fx, &a, &th, GS_OK);
    /* a's batch is in the open transaction: not committed, a not answered */
    nanosleep(&(struct timespec){0, 20000000}, NULL);
    assert_int_equal(atomic_load(&a.returned), 0);
    assert_int_equal(committed_version(fx), base);
    /* b arrives, nobody behind it: its leave commits both */
    arrive(fx);
    group_lock(&fx->g);
    assert_int_equal(group_join(&fx->g, &err), GS_OK);
    write_one(fx);
    assert_int_equal(group_leave(&fx->g, &me, GS_OK, &err), GS_OK);
    pthread_mutex_unlock(&fx->lock);
    pthread_join(th, NULL);
    assert_int_equal(a.rc, GS_OK);
    assert_int_equal(committed_version(fx), base + 2);
    assert_int_equal(atomic_load(&fx->commits), 1);
}

static void test_alone_commits_at_once(void **state)
{
    fixture *fx = *state;
    group_member me;
    gs_err err;
    uint64_t base = committed_version(fx), commits = atomic_load(&fx->commits);

    group_lock(&fx->g);
    assert_int_equal(group_join(&fx->g, &err), GS_OK);
    write_one(fx);
    assert_int_equal(group_leave(&fx->g, &me, GS_OK, &err), GS_OK);
    assert_int_equal(fx->g.open, 0);
    pthread_mutex_unlock(&fx->lock);
    assert_int_equal(committed_version(fx), base + 1);
    assert_int_equal(atomic_load(&fx->commits), commits + 1);
}

static void test_failed_batch_undone_alone(void **state)
{
    fixture *fx = *state;
    pthread_t th;
    member a;
    group_member me;
    gs_err err;
    uint64_t base = committed_version(fx), v, clock;

    start_waiting_member(fx, &a, &th, GS_OK); /* writes clock 111, takes base + 1 */
    arrive(fx);
    group_lock(&fx->g);
    assert_int_equal(group_join(&fx->g, &err), GS_OK);
    write_batch(fx, 222, 2); /* takes base + 2 and base + 3 */
    /* this batch fails: its writes go, a's stay and are committed by this leave */
    assert_int_equal(group_leave(&fx->g, &me, GS_E_INVALID, &err), GS_E_INVALID);
    assert_int_equal(fx->g.open, 0);
    pthread_mutex_unlock(&fx->lock);
    pthread_join(th, NULL);
    assert_int_equal(a.rc, GS_OK);
    v = committed(fx, &clock);
    assert_int_equal(clock, 111);
    /* the counter is kept past the undone batch's versions: they are never given again */
    assert_int_equal(v, base + 3);
    /* a batch that failed alone with nobody else in the group commits nothing */
    group_lock(&fx->g);
    assert_int_equal(group_join(&fx->g, &err), GS_OK);
    write_batch(fx, 333, 1);
    assert_int_equal(group_leave(&fx->g, &me, GS_E_TOO_LARGE, &err), GS_E_TOO_LARGE);
    assert_int_equal(fx->g.open, 0);
    pthread_mutex_unlock(&fx->lock);
    assert_int_equal(committed(fx, &clock), v);
    assert_int_equal(clock, 111);
}

static void test_failed_commit_fails_every_member(void **state)
{
    fixture *fx = *state;
    pthread_t th;
    member a;
    group_member me;
    gs_err err;
    uint64_t base = committed_version(fx);

    start_waiting_member(fx, &a, &th, GS_OK);
    arrive(fx);
    group_lock(&fx->g);
    assert_int_equal(group_join(&fx->g, &err), GS_OK);
    write_one(fx);
    /* the second statement stepped from here is the commit's first (the version counter's
     * UPDATE); the first is this batch's RELEASE */
    store_inject_fault(fx->st, 2);
    assert_int_equal(group_leave(&fx->g, &me, GS_OK, &err), GS_E_DB);
    store_inject_fault(fx->st, -1);
    pthread_mutex_unlock(&fx->lock);
    pthread_join(th, NULL);
    assert_int_equal(a.rc, GS_E_DB);
    assert_int_equal(committed_version(fx), base);
    assert_int_equal(fx->g.open, 0);
}

static void test_flush_commits_a_waiting_group(void **state)
{
    fixture *fx = *state;
    pthread_t th;
    member a;
    uint64_t base = committed_version(fx);

    start_waiting_member(fx, &a, &th, GS_OK);
    /* an admin request takes the lock: the sync said to be coming never came */
    pthread_mutex_lock(&fx->lock);
    group_flush(&fx->g);
    assert_int_equal(fx->g.open, 0);
    pthread_mutex_unlock(&fx->lock);
    pthread_join(th, NULL);
    assert_int_equal(a.rc, GS_OK);
    assert_int_equal(committed_version(fx), base + 1);
    arrive(fx);
    /* and flushing with nothing open, or without a group, is harmless */
    pthread_mutex_lock(&fx->lock);
    group_flush(&fx->g);
    group_flush(NULL);
    pthread_mutex_unlock(&fx->lock);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_waiting_member_committed_by_the_last, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_alone_commits_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_batch_undone_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_commit_fails_every_member, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flush_commits_a_waiting_group, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
