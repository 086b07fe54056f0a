/* log.h - logging to stderr with level and subsystem, journald-friendly. */
#ifndef OB_LOG_H
#define OB_LOG_H

enum ob_log_level { OB_LOG_ERR = 3, OB_LOG_WARNING = 4, OB_LOG_NOTICE = 5, OB_LOG_INFO = 6, OB_LOG_DEBUG = 7 };

extern int ob_log_threshold;

/* ob_log prints "<N>level: message" when stderr is not a terminal (so
 * journald reads the level) and "level: message" on a terminal. */
void ob_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* ob_warn appends ": strerror(errno)"; ob_warnx does not. */
void ob_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ob_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ob_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define ob_debug(...)                                                                    \
	do {                                                                             \
		if (ob_log_threshold >= OB_LOG_DEBUG)                                    \
			ob_log(OB_LOG_DEBUG, __VA_ARGS__);                               \
	} while (0)
/* Logs and exits 1: only before the loop runs, or in a worker. */
void ob_fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
int ob_log_level_parse(const char *s);

#endif
