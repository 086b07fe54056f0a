/* doc.c - the run's document as typed C (see doc.h): built by the ABI's
 * document calls, checked there; written as document.json; read back from
 * one for a re-render. */
#include "config.h"

#include <cjson/cJSON.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doc.h"
#include "overblik/plugin.h"
#include "util.h"

static const char *const STATUS[] = {NULL, "green", "amber", "red"};
static const char *const ALIGN[] = {"left", "right", "center"};
static const char *const FORMAT[] = {"text", "number", "date", "percent"};
static const char *const TYPE[] = {"section", "para", "list", "kpi", "table", "chart", "note"};

struct ob_doc *ob_doc_new(void)
{
	struct ob_doc *d = ob_xcalloc(1, sizeof(*d));

	d->title = d->subtitle = OB_DOC_NONE;
	return d;
}

static void free_all(void *const *parts, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(parts[i]);
}

void ob_doc_free(struct ob_doc *d)
{
	if (d == NULL)
		return;
	for (size_t i = 0; i < d->nels; i++) {
		struct ob_doc_el *e = &d->els[i];
		switch (e->type) {
		case OB_DOC_PARA: free(e->u.para.runs); break;
		case OB_DOC_LIST: free(e->u.list.items); break;
		case OB_DOC_TABLE:
			if (e->u.table) {
				struct ob_table *t = e->u.table;
				free_all((void *[]){t->cols, t->cells, t->status, t->cstat, t->cs, t}, 6);
			}
			break;
		case OB_DOC_CHART:
			if (e->u.chart)
				free_all((void *[]){e->u.chart->labels, e->u.chart->names, e->u.chart->values, e->u.chart}, 4);
			break;
		default: break;
		}
	}
	free(d->els);
	free(d->str);
	free(d);
}

const char *ob_doc_title(const struct ob_doc *d)
{
	return d ? ob_doc_str(d, d->title) : NULL;
}

/* ---- building ---- */

/* Room for n more bytes of strings, or -1 past what offsets can name. */
static int str_room(struct ob_doc *d, size_t n, struct ob_err *err)
{
	if (n >= (size_t)OB_DOC_NONE - d->str_len) {
		ob_err_set(err, "the document's text would pass 4 GB");
		return -1;
	}
	if (d->str_len + n > d->str_cap) {
		size_t cap = d->str_cap ? d->str_cap : 4096;
		while (cap < d->str_len + n)
			cap *= 2;
		d->str = ob_xrealloc(d->str, cap);
		d->str_cap = cap;
	}
	return 0;
}

/* s (NULL: OB_DOC_NONE) into the arena; str_room() must have made room. */
static uint32_t str_put(struct ob_doc *d, const char *s)
{
	size_t n;
	uint32_t off;

	if (s == NULL)
		return OB_DOC_NONE;
	n = strlen(s) + 1;
	off = (uint32_t)d->str_len;
	memcpy(d->str + d->str_len, s, n);
	d->str_len += n;
	return off;
}

/* The bytes strings s[0..n) take in the arena. */
static size_t strs_len(const char *const *s, size_t n)
{
	size_t len = 0;

	for (size_t i = 0; i < n; i++)
		len += s[i] ? strlen(s[i]) + 1 : 0;
	return len;
}

static struct ob_doc_el *el_add(struct ob_doc *d, int type)
{
	struct ob_doc_el *e;

	if (d->nels == d->els_cap) {
		d->els_cap = d->els_cap ? 2 * d->els_cap : 16;
		d->els = ob_xrealloc(d->els, d->els_cap * sizeof(*d->els));
	}
	e = &d->els[d->nels++];
	memset(e, 0, sizeof(*e));
	e->type = (uint8_t)type;
	return e;
}

int ob_doc_set_title(struct ob_doc *d, const char *title, const char *subtitle, struct ob_err *err)
{
	const char *s[2] = {title, subtitle};

	if (title == NULL) {
		ob_err_set(err, "title: the title is NULL");
		return -1;
	}
	if (str_room(d, strs_len(s, 2), err) < 0)
		return -1;
	d->title = str_put(d, title);
	d->subtitle = str_put(d, subtitle);
	return 0;
}

int ob_doc_add_section(struct ob_doc *d, int level, const char *title, int landscape, int new_page,
		       struct ob_err *err)
{
	struct ob_doc_el *e;

	if (title == NULL) {
		ob_err_set(err, "section: the title is NULL");
		return -1;
	}
	if (level < 1 || level > 2) {
		ob_err_set(err, "section \"%.60s\": level %d is not 1 or 2", title, level);
		return -1;
	}
	if (str_room(d, strlen(title) + 1, err) < 0)
		return -1;
	e = el_add(d, OB_DOC_SECTION);
	e->u.section.level = level;
	e->u.section.title = str_put(d, title);
	e->u.section.landscape = landscape != 0;
	e->u.section.new_page = new_page != 0;
	return 0;
}

int ob_doc_add_para(struct ob_doc *d, const struct ob_text_run *runs, size_t n, struct ob_err *err)
{
	struct ob_doc_el *e;
	size_t len = 0;

	if (runs == NULL && n) {
		ob_err_set(err, "para: runs is NULL with n %zu", n);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		len += (runs[i].text ? strlen(runs[i].text) : 0) + 1;
	if (str_room(d, len, err) < 0)
		return -1;
	e = el_add(d, OB_DOC_PARA);
	e->u.para.n = n;
	e->u.para.runs = n ? ob_xcalloc(n, sizeof(*e->u.para.runs)) : NULL;
	for (size_t i = 0; i < n; i++) {
		struct ob_doc_run *r = &e->u.para.runs[i];
		r->text = str_put(d, runs[i].text ? runs[i].text : "");
		r->bold = (runs[i].style & OB_TEXT_BOLD) != 0;
		r->italic = (runs[i].style & OB_TEXT_ITALIC) != 0;
	}
	return 0;
}

int ob_doc_add_list(struct ob_doc *d, const char *const *items, size_t n, struct ob_err *err)
{
	struct ob_doc_el *e;

	if (items == NULL && n) {
		ob_err_set(err, "bullets: items is NULL with n %zu", n);
		return -1;
	}
	if (str_room(d, strs_len(items, n) + n, err) < 0)
		return -1;
	e = el_add(d, OB_DOC_LIST);
	e->u.list.n = n;
	e->u.list.items = n ? ob_xcalloc(n, sizeof(*e->u.list.items)) : NULL;
	for (size_t i = 0; i < n; i++)
		e->u.list.items[i] = str_put(d, items[i] ? items[i] : "");
	return 0;
}

int ob_doc_add_kpi(struct ob_doc *d, const struct ob_kpi *k, struct ob_err *err)
{
	const char *s[2] = {k->label, k->unit};
	struct ob_doc_el *e;

	if (k->label == NULL) {
		ob_err_set(err, "kpi: the label is NULL");
		return -1;
	}
	if (!isfinite(k->value) || (k->has_previous && !isfinite(k->previous))) {
		ob_err_set(err, "kpi \"%.60s\": %s is not a finite number", k->label,
			   isfinite(k->value) ? "previous" : "value");
		return -1;
	}
	if (k->decimals < 0 || k->decimals > OB_DOC_MAX_DECIMALS) {
		ob_err_set(err, "kpi \"%.60s\": decimals %d is not from 0 to %d", k->label, k->decimals,
			   OB_DOC_MAX_DECIMALS);
		return -1;
	}
	if (str_room(d, strs_len(s, 2), err) < 0)
		return -1;
	e = el_add(d, OB_DOC_KPI);
	e->u.kpi.label = str_put(d, k->label);
	e->u.kpi.unit = str_put(d, k->unit);
	e->u.kpi.value = k->value;
	e->u.kpi.decimals = (uint8_t)k->decimals;
	e->u.kpi.has_previous = k->has_previous != 0;
	e->u.kpi.previous = k->has_previous ? k->previous : 0;
	return 0;
}

struct ob_table *ob_doc_add_table(struct ob_doc *d, const struct ob_column *cols, size_t ncols,
				  struct ob_err *err)
{
	struct ob_table *t;
	size_t len = 0;

	if (cols == NULL || ncols == 0 || ncols > 64) {
		ob_err_set(err, "table: %zu columns%s (1 to 64)", ncols, cols ? "" : " at NULL");
		return NULL;
	}
	for (size_t i = 0; i < ncols; i++) {
		if (cols[i].decimals < 0 || cols[i].decimals > OB_DOC_MAX_DECIMALS) {
			ob_err_set(err, "table: column %zu: decimals %d is not from 0 to %d", i, cols[i].decimals,
				   OB_DOC_MAX_DECIMALS);
			return NULL;
		}
		if (!isfinite(cols[i].width) && !isnan(cols[i].width)) {
			ob_err_set(err, "table: column %zu: width is not a finite number", i);
			return NULL;
		}
		len += (cols[i].header ? strlen(cols[i].header) : 0) + 1;
	}
	if (str_room(d, len, err) < 0)
		return NULL;
	t = ob_xcalloc(1, sizeof(*t));
	t->doc = d;
	t->ncols = (uint32_t)ncols;
	t->cols = ob_xcalloc(ncols, sizeof(*t->cols));
	for (size_t i = 0; i < ncols; i++) {
		t->cols[i].header = str_put(d, cols[i].header ? cols[i].header : "");
		t->cols[i].width = cols[i].width > 0 ? cols[i].width : 1;
		t->cols[i].align = (uint8_t)((unsigned)cols[i].align % 3);
		t->cols[i].format = (uint8_t)((unsigned)cols[i].format % 4);
		t->cols[i].decimals = (uint8_t)cols[i].decimals;
	}
	el_add(d, OB_DOC_TABLE)->u.table = t;
	return t;
}

/* Room for one more row. */
static void row_room(struct ob_table *t)
{
	if (t->nrows < t->rows_cap)
		return;
	t->rows_cap = t->rows_cap ? 2 * t->rows_cap : 64;
	t->cells = ob_xrealloc(t->cells, t->rows_cap * t->ncols * sizeof(*t->cells));
	t->status = ob_xrealloc(t->status, t->rows_cap * sizeof(*t->status));
	t->cstat = ob_xrealloc(t->cstat, t->rows_cap * sizeof(*t->cstat));
}

int ob_doc_add_row(struct ob_table *t, const char *const *cells, enum ob_doc_status status, struct ob_err *err)
{
	uint32_t *c;

	if (cells == NULL) {
		ob_err_set(err, "row: cells is NULL");
		return -1;
	}
	if (str_room(t->doc, strs_len(cells, t->ncols), err) < 0)
		return -1;
	row_room(t);
	c = &t->cells[t->nrows * t->ncols];
	for (uint32_t i = 0; i < t->ncols; i++)
		c[i] = str_put(t->doc, cells[i]);
	t->status[t->nrows] = (uint8_t)((unsigned)status <= OB_DOC_ST_RED ? status : OB_DOC_ST_NONE);
	t->has_status |= t->status[t->nrows] != OB_DOC_ST_NONE;
	t->cstat[t->nrows] = OB_DOC_NONE;
	t->nrows++;
	return 0;
}

int ob_doc_cell_status(struct ob_table *t, size_t col, enum ob_doc_status status, struct ob_err *err)
{
	uint32_t *at;

	if (t->nrows == 0 || col >= t->ncols || status < OB_DOC_ST_GREEN || status > OB_DOC_ST_RED) {
		ob_err_set(err, "cell_status: %s", t->nrows == 0 ? "the table has no row yet"
						   : col >= t->ncols ? "the column is past the table's"
								     : "the status is not green, amber or red");
		return -1;
	}
	at = &t->cstat[t->nrows - 1];
	if (*at == OB_DOC_NONE) {
		while (t->ncs + t->ncols > t->cs_cap) {
			t->cs_cap = t->cs_cap ? 2 * t->cs_cap : 64;
			t->cs = ob_xrealloc(t->cs, t->cs_cap);
		}
		*at = (uint32_t)t->ncs;
		memset(t->cs + t->ncs, OB_DOC_ST_NONE, t->ncols);
		t->ncs += t->ncols;
	}
	t->cs[*at + col] = (uint8_t)status;
	return 0;
}

int ob_doc_add_chart(struct ob_doc *d, const struct ob_chart *ch, const struct ob_series *series,
		     struct ob_err *err)
{
	const char *s[3] = {ch->title, ch->value_axis, ch->label_axis};
	size_t n = ch->nlabels, m = ch->nseries, len = strs_len(s, 3) + strs_len(ch->labels, n) + n;
	struct ob_doc_chart *c;

	if ((n && ch->labels == NULL) || (m && series == NULL) || n > 10000 || m > 64) {
		ob_err_set(err, "chart: %zu labels and %zu series%s (at most 10000 and 64)", n, m,
			   (n && ch->labels == NULL) || (m && series == NULL) ? ", one at NULL" : "");
		return -1;
	}
	for (size_t k = 0; k < m; k++) {
		len += (series[k].name ? strlen(series[k].name) : 0) + 1;
		for (size_t i = 0; series[k].values && i < n; i++)
			if (!isfinite(series[k].values[i])) {
				ob_err_set(err, "chart: series %zu: value %zu is not a finite number", k, i);
				return -1;
			}
	}
	if (str_room(d, len, err) < 0)
		return -1;
	c = ob_xcalloc(1, sizeof(*c));
	c->title = str_put(d, ch->title);
	c->value_axis = str_put(d, ch->value_axis);
	c->label_axis = str_put(d, ch->label_axis);
	c->horizontal = ch->horizontal != 0;
	c->stacked = ch->stacked != 0;
	c->show_values = ch->show_values != 0;
	c->nlabels = n;
	c->nseries = m;
	c->labels = ob_xcalloc(n ? n : 1, sizeof(*c->labels));
	c->names = ob_xcalloc(m ? m : 1, sizeof(*c->names));
	c->values = ob_xcalloc(n && m ? n * m : 1, sizeof(*c->values));
	for (size_t i = 0; i < n; i++)
		c->labels[i] = str_put(d, ch->labels[i] ? ch->labels[i] : "");
	for (size_t k = 0; k < m; k++) {
		c->names[k] = str_put(d, series[k].name ? series[k].name : "");
		for (size_t i = 0; series[k].values && i < n; i++)
			c->values[k * n + i] = series[k].values[i];
	}
	el_add(d, OB_DOC_CHART)->u.chart = c;
	return 0;
}

int ob_doc_add_note(struct ob_doc *d, const char *text, struct ob_err *err)
{
	if (text == NULL)
		text = "";
	if (str_room(d, strlen(text) + 1, err) < 0)
		return -1;
	el_add(d, OB_DOC_NOTE)->u.note = str_put(d, text);
	return 0;
}

/* ---- document.json: cJSON_Print's layout ---- */

/* An object's members sit a tab deeper than it (depth d), "key":<tab>value,
 * one a line; an array's values follow each other after ", ". */
struct jw {
	struct ob_buf *b;
	const struct ob_doc *doc;
};

static void j_tabs(struct jw *w, int d)
{
	for (int i = 0; i < d; i++)
		ob_buf_addc(w->b, '\t');
}

static void j_string(struct jw *w, const char *s)
{
	const unsigned char *p = (const unsigned char *)s, *run = p;

	ob_buf_addc(w->b, '"');
	for (; *p; p++) {
		const char *esc = NULL;
		char u[8];
		if (*p >= 32 && *p != '"' && *p != '\\')
			continue;
		ob_buf_add(w->b, run, (size_t)(p - run));
		switch (*p) {
		case '"': esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		case '\b': esc = "\\b"; break;
		case '\f': esc = "\\f"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\t': esc = "\\t"; break;
		default:
			snprintf(u, sizeof u, "\\u%04x", *p);
			esc = u;
		}
		ob_buf_adds(w->b, esc);
		run = p + 1;
	}
	ob_buf_add(w->b, run, (size_t)(p - run));
	ob_buf_addc(w->b, '"');
}

static void j_str(struct jw *w, uint32_t s)
{
	if (s == OB_DOC_NONE)
		ob_buf_adds(w->b, "null");
	else
		j_string(w, w->doc->str + s);
}

/* As cJSON prints a number: whole ones in int range as %d, others with 15
 * significant digits, or 17 if 15 do not read back the same. */
static void j_number(struct jw *w, double v)
{
	int vi = v >= INT_MAX ? INT_MAX : v <= (double)INT_MIN ? INT_MIN : (int)v;
	char num[32];

	if (isnan(v) || isinf(v)) {
		ob_buf_adds(w->b, "null");
		return;
	}
	if (v == (double)vi) {
		snprintf(num, sizeof num, "%d", vi);
	} else {
		double back = 0;
		snprintf(num, sizeof num, "%1.15g", v);
		if (sscanf(num, "%lg", &back) != 1 ||
		    !(fabs(back - v) <= fmax(fabs(back), fabs(v)) * DBL_EPSILON))
			snprintf(num, sizeof num, "%1.17g", v);
	}
	ob_buf_adds(w->b, num);
}

/* Opens member key of an object at depth d; first says whether it is the first. */
static void j_key(struct jw *w, int d, int *first, const char *key)
{
	if (!*first)
		ob_buf_adds(w->b, ",\n");
	*first = 0;
	j_tabs(w, d + 1);
	ob_buf_addc(w->b, '"');
	ob_buf_adds(w->b, key);
	ob_buf_adds(w->b, "\":\t");
}

static void j_close(struct jw *w, int d)
{
	ob_buf_addc(w->b, '\n');
	j_tabs(w, d);
	ob_buf_addc(w->b, '}');
}

static void j_sep(struct jw *w, size_t i)
{
	if (i)
		ob_buf_adds(w->b, ", ");
}

static void j_strs(struct jw *w, const uint32_t *s, size_t n)
{
	ob_buf_addc(w->b, '[');
	for (size_t i = 0; i < n; i++) {
		j_sep(w, i);
		j_str(w, s[i]);
	}
	ob_buf_addc(w->b, ']');
}

static void j_true(struct jw *w, int d, int *first, const char *key, int on)
{
	if (!on)
		return;
	j_key(w, d, first, key);
	ob_buf_adds(w->b, "true");
}

static void j_bool(struct jw *w, int d, int *first, const char *key, int v)
{
	j_key(w, d, first, key);
	ob_buf_adds(w->b, v ? "true" : "false");
}

static void j_member_str(struct jw *w, int d, int *first, const char *key, uint32_t s)
{
	if (s == OB_DOC_NONE)
		return;
	j_key(w, d, first, key);
	j_str(w, s);
}

static void j_member_num(struct jw *w, int d, int *first, const char *key, double v)
{
	j_key(w, d, first, key);
	j_number(w, v);
}

static void j_para(struct jw *w, int d, int *first, const struct ob_doc_el *e)
{
	j_key(w, d, first, "runs");
	ob_buf_addc(w->b, '[');
	for (size_t i = 0; i < e->u.para.n; i++) {
		const struct ob_doc_run *r = &e->u.para.runs[i];
		int f = 1;
		j_sep(w, i);
		ob_buf_adds(w->b, "{\n");
		j_member_str(w, d + 2, &f, "text", r->text);
		j_true(w, d + 2, &f, "bold", r->bold);
		j_true(w, d + 2, &f, "italic", r->italic);
		j_close(w, d + 2);
	}
	ob_buf_addc(w->b, ']');
}

static void j_kpi(struct jw *w, int d, int *first, const struct ob_doc_el *e)
{
	j_member_str(w, d, first, "label", e->u.kpi.label);
	j_member_num(w, d, first, "value", e->u.kpi.value);
	j_member_str(w, d, first, "unit", e->u.kpi.unit);
	j_member_num(w, d, first, "decimals", e->u.kpi.decimals);
	if (e->u.kpi.has_previous)
		j_member_num(w, d, first, "previous", e->u.kpi.previous);
}

static void j_row(struct jw *w, int d, const struct ob_table *t, size_t r)
{
	int f = 1;

	ob_buf_adds(w->b, "{\n");
	j_key(w, d, &f, "cells");
	j_strs(w, &t->cells[r * t->ncols], t->ncols);
	if (t->status[r] != OB_DOC_ST_NONE) {
		j_key(w, d, &f, "status");
		j_string(w, STATUS[t->status[r]]);
	}
	if (t->cstat[r] != OB_DOC_NONE) {
		j_key(w, d, &f, "cell_status");
		ob_buf_addc(w->b, '[');
		for (uint32_t c = 0; c < t->ncols; c++) {
			uint8_t s = t->cs[t->cstat[r] + c];
			j_sep(w, c);
			if (s == OB_DOC_ST_NONE)
				ob_buf_adds(w->b, "null");
			else
				j_string(w, STATUS[s]);
		}
		ob_buf_addc(w->b, ']');
	}
	j_close(w, d);
}

static void j_table(struct jw *w, int d, int *first, const struct ob_table *t)
{
	j_key(w, d, first, "columns");
	ob_buf_addc(w->b, '[');
	for (uint32_t c = 0; c < t->ncols; c++) {
		const struct ob_doc_col *col = &t->cols[c];
		int f = 1;
		j_sep(w, c);
		ob_buf_adds(w->b, "{\n");
		j_member_str(w, d + 2, &f, "header", col->header);
		j_member_num(w, d + 2, &f, "width", col->width);
		j_key(w, d + 2, &f, "align");
		j_string(w, ALIGN[col->align]);
		j_key(w, d + 2, &f, "format");
		j_string(w, FORMAT[col->format]);
		j_member_num(w, d + 2, &f, "decimals", col->decimals);
		j_close(w, d + 2);
	}
	ob_buf_addc(w->b, ']');
	j_key(w, d, first, "rows");
	ob_buf_addc(w->b, '[');
	for (size_t r = 0; r < t->nrows; r++) {
		j_sep(w, r);
		j_row(w, d + 2, t, r);
	}
	ob_buf_addc(w->b, ']');
}

static void j_chart(struct jw *w, int d, int *first, const struct ob_doc_chart *c)
{
	j_member_str(w, d, first, "title", c->title);
	j_bool(w, d, first, "horizontal", c->horizontal);
	j_bool(w, d, first, "stacked", c->stacked);
	j_bool(w, d, first, "show_values", c->show_values);
	j_member_str(w, d, first, "value_axis", c->value_axis);
	j_member_str(w, d, first, "label_axis", c->label_axis);
	j_key(w, d, first, "labels");
	j_strs(w, c->labels, c->nlabels);
	j_key(w, d, first, "series");
	ob_buf_addc(w->b, '[');
	for (size_t k = 0; k < c->nseries; k++) {
		int f = 1;
		j_sep(w, k);
		ob_buf_adds(w->b, "{\n");
		j_key(w, d + 2, &f, "values");
		ob_buf_addc(w->b, '[');
		for (size_t i = 0; i < c->nlabels; i++) {
			j_sep(w, i);
			j_number(w, c->values[k * c->nlabels + i]);
		}
		ob_buf_addc(w->b, ']');
		j_member_str(w, d + 2, &f, "name", c->names[k]);
		j_close(w, d + 2);
	}
	ob_buf_addc(w->b, ']');
}

/* Element e, an object at depth d. */
static void j_element(struct jw *w, int d, const struct ob_doc_el *e)
{
	int first = 1;

	ob_buf_adds(w->b, "{\n");
	j_key(w, d, &first, "type");
	j_string(w, TYPE[e->type]);
	switch (e->type) {
	case OB_DOC_SECTION:
		j_member_num(w, d, &first, "level", e->u.section.level);
		j_member_str(w, d, &first, "title", e->u.section.title);
		j_true(w, d, &first, "landscape", e->u.section.landscape);
		j_true(w, d, &first, "new_page", e->u.section.new_page);
		break;
	case OB_DOC_PARA: j_para(w, d, &first, e); break;
	case OB_DOC_LIST:
		j_key(w, d, &first, "items");
		j_strs(w, e->u.list.items, e->u.list.n);
		break;
	case OB_DOC_KPI: j_kpi(w, d, &first, e); break;
	case OB_DOC_TABLE: j_table(w, d, &first, e->u.table); break;
	case OB_DOC_CHART: j_chart(w, d, &first, e->u.chart); break;
	case OB_DOC_NOTE: j_member_str(w, d, &first, "text", e->u.note); break;
	default: break;
	}
	j_close(w, d);
}

void ob_doc_to_json(const struct ob_doc *d, struct ob_buf *out)
{
	struct jw w = {out, d};
	int first = 1;

	ob_buf_adds(out, "{\n");
	j_key(&w, 0, &first, "elements");
	ob_buf_addc(out, '[');
	for (size_t i = 0; i < d->nels; i++) {
		j_sep(&w, i);
		j_element(&w, 2, &d->els[i]);
	}
	ob_buf_addc(out, ']');
	j_member_str(&w, 0, &first, "title", d->title);
	j_member_str(&w, 0, &first, "subtitle", d->subtitle);
	j_close(&w, 0);
}

/* ---- reading document.json back ---- */

struct vctx {
	struct ob_err *err;
	struct ob_doc *d;
	int idx;
	const char *type;
	char where[64]; /* "column 2: " */
};

static int vfail(struct vctx *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int vfail(struct vctx *v, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (v->idx < 0)
		ob_err_set(v->err, "document: %s%s", v->where, msg);
	else
		ob_err_set(v->err, "element %d (%s): %s%s", v->idx, v->type, v->where, msg);
	return -1;
}

static int v_put(struct vctx *v, const char *s, uint32_t *out)
{
	if (str_room(v->d, strlen(s) + 1, v->err) < 0)
		return -1;
	*out = str_put(v->d, s);
	return 0;
}

/* The member getters: 0 if fine (an absent or null optional member leaves
 * *out alone), -1 with the error set. Strings go into the arena. */
static int v_str(struct vctx *v, const cJSON *o, const char *name, int req, uint32_t *out)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, name);

	if (m == NULL || (cJSON_IsNull(m) && !req))
		return req ? vfail(v, "%s is missing", name) : 0;
	if (!cJSON_IsString(m) || m->valuestring == NULL)
		return vfail(v, "%s is not a string", name);
	return v_put(v, m->valuestring, out);
}

static int v_num(struct vctx *v, const cJSON *o, const char *name, int req, uint8_t *present, double *out)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, name);

	if (m == NULL || (cJSON_IsNull(m) && !req))
		return req ? vfail(v, "%s is missing", name) : 0;
	if (!cJSON_IsNumber(m))
		return vfail(v, "%s is not a number", name);
	if (!isfinite(m->valuedouble))
		return vfail(v, "%s is not a finite number", name);
	*out = m->valuedouble;
	if (present)
		*present = 1;
	return 0;
}

static int v_int(struct vctx *v, const cJSON *o, const char *name, int req, int lo, int hi, int *out)
{
	double d = *out;

	if (v_num(v, o, name, req, NULL, &d) < 0)
		return -1;
	if (d != floor(d) || d < lo || d > hi)
		return vfail(v, "%s %g is not a whole number from %d to %d", name, d, lo, hi);
	*out = (int)d;
	return 0;
}

static int v_bool(struct vctx *v, const cJSON *o, const char *name, uint8_t *out)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, name);

	if (m == NULL || cJSON_IsNull(m))
		return 0;
	if (!cJSON_IsBool(m))
		return vfail(v, "%s is not true or false", name);
	*out = cJSON_IsTrue(m) ? 1 : 0;
	return 0;
}

static int v_array(struct vctx *v, const cJSON *o, const char *name, const cJSON **out, size_t *n)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, name);

	if (m == NULL)
		return vfail(v, "%s is missing", name);
	if (!cJSON_IsArray(m))
		return vfail(v, "%s is not an array", name);
	*out = m;
	*n = (size_t)cJSON_GetArraySize(m);
	return 0;
}

/* "green" etc. into *out (a null or absent one: none). */
static int v_status(struct vctx *v, const cJSON *m, const char *what, uint8_t *out)
{
	*out = OB_DOC_ST_NONE;
	if (m == NULL || cJSON_IsNull(m))
		return 0;
	if (!cJSON_IsString(m) || m->valuestring == NULL)
		return vfail(v, "%s is not a string", what);
	for (uint8_t s = OB_DOC_ST_GREEN; s <= OB_DOC_ST_RED; s++)
		if (strcmp(m->valuestring, STATUS[s]) == 0) {
			*out = s;
			return 0;
		}
	return vfail(v, "%s \"%.40s\" is not green, amber or red", what, m->valuestring);
}

/* Which of names[0..n) s is, or -1. */
static int name_index(const char *const *names, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return (int)i;
	return -1;
}

static int v_column(struct vctx *v, const cJSON *c, struct ob_doc_col *out)
{
	const char *align = "left", *format = "text";
	const cJSON *m;
	double width = 1;
	int dec = 0, a, f;

	if (!cJSON_IsObject(c))
		return vfail(v, "is not an object");
	if (v_str(v, c, "header", 1, &out->header) < 0 || v_num(v, c, "width", 0, NULL, &width) < 0)
		return -1;
	if ((m = cJSON_GetObjectItemCaseSensitive(c, "align")) != NULL && !cJSON_IsNull(m)) {
		if (!cJSON_IsString(m) || m->valuestring == NULL)
			return vfail(v, "align is not a string");
		align = m->valuestring;
	}
	if ((m = cJSON_GetObjectItemCaseSensitive(c, "format")) != NULL && !cJSON_IsNull(m)) {
		if (!cJSON_IsString(m) || m->valuestring == NULL)
			return vfail(v, "format is not a string");
		format = m->valuestring;
	}
	if (v_int(v, c, "decimals", 0, 0, OB_DOC_MAX_DECIMALS, &dec) < 0)
		return -1;
	if (width < 0)
		return vfail(v, "width %g is negative", width);
	out->width = width > 0 ? width : 1;
	if ((a = name_index(ALIGN, OB_ARRAY_LEN(ALIGN), align)) < 0)
		return vfail(v, "align \"%.40s\" is not left, right or center", align);
	if ((f = name_index(FORMAT, OB_ARRAY_LEN(FORMAT), format)) < 0)
		return vfail(v, "format \"%.40s\" is not text, number, date or percent", format);
	out->align = (uint8_t)a;
	out->format = (uint8_t)f;
	out->decimals = (uint8_t)dec;
	return 0;
}

static int v_row(struct vctx *v, const cJSON *r, struct ob_table *t)
{
	const cJSON *cells, *cs, *x;
	size_t n = 0, row = t->nrows;
	uint8_t st;

	if (!cJSON_IsObject(r))
		return vfail(v, "is not an object");
	if (v_array(v, r, "cells", &cells, &n) < 0)
		return -1;
	row_room(t);
	n = 0;
	cJSON_ArrayForEach(x, cells)
	{
		if (!cJSON_IsNull(x) && !(cJSON_IsString(x) && x->valuestring != NULL))
			return vfail(v, "cell %zu is not a string or null", n);
		if (n < t->ncols) {
			t->cells[row * t->ncols + n] = OB_DOC_NONE;
			if (cJSON_IsString(x) && v_put(v, x->valuestring, &t->cells[row * t->ncols + n]) < 0)
				return -1;
		}
		n++;
	}
	if (n != t->ncols)
		return vfail(v, "%zu cells for %u columns", n, (unsigned)t->ncols);
	if (v_status(v, cJSON_GetObjectItemCaseSensitive(r, "status"), "status", &t->status[row]) < 0)
		return -1;
	t->has_status |= cJSON_IsString(cJSON_GetObjectItemCaseSensitive(r, "status"));
	t->cstat[row] = OB_DOC_NONE;
	t->nrows++;
	cs = cJSON_GetObjectItemCaseSensitive(r, "cell_status");
	if (cs == NULL || cJSON_IsNull(cs))
		return 0;
	if (!cJSON_IsArray(cs))
		return vfail(v, "cell_status is not an array");
	n = 0;
	cJSON_ArrayForEach(x, cs)
	{
		char what[32];
		snprintf(what, sizeof what, "cell_status %zu", n);
		if (v_status(v, x, what, &st) < 0)
			return -1;
		if (st != OB_DOC_ST_NONE && n < t->ncols && ob_doc_cell_status(t, n, (enum ob_doc_status)st, v->err) < 0)
			return -1;
		n++;
	}
	if (n > t->ncols)
		return vfail(v, "cell_status has %zu entries for %u columns", n, (unsigned)t->ncols);
	return 0;
}

static int v_table(struct vctx *v, const cJSON *e)
{
	const cJSON *cols, *rows, *c, *r;
	size_t ncols, nrows, i = 0;
	struct ob_table *t;

	if (v_array(v, e, "columns", &cols, &ncols) < 0 || v_array(v, e, "rows", &rows, &nrows) < 0)
		return -1;
	t = ob_xcalloc(1, sizeof(*t));
	t->doc = v->d;
	t->cols = ob_xcalloc(ncols ? ncols : 1, sizeof(*t->cols));
	el_add(v->d, OB_DOC_TABLE)->u.table = t; /* freed with the document */
	cJSON_ArrayForEach(c, cols)
	{
		snprintf(v->where, sizeof v->where, "column %zu: ", i);
		if (v_column(v, c, &t->cols[i]) < 0)
			return -1;
		i++;
	}
	v->where[0] = '\0';
	if (ncols == 0)
		return vfail(v, "columns is empty");
	t->ncols = (uint32_t)ncols;
	i = 0;
	cJSON_ArrayForEach(r, rows)
	{
		snprintf(v->where, sizeof v->where, "row %zu: ", i++);
		if (v_row(v, r, t) < 0)
			return -1;
	}
	v->where[0] = '\0';
	return 0;
}

static int v_series(struct vctx *v, const cJSON *series, struct ob_doc_chart *c)
{
	const cJSON *s, *x, *vals;
	size_t k = 0, n;

	cJSON_ArrayForEach(s, series)
	{
		snprintf(v->where, sizeof v->where, "series %zu: ", k);
		if (!cJSON_IsObject(s))
			return vfail(v, "is not an object");
		if (v_str(v, s, "name", 0, &c->names[k]) < 0 || v_array(v, s, "values", &vals, &n) < 0)
			return -1;
		n = 0;
		cJSON_ArrayForEach(x, vals)
		{
			if (!cJSON_IsNumber(x))
				return vfail(v, "value %zu is not a number", n);
			if (!isfinite(x->valuedouble))
				return vfail(v, "value %zu is not a finite number", n);
			if (n < c->nlabels)
				c->values[k * c->nlabels + n] = x->valuedouble;
			n++;
		}
		if (n != c->nlabels)
			return vfail(v, "%zu values for %zu labels", n, c->nlabels);
		k++;
	}
	v->where[0] = '\0';
	return 0;
}

static int v_chart(struct vctx *v, const cJSON *e)
{
	const cJSON *labels, *series, *x;
	struct ob_doc_chart *c = ob_xcalloc(1, sizeof(*c));
	size_t i = 0;

	el_add(v->d, OB_DOC_CHART)->u.chart = c; /* freed with the document */
	c->title = c->value_axis = c->label_axis = OB_DOC_NONE;
	if (v_str(v, e, "title", 0, &c->title) < 0 || v_str(v, e, "value_axis", 0, &c->value_axis) < 0 ||
	    v_str(v, e, "label_axis", 0, &c->label_axis) < 0 || v_bool(v, e, "horizontal", &c->horizontal) < 0 ||
	    v_bool(v, e, "stacked", &c->stacked) < 0 || v_bool(v, e, "show_values", &c->show_values) < 0 ||
	    v_array(v, e, "labels", &labels, &c->nlabels) < 0 || v_array(v, e, "series", &series, &c->nseries) < 0)
		return -1;
	c->labels = ob_xcalloc(c->nlabels ? c->nlabels : 1, sizeof(*c->labels));
	c->names = ob_xcalloc(c->nseries ? c->nseries : 1, sizeof(*c->names));
	c->values = ob_xcalloc(c->nlabels && c->nseries ? c->nlabels * c->nseries : 1, sizeof(*c->values));
	for (size_t k = 0; k < c->nseries; k++)
		c->names[k] = OB_DOC_NONE;
	cJSON_ArrayForEach(x, labels)
	{
		if (!cJSON_IsString(x) || x->valuestring == NULL)
			return vfail(v, "label %zu is not a string", i);
		if (v_put(v, x->valuestring, &c->labels[i++]) < 0)
			return -1;
	}
	return v_series(v, series, c);
}

static int v_section(struct vctx *v, const cJSON *e)
{
	struct ob_doc_el *el = el_add(v->d, OB_DOC_SECTION);
	int level = 0;

	el->u.section.title = OB_DOC_NONE;
	if (v_int(v, e, "level", 1, 1, 2, &level) < 0 || v_str(v, e, "title", 1, &el->u.section.title) < 0 ||
	    v_bool(v, e, "landscape", &el->u.section.landscape) < 0 || v_bool(v, e, "new_page", &el->u.section.new_page) < 0)
		return -1;
	el->u.section.level = level;
	return 0;
}

/* Array member name of e: room for its entries, size bytes each, at *out,
 * and its first entry at *first. */
static int v_entries(struct vctx *v, const cJSON *e, const char *name, size_t size, void *out, const cJSON **first)
{
	const cJSON *a;
	size_t n;

	if (v_array(v, e, name, &a, &n) < 0)
		return -1;
	*(void **)out = ob_xcalloc(n ? n : 1, size);
	*first = a->child;
	return 0;
}

static int v_run(struct vctx *v, const cJSON *r, struct ob_doc_run *run)
{
	if (!cJSON_IsObject(r))
		return vfail(v, "is not an object");
	if (v_str(v, r, "text", 1, &run->text) < 0 || v_bool(v, r, "bold", &run->bold) < 0 ||
	    v_bool(v, r, "italic", &run->italic) < 0)
		return -1;
	return 0;
}

static int v_item(struct vctx *v, const cJSON *it, uint32_t *item)
{
	if (!cJSON_IsString(it) || it->valuestring == NULL)
		return vfail(v, "is not a string");
	return v_put(v, it->valuestring, item);
}

/* A para's runs or a list's items. */
static int v_para_or_list(struct vctx *v, const cJSON *e, int type)
{
	struct ob_doc_el *el = el_add(v->d, type);
	int para = type == OB_DOC_PARA, rc;
	size_t *n = para ? &el->u.para.n : &el->u.list.n;
	const cJSON *x;

	rc = para ? v_entries(v, e, "runs", sizeof(*el->u.para.runs), &el->u.para.runs, &x)
		  : v_entries(v, e, "items", sizeof(*el->u.list.items), &el->u.list.items, &x);
	for (; rc == 0 && x != NULL; x = x->next, (*n)++) {
		snprintf(v->where, sizeof v->where, "%s %zu: ", para ? "run" : "item", *n);
		rc = para ? v_run(v, x, &el->u.para.runs[*n]) : v_item(v, x, &el->u.list.items[*n]);
	}
	return rc;
}

static int v_kpi(struct vctx *v, const cJSON *e)
{
	struct ob_doc_el *el = el_add(v->d, OB_DOC_KPI);
	int dec = 0;

	el->u.kpi.label = el->u.kpi.unit = OB_DOC_NONE;
	if (v_str(v, e, "label", 1, &el->u.kpi.label) < 0 || v_num(v, e, "value", 1, NULL, &el->u.kpi.value) < 0 ||
	    v_str(v, e, "unit", 0, &el->u.kpi.unit) < 0 ||
	    v_int(v, e, "decimals", 0, 0, OB_DOC_MAX_DECIMALS, &dec) < 0 ||
	    v_num(v, e, "previous", 0, &el->u.kpi.has_previous, &el->u.kpi.previous) < 0)
		return -1;
	el->u.kpi.decimals = (uint8_t)dec;
	return 0;
}

static int v_element(struct vctx *v, const cJSON *e)
{
	const cJSON *t = cJSON_IsObject(e) ? cJSON_GetObjectItemCaseSensitive(e, "type") : NULL;
	uint32_t text = OB_DOC_NONE;
	int type;

	v->type = "?";
	v->where[0] = '\0';
	if (!cJSON_IsObject(e))
		return vfail(v, "is not an object");
	if (t == NULL)
		return vfail(v, "type is missing");
	if (!cJSON_IsString(t) || t->valuestring == NULL)
		return vfail(v, "type is not a string");
	v->type = t->valuestring;
	type = name_index(TYPE, OB_ARRAY_LEN(TYPE), t->valuestring);
	switch (type) {
	case OB_DOC_SECTION: return v_section(v, e);
	case OB_DOC_PARA:
	case OB_DOC_LIST: return v_para_or_list(v, e, type);
	case OB_DOC_KPI: return v_kpi(v, e);
	case OB_DOC_TABLE: return v_table(v, e);
	case OB_DOC_CHART: return v_chart(v, e);
	case OB_DOC_NOTE:
		if (v_str(v, e, "text", 1, &text) < 0)
			return -1;
		el_add(v->d, OB_DOC_NOTE)->u.note = text;
		return 0;
	default:
		v->type = "?";
		return vfail(v, "type \"%.40s\" is not section, para, kpi, table, chart, note or list", t->valuestring);
	}
}

int ob_doc_from_json(const cJSON *root, struct ob_doc **out, struct ob_err *err)
{
	struct vctx v = {err, ob_doc_new(), -1, "", ""};
	const cJSON *els, *e;
	size_t n;

	*out = NULL;
	if (!cJSON_IsObject(root)) {
		vfail(&v, "is not an object");
		goto fail;
	}
	if (v_str(&v, root, "title", 0, &v.d->title) < 0 || v_str(&v, root, "subtitle", 0, &v.d->subtitle) < 0 ||
	    v_array(&v, root, "elements", &els, &n) < 0)
		goto fail;
	cJSON_ArrayForEach(e, els)
	{
		v.idx++;
		if (v_element(&v, e) < 0)
			goto fail;
	}
	*out = v.d;
	return 0;
fail:
	ob_doc_free(v.d);
	return -1;
}
