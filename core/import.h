/* import.h - importing the portfolio: KITOS JSON (import_kitos.c) and the
 * documented CSV (import_csv.c). Each import is one transaction: it either
 * commits whole or changes nothing. */
#ifndef OB_IMPORT_H
#define OB_IMPORT_H

#include <stddef.h>
#include <stdio.h>

#include "util.h"

struct ob_db;

struct ob_import_opts {
	const char *org;          /* --org: KITOS uuid or CVR; NULL if not given */
	const char *owner_role;   /* role.name of the system owner */
	int json;                 /* print the summary as one JSON object */
	FILE *out;                /* where the summary goes (stdout) */
};

/* Imports KITOS API v2 JSON files. Fatal errors (unreadable file, JSON
 * syntax, not KITOS data) return -1 with err naming file:line:column and
 * leave the database as it was. Per-object problems are warnings in the
 * summary. Returns 0 when the import committed. */
int ob_import_kitos(struct ob_db *db, char *const *files, size_t nfiles,
		    const struct ob_import_opts *opts, struct ob_err *err);

/* Imports CSV files of the documented kinds (README "CSV"). A bad value
 * fails the import: err lists "FILE:LINE: column: problem" for each (up
 * to a limit) and nothing changes. Bytes that are not text (not UTF-8, a
 * NUL) skip their row and a text longer than its column is cut, each with
 * a warning naming FILE:LINE: column; a file with no UTF-8 in it at all
 * (Excel's Latin-1) is refused whole. Several files are one transaction,
 * applied in dependency order (org units, people, systems, contracts,
 * assessments, incidents, future picture, target picture, shared
 * solutions) whatever order they are given in, sharing the organisations
 * and uuid maps; each file prints its own result line after the commit and
 * logs its own errors and warnings; a file with errors changes nothing of
 * any file. Returns 0 when the import committed. */
int ob_import_csv(struct ob_db *db, char *const *files, size_t nfiles,
		  const struct ob_import_opts *opts, struct ob_err *err);

/* Finds an organisation by KITOS uuid or CVR (spec). With spec NULL, picks
 * the only organisation in the database. Returns 1 and sets *org_id, 0 when
 * there is none (or, for NULL, not exactly one; a spec that is not short
 * ASCII names none, without a query), -1 on a database error. */
int ob_import_find_org(struct ob_db *db, const char *spec, unsigned long *org_id,
		       struct ob_err *err);

#endif
