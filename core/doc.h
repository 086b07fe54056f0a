/* doc.h - the run's document as typed C: what a plugin builds through the
 * ABI's document calls (run.c's api_title ... api_note call ob_doc_*), what
 * render_pdf.c draws, and what document.json holds.
 *
 * A document is a title, a subtitle and a list of elements: section (level
 * 1|2, title, landscape, new_page), para (runs of text, bold or italic),
 * list (items), kpi (label, value, unit, decimals, previous), table
 * (columns; rows of cells, each row a status and, for some, a status per
 * cell), chart (title, axes, labels, series of values) and note (text).
 *
 * Every string lives in one arena (struct ob_doc's str) and is named by its
 * offset, OB_DOC_NONE for an absent one (a null cell, no unit): a table row
 * is its cells' offsets, a status byte and a cell-status index, so a 33,000-
 * row table costs a few MB, not a JSON tree's ≈22 MB.
 *
 * The ob_doc_add_* functions check their arguments once, when a plugin hands
 * them in: -1 with err saying which argument is wrong, and nothing added.
 * The model they build is valid by construction; render_pdf.c does not check
 * it again. ob_doc_to_json() writes document.json (the JSON cJSON_Print gave
 * for the cJSON tree of earlier versions, byte for byte); ob_doc_from_json()
 * reads one back, for a re-render, checking every member as the renderer
 * did:
 *   element 12 (table): column 2: align "middle" is not left, right or center
 */
#ifndef OB_DOC_H
#define OB_DOC_H

#include <stddef.h>
#include <stdint.h>

struct cJSON;
struct ob_buf;
struct ob_err;
struct ob_kpi;
struct ob_column;
struct ob_chart;
struct ob_series;
struct ob_text_run;

#define OB_DOC_NONE UINT32_MAX /* an absent string */
#define OB_DOC_MAX_DECIMALS 6

enum ob_doc_type { OB_DOC_SECTION, OB_DOC_PARA, OB_DOC_LIST, OB_DOC_KPI, OB_DOC_TABLE, OB_DOC_CHART, OB_DOC_NOTE };
enum ob_doc_status { OB_DOC_ST_NONE, OB_DOC_ST_GREEN, OB_DOC_ST_AMBER, OB_DOC_ST_RED };
enum ob_doc_align { OB_DOC_LEFT, OB_DOC_RIGHT, OB_DOC_CENTER };
enum ob_doc_format { OB_DOC_TEXT, OB_DOC_NUMBER, OB_DOC_DATE, OB_DOC_PERCENT };

struct ob_doc_run {
	uint32_t text;
	uint8_t bold, italic;
};

struct ob_doc_col {
	uint32_t header;
	double width;    /* relative, > 0 */
	uint8_t align;   /* enum ob_doc_align */
	uint8_t format;  /* enum ob_doc_format */
	uint8_t decimals;
};

/* A table: also the ABI's struct ob_table, the handle rows are added to. */
struct ob_table {
	struct ob_doc *doc;
	uint32_t ncols;
	struct ob_doc_col *cols;
	size_t nrows, rows_cap;
	uint32_t *cells;    /* row r's cells: cells[r * ncols ...], OB_DOC_NONE = null */
	uint8_t *status;    /* per row: enum ob_doc_status */
	uint32_t *cstat;    /* per row: its first entry in cs (ncols of them), or OB_DOC_NONE */
	uint8_t *cs;        /* cell statuses, ncols a row that has them */
	size_t ncs, cs_cap;
	int has_status;     /* some row has a status */
};

struct ob_doc_chart {
	uint32_t title, value_axis, label_axis;
	uint8_t horizontal, stacked, show_values;
	size_t nlabels, nseries;
	uint32_t *labels;
	uint32_t *names;    /* per series */
	double *values;     /* series k's: values[k * nlabels ...] */
};

struct ob_doc_el {
	uint8_t type; /* enum ob_doc_type */
	union {
		struct {
			int level;
			uint32_t title;
			uint8_t landscape, new_page;
		} section;
		struct {
			size_t n;
			struct ob_doc_run *runs;
		} para;
		struct {
			size_t n;
			uint32_t *items;
		} list;
		struct {
			uint32_t label, unit;
			double value, previous;
			uint8_t decimals, has_previous;
		} kpi;
		struct ob_table *table;
		struct ob_doc_chart *chart;
		uint32_t note;
	} u;
};

struct ob_doc {
	uint32_t title, subtitle;
	struct ob_doc_el *els;
	size_t nels, els_cap;
	char *str;          /* the string arena */
	size_t str_len, str_cap;
};

struct ob_doc *ob_doc_new(void);
void ob_doc_free(struct ob_doc *d);

/* A string of the arena, NULL for OB_DOC_NONE. */
static inline const char *ob_doc_str(const struct ob_doc *d, uint32_t s)
{
	return s == OB_DOC_NONE ? NULL : d->str + s;
}
const char *ob_doc_title(const struct ob_doc *d); /* NULL if none */

/* The ABI's calls (structs already adopted to the core's size). 0, or -1
 * with err naming the argument; nothing is added then. */
int ob_doc_set_title(struct ob_doc *d, const char *title, const char *subtitle, struct ob_err *err);
int ob_doc_add_section(struct ob_doc *d, int level, const char *title, int landscape, int new_page,
		       struct ob_err *err);
int ob_doc_add_para(struct ob_doc *d, const struct ob_text_run *runs, size_t n, struct ob_err *err);
int ob_doc_add_list(struct ob_doc *d, const char *const *items, size_t n, struct ob_err *err);
int ob_doc_add_kpi(struct ob_doc *d, const struct ob_kpi *k, struct ob_err *err);
struct ob_table *ob_doc_add_table(struct ob_doc *d, const struct ob_column *cols, size_t ncols,
				  struct ob_err *err);
int ob_doc_add_row(struct ob_table *t, const char *const *cells, enum ob_doc_status status, struct ob_err *err);
int ob_doc_cell_status(struct ob_table *t, size_t col, enum ob_doc_status status, struct ob_err *err);
/* series: ch->nseries adopted structs. */
int ob_doc_add_chart(struct ob_doc *d, const struct ob_chart *ch, const struct ob_series *series,
		     struct ob_err *err);
int ob_doc_add_note(struct ob_doc *d, const char *text, struct ob_err *err);

/* document.json: appended to out. */
void ob_doc_to_json(const struct ob_doc *d, struct ob_buf *out);
/* A document.json's tree as a model: 0 and *out, or -1 with err naming the
 * element (counted from 0) and the member. */
int ob_doc_from_json(const struct cJSON *root, struct ob_doc **out, struct ob_err *err);

#endif
