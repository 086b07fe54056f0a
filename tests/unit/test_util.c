/* test_util.c - dates, bounded buffers, the uuid map. */
#include "config.h"

#include <stdlib.h>

#include "../tap.h"
#include "map.h"
#include "util.h"

static const char *fmt(int32_t d)
{
	static char buf[11];
	ob_date_format(d, buf);
	return buf;
}

DEF_TEST(civil_roundtrip)
{
	int ok = 1;
	for (int32_t d = ob_days_from_civil(1900, 1, 1); d < ob_days_from_civil(2200, 1, 1); d++) {
		int y, m, dd;
		ob_civil_from_days(d, &y, &m, &dd);
		if (ob_days_from_civil(y, m, dd) != d)
			ok = 0;
	}
	OK(ok);
	EXPECT_EQ_INT(0, ob_days_from_civil(1970, 1, 1));
	EXPECT_EQ_INT(20418, ob_days_from_civil(2025, 11, 26));
	EXPECT_EQ_INT(29, ob_days_in_month(2024, 2));
	EXPECT_EQ_INT(28, ob_days_in_month(2100, 2));
	EXPECT_EQ_INT(29, ob_days_in_month(2000, 2));
}

DEF_TEST(date_parse)
{
	int32_t d = 0;
	EXPECT_EQ_INT(1, ob_date_parse("2026-11-26", &d));
	EXPECT_EQ_STR("2026-11-26", fmt(d));
	EXPECT_EQ_INT(1, ob_date_parse("26-11-2026", &d));
	EXPECT_EQ_STR("2026-11-26", fmt(d));
	EXPECT_EQ_INT(1, ob_date_parse("26.11.2026", &d));
	EXPECT_EQ_STR("2026-11-26", fmt(d));
	EXPECT_EQ_INT(1, ob_date_parse("2023-02-22T11:29:43.0255828Z", &d));
	EXPECT_EQ_STR("2023-02-22", fmt(d));
	EXPECT_EQ_INT(1, ob_date_parse("2024-04-18T00:00:00+02:00", &d));
	EXPECT_EQ_INT(0, ob_date_parse("0001-01-01T00:00:00Z", &d));
	EXPECT_EQ_INT(0, ob_date_parse("", &d));
	EXPECT_EQ_INT(0, ob_date_parse(NULL, &d));
	EXPECT_EQ_INT(-1, ob_date_parse("2000-01-15T00:00:000Z", &d));
	EXPECT_EQ_INT(-1, ob_date_parse("31-02-2026", &d));
	EXPECT_EQ_INT(-1, ob_date_parse("2026-13-01", &d));
	EXPECT_EQ_INT(-1, ob_date_parse("i morgen", &d));
	EXPECT_EQ_INT(1, ob_date_parse("2024-02-29", &d));
	EXPECT_EQ_INT(-1, ob_date_parse("2023-02-29", &d));
}

DEF_TEST(buf_cap)
{
	struct ob_buf b;
	ob_buf_init(&b, 8);
	EXPECT_EQ_INT(0, ob_buf_adds(&b, "Ærø"));
	EXPECT_EQ_INT(-1, ob_buf_adds(&b, "Bøgeskov"));
	EXPECT_EQ_STR("Ærø", b.data);
	EXPECT_EQ_INT(0, ob_buf_printf(&b, "%d", 42));
	EXPECT_EQ_STR("Ærø42", b.data);
	ob_buf_free(&b);
}

DEF_TEST(err_keeps_first)
{
	struct ob_err err = {{0}};
	ob_err_set(&err, "first: %s", "a.json:3:4");
	ob_err_set(&err, "second");
	EXPECT_EQ_STR("first: a.json:3:4", err.msg);
}

DEF_TEST(map)
{
	struct ob_map m;
	uint64_t v = 0;
	char key[64];
	int ok = 1;

	ob_map_init(&m);
	for (int i = 0; i < 50000; i++) {
		snprintf(key, sizeof(key), "%d:%08x-uuid", i % 7, i);
		ob_map_put(&m, key, (uint64_t)i);
	}
	for (int i = 0; i < 50000; i++) {
		snprintf(key, sizeof(key), "%d:%08x-uuid", i % 7, i);
		if (!ob_map_get(&m, key, &v) || v != (uint64_t)i)
			ok = 0;
	}
	OK(ok);
	EXPECT_EQ_INT(50000, m.len);
	EXPECT_EQ_INT(0, ob_map_get(&m, "7:absent", &v));
	ob_map_put(&m, "0:00000000-uuid", 99);
	EXPECT_EQ_INT(1, ob_map_get(&m, "0:00000000-uuid", &v));
	EXPECT_EQ_INT(99, v);
	EXPECT_EQ_INT(50000, m.len);
	ob_map_free(&m);
}

DEF_TEST(utf8_fit)
{
	char a[] = "Løn & Personale", b[] = "\xF0\x9F\x98\x80\xF0\x9F\x98\x80" "ab", c[] = "æøå";
	EXPECT_EQ_INT(15, ob_utf8_fit(a, 3));
	EXPECT_EQ_STR("Løn", a);
	EXPECT_EQ_INT(4, ob_utf8_fit(b, 1)); /* an emoji is one character */
	EXPECT_EQ_STR("\xF0\x9F\x98\x80", b);
	EXPECT_EQ_INT(3, ob_utf8_fit(c, 3));
	EXPECT_EQ_STR("æøå", c);
	EXPECT_EQ_INT(3, ob_utf8_fit(c, 0));
	EXPECT_EQ_STR("", c);
}

static const char *am(const char *iso, int n)
{
	static char out[11];
	int32_t d;
	ob_date_parse(iso, &d);
	ob_date_format(ob_add_months(d, n), out);
	return out;
}

static const char *eo(const char *iso, enum ob_period p)
{
	static char out[11];
	int32_t d;
	ob_date_parse(iso, &d);
	ob_date_format(ob_end_of(d, p), out);
	return out;
}

/* REPORTS.md "Calendar arithmetic": month ends, leap years, year ends. */
DEF_TEST(calendar)
{
	EXPECT_EQ_STR("2025-12-31", am("2026-06-30", -6)); /* a month's last day stays last */
	EXPECT_EQ_STR("2027-03-31", am("2027-02-28", 1));
	EXPECT_EQ_STR("2028-03-31", am("2028-02-29", 1));
	EXPECT_EQ_STR("2028-03-28", am("2028-02-28", 1)); /* not the last day in a leap year */
	EXPECT_EQ_STR("2027-02-28", am("2027-08-30", -6)); /* clamped */
	EXPECT_EQ_STR("2028-02-29", am("2028-08-30", -6));
	EXPECT_EQ_STR("2026-02-15", am("2026-03-15", -1));
	EXPECT_EQ_STR("2027-02-28", am("2026-01-31", 13));
	EXPECT_EQ_STR("2025-12-31", am("2026-01-31", -1)); /* across the year end */
	EXPECT_EQ_STR("2024-02-29", am("2026-02-28", -24));
	EXPECT_EQ_STR("2023-02-28", am("2024-02-29", -12));
	EXPECT_EQ_STR("2026-11-26", am("2026-11-26", 0));
	EXPECT_EQ_STR("2014-11-26", am("2026-11-26", -144));
	EXPECT_EQ_STR("2027-01-30", am("2026-12-30", 1));
	EXPECT_EQ_STR("2026-04-30", am("2026-03-31", 1));
	EXPECT_EQ_STR("2026-03-31", am("2026-04-30", -1)); /* the month-end rule, both ways */

	EXPECT_EQ_STR("2026-02-28", eo("2026-02-01", OB_PERIOD_MONTH));
	EXPECT_EQ_STR("2028-02-29", eo("2028-02-10", OB_PERIOD_MONTH));
	EXPECT_EQ_STR("2026-03-31", eo("2026-01-01", OB_PERIOD_QUARTER));
	EXPECT_EQ_STR("2026-06-30", eo("2026-04-01", OB_PERIOD_QUARTER));
	EXPECT_EQ_STR("2026-09-30", eo("2026-09-30", OB_PERIOD_QUARTER));
	EXPECT_EQ_STR("2026-12-31", eo("2026-10-01", OB_PERIOD_QUARTER));
	EXPECT_EQ_STR("2026-12-31", eo("2026-01-01", OB_PERIOD_YEAR));
	EXPECT_EQ_STR("2026-05-17", eo("2026-05-17", OB_PERIOD_NONE));

	char out[32];
	int32_t d;
	ob_date_parse("2026-12-31", &d);
	ob_date_format_da_long(d, out, sizeof(out));
	EXPECT_EQ_STR("31. december 2026", out);
	ob_date_parse("2027-03-01", &d);
	ob_date_format_da_long(d, out, sizeof(out));
	EXPECT_EQ_STR("1. marts 2027", out);
}

int main(void)
{
	RUN_TEST(calendar);
	RUN_TEST(utf8_fit);
	RUN_TEST(civil_roundtrip);
	RUN_TEST(date_parse);
	RUN_TEST(buf_cap);
	RUN_TEST(err_keeps_first);
	RUN_TEST(map);
	END_TEST;
}
