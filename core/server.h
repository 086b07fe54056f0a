/* server.h - overblikd's state: the loop, the plugins, the run queue and
 * its worker processes, the schedules, the metrics. http_admin.c serves it. */
#ifndef OB_SERVER_H
#define OB_SERVER_H

#include <sys/types.h>
#include <time.h>

#include "cron.h"
#include "outbox.h"
#include "plugin.h"

struct event;
struct event_base;
struct evhttp;
struct evhttp_bound_socket;
struct ob_config;
struct ob_dbq;

enum ob_run_status { OB_RS_QUEUED, OB_RS_RUNNING, OB_RS_SUCCEEDED, OB_RS_FAILED, OB_RS_TIMEOUT, OB_RS_CRASHED, OB_RS_N };
extern const char *const ob_run_status_names[OB_RS_N];

struct ob_job {
	unsigned long long id;
	char *report;
	int timeout;
	pid_t pid;            /* 0 while queued */
	int timed_out;
	int stopped;          /* killed at shutdown after the grace period */
	char *state_dir;      /* of the configuration it started under: its files */
	struct timespec started;
	struct event *timer;
	struct ob_server *srv;
	struct ob_job *next;
	/* how it ended, filled in on the database thread */
	int wstatus;
	char *status;
	double seconds;
};

struct ob_sched {
	char *report;
	struct ob_cron cron;
	int catch_up;         /* seconds */
	time_t next;          /* the next fire */
	struct event *timer;
	struct ob_server *srv;
};

#define OB_DURATION_BUCKETS 11
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
	unsigned long deliveries_total;          /* delivery processes that ended */
	unsigned long delivery_failures_total;   /* ... and did not exit 0 */
};
extern const double ob_duration_bounds[OB_DURATION_BUCKETS];

struct ob_server {
	struct event_base *base;
	struct ob_config *cfg;
	const char *config_path;
	int explicit_path;
	char *self_exe;
	char *worker_config;          /* the configuration in force, as the workers read it */
	char runner[300];
	time_t started_at;
	struct ob_plugin_set plugins;
	struct ob_inventory *inv;     /* the plugin inventory under way, or NULL */
	struct event *inv_read;       /* its pipe */
	struct event *inv_timer;      /* no line for OB_INVENTORY_TIMEOUT s: the plugin loading hangs */
	int plugins_ready;            /* the first inventory is done */
	int inv_after_hup;            /* the inventory under way is a SIGHUP's */
	int inv_again;                /* a SIGHUP came during it: read the plugins again after it */
	struct ob_dbq *dbq;
	struct ob_job *jobs;          /* queued and running, in the order queued */
	int nrunning;
	struct ob_sched *sched;
	size_t nsched;
	struct ob_metrics m;
	int stopping;
	struct event *grace_timer;
	struct event *health_timer;
	int db_ok;
	int health_pending;
	time_t db_checked;
	struct evhttp *http;
	struct evhttp_bound_socket *http_sock;
	/* the outbox (mailer.c) */
	struct event *mail_timer;
	pid_t mail_pid;               /* the delivery process, or 0 */
	struct timespec mail_started;
	int mail_look_pending;
	int mail_kicked;              /* look again when the delivery ends */
	int mail_failing;             /* deliveries in a row that failed */
	struct ob_outbox_stats mail_stats;
	time_t mail_stats_at;
	int mail_stats_ok;
};

/* Starts "overblikd -c <config in force> MODE ARG" (ARG may be NULL) in a
 * process group of its own that dies with overblikd; an exec failure exits
 * fail_code. Returns its pid, or -1 (errno) when fork fails. */
pid_t ob_server_spawn(struct ob_server *srv, const char *mode, const char *arg, int fail_code);
/* Applies srv->cfg (at start and on SIGHUP): writes the workers' copy
 * and starts the plugin inventory in a process of its own, off the loop;
 * when it is done the new plugin set replaces the old and the schedules are
 * set (and, the first time, missed fires caught up). An inventory under way
 * is dropped for the new one. after_hup: log the reload when done. */
int ob_server_configure(struct ob_server *srv, int after_hup);
/* Makes cfg (loaded and checked, now owned by srv) the configuration in
 * force. The old one is freed only once every database job queued before
 * has run: such a job may still read it (use-after-free otherwise). */
void ob_server_set_config(struct ob_server *srv, struct ob_config *cfg);
/* Stops the plugin inventory under way, if any (at exit). */
void ob_server_stop_inventory(struct ob_server *srv);
/* The database thread's watch (ob_db_set_watch, arg = srv): a lost
 * connection shows on /healthz at once, while the server is started anew. */
void ob_server_db_watch(void *arg, int up, const char *why);
/* What is wrong with the database for /healthz, NULL if nothing: no error
 * text of the database's own (it may hold SQL). */
const char *ob_server_db_problem(const struct ob_server *srv, int db_ok);
/* /healthz's status: "ok"; "starting" while the first plugin inventory
 * runs; "degraded" when the database check failed (db_ok 0); "stopping".
 * *reason says why when it is not ok (borrowed from srv). */
const char *ob_server_health(const struct ob_server *srv, int db_ok, const char **reason);
/* Queues run id of report (already a row in the database) and starts what can start. */
void ob_server_enqueue(struct ob_server *srv, unsigned long long id, const char *report);
/* A run created while overblikd stops: left queued (logged), for the next start. */
void ob_server_abandon(struct ob_server *srv, unsigned long long id);
/* Breaks the loop once stopping, nothing runs and no database job is pending. */
void ob_server_maybe_exit(struct ob_server *srv);
/* At start: queue runs left queued, end runs whose worker on this host is gone. */
void ob_server_recover(struct ob_server *srv);
/* Catch-up of missed fires, at start. */
void ob_server_catch_up(struct ob_server *srv);
/* Stops taking work; running runs get the grace period. */
void ob_server_shutdown(struct ob_server *srv);
/* Called from the SIGCHLD handler. */
void ob_server_reap(struct ob_server *srv);
/* The database health check, off the loop. */
void ob_server_check_db(struct ob_server *srv);
int ob_server_queued(const struct ob_server *srv);
/* The schedule of report, or NULL when it has none. */
const struct ob_sched *ob_server_sched(const struct ob_server *srv, const char *report);

/* mailer.c: the outbox's delivery processes. */
void ob_mailer_start(struct ob_server *srv);
/* Looks at the outbox now (after a run, a retry, SIGHUP) and starts a delivery when something is due. */
void ob_mailer_look(struct ob_server *srv);
void ob_mailer_reap(struct ob_server *srv);
void ob_mailer_stop(struct ob_server *srv);  /* at shutdown: SIGTERM, it stops between batches */
void ob_mailer_kill(struct ob_server *srv);  /* after the grace period */
void ob_mailer_free(struct ob_server *srv);
/* overblikd --deliver: sends what is due and returns the exit code: 0,
 * 1 (database), or this when the SMTP server could not be used. */
#define OB_DELIVER_EXIT_SMTP_DOWN 3
int ob_mailer_deliver(const struct ob_config *cfg);

/* http_admin.c */
int ob_http_start(struct ob_server *srv, struct ob_err *err);
void ob_http_stop(struct ob_server *srv);

#endif
