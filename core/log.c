/* log.c - logging to stderr with level and subsystem, journald-friendly. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

int ob_log_threshold = OB_LOG_INFO;

static const char *level_name(int level)
{
	switch (level) {
	case OB_LOG_ERR: return "error";
	case OB_LOG_WARNING: return "warning";
	case OB_LOG_NOTICE: return "notice";
	case OB_LOG_INFO: return "info";
	default: return "debug";
	}
}

static void vlog(int level, const char *fmt, va_list ap, const char *suffix)
{
	char line[4096];
	int n;

	if (level > ob_log_threshold)
		return;
	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n < 0)
		return;
	/* One write per line so that concurrent processes do not interleave. */
	if (isatty(STDERR_FILENO))
		fprintf(stderr, "%s: %s%s%s\n", level_name(level), line, suffix ? ": " : "",
			suffix ? suffix : "");
	else
		fprintf(stderr, "<%d>%s: %s%s%s\n", level, level_name(level), line, suffix ? ": " : "",
			suffix ? suffix : "");
	fflush(stderr);
}

void ob_log(int level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(level, fmt, ap, NULL);
	va_end(ap);
}

void ob_warn(const char *fmt, ...)
{
	va_list ap;
	int e = errno;
	va_start(ap, fmt);
	vlog(OB_LOG_WARNING, fmt, ap, strerror(e));
	va_end(ap);
	errno = e;
}

void ob_warnx(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(OB_LOG_WARNING, fmt, ap, NULL);
	va_end(ap);
}

void ob_info(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(OB_LOG_INFO, fmt, ap, NULL);
	va_end(ap);
}

void ob_fatalx(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(OB_LOG_ERR, fmt, ap, NULL);
	va_end(ap);
	exit(1);
}

int ob_log_level_parse(const char *s)
{
	static const struct {
		const char *name;
		int level;
	} names[] = {{"error", OB_LOG_ERR}, {"warning", OB_LOG_WARNING}, {"notice", OB_LOG_NOTICE},
		     {"info", OB_LOG_INFO}, {"debug", OB_LOG_DEBUG}};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i].name) == 0)
			return names[i].level;
	return -1;
}
