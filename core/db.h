/* db.h - MariaDB through Connector/C: connections, prepared statements,
 * transactions, and the managed private server (db_server.c).
 *
 * Every query that carries a value goes through a prepared statement:
 * ob_db_exec() and ob_db_query() take the values as an array of
 * struct ob_db_param and cache one prepared statement per SQL text. */
#ifndef OB_DB_H
#define OB_DB_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct ob_config;
struct ob_db;

enum ob_db_ptype { OB_DB_NULL, OB_DB_STR, OB_DB_INT, OB_DB_DATE, OB_DB_DOUBLE };

struct ob_db_param {
	enum ob_db_ptype type;
	const char *s;  /* OB_DB_STR: borrowed, NUL-terminated */
	long long i;    /* OB_DB_INT */
	int32_t date;   /* OB_DB_DATE: days since 1970-01-01 */
	double d;       /* OB_DB_DOUBLE */
};

/* Constructors: a NULL string, an OB_NO_DATE date or a negative "unknown"
 * integer made with OB_P_INTU become SQL NULL. */
static inline struct ob_db_param ob_p_null(void)
{
	struct ob_db_param p = {OB_DB_NULL, NULL, 0, 0, 0};
	return p;
}
static inline struct ob_db_param ob_p_str(const char *s)
{
	struct ob_db_param p = {s ? OB_DB_STR : OB_DB_NULL, s, 0, 0, 0};
	return p;
}
static inline struct ob_db_param ob_p_int(long long i)
{
	struct ob_db_param p = {OB_DB_INT, NULL, i, 0, 0};
	return p;
}
static inline struct ob_db_param ob_p_intu(long long i) /* negative = unknown = NULL */
{
	struct ob_db_param p = {i < 0 ? OB_DB_NULL : OB_DB_INT, NULL, i, 0, 0};
	return p;
}
static inline struct ob_db_param ob_p_date(int32_t days) /* INT32_MIN = no date = NULL */
{
	struct ob_db_param p = {days == INT32_MIN ? OB_DB_NULL : OB_DB_DATE, NULL, 0, days, 0};
	return p;
}
static inline struct ob_db_param ob_p_double(double d)
{
	struct ob_db_param p = {OB_DB_DOUBLE, NULL, 0, 0, d};
	return p;
}

/* Result rows, every cell as text (NULL for SQL NULL), owned by the caller:
 * ob_db_rows_free(). */
struct ob_db_rows {
	size_t nrows, ncols;
	char **names;   /* ncols column names */
	char **cells;   /* nrows * ncols, row-major */
};
const char *ob_db_cell(const struct ob_db_rows *r, size_t row, size_t col);
/* Column by name; NULL if the column does not exist or the cell is NULL. */
const char *ob_db_celln(const struct ob_db_rows *r, size_t row, const char *col);
void ob_db_rows_free(struct ob_db_rows *r);

/* Connects as the config says. In managed mode this starts the private
 * mariadbd under state_dir first (or attaches to the one already running
 * for that data directory). On failure err names the address, the server's
 * error and what to check. The caller frees with ob_db_close(). */
int ob_db_open(const struct ob_config *cfg, struct ob_db **out, struct ob_err *err);
/* Called on the thread using db when a lost connection is found (up 0,
 * why says what was lost, before connecting again: in managed mode that may
 * start the server anew, which takes seconds) and when connecting again
 * worked (up 1) or failed (up 0, why the error). */
typedef void (*ob_db_watch_fn)(void *arg, int up, const char *why);
void ob_db_set_watch(struct ob_db *db, ob_db_watch_fn fn, void *arg);
/* Closes the connection; in managed mode also stops the server this process
 * started (never one another process started and still uses). */
void ob_db_close(struct ob_db *db);

/* Runs one statement with parameters; *affected (may be NULL) gets the
 * affected-row count. 0 ok, -1 with err holding the server's message. */
int ob_db_exec(struct ob_db *db, const char *sql, const struct ob_db_param *params, size_t n,
	       unsigned long long *affected, struct ob_err *err);
/* Runs a one-row statement (INSERT ... VALUES (?, ...) ...) for nrows rows
 * at once with MariaDB's array binding: params holds nrows * ncols values,
 * row after row; within a column the non-NULL values share one type. One
 * round trip, and the server executes it as a bulk operation. */
/* head, then "?, ?, ?" for n parameters, then tail: a statement's text for
 * an "IN (...)" list (caller frees). */
char *ob_db_sql_list(const char *head, size_t n, const char *tail);
int ob_db_exec_bulk(struct ob_db *db, const char *sql, const struct ob_db_param *params, size_t ncols,
		    size_t nrows, struct ob_err *err);
/* Runs a query and returns all its rows (owned by the caller on 0). */
int ob_db_query(struct ob_db *db, const char *sql, const struct ob_db_param *params, size_t n,
		struct ob_db_rows **out, struct ob_err *err);
/* Runs SQL text without parameters, possibly several statements (migrations). */
int ob_db_exec_script(struct ob_db *db, const char *sql, struct ob_err *err);
unsigned long long ob_db_insert_id(struct ob_db *db);

int ob_db_begin(struct ob_db *db, struct ob_err *err);
/* A transaction that cannot write (the server refuses every change in it)
 * and reads one snapshot: what a plugin's queries run in. */
int ob_db_begin_read_only(struct ob_db *db, struct ob_err *err);
int ob_db_commit(struct ob_db *db, struct ob_err *err);
int ob_db_rollback(struct ob_db *db);

/* Managed mode: keeps the server running after this process exits, until
 * "overblik db stop". -1 when the database is not the managed one. */
int ob_db_pin_server(struct ob_db *db, struct ob_err *err);

/* Where the connection goes, for messages: "unix socket var/db/mysqld.sock". */
const char *ob_db_address(const struct ob_db *db);

/* Migrations (db_migrate.c): applies every embedded migration not yet
 * recorded, in order, each once. Refuses a database whose newest migration
 * is newer than this binary's. *applied gets how many ran. */
int ob_db_migrate(struct ob_db *db, int *applied, struct ob_err *err);
/* The newest migration this binary knows. */
int ob_db_schema_version_known(void);

#endif
