/* rules.c - portfolio_status's rules for one system (rules.h). */
#include "rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const field_names[PS_NFIELDS] = {"owner",	"category",	 "department",	"supplier",
						    "operations_model", "personal_data", "contract", "risk_assessment"};
static const char *const field_da[PS_NFIELDS] = {"systemejer", "kategori",   "forvaltning", "leverandør",
						 "driftsform", "persondata", "kontrakt",    "risikovurdering"};

const char *ps_field_name(enum ps_field f) { return f < PS_NFIELDS ? field_names[f] : "?"; }
const char *ps_field_da(enum ps_field f) { return f < PS_NFIELDS ? field_da[f] : "?"; }

const char *ps_review_name(enum ps_review r)
{
	switch (r) {
	case PS_REVIEW_NEVER: return "never";
	case PS_REVIEW_OVERDUE: return "overdue";
	case PS_REVIEW_DUE_SOON: return "due_soon";
	case PS_REVIEW_OK: return "ok";
	default: return "n/a";
	}
}

static int set(const char *s) { return s != NULL && *s != '\0'; }

static int is(const char *s, const char *v) { return s != NULL && strcmp(s, v) == 0; }

/* A real date, copied to out ("" when not). */
static int date_of(const struct ob_api *api, const char *s, char out[OB_DATE_SIZE])
{
	out[0] = '\0';
	if (s == NULL || strlen(s) != 10 || api->end_of(s, OB_PERIOD_NONE, out) < 0) {
		out[0] = '\0';
		return 0;
	}
	return 1;
}

enum ps_owner ps_owner_state(const char *owner_kitos_uuid, const char *owner_id, const char *owner_email)
{
	if (!set(owner_id))
		return set(owner_kitos_uuid) ? PS_OWNER_UNKNOWN : PS_OWNER_NONE;
	return set(owner_email) ? PS_OWNER_OK : PS_OWNER_NO_EMAIL;
}

int ps_evaluate(const struct ob_api *api, const char *as_of, const struct ps_cfg *cfg, const struct ps_system *s,
		struct ps_result *r)
{
	char d[OB_DATE_SIZE], asof[OB_DATE_SIZE];
	int ra = 0;

	memset(r, 0, sizeof(*r));
	if (!date_of(api, as_of, asof))
		return -1;
	r->owner = ps_owner_state(s->owner_kitos_uuid, s->owner_id, s->owner_email);
	/* In operation: anything but not_in_use, unknown included. */
	r->in_operation = !is(s->kitos_lifecycle, "not_in_use");
	r->personal = is(s->personal_data, "ordinary") || is(s->personal_data, "sensitive") ||
		      (set(s->legal_data) && strcmp(s->legal_data, "0") != 0);
	r->in_scope = r->personal && r->in_operation;

	/* A risk assessment: KITOS conducted yes with a date, or a CSV one, not after as_of. */
	if (is(s->ra_conducted, "yes") && date_of(api, s->ra_date, d) && strcmp(d, asof) <= 0)
		ra = 1;
	if (date_of(api, s->ra_csv, d) && strcmp(d, asof) <= 0)
		ra = 1;

	if (r->owner != PS_OWNER_OK)
		r->missing |= 1u << PS_OWNER;
	if (!set(s->category))
		r->missing |= 1u << PS_CATEGORY;
	if (!set(s->department))
		r->missing |= 1u << PS_DEPARTMENT;
	if (!set(s->supplier) && !set(s->contract_supplier))
		r->missing |= 1u << PS_SUPPLIER;
	if (!set(s->operations_model))
		r->missing |= 1u << PS_OPERATIONS_MODEL;
	if (!set(s->personal_data))
		r->missing |= 1u << PS_PERSONAL_DATA;
	if (s->contracts <= 0)
		r->missing |= 1u << PS_CONTRACT;
	if (r->in_scope && !ra)
		r->missing |= 1u << PS_RISK_ASSESSMENT;
	for (int f = 0; f < PS_NFIELDS; f++)
		r->nmissing += (r->missing >> f) & 1u;
	r->complete = r->nmissing == 0;

	/* The annual review, of systems in operation. */
	if (!r->in_operation) {
		r->review = PS_REVIEW_NA;
		if (date_of(api, s->last_data_review, d) && api->add_months(d, 12, r->review_due) < 0)
			r->review_due[0] = '\0';
		return 0;
	}
	if (!date_of(api, s->last_data_review, d) || api->add_months(d, 12, r->review_due) < 0 ||
	    api->days(asof, r->review_due, &r->review_days) < 0) {
		r->review_due[0] = '\0';
		r->review = PS_REVIEW_NEVER;
		return 0;
	}
	r->has_days = 1;
	if (r->review_days < 0)
		r->review = PS_REVIEW_OVERDUE;
	else if (r->review_days <= cfg->review_due_days)
		r->review = PS_REVIEW_DUE_SOON;
	else
		r->review = PS_REVIEW_OK;
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(field_names[*(const int *)a], field_names[*(const int *)b]);
}

char *ps_missing_join(unsigned missing, const char *sep, int sorted, int danish, char *out, size_t size)
{
	int v[PS_NFIELDS], n = 0;
	size_t len = 0;

	for (int f = 0; f < PS_NFIELDS; f++)
		if ((missing >> f) & 1u)
			v[n++] = f;
	if (sorted)
		qsort(v, (size_t)n, sizeof(v[0]), by_name);
	if (size == 0)
		return out;
	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		int w = snprintf(out + len, size - len, "%s%s", i ? sep : "", danish ? field_da[v[i]] : field_names[v[i]]);
		if (w < 0 || (size_t)w >= size - len)
			break;
		len += (size_t)w;
	}
	return out;
}

long long ps_pct_tenths(unsigned long long present, unsigned long long systems)
{
	unsigned long long den = 8ULL * systems;
	if (systems == 0)
		return -1;
	/* round(present / den × 1000), half up, in integers. */
	return (long long)((2000ULL * present + den) / (2ULL * den));
}
