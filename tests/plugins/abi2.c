/* abi2.so - ABI 2.0 end to end (tests/integration/t_plugin_abi.py): one
 * declared setting of each type, written back into REPORT.json as read;
 * figures (a count from a query, a nested object, decimals rounded half
 * up); rows of typed values; the previous run's figures and as_of, into
 * REPORT.json and a KPI tile; the calendar and Danish formatting for fixed
 * dates; a bullet list. Run parameters make it misbehave on purpose
 * (bad_struct, core_key, bad_date, undeclared): each call must be refused
 * without a crash, and what it returned is written into REPORT.json.
 * "extra" sets the figure nested/level/value; "fail" makes the run fail
 * after it wrote its figures. */
#include <overblik/plugin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct months_case {
	const char *date;
	int months;
};

struct end_case {
	const char *date;
	enum ob_period period;
	const char *name;
};

struct days_case {
	const char *from, *to;
};

static void write_settings(struct ob_ctx *ctx, struct ob_json *rj)
{
	const struct ob_api *api = ctx->api;
	struct ob_json *s = api->j_object(rj, "settings"), *list;
	const long long *ms = NULL;
	size_t n = api->setting_ints(ctx, "milestones", &ms);

	api->j_int(s, "limit", api->setting_int(ctx, "limit"));
	list = api->j_array(s, "milestones");
	for (size_t i = 0; i < n; i++)
		api->j_int(list, NULL, ms[i]);
	api->j_text(s, "period", api->setting_text(ctx, "period"));
	api->j_bool(s, "verbose", api->setting_bool(ctx, "verbose"));
	api->j_text(s, "label", api->setting_text(ctx, "label"));
}

static void write_calendar(struct ob_ctx *ctx, struct ob_json *rj)
{
	static const struct months_case mc[] = {
		{"2026-06-30", -6}, {"2027-02-28", 1},  {"2027-08-30", -6}, {"2028-08-30", -6},
		{"2026-03-15", -1}, {"2026-01-31", 1},  {"2026-04-30", 1},  {"2027-02-28", 12},
		{"2028-02-29", 12}, {"2028-02-28", 12}, {"2026-12-31", -12}, {"2026-01-15", -13},
		{"2026-11-30", 3},  {"2026-02-30", 1},  {"9999-12-31", 1}, {"0001-01-31", -1},
		{"2026-01-31", 120001}, {"2026-1-31", 1},
	};
	static const struct end_case ec[] = {
		{"2026-11-26", OB_PERIOD_QUARTER, "quarter"}, {"2026-02-10", OB_PERIOD_QUARTER, "quarter"},
		{"2026-05-01", OB_PERIOD_QUARTER, "quarter"}, {"2026-08-31", OB_PERIOD_QUARTER, "quarter"},
		{"2028-02-03", OB_PERIOD_MONTH, "month"},     {"2027-02-03", OB_PERIOD_MONTH, "month"},
		{"2026-07-04", OB_PERIOD_YEAR, "year"},       {"2026-07-04", OB_PERIOD_NONE, "none"},
		{"2026-13-01", OB_PERIOD_MONTH, "month"},     {"2026-05-05", (enum ob_period)9, "9"},
	};
	static const struct days_case dc[] = {
		{"2028-02-28", "2028-03-01"}, {"2027-02-28", "2027-03-01"}, {"2026-12-31", "2027-01-01"},
		{"2027-01-01", "2026-01-01"}, {"2028-01-01", "2029-01-01"}, {"2026-11-26", "2026-11-26"},
		{"2026-13-01", "2026-01-01"},
	};
	static const char *const da_dates[] = {"2026-12-31", "2027-01-05", "2028-02-29", "2026-02-30"};
	static const struct {
		double value;
		int decimals;
	} nums[] = {{1234567.5, 1}, {12.25, 1}, {2.45, 1}, {1234567, 0}, {0.5, 0}, {999.995, 2}, {-1234.5, 1},
		   {1e20, 0},       {-2.45, 1}, {-0.04, 1}, {0.049, 1}, {1, 7}, {0.1234565, 6}};
	const struct ob_api *api = ctx->api;
	struct ob_json *cal = api->j_object(rj, "calendar"), *a;
	char out[64];

	a = api->j_array(cal, "add_months");
	for (size_t i = 0; i < sizeof(mc) / sizeof(mc[0]); i++) {
		struct ob_json *o = api->j_object(a, NULL);
		int r = api->add_months(mc[i].date, mc[i].months, out);
		api->j_text(o, "date", mc[i].date);
		api->j_int(o, "months", mc[i].months);
		api->j_int(o, "rc", r);
		api->j_date(o, "out", r == 0 ? out : NULL);
	}
	a = api->j_array(cal, "end_of");
	for (size_t i = 0; i < sizeof(ec) / sizeof(ec[0]); i++) {
		struct ob_json *o = api->j_object(a, NULL);
		int r = api->end_of(ec[i].date, ec[i].period, out);
		api->j_text(o, "date", ec[i].date);
		api->j_text(o, "period", ec[i].name);
		api->j_int(o, "rc", r);
		api->j_date(o, "out", r == 0 ? out : NULL);
	}
	a = api->j_array(cal, "days");
	for (size_t i = 0; i < sizeof(dc) / sizeof(dc[0]); i++) {
		struct ob_json *o = api->j_object(a, NULL);
		long d = 12345;
		int r = api->days(dc[i].from, dc[i].to, &d);
		api->j_text(o, "from", dc[i].from);
		api->j_text(o, "to", dc[i].to);
		api->j_int(o, "rc", r);
		if (r == 0)
			api->j_int(o, "out", d);
		else
			api->j_null(o, "out");
	}
	a = api->j_array(cal, "date_da");
	for (size_t i = 0; i < sizeof(da_dates) / sizeof(da_dates[0]); i++) {
		struct ob_json *o = api->j_object(a, NULL);
		int r = api->date_da(da_dates[i], out, sizeof(out));
		api->j_text(o, "date", da_dates[i]);
		api->j_int(o, "rc", r);
		api->j_text(o, "out", r >= 0 ? out : NULL);
	}
	{
		/* Too small a buffer: -1, not a cut text. */
		char small[8];
		api->j_int(cal, "date_da_small_rc", api->date_da("2026-12-31", small, sizeof(small)));
		api->j_int(cal, "date_da_null_rc", api->date_da(NULL, out, sizeof(out)));
		api->j_int(cal, "number_da_small_rc", api->number_da(1234567.5, 1, small, sizeof(small)));
		api->j_int(cal, "number_da_nan_rc", api->number_da(0.0 / 0.0, 1, out, sizeof(out)));
	}
	{
		long d = 0;
		api->j_int(cal, "days_null_rc", api->days(NULL, "2026-01-01", &d));
	}
	a = api->j_array(cal, "number_da");
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		struct ob_json *o = api->j_object(a, NULL);
		int r = api->number_da(nums[i].value, nums[i].decimals, out, sizeof(out));
		char v[40];
		snprintf(v, sizeof(v), "%.17g", nums[i].value); /* exactly, for the test to match */
		api->j_text(o, "value", v);
		api->j_int(o, "decimals", nums[i].decimals);
		api->j_int(o, "rc", r);
		api->j_text(o, "out", r >= 0 ? out : NULL);
	}
}

/* REPORT.json's builder at its edges: what each call returned, and what it wrote. */
static void write_builder(struct ob_ctx *ctx, struct ob_json *rj)
{
	const struct ob_api *api = ctx->api;
	struct ob_json *b = api->j_object(rj, "builder"), *rc = api->j_object(b, "rc"), *arr, *o;

	arr = api->j_array(b, "array");
	api->j_int(rc, "key_in_array", api->j_int(arr, "k", 1));
	api->j_int(rc, "array_append", api->j_int(arr, NULL, 5));
	o = api->j_object(b, "object");
	api->j_int(rc, "null_key_in_object", api->j_int(o, NULL, 1));
	api->j_int(rc, "empty_key", api->j_int(o, "", 1));
	api->j_int(rc, "null_parent", api->j_int(NULL, "x", 1));
	api->j_int(rc, "big_int", api->j_int(o, "big", 9007199254740993LL));
	api->j_int(rc, "max_int", api->j_int(o, "max53", 9007199254740992LL));
	api->j_int(rc, "int16", api->j_int(o, "int16", 1234567890123456LL));
	api->j_int(rc, "nan", api->j_number(o, "nan", 0.0 / 0.0, 1));
	api->j_int(rc, "dec7", api->j_number(o, "dec7", 1.0, 7));
	api->j_int(rc, "dec6", api->j_number(o, "dec6", 0.1234565, 6));
	api->j_int(rc, "neg_half", api->j_number(o, "neg_half", -2.45, 1));
	api->j_int(rc, "bad_utf8", api->j_text(o, "bad_utf8", "\xff\xfe"));
	api->j_int(rc, "bad_utf8_key", api->j_int(o, "\xff", 1));
	api->j_int(rc, "twice_1", api->j_int(o, "twice", 1));
	api->j_int(rc, "twice_2", api->j_text(o, "twice", "second"));
	api->j_int(rc, "nested_run", api->j_int(o, "run", 5));
	api->j_int(rc, "null_text", api->j_text(o, "null_text", NULL));
}

static void many_bullets(struct ob_ctx *ctx, struct ob_doc *doc, struct ob_json *rj)
{
	const struct ob_api *api = ctx->api;
	static char text[120][200];
	const char *items[121];
	const char *withnull[] = {"før tom", NULL, "efter tom"};
	struct ob_json *m = api->j_object(rj, "many_bullets");

	for (int i = 0; i < 120; i++) {
		snprintf(text[i], sizeof(text[i]),
			 i % 10 == 9 ? "Punkt %d: en lang linje der skal brydes over flere linjer i punktlisten, "
				       "med æøå og ÆØÅ, og med endnu flere ord til sidst (slut %d)"
				     : "Punkt %d (slut %d)",
			 i + 1, i + 1);
		items[i] = text[i];
	}
	api->section(doc, 1, "Mange punkter", 0);
	api->j_int(m, "many", api->bullets(doc, items, 120));
	api->j_int(m, "empty", api->bullets(doc, items, 0));
	api->j_int(m, "null_items", api->bullets(doc, NULL, 0));
	api->j_int(m, "null_items_n", api->bullets(doc, NULL, 2));
	api->j_int(m, "with_null", api->bullets(doc, withnull, 3));
	api->j_int(m, "null_doc", api->bullets(NULL, items, 1));
	api->para(doc, "Efter punkterne.");
}

/* The misbehaviours a run's parameters ask for; what each call returned. */
static void misbehave(struct ob_ctx *ctx, struct ob_doc *doc, struct ob_json *rj)
{
	const struct ob_api *api = ctx->api;
	struct ob_json *m = api->j_object(rj, "misbehaviour");

	if (api->param(ctx, "bad_struct")) {
		struct ob_kpi k;
		struct ob_column col;
		struct ob_notice n;
		const char *kv[] = {NULL};
		memset(&k, 0, sizeof(k));
		k.label = "Uden størrelse";
		k.value = 1;
		api->j_int(m, "bad_struct_kpi", api->kpi(doc, &k));
		memset(&col, 0, sizeof(col));
		col.header = "Uden størrelse";
		api->j_bool(m, "bad_struct_table_made", api->table(doc, &col, 1) != NULL);
		memset(&n, 0, sizeof(n));
		n.recipient = "it_support";
		n.dedupe_key = "abi2:bad_struct";
		n.template = "echo/notice";
		n.kv = kv;
		api->j_int(m, "bad_struct_notify", api->notify(ctx, &n));
	}
	if (api->param(ctx, "core_key")) {
		api->j_int(m, "core_key_run", api->j_int(rj, "run", 999999));
		api->j_int(m, "core_key_report", api->j_text(rj, "report", "hijacked"));
		api->j_int(m, "core_key_previous", api->j_null(rj, "previous"));
		api->j_bool(m, "core_key_figures_made", api->j_object(rj, "figures") != NULL);
	}
	if (api->param(ctx, "bad_date")) {
		struct ob_json *o = api->j_object(rj, "dates");
		api->j_int(m, "bad_date", api->j_date(o, "when", "2026-02-30"));
		api->j_int(m, "bad_date_text", api->j_date(o, "when_text", "30.02.2026"));
		api->j_int(m, "good_date", api->j_date(o, "good", "2028-02-29"));
	}
	if (api->param(ctx, "undeclared")) {
		api->j_int(m, "undeclared_int", api->setting_int(ctx, "nosuchsetting"));
		api->j_bool(m, "undeclared_text_null", api->setting_text(ctx, "nosuchsetting") == NULL);
		/* Declared, read as another type. */
		api->j_bool(m, "wrong_type_text_null", api->setting_text(ctx, "limit") == NULL);
		api->j_int(m, "wrong_type_bool", api->setting_bool(ctx, "label"));
	}
}

static int abi2_run(struct ob_ctx *ctx, void *state)
{
	const struct ob_api *api = ctx->api;
	struct ob_doc *doc = api->doc(ctx);
	struct ob_json *rj = api->report_json(ctx), *figs = api->figures(ctx), *o, *rows;
	struct ob_rows *r;
	const char *extra = api->param(ctx, "extra");
	const char *prev_as_of = api->previous_as_of(ctx);
	static const char *const bullets[] = {"Første punkt: opsig kontrakten i tide",
					      "Andet punkt: æøå og ÆØÅ i en punktliste",
					      "Tredje punkt: giv ejeren besked"};
	double prev = 0, prev_nested = 0, prev_none = 0;
	int has_prev, has_nested, has_none;
	long long systems;
	(void)state;

	if (api->query(ctx, "SELECT COUNT(*) AS n FROM systems WHERE org_id = ?",
		       (const char *[]){api->org_id(ctx)}, 1, &r) < 0)
		return -1;
	systems = atoll(api->cell(r, 0, "n"));

	api->title(doc, "ABI 2-prøve", api->org_name(ctx));
	api->section(doc, 1, "Tal", 0);
	api->para(doc, "as_of %s", api->as_of(ctx));

	write_settings(ctx, rj);

	/* Figures. */
	api->j_int(figs, "systems", systems);
	o = api->j_object(api->j_object(figs, "nested"), "level");
	api->j_int(o, "value", extra ? atoll(extra) : 7);
	api->j_number(figs, "half_up_1", 2.45, 1);
	api->j_number(figs, "half_up_2", 12.25, 1);
	api->j_number(figs, "half_up_3", 1.005, 2);
	api->j_number(figs, "whole", 3.5, 0);

	/* Rows of objects. */
	rows = api->j_array(rj, "rows");
	o = api->j_object(rows, NULL);
	api->j_int(o, "n", 1);
	api->j_date(o, "date", "2026-12-31");
	api->j_bool(o, "flag", 1);
	api->j_null(o, "missing");
	api->j_text(o, "text", "Ærø");
	o = api->j_object(rows, NULL);
	api->j_int(o, "n", -2);
	api->j_date(o, "date", NULL);
	api->j_bool(o, "flag", 0);
	api->j_null(o, "missing");
	api->j_text(o, "text", NULL);

	/* The previous run. */
	has_prev = api->previous(ctx, "systems", &prev);
	has_nested = api->previous(ctx, "nested/level/value", &prev_nested);
	has_none = api->previous(ctx, "nosuchfigure", &prev_none);
	o = api->j_object(rj, "seen_previous");
	api->j_text(o, "as_of", prev_as_of);
	api->j_int(o, "has_systems", has_prev);
	if (has_prev)
		api->j_number(o, "systems", prev, 2);
	else
		api->j_null(o, "systems");
	api->j_int(o, "has_nested", has_nested);
	if (has_nested)
		api->j_number(o, "nested", prev_nested, 2);
	else
		api->j_null(o, "nested");
	api->j_int(o, "has_none", has_none);
	api->kpi(doc, &OB_INIT(ob_kpi, .label = "Systemer", .value = (double)systems, .unit = "stk.",
			       .has_previous = has_prev, .previous = prev));
	api->kpi(doc, &OB_INIT(ob_kpi, .label = "Indlejret", .value = extra ? atof(extra) : 7,
			       .has_previous = has_nested, .previous = prev_nested));

	write_calendar(ctx, rj);

	api->section(doc, 1, "Punkter", 0);
	api->j_int(rj, "bullets_rc", api->bullets(doc, bullets, 3));

	write_builder(ctx, rj);
	if (api->param(ctx, "many_bullets"))
		many_bullets(ctx, doc, rj);
	misbehave(ctx, doc, rj);

	if (api->param(ctx, "fail")) {
		api->log(ctx, OB_PLOG_ERR, "failing on purpose (param fail)");
		return -1;
	}
	api->log(ctx, OB_PLOG_INFO, "abi2 wrote %lld systems", systems);
	return 0;
}

static const struct ob_setting settings[] = {
	OB_INIT(ob_setting, .name = "limit", .type = OB_SETTING_INT, .def = "10", .min = 1, .max = 100,
		.help = "a whole number from 1 to 100"),
	OB_INIT(ob_setting, .name = "milestones", .type = OB_SETTING_INT_LIST, .def = "[365, 180, 90, 30]",
		.min = 0, .max = 1000, .help = "days before a deadline"),
	OB_INIT(ob_setting, .name = "period", .type = OB_SETTING_CHOICE, .def = "\"quarter\"",
		.choices = "month|quarter|year", .help = "how often to remind"),
	OB_INIT(ob_setting, .name = "verbose", .type = OB_SETTING_BOOL, .def = "false", .help = "more detail"),
	OB_INIT(ob_setting, .name = "label", .type = OB_SETTING_TEXT, .def = "\"standard\"", .max = 20,
		.help = "a label of at most 20 characters"),
};

OB_PLUGIN(.name = "abi2", .version = "2.0", .run = abi2_run, .title = "ABI 2-prøve", .settings = settings,
	  .nsettings = sizeof(settings) / sizeof(settings[0]));
