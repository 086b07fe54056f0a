/* echo.so - the happy path: a small document, a query, a notice. */
#include <overblik/plugin.h>
#include <stdio.h>
#include <stdlib.h>

static int echo_run(struct ob_ctx *ctx, void *state)
{
	const struct ob_api *api = ctx->api;
	struct ob_doc *doc = api->doc(ctx);
	struct ob_rows *rows;
	const char *greeting = api->setting(ctx, "greeting");
	const char *message = api->param(ctx, "message");
	static const struct ob_column cols[] = {{"Nøgle", 2, OB_ALIGN_LEFT, OB_FMT_TEXT, 0},
						{"Værdi", 1, OB_ALIGN_RIGHT, OB_FMT_NUMBER, 0}};
	const char *kv[] = {"as_of", api->as_of(ctx), NULL};
	struct ob_notice n = {"it_support", NULL, "echo/notice", kv};
	char key[64];

	if (api->query(ctx, "SELECT COUNT(*) AS n FROM systems WHERE ? IS NULL OR org_id = ?",
		       (const char *[]){api->org_id(ctx), api->org_id(ctx)}, 2, &rows) < 0)
		return -1;
	api->title(doc, "Ekko", greeting ? greeting : "Prøve på æøå");
	api->section(doc, 1, "Første afsnit", 0);
	api->para(doc, "as_of %s, besked %s", api->as_of(ctx), message ? message : "(ingen)");
	struct ob_table *t = api->table(doc, cols, 2);
	api->row(t, (const char *[]){"Systemer", api->cell(rows, 0, "n")}, OB_STATUS_GREEN);
	api->kpi(doc, &(struct ob_kpi){"Systemer", atof(api->cell(rows, 0, "n")), "stk.", 0, 0, 0});
	snprintf(key, sizeof(key), "echo:%s", api->as_of(ctx));
	n.dedupe_key = key;
	if (api->notify(ctx, &n) < 0)
		return -1;
	api->log(ctx, OB_PLOG_INFO, "echoed %s systems", api->cell(rows, 0, "n"));
	return 0;
}

OB_PLUGIN(.name = "echo", .version = "1.0", .run = echo_run);
