/* test_target_picture.c - the target_picture plugin against the fake API:
 * its rules at their boundaries (due for each reason and at the 12-month
 * boundary, the diff, maturity changes with and without a previous run,
 * the contract window) and whole runs: rows, figures, items (keys,
 * recipients, rendered Danish texts) and the document. Every expected value
 * is worked out by hand from REPORTS.md, in the comments. */
#include <stdlib.h>
#include <string.h>

#include "../tap.h"
#include "fake_api.h"
#include "notice_render.h"
#include "fake_core.h"
#include "rules.h"

extern const struct ob_plugin ob_plugin;

static const char *as_of = "2026-11-26";

/* ---- due ---- */

static unsigned due_on(const char *day, const char *adopted, const char *based_on_day, const char *newest_day,
		       char *limit)
{
	struct fake *f = fake_new(&ob_plugin, day);
	struct tp_version t = {.id = "5", .version = "2.0", .adopted_on = adopted, .future_id = "1"};
	struct tp_version b = {.id = "1", .version = "1.0", .adopted_on = based_on_day};
	struct tp_version n = {.id = "2", .version = "1.1", .adopted_on = newest_day};
	char lim[OB_DATE_SIZE];
	unsigned d = tp_due(&f->api, day, adopted ? &t : NULL, based_on_day ? &b : NULL,
			    newest_day == NULL ? NULL : strcmp(newest_day, based_on_day ? based_on_day : "") == 0 ? &b : &n,
			    lim);
	if (limit)
		strcpy(limit, lim);
	fake_free(f);
	return d;
}

DEF_TEST(due_reasons)
{
	char limit[OB_DATE_SIZE];

	/* No målbillede at all: "none" alone. */
	EXPECT_EQ_INT(TP_DUE_NONE, due_on(as_of, NULL, NULL, NULL, NULL));
	EXPECT_EQ_INT(TP_DUE_NONE, due_on(as_of, NULL, NULL, "2026-01-01", NULL));
	/* 12 months before 26 Nov 2026 is 26 Nov 2025: adopted that day is
	 * not due, the day before is. */
	EXPECT_EQ_INT(0, due_on(as_of, "2025-11-26", "2025-01-01", "2025-01-01", limit));
	EXPECT_EQ_STR("2025-11-26", limit);
	EXPECT_EQ_INT(TP_DUE_OLD, due_on(as_of, "2025-11-25", "2025-01-01", "2025-01-01", NULL));
	EXPECT_EQ_INT(0, due_on(as_of, "2026-11-26", "2025-01-01", "2025-01-01", NULL));
	/* Month ends: 28 Feb 2027 − 12 months = 28 Feb 2026 (a month end). */
	EXPECT_EQ_INT(0, due_on("2027-02-28", "2026-02-28", "2025-01-01", "2025-01-01", limit));
	EXPECT_EQ_STR("2026-02-28", limit);
	EXPECT_EQ_INT(TP_DUE_OLD, due_on("2027-02-28", "2026-02-27", "2025-01-01", "2025-01-01", NULL));
	/* Leap day: 29 Feb 2028 − 12 = 28 Feb 2027. */
	EXPECT_EQ_INT(0, due_on("2028-02-29", "2027-02-28", "2025-01-01", "2025-01-01", limit));
	EXPECT_EQ_STR("2027-02-28", limit);
	EXPECT_EQ_INT(TP_DUE_OLD, due_on("2028-02-29", "2027-02-27", "2025-01-01", "2025-01-01", NULL));
	/* Based on an older fremtidsbillede than the newest. */
	EXPECT_EQ_INT(TP_DUE_OLD_FUTURE, due_on(as_of, "2026-06-01", "2025-01-01", "2026-03-01", NULL));
	/* Both, in REPORTS.md's order. */
	EXPECT_EQ_INT(TP_DUE_OLD | TP_DUE_OLD_FUTURE, due_on(as_of, "2025-09-01", "2023-01-01", "2025-10-01", NULL));
	EXPECT_EQ_STR("none", tp_due_reason_name(TP_DUE_NONE));
	EXPECT_EQ_STR("older_than_12_months", tp_due_reason_name(TP_DUE_OLD));
	EXPECT_EQ_STR("older_future_picture", tp_due_reason_name(TP_DUE_OLD_FUTURE));
}

DEF_TEST(latest_versions)
{
	struct fake *f = fake_new(&ob_plugin, as_of);
	long a, b;
	/* Ties on adopted_on: the later row (larger id); after as_of and
	 * malformed dates are not versions yet. */
	struct tp_version v[] = {
		{.id = "3", .version = "1.0", .adopted_on = "2024-01-10"},
		{.id = "9", .version = "2.0b", .adopted_on = "2025-05-05"},
		{.id = "7", .version = "2.0a", .adopted_on = "2025-05-05"},
		{.id = "10", .version = "3.0", .adopted_on = "2026-11-27"},
		{.id = "11", .version = "x", .adopted_on = "2026-02-30"},
	};
	tp_latest_two(&f->api, as_of, v, 5, &a, &b);
	EXPECT_EQ_STR("2.0b", a >= 0 ? v[a].version : "none");
	EXPECT_EQ_STR("2.0a", b >= 0 ? v[b].version : "none");
	/* On 27 November 3.0 is current. */
	tp_latest_two(&f->api, "2026-11-27", v, 5, &a, &b);
	EXPECT_EQ_STR("3.0", a >= 0 ? v[a].version : "none");
	EXPECT_EQ_STR("2.0b", b >= 0 ? v[b].version : "none");
	tp_latest_two(&f->api, as_of, v, 1, &a, &b);
	EXPECT_EQ_INT(0, a);
	EXPECT_EQ_INT(-1, b);
	tp_latest_two(&f->api, as_of, v, 0, &a, &b);
	EXPECT_EQ_INT(-1, a);
	OK(tp_code_cmp("H2", "H10") < 0 && tp_code_cmp("H10", "H9") > 0 && tp_code_cmp("H1", "H1") == 0 &&
	   tp_code_cmp("A", "B") < 0 && tp_code_cmp("H01", "H1") == 0);
	fake_free(f);
}

/* ---- the diff ---- */

DEF_TEST(diff)
{
	static const char *const s12[] = {"s1", "s2"}, *const s1[] = {"s1"}, *const s13[] = {"s1", "s3"};
	const struct tp_action prev[] = {
		{"H1", "Bevar ESDH", "keep", s12, 2},     /* unchanged */
		{"H2", "Udfas fildrev", "phase_out", s1, 1}, /* title changes */
		{"H3", "Erstat omsorg", "replace", s1, 1},   /* change kind changes */
		{"H4", "Tilpas", "align", s12, 2},           /* systems change */
		{"H5", "Gammel", "new", s1, 1},              /* removed */
		{"H10", "Alt", "align", s1, 1},              /* everything changes */
		{"H11", "Uden type", NULL, s1, 1},           /* unknown kind, unchanged */
	};
	const struct tp_action cur[] = {
		{"H10", "Alt nyt", "consolidate", s13, 2},
		{"H1", "Bevar ESDH", "keep", s12, 2},
		{"H2", "Udfas lokale fildrev", "phase_out", s1, 1},
		{"H3", "Erstat omsorg", "consolidate", s1, 1},
		{"H4", "Tilpas", "align", s13, 2},
		{"H6", "Ny", "new", NULL, 0},                /* added */
		{"H11", "Uden type", NULL, s1, 1},
	};
	struct tp_diff d[14];
	size_t n = tp_diff(cur, 7, prev, 7, d);

	EXPECT_EQ_INT(6, n);
	/* Sorted by code, naturally: H2, H3, H4, H5, H6, H10. */
	EXPECT_EQ_STR("H2", n > 0 ? d[0].cur->code : NULL);
	EXPECT_EQ_INT(TP_CHANGED, d[0].kind);
	EXPECT_EQ_INT(TP_CH_TITLE, d[0].what);
	EXPECT_EQ_STR("Udfas fildrev", d[0].prev->title);
	EXPECT_EQ_STR("H3", d[1].cur->code);
	EXPECT_EQ_INT(TP_CH_CHANGE, d[1].what);
	EXPECT_EQ_STR("H4", d[2].cur->code);
	EXPECT_EQ_INT(TP_CH_SYSTEMS, d[2].what);
	EXPECT_EQ_STR("H5", d[3].prev->code);
	EXPECT_EQ_INT(TP_REMOVED, d[3].kind);
	OK(d[3].cur == NULL);
	EXPECT_EQ_STR("H6", d[4].cur->code);
	EXPECT_EQ_INT(TP_ADDED, d[4].kind);
	OK(d[4].prev == NULL);
	EXPECT_EQ_STR("H10", d[5].cur->code);
	EXPECT_EQ_INT(TP_CH_TITLE | TP_CH_CHANGE | TP_CH_SYSTEMS, d[5].what);
	EXPECT_EQ_STR("changed", tp_diff_kind_name(d[5].kind));
	EXPECT_EQ_STR("added", tp_diff_kind_name(TP_ADDED));
	EXPECT_EQ_STR("removed", tp_diff_kind_name(TP_REMOVED));
	/* The same version against itself: nothing. */
	EXPECT_EQ_INT(0, tp_diff(cur, 7, cur, 7, d));
	/* A kind that becomes unknown is a change. */
	{
		const struct tp_action a[] = {{"H1", "T", "keep", NULL, 0}}, b[] = {{"H1", "T", NULL, NULL, 0}};
		EXPECT_EQ_INT(1, tp_diff(b, 1, a, 1, d));
		EXPECT_EQ_INT(TP_CH_CHANGE, d[0].what);
	}
}

/* ---- maturity ---- */

static struct tp_maturity mat(const char *day, const char *previous_as_of, const struct tp_maturity_row *rows,
			      size_t n, struct tp_window *wout)
{
	struct fake *f = fake_new(&ob_plugin, day);
	struct tp_window w;
	struct tp_maturity m;
	memset(&m, 0x55, sizeof(m));
	if (tp_window(&f->api, day, previous_as_of, &w) == 0)
		tp_maturity_change(&f->api, &w, rows, n, &m);
	if (wout)
		*wout = w;
	fake_free(f);
	return m;
}

#define NR(a) (sizeof(a) / sizeof(a[0]))

DEF_TEST(maturity_without_previous)
{
	struct tp_window w;
	/* No previous run: 26 Nov 2025 ≤ D ≤ 26 Nov 2026. */
	const struct tp_maturity_row yg[] = {{"2024-05-01", "red"}, {"2025-01-10", "yellow"}, {"2026-11-06", "green"}};
	struct tp_maturity m = mat(as_of, NULL, yg, NR(yg), &w);
	EXPECT_EQ_STR("2025-11-26", w.start);
	EXPECT_EQ_INT(1, w.inclusive);
	EXPECT_EQ_INT(1, m.change);
	EXPECT_EQ_STR("yellow", m.from);
	EXPECT_EQ_STR("green", m.to);
	EXPECT_EQ_STR("2026-11-06", m.changed_on);
	EXPECT_EQ_INT(1, m.to_green);
	EXPECT_EQ_INT(1, m.yellow_to_green);

	/* The window's first day counts (inclusive); the day before does not. */
	const struct tp_maturity_row edge[] = {{"2024-01-01", "red"}, {"2025-11-26", "yellow"}};
	m = mat(as_of, NULL, edge, NR(edge), NULL);
	EXPECT_EQ_INT(1, m.change);
	EXPECT_EQ_STR("red", m.from);
	EXPECT_EQ_INT(0, m.to_green);
	const struct tp_maturity_row before[] = {{"2024-01-01", "red"}, {"2025-11-25", "yellow"}};
	m = mat(as_of, NULL, before, NR(before), NULL);
	EXPECT_EQ_INT(0, m.change);
	EXPECT_EQ_STR("yellow", m.from);
	EXPECT_EQ_STR("yellow", m.to);

	/* Restating the same maturity in the window is no change. */
	const struct tp_maturity_row same[] = {{"2024-01-01", "green"}, {"2026-03-01", "green"}};
	EXPECT_EQ_INT(0, mat(as_of, NULL, same, NR(same), NULL).change);
	/* Green, yellow and back to green within the window: to = from. */
	const struct tp_maturity_row back[] = {{"2024-01-01", "green"}, {"2026-03-01", "yellow"}, {"2026-06-01", "green"}};
	EXPECT_EQ_INT(0, mat(as_of, NULL, back, NR(back), NULL).change);

	/* First seen in the window: from null; green counts to_green, not yellow→green. */
	const struct tp_maturity_row first[] = {{"2026-02-01", "green"}};
	m = mat(as_of, NULL, first, NR(first), NULL);
	EXPECT_EQ_INT(1, m.change);
	OK(m.from == NULL);
	EXPECT_EQ_INT(1, m.to_green);
	EXPECT_EQ_INT(0, m.yellow_to_green);

	/* After as_of is not yet; an unknown maturity or a bad date is no row. */
	const struct tp_maturity_row later[] = {{"2024-01-01", "yellow"}, {"2026-11-27", "green"},
						 {"2026-05-01", "purple"}, {"2026-02-30", "red"}};
	m = mat(as_of, NULL, later, NR(later), NULL);
	EXPECT_EQ_INT(0, m.change);
	EXPECT_EQ_STR("yellow", m.to);
	/* Order of the rows does not matter. */
	const struct tp_maturity_row shuffled[] = {{"2026-11-06", "green"}, {"2024-05-01", "red"}, {"2025-01-10", "yellow"}};
	m = mat(as_of, NULL, shuffled, NR(shuffled), NULL);
	EXPECT_EQ_INT(1, m.yellow_to_green);
	/* to red. */
	const struct tp_maturity_row down[] = {{"2024-05-01", "yellow"}, {"2026-10-01", "red"}};
	m = mat(as_of, NULL, down, NR(down), NULL);
	EXPECT_EQ_INT(1, m.change);
	EXPECT_EQ_INT(0, m.to_green);
}

DEF_TEST(maturity_with_previous)
{
	struct tp_window w;
	/* Previous run 26 Oct 2026: changes after it, up to 26 Nov 2026. */
	const struct tp_maturity_row yg[] = {{"2024-05-01", "yellow"}, {"2026-11-06", "green"}};
	struct tp_maturity m = mat(as_of, "2026-10-26", yg, NR(yg), &w);
	EXPECT_EQ_STR("2026-10-26", w.start);
	EXPECT_EQ_INT(0, w.inclusive);
	EXPECT_EQ_INT(1, m.yellow_to_green);
	/* A change on the previous run's own as_of was that run's: not again. */
	const struct tp_maturity_row on[] = {{"2024-05-01", "yellow"}, {"2026-10-26", "green"}};
	m = mat(as_of, "2026-10-26", on, NR(on), NULL);
	EXPECT_EQ_INT(0, m.change);
	EXPECT_EQ_STR("green", m.from);
	/* ... the day after is. */
	const struct tp_maturity_row after[] = {{"2024-05-01", "yellow"}, {"2026-10-27", "green"}};
	EXPECT_EQ_INT(1, mat(as_of, "2026-10-26", after, NR(after), NULL).change);
	/* A change 6 months ago counts without a previous run, not with one. */
	const struct tp_maturity_row old[] = {{"2024-05-01", "yellow"}, {"2026-05-26", "green"}};
	EXPECT_EQ_INT(1, mat(as_of, NULL, old, NR(old), NULL).change);
	EXPECT_EQ_INT(0, mat(as_of, "2026-10-26", old, NR(old), NULL).change);
	/* Restating since the previous run: no change. */
	const struct tp_maturity_row re[] = {{"2024-05-01", "green"}, {"2026-11-01", "green"}};
	EXPECT_EQ_INT(0, mat(as_of, "2026-10-26", re, NR(re), NULL).change);
	/* First seen since the previous run. */
	const struct tp_maturity_row first[] = {{"2026-11-01", "yellow"}};
	m = mat(as_of, "2026-10-26", first, NR(first), NULL);
	EXPECT_EQ_INT(1, m.change);
	OK(m.from == NULL);
	/* A rerun on the same as_of: the window is empty. */
	EXPECT_EQ_INT(0, mat(as_of, as_of, yg, NR(yg), NULL).change);
	/* A malformed previous as_of: as if there were none. */
	mat(as_of, "2026-13-01", yg, NR(yg), &w);
	EXPECT_EQ_INT(1, w.inclusive);
}

/* ---- the contract window ---- */

static int ends_in(const char *kind, const char *end, const char *term, int months, char *out)
{
	struct fake *f = fake_new(&ob_plugin, as_of);
	struct ce_cfg cfg;
	struct ce_contract c = {.end = end, .notice_months = "3", .notice_by_end_of = "month"};
	struct ce_result r;
	int in;
	memset(&cfg, 0, sizeof(cfg));
	c.continuous = strcmp(kind, "continuous") == 0;
	c.terminated_at = term;
	ce_evaluate(&f->api, as_of, &cfg, &c, &r);
	in = tp_contract_ends(&f->api, as_of, months, &r, out);
	fake_free(f);
	return in;
}

DEF_TEST(contract_window)
{
	char d[OB_DATE_SIZE];
	/* 26 Nov 2026 ≤ end ≤ 26 Nov 2028 (24 months). */
	EXPECT_EQ_INT(1, ends_in("fixed", "2026-11-26", NULL, 24, d));
	EXPECT_EQ_STR("2026-11-26", d);
	EXPECT_EQ_INT(0, ends_in("fixed", "2026-11-25", NULL, 24, d));
	EXPECT_EQ_STR("", d);
	EXPECT_EQ_INT(1, ends_in("fixed", "2028-11-26", NULL, 24, d));
	EXPECT_EQ_INT(0, ends_in("fixed", "2028-11-27", NULL, 24, d));
	/* The setting: 12 months. */
	EXPECT_EQ_INT(1, ends_in("fixed", "2027-11-26", NULL, 12, d));
	EXPECT_EQ_INT(0, ends_in("fixed", "2027-11-27", NULL, 12, d));
	/* Terminated 10 Oct 2026 with 3 months by month: ends 31 Jan 2027,
	 * before its end 2030: in the window, whatever its end. */
	EXPECT_EQ_INT(1, ends_in("terminated", "2030-12-31", "2026-10-10", 24, d));
	EXPECT_EQ_STR("2027-01-31", d);
	/* Terminated 10 Aug 2026: ends 30 Nov 2026 ≥ as_of. 10 Jul: 31 Oct, gone. */
	EXPECT_EQ_INT(1, ends_in("terminated", NULL, "2026-08-10", 24, d));
	EXPECT_EQ_INT(0, ends_in("terminated", NULL, "2026-07-10", 24, d));
	/* Continuous never, even with an end date in the window. */
	EXPECT_EQ_INT(0, ends_in("continuous", "2027-06-30", NULL, 24, d));
	EXPECT_EQ_INT(0, ends_in("continuous", NULL, NULL, 24, d));
}

/* ---- whole runs ---- */

static const char *const tcols[] = {"id", "version", "adopted_on", "future_id"};
static const char *const fcols[] = {"id", "version", "adopted_on"};
static const char *const acols[] = {"id", "picture_id", "code", "title", "change_kind"};
static const char *const scols[] = {"action_id", "system_id", "uuid", "name", "owner_id", "owner_name"};
static const char *const mcols[] = {"id", "name", "changed_on", "maturity"};
static const char *const ccols[] = {"id",	      "uuid",	       "name",		 "supplier",
				    "end_date",	      "continuous",    "notice_months", "notice_by_end_of",
				    "irrevocable_until", "terminated_at", "exit_decision"};
static const char *const cscols[] = {"contract_id", "system_id"};

/* Fremtidsbillede 1.0 (2022) and 1.1 (2025-08-01); målbillede 1.0 (2023)
 * and 2.0 (2025-09-16, based on 1.0): due for both reasons. */
static const char *const targets[] = {"1", "1.0", "2023-11-01", "1", "2", "2.0", "2025-09-16", "1"};
static const char *const futures[] = {"1", "1.0", "2022-06-01", "2", "1.1", "2025-08-01"};
static const char *const actions[] = {
	/* version 1.0 */
	"11", "1", "H1", "Konsolidér ESDH", "consolidate",
	"12", "1", "H2", "Udfas fildrev", "phase_out",
	"13", "1", "H5", "Bevar økonomi", "keep",
	"14", "1", "H9", "Fjernes", "align",
	/* version 2.0: H1 one more system; H2 new title; H5 same; H9 removed; H13 added; H7 no kind */
	"21", "2", "H1", "Konsolidér ESDH", "consolidate",
	"22", "2", "H2", "Udfas lokale fildrev", "phase_out",
	"23", "2", "H5", "Bevar økonomi", "keep",
	"25", "2", "H13", "Erstat lønsystemet", "replace",
	"26", "2", "H7", "Uden type", NULL,
};
static const char *const asys[] = {
	"11", "101", "u-sbsys", "SBSYS", "7", "Anne Ejer",
	"12", "102", "u-fil", "Fildrev", "8", "Bo Ejer",
	"13", "103", "u-oek", "Økonomi", "7", "Anne Ejer",
	"14", "101", "u-sbsys", "SBSYS", "7", "Anne Ejer",
	"21", "101", "u-sbsys", "SBSYS", "7", "Anne Ejer",
	"21", "104", "u-acadre", "Acadre", NULL, NULL,
	"22", "102", "u-fil", "Fildrev", "8", "Bo Ejer",
	"23", "103", "u-oek", "Økonomi", "7", "Anne Ejer",
	"25", "105", "u-loen", "Løn", "8", "Bo Ejer",
	"25", "103", "u-oek", "Økonomi", "7", "Anne Ejer",
};
static const char *const maturity[] = {
	"1", "Borgerblikket", "2024-01-01", "red", "1", "Borgerblikket", "2025-02-01", "yellow",
	"1", "Borgerblikket", "2026-11-06", "green",          /* yellow -> green */
	"2", "SAPA", "2024-06-01", "red", "2", "SAPA", "2026-05-10", "yellow", /* red -> yellow */
	"3", "Digital Post", "2020-01-01", "green",           /* no change */
	"4", "Nyt", "2026-01-15", "green",                     /* first seen: null -> green */
	"5", "Gentaget", "2023-01-01", "yellow", "5", "Gentaget", "2026-03-01", "yellow", /* restated */
};
static const char *const contracts[] = {
	/* c1 on SBSYS (consolidate), ends 31 Mar 2027: in */
	"1", "c1", "ESDH-kontrakt", "ESDH A/S", "2027-03-31", "0", "6", NULL, NULL, NULL, "undecided",
	/* c2 on Økonomi (keep in H5, but replace in H13): ends 30 Nov 2028: out (after 26 Nov 2028) */
	"2", "c2", "Økonomikontrakt", "Øk A/S", "2028-11-30", "0", "6", NULL, NULL, NULL, "extend",
	/* c3 on Løn (replace), terminated 10 Oct 2026, 3 months by month: 31 Jan 2027 */
	"3", "c3", "Lønkontrakt", "Løn A/S", "2029-12-31", "0", "3", "month", NULL, "2026-10-10", "terminate",
	/* c4 on Fildrev (phase_out), continuous: never */
	"4", "c4", "Fildrevsdrift", "Drift A/S", NULL, "1", "3", "quarter", NULL, NULL, "undecided",
	/* c5 on an unconcerned system, ends in the window: not listed */
	"5", "c5", "Andet", "X", "2027-01-31", "0", "1", NULL, NULL, NULL, "undecided",
	/* c6 on Økonomi, ends 26 Nov 2028 exactly: in */
	"6", "c6", "Økonomi-support", NULL, "2028-11-26", "0", NULL, NULL, NULL, NULL, NULL,
};
static const char *const csys[] = {"1", "101", "2", "103", "3", "105", "4", "102", "5", "999", "6", "103"};

#define N(a, cols) (sizeof(a) / sizeof(a[0]) / (sizeof(cols) / sizeof(cols[0])))
#define NCOL(cols) (sizeof(cols) / sizeof(cols[0]))

static struct fake *demo_run(void)
{
	struct fake *f = fake_new(&ob_plugin, as_of);
	fake_rows(f, "FROM target_pictures tp WHERE", tcols, NCOL(tcols), targets, N(targets, tcols));
	fake_rows(f, "FROM future_pictures f", fcols, NCOL(fcols), futures, N(futures, fcols));
	fake_rows(f, "FROM target_actions a", acols, NCOL(acols), actions, N(actions, acols));
	fake_rows(f, "FROM target_action_systems", scols, NCOL(scols), asys, N(asys, scols));
	fake_rows(f, "FROM shared_solutions ss", mcols, NCOL(mcols), maturity, N(maturity, mcols));
	fake_rows(f, "FROM contracts c WHERE", ccols, NCOL(ccols), contracts, N(contracts, ccols));
	fake_rows(f, "FROM contract_systems cs", cscols, NCOL(cscols), csys, N(csys, cscols));
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

static int jsize(const struct fake *f, const char *path) { return cJSON_GetArraySize(fake_json(f, path)); }

DEF_TEST(run_rows_and_figures)
{
	struct fake *f = demo_run();

	EXPECT_EQ_INT(0, fake_run(f));
	EXPECT_EQ_INT(7, f->nqueries);
	EXPECT_EQ_INT(0, f->bad_queries);
	EXPECT_EQ_INT(0, f->unmatched);
	EXPECT_EQ_INT(0, f->errors);

	EXPECT_EQ_STR("2.0", jstr(f, "figures/target_version"));
	EXPECT_EQ_STR("2025-09-16", jstr(f, "figures/target_adopted_on"));
	EXPECT_EQ_STR("1.0", jstr(f, "figures/based_on_future_version"));
	EXPECT_EQ_STR("1.1", jstr(f, "figures/newest_future_version"));
	OK(cJSON_IsTrue(fake_json(f, "figures/due")));
	EXPECT_EQ_INT(2, jsize(f, "figures/due_reasons"));
	EXPECT_EQ_STR("older_than_12_months", jstr(f, "figures/due_reasons/0"));
	EXPECT_EQ_STR("older_future_picture", jstr(f, "figures/due_reasons/1"));
	EXPECT_EQ_STR("1.0", jstr(f, "previous_target_version"));

	/* Actions of 2.0 by code: H1 H2 H5 H7 H13. */
	EXPECT_EQ_INT(5, jint(f, "figures/actions"));
	EXPECT_EQ_INT(5, jsize(f, "actions"));
	EXPECT_EQ_STR("H1", jstr(f, "actions/0/code"));
	EXPECT_EQ_STR("H7", jstr(f, "actions/3/code"));
	EXPECT_EQ_STR("null", jstr(f, "actions/3/change"));
	EXPECT_EQ_STR("H13", jstr(f, "actions/4/code"));
	EXPECT_EQ_INT(2, jsize(f, "actions/0/systems"));
	/* Systems sorted by uuid: u-acadre, u-sbsys; Acadre has no owner. */
	EXPECT_EQ_STR("u-acadre", jstr(f, "actions/0/systems/0/uuid"));
	EXPECT_EQ_STR("null", jstr(f, "actions/0/systems/0/owner"));
	EXPECT_EQ_STR("Anne Ejer", jstr(f, "actions/0/systems/1/owner"));
	OK(cJSON_IsFalse(fake_json(f, "actions/2/changes_something"))); /* H5 keep */
	OK(cJSON_IsTrue(fake_json(f, "actions/3/changes_something")));  /* H7 unknown */

	/* Diff 1.0 -> 2.0: H1 changed (systems), H2 changed (title), H7
	 * added, H9 removed, H13 added; H5 unchanged. */
	EXPECT_EQ_INT(5, jsize(f, "diff"));
	EXPECT_EQ_INT(2, jint(f, "figures/actions_added"));
	EXPECT_EQ_INT(1, jint(f, "figures/actions_removed"));
	EXPECT_EQ_INT(2, jint(f, "figures/actions_changed"));
	EXPECT_EQ_STR("H1", jstr(f, "diff/0/code"));
	EXPECT_EQ_STR("changed", jstr(f, "diff/0/status"));
	EXPECT_EQ_STR("systems", jstr(f, "diff/0/changed/0"));
	EXPECT_EQ_STR("u-acadre", jstr(f, "diff/0/systems_added/0"));
	EXPECT_EQ_INT(0, jsize(f, "diff/0/systems_removed"));
	EXPECT_EQ_STR("H2", jstr(f, "diff/1/code"));
	EXPECT_EQ_STR("title", jstr(f, "diff/1/changed/0"));
	EXPECT_EQ_STR("Udfas fildrev", jstr(f, "diff/1/previous_title"));
	EXPECT_EQ_STR("H7", jstr(f, "diff/2/code"));
	EXPECT_EQ_STR("added", jstr(f, "diff/2/status"));
	EXPECT_EQ_STR("H9", jstr(f, "diff/3/code"));
	EXPECT_EQ_STR("removed", jstr(f, "diff/3/status"));
	EXPECT_EQ_STR("null", jstr(f, "diff/3/title"));
	EXPECT_EQ_STR("Fjernes", jstr(f, "diff/3/previous_title"));
	EXPECT_EQ_STR("u-sbsys", jstr(f, "diff/3/systems_removed/0"));
	EXPECT_EQ_STR("H13", jstr(f, "diff/4/code"));

	/* Distinct systems of every current action, keep too: SBSYS, Acadre,
	 * Fildrev, Økonomi, Løn. */
	EXPECT_EQ_INT(5, jint(f, "figures/systems_concerned"));

	/* Maturity (no previous run: 26 Nov 2025 ... 26 Nov 2026): Borgerblikket
	 * yellow->green, Nyt null->green, SAPA red->yellow. */
	EXPECT_EQ_INT(3, jint(f, "figures/maturity_changes"));
	EXPECT_EQ_INT(2, jint(f, "figures/to_green"));
	EXPECT_EQ_STR("Borgerblikket", jstr(f, "maturity_changes/0/solution"));
	EXPECT_EQ_STR("yellow", jstr(f, "maturity_changes/0/from"));
	EXPECT_EQ_STR("green", jstr(f, "maturity_changes/0/to"));
	EXPECT_EQ_STR("2026-11-06", jstr(f, "maturity_changes/0/changed_on"));
	OK(cJSON_IsTrue(fake_json(f, "maturity_changes/0/yellow_to_green")));
	/* In the order the query gives them (by name in the database). */
	EXPECT_EQ_STR("SAPA", jstr(f, "maturity_changes/1/solution"));
	EXPECT_EQ_STR("red", jstr(f, "maturity_changes/1/from"));
	EXPECT_EQ_STR("yellow", jstr(f, "maturity_changes/1/to"));
	OK(cJSON_IsFalse(fake_json(f, "maturity_changes/1/to_green")));
	EXPECT_EQ_STR("Nyt", jstr(f, "maturity_changes/2/solution"));
	EXPECT_EQ_STR("null", jstr(f, "maturity_changes/2/from"));
	OK(cJSON_IsTrue(fake_json(f, "maturity_changes/2/to_green")));
	OK(cJSON_IsFalse(fake_json(f, "maturity_changes/2/yellow_to_green")));
	EXPECT_EQ_STR("2025-11-26", jstr(f, "maturity_window/from"));
	OK(cJSON_IsTrue(fake_json(f, "maturity_window/from_inclusive")));

	/* Contracts by end: c3 (31 Jan 2027), c1 (31 Mar 2027), c6 (26 Nov 2028). */
	EXPECT_EQ_INT(3, jint(f, "figures/contracts_ending_on_concerned"));
	EXPECT_EQ_INT(3, jsize(f, "contracts"));
	EXPECT_EQ_STR("c3", jstr(f, "contracts/0/uuid"));
	EXPECT_EQ_STR("terminated", jstr(f, "contracts/0/kind"));
	EXPECT_EQ_STR("2027-01-31", jstr(f, "contracts/0/ends"));
	EXPECT_EQ_INT(66, jint(f, "contracts/0/days_left")); /* 4 + 31 + 31 */
	EXPECT_EQ_STR("u-loen", jstr(f, "contracts/0/systems/0"));
	EXPECT_EQ_STR("H13", jstr(f, "contracts/0/actions/0"));
	EXPECT_EQ_STR("c1", jstr(f, "contracts/1/uuid"));
	EXPECT_EQ_STR("fixed", jstr(f, "contracts/1/kind"));
	EXPECT_EQ_STR("c6", jstr(f, "contracts/2/uuid"));
	EXPECT_EQ_STR("2028-11-26", jstr(f, "contracts/2/ends"));
	EXPECT_EQ_STR("undecided", jstr(f, "contracts/2/decision"));
	EXPECT_EQ_STR("2028-11-26", jstr(f, "contract_window/to"));

	/* The figures REPORTS.md lists, no fewer. */
	{
		static const char *const keys[] = {"target_version", "target_adopted_on", "based_on_future_version",
						   "newest_future_version", "due", "due_reasons", "actions",
						   "actions_added", "actions_removed", "actions_changed",
						   "systems_concerned", "maturity_changes", "to_green",
						   "contracts_ending_on_concerned"};
		int all = 1;
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			all &= fake_json(f, "figures") && cJSON_GetObjectItemCaseSensitive(fake_json(f, "figures"), keys[i]) != NULL;
		OK(all);
		EXPECT_EQ_INT(14, cJSON_GetArraySize(fake_json(f, "figures")));
	}
	fake_free(f);
}

DEF_TEST(run_items)
{
	struct fake *f = demo_run();
	const struct fake_notice *n;
	char *t;

	EXPECT_EQ_INT(0, fake_run(f));
	/* IOD: the due item. */
	n = fake_find(f, "iod", "target:due:2.0:older_than_12_months+older_future_picture");
	OK(n != NULL);
	t = n ? render(n) : NULL;
	EXPECT_CONTAINS("Målbillede 2.0 skal opdateres", t);
	EXPECT_CONTAINS("16. september 2025", t);
	EXPECT_CONTAINS("26. november 2025", t);
	EXPECT_CONTAINS("fremtidsbillede 1.0, men der er vedtaget et nyere, 1.1", t);
	free(t);
	EXPECT_EQ_INT(1, fake_count(f, NULL, "target:due:"));

	/* Owners: every non-keep action × system; H5 (keep) none; H13's
	 * Økonomi (keep in H5) still gets H13's item. Acadre has no owner:
	 * it_support. H7 (unknown kind) has no systems. */
	OK(fake_find(f, "owner:7", "target:2.0:H1:u-sbsys") != NULL);
	OK(fake_find(f, "it_support", "target:2.0:H1:u-acadre") != NULL);
	OK(fake_find(f, "owner:8", "target:2.0:H2:u-fil") != NULL);
	OK(fake_find(f, "owner:8", "target:2.0:H13:u-loen") != NULL);
	OK(fake_find(f, "owner:7", "target:2.0:H13:u-oek") != NULL);
	EXPECT_EQ_INT(0, fake_count(f, NULL, "target:2.0:H5:"));
	EXPECT_EQ_INT(5, fake_count(f, NULL, "target:2.0:"));
	EXPECT_EQ_INT(2, fake_count(f, "owner:7", "target:2.0:"));

	n = fake_find(f, "owner:8", "target:2.0:H13:u-loen");
	t = n ? render(n) : NULL;
	EXPECT_CONTAINS("Løn: målbillede 2.0 (vedtaget 16. september 2025)", t);
	EXPECT_CONTAINS("H13 \"Erstat lønsystemet\" (erstat)", t);
	EXPECT_CONTAINS("Systemet skal erstattes", t);
	EXPECT_CONTAINS("Kontrakten Lønkontrakt (Løn A/S) udløber 31. januar 2027", t);
	EXPECT_CONTAINS("Det skal du gøre", t);
	free(t);
	n = fake_find(f, "owner:8", "target:2.0:H2:u-fil");
	t = n ? render(n) : NULL;
	EXPECT_CONTAINS("Systemet skal udfases", t);
	OK(t && strstr(t, "Kontrakten") == NULL); /* c4 is continuous */
	free(t);

	/* The briefing to IOD and ASG, keyed by as_of. */
	OK(fake_find(f, "iod", "target:briefing:2026-11-26") != NULL);
	n = fake_find(f, "asg", "target:briefing:2026-11-26");
	t = n ? render(n) : NULL;
	EXPECT_CONTAINS("version 2.0, 5 handlinger, der berører 5 systemer", t);
	EXPECT_CONTAINS("Målbillede 2.0 skal opdateres", t);
	EXPECT_CONTAINS("heraf 2 blevet grønne", t);
	EXPECT_CONTAINS("inden for 24 måneder: 3", t);
	free(t);
	EXPECT_EQ_INT(1, fake_count(f, "asg", NULL));
	EXPECT_EQ_INT(2, fake_count(f, "iod", NULL));
	EXPECT_EQ_INT(8, (long)f->nnotices); /* due, 5 owner items, 2 briefings */
	fake_free(f);
}

DEF_TEST(run_not_due_one_version)
{
	/* One målbillede, 1.1, adopted 1 Feb 2026 on the newest fremtidsbillede:
	 * not due, no diff, no due item. */
	struct fake *f = demo_run();
	const char *t1[] = {"2", "2.0", "2026-02-01", "2"};
	fake_rows(f, "FROM target_pictures tp WHERE", tcols, NCOL(tcols), t1, 1);
	EXPECT_EQ_INT(0, fake_run(f));
	OK(cJSON_IsFalse(fake_json(f, "figures/due")));
	EXPECT_EQ_INT(0, jsize(f, "figures/due_reasons"));
	EXPECT_EQ_INT(0, fake_count(f, NULL, "target:due:"));
	EXPECT_EQ_INT(0, jsize(f, "diff"));
	EXPECT_EQ_INT(0, jint(f, "figures/actions_added"));
	EXPECT_EQ_STR("null", jstr(f, "previous_target_version"));
	EXPECT_EQ_INT(5, jint(f, "figures/actions"));
	EXPECT_CONTAINS("ikke forfaldent", f->doc_text);
	EXPECT_CONTAINS("kun ét målbillede", f->doc_text);
	EXPECT_EQ_INT(0, f->errors);
	fake_free(f);
}

DEF_TEST(run_no_target_picture)
{
	/* Nothing at all: due "none", no actions, only the due item and the briefing. */
	struct fake *f = fake_new(&ob_plugin, as_of);
	fake_org(f, "42", "Anden Kommune");
	fake_rows(f, "FROM target_pictures tp WHERE", tcols, NCOL(tcols), NULL, 0);
	fake_rows(f, "FROM future_pictures f", fcols, NCOL(fcols), NULL, 0);
	fake_rows(f, "FROM target_actions a", acols, NCOL(acols), NULL, 0);
	fake_rows(f, "FROM target_action_systems", scols, NCOL(scols), NULL, 0);
	fake_rows(f, "FROM shared_solutions ss", mcols, NCOL(mcols), NULL, 0);
	fake_rows(f, "FROM contracts c WHERE", ccols, NCOL(ccols), contracts, N(contracts, ccols));
	fake_rows(f, "FROM contract_systems cs", cscols, NCOL(cscols), csys, N(csys, cscols));
	EXPECT_EQ_INT(0, fake_run(f));
	EXPECT_EQ_INT(0, f->bad_queries);
	EXPECT_EQ_INT(0, f->errors);
	EXPECT_EQ_STR("null", jstr(f, "figures/target_version"));
	EXPECT_EQ_STR("null", jstr(f, "figures/target_adopted_on"));
	EXPECT_EQ_STR("null", jstr(f, "figures/newest_future_version"));
	OK(cJSON_IsTrue(fake_json(f, "figures/due")));
	EXPECT_EQ_INT(1, jsize(f, "figures/due_reasons"));
	EXPECT_EQ_STR("none", jstr(f, "figures/due_reasons/0"));
	EXPECT_EQ_INT(0, jint(f, "figures/actions"));
	EXPECT_EQ_INT(0, jint(f, "figures/contracts_ending_on_concerned"));
	EXPECT_EQ_INT(0, jsize(f, "actions"));
	EXPECT_EQ_INT(0, jsize(f, "contracts"));
	const struct fake_notice *n = fake_find(f, "iod", "target:due:none:none");
	char *t = n ? render(n) : NULL;
	EXPECT_CONTAINS("Der er hverken registreret et målbillede eller et fremtidsbillede", t);
	free(t);
	EXPECT_EQ_INT(3, (long)f->nnotices); /* due, two briefings */
	EXPECT_CONTAINS("Anden Kommune", f->doc_text);
	EXPECT_CONTAINS("der er ikke registreret noget målbillede", f->doc_text);
	fake_free(f);
}

DEF_TEST(run_previous_and_document)
{
	/* A previous run on 26 Oct 2026: only Borgerblikket (6 Nov) changed since;
	 * SAPA (May) and Nyt (January) were before. KPI trends from its figures. */
	struct fake *f = demo_run();
	fake_previous(f,
		      "{\"actions\": 4, \"actions_added\": 0, \"actions_removed\": 0, \"actions_changed\": 1, "
		      "\"systems_concerned\": 4, \"maturity_changes\": 0, \"to_green\": 0, "
		      "\"contracts_ending_on_concerned\": 2}",
		      "2026-10-26");
	EXPECT_EQ_INT(0, fake_run(f));
	EXPECT_EQ_INT(1, jint(f, "figures/maturity_changes"));
	EXPECT_EQ_INT(1, jint(f, "figures/to_green"));
	EXPECT_EQ_STR("Borgerblikket", jstr(f, "maturity_changes/0/solution"));
	EXPECT_EQ_STR("2026-10-26", jstr(f, "maturity_window/from"));
	OK(cJSON_IsFalse(fake_json(f, "maturity_window/from_inclusive")));

	EXPECT_EQ_INT(1, f->doc.title);
	OK(f->doc.kpi >= 4 && f->doc.kpi <= 8);
	EXPECT_EQ_INT(6, f->doc.kpi_previous);
	EXPECT_EQ_INT(1, f->doc.chart);
	OK(f->doc.note >= 1);
	OK(f->doc.bullets >= 1);
	EXPECT_EQ_INT(4, f->ntables); /* diff, actions, maturity, contracts */
	EXPECT_EQ_INT(0, f->bad_cells);
	EXPECT_EQ_INT(0, f->errors);
	EXPECT_CONTAINS("Målbillede", f->doc_text);
	EXPECT_CONTAINS("Testkommune", f->doc_text);
	EXPECT_CONTAINS("26. oktober 2026", f->doc_text);
	EXPECT_CONTAINS("Målbillede 2.0 skal opdateres", f->doc_text);
	EXPECT_CONTAINS("1 fælleskommunal løsning er blevet grøn: nye anskaffelser på området skal kræve den: "
			"Borgerblikket.",
			f->doc_text);
	EXPECT_CONTAINS("Gul→grøn", f->doc_text);
	EXPECT_CONTAINS("Ændringer fra version 1.0 til 2.0", f->doc_text);
	EXPECT_CONTAINS("Lønkontrakt", f->doc_text);
	/* The diff table: 5 rows (2 added green, 1 removed red, 2 changed amber). */
	OK(f->ntables > 0 && f->tables[0].nrows == 5 && f->tables[0].nstatus[OB_STATUS_GREEN] == 2 &&
	   f->tables[0].nstatus[OB_STATUS_RED] == 1 && f->tables[0].nstatus[OB_STATUS_AMBER] == 2);
	/* The actions table: a row per action and system (H7 without: one row):
	 * H1 2 + H2 1 + H5 1 + H7 1 + H13 2 = 7; Acadre without owner red, H5 green. */
	OK(f->ntables > 1 && f->tables[1].nrows == 7 && f->tables[1].nstatus[OB_STATUS_RED] == 1 &&
	   f->tables[1].nstatus[OB_STATUS_GREEN] == 1);
	/* Contracts: c3 66 days red, c1 125 days red, c6 731 days green. */
	OK(f->ntables > 3 && f->tables[3].nrows == 3 && f->tables[3].nstatus[OB_STATUS_RED] == 2 &&
	   f->tables[3].nstatus[OB_STATUS_GREEN] == 1);
	fake_free(f);
}

DEF_TEST(run_settings)
{
	/* contract_window_months 3: only c3 (31 Jan 2027) is within 26 Feb 2027. */
	struct fake *f = demo_run();
	OK(fake_setting(f, "contract_window_months", "3") == 0);
	EXPECT_EQ_INT(0, fake_run(f));
	EXPECT_EQ_INT(1, jint(f, "figures/contracts_ending_on_concerned"));
	EXPECT_EQ_STR("c3", jstr(f, "contracts/0/uuid"));
	EXPECT_EQ_STR("2027-02-26", jstr(f, "contract_window/to"));
	/* The owner item of Løn names the contract; SBSYS's no longer does. */
	const struct fake_notice *n = fake_find(f, "owner:7", "target:2.0:H1:u-sbsys");
	EXPECT_EQ_STR("", n ? fake_kv(n, "contract") : NULL);
	fake_free(f);
}

DEF_TEST(run_ties_and_future_dates)
{
	/* Two versions adopted the same day: the later row (id 3) is current.
	 * A version adopted after as_of is not yet. */
	struct fake *f = demo_run();
	const char *t[] = {"1", "1.0", "2026-06-01", "2", "3", "1.1", "2026-06-01", "2", "4", "9.9", "2026-12-01", "2"};
	const char *a[] = {"31", "3", "H1", "Ny titel", "keep", "11", "1", "H1", "Gammel titel", "keep"};
	fake_rows(f, "FROM target_pictures tp WHERE", tcols, NCOL(tcols), t, 3);
	fake_rows(f, "FROM target_actions a", acols, NCOL(acols), a, 2);
	EXPECT_EQ_INT(0, fake_run(f));
	EXPECT_EQ_STR("1.1", jstr(f, "figures/target_version"));
	EXPECT_EQ_STR("1.0", jstr(f, "previous_target_version"));
	OK(cJSON_IsFalse(fake_json(f, "figures/due"))); /* based on 1.1, the newest */
	EXPECT_EQ_INT(1, jint(f, "figures/actions_changed"));
	EXPECT_EQ_STR("title", jstr(f, "diff/0/changed/0"));
	EXPECT_EQ_INT(0, fake_count(f, NULL, "target:1.1:")); /* keep only */
	fake_free(f);
}

int main(void)
{
	RUN_TEST(due_reasons);
	RUN_TEST(latest_versions);
	RUN_TEST(diff);
	RUN_TEST(maturity_without_previous);
	RUN_TEST(maturity_with_previous);
	RUN_TEST(contract_window);
	RUN_TEST(run_rows_and_figures);
	RUN_TEST(run_items);
	RUN_TEST(run_not_due_one_version);
	RUN_TEST(run_no_target_picture);
	RUN_TEST(run_previous_and_document);
	RUN_TEST(run_settings);
	RUN_TEST(run_ties_and_future_dates);
	END_TEST;
}
