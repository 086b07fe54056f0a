/* run_worker.h - one run's worker process, supervised the same way by
 * overblikd and by "overblik run": the executable itself, started as
 * "EXE [-c CONFIG] --run-worker ID" (spawn.h: a process group of its own,
 * dying with its parent), killed as a group at the report's timeout, and
 * how it ended recorded when the worker could not record it itself. */
#ifndef OB_RUN_WORKER_H
#define OB_RUN_WORKER_H

#include <sys/types.h>
#include <time.h>

#include "util.h"

struct ob_db;

struct ob_worker_host;

struct ob_run_worker {
	unsigned long long id;
	int timeout;             /* seconds, the report's */
	pid_t pid;               /* while it runs; 0 before and after */
	struct timespec started;
	int wstatus;             /* how it ended, once reaped */
	int timed_out;
	const char *stopped;     /* why it was killed before its end (static text), or NULL */
	struct ob_worker_host *host; /* forked by this host (worker_host.h), or NULL: exec'd, our child */
};

/* Starts the worker of w->id: exe [-c config] [-v|-q] --run-worker ID
 * (config NULL: the executable's default lookup; verbosity > 0 -v, < 0 -q).
 * 0, or -1 with err. */
int ob_run_worker_start(struct ob_run_worker *w, const char *exe, const char *config, int verbosity,
			struct ob_err *err);
/* The same, forked by the worker host h (worker_host.h) instead of exec'd. */
int ob_run_worker_start_host(struct ob_run_worker *w, struct ob_worker_host *h, const char *config, int verbosity,
			     struct ob_err *err);
/* Its timeout passed: kills its group; it ends "timeout". */
void ob_run_worker_timeout(struct ob_run_worker *w);
/* Kills its group before its end; it ends "failed" with why. */
void ob_run_worker_stop(struct ob_run_worker *w, const char *why);
/* 1 when it has ended (reaped: wstatus set, pid 0), 0 while it runs. */
int ob_run_worker_reap(struct ob_run_worker *w, int block);
/* Seconds since it started. */
double ob_run_worker_seconds(const struct ob_run_worker *w);
/* After it ended, on the database: records what its worker could not
 * (timeout, crashed and the signal, failed and why), ends failed a run it
 * left open, removes the files of a run that did not succeed, and returns
 * the run's status (free it) and *error, its error or NULL (free it):
 * "running" when another server's worker had taken the run
 * (OB_RUN_EXIT_NOT_QUEUED). */
char *ob_run_worker_finish(struct ob_db *db, const struct ob_run_worker *w, const char *state_dir, char **error);
/* The worker's side, for both executables: loads the configuration, sets
 * the time zone and log level (verbosity as above), executes run id; the
 * exit code. */
int ob_run_worker_main(const char *config_path, int explicit_path, int verbosity, unsigned long long id);
/* This process's executable (/proc/self/exe), or NULL with err. Free it. */
char *ob_self_exe(struct ob_err *err);

#endif
