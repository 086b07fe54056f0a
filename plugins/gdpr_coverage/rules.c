/* rules.c - gdpr_coverage's rules for one system; see rules.h. */
#include "rules.h"

#include <stdio.h>
#include <string.h>

/* A date of the data: 1 and out (normalised) when s is a valid
 * "YYYY-MM-DD", else 0 and out "". end_of(…, NONE) is the api's check. */
static int date_of(const struct ob_api *api, const char *s, char out[OB_DATE_SIZE])
{
	out[0] = '\0';
	if (s == NULL || strlen(s) != 10 || api->end_of(s, OB_PERIOD_NONE, out) < 0) {
		out[0] = '\0';
		return 0;
	}
	return 1;
}

/* A valid date of the data that is not after as_of. */
static int date_until(const struct ob_api *api, const char *s, const char *as_of, char out[OB_DATE_SIZE])
{
	if (!date_of(api, s, out))
		return 0;
	if (strcmp(out, as_of) > 0) { /* normalised "YYYY-MM-DD" compare as text */
		out[0] = '\0';
		return 0;
	}
	return 1;
}

static int is(const char *v, const char *want) { return v != NULL && strcmp(v, want) == 0; }

const char *gc_risk_name(enum gc_risk risk)
{
	switch (risk) {
	case GC_RISK_CURRENT:
		return "current";
	case GC_RISK_AFTER_INCIDENT:
		return "after_incident";
	case GC_RISK_OVERDUE:
		return "overdue";
	default:
		return "missing";
	}
}

void gc_period_key(const char *as_of, const char *remind_every, char *out, size_t size)
{
	int y = 0, m = 0;

	if (as_of == NULL || sscanf(as_of, "%4d-%2d", &y, &m) != 2 || m < 1 || m > 12) {
		snprintf(out, size, "%s", as_of ? as_of : "");
		return;
	}
	if (is(remind_every, "month"))
		snprintf(out, size, "%04d-%02d", y, m);
	else if (is(remind_every, "year"))
		snprintf(out, size, "%04d", y);
	else
		snprintf(out, size, "%04dQ%d", y, (m - 1) / 3 + 1);
}

long long gc_pct_tenths(long long covered, long long in_scope)
{
	if (in_scope <= 0)
		return -1;
	/* round(covered × 1000 / in_scope) half up: (2 × covered × 1000 + in_scope) / (2 × in_scope). */
	return (2 * covered * 1000 + in_scope) / (2 * in_scope);
}

int gc_evaluate(const struct ob_api *api, const char *as_of, const struct gc_system *s, struct gc_result *r)
{
	char today[OB_DATE_SIZE], d[OB_DATE_SIZE], window[OB_DATE_SIZE];

	memset(r, 0, sizeof(*r));
	if (!date_of(api, as_of, today))
		return -1;

	/* In scope: personal data (ordinary, sensitive or legal) and in
	 * operation (anything but not_in_use; unknown counts). */
	r->in_operation = !is(s->lifecycle, "not_in_use");
	r->personal = is(s->personal_data, "ordinary") || is(s->personal_data, "sensitive") || s->legal_data;
	r->in_scope = r->personal && r->in_operation;

	/* The latest risk assessment <= as_of: KITOS (conducted yes, with a
	 * date) or CSV; on the same date the CSV row wins. */
	if (is(s->ra_conducted, "yes") && date_until(api, s->ra_date, today, d)) {
		memcpy(r->risk_date, d, sizeof(d));
		r->risk_result = s->ra_result;
	}
	for (size_t i = 0; i < s->nass; i++) {
		const struct gc_assessment *a = &s->ass[i];
		if (!is(a->kind, "risk_assessment") || !date_until(api, a->done_on, today, d))
			continue;
		int c = strcmp(d, r->risk_date);
		if (r->risk_date[0] == '\0' || c > 0 || (c == 0 && !r->risk_from_csv)) {
			memcpy(r->risk_date, d, sizeof(d));
			r->risk_result = a->result;
			r->risk_from_csv = 1;
		}
	}

	if (r->risk_date[0] == '\0')
		r->risk = GC_RISK_MISSING;
	else {
		if (api->add_months(r->risk_date, 12, r->risk_due) == 0 && api->days(today, r->risk_due, &r->due_days) == 0) {
			r->has_due_days = 1;
			r->risk_due_soon = r->due_days >= 0 && r->due_days <= GC_DUE_SOON_DAYS;
		} else
			r->risk_due[0] = '\0';
		/* Within the 12 months before as_of: add_months(as_of, -12) <= D. */
		if (api->add_months(today, -12, window) == 0 && strcmp(window, r->risk_date) <= 0) {
			/* The latest incident after the assessment, <= as_of. */
			for (size_t i = 0; i < s->ninc; i++) {
				if (!date_until(api, s->inc[i].occurred_on, today, d) || strcmp(d, r->risk_date) <= 0)
					continue;
				if (strcmp(d, r->incident_date) > 0) {
					memcpy(r->incident_date, d, sizeof(d));
					r->incident_title = s->inc[i].title;
				}
			}
			r->risk = r->incident_date[0] ? GC_RISK_AFTER_INCIDENT : GC_RISK_CURRENT;
		} else
			r->risk = GC_RISK_OVERDUE;
	}

	/* DPIA: sensitive or legal data, or the latest risk result is high
	 * (even an overdue one). Present: KITOS yes (a date after as_of is
	 * ignored; none is fine) or a CSV dpia <= as_of. */
	if (is(s->personal_data, "sensitive"))
		r->dpia_reason = 1;
	else if (s->legal_data)
		r->dpia_reason = 2;
	else if (is(r->risk_result, "high"))
		r->dpia_reason = 3;
	r->dpia_needed = r->dpia_reason != 0;
	if (is(s->dpia_conducted, "yes")) {
		int dated = date_of(api, s->dpia_date, d);
		r->dpia_present = !dated || strcmp(d, today) <= 0;
	}
	for (size_t i = 0; i < s->nass && !r->dpia_present; i++)
		r->dpia_present = is(s->ass[i].kind, "dpia") && date_until(api, s->ass[i].done_on, today, d);

	/* Data processing agreement: KITOS yes; no or decided by law: not
	 * needed; KITOS says nothing: needed iff supplier-hosted. */
	if (is(s->dpa_required, "yes"))
		r->dpa_needed = 1;
	else if (is(s->dpa_required, "no") || is(s->dpa_required, "decided_by_law"))
		r->dpa_needed = 0;
	else
		r->dpa_needed = is(s->operations_model, "supplier_hosted");
	r->dpa_present = s->dpa_concluded != 0;

	/* Data ethics: AI, algorithmic decision support, RPA or data matching. */
	r->ethics_needed = s->ai || s->algorithmic || s->rpa || s->data_matching;
	for (size_t i = 0; i < s->nass && !r->ethics_present; i++)
		r->ethics_present = is(s->ass[i].kind, "data_ethics") && date_until(api, s->ass[i].done_on, today, d);

	r->covered = r->in_scope && r->risk == GC_RISK_CURRENT && (!r->dpia_needed || r->dpia_present) &&
		     (!r->dpa_needed || r->dpa_present) && (!r->ethics_needed || r->ethics_present);
	return 0;
}
