/* server.c - overblikd's work: the run queue, the worker processes that run
 * reports (each a process of its own, forked by the worker host,
 * worker_host.c, or else a fresh exec of overblikd --run-worker, so a plugin
 * that crashes or hangs fails only its own run), the plugin inventory, the
 * health checks, the metrics, the signals; and the parts it owns (sched.c,
 * mailer.c, http_admin.c, dbq.c), each handed the hooks it needs. Everything
 * here runs on the loop; SQL goes through the database thread (dbq.c). */
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conf.h"
#include "db.h"
#include "db_server.h"
#include "dbq.h"
#include "http_admin.h"
#include "log.h"
#include "mailer.h"
#include "plugin.h"
#include "run.h"
#include "run_worker.h"
#include "scheduler.h"
#include "server.h"
#include "spawn.h"
#include "util.h"
#include "worker_host.h"

struct ob_job {
	unsigned long long id;
	char *report;
	int timeout;
	struct ob_run_worker w; /* its worker: w.pid 0 while queued (run_worker.h) */
	char *state_dir;      /* of the configuration it started under: its files */
	struct event *timer;
	struct ob_server *srv;
	struct ob_job *next;
	/* how it ended, filled in on the database thread */
	char *status;
	double seconds;
};

#define OB_DURATION_BUCKETS 11
static const double ob_duration_bounds[OB_DURATION_BUCKETS] = {0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600};

struct ob_metrics {
	struct ob_metric_report {
		char *report;
		unsigned long counts[OB_RS_N];
	} *reports;
	size_t nreports;
	unsigned long buckets[OB_DURATION_BUCKETS]; /* cumulative in the output, not here */
	double duration_sum;
	unsigned long duration_count;
	unsigned long plugin_failures_total;
};

struct ob_server {
	struct event_base *base;
	struct ob_config *cfg;
	char *config_path;
	int explicit_path;
	char *self_exe;
	char *worker_config;          /* the configuration in force, as the workers read it */
	char runner[300];             /* host:pid, for claims and the runs' workers */
	struct ob_plugin_set plugins;
	struct ob_inventory *inv;     /* the plugin inventory under way, or NULL */
	struct event *inv_read;       /* its pipe */
	struct event *inv_timer;      /* no line for OB_INVENTORY_TIMEOUT s: the plugin loading hangs */
	int plugins_ready;            /* the first inventory is done */
	int inv_after_hup;            /* the inventory under way is a SIGHUP's */
	int inv_again;                /* a SIGHUP came during it: read the plugins again after it */
	struct ob_job *jobs;          /* queued and running, in the order queued */
	int nrunning;
	struct ob_metrics m;
	int stopping;
	struct event *grace_timer;
	struct event *health_timer;
	struct event *signals[4];     /* SIGTERM, SIGINT, SIGHUP, SIGCHLD */
	int db_ok;
	int health_pending;
	time_t db_checked;
	/* its parts */
	struct ob_dbq *dbq;
	struct ob_scheduler *sched;
	struct ob_mailer *mailer;
	struct ob_http *http;         /* NULL when the endpoint is off */
	struct ob_worker_host *whost; /* forks the runs' workers (worker_host.h), or NULL: exec them */
	struct event *whost_read;     /* its socket */
};

static void ob_server_enqueue(struct ob_server *srv, unsigned long long id, const char *report);
static void ob_server_abandon(struct ob_server *srv, unsigned long long id);
static void ob_server_maybe_exit(struct ob_server *srv);

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

static int ob_server_queued(const struct ob_server *srv)
{
	int n = 0;
	for (const struct ob_job *j = srv->jobs; j; j = j->next)
		n += j->w.pid == 0;
	return n;
}

static int report_running(const struct ob_server *srv, const char *report)
{
	for (const struct ob_job *j = srv->jobs; j; j = j->next)
		if (j->w.pid != 0 && strcmp(j->report, report) == 0)
			return 1;
	return 0;
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct ob_job *j = arg;
	if (j->w.pid > 0) {
		ob_log(OB_LOG_WARNING, "run %llu: %s passed its timeout of %d s: killing it", j->id, j->report,
		       j->timeout);
		ob_run_worker_timeout(&j->w);
	}
}

static void try_start(struct ob_server *srv);

/* "overblikd -c CONFIG MODE ARG" (the delivery process): its pid, or -1. */
static pid_t ob_server_spawn(struct ob_server *srv, const char *mode, const char *arg, int fail_code)
{
	/* Nothing of ours but the configuration in force (not the file,
	 * which may have changed). */
	char *argv[] = {srv->self_exe, "-c", srv->worker_config ? srv->worker_config : (char *)srv->config_path,
			(char *)mode, (char *)arg, NULL};
	struct ob_spawn sp = {.argv = argv, .out_fd = -1, .err_fd = -1, .fail_code = fail_code, .die_with_parent = 1};
	struct ob_err err = {{0}};
	pid_t pid = ob_spawn_start(&sp, &err);

	if (pid < 0)
		ob_log(OB_LOG_ERR, "overblikd: %s %s", mode, err.msg);
	return pid;
}

static void ob_server_reap(struct ob_server *srv);

static void on_whost(evutil_socket_t fd, short what, void *arg)
{
	struct ob_server *srv = arg;

	ob_worker_host_poll(srv->whost);
	ob_server_reap(srv);
}

/* The worker host, started if there is none (or the last is gone and no
 * job waits for word of its workers); NULL when it cannot be. */
static struct ob_worker_host *whost(struct ob_server *srv)
{
	struct ob_err err = {{0}};

	if (srv->whost && !ob_worker_host_dead(srv->whost))
		return srv->whost;
	if (srv->whost) {
		for (struct ob_job *j = srv->jobs; j; j = j->next)
			if (j->w.pid > 0 && j->w.host == srv->whost)
				return NULL; /* its workers are reaped first */
		event_free(srv->whost_read);
		srv->whost_read = NULL;
		ob_worker_host_stop(srv->whost);
		srv->whost = NULL;
	}
	srv->whost = ob_worker_host_start(srv->self_exe, &err);
	if (srv->whost == NULL) {
		ob_log(OB_LOG_WARNING, "overblikd: no worker host (%s): each run's worker is executed afresh", err.msg);
		return NULL;
	}
	srv->whost_read = event_new(srv->base, ob_worker_host_fd(srv->whost), EV_READ | EV_PERSIST, on_whost, srv);
	event_add(srv->whost_read, NULL);
	ob_debug("overblikd: worker host started (pid %ld)", (long)ob_worker_host_pid(srv->whost));
	return srv->whost;
}

static void start_job(struct ob_server *srv, struct ob_job *j)
{
	struct ob_err err = {{0}};
	const char *config = srv->worker_config ? srv->worker_config : srv->config_path;
	struct ob_worker_host *h = whost(srv);

	j->w.id = j->id;
	j->w.timeout = j->timeout;
	if (h && ob_run_worker_start_host(&j->w, h, config, 0, &err) < 0) {
		ob_log(OB_LOG_WARNING, "run %llu: %s: executing its worker instead", j->id, err.msg);
		h = NULL;
	}
	if (h == NULL && ob_run_worker_start(&j->w, srv->self_exe, config, 0, &err) < 0) {
		ob_log(OB_LOG_ERR, "run %llu: %s", j->id, err.msg);
		return;
	}
	j->timer = evtimer_new(srv->base, on_timeout, j);
	struct timeval tv = {j->timeout, 0};
	evtimer_add(j->timer, &tv);
	srv->nrunning++;
	ob_info("run %llu: %s started (pid %ld, timeout %d s)", j->id, j->report, (long)j->w.pid, j->timeout);
}

static void try_start(struct ob_server *srv)
{
	for (struct ob_job *j = srv->jobs; j && srv->nrunning < srv->cfg->max_runs && !srv->stopping; j = j->next)
		if (j->w.pid == 0 && !report_running(srv, j->report))
			start_job(srv, j);
}

static void ob_server_enqueue(struct ob_server *srv, unsigned long long id, const char *report)
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
	char *error = NULL;

	j->status = ob_run_worker_finish(db, &j->w, j->state_dir, &error);
	if (error)
		ob_log(strcmp(j->status, "succeeded") == 0 ? OB_LOG_INFO : OB_LOG_WARNING, "run %llu: %s: %s", j->id,
		       j->status, error);
	free(error);
}

static void mail_look(struct ob_server *srv)
{
	if (srv->mailer)
		ob_mailer_look(srv->mailer);
}

static void finish_done(void *arg)
{
	struct ob_job *j = arg;
	struct ob_server *srv = j->srv;

	if (strcmp(j->status, "queued") != 0 && strcmp(j->status, "running") != 0)
		metric_finished(&srv->m, j->report, j->status, j->seconds);
	ob_info("run %llu: %s %s in %.2f s", j->id, j->report, j->status, j->seconds);
	if (strcmp(j->status, "succeeded") == 0)
		mail_look(srv); /* its mail, if any, goes now */
	job_free(j);
	try_start(srv);
}

static void ob_server_maybe_exit(struct ob_server *srv)
{
	if (srv->stopping && srv->nrunning == 0 && !ob_mailer_busy(srv->mailer) && ob_dbq_pending(srv->dbq) == 0)
		event_base_loopbreak(srv->base);
}

static void inventory_step(struct ob_server *srv, int timed_out);

static void ob_server_reap(struct ob_server *srv)
{
	/* Only our workers, the managed mariadbd (through db_server.c, which
	 * the thread waiting for it shares) and the plugin inventory:
	 * waitpid(-1) would also take the database thread's helpers, which wait
	 * for their own. */
	ob_dbserver_reap();
	if (srv->inv)
		inventory_step(srv, 0);
	for (struct ob_job **p = &srv->jobs; *p;) {
		struct ob_job *j = *p;
		if (!ob_run_worker_reap(&j->w, 0)) {
			p = &j->next;
			continue;
		}
		*p = j->next;
		srv->nrunning--;
		j->seconds = ob_run_worker_seconds(&j->w);
		if (j->timer) {
			event_free(j->timer);
			j->timer = NULL;
		}
		ob_dbq_submit(srv->dbq, finish_work, finish_done, j);
	}
	if (srv->mailer)
		ob_mailer_reap(srv->mailer);
	try_start(srv);
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

static void ob_server_recover(struct ob_server *srv)
{
	struct recover *rv = ob_xcalloc(1, sizeof(*rv));
	rv->srv = srv;
	ob_dbq_submit(srv->dbq, recover_work, recover_done, rv);
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
		ob_sched_set(srv->sched, srv->cfg, &srv->plugins);
		if (first)
			ob_sched_catch_up(srv->sched);
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

static void ob_server_stop_inventory(struct ob_server *srv)
{
	inventory_unwatch(srv);
	if (srv->inv_timer) {
		event_free(srv->inv_timer);
		srv->inv_timer = NULL;
	}
	ob_inventory_cancel(srv->inv);
	srv->inv = NULL;
}

static int ob_server_configure(struct ob_server *srv, int after_hup)
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

static void ob_server_set_config(struct ob_server *srv, struct ob_config *cfg)
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

static void ob_server_db_watch(void *arg, int up, const char *why)
{
	struct ob_server *srv = arg;
	struct db_state *d = ob_xcalloc(1, sizeof(*d));

	d->srv = srv;
	d->up = up;
	snprintf(d->why, sizeof(d->why), "%s", why ? why : "");
	ob_dbq_post(srv->dbq, db_state_done, d);
}

static const char *ob_server_db_problem(const struct ob_server *srv, int db_ok)
{
	/* Not the database's error: it may hold SQL, and /healthz needs no token. */
	if (db_ok)
		return NULL;
	return srv->db_ok ? "the last database check is over 30 s old (stuck?)"
			  : "the database cannot be reached; the server log has the details";
}

static const char *ob_server_health(const struct ob_server *srv, int db_ok, const char **reason)
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

static void ob_server_check_db(struct ob_server *srv)
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
	if (srv->mailer)
		ob_mailer_kill(srv->mailer);
	for (struct ob_job *j = srv->jobs; j; j = j->next)
		if (j->w.pid > 0) {
			ob_log(OB_LOG_WARNING, "run %llu: %s still running after the grace period of %d s: killing it",
			       j->id, j->report, srv->cfg->grace_period);
			ob_run_worker_stop(&j->w, "killed at shutdown: overblikd's grace period for running runs ended");
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
static void ob_server_abandon(struct ob_server *srv, unsigned long long id)
{
	(void)srv;
	ob_log(OB_LOG_NOTICE, "run %llu: created while overblikd stops: left queued for the next start", id);
}

static void ob_server_shutdown(struct ob_server *srv)
{
	struct timeval tv = {srv->cfg->grace_period, 0};
	struct ob_job **p = &srv->jobs;
	size_t left = 0;

	if (srv->stopping)
		return;
	srv->stopping = 1;
	ob_sched_clear(srv->sched);
	if (srv->health_timer)
		event_del(srv->health_timer);
	ob_http_stop(srv->http);
	/* Runs that have not started stay queued in the database (see
	 * ob_server_abandon): another server that holds them, or the next
	 * start's recovery, runs them. Only this server's queue is dropped. */
	while (*p) {
		struct ob_job *j = *p;
		if (j->w.pid == 0) {
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
	if (srv->mailer)
		ob_mailer_stop(srv->mailer);
	if (srv->nrunning == 0 && !ob_mailer_busy(srv->mailer)) {
		event_base_loopbreak(srv->base);
		return;
	}
	ob_log(OB_LOG_NOTICE, "overblikd: waiting up to %d s for %d running run%s%s", srv->cfg->grace_period,
	       srv->nrunning, srv->nrunning == 1 ? "" : "s", ob_mailer_busy(srv->mailer) ? " and the mail delivery" : "");
	srv->grace_timer = evtimer_new(srv->base, on_grace, srv);
	evtimer_add(srv->grace_timer, &tv);
}

/* ---- metrics ---- */

/* s as a Prometheus label value: \\, \" and \n escaped as the format
 * wants, other control characters and bytes that are not UTF-8 written as
 * the text \\xHH (the format takes only UTF-8). */
static void label_value(struct ob_buf *b, const char *s)
{
	for (size_t i = 0; s && s[i];) {
		unsigned char c = (unsigned char)s[i];
		size_t n = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
		if (c == '"' || c == '\\')
			ob_buf_printf(b, "\\%c", c);
		else if (c == '\n')
			ob_buf_adds(b, "\\n");
		else if (c < 0x20 || c == 0x7F || (c >= 0x80 && (strnlen(s + i, n) < n || ob_utf8_check(s + i, n, NULL) < 0))) {
			ob_buf_printf(b, "\\\\x%02X", c);
			n = 1;
		} else
			ob_buf_add(b, s + i, n);
		i += n;
	}
}

/* The runs' figures: counts by report and status, the duration histogram. */
static void metrics_runs(const struct ob_server *srv, struct ob_buf *b)
{
	unsigned long cum = 0;

	ob_buf_adds(b, "# HELP overblik_runs_total Runs that ended, by report and status, since start.\n"
		       "# TYPE overblik_runs_total counter\n");
	for (size_t i = 0; i < srv->m.nreports; i++)
		for (int s = OB_RS_SUCCEEDED; s < OB_RS_N; s++) {
			ob_buf_adds(b, "overblik_runs_total{report=\"");
			label_value(b, srv->m.reports[i].report);
			ob_buf_printf(b, "\",status=\"%s\"} %lu\n", ob_run_status_names[s], srv->m.reports[i].counts[s]);
		}
	ob_buf_adds(b, "# HELP overblik_run_duration_seconds How long runs took.\n"
		       "# TYPE overblik_run_duration_seconds histogram\n");
	for (int k = 0; k < OB_DURATION_BUCKETS; k++) {
		cum += srv->m.buckets[k];
		ob_buf_printf(b, "overblik_run_duration_seconds_bucket{le=\"%g\"} %lu\n", ob_duration_bounds[k], cum);
	}
	ob_buf_printf(b,
		      "overblik_run_duration_seconds_bucket{le=\"+Inf\"} %lu\n"
		      "overblik_run_duration_seconds_sum %.3f\n"
		      "overblik_run_duration_seconds_count %lu\n",
		      srv->m.duration_count, srv->m.duration_sum, srv->m.duration_count);
}

/* /metrics: the runs, the queue, the plugins, the outbox (the mailer's), the database. */
static void metrics_write(const struct ob_server *srv, struct ob_buf *b)
{
	int running = 0;

	for (const struct ob_job *j = srv->jobs; j; j = j->next)
		running += j->w.pid != 0;
	metrics_runs(srv, b);
	ob_buf_printf(b,
		      "# HELP overblik_runs_queued Runs waiting for a free slot.\n# TYPE overblik_runs_queued gauge\n"
		      "overblik_runs_queued %d\n"
		      "# HELP overblik_runs_running Runs in progress.\n# TYPE overblik_runs_running gauge\n"
		      "overblik_runs_running %d\n"
		      "# HELP overblik_plugins_loaded Plugins loaded.\n# TYPE overblik_plugins_loaded gauge\n"
		      "overblik_plugins_loaded %zu\n"
		      "# HELP overblik_plugin_load_failures Plugin files refused at the last load.\n"
		      "# TYPE overblik_plugin_load_failures gauge\noverblik_plugin_load_failures %zu\n"
		      "# HELP overblik_plugin_load_failures_total Plugin files refused since start.\n"
		      "# TYPE overblik_plugin_load_failures_total counter\noverblik_plugin_load_failures_total %lu\n"
		      "# HELP overblik_plugin_refused A plugin file refused at the last load, and why.\n"
		      "# TYPE overblik_plugin_refused gauge\n",
		      ob_server_queued(srv), running, srv->plugins.n, srv->plugins.failures, srv->m.plugin_failures_total);
	for (size_t i = 0; i < srv->plugins.failures; i++) {
		ob_buf_adds(b, "overblik_plugin_refused{file=\"");
		label_value(b, srv->plugins.refused[i]);
		ob_buf_adds(b, "\",reason=\"");
		label_value(b, srv->plugins.reasons[i]);
		ob_buf_adds(b, "\"} 1\n");
	}
	if (srv->mailer)
		ob_mailer_metrics(srv->mailer, b);
	ob_buf_printf(b,
		      "# HELP overblik_database_up Whether the last database check succeeded.\n"
		      "# TYPE overblik_database_up gauge\noverblik_database_up %d\n",
		      srv->db_ok);
}

/* ---- the hooks the parts are handed (ctx is the server) ---- */

static const struct ob_config *host_config(void *ctx)
{
	const struct ob_server *srv = ctx;
	return srv->cfg;
}

static const struct ob_plugin_set *host_plugins(void *ctx)
{
	const struct ob_server *srv = ctx;
	return &srv->plugins;
}

static const struct ob_cron *host_schedule(void *ctx, const char *report)
{
	const struct ob_server *srv = ctx;
	return ob_sched_cron(srv->sched, report);
}

static int host_stopping(void *ctx)
{
	const struct ob_server *srv = ctx;
	return srv->stopping;
}

/* A database check older than three intervals counts as failed: a stuck
 * database must not look healthy. */
static void host_health(void *ctx, struct ob_health *h)
{
	const struct ob_server *srv = ctx;

	h->db_ok = srv->db_ok && (srv->db_checked == 0 || time(NULL) - srv->db_checked <= 30);
	h->db_checked = srv->db_checked;
	h->status = ob_server_health(srv, h->db_ok, &h->reason);
	h->db_error = ob_server_db_problem(srv, h->db_ok);
	h->running = srv->nrunning;
	h->queued = ob_server_queued(srv);
	h->stopping = srv->stopping;
}

static void host_metrics(void *ctx, struct ob_buf *b)
{
	metrics_write(ctx, b);
}

/* Runs made (by a fire, by a request): queued here, or left queued in the
 * database for the next start while the server stops. */
static void host_runs_made(void *ctx, const char *report, const unsigned long long *ids, size_t n)
{
	struct ob_server *srv = ctx;

	for (size_t i = 0; i < n; i++)
		if (srv->stopping)
			ob_server_abandon(srv, ids[i]);
		else
			ob_server_enqueue(srv, ids[i], report);
}

static void host_outbox_changed(void *ctx)
{
	mail_look(ctx);
}

static pid_t host_spawn(void *ctx, const char *mode, const char *arg, int fail_code)
{
	return ob_server_spawn(ctx, mode, arg, fail_code);
}

static void host_idle(void *ctx)
{
	ob_server_maybe_exit(ctx);
}

/* ---- SIGHUP: the configuration again ---- */

/* At start a missing state_dir is made; on a reload it is a mistake (a
 * typo would move the runs, the outbox and the managed database somewhere
 * new): refused. NULL when it is usable, else why not. */
static const char *reload_state_dir_problem(const struct ob_config *cfg)
{
	struct stat st;

	if (stat(cfg->state_dir, &st) < 0)
		return strerror(errno);
	if (!S_ISDIR(st.st_mode))
		return "not a directory";
	if (access(cfg->state_dir, W_OK | X_OK) < 0)
		return "not writable for this user";
	return NULL;
}

/* A setting that takes a restart: the value in force stays (logged). 1
 * when it had changed. */
static int keep_in_force(char **val, const char *old, const char *key, const char *still)
{
	if (strcmp(*val, old) == 0)
		return 0;
	ob_log(OB_LOG_WARNING, "overblikd: SIGHUP: /%s changed to %s; that takes a restart, %s %s", key, *val, still, old);
	free(*val);
	*val = ob_xstrdup(old);
	return 1;
}

/* What takes a restart keeps the value in force: the listening address,
 * and the time zone (TZ is the process's: changing it under the database
 * and mail threads' feet is not safe, setenv races getenv). */
static void reload_keep_restart_only(const struct ob_config *old, struct ob_config *cfg)
{
	keep_in_force(&cfg->http_listen, old->http_listen, "http/listen", "still listening on");
	if (keep_in_force(&cfg->timezone, old->timezone, "timezone", "still using")) {
		/* The workers read the configuration's text: the zone in force there too. */
		cJSON *root = cfg->text ? cJSON_Parse(cfg->text) : NULL;
		if (root) {
			char *text;
			cJSON_DeleteItemFromObjectCaseSensitive(root, "timezone");
			cJSON_AddStringToObject(root, "timezone", cfg->timezone);
			text = cJSON_Print(root);
			free(cfg->text);
			cfg->text = ob_xstrdup(text);
			cJSON_free(text);
			cJSON_Delete(root);
		}
	}
}

static void reload(struct ob_server *srv)
{
	struct ob_config *cfg = NULL;
	struct ob_err err = {{0}};
	const char *why;

	if (ob_config_load(srv->config_path, srv->explicit_path, &cfg, &err) < 0) {
		ob_log(OB_LOG_ERR, "overblikd: SIGHUP: the new configuration is refused, the old one stays: %s", err.msg);
		return;
	}
	if ((why = reload_state_dir_problem(cfg)) != NULL) {
		ob_log(OB_LOG_ERR,
		       "overblikd: SIGHUP: the new configuration is refused, the old one stays: config %s: "
		       "/state_dir: %s: %s (a running server does not create it: make it, then send SIGHUP again)",
		       cfg->path, cfg->state_dir, why);
		ob_config_free(cfg);
		return;
	}
	reload_keep_restart_only(srv->cfg, cfg);
	ob_server_set_config(srv, cfg); /* the old one lives until the database jobs queued before are done */
	ob_log_threshold = ob_log_level_parse(cfg->log_level);
	/* The plugins are read off the loop; the reload is logged when they are in. */
	ob_server_configure(srv, 1);
	mail_look(srv); /* a new SMTP server or address may let waiting mail go */
}

/* ---- the loop's events ---- */

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct ob_server *srv = arg;

	if (sig == SIGHUP)
		reload(srv);
	else if (sig == SIGCHLD)
		ob_server_reap(srv);
	else {
		ob_log(OB_LOG_NOTICE, "overblikd: %s received: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
		ob_server_shutdown(srv);
	}
}

static void on_dbq_idle(void *arg)
{
	ob_server_maybe_exit(arg);
}

static void on_health(evutil_socket_t fd, short what, void *arg)
{
	ob_server_check_db(arg);
}

/* ---- the server's life ---- */

struct ob_server *ob_server_new(const char *config_path, int explicit_path, struct ob_config *cfg,
				 const char *self_exe)
{
	struct ob_server *srv = ob_xcalloc(1, sizeof(*srv));
	char host[256] = "";

	srv->config_path = ob_xstrdup(config_path);
	srv->explicit_path = explicit_path;
	srv->cfg = cfg;
	srv->self_exe = ob_xstrdup(self_exe);
	gethostname(host, sizeof(host) - 1);
	snprintf(srv->runner, sizeof(srv->runner), "%s:%ld", host, (long)getpid());
	return srv;
}

/* The loop, and the database thread on db. */
static void start_loop(struct ob_server *srv, struct ob_db *db)
{
	static const int sigs[4] = {SIGTERM, SIGINT, SIGHUP, SIGCHLD};
	/* Batch the loop's epoll changes: evhttp turns reading and writing
	 * off and on around every request. */
	struct event_config *ec = event_config_new();

	event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	srv->base = event_base_new_with_config(ec);
	event_config_free(ec);
	if (srv->base == NULL)
		ob_fatalx("overblikd: cannot create the event loop");
	/* A connection found lost shows on /healthz at once, not after the
	 * managed server was started again. */
	ob_db_set_watch(db, ob_server_db_watch, srv);
	srv->dbq = ob_dbq_start(srv->base, db);
	if (srv->dbq == NULL)
		ob_fatalx("overblikd: cannot start the database thread");
	srv->db_ok = 1;
	ob_dbq_on_idle(srv->dbq, on_dbq_idle, srv);
	signal(SIGPIPE, SIG_IGN);
	for (int i = 0; i < 4; i++) {
		srv->signals[i] = evsignal_new(srv->base, sigs[i], on_signal, srv);
		evsignal_add(srv->signals[i], NULL);
	}
}

int ob_server_start(struct ob_server *srv, struct ob_db *db, struct ob_err *err)
{
	struct timeval every = {10, 0};
	char *db_address = ob_xstrdup(ob_db_address(db)); /* db is the database thread's from here on */
	struct ob_sched_host sh;
	struct ob_http_host hh;
	struct ob_mailer_host mh;

	start_loop(srv, db);
	sh = (struct ob_sched_host){.base = srv->base, .dbq = srv->dbq, .runner = srv->runner, .ctx = srv,
				    .stopping = host_stopping, .runs_made = host_runs_made, .config = host_config,
				    .outbox_changed = host_outbox_changed};
	hh = (struct ob_http_host){.base = srv->base, .dbq = srv->dbq, .ctx = srv, .config = host_config,
				   .plugins = host_plugins, .schedule = host_schedule, .stopping = host_stopping,
				   .health = host_health, .metrics = host_metrics, .runs_made = host_runs_made,
				   .outbox_changed = host_outbox_changed};
	mh = (struct ob_mailer_host){.base = srv->base, .dbq = srv->dbq, .ctx = srv, .config = host_config,
				     .spawn = host_spawn, .idle = host_idle};
	srv->sched = ob_sched_new(&sh);
	ob_server_configure(srv, 0); /* the plugins come in off the loop; then the schedules and their catch-up */
	if (ob_http_start(&hh, &srv->http, err) < 0) {
		free(db_address);
		return -1;
	}
	srv->health_timer = event_new(srv->base, -1, EV_PERSIST, on_health, srv);
	evtimer_add(srv->health_timer, &every);
	ob_server_check_db(srv);
	ob_server_recover(srv);
	srv->mailer = ob_mailer_new(&mh);
	whost(srv); /* ready before the first run */
	ob_log(OB_LOG_NOTICE, "overblikd %s: serving (database at %s, schema version %d; the plugins are being read)",
	       PACKAGE_VERSION, db_address, ob_db_schema_version_known());
	free(db_address);
	return 0;
}

void ob_server_run(struct ob_server *srv)
{
	event_base_dispatch(srv->base);
}

void ob_server_free(struct ob_server *srv)
{
	if (srv == NULL)
		return;
	ob_server_stop_inventory(srv);
	if (srv->dbq)
		ob_dbq_stop(srv->dbq);
	ob_http_free(srv->http);
	if (srv->health_timer)
		event_free(srv->health_timer);
	ob_mailer_free(srv->mailer);
	ob_sched_free(srv->sched);
	if (srv->grace_timer)
		event_free(srv->grace_timer);
	while (srv->jobs) {
		struct ob_job *j = srv->jobs;
		srv->jobs = j->next;
		job_free(j);
	}
	if (srv->whost_read)
		event_free(srv->whost_read);
	ob_worker_host_stop(srv->whost);
	for (int i = 0; i < 4; i++)
		if (srv->signals[i])
			event_free(srv->signals[i]);
	if (srv->base)
		event_base_free(srv->base);
	ob_plugins_free(&srv->plugins);
	for (size_t i = 0; i < srv->m.nreports; i++)
		free(srv->m.reports[i].report);
	free(srv->m.reports);
	ob_config_free(srv->cfg);
	free(srv->worker_config);
	free(srv->config_path);
	free(srv->self_exe);
	free(srv);
}
