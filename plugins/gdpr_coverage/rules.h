/* rules.h - gdpr_coverage's rules for one system (REPORTS.md
 * "gdpr_coverage" and its "Readings"): pure functions of one system's
 * KITOS GDPR snapshot, its CSV assessments and incidents and as_of,
 * computed only through the api's calendar, so a fake api can test them
 * without a database. A malformed date in the data is read as no date;
 * every date after as_of is ignored. */
#ifndef GDPR_COVERAGE_RULES_H
#define GDPR_COVERAGE_RULES_H

#include <overblik/plugin.h>

#define GC_DUE_SOON_DAYS 30 /* risk_due_soon: 0 <= days(as_of, risk_due) <= 30 */

enum gc_risk { GC_RISK_MISSING = 0, GC_RISK_CURRENT = 1, GC_RISK_AFTER_INCIDENT = 2, GC_RISK_OVERDUE = 3 };

/* A CSV row of gdpr_assessments (borrowed text). */
struct gc_assessment {
	const char *kind;    /* "risk_assessment", "dpia", "data_ethics" */
	const char *done_on; /* "YYYY-MM-DD" */
	const char *result;  /* "low", "medium", "high", "undecided" or NULL */
};

/* An incident on the system. */
struct gc_incident {
	const char *occurred_on;
	const char *title;
};

/* One system as the database gives it (borrowed text; NULL = SQL NULL). */
struct gc_system {
	const char *lifecycle;        /* kitos_lifecycle; NULL (unknown) counts as in operation */
	const char *personal_data;    /* "none", "ordinary", "sensitive" or NULL */
	int legal_data;               /* criminal-law data */
	const char *operations_model; /* "supplier_hosted", "internal", "hybrid" or NULL */
	int ai, algorithmic, rpa, data_matching;
	const char *ra_conducted, *ra_date, *ra_result; /* KITOS risk assessment */
	const char *dpia_conducted, *dpia_date;         /* KITOS DPIA */
	const char *dpa_required;     /* "yes", "no", "decided_by_law" or NULL (KITOS says nothing) */
	int dpa_concluded;            /* a registration lists it with the agreement concluded yes */
	const struct gc_assessment *ass;
	size_t nass;
	const struct gc_incident *inc;
	size_t ninc;
};

/* The row's computed fields; a date is "" when null. */
struct gc_result {
	int in_operation, personal, in_scope;
	enum gc_risk risk;
	char risk_date[OB_DATE_SIZE];  /* the latest risk assessment <= as_of */
	const char *risk_result;       /* its result (CSV wins a tie on the date), or NULL */
	int risk_from_csv;             /* it is a CSV row (else KITOS) */
	char risk_due[OB_DATE_SIZE];   /* add_months(risk_date, 12) */
	int has_due_days;
	long due_days;                 /* days(as_of, risk_due) */
	int risk_due_soon;
	char incident_date[OB_DATE_SIZE]; /* the latest incident after risk_date, <= as_of */
	const char *incident_title;
	int dpia_needed, dpia_present;
	int dpia_reason;               /* 1 sensitive, 2 legal data, 3 the risk result is high; 0 none */
	int dpa_needed, dpa_present;
	int ethics_needed, ethics_present;
	int covered;
};

/* Computes r for system s on as_of. Returns 0, or -1 when as_of is not a
 * date (r is then zeroed). */
int gc_evaluate(const struct ob_api *api, const char *as_of, const struct gc_system *s, struct gc_result *r);

/* "current", "after_incident", "overdue", "missing". */
const char *gc_risk_name(enum gc_risk risk);

/* The reminder period of as_of for remind_every ("month", "quarter" (also
 * the default for anything else), "year"): "2026-11", "2026Q4", "2026". */
void gc_period_key(const char *as_of, const char *remind_every, char *out, size_t size);

/* covered / in_scope × 100 rounded half up to one decimal, in tenths
 * (667 for 2 of 3), computed with integers; -1 when in_scope is 0. */
long long gc_pct_tenths(long long covered, long long in_scope);

#endif
