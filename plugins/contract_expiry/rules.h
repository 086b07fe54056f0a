/* rules.h - contract_expiry's rules for one contract (REPORTS.md
 * "contract_expiry" and its "Readings"): pure functions of one contract's
 * fields, as_of and the settings, computed only through the api's calendar
 * (add_months, end_of, days), so a fake api can test them without a
 * database. A malformed date in the data is read as no date. */
#ifndef CONTRACT_EXPIRY_RULES_H
#define CONTRACT_EXPIRY_RULES_H

#include <overblik/plugin.h>

enum ce_kind { CE_FIXED = 0, CE_CONTINUOUS = 1, CE_TERMINATED = 2 };

#define CE_MILESTONE_NONE (-1LL)   /* milestone null */
#define CE_MILESTONE_PASSED (-2LL) /* milestone "passed" */
#define CE_ESCALATE_DAYS 90        /* escalation to ASG: 0 <= days_left <= 90 */
#define CE_MAX_MILESTONES 64       /* OB_SETTING_INT_LIST holds at most 64 */

/* One contract as the database gives it (borrowed text; NULL = SQL NULL). */
struct ce_contract {
	const char *end;               /* end_date */
	int continuous;                /* runs until terminated */
	const char *notice_months;     /* a whole number of months, or NULL: unknown */
	const char *notice_by_end_of;  /* "month", "quarter", "year" or NULL */
	const char *irrevocable_until;
	const char *terminated_at;     /* the day notice was given */
	const char *segment;           /* "A", "B", "C" or NULL */
	const char *decision;          /* exit_decision; NULL reads as "undecided" */
	int in_operation;              /* a covered system is in operation */
	int in_exit;                   /* a covered system is in lifecycle phase exit */
};

/* The settings the rules use. */
struct ce_cfg {
	long long milestones[CE_MAX_MILESTONES]; /* ascending, distinct */
	size_t nmilestones;
	int lead_months[3];                      /* exit lead for segments A, B, C */
};

/* The row's computed fields; a date is "" when null. */
struct ce_result {
	enum ce_kind kind;
	char end[OB_DATE_SIZE];
	int notice_months; /* -1: unknown */
	char notice_deadline[OB_DATE_SIZE];
	int has_days_left;
	long days_left;
	char earliest_end[OB_DATE_SIZE];
	char ends_on[OB_DATE_SIZE];
	long long milestone; /* M, CE_MILESTONE_NONE or CE_MILESTONE_PASSED */
	int expired, expired_in_use, escalate;
	char exit_start[OB_DATE_SIZE];
	int exit_due;
	int undecided;
};

/* Fills cfg's milestones from a setting's list: sorted ascending, repeats
 * dropped, at most CE_MAX_MILESTONES. */
void ce_cfg_milestones(struct ce_cfg *cfg, const long long *values, size_t n);

/* Computes r for contract c on as_of. Returns 0, or -1 when as_of is not a
 * date (r is then zeroed). */
int ce_evaluate(const struct ob_api *api, const char *as_of, const struct ce_cfg *cfg, const struct ce_contract *c,
		struct ce_result *r);

/* "fixed", "continuous", "terminated". */
const char *ce_kind_name(enum ce_kind kind);

/* 1 when 0 <= days_left <= n (REPORTS.md deadline_within_N). */
int ce_deadline_within(const struct ce_result *r, long n);

#endif
