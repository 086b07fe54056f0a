/* target_picture.c - Målbillede: whether the organisation's målbillede is
 * due for renewal and why, the diff of its two latest versions, each
 * current action with the systems it concerns and their owners, shared
 * municipal solutions whose maturity changed since the previous run, and
 * contracts on systems the målbillede wants changed that end within the
 * contract window (REPORTS.md "target_picture"). The rules are in rules.c;
 * a contract's end is contract_expiry's rules.c. */
#include <overblik/plugin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"

#define TP_KEY_SIZE 256

static const struct ob_setting target_picture_settings[] = {
	OB_INIT(ob_setting, .name = "contract_window_months", .type = OB_SETTING_INT, .def = "24", .min = 0,
		.max = 240,
		.help = "months after as_of within which a contract on a system the target picture changes ends"),
	OB_INIT(ob_setting, .name = "remind_every", .type = OB_SETTING_CHOICE, .def = "\"quarter\"",
		.choices = "month|quarter|year",
		.help = "how often an open gap is reminded (target_picture's keys are per version)"),
};

/* A system concerned by an action. */
struct tp_sys {
	const char *action_id, *system_id, *uuid, *name, *owner_id, *owner_name;
};

/* An action of the current or the previous version. */
struct tp_act {
	const char *id;
	struct tp_action a;
	const char **uuids;  /* a.systems, sorted */
	struct tp_sys **sys; /* sorted as uuids */
	int non_keep;        /* change is not "keep" (unknown counts: better a reminder too many) */
};

struct tp_solution {
	const char *name;
	struct tp_maturity m;
};

/* A contract on a system concerned by a non-keep action, ending in the window. */
struct tp_contract {
	const char *uuid, *name, *supplier, *decision;
	struct ce_result r;
	char ends[OB_DATE_SIZE];
	long days_left;
	const char **systems; /* concerned system uuids */
	const char **names;   /* their names */
	size_t nsystems;
	const char **codes;   /* the actions concerning them */
	size_t ncodes;
};

struct tp_figures {
	long actions, added, removed, changed, systems_concerned, maturity_changes, to_green, yellow_to_green,
		contracts, non_keep, items_systems;
};

struct tp_run {
	struct ob_ctx *ctx;
	const struct ob_api *api;
	char as_of[OB_DATE_SIZE];
	int window_months;
	char contract_until[OB_DATE_SIZE];

	struct ob_rows *trows, *frows, *arows, *srows, *mrows, *crows, *csrows;
	struct tp_version *targets, *futures;
	size_t ntargets, nfutures;
	long cur, prev;               /* indexes into targets, or -1 */
	const struct tp_version *based_on, *newest;
	unsigned due;
	char due_limit[OB_DATE_SIZE];

	struct tp_sys *sys;
	size_t nsys;
	struct tp_act *acts, *pacts;  /* the current and the previous version's actions, by code */
	size_t nacts, npacts;
	struct tp_diff *diff;
	size_t ndiff;

	struct tp_window window;
	struct tp_solution *sols;
	size_t nsols;

	struct tp_contract *contracts;
	size_t ncontracts;

	struct tp_figures fig;
	void **allocs;
	size_t nallocs;
};

/* Allocations live until the run ends. */
static void *tp_alloc(struct tp_run *x, size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size), **v;
	if (p == NULL)
		return NULL;
	v = realloc(x->allocs, (x->nallocs + 1) * sizeof(*v));
	if (v == NULL) {
		free(p);
		return NULL;
	}
	x->allocs = v;
	x->allocs[x->nallocs++] = p;
	return p;
}

static void tp_free_all(struct tp_run *x)
{
	for (size_t i = 0; i < x->nallocs; i++)
		free(x->allocs[i]);
	free(x->allocs);
}

static const char *const tp_target_sql =
	"SELECT tp.id AS id, tp.version AS version, tp.adopted_on AS adopted_on,"
	" tp.future_picture_id AS future_id FROM target_pictures tp WHERE tp.org_id = ? ORDER BY tp.adopted_on, tp.id";
static const char *const tp_future_sql =
	"SELECT f.id AS id, f.version AS version, f.adopted_on AS adopted_on"
	" FROM future_pictures f WHERE f.org_id = ? ORDER BY f.adopted_on, f.id";
/* The actions of the current and the previous version (the same id twice
 * when there is one version). */
static const char *const tp_action_sql =
	"SELECT a.id AS id, a.target_picture_id AS picture_id, a.code AS code, a.title AS title,"
	" a.change_kind AS change_kind FROM target_actions a JOIN target_pictures tp ON tp.id = a.target_picture_id"
	" WHERE tp.org_id = ? AND a.target_picture_id IN (?, ?) ORDER BY a.target_picture_id, a.code";
static const char *const tp_action_system_sql =
	"SELECT tas.action_id AS action_id, s.id AS system_id, s.kitos_uuid AS uuid, s.name AS name,"
	" p.id AS owner_id, p.name AS owner_name"
	" FROM target_action_systems tas JOIN target_actions a ON a.id = tas.action_id"
	" JOIN target_pictures tp ON tp.id = a.target_picture_id JOIN systems s ON s.id = tas.system_id"
	" LEFT JOIN people p ON p.id = s.owner_id AND p.org_id = ?"
	" WHERE tp.org_id = ? AND s.org_id = ? AND a.target_picture_id IN (?, ?)"
	" ORDER BY tas.action_id, s.name, s.kitos_uuid";
static const char *const tp_maturity_sql =
	"SELECT ss.id AS id, ss.name AS name, m.changed_on AS changed_on, m.maturity AS maturity"
	" FROM shared_solutions ss JOIN shared_solution_maturity m ON m.solution_id = ss.id"
	" WHERE ss.org_id = ? ORDER BY ss.name, ss.id, m.changed_on";
/* As contract_expiry reads them. */
static const char *const tp_contract_sql =
	"SELECT c.id AS id, c.kitos_uuid AS uuid, c.name AS name, c.supplier AS supplier,"
	" c.end_date AS end_date, c.continuous AS continuous, c.notice_months AS notice_months,"
	" c.notice_by_end_of AS notice_by_end_of, c.irrevocable_until AS irrevocable_until,"
	" c.terminated_at AS terminated_at, c.exit_decision AS exit_decision"
	" FROM contracts c WHERE c.org_id = ? ORDER BY c.id";
static const char *const tp_contract_system_sql =
	"SELECT cs.contract_id AS contract_id, cs.system_id AS system_id"
	" FROM contract_systems cs JOIN contracts c ON c.id = cs.contract_id JOIN systems s ON s.id = cs.system_id"
	" WHERE c.org_id = ? AND s.org_id = ? ORDER BY cs.contract_id, cs.system_id";

static int same(const char *a, const char *b) { return a && b && strcmp(a, b) == 0; }

static const char *change_da(const char *c)
{
	if (c == NULL)
		return "ikke angivet";
	if (strcmp(c, "keep") == 0)
		return "bevar";
	if (strcmp(c, "replace") == 0)
		return "erstat";
	if (strcmp(c, "phase_out") == 0)
		return "udfas";
	if (strcmp(c, "consolidate") == 0)
		return "konsolidér";
	if (strcmp(c, "new") == 0)
		return "ny løsning";
	if (strcmp(c, "align") == 0)
		return "tilpas";
	return c;
}

static const char *maturity_da(const char *m)
{
	if (m == NULL)
		return "(ny)";
	if (strcmp(m, "green") == 0)
		return "grøn";
	if (strcmp(m, "yellow") == 0)
		return "gul";
	if (strcmp(m, "red") == 0)
		return "rød";
	return m;
}

static const char *plural(long n, const char *one, const char *many) { return n == 1 ? one : many; }

/* A date the Danish way, or "" (never fails the run). */
static const char *date_da(const struct ob_api *api, const char *date, char *out, size_t size)
{
	if (date == NULL || *date == '\0' || api->date_da(date, out, size) < 0)
		out[0] = '\0';
	return out;
}

static int by_uuid(const void *a, const void *b)
{
	const struct tp_sys *x = *(struct tp_sys *const *)a, *y = *(struct tp_sys *const *)b;
	return strcmp(x->uuid ? x->uuid : "", y->uuid ? y->uuid : "");
}

static int by_code(const void *a, const void *b)
{
	return tp_code_cmp(((const struct tp_act *)a)->a.code, ((const struct tp_act *)b)->a.code);
}

static int by_code_text(const void *a, const void *b)
{
	return tp_code_cmp(*(const char *const *)a, *(const char *const *)b);
}

static int read_versions(struct tp_run *x, struct ob_rows *r, struct tp_version **out, size_t *n, int target)
{
	const struct ob_api *api = x->api;
	*n = api->nrows(r);
	if ((*out = tp_alloc(x, *n, sizeof(**out))) == NULL)
		return -1;
	for (size_t i = 0; i < *n; i++) {
		(*out)[i].id = api->cell(r, i, "id");
		(*out)[i].version = api->cell(r, i, "version");
		(*out)[i].adopted_on = api->cell(r, i, "adopted_on");
		(*out)[i].future_id = target ? api->cell(r, i, "future_id") : NULL;
	}
	return 0;
}

/* The actions of picture pid with their systems, sorted by code. */
static int read_actions(struct tp_run *x, const char *pid, struct tp_act **out, size_t *n)
{
	const struct ob_api *api = x->api;
	size_t na = api->nrows(x->arows), k = 0;

	*n = 0;
	for (size_t i = 0; i < na; i++)
		*n += pid != NULL && same(api->cell(x->arows, i, "picture_id"), pid);
	if ((*out = tp_alloc(x, *n, sizeof(**out))) == NULL)
		return -1;
	for (size_t i = 0; i < na && k < *n; i++) {
		struct tp_act *a = &(*out)[k];
		size_t ns = 0;
		if (!same(api->cell(x->arows, i, "picture_id"), pid))
			continue;
		a->id = api->cell(x->arows, i, "id");
		a->a.code = api->cell(x->arows, i, "code");
		a->a.title = api->cell(x->arows, i, "title");
		a->a.change = api->cell(x->arows, i, "change_kind");
		if (a->a.change != NULL && *a->a.change == '\0')
			a->a.change = NULL;
		a->non_keep = a->a.change == NULL || strcmp(a->a.change, "keep") != 0;
		for (size_t s = 0; s < x->nsys; s++)
			ns += same(x->sys[s].action_id, a->id);
		a->sys = tp_alloc(x, ns, sizeof(*a->sys));
		a->uuids = tp_alloc(x, ns, sizeof(*a->uuids));
		if (a->sys == NULL || a->uuids == NULL)
			return -1;
		ns = 0;
		for (size_t s = 0; s < x->nsys; s++)
			if (same(x->sys[s].action_id, a->id))
				a->sys[ns++] = &x->sys[s];
		qsort(a->sys, ns, sizeof(*a->sys), by_uuid);
		for (size_t s = 0; s < ns; s++)
			a->uuids[s] = a->sys[s]->uuid ? a->sys[s]->uuid : "";
		a->a.systems = a->uuids;
		a->a.nsystems = ns;
		k++;
	}
	*n = k;
	qsort(*out, *n, sizeof(**out), by_code);
	return 0;
}

static int load_pictures(struct tp_run *x)
{
	const struct ob_api *api = x->api;
	const char *org = api->org_id(x->ctx);
	const char *p1[] = {org};
	const char *cur_id, *prev_id;
	long newest = -1, dummy;

	if (api->query(x->ctx, tp_target_sql, p1, 1, &x->trows) < 0 ||
	    api->query(x->ctx, tp_future_sql, p1, 1, &x->frows) < 0)
		return -1;
	if (read_versions(x, x->trows, &x->targets, &x->ntargets, 1) < 0 ||
	    read_versions(x, x->frows, &x->futures, &x->nfutures, 0) < 0)
		return -1;
	tp_latest_two(api, x->as_of, x->targets, x->ntargets, &x->cur, &x->prev);
	tp_latest_two(api, x->as_of, x->futures, x->nfutures, &newest, &dummy);
	x->newest = newest >= 0 ? &x->futures[newest] : NULL;
	if (x->cur >= 0)
		for (size_t i = 0; i < x->nfutures; i++)
			if (same(x->futures[i].id, x->targets[x->cur].future_id))
				x->based_on = &x->futures[i];
	x->due = tp_due(api, x->as_of, x->cur >= 0 ? &x->targets[x->cur] : NULL, x->based_on, x->newest,
			x->due_limit);

	/* The actions of the two latest versions and their systems. */
	cur_id = x->cur >= 0 ? x->targets[x->cur].id : "0";
	prev_id = x->prev >= 0 ? x->targets[x->prev].id : cur_id;
	if (cur_id == NULL || prev_id == NULL)
		cur_id = prev_id = "0";
	{
		const char *p3[] = {org, cur_id, prev_id}, *p5[] = {org, org, org, cur_id, prev_id};
		if (api->query(x->ctx, tp_action_sql, p3, 3, &x->arows) < 0 ||
		    api->query(x->ctx, tp_action_system_sql, p5, 5, &x->srows) < 0)
			return -1;
	}
	x->nsys = api->nrows(x->srows);
	if ((x->sys = tp_alloc(x, x->nsys, sizeof(*x->sys))) == NULL)
		return -1;
	for (size_t i = 0; i < x->nsys; i++) {
		struct tp_sys *s = &x->sys[i];
		s->action_id = api->cell(x->srows, i, "action_id");
		s->system_id = api->cell(x->srows, i, "system_id");
		s->uuid = api->cell(x->srows, i, "uuid");
		s->name = api->cell(x->srows, i, "name");
		s->owner_id = api->cell(x->srows, i, "owner_id");
		s->owner_name = api->cell(x->srows, i, "owner_name");
		if (s->owner_id != NULL && *s->owner_id == '\0')
			s->owner_id = NULL;
	}
	if (read_actions(x, x->cur >= 0 ? x->targets[x->cur].id : NULL, &x->acts, &x->nacts) < 0 ||
	    read_actions(x, x->prev >= 0 ? x->targets[x->prev].id : NULL, &x->pacts, &x->npacts) < 0)
		return -1;

	/* The diff needs two versions; with one there is nothing to compare. */
	if (x->prev >= 0) {
		struct tp_action *cur = tp_alloc(x, x->nacts, sizeof(*cur)), *prev = tp_alloc(x, x->npacts, sizeof(*prev));
		if (cur == NULL || prev == NULL || (x->diff = tp_alloc(x, x->nacts + x->npacts, sizeof(*x->diff))) == NULL)
			return -1;
		for (size_t i = 0; i < x->nacts; i++)
			cur[i] = x->acts[i].a;
		for (size_t i = 0; i < x->npacts; i++)
			prev[i] = x->pacts[i].a;
		x->ndiff = tp_diff(cur, x->nacts, prev, x->npacts, x->diff);
	}
	return 0;
}

static int load_maturity(struct tp_run *x)
{
	const struct ob_api *api = x->api;
	const char *p1[] = {api->org_id(x->ctx)};
	size_t n, i = 0, k = 0;
	struct tp_maturity_row *rows;

	if (api->query(x->ctx, tp_maturity_sql, p1, 1, &x->mrows) < 0)
		return -1;
	n = api->nrows(x->mrows);
	x->sols = tp_alloc(x, n, sizeof(*x->sols));
	rows = tp_alloc(x, n, sizeof(*rows));
	if (x->sols == NULL || rows == NULL)
		return -1;
	/* Rows come grouped by solution. */
	while (i < n) {
		const char *id = api->cell(x->mrows, i, "id");
		size_t j = i, m = 0;
		while (j < n && same(api->cell(x->mrows, j, "id"), id)) {
			rows[m].changed_on = api->cell(x->mrows, j, "changed_on");
			rows[m].maturity = api->cell(x->mrows, j, "maturity");
			m++;
			j++;
		}
		if (j == i) /* an id that is NULL: one row alone */
			j = i + 1;
		x->sols[k].name = api->cell(x->mrows, i, "name");
		tp_maturity_change(api, &x->window, rows, m, &x->sols[k].m);
		if (x->sols[k].m.change)
			k++;
		i = j;
	}
	x->nsols = k;
	return 0;
}

/* Whether a non-keep action of the current version concerns system_id:
 * 1 with its uuid and name, and the actions' codes added to codes (once
 * each), else 0. */
static int concerned(const struct tp_run *x, const char *system_id, const char **uuid, const char **name,
		     const char **codes, size_t *ncodes)
{
	int found = 0;
	for (size_t i = 0; i < x->nacts; i++) {
		const struct tp_act *a = &x->acts[i];
		if (!a->non_keep)
			continue;
		for (size_t s = 0; s < a->a.nsystems; s++)
			if (same(a->sys[s]->system_id, system_id)) {
				*uuid = a->sys[s]->uuid;
				*name = a->sys[s]->name;
				if (codes != NULL) {
					int seen = 0;
					for (size_t c = 0; c < *ncodes; c++)
						seen |= same(codes[c], a->a.code);
					if (!seen)
						codes[(*ncodes)++] = a->a.code;
				}
				found = 1;
			}
	}
	return found;
}

static int load_contracts(struct tp_run *x)
{
	const struct ob_api *api = x->api;
	const char *org = api->org_id(x->ctx);
	const char *p1[] = {org}, *p2[] = {org, org};
	struct ce_cfg cfg;
	size_t n, ncs, j = 0;

	memset(&cfg, 0, sizeof(cfg));
	if (api->add_months(x->as_of, x->window_months, x->contract_until) < 0)
		x->contract_until[0] = '\0';
	if (api->query(x->ctx, tp_contract_sql, p1, 1, &x->crows) < 0 ||
	    api->query(x->ctx, tp_contract_system_sql, p2, 2, &x->csrows) < 0)
		return -1;
	n = api->nrows(x->crows);
	ncs = api->nrows(x->csrows);
	if ((x->contracts = tp_alloc(x, n, sizeof(*x->contracts))) == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const struct ob_rows *r = x->crows;
		unsigned long long id = strtoull(api->cell(r, i, "id") ? api->cell(r, i, "id") : "0", NULL, 10);
		const char *cont = api->cell(r, i, "continuous");
		struct tp_contract *c = &x->contracts[x->ncontracts];
		struct ce_contract in = {0};
		size_t s0;

		/* Its systems: both queries are ordered by the contract id. */
		while (j < ncs && strtoull(api->cell(x->csrows, j, "contract_id") ? api->cell(x->csrows, j, "contract_id")
										       : "0",
					   NULL, 10) < id)
			j++;
		s0 = j;
		while (j < ncs && strtoull(api->cell(x->csrows, j, "contract_id") ? api->cell(x->csrows, j, "contract_id")
										       : "0",
					   NULL, 10) == id)
			j++;
		if (j == s0 || x->nacts == 0)
			continue;
		in.end = api->cell(r, i, "end_date");
		in.continuous = cont != NULL && strcmp(cont, "0") != 0;
		in.notice_months = api->cell(r, i, "notice_months");
		in.notice_by_end_of = api->cell(r, i, "notice_by_end_of");
		in.irrevocable_until = api->cell(r, i, "irrevocable_until");
		in.terminated_at = api->cell(r, i, "terminated_at");
		in.decision = api->cell(r, i, "exit_decision");
		if (ce_evaluate(api, x->as_of, &cfg, &in, &c->r) < 0 ||
		    !tp_contract_ends(api, x->as_of, x->window_months, &c->r, c->ends))
			continue;
		c->systems = tp_alloc(x, j - s0, sizeof(*c->systems));
		c->names = tp_alloc(x, j - s0, sizeof(*c->names));
		c->codes = tp_alloc(x, x->nacts, sizeof(*c->codes));
		if (c->systems == NULL || c->names == NULL || c->codes == NULL)
			return -1;
		for (size_t k = s0; k < j; k++) {
			const char *uuid = NULL, *name = NULL;
			if (concerned(x, api->cell(x->csrows, k, "system_id"), &uuid, &name, c->codes, &c->ncodes)) {
				c->systems[c->nsystems] = uuid;
				c->names[c->nsystems++] = name;
			}
		}
		if (c->nsystems == 0)
			continue;
		qsort(c->codes, c->ncodes, sizeof(*c->codes), by_code_text);
		c->uuid = api->cell(r, i, "uuid");
		c->name = api->cell(r, i, "name");
		c->supplier = api->cell(r, i, "supplier");
		c->decision = in.decision ? in.decision : "undecided";
		if (api->days(x->as_of, c->ends, &c->days_left) < 0)
			c->days_left = 0;
		x->ncontracts++;
	}
	return 0;
}

static int by_ends(const void *a, const void *b)
{
	const struct tp_contract *x = a, *y = b;
	int c = strcmp(x->ends, y->ends);
	return c ? c : strcmp(x->name ? x->name : "", y->name ? y->name : "");
}

static void count(struct tp_run *x)
{
	struct tp_figures *f = &x->fig;
	const char **seen = calloc(x->nsys ? x->nsys : 1, sizeof(*seen));
	size_t nseen = 0;

	memset(f, 0, sizeof(*f));
	f->actions = (long)x->nacts;
	for (size_t i = 0; i < x->ndiff; i++) {
		f->added += x->diff[i].kind == TP_ADDED;
		f->removed += x->diff[i].kind == TP_REMOVED;
		f->changed += x->diff[i].kind == TP_CHANGED;
	}
	/* systems_concerned: distinct systems of every current action, keep too. */
	for (size_t i = 0; i < x->nacts; i++) {
		f->non_keep += x->acts[i].non_keep;
		for (size_t s = 0; s < x->acts[i].a.nsystems; s++) {
			const char *id = x->acts[i].sys[s]->system_id;
			int dup = 0;
			for (size_t k = 0; k < nseen && !dup; k++)
				dup = same(seen[k], id);
			if (!dup && seen != NULL)
				seen[nseen++] = id;
		}
	}
	f->systems_concerned = (long)nseen;
	free(seen);
	for (size_t i = 0; i < x->nsols; i++) {
		f->maturity_changes++;
		f->to_green += x->sols[i].m.to_green;
		f->yellow_to_green += x->sols[i].m.yellow_to_green;
	}
	f->contracts = (long)x->ncontracts;
}

/* REPORT.json */

static int date_or_null(const struct ob_api *api, struct ob_json *o, const char *key, const char *date)
{
	return api->j_date(o, key, date && *date ? date : NULL);
}

static int write_reasons(const struct tp_run *x, struct ob_json *parent)
{
	const struct ob_api *api = x->api;
	struct ob_json *a = api->j_array(parent, "due_reasons");
	int rc = 0;
	if (a == NULL)
		return -1;
	for (unsigned bit = TP_DUE_NONE; bit <= TP_DUE_OLD_FUTURE; bit <<= 1)
		if (x->due & bit)
			rc |= api->j_text(a, NULL, tp_due_reason_name(bit));
	return rc;
}

static int write_json(struct tp_run *x)
{
	const struct ob_api *api = x->api;
	struct ob_json *root = api->report_json(x->ctx), *fig = api->figures(x->ctx), *rows, *o, *a;
	const struct tp_figures *f = &x->fig;
	const struct tp_version *cur = x->cur >= 0 ? &x->targets[x->cur] : NULL;
	const struct tp_version *prev = x->prev >= 0 ? &x->targets[x->prev] : NULL;
	int rc = 0;

	if (root == NULL || fig == NULL)
		return -1;
	rc |= api->j_text(root, "previous_target_version", prev ? prev->version : NULL);
	if ((o = api->j_object(root, "maturity_window")) == NULL)
		return -1;
	rc |= api->j_date(o, "from", x->window.start);
	rc |= api->j_bool(o, "from_inclusive", x->window.inclusive);
	rc |= api->j_date(o, "to", x->window.end);
	if ((o = api->j_object(root, "contract_window")) == NULL)
		return -1;
	rc |= api->j_date(o, "from", x->as_of);
	rc |= date_or_null(api, o, "to", x->contract_until);
	rc |= api->j_int(o, "months", x->window_months);

	if ((rows = api->j_array(root, "actions")) == NULL)
		return -1;
	for (size_t i = 0; i < x->nacts; i++) {
		const struct tp_act *ac = &x->acts[i];
		if ((o = api->j_object(rows, NULL)) == NULL)
			return -1;
		rc |= api->j_text(o, "code", ac->a.code);
		rc |= api->j_text(o, "title", ac->a.title);
		rc |= api->j_text(o, "change", ac->a.change);
		rc |= api->j_bool(o, "changes_something", ac->non_keep);
		if ((a = api->j_array(o, "systems")) == NULL)
			return -1;
		for (size_t s = 0; s < ac->a.nsystems; s++) {
			struct ob_json *so = api->j_object(a, NULL);
			if (so == NULL)
				return -1;
			rc |= api->j_text(so, "uuid", ac->sys[s]->uuid);
			rc |= api->j_text(so, "name", ac->sys[s]->name);
			rc |= api->j_text(so, "owner", ac->sys[s]->owner_name);
		}
	}

	if ((rows = api->j_array(root, "diff")) == NULL)
		return -1;
	for (size_t i = 0; i < x->ndiff; i++) {
		const struct tp_diff *d = &x->diff[i];
		const struct tp_action *c = d->cur, *p = d->prev;
		if ((o = api->j_object(rows, NULL)) == NULL)
			return -1;
		rc |= api->j_text(o, "code", c ? c->code : p->code);
		rc |= api->j_text(o, "status", tp_diff_kind_name(d->kind));
		rc |= api->j_text(o, "title", c ? c->title : NULL);
		rc |= api->j_text(o, "previous_title", p ? p->title : NULL);
		rc |= api->j_text(o, "change", c ? c->change : NULL);
		rc |= api->j_text(o, "previous_change", p ? p->change : NULL);
		if ((a = api->j_array(o, "changed")) == NULL)
			return -1;
		if (d->what & TP_CH_TITLE)
			rc |= api->j_text(a, NULL, "title");
		if (d->what & TP_CH_CHANGE)
			rc |= api->j_text(a, NULL, "change");
		if (d->what & TP_CH_SYSTEMS)
			rc |= api->j_text(a, NULL, "systems");
		/* Systems gained and lost (all of them when added or removed). */
		struct ob_json *ga = api->j_array(o, "systems_added"), *lo = api->j_array(o, "systems_removed");
		if (ga == NULL || lo == NULL)
			return -1;
		for (size_t s = 0; c && s < c->nsystems; s++) {
			int in = 0;
			for (size_t t = 0; p && t < p->nsystems && !in; t++)
				in = strcmp(c->systems[s], p->systems[t]) == 0;
			if (!in)
				rc |= api->j_text(ga, NULL, c->systems[s]);
		}
		for (size_t s = 0; p && s < p->nsystems; s++) {
			int in = 0;
			for (size_t t = 0; c && t < c->nsystems && !in; t++)
				in = strcmp(p->systems[s], c->systems[t]) == 0;
			if (!in)
				rc |= api->j_text(lo, NULL, p->systems[s]);
		}
	}

	if ((rows = api->j_array(root, "maturity_changes")) == NULL)
		return -1;
	for (size_t i = 0; i < x->nsols; i++) {
		const struct tp_solution *s = &x->sols[i];
		if ((o = api->j_object(rows, NULL)) == NULL)
			return -1;
		rc |= api->j_text(o, "solution", s->name);
		rc |= api->j_text(o, "from", s->m.from);
		rc |= api->j_text(o, "to", s->m.to);
		rc |= api->j_date(o, "changed_on", s->m.changed_on);
		rc |= api->j_bool(o, "to_green", s->m.to_green);
		rc |= api->j_bool(o, "yellow_to_green", s->m.yellow_to_green);
	}

	if ((rows = api->j_array(root, "contracts")) == NULL)
		return -1;
	for (size_t i = 0; i < x->ncontracts; i++) {
		const struct tp_contract *c = &x->contracts[i];
		if ((o = api->j_object(rows, NULL)) == NULL)
			return -1;
		rc |= api->j_text(o, "uuid", c->uuid);
		rc |= api->j_text(o, "name", c->name);
		rc |= api->j_text(o, "supplier", c->supplier);
		rc |= api->j_text(o, "kind", ce_kind_name(c->r.kind));
		rc |= date_or_null(api, o, "end", c->r.end);
		rc |= date_or_null(api, o, "ends_on", c->r.ends_on);
		rc |= api->j_date(o, "ends", c->ends);
		rc |= api->j_int(o, "days_left", c->days_left);
		rc |= api->j_text(o, "decision", c->decision);
		if ((a = api->j_array(o, "systems")) == NULL)
			return -1;
		for (size_t s = 0; s < c->nsystems; s++)
			rc |= api->j_text(a, NULL, c->systems[s]);
		if ((a = api->j_array(o, "actions")) == NULL)
			return -1;
		for (size_t s = 0; s < c->ncodes; s++)
			rc |= api->j_text(a, NULL, c->codes[s]);
	}

	rc |= api->j_text(fig, "target_version", cur ? cur->version : NULL);
	rc |= api->j_date(fig, "target_adopted_on", cur ? cur->adopted_on : NULL);
	rc |= api->j_text(fig, "based_on_future_version", x->based_on ? x->based_on->version : NULL);
	rc |= api->j_text(fig, "newest_future_version", x->newest ? x->newest->version : NULL);
	rc |= api->j_bool(fig, "due", x->due != 0);
	rc |= write_reasons(x, fig);
	rc |= api->j_int(fig, "actions", f->actions);
	rc |= api->j_int(fig, "actions_added", f->added);
	rc |= api->j_int(fig, "actions_removed", f->removed);
	rc |= api->j_int(fig, "actions_changed", f->changed);
	rc |= api->j_int(fig, "systems_concerned", f->systems_concerned);
	rc |= api->j_int(fig, "maturity_changes", f->maturity_changes);
	rc |= api->j_int(fig, "to_green", f->to_green);
	rc |= api->j_int(fig, "contracts_ending_on_concerned", f->contracts);
	return rc ? -1 : 0;
}

/* Items */

static void reasons_text(const struct tp_run *x, char *out, size_t size, const char *sep)
{
	out[0] = '\0';
	for (unsigned bit = TP_DUE_NONE; bit <= TP_DUE_OLD_FUTURE; bit <<= 1)
		if (x->due & bit) {
			if (out[0])
				strncat(out, sep, size - strlen(out) - 1);
			strncat(out, tp_due_reason_name(bit), size - strlen(out) - 1);
		}
}

/* The Danish sentence saying why the målbillede is due (or that it is not). */
static void due_text(const struct tp_run *x, char *out, size_t size)
{
	const struct ob_api *api = x->api;
	const struct tp_version *cur = x->cur >= 0 ? &x->targets[x->cur] : NULL;
	char adopted[40], limit[40], newest[40];
	size_t len;

	if (x->due & TP_DUE_NONE) {
		if (x->newest)
			snprintf(out, size, "Der er ikke registreret noget målbillede. Det skal udarbejdes ud fra "
					    "fremtidsbillede %s.",
				 x->newest->version ? x->newest->version : "");
		else
			snprintf(out, size, "Der er hverken registreret et målbillede eller et fremtidsbillede.");
		return;
	}
	date_da(api, cur->adopted_on, adopted, sizeof(adopted));
	date_da(api, x->due_limit, limit, sizeof(limit));
	date_da(api, x->newest ? x->newest->adopted_on : NULL, newest, sizeof(newest));
	if (x->due == 0) {
		snprintf(out, size,
			 "Målbillede %s (vedtaget %s) er ikke forfaldent: det er højst 12 måneder gammelt og bygger på "
			 "det nyeste fremtidsbillede, %s.",
			 cur->version ? cur->version : "", adopted,
			 x->based_on && x->based_on->version ? x->based_on->version : "");
		return;
	}
	snprintf(out, size, "Målbillede %s skal opdateres:", cur->version ? cur->version : "");
	if (x->due & TP_DUE_OLD) {
		len = strlen(out);
		snprintf(out + len, size - len, " det blev vedtaget %s, mere end 12 måneder før opgørelsesdatoen (det "
						"skal være vedtaget %s eller senere)%s",
			 adopted, limit, (x->due & TP_DUE_OLD_FUTURE) ? ", og" : ".");
	}
	if (x->due & TP_DUE_OLD_FUTURE) {
		len = strlen(out);
		snprintf(out + len, size - len, " det bygger på fremtidsbillede %s, men der er vedtaget et nyere, %s (%s).",
			 x->based_on && x->based_on->version ? x->based_on->version : "(ukendt)",
			 x->newest && x->newest->version ? x->newest->version : "", newest);
	}
}

static int send(const struct tp_run *x, const char *recipient, const char *key, const char *tpl,
		const char *const *kv)
{
	struct ob_notice n = OB_INIT(ob_notice, .recipient = recipient, .dedupe_key = key, .template = tpl, .kv = kv);
	return x->api->notify(x->ctx, &n);
}

/* The first contract in the window on system uuid, or NULL. */
static const struct tp_contract *contract_of(const struct tp_run *x, const char *uuid)
{
	for (size_t i = 0; i < x->ncontracts; i++)
		for (size_t s = 0; s < x->contracts[i].nsystems; s++)
			if (same(x->contracts[i].systems[s], uuid))
				return &x->contracts[i];
	return NULL;
}

static int notify_all(struct tp_run *x)
{
	const struct ob_api *api = x->api;
	const struct tp_version *cur = x->cur >= 0 ? &x->targets[x->cur] : NULL;
	const char *version = cur && cur->version ? cur->version : "none";
	char key[TP_KEY_SIZE], reasons[128], why[1024], asof[40], adopted[40];
	int rc = 0;

	date_da(api, x->as_of, asof, sizeof(asof));
	date_da(api, cur ? cur->adopted_on : NULL, adopted, sizeof(adopted));
	if (x->due) {
		const char *kv[] = {"version", cur ? version : "", "none", (x->due & TP_DUE_NONE) ? "1" : "",
				    "why", why, "as_of", asof, NULL};
		reasons_text(x, reasons, sizeof(reasons), "+");
		due_text(x, why, sizeof(why));
		snprintf(key, sizeof(key), "target:due:%s:%s", version, reasons);
		rc |= send(x, "iod", key, "target_picture/due", kv);
	}

	/* Each owner of a system concerned by an action that changes something:
	 * one item per action and system. */
	for (size_t i = 0; i < x->nacts && cur; i++) {
		const struct tp_act *a = &x->acts[i];
		if (!a->non_keep)
			continue;
		for (size_t s = 0; s < a->a.nsystems; s++) {
			const struct tp_sys *sy = a->sys[s];
			const struct tp_contract *c = contract_of(x, sy->uuid);
			char rcpt[64], ends[40];
			const char *kv[] = {"version", version,
					    "adopted_on", adopted,
					    "code", a->a.code ? a->a.code : "",
					    "action", a->a.title ? a->a.title : "",
					    "change", change_da(a->a.change),
					    a->a.change ? a->a.change : "unknown", "1",
					    "system", sy->name ? sy->name : "",
					    "uuid", sy->uuid ? sy->uuid : "",
					    "owner", sy->owner_name ? sy->owner_name : "",
					    "contract", c && c->name ? c->name : "",
					    "supplier", c && c->supplier ? c->supplier : "",
					    "contract_ends", c ? date_da(api, c->ends, ends, sizeof(ends)) : "",
					    NULL};
			snprintf(key, sizeof(key), "target:%s:%s:%s", version, a->a.code ? a->a.code : "",
				 sy->uuid ? sy->uuid : "");
			if (sy->owner_id)
				snprintf(rcpt, sizeof(rcpt), "owner:%s", sy->owner_id);
			else
				snprintf(rcpt, sizeof(rcpt), "it_support"); /* no owner: data quality */
			rc |= send(x, rcpt, key, "target_picture/action", kv);
		}
	}

	/* The briefing, with the PDF, to IOD and ASG: once per as_of. */
	{
		char n[7][32];
		snprintf(n[0], sizeof(n[0]), "%ld", x->fig.actions);
		snprintf(n[1], sizeof(n[1]), "%ld", x->fig.added + x->fig.removed + x->fig.changed);
		snprintf(n[2], sizeof(n[2]), "%ld", x->fig.systems_concerned);
		snprintf(n[3], sizeof(n[3]), "%ld", x->fig.maturity_changes);
		snprintf(n[4], sizeof(n[4]), "%ld", x->fig.to_green);
		snprintf(n[5], sizeof(n[5]), "%ld", x->fig.contracts);
		snprintf(n[6], sizeof(n[6]), "%d", x->window_months);
		due_text(x, why, sizeof(why));
		const char *kv[] = {"version", cur ? version : "", "due", x->due ? "1" : "", "why", why,
				    "as_of", asof, "actions", n[0], "diff", n[1], "systems", n[2], "maturity", n[3],
				    "to_green", x->fig.to_green ? n[4] : "", "contracts", n[5],
				    "months", n[6], NULL};
		snprintf(key, sizeof(key), "target:briefing:%s", x->as_of);
		rc |= send(x, "iod", key, "target_picture/briefing", kv);
		rc |= send(x, "asg", key, "target_picture/briefing", kv);
	}
	return rc ? -1 : 0;
}

/* The PDF */

static void kpi(const struct tp_run *x, struct ob_doc *doc, const char *label, const char *path, double value)
{
	const struct ob_api *api = x->api;
	struct ob_kpi k = OB_INIT(ob_kpi, .label = label, .value = value, .unit = "stk.", .decimals = 0);
	double prev;

	if (api->previous(x->ctx, path, &prev) == 1) {
		k.has_previous = 1;
		k.previous = prev;
	}
	api->kpi(doc, &k);
}

/* The diff's size: its trend is known when all three parts were. */
static void kpi_sum(const struct tp_run *x, struct ob_doc *doc, const char *label, double value)
{
	const struct ob_api *api = x->api;
	struct ob_kpi k = OB_INIT(ob_kpi, .label = label, .value = value, .unit = "stk.", .decimals = 0);
	double a, r, c;

	if (api->previous(x->ctx, "actions_added", &a) == 1 && api->previous(x->ctx, "actions_removed", &r) == 1 &&
	    api->previous(x->ctx, "actions_changed", &c) == 1) {
		k.has_previous = 1;
		k.previous = a + r + c;
	}
	api->kpi(doc, &k);
}

static void summary(const struct tp_run *x, struct ob_doc *doc)
{
	const struct ob_api *api = x->api;
	const struct tp_figures *f = &x->fig;
	const struct tp_version *cur = x->cur >= 0 ? &x->targets[x->cur] : NULL;
	const char *org = api->org_name(x->ctx);
	char asof[40], prev[40], adopted[40], why[1024], buf[3][1400];
	const char *points[3];
	size_t np = 0;

	date_da(api, x->as_of, asof, sizeof(asof));
	date_da(api, cur ? cur->adopted_on : NULL, adopted, sizeof(adopted));
	api->title(doc, "Målbillede", org ? org : "");
	if (cur)
		api->para(doc, "%s: målbillede %s, vedtaget %s, bygger på fremtidsbillede %s. Det har %ld %s, der "
			       "berører %ld %s. Opgjort pr. %s.",
			  org ? org : "Organisationen", cur->version ? cur->version : "", adopted,
			  x->based_on && x->based_on->version ? x->based_on->version : "(ukendt)", f->actions,
			  plural(f->actions, "handling", "handlinger"), f->systems_concerned,
			  plural(f->systems_concerned, "system", "systemer"), asof);
	else
		api->para(doc, "%s: der er ikke registreret noget målbillede pr. %s.", org ? org : "Organisationen",
			  asof);
	if (api->previous_as_of(x->ctx))
		api->para(doc, "Udviklingen i nøgletallene er målt mod opgørelsen pr. %s.",
			  date_da(api, api->previous_as_of(x->ctx), prev, sizeof(prev)));
	kpi(x, doc, "Handlinger i målbilledet", "actions", (double)f->actions);
	kpi_sum(x, doc, "Ændringer siden forrige version", (double)(f->added + f->removed + f->changed));
	kpi(x, doc, "Berørte systemer", "systems_concerned", (double)f->systems_concerned);
	kpi(x, doc, "Ændret modenhed", "maturity_changes", (double)f->maturity_changes);
	kpi(x, doc, "Blevet grønne", "to_green", (double)f->to_green);
	kpi(x, doc, "Kontrakter udløber på berørte systemer", "contracts_ending_on_concerned", (double)f->contracts);

	/* Due or not, and why, in plain Danish. */
	due_text(x, why, sizeof(why));
	api->para_runs(doc,
		       (const struct ob_text_run[]){{x->due ? "Skal opdateres. " : "Er opdateret. ", OB_TEXT_BOLD},
						    {why, 0}},
		       2);
	if (x->due) {
		snprintf(buf[np], sizeof(buf[np]),
			 "Innovation og Digitalisering (IOD) bør lægge et opdateret målbillede frem til vedtagelse%s.",
			 (x->due & TP_DUE_OLD_FUTURE) ? ", udarbejdet ud fra det nyeste fremtidsbillede"
			 : (x->due & TP_DUE_NONE)     ? ""
						      : "; det skal fornyes mindst én gang om året");
		points[np] = buf[np];
		np++;
	}
	if (f->to_green > 0) {
		size_t len;
		snprintf(buf[np], sizeof(buf[np]), "%ld %s: nye anskaffelser på området skal kræve %s:", f->to_green,
			 plural(f->to_green, "fælleskommunal løsning er blevet grøn",
				"fælleskommunale løsninger er blevet grønne"),
			 plural(f->to_green, "den", "dem"));
		for (size_t i = 0, k = 0; i < x->nsols; i++)
			if (x->sols[i].m.to_green) {
				len = strlen(buf[np]);
				snprintf(buf[np] + len, sizeof(buf[np]) - len, "%s %s", k++ ? "," : "",
					 x->sols[i].name ? x->sols[i].name : "");
			}
		len = strlen(buf[np]);
		snprintf(buf[np] + len, sizeof(buf[np]) - len, ".");
		points[np] = buf[np];
		np++;
	}
	if (f->contracts > 0) {
		char first[40];
		snprintf(buf[np], sizeof(buf[np]),
			 "%ld %s på systemer, som målbilledet vil ændre, udløber inden for %d måneder; den første er "
			 "%s (%s). Udløbet er chancen for at bringe systemet i overensstemmelse med målbilledet.",
			 f->contracts, plural(f->contracts, "kontrakt", "kontrakter"), x->window_months,
			 x->contracts[0].name ? x->contracts[0].name : "",
			 date_da(api, x->contracts[0].ends, first, sizeof(first)));
		points[np] = buf[np];
		np++;
	}
	api->para_runs(doc, (const struct ob_text_run[]){{"Det kræver beslutning", OB_TEXT_BOLD}}, 1);
	if (np > 0)
		api->bullets(doc, points, np);
	else
		api->para(doc, "Intet kræver en beslutning lige nu.");
}

static void diff_section(const struct tp_run *x, struct ob_doc *doc)
{
	const struct ob_api *api = x->api;
	const struct ob_column cols[] = {
		OB_INIT(ob_column, .header = "Kode", .width = 0.6),
		OB_INIT(ob_column, .header = "Status", .width = 0.9),
		OB_INIT(ob_column, .header = "Handling", .width = 3.6),
		OB_INIT(ob_column, .header = "Type", .width = 1.3),
		OB_INIT(ob_column, .header = "Hvad er ændret", .width = 3.0),
	};
	const struct tp_version *cur = x->cur >= 0 ? &x->targets[x->cur] : NULL;
	const struct tp_version *prev = x->prev >= 0 ? &x->targets[x->prev] : NULL;
	char title[128];

	if (cur && prev)
		snprintf(title, sizeof(title), "Ændringer fra version %s til %s", prev->version ? prev->version : "",
			 cur->version ? cur->version : "");
	else
		snprintf(title, sizeof(title), "Ændringer mellem de to seneste versioner");
	api->section(doc, 1, title, OB_SECTION_LANDSCAPE | OB_SECTION_NEW_PAGE);
	if (!cur || !prev) {
		api->para(doc, "Der er kun %s målbillede, så der er intet at sammenligne med.",
			  cur ? "ét" : "intet");
		return;
	}
	api->para(doc, "Handlinger sammenlignet på deres kode: tilføjet (kun i %s), fjernet (kun i %s) og ændret "
		       "(titel, type eller berørte systemer er forskellige). Uændrede handlinger er ikke med.",
		  cur->version ? cur->version : "", prev->version ? prev->version : "");
	if (x->ndiff == 0) {
		api->para(doc, "Ingen handlinger er ændret.");
		return;
	}
	struct ob_table *t = api->table(doc, cols, sizeof(cols) / sizeof(cols[0]));
	for (size_t i = 0; t && i < x->ndiff; i++) {
		const struct tp_diff *d = &x->diff[i];
		const struct tp_action *c = d->cur, *p = d->prev;
		char what[1200] = "", type[96];
		const char *status = d->kind == TP_ADDED ? "Tilføjet" : d->kind == TP_REMOVED ? "Fjernet" : "Ændret";
		if (d->kind == TP_CHANGED) {
			size_t len;
			if (d->what & TP_CH_TITLE)
				snprintf(what, sizeof(what), "Titel, før: \"%s\". ", p->title ? p->title : "");
			if (d->what & TP_CH_CHANGE) {
				len = strlen(what);
				snprintf(what + len, sizeof(what) - len, "Type, før: %s. ", change_da(p->change));
			}
			if (d->what & TP_CH_SYSTEMS) {
				long gained = 0, lost = 0;
				for (size_t s = 0; s < c->nsystems; s++) {
					int in = 0;
					for (size_t q = 0; q < p->nsystems && !in; q++)
						in = strcmp(c->systems[s], p->systems[q]) == 0;
					gained += !in;
				}
				lost = (long)p->nsystems - ((long)c->nsystems - gained);
				len = strlen(what);
				snprintf(what + len, sizeof(what) - len, "Systemer: %ld tilføjet, %ld fjernet.", gained,
					 lost);
			}
			snprintf(type, sizeof(type), "%s", change_da(c->change));
		} else {
			const struct tp_action *a = c ? c : p;
			snprintf(what, sizeof(what), "%zu %s", a->nsystems, plural((long)a->nsystems, "system", "systemer"));
			snprintf(type, sizeof(type), "%s", change_da(a->change));
		}
		const char *cells[] = {c ? c->code : p->code, status, c ? (c->title ? c->title : "") : (p->title ? p->title : ""),
				       type, what};
		api->row(t, cells,
			 d->kind == TP_ADDED ? OB_STATUS_GREEN : d->kind == TP_REMOVED ? OB_STATUS_RED : OB_STATUS_AMBER);
	}
}

static void actions_section(const struct tp_run *x, struct ob_doc *doc)
{
	const struct ob_api *api = x->api;
	const struct ob_column cols[] = {
		OB_INIT(ob_column, .header = "Kode", .width = 0.6),
		OB_INIT(ob_column, .header = "Handling", .width = 3.4),
		OB_INIT(ob_column, .header = "Type", .width = 1.1),
		OB_INIT(ob_column, .header = "System", .width = 2.2),
		OB_INIT(ob_column, .header = "Systemejer", .width = 1.9),
	};
	const struct tp_version *cur = x->cur >= 0 ? &x->targets[x->cur] : NULL;
	char title[128];

	snprintf(title, sizeof(title), "Handlinger i målbillede %s", cur && cur->version ? cur->version : "");
	api->section(doc, 1, cur ? title : "Handlinger i målbilledet", OB_SECTION_LANDSCAPE);
	if (cur == NULL || x->nacts == 0) {
		api->para(doc, "Der er ingen handlinger at vise.");
		return;
	}
	api->para(doc, "Hver handling med de systemer, den berører, og deres systemejer. Gul: handlingen ændrer "
		       "systemet (erstat, udfas, konsolidér, ny løsning, tilpas), og systemejeren har fået besked; "
		       "rød: det samme, men systemet har ingen systemejer (beskeden er gået til IT-støttefunktionen); "
		       "grøn: systemet bevares.");
	struct ob_table *t = api->table(doc, cols, sizeof(cols) / sizeof(cols[0]));
	for (size_t i = 0; t && i < x->nacts; i++) {
		const struct tp_act *a = &x->acts[i];
		if (a->a.nsystems == 0) {
			const char *cells[] = {a->a.code ? a->a.code : "", a->a.title ? a->a.title : "",
					       change_da(a->a.change), "(ingen systemer)", ""};
			api->row(t, cells, a->non_keep ? OB_STATUS_AMBER : OB_STATUS_GREEN);
			continue;
		}
		for (size_t s = 0; s < a->a.nsystems; s++) {
			const struct tp_sys *sy = a->sys[s];
			const char *cells[] = {s == 0 && a->a.code ? a->a.code : "",
					       s == 0 && a->a.title ? a->a.title : "",
					       s == 0 ? change_da(a->a.change) : "",
					       sy->name ? sy->name : "",
					       sy->owner_name ? sy->owner_name : "(ingen)"};
			api->row(t, cells,
				 !a->non_keep ? OB_STATUS_GREEN : sy->owner_id ? OB_STATUS_AMBER : OB_STATUS_RED);
		}
	}
}

static void maturity_section(const struct tp_run *x, struct ob_doc *doc)
{
	const struct ob_api *api = x->api;
	const struct ob_column cols[] = {
		OB_INIT(ob_column, .header = "Fælleskommunal løsning", .width = 2.6),
		OB_INIT(ob_column, .header = "Fra", .width = 0.8),
		OB_INIT(ob_column, .header = "Til", .width = 0.8),
		OB_INIT(ob_column, .header = "Ændret", .width = 1.1, .format = OB_FMT_DATE),
		OB_INIT(ob_column, .header = "Betydning", .width = 3.6),
	};
	char from[40], to[40];

	api->section(doc, 1, "Fælleskommunale løsninger med ændret modenhed", 0);
	date_da(api, x->window.start, from, sizeof(from));
	date_da(api, x->window.end, to, sizeof(to));
	api->para(doc, "Løsninger, hvis modenhed (grøn, gul, rød) er ændret %s %s til og med %s. Grøn betyder, at nye "
		       "anskaffelser på området skal kræve løsningen; gul→grøn er markeret.",
		  x->window.inclusive ? "fra og med" : "efter", from, to);
	if (x->nsols == 0) {
		api->para(doc, "Ingen fælleskommunale løsninger har ændret modenhed i perioden.");
		return;
	}
	struct ob_table *t = api->table(doc, cols, sizeof(cols) / sizeof(cols[0]));
	for (size_t i = 0; t && i < x->nsols; i++) {
		const struct tp_maturity *m = &x->sols[i].m;
		const char *meaning = m->yellow_to_green ? "Gul→grøn: nye anskaffelser skal kræve løsningen"
				      : m->to_green	 ? "Nu grøn: nye anskaffelser skal kræve løsningen"
				      : strcmp(m->to, "yellow") == 0 ? "Gul: hold øje med løsningen"
								     : "Rød: endnu ikke moden";
		const char *cells[] = {x->sols[i].name ? x->sols[i].name : "", maturity_da(m->from), maturity_da(m->to),
				       m->changed_on, meaning};
		api->row(t, cells,
			 m->to_green ? OB_STATUS_GREEN : strcmp(m->to, "yellow") == 0 ? OB_STATUS_AMBER : OB_STATUS_RED);
	}
}

static void contracts_section(const struct tp_run *x, struct ob_doc *doc)
{
	const struct ob_api *api = x->api;
	const struct ob_column cols[] = {
		OB_INIT(ob_column, .header = "Ophør", .width = 1.0, .format = OB_FMT_DATE),
		OB_INIT(ob_column, .header = "Dage", .width = 0.6, .align = OB_ALIGN_RIGHT, .format = OB_FMT_NUMBER),
		OB_INIT(ob_column, .header = "Kontrakt", .width = 2.4),
		OB_INIT(ob_column, .header = "Leverandør", .width = 1.5),
		OB_INIT(ob_column, .header = "Art", .width = 0.8),
		OB_INIT(ob_column, .header = "Berørte systemer", .width = 2.4),
		OB_INIT(ob_column, .header = "Handlinger", .width = 0.9),
	};
	char until[40];

	api->section(doc, 1, "Kontrakter, der udløber på berørte systemer", OB_SECTION_LANDSCAPE);
	api->para(doc, "Kontrakter på systemer, som en handling vil ændre, der udløber (fast kontrakt) eller ophører "
		       "(opsagt kontrakt) inden for %d måneder, til og med %s. Udløbet er chancen for at bringe "
		       "systemet i overensstemmelse med målbilledet. Rød: inden 6 måneder; gul: inden 12; grøn: senere.",
		  x->window_months, date_da(api, x->contract_until, until, sizeof(until)));
	if (x->ncontracts == 0) {
		api->para(doc, "Ingen kontrakter på berørte systemer udløber i perioden.");
		return;
	}
	struct ob_table *t = api->table(doc, cols, sizeof(cols) / sizeof(cols[0]));
	for (size_t i = 0; t && i < x->ncontracts; i++) {
		const struct tp_contract *c = &x->contracts[i];
		char days[32], systems[1024] = "", codes[256] = "";
		snprintf(days, sizeof(days), "%ld", c->days_left);
		for (size_t s = 0; s < c->nsystems; s++) {
			if (s)
				strncat(systems, ", ", sizeof(systems) - strlen(systems) - 1);
			strncat(systems, c->names[s] ? c->names[s] : "", sizeof(systems) - strlen(systems) - 1);
		}
		for (size_t s = 0; s < c->ncodes; s++) {
			if (s)
				strncat(codes, ", ", sizeof(codes) - strlen(codes) - 1);
			strncat(codes, c->codes[s] ? c->codes[s] : "", sizeof(codes) - strlen(codes) - 1);
		}
		const char *cells[] = {c->ends, days, c->name ? c->name : "", c->supplier ? c->supplier : "",
				       c->r.kind == CE_TERMINATED ? "opsagt" : "fast", systems, codes};
		api->row(t, cells,
			 c->days_left <= 182 ? OB_STATUS_RED : c->days_left <= 365 ? OB_STATUS_AMBER : OB_STATUS_GREEN);
	}
}

static void chart(const struct tp_run *x, struct ob_doc *doc)
{
	const struct ob_api *api = x->api;
	static const char *const kinds[] = {"keep", "replace", "phase_out", "consolidate", "new", "align", NULL};
	enum { NK = 7 };
	const char *labels[NK];
	double acts[NK] = {0}, systems[NK] = {0};

	for (int k = 0; k < NK; k++)
		labels[k] = change_da(kinds[k]);
	for (size_t i = 0; i < x->nacts; i++) {
		int k = NK - 1;
		for (int j = 0; j < NK - 1; j++)
			if (same(x->acts[i].a.change, kinds[j]))
				k = j;
		acts[k]++;
		systems[k] += (double)x->acts[i].a.nsystems;
	}
	const struct ob_series series[] = {
		OB_INIT(ob_series, .name = "Handlinger", .values = acts),
		OB_INIT(ob_series, .name = "Berørte systemer", .values = systems),
	};
	const struct ob_chart c = OB_INIT(ob_chart, .title = "Handlinger og berørte systemer pr. type", .labels = labels,
					  .nlabels = NK, .series = series, .nseries = 2, .value_axis = "Antal",
					  .label_axis = "Type", .show_values = 1);
	api->section(doc, 1, "Handlinger pr. type", 0);
	api->para(doc, "Antal handlinger i det gældende målbillede og antal systemer, de berører, efter hvad "
		       "handlingen gør ved systemerne.");
	api->chart(doc, &c);
}

static void rules_note(const struct tp_run *x, struct ob_doc *doc)
{
	const struct ob_api *api = x->api;

	api->section(doc, 1, "Sådan er tallene beregnet", 0);
	api->note(doc, "Gældende målbillede: den version med den seneste vedtagelsesdato, der ikke ligger efter "
		       "opgørelsesdatoen (samme dato: den senest registrerede). Det nyeste fremtidsbillede findes på "
		       "samme måde. Målbilledet skal opdateres, når der ikke er noget (\"none\"), når det er vedtaget "
		       "før opgørelsesdatoen minus 12 kalendermåneder (\"older_than_12_months\"; vedtaget netop den "
		       "dag er ikke for gammelt), eller når det bygger på et ældre fremtidsbillede end det nyeste "
		       "(\"older_future_picture\"). IOD får da én besked pr. version og årsager.");
	api->note(doc, "Ændringer: de to seneste versioner sammenlignes på handlingernes kode. Tilføjet: kun i den "
		       "nye; fjernet: kun i den gamle; ændret: titel, type (bevar, erstat, udfas, konsolidér, ny "
		       "løsning, tilpas) eller mængden af berørte systemer er forskellig. Berørte systemer tæller hvert "
		       "system i det gældende målbillede én gang, også dem der bevares.");
	api->note(doc, "Hver handling, der ikke er \"bevar\" (en handling uden type tæller med), giver hver systemejer "
		       "af et berørt system én besked pr. handling og system; et system uden systemejer sendes til "
		       "IT-støttefunktionen.");
	api->note(doc, "Modenhed: for hver fælleskommunal løsning er \"fra\" modenheden før perioden og \"til\" den "
		       "seneste til og med opgørelsesdatoen. Perioden er tiden efter forrige opgørelse, eller, uden "
		       "forrige opgørelse, de 12 måneder før opgørelsesdatoen. Der er en ændring, når der er registreret "
		       "en modenhed i perioden, og \"til\" er forskellig fra \"fra\" (samme modenhed igen er ingen "
		       "ændring; en løsning, der er ny i perioden, tæller). \"Blevet grønne\" tæller ændringer til grøn.");
	api->note(doc, "Kontrakter: faste kontrakter med slutdato og opsagte kontrakter med ophørsdato (som i "
		       "rapporten Kontraktudløb) fra og med opgørelsesdatoen til og med %d måneder efter, på systemer, "
		       "som en handling, der ikke er \"bevar\", berører. Løbende kontrakter er ikke med.",
		  x->window_months);
}

static int target_picture_run(struct ob_ctx *ctx, void *state)
{
	const struct ob_api *api = ctx->api;
	struct tp_run x;
	struct ob_doc *doc;
	int rc = -1;

	(void)state;
	memset(&x, 0, sizeof(x));
	x.ctx = ctx;
	x.api = api;
	x.cur = x.prev = -1;
	if (api->size < offsetof(struct ob_api, notify) + sizeof(api->notify)) {
		api->log(ctx, OB_PLOG_ERR, "this overblik's plugin API is older than ABI %d.%d", OB_PLUGIN_ABI_MAJOR,
			 OB_PLUGIN_ABI_MINOR);
		return -1;
	}
	snprintf(x.as_of, sizeof(x.as_of), "%s", api->as_of(ctx) ? api->as_of(ctx) : "");
	x.window_months = (int)api->setting_int(ctx, "contract_window_months");
	if (tp_window(api, x.as_of, api->previous_as_of(ctx), &x.window) < 0) {
		api->log(ctx, OB_PLOG_ERR, "as_of \"%s\" is not a date", x.as_of);
		goto out;
	}
	if (load_pictures(&x) < 0 || load_maturity(&x) < 0 || load_contracts(&x) < 0)
		goto out;
	qsort(x.contracts, x.ncontracts, sizeof(*x.contracts), by_ends);
	count(&x);
	if (write_json(&x) < 0) {
		api->log(ctx, OB_PLOG_ERR, "could not write target_picture.json");
		goto out;
	}
	if (notify_all(&x) < 0)
		goto out;
	doc = api->doc(ctx);
	summary(&x, doc);
	diff_section(&x, doc);
	actions_section(&x, doc);
	maturity_section(&x, doc);
	contracts_section(&x, doc);
	chart(&x, doc);
	rules_note(&x, doc);
	api->log(ctx, OB_PLOG_INFO, "target picture %s, due %s, %ld actions, %ld maturity changes, %ld contracts",
		 x.cur >= 0 && x.targets[x.cur].version ? x.targets[x.cur].version : "none", x.due ? "yes" : "no",
		 x.fig.actions, x.fig.maturity_changes, x.fig.contracts);
	rc = 0;
out:
	tp_free_all(&x);
	return rc;
}

OB_PLUGIN(.name = "target_picture", .version = "1.0", .title = "Målbillede", .run = target_picture_run,
	  .settings = target_picture_settings,
	  .nsettings = sizeof(target_picture_settings) / sizeof(target_picture_settings[0]));
