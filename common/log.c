/*
 * log.c: formatting of log lines. One line is built in a local buffer and written with a
 * single fputs so that lines from several threads do not interleave mid-line.
 */
#define _POSIX_C_SOURCE 200809L
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char *const level_names[] = {"off", "error", "warn", "info", "debug"};
static const char *const level_tags[] = {"OFF", "ERROR", "WARN", "INFO", "DEBUG"};

void log_init(gs_logger *lg, const char *tag, int level)
{
    lg->level = level;
    lg->tag = tag;
    lg->sink = NULL;
    lg->ud = NULL;
}

int log_level_parse(const char *name)
{
    if (!name)
        return -1;
    for (int i = 0; i < (int)(sizeof(level_names) / sizeof(level_names[0])); i++)
        if (strcasecmp(name, level_names[i]) == 0)
            return i;
    return -1;
}

const char *log_level_name(int level)
{
    if (level < 0 || level > GS_LOG_DEBUG)
        return "?";
    return level_names[level];
}

void log_write(const gs_logger *lg, int level, const char *fmt, ...)
{
    char line[1024];
    struct timespec ts;
    struct tm tm;
    size_t n;
    va_list ap;

    if (!lg || level <= GS_LOG_OFF || level > lg->level)
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
    n += (size_t)snprintf(line + n, sizeof(line) - n, ".%03ldZ %-5s %s%s", ts.tv_nsec / 1000000,
                          level_tags[level], lg->tag ? lg->tag : "", lg->tag ? ": " : "");
    if (n < sizeof(line)) {
        va_start(ap, fmt);
        vsnprintf(line + n, sizeof(line) - n, fmt, ap);
        va_end(ap);
    }
    /* one line per call: a message must not forge a second log line */
    for (char *p = line; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    if (lg->sink) {
        lg->sink(lg->ud, level, line);
        return;
    }
    n = strlen(line);
    if (n + 1 < sizeof(line)) {
        line[n] = '\n';
        line[n + 1] = '\0';
    }
    fputs(line, stderr);
}
