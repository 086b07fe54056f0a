/* run.c - report runs: the row, and the worker that executes one. The
 * worker hands the plugin the core's services through struct ob_api; the
 * document the plugin builds is kept as a JSON model (document.json, the
 * input of the renderer), its notices go into run_notices, and all of it is
 * recorded with the run's status in one transaction. */
#include "config.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "db.h"
#include "log.h"
#include "outbox.h"
#include "overblik/plugin.h"
#include "plugin.h"
#include "render_pdf.h"
#include "run.h"

const char *ob_signal_name(int sig)
{
	switch (sig) {
	case SIGSEGV: return "SIGSEGV";
	case SIGABRT: return "SIGABRT";
	case SIGBUS: return "SIGBUS";
	case SIGFPE: return "SIGFPE";
	case SIGILL: return "SIGILL";
	case SIGKILL: return "SIGKILL";
	case SIGTERM: return "SIGTERM";
	case SIGINT: return "SIGINT";
	case SIGPIPE: return "SIGPIPE";
	case SIGTRAP: return "SIGTRAP";
	default: return "a signal";
	}
}

void ob_run_today(char out[11])
{
	ob_date_format(ob_date_today(), out);
}

int ob_run_create(struct ob_db *db, const struct ob_run_request *rq, unsigned long long *id,
		  struct ob_err *err)
{
	struct ob_db_param p[7];
	struct ob_db_rows *r = NULL;
	long long org = rq->org_id;

	if (org == 0) {
		if (ob_db_query(db, "SELECT id FROM organisations ORDER BY id LIMIT 2", NULL, 0, &r, err) < 0)
			return -1;
		if (r->nrows == 1)
			org = atoll(ob_db_cell(r, 0, 0));
		ob_db_rows_free(r);
	}
	p[0] = ob_p_str(rq->report);
	p[1] = org ? ob_p_int(org) : ob_p_null();
	p[2] = ob_p_str(rq->trigger);
	p[3] = rq->scheduled_for ? ob_p_int((long long)rq->scheduled_for) : ob_p_null();
	p[4] = ob_p_str(rq->as_of);
	p[5] = ob_p_str(rq->params_json ? rq->params_json : "{}");
	p[6] = ob_p_int(rq->dry_run ? 1 : 0);
	if (ob_db_exec(db,
		       "INSERT INTO runs (report, org_id, trigger_kind, scheduled_for, as_of, params, dry_run, status) "
		       "VALUES (?, ?, ?, FROM_UNIXTIME(?), ?, ?, ?, 'queued')",
		       p, 7, NULL, err) < 0)
		return -1;
	*id = ob_db_insert_id(db);
	return 0;
}

int ob_run_record_end(struct ob_db *db, unsigned long long id, const char *status, const char *error,
		      struct ob_err *err)
{
	struct ob_db_param p[3] = {ob_p_str(status), ob_p_str(error), ob_p_int((long long)id)};
	return ob_db_exec(db,
			  "UPDATE runs SET status = ?, error = COALESCE(?, error), finished_at = NOW(3), "
			  "started_at = COALESCE(started_at, NOW(3)) "
			  "WHERE id = ? AND status IN ('queued', 'running')",
			  p, 3, NULL, err);
}

/* ---- the context a plugin gets ---- */

struct ob_rows {
	struct ob_db_rows *r;
	struct ob_rows *next; /* freed with the run */
};

struct ob_doc {
	cJSON *root;     /* {"title", "subtitle", "elements": [...]} */
	cJSON *elements;
};

struct ob_table {
	cJSON *rows;
	size_t ncols;
	cJSON *last;     /* the last row */
	struct ob_table *next;
};

struct run_ctx {
	struct ob_ctx pub;           /* first: the plugin sees only this */
	const struct ob_config *cfg;
	const struct ob_config_report *rcfg;
	struct ob_db *db;
	unsigned long long id;
	char *report, *as_of, *org_id, *org_name;
	cJSON *params;
	struct ob_doc doc;
	int have_doc;
	struct ob_rows *rows;
	struct ob_table *tables;
	cJSON *notices;
	char error[1024];            /* the last error the plugin logged */
	int dry_run;
	struct ob_outbox_composed mail; /* what the notices became */
};

static void ctx_free(struct run_ctx *rc);

static struct run_ctx *RC(struct ob_ctx *c)
{
	return (struct run_ctx *)c;
}

static const char *api_as_of(struct ob_ctx *c)
{
	return RC(c)->as_of;
}

static const char *api_setting(struct ob_ctx *c, const char *key)
{
	return key ? ob_config_setting(RC(c)->rcfg, key) : NULL;
}

static const char *api_param(struct ob_ctx *c, const char *key)
{
	const cJSON *v = key ? cJSON_GetObjectItemCaseSensitive(RC(c)->params, key) : NULL;
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const char *api_org_id(struct ob_ctx *c)
{
	return RC(c)->org_id;
}

static const char *api_org_name(struct ob_ctx *c)
{
	return RC(c)->org_name;
}

static void api_log(struct ob_ctx *c, int level, const char *fmt, ...)
{
	struct run_ctx *rc = RC(c);
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt ? fmt : "", ap);
	va_end(ap);
	if (level < OB_LOG_ERR || level > OB_LOG_DEBUG)
		level = OB_LOG_INFO;
	if (level <= OB_LOG_ERR)
		snprintf(rc->error, sizeof(rc->error), "%s", msg);
	ob_log(level, "plugin %s: run %llu: %s", rc->report, rc->id, msg);
}

/* Whether sql only reads: a plugin's queries run in a read-only
 * transaction (the server refuses any change), and are single prepared
 * statements that start with SELECT or WITH, so none can end that
 * transaction, call a procedure or set a variable first. What a SELECT can
 * still reach outside the tables, the database server's files, is
 * refused by name. On refusal, why names the reason. */
static int read_only_sql(const char *sql, const char **why)
{
	const char *p = sql;
	size_t n;

	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '(')
		p++;
	n = strncasecmp(p, "SELECT", 6) == 0 ? 6 : strncasecmp(p, "WITH", 4) == 0 ? 4 : 0;
	if (n == 0 || isalnum((unsigned char)p[n]) || p[n] == '_') {
		*why = "a plugin's query must start with SELECT or WITH (plugins only read)";
		return 0;
	}
	for (p = sql; *p; p++) {
		static const char *const files[] = {"OUTFILE", "DUMPFILE", "LOAD_FILE"};
		if (p > sql && (isalnum((unsigned char)p[-1]) || p[-1] == '_'))
			continue;
		for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
			size_t l = strlen(files[i]);
			if (strncasecmp(p, files[i], l) == 0 && !isalnum((unsigned char)p[l]) && p[l] != '_') {
				*why = "a plugin's query may not read or write the database server's files";
				return 0;
			}
		}
	}
	return 1;
}

static int api_query(struct ob_ctx *c, const char *sql, const char *const *params, size_t n,
		     struct ob_rows **out)
{
	const char *why;
	struct run_ctx *rc = RC(c);
	struct ob_db_param *p = ob_xcalloc(n ? n : 1, sizeof(*p));
	struct ob_err err = {{0}};
	struct ob_rows *rows;
	struct ob_db_rows *r;
	int ret;

	if (sql == NULL || out == NULL || rc->db == NULL) {
		free(p);
		return -1;
	}
	if (!read_only_sql(sql, &why)) {
		free(p);
		api_log(c, OB_PLOG_ERR, "query refused: %s: %.80s", why, sql);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		p[i] = ob_p_str(params ? params[i] : NULL);
	/* params may be NULL with n == 0: still a prepared statement */
	ret = ob_db_query(rc->db, sql, p, n, &r, &err);
	free(p);
	if (ret < 0) {
		api_log(c, OB_PLOG_ERR, "query failed: %s", err.msg);
		return -1;
	}
	rows = ob_xcalloc(1, sizeof(*rows));
	rows->r = r;
	rows->next = rc->rows;
	rc->rows = rows;
	*out = rows;
	return 0;
}

static size_t api_nrows(const struct ob_rows *r)
{
	return r ? r->r->nrows : 0;
}

static const char *api_cell(const struct ob_rows *r, size_t row, const char *col)
{
	return r && col ? ob_db_celln(r->r, row, col) : NULL;
}

static struct ob_doc *api_doc(struct ob_ctx *c)
{
	struct run_ctx *rc = RC(c);
	if (!rc->have_doc) {
		rc->doc.root = cJSON_CreateObject();
		rc->doc.elements = cJSON_AddArrayToObject(rc->doc.root, "elements");
		rc->have_doc = 1;
	}
	return &rc->doc;
}

static cJSON *element(struct ob_doc *d, const char *type)
{
	cJSON *e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "type", type);
	cJSON_AddItemToArray(d->elements, e);
	return e;
}

static int api_title(struct ob_doc *d, const char *title, const char *subtitle)
{
	if (d == NULL || title == NULL)
		return -1;
	cJSON_DeleteItemFromObject(d->root, "title");
	cJSON_DeleteItemFromObject(d->root, "subtitle");
	cJSON_AddStringToObject(d->root, "title", title);
	if (subtitle)
		cJSON_AddStringToObject(d->root, "subtitle", subtitle);
	return 0;
}

static int api_section(struct ob_doc *d, int level, const char *title, unsigned flags)
{
	if (d == NULL || title == NULL || level < 1 || level > 2)
		return -1;
	cJSON *e = element(d, "section");
	cJSON_AddNumberToObject(e, "level", level);
	cJSON_AddStringToObject(e, "title", title);
	if (flags & OB_SECTION_LANDSCAPE)
		cJSON_AddTrueToObject(e, "landscape");
	return 0;
}

static int add_runs(struct ob_doc *d, const char *type, const struct ob_text_run *runs, size_t n)
{
	cJSON *e = element(d, type), *a = cJSON_AddArrayToObject(e, "runs");
	for (size_t i = 0; i < n; i++) {
		cJSON *r = cJSON_CreateObject();
		cJSON_AddStringToObject(r, "text", runs[i].text ? runs[i].text : "");
		if (runs[i].style & OB_TEXT_BOLD)
			cJSON_AddTrueToObject(r, "bold");
		if (runs[i].style & OB_TEXT_ITALIC)
			cJSON_AddTrueToObject(r, "italic");
		cJSON_AddItemToArray(a, r);
	}
	return 0;
}

static int api_para(struct ob_doc *d, const char *fmt, ...)
{
	char *text;
	struct ob_buf b;
	va_list ap;

	if (d == NULL || fmt == NULL)
		return -1;
	ob_buf_init(&b, 0);
	va_start(ap, fmt);
	ob_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	text = ob_buf_steal(&b);
	struct ob_text_run r = {text, 0};
	add_runs(d, "para", &r, 1);
	free(text);
	return 0;
}

static int api_para_runs(struct ob_doc *d, const struct ob_text_run *runs, size_t n)
{
	if (d == NULL || (runs == NULL && n))
		return -1;
	return add_runs(d, "para", runs, n);
}

static int api_kpi(struct ob_doc *d, const struct ob_kpi *k)
{
	if (d == NULL || k == NULL || k->label == NULL)
		return -1;
	cJSON *e = element(d, "kpi");
	cJSON_AddStringToObject(e, "label", k->label);
	cJSON_AddNumberToObject(e, "value", k->value);
	if (k->unit)
		cJSON_AddStringToObject(e, "unit", k->unit);
	cJSON_AddNumberToObject(e, "decimals", k->decimals);
	if (k->has_previous)
		cJSON_AddNumberToObject(e, "previous", k->previous);
	return 0;
}

static const char *status_name(enum ob_status s)
{
	switch (s) {
	case OB_STATUS_GREEN: return "green";
	case OB_STATUS_AMBER: return "amber";
	case OB_STATUS_RED: return "red";
	default: return NULL;
	}
}

static struct ob_table *api_table(struct ob_doc *d, const struct ob_column *cols, size_t ncols)
{
	static const char *const aligns[] = {"left", "right", "center"};
	static const char *const formats[] = {"text", "number", "date", "percent"};
	struct run_ctx *rc;
	struct ob_table *t;

	if (d == NULL || cols == NULL || ncols == 0)
		return NULL;
	rc = (struct run_ctx *)((char *)d - offsetof(struct run_ctx, doc));
	cJSON *e = element(d, "table"), *c = cJSON_AddArrayToObject(e, "columns");
	for (size_t i = 0; i < ncols; i++) {
		cJSON *col = cJSON_CreateObject();
		cJSON_AddStringToObject(col, "header", cols[i].header ? cols[i].header : "");
		cJSON_AddNumberToObject(col, "width", cols[i].width > 0 ? cols[i].width : 1);
		cJSON_AddStringToObject(col, "align", aligns[(unsigned)cols[i].align % 3]);
		cJSON_AddStringToObject(col, "format", formats[(unsigned)cols[i].format % 4]);
		cJSON_AddNumberToObject(col, "decimals", cols[i].decimals);
		cJSON_AddItemToArray(c, col);
	}
	t = ob_xcalloc(1, sizeof(*t));
	t->rows = cJSON_AddArrayToObject(e, "rows");
	t->ncols = ncols;
	t->next = rc->tables;
	rc->tables = t;
	return t;
}

static int api_row(struct ob_table *t, const char *const *cells, enum ob_status status)
{
	if (t == NULL || cells == NULL)
		return -1;
	cJSON *r = cJSON_CreateObject(), *a = cJSON_AddArrayToObject(r, "cells");
	for (size_t i = 0; i < t->ncols; i++)
		cJSON_AddItemToArray(a, cells[i] ? cJSON_CreateString(cells[i]) : cJSON_CreateNull());
	if (status_name(status))
		cJSON_AddStringToObject(r, "status", status_name(status));
	cJSON_AddItemToArray(t->rows, r);
	t->last = r;
	return 0;
}

static int api_cell_status(struct ob_table *t, size_t col, enum ob_status status)
{
	cJSON *cs;
	if (t == NULL || t->last == NULL || col >= t->ncols || status_name(status) == NULL)
		return -1;
	cs = cJSON_GetObjectItem(t->last, "cell_status");
	if (cs == NULL) {
		cs = cJSON_AddArrayToObject(t->last, "cell_status");
		for (size_t i = 0; i < t->ncols; i++)
			cJSON_AddItemToArray(cs, cJSON_CreateNull());
	}
	cJSON_ReplaceItemInArray(cs, (int)col, cJSON_CreateString(status_name(status)));
	return 0;
}

static int api_chart(struct ob_doc *d, const struct ob_chart *ch)
{
	if (d == NULL || ch == NULL || (ch->nlabels && ch->labels == NULL) || (ch->nseries && ch->series == NULL))
		return -1;
	cJSON *e = element(d, "chart");
	if (ch->title)
		cJSON_AddStringToObject(e, "title", ch->title);
	cJSON_AddBoolToObject(e, "horizontal", ch->horizontal != 0);
	cJSON_AddBoolToObject(e, "stacked", ch->stacked != 0);
	cJSON_AddBoolToObject(e, "show_values", ch->show_values != 0);
	if (ch->value_axis)
		cJSON_AddStringToObject(e, "value_axis", ch->value_axis);
	if (ch->label_axis)
		cJSON_AddStringToObject(e, "label_axis", ch->label_axis);
	cJSON *labels = cJSON_AddArrayToObject(e, "labels");
	for (size_t i = 0; i < ch->nlabels; i++)
		cJSON_AddItemToArray(labels, cJSON_CreateString(ch->labels[i] ? ch->labels[i] : ""));
	cJSON *series = cJSON_AddArrayToObject(e, "series");
	for (size_t s = 0; s < ch->nseries; s++) {
		cJSON *o = cJSON_CreateObject(), *v = cJSON_AddArrayToObject(o, "values");
		cJSON_AddStringToObject(o, "name", ch->series[s].name ? ch->series[s].name : "");
		for (size_t i = 0; i < ch->nlabels; i++)
			cJSON_AddItemToArray(v, cJSON_CreateNumber(ch->series[s].values ? ch->series[s].values[i] : 0));
		cJSON_AddItemToArray(series, o);
	}
	return 0;
}

static int api_note(struct ob_doc *d, const char *fmt, ...)
{
	struct ob_buf b;
	va_list ap;

	if (d == NULL || fmt == NULL)
		return -1;
	ob_buf_init(&b, 0);
	va_start(ap, fmt);
	ob_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	cJSON_AddStringToObject(element(d, "note"), "text", b.data ? b.data : "");
	ob_buf_free(&b);
	return 0;
}

static int valid_recipient(const char *r)
{
	static const char *const roles[] = {"asg", "direktion", "isk", "indkoeb", "iod", "it_support"};
	if (r == NULL)
		return 0;
	if (strncmp(r, "owner:", 6) == 0) {
		if (r[6] == '\0' || strlen(r + 6) > 24)
			return 0;
		for (const char *p = r + 6; *p; p++)
			if (*p < '0' || *p > '9')
				return 0;
		return 1;
	}
	for (size_t i = 0; i < OB_ARRAY_LEN(roles); i++)
		if (strcmp(r, roles[i]) == 0)
			return 1;
	return 0;
}

static int api_notify(struct ob_ctx *c, const struct ob_notice *n)
{
	struct run_ctx *rc = RC(c);
	cJSON *o, *kv;

	if (n == NULL || !valid_recipient(n->recipient) || n->dedupe_key == NULL || !n->dedupe_key[0] ||
	    n->template == NULL || !n->template[0]) {
		api_log(c, OB_PLOG_ERR, "notify: needs a recipient (owner:ID or asg, direktion, isk, indkoeb, iod, "
					"it_support), a dedupe key and a template; got recipient \"%s\"",
			n && n->recipient ? n->recipient : "(null)");
		return -1;
	}
	if (strncmp(n->dedupe_key, "no_email:", 9) == 0) { /* the outbox's own, for items routed to it_support */
		api_log(c, OB_PLOG_ERR, "notify: dedupe keys starting \"no_email:\" are the outbox's");
		return -1;
	}
	for (const char *const *p = n->kv; p && p[0] && p[1]; p += 2)
		if (ob_utf8_check(p[0], strlen(p[0]), NULL) < 0 || ob_utf8_check(p[1], strlen(p[1]), NULL) < 0) {
			api_log(c, OB_PLOG_ERR, "notify: the value of a template key is not UTF-8");
			return -1;
		}
	if (ob_utf8_check(n->dedupe_key, strlen(n->dedupe_key), NULL) < 0 ||
	    ob_utf8_check(n->template, strlen(n->template), NULL) < 0) {
		api_log(c, OB_PLOG_ERR, "notify: the dedupe key or the template name is not UTF-8");
		return -1;
	}
	if (strlen(n->dedupe_key) > 200 || strlen(n->template) > 200) {
		api_log(c, OB_PLOG_ERR, "notify: the dedupe key and the template name are at most 200 bytes; got %zu and %zu",
			strlen(n->dedupe_key), strlen(n->template));
		return -1;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "recipient", n->recipient);
	cJSON_AddStringToObject(o, "dedupe_key", n->dedupe_key);
	cJSON_AddStringToObject(o, "template", n->template);
	kv = cJSON_AddObjectToObject(o, "kv");
	for (const char *const *p = n->kv; p && p[0] && p[1]; p += 2)
		cJSON_AddStringToObject(kv, p[0], p[1]);
	cJSON_AddItemToArray(rc->notices, o);
	return 0;
}

static const struct ob_api api = {
	.size = sizeof(struct ob_api),
	.as_of = api_as_of,
	.setting = api_setting,
	.param = api_param,
	.org_id = api_org_id,
	.org_name = api_org_name,
	.log = api_log,
	.query = api_query,
	.nrows = api_nrows,
	.cell = api_cell,
	.doc = api_doc,
	.title = api_title,
	.section = api_section,
	.para = api_para,
	.para_runs = api_para_runs,
	.kpi = api_kpi,
	.table = api_table,
	.row = api_row,
	.cell_status = api_cell_status,
	.chart = api_chart,
	.note = api_note,
	.notify = api_notify,
};

/* ---- a context without a run: the sample document ---- */

struct ob_ctx *ob_ctx_standalone(const char *as_of, const char *org_name)
{
	struct run_ctx *rc = ob_xcalloc(1, sizeof(*rc));
	rc->pub.api = &api;
	rc->report = ob_xstrdup("sample");
	rc->as_of = ob_xstrdup(as_of);
	rc->org_name = org_name ? ob_xstrdup(org_name) : NULL;
	rc->params = cJSON_CreateObject();
	rc->notices = cJSON_CreateArray();
	return &rc->pub;
}

const cJSON *ob_ctx_document(struct ob_ctx *ctx)
{
	return RC(ctx)->have_doc ? RC(ctx)->doc.root : NULL;
}

void ob_ctx_free(struct ob_ctx *ctx)
{
	if (ctx == NULL)
		return;
	ctx_free(RC(ctx));
	free(ctx);
}

/* ---- the worker ---- */

int ob_run_remove_files(const char *state_dir, unsigned long long id)
{
	char *dir = ob_xasprintf("%s/runs/%llu", state_dir, id);
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0, rc = 0;

	if (d == NULL) {
		rc = errno == ENOENT ? 0 : -1;
		if (rc < 0)
			ob_warn("run %llu: cannot read %s to remove its files", id, dir);
		free(dir);
		return rc;
	}
	/* Only what a worker writes there: files, no folders. */
	while ((e = readdir(d)) != NULL) {
		char *path;
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		path = ob_path_join(dir, e->d_name);
		if (unlink(path) == 0)
			n++;
		else {
			ob_warn("run %llu: cannot remove %s", id, path);
			rc = -1;
		}
		free(path);
	}
	closedir(d);
	if (rmdir(dir) < 0 && errno != ENOENT) {
		ob_warn("run %llu: cannot remove %s", id, dir);
		rc = -1;
	}
	ob_info("run %llu: removed its %d file%s in %s (a run that did not succeed keeps none)", id, n, n == 1 ? "" : "s",
		dir);
	free(dir);
	return rc < 0 ? -1 : n;
}

int ob_sha256_fd(int fd, char hex[65], unsigned long long *size)
{
	unsigned char buf[65536], md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	ssize_t n;
	int rc = -1;

	*size = 0;
	if (m == NULL || EVP_DigestInit_ex(m, EVP_sha256(), NULL) != 1)
		goto out;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		EVP_DigestUpdate(m, buf, (size_t)n);
		*size += (unsigned long long)n;
	}
	if (n < 0 || EVP_DigestFinal_ex(m, md, &mdlen) != 1)
		goto out;
	for (unsigned i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	rc = 0;
out:
	EVP_MD_CTX_free(m);
	return rc;
}

static int sha256_file(const char *path, char hex[65], unsigned long long *size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	*size = 0;
	if (fd < 0)
		return -1;
	rc = ob_sha256_fd(fd, hex, size);
	close(fd);
	return rc;
}

/* Writes data to dir/name atomically; *path_out gets the path. */
static int write_output(const char *dir, const char *name, const char *data, size_t len, char **path_out,
			struct ob_err *err)
{
	char *path = ob_path_join(dir, name), *tmp = ob_xasprintf("%s.tmp", path);
	int rc = ob_write_atomic(tmp, path, data, len, err);

	free(tmp);
	if (rc < 0) {
		free(path);
		return -1;
	}
	*path_out = path;
	return 0;
}

static int record(struct run_ctx *rc, const char *status, const char *error, char **files, size_t nfiles,
		  struct ob_err *err)
{
	int ok = ob_db_begin(rc->db, err) == 0;

	for (size_t i = 0; ok && i < nfiles; i++) {
		char hex[65] = "";
		unsigned long long size;
		const char *base = strrchr(files[i], '/') ? strrchr(files[i], '/') + 1 : files[i];
		if (sha256_file(files[i], hex, &size) < 0) {
			ob_err_set(err, "cannot read back %s: %s", files[i], strerror(errno));
			ok = 0;
			break;
		}
		struct ob_db_param p[5] = {ob_p_int((long long)rc->id), ob_p_str(base), ob_p_int((long long)size),
					   ob_p_str(hex), ob_p_str(files[i])};
		ok = ob_db_exec(rc->db, "INSERT INTO run_files (run_id, name, size, sha256, path) VALUES (?, ?, ?, ?, ?)",
				p, 5, NULL, err) == 0;
	}
	for (int i = 0; ok && i < cJSON_GetArraySize(rc->notices); i++) {
		const cJSON *n = cJSON_GetArrayItem(rc->notices, i);
		char *kv = cJSON_PrintUnformatted(cJSON_GetObjectItem(n, "kv"));
		struct ob_db_param p[6] = {
			ob_p_int((long long)rc->id), ob_p_int(i + 1),
			ob_p_str(cJSON_GetObjectItem(n, "recipient")->valuestring),
			ob_p_str(cJSON_GetObjectItem(n, "dedupe_key")->valuestring),
			ob_p_str(cJSON_GetObjectItem(n, "template")->valuestring), ob_p_str(kv)};
		ok = ob_db_exec(rc->db,
				"INSERT INTO run_notices (run_id, seq, recipient, dedupe_key, template, kv) "
				"VALUES (?, ?, ?, ?, ?, ?)",
				p, 6, NULL, err) == 0;
		cJSON_free(kv);
	}
	/* The run's mail: in this transaction, so the run ends with all of it or none. */
	if (ok && strcmp(status, "succeeded") == 0 && cJSON_GetArraySize(rc->notices) > 0) {
		const cJSON *t = rc->have_doc ? cJSON_GetObjectItemCaseSensitive(rc->doc.root, "title") : NULL;
		struct ob_outbox_run run = {rc->id,
					    rc->report,
					    cJSON_IsString(t) && t->valuestring[0] ? t->valuestring : NULL,
					    rc->org_id ? atoll(rc->org_id) : 0,
					    rc->org_name,
					    rc->as_of,
					    rc->dry_run,
					    nfiles > 1 ? files[1] : NULL,
					    rc->notices};
		ok = ob_outbox_compose(rc->cfg, rc->db, &run, &rc->mail, err) == 0;
	}
	if (ok) {
		struct ob_db_param p[3] = {ob_p_str(status), ob_p_str(error), ob_p_int((long long)rc->id)};
		unsigned long long affected = 0;
		ok = ob_db_exec(rc->db,
				"UPDATE runs SET status = ?, error = ?, finished_at = NOW(3) WHERE id = ? AND status = 'running'",
				p, 3, &affected, err) == 0;
		if (ok && affected != 1) {
			/* Ended meanwhile (overblikd recorded it failed or timed out):
			 * nothing of this run is kept, no mail goes out. */
			ob_err_set(err, "run %llu is no longer running (ended by overblikd meanwhile)", rc->id);
			ok = 0;
		}
	}
	if (ok)
		ok = ob_db_commit(rc->db, err) == 0;
	if (!ok)
		ob_db_rollback(rc->db);
	return ok ? 0 : -1;
}

static void ctx_free(struct run_ctx *rc)
{
	while (rc->rows) {
		struct ob_rows *n = rc->rows->next;
		ob_db_rows_free(rc->rows->r);
		free(rc->rows);
		rc->rows = n;
	}
	while (rc->tables) {
		struct ob_table *n = rc->tables->next;
		free(rc->tables);
		rc->tables = n;
	}
	cJSON_Delete(rc->doc.root);
	cJSON_Delete(rc->params);
	cJSON_Delete(rc->notices);
	free(rc->report);
	free(rc->as_of);
	free(rc->org_id);
	free(rc->org_name);
}

int ob_run_execute(const struct ob_config *cfg, unsigned long long id)
{
	struct run_ctx rc;
	struct ob_err err = {{0}};
	struct ob_db_rows *r = NULL;
	struct ob_loaded_plugin plugin = {0};
	char *dir = NULL, *files[2] = {NULL, NULL};
	size_t nfiles = 0;
	void *state = NULL;
	int code = OB_RUN_EXIT_UNRECORDED, prc, have_plugin = 0;
	time_t created = 0;
	char host[128] = "";

	memset(&rc, 0, sizeof(rc));
	rc.pub.api = &api;
	rc.cfg = cfg;
	rc.id = id;
	rc.notices = cJSON_CreateArray();
	if (ob_db_open(cfg, &rc.db, &err) < 0) {
		ob_log(OB_LOG_ERR, "run %llu: %s", id, err.msg);
		goto out;
	}
	{
		struct ob_db_param p[1] = {ob_p_int((long long)id)};
		if (ob_db_query(rc.db,
				"SELECT r.report, r.as_of, r.params, r.org_id, o.name, r.status, "
				"UNIX_TIMESTAMP(r.queued_at), r.dry_run FROM runs r "
				"LEFT JOIN organisations o ON o.id = r.org_id WHERE r.id = ?",
				p, 1, &r, &err) < 0 || r->nrows != 1) {
			ob_log(OB_LOG_ERR, "run %llu: %s", id, err.msg[0] ? err.msg : "no such run");
			goto out;
		}
	}
	rc.report = ob_xstrdup(ob_db_cell(r, 0, 0));
	rc.as_of = ob_xstrdup(ob_db_cell(r, 0, 1));
	rc.params = cJSON_Parse(ob_db_cell(r, 0, 2));
	if (rc.params == NULL)
		rc.params = cJSON_CreateObject();
	rc.org_id = ob_db_cell(r, 0, 3) ? ob_xstrdup(ob_db_cell(r, 0, 3)) : NULL;
	rc.org_name = ob_db_cell(r, 0, 4) ? ob_xstrdup(ob_db_cell(r, 0, 4)) : NULL;
	rc.rcfg = ob_config_report(cfg, rc.report);
	rc.dry_run = atoi(ob_db_cell(r, 0, 7)) != 0;
	created = (time_t)atoll(ob_db_cell(r, 0, 6)); /* the run's own time: a re-render gives the same bytes */
	gethostname(host, sizeof(host) - 1);
	{
		char *runner = ob_xasprintf("%s:%ld", host, (long)getpid());
		struct ob_db_param p[2] = {ob_p_str(runner), ob_p_int((long long)id)};
		unsigned long long affected = 0;
		int u = ob_db_exec(rc.db,
				   "UPDATE runs SET status = 'running', started_at = NOW(3), runner = ? "
				   "WHERE id = ? AND status = 'queued'",
				   p, 2, &affected, &err);
		free(runner);
		if (u < 0) {
			ob_log(OB_LOG_ERR, "run %llu: %s", id, err.msg);
			goto out;
		}
		if (affected != 1) { /* ended already (abandoned at shutdown), or taken by another worker */
			ob_log(OB_LOG_NOTICE, "run %llu: is not queued (status %s): not running it", id, ob_db_cell(r, 0, 5));
			code = OB_RUN_EXIT_NOT_QUEUED;
			goto out;
		}
	}
	prc = ob_plugin_load_one(cfg->plugin_dir, rc.report, &plugin, &err);
	if (prc <= 0) {
		char *why = prc == 0 ? ob_xasprintf("no plugin %s.so in %s", rc.report, cfg->plugin_dir)
				     : ob_xstrdup(err.msg);
		ob_err_clear(&err);
		code = record(&rc, "failed", why, NULL, 0, &err) == 0 ? OB_RUN_EXIT_FAILED : OB_RUN_EXIT_UNRECORDED;
		ob_log(OB_LOG_ERR, "run %llu: %s", id, why);
		free(why);
		goto out;
	}
	have_plugin = 1;
	ob_info("run %llu: %s %s as of %s%s%s", id, plugin.name, plugin.version, rc.as_of,
		rc.org_name ? " for " : "", rc.org_name ? rc.org_name : "");
	/* The plugin reads one snapshot of the portfolio and cannot change it. */
	prc = ob_db_begin_read_only(rc.db, &err);
	if (prc < 0) {
		snprintf(rc.error, sizeof(rc.error), "%s", err.msg);
		ob_err_clear(&err);
	}
	if (prc == 0 && plugin.desc->size >= offsetof(struct ob_plugin, init) + sizeof(plugin.desc->init) &&
	    plugin.desc->init)
		prc = plugin.desc->init(&rc.pub, &state);
	if (prc == 0)
		prc = plugin.desc->run(&rc.pub, state);
	if (plugin.desc->size >= offsetof(struct ob_plugin, fini) + sizeof(plugin.desc->fini) && plugin.desc->fini)
		plugin.desc->fini(state);
	ob_db_rollback(rc.db); /* nothing to keep: it could not write */
	dir = ob_xasprintf("%s/runs/%llu", cfg->state_dir, id);
	if (rc.have_doc && prc == 0) {
		char *text = cJSON_Print(rc.doc.root);
		char *pdf = ob_xasprintf("%s/%s.pdf", dir, rc.report);
		struct ob_render_meta meta = {rc.org_name, NULL, rc.as_of, id, created, "overblik " PACKAGE_VERSION,
					      rc.org_name, NULL};
		struct ob_render_stats stats = {0};
		if (ob_mkdir_p(dir) < 0) {
			ob_err_set(&err, "cannot create %s: %s", dir, strerror(errno));
			prc = -1;
		} else if (write_output(dir, "document.json", text, strlen(text), &files[0], &err) < 0)
			prc = -1;
		else if ((nfiles = 1, ob_render_pdf(rc.doc.root, &meta, pdf, &stats, &err)) < 0)
			prc = -1;
		else {
			files[nfiles++] = pdf;
			pdf = NULL;
			ob_info("run %llu: %s.pdf, %d pages", id, rc.report, stats.pages);
		}
		free(pdf);
		cJSON_free(text);
		if (prc < 0)
			snprintf(rc.error, sizeof(rc.error), "%s", err.msg);
		ob_err_clear(&err);
	}
	if (prc == 0) {
		int recorded = -1;
		for (int attempt = 1; attempt <= 3; attempt++) {
			recorded = record(&rc, "succeeded", NULL, files, nfiles, &err);
			/* Two runs composing mail with the same keys at once can
			 * deadlock: InnoDB rolls one back; it tries again. */
			if (recorded == 0 || attempt == 3 ||
			    (strstr(err.msg, "Deadlock") == NULL && strstr(err.msg, "Lock wait timeout") == NULL))
				break;
			ob_log(OB_LOG_NOTICE, "run %llu: recording met another run's lock (%s): trying again", id, err.msg);
			ob_err_clear(&err);
		}
		if (recorded == 0) {
			code = OB_RUN_EXIT_SUCCEEDED;
			if (rc.mail.messages || rc.mail.skipped)
				ob_info("run %llu: %u message%s with %u item%s %s the outbox%s%u item%s mailed before",
					id, rc.mail.messages, rc.mail.messages == 1 ? "" : "s", rc.mail.items,
					rc.mail.items == 1 ? "" : "s", rc.dry_run ? "stored (dry run) in" : "queued in", "; ",
					rc.mail.skipped, rc.mail.skipped == 1 ? "" : "s");
		} else if (strstr(err.msg, "is no longer running")) {
			/* overblikd ended it meanwhile (timeout, shutdown) and said why. */
			ob_log(OB_LOG_NOTICE, "run %llu: %s: nothing of it is kept", id, err.msg);
			code = OB_RUN_EXIT_FAILED;
		} else {
			/* Most likely its mail could not be made (a template, an
			 * address): the run fails with that, keeping nothing. */
			char why[1100];
			snprintf(why, sizeof(why), "cannot record its result: %s", err.msg);
			ob_log(OB_LOG_ERR, "run %llu: %s", id, why);
			ob_err_clear(&err);
			cJSON_Delete(rc.notices);
			rc.notices = cJSON_CreateArray();
			if (record(&rc, "failed", why, NULL, 0, &err) == 0)
				code = OB_RUN_EXIT_FAILED;
		}
	} else {
		const char *why = rc.error[0] ? rc.error : "the plugin reported failure";
		/* A failed run keeps no files and sends nothing. */
		cJSON_Delete(rc.notices);
		rc.notices = cJSON_CreateArray();
		if (record(&rc, "failed", why, NULL, 0, &err) == 0)
			code = OB_RUN_EXIT_FAILED;
		else
			ob_log(OB_LOG_ERR, "run %llu: cannot record its failure: %s", id, err.msg);
	}
out:
	/* A run that did not succeed has no run_files rows: what it wrote
	 * (a document, a PDF, half of one) goes, not left unlisted. */
	if (dir && code != OB_RUN_EXIT_SUCCEEDED)
		ob_run_remove_files(cfg->state_dir, id);
	if (have_plugin)
		ob_plugin_unload(&plugin);
	free(files[0]);
	free(files[1]);
	free(dir);
	ob_db_rows_free(r);
	ob_db_close(rc.db);
	ctx_free(&rc);
	return code;
}
