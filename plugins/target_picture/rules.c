/* rules.c - target_picture's rules; see rules.h. */
#include "rules.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

int tp_date(const struct ob_api *api, const char *s, char out[OB_DATE_SIZE])
{
	out[0] = '\0';
	if (s == NULL || strlen(s) != 10 || api->end_of(s, OB_PERIOD_NONE, out) < 0) {
		out[0] = '\0';
		return 0;
	}
	return 1;
}

int tp_code_cmp(const char *a, const char *b)
{
	a = a ? a : "";
	b = b ? b : "";
	while (*a && *b) {
		if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
			const char *x = a, *y = b;
			size_t lx, ly;
			while (*x == '0' && isdigit((unsigned char)x[1]))
				x++;
			while (*y == '0' && isdigit((unsigned char)y[1]))
				y++;
			for (lx = 0; isdigit((unsigned char)x[lx]); lx++)
				;
			for (ly = 0; isdigit((unsigned char)y[ly]); ly++)
				;
			if (lx != ly)
				return lx < ly ? -1 : 1;
			int c = strncmp(x, y, lx);
			if (c)
				return c;
			a = x + lx;
			b = y + ly;
			continue;
		}
		if (*a != *b)
			return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
		a++;
		b++;
	}
	if (*a || *b)
		return *a ? 1 : -1;
	return 0;
}

static unsigned long long id_of(const char *s) { return s ? strtoull(s, NULL, 10) : 0; }

int tp_older(const struct tp_version *a, const struct tp_version *b)
{
	int c = strcmp(a->adopted_on ? a->adopted_on : "", b->adopted_on ? b->adopted_on : "");
	if (c)
		return c < 0;
	return id_of(a->id) < id_of(b->id);
}

void tp_latest_two(const struct ob_api *api, const char *as_of, const struct tp_version *v, size_t n, long *latest,
		   long *before)
{
	char day[OB_DATE_SIZE], d[OB_DATE_SIZE];
	int has_day = tp_date(api, as_of, day);

	*latest = *before = -1;
	for (size_t i = 0; i < n; i++) {
		if (!tp_date(api, v[i].adopted_on, d) || (has_day && strcmp(d, day) > 0))
			continue;
		if (*latest < 0 || tp_older(&v[*latest], &v[i])) {
			*before = *latest;
			*latest = (long)i;
		} else if (*before < 0 || tp_older(&v[*before], &v[i]))
			*before = (long)i;
	}
}

unsigned tp_due(const struct ob_api *api, const char *as_of, const struct tp_version *target,
		const struct tp_version *based_on, const struct tp_version *newest, char limit[OB_DATE_SIZE])
{
	char day[OB_DATE_SIZE], adopted[OB_DATE_SIZE];
	unsigned due = 0;

	limit[0] = '\0';
	if (!tp_date(api, as_of, day) || api->add_months(day, -TP_DUE_MONTHS, limit) < 0)
		limit[0] = '\0';
	if (target == NULL)
		return TP_DUE_NONE;
	/* adopted before add_months(as_of, −12): the boundary day itself is not due. */
	if (limit[0] && tp_date(api, target->adopted_on, adopted) && strcmp(adopted, limit) < 0)
		due |= TP_DUE_OLD;
	/* Based on a fremtidsbillede older than the newest one. */
	if (newest != NULL && (based_on == NULL || tp_older(based_on, newest)))
		due |= TP_DUE_OLD_FUTURE;
	return due;
}

const char *tp_due_reason_name(unsigned bit)
{
	switch (bit) {
	case TP_DUE_NONE:
		return "none";
	case TP_DUE_OLD:
		return "older_than_12_months";
	case TP_DUE_OLD_FUTURE:
		return "older_future_picture";
	default:
		return "";
	}
}

const char *tp_diff_kind_name(enum tp_diff_kind kind)
{
	switch (kind) {
	case TP_ADDED:
		return "added";
	case TP_REMOVED:
		return "removed";
	default:
		return "changed";
	}
}

static int same_text(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static int same_systems(const struct tp_action *a, const struct tp_action *b)
{
	if (a->nsystems != b->nsystems)
		return 0;
	for (size_t i = 0; i < a->nsystems; i++)
		if (strcmp(a->systems[i], b->systems[i]) != 0)
			return 0;
	return 1;
}

static int diff_cmp(const void *x, const void *y)
{
	const struct tp_diff *a = x, *b = y;
	const char *ca = a->cur ? a->cur->code : a->prev->code, *cb = b->cur ? b->cur->code : b->prev->code;
	return tp_code_cmp(ca, cb);
}

size_t tp_diff(const struct tp_action *cur, size_t ncur, const struct tp_action *prev, size_t nprev,
	       struct tp_diff *out)
{
	size_t n = 0;

	for (size_t i = 0; i < ncur; i++) {
		const struct tp_action *p = NULL;
		for (size_t j = 0; j < nprev && p == NULL; j++)
			if (same_text(cur[i].code, prev[j].code))
				p = &prev[j];
		if (p == NULL) {
			out[n++] = (struct tp_diff){.kind = TP_ADDED, .cur = &cur[i]};
			continue;
		}
		unsigned what = (same_text(cur[i].title, p->title) ? 0 : TP_CH_TITLE) |
				(same_text(cur[i].change, p->change) ? 0 : TP_CH_CHANGE) |
				(same_systems(&cur[i], p) ? 0 : TP_CH_SYSTEMS);
		if (what)
			out[n++] = (struct tp_diff){.kind = TP_CHANGED, .cur = &cur[i], .prev = p, .what = what};
	}
	for (size_t j = 0; j < nprev; j++) {
		int found = 0;
		for (size_t i = 0; i < ncur && !found; i++)
			found = same_text(cur[i].code, prev[j].code);
		if (!found)
			out[n++] = (struct tp_diff){.kind = TP_REMOVED, .prev = &prev[j]};
	}
	qsort(out, n, sizeof(*out), diff_cmp);
	return n;
}

int tp_window(const struct ob_api *api, const char *as_of, const char *previous_as_of, struct tp_window *w)
{
	memset(w, 0, sizeof(*w));
	if (!tp_date(api, as_of, w->end))
		return -1;
	if (previous_as_of != NULL && tp_date(api, previous_as_of, w->start)) {
		w->inclusive = 0; /* the previous run saw its own as_of */
		return 0;
	}
	/* "within the 12 months before as_of": add_months(as_of, −12) ≤ D ≤ as_of */
	w->inclusive = 1;
	return api->add_months(w->end, -12, w->start) < 0 ? -1 : 0;
}

static const char *maturity_of(const char *s)
{
	static const char *const known[] = {"green", "yellow", "red"};
	for (size_t i = 0; s && i < 3; i++)
		if (strcmp(s, known[i]) == 0)
			return known[i];
	return NULL;
}

void tp_maturity_change(const struct ob_api *api, const struct tp_window *w, const struct tp_maturity_row *rows,
			size_t n, struct tp_maturity *out)
{
	char from_on[OB_DATE_SIZE] = "", d[OB_DATE_SIZE];
	int in_window = 0;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n; i++) {
		const char *m = maturity_of(rows[i].maturity);
		int c;
		if (m == NULL || !tp_date(api, rows[i].changed_on, d) || strcmp(d, w->end) > 0)
			continue;
		c = strcmp(d, w->start);
		if (c < 0 || (c == 0 && !w->inclusive)) { /* before the window */
			if (from_on[0] == '\0' || strcmp(d, from_on) > 0) {
				memcpy(from_on, d, sizeof(from_on));
				out->from = m;
			}
		} else
			in_window = 1;
		if (out->changed_on[0] == '\0' || strcmp(d, out->changed_on) > 0) {
			memcpy(out->changed_on, d, sizeof(out->changed_on));
			out->to = m;
		}
	}
	out->change = in_window && out->to != out->from; /* the interned names compare by pointer */
	out->to_green = out->change && strcmp(out->to, "green") == 0;
	out->yellow_to_green = out->to_green && out->from != NULL && strcmp(out->from, "yellow") == 0;
}

int tp_contract_ends(const struct ob_api *api, const char *as_of, int months, const struct ce_result *r,
		     char out[OB_DATE_SIZE])
{
	char day[OB_DATE_SIZE], until[OB_DATE_SIZE];
	const char *d;

	out[0] = '\0';
	if (r->kind == CE_FIXED)
		d = r->end;
	else if (r->kind == CE_TERMINATED)
		d = r->ends_on;
	else
		return 0; /* continuous: never */
	if (d[0] == '\0' || !tp_date(api, as_of, day) || api->add_months(day, months, until) < 0)
		return 0;
	if (strcmp(d, day) < 0 || strcmp(d, until) > 0)
		return 0;
	memcpy(out, d, OB_DATE_SIZE);
	return 1;
}
