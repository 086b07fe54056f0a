/* run.c - report runs: the row, and the worker that executes one. The
 * worker hands the plugin the core's services through struct ob_api; the
 * document the plugin builds is a typed model (doc.h: checked as each call
 * hands it in, rendered as the PDF, written as document.json), its notices go into run_notices, and all of it is
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
#include "doc.h"
#include "log.h"
#include "outbox.h"
#include "overblik/plugin.h"
#include "plugin.h"
#include "render_pdf.h"
#include "run.h"

const char *const ob_run_status_names[OB_RS_N] = {"queued", "running", "succeeded", "failed", "timeout", "crashed"};

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

struct run_ctx {
	struct ob_ctx pub;           /* first: the plugin sees only this */
	const struct ob_config *cfg;
	const struct ob_config_report *rcfg;
	struct ob_db *db;
	unsigned long long id;
	char *report, *as_of, *org_id, *org_name;
	cJSON *params;
	struct ob_doc *doc;          /* once the plugin asks for it */
	struct ob_rows *rows;
	cJSON *notices;
	char error[1024];            /* the last error the plugin logged */
	int dry_run;
	struct ob_outbox_composed mail; /* what the notices became */
	const struct ob_plugin *desc; /* while it runs */
	cJSON *settings;             /* every declared setting, checked and defaulted */
	void **keep;                 /* what setting_ints handed out */
	size_t nkeep;
	char *org_cvr, *org_uuid;
	cJSON *report_json;          /* REPORT.json, once the plugin asks for it */
	cJSON *figures;              /* its "figures" */
	cJSON *previous;             /* {"run", "as_of", "figures"} of the previous run, or NULL */
	const char *pdf_path;        /* the run's PDF once rendered: the briefings' attachment */
};

/* The one run of this process, for the JSON calls' errors (they get no ctx). */
static struct run_ctx *current;

static void ctx_free(struct run_ctx *rc);

static struct run_ctx *RC(struct ob_ctx *c)
{
	return (struct run_ctx *)c;
}

static const char *api_as_of(struct ob_ctx *c)
{
	return RC(c)->as_of;
}

static void api_log(struct ob_ctx *c, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A declared setting of the given JSON type, or NULL (logged). */
static const cJSON *setting_of(struct ob_ctx *c, const char *name, int type, const char *what)
{
	const cJSON *v = name && RC(c)->settings ? cJSON_GetObjectItemCaseSensitive(RC(c)->settings, name) : NULL;

	if (v == NULL) {
		api_log(c, OB_PLOG_ERR, "setting \"%s\": the plugin does not declare it", name ? name : "(null)");
		return NULL;
	}
	if (!(v->type & type)) {
		api_log(c, OB_PLOG_ERR, "setting \"%s\" is not %s", name, what);
		return NULL;
	}
	return v;
}

static long long api_setting_int(struct ob_ctx *c, const char *name)
{
	const cJSON *v = setting_of(c, name, cJSON_Number, "a whole number");
	return v ? (long long)v->valuedouble : 0;
}

/* A list setting as a C array of n items made by conv from each element;
 * it lives as long as the run. NULL when it is not such a setting. */
static void *setting_list(struct ob_ctx *c, const char *name, const char *what, size_t item,
			  int (*conv)(const cJSON *, void *), size_t *n)
{
	struct run_ctx *rc = RC(c);
	const cJSON *v = setting_of(c, name, cJSON_Array, what), *it;
	char *a;

	*n = 0;
	if (v == NULL)
		return NULL;
	a = ob_xcalloc((size_t)cJSON_GetArraySize(v) + 1, item);
	cJSON_ArrayForEach(it, v)
		*n += (size_t)conv(it, a + *n * item);
	rc->keep = ob_xrealloc(rc->keep, (rc->nkeep + 1) * sizeof(*rc->keep));
	rc->keep[rc->nkeep++] = a;
	return a;
}

static int conv_int(const cJSON *it, void *to)
{
	*(long long *)to = (long long)it->valuedouble;
	return 1;
}

static int conv_text(const cJSON *it, void *to)
{
	if (!cJSON_IsString(it))
		return 0;
	*(const char **)to = it->valuestring;
	return 1;
}

static size_t api_setting_ints(struct ob_ctx *c, const char *name, const long long **values)
{
	size_t n = 0;
	const long long *a = setting_list(c, name, "a list of whole numbers", sizeof(long long), conv_int, &n);

	if (values)
		*values = a;
	return n;
}

static size_t api_setting_texts(struct ob_ctx *c, const char *name, const char *const **values)
{
	size_t n = 0;
	const char *const *a = setting_list(c, name, "a list of choices", sizeof(char *), conv_text, &n);

	if (values)
		*values = a;
	return n;
}

static const char *api_setting_text(struct ob_ctx *c, const char *name)
{
	const cJSON *v = setting_of(c, name, cJSON_String, "a choice or a text");
	return v ? v->valuestring : NULL;
}

static int api_setting_bool(struct ob_ctx *c, const char *name)
{
	const cJSON *v = setting_of(c, name, cJSON_True | cJSON_False, "true or false");
	return v ? cJSON_IsTrue(v) : 0;
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
	if (rc->doc == NULL)
		rc->doc = ob_doc_new();
	return rc->doc;
}

/* A document call's result: 0, or -1 with its error in the plugin's log. */
static int doc_done(int rc, struct ob_err *err)
{
	if (rc < 0 && err->msg[0] && current)
		api_log(&current->pub, OB_PLOG_ERR, "%s", err->msg);
	return rc < 0 ? -1 : 0;
}

static int api_title(struct ob_doc *d, const char *title, const char *subtitle)
{
	struct ob_err err = {{0}};
	return d == NULL ? -1 : doc_done(ob_doc_set_title(d, title, subtitle, &err), &err);
}

static int api_section(struct ob_doc *d, int level, const char *title, unsigned flags)
{
	struct ob_err err = {{0}};
	return d == NULL ? -1
			 : doc_done(ob_doc_add_section(d, level, title, (flags & OB_SECTION_LANDSCAPE) != 0,
						       (flags & OB_SECTION_NEW_PAGE) != 0, &err),
				    &err);
}

/* A paragraph or a note: the text of fmt. */
static int doc_text(struct ob_doc *d, int note, const char *fmt, va_list ap)
{
	struct ob_err err = {{0}};
	struct ob_buf b;
	int rc;

	ob_buf_init(&b, 0);
	ob_buf_vprintf(&b, fmt, ap);
	if (note) {
		rc = ob_doc_add_note(d, b.data ? b.data : "", &err);
	} else {
		struct ob_text_run r = {b.data ? b.data : "", 0};
		rc = ob_doc_add_para(d, &r, 1, &err);
	}
	ob_buf_free(&b);
	return doc_done(rc, &err);
}

static int api_para(struct ob_doc *d, const char *fmt, ...)
{
	va_list ap;
	int rc;

	if (d == NULL || fmt == NULL)
		return -1;
	va_start(ap, fmt);
	rc = doc_text(d, 0, fmt, ap);
	va_end(ap);
	return rc;
}

static int api_para_runs(struct ob_doc *d, const struct ob_text_run *runs, size_t n)
{
	struct ob_err err = {{0}};
	return d == NULL ? -1 : doc_done(ob_doc_add_para(d, runs, n, &err), &err);
}

/* A struct a plugin passed in (ABI 2: its size first), copied into a zeroed
 * one of the core's size: members past the plugin's size read as zero. -1
 * (logged) when its size cannot hold ABI 2.0's members: not made with
 * OB_INIT. */
static int adopt(const void *in, void *out, size_t core_size, size_t min_size, const char *what)
{
	uint32_t sz;

	memset(out, 0, core_size);
	if (in == NULL)
		return -1;
	memcpy(&sz, in, sizeof(sz));
	if (sz < min_size) {
		if (current)
			api_log(&current->pub, OB_PLOG_ERR, "struct %s of %u bytes: make it with OB_INIT(%s, ...)", what,
				(unsigned)sz, what);
		return -1;
	}
	memcpy(out, in, sz < core_size ? sz : core_size);
	return 0;
}
#define ADOPT(in, out, last, what)                                                                 \
	adopt((in), &(out), sizeof(out), offsetof(__typeof__(out), last) + sizeof((out).last), what)

static int api_bullets(struct ob_doc *d, const char *const *items, size_t n)
{
	struct ob_err err = {{0}};
	return d == NULL ? -1 : doc_done(ob_doc_add_list(d, items, n, &err), &err);
}

static int api_kpi(struct ob_doc *d, const struct ob_kpi *in)
{
	struct ob_err err = {{0}};
	struct ob_kpi k;

	if (d == NULL || ADOPT(in, k, previous, "ob_kpi") < 0)
		return -1;
	return doc_done(ob_doc_add_kpi(d, &k, &err), &err);
}

static struct ob_table *api_table(struct ob_doc *d, const struct ob_column *cols_in, size_t ncols)
{
	struct ob_err err = {{0}};
	struct ob_table *t;
	struct ob_column *cols;
	uint32_t stride;

	if (d == NULL || cols_in == NULL || ncols == 0 || ncols > 64) {
		if (d && current)
			api_log(&current->pub, OB_PLOG_ERR, "table: %zu columns%s (1 to 64)", ncols,
				cols_in ? "" : " at NULL");
		return NULL;
	}
	/* An array of the plugin's structs: its first one's size is the stride. */
	stride = cols_in[0].size;
	cols = ob_xcalloc(ncols, sizeof(*cols));
	for (size_t i = 0; i < ncols; i++)
		if (ADOPT((const char *)cols_in + i * stride, cols[i], decimals, "ob_column") < 0) {
			free(cols);
			return NULL;
		}
	t = ob_doc_add_table(d, cols, ncols, &err);
	free(cols);
	doc_done(t ? 0 : -1, &err);
	return t;
}

static int api_row(struct ob_table *t, const char *const *cells, enum ob_status status)
{
	struct ob_err err = {{0}};
	return t == NULL ? -1 : doc_done(ob_doc_add_row(t, cells, (enum ob_doc_status)status, &err), &err);
}

static int api_cell_status(struct ob_table *t, size_t col, enum ob_status status)
{
	struct ob_err err = {{0}};
	return t == NULL ? -1 : doc_done(ob_doc_cell_status(t, col, (enum ob_doc_status)status, &err), &err);
}

static int api_chart(struct ob_doc *d, const struct ob_chart *in)
{
	struct ob_err err = {{0}};
	struct ob_chart ch;
	struct ob_series *series = NULL;
	uint32_t stride;
	int rc = -1;

	if (d == NULL || ADOPT(in, ch, show_values, "ob_chart") < 0)
		return -1;
	if (ch.nseries && ch.series && ch.nseries <= 64) {
		stride = ch.series[0].size;
		series = ob_xcalloc(ch.nseries, sizeof(*series));
		for (size_t s = 0; s < ch.nseries; s++)
			if (ADOPT((const char *)ch.series + s * stride, series[s], values, "ob_series") < 0)
				goto out;
	}
	rc = doc_done(ob_doc_add_chart(d, &ch, series, &err), &err);
out:
	free(series);
	return rc;
}

static int api_note(struct ob_doc *d, const char *fmt, ...)
{
	va_list ap;
	int rc;

	if (d == NULL || fmt == NULL)
		return -1;
	va_start(ap, fmt);
	rc = doc_text(d, 1, fmt, ap);
	va_end(ap);
	return rc;
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

static int api_notify(struct ob_ctx *c, const struct ob_notice *in)
{
	struct run_ctx *rc = RC(c);
	struct ob_notice notice, *n = in ? &notice : NULL;
	cJSON *o, *kv;

	if (in && ADOPT(in, notice, kv, "ob_notice") < 0)
		return -1;
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
	if (n->flags & OB_NOTICE_NO_PDF)
		cJSON_AddTrueToObject(o, "no_pdf");
	kv = cJSON_AddObjectToObject(o, "kv");
	for (const char *const *p = n->kv; p && p[0] && p[1]; p += 2)
		cJSON_AddStringToObject(kv, p[0], p[1]);
	cJSON_AddItemToArray(rc->notices, o);
	return 0;
}

/* ---- calendar and Danish formatting (REPORTS.md "Calendar arithmetic") ---- */

/* Strictly "YYYY-MM-DD", a real date of years 1 to 9999. */
static int iso_date(const char *s, int32_t *days)
{
	int y, m, d;

	if (s == NULL || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return -1;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return -1;
	y = atoi(s);
	m = (s[5] - '0') * 10 + (s[6] - '0');
	d = (s[8] - '0') * 10 + (s[9] - '0');
	if (y < 1 || m < 1 || m > 12 || d < 1 || d > ob_days_in_month(y, m))
		return -1;
	*days = ob_days_from_civil(y, m, d);
	return 0;
}

static int out_date(int32_t days, char *out)
{
	int y, m, d;

	ob_civil_from_days(days, &y, &m, &d);
	if (y < 1 || y > 9999)
		return -1;
	ob_date_format(days, out);
	return 0;
}

static int api_add_months(const char *date, int months, char *out)
{
	int32_t d;

	if (out == NULL || iso_date(date, &d) < 0 || months > 120000 || months < -120000)
		return -1;
	return out_date(ob_add_months(d, months), out);
}

static int api_end_of(const char *date, enum ob_period p, char *out)
{
	int32_t d;

	if (out == NULL || iso_date(date, &d) < 0 || (unsigned)p > OB_PERIOD_YEAR)
		return -1;
	return out_date(ob_end_of(d, p), out);
}

static int api_days(const char *from, const char *to, long *out)
{
	int32_t a, b;

	if (out == NULL || iso_date(from, &a) < 0 || iso_date(to, &b) < 0)
		return -1;
	*out = (long)b - (long)a;
	return 0;
}

static int api_date_da(const char *date, char *out, size_t size)
{
	char buf[64];
	int32_t d;
	size_t n;

	if (out == NULL || iso_date(date, &d) < 0)
		return -1;
	ob_date_format_da_long(d, buf, sizeof(buf));
	n = strlen(buf);
	if (n + 1 > size)
		return -1;
	memcpy(out, buf, n + 1);
	return (int)n;
}

static int api_number_da(double value, int decimals, char *out, size_t size)
{
	return out ? ob_format_number_da(value, decimals, out, size) : -1;
}

/* ---- REPORT.json ---- */

/* The members of the root the core writes; a plugin cannot set them. */
static int core_key(const char *key)
{
	static const char *const keys[] = {"report", "format", "as_of", "run", "organisation", "figures", "previous"};
	for (size_t i = 0; i < OB_ARRAY_LEN(keys); i++)
		if (strcmp(key, keys[i]) == 0)
			return 1;
	return 0;
}

static void report_start(struct run_ctx *rc)
{
	cJSON *o;

	if (rc->report_json)
		return;
	rc->report_json = cJSON_CreateObject();
	cJSON_AddStringToObject(rc->report_json, "report", rc->report ? rc->report : "");
	cJSON_AddNumberToObject(rc->report_json, "format", 1);
	cJSON_AddStringToObject(rc->report_json, "as_of", rc->as_of ? rc->as_of : "");
	if (rc->id)
		cJSON_AddNumberToObject(rc->report_json, "run", (double)rc->id);
	else
		cJSON_AddNullToObject(rc->report_json, "run");
	o = cJSON_AddObjectToObject(rc->report_json, "organisation");
	if (rc->org_name)
		cJSON_AddStringToObject(o, "name", rc->org_name);
	else
		cJSON_AddNullToObject(o, "name");
	if (rc->org_cvr)
		cJSON_AddStringToObject(o, "cvr", rc->org_cvr);
	else
		cJSON_AddNullToObject(o, "cvr");
	if (rc->org_uuid)
		cJSON_AddStringToObject(o, "kitos_uuid", rc->org_uuid);
	else
		cJSON_AddNullToObject(o, "kitos_uuid");
	rc->figures = cJSON_AddObjectToObject(rc->report_json, "figures");
	if (rc->previous)
		cJSON_AddItemToObject(rc->report_json, "previous", cJSON_Duplicate(rc->previous, 1));
	else
		cJSON_AddNullToObject(rc->report_json, "previous");
}

static struct ob_json *api_report_json(struct ob_ctx *c)
{
	report_start(RC(c));
	return (struct ob_json *)RC(c)->report_json;
}

static struct ob_json *api_figures(struct ob_ctx *c)
{
	report_start(RC(c));
	return (struct ob_json *)RC(c)->figures;
}

static void json_refuse(const char *key, const char *why)
{
	if (current)
		api_log(&current->pub, OB_PLOG_ERR, "REPORT.json: %s%s%s: %s", key ? "\"" : "", key ? key : "",
			key ? "\"" : "", why);
}

/* Puts v (owned) under key in parent, or appends it to the array parent. */
static cJSON *j_put(struct ob_json *parent, const char *key, cJSON *v)
{
	cJSON *p = (cJSON *)parent;

	if (p == NULL || v == NULL) {
		json_refuse(key, "no parent");
		cJSON_Delete(v);
		return NULL;
	}
	if (cJSON_IsArray(p)) {
		if (key != NULL) {
			json_refuse(key, "a key given to add to an array");
			cJSON_Delete(v);
			return NULL;
		}
		cJSON_AddItemToArray(p, v);
		return v;
	}
	if (!cJSON_IsObject(p) || key == NULL || key[0] == '\0' || strlen(key) > 200 ||
	    ob_utf8_check(key, strlen(key), NULL) < 0) {
		json_refuse(NULL, "a member needs a key of 1 to 200 bytes of UTF-8 and an object to go in");
		cJSON_Delete(v);
		return NULL;
	}
	if (current && p == current->report_json && core_key(key)) {
		json_refuse(key, "is written by the core (report, format, as_of, run, organisation, figures, previous)");
		cJSON_Delete(v);
		return NULL;
	}
	if (cJSON_GetObjectItemCaseSensitive(p, key))
		cJSON_ReplaceItemInObjectCaseSensitive(p, key, v);
	else
		cJSON_AddItemToObject(p, key, v);
	return v;
}

static struct ob_json *api_j_object(struct ob_json *parent, const char *key)
{
	return (struct ob_json *)j_put(parent, key, cJSON_CreateObject());
}

static struct ob_json *api_j_array(struct ob_json *parent, const char *key)
{
	return (struct ob_json *)j_put(parent, key, cJSON_CreateArray());
}

static int api_j_int(struct ob_json *parent, const char *key, long long value)
{
	if (value > 9007199254740992LL || value < -9007199254740992LL) {
		json_refuse(key, "a whole number past 2^53, which JSON readers cannot hold exactly");
		return -1;
	}
	/* Written as its digits: cJSON prints a double with 15 significant
	 * digits when that reads back close enough, which loses the last digit
	 * of whole numbers past 4.5e15. */
	char digits[24];
	snprintf(digits, sizeof(digits), "%lld", value);
	return j_put(parent, key, cJSON_CreateRaw(digits)) ? 0 : -1;
}

static int api_j_number(struct ob_json *parent, const char *key, double value, int decimals)
{
	char buf[160], *q = buf;

	/* Rounded half up from the value's shortest decimal form, as shown. */
	if (ob_format_number_da(value, decimals, buf, sizeof(buf)) < 0) {
		json_refuse(key, "not a finite number, or decimals not 0 to 6");
		return -1;
	}
	for (const char *s = buf; *s; s++)
		if (*s != '.')
			*q++ = *s == ',' ? '.' : *s;
	*q = '\0';
	return j_put(parent, key, cJSON_CreateNumber(strtod(buf, NULL))) ? 0 : -1;
}

static int api_j_text(struct ob_json *parent, const char *key, const char *text)
{
	if (text && ob_utf8_check(text, strlen(text), NULL) < 0) {
		json_refuse(key, "its text is not UTF-8");
		return -1;
	}
	return j_put(parent, key, text ? cJSON_CreateString(text) : cJSON_CreateNull()) ? 0 : -1;
}

static int api_j_date(struct ob_json *parent, const char *key, const char *date)
{
	int32_t d;

	if (date && iso_date(date, &d) < 0) {
		json_refuse(key, "not a date YYYY-MM-DD");
		return -1;
	}
	return j_put(parent, key, date ? cJSON_CreateString(date) : cJSON_CreateNull()) ? 0 : -1;
}

static int api_j_bool(struct ob_json *parent, const char *key, int value)
{
	return j_put(parent, key, cJSON_CreateBool(value != 0)) ? 0 : -1;
}

static int api_j_null(struct ob_json *parent, const char *key)
{
	return j_put(parent, key, cJSON_CreateNull()) ? 0 : -1;
}

static int api_previous(struct ob_ctx *c, const char *path, double *value)
{
	const cJSON *v = RC(c)->previous ? cJSON_GetObjectItemCaseSensitive(RC(c)->previous, "figures") : NULL;
	char part[256];

	if (path == NULL || value == NULL)
		return 0;
	for (const char *p = path; v && *p;) {
		const char *slash = strchr(p, '/');
		size_t l = slash ? (size_t)(slash - p) : strlen(p);
		if (l >= sizeof(part))
			return 0;
		memcpy(part, p, l);
		part[l] = '\0';
		v = cJSON_IsObject(v) ? cJSON_GetObjectItemCaseSensitive(v, part) : NULL;
		p = slash ? slash + 1 : p + l;
	}
	if (!cJSON_IsNumber(v))
		return 0;
	*value = v->valuedouble;
	return 1;
}

static const char *api_previous_as_of(struct ob_ctx *c)
{
	const cJSON *a = RC(c)->previous ? cJSON_GetObjectItemCaseSensitive(RC(c)->previous, "as_of") : NULL;
	return cJSON_IsString(a) ? a->valuestring : NULL;
}

static const struct ob_api api = {
	.size = sizeof(struct ob_api),
	.as_of = api_as_of,
	.param = api_param,
	.org_id = api_org_id,
	.org_name = api_org_name,
	.log = api_log,
	.setting_int = api_setting_int,
	.setting_ints = api_setting_ints,
	.setting_text = api_setting_text,
	.setting_bool = api_setting_bool,
	.query = api_query,
	.nrows = api_nrows,
	.cell = api_cell,
	.add_months = api_add_months,
	.end_of = api_end_of,
	.days = api_days,
	.date_da = api_date_da,
	.number_da = api_number_da,
	.doc = api_doc,
	.title = api_title,
	.section = api_section,
	.para = api_para,
	.para_runs = api_para_runs,
	.bullets = api_bullets,
	.kpi = api_kpi,
	.table = api_table,
	.row = api_row,
	.cell_status = api_cell_status,
	.chart = api_chart,
	.note = api_note,
	.report_json = api_report_json,
	.figures = api_figures,
	.j_object = api_j_object,
	.j_array = api_j_array,
	.j_int = api_j_int,
	.j_number = api_j_number,
	.j_text = api_j_text,
	.j_date = api_j_date,
	.j_bool = api_j_bool,
	.j_null = api_j_null,
	.previous = api_previous,
	.previous_as_of = api_previous_as_of,
	.notify = api_notify,
	.setting_texts = api_setting_texts,
};

const struct ob_api *ob_run_api(void)
{
	return &api;
}

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

const struct ob_doc *ob_ctx_document(struct ob_ctx *ctx)
{
	return RC(ctx)->doc;
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

/* The run's notices into run_notices, NOTICE_BULK rows a statement (one
 * round trip each, not one a notice). */
#define NOTICE_BULK 500
static int record_notices(struct run_ctx *rc, struct ob_err *err)
{
	struct ob_db_param *p = ob_xcalloc(NOTICE_BULK * 6, sizeof(*p));
	char **kv = ob_xcalloc(NOTICE_BULK, sizeof(*kv));
	const cJSON *n;
	size_t k = 0;
	int seq = 0, ok = 1;

	cJSON_ArrayForEach(n, rc->notices)
	{
		kv[k] = cJSON_PrintUnformatted(cJSON_GetObjectItem(n, "kv"));
		p[k * 6] = ob_p_int((long long)rc->id);
		p[k * 6 + 1] = ob_p_int(++seq);
		p[k * 6 + 2] = ob_p_str(cJSON_GetObjectItem(n, "recipient")->valuestring);
		p[k * 6 + 3] = ob_p_str(cJSON_GetObjectItem(n, "dedupe_key")->valuestring);
		p[k * 6 + 4] = ob_p_str(cJSON_GetObjectItem(n, "template")->valuestring);
		p[k * 6 + 5] = ob_p_str(kv[k]);
		if (++k == NOTICE_BULK || n->next == NULL) {
			ok = ob_db_exec_bulk(rc->db,
					     "INSERT INTO run_notices (run_id, seq, recipient, dedupe_key, template, kv) "
					     "VALUES (?, ?, ?, ?, ?, ?)",
					     p, 6, k, err) == 0;
			while (k > 0)
				cJSON_free(kv[--k]);
			if (!ok)
				break;
		}
	}
	free(p);
	free(kv);
	return ok ? 0 : -1;
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
	if (ok)
		ok = record_notices(rc, err) == 0;
	/* The run's mail: in this transaction, so the run ends with all of it or none. */
	if (ok && strcmp(status, "succeeded") == 0 && cJSON_GetArraySize(rc->notices) > 0) {
		const char *t = ob_doc_title(rc->doc);
		struct ob_outbox_run run = {rc->id,
					    rc->report,
					    t && t[0] ? t : NULL,
					    rc->org_id ? atoll(rc->org_id) : 0,
					    rc->org_name,
					    rc->as_of,
					    rc->dry_run,
					    rc->pdf_path,
					    rc->notices};
		ok = ob_outbox_compose(rc->cfg, rc->db, &run, &rc->mail, err) == 0;
	}
	if (ok) {
		/* The figures, for the next run's previous; a failed run has none. */
		char *figures = strcmp(status, "succeeded") == 0 && rc->figures ? cJSON_PrintUnformatted(rc->figures) : NULL;
		struct ob_db_param p[4] = {ob_p_str(status), ob_p_str(error), ob_p_str(figures), ob_p_int((long long)rc->id)};
		unsigned long long affected = 0;
		ok = ob_db_exec(rc->db,
				"UPDATE runs SET status = ?, error = ?, figures = ?, finished_at = NOW(3) "
				"WHERE id = ? AND status = 'running'",
				p, 4, &affected, err) == 0;
		cJSON_free(figures);
		if (ok && affected != 1) {
			/* Ended meanwhile (overblikd recorded it failed or timed out):
			 * nothing of this run is kept, no mail goes out. */
			ob_err_setc(err, OB_E_RUN_GONE, 0, "run %llu is no longer running (ended by overblikd meanwhile)",
				    rc->id);
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
	ob_doc_free(rc->doc);
	cJSON_Delete(rc->params);
	cJSON_Delete(rc->notices);
	cJSON_Delete(rc->settings);
	cJSON_Delete(rc->report_json);
	cJSON_Delete(rc->previous);
	for (size_t i = 0; i < rc->nkeep; i++)
		free(rc->keep[i]);
	free(rc->keep);
	free(rc->org_cvr);
	free(rc->org_uuid);
	free(rc->report);
	free(rc->as_of);
	free(rc->org_id);
	free(rc->org_name);
}

/* The previous run (REPORTS.md): the latest earlier succeeded, non-dry run
 * of the same report and organisation whose as_of is not after this one's. */
static int previous_run(struct run_ctx *rc, struct ob_err *err)
{
	struct ob_db_rows *r = NULL;
	struct ob_db_param p[4] = {ob_p_str(rc->report), rc->org_id ? ob_p_str(rc->org_id) : ob_p_null(),
				   ob_p_str(rc->as_of), ob_p_int((long long)rc->id)};
	int ret = 0;

	if (ob_db_query(rc->db,
			"SELECT id, DATE_FORMAT(as_of, '%Y-%m-%d'), figures FROM runs WHERE report = ? AND org_id <=> ? "
			"AND status = 'succeeded' AND dry_run = 0 AND as_of <= ? AND id < ? "
			"ORDER BY as_of DESC, id DESC LIMIT 1",
			p, 4, &r, err) < 0)
		return -1;
	if (r->nrows == 1) {
		const char *f = ob_db_cell(r, 0, 2);
		cJSON *figures = f ? cJSON_Parse(f) : NULL;
		rc->previous = cJSON_CreateObject();
		cJSON_AddNumberToObject(rc->previous, "run", atof(ob_db_cell(r, 0, 0)));
		cJSON_AddStringToObject(rc->previous, "as_of", ob_db_cell(r, 0, 1));
		cJSON_AddItemToObject(rc->previous, "figures", cJSON_IsObject(figures) ? figures : cJSON_CreateObject());
		if (!cJSON_IsObject(figures))
			cJSON_Delete(figures);
	}
	ob_db_rows_free(r);
	return ret;
}

/* The run's document as document.json and the PDF in dir, listed in files
 * (*nfiles of them: document.json is kept for removal though the PDF
 * fails). 0, or -1 with rc->error set. */
static int write_document(struct run_ctx *rc, const char *dir, time_t created, const char *fingerprint,
			  char **files, size_t *nfiles)
{
	char *pdf = ob_xasprintf("%s/%s.pdf", dir, rc->report);
	struct ob_render_meta meta = {rc->org_name, NULL, rc->as_of, rc->id, created, "overblik " PACKAGE_VERSION,
				      rc->org_name, NULL, fingerprint};
	struct ob_render_stats stats = {0};
	struct ob_err err = {{0}};
	struct ob_buf json;
	int ret = -1;

	ob_buf_init(&json, 0);
	ob_doc_to_json(rc->doc, &json);
	if (ob_mkdir_p(dir) < 0) {
		ob_err_set(&err, "cannot create %s: %s", dir, strerror(errno));
	} else if (write_output(dir, "document.json", json.data, json.len, &files[*nfiles], &err) == 0) {
		(*nfiles)++;
		ob_buf_free(&json); /* not kept while the PDF is made */
		if (ob_render_pdf(rc->doc, &meta, pdf, &stats, &err) == 0) {
			files[(*nfiles)++] = pdf;
			rc->pdf_path = pdf;
			pdf = NULL;
			ob_info("run %llu: %s.pdf, %d pages", rc->id, rc->report, stats.pages);
			ret = 0;
		}
	}
	free(pdf);
	ob_buf_free(&json);
	if (ret < 0)
		snprintf(rc->error, sizeof(rc->error), "%s", err.msg);
	return ret;
}

/* Reads run rc->id into rc and marks it running, claimed by this process:
 * 1 to go on; 0 with *code when it is not to be run (not queued, or the
 * database failed). */
static int claim_run(struct run_ctx *rc, time_t *created, int *code)
{
	struct ob_err err = {{0}};
	struct ob_db_rows *r = NULL;
	struct ob_db_param p[1] = {ob_p_int((long long)rc->id)};
	char host[128] = "", *runner;
	unsigned long long affected = 0;
	int u, go = 0;

	if (ob_db_query(rc->db,
			"SELECT r.report, r.as_of, r.params, r.org_id, o.name, r.status, "
			"UNIX_TIMESTAMP(r.queued_at), r.dry_run, o.cvr, o.kitos_uuid FROM runs r "
			"LEFT JOIN organisations o ON o.id = r.org_id WHERE r.id = ?",
			p, 1, &r, &err) < 0 || r->nrows != 1) {
		ob_log(OB_LOG_ERR, "run %llu: %s", rc->id, err.msg[0] ? err.msg : "no such run");
		ob_db_rows_free(r);
		return 0;
	}
	rc->report = ob_xstrdup(ob_db_cell(r, 0, 0));
	rc->as_of = ob_xstrdup(ob_db_cell(r, 0, 1));
	rc->params = cJSON_Parse(ob_db_cell(r, 0, 2));
	if (rc->params == NULL)
		rc->params = cJSON_CreateObject();
	rc->org_id = ob_db_cell(r, 0, 3) ? ob_xstrdup(ob_db_cell(r, 0, 3)) : NULL;
	rc->org_name = ob_db_cell(r, 0, 4) ? ob_xstrdup(ob_db_cell(r, 0, 4)) : NULL;
	rc->org_cvr = ob_db_cell(r, 0, 8) ? ob_xstrdup(ob_db_cell(r, 0, 8)) : NULL;
	rc->org_uuid = ob_db_cell(r, 0, 9) ? ob_xstrdup(ob_db_cell(r, 0, 9)) : NULL;
	rc->rcfg = ob_config_report(rc->cfg, rc->report);
	rc->dry_run = atoi(ob_db_cell(r, 0, 7)) != 0;
	*created = (time_t)atoll(ob_db_cell(r, 0, 6)); /* the run's own time: a re-render gives the same bytes */
	gethostname(host, sizeof(host) - 1);
	runner = ob_xasprintf("%s:%ld", host, (long)getpid());
	{
		struct ob_db_param q[2] = {ob_p_str(runner), ob_p_int((long long)rc->id)};
		u = ob_db_exec(rc->db,
			       "UPDATE runs SET status = 'running', started_at = NOW(3), runner = ? "
			       "WHERE id = ? AND status = 'queued'",
			       q, 2, &affected, &err);
	}
	free(runner);
	if (u < 0)
		ob_log(OB_LOG_ERR, "run %llu: %s", rc->id, err.msg);
	else if (affected != 1) { /* ended already (abandoned at shutdown), or taken by another worker */
		ob_log(OB_LOG_NOTICE, "run %llu: is not queued (status %s): not running it", rc->id, ob_db_cell(r, 0, 5));
		*code = OB_RUN_EXIT_NOT_QUEUED;
	} else
		go = 1;
	ob_db_rows_free(r);
	return go;
}

/* The run fails before its plugin ran, with why: the exit code. */
static int fail_early(struct run_ctx *rc, const char *why)
{
	struct ob_err err = {{0}};
	int code = record(rc, "failed", why, NULL, 0, &err) == 0 ? OB_RUN_EXIT_FAILED : OB_RUN_EXIT_UNRECORDED;

	ob_log(OB_LOG_ERR, "run %llu: %s", rc->id, why);
	return code;
}

/* Its plugin, on one read-only snapshot: 0 it succeeded, -1 not. */
static int call_plugin(struct run_ctx *rc, const struct ob_loaded_plugin *plugin)
{
	struct ob_err err = {{0}};
	void *state = NULL;
	int prc;

	ob_info("run %llu: %s %s as of %s%s%s", rc->id, plugin->name, plugin->version, rc->as_of,
		rc->org_name ? " for " : "", rc->org_name ? rc->org_name : "");
	/* The plugin reads one snapshot of the portfolio and cannot change it. */
	prc = ob_db_begin_read_only(rc->db, &err);
	if (prc < 0)
		snprintf(rc->error, sizeof(rc->error), "%s", err.msg);
	if (prc == 0 && plugin->desc->size >= offsetof(struct ob_plugin, init) + sizeof(plugin->desc->init) &&
	    plugin->desc->init)
		prc = plugin->desc->init(&rc->pub, &state);
	if (prc == 0)
		prc = plugin->desc->run(&rc->pub, state);
	if (plugin->desc->size >= offsetof(struct ob_plugin, fini) + sizeof(plugin->desc->fini) && plugin->desc->fini)
		plugin->desc->fini(state);
	ob_db_rollback(rc->db); /* nothing to keep: it could not write */
	return prc;
}

/* The fingerprint of the data a run's PDF was made from, printed in its
 * footer so that a page on paper can be traced to its run: the first 12 hex
 * digits of the SHA-256 of REPORT.json's root object without its members
 * "run" and "previous" (which differ between two runs over the same data),
 * printed as compact JSON: the members in REPORT.json's order, no
 * whitespace, strings in UTF-8 with only '"', '\\' and control characters
 * escaped, numbers as REPORT.json writes them -- what Python's
 * json.dumps(obj, ensure_ascii=False, separators=(",", ":")) gives for the
 * file read back. Two runs of a report for the same organisation, as_of and
 * portfolio have the same fingerprint; a changed row or figure changes it.
 * Writes hex (13 bytes); 0, or -1 (out of memory, OpenSSL) leaving "". */
static int report_fingerprint(const cJSON *report_json, char hex[13])
{
	cJSON *copy = cJSON_Duplicate(report_json, 1);
	char *text = NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int rc = -1;

	hex[0] = '\0';
	if (copy == NULL)
		return -1;
	cJSON_DeleteItemFromObjectCaseSensitive(copy, "run");
	cJSON_DeleteItemFromObjectCaseSensitive(copy, "previous");
	text = cJSON_PrintUnformatted(copy);
	if (text && EVP_Digest(text, strlen(text), md, &mdlen, EVP_sha256(), NULL) == 1 && mdlen >= 6) {
		for (unsigned i = 0; i < 6; i++)
			snprintf(hex + 2 * i, 3, "%02x", md[i]);
		rc = 0;
	}
	cJSON_free(text);
	cJSON_Delete(copy);
	return rc;
}

/* REPORT.json: every figure and row, for machines. 0, or -1 with rc->error. */
static int write_report_json(struct run_ctx *rc, const char *dir, char **files, size_t *nfiles)
{
	struct ob_err err = {{0}};
	char *text = cJSON_Print(rc->report_json), *name = ob_xasprintf("%s.json", rc->report);
	int prc = 0;

	if (ob_mkdir_p(dir) < 0) {
		ob_err_set(&err, "cannot create %s: %s", dir, strerror(errno));
		prc = -1;
	} else if (write_output(dir, name, text, strlen(text), &files[*nfiles], &err) < 0)
		prc = -1;
	else
		(*nfiles)++;
	if (prc < 0)
		snprintf(rc->error, sizeof(rc->error), "%s", err.msg);
	free(name);
	cJSON_free(text);
	return prc;
}

/* Records a run whose plugin succeeded, with its files and mail (trying
 * again when another run's lock met it): the exit code. */
static int record_success(struct run_ctx *rc, char **files, size_t nfiles)
{
	struct ob_err err = {{0}};
	int recorded = -1;

	for (int attempt = 1; attempt <= 3; attempt++) {
		recorded = record(rc, "succeeded", NULL, files, nfiles, &err);
		/* Two runs composing mail with the same keys at once can
		 * deadlock: InnoDB rolls one back; it tries again. */
		if (recorded == 0 || attempt == 3 || (err.code != OB_E_DEADLOCK && err.code != OB_E_LOCK_TIMEOUT))
			break;
		ob_log(OB_LOG_NOTICE, "run %llu: recording met another run's lock (%s): trying again", rc->id, err.msg);
		ob_err_clear(&err);
	}
	if (recorded == 0) {
		if (rc->mail.messages || rc->mail.skipped)
			ob_info("run %llu: %u message%s with %u item%s %s the outbox%s%u item%s mailed before", rc->id,
				rc->mail.messages, rc->mail.messages == 1 ? "" : "s", rc->mail.items,
				rc->mail.items == 1 ? "" : "s", rc->dry_run ? "stored (dry run) in" : "queued in", "; ",
				rc->mail.skipped, rc->mail.skipped == 1 ? "" : "s");
		return OB_RUN_EXIT_SUCCEEDED;
	}
	if (err.code == OB_E_RUN_GONE) {
		/* overblikd ended it meanwhile (timeout, shutdown) and said why. */
		ob_log(OB_LOG_NOTICE, "run %llu: %s: nothing of it is kept", rc->id, err.msg);
		return OB_RUN_EXIT_FAILED;
	}
	/* Most likely its mail could not be made (a template, an address):
	 * the run fails with that, keeping nothing. */
	char why[1100];
	snprintf(why, sizeof(why), "cannot record its result: %s", err.msg);
	ob_log(OB_LOG_ERR, "run %llu: %s", rc->id, why);
	ob_err_clear(&err);
	cJSON_Delete(rc->notices);
	rc->notices = cJSON_CreateArray();
	return record(rc, "failed", why, NULL, 0, &err) == 0 ? OB_RUN_EXIT_FAILED : OB_RUN_EXIT_UNRECORDED;
}

/* A failed run keeps no files and sends nothing: the exit code. */
static int record_failure(struct run_ctx *rc)
{
	struct ob_err err = {{0}};
	const char *why = rc->error[0] ? rc->error : "the plugin reported failure";

	cJSON_Delete(rc->notices);
	rc->notices = cJSON_CreateArray();
	if (record(rc, "failed", why, NULL, 0, &err) == 0)
		return OB_RUN_EXIT_FAILED;
	ob_log(OB_LOG_ERR, "run %llu: cannot record its failure: %s", rc->id, err.msg);
	return OB_RUN_EXIT_UNRECORDED;
}

int ob_run_execute(const struct ob_config *cfg, unsigned long long id)
{
	struct run_ctx rc;
	struct ob_err err = {{0}};
	struct ob_loaded_plugin plugin = {0};
	char *dir = NULL, *files[3] = {NULL, NULL, NULL}, fingerprint[13] = "";
	size_t nfiles = 0;
	int code = OB_RUN_EXIT_UNRECORDED, prc, have_plugin = 0;
	time_t created = 0;

	memset(&rc, 0, sizeof(rc));
	current = &rc;
	rc.pub.api = &api;
	rc.cfg = cfg;
	rc.id = id;
	rc.notices = cJSON_CreateArray();
	if (ob_db_open(cfg, &rc.db, &err) < 0) {
		ob_log(OB_LOG_ERR, "run %llu: %s", id, err.msg);
		goto out;
	}
	if (!claim_run(&rc, &created, &code))
		goto out;
	prc = ob_plugin_load_one(cfg->plugin_dir, rc.report, &plugin, &err);
	if (prc <= 0) {
		char *why = prc == 0 ? ob_xasprintf("no plugin %s.so in %s", rc.report, cfg->plugin_dir)
				     : ob_xstrdup(err.msg);
		code = fail_early(&rc, why);
		free(why);
		goto out;
	}
	have_plugin = 1;
	rc.desc = plugin.desc;
	/* Its settings as it declares them: a bad one fails the run, named. */
	if (ob_settings_resolve(plugin.desc, rc.report, rc.rcfg ? rc.rcfg->settings_json : NULL, &rc.settings, &err) <
		    0 ||
	    previous_run(&rc, &err) < 0) {
		code = fail_early(&rc, err.msg);
		goto out;
	}
	prc = call_plugin(&rc, &plugin);
	dir = ob_xasprintf("%s/runs/%llu", cfg->state_dir, id);
	/* REPORT.json first: its fingerprint goes into the PDF's footer. A
	 * run without REPORT.json has a PDF without one. */
	if (rc.report_json && prc == 0) {
		prc = write_report_json(&rc, dir, files, &nfiles);
		if (prc == 0 && report_fingerprint(rc.report_json, fingerprint) < 0) {
			snprintf(rc.error, sizeof(rc.error), "%s.json: cannot compute its fingerprint", rc.report);
			prc = -1;
		}
	}
	if (rc.doc && prc == 0)
		prc = write_document(&rc, dir, created, fingerprint[0] ? fingerprint : NULL, files, &nfiles);
	code = prc == 0 ? record_success(&rc, files, nfiles) : record_failure(&rc);
out:
	/* A run that did not succeed has no run_files rows: what it wrote
	 * (a document, a PDF, half of one) goes, not left unlisted. */
	if (dir && code != OB_RUN_EXIT_SUCCEEDED)
		ob_run_remove_files(cfg->state_dir, id);
	if (have_plugin)
		ob_plugin_unload(&plugin);
	for (size_t i = 0; i < OB_ARRAY_LEN(files); i++)
		free(files[i]);
	free(dir);
	ob_db_close(rc.db);
	ctx_free(&rc);
	current = NULL;
	return code;
}
