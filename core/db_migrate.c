/* db_migrate.c - numbered schema migrations, embedded in the binary from
 * core/sql/NNN_name.sql, applied in order, each once, and recorded in
 * schema_migrations. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "db.h"
#include "db_migrations.h"
#include "log.h"

int ob_db_schema_version_known(void)
{
	return ob_migrations_count > 0 ? ob_migrations[ob_migrations_count - 1].version : 0;
}

int ob_db_migrate(struct ob_db *db, int *applied, struct ob_err *err)
{
	struct ob_db_rows *r = NULL;
	int rc = -1, locked = 0, current = 0, known = ob_db_schema_version_known();
	const char *v;

	*applied = 0;
	/* Two processes starting at once on one database migrate one at a time. */
	if (ob_db_query(db, "SELECT GET_LOCK('overblik.migrate', 60)", NULL, 0, &r, err) < 0)
		goto out;
	v = ob_db_cell(r, 0, 0);
	if (v == NULL || v[0] != '1') {
		ob_err_set(err, "database: another process has held the migration lock for 60 s at %s",
			   ob_db_address(db));
		goto out;
	}
	locked = 1;
	ob_db_rows_free(r);
	r = NULL;
	if (ob_db_exec(db,
		       "CREATE TABLE IF NOT EXISTS schema_migrations ("
		       " version INT UNSIGNED NOT NULL PRIMARY KEY,"
		       " name VARCHAR(200) NOT NULL,"
		       " applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP"
		       ") ENGINE=InnoDB",
		       NULL, 0, NULL, err) < 0)
		goto out;
	if (ob_db_query(db, "SELECT version, name FROM schema_migrations ORDER BY version DESC LIMIT 1", NULL,
			0, &r, err) < 0)
		goto out;
	if (r->nrows > 0)
		current = atoi(ob_db_cell(r, 0, 0));
	if (current > known) {
		ob_err_set(err, "database: the schema at %s is at version %d (%s), newer than this overblik "
				"knows (%d): upgrade overblik, or point it at the database it made",
			   ob_db_address(db), current, ob_db_cell(r, 0, 1), known);
		goto out;
	}
	for (int i = 0; i < ob_migrations_count; i++) {
		const struct ob_migration *m = &ob_migrations[i];
		struct ob_db_rows *seen = NULL;
		struct ob_db_param p[2] = {ob_p_int(m->version), ob_p_str(m->name)};
		size_t nseen;

		if (ob_db_query(db, "SELECT 1 FROM schema_migrations WHERE version = ?", p, 1, &seen, err) < 0)
			goto out;
		nseen = seen->nrows;
		ob_db_rows_free(seen);
		if (nseen > 0)
			continue;
		ob_info("database: applying migration %s", m->name);
		if (ob_db_exec_script(db, m->sql, err) < 0) {
			char msg[sizeof(err->msg)];
			snprintf(msg, sizeof(msg), "%s", err->msg);
			ob_err_clear(err);
			ob_err_set(err, "database: migration %s failed at %s: %s", m->name, ob_db_address(db),
				   msg);
			goto out;
		}
		if (ob_db_exec(db, "INSERT INTO schema_migrations (version, name) VALUES (?, ?)", p, 2, NULL,
			       err) < 0)
			goto out;
		(*applied)++;
	}
	rc = 0;
out:
	ob_db_rows_free(r);
	if (locked) {
		struct ob_err ignored = {{0}};
		ob_db_exec(db, "DO RELEASE_LOCK('overblik.migrate')", NULL, 0, NULL, &ignored);
	}
	return rc;
}
