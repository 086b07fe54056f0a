/* overblik/plugin.h - the report plugin ABI: the only header a plugin
 * includes. A plugin is a shared object exporting one symbol, ob_plugin,
 * made with OB_PLUGIN(...). It reaches the core only through ctx->api and
 * links to nothing but libc.
 *
 * Versioning: the core refuses a plugin whose abi_major differs from its
 * own. Members are only ever appended to struct ob_api and struct
 * ob_plugin (bumping the minor); a plugin checks api->size before it uses a
 * member newer than the minor it was built for, and the core reads plugin
 * members past the plugin's size as absent.
 *
 * Ownership: every pointer the core hands a plugin (rows, cells, the
 * document and its tables, strings) belongs to the run and is valid until
 * run() returns; plugins rarely free anything. Strings a plugin passes in are
 * borrowed: the core copies what it keeps. Text is UTF-8 throughout. */
#ifndef OVERBLIK_PLUGIN_H
#define OVERBLIK_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#define OB_PLUGIN_ABI_MAJOR 1 /* the core refuses any other major */
#define OB_PLUGIN_ABI_MINOR 0 /* bumped when members are appended; never reorder */

#ifdef __cplusplus
extern "C" {
#endif

struct ob_ctx;   /* one per run; opaque past its first member */
struct ob_rows;  /* a query's result */
struct ob_doc;   /* the run's document */
struct ob_table; /* a table in it */

enum ob_plugin_log { OB_PLOG_ERR = 3, OB_PLOG_WARNING = 4, OB_PLOG_NOTICE = 5, OB_PLOG_INFO = 6, OB_PLOG_DEBUG = 7 };

/* Document model. Numbers and dates in table cells are given as text in
 * the C locale ("1234.5", "2026-11-26") with a column format; the renderer
 * writes them the Danish way (1.234,5 and 26.11.2026). */
enum ob_align { OB_ALIGN_LEFT = 0, OB_ALIGN_RIGHT = 1, OB_ALIGN_CENTER = 2 };
enum ob_format { OB_FMT_TEXT = 0, OB_FMT_NUMBER = 1, OB_FMT_DATE = 2, OB_FMT_PERCENT = 3 };
enum ob_status { OB_STATUS_NONE = 0, OB_STATUS_GREEN = 1, OB_STATUS_AMBER = 2, OB_STATUS_RED = 3 };
#define OB_SECTION_LANDSCAPE 0x1u /* the section's pages are landscape */
#define OB_TEXT_BOLD 0x1u
#define OB_TEXT_ITALIC 0x2u

struct ob_column {
	const char *header;
	double width;          /* relative width; 0 = 1 */
	enum ob_align align;
	enum ob_format format;
	int decimals;          /* OB_FMT_NUMBER, OB_FMT_PERCENT */
};

struct ob_text_run {
	const char *text;
	unsigned style;        /* OB_TEXT_BOLD | OB_TEXT_ITALIC */
};

struct ob_kpi {
	const char *label;     /* "Systemer uden ejer" */
	double value;
	const char *unit;      /* "%", "stk.", or NULL */
	int decimals;
	int has_previous;      /* the value of the previous run is known */
	double previous;       /* shown as the change, with an up/down mark */
};

struct ob_series {
	const char *name;      /* in the legend */
	const double *values;  /* one per label */
};

struct ob_chart {
	const char *title;
	int horizontal;        /* bars grow to the right */
	int stacked;           /* the series stack; else side by side */
	const char *const *labels;
	size_t nlabels;
	const struct ob_series *series;
	size_t nseries;
	const char *value_axis; /* axis label, or NULL */
	const char *label_axis;
	int show_values;       /* values written on the bars */
};

/* A notification: one item of a recipient's digest. */
struct ob_notice {
	const char *recipient;   /* "owner:<person id>", or a role: "asg", "direktion", "isk",
	                            "indkoeb", "iod", "it_support" */
	const char *dedupe_key;  /* "contract:123:notice:90d": delivered once, ever */
	const char *template;    /* "contract_expiry/reminder" in templates/da/ */
	const char *const *kv;   /* "key", "value", ..., NULL: the template's values */
};

/* The core's services. Every function returning int returns 0 on success
 * and -1 on error (logged by the core with the run and the plugin). */
struct ob_api {
	uint32_t size; /* sizeof(struct ob_api) of the core: members past it are absent */

	/* The run. */
	const char *(*as_of)(struct ob_ctx *);                    /* "2026-11-26" */
	const char *(*setting)(struct ob_ctx *, const char *key); /* the report's config; NULL if unset */
	const char *(*param)(struct ob_ctx *, const char *key);   /* the run's parameters; NULL if unset */
	const char *(*org_id)(struct ob_ctx *);                   /* the organisation, as a query value */
	const char *(*org_name)(struct ob_ctx *);
	void (*log)(struct ob_ctx *, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

	/* Queries: parameterised SQL, every value bound, never spliced. */
	int (*query)(struct ob_ctx *, const char *sql, const char *const *params, size_t n,
		     struct ob_rows **out);
	size_t (*nrows)(const struct ob_rows *);
	const char *(*cell)(const struct ob_rows *, size_t row, const char *col); /* NULL = SQL NULL */

	/* The document (rendered by the core as the run's PDF). */
	struct ob_doc *(*doc)(struct ob_ctx *);
	int (*title)(struct ob_doc *, const char *title, const char *subtitle);
	int (*section)(struct ob_doc *, int level, const char *title, unsigned flags); /* level 1 or 2 */
	int (*para)(struct ob_doc *, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
	int (*para_runs)(struct ob_doc *, const struct ob_text_run *runs, size_t n);
	int (*kpi)(struct ob_doc *, const struct ob_kpi *);
	struct ob_table *(*table)(struct ob_doc *, const struct ob_column *cols, size_t ncols);
	int (*row)(struct ob_table *, const char *const *cells, enum ob_status status);
	int (*cell_status)(struct ob_table *, size_t col, enum ob_status status); /* of the last row */
	int (*chart)(struct ob_doc *, const struct ob_chart *);
	int (*note)(struct ob_doc *, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

	/* Notifications, written with the run: all of them or none. */
	int (*notify)(struct ob_ctx *, const struct ob_notice *);
};

struct ob_ctx {
	const struct ob_api *api; /* the core's private part follows */
};

struct ob_plugin {
	uint16_t abi_major, abi_minor;               /* these three never move */
	uint32_t size;                               /* sizeof(struct ob_plugin) when built */
	const char *name;                            /* must equal the file stem: contract_expiry.so */
	const char *version;
	int (*init)(struct ob_ctx *, void **state);  /* optional; 0 ok, -1 fails the run */
	int (*run)(struct ob_ctx *, void *state);    /* required; 0 succeeded, -1 failed */
	void (*fini)(void *state);                   /* optional */
};

#define OB_PLUGIN(...)                                                                             \
	__attribute__((visibility("default"))) const struct ob_plugin ob_plugin = {                 \
		OB_PLUGIN_ABI_MAJOR, OB_PLUGIN_ABI_MINOR, sizeof(struct ob_plugin), __VA_ARGS__}

#ifdef __cplusplus
}
#endif

#endif
