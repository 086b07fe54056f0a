/* test_cron.c - cron parsing, fire times across DST, next-fires. Runs with
 * TZ=Europe/Copenhagen (set in main): CET +01:00, CEST +02:00; in 2027 the
 * clocks go 02:00 -> 03:00 on 28 March (01:00 UTC) and 03:00 -> 02:00 on
 * 31 October (01:00 UTC). */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../tap.h"
#include "cron.h"
#include "util.h"

#define ZONE "Europe/Copenhagen"

/* ob_cron_next_fires with newlines turned into spaces, or "error: ...". */
static const char *fires(const char *expr, const char *from, int count)
{
	static char text[8192];
	struct ob_buf b;
	struct ob_err err;

	ob_buf_init(&b, 0);
	ob_err_clear(&err);
	if (ob_cron_next_fires(expr, ZONE, from, count, &b, &err) < 0)
		snprintf(text, sizeof(text), "error: %s", err.msg);
	else {
		snprintf(text, sizeof(text), "%s", b.data ? b.data : "");
		for (char *p = text; *p; p++)
			if (*p == '\n')
				*p = ' ';
		size_t n = strlen(text);
		if (n > 0 && text[n - 1] == ' ')
			text[n - 1] = '\0';
	}
	ob_buf_free(&b);
	return text;
}

/* s with each newline shown as "|", so TAP lines stay whole. */
static const char *oneline(const char *s)
{
	static char text[1024];
	snprintf(text, sizeof(text), "%s", s ? s : "(null)");
	for (char *p = text; *p; p++)
		if (*p == '\n')
			*p = '|';
	return text;
}

/* The parse error for expr, or "parsed" if it parsed. */
static const char *parse_err(const char *expr)
{
	static struct ob_err err;
	struct ob_cron c;

	ob_err_clear(&err);
	if (ob_cron_parse(expr, &c, &err) == 0)
		return "parsed";
	return err.msg;
}

static struct ob_cron parse(const char *expr)
{
	struct ob_cron c;
	struct ob_err err;

	memset(&c, 0, sizeof(c));
	ob_err_clear(&err);
	if (ob_cron_parse(expr, &c, &err) < 0)
		printf("# parse \"%s\": %s\n", expr, err.msg);
	return c;
}

static const char *fmt(time_t t)
{
	static char buf[64];
	if (ob_cron_format_time(t, buf, sizeof(buf)) < 0)
		return "(format failed)";
	return buf;
}

/* Seconds since the epoch for a UTC date and time. */
static time_t utc(int y, int mo, int d, int h, int mi)
{
	return (time_t)ob_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60;
}

DEF_TEST(parse_fields)
{
	struct ob_cron c = parse("1,15 * * * *");
	EXPECT_EQ_INT((UINT64_C(1) << 1) | (UINT64_C(1) << 15), c.minutes);
	EXPECT_EQ_INT(0xffffff, c.hours);
	EXPECT_EQ_INT(0xfffffffe, c.dom);
	EXPECT_EQ_INT(0x1ffe, c.months);
	EXPECT_EQ_INT(0x7f, c.dow);
	EXPECT_EQ_INT(0, c.dom_restricted);
	EXPECT_EQ_INT(0, c.dow_restricted);
	EXPECT_EQ_INT(UINT64_C(0x0fffffffffffffff), parse("* * * * *").minutes);

	EXPECT_EQ_INT(0x3e, parse("1-5 * * * *").minutes);
	EXPECT_EQ_INT((UINT64_C(1) << 0) | (UINT64_C(1) << 15) | (UINT64_C(1) << 30) |
			      (UINT64_C(1) << 45),
		      parse("*/15 * * * *").minutes);
	EXPECT_EQ_INT((UINT64_C(1) << 1) | (UINT64_C(1) << 6) | (UINT64_C(1) << 11) |
			      (UINT64_C(1) << 16) | (UINT64_C(1) << 21) | (UINT64_C(1) << 26),
		      parse("1-30/5 * * * *").minutes);
	EXPECT_EQ_INT((UINT64_C(1) << 5) | (UINT64_C(1) << 15) | (UINT64_C(1) << 25) |
			      (UINT64_C(1) << 35) | (UINT64_C(1) << 45) | (UINT64_C(1) << 55),
		      parse("5/10 * * * *").minutes);
	EXPECT_EQ_INT((UINT64_C(1) << 0) | (UINT64_C(1) << 5) | (UINT64_C(1) << 10) |
			      (UINT64_C(1) << 30) | (UINT64_C(1) << 45) | (UINT64_C(1) << 50),
		      parse("0-10/5,30,45-50/5 * * * *").minutes);
	EXPECT_EQ_INT(0x041041, parse("0 */6 * * *").hours);
	EXPECT_EQ_INT(0x20000, parse("0 17 * * *").hours);
	EXPECT_EQ_INT((1u << 1) | (1u << 15) | (1u << 31), parse("0 0 1,15,31 * *").dom);
	EXPECT_EQ_INT(0x80000000u | 0x20000000u | 0x8000000u, parse("0 0 27-31/2 * *").dom);

	/* Month names, case-insensitive, in lists, ranges and steps. */
	EXPECT_EQ_INT((1 << 1) | (1 << 7), parse("0 0 1 JAN,jul *").months);
	EXPECT_EQ_INT((1 << 3) | (1 << 4) | (1 << 5), parse("0 0 1 Mar-May *").months);
	EXPECT_EQ_INT((1 << 1) | (1 << 4) | (1 << 7) | (1 << 10), parse("0 0 1 jan-dec/3 *").months);
	EXPECT_EQ_INT(1 << 12, parse("0 0 1 12 *").months);

	/* Day names, and 7 = Sunday. */
	EXPECT_EQ_INT(0x3e, parse("0 9 * * MON-FRI").dow);
	EXPECT_EQ_INT(0x3e, parse("0 9 * * 1-5").dow);
	EXPECT_EQ_INT(0x01, parse("0 0 * * 7").dow);
	EXPECT_EQ_INT(0x01, parse("0 0 * * 0").dow);
	EXPECT_EQ_INT(0x01, parse("0 0 * * sun").dow);
	EXPECT_EQ_INT(0x61, parse("0 0 * * 5-7").dow);
	EXPECT_EQ_INT(0x41, parse("0 0 * * SAT-SUN").dow);
	EXPECT_EQ_INT(0x55, parse("0 0 * * */2").dow);
	EXPECT_EQ_INT(0x2a, parse("0 0 * * mon,Wed,FRI").dow);

	/* Which fields count as restricted for the either-day rule. */
	c = parse("0 0 13 * 5");
	EXPECT_EQ_INT(1, c.dom_restricted);
	EXPECT_EQ_INT(1, c.dow_restricted);
	c = parse("0 0 */2 * 5");
	EXPECT_EQ_INT(0, c.dom_restricted);
	EXPECT_EQ_INT(1, c.dow_restricted);
	c = parse("0 0 1-31 * *");
	EXPECT_EQ_INT(1, c.dom_restricted);
	EXPECT_EQ_INT(0, c.dow_restricted);
}

static int same(struct ob_cron a, struct ob_cron b)
{
	return a.minutes == b.minutes && a.hours == b.hours && a.dom == b.dom &&
	       a.months == b.months && a.dow == b.dow && a.dom_restricted == b.dom_restricted &&
	       a.dow_restricted == b.dow_restricted;
}

DEF_TEST(nicknames)
{
	OK(same(parse("@hourly"), parse("0 * * * *")));
	OK(same(parse("@daily"), parse("0 0 * * *")));
	OK(same(parse("@midnight"), parse("0 0 * * *")));
	OK(same(parse("@weekly"), parse("0 0 * * 0")));
	OK(same(parse("@monthly"), parse("0 0 1 * *")));
	OK(same(parse("@yearly"), parse("0 0 1 1 *")));
	OK(same(parse("@annually"), parse("0 0 1 1 *")));
	OK(same(parse("  @DAILY "), parse("0 0 * * *")));
	OK(!same(parse("@daily"), parse("0 0 * * 0")));
	EXPECT_EQ_STR("2027-01-17T00:00:00+01:00 2027-01-24T00:00:00+01:00",
		      fires("@weekly", "2027-01-13T12:00:00+01:00", 2));
	EXPECT_EQ_STR("2027-02-01T00:00:00+01:00 2027-03-01T00:00:00+01:00 "
		      "2027-04-01T00:00:00+02:00",
		      fires("@monthly", "2027-01-31T12:00:00+01:00", 3));
	EXPECT_EQ_STR("2027-01-10T13:00:00+01:00", fires("@hourly", "2027-01-10T12:00:00+01:00", 1));
	EXPECT_EQ_STR("2027-01-11T00:00:00+01:00", fires("@midnight", "2027-01-10T00:00:00+01:00", 1));
}

DEF_TEST(parse_errors)
{
	EXPECT_EQ_STR("\"0 7 * *\": cron needs 5 fields (minute hour day-of-month month "
		      "day-of-week), got 4",
		      parse_err("0 7 * *"));
	EXPECT_EQ_STR("\"0 0 * * * *\": cron needs 5 fields (minute hour day-of-month month "
		      "day-of-week), got 6",
		      parse_err("0 0 * * * *"));
	EXPECT_EQ_STR("\"\": cron needs 5 fields (minute hour day-of-month month day-of-week), got 0",
		      parse_err(""));
	EXPECT_EQ_STR("\"61 * * * *\": minute 61 is out of range 0-59", parse_err("61 * * * *"));
	EXPECT_EQ_STR("\"0 24 * * *\": hour 24 is out of range 0-23", parse_err("0 24 * * *"));
	EXPECT_EQ_STR("\"0 0 0 * *\": day-of-month 0 is out of range 1-31", parse_err("0 0 0 * *"));
	EXPECT_EQ_STR("\"0 0 32 * *\": day-of-month 32 is out of range 1-31", parse_err("0 0 32 * *"));
	EXPECT_EQ_STR("\"0 0 * 13 *\": month 13 is out of range 1-12", parse_err("0 0 * 13 *"));
	EXPECT_EQ_STR("\"0 0 * * 8\": day-of-week 8 is out of range 0-7", parse_err("0 0 * * 8"));
	EXPECT_EQ_STR("\"0-60 * * * *\": minute 60 is out of range 0-59", parse_err("0-60 * * * *"));
	EXPECT_EQ_STR("\"*/0 * * * *\": step 0 in minute", parse_err("*/0 * * * *"));
	EXPECT_EQ_STR("\"0 1-5/0 * * *\": step 0 in hour", parse_err("0 1-5/0 * * *"));
	EXPECT_EQ_STR("\"*/61 * * * *\": step 61 in minute is larger than its range 0-59",
		      parse_err("*/61 * * * *"));
	EXPECT_EQ_STR("\"0 7 * * FOO\": unknown day name \"FOO\"", parse_err("0 7 * * FOO"));
	EXPECT_EQ_STR("\"0 7 * * MONDAY\": unknown day name \"MONDAY\"", parse_err("0 7 * * MONDAY"));
	EXPECT_EQ_STR("\"0 7 * * MON-JAN\": unknown day name \"JAN\"", parse_err("0 7 * * MON-JAN"));
	EXPECT_EQ_STR("\"0 0 1 FOO *\": unknown month name \"FOO\"", parse_err("0 0 1 FOO *"));
	EXPECT_EQ_STR("\"0 0 1 MON *\": unknown month name \"MON\"", parse_err("0 0 1 MON *"));
	EXPECT_EQ_STR("\"x * * * *\": minute \"x\" is not a number", parse_err("x * * * *"));
	EXPECT_EQ_STR("\"1x * * * *\": minute \"1x\" is not a number", parse_err("1x * * * *"));
	EXPECT_EQ_STR("\"0 0 JAN * *\": day-of-month \"JAN\" is not a number",
		      parse_err("0 0 JAN * *"));
	EXPECT_EQ_STR("\"30-10 * * * *\": range \"30-10\" in minute runs backwards",
		      parse_err("30-10 * * * *"));
	EXPECT_EQ_STR("\"0 0 * * FRI-MON\": range \"FRI-MON\" in day-of-week runs backwards",
		      parse_err("0 0 * * FRI-MON"));
	EXPECT_EQ_STR("\"1,,2 * * * *\": empty item in minute list \"1,,2\"", parse_err("1,,2 * * * *"));
	EXPECT_EQ_STR("\"1- * * * *\": minute \"1-\" ends too early", parse_err("1- * * * *"));
	EXPECT_EQ_STR("\"*/ * * * *\": minute \"*/\" ends too early", parse_err("*/ * * * *"));
	EXPECT_EQ_STR("\"0 0 * * 1#2\": unexpected \"#\" in day-of-week \"1#2\"",
		      parse_err("0 0 * * 1#2"));
	EXPECT_EQ_STR("\"*5 * * * *\": unexpected \"5\" in minute \"*5\"", parse_err("*5 * * * *"));
	EXPECT_EQ_STR("\"@reboot\": unknown nickname \"@reboot\" (known: @hourly @daily @midnight "
		      "@weekly @monthly @yearly @annually)",
		      parse_err("@reboot"));
	EXPECT_EQ_STR("parsed", parse_err(" 0  7\t* * 1-5 "));
}

DEF_TEST(next_basic)
{
	/* Strictly after: a fire time equal to --from is not repeated. */
	EXPECT_EQ_STR("2027-01-10T10:15:00+01:00 2027-01-10T10:30:00+01:00 "
		      "2027-01-10T10:45:00+01:00",
		      fires("*/15 * * * *", "2027-01-10T10:07:30+01:00", 3));
	EXPECT_EQ_STR("2027-01-11T12:00:00+01:00",
		      fires("0 12 * * *", "2027-01-10T12:00:00+01:00", 1));
	EXPECT_EQ_STR("2027-01-10T12:00:00+01:00",
		      fires("0 12 * * *", "2027-01-10T11:59:59+01:00", 1));
	/* Friday 8 January 2027 -> Monday. */
	EXPECT_EQ_STR("2027-01-11T09:00:00+01:00 2027-01-12T09:00:00+01:00",
		      fires("0 9 * * MON-FRI", "2027-01-08T10:00:00+01:00", 2));
	EXPECT_EQ_STR("2027-01-10T08:05:00+01:00 2027-01-10T08:25:00+01:00 "
		      "2027-01-10T08:45:00+01:00 2027-01-10T09:05:00+01:00 "
		      "2027-01-10T09:25:00+01:00 2027-01-10T09:45:00+01:00 "
		      "2027-01-11T08:05:00+01:00",
		      fires("5/20 8-9 * * *", "2027-01-10T00:00:00+01:00", 7));
	EXPECT_EQ_STR("2027-07-01T00:00:00+02:00 2028-01-01T00:00:00+01:00",
		      fires("0 0 1 JAN,JUL *", "2027-02-01T00:00:00+01:00", 2));
	/* 7 and 0 are both Sunday: 10 and 17 January 2027. */
	EXPECT_EQ_STR("2027-01-10T06:00:00+01:00 2027-01-17T06:00:00+01:00",
		      fires("0 6 * * 7", "2027-01-09T00:00:00+01:00", 2));
	EXPECT_EQ_STR("2027-01-10T06:00:00+01:00 2027-01-17T06:00:00+01:00",
		      fires("0 6 * * 0", "2027-01-09T00:00:00+01:00", 2));
	EXPECT_EQ_STR("2027-01-09T06:00:00+01:00 2027-01-10T06:00:00+01:00 "
		      "2027-01-16T06:00:00+01:00",
		      fires("0 6 * * sat-sun", "2027-01-08T00:00:00+01:00", 3));
	/* The same through the core API, on epoch seconds. */
	struct ob_cron c = parse("0 12 * * *");
	time_t t = 0;
	EXPECT_EQ_INT(0, ob_cron_next(&c, utc(2027, 1, 10, 10, 0), &t));
	EXPECT_EQ_INT(utc(2027, 1, 10, 11, 0), t);
	/* In summer 12:00 local is 10:00 UTC. */
	EXPECT_EQ_INT(0, ob_cron_next(&c, utc(2027, 7, 10, 9, 0), &t));
	EXPECT_EQ_INT(utc(2027, 7, 10, 10, 0), t);
}

DEF_TEST(year_boundary)
{
	EXPECT_EQ_STR("2028-01-01T00:00:00+01:00 2029-01-01T00:00:00+01:00",
		      fires("@yearly", "2027-12-31T23:59:59+01:00", 2));
	EXPECT_EQ_STR("2028-12-31T23:30:00+01:00 2029-12-31T23:30:00+01:00",
		      fires("30 23 31 12 *", "2027-12-31T23:30:00+01:00", 2));
	EXPECT_EQ_STR("2027-12-31T23:45:00+01:00 2028-01-01T00:00:00+01:00 "
		      "2028-01-01T00:15:00+01:00",
		      fires("*/15 * * * *", "2027-12-31T23:40:00+01:00", 3));
	EXPECT_EQ_STR("2028-01-03T09:00:00+01:00",
		      fires("0 9 * * MON", "2027-12-31T12:00:00+01:00", 1));
}

DEF_TEST(feb_29)
{
	EXPECT_EQ_STR("2028-02-29T00:00:00+01:00 2032-02-29T00:00:00+01:00",
		      fires("0 0 29 2 *", "2026-01-01T00:00:00+01:00", 2));
	EXPECT_EQ_STR("2028-02-29T00:00:00+01:00",
		      fires("0 0 29 FEB *", "2026-03-01T00:00:00+01:00", 1));
	/* 2027 has no 29-31 February: 28 February, then 28 March. */
	EXPECT_EQ_STR("2027-02-28T12:00:00+01:00 2027-03-28T12:00:00+02:00",
		      fires("0 12 28-31 2-3 *", "2027-02-27T00:00:00+01:00", 2));
}

DEF_TEST(or_rule)
{
	/* Both restricted: the 13th OR a Friday (13 August 2027 is both). */
	EXPECT_EQ_STR("2027-08-06T00:00:00+02:00 2027-08-13T00:00:00+02:00 "
		      "2027-08-20T00:00:00+02:00 2027-08-27T00:00:00+02:00 "
		      "2027-09-03T00:00:00+02:00 2027-09-10T00:00:00+02:00 "
		      "2027-09-13T00:00:00+02:00 2027-09-17T00:00:00+02:00",
		      fires("0 0 13 * 5", "2027-08-01T00:00:00+02:00", 8));
	EXPECT_EQ_STR("2027-09-13T00:00:00+02:00 2027-10-13T00:00:00+02:00 "
		      "2027-11-13T00:00:00+01:00",
		      fires("0 0 13 * *", "2027-09-01T00:00:00+02:00", 3));
	EXPECT_EQ_STR("2027-09-03T00:00:00+02:00 2027-09-10T00:00:00+02:00 "
		      "2027-09-17T00:00:00+02:00",
		      fires("0 0 * * 5", "2027-09-01T00:00:00+02:00", 3));
	/* The classic surprise: the first seven days OR any Monday. */
	EXPECT_EQ_STR("2027-01-01T00:00:00+01:00 2027-01-02T00:00:00+01:00 "
		      "2027-01-03T00:00:00+01:00 2027-01-04T00:00:00+01:00 "
		      "2027-01-05T00:00:00+01:00 2027-01-06T00:00:00+01:00 "
		      "2027-01-07T00:00:00+01:00 2027-01-11T00:00:00+01:00",
		      fires("0 0 1-7 * MON", "2026-12-31T12:00:00+01:00", 8));
	/* A stepped star counts as "*": odd days AND Fridays (Vixie cron). */
	EXPECT_EQ_STR("2027-01-15T00:00:00+01:00 2027-01-29T00:00:00+01:00 "
		      "2027-02-05T00:00:00+01:00",
		      fires("0 0 */2 * 5", "2027-01-02T00:00:00+01:00", 3));
}

DEF_TEST(never_fires)
{
	struct ob_cron c = parse("0 0 31 2 *");
	time_t t = 12345;
	EXPECT_EQ_INT(-1, ob_cron_next(&c, utc(2027, 1, 1, 0, 0), &t));
	EXPECT_EQ_INT(12345, t);
	c = parse("0 0 30 2 *");
	EXPECT_EQ_INT(-1, ob_cron_next(&c, utc(2027, 1, 1, 0, 0), &t));
	EXPECT_EQ_STR("error: \"0 0 31 2 *\": never fires within 5 years after "
		      "2027-01-01T00:00:00+01:00",
		      fires("0 0 31 2 *", "2027-01-01T00:00:00+01:00", 3));
	/* 31 April does not exist, but 31 May does: not "never". */
	EXPECT_EQ_STR("2027-05-31T00:00:00+02:00",
		      fires("0 0 31 4,5 *", "2027-01-01T00:00:00+01:00", 1));
}

DEF_TEST(dst_spring_fixed_times)
{
	/* 02:30 does not exist on 28 March: it fires at 03:00 CEST. */
	EXPECT_EQ_STR("2027-03-27T02:30:00+01:00 2027-03-28T03:00:00+02:00 "
		      "2027-03-29T02:30:00+02:00 2027-03-30T02:30:00+02:00",
		      fires("30 2 * * *", "2027-03-26T12:00:00+01:00", 4));
	EXPECT_EQ_STR("2027-03-28T03:00:00+02:00 2027-03-29T02:00:00+02:00",
		      fires("0 2 * * *", "2027-03-27T12:00:00+01:00", 2));
	EXPECT_EQ_STR("2027-03-28T03:00:00+02:00 2027-03-29T03:00:00+02:00",
		      fires("0 3 * * *", "2027-03-27T12:00:00+01:00", 2));
	/* 02:00, 02:30 and 03:00 are one instant: it fires once. */
	EXPECT_EQ_STR("2027-03-28T01:30:00+01:00 2027-03-28T03:00:00+02:00 "
		      "2027-03-28T03:30:00+02:00 2027-03-29T01:00:00+02:00",
		      fires("0,30 1-3 * * *", "2027-03-28T01:00:00+01:00", 4));
	/* On epoch seconds: 03:00 CEST is 01:00 UTC. */
	struct ob_cron c = parse("30 2 * * *");
	time_t t = 0;
	EXPECT_EQ_INT(0, ob_cron_next(&c, utc(2027, 3, 27, 12, 0), &t));
	EXPECT_EQ_INT(utc(2027, 3, 28, 1, 0), t);
	EXPECT_EQ_INT(0, ob_cron_next(&c, t, &t));
	EXPECT_EQ_INT(utc(2027, 3, 29, 0, 30), t);
	/* A clock that reads 01:59:59 CET is just before the gap. */
	EXPECT_EQ_INT(0, ob_cron_next(&c, utc(2027, 3, 28, 0, 59) + 59, &t));
	EXPECT_EQ_INT(utc(2027, 3, 28, 1, 0), t);
}

DEF_TEST(dst_spring_every_n_minutes)
{
	EXPECT_EQ_STR("2027-03-28T01:45:00+01:00 2027-03-28T03:00:00+02:00 "
		      "2027-03-28T03:15:00+02:00 2027-03-28T03:30:00+02:00 "
		      "2027-03-28T03:45:00+02:00",
		      fires("*/15 * * * *", "2027-03-28T01:30:00+01:00", 5));
	EXPECT_EQ_STR("2027-03-28T01:40:00+01:00 2027-03-28T03:00:00+02:00 "
		      "2027-03-28T03:20:00+02:00 2027-03-28T03:40:00+02:00",
		      fires("*/20 * * * *", "2027-03-28T01:30:00+01:00", 4));
	EXPECT_EQ_STR("2027-03-28T01:00:00+01:00 2027-03-28T03:00:00+02:00 "
		      "2027-03-28T04:00:00+02:00",
		      fires("0 * * * *", "2027-03-28T00:30:00+01:00", 3));
	/* A local --from inside the gap means the gap's end, 03:00 CEST. */
	EXPECT_EQ_STR("2027-03-28T03:15:00+02:00",
		      fires("*/15 * * * *", "2027-03-28T02:30", 1));
	/* Real time between 01:45 CET and 03:00 CEST: 15 minutes. */
	struct ob_cron c = parse("*/15 * * * *");
	time_t a = 0, b = 0;
	EXPECT_EQ_INT(0, ob_cron_next(&c, utc(2027, 3, 28, 0, 40), &a));
	EXPECT_EQ_INT(0, ob_cron_next(&c, a, &b));
	EXPECT_EQ_INT(900, b - a);
	EXPECT_EQ_INT(utc(2027, 3, 28, 1, 0), b);
}

DEF_TEST(dst_autumn_fixed_times)
{
	/* 02:30 occurs twice on 31 October: only the first (CEST) fires. */
	EXPECT_EQ_STR("2027-10-31T02:30:00+02:00 2027-11-01T02:30:00+01:00 "
		      "2027-11-02T02:30:00+01:00",
		      fires("30 2 * * *", "2027-10-30T12:00:00+02:00", 3));
	EXPECT_EQ_STR("2027-10-31T02:00:00+02:00 2027-11-01T02:00:00+01:00",
		      fires("0 2 * * *", "2027-10-30T12:00:00+02:00", 2));
	EXPECT_EQ_STR("2027-10-31T03:00:00+01:00 2027-11-01T03:00:00+01:00",
		      fires("0 3 * * *", "2027-10-30T12:00:00+02:00", 2));
	/* From inside the repeated hour (02:10 CET), 02:30 is already past. */
	EXPECT_EQ_STR("2027-11-01T02:30:00+01:00",
		      fires("30 2 * * *", "2027-10-31T02:10:00+01:00", 1));
	EXPECT_EQ_STR("2027-10-31T02:30:00+02:00",
		      fires("30 2 * * *", "2027-10-31T02:10:00+02:00", 1));
	/* A local --from in the repeated hour is its first occurrence. */
	EXPECT_EQ_STR("2027-10-31T02:30:00+02:00", fires("30 2 * * *", "2027-10-31T02:10", 1));
	struct ob_cron c = parse("30 2 * * *");
	time_t t = 0;
	EXPECT_EQ_INT(0, ob_cron_next(&c, utc(2027, 10, 30, 12, 0), &t));
	EXPECT_EQ_INT(utc(2027, 10, 31, 0, 30), t);
	EXPECT_EQ_INT(0, ob_cron_next(&c, t, &t));
	EXPECT_EQ_INT(utc(2027, 11, 1, 1, 30), t);
}

DEF_TEST(dst_autumn_every_n_minutes)
{
	EXPECT_EQ_STR("2027-10-31T01:45:00+02:00 2027-10-31T02:00:00+02:00 "
		      "2027-10-31T02:15:00+02:00 2027-10-31T02:30:00+02:00 "
		      "2027-10-31T02:45:00+02:00 2027-10-31T03:00:00+01:00 "
		      "2027-10-31T03:15:00+01:00",
		      fires("*/15 * * * *", "2027-10-31T01:30:00+02:00", 7));
	EXPECT_EQ_STR("2027-10-31T01:40:00+02:00 2027-10-31T02:00:00+02:00 "
		      "2027-10-31T02:20:00+02:00 2027-10-31T02:40:00+02:00 "
		      "2027-10-31T03:00:00+01:00 2027-10-31T03:20:00+01:00",
		      fires("*/20 * * * *", "2027-10-31T01:30:00+02:00", 6));
	EXPECT_EQ_STR("2027-10-31T01:00:00+02:00 2027-10-31T02:00:00+02:00 "
		      "2027-10-31T03:00:00+01:00 2027-10-31T04:00:00+01:00",
		      fires("0 * * * *", "2027-10-31T00:30:00+02:00", 4));
	/* Inside the second pass nothing fires until 03:00 CET. */
	EXPECT_EQ_STR("2027-10-31T03:00:00+01:00",
		      fires("*/15 * * * *", "2027-10-31T02:10:00+01:00", 1));
	/* Real time from 02:45 CEST to 03:00 CET: 75 minutes. */
	struct ob_cron c = parse("*/15 * * * *");
	time_t a = 0, b = 0;
	EXPECT_EQ_INT(0, ob_cron_next(&c, utc(2027, 10, 31, 0, 40), &a));
	EXPECT_EQ_INT(utc(2027, 10, 31, 0, 45), a);
	EXPECT_EQ_INT(0, ob_cron_next(&c, a, &b));
	EXPECT_EQ_INT(75 * 60, b - a);
}

DEF_TEST(format_time)
{
	char small[10];
	EXPECT_EQ_STR("2027-03-28T03:00:00+02:00", fmt(utc(2027, 3, 28, 1, 0)));
	EXPECT_EQ_STR("2027-03-28T01:59:59+01:00", fmt(utc(2027, 3, 28, 0, 59) + 59));
	EXPECT_EQ_STR("2027-10-31T02:00:00+02:00", fmt(utc(2027, 10, 31, 0, 0)));
	EXPECT_EQ_STR("2027-10-31T02:00:00+01:00", fmt(utc(2027, 10, 31, 1, 0)));
	EXPECT_EQ_INT(-1, ob_cron_format_time(0, small, sizeof(small)));
}

DEF_TEST(next_fires_inputs)
{
	struct ob_buf b;
	struct ob_err err;

	/* Offsets: Z, +HH:MM, +HHMM, none (local), bare date (local midnight). */
	EXPECT_EQ_STR("2027-03-27T13:00:00+01:00", fires("0 * * * *", "2027-03-27T11:30:00Z", 1));
	EXPECT_EQ_STR("2027-03-27T13:00:00+01:00",
		      fires("0 * * * *", "2027-03-27T06:30:00-05:00", 1));
	EXPECT_EQ_STR("2027-03-27T13:00:00+01:00", fires("0 * * * *", "2027-03-27T13:30+0200", 1));
	EXPECT_EQ_STR("2027-03-27T13:00:00+01:00", fires("0 * * * *", "2027-03-27T12:30:00", 1));
	EXPECT_EQ_STR("2027-03-27T01:00:00+01:00", fires("0 * * * *", "2027-03-27", 1));
	EXPECT_EQ_STR("error: --from \"27/03/2027\": not an ISO 8601 time (want "
		      "2027-03-27T12:00:00+01:00, 2027-03-27T11:00:00Z, or local 2027-03-27T12:00)",
		      fires("0 * * * *", "27/03/2027", 1));
	EXPECT_CONTAINS("error: --from \"2027-02-30T12:00\": not an ISO 8601 time",
			fires("0 * * * *", "2027-02-30T12:00", 1));
	EXPECT_CONTAINS("error: --from \"2027-03-27T12:00:00+01:00x\"",
			fires("0 * * * *", "2027-03-27T12:00:00+01:00x", 1));
	EXPECT_EQ_STR("error: --count 0: must be between 1 and 10000", fires("0 * * * *", NULL, 0));
	EXPECT_EQ_STR("error: \"61 * * * *\": minute 61 is out of range 0-59",
		      fires("61 * * * *", NULL, 1));

	/* NULL --from is now: count lines, each in the future. */
	ob_buf_init(&b, 0);
	ob_err_clear(&err);
	time_t before = time(NULL);
	EXPECT_EQ_INT(0, ob_cron_next_fires("* * * * *", NULL, NULL, 3, &b, &err));
	int lines = 0;
	for (size_t i = 0; i < b.len; i++)
		lines += b.data[i] == '\n';
	EXPECT_EQ_INT(3, lines);
	EXPECT_EQ_INT(26 * 3, b.len);
	OK(b.len > 0 && strcmp(b.data, fmt(before)) > 0);
	ob_buf_free(&b);

	/* Another zone, and TZ is restored afterwards. New York springs
	 * forward on 14 March 2027 at 02:00 EST. */
	ob_buf_init(&b, 0);
	ob_err_clear(&err);
	EXPECT_EQ_INT(0, ob_cron_next_fires("30 2 * * *", "America/New_York",
					    "2027-03-13T12:00:00-05:00", 2, &b, &err));
	EXPECT_EQ_STR("2027-03-14T03:00:00-04:00|2027-03-15T02:30:00-04:00|", oneline(b.data));
	EXPECT_EQ_STR(ZONE, getenv("TZ"));
	EXPECT_EQ_STR("2027-01-01T00:00:00+01:00", fmt(utc(2026, 12, 31, 23, 0)));
	ob_buf_reset(&b);
	EXPECT_EQ_INT(0, ob_cron_next_fires("@daily", "UTC", "2027-03-13T12:00:00Z", 1, &b, &err));
	EXPECT_EQ_STR("2027-03-14T00:00:00+00:00|", oneline(b.data));
	ob_buf_free(&b);

	/* Unknown zones are refused by name and TZ is left alone. */
	ob_buf_init(&b, 0);
	ob_err_clear(&err);
	EXPECT_EQ_INT(-1, ob_cron_next_fires("@daily", "Mars/Olympus_Mons", NULL, 1, &b, &err));
	EXPECT_EQ_STR("--tz \"Mars/Olympus_Mons\": no such time zone in /usr/share/zoneinfo",
		      err.msg);
	ob_err_clear(&err);
	EXPECT_EQ_INT(-1, ob_cron_next_fires("@daily", "../../etc/passwd", NULL, 1, &b, &err));
	EXPECT_EQ_STR("--tz \"../../etc/passwd\": no such time zone in /usr/share/zoneinfo",
		      err.msg);
	ob_err_clear(&err);
	EXPECT_EQ_INT(-1, ob_cron_next_fires("@daily", "Europe", NULL, 1, &b, &err));
	EXPECT_CONTAINS("no such time zone", err.msg);
	EXPECT_EQ_INT(0, b.len);
	EXPECT_EQ_STR(ZONE, getenv("TZ"));
	ob_buf_free(&b);

	/* The default zone is Europe/Copenhagen, whatever TZ says. */
	setenv("TZ", "UTC", 1);
	tzset();
	ob_buf_init(&b, 0);
	ob_err_clear(&err);
	EXPECT_EQ_INT(0, ob_cron_next_fires("@daily", NULL, "2027-06-01T12:00:00Z", 1, &b, &err));
	EXPECT_EQ_STR("2027-06-02T00:00:00+02:00|", oneline(b.data));
	EXPECT_EQ_STR("UTC", getenv("TZ"));
	ob_buf_free(&b);
	setenv("TZ", ZONE, 1);
	tzset();
}

DEF_TEST(efficiency)
{
	/* Scanning five years for an impossible date, and a sparse yearly
	 * rule, must not step minute by minute (2.6 million minutes). */
	struct ob_cron c = parse("0 0 31 2 *");
	time_t t = 0;
	clock_t start = clock();
	for (int i = 0; i < 200; i++)
		ob_cron_next(&c, utc(2027, 1, 1, 0, 0), &t);
	double secs = (double)(clock() - start) / CLOCKS_PER_SEC;
	OK(secs < 1.0);
	printf("# 200 five-year scans took %.3f s\n", secs);
}

/* "Never fires" is judged from the calendar, not by trying 5 years. */
static int can_fire(const char *expr, char *why)
{
	struct ob_cron c;
	struct ob_err err = {{0}};
	why[0] = '\0';
	if (ob_cron_parse(expr, &c, &err) < 0)
		return -1;
	return ob_cron_can_fire(&c, why, 160);
}

DEF_TEST(can_fire)
{
	char why[160];
	EXPECT_EQ_INT(0, can_fire("* * 31 2 *", why));
	EXPECT_EQ_STR("never fires: February has no day 31", why);
	EXPECT_EQ_INT(0, can_fire("0 0 30,31 2 *", why));
	EXPECT_EQ_STR("never fires: February has no day 30", why);
	EXPECT_EQ_INT(0, can_fire("0 0 31 2,4,6,9,11 *", why));
	EXPECT_EQ_STR("never fires: none of its months has day 31", why);
	EXPECT_EQ_INT(1, can_fire("0 0 29 2 *", why));     /* leap days */
	EXPECT_EQ_INT(1, can_fire("0 0 31 2 MON", why));   /* either field: every Monday */
	EXPECT_EQ_INT(1, can_fire("0 0 31 2,3 *", why));   /* 31 March */
	EXPECT_EQ_INT(1, can_fire("0 0 30,31 2,4 *", why)); /* 30 April */
	EXPECT_EQ_INT(1, can_fire("@yearly", why));
	EXPECT_EQ_INT(1, can_fire("*/5 * * * *", why));
}

int main(void)
{
	RUN_TEST(can_fire);
	setenv("TZ", ZONE, 1);
	tzset();
	RUN_TEST(parse_fields);
	RUN_TEST(nicknames);
	RUN_TEST(parse_errors);
	RUN_TEST(next_basic);
	RUN_TEST(year_boundary);
	RUN_TEST(feb_29);
	RUN_TEST(or_rule);
	RUN_TEST(never_fires);
	RUN_TEST(dst_spring_fixed_times);
	RUN_TEST(dst_spring_every_n_minutes);
	RUN_TEST(dst_autumn_fixed_times);
	RUN_TEST(dst_autumn_every_n_minutes);
	RUN_TEST(format_time);
	RUN_TEST(next_fires_inputs);
	RUN_TEST(efficiency);
	END_TEST;
}
