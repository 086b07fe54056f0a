/* server.c - overblikd's work: the run queue, the worker processes that run
 * reports (each a fresh exec of overblikd --run-worker, so a plugin that
 * crashes or hangs fails only its own run), the schedules and their claims
 * in the database, and the metrics. Everything here runs on the loop; SQL
 * goes through the database thread (dbq.c). */
#include "config.h"

#include <cjson/cJSON.h>

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conf.h"
#include "db.h"
#include "db_server.h"
#include "dbq.h"
#include "import.h"
#include "log.h"
#include "run.h"
#include "server.h"

const char *const ob_run_status_names[OB_RS_N] = {"queued", "running", "succeeded", "failed", "timeout", "crashed"};
const double ob_duration_bounds[OB_DURATION_BUCKETS] = {0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600};

static double elapsed(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* ---- metrics ---- */

static struct ob_metric_report *metric_report(struct ob_metrics *m, const char *report)
{
	for (size_t i = 0; i < m->nreports; i++)
		if (strcmp(m->reports[i].report, report) == 0)
			return &m->reports[i];
	m->reports = ob_xrealloc(m->reports, (m->nreports + 1) * sizeof(*m->reports));
	memset(&m->reports[m->nreports], 0, sizeof(*m->reports));
	m->reports[m->nreports].report = ob_xstrdup(report);
	return &m->reports[m->nreports++];
}

static void metric_finished(struct ob_metrics *m, const char *report, const char *status, double secs)
{
	struct ob_metric_report *r = metric_report(m, report);
	for (int s = 0; s < OB_RS_N; s++)
		if (strcmp(ob_run_status_names[s], status) == 0)
			r->counts[s]++;
	for (int b = 0; b < OB_DURATION_BUCKETS; b++)
		if (secs <= ob_duration_bounds[b]) {
			m->buckets[b]++;
			break;
		}
	m->duration_sum += secs;
	m->duration_count++;
}

/* ---- the queue ---- */

int ob_server_queued(const struct ob_server *srv)
{
	int n = 0;
	for (const struct ob_job *j = srv->jobs; j; j = j->next)
		n += j->pid == 0;
	return n;
}

static int report_running(const struct ob_server *srv, const char *report)
{
	for (const struct ob_job *j = srv->jobs; j; j = j->next)
		if (j->pid != 0 && strcmp(j->report, report) == 0)
			return 1;
	return 0;
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct ob_job *j = arg;
	if (j->pid > 0) {
		ob_log(OB_LOG_WARNING, "run %llu: %s passed its timeout of %d s: killing it", j->id, j->report,
		       j->timeout);
		j->timed_out = 1;
		if (kill(-j->pid, SIGKILL) < 0) /* its process group: what the plugin started too */
			kill(j->pid, SIGKILL);
	}
}

static void try_start(struct ob_server *srv);

pid_t ob_server_spawn(struct ob_server *srv, const char *mode, const char *arg, int fail_code)
{
	pid_t parent = getpid(), pid = fork();

	if (pid != 0)
		return pid; /* the child's pid, or -1 */
	/* A fresh process: no threads, no loop, nothing of ours but the
	 * configuration in force (not the file, which may have changed). */
	char *argv[] = {srv->self_exe, "-c", srv->worker_config ? srv->worker_config : (char *)srv->config_path,
			(char *)mode, (char *)arg, NULL};
	static const char msg[] = "overblikd: cannot exec itself for a worker\n";
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlives overblikd */
	if (getppid() != parent)          /* overblikd died before the line above */
		_exit(fail_code);
	execv(srv->self_exe, argv);
	/* Only async-signal-safe calls here: this process was forked from threads. */
	ssize_t ignored = write(STDERR_FILENO, msg, sizeof(msg) - 1);
	(void)ignored;
	_exit(fail_code);
}

static void start_job(struct ob_server *srv, struct ob_job *j)
{
	char idbuf[32];
	pid_t pid;

	snprintf(idbuf, sizeof(idbuf), "%llu", j->id);
	pid = ob_server_spawn(srv, "--run-worker", idbuf, OB_RUN_EXIT_UNRECORDED);
	if (pid < 0) {
		ob_warn("run %llu: fork", j->id);
		return;
	}
	j->pid = pid;
	clock_gettime(CLOCK_MONOTONIC, &j->started);
	j->timer = evtimer_new(srv->base, on_timeout, j);
	struct timeval tv = {j->timeout, 0};
	evtimer_add(j->timer, &tv);
	srv->nrunning++;
	ob_info("run %llu: %s started (pid %ld, timeout %d s)", j->id, j->report, (long)pid, j->timeout);
}

static void try_start(struct ob_server *srv)
{
	for (struct ob_job *j = srv->jobs; j && srv->nrunning < srv->cfg->max_runs && !srv->stopping; j = j->next)
		if (j->pid == 0 && !report_running(srv, j->report))
			start_job(srv, j);
}

void ob_server_enqueue(struct ob_server *srv, unsigned long long id, const char *report)
{
	const struct ob_config_report *rc = ob_config_report(srv->cfg, report);
	struct ob_job *j = ob_xcalloc(1, sizeof(*j)), **p = &srv->jobs;

	j->id = id;
	j->report = ob_xstrdup(report);
	j->timeout = rc ? rc->timeout : 600;
	j->state_dir = ob_xstrdup(srv->cfg->state_dir); /* by value: the database thread reads it */
	j->srv = srv;
	while (*p)
		p = &(*p)->next;
	*p = j;
	ob_debug("run %llu: %s queued", id, report);
	try_start(srv);
}

static void job_free(struct ob_job *j)
{
	if (j->timer)
		event_free(j->timer);
	free(j->report);
	free(j->status);
	free(j->state_dir);
	free(j);
}

/* On the database thread: record how the worker ended when it could not,
 * and read back the final status. */
static void finish_work(struct ob_db *db, void *arg)
{
	struct ob_job *j = arg;
	struct ob_err err = {{0}};
	struct ob_db_rows *r = NULL;
	char *why = NULL;
	const char *status = NULL;

	if (WIFEXITED(j->wstatus) && WEXITSTATUS(j->wstatus) == OB_RUN_EXIT_NOT_QUEUED) {
		j->status = ob_xstrdup("running"); /* another server's: neither recorded nor counted here */
		return;
	}
	if (j->stopped) {
		status = "failed";
		why = ob_xstrdup("killed at shutdown: overblikd's grace period for running runs ended");
	} else if (j->timed_out) {
		status = "timeout";
		why = ob_xasprintf("killed at its timeout of %d s", j->timeout);
	} else if (WIFSIGNALED(j->wstatus)) {
		status = "crashed";
		why = ob_xasprintf("killed by %s (signal %d)", ob_signal_name(WTERMSIG(j->wstatus)),
				   WTERMSIG(j->wstatus));
	} else if (WEXITSTATUS(j->wstatus) != OB_RUN_EXIT_SUCCEEDED && WEXITSTATUS(j->wstatus) != OB_RUN_EXIT_FAILED) {
		status = "failed";
		why = ob_xasprintf("its worker exited with status %d before recording a result (see the log)",
				   WEXITSTATUS(j->wstatus));
	}
	if (status && ob_run_record_end(db, j->id, status, why, &err) < 0)
		ob_log(OB_LOG_ERR, "run %llu: cannot record %s: %s", j->id, status, err.msg);
	free(why);
	/* Whatever its exit code said, a run the worker left open ends failed. */
	why = ob_xasprintf("its worker exited (status %d) without recording a result (see the log)",
			   WIFEXITED(j->wstatus) ? WEXITSTATUS(j->wstatus) : -1);
	if (ob_run_record_end(db, j->id, "failed", why, &err) < 0)
		ob_log(OB_LOG_ERR, "run %llu: cannot record it failed: %s", j->id, err.msg);
	free(why);
	struct ob_db_param p[1] = {ob_p_int((long long)j->id)};
	if (ob_db_query(db, "SELECT status, error FROM runs WHERE id = ?", p, 1, &r, &err) == 0 && r->nrows == 1) {
		j->status = ob_xstrdup(ob_db_cell(r, 0, 0));
		if (ob_db_cell(r, 0, 1))
			ob_log(strcmp(j->status, "succeeded") == 0 ? OB_LOG_INFO : OB_LOG_WARNING, "run %llu: %s: %s",
			       j->id, j->status, ob_db_cell(r, 0, 1));
		/* A run that ended otherwise has no run_files rows: what its
		 * worker wrote before it was killed or gave up goes too. */
		if (strcmp(j->status, "succeeded") != 0 && strcmp(j->status, "running") != 0 &&
		    strcmp(j->status, "queued") != 0 && j->state_dir)
			ob_run_remove_files(j->state_dir, j->id);
	} else
		j->status = ob_xstrdup(status ? status : "failed");
	ob_db_rows_free(r);
}

static void finish_done(void *arg)
{
	struct ob_job *j = arg;
	struct ob_server *srv = j->srv;

	if (strcmp(j->status, "queued") != 0 && strcmp(j->status, "running") != 0)
		metric_finished(&srv->m, j->report, j->status, j->seconds);
	ob_info("run %llu: %s %s in %.2f s", j->id, j->report, j->status, j->seconds);
	if (strcmp(j->status, "succeeded") == 0)
		ob_mailer_look(srv); /* its mail, if any, goes now */
	job_free(j);
	try_start(srv);
}

void ob_server_maybe_exit(struct ob_server *srv)
{
	if (srv->stopping && srv->nrunning == 0 && srv->mail_pid == 0 && ob_dbq_pending(srv->dbq) == 0)
		event_base_loopbreak(srv->base);
}

static void inventory_step(struct ob_server *srv, int timed_out);

void ob_server_reap(struct ob_server *srv)
{
	int status;
	pid_t pid;

	/* Only our workers, the managed mariadbd (through db_server.c, which
	 * the thread waiting for it shares) and the plugin inventory:
	 * waitpid(-1) would also take the database thread's helpers, which wait
	 * for their own. */
	ob_dbserver_reap();
	if (srv->inv)
		inventory_step(srv, 0);
	for (struct ob_job **p = &srv->jobs; *p;) {
		struct ob_job *j = *p;
		if (j->pid <= 0 || (pid = waitpid(j->pid, &status, WNOHANG)) != j->pid) {
			p = &j->next;
			continue;
		}
		*p = j->next;
		srv->nrunning--;
		j->wstatus = status;
		j->seconds = elapsed(&j->started);
		if (j->timer) {
			event_free(j->timer);
			j->timer = NULL;
		}
		ob_dbq_submit(srv->dbq, finish_work, finish_done, j);
	}
	ob_mailer_reap(srv);
	try_start(srv);
}

/* ---- schedules ---- */

struct fire {
	struct ob_server *srv;
	char *report;
	time_t at;
	int missed;          /* record as missed, do not run */
	unsigned long long *ids;
	size_t nids;
	int claimed;
	int failed;          /* its runs could not be made: left unclaimed (logged) */
};

/* On the database thread: claim the fire; whoever inserts the row runs it,
 * one run per organisation (or one without, when there is none). The claim
 * and the runs are one transaction: a fire is claimed with all its runs or
 * not at all (a failure leaves it to the catch-up at the next start). */
static void fire_work(struct ob_db *db, void *arg)
{
	struct fire *f = arg;
	struct ob_err err = {{0}};
	unsigned long long affected = 0;
	struct ob_db_param p[4] = {ob_p_str(f->report), ob_p_int((long long)f->at),
				   ob_p_str(f->missed ? "missed" : "claimed"), ob_p_str(f->srv->runner)};
	char as_of[11];
	struct tm tm;
	int32_t day;

	if (ob_db_begin(db, &err) < 0 ||
	    ob_db_exec(db,
		       "INSERT IGNORE INTO schedule_fires (report, fire_at, outcome, claimed_by) "
		       "VALUES (?, FROM_UNIXTIME(?), ?, ?)",
		       p, 4, &affected, &err) < 0) {
		ob_db_rollback(db);
		ob_log(OB_LOG_ERR, "schedule %s: cannot claim the fire: %s", f->report, err.msg);
		return;
	}
	if (affected == 0 || f->missed) {
		if (ob_db_commit(db, &err) < 0) {
			ob_db_rollback(db);
			ob_log(OB_LOG_ERR, "schedule %s: cannot record the fire: %s", f->report, err.msg);
			affected = 0;
		}
		f->claimed = affected > 0;
		return;
	}
	localtime_r(&f->at, &tm);
	day = ob_days_from_civil(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
	ob_date_format(day, as_of);
	{
		struct ob_run_request rq = {f->report, 0, "schedule", f->at, as_of, "{}", 0};
		int r = ob_run_create_each_org(db, &rq, &f->ids, &f->nids, &err);
		if (r == 0 && f->nids == 0) { /* no organisation: one run without one, as always */
			free(f->ids);
			f->ids = ob_xcalloc(1, sizeof(*f->ids));
			r = ob_run_create(db, &rq, &f->ids[0], &err);
			f->nids = r == 0 ? 1 : 0;
		}
		if (r < 0 || ob_db_commit(db, &err) < 0) {
			ob_db_rollback(db);
			ob_log(OB_LOG_ERR, "schedule %s: cannot create its runs (the fire stays unclaimed): %s",
			       f->report, err.msg);
			free(f->ids);
			f->ids = NULL;
			f->nids = 0;
			f->failed = 1;
			return;
		}
	}
	f->claimed = 1;
}

static void fire_done(void *arg)
{
	struct fire *f = arg;
	char when[64];

	ob_cron_format_time(f->at, when, sizeof(when));
	if (f->missed)
		ob_log(OB_LOG_NOTICE, "schedule %s: the fire at %s was missed (past its catch-up window)%s", f->report,
		       when, f->claimed ? "" : "; already recorded");
	else if (!f->claimed && !f->failed)
		ob_debug("schedule %s: the fire at %s was claimed by another server", f->report, when);
	else if (f->claimed)
		ob_info("schedule %s: fire at %s: %zu run%s", f->report, when, f->nids, f->nids == 1 ? "" : "s");
	for (size_t i = 0; i < f->nids; i++)
		if (f->srv->stopping)
			ob_server_abandon(f->srv, f->ids[i]);
		else
			ob_server_enqueue(f->srv, f->ids[i], f->report);
	free(f->ids);
	free(f->report);
	free(f);
}

static void fire(struct ob_server *srv, const char *report, time_t at, int missed)
{
	struct fire *f = ob_xcalloc(1, sizeof(*f));
	f->srv = srv;
	f->report = ob_xstrdup(report);
	f->at = at;
	f->missed = missed;
	ob_dbq_submit(srv->dbq, fire_work, fire_done, f);
}

static void arm(struct ob_sched *s)
{
	time_t now = time(NULL);
	struct timeval tv;

	if (ob_cron_next(&s->cron, now, &s->next) < 0) {
		ob_log(OB_LOG_WARNING, "schedule %s: never fires again", s->report);
		return;
	}
	tv.tv_sec = s->next - now;
	tv.tv_usec = 0;
	evtimer_add(s->timer, &tv);
}

static void on_fire(evutil_socket_t fd, short what, void *arg)
{
	struct ob_sched *s = arg;
	time_t now = time(NULL);

	if (now < s->next) { /* woke early (clock changes): wait the rest */
		struct timeval tv = {s->next - now, 0};
		evtimer_add(s->timer, &tv);
		return;
	}
	if (!s->srv->stopping)
		fire(s->srv, s->report, s->next, 0);
	arm(s);
}

struct catch_up {
	struct ob_server *srv;
	char *report;
	struct ob_cron cron;
	int window;
	time_t *fires;   /* found on the database thread */
	size_t nfires;
};

static void catch_up_work(struct ob_db *db, void *arg)
{
	struct catch_up *c = arg;
	struct ob_err err = {{0}};
	struct ob_db_rows *r = NULL;
	struct ob_db_param p[1] = {ob_p_str(c->report)};
	time_t t, now = time(NULL);

	if (ob_db_query(db, "SELECT UNIX_TIMESTAMP(MAX(fire_at)) FROM schedule_fires WHERE report = ?", p, 1, &r,
			&err) < 0) {
		ob_log(OB_LOG_ERR, "schedule %s: catch-up: %s", c->report, err.msg);
		return;
	}
	/* With no fire ever recorded there is nothing this server missed. */
	if (r->nrows == 1 && ob_db_cell(r, 0, 0)) {
		t = (time_t)atoll(ob_db_cell(r, 0, 0));
		while (c->nfires < 1000 && ob_cron_next(&c->cron, t, &t) == 0 && t <= now) {
			c->fires = ob_xrealloc(c->fires, (c->nfires + 1) * sizeof(time_t));
			c->fires[c->nfires++] = t;
		}
	}
	ob_db_rows_free(r);
}

static void catch_up_done(void *arg)
{
	struct catch_up *c = arg;
	time_t now = time(NULL);

	/* Every missed fire is recorded; only the last runs, and only within the window. */
	for (size_t i = 0; i < c->nfires; i++) {
		int last = i + 1 == c->nfires;
		fire(c->srv, c->report, c->fires[i], !(last && now - c->fires[i] <= c->window));
	}
	free(c->fires);
	free(c->report);
	free(c);
}

/* At start: runs left queued (by any server: a worker runs a run only if it
 * is still queued, so two servers picking one up run it once) are queued
 * here; runs left running by a worker of this host that is gone end failed. */
struct recover {
	struct ob_server *srv;
	unsigned long long *ids;
	char **reports;
	size_t n;
};

static void recover_work(struct ob_db *db, void *arg)
{
	struct recover *rv = arg;
	struct ob_db_rows *r = NULL;
	struct ob_err err = {{0}};
	char host[256] = "";
	size_t hl;

	gethostname(host, sizeof(host) - 1);
	hl = strlen(host);
	if (ob_db_query(db, "SELECT id, report, status, runner FROM runs WHERE status IN ('queued', 'running') ORDER BY id",
			NULL, 0, &r, &err) < 0) {
		ob_log(OB_LOG_ERR, "runs: cannot look for runs left behind: %s", err.msg);
		return;
	}
	rv->ids = ob_xcalloc(r->nrows + 1, sizeof(*rv->ids));
	rv->reports = ob_xcalloc(r->nrows + 1, sizeof(char *));
	for (size_t i = 0; i < r->nrows; i++) {
		unsigned long long id = strtoull(ob_db_cell(r, i, 0), NULL, 10);
		const char *runner = ob_db_cell(r, i, 3);
		if (strcmp(ob_db_cell(r, i, 2), "queued") == 0) {
			rv->ids[rv->n] = id;
			rv->reports[rv->n++] = ob_xstrdup(ob_db_cell(r, i, 1));
		} else if (runner && strncmp(runner, host, hl) == 0 && runner[hl] == ':') {
			pid_t pid = (pid_t)atol(runner + hl + 1);
			if (pid > 0 && kill(pid, 0) < 0 && errno == ESRCH &&
			    ob_run_record_end(db, id, "failed", "its worker is gone (overblikd stopped while it ran)", &err) == 0)
				ob_log(OB_LOG_NOTICE, "run %llu: left running by worker %ld, which is gone: recorded as failed",
				       id, (long)pid);
		}
	}
	ob_db_rows_free(r);
}

static void recover_done(void *arg)
{
	struct recover *rv = arg;
	/* Each run named while they are few; past 20, one line for the rest. */
	for (size_t i = 0; i < rv->n; i++) {
		if (i < 20)
			ob_log(OB_LOG_NOTICE, "run %llu: %s was left queued: queued here", rv->ids[i], rv->reports[i]);
		ob_server_enqueue(rv->srv, rv->ids[i], rv->reports[i]);
		free(rv->reports[i]);
	}
	if (rv->n > 20)
		ob_log(OB_LOG_NOTICE, "%zu more runs left queued (runs %llu to %llu): queued here", rv->n - 20,
		       rv->ids[20], rv->ids[rv->n - 1]);
	free(rv->ids);
	free(rv->reports);
	free(rv);
}

void ob_server_recover(struct ob_server *srv)
{
	struct recover *rv = ob_xcalloc(1, sizeof(*rv));
	rv->srv = srv;
	ob_dbq_submit(srv->dbq, recover_work, recover_done, rv);
}

void ob_server_catch_up(struct ob_server *srv)
{
	for (size_t i = 0; i < srv->nsched; i++) {
		struct catch_up *c = ob_xcalloc(1, sizeof(*c));
		c->srv = srv;
		c->report = ob_xstrdup(srv->sched[i].report);
		c->cron = srv->sched[i].cron;
		c->window = srv->sched[i].catch_up;
		ob_dbq_submit(srv->dbq, catch_up_work, catch_up_done, c);
	}
}

const struct ob_sched *ob_server_sched(const struct ob_server *srv, const char *report)
{
	for (size_t i = 0; i < srv->nsched; i++)
		if (strcmp(srv->sched[i].report, report) == 0)
			return &srv->sched[i];
	return NULL;
}

static void sched_clear(struct ob_server *srv)
{
	for (size_t i = 0; i < srv->nsched; i++) {
		event_free(srv->sched[i].timer);
		free(srv->sched[i].report);
	}
	free(srv->sched);
	srv->sched = NULL;
	srv->nsched = 0;
}

/* Writes the configuration in force where the workers read it:
 * state_dir/overblikd.json, so that a file edited but not yet reloaded
 * (or broken) does not reach the runs. */
static void snapshot_config(struct ob_server *srv)
{
	char *path, *tmp;
	struct ob_err err = {{0}};

	if (srv->cfg->text == NULL) {
		free(srv->worker_config);
		srv->worker_config = NULL;
		return;
	}
	if (ob_mkdir_p(srv->cfg->state_dir) < 0) {
		ob_warn("config: cannot create %s", srv->cfg->state_dir);
		return;
	}
	path = ob_path_join(srv->cfg->state_dir, "overblikd.json");
	tmp = ob_xasprintf("%s.tmp", path);
	if (ob_write_atomic(tmp, path, srv->cfg->text, strlen(srv->cfg->text), &err) < 0) {
		ob_log(OB_LOG_WARNING, "config: %s (for the runs)", err.msg);
		free(path);
	} else {
		free(srv->worker_config);
		srv->worker_config = path;
	}
	free(tmp);
}

/* Sets the schedules of srv->cfg's reports that have a plugin. */
static void sched_set(struct ob_server *srv)
{
	struct ob_err err = {{0}};

	sched_clear(srv);
	srv->sched = ob_xcalloc(srv->cfg->nreports + 1, sizeof(*srv->sched));
	for (size_t i = 0; i < srv->cfg->nreports; i++) {
		const struct ob_config_report *r = &srv->cfg->reports[i];
		struct ob_sched *s = &srv->sched[srv->nsched];
		char when[64];
		if (r->schedule == NULL || !r->enabled || !ob_plugins_find(&srv->plugins, r->name))
			continue;
		if (ob_cron_parse(r->schedule, &s->cron, &err) < 0)
			continue; /* the config was validated: not reached */
		s->report = ob_xstrdup(r->name);
		s->catch_up = r->catch_up;
		s->srv = srv;
		s->timer = evtimer_new(srv->base, on_fire, s);
		srv->nsched++;
		arm(s);
		ob_cron_format_time(s->next, when, sizeof(when));
		ob_info("schedule %s: \"%s\", next at %s", s->report, r->schedule, when);
	}
}

/* The plugins are in (or could not be read: those in force stay): the
 * schedules follow them, and the first time missed fires are caught up. */
static void plugins_applied(struct ob_server *srv, int fresh)
{
	int first = !srv->plugins_ready;

	srv->plugins_ready = 1;
	if (fresh)
		ob_info("plugins: %zu loaded, %zu refused from %s", srv->plugins.n, srv->plugins.failures,
			srv->cfg->plugin_dir);
	else
		ob_log(OB_LOG_WARNING, "plugins: %s could not be read; %zu plugin%s read before stay%s in force",
		       srv->cfg->plugin_dir, srv->plugins.n, srv->plugins.n == 1 ? "" : "s", srv->plugins.n == 1 ? "s" : "");
	for (size_t i = 0; i < srv->plugins.n; i++) {
		free(srv->plugins.v[i].settings_error);
		srv->plugins.v[i].settings_error = NULL;
	}
	for (size_t i = 0; i < srv->cfg->nreports; i++) {
		const struct ob_config_report *r = &srv->cfg->reports[i];
		struct ob_loaded_plugin *p = (struct ob_loaded_plugin *)ob_plugins_find(&srv->plugins, r->name);
		struct ob_err err = {{0}};
		cJSON *res = NULL;
		if (p == NULL) {
			ob_log(OB_LOG_WARNING, "config %s: /reports/%s: no such plugin in %s; it will not run",
			       srv->cfg->path, r->name, srv->cfg->plugin_dir);
			continue;
		}
		/* The settings against what the plugin declares: a bad one is
		 * said now, and its runs are refused (or fail) naming it. */
		if (ob_settings_resolve_described(p->settings_spec, r->name, r->settings_json, &res, &err) < 0) {
			p->settings_error = ob_xstrdup(err.msg);
			ob_log(OB_LOG_ERR, "config %s: %s; %s cannot run until it is fixed", srv->cfg->path, err.msg, r->name);
		}
		cJSON_Delete(res);
	}
	if (!srv->stopping) {
		sched_set(srv);
		if (first)
			ob_server_catch_up(srv);
	}
	if (srv->inv_after_hup && fresh)
		ob_log(OB_LOG_NOTICE, "overblikd: SIGHUP: configuration %s and %zu plugin%s loaded", srv->cfg->path,
		       srv->plugins.n, srv->plugins.n == 1 ? "" : "s");
	else if (srv->inv_after_hup)
		ob_log(OB_LOG_WARNING, "overblikd: SIGHUP: configuration %s loaded, but not the plugins (see above): "
		       "the %zu read before stay in force", srv->cfg->path, srv->plugins.n);
	srv->inv_after_hup = 0;
}

static int inventory_begin(struct ob_server *srv);

/* The inventory is over: its plugin set replaces the one in force. */
static void inventory_done(struct ob_server *srv)
{
	struct ob_err err = {{0}};
	struct ob_plugin_set set;
	int fresh = 0;

	if (ob_inventory_finish(srv->inv, &set, &err) < 0)
		ob_log(OB_LOG_ERR, "%s%s", err.msg, srv->plugins_ready ? "; the plugins read before stay in force" : "");
	else {
		fresh = 1;
		srv->m.plugin_failures_total += set.failures;
		ob_plugins_free(&srv->plugins);
		srv->plugins = set;
	}
	srv->inv = NULL;
	if (srv->inv_again && !srv->stopping) {
		/* A SIGHUP came while it ran: this set applies now, and the
		 * directory is read again for what the SIGHUP meant. */
		int hup = srv->inv_after_hup;
		srv->inv_after_hup = 0;
		plugins_applied(srv, fresh);
		srv->inv_again = 0;
		srv->inv_after_hup = hup;
		ob_info("plugins: reading %s again, for the SIGHUP that came during the inventory", srv->cfg->plugin_dir);
		inventory_begin(srv);
		return;
	}
	plugins_applied(srv, fresh);
}

static void inventory_unwatch(struct ob_server *srv)
{
	if (srv->inv_read) {
		event_free(srv->inv_read);
		srv->inv_read = NULL;
	}
}

static void on_inventory_read(evutil_socket_t fd, short what, void *arg);

/* Watches the round under way: its pipe, and its timer from now. */
static void inventory_watch(struct ob_server *srv)
{
	struct timeval tv = {OB_INVENTORY_TIMEOUT, 0};

	inventory_unwatch(srv);
	if (ob_inventory_fd(srv->inv) >= 0) {
		srv->inv_read = event_new(srv->base, ob_inventory_fd(srv->inv), EV_READ | EV_PERSIST, on_inventory_read, srv);
		event_add(srv->inv_read, NULL);
	}
	evtimer_add(srv->inv_timer, &tv);
}

/* The round's process ended (SIGCHLD) or hangs (timed_out). */
static void inventory_step(struct ob_server *srv, int timed_out)
{
	if (!timed_out && ob_inventory_pid(srv->inv) > 0) {
		siginfo_t si;
		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, (id_t)ob_inventory_pid(srv->inv), &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
		    si.si_pid == 0)
			return; /* still at work: keep watching */
	}
	inventory_unwatch(srv); /* before poll closes its pipe */
	if (ob_inventory_poll(srv->inv, timed_out) == 1) {
		evtimer_del(srv->inv_timer);
		inventory_done(srv);
	} else
		inventory_watch(srv); /* the next round, without the file that ended this one */
}

static void on_inventory_read(evutil_socket_t fd, short what, void *arg)
{
	struct ob_server *srv = arg;
	int r = ob_inventory_read(srv->inv);
	struct timeval tv = {OB_INVENTORY_TIMEOUT, 0};

	if (r == 1)
		evtimer_add(srv->inv_timer, &tv); /* progress: the next file has its full time */
	else if (r < 0)
		inventory_unwatch(srv); /* the end: SIGCHLD finishes the round */
}

static void on_inventory_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct ob_server *srv = arg;
	if (srv->inv)
		inventory_step(srv, 1);
}

void ob_server_stop_inventory(struct ob_server *srv)
{
	inventory_unwatch(srv);
	if (srv->inv_timer) {
		event_free(srv->inv_timer);
		srv->inv_timer = NULL;
	}
	ob_inventory_cancel(srv->inv);
	srv->inv = NULL;
}

int ob_server_configure(struct ob_server *srv, int after_hup)
{
	snapshot_config(srv);
	if (srv->inv_timer == NULL)
		srv->inv_timer = evtimer_new(srv->base, on_inventory_timeout, srv);
	srv->inv_after_hup |= after_hup;
	if (srv->inv && strcmp(ob_inventory_dir(srv->inv), srv->cfg->plugin_dir) == 0) {
		/* Dropping it would start over at every SIGHUP: with one
		 * every < OB_INVENTORY_TIMEOUT s and a plugin that hangs, no
		 * inventory would ever end. It ends, applies, and the
		 * directory is read once more after it. */
		if (!srv->inv_again)
			ob_log(OB_LOG_NOTICE, "plugins: an inventory of %s is under way: it finishes first, then the "
			       "plugins are read again for this SIGHUP", srv->cfg->plugin_dir);
		srv->inv_again = 1;
		return 0;
	}
	if (srv->inv) {
		ob_log(OB_LOG_NOTICE, "plugins: the inventory of %s under way is dropped: the new configuration's "
		       "plugin_dir is %s", ob_inventory_dir(srv->inv), srv->cfg->plugin_dir);
		inventory_unwatch(srv);
		ob_inventory_cancel(srv->inv);
		srv->inv = NULL;
		srv->inv_again = 0;
	}
	return inventory_begin(srv);
}

static int inventory_begin(struct ob_server *srv)
{
	struct ob_err err = {{0}};

	/* In a process of its own, watched by the loop: a plugin that
	 * crashes, exits or hangs while it loads is refused, not fatal, and
	 * requests are answered meanwhile (the old plugins serve until then). */
	srv->inv = ob_inventory_start(srv->self_exe, srv->cfg->plugin_dir, &err);
	if (srv->inv == NULL) {
		ob_log(OB_LOG_ERR, "%s%s", err.msg, srv->plugins_ready ? "; the plugins read before stay in force" : "");
		plugins_applied(srv, 0);
		return -1;
	}
	inventory_watch(srv);
	return 0;
}

static void config_release(void *arg)
{
	ob_config_free(arg);
}

void ob_server_set_config(struct ob_server *srv, struct ob_config *cfg)
{
	struct ob_config *old = srv->cfg;

	__atomic_store_n(&srv->cfg, cfg, __ATOMIC_RELEASE);
	/* Jobs queued before may have taken the old pointer (an outbox retry
	 * reads mail.max_age): it is freed after them, in queue order. */
	if (srv->dbq)
		ob_dbq_submit(srv->dbq, NULL, config_release, old);
	else
		ob_config_free(old);
}

/* ---- health ---- */

struct health {
	struct ob_server *srv;
	int ok;
	char error[1024];
};

static void health_work(struct ob_db *db, void *arg)
{
	struct health *h = arg;
	struct ob_err err = {{0}};
	struct ob_db_rows *r = NULL;
	char *in;
	h->ok = ob_db_query(db, "SELECT 1", NULL, 0, &r, &err) == 0;
	if ((in = strstr(err.msg, " (in: ")) != NULL) /* /healthz shows it: no SQL */
		*in = '\0';
	snprintf(h->error, sizeof(h->error), "%s", h->ok ? "" : err.msg);
	ob_db_rows_free(r);
}

static void health_done(void *arg)
{
	struct health *h = arg;
	if (h->ok != h->srv->db_ok)
		ob_log(h->ok ? OB_LOG_NOTICE : OB_LOG_ERR, "health: database %s%s%s", h->ok ? "reachable again" : "check failed",
		       h->ok ? "" : ": ", h->error);
	h->srv->db_ok = h->ok;
	h->srv->db_checked = time(NULL);
	h->srv->health_pending = 0;
	free(h);
}

struct db_state {
	struct ob_server *srv;
	int up;
	char why[1024];
};

static void db_state_done(void *arg)
{
	struct db_state *d = arg;
	struct ob_server *srv = d->srv;

	if (d->up != srv->db_ok || !d->up)
		ob_log(d->up ? OB_LOG_NOTICE : OB_LOG_ERR, "health: database %s%s%s", d->up ? "reachable again" : "down",
		       d->up ? "" : ": ", d->why);
	srv->db_ok = d->up;
	srv->db_checked = time(NULL);
	free(d);
}

void ob_server_db_watch(void *arg, int up, const char *why)
{
	struct ob_server *srv = arg;
	struct db_state *d = ob_xcalloc(1, sizeof(*d));

	d->srv = srv;
	d->up = up;
	snprintf(d->why, sizeof(d->why), "%s", why ? why : "");
	ob_dbq_post(srv->dbq, db_state_done, d);
}

const char *ob_server_db_problem(const struct ob_server *srv, int db_ok)
{
	/* Not the database's error: it may hold SQL, and /healthz needs no token. */
	if (db_ok)
		return NULL;
	return srv->db_ok ? "the last database check is over 30 s old (stuck?)"
			  : "the database cannot be reached; the server log has the details";
}

const char *ob_server_health(const struct ob_server *srv, int db_ok, const char **reason)
{
	*reason = NULL;
	if (srv->stopping)
		return "stopping";
	if (!db_ok) {
		*reason = ob_server_db_problem(srv, db_ok);
		return "degraded";
	}
	if (!srv->plugins_ready) {
		*reason = "the plugins are being read (see the log)";
		return "starting";
	}
	return "ok";
}

void ob_server_check_db(struct ob_server *srv)
{
	struct health *h;
	if (srv->health_pending) /* one at a time: a stuck database must not grow a queue */
		return;
	h = ob_xcalloc(1, sizeof(*h));
	h->srv = srv;
	srv->health_pending = 1;
	ob_dbq_submit(srv->dbq, health_work, health_done, h);
}

/* ---- shutdown ---- */

static void on_grace(evutil_socket_t fd, short what, void *arg)
{
	struct ob_server *srv = arg;
	ob_mailer_kill(srv);
	for (struct ob_job *j = srv->jobs; j; j = j->next)
		if (j->pid > 0) {
			ob_log(OB_LOG_WARNING, "run %llu: %s still running after the grace period of %d s: killing it",
			       j->id, j->report, srv->cfg->grace_period);
			j->stopped = 1;
			if (kill(-j->pid, SIGKILL) < 0)
				kill(j->pid, SIGKILL);
		}
}

/* A server fails only the runs its own workers claimed (status running,
 * runner this host:pid, recorded when they end or at the grace period).
 * A run it has not started is not its to fail: the queue is shared by
 * every overblikd on the database (start-up recovery queues each run left
 * queued, on any server, and a worker runs a run only while it is still
 * queued, so it runs once). A second server stopping must not fail the
 * first one's queue, and a run accepted with 202 is not failed because the
 * server that took it stops: whatever has not started stays queued, for
 * the servers running now that hold it and for the next start. */
void ob_server_abandon(struct ob_server *srv, unsigned long long id)
{
	(void)srv;
	ob_log(OB_LOG_NOTICE, "run %llu: created while overblikd stops: left queued for the next start", id);
}

void ob_server_shutdown(struct ob_server *srv)
{
	struct timeval tv = {srv->cfg->grace_period, 0};
	struct ob_job **p = &srv->jobs;
	size_t left = 0;

	if (srv->stopping)
		return;
	srv->stopping = 1;
	sched_clear(srv);
	if (srv->health_timer)
		event_del(srv->health_timer);
	ob_http_stop(srv);
	/* Runs that have not started stay queued in the database (see
	 * ob_server_abandon): another server that holds them, or the next
	 * start's recovery, runs them. Only this server's queue is dropped. */
	while (*p) {
		struct ob_job *j = *p;
		if (j->pid == 0) {
			ob_debug("run %llu: %s had not started at shutdown: left queued", j->id, j->report);
			*p = j->next;
			left++;
			job_free(j);
		} else
			p = &j->next;
	}
	if (left)
		ob_log(OB_LOG_NOTICE, "overblikd: %zu run%s that had not started stay%s queued in the database for a "
		       "server that runs (or the next start) to run", left, left == 1 ? "" : "s", left == 1 ? "s" : "");
	ob_mailer_stop(srv);
	if (srv->nrunning == 0 && srv->mail_pid == 0) {
		event_base_loopbreak(srv->base);
		return;
	}
	ob_log(OB_LOG_NOTICE, "overblikd: waiting up to %d s for %d running run%s%s", srv->cfg->grace_period,
	       srv->nrunning, srv->nrunning == 1 ? "" : "s", srv->mail_pid ? " and the mail delivery" : "");
	srv->grace_timer = evtimer_new(srv->base, on_grace, srv);
	evtimer_add(srv->grace_timer, &tv);
}
