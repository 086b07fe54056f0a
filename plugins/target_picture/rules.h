/* rules.h - target_picture's rules (REPORTS.md "target_picture" and its
 * "Readings"): which målbillede and fremtidsbillede are current, whether
 * the målbillede is due and why, the diff of its two latest versions, a
 * shared solution's maturity change in a window, and whether a contract
 * ends in the contract window. Pure functions of rows the plugin read,
 * as_of and the settings, computed only through the api's calendar, so a
 * fake api tests them without a database. A malformed date in the data is
 * read as no date. */
#ifndef TARGET_PICTURE_RULES_H
#define TARGET_PICTURE_RULES_H

#include <overblik/plugin.h>

#include "../contract_expiry/rules.h"

/* due_reasons, in REPORTS.md's order. */
#define TP_DUE_NONE 0x1u         /* "none": there is no målbillede */
#define TP_DUE_OLD 0x2u          /* "older_than_12_months" */
#define TP_DUE_OLD_FUTURE 0x4u   /* "older_future_picture" */
#define TP_DUE_MONTHS 12         /* the målbillede is renewed at least once a year */

/* Changes of an action between two versions (a diff row's "changed"). */
#define TP_CH_TITLE 0x1u
#define TP_CH_CHANGE 0x2u
#define TP_CH_SYSTEMS 0x4u

/* A version of a målbillede or a fremtidsbillede (borrowed text). */
struct tp_version {
	const char *id;         /* the row's id: a tie on adopted_on goes to the later row */
	const char *version;
	const char *adopted_on;
	const char *future_id;  /* a målbillede's fremtidsbillede; NULL for a fremtidsbillede */
};

/* An action of a målbillede version; systems are uuids. */
struct tp_action {
	const char *code, *title, *change; /* change NULL: unknown */
	const char *const *systems;
	size_t nsystems;
};

enum tp_diff_kind { TP_ADDED = 0, TP_REMOVED = 1, TP_CHANGED = 2 };

struct tp_diff {
	enum tp_diff_kind kind;
	const struct tp_action *cur, *prev; /* cur NULL when removed, prev NULL when added */
	unsigned what;                      /* TP_CH_*: for TP_CHANGED */
};

/* One row of a shared solution's maturity history (borrowed text). */
struct tp_maturity_row {
	const char *changed_on;
	const char *maturity; /* "green", "yellow", "red" */
};

/* The window maturity changes are looked for in: after the previous run's
 * as_of (exclusive), or from add_months(as_of, −12) (inclusive), up to
 * as_of. */
struct tp_window {
	char start[OB_DATE_SIZE];
	int inclusive;
	char end[OB_DATE_SIZE];
};

struct tp_maturity {
	int change;                  /* a row lies in the window and to ≠ from */
	const char *from, *to;       /* "green", "yellow", "red"; from NULL: first seen in the window */
	char changed_on[OB_DATE_SIZE]; /* to's date */
	int to_green, yellow_to_green;
};

/* A date of the data: 1 and out (normalised) when s is a valid
 * "YYYY-MM-DD", else 0 and out "". */
int tp_date(const struct ob_api *api, const char *s, char out[OB_DATE_SIZE]);

/* Compares action codes naturally: "H2" before "H10". */
int tp_code_cmp(const char *a, const char *b);

/* The latest version adopted on or before as_of (ties on adopted_on: the
 * larger id), and the one before it: indexes into v, or -1. A version
 * with a malformed date is skipped. */
void tp_latest_two(const struct ob_api *api, const char *as_of, const struct tp_version *v, size_t n, long *latest,
		   long *before);

/* Whether version a is older than b in that order (adopted_on, then id). */
int tp_older(const struct tp_version *a, const struct tp_version *b);

/* The reasons the målbillede is due (TP_DUE_*; 0: not due): target is
 * the current målbillede or NULL, based_on its fremtidsbillede (NULL when
 * not found), newest the newest fremtidsbillede or NULL. limit gets
 * add_months(as_of, −12), the oldest adoption date that is not due ("" if
 * as_of is not a date). */
unsigned tp_due(const struct ob_api *api, const char *as_of, const struct tp_version *target,
		const struct tp_version *based_on, const struct tp_version *newest, char limit[OB_DATE_SIZE]);

/* "none", "older_than_12_months", "older_future_picture" for one bit. */
const char *tp_due_reason_name(unsigned bit);

/* The diff of cur against prev (each action's systems sorted by strcmp,
 * codes distinct) into out (room for ncur + nprev), sorted by code with
 * tp_code_cmp. Returns the number of rows. */
size_t tp_diff(const struct tp_action *cur, size_t ncur, const struct tp_action *prev, size_t nprev,
	       struct tp_diff *out);

/* "added", "removed", "changed". */
const char *tp_diff_kind_name(enum tp_diff_kind kind);

/* The maturity window for as_of, after the previous run's as_of when
 * there was one (NULL: none). -1 when as_of is not a date. */
int tp_window(const struct ob_api *api, const char *as_of, const char *previous_as_of, struct tp_window *w);

/* One solution's change in window w from its rows (any order); rows after
 * w->end, with a malformed date or an unknown maturity are ignored. */
void tp_maturity_change(const struct ob_api *api, const struct tp_window *w, const struct tp_maturity_row *rows,
			size_t n, struct tp_maturity *out);

/* Whether contract r (contract_expiry's rules on as_of) ends within the
 * contract window as_of ≤ D ≤ add_months(as_of, months): D is the end of
 * a fixed contract, ends_on of a terminated one; continuous never. 1 and
 * out = D, else 0 and out "". */
int tp_contract_ends(const struct ob_api *api, const char *as_of, int months, const struct ce_result *r,
		     char out[OB_DATE_SIZE]);

#endif
