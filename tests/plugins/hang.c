/* hang.so - sleeps far past any sane timeout. */
#include <overblik/plugin.h>
#include <unistd.h>

static int hang_run(struct ob_ctx *ctx, void *state)
{
	for (int i = 0; i < 3600; i++)
		sleep(1);
	return 0;
}

OB_PLUGIN(.name = "hang", .version = "1.0", .run = hang_run);
