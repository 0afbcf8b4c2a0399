/*
 * main.c: the gridsyncd program: `init` (a complete server folder from nothing), the
 * maintenance commands (`backup`, `restore`, `cert renew`) and serving.
 *
 *   gridsyncd init --dir DIR [--hostname H] [--listen HOST:PORT] [--store URL]
 *   gridsyncd cert renew [--config FILE | --dir DIR] [--ca-key FILE]
 *   gridsyncd migrate --from DIR --to postgresql://...
 *   gridsyncd --config DIR/gridsyncd.conf [--listen HOST:PORT]
 *   gridsyncd --help | --version
 *
 * Exit codes (common/cmdline.h, the same as gridsync's and gridsync-admin's): 0 done (or
 * stopped by SIGTERM/SIGINT after a clean drain), 2 bad usage or configuration (including
 * "DIR is already initialised"), 1 any failure at run time.
 *
 * Signals: SIGTERM, SIGINT and SIGHUP are blocked in every thread; SIGTERM and SIGINT are
 * read from a signalfd the poller watches, SIGHUP (reload the certificate) from another that
 * the certificate watch thread reads (certwatch.h), so no handler runs in a random thread
 * and no global is needed; SIGPIPE is ignored (writes to a vanished client fail with EPIPE
 * instead).
 *
 * init is all or nothing: every file it made is removed again (and DIR too, if it made
 * DIR) when a later step fails, so it can simply be run again.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cmdline.h"
#include "common/log.h"
#include "common/rc.h"
#include "app.h"
#include "certgen.h"
#include "certwatch.h"
#include "config.h"
#include "crl.h"
#include "metrics.h"
#include "net.h"
#include "rules.h"
#include "tls.h"
#include "backup.h"
#include "engine.h"
#include "migrate.h"

#define EXIT_USAGE GS_EXIT_USAGE
#define EXIT_RUNTIME GS_EXIT_FAIL
#define TOKEN_MAX 256

static void usage(FILE *f)
{
    fprintf(f,
            "usage: gridsyncd --config FILE [--listen HOST:PORT]\n"
            "       gridsyncd init --dir DIR [--hostname NAME] [--listen HOST:PORT]\n"
            "                      [--store postgresql://...]\n"
            "       gridsyncd rules [--config FILE]\n"
            "       gridsyncd backup --out FILE [--config FILE | --dir DIR]\n"
            "       gridsyncd restore FILE --dir DIR\n"
            "       gridsyncd migrate --from DIR --to postgresql://...\n"
            "       gridsyncd cert renew [--config FILE | --dir DIR] [--ca-key FILE]\n"
            "       gridsyncd --help | --version\n"
            "\n"
            "gridsyncd is the town server of gridsync: it receives the grid workers' changes\n"
            "over HTTPS, merges them field by field, and sends each device its grids' changes.\n"
            "\n"
            "  init            make DIR (mode 0700) with a local CA, a server certificate for\n"
            "                  NAME (default localhost; localhost and 127.0.0.1 are always\n"
            "                  included), gridsyncd.conf, the store and a first admin. The\n"
            "                  admin token is printed once on stdout and saved in DIR/admin.conf\n"
            "                  for `gridsync-admin --config DIR/admin.conf`.\n"
            "  rules           list the warning rules, on or off, with the thresholds of FILE\n"
            "                  (or the defaults; docs/WARNINGS.md)\n"
            "  backup          copy the store (while serving) to FILE, verified; FILE appears\n"
            "                  only whole (docs/SERVER.md, Backup and restore)\n"
            "  restore         with the server stopped: put backup FILE in place of DIR's store,\n"
            "                  with a new epoch, so devices re-send what it lacks\n"
            "  cert renew      a new server certificate (397 days) from the local CA (default\n"
            "                  ca.key beside the config's ca) over the config's cert and key;\n"
            "                  devices keep trusting it (they trust the CA); SIGHUP makes a\n"
            "                  running server serve it\n"
            "  --config FILE   serve with the settings in FILE (see docs/SERVER.md)\n"
            "  --listen H:P    override the config's listen address (port 0: any free port)\n"
            "\n"
            "SIGTERM or SIGINT: stop accepting, finish requests in flight, close the store.\n"
            "SIGHUP: load the cert and key files again for new connections (open ones keep\n"
            "theirs); a pair that does not load is logged and the current one kept.\n"
            "Exit status: 0 ok, 1 run-time failure, 2 bad usage or configuration.\n");
}

/* ---- init ---------------------------------------------------------------------------- */

/* The files init makes, in creation order, for the roll-back. */
static const char *const init_files[] = {
    "ca.key",         "ca.pem",           CRL_FILE_NAME,      "server.key",       "server.pem",
    "gridsyncd.db",   "gridsyncd.db-wal", "gridsyncd.db-shm", "gridsyncd.db-journal",
    "gridsyncd.conf", "admin.conf",
};
#define N_INIT_FILES (sizeof(init_files) / sizeof(init_files[0]))

static int join(char *out, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);
    return n < 0 || (size_t)n >= cap ? GS_E_TOO_LARGE : GS_OK;
}

static void init_rollback(const char *dir, int made_dir)
{
    char path[SRV_PATH_MAX + 32];
    for (size_t i = N_INIT_FILES; i-- > 0;)
        if (join(path, sizeof(path), dir, init_files[i]) == GS_OK)
            unlink(path);
    if (made_dir)
        rmdir(dir);
}

/* The config file init writes: every key with its default and what it is for. */
static int write_config(const char *path, const char *listen, const char *hostname,
                        const char *store, gs_err *err)
{
    srv_config d;
    gs_buf b;
    char when[32];
    time_t now = time(NULL);
    struct tm tm;
    int rc;

    config_defaults(&d);
    gmtime_r(&now, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    buf_init(&b, 16384);
    rc = buf_addf(
        &b,
        "# gridsyncd.conf: written by `gridsyncd init` on %s for host %s.\n"
        "# Lines are `key = value`; '#' first or after a blank starts a comment; unknown\n"
        "# keys are an error.\n"
        "# Relative paths are relative to the folder of this file. See docs/SERVER.md.\n"
        "\n"
        "# Address to serve HTTPS on: HOST:PORT, [IPV6]:PORT, or 0.0.0.0:PORT for every\n"
        "# IPv4 interface. Devices reach it at https://%s:PORT.\n"
        "listen = %s\n"
        "\n"
        "# The store: a SQLite file, or a PostgreSQL database (postgresql://USER@HOST/DB,\n"
        "# libpq's URL); the server certificate chain and its key (0600); the CA that\n"
        "# devices are enrolled with (its key ca.key never needs to be on a server).\n"
        "store = %s\n"
        "cert = server.pem\n"
        "key = server.key\n"
        "ca = ca.pem\n"
        "\n"
        "# Threads serving requests. Idle keep-alive connections do not occupy them.\n"
        "workers = %d\n"
        "# Open connections at most (about 43 kB each), and from one IPv4 address or IPv6\n"
        "# /64. At a cap the oldest idle or handshaking connection makes room.\n"
        "max_connections = %d\n"
        "max_connections_per_address = %d\n"
        "\n"
        "# Timeouts in milliseconds: a read or write that makes no progress; a whole request\n"
        "# (TLS handshake, or head and body) from its first byte; an idle keep-alive\n"
        "# connection; and how long SIGTERM waits for requests in flight.\n"
        "# The TLS handshake and a request's first byte (handshake_timeout_ms), and a\n"
        "# request head from its first byte (head_timeout_ms), must come quickly.\n"
        "handshake_timeout_ms = %d\n"
        "head_timeout_ms = %d\n"
        "read_timeout_ms = %d\n"
        "request_timeout_ms = %d\n"
        "idle_timeout_ms = %d\n"
        "shutdown_timeout_ms = %d\n"
        "\n"
        "# Limits: the request head (431 past it) and body (413 past it; PROTOCOL.md allows\n"
        "# 8 MiB).\n"
        "max_header_bytes = %zu\n"
        "max_body_bytes = %zu\n"
        "\n"
        "# Clock guard: changes stamped further ahead of the server's clock are refused.\n"
        "max_drift_ms = %llu\n"
        "# Most changes sent back in one sync answer.\n"
        "pull_page_changes = %u\n"
        "# The console flags devices that have not synced for longer than this.\n"
        "silent_days = %d\n"
        "# off, error, warn, info (one line per request) or debug.\n"
        "log_level = %s\n",
        when, hostname, hostname, listen, store, d.workers, d.max_connections,
        d.max_connections_per_address, d.handshake_timeout_ms, d.head_timeout_ms, d.read_timeout_ms,
        d.request_timeout_ms, d.idle_timeout_ms, d.shutdown_timeout_ms, d.max_header_bytes,
        d.max_body_bytes, (unsigned long long)d.max_drift_ms, d.pull_page_changes, d.silent_days,
        log_level_name(d.log_level));
    if (rc)
        rc = gs_err_set(err, rc, "building %s: %s", path, gs_strerror(rc));
    else
        rc = certgen_write_new_file(path, b.ptr, b.len, eng_target_is_pg(store) ? 0600 : 0644,
                                    err); /* a PostgreSQL URL may hold a password */
    buf_free(&b);
    return rc;
}

static int write_admin_conf(const char *path, const char *hostname, int port, const char *ca_path,
                            const char *token, gs_err *err)
{
    gs_buf b;
    int v6 = strchr(hostname, ':') != NULL;
    int rc;

    buf_init(&b, 4096);
    rc = buf_addf(&b,
                  "# admin.conf: for `gridsync-admin --config %s`.\n"
                  "# It holds the first admin's token: keep it private (mode 0600).\n"
                  "server = https://%s%s%s:%d\n"
                  "ca = %s\n"
                  "token = %s\n",
                  path, v6 ? "[" : "", hostname, v6 ? "]" : "", port, ca_path, token);
    if (rc)
        rc = gs_err_set(err, rc, "building %s: %s", path, gs_strerror(rc));
    else
        rc = certgen_write_new_file(path, b.ptr, b.len, 0600, err);
    /* the token must not linger in freed heap memory */
    if (b.ptr)
        memset(b.ptr, 0, b.cap);
    buf_free(&b);
    return rc;
}

/* One `gridsyncd init` as its phases fill it in. */
typedef struct init_job {
    const char *dir_arg;             /* --dir as given */
    const char *hostname;            /* --hostname (default localhost) */
    const char *listen;              /* --listen, or the default for hostname (listen_buf) */
    const char *store;               /* --store: a PostgreSQL URL; NULL: DIR/gridsyncd.db */
    char listen_buf[300];            /* that default */
    int port;                        /* the port of listen */
    int help;                        /* --help: usage printed, nothing else to do */
    int made_dir;                    /* init made DIR, so the roll-back removes it */
    char dir[SRV_PATH_MAX];          /* DIR, resolved */
    char ca_pem[SRV_PATH_MAX + 32];  /* DIR/ca.pem */
    char ca_key[SRV_PATH_MAX + 32];  /* DIR/ca.key */
    char srv_pem[SRV_PATH_MAX + 32]; /* DIR/server.pem */
    char srv_key[SRV_PATH_MAX + 32]; /* DIR/server.key */
    const char *names[3];            /* the server certificate's names */
    size_t n_names;                  /* entries in names */
    char token[TOKEN_MAX];           /* the first admin's token; wiped before cmd_init returns */
} init_job;

/* The options of init, checked: 0 to go on (or, with j->help, to stop), else the exit
 * status of a usage error, already explained on stderr. Touches no file. */
static int init_parse(init_job *j, int argc, char **argv)
{
    char host[256];

    j->hostname = "localhost";
    for (int i = 2; i < argc; i++) {
        const char **slot = NULL;
        if (strcmp(argv[i], "--dir") == 0)
            slot = &j->dir_arg;
        else if (strcmp(argv[i], "--hostname") == 0)
            slot = &j->hostname;
        else if (strcmp(argv[i], "--listen") == 0)
            slot = &j->listen;
        else if (strcmp(argv[i], "--store") == 0)
            slot = &j->store;
        else if (strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            j->help = 1;
            return 0;
        }
        if (!slot || i + 1 >= argc) {
            fprintf(stderr, "gridsyncd init: %s %s\n", argv[i],
                    slot ? "needs a value" : "is not an option of init");
            usage(stderr);
            return EXIT_USAGE;
        }
        *slot = argv[++i];
    }
    if (!j->dir_arg || !*j->dir_arg) {
        fprintf(stderr, "gridsyncd init: --dir DIR is required\n");
        return EXIT_USAGE;
    }
    if (certgen_name_kind(j->hostname) < 0) {
        fprintf(stderr,
                "gridsyncd init: --hostname \"%s\" is neither a host name nor an IP "
                "address\n",
                j->hostname);
        return EXIT_USAGE;
    }
    if (j->store && !eng_target_is_pg(j->store)) {
        fprintf(stderr, "gridsyncd init: --store \"%s\": expected a postgresql:// URL (the "
                        "SQLite store is DIR/gridsyncd.db)\n", j->store);
        return EXIT_USAGE;
    }
    if (!j->listen) {
        /* a name others use means every interface; an IPv6 name means the IPv6 wildcard
         * (which on Linux also accepts IPv4 unless net.ipv6.bindv6only is set) */
        int local = strcmp(j->hostname, "localhost") == 0 || strcmp(j->hostname, "127.0.0.1") == 0;
        snprintf(j->listen_buf, sizeof(j->listen_buf), "%s:8443",
                 local                      ? "127.0.0.1"
                 : strchr(j->hostname, ':') ? "[::]"
                                            : "0.0.0.0");
        j->listen = j->listen_buf;
    }
    if (config_split_listen(j->listen, host, sizeof(host), &j->port) != GS_OK || j->port == 0) {
        fprintf(stderr, "gridsyncd init: --listen \"%s\": expected HOST:PORT with a port\n",
                j->listen);
        return EXIT_USAGE;
    }
    return 0;
}

/* DIR: made (0700) when absent, refused when it holds any file of init, then resolved into
 * j->dir. 0 or an exit status, explained on stderr; a failure once DIR exists rolls back. */
static int init_dir(init_job *j)
{
    char path[SRV_PATH_MAX + 32];
    struct stat st;
    char *real;

    if (stat(j->dir_arg, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) {
            fprintf(stderr, "gridsyncd init: %s exists and is not a folder\n", j->dir_arg);
            return EXIT_USAGE;
        }
        for (size_t i = 0; i < N_INIT_FILES; i++) {
            if (join(path, sizeof(path), j->dir_arg, init_files[i]) == GS_OK &&
                access(path, F_OK) == 0) {
                fprintf(stderr,
                        "gridsyncd init: %s is already initialised (%s exists); "
                        "refusing to overwrite it\n",
                        j->dir_arg, init_files[i]);
                return cmdline_exit_code(GS_E_EXISTS);
            }
        }
    } else if (mkdir(j->dir_arg, 0700) == 0) {
        j->made_dir = 1;
    } else {
        fprintf(stderr, "gridsyncd init: cannot create %s: %s\n", j->dir_arg, strerror(errno));
        return EXIT_RUNTIME;
    }
    /* DIR will hold private keys and the store: only the owner may enter it */
    if (chmod(j->dir_arg, 0700) != 0) {
        fprintf(stderr, "gridsyncd init: chmod %s: %s\n", j->dir_arg, strerror(errno));
        init_rollback(j->dir_arg, j->made_dir);
        return EXIT_RUNTIME;
    }
    real = realpath(j->dir_arg, NULL);
    if (!real || strlen(real) >= sizeof(j->dir)) {
        fprintf(stderr, "gridsyncd init: cannot resolve %s\n", j->dir_arg);
        free(real);
        init_rollback(j->dir_arg, j->made_dir);
        return EXIT_RUNTIME;
    }
    snprintf(j->dir, sizeof(j->dir), "%s", real);
    free(real); /* from libc's realpath */
    return 0;
}

/* The local CA, its empty CRL, and the server certificate for the host name (plus
 * localhost and 127.0.0.1) that names the CRL. */
static int init_keys(init_job *j, gs_err *err)
{
    char path[SRV_PATH_MAX + 32], cn[300], crl_url[400];
    const char *h = j->hostname;
    int rc;

    rc = join(j->ca_pem, sizeof(j->ca_pem), j->dir, "ca.pem");
    if (!rc)
        rc = join(j->ca_key, sizeof(j->ca_key), j->dir, "ca.key");
    if (!rc)
        rc = join(j->srv_pem, sizeof(j->srv_pem), j->dir, "server.pem");
    if (!rc)
        rc = join(j->srv_key, sizeof(j->srv_key), j->dir, "server.key");
    if (rc)
        return gs_err_set(err, rc, "%s: path too long", j->dir);
    snprintf(cn, sizeof(cn), "gridsyncd CA %s", h);
    rc = certgen_make_ca(j->ca_pem, j->ca_key, cn, err);
    if (rc)
        return rc;
    /* an empty CRL, valid 3 years (it outlives several renewed server certificates, which
     * all name it), served at /ca.crl: revocation checkers find a signed "nothing revoked" */
    rc = join(path, sizeof(path), j->dir, CRL_FILE_NAME);
    if (!rc)
        rc = crl_make_file(j->ca_pem, j->ca_key, path, 3 * 366, err);
    if (rc)
        return rc;
    snprintf(crl_url, sizeof(crl_url), "https://%s%s%s:%d%s", strchr(h, ':') ? "[" : "", h,
             strchr(h, ':') ? "]" : "", j->port, CRL_HTTP_PATH);
    j->n_names = 0;
    j->names[j->n_names++] = h;
    if (strcmp(h, "localhost") != 0)
        j->names[j->n_names++] = "localhost";
    if (strcmp(h, "127.0.0.1") != 0)
        j->names[j->n_names++] = "127.0.0.1";
    return certgen_make_server_crl(j->ca_pem, j->ca_key, j->srv_pem, j->srv_key, j->names,
                                   j->n_names, crl_url, err);
}

/* The store with its first admin (whose token lands in j->token), gridsyncd.conf, and
 * admin.conf holding that token. */
static int init_store(init_job *j, gs_err *err)
{
    char path[SRV_PATH_MAX + 32];
    int rc;

    join(path, sizeof(path), j->dir, "gridsyncd.db");
    rc = app_init_store(j->store ? j->store : path, j->token, sizeof(j->token), err);
    if (rc) {
        gs_err_prefix(err, "creating the store %s: ", j->store ? j->store : path);
        return rc;
    }
    join(path, sizeof(path), j->dir, "gridsyncd.conf");
    rc = write_config(path, j->listen, j->hostname, j->store ? j->store : "gridsyncd.db", err);
    if (rc)
        return rc;
    join(path, sizeof(path), j->dir, "admin.conf");
    return write_admin_conf(path, j->hostname, j->port, j->ca_pem, j->token, err);
}

/* What was made on stderr, then the admin token alone on stdout. */
static void init_report(const init_job *j)
{
    size_t n = j->n_names;

    fprintf(stderr,
            "gridsyncd: initialised %s\n"
            "  CA certificate for devices: %s\n"
            "  server certificate for:     %s%s%s%s%s\n"
            "  start with:                 gridsyncd --config %s/gridsyncd.conf\n"
            "  admin tool settings:        %s/admin.conf (holds the admin token, mode 0600)\n"
            "The admin token follows on stdout. It is shown only this once; the server keeps\n"
            "only its hash.\n",
            j->dir, j->ca_pem, j->names[0], n > 1 ? ", " : "", n > 1 ? j->names[1] : "",
            n > 2 ? ", " : "", n > 2 ? j->names[2] : "", j->dir, j->dir);
    fflush(stderr);
    printf("%s\n", j->token);
    fflush(stdout);
}

/* gridsyncd init: options, DIR, keys and certificates, store and config files, report.
 * Usage errors return EXIT_USAGE; a failure once DIR exists removes what init made. */
static int cmd_init(int argc, char **argv)
{
    init_job j;
    gs_err err;
    int status, rc;

    memset(&j, 0, sizeof(j));
    gs_err_clear(&err);
    status = init_parse(&j, argc, argv);
    if (status || j.help)
        return status;
    status = init_dir(&j);
    if (status)
        return status;
    rc = init_keys(&j, &err);
    if (!rc)
        rc = init_store(&j, &err);
    if (!rc) {
        init_report(&j);
    } else {
        fprintf(stderr, "gridsyncd init: %s\n", gs_err_msg(&err, rc));
        init_rollback(j.dir, j.made_dir);
        status = EXIT_RUNTIME;
    }
    memset(j.token, 0, sizeof(j.token));
    return status;
}

/* ---- serve --------------------------------------------------------------------------- */

static void handle(void *ud, const srv_request *req, srv_response *resp)
{
    app_handle(ud, req, resp);
}

static int head_check(void *ud, const srv_request *req, srv_response *resp, size_t *max_body)
{
    return app_head_check(ud, req, resp, max_body);
}

static int cmd_serve(const char *config_path, const char *listen)
{
    srv_config cfg;
    srv_metrics metrics;
    gs_logger lg;
    gs_err err;
    srv_tls *tls = NULL;
    srv_app *app = NULL;
    srv_net *n = NULL;
    certwatch *watch = NULL;
    sigset_t mask, stop_mask, hup_mask;
    int sfd = -1, hfd = -1, status = EXIT_RUNTIME, rc, port;
    char host[256];
    struct sigaction ign;

    gs_err_clear(&err);
    config_defaults(&cfg);
    rc = config_load(&cfg, config_path, &err);
    if (rc) {
        fprintf(stderr, "gridsyncd: %s\n", gs_err_msg(&err, rc));
        return cmdline_exit_code(rc); /* GS_E_CONFIG: 2, which systemd does not restart */
    }
    if (listen) {
        if (strlen(listen) >= sizeof(cfg.listen) ||
            config_split_listen(listen, host, sizeof(host), &port) != GS_OK) {
            fprintf(stderr, "gridsyncd: --listen \"%s\": expected HOST:PORT\n", listen);
            return EXIT_USAGE;
        }
        snprintf(cfg.listen, sizeof(cfg.listen), "%s", listen);
    }
    log_init(&lg, "gridsyncd", cfg.log_level);
    metrics_init(&metrics);

    memset(&ign, 0, sizeof(ign));
    ign.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &ign, NULL);
    /* blocked before any thread starts, so every thread inherits the mask */
    sigemptyset(&stop_mask);
    sigaddset(&stop_mask, SIGTERM);
    sigaddset(&stop_mask, SIGINT);
    sigemptyset(&hup_mask);
    sigaddset(&hup_mask, SIGHUP);
    mask = stop_mask;
    sigaddset(&mask, SIGHUP);
    if (pthread_sigmask(SIG_BLOCK, &mask, NULL) != 0 ||
        (sfd = signalfd(-1, &stop_mask, SFD_NONBLOCK | SFD_CLOEXEC)) < 0 ||
        (hfd = signalfd(-1, &hup_mask, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
        log_error(&lg, "signalfd: %s", strerror(errno));
        goto out;
    }

    rc = tls_open(&tls, &cfg, &err);
    if (rc) {
        log_error(&lg, "%s", gs_err_msg(&err, rc));
        goto out;
    }
    rc = app_open(&app, &cfg, &metrics, &lg, &err);
    if (rc) {
        log_error(&lg, "opening the store %s: %s", cfg.db_path, gs_err_msg(&err, rc));
        goto out;
    }
    net_opts opts = {
        .cfg = &cfg,
        .tls = tls,
        .metrics = &metrics,
        .lg = &lg,
        .handler = handle,
        .head_check = head_check,
        .handler_ud = app,
        .stop_fd = sfd,
    };
    rc = net_new(&n, &opts, &err);
    if (rc) {
        log_error(&lg, "%s", gs_err_msg(&err, rc));
        goto out;
    }
    rc = certwatch_start(&watch, tls, &metrics, &lg, hfd, &err);
    if (rc) {
        log_error(&lg, "%s", gs_err_msg(&err, rc));
        goto out;
    }
    log_info(&lg, "gridsyncd %s: config %s, store %s", GS_VERSION, config_path, cfg.db_path);
    rc = net_run(n, &err);
    if (rc) {
        log_error(&lg, "%s", gs_err_msg(&err, rc));
        goto out;
    }
    {
        struct signalfd_siginfo si;
        if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
            log_info(&lg, "stopped by %s", si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
    }
    status = 0;
out:
    certwatch_stop(watch); /* before tls_close: it reloads tls */
    net_free(n);
    app_close(app); /* after the workers are joined: nothing is in flight */
    tls_close(tls);
    if (sfd >= 0)
        close(sfd);
    if (hfd >= 0)
        close(hfd);
    if (status == 0)
        log_info(&lg, "store closed; bye");
    return status;
}

/* gridsyncd rules [--config FILE]: the rules as this configuration runs them. */
static int cmd_rules(int argc, char **argv)
{
    srv_config cfg;
    gs_buf out;
    gs_err err;
    int rc;

    config_defaults(&cfg);
    if (argc == 4 && strcmp(argv[2], "--config") == 0) {
        if (config_load(&cfg, argv[3], &err)) {
            fprintf(stderr, "gridsyncd: %s\n", err.msg);
            return EXIT_USAGE;
        }
    } else if (argc != 2) {
        fprintf(stderr, "gridsyncd: rules takes only --config FILE\n");
        usage(stderr);
        return EXIT_USAGE;
    }
    cfg.rules.silent_days = cfg.silent_days;
    buf_init(&out, 1 << 16);
    rc = rules_describe(&cfg.rules, &out);
    if (!rc)
        fwrite(out.ptr, 1, out.len, stdout);
    buf_free(&out);
    return rc ? EXIT_RUNTIME : 0;
}

/* The store's path from --config FILE, or DIR/gridsyncd.conf for --dir DIR. */
static int store_path_of(const char *config, const char *dir, char *out, size_t cap)
{
    srv_config cfg;
    char path[4096];
    gs_err err;
    int rc;

    if (!config) {
        snprintf(path, sizeof(path), "%s/gridsyncd.conf", dir ? dir : ".");
        config = path;
    }
    config_defaults(&cfg);
    rc = config_load(&cfg, config, &err);
    if (rc) {
        fprintf(stderr, "gridsyncd: %s\n", gs_err_msg(&err, rc));
        return EXIT_USAGE;
    }
    snprintf(out, cap, "%s", cfg.db_path);
    return 0;
}

/* gridsyncd backup --out FILE [--config FILE | --dir DIR] */
static int cmd_backup(int argc, char **argv)
{
    const char *out = NULL, *config = NULL, *dir = NULL;
    char db[SRV_PATH_MAX];
    gs_err err;
    int rc;

    for (int i = 2; i < argc; i++) {
        if (i + 1 < argc && strcmp(argv[i], "--out") == 0)
            out = argv[++i];
        else if (i + 1 < argc && strcmp(argv[i], "--config") == 0)
            config = argv[++i];
        else if (i + 1 < argc && strcmp(argv[i], "--dir") == 0)
            dir = argv[++i];
        else {
            fprintf(stderr, "gridsyncd backup: unexpected argument \"%s\"\n", argv[i]);
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (!out) {
        fprintf(stderr, "gridsyncd backup: --out FILE is required\n");
        return EXIT_USAGE;
    }
    rc = store_path_of(config, dir, db, sizeof(db));
    if (rc)
        return rc;
    gs_err_clear(&err);
    rc = backup_run(db, out, &err);
    if (rc) {
        fprintf(stderr, "gridsyncd backup: %s\n", gs_err_msg(&err, rc));
        return EXIT_RUNTIME;
    }
    printf("backup of %s written to %s (verified)\n", db, out);
    return 0;
}

/* "2027-12-31 23:59:59 UTC" for Unix time t. */
static void utc_text(char *out, size_t cap, int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, cap, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

/* gridsyncd cert renew [--config FILE | --dir DIR] [--ca-key FILE]: a new server
 * certificate from the local CA over the configured cert and key files. */
static int cmd_cert(int argc, char **argv)
{
    const char *config = NULL, *dir = NULL, *ca_key = NULL;
    char path[SRV_PATH_MAX + 32], key_buf[SRV_PATH_MAX + 32], until[40];
    srv_config cfg;
    certgen_info now;
    gs_err err;
    int rc;

    if (argc < 3 || strcmp(argv[2], "renew") != 0) {
        fprintf(stderr, "gridsyncd cert: %s%s\n", argc < 3 ? "" : argv[2],
                argc < 3 ? "a command is required (renew)" : " is not a cert command (renew)");
        usage(stderr);
        return EXIT_USAGE;
    }
    for (int i = 3; i < argc; i++) {
        if (i + 1 < argc && strcmp(argv[i], "--config") == 0)
            config = argv[++i];
        else if (i + 1 < argc && strcmp(argv[i], "--dir") == 0)
            dir = argv[++i];
        else if (i + 1 < argc && strcmp(argv[i], "--ca-key") == 0)
            ca_key = argv[++i];
        else {
            fprintf(stderr, "gridsyncd cert renew: unexpected argument \"%s\"\n", argv[i]);
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (config && dir) {
        fprintf(stderr, "gridsyncd cert renew: give --config FILE or --dir DIR, not both\n");
        return EXIT_USAGE;
    }
    if (!config) {
        snprintf(path, sizeof(path), "%s/gridsyncd.conf", dir ? dir : ".");
        config = path;
    }
    gs_err_clear(&err);
    config_defaults(&cfg);
    rc = config_load(&cfg, config, &err);
    if (rc) {
        fprintf(stderr, "gridsyncd cert renew: %s\n", gs_err_msg(&err, rc));
        return EXIT_USAGE;
    }
    if (!ca_key) {
        /* init puts ca.key beside ca.pem; an operator who moved it away names it */
        const char *slash = strrchr(cfg.ca_path, '/');
        snprintf(key_buf, sizeof(key_buf), "%.*sca.key",
                 slash ? (int)(slash - cfg.ca_path + 1) : 0, cfg.ca_path);
        ca_key = key_buf;
    }
    if (access(ca_key, R_OK) != 0) {
        fprintf(stderr,
                "gridsyncd cert renew: cannot read the CA key %s: %s (if it is kept offline, "
                "name it with --ca-key FILE)\n",
                ca_key, strerror(errno));
        return EXIT_RUNTIME;
    }
    rc = certgen_renew(cfg.ca_path, ca_key, cfg.cert_path, cfg.key_path, &now, &err);
    if (rc) {
        fprintf(stderr, "gridsyncd cert renew: %s; the current certificate was not changed\n",
                gs_err_msg(&err, rc));
        return EXIT_RUNTIME;
    }
    utc_text(until, sizeof(until), now.not_after);
    printf("renewed %s: serial %s, valid until %s (%lld days), for the same %zu names\n"
           "the running gridsyncd serves it from its next SIGHUP (systemctl reload gridsyncd);\n"
           "devices trust it through %s, which did not change\n",
           cfg.cert_path, now.serial, until,
           (long long)((now.not_after - (int64_t)time(NULL)) / 86400), now.n_names, cfg.ca_path);
    if (now.not_after < (int64_t)time(NULL) + (int64_t)CERTGEN_SERVER_DAYS * 86400 - 3600)
        fprintf(stderr,
                "gridsyncd cert renew: note: the CA ends on %s, so the certificate ends then "
                "too; plan a new CA (docs/SERVER.md, CA rotation)\n",
                until);
    return 0;
}

/* gridsyncd restore FILE --dir DIR */
static int cmd_restore(int argc, char **argv)
{
    const char *file = NULL, *dir = NULL;
    char db[SRV_PATH_MAX];
    uint64_t epoch = 0;
    gs_err err;
    int rc;

    for (int i = 2; i < argc; i++) {
        if (i + 1 < argc && strcmp(argv[i], "--dir") == 0)
            dir = argv[++i];
        else if (!file && argv[i][0] != '-')
            file = argv[i];
        else {
            fprintf(stderr, "gridsyncd restore: unexpected argument \"%s\"\n", argv[i]);
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (!file || !dir) {
        fprintf(stderr, "gridsyncd restore: FILE and --dir DIR are required\n");
        return EXIT_USAGE;
    }
    rc = store_path_of(NULL, dir, db, sizeof(db));
    if (rc)
        return rc;
    gs_err_clear(&err);
    rc = backup_restore(file, db, &epoch, &err);
    if (rc) {
        fprintf(stderr, "gridsyncd restore: %s; the store was not changed\n",
                gs_err_msg(&err, rc));
        return EXIT_RUNTIME;
    }
    printf("restored %s into %s, new epoch %llu: devices re-send what it lacks at their "
           "next sync\n",
           file, db, (unsigned long long)epoch);
    return 0;
}

/* gridsyncd migrate --from DIR --to postgresql://... */
static int cmd_migrate(int argc, char **argv)
{
    const char *dir = NULL, *to = NULL;
    char db[SRV_PATH_MAX];
    migrate_report rep;
    gs_err err;
    int rc;

    for (int i = 2; i < argc; i++) {
        if (i + 1 < argc && strcmp(argv[i], "--from") == 0)
            dir = argv[++i];
        else if (i + 1 < argc && strcmp(argv[i], "--to") == 0)
            to = argv[++i];
        else {
            fprintf(stderr, "gridsyncd migrate: unexpected argument \"%s\"\n", argv[i]);
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (!dir || !to) {
        fprintf(stderr, "gridsyncd migrate: --from DIR and --to postgresql://... are required\n");
        return EXIT_USAGE;
    }
    if (!eng_target_is_pg(to)) {
        fprintf(stderr, "gridsyncd migrate: --to \"%s\": expected a postgresql:// URL\n", to);
        return EXIT_USAGE;
    }
    rc = store_path_of(NULL, dir, db, sizeof(db));
    if (rc)
        return rc;
    gs_err_clear(&err);
    rc = migrate_store(db, to, &rep, &err);
    if (rc) {
        fprintf(stderr, "gridsyncd migrate: %s\n", gs_err_msg(&err, rc));
        return rc == GS_E_EXISTS ? EXIT_USAGE : EXIT_RUNTIME;
    }
    printf("%s %s: %d tables, %lld rows, last version %llu, epoch %llu, verified "
           "(row counts and a SHA-256 of every row)\n"
           "serve it with `store = %s` in %s/gridsyncd.conf (devices keep their cursors)\n",
           rep.already ? "already migrated, checked again:" : "migrated", db, rep.tables,
           (long long)rep.rows, (unsigned long long)rep.version,
           (unsigned long long)rep.epoch, to, dir);
    return 0;
}

int main(int argc, char **argv)
{
    const char *config_path = NULL, *listen = NULL;

    app_process_init(); /* first: before any thread or SQLite use */
    if (argc >= 2 && strcmp(argv[1], "init") == 0)
        return cmd_init(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "rules") == 0)
        return cmd_rules(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "backup") == 0)
        return cmd_backup(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "restore") == 0)
        return cmd_restore(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "migrate") == 0)
        return cmd_migrate(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "cert") == 0)
        return cmd_cert(argc, argv);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(argv[i], "--version") == 0) {
            printf("gridsyncd %s\n", GS_VERSION);
            return 0;
        }
        if ((strcmp(argv[i], "--config") == 0 || strcmp(argv[i], "--listen") == 0) &&
            i + 1 < argc) {
            if (argv[i][2] == 'c')
                config_path = argv[++i];
            else
                listen = argv[++i];
            continue;
        }
        fprintf(stderr, "gridsyncd: unexpected argument \"%s\"\n", argv[i]);
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!config_path) {
        fprintf(stderr, "gridsyncd: --config FILE is required\n");
        usage(stderr);
        return EXIT_USAGE;
    }
    return cmd_serve(config_path, listen);
}
