/* ctor_exit.so - a plugin whose constructor calls exit(1) as it is loaded
 * (as a library that gives up on a missing file does): the inventory
 * process ends "normally" in the middle of it. It is refused by name and
 * the rest load. */
#include <overblik/plugin.h>
#include <stdlib.h>

__attribute__((constructor)) static void ctor_exit_give_up(void)
{
	exit(1);
}

static int ctor_exit_run(struct ob_ctx *ctx, void *state)
{
	(void)ctx;
	(void)state;
	return 0;
}

OB_PLUGIN(.name = "ctor_exit", .version = "1.0", .run = ctor_exit_run);
