/* test_kitos.c - the KITOS JSON parser against the upstream fixtures and
 * against the broken and odd inputs real exports contain. */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kitos.h"
#include "../tap.h"

static char fixtures[1024];

static int32_t day(int y, int m, int d)
{
	return ob_days_from_civil(y, m, d);
}

/* Parses a string as a file called name into b; returns ob_kitos_parse's result. */
static int parse_str(struct ob_kitos_batch *b, const char *name, const char *json,
		     const struct ob_kitos_opts *opts, struct ob_err *err)
{
	ob_err_clear(err);
	return ob_kitos_parse(b, name, json, strlen(json), opts, err);
}

/* Parses fixtures/rel into b; -2 when the file cannot be read. */
static int parse_fixture(struct ob_kitos_batch *b, const char *rel, struct ob_err *err)
{
	char *path = ob_path_join(fixtures, rel), *text;
	size_t len;
	int rc;

	ob_err_clear(err);
	if (ob_read_file(path, &text, &len) < 0) {
		printf("# cannot read %s\n", path);
		free(path);
		return -2;
	}
	rc = ob_kitos_parse(b, rel, text, len, NULL, err);
	if (rc < 0)
		printf("# %s\n", err->msg);
	free(text);
	free(path);
	return rc;
}

/* The first warning about field, or NULL. */
static const struct ob_kitos_warning *warning_for(const struct ob_kitos_batch *b, const char *field)
{
	for (size_t i = 0; i < b->n_warnings; i++)
		if (strcmp(b->warnings[i].field, field) == 0)
			return &b->warnings[i];
	return NULL;
}

static const char *warning_msg(const struct ob_kitos_batch *b, const char *field)
{
	const struct ob_kitos_warning *w = warning_for(b, field);
	return w ? w->message : NULL;
}

/* ------------------------------------------------------------------ fixtures */

static const struct {
	const char *file;
	size_t usages, contracts, dprs, warnings;
} expected[] = {
	{"dpr/data-processing-registration.json", 0, 0, 1, 0},
	{"dpr/data-processing-registrations.json", 0, 0, 1, 0},
	{"dpr/it-system-usage-data-processing-registrations.json", 0, 0, 2, 0},
	{"it-contracts/it-contract.json", 0, 1, 0, 0},
	{"it-contracts/it-contract-with-external-references.json", 0, 1, 0, 0},
	{"it-contracts/it-contracts-by-it-system-usage-uuid.json", 0, 2, 0, 0},
	{"it-contracts/it-contracts-with-newly-associated-contract.json", 0, 1, 0, 0},
	{"it-contracts/deadlines/it-contract-with-continous-true.json", 0, 1, 0, 0},
	{"it-system-usage/it-system-usage.json", 1, 0, 0, 0},
	{"it-system-usage/it-system-usage-valid-main-contract.json", 1, 0, 0, 0},
	{"it-system-usage/it-system-usage-invalid-main-contract.json", 1, 0, 0, 0},
	{"it-system-usage/it-system-usage-no-main-contract.json", 1, 0, 0, 0},
	{"it-system-usage/it-system-usage-no-organization.json", 1, 0, 0, 0},
	{"it-system-usage/relations/it-system-usage-no-relations.json", 1, 0, 0, 0},
	{"it-system-usage/archiving/it-system-usage-with-journal-period.json", 1, 0, 0, 0},
	{"it-system-usage/gdpr/it-system-usage-gdpr-no-link.json", 1, 0, 0, 0},
	{"it-system-usage/gdpr/it-system-usage-full-gdpr.json", 1, 0, 0, 0},
	{"it-system-usage/gdpr/it-system-usage-gdpr-sensitive-data.json", 1, 0, 0, 0},
	/* plannedRiskAssessmentDate "2024-01-15T00:00:000Z" */
	{"it-system-usage/gdpr/it-system-usage-risk-assessment.json", 1, 0, 0, 1},
	/* riskAssessmentResult "LowRisk", two malformed dates */
	{"it-system-usage/gdpr/it-system-usage-updated-gdpr.json", 1, 0, 0, 3},
};

/* Every .json under dir (relative to fixtures) that the table above lacks. */
static void walk_unlisted(const char *rel, int *found, int *unlisted)
{
	char *dir = rel[0] ? ob_path_join(fixtures, rel) : ob_xstrdup(fixtures);
	DIR *d = opendir(dir);
	struct dirent *de;

	if (d == NULL) {
		free(dir);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		char *sub, *full;
		struct stat st;
		size_t n = strlen(de->d_name);
		int listed = 0;

		if (de->d_name[0] == '.')
			continue;
		sub = rel[0] ? ob_path_join(rel, de->d_name) : ob_xstrdup(de->d_name);
		full = ob_path_join(fixtures, sub);
		if (stat(full, &st) == 0 && S_ISDIR(st.st_mode)) {
			walk_unlisted(sub, found, unlisted);
		} else if (n > 5 && strcmp(de->d_name + n - 5, ".json") == 0) {
			(*found)++;
			for (size_t i = 0; i < OB_ARRAY_LEN(expected); i++)
				if (strcmp(expected[i].file, sub) == 0)
					listed = 1;
			if (!listed) {
				struct ob_kitos_batch b;
				struct ob_err err;
				(*unlisted)++;
				ob_kitos_batch_init(&b);
				EXPECT_EQ_INT(0, parse_fixture(&b, sub, &err));
				OK(b.n_usages + b.n_contracts + b.n_dprs + b.n_users > 0);
				ob_kitos_batch_free(&b);
			}
		}
		free(sub);
		free(full);
	}
	closedir(d);
	free(dir);
}

DEF_TEST(every_fixture_parses)
{
	struct stat st;
	int found = 0, unlisted = 0;

	if (stat(fixtures, &st) != 0 || !S_ISDIR(st.st_mode)) {
		TAP_RESULT(0, "fixture directory %s exists (set OB_SHARED_DIR)", fixtures);
		return;
	}
	for (size_t i = 0; i < OB_ARRAY_LEN(expected); i++) {
		struct ob_kitos_batch b;
		struct ob_err err;

		printf("# %s\n", expected[i].file);
		ob_kitos_batch_init(&b);
		EXPECT_EQ_INT(0, parse_fixture(&b, expected[i].file, &err));
		EXPECT_EQ_INT(expected[i].usages, b.n_usages);
		EXPECT_EQ_INT(expected[i].contracts, b.n_contracts);
		EXPECT_EQ_INT(expected[i].dprs, b.n_dprs);
		EXPECT_EQ_INT(0, b.n_users);
		EXPECT_EQ_INT(expected[i].warnings, b.n_warnings);
		for (size_t w = 0; w < b.n_warnings; w++)
			printf("#   warning %s: %s\n", b.warnings[w].field, b.warnings[w].message);
		EXPECT_EQ_INT(0, b.skipped_unknown);
		EXPECT_EQ_INT(1, b.n_files);
		if (b.n_files == 1)
			EXPECT_EQ_STR(expected[i].file, b.files[0]);
		ob_kitos_batch_free(&b);
	}
	walk_unlisted("", &found, &unlisted);
	EXPECT_EQ_INT(OB_ARRAY_LEN(expected), found);
	EXPECT_EQ_INT(0, unlisted);
}

DEF_TEST(usage_fixture_values)
{
	struct ob_kitos_batch b;
	struct ob_err err;
	const struct ob_kitos_usage *u;

	ob_kitos_batch_init(&b);
	if (parse_fixture(&b, "it-system-usage/it-system-usage.json", &err) != 0 || b.n_usages != 1) {
		OK(0);
		ob_kitos_batch_free(&b);
		return;
	}
	u = &b.usages[0];
	EXPECT_EQ_STR("it-system-usage/it-system-usage.json", u->file);
	OK(u->file == b.files[0]);
	EXPECT_EQ_INT(-1, u->index);
	EXPECT_EQ_STR("85cc6bd8-da66-4d4e-8e56-4dbc16e5c109", u->uuid);
	EXPECT_EQ_STR("System 3", u->name);
	EXPECT_EQ_STR("kaldenavn", u->local_name);
	EXPECT_EQ_STR("b971f663-2c0e-44d2-9da2-fbf9cdd8df85", u->org.uuid);
	EXPECT_EQ_STR("23232", u->org.cvr);
	EXPECT_EQ_STR("Fælles Kommune", u->org.name);
	EXPECT_EQ_STR("803fd406-27e2-4785-b162-02ee6ea876d1", u->department_uuid);
	EXPECT_EQ_STR("Direktørområde", u->department_name);
	EXPECT_EQ_INT(100, u->users_min);
	EXPECT_EQ_INT(499, u->users_max);
	EXPECT_EQ_STR("internal", u->operations_model); /* general.hostedAt "OnPremise" */
	EXPECT_EQ_STR("operational", u->kitos_lifecycle);
	EXPECT_EQ_STR("contract_followup", u->lifecycle_phase);
	EXPECT_EQ_STR("sensitive", u->personal_data); /* [0, 1, 3, 2] */
	EXPECT_EQ_INT(1, u->legal_data);
	EXPECT_EQ_INT(1, u->business_critical); /* "Yes" */
	EXPECT_EQ_STR("yes", u->ra_conducted);  /* 1 */
	EXPECT_EQ_INT(OB_NO_DATE, u->ra_date);
	EXPECT_EQ_STR(NULL, u->ra_result);
	EXPECT_EQ_INT(OB_NO_DATE, u->ra_planned);
	EXPECT_EQ_STR("yes", u->dpia_conducted);
	EXPECT_EQ_INT(OB_NO_DATE, u->dpia_date);
	EXPECT_EQ_STR(NULL, u->dpa_required);
	EXPECT_EQ_STR(NULL, u->owner_uuid); /* roles hold no Systemejer: no warning */
	EXPECT_EQ_STR(NULL, u->owner_name);
	EXPECT_EQ_STR(NULL, u->main_contract_uuid);
	EXPECT_EQ_INT(0, u->n_dpr_uuids);
	EXPECT_EQ_INT(0, b.n_warnings);
	ob_kitos_batch_free(&b);

	/* The same usage with integer enums in the older shape (gdpr.hostedAt 1,
	 * isBusinessCritical 1) and a main contract. */
	ob_kitos_batch_init(&b);
	if (parse_fixture(&b, "it-system-usage/it-system-usage-valid-main-contract.json", &err) == 0 &&
	    b.n_usages == 1) {
		u = &b.usages[0];
		EXPECT_EQ_STR("internal", u->operations_model);
		EXPECT_EQ_INT(1, u->business_critical);
		EXPECT_EQ_STR("dcc373bd-d11c-4cb9-9d0a-7160e578979a", u->main_contract_uuid);
	} else
		OK(0);
	ob_kitos_batch_free(&b);

	ob_kitos_batch_init(&b);
	if (parse_fixture(&b, "it-system-usage/relations/it-system-usage-no-relations.json", &err) == 0 &&
	    b.n_usages == 1) {
		EXPECT_EQ_INT(100, b.usages[0].users_min);
		EXPECT_EQ_INT(-1, b.usages[0].users_max); /* upperBound null */
	} else
		OK(0);
	ob_kitos_batch_free(&b);

	ob_kitos_batch_init(&b);
	if (parse_fixture(&b, "it-system-usage/it-system-usage-no-organization.json", &err) == 0 &&
	    b.n_usages == 1) {
		EXPECT_EQ_STR(NULL, b.usages[0].department_uuid); /* responsibleOrganizationUnit {} */
		EXPECT_EQ_STR(NULL, b.usages[0].department_name);
	} else
		OK(0);
	ob_kitos_batch_free(&b);
}

DEF_TEST(gdpr_fixture_values)
{
	struct ob_kitos_batch b;
	struct ob_err err;
	const struct ob_kitos_usage *u;
	const struct ob_kitos_warning *w;

	/* ["LegalData"], gdpr.businessCritical "Yes", userSupervisionDate 0001-01-01 */
	ob_kitos_batch_init(&b);
	if (parse_fixture(&b, "it-system-usage/gdpr/it-system-usage-full-gdpr.json", &err) == 0 &&
	    b.n_usages == 1) {
		u = &b.usages[0];
		EXPECT_EQ_STR("ordinary", u->personal_data);
		EXPECT_EQ_INT(1, u->legal_data);
		EXPECT_EQ_INT(1, u->business_critical);
		EXPECT_EQ_STR("internal", u->operations_model);
		EXPECT_EQ_INT(0, b.n_warnings);
	} else
		OK(0);
	ob_kitos_batch_free(&b);

	ob_kitos_batch_init(&b);
	if (parse_fixture(&b, "it-system-usage/gdpr/it-system-usage-gdpr-sensitive-data.json", &err) == 0 &&
	    b.n_usages == 1) {
		u = &b.usages[0];
		EXPECT_EQ_STR("sensitive", u->personal_data);
		EXPECT_EQ_INT(1, u->legal_data);
		EXPECT_EQ_INT(0, u->business_critical); /* "No" */
		EXPECT_EQ_STR("supplier_hosted", u->operations_model); /* "External" */
	} else
		OK(0);
	ob_kitos_batch_free(&b);

	/* A malformed date in a field we store is named; the one in
	 * userSupervisionDate, which we do not store, is not. */
	ob_kitos_batch_init(&b);
	if (parse_fixture(&b, "it-system-usage/gdpr/it-system-usage-risk-assessment.json", &err) == 0 &&
	    b.n_usages == 1) {
		u = &b.usages[0];
		w = warning_for(&b, "gdpr.plannedRiskAssessmentDate");
		OK(w != NULL);
		if (w != NULL) {
			EXPECT_EQ_STR("malformed date \"2024-01-15T00:00:000Z\"", w->message);
			EXPECT_EQ_STR("85cc6bd8-da66-4d4e-8e56-4dbc16e5c109", w->uuid);
			EXPECT_EQ_STR("it-system-usage/gdpr/it-system-usage-risk-assessment.json", w->file);
			EXPECT_EQ_INT(-1, w->index);
		}
		OK(warning_for(&b, "gdpr.userSupervisionDate") == NULL);
		EXPECT_EQ_INT(OB_NO_DATE, u->ra_planned);
		EXPECT_EQ_STR("yes", u->ra_conducted); /* "Yes" */
		EXPECT_EQ_STR("ordinary", u->personal_data);
	} else
		OK(0);
	ob_kitos_batch_free(&b);

	/* "LowRisk" is not a KITOS risk level: warned, and the usage kept. */
	ob_kitos_batch_init(&b);
	if (parse_fixture(&b, "it-system-usage/gdpr/it-system-usage-updated-gdpr.json", &err) == 0 &&
	    b.n_usages == 1) {
		u = &b.usages[0];
		EXPECT_EQ_STR("unknown value \"LowRisk\" (expected Low, Medium, High or Undecided)",
			      warning_msg(&b, "gdpr.riskAssessmentResult"));
		EXPECT_CONTAINS("malformed date", warning_msg(&b, "gdpr.riskAssessmentConductedDate"));
		EXPECT_EQ_STR(NULL, u->ra_result);
		EXPECT_EQ_INT(OB_NO_DATE, u->ra_date);
	} else
		OK(0);
	ob_kitos_batch_free(&b);
}

DEF_TEST(contract_fixture_values)
{
	struct ob_kitos_batch b;
	struct ob_err err;
	const struct ob_kitos_contract *k;

	ob_kitos_batch_init(&b);
	if (parse_fixture(&b, "it-contracts/it-contract.json", &err) == 0 && b.n_contracts == 1) {
		k = &b.contracts[0];
		EXPECT_EQ_INT(-1, k->index);
		EXPECT_EQ_STR("ffcdc85f-9448-4355-b519-e2dd89b76758", k->uuid);
		EXPECT_EQ_STR("TestName", k->name);
		EXPECT_EQ_STR("3dc52c64-3706-40f4-bf58-45035bb37ddd", k->org.uuid);
		EXPECT_EQ_STR(NULL, k->org.cvr); /* null */
		EXPECT_EQ_STR("Organisation 1", k->org.name);
		EXPECT_EQ_STR("TestId", k->contract_number);
		EXPECT_EQ_STR("Organisation 1", k->supplier);
		EXPECT_EQ_STR(NULL, k->supplier_cvr);
		EXPECT_EQ_STR("f4db9743-41e3-4a7a-ad62-683d10abe418", k->responsible_unit_uuid);
		EXPECT_EQ_STR("Test - 1", k->responsible_unit_name);
		EXPECT_EQ_INT(OB_NO_DATE, k->start_date);
		EXPECT_EQ_INT(OB_NO_DATE, k->end_date);
		EXPECT_EQ_INT(1, k->enforced_valid);
		EXPECT_EQ_INT(0, k->continuous);
		EXPECT_EQ_INT(3, k->notice_months);
		EXPECT_EQ_STR("year", k->notice_by_end_of); /* EndOfCalendarYear */
		EXPECT_EQ_STR("1 x ½ år", k->extension_options);
		EXPECT_EQ_INT(1, k->extension_total);
		EXPECT_EQ_INT(20, k->extensions_used);
		EXPECT_EQ_INT(day(2024, 4, 18), k->irrevocable_until);
		EXPECT_EQ_INT(day(2024, 4, 11), k->terminated_at);
		EXPECT_EQ_INT(1, k->n_usage_uuids);
		if (k->n_usage_uuids == 1)
			EXPECT_EQ_STR("3e9ebd8b-b37e-4019-9b33-906cac65011b", k->usage_uuids[0]);
		EXPECT_EQ_INT(1, k->n_dpr_uuids);
		if (k->n_dpr_uuids == 1)
			EXPECT_EQ_STR("23477ce5-57ac-43c6-818d-17d8dced8469", k->dpr_uuids[0]);
	} else
		OK(0);
	ob_kitos_batch_free(&b);

	ob_kitos_batch_init(&b);
	if (parse_fixture(&b, "it-contracts/deadlines/it-contract-with-continous-true.json", &err) == 0 &&
	    b.n_contracts == 1)
		EXPECT_EQ_INT(1, b.contracts[0].continuous);
	else
		OK(0);
	ob_kitos_batch_free(&b);

	ob_kitos_batch_init(&b);
	if (parse_fixture(&b, "it-contracts/it-contracts-by-it-system-usage-uuid.json", &err) == 0 &&
	    b.n_contracts == 2) {
		k = &b.contracts[0];
		EXPECT_EQ_INT(0, k->index);
		EXPECT_EQ_STR("The valid contract", k->name);
		EXPECT_EQ_STR("Ballerup kommune", k->supplier);
		EXPECT_EQ_STR(NULL, k->contract_number);
		EXPECT_EQ_INT(day(2023, 2, 28), k->start_date);
		EXPECT_EQ_INT(day(2023, 4, 9), k->end_date);
		EXPECT_EQ_INT(0, k->enforced_valid);
		EXPECT_EQ_INT(-1, k->notice_months);
		EXPECT_EQ_STR(NULL, k->notice_by_end_of);
		EXPECT_EQ_STR(NULL, k->extension_options);
		EXPECT_EQ_INT(-1, k->extension_total);
		EXPECT_EQ_INT(0, k->extensions_used);
		EXPECT_EQ_INT(day(2023, 6, 10), k->terminated_at);
		k = &b.contracts[1];
		EXPECT_EQ_INT(1, k->index);
		EXPECT_EQ_STR("The invalid contract", k->name);
		EXPECT_EQ_INT(OB_NO_DATE, k->terminated_at);
		OK(b.contracts[0].file == b.contracts[1].file);
	} else
		OK(0);
	ob_kitos_batch_free(&b);
}

DEF_TEST(dpr_fixture_values)
{
	struct ob_kitos_batch b;
	struct ob_err err;
	const struct ob_kitos_dpr *d;

	ob_kitos_batch_init(&b);
	if (parse_fixture(&b, "dpr/data-processing-registration.json", &err) == 0 && b.n_dprs == 1) {
		d = &b.dprs[0];
		EXPECT_EQ_STR("DefaultDpa", d->name);
		EXPECT_EQ_STR("10759456-569b-44a5-8c1a-96716ce141f5", d->uuid);
		EXPECT_EQ_STR("11111111", d->org.cvr);
		EXPECT_EQ_STR("no", d->agreement_concluded);
		EXPECT_EQ_INT(OB_NO_DATE, d->concluded_on);
		EXPECT_EQ_INT(1, d->valid);
		EXPECT_EQ_STR("no", d->third_country);
		EXPECT_EQ_STR("Fælles Kommune", d->processors);
		EXPECT_EQ_INT(OB_NO_DATE, d->oversight_next);
		EXPECT_EQ_INT(0, d->n_usage_uuids);
		EXPECT_EQ_INT(1, d->n_contract_uuids);
		if (d->n_contract_uuids == 1)
			EXPECT_EQ_STR("c06074f6-6a3c-43b9-862e-47ea6421d1e0", d->contract_uuids[0]);
	} else
		OK(0);
	ob_kitos_batch_free(&b);

	ob_kitos_batch_init(&b);
	if (parse_fixture(&b, "dpr/data-processing-registrations.json", &err) == 0 && b.n_dprs == 1) {
		d = &b.dprs[0];
		EXPECT_EQ_STR("Dpa 1", d->name);
		EXPECT_EQ_STR("yes", d->agreement_concluded);
		EXPECT_EQ_INT(day(2024, 5, 24), d->concluded_on);
		EXPECT_EQ_STR("yes", d->third_country);
	} else
		OK(0);
	ob_kitos_batch_free(&b);

	/* Minimal DPRs: {name, uuid, general: {validity: {valid, enforceInvalidity}}} */
	ob_kitos_batch_init(&b);
	if (parse_fixture(&b, "dpr/it-system-usage-data-processing-registrations.json", &err) == 0 &&
	    b.n_dprs == 2) {
		EXPECT_EQ_STR("DPA 1 - INVALID", b.dprs[0].name);
		EXPECT_EQ_INT(0, b.dprs[0].valid);
		EXPECT_EQ_INT(0, b.dprs[0].index);
		EXPECT_EQ_STR("DPA 2 - VALID", b.dprs[1].name);
		EXPECT_EQ_INT(1, b.dprs[1].valid);
		EXPECT_EQ_INT(1, b.dprs[1].index);
		EXPECT_EQ_STR(NULL, b.dprs[1].agreement_concluded);
		EXPECT_EQ_STR(NULL, b.dprs[1].org.uuid);
		EXPECT_EQ_INT(0, b.n_contracts);
	} else
		OK(0);
	ob_kitos_batch_free(&b);
}

/* ------------------------------------------------------------- fatal errors */

#define U1 "\"uuid\": \"11111111-2222-3333-4444-555555555555\""
#define U2 "\"uuid\": \"11111111-2222-3333-4444-666666666666\""

static const char good_usage[] = "{" U1 ", \"systemContext\": {\"name\": \"Cura\"}}";

/* Counts that must not move when a file fails. */
struct snap {
	size_t usages, contracts, dprs, users, warnings, files, skipped_unknown, skipped0;
};

static struct snap snap_of(const struct ob_kitos_batch *b)
{
	struct snap s = {b->n_usages, b->n_contracts, b->n_dprs, b->n_users, b->n_warnings,
			 b->n_files, b->skipped_unknown, b->skipped[OB_KITOS_USAGE]};
	return s;
}

static int snap_eq(struct snap a, struct snap b)
{
	return memcmp(&a, &b, sizeof(a)) == 0;
}

/* A fatal error, and the batch exactly as it was before. */
#define EXPECT_FATAL(name, json)                                                         \
	do {                                                                             \
		EXPECT_EQ_INT(-1, parse_str(&b, (name), (json), NULL, &err));            \
		OK(snap_eq(before, snap_of(&b)));                                        \
	} while (0)

DEF_TEST(fatal_errors)
{
	struct ob_kitos_batch b;
	struct ob_err err;
	struct snap before;

	ob_kitos_batch_init(&b);
	/* a valid file first, so "unchanged" means something */
	EXPECT_EQ_INT(0, parse_str(&b, "good.json", good_usage, NULL, &err));
	EXPECT_EQ_INT(1, b.n_usages);
	before = snap_of(&b);

	EXPECT_FATAL("t.json", "{\n  \"uuid\": \"x\",\n  oops\n}");
	EXPECT_EQ_STR("t.json:3:3: JSON syntax error near 'oops': expected a member name in double quotes",
		      err.msg);

	EXPECT_FATAL("c.json", "[{\"a\": 1,}]");
	EXPECT_CONTAINS("c.json:1:10: JSON syntax error near '}]'", err.msg);

	EXPECT_FATAL("m.json", "[\n {\"a\": 1\n  \"b\": 2}]");
	EXPECT_EQ_STR("m.json:3:3: JSON syntax error near '\"b\": 2}]': expected ',' or '}'", err.msg);

	/* columns count characters, not bytes */
	EXPECT_FATAL("u.json", "{\"navn\": \"Fælles\" x}");
	EXPECT_CONTAINS("u.json:1:19: JSON syntax error near 'x}'", err.msg);

	/* truncated: the position is the end of the file */
	EXPECT_FATAL("trunc.json", "[\n  {" U1 ",\n   \"name\": \"Cu");
	EXPECT_EQ_STR("trunc.json:3:15: JSON syntax error: unexpected end of file", err.msg);
	EXPECT_FATAL("trunc2.json", "[{\"a\": 1}");
	EXPECT_EQ_STR("trunc2.json:1:10: JSON syntax error: unexpected end of file", err.msg);
	EXPECT_FATAL("trunc3.json", "{\"a\": tr");
	EXPECT_CONTAINS("unexpected end of file", err.msg);
	EXPECT_FATAL("trunc4.json", "{\"a\": 1.5e");
	EXPECT_CONTAINS("unexpected end of file", err.msg);
	/* ...but a bad last character is not the end of the file */
	EXPECT_FATAL("x.json", "{\"a\": 1x");
	EXPECT_EQ_STR("x.json:1:8: JSON syntax error near 'x': expected ',' or '}'", err.msg);

	{
		char deep[2500];
		memset(deep, '[', 1200);
		memset(deep + 1200, ']', 1200);
		deep[2400] = '\0';
		EXPECT_FATAL("deep.json", deep);
		/* ob_json_parse's limit, counting the top-level array */
		EXPECT_EQ_STR("deep.json:1:65: JSON syntax error near '[[[[[[[[[[[[[[[[[[[[': nested deeper than 64 "
			      "arrays and objects", err.msg);
	}

	EXPECT_FATAL("tail.json", "{\"a\": 1}\n]");
	EXPECT_CONTAINS("tail.json:2:1: JSON syntax error near ']'", err.msg);

	EXPECT_FATAL("empty.json", "");
	EXPECT_EQ_STR("empty.json: empty file, expected KITOS JSON", err.msg);
	EXPECT_FATAL("blank.json", " \n\t\n");
	EXPECT_EQ_STR("blank.json: empty file, expected KITOS JSON", err.msg);

	EXPECT_FATAL("n.json", "42");
	EXPECT_EQ_STR("n.json:1:1: not KITOS data: top-level JSON is a number, expected an object or an "
		      "array of objects", err.msg);
	EXPECT_FATAL("s.json", "\n  \"hello\"");
	EXPECT_CONTAINS("s.json:2:3: not KITOS data: top-level JSON is a string", err.msg);

	EXPECT_FATAL("a.json", "[\"a\", \"b\"]");
	EXPECT_EQ_STR("a.json:1:2: not KITOS data: element 0 of the top-level array is a string, expected "
		      "an object", err.msg);
	/* the objects before the bad element are not kept either */
	EXPECT_FATAL("mixed.json", "[\n  {" U1 ", \"systemContext\": {\"name\": \"A\"}},\n"
				   "  {\"x\": [1, {\"y\": \"],\"}]},\n  {},\n  3\n]");
	EXPECT_EQ_STR("mixed.json:5:3: not KITOS data: element 3 of the top-level array is a number, "
		      "expected an object", err.msg);
	EXPECT_EQ_INT(1, b.n_files);
	EXPECT_EQ_STR("good.json", b.files[0]);

	/* a byte-order mark is allowed */
	EXPECT_EQ_INT(0, parse_str(&b, "bom.json", "\xEF\xBB\xBF[]", NULL, &err));
	EXPECT_EQ_INT(2, b.n_files);
	ob_kitos_batch_free(&b);
}

/* ------------------------------------------------------------- object level */

DEF_TEST(enums_strings_and_integers)
{
	static const char strings[] =
		"[{" U1 ", \"systemContext\": {\"name\": \"A\"},"
		" \"general\": {\"hostedAt\": \"hybrid\", \"isBusinessCritical\": \"DontKnow\","
		"   \"validity\": {\"lifeCycleStatus\": \"PhasingOut\"}},"
		" \"gdpr\": {\"riskAssessmentConducted\": \"Irrelevant\", \"riskAssessmentResult\": \"High\","
		"   \"dpiaConducted\": \"DontKnow\", \"isDataProcessingAgreementRequired\": \"DecidedByLaw\","
		"   \"dataSensitivityLevels\": [\"None\"],"
		"   \"riskAssessmentConductedDate\": \"0001-01-01T00:00:00Z\", \"dpiaDate\": null,"
		"   \"plannedRiskAssessmentDate\": \"2025-03-01T00:00:00.000Z\"}}]";
	static const char integers[] =
		"[{" U1 ", \"systemContext\": {\"name\": \"A\"},"
		" \"general\": {\"hostedAt\": 3, \"isBusinessCritical\": 2,"
		"   \"validity\": {\"lifeCycleStatus\": 4}},"
		" \"gdpr\": {\"riskAssessmentConducted\": 4, \"riskAssessmentResult\": 2,"
		"   \"dpiaConducted\": 2, \"isDataProcessingAgreementRequired\": 2,"
		"   \"dataSensitivityLevels\": [0],"
		"   \"riskAssessmentConductedDate\": null,"
		"   \"plannedRiskAssessmentDate\": \"2025-03-01T00:00:00Z\"}}]";
	const char *texts[2] = {strings, integers};

	for (int t = 0; t < 2; t++) {
		struct ob_kitos_batch b;
		struct ob_err err;
		const struct ob_kitos_usage *u;

		printf("# %s\n", t ? "integers" : "strings");
		ob_kitos_batch_init(&b);
		EXPECT_EQ_INT(0, parse_str(&b, "e.json", texts[t], NULL, &err));
		EXPECT_EQ_INT(0, b.n_warnings);
		if (b.n_usages != 1) {
			OK(0);
			ob_kitos_batch_free(&b);
			continue;
		}
		u = &b.usages[0];
		EXPECT_EQ_INT(0, u->index);
		EXPECT_EQ_STR("hybrid", u->operations_model);
		EXPECT_EQ_INT(-1, u->business_critical);
		EXPECT_EQ_STR("phasing_out", u->kitos_lifecycle);
		EXPECT_EQ_STR("exit", u->lifecycle_phase);
		EXPECT_EQ_STR("irrelevant", u->ra_conducted);
		EXPECT_EQ_STR("high", u->ra_result);
		EXPECT_EQ_STR("dont_know", u->dpia_conducted);
		EXPECT_EQ_STR("decided_by_law", u->dpa_required);
		EXPECT_EQ_STR("none", u->personal_data);
		EXPECT_EQ_INT(0, u->legal_data);
		EXPECT_EQ_INT(OB_NO_DATE, u->ra_date); /* 0001-01-01 and null: no date, silently */
		EXPECT_EQ_INT(OB_NO_DATE, u->dpia_date);
		EXPECT_EQ_INT(day(2025, 3, 1), u->ra_planned);
		ob_kitos_batch_free(&b);
	}
}

DEF_TEST(lifecycle_phases)
{
	static const struct {
		const char *status, *lifecycle, *phase;
	} cases[] = {
		{"\"Undecided\"", "undecided", "needs"},	{"0", "undecided", "needs"},
		{"\"NotInUse\"", "not_in_use", "exit"},		{"1", "not_in_use", "exit"},
		{"\"PhasingIn\"", "phasing_in", "procurement"}, {"2", "phasing_in", "procurement"},
		{"\"operational\"", "operational", "contract_followup"},
		{"3", "operational", "contract_followup"},	{"\"Pilot\"", "pilot", "procurement"},
		{"null", NULL, NULL},
	};

	for (size_t i = 0; i < OB_ARRAY_LEN(cases); i++) {
		struct ob_kitos_batch b;
		struct ob_err err;
		char *json = ob_xasprintf("{" U1 ", \"systemContext\": {\"name\": \"A\"}, \"general\": "
					  "{\"validity\": {\"lifeCycleStatus\": %s}}}", cases[i].status);

		ob_kitos_batch_init(&b);
		EXPECT_EQ_INT(0, parse_str(&b, "l.json", json, NULL, &err));
		if (b.n_usages == 1) {
			EXPECT_EQ_STR(cases[i].lifecycle, b.usages[0].kitos_lifecycle);
			EXPECT_EQ_STR(cases[i].phase, b.usages[0].lifecycle_phase);
		} else
			OK(0);
		ob_kitos_batch_free(&b);
		free(json);
	}
}

DEF_TEST(unknown_enum_values)
{
	struct ob_kitos_batch b;
	struct ob_err err;

	ob_kitos_batch_init(&b);
	EXPECT_EQ_INT(0, parse_str(&b, "e.json",
				   "[{" U1 ", \"systemContext\": {\"name\": \"A\"},"
				   " \"general\": {\"hostedAt\": \"Cloud\"},"
				   " \"gdpr\": {\"riskAssessmentResult\": \"Maybe\", \"riskAssessmentConducted\": 9,"
				   "   \"dpiaConducted\": true, \"dataSensitivityLevels\": [\"PersonData\", \"Secret\"],"
				   "   \"riskAssessmentConductedDate\": \"2024-02-30\"}}]",
				   NULL, &err));
	EXPECT_EQ_INT(1, b.n_usages); /* still imported */
	EXPECT_EQ_STR("unknown value \"Maybe\" (expected Low, Medium, High or Undecided)",
		      warning_msg(&b, "gdpr.riskAssessmentResult"));
	EXPECT_EQ_STR("unknown value 9 (expected No, Yes, DontKnow, Undecided or Irrelevant, or 0 to 4)",
		      warning_msg(&b, "gdpr.riskAssessmentConducted"));
	EXPECT_CONTAINS("unknown value true", warning_msg(&b, "gdpr.dpiaConducted"));
	EXPECT_CONTAINS("unknown value \"Cloud\"", warning_msg(&b, "general.hostedAt"));
	EXPECT_CONTAINS("unknown value \"Secret\"", warning_msg(&b, "gdpr.dataSensitivityLevels[1]"));
	EXPECT_EQ_STR("malformed date \"2024-02-30\"", warning_msg(&b, "gdpr.riskAssessmentConductedDate"));
	if (b.n_usages == 1) {
		const struct ob_kitos_usage *u = &b.usages[0];
		EXPECT_EQ_STR(NULL, u->ra_result);
		EXPECT_EQ_STR(NULL, u->ra_conducted);
		EXPECT_EQ_STR(NULL, u->dpia_conducted);
		EXPECT_EQ_STR(NULL, u->operations_model);
		EXPECT_EQ_STR("ordinary", u->personal_data); /* PersonData is known */
		EXPECT_EQ_INT(-1, u->legal_data);	      /* the unknown one might have been */
		EXPECT_EQ_INT(OB_NO_DATE, u->ra_date);
	}
	if (b.n_warnings > 0) {
		EXPECT_EQ_STR("e.json", b.warnings[0].file);
		EXPECT_EQ_INT(0, b.warnings[0].index);
		EXPECT_EQ_STR("11111111-2222-3333-4444-555555555555", b.warnings[0].uuid);
	}
	ob_kitos_batch_free(&b);
}

DEF_TEST(uuid_and_name_required)
{
	struct ob_kitos_batch b;
	struct ob_err err;

	ob_kitos_batch_init(&b);
	EXPECT_EQ_INT(0, parse_str(&b, "u.json",
				   "[{\"systemContext\": {\"name\": \"No uuid\"}},"
				   " {\"uuid\": \"\", \"systemContext\": {\"name\": \"Empty\"}},"
				   " {\"uuid\": \"not-a-uuid\", \"name\": \"C\", \"agreementPeriod\": {}},"
				   " {" U1 ", \"systemContext\": {\"name\": \" \"}},"
				   " {" U1 ", \"systemContext\": {}, \"general\": {\"localCallName\": \"Local\"}},"
				   " {" U2 ", \"supplier\": null},"
				   " {" U2 ", \"foo\": 1},"
				   " {" U2 ", \"email\": \"a@b.dk\"}]",
				   NULL, &err));
	EXPECT_EQ_INT(1, b.n_usages);
	if (b.n_usages == 1) {
		EXPECT_EQ_STR("Local", b.usages[0].name); /* general.localCallName */
		EXPECT_EQ_INT(4, b.usages[0].index);
	}
	EXPECT_EQ_INT(3, b.skipped[OB_KITOS_USAGE]);
	EXPECT_EQ_INT(2, b.skipped[OB_KITOS_CONTRACT]);
	EXPECT_EQ_INT(0, b.n_contracts);
	EXPECT_EQ_INT(1, b.skipped[OB_KITOS_USER]);
	EXPECT_EQ_INT(1, b.skipped_unknown);
	EXPECT_EQ_INT(7, b.n_warnings);
	if (b.n_warnings == 7) {
		EXPECT_EQ_STR("uuid", b.warnings[0].field);
		EXPECT_EQ_STR("missing uuid; it-system-usage skipped", b.warnings[0].message);
		EXPECT_EQ_STR(NULL, b.warnings[0].uuid);
		EXPECT_EQ_INT(0, b.warnings[0].index);
		EXPECT_EQ_STR("uuid", b.warnings[1].field);
		EXPECT_EQ_INT(1, b.warnings[1].index);
		EXPECT_EQ_STR("uuid", b.warnings[2].field);
		EXPECT_EQ_STR("not a UUID: \"not-a-uuid\"; it-contract skipped", b.warnings[2].message);
		EXPECT_EQ_STR("systemContext.name", b.warnings[3].field);
		EXPECT_CONTAINS("it-system-usage skipped", b.warnings[3].message);
		EXPECT_EQ_STR("name", b.warnings[4].field);
		EXPECT_EQ_STR("no name; it-contract skipped", b.warnings[4].message);
		EXPECT_EQ_STR("", b.warnings[5].field);
		EXPECT_EQ_STR("object of unknown kind (not an it-system-usage, it-contract, "
			      "data-processing-registration or user)", b.warnings[5].message);
		EXPECT_EQ_STR("11111111-2222-3333-4444-666666666666", b.warnings[5].uuid);
		EXPECT_EQ_INT(6, b.warnings[5].index);
		EXPECT_EQ_STR("name", b.warnings[6].field);
	}
	ob_kitos_batch_free(&b);
}

static const char roles_usage[] =
	"{" U1 ", \"systemContext\": {\"name\": \"A\"}, \"roles\": ["
	" {\"user\": {\"uuid\": \"aaaaaaaa-0000-0000-0000-000000000001\", \"name\": \"Arkiv Person\"},"
	"  \"role\": {\"uuid\": \"2b66627d-93d7-4c2d-b84d-cbf1b704fa01\", \"name\": \"Arkivansvarlig\"}},"
	" {\"user\": {\"uuid\": \"aaaaaaaa-0000-0000-0000-000000000002\", \"name\": \"Ejer Et\"},"
	"  \"role\": {\"uuid\": \"2b66627d-93d7-4c2d-b84d-cbf1b704fa02\", \"name\": \" Systemejer \"}},"
	" {\"user\": {\"uuid\": \"aaaaaaaa-0000-0000-0000-000000000003\", \"name\": \"Ejer To\"},"
	"  \"role\": {\"uuid\": \"2b66627d-93d7-4c2d-b84d-cbf1b704fa02\", \"name\": \"SYSTEMEJER\"}},"
	" {\"user\": {\"uuid\": \"aaaaaaaa-0000-0000-0000-000000000004\", \"name\": \"Øvrig\"},"
	"  \"role\": {\"uuid\": \"2b66627d-93d7-4c2d-b84d-cbf1b704fa03\", \"name\": \"Økonomiansvarlig\"}}]}";

DEF_TEST(owner_role)
{
	struct ob_kitos_batch b;
	struct ob_err err;
	struct ob_kitos_opts opts = {"Arkivansvarlig"};

	/* default role, two holders: the first, and a warning */
	ob_kitos_batch_init(&b);
	EXPECT_EQ_INT(0, parse_str(&b, "r.json", roles_usage, NULL, &err));
	if (b.n_usages == 1) {
		EXPECT_EQ_STR("aaaaaaaa-0000-0000-0000-000000000002", b.usages[0].owner_uuid);
		EXPECT_EQ_STR("Ejer Et", b.usages[0].owner_name);
	} else
		OK(0);
	EXPECT_EQ_INT(1, b.n_warnings);
	EXPECT_EQ_STR("2 roles are \"Systemejer\"; using the first, Ejer Et", warning_msg(&b, "roles"));
	ob_kitos_batch_free(&b);

	/* a configured role, matched case-insensitively and trimmed */
	ob_kitos_batch_init(&b);
	opts.owner_role = "  arkivANSVARLIG ";
	EXPECT_EQ_INT(0, parse_str(&b, "r.json", roles_usage, &opts, &err));
	if (b.n_usages == 1)
		EXPECT_EQ_STR("Arkiv Person", b.usages[0].owner_name);
	EXPECT_EQ_INT(0, b.n_warnings);
	ob_kitos_batch_free(&b);

	/* Danish letters fold too */
	ob_kitos_batch_init(&b);
	opts.owner_role = "ØKONOMIANSVARLIG";
	EXPECT_EQ_INT(0, parse_str(&b, "r.json", roles_usage, &opts, &err));
	if (b.n_usages == 1)
		EXPECT_EQ_STR("Øvrig", b.usages[0].owner_name);
	ob_kitos_batch_free(&b);

	/* no holder: no owner and no warning (the database import reports it) */
	ob_kitos_batch_init(&b);
	opts.owner_role = "Forretningsejer";
	EXPECT_EQ_INT(0, parse_str(&b, "r.json", roles_usage, &opts, &err));
	if (b.n_usages == 1) {
		EXPECT_EQ_STR(NULL, b.usages[0].owner_uuid);
		EXPECT_EQ_STR(NULL, b.usages[0].owner_name);
	}
	EXPECT_EQ_INT(0, b.n_warnings);
	ob_kitos_batch_free(&b);
}

DEF_TEST(users)
{
	struct ob_kitos_batch b;
	struct ob_err err;

	ob_kitos_batch_init(&b);
	EXPECT_EQ_INT(0, parse_str(&b, "users.json",
				   "[{\"uuid\": \"aaaaaaaa-0000-0000-0000-000000000001\", \"firstName\": \" Anne \","
				   "  \"lastName\": \"Berg\", \"email\": \" anne@kommune.dk \"},"
				   " {\"uuid\": \"aaaaaaaa-0000-0000-0000-000000000002\", \"firstName\": \"Bo\","
				   "  \"lastName\": \"\", \"email\": \"\"},"
				   " {\"uuid\": \"aaaaaaaa-0000-0000-0000-000000000003\", \"name\": \"Carl Dam\","
				   "  \"email\": \"carl.kommune.dk\"},"
				   " {\"uuid\": \"aaaaaaaa-0000-0000-0000-000000000004\", \"lastName\": \"Eske\"}]",
				   NULL, &err));
	EXPECT_EQ_INT(4, b.n_users);
	if (b.n_users == 4) {
		EXPECT_EQ_STR("Anne Berg", b.users[0].name);
		EXPECT_EQ_STR("anne@kommune.dk", b.users[0].email);
		EXPECT_EQ_STR("Bo", b.users[1].name);
		EXPECT_EQ_STR(NULL, b.users[1].email);
		EXPECT_EQ_STR("Carl Dam", b.users[2].name);
		EXPECT_EQ_STR(NULL, b.users[2].email);
		EXPECT_EQ_STR("Eske", b.users[3].name);
		EXPECT_EQ_STR(NULL, b.users[3].email);
		EXPECT_EQ_STR(NULL, b.users[0].org.uuid); /* no organizationContext: fine */
	}
	EXPECT_EQ_INT(1, b.n_warnings);
	EXPECT_EQ_STR("not an e-mail address: \"carl.kommune.dk\"", warning_msg(&b, "email"));
	ob_kitos_batch_free(&b);
}

static struct ob_kitos_contract *one_contract(struct ob_kitos_batch *b, const char *fields)
{
	struct ob_err err;
	char *json = ob_xasprintf("{" U1 ", \"name\": \"K\", %s}", fields);
	int rc = parse_str(b, "k.json", json, NULL, &err);

	free(json);
	if (rc != 0 || b->n_contracts != 1) {
		printf("# %s\n", rc ? err.msg : "no contract");
		return NULL;
	}
	return &b->contracts[0];
}

DEF_TEST(contract_terms)
{
	static const struct {
		const char *by;
		const char *want;
	} by_end_of[] = {
		{"\"EndOfMonth\"", "month"}, {"\"endofquarter\"", "quarter"}, {"\"EndOfCalendarYear\"", "year"},
		{"0", "year"},		      {"1", "quarter"},		       {"2", "month"},
		{"null", NULL},
	};
	static const struct {
		const char *name;
		int months;
	} months[] = {{"\"3\"", 3}, {"\" 12 \"", 12}, {"\"0\"", 0}, {"null", -1}};
	static const struct {
		const char *text;
		int total;
	} ext[] = {{"2 x 1 år", 2}, {"1 x ½ år", 1}, {" 10 x 6 mdr", 10}, {"Ingen", -1}};
	struct ob_kitos_batch b;
	struct ob_kitos_contract *k;

	for (size_t i = 0; i < OB_ARRAY_LEN(by_end_of); i++) {
		char *f = ob_xasprintf("\"termination\": {\"terms\": {\"noticeByEndOf\": %s}}", by_end_of[i].by);
		ob_kitos_batch_init(&b);
		if ((k = one_contract(&b, f)) != NULL)
			EXPECT_EQ_STR(by_end_of[i].want, k->notice_by_end_of);
		else
			OK(0);
		EXPECT_EQ_INT(0, b.n_warnings);
		ob_kitos_batch_free(&b);
		free(f);
	}
	ob_kitos_batch_init(&b);
	if ((k = one_contract(&b, "\"termination\": {\"terms\": {\"noticeByEndOf\": 3}}")) != NULL)
		EXPECT_EQ_STR(NULL, k->notice_by_end_of);
	EXPECT_CONTAINS("unknown value 3 (expected EndOfCalendarYear, EndOfQuarter or EndOfMonth",
			warning_msg(&b, "termination.terms.noticeByEndOf"));
	ob_kitos_batch_free(&b);

	for (size_t i = 0; i < OB_ARRAY_LEN(months); i++) {
		char *f = ob_xasprintf("\"termination\": {\"terms\": {\"noticePeriodMonths\": "
				       "{\"uuid\": \"6945b687-7a13-4c23-a768-019ed6027d0f\", \"name\": %s}}}",
				       months[i].name);
		ob_kitos_batch_init(&b);
		if ((k = one_contract(&b, f)) != NULL)
			EXPECT_EQ_INT(months[i].months, k->notice_months);
		else
			OK(0);
		EXPECT_EQ_INT(0, b.n_warnings);
		ob_kitos_batch_free(&b);
		free(f);
	}
	ob_kitos_batch_init(&b);
	if ((k = one_contract(&b, "\"termination\": {\"terms\": {\"noticePeriodMonths\": {\"name\": \"tre\"}}}")) !=
	    NULL)
		EXPECT_EQ_INT(-1, k->notice_months);
	EXPECT_EQ_STR("not a whole number of months: \"tre\"",
		      warning_msg(&b, "termination.terms.noticePeriodMonths.name"));
	ob_kitos_batch_free(&b);

	for (size_t i = 0; i < OB_ARRAY_LEN(ext); i++) {
		char *f = ob_xasprintf("\"agreementPeriod\": {\"extensionOptions\": {\"name\": \"%s\"}}", ext[i].text);
		ob_kitos_batch_init(&b);
		if ((k = one_contract(&b, f)) != NULL) {
			EXPECT_EQ_INT(ext[i].total, k->extension_total);
			EXPECT_CONTAINS(ext[i].text + (ext[i].text[0] == ' '), k->extension_options);
		} else
			OK(0);
		ob_kitos_batch_free(&b);
		free(f);
	}

	ob_kitos_batch_init(&b);
	if ((k = one_contract(&b, "\"agreementPeriod\": {\"isContinuous\": true, \"irrevocableUntil\": "
				  "\"2026-12-31T00:00:00Z\"}, \"general\": {\"validity\": {\"validFrom\": "
				  "\"2020-01-01T00:00:00Z\", \"validTo\": null, \"enforcedValid\": false}}")) != NULL) {
		EXPECT_EQ_INT(1, k->continuous);
		EXPECT_EQ_INT(day(2026, 12, 31), k->irrevocable_until);
		EXPECT_EQ_INT(day(2020, 1, 1), k->start_date);
		EXPECT_EQ_INT(OB_NO_DATE, k->end_date);
		EXPECT_EQ_INT(0, k->enforced_valid);
		EXPECT_EQ_INT(-1, k->extensions_used);
	} else
		OK(0);
	ob_kitos_batch_free(&b);

	ob_kitos_batch_init(&b);
	if ((k = one_contract(&b, "\"agreementPeriod\": {\"isContinuous\": false}")) != NULL) {
		EXPECT_EQ_INT(0, k->continuous);
		EXPECT_EQ_INT(-1, k->enforced_valid);
		EXPECT_EQ_INT(-1, k->notice_months);
	} else
		OK(0);
	ob_kitos_batch_free(&b);
}

DEF_TEST(links)
{
	struct ob_kitos_batch b;
	struct ob_err err;

	ob_kitos_batch_init(&b);
	EXPECT_EQ_INT(0, parse_str(&b, "links.json",
				   "[{" U1 ", \"name\": \"D\", \"oversight\": {\"oversightScheduledInspectionDate\":"
				   "   \"2026-02-01T00:00:00Z\"},"
				   " \"general\": {\"isAgreementConcluded\": 1, \"transferToInsecureThirdCountries\": 2,"
				   "   \"agreementConcludedAt\": \"0001-01-01T00:00:00Z\","
				   "   \"dataProcessors\": [{\"name\": \"Leverandør A/S\"}, {\"name\": \"KMD\"}],"
				   "   \"mainContract\": {\"uuid\": \"cccccccc-0000-0000-0000-000000000001\"},"
				   "   \"associatedContracts\": [{\"uuid\": \"cccccccc-0000-0000-0000-000000000002\"},"
				   "     {\"uuid\": \"cccccccc-0000-0000-0000-000000000001\"}, {\"uuid\": \"nope\"}]},"
				   " \"systemUsages\": [{\"uuid\": \"bbbbbbbb-0000-0000-0000-000000000001\"}]},"
				   " {" U2 ", \"systemContext\": {\"name\": \"S\"}, \"dataProcessingRegistrations\":"
				   "   [{\"uuid\": \"dddddddd-0000-0000-0000-000000000001\", \"name\": \"D\"}]}]",
				   NULL, &err));
	EXPECT_EQ_INT(1, b.n_dprs);
	EXPECT_EQ_INT(1, b.n_usages);
	if (b.n_dprs == 1) {
		const struct ob_kitos_dpr *d = &b.dprs[0];
		EXPECT_EQ_STR("yes", d->agreement_concluded);
		EXPECT_EQ_STR("undecided", d->third_country);
		EXPECT_EQ_INT(OB_NO_DATE, d->concluded_on);
		EXPECT_EQ_INT(day(2026, 2, 1), d->oversight_next);
		EXPECT_EQ_INT(-1, d->valid);
		EXPECT_EQ_STR("Leverandør A/S; KMD", d->processors);
		EXPECT_EQ_INT(1, d->n_usage_uuids);
		EXPECT_EQ_INT(2, d->n_contract_uuids); /* main + associated, deduplicated */
		if (d->n_contract_uuids == 2) {
			EXPECT_EQ_STR("cccccccc-0000-0000-0000-000000000001", d->contract_uuids[0]);
			EXPECT_EQ_STR("cccccccc-0000-0000-0000-000000000002", d->contract_uuids[1]);
		}
	}
	EXPECT_EQ_STR("not a UUID: \"nope\"", warning_msg(&b, "general.associatedContracts[2].uuid"));
	if (b.n_usages == 1) {
		EXPECT_EQ_INT(1, b.usages[0].n_dpr_uuids);
		if (b.usages[0].n_dpr_uuids == 1)
			EXPECT_EQ_STR("dddddddd-0000-0000-0000-000000000001", b.usages[0].dpr_uuids[0]);
	}
	ob_kitos_batch_free(&b);

	/* bare uuid strings are references too; a contract id may be a number */
	ob_kitos_batch_init(&b);
	EXPECT_EQ_INT(0, parse_str(&b, "k.json",
				   "{" U1 ", \"name\": \"K\", \"general\": {\"contractId\": 4711},"
				   " \"systemUsages\": [\"bbbbbbbb-0000-0000-0000-000000000001\", 5,"
				   "   {\"uuid\": \"bbbbbbbb-0000-0000-0000-000000000001\"}]}",
				   NULL, &err));
	if (b.n_contracts == 1) {
		EXPECT_EQ_STR("4711", b.contracts[0].contract_number);
		EXPECT_EQ_INT(1, b.contracts[0].n_usage_uuids);
	} else
		OK(0);
	EXPECT_EQ_STR("not a UUID: 5", warning_msg(&b, "systemUsages[1].uuid"));
	ob_kitos_batch_free(&b);
}

/* -------------------------------------------------------- strings in columns */

#define UNIT "\"uuid\": \"5e0d8f2c-1111-4a4a-9b9b-000000000001\""
#define ORGU "\"uuid\": \"0b1c3a52-6f0e-4e8e-9d6a-3c3f5b8a0001\""
#define UUID1 "11111111-2222-3333-4444-555555555555"

/* The record of kind with uuid UUID1, or NULL. */
static const void *record_u1(const struct ob_kitos_batch *b, enum ob_kitos_kind kind)
{
	for (size_t i = 0; kind == OB_KITOS_USAGE && i < b->n_usages; i++)
		if (strcmp(b->usages[i].uuid, UUID1) == 0)
			return &b->usages[i];
	for (size_t i = 0; kind == OB_KITOS_CONTRACT && i < b->n_contracts; i++)
		if (strcmp(b->contracts[i].uuid, UUID1) == 0)
			return &b->contracts[i];
	for (size_t i = 0; kind == OB_KITOS_DPR && i < b->n_dprs; i++)
		if (strcmp(b->dprs[i].uuid, UUID1) == 0)
			return &b->dprs[i];
	for (size_t i = 0; kind == OB_KITOS_USER && i < b->n_users; i++)
		if (strcmp(b->users[i].uuid, UUID1) == 0)
			return &b->users[i];
	return NULL;
}

#define GETTER(fn, type, kind, expr)                                                     \
	static const char *fn(const struct ob_kitos_batch *b)                            \
	{                                                                                \
		const type *r = record_u1(b, kind);                                      \
		return r ? (expr) : NULL;                                                \
	}
GETTER(u_name, struct ob_kitos_usage, OB_KITOS_USAGE, r->name)
GETTER(u_local_name, struct ob_kitos_usage, OB_KITOS_USAGE, r->local_name)
GETTER(u_org_name, struct ob_kitos_usage, OB_KITOS_USAGE, r->org.name)
GETTER(u_org_cvr, struct ob_kitos_usage, OB_KITOS_USAGE, r->org.cvr)
GETTER(u_owner_name, struct ob_kitos_usage, OB_KITOS_USAGE, r->owner_name)
GETTER(u_dept_name, struct ob_kitos_usage, OB_KITOS_USAGE, r->department_name)
GETTER(k_name, struct ob_kitos_contract, OB_KITOS_CONTRACT, r->name)
GETTER(k_number, struct ob_kitos_contract, OB_KITOS_CONTRACT, r->contract_number)
GETTER(k_supplier, struct ob_kitos_contract, OB_KITOS_CONTRACT, r->supplier)
GETTER(k_supplier_cvr, struct ob_kitos_contract, OB_KITOS_CONTRACT, r->supplier_cvr)
GETTER(k_unit_name, struct ob_kitos_contract, OB_KITOS_CONTRACT, r->responsible_unit_name)
GETTER(k_extension, struct ob_kitos_contract, OB_KITOS_CONTRACT, r->extension_options)
GETTER(k_org_name, struct ob_kitos_contract, OB_KITOS_CONTRACT, r->org.name)
GETTER(d_name, struct ob_kitos_dpr, OB_KITOS_DPR, r->name)
GETTER(d_processors, struct ob_kitos_dpr, OB_KITOS_DPR, r->processors)
GETTER(d_org_name, struct ob_kitos_dpr, OB_KITOS_DPR, r->org.name)
GETTER(p_name, struct ob_kitos_user, OB_KITOS_USER, r->name)
GETTER(p_org_name, struct ob_kitos_user, OB_KITOS_USER, r->org.name)

/* Every string a KITOS object carries: stored ones with their column's
 * width (the value is cut), read ones with 0 (a value that is not one of
 * the expected ones is warned about anyway; here only NUL and bytes that
 * are not UTF-8 matter: they skip the object). */
static const struct field_case {
	enum ob_kitos_kind kind;
	const char *fmt;       /* the object, %s where the JSON string goes */
	const char *field;     /* the warning's field */
	const char *bad_field; /* the field named for NUL or bad UTF-8, if not field */
	size_t max;
	int digits;            /* long values are digits (an ASCII column) */
	const char *(*get)(const struct ob_kitos_batch *);
	const char *before, *after; /* around the value in what is stored */
} field_cases[] = {
	{OB_KITOS_USAGE, "{" U1 ", \"systemContext\": {\"name\": %s}}", "systemContext.name", NULL,
	 OB_KITOS_NAME_MAX, 0, u_name, NULL, NULL},
	{OB_KITOS_USAGE, "{" U1 ", \"systemContext\": {\"name\": \"A\"}, \"general\": {\"localCallName\": %s}}",
	 "general.localCallName", NULL, OB_KITOS_NAME_MAX, 0, u_local_name, NULL, NULL},
	{OB_KITOS_USAGE, "{" U1 ", \"systemContext\": {\"name\": \"A\"}, \"organizationContext\": {" ORGU
			 ", \"name\": %s}}", "organizationContext.name", NULL, OB_KITOS_NAME_MAX, 0, u_org_name, NULL, NULL},
	{OB_KITOS_USAGE, "{" U1 ", \"systemContext\": {\"name\": \"A\"}, \"organizationContext\": {" ORGU
			 ", \"cvr\": %s}}", "organizationContext.cvr", NULL, OB_KITOS_CVR_MAX, 1, u_org_cvr, NULL, NULL},
	{OB_KITOS_USAGE, "{" U1 ", \"systemContext\": {\"name\": \"A\"}, \"roles\": [{\"user\": {\"uuid\": "
			 "\"aaaaaaaa-0000-0000-0000-000000000001\", \"name\": %s}, \"role\": {\"name\": \"Systemejer\"}}]}",
	 "roles.user.name", NULL, OB_KITOS_NAME_MAX, 0, u_owner_name, NULL, NULL},
	{OB_KITOS_USAGE, "{" U1 ", \"systemContext\": {\"name\": \"A\"}, \"organizationUsage\": "
			 "{\"responsibleOrganizationUnit\": {" UNIT ", \"name\": %s}}}",
	 "organizationUsage.responsibleOrganizationUnit.name", NULL, OB_KITOS_NAME_MAX, 0, u_dept_name, NULL, NULL},
	{OB_KITOS_CONTRACT, "{" U1 ", \"agreementPeriod\": {}, \"name\": %s}", "name", NULL, OB_KITOS_NAME_MAX, 0,
	 k_name, NULL, NULL},
	{OB_KITOS_CONTRACT, "{" U1 ", \"name\": \"K\", \"general\": {\"contractId\": %s}}", "general.contractId", NULL,
	 OB_KITOS_CONTRACT_NUMBER_MAX, 0, k_number, NULL, NULL},
	{OB_KITOS_CONTRACT, "{" U1 ", \"name\": \"K\", \"supplier\": {\"organization\": {\"name\": %s}}}",
	 "supplier.organization.name", NULL, OB_KITOS_NAME_MAX, 0, k_supplier, NULL, NULL},
	{OB_KITOS_CONTRACT, "{" U1 ", \"name\": \"K\", \"supplier\": {\"organization\": {\"cvr\": %s}}}",
	 "supplier.organization.cvr", NULL, OB_KITOS_CVR_MAX, 0, k_supplier_cvr, NULL, NULL},
	{OB_KITOS_CONTRACT, "{" U1 ", \"name\": \"K\", \"agreementPeriod\": {}, \"responsible\": "
			    "{\"organizationUnit\": {" UNIT ", \"name\": %s}}}",
	 "responsible.organizationUnit.name", NULL, OB_KITOS_NAME_MAX, 0, k_unit_name, NULL, NULL},
	{OB_KITOS_CONTRACT, "{" U1 ", \"name\": \"K\", \"agreementPeriod\": {\"extensionOptions\": {\"name\": %s}}}",
	 "agreementPeriod.extensionOptions.name", NULL, OB_KITOS_EXTENSION_MAX, 0, k_extension, NULL, NULL},
	{OB_KITOS_CONTRACT, "{" U1 ", \"name\": \"K\", \"agreementPeriod\": {}, \"organizationContext\": {" ORGU
			    ", \"name\": %s}}", "organizationContext.name", NULL, OB_KITOS_NAME_MAX, 0, k_org_name, NULL, NULL},
	{OB_KITOS_DPR, "{" U1 ", \"oversight\": {}, \"name\": %s}", "name", NULL, OB_KITOS_NAME_MAX, 0, d_name, NULL, NULL},
	{OB_KITOS_DPR, "{" U1 ", \"name\": \"D\", \"general\": {\"dataProcessors\": [{\"name\": \"KMD\"}, {\"name\": %s}]}}",
	 "general.dataProcessors", "general.dataProcessors[1].name", OB_KITOS_PROCESSORS_MAX, 0, d_processors,
	 "KMD; ", ""},
	{OB_KITOS_DPR, "{" U1 ", \"name\": \"D\", \"oversight\": {}, \"organizationContext\": {" ORGU ", \"name\": %s}}",
	 "organizationContext.name", NULL, OB_KITOS_NAME_MAX, 0, d_org_name, NULL, NULL},
	{OB_KITOS_USER, "{" U1 ", \"email\": \"a@b.dk\", \"name\": %s}", "name", NULL, OB_KITOS_NAME_MAX, 0, p_name,
	 NULL, NULL},
	{OB_KITOS_USER, "{" U1 ", \"firstName\": %s}", "firstName", NULL, OB_KITOS_NAME_MAX, 0, p_name, NULL, NULL},
	{OB_KITOS_USER, "{" U1 ", \"firstName\": %s, \"lastName\": \"Berg\"}", "firstName, lastName", "firstName",
	 OB_KITOS_NAME_MAX, 0, p_name, "", " Berg"},
	{OB_KITOS_USER, "{" U1 ", \"firstName\": \"Anne\", \"lastName\": %s}", "firstName, lastName", "lastName",
	 OB_KITOS_NAME_MAX, 0, p_name, "Anne ", ""},
	{OB_KITOS_USER, "{" U1 ", \"firstName\": \"A\", \"organizationContext\": {" ORGU ", \"name\": %s}}",
	 "organizationContext.name", NULL, OB_KITOS_NAME_MAX, 0, p_org_name, NULL, NULL},
	/* read, not stored as given */
	{OB_KITOS_USER, "{" U1 ", \"firstName\": \"A\", \"email\": %s}", "email", NULL, 0, 0, NULL, NULL, NULL},
	{OB_KITOS_USAGE, "{\"uuid\": %s, \"systemContext\": {\"name\": \"A\"}}", "uuid", NULL, 0, 0, NULL, NULL, NULL},
	{OB_KITOS_USAGE, "{" U1 ", \"systemContext\": {\"name\": \"A\"}, \"organizationContext\": {\"uuid\": %s}}",
	 "organizationContext.uuid", NULL, 0, 0, NULL, NULL, NULL},
	{OB_KITOS_USAGE, "{" U1 ", \"systemContext\": {\"name\": \"A\"}, \"gdpr\": {\"riskAssessmentResult\": %s}}",
	 "gdpr.riskAssessmentResult", NULL, 0, 0, NULL, NULL, NULL},
	{OB_KITOS_USAGE, "{" U1 ", \"systemContext\": {\"name\": \"A\"}, \"gdpr\": {\"dataSensitivityLevels\": [%s]}}",
	 "gdpr.dataSensitivityLevels[0]", NULL, 0, 0, NULL, NULL, NULL},
	{OB_KITOS_USAGE, "{" U1 ", \"systemContext\": {\"name\": \"A\"}, \"gdpr\": {\"dpiaDate\": %s}}", "gdpr.dpiaDate",
	 NULL, 0, 0, NULL, NULL, NULL},
	{OB_KITOS_USAGE, "{" U1 ", \"systemContext\": {\"name\": \"A\"}, \"general\": {\"validity\": "
			 "{\"lifeCycleStatus\": %s}}}", "general.validity.lifeCycleStatus", NULL, 0, 0, NULL, NULL, NULL},
	{OB_KITOS_USAGE, "{" U1 ", \"systemContext\": {\"name\": \"A\"}, \"general\": {\"mainContract\": {\"uuid\": %s}}}",
	 "general.mainContract.uuid", NULL, 0, 0, NULL, NULL, NULL},
	{OB_KITOS_USAGE, "{" U1 ", \"systemContext\": {\"name\": \"A\"}, \"roles\": [{\"role\": {\"name\": %s}}]}",
	 "roles[0].role.name", NULL, 0, 0, NULL, NULL, NULL},
	{OB_KITOS_USAGE, "{" U1 ", \"systemContext\": {\"name\": \"A\"}, \"dataProcessingRegistrations\": "
			 "[{\"uuid\": %s}]}", "dataProcessingRegistrations[0].uuid", NULL, 0, 0, NULL, NULL, NULL},
	{OB_KITOS_CONTRACT, "{" U1 ", \"name\": \"K\", \"termination\": {\"terms\": {\"noticePeriodMonths\": "
			    "{\"name\": %s}}}}", "termination.terms.noticePeriodMonths.name", NULL, 0, 0, NULL, NULL, NULL},
	{OB_KITOS_CONTRACT, "{" U1 ", \"name\": \"K\", \"general\": {\"validity\": {\"validTo\": %s}}, "
			    "\"agreementPeriod\": {}}", "general.validity.validTo", NULL, 0, 0, NULL, NULL, NULL},
	{OB_KITOS_CONTRACT, "{" U1 ", \"name\": \"K\", \"agreementPeriod\": {}, \"systemUsages\": [{\"uuid\": %s}]}",
	 "systemUsages[0].uuid", NULL, 0, 0, NULL, NULL, NULL},
	{OB_KITOS_DPR, "{" U1 ", \"name\": \"D\", \"general\": {\"isAgreementConcluded\": %s}}",
	 "general.isAgreementConcluded", NULL, 0, 0, NULL, NULL, NULL},
};

/* A value of n characters (a letter, an emoji and "ø" over and over, or
 * digits), as the JSON string's contents. */
static char *long_value(size_t n, int digits)
{
	static const char *const units[] = {"a", "\xF0\x9F\x98\x80", "\xC3\xB8"};
	struct ob_buf b;

	ob_buf_init(&b, 0);
	for (size_t i = 0; i < n; i++)
		ob_buf_adds(&b, digits ? (i % 2 ? "1" : "2") : units[i % 3]);
	return ob_buf_steal(&b);
}

static const struct ob_kitos_warning *warning_at(const struct ob_kitos_batch *b, const char *field, long index)
{
	for (size_t i = 0; i < b->n_warnings; i++)
		if (strcmp(b->warnings[i].field, field) == 0 && b->warnings[i].index == index)
			return &b->warnings[i];
	return NULL;
}

static size_t n_of(const struct ob_kitos_batch *b, enum ob_kitos_kind kind)
{
	return kind == OB_KITOS_USAGE ? b->n_usages : kind == OB_KITOS_CONTRACT ? b->n_contracts
		: kind == OB_KITOS_DPR ? b->n_dprs : b->n_users;
}

/* The object with the value, then a good usage: the file parses, the good
 * usage is there. */
static int parse_case(struct ob_kitos_batch *b, const struct field_case *fc, const char *value, struct ob_err *err)
{
	const char *at = strstr(fc->fmt, "%s");
	char *obj = ob_xasprintf("%.*s%s%s", (int)(at - fc->fmt), fc->fmt, value, at + 2);
	char *json = ob_xasprintf("[%s,\n {" U2 ", \"systemContext\": {\"name\": \"Good\"}}]", obj);
	int rc, good = 0;

	ob_kitos_batch_init(b);
	rc = parse_str(b, "f.json", json, NULL, err);
	for (size_t i = 0; i < b->n_usages; i++)
		good |= strcmp(b->usages[i].name, "Good") == 0 && b->usages[i].index == 1;
	TAP_RESULT(rc == 0 && good, "%s: the file parses, the next object too (%s)", fc->field, rc ? err->msg : "");
	free(obj);
	free(json);
	return rc;
}

DEF_TEST(long_strings_cut_to_their_column)
{
	static const size_t lengths[] = {333, 10000};

	for (size_t i = 0; i < OB_ARRAY_LEN(field_cases); i++) {
		const struct field_case *fc = &field_cases[i];
		if (fc->max == 0)
			continue;
		for (size_t l = 0; l < OB_ARRAY_LEN(lengths); l++) {
			struct ob_kitos_batch b;
			struct ob_err err;
			char *v = long_value(lengths[l], fc->digits), *q = ob_xasprintf("\"%s\"", v), *stored;
			const struct ob_kitos_warning *w;
			const char *got;
			char want_msg[64];
			size_t chars, want_chars;

			parse_case(&b, fc, q, &err);
			stored = ob_xasprintf("%s%s%s", fc->before ? fc->before : "", v, fc->after ? fc->after : "");
			free(v);
			v = stored;
			chars = ob_utf8_len(v);
			want_chars = chars < fc->max ? chars : fc->max;
			got = fc->get(&b);
			/* what was stored: the first max characters */
			ob_utf8_fit(v, want_chars);
			TAP_RESULT(got && strcmp(got, v) == 0 && ob_utf8_len(got) == want_chars,
				   "%s: %zu characters stored as %zu (got %zu)", fc->field, chars, want_chars,
				   got ? ob_utf8_len(got) : 0);
			w = warning_at(&b, fc->field, 0);
			if (chars > fc->max) {
				snprintf(want_msg, sizeof(want_msg), "%zu characters, cut to %zu", chars, fc->max);
				TAP_RESULT(w && strcmp(w->message, want_msg) == 0 && w->uuid &&
						   strcmp(w->uuid, UUID1) == 0 && strcmp(w->file, "f.json") == 0,
					   "%s: warning f.json[0] " UUID1 " %s: %s (got %s)", fc->field, fc->field,
					   want_msg, w ? w->message : "none");
			} else
				TAP_RESULT(w == NULL, "%s: %zu characters fit, no warning", fc->field, chars);
			ob_kitos_batch_free(&b);
			free(v);
			free(q);
		}
	}
}

DEF_TEST(nul_and_bad_utf8_skip_the_object)
{
	static const struct {
		const char *value, *message;
	} values[] = {
		{"\"nul\\u0000byte\"", "contains NUL (\\u0000); "},
		{"\"\\u0000\"", "contains NUL (\\u0000); "},
		{"\"bad\xFF\xFEvalue\"", "not valid UTF-8 (byte 0xFF at byte 3); "},
		{"\"cut \xC3\"", "not valid UTF-8 (byte 0xC3 at byte 4); "},
		{"\"overlong \xC0\xAF\"", "not valid UTF-8 (byte 0xC0 at byte 9); "},
		{"\"surrogate \xED\xA0\x80\"", "not valid UTF-8 (byte 0xED at byte 10); "},
	};
	static const char *const kinds[] = {"it-system-usage", "it-contract", "data-processing-registration", "user"};

	for (size_t i = 0; i < OB_ARRAY_LEN(field_cases); i++) {
		const struct field_case *fc = &field_cases[i];
		const char *field = fc->bad_field ? fc->bad_field : fc->field;
		for (size_t k = 0; k < OB_ARRAY_LEN(values); k++) {
			struct ob_kitos_batch b;
			struct ob_err err;
			const struct ob_kitos_warning *w;
			char want[160];
			int uuid_field = strcmp(fc->field, "uuid") == 0;

			char *shown = ob_kitos_printable(values[k].value, strlen(values[k].value));
			parse_case(&b, fc, values[k].value, &err);
			snprintf(want, sizeof(want), "%s%s skipped", values[k].message, kinds[fc->kind]);
			w = warning_at(&b, field, 0);
			TAP_RESULT(w && strcmp(w->message, want) == 0 && strcmp(w->file, "f.json") == 0 &&
					   (uuid_field ? w->uuid == NULL : w->uuid && strcmp(w->uuid, UUID1) == 0),
				   "%s = %s: warning f.json[0] %s %s: %s (got %s)", field, shown,
				   uuid_field ? "(no uuid)" : UUID1, field, want, w ? w->message : "none");
			TAP_RESULT(record_u1(&b, fc->kind) == NULL && b.skipped[fc->kind] == 1 &&
					   n_of(&b, OB_KITOS_USAGE) == 1,
				   "%s = %s: that %s is skipped, counted once", field, shown, kinds[fc->kind]);
			ob_kitos_batch_free(&b);
			free(shown);
		}
	}
}

DEF_TEST(cvr_and_email_that_cannot_be_stored)
{
	struct ob_kitos_batch b;
	struct ob_err err;
	char *v = long_value(321, 0), *json;

	/* organisations.cvr is ASCII: a CVR with other letters is left out */
	ob_kitos_batch_init(&b);
	EXPECT_EQ_INT(0, parse_str(&b, "c.json", "[{" U1 ", \"systemContext\": {\"name\": \"A\"}, "
					 "\"organizationContext\": {" ORGU ", \"cvr\": \"2918958Ø\", \"name\": \"K\"}}]",
				   NULL, &err));
	EXPECT_EQ_INT(1, b.n_usages);
	if (b.n_usages == 1) {
		EXPECT_EQ_STR(NULL, b.usages[0].org.cvr);
		EXPECT_EQ_STR("K", b.usages[0].org.name);
	}
	EXPECT_EQ_STR("not a CVR number: \"2918958Ø\"; left out", warning_msg(&b, "organizationContext.cvr"));
	ob_kitos_batch_free(&b);

	/* an address is not cut: that would be somebody else's */
	json = ob_xasprintf("[{" U1 ", \"firstName\": \"A\", \"email\": \"%s@x.dk\"}]", v);
	ob_kitos_batch_init(&b);
	EXPECT_EQ_INT(0, parse_str(&b, "e.json", json, NULL, &err));
	EXPECT_EQ_INT(1, b.n_users);
	if (b.n_users == 1)
		EXPECT_EQ_STR(NULL, b.users[0].email);
	EXPECT_EQ_STR("not an e-mail address: 326 characters, more than 320; left out", warning_msg(&b, "email"));
	ob_kitos_batch_free(&b);
	free(json);
	free(v);
}

/* Escaped control characters would reach PDFs, mails and terminals. */
DEF_TEST(control_characters_become_spaces)
{
	struct ob_kitos_batch b;
	struct ob_err err;

	ob_kitos_batch_init(&b);
	EXPECT_EQ_INT(0, parse_str(&b, "cc.json", "[{" U1 ", \"systemContext\": {\"name\": \"Cura\\u001b[31m\\nrød\"}}]",
				   NULL, &err));
	EXPECT_EQ_INT(1, b.n_usages);
	if (b.n_usages == 1)
		EXPECT_EQ_STR("Cura [31m rød", b.usages[0].name);
	EXPECT_EQ_STR("2 control characters replaced by spaces", warning_msg(&b, "systemContext.name"));
	ob_kitos_batch_free(&b);
}

/* The widths in kitos.h are the schema's (core/sql/001_portfolio.sql). */
DEF_TEST(column_widths_match_the_schema)
{
	static const struct {
		const char *table, *column;
		int width;
	} cols[] = {
		{"organisations", "name", OB_KITOS_NAME_MAX},	  {"organisations", "cvr", OB_KITOS_CVR_MAX},
		{"org_units", "name", OB_KITOS_NAME_MAX},	  {"people", "name", OB_KITOS_NAME_MAX},
		{"people", "email", OB_KITOS_EMAIL_MAX},	  {"systems", "name", OB_KITOS_NAME_MAX},
		{"systems", "local_name", OB_KITOS_NAME_MAX},	  {"systems", "owner_name", OB_KITOS_NAME_MAX},
		{"systems", "supplier", OB_KITOS_NAME_MAX},	  {"contracts", "name", OB_KITOS_NAME_MAX},
		{"contracts", "contract_number", OB_KITOS_CONTRACT_NUMBER_MAX},
		{"contracts", "supplier", OB_KITOS_NAME_MAX},	  {"contracts", "supplier_cvr", OB_KITOS_CVR_MAX},
		{"contracts", "extension_options", OB_KITOS_EXTENSION_MAX},
		{"data_processing", "name", OB_KITOS_NAME_MAX}, {"data_processing", "processors", OB_KITOS_PROCESSORS_MAX},
	};
	const char *top = getenv("OB_TOP_SRCDIR");
	char *path = ob_path_join(top && *top ? top : ".", "core/sql/001_portfolio.sql"), *sql;
	size_t len;

	if (ob_read_file(path, &sql, &len) < 0) {
		TAP_RESULT(0, "cannot read %s", path);
		free(path);
		return;
	}
	for (size_t i = 0; i < OB_ARRAY_LEN(cols); i++) {
		char head[80], col[80];
		const char *t, *c, *end;
		int width = -1;
		snprintf(head, sizeof(head), "CREATE TABLE %s (", cols[i].table);
		snprintf(col, sizeof(col), "\n  %s ", cols[i].column);
		t = strstr(sql, head);
		end = t ? strstr(t, ") ENGINE") : NULL;
		c = t ? strstr(t, col) : NULL;
		if (c && c < end) {
			c += strlen(col);
			while (*c == ' ')
				c++;
			if (sscanf(c, "VARCHAR(%d)", &width) != 1)
				width = -1;
		}
		TAP_RESULT(width == cols[i].width, "%s.%s is VARCHAR(%d) (schema: %d)", cols[i].table, cols[i].column,
			   cols[i].width, width);
	}
	free(sql);
	free(path);
}

/* What the strict parse refuses in one object skips that object; what makes
 * the file's structure doubtful fails the file. */
DEF_TEST(strict_json_per_object)
{
	struct ob_kitos_batch b;
	struct ob_err err;
	const struct ob_kitos_warning *w;

	ob_kitos_batch_init(&b);
	EXPECT_EQ_INT(0, parse_str(&b, "s.json",
				   "[{" U1 ", \"systemContext\": {\"name\": \"tab\there\"}},\n"
				   " {\"uuid\": \"11111111-2222-3333-4444-777777777777\", \"name\": \"K\\uD83D\", "
				   "\"agreementPeriod\": {}},\n"
				   " {\"uuid\": \"11111111-2222-3333-4444-888888888888\", \"oversight\": {}, \"name\": \"D\", "
				   "\"x\": 1e999},\n"
				   " {\"firstName\": \"A\", \"lastName\": \"\\uDC00\"},\n"
				   " {" U2 ", \"systemContext\": {\"name\": \"Good\"}}]",
				   NULL, &err));
	EXPECT_EQ_INT(1, b.n_usages);
	if (b.n_usages == 1)
		EXPECT_EQ_STR("Good", b.usages[0].name);
	EXPECT_EQ_INT(0, b.n_contracts + b.n_dprs + b.n_users);
	EXPECT_EQ_INT(1, b.skipped[OB_KITOS_USAGE]);
	EXPECT_EQ_INT(1, b.skipped[OB_KITOS_CONTRACT]);
	EXPECT_EQ_INT(1, b.skipped[OB_KITOS_DPR]);
	EXPECT_EQ_INT(1, b.skipped[OB_KITOS_USER]);
	EXPECT_EQ_INT(4, b.n_warnings);
	if (b.n_warnings == 4) {
		w = &b.warnings[0];
		EXPECT_EQ_STR("line 1, column 81: control character 0x09 in a string (write it as \\u0009); "
			      "it-system-usage skipped", w->message);
		EXPECT_EQ_STR(UUID1, w->uuid);
		EXPECT_EQ_INT(0, w->index);
		EXPECT_EQ_STR("s.json", w->file);
		w = &b.warnings[1];
		EXPECT_EQ_STR("line 2, column 61: \\uD83D: a UTF-16 high surrogate without its low half; it-contract "
			      "skipped", w->message);
		EXPECT_EQ_STR("11111111-2222-3333-4444-777777777777", w->uuid);
		EXPECT_EQ_INT(1, w->index);
		EXPECT_CONTAINS("is out of range; data-processing-registration skipped", b.warnings[2].message);
		EXPECT_EQ_STR("11111111-2222-3333-4444-888888888888", b.warnings[2].uuid);
		EXPECT_CONTAINS("a lone UTF-16 low surrogate; user skipped", b.warnings[3].message);
		EXPECT_EQ_STR(NULL, b.warnings[3].uuid);
	}
	ob_kitos_batch_free(&b);

	/* a NUL byte as such (not written \u0000) in a string */
	{
		static const char nul[] = "[{" U1 ", \"systemContext\": {\"name\": \"a\0b\"}}, "
					  "{" U2 ", \"systemContext\": {\"name\": \"Good\"}}]";
		ob_kitos_batch_init(&b);
		ob_err_clear(&err);
		EXPECT_EQ_INT(0, ob_kitos_parse(&b, "nul.json", nul, sizeof(nul) - 1, NULL, &err));
		EXPECT_EQ_INT(1, b.n_usages);
		EXPECT_EQ_INT(1, b.skipped[OB_KITOS_USAGE]);
		EXPECT_CONTAINS("NUL byte in a string; it-system-usage skipped", b.n_warnings ? b.warnings[0].message : NULL);
		ob_kitos_batch_free(&b);
	}

	/* a key twice: the file is refused, both places named from its start */
	ob_kitos_batch_init(&b);
	EXPECT_EQ_INT(-1, parse_str(&b, "dup.json",
				    "[{" U1 ", \"systemContext\": {\"name\": \"A\"}},\n"
				    "  {" U2 ",\n   \"name\": \"K\", \"agreementPeriod\": {}, \"name\": \"L\"}]",
				    NULL, &err));
	EXPECT_EQ_STR("dup.json:3:40: JSON syntax error near '\"name\": \"L\"}]': duplicate key \"name\" (first at "
		      "line 3, column 4)", err.msg);
	EXPECT_EQ_INT(0, b.n_usages);
	EXPECT_EQ_INT(0, b.n_files);
	EXPECT_EQ_INT(-1, parse_str(&b, "dup2.json", "{\"a\": {\"b\": 1,\n \"b\": 2}}", NULL, &err));
	EXPECT_EQ_STR("dup2.json:2:2: JSON syntax error near '\"b\": 2}}': duplicate key \"b\" (first at line 1, "
		      "column 8)", err.msg);
	/* a raw control character outside any object is the file's */
	EXPECT_EQ_INT(-1, parse_str(&b, "ctl.json", "[\"a\tb\"]", NULL, &err));
	EXPECT_CONTAINS("ctl.json:1:4: JSON syntax error near ' b\"]': control character 0x09", err.msg);
	/* bytes that are not UTF-8 in a syntax error's snippet are shown, not sent */
	EXPECT_EQ_INT(-1, parse_str(&b, "raw.json", "[{\"a\": 1} \xFF]", NULL, &err));
	EXPECT_EQ_STR("raw.json:1:11: JSON syntax error near '\\xFF]': expected ',' or ']'", err.msg);
	ob_kitos_batch_free(&b);
}

/* The same records, warnings and errors from a file read a megabyte at a
 * time as from its text in memory, whatever falls on a read's border. */
DEF_TEST(file_read_in_pieces)
{
	char path[] = "/tmp/test_kitos_XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	struct ob_buf text;
	struct ob_kitos_batch mem, file;
	struct ob_err err;
	int same = 1;

	if (f == NULL) {
		TAP_RESULT(0, "cannot create %s", path);
		return;
	}
	ob_buf_init(&text, 0);
	ob_buf_adds(&text, "\xEF\xBB\xBF[\n");
	/* ~3 MB of objects of every length, with escapes ("\\\"", "\\\\") that
	 * will fall on the borders, a NUL, a control character, a long name */
	for (int i = 0; i < 6000; i++) {
		ob_buf_printf(&text, "%s{\"uuid\": \"11111111-2222-3333-4444-%012d\", \"systemContext\": {\"name\": "
				     "\"S\\\"%d\\\\ ",
			      i ? ",\n " : " ", i, i);
		for (int k = 0; k < i % 500; k++)
			ob_buf_adds(&text, k % 7 ? "\xC3\xB8" : "\\\"");
		ob_buf_adds(&text, i % 1000 == 7 ? "\\u0000\"" : i % 1000 == 9 ? "\t\"" : "\"");
		ob_buf_adds(&text, "}, \"general\": {\"localCallName\": \"x\"}}");
	}
	ob_buf_adds(&text, "\n]\n");
	fwrite(text.data, 1, text.len, f);
	fclose(f);

	ob_kitos_batch_init(&mem);
	ob_kitos_batch_init(&file);
	ob_err_clear(&err);
	EXPECT_EQ_INT(0, ob_kitos_parse(&mem, path, text.data, text.len, NULL, &err));
	EXPECT_EQ_INT(0, ob_kitos_parse_file(&file, path, NULL, &err));
	EXPECT_EQ_INT(6000 - 12, file.n_usages);
	EXPECT_EQ_INT(mem.n_usages, file.n_usages);
	EXPECT_EQ_INT(mem.n_warnings, file.n_warnings);
	for (size_t i = 0; i < mem.n_usages && i < file.n_usages; i++)
		same &= strcmp(mem.usages[i].name, file.usages[i].name) == 0 && mem.usages[i].index == file.usages[i].index;
	for (size_t i = 0; i < mem.n_warnings && i < file.n_warnings; i++)
		same &= strcmp(mem.warnings[i].message, file.warnings[i].message) == 0 &&
			strcmp(mem.warnings[i].field, file.warnings[i].field) == 0;
	OK(same);
	{
		const struct ob_kitos_warning *w7 = warning_at(&file, "systemContext.name", 7);
		const struct ob_kitos_warning *w1009 = warning_at(&file, "", 1009);
		const struct ob_kitos_warning *w499 = warning_at(&file, "systemContext.name", 499);
		EXPECT_EQ_STR("contains NUL (\\u0000); it-system-usage skipped", w7 ? w7->message : NULL);
		/* line:col counted across the reads: element 1009 is on line 1011 */
		EXPECT_CONTAINS("line 1011, column ", w1009 ? w1009->message : NULL);
		EXPECT_EQ_STR("506 characters, cut to 255", w499 ? w499->message : NULL);
	}
	ob_kitos_batch_free(&mem);
	ob_kitos_batch_free(&file);

	/* a syntax error past the first read: the same message */
	text.data[text.len - 3] = ',';
	f = fopen(path, "w");
	fwrite(text.data, 1, text.len, f);
	fclose(f);
	{
		struct ob_err e1, e2;
		ob_err_clear(&e1);
		ob_err_clear(&e2);
		ob_kitos_batch_init(&mem);
		ob_kitos_batch_init(&file);
		EXPECT_EQ_INT(-1, ob_kitos_parse(&mem, path, text.data, text.len, NULL, &e1));
		EXPECT_EQ_INT(-1, ob_kitos_parse_file(&file, path, NULL, &e2));
		EXPECT_EQ_STR(e1.msg, e2.msg);
		EXPECT_CONTAINS(":6001:", e2.msg);
		EXPECT_CONTAINS(": JSON syntax error near ']': expected a value", e2.msg);
		EXPECT_EQ_INT(0, file.n_usages);
		EXPECT_EQ_INT(0, file.n_warnings);
		EXPECT_EQ_INT(0, file.n_files);
		ob_kitos_batch_free(&mem);
		ob_kitos_batch_free(&file);
	}
	/* cut off in the middle */
	f = fopen(path, "w");
	fwrite(text.data, 1, text.len / 2, f);
	fclose(f);
	ob_kitos_batch_init(&file);
	ob_err_clear(&err);
	EXPECT_EQ_INT(-1, ob_kitos_parse_file(&file, path, NULL, &err));
	EXPECT_CONTAINS("JSON syntax error: unexpected end of file", err.msg);
	EXPECT_EQ_INT(0, file.n_usages);
	ob_kitos_batch_free(&file);
	unlink(path);
	ob_err_clear(&err);
	EXPECT_EQ_INT(-1, ob_kitos_parse_file(&file, path, NULL, &err));
	EXPECT_CONTAINS(": cannot read: No such file or directory", err.msg);
	ob_buf_free(&text);
}

DEF_TEST(batch_accumulates)
{
	struct ob_kitos_batch b;
	struct ob_err err;

	ob_kitos_batch_init(&b);
	EXPECT_EQ_INT(0, parse_str(&b, "one.json", good_usage, NULL, &err));
	EXPECT_EQ_INT(0, parse_str(&b, "two.json", "[" "{" U2 ", \"name\": \"K\", \"supplier\": {}}]", NULL, &err));
	ob_kitos_warn(&b, "two.json", 0, "11111111-2222-3333-4444-666666666666", "systemUsages[0].uuid",
		      "no it-system-usage %s in the database", "x");
	EXPECT_EQ_INT(2, b.n_files);
	EXPECT_EQ_INT(1, b.n_usages);
	EXPECT_EQ_INT(1, b.n_contracts);
	if (b.n_files == 2 && b.n_usages == 1 && b.n_contracts == 1) {
		OK(b.usages[0].file == b.files[0]);
		OK(b.contracts[0].file == b.files[1]);
	}
	EXPECT_EQ_INT(1, b.n_warnings);
	if (b.n_warnings == 1)
		EXPECT_EQ_STR("no it-system-usage x in the database", b.warnings[0].message);
	ob_kitos_batch_free(&b);
	EXPECT_EQ_INT(0, b.n_files);
	ob_kitos_batch_free(&b); /* twice is harmless */
	ob_kitos_batch_free(NULL);
}

int main(void)
{
	const char *shared = getenv("OB_SHARED_DIR");

	snprintf(fixtures, sizeof(fixtures), "%s/kitos/fixtures", shared && *shared ? shared : "../shared");
	RUN_TEST(every_fixture_parses);
	RUN_TEST(usage_fixture_values);
	RUN_TEST(gdpr_fixture_values);
	RUN_TEST(contract_fixture_values);
	RUN_TEST(dpr_fixture_values);
	RUN_TEST(fatal_errors);
	RUN_TEST(enums_strings_and_integers);
	RUN_TEST(lifecycle_phases);
	RUN_TEST(unknown_enum_values);
	RUN_TEST(uuid_and_name_required);
	RUN_TEST(owner_role);
	RUN_TEST(users);
	RUN_TEST(contract_terms);
	RUN_TEST(links);
	RUN_TEST(long_strings_cut_to_their_column);
	RUN_TEST(nul_and_bad_utf8_skip_the_object);
	RUN_TEST(cvr_and_email_that_cannot_be_stored);
	RUN_TEST(control_characters_become_spaces);
	RUN_TEST(column_widths_match_the_schema);
	RUN_TEST(strict_json_per_object);
	RUN_TEST(file_read_in_pieces);
	RUN_TEST(batch_accumulates);
	END_TEST;
}
