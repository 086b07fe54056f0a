/* cron.h - 5-field cron expressions and their fire times in local time.
 *
 * (In these comments a star followed by a slash is written "*" "/15", since
 * the two characters together would end the comment.)
 *
 * Syntax (Vixie cron): "minute hour day-of-month month day-of-week", fields
 * separated by blanks. Each field is a comma list of items; an item is "*",
 * a number, a range "1-5", optionally followed by a step "/N": "*" "/15",
 * "1-30/5", "5/10" (= 5 up to the field's maximum, every 10th). Months take
 * JAN-DEC and days SUN-SAT, case-insensitive, also in ranges ("MON-FRI").
 * Day-of-week is 0-7 where both 0 and 7 are Sunday; in a range whose end is
 * the name SUN, SUN means 7, so "SAT-SUN" is Saturday and Sunday. A step
 * larger than the number of values in the field (minute: 60) is refused as
 * a likely typo. Nicknames:
 * @hourly "0 * * * *", @daily and @midnight "0 0 * * *", @weekly
 * "0 0 * * 0", @monthly "0 0 1 * *", @yearly and @annually "0 0 1 1 *".
 *
 * Day-of-month and day-of-week (Vixie's rule): if the text of either field
 * starts with "*", a day must match both fields - so with a plain "*" only
 * the other field counts; otherwise (both restricted) a day matches if
 * EITHER field matches: "0 0 13 * 5" fires on every 13th and every Friday.
 * A stepped star such as "*" "/2" counts as a star here, as in Vixie cron:
 * day-of-month "*" "/2" with day-of-week "MON" means odd-numbered days that
 * are Mondays, not odd days or Mondays.
 *
 * Time zone and daylight saving. Expressions are matched against wall-clock
 * time in the process's local time zone (TZ). Every matching wall-clock
 * minute W is mapped to one instant:
 *   - W exists once: that instant.
 *   - W does not exist (spring-forward gap, e.g. 2027-03-28 02:00-02:59 in
 *     Europe/Copenhagen): the first instant after the gap, 03:00 local
 *     (01:00 UTC). All matching minutes inside the gap, and a matching
 *     03:00 itself, collapse to that one instant, which fires once.
 *   - W occurs twice (autumn fall-back, e.g. 2027-10-31 02:00-02:59 occurs
 *     first in CEST, then again in CET): its first occurrence only. The
 *     repeated hour is skipped: "*" "/15" fires at 02:00, 02:15, 02:30 and
 *     02:45 CEST, then next at 03:00 CET (75 minutes later); "0 * * * *"
 *     fires at 02:00 CEST and then 03:00 CET.
 * The instants therefore never go backwards as wall-clock time goes forward,
 * and no instant fires twice. */
#ifndef OB_CRON_H
#define OB_CRON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "util.h"

struct ob_cron {
	uint64_t minutes;    /* bit m: minute m, 0-59 */
	uint32_t hours;      /* bit h: hour h, 0-23 */
	uint32_t dom;        /* bit d: day of month d, 1-31 */
	uint16_t months;     /* bit m: month m, 1-12 */
	uint8_t dow;         /* bit d: weekday d, 0-6, 0 = Sunday (7 is folded into 0) */
	bool dom_restricted; /* day-of-month field did not start with "*" */
	bool dow_restricted; /* day-of-week field did not start with "*" */
};

/* Parses a cron expression or nickname into *out. Returns 0, or -1 with a
 * sentence in err that quotes the expression and names the problem:
 * "\"61 * * * *\": minute 61 is out of range 0-59". expr is borrowed. */
int ob_cron_parse(const char *expr, struct ob_cron *out, struct ob_err *err);

/* The first fire time strictly after `after`, in the local time zone with
 * the DST rules above. Returns 0 and sets *next, or -1 when nothing fires
 * within 5 years after `after` (e.g. "0 0 30 2 *"). Cost is bounded by the
 * calendar, not by minutes: months, days and hours that cannot match are
 * skipped whole. */
int ob_cron_next(const struct ob_cron *c, time_t after, time_t *next);

/* Whether c can ever fire, whatever the year: 0 and a reason in why (at
 * least 160 bytes) for "* * 31 2 *" or "0 0 30,31 2,4 *", whose days of the
 * month never occur in its months. The calendar repeats every 400 years
 * and each date falls on every weekday within them, so this is exact. */
int ob_cron_can_fire(const struct ob_cron *c, char *why, size_t whysz);

/* Writes t as ISO 8601 local time with its UTC offset,
 * "2027-03-28T03:00:00+02:00" (26 bytes with the NUL). Returns 0, or -1 if
 * n is too small or the time cannot be converted. */
int ob_cron_format_time(time_t t, char *buf, size_t n);

/* The engine of `overblik next-fires "CRON" [--from ISO-TIME] [--count N]
 * [--tz ZONE]`: appends `count` lines (each ob_cron_format_time output and
 * "\n") with the next fire times of expr after from_iso, in zone tz.
 *   tz: a zone under /usr/share/zoneinfo; NULL or "" = Europe/Copenhagen.
 *   from_iso: "2027-03-27T12:00:00+01:00", "...Z", "2027-03-27T12:00[:SS]"
 *     without an offset (local time in tz; a time in a DST gap means the
 *     end of the gap, a repeated time its first occurrence), or a bare date
 *     "2027-03-27" (local midnight); NULL = now.
 *   count: 1 to 10000.
 * TZ is set for the call and restored afterwards (setenv/tzset: not for
 * use while other threads read the time zone). Returns 0, or -1 with
 * err set; on -1 out may hold the lines found before the error. All string
 * arguments are borrowed; out is the caller's. */
int ob_cron_next_fires(const char *expr, const char *tz, const char *from_iso, int count,
		       struct ob_buf *out, struct ob_err *err);

#endif
