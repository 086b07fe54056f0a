/* fake_api.c - a fake of the plugin API for plugin unit tests; see
 * fake_api.h. It checks what the core would refuse (a query that is not
 * read-only or not bound to the organisation, a bad notice, a number cell
 * in Danish form) and counts it, so a test can assert none happened. */
#include "fake_api.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fake_core.h"

struct canned {
	char *part;
	char **cols;
	size_t ncols;
	char **cells;
	size_t nrows;
};

struct ob_rows {
	struct fake *f;
	const struct canned *c; /* NULL: empty */
};

struct ob_doc {
	struct fake *f;
};

struct ob_table {
	struct fake *f;
	size_t idx;
	enum ob_format *formats;
};

struct setting {
	const struct ob_setting *decl;
	cJSON *value;
	long long *ints;
	size_t nints;
	const char **texts; /* CHOICE_LIST: into value */
	size_t ntexts;
};

struct priv {
	struct setting *settings;
	size_t nsettings;
	struct canned *canned;
	size_t ncanned;
	void **allocs; /* freed by fake_reset */
	size_t nallocs;
	struct ob_doc doc;
	long long empty_ints[1];
	const char *empty_texts[1];
};

#define PRIV(f) ((struct priv *)(f)->priv)
#define FAKE(ctx) ((struct fake *)(ctx))

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (p == NULL)
		abort();
	return p;
}

static char *xstrdup(const char *s)
{
	char *p = strdup(s ? s : "");
	if (p == NULL)
		abort();
	return p;
}

static void *grow(void *p, size_t n, size_t size)
{
	void *q = realloc(p, (n ? n : 1) * size);
	if (q == NULL)
		abort();
	return q;
}

static void *keep(struct fake *f, void *p)
{
	struct priv *pv = PRIV(f);
	pv->allocs = grow(pv->allocs, pv->nallocs + 1, sizeof(void *));
	pv->allocs[pv->nallocs++] = p;
	return p;
}

static void add_text(struct fake *f, const char *s)
{
	size_t n = strlen(s ? s : "");
	f->doc_text = grow(f->doc_text, f->doc_len + n + 2, 1);
	memcpy(f->doc_text + f->doc_len, s ? s : "", n);
	f->doc_len += n;
	f->doc_text[f->doc_len++] = '\n';
	f->doc_text[f->doc_len] = '\0';
}

static void misuse(struct fake *f, const char *what)
{
	f->errors++;
	fprintf(stderr, "# fake api: %s\n", what);
}

/* The run. */
static const char *api_as_of(struct ob_ctx *ctx) { return FAKE(ctx)->as_of; }
static const char *api_param(struct ob_ctx *ctx, const char *key) { return NULL; }
static const char *api_org_id(struct ob_ctx *ctx) { return FAKE(ctx)->org_id; }
static const char *api_org_name(struct ob_ctx *ctx) { return FAKE(ctx)->org_name; }

static void api_log(struct ob_ctx *ctx, int level, const char *fmt, ...)
{
	va_list ap;
	if (level <= OB_PLOG_ERR)
		FAKE(ctx)->errors++;
	fprintf(stderr, "# plugin log %d: ", level);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
}

/* Settings. */
static const struct ob_setting *decl_at(const struct ob_plugin *p, size_t i)
{
	return (const struct ob_setting *)((const char *)p->settings + i * p->settings[0].size);
}

static struct setting *find_setting(struct fake *f, const char *name, enum ob_setting_type t1,
				    enum ob_setting_type t2)
{
	struct priv *pv = PRIV(f);
	for (size_t i = 0; name && i < pv->nsettings; i++)
		if (strcmp(pv->settings[i].decl->name, name) == 0) {
			if (pv->settings[i].decl->type != t1 && pv->settings[i].decl->type != t2)
				break;
			return &pv->settings[i];
		}
	misuse(f, "a setting read that the plugin did not declare, or as another type");
	return NULL;
}

static long long api_setting_int(struct ob_ctx *ctx, const char *name)
{
	struct setting *s = find_setting(FAKE(ctx), name, OB_SETTING_INT, OB_SETTING_INT);
	return s && cJSON_IsNumber(s->value) ? (long long)s->value->valuedouble : 0;
}

static size_t api_setting_ints(struct ob_ctx *ctx, const char *name, const long long **values)
{
	struct setting *s = find_setting(FAKE(ctx), name, OB_SETTING_INT_LIST, OB_SETTING_INT_LIST);
	*values = PRIV(FAKE(ctx))->empty_ints;
	if (s == NULL)
		return 0;
	*values = s->ints;
	return s->nints;
}

static size_t api_setting_texts(struct ob_ctx *ctx, const char *name, const char *const **values)
{
	struct setting *s = find_setting(FAKE(ctx), name, OB_SETTING_CHOICE_LIST, OB_SETTING_CHOICE_LIST);
	*values = (const char *const *)PRIV(FAKE(ctx))->empty_texts;
	if (s == NULL)
		return 0;
	*values = (const char *const *)s->texts;
	return s->ntexts;
}

static const char *api_setting_text(struct ob_ctx *ctx, const char *name)
{
	struct setting *s = find_setting(FAKE(ctx), name, OB_SETTING_CHOICE, OB_SETTING_TEXT);
	return s && cJSON_IsString(s->value) ? s->value->valuestring : NULL;
}

static int api_setting_bool(struct ob_ctx *ctx, const char *name)
{
	struct setting *s = find_setting(FAKE(ctx), name, OB_SETTING_BOOL, OB_SETTING_BOOL);
	return s && cJSON_IsTrue(s->value);
}

/* A value checked by the core's own rules for the declaration (type,
 * range, choices), as the core checks the configuration. */
static int set_value(struct setting *s, const char *json)
{
	char why[1024];
	cJSON *v;

	if (fake_check_setting(s->decl, json, why, sizeof(why)) < 0 || (v = cJSON_Parse(json)) == NULL)
		return -1;
	cJSON_Delete(s->value);
	free(s->ints);
	free(s->texts);
	s->value = v;
	s->ints = NULL;
	s->nints = 0;
	s->texts = NULL;
	s->ntexts = 0;
	if (s->decl->type == OB_SETTING_INT_LIST) {
		s->ints = xcalloc((size_t)cJSON_GetArraySize(v) + 1, sizeof(long long));
		for (cJSON *e = v->child; e; e = e->next)
			s->ints[s->nints++] = (long long)e->valuedouble;
	} else if (s->decl->type == OB_SETTING_CHOICE_LIST) {
		s->texts = xcalloc((size_t)cJSON_GetArraySize(v) + 1, sizeof(char *));
		for (cJSON *e = v->child; e; e = e->next)
			s->texts[s->ntexts++] = e->valuestring;
	}
	return 0;
}

int fake_setting(struct fake *f, const char *name, const char *json)
{
	struct priv *pv = PRIV(f);
	for (size_t i = 0; i < pv->nsettings; i++)
		if (strcmp(pv->settings[i].decl->name, name) == 0)
			return set_value(&pv->settings[i], json);
	return -1;
}

/* Queries. */
static int read_only(const char *sql)
{
	while (isspace((unsigned char)*sql) || *sql == '(')
		sql++;
	return strncasecmp(sql, "SELECT", 6) == 0 || strncasecmp(sql, "WITH", 4) == 0;
}

static int api_query(struct ob_ctx *ctx, const char *sql, const char *const *params, size_t n,
		     struct ob_rows **out)
{
	struct fake *f = FAKE(ctx);
	struct priv *pv = PRIV(f);
	struct ob_rows *r = keep(f, xcalloc(1, sizeof(*r)));
	size_t marks = 0;
	int org = 0;

	f->nqueries++;
	for (const char *p = sql; *p; p++)
		marks += *p == '?';
	for (size_t i = 0; i < n; i++)
		org |= params[i] != NULL && strcmp(params[i], f->org_id) == 0;
	if (!read_only(sql) || marks != n || !org) {
		f->bad_queries++;
		fprintf(stderr, "# fake api: a query not read-only, with %zu marks for %zu values, or not "
				"bound to the organisation: %s\n",
			marks, n, sql);
	}
	r->f = f;
	for (size_t i = pv->ncanned; i-- > 0;)
		if (strstr(sql, pv->canned[i].part)) {
			r->c = &pv->canned[i];
			break;
		}
	if (r->c == NULL)
		f->unmatched++;
	*out = r;
	return 0;
}

static size_t api_nrows(const struct ob_rows *r) { return r && r->c ? r->c->nrows : 0; }

static const char *api_cell(const struct ob_rows *r, size_t row, const char *col)
{
	if (r == NULL || r->c == NULL || row >= r->c->nrows)
		return NULL;
	for (size_t j = 0; j < r->c->ncols; j++)
		if (strcmp(r->c->cols[j], col) == 0)
			return r->c->cells[row * r->c->ncols + j];
	misuse(r->f, "cell: a column the query does not have");
	return NULL;
}

void fake_rows(struct fake *f, const char *sql_part, const char *const *cols, size_t ncols,
	       const char *const *cells, size_t nrows)
{
	struct priv *pv = PRIV(f);
	struct canned *c;

	pv->canned = grow(pv->canned, pv->ncanned + 1, sizeof(*pv->canned));
	c = &pv->canned[pv->ncanned++];
	c->part = xstrdup(sql_part);
	c->ncols = ncols;
	c->nrows = nrows;
	c->cols = xcalloc(ncols, sizeof(char *));
	c->cells = xcalloc(ncols * nrows, sizeof(char *));
	for (size_t j = 0; j < ncols; j++)
		c->cols[j] = xstrdup(cols[j]);
	for (size_t i = 0; i < ncols * nrows; i++)
		c->cells[i] = cells[i] ? xstrdup(cells[i]) : NULL;
}

static int api_end_of(const char *date, enum ob_period p, char *out)
{
	return fake_cal_end_of(date, (int)p, out);
}

static int api_number_da(double value, int decimals, char *out, size_t size)
{
	return fake_number_da(value, decimals, out, size);
}

/* The document. */
static struct ob_doc *api_doc(struct ob_ctx *ctx) { return &PRIV(FAKE(ctx))->doc; }

static int api_title(struct ob_doc *d, const char *title, const char *subtitle)
{
	d->f->doc.title++;
	add_text(d->f, title);
	add_text(d->f, subtitle);
	return 0;
}

static int api_section(struct ob_doc *d, int level, const char *title, unsigned flags)
{
	if (level != 1 && level != 2) {
		misuse(d->f, "section: level is 1 or 2");
		return -1;
	}
	d->f->doc.section++;
	add_text(d->f, title);
	return 0;
}

static int api_para(struct ob_doc *d, const char *fmt, ...)
{
	char buf[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	d->f->doc.para++;
	add_text(d->f, buf);
	return 0;
}

static int api_para_runs(struct ob_doc *d, const struct ob_text_run *runs, size_t n)
{
	d->f->doc.para++;
	for (size_t i = 0; i < n; i++)
		add_text(d->f, runs[i].text);
	return 0;
}

static int api_bullets(struct ob_doc *d, const char *const *items, size_t n)
{
	if (n == 0) {
		misuse(d->f, "bullets: an empty list");
		return -1;
	}
	d->f->doc.bullets++;
	d->f->doc.bullet_items += n;
	for (size_t i = 0; i < n; i++)
		add_text(d->f, items[i]);
	return 0;
}

static int api_kpi(struct ob_doc *d, const struct ob_kpi *k)
{
	if (k->size < sizeof(uint32_t) + sizeof(const char *) || k->label == NULL || !isfinite(k->value)) {
		misuse(d->f, "kpi: no size, label or value");
		return -1;
	}
	d->f->doc.kpi++;
	d->f->doc.kpi_previous += k->has_previous != 0;
	add_text(d->f, k->label);
	return 0;
}

static struct ob_table *api_table(struct ob_doc *d, const struct ob_column *cols, size_t ncols)
{
	struct fake *f = d->f;
	struct ob_table *t;
	size_t stride;

	if (ncols == 0 || cols[0].size == 0) {
		misuse(f, "table: no columns, or columns without OB_INIT");
		return NULL;
	}
	stride = cols[0].size;
	t = keep(f, xcalloc(1, sizeof(*t)));
	t->f = f;
	t->formats = keep(f, xcalloc(ncols, sizeof(*t->formats)));
	f->tables = grow(f->tables, f->ntables + 1, sizeof(*f->tables));
	t->idx = f->ntables++;
	memset(&f->tables[t->idx], 0, sizeof(f->tables[t->idx]));
	f->tables[t->idx].ncols = ncols;
	for (size_t i = 0; i < ncols; i++) {
		const struct ob_column *c = (const struct ob_column *)((const char *)cols + i * stride);
		t->formats[i] = c->format;
		add_text(f, c->header);
		if (i == 0)
			f->tables[t->idx].first_header = xstrdup(c->header);
	}
	f->doc.table++;
	return t;
}

/* A C-locale number ("1234.5", "-3") or an empty cell. */
static int c_number(const char *s)
{
	char *end;
	if (*s == '\0')
		return 1;
	strtod(s, &end);
	return *end == '\0' && strchr(s, ',') == NULL;
}

static int api_row(struct ob_table *t, const char *const *cells, enum ob_status status)
{
	struct fake *f = t->f;
	struct fake_table *ft = &f->tables[t->idx];

	for (size_t i = 0; i < ft->ncols; i++) {
		const char *s = cells[i] ? cells[i] : "";
		char tmp[OB_DATE_SIZE];
		if (((t->formats[i] == OB_FMT_NUMBER || t->formats[i] == OB_FMT_PERCENT) && !c_number(s)) ||
		    (t->formats[i] == OB_FMT_DATE && *s && fake_cal_end_of(s, OB_PERIOD_NONE, tmp) < 0)) {
			f->bad_cells++;
			fprintf(stderr, "# fake api: table %zu column %zu: \"%s\" is not in C-locale form\n", t->idx, i, s);
		}
		add_text(f, s);
	}
	if ((unsigned)status > OB_STATUS_RED) {
		misuse(f, "row: a status out of range");
		return -1;
	}
	ft->nrows++;
	ft->nstatus[status]++;
	f->doc.row++;
	return 0;
}

static int api_cell_status(struct ob_table *t, size_t col, enum ob_status status)
{
	if (t->f->tables[t->idx].nrows == 0 || col >= t->f->tables[t->idx].ncols) {
		misuse(t->f, "cell_status: no row yet, or no such column");
		return -1;
	}
	return 0;
}

static int api_chart(struct ob_doc *d, const struct ob_chart *c)
{
	if (c->size == 0 || c->nlabels == 0 || c->nseries == 0 || c->series[0].size == 0) {
		misuse(d->f, "chart: no labels, no series, or without OB_INIT");
		return -1;
	}
	for (size_t s = 0; s < c->nseries; s++) {
		const struct ob_series *se =
			(const struct ob_series *)((const char *)c->series + s * c->series[0].size);
		for (size_t i = 0; i < c->nlabels; i++)
			if (!isfinite(se->values[i])) {
				misuse(d->f, "chart: a value that is not a number");
				return -1;
			}
		add_text(d->f, se->name);
	}
	d->f->doc.chart++;
	add_text(d->f, c->title);
	for (size_t i = 0; i < c->nlabels; i++)
		add_text(d->f, c->labels[i]);
	return 0;
}

static int api_note(struct ob_doc *d, const char *fmt, ...)
{
	char buf[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	d->f->doc.note++;
	add_text(d->f, buf);
	return 0;
}

/* REPORT.json: struct ob_json is a cJSON node. */
#define J(x) ((cJSON *)(x))

static int put(struct ob_json *parent, const char *key, cJSON *item)
{
	cJSON *p = J(parent);
	if (p == NULL || item == NULL || (key == NULL && !cJSON_IsArray(p)) || (key != NULL && !cJSON_IsObject(p))) {
		cJSON_Delete(item);
		fprintf(stderr, "# fake api: j_*: a key into an array, or none into an object\n");
		return -1;
	}
	if (key == NULL)
		cJSON_AddItemToArray(p, item);
	else if (cJSON_GetObjectItemCaseSensitive(p, key))
		cJSON_ReplaceItemInObjectCaseSensitive(p, key, item);
	else
		cJSON_AddItemToObject(p, key, item);
	return 0;
}

static struct ob_json *api_report_json(struct ob_ctx *ctx) { return (struct ob_json *)FAKE(ctx)->report; }

static struct ob_json *api_figures(struct ob_ctx *ctx)
{
	return (struct ob_json *)cJSON_GetObjectItemCaseSensitive(FAKE(ctx)->report, "figures");
}

static struct ob_json *api_j_object(struct ob_json *parent, const char *key)
{
	cJSON *o = cJSON_CreateObject();
	return put(parent, key, o) == 0 ? (struct ob_json *)o : NULL;
}

static struct ob_json *api_j_array(struct ob_json *parent, const char *key)
{
	cJSON *a = cJSON_CreateArray();
	return put(parent, key, a) == 0 ? (struct ob_json *)a : NULL;
}

static int api_j_int(struct ob_json *parent, const char *key, long long value)
{
	return put(parent, key, cJSON_CreateNumber((double)value));
}

static int api_j_number(struct ob_json *parent, const char *key, double value, int decimals)
{
	double m = pow(10, decimals < 0 ? 0 : decimals > 9 ? 9 : decimals);
	if (!isfinite(value))
		return -1;
	return put(parent, key, cJSON_CreateNumber(round(value * m) / m));
}

static int api_j_text(struct ob_json *parent, const char *key, const char *text)
{
	return put(parent, key, text ? cJSON_CreateString(text) : cJSON_CreateNull());
}

static int api_j_date(struct ob_json *parent, const char *key, const char *date)
{
	char tmp[OB_DATE_SIZE];
	if (date != NULL && fake_cal_end_of(date, OB_PERIOD_NONE, tmp) < 0) {
		fprintf(stderr, "# fake api: j_date: \"%s\" is not a date\n", date);
		return -1;
	}
	return put(parent, key, date ? cJSON_CreateString(date) : cJSON_CreateNull());
}

static int api_j_bool(struct ob_json *parent, const char *key, int value)
{
	return put(parent, key, cJSON_CreateBool(value != 0));
}

static int api_j_null(struct ob_json *parent, const char *key) { return put(parent, key, cJSON_CreateNull()); }

static const cJSON *walk(const cJSON *node, const char *path)
{
	char part[256];
	while (node && path && *path) {
		size_t n = strcspn(path, "/");
		if (n >= sizeof(part))
			return NULL;
		memcpy(part, path, n);
		part[n] = '\0';
		path += n + (path[n] == '/');
		if (cJSON_IsArray(node))
			node = cJSON_GetArrayItem(node, atoi(part));
		else
			node = cJSON_GetObjectItemCaseSensitive(node, part);
	}
	return node;
}

static int api_previous(struct ob_ctx *ctx, const char *path, double *value)
{
	const cJSON *n = FAKE(ctx)->previous ? walk(FAKE(ctx)->previous, path) : NULL;
	if (!cJSON_IsNumber(n))
		return 0;
	*value = n->valuedouble;
	return 1;
}

static const char *api_previous_as_of(struct ob_ctx *ctx) { return FAKE(ctx)->previous_as_of; }

void fake_previous(struct fake *f, const char *figures_json, const char *as_of)
{
	cJSON_Delete(f->previous);
	free(f->previous_as_of);
	f->previous = figures_json ? cJSON_Parse(figures_json) : NULL;
	f->previous_as_of = figures_json && as_of ? xstrdup(as_of) : NULL;
}

/* Notifications. */
static int recipient_ok(const char *r)
{
	static const char *const roles[] = {"asg", "direktion", "isk", "indkoeb", "iod", "it_support"};
	if (r == NULL)
		return 0;
	if (strncmp(r, "owner:", 6) == 0)
		return r[6] != '\0' && strspn(r + 6, "0123456789") == strlen(r + 6);
	for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
		if (strcmp(r, roles[i]) == 0)
			return 1;
	return 0;
}

static int api_notify(struct ob_ctx *ctx, const struct ob_notice *n)
{
	struct fake *f = FAKE(ctx);
	struct fake_notice *c;
	size_t nkv = 0;

	if (n->size < sizeof(struct ob_notice) || !recipient_ok(n->recipient) || n->dedupe_key == NULL ||
	    strlen(n->dedupe_key) > 200 || n->template == NULL) {
		misuse(f, "notify: no size, a bad recipient, no or a long key, or no template");
		return -1;
	}
	while (n->kv && n->kv[nkv])
		nkv++;
	if (nkv % 2 != 0) {
		misuse(f, "notify: kv has a key without a value");
		return -1;
	}
	f->notices = grow(f->notices, f->nnotices + 1, sizeof(*f->notices));
	c = &f->notices[f->nnotices++];
	c->recipient = xstrdup(n->recipient);
	c->key = xstrdup(n->dedupe_key);
	c->template = xstrdup(n->template);
	c->flags = n->flags;
	c->kv = xcalloc(nkv + 1, sizeof(char *));
	for (size_t i = 0; i < nkv; i++)
		c->kv[i] = xstrdup(n->kv[i]);
	return 0;
}

size_t fake_count(const struct fake *f, const char *recipient, const char *key_prefix)
{
	size_t k = 0;
	for (size_t i = 0; i < f->nnotices; i++)
		k += (recipient == NULL || strcmp(f->notices[i].recipient, recipient) == 0) &&
		     (key_prefix == NULL || strncmp(f->notices[i].key, key_prefix, strlen(key_prefix)) == 0);
	return k;
}

const struct fake_notice *fake_find(const struct fake *f, const char *recipient, const char *key)
{
	for (size_t i = 0; i < f->nnotices; i++)
		if (strcmp(f->notices[i].recipient, recipient) == 0 && strcmp(f->notices[i].key, key) == 0)
			return &f->notices[i];
	return NULL;
}

const char *fake_kv(const struct fake_notice *n, const char *key)
{
	for (size_t i = 0; n && n->kv[i]; i += 2)
		if (strcmp(n->kv[i], key) == 0)
			return n->kv[i + 1];
	return NULL;
}

const cJSON *fake_json(const struct fake *f, const char *path) { return walk(f->report, path); }

void fake_org(struct fake *f, const char *id, const char *name)
{
	free(f->org_id);
	free(f->org_name);
	f->org_id = xstrdup(id);
	f->org_name = xstrdup(name);
	cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(f->report, "organisation"), "name",
					       cJSON_CreateString(f->org_name));
}

/* Life. */
static void start_report(struct fake *f)
{
	cJSON *org;
	f->report = cJSON_CreateObject();
	cJSON_AddStringToObject(f->report, "report", f->plugin->name);
	cJSON_AddNumberToObject(f->report, "format", 1);
	cJSON_AddStringToObject(f->report, "as_of", f->as_of);
	cJSON_AddNumberToObject(f->report, "run", 1);
	org = cJSON_AddObjectToObject(f->report, "organisation");
	cJSON_AddStringToObject(org, "name", f->org_name);
	cJSON_AddObjectToObject(f->report, "figures");
	cJSON_AddNullToObject(f->report, "previous");
}

struct fake *fake_new(const struct ob_plugin *p, const char *as_of)
{
	struct fake *f = xcalloc(1, sizeof(*f));
	struct priv *pv = xcalloc(1, sizeof(*pv));

	f->priv = pv;
	f->plugin = p;
	f->ctx.api = &f->api;
	snprintf(f->as_of, sizeof(f->as_of), "%s", as_of);
	f->org_id = xstrdup("1");
	f->org_name = xstrdup("Testkommune");
	pv->doc.f = f;
	f->api = (struct ob_api){
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
		.setting_texts = api_setting_texts,
		.query = api_query,
		.nrows = api_nrows,
		.cell = api_cell,
		.add_months = fake_cal_add_months,
		.end_of = api_end_of,
		.days = fake_cal_days,
		.date_da = fake_cal_date_da,
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
	};
	pv->nsettings = p->settings ? p->nsettings : 0;
	pv->settings = xcalloc(pv->nsettings, sizeof(*pv->settings));
	for (size_t i = 0; i < pv->nsettings; i++) {
		pv->settings[i].decl = decl_at(p, i);
		if (set_value(&pv->settings[i], pv->settings[i].decl->def) < 0)
			misuse(f, "a declared setting whose default is not a JSON value of its type");
	}
	start_report(f);
	return f;
}

void fake_reset(struct fake *f)
{
	struct priv *pv = PRIV(f);
	for (size_t i = 0; i < f->nnotices; i++) {
		for (size_t j = 0; f->notices[i].kv[j]; j++)
			free(f->notices[i].kv[j]);
		free(f->notices[i].kv);
		free(f->notices[i].recipient);
		free(f->notices[i].key);
		free(f->notices[i].template);
	}
	free(f->notices);
	f->notices = NULL;
	f->nnotices = 0;
	for (size_t i = 0; i < f->ntables; i++)
		free(f->tables[i].first_header);
	free(f->tables);
	f->tables = NULL;
	f->ntables = 0;
	for (size_t i = 0; i < pv->nallocs; i++)
		free(pv->allocs[i]);
	free(pv->allocs);
	pv->allocs = NULL;
	pv->nallocs = 0;
	free(f->doc_text);
	f->doc_text = NULL;
	f->doc_len = 0;
	memset(&f->doc, 0, sizeof(f->doc));
	f->bad_cells = f->nqueries = f->bad_queries = f->unmatched = f->errors = 0;
	cJSON_Delete(f->report);
	start_report(f);
}

int fake_run(struct fake *f)
{
	void *state = NULL;
	int rc;

	if (f->plugin->init && f->plugin->init(&f->ctx, &state) < 0)
		return -1;
	rc = f->plugin->run(&f->ctx, state);
	if (f->plugin->fini)
		f->plugin->fini(state);
	return rc;
}

void fake_free(struct fake *f)
{
	struct priv *pv;
	if (f == NULL)
		return;
	pv = PRIV(f);
	fake_reset(f);
	cJSON_Delete(f->report);
	cJSON_Delete(f->previous);
	free(f->previous_as_of);
	for (size_t i = 0; i < pv->nsettings; i++) {
		cJSON_Delete(pv->settings[i].value);
		free(pv->settings[i].ints);
		free(pv->settings[i].texts);
	}
	free(pv->settings);
	for (size_t i = 0; i < pv->ncanned; i++) {
		for (size_t j = 0; j < pv->canned[i].ncols; j++)
			free(pv->canned[i].cols[j]);
		for (size_t j = 0; j < pv->canned[i].ncols * pv->canned[i].nrows; j++)
			free(pv->canned[i].cells[j]);
		free(pv->canned[i].cols);
		free(pv->canned[i].cells);
		free(pv->canned[i].part);
	}
	free(pv->canned);
	free(f->org_id);
	free(f->org_name);
	free(pv);
	free(f);
}
