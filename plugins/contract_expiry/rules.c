/* rules.c - contract_expiry's rules for one contract; see rules.h. */
#include "rules.h"

#include <errno.h>
#include <stdlib.h>
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

/* b − a in days through the api; both are valid dates. */
static long days_between(const struct ob_api *api, const char *a, const char *b)
{
	long d = 0;
	if (api->days(a, b, &d) < 0)
		return 0;
	return d;
}

/* A whole number of months in [0, 1200], or -1 (unknown or malformed). */
static int months_of(const char *s)
{
	char *end;
	long v;

	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 0 || v > 1200)
		return -1;
	return (int)v;
}

static enum ob_period period_of(const char *s)
{
	if (s == NULL)
		return OB_PERIOD_NONE;
	if (strcmp(s, "month") == 0)
		return OB_PERIOD_MONTH;
	if (strcmp(s, "quarter") == 0)
		return OB_PERIOD_QUARTER;
	if (strcmp(s, "year") == 0)
		return OB_PERIOD_YEAR;
	return OB_PERIOD_NONE;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return (x > y) - (x < y);
}

void ce_cfg_milestones(struct ce_cfg *cfg, const long long *values, size_t n)
{
	size_t k = 0;

	if (n > CE_MAX_MILESTONES)
		n = CE_MAX_MILESTONES;
	for (size_t i = 0; i < n; i++)
		cfg->milestones[i] = values[i];
	qsort(cfg->milestones, n, sizeof(cfg->milestones[0]), cmp_ll);
	for (size_t i = 0; i < n; i++)
		if (k == 0 || cfg->milestones[k - 1] != cfg->milestones[i])
			cfg->milestones[k++] = cfg->milestones[i];
	cfg->nmilestones = k;
}

const char *ce_kind_name(enum ce_kind kind)
{
	switch (kind) {
	case CE_CONTINUOUS:
		return "continuous";
	case CE_TERMINATED:
		return "terminated";
	default:
		return "fixed";
	}
}

int ce_deadline_within(const struct ce_result *r, long n)
{
	return r->has_days_left && r->days_left >= 0 && r->days_left <= n;
}

int ce_evaluate(const struct ob_api *api, const char *as_of, const struct ce_cfg *cfg, const struct ce_contract *c,
		struct ce_result *r)
{
	char today[OB_DATE_SIZE], terminated[OB_DATE_SIZE], irrevocable[OB_DATE_SIZE], tmp[OB_DATE_SIZE];
	int has_end, n;
	enum ob_period p = period_of(c->notice_by_end_of);

	memset(r, 0, sizeof(*r));
	r->milestone = CE_MILESTONE_NONE;
	r->notice_months = -1;
	if (!date_of(api, as_of, today))
		return -1;
	has_end = date_of(api, c->end, r->end);
	n = months_of(c->notice_months);
	r->notice_months = n;
	r->undecided = c->decision == NULL || strcmp(c->decision, "undecided") == 0;

	/* kind: a real terminated_at beats continuous; continuous (or no end
	 * date) beats an end date. */
	if (date_of(api, c->terminated_at, terminated))
		r->kind = CE_TERMINATED;
	else if (c->continuous || !has_end)
		r->kind = CE_CONTINUOUS;
	else
		r->kind = CE_FIXED;

	switch (r->kind) {
	case CE_FIXED:
		/* notice_deadline = add_months(E, −N); N = 0: the end itself. */
		if (n >= 0 && api->add_months(r->end, -n, r->notice_deadline) == 0) {
			r->has_days_left = 1;
			r->days_left = days_between(api, today, r->notice_deadline);
		} else
			r->notice_deadline[0] = '\0';
		r->expired = days_between(api, today, r->end) < 0;
		r->expired_in_use = r->expired && c->in_operation;
		break;
	case CE_CONTINUOUS:
		/* The earliest end if notice were given on as_of, never before
		 * the irrevocable date. */
		if (n >= 0 && api->add_months(today, n, tmp) == 0) {
			if (date_of(api, c->irrevocable_until, irrevocable) && days_between(api, tmp, irrevocable) > 0)
				memcpy(tmp, irrevocable, sizeof(tmp));
			if (api->end_of(tmp, p, r->earliest_end) < 0)
				r->earliest_end[0] = '\0';
		}
		break;
	case CE_TERMINATED:
		/* Notice given on T ends at end_of(T + N, P), or at E if that
		 * comes first; N unknown: E (none without one). */
		if (n >= 0 && api->add_months(terminated, n, tmp) == 0 && api->end_of(tmp, p, r->ends_on) == 0) {
			if (has_end && days_between(api, r->end, r->ends_on) > 0)
				memcpy(r->ends_on, r->end, sizeof(r->ends_on));
		} else
			memcpy(r->ends_on, r->end, sizeof(r->ends_on));
		break;
	}

	if (r->has_days_left) {
		long d = r->days_left;
		if (d >= 0) {
			for (size_t i = 0; i < cfg->nmilestones; i++)
				if (cfg->milestones[i] >= d) {
					r->milestone = cfg->milestones[i];
					break;
				}
		} else if (!r->expired)
			r->milestone = CE_MILESTONE_PASSED; /* deadline gone, E >= as_of */
		r->escalate = d >= 0 && d <= CE_ESCALATE_DAYS && r->undecided;

		/* The exit phase starts L months before the deadline, L by segment. */
		if (c->segment != NULL && c->segment[0] >= 'A' && c->segment[0] <= 'C' && c->segment[1] == '\0' &&
		    api->add_months(r->notice_deadline, -cfg->lead_months[c->segment[0] - 'A'], r->exit_start) == 0)
			r->exit_due = days_between(api, r->exit_start, today) >= 0 && d >= 0 && r->undecided && !c->in_exit;
		else
			r->exit_start[0] = '\0';
	}
	return 0;
}
