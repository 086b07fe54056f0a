/* db.c - MariaDB through Connector/C: connections, prepared statements,
 * transactions. The only files that include mysql.h are db*.c. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "db.h"
#include "db_server.h"
#include "log.h"

#define STMT_CACHE 64

struct stmt_entry {
	char *sql;
	MYSQL_STMT *stmt;
	unsigned long uses;
};

struct ob_db {
	MYSQL *my;
	char *address;
	struct ob_dbserver *server;   /* managed mode */
	struct stmt_entry cache[STMT_CACHE];
	unsigned long tick;
	struct ob_config *cfg;        /* what it takes to connect again */
	int in_tx;                    /* a lost connection inside a transaction is not retried */
	unsigned last_errno;
	ob_db_watch_fn watch;         /* told of a lost connection */
	void *watch_arg;
};

static struct ob_config *cfg_copy(const struct ob_config *cfg);

/* The kind of a server's or the client library's error number, for
 * struct ob_err (the callers that retry or report a taken key test it). */
static enum ob_err_code db_code(unsigned no)
{
	switch (no) {
	case 0:
		return OB_E_NONE;
	case 1213: /* ER_LOCK_DEADLOCK */
		return OB_E_DEADLOCK;
	case 1205: /* ER_LOCK_WAIT_TIMEOUT */
		return OB_E_LOCK_TIMEOUT;
	case 1062: /* ER_DUP_ENTRY */
	case 1586: /* ER_DUP_ENTRY_WITH_KEY_NAME */
		return OB_E_DUPLICATE;
	case 2006: /* CR_SERVER_GONE_ERROR */
	case 2013: /* CR_SERVER_LOST */
	case 2055: /* CR_SERVER_LOST_EXTENDED */
		return OB_E_DB_LOST;
	default:
		return OB_E_DB;
	}
}

/* ob_err_setc()'s code and number for the connection's (MY_ERR) or a
 * statement's (ST_ERR) last error. */
#define MY_ERR(my) db_code(mysql_errno(my)), mysql_errno(my)
#define ST_ERR(st) db_code(mysql_stmt_errno(st)), mysql_stmt_errno(st)

const char *ob_db_address(const struct ob_db *db)
{
	return db->address;
}

static char *read_password(const char *file, struct ob_err *err)
{
	char *text = NULL;
	size_t n;

	if (ob_read_file(file, &text, &n) < 0) {
		ob_err_set(err, "database: cannot read the password file %s: %s", file, strerror(errno));
		return NULL;
	}
	/* One line; a trailing newline is not part of the password. */
	text[strcspn(text, "\r\n")] = '\0';
	return text;
}

int ob_db_open(const struct ob_config *cfg, struct ob_db **out, struct ob_err *err)
{
	struct ob_db *db = ob_xcalloc(1, sizeof(*db));
	const struct ob_config_db *c = &cfg->db;
	const char *socket = NULL, *host = NULL, *user = c->user;
	char *password = NULL, *dbname_q = NULL;
	unsigned int timeout = (unsigned int)c->connect_timeout, io_timeout = 300;
	unsigned port = 0;
	int rc = -1;

	if (c->managed) {
		if (ob_dbserver_acquire(cfg, &db->server, err) < 0)
			goto out;
		socket = ob_dbserver_socket(db->server);
		user = ob_dbserver_user(db->server);
		db->address = ob_xasprintf("the managed server's unix socket %s", socket);
	} else {
		if (c->password_file && (password = read_password(c->password_file, err)) == NULL)
			goto out;
		if (c->socket) {
			socket = c->socket;
			db->address = ob_xasprintf("unix socket %s", socket);
		} else {
			host = c->host;
			port = c->port;
			db->address = ob_xasprintf("%s:%u", host, port);
		}
	}
	db->my = mysql_init(NULL);
	if (db->my == NULL) {
		ob_err_set(err, "database: out of memory");
		goto out;
	}
	mysql_optionsv(db->my, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	/* A hung server must not hang us: the longest statement (a bulk import
	 * of all 98 municipalities) takes seconds. */
	mysql_optionsv(db->my, MYSQL_OPT_READ_TIMEOUT, &io_timeout);
	mysql_optionsv(db->my, MYSQL_OPT_WRITE_TIMEOUT, &io_timeout);
	mysql_optionsv(db->my, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	/* Everything is stored in UTC; strict mode makes bad values errors. */
	mysql_optionsv(db->my, MYSQL_INIT_COMMAND,
		       "SET time_zone = '+00:00', sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_DATE,"
		       "NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'");
	/* A managed server found answering may have been dying (killed a moment
	 * ago): then acquire again, which cleans up after it and starts anew. */
	for (int attempt = 1; c->managed && attempt < 3; attempt++) {
		if (mysql_real_connect(db->my, host, user, password, NULL, port, socket,
				       CLIENT_MULTI_STATEMENTS) != NULL)
			goto connected;
		if (mysql_errno(db->my) != 2002 && mysql_errno(db->my) != 2013)
			break;
		ob_log(OB_LOG_NOTICE, "database: the managed server on %s went away (%s); starting again",
		       socket, mysql_error(db->my));
		ob_dbserver_release(db->server);
		db->server = NULL;
		if (ob_dbserver_acquire(cfg, &db->server, err) < 0)
			goto out;
		socket = ob_dbserver_socket(db->server);
		user = ob_dbserver_user(db->server); /* the old pointers went with the old handle */
		free(db->address);
		db->address = ob_xasprintf("the managed server's unix socket %s", socket);
	}
	if (mysql_real_connect(db->my, host, user, password, NULL, port, socket, CLIENT_MULTI_STATEMENTS) ==
	    NULL) {
		ob_err_setc(err, MY_ERR(db->my),
			    "database: cannot connect to MariaDB at %s as user %s: %s; check that the "
			    "server runs and accepts connections there, and /database in %s",
			    db->address, user ? user : "(none)", mysql_error(db->my), cfg->path);
		goto out;
	}
connected:
	/* Run workers are exec'd from overblikd: they get no share of this connection. */
	if (mysql_get_socket(db->my) >= 0)
		fcntl(mysql_get_socket(db->my), F_SETFD, FD_CLOEXEC);
	if (mysql_get_server_version(db->my) < 100600) {
		ob_err_set(err, "database: the server at %s is %s; overblik needs MariaDB 10.6 or newer",
			   db->address, mysql_get_server_info(db->my));
		goto out;
	}
	if (c->managed) {
		/* Our own server: the database is ours to create. */
		dbname_q = ob_xasprintf("CREATE DATABASE IF NOT EXISTS `%s` CHARACTER SET utf8mb4 "
					"COLLATE utf8mb4_unicode_ci",
					c->database);
		if (mysql_query(db->my, dbname_q) != 0) {
			ob_err_setc(err, MY_ERR(db->my), "database: cannot create database %s at %s: %s", c->database,
				    db->address, mysql_error(db->my));
			goto out;
		}
	}
	if (mysql_select_db(db->my, c->database) != 0) {
		ob_err_setc(err, MY_ERR(db->my),
			    "database: cannot use database %s at %s: %s; create it (CREATE DATABASE %s "
			    "CHARACTER SET utf8mb4) and grant user %s access",
			    c->database, db->address, mysql_error(db->my), c->database, user ? user : "");
		goto out;
	}
	db->cfg = cfg_copy(cfg);
	*out = db;
	db = NULL;
	rc = 0;
out:
	if (password) {
		memset(password, 0, strlen(password));
		free(password);
	}
	free(dbname_q);
	ob_db_close(db);
	return rc;
}

void ob_db_close(struct ob_db *db)
{
	if (db == NULL)
		return;
	for (size_t i = 0; i < STMT_CACHE; i++) {
		if (db->cache[i].stmt)
			mysql_stmt_close(db->cache[i].stmt);
		free(db->cache[i].sql);
	}
	if (db->my)
		mysql_close(db->my);
	ob_dbserver_release(db->server);
	free(db->address);
	ob_config_free(db->cfg);
	free(db);
}

/* A prepared statement for sql, from the cache or newly prepared. */
static MYSQL_STMT *prepare(struct ob_db *db, const char *sql, struct ob_err *err)
{
	struct stmt_entry *victim = &db->cache[0];
	MYSQL_STMT *st;

	for (size_t i = 0; i < STMT_CACHE; i++) {
		struct stmt_entry *e = &db->cache[i];
		if (e->sql && strcmp(e->sql, sql) == 0) {
			e->uses = ++db->tick;
			return e->stmt;
		}
		if (e->uses < victim->uses)
			victim = e;
	}
	st = mysql_stmt_init(db->my);
	if (st == NULL) {
		ob_err_set(err, "database: out of memory preparing a statement");
		return NULL;
	}
	if (mysql_stmt_prepare(st, sql, strlen(sql)) != 0) {
		db->last_errno = mysql_stmt_errno(st);
		ob_err_setc(err, ST_ERR(st), "database: %s (preparing: %.200s)", mysql_stmt_error(st), sql);
		mysql_stmt_close(st);
		return NULL;
	}
	if (victim->stmt)
		mysql_stmt_close(victim->stmt);
	free(victim->sql);
	victim->sql = ob_xstrdup(sql);
	victim->stmt = st;
	victim->uses = ++db->tick;
	return st;
}

static int bind_params(MYSQL_STMT *st, const struct ob_db_param *params, size_t n, MYSQL_BIND *b,
		       MYSQL_TIME *times, unsigned long *lens, struct ob_err *err)
{
	if (mysql_stmt_param_count(st) != n) {
		ob_err_set(err, "database: statement takes %lu values, %zu given",
			   mysql_stmt_param_count(st), n);
		return -1;
	}
	memset(b, 0, sizeof(*b) * n);
	for (size_t i = 0; i < n; i++) {
		const struct ob_db_param *p = &params[i];
		switch (p->type) {
		case OB_DB_NULL:
			b[i].buffer_type = MYSQL_TYPE_NULL;
			break;
		case OB_DB_STR:
			lens[i] = strlen(p->s);
			b[i].buffer_type = MYSQL_TYPE_STRING;
			b[i].buffer = (void *)p->s;
			b[i].buffer_length = lens[i];
			b[i].length = &lens[i];
			break;
		case OB_DB_INT:
			b[i].buffer_type = MYSQL_TYPE_LONGLONG;
			b[i].buffer = (void *)&p->i;
			break;
		case OB_DB_DATE: {
			int y, m, d;
			ob_civil_from_days(p->date, &y, &m, &d);
			memset(&times[i], 0, sizeof(times[i]));
			times[i].year = (unsigned)y;
			times[i].month = (unsigned)m;
			times[i].day = (unsigned)d;
			times[i].time_type = MYSQL_TIMESTAMP_DATE;
			b[i].buffer_type = MYSQL_TYPE_DATE;
			b[i].buffer = &times[i];
			break;
		}
		case OB_DB_DOUBLE:
			b[i].buffer_type = MYSQL_TYPE_DOUBLE;
			b[i].buffer = (void *)&p->d;
			break;
		}
	}
	if (n > 0 && mysql_stmt_bind_param(st, b) != 0) {
		ob_err_setc(err, ST_ERR(st), "database: %s", mysql_stmt_error(st));
		return -1;
	}
	return 0;
}

/* Executes a prepared statement with its values bound. */
static MYSQL_STMT *execute(struct ob_db *db, const char *sql, const struct ob_db_param *params, size_t n,
			   struct ob_err *err)
{
	MYSQL_STMT *st = prepare(db, sql, err);
	MYSQL_BIND *b;
	MYSQL_TIME *times;
	unsigned long *lens;
	int rc;

	if (st == NULL)
		return NULL;
	b = ob_xcalloc(n ? n : 1, sizeof(*b));
	times = ob_xcalloc(n ? n : 1, sizeof(*times));
	lens = ob_xcalloc(n ? n : 1, sizeof(*lens));
	rc = bind_params(st, params, n, b, times, lens, err);
	if (rc == 0 && mysql_stmt_execute(st) != 0) {
		db->last_errno = mysql_stmt_errno(st);
		ob_err_setc(err, ST_ERR(st), "database: %s (in: %.160s)", mysql_stmt_error(st), sql);
		rc = -1;
	}
	free(b);
	free(times);
	free(lens);
	return rc == 0 ? st : NULL;
}

static int exec_once(struct ob_db *db, const char *sql, const struct ob_db_param *params, size_t n,
		     unsigned long long *affected, struct ob_err *err)
{
	MYSQL_STMT *st;

	if (n == 0 && params == NULL) {
		if (mysql_real_query(db->my, sql, strlen(sql)) != 0) {
			db->last_errno = mysql_errno(db->my);
			ob_err_setc(err, MY_ERR(db->my), "database: %s (in: %.160s)", mysql_error(db->my), sql);
			return -1;
		}
		if (affected)
			*affected = mysql_affected_rows(db->my);
		MYSQL_RES *res = mysql_store_result(db->my);
		mysql_free_result(res);
		return 0;
	}
	st = execute(db, sql, params, n, err);
	if (st == NULL)
		return -1;
	if (affected)
		*affected = mysql_stmt_affected_rows(st);
	mysql_stmt_free_result(st);
	return 0;
}

char *ob_db_sql_list(const char *head, size_t n, const char *tail)
{
	size_t hl = strlen(head), tl = strlen(tail);
	char *sql = ob_xcalloc(hl + 3 * n + tl + 1, 1), *w = sql;

	memcpy(w, head, hl);
	w += hl;
	for (size_t i = 0; i < n; i++) {
		if (i) {
			*w++ = ',';
			*w++ = ' ';
		}
		*w++ = '?';
	}
	memcpy(w, tail, tl + 1);
	return sql;
}

int ob_db_exec_bulk(struct ob_db *db, const char *sql, const struct ob_db_param *params, size_t ncols,
		    size_t nrows, struct ob_err *err)
{
	MYSQL_STMT *st;
	MYSQL_BIND *b;
	void **arrays;
	char **inds;
	unsigned int size = (unsigned int)nrows;
	int rc = -1;

	if (nrows == 0)
		return 0;
	if ((st = prepare(db, sql, err)) == NULL)
		return -1;
	if (mysql_stmt_param_count(st) != ncols) {
		ob_err_set(err, "database: statement takes %lu values, %zu given", mysql_stmt_param_count(st),
			   ncols);
		return -1;
	}
	b = ob_xcalloc(ncols, sizeof(*b));
	arrays = ob_xcalloc(ncols, sizeof(void *));
	inds = ob_xcalloc(ncols, sizeof(char *));
	/* Column-wise arrays: one value and one indicator per row. */
	for (size_t c = 0; c < ncols; c++) {
		enum ob_db_ptype type = OB_DB_NULL;
		for (size_t r = 0; r < nrows && type == OB_DB_NULL; r++)
			type = params[r * ncols + c].type;
		inds[c] = ob_xcalloc(nrows, 1);
		b[c].u.indicator = inds[c];
		switch (type) {
		case OB_DB_NULL:
		case OB_DB_STR: {
			char **v = ob_xcalloc(nrows, sizeof(char *));
			b[c].buffer_type = MYSQL_TYPE_STRING;
			arrays[c] = v;
			for (size_t r = 0; r < nrows; r++) {
				const struct ob_db_param *p = &params[r * ncols + c];
				v[r] = (char *)(p->type == OB_DB_STR ? p->s : "");
				inds[c][r] = p->type == OB_DB_STR ? STMT_INDICATOR_NTS : STMT_INDICATOR_NULL;
			}
			break;
		}
		case OB_DB_INT: {
			long long *v = ob_xcalloc(nrows, sizeof(long long));
			b[c].buffer_type = MYSQL_TYPE_LONGLONG;
			arrays[c] = v;
			for (size_t r = 0; r < nrows; r++) {
				const struct ob_db_param *p = &params[r * ncols + c];
				v[r] = p->i;
				inds[c][r] = p->type == OB_DB_INT ? STMT_INDICATOR_NONE : STMT_INDICATOR_NULL;
			}
			break;
		}
		case OB_DB_DATE: {
			/* As text: Connector/C takes variable-length and temporal
			 * columns of an array as pointers, text is the plain way. */
			char **v = ob_xcalloc(nrows, sizeof(char *) + 11);
			char *text = (char *)(v + nrows);
			b[c].buffer_type = MYSQL_TYPE_STRING;
			arrays[c] = v;
			for (size_t r = 0; r < nrows; r++) {
				const struct ob_db_param *p = &params[r * ncols + c];
				v[r] = text + r * 11;
				if (p->type == OB_DB_DATE)
					ob_date_format(p->date, v[r]);
				inds[c][r] = p->type == OB_DB_DATE ? STMT_INDICATOR_NTS : STMT_INDICATOR_NULL;
			}
			break;
		}
		case OB_DB_DOUBLE: {
			double *v = ob_xcalloc(nrows, sizeof(double));
			b[c].buffer_type = MYSQL_TYPE_DOUBLE;
			arrays[c] = v;
			for (size_t r = 0; r < nrows; r++) {
				const struct ob_db_param *p = &params[r * ncols + c];
				v[r] = p->d;
				inds[c][r] = p->type == OB_DB_DOUBLE ? STMT_INDICATOR_NONE : STMT_INDICATOR_NULL;
			}
			break;
		}
		}
		b[c].buffer = arrays[c];
	}
	for (size_t c = 0; c < ncols; c++)
		for (size_t r = 0; r < nrows; r++) {
			enum ob_db_ptype t = params[r * ncols + c].type;
			enum ob_db_ptype first = OB_DB_NULL;
			for (size_t q = 0; q < nrows && first == OB_DB_NULL; q++)
				first = params[q * ncols + c].type;
			if (t != OB_DB_NULL && t != first) {
				ob_err_set(err, "database: bulk column %zu mixes value types (in: %.120s)", c, sql);
				goto out;
			}
		}
	if (mysql_stmt_attr_set(st, STMT_ATTR_ARRAY_SIZE, &size) != 0 || mysql_stmt_bind_param(st, b) != 0) {
		ob_err_setc(err, ST_ERR(st), "database: %s", mysql_stmt_error(st));
		goto out;
	}
	if (mysql_stmt_execute(st) != 0) {
		ob_err_setc(err, ST_ERR(st), "database: %s (in: %.160s)", mysql_stmt_error(st), sql);
		goto out;
	}
	rc = 0;
out:
	size = 0; /* the cached statement serves single executions again */
	mysql_stmt_attr_set(st, STMT_ATTR_ARRAY_SIZE, &size);
	mysql_stmt_free_result(st);
	for (size_t c = 0; c < ncols; c++) {
		free(arrays[c]);
		free(inds[c]);
	}
	free(arrays);
	free(inds);
	free(b);
	return rc;
}

static struct ob_db_rows *rows_new(size_t ncols)
{
	struct ob_db_rows *r = ob_xcalloc(1, sizeof(*r));
	r->ncols = ncols;
	r->names = ob_xcalloc(ncols ? ncols : 1, sizeof(char *));
	return r;
}

static void rows_add(struct ob_db_rows *r, size_t *cap, char **row)
{
	if (r->nrows == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		r->cells = ob_xrealloc(r->cells, *cap * r->ncols * sizeof(char *));
	}
	memcpy(r->cells + r->nrows * r->ncols, row, r->ncols * sizeof(char *));
	r->nrows++;
}

static int query_text(struct ob_db *db, const char *sql, struct ob_db_rows **out, struct ob_err *err)
{
	MYSQL_RES *res;
	MYSQL_ROW row;
	struct ob_db_rows *r;
	size_t cap = 0;
	unsigned nf;

	if (mysql_real_query(db->my, sql, strlen(sql)) != 0) {
		db->last_errno = mysql_errno(db->my);
		ob_err_setc(err, MY_ERR(db->my), "database: %s (in: %.160s)", mysql_error(db->my), sql);
		return -1;
	}
	res = mysql_store_result(db->my);
	if (res == NULL) {
		if (mysql_field_count(db->my) != 0) {
			ob_err_setc(err, MY_ERR(db->my), "database: %s", mysql_error(db->my));
			return -1;
		}
		*out = rows_new(0);
		return 0;
	}
	nf = mysql_num_fields(res);
	r = rows_new(nf);
	MYSQL_FIELD *f = mysql_fetch_fields(res);
	for (unsigned i = 0; i < nf; i++)
		r->names[i] = ob_xstrdup(f[i].name);
	char **tmp = ob_xcalloc(nf ? nf : 1, sizeof(char *));
	while ((row = mysql_fetch_row(res)) != NULL) {
		unsigned long *lens = mysql_fetch_lengths(res);
		for (unsigned i = 0; i < nf; i++)
			tmp[i] = row[i] ? ob_xstrndup(row[i], lens[i]) : NULL;
		rows_add(r, &cap, tmp);
	}
	free(tmp);
	mysql_free_result(res);
	*out = r;
	return 0;
}

static int query_once(struct ob_db *db, const char *sql, const struct ob_db_param *params, size_t n,
		      struct ob_db_rows **out, struct ob_err *err)
{
	MYSQL_STMT *st;
	MYSQL_RES *meta = NULL;
	MYSQL_BIND *b = NULL;
	unsigned long *lens = NULL;
	my_bool *nulls = NULL;
	char **bufs = NULL, **tmp = NULL;
	struct ob_db_rows *r = NULL;
	size_t cap = 0;
	unsigned nf = 0;
	int rc = -1, fr;
	my_bool one = 1;

	if (n == 0 && params == NULL)
		return query_text(db, sql, out, err);
	st = prepare(db, sql, err);
	if (st == NULL)
		return -1;
	mysql_stmt_attr_set(st, STMT_ATTR_UPDATE_MAX_LENGTH, &one);
	mysql_stmt_free_result(st);
	if ((st = execute(db, sql, params, n, err)) == NULL)
		return -1;
	if (mysql_stmt_field_count(st) == 0) {
		*out = rows_new(0);
		return 0;
	}
	/* Store first: that fills in max_length, which sizes the buffers. */
	if (mysql_stmt_store_result(st) != 0) {
		ob_err_setc(err, ST_ERR(st), "database: %s", mysql_stmt_error(st));
		goto out;
	}
	meta = mysql_stmt_result_metadata(st);
	if (meta == NULL) {
		ob_err_setc(err, ST_ERR(st), "database: %s", mysql_stmt_error(st));
		goto out;
	}
	nf = mysql_num_fields(meta);
	r = rows_new(nf);
	MYSQL_FIELD *f = mysql_fetch_fields(meta);
	b = ob_xcalloc(nf ? nf : 1, sizeof(*b));
	lens = ob_xcalloc(nf ? nf : 1, sizeof(*lens));
	nulls = ob_xcalloc(nf ? nf : 1, sizeof(*nulls));
	bufs = ob_xcalloc(nf ? nf : 1, sizeof(char *));
	tmp = ob_xcalloc(nf ? nf : 1, sizeof(char *));
	for (unsigned i = 0; i < nf; i++) {
		unsigned long sz = f[i].max_length + 1;
		r->names[i] = ob_xstrdup(f[i].name);
		if (sz < 64)
			sz = 64; /* dates and numbers converted to text */
		bufs[i] = ob_xmalloc(sz);
		b[i].buffer_type = MYSQL_TYPE_STRING;
		b[i].buffer = bufs[i];
		b[i].buffer_length = sz;
		b[i].length = &lens[i];
		b[i].is_null = &nulls[i];
	}
	if (mysql_stmt_bind_result(st, b) != 0) {
		ob_err_setc(err, ST_ERR(st), "database: %s", mysql_stmt_error(st));
		goto out;
	}
	while ((fr = mysql_stmt_fetch(st)) == 0 || fr == MYSQL_DATA_TRUNCATED) {
		for (unsigned i = 0; i < nf; i++)
			tmp[i] = nulls[i] ? NULL : ob_xstrndup(bufs[i], lens[i] < b[i].buffer_length ? lens[i] : b[i].buffer_length - 1);
		rows_add(r, &cap, tmp);
	}
	if (fr != MYSQL_NO_DATA) {
		ob_err_setc(err, ST_ERR(st), "database: %s", mysql_stmt_error(st));
		goto out;
	}
	*out = r;
	r = NULL;
	rc = 0;
out:
	mysql_stmt_free_result(st);
	if (meta)
		mysql_free_result(meta);
	for (unsigned i = 0; bufs && i < nf; i++)
		free(bufs[i]);
	free(bufs);
	free(tmp);
	free(b);
	free(lens);
	free(nulls);
	ob_db_rows_free(r);
	return rc;
}

int ob_db_exec_script(struct ob_db *db, const char *sql, struct ob_err *err)
{
	int status;

	if (mysql_real_query(db->my, sql, strlen(sql)) != 0) {
		ob_err_setc(err, MY_ERR(db->my), "database: %s", mysql_error(db->my));
		return -1;
	}
	do {
		MYSQL_RES *res = mysql_store_result(db->my);
		mysql_free_result(res);
		status = mysql_next_result(db->my);
		if (status > 0) {
			ob_err_setc(err, MY_ERR(db->my), "database: %s", mysql_error(db->my));
			return -1;
		}
	} while (status == 0);
	return 0;
}

unsigned long long ob_db_insert_id(struct ob_db *db)
{
	return mysql_insert_id(db->my);
}

int ob_db_begin(struct ob_db *db, struct ob_err *err)
{
	if (ob_db_exec(db, "START TRANSACTION", NULL, 0, NULL, err) < 0)
		return -1;
	db->in_tx = 1;
	return 0;
}

int ob_db_begin_read_only(struct ob_db *db, struct ob_err *err)
{
	if (ob_db_exec(db, "START TRANSACTION READ ONLY, WITH CONSISTENT SNAPSHOT", NULL, 0, NULL, err) < 0)
		return -1;
	db->in_tx = 1;
	return 0;
}

int ob_db_commit(struct ob_db *db, struct ob_err *err)
{
	int rc = exec_once(db, "COMMIT", NULL, 0, NULL, err);
	db->in_tx = 0;
	return rc;
}

int ob_db_rollback(struct ob_db *db)
{
	db->in_tx = 0;
	return mysql_rollback(db->my) == 0 ? 0 : -1;
}

const char *ob_db_cell(const struct ob_db_rows *r, size_t row, size_t col)
{
	if (r == NULL || row >= r->nrows || col >= r->ncols)
		return NULL;
	return r->cells[row * r->ncols + col];
}

const char *ob_db_celln(const struct ob_db_rows *r, size_t row, const char *col)
{
	for (size_t i = 0; r && i < r->ncols; i++)
		if (strcmp(r->names[i], col) == 0)
			return ob_db_cell(r, row, i);
	return NULL;
}

void ob_db_rows_free(struct ob_db_rows *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->nrows * r->ncols; i++)
		free(r->cells[i]);
	for (size_t i = 0; i < r->ncols; i++)
		free(r->names[i]);
	free(r->cells);
	free(r->names);
	free(r);
}

int ob_db_pin_server(struct ob_db *db, struct ob_err *err)
{
	if (db->server == NULL) {
		ob_err_set(err, "database: not the managed server");
		return -1;
	}
	return ob_dbserver_pin(db->server, 1, err);
}

/* ---- a connection that went away ---- */

static struct ob_config *cfg_copy(const struct ob_config *cfg)
{
	struct ob_config *c = ob_config_defaults();
	const struct ob_config_db *d = &cfg->db;

#define COPY(field)                                                                                \
	do {                                                                                       \
		free(c->field);                                                                    \
		c->field = cfg->field ? ob_xstrdup(cfg->field) : NULL;                             \
	} while (0)
	COPY(path);
	COPY(state_dir);
	COPY(db.host);
	COPY(db.socket);
	COPY(db.user);
	COPY(db.password_file);
	COPY(db.database);
	COPY(db.mariadbd);
	COPY(db.install_db);
#undef COPY
	c->db.managed = d->managed;
	c->db.port = d->port;
	c->db.connect_timeout = d->connect_timeout;
	return c;
}

static int lost(unsigned e)
{
	return e == 2006 || e == 2013 || e == 2055; /* gone away, lost, lost at reading */
}

/* Connects anew (starting the managed server again if it died) and takes
 * the new connection's place. */
static int reconnect(struct ob_db *db, struct ob_err *err)
{
	struct ob_db *fresh = NULL;
	struct ob_err e2 = {{0}};

	ob_log(OB_LOG_WARNING, "database: the connection to %s was lost: connecting again", db->address);
	if (db->watch) {
		/* Not err's text: it quotes the statement, and this reaches /healthz. */
		char *why = ob_xasprintf("database: the connection to %s was lost (%s); connecting again%s", db->address,
					 db->last_errno == 2006 ? "the server has gone away"
					 : db->last_errno == 2013 ? "lost during a query"
								  : "lost while reading",
					 db->server ? ", starting the managed server anew if it is gone" : "");
		db->watch(db->watch_arg, 0, why);
		free(why);
	}
	if (ob_db_open(db->cfg, &fresh, &e2) < 0) {
		ob_err_clear(err);
		ob_err_setc(err, e2.code, e2.sqlerrno, "%s", e2.msg);
		if (db->watch)
			db->watch(db->watch_arg, 0, e2.msg);
		return -1;
	}
	fresh->watch = db->watch;
	fresh->watch_arg = db->watch_arg;
	for (size_t i = 0; i < STMT_CACHE; i++) {
		if (db->cache[i].stmt)
			mysql_stmt_close(db->cache[i].stmt);
		free(db->cache[i].sql);
	}
	mysql_close(db->my);
	ob_dbserver_release(db->server);
	free(db->address);
	ob_config_free(db->cfg);
	*db = *fresh;
	free(fresh);
	ob_err_clear(err);
	if (db->watch)
		db->watch(db->watch_arg, 1, NULL);
	return 0;
}

void ob_db_set_watch(struct ob_db *db, ob_db_watch_fn fn, void *arg)
{
	db->watch = fn;
	db->watch_arg = arg;
}

int ob_db_exec(struct ob_db *db, const char *sql, const struct ob_db_param *params, size_t n,
	       unsigned long long *affected, struct ob_err *err)
{
	db->last_errno = 0;
	if (exec_once(db, sql, params, n, affected, err) == 0)
		return 0;
	if (!lost(db->last_errno) || db->in_tx || reconnect(db, err) < 0)
		return -1;
	return exec_once(db, sql, params, n, affected, err);
}

int ob_db_query(struct ob_db *db, const char *sql, const struct ob_db_param *params, size_t n,
		struct ob_db_rows **out, struct ob_err *err)
{
	db->last_errno = 0;
	if (query_once(db, sql, params, n, out, err) == 0)
		return 0;
	if (!lost(db->last_errno) || db->in_tx || reconnect(db, err) < 0)
		return -1;
	return query_once(db, sql, params, n, out, err);
}
