/* rules.h - portfolio_status's rules for one system (REPORTS.md
 * "portfolio_status" and its "Readings"): completeness over the eight
 * fields and the annual review, pure functions of one system's fields,
 * as_of and the settings, computed only through the api's calendar, so a
 * fake api can test them without a database. A malformed date in the data
 * is read as no date. */
#ifndef PORTFOLIO_STATUS_RULES_H
#define PORTFOLIO_STATUS_RULES_H

#include <overblik/plugin.h>

/* The eight fields, in the order REPORTS.md names them (row "missing"). */
enum ps_field {
	PS_OWNER = 0,
	PS_CATEGORY,
	PS_DEPARTMENT,
	PS_SUPPLIER,
	PS_OPERATIONS_MODEL,
	PS_PERSONAL_DATA,
	PS_CONTRACT,
	PS_RISK_ASSESSMENT,
	PS_NFIELDS
};

/* The owner as KITOS names it and the import resolved it. */
enum ps_owner {
	PS_OWNER_OK = 0,       /* a person of the organisation, with an e-mail */
	PS_OWNER_NONE = 1,     /* no Systemejer: without_owner */
	PS_OWNER_UNKNOWN = 2,  /* named, but not a person of the organisation: owner_unknown */
	PS_OWNER_NO_EMAIL = 3  /* a person of the organisation without an e-mail: owner_without_email */
};

enum ps_review { PS_REVIEW_NA = 0, PS_REVIEW_NEVER, PS_REVIEW_OVERDUE, PS_REVIEW_DUE_SOON, PS_REVIEW_OK };

/* One system as the database gives it (borrowed text; NULL = SQL NULL). */
struct ps_system {
	const char *owner_kitos_uuid; /* as KITOS names the owner */
	const char *owner_id;         /* the resolved person of the organisation, or NULL */
	const char *owner_email;
	const char *category;
	const char *department;       /* the unit's id (or name), NULL when none */
	const char *supplier;         /* the system's own */
	const char *contract_supplier; /* a covering contract's */
	long contracts;               /* contracts listing the system, expired too */
	const char *operations_model;
	const char *personal_data;    /* none, ordinary, sensitive or NULL */
	const char *legal_data;       /* "1", "0" or NULL */
	const char *kitos_lifecycle;  /* not_in_use: not in operation; anything else, NULL too: in operation */
	const char *ra_conducted;     /* KITOS: yes, ... */
	const char *ra_date;          /* KITOS */
	const char *ra_csv;           /* the latest CSV risk assessment */
	const char *last_data_review;
};

struct ps_cfg {
	long review_due_days; /* due_soon: 0 <= days(as_of, review_due) <= this */
};

struct ps_result {
	enum ps_owner owner;
	int in_operation, personal, in_scope;
	unsigned missing; /* 1u << enum ps_field */
	int nmissing, complete;
	enum ps_review review;
	char review_due[OB_DATE_SIZE]; /* "" when none */
	int has_days;
	long review_days; /* days(as_of, review_due) */
};

enum ps_owner ps_owner_state(const char *owner_kitos_uuid, const char *owner_id, const char *owner_email);

/* Computes r for system s on as_of. Returns 0, or -1 when as_of is not a
 * date (r is then zeroed). */
int ps_evaluate(const struct ob_api *api, const char *as_of, const struct ps_cfg *cfg, const struct ps_system *s,
		struct ps_result *r);

/* "owner", "category", ... (REPORTS.md's field names); "leverandør", ... */
const char *ps_field_name(enum ps_field f);
const char *ps_field_da(enum ps_field f);
/* "n/a", "never", "overdue", "due_soon", "ok". */
const char *ps_review_name(enum ps_review r);

/* Missing field names joined by sep: in REPORTS.md's order, or sorted by
 * name (the dedupe key's "+"-joined list). Returns out. */
char *ps_missing_join(unsigned missing, const char *sep, int sorted, int danish, char *out, size_t size);

/* completeness_pct in tenths of a percent, rounded half up from the exact
 * ratio present / (8 × systems); -1 when there are no systems. */
long long ps_pct_tenths(unsigned long long present, unsigned long long systems);

#endif
