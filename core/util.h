/* util.h - allocation, bounded buffers, error sentences, dates. */
#ifndef OB_UTIL_H
#define OB_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "overblik/plugin.h" /* enum ob_period, shared with plugins */

#define OB_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Allocation that cannot fail: on exhaustion they log and abort. */
void *ob_xmalloc(size_t n);
void *ob_xcalloc(size_t n, size_t size);
void *ob_xrealloc(void *p, size_t n);
char *ob_xstrdup(const char *s);
char *ob_xstrndup(const char *s, size_t n);
char *ob_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A growable text buffer with a size cap (curl's dynbuf). The text is always
 * NUL-terminated. ob_buf_free() releases it; the struct itself is the caller's. */
struct ob_buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max; /* 0 = no cap */
};
void ob_buf_init(struct ob_buf *b, size_t max);
int ob_buf_add(struct ob_buf *b, const void *p, size_t n);    /* -1 past max */
int ob_buf_adds(struct ob_buf *b, const char *s);
int ob_buf_addc(struct ob_buf *b, char c);
int ob_buf_printf(struct ob_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int ob_buf_vprintf(struct ob_buf *b, const char *fmt, va_list ap);
void ob_buf_reset(struct ob_buf *b);
char *ob_buf_steal(struct ob_buf *b); /* caller frees; buffer is reset */
void ob_buf_free(struct ob_buf *b);

/* What kind of error an ob_err holds, for callers that act on the kind
 * (try again, report a taken key, ...) rather than on the sentence. */
enum ob_err_code {
	OB_E_NONE = 0,     /* no error, or one no caller tells apart */
	OB_E_DB,           /* a database error not named below: sqlerrno says which */
	OB_E_DEADLOCK,     /* InnoDB chose this transaction to roll back (1213) */
	OB_E_LOCK_TIMEOUT, /* a lock wait timed out (1205) */
	OB_E_DUPLICATE,    /* a unique key is taken (1062, 1586) */
	OB_E_DB_LOST,      /* the connection went away or was lost (2006, 2013, 2055) */
	OB_E_RUN_GONE,     /* the run was ended meanwhile (overblikd timed it out, shut down) */
};

/* An error sentence that names what and where, written by the callee, and
 * its kind. ob_err_set() and ob_err_setc() keep the first error unless it
 * is cleared. The members sit in one anonymous struct that begins with a
 * scalar, so that "struct ob_err e = {{0}}" stays a whole, quiet zero. */
struct ob_err {
	struct {
		enum ob_err_code code;
		unsigned sqlerrno; /* the server's or the client library's error number; 0: none */
		char msg[1024];
	};
};
void ob_err_set(struct ob_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ob_err_setc(struct ob_err *err, enum ob_err_code code, unsigned sqlerrno, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void ob_err_clear(struct ob_err *err);

/* Dates that are dates: days since 1970-01-01 (proleptic Gregorian). */
int32_t ob_days_from_civil(int y, int m, int d);
void ob_civil_from_days(int32_t days, int *y, int *m, int *d);
int ob_days_in_month(int y, int m);
/* The reports' calendar (REPORTS.md "Calendar arithmetic"); dates are days
 * since 1970-01-01. ob_add_months: calendar months, n may be negative; the
 * last day of a month goes to the last day of the target month (30 June - 6
 * = 31 December), any other day is kept and clamped to the target month's
 * length (30 August - 6 = 28 or 29 February). ob_end_of: the last day of
 * d's month, calendar quarter or year, or d itself. */
int32_t ob_add_months(int32_t d, int n);
int32_t ob_end_of(int32_t d, enum ob_period p);
/* Writes the date the long Danish way, "31. december 2026", into out (at
 * least 20 bytes). */
void ob_date_format_da_long(int32_t d, char *out, size_t outsz);
/* Parses "YYYY-MM-DD", optionally followed by "T..." (a KITOS timestamp; the
 * time is ignored), "DD-MM-YYYY" or "DD.MM.YYYY". Returns 1 and sets *days,
 * 0 for "no date" (empty, or KITOS's 0001-01-01), -1 if malformed. */
int ob_date_parse(const char *s, int32_t *days);
/* Writes "YYYY-MM-DD" into out (11 bytes). */
void ob_date_format(int32_t days, char out[11]);
/* Writes the date of iso ("YYYY-MM-DD") the Danish way, "31.12.2026",
 * into out (at least 11 bytes); "" for no date, iso itself if malformed. */
void ob_date_format_da(const char *iso, char *out, size_t outsz);
/* Today's date in the local time zone. */
int32_t ob_date_today(void);

/* Reads a whole file. Returns 0 and a NUL-terminated owned buffer, -1 with
 * errno set. */
int ob_read_file(const char *path, char **out, size_t *len);
/* Writes data to tmp, syncs it, renames it to path and syncs path's
 * directory: path then holds all of data or what it held before, also
 * after a crash. tmp must be on path's file system. 0, or -1 with err
 * naming the file (tmp is removed). */
int ob_write_atomic(const char *tmp, const char *path, const void *data, size_t len, struct ob_err *err);
/* Creates a directory and its parents (mode 0750); 0 ok, -1 with errno. */
int ob_mkdir_p(const char *path);
/* Joins two path parts with one slash; caller frees. */
char *ob_path_join(const char *a, const char *b);

/* Checks that s[0..len) is valid UTF-8 (no overlong forms, surrogates or
 * code points past U+10FFFF). Returns 0 if valid, else -1 and *bad (may be
 * NULL) is the offset of the first bad byte. */
int ob_utf8_check(const char *s, size_t len, size_t *bad);
/* 1 if s is UTF-8 without control characters: fit for a log line, a
 * terminal or a protocol line as it is. */
int ob_utf8_printable(const char *s);
/* Length of the valid UTF-8 sequence at p (1 for ASCII), 0 if none starts
 * there within avail bytes. */
size_t ob_utf8_seq(const unsigned char *p, size_t avail);
/* Number of code points in valid UTF-8 s. */
size_t ob_utf8_len(const char *s);
/* Fits valid UTF-8 s to a column of max characters, as MariaDB counts them
 * (code points): cuts it in place at a character boundary. Returns the
 * number of characters s had, so a result above max means it was cut. */
size_t ob_utf8_fit(char *s, size_t max);

/* Trims ASCII white space at both ends, in place; returns s. */
char *ob_trim(char *s);
int ob_streq_ci(const char *a, const char *b);

#endif
