/* overblik/plugin.h - the report plugin ABI: the only header a plugin
 * includes. A plugin is a shared object exporting one symbol, ob_plugin,
 * made with OB_PLUGIN(...). It reaches the core only through ctx->api and
 * links to nothing but libc.
 *
 * Versioning (ABI 2, meant to last): the core refuses a plugin whose
 * abi_major differs from its own. Members are only ever appended, never
 * moved or removed, to struct ob_api, struct ob_plugin and every struct a
 * plugin passes in; appending bumps the minor.
 * - struct ob_api: a plugin checks OB_API_HAS(api, member) before it uses a
 *   member newer than the minor it was built for.
 * - structs a plugin passes in (ob_column, ob_kpi, ob_chart, ob_series,
 *   ob_notice, ob_setting) start with uint32_t size: make them with
 *   OB_INIT(type, ...), which sets it. The core reads members past a
 *   plugin's size as zero, so an old plugin keeps working with a newer core.
 *   An array of them (columns, series, settings) is read with its first
 *   element's size as the stride.
 *
 * Ownership: every pointer the core hands a plugin (rows, cells, the
 * document and its tables, JSON nodes, strings) belongs to the run and is
 * valid until run() returns; plugins rarely free anything. Strings a plugin
 * passes in are borrowed: the core copies what it keeps. Text is UTF-8
 * throughout. Dates are text, "YYYY-MM-DD", as the database gives them. */
#ifndef OVERBLIK_PLUGIN_H
#define OVERBLIK_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#define OB_PLUGIN_ABI_MAJOR 2 /* the core refuses any other major */
#define OB_PLUGIN_ABI_MINOR 1 /* bumped when members are appended; never reorder */

/* A struct a plugin passes in, with its size set: OB_INIT(ob_kpi, .label = "…"). */
#define OB_INIT(type, ...) ((struct type){.size = sizeof(struct type), __VA_ARGS__})
/* Whether the core's api has member (it may be older than the plugin). */
#define OB_API_HAS(api, member)                                                                    \
	((api)->size >= offsetof(struct ob_api, member) + sizeof((api)->member) && (api)->member != NULL)

#define OB_DATE_SIZE 11 /* "YYYY-MM-DD" and its NUL */

#ifdef __cplusplus
extern "C" {
#endif

struct ob_ctx;   /* one per run; opaque past its first member */
struct ob_rows;  /* a query's result */
struct ob_doc;   /* the run's document */
struct ob_table; /* a table in it */
struct ob_json;  /* an object or array in the run's REPORT.json */

enum ob_plugin_log { OB_PLOG_ERR = 3, OB_PLOG_WARNING = 4, OB_PLOG_NOTICE = 5, OB_PLOG_INFO = 6, OB_PLOG_DEBUG = 7 };

/* Document model. Numbers and dates in table cells are given as text in
 * the C locale ("1234.5", "2026-11-26") with a column format; the renderer
 * writes them the Danish way (1.234,5 and 26.11.2026). */
enum ob_align { OB_ALIGN_LEFT = 0, OB_ALIGN_RIGHT = 1, OB_ALIGN_CENTER = 2 };
enum ob_format { OB_FMT_TEXT = 0, OB_FMT_NUMBER = 1, OB_FMT_DATE = 2, OB_FMT_PERCENT = 3 };
enum ob_status { OB_STATUS_NONE = 0, OB_STATUS_GREEN = 1, OB_STATUS_AMBER = 2, OB_STATUS_RED = 3 };
#define OB_SECTION_LANDSCAPE 0x1u /* the section's pages are landscape */
#define OB_SECTION_NEW_PAGE 0x2u  /* the section starts a page (after a summary page) */
#define OB_TEXT_BOLD 0x1u
#define OB_TEXT_ITALIC 0x2u

struct ob_column {
	uint32_t size;
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
	uint32_t size;
	const char *label;     /* "Systemer uden ejer" */
	double value;
	const char *unit;      /* "%", "stk.", or NULL */
	int decimals;
	int has_previous;      /* the value of the previous run is known (api->previous) */
	double previous;       /* shown as the change, with an up/down mark */
};

struct ob_series {
	uint32_t size;
	const char *name;      /* in the legend */
	const double *values;  /* one per label */
};

struct ob_chart {
	uint32_t size;
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
	uint32_t size;
	const char *recipient;   /* "owner:<person id>", or a role: "asg", "direktion", "isk",
	                            "indkoeb", "iod", "it_support" */
	const char *dedupe_key;  /* "contract:<uuid>:deadline:2027-03-31:90": delivered once per
	                            recipient, ever */
	const char *template;    /* "contract_expiry/deadline": templates/da/contract_expiry/deadline.txt
	                            (and .html) give the item's text */
	const char *const *kv;   /* "key", "value", ..., NULL: the template's values */
	unsigned flags;          /* 2.1: OB_NOTICE_* */
};
/* The item stands alone: a message made only of such items carries no PDF
 * (a role's one-page summary, where mail.attach_pdf would attach it). */
#define OB_NOTICE_NO_PDF 0x1u

/* Settings a plugin declares (struct ob_plugin's settings): the core
 * checks the configuration's /reports/NAME/settings against them when it
 * loads the configuration (check-config, overblikd's start and SIGHUP) and
 * before each run, naming a bad value by its JSON pointer, and refuses
 * keys no plugin declared. A plugin reads them typed, defaults applied. */
enum ob_setting_type {
	OB_SETTING_INT = 1,      /* a whole number in [min, max] */
	OB_SETTING_INT_LIST = 2, /* an array of 1 to 64 distinct whole numbers in [min, max] */
	OB_SETTING_CHOICE = 3,   /* one of choices: "month|quarter|year" */
	OB_SETTING_BOOL = 4,     /* true or false */
	OB_SETTING_TEXT = 5,     /* a string of at most max characters (0: 1000) */
	OB_SETTING_CHOICE_LIST = 6 /* 2.1: an array of 0 to 64 distinct strings, each one of choices */
};

struct ob_setting {
	uint32_t size;
	const char *name;        /* "milestones" */
	enum ob_setting_type type;
	const char *def;         /* the default as JSON: "[365, 180, 90, 30]", "12", "\"quarter\"", "true" */
	long long min, max;      /* INT, INT_LIST; TEXT: max length */
	const char *choices;     /* CHOICE, CHOICE_LIST: "month|quarter|year" */
	const char *help;        /* one line, in English, for the operator */
};

/* Calendar periods of api->end_of. */
enum ob_period { OB_PERIOD_NONE = 0, OB_PERIOD_MONTH = 1, OB_PERIOD_QUARTER = 2, OB_PERIOD_YEAR = 3 };

/* The core's services. Every function returning int returns 0 on success
 * and -1 on error (logged by the core with the run and the plugin) unless
 * it says otherwise. */
struct ob_api {
	uint32_t size; /* sizeof(struct ob_api) of the core: members past it are absent */

	/* The run. */
	const char *(*as_of)(struct ob_ctx *);                    /* "2026-11-26" */
	const char *(*param)(struct ob_ctx *, const char *key);   /* the run's parameters; NULL if unset */
	const char *(*org_id)(struct ob_ctx *);                   /* the organisation, as a query value */
	const char *(*org_name)(struct ob_ctx *);
	void (*log)(struct ob_ctx *, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

	/* Settings, as declared in struct ob_plugin, checked and defaulted. A
	 * name the plugin did not declare, or of another type, is logged as an
	 * error and reads as 0 / NULL. */
	long long (*setting_int)(struct ob_ctx *, const char *name);
	/* The list's length; *values gets its numbers (in the order given). */
	size_t (*setting_ints)(struct ob_ctx *, const char *name, const long long **values);
	const char *(*setting_text)(struct ob_ctx *, const char *name); /* CHOICE and TEXT */
	int (*setting_bool)(struct ob_ctx *, const char *name);         /* 1 or 0 */

	/* Queries: parameterised SQL, every value bound, never spliced. They run
	 * in one read-only snapshot: SELECT or WITH only. */
	int (*query)(struct ob_ctx *, const char *sql, const char *const *params, size_t n,
		     struct ob_rows **out);
	size_t (*nrows)(const struct ob_rows *);
	const char *(*cell)(const struct ob_rows *, size_t row, const char *col); /* NULL = SQL NULL */

	/* Calendar (REPORTS.md "Calendar arithmetic"): one implementation for
	 * every report. Dates in and out are "YYYY-MM-DD"; out has
	 * OB_DATE_SIZE bytes. -1 when a date is not a valid one (nothing is
	 * logged: a plugin decides what a bad date in the data means). */
	int (*add_months)(const char *date, int months, char *out);  /* the month-end rule */
	int (*end_of)(const char *date, enum ob_period, char *out);  /* NONE: the date itself */
	int (*days)(const char *from, const char *to, long *out);    /* to − from */
	/* Danish text for items and paragraphs: "31. december 2026"; numbers
	 * "1.234.567" and "12,5" (decimals after the comma, rounded half up).
	 * Return the length written, or -1 (a bad date, or size too small). */
	int (*date_da)(const char *date, char *out, size_t size);
	int (*number_da)(double value, int decimals, char *out, size_t size);

	/* The document (rendered by the core as the run's PDF, REPORT.pdf). */
	struct ob_doc *(*doc)(struct ob_ctx *);
	int (*title)(struct ob_doc *, const char *title, const char *subtitle);
	int (*section)(struct ob_doc *, int level, const char *title, unsigned flags); /* level 1 or 2 */
	int (*para)(struct ob_doc *, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
	int (*para_runs)(struct ob_doc *, const struct ob_text_run *runs, size_t n);
	int (*bullets)(struct ob_doc *, const char *const *items, size_t n); /* a bullet list */
	int (*kpi)(struct ob_doc *, const struct ob_kpi *);
	struct ob_table *(*table)(struct ob_doc *, const struct ob_column *cols, size_t ncols);
	int (*row)(struct ob_table *, const char *const *cells, enum ob_status status);
	int (*cell_status)(struct ob_table *, size_t col, enum ob_status status); /* of the last row */
	int (*chart)(struct ob_doc *, const struct ob_chart *);
	int (*note)(struct ob_doc *, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

	/* REPORT.json (REPORTS.md "Common to all four"), written beside the PDF
	 * as NAME.json, listed and served like it. The core fills report,
	 * format, as_of, run, organisation and previous; the plugin adds its
	 * rows to report_json() and its figures to figures(). The figures are
	 * recorded with the run, so the next run reads them as previous. A key
	 * set twice keeps the last value. key is NULL to append to an array. */
	struct ob_json *(*report_json)(struct ob_ctx *); /* the root object */
	struct ob_json *(*figures)(struct ob_ctx *);     /* its "figures" object */
	struct ob_json *(*j_object)(struct ob_json *parent, const char *key);
	struct ob_json *(*j_array)(struct ob_json *parent, const char *key);
	int (*j_int)(struct ob_json *parent, const char *key, long long value);
	int (*j_number)(struct ob_json *parent, const char *key, double value, int decimals);
	int (*j_text)(struct ob_json *parent, const char *key, const char *text); /* NULL: null */
	int (*j_date)(struct ob_json *parent, const char *key, const char *date); /* NULL: null */
	int (*j_bool)(struct ob_json *parent, const char *key, int value);
	int (*j_null)(struct ob_json *parent, const char *key);
	/* A figure of the previous run (REPORTS.md "previous"), by its path in
	 * figures: "contracts", "milestones/365". 1 and *value when known, 0
	 * when there is no previous run or it has no such number. */
	int (*previous)(struct ob_ctx *, const char *path, double *value);
	const char *(*previous_as_of)(struct ob_ctx *); /* its as_of, or NULL */

	/* Notifications, written with the run: all of them or none. */
	int (*notify)(struct ob_ctx *, const struct ob_notice *);

	/* 2.1 */
	/* A CHOICE_LIST setting: its length; *values gets its strings. */
	size_t (*setting_texts)(struct ob_ctx *, const char *name, const char *const **values);
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
	const char *title;                           /* Danish, for mails and listings: "Kontraktudløb" */
	const struct ob_setting *settings;           /* what /reports/NAME/settings may hold, or NULL */
	size_t nsettings;
};

#define OB_PLUGIN(...)                                                                             \
	__attribute__((visibility("default"))) const struct ob_plugin ob_plugin = {                 \
		.abi_major = OB_PLUGIN_ABI_MAJOR, .abi_minor = OB_PLUGIN_ABI_MINOR,                  \
		.size = sizeof(struct ob_plugin), __VA_ARGS__}

#ifdef __cplusplus
}
#endif

#endif
