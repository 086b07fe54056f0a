/* ctor_exit0.so - a plugin whose constructor calls exit(0) after writing to
 * stdout: a clean exit status that must not pass for a finished inventory,
 * and output that must not be read as the inventory's. */
#include <overblik/plugin.h>
#include <stdio.h>
#include <stdlib.h>

__attribute__((constructor)) static void ctor_exit0_quit(void)
{
	printf("ok\tzzz.so\tzzz\t1.0\t1\t0\ndone\n");
	exit(0);
}

static int ctor_exit0_run(struct ob_ctx *ctx, void *state)
{
	(void)ctx;
	(void)state;
	return 0;
}

OB_PLUGIN(.name = "ctor_exit0", .version = "1.0", .run = ctor_exit0_run);
