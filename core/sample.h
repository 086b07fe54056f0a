/* sample.h - the sample document: every element of the document model,
 * built through the same ABI calls a report plugin makes. */
#ifndef OB_SAMPLE_H
#define OB_SAMPLE_H

struct ob_ctx;

#include "util.h"

/* Builds the sample into ctx's document; its introduction comes from the
 * template sample/intro.txt in template_dir; table_rows is the length of the
 * long table at its end (0 leaves it out). 0 ok, -1 with err. */
int ob_sample_build(struct ob_ctx *ctx, const char *template_dir, long table_rows, struct ob_err *err);

#endif
