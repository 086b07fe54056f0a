/* import_org.c - resolving the organisation an import or a run belongs to. */
#include "config.h"

#include <stdlib.h>

#include "db.h"
#include "import.h"

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
