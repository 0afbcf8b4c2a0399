/*
 * test_srv_config.c: gridsyncd.conf parsing (server/config.c) on real files in a temporary
 * folder: defaults, every key, comments and blanks, relative paths resolved against the
 * file's folder, and each kind of mistake refused with its line number.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/log.h"
#include "common/rc.h"
#include "server/config.h"

typedef struct fixture {
    char dir[256];  /* temporary folder (realpath) */
    char path[300]; /* DIR/gridsyncd.conf */
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    char tmpl[] = "/tmp/gs_cfg_XXXXXX";
    char *real;
    if (!f || !mkdtemp(tmpl))
        return -1;
    real = realpath(tmpl, NULL);
    snprintf(f->dir, sizeof(f->dir), "%s", real);
    free(real);
    snprintf(f->path, sizeof(f->path), "%s/gridsyncd.conf", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    unlink(f->path);
    rmdir(f->dir);
    free(f);
    return 0;
}

static void write_text(const char *path, const char *text, size_t len)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(text, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

static int load(fixture *f, const char *text, srv_config *cfg, gs_err *err)
{
    write_text(f->path, text, strlen(text));
    config_defaults(cfg);
    gs_err_clear(err);
    return config_load(cfg, f->path, err);
}

static void test_defaults(void **state)
{
    srv_config c;
    (void)state;
    config_defaults(&c);
    assert_string_equal(c.listen, "127.0.0.1:8443");
    assert_string_equal(c.dir, ".");
    assert_string_equal(c.db_path, "");
    assert_int_equal(c.workers, 8);
    assert_int_equal(c.max_connections, 4096);
    assert_int_equal(c.max_connections_per_address, 16);
    assert_int_equal(c.handshake_timeout_ms, 5000);
    assert_int_equal(c.head_timeout_ms, 10000);
    assert_int_equal(c.read_timeout_ms, 15000);
    assert_int_equal(c.request_timeout_ms, 60000);
    assert_int_equal(c.idle_timeout_ms, 30000);
    assert_int_equal(c.max_header_bytes, 16384);
    assert_int_equal(c.max_body_bytes, 8u * 1024 * 1024);
    assert_int_equal(c.max_drift_ms, 300000);
    assert_int_equal(c.pull_page_changes, 5000);
    assert_int_equal(c.silent_days, 3);
    assert_int_equal(c.log_level, GS_LOG_INFO);
    assert_int_equal(c.shutdown_timeout_ms, 10000);
}

static void test_every_key(void **state)
{
    fixture *f = *state;
    srv_config c;
    gs_err err;
    char want[600];
    const char *text = "# a comment\n"
                       "\n"
                       "   listen   =   0.0.0.0:9443   # trailing comment\n"
                       "database = data/town.db\n"
                       "cert = /etc/gs/server.pem\n"
                       "key = server.key\r\n" /* CRLF line end tolerated */
                       "ca = ca.pem\n"
                       "workers = 4\n"
                       "max_connections = 1000\n"
                       "read_timeout_ms = 2000\n"
                       "request_timeout_ms = 5000\n"
                       "idle_timeout_ms = 7000\n"
                       "max_header_bytes = 8192\n"
                       "max_body_bytes = 1048576\n"
                       "max_drift_ms = 60000\n"
                       "pull_page_changes = 500\n"
                       "silent_days = 7\n"
                       "log_level = debug\n"
                       "shutdown_timeout_ms = 0\n"
                       "\t# indented comment, no newline at the end";
    assert_int_equal(load(f, text, &c, &err), GS_OK);
    assert_string_equal(c.dir, f->dir);
    assert_string_equal(c.listen, "0.0.0.0:9443");
    snprintf(want, sizeof(want), "%s/data/town.db", f->dir);
    assert_string_equal(c.db_path, want);
    assert_string_equal(c.cert_path, "/etc/gs/server.pem");
    snprintf(want, sizeof(want), "%s/server.key", f->dir);
    assert_string_equal(c.key_path, want);
    snprintf(want, sizeof(want), "%s/ca.pem", f->dir);
    assert_string_equal(c.ca_path, want);
    assert_int_equal(c.workers, 4);
    assert_int_equal(c.max_connections, 1000);
    assert_int_equal(c.read_timeout_ms, 2000);
    assert_int_equal(c.request_timeout_ms, 5000);
    assert_int_equal(c.idle_timeout_ms, 7000);
    assert_int_equal(c.max_header_bytes, 8192);
    assert_int_equal(c.max_body_bytes, 1048576);
    assert_int_equal(c.max_drift_ms, 60000);
    assert_int_equal(c.pull_page_changes, 500);
    assert_int_equal(c.silent_days, 7);
    assert_int_equal(c.log_level, GS_LOG_DEBUG);
    assert_int_equal(c.shutdown_timeout_ms, 0);
}

/* Paths the file does not name sit beside it. */
static void test_empty_file_gives_paths_beside_it(void **state)
{
    fixture *f = *state;
    srv_config c;
    gs_err err;
    char want[600];
    assert_int_equal(load(f, "", &c, &err), GS_OK);
    snprintf(want, sizeof(want), "%s/gridsyncd.db", f->dir);
    assert_string_equal(c.db_path, want);
    snprintf(want, sizeof(want), "%s/server.pem", f->dir);
    assert_string_equal(c.cert_path, want);
    snprintf(want, sizeof(want), "%s/server.key", f->dir);
    assert_string_equal(c.key_path, want);
    snprintf(want, sizeof(want), "%s/ca.pem", f->dir);
    assert_string_equal(c.ca_path, want);
    assert_int_equal(c.workers, 8);
}

typedef struct bad_case {
    const char *name;   /* the mistake */
    const char *text;   /* file content */
    const char *expect; /* a piece the error message must contain */
} bad_case;

static const bad_case bad_cases[] = {
    {"unknown key", "workers = 2\nworkerz = 3\n", ":2: unknown key \"workerz\""},
    {"key set twice", "workers = 2\n\nworkers = 3\n", ":3: \"workers\" already set on line 1"},
    {"no equals sign", "listen 127.0.0.1:1\n", ":1: expected \"key = value\""},
    {"empty value", "cert =\n", ":1: \"cert\" has no value"},
    {"not a number", "workers = many\n", ":1: workers: expected a whole number"},
    {"trailing junk", "workers = 4x\n", ":1: workers: expected a whole number"},
    {"plus sign", "workers = +4\n", ":1: workers: expected a whole number"},
    {"zero workers", "workers = 0\n", ":1: workers: 0 is outside 1..256"},
    {"negative timeout", "read_timeout_ms = -5\n", "read_timeout_ms: -5 is outside"},
    {"body over 64 MiB", "max_body_bytes = 67108865\n", "max_body_bytes: 67108865 is outside"},
    {"page over the protocol", "pull_page_changes = 5001\n", "pull_page_changes: 5001"},
    {"overflow", "max_drift_ms = 99999999999999999999999\n", "expected a whole number"},
    {"bad log level", "log_level = loud\n", ":1: log_level: expected off, error"},
    {"listen without port", "listen = 127.0.0.1\n", ":1: listen: expected HOST:PORT"},
    {"listen port too big", "listen = 127.0.0.1:70000\n", ":1: listen: expected HOST:PORT"},
    {"listen bare IPv6", "listen = ::1:8443\n", ":1: listen: expected HOST:PORT"},
    {"listen empty host", "listen = :8443\n", ":1: listen: expected HOST:PORT"},
    {"error on a later line", "# c\n\nworkers = 2\n  bogus = 1\n", ":4: unknown key"},
};

static void test_mistakes_refused_with_line(void **state)
{
    fixture *f = *state;
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        srv_config c;
        gs_err err;
        int rc = load(f, bad_cases[i].text, &c, &err);
        if (rc != GS_E_CONFIG || !strstr(err.msg, bad_cases[i].expect))
            fail_msg("%s: rc %d, message \"%s\" lacks \"%s\"", bad_cases[i].name, rc, err.msg,
                     bad_cases[i].expect);
        /* cfg untouched on failure */
        assert_int_equal(c.workers, 8);
        assert_string_equal(c.db_path, "");
    }
}

static void test_nul_byte_and_missing_file(void **state)
{
    fixture *f = *state;
    srv_config c;
    gs_err err;
    char missing[400];
    write_text(f->path, "workers = 2\n\0\n", 14);
    config_defaults(&c);
    assert_int_equal(config_load(&c, f->path, &err), GS_E_CONFIG);
    assert_non_null(strstr(err.msg, "NUL"));

    snprintf(missing, sizeof(missing), "%s/nope.conf", f->dir);
    assert_int_equal(config_load(&c, missing, &err), GS_E_CONFIG);
    assert_non_null(strstr(err.msg, "cannot open"));
}

static void test_huge_file_refused(void **state)
{
    fixture *f = *state;
    size_t n = 70 * 1024;
    char *big = malloc(n);
    srv_config c;
    gs_err err;
    assert_non_null(big);
    memset(big, '#', n);
    write_text(f->path, big, n);
    free(big);
    config_defaults(&c);
    assert_int_equal(config_load(&c, f->path, &err), GS_E_CONFIG);
    assert_non_null(strstr(err.msg, "larger than"));
}

typedef struct listen_case {
    const char *text; /* listen value */
    int ok;           /* 1 if valid */
    const char *host; /* expected host */
    int port;         /* expected port */
} listen_case;

static void test_split_listen(void **state)
{
    static const listen_case cases[] = {
        {"127.0.0.1:8443", 1, "127.0.0.1", 8443},
        {"0.0.0.0:0", 1, "0.0.0.0", 0},
        {"[::1]:443", 1, "::1", 443},
        {"[::]:65535", 1, "::", 65535},
        {"town.example:8443", 1, "town.example", 8443},
        {"127.0.0.1", 0, NULL, 0},
        {"127.0.0.1:", 0, NULL, 0},
        {"127.0.0.1:-1", 0, NULL, 0},
        {"127.0.0.1:65536", 0, NULL, 0},
        {"127.0.0.1:80x", 0, NULL, 0},
        {"::1:80", 0, NULL, 0},
        {"[::1]80", 0, NULL, 0},
        {"[::1:80", 0, NULL, 0},
        {":80", 0, NULL, 0},
        {"a b:80", 0, NULL, 0},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char host[64] = "";
        int port = -1;
        int rc = config_split_listen(cases[i].text, host, sizeof(host), &port);
        if ((rc == GS_OK) != cases[i].ok)
            fail_msg("\"%s\": rc %d", cases[i].text, rc);
        if (cases[i].ok) {
            assert_string_equal(host, cases[i].host);
            assert_int_equal(port, cases[i].port);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test_setup_teardown(test_every_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_file_gives_paths_beside_it, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mistakes_refused_with_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nul_byte_and_missing_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_huge_file_refused, setup, teardown),
        cmocka_unit_test(test_split_listen),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
