/* test_portfolio_status.c - the portfolio_status plugin against the fake
 * API: completeness of one system field by field (the risk assessment only
 * where it applies, the supplier through a covering contract), the annual
 * review at its boundaries, and a whole run's rows, figures, item keys and
 * recipients, Danish texts, the briefing and summary_only_for. Every
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

/* A system with every field present; tests take one away at a time. */
static struct ps_system full(void)
{
	struct ps_system s = {
		.owner_kitos_uuid = "u-owner", .owner_id = "7", .owner_email = "anne@k.dk", .category = "foundation",
		.department = "12", .supplier = "Lev A/S", .contracts = 1, .operations_model = "internal",
		.personal_data = "ordinary", .legal_data = "0", .kitos_lifecycle = "operational", .ra_conducted = "yes",
		.ra_date = "2026-01-10", .last_data_review = "2026-06-01",
	};
	return s;
}

static struct ps_result eval_on(const char *day, const struct ps_system *s, long due_days)
{
	struct fake *f = fake_new(&ob_plugin, day);
	struct ps_cfg cfg = {.review_due_days = due_days};
	struct ps_result r;
	if (ps_evaluate(&f->api, day, &cfg, s, &r) < 0)
		memset(&r, 0x55, sizeof(r));
	fake_free(f);
	return r;
}

static const char *miss(const struct ps_result *r)
{
	static char buf[8][256];
	static int k;
	return ps_missing_join(r->missing, ",", 0, 0, buf[k++ % 8], sizeof(buf[0]));
}

DEF_TEST(completeness_each_field)
{
	struct ps_system s = full();
	struct ps_result r = eval_on(as_of, &s, 30);

	EXPECT_EQ_STR("", miss(&r));
	EXPECT_EQ_INT(1, r.complete);
	EXPECT_EQ_INT(0, r.nmissing);

	/* Owner: none, unknown (named but not resolved), without e-mail. */
	s = full(), s.owner_kitos_uuid = NULL, s.owner_id = NULL, r = eval_on(as_of, &s, 30);
	EXPECT_EQ_STR("owner", miss(&r));
	EXPECT_EQ_INT(PS_OWNER_NONE, r.owner);
	EXPECT_EQ_INT(0, r.complete);
	s = full(), s.owner_id = NULL, r = eval_on(as_of, &s, 30);
	EXPECT_EQ_STR("owner", miss(&r));
	EXPECT_EQ_INT(PS_OWNER_UNKNOWN, r.owner);
	s = full(), s.owner_email = "", r = eval_on(as_of, &s, 30);
	EXPECT_EQ_STR("owner", miss(&r));
	EXPECT_EQ_INT(PS_OWNER_NO_EMAIL, r.owner);
	s = full(), s.owner_email = NULL, r = eval_on(as_of, &s, 30);
	EXPECT_EQ_INT(PS_OWNER_NO_EMAIL, r.owner);
	/* An owner resolved without a KITOS uuid (set by hand) still counts. */
	s = full(), s.owner_kitos_uuid = NULL, r = eval_on(as_of, &s, 30);
	EXPECT_EQ_STR("", miss(&r));

	s = full(), s.category = NULL, r = eval_on(as_of, &s, 30);
	EXPECT_EQ_STR("category", miss(&r));
	s = full(), s.department = NULL, r = eval_on(as_of, &s, 30);
	EXPECT_EQ_STR("department", miss(&r));
	s = full(), s.operations_model = NULL, r = eval_on(as_of, &s, 30);
	EXPECT_EQ_STR("operations_model", miss(&r));
	/* Personal data unknown: the field is missing, and the system is not in
	 * scope, so the risk assessment does not apply. */
	s = full(), s.personal_data = NULL, s.ra_conducted = NULL, r = eval_on(as_of, &s, 30);
	EXPECT_EQ_STR("personal_data", miss(&r));
	EXPECT_EQ_INT(0, r.in_scope);
	/* "none" is a level: present. */
	s = full(), s.personal_data = "none", s.ra_conducted = NULL, r = eval_on(as_of, &s, 30);
	EXPECT_EQ_STR("", miss(&r));
	/* Contract: none lists the system; the supplier then comes from nowhere. */
	s = full(), s.contracts = 0, r = eval_on(as_of, &s, 30);
	EXPECT_EQ_STR("contract", miss(&r));
	s = full(), s.contracts = 0, s.supplier = NULL, r = eval_on(as_of, &s, 30);
	EXPECT_EQ_STR("supplier,contract", miss(&r));
	/* Every field missing, in REPORTS.md's order; the key's list sorted. */
	{
		struct ps_system e = {.owner_kitos_uuid = "x", .personal_data = "sensitive"};
		char key[256];
		r = eval_on(as_of, &e, 30);
		EXPECT_EQ_STR("owner,category,department,supplier,operations_model,contract,risk_assessment", miss(&r));
		EXPECT_EQ_INT(7, r.nmissing);
		EXPECT_EQ_STR("category+contract+department+operations_model+owner+risk_assessment+supplier",
			      ps_missing_join(r.missing, "+", 1, 0, key, sizeof(key)));
		EXPECT_EQ_STR("systemejer, kategori, forvaltning, leverandør, driftsform, kontrakt, risikovurdering",
			      ps_missing_join(r.missing, ", ", 0, 1, key, sizeof(key)));
	}
}

DEF_TEST(supplier_via_contract)
{
	struct ps_system s = full();
	struct ps_result r;

	s.supplier = NULL, s.contract_supplier = "Kontraktlev ApS", r = eval_on(as_of, &s, 30);
	EXPECT_EQ_STR("", miss(&r));
	s.supplier = "", s.contract_supplier = NULL, r = eval_on(as_of, &s, 30);
	EXPECT_EQ_STR("supplier", miss(&r));
	/* An expired contract still counts as a contract (the query counts every one). */
	s = full(), s.contracts = 3, r = eval_on(as_of, &s, 30);
	EXPECT_EQ_STR("", miss(&r));
}

DEF_TEST(risk_assessment_scope)
{
	struct ps_system s = full();
	struct ps_result r;

	/* In scope (ordinary, in operation) without any assessment: missing. */
	s.ra_conducted = NULL, s.ra_date = NULL, r = eval_on(as_of, &s, 30);
	EXPECT_EQ_STR("risk_assessment", miss(&r));
	EXPECT_EQ_INT(1, r.in_scope);
	/* KITOS conducted yes but no date: not an assessment. Conducted no with a date: neither. */
	s = full(), s.ra_date = NULL, r = eval_on(as_of, &s, 30);
	EXPECT_EQ_STR("risk_assessment", miss(&r));
	s = full(), s.ra_conducted = "no", r = eval_on(as_of, &s, 30);
	EXPECT_EQ_STR("risk_assessment", miss(&r));
	/* Dated after as_of: not yet. On as_of: counts. Old ones count (age is the GDPR report's). */
	s = full(), s.ra_date = "2026-11-27", r = eval_on(as_of, &s, 30);
	EXPECT_EQ_STR("risk_assessment", miss(&r));
	s = full(), s.ra_date = "2026-11-26", r = eval_on(as_of, &s, 30);
	EXPECT_EQ_STR("", miss(&r));
	s = full(), s.ra_date = "2019-01-01", r = eval_on(as_of, &s, 30);
	EXPECT_EQ_STR("", miss(&r));
	/* A CSV assessment alone counts; one after as_of does not; a bad date is none. */
	s = full(), s.ra_conducted = NULL, s.ra_csv = "2025-03-01", r = eval_on(as_of, &s, 30);
	EXPECT_EQ_STR("", miss(&r));
	s = full(), s.ra_conducted = NULL, s.ra_csv = "2027-01-01", r = eval_on(as_of, &s, 30);
	EXPECT_EQ_STR("risk_assessment", miss(&r));
	s = full(), s.ra_conducted = NULL, s.ra_csv = "2026-02-30", r = eval_on(as_of, &s, 30);
	EXPECT_EQ_STR("risk_assessment", miss(&r));
	/* Not applicable counts as present: no personal data, not in operation, sensitive, legal data. */
	s = full(), s.personal_data = "none", s.ra_conducted = NULL, r = eval_on(as_of, &s, 30);
	EXPECT_EQ_INT(0, r.in_scope);
	EXPECT_EQ_INT(1, r.complete);
	s = full(), s.kitos_lifecycle = "not_in_use", s.ra_conducted = NULL, r = eval_on(as_of, &s, 30);
	EXPECT_EQ_INT(0, r.in_scope);
	EXPECT_EQ_INT(1, r.complete);
	s = full(), s.personal_data = "sensitive", s.ra_conducted = NULL, r = eval_on(as_of, &s, 30);
	EXPECT_EQ_STR("risk_assessment", miss(&r));
	s = full(), s.personal_data = "none", s.legal_data = "1", s.ra_conducted = NULL, r = eval_on(as_of, &s, 30);
	EXPECT_EQ_STR("risk_assessment", miss(&r));
	/* Unknown lifecycle counts as in operation. */
	s = full(), s.kitos_lifecycle = NULL, s.ra_conducted = NULL, r = eval_on(as_of, &s, 30);
	EXPECT_EQ_INT(1, r.in_scope);
}

DEF_TEST(review_boundaries)
{
	struct ps_system s = full();
	struct ps_result r;

	/* review_due = last + 12 months; as_of 26 Nov 2026. */
	s.last_data_review = "2025-12-27"; /* due 27 Dec 2026: 31 days: ok */
	r = eval_on(as_of, &s, 30);
	EXPECT_EQ_STR("ok", ps_review_name(r.review));
	EXPECT_EQ_STR("2026-12-27", r.review_due);
	EXPECT_EQ_INT(31, r.review_days);
	s.last_data_review = "2025-12-26"; /* due 26 Dec 2026: 30 days: due_soon */
	r = eval_on(as_of, &s, 30);
	EXPECT_EQ_STR("due_soon", ps_review_name(r.review));
	EXPECT_EQ_INT(30, r.review_days);
	s.last_data_review = "2025-11-26"; /* due today: due_soon, 0 days */
	r = eval_on(as_of, &s, 30);
	EXPECT_EQ_STR("due_soon", ps_review_name(r.review));
	EXPECT_EQ_STR("2026-11-26", r.review_due);
	EXPECT_EQ_INT(0, r.review_days);
	s.last_data_review = "2025-11-25"; /* due yesterday: overdue by one day */
	r = eval_on(as_of, &s, 30);
	EXPECT_EQ_STR("overdue", ps_review_name(r.review));
	EXPECT_EQ_INT(-1, r.review_days);
	/* The setting moves the boundary. */
	s.last_data_review = "2025-12-06"; /* due 6 Dec 2026: 10 days */
	r = eval_on(as_of, &s, 10);
	EXPECT_EQ_STR("due_soon", ps_review_name(r.review));
	r = eval_on(as_of, &s, 9);
	EXPECT_EQ_STR("ok", ps_review_name(r.review));
	/* Month ends: 29 Feb 2028 + 12 months = 28 Feb 2029; 30 Nov 2025 → 30 Nov 2026. */
	s.last_data_review = "2028-02-29";
	r = eval_on("2029-02-28", &s, 30);
	EXPECT_EQ_STR("2029-02-28", r.review_due);
	EXPECT_EQ_STR("due_soon", ps_review_name(r.review));
	r = eval_on("2029-03-01", &s, 30);
	EXPECT_EQ_STR("overdue", ps_review_name(r.review));
	s.last_data_review = "2025-11-30";
	r = eval_on(as_of, &s, 30);
	EXPECT_EQ_STR("2026-11-30", r.review_due);
	EXPECT_EQ_INT(4, r.review_days);
	/* Never: no date, or a date that is none. */
	s.last_data_review = NULL;
	r = eval_on(as_of, &s, 30);
	EXPECT_EQ_STR("never", ps_review_name(r.review));
	EXPECT_EQ_STR("", r.review_due);
	s.last_data_review = "2025-02-30";
	r = eval_on(as_of, &s, 30);
	EXPECT_EQ_STR("never", ps_review_name(r.review));
	/* Not in operation: n/a, whatever the date. */
	s.kitos_lifecycle = "not_in_use";
	s.last_data_review = NULL;
	r = eval_on(as_of, &s, 30);
	EXPECT_EQ_STR("n/a", ps_review_name(r.review));
	s.last_data_review = "2020-01-01";
	r = eval_on(as_of, &s, 30);
	EXPECT_EQ_STR("n/a", ps_review_name(r.review));
	/* Any other lifecycle, and unknown, is in operation. */
	s.kitos_lifecycle = "phasing_out";
	r = eval_on(as_of, &s, 30);
	EXPECT_EQ_STR("overdue", ps_review_name(r.review));
	/* A bad as_of is an error, not a guess. */
	{
		struct fake *f = fake_new(&ob_plugin, as_of);
		struct ps_cfg cfg = {30};
		EXPECT_EQ_INT(-1, ps_evaluate(&f->api, "2026-13-01", &cfg, &s, &r));
		fake_free(f);
	}
}

DEF_TEST(percent_rounding)
{
	/* present / (8 × systems) × 100, one decimal, half up, from the exact ratio. */
	EXPECT_EQ_INT(-1, ps_pct_tenths(0, 0));
	EXPECT_EQ_INT(1000, ps_pct_tenths(8, 1));
	EXPECT_EQ_INT(875, ps_pct_tenths(7, 1));     /* 87.5 */
	EXPECT_EQ_INT(938, ps_pct_tenths(15, 2));    /* 93.75 → 93.8 */
	EXPECT_EQ_INT(958, ps_pct_tenths(23, 3));    /* 95.8333 → 95.8 */
	EXPECT_EQ_INT(978, ps_pct_tenths(2566, 328)); /* 2566 / 2624 = 97.7896 % → 97.8 */
	EXPECT_EQ_INT(63, ps_pct_tenths(1, 2));       /* 6.25 % → 6.3 */
	EXPECT_EQ_INT(1, ps_pct_tenths(1, 250));      /* 1 / 2000 = 0.05 % exactly → 0.1 (half up) */
	EXPECT_EQ_INT(0, ps_pct_tenths(1, 251));      /* 0.0498 % → 0.0 */
}

/* A whole run. */
static const char *const cols[] = {"uuid",	 "name",	"category",	    "lifecycle_phase", "kitos_lifecycle",
				   "owner_kitos_uuid", "kitos_owner", "owner_id",	    "owner_name",      "owner_email",
				   "department_id", "department", "supplier",	    "contract_supplier", "contracts",
				   "operations_model", "personal_data", "legal_data", "citizen_facing", "ra_conducted",
				   "ra_date",	 "ra_csv",	"last_data_review"};
#define NCOL (sizeof(cols) / sizeof(cols[0]))

static const char *const systems[] = {
	/* s1: complete; review due 26 Dec 2026 (30 days): due_soon. Owner 7. Citizen-facing. */
	"s1", "Aula", "cross_cutting", "contract_followup", "operational", "k7", "Anne", "7", "Anne Ejer", "anne@k.dk",
	"12", "Skole", "Lev A/S", NULL, "1", "internal", "ordinary", "0", "self_service", "yes", "2026-01-01", NULL,
	"2025-12-26",
	/* s2: owner 7; missing supplier and operations model (supplier: the contract has none either); never reviewed. */
	"s2", "Bogia", "line_of_business", "needs", NULL, "k7", "Anne", "7", "Anne Ejer", "anne@k.dk", "12", "Skole",
	NULL, NULL, "1", NULL, "none", NULL, NULL, NULL, NULL, NULL, NULL,
	/* s3: owner 8 without e-mail; supplier via contract; overdue (due 1 Nov 2026); personal data, CSV assessment. */
	"s3", "Cura", "foundation", "exit", "phasing_out", "k8", "Bo", "8", "Bo Ejer", NULL, "13", "Ældre", NULL,
	"Kontrakt A/S", "2", "supplier_hosted", "sensitive", "0", NULL, NULL, NULL, "2025-05-05", "2025-11-01",
	/* s4: owner unknown (named, not resolved); not in operation: review n/a; no department, no category, no contract. */
	"s4", "Dubu", NULL, NULL, "not_in_use", "k9", "Gammel Ejer", NULL, NULL, NULL, NULL, NULL, "Lev B", NULL, NULL,
	"hybrid", "ordinary", "0", "information", NULL, NULL, NULL, NULL,
	/* s5: no owner at all; in scope without assessment; review ok (due 1 Oct 2027). */
	"s5", "Ejendom", "line_of_business", "procurement", "operational", NULL, NULL, NULL, NULL, NULL, "13", "Ældre",
	"Lev C", NULL, "1", "internal", "ordinary", "1", NULL, "no", NULL, NULL, "2026-10-01",
};
#define NSYS (sizeof(systems) / sizeof(systems[0]) / NCOL)

static struct fake *demo_run(void)
{
	struct fake *f = fake_new(&ob_plugin, as_of);
	fake_rows(f, "FROM systems s", cols, NCOL, systems, NSYS);
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
	return cJSON_IsString(n) ? n->valuestring : cJSON_IsNull(n) ? "null" : cJSON_IsTrue(n) ? "true" : cJSON_IsFalse(n) ? "false" : "(absent)";
}

static char *missing_of(const struct fake *f, int i)
{
	static char buf[256];
	char path[64];
	const cJSON *a, *e;
	snprintf(path, sizeof(path), "systems/%d/missing", i);
	a = fake_json(f, path);
	buf[0] = '\0';
	cJSON_ArrayForEach(e, a)
	{
		if (buf[0])
			strcat(buf, ",");
		strcat(buf, cJSON_IsString(e) ? e->valuestring : "?");
	}
	return a ? buf : (char *)"(absent)";
}

DEF_TEST(run_rows_and_figures)
{
	struct fake *f = demo_run();
	static const char *const keys[] = {"uuid", "name", "category", "lifecycle_phase", "department", "owner",
					   "owner_email", "missing", "complete", "last_data_review", "review_due",
					   "review"};

	OK(fake_run(f) == 0);
	EXPECT_EQ_INT(0, f->errors);
	EXPECT_EQ_INT(0, f->bad_queries);
	EXPECT_EQ_INT(0, f->unmatched);
	EXPECT_EQ_INT(5, cJSON_GetArraySize(fake_json(f, "systems")));
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		char p[64];
		snprintf(p, sizeof(p), "systems/0/%s", keys[k]);
		TAP_RESULT(fake_json(f, p) != NULL, "row key %s present", keys[k]);
	}
	EXPECT_EQ_STR("", missing_of(f, 0));
	EXPECT_EQ_STR("true", jstr(f, "systems/0/complete"));
	EXPECT_EQ_STR("due_soon", jstr(f, "systems/0/review"));
	EXPECT_EQ_STR("2026-12-26", jstr(f, "systems/0/review_due"));
	EXPECT_EQ_STR("anne@k.dk", jstr(f, "systems/0/owner_email"));
	EXPECT_EQ_STR("supplier,operations_model", missing_of(f, 1));
	EXPECT_EQ_STR("never", jstr(f, "systems/1/review"));
	EXPECT_EQ_STR("null", jstr(f, "systems/1/review_due"));
	EXPECT_EQ_STR("null", jstr(f, "systems/1/last_data_review"));
	EXPECT_EQ_STR("owner", missing_of(f, 2));
	EXPECT_EQ_STR("overdue", jstr(f, "systems/2/review"));
	EXPECT_EQ_STR("null", jstr(f, "systems/2/owner_email"));
	EXPECT_EQ_STR("Bo Ejer", jstr(f, "systems/2/owner"));
	EXPECT_EQ_STR("owner,category,department,contract", missing_of(f, 3));
	EXPECT_EQ_STR("n/a", jstr(f, "systems/3/review"));
	EXPECT_EQ_STR("null", jstr(f, "systems/3/department"));
	EXPECT_EQ_STR("null", jstr(f, "systems/3/category"));
	EXPECT_EQ_STR("Gammel Ejer", jstr(f, "systems/3/owner"));
	EXPECT_EQ_STR("owner,risk_assessment", missing_of(f, 4));
	EXPECT_EQ_STR("ok", jstr(f, "systems/4/review"));

	EXPECT_EQ_INT(5, jint(f, "figures/systems"));
	EXPECT_EQ_INT(4, jint(f, "figures/in_operation"));
	EXPECT_EQ_INT(1, jint(f, "figures/by_category/foundation"));
	EXPECT_EQ_INT(1, jint(f, "figures/by_category/cross_cutting"));
	EXPECT_EQ_INT(2, jint(f, "figures/by_category/line_of_business"));
	EXPECT_EQ_INT(1, jint(f, "figures/by_category/unknown"));
	EXPECT_EQ_INT(1, jint(f, "figures/by_phase/needs"));
	EXPECT_EQ_INT(1, jint(f, "figures/by_phase/procurement"));
	EXPECT_EQ_INT(1, jint(f, "figures/by_phase/contract_followup"));
	EXPECT_EQ_INT(1, jint(f, "figures/by_phase/exit"));
	EXPECT_EQ_INT(1, jint(f, "figures/by_phase/unknown"));
	/* Departments: Skole 2, Ældre 2, none 1 (last); they sum to 5. */
	EXPECT_EQ_STR("Skole", jstr(f, "figures/by_department/0/name"));
	EXPECT_EQ_INT(2, jint(f, "figures/by_department/0/systems"));
	EXPECT_EQ_STR("Ældre", jstr(f, "figures/by_department/1/name"));
	EXPECT_EQ_INT(2, jint(f, "figures/by_department/1/systems"));
	EXPECT_EQ_STR("null", jstr(f, "figures/by_department/2/name"));
	EXPECT_EQ_INT(1, jint(f, "figures/by_department/2/systems"));
	EXPECT_EQ_INT(3, cJSON_GetArraySize(fake_json(f, "figures/by_department")));
	EXPECT_EQ_INT(1, jint(f, "figures/without_owner"));
	EXPECT_EQ_INT(1, jint(f, "figures/owner_unknown"));
	EXPECT_EQ_INT(1, jint(f, "figures/owner_without_email"));
	EXPECT_EQ_INT(1, jint(f, "figures/complete"));
	/* Present: 8 + 6 + 7 + 4 + 6 = 31 of 40: 77.5 %. */
	OK(jnum(f, "figures/completeness_pct") == 77.5);
	EXPECT_EQ_INT(1, jint(f, "figures/review_never"));
	EXPECT_EQ_INT(1, jint(f, "figures/review_overdue"));
	EXPECT_EQ_INT(1, jint(f, "figures/review_due_soon"));
	EXPECT_EQ_INT(2, jint(f, "figures/citizen_facing"));
	/* Personal data: s1, s3, s4, s5 (s2 "none"). */
	EXPECT_EQ_INT(4, jint(f, "figures/with_personal_data"));
	fake_free(f);
}

DEF_TEST(run_items)
{
	struct fake *f = demo_run();
	const struct fake_notice *n;
	char *t;

	OK(fake_run(f) == 0);
	/* Owner 7: s1 due soon, s2 never and missing. */
	EXPECT_EQ_INT(3, fake_count(f, "owner:7", NULL));
	OK(fake_find(f, "owner:7", "portfolio:s1:review_due:2026-12-26") != NULL);
	OK(fake_find(f, "owner:7", "portfolio:s2:review:never:2026Q4") != NULL);
	n = fake_find(f, "owner:7", "portfolio:s2:missing:operations_model+supplier:2026Q4");
	OK(n != NULL);
	if (n) {
		EXPECT_EQ_STR("portfolio_status/missing", n->template);
		t = render(n);
		EXPECT_CONTAINS("Bogia (Skole): Mangler: leverandør, driftsform.", t);
		EXPECT_CONTAINS("IT-støttefunktionen registrere leverandøren", t);
		EXPECT_CONTAINS("driftsformen", t);
		OK(t && strstr(t, "risikovurdering") == NULL);
		free(t);
	}
	/* Owner 8 (no e-mail: the outbox routes it): s3 overdue and owner missing. */
	EXPECT_EQ_INT(2, fake_count(f, "owner:8", NULL));
	n = fake_find(f, "owner:8", "portfolio:s3:review:2026-11-01:2026Q4");
	OK(n != NULL);
	if (n) {
		t = render(n);
		EXPECT_CONTAINS("1. november 2026", t);
		EXPECT_CONTAINS("for 25 dage siden", t);
		EXPECT_CONTAINS("IT-støttefunktionen", t);
		free(t);
	}
	n = fake_find(f, "owner:8", "portfolio:s3:missing:owner:2026Q4");
	OK(n != NULL);
	if (n) {
		t = render(n);
		EXPECT_CONTAINS("e-mailadresse på brugeren Bo Ejer i KITOS", t);
		free(t);
	}
	/* s4 (owner unknown, not in operation: no review item) and s5 (no owner) to IT support. */
	EXPECT_EQ_INT(2, fake_count(f, "it_support", NULL));
	n = fake_find(f, "it_support", "portfolio:s4:missing:category+contract+department+owner:2026Q4");
	OK(n != NULL);
	if (n) {
		t = render(n);
		EXPECT_CONTAINS("Gammel Ejer findes ikke blandt organisationens brugere", t);
		free(t);
	}
	OK(fake_find(f, "it_support", "portfolio:s5:missing:owner+risk_assessment:2026Q4") != NULL);
	EXPECT_EQ_INT(0, fake_count(f, NULL, "portfolio:s4:review"));
	EXPECT_EQ_INT(0, fake_count(f, NULL, "portfolio:s5:review"));
	/* The briefing: to ASG only (direktion is not configured). */
	EXPECT_EQ_INT(1, fake_count(f, "asg", NULL));
	EXPECT_EQ_INT(0, fake_count(f, "direktion", NULL));
	n = fake_find(f, "asg", "portfolio:briefing:2026-11-26");
	OK(n != NULL);
	if (n) {
		t = render(n);
		EXPECT_CONTAINS("5 systemer (4 i drift)", t);
		EXPECT_CONTAINS("77,5 %", t);
		free(t);
	}
	EXPECT_EQ_INT(8, f->nnotices);
	fake_free(f);
}

DEF_TEST(run_settings)
{
	struct fake *f = demo_run();
	const struct fake_notice *n;

	/* remind_every month; review_due_days 29: s1 (30 days) is no longer due. */
	OK(fake_setting(f, "remind_every", "\"month\"") == 0);
	OK(fake_setting(f, "review_due_days", "29") == 0);
	OK(fake_setting(f, "summary_only_for", "[\"direktion\"]") == 0);
	OK(fake_run(f) == 0);
	OK(fake_find(f, "owner:7", "portfolio:s2:review:never:2026-11") != NULL);
	EXPECT_EQ_INT(0, fake_count(f, NULL, "portfolio:s1:"));
	EXPECT_EQ_INT(0, jint(f, "figures/review_due_soon"));
	/* direktion gets the one-page summary as its item, ASG still the briefing. */
	OK(fake_find(f, "asg", "portfolio:briefing:2026-11-26") != NULL);
	OK(fake_find(f, "asg", "portfolio:briefing:2026-11-26") &&
	   !(fake_find(f, "asg", "portfolio:briefing:2026-11-26")->flags & OB_NOTICE_NO_PDF));
	n = fake_find(f, "direktion", "portfolio:summary:2026-11-26");
	OK(n != NULL);
	if (n) {
		char *t = render(n);
		EXPECT_EQ_STR("portfolio_status/summary", n->template);
		OK(n->flags & OB_NOTICE_NO_PDF); /* the summary is the message: no PDF */
		EXPECT_CONTAINS("Komplethed: 77,5 %", t);
		EXPECT_CONTAINS("Årlig revision: 1 aldrig foretaget, 1 forsinket", t);
		free(t);
	}
	fake_reset(f);
	OK(fake_setting(f, "remind_every", "\"year\"") == 0);
	OK(fake_setting(f, "summary_only_for", "[\"asg\", \"direktion\"]") == 0);
	fake_previous(f, "{\"systems\": 4, \"completeness_pct\": 80.0, \"complete\": 1, \"without_owner\": 1, "
			 "\"owner_unknown\": 0, \"review_never\": 1, \"review_overdue\": 3, \"citizen_facing\": 2}",
		      "2026-10-26");
	OK(fake_run(f) == 0);
	OK(fake_find(f, "owner:7", "portfolio:s2:review:never:2026") != NULL);
	EXPECT_EQ_INT(0, fake_count(f, "asg", "portfolio:briefing"));
	n = fake_find(f, "asg", "portfolio:summary:2026-11-26");
	OK(n != NULL);
	if (n) {
		char *t = render(n);
		EXPECT_CONTAINS("ændring siden 26. oktober 2026", t);
		EXPECT_CONTAINS("Systemer: 5 (+1)", t);
		EXPECT_CONTAINS("77,5 % (−2,5 point)", t);
		EXPECT_CONTAINS("Uden kendt systemejer: 2 (+1)", t);
		EXPECT_CONTAINS("1 (−2) forsinket", t);
		free(t);
	}
	OK(fake_find(f, "direktion", "portfolio:summary:2026-11-26") != NULL);
	EXPECT_EQ_INT(7, f->doc.kpi_previous); /* all but review_due_soon, absent from the previous figures */
	/* A role that is not one is refused by the setting's declaration (the
	 * core refuses it when it loads the configuration), as is a role twice
	 * or the old comma-separated text. */
	fake_reset(f);
	OK(fake_setting(f, "summary_only_for", "[\"direktionen\"]") == -1);
	OK(fake_setting(f, "summary_only_for", "[\"asg\", \"asg\"]") == -1);
	OK(fake_setting(f, "summary_only_for", "\"direktion\"") == -1);
	OK(fake_setting(f, "summary_only_for", "[]") == 0);
	fake_free(f);
}

DEF_TEST(run_document)
{
	struct fake *f = demo_run();

	OK(fake_run(f) == 0);
	EXPECT_EQ_INT(1, f->doc.title);
	EXPECT_EQ_INT(8, f->doc.kpi);
	EXPECT_EQ_INT(0, f->doc.kpi_previous);
	OK(f->doc.chart >= 4); /* category, phase, department, completeness per department */
	OK(f->doc.note >= 4);
	EXPECT_EQ_INT(0, f->bad_cells);
	EXPECT_CONTAINS("Systemoverblik", f->doc_text);
	EXPECT_CONTAINS("Det kræver beslutning", f->doc_text);
	EXPECT_CONTAINS("Komplethed pr. forvaltning", f->doc_text);
	EXPECT_CONTAINS("Systemer uden kendt ejer", f->doc_text);
	EXPECT_CONTAINS("Årlig revision", f->doc_text);
	EXPECT_CONTAINS("Borgerrettede systemer", f->doc_text);
	EXPECT_CONTAINS("Sådan er tallene beregnet", f->doc_text);
	EXPECT_CONTAINS("Ejeren er ikke bruger i organisationen", f->doc_text);
	fake_free(f);
}

DEF_TEST(run_empty)
{
	struct fake *f = fake_new(&ob_plugin, as_of);
	fake_rows(f, "FROM systems s", cols, NCOL, NULL, 0);
	OK(fake_run(f) == 0);
	EXPECT_EQ_INT(0, f->errors);
	EXPECT_EQ_INT(0, jint(f, "figures/systems"));
	EXPECT_EQ_STR("null", jstr(f, "figures/completeness_pct"));
	EXPECT_EQ_INT(0, cJSON_GetArraySize(fake_json(f, "figures/by_department")));
	/* Only the briefing. */
	EXPECT_EQ_INT(1, f->nnotices);
	fake_free(f);
}

int main(void)
{
	RUN_TEST(completeness_each_field);
	RUN_TEST(supplier_via_contract);
	RUN_TEST(risk_assessment_scope);
	RUN_TEST(review_boundaries);
	RUN_TEST(percent_rounding);
	RUN_TEST(run_rows_and_figures);
	RUN_TEST(run_items);
	RUN_TEST(run_settings);
	RUN_TEST(run_document);
	RUN_TEST(run_empty);
	END_TEST;
}
