/* fake_api.h - a fake of the plugin API (include/overblik/plugin.h) for a
 * report plugin's unit tests: no database, no renderer, no outbox.
 *
 * The test makes a fake for a plugin and a date, sets settings (defaults
 * are the plugin's declared ones), registers canned rows for the queries
 * (matched by a substring of the SQL), runs the plugin and asserts on what
 * it recorded: notices, REPORT.json (a cJSON tree), the document's element
 * counts and text. The calendar and Danish formatting are the core's
 * (core/util.h). Everything the fake hands out lives until fake_free().
 *
 *   struct fake *f = fake_new(&ob_plugin, "2026-11-26");
 *   fake_rows(f, "FROM contracts", cols, 3, cells, 2);   // cells row-major, NULL = SQL NULL
 *   fake_setting(f, "milestones", "[90, 30]");
 *   OK(fake_run(f) == 0);
 *   EXPECT_EQ_INT(1, fake_count(f, "owner:7", "contract:"));
 *   fake_free(f); */
#ifndef OB_FAKE_API_H
#define OB_FAKE_API_H

#include <cjson/cJSON.h>
#include <overblik/plugin.h>
#include <stddef.h>

struct fake_notice {
	char *recipient, *key, *template;
	char **kv; /* "key", "value", ..., NULL */
	unsigned flags; /* OB_NOTICE_* */
};

struct fake_table {
	size_t ncols, nrows;
	char *first_header;
	size_t nstatus[4]; /* rows per enum ob_status */
};

struct fake_doc_counts {
	size_t title, section, para, bullets, bullet_items, kpi, kpi_previous, table, row, chart, note;
};

struct fake {
	struct ob_ctx ctx; /* first: the plugin's ctx; ctx.api is &api */
	struct ob_api api;
	const struct ob_plugin *plugin;
	char as_of[OB_DATE_SIZE];
	char *org_id, *org_name;

	struct fake_notice *notices;
	size_t nnotices;

	cJSON *report; /* REPORT.json as the core would start it */
	cJSON *previous; /* the previous run's figures, or NULL */
	char *previous_as_of;

	struct fake_doc_counts doc;
	struct fake_table *tables;
	size_t ntables;
	char *doc_text; /* every title, paragraph, bullet, note, cell and label, one a line */
	size_t doc_len;
	size_t bad_cells; /* a number or date cell not in C-locale form */

	size_t nqueries;
	size_t bad_queries; /* not SELECT/WITH, or no parameter is the org id */
	size_t unmatched;   /* queries no canned rows matched (answered empty) */
	size_t errors;      /* api->log at OB_PLOG_ERR, and API misuse */

	void *priv; /* settings, canned rows, allocations */
};

/* A fake for plugin p (its settings' defaults apply) on as_of; org_id
 * "1", org_name "Testkommune". */
struct fake *fake_new(const struct ob_plugin *p, const char *as_of);
void fake_free(struct fake *f);

/* The organisation the run is for (both copied). */
void fake_org(struct fake *f, const char *id, const char *name);
/* Sets a declared setting to a JSON value ("[90, 30]", "6", "\"month\"").
 * 0, or -1 if the plugin did not declare it or the JSON is not valid. */
int fake_setting(struct fake *f, const char *name, const char *json);
/* Rows for every query whose SQL contains sql_part: ncols names, nrows ×
 * ncols cells row-major (NULL = SQL NULL). All copied. Later registrations
 * are tried first. */
void fake_rows(struct fake *f, const char *sql_part, const char *const *cols, size_t ncols,
	       const char *const *cells, size_t nrows);
/* The previous run's figures as JSON (NULL: no previous run). */
void fake_previous(struct fake *f, const char *figures_json, const char *as_of);

/* Runs the plugin (init, run, fini): its return value. May be called
 * again after fake_reset(), which forgets what the last run recorded. */
int fake_run(struct fake *f);
void fake_reset(struct fake *f);

/* Notices sent to recipient (NULL: any) whose key starts with key_prefix
 * (NULL: any). */
size_t fake_count(const struct fake *f, const char *recipient, const char *key_prefix);
/* The notice with this recipient and exact key, or NULL. */
const struct fake_notice *fake_find(const struct fake *f, const char *recipient, const char *key);
/* A notice's value for key, or NULL. */
const char *fake_kv(const struct fake_notice *n, const char *key);
/* A node of REPORT.json by its path below the root ("figures/contracts",
 * "contracts/0/kind"; an array index as a number), or NULL. */
const cJSON *fake_json(const struct fake *f, const char *path);

#endif
