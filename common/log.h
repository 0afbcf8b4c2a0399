/*
 * log.h: levelled, timestamped log lines to stderr (or a caller's sink).
 *
 * There is no process-wide logger: each handle owns a gs_logger and passes it down, so a
 * library embedded in an app never writes where the app did not ask. A NULL logger, or a
 * level above the logger's threshold, writes nothing. Lines look like
 *   2026-11-27T02:41:47.123Z INFO  gridsyncd: listening on 127.0.0.1:8443
 * Callers must never pass a token or other secret in a log message.
 */
#ifndef GS_COMMON_LOG_H
#define GS_COMMON_LOG_H

typedef enum gs_log_level {
    GS_LOG_OFF = 0,
    GS_LOG_ERROR = 1,
    GS_LOG_WARN = 2,
    GS_LOG_INFO = 3,
    GS_LOG_DEBUG = 4,
} gs_log_level;

/* Receives each formatted line (no trailing newline). */
typedef void gs_log_sink(void *ud, int level, const char *line);

typedef struct gs_logger {
    int level;          /* lines at or below this level are written; GS_LOG_OFF for none */
    const char *tag;    /* program or module name printed on each line; may be NULL */
    gs_log_sink *sink;  /* NULL: write to stderr */
    void *ud;           /* passed to sink */
} gs_logger;

/* A logger writing to stderr at level; cannot fail. */
void log_init(gs_logger *lg, const char *tag, int level);

void log_write(const gs_logger *lg, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Parses "off", "error", "warn", "info" or "debug"; returns -1 for anything else. */
int log_level_parse(const char *name);

const char *log_level_name(int level);

#define log_error(lg, ...) log_write((lg), GS_LOG_ERROR, __VA_ARGS__)
#define log_warn(lg, ...) log_write((lg), GS_LOG_WARN, __VA_ARGS__)
#define log_info(lg, ...) log_write((lg), GS_LOG_INFO, __VA_ARGS__)
#define log_debug(lg, ...) log_write((lg), GS_LOG_DEBUG, __VA_ARGS__)

#endif
