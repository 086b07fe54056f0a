/* ctor_hang.so - a plugin whose constructor never returns: the inventory
 * kills it at its timeout and refuses it; the server answers meanwhile. */
#include <overblik/plugin.h>
#include <unistd.h>

__attribute__((constructor)) static void ctor_hang_wait(void)
{
	for (;;)
		pause();
}

static int ctor_hang_run(struct ob_ctx *ctx, void *state)
{
	(void)ctx;
	(void)state;
	return 0;
}

OB_PLUGIN(.name = "ctor_hang", .version = "1.0", .run = ctor_hang_run);
