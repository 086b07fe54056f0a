/* test_gdpr_coverage.c - the gdpr_coverage plugin against the fake API:
 * each rule of one system at its boundaries (scope, the risk assessment's
 * age and incidents, KITOS against CSV, DPIA, data processing agreement,
 * data ethics, coverage), the reminder periods, and a whole run's rows,
 * figures, items (keys, recipients, rendered Danish texts) and document.
 * Every expected value is worked out by hand from REPORTS.md, in the
 * comments. as_of is 26 November 2026 unless said otherwise: "within the
 * 12 months before" starts on 26 November 2025. */
#include <stdlib.h>
#include <string.h>

#include "../tap.h"
#include "fake_api.h"
#include "notice_render.h"
#include "fake_core.h"
#include "rules.h"

extern const struct ob_plugin ob_plugin;

static const char *as_of = "2026-11-26";

static struct gc_result eval_on(const char *day, const struct gc_system *s)
{
	struct fake *f = fake_new(&ob_plugin, day);
	struct gc_result r;
	if (gc_evaluate(&f->api, day, s, &r) < 0)
		memset(&r, 0x55, sizeof(r));
	fake_free(f);
	return r;
}

static struct gc_result eval(const struct gc_system *s) { return eval_on(as_of, s); }

/* An in-scope system with a KITOS risk assessment on date d. */
static struct gc_system kitos_ra(const char *d)
{
	struct gc_system s = {.lifecycle = "operational", .personal_data = "ordinary", .ra_conducted = "yes",
			      .ra_date = d, .ra_result = "low"};
	return s;
}

DEF_TEST(scope)
{
	struct gc_system s = {.lifecycle = "operational", .personal_data = "ordinary"};
	EXPECT_EQ_INT(1, eval(&s).in_scope);
	s.personal_data = "sensitive";
	EXPECT_EQ_INT(1, eval(&s).in_scope);
	s.personal_data = "none";
	EXPECT_EQ_INT(0, eval(&s).in_scope);
	s.personal_data = NULL; /* unknown level: not in scope */
	EXPECT_EQ_INT(0, eval(&s).in_scope);
	s.legal_data = 1; /* legal data alone brings it in */
	EXPECT_EQ_INT(1, eval(&s).in_scope);
	s.personal_data = "none";
	EXPECT_EQ_INT(1, eval(&s).in_scope);
	/* Not in operation: out, whatever the data. */
	s.lifecycle = "not_in_use";
	EXPECT_EQ_INT(0, eval(&s).in_scope);
	EXPECT_EQ_INT(0, eval(&s).in_operation);
	s.personal_data = "sensitive";
	EXPECT_EQ_INT(0, eval(&s).in_scope);
	/* Unknown lifecycle counts as in operation; so do the others. */
	s.lifecycle = NULL;
	EXPECT_EQ_INT(1, eval(&s).in_scope);
	s.lifecycle = "undecided";
	EXPECT_EQ_INT(1, eval(&s).in_scope);
	s.lifecycle = "phasing_out";
	EXPECT_EQ_INT(1, eval(&s).in_scope);
	/* A system out of scope still carries its flags, but is never covered. */
	s.lifecycle = "not_in_use";
	s.ra_conducted = "yes";
	s.ra_date = "2026-10-01";
	struct gc_result r = eval(&s);
	EXPECT_EQ_STR("current", gc_risk_name(r.risk));
	EXPECT_EQ_INT(1, r.dpia_needed);
	EXPECT_EQ_INT(0, r.covered);
}

DEF_TEST(risk_boundary)
{
	/* 26 Nov 2025 is within: current, due 26 Nov 2026 = as_of: due soon, 0 days. */
	struct gc_system s = kitos_ra("2025-11-26");
	struct gc_result r = eval(&s);
	EXPECT_EQ_STR("current", gc_risk_name(r.risk));
	EXPECT_EQ_STR("2025-11-26", r.risk_date);
	EXPECT_EQ_STR("2026-11-26", r.risk_due);
	EXPECT_EQ_INT(0, r.due_days);
	EXPECT_EQ_INT(1, r.risk_due_soon);
	EXPECT_EQ_INT(1, r.covered);
	/* One day older: overdue, due yesterday, not due soon. */
	s.ra_date = "2025-11-25";
	r = eval(&s);
	EXPECT_EQ_STR("overdue", gc_risk_name(r.risk));
	EXPECT_EQ_STR("2026-11-25", r.risk_due);
	EXPECT_EQ_INT(-1, r.due_days);
	EXPECT_EQ_INT(0, r.risk_due_soon);
	EXPECT_EQ_INT(0, r.covered);
	/* Due soon: 0..30 days. 26 Dec 2025 -> due 26 Dec 2026, 30 days; 27 Dec: 31. */
	s.ra_date = "2025-12-26";
	EXPECT_EQ_INT(1, eval(&s).risk_due_soon);
	s.ra_date = "2025-12-27";
	r = eval(&s);
	EXPECT_EQ_INT(0, r.risk_due_soon);
	EXPECT_EQ_INT(31, r.due_days);
	/* Missing: none, conducted no, conducted yes without a date or a bad
	 * one, and a date after as_of. */
	s.ra_date = "2026-11-27";
	EXPECT_EQ_STR("missing", gc_risk_name(eval(&s).risk));
	EXPECT_EQ_STR("", eval(&s).risk_due);
	s.ra_date = NULL;
	EXPECT_EQ_STR("missing", gc_risk_name(eval(&s).risk));
	s.ra_date = "2026-02-30";
	EXPECT_EQ_STR("missing", gc_risk_name(eval(&s).risk));
	s.ra_date = "2026-10-01";
	s.ra_conducted = "no";
	EXPECT_EQ_STR("missing", gc_risk_name(eval(&s).risk));
	s.ra_conducted = NULL;
	EXPECT_EQ_STR("missing", gc_risk_name(eval(&s).risk));
	/* Month ends: as_of 28 Feb 2027 (a month end) -> from 28 Feb 2026. */
	s = kitos_ra("2026-02-28");
	EXPECT_EQ_STR("current", gc_risk_name(eval_on("2027-02-28", &s).risk));
	s.ra_date = "2026-02-27";
	EXPECT_EQ_STR("overdue", gc_risk_name(eval_on("2027-02-28", &s).risk));
	/* Leap year: as_of 29 Feb 2028 -> from 28 Feb 2027; a 28 Feb 2027
	 * assessment is due 29 Feb 2028 (month end to month end). */
	s.ra_date = "2027-02-28";
	r = eval_on("2028-02-29", &s);
	EXPECT_EQ_STR("current", gc_risk_name(r.risk));
	EXPECT_EQ_STR("2028-02-29", r.risk_due);
	s.ra_date = "2027-02-27";
	EXPECT_EQ_STR("overdue", gc_risk_name(eval_on("2028-02-29", &s).risk));
	/* Across the year end: as_of 5 Jan 2027 -> from 5 Jan 2026. */
	s.ra_date = "2026-01-05";
	EXPECT_EQ_STR("current", gc_risk_name(eval_on("2027-01-05", &s).risk));
	s.ra_date = "2026-01-04";
	EXPECT_EQ_STR("overdue", gc_risk_name(eval_on("2027-01-05", &s).risk));
}

DEF_TEST(risk_incidents)
{
	struct gc_incident inc[] = {{"2026-03-03", "Fejlsendt e-mail"}, {"2026-06-01", "Datalæk via delt link"},
				    {"2026-11-27", "Efter opgørelsen"}};
	struct gc_system s = kitos_ra("2026-03-03");
	struct gc_result r;

	/* An incident on the assessment's own date does not count. */
	s.inc = inc;
	s.ninc = 1;
	EXPECT_EQ_STR("current", gc_risk_name(eval(&s).risk));
	/* One after it: after_incident, with that incident; the latest of two. */
	s.ninc = 2;
	r = eval(&s);
	EXPECT_EQ_STR("after_incident", gc_risk_name(r.risk));
	EXPECT_EQ_STR("2026-06-01", r.incident_date);
	EXPECT_EQ_STR("Datalæk via delt link", r.incident_title);
	EXPECT_EQ_INT(0, r.covered);
	/* An incident after as_of is ignored. */
	s.inc = &inc[2];
	s.ninc = 1;
	r = eval(&s);
	EXPECT_EQ_STR("current", gc_risk_name(r.risk));
	EXPECT_EQ_STR("", r.incident_date);
	/* A new assessment after the incident: current again. */
	s.inc = inc;
	s.ninc = 2;
	s.ra_date = "2026-06-02";
	EXPECT_EQ_STR("current", gc_risk_name(eval(&s).risk));
	/* Older than 12 months: overdue, incidents or not. */
	s.ra_date = "2025-11-01";
	EXPECT_EQ_STR("overdue", gc_risk_name(eval(&s).risk));
}

DEF_TEST(kitos_vs_csv)
{
	struct gc_assessment a[] = {{"risk_assessment", "2026-03-01", "high"},
				    {"risk_assessment", "2026-12-01", "low"}, /* after as_of */
				    {"dpia", "2026-04-01", NULL}};
	struct gc_system s = kitos_ra("2026-01-10");
	struct gc_result r;

	/* CSV newer: its date and its result (high: DPIA needed). */
	s.ass = a;
	s.nass = 2;
	r = eval(&s);
	EXPECT_EQ_STR("2026-03-01", r.risk_date);
	EXPECT_EQ_STR("high", r.risk_result);
	EXPECT_EQ_INT(1, r.risk_from_csv);
	EXPECT_EQ_INT(1, r.dpia_needed);
	EXPECT_EQ_INT(3, r.dpia_reason);
	/* KITOS newer: its date and result (low: not needed). */
	s.ra_date = "2026-05-01";
	r = eval(&s);
	EXPECT_EQ_STR("2026-05-01", r.risk_date);
	EXPECT_EQ_STR("low", r.risk_result);
	EXPECT_EQ_INT(0, r.risk_from_csv);
	EXPECT_EQ_INT(0, r.dpia_needed);
	/* The same date: the CSV result wins, both ways. */
	s.ra_date = "2026-03-01";
	s.ra_result = "low";
	r = eval(&s);
	EXPECT_EQ_STR("high", r.risk_result);
	EXPECT_EQ_INT(1, r.dpia_needed);
	a[0].result = "low";
	s.ra_result = "high";
	r = eval(&s);
	EXPECT_EQ_STR("low", r.risk_result);
	EXPECT_EQ_INT(0, r.dpia_needed);
	/* KITOS not conducted: only the CSV row (the later CSV one is after as_of). */
	s.ra_conducted = "dont_know";
	r = eval(&s);
	EXPECT_EQ_STR("2026-03-01", r.risk_date);
	/* Only the CSV row after as_of: missing. */
	s.ass = &a[1];
	s.nass = 1;
	EXPECT_EQ_STR("missing", gc_risk_name(eval(&s).risk));
}

DEF_TEST(dpia)
{
	struct gc_assessment a[] = {{"dpia", "2026-11-26", NULL}, {"dpia", "2026-11-27", NULL}};
	struct gc_system s = kitos_ra("2026-06-01");
	struct gc_result r;

	EXPECT_EQ_INT(0, eval(&s).dpia_needed); /* ordinary, low */
	s.personal_data = "sensitive";
	r = eval(&s);
	EXPECT_EQ_INT(1, r.dpia_needed);
	EXPECT_EQ_INT(1, r.dpia_reason);
	EXPECT_EQ_INT(0, r.dpia_present);
	EXPECT_EQ_INT(0, r.covered);
	s.personal_data = "none";
	s.legal_data = 1;
	r = eval(&s);
	EXPECT_EQ_INT(1, r.dpia_needed);
	EXPECT_EQ_INT(2, r.dpia_reason);
	/* High risk, even from an overdue assessment. */
	s.legal_data = 0;
	s.personal_data = "ordinary";
	s.ra_result = "high";
	s.ra_date = "2024-01-01";
	r = eval(&s);
	EXPECT_EQ_STR("overdue", gc_risk_name(r.risk));
	EXPECT_EQ_INT(1, r.dpia_needed);
	/* Present: KITOS yes without a date; with a date after as_of not;
	 * no, dont_know: not. */
	s.dpia_conducted = "yes";
	EXPECT_EQ_INT(1, eval(&s).dpia_present);
	s.dpia_date = "2026-11-27";
	EXPECT_EQ_INT(0, eval(&s).dpia_present);
	s.dpia_date = "2026-11-26";
	EXPECT_EQ_INT(1, eval(&s).dpia_present);
	s.dpia_conducted = "no";
	EXPECT_EQ_INT(0, eval(&s).dpia_present);
	s.dpia_conducted = "dont_know";
	EXPECT_EQ_INT(0, eval(&s).dpia_present);
	/* A CSV dpia on as_of counts, one the day after not. */
	s.ass = &a[1];
	s.nass = 1;
	EXPECT_EQ_INT(0, eval(&s).dpia_present);
	s.ass = a;
	EXPECT_EQ_INT(1, eval(&s).dpia_present);
	/* Needed and present, risk current: covered. */
	s.ra_date = "2026-06-01";
	EXPECT_EQ_INT(1, eval(&s).covered);
}

DEF_TEST(dpa)
{
	struct gc_system s = kitos_ra("2026-06-01");
	struct gc_result r;

	s.dpa_required = "yes";
	r = eval(&s);
	EXPECT_EQ_INT(1, r.dpa_needed);
	EXPECT_EQ_INT(0, r.dpa_present);
	EXPECT_EQ_INT(0, r.covered);
	s.dpa_concluded = 1;
	r = eval(&s);
	EXPECT_EQ_INT(1, r.dpa_present);
	EXPECT_EQ_INT(1, r.covered);
	/* No and decided by law: not needed, even supplier-hosted. */
	s.dpa_concluded = 0;
	s.operations_model = "supplier_hosted";
	s.dpa_required = "no";
	EXPECT_EQ_INT(0, eval(&s).dpa_needed);
	EXPECT_EQ_INT(1, eval(&s).covered);
	s.dpa_required = "decided_by_law";
	EXPECT_EQ_INT(0, eval(&s).dpa_needed);
	/* KITOS says nothing: needed iff supplier-hosted. */
	s.dpa_required = NULL;
	EXPECT_EQ_INT(1, eval(&s).dpa_needed);
	s.operations_model = "internal";
	EXPECT_EQ_INT(0, eval(&s).dpa_needed);
	s.operations_model = "hybrid";
	EXPECT_EQ_INT(0, eval(&s).dpa_needed);
	s.operations_model = NULL;
	EXPECT_EQ_INT(0, eval(&s).dpa_needed);
	/* An unknown value reads as saying nothing. */
	s.dpa_required = "Maybe";
	s.operations_model = "supplier_hosted";
	EXPECT_EQ_INT(1, eval(&s).dpa_needed);
}

DEF_TEST(ethics)
{
	struct gc_assessment a[] = {{"data_ethics", "2026-11-27", NULL}, {"data_ethics", "2025-01-01", NULL}};
	struct gc_system s = kitos_ra("2026-06-01");
	struct gc_result r;

	EXPECT_EQ_INT(0, eval(&s).ethics_needed);
	s.ai = 1;
	EXPECT_EQ_INT(1, eval(&s).ethics_needed);
	s.ai = 0;
	s.algorithmic = 1;
	EXPECT_EQ_INT(1, eval(&s).ethics_needed);
	s.algorithmic = 0;
	s.rpa = 1;
	EXPECT_EQ_INT(1, eval(&s).ethics_needed);
	s.rpa = 0;
	s.data_matching = 1;
	r = eval(&s);
	EXPECT_EQ_INT(1, r.ethics_needed);
	EXPECT_EQ_INT(0, r.ethics_present);
	EXPECT_EQ_INT(0, r.covered);
	/* After as_of: not present; an old one is (ethics does not expire). */
	s.ass = a;
	s.nass = 1;
	EXPECT_EQ_INT(0, eval(&s).ethics_present);
	s.nass = 2;
	r = eval(&s);
	EXPECT_EQ_INT(1, r.ethics_present);
	EXPECT_EQ_INT(1, r.covered);
	/* A risk assessment row is no ethics assessment. */
	struct gc_assessment ra[] = {{"risk_assessment", "2026-01-01", "low"}};
	s.ass = ra;
	s.nass = 1;
	EXPECT_EQ_INT(0, eval(&s).ethics_present);
}

DEF_TEST(coverage_pct_and_periods)
{
	char k[16];

	EXPECT_EQ_INT(667, gc_pct_tenths(2, 3));   /* 66.666… */
	EXPECT_EQ_INT(167, gc_pct_tenths(1, 6));   /* 16.666… */
	EXPECT_EQ_INT(125, gc_pct_tenths(1, 8));   /* 12.5 exactly */
	EXPECT_EQ_INT(63, gc_pct_tenths(1, 16));   /* 6.25: half up */
	EXPECT_EQ_INT(88, gc_pct_tenths(7, 80));   /* 8.75: half up */
	EXPECT_EQ_INT(188, gc_pct_tenths(3, 16));  /* 18.75 */
	EXPECT_EQ_INT(3, gc_pct_tenths(1, 400));   /* 0.25 */
	EXPECT_EQ_INT(2, gc_pct_tenths(1, 401));   /* 0.2493… */
	EXPECT_EQ_INT(1000, gc_pct_tenths(5, 5));
	EXPECT_EQ_INT(0, gc_pct_tenths(0, 7));
	EXPECT_EQ_INT(-1, gc_pct_tenths(0, 0));    /* nothing in scope: null */
	EXPECT_EQ_INT(999, gc_pct_tenths(19989, 20000)); /* 99.945: 999.45 tenths, down */
	EXPECT_EQ_INT(1000, gc_pct_tenths(19991, 20000)); /* 99.955: 999.55 tenths, up */

	gc_period_key("2026-11-26", "quarter", k, sizeof(k));
	EXPECT_EQ_STR("2026Q4", k);
	gc_period_key("2026-11-26", "month", k, sizeof(k));
	EXPECT_EQ_STR("2026-11", k);
	gc_period_key("2026-11-26", "year", k, sizeof(k));
	EXPECT_EQ_STR("2026", k);
	gc_period_key("2026-03-31", "quarter", k, sizeof(k));
	EXPECT_EQ_STR("2026Q1", k);
	gc_period_key("2026-04-01", "quarter", k, sizeof(k));
	EXPECT_EQ_STR("2026Q2", k);
	gc_period_key("2027-01-01", NULL, k, sizeof(k));
	EXPECT_EQ_STR("2027Q1", k);
}

/* A whole run. */
static const char *const scols[] = {
	"id", "uuid", "name", "supplier", "dpa_concluded", "department", "owner_id", "owner", "kitos_lifecycle",
	"personal_data", "legal_data", "citizen_facing", "operations_model", "uses_ai", "algorithmic_support",
	"uses_rpa", "data_matching", "ra_conducted", "ra_date", "ra_result", "dpia_conducted", "dpia_date",
	"dpa_required"};
#define NS (sizeof(scols) / sizeof(scols[0]))
static const char *const acols[] = {"system_id", "kind", "done_on", "result"};
static const char *const icols[] = {"system_id", "occurred_on", "title"};

static const char *const systems[] = {
	/* s1 Cura: sensitive, KITOS risk 3 Mar 2025: overdue (due 3 Mar 2026); DPIA yes; DPA yes and concluded */
	"1", "s1", "Cura", "Systematic", "1", "Sundhed og Ældre", "7", "Anne Ejer", "operational", "sensitive", "0",
	NULL, "supplier_hosted", "0", "0", "0", "0", "yes", "2025-03-03", "low", "yes", NULL, "yes",
	/* s2 Aula: CSV risk 1 Jun 2026, incident 15 Sep 2026: after_incident; supplier-hosted, KITOS silent, no DPA */
	"2", "s2", "Aula", "Netcompany", "0", "Børn og Skole", "8", "Bo Ejer", NULL, "ordinary", "0", "self_service",
	"supplier_hosted", "0", "0", "0", "0", NULL, NULL, NULL, NULL, NULL, NULL,
	/* s3 Lønsystem: CSV risk 20 Dec 2025: current, due 20 Dec 2026 in 24 days; covered */
	"3", "s3", "Lønsystem", NULL, "0", "Økonomi", "7", "Anne Ejer", "operational", "ordinary", "0", NULL,
	"internal", "0", "0", "0", "0", NULL, NULL, NULL, NULL, NULL, "no",
	/* s4 Robotten: RPA without ethics; owner not resolved (KITOS name only): to it_support */
	"4", "s4", "Robotten", NULL, "0", "Økonomi", NULL, "Ukendt Person", "operational", "ordinary", "0", NULL,
	"internal", "0", "0", "1", "0", NULL, NULL, NULL, NULL, NULL, NULL,
	/* s5: not in use, sensitive, citizen-facing: out of scope */
	"5", "s5", "Gammel portal", NULL, "0", "Børn og Skole", "8", "Bo Ejer", "not_in_use", "sensitive", "0",
	"information", NULL, "0", "0", "0", "0", NULL, NULL, NULL, NULL, NULL, NULL,
	/* s6: no personal data: out of scope */
	"6", "s6", "Kantine", NULL, "0", "Service", "7", "Anne Ejer", "operational", "none", "0", NULL, NULL, "0",
	"0", "0", "0", NULL, NULL, NULL, NULL, NULL, NULL,
	/* s7: legal data, KITOS risk 1 Feb 2026 high, CSV dpia after as_of: DPIA missing; decided by law */
	"7", "s7", "Borgerlogin", "Leverandør Æ", "0", "Børn og Skole", "8", "Bo Ejer", "operational", "none", "1",
	"digital_communication", "supplier_hosted", "0", "0", "0", "0", "yes", "2026-02-01", "high", NULL, NULL,
	"decided_by_law",
	/* s8: no department, no risk assessment at all */
	"8", "s8", "Intranet", NULL, "0", NULL, "9", "Cecilie Ejer", "operational", "ordinary", "0", NULL, "internal",
	"0", "0", "0", "0", "no", "2026-01-01", NULL, NULL, NULL, NULL,
};
static const char *const assessments[] = {
	"2", "risk_assessment", "2026-06-01", "medium", /**/
	"3", "risk_assessment", "2025-12-20", "low",	 /**/
	"4", "risk_assessment", "2026-10-01", "low",	 /**/
	"7", "dpia", "2026-12-01", NULL,
};
static const char *const incidents[] = {
	"2", "2026-09-15", "Datalæk via delt link", /**/
	"3", "2025-12-19", "Før vurderingen",	     /**/
	"4", "2026-11-27", "Efter opgørelsen",
};

static struct fake *demo_run(void)
{
	struct fake *f = fake_new(&ob_plugin, as_of);
	fake_rows(f, "FROM systems s LEFT JOIN", scols, NS, systems, sizeof(systems) / sizeof(systems[0]) / NS);
	fake_rows(f, "FROM gdpr_assessments", acols, 4, assessments, sizeof(assessments) / sizeof(assessments[0]) / 4);
	fake_rows(f, "FROM incidents", icols, 3, incidents, sizeof(incidents) / sizeof(incidents[0]) / 3);
	return f;
}

static long jint(const struct fake *f, const char *path)
{
	const cJSON *n = fake_json(f, path);
	return cJSON_IsNumber(n) ? (long)n->valuedouble : -999;
}

static double jnum(const struct fake *f, const char *path)
{
	const cJSON *n = fake_json(f, path);
	return cJSON_IsNumber(n) ? n->valuedouble : -999;
}

static const char *jstr(const struct fake *f, const char *path)
{
	const cJSON *n = fake_json(f, path);
	return cJSON_IsString(n) ? n->valuestring : cJSON_IsNull(n) ? "null" : "(absent)";
}

static int jtrue(const struct fake *f, const char *path) { return cJSON_IsTrue(fake_json(f, path)); }

DEF_TEST(run_rows_and_figures)
{
	struct fake *f = demo_run();
	static const char *const keys[] = {"uuid", "name", "department", "owner", "in_scope", "citizen_facing", "risk",
					   "risk_date", "risk_due", "dpia_needed", "dpia_present", "dpa_needed",
					   "dpa_present", "ethics_needed", "ethics_present", "covered"};
	const cJSON *rows;

	EXPECT_EQ_INT(0, fake_run(f));
	EXPECT_EQ_INT(0, f->bad_queries);
	EXPECT_EQ_INT(0, f->unmatched);
	EXPECT_EQ_INT(0, f->errors);
	rows = fake_json(f, "systems");
	EXPECT_EQ_INT(8, cJSON_GetArraySize(rows));
	for (const cJSON *r = rows ? rows->child : NULL; r; r = r->next)
		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			TAP_RESULT(cJSON_GetObjectItemCaseSensitive(r, keys[k]) != NULL, "row %s has %s",
				   cJSON_GetObjectItem(r, "uuid")->valuestring, keys[k]);
	EXPECT_EQ_STR("overdue", jstr(f, "systems/0/risk"));
	EXPECT_EQ_STR("2025-03-03", jstr(f, "systems/0/risk_date"));
	EXPECT_EQ_STR("2026-03-03", jstr(f, "systems/0/risk_due"));
	EXPECT_EQ_STR("Anne Ejer", jstr(f, "systems/0/owner"));
	EXPECT_EQ_STR("after_incident", jstr(f, "systems/1/risk"));
	EXPECT_EQ_STR("2026-09-15", jstr(f, "systems/1/incident_date"));
	OK(jtrue(f, "systems/1/citizen_facing"));
	OK(jtrue(f, "systems/1/dpa_needed") && !jtrue(f, "systems/1/dpa_present"));
	EXPECT_EQ_STR("current", jstr(f, "systems/2/risk")); /* the incident came before it */
	OK(jtrue(f, "systems/2/covered"));
	OK(jtrue(f, "systems/2/risk_due_soon"));
	EXPECT_EQ_STR("current", jstr(f, "systems/3/risk")); /* the incident is after as_of */
	OK(jtrue(f, "systems/3/ethics_needed") && !jtrue(f, "systems/3/ethics_present"));
	EXPECT_EQ_STR("Ukendt Person", jstr(f, "systems/3/owner"));
	OK(!jtrue(f, "systems/4/in_scope"));
	OK(jtrue(f, "systems/4/dpia_needed")); /* flags either way */
	OK(!jtrue(f, "systems/5/in_scope"));
	OK(jtrue(f, "systems/6/dpia_needed") && !jtrue(f, "systems/6/dpia_present"));
	OK(!jtrue(f, "systems/6/dpa_needed"));
	EXPECT_EQ_STR("missing", jstr(f, "systems/7/risk"));
	EXPECT_EQ_STR("null", jstr(f, "systems/7/risk_date"));
	EXPECT_EQ_STR("null", jstr(f, "systems/7/risk_due"));
	EXPECT_EQ_STR("null", jstr(f, "systems/7/department"));

	/* In scope: s1 s2 s3 s4 s7 s8. Risk: current s3 s4 s7, after s2,
	 * overdue s1, missing s8; due soon s3. DPIA needed s1 (sensitive) s7
	 * (legal), missing s7. DPA needed s1 (yes) s2 (hosted), missing s2.
	 * Ethics s4, missing. Covered: s3 only: 1 of 6 = 16.7 %. Citizen-facing
	 * in scope: s2 s7, none covered. */
	EXPECT_EQ_INT(8, jint(f, "figures/systems"));
	EXPECT_EQ_INT(6, jint(f, "figures/in_scope"));
	EXPECT_EQ_INT(3, jint(f, "figures/risk_current"));
	EXPECT_EQ_INT(1, jint(f, "figures/risk_after_incident"));
	EXPECT_EQ_INT(1, jint(f, "figures/risk_overdue"));
	EXPECT_EQ_INT(1, jint(f, "figures/risk_missing"));
	EXPECT_EQ_INT(1, jint(f, "figures/risk_due_soon"));
	EXPECT_EQ_INT(2, jint(f, "figures/dpia_needed"));
	EXPECT_EQ_INT(1, jint(f, "figures/dpia_missing"));
	EXPECT_EQ_INT(2, jint(f, "figures/dpa_needed"));
	EXPECT_EQ_INT(1, jint(f, "figures/dpa_missing"));
	EXPECT_EQ_INT(1, jint(f, "figures/ethics_needed"));
	EXPECT_EQ_INT(1, jint(f, "figures/ethics_missing"));
	EXPECT_EQ_INT(1, jint(f, "figures/covered"));
	OK(jnum(f, "figures/coverage_pct") == 16.7);
	EXPECT_EQ_INT(2, jint(f, "figures/citizen_facing_in_scope"));
	EXPECT_EQ_INT(0, jint(f, "figures/citizen_facing_covered"));
	/* Departments by name, none last: Børn og Skole 2/0, Service 0/0
	 * (null), Sundhed og Ældre 1/0, Økonomi 2/1 (50.0), none 1/0. */
	EXPECT_EQ_INT(5, cJSON_GetArraySize(fake_json(f, "figures/departments")));
	EXPECT_EQ_STR("Børn og Skole", jstr(f, "figures/departments/0/name"));
	EXPECT_EQ_INT(2, jint(f, "figures/departments/0/in_scope"));
	OK(jnum(f, "figures/departments/0/coverage_pct") == 0);
	EXPECT_EQ_STR("Service", jstr(f, "figures/departments/1/name"));
	EXPECT_EQ_STR("null", jstr(f, "figures/departments/1/coverage_pct"));
	EXPECT_EQ_STR("Økonomi", jstr(f, "figures/departments/3/name"));
	EXPECT_EQ_INT(1, jint(f, "figures/departments/3/covered"));
	OK(jnum(f, "figures/departments/3/coverage_pct") == 50);
	EXPECT_EQ_STR("null", jstr(f, "figures/departments/4/name"));

	/* The figures are the counts of the rows. */
	{
		long n[6] = {0}, dsum[2] = {0};
		for (const cJSON *r = rows ? rows->child : NULL; r; r = r->next) {
			if (!cJSON_IsTrue(cJSON_GetObjectItem(r, "in_scope")))
				continue;
			n[0]++;
			n[1] += cJSON_IsTrue(cJSON_GetObjectItem(r, "covered"));
			n[2] += strcmp(cJSON_GetObjectItem(r, "risk")->valuestring, "overdue") == 0;
			n[3] += cJSON_IsTrue(cJSON_GetObjectItem(r, "dpa_needed")) &&
				!cJSON_IsTrue(cJSON_GetObjectItem(r, "dpa_present"));
			n[4] += cJSON_IsTrue(cJSON_GetObjectItem(r, "citizen_facing"));
		}
		for (const cJSON *d = fake_json(f, "figures/departments")->child; d; d = d->next) {
			dsum[0] += (long)cJSON_GetObjectItem(d, "in_scope")->valuedouble;
			dsum[1] += (long)cJSON_GetObjectItem(d, "covered")->valuedouble;
		}
		EXPECT_EQ_INT(n[0], jint(f, "figures/in_scope"));
		EXPECT_EQ_INT(n[1], jint(f, "figures/covered"));
		EXPECT_EQ_INT(n[2], jint(f, "figures/risk_overdue"));
		EXPECT_EQ_INT(n[3], jint(f, "figures/dpa_missing"));
		EXPECT_EQ_INT(n[4], jint(f, "figures/citizen_facing_in_scope"));
		EXPECT_EQ_INT(dsum[0], jint(f, "figures/in_scope"));
		EXPECT_EQ_INT(dsum[1], jint(f, "figures/covered"));
	}
	fake_free(f);
}

DEF_TEST(run_items)
{
	struct fake *f = demo_run();
	const struct fake_notice *n;
	char *t;

	EXPECT_EQ_INT(0, fake_run(f));
	/* s1 risk; s2 incident + dpa; s3 due soon; s4 ethics (it_support);
	 * s7 dpia; s8 risk missing; the briefing to isk and asg: 9. */
	EXPECT_EQ_INT(9, (long)f->nnotices);
	OK((n = fake_find(f, "owner:7", "gdpr:s1:risk:2026-03-03:2026Q4")) != NULL);
	if (n) {
		t = render(n);
		EXPECT_CONTAINS("Risikovurderingen af Cura er fra 3. marts 2025 og skal fornyes senest 3. marts 2026", t);
		EXPECT_CONTAINS("overskredet for 268 dage siden", t); /* 3 Mar -> 26 Nov 2026 */
		EXPECT_CONTAINS("Det skal du gøre", t);
		free(t);
	}
	OK((n = fake_find(f, "owner:8", "gdpr:s2:incident:2026-09-15")) != NULL);
	if (n) {
		t = render(n);
		EXPECT_CONTAINS("Sikkerhedshændelsen \"Datalæk via delt link\" den 15. september 2026", t);
		EXPECT_CONTAINS("fra 1. juni 2026", t);
		free(t);
	}
	OK((n = fake_find(f, "owner:8", "gdpr:s2:dpa:2026Q4")) != NULL);
	if (n) {
		t = render(n);
		EXPECT_CONTAINS("ingen indgået databehandleraftale for Aula (Netcompany)", t);
		EXPECT_CONTAINS("leverandøren driver systemet", t);
		free(t);
	}
	OK((n = fake_find(f, "owner:7", "gdpr:s3:risk_due:2026-12-20")) != NULL);
	if (n) {
		t = render(n);
		EXPECT_CONTAINS("Risikovurderingen af Lønsystem er fra 20. december 2025 og skal fornyes senest "
				"20. december 2026, om 24 dage",
				t);
		free(t);
	}
	OK((n = fake_find(f, "it_support", "gdpr:s4:ethics:2026Q4")) != NULL);
	if (n) {
		t = render(n);
		EXPECT_CONTAINS("Robotten bruger robotter (RPA), men der er ingen dataetisk vurdering", t);
		free(t);
	}
	OK((n = fake_find(f, "owner:8", "gdpr:s7:dpia:2026Q4")) != NULL);
	if (n) {
		t = render(n);
		EXPECT_CONTAINS("ingen konsekvensanalyse (DPIA) af Borgerlogin (Leverandør Æ)", t);
		EXPECT_CONTAINS("oplysninger om strafbare forhold", t);
		free(t);
	}
	OK((n = fake_find(f, "owner:9", "gdpr:s8:risk:missing:2026Q4")) != NULL);
	if (n) {
		t = render(n);
		EXPECT_CONTAINS("Der er ingen risikovurdering af Intranet", t);
		free(t);
	}
	EXPECT_EQ_INT(0, fake_count(f, NULL, "gdpr:s3:risk:")); /* current: only the due-soon item */
	EXPECT_EQ_INT(0, fake_count(f, NULL, "gdpr:s5:"));
	EXPECT_EQ_INT(0, fake_count(f, NULL, "gdpr:s6:"));
	EXPECT_EQ_INT(0, fake_count(f, NULL, "gdpr:s1:dpia:")); /* present */
	EXPECT_EQ_INT(0, fake_count(f, NULL, "gdpr:s1:dpa:"));  /* concluded */
	OK((n = fake_find(f, "isk", "gdpr:briefing:2026Q4")) != NULL);
	if (n) {
		t = render(n);
		EXPECT_CONTAINS("1 af 6 systemer med personoplysninger er dækket (16,7 %)", t);
		free(t);
	}
	OK(fake_find(f, "asg", "gdpr:briefing:2026Q4") != NULL);
	fake_free(f);
}

DEF_TEST(run_remind_every)
{
	static const char *const every[] = {"\"month\"", "2026-11", "\"year\"", "2026", "\"quarter\"", "2026Q4"};
	char key[128];

	for (int i = 0; i < 3; i++) {
		struct fake *f = demo_run();
		OK(fake_setting(f, "remind_every", every[2 * i]) == 0);
		EXPECT_EQ_INT(0, fake_run(f));
		snprintf(key, sizeof(key), "gdpr:s1:risk:2026-03-03:%s", every[2 * i + 1]);
		OK(fake_find(f, "owner:7", key) != NULL);
		snprintf(key, sizeof(key), "gdpr:s8:risk:missing:%s", every[2 * i + 1]);
		OK(fake_find(f, "owner:9", key) != NULL);
		snprintf(key, sizeof(key), "gdpr:s2:dpa:%s", every[2 * i + 1]);
		OK(fake_find(f, "owner:8", key) != NULL);
		snprintf(key, sizeof(key), "gdpr:s4:ethics:%s", every[2 * i + 1]);
		OK(fake_find(f, "it_support", key) != NULL);
		snprintf(key, sizeof(key), "gdpr:s7:dpia:%s", every[2 * i + 1]);
		OK(fake_find(f, "owner:8", key) != NULL);
		/* The incident and the due-soon keys do not depend on the period. */
		OK(fake_find(f, "owner:8", "gdpr:s2:incident:2026-09-15") != NULL);
		OK(fake_find(f, "owner:7", "gdpr:s3:risk_due:2026-12-20") != NULL);
		EXPECT_EQ_INT(9, (long)f->nnotices);
		fake_free(f);
	}
}

DEF_TEST(run_document)
{
	struct fake *f = demo_run();
	fake_previous(f, "{\"coverage_pct\": 12.5, \"in_scope\": 5, \"covered\": 1, \"risk_overdue\": 2}", "2026-08-26");
	EXPECT_EQ_INT(0, fake_run(f));
	EXPECT_EQ_INT(1, f->doc.title);
	OK(f->doc.kpi >= 4 && f->doc.kpi <= 8);
	EXPECT_EQ_INT(4, f->doc.kpi_previous);
	EXPECT_EQ_INT(1, f->doc.chart);
	OK(f->doc.note >= 1);
	OK(f->doc.bullets >= 1);
	EXPECT_EQ_INT(0, f->bad_cells);
	EXPECT_EQ_INT(0, f->errors);
	EXPECT_CONTAINS("GDPR-dækning", f->doc_text);
	EXPECT_CONTAINS("Testkommune", f->doc_text);
	EXPECT_CONTAINS("26. november 2026", f->doc_text);
	EXPECT_CONTAINS("dækningen var 12,5 % pr. 26. august 2026 og er nu 16,7 %", f->doc_text);
	EXPECT_CONTAINS("Dækning pr. forvaltning", f->doc_text);
	EXPECT_CONTAINS("Borgerrettede systemer", f->doc_text);
	EXPECT_CONTAINS("Mangler pr. forvaltning og systemejer", f->doc_text);
	EXPECT_CONTAINS("Sådan er tallene beregnet", f->doc_text);
	EXPECT_CONTAINS("Uden forvaltning", f->doc_text);
	EXPECT_CONTAINS("Datalæk via delt link", f->doc_text);
	/* Tables: departments (5 + total), citizen-facing (s2, s7), the gaps
	 * of Børn og Skole (s2 s7), Sundhed og Ældre (s1), Økonomi (s3 due
	 * soon, s4), none (s8). */
	EXPECT_EQ_INT(6, (long)f->ntables);
	if (f->ntables == 6) {
		EXPECT_EQ_INT(6, (long)f->tables[0].nrows);
		EXPECT_EQ_INT(2, (long)f->tables[1].nrows);
		EXPECT_EQ_INT(2, (long)f->tables[2].nrows);
		EXPECT_EQ_INT(1, (long)f->tables[2].nstatus[OB_STATUS_RED]);   /* s2: after an incident */
		EXPECT_EQ_INT(1, (long)f->tables[2].nstatus[OB_STATUS_AMBER]); /* s7: current, DPIA missing */
		EXPECT_EQ_INT(1, (long)f->tables[3].nrows);
		EXPECT_EQ_INT(2, (long)f->tables[4].nrows);
		EXPECT_EQ_INT(1, (long)f->tables[5].nrows);
	}
	fake_free(f);
}

DEF_TEST(run_empty_and_org)
{
	/* No systems: zeros, coverage null, only the briefing; the queries are
	 * bound to this organisation. */
	struct fake *f = fake_new(&ob_plugin, as_of);
	fake_org(f, "42", "Anden Kommune");
	fake_rows(f, "FROM systems s LEFT JOIN", scols, NS, NULL, 0);
	fake_rows(f, "FROM gdpr_assessments", acols, 4, NULL, 0);
	fake_rows(f, "FROM incidents", icols, 3, NULL, 0);
	EXPECT_EQ_INT(0, fake_run(f));
	EXPECT_EQ_INT(0, f->bad_queries);
	EXPECT_EQ_INT(0, f->errors);
	EXPECT_CONTAINS("Anden Kommune", f->doc_text);
	EXPECT_EQ_INT(0, jint(f, "figures/systems"));
	EXPECT_EQ_INT(0, jint(f, "figures/in_scope"));
	EXPECT_EQ_STR("null", jstr(f, "figures/coverage_pct"));
	EXPECT_EQ_INT(0, cJSON_GetArraySize(fake_json(f, "figures/departments")));
	EXPECT_EQ_INT(0, cJSON_GetArraySize(fake_json(f, "systems")));
	EXPECT_EQ_INT(2, (long)f->nnotices);
	EXPECT_EQ_INT(2, (long)fake_count(f, NULL, "gdpr:briefing:"));
	fake_free(f);
}

int main(void)
{
	RUN_TEST(scope);
	RUN_TEST(risk_boundary);
	RUN_TEST(risk_incidents);
	RUN_TEST(kitos_vs_csv);
	RUN_TEST(dpia);
	RUN_TEST(dpa);
	RUN_TEST(ethics);
	RUN_TEST(coverage_pct_and_periods);
	RUN_TEST(run_rows_and_figures);
	RUN_TEST(run_items);
	RUN_TEST(run_remind_every);
	RUN_TEST(run_document);
	RUN_TEST(run_empty_and_org);
	END_TEST;
}
