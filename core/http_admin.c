/* http_admin.c - the admin endpoint (evhttp, JSON): health, metrics, reports,
 * runs and their files, the outbox. Each endpoint is a row of routes[]: its
 * method, path pattern and least role, what it takes from the request (on
 * the loop), its work on the database thread and its reply; handle() does
 * what every request needs (the path, the token, the query string, 404, 405,
 * 403, the id in the path) in that order, the same for every route. Handlers
 * never block the loop. Bearer tokens are kept as SHA-256 hashes and
 * compared in constant time; a token never reaches a log. What it needs of
 * the server comes through struct ob_http_host (http_admin.h). */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "cron.h"
#include "db.h"
#include "dbq.h"
#include "http_admin.h"
#include "import.h"
#include "json.h"
#include "log.h"
#include "outbox.h"
#include "plugin.h"
#include "run.h"
#include "util.h"

#define MAX_BODY (64 * 1024)
#define MAX_ID ((unsigned long long)LLONG_MAX) /* ids go to the database as signed 64-bit */
#define RUN_COLUMNS                                                                                \
	"r.id, r.report, r.org_id, o.name AS org_name, r.trigger_kind, "                           \
	"DATE_FORMAT(r.scheduled_for, '%Y-%m-%dT%H:%i:%sZ') AS scheduled_for, r.as_of, r.params, "  \
	"r.dry_run, r.status, DATE_FORMAT(r.queued_at, '%Y-%m-%dT%H:%i:%s.%fZ') AS queued_at, "     \
	"DATE_FORMAT(r.started_at, '%Y-%m-%dT%H:%i:%s.%fZ') AS started_at, "                        \
	"DATE_FORMAT(r.finished_at, '%Y-%m-%dT%H:%i:%s.%fZ') AS finished_at, r.error"


struct ob_http {
	struct ob_http_host host;
	struct evhttp *http;
	struct evhttp_bound_socket *sock;
	/* /healthz's body, built again only when what it shows changes */
	char *health_body;
	struct ob_health health_key;
};

struct route;

/* ---- replies ---- */

static void reply_json(struct evhttp_request *req, int code, const char *body)
{
	struct evbuffer *b = evbuffer_new();
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json; charset=utf-8");
	evhttp_add_header(evhttp_request_get_output_headers(req), "Cache-Control", "no-store");
	evbuffer_add(b, body, strlen(body));
	evbuffer_add(b, "\n", 1);
	evhttp_send_reply(req, code, NULL, b);
	evbuffer_free(b);
}

/* A value from the request, for a message: quotes, backslashes, control
 * characters and bytes that are not UTF-8 escaped, at most 80 characters. */
static const char *qv(const char *s, char *buf, size_t bufsz)
{
	ob_json_quote_for_message(s, strlen(s), 80, buf, bufsz);
	return buf;
}

static void reply_error(struct evhttp_request *req, int code, const char *ecode, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void reply_error(struct evhttp_request *req, int code, const char *ecode, const char *fmt, ...)
{
	cJSON *root = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(root, "error");
	char msg[1024], safe[1024], *text;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Values are quoted where they are put in (qv); this is the net under
	 * that: no raw byte reaches a client's terminal through a message. */
	if (!ob_utf8_printable(msg)) {
		ob_json_quote_for_message(msg, strlen(msg), sizeof(safe), safe, sizeof(safe));
		memcpy(msg, safe, sizeof(msg));
	}
	cJSON_AddStringToObject(e, "code", ecode);
	cJSON_AddStringToObject(e, "message", msg);
	text = cJSON_PrintUnformatted(root);
	reply_json(req, code, text);
	cJSON_free(text);
	cJSON_Delete(root);
}

static void reply_cjson(struct evhttp_request *req, int code, cJSON *root)
{
	char *text = cJSON_PrintUnformatted(root);
	reply_json(req, code, text);
	cJSON_free(text);
}

/* ---- requests waiting for the database ---- */

struct pending {
	struct ob_http *h;
	const struct route *route;
	struct evhttp_request *req;
	struct evhttp_connection *conn;
	int closed;                /* the client went away: do not reply */
	/* inputs */
	char *report, *org, *as_of, *params, *file, *status_filter;
	unsigned long long id;
	long limit, offset;
	int dry_run;
	const struct ob_config *cfg; /* in force when it came: lives until its job is done */
	/* outputs, made on the database thread */
	int code;
	char ecode[32];
	char emsg[1024];
	cJSON *result;
	int fd;                    /* a run's file to send, opened and checked; -1 none */
	unsigned long long fsize;  /* its size */
	unsigned long long run_id; /* a run to queue */
	unsigned long long *run_ids; /* "org": "all": the runs to queue, one per organisation */
	size_t nrun_ids;
	int kick_mail;             /* the outbox changed: look at it */
};

static void on_conn_close(struct evhttp_connection *conn, void *arg)
{
	struct pending *p = arg;
	p->closed = 1;
}

static struct pending *pending_new(struct ob_http *h, const struct route *route, struct evhttp_request *req)
{
	struct pending *p = ob_xcalloc(1, sizeof(*p));
	p->h = h;
	p->route = route;
	p->cfg = h->host.config(h->host.ctx);
	p->req = req;
	p->conn = evhttp_request_get_connection(req);
	p->code = 200;
	p->fd = -1;
	evhttp_connection_set_closecb(p->conn, on_conn_close, p);
	return p;
}

/* True when the reply can go out; detaches from the connection either way. */
static int pending_live(struct pending *p)
{
	if (p->closed)
		return 0;
	evhttp_connection_set_closecb(p->conn, NULL, NULL);
	return 1;
}

static void pending_free(struct pending *p);

/* A request answered before its database job was submitted. */
static void pending_drop(struct pending *p)
{
	pending_live(p);
	pending_free(p);
}

static void pending_free(struct pending *p)
{
	free(p->report);
	free(p->org);
	free(p->as_of);
	free(p->params);
	free(p->file);
	free(p->status_filter);
	free(p->run_ids);
	if (p->fd >= 0)
		close(p->fd);
	cJSON_Delete(p->result);
	free(p);
}

static void fail(struct pending *p, int code, const char *ecode, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void fail(struct pending *p, int code, const char *ecode, const char *fmt, ...)
{
	va_list ap;
	p->code = code;
	snprintf(p->ecode, sizeof(p->ecode), "%s", ecode);
	va_start(ap, fmt);
	vsnprintf(p->emsg, sizeof(p->emsg), fmt, ap);
	va_end(ap);
}

/* A database error: the details (SQL included) go to the log only; the
 * client learns that the database did not answer, never why. */
static void db_fail(struct pending *p, const char *what, const struct ob_err *err)
{
	ob_log(OB_LOG_ERR, "http: %s: %s", what, err->msg);
	fail(p, 503, "database", "database unavailable (while %s); the server log has the details", what);
}

/* A run's file: its bytes, as a download. */
static void reply_file(struct pending *p)
{
	struct evbuffer *b = evbuffer_new();
	const char *dot = strrchr(p->file, '.');
	const char *type = dot && strcmp(dot, ".pdf") == 0    ? "application/pdf"
			   : dot && strcmp(dot, ".json") == 0 ? "application/json"
			   : dot && strcmp(dot, ".eml") == 0  ? "message/rfc822"
							      : "application/octet-stream";
	char disp[1100];

	snprintf(disp, sizeof(disp), "attachment; filename=\"%s\"", p->file);
	for (char *c = disp + 22; *c; c++) /* the name inside the quotes */
		if (*c == '"' || *c == '\\')
			*c = '_';
	disp[strlen(disp) - 1] = '"';
	evhttp_add_header(evhttp_request_get_output_headers(p->req), "Content-Type", type);
	evhttp_add_header(evhttp_request_get_output_headers(p->req), "Content-Disposition", disp);
	/* The buffer owns the descriptor from here, also on failure. */
	if (evbuffer_add_file(b, p->fd, 0, (ev_off_t)p->fsize) == 0) {
		p->fd = -1;
		evhttp_send_reply(p->req, 200, "OK", b);
	} else {
		p->fd = -1;
		reply_error(p->req, 500, "file_error", "the file %s of run %llu could not be sent", p->file, p->id);
	}
	evbuffer_free(b);
}

/* The default reply: p->result as JSON, with a Location for a run made. */
static void reply_result(struct pending *p)
{
	if (p->run_id) {
		char loc[64];
		snprintf(loc, sizeof(loc), "/api/v1/runs/%llu", p->run_id);
		evhttp_add_header(evhttp_request_get_output_headers(p->req), "Location", loc);
	}
	reply_cjson(p->req, p->code, p->result);
}

static void route_reply(struct pending *p);

/* Back on the loop: the reply (unless the client went away), then what
 * the work changed goes to the server. */
static void pending_done(void *arg)
{
	struct pending *p = arg;
	const struct ob_http_host *host = &p->h->host;

	if (pending_live(p)) {
		if (p->code >= 400)
			reply_error(p->req, p->code, p->ecode, "%s", p->emsg);
		else
			route_reply(p);
	}
	if (p->kick_mail)
		host->outbox_changed(host->ctx);
	if (p->run_id)
		host->runs_made(host->ctx, p->report, &p->run_id, 1);
	if (p->nrun_ids)
		host->runs_made(host->ctx, p->report, p->run_ids, p->nrun_ids);
	pending_free(p);
}

/* ---- runs as JSON (database thread) ---- */

static cJSON *str_or_null(const char *s)
{
	return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

static cJSON *run_json(struct ob_db *db, const struct ob_db_rows *r, size_t i, int with_files)
{
	cJSON *o = cJSON_CreateObject(), *params;
	unsigned long long id = strtoull(ob_db_celln(r, i, "id"), NULL, 10);

	cJSON_AddNumberToObject(o, "id", (double)id);
	cJSON_AddStringToObject(o, "report", ob_db_celln(r, i, "report"));
	if (ob_db_celln(r, i, "org_id")) {
		cJSON *org = cJSON_AddObjectToObject(o, "organisation");
		cJSON_AddNumberToObject(org, "id", atof(ob_db_celln(r, i, "org_id")));
		cJSON_AddItemToObject(org, "name", str_or_null(ob_db_celln(r, i, "org_name")));
	} else
		cJSON_AddNullToObject(o, "organisation");
	cJSON_AddStringToObject(o, "trigger", ob_db_celln(r, i, "trigger_kind"));
	cJSON_AddItemToObject(o, "scheduled_for", str_or_null(ob_db_celln(r, i, "scheduled_for")));
	cJSON_AddStringToObject(o, "as_of", ob_db_celln(r, i, "as_of"));
	params = cJSON_Parse(ob_db_celln(r, i, "params"));
	cJSON_AddItemToObject(o, "params", params ? params : cJSON_CreateObject());
	cJSON_AddBoolToObject(o, "dry_run", strcmp(ob_db_celln(r, i, "dry_run"), "0") != 0);
	cJSON_AddStringToObject(o, "status", ob_db_celln(r, i, "status"));
	cJSON_AddItemToObject(o, "queued_at", str_or_null(ob_db_celln(r, i, "queued_at")));
	cJSON_AddItemToObject(o, "started_at", str_or_null(ob_db_celln(r, i, "started_at")));
	cJSON_AddItemToObject(o, "finished_at", str_or_null(ob_db_celln(r, i, "finished_at")));
	cJSON_AddItemToObject(o, "error", str_or_null(ob_db_celln(r, i, "error")));
	if (with_files) {
		struct ob_db_rows *f = NULL;
		struct ob_err err = {{0}};
		struct ob_db_param p[1] = {ob_p_int((long long)id)};
		cJSON *files = cJSON_AddArrayToObject(o, "files");
		if (ob_db_query(db, "SELECT name, size, sha256 FROM run_files WHERE run_id = ? ORDER BY name", p, 1,
				&f, &err) == 0) {
			for (size_t k = 0; k < f->nrows; k++) {
				cJSON *x = cJSON_CreateObject();
				char url[512];
				cJSON_AddStringToObject(x, "name", ob_db_cell(f, k, 0));
				cJSON_AddNumberToObject(x, "size", atof(ob_db_cell(f, k, 1)));
				cJSON_AddStringToObject(x, "sha256", ob_db_cell(f, k, 2));
				snprintf(url, sizeof(url), "/api/v1/runs/%llu/files/%s", id, ob_db_cell(f, k, 0));
				cJSON_AddStringToObject(x, "url", url);
				cJSON_AddItemToArray(files, x);
			}
		}
		ob_db_rows_free(f);
	}
	return o;
}

static int load_run(struct ob_db *db, struct pending *p, unsigned long long id)
{
	struct ob_db_rows *r = NULL;
	struct ob_err err = {{0}};
	struct ob_db_param q[1] = {ob_p_int((long long)id)};

	if (ob_db_query(db, "SELECT " RUN_COLUMNS " FROM runs r LEFT JOIN organisations o ON o.id = r.org_id "
			    "WHERE r.id = ?",
			q, 1, &r, &err) < 0) {
		db_fail(p, "reading a run", &err);
		return -1;
	}
	if (r->nrows == 0) {
		fail(p, 404, "not_found", "no run %llu", id);
		ob_db_rows_free(r);
		return -1;
	}
	p->result = run_json(db, r, 0, 1);
	ob_db_rows_free(r);
	return 0;
}

static void get_run_work(struct ob_db *db, void *arg)
{
	struct pending *p = arg;
	if (load_run(db, p, p->id) == 0) {
		cJSON *wrap = cJSON_CreateObject();
		cJSON_AddItemToObject(wrap, "run", p->result);
		p->result = wrap;
	}
}

static void list_runs_work(struct ob_db *db, void *arg)
{
	struct pending *p = arg;
	struct ob_db_rows *r = NULL, *n = NULL;
	struct ob_err err = {{0}};
	struct ob_db_param q[4] = {ob_p_str(p->report), ob_p_str(p->status_filter), ob_p_int(p->limit),
				   ob_p_int(p->offset)};
	static const char where[] = " WHERE (? IS NULL OR r.report = ?) AND (? IS NULL OR r.status = ?)";
	struct ob_db_param w[4] = {q[0], q[0], q[1], q[1]};
	struct ob_db_param all[6] = {q[0], q[0], q[1], q[1], q[2], q[3]};
	char sql[2000];
	cJSON *runs;

	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM runs r%s", where);
	if (ob_db_query(db, sql, w, 4, &n, &err) < 0) {
		db_fail(p, "counting runs", &err);
		return;
	}
	snprintf(sql, sizeof(sql),
		 "SELECT %s FROM runs r LEFT JOIN organisations o ON o.id = r.org_id%s "
		 "ORDER BY r.id DESC LIMIT ? OFFSET ?",
		 RUN_COLUMNS, where);
	if (ob_db_query(db, sql, all, 6, &r, &err) < 0) {
		db_fail(p, "listing runs", &err);
		ob_db_rows_free(n);
		return;
	}
	p->result = cJSON_CreateObject();
	runs = cJSON_AddArrayToObject(p->result, "runs");
	for (size_t i = 0; i < r->nrows; i++)
		cJSON_AddItemToArray(runs, run_json(db, r, i, 0));
	cJSON_AddNumberToObject(p->result, "total", atof(ob_db_cell(n, 0, 0)));
	cJSON_AddNumberToObject(p->result, "limit", (double)p->limit);
	cJSON_AddNumberToObject(p->result, "offset", (double)p->offset);
	ob_db_rows_free(r);
	ob_db_rows_free(n);
}

/* "org": "all": one run per organisation, all created or none; the reply
 * lists them, each as GET /api/v1/runs/ID shows it, with its url. */
static void create_runs_each_org(struct ob_db *db, struct pending *p, const struct ob_run_request *rq)
{
	struct ob_err err = {{0}};
	unsigned long long *ids = NULL;
	size_t n = 0;
	cJSON *root, *runs;

	if (ob_db_begin(db, &err) < 0 || ob_run_create_each_org(db, rq, &ids, &n, &err) < 0 ||
	    (n > 0 && ob_db_commit(db, &err) < 0)) {
		ob_db_rollback(db);
		free(ids);
		db_fail(p, "creating the runs", &err);
		return;
	}
	if (n == 0) {
		ob_db_rollback(db);
		free(ids);
		fail(p, 409, "no_organisation",
		     "org \"all\": the database holds no organisation (import one first); no run was made");
		return;
	}
	/* The runs exist from here and are queued whatever the reply says. */
	p->run_ids = ids;
	p->nrun_ids = n;
	root = cJSON_CreateObject();
	runs = cJSON_AddArrayToObject(root, "runs");
	for (size_t i = 0; i < n; i++) {
		char url[64];
		if (load_run(db, p, ids[i]) < 0) {
			cJSON_Delete(root);
			return; /* p has the error (503); the runs go on */
		}
		snprintf(url, sizeof(url), "/api/v1/runs/%llu", ids[i]);
		cJSON_AddStringToObject(p->result, "url", url);
		cJSON_AddItemToArray(runs, p->result);
		p->result = NULL;
	}
	p->result = root;
	p->code = 202;
}

static void create_run_work(struct ob_db *db, void *arg)
{
	struct pending *p = arg;
	struct ob_err err = {{0}};
	struct ob_run_request rq = {p->report, 0, "api", 0, p->as_of, p->params, p->dry_run};
	unsigned long long id;

	if (p->org && strcmp(p->org, "all") == 0) {
		create_runs_each_org(db, p, &rq);
		return;
	}
	if (p->org) {
		unsigned long oid;
		int f = ob_import_find_org(db, p->org, &oid, &err);
		if (f < 0) {
			db_fail(p, "looking up the organisation", &err);
			return;
		}
		if (f == 0) {
			char org[400];
			fail(p, 404, "not_found", "no organisation with KITOS uuid or CVR %s", qv(p->org, org, sizeof(org)));
			return;
		}
		rq.org_id = (long long)oid;
	}
	if (ob_run_create(db, &rq, &id, &err) < 0) {
		db_fail(p, "creating the run", &err);
		return;
	}
	if (load_run(db, p, id) == 0) {
		cJSON *wrap = cJSON_CreateObject();
		cJSON_AddItemToObject(wrap, "run", p->result);
		p->result = wrap;
		p->run_id = id;
		p->code = 202;
	}
}

/* Opens path, ".../runs/ID/NAME", without following a link put in place of
 * the run's folder ID or of the file NAME (the state directory above may be
 * a link an operator made). -1 with errno. */
static int open_no_links(const char *path, unsigned long long id, int *bad_dir)
{
	char *copy = ob_xstrdup(path), *slash = strrchr(copy, '/'), *idslash;
	int dfd = -1, fd = -1, e = ENOENT;
	char want[32];

	if (slash == NULL)
		goto out;
	*slash = '\0';
	idslash = strrchr(copy, '/');
	snprintf(want, sizeof(want), "%llu", id);
	if (idslash == NULL || strcmp(idslash + 1, want) != 0)
		goto out; /* not where a run keeps its files */
	*idslash = '\0';
	int runs = open(copy[0] ? copy : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (runs < 0) {
		e = errno;
		goto out;
	}
	dfd = openat(runs, want, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	e = errno;
	close(runs);
	if (dfd < 0) {
		*bad_dir = e == ELOOP || e == ENOTDIR;
		goto out;
	}
	fd = openat(dfd, slash + 1, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	e = errno;
	close(dfd);
out:
	free(copy);
	errno = e;
	return fd;
}

/* Opens the file a run recorded, on the database thread, without ever
 * blocking (O_NONBLOCK: a FIFO put in its place does not wait for a writer)
 * or following a link put in place of it or of its run's folder, and keeps
 * it only if it is still what the run wrote: a regular file with one link,
 * the size and the SHA-256 run_files lists (hashing a report's few MB costs
 * milliseconds, off the loop). Anything else is refused and logged. */
static void open_run_file(struct pending *p, const char *path, unsigned long long size, const char *sha256)
{
	struct stat st;
	char why[160] = "", name[400], hex[65];
	unsigned long long hashed;
	int bad_dir = 0, fd = open_no_links(path, p->id, &bad_dir);

	qv(p->file, name, sizeof(name));
	if (fd < 0 && bad_dir)
		snprintf(why, sizeof(why), "lies in a run folder that is a symbolic link or not a folder");
	else if (fd < 0 && (errno == ENOENT || errno == ENOTDIR)) {
		ob_log(OB_LOG_WARNING, "http: run %llu, file %s: %s is gone", p->id, name, path);
		fail(p, 410, "gone", "the file %s of run %llu is no longer on this server", name, p->id);
		return;
	} else if (fd < 0 && errno == ELOOP)
		snprintf(why, sizeof(why), "is a symbolic link");
	else if (fd < 0) {
		ob_log(OB_LOG_ERR, "http: run %llu, file %s: cannot open %s: %s", p->id, name, path, strerror(errno));
		fail(p, 500, "file_error", "the file %s of run %llu cannot be read on this server (the log says why)",
		     name, p->id);
		return;
	} else if (fstat(fd, &st) < 0)
		snprintf(why, sizeof(why), "cannot be examined (%s)", strerror(errno));
	else if (!S_ISREG(st.st_mode))
		snprintf(why, sizeof(why), "is %s, not a regular file",
			 S_ISFIFO(st.st_mode)  ? "a FIFO"
			 : S_ISDIR(st.st_mode) ? "a directory"
			 : S_ISSOCK(st.st_mode) ? "a socket"
			 : S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "a device"
								       : "something else");
	else if ((unsigned long long)st.st_size != size)
		snprintf(why, sizeof(why), "has %lld bytes, not the %llu the run recorded", (long long)st.st_size, size);
	else if (st.st_nlink != 1) /* the run wrote it by rename: one link */
		snprintf(why, sizeof(why), "has %lu hard links, not the one the run made", (unsigned long)st.st_nlink);
	else if (ob_sha256_fd(fd, hex, &hashed) < 0 || lseek(fd, 0, SEEK_SET) != 0)
		snprintf(why, sizeof(why), "cannot be read (%s)", strerror(errno));
	else if (sha256 == NULL || strcasecmp(hex, sha256) != 0)
		snprintf(why, sizeof(why), "has other bytes than the run wrote (SHA-256 %.12s..., not %.12s...)", hex,
			 sha256 ? sha256 : "");
	if (why[0]) {
		if (fd >= 0)
			close(fd);
		ob_log(OB_LOG_WARNING, "http: run %llu, file %s: refused: %s %s", p->id, name, path, why);
		fail(p, 409, "file_changed",
		     "the file %s of run %llu is not the one the run recorded: it %s (the log has the path)", name, p->id,
		     why);
		return;
	}
	p->fd = fd;
	p->fsize = size;
}

static void file_work(struct ob_db *db, void *arg)
{
	struct pending *p = arg;
	struct ob_db_rows *r = NULL;
	struct ob_err err = {{0}};
	struct ob_db_param q[2] = {ob_p_int((long long)p->id), ob_p_str(p->file)};
	char name[400];

	if (ob_db_query(db, "SELECT path, size, sha256 FROM run_files WHERE run_id = ? AND name = ?", q, 2, &r, &err) < 0) {
		db_fail(p, "looking up a run's file", &err);
		return;
	}
	if (r->nrows == 0)
		fail(p, 404, "not_found", "run %llu has no file %s", p->id, qv(p->file, name, sizeof(name)));
	else
		open_run_file(p, ob_db_cell(r, 0, 0), strtoull(ob_db_cell(r, 0, 1), NULL, 10), ob_db_cell(r, 0, 2));
	ob_db_rows_free(r);
}

/* The last run of every report, for GET /api/v1/reports. */
static void reports_work(struct ob_db *db, void *arg)
{
	struct pending *p = arg;
	struct ob_db_rows *r = NULL;
	struct ob_err err = {{0}};

	if (ob_db_query(db,
			"SELECT " RUN_COLUMNS " FROM runs r JOIN (SELECT report, MAX(id) AS id FROM runs GROUP BY report) "
			"x ON x.id = r.id LEFT JOIN organisations o ON o.id = r.org_id",
			NULL, 0, &r, &err) < 0) {
		db_fail(p, "reading the last runs", &err);
		return;
	}
	p->result = cJSON_CreateObject();
	for (size_t i = 0; i < r->nrows; i++)
		cJSON_AddItemToObject(p->result, ob_db_celln(r, i, "report"), run_json(db, r, i, 0));
	ob_db_rows_free(r);
}

/* GET /api/v1/reports: the plugins in force, each with its configuration,
 * next fires and last run (found on the database thread). */
static void reply_reports(struct pending *p)
{
	const struct ob_http_host *host = &p->h->host;
	const struct ob_plugin_set *plugins = host->plugins(host->ctx);
	const struct ob_config *cfg = host->config(host->ctx);
	cJSON *root = cJSON_CreateObject(), *list = cJSON_AddArrayToObject(root, "reports");

	for (size_t i = 0; i < plugins->n; i++) {
		const struct ob_loaded_plugin *pl = &plugins->v[i];
		const struct ob_config_report *rc = ob_config_report(cfg, pl->name);
		const struct ob_cron *cron = host->schedule(host->ctx, pl->name);
		cJSON *o = cJSON_CreateObject(), *fires = cJSON_CreateArray(), *last;
		cJSON_AddStringToObject(o, "name", pl->name);
		cJSON_AddStringToObject(o, "version", pl->version);
		cJSON_AddItemToObject(o, "schedule", str_or_null(rc ? rc->schedule : NULL));
		cJSON_AddBoolToObject(o, "enabled", rc ? rc->enabled : 1);
		cJSON_AddNumberToObject(o, "timeout", rc ? rc->timeout : 600);
		if (cron) {
			time_t t = time(NULL);
			for (int k = 0; k < 5 && ob_cron_next(cron, t, &t) == 0; k++) {
				char buf[64];
				ob_cron_format_time(t, buf, sizeof(buf));
				cJSON_AddItemToArray(fires, cJSON_CreateString(buf));
			}
		}
		cJSON_AddItemToObject(o, "next_fires", fires);
		last = cJSON_DetachItemFromObjectCaseSensitive(p->result, pl->name);
		cJSON_AddItemToObject(o, "last_run", last ? last : cJSON_CreateNull());
		cJSON_AddItemToArray(list, o);
	}
	cJSON_Delete(p->result);
	p->result = root;
	reply_result(p);
}

/* ---- tokens ---- */

static int sha256_token(const char *token, unsigned char out[32])
{
	unsigned int n = 0;
	return EVP_Digest(token, strlen(token), out, &n, EVP_sha256(), NULL) == 1 && n == 32 ? 0 : -1;
}

/* The role of the request's bearer token: 0 none or unknown. */
static enum ob_role authenticate(const struct ob_config *cfg, struct evhttp_request *req, const char **who)
{
	const char *h = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
	unsigned char digest[32];
	enum ob_role role = 0;

	*who = "-";
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0 || sha256_token(h + 7, digest) < 0)
		return 0;
	/* Every configured hash is compared, in constant time. */
	for (size_t i = 0; i < cfg->ntokens; i++)
		if (CRYPTO_memcmp(digest, cfg->tokens[i].sha256, 32) == 0 && role == 0) {
			role = cfg->tokens[i].role;
			*who = cfg->tokens[i].name;
		}
	return role;
}

static const char *method_name(enum evhttp_cmd_type m)
{
	switch (m) {
	case EVHTTP_REQ_GET: return "GET";
	case EVHTTP_REQ_POST: return "POST";
	case EVHTTP_REQ_HEAD: return "HEAD";
	case EVHTTP_REQ_PUT: return "PUT";
	case EVHTTP_REQ_DELETE: return "DELETE";
	case EVHTTP_REQ_PATCH: return "PATCH";
	case EVHTTP_REQ_OPTIONS: return "OPTIONS";
	default: return "other";
	}
}

/* GET /metrics: the server's figures, Prometheus text. */
static void reply_metrics(struct pending *p)
{
	struct ob_buf b;
	struct evbuffer *out = evbuffer_new();

	ob_buf_init(&b, 0);
	p->h->host.metrics(p->h->host.ctx, &b);
	evhttp_add_header(evhttp_request_get_output_headers(p->req), "Content-Type", "text/plain; version=0.0.4");
	evbuffer_add(out, b.data, b.len);
	evhttp_send_reply(p->req, 200, "OK", out);
	evbuffer_free(out);
	ob_buf_free(&b);
}

/* GET /healthz. The body is the same for every request until what it
 * shows changes, so it is built once per change, not per request. */
static void reply_healthz(struct pending *p)
{
	struct ob_http *h = p->h;
	struct ob_health hs = {0};
	const struct ob_health *k = &h->health_key;
	struct evbuffer *b;

	h->host.health(h->host.ctx, &hs);
	if (h->health_body == NULL || k->db_ok != hs.db_ok || k->db_checked != hs.db_checked ||
	    k->running != hs.running || k->queued != hs.queued || k->stopping != hs.stopping || k->status != hs.status ||
	    k->reason != hs.reason || k->db_error != hs.db_error) {
		cJSON *root = cJSON_CreateObject(), *db = cJSON_AddObjectToObject(root, "database");
		char when[64] = "", *text;
		cJSON_AddStringToObject(root, "status", hs.status);
		if (hs.reason)
			cJSON_AddStringToObject(root, "reason", hs.reason);
		cJSON_AddStringToObject(root, "loop", "ok");
		cJSON_AddBoolToObject(db, "ok", hs.db_ok);
		if (hs.db_checked)
			ob_cron_format_time(hs.db_checked, when, sizeof(when));
		cJSON_AddItemToObject(db, "checked_at", str_or_null(hs.db_checked ? when : NULL));
		cJSON_AddItemToObject(db, "error", str_or_null(hs.db_error));
		cJSON_AddNumberToObject(root, "runs_running", hs.running);
		cJSON_AddNumberToObject(root, "runs_queued", hs.queued);
		free(h->health_body);
		text = cJSON_PrintUnformatted(root);
		h->health_body = ob_xasprintf("%s\n", text);
		cJSON_free(text);
		cJSON_Delete(root);
		h->health_key = hs;
	}
	b = evbuffer_new();
	evhttp_add_header(evhttp_request_get_output_headers(p->req), "Content-Type", "application/json; charset=utf-8");
	evbuffer_add(b, h->health_body, strlen(h->health_body)); /* a copy: it may be rebuilt before this is written */
	evhttp_send_reply(p->req, strcmp(hs.status, "ok") == 0 ? 200 : 503, NULL, b);
	evbuffer_free(b);
}

/* Checks every key and string in the tree under it, whose JSON pointer
 * is ptr ("" for the root): a NUL (marked by OB_JSON_MARK_NUL) or bytes
 * that are not UTF-8 are refused here, naming where, before anything
 * reaches the database. 0 ok, -1 with why filled. */
static int check_strings(const cJSON *it, const char *ptr, char *why, size_t whysz)
{
	const cJSON *c;
	char q[400];

	if (cJSON_IsString(it)) {
		size_t bad;
		if (ob_json_has_nul(it->valuestring)) {
			snprintf(why, whysz, "%s: a NUL character (\\u0000) is not allowed in a value", ptr[0] ? ptr : "/");
			return -1;
		}
		if (ob_utf8_check(it->valuestring, strlen(it->valuestring), &bad) < 0) {
			snprintf(why, whysz, "%s: not valid UTF-8 (byte %zu of the value is \\x%02X)", ptr[0] ? ptr : "/",
				 bad + 1, (unsigned char)it->valuestring[bad]);
			return -1;
		}
		return 0;
	}
	if (!cJSON_IsObject(it) && !cJSON_IsArray(it))
		return 0;
	size_t k = 0;
	cJSON_ArrayForEach(c, it)
	{
		char sub[600];
		if (cJSON_IsObject(it)) {
			if (ob_json_has_nul(c->string)) {
				snprintf(why, whysz, "%s: a key has a NUL character (\\u0000)", ptr[0] ? ptr : "/");
				return -1;
			}
			if (ob_utf8_check(c->string, strlen(c->string), NULL) < 0) {
				snprintf(why, whysz, "%s: the key \"%s\" is not valid UTF-8", ptr[0] ? ptr : "/",
					 qv(c->string, q, sizeof(q)));
				return -1;
			}
			snprintf(sub, sizeof(sub), "%s/%s", ptr, qv(c->string, q, sizeof(q)));
		} else
			snprintf(sub, sizeof(sub), "%s/%zu", ptr, k);
		k++;
		if (check_strings(c, sub, why, whysz) < 0)
			return -1;
	}
	return 0;
}

/* Parses the POST body of a trigger into p; 0 ok, -1 with the reply sent.
 * Strictly (core/json.h): a key twice, data after the object, nesting too
 * deep or a number past a double is a 400 naming the key and place. */
static int parse_trigger(struct evhttp_request *req, struct pending *p)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	char *body, why[900], q[400];
	cJSON *root = NULL, *it, *params = cJSON_CreateObject();
	char today[11];
	int32_t d;

	if (len > MAX_BODY) {
		reply_error(req, 413, "too_large", "the body is %zu bytes; at most %d", len, MAX_BODY);
		goto fail;
	}
	body = ob_xmalloc(len + 1);
	evbuffer_copyout(in, body, len);
	body[len] = '\0';
	if (len > 0) {
		struct ob_json_error e = {0};
		root = ob_json_parse(body, len, OB_JSON_LAX_UTF8 | OB_JSON_MARK_NUL, 0, &e);
		if (root == NULL) {
			reply_error(req, 400, "bad_json", "the body is not JSON: line %ld, column %ld: %s", e.line, e.col,
				    e.what);
			free(body);
			goto fail;
		}
	}
	free(body);
	if (root && !cJSON_IsObject(root)) {
		reply_error(req, 400, "bad_request", "the body must be a JSON object {\"as_of\", \"params\", \"dry_run\", \"org\"}");
		goto fail;
	}
	if (root && check_strings(root, "", why, sizeof(why)) < 0) {
		reply_error(req, 400, "bad_request", "%s", why);
		goto fail;
	}
	ob_run_today(today);
	p->as_of = ob_xstrdup(today);
	cJSON_ArrayForEach(it, root)
	{
		if (strcmp(it->string, "as_of") == 0) {
			if (!cJSON_IsString(it) || ob_date_parse(it->valuestring, &d) != 1 || strlen(it->valuestring) != 10 ||
			    it->valuestring[4] != '-') {
				reply_error(req, 400, "bad_request", "as_of: expected a date YYYY-MM-DD");
				goto fail;
			}
			free(p->as_of);
			p->as_of = ob_xstrdup(it->valuestring);
		} else if (strcmp(it->string, "dry_run") == 0) {
			if (!cJSON_IsBool(it)) {
				reply_error(req, 400, "bad_request", "dry_run: expected true or false");
				goto fail;
			}
			p->dry_run = cJSON_IsTrue(it);
		} else if (strcmp(it->string, "org") == 0) {
			if (!cJSON_IsString(it) || !it->valuestring[0] || strlen(it->valuestring) > 255) {
				reply_error(req, 400, "bad_request", "org: expected a KITOS uuid, a CVR or \"all\"");
				goto fail;
			}
			p->org = ob_xstrdup(it->valuestring);
		} else if (strcmp(it->string, "params") == 0) {
			const cJSON *kv;
			if (!cJSON_IsObject(it)) {
				reply_error(req, 400, "bad_request", "params: expected an object of strings");
				goto fail;
			}
			cJSON_ArrayForEach(kv, it)
			{
				if (!cJSON_IsString(kv)) {
					reply_error(req, 400, "bad_request", "params/%s: expected a string",
						    qv(kv->string, q, sizeof(q)));
					goto fail;
				}
				cJSON_AddStringToObject(params, kv->string, kv->valuestring);
			}
		} else {
			reply_error(req, 400, "bad_request", "unknown key \"%s\" (known: as_of, params, dry_run, org)",
				    qv(it->string, q, sizeof(q)));
			goto fail;
		}
	}
	p->params = cJSON_PrintUnformatted(params);
	cJSON_Delete(params);
	cJSON_Delete(root);
	return 0;
fail:
	cJSON_Delete(params);
	cJSON_Delete(root);
	return -1;
}

/* ---- the outbox (database thread) ---- */

static void list_outbox_work(struct ob_db *db, void *arg)
{
	struct pending *p = arg;
	struct ob_err err = {{0}};
	if (ob_outbox_list(db, p->status_filter, (unsigned long long)p->offset, (int)p->limit, &p->result, &err) < 0)
		db_fail(p, "listing the outbox", &err);
}

static void get_outbox_work(struct ob_db *db, void *arg)
{
	struct pending *p = arg;
	struct ob_err err = {{0}};
	cJSON *m = NULL;
	if (ob_outbox_show(db, p->id, 0, &m, &err) < 0)
		db_fail(p, "reading an outbox message", &err);
	else if (m == NULL)
		fail(p, 404, "not_found", "no outbox message %llu", p->id);
	else {
		p->result = cJSON_CreateObject();
		cJSON_AddItemToObject(p->result, "message", m);
	}
}

static void retry_outbox_work(struct ob_db *db, void *arg)
{
	struct pending *p = arg;
	struct ob_err err = {{0}};
	int r = ob_outbox_retry(p->cfg, db, p->id, &err);
	if (r < 0)
		db_fail(p, "retrying an outbox message", &err);
	else if (r == 1)
		fail(p, 404, "not_found", "no outbox message %llu", p->id);
	else if (r == 2)
		fail(p, 409, "conflict", "%s", err.msg);
	else {
		cJSON *m = NULL;
		if (ob_outbox_show(db, p->id, 0, &m, &err) == 0 && m) {
			p->result = cJSON_CreateObject();
			cJSON_AddItemToObject(p->result, "message", m);
		} else
			p->result = cJSON_CreateObject();
		p->kick_mail = 1;
	}
}

/* A decimal number written with digits only, from min to max: 0 and *v,
 * or -1 (not digits, or out of range: never wrapped). */
static int parse_number(const char *s, unsigned long long min, unsigned long long max, unsigned long long *v)
{
	unsigned long long x = 0;

	if (*s == '\0')
		return -1;
	for (; *s; s++) {
		unsigned d = (unsigned)(*s - '0');
		if (d > 9 || x > (ULLONG_MAX - d) / 10)
			return -1;
		x = x * 10 + d;
	}
	if (x < min || x > max)
		return -1;
	*v = x;
	return 0;
}

static int all_digits(const char *s)
{
	return s[strspn(s, "0123456789")] == '\0' && *s;
}

/* The id of a noun ("run", "outbox message") in the path: 0 and *id, or
 * -1 answered: 404 when seg is not a number, 400 when its digits are out
 * of range. */
static int path_id(struct evhttp_request *req, const char *seg, const char *noun, unsigned long long *id)
{
	char q[400];

	if (parse_number(seg, 1, MAX_ID, id) == 0)
		return 0;
	if (!all_digits(seg))
		reply_error(req, 404, "not_found", "no %s %s", noun, qv(seg, q, sizeof(q)));
	else
		reply_error(req, 400, "bad_request", "%s id: %s is not a number from 1 to %llu", noun, qv(seg, q, sizeof(q)),
			    MAX_ID);
	return -1;
}

/* ---- query strings ---- */

#define MAX_QUERY 16

struct query {
	size_t n;
	char *key[MAX_QUERY], *val[MAX_QUERY];
};

static void query_free(struct query *q)
{
	for (size_t i = 0; i < q->n; i++) {
		free(q->key[i]);
		free(q->val[i]);
	}
	q->n = 0;
}

/* Splits and decodes a query string. Refused, with why: a NUL (%00), bytes
 * that are not UTF-8, a name given twice, more than MAX_QUERY pairs. */
static int query_parse(const char *raw, struct query *q, char *why, size_t whysz)
{
	char *copy, *save = NULL, qk[400];
	int rc = -1;

	q->n = 0;
	if (raw == NULL || raw[0] == '\0')
		return 0;
	copy = ob_xstrdup(raw);
	for (char *t = strtok_r(copy, "&", &save); t; t = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(t, '='), *k, *v;
		size_t kn = 0, vn = 0, bad;
		if (q->n == MAX_QUERY) {
			snprintf(why, whysz, "query: more than %d parameters", MAX_QUERY);
			goto out;
		}
		if (eq)
			*eq = '\0';
		k = evhttp_uridecode(t, 1, &kn);
		v = evhttp_uridecode(eq ? eq + 1 : "", 1, &vn);
		if (k == NULL || v == NULL) {
			free(k);
			free(v);
			snprintf(why, whysz, "query: cannot be decoded");
			goto out;
		}
		q->key[q->n] = k;
		q->val[q->n] = v;
		q->n++;
		if (strlen(k) != kn || ob_utf8_check(k, kn, NULL) < 0) {
			snprintf(why, whysz, "query: the name \"%s\" %s", qv(k, qk, sizeof(qk)),
				 strlen(k) != kn ? "has a NUL byte (%00)" : "is not valid UTF-8");
			goto out;
		}
		if (strlen(v) != vn) {
			snprintf(why, whysz, "%s: a NUL byte (%%00) is not allowed in a value", qv(k, qk, sizeof(qk)));
			goto out;
		}
		if (ob_utf8_check(v, vn, &bad) < 0) {
			snprintf(why, whysz, "%s: not valid UTF-8 (byte %zu of the value is \\x%02X)", qv(k, qk, sizeof(qk)),
				 bad + 1, (unsigned char)v[bad]);
			goto out;
		}
		for (size_t j = 0; j + 1 < q->n; j++)
			if (strcmp(q->key[j], k) == 0) {
				snprintf(why, whysz, "%s: given twice", qv(k, qk, sizeof(qk)));
				goto out;
			}
	}
	rc = 0;
out:
	free(copy);
	if (rc < 0)
		query_free(q);
	return rc;
}

static const char *query_get(const struct query *q, const char *key)
{
	for (size_t i = 0; i < q->n; i++)
		if (strcmp(q->key[i], key) == 0)
			return q->val[i];
	return NULL;
}

/* ---- a request, as the routes see it ---- */

struct request {
	struct evhttp_request *req;
	char *path;             /* decoded, control characters made '?' */
	const char *method;     /* for logs */
	const char *who;        /* the token's name, for logs; "-" */
	enum ob_role role;      /* the token's; 0 none */
	struct query qs;
	char *copy;             /* the path split into segments: the parameters point here */
	const char *arg[2];     /* the pattern's text parameters, in order */
	size_t narg;
	size_t rest;            /* segments the "{...}" parameter took */
	const char *id_text;    /* the id parameter's segment, or NULL */
	const char *id_noun;    /* and its noun: "run", "outbox message" */
};

/* ---- what a route does before its database work (the loop) ---- */

/* POST /api/v1/reports/{report}/runs: a plugin in force, enabled, with good
 * settings, while the server takes runs; then the body. */
static int prepare_trigger(struct pending *p, const struct request *rq)
{
	const struct ob_http_host *host = &p->h->host;
	const char *name = rq->arg[0];
	const struct ob_loaded_plugin *pl = ob_plugins_find(host->plugins(host->ctx), name);
	const struct ob_config_report *rc = ob_config_report(p->cfg, name);
	char q[400];

	if (pl == NULL) {
		reply_error(p->req, 404, "not_found", "no report %s (no such plugin loaded)", qv(name, q, sizeof(q)));
		return -1;
	}
	if (rc && !rc->enabled) {
		reply_error(p->req, 409, "disabled", "report %s is disabled in the configuration", name);
		return -1;
	}
	if (pl->settings_error) {
		reply_error(p->req, 409, "bad_settings", "report %s cannot run: %s", name, pl->settings_error);
		return -1;
	}
	if (host->stopping(host->ctx)) {
		reply_error(p->req, 503, "stopping", "overblikd is stopping and takes no new runs");
		return -1;
	}
	p->report = ob_xstrdup(name);
	if (parse_trigger(p->req, p) < 0)
		return -1;
	ob_info("http: run of %s requested by token %s (as of %s%s%s)", p->report, rq->who, p->as_of,
		p->dry_run ? ", dry run" : "", p->org && strcmp(p->org, "all") == 0 ? ", one per organisation" : "");
	return 0;
}

/* A number from the query string, key=N with N from min to max; 0 when
 * absent (*v unchanged), -1 answered. */
static int query_number(struct pending *p, const struct request *rq, const char *key, unsigned long long min,
			unsigned long long max, const char *expected, unsigned long long *v)
{
	const char *s = query_get(&rq->qs, key);
	char q[400];

	if (s && parse_number(s, min, max, v) < 0) {
		reply_error(p->req, 400, "bad_request", "%s=%s: expected %s from %llu to %llu", key, qv(s, q, sizeof(q)),
			    expected, min, max);
		return -1;
	}
	return 0;
}

/* status=S from the query string, one of names[n] (the list in expected);
 * 0 (kept in p), -1 answered. */
static int query_status(struct pending *p, const struct request *rq, const char *const *names, int n,
			const char *expected)
{
	const char *v = query_get(&rq->qs, "status");
	char q[400];
	int known = 0;

	if (v == NULL)
		return 0;
	for (int s = 0; s < n; s++)
		known |= strcmp(v, names[s]) == 0;
	if (!known) {
		reply_error(p->req, 400, "bad_request", "status=%s: expected %s", qv(v, q, sizeof(q)), expected);
		return -1;
	}
	p->status_filter = ob_xstrdup(v);
	return 0;
}

/* What a list's query string takes: status=, limit= and a place to start. */
struct list_query {
	const char *const *statuses;
	int nstatus;
	const char *expected;          /* the statuses, for a 400 */
	unsigned long long limit, max; /* the default and the most */
	const char *from;              /* "offset" (0 up) or "before" (a message id) */
};

static int prepare_list(struct pending *p, const struct request *rq, const struct list_query *lq)
{
	int offset = strcmp(lq->from, "offset") == 0;
	unsigned long long limit = lq->limit, from = 0;

	if (query_status(p, rq, lq->statuses, lq->nstatus, lq->expected) < 0 ||
	    query_number(p, rq, "limit", 1, lq->max, "a number", &limit) < 0 ||
	    query_number(p, rq, lq->from, offset ? 0 : 1, offset ? LONG_MAX : MAX_ID, offset ? "a number" : "a message id",
			 &from) < 0)
		return -1;
	p->limit = (long)limit;
	p->offset = (long)from;
	return 0;
}

/* GET /api/v1/runs?report=&status=&limit=&offset= */
static int prepare_runs(struct pending *p, const struct request *rq)
{
	static const struct list_query lq = {ob_run_status_names, OB_RS_N,
					     "queued, running, succeeded, failed, timeout or crashed", 20, 100, "offset"};
	const char *v = query_get(&rq->qs, "report");

	if (v)
		p->report = ob_xstrdup(v);
	return prepare_list(p, rq, &lq);
}

/* GET /api/v1/outbox?status=&limit=&before= (newest first) */
static int prepare_outbox(struct pending *p, const struct request *rq)
{
	static const struct list_query lq = {ob_outbox_status_names, OB_OUTBOX_NSTATUS,
					     "queued, sending, sent, dead or dry_run", 50, 1000, "before"};
	return prepare_list(p, rq, &lq);
}

/* GET /api/v1/runs/{run}/files/{file...}: only a plain file name of that
 * run, nothing with a path in it. */
static int prepare_file(struct pending *p, const struct request *rq)
{
	const char *name = rq->arg[0];

	if (rq->rest != 1 || name[0] == '.' || strchr(name, '\\')) {
		reply_error(p->req, 400, "bad_request", "a file is named /api/v1/runs/ID/files/NAME, NAME without a path");
		return -1;
	}
	p->file = ob_xstrdup(name);
	return 0;
}

/* POST /api/v1/outbox/{message}/retry */
static int prepare_retry(struct pending *p, const struct request *rq)
{
	ob_info("http: retry of outbox message %llu requested by token %s", p->id, rq->who);
	return 0;
}

/* ---- the routes ---- */

#define M_GET 1u  /* and HEAD */
#define M_POST 2u

/* A row per endpoint. A pattern's {run} and {message} are ids (a 404 when
 * not a number), {report} one segment, {file...} the rest of the path. */
static const struct route {
	unsigned methods;
	const char *pattern;
	enum ob_role role;     /* the least; 0: public (no token, no query string, the path exactly) */
	const char *needs;     /* what a viewer is told needs an operator */
	int (*prepare)(struct pending *p, const struct request *rq); /* the request's inputs; -1 answered */
	ob_dbq_work_fn work;   /* on the database thread; NULL: none */
	void (*reply)(struct pending *p); /* NULL: p->result as JSON */
} routes[] = {
	{M_GET, "/healthz", 0, NULL, NULL, NULL, reply_healthz},
	{M_GET, "/metrics", 0, NULL, NULL, NULL, reply_metrics},
	{M_GET, "/api/v1/reports", OB_ROLE_VIEWER, NULL, NULL, reports_work, reply_reports},
	{M_POST, "/api/v1/reports/{report}/runs", OB_ROLE_OPERATOR, "triggering a run", prepare_trigger, create_run_work,
	 NULL},
	{M_GET, "/api/v1/runs", OB_ROLE_VIEWER, NULL, prepare_runs, list_runs_work, NULL},
	{M_GET, "/api/v1/runs/{run}", OB_ROLE_VIEWER, NULL, NULL, get_run_work, NULL},
	{M_GET, "/api/v1/runs/{run}/files/{file...}", OB_ROLE_VIEWER, NULL, prepare_file, file_work, reply_file},
	{M_GET, "/api/v1/outbox", OB_ROLE_VIEWER, NULL, prepare_outbox, list_outbox_work, NULL},
	{M_GET, "/api/v1/outbox/{message}", OB_ROLE_VIEWER, NULL, NULL, get_outbox_work, NULL},
	{M_POST, "/api/v1/outbox/{message}/retry", OB_ROLE_OPERATOR, "a retry", prepare_retry, retry_outbox_work, NULL},
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

static void route_reply(struct pending *p)
{
	if (p->route->reply)
		p->route->reply(p);
	else
		reply_result(p);
}

/* The noun of an id parameter, NULL for a text one. */
static const char *id_noun(const char *param)
{
	return strcmp(param, "{run}") == 0 ? "run" : strcmp(param, "{message}") == 0 ? "outbox message" : NULL;
}

/* Whether seg[0..nseg) fits pattern (segment by segment); rq gets the
 * parameters' texts, ids in rq->id_text. */
static int route_fits(const char *pattern, char *const *seg, size_t nseg, struct request *rq)
{
	char pat[128], *save = NULL;
	size_t i = 0;

	snprintf(pat, sizeof(pat), "%s", pattern);
	rq->narg = 0;
	rq->rest = 0;
	rq->id_text = NULL;
	for (char *t = strtok_r(pat, "/", &save); t; t = strtok_r(NULL, "/", &save), i++) {
		size_t n = strlen(t);
		if (i == nseg)
			return 0;
		if (t[0] != '{') {
			if (strcmp(t, seg[i]) != 0)
				return 0;
		} else if (n > 4 && strcmp(t + n - 4, "...}") == 0) {
			rq->arg[rq->narg++] = seg[i];
			rq->rest = nseg - i;
			return 1;
		} else if ((rq->id_noun = id_noun(t)) != NULL)
			rq->id_text = seg[i];
		else if (rq->narg < sizeof(rq->arg) / sizeof(rq->arg[0]))
			rq->arg[rq->narg++] = seg[i];
	}
	return i == nseg;
}

static unsigned method_bit(enum evhttp_cmd_type m)
{
	return m == EVHTTP_REQ_GET || m == EVHTTP_REQ_HEAD ? M_GET : m == EVHTTP_REQ_POST ? M_POST : 0;
}

/* The route for the request: a public one by the path as written (seg
 * NULL), else an API one by segments. NULL when none; *allowed gets the
 * methods of the routes the path fits (0: no such endpoint). */
static const struct route *route_find(struct request *rq, char *const *seg, size_t nseg, unsigned *allowed)
{
	unsigned m = method_bit(evhttp_request_get_command(rq->req));

	*allowed = 0;
	for (size_t i = 0; i < NROUTES; i++) {
		const struct route *r = &routes[i];
		int fits = seg ? r->role != 0 && route_fits(r->pattern, seg, nseg, rq)
			       : r->role == 0 && strcmp(r->pattern, rq->path) == 0;
		if (!fits)
			continue;
		*allowed |= r->methods;
		if (r->methods & m)
			return r;
	}
	return NULL;
}

/* The request's path, decoded, control characters made '?' (it reaches
 * logs); NULL answered (400) when it cannot be. */
static char *decode_path(struct evhttp_request *req)
{
	const char *raw = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	size_t plen = 0, badat;
	char *path = raw ? evhttp_uridecode(raw, 0, &plen) : NULL;

	if (path == NULL) {
		reply_error(req, 400, "bad_request", "the path is not valid");
		return NULL;
	}
	if (strlen(path) != plen) {
		reply_error(req, 400, "bad_request", "the path has a NUL byte (%%00)");
		free(path);
		return NULL;
	}
	if (ob_utf8_check(path, plen, &badat) < 0) {
		reply_error(req, 400, "bad_request", "the path is not valid UTF-8 (byte %zu after decoding is \\x%02X)",
			    badat + 1, (unsigned char)path[badat]);
		free(path);
		return NULL;
	}
	for (char *c = path; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	return path;
}

/* An API request: under /api/v1/, with a token, a query string that
 * parses, a route. NULL answered (404, 401, 400). */
static const struct route *api_route(struct ob_http *h, struct request *rq, unsigned *allowed)
{
	char *copy = ob_xstrdup(rq->path), *save = NULL, **seg, q[400], why[900];
	size_t nseg = 0;
	const struct route *r = NULL;

	*allowed = 0;
	seg = ob_xcalloc(strlen(copy) / 2 + 2, sizeof(*seg));
	for (char *t = strtok_r(copy, "/", &save); t; t = strtok_r(NULL, "/", &save))
		seg[nseg++] = t;
	if (nseg < 3 || strcmp(seg[0], "api") != 0 || strcmp(seg[1], "v1") != 0)
		goto not_found;
	rq->role = authenticate(h->host.config(h->host.ctx), rq->req, &rq->who);
	if (rq->role == 0) {
		evhttp_add_header(evhttp_request_get_output_headers(rq->req), "WWW-Authenticate", "Bearer realm=\"overblik\"");
		reply_error(rq->req, 401, "unauthorized", "a valid bearer token is needed (Authorization: Bearer TOKEN)");
		ob_log(OB_LOG_NOTICE, "http: %s %s refused: no valid token", rq->method, rq->path);
		goto out;
	}
	if (query_parse(evhttp_uri_get_query(evhttp_request_get_evhttp_uri(rq->req)), &rq->qs, why, sizeof(why)) < 0) {
		reply_error(rq->req, 400, "bad_request", "%s", why);
		goto out;
	}
	r = route_find(rq, seg, nseg, allowed);
	if (r || *allowed)
		goto out;
not_found:
	reply_error(rq->req, 404, "not_found", "no such endpoint: %s", qv(rq->path, q, sizeof(q)));
out:
	/* The parameters point into copy: it lives with rq. */
	rq->copy = copy;
	free(seg);
	return r;
}

/* A route found: the method, the role, the id in the path, the route's
 * inputs; then its work on the database thread, or its reply now. */
static void route_serve(struct ob_http *h, const struct route *r, struct request *rq, unsigned allowed)
{
	struct pending *p;

	if (r == NULL) {
		const char *allow = allowed == (M_GET | M_POST) ? "GET, POST" : allowed == M_POST ? "POST" : "GET";
		evhttp_add_header(evhttp_request_get_output_headers(rq->req), "Allow", allow);
		reply_error(rq->req, 405, "method_not_allowed", "%s takes %s", rq->path, allow);
		return;
	}
	if (rq->role < r->role) {
		reply_error(rq->req, 403, "forbidden", "token %s is a viewer; %s needs an operator", rq->who, r->needs);
		ob_log(OB_LOG_NOTICE, "http: %s %s refused: token %s is a viewer", rq->method, rq->path, rq->who);
		return;
	}
	p = pending_new(h, r, rq->req);
	if ((rq->id_text && path_id(rq->req, rq->id_text, rq->id_noun, &p->id) < 0) || (r->prepare && r->prepare(p, rq) < 0)) {
		pending_drop(p);
		return;
	}
	if (r->work)
		ob_dbq_submit(h->host.dbq, r->work, pending_done, p);
	else
		pending_done(p);
}

static void handle(struct evhttp_request *req, void *arg)
{
	struct ob_http *h = arg;
	struct request rq = {.req = req, .who = "-", .method = method_name(evhttp_request_get_command(req))};
	const struct route *r;
	unsigned allowed;

	if ((rq.path = decode_path(req)) == NULL)
		return;
	ob_debug("http: %s %s", rq.method, rq.path);
	r = route_find(&rq, NULL, 0, &allowed);
	if (r || allowed)
		route_serve(h, r, &rq, allowed);
	else if ((r = api_route(h, &rq, &allowed)) != NULL || allowed)
		route_serve(h, r, &rq, allowed);
	query_free(&rq.qs);
	free(rq.copy);
	free(rq.path);
}

/* ---- libevent's own error pages, in JSON ----
 *
 * libevent answers some requests itself before a callback of ours sees
 * them: a body over 1 MiB (413), headers over the limit or a request it
 * cannot parse (400), an Expect it does not know (417), a method it was not
 * told to allow (501). Its page is HTML, and 2.1 (Debian 12 has 2.1.12) has
 * no hook for it: evhttp_set_errorcb came with 2.2. So each connection's
 * output buffer gets a callback that sees the page as libevent adds it, in
 * the same call, before a byte of it is written, and puts the same status
 * with the JSON error body of every other reply in its place. Our own
 * replies are never text/html, so nothing else is touched. */

static int rewriting; /* the loop's thread only */

static const char *json_error_code(int status)
{
	switch (status) {
	case 400: return "bad_request";
	case 413: return "too_large";
	case 417: return "expectation_failed";
	case 501: return "not_implemented";
	default: return "http_error";
	}
}

static const char *json_error_message(int status)
{
	switch (status) {
	case 400: return "the request is not valid HTTP, or its headers are over 16 KiB";
	case 413: return "the request is too large: at most 16 KiB of headers and a 1 MiB body";
	case 417: return "the Expect header is not supported (only 100-continue)";
	case 501: return "the method is not supported (GET, HEAD, POST)";
	default: return "the request was refused";
	}
}

static void json_error_pages(struct evbuffer *out, const struct evbuffer_cb_info *info, void *arg)
{
	static const char page[] = "\r\n\r\n<HTML><HEAD>\n<TITLE>", tail[] = "</BODY></HTML>\n";
	char buf[2048], *body, *start, *hdrs, reason[64] = "";
	size_t len = evbuffer_get_length(out);
	int status = 0, frozen = 0;
	cJSON *root, *e;
	char *text;

	(void)arg;
	/* A page is a few hundred bytes, added last, in one piece. */
	if (rewriting || info->n_added == 0 || info->n_added > 512 || len >= sizeof(buf))
		return;
	if (evbuffer_copyout(out, buf, len) != (ev_ssize_t)len)
		return;
	buf[len] = '\0';
	if (len < sizeof(tail) || strcmp(buf + len - (sizeof(tail) - 1), tail) != 0 || strlen(buf) != len)
		return;
	if ((body = strstr(buf, page)) == NULL)
		return;
	*body = '\0'; /* the headers end here */
	/* The status line: the last one before the page (a 100 Continue may
	 * still be waiting in front of it). */
	for (start = strstr(buf, "HTTP/1."); start;) {
		char *next = strstr(start + 1, "HTTP/1.");
		if (next == NULL)
			break;
		start = next;
	}
	if (start == NULL || sscanf(start, "HTTP/1.%*c %3d %63[^\r]", &status, reason) < 1 || status < 400)
		return;
	hdrs = strstr(start, "\r\n");
	if (hdrs == NULL || strstr(hdrs, "\r\nContent-Type: text/html") == NULL)
		return;

	root = cJSON_CreateObject();
	e = cJSON_AddObjectToObject(root, "error");
	cJSON_AddStringToObject(e, "code", json_error_code(status));
	cJSON_AddStringToObject(e, "message", json_error_message(status));
	text = cJSON_PrintUnformatted(root);
	rewriting = 1;
	if (evbuffer_drain(out, len) < 0) { /* a socket's output is frozen at the front */
		evbuffer_unfreeze(out, 1);
		frozen = 1;
		evbuffer_drain(out, len);
	}
	evbuffer_add(out, buf, (size_t)(start - buf));
	evbuffer_add_printf(out,
			    "HTTP/1.1 %d %s\r\nContent-Type: application/json; charset=utf-8\r\nCache-Control: no-store\r\n"
			    "Connection: close\r\nContent-Length: %zu\r\n\r\n%s\n",
			    status, reason[0] ? reason : "Error", strlen(text) + 1, text);
	if (frozen)
		evbuffer_freeze(out, 1);
	rewriting = 0;
	cJSON_free(text);
	cJSON_Delete(root);
}

/* Every connection's bufferevent: libevent's own, with json_error_pages
 * watching what is written to it. */
static struct bufferevent *new_bufferevent(struct event_base *base, void *arg)
{
	struct bufferevent *bev = bufferevent_socket_new(base, -1, 0);

	(void)arg;
	if (bev)
		evbuffer_add_cb(bufferevent_get_output(bev), json_error_pages, NULL);
	return bev;
}

int ob_http_start(const struct ob_http_host *host, struct ob_http **out, struct ob_err *err)
{
	const struct ob_config *cfg = host->config(host->ctx);
	const char *listen = cfg->http_listen;
	struct ob_http *h;
	char *name, *colon;
	long port;

	*out = NULL;
	if (listen == NULL || listen[0] == '\0' || strcmp(listen, "off") == 0) {
		ob_log(OB_LOG_NOTICE, "http: the admin endpoint is off (/http/listen)");
		return 0;
	}
	name = ob_xstrdup(listen);
	colon = strrchr(name, ':');
	*colon = '\0';
	port = strtol(colon + 1, NULL, 10);
	if (name[0] == '[') { /* [::1]:8470 */
		memmove(name, name + 1, strlen(name));
		name[strlen(name) - 1] = '\0';
	}
	h = ob_xcalloc(1, sizeof(*h));
	h->host = *host;
	h->http = evhttp_new(host->base);
	/* Bodies up to 1 MiB are read and answered 413 past 64 KiB; libevent
	 * refuses anything larger itself, in JSON too (json_error_pages). */
	evhttp_set_max_body_size(h->http, 1024 * 1024);
	evhttp_set_max_headers_size(h->http, 16 * 1024);
	evhttp_set_timeout(h->http, 30);
	evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT |
						    EVHTTP_REQ_DELETE | EVHTTP_REQ_PATCH | EVHTTP_REQ_OPTIONS);
	evhttp_set_gencb(h->http, handle, h);
	evhttp_set_bevcb(h->http, new_bufferevent, NULL);
	h->sock = evhttp_bind_socket_with_handle(h->http, name, (ev_uint16_t)port);
	if (h->sock == NULL) {
		ob_err_set(err, "http: cannot listen on %s: %s (is another overblikd there? see /http/listen)", listen,
			   strerror(errno));
		ob_http_free(h);
		free(name);
		return -1;
	}
	ob_log(OB_LOG_NOTICE, "http: admin endpoint on http://%s/ (%zu token%s)", listen, cfg->ntokens,
	       cfg->ntokens == 1 ? "" : "s");
	if (cfg->ntokens == 0)
		ob_log(OB_LOG_WARNING, "http: no tokens in /http/tokens: every API request will be refused "
				       "(only /healthz and /metrics answer)");
	free(name);
	*out = h;
	return 0;
}

void ob_http_stop(struct ob_http *h)
{
	if (h && h->sock) {
		evhttp_del_accept_socket(h->http, h->sock);
		h->sock = NULL;
	}
}

void ob_http_free(struct ob_http *h)
{
	if (h == NULL)
		return;
	if (h->http)
		evhttp_free(h->http);
	free(h->health_body);
	free(h);
}
