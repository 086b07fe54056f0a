/* abi_future.so - built for an ABI major this overblik does not have. */
#include <overblik/plugin.h>

static int abi_future_run(struct ob_ctx *ctx, void *state)
{
	return 0;
}

__attribute__((visibility("default"))) const struct ob_plugin ob_plugin = {
	OB_PLUGIN_ABI_MAJOR + 1, 0, sizeof(struct ob_plugin), "abi_future", "1.0", 0, abi_future_run, 0};
