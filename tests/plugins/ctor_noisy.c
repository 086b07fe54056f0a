/* ctor_noisy.so - a plugin whose constructor prints 100,000 lines to stdout
 * and to stderr, with a tab, a forged inventory line and a byte that is not
 * UTF-8, then loads fine: overblikd logs only the first few KiB of it, once
 * per inventory, each line prefixed with the file and escaped. */
#include <overblik/plugin.h>
#include <stdio.h>

__attribute__((constructor)) static void ctor_noisy_shout(void)
{
	fprintf(stderr, "ok\tforged.so\tforged\t1.0\t1\t0\n");
	printf("raw \xff byte\n");
	for (int i = 0; i < 100000; i++)
		printf("ctor_noisy line %d of 100000\n", i);
	fprintf(stderr, "ctor_noisy: done shouting\n");
}

static int ctor_noisy_run(struct ob_ctx *ctx, void *state)
{
	(void)ctx;
	(void)state;
	return 0;
}

OB_PLUGIN(.name = "ctor_noisy", .version = "1.0", .run = ctor_noisy_run);
