/* abi_future.so - built for an ABI major this overblik does not have. */
#include <overblik/plugin.h>

static int abi_future_run(struct ob_ctx *ctx, void *state)
{
	return 0;
}

__attribute__((visibility("default"))) const struct ob_plugin ob_plugin = {
	.abi_major = OB_PLUGIN_ABI_MAJOR + 1, .abi_minor = 0, .size = sizeof(struct ob_plugin), .name = "abi_future",
	.version = "1.0", .run = abi_future_run};
