/* test_contract_expiry.c - the contract_expiry plugin against the fake API:
 * the calendar it computes with (the core's, through the api), each rule
 * of one contract at its boundaries, and a whole run's rows, figures,
 * items (keys, recipients, rendered Danish texts) and document. Every
 * expected value is worked out by hand from REPORTS.md, in the comments. */
#include <stdlib.h>
#include <string.h>

#include "../tap.h"
#include "fake_api.h"
#include "notice_render.h"
#include "fake_core.h"
#include "rules.h"

extern const struct ob_plugin ob_plugin;

static const char *as_of = "2026-11-26";

/* The calendar through the api. */
static const char *am(const struct ob_api *api, const char *d, int n)
{
	static char out[8][OB_DATE_SIZE];
	static int k;
	char *o = out[k++ % 8];
	return api->add_months(d, n, o) == 0 ? o : "error";
}

static const char *eo(const struct ob_api *api, const char *d, enum ob_period p)
{
	static char out[8][OB_DATE_SIZE];
	static int k;
	char *o = out[k++ % 8];
	return api->end_of(d, p, o) == 0 ? o : "error";
}

static long dd(const struct ob_api *api, const char *a, const char *b)
{
	long d = -99999;
	return api->days(a, b, &d) == 0 ? d : -99999;
}

DEF_TEST(calendar)
{
	struct fake *f = fake_new(&ob_plugin, as_of);
	const struct ob_api *api = &f->api;
	char buf[64];

	/* Month ends keep to month ends, both ways, across year ends. */
	EXPECT_EQ_STR("2025-12-31", am(api, "2026-06-30", -6));
	EXPECT_EQ_STR("2027-03-31", am(api, "2027-02-28", 1));
	EXPECT_EQ_STR("2026-05-31", am(api, "2026-04-30", 1));
	EXPECT_EQ_STR("2026-04-30", am(api, "2026-05-31", -1));
	EXPECT_EQ_STR("2025-12-31", am(api, "2026-12-31", -12));
	/* Other days are kept, clamped to the target month. */
	EXPECT_EQ_STR("2026-02-28", am(api, "2026-08-30", -6));
	EXPECT_EQ_STR("2028-02-29", am(api, "2028-08-30", -6));
	EXPECT_EQ_STR("2026-02-15", am(api, "2026-03-15", -1));
	EXPECT_EQ_STR("2026-02-28", am(api, "2026-01-31", 1));
	EXPECT_EQ_STR("2027-01-26", am(api, "2026-11-26", 2));
	EXPECT_EQ_STR("2026-12-15", am(api, "2027-01-15", -1));
	EXPECT_EQ_STR("2025-02-10", am(api, "2027-03-10", -25));
	EXPECT_EQ_STR("2026-11-26", am(api, "2026-11-26", 0));
	/* Leap years: 29 February is a month end, so is 28 February. */
	EXPECT_EQ_STR("2029-02-28", am(api, "2028-02-29", 12));
	EXPECT_EQ_STR("2027-02-28", am(api, "2028-02-29", -12));
	EXPECT_EQ_STR("2028-02-29", am(api, "2027-02-28", 12));
	EXPECT_EQ_STR("2028-02-28", am(api, "2028-01-28", 1));
	/* Not dates. */
	EXPECT_EQ_STR("error", am(api, "2026-02-30", 1));
	EXPECT_EQ_STR("error", am(api, "2026-13-01", 1));
	EXPECT_EQ_STR("error", am(api, "26.11.2026", 1));
	EXPECT_EQ_STR("error", am(api, "", 1));

	EXPECT_EQ_STR("2026-11-30", eo(api, "2026-11-26", OB_PERIOD_MONTH));
	EXPECT_EQ_STR("2028-02-29", eo(api, "2028-02-03", OB_PERIOD_MONTH));
	EXPECT_EQ_STR("2027-02-28", eo(api, "2027-02-03", OB_PERIOD_MONTH));
	EXPECT_EQ_STR("2026-12-31", eo(api, "2026-11-26", OB_PERIOD_QUARTER));
	EXPECT_EQ_STR("2026-03-31", eo(api, "2026-02-10", OB_PERIOD_QUARTER));
	EXPECT_EQ_STR("2026-06-30", eo(api, "2026-04-01", OB_PERIOD_QUARTER));
	EXPECT_EQ_STR("2026-09-30", eo(api, "2026-09-30", OB_PERIOD_QUARTER));
	EXPECT_EQ_STR("2026-12-31", eo(api, "2026-01-01", OB_PERIOD_YEAR));
	EXPECT_EQ_STR("2026-11-26", eo(api, "2026-11-26", OB_PERIOD_NONE));

	EXPECT_EQ_INT(2, dd(api, "2028-02-28", "2028-03-01"));
	EXPECT_EQ_INT(1, dd(api, "2027-02-28", "2027-03-01"));
	EXPECT_EQ_INT(1, dd(api, "2026-12-31", "2027-01-01"));
	EXPECT_EQ_INT(-1, dd(api, "2027-01-01", "2026-12-31"));
	EXPECT_EQ_INT(365, dd(api, "2026-11-26", "2027-11-26"));
	EXPECT_EQ_INT(366, dd(api, "2027-11-26", "2028-11-26"));
	EXPECT_EQ_INT(-99999, dd(api, "2027-02-29", "2028-11-26"));

	OK(api->date_da("2026-12-31", buf, sizeof(buf)) > 0);
	EXPECT_EQ_STR("31. december 2026", buf);
	OK(api->date_da("2027-03-01", buf, sizeof(buf)) > 0);
	EXPECT_EQ_STR("1. marts 2027", buf);
	OK(api->number_da(1234567, 0, buf, sizeof(buf)) > 0);
	EXPECT_EQ_STR("1.234.567", buf);
	OK(api->number_da(12.25, 1, buf, sizeof(buf)) > 0);
	EXPECT_EQ_STR("12,3", buf);
	fake_free(f);
}

/* One contract's rules. */
static struct ce_cfg cfg_default(void)
{
	static const long long ms[] = {365, 180, 90, 30};
	struct ce_cfg c = {.lead_months = {12, 9, 6}};
	ce_cfg_milestones(&c, ms, 4);
	return c;
}

static struct ce_result eval_on(const char *day, const struct ce_contract *c)
{
	struct fake *f = fake_new(&ob_plugin, day);
	struct ce_cfg cfg = cfg_default();
	struct ce_result r;
	if (ce_evaluate(&f->api, day, &cfg, c, &r) < 0)
		memset(&r, 0x55, sizeof(r));
	fake_free(f);
	return r;
}

static struct ce_result eval(const struct ce_contract *c) { return eval_on(as_of, c); }

DEF_TEST(fixed)
{
	/* E 30 June 2027, 6 months: 31 December 2026 (month end); 26 Nov ->
	 * 31 Dec = 4 + 31 = 35 days; smallest M >= 35 is 90; undecided and
	 * within 90: escalate; segment A: exit from 31 Dec 2025, due. */
	struct ce_contract c = {.end = "2027-06-30", .notice_months = "6", .segment = "A", .in_operation = 1};
	struct ce_result r = eval(&c);
	EXPECT_EQ_STR("fixed", ce_kind_name(r.kind));
	EXPECT_EQ_STR("2026-12-31", r.notice_deadline);
	EXPECT_EQ_INT(1, r.has_days_left);
	EXPECT_EQ_INT(35, r.days_left);
	EXPECT_EQ_INT(90, r.milestone);
	EXPECT_EQ_INT(1, r.escalate);
	EXPECT_EQ_STR("2025-12-31", r.exit_start);
	EXPECT_EQ_INT(1, r.exit_due);
	EXPECT_EQ_INT(0, r.expired);
	EXPECT_EQ_STR("", r.earliest_end);
	EXPECT_EQ_STR("", r.ends_on);

	/* A decision taken: neither escalation nor exit_due; the milestone stays. */
	c.decision = "extend";
	r = eval(&c);
	EXPECT_EQ_INT(0, r.escalate);
	EXPECT_EQ_INT(0, r.exit_due);
	EXPECT_EQ_INT(90, r.milestone);
	/* Undecided again, but a covered system is in phase exit: not exit_due. */
	c.decision = "undecided";
	c.in_exit = 1;
	r = eval(&c);
	EXPECT_EQ_INT(0, r.exit_due);
	EXPECT_EQ_INT(1, r.escalate);

	/* E 15 March 2027, 3 months: 15 December 2026, 19 days: milestone
	 * 30; segment C, 6 months: exit from 15 June 2026. */
	struct ce_contract c2 = {.end = "2027-03-15", .notice_months = "3", .segment = "C"};
	r = eval(&c2);
	EXPECT_EQ_STR("2026-12-15", r.notice_deadline);
	EXPECT_EQ_INT(19, r.days_left);
	EXPECT_EQ_INT(30, r.milestone);
	EXPECT_EQ_STR("2026-06-15", r.exit_start);

	/* No segment: no exit_start, no exit_due. */
	c2.segment = NULL;
	r = eval(&c2);
	EXPECT_EQ_STR("", r.exit_start);
	EXPECT_EQ_INT(0, r.exit_due);
}

DEF_TEST(notice_missing_and_zero)
{
	/* Unknown notice: no deadline, nothing computed from it. */
	struct ce_contract c = {.end = "2027-06-30", .segment = "A"};
	struct ce_result r = eval(&c);
	EXPECT_EQ_STR("fixed", ce_kind_name(r.kind));
	EXPECT_EQ_INT(-1, r.notice_months);
	EXPECT_EQ_STR("", r.notice_deadline);
	EXPECT_EQ_INT(0, r.has_days_left);
	EXPECT_EQ_INT(CE_MILESTONE_NONE, r.milestone);
	EXPECT_EQ_INT(0, r.escalate);
	EXPECT_EQ_STR("", r.exit_start);
	/* Malformed notice reads as unknown. */
	c.notice_months = "abc";
	r = eval(&c);
	EXPECT_EQ_INT(-1, r.notice_months);
	EXPECT_EQ_STR("", r.notice_deadline);

	/* Notice 0: the deadline is the end; 26 Nov -> 31 Jan = 4 + 31 + 31 = 66. */
	struct ce_contract z = {.end = "2027-01-31", .notice_months = "0"};
	r = eval(&z);
	EXPECT_EQ_INT(0, r.notice_months);
	EXPECT_EQ_STR("2027-01-31", r.notice_deadline);
	EXPECT_EQ_INT(66, r.days_left);
	EXPECT_EQ_INT(90, r.milestone);
}

DEF_TEST(continuous)
{
	/* as_of + 3 months = 26 Feb 2027; irrevocable until 30 June 2027 is
	 * later; its quarter ends 30 June 2027. */
	struct ce_contract c = {.continuous = 1, .notice_months = "3", .notice_by_end_of = "quarter",
				.irrevocable_until = "2027-06-30", .end = "2027-12-31"};
	struct ce_result r = eval(&c);
	EXPECT_EQ_STR("continuous", ce_kind_name(r.kind));
	EXPECT_EQ_STR("2027-06-30", r.earliest_end);
	EXPECT_EQ_STR("", r.notice_deadline);
	EXPECT_EQ_INT(CE_MILESTONE_NONE, r.milestone);
	EXPECT_EQ_INT(0, r.expired);
	/* Irrevocable 10 May 2027: still later than 26 Feb; quarter end 30 June. */
	c.irrevocable_until = "2027-05-10";
	EXPECT_EQ_STR("2027-06-30", eval(&c).earliest_end);
	/* Irrevocable in the past: 26 Feb 2027's quarter ends 31 March. */
	c.irrevocable_until = "2026-01-01";
	EXPECT_EQ_STR("2027-03-31", eval(&c).earliest_end);
	/* By month: 28 Feb 2027; by year: 31 Dec 2027; none: 26 Feb 2027. */
	c.irrevocable_until = NULL;
	c.notice_by_end_of = "month";
	EXPECT_EQ_STR("2027-02-28", eval(&c).earliest_end);
	c.notice_by_end_of = "year";
	EXPECT_EQ_STR("2027-12-31", eval(&c).earliest_end);
	c.notice_by_end_of = NULL;
	EXPECT_EQ_STR("2027-02-26", eval(&c).earliest_end);
	/* A malformed irrevocable date is no date. */
	c.irrevocable_until = "2027-06-31";
	EXPECT_EQ_STR("2027-02-26", eval(&c).earliest_end);
	/* Unknown notice: no earliest end. */
	c.notice_months = NULL;
	EXPECT_EQ_STR("", eval(&c).earliest_end);

	/* No end date (or a malformed one) without the flag: continuous. */
	struct ce_contract n = {.notice_months = "1"};
	EXPECT_EQ_STR("continuous", ce_kind_name(eval(&n).kind));
	EXPECT_EQ_STR("2026-12-26", eval(&n).earliest_end);
	n.end = "2026-02-30";
	EXPECT_EQ_STR("continuous", ce_kind_name(eval(&n).kind));
	EXPECT_EQ_STR("", eval(&n).end);
}

DEF_TEST(terminated)
{
	/* Notice given 10 Oct 2026, 3 months: 10 Jan 2027, by month: 31 Jan
	 * 2027, before E 31 Dec 2027. */
	struct ce_contract c = {.terminated_at = "2026-10-10", .notice_months = "3", .notice_by_end_of = "month",
				.end = "2027-12-31", .continuous = 1};
	struct ce_result r = eval(&c);
	EXPECT_EQ_STR("terminated", ce_kind_name(r.kind)); /* beats continuous */
	EXPECT_EQ_STR("2027-01-31", r.ends_on);
	EXPECT_EQ_STR("", r.notice_deadline);
	EXPECT_EQ_INT(CE_MILESTONE_NONE, r.milestone);
	EXPECT_EQ_INT(0, r.expired);
	/* E first: 31 Dec 2026 comes before 31 Jan 2027. */
	c.end = "2026-12-31";
	EXPECT_EQ_STR("2026-12-31", eval(&c).ends_on);
	/* By quarter: 10 Jan 2027 -> 31 March 2027, E 31 Dec 2027 later. */
	c.end = "2027-12-31";
	c.notice_by_end_of = "quarter";
	EXPECT_EQ_STR("2027-03-31", eval(&c).ends_on);
	/* Unknown notice: the end; without an end: none. */
	c.notice_months = NULL;
	EXPECT_EQ_STR("2027-12-31", eval(&c).ends_on);
	c.end = NULL;
	EXPECT_EQ_STR("", eval(&c).ends_on);
	/* A malformed terminated_at is no notice given: fixed. */
	struct ce_contract m = {.terminated_at = "2026-13-45", .end = "2027-06-30", .notice_months = "6"};
	EXPECT_EQ_STR("fixed", ce_kind_name(eval(&m).kind));
}

/* Milestone, escalation and exit boundaries: days_left d from 26 Nov 2026,
 * counted by hand (Nov 4 days left, Dec 31, Jan 31, Feb 28, ...). */
static const struct boundary {
	long d;
	const char *end, *notice, *deadline;
	long long milestone;
	int escalate;
	const char *key_tail; /* the dedupe key's last part, or NULL */
} boundaries[] = {
	{366, "2027-11-27", "0", "2027-11-27", CE_MILESTONE_NONE, 0, NULL},
	{365, "2027-11-26", "0", "2027-11-26", 365, 0, "365"},
	{181, "2027-05-26", "0", "2027-05-26", 365, 0, "365"},
	{180, "2027-05-25", "0", "2027-05-25", 180, 0, "180"},
	{91, "2027-02-25", "0", "2027-02-25", 180, 0, "180"},
	{90, "2027-02-24", "0", "2027-02-24", 90, 1, "90"},
	{31, "2026-12-27", "0", "2026-12-27", 90, 1, "90"},
	{30, "2026-12-26", "0", "2026-12-26", 30, 1, "30"},
	{0, "2026-11-26", "0", "2026-11-26", 30, 1, "30"},
	/* deadline 25 Nov 2026 = 25 Dec 2026 − 1 month; E is ahead: passed */
	{-1, "2026-12-25", "1", "2026-11-25", CE_MILESTONE_PASSED, 0, "passed"},
	/* E itself 25 Nov 2026: expired, no milestone */
	{-1, "2026-11-25", "0", "2026-11-25", CE_MILESTONE_NONE, 0, NULL},
};

DEF_TEST(milestones)
{
	for (size_t i = 0; i < sizeof(boundaries) / sizeof(boundaries[0]); i++) {
		const struct boundary *b = &boundaries[i];
		struct ce_contract c = {.end = b->end, .notice_months = b->notice};
		struct ce_result r = eval(&c);
		printf("# days_left %ld, end %s, notice %s\n", b->d, b->end, b->notice);
		EXPECT_EQ_STR(b->deadline, r.notice_deadline);
		EXPECT_EQ_INT(b->d, r.days_left);
		EXPECT_EQ_INT(b->milestone, r.milestone);
		EXPECT_EQ_INT(b->escalate, r.escalate);
		EXPECT_EQ_INT(b->d == -1 && b->milestone == CE_MILESTONE_NONE, r.expired);
	}
}

DEF_TEST(exit_due)
{
	/* Segment C, 6 months: deadline 26 May 2027 (181 days) starts exit
	 * on 26 Nov 2026 = as_of: due; 27 May 2027 starts it tomorrow. */
	struct ce_contract c = {.end = "2027-05-26", .notice_months = "0", .segment = "C"};
	struct ce_result r = eval(&c);
	EXPECT_EQ_STR("2026-11-26", r.exit_start);
	EXPECT_EQ_INT(1, r.exit_due);
	c.end = "2027-05-27";
	r = eval(&c);
	EXPECT_EQ_STR("2026-11-27", r.exit_start);
	EXPECT_EQ_INT(0, r.exit_due);
	/* Month end: deadline 31 May 2027 − 6 = 30 Nov 2026: not yet on 26
	 * Nov, due on 30 Nov. */
	c.end = "2027-05-31";
	r = eval(&c);
	EXPECT_EQ_STR("2026-11-30", r.exit_start);
	EXPECT_EQ_INT(0, r.exit_due);
	EXPECT_EQ_INT(1, eval_on("2026-11-30", &c).exit_due);
	/* days_left 0: still due; −1 (passed): not. */
	c.end = "2026-11-26";
	EXPECT_EQ_INT(1, eval(&c).exit_due);
	c.end = "2026-12-25";
	c.notice_months = "1";
	EXPECT_EQ_INT(0, eval(&c).exit_due);
}

DEF_TEST(expired)
{
	/* E 31 Oct 2026 < as_of: expired; in use when a system runs. */
	struct ce_contract c = {.end = "2026-10-31", .notice_months = "3", .in_operation = 1};
	struct ce_result r = eval(&c);
	EXPECT_EQ_INT(1, r.expired);
	EXPECT_EQ_INT(1, r.expired_in_use);
	EXPECT_EQ_INT(CE_MILESTONE_NONE, r.milestone); /* deadline 31 Jul 2026 gone, E too */
	c.in_operation = 0;
	EXPECT_EQ_INT(0, eval(&c).expired_in_use);
	/* E = as_of is not expired. */
	c.end = "2026-11-26";
	EXPECT_EQ_INT(0, eval(&c).expired);
	/* Not a date: as_of refused. */
	struct ce_cfg cfg = cfg_default();
	struct fake *f = fake_new(&ob_plugin, as_of);
	OK(ce_evaluate(&f->api, "2026-11-31", &cfg, &c, &r) == -1);
	fake_free(f);
}

/* A whole run. */
static const char *const ccols[] = {"id",	     "uuid",	     "name",	       "supplier",
				    "segment",	     "end_date",     "continuous",     "notice_months",
				    "notice_by_end_of", "irrevocable_until", "terminated_at", "auto_renewal",
				    "annual_cost",   "exit_decision"};
#define NC (sizeof(ccols) / sizeof(ccols[0]))
static const char *const scols[] = {"contract_id", "uuid",	 "name",       "kitos_lifecycle",
				    "lifecycle_phase", "owner_id", "owner_name"};
#define NS (sizeof(scols) / sizeof(scols[0]))

static const char *const contracts[] = {
	/* c1: deadline 31 Dec 2026, 35 days: 90, escalate, exit_due (A) */
	"1", "c1", "Omsorgssystem", "Leverandør Æ A/S", "A", "2027-06-30", "0", "6", NULL, NULL, NULL, "1",
	"120000.00", "undecided",
	/* c2: expired 31 Oct 2026, system in operation (lifecycle unknown), no owner */
	"2", "c2", "Gammelt ESDH", "Øst IT", "B", "2026-10-31", "0", "3", NULL, NULL, NULL, NULL, NULL, "undecided",
	/* c3: deadline 30 Sep 2027, 308 days: 365; decided; no systems */
	"3", "c3", "Lønsystem", "Løn A/S", "B", "2027-12-31", "0", "3", NULL, NULL, NULL, "0", "50000.50", "extend",
	/* c4: continuous, earliest end 31 Mar 2027 */
	"4", "c4", "Telefoni", "Tele", NULL, NULL, "1", "3", "quarter", NULL, NULL, NULL, NULL, "undecided",
	/* c5: fixed, no notice period */
	"5", "c5", "Kortdata", NULL, "C", "2027-05-01", "0", NULL, NULL, NULL, NULL, NULL, "x", NULL,
	/* c6: terminated 10 Oct 2026, ends 31 Jan 2027 */
	"6", "c6", "Booking", "Book ApS", NULL, "2027-12-31", "0", "3", "month", NULL, "2026-10-10", NULL, NULL,
	"terminate",
	/* c7: deadline 25 Nov 2026 passed, E 25 Dec 2026 ahead */
	"7", "c7", "Skoleportal", "Skole A/S", NULL, "2026-12-25", "0", "1", NULL, NULL, NULL, "1", NULL, "undecided",
	/* c8: malformed end and notice: continuous without a notice period */
	"8", "c8", "Rod", NULL, "Q", "2026-02-30", "0", "abc", "decade", "junk", "junk", "1", NULL, NULL,
};
static const char *const systems[] = {
	"1", "s1", "Cura", "operational", "contract_followup", "7", "Anne Ejer",
	"1", "s2", "Cura Mobil", "operational", NULL, "8", "Bo Ejer",
	"1", "s3", "Cura Analyse", "not_in_use", NULL, "7", "Anne Ejer",
	"2", "s4", "ESDH", NULL, NULL, NULL, NULL,
	"7", "s5", "Aula", "not_in_use", NULL, "8", "Bo Ejer",
};

static struct fake *demo_run(void)
{
	struct fake *f = fake_new(&ob_plugin, as_of);
	fake_rows(f, "FROM contracts c WHERE", ccols, NC, contracts, sizeof(contracts) / sizeof(contracts[0]) / NC);
	fake_rows(f, "FROM contract_systems", scols, NS, systems, sizeof(systems) / sizeof(systems[0]) / NS);
	return f;
}

static long jint(const struct fake *f, const char *path)
{
	const cJSON *n = fake_json(f, path);
	return cJSON_IsNumber(n) ? (long)n->valuedouble : -999;
}

static const char *jstr(const struct fake *f, const char *path)
{
	const cJSON *n = fake_json(f, path);
	return cJSON_IsString(n) ? n->valuestring : cJSON_IsNull(n) ? "null" : "(absent)";
}

DEF_TEST(run_rows_and_figures)
{
	struct fake *f = demo_run();
	const cJSON *rows;
	static const char *const keys[] = {"uuid", "name", "supplier", "segment", "kind", "end", "notice_months",
					   "notice_by_end_of", "notice_deadline", "days_left", "earliest_end",
					   "ends_on", "milestone", "expired", "expired_in_use", "escalate",
					   "exit_start", "exit_due", "decision", "auto_renewal", "annual_cost",
					   "systems"};
	int all_keys = 1;

	EXPECT_EQ_INT(0, fake_run(f));
	EXPECT_EQ_INT(2, f->nqueries);
	EXPECT_EQ_INT(0, f->bad_queries);
	EXPECT_EQ_INT(0, f->unmatched);
	EXPECT_EQ_INT(0, f->errors);
	rows = fake_json(f, "contracts");
	EXPECT_EQ_INT(8, cJSON_GetArraySize(rows));
	for (const cJSON *r = rows ? rows->child : NULL; r; r = r->next)
		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			all_keys &= cJSON_GetObjectItemCaseSensitive(r, keys[k]) != NULL;
	OK(all_keys);

	/* c1 */
	EXPECT_EQ_STR("c1", jstr(f, "contracts/0/uuid"));
	EXPECT_EQ_STR("fixed", jstr(f, "contracts/0/kind"));
	EXPECT_EQ_STR("2027-06-30", jstr(f, "contracts/0/end"));
	EXPECT_EQ_INT(6, jint(f, "contracts/0/notice_months"));
	EXPECT_EQ_STR("2026-12-31", jstr(f, "contracts/0/notice_deadline"));
	EXPECT_EQ_INT(35, jint(f, "contracts/0/days_left"));
	EXPECT_EQ_INT(90, jint(f, "contracts/0/milestone"));
	OK(cJSON_IsTrue(fake_json(f, "contracts/0/escalate")));
	OK(cJSON_IsTrue(fake_json(f, "contracts/0/exit_due")));
	OK(cJSON_IsTrue(fake_json(f, "contracts/0/auto_renewal")));
	OK(cJSON_IsFalse(fake_json(f, "contracts/0/expired")));
	EXPECT_EQ_STR("2025-12-31", jstr(f, "contracts/0/exit_start"));
	EXPECT_EQ_STR("null", jstr(f, "contracts/0/earliest_end"));
	EXPECT_EQ_INT(120000, jint(f, "contracts/0/annual_cost"));
	EXPECT_EQ_STR("undecided", jstr(f, "contracts/0/decision"));
	EXPECT_EQ_INT(3, cJSON_GetArraySize(fake_json(f, "contracts/0/systems")));
	EXPECT_EQ_STR("s3", jstr(f, "contracts/0/systems/2"));
	/* c2 */
	OK(cJSON_IsTrue(fake_json(f, "contracts/1/expired_in_use")));
	EXPECT_EQ_STR("null", jstr(f, "contracts/1/milestone"));
	EXPECT_EQ_STR("null", jstr(f, "contracts/1/auto_renewal"));
	EXPECT_EQ_STR("null", jstr(f, "contracts/1/annual_cost"));
	/* c3 */
	EXPECT_EQ_INT(308, jint(f, "contracts/2/days_left"));
	EXPECT_EQ_INT(365, jint(f, "contracts/2/milestone"));
	EXPECT_EQ_STR("2026-12-31", jstr(f, "contracts/2/exit_start")); /* 30 Sep 2027 − 9, a month end */
	OK(cJSON_IsFalse(fake_json(f, "contracts/2/exit_due")));
	EXPECT_EQ_INT(0, cJSON_GetArraySize(fake_json(f, "contracts/2/systems")));
	/* c4, c5, c6, c7, c8 */
	EXPECT_EQ_STR("continuous", jstr(f, "contracts/3/kind"));
	EXPECT_EQ_STR("2027-03-31", jstr(f, "contracts/3/earliest_end"));
	EXPECT_EQ_STR("quarter", jstr(f, "contracts/3/notice_by_end_of"));
	EXPECT_EQ_STR("null", jstr(f, "contracts/4/notice_deadline"));
	EXPECT_EQ_STR("null", jstr(f, "contracts/4/notice_months"));
	EXPECT_EQ_STR("null", jstr(f, "contracts/4/annual_cost")); /* "x" is no amount */
	EXPECT_EQ_STR("undecided", jstr(f, "contracts/4/decision")); /* NULL decision */
	EXPECT_EQ_STR("terminated", jstr(f, "contracts/5/kind"));
	EXPECT_EQ_STR("2027-01-31", jstr(f, "contracts/5/ends_on"));
	EXPECT_EQ_STR("passed", jstr(f, "contracts/6/milestone"));
	EXPECT_EQ_INT(-1, jint(f, "contracts/6/days_left"));
	EXPECT_EQ_STR("continuous", jstr(f, "contracts/7/kind"));
	EXPECT_EQ_STR("null", jstr(f, "contracts/7/end"));
	EXPECT_EQ_STR("null", jstr(f, "contracts/7/notice_by_end_of"));
	EXPECT_EQ_STR("null", jstr(f, "contracts/7/earliest_end"));

	/* Figures by hand: fixed c1 c2 c3 c5 c7; continuous c4 c8; terminated c6. */
	EXPECT_EQ_INT(8, jint(f, "figures/contracts"));
	EXPECT_EQ_INT(5, jint(f, "figures/fixed"));
	EXPECT_EQ_INT(2, jint(f, "figures/continuous"));
	EXPECT_EQ_INT(1, jint(f, "figures/terminated"));
	EXPECT_EQ_INT(2, jint(f, "figures/without_notice_period")); /* c5, c8 */
	EXPECT_EQ_INT(1, jint(f, "figures/expired"));
	EXPECT_EQ_INT(1, jint(f, "figures/expired_in_use"));
	EXPECT_EQ_INT(1, jint(f, "figures/passed"));
	EXPECT_EQ_INT(1, jint(f, "figures/escalations"));
	EXPECT_EQ_INT(1, jint(f, "figures/exit_due"));
	EXPECT_EQ_INT(0, jint(f, "figures/deadline_within_30"));
	EXPECT_EQ_INT(1, jint(f, "figures/deadline_within_90"));
	EXPECT_EQ_INT(1, jint(f, "figures/deadline_within_180"));
	EXPECT_EQ_INT(2, jint(f, "figures/deadline_within_365"));
	{
		const cJSON *c = fake_json(f, "figures/annual_cost_deadline_within_365");
		OK(cJSON_IsNumber(c) && c->valuedouble > 170000.49 && c->valuedouble < 170000.51);
	}
	EXPECT_EQ_INT(1, jint(f, "figures/milestones/365"));
	EXPECT_EQ_INT(0, jint(f, "figures/milestones/180"));
	EXPECT_EQ_INT(1, jint(f, "figures/milestones/90"));
	EXPECT_EQ_INT(0, jint(f, "figures/milestones/30"));
	EXPECT_EQ_INT(1, jint(f, "figures/milestones/passed"));
	EXPECT_EQ_INT(5, cJSON_GetArraySize(fake_json(f, "figures/milestones")));

	/* The figures equal the counts of the rows. */
	{
		long n[8] = {0};
		for (const cJSON *r = rows ? rows->child : NULL; r; r = r->next) {
			const char *kind = cJSON_GetObjectItem(r, "kind")->valuestring;
			const cJSON *dl = cJSON_GetObjectItem(r, "days_left"), *m = cJSON_GetObjectItem(r, "milestone");
			n[0] += strcmp(kind, "fixed") == 0;
			n[1] += cJSON_IsTrue(cJSON_GetObjectItem(r, "expired"));
			n[2] += cJSON_IsTrue(cJSON_GetObjectItem(r, "expired_in_use"));
			n[3] += cJSON_IsTrue(cJSON_GetObjectItem(r, "escalate"));
			n[4] += cJSON_IsTrue(cJSON_GetObjectItem(r, "exit_due"));
			n[5] += cJSON_IsString(m) && strcmp(m->valuestring, "passed") == 0;
			n[6] += cJSON_IsNumber(dl) && dl->valuedouble >= 0 && dl->valuedouble <= 365;
			n[7] += strcmp(kind, "terminated") != 0 && cJSON_IsNull(cJSON_GetObjectItem(r, "notice_months"));
		}
		EXPECT_EQ_INT(n[0], jint(f, "figures/fixed"));
		EXPECT_EQ_INT(n[1], jint(f, "figures/expired"));
		EXPECT_EQ_INT(n[2], jint(f, "figures/expired_in_use"));
		EXPECT_EQ_INT(n[3], jint(f, "figures/escalations"));
		EXPECT_EQ_INT(n[4], jint(f, "figures/exit_due"));
		EXPECT_EQ_INT(n[5], jint(f, "figures/passed"));
		EXPECT_EQ_INT(n[6], jint(f, "figures/deadline_within_365"));
		EXPECT_EQ_INT(n[7], jint(f, "figures/without_notice_period"));
	}
	fake_free(f);
}

DEF_TEST(run_items)
{
	struct fake *f = demo_run();
	const struct fake_notice *n;
	char *t;

	EXPECT_EQ_INT(0, fake_run(f));
	/* c1: owners 7 and 8 (7 twice through s1 and s3: once) get the 90-day
	 * milestone and the exit; ASG the escalation. c2: no owner: indkoeb
	 * once. c3: no systems: indkoeb. c7: owner 8, passed. */
	EXPECT_EQ_INT(8, f->nnotices);
	OK(fake_find(f, "owner:7", "contract:c1:deadline:2026-12-31:90") != NULL);
	OK(fake_find(f, "owner:8", "contract:c1:deadline:2026-12-31:90") != NULL);
	EXPECT_EQ_INT(2, fake_count(f, "owner:7", NULL));
	EXPECT_EQ_INT(1, fake_count(f, "owner:7", "contract:c1:exit:2026-12-31"));
	EXPECT_EQ_INT(1, fake_count(f, "owner:8", "contract:c1:exit:2026-12-31"));
	EXPECT_EQ_INT(0, fake_count(f, "indkoeb", "contract:c1:"));
	OK(fake_find(f, "asg", "contract:c1:deadline:2026-12-31:asg") != NULL);
	EXPECT_EQ_INT(1, fake_count(f, "asg", NULL));
	EXPECT_EQ_INT(1, fake_count(f, "indkoeb", "contract:c2:expired:2026-10-31"));
	EXPECT_EQ_INT(1, fake_count(f, NULL, "contract:c2:"));
	OK(fake_find(f, "indkoeb", "contract:c3:deadline:2027-09-30:365") != NULL);
	OK(fake_find(f, "owner:8", "contract:c7:deadline:2026-11-25:passed") != NULL);
	EXPECT_EQ_INT(0, fake_count(f, NULL, "contract:c4:"));
	EXPECT_EQ_INT(0, fake_count(f, NULL, "contract:c6:"));

	/* The texts: contract, supplier, systems, Danish deadline, days left,
	 * the open decision, what to do; auto-renewal said. */
	n = fake_find(f, "owner:7", "contract:c1:deadline:2026-12-31:90");
	EXPECT_EQ_STR("contract_expiry/deadline", n ? n->template : NULL);
	t = n ? render(n) : NULL;
	EXPECT_CONTAINS("Omsorgssystem", t);
	EXPECT_CONTAINS("Leverandør Æ A/S", t);
	EXPECT_CONTAINS("Cura, Cura Mobil, Cura Analyse", t);
	EXPECT_CONTAINS("31. december 2026", t);
	EXPECT_CONTAINS("om 35 dage", t);
	EXPECT_CONTAINS("endnu ikke truffet", t);
	EXPECT_CONTAINS("Det skal du gøre", t);
	EXPECT_CONTAINS("fornyes automatisk, hvis den ikke opsiges", t);
	free(t);

	n = fake_find(f, "owner:7", "contract:c1:exit:2026-12-31");
	t = n ? render(n) : NULL;
	EXPECT_CONTAINS("segment A begynder exit 12 måneder før, 31. december 2025", t);
	free(t);

	n = fake_find(f, "asg", "contract:c1:deadline:2026-12-31:asg");
	t = n ? render(n) : NULL;
	EXPECT_CONTAINS("Anne Ejer, Bo Ejer", t);
	EXPECT_CONTAINS("120.000 kr.", t);
	free(t);

	n = fake_find(f, "indkoeb", "contract:c2:expired:2026-10-31");
	t = n ? render(n) : NULL;
	EXPECT_CONTAINS("udløb 31. oktober 2026", t);
	EXPECT_CONTAINS("ESDH er stadig i drift", t);
	free(t);

	n = fake_find(f, "indkoeb", "contract:c3:deadline:2027-09-30:365");
	t = n ? render(n) : NULL;
	EXPECT_CONTAINS("kontrakten forlænges", t);
	EXPECT_CONTAINS("om 308 dage", t);
	OK(t && strstr(t, "fornyes automatisk") == NULL); /* auto_renewal 0 */
	free(t);

	n = fake_find(f, "owner:8", "contract:c7:deadline:2026-11-25:passed");
	t = n ? render(n) : NULL;
	EXPECT_CONTAINS("25. november 2026 blev overskredet for 1 dag siden", t);
	EXPECT_CONTAINS("fornyes automatisk, hvis den ikke opsiges", t);
	free(t);
	fake_free(f);
}

DEF_TEST(run_boundary_keys)
{
	/* One contract per boundary, owned by person 3: its key is
	 * contract:<uuid>:deadline:<deadline>:<M or passed>, or none. */
	for (size_t i = 0; i < sizeof(boundaries) / sizeof(boundaries[0]); i++) {
		const struct boundary *b = &boundaries[i];
		struct fake *f = fake_new(&ob_plugin, as_of);
		char key[128];
		const char *row[] = {"1",	  "b", "Grænse", "L", NULL, b->end, "0", b->notice, NULL, NULL, NULL,
				     "0",	  NULL, "undecided"};
		const char *sys[] = {"1", "s", "Sys", "operational", NULL, "3", "Ejer"};
		fake_rows(f, "FROM contracts c WHERE", ccols, NC, row, 1);
		fake_rows(f, "FROM contract_systems", scols, NS, sys, 1);
		EXPECT_EQ_INT(0, fake_run(f));
		printf("# days_left %ld\n", b->d);
		if (b->key_tail) {
			snprintf(key, sizeof(key), "contract:b:deadline:%s:%s", b->deadline, b->key_tail);
			OK(fake_find(f, "owner:3", key) != NULL);
		}
		EXPECT_EQ_INT(b->key_tail ? 1 : 0, fake_count(f, "owner:3", "contract:b:deadline:"));
		EXPECT_EQ_INT(b->escalate, fake_count(f, "asg", "contract:b:deadline:"));
		/* An expired contract in use goes to the owner and indkoeb. */
		EXPECT_EQ_INT(b->milestone == CE_MILESTONE_NONE && b->d < 0 ? 2 : 0,
			      fake_count(f, NULL, "contract:b:expired:"));
		fake_free(f);
	}
}

DEF_TEST(run_settings)
{
	/* Milestones [60, 14]: 35 days -> 60; keys and figures follow. */
	struct fake *f = demo_run();
	OK(fake_setting(f, "milestones", "[14, 60]") == 0);
	OK(fake_setting(f, "exit_lead_months_A", "1") == 0);
	EXPECT_EQ_INT(0, fake_run(f));
	OK(fake_find(f, "owner:7", "contract:c1:deadline:2026-12-31:60") != NULL);
	EXPECT_EQ_INT(1, jint(f, "figures/milestones/60"));
	EXPECT_EQ_INT(0, jint(f, "figures/milestones/14"));
	OK(fake_json(f, "figures/milestones/365") == NULL);
	EXPECT_EQ_STR("null", jstr(f, "contracts/2/milestone")); /* c3, 308 days: past 60 */
	/* A: exit 1 month before 31 Dec 2026 = 30 Nov 2026, after as_of. */
	EXPECT_EQ_STR("2026-11-30", jstr(f, "contracts/0/exit_start"));
	EXPECT_EQ_INT(0, fake_count(f, NULL, "contract:c1:exit:"));
	fake_free(f);
}

DEF_TEST(run_document)
{
	struct fake *f = demo_run();
	fake_previous(f, "{\"contracts\": 7, \"escalations\": 3, \"deadline_within_90\": 1}", "2026-10-26");
	EXPECT_EQ_INT(0, fake_run(f));
	EXPECT_EQ_INT(1, f->doc.title);
	OK(f->doc.kpi >= 4 && f->doc.kpi <= 8);
	EXPECT_EQ_INT(3, f->doc.kpi_previous);
	EXPECT_EQ_INT(1, f->doc.chart);
	OK(f->doc.note >= 1);
	OK(f->doc.bullets >= 2); /* what needs a decision, and c1's exit checklist */
	OK(f->doc.table >= 4);
	EXPECT_EQ_INT(0, f->bad_cells);
	EXPECT_EQ_INT(0, f->errors);
	EXPECT_CONTAINS("Kontraktudløb", f->doc_text);
	EXPECT_CONTAINS("Testkommune", f->doc_text);
	EXPECT_CONTAINS("26. november 2026", f->doc_text);
	EXPECT_CONTAINS("26. oktober 2026", f->doc_text);
	EXPECT_CONTAINS("Kræver beslutning", f->doc_text);
	EXPECT_CONTAINS("1 kontrakt har opsigelsesfrist inden for 90 dage", f->doc_text);
	EXPECT_CONTAINS("Levering af data", f->doc_text);
	EXPECT_CONTAINS("Arkivering", f->doc_text);
	EXPECT_CONTAINS("K4 2026", f->doc_text);
	EXPECT_CONTAINS("K3 2028", f->doc_text);
	/* The next-12-months table: c1 (35 days, amber), c3 (308, green), c7 (passed, red). */
	OK(f->ntables > 0 && f->tables[0].nrows == 3);
	OK(f->ntables > 0 && f->tables[0].nstatus[OB_STATUS_RED] == 1 && f->tables[0].nstatus[OB_STATUS_AMBER] == 1 &&
	   f->tables[0].nstatus[OB_STATUS_GREEN] == 1);
	fake_free(f);
}

DEF_TEST(run_empty_and_org)
{
	/* No contracts: zeros, no items, a document all the same; the queries
	 * are bound to this organisation. */
	struct fake *f = fake_new(&ob_plugin, as_of);
	fake_org(f, "42", "Anden Kommune");
	fake_rows(f, "FROM contracts c WHERE", ccols, NC, NULL, 0);
	fake_rows(f, "FROM contract_systems", scols, NS, NULL, 0);
	EXPECT_EQ_INT(0, fake_run(f));
	EXPECT_EQ_INT(0, f->bad_queries);
	EXPECT_CONTAINS("Anden Kommune", f->doc_text);
	EXPECT_EQ_INT(0, jint(f, "figures/contracts"));
	EXPECT_EQ_INT(0, jint(f, "figures/milestones/passed"));
	EXPECT_EQ_INT(0, (long)f->nnotices);
	EXPECT_EQ_INT(0, cJSON_GetArraySize(fake_json(f, "contracts")));
	EXPECT_CONTAINS("Ingen kontrakter kræver en beslutning", f->doc_text);
	EXPECT_EQ_INT(0, f->errors);
	fake_free(f);
}

int main(void)
{
	RUN_TEST(calendar);
	RUN_TEST(fixed);
	RUN_TEST(notice_missing_and_zero);
	RUN_TEST(continuous);
	RUN_TEST(terminated);
	RUN_TEST(milestones);
	RUN_TEST(exit_due);
	RUN_TEST(expired);
	RUN_TEST(run_rows_and_figures);
	RUN_TEST(run_items);
	RUN_TEST(run_boundary_keys);
	RUN_TEST(run_settings);
	RUN_TEST(run_document);
	RUN_TEST(run_empty_and_org);
	END_TEST;
}
