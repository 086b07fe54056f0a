/* fails.so - reports failure with a reason. */
#include <overblik/plugin.h>

static int fails_run(struct ob_ctx *ctx, void *state)
{
	ctx->api->log(ctx, OB_PLOG_ERR, "the portfolio has no contracts to look at");
	return -1;
}

OB_PLUGIN(.name = "fails", .version = "1.0", .run = fails_run);
