/* notify.so - mail for the outbox tests: one notice per system with an
 * owner (to the owner), one briefing per role named in the "roles"
 * parameter, and one shared notice, under one dedupe key, to each recipient
 * named in "shared" (a contract covering systems of several owners).
 * Parameters: "key" (part of every dedupe key; default the as_of date),
 * "limit" (systems at most), "roles" ("asg,direktion"), "shared"
 * ("owner:1,owner:2,asg"). */
#include <overblik/plugin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int notify_run(struct ob_ctx *ctx, void *state)
{
	const struct ob_api *api = ctx->api;
	struct ob_doc *doc = api->doc(ctx);
	struct ob_rows *rows;
	const char *key = api->param(ctx, "key") ? api->param(ctx, "key") : api->as_of(ctx);
	const char *limit = api->param(ctx, "limit") ? api->param(ctx, "limit") : "100000";
	const char *roles = api->param(ctx, "roles");
	size_t n;
	char count[32];

	(void)state;
	if (api->query(ctx,
		       "SELECT s.id, s.name, s.owner_id FROM systems s WHERE s.owner_id IS NOT NULL "
		       "AND (? IS NULL OR s.org_id = ?) ORDER BY s.id LIMIT ?",
		       (const char *[]){api->org_id(ctx), api->org_id(ctx), limit}, 3, &rows) < 0)
		return -1;
	n = api->nrows(rows);
	api->title(doc, "Påmindelser (test)", "Risikovurderinger der skal fornyes");
	api->section(doc, 1, "Systemer", 0);
	api->para(doc, "%zu systemer med ejer pr. %s.", n, api->as_of(ctx));
	for (size_t i = 0; i < n; i++) {
		char recipient[64], dedupe[256];
		const char *kv[] = {"system", api->cell(rows, i, "name"), "due", "31.12.2026", "note",
				    api->param(ctx, "note"), NULL};
		if (kv[5] == NULL)
			kv[4] = NULL;
		snprintf(recipient, sizeof(recipient), "owner:%s", api->cell(rows, i, "owner_id"));
		snprintf(dedupe, sizeof(dedupe), "notify:system:%s:%s", api->cell(rows, i, "id"), key);
		if (api->notify(ctx, &OB_INIT(ob_notice, recipient, dedupe, "notify/item", kv)) < 0)
			return -1;
	}
	snprintf(count, sizeof(count), "%zu", n);
	if (roles) {
		char *copy = strdup(roles), *save = NULL;
		for (char *r = strtok_r(copy, ",", &save); r; r = strtok_r(NULL, ",", &save)) {
			char dedupe[256];
			const char *kv[] = {"count", count, "role", r, NULL};
			snprintf(dedupe, sizeof(dedupe), "notify:briefing:%s:%s", r, key);
			if (api->notify(ctx, &OB_INIT(ob_notice, r, dedupe, "notify/briefing", kv)) < 0) {
				free(copy);
				return -1;
			}
		}
		free(copy);
	}
	if (api->param(ctx, "shared")) {
		char *copy = strdup(api->param(ctx, "shared")), *save = NULL, dedupe[256];
		const char *kv[] = {"system", "Fælles kontrakt", "due", "31.12.2026", NULL};
		snprintf(dedupe, sizeof(dedupe), "notify:shared:%s", key);
		for (char *r = strtok_r(copy, ",", &save); r; r = strtok_r(NULL, ",", &save))
			if (api->notify(ctx, &OB_INIT(ob_notice, r, dedupe, "notify/item", kv)) < 0) {
				free(copy);
				return -1;
			}
		free(copy);
	}
	return 0;
}

OB_PLUGIN(.name = "notify", .version = "1.0", .run = notify_run);
