/* portfolio_status.c - Systemoverblik: the organisation's systems on one
 * page (counts by category, lifecycle phase and department), how complete
 * the eight fields every system should have are, systems without a known
 * owner, the annual review (årlig revision) of the data registered about
 * each system, and the citizen-facing systems; reminders to each owner of
 * the review due and the fields missing, and the briefing to ASG
 * (REPORTS.md "portfolio_status"). The rules of one system are in rules.c. */
#include <overblik/plugin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"

#define PS_MAX_POINTS 3

static const struct ob_setting portfolio_status_settings[] = {
	OB_INIT(ob_setting, .name = "review_due_days", .type = OB_SETTING_INT, .def = "30", .min = 0, .max = 366,
		.help = "days before the annual review falls due at which the owner is reminded (due_soon)"),
	OB_INIT(ob_setting, .name = "remind_every", .type = OB_SETTING_CHOICE, .def = "\"quarter\"",
		.choices = "month|quarter|year", .help = "how often an open gap (missing fields, review overdue) is reminded"),
	OB_INIT(ob_setting, .name = "summary_only_for", .type = OB_SETTING_CHOICE_LIST, .def = "[]",
		.choices = "asg|direktion|isk|indkoeb|iod|it_support",
		.help = "roles ([\"direktion\"]) that get a one-page summary as their briefing instead of the whole "
			"report; asg gets the whole report unless listed"),
};

static const char *const roles[] = {"asg", "direktion", "isk", "indkoeb", "iod", "it_support"};
#define PS_NROLES (sizeof(roles) / sizeof(roles[0]))

static const char *const cat_keys[] = {"foundation", "cross_cutting", "line_of_business", "unknown"};
static const char *const cat_da[] = {"Grundlæggende", "Tværgående", "Fagsystem", "Ukendt"};
static const char *const phase_keys[] = {"needs", "procurement", "contract_followup", "exit", "unknown"};
static const char *const phase_da[] = {"Behovsopgørelse", "Anskaffelse", "Kontraktopfølgning", "Exit", "Ukendt"};
#define PS_NCAT 4
#define PS_NPHASE 5

struct ps_item {
	const char *uuid, *name, *category, *phase, *dept_id, *dept, *owner_id, *owner_name, *owner_email,
		*kitos_owner, *citizen, *last_review;
	char ldr[OB_DATE_SIZE]; /* last_data_review when a date, else "" */
	int cat, ph;
	struct ps_result r;
};

struct ps_dept {
	const char *id, *name; /* NULL: no department */
	long systems, complete;
	unsigned long long present;
};

struct ps_figures {
	long systems, in_operation, by_cat[PS_NCAT], by_phase[PS_NPHASE], without_owner, owner_unknown,
		owner_without_email, complete, never, overdue, due_soon, citizen, personal, in_scope;
	unsigned long long present;
	long long pct_tenths; /* -1: no systems */
	long missing[PS_NFIELDS];
};

struct ps_run {
	struct ob_ctx *ctx;
	const struct ob_api *api;
	char as_of[OB_DATE_SIZE], period[16];
	struct ps_cfg cfg;
	struct ob_rows *rows;
	struct ps_item *items;
	size_t n;
	struct ps_dept *depts;
	size_t ndepts;
	struct ps_figures fig;
	int summary_only[PS_NROLES];
};

static const char *const ps_system_sql =
	"SELECT s.kitos_uuid AS uuid, s.name AS name, s.category AS category, s.lifecycle_phase AS lifecycle_phase,"
	" s.kitos_lifecycle AS kitos_lifecycle, s.owner_kitos_uuid AS owner_kitos_uuid, s.owner_name AS kitos_owner,"
	" p.id AS owner_id, p.name AS owner_name, p.email AS owner_email, u.id AS department_id, u.name AS department,"
	" s.supplier AS supplier, k.contract_supplier AS contract_supplier, k.contracts AS contracts,"
	" s.operations_model AS operations_model, s.personal_data AS personal_data, s.legal_data AS legal_data,"
	" s.citizen_facing AS citizen_facing, s.ra_conducted AS ra_conducted, s.ra_date AS ra_date, g.ra_csv AS ra_csv,"
	" s.last_data_review AS last_data_review"
	" FROM systems s"
	" LEFT JOIN people p ON p.id = s.owner_id AND p.org_id = ?"
	" LEFT JOIN org_units u ON u.id = s.department_id AND u.org_id = ?"
	" LEFT JOIN (SELECT cs.system_id AS system_id, COUNT(*) AS contracts,"
	" MIN(NULLIF(TRIM(c.supplier), '')) AS contract_supplier"
	" FROM contract_systems cs JOIN contracts c ON c.id = cs.contract_id WHERE c.org_id = ?"
	" GROUP BY cs.system_id) k ON k.system_id = s.id"
	" LEFT JOIN (SELECT a.system_id AS system_id, MAX(a.done_on) AS ra_csv"
	" FROM gdpr_assessments a JOIN systems s2 ON s2.id = a.system_id"
	" WHERE s2.org_id = ? AND a.kind = 'risk_assessment' AND a.done_on <= ? GROUP BY a.system_id) g"
	" ON g.system_id = s.id"
	" WHERE s.org_id = ? ORDER BY s.name, s.kitos_uuid";

static const char *nz(const char *s) { return s ? s : ""; }
static int set(const char *s) { return s != NULL && *s != '\0'; }
static const char *plural(long n, const char *one, const char *many) { return n == 1 ? one : many; }

static int index_of(const char *const *keys, int n, const char *v)
{
	for (int i = 0; v && i < n - 1; i++)
		if (strcmp(keys[i], v) == 0)
			return i;
	return n - 1; /* unknown */
}

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

static const char *citizen_da(const char *c)
{
	if (c == NULL)
		return "";
	if (strcmp(c, "self_service") == 0)
		return "selvbetjening";
	if (strcmp(c, "data_display") == 0)
		return "udstilling af data";
	if (strcmp(c, "information") == 0)
		return "information/portal";
	if (strcmp(c, "digital_meeting") == 0)
		return "digitalt møde";
	if (strcmp(c, "digital_communication") == 0)
		return "digital kommunikation";
	return c;
}

/* The dedupe keys' <Q>: 2026Q4, 2026-11 or 2026. */
static void period_of(const char *as_of, const char *every, char *out, size_t size)
{
	int y = atoi(as_of), m = atoi(as_of + 5);
	if (every && strcmp(every, "month") == 0)
		snprintf(out, size, "%04d-%02d", y, m);
	else if (every && strcmp(every, "year") == 0)
		snprintf(out, size, "%04d", y);
	else
		snprintf(out, size, "%04dQ%d", y, (m - 1) / 3 + 1);
}

/* summary_only_for: a list of roles (ABI 2.1's CHOICE_LIST: the core has
 * checked each is one of them). */
static void mark_roles(struct ps_run *x, const char *const *names, size_t n)
{
	for (size_t k = 0; k < n; k++)
		for (size_t i = 0; i < PS_NROLES; i++)
			if (strcmp(roles[i], names[k]) == 0)
				x->summary_only[i] = 1;
}

static int dept_cmp(const void *a, const void *b)
{
	const struct ps_dept *x = a, *y = b;
	if ((x->id == NULL) != (y->id == NULL))
		return x->id == NULL ? 1 : -1; /* no department last */
	if (x->systems != y->systems)
		return x->systems > y->systems ? -1 : 1;
	return strcmp(nz(x->name), nz(y->name));
}

static int load(struct ps_run *x)
{
	const struct ob_api *api = x->api;
	const char *org = api->org_id(x->ctx);
	const char *p[] = {org, org, org, org, x->as_of, org};

	if (api->query(x->ctx, ps_system_sql, p, 6, &x->rows) < 0)
		return -1;
	x->n = api->nrows(x->rows);
	x->items = calloc(x->n ? x->n : 1, sizeof(*x->items));
	x->depts = calloc(x->n + 1, sizeof(*x->depts));
	if (x->items == NULL || x->depts == NULL) {
		api->log(x->ctx, OB_PLOG_ERR, "out of memory for %zu systems", x->n);
		return -1;
	}
	for (size_t i = 0; i < x->n; i++) {
		const struct ob_rows *r = x->rows;
		struct ps_item *it = &x->items[i];
		const char *nc = api->cell(r, i, "contracts");
		struct ps_system s = {
			.owner_kitos_uuid = api->cell(r, i, "owner_kitos_uuid"),
			.owner_id = api->cell(r, i, "owner_id"),
			.owner_email = api->cell(r, i, "owner_email"),
			.category = api->cell(r, i, "category"),
			.department = api->cell(r, i, "department_id"),
			.supplier = api->cell(r, i, "supplier"),
			.contract_supplier = api->cell(r, i, "contract_supplier"),
			.contracts = nc ? atol(nc) : 0,
			.operations_model = api->cell(r, i, "operations_model"),
			.personal_data = api->cell(r, i, "personal_data"),
			.legal_data = api->cell(r, i, "legal_data"),
			.kitos_lifecycle = api->cell(r, i, "kitos_lifecycle"),
			.ra_conducted = api->cell(r, i, "ra_conducted"),
			.ra_date = api->cell(r, i, "ra_date"),
			.ra_csv = api->cell(r, i, "ra_csv"),
			.last_data_review = api->cell(r, i, "last_data_review"),
		};
		it->uuid = api->cell(r, i, "uuid");
		it->name = api->cell(r, i, "name");
		it->category = s.category;
		it->phase = api->cell(r, i, "lifecycle_phase");
		it->dept_id = s.department;
		it->dept = api->cell(r, i, "department");
		it->owner_id = s.owner_id;
		it->owner_name = api->cell(r, i, "owner_name");
		it->owner_email = s.owner_email;
		it->kitos_owner = api->cell(r, i, "kitos_owner");
		it->citizen = api->cell(r, i, "citizen_facing");
		it->last_review = s.last_data_review;
		if (!set(it->last_review) || strlen(it->last_review) != 10 ||
		    api->end_of(it->last_review, OB_PERIOD_NONE, it->ldr) < 0)
			it->ldr[0] = '\0';
		it->cat = index_of(cat_keys, PS_NCAT, it->category);
		it->ph = index_of(phase_keys, PS_NPHASE, it->phase);
		if (ps_evaluate(api, x->as_of, &x->cfg, &s, &it->r) < 0) {
			api->log(x->ctx, OB_PLOG_ERR, "as_of \"%s\" is not a date", x->as_of);
			return -1;
		}
		if (!set(it->dept_id))
			it->dept_id = NULL;
	}
	return 0;
}

static void count(struct ps_run *x)
{
	struct ps_figures *f = &x->fig;

	memset(f, 0, sizeof(*f));
	x->ndepts = 0;
	for (size_t i = 0; i < x->n; i++) {
		const struct ps_item *it = &x->items[i];
		const struct ps_result *r = &it->r;
		struct ps_dept *d = NULL;
		unsigned present = (unsigned)(PS_NFIELDS - r->nmissing);

		f->systems++;
		f->in_operation += r->in_operation;
		f->by_cat[it->cat]++;
		f->by_phase[it->ph]++;
		f->without_owner += r->owner == PS_OWNER_NONE;
		f->owner_unknown += r->owner == PS_OWNER_UNKNOWN;
		f->owner_without_email += r->owner == PS_OWNER_NO_EMAIL;
		f->complete += r->complete;
		f->present += present;
		f->never += r->review == PS_REVIEW_NEVER;
		f->overdue += r->review == PS_REVIEW_OVERDUE;
		f->due_soon += r->review == PS_REVIEW_DUE_SOON;
		f->citizen += set(it->citizen);
		f->personal += r->personal;
		f->in_scope += r->in_scope;
		for (int k = 0; k < PS_NFIELDS; k++)
			f->missing[k] += (r->missing >> k) & 1u;

		for (size_t j = 0; j < x->ndepts && d == NULL; j++)
			if ((x->depts[j].id == NULL && it->dept_id == NULL) ||
			    (x->depts[j].id && it->dept_id && strcmp(x->depts[j].id, it->dept_id) == 0))
				d = &x->depts[j];
		if (d == NULL) {
			d = &x->depts[x->ndepts++];
			d->id = it->dept_id;
			d->name = it->dept_id ? it->dept : NULL;
		}
		d->systems++;
		d->complete += r->complete;
		d->present += present;
	}
	f->pct_tenths = ps_pct_tenths(f->present, (unsigned long long)f->systems);
	qsort(x->depts, x->ndepts, sizeof(*x->depts), dept_cmp);
}

static const char *owner_status_name(enum ps_owner o)
{
	switch (o) {
	case PS_OWNER_NONE: return "none";
	case PS_OWNER_UNKNOWN: return "unknown";
	case PS_OWNER_NO_EMAIL: return "no_email";
	default: return "ok";
	}
}

static int pct_json(const struct ob_api *api, struct ob_json *o, const char *key, long long tenths)
{
	return tenths < 0 ? api->j_null(o, key) : api->j_number(o, key, (double)tenths / 10.0, 1);
}

static int write_json(struct ps_run *x)
{
	const struct ob_api *api = x->api;
	struct ob_json *root = api->report_json(x->ctx);
	struct ob_json *rows = api->j_array(root, "systems"), *drows = api->j_array(root, "departments");
	struct ob_json *fig = api->figures(x->ctx), *o;
	const struct ps_figures *f = &x->fig;
	int rc = 0;

	if (rows == NULL || drows == NULL || fig == NULL)
		return -1;
	for (size_t i = 0; i < x->n; i++) {
		const struct ps_item *it = &x->items[i];
		const struct ps_result *r = &it->r;
		struct ob_json *m;
		if ((o = api->j_object(rows, NULL)) == NULL)
			return -1;
		rc |= api->j_text(o, "uuid", it->uuid);
		rc |= api->j_text(o, "name", it->name);
		rc |= api->j_text(o, "category", it->cat < PS_NCAT - 1 ? it->category : NULL);
		rc |= api->j_text(o, "lifecycle_phase", it->ph < PS_NPHASE - 1 ? it->phase : NULL);
		rc |= api->j_text(o, "department", it->dept_id ? it->dept : NULL);
		rc |= api->j_text(o, "owner", it->owner_id ? it->owner_name : it->kitos_owner);
		rc |= api->j_text(o, "owner_email", it->owner_id && set(it->owner_email) ? it->owner_email : NULL);
		rc |= api->j_text(o, "owner_status", owner_status_name(r->owner));
		if ((m = api->j_array(o, "missing")) == NULL)
			return -1;
		for (int k = 0; k < PS_NFIELDS; k++)
			if ((r->missing >> k) & 1u)
				rc |= api->j_text(m, NULL, ps_field_name((enum ps_field)k));
		rc |= api->j_bool(o, "complete", r->complete);
		rc |= api->j_date(o, "last_data_review", it->ldr[0] ? it->ldr : NULL);
		rc |= api->j_date(o, "review_due", r->review_due[0] ? r->review_due : NULL);
		rc |= api->j_text(o, "review", ps_review_name(r->review));
		rc |= api->j_bool(o, "in_operation", r->in_operation);
		rc |= api->j_text(o, "citizen_facing", set(it->citizen) ? it->citizen : NULL);
		rc |= api->j_bool(o, "personal_data", r->personal);
		rc |= api->j_bool(o, "risk_assessment_applies", r->in_scope);
	}
	for (size_t j = 0; j < x->ndepts; j++) {
		const struct ps_dept *d = &x->depts[j];
		if ((o = api->j_object(drows, NULL)) == NULL)
			return -1;
		rc |= api->j_text(o, "name", d->name);
		rc |= api->j_int(o, "systems", d->systems);
		rc |= api->j_int(o, "complete", d->complete);
		rc |= pct_json(api, o, "completeness_pct", ps_pct_tenths(d->present, (unsigned long long)d->systems));
	}

	rc |= api->j_int(fig, "systems", f->systems);
	rc |= api->j_int(fig, "in_operation", f->in_operation);
	if ((o = api->j_object(fig, "by_category")) == NULL)
		return -1;
	for (int k = 0; k < PS_NCAT; k++)
		rc |= api->j_int(o, cat_keys[k], f->by_cat[k]);
	if ((o = api->j_object(fig, "by_phase")) == NULL)
		return -1;
	for (int k = 0; k < PS_NPHASE; k++)
		rc |= api->j_int(o, phase_keys[k], f->by_phase[k]);
	{
		struct ob_json *a = api->j_array(fig, "by_department");
		if (a == NULL)
			return -1;
		for (size_t j = 0; j < x->ndepts; j++) {
			if ((o = api->j_object(a, NULL)) == NULL)
				return -1;
			rc |= api->j_text(o, "name", x->depts[j].name);
			rc |= api->j_int(o, "systems", x->depts[j].systems);
		}
	}
	rc |= api->j_int(fig, "without_owner", f->without_owner);
	rc |= api->j_int(fig, "owner_unknown", f->owner_unknown);
	rc |= api->j_int(fig, "owner_without_email", f->owner_without_email);
	rc |= api->j_int(fig, "complete", f->complete);
	rc |= pct_json(api, fig, "completeness_pct", f->pct_tenths);
	rc |= api->j_int(fig, "review_never", f->never);
	rc |= api->j_int(fig, "review_overdue", f->overdue);
	rc |= api->j_int(fig, "review_due_soon", f->due_soon);
	rc |= api->j_int(fig, "citizen_facing", f->citizen);
	rc |= api->j_int(fig, "with_personal_data", f->personal);
	if ((o = api->j_object(fig, "missing_by_field")) == NULL)
		return -1;
	for (int k = 0; k < PS_NFIELDS; k++)
		rc |= api->j_int(o, ps_field_name((enum ps_field)k), f->missing[k]);
	return rc ? -1 : 0;
}

/* Items. */

struct ps_kv {
	char missing[256], due[40], last[40], days[32], days_ago[32];
	const char *kv[80];
};

static void kv_fill(const struct ps_run *x, const struct ps_item *it, struct ps_kv *v)
{
	const struct ob_api *api = x->api;
	const struct ps_result *r = &it->r;
	size_t k = 0;
	long d = r->review_days;

	ps_missing_join(r->missing, ", ", 0, 1, v->missing, sizeof(v->missing));
	date_da(api, r->review_due, v->due, sizeof(v->due));
	date_da(api, it->ldr, v->last, sizeof(v->last));
	number_da(api, (double)(d < 0 ? 0 : d), 0, v->days, sizeof(v->days));
	number_da(api, (double)(d < 0 ? -d : 0), 0, v->days_ago, sizeof(v->days_ago));
#define KV(key, val) (v->kv[k++] = (key), v->kv[k++] = (val))
#define FLAG(key, cond) KV(key, (cond) ? "1" : "")
	KV("uuid", nz(it->uuid));
	KV("system", nz(it->name));
	KV("department", it->dept_id ? nz(it->dept) : "");
	KV("owner", it->owner_id ? nz(it->owner_name) : "");
	KV("kitos_owner", nz(it->kitos_owner));
	KV("missing", v->missing);
	FLAG("f_owner_none", r->owner == PS_OWNER_NONE);
	FLAG("f_owner_unknown", r->owner == PS_OWNER_UNKNOWN);
	FLAG("f_owner_no_email", r->owner == PS_OWNER_NO_EMAIL);
	FLAG("f_category", r->missing & (1u << PS_CATEGORY));
	FLAG("f_department", r->missing & (1u << PS_DEPARTMENT));
	FLAG("f_supplier", r->missing & (1u << PS_SUPPLIER));
	FLAG("f_operations_model", r->missing & (1u << PS_OPERATIONS_MODEL));
	FLAG("f_personal_data", r->missing & (1u << PS_PERSONAL_DATA));
	FLAG("f_contract", r->missing & (1u << PS_CONTRACT));
	FLAG("f_risk_assessment", r->missing & (1u << PS_RISK_ASSESSMENT));
	FLAG("never", r->review == PS_REVIEW_NEVER);
	FLAG("overdue", r->review == PS_REVIEW_OVERDUE);
	FLAG("due_soon", r->review == PS_REVIEW_DUE_SOON);
	KV("review", ps_review_name(r->review));
	KV("due", v->due);
	KV("due_iso", r->review_due);
	KV("last_review", v->last);
	KV("days", v->days);
	FLAG("days_one", d == 1);
	FLAG("today", r->has_days && d == 0);
	KV("days_ago", v->days_ago);
	FLAG("ago_one", d == -1);
#undef FLAG
#undef KV
	v->kv[k] = NULL;
}

static int send_flags(const struct ps_run *x, const char *recipient, const char *key, const char *tpl,
		      const char *const *kv, unsigned flags)
{
	struct ob_notice n =
		OB_INIT(ob_notice, .recipient = recipient, .dedupe_key = key, .template = tpl, .kv = kv, .flags = flags);
	return x->api->notify(x->ctx, &n);
}

static int send(const struct ps_run *x, const char *recipient, const char *key, const char *tpl, const char *const *kv)
{
	return send_flags(x, recipient, key, tpl, kv, 0);
}

/* A system's items go to its owner (the outbox routes an owner without an
 * e-mail to IT support); a system without a resolved owner to IT support. */
static int notify_systems(struct ps_run *x)
{
	char key[256], rcpt[64], fields[160];
	int rc = 0;

	for (size_t i = 0; i < x->n && rc == 0; i++) {
		const struct ps_item *it = &x->items[i];
		const struct ps_result *r = &it->r;
		const char *uuid = nz(it->uuid);
		struct ps_kv v;
		int review = r->review == PS_REVIEW_NEVER || r->review == PS_REVIEW_OVERDUE || r->review == PS_REVIEW_DUE_SOON;

		if (!review && r->missing == 0)
			continue;
		if (set(it->owner_id))
			snprintf(rcpt, sizeof(rcpt), "owner:%s", it->owner_id);
		else
			snprintf(rcpt, sizeof(rcpt), "it_support");
		kv_fill(x, it, &v);
		if (r->review == PS_REVIEW_NEVER || r->review == PS_REVIEW_OVERDUE) {
			snprintf(key, sizeof(key), "portfolio:%s:review:%s:%s", uuid,
				 r->review == PS_REVIEW_NEVER ? "never" : r->review_due, x->period);
			rc |= send(x, rcpt, key, "portfolio_status/review", v.kv);
		} else if (r->review == PS_REVIEW_DUE_SOON) {
			snprintf(key, sizeof(key), "portfolio:%s:review_due:%s", uuid, r->review_due);
			rc |= send(x, rcpt, key, "portfolio_status/review", v.kv);
		}
		if (r->missing) {
			snprintf(key, sizeof(key), "portfolio:%s:missing:%s:%s", uuid,
				 ps_missing_join(r->missing, "+", 1, 0, fields, sizeof(fields)), x->period);
			rc |= send(x, rcpt, key, "portfolio_status/missing", v.kv);
		}
	}
	return rc ? -1 : 0;
}

/* The key figures: label, path in figures, value, unit, decimals. */
struct ps_kfig {
	const char *label, *path, *kv;
	double value;
	const char *unit;
	int decimals;
	int better_up; /* for the words of the change */
};

static size_t key_figures(const struct ps_run *x, struct ps_kfig *k)
{
	const struct ps_figures *f = &x->fig;
	size_t n = 0;
	k[n++] = (struct ps_kfig){"Systemer", "systems", "systems", (double)f->systems, "stk.", 0, 0};
	k[n++] = (struct ps_kfig){"Komplethed", "completeness_pct", "pct",
				  f->pct_tenths < 0 ? 0 : (double)f->pct_tenths / 10.0, "%", 1, 1};
	k[n++] = (struct ps_kfig){"Komplette systemer", "complete", "complete", (double)f->complete, "stk.", 0, 1};
	k[n++] = (struct ps_kfig){"Uden kendt ejer", NULL, "no_owner", (double)(f->without_owner + f->owner_unknown),
				  "stk.", 0, -1};
	k[n++] = (struct ps_kfig){"Revision aldrig foretaget", "review_never", "never", (double)f->never, "stk.", 0, -1};
	k[n++] = (struct ps_kfig){"Revision forsinket", "review_overdue", "overdue", (double)f->overdue, "stk.", 0, -1};
	k[n++] = (struct ps_kfig){"Revision inden for fristen", "review_due_soon", "due_soon", (double)f->due_soon,
				  "stk.", 0, 0};
	k[n++] = (struct ps_kfig){"Borgerrettede systemer", "citizen_facing", "citizen", (double)f->citizen, "stk.", 0,
				  0};
	return n;
}

/* The previous run's value of a key figure (without_owner + owner_unknown for
 * "Uden kendt ejer"). */
static int previous_of(const struct ps_run *x, const struct ps_kfig *k, double *out)
{
	double a, b;
	if (k->path)
		return x->api->previous(x->ctx, k->path, out) == 1;
	if (x->api->previous(x->ctx, "without_owner", &a) == 1 && x->api->previous(x->ctx, "owner_unknown", &b) == 1) {
		*out = a + b;
		return 1;
	}
	return 0;
}

/* The two or three things that need a decision, in plain Danish. */
static size_t points(const struct ps_run *x, char buf[PS_MAX_POINTS][768])
{
	const struct ps_figures *f = &x->fig;
	size_t np = 0;
	long noowner = f->without_owner + f->owner_unknown + f->owner_without_email;
	int worst = -1;

	if (f->never + f->overdue > 0)
		snprintf(buf[np++], sizeof(buf[0]),
			 "%ld %s i drift mangler den årlige revision af oplysningerne (%ld aldrig revideret, %ld "
			 "forsinket). Systemejerne er mindet om det; ASG bør følge op hos de forvaltninger, der har flest.",
			 f->never + f->overdue, plural(f->never + f->overdue, "system", "systemer"), f->never, f->overdue);
	if (noowner > 0)
		snprintf(buf[np++], sizeof(buf[0]),
			 "%ld %s ingen systemejer, der kan nås: %ld uden systemejer i KITOS, %ld med en ejer, der ikke er "
			 "bruger i organisationen, og %ld med en ejer uden e-mail. Påmindelserne går til "
			 "IT-støttefunktionen, indtil der er udpeget en ejer.",
			 noowner, plural(noowner, "system har", "systemer har"), f->without_owner, f->owner_unknown,
			 f->owner_without_email);
	for (int k = 0; k < PS_NFIELDS; k++)
		if (k != PS_OWNER && (worst < 0 || f->missing[k] > f->missing[worst]))
			worst = k;
	if (np < PS_MAX_POINTS && f->systems > 0 && f->complete < f->systems && worst >= 0 &&
	    f->missing[worst] > 0) {
		char pct[32];
		number_da(x->api, (double)f->pct_tenths / 10.0, 1, pct, sizeof(pct));
		snprintf(buf[np++], sizeof(buf[0]),
			 "%ld af %ld systemer har alle otte oplysninger registreret; i alt er %s %% af oplysningerne "
			 "på plads. Oftest mangler %s (%ld %s).",
			 f->complete, f->systems, pct, ps_field_da((enum ps_field)worst), f->missing[worst],
			 plural(f->missing[worst], "system", "systemer"));
	}
	return np;
}

/* The briefing: the whole report to asg (the PDF is attached by the
 * outbox), a one-page summary as the item's text to the roles named in
 * summary_only_for. */
static int notify_roles(struct ps_run *x)
{
	const struct ob_api *api = x->api;
	struct ps_kfig k[8];
	size_t nk = key_figures(x, k), np, kvn = 0;
	char val[8][40], chg[8][64], key[128], prev_da[40], asof_da[40], pbuf[PS_MAX_POINTS][768], names[8][24],
		cnames[8][32], in_op[32], wo[32], ou[32], owe[32];
	const char *kv[96];
	static const char *const pnames[PS_MAX_POINTS] = {"point1", "point2", "point3"};
	int any_prev = 0, rc = 0;

	np = points(x, pbuf);
	date_da(api, api->previous_as_of(x->ctx), prev_da, sizeof(prev_da));
	date_da(api, x->as_of, asof_da, sizeof(asof_da));
	for (size_t i = 0; i < nk; i++) {
		double p;
		number_da(api, k[i].value, k[i].decimals, val[i], sizeof(val[i]));
		chg[i][0] = '\0';
		if (previous_of(x, &k[i], &p)) {
			double d = k[i].value - p;
			char dn[32];
			any_prev = 1;
			number_da(api, d < 0 ? -d : d, k[i].decimals, dn, sizeof(dn));
			if (d > 0.00001 || d < -0.00001)
				snprintf(chg[i], sizeof(chg[i]), "%s%s%s", d > 0 ? "+" : "−", dn, k[i].unit[0] == '%' ? " point" : "");
			else
				snprintf(chg[i], sizeof(chg[i]), "uændret");
		}
		snprintf(names[i], sizeof(names[i]), "%s", k[i].kv);
		snprintf(cnames[i], sizeof(cnames[i]), "%s_change", k[i].kv);
		kv[kvn++] = names[i];
		kv[kvn++] = val[i];
		kv[kvn++] = cnames[i];
		kv[kvn++] = chg[i];
	}
	{
		number_da(api, (double)x->fig.in_operation, 0, in_op, sizeof(in_op));
		number_da(api, (double)x->fig.without_owner, 0, wo, sizeof(wo));
		number_da(api, (double)x->fig.owner_unknown, 0, ou, sizeof(ou));
		number_da(api, (double)x->fig.owner_without_email, 0, owe, sizeof(owe));
		kv[kvn++] = "in_operation";
		kv[kvn++] = in_op;
		kv[kvn++] = "without_owner";
		kv[kvn++] = wo;
		kv[kvn++] = "owner_unknown";
		kv[kvn++] = ou;
		kv[kvn++] = "owner_without_email";
		kv[kvn++] = owe;
	}
	kv[kvn++] = "has_previous";
	kv[kvn++] = any_prev ? "1" : "";
	kv[kvn++] = "previous_as_of";
	kv[kvn++] = prev_da;
	kv[kvn++] = "as_of_da";
	kv[kvn++] = asof_da;
	kv[kvn++] = "has_points";
	kv[kvn++] = np ? "1" : "";
	for (size_t i = 0; i < PS_MAX_POINTS; i++) {
		kv[kvn++] = pnames[i];
		kv[kvn++] = i < np ? pbuf[i] : "";
	}
	kv[kvn] = NULL;

	if (!x->summary_only[0]) {
		snprintf(key, sizeof(key), "portfolio:briefing:%s", x->as_of);
		rc |= send(x, "asg", key, "portfolio_status/briefing", kv);
	}
	for (size_t i = 0; i < PS_NROLES; i++)
		if (x->summary_only[i]) {
			snprintf(key, sizeof(key), "portfolio:summary:%s", x->as_of);
			/* The one-page summary is the message: no PDF (ABI 2.1). */
			rc |= send_flags(x, roles[i], key, "portfolio_status/summary", kv, OB_NOTICE_NO_PDF);
		}
	return rc ? -1 : 0;
}

/* The PDF. */

static void summary(const struct ps_run *x, struct ob_doc *doc)
{
	const struct ob_api *api = x->api;
	const struct ps_figures *f = &x->fig;
	const char *org = api->org_name(x->ctx);
	char asof[40], prev[40], buf[PS_MAX_POINTS][768];
	const char *pts[PS_MAX_POINTS];
	struct ps_kfig k[8];
	size_t nk = key_figures(x, k), np = points(x, buf);

	date_da(api, x->as_of, asof, sizeof(asof));
	api->title(doc, "Systemoverblik", org ? org : "");
	api->para(doc,
		  "%s: de %ld %s i KITOS pr. %s, heraf %ld i drift. Hvert system bør have otte oplysninger "
		  "registreret (systemejer, kategori, forvaltning, leverandør, driftsform, persondata, kontrakt og, "
		  "når systemet behandler personoplysninger, en risikovurdering), og oplysningerne skal revideres "
		  "hvert år.",
		  org ? org : "Organisationen", f->systems, plural(f->systems, "system", "systemer"), asof, f->in_operation);
	if (api->previous_as_of(x->ctx))
		api->para(doc, "Udviklingen i nøgletallene er målt mod opgørelsen pr. %s.",
			  date_da(api, api->previous_as_of(x->ctx), prev, sizeof(prev)));
	for (size_t i = 0; i < nk; i++) {
		struct ob_kpi kp = OB_INIT(ob_kpi, .label = k[i].label, .value = k[i].value, .unit = k[i].unit,
					   .decimals = k[i].decimals);
		double p;
		if (previous_of(x, &k[i], &p)) {
			kp.has_previous = 1;
			kp.previous = p;
		}
		api->kpi(doc, &kp);
	}
	for (size_t i = 0; i < np; i++)
		pts[i] = buf[i];
	api->para_runs(doc, (const struct ob_text_run[]){{"Det kræver beslutning", OB_TEXT_BOLD}}, 1);
	if (np > 0)
		api->bullets(doc, pts, np);
	else
		api->para(doc, "Alle systemer har deres oplysninger registreret, og ingen årlig revision er forsinket.");
}

static void charts(const struct ps_run *x, struct ob_doc *doc)
{
	const struct ob_api *api = x->api;
	const struct ps_figures *f = &x->fig;
	double cv[PS_NCAT], pv[PS_NPHASE], *dv = calloc(x->ndepts + 1, sizeof(double));
	const char **dl = calloc(x->ndepts + 1, sizeof(char *));

	for (int i = 0; i < PS_NCAT; i++)
		cv[i] = (double)f->by_cat[i];
	for (int i = 0; i < PS_NPHASE; i++)
		pv[i] = (double)f->by_phase[i];
	api->section(doc, 1, "Porteføljen", OB_SECTION_NEW_PAGE);
	api->para(doc, "Alle systemer, også dem der ikke er i drift, fordelt på kategori, fase i livscyklussen og "
		       "ansvarlig forvaltning.");
	{
		const struct ob_series s = OB_INIT(ob_series, .name = "Systemer", .values = cv);
		const struct ob_chart c = OB_INIT(ob_chart, .title = "Systemer pr. kategori", .labels = cat_da,
						  .nlabels = PS_NCAT, .series = &s, .nseries = 1, .value_axis = "Systemer",
						  .show_values = 1);
		api->chart(doc, &c);
	}
	{
		const struct ob_series s = OB_INIT(ob_series, .name = "Systemer", .values = pv);
		const struct ob_chart c = OB_INIT(ob_chart, .title = "Systemer pr. fase i livscyklussen", .labels = phase_da,
						  .nlabels = PS_NPHASE, .series = &s, .nseries = 1,
						  .value_axis = "Systemer", .show_values = 1);
		api->chart(doc, &c);
	}
	if (dv && dl && x->ndepts > 0) {
		for (size_t j = 0; j < x->ndepts; j++) {
			dv[j] = (double)x->depts[j].systems;
			dl[j] = x->depts[j].id ? nz(x->depts[j].name) : "Ingen forvaltning";
		}
		const struct ob_series s = OB_INIT(ob_series, .name = "Systemer", .values = dv);
		const struct ob_chart c = OB_INIT(ob_chart, .title = "Systemer pr. forvaltning", .horizontal = 1,
						  .labels = dl, .nlabels = x->ndepts, .series = &s, .nseries = 1,
						  .value_axis = "Systemer", .show_values = 1);
		api->chart(doc, &c);
	}
	free(dv);
	free(dl);
}

static enum ob_status pct_status(long long tenths)
{
	if (tenths < 0)
		return OB_STATUS_NONE;
	return tenths >= 900 ? OB_STATUS_GREEN : tenths >= 750 ? OB_STATUS_AMBER : OB_STATUS_RED;
}

static void completeness(const struct ps_run *x, struct ob_doc *doc)
{
	const struct ob_api *api = x->api;
	const struct ps_figures *f = &x->fig;
	const struct ob_column cols[] = {
		OB_INIT(ob_column, .header = "Forvaltning", .width = 3.0),
		OB_INIT(ob_column, .header = "Systemer", .width = 1.0, .align = OB_ALIGN_RIGHT, .format = OB_FMT_NUMBER),
		OB_INIT(ob_column, .header = "Komplette", .width = 1.0, .align = OB_ALIGN_RIGHT, .format = OB_FMT_NUMBER),
		OB_INIT(ob_column, .header = "Komplethed", .width = 1.1, .align = OB_ALIGN_RIGHT,
			.format = OB_FMT_PERCENT, .decimals = 1),
	};
	const struct ob_column fcols[] = {
		OB_INIT(ob_column, .header = "Oplysning", .width = 2.0),
		OB_INIT(ob_column, .header = "Mangler for", .width = 1.0, .align = OB_ALIGN_RIGHT, .format = OB_FMT_NUMBER),
		OB_INIT(ob_column, .header = "Rettes i", .width = 3.0),
	};
	static const char *const where[PS_NFIELDS] = {
		"KITOS: rollen Systemejer, en bruger med e-mail", "IT-støttefunktionen (kategori)",
		"KITOS: ansvarlig organisationsenhed", "KITOS: kontraktens leverandør, eller IT-støttefunktionen",
		"KITOS: driftsform", "KITOS: GDPR, persondata", "KITOS: kontrakten, der dækker systemet",
		"KITOS: GDPR, risikovurdering, eller IT-støttefunktionen"};
	double *pv = calloc(x->ndepts + 1, sizeof(double));
	const char **dl = calloc(x->ndepts + 1, sizeof(char *));
	struct ob_table *t;
	char pct[32];

	api->section(doc, 1, "Komplethed pr. forvaltning", 0);
	api->para(doc, "Andelen af de otte oplysninger, der er registreret, i gennemsnit over forvaltningens systemer. "
		       "Grøn: mindst 90 %%; gul: mindst 75 %%; rød: under.");
	t = api->table(doc, cols, sizeof(cols) / sizeof(cols[0]));
	for (size_t j = 0; t && j < x->ndepts; j++) {
		const struct ps_dept *d = &x->depts[j];
		long long tenths = ps_pct_tenths(d->present, (unsigned long long)d->systems);
		char sy[24], co[24];
		snprintf(sy, sizeof(sy), "%ld", d->systems);
		snprintf(co, sizeof(co), "%ld", d->complete);
		snprintf(pct, sizeof(pct), "%lld.%lld", tenths / 10, tenths % 10);
		const char *cells[] = {d->id ? nz(d->name) : "Ingen forvaltning", sy, co, pct};
		api->row(t, cells, pct_status(tenths));
		if (pv && dl) {
			pv[j] = (double)tenths / 10.0;
			dl[j] = cells[0];
		}
	}
	if (t && f->systems > 0) {
		char sy[24], co[24];
		snprintf(sy, sizeof(sy), "%ld", f->systems);
		snprintf(co, sizeof(co), "%ld", f->complete);
		snprintf(pct, sizeof(pct), "%lld.%lld", f->pct_tenths / 10, f->pct_tenths % 10);
		const char *cells[] = {"I alt", sy, co, pct};
		api->row(t, cells, pct_status(f->pct_tenths));
	}
	if (pv && dl && x->ndepts > 0) {
		const struct ob_series s = OB_INIT(ob_series, .name = "Komplethed (%)", .values = pv);
		const struct ob_chart c = OB_INIT(ob_chart, .title = "Komplethed pr. forvaltning (%)", .horizontal = 1,
						  .labels = dl, .nlabels = x->ndepts, .series = &s, .nseries = 1,
						  .value_axis = "%", .show_values = 1);
		api->chart(doc, &c);
	}
	free(pv);
	free(dl);

	api->section(doc, 2, "Hvad mangler", 0);
	api->para(doc, "For hver af de otte oplysninger: hvor mange systemer den mangler for, og hvor den rettes.");
	t = api->table(doc, fcols, sizeof(fcols) / sizeof(fcols[0]));
	for (int k = 0; t && k < PS_NFIELDS; k++) {
		char n[24], label[40];
		snprintf(n, sizeof(n), "%ld", f->missing[k]);
		snprintf(label, sizeof(label), "%s", ps_field_da((enum ps_field)k));
		label[0] = (char)(label[0] >= 'a' && label[0] <= 'z' ? label[0] - 'a' + 'A' : label[0]);
		const char *cells[] = {label, n, where[k]};
		api->row(t, cells, f->missing[k] ? OB_STATUS_AMBER : OB_STATUS_GREEN);
	}
}

static const char *owner_problem_da(enum ps_owner o)
{
	switch (o) {
	case PS_OWNER_NONE: return "Ingen systemejer i KITOS";
	case PS_OWNER_UNKNOWN: return "Ejeren er ikke bruger i organisationen";
	case PS_OWNER_NO_EMAIL: return "Ejeren har ingen e-mail";
	default: return "";
	}
}

static void owners(const struct ps_run *x, struct ob_doc *doc)
{
	const struct ob_api *api = x->api;
	const struct ob_column cols[] = {
		OB_INIT(ob_column, .header = "System", .width = 2.8),
		OB_INIT(ob_column, .header = "Forvaltning", .width = 2.2),
		OB_INIT(ob_column, .header = "Ejer ifølge KITOS", .width = 2.0),
		OB_INIT(ob_column, .header = "Problem", .width = 2.4),
	};
	struct ob_table *t = NULL;
	size_t n = 0;

	api->section(doc, 1, "Systemer uden kendt ejer", OB_SECTION_LANDSCAPE);
	api->para(doc, "Systemer, hvis påmindelser ikke kan nå en systemejer: ingen systemejer i KITOS (rød), en ejer, "
		       "der ikke findes blandt organisationens brugere (rød), eller en ejer uden e-mail (gul). Deres "
		       "påmindelser går til IT-støttefunktionen.");
	for (int pass = PS_OWNER_NONE; pass <= PS_OWNER_NO_EMAIL; pass++)
		for (size_t i = 0; i < x->n; i++) {
			const struct ps_item *it = &x->items[i];
			if ((int)it->r.owner != pass)
				continue;
			if (t == NULL)
				t = api->table(doc, cols, sizeof(cols) / sizeof(cols[0]));
			const char *cells[] = {nz(it->name), it->dept_id ? nz(it->dept) : "",
					       it->owner_id ? nz(it->owner_name) : nz(it->kitos_owner),
					       owner_problem_da(it->r.owner)};
			if (t)
				api->row(t, cells, pass == PS_OWNER_NO_EMAIL ? OB_STATUS_AMBER : OB_STATUS_RED);
			n++;
		}
	if (n == 0)
		api->para(doc, "Alle systemer har en systemejer med e-mail.");
}

static int by_review(const void *a, const void *b)
{
	const struct ps_item *x = *(const struct ps_item *const *)a, *y = *(const struct ps_item *const *)b;
	int c = (x->r.review != PS_REVIEW_NEVER) - (y->r.review != PS_REVIEW_NEVER); /* never first */
	if (c == 0)
		c = strcmp(x->r.review_due, y->r.review_due);
	return c ? c : strcmp(nz(x->name), nz(y->name));
}

static const char *review_da(enum ps_review r)
{
	switch (r) {
	case PS_REVIEW_NEVER: return "aldrig";
	case PS_REVIEW_OVERDUE: return "forsinket";
	case PS_REVIEW_DUE_SOON: return "snart";
	case PS_REVIEW_OK: return "i orden";
	default: return "ikke i drift";
	}
}

static void review(const struct ps_run *x, struct ob_doc *doc)
{
	const struct ob_api *api = x->api;
	const struct ob_column cols[] = {
		OB_INIT(ob_column, .header = "Frist", .width = 1.1, .format = OB_FMT_DATE),
		OB_INIT(ob_column, .header = "Dage", .width = 0.7, .align = OB_ALIGN_RIGHT, .format = OB_FMT_NUMBER),
		OB_INIT(ob_column, .header = "System", .width = 2.6),
		OB_INIT(ob_column, .header = "Forvaltning", .width = 2.0),
		OB_INIT(ob_column, .header = "Systemejer", .width = 1.8),
		OB_INIT(ob_column, .header = "Sidst revideret", .width = 1.1, .format = OB_FMT_DATE),
		OB_INIT(ob_column, .header = "Status", .width = 0.9),
	};
	const struct ps_item **v = calloc(x->n + 1, sizeof(*v));
	size_t n = 0;

	api->section(doc, 1, "Årlig revision", OB_SECTION_LANDSCAPE);
	api->para(doc, "Oplysningerne om hvert system i drift skal revideres en gang om året: fristen er 12 måneder efter "
		       "sidste revision. Rød: aldrig revideret eller fristen er overskredet; gul: fristen er inden for "
		       "%ld dage. Systemejeren gennemgår oplysningerne i KITOS, og IT-støttefunktionen registrerer datoen.",
		  x->cfg.review_due_days);
	for (size_t i = 0; v && i < x->n; i++) {
		enum ps_review r = x->items[i].r.review;
		if (r == PS_REVIEW_NEVER || r == PS_REVIEW_OVERDUE || r == PS_REVIEW_DUE_SOON)
			v[n++] = &x->items[i];
	}
	if (v == NULL || n == 0) {
		api->para(doc, "Ingen systemer mangler den årlige revision.");
		free(v);
		return;
	}
	qsort(v, n, sizeof(*v), by_review);
	struct ob_table *t = api->table(doc, cols, sizeof(cols) / sizeof(cols[0]));
	for (size_t i = 0; t && i < n; i++) {
		const struct ps_item *it = v[i];
		char days[24] = "";
		if (it->r.has_days)
			snprintf(days, sizeof(days), "%ld", it->r.review_days);
		const char *cells[] = {it->r.review_due, days, nz(it->name), it->dept_id ? nz(it->dept) : "",
				       it->owner_id ? nz(it->owner_name) : nz(it->kitos_owner), it->ldr,
				       review_da(it->r.review)};
		api->row(t, cells, it->r.review == PS_REVIEW_DUE_SOON ? OB_STATUS_AMBER : OB_STATUS_RED);
	}
	free(v);
}

static void citizen(const struct ps_run *x, struct ob_doc *doc)
{
	const struct ob_api *api = x->api;
	const struct ob_column cols[] = {
		OB_INIT(ob_column, .header = "System", .width = 2.6),
		OB_INIT(ob_column, .header = "Type", .width = 1.5),
		OB_INIT(ob_column, .header = "Forvaltning", .width = 2.0),
		OB_INIT(ob_column, .header = "Systemejer", .width = 1.8),
		OB_INIT(ob_column, .header = "Mangler", .width = 2.4),
		OB_INIT(ob_column, .header = "Revision", .width = 0.9),
	};
	struct ob_table *t = NULL;

	api->section(doc, 1, "Borgerrettede systemer", OB_SECTION_LANDSCAPE);
	api->para(doc, "Systemer, som borgerne bruger direkte (selvbetjening, udstilling af data, information, digitalt "
		       "møde, digital kommunikation). Rød: mangler oplysninger eller den årlige revision; grøn: i orden.");
	for (size_t i = 0; i < x->n; i++) {
		const struct ps_item *it = &x->items[i];
		char miss[256];
		if (!set(it->citizen))
			continue;
		if (t == NULL && (t = api->table(doc, cols, sizeof(cols) / sizeof(cols[0]))) == NULL)
			return;
		ps_missing_join(it->r.missing, ", ", 0, 1, miss, sizeof(miss));
		int bad = !it->r.complete || it->r.review == PS_REVIEW_NEVER || it->r.review == PS_REVIEW_OVERDUE;
		const char *cells[] = {nz(it->name), citizen_da(it->citizen), it->dept_id ? nz(it->dept) : "",
				       it->owner_id ? nz(it->owner_name) : nz(it->kitos_owner), miss,
				       review_da(it->r.review)};
		api->row(t, cells,
			 bad ? OB_STATUS_RED : it->r.review == PS_REVIEW_DUE_SOON ? OB_STATUS_AMBER : OB_STATUS_GREEN);
	}
	if (t == NULL)
		api->para(doc, "Ingen systemer er registreret som borgerrettede.");
}

static void rules_note(const struct ps_run *x, struct ob_doc *doc)
{
	const struct ob_api *api = x->api;

	api->section(doc, 1, "Sådan er tallene beregnet", 0);
	api->note(doc, "Komplethed: for hvert system tælles otte oplysninger. Systemejer: rollen Systemejer i KITOS, "
		       "fundet blandt organisationens brugere og med en e-mail. Kategori, forvaltning (ansvarlig "
		       "organisationsenhed), driftsform og persondata (ingen, almindelige eller følsomme): registreret. "
		       "Leverandør: systemets egen, ellers leverandøren på en kontrakt, der dækker systemet. Kontrakt: "
		       "mindst én kontrakt i KITOS nævner systemet, også en udløbet. Risikovurdering: kun for systemer i "
		       "drift med personoplysninger (almindelige, følsomme eller strafbare forhold); en dateret "
		       "risikovurdering i KITOS eller hos IT-støttefunktionen, senest på opgørelsesdatoen, tæller (hvor "
		       "gammel den er, vurderer GDPR-rapporten). For de øvrige systemer tæller den som til stede.");
	api->note(doc, "Kompletheden i procent er gennemsnittet over systemerne af andelen af de otte oplysninger, der "
		       "er til stede, med én decimal (afrundet, 0,05 op). Et system er komplet, når intet mangler.");
	api->note(doc, "Årlig revision (kun systemer i drift; alt andet end \"ikke i brug\" i KITOS, også ukendt, "
		       "tæller som i drift): fristen er sidste revision plus 12 måneder (en måneds sidste dag giver en "
		       "måneds sidste dag). Aldrig: ingen dato; forsinket: fristen er før opgørelsesdatoen; snart: 0 til "
		       "%ld dage til fristen; ellers i orden.",
		  x->cfg.review_due_days);
	api->note(doc, "Uden ejer: ingen systemejer i KITOS. Ukendt ejer: KITOS nævner en ejer, der ikke er bruger i "
		       "organisationen. Ejer uden e-mail: brugeren findes, men har ingen e-mail. Optællingerne pr. "
		       "kategori, fase, forvaltning, borgerrettede systemer og persondata omfatter alle systemer, også "
		       "dem, der ikke er i drift.");
	api->note(doc, "Påmindelser: systemejeren får én mail med sine systemer: den årlige revision, når den mangler "
		       "eller er forsinket (højst én gang pr. %s), og når fristen er inden for %ld dage (én gang pr. "
		       "frist), og de manglende oplysninger (højst én gang pr. %s, og igen, når noget andet mangler). "
		       "Et system uden ejer, der kan nås, påmindes gennem IT-støttefunktionen.",
		  strchr(x->period, 'Q') ? "kvartal" : strlen(x->period) == 4 ? "år" : "måned", x->cfg.review_due_days,
		  strchr(x->period, 'Q') ? "kvartal" : strlen(x->period) == 4 ? "år" : "måned");
}

static int portfolio_status_run(struct ob_ctx *ctx, void *state)
{
	const struct ob_api *api = ctx->api;
	struct ps_run x;
	struct ob_doc *doc;
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
	x.cfg.review_due_days = (long)api->setting_int(ctx, "review_due_days");
	period_of(x.as_of, api->setting_text(ctx, "remind_every"), x.period, sizeof(x.period));
	if (!OB_API_HAS(api, setting_texts)) {
		api->log(ctx, OB_PLOG_ERR, "this overblik's plugin API is older than ABI 2.1 (no list settings)");
		return -1;
	}
	{
		const char *const *names = NULL;
		size_t n = api->setting_texts(ctx, "summary_only_for", &names);
		mark_roles(&x, names, n);
	}

	if (load(&x) < 0)
		goto out;
	count(&x);
	if (write_json(&x) < 0) {
		api->log(ctx, OB_PLOG_ERR, "could not write portfolio_status.json");
		goto out;
	}
	if (notify_systems(&x) < 0 || notify_roles(&x) < 0)
		goto out;
	doc = api->doc(ctx);
	summary(&x, doc);
	charts(&x, doc);
	completeness(&x, doc);
	owners(&x, doc);
	review(&x, doc);
	citizen(&x, doc);
	rules_note(&x, doc);
	api->log(ctx, OB_PLOG_INFO, "%ld systems, %ld complete, %ld reviews never done, %ld overdue", x.fig.systems,
		 x.fig.complete, x.fig.never, x.fig.overdue);
	rc = 0;
out:
	free(x.items);
	free(x.depts);
	return rc;
}

OB_PLUGIN(.name = "portfolio_status", .version = "1.0", .title = "Systemoverblik", .run = portfolio_status_run,
	  .settings = portfolio_status_settings,
	  .nsettings = sizeof(portfolio_status_settings) / sizeof(portfolio_status_settings[0]));
