/* import_csv.c - the documented CSV import (README "CSV"): one file of one
 * kind, recognised from its header, written in one transaction. A bad
 * value is reported as "FILE:LINE: column: problem" and nothing changes.
 * Bytes that are no text (invalid UTF-8, a NUL) skip their row with a
 * warning, and a text longer than its column is cut at a character
 * boundary with a warning: such problems of one row never stop the rest
 * (a file with no UTF-8 in it at all is refused whole: it was saved in
 * another encoding).
 *
 * Speed: the rows of the big kinds (systems, contracts, people, org units,
 * assessments) are compared with what the database holds, loaded once per
 * organisation, and only new and changed rows are written, with MariaDB's
 * array binding, CHUNK rows an execution (as the KITOS import does). The
 * server runs those writes while the next rows are checked: they go to a
 * writer thread ("the writer" below), on the one connection, in order. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include "csv.h"
#include "db.h"
#include "import.h"
#include "log.h"
#include "map.h"

#define MAX_LISTED 1000   /* row errors logged, one line each */
#define MAX_MSG 400       /* one listed error, at most */
#define MAX_SET 16        /* settable columns of one kind */
#define CHUNK 2000        /* rows per bulk execution */
#define STAGE_MAX 64000   /* rows staged before they are applied (systems, contracts) */
#define STAGE_HEAP 268435456 /* the server memory they may take: 64,000 rows of 1.1 KB and the key */
#define OB_STR_(x) #x
#define OB_STR(x) OB_STR_(x)

/* ---- the kinds and their columns ---- */

#define E(t) t, OB_ARRAY_LEN(t)

static const struct ob_csv_enum en_category[] = {
	{"foundation", {"grundlæggende"}},
	{"cross_cutting", {"tværgående"}},
	{"line_of_business", {"fagsystem"}},
};
static const struct ob_csv_enum en_phase[] = {
	{"needs", {"behovsopgørelse"}},
	{"procurement", {"anskaffelse"}},
	{"contract_followup", {"kontraktopfølgning", "drift"}},
	{"exit", {NULL}},
};
static const struct ob_csv_enum en_citizen[] = {
	{"self_service", {"selvbetjening"}},
	{"data_display", {"udstilling af data"}},
	{"information", {"information/portal", "portal"}},
	{"digital_meeting", {"digitalt møde"}},
	{"digital_communication", {"digital kommunikation"}},
};
static const struct ob_csv_enum en_assessment[] = {
	{"risk_assessment", {"risikovurdering"}},
	{"dpia", {"konsekvensanalyse"}},
	{"data_ethics", {"dataetisk vurdering"}},
};
static const struct ob_csv_enum en_result[] = {
	{"low", {"lav"}},
	{"medium", {"middel"}},
	{"high", {"høj"}},
	{"undecided", {"uafklaret"}},
};
static const struct ob_csv_enum en_reason[] = {
	{"acquisition", {"anskaffelse"}},
	{"annual", {"årlig"}},
	{"incident", {"hændelse"}},
	{"change", {"ændring"}},
	{"other", {"andet"}},
};
static const struct ob_csv_enum en_severity[] = {
	{"low", {"lav"}},
	{"medium", {"middel"}},
	{"high", {"høj"}},
	{"critical", {"kritisk"}},
};
static const struct ob_csv_enum en_segment[] = {
	{"A", {NULL}},
	{"B", {NULL}},
	{"C", {NULL}},
};
static const struct ob_csv_enum en_exit[] = {
	{"undecided", {"uafklaret"}},
	{"extend", {"forlæng"}},
	{"terminate", {"opsig"}},
	{"retender", {"genudbud"}},
};
static const struct ob_csv_enum en_maturity[] = {
	{"green", {"grøn"}},
	{"yellow", {"gul"}},
	{"red", {"rød"}},
};
static const struct ob_csv_enum en_change[] = {
	{"keep", {"bevar"}},
	{"replace", {"erstat"}},
	{"phase_out", {"udfas"}},
	{"consolidate", {"konsolider"}},
	{"new", {"ny"}},
	{"align", {"tilpas"}},
};

enum vtype { V_KEY, V_TEXT, V_DATE, V_BOOL, V_ENUM, V_AMOUNT, V_UNIT };

struct colspec {
	const char *name;                /* the CSV column */
	const char *sql;                 /* the column a present cell sets; NULL: the kind's code */
	enum vtype type;
	const struct ob_csv_enum *tab;
	size_t ntab;
	unsigned maxlen;                 /* V_TEXT: characters */
	int notnull;                     /* an empty cell is an error */
	const char *empty;               /* stored for an empty cell instead of NULL */
};

enum kind { K_ASSESSMENTS, K_INCIDENTS, K_TARGET, K_FUTURE, K_SHARED, K_PEOPLE, K_UNITS,
	    K_CONTRACTS, K_SYSTEMS };

struct kind_def {
	enum kind kind;
	const char *key;         /* the column that recognises it */
	const char *name;        /* "target picture": "... for a target picture file" */
	const char *article;     /* "a" or "an" */
	const char *json;        /* "target_picture" */
	const char *one, *many;  /* what the summary counts: "system", "systems" */
	const struct colspec *cols;
	size_t ncols;
	const char *const *required;
};

static const struct colspec c_assessments[] = {
	{"system_uuid", NULL, V_KEY, NULL, 0, 0, 1, NULL},
	{"kind", NULL, V_ENUM, E(en_assessment), 0, 1, NULL},
	{"done_on", NULL, V_DATE, NULL, 0, 0, 1, NULL},
	{"result", "result", V_ENUM, E(en_result), 0, 0, NULL},
	{"reason", "reason", V_ENUM, E(en_reason), 0, 0, NULL},
	{"next_due", "next_due", V_DATE, NULL, 0, 0, 0, NULL},
	{"note", "note", V_TEXT, NULL, 0, 1000, 0, NULL},
};
static const struct colspec c_incidents[] = {
	{"system_uuid", NULL, V_KEY, NULL, 0, 0, 1, NULL},
	{"occurred_on", NULL, V_DATE, NULL, 0, 0, 1, NULL},
	{"severity", "severity", V_ENUM, E(en_severity), 0, 0, NULL},
	{"title", NULL, V_TEXT, NULL, 0, 255, 1, NULL},
};
static const struct colspec c_target[] = {
	{"target_version", NULL, V_TEXT, NULL, 0, 32, 1, NULL},
	{"adopted_on", NULL, V_DATE, NULL, 0, 0, 1, NULL},
	{"future_version", NULL, V_TEXT, NULL, 0, 32, 1, NULL},
	{"action_code", NULL, V_TEXT, NULL, 0, 32, 1, NULL},
	{"action", NULL, V_TEXT, NULL, 0, 500, 1, NULL},
	{"change", NULL, V_ENUM, E(en_change), 0, 0, NULL},
	{"system_uuids", NULL, V_TEXT, NULL, 0, 0, 0, NULL},
};
static const struct colspec c_future[] = {
	{"future_version", NULL, V_TEXT, NULL, 0, 32, 1, NULL},
	{"adopted_on", NULL, V_DATE, NULL, 0, 0, 1, NULL},
	{"need_code", NULL, V_TEXT, NULL, 0, 32, 1, NULL},
	{"need", NULL, V_TEXT, NULL, 0, 500, 1, NULL},
};
static const struct colspec c_shared[] = {
	{"solution", NULL, V_TEXT, NULL, 0, 255, 1, NULL},
	{"maturity", NULL, V_ENUM, E(en_maturity), 0, 1, NULL},
	{"changed_on", NULL, V_DATE, NULL, 0, 0, 1, NULL},
};
static const struct colspec c_units[] = {
	{"unit_uuid", NULL, V_KEY, NULL, 0, 0, 1, NULL},
	{"name", NULL, V_TEXT, NULL, 0, 255, 1, NULL},
	{"parent_uuid", NULL, V_KEY, NULL, 0, 0, 0, NULL},
};
static const struct colspec c_people[] = {
	{"person_uuid", NULL, V_KEY, NULL, 0, 0, 1, NULL},
	{"name", "name", V_TEXT, NULL, 0, 255, 1, NULL},
	{"email", "email", V_TEXT, NULL, 0, 320, 0, NULL},
	{"unit_uuid", "org_unit_id", V_UNIT, NULL, 0, 0, 0, NULL},
};
static const struct colspec c_contracts[] = {
	{"contract_uuid", NULL, V_KEY, NULL, 0, 0, 1, NULL},
	{"segment", "segment", V_ENUM, E(en_segment), 0, 0, NULL},
	{"exit_decision", "exit_decision", V_ENUM, E(en_exit), 0, 0, "undecided"},
	{"annual_cost", "annual_cost", V_AMOUNT, NULL, 0, 0, 0, NULL},
	{"auto_renewal", "auto_renewal", V_BOOL, NULL, 0, 0, 0, NULL},
};
static const struct colspec c_systems[] = {
	{"system_uuid", NULL, V_KEY, NULL, 0, 0, 1, NULL},
	{"category", "category", V_ENUM, E(en_category), 0, 0, NULL},
	{"lifecycle_phase", "lifecycle_phase", V_ENUM, E(en_phase), 0, 0, NULL},
	{"department_uuid", "department_id", V_UNIT, NULL, 0, 0, 0, NULL},
	{"supplier", "supplier", V_TEXT, NULL, 0, 255, 0, NULL},
	{"last_data_review", "last_data_review", V_DATE, NULL, 0, 0, 0, NULL},
	{"citizen_facing", "citizen_facing", V_ENUM, E(en_citizen), 0, 0, NULL},
	{"ai", "uses_ai", V_BOOL, NULL, 0, 0, 0, NULL},
	{"algorithmic_decision_support", "algorithmic_support", V_BOOL, NULL, 0, 0, 0, NULL},
	{"rpa", "uses_rpa", V_BOOL, NULL, 0, 0, 0, NULL},
	{"data_matching", "data_matching", V_BOOL, NULL, 0, 0, 0, NULL},
};

static const char *const r_assessments[] = {"system_uuid", "kind", "done_on", NULL};
static const char *const r_incidents[] = {"system_uuid", "occurred_on", "title", NULL};
static const char *const r_target[] = {"target_version", "adopted_on", "future_version",
				       "action_code", "action", NULL};
static const char *const r_future[] = {"future_version", "adopted_on", "need_code", "need", NULL};
static const char *const r_shared[] = {"solution", "maturity", "changed_on", NULL};
static const char *const r_units[] = {"unit_uuid", "name", NULL};
static const char *const r_people[] = {"person_uuid", "name", NULL};
static const char *const r_contracts[] = {"contract_uuid", NULL};
static const char *const r_systems[] = {"system_uuid", NULL};

/* In the order the kinds are recognised (README "CSV"), except that people
 * (person_uuid) come before org units: a people file has a unit_uuid
 * column too. */
static const struct kind_def kinds[] = {
	{K_ASSESSMENTS, "done_on", "assessments", "an", "assessments", "assessment", "assessments",
	 E(c_assessments), r_assessments},
	{K_INCIDENTS, "occurred_on", "incidents", "an", "incidents", "incident", "incidents", E(c_incidents),
	 r_incidents},
	{K_TARGET, "target_version", "target picture", "a", "target_picture", "action", "actions", E(c_target),
	 r_target},
	{K_FUTURE, "future_version", "future picture", "a", "future_picture", "need", "needs", E(c_future), r_future},
	{K_SHARED, "solution", "shared solutions", "a", "shared_solutions", "maturity entry",
	 "maturity entries", E(c_shared), r_shared},
	{K_PEOPLE, "person_uuid", "people", "a", "people", "person", "people", E(c_people), r_people},
	{K_UNITS, "unit_uuid", "org units", "an", "org_units", "org unit", "org units", E(c_units), r_units},
	{K_CONTRACTS, "contract_uuid", "contracts", "a", "contracts", "contract", "contracts", E(c_contracts),
	 r_contracts},
	{K_SYSTEMS, "system_uuid", "systems", "a", "systems", "system", "systems", E(c_systems), r_systems},
};

/* ---- state ---- */

/* Copies of the texts of rows waiting in a bulk: blocks that never move. */
struct ablock {
	struct ablock *next;
	size_t used, cap;
	char data[];
};

/* Rows waiting to be written with one statement, CHUNK at a time. */
struct bulk {
	const char *sql;             /* the one-row statement */
	size_t ncols;
	struct ob_db_param *p;       /* CHUNK * ncols */
	size_t nrows;
	unsigned long first_line, last_line;
	struct ablock *texts;
};

/* What the database holds: rows of a query by a key made of their first
 * columns ("a|b"), loaded an organisation at a time. */
struct cur {
	struct ob_map idx;           /* key -> (set << 32 | row) + 1; "#ORG" -> loaded */
	struct ob_db_rows **sets;
	size_t nsets;
	size_t nkey;                 /* key columns */
	unsigned long first_org;     /* loaded alone, before all the others */
};

/* A problem that does not stop the import: "FILE:LINE: column: message". */
struct warning {
	unsigned long line;
	char *column;
	char *message;
};

struct org {
	char *spec;           /* as given; NULL for "the only one" */
	int found;
	unsigned long id;
	char *name;
};

/* A set of keys (lower case) with the line each was first seen on. */
struct seen {
	char **keys;
	unsigned long *lines;
	size_t cap, n;
};

/* A picture version met in the file. */
struct version {
	unsigned long org;
	char *version;
	int32_t adopted_on;
	char *future;         /* target: the future version named */
	unsigned long line;
	unsigned long id;     /* 0: the version could not be written */
	unsigned long long affected;
};

/* An action of a target picture this file creates: certainly new, written
 * in bulk at the end of the file. */
struct new_action {
	unsigned long line;
	unsigned long pic;
	char *code, *title;
	const char *change;   /* static enum id, or NULL */
	unsigned long *ids;   /* its systems, sorted, unique */
	size_t nids;
};

/* An org unit row, kept for the second pass (parents). */
struct unit_row {
	unsigned long line;
	unsigned long org;
	unsigned long id;
	char *uuid;
	char *parent;         /* NULL: parent_uuid absent; "": no parent */
	int state;            /* 1 created, 2 updated, 0 unchanged */
};

struct imp {
	struct ob_db *db;
	struct writer *w;            /* runs the bulk writes; NULL: run them here */
	int defer_ok;                /* the next file may start before the staged rows are applied */
	int deferring;               /* wexec and record_import defer their statement */
	struct ob_map ids;           /* "table:org:uuid" -> id, loaded an organisation at a time */
	const char *file;
	const struct ob_import_opts *opts;
	const struct kind_def *k;

	char **hdr;
	size_t nhdr;
	int *colof;                  /* per kind column: the header index or -1 */
	int orgcol;
	const char **vals;           /* the current row, trimmed */
	unsigned long line;
	int row_bad;

	size_t set[MAX_SET];         /* the present settable columns, indexes into k->cols */
	size_t nset;
	char *sql;                   /* the kind's statement, built from the header */
	char *cur_sql;               /* what the database holds of the kind, for one org */
	struct cur cur;              /* its rows, loaded an organisation at a time */
	struct bulk bulk;            /* new and changed rows waiting to be written */
	char *stage_create, *stage_insert, *stage_apply; /* systems, contracts: via a temporary table */
	int staged;                  /* csv_stage exists */
	size_t stage_rows;           /* rows in it, not yet applied */
	const char *count_sql;       /* the rows of a table keyed by text: COUNT(*) */
	long long count_before;      /* its result before this file, -1 not yet */

	char *errs[MAX_LISTED];      /* the first row errors */
	size_t nstored;
	unsigned long nerr;
	struct warning *warns;       /* the first warnings (MAX_LISTED) */
	size_t nwstored;
	unsigned long nwarn;
	unsigned long skipped;       /* rows skipped for their bytes */
	int file_has_utf8;           /* a multi-byte UTF-8 character occurs in the file */
	char *fatal;                 /* a database or reader error that stopped the import */

	struct org *orgs;
	size_t norgs, last_org;
	struct ob_db_rows *orgrows;  /* every organisation: id, kitos_uuid, cvr, name */
	struct seen seen;
	struct version *versions;
	size_t nversions;
	struct unit_row *units;
	size_t nunits;
	struct new_action *newacts;
	size_t nnewacts;

	unsigned long rows, created, updated, unchanged;
	unsigned long extra_created, extra_updated; /* shared solutions; picture rows */

	char *text;                  /* the whole file */
	struct ob_csv *csv;          /* its reader */
	struct timeval start;
	int dberr;                   /* fatal is a database error */
};

/* ---- errors ---- */

static void store_error(struct imp *im, char *msg)
{
	if (strlen(msg) > MAX_MSG)
		strcpy(msg + MAX_MSG - 3, "...");
	im->nerr++;
	if (im->nstored < MAX_LISTED)
		im->errs[im->nstored++] = msg;
	else
		free(msg);
}

/* A problem with the current row: "FILE:LINE: col: problem". */
static void row_err(struct imp *im, const char *col, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void row_err(struct imp *im, const char *col, const char *fmt, ...)
{
	char what[MAX_MSG];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (col)
		store_error(im, ob_xasprintf("%s:%lu: %s: %s", im->file, im->line, col, what));
	else
		store_error(im, ob_xasprintf("%s:%lu: %s", im->file, im->line, what));
	im->row_bad = 1;
}

/* A problem that does not stop the import, on line of column. */
static void warn(struct imp *im, unsigned long line, const char *col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void warn(struct imp *im, unsigned long line, const char *col, const char *fmt, ...)
{
	char what[MAX_MSG];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	im->nwarn++;
	if (im->nwstored == MAX_LISTED)
		return;
	if (im->warns == NULL)
		im->warns = ob_xcalloc(MAX_LISTED, sizeof(*im->warns));
	im->warns[im->nwstored].line = line;
	im->warns[im->nwstored].column = ob_xstrdup(col ? col : "");
	im->warns[im->nwstored].message = ob_xstrdup(what);
	im->nwstored++;
}

/* Logs the warnings, one line each. */
static void log_warnings(const struct imp *im)
{
	for (size_t i = 0; i < im->nwstored; i++) {
		const struct warning *w = &im->warns[i];
		ob_log(OB_LOG_WARNING, "import csv: %s:%lu: %s%s%s", im->file, w->line, w->column,
		       *w->column ? ": " : "", w->message);
	}
	if (im->nwarn > im->nwstored)
		ob_log(OB_LOG_WARNING, "import csv: %s: %lu more warnings not listed", im->file,
		       im->nwarn - im->nwstored);
}

/* The server's message without the statement db.c appends: no message of
 * the import shows SQL. */
static void db_message(const struct ob_err *e, char *out, size_t n)
{
	const char *m = strncmp(e->msg, "database: ", 10) == 0 ? e->msg + 10 : e->msg;
	const char *cut = strstr(m, " (in: ");
	const char *cut2 = strstr(m, " (preparing: ");
	size_t len = strlen(m);

	if (cut2 && (cut == NULL || cut2 < cut))
		cut = cut2;
	if (cut)
		len = (size_t)(cut - m);
	if (len >= n)
		len = n - 1;
	memcpy(out, m, len);
	out[len] = '\0';
}

static void db_fail(struct imp *im, const struct ob_err *e)
{
	char msg[sizeof(e->msg)];

	if (im->fatal)
		return;
	im->dberr = 1;
	db_message(e, msg, sizeof(msg));
	if (im->line > 0)
		im->fatal = ob_xasprintf("%s:%lu: database: %s", im->file, im->line, msg);
	else
		im->fatal = ob_xasprintf("%s: database: %s", im->file, msg);
}

/* Logs the collected errors, one line each (the fatal one first), and
 * leaves in err a sentence that counts them. */
static void report_errors(struct imp *im, struct ob_err *err)
{
	unsigned long total = im->nerr + (im->fatal ? 1 : 0);

	if (im->fatal && total > 1)
		ob_log(OB_LOG_ERR, "import csv: %s", im->fatal);
	for (size_t i = 0; i < im->nstored && total > 1; i++)
		ob_log(OB_LOG_ERR, "import csv: %s", im->errs[i]);
	if (total == 1 && im->fatal)
		ob_err_set(err, "%s", im->fatal);
	else if (total == 1)
		ob_err_set(err, "%s", im->errs[0]);
	else if (im->nerr > im->nstored)
		ob_err_set(err, "%s: %lu errors, the first %zu listed above", im->file, total,
			   im->nstored + (im->fatal ? 1 : 0));
	else
		ob_err_set(err, "%s: %lu errors, each listed above", im->file, total);
}

/* A value for a message: at most 60 bytes of it (cut on a UTF-8 boundary),
 * control characters written as \xNN so that nothing raw reaches a log
 * or a terminal. buf must hold 256 bytes. */
static const char *shown(const char *v, char buf[256])
{
	size_t n = strlen(v), o = 0;
	int cut = 0;

	if (n > 60) {
		n = 57;
		while (n > 0 && ((unsigned char)v[n] & 0xC0) == 0x80)
			n--;
		cut = 1;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];
		if (c < 0x20 || c == 0x7F)
			o += (size_t)snprintf(buf + o, 5, "\\x%02X", c);
		else
			buf[o++] = (char)c;
	}
	strcpy(buf + o, cut ? "..." : "");
	return buf;
}

/* ---- the writer ---- */

/* The bulk writes (and the statements that must come in order with them:
 * the staging table's creation, its UPDATE ... JOIN and its drop) run on
 * a second thread, so that the server applies one chunk while the next is
 * read and checked. There is one connection and a single queue: the
 * writer runs the jobs in the order they were queued, and every other
 * statement (a query, a lookup, the commit) first waits until the writer
 * has run them all (wsync), so the connection is only ever used by one
 * thread at a time and always sees every statement before it in order.
 * The first failing job stops the writer: the rest are dropped, and its
 * error goes to its file at the next wait. */
struct wjob {
	struct wjob *next;
	struct imp *im;              /* whose file: the error names it */
	const char *sql;             /* lives as long as im */
	struct ob_db_param *p;       /* NULL: a statement without values */
	size_t ncols, nrows;
	unsigned long first_line, last_line; /* last_line 0: one line, or none */
	struct ablock *texts;        /* the texts p points into */
};

#define WQUEUE 2                 /* jobs queued at most: bounds the memory held */

struct writer {
	struct ob_db *db;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;           /* a job queued or done, or stop */
	struct wjob *head, *tail;
	size_t queued;
	int busy, stop;
	struct wjob *dhead, *dtail;  /* deferred: queued after the next query (main thread's) */
	struct imp *fail_im;         /* the file whose job failed */
	char *fail;                  /* its error, "FILE:LINE: database: ...", not yet handed on */
	int failed;                  /* drop every job after a failure */
};

static void arena_free(struct ablock **head);
static void db_message(const struct ob_err *e, char *out, size_t n);

static void wjob_free(struct wjob *j)
{
	free(j->p);
	arena_free(&j->texts);
	free(j);
}

/* Runs a job on the connection; NULL, or the error to report. */
static char *wjob_run(struct ob_db *db, const struct wjob *j)
{
	struct ob_err e;
	char msg[sizeof(e.msg)];
	int rc;

	ob_err_clear(&e);
	if (j->p)
		rc = ob_db_exec_bulk(db, j->sql, j->p, j->ncols, j->nrows, &e);
	else
		rc = ob_db_exec(db, j->sql, NULL, 0, NULL, &e);
	if (rc == 0)
		return NULL;
	db_message(&e, msg, sizeof(msg));
	if (j->last_line)
		return ob_xasprintf("%s:%lu-%lu: database: %s", j->im->file, j->first_line, j->last_line, msg);
	if (j->first_line)
		return ob_xasprintf("%s:%lu: database: %s", j->im->file, j->first_line, msg);
	return ob_xasprintf("%s: database: %s", j->im->file, msg);
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		struct wjob *j;
		char *fail = NULL;

		while (w->head == NULL && !w->stop)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->head == NULL)
			break;
		j = w->head;
		w->head = j->next;
		if (w->head == NULL)
			w->tail = NULL;
		w->queued--;
		w->busy = 1;
		if (!w->failed) {
			pthread_mutex_unlock(&w->mu);
			fail = wjob_run(w->db, j);
			pthread_mutex_lock(&w->mu);
		}
		if (fail) {
			w->failed = 1;
			w->fail = fail;
			w->fail_im = j->im;
		}
		w->busy = 0;
		pthread_cond_broadcast(&w->cv);
		pthread_mutex_unlock(&w->mu);
		wjob_free(j);
		pthread_mutex_lock(&w->mu);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Starts the writer; 0, or -1 when no thread can be made (the writes then
 * run where they are queued). */
static int writer_start(struct writer *w, struct ob_db *db)
{
	memset(w, 0, sizeof(*w));
	w->db = db;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	if (pthread_create(&w->th, NULL, writer_main, w) != 0) {
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
		return -1;
	}
	return 0;
}

/* Queues the deferred jobs (main thread). */
static void wrelease(struct writer *w)
{
	if (w == NULL || w->dhead == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	for (struct wjob *j = w->dhead; j; j = j->next)
		w->queued++;
	if (w->tail)
		w->tail->next = w->dhead;
	else
		w->head = w->dhead;
	w->tail = w->dtail;
	w->dhead = w->dtail = NULL;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/* Waits until the writer has run every job queued, the deferred ones
 * first queued unless ahead is set. Its failure, if any, becomes the fatal
 * error of the file it belongs to, and of im if that is another (a write
 * of the file before, deferred into this one). */
static void wsync_(struct imp *im, int ahead)
{
	struct writer *w = im->w;

	if (w == NULL)
		return;
	if (!ahead)
		wrelease(w);
	pthread_mutex_lock(&w->mu);
	while (w->head || w->busy)
		pthread_cond_wait(&w->cv, &w->mu);
	if (w->fail) {
		struct imp *f = w->fail_im;
		if (f != im && im->fatal == NULL) {
			im->fatal = ob_xstrdup(w->fail);
			im->dberr = 1;
		}
		if (f->fatal == NULL) {
			f->fatal = w->fail;
			f->dberr = 1;
		} else
			free(w->fail);
		w->fail = NULL;
	}
	pthread_mutex_unlock(&w->mu);
}

static void wsync(struct imp *im)
{
	wsync_(im, 0);
}

/* Queues a job (taken over), or runs it now without a writer. 0, or -1
 * when an earlier job failed (im->fatal, or another file's, set). */
static int wsubmit(struct imp *im, struct wjob *j)
{
	struct writer *w = im->w;
	int failed;

	j->im = im;
	j->next = NULL;
	if (w == NULL) {
		char *fail = wjob_run(im->db, j);
		wjob_free(j);
		if (fail == NULL)
			return 0;
		if (im->fatal == NULL) {
			im->fatal = fail;
			im->dberr = 1;
		} else
			free(fail);
		return -1;
	}
	pthread_mutex_lock(&w->mu);
	while (w->queued >= WQUEUE && !w->failed)
		pthread_cond_wait(&w->cv, &w->mu);
	failed = w->failed;
	if (!failed) {
		if (w->tail)
			w->tail->next = j;
		else
			w->head = j;
		w->tail = j;
		w->queued++;
		pthread_cond_broadcast(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	if (failed) {
		wjob_free(j);
		wsync(im);
		return -1;
	}
	return 0;
}

/* Keeps a job (taken over) to be queued after the main thread's next
 * query (db_query): the last statements of a systems or contracts file
 * (applying the staged rows, the imports log), so that the server applies
 * them while the next file's rows are read and checked. The one query run
 * before them is the next file's first, of another kind: it reads none of
 * the columns they set (no kind reads what a systems or contracts file
 * sets). */
static int wdefer(struct imp *im, struct wjob *j)
{
	struct writer *w = im->w;

	if (w == NULL)
		return wsubmit(im, j);
	j->im = im;
	j->next = NULL;
	if (w->dtail)
		w->dtail->next = j;
	else
		w->dhead = j;
	w->dtail = j;
	return 0;
}

/* Queues a statement without values, in order with the bulk writes. */
static int wexec(struct imp *im, const char *sql)
{
	struct wjob *j = ob_xcalloc(1, sizeof(*j));

	j->sql = sql;
	j->first_line = im->line;
	if (im->deferring)
		return wdefer(im, j);
	return wsubmit(im, j);
}

/* Runs every job left, then ends the writer. */
static void writer_stop(struct writer *w)
{
	pthread_mutex_lock(&w->mu);
	w->stop = 1;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->th, NULL);
	while (w->dhead) { /* not run: the import failed before they were queued */
		struct wjob *j = w->dhead;
		w->dhead = j->next;
		wjob_free(j);
	}
	free(w->fail);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
}

/* ---- the database ---- */

/* ob_db_query and ob_db_exec after the writer's jobs (wsync); -1 without
 * running anything when one of them failed. */
static int db_query(struct imp *im, const char *sql, const struct ob_db_param *p, size_t n,
		    struct ob_db_rows **out, struct ob_err *e)
{
	int rc;

	wsync_(im, 1); /* ahead of the deferred jobs (wdefer) */
	if (im->fatal) {
		ob_err_set(e, "database: an earlier statement failed");
		return -1;
	}
	rc = ob_db_query(im->db, sql, p, n, out, e);
	wrelease(im->w);
	return rc;
}

static int db_exec(struct imp *im, const char *sql, const struct ob_db_param *p, size_t n,
		   unsigned long long *affected, struct ob_err *e)
{
	wsync(im);
	if (im->fatal) {
		ob_err_set(e, "database: an earlier statement failed");
		return -1;
	}
	return ob_db_exec(im->db, sql, p, n, affected, e);
}

static int exec(struct imp *im, const char *sql, const struct ob_db_param *p, size_t n,
		unsigned long long *affected)
{
	struct ob_err e;

	ob_err_clear(&e);
	if (db_exec(im, sql, p, n, affected, &e) == 0)
		return 0;
	db_fail(im, &e);
	return -1;
}

/* Runs a query for one id: 1 and *id, 0 no row, -1 database error. */
static int lookup(struct imp *im, const char *sql, const struct ob_db_param *p, size_t n,
		  unsigned long *id)
{
	struct ob_db_rows *r = NULL;
	struct ob_err e;
	int rc = 0;

	ob_err_clear(&e);
	if (db_query(im, sql, p, n, &r, &e) < 0) {
		db_fail(im, &e);
		return -1;
	}
	if (r->nrows > 0 && ob_db_cell(r, 0, 0) != NULL) {
		*id = strtoul(ob_db_cell(r, 0, 0), NULL, 10);
		rc = 1;
	}
	ob_db_rows_free(r);
	return rc;
}

/* ---- bulk writes ---- */

static const char *arena_dup(struct ablock **head, const char *s)
{
	size_t n = strlen(s) + 1;
	struct ablock *b = *head;

	if (b == NULL || b->cap - b->used < n) {
		size_t cap = n > 65536 ? n : 65536;
		b = ob_xmalloc(sizeof(*b) + cap);
		b->next = *head;
		b->used = 0;
		b->cap = cap;
		*head = b;
	}
	memcpy(b->data + b->used, s, n);
	b->used += n;
	return b->data + b->used - n;
}

static void arena_free(struct ablock **head)
{
	while (*head) {
		struct ablock *next = (*head)->next;
		free(*head);
		*head = next;
	}
}

static void bulk_init(struct bulk *k, const char *sql, size_t ncols)
{
	k->sql = sql;
	k->ncols = ncols;
	k->p = NULL; /* allocated by the first row */
	k->nrows = 0;
}

/* COUNT(*) of im->count_sql, or -1 (im->fatal). */
static long long count_rows(struct imp *im)
{
	unsigned long n = 0;

	if (lookup(im, im->count_sql, NULL, 0, &n) < 0)
		return -1;
	return (long long)n;
}

/* Rows written as new whose key the database held under its collation
 * ("Nedbrud" for "nedbrud") were updates: "created" is what the table
 * grew by. */
static void count_fix(struct imp *im)
{
	long long after;

	if (im->count_sql == NULL || im->count_before < 0 || im->fatal)
		return;
	after = count_rows(im);
	if (after >= 0 && after - im->count_before < (long long)im->created) {
		unsigned long grew = (unsigned long)(after - im->count_before);
		im->updated += im->created - grew;
		im->created = grew;
	}
}

/* Writes the waiting rows. 0, or -1 with im->fatal naming their lines. */
static int bulk_flush(struct imp *im, struct bulk *k)
{
	struct wjob *j;

	if (k->nrows == 0)
		return 0;
	if (im->count_sql && im->count_before < 0 && k == &im->bulk &&
	    (im->count_before = count_rows(im)) < 0)
		return -1;
	if (k->sql == im->stage_insert && !im->staged) {
		if (wexec(im, "DROP TEMPORARY TABLE IF EXISTS csv_stage") < 0 ||
		    wexec(im, "SET SESSION max_heap_table_size = " OB_STR(STAGE_HEAP)) < 0 ||
		    wexec(im, im->stage_create) < 0)
			return -1;
		im->staged = 1;
	}
	if (k->sql == im->stage_insert && im->stage_rows >= STAGE_MAX) {
		/* The rows staged so far applied, and the table emptied: it is
		 * in the server's memory. */
		if (wexec(im, im->stage_apply) < 0 || wexec(im, "DELETE FROM csv_stage") < 0)
			return -1;
		im->stage_rows = 0;
	}
	if (k->sql == im->stage_insert)
		im->stage_rows += k->nrows;
	/* The rows and their texts go to the writer; the next chunk gets its
	 * own (bulk_add). */
	j = ob_xcalloc(1, sizeof(*j));
	j->sql = k->sql;
	j->p = k->p;
	j->ncols = k->ncols;
	j->nrows = k->nrows;
	j->first_line = k->first_line;
	j->last_line = k->last_line;
	j->texts = k->texts;
	k->p = NULL;
	k->texts = NULL;
	k->nrows = 0;
	return wsubmit(im, j);
}

/* Adds a row of k->ncols values (texts are copied). */
static int bulk_add(struct imp *im, struct bulk *k, const struct ob_db_param *p)
{
	struct ob_db_param *row;

	if (k->nrows == CHUNK && bulk_flush(im, k) < 0)
		return -1;
	if (k->p == NULL)
		k->p = ob_xcalloc(CHUNK * k->ncols, sizeof(*k->p));
	if (k->nrows == 0)
		k->first_line = im->line;
	k->last_line = im->line;
	row = &k->p[k->nrows++ * k->ncols];
	for (size_t i = 0; i < k->ncols; i++) {
		row[i] = p[i];
		if (p[i].type == OB_DB_STR)
			row[i].s = arena_dup(&k->texts, p[i].s);
	}
	return 0;
}

static void bulk_free(struct bulk *k)
{
	free(k->p);
	arena_free(&k->texts);
}

/* ---- what the database holds ---- */

/* Loads what the database holds for org unless loaded. sql selects the
 * organisation first, then the key's c->nkey columns, then the rest, and
 * ends in " WHERE <org column> = ?". The first organisation is loaded
 * alone; at a second one, all of them are, with one query (a file of 100
 * municipalities costs one query, not 100). The key of a row is its org
 * and its key cells, joined with '|'. 0, or -1 (im->fatal). */
static int cur_load(struct imp *im, struct cur *c, const char *sql, unsigned long org)
{
	struct ob_db_param p[1] = {ob_p_int((long long)org)};
	struct ob_db_rows *r = NULL;
	struct ob_err e;
	struct ob_buf key;
	char mark[32];
	int all;
	int rc;

	snprintf(mark, sizeof(mark), "#%lu", org);
	if (ob_map_get(&c->idx, "#*", NULL) || ob_map_get(&c->idx, mark, NULL))
		return 0;
	all = c->nsets > 0;
	ob_err_clear(&e);
	if (all) {
		const char *w = strstr(sql, " WHERE "), *n;
		while (w && (n = strstr(w + 1, " WHERE ")) != NULL)
			w = n;
		char *q = ob_xstrndup(sql, w ? (size_t)(w - sql) : strlen(sql));
		rc = db_query(im, q, NULL, 0, &r, &e);
		free(q);
	} else
		rc = db_query(im, sql, p, 1, &r, &e);
	if (rc < 0) {
		db_fail(im, &e);
		return -1;
	}
	ob_map_put(&c->idx, all ? "#*" : mark, 1);
	if (!all)
		c->first_org = org;
	c->sets = ob_xrealloc(c->sets, (c->nsets + 1) * sizeof(*c->sets));
	c->sets[c->nsets] = r;
	ob_buf_init(&key, 0);
	for (size_t i = 0; i < r->nrows; i++) {
		const char *o = ob_db_cell(r, i, 0);
		if (all && o && strtoul(o, NULL, 10) == c->first_org)
			continue; /* loaded before: the same rows */
		ob_buf_reset(&key);
		ob_buf_adds(&key, o ? o : "");
		for (size_t j = 1; j <= c->nkey; j++) {
			const char *v = ob_db_cell(r, i, j);
			ob_buf_addc(&key, '|');
			ob_buf_adds(&key, v ? v : "");
		}
		ob_map_put(&c->idx, key.data, ((uint64_t)c->nsets << 32 | i) + 1);
	}
	ob_buf_free(&key);
	c->nsets++;
	return 0;
}

/* The cells of org's row with key ("a|b" for two key columns), or NULL. */
static char **cur_get(const struct cur *c, unsigned long org, const char *key)
{
	char small[256];
	uint64_t v;
	struct ob_db_rows *r;
	int found, len;

	/* On the stack unless long (a row's key; no allocation per row). */
	len = snprintf(small, sizeof(small), "%lu|%s", org, key);
	if (len >= 0 && (size_t)len < sizeof(small))
		found = ob_map_get(&c->idx, small, &v);
	else {
		char *k = ob_xasprintf("%lu|%s", org, key);
		found = ob_map_get(&c->idx, k, &v);
		free(k);
	}
	if (!found)
		return NULL;
	v--;
	r = c->sets[v >> 32];
	return &r->cells[(v & 0xffffffffu) * r->ncols + 1]; /* after the org */
}

static void cur_free(struct cur *c)
{
	for (size_t i = 0; i < c->nsets; i++)
		ob_db_rows_free(c->sets[i]);
	free(c->sets);
	ob_map_free(&c->idx);
	memset(c, 0, sizeof(*c));
}

/* Whether a value equals a cell as the database returns it. */
static int same(const struct ob_db_param *p, const char *cell)
{
	char buf[32];

	switch (p->type) {
	case OB_DB_NULL:
		return cell == NULL;
	case OB_DB_STR:
		return cell && strcmp(p->s, cell) == 0;
	case OB_DB_INT:
		snprintf(buf, sizeof(buf), "%lld", p->i);
		return cell && strcmp(buf, cell) == 0;
	case OB_DB_DATE:
		ob_date_format(p->date, buf);
		return cell && strcmp(buf, cell) == 0;
	case OB_DB_DOUBLE:
		return cell && strtod(cell, NULL) == p->d;
	}
	return 0;
}

/* Whether values p[0..n) equal cells[0..n). */
static int same_row(const struct ob_db_param *p, char **cells, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!same(&p[i], cells[i]))
			return 0;
	return 1;
}

/* Whether spec can be a KITOS uuid or a CVR number: printable ASCII, at
 * most 36 characters. Anything else is not looked up (comparing it with
 * the ASCII columns is a database error). */
static int org_spec_ok(const char *spec)
{
	size_t n = 0;

	for (; spec[n]; n++)
		if ((unsigned char)spec[n] < 0x21 || (unsigned char)spec[n] > 0x7E)
			return 0;
	return n <= 36;
}

/* The organisation of the current row: the organisation column, else
 * --org, else the only one. Returns 1, 0 (row error) or -1. */
static int row_org(struct imp *im, struct org **out)
{
	const char *spec = im->orgcol >= 0 ? im->vals[im->orgcol] : NULL;
	struct org *o = NULL;
	struct ob_err e;
	char b[256];

	if (spec == NULL || *spec == '\0')
		spec = im->opts->org;
	/* Rows come grouped by organisation: the last one first. */
	if (im->last_org < im->norgs) {
		const char *ls = im->orgs[im->last_org].spec;
		if ((ls == NULL && spec == NULL) || (ls && spec && strcmp(ls, spec) == 0))
			o = &im->orgs[im->last_org];
	}
	for (size_t i = 0; i < im->norgs && o == NULL; i++) {
		const char *s = im->orgs[i].spec;
		if ((s == NULL && spec == NULL) || (s && spec && strcmp(s, spec) == 0))
			o = &im->orgs[i];
	}
	if (o == NULL) {
		im->orgs = ob_xrealloc(im->orgs, (im->norgs + 1) * sizeof(*im->orgs));
		o = &im->orgs[im->norgs++];
		memset(o, 0, sizeof(*o));
		o->spec = spec ? ob_xstrdup(spec) : NULL;
		ob_err_clear(&e);
		if (spec != NULL && !org_spec_ok(spec))
			o->found = 0; /* no uuid or CVR: the ASCII columns cannot hold it */
		else if (spec != NULL) {
			/* As ob_import_find_org (kitos_uuid = ? OR cvr = ?, the
			 * lowest id; both columns compare bytes), from every
			 * organisation loaded once: not two queries per
			 * organisation of the file. */
			if (im->orgrows == NULL &&
			    db_query(im, "SELECT id, kitos_uuid, cvr, name FROM organisations ORDER BY id",
					NULL, 0, &im->orgrows, &e) < 0) {
				db_fail(im, &e);
				return -1;
			}
			for (size_t i = 0; i < im->orgrows->nrows && !o->found; i++) {
				const char *u = ob_db_cell(im->orgrows, i, 1), *c = ob_db_cell(im->orgrows, i, 2);
				if ((u && strcmp(u, spec) == 0) || (c && strcmp(c, spec) == 0)) {
					const char *nm = ob_db_cell(im->orgrows, i, 3);
					o->found = 1;
					o->id = strtoul(ob_db_cell(im->orgrows, i, 0), NULL, 10);
					o->name = ob_xstrdup(nm ? nm : "?");
				}
			}
		} else {
			wsync(im);
			o->found = ob_import_find_org(im->db, spec, &o->id, &e);
			if (o->found < 0) {
				db_fail(im, &e);
				return -1;
			}
		}
		if (o->found && o->name == NULL) {
			struct ob_db_rows *r = NULL;
			struct ob_db_param p[1] = {ob_p_int((long long)o->id)};
			ob_err_clear(&e);
			if (db_query(im, "SELECT name FROM organisations WHERE id = ?", p, 1, &r,
					&e) < 0) {
				db_fail(im, &e);
				return -1;
			}
			o->name = ob_xstrdup(r->nrows && ob_db_cell(r, 0, 0) ? ob_db_cell(r, 0, 0) : "?");
			ob_db_rows_free(r);
		} else if (!o->found && spec == NULL) {
			/* Say whether there is none or several. */
			struct ob_db_rows *r = NULL;
			ob_err_clear(&e);
			if (db_query(im, "SELECT COUNT(*) FROM organisations", NULL, 0, &r, &e) <
			    0) {
				db_fail(im, &e);
				return -1;
			}
			o->id = r->nrows && ob_db_cell(r, 0, 0) ? strtoul(ob_db_cell(r, 0, 0), NULL, 10)
								: 0;
			ob_db_rows_free(r);
		}
	}
	im->last_org = (size_t)(o - im->orgs);
	if (o->found) {
		*out = o;
		return 1;
	}
	if (spec != NULL)
		row_err(im, "organisation",
			"no organisation with KITOS uuid or CVR \"%s\" in the database (import KITOS first)",
			shown(spec, b));
	else if (o->id == 0)
		row_err(im, "organisation",
			"the database holds no organisation (import KITOS first, or give --org)");
	else
		row_err(im, "organisation",
			"the database holds %lu organisations: say which with --org UUID|CVR or an organisation column",
			o->id);
	return 0;
}

/* ---- values ---- */

static const char *val(const struct imp *im, const char *col)
{
	for (size_t i = 0; i < im->k->ncols; i++)
		if (strcmp(im->k->cols[i].name, col) == 0)
			return im->colof[i] >= 0 ? im->vals[im->colof[i]] : NULL;
	return NULL;
}

/* Whether the file has column col of its kind. */
static int val_col(const struct imp *im, const char *col)
{
	for (size_t i = 0; i < im->k->ncols; i++)
		if (strcmp(im->k->cols[i].name, col) == 0)
			return im->colof[i] >= 0;
	return 0;
}

static const struct colspec *spec_of(const struct imp *im, const char *col)
{
	for (size_t i = 0; i < im->k->ncols; i++)
		if (strcmp(im->k->cols[i].name, col) == 0)
			return &im->k->cols[i];
	return NULL;
}

static int is_uuid(const char *s)
{
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!isxdigit((unsigned char)s[i]))
			return 0;
	}
	return s[36] == '\0';
}

/* A required, non-empty value. 0 ok, -1 reported. */
static int need(struct imp *im, const char *col, const char *v)
{
	if (v == NULL || *v == '\0') {
		row_err(im, col, "empty (a value is required)");
		return -1;
	}
	return 0;
}

static int chk_uuid(struct imp *im, const char *col, const char *v)
{
	char b[256];
	if (!is_uuid(v)) {
		row_err(im, col, "not a KITOS uuid: \"%s\"", shown(v, b));
		return -1;
	}
	return 0;
}

/* Fits a text to its column of maxlen characters (as MariaDB counts them):
 * a longer one is cut in place at a character boundary, with a warning.
 * v points into the reader's record, which may be changed. Returns 0. */
static int chk_text(struct imp *im, const char *col, const char *v, unsigned maxlen)
{
	size_t n;

	if (v == NULL || maxlen == 0)
		return 0;
	n = ob_utf8_fit((char *)v, maxlen);
	if (n > maxlen)
		warn(im, im->line, col, "%zu characters, cut to the column's %u", n, maxlen);
	return 0;
}

/* Parses a date: 1, 0 for empty (*d = no date), -1 reported. */
static int get_date(struct imp *im, const char *col, const char *v, int32_t *d)
{
	char b[256];
	int rc;

	*d = INT32_MIN;
	if (v == NULL || *v == '\0')
		return 0;
	rc = ob_date_parse(v, d);
	if (rc < 0) {
		row_err(im, col, "not a date: \"%s\" (write 2026-11-26, 26-11-2026 or 26.11.2026)",
			shown(v, b));
		*d = INT32_MIN;
	} else if (rc == 0)
		*d = INT32_MIN;
	return rc;
}

static int get_enum(struct imp *im, const struct colspec *c, const char *v, const char **id)
{
	char b[256];
	int rc;

	*id = NULL;
	if (v == NULL)
		return 0;
	rc = ob_csv_parse_enum(v, c->tab, c->ntab, id);
	if (rc < 0) {
		char *exp = ob_csv_enum_expected(c->tab, c->ntab);
		row_err(im, c->name, "unknown value \"%s\" (expected: %s)", shown(v, b), exp);
		free(exp);
	}
	return rc;
}

static int cached_id(struct imp *im, const char *table, const struct org *o, const char *uuid,
		     unsigned long *id);

/* An org unit by uuid (units written by this file are not in the map: the
 * org units kind resolves its parents itself). */
static int find_unit(struct imp *im, const struct org *o, const char *col, const char *uuid,
		     unsigned long *id)
{
	int rc = cached_id(im, "org_units", o, uuid, id);
	if (rc == 0)
		row_err(im, col, "%s: no such org unit in %s (import KITOS or an org units file first)",
			uuid, o->name);
	return rc;
}

/* The id of a system or contract by uuid, from a map: a file of 48,000
 * assessments looks up its systems in memory, not with 48,000 queries. The
 * first organisation is loaded alone, at a second all of them are, with
 * one query. 1 found, 0 not, -1 error. */
static int cached_id(struct imp *im, const char *table, const struct org *o, const char *uuid, unsigned long *id)
{
	char key[160], all[64], first[64];
	uint64_t v, first_org = 0;

	snprintf(key, sizeof(key), "%s:%lu", table, o->id);
	snprintf(all, sizeof(all), "%s:*", table);
	snprintf(first, sizeof(first), "%s:first", table);
	if (!ob_map_get(&im->ids, all, NULL) && !ob_map_get(&im->ids, key, NULL)) {
		int load_all = ob_map_get(&im->ids, first, &first_org);
		struct ob_db_param p[1] = {ob_p_int((long long)o->id)};
		struct ob_db_rows *r = NULL;
		struct ob_err e;
		char sql[96];
		ob_err_clear(&e);
		snprintf(sql, sizeof(sql), "SELECT org_id, id, kitos_uuid FROM %s%s", table,
			 load_all ? "" : " WHERE org_id = ?");
		if (db_query(im, sql, load_all ? NULL : p, load_all ? 0 : 1, &r, &e) < 0) {
			db_fail(im, &e);
			return -1;
		}
		for (size_t i = 0; i < r->nrows; i++) {
			char k2[160];
			snprintf(k2, sizeof(k2), "%s:%s:%s", table, ob_db_cell(r, i, 0), ob_db_cell(r, i, 2));
			ob_map_put(&im->ids, k2, strtoull(ob_db_cell(r, i, 1), NULL, 10));
		}
		ob_db_rows_free(r);
		ob_map_put(&im->ids, load_all ? all : key, 1);
		if (!load_all)
			ob_map_put(&im->ids, first, o->id);
	}
	snprintf(key, sizeof(key), "%s:%lu:%s", table, o->id, uuid);
	if (!ob_map_get(&im->ids, key, &v))
		return 0;
	*id = (unsigned long)v;
	return 1;
}

static int find_system(struct imp *im, const struct org *o, const char *col, const char *uuid,
		       unsigned long *id)
{
	int rc = cached_id(im, "systems", o, uuid, id);
	if (rc == 0)
		row_err(im, col, "%s: no such system in %s (import KITOS first)", uuid, o->name);
	return rc;
}

/* Converts the cell of a settable column into a parameter; scratch holds
 * an amount's text. Returns 0, or -1 (reported, or a database error). */
static int conv(struct imp *im, const struct colspec *c, const char *v, const struct org *o,
		struct ob_db_param *p, char scratch[32])
{
	char b[256];

	*p = ob_p_null();
	if (*v == '\0') {
		if (c->notnull)
			return need(im, c->name, v);
		if (c->empty)
			*p = ob_p_str(c->empty);
		return 0;
	}
	switch (c->type) {
	case V_KEY:
	case V_TEXT:
		if (strcmp(c->name, "email") == 0 && ob_utf8_len(v) > c->maxlen) {
			/* An address cut short is someone else's: refused, not cut. */
			row_err(im, c->name, "not an e-mail address: %zu characters, at most %u",
				ob_utf8_len(v), c->maxlen);
			return -1;
		}
		if (chk_text(im, c->name, v, c->maxlen) < 0)
			return -1;
		if (strcmp(c->name, "email") == 0) {
			const char *at = strchr(v, '@');
			if (at == NULL || at == v || at[1] == '\0' || strchr(at + 1, '@') ||
			    strpbrk(v, " \t,;<>")) {
				row_err(im, c->name, "not an e-mail address: \"%s\"", shown(v, b));
				return -1;
			}
		}
		*p = ob_p_str(v);
		return 0;
	case V_DATE: {
		int32_t d;
		if (get_date(im, c->name, v, &d) < 0)
			return -1;
		*p = ob_p_date(d);
		return 0;
	}
	case V_BOOL: {
		int yes;
		if (ob_csv_parse_bool(v, &yes) < 0) {
			row_err(im, c->name, "not yes or no: \"%s\" (write ja/nej, yes/no, 1/0 or true/false)",
				shown(v, b));
			return -1;
		}
		*p = ob_p_int(yes);
		return 0;
	}
	case V_ENUM: {
		const char *id;
		if (get_enum(im, c, v, &id) < 0)
			return -1;
		*p = ob_p_str(id);
		return 0;
	}
	case V_AMOUNT: {
		double d;
		const char *why;
		if (ob_csv_parse_amount(v, &d, &why) < 0) {
			row_err(im, c->name, "%s: \"%s\" (write 1234567,50, 1.234.567,50 or 1234567.50)",
				why, shown(v, b));
			return -1;
		}
		/* DECIMAL(14,2): pass the exact decimal text. */
		snprintf(scratch, 32, "%.2f", d);
		if (strcmp(scratch, "-0.00") == 0)
			strcpy(scratch, "0.00");
		*p = ob_p_str(scratch);
		return 0;
	}
	case V_UNIT: {
		unsigned long id;
		if (chk_uuid(im, c->name, v) < 0)
			return -1;
		if (find_unit(im, o, c->name, v, &id) <= 0)
			return -1;
		*p = ob_p_int((long long)id);
		return 0;
	}
	}
	return -1;
}

/* The present settable columns of the row, appended to p[*n]. */
static void set_params(struct imp *im, const struct org *o, struct ob_db_param *p, size_t *n,
		       char (*scratch)[32])
{
	for (size_t i = 0; i < im->nset && !im->fatal; i++) {
		const struct colspec *c = &im->k->cols[im->set[i]];
		conv(im, c, im->vals[im->colof[im->set[i]]], o, &p[*n], scratch[i]);
		(*n)++;
	}
}

/* Remembers key; returns 0 if new, else the line it was first seen on. */
static unsigned long seen_add(struct seen *s, const char *key, unsigned long line)
{
	uint64_t h = 1469598103934665603ULL;
	char *k = ob_xstrdup(key);
	size_t i;

	for (char *c = k; *c; c++) {
		*c = (char)tolower((unsigned char)*c);
		h = (h ^ (unsigned char)*c) * 1099511628211ULL;
	}
	h = ob_hash_mix(h);
	if (2 * (s->n + 1) > s->cap) {
		struct seen g = {NULL, NULL, s->cap ? s->cap * 2 : 64, 0};
		g.keys = ob_xcalloc(g.cap, sizeof(*g.keys));
		g.lines = ob_xcalloc(g.cap, sizeof(*g.lines));
		for (size_t j = 0; j < s->cap; j++) {
			if (s->keys[j] == NULL)
				continue;
			uint64_t hh = 1469598103934665603ULL;
			for (const char *c = s->keys[j]; *c; c++)
				hh = (hh ^ (unsigned char)*c) * 1099511628211ULL;
			hh = ob_hash_mix(hh);
			for (i = hh & (g.cap - 1); g.keys[i]; i = (i + 1) & (g.cap - 1))
				;
			g.keys[i] = s->keys[j];
			g.lines[i] = s->lines[j];
			g.n++;
		}
		free(s->keys);
		free(s->lines);
		*s = g;
	}
	for (i = h & (s->cap - 1); s->keys[i]; i = (i + 1) & (s->cap - 1))
		if (strcmp(s->keys[i], k) == 0) {
			free(k);
			return s->lines[i];
		}
	s->keys[i] = k;
	s->lines[i] = line;
	s->n++;
	return 0;
}

static void seen_free(struct seen *s)
{
	for (size_t i = 0; i < s->cap; i++)
		free(s->keys[i]);
	free(s->keys);
	free(s->lines);
}

/* Reports a key seen before in this file. 0 new, -1 reported. */
static int dup_check(struct imp *im, const char *col, const char *what, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int dup_check(struct imp *im, const char *col, const char *what, const char *fmt, ...)
{
	struct ob_buf key;
	unsigned long first;
	va_list ap;

	/* The whole key, however long its texts (a name of 255 emoji is 1020
	 * bytes): a key cut short would make two names one. On the stack
	 * unless long. */
	char small[256];
	int len;
	va_start(ap, fmt);
	len = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (len >= 0 && (size_t)len < sizeof(small))
		first = seen_add(&im->seen, small, im->line);
	else {
		ob_buf_init(&key, 0);
		va_start(ap, fmt);
		ob_buf_vprintf(&key, fmt, ap);
		va_end(ap);
		first = seen_add(&im->seen, key.data, im->line);
		ob_buf_free(&key);
	}
	if (first == 0)
		return 0;
	row_err(im, col, "%s appears twice in the file (first on line %lu)", what, first);
	return -1;
}

static void count(struct imp *im, unsigned long long affected)
{
	if (affected == 1)
		im->created++;
	else if (affected >= 2)
		im->updated++;
	else
		im->unchanged++;
}

/* ---- the kinds ---- */

/* systems and contracts: the row must exist; UPDATE the present columns. */
static void row_update(struct imp *im)
{
	int is_sys = im->k->kind == K_SYSTEMS;
	const char *keycol = is_sys ? "system_uuid" : "contract_uuid";
	const char *uuid = val(im, keycol);
	struct ob_db_param p[MAX_SET + 1];
	char scratch[MAX_SET][32];
	char **cells = NULL;
	unsigned long id = 0;
	struct org *o;
	size_t n = 0;

	if (row_org(im, &o) <= 0)
		return;
	/* The row as the database holds it (its id, then the present
	 * columns), loaded with the organisation's others. */
	if (need(im, keycol, uuid) == 0 && chk_uuid(im, keycol, uuid) == 0 &&
	    dup_check(im, keycol, is_sys ? "the system" : "the contract", "%lu|%s", o->id, uuid) == 0) {
		if (cur_load(im, &im->cur, im->cur_sql, o->id) < 0)
			return;
		cells = cur_get(&im->cur, o->id, uuid);
		if (cells == NULL)
			row_err(im, keycol, "%s: no such %s in %s (import KITOS first)", uuid,
				is_sys ? "system" : "contract", o->name);
		else
			id = strtoul(cells[1], NULL, 10);
	}
	set_params(im, o, p, &n, scratch);
	if (im->row_bad || im->fatal)
		return;
	if (n == 0) {
		im->unchanged++;
		return;
	}
	/* Only a change is written. */
	if (same_row(p, cells + 2, n)) {
		im->unchanged++;
		return;
	}
	p[n++] = ob_p_int((long long)id);
	if (bulk_add(im, &im->bulk, p) == 0)
		im->updated++;
}

/* Queues a row that is new or changed, and counts it. */
static void write_row(struct imp *im, const struct ob_db_param *p, int existed)
{
	if (bulk_add(im, &im->bulk, p) < 0)
		return;
	if (existed)
		im->updated++;
	else
		im->created++;
}

/* An upsert of the kind's statement with p[0..n), of which the first
 * nfixed are the key, compared with what the database holds under key:
 * created if it holds nothing, unchanged if it holds the same, else
 * updated. Only new and changed rows are written. */
static void write_compared(struct imp *im, const struct org *o, const char *key,
			   const struct ob_db_param *p, size_t n, size_t nfixed)
{
	char **cells;

	if (cur_load(im, &im->cur, im->cur_sql, o->id) < 0)
		return;
	cells = cur_get(&im->cur, o->id, key);
	if (cells && same_row(p + nfixed, cells + im->cur.nkey, n - nfixed)) {
		im->unchanged++;
		return;
	}
	write_row(im, p, cells != NULL);
}

/* people: upsert by (org, person_uuid). */
static void row_people(struct imp *im)
{
	const char *uuid = val(im, "person_uuid");
	struct ob_db_param p[MAX_SET + 3];
	char scratch[MAX_SET][32], **cells;
	struct org *o;
	size_t n = 0;

	if (row_org(im, &o) <= 0)
		return;
	if (need(im, "person_uuid", uuid) == 0 && chk_uuid(im, "person_uuid", uuid) == 0)
		dup_check(im, "person_uuid", "the person", "%lu|%s", o->id, uuid);
	p[n++] = ob_p_int((long long)o->id);
	p[n++] = ob_p_str(uuid);
	set_params(im, o, p, &n, scratch);
	if (im->row_bad || im->fatal)
		return;
	if (cur_load(im, &im->cur, im->cur_sql, o->id) < 0)
		return;
	cells = cur_get(&im->cur, o->id, uuid);
	if (cells && same_row(p + 2, cells + 1, n - 2)) {
		im->unchanged++;
		return;
	}
	/* The id of a person who exists, NULL (a new one) otherwise. */
	p[n++] = cells ? ob_p_int(strtoll(cells[1 + im->nset], NULL, 10)) : ob_p_null();
	write_row(im, p, cells != NULL);
}

/* assessments: upsert on (system, kind, done_on). */
static void row_assessment(struct imp *im)
{
	const char *uuid = val(im, "system_uuid");
	const char *kind = NULL;
	struct ob_db_param p[MAX_SET + 3];
	char scratch[MAX_SET][32], key[96], day[11];
	unsigned long sys = 0;
	int32_t done = INT32_MIN;
	struct org *o;
	size_t n = 0;

	if (row_org(im, &o) <= 0)
		return;
	if (need(im, "system_uuid", uuid) == 0 && chk_uuid(im, "system_uuid", uuid) == 0)
		find_system(im, o, "system_uuid", uuid, &sys);
	if (need(im, "kind", val(im, "kind")) == 0)
		get_enum(im, spec_of(im, "kind"), val(im, "kind"), &kind);
	if (need(im, "done_on", val(im, "done_on")) == 0)
		get_date(im, "done_on", val(im, "done_on"), &done);
	if (sys && kind && done != INT32_MIN)
		dup_check(im, "done_on", "the assessment", "%lu|%s|%ld", sys, kind, (long)done);
	p[n++] = ob_p_int((long long)sys);
	p[n++] = ob_p_str(kind);
	p[n++] = ob_p_date(done);
	set_params(im, o, p, &n, scratch);
	if (im->row_bad || im->fatal)
		return;
	ob_date_format(done, day);
	snprintf(key, sizeof(key), "%lu|%s|%s", sys, kind, day);
	write_compared(im, o, key, p, n, 3);
}

/* incidents: once per (system, occurred_on, title). */
static void row_incident(struct imp *im)
{
	const char *uuid = val(im, "system_uuid"), *title = val(im, "title");
	struct ob_db_param p[MAX_SET + 3];
	char scratch[MAX_SET][32], day[11], *key;
	unsigned long sys = 0;
	int32_t when = INT32_MIN;
	struct org *o;
	size_t n = 0;

	if (row_org(im, &o) <= 0)
		return;
	if (need(im, "system_uuid", uuid) == 0 && chk_uuid(im, "system_uuid", uuid) == 0)
		find_system(im, o, "system_uuid", uuid, &sys);
	if (need(im, "occurred_on", val(im, "occurred_on")) == 0)
		get_date(im, "occurred_on", val(im, "occurred_on"), &when);
	if (need(im, "title", title) == 0)
		chk_text(im, "title", title, 255);
	p[n++] = ob_p_int((long long)sys);
	p[n++] = ob_p_date(when);
	p[n++] = ob_p_str(title);
	set_params(im, o, p, &n, scratch);
	if (im->row_bad || im->fatal)
		return;
	ob_date_format(when, day);
	key = ob_xasprintf("%lu|%s|%s", sys, day, title);
	write_compared(im, o, key, p, n, 3);
	free(key);
}

static int cmp_ulong(const void *a, const void *b)
{
	unsigned long x = *(const unsigned long *)a, y = *(const unsigned long *)b;
	return x < y ? -1 : x > y;
}

/* org units, pass 1: the name, compared with what the database holds
 * (written in bulk if new or changed); parents wait for pass 2. */
static void row_unit(struct imp *im)
{
	const char *uuid = val(im, "unit_uuid"), *name = val(im, "name");
	const char *parent = val(im, "parent_uuid");
	struct unit_row *u;
	struct org *o;
	char **cells;
	int state;

	if (row_org(im, &o) <= 0)
		return;
	if (need(im, "unit_uuid", uuid) == 0 && chk_uuid(im, "unit_uuid", uuid) == 0)
		dup_check(im, "unit_uuid", "the org unit", "%lu|%s", o->id, uuid);
	if (need(im, "name", name) == 0)
		chk_text(im, "name", name, 255);
	if (parent && *parent)
		chk_uuid(im, "parent_uuid", parent);
	if (im->row_bad || im->fatal)
		return;
	if (cur_load(im, &im->cur, im->cur_sql, o->id) < 0)
		return;
	cells = cur_get(&im->cur, o->id, uuid);
	state = cells == NULL ? 1 : strcmp(cells[2], name) != 0 ? 2 : 0;
	if (state) {
		struct ob_db_param p[3] = {ob_p_int((long long)o->id), ob_p_str(uuid), ob_p_str(name)};
		if (bulk_add(im, &im->bulk, p) < 0)
			return;
	}
	im->units = ob_xrealloc(im->units, (im->nunits + 1) * sizeof(*im->units));
	u = &im->units[im->nunits++];
	memset(u, 0, sizeof(*u));
	u->line = im->line;
	u->org = o->id;
	u->uuid = ob_xstrdup(uuid);
	u->parent = parent ? ob_xstrdup(parent) : NULL;
	u->state = state;
}

/* org units, pass 2: the names written, set the parents (in bulk, those
 * that change), then refuse cycles. */
static void units_parents(struct imp *im)
{
	static const char q_units[] = "SELECT org_id, kitos_uuid, id, parent_id FROM org_units WHERE org_id = ?";
	struct cur now;
	struct bulk par;

	if (bulk_flush(im, &im->bulk) < 0)
		return;
	memset(&now, 0, sizeof(now));
	memset(&par, 0, sizeof(par));
	now.nkey = 1;
	bulk_init(&par, "UPDATE org_units SET parent_id = ? WHERE id = ?", 2);
	for (size_t i = 0; i < im->nunits && !im->fatal; i++) {
		struct unit_row *u = &im->units[i];
		const char *oname = "?";
		unsigned long pid = 0;
		char **cells, **pc;

		im->line = u->line;
		im->row_bad = 0;
		if (cur_load(im, &now, q_units, u->org) < 0)
			break;
		cells = cur_get(&now, u->org, u->uuid);
		if (cells == NULL) {
			row_err(im, "unit_uuid", "%s: not found after writing it", u->uuid);
			continue;
		}
		u->id = strtoul(cells[1], NULL, 10);
		if (u->parent == NULL)
			continue;
		if (*u->parent) {
			if (strcasecmp(u->parent, u->uuid) == 0) {
				row_err(im, "parent_uuid", "%s: the unit cannot be its own parent",
					u->parent);
				continue;
			}
			for (size_t j = 0; j < im->norgs; j++)
				if (im->orgs[j].found && im->orgs[j].id == u->org)
					oname = im->orgs[j].name;
			pc = cur_get(&now, u->org, u->parent);
			if (pc == NULL) {
				row_err(im, "parent_uuid",
					"%s: no such org unit in %s (import KITOS or an org units file first)",
					u->parent, oname);
				continue;
			}
			pid = strtoul(pc[1], NULL, 10);
		}
		if (cells[2] ? pid && strtoul(cells[2], NULL, 10) == pid : pid == 0)
			continue;
		{
			struct ob_db_param p[2] = {ob_p_intu(pid ? (long long)pid : -1),
						   ob_p_int((long long)u->id)};
			if (bulk_add(im, &par, p) < 0)
				break;
		}
		if (u->state == 0)
			u->state = 2;
	}
	bulk_flush(im, &par);
	bulk_free(&par);
	cur_free(&now);
	if (im->fatal)
		return;
	/* Cycles: walk up from every unit of the file with a parent, in the
	 * organisation's whole tree as it now stands. */
	for (size_t i = 0; i < im->nunits && !im->fatal; i++) {
		struct unit_row *u = &im->units[i];
		struct ob_db_rows *r = NULL;
		struct ob_db_param q[1] = {ob_p_int((long long)u->org)};
		struct ob_err e;
		unsigned long(*tree)[2];
		int done_org = 0;

		for (size_t j = 0; j < i; j++)
			if (im->units[j].org == u->org)
				done_org = 1;
		if (done_org)
			continue;
		ob_err_clear(&e);
		if (db_query(im, "SELECT id, parent_id FROM org_units WHERE org_id = ?", q, 1,
				&r, &e) < 0) {
			db_fail(im, &e);
			return;
		}
		tree = ob_xcalloc(r->nrows + 1, sizeof(*tree));
		for (size_t k = 0; k < r->nrows; k++) {
			const char *c = ob_db_cell(r, k, 0), *pc = ob_db_cell(r, k, 1);
			tree[k][0] = c ? strtoul(c, NULL, 10) : 0;
			tree[k][1] = pc ? strtoul(pc, NULL, 10) : 0;
		}
		qsort(tree, r->nrows, sizeof(*tree), cmp_ulong);
		for (size_t j = i; j < im->nunits; j++) {
			struct unit_row *w = &im->units[j];
			unsigned long at = w->id;
			size_t steps = 0;

			if (w->org != u->org || w->parent == NULL || *w->parent == '\0')
				continue;
			for (;;) {
				unsigned long(*hit)[2] = bsearch(&at, tree, r->nrows, sizeof(*tree), cmp_ulong);
				if (hit == NULL || (*hit)[1] == 0)
					break;
				if ((*hit)[1] == w->id || ++steps > r->nrows) {
					im->line = w->line;
					row_err(im, "parent_uuid", "%s: the parents would form a cycle",
						w->parent);
					break;
				}
				at = (*hit)[1];
			}
		}
		free(tree);
		ob_db_rows_free(r);
	}
}

static struct version *version_find(struct imp *im, unsigned long org, const char *version)
{
	for (size_t i = 0; i < im->nversions; i++)
		if (im->versions[i].org == org && strcmp(im->versions[i].version, version) == 0)
			return &im->versions[i];
	return NULL;
}

static struct version *version_add(struct imp *im, unsigned long org, const char *version)
{
	struct version *v;

	im->versions = ob_xrealloc(im->versions, (im->nversions + 1) * sizeof(*im->versions));
	v = &im->versions[im->nversions++];
	memset(v, 0, sizeof(*v));
	v->org = org;
	v->version = ob_xstrdup(version);
	v->line = im->line;
	return v;
}

/* The version of a picture row: the first row of a version writes it,
 * later rows must agree. Returns the version's id, or 0. */
static unsigned long picture_version(struct imp *im, const struct org *o, int target)
{
	const char *vcol = target ? "target_version" : "future_version";
	const char *version = val(im, vcol), *future = target ? val(im, "future_version") : NULL;
	struct version *v;
	int32_t adopted = INT32_MIN;
	char d1[11], d2[11];
	int bad = 0;

	if (need(im, vcol, version) < 0 || chk_text(im, vcol, version, 32) < 0)
		bad = 1;
	if (need(im, "adopted_on", val(im, "adopted_on")) < 0 ||
	    get_date(im, "adopted_on", val(im, "adopted_on"), &adopted) <= 0)
		bad = 1;
	if (target && (need(im, "future_version", future) < 0 ||
		       chk_text(im, "future_version", future, 32) < 0))
		bad = 1;
	if (bad)
		return 0;
	v = version_find(im, o->id, version);
	if (v != NULL) {
		if (v->adopted_on != adopted) {
			ob_date_format(adopted, d1);
			ob_date_format(v->adopted_on, d2);
			row_err(im, "adopted_on", "%s, but %s on line %lu for version %s", d1, d2, v->line,
				version);
			return 0;
		}
		if (target && strcmp(v->future, future) != 0) {
			row_err(im, "future_version", "%s, but %s on line %lu for version %s", future,
				v->future, v->line, version);
			return 0;
		}
		return v->id;
	}
	v = version_add(im, o->id, version);
	v->adopted_on = adopted;
	if (!target) {
		struct ob_db_param p[3] = {ob_p_int((long long)o->id), ob_p_str(version),
					   ob_p_date(adopted)};
		if (exec(im,
			 "INSERT INTO future_pictures (org_id, version, adopted_on) VALUES (?, ?, ?) "
			 "ON DUPLICATE KEY UPDATE adopted_on = VALUES(adopted_on)",
			 p, 3, &v->affected) < 0)
			return 0;
		if (lookup(im, "SELECT id FROM future_pictures WHERE org_id = ? AND version = ?", p, 2,
			   &v->id) < 0)
			return 0;
		return v->id;
	}
	v->future = ob_xstrdup(future);
	{
		struct ob_db_param q[2] = {ob_p_int((long long)o->id), ob_p_str(future)};
		unsigned long fid = 0;
		int rc = lookup(im, "SELECT id FROM future_pictures WHERE org_id = ? AND version = ?",
				q, 2, &fid);
		if (rc < 0)
			return 0;
		if (rc == 0) {
			row_err(im, "future_version",
				"no future picture \"%s\" in %s (import the future picture first)",
				future, o->name);
			return 0;
		}
		struct ob_db_param p[4] = {ob_p_int((long long)o->id), ob_p_str(version),
					   ob_p_date(adopted), ob_p_int((long long)fid)};
		if (exec(im,
			 "INSERT INTO target_pictures (org_id, version, adopted_on, future_picture_id) "
			 "VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE adopted_on = VALUES(adopted_on), "
			 "future_picture_id = VALUES(future_picture_id)",
			 p, 4, &v->affected) < 0)
			return 0;
		if (lookup(im, "SELECT id FROM target_pictures WHERE org_id = ? AND version = ?", p, 2,
			   &v->id) < 0)
			return 0;
	}
	return v->id;
}

/* future picture: the version, then the need by code. */
static void row_future(struct imp *im)
{
	const char *code = val(im, "need_code"), *title = val(im, "need");
	unsigned long pic;
	struct org *o;

	if (row_org(im, &o) <= 0)
		return;
	pic = picture_version(im, o, 0);
	if (need(im, "need_code", code) == 0 && chk_text(im, "need_code", code, 32) == 0 && pic)
		dup_check(im, "need_code", "the need", "%lu|%s", pic, code);
	if (need(im, "need", title) == 0)
		chk_text(im, "need", title, 500);
	if (im->row_bad || im->fatal || pic == 0)
		return;
	struct ob_db_param p[3] = {ob_p_int((long long)pic), ob_p_str(code), ob_p_str(title)};
	char *key = ob_xasprintf("%lu|%s", pic, code);
	write_compared(im, o, key, p, 3, 2);
	free(key);
}

/* Replaces the action's systems with ids[0..n) (sorted, unique). Returns
 * 1 if anything changed, 0 if not, -1 on a database error. */
static int action_systems(struct imp *im, unsigned long action, const unsigned long *ids, size_t n)
{
	struct ob_db_param q[1] = {ob_p_int((long long)action)};
	struct ob_db_rows *r = NULL;
	struct ob_err e;
	unsigned long *cur;
	size_t ncur = 0;
	int changed = 0, rc = -1;

	ob_err_clear(&e);
	if (db_query(im, "SELECT system_id FROM target_action_systems WHERE action_id = ?", q,
			1, &r, &e) < 0) {
		db_fail(im, &e);
		return -1;
	}
	cur = ob_xcalloc(r->nrows + 1, sizeof(*cur));
	for (size_t i = 0; i < r->nrows; i++)
		if (ob_db_cell(r, i, 0))
			cur[ncur++] = strtoul(ob_db_cell(r, i, 0), NULL, 10);
	ob_db_rows_free(r);
	qsort(cur, ncur, sizeof(*cur), cmp_ulong);
	for (size_t i = 0; i < ncur; i++) {
		if (bsearch(&cur[i], ids, n, sizeof(*ids), cmp_ulong))
			continue;
		struct ob_db_param p[2] = {ob_p_int((long long)action), ob_p_int((long long)cur[i])};
		if (exec(im, "DELETE FROM target_action_systems WHERE action_id = ? AND system_id = ?",
			 p, 2, NULL) < 0)
			goto out;
		changed = 1;
	}
	for (size_t i = 0; i < n; i++) {
		if (bsearch(&ids[i], cur, ncur, sizeof(*cur), cmp_ulong))
			continue;
		struct ob_db_param p[2] = {ob_p_int((long long)action), ob_p_int((long long)ids[i])};
		if (exec(im, "INSERT INTO target_action_systems (action_id, system_id) VALUES (?, ?)",
			 p, 2, NULL) < 0)
			goto out;
		changed = 1;
	}
	rc = changed;
out:
	free(cur);
	return rc;
}

/* Whether the target picture with id pic was created by this file: then
 * none of its actions exists yet. */
static int picture_created(const struct imp *im, unsigned long pic)
{
	for (size_t i = 0; i < im->nversions; i++)
		if (im->versions[i].id == pic)
			return im->versions[i].affected == 1;
	return 0;
}

/* Writes the actions of the pictures this file created, in bulk, reads
 * their ids back with one query and links their systems in bulk. An action
 * the database merged with an earlier row's (a code equal under its
 * collation, "Æ1" and "æ1") is looked up and re-linked as an update. */
static void new_actions(struct imp *im)
{
	int has_change = val_col(im, "change");
	struct ob_db_rows *r = NULL;
	struct ob_map ids;
	struct bulk acts;
	struct ob_err e;
	struct ob_buf key;

	if (im->nnewacts == 0)
		return;
	memset(&acts, 0, sizeof(acts));
	bulk_init(&acts,
		  has_change ? "INSERT INTO target_actions (target_picture_id, code, title, change_kind) "
			       "VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE title = VALUES(title), "
			       "change_kind = VALUES(change_kind)"
			     : "INSERT INTO target_actions (target_picture_id, code, title) "
			       "VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE title = VALUES(title)",
		  has_change ? 4 : 3);
	for (size_t i = 0; i < im->nnewacts && !im->fatal; i++) {
		struct new_action *a = &im->newacts[i];
		struct ob_db_param p[4] = {ob_p_int((long long)a->pic), ob_p_str(a->code), ob_p_str(a->title),
					   ob_p_str(a->change)};
		im->line = a->line;
		bulk_add(im, &acts, p);
	}
	bulk_flush(im, &acts);
	bulk_free(&acts);
	if (im->fatal)
		return;
	ob_err_clear(&e);
	if (db_query(im, "SELECT target_picture_id, code, id FROM target_actions", NULL, 0, &r, &e) < 0) {
		db_fail(im, &e);
		return;
	}
	ob_map_init(&ids);
	ob_buf_init(&key, 0);
	for (size_t i = 0; i < r->nrows; i++) {
		ob_buf_reset(&key);
		ob_buf_printf(&key, "%s|%s", ob_db_cell(r, i, 0), ob_db_cell(r, i, 1));
		ob_map_put(&ids, key.data, strtoull(ob_db_cell(r, i, 2), NULL, 10));
	}
	ob_db_rows_free(r);
	for (size_t i = 0; i < im->nnewacts && !im->fatal; i++) {
		struct new_action *a = &im->newacts[i];
		uint64_t v;
		unsigned long action = 0;
		im->line = a->line;
		ob_buf_reset(&key);
		ob_buf_printf(&key, "%lu|%s", a->pic, a->code);
		if (ob_map_get(&ids, key.data, &v)) {
			action = (unsigned long)v;
			im->created++;
			for (size_t j = 0; j < a->nids; j++) {
				struct ob_db_param p[2] = {ob_p_int((long long)action), ob_p_int((long long)a->ids[j])};
				if (bulk_add(im, &im->bulk, p) < 0)
					break;
			}
			continue;
		}
		{
			struct ob_db_param p[2] = {ob_p_int((long long)a->pic), ob_p_str(a->code)};
			if (lookup(im, "SELECT id FROM target_actions WHERE target_picture_id = ? AND code = ?", p,
				   2, &action) <= 0 ||
			    bulk_flush(im, &im->bulk) < 0)
				break;
		}
		if (val_col(im, "system_uuids") && action_systems(im, action, a->ids, a->nids) < 0)
			break;
		im->updated++;
	}
	ob_buf_free(&key);
	ob_map_free(&ids);
}

/* target picture: the version (its future picture must exist), the
 * action by code, and the action's systems. */
static void row_target(struct imp *im)
{
	const char *code = val(im, "action_code"), *title = val(im, "action");
	const char *list = val(im, "system_uuids"), *change = NULL;
	unsigned long *ids = NULL, pic, action = 0;
	unsigned long long aff = 0;
	size_t nids = 0;
	struct org *o;

	if (row_org(im, &o) <= 0)
		return;
	pic = picture_version(im, o, 1);
	if (need(im, "action_code", code) == 0 && chk_text(im, "action_code", code, 32) == 0 && pic)
		dup_check(im, "action_code", "the action", "%lu|%s", pic, code);
	if (need(im, "action", title) == 0)
		chk_text(im, "action", title, 500);
	get_enum(im, spec_of(im, "change"), val(im, "change"), &change);
	if (list != NULL) {
		char *copy = ob_xstrdup(list), *save = NULL;
		ids = ob_xcalloc(strlen(list) / 2 + 1, sizeof(*ids));
		for (char *t = strtok_r(copy, " |\t\r\n", &save); t && !im->fatal;
		     t = strtok_r(NULL, " |\t\r\n", &save)) {
			unsigned long id;
			if (chk_uuid(im, "system_uuids", t) == 0 &&
			    find_system(im, o, "system_uuids", t, &id) > 0)
				ids[nids++] = id;
		}
		free(copy);
		qsort(ids, nids, sizeof(*ids), cmp_ulong);
		size_t u = 0;
		for (size_t i = 0; i < nids; i++)
			if (u == 0 || ids[u - 1] != ids[i])
				ids[u++] = ids[i];
		nids = u;
	}
	if (im->row_bad || im->fatal || pic == 0)
		goto out;
	if (picture_created(im, pic)) {
		struct new_action *a;
		im->newacts = ob_xrealloc(im->newacts, (im->nnewacts + 1) * sizeof(*im->newacts));
		a = &im->newacts[im->nnewacts++];
		a->line = im->line;
		a->pic = pic;
		a->code = ob_xstrdup(code);
		a->title = ob_xstrdup(title);
		a->change = change;
		a->ids = ids;
		a->nids = nids;
		ids = NULL;
		goto out;
	}
	{
		int has_change = val(im, "change") != NULL;
		struct ob_db_param p[4] = {ob_p_int((long long)pic), ob_p_str(code), ob_p_str(title),
					   ob_p_str(change)};
		if (exec(im,
			 has_change
				 ? "INSERT INTO target_actions (target_picture_id, code, title, change_kind) "
				   "VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE title = VALUES(title), "
				   "change_kind = VALUES(change_kind)"
				 : "INSERT INTO target_actions (target_picture_id, code, title) "
				   "VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE title = VALUES(title)",
			 p, has_change ? 4 : 3, &aff) < 0)
			goto out;
		/* A new action is the row just inserted and has no systems yet:
		 * its links wait in the bulk. */
		if (aff == 1)
			action = (unsigned long)ob_db_insert_id(im->db);
		else if (lookup(im, "SELECT id FROM target_actions WHERE target_picture_id = ? AND code = ?",
				p, 2, &action) <= 0)
			goto out;
	}
	if (list != NULL && aff == 1) {
		for (size_t i = 0; i < nids; i++) {
			struct ob_db_param p[2] = {ob_p_int((long long)action), ob_p_int((long long)ids[i])};
			if (bulk_add(im, &im->bulk, p) < 0)
				goto out;
		}
	} else if (list != NULL) {
		int rc;
		if (bulk_flush(im, &im->bulk) < 0) /* links it may compare with */
			goto out;
		rc = action_systems(im, action, ids, nids);
		if (rc < 0)
			goto out;
		if (rc > 0 && aff == 0)
			aff = 2;
	}
	count(im, aff);
out:
	free(ids);
}

/* shared solutions: the solution by (org, name), its id kept for the
 * file's later rows of the same name; the maturity by (solution,
 * changed_on), compared with what the database holds and written in bulk. */
static void row_shared(struct imp *im)
{
	const char *name = val(im, "solution"), *maturity = NULL;
	unsigned long long aff = 0;
	unsigned long sol = 0;
	int32_t on = INT32_MIN;
	struct org *o;
	struct ob_buf key;
	uint64_t v;
	char day[11], mkey[48];

	if (row_org(im, &o) <= 0)
		return;
	if (need(im, "solution", name) == 0)
		chk_text(im, "solution", name, 255);
	if (need(im, "maturity", val(im, "maturity")) == 0)
		get_enum(im, spec_of(im, "maturity"), val(im, "maturity"), &maturity);
	if (need(im, "changed_on", val(im, "changed_on")) == 0)
		get_date(im, "changed_on", val(im, "changed_on"), &on);
	if (im->row_bad || im->fatal)
		return;
	if (dup_check(im, "changed_on", "the solution's maturity on this date", "%lu|%s|%ld", o->id,
		      name, (long)on) < 0)
		return;
	ob_buf_init(&key, 0);
	ob_buf_printf(&key, "solution:%lu:%s", o->id, name);
	if (ob_map_get(&im->ids, key.data, &v))
		sol = (unsigned long)v;
	else {
		struct ob_db_param p[2] = {ob_p_int((long long)o->id), ob_p_str(name)};
		if (exec(im,
			 "INSERT INTO shared_solutions (org_id, name) VALUES (?, ?) "
			 "ON DUPLICATE KEY UPDATE id = id",
			 p, 2, &aff) < 0)
			goto out;
		if (aff == 1) {
			im->extra_created++;
			sol = (unsigned long)ob_db_insert_id(im->db);
		} else if (lookup(im, "SELECT id FROM shared_solutions WHERE org_id = ? AND name = ?", p,
				  2, &sol) <= 0)
			goto out;
		ob_map_put(&im->ids, key.data, sol);
	}
	{
		struct ob_db_param p[3] = {ob_p_int((long long)sol), ob_p_date(on), ob_p_str(maturity)};
		ob_date_format(on, day);
		snprintf(mkey, sizeof(mkey), "%lu|%s", sol, day);
		write_compared(im, o, mkey, p, 3, 2);
	}
out:
	ob_buf_free(&key);
}

/* ---- header ---- */

static void header_err(struct imp *im, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void header_err(struct imp *im, const char *fmt, ...)
{
	char what[MAX_MSG];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	store_error(im, ob_xasprintf("%s:%lu: %s", im->file, im->line, what));
}

static int hdr_index(const struct imp *im, const char *name)
{
	for (size_t i = 0; i < im->nhdr; i++)
		if (strcmp(im->hdr[i], name) == 0)
			return (int)i;
	return -1;
}

/* "a, b, c" of a kind's columns, organisation last. Caller frees. */
static char *columns_of(const struct kind_def *k)
{
	struct ob_buf b;

	ob_buf_init(&b, 0);
	for (size_t i = 0; i < k->ncols; i++)
		ob_buf_printf(&b, "%s, ", k->cols[i].name);
	ob_buf_adds(&b, "organisation");
	return ob_buf_steal(&b);
}

/* Reads the header: the kind, the columns, the statements. 0 or -1 (errors
 * stored). */
/* The header: its columns lower-cased, none twice, the kind told by them,
 * none unknown to the kind, every required one there; each problem named. */
static int check_header(struct imp *im, char **f, size_t n)
{
	const struct kind_def *k = NULL;
	int bad = 0;

	im->hdr = ob_xcalloc(n + 1, sizeof(*im->hdr));
	im->nhdr = n;
	for (size_t i = 0; i < n; i++) {
		char *h = ob_xstrdup(ob_trim(f[i]));
		for (char *c = h; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		im->hdr[i] = h;
	}
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < i; j++)
			if (im->hdr[i][0] && strcmp(im->hdr[i], im->hdr[j]) == 0) {
				header_err(im, "column \"%s\" appears twice", im->hdr[i]);
				bad = 1;
				break;
			}
	for (size_t i = 0; i < OB_ARRAY_LEN(kinds) && k == NULL; i++) {
		const struct kind_def *kk = &kinds[i];
		if (hdr_index(im, kk->key) >= 0 &&
		    (kk->kind != K_ASSESSMENTS || hdr_index(im, "kind") >= 0))
			k = &kinds[i];
	}
	if (k == NULL) {
		header_err(im,
			   "cannot tell the kind of file from its header (expected a column system_uuid, "
			   "contract_uuid, unit_uuid, person_uuid, solution, future_version, "
			   "target_version, occurred_on, or kind and done_on; see README \"CSV\")");
		return -1;
	}
	im->k = k;
	im->colof = ob_xcalloc(k->ncols, sizeof(*im->colof));
	for (size_t i = 0; i < k->ncols; i++)
		im->colof[i] = hdr_index(im, k->cols[i].name);
	im->orgcol = hdr_index(im, "organisation");
	for (size_t i = 0; i < n; i++) {
		int known = im->hdr[i][0] == '\0' || strcmp(im->hdr[i], "organisation") == 0;
		for (size_t c = 0; c < k->ncols && !known; c++)
			known = strcmp(im->hdr[i], k->cols[c].name) == 0;
		if (!known) {
			char *exp = columns_of(k), b[256];
			header_err(im, "unknown column \"%s\" for %s %s file (expected: %s)",
				   shown(im->hdr[i], b), k->article, k->name, exp);
			free(exp);
			bad = 1;
		}
	}
	for (size_t i = 0; k->required[i]; i++)
		if (hdr_index(im, k->required[i]) < 0) {
			header_err(im, "missing column \"%s\" for %s %s file", k->required[i], k->article,
				   k->name);
			bad = 1;
		}
	if (bad)
		return -1;
	return 0;
}

/* The present settable columns, and the kind's write statement (im->sql). */
static void write_sql(struct imp *im)
{
	const struct kind_def *k = im->k;
	struct ob_buf s;

	ob_buf_init(&s, 0);
	for (size_t i = 0; i < k->ncols; i++)
		if (k->cols[i].sql && im->colof[i] >= 0 && im->nset < MAX_SET)
			im->set[im->nset++] = i;
	switch (k->kind) {
	case K_SYSTEMS:
	case K_CONTRACTS:
		ob_buf_printf(&s, "UPDATE %s SET ", k->kind == K_SYSTEMS ? "systems" : "contracts");
		for (size_t i = 0; i < im->nset; i++)
			ob_buf_printf(&s, "%s%s = ?", i ? ", " : "", k->cols[im->set[i]].sql);
		ob_buf_adds(&s, " WHERE id = ?");
		break;
	case K_PEOPLE:
	case K_ASSESSMENTS:
	case K_INCIDENTS: {
		const char *table = k->kind == K_PEOPLE        ? "people"
				    : k->kind == K_ASSESSMENTS ? "gdpr_assessments"
							       : "incidents";
		const char *fixed = k->kind == K_PEOPLE        ? "org_id, kitos_uuid"
				    : k->kind == K_ASSESSMENTS ? "system_id, kind, done_on"
							       : "system_id, occurred_on, title";
		const char *fixedv = k->kind == K_PEOPLE ? "?, ?" : "?, ?, ?";
		ob_buf_printf(&s, "INSERT INTO %s (%s", table, fixed);
		if (k->kind == K_PEOPLE)
			ob_buf_adds(&s, ", src_hash");
		for (size_t i = 0; i < im->nset; i++)
			ob_buf_printf(&s, ", %s", k->cols[im->set[i]].sql);
		if (k->kind == K_PEOPLE)
			ob_buf_adds(&s, ", id");
		ob_buf_printf(&s, ") VALUES (%s", fixedv);
		if (k->kind == K_PEOPLE)
			ob_buf_adds(&s, ", 0");
		for (size_t i = 0; i < im->nset; i++)
			ob_buf_adds(&s, ", ?");
		if (k->kind == K_PEOPLE)
			ob_buf_adds(&s, ", ?");
		ob_buf_adds(&s, ") ON DUPLICATE KEY UPDATE ");
		for (size_t i = 0; i < im->nset; i++)
			ob_buf_printf(&s, "%s%s = VALUES(%s)", i ? ", " : "", k->cols[im->set[i]].sql,
				      k->cols[im->set[i]].sql);
		if (im->nset == 0)
			ob_buf_adds(&s, "id = id");
		break;
	}
	default:
		break;
	}
	im->sql = ob_buf_steal(&s);
}

/* What the database holds of the big kinds, to write only changes
 * (im->cur_sql), and the bulk writer of the kind. */
static void current_sql(struct imp *im)
{
	const struct kind_def *k = im->k;
	struct ob_buf s;

	ob_buf_init(&s, 0);
	switch (k->kind) {
	case K_SYSTEMS:
	case K_CONTRACTS:
		ob_buf_adds(&s, "SELECT org_id, kitos_uuid, id");
		for (size_t i = 0; i < im->nset; i++)
			ob_buf_printf(&s, ", %s", k->cols[im->set[i]].sql);
		ob_buf_printf(&s, " FROM %s WHERE org_id = ?", k->kind == K_SYSTEMS ? "systems" : "contracts");
		im->cur.nkey = 1;
		/* The changed rows go to a temporary table, and one UPDATE ...
		 * JOIN applies them (33,000 single-row UPDATEs cost the server
		 * three times as much). The table is MEMORY: scratch rows need
		 * no InnoDB undo log (InnoDB cost the systems of 100
		 * municipalities 0.1 s more), and, unlike Aria, it has no files
		 * in the server's tmpdir: a mariadbd starting on the same
		 * machine with the same tmpdir (/tmp) deletes every "#sql*"
		 * file there, and the import then failed at the DROP with
		 * "Unknown table 'overblik.csv_stage'". Its rows are applied
		 * every STAGE_MAX rows, so its memory is bounded; it is
		 * dropped after the file, and before it is made again. */
		{
			const char *t = k->kind == K_SYSTEMS ? "systems" : "contracts";
			struct ob_buf q;
			ob_buf_init(&q, 0);
			ob_buf_adds(&q, "CREATE TEMPORARY TABLE csv_stage (PRIMARY KEY (id)) ENGINE=MEMORY AS SELECT id");
			for (size_t i = 0; i < im->nset; i++)
				ob_buf_printf(&q, ", %s", k->cols[im->set[i]].sql);
			ob_buf_printf(&q, " FROM %s LIMIT 0", t);
			im->stage_create = ob_buf_steal(&q);
			ob_buf_adds(&q, "INSERT INTO csv_stage (");
			for (size_t i = 0; i < im->nset; i++)
				ob_buf_printf(&q, "%s, ", k->cols[im->set[i]].sql);
			ob_buf_adds(&q, "id) VALUES (");
			for (size_t i = 0; i < im->nset; i++)
				ob_buf_adds(&q, "?, ");
			ob_buf_adds(&q, "?)");
			im->stage_insert = ob_buf_steal(&q);
			ob_buf_printf(&q, "UPDATE %s x JOIN csv_stage t ON t.id = x.id SET ", t);
			for (size_t i = 0; i < im->nset; i++)
				ob_buf_printf(&q, "%sx.%s = t.%s", i ? ", " : "", k->cols[im->set[i]].sql,
					      k->cols[im->set[i]].sql);
			im->stage_apply = ob_buf_steal(&q);
		}
		bulk_init(&im->bulk, im->stage_insert, im->nset + 1);
		break;
	case K_PEOPLE:
		ob_buf_adds(&s, "SELECT org_id, kitos_uuid");
		for (size_t i = 0; i < im->nset; i++)
			ob_buf_printf(&s, ", %s", k->cols[im->set[i]].sql);
		/* The id last: a person who exists is written with it, so
		 * the server finds the row by its primary key (an upsert that
		 * meets the unique key instead costs it twice as much). */
		ob_buf_adds(&s, ", id FROM people WHERE org_id = ?");
		im->cur.nkey = 1;
		bulk_init(&im->bulk, im->sql, im->nset + 3);
		break;
	case K_ASSESSMENTS:
		ob_buf_adds(&s, "SELECT s.org_id, a.system_id, a.kind, a.done_on");
		for (size_t i = 0; i < im->nset; i++)
			ob_buf_printf(&s, ", a.%s", k->cols[im->set[i]].sql);
		ob_buf_adds(&s, " FROM gdpr_assessments a JOIN systems s ON s.id = a.system_id WHERE s.org_id = ?");
		im->cur.nkey = 3;
		bulk_init(&im->bulk, im->sql, im->nset + 3);
		break;
	case K_INCIDENTS:
		/* The key holds a title, compared by the database's collation:
		 * a row whose exact key is not held is written as new, and the
		 * table's row count corrects "created" afterwards. */
		ob_buf_adds(&s, "SELECT s.org_id, i.system_id, i.occurred_on, i.title");
		for (size_t i = 0; i < im->nset; i++)
			ob_buf_printf(&s, ", i.%s", k->cols[im->set[i]].sql);
		ob_buf_adds(&s, " FROM incidents i JOIN systems s ON s.id = i.system_id WHERE s.org_id = ?");
		im->cur.nkey = 3;
		im->count_sql = "SELECT COUNT(*) FROM incidents";
		bulk_init(&im->bulk, im->sql, im->nset + 3);
		break;
	case K_FUTURE:
		ob_buf_adds(&s, "SELECT f.org_id, n.future_picture_id, n.code, n.title FROM future_needs n "
				"JOIN future_pictures f ON f.id = n.future_picture_id WHERE f.org_id = ?");
		im->cur.nkey = 2;
		im->count_sql = "SELECT COUNT(*) FROM future_needs";
		bulk_init(&im->bulk,
			  "INSERT INTO future_needs (future_picture_id, code, title) VALUES (?, ?, ?) "
			  "ON DUPLICATE KEY UPDATE title = VALUES(title)",
			  3);
		break;
	case K_SHARED:
		ob_buf_adds(&s, "SELECT s.org_id, m.solution_id, m.changed_on, m.maturity FROM shared_solution_maturity m "
				"JOIN shared_solutions s ON s.id = m.solution_id WHERE s.org_id = ?");
		im->cur.nkey = 2;
		bulk_init(&im->bulk,
			  "INSERT INTO shared_solution_maturity (solution_id, changed_on, maturity) "
			  "VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE maturity = VALUES(maturity)",
			  3);
		break;
	case K_TARGET:
		bulk_init(&im->bulk, "INSERT INTO target_action_systems (action_id, system_id) VALUES (?, ?)", 2);
		break;
	case K_UNITS:
		ob_buf_adds(&s, "SELECT org_id, kitos_uuid, id, name, parent_id FROM org_units WHERE org_id = ?");
		im->cur.nkey = 1;
		bulk_init(&im->bulk,
			  "INSERT INTO org_units (org_id, kitos_uuid, name) VALUES (?, ?, ?) "
			  "ON DUPLICATE KEY UPDATE name = VALUES(name)",
			  3);
		break;
	default:
		break;
	}
	im->cur_sql = ob_buf_steal(&s);
}

static int read_header(struct imp *im, char **f, size_t n)
{
	if (check_header(im, f, n) < 0)
		return -1;
	write_sql(im);
	current_sql(im);
	return 0;
}

/* ---- summary ---- */

static void json_str(struct ob_buf *b, const char *s)
{
	ob_buf_addc(b, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			ob_buf_printf(b, "\\%c", c);
		else if (c < 0x20)
			ob_buf_printf(b, "\\u%04x", c);
		else
			ob_buf_addc(b, (char)c);
	}
	ob_buf_addc(b, '"');
}

static char *summary_json(const struct imp *im)
{
	struct ob_buf b;

	ob_buf_init(&b, 0);
	ob_buf_adds(&b, "{\"file\": ");
	json_str(&b, im->file);
	ob_buf_printf(&b,
		      ", \"kind\": \"%s\", \"created\": %lu, \"updated\": %lu, \"unchanged\": %lu, "
		      "\"skipped\": %lu, \"warnings\": [",
		      im->k->json, im->created, im->updated, im->unchanged, im->skipped);
	for (size_t i = 0; i < im->nwstored; i++) {
		ob_buf_printf(&b, "%s{\"line\": %lu, \"column\": ", i ? ", " : "", im->warns[i].line);
		json_str(&b, im->warns[i].column);
		ob_buf_adds(&b, ", \"message\": ");
		json_str(&b, im->warns[i].message);
		ob_buf_addc(&b, '}');
	}
	ob_buf_printf(&b, "], \"warnings_total\": %lu}", im->nwarn);
	return ob_buf_steal(&b);
}

/* "12 updated, 319 unchanged": the counts that are not 0. */
static void counts_text(const struct imp *im, struct ob_buf *b)
{
	const char *sep = "";
	if (im->created) {
		ob_buf_printf(b, "%lu created", im->created);
		sep = ", ";
	}
	if (im->updated) {
		ob_buf_printf(b, "%s%lu updated", sep, im->updated);
		sep = ", ";
	}
	if (im->unchanged)
		ob_buf_printf(b, "%s%lu unchanged", sep, im->unchanged);
}

static void summary_core(const struct imp *im, struct ob_buf *b);

/* The summary line, then what was skipped and warned about. */
static char *summary_text(const struct imp *im)
{
	struct ob_buf b;

	ob_buf_init(&b, 0);
	summary_core(im, &b);
	if (im->skipped)
		ob_buf_printf(&b, "; %lu row%s skipped", im->skipped, im->skipped == 1 ? "" : "s");
	if (im->nwarn)
		ob_buf_printf(&b, "; %lu warning%s (above)", im->nwarn, im->nwarn == 1 ? "" : "s");
	return ob_buf_steal(&b);
}

static void summary_core(const struct imp *im, struct ob_buf *b)
{
	const struct kind_def *k = im->k;
	unsigned long n = im->created + im->updated + im->unchanged;

	ob_buf_printf(b, "%s: ", im->file);
	if (k->kind == K_TARGET || k->kind == K_FUTURE) {
		int changed = 0;
		if (im->nversions == 0) {
			ob_buf_printf(b, "no %s rows", k->name);
			return;
		}
		/* Each version once, however many organisations have it. */
		size_t shown = 0, orgs = 0;
		for (size_t i = 0; i < im->nversions; i++) {
			size_t j = 0, o = 0;
			while (j < i && strcmp(im->versions[j].version, im->versions[i].version) != 0)
				j++;
			while (o < i && im->versions[o].org != im->versions[i].org)
				o++;
			orgs += o == i;
			if (j == i)
				shown++;
		}
		ob_buf_printf(b, "%s%s ", k->name, shown > 1 ? "s" : "");
		shown = 0;
		for (size_t i = 0; i < im->nversions; i++) {
			size_t j = 0;
			while (j < i && strcmp(im->versions[j].version, im->versions[i].version) != 0)
				j++;
			if (j == i)
				ob_buf_printf(b, "%s%s", shown++ ? ", " : "", im->versions[i].version);
			if (im->versions[i].affected >= 2)
				changed = 1;
		}
		if (orgs > 1)
			ob_buf_printf(b, " (%zu organisations)", orgs);
		ob_buf_printf(b, ": %lu %s", n, n == 1 ? k->one : k->many);
		if (n) {
			ob_buf_adds(b, " (");
			counts_text(im, b);
			ob_buf_addc(b, ')');
		}
		if (changed)
			ob_buf_adds(b, k->kind == K_TARGET ? "; adoption date or future version updated"
							    : "; adoption date updated");
		return;
	}
	if (k->kind == K_SHARED && im->extra_created)
		ob_buf_printf(b, "%lu new shared solution%s; ", im->extra_created,
			      im->extra_created == 1 ? "" : "s");
	ob_buf_printf(b, "%lu %s", n, n == 1 ? k->one : k->many);
	if (n) {
		ob_buf_adds(b, ": ");
		counts_text(im, b);
	}
}

/* ---- the import ---- */

static void imp_free(struct imp *im)
{
	for (size_t i = 0; i < im->nhdr; i++)
		free(im->hdr[i]);
	free(im->hdr);
	free(im->colof);
	free(im->vals);
	free(im->sql);
	free(im->cur_sql);
	free(im->stage_create);
	free(im->stage_insert);
	free(im->stage_apply);
	cur_free(&im->cur);
	bulk_free(&im->bulk);
	for (size_t i = 0; i < im->nstored; i++)
		free(im->errs[i]);
	for (size_t i = 0; i < im->nwstored; i++) {
		free(im->warns[i].column);
		free(im->warns[i].message);
	}
	free(im->warns);
	free(im->fatal);
	for (size_t i = 0; i < im->norgs; i++) {
		free(im->orgs[i].spec);
		free(im->orgs[i].name);
	}
	free(im->orgs);
	if (im->orgrows)
		ob_db_rows_free(im->orgrows);
	ob_map_free(&im->ids);
	seen_free(&im->seen);
	for (size_t i = 0; i < im->nversions; i++) {
		free(im->versions[i].version);
		free(im->versions[i].future);
	}
	free(im->versions);
	for (size_t i = 0; i < im->nunits; i++) {
		free(im->units[i].uuid);
		free(im->units[i].parent);
	}
	free(im->units);
	for (size_t i = 0; i < im->nnewacts; i++) {
		free(im->newacts[i].code);
		free(im->newacts[i].title);
		free(im->newacts[i].ids);
	}
	free(im->newacts);
	ob_csv_free(im->csv);
	free(im->text);
}

/* The row's cells, trimmed, into im->vals. 0, or -1 (reported) when the
 * row has more or fewer cells than the header. Sets *blank for a row of
 * empty cells (Excel writes those). */
static int take_row(struct imp *im, char **f, size_t n, int *blank)
{
	*blank = 1;
	for (size_t i = 0; i < n; i++) {
		f[i] = ob_trim(f[i]);
		if (f[i][0])
			*blank = 0;
	}
	if (*blank)
		return 0;
	if (n != im->nhdr) {
		/* Trailing empty cells past the header are harmless. */
		size_t last = n;
		while (last > im->nhdr && f[last - 1][0] == '\0')
			last--;
		if (last != im->nhdr) {
			row_err(im, NULL, "%zu fields, but the header has %zu", n, im->nhdr);
			return -1;
		}
	}
	for (size_t i = 0; i < im->nhdr; i++) {
		im->vals[i] = f[i];
		if (im->hdr[i][0] == '\0' && f[i][0] != '\0') {
			row_err(im, NULL, "field %zu has a value, but its column has no name in the header",
				i + 1);
			return -1;
		}
	}
	return 0;
}

/* Whether text holds at least one valid multi-byte UTF-8 character (the
 * BOM aside): a file that has invalid bytes and no such character was
 * saved in another encoding (Excel's "CSV (semikolonsepareret)" is
 * Windows-1252), and is refused whole instead of row by row. */
static int has_utf8(const char *t, size_t len)
{
	size_t i = len >= 3 && memcmp(t, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;

	for (; i < len; i++) {
		unsigned char c = (unsigned char)t[i];
		size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
		if (c < 0x80 || n == 0 || i + n > len)
			continue;
		if (ob_utf8_check(t + i, n, NULL) == 0)
			return 1;
	}
	return 0;
}

/* The name of field i of a row, for messages. */
static const char *field_name(const struct imp *im, size_t i, char buf[32])
{
	if (i < im->nhdr && im->hdr[i][0])
		return im->hdr[i];
	snprintf(buf, 32, "field %zu", i + 1);
	return buf;
}

/* Bytes that are no text in the row just read: each bad field is a
 * warning and the row is skipped (returns 1); 0 when the row is clean, -1
 * when the file is not UTF-8 at all (im->fatal set). */
static int bad_bytes(struct imp *im, struct ob_csv *csv, size_t n)
{
	int bad = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned long at = im->line;
		const char *p = ob_csv_problem(csv, i, &at);
		char nb[32];
		if (p == NULL)
			continue;
		if (!im->file_has_utf8 && strstr(p, "UTF-8")) {
			im->fatal = ob_xasprintf("%s:%lu: %s: %s; the file holds no UTF-8 at all, so it "
						 "was saved in another encoding",
						 im->file, at, field_name(im, i, nb), p);
			return -1;
		}
		warn(im, at, field_name(im, i, nb), "%s; the row is skipped", p);
		bad = 1;
	}
	if (bad)
		im->skipped++;
	return bad;
}

static const char q_record[] = "INSERT INTO imports (kind, files, started_at, finished_at, summary) "
			       "VALUES ('csv', ?, FROM_UNIXTIME(?), NOW(3), ?)";

static void record_import(struct imp *im, const struct timeval *start)
{
	char *json = summary_json(im);
	char t0[40];
	struct ob_db_param p[3];

	snprintf(t0, sizeof(t0), "%lld.%03ld", (long long)start->tv_sec, (long)start->tv_usec / 1000);
	p[0] = ob_p_str(im->file);
	p[1] = ob_p_str(t0);
	p[2] = ob_p_str(json);
	if (im->deferring && im->w) {
		/* After the staged rows are applied: one row of values. */
		struct wjob *j = ob_xcalloc(1, sizeof(*j));
		j->sql = q_record;
		j->p = ob_xcalloc(3, sizeof(*j->p));
		j->ncols = 3;
		j->nrows = 1;
		for (size_t i = 0; i < 3; i++)
			j->p[i] = ob_p_str(arena_dup(&j->texts, p[i].s));
		wdefer(im, j);
	} else
		exec(im, q_record, p, 3, NULL);
	free(json);
}

/* Reads file and its header into a fresh im (kind recognised). 0, or -1
 * with err set (nothing written yet). */
static int csv_prepare(struct imp *im, struct ob_db *db, const char *file,
		       const struct ob_import_opts *opts, struct ob_err *err)
{
	static const struct ob_import_opts no_opts = {NULL, NULL, 0, NULL};
	struct ob_err e;
	char **f;
	size_t len = 0, n;
	int r;

	memset(im, 0, sizeof(*im));
	im->count_before = -1;
	im->db = db;
	im->file = file;
	im->opts = opts ? opts : &no_opts;
	gettimeofday(&im->start, NULL);

	if (ob_read_file(file, &im->text, &len) < 0) {
		ob_err_set(err, "%s: cannot read: %s", file, strerror(errno));
		return -1;
	}
	im->file_has_utf8 = has_utf8(im->text, len);
	im->csv = ob_csv_open(file, im->text, len);
	ob_err_clear(&e);
	r = ob_csv_next(im->csv, &f, &n, &im->line, &e);
	if (r < 0) {
		ob_err_set(err, "%s", e.msg);
		return -1;
	}
	if (r == 0) {
		ob_err_set(err, "%s: empty file (expected a header row; see README \"CSV\")", file);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned long at = im->line;
		const char *p = ob_csv_problem(im->csv, i, &at);
		if (p != NULL) {
			ob_err_set(err, "%s:%lu: header, field %zu: %s", file, at, i + 1, p);
			return -1;
		}
	}
	if (read_header(im, f, n) < 0) {
		report_errors(im, err);
		return -1;
	}
	im->vals = ob_xcalloc(im->nhdr + 1, sizeof(*im->vals));
	return 0;
}

/* Reads and writes the rows of a prepared file inside the open
 * transaction and records the import. 0, or -1 with the problems logged
 * and counted in err (the caller rolls back). */
static int csv_rows(struct imp *im, struct ob_err *err)
{
	struct ob_err e;
	char **f;
	size_t n;
	int r;

	while (!im->fatal) {
		int blank;

		ob_err_clear(&e);
		r = ob_csv_next(im->csv, &f, &n, &im->line, &e);
		if (r == 0)
			break;
		if (r < 0) {
			im->fatal = ob_xstrdup(e.msg);
			break;
		}
		im->row_bad = 0;
		r = bad_bytes(im, im->csv, n);
		if (r < 0)
			break;
		if (r > 0)
			continue;
		if (take_row(im, f, n, &blank) < 0 || blank)
			continue;
		im->rows++;
		switch (im->k->kind) {
		case K_SYSTEMS:
		case K_CONTRACTS:
			row_update(im);
			break;
		case K_PEOPLE:
			row_people(im);
			break;
		case K_UNITS:
			row_unit(im);
			break;
		case K_ASSESSMENTS:
			row_assessment(im);
			break;
		case K_INCIDENTS:
			row_incident(im);
			break;
		case K_FUTURE:
			row_future(im);
			break;
		case K_TARGET:
			row_target(im);
			break;
		case K_SHARED:
			row_shared(im);
			break;
		}
	}
	if (im->k->kind == K_TARGET && !im->fatal)
		new_actions(im);
	if (!im->fatal)
		bulk_flush(im, &im->bulk);
	count_fix(im);
	if (im->k->kind == K_UNITS && !im->fatal) {
		units_parents(im);
		for (size_t i = 0; i < im->nunits; i++)
			count(im, (unsigned long long)im->units[i].state);
	}
	wsync(im); /* every write of the file done: its errors known */
	if (im->fatal || im->nerr) {
		log_warnings(im);
		report_errors(im, err);
		return -1;
	}
	/* The staged rows applied, and the file logged: with a next file,
	 * while its rows are read (wdefer). */
	im->deferring = im->staged && im->defer_ok;
	if (im->staged && wexec(im, im->stage_apply) == 0 && wexec(im, "DROP TEMPORARY TABLE csv_stage") == 0)
		wexec(im, "SET SESSION max_heap_table_size = DEFAULT");
	im->line = 0;
	record_import(im, &im->start);
	im->deferring = 0;
	if (im->fatal) {
		report_errors(im, err);
		return -1;
	}
	return 0;
}

/* Prints the result line of a committed file. */
static void csv_result(const struct imp *im)
{
	FILE *out = im->opts->out ? im->opts->out : stdout;
	char *s = im->opts->json ? summary_json(im) : summary_text(im);

	fprintf(out, "%s\n", s);
	fflush(out);
	free(s);
}

/* The place of a kind in the order files are applied: what a file refers
 * to comes before it (org units, people, systems, contracts, assessments,
 * incidents, future picture, target picture, shared solutions). */
static int kind_rank(enum kind k)
{
	switch (k) {
	case K_UNITS: return 0;
	case K_PEOPLE: return 1;
	case K_SYSTEMS: return 2;
	case K_CONTRACTS: return 3;
	case K_ASSESSMENTS: return 4;
	case K_INCIDENTS: return 5;
	case K_FUTURE: return 6;
	case K_TARGET: return 7;
	case K_SHARED: return 8;
	}
	return 9;
}

/* Hands what the files of one command share (the organisations found and
 * the uuid -> id maps) from one file's state to the next's. An org units
 * file writes the units the maps hold, so its maps are not handed on. */
static void share_move(struct imp *to, struct imp *from)
{
	to->orgs = from->orgs;
	to->norgs = from->norgs;
	to->last_org = from->last_org;
	to->orgrows = from->orgrows;
	from->orgs = NULL;
	from->norgs = 0;
	from->orgrows = NULL;
	if (from->k == NULL || from->k->kind != K_UNITS) {
		to->ids = from->ids;
		memset(&from->ids, 0, sizeof(from->ids));
	}
}

static int import_one(struct ob_db *db, const char *file, const struct ob_import_opts *opts,
		      struct ob_err *err)
{
	struct imp im;
	struct writer w;
	struct ob_err e;
	int rc = -1, began = 0, writing = 0;

	if (csv_prepare(&im, db, file, opts, err) < 0)
		goto out;
	writing = writer_start(&w, db) == 0;
	im.w = writing ? &w : NULL;
	ob_err_clear(&e);
	if (ob_db_begin(db, &e) < 0) {
		ob_err_set(err, "%s: database: %s", file, e.msg);
		goto out;
	}
	began = 1;
	if (csv_rows(&im, err) < 0)
		goto out;
	ob_err_clear(&e);
	if (ob_db_commit(db, &e) < 0) {
		ob_err_set(err, "%s: database: commit: %s", file, e.msg);
		goto out;
	}
	began = 0;
	log_warnings(&im);
	csv_result(&im);
	rc = 0;
out:
	if (writing)
		writer_stop(&w); /* idle already: csv_rows waits for it */
	if (began)
		ob_db_rollback(db);
	imp_free(&im);
	return rc;
}

int ob_import_csv(struct ob_db *db, char *const *files, size_t nfiles,
		  const struct ob_import_opts *opts, struct ob_err *err)
{
	struct imp *ims;
	struct writer w;
	size_t *order, nbad = 0, done = 0;
	struct ob_err e;
	int rc = -1, began = 0, writing = 0;

	if (nfiles == 1)
		return import_one(db, files[0], opts, err);
	ims = ob_xcalloc(nfiles, sizeof(*ims));
	order = ob_xcalloc(nfiles, sizeof(*order));
	/* Every file read and recognised before anything is written. */
	for (size_t i = 0; i < nfiles; i++) {
		ob_err_clear(&e);
		if (csv_prepare(&ims[i], db, files[i], opts, &e) < 0) {
			ob_log(OB_LOG_ERR, "import csv: %s", e.msg);
			nbad++;
		}
	}
	if (nbad)
		goto failed;
	/* Dependency order, files of one kind as given (a stable insertion sort). */
	for (size_t i = 0; i < nfiles; i++) {
		size_t j = i;
		while (j > 0 && kind_rank(ims[order[j - 1]].k->kind) > kind_rank(ims[i].k->kind)) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = i;
	}
	ob_err_clear(&e);
	if (ob_db_begin(db, &e) < 0) {
		ob_err_set(err, "database: %s", e.msg);
		goto cleanup;
	}
	began = 1;
	writing = writer_start(&w, db) == 0;
	for (size_t o = 0; o < nfiles; o++) {
		struct imp *im = &ims[order[o]];
		im->w = writing ? &w : NULL;
		im->defer_ok = o + 1 < nfiles && ims[order[o + 1]].k->kind != im->k->kind;
		if (o > 0)
			share_move(im, &ims[order[o - 1]]);
		ob_err_clear(&e);
		done++;
		gettimeofday(&im->start, NULL); /* the file's own time, for the imports log */
		if (csv_rows(im, &e) < 0) {
			ob_log(OB_LOG_ERR, "import csv: %s", e.msg);
			nbad++;
			if (im->dberr)
				break; /* the transaction may be gone: check no further file */
		}
	}
	if (nbad)
		goto failed;
	ob_err_clear(&e);
	if (ob_db_commit(db, &e) < 0) {
		ob_err_set(err, "database: commit: %s", e.msg);
		goto cleanup;
	}
	began = 0;
	for (size_t o = 0; o < nfiles; o++) {
		log_warnings(&ims[order[o]]);
		csv_result(&ims[order[o]]);
	}
	rc = 0;
	goto cleanup;
failed:
	if (done < nfiles && done > 0)
		ob_err_set(err, "%zu of %zu files have errors, each listed above (a database error stopped "
			   "the import after %zu of them)", nbad, nfiles, done);
	else
		ob_err_set(err, "%zu of %zu files have errors, each listed above", nbad, nfiles);
cleanup:
	if (writing)
		writer_stop(&w); /* idle already: csv_rows waits for it */
	if (began)
		ob_db_rollback(db);
	for (size_t i = 0; i < nfiles; i++)
		imp_free(&ims[i]);
	free(ims);
	free(order);
	return rc;
}
