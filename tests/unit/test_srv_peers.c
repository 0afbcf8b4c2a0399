/*
 * test_srv_peers.c: per-address connection counts (server/peers.c), the base of the
 * per-address connection cap.
 *
 * Table-driven over address pairs: which count as one source (same IPv4; the same IPv6 /64
 * whatever the interface id; an IPv4-mapped IPv6 address and its IPv4 form) and which do
 * not. Then counting: add/remove keep one slot per address, a slot is freed at zero, a
 * full table says so instead of writing past its end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "common/rc.h"
#include "server/peers.h"

static struct sockaddr_storage addr(const char *text)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    if (strchr(text, ':')) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        assert_int_equal(inet_pton(AF_INET6, text, &a->sin6_addr), 1);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        assert_int_equal(inet_pton(AF_INET, text, &a->sin_addr), 1);
    }
    return ss;
}

static const struct {
    const char *a, *b;
    int same;
} pairs[] = {
    {"10.0.3.7", "10.0.3.7", 1},
    {"10.0.3.7", "10.0.3.8", 0},
    {"127.0.0.1", "127.0.0.2", 0},
    {"2001:db8:1:2::1", "2001:db8:1:2:ffff:eeee:dddd:cccc", 1}, /* one /64 */
    {"2001:db8:1:2::1", "2001:db8:1:3::1", 0},
    {"::ffff:10.0.3.7", "10.0.3.7", 1},
    {"::ffff:10.0.3.7", "10.0.3.8", 0},
    {"::1", "127.0.0.1", 0},
};

static void test_keys_group_addresses(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        struct sockaddr_storage x = addr(pairs[i].a), y = addr(pairs[i].b);
        peer_key kx = peers_key(&x), ky = peers_key(&y);
        if (peers_same(&kx, &ky) != pairs[i].same)
            fail_msg("%s vs %s: same=%d, want %d", pairs[i].a, pairs[i].b, !pairs[i].same,
                     pairs[i].same);
    }
}

static void test_counts_add_remove(void **state)
{
    peer_table t;
    struct sockaddr_storage a = addr("10.0.0.1"), b = addr("10.0.0.2"), c = addr("10.0.0.3");
    peer_key ka = peers_key(&a), kb = peers_key(&b), kc = peers_key(&c);
    (void)state;
    assert_int_equal(peers_init(&t, 2), GS_OK);
    assert_int_equal(peers_add(&t, &ka), GS_OK);
    assert_int_equal(peers_add(&t, &ka), GS_OK);
    assert_int_equal(peers_add(&t, &kb), GS_OK);
    assert_int_equal(peers_count(&t, &ka), 2);
    assert_int_equal(peers_count(&t, &kb), 1);
    assert_int_equal(peers_count(&t, &kc), 0);
    /* two slots for two addresses: a third distinct one does not fit */
    assert_int_equal(peers_add(&t, &kc), GS_E_NOMEM);
    peers_remove(&t, &kb);
    assert_int_equal(peers_count(&t, &kb), 0);
    assert_int_equal(t.n_used, 1);
    /* the freed slot is reusable */
    assert_int_equal(peers_add(&t, &kc), GS_OK);
    assert_int_equal(peers_count(&t, &kc), 1);
    peers_remove(&t, &ka);
    peers_remove(&t, &ka);
    peers_remove(&t, &ka); /* one too many: harmless */
    assert_int_equal(peers_count(&t, &ka), 0);
    assert_int_equal(peers_count(&t, &kc), 1);
    peers_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys_group_addresses),
        cmocka_unit_test(test_counts_add_remove),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
