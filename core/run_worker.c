/* run_worker.c - a run's worker process and its supervision (run_worker.h),
 * shared by overblikd's queue (server.c) and "overblik run" (cli.c). */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conf.h"
#include "db.h"
#include "log.h"
#include "run.h"
#include "run_worker.h"
#include "spawn.h"
#include "worker_host.h"

int ob_run_worker_start(struct ob_run_worker *w, const char *exe, const char *config, int verbosity,
			struct ob_err *err)
{
	char idbuf[32];
	char *argv[8];
	size_t a = 0;
	struct ob_spawn sp = {.argv = argv, .out_fd = -1, .err_fd = -1, .fail_code = OB_RUN_EXIT_UNRECORDED,
			      .die_with_parent = 1};

	snprintf(idbuf, sizeof(idbuf), "%llu", w->id);
	argv[a++] = (char *)exe;
	if (config) {
		argv[a++] = "-c";
		argv[a++] = (char *)config;
	}
	if (verbosity)
		argv[a++] = verbosity > 0 ? "-v" : "-q";
	argv[a++] = "--run-worker";
	argv[a++] = idbuf;
	argv[a] = NULL;
	w->host = NULL;
	w->pid = ob_spawn_start(&sp, err);
	if (w->pid < 0) {
		w->pid = 0;
		return -1;
	}
	w->timed_out = 0;
	w->stopped = NULL;
	clock_gettime(CLOCK_MONOTONIC, &w->started);
	return 0;
}

int ob_run_worker_start_host(struct ob_run_worker *w, struct ob_worker_host *h, const char *config, int verbosity,
			     struct ob_err *err)
{
	pid_t pid = ob_worker_host_run(h, w->id, config, verbosity, err);

	if (pid < 0)
		return -1;
	w->host = h;
	w->pid = pid;
	w->timed_out = 0;
	w->stopped = NULL;
	clock_gettime(CLOCK_MONOTONIC, &w->started);
	return 0;
}

void ob_run_worker_timeout(struct ob_run_worker *w)
{
	if (w->pid <= 0)
		return;
	w->timed_out = 1;
	ob_spawn_signal(w->pid, SIGKILL); /* its group: what the plugin started too */
}

void ob_run_worker_stop(struct ob_run_worker *w, const char *why)
{
	if (w->pid <= 0)
		return;
	w->stopped = why;
	ob_spawn_signal(w->pid, SIGKILL);
}

int ob_run_worker_reap(struct ob_run_worker *w, int block)
{
	if (w->pid <= 0)
		return 0;
	if (w->host) {
		/* The host reaps it (and what it left in its group) and says so. */
		if (!ob_worker_host_take(w->host, w->pid, &w->wstatus))
			return 0;
	} else if (ob_spawn_reap(w->pid, &w->wstatus, block) != 1)
		return 0;
	w->pid = 0;
	w->host = NULL;
	return 1;
}

double ob_run_worker_seconds(const struct ob_run_worker *w)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - w->started.tv_sec) + (double)(t.tv_nsec - w->started.tv_nsec) / 1e9;
}

/* What the worker could not record itself: its status and why, or NULL. */
static const char *how_it_ended(const struct ob_run_worker *w, char **why)
{
	int st = w->wstatus;

	*why = NULL;
	if (w->stopped) {
		*why = ob_xstrdup(w->stopped);
		return "failed";
	}
	if (w->timed_out) {
		*why = ob_xasprintf("killed at its timeout of %d s", w->timeout);
		return "timeout";
	}
	if (WIFSIGNALED(st)) {
		*why = ob_xasprintf("killed by %s (signal %d)", ob_signal_name(WTERMSIG(st)), WTERMSIG(st));
		return "crashed";
	}
	if (WEXITSTATUS(st) != OB_RUN_EXIT_SUCCEEDED && WEXITSTATUS(st) != OB_RUN_EXIT_FAILED) {
		*why = ob_xasprintf("its worker exited with status %d before recording a result (see the log)",
				    WEXITSTATUS(st));
		return "failed";
	}
	return NULL;
}

char *ob_run_worker_finish(struct ob_db *db, const struct ob_run_worker *w, const char *state_dir, char **error)
{
	struct ob_err err = {{0}};
	struct ob_db_rows *r = NULL;
	struct ob_db_param p[1] = {ob_p_int((long long)w->id)};
	const char *status;
	char *why, *final;

	*error = NULL;
	if (WIFEXITED(w->wstatus) && WEXITSTATUS(w->wstatus) == OB_RUN_EXIT_NOT_QUEUED)
		return ob_xstrdup("running"); /* another server's: neither recorded nor counted here */
	status = how_it_ended(w, &why);
	if (status && ob_run_record_end(db, w->id, status, why, &err) < 0)
		ob_log(OB_LOG_ERR, "run %llu: cannot record %s: %s", w->id, status, err.msg);
	free(why);
	/* Whatever its exit code said, a run the worker left open ends failed. */
	why = ob_xasprintf("its worker exited (status %d) without recording a result (see the log)",
			   WIFEXITED(w->wstatus) ? WEXITSTATUS(w->wstatus) : -1);
	if (ob_run_record_end(db, w->id, "failed", why, &err) < 0)
		ob_log(OB_LOG_ERR, "run %llu: cannot record it failed: %s", w->id, err.msg);
	free(why);
	if (ob_db_query(db, "SELECT status, error FROM runs WHERE id = ?", p, 1, &r, &err) < 0 || r->nrows != 1) {
		ob_db_rows_free(r);
		return ob_xstrdup(status ? status : "failed");
	}
	final = ob_xstrdup(ob_db_cell(r, 0, 0));
	if (ob_db_cell(r, 0, 1))
		*error = ob_xstrdup(ob_db_cell(r, 0, 1));
	/* A run that ended otherwise has no run_files rows: what its worker
	 * wrote before it was killed or gave up goes too. */
	if (strcmp(final, "succeeded") != 0 && strcmp(final, "running") != 0 && strcmp(final, "queued") != 0 &&
	    state_dir)
		ob_run_remove_files(state_dir, w->id);
	ob_db_rows_free(r);
	return final;
}

int ob_run_worker_main(const char *config_path, int explicit_path, int verbosity, unsigned long long id)
{
	struct ob_config *cfg = NULL;
	struct ob_err err = {{0}};
	int code;

	if (ob_config_load(config_path, explicit_path, &cfg, &err) < 0) {
		ob_log(OB_LOG_ERR, "%s", err.msg);
		return OB_RUN_EXIT_UNRECORDED; /* it recorded nothing: the supervisor does */
	}
	setenv("TZ", cfg->timezone, 1);
	tzset();
	ob_log_threshold = verbosity > 0 ? OB_LOG_DEBUG : verbosity < 0 ? OB_LOG_WARNING : ob_log_level_parse(cfg->log_level);
	code = ob_run_execute(cfg, id);
	ob_config_free(cfg);
	return code;
}

char *ob_self_exe(struct ob_err *err)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0) {
		ob_err_set(err, "cannot find its own executable (/proc/self/exe): %s", strerror(errno));
		return NULL;
	}
	exe[n] = '\0';
	return ob_xstrdup(exe);
}
