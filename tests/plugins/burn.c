/* burn.so - burns CPU for a few seconds (param "seconds", default 3), then succeeds. */
#include <overblik/plugin.h>
#include <stdlib.h>
#include <time.h>

static int burn_run(struct ob_ctx *ctx, void *state)
{
	const char *s = ctx->api->param(ctx, "seconds");
	double secs = s ? atof(s) : 3.0, x = 0;
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		for (int i = 0; i < 100000; i++)
			x += (double)i * 1e-9;
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9 < secs);
	ctx->api->log(ctx, OB_PLOG_INFO, "burned %.1f s (%g)", secs, x);
	return 0;
}

OB_PLUGIN(.name = "burn", .version = "1.0", .run = burn_run);
