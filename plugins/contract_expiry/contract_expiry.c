/* contract_expiry.c - Kontraktudløb: for each contract of the organisation
 * its notice deadline (the last day to terminate, extend or re-tender in
 * time), milestones reminded to the owners of the systems it covers,
 * escalation to ASG, expired contracts still in operation, continuous
 * contracts' earliest end and the exit checklist (REPORTS.md
 * "contract_expiry"). The rules of one contract are in rules.c. */
#include <overblik/plugin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"

#define CE_PDF_CHECKLISTS 60 /* exit checklists in the PDF; REPORT.json has every row */
#define CE_QUARTERS 8

static const struct ob_setting contract_expiry_settings[] = {
	OB_INIT(ob_setting, .name = "milestones", .type = OB_SETTING_INT_LIST, .def = "[365, 180, 90, 30]",
		.min = 0, .max = 3650, .help = "days before a notice deadline at which the owners are reminded"),
	OB_INIT(ob_setting, .name = "exit_lead_months_A", .type = OB_SETTING_INT, .def = "12", .min = 0,
		.max = 120, .help = "months before the notice deadline the exit starts, segment A"),
	OB_INIT(ob_setting, .name = "exit_lead_months_B", .type = OB_SETTING_INT, .def = "9", .min = 0,
		.max = 120, .help = "months before the notice deadline the exit starts, segment B"),
	OB_INIT(ob_setting, .name = "exit_lead_months_C", .type = OB_SETTING_INT, .def = "6", .min = 0,
		.max = 120, .help = "months before the notice deadline the exit starts, segment C"),
	OB_INIT(ob_setting, .name = "remind_every", .type = OB_SETTING_CHOICE, .def = "\"quarter\"",
		.choices = "month|quarter|year",
		.help = "how often an open gap is reminded (contract_expiry's keys are per deadline)"),
};

/* A covered system, from the second query. */
struct ce_system {
	const char *uuid, *name, *owner_id, *owner_name;
};

/* One contract: its data (borrowed from the rows) and its computed fields. */
struct ce_item {
	const char *uuid, *name, *supplier, *segment, *decision, *by_end_of, *irrevocable;
	char terminated[OB_DATE_SIZE];
	int auto_renewal; /* 1, 0, or -1 unknown */
	int has_cost;
	double cost;
	struct ce_result r;
	size_t s0, ns; /* its systems */
};

struct ce_figures {
	long contracts, fixed, continuous, terminated, without_notice, expired, expired_in_use, passed, escalations,
		exit_due, within30, within90, within180, within365;
	double cost365;
	long ms[CE_MAX_MILESTONES];
};

struct ce_run {
	struct ob_ctx *ctx;
	const struct ob_api *api;
	char as_of[OB_DATE_SIZE];
	struct ce_cfg cfg;
	struct ob_rows *crows, *srows;
	struct ce_item *items;
	size_t n;
	struct ce_system *sys;
	size_t nsys;
	struct ce_figures fig;
};

static const char *const ce_contract_sql =
	"SELECT c.id AS id, c.kitos_uuid AS uuid, c.name AS name, c.supplier AS supplier, c.segment AS segment,"
	" c.end_date AS end_date, c.continuous AS continuous, c.notice_months AS notice_months,"
	" c.notice_by_end_of AS notice_by_end_of, c.irrevocable_until AS irrevocable_until,"
	" c.terminated_at AS terminated_at, c.auto_renewal AS auto_renewal, c.annual_cost AS annual_cost,"
	" c.exit_decision AS exit_decision"
	" FROM contracts c WHERE c.org_id = ? ORDER BY c.id";

/* Covered systems of the organisation's contracts, ordered as the
 * contracts are; an owner only when the person is of the organisation. */
static const char *const ce_system_sql =
	"SELECT cs.contract_id AS contract_id, s.kitos_uuid AS uuid, s.name AS name,"
	" s.kitos_lifecycle AS kitos_lifecycle, s.lifecycle_phase AS lifecycle_phase,"
	" p.id AS owner_id, p.name AS owner_name"
	" FROM contract_systems cs JOIN contracts c ON c.id = cs.contract_id"
	" JOIN systems s ON s.id = cs.system_id"
	" LEFT JOIN people p ON p.id = s.owner_id AND p.org_id = ?"
	" WHERE c.org_id = ? AND s.org_id = ? ORDER BY cs.contract_id, s.name, s.kitos_uuid";

static unsigned long long id_of(const char *s) { return s ? strtoull(s, NULL, 10) : 0; }

static const char *decision_da(const char *d)
{
	if (d == NULL || strcmp(d, "undecided") == 0)
		return "ikke truffet";
	if (strcmp(d, "extend") == 0)
		return "forlænges";
	if (strcmp(d, "terminate") == 0)
		return "opsiges";
	if (strcmp(d, "retender") == 0)
		return "genudbydes";
	return d;
}

static const char *period_da(const char *p)
{
	if (p == NULL)
		return "";
	if (strcmp(p, "month") == 0)
		return "måned";
	if (strcmp(p, "quarter") == 0)
		return "kvartal";
	if (strcmp(p, "year") == 0)
		return "år";
	return "";
}

static const char *plural(long n, const char *one, const char *many) { return n == 1 ? one : many; }

/* A date the Danish way, or "" (never fails the run). */
static const char *date_da(const struct ob_api *api, const char *date, char *out, size_t size)
{
	if (date == NULL || *date == '\0' || api->date_da(date, out, size) < 0)
		out[0] = '\0';
	return out;
}

static const char *number_da(const struct ob_api *api, double v, int decimals, char *out, size_t size)
{
	if (api->number_da(v, decimals, out, size) < 0)
		snprintf(out, size, "%.*f", decimals, v);
	return out;
}

/* The names of a contract's systems, ", " between; caller frees. */
static char *join_systems(const struct ce_run *x, const struct ce_item *it, int owners)
{
	size_t len = 1;
	char *s;

	for (size_t i = 0; i < it->ns; i++) {
		const struct ce_system *sy = &x->sys[it->s0 + i];
		const char *v = owners ? sy->owner_name : sy->name;
		len += (v ? strlen(v) : 0) + 2;
	}
	s = calloc(1, len);
	if (s == NULL)
		return NULL;
	for (size_t i = 0; i < it->ns; i++) {
		const struct ce_system *sy = &x->sys[it->s0 + i];
		const char *v = owners ? sy->owner_name : sy->name;
		if (v == NULL || *v == '\0')
			continue;
		if (owners) { /* each owner once */
			int seen = 0;
			for (size_t j = 0; j < i; j++)
				seen |= x->sys[it->s0 + j].owner_name && strcmp(x->sys[it->s0 + j].owner_name, v) == 0;
			if (seen)
				continue;
		}
		if (*s)
			strcat(s, ", ");
		strcat(s, v);
	}
	return s;
}

/* Reads the contracts and their systems, and computes each contract. */
static int load(struct ce_run *x)
{
	const struct ob_api *api = x->api;
	const char *org = api->org_id(x->ctx);
	const char *p1[] = {org}, *p3[] = {org, org, org};
	size_t j = 0;

	if (api->query(x->ctx, ce_contract_sql, p1, 1, &x->crows) < 0 ||
	    api->query(x->ctx, ce_system_sql, p3, 3, &x->srows) < 0)
		return -1;
	x->n = api->nrows(x->crows);
	x->nsys = api->nrows(x->srows);
	x->items = calloc(x->n ? x->n : 1, sizeof(*x->items));
	x->sys = calloc(x->nsys ? x->nsys : 1, sizeof(*x->sys));
	if (x->items == NULL || x->sys == NULL) {
		api->log(x->ctx, OB_PLOG_ERR, "out of memory for %zu contracts", x->n);
		return -1;
	}
	for (size_t i = 0; i < x->nsys; i++) {
		struct ce_system *s = &x->sys[i];
		s->uuid = api->cell(x->srows, i, "uuid");
		s->name = api->cell(x->srows, i, "name");
		s->owner_id = api->cell(x->srows, i, "owner_id");
		s->owner_name = api->cell(x->srows, i, "owner_name");
	}
	for (size_t i = 0; i < x->n; i++) {
		struct ce_item *it = &x->items[i];
		const struct ob_rows *r = x->crows;
		unsigned long long id = id_of(api->cell(r, i, "id"));
		const char *ar = api->cell(r, i, "auto_renewal"), *cost = api->cell(r, i, "annual_cost");
		const char *cont = api->cell(r, i, "continuous"), *term = api->cell(r, i, "terminated_at");
		struct ce_contract c = {0};
		char *end;

		it->uuid = api->cell(r, i, "uuid");
		it->name = api->cell(r, i, "name");
		it->supplier = api->cell(r, i, "supplier");
		it->segment = api->cell(r, i, "segment");
		it->decision = api->cell(r, i, "exit_decision");
		it->by_end_of = api->cell(r, i, "notice_by_end_of");
		it->irrevocable = api->cell(r, i, "irrevocable_until");
		if (it->decision == NULL)
			it->decision = "undecided";
		if (it->by_end_of && *period_da(it->by_end_of) == '\0')
			it->by_end_of = NULL;
		it->auto_renewal = ar == NULL ? -1 : strcmp(ar, "0") != 0;
		if (cost != NULL && *cost) {
			it->cost = strtod(cost, &end);
			it->has_cost = *end == '\0';
			if (!it->has_cost)
				it->cost = 0;
		}
		if (term == NULL || strlen(term) != 10 || api->end_of(term, OB_PERIOD_NONE, it->terminated) < 0)
			it->terminated[0] = '\0';

		/* Its systems: both queries are ordered by the contract id. */
		while (j < x->nsys && id_of(api->cell(x->srows, j, "contract_id")) < id)
			j++;
		it->s0 = j;
		while (j < x->nsys && id_of(api->cell(x->srows, j, "contract_id")) == id) {
			const char *life = api->cell(x->srows, j, "kitos_lifecycle");
			const char *phase = api->cell(x->srows, j, "lifecycle_phase");
			/* In operation: anything but not_in_use, unknown included. */
			c.in_operation |= life == NULL || strcmp(life, "not_in_use") != 0;
			c.in_exit |= phase != NULL && strcmp(phase, "exit") == 0;
			j++;
		}
		it->ns = j - it->s0;

		c.end = api->cell(r, i, "end_date");
		c.continuous = cont != NULL && strcmp(cont, "0") != 0;
		c.notice_months = api->cell(r, i, "notice_months");
		c.notice_by_end_of = it->by_end_of;
		c.irrevocable_until = it->irrevocable;
		c.terminated_at = term;
		c.segment = it->segment;
		c.decision = it->decision;
		if (ce_evaluate(api, x->as_of, &x->cfg, &c, &it->r) < 0) {
			api->log(x->ctx, OB_PLOG_ERR, "as_of \"%s\" is not a date", x->as_of);
			return -1;
		}
	}
	return 0;
}

static void count(struct ce_run *x)
{
	struct ce_figures *f = &x->fig;

	memset(f, 0, sizeof(*f));
	for (size_t i = 0; i < x->n; i++) {
		const struct ce_result *r = &x->items[i].r;
		f->contracts++;
		f->fixed += r->kind == CE_FIXED;
		f->continuous += r->kind == CE_CONTINUOUS;
		f->terminated += r->kind == CE_TERMINATED;
		f->without_notice += r->kind != CE_TERMINATED && r->notice_months < 0;
		f->expired += r->expired;
		f->expired_in_use += r->expired_in_use;
		f->passed += r->milestone == CE_MILESTONE_PASSED;
		f->escalations += r->escalate;
		f->exit_due += r->exit_due;
		f->within30 += ce_deadline_within(r, 30);
		f->within90 += ce_deadline_within(r, 90);
		f->within180 += ce_deadline_within(r, 180);
		f->within365 += ce_deadline_within(r, 365);
		if (ce_deadline_within(r, 365))
			f->cost365 += x->items[i].cost;
		for (size_t m = 0; m < x->cfg.nmilestones; m++)
			f->ms[m] += r->milestone == x->cfg.milestones[m];
	}
}

static int date_or_null(const struct ob_api *api, struct ob_json *o, const char *key, const char *date)
{
	return api->j_date(o, key, date && *date ? date : NULL);
}

static int write_json(struct ce_run *x)
{
	const struct ob_api *api = x->api;
	struct ob_json *rows = api->j_array(api->report_json(x->ctx), "contracts");
	struct ob_json *fig = api->figures(x->ctx), *ms;
	const struct ce_figures *f = &x->fig;
	int rc = 0;

	if (rows == NULL || fig == NULL)
		return -1;
	for (size_t i = 0; i < x->n; i++) {
		const struct ce_item *it = &x->items[i];
		const struct ce_result *r = &it->r;
		struct ob_json *o = api->j_object(rows, NULL), *sys;
		if (o == NULL)
			return -1;
		rc |= api->j_text(o, "uuid", it->uuid);
		rc |= api->j_text(o, "name", it->name);
		rc |= api->j_text(o, "supplier", it->supplier);
		rc |= api->j_text(o, "segment", it->segment);
		rc |= api->j_text(o, "kind", ce_kind_name(r->kind));
		rc |= date_or_null(api, o, "end", r->end);
		rc |= r->notice_months >= 0 ? api->j_int(o, "notice_months", r->notice_months)
					    : api->j_null(o, "notice_months");
		rc |= api->j_text(o, "notice_by_end_of", it->by_end_of);
		rc |= date_or_null(api, o, "notice_deadline", r->notice_deadline);
		rc |= r->has_days_left ? api->j_int(o, "days_left", r->days_left) : api->j_null(o, "days_left");
		rc |= date_or_null(api, o, "earliest_end", r->earliest_end);
		rc |= date_or_null(api, o, "ends_on", r->ends_on);
		if (r->milestone == CE_MILESTONE_PASSED)
			rc |= api->j_text(o, "milestone", "passed");
		else if (r->milestone == CE_MILESTONE_NONE)
			rc |= api->j_null(o, "milestone");
		else
			rc |= api->j_int(o, "milestone", r->milestone);
		rc |= api->j_bool(o, "expired", r->expired);
		rc |= api->j_bool(o, "expired_in_use", r->expired_in_use);
		rc |= api->j_bool(o, "escalate", r->escalate);
		rc |= date_or_null(api, o, "exit_start", r->exit_start);
		rc |= api->j_bool(o, "exit_due", r->exit_due);
		rc |= api->j_text(o, "decision", it->decision);
		rc |= it->auto_renewal < 0 ? api->j_null(o, "auto_renewal") : api->j_bool(o, "auto_renewal", it->auto_renewal);
		rc |= it->has_cost ? api->j_number(o, "annual_cost", it->cost, 2) : api->j_null(o, "annual_cost");
		if ((sys = api->j_array(o, "systems")) == NULL)
			return -1;
		for (size_t s = 0; s < it->ns; s++)
			rc |= api->j_text(sys, NULL, x->sys[it->s0 + s].uuid);
	}

	rc |= api->j_int(fig, "contracts", f->contracts);
	rc |= api->j_int(fig, "fixed", f->fixed);
	rc |= api->j_int(fig, "continuous", f->continuous);
	rc |= api->j_int(fig, "terminated", f->terminated);
	rc |= api->j_int(fig, "without_notice_period", f->without_notice);
	rc |= api->j_int(fig, "expired", f->expired);
	rc |= api->j_int(fig, "expired_in_use", f->expired_in_use);
	rc |= api->j_int(fig, "passed", f->passed);
	rc |= api->j_int(fig, "escalations", f->escalations);
	rc |= api->j_int(fig, "exit_due", f->exit_due);
	rc |= api->j_int(fig, "deadline_within_30", f->within30);
	rc |= api->j_int(fig, "deadline_within_90", f->within90);
	rc |= api->j_int(fig, "deadline_within_180", f->within180);
	rc |= api->j_int(fig, "deadline_within_365", f->within365);
	rc |= api->j_number(fig, "annual_cost_deadline_within_365", f->cost365, 2);
	if ((ms = api->j_object(fig, "milestones")) == NULL)
		return -1;
	for (size_t m = x->cfg.nmilestones; m-- > 0;) { /* largest first, as the setting's default */
		char key[32];
		snprintf(key, sizeof(key), "%lld", x->cfg.milestones[m]);
		rc |= api->j_int(ms, key, f->ms[m]);
	}
	rc |= api->j_int(ms, "passed", f->passed);
	return rc ? -1 : 0;
}

/* The values every item template may use; all strings. */
struct ce_kv {
	char deadline[40], end[40], exit_start[40], days[32], days_ago[32], milestone[24], cost[48], lead[16];
	char *systems, *owners;
	const char *kv[48];
};

static void kv_fill(const struct ce_run *x, const struct ce_item *it, struct ce_kv *v)
{
	const struct ob_api *api = x->api;
	const struct ce_result *r = &it->r;
	size_t k = 0;
	long d = r->days_left;

	date_da(api, r->notice_deadline, v->deadline, sizeof(v->deadline));
	date_da(api, r->end, v->end, sizeof(v->end));
	date_da(api, r->exit_start, v->exit_start, sizeof(v->exit_start));
	number_da(api, (double)(d < 0 ? 0 : d), 0, v->days, sizeof(v->days));
	number_da(api, (double)(d < 0 ? -d : 0), 0, v->days_ago, sizeof(v->days_ago));
	v->milestone[0] = v->cost[0] = v->lead[0] = '\0';
	if (r->milestone >= 0)
		snprintf(v->milestone, sizeof(v->milestone), "%lld", r->milestone);
	if (it->has_cost) {
		number_da(api, it->cost, 0, v->cost, sizeof(v->cost));
	}
	if (it->segment && it->segment[0] >= 'A' && it->segment[0] <= 'C')
		snprintf(v->lead, sizeof(v->lead), "%d", x->cfg.lead_months[it->segment[0] - 'A']);
	v->systems = join_systems(x, it, 0);
	v->owners = join_systems(x, it, 1);
#define KV(key, val) (v->kv[k++] = (key), v->kv[k++] = (val))
	KV("uuid", it->uuid ? it->uuid : "");
	KV("contract", it->name ? it->name : "");
	KV("supplier", it->supplier ? it->supplier : "");
	KV("systems", v->systems ? v->systems : "");
	KV("owners", v->owners ? v->owners : "");
	KV("deadline", v->deadline);
	KV("deadline_iso", r->notice_deadline);
	KV("days", v->days);
	KV("days_one", d == 1 ? "1" : "");
	KV("today", r->has_days_left && d == 0 ? "1" : "");
	KV("days_ago", v->days_ago);
	KV("ago_one", d == -1 ? "1" : "");
	KV("end", v->end);
	KV("end_iso", r->end);
	KV("milestone", v->milestone);
	KV("decided", r->undecided ? "" : "1");
	KV("decision", decision_da(it->decision));
	KV("auto_renewal", it->auto_renewal == 1 ? "1" : "");
	KV("segment", it->segment ? it->segment : "");
	KV("exit_start", v->exit_start);
	KV("lead_months", v->lead);
	KV("cost", v->cost);
#undef KV
	v->kv[k] = NULL;
}

static void kv_free(struct ce_kv *v)
{
	free(v->systems);
	free(v->owners);
}

static int send(const struct ce_run *x, const char *recipient, const char *key, const char *tpl, const struct ce_kv *v)
{
	struct ob_notice n = OB_INIT(ob_notice, .recipient = recipient, .dedupe_key = key, .template = tpl, .kv = v->kv);
	return x->api->notify(x->ctx, &n);
}

/* Sends tpl with key to each owner of the contract's systems once, or to
 * indkoeb when none of them has an owner; also_indkoeb adds indkoeb. */
static int to_owners(const struct ce_run *x, const struct ce_item *it, const char *key, const char *tpl,
		     const struct ce_kv *v, int also_indkoeb)
{
	int sent = 0;
	char rcpt[64];

	for (size_t i = 0; i < it->ns; i++) {
		const char *o = x->sys[it->s0 + i].owner_id;
		int seen = 0;
		if (o == NULL || *o == '\0')
			continue;
		for (size_t j = 0; j < i; j++)
			seen |= x->sys[it->s0 + j].owner_id && strcmp(x->sys[it->s0 + j].owner_id, o) == 0;
		if (seen)
			continue;
		snprintf(rcpt, sizeof(rcpt), "owner:%s", o);
		if (send(x, rcpt, key, tpl, v) < 0)
			return -1;
		sent++;
	}
	if ((sent == 0 || also_indkoeb) && send(x, "indkoeb", key, tpl, v) < 0)
		return -1;
	return 0;
}

static int notify_all(struct ce_run *x)
{
	char key[256];
	int rc = 0;

	for (size_t i = 0; i < x->n && rc == 0; i++) {
		const struct ce_item *it = &x->items[i];
		const struct ce_result *r = &it->r;
		const char *uuid = it->uuid ? it->uuid : "";
		struct ce_kv v;

		if (r->milestone == CE_MILESTONE_NONE && !r->exit_due && !r->expired_in_use && !r->escalate)
			continue;
		kv_fill(x, it, &v);
		if (r->milestone >= 0) {
			snprintf(key, sizeof(key), "contract:%s:deadline:%s:%lld", uuid, r->notice_deadline, r->milestone);
			rc |= to_owners(x, it, key, "contract_expiry/deadline", &v, 0);
		} else if (r->milestone == CE_MILESTONE_PASSED) {
			snprintf(key, sizeof(key), "contract:%s:deadline:%s:passed", uuid, r->notice_deadline);
			rc |= to_owners(x, it, key, "contract_expiry/passed", &v, 0);
		}
		if (r->exit_due) {
			snprintf(key, sizeof(key), "contract:%s:exit:%s", uuid, r->notice_deadline);
			rc |= to_owners(x, it, key, "contract_expiry/exit", &v, 0);
		}
		if (r->expired_in_use) {
			snprintf(key, sizeof(key), "contract:%s:expired:%s", uuid, r->end);
			rc |= to_owners(x, it, key, "contract_expiry/expired", &v, 1);
		}
		if (r->escalate) {
			snprintf(key, sizeof(key), "contract:%s:deadline:%s:asg", uuid, r->notice_deadline);
			rc |= send(x, "asg", key, "contract_expiry/escalate", &v);
		}
		kv_free(&v);
	}
	return rc ? -1 : 0;
}

/* The PDF. */

static void kpi(const struct ce_run *x, struct ob_doc *doc, const char *label, const char *path, double value,
		const char *unit, int decimals, double scale)
{
	const struct ob_api *api = x->api;
	struct ob_kpi k = OB_INIT(ob_kpi, .label = label, .value = value * scale, .unit = unit, .decimals = decimals);
	double prev;

	if (api->previous(x->ctx, path, &prev) == 1) {
		k.has_previous = 1;
		k.previous = prev * scale;
	}
	api->kpi(doc, &k);
}

static int by_deadline(const void *a, const void *b)
{
	const struct ce_item *x = *(const struct ce_item *const *)a, *y = *(const struct ce_item *const *)b;
	int c = strcmp(x->r.notice_deadline, y->r.notice_deadline);
	return c ? c : strcmp(x->name ? x->name : "", y->name ? y->name : "");
}

static int by_earliest_end(const void *a, const void *b)
{
	const struct ce_item *x = *(const struct ce_item *const *)a, *y = *(const struct ce_item *const *)b;
	/* No earliest end (unknown notice) last. */
	int c = (*x->r.earliest_end == '\0') - (*y->r.earliest_end == '\0');
	if (c == 0)
		c = strcmp(x->r.earliest_end, y->r.earliest_end);
	return c ? c : strcmp(x->name ? x->name : "", y->name ? y->name : "");
}

static int by_end(const void *a, const void *b)
{
	const struct ce_item *x = *(const struct ce_item *const *)a, *y = *(const struct ce_item *const *)b;
	int c = strcmp(x->r.end, y->r.end);
	if (c == 0)
		c = strcmp(x->r.ends_on, y->r.ends_on);
	return c ? c : strcmp(x->name ? x->name : "", y->name ? y->name : "");
}

/* The contracts for which keep() says yes, sorted by cmp; caller frees. */
static const struct ce_item **select_items(const struct ce_run *x, int (*keep)(const struct ce_item *),
					   int (*cmp)(const void *, const void *), size_t *n)
{
	const struct ce_item **v = calloc(x->n ? x->n : 1, sizeof(*v));
	*n = 0;
	if (v == NULL)
		return NULL;
	for (size_t i = 0; i < x->n; i++)
		if (keep(&x->items[i]))
			v[(*n)++] = &x->items[i];
	qsort(v, *n, sizeof(*v), cmp);
	return v;
}

/* Deadlines of the next 12 months, passed ones included. */
static int keep_upcoming(const struct ce_item *it)
{
	return ce_deadline_within(&it->r, 365) || it->r.milestone == CE_MILESTONE_PASSED;
}
static int keep_escalate(const struct ce_item *it) { return it->r.escalate; }
static int keep_expired_in_use(const struct ce_item *it) { return it->r.expired_in_use; }
static int keep_continuous(const struct ce_item *it) { return it->r.kind == CE_CONTINUOUS; }
static int keep_terminated(const struct ce_item *it) { return it->r.kind == CE_TERMINATED; }
/* The exit has started (or, without a segment, the deadline is within a
 * year), and the deadline is still ahead. */
static int keep_exit(const struct ce_item *it)
{
	return ce_deadline_within(&it->r, 365) && (it->r.exit_due || it->r.exit_start[0] == '\0' || !it->r.undecided);
}

static enum ob_status deadline_status(const struct ce_result *r)
{
	if (!r->has_days_left)
		return OB_STATUS_NONE;
	if (r->days_left <= 30)
		return OB_STATUS_RED;
	return r->days_left <= 90 ? OB_STATUS_AMBER : OB_STATUS_GREEN;
}

static const char *yes_no(int v) { return v < 0 ? "" : v ? "Ja" : "Nej"; }

static void summary(const struct ce_run *x, struct ob_doc *doc)
{
	const struct ob_api *api = x->api;
	const struct ce_figures *f = &x->fig;
	const char *org = api->org_name(x->ctx);
	char asof[40], prev[40], first[40], buf[3][768];
	const char *points[3];
	size_t np = 0, nesc = 0;
	const struct ce_item **esc = select_items(x, keep_escalate, by_deadline, &nesc);

	date_da(api, x->as_of, asof, sizeof(asof));
	api->title(doc, "Kontraktudløb", org ? org : "");
	api->para(doc, "%s: opsigelsesfrister for kommunens %ld %s pr. %s. Opsigelsesfristen er den sidste dag, "
		       "hvor en kontrakt kan opsiges, forlænges eller sendes i genudbud i tide.",
		  org ? org : "Organisationen", f->contracts, plural(f->contracts, "kontrakt", "kontrakter"), asof);
	if (api->previous_as_of(x->ctx))
		api->para(doc, "Udviklingen i nøgletallene er målt mod opgørelsen pr. %s.",
			  date_da(api, api->previous_as_of(x->ctx), prev, sizeof(prev)));
	kpi(x, doc, "Kontrakter", "contracts", (double)f->contracts, "stk.", 0, 1);
	kpi(x, doc, "Frist inden 90 dage", "deadline_within_90", (double)f->within90, "stk.", 0, 1);
	kpi(x, doc, "Kræver beslutning", "escalations", (double)f->escalations, "stk.", 0, 1);
	kpi(x, doc, "Frist overskredet", "passed", (double)f->passed, "stk.", 0, 1);
	kpi(x, doc, "Udløbet, men i drift", "expired_in_use", (double)f->expired_in_use, "stk.", 0, 1);
	kpi(x, doc, "Exit bør være i gang", "exit_due", (double)f->exit_due, "stk.", 0, 1);
	kpi(x, doc, "Årlig udgift, frist inden 12 mdr.", "annual_cost_deadline_within_365", f->cost365, "mio. kr.", 1,
	    1e-6);

	if (f->escalations > 0 && esc && nesc > 0) {
		snprintf(buf[np], sizeof(buf[np]),
			 "%ld %s opsigelsesfrist inden for 90 dage, uden at der er besluttet forlængelse, opsigelse "
			 "eller genudbud. Den første er %s%s%s%s med frist %s.",
			 f->escalations, plural(f->escalations, "kontrakt har", "kontrakter har"),
			 esc[0]->name ? esc[0]->name : "", esc[0]->supplier ? " (" : "",
			 esc[0]->supplier ? esc[0]->supplier : "", esc[0]->supplier ? ")" : "",
			 date_da(api, esc[0]->r.notice_deadline, first, sizeof(first)));
		points[np] = buf[np];
		np++;
	}
	if (f->passed > 0) {
		snprintf(buf[np], sizeof(buf[np]),
			 "For %ld %s er opsigelsesfristen overskredet, før kontrakten udløber: den løber til udløb "
			 "eller fornyes automatisk. Indkøb og Udbud bør afklare, hvad der kan gøres.",
			 f->passed, plural(f->passed, "kontrakt", "kontrakter"));
		points[np] = buf[np];
		np++;
	}
	if (f->expired_in_use > 0 && np < 3) {
		snprintf(buf[np], sizeof(buf[np]),
			 "%ld %s udløbet, men dækker systemer, der stadig er i drift: der skal indgås en ny kontrakt, "
			 "eller systemerne skal udfases.",
			 f->expired_in_use, plural(f->expired_in_use, "kontrakt er", "kontrakter er"));
		points[np] = buf[np];
		np++;
	}
	if (f->exit_due > 0 && np < 3) {
		snprintf(buf[np], sizeof(buf[np]),
			 "%ld %s i exit-fasen nu uden en beslutning: datalevering, arkivering og valget mellem "
			 "forlængelse, opsigelse og genudbud skal forberedes.",
			 f->exit_due, plural(f->exit_due, "kontrakt bør være", "kontrakter bør være"));
		points[np] = buf[np];
		np++;
	}
	api->para_runs(doc, (const struct ob_text_run[]){{"Det kræver beslutning", OB_TEXT_BOLD}}, 1);
	if (np > 0)
		api->bullets(doc, points, np);
	else
		api->para(doc, "Ingen kontrakter kræver en beslutning lige nu.");
	free(esc);
}

static void upcoming(const struct ce_run *x, struct ob_doc *doc)
{
	const struct ob_api *api = x->api;
	static const char *const head[] = {"Frist", "Dage", "Kontrakt", "Leverandør", "Systemer", "Seg.",
					   "Beslutning", "Udløb", "Årlig udgift (kr.)"};
	const struct ob_column cols[] = {
		OB_INIT(ob_column, .header = head[0], .width = 1.1, .format = OB_FMT_DATE),
		OB_INIT(ob_column, .header = head[1], .width = 0.6, .align = OB_ALIGN_RIGHT, .format = OB_FMT_NUMBER),
		OB_INIT(ob_column, .header = head[2], .width = 2.6),
		OB_INIT(ob_column, .header = head[3], .width = 1.6),
		OB_INIT(ob_column, .header = head[4], .width = 2.2),
		OB_INIT(ob_column, .header = head[5], .width = 0.5, .align = OB_ALIGN_CENTER),
		OB_INIT(ob_column, .header = head[6], .width = 1.1),
		OB_INIT(ob_column, .header = head[7], .width = 1.1, .format = OB_FMT_DATE),
		OB_INIT(ob_column, .header = head[8], .width = 1.3, .align = OB_ALIGN_RIGHT, .format = OB_FMT_NUMBER),
	};
	size_t n = 0;
	const struct ce_item **v = select_items(x, keep_upcoming, by_deadline, &n);

	api->section(doc, 1, "Opsigelsesfrister de næste 12 måneder", OB_SECTION_LANDSCAPE | OB_SECTION_NEW_PAGE);
	api->para(doc, "Faste kontrakter med opsigelsesfrist inden for 365 dage, og dem hvis frist er overskredet, "
		       "før kontrakten udløber, efter frist. Rød: overskredet eller højst 30 dage; gul: højst 90 "
		       "dage; grøn: senere.");
	if (v == NULL || n == 0) {
		api->para(doc, "Ingen opsigelsesfrister de næste 12 måneder.");
		free(v);
		return;
	}
	struct ob_table *t = api->table(doc, cols, sizeof(cols) / sizeof(cols[0]));
	for (size_t i = 0; t && i < n; i++) {
		const struct ce_item *it = v[i];
		char days[32], cost[48];
		char *systems = join_systems(x, it, 0);
		snprintf(days, sizeof(days), "%ld", it->r.days_left);
		if (it->has_cost)
			snprintf(cost, sizeof(cost), "%.0f", it->cost);
		else
			cost[0] = '\0';
		const char *cells[] = {it->r.notice_deadline, days, it->name ? it->name : "",
				       it->supplier ? it->supplier : "", systems ? systems : "",
				       it->segment ? it->segment : "", decision_da(it->decision), it->r.end, cost};
		api->row(t, cells, deadline_status(&it->r));
		free(systems);
	}
	free(v);
}

static void escalations(const struct ce_run *x, struct ob_doc *doc)
{
	const struct ob_api *api = x->api;
	const struct ob_column cols[] = {
		OB_INIT(ob_column, .header = "Frist", .width = 1.1, .format = OB_FMT_DATE),
		OB_INIT(ob_column, .header = "Dage", .width = 0.6, .align = OB_ALIGN_RIGHT, .format = OB_FMT_NUMBER),
		OB_INIT(ob_column, .header = "Kontrakt", .width = 2.6),
		OB_INIT(ob_column, .header = "Leverandør", .width = 1.6),
		OB_INIT(ob_column, .header = "Systemejer", .width = 2.0),
		OB_INIT(ob_column, .header = "Fornyes automatisk", .width = 1.0, .align = OB_ALIGN_CENTER),
		OB_INIT(ob_column, .header = "Årlig udgift (kr.)", .width = 1.3, .align = OB_ALIGN_RIGHT,
			.format = OB_FMT_NUMBER),
	};
	size_t n = 0;
	const struct ce_item **v = select_items(x, keep_escalate, by_deadline, &n);

	api->section(doc, 1, "Kræver beslutning", OB_SECTION_LANDSCAPE);
	api->para(doc, "Opsigelsesfristen er højst %d dage væk, og der er ikke besluttet forlængelse, opsigelse eller "
		       "genudbud. Hver af dem er sendt til ASG.",
		  CE_ESCALATE_DAYS);
	if (v == NULL || n == 0) {
		api->para(doc, "Ingen kontrakter venter på en beslutning med en frist inden for %d dage.",
			  CE_ESCALATE_DAYS);
		free(v);
		return;
	}
	struct ob_table *t = api->table(doc, cols, sizeof(cols) / sizeof(cols[0]));
	for (size_t i = 0; t && i < n; i++) {
		const struct ce_item *it = v[i];
		char days[32], cost[48];
		char *owners = join_systems(x, it, 1);
		snprintf(days, sizeof(days), "%ld", it->r.days_left);
		if (it->has_cost)
			snprintf(cost, sizeof(cost), "%.0f", it->cost);
		else
			cost[0] = '\0';
		const char *cells[] = {it->r.notice_deadline,
				       days,
				       it->name ? it->name : "",
				       it->supplier ? it->supplier : "",
				       owners && *owners ? owners : "(ingen)",
				       yes_no(it->auto_renewal),
				       cost};
		api->row(t, cells, deadline_status(&it->r));
		free(owners);
	}
	free(v);
}

static void expired_in_use(const struct ce_run *x, struct ob_doc *doc)
{
	const struct ob_api *api = x->api;
	const struct ob_column cols[] = {
		OB_INIT(ob_column, .header = "Udløb", .width = 1.1, .format = OB_FMT_DATE),
		OB_INIT(ob_column, .header = "Kontrakt", .width = 2.6),
		OB_INIT(ob_column, .header = "Leverandør", .width = 1.6),
		OB_INIT(ob_column, .header = "Systemer", .width = 2.4),
		OB_INIT(ob_column, .header = "Systemejer", .width = 2.0),
	};
	size_t n = 0;
	const struct ce_item **v = select_items(x, keep_expired_in_use, by_end, &n);

	api->section(doc, 1, "Udløbne kontrakter med systemer i drift", OB_SECTION_LANDSCAPE);
	api->para(doc, "Faste kontrakter, hvis slutdato er passeret, mens mindst ét af de dækkede systemer stadig er i "
		       "drift (alt andet end \"ikke i brug\" i KITOS tæller som i drift).");
	if (v == NULL || n == 0) {
		api->para(doc, "Ingen udløbne kontrakter dækker systemer i drift.");
		free(v);
		return;
	}
	struct ob_table *t = api->table(doc, cols, sizeof(cols) / sizeof(cols[0]));
	for (size_t i = 0; t && i < n; i++) {
		char *systems = join_systems(x, v[i], 0), *owners = join_systems(x, v[i], 1);
		const char *cells[] = {v[i]->r.end, v[i]->name ? v[i]->name : "", v[i]->supplier ? v[i]->supplier : "",
				       systems ? systems : "", owners ? owners : ""};
		api->row(t, cells, OB_STATUS_RED);
		free(systems);
		free(owners);
	}
	free(v);
}

static void continuous(const struct ce_run *x, struct ob_doc *doc)
{
	const struct ob_api *api = x->api;
	const struct ob_column cols[] = {
		OB_INIT(ob_column, .header = "Kontrakt", .width = 2.6),
		OB_INIT(ob_column, .header = "Leverandør", .width = 1.6),
		OB_INIT(ob_column, .header = "Varsel (mdr.)", .width = 0.8, .align = OB_ALIGN_RIGHT,
			.format = OB_FMT_NUMBER),
		OB_INIT(ob_column, .header = "Til udgangen af", .width = 0.9),
		OB_INIT(ob_column, .header = "Uopsigelig til", .width = 1.1, .format = OB_FMT_DATE),
		OB_INIT(ob_column, .header = "Tidligste ophør", .width = 1.1, .format = OB_FMT_DATE),
		OB_INIT(ob_column, .header = "Årlig udgift (kr.)", .width = 1.2, .align = OB_ALIGN_RIGHT,
			.format = OB_FMT_NUMBER),
	};
	const struct ob_column tcols[] = {
		OB_INIT(ob_column, .header = "Opsagt", .width = 1.1, .format = OB_FMT_DATE),
		OB_INIT(ob_column, .header = "Ophører", .width = 1.1, .format = OB_FMT_DATE),
		OB_INIT(ob_column, .header = "Kontrakt", .width = 2.6),
		OB_INIT(ob_column, .header = "Leverandør", .width = 1.6),
		OB_INIT(ob_column, .header = "Systemer", .width = 2.4),
	};
	size_t n = 0;
	const struct ce_item **v = select_items(x, keep_continuous, by_earliest_end, &n);
	char irr[OB_DATE_SIZE];

	api->section(doc, 1, "Løbende kontrakter", OB_SECTION_LANDSCAPE);
	api->para(doc, "Kontrakter uden slutdato, der løber, til de opsiges. Tidligste ophør er den dag, kontrakten "
		       "ophører, hvis den opsiges i dag: opsigelsesvarslet lagt til i dag, aldrig før den uopsigelige "
		       "periode er slut, og til udgangen af den måned, det kvartal eller det år, kontrakten nævner. "
		       "Uden kendt varsel kan det ikke beregnes.");
	if (v && n > 0) {
		struct ob_table *t = api->table(doc, cols, sizeof(cols) / sizeof(cols[0]));
		for (size_t i = 0; t && i < n; i++) {
			const struct ce_item *it = v[i];
			char months[16], cost[48];
			if (it->r.notice_months >= 0)
				snprintf(months, sizeof(months), "%d", it->r.notice_months);
			else
				months[0] = '\0';
			if (it->has_cost)
				snprintf(cost, sizeof(cost), "%.0f", it->cost);
			else
				cost[0] = '\0';
			if (it->irrevocable == NULL || strlen(it->irrevocable) != 10 ||
			    api->end_of(it->irrevocable, OB_PERIOD_NONE, irr) < 0)
				irr[0] = '\0';
			const char *cells[] = {it->name ? it->name : "",
					       it->supplier ? it->supplier : "",
					       months,
					       period_da(it->by_end_of),
					       irr,
					       it->r.earliest_end,
					       cost};
			api->row(t, cells, it->r.earliest_end[0] ? OB_STATUS_NONE : OB_STATUS_AMBER);
		}
	} else
		api->para(doc, "Ingen løbende kontrakter.");
	free(v);

	v = select_items(x, keep_terminated, by_end, &n);
	if (v && n > 0) {
		api->section(doc, 2, "Opsagte kontrakter", 0);
		api->para(doc, "Kontrakter, der er opsagt: de ophører ved udgangen af perioden efter varslet, eller ved "
			       "slutdatoen, hvis den kommer først.");
		struct ob_table *t = api->table(doc, tcols, sizeof(tcols) / sizeof(tcols[0]));
		for (size_t i = 0; t && i < n; i++) {
			char *systems = join_systems(x, v[i], 0);
			const char *cells[] = {v[i]->terminated, v[i]->r.ends_on, v[i]->name ? v[i]->name : "",
					       v[i]->supplier ? v[i]->supplier : "", systems ? systems : ""};
			api->row(t, cells, OB_STATUS_NONE);
			free(systems);
		}
	}
	free(v);
}

static void chart(const struct ce_run *x, struct ob_doc *doc)
{
	const struct ob_api *api = x->api;
	char labels[CE_QUARTERS][16];
	const char *lp[CE_QUARTERS];
	double open[CE_QUARTERS] = {0}, decided[CE_QUARTERS] = {0};
	int y0 = atoi(x->as_of), q0 = (atoi(x->as_of + 5) - 1) / 3;

	for (int i = 0; i < CE_QUARTERS; i++) {
		snprintf(labels[i], sizeof(labels[i]), "K%d %d", (q0 + i) % 4 + 1, y0 + (q0 + i) / 4);
		lp[i] = labels[i];
	}
	for (size_t i = 0; i < x->n; i++) {
		const struct ce_result *r = &x->items[i].r;
		if (!r->has_days_left || r->days_left < 0)
			continue;
		int k = (atoi(r->notice_deadline) - y0) * 4 + (atoi(r->notice_deadline + 5) - 1) / 3 - q0;
		if (k < 0 || k >= CE_QUARTERS)
			continue;
		if (r->undecided)
			open[k]++;
		else
			decided[k]++;
	}
	const struct ob_series series[] = {
		OB_INIT(ob_series, .name = "Uden beslutning", .values = open),
		OB_INIT(ob_series, .name = "Beslutning truffet", .values = decided),
	};
	const struct ob_chart c = OB_INIT(ob_chart, .title = "Opsigelsesfrister pr. kvartal", .stacked = 1,
					  .labels = lp, .nlabels = CE_QUARTERS, .series = series, .nseries = 2,
					  .value_axis = "Kontrakter", .label_axis = "Kvartal", .show_values = 1);
	api->section(doc, 1, "Frister de næste otte kvartaler", 0);
	api->para(doc, "Antal faste kontrakter med opsigelsesfrist i hvert kvartal fra og med dette, delt efter, om "
		       "der er truffet en beslutning.");
	api->chart(doc, &c);
}

static void checklists(const struct ce_run *x, struct ob_doc *doc)
{
	const struct ob_api *api = x->api;
	size_t n = 0;
	const struct ce_item **v = select_items(x, keep_exit, by_deadline, &n);

	api->section(doc, 1, "Exit-tjekliste", 0);
	api->para(doc, "For hver kontrakt, hvis exit-fase er begyndt (eller uden segment: frist inden for et år), "
		       "skal der tages stilling til levering af data og arkivering, og om kontrakten skal forlænges, "
		       "opsiges eller genudbydes. Skal der anskaffes et nyt system, starter processen forfra med "
		       "behovsopgørelse.");
	if (v == NULL || n == 0) {
		api->para(doc, "Ingen kontrakter er i exit-fasen lige nu.");
		free(v);
		return;
	}
	for (size_t i = 0; i < n && i < CE_PDF_CHECKLISTS; i++) {
		const struct ce_item *it = v[i];
		char title[512], deadline[40], exit_start[40], b[5][640];
		const char *bl[5];
		char *systems = join_systems(x, it, 0), *owners = join_systems(x, it, 1);

		date_da(api, it->r.notice_deadline, deadline, sizeof(deadline));
		date_da(api, it->r.exit_start, exit_start, sizeof(exit_start));
		snprintf(title, sizeof(title), "%s%s%s%s", it->name ? it->name : "", it->supplier ? " (" : "",
			 it->supplier ? it->supplier : "", it->supplier ? ")" : "");
		/* A bold heading, not a section: the table of contents stays short. */
		api->para_runs(doc, (const struct ob_text_run[]){{title, OB_TEXT_BOLD}}, 1);
		api->para(doc, "Opsigelsesfrist %s, om %ld %s.%s%s%s Beslutning: %s. Systemer: %s. Systemejer: %s.",
			  deadline, it->r.days_left, plural(it->r.days_left, "dag", "dage"),
			  *exit_start ? " Exit-fasen startede " : "", exit_start, *exit_start ? "." : "",
			  decision_da(it->decision), systems && *systems ? systems : "ingen registreret",
			  owners && *owners ? owners : "ingen registreret");
		snprintf(b[0], sizeof(b[0]),
			 "Levering af data: aftal med leverandøren, hvilke data der leveres tilbage, i hvilket format og "
			 "hvornår, og at data slettes hos leverandøren bagefter.");
		snprintf(b[1], sizeof(b[1]),
			 "Arkivering: afklar med arkivet, om data skal afleveres som arkiveringsversion, før systemet "
			 "lukkes eller skiftes.");
		snprintf(b[2], sizeof(b[2]),
			 "Forlæng, opsig eller genudbyd: beslut inden %s og meddel leverandøren det skriftligt.%s", deadline,
			 it->auto_renewal == 1 ? " Kontrakten fornyes automatisk, hvis den ikke opsiges." : "");
		snprintf(b[3], sizeof(b[3]),
			 "Nyt system: skal et andet system tage over, starter det med en behovsopgørelse, og "
			 "IT-støttefunktionen skal inddrages tidligt.");
		snprintf(b[4], sizeof(b[4]),
			 "Systemejeren sætter systemernes livscyklusfase til exit i KITOS, når arbejdet er i gang.");
		for (int k = 0; k < 5; k++)
			bl[k] = b[k];
		api->bullets(doc, bl, 5);
		free(systems);
		free(owners);
	}
	if (n > CE_PDF_CHECKLISTS)
		api->para(doc, "… og %zu kontrakter mere; alle står i contract_expiry.json.", n - CE_PDF_CHECKLISTS);
	free(v);
}

static void rules_note(const struct ce_run *x, struct ob_doc *doc)
{
	const struct ob_api *api = x->api;
	char ms[256] = "";

	for (size_t m = x->cfg.nmilestones; m-- > 0;) {
		char one[32];
		snprintf(one, sizeof(one), "%s%lld", *ms ? (m == 0 ? " og " : ", ") : "", x->cfg.milestones[m]);
		strncat(ms, one, sizeof(ms) - strlen(ms) - 1);
	}
	api->section(doc, 1, "Sådan er tallene beregnet", 0);
	api->note(doc, "Opsigelsesfrist: slutdatoen minus opsigelsesvarslet i hele kalendermåneder. Slutter kontrakten "
		       "på en måneds sidste dag, er fristen også en måneds sidste dag (30. juni minus 6 måneder er 31. "
		       "december); ellers beholdes dagen, højst til månedens længde. Varsel 0 betyder, at fristen er "
		       "slutdatoen. Uden kendt varsel er der ingen frist (tælles som \"uden opsigelsesvarsel\"). Dage "
		       "til fristen regnes fra opgørelsesdatoen.");
	api->note(doc, "Art: opsagt, når kontrakten er opsagt; ellers løbende, når den løber til opsigelse eller ikke "
		       "har en slutdato; ellers fast. Kun faste kontrakter har frist, påmindelser og udløb. En opsagt "
		       "kontrakt ophører ved udgangen af måneden, kvartalet eller året efter opsigelsesdag plus varsel, "
		       "eller ved slutdatoen, hvis den kommer først.");
	api->note(doc, "Påmindelser til systemejerne ved %s dage før fristen: den mindste af dem, der er mindst lige "
		       "så stor som antallet af dage til fristen, hver kun én gang pr. frist og modtager. Er fristen "
		       "overskredet, men kontrakten ikke udløbet, sendes én besked om det. En kontrakt uden system "
		       "med ejer sendes til Indkøb og Udbud.",
		  ms);
	api->note(doc, "Kræver beslutning: højst %d dage til fristen og ingen beslutning om forlængelse, opsigelse "
		       "eller genudbud; sendes til ASG. Exit begynder %d (segment A), %d (B) eller %d (C) måneder før "
		       "fristen; \"exit bør være i gang\" tælles, når den dag er nået, fristen ikke er overskredet, "
		       "beslutningen mangler, og intet system er i livscyklusfasen exit.",
		  CE_ESCALATE_DAYS, x->cfg.lead_months[0], x->cfg.lead_months[1], x->cfg.lead_months[2]);
	api->note(doc, "Udløbet, men i drift: en fast kontrakt med slutdato før opgørelsesdatoen, hvor mindst ét dækket "
		       "system ikke er markeret \"ikke i brug\" i KITOS (ukendt status tæller som i drift). Frist inden "
		       "N dage: 0 til N dage til fristen. Årlig udgift summerer de kontrakter, hvis frist er inden for "
		       "365 dage (uden oplyst udgift: 0).");
}

static int contract_expiry_run(struct ob_ctx *ctx, void *state)
{
	const struct ob_api *api = ctx->api;
	struct ce_run x;
	struct ob_doc *doc;
	const long long *ms = NULL;
	size_t nms;
	int rc = -1;

	(void)state;
	memset(&x, 0, sizeof(x));
	x.ctx = ctx;
	x.api = api;
	if (api->size < offsetof(struct ob_api, notify) + sizeof(api->notify)) {
		api->log(ctx, OB_PLOG_ERR, "this overblik's plugin API is older than ABI %d.%d", OB_PLUGIN_ABI_MAJOR,
			 OB_PLUGIN_ABI_MINOR);
		return -1;
	}
	snprintf(x.as_of, sizeof(x.as_of), "%s", api->as_of(ctx) ? api->as_of(ctx) : "");
	nms = api->setting_ints(ctx, "milestones", &ms);
	ce_cfg_milestones(&x.cfg, ms, nms);
	x.cfg.lead_months[0] = (int)api->setting_int(ctx, "exit_lead_months_A");
	x.cfg.lead_months[1] = (int)api->setting_int(ctx, "exit_lead_months_B");
	x.cfg.lead_months[2] = (int)api->setting_int(ctx, "exit_lead_months_C");

	if (load(&x) < 0)
		goto out;
	count(&x);
	if (write_json(&x) < 0) {
		api->log(ctx, OB_PLOG_ERR, "could not write contract_expiry.json");
		goto out;
	}
	if (notify_all(&x) < 0)
		goto out;
	doc = api->doc(ctx);
	summary(&x, doc);
	upcoming(&x, doc);
	escalations(&x, doc);
	expired_in_use(&x, doc);
	continuous(&x, doc);
	chart(&x, doc);
	checklists(&x, doc);
	rules_note(&x, doc);
	api->log(ctx, OB_PLOG_INFO, "%ld contracts, %ld deadlines within 90 days, %ld escalations", x.fig.contracts,
		 x.fig.within90, x.fig.escalations);
	rc = 0;
out:
	free(x.items);
	free(x.sys);
	return rc;
}

OB_PLUGIN(.name = "contract_expiry", .version = "1.0", .title = "Kontraktudløb", .run = contract_expiry_run,
	  .settings = contract_expiry_settings,
	  .nsettings = sizeof(contract_expiry_settings) / sizeof(contract_expiry_settings[0]));
