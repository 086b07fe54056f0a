/* run.h - report runs: the row in the database, and the worker that executes
 * one in a process of its own (run.c), handing the plugin the core's
 * services (the struct ob_api of include/overblik/plugin.h). */
#ifndef OB_RUN_H
#define OB_RUN_H

#include <stdint.h>
#include <time.h>

#include "util.h"

struct ob_config;
struct ob_db;

/* Exit codes of a run's worker process; a signal means "crashed". */
#define OB_RUN_EXIT_SUCCEEDED 0
#define OB_RUN_EXIT_FAILED 1     /* the worker recorded "failed" and why */
#define OB_RUN_EXIT_UNRECORDED 2 /* the worker could not record anything: the parent does */
#define OB_RUN_EXIT_NOT_QUEUED 3 /* the run was not queued (another server took it): leave it */

/* A run's status, as the runs table has it. */
enum ob_run_status { OB_RS_QUEUED, OB_RS_RUNNING, OB_RS_SUCCEEDED, OB_RS_FAILED, OB_RS_TIMEOUT, OB_RS_CRASHED, OB_RS_N };
extern const char *const ob_run_status_names[OB_RS_N];

struct ob_run_request {
	const char *report;
	long long org_id;        /* 0: the only organisation, or none */
	const char *trigger;     /* "schedule", "api", "cli" */
	time_t scheduled_for;    /* 0 unless trigger is schedule */
	const char *as_of;       /* "YYYY-MM-DD" */
	const char *params_json; /* a JSON object of strings; NULL = {} */
	int dry_run;
};

/* Inserts a queued run; *id gets its id. */
int ob_run_create(struct ob_db *db, const struct ob_run_request *rq, unsigned long long *id,
		  struct ob_err *err);
/* Creates one queued run of rq for each organisation in the database, in
 * the order of their ids (rq->org_id is not used), as "--org all" and
 * "org": "all" ask, and a schedule fire does. Call it in a transaction:
 * on -1 some runs may have been created, and the caller rolls back. 0 with
 * *ids (free it) and *n, which is 0 when the database holds no
 * organisation (the caller decides what that means). */
int ob_run_create_each_org(struct ob_db *db, const struct ob_run_request *rq, unsigned long long **ids,
			   size_t *n, struct ob_err *err);
/* Records how a worker ended when the worker could not: timeout, crashed,
 * or failed with the reason. Leaves a run the worker finished alone. */
int ob_run_record_end(struct ob_db *db, unsigned long long id, const char *status, const char *error,
		      struct ob_err *err);
/* Removes the files of run id (state_dir/runs/ID and what is in it), for a
 * run that did not succeed: such a run has no run_files rows, so nothing it
 * wrote may stay unlisted. Logs what it removed. The number of files
 * removed (0 when there was no folder), or -1 when something stayed. */
int ob_run_remove_files(const char *state_dir, unsigned long long id);
/* Executes run id in this process: loads its report's plugin, runs it, and
 * records its files, notices and status in one transaction (a run that
 * fails keeps no files: those it wrote are removed). Returns one of
 * the OB_RUN_EXIT_ codes. Meant for a child process: a plugin that crashes
 * takes the process with it. */
int ob_run_execute(const struct ob_config *cfg, unsigned long long id);
/* A plugin context with no run and no database (queries fail): the
 * document the calls build is ob_ctx_document(). For the sample document
 * and tests; free with ob_ctx_free(). */
struct ob_ctx;
struct ob_doc;
struct ob_ctx *ob_ctx_standalone(const char *as_of, const char *org_name);
const struct ob_doc *ob_ctx_document(struct ob_ctx *ctx); /* NULL if no call asked for it */
void ob_ctx_free(struct ob_ctx *ctx);
/* The core's plugin API (its calendar and formatting functions take no
 * context: a fake API for unit tests borrows them). */
struct ob_api;
const struct ob_api *ob_run_api(void);
/* Today's date in the configured time zone (TZ is set at start), "YYYY-MM-DD". */
void ob_run_today(char out[11]);
/* The name of a signal for a run's error: "SIGSEGV". */
const char *ob_signal_name(int sig);

/* The SHA-256 of what fd holds from its offset on, as 64 hex digits, and
 * how many bytes that was. 0, or -1 with errno. */
int ob_sha256_fd(int fd, char hex[65], unsigned long long *size);

#endif
