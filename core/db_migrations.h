/* db_migrations.h - the migrations embedded by scripts/embed-sql. */
#ifndef OB_DB_MIGRATIONS_H
#define OB_DB_MIGRATIONS_H
struct ob_migration {
	int version;
	const char *name;
	const char *sql;
};
extern const struct ob_migration ob_migrations[];
extern const int ob_migrations_count;
#endif
