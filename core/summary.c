/* summary.c - a plain-text summary of each organisation's portfolio, for
 * "overblik summary" and scripts/demo. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "import.h"
#include "summary.h"

/* Prints "label: a N, b N, ..." from a query returning (name, count) rows. */
static int print_counts(struct ob_db *db, FILE *out, const char *label, const char *sql, long long org,
			struct ob_err *err)
{
	struct ob_db_param p[1] = {ob_p_int(org)};
	struct ob_db_rows *r;

	if (ob_db_query(db, sql, p, 1, &r, err) < 0)
		return -1;
	fprintf(out, "  %-18s", label);
	for (size_t i = 0; i < r->nrows; i++) {
		const char *name = ob_db_cell(r, i, 0);
		fprintf(out, "%s%s %s", i ? ", " : "", name ? name : "(none)", ob_db_cell(r, i, 1));
	}
	fprintf(out, "%s\n", r->nrows ? "" : "none");
	ob_db_rows_free(r);
	return 0;
}

/* The single row of a query, every column "label N". */
static int print_row(struct ob_db *db, FILE *out, const char *label, const char *sql, long long org,
		     const char *const *names, struct ob_err *err)
{
	struct ob_db_param p[3] = {ob_p_int(org), ob_p_int(org), ob_p_int(org)};
	size_t np = 0;
	struct ob_db_rows *r;

	for (const char *q = sql; *q; q++)
		np += *q == '?';
	if (ob_db_query(db, sql, p, np, &r, err) < 0)
		return -1;
	fprintf(out, "  %-18s", label);
	for (size_t i = 0; i < r->ncols && r->nrows; i++) {
		const char *v = ob_db_cell(r, 0, i);
		fprintf(out, "%s%s%s%s", i ? ", " : "", v ? v : "0", names[i][0] ? " " : "", names[i]);
	}
	fputc('\n', out);
	ob_db_rows_free(r);
	return 0;
}

static int summarise(struct ob_db *db, FILE *out, long long org, const char *name, const char *cvr,
		     struct ob_err *err)
{
	static const char *const sys_names[] = {"systems", "with personal data", "sensitive",
						"citizen-facing"};
	static const char *const owner_names[] = {"without an owner", "owner not in the organisation data",
						  "owner without e-mail"};
	static const char *const contract_names[] = {"contracts", "continuous", "expired", "ending within 12 months"};
	static const char *const review_names[] = {"overdue (over 12 months)", "due within 30 days",
						   "never reviewed"};
	static const char *const gdpr_names[] = {"risk assessments within 12 months", "DPIAs",
						 "data processing registrations"};
	static const char *const people_names[] = {"people", "without e-mail"};

	fprintf(out, "%s (CVR %s)\n", name, cvr ? cvr : "unknown");
	if (print_row(db, out, "Systems:",
		      "SELECT COUNT(*), SUM(personal_data IN ('ordinary','sensitive')), "
		      "SUM(personal_data = 'sensitive'), SUM(citizen_facing IS NOT NULL) "
		      "FROM systems WHERE org_id = ?",
		      org, sys_names, err) < 0 ||
	    print_counts(db, out, "By category:",
			 "SELECT category, COUNT(*) FROM systems WHERE org_id = ? GROUP BY category "
			 "ORDER BY category IS NULL, category",
			 org, err) < 0 ||
	    print_counts(db, out, "By phase:",
			 "SELECT lifecycle_phase, COUNT(*) FROM systems WHERE org_id = ? "
			 "GROUP BY lifecycle_phase ORDER BY lifecycle_phase IS NULL, lifecycle_phase",
			 org, err) < 0 ||
	    print_counts(db, out, "By department:",
			 "SELECT u.name, COUNT(*) FROM systems s LEFT JOIN org_units u ON u.id = s.department_id "
			 "WHERE s.org_id = ? GROUP BY u.name ORDER BY COUNT(*) DESC, u.name",
			 org, err) < 0 ||
	    print_row(db, out, "Owners:",
		      "SELECT SUM(owner_id IS NULL AND owner_kitos_uuid IS NULL), "
		      "SUM(owner_id IS NULL AND owner_kitos_uuid IS NOT NULL), "
		      "SUM(owner_id IS NOT NULL AND (SELECT email FROM people p WHERE p.id = owner_id) IS NULL) "
		      "FROM systems WHERE org_id = ?",
		      org, owner_names, err) < 0 ||
	    print_row(db, out, "People:", "SELECT COUNT(*), SUM(email IS NULL) FROM people WHERE org_id = ?",
		      org, people_names, err) < 0 ||
	    print_row(db, out, "Contracts:",
		      "SELECT COUNT(*), SUM(continuous), SUM(end_date < CURDATE()), "
		      "SUM(end_date BETWEEN CURDATE() AND CURDATE() + INTERVAL 12 MONTH) "
		      "FROM contracts WHERE org_id = ?",
		      org, contract_names, err) < 0 ||
	    print_counts(db, out, "By segment:",
			 "SELECT segment, COUNT(*) FROM contracts WHERE org_id = ? GROUP BY segment "
			 "ORDER BY segment IS NULL, segment",
			 org, err) < 0 ||
	    print_row(db, out, "Annual review:",
		      "SELECT SUM(last_data_review < CURDATE() - INTERVAL 12 MONTH), "
		      "SUM(last_data_review BETWEEN CURDATE() - INTERVAL 12 MONTH AND "
		      "CURDATE() - INTERVAL 11 MONTH), SUM(last_data_review IS NULL) "
		      "FROM systems WHERE org_id = ?",
		      org, review_names, err) < 0 ||
	    print_row(db, out, "GDPR:",
		      "SELECT (SELECT COUNT(DISTINCT s.id) FROM systems s LEFT JOIN gdpr_assessments a "
		      "ON a.system_id = s.id AND a.kind = 'risk_assessment' WHERE s.org_id = ? AND "
		      "GREATEST(COALESCE(s.ra_date, '1000-01-01'), COALESCE(a.done_on, '1000-01-01')) >= "
		      "CURDATE() - INTERVAL 12 MONTH), "
		      "(SELECT COUNT(*) FROM gdpr_assessments a JOIN systems s ON s.id = a.system_id "
		      "WHERE s.org_id = ? AND a.kind = 'dpia'), "
		      "(SELECT COUNT(*) FROM data_processing WHERE org_id = ?)",
		      org, gdpr_names, err) < 0 ||
	    print_counts(db, out, "Target picture:",
			 "SELECT CONCAT('målbillede ', t.version, ' of ', t.adopted_on, ' (fremtidsbillede ', "
			 "f.version, ')'), CONCAT((SELECT COUNT(*) FROM target_actions a "
			 "WHERE a.target_picture_id = t.id), ' actions') FROM target_pictures t "
			 "JOIN future_pictures f ON f.id = t.future_picture_id WHERE t.org_id = ? "
			 "ORDER BY t.adopted_on DESC LIMIT 1",
			 org, err) < 0 ||
	    print_counts(db, out, "Shared solutions:",
			 "SELECT m.maturity, COUNT(*) FROM shared_solutions s JOIN shared_solution_maturity m "
			 "ON m.solution_id = s.id AND m.changed_on = (SELECT MAX(changed_on) FROM "
			 "shared_solution_maturity x WHERE x.solution_id = s.id) WHERE s.org_id = ? "
			 "GROUP BY m.maturity ORDER BY m.maturity",
			 org, err) < 0)
		return -1;
	return 0;
}

int ob_summary_print(struct ob_db *db, FILE *out, const char *org, struct ob_err *err)
{
	struct ob_db_rows *r = NULL;
	int rc = -1;

	if (org) {
		struct ob_db_param p[2] = {ob_p_str(org), ob_p_str(org)};
		if (ob_db_query(db, "SELECT id, name, cvr FROM organisations WHERE kitos_uuid = ? OR cvr = ?",
				p, 2, &r, err) < 0)
			goto out;
		if (r->nrows == 0) {
			ob_err_set(err, "no organisation with KITOS uuid or CVR %s", org);
			goto out;
		}
	} else if (ob_db_query(db, "SELECT id, name, cvr FROM organisations ORDER BY name", NULL, 0, &r,
			       err) < 0)
		goto out;
	if (r->nrows == 0)
		fprintf(out, "The portfolio is empty: import KITOS data with 'overblik import kitos FILE...'.\n");
	for (size_t i = 0; i < r->nrows; i++) {
		if (i)
			fputc('\n', out);
		if (summarise(db, out, atoll(ob_db_cell(r, i, 0)), ob_db_cell(r, i, 1), ob_db_cell(r, i, 2),
			      err) < 0)
			goto out;
	}
	rc = 0;
out:
	ob_db_rows_free(r);
	return rc;
}
