/*
 * certwatch.c: SIGHUP reloads, the expiry gauge and the expiry warning (see certwatch.h).
 *
 * Invariants: only the watch thread calls tls_reload and writes last_warn; the gauge is
 * written after each successful reload, so it always describes a certificate that new
 * handshakes get; stop is a pipe, so certwatch_stop wakes the thread out of poll at once.
 */
#define _GNU_SOURCE
#include "certwatch.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"

struct certwatch {
    srv_tls *tls;       /* the endpoint whose credential is reloaded */
    srv_metrics *m;     /* cert_not_after lives here */
    gs_logger *lg;      /* reloads and warnings */
    int hup_fd;         /* signalfd for SIGHUP, or -1 */
    int stop_pipe[2];   /* written by certwatch_stop */
    int64_t last_warn;  /* when the last expiry warning was logged, 0 if none */
    pthread_t thread;   /* the watch thread */
};

int certwatch_warn_due(int64_t now, int64_t not_after, int64_t last_warn)
{
    if (not_after - now > (int64_t)CERTWATCH_WARN_DAYS * 86400)
        return 0;
    return last_warn == 0 || now - last_warn >= CERTWATCH_REPEAT_S;
}

static void utc_text(char *out, size_t cap, int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, cap, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

static void check_expiry(certwatch *w)
{
    certgen_info info;
    int64_t now = (int64_t)time(NULL);
    char end[40];

    tls_cert_info(w->tls, &info);
    if (!certwatch_warn_due(now, info.not_after, w->last_warn))
        return;
    w->last_warn = now;
    utc_text(end, sizeof(end), info.not_after);
    if (info.not_after <= now)
        log_error(w->lg,
                  "the server certificate (serial %s) ended on %s: devices refuse to sync; run "
                  "`gridsyncd cert renew` and send gridsyncd SIGHUP (docs/SERVER.md)",
                  info.serial, end);
    else
        log_warn(w->lg,
                 "the server certificate (serial %s) ends on %s, in %lld days: run "
                 "`gridsyncd cert renew` and send gridsyncd SIGHUP (docs/SERVER.md)",
                 info.serial, end, (long long)((info.not_after - now) / 86400));
}

static void reload(certwatch *w)
{
    certgen_info info;
    gs_err err;
    char end[40];
    int rc;

    gs_err_clear(&err);
    rc = tls_reload(w->tls, &err);
    tls_cert_info(w->tls, &info);
    utc_text(end, sizeof(end), info.not_after);
    if (rc) {
        log_error(w->lg, "SIGHUP: %s; still serving certificate serial %s (until %s)",
                  gs_err_msg(&err, rc), info.serial, end);
        return;
    }
    atomic_store(&w->m->cert_not_after, info.not_after);
    w->last_warn = 0; /* judge the new certificate afresh */
    log_info(w->lg,
             "SIGHUP: new connections get certificate serial %s, valid until %s; open "
             "connections keep theirs",
             info.serial, end);
}

static void *watch(void *arg)
{
    certwatch *w = arg;

    for (;;) {
        struct pollfd p[2] = {{.fd = w->stop_pipe[0], .events = POLLIN},
                              {.fd = w->hup_fd, .events = POLLIN}};
        int r = poll(p, w->hup_fd >= 0 ? 2 : 1, CERTWATCH_TICK_MS);
        if (r < 0 && errno != EINTR) {
            log_error(w->lg, "certificate watch: poll: %s; SIGHUP no longer reloads",
                      strerror(errno));
            break;
        }
        if (r > 0 && p[0].revents)
            break;
        if (r > 0 && p[1].revents) {
            struct signalfd_siginfo si;
            int n = 0;
            while (read(w->hup_fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
                n++; /* several SIGHUPs in a row: one reload reads the files as they are */
            if (n > 0)
                reload(w);
        }
        check_expiry(w);
    }
    return NULL;
}

int certwatch_start(certwatch **out, srv_tls *tls, srv_metrics *m, gs_logger *lg, int hup_fd,
                    gs_err *err)
{
    certwatch *w = gs_calloc(1, sizeof(*w));
    certgen_info info;

    if (!w)
        return gs_err_set(err, GS_E_NOMEM, "out of memory");
    w->tls = tls;
    w->m = m;
    w->lg = lg;
    w->hup_fd = hup_fd;
    if (pipe2(w->stop_pipe, O_CLOEXEC) != 0) {
        gs_free(w);
        return gs_err_set(err, GS_E_IO, "pipe: %s", strerror(errno));
    }
    tls_cert_info(tls, &info);
    atomic_store(&m->cert_not_after, info.not_after);
    check_expiry(w);
    if (pthread_create(&w->thread, NULL, watch, w) != 0) {
        close(w->stop_pipe[0]);
        close(w->stop_pipe[1]);
        gs_free(w);
        return gs_err_set(err, GS_E_IO, "cannot start the certificate watch thread");
    }
    *out = w;
    return GS_OK;
}

void certwatch_stop(certwatch *w)
{
    if (!w)
        return;
    while (write(w->stop_pipe[1], "x", 1) < 0 && errno == EINTR)
        ;
    pthread_join(w->thread, NULL);
    close(w->stop_pipe[0]);
    close(w->stop_pipe[1]);
    gs_free(w);
}
