/* crash.so - dies of SIGSEGV in the middle of its run. */
#include <overblik/plugin.h>

static int crash_run(struct ob_ctx *ctx, void *state)
{
	volatile int *nowhere = (volatile int *)0;
	ctx->api->log(ctx, OB_PLOG_INFO, "about to crash");
	*nowhere = 42;
	return 0;
}

OB_PLUGIN(.name = "crash", .version = "1.0", .run = crash_run);
