/* import_org.c - resolving the organisation an import or a run belongs to,
 * and one run per organisation. */
#include "config.h"

#include <stdlib.h>

#include "db.h"
#include "import.h"
#include "run.h"
#include "util.h"

int ob_import_find_org(struct ob_db *db, const char *spec, unsigned long *org_id,
		       struct ob_err *err)
{
	struct ob_db_rows *r = NULL;
	int rc;

	if (spec != NULL) {
		/* KITOS uuids and CVR numbers are ASCII (so are their columns:
		 * another string would make the query fail, not miss). */
		size_t n = 0;
		for (; spec[n]; n++)
			if ((unsigned char)spec[n] >= 0x80)
				return 0;
		if (n > 64)
			return 0;
	}
	if (spec != NULL) {
		struct ob_db_param p[2] = {ob_p_str(spec), ob_p_str(spec)};
		rc = ob_db_query(db, "SELECT id FROM organisations WHERE kitos_uuid = ? OR cvr = ? ORDER BY id",
				 p, 2, &r, err);
	} else
		rc = ob_db_query(db, "SELECT id FROM organisations ORDER BY id LIMIT 2", NULL, 0, &r, err);
	if (rc < 0)
		return -1;
	rc = 0;
	if (r->nrows == 1 || (spec != NULL && r->nrows > 0)) {
		*org_id = strtoul(ob_db_cell(r, 0, 0), NULL, 10);
		rc = 1;
	}
	ob_db_rows_free(r);
	return rc;
}

int ob_run_create_each_org(struct ob_db *db, const struct ob_run_request *rq, unsigned long long **ids,
			   size_t *n, struct ob_err *err)
{
	struct ob_db_rows *r = NULL;

	*ids = NULL;
	*n = 0;
	if (ob_db_query(db, "SELECT id FROM organisations ORDER BY id", NULL, 0, &r, err) < 0)
		return -1;
	*ids = ob_xcalloc(r->nrows + 1, sizeof(**ids));
	for (size_t i = 0; i < r->nrows; i++) {
		struct ob_run_request one = *rq;
		one.org_id = atoll(ob_db_cell(r, i, 0));
		if (ob_run_create(db, &one, &(*ids)[i], err) < 0) {
			ob_db_rows_free(r);
			free(*ids);
			*ids = NULL;
			return -1;
		}
		(*n)++;
	}
	ob_db_rows_free(r);
	return 0;
}
