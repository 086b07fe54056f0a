/* ctor_crash.so - a plugin whose constructor crashes as it is loaded:
 * overblikd reads its plugins in a process of its own, so this refuses one
 * file and takes nothing down. */
#include <overblik/plugin.h>
#include <signal.h>

__attribute__((constructor)) static void explode(void)
{
	raise(SIGSEGV); /* as a constructor's bad pointer would */
}

static int run(struct ob_ctx *ctx, void *state)
{
	(void)ctx;
	(void)state;
	return 0;
}

OB_PLUGIN(.name = "ctor_crash", .version = "1.0", .run = run);
