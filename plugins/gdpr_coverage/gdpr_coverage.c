/* gdpr_coverage.c - GDPR-dækning: for each system of the organisation
 * whether it is in scope (personal data, in operation) and covered: a
 * current risk assessment (within 12 months, none older than the last
 * incident), a DPIA where needed, a data processing agreement where
 * needed and a data-ethics assessment where AI, algorithms, RPA or data
 * matching are used. Each gap is an item to the system's owner, reminded
 * once per remind_every period; the I-sikkerhedskoordinator (isk) and ASG
 * get the briefing with the PDF (REPORTS.md "gdpr_coverage"). The rules of
 * one system are in rules.c. */
#include <overblik/plugin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"

#define GC_GREEN_TENTHS 900 /* a department at 90 % or more is green */
#define GC_AMBER_TENTHS 700 /* 70 % or more amber, below red */

static const struct ob_setting gdpr_coverage_settings[] = {
	OB_INIT(ob_setting, .name = "remind_every", .type = OB_SETTING_CHOICE, .def = "\"quarter\"",
		.choices = "month|quarter|year", .help = "how often an open GDPR gap is reminded to its owner"),
};

/* One system: its data (borrowed from the rows) and its computed fields. */
struct gc_item {
	unsigned long long id;
	const char *uuid, *name, *supplier, *department, *owner_id, *owner, *citizen;
	struct gc_system s;
	struct gc_result r;
	size_t dept; /* index into departments */
};

struct gc_dept {
	const char *name; /* NULL: no department */
	long systems, in_scope, covered;
};

struct gc_figures {
	long systems, in_scope, risk_current, risk_after_incident, risk_overdue, risk_missing, risk_due_soon,
		dpia_needed, dpia_missing, dpa_needed, dpa_missing, ethics_needed, ethics_missing, covered,
		cf_in_scope, cf_covered;
	long long pct; /* tenths, -1: null */
};

struct gc_run {
	struct ob_ctx *ctx;
	const struct ob_api *api;
	char as_of[OB_DATE_SIZE];
	char period[16]; /* <Q> */
	const char *remind_every;
	struct ob_rows *srows, *arows, *irows;
	struct gc_item *items;
	size_t n;
	struct gc_assessment *ass;
	struct gc_incident *inc;
	struct gc_dept *depts;
	size_t ndepts;
	struct gc_figures fig;
};

static const char *const gc_system_sql =
	"SELECT s.id AS id, s.kitos_uuid AS uuid, s.name AS name, s.supplier AS supplier,"
	" (SELECT COUNT(*) FROM data_processing_systems dps JOIN data_processing d ON d.id = dps.dpr_id"
	"  WHERE dps.system_id = s.id AND d.org_id = ? AND d.agreement_concluded = 'yes') AS dpa_concluded,"
	" u.name AS department, p.id AS owner_id, COALESCE(p.name, s.owner_name) AS owner,"
	" s.kitos_lifecycle AS kitos_lifecycle, s.personal_data AS personal_data, s.legal_data AS legal_data,"
	" s.citizen_facing AS citizen_facing, s.operations_model AS operations_model, s.uses_ai AS uses_ai,"
	" s.algorithmic_support AS algorithmic_support, s.uses_rpa AS uses_rpa, s.data_matching AS data_matching,"
	" s.ra_conducted AS ra_conducted, s.ra_date AS ra_date, s.ra_result AS ra_result,"
	" s.dpia_conducted AS dpia_conducted, s.dpia_date AS dpia_date, s.dpa_required AS dpa_required"
	" FROM systems s LEFT JOIN org_units u ON u.id = s.department_id AND u.org_id = ?"
	" LEFT JOIN people p ON p.id = s.owner_id AND p.org_id = ?"
	" WHERE s.org_id = ? ORDER BY s.id";

static const char *const gc_assessment_sql =
	"SELECT a.system_id AS system_id, a.kind AS kind, a.done_on AS done_on, a.result AS result"
	" FROM gdpr_assessments a JOIN systems s ON s.id = a.system_id"
	" WHERE s.org_id = ? ORDER BY a.system_id, a.done_on, a.kind";

static const char *const gc_incident_sql =
	"SELECT i.system_id AS system_id, i.occurred_on AS occurred_on, i.title AS title"
	" FROM incidents i JOIN systems s ON s.id = i.system_id"
	" WHERE s.org_id = ? ORDER BY i.system_id, i.occurred_on, i.id";

static unsigned long long id_of(const char *s) { return s ? strtoull(s, NULL, 10) : 0; }
static int flag(const char *s) { return s != NULL && *s && strcmp(s, "0") != 0; }
static const char *str(const char *s) { return s ? s : ""; }
static const char *plural(long n, const char *one, const char *many) { return n == 1 ? one : many; }

/* A date the Danish way, or "" (never fails the run). */
static const char *date_da(const struct ob_api *api, const char *date, char *out, size_t size)
{
	if (date == NULL || *date == '\0' || api->date_da(date, out, size) < 0)
		out[0] = '\0';
	return out;
}

/* A percentage in tenths as Danish text: "66,7" ("–" for null). */
static const char *pct_da(const struct ob_api *api, long long tenths, char *out, size_t size)
{
	if (tenths < 0)
		snprintf(out, size, "–");
	else if (api->number_da((double)tenths / 10.0, 1, out, size) < 0)
		snprintf(out, size, "%lld.%lld", tenths / 10, tenths % 10);
	return out;
}

static int dept_cmp_name(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return (a == NULL) - (b == NULL); /* no department last */
	return strcmp(a, b);
}

static size_t dept_index(struct gc_run *x, const char *name)
{
	for (size_t i = 0; i < x->ndepts; i++)
		if (dept_cmp_name(x->depts[i].name, name) == 0 && (name == NULL) == (x->depts[i].name == NULL))
			return i;
	x->depts[x->ndepts].name = name;
	return x->ndepts++;
}

static int by_dept_name(const void *a, const void *b)
{
	return dept_cmp_name(((const struct gc_dept *)a)->name, ((const struct gc_dept *)b)->name);
}

/* Reads the systems, their assessments and incidents, and computes each. */
static int load(struct gc_run *x)
{
	const struct ob_api *api = x->api;
	const char *org = api->org_id(x->ctx);
	const char *p1[] = {org}, *p4[] = {org, org, org, org};
	size_t na, ni, ja = 0, ji = 0;

	if (api->query(x->ctx, gc_system_sql, p4, 4, &x->srows) < 0 ||
	    api->query(x->ctx, gc_assessment_sql, p1, 1, &x->arows) < 0 ||
	    api->query(x->ctx, gc_incident_sql, p1, 1, &x->irows) < 0)
		return -1;
	x->n = api->nrows(x->srows);
	na = api->nrows(x->arows);
	ni = api->nrows(x->irows);
	x->items = calloc(x->n ? x->n : 1, sizeof(*x->items));
	x->depts = calloc(x->n ? x->n : 1, sizeof(*x->depts));
	x->ass = calloc(na ? na : 1, sizeof(*x->ass));
	x->inc = calloc(ni ? ni : 1, sizeof(*x->inc));
	if (x->items == NULL || x->depts == NULL || x->ass == NULL || x->inc == NULL) {
		api->log(x->ctx, OB_PLOG_ERR, "out of memory for %zu systems", x->n);
		return -1;
	}
	for (size_t i = 0; i < na; i++) {
		x->ass[i].kind = api->cell(x->arows, i, "kind");
		x->ass[i].done_on = api->cell(x->arows, i, "done_on");
		x->ass[i].result = api->cell(x->arows, i, "result");
	}
	for (size_t i = 0; i < ni; i++) {
		x->inc[i].occurred_on = api->cell(x->irows, i, "occurred_on");
		x->inc[i].title = api->cell(x->irows, i, "title");
	}
	for (size_t i = 0; i < x->n; i++) {
		struct gc_item *it = &x->items[i];
		const struct ob_rows *r = x->srows;
		struct gc_system *s = &it->s;

		it->id = id_of(api->cell(r, i, "id"));
		it->uuid = api->cell(r, i, "uuid");
		it->name = api->cell(r, i, "name");
		it->supplier = api->cell(r, i, "supplier");
		it->department = api->cell(r, i, "department");
		it->owner_id = api->cell(r, i, "owner_id");
		it->owner = api->cell(r, i, "owner");
		it->citizen = api->cell(r, i, "citizen_facing");
		if (it->citizen && *it->citizen == '\0')
			it->citizen = NULL;
		s->lifecycle = api->cell(r, i, "kitos_lifecycle");
		s->personal_data = api->cell(r, i, "personal_data");
		s->legal_data = flag(api->cell(r, i, "legal_data"));
		s->operations_model = api->cell(r, i, "operations_model");
		s->ai = flag(api->cell(r, i, "uses_ai"));
		s->algorithmic = flag(api->cell(r, i, "algorithmic_support"));
		s->rpa = flag(api->cell(r, i, "uses_rpa"));
		s->data_matching = flag(api->cell(r, i, "data_matching"));
		s->ra_conducted = api->cell(r, i, "ra_conducted");
		s->ra_date = api->cell(r, i, "ra_date");
		s->ra_result = api->cell(r, i, "ra_result");
		s->dpia_conducted = api->cell(r, i, "dpia_conducted");
		s->dpia_date = api->cell(r, i, "dpia_date");
		s->dpa_required = api->cell(r, i, "dpa_required");
		s->dpa_concluded = flag(api->cell(r, i, "dpa_concluded"));

		/* Its assessments and incidents: all three queries are ordered by the system id. */
		while (ja < na && id_of(api->cell(x->arows, ja, "system_id")) < it->id)
			ja++;
		s->ass = &x->ass[ja];
		while (ja < na && id_of(api->cell(x->arows, ja, "system_id")) == it->id)
			ja++;
		s->nass = (size_t)(&x->ass[ja] - s->ass);
		while (ji < ni && id_of(api->cell(x->irows, ji, "system_id")) < it->id)
			ji++;
		s->inc = &x->inc[ji];
		while (ji < ni && id_of(api->cell(x->irows, ji, "system_id")) == it->id)
			ji++;
		s->ninc = (size_t)(&x->inc[ji] - s->inc);

		if (gc_evaluate(api, x->as_of, s, &it->r) < 0) {
			api->log(x->ctx, OB_PLOG_ERR, "as_of \"%s\" is not a date", x->as_of);
			return -1;
		}
	}
	/* Departments by name, no department last. */
	for (size_t i = 0; i < x->n; i++)
		dept_index(x, x->items[i].department);
	qsort(x->depts, x->ndepts, sizeof(*x->depts), by_dept_name);
	for (size_t i = 0; i < x->n; i++)
		x->items[i].dept = dept_index(x, x->items[i].department);
	return 0;
}

static void count(struct gc_run *x)
{
	struct gc_figures *f = &x->fig;

	memset(f, 0, sizeof(*f));
	for (size_t i = 0; i < x->n; i++) {
		const struct gc_item *it = &x->items[i];
		const struct gc_result *r = &it->r;
		struct gc_dept *d = &x->depts[it->dept];
		f->systems++;
		d->systems++;
		if (!r->in_scope)
			continue;
		f->in_scope++;
		d->in_scope++;
		f->risk_current += r->risk == GC_RISK_CURRENT;
		f->risk_after_incident += r->risk == GC_RISK_AFTER_INCIDENT;
		f->risk_overdue += r->risk == GC_RISK_OVERDUE;
		f->risk_missing += r->risk == GC_RISK_MISSING;
		f->risk_due_soon += r->risk_due_soon;
		f->dpia_needed += r->dpia_needed;
		f->dpia_missing += r->dpia_needed && !r->dpia_present;
		f->dpa_needed += r->dpa_needed;
		f->dpa_missing += r->dpa_needed && !r->dpa_present;
		f->ethics_needed += r->ethics_needed;
		f->ethics_missing += r->ethics_needed && !r->ethics_present;
		f->covered += r->covered;
		d->covered += r->covered;
		f->cf_in_scope += it->citizen != NULL;
		f->cf_covered += it->citizen != NULL && r->covered;
	}
	f->pct = gc_pct_tenths(f->covered, f->in_scope);
}

static int pct_json(const struct ob_api *api, struct ob_json *o, const char *key, long long tenths)
{
	return tenths < 0 ? api->j_null(o, key) : api->j_number(o, key, (double)tenths / 10.0, 1);
}

static int write_json(struct gc_run *x)
{
	const struct ob_api *api = x->api;
	struct ob_json *rows = api->j_array(api->report_json(x->ctx), "systems");
	struct ob_json *fig = api->figures(x->ctx), *deps;
	const struct gc_figures *f = &x->fig;
	int rc = 0;

	if (rows == NULL || fig == NULL)
		return -1;
	for (size_t i = 0; i < x->n; i++) {
		const struct gc_item *it = &x->items[i];
		const struct gc_result *r = &it->r;
		struct ob_json *o = api->j_object(rows, NULL);
		if (o == NULL)
			return -1;
		rc |= api->j_text(o, "uuid", it->uuid);
		rc |= api->j_text(o, "name", it->name);
		rc |= api->j_text(o, "department", it->department);
		rc |= api->j_text(o, "owner", it->owner);
		rc |= api->j_bool(o, "in_scope", r->in_scope);
		rc |= api->j_bool(o, "citizen_facing", it->citizen != NULL);
		rc |= api->j_text(o, "risk", gc_risk_name(r->risk));
		rc |= api->j_date(o, "risk_date", r->risk_date[0] ? r->risk_date : NULL);
		rc |= api->j_date(o, "risk_due", r->risk_due[0] ? r->risk_due : NULL);
		rc |= api->j_bool(o, "dpia_needed", r->dpia_needed);
		rc |= api->j_bool(o, "dpia_present", r->dpia_present);
		rc |= api->j_bool(o, "dpa_needed", r->dpa_needed);
		rc |= api->j_bool(o, "dpa_present", r->dpa_present);
		rc |= api->j_bool(o, "ethics_needed", r->ethics_needed);
		rc |= api->j_bool(o, "ethics_present", r->ethics_present);
		rc |= api->j_bool(o, "covered", r->covered);
		/* More than REPORTS.md requires, for a reader of the JSON. */
		rc |= api->j_bool(o, "in_operation", r->in_operation);
		rc |= api->j_text(o, "personal_data", it->s.personal_data);
		rc |= api->j_bool(o, "legal_data", it->s.legal_data);
		rc |= api->j_text(o, "citizen_facing_kind", it->citizen);
		rc |= api->j_text(o, "risk_result", r->risk_result);
		rc |= api->j_bool(o, "risk_due_soon", r->risk_due_soon);
		rc |= api->j_date(o, "incident_date", r->incident_date[0] ? r->incident_date : NULL);
		rc |= api->j_text(o, "incident", r->incident_date[0] ? r->incident_title : NULL);
	}

	rc |= api->j_int(fig, "systems", f->systems);
	rc |= api->j_int(fig, "in_scope", f->in_scope);
	rc |= api->j_int(fig, "risk_current", f->risk_current);
	rc |= api->j_int(fig, "risk_after_incident", f->risk_after_incident);
	rc |= api->j_int(fig, "risk_overdue", f->risk_overdue);
	rc |= api->j_int(fig, "risk_missing", f->risk_missing);
	rc |= api->j_int(fig, "risk_due_soon", f->risk_due_soon);
	rc |= api->j_int(fig, "dpia_needed", f->dpia_needed);
	rc |= api->j_int(fig, "dpia_missing", f->dpia_missing);
	rc |= api->j_int(fig, "dpa_needed", f->dpa_needed);
	rc |= api->j_int(fig, "dpa_missing", f->dpa_missing);
	rc |= api->j_int(fig, "ethics_needed", f->ethics_needed);
	rc |= api->j_int(fig, "ethics_missing", f->ethics_missing);
	rc |= api->j_int(fig, "covered", f->covered);
	rc |= pct_json(api, fig, "coverage_pct", f->pct);
	rc |= api->j_int(fig, "citizen_facing_in_scope", f->cf_in_scope);
	rc |= api->j_int(fig, "citizen_facing_covered", f->cf_covered);
	if ((deps = api->j_array(fig, "departments")) == NULL)
		return -1;
	for (size_t i = 0; i < x->ndepts; i++) {
		const struct gc_dept *d = &x->depts[i];
		struct ob_json *o = api->j_object(deps, NULL);
		if (o == NULL)
			return -1;
		rc |= api->j_text(o, "name", d->name);
		rc |= api->j_int(o, "in_scope", d->in_scope);
		rc |= api->j_int(o, "covered", d->covered);
		rc |= pct_json(api, o, "coverage_pct", gc_pct_tenths(d->covered, d->in_scope));
	}
	return rc ? -1 : 0;
}

/* Items. */

/* The values every item template may use; all strings. */
struct gc_kv {
	char risk_date[40], risk_due[40], incident_date[40], due_days[32], overdue_days[32];
	char uses[160];
	const char *kv[64];
};

static void kv_fill(const struct gc_run *x, const struct gc_item *it, struct gc_kv *v)
{
	const struct ob_api *api = x->api;
	const struct gc_result *r = &it->r;
	size_t k = 0;
	const char *use[4];
	size_t nu = 0;

	date_da(api, r->risk_date, v->risk_date, sizeof(v->risk_date));
	date_da(api, r->risk_due, v->risk_due, sizeof(v->risk_due));
	date_da(api, r->incident_date, v->incident_date, sizeof(v->incident_date));
	snprintf(v->due_days, sizeof(v->due_days), "%ld", r->has_due_days && r->due_days > 0 ? r->due_days : 0L);
	snprintf(v->overdue_days, sizeof(v->overdue_days), "%ld", r->has_due_days && r->due_days < 0 ? -r->due_days : 0L);
	if (it->s.ai)
		use[nu++] = "kunstig intelligens";
	if (it->s.algorithmic)
		use[nu++] = "algoritmisk beslutningsstøtte";
	if (it->s.rpa)
		use[nu++] = "robotter (RPA)";
	if (it->s.data_matching)
		use[nu++] = "samkøring af data";
	v->uses[0] = '\0';
	for (size_t i = 0; i < nu; i++) {
		strncat(v->uses, i == 0 ? "" : i + 1 == nu ? " og " : ", ", sizeof(v->uses) - strlen(v->uses) - 1);
		strncat(v->uses, use[i], sizeof(v->uses) - strlen(v->uses) - 1);
	}
#define KV(key, val) (v->kv[k++] = (key), v->kv[k++] = (val))
	KV("uuid", str(it->uuid));
	KV("system", str(it->name));
	KV("supplier", str(it->supplier));
	KV("department", str(it->department));
	KV("owner", str(it->owner));
	KV("risk", gc_risk_name(r->risk));
	KV("risk_date", v->risk_date);
	KV("risk_date_iso", r->risk_date);
	KV("risk_due", v->risk_due);
	KV("risk_due_iso", r->risk_due);
	KV("due_days", v->due_days);
	KV("due_one", r->has_due_days && r->due_days == 1 ? "1" : "");
	KV("due_today", r->has_due_days && r->due_days == 0 ? "1" : "");
	KV("overdue_days", v->overdue_days);
	KV("overdue_one", r->has_due_days && r->due_days == -1 ? "1" : "");
	KV("incident", r->incident_date[0] ? str(r->incident_title) : "");
	KV("incident_date", v->incident_date);
	KV("incident_date_iso", r->incident_date);
	KV("sensitive", it->r.dpia_reason == 1 ? "1" : "");
	KV("legal", it->r.dpia_reason == 2 ? "1" : "");
	KV("high_risk", it->r.dpia_reason == 3 ? "1" : "");
	KV("dpa_by_kitos", it->s.dpa_required && strcmp(it->s.dpa_required, "yes") == 0 ? "1" : "");
	KV("uses", v->uses);
	KV("period", x->period);
#undef KV
	v->kv[k] = NULL;
}

static int send(const struct gc_run *x, const char *recipient, const char *key, const char *tpl,
		const char *const *kv)
{
	struct ob_notice n = OB_INIT(ob_notice, .recipient = recipient, .dedupe_key = key, .template = tpl, .kv = kv);
	return x->api->notify(x->ctx, &n);
}

/* The owner of the system, or it_support when it has none (as data quality). */
static const char *owner_rcpt(const struct gc_item *it, char *buf, size_t size)
{
	if (it->owner_id == NULL || *it->owner_id == '\0')
		return "it_support";
	snprintf(buf, size, "owner:%s", it->owner_id);
	return buf;
}

static int notify_system(const struct gc_run *x, const struct gc_item *it)
{
	const struct gc_result *r = &it->r;
	const char *uuid = str(it->uuid);
	char key[256], rb[64];
	const char *to = owner_rcpt(it, rb, sizeof(rb));
	struct gc_kv v;
	int rc = 0;

	if (!r->in_scope || (r->covered && !r->risk_due_soon))
		return 0;
	kv_fill(x, it, &v);
	if (r->risk == GC_RISK_AFTER_INCIDENT) {
		snprintf(key, sizeof(key), "gdpr:%s:incident:%s", uuid, r->incident_date);
		rc |= send(x, to, key, "gdpr_coverage/incident", v.kv);
	} else if (r->risk != GC_RISK_CURRENT) {
		snprintf(key, sizeof(key), "gdpr:%s:risk:%s:%s", uuid, r->risk_due[0] ? r->risk_due : "missing",
			 x->period);
		rc |= send(x, to, key, r->risk == GC_RISK_MISSING ? "gdpr_coverage/risk_missing" : "gdpr_coverage/risk",
			   v.kv);
	}
	if (r->risk_due_soon) {
		snprintf(key, sizeof(key), "gdpr:%s:risk_due:%s", uuid, r->risk_due);
		rc |= send(x, to, key, "gdpr_coverage/risk_due", v.kv);
	}
	if (r->dpia_needed && !r->dpia_present) {
		snprintf(key, sizeof(key), "gdpr:%s:dpia:%s", uuid, x->period);
		rc |= send(x, to, key, "gdpr_coverage/dpia", v.kv);
	}
	if (r->dpa_needed && !r->dpa_present) {
		snprintf(key, sizeof(key), "gdpr:%s:dpa:%s", uuid, x->period);
		rc |= send(x, to, key, "gdpr_coverage/dpa", v.kv);
	}
	if (r->ethics_needed && !r->ethics_present) {
		snprintf(key, sizeof(key), "gdpr:%s:ethics:%s", uuid, x->period);
		rc |= send(x, to, key, "gdpr_coverage/ethics", v.kv);
	}
	return rc ? -1 : 0;
}

/* The briefing of isk and ASG: one item summarising; their message carries the PDF. */
static int notify_roles(const struct gc_run *x)
{
	const struct ob_api *api = x->api;
	const struct gc_figures *f = &x->fig;
	char nums[12][32], pct[32], prev_pct[32] = "", asof[40], prev_asof[40] = "", key[96];
	long not_current = f->risk_after_incident + f->risk_overdue + f->risk_missing;
	long vals[] = {f->in_scope, f->covered, not_current, f->risk_after_incident, f->risk_overdue,
		       f->risk_missing, f->dpia_missing, f->dpa_missing, f->ethics_missing, f->cf_in_scope,
		       f->cf_covered, f->risk_due_soon};
	double prev;
	static const char *const roles[] = {"isk", "asg"};
	int rc = 0;

	for (size_t i = 0; i < 12; i++)
		snprintf(nums[i], sizeof(nums[i]), "%ld", vals[i]);
	pct_da(api, f->pct, pct, sizeof(pct));
	if (api->previous(x->ctx, "coverage_pct", &prev) == 1) {
		api->number_da(prev, 1, prev_pct, sizeof(prev_pct));
		date_da(api, api->previous_as_of(x->ctx), prev_asof, sizeof(prev_asof));
	}
	date_da(api, x->as_of, asof, sizeof(asof));
	const char *kv[] = {"as_of", asof, "in_scope", nums[0], "covered", nums[1], "coverage_pct", pct,
			    "has_pct", f->pct >= 0 ? "1" : "", "not_current", nums[2], "after_incident", nums[3],
			    "overdue", nums[4], "missing", nums[5], "dpia_missing", nums[6], "dpa_missing", nums[7],
			    "ethics_missing", nums[8], "cf_in_scope", nums[9], "cf_covered", nums[10],
			    "due_soon", nums[11], "previous_pct", prev_pct, "previous_as_of", prev_asof,
			    "period", x->period, NULL};
	snprintf(key, sizeof(key), "gdpr:briefing:%s", x->period);
	for (size_t i = 0; i < 2; i++)
		rc |= send(x, roles[i], key, "gdpr_coverage/briefing", kv);
	return rc ? -1 : 0;
}

static int notify_all(const struct gc_run *x)
{
	int rc = 0;
	for (size_t i = 0; i < x->n && rc == 0; i++)
		rc |= notify_system(x, &x->items[i]);
	if (rc == 0)
		rc |= notify_roles(x);
	return rc ? -1 : 0;
}

/* The PDF. */

static void kpi(const struct gc_run *x, struct ob_doc *doc, const char *label, const char *path, double value,
		const char *unit, int decimals)
{
	const struct ob_api *api = x->api;
	struct ob_kpi k = OB_INIT(ob_kpi, .label = label, .value = value, .unit = unit, .decimals = decimals);
	double prev;

	if (api->previous(x->ctx, path, &prev) == 1) {
		k.has_previous = 1;
		k.previous = prev;
	}
	api->kpi(doc, &k);
}

/* A gap's text for the tables: "" when none. */
static const char *risk_da(enum gc_risk r)
{
	switch (r) {
	case GC_RISK_CURRENT:
		return "aktuel";
	case GC_RISK_AFTER_INCIDENT:
		return "efter hændelse";
	case GC_RISK_OVERDUE:
		return "forældet";
	default:
		return "mangler";
	}
}

static const char *need_da(int needed, int present)
{
	if (!needed)
		return "–";
	return present ? "ja" : "mangler";
}

static enum ob_status row_status(const struct gc_result *r)
{
	if (r->risk != GC_RISK_CURRENT)
		return OB_STATUS_RED;
	if (!r->covered)
		return OB_STATUS_AMBER;
	return r->risk_due_soon ? OB_STATUS_AMBER : OB_STATUS_GREEN;
}

static enum ob_status pct_status(long long tenths)
{
	if (tenths < 0)
		return OB_STATUS_NONE;
	if (tenths >= GC_GREEN_TENTHS)
		return OB_STATUS_GREEN;
	return tenths >= GC_AMBER_TENTHS ? OB_STATUS_AMBER : OB_STATUS_RED;
}

static void summary(const struct gc_run *x, struct ob_doc *doc)
{
	const struct ob_api *api = x->api;
	const struct gc_figures *f = &x->fig;
	const char *org = api->org_name(x->ctx);
	char asof[40], prev[40], pct[32], pprev[32], buf[3][768];
	const char *points[3];
	size_t np = 0;
	double pv;
	long not_current = f->risk_after_incident + f->risk_overdue + f->risk_missing;

	date_da(api, x->as_of, asof, sizeof(asof));
	pct_da(api, f->pct, pct, sizeof(pct));
	api->title(doc, "GDPR-dækning", org ? org : "");
	if (f->in_scope > 0)
		api->para(doc, "%s pr. %s: %ld af kommunens %ld %s behandler personoplysninger og er i drift. %ld af dem "
			       "er dækket (%s %%): en aktuel risikovurdering og, hvor det kræves, konsekvensanalyse, "
			       "databehandleraftale og dataetisk vurdering.",
			  org ? org : "Organisationen", asof, f->in_scope, f->systems, plural(f->systems, "system", "systemer"),
			  f->covered, pct);
	else
		api->para(doc, "%s pr. %s: ingen af kommunens %ld %s behandler personoplysninger i drift, så der er "
			       "intet at dække.",
			  org ? org : "Organisationen", asof, f->systems, plural(f->systems, "system", "systemer"));
	if (api->previous_as_of(x->ctx)) {
		date_da(api, api->previous_as_of(x->ctx), prev, sizeof(prev));
		if (api->previous(x->ctx, "coverage_pct", &pv) == 1 && f->pct >= 0) {
			api->number_da(pv, 1, pprev, sizeof(pprev));
			api->para(doc, "Udviklingen: dækningen var %s %% pr. %s og er nu %s %%. Nøgletallene viser ændringen "
				       "siden da.",
				  pprev, prev, pct);
		} else
			api->para(doc, "Udviklingen i nøgletallene er målt mod opgørelsen pr. %s.", prev);
	}
	kpi(x, doc, "Dækning", "coverage_pct", f->pct >= 0 ? (double)f->pct / 10.0 : 0, "%", 1);
	kpi(x, doc, "Systemer med personoplysninger", "in_scope", (double)f->in_scope, "stk.", 0);
	kpi(x, doc, "Dækket", "covered", (double)f->covered, "stk.", 0);
	kpi(x, doc, "Risikovurdering forældet", "risk_overdue", (double)f->risk_overdue, "stk.", 0);
	kpi(x, doc, "Risikovurdering mangler", "risk_missing", (double)f->risk_missing, "stk.", 0);
	kpi(x, doc, "Ny vurdering efter hændelse", "risk_after_incident", (double)f->risk_after_incident, "stk.", 0);
	kpi(x, doc, "Mangler databehandleraftale", "dpa_missing", (double)f->dpa_missing, "stk.", 0);
	kpi(x, doc, "Borgerrettede, dækket", "citizen_facing_covered", (double)f->cf_covered, "stk.", 0);

	if (not_current > 0) {
		snprintf(buf[np], sizeof(buf[np]),
			 "%ld %s uden en aktuel risikovurdering (forældet: %ld, mangler: %ld, skal vurderes igen "
			 "efter en sikkerhedshændelse: %ld). Systemejerne er mindet om det; informationssikkerheds"
			 "koordinatoren bør følge op på de ældste.",
			 not_current, plural(not_current, "system er", "systemer er"), f->risk_overdue, f->risk_missing,
			 f->risk_after_incident);
		points[np] = buf[np];
		np++;
	}
	if (f->cf_in_scope > f->cf_covered) {
		snprintf(buf[np], sizeof(buf[np]),
			 "%ld af %ld borgerrettede systemer med personoplysninger er ikke dækket. Det er dem, borgerne "
			 "møder direkte: de bør prioriteres først.",
			 f->cf_in_scope - f->cf_covered, f->cf_in_scope);
		points[np] = buf[np];
		np++;
	}
	if (f->dpa_missing + f->dpia_missing > 0 && np < 3) {
		snprintf(buf[np], sizeof(buf[np]),
			 "%ld %s en databehandleraftale og %ld en konsekvensanalyse (DPIA). Uden aftalen behandler "
			 "leverandøren data uden hjemmel: ASG bør sikre, at de indgås.",
			 f->dpa_missing, plural(f->dpa_missing, "system mangler", "systemer mangler"), f->dpia_missing);
		points[np] = buf[np];
		np++;
	}
	api->para_runs(doc, (const struct ob_text_run[]){{"Det kræver beslutning", OB_TEXT_BOLD}}, 1);
	if (np > 0)
		api->bullets(doc, points, np);
	else
		api->para(doc, "Alle systemer med personoplysninger er dækket; intet kræver en beslutning lige nu.");
}

static void departments(const struct gc_run *x, struct ob_doc *doc)
{
	const struct ob_api *api = x->api;
	const struct ob_column cols[] = {
		OB_INIT(ob_column, .header = "Forvaltning", .width = 3.0),
		OB_INIT(ob_column, .header = "Systemer", .width = 0.9, .align = OB_ALIGN_RIGHT, .format = OB_FMT_NUMBER),
		OB_INIT(ob_column, .header = "Med personoplysninger", .width = 1.7, .align = OB_ALIGN_RIGHT,
			.format = OB_FMT_NUMBER),
		OB_INIT(ob_column, .header = "Dækket", .width = 0.9, .align = OB_ALIGN_RIGHT, .format = OB_FMT_NUMBER),
		OB_INIT(ob_column, .header = "Dækning", .width = 0.9, .align = OB_ALIGN_RIGHT, .format = OB_FMT_PERCENT,
			.decimals = 1),
	};
	const char **labels = calloc(x->ndepts ? x->ndepts : 1, sizeof(*labels));
	double *covered = calloc(x->ndepts ? x->ndepts : 1, sizeof(double));
	double *open = calloc(x->ndepts ? x->ndepts : 1, sizeof(double));
	size_t nl = 0;

	api->section(doc, 1, "Dækning pr. forvaltning", OB_SECTION_NEW_PAGE);
	api->para(doc, "Systemer med personoplysninger i drift pr. forvaltning (den ansvarlige organisationsenhed i "
		       "KITOS), og hvor mange af dem der er dækket. Grøn: mindst %d %%; gul: mindst %d %%; rød: under.",
		  GC_GREEN_TENTHS / 10, GC_AMBER_TENTHS / 10);
	if (labels && covered && open) {
		for (size_t i = 0; i < x->ndepts; i++) {
			const struct gc_dept *d = &x->depts[i];
			if (d->in_scope == 0)
				continue;
			labels[nl] = d->name ? d->name : "Uden forvaltning";
			covered[nl] = (double)d->covered;
			open[nl] = (double)(d->in_scope - d->covered);
			nl++;
		}
		if (nl > 0) {
			const struct ob_series series[] = {
				OB_INIT(ob_series, .name = "Dækket", .values = covered),
				OB_INIT(ob_series, .name = "Ikke dækket", .values = open),
			};
			const struct ob_chart c = OB_INIT(ob_chart, .title = "Systemer med personoplysninger pr. forvaltning",
							  .horizontal = 1, .stacked = 1, .labels = labels, .nlabels = nl,
							  .series = series, .nseries = 2, .value_axis = "Systemer",
							  .show_values = 1);
			api->chart(doc, &c);
		}
	}
	struct ob_table *t = api->table(doc, cols, sizeof(cols) / sizeof(cols[0]));
	for (size_t i = 0; t && i < x->ndepts; i++) {
		const struct gc_dept *d = &x->depts[i];
		long long p = gc_pct_tenths(d->covered, d->in_scope);
		char a[24], b[24], c[24], e[24];
		snprintf(a, sizeof(a), "%ld", d->systems);
		snprintf(b, sizeof(b), "%ld", d->in_scope);
		snprintf(c, sizeof(c), "%ld", d->covered);
		if (p >= 0)
			snprintf(e, sizeof(e), "%lld.%lld", p / 10, p % 10);
		else
			e[0] = '\0';
		const char *cells[] = {d->name ? d->name : "Uden forvaltning", a, b, c, e};
		api->row(t, cells, pct_status(p));
	}
	if (t) {
		char a[24], b[24], c[24], e[24];
		snprintf(a, sizeof(a), "%ld", x->fig.systems);
		snprintf(b, sizeof(b), "%ld", x->fig.in_scope);
		snprintf(c, sizeof(c), "%ld", x->fig.covered);
		if (x->fig.pct >= 0)
			snprintf(e, sizeof(e), "%lld.%lld", x->fig.pct / 10, x->fig.pct % 10);
		else
			e[0] = '\0';
		const char *cells[] = {"I alt", a, b, c, e};
		api->row(t, cells, pct_status(x->fig.pct));
	}
	free(labels);
	free(covered);
	free(open);
}

static const struct ob_column gap_cols[] = {
	OB_INIT(ob_column, .header = "System", .width = 2.2),
	OB_INIT(ob_column, .header = "Systemejer", .width = 1.6),
	OB_INIT(ob_column, .header = "Risikovurdering", .width = 1.4),
	OB_INIT(ob_column, .header = "Vurderet", .width = 0.9, .format = OB_FMT_DATE),
	OB_INIT(ob_column, .header = "Fornyes senest", .width = 0.9, .format = OB_FMT_DATE),
	OB_INIT(ob_column, .header = "DPIA", .width = 0.7, .align = OB_ALIGN_CENTER),
	OB_INIT(ob_column, .header = "Databeh.-aftale", .width = 1.0, .align = OB_ALIGN_CENTER),
	OB_INIT(ob_column, .header = "Dataetik", .width = 0.85, .align = OB_ALIGN_CENTER),
	OB_INIT(ob_column, .header = "Hændelse", .width = 1.6),
};
#define GC_GAP_COLS (sizeof(gap_cols) / sizeof(gap_cols[0]))

static void gap_row(const struct gc_run *x, struct ob_table *t, const struct gc_item *it)
{
	const struct gc_result *r = &it->r;
	char inc[400] = "", day[40];
	if (r->incident_date[0])
		snprintf(inc, sizeof(inc), "%s: %s", date_da(x->api, r->incident_date, day, sizeof(day)),
			 str(r->incident_title));
	const char *cells[] = {str(it->name),
			       it->owner ? it->owner : "(ingen ejer)",
			       risk_da(r->risk),
			       r->risk_date,
			       r->risk_due,
			       need_da(r->dpia_needed, r->dpia_present),
			       need_da(r->dpa_needed, r->dpa_present),
			       need_da(r->ethics_needed, r->ethics_present),
			       inc};
	x->api->row(t, cells, row_status(r));
	if (r->risk_due_soon && r->risk == GC_RISK_CURRENT)
		x->api->cell_status(t, 4, OB_STATUS_AMBER);
}

static void citizen_facing(const struct gc_run *x, struct ob_doc *doc)
{
	const struct ob_api *api = x->api;
	const struct gc_figures *f = &x->fig;
	struct ob_table *t = NULL;

	api->section(doc, 1, "Borgerrettede systemer", OB_SECTION_LANDSCAPE | OB_SECTION_NEW_PAGE);
	api->para(doc, "Systemer, borgerne møder direkte (selvbetjening, udstilling af data, information, digitale "
		       "møder og digital kommunikation), som behandler personoplysninger: %ld, heraf %ld dækket.",
		  f->cf_in_scope, f->cf_covered);
	for (size_t i = 0; i < x->n; i++) {
		const struct gc_item *it = &x->items[i];
		if (!it->r.in_scope || it->citizen == NULL)
			continue;
		if (t == NULL && (t = api->table(doc, gap_cols, GC_GAP_COLS)) == NULL)
			return;
		gap_row(x, t, it);
	}
	if (t == NULL)
		api->para(doc, "Ingen borgerrettede systemer behandler personoplysninger.");
}

/* Gaps ordered by department (as the departments), owner, system. */
static int by_gap(const void *a, const void *b)
{
	const struct gc_item *x = *(const struct gc_item *const *)a, *y = *(const struct gc_item *const *)b;
	if (x->dept != y->dept)
		return x->dept < y->dept ? -1 : 1;
	int c = (x->owner == NULL) - (y->owner == NULL);
	if (c == 0 && x->owner && y->owner)
		c = strcmp(x->owner, y->owner);
	return c ? c : strcmp(str(x->name), str(y->name));
}

static void gaps(const struct gc_run *x, struct ob_doc *doc)
{
	const struct ob_api *api = x->api;
	const struct gc_item **v = calloc(x->n ? x->n : 1, sizeof(*v));
	size_t n = 0;

	api->section(doc, 1, "Mangler pr. forvaltning og systemejer", OB_SECTION_LANDSCAPE | OB_SECTION_NEW_PAGE);
	api->para(doc, "Hvert system med personoplysninger i drift, som ikke er dækket, eller hvis risikovurdering skal "
		       "fornyes inden for %d dage. Rød: risikovurderingen er ikke aktuel; gul: en anden del mangler, "
		       "eller fornyelsen nærmer sig. \"–\": kræves ikke.",
		  GC_DUE_SOON_DAYS);
	if (v == NULL)
		return;
	for (size_t i = 0; i < x->n; i++) {
		const struct gc_result *r = &x->items[i].r;
		if (r->in_scope && (!r->covered || r->risk_due_soon))
			v[n++] = &x->items[i];
	}
	qsort(v, n, sizeof(*v), by_gap);
	if (n == 0)
		api->para(doc, "Ingen mangler: alle systemer med personoplysninger er dækket.");
	for (size_t i = 0; i < n;) {
		size_t d = v[i]->dept, j = i;
		const struct gc_dept *dp = &x->depts[d];
		char head[320];
		while (j < n && v[j]->dept == d)
			j++;
		snprintf(head, sizeof(head), "%s (%zu %s, %ld af %ld dækket)", dp->name ? dp->name : "Uden forvaltning",
			 j - i, plural((long)(j - i), "system", "systemer"), dp->covered, dp->in_scope);
		api->para_runs(doc, (const struct ob_text_run[]){{head, OB_TEXT_BOLD}}, 1);
		struct ob_table *t = api->table(doc, gap_cols, GC_GAP_COLS);
		for (size_t k = i; t && k < j; k++)
			gap_row(x, t, v[k]);
		i = j;
	}
	free(v);
}

static void rules_note(const struct gc_run *x, struct ob_doc *doc)
{
	const struct ob_api *api = x->api;
	static const char *const every_da[] = {"måned", "kvartal", "år"};
	const char *re = x->remind_every ? x->remind_every : "quarter";
	const char *every = strcmp(re, "month") == 0 ? every_da[0] : strcmp(re, "year") == 0 ? every_da[2] : every_da[1];

	api->section(doc, 1, "Sådan er tallene beregnet", 0);
	api->note(doc, "Omfattet: systemer, der ifølge KITOS behandler almindelige eller følsomme personoplysninger "
		       "eller oplysninger om strafbare forhold, og som er i drift (alt andet end \"ikke i brug\"; "
		       "ukendt status tæller som i drift). Alle tal herunder er om de omfattede systemer.");
	api->note(doc, "Risikovurdering: den nyeste af KITOS' (gennemført \"ja\" med en dato) og de registrerede i "
		       "CSV; samme dato: CSV-rækkens resultat gælder. Aktuel: højst 12 måneder gammel (fra samme dato "
		       "året før opgørelsesdatoen; en måneds sidste dag regnes til en måneds sidste dag) og ingen "
		       "sikkerhedshændelse efter den. Efter hændelse: højst 12 måneder gammel, men en hændelse er "
		       "sket efter den. Forældet: ældre. Mangler: ingen. Den skal fornyes 12 måneder efter; "
		       "systemejeren mindes %d dage før.",
		  GC_DUE_SOON_DAYS);
	api->note(doc, "Konsekvensanalyse (DPIA) kræves ved følsomme oplysninger, oplysninger om strafbare forhold, "
		       "eller når den nyeste risikovurdering gav høj risiko (også en forældet). Den findes, når KITOS "
		       "siger \"ja\", eller der er registreret en i CSV. Databehandleraftale kræves, når KITOS siger "
		       "\"ja\"; \"nej\" og \"styret via lovgivning\" kræver ingen; siger KITOS intet, kræves den, når "
		       "leverandøren driver systemet. Den findes, når en databehandling i KITOS nævner systemet med "
		       "aftalen indgået. Dataetisk vurdering kræves ved kunstig intelligens, algoritmisk "
		       "beslutningsstøtte, robotter (RPA) eller samkøring af data.");
	api->note(doc, "Dækket: omfattet, aktuel risikovurdering og hver krævet del til stede. Dækning: dækkede i "
		       "procent af omfattede, afrundet til én decimal (halve op). Datoer efter opgørelsesdatoen tæller "
		       "ikke. Hver mangel mindes systemejeren om én gang pr. %s (en sikkerhedshændelse og en nærmende "
		       "fornyelse én gang); et system uden ejer går til IT-support.",
		  every);
}

static int gdpr_coverage_run(struct ob_ctx *ctx, void *state)
{
	const struct ob_api *api = ctx->api;
	struct gc_run x;
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
	x.remind_every = api->setting_text(ctx, "remind_every");
	gc_period_key(x.as_of, x.remind_every, x.period, sizeof(x.period));

	if (load(&x) < 0)
		goto out;
	count(&x);
	if (write_json(&x) < 0) {
		api->log(ctx, OB_PLOG_ERR, "could not write gdpr_coverage.json");
		goto out;
	}
	if (notify_all(&x) < 0)
		goto out;
	doc = api->doc(ctx);
	summary(&x, doc);
	departments(&x, doc);
	citizen_facing(&x, doc);
	gaps(&x, doc);
	rules_note(&x, doc);
	api->log(ctx, OB_PLOG_INFO, "%ld systems, %ld in scope, %ld covered", x.fig.systems, x.fig.in_scope,
		 x.fig.covered);
	rc = 0;
out:
	free(x.items);
	free(x.depts);
	free(x.ass);
	free(x.inc);
	return rc;
}

OB_PLUGIN(.name = "gdpr_coverage", .version = "1.0", .title = "GDPR-dækning", .run = gdpr_coverage_run,
	  .settings = gdpr_coverage_settings,
	  .nsettings = sizeof(gdpr_coverage_settings) / sizeof(gdpr_coverage_settings[0]));
