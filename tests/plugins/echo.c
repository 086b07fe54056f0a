/* echo.so - the happy path: a small document, a query, a notice. */
#include <overblik/plugin.h>
#include <stdio.h>
#include <stdlib.h>

static int echo_run(struct ob_ctx *ctx, void *state)
{
	const struct ob_api *api = ctx->api;
	struct ob_doc *doc = api->doc(ctx);
	struct ob_rows *rows;
	const char *greeting = api->setting_text(ctx, "greeting");
	const char *message = api->param(ctx, "message");
	const struct ob_column cols[] = {OB_INIT(ob_column, "Nøgle", 2, OB_ALIGN_LEFT, OB_FMT_TEXT, 0),
					 OB_INIT(ob_column, "Værdi", 1, OB_ALIGN_RIGHT, OB_FMT_NUMBER, 0)};
	const char *kv[] = {"as_of", api->as_of(ctx), NULL};
	struct ob_notice n = OB_INIT(ob_notice, "it_support", NULL, "echo/notice", kv);
	char key[64];

	if (api->query(ctx, "SELECT COUNT(*) AS n FROM systems WHERE ? IS NULL OR org_id = ?",
		       (const char *[]){api->org_id(ctx), api->org_id(ctx)}, 2, &rows) < 0)
		return -1;
	api->title(doc, "Ekko", greeting && greeting[0] ? greeting : "Prøve på æøå");
	api->section(doc, 1, "Første afsnit", 0);
	api->para(doc, "as_of %s, besked %s", api->as_of(ctx), message ? message : "(ingen)");
	struct ob_table *t = api->table(doc, cols, 2);
	api->row(t, (const char *[]){"Systemer", api->cell(rows, 0, "n")}, OB_STATUS_GREEN);
	api->kpi(doc, &OB_INIT(ob_kpi, .label = "Systemer", .value = atof(api->cell(rows, 0, "n")), .unit = "stk."));
	snprintf(key, sizeof(key), "echo:%s", api->as_of(ctx));
	n.dedupe_key = key;
	if (api->notify(ctx, &n) < 0)
		return -1;
	api->log(ctx, OB_PLOG_INFO, "echoed %s systems", api->cell(rows, 0, "n"));
	return 0;
}

static const struct ob_setting settings[] = {
	OB_INIT(ob_setting, .name = "greeting", .type = OB_SETTING_TEXT, .def = "\"\"", .max = 200,
		.help = "the document's subtitle; empty: a default"),
	OB_INIT(ob_setting, .name = "new_setting", .type = OB_SETTING_TEXT, .def = "\"\"",
		.help = "read by nothing: the reload tests change it"),
};

OB_PLUGIN(.name = "echo", .version = "1.0", .run = echo_run, .title = "Ekko", .settings = settings,
	  .nsettings = sizeof(settings) / sizeof(settings[0]));
