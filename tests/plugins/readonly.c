/* readonly.so - tries to change the portfolio every way a query could.
 * Each attempt must fail; a read must still work. The run fails if any
 * write got through, and its log names each refusal. */
#include <overblik/plugin.h>
#include <stdio.h>

static int readonly_run(struct ob_ctx *ctx, void *state)
{
	const struct ob_api *api = ctx->api;
	static const char *const writes[] = {
		"UPDATE systems SET name = 'hacked'",
		"DELETE FROM contracts",
		"  delete from people",
		"INSERT INTO organisations (name) VALUES ('x')",
		"COMMIT",
		"SET SESSION TRANSACTION READ WRITE",
		"CALL mysql.nothing()",
		"SELECT * FROM systems INTO OUTFILE '/tmp/ob-readonly-leak'",
		"SELECT LOAD_FILE('/etc/passwd') AS f",
		"WITH x AS (SELECT 1) DELETE FROM systems",
		"SELECT 1; DELETE FROM systems",
		"/*!DELETE FROM systems*/",
		"SELECT ob_test_write() AS x", /* a function that deletes: passes the check */
	};
	struct ob_rows *rows;
	int got_through = 0;
	(void)state;

	for (size_t i = 0; i < sizeof(writes) / sizeof(writes[0]); i++) {
		if (api->query(ctx, writes[i], NULL, 0, &rows) == 0) {
			api->log(ctx, OB_PLOG_ERR, "got through: %s", writes[i]);
			got_through++;
		}
	}
	/* The read-only transaction itself refuses what passes the check. */
	if (api->query(ctx, "SELECT COUNT(*) AS n FROM systems", NULL, 0, &rows) < 0)
		return -1;
	api->log(ctx, OB_PLOG_INFO, "read %s systems; %d writes got through", api->cell(rows, 0, "n"), got_through);
	return got_through ? -1 : 0;
}

OB_PLUGIN(.name = "readonly", .version = "1.0", .run = readonly_run);
