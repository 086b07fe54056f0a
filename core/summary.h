/* summary.h - a plain-text summary of each organisation's portfolio. */
#ifndef OB_SUMMARY_H
#define OB_SUMMARY_H

#include <stdio.h>

#include "util.h"

struct ob_db;

/* Prints the summary of the organisation org (KITOS uuid or CVR), or of
 * every organisation when org is NULL. 0 ok, -1 with err. */
int ob_summary_print(struct ob_db *db, FILE *out, const char *org, struct ob_err *err);

#endif
